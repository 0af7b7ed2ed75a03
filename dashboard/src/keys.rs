//! A site's API keys, as its owners (and admins) manage them: the list with
//! each key's scopes, expiry and last use; creating one (shown once); and
//! revoking one. Keys are minted by the server ([`Host::create_api_key`]),
//! by the same use case as the owner API's, which writes `KeyCreated` to
//! the site's audit trail; revoking here writes `KeyRevoked`.
//!
//! [`Host::create_api_key`]: crate::Host::create_api_key

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::account::Permission;
use consent_core::audit::AuditAction;
use consent_core::store::{ApiKey, Scope, Site, Store};
use serde::Deserialize;

use crate::host::NewKey;
use crate::i18n::Texts;
use crate::page::{self, Frame, Problem, Utc, now_ms};
use crate::session::{CsrfForm, LoggedIn, NoFields};
use crate::{BASE, Dash, St, audit, sites};

/// The longest a key made here may last, in days (the API's bound too).
const MAX_DAYS: u64 = 3650;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// Every scope with its form field and its name in the API.
const SCOPES: [(Scope, &str, &str); 4] = [
    (Scope::DecisionsRead, "scope_decisions_read", "decisions:read"),
    (Scope::ConfigWrite, "scope_config_write", "config:write"),
    (Scope::ScansWrite, "scope_scans_write", "scans:write"),
    (Scope::ScansRead, "scope_scans_read", "scans:read"),
];

/// What a scope lets a key do, in the reader's language.
fn scope_help(t: &Texts, s: Scope) -> &'static str {
    match s {
        Scope::DecisionsRead => t.keys_scope_decisions_read,
        Scope::ConfigWrite => t.keys_scope_config_write,
        Scope::ScansWrite => t.keys_scope_scans_write,
        Scope::ScansRead => t.keys_scope_scans_read,
    }
}

/// A scope's name in the API (`decisions:read`).
pub fn scope_name(s: Scope) -> &'static str {
    SCOPES.iter().find(|(x, _, _)| *x == s).map_or("?", |(_, _, n)| n)
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    csrf: &'a str,
    site: &'a Site,
    keys: Vec<KeyRow>,
    /// (form field, API name, what it allows).
    scopes: Vec<(&'static str, &'static str, &'static str)>,
    /// A key just made: (its id, the secret), shown this once.
    created: Option<(String, String)>,
    problem: Option<String>,
    name: String,
}

/// A key as the list shows it.
struct KeyRow {
    id: String,
    name: String,
    scopes: String,
    created: Utc,
    expires: Option<Utc>,
    expired: bool,
    last_used: Option<Utc>,
}

impl KeyRow {
    fn new(k: ApiKey, now: u64) -> Self {
        KeyRow {
            expired: k.expired(now),
            scopes: k.scopes.iter().map(|s| scope_name(*s)).collect::<Vec<_>>().join(", "),
            created: Utc(k.created_ms),
            expires: k.expires_ms.map(Utc),
            last_used: k.last_used_ms.map(Utc),
            id: k.id,
            name: k.name,
        }
    }
}

async fn keys_page<S: Store>(
    dash: &Dash<S>,
    me: &LoggedIn,
    site: &Site,
    status: StatusCode,
    created: Option<(String, String)>,
    problem: Option<String>,
    name: String,
) -> Response {
    let mut keys = match dash.store.api_keys(&site.id).await {
        Ok(k) => k,
        Err(e) => return me.problem(e.into()),
    };
    keys.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then_with(|| a.id.cmp(&b.id)));
    let now = now_ms();
    let t = me.t;
    let page = KeysPage {
        t,
        frame: me.frame(t.keys_title).about(site.id.as_str()),
        csrf: &me.session.csrf,
        site,
        keys: keys.into_iter().map(|k| KeyRow::new(k, now)).collect(),
        scopes: SCOPES.iter().map(|(s, f, n)| (*f, *n, scope_help(t, *s))).collect(),
        created,
        problem,
        name,
    };
    page::render(status, &page)
}

