//! Load from wrk, shared by the benchmarks that drive decisions over HTTP.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

/// An origin the demo site allows whatever port the server runs on.
pub const ORIGIN: &str = "http://127.0.0.1:8080";

/// wrk's script: the decision as body, the widget's headers, and a summary
/// line this bench parses (latencies in microseconds). Every request is a
/// new visitor's first decision, the most expensive kind: a new consent id,
/// secret and sealing key are created and stored with the leaf.
pub fn wrk_script(body: &str) -> String {
    let lua_body = body.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"wrk.method = "POST"
wrk.body = "{lua_body}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "{ORIGIN}"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KEURMERK %d %d %d %d %d %d\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"#
    )
}

/// Runs wrk for `seconds` and returns (requests, seconds, errors, p50 µs, p99 µs).
pub fn wrk(url: &str, script: &Path, connections: usize, seconds: u64) -> (u64, f64, u64, f64, f64) {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .expect("running wrk (run scripts/setup)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("KEURMERK "))
        .unwrap_or_else(|| panic!("unexpected wrk output: {text}{}", String::from_utf8_lossy(&out.stderr)));
    let n: Vec<f64> = line.split_whitespace().map(|f| f.parse().unwrap()).collect();
    (n[0] as u64, n[1] / 1e6, (n[2] + n[3]) as u64, n[4], n[5])
}

/// The benches' decision: a new visitor's custom choice on the demo site
/// of the server on `port`, on its current configuration.
pub fn demo_decision(port: u16) -> Value {
    let (_, text) = e2e::http_get(port, "/api/v1/sites/demo/config").expect("the demo site's configuration");
    let config: Value = serde_json::from_str(&text).expect("configuration JSON");
    json!({
        "config_version": config["version"],
        "method": "custom",
        "categories": {"analytics": true, "marketing": false},
        "services": {"youtube": true},
        "language": "nl",
        "page_path": "/winkel/fietsen",
    })
}
