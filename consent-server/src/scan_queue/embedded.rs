//! The scan queue in the embedded storage (SQLite, no Redis): the server's
//! own workers ([`crate::scan_worker`]) lease jobs from it.
//!
//! A worker leases a job for [`EmbeddedQueue::lease`] and renews the lease
//! (with its progress) while it scans. A server killed mid-scan renews
//! nothing: once the lease runs out, the next worker that asks (after the
//! restart) leases the job again, at most [`MAX_ATTEMPTS`] times in all. The
//! report is stored and the job marked done in one transaction, only while
//! the lease holds, so a retried job is stored exactly once
//! (`storage/sqlite/scan_jobs.rs`).

use std::sync::Arc;
use std::time::Duration;

use consent_core::SiteId;
use consent_core::scan_job::ScanStage;
use consent_core::store::StoreError;

use super::schedule::{Alert, Every, MAX_ALERTS, Schedule};
use super::{
    JOB_TTL_MS, JobInfo, JobSpec, JobStage, JobStatus, MAX_ATTEMPTS, NewJob, QueueError, SITE_JOBS_KEPT, now_ms,
    random_hex,
};
use crate::storage::sqlite::{Finish, Lease, NewScanJob, QueueLimits, ScanAlertRow, ScanJobRow, SqliteStore};

/// A lease lasts this long unless renewed ([`consent_core::scan_job::HEARTBEAT_TTL_SECS`],
/// as a Redis worker's heartbeat).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(consent_core::scan_job::HEARTBEAT_TTL_SECS);

/// The queue over one embedded store. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedQueue {
    store: SqliteStore,
    instance: Arc<str>,
    lease: Duration,
    /// Wakes idle workers when a job is queued.
    queued: Arc<tokio::sync::Notify>,
}

/// A job a worker holds.
#[derive(Clone, Debug)]
pub struct LeasedJob {
    pub id: String,
    pub site: String,
    /// The job's JSON (`consent_core::scan_job::ScanJob`).
    pub job: String,
    pub lease: Lease,
    /// Queued by the site's schedule (its report may raise an alert).
    pub scheduled: bool,
}

impl EmbeddedQueue {
    /// The queue in `store`; leases last `lease` (renewed every third of it).
    pub fn new(store: SqliteStore, lease: Duration) -> Self {
        Self {
            store,
            instance: format!("srv-{}", random_hex(6)).into(),
            lease: lease.max(Duration::from_secs(1)),
            queued: Arc::default(),
        }
    }

    /// This server's name; its workers are `<instance>-<n>`.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// How long a lease lasts.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Queues a scan (see [`ScanQueue::enqueue_as`](super::ScanQueue::enqueue_as)).
    pub async fn enqueue_as(
        &self,
        site: &SiteId,
        spec: JobSpec,
        max_waiting: usize,
        scheduled: bool,
    ) -> Result<JobInfo, QueueError> {
        let url = spec.url.to_string();
        let NewJob { id, created_ms, raw } = NewJob::new(site, spec)?;
        let row = NewScanJob {
            id: id.clone(),
            site: site.as_str().to_owned(),
            url: url.clone(),
            created_ms,
            job: raw,
            scheduled,
        };
        let limits = QueueLimits {
            max_waiting,
            kept: SITE_JOBS_KEPT,
            forget_before_ms: created_ms.saturating_sub(JOB_TTL_MS),
        };
        match self.store.queue_scan_job(row, limits).await.map_err(storage)? {
            Err(waiting) => Err(QueueError::TooManyJobs { waiting }),
            Ok(()) => {
                self.queued.notify_waiters();
                Ok(JobInfo::queued(id, site, url, created_ms, scheduled))
            }
        }
    }

    pub async fn job(&self, site: &SiteId, id: &str) -> Result<Option<JobInfo>, QueueError> {
        let row = self.store.scan_job(site.as_str(), id).await.map_err(storage)?;
        Ok(row.map(info))
    }

    pub async fn jobs(&self, site: &SiteId, limit: usize) -> Result<Vec<JobInfo>, QueueError> {
        let rows = self.store.scan_jobs(site.as_str(), limit).await.map_err(storage)?;
        Ok(rows.into_iter().map(info).collect())
    }

