//! Picking a site's services from the built-in vendor catalogue
//! (`consent_core::catalogue`): every vendor by category, searchable without
//! script (a GET `q`), each with who processes the data and where, what for,
//! its cookies and their lifetimes, and its privacy statement; the ones the
//! site's configuration already declares are ticked. Saving adds the ticked
//! vendors as services, in their categories with their cookies and hosts,
//! and removes the catalogue's services left unticked; services the owner
//! declared by hand are never touched. What it saves is the site's draft
//! (`draft`): visitors see it once someone allowed to publishes it. It is
//! the step after creating a site, before the snippet.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::SiteConfig;
use consent_core::account::Permission;
use consent_core::catalogue::{self, Vendor};
use consent_core::config::STANDARD_CATEGORIES;
use consent_core::store::{Site, Store};
use serde::Deserialize;

use crate::i18n::Texts;
use crate::page::{self, Frame, Problem};
use crate::session::{CsrfForm, LoggedIn};
use crate::{BASE, St, draft, sites};

/// The longest search, in characters; longer ones are cut.
const MAX_QUERY: usize = 100;

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    q: String,
    /// Reached right after creating the site: saving goes on to installing.
    onboarding: bool,
    saved: bool,
    problem: Option<String>,
    groups: Vec<Group>,
    /// The ids of the vendors on the page: only these are added or removed
    /// when saving a filtered list.
    shown: String,
}

/// The vendors of one category.
struct Group {
    id: &'static str,
    title: String,
    /// The site has this category (else its vendors cannot be declared).
    available: bool,
    vendors: Vec<Row>,
}

struct Row {
    vendor: &'static Vendor,
    purpose: &'static str,
    checked: bool,
    cookies: Vec<CookieRow>,
}

struct CookieRow {
    name: &'static str,
    domain: Option<&'static str>,
    lifetime: String,
    purpose: &'static str,
}

#[derive(Deserialize)]
pub struct ServicesQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    new: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

