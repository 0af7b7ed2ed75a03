//! API fuzzing from the contract: Schemathesis (PyPI, installed by
//! `scripts/setup` into `tools/venv`) reads the server's own `/openapi.json`
//! and drives every operation in it with generated valid and invalid input,
//! against a real server on each backend. Every answer must be documented:
//! no 5xx, a documented status, content type, headers and body schema
//! (docs/fuzzing.md says which checks run and why one is left out).
//!
//! Three runs per backend, each a separate credential, because an operation
//! authenticates with the first credential it finds: the admin session
//! (cookie + CSRF token) for every operation but log-out, an API key with
//! every scope of the demo site for the owner, log and scan operations, and
//! a throwaway session for log-out itself.
//!
//! `KEURMERK_API_FUZZ_EXAMPLES` (default 10 per operation) and
//! `KEURMERK_API_FUZZ_SEED` (default fixed, so a failure reproduces) let
//! `scripts/fuzz --api` run it longer and with fresh seeds.

use std::path::{Path, PathBuf};

use consent_server::settings::StorageSettings;
use serde_json::{Value, json};

use crate::common::{Kind, TestApp, spawn_app_with};

fn schemathesis() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/venv/bin/schemathesis");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup (it installs Schemathesis into tools/venv)",
        bin.display()
    );
    bin
}

/// Logs in as the admin and returns the session token and its CSRF token.
async fn session(app: &TestApp) -> (String, String) {
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": app.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("kmk_session=")?.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let body: Value = res.json().await.unwrap();
    (token, body["csrf"].as_str().unwrap().to_owned())
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// One Schemathesis run with `config` (TOML) and extra arguments; panics
/// with its report unless every check passed.
async fn run(app: &TestApp, dir: &Path, name: &str, config: &str, args: &[&str]) {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, config).unwrap();
    let examples = std::env::var("KEURMERK_API_FUZZ_EXAMPLES").unwrap_or_else(|_| "10".into());
    let seed = std::env::var("KEURMERK_API_FUZZ_SEED").unwrap_or_else(|_| "20261205".into());
    let out = tokio::process::Command::new(schemathesis())
        .current_dir(dir)
        .arg("--config-file")
        .arg(&file)
        .args(["run", &app.url("/openapi.json")])
        .args(["--max-examples", &examples, "--seed", &seed])
        // Every check but `positive_data_acceptance`: schema-valid input
        // the server still refuses with a documented 422 (an unknown
        // category, an origin with a path) is business validation that
        // JSON Schema cannot express, not a contract breach.
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        .args(["--workers", "1", "--generation-database", "none", "--no-color"])
        .args(["--warnings", "off", "--output-truncate", "false"])
        .args(args)
        .output()
        .await
        .expect("running schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis ({name}) found contract breaches:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It ran: a broken set-up that tests nothing must not pass.
    assert!(report.contains("Tested:"), "{report}");
}

async fn contract(kind: Kind) {
    let app = spawn_app_with(kind, |s| {
        // No scan workers: queued scans stay queued instead of crawling
        // whatever URL the generator made up.
        s.scan_workers = 0;
        // The binary's default: on Redis storage the scan queue is on the
        // same Redis (`--scan-queue` defaults to the `--redis` URL).
        if let StorageSettings::Redis { url, .. } = &s.storage {
            s.scan_queue = Some(url.clone());
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    // A visitor with a decision, so the visitor and proof operations reach
    // real data rather than only their 403s and 404s.
    let res = app.post_decision("demo", &app.decision().await).await;
    assert_eq!(res.status(), 201);
    let visitor: Value = res.json().await.unwrap();
    let key = app
        .api_key("demo", &["decisions:read", "config:write", "scans:read", "scans:write"])
        .await;
    let (token, csrf) = session(&app).await;
    let (logout_token, logout_csrf) = session(&app).await;

    // Fixed values for the parameters that name existing things; the
    // generator varies everything else (and these too, in negative cases).
    let shared = format!(
        "[parameters]\n\"path.site\" = \"demo\"\n\"path.consent_id\" = {}\n\"path.version\" = {}\n\
         \"header.x-keurmerk-secret\" = {}\n",
        quoted(visitor["consent_id"].as_str().unwrap()),
        quoted(&app.demo_version().await),
        quoted(visitor["secret"].as_str().unwrap()),
    );
    let origin = quoted(app.origin());

    let admin = format!(
        "headers = {{ Origin = {origin}, X-CSRF-Token = {} }}\n{shared}\n[auth.openapi.session]\napi_key = {}\n",
        quoted(&csrf),
        quoted(&token),
    );
    run(
        &app,
        dir.path(),
        "session",
        &admin,
        &["--exclude-path", "/api/v1/auth/logout"],
    )
    .await;

    let with_key = format!(
        "headers = {{ Origin = {origin} }}\n{shared}\n[auth.openapi.api_key]\nbearer = {}\n",
        quoted(&key)
    );
    let owner_ops = r"^/api/v1/(owner/|log/|auth/me|sites/\{site\}/scans)";
    run(
        &app,
        dir.path(),
        "api_key",
        &with_key,
        &["--include-path-regex", owner_ops],
    )
    .await;

    let logout = format!(
        "headers = {{ X-CSRF-Token = {} }}\n[auth.openapi.session]\napi_key = {}\n",
        quoted(&logout_csrf),
        quoted(&logout_token),
    );
    run(
        &app,
        dir.path(),
        "logout",
        &logout,
        &["--include-path", "/api/v1/auth/logout"],
    )
    .await;
}

both_backends!(contract);
