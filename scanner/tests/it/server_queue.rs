//! The consent server's scan queue end to end with real parts: a real
//! redis-server on a free port, the consent server (in-process, embedded
//! storage, `--scan-queue` pointing at that Redis), the real
//! `consent-scan worker` process, and the fixture shop on 127.0.0.1.
//! Queued over HTTP, polled until done (the worker's progress reported on
//! the way), the stored report read back over the owner API.

use std::sync::Arc;
use std::time::Duration;

use consent_server::app;
use consent_server::settings::Settings;
use serde_json::{Value, json};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_queues_a_scan_a_worker_process_runs_it_and_the_report_is_stored() {
    let redis = e2e::RedisServer::start().unwrap();
    let shop = common::start(Arc::new(common::shop), None).await;
    let shop_origin = format!("http://127.0.0.1:{}", shop.port);

    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = Settings::embedded(listener.local_addr().unwrap(), &dir.path().join("data"));
    settings.scan_queue = Some(redis.url());
    settings.login_rate = 0;
    let store = app::open_store(&settings).unwrap();
    let state = app::state(settings, store).unwrap();
    let password = consent_server::bootstrap::first_start(&state).await.unwrap().unwrap();
    tokio::spawn(app::serve(listener, state, std::future::pending()));

    // An admin creates the site (allowing the shop's origin) and a key.
    let admin = e2e::AdminSession::login(port, &password).await.unwrap();
    let key = admin
        .site_with_key("shop", &shop_origin, &["scans:write", "scans:read"])
        .await
        .unwrap();

    let jobs = "/api/v1/owner/sites/shop/scan-jobs";
    let enqueue = async |body: Value| e2e::post_with_key(port, jobs, &key, &body).await.unwrap();

    // Outside the allowed origins: refused, nothing for the worker.
    let res = enqueue(json!({"url": "http://localhost:1/"})).await;
    assert_eq!(res.status, 422);

    let res = enqueue(json!({"url": format!("{shop_origin}/"), "max_pages": 2, "depth": 1, "browser_pages": 0})).await;
    assert_eq!(res.status, 202);
    let job = res.json();
    let status_path = job["status_url"].as_str().unwrap().to_owned();

    // The real worker process takes exactly this one job and exits.
    let redis_url = redis.url();
    let worker = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_consent-scan"))
            .args(["worker", "--redis", &redis_url, "--max-jobs", "1", "--worker-id", "e2e"])
            .args(["--rate", "0", "--browser-pages", "0", "--quiet"])
            // The fixture shop is on 127.0.0.1.
            .arg("--allow-private-targets")
            .output()
            .unwrap()
    });

    let done = e2e::finished_job(
        port,
        &status_path,
        &key,
        Duration::from_secs(60),
        Duration::from_millis(100),
    )
    .await;
    let out = worker.await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(
        (done["stage"].clone(), done["attempts"].clone()),
        (json!("done"), json!(1))
    );
    // The worker reported its progress as it went, the last stage being
    // storing (written before its result).
    let mut con = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let progress: std::collections::HashMap<String, String> = redis::AsyncCommands::hgetall(
        &mut con,
        consent_core::scan_job::progress_key(job["id"].as_str().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(
        progress.get("stage").map(String::as_str),
        Some("storing"),
        "{progress:?}"
    );

    let report = e2e::get_with_key(port, done["scan_url"].as_str().unwrap(), &key)
        .await
        .unwrap()
        .json();
    assert_eq!(report["site"], format!("{shop_origin}/"));
    assert_eq!(report["summary"]["pages_static"], 2);
    // Compared against the site's declared configuration the job carried.
    let origin = report["declaration"]["origin"].as_str().unwrap();
    assert!(origin.starts_with("job "), "{origin}");
    let any = |list: &str, wanted: &dyn Fn(&Value) -> bool| report[list].as_array().unwrap().iter().any(wanted);
    assert!(
        any("platforms", &|p| p["id"] == "meta-pixel"),
        "{}",
        report["platforms"]
    );
    assert!(
        any("findings", &|f| f["platform"] == "meta-pixel"),
        "the Meta pixel on the shop's start page is a finding"
    );
    // The fixture's HTTP cookie is not in the starter configuration.
    let srv_ab = |f: &Value| f["rule"] == "undeclared-cookie" && f["title"].as_str().unwrap_or("").contains("srv_ab");
    assert!(any("findings", &srv_ab), "{}", report["findings"]);
}
