//! The scan queue: owners ask for a scan of their site, a worker runs it, and
//! the report is stored once. One contract, two places to keep the queue:
//!
//! - [`redis`]: in Redis, for scale-out. Remote `consent-scan worker`s take
//!   the jobs; a collector in every server instance stores the reports
//!   (keys and heartbeats: [`consent_core::scan_job`]).
//! - [`embedded`]: in the embedded SQLite storage, for the default install
//!   without Redis. The server runs the workers itself
//!   ([`crate::scan_worker`]); a job is leased while it runs, and a job whose
//!   server died mid-scan is taken again once its lease runs out.
//!
//! Both queue the same [`ScanJob`] JSON (at most [`MAX_JOB_BYTES`]), keep at
//! most [`MAX_WAITING_JOBS`] of a site's jobs waiting, give a job up after
//! its worker died [`MAX_ATTEMPTS`] times, answer with the same
//! [`JobInfo`] (status, stage, pages done of total) and store each report
//! exactly once under a scan id fixed per job. The behaviour tests in
//! `tests/it/scan_queue.rs` run against both.

pub mod embedded;
pub mod redis;
pub mod schedule;

use consent_core::SiteId;
use consent_core::scan_job::{ScanJob, ScanStage};
use consent_core::store::StoreError;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub use self::embedded::EmbeddedQueue;
pub use self::redis::RedisQueue;
pub use consent_core::scan_job::{
    COLLECTORS, DONE, JOBS, MAX_JOB_BYTES, WORKERS, collecting_key, collector_alive_key, job_key, processing_key,
    progress_key, result_key, worker_alive_key,
};

/// A job whose worker died this often while running it fails for good
/// (it may be what kills them).
pub const MAX_ATTEMPTS: i64 = 3;

/// Jobs of one site that may wait for a worker at once, so one site cannot
/// fill the workers' queue for everyone else.
pub const MAX_WAITING_JOBS: usize = 10;

/// How long a job's record is kept (7 days).
pub(crate) const JOB_TTL_MS: u64 = 7 * 24 * 3600 * 1000;
/// Jobs a site's listing remembers.
pub(crate) const SITE_JOBS_KEPT: usize = 200;
/// The longest failure reason kept.
pub(crate) const MAX_ERROR: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("scan queue unavailable: {0}")]
    Unavailable(#[from] ::redis::RedisError),
    #[error("the job would be {0} bytes; workers take at most {MAX_JOB_BYTES}")]
    TooLarge(usize),
    #[error("{0}")]
    Storage(StoreError),
    /// The site has this many jobs waiting already (see [`ScanQueue::enqueue`]).
    #[error("{waiting} scans of this site are waiting for a worker already")]
    TooManyJobs { waiting: usize },
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// What a caller asked to scan (already checked against the site).
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub url: url::Url,
    pub max_pages: Option<usize>,
    pub depth: Option<u32>,
    pub browser_pages: Option<usize>,
    /// The site's current declaration, compared against what the scan finds.
    pub declared: consent_core::SiteConfig,
}

/// The server's view of one job.
#[derive(Clone, Debug)]
pub struct JobInfo {
    pub id: String,
    pub site: String,
    pub url: String,
    pub created_ms: u64,
    pub status: JobStatus,
    /// Where a running scan is; `queued`, `done`, `failed` otherwise.
    pub stage: JobStage,
    /// Pages of the current stage done, of `pages_total` known so far.
    pub pages_done: u64,
    pub pages_total: u64,
    /// Times a worker took the job (more than one: a worker died on it).
    pub attempts: u64,
    /// Queued by the site's schedule rather than by a person.
    pub scheduled: bool,
    /// What the worker wants the owner to know, e.g. that Chromium was
    /// missing and only the static pass ran.
    pub note: Option<String>,
    pub scan_id: Option<String>,
    pub error: Option<String>,
    pub finished_ms: Option<u64>,
}

