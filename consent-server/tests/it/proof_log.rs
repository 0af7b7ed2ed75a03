//! The proof log against the real server (in-process, on a free port), on
//! both storage backends: receipts, checkpoints, proofs, bundles, visitor
//! access and erasure that keeps every proof valid.

use std::time::{Duration, Instant};

use crate::common::{Kind, TestApp, spawn_app};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use consent_core::checkpoint::{self, Checkpoint};
use consent_core::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use consent_core::note::NoteVerifier;
use consent_core::receipt::Receipt;
use consent_core::store::DecisionStore;
use consent_core::tlog_proof::{ProofBundle, parse_hash_lines};
use serde_json::{Value, json};

async fn get_text(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.get(path).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn verifier(app: &TestApp) -> NoteVerifier {
    let (status, key) = get_text(app, "/.well-known/keurmerk-log-key").await;
    assert_eq!(status, 200);
    NoteVerifier::parse(key.trim()).unwrap()
}

/// Waits (the integrator publishes every second) for a checkpoint of at
/// least `size` leaves; returns it verified, with its note.
async fn checkpoint_at_least(app: &TestApp, key: &NoteVerifier, size: u64) -> (Checkpoint, String) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, note) = get_text(app, "/api/v1/log/checkpoint").await;
        if status == 200 {
            let cp = checkpoint::open(&note, key).unwrap();
            if cp.size >= size {
                return (cp, note);
            }
        }
        assert!(Instant::now() < deadline, "no checkpoint of size {size} in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn record(app: &TestApp, path: &str) -> Value {
    let mut body = app.decision().await;
    body["page_path"] = json!(path);
    let res = app.post_decision("demo", &body).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Checks served bundles twice: with the core library and with the offline
/// verifier's own entry point (what `keurmerk-verify proof` runs).
fn check_bundles(json: &str, key: &NoteVerifier, want: usize) -> Vec<u64> {
    let bundles: Vec<ProofBundle> = serde_json::from_str(json).unwrap();
    assert_eq!(bundles.len(), want, "{json}");
    let verified = keurmerk_verify::verify_bundles(json.as_bytes(), key).unwrap();
    assert_eq!(verified.len(), want);
    bundles.iter().map(|b| b.verify(key).unwrap().0.index).collect()
}

/// The monitor follows the live server while it grows, without alarm.
async fn monitor_follows_the_server(kind: Kind) {
    let app = spawn_app(kind).await;
    let key = verifier(&app).await;
    let mut monitor = keurmerk_verify::monitor::Monitor::new(&app.base, key.clone());
    checkpoint_at_least(&app, &key, 0).await;
    assert!(matches!(
        monitor.poll().await.unwrap(),
        keurmerk_verify::monitor::Observation::First(_)
    ));
    let mut grew = 0;
    for i in 0..4 {
        record(&app, &format!("/p{i}")).await;
        checkpoint_at_least(&app, &key, i + 1).await;
        if let keurmerk_verify::monitor::Observation::Grew { .. } = monitor.poll().await.unwrap() {
            grew += 1;
        }
    }
    assert!(grew >= 1, "the monitor saw the log grow");
    assert_eq!(monitor.last().unwrap().size, 4);
}
both_backends!(monitor_follows_the_server);

async fn receipts_checkpoints_and_proofs(kind: Kind) {
    let app = spawn_app(kind).await;
    let key = verifier(&app).await;
    let first = record(&app, "/a").await;
    let mut indexes = vec![];
    for (i, v) in [first.clone(), record(&app, "/b").await, record(&app, "/c").await]
        .iter()
        .enumerate()
    {
        let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
        assert_eq!(receipt.index, i as u64);
        assert_eq!(receipt.log, key.name());
        let leaf = app.state.store.leaves(receipt.index..receipt.index + 1).await.unwrap();
        receipt.verify(&key, Some(&leaf_hash(&leaf[0]))).unwrap();
        indexes.push(receipt.index);
    }
    let (cp3, _) = checkpoint_at_least(&app, &key, 3).await;

    // Inclusion proofs from the endpoint verify against the checkpoint.
    for i in 0..cp3.size {
        let (status, text) = get_text(&app, &format!("/api/v1/log/inclusion?index={i}&size={}", cp3.size)).await;
        assert_eq!(status, 200);
        let leaf = app.state.store.leaves(i..i + 1).await.unwrap();
        verify_inclusion(
            i,
            cp3.size,
            &leaf_hash(&leaf[0]),
            &parse_hash_lines(&text).unwrap(),
            &cp3.root,
        )
        .unwrap();
    }
    for bad in [
        format!("/api/v1/log/inclusion?index=3&size={}", cp3.size),
        format!("/api/v1/log/inclusion?index=0&size={}", cp3.size + 1),
        "/api/v1/log/inclusion?index=x&size=1".to_owned(),
        "/api/v1/log/consistency?old=2&new=1".to_owned(),
        format!("/api/v1/log/consistency?old=1&new={}", cp3.size + 1),
    ] {
        assert_eq!(get_text(&app, &bad).await.0, 422, "{bad}");
    }

    // The log grows; the new checkpoint is consistent with the old.
    for p in ["/d", "/e"] {
        record(&app, p).await;
    }
    let (cp5, _) = checkpoint_at_least(&app, &key, 5).await;
    let (_, text) = get_text(&app, &format!("/api/v1/log/consistency?old=3&new={}", cp5.size)).await;
    verify_consistency(3, cp5.size, &cp3.root, &cp5.root, &parse_hash_lines(&text).unwrap()).unwrap();

    // Bundles: the visitor with consent id + secret, the owner with a key.
    let (cid, secret) = (first["consent_id"].as_str().unwrap(), first["secret"].as_str().unwrap());
    let proofs = format!("/api/v1/sites/demo/visitors/{cid}/proofs");
    let res = app.as_visitor(reqwest::Method::GET, &proofs, secret).await;
    assert_eq!(res.status(), 200);
    assert_eq!(check_bundles(&res.text().await.unwrap(), &key, 1), vec![0]);
    // The widget asks from the site's own pages: CORS for allowed origins only.
    let url = app.url(&proofs);
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", app.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-origin"], app.origin());
    assert_eq!(pre.headers()["access-control-allow-headers"], "x-keurmerk-secret");
    for (origin, allowed) in [(app.origin(), true), ("https://evil.example", false)] {
        let res = app
            .client
            .get(&url)
            .header("Origin", origin)
            .header("x-keurmerk-secret", secret)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers().contains_key("access-control-allow-origin"),
            allowed,
            "{origin}"
        );
    }
    let wrong = app.as_visitor(reqwest::Method::GET, &proofs, "nope").await;
    assert_eq!(wrong.status(), 403);
    let api_key = app.api_key("demo", &["decisions:read"]).await;
    let owner_proofs = format!("/api/v1/owner/sites/demo/proofs/{cid}");
    let res = app.get_with_key(&owner_proofs, &api_key).await;
    assert_eq!(res.status(), 200);
    assert_eq!(check_bundles(&res.text().await.unwrap(), &key, 1), vec![0]);
    assert_eq!(get_text(&app, &owner_proofs).await.0, 401);

    // The leaf by index, for the owner of its site only.
    let res = app.get_with_key("/api/v1/log/leaves/1", &api_key).await;
    assert_eq!(res.status(), 200);
    let leaf: Value = res.json().await.unwrap();
    let bytes = STANDARD.decode(leaf["record_bytes"].as_str().unwrap()).unwrap();
    assert_eq!(leaf["leaf_hash"], STANDARD.encode(leaf_hash(&bytes)));
    let res = app.get_with_key("/api/v1/log/leaves/99", &api_key).await;
    assert_eq!(res.status(), 404);

    // The OpenAPI document describes the log.
    let (_, doc) = get_text(&app, "/openapi.json").await;
    for path in [
        "/api/v1/log/checkpoint",
        "/api/v1/log/inclusion",
        "/.well-known/keurmerk-log-key",
    ] {
        assert!(doc.contains(path), "{path} missing from the OpenAPI document");
    }
}
both_backends!(receipts_checkpoints_and_proofs);

