//! The proof log across process deaths, with the real binary:
//! - `kill -9` under load: every decision that got a receipt is in the log at
//!   its promised index, and the first checkpoint after the restart is
//!   consistent with the last one seen before.
//! - Two processes on one Redis: one integrator at a time; killing either
//!   hands the lease over within seconds and the log continues consistently.

use crate::common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consent_core::checkpoint::{self, Checkpoint};
use consent_core::merkle::{verify_consistency, verify_inclusion};
use consent_core::note::NoteVerifier;
use consent_core::receipt::Receipt;
use consent_core::tlog_proof::parse_hash_lines;
use e2e::{RedisServer, ServerProcess};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

/// The server with rate limits off and a fresh data directory of its own.
fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_fresh(Path::new(BIN), args).unwrap()
}

async fn text(client: &reqwest::Client, url: String) -> Option<String> {
    let res = client.get(url).send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    res.text().await.ok()
}

async fn key(client: &reqwest::Client, base: &str) -> NoteVerifier {
    let k = text(client, format!("{base}/.well-known/keurmerk-log-key"))
        .await
        .unwrap();
    NoteVerifier::parse(k.trim()).unwrap()
}

async fn latest(client: &reqwest::Client, base: &str, key: &NoteVerifier) -> Option<Checkpoint> {
    let note = text(client, format!("{base}/api/v1/log/checkpoint")).await?;
    Some(checkpoint::open(&note, key).expect("every served checkpoint verifies"))
}

