//! Public, cacheable reads: a site's current configuration and its loader.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::loader::LoaderContext;
use consent_core::{ConfigVersion, SiteId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::cached_site;
use crate::service::AppState;

/// The loader template, owned by the widget (plain JS with placeholders).
pub const LOADER_TEMPLATE: &str = include_str!("../../../consent-widget/loader/loader.js");

/// A site's current configuration.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicConfig {
    pub site: String,
    /// The configuration's content address; decisions name it.
    pub version: String,
    #[schema(value_type = consent_core::SiteConfig)]
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

fn cacheable(res: Response, etag: &str) -> Response {
    cacheable_for(res, etag, "public, max-age=60")
}

fn cacheable_for(mut res: Response, etag: &str, cache_control: &'static str) -> Response {
    let h = res.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("etag is ascii"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
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
    let (id, site) = cached_site(&app, &site).await?;
    let etag = format!("\"{}\"", site.current_version);
    if matches_etag(&headers, &etag) {
        return Ok(cacheable(StatusCode::NOT_MODIFIED.into_response(), &etag));
    }
    let answer = answer(&app, &id, &site.current_version).await?;
    let res = match (&answer.br, accepts_br(&headers)) {
        (Some(bytes), true) => {
            let mut res = bytes.clone().into_response();
            res.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            res
        }
        _ => answer.plain.clone().into_response(),
    };
    let mut res = cacheable(res, &etag);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(res)
}

/// The body of a configuration answer, plain and brotli-compressed.
struct ConfigAnswer {
    plain: Bytes,
    /// None if compression failed: the answer goes out plain.
    br: Option<Bytes>,
}

type Answers = HashMap<(SiteId, ConfigVersion), Arc<ConfigAnswer>>;

/// A site's answer for one configuration version, built on first use and
/// then kept: a version never changes, and the answer names only the site
/// and the version. Building it (the configuration to JSON, a hash for the
/// brotli cache) cost a request several bare requests' time (measured: see
/// docs/benchmarks.md, public reads bench); from the cache it is a map lookup.
/// Per process, like the brotli cache; the bound clears it.
async fn answer(app: &AppState, id: &SiteId, version: &ConfigVersion) -> Result<Arc<ConfigAnswer>, ApiError> {
    static ANSWERS: OnceLock<Mutex<Answers>> = OnceLock::new();
    let answers = ANSWERS.get_or_init(Default::default);
    let key = (id.clone(), version.clone());
    if let Some(a) = answers.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return Ok(a.clone());
    }
    let config = app.sites.config(&app.store, id, version).await?.ok_or_else(|| {
        ApiError::from(consent_core::store::StoreError::Corrupt(
            consent_core::store::Cause::msg(format!("{id}: current config missing")),
        ))
    })?;
    let json = serde_json::to_string(&PublicConfig {
        site: id.to_string(),
        version: version.to_string(),
        config: serde_json::to_value(&*config).expect("config serialises"),
    })
    .expect("config serialises");
    // Every first-time visitor's banner downloads this, and brotli shrinks
    // it well (the demo site's: see docs/benchmarks.md, widget bench).
    let br = brotli_best(&json).await;
    let answer = Arc::new(ConfigAnswer {
        plain: Bytes::from(json),
        br,
    });
    let mut answers = answers.lock().unwrap_or_else(PoisonError::into_inner);
    if answers.len() >= 4096 {
        answers.clear();
    }
    answers.insert(key, answer.clone());
    Ok(answer)
}

fn accepts_br(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("br")))
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
    let (id, site) = cached_site(&app, &site).await?;
    let config = app
        .sites
        .config(&app.store, &id, &site.current_version)
        .await?
        .ok_or_else(|| {
            ApiError::from(consent_core::store::StoreError::Corrupt(
                consent_core::store::Cause::msg(format!("{id}: current config missing")),
            ))
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
    // Why these numbers: consent_core::loader::CACHE_CONTROL.
    let cache = consent_core::loader::CACHE_CONTROL;
    if matches_etag(&headers, &etag) {
        return Ok(cacheable_for(StatusCode::NOT_MODIFIED.into_response(), &etag, cache));
    }
    let brotli = if accepts_br(&headers) {
        brotli(&script).await
    } else {
        None
    };
    let mut res = match &brotli {
        Some(bytes) => bytes.clone().into_response(),
        None => script.into_response(),
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if brotli.is_some() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    Ok(cacheable_for(res, &etag, cache))
}

/// The loader brotli-compressed, cached by the text's own hash: an ETag
/// would not do, since sites with the same configuration share its version
/// while their loaders differ (each names its site).
async fn brotli(text: &str) -> Option<Bytes> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Bytes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    if let Some(b) = cache.lock().ok()?.get(&key) {
        return Some(b.clone());
    }
    let bytes = brotli_best(text).await?;
    let mut cache = cache.lock().ok()?;
    // One entry per loader in use; a restart or this bound clears it.
    if cache.len() >= 4096 {
        cache.clear();
    }
    cache.insert(key, bytes.clone());
    Some(bytes)
}

/// `text` brotli-compressed at the best level (the widget's other assets are
/// precompressed by its build). That level is slow (see docs/benchmarks.md,
/// widget bench), so callers pay it once per text, not per visitor.
/// None if compression fails: the caller sends the text plain.
async fn brotli_best(text: &str) -> Option<Bytes> {
    use tower::ServiceExt;
    use tower_http::compression::{Compression, CompressionLevel};

    let mut body = Some(text.to_owned());
    let svc = Compression::new(tower::service_fn(move |_req: axum::http::Request<Body>| {
        let res = Response::new(Body::from(body.take().unwrap_or_default()));
        async move { Ok::<_, std::convert::Infallible>(res) }
    }))
    .quality(CompressionLevel::Best);
    let mut req = axum::http::Request::new(Body::empty());
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
    let res = svc.oneshot(req).await.ok()?;
    if res.headers().get(header::CONTENT_ENCODING)? != "br" {
        return None;
    }
    axum::body::to_bytes(Body::new(res.into_body()), 1 << 20).await.ok()
}
