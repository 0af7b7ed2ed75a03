//! The Keurmerk seal over real HTTP: a stored scan becomes a logged
//! attestation (one per scan, however many attest it at once), served as a
//! page, a badge and a proof bundle that `keurmerk-verify`'s library checks
//! offline; decisions and attestations share the log without mixing.

use std::time::Duration;

use consent_core::attestation::Verdict;
use consent_core::store::DecisionStore as _;
use serde_json::{Value, json};

use crate::common::{Kind, TestApp, spawn_app};

/// A scan report (`scanner/REPORT.md`) of one page: the loader installed as
/// it must be, the browser pass reached "reject all", and `findings`.
fn report(findings: Value) -> Value {
    json!({
        "schema": "keurmerk-scan-report",
        "schema_version": 1,
        "scanner": {"name": "consent-scan", "version": "0.1.0", "knowledge_base": "2026-12-01"},
        "site": "https://shop.example.nl/",
        "started_at": 1_790_000_000,
        "duration_ms": 4000,
        "declaration": {"origin": "https://consent.example/api/v1/sites/shop/config"},
        "summary": {"pages_static": 1, "pages_browser": 1, "platforms": 0, "cookies": 0,
            "personal_data_requests": 0, "findings": {}},
        "findings": findings,
        "platforms": [{"id": "meta-pixel", "name": "Meta Pixel", "vendor": "Meta", "kind": "advertising",
            "category": "marketing", "retargeting": true, "ids": [], "hosts": [], "pages": [], "states": [],
            "requests": 1, "seen_in_visits": 1, "of_visits": 3}],
        "cookies": [], "storage": [], "personal_data": [],
        "pages": [{"url": "https://shop.example.nl/", "depth": 0, "status": 200, "bytes": 900, "pass": "static"},
                  {"url": "https://shop.example.nl/", "depth": 0, "status": 200, "bytes": 900, "pass": "browser"}],
        "problems": [],
        "banners": [["https://shop.example.nl/", "accept all: window.keurmerk (accept_all)"],
                    ["https://shop.example.nl/", "reject all: window.keurmerk (reject_all)"]],
        "installation": [{"page": "https://shop.example.nl/",
            "loader": {"src": "https://consent.example/s/shop/loader.js", "first_script": true, "in_head": true, "synchronous": true}}]
    })
}

fn tracking_after_reject() -> Value {
    json!([{"rule": "tracking-after-reject", "severity": "high", "title": "Meta Pixel tracks after reject",
        "platform": "meta-pixel", "remedy": "Block it",
        "evidence": [{"page": "https://shop.example.nl/", "state": "after-reject",
                      "request": "https://www.facebook.com/tr?id=1234", "params": [], "personal_data": []}],
        "evidence_total": 4}])
}

