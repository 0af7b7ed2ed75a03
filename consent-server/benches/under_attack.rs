//! Recording decisions while the server is attacked: for each attack, the
//! decisions load (wrk, new visitors, keep-alive) runs once alone and once
//! beside the attack, in the same run, and the bench prints decisions/s and
//! p99 for both with their ratio, and what the attacker got.
//!
//! The per-client, per-site, log-in and erasure rate limits are off, so what
//! holds the load is the server's structure (timeouts, the connection cap,
//! bounded password checks, the single writer, paged reads, body limits),
//! not a limiter turning the attacker away; with the limits on, every attack
//! below is cut short far earlier. The attacker runs on the same two cores,
//! so part of any slowdown is simply its CPU.
//!
//! `cargo bench -p consent-server --bench under_attack` (release build).
//! Environment: `BENCH_SECONDS` (per phase, default 8), `BENCH_CONNECTIONS`
//! (wrk's, default 64), `BENCH_ATTACKS` (a comma-separated subset of the
//! names printed; default all).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::ServerProcess;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use wrk::{ORIGIN, demo_decision, wrk, wrk_script};

mod wrk;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What the attacker's requests were answered with: status (or "closed",
/// "error") → count.
type Answers = Arc<Mutex<BTreeMap<String, u64>>>;

fn count(answers: &Answers, what: impl Into<String>) {
    *answers.lock().unwrap().entry(what.into()).or_insert(0) += 1;
}

struct Target {
    base: String,
    addr: String,
    decision: Value,
    /// A visitor with as many decisions as one consent id may hold.
    long_visitor: (String, String),
}

/// Starts `attack` as tasks that run until the flag is set.
fn attack(name: &str, t: &Arc<Target>, stop: &Arc<AtomicBool>, answers: &Answers) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    match name {
        // 2,000 connections that send a header byte every 10 s and never
        // finish it; each one the server closes is opened again.
        "slowloris" => {
            for _ in 0..2000 {
                let (t, stop, answers) = (t.clone(), stop.clone(), answers.clone());
                set.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(mut s) = tokio::net::TcpStream::connect(&t.addr).await else {
                            count(&answers, "connect refused");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        };
                        let head = format!("POST /api/v1/sites/demo/decisions HTTP/1.1\r\nHost: {}\r\n", t.addr);
                        if s.write_all(head.as_bytes()).await.is_err() {
                            count(&answers, "closed");
                            continue;
                        }
                        count(&answers, "opened");
                        loop {
                            if stop.load(Ordering::Relaxed) {
                                return;
                            }
                            tokio::time::sleep(Duration::from_secs(10)).await;
                            if s.write_all(b"X").await.is_err() {
                                count(&answers, "closed by the server");
                                break;
                            }
                        }
                    }
                });
            }
        }
        // 50 visitors at a time: a first decision, then erasure, over and over.
        "erasures" => {
            for _ in 0..50 {
                let (t, stop, answers, client) = (t.clone(), stop.clone(), answers.clone(), client.clone());
                set.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(res) = post_decision(&client, &t, &t.decision).await else {
                            continue;
                        };
                        let Ok(v) = res.json::<Value>().await else { continue };
                        let (Some(id), Some(secret)) = (v["consent_id"].as_str(), v["secret"].as_str()) else {
                            continue;
                        };
                        let res = client
                            .delete(format!("{}/api/v1/sites/demo/visitors/{id}", t.base))
                            .header("x-keurmerk-secret", secret)
                            .send()
                            .await;
                        count(&answers, res.map_or("error".into(), |r| r.status().as_str().to_owned()));
                    }
                });
            }
        }
        // Wrong passwords for ever-new user names (no per-account back-off
        // applies): each one an argon2 check against a dummy hash.
        "log-in flood" => {
            for task in 0..32 {
                let (t, stop, answers, client) = (t.clone(), stop.clone(), answers.clone(), client.clone());
                set.spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let res = client
                            .post(format!("{}/api/v1/auth/login", t.base))
                            .json(&json!({"username": format!("mallory-{task}-{n}"), "password": "guess"}))
                            .send()
                            .await;
                        count(&answers, res.map_or("error".into(), |r| r.status().as_str().to_owned()));
                    }
                });
            }
        }
        // 16 readers of one visitor's 10,000-decision history.
        "history reads" => {
            for _ in 0..16 {
                let (t, stop, answers, client) = (t.clone(), stop.clone(), answers.clone(), client.clone());
                set.spawn(async move {
                    let (id, secret) = &t.long_visitor;
                    while !stop.load(Ordering::Relaxed) {
                        let res = client
                            .get(format!("{}/api/v1/sites/demo/visitors/{id}", t.base))
                            .header("x-keurmerk-secret", secret)
                            .send()
                            .await;
                        let status = match res {
                            Ok(r) => {
                                let s = r.status().as_str().to_owned();
                                let _ = r.bytes().await;
                                s
                            }
                            Err(_) => "error".into(),
                        };
                        count(&answers, status);
                    }
                });
            }
        }
        // 16 senders of 1 MiB decision bodies.
        "oversized bodies" => {
            let big = format!("{{\"page_path\": \"{}\"}}", "a".repeat(1 << 20));
            for _ in 0..16 {
                let (t, stop, answers, client, big) =
                    (t.clone(), stop.clone(), answers.clone(), client.clone(), big.clone());
                set.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let res = client
                            .post(format!("{}/api/v1/sites/demo/decisions", t.base))
                            .header("Origin", ORIGIN)
                            .header("Content-Type", "application/json")
                            .body(big.clone())
                            .send()
                            .await;
                        count(&answers, res.map_or("error".into(), |r| r.status().as_str().to_owned()));
                    }
                });
            }
        }
        other => panic!("unknown attack {other}"),
    }
    set
}