/// The catalogue's vendors matching `q`, by category: the site's categories
/// in its order first, then the standard ones it lacks (shown, not pickable).
fn groups(config: &SiteConfig, q: &str, lang: &str) -> Vec<Group> {
    let mut order: Vec<&'static str> = Vec::new();
    for v in catalogue::builtin() {
        if !order.contains(&v.category.as_str()) {
            order.push(v.category.as_str());
        }
    }
    let rank = |c: &str| {
        config
            .categories
            .iter()
            .position(|k| k.id == c)
            .or_else(|| STANDARD_CATEGORIES.iter().position(|s| *s == c).map(|i| 100 + i))
            .unwrap_or(200)
    };
    order.sort_by_key(|c| rank(c));
    order
        .into_iter()
        .filter_map(|category| {
            let vendors: Vec<Row> = catalogue::builtin()
                .iter()
                .filter(|v| v.category == category && v.matches(q))
                .map(|v| Row {
                    vendor: v,
                    purpose: v.purpose(lang),
                    checked: config.service(&v.id).is_some(),
                    cookies: v
                        .cookies
                        .iter()
                        .map(|c| CookieRow {
                            name: &c.name,
                            domain: c.domain.as_deref(),
                            lifetime: c.lifetime(lang),
                            purpose: c.purpose(lang),
                        })
                        .collect(),
                })
                .collect();
            if vendors.is_empty() {
                return None;
            }
            let known = config.category(category);
            let title = known
                .and_then(|k| k.labels.get(lang).or_else(|| k.labels.values().next()))
                .map(|l| l.title.clone())
                .unwrap_or_else(|| category.to_owned());
            Some(Group {
                id: category,
                title,
                available: known.is_some(),
                vendors,
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn services_page(
    me: &LoggedIn,
    site: &Site,
    config: &SiteConfig,
    q: &str,
    onboarding: bool,
    saved: bool,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let groups = groups(config, q, me.t.code);
    let shown = groups
        .iter()
        .flat_map(|g| g.vendors.iter().map(|r| r.vendor.id.as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    let page = ServicesPage {
        t: me.t,
        frame: me.frame(me.t.services_title).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        q: q.to_owned(),
        onboarding,
        saved,
        problem,
        groups,
        shown,
    };
    page::render(status, &page)
}

/// `GET /sites/{site}/services`.
pub async fn show<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(query): Query<ServicesQuery>,
) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let (config, _) = draft::load(&dash.store, &site).await?;
        Ok::<_, Problem>((site, config))
    };
    let (site, config) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let q: String = query.q.trim().chars().take(MAX_QUERY).collect();
    services_page(
        &me,
        &site,
        &config,
        &q,
        query.new.is_some(),
        query.saved.is_some(),
        None,
        StatusCode::OK,
    )
}

/// The form: `shown` (the vendor ids that were on the page, space
/// separated), `then=install` after creating a site, and `use_<id>=1` for
/// each ticked vendor.
#[derive(Deserialize)]
pub struct ServicesForm {
    #[serde(default)]
    shown: String,
    #[serde(default)]
    then: String,
    #[serde(default)]
    q: String,
    #[serde(flatten)]
    ticked: BTreeMap<String, String>,
}

/// What the form changes: the catalogue's vendors that were on the page,
/// and of those the ones ticked. Ids not in the catalogue are ignored, so a
/// forged form can name only catalogue vendors.
fn picked(form: &ServicesForm) -> (BTreeSet<&'static str>, BTreeSet<&'static str>) {
    let shown: BTreeSet<&'static str> = form
        .shown
        .split_ascii_whitespace()
        .take(catalogue::MAX_VENDORS)
        .filter_map(catalogue::vendor)
        .map(|v| v.id.as_str())
        .collect();
    let ticked = shown
        .iter()
        .copied()
        .filter(|id| form.ticked.contains_key(&format!("use_{id}")))
        .collect();
    (shown, ticked)
}

/// Applies the picks: ticked vendors the configuration lacks are added as
/// services (their texts in the site's first language); unticked ones it
/// has are removed. A ticked vendor already declared is left as the owner
/// may have edited it.
fn apply(config: &mut SiteConfig, shown: &BTreeSet<&str>, ticked: &BTreeSet<&str>) {
    config
        .services
        .retain(|s| !shown.contains(s.id.as_str()) || ticked.contains(s.id.as_str()));
    let lang = config.languages.first().cloned().unwrap_or_else(|| "en".to_owned());
    for id in ticked {
        if config.service(id).is_none()
            && let Some(v) = catalogue::vendor(id)
        {
            config.services.push(v.to_service(&lang));
        }
    }
}

/// `POST /sites/{site}/services`: saves the picks, then back to the page
/// (or on to installing, right after creating the site).
pub async fn save<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<ServicesForm>,
) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, Permission::EditDraft).await?;
        let (config, _) = draft::load(&dash.store, &site).await?;
        Ok::<_, Problem>((site, config))
    };
    let (site, mut config) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let onboarding = form.then == "install";
    let q: String = form.q.trim().chars().take(MAX_QUERY).collect();
    let (shown, ticked) = picked(&form);
    let before = config.clone();
    apply(&mut config, &shown, &ticked);
    if let Err(e) = config.validate() {
        let problem = format!("{}: {}", e.field, e.message);
        return services_page(
            &me,
            &site,
            &before,
            &q,
            onboarding,
            false,
            Some(problem),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if config != before
        && let Err(problem) = draft::save(&dash.store, &site, config, &me).await
    {
        return me.problem(problem);
    }
    let to = if onboarding {
        format!("{BASE}/sites/{}/install", site.id)
    } else {
        format!("{BASE}/sites/{}/services?saved=1", site.id)
    };
    Redirect::to(&to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(shown: &str, ticked: &[&str]) -> ServicesForm {
        ServicesForm {
            shown: shown.to_owned(),
            then: String::new(),
            q: String::new(),
            ticked: ticked.iter().map(|id| (format!("use_{id}"), "1".to_owned())).collect(),
        }
    }

    #[test]
    fn ticked_vendors_are_added_and_unticked_shown_ones_removed() {
        let mut config = SiteConfig::starter();
        let (shown, ticked) = picked(&form(
            "ga4 meta-pixel hotjar nonsense",
            &["ga4", "meta-pixel", "nonsense"],
        ));
        assert_eq!(shown.len(), 3, "unknown ids are ignored");
        apply(&mut config, &shown, &ticked);
        let cat = |id: &str| config.service(id).map(|s| s.category.clone());
        assert_eq!(cat("ga4").as_deref(), Some("analytics"));
        assert_eq!(cat("meta-pixel").as_deref(), Some("marketing"));
        assert!(config.service("hotjar").is_none());
        config.validate().unwrap();
        // The owner's own service and a catalogue service not on the page stay.
        config
            .services
            .push(catalogue::vendor("stripe").unwrap().to_service("nl"));
        let mut own = catalogue::vendor("hotjar").unwrap().to_service("nl");
        own.id = "my-chat".into();
        config.services.push(own);
        let (shown, ticked) = picked(&form("ga4 meta-pixel", &["meta-pixel"]));
        apply(&mut config, &shown, &ticked);
        let ids: Vec<&str> = config.services.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["meta-pixel", "stripe", "my-chat"]);
    }

    #[test]
    fn groups_follow_the_site_categories_and_the_search() {
        let config = SiteConfig::starter();
        let all = groups(&config, "", "nl");
        let ids: Vec<&str> = all.iter().map(|g| g.id).collect();
        assert_eq!(ids, ["necessary", "analytics", "marketing"]);
        assert_eq!(all[1].title, "Statistieken");
        let found = groups(&config, "_fbp", "en");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].vendors[0].vendor.id, "meta-pixel");
        let mut minimal = SiteConfig::starter();
        minimal.categories.retain(|c| c.id != "analytics");
        let g = groups(&minimal, "", "en");
        assert!(!g.iter().find(|g| g.id == "analytics").unwrap().available);
    }
}
