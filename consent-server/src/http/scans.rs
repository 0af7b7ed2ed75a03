//! Scan reports: the scanner uploads them (`scans:write`), owners list and
//! read them (`scans:read`). Storage keeps the report as opaque bytes plus a
//! small summary, so a newer scanner's extra fields survive untouched.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::SiteId;
use consent_core::store::{MAX_SCAN_BYTES, ScanMeta, ScanQuery, ScanStore, Scope};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::clock::now_ms;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::site_id;
use crate::service::AppState;
use crate::service::config::existing_site;
use crate::service::scan::{self as service, ScanJobRequest};

const MAX_PAGE: usize = 200;

#[derive(Serialize, ToSchema)]
pub struct ScanView {
    /// Sorts by upload time; use it to fetch the report.
    pub id: String,
    pub site: String,
    /// Upload time (Unix ms).
    pub time_ms: u64,
    /// The URL the report says was scanned.
    pub url: String,
    /// Findings per severity (`info`, `low`, `medium`, `high`, `critical`).
    pub counts: std::collections::BTreeMap<String, u64>,
}

impl From<ScanMeta> for ScanView {
    fn from(m: ScanMeta) -> Self {
        Self {
            id: m.id,
            site: m.site.to_string(),
            time_ms: m.time_ms,
            url: m.url,
            counts: m.counts,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScanPage {
    pub scans: Vec<ScanView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScanParams {
    /// Only scans older than this id (the previous page's `next_before`).
    pub before: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<usize>,
}

/// What both scan writes (an upload, a queued job) check first, in this
/// order: a valid site id, `scans:write` on it, a body within `limit`.
fn scan_write(
    who: &Principal,
    site: &str,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<(SiteId, Bytes), ApiError> {
    let id = site_id(site)?;
    who.require(&id, Scope::ScansWrite)?;
    Ok((id, crate::http::extract::body_within(body, limit)?))
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/scans", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    request_body(content = Object, description = "A scan report (`scanner/REPORT.md`, schema `keurmerk-scan-report`), at most 4 MiB"),
    responses(
        (status = 201, description = "Stored", body = ScanView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:write` on this site", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 413, description = "Larger than 4 MiB", body = ErrorBody),
        (status = 422, description = "Not a scan report; `field` names the problem", body = ErrorBody),
        (status = 429, description = "More uploads for this site than `--scan-upload-rate` allows per hour (see Retry-After)", body = ErrorBody),
    ),
    security(("api_key" = ["scans:write"]), ("session" = [])))]
pub async fn upload(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (id, body) = scan_write(&who, &site, body, MAX_SCAN_BYTES)?;
    existing_site(&app, &id).await?;
    let (url, counts) = crate::service::scan::summarise(&body)?;
    app.limits.check_scan_upload(&id)?;
    let mut random = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let now = now_ms();
    let meta = ScanMeta {
        id: ScanMeta::new_id(now, &hex::encode(random)),
        site: id,
        time_ms: now,
        url,
        counts,
    };
    app.store.save_scan(&meta, &body).await?;
    Ok((StatusCode::CREATED, Json(ScanView::from(meta))).into_response())
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/scans", tag = "owner",
    params(("site" = String, Path, description = "Site id"), ScanParams),
    responses(
        (status = 200, description = "The site's scans, newest first", body = ScanPage),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:read` on this site", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 422, description = "Invalid query", body = ErrorBody),
    ),
    security(("api_key" = ["scans:read"]), ("session" = [])))]
pub async fn list(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    params: Result<Query<ScanParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ScanPage>, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ScansRead)?;
    let Query(params) = params.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("between 1 and {MAX_PAGE}")));
    }
    existing_site(&app, &id).await?;
    let scans = app
        .store
        .scans(
            &id,
            &ScanQuery {
                before: params.before,
                limit,
            },
        )
        .await?;
    let next_before = (scans.len() == limit)
        .then(|| scans.last().map(|s| s.id.clone()))
        .flatten();
    Ok(Json(ScanPage {
        scans: scans.into_iter().map(ScanView::from).collect(),
        next_before,
    }))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/scans/{id}", tag = "owner",
    params(("site" = String, Path, description = "Site id"), ("id" = String, Path, description = "Scan id")),
    responses(
        (status = 200, description = "The report exactly as uploaded", content_type = "application/json", body = Object),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:read` on this site", body = ErrorBody),
        (status = 404, description = "No such site or scan", body = ErrorBody),
    ),
    security(("api_key" = ["scans:read"]), ("session" = [])))]
pub async fn get(
    State(app): State<AppState>,
    who: Principal,
    Path((site, scan)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ScansRead)?;
    let stored = app
        .store
        .scan(&id, &scan)
        .await?
        .ok_or_else(|| ApiError::not_found("no such scan"))?;
    let mut res = stored.report.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(res)
}

/// The largest scan-job request body.
const MAX_JOB_REQUEST: usize = 16 * 1024;

#[derive(Serialize, ToSchema)]
pub struct ScanJobView {
    pub id: String,
    pub site: String,
    pub url: String,
    /// `queued` (waiting for a worker), `running` (a worker has it), `done`, `failed`.
    pub status: crate::scan_queue::JobStatus,
    /// Where the scan is: `queued`, `static_pass` (crawling), `browser_pass` (Chromium),
    /// `storing`, `done`, `failed`.
    pub stage: crate::scan_queue::JobStage,
    /// Pages of the current pass done so far (static or browser pass).
    pub pages_done: u64,
    /// Pages of the current pass known so far (grows while the static pass finds links).
    pub pages_total: u64,
    /// Times a worker took the job; more than 1 means a worker died on it and it was retried.
    pub attempts: u64,
    /// Queued by the site's scan schedule rather than by a person.
    pub scheduled: bool,
    /// What the worker wants the owner to know, e.g. that no Chromium was found and only the
    /// static pass ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was queued (Unix ms).
    pub created_ms: u64,
    /// When the outcome was recorded (Unix ms), once `done` or `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
    /// The stored scan, once `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<String>,
    /// Where to read the stored scan, once `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_url: Option<String>,
    /// Why it failed, once `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where to poll this job's status.
    pub status_url: String,
}

impl From<crate::scan_queue::JobInfo> for ScanJobView {
    fn from(j: crate::scan_queue::JobInfo) -> Self {
        let status_url = format!("/api/v1/owner/sites/{}/scan-jobs/{}", j.site, j.id);
        Self {
            scan_url: j
                .scan_id
                .as_ref()
                .map(|s| format!("/api/v1/sites/{}/scans/{s}", j.site)),
            id: j.id,
            site: j.site,
            url: j.url,
            status: j.status,
            stage: j.stage,
            pages_done: j.pages_done,
            pages_total: j.pages_total,
            attempts: j.attempts,
            scheduled: j.scheduled,
            note: j.note,
            created_ms: j.created_ms,
            finished_ms: j.finished_ms,
            scan_id: j.scan_id,
            error: j.error,
            status_url,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScanJobList {
    /// The site's most recent jobs (at most 50), newest first.
    pub jobs: Vec<ScanJobView>,
}

#[utoipa::path(post, path = "/api/v1/owner/sites/{site}/scan-jobs", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    request_body(content = Option<ScanJobRequest>, description = "What to scan; an empty object or no body at all scans the first allowed origin with the worker's defaults"),
    responses(
        (status = 202, description = "Queued; poll `status_url`", body = ScanJobView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:write` on this site (or no CSRF token with a session)", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 413, description = "Body larger than 16 KiB", body = ErrorBody),
        (status = 422, description = "`field` names the problem: `url` not on one of the site's allowed origins, or a limit out of range", body = ErrorBody),
        (status = 429, description = "10 scans of this site are already waiting for a worker", body = ErrorBody),
        (status = 503, description = "The scan queue (Redis, or the embedded storage) is unavailable", body = ErrorBody),
    ),
    security(("api_key" = ["scans:write"]), ("session" = [])))]
pub async fn enqueue(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (id, body) = scan_write(&who, &site, body, MAX_JOB_REQUEST)?;
    service::queue(&app)?;
    let req: ScanJobRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ScanJobRequest::default()
    } else {
        ApiError::parse_json(&body)?
    };
    let job = service::queue_job(&app, &id, &req).await?;
    let view = ScanJobView::from(job);
    let mut res = (StatusCode::ACCEPTED, Json(&view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&view.status_url) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/scan-jobs", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "The site's recent scan jobs, newest first", body = ScanJobList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:read` on this site", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 503, description = "The scan queue (Redis, or the embedded storage) is unavailable", body = ErrorBody),
    ),
    security(("api_key" = ["scans:read"]), ("session" = [])))]
pub async fn list_jobs(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
) -> Result<Json<ScanJobList>, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ScansRead)?;
    let jobs = service::queue(&app)?
        .jobs(&id, 50)
        .await
        .map_err(service::queue_error)?;
    Ok(Json(ScanJobList {
        jobs: jobs.into_iter().map(ScanJobView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/scan-jobs/{id}", tag = "owner",
    params(("site" = String, Path, description = "Site id"), ("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job: queued, running (with its stage and pages done of total), done (with the scan) or failed (with the reason)", body = ScanJobView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:read` on this site", body = ErrorBody),
        (status = 404, description = "No such job for this site (unknown, expired after 7 days, or another site's)", body = ErrorBody),
        (status = 503, description = "The scan queue (Redis, or the embedded storage) is unavailable", body = ErrorBody),
    ),
    security(("api_key" = ["scans:read"]), ("session" = [])))]
pub async fn job(
    State(app): State<AppState>,
    who: Principal,
    Path((site, job)): Path<(String, String)>,
) -> Result<Json<ScanJobView>, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ScansRead)?;
    let job = service::queue(&app)?
        .job(&id, &job)
        .await
        .map_err(service::queue_error)?
        .ok_or_else(|| ApiError::not_found("no such scan job"))?;
    Ok(Json(ScanJobView::from(job)))
}

/// A site's scan schedule.
#[derive(Serialize, ToSchema)]
pub struct ScheduleView {
    /// `off`, `daily` or `weekly`.
    pub every: crate::scan_queue::schedule::Every,
    /// When the next scheduled scan is due (Unix ms); absent when off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_ms: Option<u64>,
}

impl From<crate::scan_queue::schedule::Schedule> for ScheduleView {
    fn from(s: crate::scan_queue::schedule::Schedule) -> Self {
        Self {
            every: s.every,
            next_ms: s.next_ms,
        }
    }
}

/// How often to scan the site by itself.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// `off`, `daily` or `weekly`; the first scheduled scan is one period from now.
    pub every: crate::scan_queue::schedule::Every,
}

/// The largest schedule request body.
const MAX_SCHEDULE_REQUEST: usize = 1024;

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/scan-schedule", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "The site's scan schedule", body = ScheduleView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:read` on this site", body = ErrorBody),
        (status = 503, description = "The scan queue (Redis, or the embedded storage) is unavailable", body = ErrorBody),
    ),
    security(("api_key" = ["scans:read"]), ("session" = [])))]
pub async fn get_schedule(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ScansRead)?;
    Ok(Json(service::schedule(&app, &id).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/owner/sites/{site}/scan-schedule", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    request_body(content = ScheduleRequest, description = "How often the server scans the site by itself"),
    responses(
        (status = 200, description = "Set", body = ScheduleView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:write` on this site (or no CSRF token with a session)", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 413, description = "Body larger than 1 KiB", body = ErrorBody),
        (status = 422, description = "Not `off`, `daily` or `weekly`", body = ErrorBody),
        (status = 503, description = "The scan queue (Redis, or the embedded storage) is unavailable", body = ErrorBody),
    ),
    security(("api_key" = ["scans:write"]), ("session" = [])))]
pub async fn set_schedule(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ScheduleView>, ApiError> {
    let (id, body) = scan_write(&who, &site, body, MAX_SCHEDULE_REQUEST)?;
    let req: ScheduleRequest = ApiError::parse_json(&body)?;
    Ok(Json(service::set_schedule(&app, &id, req.every).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct AlertList {
    /// Alerts of scheduled scans that found what the previous scan did not, newest first (at most 50).
    pub alerts: Vec<crate::scan_queue::schedule::Alert>,
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/scan-alerts", tag = "owner",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "The site's alerts until dismissed: new findings (by platform, rule and consent state) of scheduled scans", body = AlertList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:read` on this site", body = ErrorBody),
        (status = 503, description = "The scan queue (Redis, or the embedded storage) is unavailable", body = ErrorBody),
    ),
    security(("api_key" = ["scans:read"]), ("session" = [])))]
pub async fn list_alerts(
    State(app): State<AppState>,
    who: Principal,
    Path(site): Path<String>,
) -> Result<Json<AlertList>, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ScansRead)?;
    Ok(Json(AlertList {
        alerts: service::alerts(&app, &id).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/owner/sites/{site}/scan-alerts/{scan}", tag = "owner",
    params(("site" = String, Path, description = "Site id"), ("scan" = String, Path, description = "The alert's scan id")),
    responses(
        (status = 204, description = "Dismissed"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `scans:write` on this site (or no CSRF token with a session)", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 503, description = "The scan queue (Redis, or the embedded storage) is unavailable", body = ErrorBody),
    ),
    security(("api_key" = ["scans:write"]), ("session" = [])))]
pub async fn dismiss_alert(
    State(app): State<AppState>,
    who: Principal,
    Path((site, scan)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = site_id(&site)?;
    who.require(&id, Scope::ScansWrite)?;
    service::dismiss_alert(&app, &id, &scan).await?;
    Ok(StatusCode::NO_CONTENT)
}
