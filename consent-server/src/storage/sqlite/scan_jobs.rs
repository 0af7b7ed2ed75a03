//! The embedded scan queue's rows (table `scan_jobs`, schema version 6): the
//! queue itself when the server runs without Redis
//! (`crate::scan_queue::embedded`), and the sites' scan schedules and
//! new-finding alerts.
//!
//! A job is `queued`, then `running` under a lease (the worker's name, its
//! attempt number and `lease_until_ms`), then `done` or `failed`. Every
//! change goes through the single writer, so counting a site's waiting jobs
//! and queueing one, or finding a job and leasing it, are each one step. A
//! worker renews its lease while it scans; a job whose lease ran out (its
//! server died mid-scan) is leased again by the next worker that asks, and
//! fails for good once workers died on it `max_attempts` times. Storing
//! the report and marking the job done are one transaction, taken only
//! while the lease still holds: a report is stored exactly once.

use consent_core::store::{ScanMeta, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, sql};
use crate::storage::to_json;

/// The tables, created with the schema (`CREATE … IF NOT EXISTS`, so also
/// on a database migrated from before version 6).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scan_jobs (
    -- Sorts like the creation time (see scan_queue::NewJob).
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    url TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    -- The consent_core::scan_job::ScanJob JSON the worker runs.
    job TEXT NOT NULL,
    status TEXT NOT NULL,
    stage TEXT NOT NULL,
    pages_done INTEGER NOT NULL DEFAULT 0,
    pages_total INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until_ms INTEGER,
    scan_id TEXT,
    error TEXT,
    note TEXT,
    finished_ms INTEGER,
    scheduled INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scan_jobs_by_site ON scan_jobs(site, id);
CREATE INDEX IF NOT EXISTS scan_jobs_by_status ON scan_jobs(status, id);
CREATE TABLE IF NOT EXISTS scan_schedules (
    site TEXT PRIMARY KEY,
    -- `daily` or `weekly`; no row: off.
    every TEXT NOT NULL,
    next_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scan_alerts (
    site TEXT NOT NULL,
    scan_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    -- The new findings' fingerprints and titles, JSON.
    body TEXT NOT NULL,
    PRIMARY KEY (site, scan_id)
) WITHOUT ROWID;
";

/// Version 6 brings the embedded scan queue, schedules and alerts (new
/// tables only, created with the schema).
pub(super) const MIGRATE_5_TO_6: &str = "
BEGIN IMMEDIATE;
PRAGMA user_version = 6;
COMMIT;
";

/// One job as stored.
#[derive(Clone, Debug)]
pub struct ScanJobRow {
    pub id: String,
    pub site: String,
    pub url: String,
    pub created_ms: u64,
    /// The job's JSON (`consent_core::scan_job::ScanJob`).
    pub job: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// A `consent_core::scan_job::ScanStage` name.
    pub stage: String,
    pub pages_done: u64,
    pub pages_total: u64,
    /// Times a worker leased the job.
    pub attempts: u64,
    /// The worker holding (or last holding) the lease.
    pub worker: Option<String>,
    pub scan_id: Option<String>,
    pub error: Option<String>,
    pub note: Option<String>,
    pub finished_ms: Option<u64>,
    /// Queued by the site's schedule rather than by a person.
    pub scheduled: bool,
}

/// A new job to queue.
#[derive(Clone, Debug)]
pub struct NewScanJob {
    pub id: String,
    pub site: String,
    pub url: String,
    pub created_ms: u64,
    pub job: String,
    pub scheduled: bool,
}

/// The lease a worker holds on a running job: only its holder may report
/// progress or finish the job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub worker: String,
    pub attempt: u64,
}

/// How a leased job ended.
#[derive(Clone, Debug)]
pub enum Finish {
    /// The report to store under `meta` (whose id is fixed per job).
    Stored {
        meta: ScanMeta,
        report: Vec<u8>,
        note: Option<String>,
    },
    Failed {
        reason: String,
        note: Option<String>,
    },
}

/// Limits [`SqliteStore::queue_scan_job`] keeps.
#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    /// A site's waiting jobs at most.
    pub max_waiting: usize,
    /// Finished jobs a site's listing keeps.
    pub kept: usize,
    /// Finished jobs created before this (Unix ms) are forgotten.
    pub forget_before_ms: u64,
}

