//! Runs the real `keurmerk-verify` binary on bundles, checkpoints and proofs
//! generated here with the log library, and its monitor against a real HTTP
//! server on loopback.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use consent_core::checkpoint::Checkpoint;
use consent_core::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash};
use consent_core::note::NoteSigner;
use consent_core::tlog_proof::{ProofBundle, TlogProof, format_hash_lines};
use ed25519_dalek::SigningKey;

const ORIGIN: &str = "keurmerk.test/log";

fn signer(seed: u8) -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn record(i: u64) -> Vec<u8> {
    format!(r#"{{"i":{i},"v":1}}"#).into_bytes()
}

fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(leaf_hash(&record(i)));
    }
    t
}

fn signed_checkpoint(s: &NoteSigner, t: &MemoryTree) -> String {
    Checkpoint {
        origin: ORIGIN.into(),
        size: t.size(),
        root: t.root(),
        extensions: vec![],
    }
    .sign(s)
    .unwrap()
}

fn bundle(s: &NoteSigner, t: &MemoryTree, index: u64) -> ProofBundle {
    let proof = TlogProof {
        extra: None,
        index,
        path: inclusion_proof(t, index, t.size()).unwrap(),
        checkpoint: signed_checkpoint(s, t),
    };
    ProofBundle::new(&record(index), &proof)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keurmerk-verify"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn proof_valid_and_each_kind_of_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let s = signer(1);
    let key = s.verifier().to_string();
    let t = tree(21);
    let good = bundle(&s, &t, 13);
    let good_json = serde_json::to_vec(&good).unwrap();
    let f = write(dir.path(), "good.json", &good_json);
    let o = run(&["proof", "--key", &key, "--bundle", &f]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("valid: leaf 13 is in keurmerk.test/log at tree size 21"));

    // The key may also come from a file, and an array of bundles is accepted.
    let kf = write(dir.path(), "key", format!("{key}\n").as_bytes());
    let arr = serde_json::to_vec(&vec![good.clone(), bundle(&s, &t, 0)]).unwrap();
    let af = write(dir.path(), "arr.json", &arr);
    assert_eq!(run(&["proof", "--key", &kf, "--bundle", &af]).status.code(), Some(0));

    let other_record = ProofBundle {
        record: serde_json::Value::String(base64_of(&record(14))),
        ..good.clone()
    };
    let mut p = TlogProof::parse(&good.proof).unwrap();
    p.index = 12;
    let wrong_index = ProofBundle {
        proof: p.to_text(),
        ..good.clone()
    };
    let forged = bundle(&signer(2), &t, 13);
    let mut p = TlogProof::parse(&good.proof).unwrap();
    p.path.pop();
    let short = ProofBundle {
        proof: p.to_text(),
        ..good.clone()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "other record",
            serde_json::to_vec(&other_record).unwrap(),
            "does not lead to the expected root",
        ),
        (
            "wrong index",
            serde_json::to_vec(&wrong_index).unwrap(),
            "does not lead to the expected root",
        ),
        (
            "foreign key",
            serde_json::to_vec(&forged).unwrap(),
            "carries no signature by keurmerk.test/log+",
        ),
        ("short path", serde_json::to_vec(&short).unwrap(), "proof has 4 hashes"),
        (
            "altered checkpoint",
            serde_json::to_vec(&ProofBundle {
                proof: good.proof.replace("\n21\n", "\n22\n"),
                ..good.clone()
            })
            .unwrap(),
            "does not verify",
        ),
        ("not json", b"hello".to_vec(), "bundle is not JSON"),
        (
            "extra field",
            br#"{"record":"","proof":"","x":1}"#.to_vec(),
            "unknown field",
        ),
        (
            "bad header",
            serde_json::to_vec(&ProofBundle {
                proof: good.proof.replace("@v1", "@v9"),
                ..good.clone()
            })
            .unwrap(),
            "does not start with the line",
        ),
    ];
    for (name, json, reason) in cases {
        let f = write(dir.path(), "bad.json", &json);
        let o = run(&["proof", "--key", &key, "--bundle", &f]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stdout(&o));
        assert!(
            stdout(&o).starts_with("invalid: ") && stdout(&o).contains(reason),
            "{name}: {}",
            stdout(&o)
        );
    }
    // Flip bits across the whole file through the binary (a sample: the
    // library test flips every byte).
    for i in (0..good_json.len()).step_by(37) {
        let mut b = good_json.clone();
        b[i] ^= 0x04;
        let f = write(dir.path(), "flip.json", &b);
        let o = run(&["proof", "--key", &key, "--bundle", &f]);
        assert_eq!(o.status.code(), Some(1), "flip at {i}: {}", stdout(&o));
    }
    // Cannot run: bad key, missing file.
    assert_eq!(
        run(&["proof", "--key", "nope+00000000+AA", "--bundle", &f])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["proof", "--key", &key, "--bundle", "/nonexistent/x"])
            .status
            .code(),
        Some(2)
    );
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn receipts_valid_and_invalid() {
    use consent_core::receipt::{Pending, sign_batch};
    let dir = tempfile::tempdir().unwrap();
    let s = signer(1);
    let key = s.verifier().to_string();
    let items: Vec<Pending> = (0..3)
        .map(|i| Pending {
            index: i,
            leaf_hash: leaf_hash(&record(i)),
            time_ms: 1_000 + i,
        })
        .collect();
    let rs = sign_batch(&s, &items);
    let rf = write(dir.path(), "r.json", &serde_json::to_vec(&rs[1]).unwrap());
    let rec = write(dir.path(), "rec", &record(1));
    let o = run(&["receipt", "--key", &key, "--receipt", &rf, "--record", &rec]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("promised leaf 1"));
    let other = write(dir.path(), "other", &record(2));
    let o = run(&["receipt", "--key", &key, "--receipt", &rf, "--record", &other]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("different record"), "{}", stdout(&o));
    let mut forged = rs[1].clone();
    forged.index = 7;
    let ff = write(dir.path(), "f.json", &serde_json::to_vec(&forged).unwrap());
    let o = run(&["receipt", "--key", &key, "--receipt", &ff]);
    assert!(
        stdout(&o).contains("invalid: receipt signature does not verify"),
        "{}",
        stdout(&o)
    );
    let o = run(&["receipt", "--key", &signer(5).verifier().to_string(), "--receipt", &rf]);
    assert_eq!(o.status.code(), Some(1));
    let bad = write(dir.path(), "bad.json", b"{}");
    assert_eq!(
        run(&["receipt", "--key", &key, "--receipt", &bad]).status.code(),
        Some(1)
    );
}

