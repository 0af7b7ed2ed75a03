//! The scan queue with the real `consent-server` binary: two processes on
//! one Redis (`--redis`, which brings the queue) store every finished scan
//! exactly once; `--scan-queue` gives an embedded-storage process a queue;
//! without either the endpoint explains how to get one.

use std::path::Path;
use std::time::{Duration, Instant};

use consent_server::scan_queue::{DONE, JOBS, result_key};
use e2e::{RedisServer, ServerProcess};
use redis::AsyncCommands;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

fn start(args: &[&str]) -> ServerProcess {
    let mut all = vec!["--client-rate", "0", "--site-rate", "0", "--login-rate", "0"];
    all.extend_from_slice(args);
    ServerProcess::start(Path::new(BIN), &all).unwrap()
}

fn admin_password(stdout: &str) -> String {
    stdout
        .split("Password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in {stdout:?}"))
        .to_owned()
}

/// Logs in, creates `site` allowing `origin`, returns a scans key.
async fn site_and_key(base: &str, password: &str, site: &str, origin: &str) -> String {
    let admin = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login: Value = admin
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf"].as_str().unwrap().to_owned();
    let res = admin
        .post(format!("{base}/api/v1/owner/sites"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"id": site, "allowed_origins": [origin]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let key: Value = admin
        .post(format!("{base}/api/v1/owner/sites/{site}/keys"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"name": "t", "scopes": ["scans:write", "scans:read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    key["key"].as_str().unwrap().to_owned()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_redis_store_each_scan_once() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(&["--redis", &url, "--data-dir", d1.path().to_str().unwrap()]);
    let b = start(&["--redis", &url, "--data-dir", d2.path().to_str().unwrap()]);
    let password = admin_password(&(a.stdout() + &b.stdout()));
    let key = site_and_key(&a.base_url(), &password, "shop", "https://shop.example.nl").await;
    let client = reqwest::Client::new();

    let mut status_urls = Vec::new();
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
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

    let t = Instant::now();
    for (i, u) in status_urls.iter().enumerate() {
        let base = if i % 2 == 0 { b.base_url() } else { a.base_url() };
        loop {
            let v: Value = client
                .get(format!("{base}{u}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["status"] == "done" {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "{v}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let page: Value = client
        .get(format!("{}/api/v1/sites/shop/scans?limit=200", b.base_url()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

    let key = site_and_key(
        &queued.base_url(),
        &admin_password(&queued.stdout()),
        "shop",
        "https://shop.example.nl",
    )
    .await;
    let res = enqueue(&client, &queued.base_url(), "shop", &key).await;
    assert_eq!(res.status(), 202);
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["status"], "queued");
    let mut con = redis::Client::open(redis.url().as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let waiting: Vec<String> = con.lrange(JOBS, 0, -1).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].contains(job["id"].as_str().unwrap()));

    let key = site_and_key(
        &plain.base_url(),
        &admin_password(&plain.stdout()),
        "shop",
        "https://shop.example.nl",
    )
    .await;
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
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = start(&["--redis", &url, "--data-dir", d1.path().to_str().unwrap()]);
    // A's collector announces itself; that name is A's.
    let t = Instant::now();
    let a_name = loop {
        let members: Vec<String> = con.smembers(COLLECTORS).await.unwrap();
        if let [one] = members.as_slice() {
            break one.clone();
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{members:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let password = admin_password(&a.stdout());
    let b = start(&["--redis", &url, "--data-dir", d2.path().to_str().unwrap()]);
    let key = site_and_key(&b.base_url(), &password, "shop", "https://shop.example.nl").await;
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
    let done = loop {
        let v: Value = client
            .get(format!("{}{}", b.base_url(), job["status_url"].as_str().unwrap()))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["status"] == "done" {
            break v;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "never taken over: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
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