async fn wait_for(client: &reqwest::Client, base: &str, key: &NoteVerifier, size: u64) -> Checkpoint {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(cp) = latest(client, base, key).await
            && cp.size >= size
        {
            return cp;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of size {size} from {base} in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_consistent(client: &reqwest::Client, base: &str, old: &Checkpoint, new: &Checkpoint) {
    let proof = text(
        client,
        format!("{base}/api/v1/log/consistency?old={}&new={}", old.size, new.size),
    )
    .await
    .unwrap();
    verify_consistency(
        old.size,
        new.size,
        &old.root,
        &new.root,
        &parse_hash_lines(&proof).unwrap(),
    )
    .unwrap_or_else(|e| panic!("checkpoints {} -> {} inconsistent: {e}", old.size, new.size));
}

/// Every receipt's promised index holds the receipt's leaf in `cp`.
async fn assert_receipts_kept(
    client: &reqwest::Client,
    base: &str,
    key: &NoteVerifier,
    cp: &Checkpoint,
    receipts: &[Receipt],
) {
    for r in receipts {
        r.verify(key, None).unwrap();
        assert!(r.index < cp.size);
        let proof = text(
            client,
            format!("{base}/api/v1/log/inclusion?index={}&size={}", r.index, cp.size),
        )
        .await
        .unwrap();
        verify_inclusion(
            r.index,
            cp.size,
            &r.leaf_hash().unwrap(),
            &parse_hash_lines(&proof).unwrap(),
            &cp.root,
        )
        .unwrap_or_else(|e| panic!("receipt for leaf {} not honoured: {e}", r.index));
    }
}

async fn demo_decision(client: &reqwest::Client, base: &str) -> Value {
    common::demo_decision_at(client, base, "reject_all", json!({}), "nl").await
}

type Receipts = Arc<Mutex<Vec<Receipt>>>;

/// Posts decisions from `workers` connections until the server goes away or
/// `limit` receipts were collected.
fn load(base: String, body: Value, workers: usize, limit: usize, out: Receipts) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (base, body, out) = (base.clone(), body.clone(), out.clone());
        set.spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            while out.lock().unwrap().len() < limit {
                let Ok(res) = common::post_demo_decision_at(&client, &base, &body).await else {
                    return;
                };
                assert_eq!(res.status(), 201);
                let Ok(v) = res.json::<Value>().await else { return };
                let r: Receipt = serde_json::from_value(v["receipt"].clone()).expect("every 201 carries a receipt");
                out.lock().unwrap().push(r);
            }
        });
    }
    set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_keeps_every_receipt_and_stays_consistent() {
    let mut server = start(&[]);
    let base = server.base_url();
    let client = reqwest::Client::new();
    let key = key(&client, &base).await;
    let body = demo_decision(&client, &base).await;

    let receipts: Receipts = Arc::default();
    let mut set = load(base.clone(), body.clone(), 8, usize::MAX, receipts.clone());
    // Watch checkpoints while the load runs; kill once a few were published
    // and a good number of receipts are out.
    let mut last_before: Option<Checkpoint> = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(cp) = latest(&client, &base, &key).await {
            if let Some(prev) = &last_before {
                assert_consistent(&client, &base, prev, &cp).await;
            }
            last_before = Some(cp);
        }
        let n = receipts.lock().unwrap().len();
        if (n >= 400 && last_before.as_ref().is_some_and(|c| c.size >= 100)) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    server.kill9();
    while set.join_next().await.is_some() {}
    let receipts = receipts.lock().unwrap().clone();
    let last_before = last_before.expect("a checkpoint was published before the kill");
    assert!(receipts.len() >= 100, "the load ran ({} receipts)", receipts.len());
    let max = receipts.iter().map(|r| r.index).max().unwrap();
    assert!(
        max >= last_before.size,
        "the kill came while leaves were still being integrated"
    );

    server.restart().unwrap();
    assert_eq!(self::key(&client, &base).await, key, "the same key after restart");
    let first_after = latest(&client, &base, &key)
        .await
        .expect("a checkpoint right after restart");
    assert!(first_after.size >= last_before.size);
    assert_consistent(&client, &base, &last_before, &first_after).await;
    let cp = wait_for(&client, &base, &key, max + 1).await;
    assert_consistent(&client, &base, &first_after, &cp).await;
    assert_receipts_kept(&client, &base, &key, &cp, &receipts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_redis_hand_over_the_log() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let mut a = start(&["--redis", &url]);
    let mut b = start(&["--redis", &url]);
    let client = reqwest::Client::new();
    let key = key(&client, &a.base_url()).await;
    assert_eq!(self::key(&client, &b.base_url()).await, key, "one log, one key");
    let body = demo_decision(&client, &a.base_url()).await;

    let receipts: Receipts = Arc::default();
    let post = async |base: String, n: usize| {
        let mut set = load(
            base,
            body.clone(),
            2,
            receipts.lock().unwrap().len() + n,
            receipts.clone(),
        );
        while set.join_next().await.is_some() {}
    };
    post(a.base_url(), 20).await;
    post(b.base_url(), 20).await;
    let max = |r: &Receipts| r.lock().unwrap().iter().map(|r| r.index).max().unwrap();
    let cp1 = wait_for(&client, &b.base_url(), &key, max(&receipts) + 1).await;
    // Both serve the same log.
    let from_a = latest(&client, &a.base_url(), &key).await.unwrap();
    let (old, new) = if from_a.size <= cp1.size {
        (&from_a, &cp1)
    } else {
        (&cp1, &from_a)
    };
    assert_consistent(&client, &a.base_url(), old, new).await;

    // Kill A: B takes over (the lease expires within seconds).
    a.kill9();
    post(b.base_url(), 30).await;
    let t = Instant::now();
    let cp2 = wait_for(&client, &b.base_url(), &key, max(&receipts) + 1).await;
    assert!(t.elapsed() < Duration::from_secs(10), "takeover took {:?}", t.elapsed());
    assert_consistent(&client, &b.base_url(), &cp1, &cp2).await;

    // And the other way round: whichever held the lease was killed once.
    a.restart().unwrap();
    b.kill9();
    post(a.base_url(), 30).await;
    let cp3 = wait_for(&client, &a.base_url(), &key, max(&receipts) + 1).await;
    assert_consistent(&client, &a.base_url(), &cp2, &cp3).await;
    let receipts = receipts.lock().unwrap().clone();
    assert_receipts_kept(&client, &a.base_url(), &key, &cp3, &receipts).await;
}
