//! The scan queue in Redis: scanner workers (`consent-scan worker`) take
//! the job from Redis, and a collector in every server instance stores the
//! finished reports.
//!
//! The keys and the job's shape are the contract in
//! [`consent_core::scan_job`], which the workers compile too. The server's
//! own records: `job:<id>` (a hash, 7 days) keeps site, url, created_ms,
//! the job JSON (`raw`) and once collected `status` (`done`/`failed`),
//! `scan_id`, `error`, `finished_ms`; `site-jobs:<site>` lists a site's
//! jobs. A dead worker's jobs are queued again (at most [`MAX_ATTEMPTS`]
//! times); see [`RedisQueue::spawn_collector`].
//!
//! A job is *queued* while its JSON is still on `jobs`, *running* once a
//! worker moved it away and until the collector recorded the outcome; while
//! it runs, the worker's progress hash ([`progress_key`]) says how far it is.

use std::collections::HashMap;
use std::time::Duration;

use consent_core::SiteId;
use consent_core::scan_job::{HEARTBEAT_EVERY_SECS, HEARTBEAT_TTL_SECS, ScanStage};
use consent_core::store::{MAX_SCAN_BYTES, ScanMeta, Store, StoreError};
use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::schedule::{Alert, Every, MAX_ALERTS, Schedule, new_findings};
use super::{
    COLLECTORS, DONE, JOB_TTL_MS, JOBS, JobInfo, JobSpec, JobStage, JobStatus, MAX_ATTEMPTS, NewJob, QueueError,
    SITE_JOBS_KEPT, WORKERS, bounded_reason, collecting_key, collector_alive_key, invalid_report, job_key, now_ms,
    processing_key, progress_key, random_hex, result_key, scan_id_for, worker_alive_key,
};

const JOB_TTL_SECS: i64 = (JOB_TTL_MS / 1000) as i64;
const HEARTBEAT_EVERY: Duration = Duration::from_secs(HEARTBEAT_EVERY_SECS);

/// Jobs of a site [`RedisQueue::enqueue`] looks at when counting the ones
/// still waiting: its most recent ones (a site's waiting jobs are its
/// newest, as workers take the oldest first).
const WAITING_WINDOW: usize = 50;

/// Counts the site's waiting jobs and, below the limit, records and queues
/// the new one, all in one step: Redis runs a script atomically, so
/// concurrent requests (from any number of server instances) cannot all
/// pass the count before any of them queued. A job waits while it has no
/// outcome and its JSON is still on the jobs list (what [`JobStatus::Queued`]
/// means). The job hashes are named from the ids inside the script
/// (standalone Redis, as for storage).
///
/// KEYS: jobs list, the site's jobs index, the new job's hash. ARGV: id,
/// site, url, created_ms, job JSON, TTL (s), jobs an index keeps, the
/// limit, the window, the job-hash prefix, scheduled (0/1). Answers
/// {queued (0/1), waiting}.
const ENQUEUE: &str = r#"
local jobs, index, key = KEYS[1], KEYS[2], KEYS[3]
local id, site, url, created, raw = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttl, kept = tonumber(ARGV[6]), tonumber(ARGV[7])
local limit, window, prefix = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]
local waiting = 0
for _, other in ipairs(redis.call('ZREVRANGE', index, 0, window - 1)) do
  local f = redis.call('HMGET', prefix .. other, 'site', 'status', 'raw')
  if f[1] == site and not f[2] and f[3] and redis.call('LPOS', jobs, f[3]) then
    waiting = waiting + 1
  end
end
if waiting >= limit then
  return {0, waiting}
end
redis.call('HSET', key, 'site', site, 'url', url, 'created_ms', created, 'raw', raw, 'scheduled', ARGV[11])
redis.call('EXPIRE', key, ttl)
redis.call('ZADD', index, created, id)
redis.call('ZREMRANGEBYRANK', index, 0, -kept - 1)
redis.call('EXPIRE', index, ttl)
redis.call('LPUSH', jobs, raw)
return {1, waiting}
"#;

fn site_jobs_key(site: &SiteId) -> String {
    consent_core::scan_job::site_jobs_key(site.as_str())
}