const COLUMNS: &str = "id, site, url, created_ms, job, status, stage, pages_done, pages_total, attempts, worker, \
     scan_id, error, note, finished_ms, scheduled";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScanJobRow> {
    Ok(ScanJobRow {
        id: r.get(0)?,
        site: r.get(1)?,
        url: r.get(2)?,
        created_ms: r.get::<_, i64>(3)? as u64,
        job: r.get(4)?,
        status: r.get(5)?,
        stage: r.get(6)?,
        pages_done: r.get::<_, i64>(7)? as u64,
        pages_total: r.get::<_, i64>(8)? as u64,
        attempts: r.get::<_, i64>(9)? as u64,
        worker: r.get(10)?,
        scan_id: r.get(11)?,
        error: r.get(12)?,
        note: r.get(13)?,
        finished_ms: r.get::<_, Option<i64>>(14)?.map(|v| v as u64),
        scheduled: r.get(15)?,
    })
}

fn job_by_id(c: &Connection, id: &str) -> Result<Option<ScanJobRow>, StoreError> {
    sql(c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM scan_jobs WHERE id = ?1"))
        .and_then(|mut s| s.query_row(params![id], row).optional()))
}

fn holds(c: &Connection, id: &str, lease: &Lease) -> Result<bool, StoreError> {
    sql(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM scan_jobs WHERE id = ?1 AND status = 'running' AND worker = ?2 AND attempts = ?3)",
        params![id, lease.worker, lease.attempt as i64],
        |r| r.get(0),
    ))
}

impl SqliteStore {
    /// Queues `job` unless `limits.max_waiting` of its site's jobs wait
    /// already: `Ok(Err(waiting))` then. Forgets the site's old finished
    /// jobs on the way, so the table stays bounded.
    pub async fn queue_scan_job(&self, job: NewScanJob, limits: QueueLimits) -> Result<Result<(), usize>, StoreError> {
        self.write(move |w| {
            w.atomic(|c| {
                let waiting: i64 = sql(c.query_row(
                    "SELECT COUNT(*) FROM scan_jobs WHERE site = ?1 AND status = 'queued'",
                    params![job.site],
                    |r| r.get(0),
                ))?;
                if waiting as usize >= limits.max_waiting {
                    return Ok(Err(waiting as usize));
                }
                sql(c.execute(
                    "INSERT INTO scan_jobs (id, site, url, created_ms, job, status, stage, scheduled)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 'queued', ?6)",
                    params![job.id, job.site, job.url, job.created_ms as i64, job.job, job.scheduled],
                ))?;
                sql(c.execute(
                    "DELETE FROM scan_jobs WHERE site = ?1 AND status IN ('done', 'failed')
                     AND (created_ms < ?2 OR id NOT IN
                         (SELECT id FROM scan_jobs WHERE site = ?1 ORDER BY id DESC LIMIT ?3))",
                    params![job.site, limits.forget_before_ms as i64, limits.kept as i64],
                ))?;
                Ok(Ok(()))
            })
        })
        .await
    }

    /// The job `id` of `site`, if any.
    pub async fn scan_job(&self, site: &str, id: &str) -> Result<Option<ScanJobRow>, StoreError> {
        let (site, id) = (site.to_owned(), id.to_owned());
        self.read(move |c| Ok(job_by_id(c, &id)?.filter(|j| j.site == site)))
            .await
    }

