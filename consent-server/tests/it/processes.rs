//! The real binary as separate processes: `kill -9` under load loses no
//! acknowledged decision, two processes share one Redis with one gap-free
//! sequence, SIGTERM shuts down cleanly, the admin password is shown once.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::post_demo_decision_at;
use e2e::{RedisServer, ServerProcess};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

/// The server with rate limits off and a fresh data directory of its own.
fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_fresh(Path::new(BIN), args).unwrap()
}

pub(crate) async fn demo_decision(client: &reqwest::Client, base: &str) -> Value {
    let all = json!({"preferences": true, "analytics": true, "marketing": true});
    common::demo_decision_at(client, base, "accept_all", all, "en").await
}

/// What the server acknowledged with 201: (consent id, index).
type Acked = Arc<Mutex<Vec<(String, u64)>>>;

/// Posts decisions from `workers` connections to each base URL until `stop`.
fn load(bases: Vec<String>, body: Value, workers: usize, acked: Acked) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    for base in bases {
        for _ in 0..workers {
            let (base, body, acked) = (base.clone(), body.clone(), acked.clone());
            set.spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                loop {
                    match post_demo_decision_at(&client, &base, &body).await {
                        Ok(res) if res.status() == 201 => {
                            let v: Value = match res.json().await {
                                Ok(v) => v,
                                Err(_) => continue,
                            };
                            let id = v["consent_id"].as_str().unwrap().to_owned();
                            acked.lock().unwrap().push((id, v["index"].as_u64().unwrap()));
                        }
                        Ok(res) => panic!("unexpected {}", res.status()),
                        // The server is gone (killed): stop quietly.
                        Err(_) => return,
                    }
                }
            });
        }
    }
    set
}

