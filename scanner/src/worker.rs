//! Scanner workers: take scan jobs from a Redis list, put reports back, so
//! many sites can be scanned by several machines.
//!
//! The queue's contract (keys, the job's shape, heartbeats, progress) is
//! [`consent_core::scan_job`], which the consent server compiles too. The
//! job's preparation ([`prepare`]) is shared with the consent server's own
//! workers, which run jobs from its embedded queue with this crate as a
//! library.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::AsyncCommands;

use crate::declared::Declared;
use crate::page::Pass;
use crate::scan::{Knowledge, ScanConfig, scan_staged};
use crate::signature::KnowledgeBase;

pub use consent_core::scan_job::{
    DONE, JOBS, MAX_JOB_BYTES, ScanJob as Job, ScanStage, WORKERS, processing_key, progress_key, result_key,
    worker_alive_key,
};
use consent_core::scan_job::{DONE_KEPT, HEARTBEAT_EVERY_SECS, HEARTBEAT_TTL_SECS, RESULT_TTL_SECS};

/// A job ready to scan: its configuration, what the site declared, and a
/// note for the owner when the scan is less than asked (no Chromium).
pub struct Prepared {
    pub job: Job,
    pub config: ScanConfig,
    pub declared: Declared,
    pub note: Option<String>,
}

/// Checks a job's JSON and applies it to the worker's defaults. The error
/// carries the job's id when it could be read, and the reason.
pub fn prepare(raw: &str, template: &ScanConfig) -> Result<Prepared, (Option<String>, String)> {
    let job = parse_job(raw)?;
    let mut config = job_config(template, &job).map_err(|e| (Some(job.id.clone()), e))?;
    let note = without_missing_browser(&mut config);
    let declared = match &job.declared {
        Some(c) => Declared {
            config: c.clone(),
            origin: format!("job {}", job.id),
            version: Some(c.version().0),
        },
        None => Declared::nothing(),
    };
    Ok(Prepared {
        job,
        config,
        declared,
        note,
    })
}

/// Whether `path` is a file Chromium could be started from.
pub fn chromium_found(path: &Path) -> bool {
    path.is_file()
}

/// Drops the browser pass when its Chromium is missing, and says so: the
/// static pass still finds much, and a job should not fail for it.
pub fn without_missing_browser(config: &mut ScanConfig) -> Option<String> {
    let chromium = config.browser.as_ref().map(|b| b.chromium.clone())?;
    if chromium_found(&chromium) {
        return None;
    }
    config.browser = None;
    Some(format!(
        "static pass only: no Chromium at {}, so the browser pass was skipped",
        chromium.display()
    ))
}

/// Where a running scan is, as its worker reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub stage: ScanStage,
    pub done: u64,
    pub total: u64,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            stage: ScanStage::StaticPass,
            done: 0,
            total: 0,
        }
    }
}

/// Runs a prepared scan, keeping `progress` up to date; the report's JSON,
/// or why there is none.
pub async fn run(p: &Prepared, kb: &KnowledgeBase, progress: &Mutex<Progress>) -> Result<String, String> {
    let k = Knowledge {
        kb,
        declared: &p.declared,
        cookie_db: None,
    };
    let on = |pass: Pass, done: usize, total: usize| {
        let stage = match pass {
            Pass::Static => ScanStage::StaticPass,
            Pass::Browser => ScanStage::BrowserPass,
        };
        if let Ok(mut p) = progress.lock() {
            *p = Progress {
                stage,
                done: done as u64,
                total: total.max(done) as u64,
            };
        }
    };
    scan_staged(&p.config, &k, &on)
        .await
        .map(|r| r.to_json())
        .map_err(|e| e.to_string())
}

const HEARTBEAT_EVERY: Duration = Duration::from_secs(HEARTBEAT_EVERY_SECS);

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Why a job could not be run (written to its result key).
fn parse_job(raw: &str) -> Result<Job, (Option<String>, String)> {
    if raw.len() > MAX_JOB_BYTES {
        return Err((None, format!("job larger than {MAX_JOB_BYTES} bytes")));
    }
    let job: Job = serde_json::from_str(raw).map_err(|e| {
        let id = serde_json::from_str::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
        (id, format!("invalid job: {e}"))
    })?;
    if !Job::id_is_valid(&job.id) {
        return Err((None, "job id must be 1-64 characters of a-z, 0-9, '-', '_'".into()));
    }
    if let Some(d) = &job.declared {
        d.validate()
            .map_err(|e| (Some(job.id.clone()), format!("invalid declaration: {e}")))?;
    }
    Ok(job)
}

/// Applies a job's overrides to the worker's defaults.
fn job_config(template: &ScanConfig, job: &Job) -> Result<ScanConfig, String> {
    let site = url::Url::parse(&job.url).map_err(|e| format!("invalid url {:?}: {e}", job.url))?;
    let mut cfg = template.clone();
    cfg.site = site;
    if let Some(n) = job.max_pages {
        cfg.crawl.max_pages = n.clamp(1, 10_000);
    }
    if let Some(d) = job.depth {
        cfg.crawl.max_depth = d.min(10);
    }
    if let Some(b) = job.browser_pages {
        if b == 0 {
            cfg.browser = None;
        } else if let Some(o) = &mut cfg.browser {
            o.max_pages = b.min(100);
        }
    }
    Ok(cfg)
}

