//! The Keurmerk seal, public: a site's latest attestation as a page, as an
//! embeddable badge, and as a proof bundle anyone verifies offline
//! (`keurmerk-verify attestation`). The page and badge are rendered by the
//! dashboard crate ([`dashboard::seal`]); attestations are made by
//! [`crate::service::attestation`].

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::cached_site;
use crate::service::AppState;
use crate::service::attestation::{Sealed, latest};

/// `?lang=nl|en`; otherwise the browser's `Accept-Language` decides.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SealParams {
    /// `nl` or `en`.
    pub lang: Option<String>,
}

async fn render(
    app: &AppState,
    site: &str,
    headers: &HeaderMap,
    params: &SealParams,
    draw: fn(&dashboard::seal::SealInput<'_>, &HeaderMap, Option<&str>) -> Response,
) -> Result<Response, ApiError> {
    let (id, _) = cached_site(app, site).await?;
    let sealed = latest(app, &id, false).await?;
    let key = app.log.inner().map(|l| l.signer.verifier().to_string());
    let input = dashboard::seal::SealInput {
        site: id.as_str(),
        latest: sealed
            .as_ref()
            .map(|s: &Sealed| (&s.attestation, s.index, s.checkpointed)),
        verifier_key: key.as_deref(),
        base_url: &app.settings.public_url,
        now_ms: crate::clock::now_ms(),
    };
    Ok(draw(&input, headers, params.lang.as_deref()))
}

#[utoipa::path(get, path = "/s/{site}/seal", tag = "public",
    params(("site" = String, Path, description = "Site id"), SealParams),
    responses(
        (status = 200, description = "The site's Keurmerk seal: its latest attestation in plain language (nl/en), its date and age, and how to verify it", content_type = "text/html"),
        (status = 404, description = "No such site", body = ErrorBody),
    ))]
pub async fn page(
    State(app): State<AppState>,
    Path(site): Path<String>,
    Query(params): Query<SealParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    render(&app, &site, &headers, &params, dashboard::seal::page).await
}

#[utoipa::path(get, path = "/s/{site}/seal.svg", tag = "public",
    params(("site" = String, Path, description = "Site id"), SealParams),
    responses(
        (status = 200, description = "An embeddable badge: the latest attestation's verdict and the scan's age in days (grey once older than 30 days, or when there is no scan); link it to `/s/{site}/seal`", content_type = "image/svg+xml"),
        (status = 404, description = "No such site", body = ErrorBody),
    ))]
pub async fn badge(
    State(app): State<AppState>,
    Path(site): Path<String>,
    Query(params): Query<SealParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    render(&app, &site, &headers, &params, dashboard::seal::badge).await
}

#[utoipa::path(get, path = "/s/{site}/attestation", tag = "public",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "The latest attestation's proof bundle `{record: base64 canonical attestation, proof: tlog-proof@v1 text}`; `keurmerk-verify attestation` checks it offline (signature, inclusion, witnesses)"),
        (status = 404, description = "No such site, or no attestation yet", body = ErrorBody),
        (status = 503, description = "The latest attestation is not in a checkpoint yet (see Retry-After)", body = ErrorBody),
    ))]
pub async fn attestation(State(app): State<AppState>, Path(site): Path<String>) -> Result<Response, ApiError> {
    let (id, _) = cached_site(&app, &site).await?;
    let sealed = latest(&app, &id, true)
        .await?
        .ok_or_else(|| ApiError::not_found("no attestation of this site yet"))?;
    let Some(bundle) = sealed.bundle else {
        return Err(ApiError {
            retry_after_secs: Some(1),
            ..ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "pending",
                "the attestation is not in a checkpoint yet",
            )
        });
    };
    let mut res = Json(bundle).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    // Anyone may fetch it, from any page (a regulator's tool, a monitor).
    res.headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    Ok(res)
}
