//! What a scan run by the server itself (the embedded queue's worker, no
//! Redis) costs the requests it serves meanwhile: answers/s and latency of
//! the public configuration endpoint (what every first-time visitor's banner
//! fetches) with no scan running, then while the server's worker scans a
//! fixture site on loopback (static pass over 40 pages of about 100 KB, then
//! the browser pass over 5 of them in Chromium when it is installed). Load
//! from `wrk` (installed by `scripts/setup`), keep-alive HTTP/1.1.
//!
//! `cargo bench -p consent-server --bench scan_beside_requests`;
//! `BENCH_SECONDS` (default 10) per measurement, `BENCH_SERVER_BIN` to
//! measure another build.

use std::process::Command;
use std::time::Duration;

use axum::extract::Path;
use axum::response::Html;
use e2e::{AdminSession, ServerProcess};
use serde_json::json;

const PAGES: usize = 40;

/// A shop page: the Meta pixel, links to the next pages, ~100 KB of text.
fn page(n: usize) -> String {
    let links: String = (1..=5)
        .map(|k| format!(r#"<a href="/p/{}">page {}</a> "#, (n + k) % PAGES, (n + k) % PAGES))
        .collect();
    let filler = "<p>Wollen sokken, handgebreid, in twaalf kleuren; verzending binnen een werkdag.</p>\n".repeat(1200);
    format!(
        r#"<!doctype html><html><head><title>Page {n}</title>
<script>!function(f,b,e,v,n,t,s){{if(f.fbq)return;n=f.fbq=function(){{n.callMethod?n.callMethod.apply(n,arguments):n.queue.push(arguments)}};
if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;
s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}}(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');
fbq('init','123456789012345');fbq('track','PageView');</script></head>
<body><h1>Page {n}</h1>{links}{filler}</body></html>"#
    )
}

/// wrk's answers/s and its 50th and 99th percentile latencies (as printed).
fn measure(url: &str, seconds: u64) -> (f64, String, String) {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", "--latency", &format!("-d{seconds}s"), url])
        .output()
        .expect("running wrk (run scripts/setup)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "errors from {url}: {text}");
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected wrk output: {text}"));
    let pct = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p).map(|v| v.trim().to_owned()))
            .unwrap_or_default()
    };
    (rate, pct("50%"), pct("99%"))
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let bin = std::env::var_os("BENCH_SERVER_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_consent-server").into(), std::path::PathBuf::from);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let origin = rt.block_on(async {
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { Html(page(0)) }))
            .route(
                "/p/{n}",
                axum::routing::get(|Path(n): Path<usize>| async move { Html(page(n % PAGES)) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        origin
    });
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        &bin,
        &[
            "--client-rate",
            "0",
            "--site-rate",
            "0",
            "--data-dir",
            data.path().to_str().unwrap(),
            "--scan-allow-private-targets",
        ],
    )
    .unwrap();
    let port = server.port();
    let key = rt.block_on(async {
        let admin = AdminSession::login(port, &server.admin_password()).await.unwrap();
        admin
            .site_with_key("shop", &origin, &["scans:write", "scans:read"])
            .await
            .unwrap()
    });
    let url = format!("{}/api/v1/sites/demo/config", server.base_url());
    let chromium = std::path::Path::new("/usr/bin/chromium").is_file();
    println!(
        "scan beside requests: {} cores, {seconds} s per measurement, Chromium {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if chromium {
            "installed"
        } else {
            "missing (static pass only)"
        }
    );

    let (rate, p50, p99) = measure(&url, seconds);
    println!("no scan           {rate:>10.0} answers/s   p50 {p50:>9}   p99 {p99:>9}");

    let job = rt.block_on(async {
        let body = json!({"max_pages": PAGES, "depth": 10, "browser_pages": 5});
        let res = e2e::post_with_key(port, "/api/v1/owner/sites/shop/scan-jobs", &key, &body)
            .await
            .unwrap();
        assert_eq!(res.status, 202);
        res.json()["status_url"].as_str().unwrap().to_owned()
    });
    let status =
        |rt: &tokio::runtime::Runtime| rt.block_on(async { e2e::get_with_key(port, &job, &key).await.unwrap().json() });
    // Measure only while the worker is at it.
    while status(&rt)["status"] == "queued" {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (rate, p50, p99) = measure(&url, seconds);
    let after = status(&rt);
    println!(
        "during a scan      {rate:>10.0} answers/s   p50 {p50:>9}   p99 {p99:>9}   (the scan at the end: {} {}, {}/{} pages)",
        after["status"], after["stage"], after["pages_done"], after["pages_total"]
    );
    let started = std::time::Instant::now();
    let done = rt.block_on(e2e::finished_job(
        port,
        &job,
        &key,
        Duration::from_secs(600),
        Duration::from_millis(500),
    ));
    println!(
        "the scan: {} after another {:.0} s",
        done["status"],
        started.elapsed().as_secs_f64()
    );
}
