//! Who is calling the owner API: a per-site API key (`Authorization: Bearer`)
//! or an admin session (cookie, for the dashboard).
//!
//! Cookie-authenticated requests that change state must also carry the
//! session's CSRF token in `X-CSRF-Token` (double submit: the token is in a
//! readable cookie and the login answer, which another site's page can read
//! neither of). API keys are not sent by browsers on their own, so they need no
//! token.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng as HashRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consent_core::SiteId;
use consent_core::store::{ApiKey, Scope, Store};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "kmk_session";
pub const CSRF_COOKIE: &str = "kmk_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sessions last twelve hours.
pub const SESSION_TTL_MS: u64 = 12 * 3600 * 1000;
/// API keys start with this, so leaked ones are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "kmk_";

/// The caller of an owner endpoint.
#[derive(Clone, Debug)]
pub enum Principal {
    Admin { username: String },
    Key(ApiKey),
}

impl Principal {
    /// May this caller do `scope` on `site`? A key of another site is refused
    /// before anything about `site` is looked up.
    pub fn require(&self, site: &SiteId, scope: Scope) -> Result<(), ApiError> {
        match self {
            Principal::Admin { .. } => Ok(()),
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
            _ => Ok(()),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Principal::Admin { .. } => Ok(()),
            Principal::Key(_) => Err(ApiError::forbidden("only an admin may do this")),
        }
    }
}

pub fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// `n` random bytes from the OS, base64url.
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new API key: the secret (shown once) and its public id.
pub fn new_api_key() -> (String, String) {
    let mut id = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut id);
    (
        format!("{KEY_PREFIX}{}", random_token(32)),
        format!("key_{}", hex::encode(id)),
    )
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut HashRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
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
            return match app.store.api_key(&sha256(key)).await? {
                Some(k) => Ok(Principal::Key(k)),
                None => Err(ApiError::unauthorized("unknown API key")),
            };
        }
        let Some(token) = dashboard::auth::cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized("log in or send an API key"));
        };
        let now = crate::api::decisions::now_ms();
        let session = app
            .store
            .session(&sha256(token), now)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the session expired; log in again"))?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(session.csrf.as_str()) {
                return Err(ApiError::forbidden("missing or wrong X-CSRF-Token"));
            }
        }
        Ok(Principal::Admin {
            username: session.username,
        })
    }
}