#[test]
fn consistency_valid_and_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let s = signer(1);
    let key = s.verifier().to_string();
    let (t6, t9) = (tree(6), tree(9));
    let old = write(dir.path(), "old", signed_checkpoint(&s, &t6).as_bytes());
    let new = write(dir.path(), "new", signed_checkpoint(&s, &t9).as_bytes());
    let proof = write(
        dir.path(),
        "proof",
        format_hash_lines(&consistency_proof(&t9, 6, 9).unwrap()).as_bytes(),
    );
    let o = run(&["consistency", "--key", &key, &old, &new, &proof]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("tree size 9 extends tree size 6"));

    // A forked history: same size 9, leaf 7 rewritten.
    let mut fork = tree(7);
    fork.push(leaf_hash(b"rewritten"));
    fork.push(leaf_hash(&record(8)));
    let forked = write(dir.path(), "fork", signed_checkpoint(&s, &fork).as_bytes());
    let o = run(&["consistency", "--key", &key, &old, &forked, &proof]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("not append-only"), "{}", stdout(&o));
    // Swapped checkpoints.
    let o = run(&["consistency", "--key", &key, &new, &old, &proof]);
    assert!(
        stdout(&o).contains("old tree size 9 is larger than new tree size 6"),
        "{}",
        stdout(&o)
    );
    // A bad signature on either side.
    let other = write(dir.path(), "other", signed_checkpoint(&signer(3), &t9).as_bytes());
    let o = run(&["consistency", "--key", &key, &old, &other, &proof]);
    assert!(stdout(&o).starts_with("invalid: new checkpoint:"), "{}", stdout(&o));
    // A corrupted proof file.
    let bad = write(dir.path(), "badproof", b"not base64\n");
    let o = run(&["consistency", "--key", &key, &old, &new, &bad]);
    assert!(stdout(&o).contains("consistency proof file"), "{}", stdout(&o));
}

