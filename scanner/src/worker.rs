//! Scanner workers: take scan jobs from a Redis list, put reports back, so
//! many sites can be scanned by several machines.
//!
//! The queue's contract (keys, the job's shape, heartbeats) is
//! [`consent_core::scan_job`], which the consent server compiles too.

use std::time::Duration;

use redis::AsyncCommands;

use crate::declared::Declared;
use crate::scan::{Knowledge, ScanConfig, scan};
use crate::signature::KnowledgeBase;

pub use consent_core::scan_job::{
    DONE, JOBS, MAX_JOB_BYTES, ScanJob as Job, WORKERS, processing_key, result_key, worker_alive_key,
};
use consent_core::scan_job::{DONE_KEPT, HEARTBEAT_EVERY_SECS, HEARTBEAT_TTL_SECS, RESULT_TTL_SECS};

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
    let result = work_loop(&mut con, &processing, template, kb, max_jobs).await;
    heartbeat.abort();
    if result.is_ok() {
        // A clean stop: nothing of ours is left to take over.
        let _: () = con.srem(WORKERS, worker).await?;
        let _: () = con.del(worker_alive_key(worker)).await?;
    }
    result
}

async fn work_loop(
    con: &mut redis::aio::MultiplexedConnection,
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
        let (id, result) = match parse_job(&raw) {
            Err((id, error)) => {
                let body = serde_json::json!({"id": id, "error": error}).to_string();
                (id, body)
            }
            Ok(job) => {
                let declared = match &job.declared {
                    Some(c) => Declared {
                        config: c.clone(),
                        origin: format!("job {}", job.id),
                        version: Some(c.version().0),
                    },
                    None => Declared::nothing(),
                };
                let out = match job_config(template, &job) {
                    Err(e) => serde_json::json!({"id": job.id, "error": e}).to_string(),
                    Ok(cfg) => {
                        tracing::info!(job = %job.id, site = job.site.as_deref().unwrap_or("-"), url = %job.url, "scanning");
                        let k = Knowledge {
                            kb,
                            declared: &declared,
                            cookie_db: None,
                        };
                        match scan(&cfg, &k, &|_, _| {}).await {
                            Ok(r) => r.to_json(),
                            Err(e) => serde_json::json!({"id": job.id, "error": e.to_string()}).to_string(),
                        }
                    }
                };
                (Some(job.id), out)
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
