//! Proof of a consent: look up a consent id of a site and see its decisions
//! over time, download their proof bundles, read in plain words what such a
//! proof shows, and find the log's latest checkpoint and verifier key with
//! the one `keurmerk-verify` command that checks a downloaded bundle.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use consent_core::account::Permission;
use consent_core::store::{DecisionQuery, LoggedDecision, Store, StoreError};
use consent_core::{ConsentId, Method, SiteId};
use serde::Deserialize;

use crate::St;
use crate::host::LogState;
use crate::i18n::Texts;
use crate::page::{self, Frame, Utc};
use crate::session::LoggedIn;
use crate::sites;

/// The most decisions of one consent id the page lists (newest first); the
/// proof bundle download has them all.
const SHOWN: usize = 100;

/// `?consent_id=…`, a string so a bad one gets our message.
#[derive(Deserialize, Default)]
pub struct Lookup {
    consent_id: Option<String>,
}

/// A decision as the page lists it (also on a visitor's request's page,
/// through `templates/decision_history.html`).
pub(crate) struct Row {
    pub index: u64,
    pub time: Utc,
    pub method: &'static str,
    pub granted: Vec<String>,
    pub refused: Vec<String>,
    pub services: String,
    pub gpc: bool,
    pub version: String,
}

#[derive(Template)]
#[template(path = "proof.html")]
struct ProofPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    /// What was typed, to show again.
    asked: String,
    /// The consent id looked up, once it parsed.
    consent_id: Option<String>,
    problem: Option<&'static str>,
    rows: Vec<Row>,
    more: bool,
    log: Option<LogState>,
}

fn method(t: &Texts, m: Method) -> &'static str {
    match m {
        Method::AcceptAll => t.accept_all,
        Method::RejectAll => t.reject_all,
        Method::Custom => t.custom_choice,
        Method::Withdrawal => t.withdrawal,
        Method::Gpc => t.gpc_applied,
    }
}

pub(crate) fn row(t: &Texts, d: LoggedDecision) -> Row {
    let r = d.record;
    let (granted, refused): (Vec<_>, Vec<_>) = r.categories.into_iter().partition(|(_, g)| *g);
    Row {
        index: d.index,
        time: Utc(r.time_ms),
        method: method(t, r.method),
        granted: granted.into_iter().map(|(c, _)| c).collect(),
        refused: refused.into_iter().map(|(c, _)| c).collect(),
        services: r
            .services
            .iter()
            .map(|(s, g)| format!("{s}={}", if *g { "✓" } else { "✗" }))
            .collect::<Vec<_>>()
            .join(", "),
        gpc: r.gpc,
        version: r.config_version.0,
    }
}

/// `GET /sites/{site}/proof[?consent_id=…]`.
pub async fn show<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(q): Query<Lookup>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::VisitorData).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    // Bounded before parsing: a consent id is short.
    let asked: String = q.consent_id.unwrap_or_default().trim().chars().take(100).collect();
    let (mut status, mut problem, mut rows, mut more, mut consent_id) = (StatusCode::OK, None, Vec::new(), false, None);
    if !asked.is_empty() {
        match ConsentId::parse(&asked) {
            Err(_) => (status, problem) = (StatusCode::BAD_REQUEST, Some(t.bad_consent_id)),
            Ok(id) => {
                let found;
                (found, more) = match history(&dash.store, &site.id, &id).await {
                    Ok(found) => found,
                    Err(e) => return me.problem(e.into()),
                };
                if found.is_empty() {
                    (status, problem) = (StatusCode::NOT_FOUND, Some(t.no_such_consent));
                } else {
                    rows = found.into_iter().map(|d| row(t, d)).collect();
                    consent_id = Some(id.to_string());
                }
            }
        }
    }
    let page = ProofPage {
        t,
        frame: me.frame(t.proof).about(site.id.as_str()),
        site: site.id.as_str(),
        asked,
        consent_id,
        problem,
        rows,
        more,
        log: dash.host.log_state().await,
    };
    page::render(status, &page)
}

/// The newest [`SHOWN`] decisions of consent id `id` on the site, newest
/// first, and whether it has older ones.
pub(crate) async fn history<S: Store>(
    store: &S,
    site: &SiteId,
    id: &ConsentId,
) -> Result<(Vec<LoggedDecision>, bool), StoreError> {
    let query = DecisionQuery {
        consent_id: Some(id.clone()),
        newest_first: true,
        limit: SHOWN + 1,
        ..Default::default()
    };
    let mut found = store.decisions(site, &query).await?;
    let more = found.len() > SHOWN;
    found.truncate(SHOWN);
    Ok((found, more))
}
