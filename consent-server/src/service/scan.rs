//! Asking for a scan: the request is checked against the site (the URL must
//! be on one of its allowed origins, the limits in range), the site's
//! published configuration goes with the job as what was declared, and one
//! site may not fill the workers' queue for everyone else.

use consent_core::SiteId;
use consent_core::store::SiteStore;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Error, Services};
use crate::limits::Limited;
pub use crate::scan_queue::MAX_WAITING_JOBS;
use crate::scan_queue::schedule::{Alert, Every, Schedule};
use crate::scan_queue::{JobInfo, JobSpec, QueueError, ScanQueue, check_url};

/// The longest scanned URL a report's summary keeps.
const MAX_URL: usize = 2048;
const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// What to scan; everything optional.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ScanJobRequest {
    /// A URL on one of the site's allowed origins [default: the first allowed origin's root].
    pub url: Option<String>,
    /// Pages the static pass fetches at most, 1-1000 [default: the worker's].
    pub max_pages: Option<usize>,
    /// Link depth from the start page, 0-10 [default: the worker's].
    pub depth: Option<u32>,
    /// Pages the browser pass visits, 0-100 (0: static pass only) [default: the worker's].
    pub browser_pages: Option<usize>,
}

/// The server's scan queue (in Redis, or in the embedded storage), or why
/// there is none (only servers built without one, as some tests are).
pub fn queue(app: &Services) -> Result<&ScanQueue, Error> {
    app.scan_queue.as_ref().ok_or(Error::NotConfigured(
        "scan queue not configured: start the server with --redis or --scan-queue",
    ))
}

pub(crate) fn queue_error(e: QueueError) -> Error {
    match e {
        QueueError::TooLarge(_) => Error::invalid("declared", e.to_string()),
        QueueError::TooManyJobs { waiting } => Error::Limited(Limited::TooManyJobs { waiting }),
        e => {
            tracing::warn!(error = %e, "scan queue");
            Error::QueueUnavailable(e.to_string())
        }
    }
}

/// Checks a scan-job request against the site; the job to queue.
pub async fn job_spec(app: &Services, site: &SiteId, req: &ScanJobRequest) -> Result<JobSpec, Error> {
    let stored = app
        .store
        .site(site)
        .await?
        .ok_or_else(|| Error::NotFound("no such site".into()))?;
    let url = check_url(req.url.as_deref(), &stored.allowed_origins).map_err(|m| Error::invalid("url", m))?;
    if req.max_pages.is_some_and(|n| !(1..=1000).contains(&n)) {
        return Err(Error::invalid("max_pages", "between 1 and 1000"));
    }
    if req.depth.is_some_and(|d| d > 10) {
        return Err(Error::invalid("depth", "between 0 and 10"));
    }
    if req.browser_pages.is_some_and(|n| n > 100) {
        return Err(Error::invalid("browser_pages", "between 0 and 100"));
    }
    let declared = app
        .store
        .config(site, &stored.current_version)
        .await?
        .ok_or_else(|| Error::NotFound("the site's configuration is missing".into()))?;
    Ok(JobSpec {
        url,
        max_pages: req.max_pages,
        depth: req.depth,
        browser_pages: req.browser_pages,
        declared,
    })
}

/// Sites whose scheduled scan is due are looked for this often.
pub const SCHEDULE_TICK: std::time::Duration = std::time::Duration::from_secs(60);
/// Due schedules taken at most per look (the rest wait for the next one).
const DUE_AT_ONCE: usize = 100;

/// Queues the scheduled scans due at `now_ms` (the clock is a parameter so
/// tests can be a day later without waiting one); the sites queued. A site
/// whose scan cannot be queued now (its origins, its waiting jobs) is
/// skipped until its next period.
pub async fn enqueue_due(app: &Services, now_ms: u64) -> Result<Vec<SiteId>, Error> {
    let queue = queue(app)?;
    let due = queue.claim_due(now_ms, DUE_AT_ONCE).await.map_err(queue_error)?;
    let mut queued = Vec::with_capacity(due.len());
    for site in due {
        let spec = match job_spec(app, &site, &ScanJobRequest::default()).await {
            Ok(spec) => spec,
            Err(e) => {
                tracing::warn!(site = %site, error = %e, "scheduled scan skipped");
                continue;
            }
        };
        match queue.enqueue_as(&site, spec, MAX_WAITING_JOBS, true).await {
            Ok(_) => queued.push(site),
            Err(e) => tracing::warn!(site = %site, error = %e, "scheduled scan skipped"),
        }
    }
    Ok(queued)
}