    /// Leases the next job to `worker`, if there is one.
    pub async fn next(&self, worker: &str) -> Result<Option<LeasedJob>, QueueError> {
        let now = now_ms();
        if !self.store.scan_job_waiting(now).await.map_err(storage)? {
            return Ok(None);
        }
        let lease_ms = self.lease.as_millis() as u64;
        let row = self
            .store
            .lease_scan_job(worker, now, lease_ms, MAX_ATTEMPTS as u64)
            .await
            .map_err(storage)?;
        Ok(row.map(|r| LeasedJob {
            lease: Lease {
                worker: worker.to_owned(),
                attempt: r.attempts,
            },
            id: r.id,
            site: r.site,
            job: r.job,
            scheduled: r.scheduled,
        }))
    }

    /// Waits until a job is queued or `at_most` passed (leases that run out
    /// wake nobody, so idle workers also look now and then).
    pub async fn wait(&self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.queued.notified()).await;
    }

    /// Renews the lease and records the progress; `false` once the lease is
    /// lost (the worker must stop: another one has the job).
    pub async fn renew(
        &self,
        job: &LeasedJob,
        stage: ScanStage,
        pages_done: u64,
        pages_total: u64,
        note: Option<String>,
    ) -> Result<bool, QueueError> {
        let until = now_ms() + self.lease.as_millis() as u64;
        self.store
            .renew_scan_job(
                &job.id,
                &job.lease,
                until,
                stage.as_str(),
                pages_done,
                pages_total,
                note,
            )
            .await
            .map_err(storage)
    }

    /// Ends the job; `false` if the lease was lost and nothing was written.
    pub async fn finish(&self, job: &LeasedJob, finish: Finish) -> Result<bool, QueueError> {
        self.store
            .finish_scan_job(&job.id, &job.lease, finish, now_ms())
            .await
            .map_err(storage)
    }
}

impl EmbeddedQueue {
    /// The store the queue lives in.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    pub(super) async fn set_schedule(
        &self,
        site: &SiteId,
        every: Every,
        next_ms: Option<u64>,
    ) -> Result<(), QueueError> {
        let row = next_ms.map(|n| (every.as_str().to_owned(), n));
        self.store.set_scan_schedule(site.as_str(), row).await.map_err(storage)
    }

    pub(super) async fn schedule(&self, site: &SiteId) -> Result<Schedule, QueueError> {
        let row = self.store.scan_schedule(site.as_str()).await.map_err(storage)?;
        Ok(match row.and_then(|(e, n)| Every::parse(&e).map(|e| (e, n))) {
            Some((every, next)) => Schedule {
                every,
                next_ms: Some(next),
            },
            None => Schedule::OFF,
        })
    }

    pub(super) async fn claim_due(&self, now_ms: u64, limit: usize) -> Result<Vec<String>, QueueError> {
        let due = self
            .store
            .claim_due_scan_schedules(now_ms, limit, Every::period_of)
            .await
            .map_err(storage)?;
        Ok(due.into_iter().map(|(site, _)| site).collect())
    }

    /// Keeps `alert` for `site` until dismissed.
    pub async fn save_alert(&self, site: &SiteId, alert: &Alert) -> Result<(), QueueError> {
        let row = ScanAlertRow {
            scan_id: alert.scan_id.clone(),
            created_ms: alert.created_ms,
            body: serde_json::to_string(alert).expect("an alert serialises"),
        };
        self.store
            .save_scan_alert(site.as_str(), row, MAX_ALERTS)
            .await
            .map_err(storage)
    }

    pub(super) async fn alerts(&self, site: &SiteId) -> Result<Vec<String>, QueueError> {
        let rows = self.store.scan_alerts(site.as_str()).await.map_err(storage)?;
        Ok(rows.into_iter().map(|r| r.body).collect())
    }

    pub(super) async fn dismiss_alert(&self, site: &SiteId, scan_id: &str) -> Result<bool, QueueError> {
        self.store
            .dismiss_scan_alert(site.as_str(), scan_id)
            .await
            .map_err(storage)
    }
}

fn storage(e: StoreError) -> QueueError {
    QueueError::Storage(e)
}

fn info(r: ScanJobRow) -> JobInfo {
    let status = match r.status.as_str() {
        "running" => JobStatus::Running,
        "done" => JobStatus::Done,
        "failed" => JobStatus::Failed,
        _ => JobStatus::Queued,
    };
    let stage = ScanStage::parse(&r.stage).map_or(JobStage::Queued, JobStage::from);
    JobInfo {
        id: r.id,
        site: r.site,
        url: r.url,
        created_ms: r.created_ms,
        status,
        stage,
        pages_done: r.pages_done,
        pages_total: r.pages_total,
        attempts: r.attempts,
        scheduled: r.scheduled,
        note: r.note,
        scan_id: r.scan_id.filter(|_| status == JobStatus::Done),
        error: r.error,
        finished_ms: r.finished_ms,
    }
}