/// Every file under `dir`, concatenated.
pub(crate) fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else {
            out.extend(std::fs::read(&p).unwrap_or_default());
        }
    }
    out
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn erasure_keeps_every_proof(kind: Kind) {
    let app = spawn_app(kind).await;
    let key = verifier(&app).await;
    let a = record(&app, "/geheim-pad-a").await;
    let b = record(&app, "/pad-b").await;
    let (a_id, a_secret) = (a["consent_id"].as_str().unwrap(), a["secret"].as_str().unwrap());
    let (b_id, b_secret) = (b["consent_id"].as_str().unwrap(), b["secret"].as_str().unwrap());
    let (before, _) = checkpoint_at_least(&app, &key, 2).await;
    let a_record =
        consent_core::DecisionRecord::from_canonical_bytes(&app.state.store.leaves(0..1).await.unwrap()[0]).unwrap();
    let sealing_key = async || {
        let visitor = app.state.store.visitor(&a_record.site, &a_record.consent_id).await;
        visitor.unwrap().unwrap().sealing_key
    };
    let a_key = sealing_key().await.unwrap();

    let access = async |id: &str, secret: &str| {
        let path = format!("/api/v1/sites/demo/visitors/{id}");
        let res = app.as_visitor(reqwest::Method::GET, &path, secret).await;
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()
    };
    let seen = access(a_id, a_secret).await;
    assert_eq!(seen["erased"], false);
    assert_eq!(seen["decisions"][0]["personal"]["page_path"], "/geheim-pad-a");

    // The embedded store holds the key before erasure (so the scan below can fail).
    let data_dir = match kind {
        Kind::Sqlite => Some(match &app.state.settings.storage {
            consent_server::settings::StorageSettings::Embedded { data_dir } => data_dir.clone(),
            _ => unreachable!(),
        }),
        // Redis keeps its append-only file here; erasure asks for a rewrite.
        Kind::Redis => app.redis.as_ref().map(|r| r.data_dir().to_owned()),
    };
    if let Some(dir) = &data_dir {
        assert!(
            contains(&all_bytes(dir), &a_key),
            "the sealing key is stored before erasure"
        );
    }

    let erase = async |secret: &str| {
        let path = format!("/api/v1/sites/demo/visitors/{a_id}");
        app.as_visitor(reqwest::Method::DELETE, &path, secret).await.status()
    };
    assert_eq!(erase("wrong").await, 403);
    assert_eq!(erase(a_secret).await, 204);

    // Access now shows the decisions without their personal fields; the
    // other visitor is untouched.
    let seen = access(a_id, a_secret).await;
    assert_eq!(seen["erased"], true);
    assert!(seen["decisions"][0]["personal"].is_null());
    let other = access(b_id, b_secret).await;
    assert_eq!(other["decisions"][0]["personal"]["page_path"], "/pad-b");
    // The erased consent id cannot record again.
    let mut again = app.decision().await;
    again["consent_id"] = json!(a_id);
    again["secret"] = json!(a_secret);
    assert_eq!(app.post_decision("demo", &again).await.status(), 403);

    // No stored byte reveals the erased content: neither the key nor the
    // plaintext path (which was never stored in the clear).
    if let Some(dir) = &data_dir {
        // Redis rewrites its append-only file in the background: allow it a moment.
        let deadline = Instant::now() + Duration::from_secs(10);
        while contains(&all_bytes(dir), &a_key) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let bytes = all_bytes(dir);
        assert!(!contains(&bytes, &a_key), "the erased key is still on disk");
        assert!(!contains(&bytes, b"geheim-pad-a"));
    }
    assert!(sealing_key().await.is_none());

    // The log, its checkpoints and everyone's proofs still verify.
    record(&app, "/c").await;
    let (after, _) = checkpoint_at_least(&app, &key, 3).await;
    let (_, text) = get_text(
        &app,
        &format!("/api/v1/log/consistency?old={}&new={}", before.size, after.size),
    )
    .await;
    verify_consistency(
        before.size,
        after.size,
        &before.root,
        &after.root,
        &parse_hash_lines(&text).unwrap(),
    )
    .unwrap();
    for (id, secret) in [(a_id, a_secret), (b_id, b_secret)] {
        let proofs = format!("/api/v1/sites/demo/visitors/{id}/proofs");
        let res = app.as_visitor(reqwest::Method::GET, &proofs, secret).await;
        check_bundles(&res.text().await.unwrap(), &key, 1);
    }
}
both_backends!(erasure_keeps_every_proof);
