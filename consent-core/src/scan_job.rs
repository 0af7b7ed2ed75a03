//! The scan queue's contract, compiled by both of its sides: the consent
//! server (which queues jobs and collects results) and the scanner's workers
//! (which take jobs and write results). Both sides meet in Redis, so the
//! keys and the job's shape are defined here once.
//!
//! - Producers `LPUSH` a [`ScanJob`] as JSON (at most [`MAX_JOB_BYTES`]) on
//!   [`JOBS`].
//! - A worker moves a job atomically to its [`processing_key`]
//!   (`BLMOVE … RIGHT LEFT`), scans, writes [`result_key`] (the JSON report,
//!   or `{"id", "error"}`; kept [`RESULT_TTL_SECS`]), `LPUSH`es the id on
//!   [`DONE`] (trimmed to [`DONE_KEPT`]) and removes the job from its
//!   processing list. While it runs it keeps a heartbeat at
//!   [`worker_alive_key`] ([`HEARTBEAT_TTL_SECS`], renewed every
//!   [`HEARTBEAT_EVERY_SECS`]) and is a member of [`WORKERS`]; jobs left in
//!   the processing list of a member whose heartbeat expired belong to a
//!   worker that died, and the server queues them again.
//! - The server consumes [`DONE`]: each instance moves ids atomically into
//!   its own [`collecting_key`] list, stores the report, and only then
//!   removes the id, so every result is stored exactly once. Instances are
//!   members of [`COLLECTORS`] with a heartbeat at [`collector_alive_key`].
//! - The server's own records: [`job_key`] (a hash per job) and
//!   [`site_jobs_key`] (a site's jobs by creation time).
//! - While it scans, a worker reports where it is in [`progress_key`] (a
//!   hash: `stage` as [`ScanStage::as_str`], `done` and `total` pages of
//!   that stage, and `note`), kept [`RESULT_TTL_SECS`]; the server shows it.
//!
//! The server's embedded queue (SQLite, no Redis) keeps the same job, the
//! same stages and the same limits in a table instead of these keys.

use serde::{Deserialize, Serialize};

use crate::config::SiteConfig;

/// Jobs waiting for a worker (a list).
pub const JOBS: &str = "keurmerk:scan:jobs";
/// Ids of finished jobs, newest first (a list).
pub const DONE: &str = "keurmerk:scan:done";
/// How many finished ids [`DONE`] keeps.
pub const DONE_KEPT: isize = 10_000;
/// Workers with a heartbeat (a set).
pub const WORKERS: &str = "keurmerk:scan:workers";
/// Server instances collecting results (a set).
pub const COLLECTORS: &str = "keurmerk:scan:collectors";
/// Workers take jobs of at most this many bytes.
pub const MAX_JOB_BYTES: usize = 256 * 1024;
/// How long a result waits to be collected.
pub const RESULT_TTL_SECS: u64 = 7 * 24 * 3600;
/// A heartbeat older than this means its worker or collector died.
pub const HEARTBEAT_TTL_SECS: u64 = 30;
/// How often heartbeats are renewed.
pub const HEARTBEAT_EVERY_SECS: u64 = 10;

/// The job a worker is running.
pub fn processing_key(worker: &str) -> String {
    format!("keurmerk:scan:processing:{worker}")
}

/// A worker's heartbeat.
pub fn worker_alive_key(worker: &str) -> String {
    format!("keurmerk:scan:worker:{worker}")
}

/// A job's result, written by the worker.
pub fn result_key(id: &str) -> String {
    format!("keurmerk:scan:result:{id}")
}

/// The server's record of a job.
pub fn job_key(id: &str) -> String {
    format!("keurmerk:scan:job:{id}")
}

/// A site's jobs, by creation time.
pub fn site_jobs_key(site: &str) -> String {
    format!("keurmerk:scan:site-jobs:{site}")
}

/// The ids a server instance is storing right now.
pub fn collecting_key(instance: &str) -> String {
    format!("keurmerk:scan:collecting:{instance}")
}

/// A server instance's heartbeat as a collector.
pub fn collector_alive_key(instance: &str) -> String {
    format!("keurmerk:scan:collector:{instance}")
}

/// The stages of a running scan, the progress a worker reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanStage {
    /// Waiting for a worker.
    Queued,
    /// The static pass (HTTP crawl).
    StaticPass,
    /// The browser pass (headless Chromium).
    BrowserPass,
    /// The report is being stored.
    Storing,
    /// Stored.
    Done,
    /// Ended without a report.
    Failed,
}

impl ScanStage {
    /// The name used in the progress hash, the API and the dashboard.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::StaticPass => "static_pass",
            Self::BrowserPass => "browser_pass",
            Self::Storing => "storing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// The stage named `s` ([`as_str`](Self::as_str)), if any.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::StaticPass,
            Self::BrowserPass,
            Self::Storing,
            Self::Done,
            Self::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// A running job's progress (see [`ScanStage`]).
pub fn progress_key(id: &str) -> String {
    format!("keurmerk:scan:progress:{id}")
}

/// One scan to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanJob {
    /// 1-64 characters of `a-z`, `A-Z`, `0-9`, `-`, `_`.
    pub id: String,
    /// Where the scan starts (http or https).
    pub url: String,
    /// The consent server's site id, for jobs the server queued; workers
    /// only pass it through (logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Pages the static pass fetches at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<usize>,
    /// Link depth from the start page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    /// Pages the browser pass visits (0: static pass only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_pages: Option<usize>,
    /// The site's published configuration, compared against what the scan finds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<SiteConfig>,
}

impl ScanJob {
    /// Whether the id has the shape every key above can carry.
    pub fn id_is_valid(id: &str) -> bool {
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_and_unknown_fields_are_refused() {
        let job = ScanJob {
            id: "0001-abc".into(),
            url: "https://shop.example.nl/".into(),
            site: Some("shop".into()),
            max_pages: Some(5),
            depth: None,
            browser_pages: Some(0),
            declared: None,
        };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<ScanJob>(&text).unwrap(), job);
        assert!(serde_json::from_str::<ScanJob>(r#"{"id":"a","url":"https://x/","extra":1}"#).is_err());
    }

    #[test]
    fn stages_round_trip_by_name() {
        for st in [
            ScanStage::Queued,
            ScanStage::StaticPass,
            ScanStage::BrowserPass,
            ScanStage::Storing,
            ScanStage::Done,
            ScanStage::Failed,
        ] {
            assert_eq!(ScanStage::parse(st.as_str()), Some(st));
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
        assert_eq!(ScanStage::parse("running"), None);
    }

    #[test]
    fn ids_are_checked() {
        assert!(ScanJob::id_is_valid("000001733-a1b2c3"));
        assert!(!ScanJob::id_is_valid(""));
        assert!(!ScanJob::id_is_valid("a:b"));
        assert!(!ScanJob::id_is_valid(&"x".repeat(65)));
    }
}