/// The queue in one Redis. Cheap to clone.
#[derive(Clone)]
pub struct RedisQueue {
    client: redis::Client,
    conn: ConnectionManager,
    instance: String,
}

impl RedisQueue {
    /// Prepares connections to `url`; connects lazily so the server starts
    /// while Redis is still coming up.
    pub fn open(url: &str) -> Result<Self, QueueError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self {
            client,
            conn,
            instance: format!("srv-{}", random_hex(6)),
        })
    }

    /// This instance's name in `keurmerk:scan:collectors`.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Queues a scan (see [`ScanQueue::enqueue_as`](super::ScanQueue::enqueue_as));
    /// the check and the queueing are one atomic step. The job carries the
    /// site id and declaration.
    pub async fn enqueue_as(
        &self,
        site: &SiteId,
        spec: JobSpec,
        max_waiting: usize,
        scheduled: bool,
    ) -> Result<JobInfo, QueueError> {
        let url = spec.url.to_string();
        let NewJob { id, created_ms, raw } = NewJob::new(site, spec)?;
        let key = job_key(&id);
        let index = site_jobs_key(site);
        let mut conn = self.conn.clone();
        // Count, record and queue in one script: a worker never sees a job
        // the server has no record of, and the limit holds however many
        // requests race for it.
        static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
        let (queued, waiting): (i64, usize) = SCRIPT
            .get_or_init(|| redis::Script::new(ENQUEUE))
            .key(JOBS)
            .key(&index)
            .key(&key)
            .arg(&id)
            .arg(site.as_str())
            .arg(&url)
            .arg(created_ms)
            .arg(&raw)
            .arg(JOB_TTL_SECS)
            .arg(SITE_JOBS_KEPT as isize)
            .arg(max_waiting)
            .arg(WAITING_WINDOW)
            .arg(job_key(""))
            .arg(u8::from(scheduled))
            .invoke_async(&mut conn)
            .await?;
        if queued == 0 {
            return Err(QueueError::TooManyJobs { waiting });
        }
        Ok(JobInfo::queued(id, site, url, created_ms, scheduled))
    }

    /// A job of `site` (a plausible id); `None` when unknown, expired or
    /// another site's.
    pub async fn job(&self, site: &SiteId, id: &str) -> Result<Option<JobInfo>, QueueError> {
        let mut conn = self.conn.clone();
        let fields: HashMap<String, String> = conn.hgetall(job_key(id)).await?;
        if fields.get("site").map(String::as_str) != Some(site.as_str()) {
            return Ok(None);
        }
        Ok(Some(self.info(id, fields).await?))
    }

    async fn info(&self, id: &str, mut f: HashMap<String, String>) -> Result<JobInfo, QueueError> {
        let status = match f.get("status").map(String::as_str) {
            Some("done") => JobStatus::Done,
            Some("failed") => JobStatus::Failed,
            _ => {
                let raw = f.get("raw").cloned().unwrap_or_default();
                let pos: Option<i64> = redis::cmd("LPOS")
                    .arg(JOBS)
                    .arg(raw)
                    .query_async(&mut self.conn.clone())
                    .await?;
                if pos.is_some() {
                    JobStatus::Queued
                } else {
                    JobStatus::Running
                }
            }
        };
        let num = |v: Option<String>| v.and_then(|s| s.parse().ok());
        // A running job's progress, as its worker reports it; a worker that
        // reports none (an older one) is in its static pass as far as we know.
        let (stage, pages_done, pages_total, note) = match status {
            JobStatus::Queued => (JobStage::Queued, 0, 0, None),
            JobStatus::Done => (JobStage::Done, 0, 0, None),
            JobStatus::Failed => (JobStage::Failed, 0, 0, None),
            JobStatus::Running => {
                let mut p: HashMap<String, String> = self.conn.clone().hgetall(progress_key(id)).await?;
                let stage = p
                    .get("stage")
                    .and_then(|s| ScanStage::parse(s))
                    .filter(|s| matches!(s, ScanStage::StaticPass | ScanStage::BrowserPass | ScanStage::Storing))
                    .unwrap_or(ScanStage::StaticPass);
                (
                    JobStage::from(stage),
                    num(p.remove("done")).unwrap_or(0),
                    num(p.remove("total")).unwrap_or(0),
                    p.remove("note"),
                )
            }
        };
        Ok(JobInfo {
            id: id.to_owned(),
            site: f.remove("site").unwrap_or_default(),
            url: f.remove("url").unwrap_or_default(),
            created_ms: num(f.remove("created_ms")).unwrap_or(0),
            status,
            stage,
            pages_done,
            pages_total,
            attempts: taken(status, num(f.remove("attempts")).unwrap_or(0)),
            scheduled: f.get("scheduled").is_some_and(|v| v == "1"),
            note: note.or_else(|| f.remove("note")),
            scan_id: f.remove("scan_id").filter(|_| status == JobStatus::Done),
            error: f.remove("error"),
            finished_ms: num(f.remove("finished_ms")),
        })
    }

    /// A site's most recent jobs, newest first.
    pub async fn jobs(&self, site: &SiteId, limit: usize) -> Result<Vec<JobInfo>, QueueError> {
        let index = site_jobs_key(site);
        let mut conn = self.conn.clone();
        let ids: Vec<String> = conn.zrevrange(&index, 0, limit.max(1) as isize - 1).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let fields: HashMap<String, String> = conn.hgetall(job_key(&id)).await?;
            if fields.get("site").map(String::as_str) != Some(site.as_str()) {
                // Expired record: forget it in the listing too.
                let _: () = conn.zrem(&index, &id).await?;
                continue;
            }
            out.push(self.info(&id, fields).await?);
        }
        Ok(out)
    }

    /// Starts this instance's collector: it takes finished ids from
    /// `keurmerk:scan:done` and stores their reports in `store`.
    ///
    /// Exactly once with several instances on one Redis: an id is moved
    /// atomically (`BLMOVE`) into this instance's `collecting` list, so only
    /// one instance holds it; it is removed from there only after the outcome
    /// is stored, and storing is idempotent (the scan id is fixed in the job
    /// hash with `HSETNX` before saving, and a second save of that id is a
    /// no-op). If the instance dies mid-way, its heartbeat expires and a live
    /// instance moves its leftovers back onto `done`.
    pub fn spawn_collector<S: Store + Clone>(&self, store: S) -> tokio::task::JoinHandle<()> {
        let queue = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = queue.collect(&store).await {
                    tracing::warn!(error = %e, "scan collector: retrying in 1 s");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    async fn collect<S: Store>(&self, store: &S) -> Result<(), QueueError> {
        // Its own connection: a blocking BLMOVE would hold up the API's
        // commands on a shared multiplexed connection.
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(None);
        let mut con = self.client.get_multiplexed_async_connection_with_config(&cfg).await?;
        let mine = collecting_key(&self.instance);
        let mut beat: Option<tokio::time::Instant> = None;
        loop {
            if beat.is_none_or(|b| b.elapsed() >= HEARTBEAT_EVERY) {
                self.heartbeat(&mut con).await?;
                beat = Some(tokio::time::Instant::now());
            }
            // Leftovers of a failed attempt first: they stay at the tail.
            let mut id: Option<String> = con.lindex(&mine, -1).await?;
            if id.is_none() {
                id = redis::cmd("BLMOVE")
                    .arg(DONE)
                    .arg(&mine)
                    .arg("RIGHT")
                    .arg("LEFT")
                    .arg(1)
                    .query_async(&mut con)
                    .await?;
            }
            let Some(id) = id else { continue };
            self.store_outcome(&mut con, store, &id).await?;
            let _: () = con.lrem(&mine, 1, &id).await?;
        }
    }

    /// Announces this instance and gives the leftovers of instances whose
    /// heartbeat expired back to `done`.
    async fn heartbeat(&self, con: &mut redis::aio::MultiplexedConnection) -> Result<(), QueueError> {
        let _: () = con
            .set_ex(collector_alive_key(&self.instance), now_ms(), HEARTBEAT_TTL_SECS)
            .await?;
        let _: () = con.sadd(COLLECTORS, &self.instance).await?;
        let members: Vec<String> = con.smembers(COLLECTORS).await?;
        for other in members.into_iter().filter(|m| *m != self.instance) {
            let alive: bool = con.exists(collector_alive_key(&other)).await?;
            if alive {
                continue;
            }
            let theirs = collecting_key(&other);
            let mut moved = 0;
            loop {
                // The right end of `done` is where the next BLMOVE takes from.
                let id: Option<String> = redis::cmd("LMOVE")
                    .arg(&theirs)
                    .arg(DONE)
                    .arg("RIGHT")
                    .arg("RIGHT")
                    .query_async(con)
                    .await?;
                if id.is_none() {
                    break;
                }
                moved += 1;
            }
            let _: () = con.srem(COLLECTORS, &other).await?;
            if moved > 0 {
                tracing::warn!(instance = %other, moved, "scan collector: took over a dead instance's results");
            }
        }
        self.requeue_dead_workers(con).await
    }

    /// Jobs in the processing list of a worker whose heartbeat expired go
    /// back onto `jobs` (each moved atomically, so with several instances
    /// only one moves it), unless a worker died on them [`MAX_ATTEMPTS`]
    /// times: then they fail with that reason. Workers without a heartbeat
    /// (older ones) are not in `workers` and are left alone.
    async fn requeue_dead_workers(&self, con: &mut redis::aio::MultiplexedConnection) -> Result<(), QueueError> {
        let workers: Vec<String> = con.smembers(WORKERS).await?;
        for w in workers {
            let alive: bool = con.exists(worker_alive_key(&w)).await?;
            if alive {
                continue;
            }
            let theirs = processing_key(&w);
            loop {
                // The right end of `jobs` is where workers take from next.
                let raw: Option<String> = redis::cmd("LMOVE")
                    .arg(&theirs)
                    .arg(JOBS)
                    .arg("RIGHT")
                    .arg("RIGHT")
                    .query_async(con)
                    .await?;
                let Some(raw) = raw else { break };
                let id = serde_json::from_str::<serde_json::Value>(&raw)
                    .ok()
                    .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
                let Some(id) = id.filter(|i| !i.is_empty() && i.len() <= 64) else {
                    continue;
                };
                let key = job_key(&id);
                let ours: bool = con.exists(&key).await?;
                if !ours {
                    continue;
                }
                let attempts: i64 = con.hincr(&key, "attempts", 1).await?;
                tracing::warn!(job = %id, worker = %w, attempts, "scan worker died; job queued again");
                if attempts >= MAX_ATTEMPTS {
                    let _: () = con.lrem(JOBS, 1, &raw).await?;
                    let reason = format!("a scanner worker stopped while running this job {attempts} times");
                    let _: () = con
                        .hset_multiple(
                            &key,
                            &[
                                ("status", "failed"),
                                ("error", reason.as_str()),
                                ("finished_ms", &now_ms().to_string()),
                            ],
                        )
                        .await?;
                }
            }
            let _: () = con.srem(WORKERS, &w).await?;
        }
        Ok(())
    }

    /// Stores one finished job's outcome. Errors are only transient ones
    /// (Redis or storage unavailable); anything wrong with the result itself
    /// becomes the job's `failed` status.
    async fn store_outcome<S: Store>(
        &self,
        con: &mut redis::aio::MultiplexedConnection,
        store: &S,
        id: &str,
    ) -> Result<(), QueueError> {
        let key = job_key(id);
        let fields: HashMap<String, String> = con.hgetall(&key).await?;
        let Some(site) = fields.get("site").and_then(|s| SiteId::parse(s).ok()) else {
            tracing::info!(job = %id, "scan collector: not queued by this server (or expired); dropped");
            return Ok(());
        };
        if matches!(fields.get("status").map(String::as_str), Some("done" | "failed")) {
            return Ok(());
        }
        let result: Option<Vec<u8>> = con.get(result_key(id)).await?;
        let outcome = match result {
            None => Err("the worker's result expired before it was collected".to_owned()),
            Some(body) => self.save_report(con, store, &site, id, &body).await?,
        };
        let now = now_ms().to_string();
        // The worker's note (e.g. no browser pass) outlives its progress.
        let note: Option<String> = con.hget(progress_key(id), "note").await?;
        if let Some(note) = note {
            let _: () = con.hset(&key, "note", bounded_reason(note)).await?;
        }
        if let (Ok(scan_id), Some("1")) = (&outcome, fields.get("scheduled").map(String::as_str)) {
            self.raise_alert(store, &site, scan_id).await?;
        }
        let _: () = match outcome {
            Ok(scan_id) => {
                con.hset_multiple(
                    &key,
                    &[("status", "done"), ("scan_id", scan_id.as_str()), ("finished_ms", &now)],
                )
                .await?
            }
            Err(reason) => {
                let reason = bounded_reason(reason);
                tracing::info!(job = %id, reason = %reason, "scan job failed");
                con.hset_multiple(
                    &key,
                    &[("status", "failed"), ("error", reason.as_str()), ("finished_ms", &now)],
                )
                .await?
            }
        };
        Ok(())
    }

    /// `Ok(Ok(scan id))` once stored, `Ok(Err(reason))` for a failed job.
    async fn save_report<S: Store>(
        &self,
        con: &mut redis::aio::MultiplexedConnection,
        store: &S,
        site: &SiteId,
        id: &str,
        body: &[u8],
    ) -> Result<Result<String, String>, QueueError> {
        if body.len() > MAX_SCAN_BYTES {
            return Ok(Err(format!("the report is larger than {MAX_SCAN_BYTES} bytes")));
        }
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
            && v.get("schema_version").is_none()
            && let Some(e) = v.get("error")
        {
            let reason = e.as_str().map_or_else(|| e.to_string(), str::to_owned);
            return Ok(Err(reason));
        }
        let (url, counts) = match crate::service::scan::summarise(body) {
            Ok(x) => x,
            Err(e) => return Ok(Err(invalid_report(e))),
        };
        // The scan id is fixed before saving, so a retry (after a crash or
        // a takeover) saves under the same id and cannot duplicate.
        let key = job_key(id);
        let _: bool = con.hset_nx(&key, "scan_id", scan_id_for(id, now_ms())).await?;
        let _: bool = con.hset_nx(&key, "collected_ms", now_ms()).await?;
        let scan_id: String = con.hget(&key, "scan_id").await?;
        let time_ms: u64 = con.hget::<_, _, Option<u64>>(&key, "collected_ms").await?.unwrap_or(0);
        let meta = ScanMeta {
            id: scan_id.clone(),
            site: site.clone(),
            time_ms,
            url,
            counts,
        };
        match store.save_scan(&meta, body).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(Ok(scan_id)),
            Err(e @ StoreError::Unavailable(_)) => Err(QueueError::Storage(e)),
            Err(e) => Ok(Err(format!("storing the report: {e}"))),
        }
    }
}

