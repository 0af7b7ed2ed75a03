//! `POST /api/v1/sites/{site}/decisions`: the widget records a visitor's
//! decision. The handler checks the origin, the limits and the body's shape;
//! [`service::decision`](crate::service::decision) does the rest.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::DecisionRequest;

use crate::clock::now_ms;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ClientIp, allowed_origin, body_within, cached_site, with_cors};
use crate::service::AppState;
use crate::service::decision::{self, Recorded};

/// Records a decision. Any content type is read as JSON, so the widget may
/// use `navigator.sendBeacon` (text/plain) while a page unloads.
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/decisions",
    tag = "public",
    params(("site" = String, Path, description = "Site id")),
    request_body(content = crate::http::docs::DecisionRequestDoc, description = "consent_core::DecisionRequest, at most 16 KiB"),
    responses(
        (status = 201, description = "Recorded durably", body = Recorded),
        (status = 403, description = "Origin not allowed, or consent id and secret do not match", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 422, description = "Malformed JSON or a value the configuration does not allow; `field` names it", body = ErrorBody),
        (status = 429, description = "Too many decisions from this client or for this site (see Retry-After)", body = ErrorBody),
        (status = 503, description = "Storage unavailable; nothing recorded (see Retry-After)", body = ErrorBody),
    )
)]
pub async fn record(
    State(app): State<AppState>,
    Path(site): Path<String>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut origin = None;
    let res = record_inner(&app, &site, client, &headers, body, &mut origin).await;
    with_cors(res.unwrap_or_else(IntoResponse::into_response), origin)
}

async fn record_inner(
    app: &AppState,
    site: &str,
    client: std::net::IpAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    cors: &mut Option<HeaderValue>,
) -> Result<Response, ApiError> {
    let (site_id, site) = cached_site(app, site).await?;
    *cors = Some(allowed_origin(&site, headers)?.clone());
    let now = now_ms();
    decision::admit(app, &site_id, client, now)?;
    let body = body_within(body, consent_core::decision::MAX_DECISION_BYTES)?;
    let request: DecisionRequest = ApiError::parse_json(&body)?;
    let user_agent = headers.get(header::USER_AGENT).and_then(|ua| ua.to_str().ok());
    let recorded: Recorded = decision::record(app, site_id, request, user_agent, now).await?;
    Ok((StatusCode::CREATED, Json(recorded)).into_response())
}

/// CORS preflight for recording decisions, answered from the site's origins.
#[utoipa::path(
    options,
    path = "/api/v1/sites/{site}/decisions",
    tag = "public",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 204, description = "The origin may POST decisions"),
        (status = 403, description = "Origin not allowed", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
    )
)]
pub async fn preflight(State(app): State<AppState>, Path(site): Path<String>, headers: HeaderMap) -> Response {
    let answer = async {
        let (_, site) = cached_site(&app, &site).await?;
        let origin = allowed_origin(&site, &headers)?.clone();
        Ok::<_, ApiError>(origin)
    };
    match answer.await {
        Ok(origin) => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            with_cors(res, Some(origin))
        }
        Err(e) => with_cors(e.into_response(), None),
    }
}
