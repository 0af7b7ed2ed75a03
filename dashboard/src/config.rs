//! A site's configuration as its people see it: the overview of the draft
//! (or, without one, the published configuration) with a section per part
//! that links to its form (`editor`), the whole of it as JSON (the
//! advanced view), and "Declare it", which adds a cookie from a scan to the
//! draft. Every save here is a draft; publishing is a step of its own.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::SiteConfig;
use consent_core::account::Permission;
use consent_core::banner;
use consent_core::draft::Draft;
use consent_core::store::{Site, Store};
use serde::Deserialize;

use crate::editor::{Banner, Saved, language_name};
use crate::i18n::Texts;
use crate::page::{self, Frame, Problem};
use crate::session::{CsrfForm, LoggedIn};
use crate::{BASE, St, draft, sites};

#[derive(Template)]
#[template(path = "config.html")]
struct Overview<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    banner: Option<Banner>,
    saved: bool,
    /// The account may save drafts (else the page only shows).
    can_edit: bool,
    categories: Vec<CategoryRow>,
    services: Vec<ServiceRow>,
    languages: Vec<LanguageRow>,
    settings: Vec<(&'static str, String)>,
}

struct CategoryRow {
    id: String,
    /// Its title in each of the site's languages.
    names: String,
    required: bool,
    services: usize,
    first: bool,
    last: bool,
}

struct ServiceRow {
    id: String,
    name: String,
    category: String,
    provider: String,
    cookies: usize,
}

struct LanguageRow {
    code: String,
    name: String,
    overrides: usize,
}

/// `GET /sites/{site}/config`: the overview.
pub async fn edit<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(q): Query<Saved>,
) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let (config, draft) = draft::load(&dash.store, &site).await?;
        Ok::<_, Problem>((site, config, draft))
    };
    let (site, config, draft) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let n = config.categories.len();
    let categories = config
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| CategoryRow {
            id: c.id.clone(),
            names: config
                .languages
                .iter()
                .map(|l| banner::category_title(&config, l, &c.id))
                .collect::<Vec<_>>()
                .join(" / "),
            required: c.required,
            services: config.services.iter().filter(|s| s.category == c.id).count(),
            first: i == 0,
            last: i + 1 == n,
        })
        .collect();
    let services = config
        .services
        .iter()
        .map(|s| ServiceRow {
            id: s.id.clone(),
            name: s.name.clone(),
            category: s.category.clone(),
            provider: s.provider.clone(),
            cookies: s.cookies.len(),
        })
        .collect();
    let languages = config
        .languages
        .iter()
        .map(|l| LanguageRow {
            code: l.clone(),
            name: language_name(t, l),
            overrides: config
                .texts
                .get(l)
                .map_or(0, |x| x.values().filter(|v| !v.is_empty()).count()),
        })
        .collect();
    let settings = vec![
        (t.ed_controller, config.controller.clone()),
        (t.ed_privacy_url, config.privacy_policy_url.clone().unwrap_or_default()),
        (t.ed_expiry_days, config.expiry_days.to_string()),
        (t.ed_refusal_months, config.refusal_months.to_string()),
        (
            t.ed_cookie_domain_site,
            config.cookie_domain.clone().unwrap_or_default(),
        ),
        (t.ed_wait, config.wait_for_update_ms.to_string()),
    ];
    let page = Overview {
        t,
        frame: me.frame(t.edit_config).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        banner: Banner::of(draft.as_ref(), &site),
        saved: q.saved.is_some(),
        can_edit: me.account.can(&site.id, Permission::EditDraft),
        categories,
        services,
        languages,
        settings,
    };
    page::render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "config_json.html")]
struct JsonEditor<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    banner: Option<Banner>,
    saved: bool,
    can_edit: bool,
    text: &'a str,
    error: Option<FieldError>,
}

/// What is wrong with the configuration, and where (`/`: the whole of it).
struct FieldError {
    field: String,
    message: String,
}

impl FieldError {
    fn new(field: String, message: String) -> Self {
        let field = if field.is_empty() { "/".to_owned() } else { field };
        FieldError { field, message }
    }
}

/// The advanced view with `text` in it; 422 when it shows an error.
fn json_editor(
    me: &LoggedIn,
    site: &Site,
    draft: Option<&Draft>,
    text: &str,
    error: Option<FieldError>,
    saved: bool,
) -> Response {
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let page = JsonEditor {
        t: me.t,
        frame: me.frame(me.t.ed_advanced).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        banner: Banner::of(draft, site),
        saved,
        can_edit: me.account.can(&site.id, Permission::EditDraft),
        text,
        error,
    };
    page::render(status, &page)
}

