//! Admin sessions for the dashboard: log in, who am I, log out.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::auth::{Principal, SESSION_COOKIE, session_cookies};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ClientIp;
use crate::service::credentials::SESSION_TTL_MS;
use crate::service::{AppState, login as service};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    pub username: String,
    /// Send as `X-CSRF-Token` with every state-changing request of this session.
    pub csrf: String,
    pub expires_ms: u64,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = Login,
    responses(
        (status = 200, description = "Logged in; sets the session and CSRF cookies", body = LoggedIn),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ErrorBody),
        (status = 429, description = "Too many attempts (see Retry-After)", body = ErrorBody),
    ))]
pub async fn login(State(app): State<AppState>, ClientIp(client): ClientIp, body: Bytes) -> Result<Response, ApiError> {
    let req: Login = ApiError::parse_json(&body)?;
    let opened = service::log_in(&app, &req.username, req.password, client).await?;
    let mut res = Json(LoggedIn {
        username: opened.username,
        csrf: opened.csrf.clone(),
        expires_ms: opened.expires_ms,
    })
    .into_response();
    for c in session_cookies(&app, &opened.token, &opened.csrf, SESSION_TTL_MS / 1000) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    /// `admin` or `key`.
    pub kind: String,
    pub name: String,
    /// The site of a key; absent for admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses(
        (status = 200, description = "Who the caller is", body = Me),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
pub async fn me(who: Principal) -> Json<Me> {
    Json(match who {
        Principal::Account(a) => Me {
            kind: if a.is_admin() { "admin" } else { "member" }.into(),
            name: a.username,
            site: None,
        },
        Principal::Key(k) => Me {
            kind: "key".into(),
            name: k.id,
            site: Some(k.site.to_string()),
        },
    })
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Logged out; the cookies are cleared"),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Missing X-CSRF-Token", body = ErrorBody),
    ),
    security(("session" = [])))]
pub async fn logout(State(app): State<AppState>, who: Principal, headers: HeaderMap) -> Result<Response, ApiError> {
    who.require_admin()?;
    let token = crate::http::auth::cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    service::log_out(&app, token).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    for c in session_cookies(&app, "", "", 0) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}
