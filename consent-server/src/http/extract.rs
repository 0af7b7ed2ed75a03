//! What several handlers take from a request, defined once: the site named
//! in the path (from the site cache), the CORS answer for a site's own
//! origins, and the request body held to a limit.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use consent_core::SiteId;
use consent_core::store::Site;

use crate::http::error::ApiError;
use crate::service::Services;

/// The site named `site` in a public path, from the cache (public endpoints
/// are the hot path; owners' endpoints read the store, see
/// [`crate::service::config::existing_site`]). An unparsable id is a 404
/// like an unknown one.
pub async fn cached_site(app: &Services, site: &str) -> Result<(SiteId, Arc<Site>), ApiError> {
    let id = SiteId::parse(site).map_err(|_| ApiError::not_found("no such site"))?;
    let site = app
        .sites
        .site(&app.store, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such site"))?;
    Ok((id, site))
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

/// Adds the CORS answer: `Vary: Origin` always, the origin when allowed.
pub fn with_cors(mut res: Response, origin: Option<HeaderValue>) -> Response {
    let h = res.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    res
}

/// A request body as the `Bytes` extractor gave it, held to `limit`: over
/// the limit (caught by the body-limit layer or here) is a 413 naming
/// `limit`, any other extraction failure a 422.
pub fn body_within(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(limit)
        } else {
            ApiError::invalid("", r.body_text())
        }
    })?;
    if body.len() > limit {
        return Err(ApiError::too_large(limit));
    }
    Ok(body)
}