/// Looks for due scheduled scans every [`SCHEDULE_TICK`] while the server runs.
pub fn spawn_scheduler(app: std::sync::Arc<Services>) {
    if app.scan_queue.is_none() {
        return;
    }
    // A weak reference: the loop ends with the server's state.
    let app = std::sync::Arc::downgrade(&app);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SCHEDULE_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(app) = app.upgrade() else { return };
            if let Err(e) = enqueue_due(&app, crate::clock::now_ms()).await {
                tracing::warn!(error = %e, "scheduled scans: retrying in a minute");
            }
        }
    });
}

/// A site's schedule, set from the API or the dashboard.
pub async fn set_schedule(app: &Services, site: &SiteId, every: Every) -> Result<Schedule, Error> {
    let queue = queue(app)?;
    existing(app, site).await?;
    queue
        .set_schedule(site, every, crate::clock::now_ms())
        .await
        .map_err(queue_error)
}

/// A site's schedule.
pub async fn schedule(app: &Services, site: &SiteId) -> Result<Schedule, Error> {
    queue(app)?.schedule(site).await.map_err(queue_error)
}

/// A site's alerts of new findings, newest first.
pub async fn alerts(app: &Services, site: &SiteId) -> Result<Vec<Alert>, Error> {
    queue(app)?.alerts(site).await.map_err(queue_error)
}

/// Dismisses a site's alert; [`Error::NotFound`] if it has none for that scan.
pub async fn dismiss_alert(app: &Services, site: &SiteId, scan_id: &str) -> Result<(), Error> {
    match queue(app)?.dismiss_alert(site, scan_id).await.map_err(queue_error)? {
        true => Ok(()),
        false => Err(Error::NotFound("no such alert".into())),
    }
}

async fn existing(app: &Services, site: &SiteId) -> Result<(), Error> {
    app.store
        .site(site)
        .await?
        .map(|_| ())
        .ok_or_else(|| Error::NotFound("no such site".into()))
}

/// Checks and queues a scan (the API's and the dashboard's way in).
pub async fn queue_job(app: &Services, site: &SiteId, req: &ScanJobRequest) -> Result<JobInfo, Error> {
    let queue = queue(app)?;
    let spec = job_spec(app, site, req).await?;
    queue.enqueue(site, spec, MAX_WAITING_JOBS).await.map_err(queue_error)
}

/// Checks the report's shape (a `keurmerk-scan-report` object with an integer
/// `schema_version`) and summarises it: the scanned URL and findings per
/// severity. Unknown fields are kept, never rejected (scanner/REPORT.md: consumers
/// ignore what they do not know).
pub fn summarise(body: &[u8]) -> Result<(String, std::collections::BTreeMap<String, u64>), Error> {
    let report: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Error::invalid("", format!("not JSON: {e}")))?;
    let obj = report
        .as_object()
        .ok_or_else(|| Error::invalid("", "the report must be a JSON object"))?;
    match obj.get("schema_version").and_then(serde_json::Value::as_u64) {
        Some(v) if v >= 1 => {}
        _ => return Err(Error::invalid("schema_version", "a positive integer is required")),
    }
    if let Some(s) = obj.get("schema")
        && s != "keurmerk-scan-report"
    {
        return Err(Error::invalid("schema", "expected `keurmerk-scan-report`"));
    }
    let mut url = obj.get("site").and_then(|s| s.as_str()).unwrap_or("").to_owned();
    if url.len() > MAX_URL {
        let mut end = MAX_URL;
        while !url.is_char_boundary(end) {
            end -= 1;
        }
        url.truncate(end);
    }
    let mut counts = std::collections::BTreeMap::new();
    // Counted from the findings themselves: the summary is a convenience
    // that a report could contradict.
    match obj.get("findings") {
        None => {}
        Some(serde_json::Value::Array(findings)) => {
            for (i, f) in findings.iter().enumerate() {
                let sev = f.get("severity").and_then(|s| s.as_str());
                match sev.filter(|s| SEVERITIES.contains(s)) {
                    Some(s) => *counts.entry(s.to_owned()).or_insert(0u64) += 1,
                    None => {
                        return Err(Error::invalid(
                            format!("findings/{i}/severity"),
                            "one of info, low, medium, high, critical",
                        ));
                    }
                }
            }
        }
        Some(_) => return Err(Error::invalid("findings", "an array")),
    }
    Ok((url, counts))
}