/// Times a worker took the job, from the times a worker died on it (the
/// hash's `attempts`, counted when a dead worker's job is queued again): a
/// queued job was taken once per death, a running or finished one once
/// more, except a job failed for having killed [`MAX_ATTEMPTS`] workers.
fn taken(status: JobStatus, deaths: u64) -> u64 {
    match status {
        JobStatus::Queued => deaths,
        JobStatus::Failed if deaths >= MAX_ATTEMPTS as u64 => deaths,
        JobStatus::Running | JobStatus::Done | JobStatus::Failed => deaths + 1,
    }
}

/// Sites' schedules (a hash: site → `daily`/`weekly`).
const SCHEDULES: &str = "keurmerk:scan:schedules";
/// When each scheduled site is due next (a sorted set, by Unix ms).
const SCHEDULE_DUE: &str = "keurmerk:scan:schedule-due";

/// A site's alerts (a hash: scan id → the alert's JSON).
fn alerts_key(site: &SiteId) -> String {
    format!("keurmerk:scan:alerts:{site}")
}

/// Takes the due schedules and moves each on by its period, atomically, so
/// with several instances each due scan is handed out once.
/// KEYS: due set, schedules hash. ARGV: now (ms), limit, day (ms).
const CLAIM_DUE: &str = r#"
local due, schedules = KEYS[1], KEYS[2]
local now, limit, day = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, site in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit)) do
  local every = redis.call('HGET', schedules, site)
  if every == 'daily' then
    redis.call('ZADD', due, now + day, site)
    table.insert(out, site)
  elseif every == 'weekly' then
    redis.call('ZADD', due, now + 7 * day, site)
    table.insert(out, site)
  else
    redis.call('ZREM', due, site)
  end
