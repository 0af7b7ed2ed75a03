//! Publishing and the versions a site's configuration has had.
//!
//! Every save is a draft ([`crate::draft`]) until someone allowed to publish
//! looks at what it changes against the published version, by domain
//! ([`consent_core::config_diff`]), and whether visitors who already decided
//! are asked again, and publishes it: a new immutable, content-addressed
//! version. The versions a site had are the `Published` entries of its
//! audit trail (accountability, GDPR art. 5(2)); each can be viewed, compared
//! with the one before it, and restored as the draft.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::account::Permission;
use consent_core::audit::AuditAction;
use consent_core::config_diff::{self, ConfigDiff, FieldChange, ItemChange, Kind, ReaskReason, ServiceChange};
use consent_core::store::{Site, Store};
use consent_core::{ConfigVersion, SiteConfig};
use serde::Deserialize;

use crate::i18n::Texts;
use crate::page::{self, Frame, Problem, Utc};
use crate::session::{CsrfForm, LoggedIn, NoFields};
use crate::{BASE, Dash, St, sites};

/// How far back the versions page reads the audit trail: this many entries
/// (pages of [`PAGE`]), which bounds the work of one request.
const TRAIL_LIMIT: usize = 5000;
const PAGE: usize = 500;

/// A diff as the templates show it: every value already in words.
pub struct DiffView {
    pub empty: bool,
    pub categories: Vec<ItemView>,
    pub services: Vec<ServiceView>,
    pub texts: Vec<Row>,
    pub settings: Vec<Row>,
    pub reask: bool,
    /// Why visitors are asked again, in words (empty when they are not).
    pub reasons: Vec<String>,
}

/// A category or cookie added, removed or changed.
pub struct ItemView {
    pub id: String,
    pub kind: &'static str,
    pub rows: Vec<Row>,
}

pub struct ServiceView {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub rows: Vec<Row>,
    pub cookies: Vec<ItemView>,
}

/// One value, old → new.
pub struct Row {
    pub what: String,
    pub old: String,
    pub new: String,
}

fn kind(t: &Texts, k: Kind) -> &'static str {
    match k {
        Kind::Added => t.added,
        Kind::Removed => t.removed,
        Kind::Changed => t.changed,
    }
}

fn value(t: &Texts, v: Option<String>, missing: &'static str) -> String {
    match v {
        None => missing.to_owned(),
        Some(v) if v.is_empty() => t.empty_value.to_owned(),
        Some(v) => v,
    }
}

fn rows(t: &Texts, fields: Vec<FieldChange>) -> Vec<Row> {
    fields
        .into_iter()
        .map(|f| Row {
            what: f.field,
            old: value(t, f.old, "—"),
            new: value(t, f.new, "—"),
        })
        .collect()
}

fn item(t: &Texts, i: ItemChange) -> ItemView {
    ItemView {
        id: i.id,
        kind: kind(t, i.kind),
        rows: rows(t, i.fields),
    }
}

fn reason(t: &Texts, r: ReaskReason) -> String {
    match r {
        ReaskReason::CategoryAdded(id) => format!("{} {id}", t.r_cat_added),
        ReaskReason::CategoryRemoved(id) => format!("{} {id}", t.r_cat_removed),
        ReaskReason::CategoryRequired(id) => format!("{} {id}", t.r_cat_required),
        ReaskReason::ServiceAdded(id) => format!("{} {id}", t.r_svc_added),
        ReaskReason::ServiceRemoved(id) => format!("{} {id}", t.r_svc_removed),
        ReaskReason::ServiceMoved { id, from, to } => format!("{} {id} ({from} → {to})", t.r_svc_moved),
        ReaskReason::Reordered => t.r_reordered.to_owned(),
    }
}

/// `d` in words of `t`.
pub fn view(t: &Texts, d: ConfigDiff) -> DiffView {
    DiffView {
        empty: d.is_empty(),
        categories: d.categories.into_iter().map(|i| item(t, i)).collect(),
        services: d
            .services
            .into_iter()
            .map(|s: ServiceChange| ServiceView {
                id: s.id,
                name: s.name,
                kind: kind(t, s.kind),
                rows: rows(t, s.fields),
                cookies: s.cookies.into_iter().map(|c| item(t, c)).collect(),
            })
            .collect(),
        texts: d
            .texts
            .into_iter()
            .map(|x| Row {
                what: format!("{} · {}", x.lang, x.key),
                old: value(t, x.old, t.built_in_text),
                new: value(t, x.new, t.built_in_text),
            })
            .collect(),
        settings: rows(t, d.settings),
        reask: d.reask.reask,
        reasons: d.reask.reasons.into_iter().map(|r| reason(t, r)).collect(),
    }
}