async fn post_decision(client: &reqwest::Client, t: &Target, body: &Value) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{}/api/v1/sites/demo/decisions", t.base))
        .header("Origin", ORIGIN)
        .json(body)
        .send()
        .await
}

/// One wrk run of the decisions load: (decisions/s, p99 ms, errors).
async fn decisions_load(url: &str, script: &Path, connections: usize, seconds: u64) -> (f64, f64, u64) {
    let (url, script) = (url.to_owned(), script.to_owned());
    tokio::task::spawn_blocking(move || {
        let (requests, took, errors, _p50, p99) = wrk(&url, &script, connections, seconds);
        ((requests - errors) as f64 / took, p99 / 1000.0, errors)
    })
    .await
    .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let seconds = env_or("BENCH_SECONDS", 8);
    let connections = env_or("BENCH_CONNECTIONS", 64) as usize;
    let all = [
        "slowloris",
        "erasures",
        "log-in flood",
        "history reads",
        "oversized bodies",
    ];
    let chosen = std::env::var("BENCH_ATTACKS").unwrap_or_default();
    let attacks: Vec<&str> = all
        .into_iter()
        .filter(|a| chosen.is_empty() || chosen.split(',').any(|c| c.trim() == *a))
        .collect();

    let bin = std::env::var_os("BENCH_SERVER_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_consent-server").into(), std::path::PathBuf::from);
    let data = tempfile::tempdir().unwrap();
    let limits_off = [
        "--client-rate",
        "0",
        "--site-rate",
        "0",
        "--login-rate",
        "0",
        "--erase-rate",
        "0",
        "--data-dir",
        data.path().to_str().unwrap(),
    ];
    let server = ServerProcess::start(&bin, &limits_off).unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let decision = demo_decision(server.port());
    let mut target = Target {
        addr: base.trim_start_matches("http://").to_owned(),
        base: base.clone(),
        decision: decision.clone(),
        long_visitor: (String::new(), String::new()),
    };
    // The long history: one visitor's 10,000 decisions (the default cap).
    let first: Value = post_decision(&client, &target, &decision)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        first["consent_id"].as_str().unwrap().to_owned(),
        first["secret"].as_str().unwrap().to_owned(),
    );
    let mut again = decision.clone();
    again["consent_id"] = json!(id);
    again["secret"] = json!(secret);
    let mut fill = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, again, base) = (client.clone(), again.clone(), base.clone());
        fill.spawn(async move {
            for _ in 0..(10_000 - 1) / 8 {
                let res = client
                    .post(format!("{base}/api/v1/sites/demo/decisions"))
                    .header("Origin", ORIGIN)
                    .json(&again)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
            }
        });
    }
    while let Some(r) = fill.join_next().await {
        r.unwrap();
    }
    target.long_visitor = (id, secret);
    let target = Arc::new(target);

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("decision.lua");
    std::fs::write(&script, wrk_script(&serde_json::to_string(&decision).unwrap())).unwrap();
    let url = format!("{base}/api/v1/sites/demo/decisions");
    println!(
        "decisions under attack: wrk {connections} connections, {seconds} s per phase, rate limits off, SQLite on the disk, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    decisions_load(&url, &script, connections, 2).await; // warm-up
    println!(
        "| attack | decisions/s alone | under attack | ratio | p99 alone | under attack | wrk errors | what the attacker got (per second) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for name in attacks {
        let (alone, p99_alone, _) = decisions_load(&url, &script, connections, seconds).await;
        let stop = Arc::new(AtomicBool::new(false));
        let answers: Answers = Arc::default();
        let mut set = attack(name, &target, &stop, &answers);
        // Let the attack reach full strength first.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let began = Instant::now();
        let before = answers.lock().unwrap().clone();
        let (under, p99_under, errors) = decisions_load(&url, &script, connections, seconds).await;
        let took = began.elapsed().as_secs_f64();
        let after = answers.lock().unwrap().clone();
        stop.store(true, Ordering::Relaxed);
        set.abort_all();
        while set.join_next().await.is_some() {}
        let got: Vec<String> = after
            .iter()
            .map(|(k, v)| format!("{k} {:.0}", (v - before.get(k).copied().unwrap_or(0)) as f64 / took))
            .collect();
        println!(
            "| {name} | {alone:.0} | {under:.0} | {:.2} | {p99_alone:.1} ms | {p99_under:.1} ms | {errors} | {} |",
            under / alone,
            got.join(", ")
        );
        // The server must be whole after each attack.
        let (status, _) = e2e::http_get(server.port(), "/readyz").unwrap();
        assert_eq!(status, 200, "ready after {name}");
    }
}