fn pretty(config: &SiteConfig) -> String {
    serde_json::to_string_pretty(config).unwrap_or_default()
}

/// `GET /sites/{site}/config/json`: the whole configuration as JSON.
pub async fn json<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(q): Query<Saved>,
) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let (config, draft) = draft::load(&dash.store, &site).await?;
        Ok::<_, Problem>((site, config, draft))
    };
    match found.await {
        Ok((site, config, draft)) => json_editor(&me, &site, draft.as_ref(), &pretty(&config), None, q.saved.is_some()),
        Err(problem) => me.problem(problem),
    }
}

#[derive(Deserialize)]
pub struct ConfigForm {
    #[serde(default)]
    config: String,
}

/// `POST /sites/{site}/config`: saves a valid configuration (JSON) as the
/// site's draft; an invalid one comes back in the editor with a 422.
pub async fn save<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<ConfigForm>,
) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, Permission::EditDraft).await?;
        let draft = draft::draft(&dash.store, &site).await?;
        Ok::<_, Problem>((site, draft))
    };
    let (site, draft) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let config: SiteConfig = match serde_json::from_str(&form.config) {
        Ok(config) => config,
        Err(e) => {
            let error = FieldError::new(String::new(), e.to_string());
            return json_editor(&me, &site, draft.as_ref(), &form.config, Some(error), false);
        }
    };
    if let Err(e) = config.validate() {
        let error = FieldError::new(e.field, e.message);
        return json_editor(&me, &site, draft.as_ref(), &form.config, Some(error), false);
    }
    match draft::save(&dash.store, &site, config, &me).await {
        Ok(_) => Redirect::to(&format!("{BASE}/sites/{}/config/json?saved=1", site.id)).into_response(),
        Err(problem) => me.problem(problem),
    }
}

#[derive(Deserialize)]
pub struct DeclareForm {
    // Defaults, so a form without it meets the site check first (404 for
    // another tenant's site) rather than a parse failure's 403.
    #[serde(default)]
    cookie: String,
    #[serde(default)]
    platform: String,
}

/// `POST /sites/{site}/declare` ("Declare it"): adds the cookie to the
/// draft (under the finding's service) and shows that service to complete
/// it (purpose, retention); visitors see it once it is published.
pub async fn declare<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<DeclareForm>,
) -> Response {
    let drafted = async {
        let site = sites::find(&dash.store, &me, &site, Permission::EditDraft).await?;
        let (mut config, _) = draft::load(&dash.store, &site).await?;
        let service = add_cookie(&mut config, &form.cookie, &form.platform)?;
        config.validate().map_err(|_| Problem::BadReport)?;
        draft::save(&dash.store, &site, config, &me).await?;
        Ok::<_, Problem>((site, service))
    };
    match drafted.await {
        Ok((site, service)) => {
            Redirect::to(&format!("{BASE}/sites/{}/config/services/{service}?saved=1", site.id)).into_response()
        }
        Err(problem) => me.problem(problem),
    }
}

/// Declares cookie `name` in `config`: under the service named like the
/// finding's `platform` (else `undeclared`), which is added, in the
/// marketing category (else the last one), if the configuration lacks it.
/// Returns the service's id.
fn add_cookie(config: &mut SiteConfig, name: &str, platform: &str) -> Result<String, Problem> {
    let name: String = name.chars().take(200).collect();
    let cookie = serde_json::from_value(serde_json::json!({ "name": name })).map_err(|_| Problem::BadReport)?;
    let platform: String = platform
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_')
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let service_id = if platform.is_empty() {
        "undeclared".to_owned()
    } else {
        platform
    };
    match config.services.iter_mut().find(|sv| sv.id == service_id) {
        Some(service) => {
            if !service.cookies.iter().any(|k| k.name == name) {
                service.cookies.push(cookie);
            }
        }
        None => {
            let category = if config.categories.iter().any(|k| k.id == "marketing") {
                "marketing".to_owned()
            } else {
                config.categories.last().map(|k| k.id.clone()).unwrap_or_default()
            };
            let service = serde_json::from_value(serde_json::json!({
                "id": service_id, "name": service_id, "category": category, "cookies": [cookie],
            }))
            .map_err(|_| Problem::BadReport)?;
            config.services.push(service);
        }
    }
    Ok(service_id)
}