/// The published configuration of `site`.
async fn published<S: Store>(store: &S, site: &Site) -> Result<SiteConfig, Problem> {
    store
        .config(&site.id, &site.current_version)
        .await?
        .ok_or(Problem::NotFound)
}

#[derive(Template)]
#[template(path = "publish.html")]
struct PublishPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    /// The draft, if there is one: its version, who saved it and when.
    draft: Option<DraftView>,
    /// The draft changed between looking and publishing.
    changed: bool,
    diff: Option<DiffView>,
    may_publish: bool,
}

struct DraftView {
    version: String,
    by: String,
    saved: Utc,
    /// Someone published after the draft was started.
    stale: bool,
}

async fn publish_page<S: Store>(
    dash: &Dash<S>,
    me: &LoggedIn,
    site: &Site,
    changed: bool,
) -> Result<Response, Problem> {
    let draft = crate::draft::draft(&dash.store, site).await?;
    let (draft, diff) = match draft {
        None => (None, None),
        Some(d) => {
            let current = published(&dash.store, site).await?;
            let diff = view(me.t, config_diff::diff(&current, &d.config));
            let draft = DraftView {
                version: d.config.version().0,
                by: d.by,
                saved: Utc(d.saved_ms),
                stale: d.based_on != site.current_version,
            };
            (Some(draft), Some(diff))
        }
    };
    let page = PublishPage {
        t: me.t,
        frame: me.frame(me.t.publish).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        draft,
        changed,
        diff,
        may_publish: me.account.can(&site.id, Permission::Publish),
    };
    let status = if changed { StatusCode::CONFLICT } else { StatusCode::OK };
    Ok(page::render(status, &page))
}

/// `GET /sites/{site}/publish`: the draft against the published version.
pub async fn review<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    let shown = async {
        let site = sites::find(&dash.store, &me, &site, Permission::Publish).await?;
        publish_page(&dash, &me, &site, false).await
    };
    shown.await.unwrap_or_else(|problem| me.problem(problem))
}

#[derive(Deserialize)]
pub struct PublishForm {
    /// The draft's version as reviewed: a draft changed since is not published.
    #[serde(default)]
    version: String,
}

#[derive(Template)]
#[template(path = "published.html")]
struct PublishedPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    version: String,
    previous: String,
    reask: bool,
    snippet: String,
}

/// `POST /sites/{site}/publish`: publishes the draft reviewed (its version
/// in the form), then says what it became.
pub async fn publish<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<PublishForm>,
) -> Response {
    let done = async {
        let site = sites::find(&dash.store, &me, &site, Permission::Publish).await?;
        let draft = crate::draft::draft(&dash.store, &site).await?;
        let Some(draft) = draft.filter(|d| d.config.version().0 == form.version) else {
            return publish_page(&dash, &me, &site, true).await;
        };
        // Saved drafts were validated; checked again, as the stored JSON is
        // what visitors get.
        if draft.config.validate().is_err() {
            return Err(Problem::BadReport);
        }
        let p = crate::draft::publish(&dash, &site, &draft.config, &me).await?;
        let page = PublishedPage {
            t: me.t,
            frame: me.frame(me.t.published).about(site.id.as_str()),
            site: site.id.as_str(),
            version: p.version.0,
            previous: p.previous.0,
            reask: p.reask,
            snippet: format!(
                "<script src=\"{}/s/{}/loader.js\" crossorigin></script>",
                dash.host.public_url(),
                site.id
            ),
        };
        Ok(page::render(StatusCode::OK, &page))
    };
    done.await.unwrap_or_else(|problem| me.problem(problem))
}

/// `POST /sites/{site}/draft/discard`: throws the draft away.
pub async fn discard<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, .. }: CsrfForm<NoFields>,
) -> Response {
    let done = async {
        let site = sites::find(&dash.store, &me, &site, Permission::EditDraft).await?;
        crate::draft::discard(&dash.store, &site, &me).await?;
        Ok::<_, Problem>(site)
    };
    match done.await {
        Ok(site) => Redirect::to(&format!("{BASE}/sites/{}/versions", site.id)).into_response(),
        Err(problem) => me.problem(problem),
    }
}

/// A published version as the versions page lists it.
pub struct VersionRow {
    pub version: String,
    /// When and by whom it was published; `None` for a version from before
    /// the trail (a site's first, or one saved before there was a trail).
    pub published: Option<(Utc, String)>,
    pub reask: bool,
    pub current: bool,
}

