//! Writes the generated part of the seed corpora under `fuzz/corpus/`:
//! decisions, configurations, signed notes, checkpoints, consistency and
//! inclusion proofs, made by the product's own code from the repository's
//! test vectors (RFC 9162 test leaves, the Go signed-note example, the
//! demo configuration), plus copies of the repository's fixture files: the
//! scanner's test pages and signature files, the demo shop's pages.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example seeds`

use std::path::Path;

use consent_core::checkpoint::Checkpoint;
use consent_core::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash};
use consent_core::tlog_proof::{ProofBundle, TlogProof, format_hash_lines};
use consent_core::{ConsentId, DecisionRecord, DecisionRequest, SiteConfig, SiteId};
use serde_json::json;

fn write(target: &str, name: &str, bytes: impl AsRef<[u8]>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// The RFC 9162 test leaves (transparency-dev/merkle `proof/verify_test.go`).
const LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

fn decisions(config: &SiteConfig) {
    let version = config.version().0;
    let bodies = [
        (
            "accept_all",
            json!({"config_version": version, "method": "accept_all",
                   "categories": {"preferences": true, "analytics": true, "marketing": true},
                   "language": "en", "page_path": "/"}),
        ),
        (
            "reject_all",
            json!({"config_version": version, "method": "reject_all", "categories": {},
                   "language": "nl", "page_path": "/winkel"}),
        ),
        (
            "custom_services",
            json!({"config_version": version, "method": "custom",
                   "categories": {"analytics": true, "marketing": false},
                   "services": {"youtube": true}, "language": "nl", "page_path": "/winkel"}),
        ),
        (
            "gpc",
            json!({"config_version": version, "method": "gpc", "categories": {"analytics": true},
                   "language": "en", "page_path": "/a/b", "gpc": true}),
        ),
        (
            "withdrawal_returning",
            json!({"consent_id": ConsentId::from_random([1; 16]).to_string(), "secret": "c2VjcmV0",
                   "config_version": version, "method": "withdrawal", "categories": {"marketing": false},
                   "language": "en", "page_path": "/privacy"}),
        ),
        (
            "refused_query",
            json!({"config_version": version, "method": "custom", "categories": {},
                   "language": "en", "page_path": "/a?email=x@y.z"}),
        ),
    ];
    for (name, body) in bodies {
        // Checked against the real parser, so a seed never rots silently.
        serde_json::from_value::<DecisionRequest>(body.clone()).unwrap();
        write("decision", name, serde_json::to_vec(&body).unwrap());
    }
    write(
        "decision",
        "unknown_field",
        br#"{"config_version":"x","method":"custom","categories":{},"language":"nl","page_path":"/","ip":"1.2.3.4"}"#,
    );
    // A sealed record's canonical bytes, as the server commits them.
    let request: DecisionRequest = serde_json::from_value(bodies_first(&version)).unwrap();
    let valid = request.validate(config).unwrap();
    let record = DecisionRecord::seal(
        SiteId::parse("demo").unwrap(),
        ConsentId::from_random([2; 16]),
        1_764_000_000_000,
        valid,
        Some("Firefox 133".into()),
        &[3; 32],
        [5; 24],
    );
    write("tlog_proof", "record_bytes", record.canonical_bytes());
}

fn bodies_first(version: &str) -> serde_json::Value {
    json!({"config_version": version, "method": "custom", "categories": {"analytics": true},
           "services": {"youtube": false}, "language": "en", "page_path": "/"})
}

fn configs(demo: &SiteConfig) {
    let mut texts = demo.clone();
    texts.texts.insert(
        "nl".into(),
        [("reopen".to_owned(), "Cookies </script><!--".to_owned())].into(),
    );
    texts.languages.push("en-gb".into());
    texts.privacy_policy_url = Some("https://shop.example/privacy".into());
    for (name, c) in [
        ("starter", SiteConfig::starter()),
        ("demo", demo.clone()),
        ("texts", texts),
    ] {
        c.validate().unwrap();
        let pretty = serde_json::to_vec_pretty(&c).unwrap();
        write("site_config", name, &pretty);
        write("loader", name, &pretty);
    }
    write(
        "site_config",
        "invalid_no_necessary",
        br#"{"categories":[{"id":"analytics"}],"languages":["nl"]}"#,
    );
}

fn notes() {
    let go = keurmerk_fuzz::go_signer();
    let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    let signed = go.sign(text).unwrap();
    write("note", "go_example", &signed);
    write("note", "go_vkey", keurmerk_fuzz::GO_NOTE_VKEY);
    write("note", "go_skey", keurmerk_fuzz::GO_NOTE_SKEY);
    let witness = keurmerk_fuzz::log_signer().sign(text).unwrap();
    let line = witness.rsplit_once("\n\n").unwrap().1;
    write("note", "cosigned", format!("{signed}{line}"));
}

fn log() {
    let signer = keurmerk_fuzz::log_signer();
    let mut tree = MemoryTree::new();
    let mut checkpoints = vec![];
    for leaf in LEAVES {
        tree.push(leaf_hash(leaf));
        let cp = Checkpoint {
            origin: signer.name().into(),
            size: tree.size(),
            root: tree.root(),
            extensions: vec![],
        };
        checkpoints.push(cp.sign(&signer).unwrap());
    }
    let size = LEAVES.len() as u64;
    for (old, new) in [(1u64, 8u64), (3, 7), (4, 8), (6, 8)] {
        let proof = format_hash_lines(&consistency_proof(&tree, old, new).unwrap());
        let mut input = checkpoints[old as usize - 1].clone().into_bytes();
        input.push(0xff);
        input.extend_from_slice(checkpoints[new as usize - 1].as_bytes());
        input.push(0xff);
        input.extend_from_slice(proof.as_bytes());
        write("checkpoint", &format!("consistency_{old}_{new}"), input);
    }
    let extended = Checkpoint {
        origin: signer.name().into(),
        size,
        root: tree.root(),
        extensions: vec!["extension line".into()],
    };
    write("checkpoint", "extension", extended.sign(&signer).unwrap());
    write("note", "checkpoint", &checkpoints[7]);

    let mut bundles = vec![];
    for index in [0u64, 3, 7] {
        let proof = TlogProof {
            extra: (index == 3).then(|| b"extra data".to_vec()),
            index,
            path: inclusion_proof(&tree, index, size).unwrap(),
            checkpoint: checkpoints[7].clone(),
        };
        write("tlog_proof", &format!("proof_{index}"), proof.to_text());
        let bundle = ProofBundle::new(LEAVES[index as usize], &proof);
        write(
            "tlog_proof",
            &format!("bundle_{index}"),
            serde_json::to_vec(&bundle).unwrap(),
        );
        bundles.push(bundle);
    }
    write("tlog_proof", "bundles", serde_json::to_vec(&bundles).unwrap());
    // A record given as a JSON object (canonicalised before hashing).
    let record = br#"{"a":1,"b":[true,"x"]}"#;
    let mut t = MemoryTree::new();
    t.push(leaf_hash(record));
    t.push(leaf_hash(b"other"));
    let cp = Checkpoint {
        origin: signer.name().into(),
        size: 2,
        root: t.root(),
        extensions: vec![],
    };
    let proof = TlogProof {
        extra: None,
        index: 0,
        path: inclusion_proof(&t, 0, 2).unwrap(),
        checkpoint: cp.sign(&signer).unwrap(),
    };
    let object = json!({"record": {"b": [true, "x"], "a": 1}, "proof": proof.to_text()});
    write("tlog_proof", "bundle_object", serde_json::to_vec(&object).unwrap());
}

fn cookies() {
    for (i, h) in [
        "_fbp=fb.1.2.3; Max-Age=7776000; Path=/; Domain=.Shop.example; SameSite=Lax",
        "sid=1; Expires=Wed, 15 Nov 2023 22:13:20 GMT",
        "sid=abc123; Path=/; HttpOnly",
        "srv_ab=variant-b; Path=/; Max-Age=31536000",
        "http_decade=1; Path=/; Max-Age=315360000",
        "_ga=GA1.1.123.456; expires=Thu, 01 Jan 1970 00:00:00 GMT; domain=example.com; path=/a; Secure",
        "2 years",
        "session",
    ]
    .iter()
    .enumerate()
    {
        write("set_cookie", &format!("header_{i}"), h);
    }
}

/// Copies every `*.ext` file of `from` (relative to the repository root)
/// into `target`'s corpus, each with `prefix` before its bytes.
fn copy(from: &str, ext: &str, target: &str, prefix: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(from);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == ext) {
            let mut bytes = prefix.to_vec();
            bytes.extend(std::fs::read(&path).unwrap());
            let name = path.file_name().unwrap().to_string_lossy();
            write(target, &format!("{}_{name}", from.replace('/', "_")), bytes);
        }
    }
}

fn main() {
    // The html target's first byte says where to split the page in two.
    copy("scanner/tests/fixtures/site", "html", "html", &[128]);
    copy("consent-widget/demo", "html", "html", &[77]);
    copy("scanner/signatures", "toml", "loader", &[]);
    let demo = keurmerk_fuzz::demo_config();
    decisions(&demo);
    configs(&demo);
    notes();
    log();
    cookies();
}
