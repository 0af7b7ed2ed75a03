//! `POST /api/v1/sites/{site}/decisions`: the widget records a visitor's decision.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consent_core::store::{Append, NewVisitor, Site, Store};
use consent_core::{ConsentId, DecisionRecord, DecisionRequest, SiteId};
use rand::RngCore as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::log::Receipt;

/// The answer to a recorded decision.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Recorded {
    /// The visitor's consent id (new or the one sent).
    pub consent_id: String,
    /// Present only for a new visitor: keep it with the consent id; it is
    /// needed to change, withdraw or look up the decisions later. Shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The decision's index in the transparency log.
    pub index: u64,
    /// When the server accepted the decision (Unix milliseconds).
    pub time_ms: u64,
    /// The log's signed promise to include the decision, once the log issues them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub receipt: Option<Receipt>,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The request's Origin if the site allows it.
pub fn allowed_origin<'h>(site: &Site, headers: &'h HeaderMap) -> Result<&'h HeaderValue, ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .ok_or_else(|| ApiError::forbidden("an Origin header is required"))?;
    let allowed = origin
        .to_str()
        .is_ok_and(|o| site.allowed_origins.iter().any(|a| a == o));
    if allowed {
        Ok(origin)
    } else {
        Err(ApiError::forbidden("this origin may not record decisions for the site"))
    }
}

fn with_cors(mut res: Response, origin: Option<HeaderValue>) -> Response {
    let h = res.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    res
}

pub async fn site_or_404(app: &AppState, site: &str) -> Result<(SiteId, std::sync::Arc<Site>), ApiError> {
    let id = SiteId::parse(site).map_err(|_| ApiError::not_found("no such site"))?;
    let site = app
        .sites
        .site(&app.store, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such site"))?;
    Ok((id, site))
}

/// Records a decision. Any content type is read as JSON, so the widget may
/// use `navigator.sendBeacon` (text/plain) while a page unloads.
#[utoipa::path(
    post,
    path = "/api/v1/sites/{site}/decisions",
    tag = "public",
    params(("site" = String, Path, description = "Site id")),
    request_body(content = crate::api::docs::DecisionRequestDoc, description = "consent_core::DecisionRequest, at most 16 KiB"),
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut origin = None;
    let res = record_inner(&app, &site, peer, &headers, body, &mut origin).await;
    with_cors(res.unwrap_or_else(IntoResponse::into_response), origin)
}

async fn record_inner(
    app: &AppState,
    site: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    cors: &mut Option<HeaderValue>,
) -> Result<Response, ApiError> {
    let (site_id, site) = site_or_404(app, site).await?;
    *cors = Some(allowed_origin(&site, headers)?.clone());
    let now = now_ms();
    app.limits
        .check_decision(&app.limits.client_key(peer.ip(), now), &site_id)?;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(consent_core::decision::MAX_DECISION_BYTES)
        } else {
            ApiError::invalid("", r.body_text())
        }
    })?;
    let request: DecisionRequest = ApiError::parse_json(&body)?;
    let config = app
        .sites
        .config(&app.store, &site_id, &request.config_version)
        .await?
        .ok_or_else(|| ApiError::invalid("config_version", "unknown configuration version for this site"))?;
    let returning = request.consent_id.clone().zip(request.secret.clone());
    let decision = request
        .validate(&config)
        .map_err(|e| ApiError::invalid(e.field, e.message))?;

    // Everything random about this decision, from the thread's CSPRNG
    // (ChaCha12, seeded from the OS and reseeded every 64 KiB), as ids and
    // keys need. A `getrandom` call per decision instead cost the request
    // thread ~2 µs a decision (a system call, dear in a virtual machine).
    let mut random = [0u8; 16 + 32 + 32 + 24];
    rand::thread_rng().fill_bytes(&mut random);
    let (id_bytes, rest) = random.split_at(16);
    let (secret_bytes, rest) = rest.split_at(32);
    let (key_bytes, nonce) = rest.split_at(32);

    let (consent_id, key, new_visitor, secret) = match returning {
        Some((consent_id, secret)) => {
            let visitor = app.store.visitor(&site_id, &consent_id).await?;
            let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
            match visitor {
                Some(v) if v.secret_sha256 == hash => {
                    let key = v
                        .sealing_key
                        .ok_or_else(|| ApiError::forbidden("this consent id was erased; start a new one"))?;
                    (consent_id, key, None, None)
                }
                _ => return Err(ApiError::forbidden("consent_id and secret do not match")),
            }
        }
        None => {
            let consent_id = app
                .store
                .issue_consent_id()
                .unwrap_or_else(|| ConsentId::from_random(id_bytes.try_into().expect("16 bytes")));
            let secret = URL_SAFE_NO_PAD.encode(secret_bytes);
            let key: [u8; 32] = key_bytes.try_into().expect("32 bytes");
            let new = NewVisitor {
                secret_sha256: Sha256::digest(secret.as_bytes()).into(),
                sealing_key: key,
            };
            (consent_id, key, Some(new), Some(secret))
        }
    };
    let browser = headers
        .get(header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok())
        .and_then(crate::browser::summary);
    let record = DecisionRecord::seal(
        site_id.clone(),
        consent_id.clone(),
        now,
        decision,
        browser,
        &key,
        nonce.try_into().expect("24 bytes"),
    );
    let leaf = record.canonical_bytes();
    let index = app
        .store
        .append(Append {
            site: site_id,
            consent_id: consent_id.clone(),
            time_ms: now,
            leaf: leaf.clone(),
            new_visitor,
        })
        .await?;
    app.metrics.decisions.inc();
    let receipt = app.log.appended(index, &leaf, now).await;
    let body = Recorded {
        consent_id: consent_id.to_string(),
        secret,
        index,
        time_ms: now,
        receipt,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
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
        let (_, site) = site_or_404(&app, &site).await?;
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