/// One publication from the trail: the version, the one it replaced, when,
/// by whom, and whether visitors were asked again.
struct Publication {
    version: ConfigVersion,
    previous: Option<ConfigVersion>,
    at_ms: u64,
    actor: String,
    reask: bool,
}

/// The site's publications, newest first (at most [`TRAIL_LIMIT`] trail
/// entries read).
async fn publications<S: Store>(store: &S, site: &Site) -> Result<Vec<Publication>, Problem> {
    let mut out = Vec::new();
    let (mut before, mut read) = (None, 0);
    while read < TRAIL_LIMIT {
        let page = store.audit(&site.id, before, PAGE).await?;
        let n = page.len();
        for (seq, e) in page {
            before = Some(seq);
            if let AuditAction::Published {
                version,
                previous,
                reask,
            } = e.action
            {
                out.push(Publication {
                    version,
                    previous,
                    at_ms: e.at_ms,
                    actor: e.actor,
                    reask,
                });
            }
        }
        read += n;
        if n < PAGE {
            break;
        }
    }
    Ok(out)
}

/// Every version of the site, newest first: each publication, and the
/// versions from before the trail (the current one of a site that was
/// never published through it, and the first one a publication replaced).
fn version_rows(site: &Site, pubs: &[Publication]) -> Vec<VersionRow> {
    let mut rows: Vec<VersionRow> = pubs
        .iter()
        .map(|p| VersionRow {
            version: p.version.0.clone(),
            published: Some((Utc(p.at_ms), p.actor.clone())),
            reask: p.reask,
            current: false,
        })
        .collect();
    let older = pubs.iter().filter_map(|p| p.previous.as_ref());
    for v in std::iter::once(&site.current_version).chain(older) {
        if !rows.iter().any(|r| r.version == v.0) {
            rows.push(VersionRow {
                version: v.0.clone(),
                published: None,
                reask: false,
                current: false,
            });
        }
    }
    // Current is what the site serves now; a version published more than
    // once is current only in its newest row.
    if let Some(r) = rows.iter_mut().find(|r| r.version == site.current_version.0) {
        r.current = true;
    }
    rows
}

#[derive(Template)]
#[template(path = "versions.html")]
struct VersionsPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    rows: Vec<VersionRow>,
    has_draft: bool,
    may_publish: bool,
}

/// `GET /sites/{site}/versions`.
pub async fn list<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    let shown = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let pubs = publications(&dash.store, &site).await?;
        let has_draft = crate::draft::draft(&dash.store, &site).await?.is_some();
        let page = VersionsPage {
            t: me.t,
            frame: me.frame(me.t.versions).about(site.id.as_str()),
            site: site.id.as_str(),
            rows: version_rows(&site, &pubs),
            has_draft,
            may_publish: me.account.can(&site.id, Permission::Publish),
        };
        Ok::<_, Problem>(page::render(StatusCode::OK, &page))
    };
    shown.await.unwrap_or_else(|problem| me.problem(problem))
}

/// A configuration in a few lines: what a visitor is asked.
pub struct Summary {
    pub languages: String,
    /// Category id, required, its services (`id (n cookies)`).
    pub categories: Vec<(String, bool, Vec<String>)>,
}

fn summary(c: &SiteConfig) -> Summary {
    Summary {
        languages: c.languages.join(", "),
        categories: c
            .categories
            .iter()
            .map(|k| {
                let services = c
                    .services
                    .iter()
                    .filter(|s| s.category == k.id)
                    .map(|s| format!("{} ({} cookies)", s.name, s.cookies.len()))
                    .collect();
                (k.id.clone(), k.required, services)
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "version.html")]
struct VersionPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    version: &'a str,
    current: bool,
    published: Option<(Utc, String)>,
    summary: Summary,
    json: String,
    previous: Option<String>,
    diff: Option<DiffView>,
    may_restore: bool,
}

/// A version id as it appears in a path: 64 lowercase hex digits (the
/// SHA-256 of the configuration), else not found.
pub fn parse_version(v: &str) -> Result<ConfigVersion, Problem> {
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(ConfigVersion(v.to_owned()))
    } else {
        Err(Problem::NotFound)
    }
}

