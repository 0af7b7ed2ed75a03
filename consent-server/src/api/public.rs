//! Public, cacheable reads: a site's current configuration and its loader.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::loader::LoaderContext;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::api::decisions::site_or_404;
use crate::app::AppState;
use crate::error::{ApiError, ErrorBody};

/// The loader template, owned by the widget (plain JS with placeholders).
pub const LOADER_TEMPLATE: &str = include_str!("../../../consent-widget/loader/loader.js");

/// A site's current configuration.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicConfig {
    pub site: String,
    /// The configuration's content address; decisions name it.
    pub version: String,
    /// `consent_core::SiteConfig`.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}

fn cacheable(mut res: Response, etag: &str) -> Response {
    let h = res.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("etag is ascii"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    // Public data, read by widgets on any origin.
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res
}

#[utoipa::path(
    get,
    path = "/api/v1/sites/{site}/config",
    tag = "public",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "The current configuration; ETag is its version", body = PublicConfig),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 503, description = "Storage unavailable", body = ErrorBody),
    )
)]
pub async fn config(
    State(app): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (id, site) = site_or_404(&app, &site).await?;
    let etag = format!("\"{}\"", site.current_version);
    if matches_etag(&headers, &etag) {
        return Ok(cacheable(StatusCode::NOT_MODIFIED.into_response(), &etag));
    }
    let config = app
        .sites
        .config(&app.store, &id, &site.current_version)
        .await?
        .ok_or_else(|| {
            ApiError::from(consent_core::store::StoreError::Corrupt(format!(
                "{id}: current config missing"
            )))
        })?;
    let body = PublicConfig {
        site: id.to_string(),
        version: site.current_version.to_string(),
        config: serde_json::to_value(&*config).expect("config serialises"),
    };
    Ok(cacheable(Json(body).into_response(), &etag))
}

#[utoipa::path(
    get,
    path = "/s/{site}/loader.js",
    tag = "public",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "The site's loader script", content_type = "application/javascript", body = String),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No such site", body = ErrorBody),
    )
)]
pub async fn loader(
    State(app): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (id, site) = site_or_404(&app, &site).await?;
    let config = app
        .sites
        .config(&app.store, &id, &site.current_version)
        .await?
        .ok_or_else(|| {
            ApiError::from(consent_core::store::StoreError::Corrupt(format!(
                "{id}: current config missing"
            )))
        })?;
    let script = consent_core::loader::render(
        LOADER_TEMPLATE,
        &LoaderContext {
            site: &id,
            version: &site.current_version,
            config: &config,
            base_url: &app.settings.public_url,
        },
    );
    let digest = Sha256::digest(script.as_bytes());
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    if matches_etag(&headers, &etag) {
        return Ok(cacheable(StatusCode::NOT_MODIFIED.into_response(), &etag));
    }
    let mut res = script.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    Ok(cacheable(res, &etag))
}
