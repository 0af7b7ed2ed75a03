//! Who is calling the owner API: a per-site API key (`Authorization: Bearer`)
//! or a logged-in account's session (cookie, shared with the dashboard),
//! which may do on each site what the account's role there allows
//! ([`consent_core::account`]).
//!
//! Cookie-authenticated requests that change state must also carry the
//! session's CSRF token in `X-CSRF-Token`, compared with the session's own
//! (synchronizer token). The token is handed out only in the log-in answer
//! and inside dashboard pages, never in a cookie, so no script can read it:
//! not another site's, and not a page of this host on another port (cookies
//! ignore ports). API keys are not sent by browsers on their own, so they
//! need no token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use consent_core::SiteId;
use consent_core::account::{Access, Account, Permission};
use consent_core::store::{AccountStore, ApiKey, Scope};

/// The value of cookie `name` in a request (the dashboard reads the same
/// session cookie; one parser for both).
pub use dashboard::cookie;

use crate::clock::now_ms;
use crate::http::error::ApiError;
use crate::service::credentials::{KEY_PREFIX, same_secret, sha256};
use crate::service::{AppState, login};

pub const SESSION_COOKIE: &str = "kmk_session";
/// The name of the readable CSRF cookie older servers set; only ever cleared now.
pub const CSRF_COOKIE: &str = "kmk_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller of an owner endpoint.
#[derive(Clone, Debug)]
pub enum Principal {
    Account(Account),
    Key(ApiKey),
}

/// What a key's scope asks of an account's role.
fn permission(scope: Scope) -> Permission {
    match scope {
        Scope::DecisionsRead => Permission::VisitorData,
        Scope::ConfigWrite => Permission::Publish,
        Scope::ScansWrite => Permission::Scan,
        Scope::ScansRead => Permission::View,
    }
}

/// An account's answer about a site: a site it is not a member of does not
/// exist for it (404, so ids do not leak between tenants).
fn account_access(a: &Account, site: &SiteId, p: Permission) -> Result<(), ApiError> {
    match a.access(site, p) {
        Access::Allowed => Ok(()),
        Access::Forbidden => Err(ApiError::forbidden("your role on this site does not allow this")),
        Access::Hidden => Err(ApiError::not_found(format!("no site {site}"))),
    }
}

impl Principal {
    /// May this caller do `scope` on `site`? A key of another site is refused
    /// before anything about `site` is looked up.
    pub fn require(&self, site: &SiteId, scope: Scope) -> Result<(), ApiError> {
        match self {
            Principal::Account(a) => account_access(a, site, permission(scope)),
            Principal::Key(k) if &k.site != site => Err(ApiError::forbidden("this key belongs to another site")),
            Principal::Key(k) if !k.scopes.contains(&scope) => Err(ApiError::forbidden(format!(
                "this key lacks the scope {}",
                serde_json::to_string(&scope).unwrap_or_default()
            ))),
            Principal::Key(_) => Ok(()),
        }
    }

    /// Any access at all to `site` (reading its settings).
    pub fn require_site(&self, site: &SiteId) -> Result<(), ApiError> {
        match self {
            Principal::Key(k) if &k.site != site => Err(ApiError::forbidden("this key belongs to another site")),
            Principal::Key(_) => Ok(()),
            Principal::Account(a) => account_access(a, site, Permission::View),
        }
    }

    /// Who this is in a site's audit trail: the account's name, or
    /// `key:<id>` for an API key.
    pub fn actor(&self) -> String {
        match self {
            Principal::Account(a) => a.username.clone(),
            Principal::Key(k) => format!("key:{}", k.id),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Principal::Account(a) if a.is_admin() => Ok(()),
            _ => Err(ApiError::forbidden("only an admin may do this")),
        }
    }
}

/// Records a key's use (`last_used_ms`) beside the request rather than in
/// its way: at most once a minute per key, and a failure only loses the
/// timestamp.
fn record_use(app: &AppState, hash: [u8; 32], now: u64) {
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = app.store.touch_api_key(&hash, now).await {
            tracing::warn!(error = %e, "recording an API key's last use");
        }
    });
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let key = auth
                .to_str()
                .ok()
                .and_then(|a| a.strip_prefix("Bearer "))
                .filter(|k| k.starts_with(KEY_PREFIX) && k.len() < 200)
                .ok_or_else(|| ApiError::unauthorized("expected `Authorization: Bearer kmk_...`"))?;
            let hash = sha256(key);
            let now = now_ms();
            return match app.store.api_key(&hash).await? {
                Some(k) if k.expired(now) => Err(ApiError::unauthorized("this API key expired")),
                Some(k) => {
                    if k.use_worth_recording(now) {
                        record_use(app, hash, now);
                    }
                    Ok(Principal::Key(k))
                }
                None => Err(ApiError::unauthorized("unknown API key")),
            };
        }
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized("log in or send an API key"));
        };
        // One rule for honouring a session, the dashboard's: its account
        // exists and its password has not changed since.
        let (session, account) = login::session(app, token)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::unauthorized("the session expired; log in again"))?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !sent.is_some_and(|sent| same_secret(sent, &session.csrf)) {
                return Err(ApiError::forbidden("missing or wrong X-CSRF-Token"));
            }
        }
        // Not before a password someone else chose has been replaced.
        if account.must_change_password {
            return Err(ApiError::forbidden("choose your own password first (in the dashboard)"));
        }
        Ok(Principal::Account(account))
    }
}

/// The cookies a log-in sets (or, with `max_age_secs` 0, a log-out clears).
pub(crate) fn session_cookies(
    app: &crate::service::Services,
    token: &str,
    _csrf: &str,
    max_age_secs: u64,
) -> [HeaderValue; 2] {
    let secure = if app.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let session =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    // The CSRF token is never in a cookie: script on any page of the same
    // host (cookies ignore the port) could read it. Clients get it from the
    // log-in answer, dashboard pages carry it in their forms. This clears a
    // readable copy an older server set.
    let csrf = format!("{CSRF_COOKIE}=; Path=/; SameSite=Strict; Max-Age=0{secure}");
    [
        HeaderValue::from_str(&session).expect("cookie is ascii"),
        HeaderValue::from_str(&csrf).expect("cookie is ascii"),
    ]
}