/// `GET /sites/{site}/versions/{version}`: one version, read-only, with its
/// changes against the version before it. Only a version stored for this
/// site is found.
pub async fn show<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path((site, version)): Path<(String, String)>,
) -> Response {
    let shown = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let version = parse_version(&version)?;
        let config = dash.store.config(&site.id, &version).await?.ok_or(Problem::NotFound)?;
        let pubs = publications(&dash.store, &site).await?;
        let this = pubs.iter().find(|p| p.version == version);
        let previous = this.and_then(|p| p.previous.clone());
        let diff = match &previous {
            Some(p) => match dash.store.config(&site.id, p).await? {
                Some(before) => Some(view(me.t, config_diff::diff(&before, &config))),
                None => None,
            },
            None => None,
        };
        let page = VersionPage {
            t: me.t,
            frame: me.frame(me.t.version_of).about(site.id.as_str()),
            site: site.id.as_str(),
            csrf: &me.session.csrf,
            version: &version.0,
            current: version == site.current_version,
            published: this.map(|p| (Utc(p.at_ms), p.actor.clone())),
            summary: summary(&config),
            json: serde_json::to_string_pretty(&config).unwrap_or_default(),
            previous: previous.map(|p| p.0),
            diff,
            may_restore: me.account.can(&site.id, Permission::EditDraft),
        };
        Ok::<_, Problem>(page::render(StatusCode::OK, &page))
    };
    shown.await.unwrap_or_else(|problem| me.problem(problem))
}

/// `POST /sites/{site}/versions/{version}/restore`: makes the version the
/// draft (to review and publish like any other).
pub async fn restore<S: Store>(
    State(dash): St<S>,
    Path((site, version)): Path<(String, String)>,
    CsrfForm { me, .. }: CsrfForm<NoFields>,
) -> Response {
    let done = async {
        let site = sites::find(&dash.store, &me, &site, Permission::EditDraft).await?;
        let version = parse_version(&version)?;
        let config = dash.store.config(&site.id, &version).await?.ok_or(Problem::NotFound)?;
        crate::draft::save(&dash.store, &site, config, &me).await?;
        crate::audit::record(&dash.store, &site.id, &me, AuditAction::Restored { version }).await?;
        Ok::<_, Problem>(site)
    };
    match done.await {
        // On to publishing it, for those who may; the others see the
        // versions page, which says there is a draft.
        Ok(site) if me.account.can(&site.id, Permission::Publish) => {
            Redirect::to(&format!("{BASE}/sites/{}/publish", site.id)).into_response()
        }
        Ok(site) => Redirect::to(&format!("{BASE}/sites/{}/versions", site.id)).into_response(),
        Err(problem) => me.problem(problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn site(current: &str) -> Site {
        Site {
            id: consent_core::SiteId::parse("shop").unwrap(),
            allowed_origins: vec![],
            current_version: ConfigVersion(current.into()),
            created_ms: 0,
        }
    }

    fn publication(v: &str, prev: &str) -> Publication {
        Publication {
            version: ConfigVersion(v.into()),
            previous: Some(ConfigVersion(prev.into())),
            at_ms: 0,
            actor: "anna".into(),
            reask: false,
        }
    }

    #[test]
    fn versions_from_the_trail_and_before_it() {
        // Newest first: c replaced b, b replaced a (the site's first).
        let pubs = [publication("c", "b"), publication("b", "a")];
        let rows = version_rows(&site("c"), &pubs);
        let ids: Vec<&str> = rows.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
        assert!(rows[0].current && !rows[1].current);
        assert!(rows[2].published.is_none());
        // A site never published through the trail: its current version.
        let rows = version_rows(&site("z"), &[]);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].current);
        // Restored and published again: one row per version.
        let pubs = [publication("a", "b"), publication("b", "a"), publication("a", "x")];
        let rows = version_rows(&site("a"), &pubs);
        assert_eq!(rows.iter().filter(|r| r.version == "a").count(), 2);
        assert_eq!(rows.iter().filter(|r| r.current).count(), 1);
    }

    #[test]
    fn version_ids_are_sha256_hex() {
        assert!(parse_version(&"a".repeat(64)).is_ok());
        for bad in ["", "abc", &"A".repeat(64), &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(parse_version(bad).unwrap_err(), Problem::NotFound);
        }
    }

    #[test]
    fn reasons_in_words() {
        let t = Lang::En.texts();
        let mut new = SiteConfig::starter();
        new.categories.remove(1);
        let v = view(t, config_diff::diff(&SiteConfig::starter(), &new));
        assert!(v.reask);
        assert_eq!(v.reasons, ["category removed preferences"]);
        assert_eq!(v.categories[0].kind, "removed");
    }
}
