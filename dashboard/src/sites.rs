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
use consent_core::account::{Access, Permission};

/// How many decisions a site's page shows.
const RECENT: usize = 50;

/// The site named in a request's path, if the logged-in account may do `p`
/// on it. A site the account is not a member of is "not found", exactly like
/// one that does not exist, so site ids do not leak between tenants; a
/// member whose role does not allow `p` gets 403. The check comes before the
/// lookup, so the answer's timing does not tell either.
pub async fn find<S: Store>(store: &S, me: &LoggedIn, site: &str, p: Permission) -> Result<Site, Problem> {
    let id = SiteId::parse(site).map_err(|_| Problem::NotFound)?;
    match me.account.access(&id, p) {
        Access::Allowed => {}
        Access::Forbidden => return Err(Problem::NotAllowed),
        Access::Hidden => return Err(Problem::NotFound),
    }
    store.site(&id).await?.ok_or(Problem::NotFound)
}

#[derive(Template)]
#[template(path = "sites.html")]
struct SitesPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    sites: Vec<Site>,
}

/// `GET /`: every site the account may see.
pub async fn list<S: Store>(State(dash): St<S>, me: LoggedIn) -> Response {
    let sites = match dash.store.sites().await {
        Ok(sites) => sites.into_iter().filter(|s| me.account.sees(&s.id)).collect(),
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
    /// Open and overdue visitors' requests, for accounts that handle them.
    requests: Option<(usize, usize)>,
    /// Links shown only to roles that may follow them.
    may_visitor_data: bool,
    may_manage: bool,
    may_publish: bool,
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
pub(crate) fn method_name(m: Method) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `GET /sites/{site}`.
pub async fn show<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    let found = async {
        let site = find(&dash.store, &me, &site, Permission::View).await?;
        let decisions = recent_decisions(&dash.store, &site.id).await?;
        let requests = if me.account.can(&site.id, Permission::VisitorData) {
            Some(crate::requests::counts(&dash.store, &site.id).await?)
        } else {
            None
        };
        Ok::<_, Problem>((site, decisions, requests))
    };
    let (site, decisions, requests) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let page = SitePage {
        t: me.t,
        frame: me.frame(me.t.site).about(site.id.as_str()),
        site: &site,
        decisions: decisions.into_iter().map(DecisionRow::from).collect(),
        requests,
        may_visitor_data: me.account.can(&site.id, Permission::VisitorData),
        may_manage: me.account.can(&site.id, Permission::ManageAccess),
        may_publish: me.account.can(&site.id, Permission::Publish),
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