impl JobInfo {
    /// A job just queued, as both backends answer it.
    pub(crate) fn queued(id: String, site: &SiteId, url: String, created_ms: u64, scheduled: bool) -> Self {
        JobInfo {
            id,
            site: site.as_str().to_owned(),
            url,
            created_ms,
            status: JobStatus::Queued,
            stage: JobStage::Queued,
            pages_done: 0,
            pages_total: 0,
            attempts: 0,
            scheduled,
            note: None,
            scan_id: None,
            error: None,
            finished_ms: None,
        }
    }
}

/// Checks that `url` is an http(s) URL on one of `allowed` origins, so the
/// queue cannot be used to make workers fetch arbitrary hosts. Without a
/// URL, the first allowed origin's root. The error names no field; callers
/// answer it as `url`.
pub fn check_url(url: Option<&str>, allowed: &[String]) -> Result<url::Url, String> {
    let normalise = |o: &str| url::Url::parse(o).ok().map(|u| u.origin().ascii_serialization());
    let allowed: Vec<String> = allowed.iter().filter_map(|o| normalise(o)).collect();
    let raw = match url {
        Some(u) => u.to_owned(),
        None => match allowed.first() {
            Some(o) => format!("{o}/"),
            None => return Err("the site has no allowed origins to scan; add one first".into()),
        },
    };
    if raw.len() > 2048 {
        return Err("at most 2048 characters".into());
    }
    let mut parsed = url::Url::parse(&raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err("an http(s) URL is required".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("credentials in the URL are not allowed".into());
    }
    let origin = parsed.origin().ascii_serialization();
    if !allowed.contains(&origin) {
        return Err(format!(
            "{origin} is not one of the site's allowed origins; only those may be scanned"
        ));
    }
    parsed.set_fragment(None);
    Ok(parsed)
}

/// A scan's stage as the API shows it (see [`ScanStage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStage {
    Queued,
    StaticPass,
    BrowserPass,
    Storing,
    Done,
    Failed,
}

impl From<ScanStage> for JobStage {
    fn from(s: ScanStage) -> Self {
        match s {
            ScanStage::Queued => Self::Queued,
            ScanStage::StaticPass => Self::StaticPass,
            ScanStage::BrowserPass => Self::BrowserPass,
            ScanStage::Storing => Self::Storing,
            ScanStage::Done => Self::Done,
            ScanStage::Failed => Self::Failed,
        }
    }
}

impl JobStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => ScanStage::Queued.as_str(),
            Self::StaticPass => ScanStage::StaticPass.as_str(),
            Self::BrowserPass => ScanStage::BrowserPass.as_str(),
            Self::Storing => ScanStage::Storing.as_str(),
            Self::Done => ScanStage::Done.as_str(),
            Self::Failed => ScanStage::Failed.as_str(),
        }
    }
}

/// A new job, ready for either queue: its id (sorts like the creation time,
/// unique by its random part), creation time and JSON.
pub(crate) struct NewJob {
    pub id: String,
    pub created_ms: u64,
    pub raw: String,
}

impl NewJob {
    /// The job for `spec`; [`QueueError::TooLarge`] beyond what workers take.
    pub(crate) fn new(site: &SiteId, spec: JobSpec) -> Result<Self, QueueError> {
        let created_ms = now_ms();
        let id = format!("{created_ms:015}-{}", random_hex(6));
        let job = ScanJob {
            id: id.clone(),
            site: Some(site.as_str().to_owned()),
            url: spec.url.to_string(),
            max_pages: spec.max_pages,
            depth: spec.depth,
            browser_pages: spec.browser_pages,
            declared: Some(spec.declared),
        };
        let raw = serde_json::to_string(&job).expect("a scan job serialises");
        if raw.len() > MAX_JOB_BYTES {
            return Err(QueueError::TooLarge(raw.len()));
        }
        Ok(Self { id, created_ms, raw })
    }
}

/// The scan id a job's report is stored under, the same on every attempt so
/// a retry cannot store a second copy.
pub(crate) fn scan_id_for(job_id: &str, time_ms: u64) -> String {
    let digest = hex::encode(&Sha256::digest(job_id.as_bytes())[..6]);
    consent_core::store::ScanMeta::new_id(time_ms, &digest)
}

