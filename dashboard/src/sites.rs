//! Sites: the list, and a site's page (its origins, configuration version
//! and most recent decisions).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use consent_core::store::{DecisionQuery, LoggedDecision, Site, Store};
use consent_core::{Method, SiteId};

use crate::St;
use crate::i18n::Texts;
use crate::page::{self, Frame, Problem, Utc};
use crate::session::LoggedIn;

/// How many decisions a site's page shows.
const RECENT: usize = 50;

/// The site named in a request's path.
pub async fn find<S: Store>(store: &S, site: &str) -> Result<Site, Problem> {
    let id = SiteId::parse(site).map_err(|_| Problem::NotFound)?;
    store.site(&id).await?.ok_or(Problem::NotFound)
}

#[derive(Template)]
#[template(path = "sites.html")]
struct SitesPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    sites: Vec<Site>,
}

/// `GET /`: every site.
pub async fn list<S: Store>(State(dash): St<S>, me: LoggedIn) -> Response {
    let sites = match dash.store.sites().await {
        Ok(sites) => sites,
        Err(e) => return me.problem(e.into()),
    };
    let page = SitesPage {
        t: me.t,
        frame: me.frame(me.t.sites),
        sites,
    };
    page::render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "site.html")]
struct SitePage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a Site,
    /// Newest first.
    decisions: Vec<DecisionRow>,
}

/// A decision as the site's page lists it.
struct DecisionRow {
    time: Utc,
    method: String,
    categories: BTreeMap<String, bool>,
}

impl From<LoggedDecision> for DecisionRow {
    fn from(d: LoggedDecision) -> Self {
        DecisionRow {
            time: Utc(d.record.time_ms),
            method: method_name(d.record.method),
            categories: d.record.categories,
        }
    }
}

/// The method as the API spells it (`accept_all`, `gpc`, …).
fn method_name(m: Method) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `GET /sites/{site}`.
pub async fn show<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    let found = async {
        let site = find(&dash.store, &site).await?;
        let decisions = recent_decisions(&dash.store, &site.id).await?;
        Ok::<_, Problem>((site, decisions))
    };
    let (site, decisions) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let page = SitePage {
        t: me.t,
        frame: me.frame(me.t.site).about(site.id.as_str()),
        site: &site,
        decisions: decisions.into_iter().map(DecisionRow::from).collect(),
    };
    page::render(StatusCode::OK, &page)
}

/// The site's [`RECENT`] most recent decisions, newest first.
async fn recent_decisions<S: Store>(store: &S, id: &SiteId) -> Result<Vec<LoggedDecision>, Problem> {
    let query = DecisionQuery {
        newest_first: true,
        limit: RECENT,
        ..Default::default()
    };
    Ok(store.decisions(id, &query).await?)
}