    /// A site's most recent jobs, newest first.
    pub async fn scan_jobs(&self, site: &str, limit: usize) -> Result<Vec<ScanJobRow>, StoreError> {
        let site = site.to_owned();
        self.read(move |c| {
            let mut s = sql(c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM scan_jobs WHERE site = ?1 ORDER BY id DESC LIMIT ?2"
            )))?;
            let rows = sql(s.query_map(params![site, limit.max(1) as i64], row))?;
            rows.map(sql).collect()
        })
        .await
    }

    /// Whether a worker asking at `now_ms` would find a job (a read, so
    /// idle workers do not write).
    pub async fn scan_job_waiting(&self, now_ms: u64) -> Result<bool, StoreError> {
        self.read(move |c| {
            sql(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM scan_jobs WHERE status = 'queued')
                     OR EXISTS (SELECT 1 FROM scan_jobs WHERE status = 'running' AND lease_until_ms < ?1)",
                params![now_ms as i64],
                |r| r.get(0),
            ))
        })
        .await
    }

    /// Leases the next job to `worker` until `now_ms + lease_ms`: first one
    /// whose lease ran out (its worker died), else the oldest queued one.
    /// A job whose workers died `max_attempts` times fails instead. The
    /// returned row's `attempts` is this lease's attempt number.
    pub async fn lease_scan_job(
        &self,
        worker: &str,
        now_ms: u64,
        lease_ms: u64,
        max_attempts: u64,
    ) -> Result<Option<ScanJobRow>, StoreError> {
        let worker = worker.to_owned();
        self.write(move |w| {
            w.atomic(|c| {
                let now = now_ms as i64;
                sql(c.execute(
                    "UPDATE scan_jobs SET status = 'failed', stage = 'failed', finished_ms = ?1, lease_until_ms = NULL,
                         error = 'a scan worker stopped while running this job ' || attempts || ' times'
                     WHERE status = 'running' AND lease_until_ms < ?1 AND attempts >= ?2",
                    params![now, max_attempts as i64],
                ))?;
                let expired: Option<String> = sql(c
                    .query_row(
                        "SELECT id FROM scan_jobs WHERE status = 'running' AND lease_until_ms < ?1 ORDER BY id LIMIT 1",
                        params![now],
                        |r| r.get(0),
                    )
                    .optional())?;
                let id = match expired {
                    Some(id) => {
                        tracing::warn!(job = %id, "scan worker died mid-scan; job taken again");
                        Some(id)
                    }
                    None => sql(c
                        .query_row(
                            "SELECT id FROM scan_jobs WHERE status = 'queued' ORDER BY id LIMIT 1",
                            [],
                            |r| r.get(0),
                        )
                        .optional())?,
                };
                let Some(id) = id else { return Ok(None) };
                sql(c.execute(
                    "UPDATE scan_jobs SET status = 'running', stage = 'static_pass', pages_done = 0, pages_total = 0,
                         attempts = attempts + 1, worker = ?2, lease_until_ms = ?3
                     WHERE id = ?1",
                    params![id, worker, now + lease_ms as i64],
                ))?;
                job_by_id(c, &id)
            })
        })
        .await
    }

    /// Renews `lease` until `lease_until_ms` and records the progress;
    /// `false` if the lease is no longer held (it ran out and another worker
    /// took the job, or the job ended).
    #[allow(clippy::too_many_arguments)]
    pub async fn renew_scan_job(
        &self,
        id: &str,
        lease: &Lease,
        lease_until_ms: u64,
        stage: &str,
        pages_done: u64,
        pages_total: u64,
        note: Option<String>,
    ) -> Result<bool, StoreError> {
        let (id, lease, stage) = (id.to_owned(), lease.clone(), stage.to_owned());
        self.write(move |w| {
            let n = sql(w.conn.execute(
                "UPDATE scan_jobs SET lease_until_ms = ?4, stage = ?5, pages_done = ?6, pages_total = ?7,
                     note = COALESCE(?8, note)
                 WHERE id = ?1 AND status = 'running' AND worker = ?2 AND attempts = ?3",
                params![
                    id,
                    lease.worker,
                    lease.attempt as i64,
                    lease_until_ms as i64,
                    stage,
                    pages_done as i64,
                    pages_total as i64,
                    note
                ],
            ))?;
            Ok(n == 1)
        })
        .await
    }

    /// Ends a leased job: stores the report and marks the job done in one
    /// transaction, or marks it failed. `false` (and nothing written) if
    /// `lease` is no longer held.
    pub async fn finish_scan_job(
        &self,
        id: &str,
        lease: &Lease,
        finish: Finish,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let (id, lease) = (id.to_owned(), lease.clone());
        self.write(move |w| {
            w.atomic(|c| {
                if !holds(c, &id, &lease)? {
                    return Ok(false);
                }
                match finish {
                    Finish::Stored { meta, report, note } => {
                        // The lease check above makes this the only attempt
                        // that stores; OR IGNORE keeps a replay harmless.
                        sql(c.execute(
                            "INSERT OR IGNORE INTO scans (site, id, meta, report) VALUES (?1, ?2, ?3, ?4)",
                            params![meta.site.as_str(), meta.id, to_json(&meta), report],
                        ))?;
                        sql(c.execute(
                            "UPDATE scan_jobs SET status = 'done', stage = 'done', scan_id = ?2, finished_ms = ?3,
                                 lease_until_ms = NULL, note = COALESCE(?4, note)
                             WHERE id = ?1",
                            params![id, meta.id, now_ms as i64, note],
                        ))?;
                    }
                    Finish::Failed { reason, note } => {
                        sql(c.execute(
                            "UPDATE scan_jobs SET status = 'failed', stage = 'failed', error = ?2, finished_ms = ?3,
                                 lease_until_ms = NULL, note = COALESCE(?4, note)
                             WHERE id = ?1",
                            params![id, reason, now_ms as i64, note],
                        ))?;
                    }
                }
                Ok(true)
            })
        })
        .await
    }
}

/// An alert as stored: the scan that raised it and its body (JSON).
#[derive(Clone, Debug)]
pub struct ScanAlertRow {
    pub scan_id: String,
    pub created_ms: u64,
    pub body: String,
}