/// Every decision the server holds for the demo site: (consent id, index).
pub(crate) async fn stored(base: &str, password: &str) -> Vec<(String, u64)> {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let all = common::get_json_at(&client, &format!("{base}/api/v1/owner/sites/demo/decisions/export")).await;
    all.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["record"]["consent_id"].as_str().unwrap().to_owned(),
                d["index"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Loads the server, kills it with -9 mid-load, and returns what it acknowledged.
async fn load_then_kill(server: &mut ServerProcess, redis: Option<&mut RedisServer>) -> Vec<(String, u64)> {
    let client = reqwest::Client::new();
    let body = demo_decision(&client, &server.base_url()).await;
    let acked: Acked = Arc::default();
    let mut set = load(vec![server.base_url()], body, 16, acked.clone());
    // Let a good number of decisions through, then pull the plug (a loaded
    // machine may need several seconds for them).
    for _ in 0..1000 {
        if acked.lock().unwrap().len() >= 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill9();
    if let Some(r) = redis {
        r.kill();
    }
    while set.join_next().await.is_some() {}
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 100, "the load ran ({} acknowledged)", acked.len());
    acked
}

pub(crate) fn assert_all_present(acked: &[(String, u64)], stored: &[(String, u64)]) {
    let stored: BTreeSet<_> = stored.iter().cloned().collect();
    let missing: Vec<_> = acked.iter().filter(|a| !stored.contains(a)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged decisions lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

pub(crate) fn assert_gap_free(stored: &[(String, u64)]) {
    let indexes: Vec<u64> = stored.iter().map(|(_, i)| *i).collect();
    assert_eq!(
        indexes,
        (0..indexes.len() as u64).collect::<Vec<_>>(),
        "indexes are 0..n"
    );
}

/// The threads a server's runtime serves with, as its `/metrics` reports them.
fn runtime_workers(server: &ServerProcess) -> usize {
    let (status, text) = e2e::http_get(server.port(), "/metrics").unwrap();
    assert_eq!(status, 200);
    let line = text
        .lines()
        .find(|l| l.starts_with("keurmerk_runtime_threads "))
        .expect(&text);
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_loses_no_acknowledged_decision() {
    let mut server = start(&[]);
    let password = server.admin_password();
    let acked = load_then_kill(&mut server, None).await;
    server.restart().unwrap();
    let stored = stored(&server.base_url(), &password).await;
    assert_all_present(&acked, &stored);
    assert_gap_free(&stored);
    // And the sequence continues where it stopped.
    let client = reqwest::Client::new();
    let body = demo_decision(&client, &server.base_url()).await;
    let res = post_demo_decision_at(&client, &server.base_url(), &body).await.unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["index"].as_u64().unwrap(), stored.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_kill_9_of_server_and_redis_loses_no_acknowledged_decision() {
    let mut redis = RedisServer::start().unwrap();
    let url = redis.url();
    let mut server = start(&["--redis", &url]);
    let password = server.admin_password();
    let acked = load_then_kill(&mut server, Some(&mut redis)).await;
    redis.restart().unwrap();
    server.restart().unwrap();
    let stored = stored(&server.base_url(), &password).await;
    assert_all_present(&acked, &stored);
    assert_gap_free(&stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_redis_share_one_gap_free_sequence() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    // One on a multi-threaded runtime, one on the default: one thread fewer
    // than the cores, a single thread (the single-threaded runtime) on 2.
    let a = start(&["--redis", &url, "--workers", "3"]);
    let b = start(&["--redis", &url]);
    assert_eq!(runtime_workers(&a), 3);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(runtime_workers(&b), cores.saturating_sub(1).max(1), "{cores} cores");
    // Exactly one of them created the admin.
    let password = e2e::admin_password_of(&[&a, &b]);
    let outputs = [a.stdout(), b.stdout()];
    assert_eq!(
        outputs.iter().filter(|o| o.contains("Password: ")).count(),
        1,
        "{outputs:?}"
    );

    let client = reqwest::Client::new();
    let body = demo_decision(&client, &a.base_url()).await;
    let acked: Acked = Arc::default();
    let mut tasks = Vec::new();
    for (i, base) in [a.base_url(), b.base_url()].into_iter().cycle().take(400).enumerate() {
        let (client, body, acked) = (client.clone(), body.clone(), acked.clone());
        let other_bases = (a.base_url(), b.base_url());
        tasks.push(tokio::spawn(async move {
            // Half the visitors come back and change their mind on the other process.
            let res = post_demo_decision_at(&client, &base, &body).await.unwrap();
            assert_eq!(res.status(), 201);
            let v: Value = res.json().await.unwrap();
            let id = v["consent_id"].as_str().unwrap().to_owned();
            acked.lock().unwrap().push((id.clone(), v["index"].as_u64().unwrap()));
            if i % 2 == 0 {
                let mut again = body.clone();
                again["consent_id"] = json!(id);
                again["secret"] = v["secret"].clone();
                again["method"] = json!("reject_all");
                again["categories"] = json!({});
                let other = if base == other_bases.0 {
                    other_bases.1.clone()
                } else {
                    other_bases.0.clone()
                };
                let res = post_demo_decision_at(&client, &other, &again).await.unwrap();
                assert_eq!(res.status(), 201);
                let v: Value = res.json().await.unwrap();
                acked.lock().unwrap().push((id, v["index"].as_u64().unwrap()));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), 600);
    let indexes: BTreeSet<u64> = acked.iter().map(|(_, i)| *i).collect();
    assert_eq!(indexes, (0..600).collect(), "unique and gap-free across both processes");
    for server in [&a, &b] {
        let stored = stored(&server.base_url(), &password).await;
        assert_eq!(stored.len(), 600);
        assert_all_present(&acked, &stored);
        assert_gap_free(&stored);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_work_and_the_password_is_shown_once() {
    let mut server = start(&[]);
    let password = server.admin_password();
    let client = reqwest::Client::new();
    let body = demo_decision(&client, &server.base_url()).await;
    let acked: Acked = Arc::default();
    let mut set = load(vec![server.base_url()], body, 4, acked.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.terminate().unwrap(), "clean exit on SIGTERM");
    // A clean stop folds the WAL back: no log of up to a GiB left on disk.
    let wal = server.data_dir().unwrap().join("keurmerk.sqlite3-wal");
    let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_bytes, 0, "WAL left after a clean stop");
    while set.join_next().await.is_some() {}
    server.restart().unwrap();
    assert!(
        !server.stdout().contains("Password"),
        "the password is printed once only"
    );
    let stored = stored(&server.base_url(), &password).await;
    assert_all_present(&acked.lock().unwrap(), &stored);
}
