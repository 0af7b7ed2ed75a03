//! A site's cookie policy table, public and always current: built from the
//! published configuration (`consent_core::cookie_policy`) as an HTML
//! fragment to embed, as CSV and as JSON, in any of the site's languages.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use consent_core::cookie_policy::{self, PolicyRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::cached_site;
use crate::service::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyParams {
    /// One of the site's languages; the site's first by default.
    pub lang: Option<String>,
}

/// The table as JSON.
#[derive(Serialize, ToSchema)]
pub struct CookiePolicy {
    pub site: String,
    /// The configuration version it was made from.
    pub version: String,
    pub language: String,
    /// One row per declared cookie, by category.
    #[schema(value_type = Vec<Object>)]
    pub cookies: Vec<PolicyRow>,
}

async fn table(app: &AppState, site: &str, params: &PolicyParams) -> Result<CookiePolicy, ApiError> {
    let (id, site) = cached_site(app, site).await?;
    let config = app
        .sites
        .config(&app.store, &id, &site.current_version)
        .await?
        .ok_or_else(|| ApiError::not_found("no published configuration"))?;
    let lang = cookie_policy::language(&config, params.lang.as_deref()).to_owned();
    Ok(CookiePolicy {
        site: id.to_string(),
        version: site.current_version.0.clone(),
        cookies: cookie_policy::rows(&config, &lang),
        language: lang,
    })
}

/// Public, cacheable as the loader is, and readable from any page.
fn public(mut res: Response, content_type: &'static str) -> Response {
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

#[utoipa::path(get, path = "/s/{site}/cookie-policy.html", tag = "public",
    params(("site" = String, Path, description = "Site id"), PolicyParams),
    responses(
        (status = 200, description = "The cookie policy table as an HTML fragment to embed (one table per category), always the published configuration's", content_type = "text/html"),
        (status = 404, description = "No such site", body = ErrorBody),
    ))]
pub async fn html(
    State(app): State<AppState>,
    Path(site): Path<String>,
    Query(params): Query<PolicyParams>,
) -> Result<Response, ApiError> {
    let t = table(&app, &site, &params).await?;
    let body = dashboard::cookie_policy::fragment(&t.cookies, &t.language, &t.version);
    Ok(public(body.into_response(), "text/html; charset=utf-8"))
}

#[utoipa::path(get, path = "/s/{site}/cookie-policy.csv", tag = "public",
    params(("site" = String, Path, description = "Site id"), PolicyParams),
    responses(
        (status = 200, description = "The cookie policy table as CSV (RFC 4180)", content_type = "text/csv"),
        (status = 404, description = "No such site", body = ErrorBody),
    ))]
pub async fn csv(
    State(app): State<AppState>,
    Path(site): Path<String>,
    Query(params): Query<PolicyParams>,
) -> Result<Response, ApiError> {
    let t = table(&app, &site, &params).await?;
    let body = cookie_policy::csv(&t.cookies, &t.language);
    Ok(public(body.into_response(), "text/csv; charset=utf-8"))
}

#[utoipa::path(get, path = "/s/{site}/cookie-policy.json", tag = "public",
    params(("site" = String, Path, description = "Site id"), PolicyParams),
    responses(
        (status = 200, description = "The cookie policy table", body = CookiePolicy),
        (status = 404, description = "No such site", body = ErrorBody),
    ))]
pub async fn json(
    State(app): State<AppState>,
    Path(site): Path<String>,
    Query(params): Query<PolicyParams>,
) -> Result<Response, ApiError> {
    let t = table(&app, &site, &params).await?;
    Ok(public(Json(t).into_response(), "application/json"))
}