impl SqliteStore {
    /// Sets a site's schedule (`every`: `daily`/`weekly`, first due at
    /// `next_ms`), or switches it off (`None`).
    pub async fn set_scan_schedule(&self, site: &str, every: Option<(String, u64)>) -> Result<(), StoreError> {
        let site = site.to_owned();
        self.write(move |w| {
            match every {
                Some((every, next_ms)) => sql(w.conn.execute(
                    "INSERT INTO scan_schedules (site, every, next_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (site) DO UPDATE SET every = excluded.every, next_ms = excluded.next_ms",
                    params![site, every, next_ms as i64],
                ))?,
                None => sql(w
                    .conn
                    .execute("DELETE FROM scan_schedules WHERE site = ?1", params![site]))?,
            };
            Ok(())
        })
        .await
    }

    /// A site's schedule: (`every`, next due time), if it has one.
    pub async fn scan_schedule(&self, site: &str) -> Result<Option<(String, u64)>, StoreError> {
        let site = site.to_owned();
        self.read(move |c| {
            sql(c
                .query_row(
                    "SELECT every, next_ms FROM scan_schedules WHERE site = ?1",
                    params![site],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)),
                )
                .optional())
        })
        .await
    }

    /// The schedules due at `now_ms` (at most `limit`), each moved on to
    /// its next time by `period_ms(every)` in the same step, so a due scan
    /// is handed out once.
    pub async fn claim_due_scan_schedules(
        &self,
        now_ms: u64,
        limit: usize,
        period_ms: fn(&str) -> Option<u64>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.write(move |w| {
            w.atomic(|c| {
                let due: Vec<(String, String)> = {
                    let mut s = sql(c.prepare_cached(
                        "SELECT site, every FROM scan_schedules WHERE next_ms <= ?1 ORDER BY next_ms LIMIT ?2",
                    ))?;
                    let rows = sql(s.query_map(params![now_ms as i64, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))))?;
                    rows.map(sql).collect::<Result<_, _>>()?
                };
                for (site, every) in &due {
                    match period_ms(every) {
                        Some(p) => sql(c.execute(
                            "UPDATE scan_schedules SET next_ms = ?2 WHERE site = ?1",
                            params![site, (now_ms + p) as i64],
                        ))?,
                        None => sql(c.execute("DELETE FROM scan_schedules WHERE site = ?1", params![site]))?,
                    };
                }
                Ok(due)
            })
        })
        .await
    }

    /// Keeps an alert (one per scan; a second one for the same scan is
    /// ignored), and at most `kept` per site (the newest).
    pub async fn save_scan_alert(&self, site: &str, alert: ScanAlertRow, kept: usize) -> Result<(), StoreError> {
        let site = site.to_owned();
        self.write(move |w| {
            w.atomic(|c| {
                sql(c.execute(
                    "INSERT OR IGNORE INTO scan_alerts (site, scan_id, created_ms, body) VALUES (?1, ?2, ?3, ?4)",
                    params![site, alert.scan_id, alert.created_ms as i64, alert.body],
                ))?;
                sql(c.execute(
                    "DELETE FROM scan_alerts WHERE site = ?1 AND scan_id NOT IN
                         (SELECT scan_id FROM scan_alerts WHERE site = ?1 ORDER BY scan_id DESC LIMIT ?2)",
                    params![site, kept as i64],
                ))?;
                Ok(())
            })
        })
        .await
    }

    /// A site's alerts, newest first.
    pub async fn scan_alerts(&self, site: &str) -> Result<Vec<ScanAlertRow>, StoreError> {
        let site = site.to_owned();
        self.read(move |c| {
            let mut s = sql(c.prepare_cached(
                "SELECT scan_id, created_ms, body FROM scan_alerts WHERE site = ?1 ORDER BY scan_id DESC",
            ))?;
            let rows = sql(s.query_map(params![site], |r| {
                Ok(ScanAlertRow {
                    scan_id: r.get(0)?,
                    created_ms: r.get::<_, i64>(1)? as u64,
                    body: r.get(2)?,
                })
            }))?;
            rows.map(sql).collect()
        })
        .await
    }

    /// Dismisses (deletes) an alert; whether there was one.
    pub async fn dismiss_scan_alert(&self, site: &str, scan_id: &str) -> Result<bool, StoreError> {
        let (site, scan_id) = (site.to_owned(), scan_id.to_owned());
        self.write(move |w| {
            let n = sql(w.conn.execute(
                "DELETE FROM scan_alerts WHERE site = ?1 AND scan_id = ?2",
                params![site, scan_id],
            ))?;
            Ok(n > 0)
        })
        .await
    }
}