/// Waits for the site's attestation bundle (the attester's tick, then a checkpoint).
async fn bundle_of(app: &TestApp, site: &str, scan: &str) -> String {
    for _ in 0..100 {
        let res = app.get(&format!("/s/{site}/attestation")).await;
        if res.status() == 200 {
            let text = res.text().await.unwrap();
            if decode(&text).contains(&format!("\"scan_id\":\"{scan}\"")) {
                return text;
            }
        } else {
            assert!([404, 503].contains(&res.status().as_u16()), "{}", res.status());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no attestation of scan {scan} within 20 s");
}

fn decode(bundle: &str) -> String {
    use base64::Engine as _;
    let v: Value = serde_json::from_str(bundle).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["record"].as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

async fn seal_is_attested_logged_and_verifiable(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    app.create_site("other", "https://other.example.nl").await;
    let key = app.api_key("shop", &["scans:write"]).await;

    // Before any scan the seal says nothing, and says so.
    let (status, html) = text(&app, "/s/shop/seal?lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("No scan of this site has been recorded yet"), "{html}");
    let (_, badge) = text(&app, "/s/shop/seal.svg?lang=en").await;
    assert!(badge.contains("no scan"), "{badge}");
    assert_eq!(app.get("/s/shop/attestation").await.status(), 404);
    assert_eq!(app.get("/s/nope/seal").await.status(), 404);

    // Decisions before and after: attestations take indexes in the same log.
    record_decision(&app).await;
    let clean = app.upload_scan("shop", &key, &report(json!([]))).await;
    let bundle = bundle_of(&app, "shop", &clean).await;
    record_decision(&app).await;

    let log_key = text(&app, "/.well-known/keurmerk-log-key").await.1;
    let log_key = consent_core::note::NoteVerifier::parse(log_key.trim()).unwrap();
    let policy = consent_core::cosignature::WitnessPolicy::default();
    let (verified, a) = keurmerk_verify::verify_attestation(bundle.as_bytes(), &log_key, &policy).unwrap();
    assert_eq!((a.site.as_str(), a.scan_id.as_str()), ("shop", clean.as_str()));
    assert_eq!(a.verdict(), Verdict::Passed, "{a:?}");
    assert_eq!(a.loader_first, Some(true));
    assert!(a.after_reject.measured && a.before_consent.measured);
    let site = app.get_json("/api/v1/sites/shop/config").await;
    assert_eq!(a.config_version.as_ref().unwrap().0, site["version"].as_str().unwrap());
    assert_eq!(verified.index, 1, "between the two decisions");

    // The leaf is an attestation, not a decision: the owner's leaf endpoint
    // does not serve it, listing decisions never meets it.
    let admin = app.admin().await;
    assert_eq!(
        admin
            .get(&format!("/api/v1/log/leaves/{}", verified.index))
            .await
            .status(),
        404
    );
    assert_eq!(admin.get("/api/v1/log/leaves/0").await.status(), 200);
    let demo = admin.get_json("/api/v1/owner/sites/demo/decisions").await;
    assert_eq!(demo["decisions"].as_array().unwrap().len(), 2, "{demo}");

    // Tampered, it fails; a decision's bundle is not an attestation.
    let mut forged: Value = serde_json::from_str(&bundle).unwrap();
    let record = decode(&bundle).replace("\"loader_first\":true", "\"loader_first\":false");
    use base64::Engine as _;
    forged["record"] = json!(base64::engine::general_purpose::STANDARD.encode(record));
    let refused = keurmerk_verify::verify_attestation(forged.to_string().as_bytes(), &log_key, &policy);
    assert!(
        matches!(refused, Err(keurmerk_verify::AttestationRefused::Bundle(_))),
        "{refused:?}"
    );
    let mut proofs = Vec::new();
    let proofs_url = format!("/api/v1/owner/sites/demo/proofs/{}", first_consent_id(&app).await);
    for _ in 0..50 {
        let res = admin.get(&proofs_url).await;
        proofs = res.json::<Vec<Value>>().await.unwrap();
        if !proofs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let decision_bundle = proofs[0].to_string();
    let refused = keurmerk_verify::verify_attestation(decision_bundle.as_bytes(), &log_key, &policy);
    assert!(
        matches!(refused, Err(keurmerk_verify::AttestationRefused::NotAnAttestation(_))),
        "{refused:?}"
    );

    // The page and badge say what was measured.
    let (_, html) = text(&app, "/s/shop/seal?lang=en").await;
    assert!(html.contains("Passed: everything measured, nothing found."), "{html}");
    assert!(
        html.contains("No requests to trackers and no non-necessary cookies after &quot;reject all&quot;"),
        "{html}"
    );
    assert!(html.contains("keurmerk-verify attestation"));
    let (_, badge) = text(&app, "/s/shop/seal.svg?lang=en").await;
    assert!(badge.contains("passed · "), "{badge}");

    // A later scan that finds tracking after "reject all" fails the seal.
    let bad = app.upload_scan("shop", &key, &report(tracking_after_reject())).await;
    let bundle = bundle_of(&app, "shop", &bad).await;
    let (_, a) = keurmerk_verify::verify_attestation(bundle.as_bytes(), &log_key, &policy).unwrap();
    assert_eq!(a.verdict(), Verdict::Failed);
    assert_eq!(a.after_reject.tracker_requests.count, 4);
    assert_eq!(a.after_reject.tracker_requests.names, ["Meta Pixel"]);
    let (_, html) = text(&app, "/s/shop/seal?lang=nl").await;
    assert!(html.contains("Niet geslaagd"), "{html}");
    let (_, badge) = text(&app, "/s/shop/seal.svg").await;
    assert!(badge.contains("niet geslaagd"), "{badge}");

    // Another tenant's seal knows nothing of it.
    let (_, other) = text(&app, "/s/other/seal.svg?lang=en").await;
    assert!(other.contains("no scan"), "{other}");

    // One attestation per scan, however many attest it at once.
    let before = app.state.store.leaf_count().await.unwrap();
    let shop = consent_core::SiteId::parse("shop").unwrap();
    let racers = (0..4).map(|_| {
        let (state, shop, bad) = (app.state.clone(), shop.clone(), bad.clone());
        tokio::spawn(async move {
            consent_server::service::attestation::attest_scan(&state, &shop, &bad)
                .await
                .unwrap()
        })
    });
    for r in futures_util::future::join_all(racers).await {
        assert_eq!(r.unwrap(), Some(a_index(&bundle)));
    }
    assert_eq!(app.state.store.leaf_count().await.unwrap(), before);
}
both_backends!(seal_is_attested_logged_and_verifiable);

async fn record_decision(app: &TestApp) {
    let res = app.post_decision("demo", &app.decision().await).await;
    assert_eq!(res.status(), 201);
}

fn a_index(bundle: &str) -> u64 {
    let v: Value = serde_json::from_str(bundle).unwrap();
    let proof = v["proof"].as_str().unwrap();
    proof
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("index ")
        .unwrap()
        .parse()
        .unwrap()
}

async fn first_consent_id(app: &TestApp) -> String {
    let admin = app.admin().await;
    let d = admin.get_json("/api/v1/owner/sites/demo/decisions").await;
    d["decisions"][0]["record"]["consent_id"].as_str().unwrap().to_owned()
}

async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.get(path).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

/// A report the server cannot read is never attested: it measured nothing
/// the server could vouch for.
async fn an_unreadable_report_is_not_attested(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    let key = app.api_key("shop", &["scans:write"]).await;
    let mut r = report(json!([]));
    // Valid for the upload (which keeps what it does not know), not a
    // report the scanner wrote.
    r["pages"] = json!("not a list");
    let id = app.upload_scan("shop", &key, &r).await;
    let shop = consent_core::SiteId::parse("shop").unwrap();
    let got = consent_server::service::attestation::attest_scan(&app.state, &shop, &id)
        .await
        .unwrap();
    assert_eq!(got, None);
    assert_eq!(app.get("/s/shop/attestation").await.status(), 404);
}
both_backends!(an_unreadable_report_is_not_attested);
