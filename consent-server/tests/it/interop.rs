//! Interoperability with an independent implementation of the same C2SP
//! specifications, taken from the package registry (PyPI, pinned in
//! `tools/interop-requirements.txt`, installed by `scripts/setup`):
//! `aics-tlog` (signed notes, tlog-checkpoint, tlog-cosignature, RFC 9162
//! proofs) and `aics-witness` (a C2SP tlog-witness).
//!
//! Both directions, with the real server binary:
//! - the Python witness cosigns the server's checkpoints over
//!   `add-checkpoint`, and Keurmerk's verifier accepts its cosignature/v1
//!   lines beside those of Keurmerk's own witness;
//! - `aics-tlog` accepts the server's signed checkpoint, Keurmerk's
//!   witness's cosignature, an inclusion proof and a consistency proof
//!   served by the server, and refuses a tampered leaf;
//! - the Python witness refuses a second history forged with the log's own key.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use consent_core::checkpoint::{self, Checkpoint};
use consent_core::cosignature::{CosignatureSigner, CosignatureVerifier, WitnessPolicy};
use consent_core::note::{NoteSigner, NoteVerifier};
use e2e::ServerProcess;
use keurmerk_verify::witness::{Witness, router};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

fn python() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/venv/bin/python");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup (it installs aics-tlog and aics-witness into tools/venv)",
        bin.display()
    );
    bin
}

