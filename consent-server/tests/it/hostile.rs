//! Hostile clients: forged forwarding headers, a proxy in front, slow
//! clients holding connections, floods of log-ins. Each test fails without
//! the defence it names.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::{Kind, TestApp, spawn_app_with};

async fn login_from(app: &TestApp, forwarded_for: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Behind a trusted proxy each client has its own log-in budget; from
/// anywhere else the header is ignored, so forging it buys nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_clients_count_only_behind_a_trusted_proxy() {
    let proxied = spawn_app_with(Kind::Sqlite, |s| {
        s.login_rate = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(login_from(&proxied, "198.51.100.1", "wrong").await);
    }
    assert_eq!(statuses.last(), Some(&429), "client A used its budget: {statuses:?}");
    assert_eq!(
        login_from(&proxied, "198.51.100.2", "wrong").await,
        401,
        "client B has its own"
    );
    assert_eq!(
        login_from(&proxied, "198.51.100.3", &proxied.admin_password.clone()).await,
        200,
        "and the admin, from a third address, is not locked out by A"
    );

    let direct = spawn_app_with(Kind::Sqlite, |s| s.login_rate = 2).await;
    for _ in 0..3 {
        login_from(&direct, "198.51.100.1", "wrong").await;
    }
    assert_eq!(
        login_from(&direct, "198.51.100.2", "wrong").await,
        429,
        "a forged X-Forwarded-For from an untrusted peer is ignored"
    );
}

/// Wrong passwords for one account from many addresses: the account backs
/// off, another account does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_backs_off_after_failures_from_anywhere() {
    let app = spawn_app_with(Kind::Sqlite, |s| {
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for i in 0..5 {
        assert_eq!(login_from(&app, &format!("198.51.100.{i}"), "wrong").await, 401);
    }
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.99")
        .json(&json!({"username": "admin", "password": app.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "even the right password waits out the back-off");
    assert!(res.headers().contains_key("retry-after"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        login_from(&app, "198.51.100.99", &app.admin_password.clone()).await,
        200
    );
}

/// 2,000 connections that send a request's headers one byte every 10 s
/// are closed by the header-read timeout (10 s by default), and decisions
/// are recorded meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_while_decisions_go_on() {
    const SOCKETS: usize = 2000;
    let app = spawn_app_with(Kind::Sqlite, |_| {}).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let mut trickles = tokio::task::JoinSet::new();
    for _ in 0..SOCKETS {
        let addr = addr.clone();
        trickles.spawn(async move {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let opened = Instant::now();
            let mut buf = [0u8; 256];
            for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n".iter().cycle() {
                if s.write_all(&[*byte]).await.is_err() {
                    break;
                }
                // Closed by the server: a read returns 0 (or an error) at once.
                match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
                    Ok(Ok(0) | Err(_)) => break,
                    Ok(Ok(_)) => break,
                    Err(_) => {}
                }
                if opened.elapsed() > Duration::from_secs(60) {
                    return None;
                }
            }
            Some(opened.elapsed())
        });
    }
    // Decisions while the sockets trickle.
    let body = app.decision().await;
    let mut latencies = Vec::new();
    while started.elapsed() < Duration::from_secs(12) {
        let t = Instant::now();
        assert_eq!(app.post_decision("demo", &body).await.status(), 201);
        latencies.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut closed_after = Vec::new();
    while let Some(r) = trickles.join_next().await {
        closed_after.push(r.unwrap().expect("a trickling connection stayed open for a minute"));
    }
    let slowest = closed_after.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_secs(30),
        "all closed within 30 s; the last after {slowest:?}"
    );
    latencies.sort();
    eprintln!(
        "{SOCKETS} trickling sockets, last closed after {slowest:?}; {} decisions meanwhile, p50 {:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
}

/// A body sent slower than the request timeout allows is answered 408 and
/// the connection dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_time_out() {
    let app = spawn_app_with(Kind::Sqlite, |s| s.request_timeout = Duration::from_secs(1)).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/sites/demo/decisions HTTP/1.1\r\nHost: {addr}\r\nOrigin: {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
        app.origin()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server answered and closed within 10 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

/// 50 clients each creating a visitor and erasing it, over and over, while
/// decisions are recorded: every erasure answers 204, every decision 201.
/// Erasures go through the writer and share WAL truncations, so recording
/// goes on; the latencies with and without the erasures are printed (the
/// figure to watch is in the decisions benchmark, not asserted here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasures_in_a_crowd_do_not_stop_recording() {
    let app = std::sync::Arc::new(spawn_app_with(Kind::Sqlite, |_| {}).await);
    let body = app.decision().await;
    let record_for = |secs: u64| {
        let (app, body) = (app.clone(), body.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let mut latencies = Vec::new();
            while started.elapsed() < Duration::from_secs(secs) {
                let t = Instant::now();
                assert_eq!(app.post_decision("demo", &body).await.status(), 201);
                latencies.push(t.elapsed());
            }
            latencies
        })
    };
    let quiet = record_for(3).await.unwrap();

    let loud = record_for(6);
    let mut erasers = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (app, body) = (app.clone(), body.clone());
        erasers.spawn(async move {
            let started = Instant::now();
            let mut erased = 0;
            while started.elapsed() < Duration::from_secs(6) {
                let res = app.post_decision("demo", &body).await;
                assert_eq!(res.status(), 201);
                let v: serde_json::Value = res.json().await.unwrap();
                let (id, secret) = (v["consent_id"].as_str().unwrap(), v["secret"].as_str().unwrap());
                let res = app
                    .as_visitor(
                        reqwest::Method::DELETE,
                        &format!("/api/v1/sites/demo/visitors/{id}"),
                        secret,
                    )
                    .await;
                assert_eq!(res.status(), 204);
                erased += 1;
            }
            erased
        });
    }
    let mut erased = 0;
    while let Some(n) = erasers.join_next().await {
        erased += n.unwrap();
    }
    let loud = loud.await.unwrap();
    assert!(erased >= 50, "every eraser got through at least once: {erased}");
    eprintln!(
        "decisions alone: {} at p99 {:?}; beside {erased} erasures: {} at p99 {:?}",
        quiet.len(),
        p99(quiet.clone()),
        loud.len(),
        p99(loud.clone())
    );
}

/// Scan reports are kept for good: an API key may upload only so many an
/// hour for its site, and another site keeps its own budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_uploads_are_limited_per_site() {
    let app = spawn_app_with(Kind::Sqlite, |s| s.scan_upload_rate = 6).await;
    app.create_site("other", "https://other.example").await;
    let report =
        json!({"schema": "keurmerk-scan-report", "schema_version": 1, "site": "https://shop.example/", "findings": []});
    let demo_key = app.api_key("demo", &["scans:write"]).await;
    let other_key = app.api_key("other", &["scans:write"]).await;
    // A burst of one an hour's sixth, then the limit.
    app.upload_scan("demo", &demo_key, &report).await;
    let res = app.post_with_key("/api/v1/sites/demo/scans", &demo_key, &report).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    app.upload_scan("other", &other_key, &report).await;
}
