//! The `consent-scan` binary end to end: outputs, exit codes, bad input.

use std::process::Command;
use std::sync::Arc;

use crate::common;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_consent-scan"))
}

/// A scan of `url` alone: one page, no links followed, no browser, quiet;
/// private targets allowed (the fixtures are on 127.0.0.1).
fn one_page_scan(url: &str) -> Command {
    let mut c = bin();
    c.arg(url)
        .args(["--max-pages", "1", "--depth", "0", "--browser-pages", "0", "-q"])
        .arg("--allow-private-targets");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_json_html_sarif_and_fails_the_pipeline_on_high() {
    let s = common::start(Arc::new(common::shop), None).await;
    let dir = tempfile::tempdir().unwrap();
    let (json, html, sarif) = (
        dir.path().join("r.json"),
        dir.path().join("r.html"),
        dir.path().join("r.sarif"),
    );
    let url = s.url("/");
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args([
                &url,
                "--max-pages",
                "3",
                "--depth",
                "1",
                "--rate",
                "0",
                "--browser-pages",
                "0",
                "--quiet",
                "--allow-private-targets",
            ])
            .arg("--declared")
            .arg(common::fixtures().join("declared.toml"))
            .arg("--json")
            .arg(&json)
            .arg("--html")
            .arg(&html)
            .arg("--sarif")
            .arg(&sarif)
            .args(["--fail-on", "high"])
            .arg("--cookie-db")
            .arg(common::fixtures().join("ocd-sample.csv"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: scanner::Report =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert!(report.declaration.origin.contains("declared.toml"));
    // Unknown to the knowledge base, classified by the Open Cookie Database file.
    let ab = report.cookies.iter().find(|c| c.name == "srv_ab").unwrap();
    let class = ab.classification.as_ref().expect("classified");
    assert_eq!(class.category, "analytics");
    assert!(
        class.source.starts_with("Open Cookie Database fixture-0001"),
        "{}",
        class.source
    );
    let f = report.findings.iter().find(|f| f.title.contains("`srv_ab`")).unwrap();
    assert!(
        f.remedy
            .starts_with("Declare cookie `srv_ab` under Analytics / Fixture A/B testing"),
        "{}",
        f.remedy
    );
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.contains("Meta Pixel") && html.starts_with("<!doctype html>"));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_page_passes_and_bad_input_is_explained() {
    let s = common::start(Arc::new(common::shop), None).await;
    let url = s.url("/clean");
    let decl = common::fixtures().join("declared.toml");
    let out = tokio::task::spawn_blocking(move || {
        one_page_scan(&url)
            .args(["--fail-on", "low"])
            .arg("--declared")
            .arg(decl)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: scanner::Report = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r.findings.is_empty());

    let out = bin().args(["not a url"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a URL"));
    let out = bin()
        .args(["http://127.0.0.1:9/", "--declared", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.toml"));
}

/// The consent server's side of the contract, as far as the scanner needs it.
fn server(req: &common::Req) -> common::Reply {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/api/v1/sites/shop/config") => {
            let cfg: consent_core::SiteConfig =
                toml::from_str(&std::fs::read_to_string(common::fixtures().join("declared.toml")).unwrap()).unwrap();
            let body = serde_json::json!({"site": "shop", "version": cfg.version().0, "config": cfg});
            common::Reply::status(
                200,
                vec![("content-type".into(), "application/json".into())],
                body.to_string().as_bytes(),
            )
        }
        ("POST", "/api/v1/sites/shop/scans") => {
            let auth = req
                .headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == "Bearer test-key");
            if auth {
                common::Reply::status(201, vec![], br#"{"id":"scan-1"}"#)
            } else {
                common::Reply::status(401, vec![], b"no")
            }
        }
        _ => common::shop(req),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_declaration_from_the_server_and_uploads_the_report() {
    let s = common::start(Arc::new(server), None).await;
    let base = format!("http://127.0.0.1:{}", s.port);
    let url = s.url("/clean");
    let run = |key: &'static str| {
        let (base, url) = (base.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            one_page_scan(&url)
                .args(["--json", "/dev/null"])
                .args(["--server", &base, "--site", "shop", "--upload", &base, "--api-key", key])
                .output()
                .unwrap()
        })
    };
    let out = run("test-key").await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let posted = s
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("report uploaded");
    let report: scanner::Report = serde_json::from_slice(&posted.body).unwrap();
    assert!(report.declaration.origin.ends_with("/api/v1/sites/shop/config"));
    assert!(report.declaration.version.is_some());
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    // A refused upload is an error with the server's answer, not silence.
    let out = run("wrong").await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 401"));
}