/// A tiny log server: serves whatever checkpoint and tree the test sets.
#[derive(Clone)]
struct FakeLog {
    state: Arc<Mutex<(String, MemoryTree)>>,
    /// Checkpoint requests served, so changes can wait for the monitor's
    /// first look (the binary may start slowly on a busy machine).
    polls: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeLog {
    async fn wait_for_polls(&self, n: usize) {
        while self.polls.load(std::sync::atomic::Ordering::SeqCst) < n {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

async fn serve(log: FakeLog) -> String {
    use axum::extract::{Query, State};
    use axum::routing::get;
    #[derive(serde::Deserialize)]
    struct Sizes {
        old: u64,
        new: u64,
    }
    let app = axum::Router::new()
        .route(
            "/api/v1/log/checkpoint",
            get(|State(l): State<FakeLog>| async move {
                l.polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                l.state.lock().unwrap().0.clone()
            }),
        )
        .route(
            "/api/v1/log/consistency",
            get(|State(l): State<FakeLog>, Query(q): Query<Sizes>| async move {
                let st = l.state.lock().unwrap();
                format_hash_lines(&consistency_proof(&st.1, q.old, q.new).unwrap_or_default())
            }),
        )
        .with_state(log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_follows_growth_and_alarms_on_a_fork() {
    let s = signer(1);
    let key = s.verifier().to_string();
    let t = tree(5);
    let log = FakeLog {
        state: Arc::new(Mutex::new((signed_checkpoint(&s, &t), t))),
        polls: Arc::default(),
    };
    let url = serve(log.clone()).await;

    // Grow the log while the monitor watches: all consistent.
    let grower = {
        let log = log.clone();
        let s = s.clone();
        tokio::spawn(async move {
            log.wait_for_polls(1).await;
            for n in 6..=12 {
                tokio::time::sleep(std::time::Duration::from_millis(60)).await;
                let t = tree(n);
                *log.state.lock().unwrap() = (signed_checkpoint(&s, &t), t);
            }
        })
    };
    let (u, k) = (url.clone(), key.clone());
    let o = tokio::task::spawn_blocking(move || {
        run(&[
            "monitor",
            "--url",
            &u,
            "--key",
            &k,
            "--interval",
            "0.05",
            "--count",
            "15",
        ])
    })
    .await
    .unwrap();
    grower.await.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("consistent: size"), "{}", stdout(&o));

    // Now the server rewrites history: a different tree of a larger size.
    let forker = {
        let log = log.clone();
        let s = s.clone();
        let seen = log.polls.load(std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            log.wait_for_polls(seen + 2).await;
            let mut fork = MemoryTree::new();
            for i in 0..14 {
                fork.push(leaf_hash(if i == 3 { b"evil".to_vec() } else { record(i) }.as_slice()));
            }
            *log.state.lock().unwrap() = (signed_checkpoint(&s, &fork), fork);
        })
    };
    let (u, k) = (url.clone(), key.clone());
    let o = tokio::task::spawn_blocking(move || {
        run(&[
            "monitor",
            "--url",
            &u,
            "--key",
            &k,
            "--interval",
            "0.05",
            "--count",
            "40",
        ])
    })
    .await
    .unwrap();
    forker.await.unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("ALARM: checkpoints of size 12 and 14 are inconsistent"),
        "{}",
        stdout(&o)
    );

    // A checkpoint signed by someone else: alarm at once.
    *log.state.lock().unwrap() = (signed_checkpoint(&signer(9), &tree(3)), tree(3));
    let (u, k) = (url.clone(), key.clone());
    let o = tokio::task::spawn_blocking(move || run(&["monitor", "--url", &u, "--key", &k, "--count", "1"]))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("ALARM: checkpoint does not verify"),
        "{}",
        stdout(&o)
    );

    // Nothing reachable: cannot run (2), not an alarm.
    let o = tokio::task::spawn_blocking(move || {
        run(&[
            "monitor",
            "--url",
            "http://127.0.0.1:9",
            "--key",
            &key,
            "--interval",
            "0",
            "--count",
            "2",
        ])
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
}

/// A tree whose leaf 1 is `attestation`'s canonical bytes, between records.
fn attestation_bundle(s: &NoteSigner, a: &consent_core::attestation::Attestation) -> ProofBundle {
    let leaves = [record(0), a.canonical_bytes(), record(2)];
    let mut t = MemoryTree::new();
    for l in &leaves {
        t.push(leaf_hash(l));
    }
    let proof = TlogProof {
        extra: None,
        index: 1,
        path: inclusion_proof(&t, 1, t.size()).unwrap(),
        checkpoint: signed_checkpoint(s, &t),
    };
    ProofBundle::new(&leaves[1], &proof)
}

#[test]
fn attestations_valid_failed_and_not_attestations() {
    use consent_core::attestation::{ATTESTATION_TYPE, Attestation, Count, Exposure};
    let dir = tempfile::tempdir().unwrap();
    let s = signer(1);
    let key = s.verifier().to_string();
    let measured = Exposure {
        measured: true,
        ..Exposure::default()
    };
    let mut a = Attestation {
        kind: ATTESTATION_TYPE.into(),
        site: consent_core::SiteId::parse("shop").unwrap(),
        scan_id: "scan-1".into(),
        scanned_at_ms: 1_790_000_000_000,
        attested_at_ms: 1_790_000_060_000,
        scanner: "consent-scan 0.1.0 (knowledge base 4)".into(),
        config_version: None,
        pages: vec!["https://shop.example/".into()],
        loader_first: Some(true),
        plain_tracker_tags: Count::default(),
        before_consent: measured.clone(),
        after_reject: measured,
        undeclared_cookies: Count::default(),
    };
    let passed = write(
        dir.path(),
        "passed.json",
        &serde_json::to_vec(&attestation_bundle(&s, &a)).unwrap(),
    );
    let o = run(&["attestation", "--key", &key, &passed, "--require-passed"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("valid: the attestation of site shop (scan scan-1) is leaf 1"),
        "{out}"
    );
    assert!(
        out.contains("verdict: passed") && out.contains("after \"reject all\""),
        "{out}"
    );
    let o = run(&["attestation", "--key", &key, &passed, "--lang", "nl"]);
    assert!(stdout(&o).contains("vóór een keuze van de bezoeker"), "{}", stdout(&o));

    // Authentic but failed: valid, and refused only with --require-passed.
    a.after_reject.tracker_requests = Count::of(2, ["Meta Pixel".to_string()]);
    let failed = write(
        dir.path(),
        "failed.json",
        &serde_json::to_vec(&attestation_bundle(&s, &a)).unwrap(),
    );
    let o = run(&["attestation", "--key", &key, &failed]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("verdict: failed"));
    let o = run(&["attestation", "--key", &key, &failed, "--require-passed"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));

    // Another log's key, and a decision's bundle, are refused.
    let o = run(&["attestation", "--key", &signer(2).verifier().to_string(), &passed]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let t = tree(3);
    let not = write(
        dir.path(),
        "record.json",
        &serde_json::to_vec(&bundle(&s, &t, 1)).unwrap(),
    );
    let o = run(&["attestation", "--key", &key, &not]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("not a Keurmerk attestation"), "{}", stdout(&o));
}