/// Runs jobs until `max_jobs` are done (0 = forever). Returns jobs handled.
pub async fn work(
    redis_url: &str,
    worker: &str,
    template: &ScanConfig,
    kb: &KnowledgeBase,
    max_jobs: usize,
) -> Result<usize, WorkerError> {
    let client = redis::Client::open(redis_url)?;
    // Blocking pops outlive the default 500 ms response timeout.
    let cfg = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut con = client.get_multiplexed_async_connection_with_config(&cfg).await?;
    let processing = processing_key(worker);
    // The heartbeat on its own connection: a scan can take minutes and the
    // blocking BLMOVE holds the main one for seconds.
    let mut beat_con = client.get_multiplexed_async_connection().await?;
    let _: () = beat_con.set_ex(worker_alive_key(worker), 1, HEARTBEAT_TTL_SECS).await?;
    let _: () = beat_con.sadd(WORKERS, worker).await?;
    let beat_worker = worker.to_owned();
    let heartbeat = tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT_EVERY).await;
            let r: redis::RedisResult<()> = beat_con
                .set_ex(worker_alive_key(&beat_worker), 1, HEARTBEAT_TTL_SECS)
                .await;
            if let Err(e) = r {
                tracing::warn!("worker heartbeat: {e}");
            }
        }
    });
    let progress_con = client.get_multiplexed_async_connection().await?;
    let result = work_loop(&mut con, &progress_con, &processing, template, kb, max_jobs).await;
    heartbeat.abort();
    if result.is_ok() {
        // A clean stop: nothing of ours is left to take over.
        let _: () = con.srem(WORKERS, worker).await?;
        let _: () = con.del(worker_alive_key(worker)).await?;
    }
    result
}

/// Writes the job's progress to its progress hash every second while it
/// changes, with `note` (see [`consent_core::scan_job::progress_key`]).
async fn report_progress(
    mut con: redis::aio::MultiplexedConnection,
    id: String,
    progress: Arc<Mutex<Progress>>,
    note: Option<String>,
) {
    let key = progress_key(&id);
    let mut last: Option<Progress> = None;
    loop {
        let now = progress.lock().map(|p| p.clone()).unwrap_or_default();
        if last.as_ref() != Some(&now) {
            let mut fields = vec![
                ("stage", now.stage.as_str().to_owned()),
                ("done", now.done.to_string()),
                ("total", now.total.to_string()),
            ];
            if let Some(n) = &note {
                fields.push(("note", n.clone()));
            }
            let r: redis::RedisResult<()> = redis::pipe()
                .hset_multiple(&key, &fields)
                .ignore()
                .expire(&key, RESULT_TTL_SECS as i64)
                .ignore()
                .query_async(&mut con)
                .await;
            match r {
                Ok(()) => last = Some(now),
                Err(e) => tracing::warn!("worker progress: {e}"),
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn work_loop(
    con: &mut redis::aio::MultiplexedConnection,
    progress_con: &redis::aio::MultiplexedConnection,
    processing: &str,
    template: &ScanConfig,
    kb: &KnowledgeBase,
    max_jobs: usize,
) -> Result<usize, WorkerError> {
    let mut handled = 0;
    while max_jobs == 0 || handled < max_jobs {
        let raw: Option<String> = redis::cmd("BLMOVE")
            .arg(JOBS)
            .arg(processing)
            .arg("RIGHT")
            .arg("LEFT")
            .arg(5)
            .query_async(con)
            .await?;
        let Some(raw) = raw else { continue };
        let (id, result) = match prepare(&raw, template) {
            Err((id, error)) => {
                let body = serde_json::json!({"id": id, "error": error}).to_string();
                (id, body)
            }
            Ok(p) => {
                let id = p.job.id.clone();
                tracing::info!(job = %id, site = p.job.site.as_deref().unwrap_or("-"), url = %p.job.url, "scanning");
                let progress = Arc::new(Mutex::new(Progress::default()));
                let reporter = tokio::spawn(report_progress(
                    progress_con.clone(),
                    id.clone(),
                    progress.clone(),
                    p.note.clone(),
                ));
                let out = match run(&p, kb, &progress).await {
                    Ok(report) => report,
                    Err(e) => serde_json::json!({"id": id, "error": e}).to_string(),
                };
                reporter.abort();
                let _: redis::RedisResult<()> = progress_con
                    .clone()
                    .hset(progress_key(&id), "stage", ScanStage::Storing.as_str())
                    .await;
                (Some(id), out)
            }
        };
        if let Some(id) = &id {
            let _: () = con.set_ex(result_key(id), &result, RESULT_TTL_SECS).await?;
            let _: () = con.lpush(DONE, id).await?;
            let _: () = con.ltrim(DONE, 0, DONE_KEPT - 1).await?;
        } else {
            tracing::warn!("dropped a job without a usable id: {result}");
        }
        let _: () = con.lrem(processing, 1, &raw).await?;
        handled += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(handled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_validated() {
        assert!(parse_job(r#"{"id":"a1","url":"https://x.example/"}"#).is_ok());
        let job = parse_job(r#"{"id":"a1","url":"https://x.example/","site":"shop"}"#).unwrap();
        assert_eq!(job.site.as_deref(), Some("shop"));
        // The server sends unset options as null.
        let job = parse_job(
            r#"{"id":"a1","url":"https://x.example/","site":"shop","max_pages":null,"depth":null,"browser_pages":null}"#,
        )
        .unwrap();
        assert_eq!((job.max_pages, job.depth, job.browser_pages), (None, None, None));
        let (id, e) = parse_job(r#"{"id":"a1","url":"https://x.example/","colour":1}"#).unwrap_err();
        assert_eq!(id.as_deref(), Some("a1"));
        assert!(e.contains("invalid job"));
        assert!(parse_job(r#"{"id":"../x","url":"https://x.example/"}"#).is_err());
        assert!(parse_job(&"x".repeat(MAX_JOB_BYTES + 1)).is_err());
    }
}
