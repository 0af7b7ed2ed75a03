//! Witnessed checkpoints end to end: the real server binary submits its
//! checkpoints to C2SP tlog-witnesses (Keurmerk's own witness, served over
//! real HTTP on loopback) and serves their cosignatures with the checkpoint
//! and inside the proof bundles; a third witness that is down does not stop
//! the log; `keurmerk-verify`'s policy accepts the bundles, and a second
//! history forged with the server's own log key is refused by the witnesses
//! and by the verifier.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use consent_core::checkpoint::{self, Checkpoint};
use consent_core::cosignature::{CosignatureSigner, WitnessPolicy};
use consent_core::merkle::{MemoryTree, leaf_hash};
use consent_core::note::{NoteSigner, NoteVerifier};
use consent_core::tlog_proof::{ProofBundle, TlogProof};
use e2e::ServerProcess;
use keurmerk_verify::witness::{Witness, origin_hash, router};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

async fn text(client: &reqwest::Client, url: String) -> (u16, String) {
    let res = client.get(url).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_checkpoints_are_cosigned_and_a_forged_history_is_refused() {
    witnessed(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_checkpoints_are_cosigned_and_a_forged_history_is_refused() {
    let redis = e2e::RedisServer::start().unwrap();
    let url = redis.url();
    witnessed(&["--redis", &url]).await;
}

async fn witnessed(storage: &[&str]) {
    // The witnesses' ports first, so the server can be told where they are;
    // connections wait in the backlog until they serve.
    let signers: Vec<CosignatureSigner> = (1..=3u8)
        .map(|i| CosignatureSigner::from_seed(&format!("witness.test/w{i}"), &[i; 32]).unwrap())
        .collect();
    let mut listeners = Vec::new();
    for _ in 0..2 {
        listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    // The third witness is down: nothing listens at its address.
    let dead = format!("http://127.0.0.1:{}", e2e::free_port());
    let mut flags = Vec::new();
    for (s, l) in signers.iter().zip(&listeners) {
        flags.push(format!("{}=http://{}", s.verifier(), l.local_addr().unwrap()));
    }
    flags.push(format!("{}={dead}", signers[2].verifier()));
    let mut args: Vec<&str> = Vec::new();
    for f in &flags {
        args.extend(["--witness", f.as_str()]);
    }
    args.extend(["--witness-quorum", "2"]);
    args.extend_from_slice(storage);
    let server = ServerProcess::start_fresh(Path::new(BIN), &args).unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let (_, key) = text(&client, format!("{base}/.well-known/keurmerk-log-key")).await;
    let log_key = NoteVerifier::parse(key.trim()).unwrap();

    let states = tempfile::tempdir().unwrap();
    let mut witnesses = Vec::new();
    for (i, (s, l)) in signers.iter().zip(listeners).enumerate() {
        let w = Arc::new(Witness::new(s.clone(), vec![log_key.clone()], &states.path().join(i.to_string())).unwrap());
        witnesses.push(w.clone());
        tokio::spawn(async move { axum::serve(l, router(w)).await.unwrap() });
    }

    // Decisions, then a checkpoint covering them with two cosignatures.
    let body = common::demo_decision_at(&client, &base, "reject_all", json!({}), "nl").await;
    let mut last: Option<Value> = None;
    for _ in 0..5 {
        let res = common::post_demo_decision_at(&client, &base, &body).await.unwrap();
        assert_eq!(res.status(), 201);
        last = Some(res.json().await.unwrap());
    }
    let last = last.unwrap();
    let index = last["index"].as_u64().unwrap();
    let policy = WitnessPolicy::new(signers.iter().map(|s| s.verifier().clone()).collect(), 2).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let served = loop {
        let (status, note) = text(&client, format!("{base}/api/v1/log/checkpoint")).await;
        if status == 200 && checkpoint::open(&note, &log_key).unwrap().size > index && policy.check(&note).is_ok() {
            break note;
        }
        assert!(
            Instant::now() < deadline,
            "no cosigned checkpoint covering leaf {index}: {note}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let cosigned_by = policy.check(&served).unwrap();
    assert_eq!(
        cosigned_by.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["witness.test/w1", "witness.test/w2"]
    );
    // The witnesses keep the same checkpoint (monitoring endpoint).
    let cp = checkpoint::open(&served, &log_key).unwrap();
    let held = witnesses[0].latest_by_hash(&origin_hash(&cp.origin)).unwrap().unwrap();
    assert!(checkpoint::open(&held, &log_key).unwrap().size <= cp.size);

    // The visitor's proof bundle carries the cosignatures; the verifier's
    // policy accepts it.
    let consent = last["consent_id"].as_str().unwrap();
    let secret = last["secret"].as_str().unwrap_or_default();
    let bundles = client
        .get(format!("{base}/api/v1/sites/demo/visitors/{consent}/proofs"))
        .header("x-keurmerk-secret", secret)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let verified = keurmerk_verify::verify_bundles_witnessed(bundles.as_bytes(), &log_key, &policy)
        .unwrap_or_else(|(i, e)| panic!("bundle {i}: {e}\n{bundles}"));
    assert!(verified.iter().all(|v| v.cosigned_by.len() == 2));

    // The witness that is down is counted, and the log kept going.
    let (_, metrics) = text(&client, format!("{base}/metrics")).await;
    assert!(
        metrics.contains("keurmerk_log_witness_failures_total{witness=\"witness.test/w3\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("keurmerk_log_latest_checkpoint_witnessed 1"),
        "{metrics}"
    );

    // Split view: the operator signs a second history of the same size with
    // the log's own key. The witnesses refuse it, so it never gets their
    // cosignatures, and the verifier's policy refuses a bundle from it.
    let log_signer = match storage {
        [] => {
            let skey = std::fs::read_to_string(server.data_dir().unwrap().join("log-signing-key")).unwrap();
            NoteSigner::parse(skey.trim()).unwrap()
        }
        [_, url] => {
            let mut c = common::redis_con(url).await;
            let skey: String = redis::cmd("GET")
                .arg("kmk:log:signing-key")
                .query_async(&mut c)
                .await
                .unwrap();
            NoteSigner::parse(skey.trim()).unwrap()
        }
        _ => unreachable!(),
    };
    let mut forged_tree = MemoryTree::new();
    for i in 0..cp.size {
        forged_tree.push(leaf_hash(format!("forged {i}").as_bytes()));
    }
    let forged = Checkpoint {
        origin: cp.origin.clone(),
        size: cp.size,
        root: forged_tree.root(),
        extensions: vec![],
    }
    .sign(&log_signer)
    .unwrap();
    for w in &witnesses {
        let held = w.latest_by_hash(&origin_hash(&cp.origin)).unwrap().unwrap();
        let size = checkpoint::open(&held, &log_key).unwrap().size;
        let err = w
            .add_checkpoint(&format!("old {size}\n\n{forged}"), 1_800_000_000)
            .expect_err("a forged history is never cosigned");
        assert!(matches!(err.status(), 409 | 422), "{err}");
    }
    let forged_bundle = serde_json::to_vec(&ProofBundle::new(
        b"forged 0",
        &TlogProof {
            extra: None,
            index: 0,
            path: consent_core::merkle::inclusion_proof(&forged_tree, 0, cp.size).unwrap(),
            checkpoint: forged.clone(),
        },
    ))
    .unwrap();
    assert!(
        keurmerk_verify::verify_bundles(&forged_bundle, &log_key).is_ok(),
        "the log key alone cannot tell"
    );
    let (_, refused) = keurmerk_verify::verify_bundles_witnessed(&forged_bundle, &log_key, &policy).unwrap_err();
    assert!(refused.to_string().contains("the policy requires 2"), "{refused}");

    // The monitor agrees with the honest witnesses...
    let w1_url = format!("http://{}", flags[0].rsplit_once("=http://").unwrap().1);
    let mut monitor = keurmerk_verify::monitor::Monitor::new(&base, log_key.clone())
        .with_witnesses(vec![(signers[0].verifier().clone(), w1_url)]);
    monitor.poll().await.unwrap();
    let views = monitor.check_witnesses().await.unwrap();
    assert!(
        matches!(&views[..], [keurmerk_verify::monitor::WitnessView::Consistent { .. }]),
        "{views:?}"
    );
    // ...and catches a split view: a fresh witness that was shown only the
    // forged history cosigned it, which the log cannot reconcile with what
    // it shows the monitor.
    let fooled_signer = CosignatureSigner::from_seed("witness.test/fooled", &[7; 32]).unwrap();
    let fooled = Arc::new(
        Witness::new(
            fooled_signer.clone(),
            vec![log_key.clone()],
            &states.path().join("fooled"),
        )
        .unwrap(),
    );
    fooled
        .add_checkpoint(&format!("old 0\n\n{forged}"), 1_800_000_000)
        .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fooled_url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, router(fooled)).await.unwrap() });
    let mut monitor = keurmerk_verify::monitor::Monitor::new(&base, log_key.clone())
        .with_witnesses(vec![(fooled_signer.verifier().clone(), fooled_url)]);
    monitor.poll().await.unwrap();
    let alarm = monitor.check_witnesses().await.unwrap_err();
    assert!(alarm.to_string().contains("split view"), "{alarm}");
}

/// Two deployments witness each other, each server hosting the witness for
/// the other's log (`--witness-for`): each has its checkpoints cosigned by
/// the other server at `/witness/add-checkpoint`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_witness_each_other() {
    // Keys first (as an operator would exchange them), in each server's
    // data directory where it looks for them at start; ports first too, so
    // each can be told where the other's witness is.
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let ports = [e2e::free_port(), e2e::free_port()];
    let mut logs = Vec::new();
    let mut witnesses = Vec::new();
    for (i, (dir, name)) in dirs.iter().zip(["a.test", "b.test"]).enumerate() {
        let log = NoteSigner::from_seed(&format!("{name}/keurmerk-log"), &[30 + i as u8; 32]).unwrap();
        let witness = CosignatureSigner::from_seed(&format!("{name}/keurmerk-witness"), &[40 + i as u8; 32]).unwrap();
        std::fs::write(dir.path().join("log-signing-key"), log.to_private_string()).unwrap();
        std::fs::write(dir.path().join("witness-signing-key"), witness.to_private_string()).unwrap();
        logs.push(log.verifier().clone());
        witnesses.push(witness.verifier().clone());
    }
    let mut servers = Vec::new();
    for i in 0..2 {
        let other = 1 - i;
        let witness = format!("{}=http://127.0.0.1:{}/witness", witnesses[other], ports[other]);
        let witness_for = logs[other].to_string();
        let dir = dirs[i].path().to_str().unwrap();
        let args = ["--data-dir", dir, "--witness", &witness, "--witness-for", &witness_for];
        servers.push(ServerProcess::start_on(Path::new(BIN), &args, ports[i]).unwrap());
    }
    let client = reqwest::Client::new();
    for i in 0..2 {
        let other = 1 - i;
        let base = servers[i].base_url();
        // Each serves the key of the witness it hosts (for the other's log).
        let (_, k) = text(&client, format!("{base}/.well-known/keurmerk-witness-key")).await;
        assert_eq!(k.trim(), witnesses[i].to_string());
        let body = common::demo_decision_at(&client, &base, "reject_all", json!({}), "nl").await;
        let res = common::post_demo_decision_at(&client, &base, &body).await.unwrap();
        assert_eq!(res.status(), 201);
        let index = res.json::<Value>().await.unwrap()["index"].as_u64().unwrap();
        let policy = WitnessPolicy::new(vec![witnesses[other].clone()], 1).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, note) = text(&client, format!("{base}/api/v1/log/checkpoint")).await;
            if checkpoint::open(&note, &logs[i]).is_ok_and(|c| c.size > index) && policy.check(&note).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{base}: not cosigned by {}: {note}",
                witnesses[other]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // A log a server does not witness is refused there (404, per tlog-witness).
    let stranger = NoteSigner::from_seed("c.test/keurmerk-log", &[50; 32]).unwrap();
    let note = Checkpoint {
        origin: "c.test/keurmerk-log".into(),
        size: 1,
        root: [1; 32],
        extensions: vec![],
    }
    .sign(&stranger)
    .unwrap();
    let res = client
        .post(format!("{}/witness/add-checkpoint", servers[0].base_url()))
        .body(format!("old 0\n\n{note}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "{}", res.text().await.unwrap());
}
