//! The real `keurmerk-verify witness` process over HTTP on loopback: the
//! tlog-witness answers, its state across `kill -9`, and a split view (a
//! second history signed with the log's key) refused by the witness and by
//! `keurmerk-verify proof` with a witness policy.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use consent_core::checkpoint::Checkpoint;
use consent_core::cosignature::{CosignatureVerifier, add_signature_lines};
use consent_core::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash};
use consent_core::note::NoteSigner;
use consent_core::tlog_proof::{ProofBundle, TlogProof, format_hash_lines};

const ORIGIN: &str = "keurmerk.test/log";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_keurmerk-verify")
}

fn record(i: u64, fork: bool) -> Vec<u8> {
    if fork && i >= 3 {
        format!(r#"{{"forged":{i}}}"#).into_bytes()
    } else {
        format!(r#"{{"i":{i},"v":1}}"#).into_bytes()
    }
}

fn tree(n: u64, fork: bool) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(leaf_hash(&record(i, fork)));
    }
    t
}

fn note(log: &NoteSigner, t: &MemoryTree) -> String {
    Checkpoint {
        origin: ORIGIN.into(),
        size: t.size(),
        root: t.root(),
        extensions: vec![],
    }
    .sign(log)
    .unwrap()
}

/// A witness process; killed (SIGKILL) when dropped.
struct WitnessProcess {
    child: Child,
    url: String,
    // Kept open: the witness must never write into a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl WitnessProcess {
    fn start(key_file: &Path, state: &Path, log_vkey: &str) -> Self {
        let mut child = Command::new(bin())
            .args(["witness", "--listen", "127.0.0.1:0", "--key-file"])
            .arg(key_file)
            .arg("--state-dir")
            .arg(state)
            .args(["--log", log_vkey])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .expect("the address line")
            .to_owned();
        Self {
            child,
            url: format!("http://{addr}"),
            _stdout: stdout,
        }
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn add(url: &str, body: String) -> (u16, Option<String>, String) {
    let r = reqwest::Client::new()
        .post(format!("{url}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ctype = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    (status, ctype, r.text().await.unwrap())
}

fn keygen(dir: &Path, name: &str) -> (std::path::PathBuf, CosignatureVerifier) {
    let key_file = dir.join(format!("{}.key", name.replace('/', "_")));
    let o = Command::new(bin())
        .args(["witness-keygen", "--name", name, "--out"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let vkey = CosignatureVerifier::parse(String::from_utf8(o.stdout).unwrap().trim()).unwrap();
    // Never overwrites a key.
    let again = Command::new(bin())
        .args(["witness-keygen", "--name", name, "--out"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(!again.status.success());
    (key_file, vkey)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witness_answers_as_the_spec_says_and_keeps_its_word_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let log = NoteSigner::from_seed(ORIGIN, &[1; 32]).unwrap();
    let (key_file, wkey) = keygen(dir.path(), "witness.test/w1");
    let state = dir.path().join("state");
    let mut w = WitnessProcess::start(&key_file, &state, &log.verifier().to_string());

    // First contact: old 0, cosigned; the line verifies under the vkey.
    let t5 = tree(5, false);
    let n5 = note(&log, &t5);
    let (status, _, line) = add(&w.url, format!("old 0\n\n{n5}")).await;
    assert_eq!(status, 200, "{line}");
    let cosigned = add_signature_lines(&n5, &line).unwrap();
    assert!(wkey.verify(&cosigned).unwrap().is_some());

    // Stale old size: 409 with the witness's size, as text/x.tlog.size.
    let t8 = tree(8, false);
    let n8 = note(&log, &t8);
    let (status, ctype, body) = add(&w.url, format!("old 0\n\n{n8}")).await;
    assert_eq!(
        (status, ctype.as_deref(), body.as_str()),
        (409, Some("text/x.tlog.size"), "5\n")
    );

    // kill -9 right after a cosignature was returned: it must be remembered.
    let p = format_hash_lines(&consistency_proof(&t8, 5, 8).unwrap());
    let (status, _, _) = add(&w.url, format!("old 5\n{p}\n{n8}")).await;
    assert_eq!(status, 200);
    w.kill9();
    let w = WitnessProcess::start(&key_file, &state, &log.verifier().to_string());
    let (status, _, body) = add(&w.url, format!("old 5\n{p}\n{n8}")).await;
    assert_eq!(
        (status, body.as_str()),
        (409, "8\n"),
        "the state before the kill is kept"
    );

    // A conflicting history after the restart: same size, another root...
    let f8 = tree(8, true);
    let (status, _, _) = add(&w.url, format!("old 8\n\n{}", note(&log, &f8))).await;
    assert_eq!(status, 422);
    // ...or a larger forged tree with a proof from the forged history.
    let f12 = tree(12, true);
    let fp = format_hash_lines(&consistency_proof(&f12, 8, 12).unwrap());
    let (status, _, _) = add(&w.url, format!("old 8\n{fp}\n{}", note(&log, &f12))).await;
    assert_eq!(status, 422);
    // The honest continuation is still cosigned.
    let t12 = tree(12, false);
    let tp = format_hash_lines(&consistency_proof(&t12, 8, 12).unwrap());
    let (status, _, _) = add(&w.url, format!("old 8\n{tp}\n{}", note(&log, &t12))).await;
    assert_eq!(status, 200);

    // The other answers.
    let imposter = NoteSigner::from_seed(ORIGIN, &[9; 32]).unwrap();
    let (status, _, _) = add(&w.url, format!("old 12\n\n{}", note(&imposter, &t12))).await;
    assert_eq!(status, 403, "signed by a key the witness does not trust");
    let mut tampered = note(&log, &t12);
    let at = tampered.find("\n\n").unwrap() + 6;
    let c = tampered.as_bytes()[at];
    tampered.replace_range(at..at + 1, if c == b'A' { "B" } else { "A" });
    let (status, _, _) = add(&w.url, format!("old 12\n\n{tampered}")).await;
    assert_eq!(status, 403, "a trusted key's line that fails");
    let stranger = NoteSigner::from_seed("other.test/log", &[1; 32]).unwrap();
    let foreign = Checkpoint {
        origin: "other.test/log".into(),
        size: 5,
        root: t5.root(),
        extensions: vec![],
    }
    .sign(&stranger)
    .unwrap();
    let (status, _, _) = add(&w.url, format!("old 0\n\n{foreign}")).await;
    assert_eq!(status, 404);
    let (status, _, _) = add(&w.url, format!("old 13\n\n{}", note(&log, &t12))).await;
    assert_eq!(status, 400, "old above the size");
    let (status, _, _) = add(&w.url, "old 1\nnot base64\n\nx\n".into()).await;
    assert_eq!(status, 400);
    let (status, _, _) = add(&w.url, "x".repeat(1 << 20)).await;
    assert_eq!(status, 413, "bounded body");
    let empty_with_root = Checkpoint {
        origin: ORIGIN.into(),
        size: 0,
        root: [1; 32],
        extensions: vec![],
    }
    .sign(&log)
    .unwrap();
    let (status, _, _) = add(&w.url, format!("old 0\n\n{empty_with_root}")).await;
    assert_eq!(status, 422);

    // The monitoring endpoint: the latest cosigned checkpoint, both signatures.
    let hash = keurmerk_verify::witness::origin_hash(ORIGIN);
    let served = reqwest::get(format!("{}/{hash}/checkpoint", w.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        consent_core::checkpoint::open(&served, log.verifier()).unwrap().size,
        12
    );
    assert!(wkey.verify(&served).unwrap().is_some());
    let missing = reqwest::get(format!("{}/{}/checkpoint", w.url, "0".repeat(64)))
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

fn bundle(note: &str, t: &MemoryTree, index: u64, fork: bool) -> Vec<u8> {
    let proof = TlogProof {
        extra: None,
        index,
        path: inclusion_proof(t, index, t.size()).unwrap(),
        checkpoint: note.to_owned(),
    };
    serde_json::to_vec(&ProofBundle::new(&record(index, fork), &proof)).unwrap()
}

fn verify(args: &[&str]) -> (i32, String) {
    let o = Command::new(bin()).args(args).output().unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_second_history_is_refused_by_the_witnesses_and_the_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let log = NoteSigner::from_seed(ORIGIN, &[1; 32]).unwrap();
    let lkey = log.verifier().to_string();
    let (k1, w1) = keygen(dir.path(), "witness.test/w1");
    let (k2, w2) = keygen(dir.path(), "witness.test/w2");
    let a = WitnessProcess::start(&k1, &dir.path().join("s1"), &lkey);
    let b = WitnessProcess::start(&k2, &dir.path().join("s2"), &lkey);

    // The history the witnesses see.
    let honest = tree(6, false);
    let honest_note = note(&log, &honest);
    let mut cosigned = honest_note.clone();
    for w in [&a, &b] {
        let (status, _, line) = add(&w.url, format!("old 0\n\n{honest_note}")).await;
        assert_eq!(status, 200);
        cosigned = add_signature_lines(&cosigned, &line).unwrap();
    }
    // The operator forges a second history of the same size with the log key
    // (leaf 3 onwards rewritten) and tries to have it witnessed: refused.
    let forged = tree(6, true);
    let forged_note = note(&log, &forged);
    for w in [&a, &b] {
        let (status, _, _) = add(&w.url, format!("old 6\n\n{forged_note}")).await;
        assert_eq!(status, 422);
        let (status, _, _) = add(&w.url, format!("old 0\n\n{forged_note}")).await;
        assert_eq!(status, 409);
    }

    let (w1s, w2s) = (w1.to_string(), w2.to_string());
    let policy = ["--witness", &w1s, "--witness", &w2s, "--quorum", "2"];
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    };
    // The honest, cosigned bundle passes the policy.
    let good = write("good.json", &bundle(&cosigned, &honest, 4, false));
    let (code, out) = verify(&[&["proof", "--key", &lkey, "--bundle", &good][..], &policy[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("witnessed by: witness.test/w1, witness.test/w2"), "{out}");

    // The forged bundle verifies against the log key alone (that is the
    // attack), but not under the witness policy.
    let forged_bundle = write("forged.json", &bundle(&forged_note, &forged, 4, true));
    let (code, _) = verify(&["proof", "--key", &lkey, "--bundle", &forged_bundle]);
    assert_eq!(code, 0, "the log key alone cannot tell");
    let (code, out) = verify(&[&["proof", "--key", &lkey, "--bundle", &forged_bundle][..], &policy[..]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("0 valid cosignature(s) by trusted witnesses, the policy requires 2"),
        "{out}"
    );

    // Cosignature lines copied from the honest checkpoint do not transfer.
    let mut stolen = forged_note.clone();
    for l in cosigned.lines().filter(|l| l.contains("witness.test/")) {
        stolen = add_signature_lines(&stolen, &format!("{l}\n")).unwrap();
    }
    let stolen_bundle = write("stolen.json", &bundle(&stolen, &forged, 4, true));
    let (code, out) = verify(&[&["proof", "--key", &lkey, "--bundle", &stolen_bundle][..], &policy[..]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not verify"), "{out}");

    // Quorum 1 of 2 with one cosignature passes; a missing --witness key is
    // a usage error (exit 2).
    let one = add_signature_lines(
        &honest_note,
        cosigned.lines().find(|l| l.contains("witness.test/w2")).unwrap(),
    )
    .unwrap();
    let one_bundle = write("one.json", &bundle(&one, &honest, 0, false));
    let (code, out) = verify(&[
        "proof",
        "--key",
        &lkey,
        "--bundle",
        &one_bundle,
        "--witness",
        &w1s,
        "--witness",
        &w2s,
        "--quorum",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, _) = verify(&[
        "proof",
        "--key",
        &lkey,
        "--bundle",
        &one_bundle,
        "--witness",
        &w1s,
        "--witness",
        &w2s,
    ]);
    assert_eq!(code, 1, "default quorum: every witness given");
    let (code, _) = verify(&[
        "proof",
        "--key",
        &lkey,
        "--bundle",
        &one_bundle,
        "--witness",
        &w1s,
        "--quorum",
        "2",
    ]);
    assert_eq!(code, 2);
}