end
return out
"#;

impl RedisQueue {
    pub(super) async fn set_schedule(
        &self,
        site: &SiteId,
        every: Every,
        next_ms: Option<u64>,
    ) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic();
        match next_ms {
            Some(next) => pipe
                .hset(SCHEDULES, site.as_str(), every.as_str())
                .zadd(SCHEDULE_DUE, site.as_str(), next),
            None => pipe.hdel(SCHEDULES, site.as_str()).zrem(SCHEDULE_DUE, site.as_str()),
        };
        let _: () = pipe.query_async(&mut conn).await?;
        Ok(())
    }

    pub(super) async fn schedule(&self, site: &SiteId) -> Result<Schedule, QueueError> {
        let mut conn = self.conn.clone();
        let every: Option<String> = conn.hget(SCHEDULES, site.as_str()).await?;
        let next: Option<u64> = conn.zscore(SCHEDULE_DUE, site.as_str()).await?;
        Ok(match (every.as_deref().and_then(Every::parse), next) {
            (Some(every), Some(next)) => Schedule {
                every,
                next_ms: Some(next),
            },
            _ => Schedule::OFF,
        })
    }

    pub(super) async fn claim_due(&self, now_ms: u64, limit: usize) -> Result<Vec<String>, QueueError> {
        static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
        let day = Every::Daily.period_ms().expect("a day");
        let sites: Vec<String> = SCRIPT
            .get_or_init(|| redis::Script::new(CLAIM_DUE))
            .key(SCHEDULE_DUE)
            .key(SCHEDULES)
            .arg(now_ms)
            .arg(limit)
            .arg(day)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(sites)
    }

    /// Compares a scheduled scan just stored with the site's previous one
    /// and keeps an alert for what is new.
    async fn raise_alert<S: Store>(&self, store: &S, site: &SiteId, scan_id: &str) -> Result<(), QueueError> {
        let alert = match new_findings(store, site, scan_id, now_ms()).await {
            Ok(a) => a,
            Err(e @ StoreError::Unavailable(_)) => return Err(QueueError::Storage(e)),
            Err(e) => {
                tracing::warn!(error = %e, "scan alert: the scans could not be compared");
                None
            }
        };
        if let Some(alert) = alert {
            self.save_alert(site, &alert).await?;
        }
        Ok(())
    }

    async fn save_alert(&self, site: &SiteId, alert: &Alert) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let key = alerts_key(site);
        let body = serde_json::to_string(alert).expect("an alert serialises");
        let _: bool = conn.hset_nx(&key, &alert.scan_id, body).await?;
        // The newest MAX_ALERTS stay (scan ids sort by time).
        let mut ids: Vec<String> = conn.hkeys(&key).await?;
        if ids.len() > MAX_ALERTS {
            ids.sort();
            let old = &ids[..ids.len() - MAX_ALERTS];
            let _: () = conn.hdel(&key, old).await?;
        }
        Ok(())
    }

    pub(super) async fn alerts(&self, site: &SiteId) -> Result<Vec<String>, QueueError> {
        let mut conn = self.conn.clone();
        let all: HashMap<String, String> = conn.hgetall(alerts_key(site)).await?;
        Ok(all.into_values().collect())
    }

    pub(super) async fn dismiss_alert(&self, site: &SiteId, scan_id: &str) -> Result<bool, QueueError> {
        let mut conn = self.conn.clone();
        let n: usize = conn.hdel(alerts_key(site), scan_id).await?;
        Ok(n > 0)
    }
}
