//! The scan queue with the real `consent-server` binary: two processes on
//! one Redis (`--redis`, which brings the queue) store every finished scan
//! exactly once; `--scan-queue` gives an embedded-storage process a queue;
//! without either the endpoint explains how to get one.

use std::path::Path;
use std::time::{Duration, Instant};

use consent_server::scan_queue::{DONE, JOBS, result_key};
use e2e::{AdminSession, RedisServer, ServerProcess, admin_password, poll};
use redis::AsyncCommands;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_unlimited(Path::new(BIN), args).unwrap()
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

async fn enqueue(client: &reqwest::Client, base: &str, site: &str, key: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/owner/sites/{site}/scan-jobs"))
        .bearer_auth(key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

async fn get_json(client: &reqwest::Client, url: &str, key: &str) -> Value {
    client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls a job's status until it is done; panics after `limit` showing the last status.
async fn until_done(client: &reqwest::Client, url: &str, key: &str, limit: Duration, every: Duration) -> Value {
    poll(limit, every, async || {
        let v = get_json(client, url, key).await;
        if v["status"] == "done" {
            Ok(v)
        } else {
            Err(format!("never done: {v}"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_redis_store_each_scan_once() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(&["--redis", &url, "--data-dir", d1.path().to_str().unwrap()]);
    let b = start(&["--redis", &url, "--data-dir", d2.path().to_str().unwrap()]);
    let password = admin_password(&(a.stdout() + &b.stdout()));
    let key = shop_key(&a, &password).await;
    let client = reqwest::Client::new();

    let mut status_urls = Vec::new();
    let mut con = redis_con(&url).await;
    // A worker following the contract: it takes each job as it comes (at
    // most 10 may wait per site) and finishes them all at once.
    let mut taken: Vec<String> = Vec::new();
    for base in [a.base_url(), b.base_url()].iter().cycle().take(40) {
        let res = enqueue(&client, base, "shop", &key).await;
        assert_eq!(res.status(), 202);
        let v: Value = res.json().await.unwrap();
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
        let base = if i % 2 == 0 { b.base_url() } else { a.base_url() };
        let left = Duration::from_secs(30).saturating_sub(t.elapsed());
        until_done(&client, &format!("{base}{u}"), &key, left, Duration::from_millis(50)).await;
    }
    let page = get_json(
        &client,
        &format!("{}/api/v1/sites/shop/scans?limit=200", b.base_url()),
        &key,
    )
    .await;
    assert_eq!(
        page["scans"].as_array().unwrap().len(),
        40,
        "each result stored exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_queue_flag_gives_embedded_storage_a_queue_and_without_one_the_error_says_how() {
    let redis = RedisServer::start().unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let queued = start(&["--data-dir", d1.path().to_str().unwrap(), "--scan-queue", &redis.url()]);
    let plain = start(&["--data-dir", d2.path().to_str().unwrap()]);
    let client = reqwest::Client::new();

    let key = shop_key(&queued, &admin_password(&queued.stdout())).await;
    let res = enqueue(&client, &queued.base_url(), "shop", &key).await;
    assert_eq!(res.status(), 202);
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["status"], "queued");
    let mut con = redis_con(&redis.url()).await;
    let waiting: Vec<String> = con.lrange(JOBS, 0, -1).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].contains(job["id"].as_str().unwrap()));

    let key = shop_key(&plain, &admin_password(&plain.stdout())).await;
    let res = enqueue(&client, &plain.base_url(), "shop", &key).await;
    assert_eq!(res.status(), 503);
    let v: Value = res.json().await.unwrap();
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
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = start(&["--redis", &url, "--data-dir", d1.path().to_str().unwrap()]);
    // A's collector announces itself; that name is A's.
    let a_name = poll(Duration::from_secs(10), Duration::from_millis(20), async || {
        let members: Vec<String> = con.smembers(COLLECTORS).await.unwrap();
        match members.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(format!("{members:?}")),
        }
    })
    .await;
    let password = admin_password(&a.stdout());
    let b = start(&["--redis", &url, "--data-dir", d2.path().to_str().unwrap()]);
    let key = shop_key(&b, &password).await;
    let client = reqwest::Client::new();
    let job: Value = enqueue(&client, &b.base_url(), "shop", &key)
        .await
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap().to_owned();

    // The worker finished; A had moved the id into its own list when it died.
    a.kill9();
    let _: Option<String> = con.rpop(JOBS, None).await.unwrap();
    let report = json!({"schema": "keurmerk-scan-report", "schema_version": 1, "site": job["url"], "findings": []});
    let _: () = con.set(result_key(&id), report.to_string()).await.unwrap();
    let _: () = con.lpush(collecting_key(&a_name), &id).await.unwrap();

    let t = Instant::now();
    let status_url = format!("{}{}", b.base_url(), job["status_url"].as_str().unwrap());
    let done = until_done(
        &client,
        &status_url,
        &key,
        Duration::from_secs(60),
        Duration::from_millis(200),
    )
    .await;
    let scan = client
        .get(format!("{}{}", b.base_url(), done["scan_url"].as_str().unwrap()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(scan.status(), 200);
    let left: usize = con.llen(collecting_key(&a_name)).await.unwrap();
    assert_eq!(left, 0);
    eprintln!("taken over after {:.1} s", t.elapsed().as_secs_f64());
}
