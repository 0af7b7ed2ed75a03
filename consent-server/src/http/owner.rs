//! The owner API: sites, configurations, API keys and decisions, for API keys
//! (limited to their site and scopes) and admin sessions.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::export::csv_cell;
use consent_core::store::{AccountStore, ApiKey, DecisionQuery, DecisionStore, LoggedDecision, Scope, Site, SiteStore};
use consent_core::{ConfigVersion, ConsentId, SiteConfig, SiteId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::auth::Principal;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::site_id;
use crate::service::AppState;
use crate::service::api_keys;
use crate::service::config;

/// Largest body the owner API reads (a configuration with many services).
pub const MAX_OWNER_BODY: usize = 1024 * 1024;
const MAX_PAGE: usize = 1000;

#[derive(Serialize, ToSchema)]
pub struct SiteView {
    pub id: String,
    pub allowed_origins: Vec<String>,
    pub current_version: String,
    pub created_ms: u64,
}

impl From<&Site> for SiteView {
    fn from(s: &Site) -> Self {
        Self {
            id: s.id.to_string(),
            allowed_origins: s.allowed_origins.clone(),
            current_version: s.current_version.to_string(),
            created_ms: s.created_ms,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    /// Slug: a-z, 0-9, '-', '_' (1-64).
    pub id: String,
    /// Origins such as `https://shop.example.nl` allowed to record decisions.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The first configuration; the starter one if left out.
    #[serde(default)]
    pub config: Option<SiteConfig>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOrigins {
    pub allowed_origins: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SavedConfig {
    pub version: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConfigView {
    pub site: String,
    pub version: String,
    #[schema(value_type = SiteConfig)]
    pub config: serde_json::Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A label for people ("CRM export").
    pub name: String,
    /// `decisions:read`, `config:write`, `scans:write`, `scans:read`.
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<Scope>,
    /// When the key stops working (Unix ms, in the future) [default: never].
    #[serde(default)]
    pub expires_ms: Option<u64>,
    /// Or: the key stops working this many days from now, 1-3650.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub site: String,
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<Scope>,
    pub created_ms: u64,
    /// When the key stops working (Unix ms); absent: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    /// When the key was last used (Unix ms, to within a minute); absent: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<u64>,
    /// The key itself: present only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl KeyView {
    fn new(k: &ApiKey, key: Option<String>) -> Self {
        Self {
            id: k.id.clone(),
            site: k.site.to_string(),
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            created_ms: k.created_ms,
            expires_ms: k.expires_ms,
            last_used_ms: k.last_used_ms,
            key,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DecisionParams {
    /// Only this visitor's decisions.
    pub consent_id: Option<String>,
    /// From this time (Unix ms, inclusive).
    pub from_ms: Option<u64>,
    /// Before this time (Unix ms, exclusive).
    pub to_ms: Option<u64>,
    /// Only decisions after this log index (the previous page's `next_after`).
    pub after: Option<u64>,
    /// Page size, 1-1000 (default 100).
    pub limit: Option<usize>,
    /// Export format: `json` (default) or `csv`.
    pub format: Option<String>,
}

impl DecisionParams {
    fn query(&self) -> Result<DecisionQuery, ApiError> {
        let consent_id = self
            .consent_id
            .as_deref()
            .map(ConsentId::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("consent_id", e.to_string()))?;
        let limit = self.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::invalid("limit", format!("between 1 and {MAX_PAGE}")));
        }
        Ok(DecisionQuery {
            consent_id,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            after: self.after,
            limit,
            ..Default::default()
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    /// The decision's index in the transparency log.
    pub index: u64,
    #[schema(value_type = crate::http::docs::DecisionRecordDoc)]
    pub record: consent_core::DecisionRecord,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionPage {
    pub decisions: Vec<DecisionView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
}

fn query_params(
    q: Result<Query<DecisionParams>, axum::extract::rejection::QueryRejection>,
) -> Result<DecisionParams, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::invalid("query", e.body_text()))
}

#[utoipa::path(get, path = "/api/v1/owner/sites", tag = "owner",
    responses(
        (status = 200, description = "Sites the caller may see", body = Vec<SiteView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
pub async fn list_sites(State(app): State<AppState>, who: Principal) -> Result<Json<Vec<SiteView>>, ApiError> {
    let sites: Vec<_> = match &who {
        Principal::Account(a) => app.store.sites().await?.into_iter().filter(|s| a.sees(&s.id)).collect(),
        Principal::Key(k) => app.store.site(&k.site).await?.into_iter().collect(),
    };
    Ok(Json(sites.iter().map(SiteView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/owner/sites", tag = "owner",
    request_body = CreateSite,
    responses(
        (status = 201, description = "Created", body = SiteView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The site exists", body = ErrorBody),
        (status = 422, description = "Invalid; `field` names it", body = ErrorBody),
    ),
    security(("session" = [])))]
pub async fn create_site(State(app): State<AppState>, who: Principal, body: Bytes) -> Result<Response, ApiError> {
    who.require_admin()?;
    let req: CreateSite = ApiError::parse_json(&body)?;
    let id = SiteId::parse(&req.id).map_err(|e| ApiError::invalid("id", e.to_string()))?;
    let site = config::create_site(&app, &who.actor(), id, req.allowed_origins, req.config).await?;
    Ok((StatusCode::CREATED, Json(SiteView::from(&site))).into_response())
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "The site", body = SiteView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "A key of another site", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_site(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
) -> Result<Json<SiteView>, ApiError> {
    let id = site_id(&site)?;
    who.require_site(&id)?;
    Ok(Json(SiteView::from(&config::existing_site(&app, &id).await?)))
}

#[utoipa::path(put, path = "/api/v1/owner/sites/{site}/origins", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    request_body = SetOrigins,
    responses(
        (status = 200, description = "Saved", body = SiteView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `config:write` on this site", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 422, description = "Invalid; `field` names it", body = ErrorBody),
    ),
    security(("api_key" = ["config:write"]), ("session" = [])))]
pub async fn set_origins(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    body: Bytes,
) -> Result<Json<SiteView>, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ConfigWrite)?;
    let req: SetOrigins = ApiError::parse_json(&body)?;
    let site = config::set_origins(&app, &who.actor(), &id, &req.allowed_origins).await?;
    Ok(Json(SiteView::from(&site)))
}

#[utoipa::path(post, path = "/api/v1/owner/sites/{site}/configs", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    request_body(content = SiteConfig, description = "The site configuration; saved as a new version when it validates"),
    responses(
        (status = 201, description = "Saved as an immutable version and made current", body = SavedConfig),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `config:write` on this site", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 422, description = "Invalid; `field` names it", body = ErrorBody),
    ),
    security(("api_key" = ["config:write"]), ("session" = [])))]
pub async fn save_config(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ConfigWrite)?;
    let config: SiteConfig = ApiError::parse_json(&body)?;
    let version = config::publish(&app, &who.actor(), &id, &config).await?;
    Ok((StatusCode::CREATED, Json(SavedConfig { version: version.0 })).into_response())
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/configs/{version}", tag = "owner",
    params(("site" = String, Path, description = "Site id"), ("version" = String, Path, description = "Configuration version")),
    responses(
        (status = 200, description = "That version", body = ConfigView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "A key of another site", body = ErrorBody),
        (status = 404, description = "No such site or version", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_config(
    State(app): State<AppState>,
    who: Principal,
    Path((site, version)): Path<(String, String)>,
) -> Result<Json<ConfigView>, ApiError> {
    let id = site_id(&site)?;
    who.require_site(&id)?;
    let version = ConfigVersion(version);
    let config = app
        .sites
        .config(&app.store, &id, &version)
        .await?
        .ok_or_else(|| ApiError::not_found("no such configuration version"))?;
    Ok(Json(ConfigView {
        site: id.to_string(),
        version: version.0,
        config: serde_json::to_value(&*config).expect("config serialises"),
    }))
}

#[utoipa::path(post, path = "/api/v1/owner/sites/{site}/keys", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    request_body = CreateKey,
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = KeyView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 422, description = "Invalid; `field` names it", body = ErrorBody),
    ),
    security(("session" = [])))]
pub async fn create_key(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    let id = site_id(&site)?;
    config::existing_site(&app, &id).await?;
    let req: CreateKey = ApiError::parse_json(&body)?;
    let expiry = api_keys::Expiry {
        at_ms: req.expires_ms,
        in_days: req.expires_in_days,
    };
    let (key, secret) = api_keys::create(&app, &id, req.name, req.scopes, expiry, who.actor()).await?;
    Ok((StatusCode::CREATED, Json(KeyView::new(&key, Some(secret)))).into_response())
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/keys", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "The site's keys (without the keys themselves)", body = Vec<KeyView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ),
    security(("session" = [])))]
pub async fn list_keys(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    who.require_admin()?;
    let id = site_id(&site)?;
    let keys = app.store.api_keys(&id).await?;
    Ok(Json(keys.iter().map(|k| KeyView::new(k, None)).collect()))
}

#[utoipa::path(delete, path = "/api/v1/owner/sites/{site}/keys/{id}", tag = "owner",
    params(("site" = String, Path, description = "Site id"), ("id" = String, Path, description = "The key's public id (`key_…`)")),
    responses(
        (status = 204, description = "Revoked: requests with the key are refused (401) from now on"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin, or no CSRF token", body = ErrorBody),
        (status = 404, description = "The site has no key with this id", body = ErrorBody),
    ),
    security(("session" = [])))]
pub async fn revoke_key(
    State(app): State<AppState>,
    who: Principal,
    Path((site, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    who.require_admin()?;
    let id = site_id(&site)?;
    if api_keys::revoke(&app, &id, &key_id, who.actor()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("the site has no key with this id"))
    }
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/decisions", tag = "owner",
    params(("site" = String, Path, description = "Site id"), DecisionParams),
    responses(
        (status = 200, description = "A page of decisions, oldest first", body = DecisionPage),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `decisions:read` on this site", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 422, description = "Invalid query; `field` names it", body = ErrorBody),
    ),
    security(("api_key" = ["decisions:read"]), ("session" = [])))]
pub async fn list_decisions(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    params: Result<Query<DecisionParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DecisionPage>, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::DecisionsRead)?;
    let params = query_params(params)?;
    let q = params.query()?;
    config::existing_site(&app, &id).await?;
    let found = app.store.decisions(&id, &q).await?;
    let next_after = (found.len() == q.limit)
        .then(|| found.last().map(|d| d.index))
        .flatten();
    Ok(Json(DecisionPage {
        decisions: found
            .into_iter()
            .map(|d| DecisionView {
                index: d.index,
                record: d.record,
            })
            .collect(),
        next_after,
    }))
}

const CSV_HEADER: &str =
    "index,time_ms,consent_id,config_version,method,language,gpc,granted_categories,denied_categories,services\n";

fn csv_row(d: &LoggedDecision) -> String {
    let r = &d.record;
    let pick = |want: bool| {
        r.categories
            .iter()
            .filter(|(_, g)| **g == want)
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>()
            .join(";")
    };
    let services = r
        .services
        .iter()
        .map(|(s, g)| format!("{s}={}", if *g { "granted" } else { "denied" }))
        .collect::<Vec<_>>()
        .join(";");
    let method = serde_json::to_value(r.method).ok();
    let method = method.as_ref().and_then(|m| m.as_str()).unwrap_or_default();
    format!(
        "{},{},{},{},{},{},{},{},{},{}\n",
        d.index,
        r.time_ms,
        r.consent_id,
        csv_cell(&r.config_version.0),
        method,
        csv_cell(&r.language),
        r.gpc,
        csv_cell(&pick(true)),
        csv_cell(&pick(false)),
        csv_cell(&services),
    )
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/decisions/export", tag = "owner",
    params(("site" = String, Path, description = "Site id"), DecisionParams),
    responses(
        (status = 200, description = "Every matching decision, streamed: a JSON array of {index, record} or CSV",
            content((Vec<DecisionView> = "application/json"), (String = "text/csv"))),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `decisions:read` on this site", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 422, description = "Invalid query; `field` names it", body = ErrorBody),
    ),
    security(("api_key" = ["decisions:read"]), ("session" = [])))]
pub async fn export_decisions(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    params: Result<Query<DecisionParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::DecisionsRead)?;
    let params = query_params(params)?;
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid("format", "json or csv")),
    };
    let mut q = params.query()?;
    q.limit = MAX_PAGE;
    config::existing_site(&app, &id).await?;

    // Page through storage as the client reads, so memory stays flat however
    // many decisions there are.
    struct Cursor {
        app: AppState,
        site: SiteId,
        query: DecisionQuery,
        started: bool,
        any: bool,
        done: bool,
    }
    let cursor = Cursor {
        app,
        site: id.clone(),
        query: q,
        started: false,
        any: false,
        done: false,
    };
    let stream = futures_util::stream::unfold(cursor, move |mut c| async move {
        if c.done {
            return None;
        }
        let mut out = String::new();
        if !c.started {
            out.push_str(if csv { CSV_HEADER } else { "[" });
            c.started = true;
        }
        let page = match c.app.store.decisions(&c.site, &c.query).await {
            Ok(p) => p,
            Err(e) => {
                c.done = true;
                return Some((Err(std::io::Error::other(e.to_string())), c));
            }
        };
        for d in &page {
            if csv {
                out.push_str(&csv_row(d));
            } else {
                if c.any {
                    out.push(',');
                }
                let view = DecisionView {
                    index: d.index,
                    record: d.record.clone(),
                };
                out.push_str(&serde_json::to_string(&view).expect("records serialise"));
            }
            c.any = true;
        }
        if page.len() < c.query.limit {
            c.done = true;
            if !csv {
                out.push(']');
            }
        } else {
            c.query.after = page.last().map(|d| d.index);
        }
        Some((Ok::<_, std::io::Error>(Bytes::from(out)), c))
    });
    let mut res = Body::from_stream(stream).into_response();
    let (ctype, ext) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/json", "json")
    };
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"decisions-{id}.{ext}\"")).expect("site ids are ascii"),
    );
    Ok(res)
}