/// `reason`, cut to [`MAX_ERROR`] bytes on a character boundary.
pub(crate) fn bounded_reason(mut reason: String) -> String {
    if reason.len() > MAX_ERROR {
        let mut end = MAX_ERROR;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

/// Why a worker's report cannot be stored, naming the field at fault.
pub(crate) fn invalid_report(e: crate::service::Error) -> String {
    match e {
        crate::service::Error::Invalid { field, message } if !field.is_empty() => {
            format!("the worker's report is invalid ({field}): {message}")
        }
        crate::service::Error::Invalid { message, .. } => format!("the worker's report is invalid: {message}"),
        e => format!("the worker's report is invalid: {e}"),
    }
}

/// Whether `id` can be a job id (anything else is simply not found).
pub(crate) fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    hex::encode(b)
}

pub(crate) fn now_ms() -> u64 {
    crate::clock::now_ms()
}

/// The server's queue: in Redis or in the embedded storage. Cheap to clone.
#[derive(Clone)]
pub enum ScanQueue {
    Redis(RedisQueue),
    Embedded(EmbeddedQueue),
}

impl ScanQueue {
    /// `redis` or `embedded`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Redis(_) => "redis",
            Self::Embedded(_) => "embedded",
        }
    }

    /// This instance's name (its collector's in Redis, its workers' prefix
    /// in the embedded queue).
    pub fn instance(&self) -> &str {
        match self {
            Self::Redis(q) => q.instance(),
            Self::Embedded(q) => q.instance(),
        }
    }

    /// Queues a scan of `site` unless `max_waiting` of its jobs wait for a
    /// worker already ([`QueueError::TooManyJobs`]); the check and the
    /// queueing are one atomic step on both backends.
    pub async fn enqueue(&self, site: &SiteId, spec: JobSpec, max_waiting: usize) -> Result<JobInfo, QueueError> {
        self.enqueue_as(site, spec, max_waiting, false).await
    }

    /// [`enqueue`](Self::enqueue), `scheduled` when the site's schedule
    /// asks (its report is then compared with the previous scan).
    pub async fn enqueue_as(
        &self,
        site: &SiteId,
        spec: JobSpec,
        max_waiting: usize,
        scheduled: bool,
    ) -> Result<JobInfo, QueueError> {
        match self {
            Self::Redis(q) => q.enqueue_as(site, spec, max_waiting, scheduled).await,
            Self::Embedded(q) => q.enqueue_as(site, spec, max_waiting, scheduled).await,
        }
    }

    /// A job of `site`; `None` when unknown, expired or another site's.
    pub async fn job(&self, site: &SiteId, id: &str) -> Result<Option<JobInfo>, QueueError> {
        if !plausible_id(id) {
            return Ok(None);
        }
        match self {
            Self::Redis(q) => q.job(site, id).await,
            Self::Embedded(q) => q.job(site, id).await,
        }
    }

    /// A site's most recent jobs, newest first.
    pub async fn jobs(&self, site: &SiteId, limit: usize) -> Result<Vec<JobInfo>, QueueError> {
        match self {
            Self::Redis(q) => q.jobs(site, limit).await,
            Self::Embedded(q) => q.jobs(site, limit).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_origins_may_be_scanned() {
        let allowed = vec!["https://shop.example.nl".to_owned(), "http://127.0.0.1:8080".to_owned()];
        assert_eq!(check_url(None, &allowed).unwrap().as_str(), "https://shop.example.nl/");
        assert_eq!(
            check_url(Some("https://SHOP.example.nl:443/a?b#c"), &allowed)
                .unwrap()
                .as_str(),
            "https://shop.example.nl/a?b"
        );
        assert!(check_url(Some("http://127.0.0.1:8080/x"), &allowed).is_ok());
        for bad in [
            "http://shop.example.nl/",
            "https://evil.example/",
            "http://127.0.0.1:6379/",
            "http://169.254.169.254/latest/meta-data",
            "https://user:pw@shop.example.nl/",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(check_url(Some(bad), &allowed).is_err(), "{bad}");
        }
        assert!(check_url(None, &[]).is_err());
    }
}