/// `GET /sites/{site}/keys` (owners and admins).
pub async fn list<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    match sites::find(&dash.store, &me, &site, Permission::ManageAccess).await {
        Ok(site) => keys_page(&dash, &me, &site, StatusCode::OK, None, None, String::new()).await,
        Err(p) => me.problem(p),
    }
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope_decisions_read: String,
    #[serde(default)]
    scope_config_write: String,
    #[serde(default)]
    scope_scans_write: String,
    #[serde(default)]
    scope_scans_read: String,
    /// Days until it stops working; empty: never.
    #[serde(default)]
    expires_days: String,
}

impl NewKeyForm {
    fn scopes(&self) -> Vec<Scope> {
        [
            (Scope::DecisionsRead, &self.scope_decisions_read),
            (Scope::ConfigWrite, &self.scope_config_write),
            (Scope::ScansWrite, &self.scope_scans_write),
            (Scope::ScansRead, &self.scope_scans_read),
        ]
        .into_iter()
        .filter(|(_, ticked)| !ticked.is_empty())
        .map(|(s, _)| s)
        .collect()
    }

    /// The expiry as a time from `now`: `Ok(None)` for never.
    fn expires_ms(&self, now: u64) -> Result<Option<u64>, ()> {
        let days = self.expires_days.trim();
        if days.is_empty() {
            return Ok(None);
        }
        match days.parse::<u64>() {
            Ok(d) if (1..=MAX_DAYS).contains(&d) => Ok(Some(now + d * DAY_MS)),
            _ => Err(()),
        }
    }
}

/// `POST /sites/{site}/keys`: mints a key and shows it once.
pub async fn create<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<NewKeyForm>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::ManageAccess).await {
        Ok(site) => site,
        Err(p) => return me.problem(p),
    };
    let t = me.t;
    let name = form.name.trim().to_owned();
    let refused = |why: String| {
        keys_page(
            &dash,
            &me,
            &site,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(why),
            name.clone(),
        )
    };
    if name.is_empty() {
        return refused(t.keys_name_needed.to_owned()).await;
    }
    let scopes = form.scopes();
    if scopes.is_empty() {
        return refused(t.keys_scope_needed.to_owned()).await;
    }
    let Ok(expires_ms) = form.expires_ms(now_ms()) else {
        return refused(t.keys_bad_days.to_owned()).await;
    };
    let minted = dash
        .host
        .create_api_key(
            site.id.clone(),
            name.clone(),
            scopes,
            expires_ms,
            me.account.username.clone(),
        )
        .await;
    match minted {
        NewKey::Created { key, secret } => {
            keys_page(
                &dash,
                &me,
                &site,
                StatusCode::OK,
                Some((key.id, secret)),
                None,
                String::new(),
            )
            .await
        }
        NewKey::Refused { message, .. } => refused(message).await,
        NewKey::Unavailable => me.problem(Problem::Unavailable),
    }
}

/// `POST /sites/{site}/keys/{id}/revoke`: the key is refused from now on.
pub async fn revoke<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, .. }: CsrfForm<NoFields>,
) -> Response {
    let done = async {
        let site = sites::find(&dash.store, &me, &site, Permission::ManageAccess).await?;
        if id.len() > 64 || !dash.store.revoke_api_key(&site.id, &id).await? {
            return Err(Problem::NotFound);
        }
        audit::record(&dash.store, &site.id, &me, AuditAction::KeyRevoked { id: id.clone() }).await?;
        Ok(site)
    };
    match done.await {
        Ok(site) => Redirect::to(&format!("{BASE}/sites/{}/keys", site.id)).into_response(),
        Err(p) => me.problem(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_gives_scopes_and_an_expiry() {
        let mut form = NewKeyForm {
            name: "crm".into(),
            scope_decisions_read: "on".into(),
            scope_config_write: String::new(),
            scope_scans_write: String::new(),
            scope_scans_read: "on".into(),
            expires_days: String::new(),
        };
        assert_eq!(form.scopes(), [Scope::DecisionsRead, Scope::ScansRead]);
        assert_eq!(form.expires_ms(5), Ok(None));
        form.expires_days = " 2 ".into();
        assert_eq!(form.expires_ms(5), Ok(Some(5 + 2 * DAY_MS)));
        for bad in ["0", "-1", "3651", "soon", "1.5"] {
            form.expires_days = bad.into();
            assert_eq!(form.expires_ms(5), Err(()), "{bad}");
        }
        assert_eq!(scope_name(Scope::ConfigWrite), "config:write");
    }
}
