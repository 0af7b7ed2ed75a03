//! The scan queue with the real `consent-server` binary: two processes on
//! one Redis (`--redis`, which brings the queue) store every finished scan
//! exactly once; `--scan-queue` gives an embedded-storage process a queue;
//! without either the endpoint explains how to get one.

use std::path::Path;
use std::time::{Duration, Instant};

use consent_server::scan_queue::{DONE, JOBS, result_key};
use e2e::{AdminSession, RedisServer, ServerProcess, poll};
use redis::AsyncCommands;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

/// The server with rate limits off and a fresh data directory of its own.
fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_fresh(Path::new(BIN), args).unwrap()
}

/// Logs in to `server`, creates site `shop`, returns a scans key for it.
async fn shop_key(server: &ServerProcess, password: &str) -> String {
    let admin = AdminSession::login(server.port(), password).await.unwrap();
    admin
        .site_with_key("shop", "https://shop.example.nl", &["scans:write", "scans:read"])
        .await
        .unwrap()
}

async fn redis_con(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Queues a scan of `shop` on `server`.
async fn enqueue(server: &ServerProcess, key: &str) -> e2e::HttpReply {
    let jobs = "/api/v1/owner/sites/shop/scan-jobs";
    e2e::post_with_key(server.port(), jobs, key, &json!({})).await.unwrap()
}

/// Waits (up to `limit`) for a job to finish and checks that it is done.
async fn done_job(server: &ServerProcess, status_path: &str, key: &str, limit: Duration, every: Duration) -> Value {
    let v = e2e::finished_job(server.port(), status_path, key, limit, every).await;
    assert_eq!(v["status"], "done", "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_redis_store_each_scan_once() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let a = start(&["--redis", &url]);
    let b = start(&["--redis", &url]);
    let password = e2e::admin_password_of(&[&a, &b]);
    let key = shop_key(&a, &password).await;

    let mut status_urls = Vec::new();
    let mut con = redis_con(&url).await;
    // A worker following the contract: it takes each job as it comes (at
    // most 10 may wait per site) and finishes them all at once.
    let mut taken: Vec<String> = Vec::new();
    for server in [&a, &b].into_iter().cycle().take(40) {
        let res = enqueue(server, &key).await;
        assert_eq!(res.status, 202);
        let v = res.json();
        status_urls.push(v["status_url"].as_str().unwrap().to_owned());
        while let Some(raw) = con.rpop::<_, Option<String>>(JOBS, None).await.unwrap() {
            taken.push(raw);
        }
    }
    for raw in &taken {
        let job: Value = serde_json::from_str(raw).unwrap();
        let id = job["id"].as_str().unwrap();
        let report = json!({"schema": "keurmerk-scan-report", "schema_version": 1, "site": job["url"],
            "findings": [{"rule": "undeclared-cookie", "severity": "medium", "title": "x"}]});
        let _: () = con.set(result_key(id), report.to_string()).await.unwrap();
        let _: () = con.lpush(DONE, id).await.unwrap();
    }

    // One deadline for all 40, as each waits on the same collectors.
    let t = Instant::now();
    for (i, u) in status_urls.iter().enumerate() {
        let server = if i % 2 == 0 { &b } else { &a };
        let left = Duration::from_secs(30).saturating_sub(t.elapsed());
        done_job(server, u, &key, left, Duration::from_millis(50)).await;
    }
    let page = e2e::get_with_key(b.port(), "/api/v1/sites/shop/scans?limit=200", &key)
        .await
        .unwrap()
        .json();
    assert_eq!(
        page["scans"].as_array().unwrap().len(),
        40,
        "each result stored exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_queue_flag_gives_embedded_storage_a_queue_and_without_one_the_error_says_how() {
    let redis = RedisServer::start().unwrap();
    let queued = start(&["--scan-queue", &redis.url()]);
    let plain = start(&[]);

    let key = shop_key(&queued, &queued.admin_password()).await;
    let res = enqueue(&queued, &key).await;
    assert_eq!(res.status, 202);
    let job = res.json();
    assert_eq!(job["status"], "queued");
    let mut con = redis_con(&redis.url()).await;
    let waiting: Vec<String> = con.lrange(JOBS, 0, -1).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].contains(job["id"].as_str().unwrap()));

    let key = shop_key(&plain, &plain.admin_password()).await;
    let res = enqueue(&plain, &key).await;
    assert_eq!(res.status, 503);
    let v = res.json();
    assert_eq!(
        v["message"],
        "scan queue not configured: start the server with --redis or --scan-queue"
    );
}

/// A server killed with -9 while it held a finished scan: its heartbeat
/// runs out (30 s) and the surviving process stores the scan. Slow by
/// nature (the heartbeat's lifetime), so one job only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_s_scan_is_stored_by_the_survivor() {
    use consent_server::scan_queue::{COLLECTORS, collecting_key};

    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let mut con = redis_con(&url).await;
    let mut a = start(&["--redis", &url]);
    // A's collector announces itself; that name is A's.
    let a_name = poll(Duration::from_secs(10), Duration::from_millis(20), async || {
        let members: Vec<String> = con.smembers(COLLECTORS).await.unwrap();
        match members.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(format!("{members:?}")),
        }
    })
    .await;
    let password = a.admin_password();
    let b = start(&["--redis", &url]);
    let key = shop_key(&b, &password).await;
    let job = enqueue(&b, &key).await.json();
    let id = job["id"].as_str().unwrap().to_owned();

    // The worker finished; A had moved the id into its own list when it died.
    a.kill9();
    let _: Option<String> = con.rpop(JOBS, None).await.unwrap();
    let report = json!({"schema": "keurmerk-scan-report", "schema_version": 1, "site": job["url"], "findings": []});
    let _: () = con.set(result_key(&id), report.to_string()).await.unwrap();
    let _: () = con.lpush(collecting_key(&a_name), &id).await.unwrap();

    let t = Instant::now();
    let status_url = job["status_url"].as_str().unwrap();
    let done = done_job(
        &b,
        status_url,
        &key,
        Duration::from_secs(60),
        Duration::from_millis(200),
    )
    .await;
    let scan = e2e::get_with_key(b.port(), done["scan_url"].as_str().unwrap(), &key)
        .await
        .unwrap();
    assert_eq!(scan.status, 200);
    let left: usize = con.llen(collecting_key(&a_name)).await.unwrap();
    assert_eq!(left, 0);
    eprintln!("taken over after {:.1} s", t.elapsed().as_secs_f64());
}