/// Runs `python -m <module> <args>`; its exit code and stdout.
fn run(module: &str, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(python())
        .arg("-m")
        .arg(module)
        .args(args)
        .output()
        .expect("running python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
}

/// The Python witness, killed when dropped.
struct PythonWitness(std::process::Child);

impl Drop for PythonWitness {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn text(client: &reqwest::Client, url: String) -> (u16, String) {
    let res = client.get(url).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_c2sp_implementation_agrees_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let path = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();

    // The Python witness's identity first: the server is told about it.
    let port = e2e::free_port();
    let config = path("witness.json");
    let (code, out) = run(
        "aics_witness",
        &[
            "init",
            "--config",
            &config,
            "--name",
            "witness.test/aics",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let aics_vkey = out
        .lines()
        .find(|l| l.starts_with("witness.test/aics+"))
        .unwrap_or_else(|| panic!("no vkey in: {out}"))
        .trim()
        .to_owned();
    let aics = CosignatureVerifier::parse(&aics_vkey).unwrap();

    // Keurmerk's own witness beside it.
    let ours = CosignatureSigner::from_seed("witness.test/keurmerk", &[21; 32]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let w1 = format!("{}=http://{}", ours.verifier(), listener.local_addr().unwrap());
    let w2 = format!("{aics_vkey}=http://127.0.0.1:{port}");
    let server = ServerProcess::start_fresh(
        Path::new(BIN),
        &["--witness", &w1, "--witness", &w2, "--witness-quorum", "2"],
    )
    .unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let (_, key) = text(&client, format!("{base}/.well-known/keurmerk-log-key")).await;
    let log_vkey = key.trim().to_owned();
    let log_key = NoteVerifier::parse(&log_vkey).unwrap();
    let origin = log_key.name().to_owned();

    let (code, out) = run(
        "aics_witness",
        &["add-log", "--config", &config, "--origin", &origin, "--vkey", &log_vkey],
    );
    assert_eq!(code, 0, "{out}");
    let _python_witness = PythonWitness(
        std::process::Command::new(python())
            .args([
                "-m",
                "aics_witness",
                "serve",
                "--config",
                &config,
                "--log-level",
                "WARNING",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let state = tempfile::tempdir().unwrap();
    let witness = Arc::new(Witness::new(ours.clone(), vec![log_key.clone()], state.path()).unwrap());
    tokio::spawn(async move { axum::serve(listener, router(witness)).await.unwrap() });

    // Decisions, until a checkpoint covering them carries both cosignatures.
    let body = common::demo_decision_at(&client, &base, "reject_all", json!({}), "nl").await;
    let mut last = Value::Null;
    for _ in 0..4 {
        let res = common::post_demo_decision_at(&client, &base, &body).await.unwrap();
        assert_eq!(res.status(), 201);
        last = res.json().await.unwrap();
    }
    let index = last["index"].as_u64().unwrap();
    let both = WitnessPolicy::new(vec![ours.verifier().clone(), aics.clone()], 2).unwrap();
    let first = wait_for_cosigned(&client, &base, &log_key, &both, index).await;

    // Rust reads Python's cosignature...
    let by: Vec<String> = both.check(&first).unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(by, ["witness.test/keurmerk", "witness.test/aics"]);

    // ...and Python reads the server's note and Keurmerk's cosignature.
    std::fs::write(path("checkpoint"), &first).unwrap();
    let ours_vkey = ours.verifier().to_string();
    let checkpoint_args = [
        "verify-checkpoint",
        "--note",
        &path("checkpoint"),
        "--log-key",
        &log_vkey,
        "--origin",
        &origin,
        "--witness-key",
        &ours_vkey,
        "--witness-key",
        &aics_vkey,
        "--quorum",
        "2",
    ];
    let (code, out) = run("aics_tlog", &checkpoint_args);
    assert_eq!(code, 0, "aics-tlog refused the server's checkpoint:\n{out}\n{first}");
    // A cosignature by a key the note does not carry does not count.
    let stranger = CosignatureSigner::from_seed("witness.test/stranger", &[9; 32]).unwrap();
    let stranger_vkey = stranger.verifier().to_string();
    let mut strict = checkpoint_args.to_vec();
    strict[8] = &stranger_vkey;
    let (code, out) = run("aics_tlog", &strict);
    assert_eq!(code, 1, "a missing cosignature was accepted:\n{out}");

    // An inclusion proof the server serves, checked by Python.
    let consent = last["consent_id"].as_str().unwrap();
    let secret = last["secret"].as_str().unwrap_or_default();
    let bundles: Vec<Value> = client
        .get(format!("{base}/api/v1/sites/demo/visitors/{consent}/proofs"))
        .header("x-keurmerk-secret", secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bundle = bundles.last().unwrap();
    let leaf = STANDARD.decode(bundle["record"].as_str().unwrap()).unwrap();
    let proof = bundle["proof"].as_str().unwrap();
    let (head, note) = proof.split_once("\n\n").unwrap();
    let mut lines = head.lines().skip(1);
    let leaf_index = lines.next().unwrap().strip_prefix("index ").unwrap().to_owned();
    let hashes: Vec<&str> = lines.collect();
    let cp = checkpoint::open(note, &log_key).unwrap();
    std::fs::write(path("leaf"), &leaf).unwrap();
    std::fs::write(path("proof"), hashes.join("\n") + "\n").unwrap();
    let root = STANDARD.encode(cp.root);
    let size = cp.size.to_string();
    let inclusion = |leaf_file: String| {
        run(
            "aics_tlog",
            &[
                "verify-inclusion",
                "--leaf",
                &leaf_file,
                "--index",
                &leaf_index,
                "--size",
                &size,
                "--root",
                &root,
                "--proof",
                &path("proof"),
            ],
        )
    };
    let (code, out) = inclusion(path("leaf"));
    assert_eq!(code, 0, "aics-tlog refused the server's inclusion proof:\n{out}");
    let mut tampered = leaf.clone();
    tampered[10] ^= 1;
    std::fs::write(path("tampered"), &tampered).unwrap();
    let (code, out) = inclusion(path("tampered"));
    assert_eq!(code, 1, "a tampered leaf was accepted:\n{out}");

    // A consistency proof between two checkpoints, checked by Python.
    for _ in 0..3 {
        let res = common::post_demo_decision_at(&client, &base, &body).await.unwrap();
        assert_eq!(res.status(), 201);
    }
    let later = wait_for_cosigned(&client, &base, &log_key, &both, cp.size + 2).await;
    let new = checkpoint::open(&later, &log_key).unwrap();
    let (status, consistency) = text(
        &client,
        format!("{base}/api/v1/log/consistency?old={}&new={}", cp.size, new.size),
    )
    .await;
    assert_eq!(status, 200, "{consistency}");
    std::fs::write(path("consistency"), &consistency).unwrap();
    let (code, out) = run(
        "aics_tlog",
        &[
            "verify-consistency",
            "--old-size",
            &cp.size.to_string(),
            "--new-size",
            &new.size.to_string(),
            "--old-root",
            &STANDARD.encode(cp.root),
            "--new-root",
            &STANDARD.encode(new.root),
            "--proof",
            &path("consistency"),
        ],
    );
    assert_eq!(code, 0, "aics-tlog refused the server's consistency proof:\n{out}");

    // The Python witness refuses a second history forged with the log's
    // own key: same size as what it cosigned, another root.
    let skey = std::fs::read_to_string(server.data_dir().unwrap().join("log-signing-key")).unwrap();
    let signer = NoteSigner::parse(skey.trim()).unwrap();
    let forged = Checkpoint {
        origin: origin.clone(),
        size: new.size,
        root: [7; 32],
        extensions: vec![],
    }
    .sign(&signer)
    .unwrap();
    let res = client
        .post(format!("http://127.0.0.1:{port}/add-checkpoint"))
        .body(format!("old {}\n\n{forged}", new.size))
        .send()
        .await
        .unwrap();
    // tlog-witness: 409 for a stale old size, 422 for a proof that does not
    // verify; a same-size checkpoint with another root is the latter.
    let status = res.status().as_u16();
    assert!(matches!(status, 409 | 422), "{status}: {}", res.text().await.unwrap());
}

/// The served checkpoint once it covers `index` and carries the
/// cosignatures `policy` asks for.
async fn wait_for_cosigned(
    client: &reqwest::Client,
    base: &str,
    log_key: &NoteVerifier,
    policy: &WitnessPolicy,
    index: u64,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, note) = text(client, format!("{base}/api/v1/log/checkpoint")).await;
        if status == 200 && checkpoint::open(&note, log_key).unwrap().size > index && policy.check(&note).is_ok() {
            return note;
        }
        assert!(
            Instant::now() < deadline,
            "no cosigned checkpoint covering leaf {index}: {note}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
