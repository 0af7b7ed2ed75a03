//! The public configuration endpoint, which every first-time visitor's
//! banner fetches (and every later page view revalidates once its minute of
//! caching is up): answers/s for a plain answer, a brotli answer and a
//! `304`, against `GET /healthz` (no work at all) on the same server in the
//! same run as the yardstick. Keep-alive HTTP/1.1 on loopback, load from
//! `wrk` (installed by `scripts/setup`), embedded storage.
//!
//! `cargo bench -p consent-server --bench public_reads`; `BENCH_SECONDS`
//! (default 5) per measurement, `BENCH_ROUNDS` (default 2),
//! `BENCH_SERVER_BIN` to measure another build.

use std::process::Command;

use e2e::ServerProcess;
use serde_json::Value;

/// Requests per second that wrk reached on `url` with `header` set.
fn rate(url: &str, header: Option<&str>, seconds: u64) -> f64 {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", &format!("-d{seconds}s")]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().expect("running wrk (run scripts/setup)");
    let text = String::from_utf8_lossy(&out.stdout);
    // wrk counts statuses from 400 up as "Non-2xx or 3xx responses".
    assert!(!text.contains("Non-2xx"), "errors from {url}: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected wrk output: {text}"))
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let rounds: u64 = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let bin = std::env::var_os("BENCH_SERVER_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_consent-server").into(), std::path::PathBuf::from);
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
        ],
    )
    .unwrap();
    let base = server.base_url();
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let (status, body) = e2e::http_get(port, "/api/v1/sites/demo/config").unwrap();
    assert_eq!(status, 200, "{body}");
    let version = serde_json::from_str::<Value>(&body).unwrap()["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let config = format!("{base}/api/v1/sites/demo/config");
    let healthz = format!("{base}/healthz");
    let not_modified = format!("If-None-Match: \"{version}\"");
    println!("public reads over keep-alive HTTP/1.1 on loopback, 64 connections, {seconds} s each");
    for round in 1..=rounds {
        // The yardstick first and last: the host's speed drifts.
        let bare_before = rate(&healthz, None, seconds);
        let plain = rate(&config, None, seconds);
        let br = rate(&config, Some("Accept-Encoding: gzip, deflate, br"), seconds);
        let cached = rate(&config, Some(&not_modified), seconds);
        let bare_after = rate(&healthz, None, seconds);
        let bare = (bare_before + bare_after) / 2.0;
        println!(
            "round {round}/{rounds}: GET /healthz {bare_before:.0}/s before, {bare_after:.0}/s after; \
             config plain {plain:.0}/s ({:.2} x healthz), brotli {br:.0}/s ({:.2} x), 304 {cached:.0}/s ({:.2} x)",
            plain / bare,
            br / bare,
            cached / bare
        );
    }
}
