//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::store::DecisionStore;

use crate::http::error::{ApiError, ErrorBody};
use crate::service::AppState;
use crate::service::credentials::same_secret;
use crate::settings::Settings;

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Storage answers", body = String),
        (status = 503, description = "Storage unreachable", body = ErrorBody),
    ))]
pub async fn readyz(State(app): State<AppState>) -> Response {
    match app.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => crate::http::error::ApiError::from(e).into_response(),
    }
}

/// Who may read `/metrics`: its figures (routes, traffic, storage errors)
/// are for operators, not for everyone who reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsAccess<'a> {
    /// Whoever sends `Authorization: Bearer <token>` (`--metrics-token`).
    Token(&'a str),
    /// Anyone who reaches the listener: it is on loopback, with no trusted
    /// proxy in front that could forward the world to it.
    Open,
    /// No one (404): a listener others can reach, and no token.
    Hidden,
}

impl<'a> MetricsAccess<'a> {
    /// How the server with `settings` serves `/metrics`.
    pub fn of(settings: &'a Settings) -> Self {
        match &settings.metrics_token {
            Some(token) => Self::Token(token),
            None if settings.listen.ip().is_loopback() && settings.trusted_proxies.is_empty() => Self::Open,
            None => Self::Hidden,
        }
    }

    /// Says at start how `/metrics` is served, and why not when it is off.
    pub fn announce(self, settings: &Settings) {
        match self {
            Self::Token(_) => tracing::info!("/metrics asks for the --metrics-token"),
            Self::Open => {}
            Self::Hidden => tracing::warn!(
                listen = %settings.listen,
                trusted_proxies = settings.trusted_proxies.len(),
                "/metrics is off (404): the server is reachable beyond loopback and no --metrics-token is set"
            ),
        }
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus/OpenMetrics text", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "`--metrics-token` is set and the request lacks `Authorization: Bearer <token>`", body = ErrorBody),
        (status = 404, description = "Off: no `--metrics-token`, and the server listens beyond loopback or behind a trusted proxy", body = ErrorBody),
    ))]
pub async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match MetricsAccess::of(&app.settings) {
        MetricsAccess::Open => {}
        MetricsAccess::Hidden => {
            return ApiError::not_found("/metrics is off on this listener; see --metrics-token").into_response();
        }
        MetricsAccess::Token(token) => {
            let sent = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if !sent.is_some_and(|sent| same_secret(sent, token)) {
                return ApiError::unauthorized("send `Authorization: Bearer <metrics token>`").into_response();
            }
        }
    }
    let mut res = (StatusCode::OK, app.metrics.render()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    res
}
