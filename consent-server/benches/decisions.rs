//! Recording decisions over keep-alive HTTP on loopback, durability on:
//! decisions/s, p50 and p99 for the embedded (SQLite) and the Redis backend,
//! and `redis-benchmark -t set` against the same Redis (AOF, `appendfsync
//! always`) as the ceiling of this machine, measured in the same run.
//!
//! `cargo bench -p consent-server --bench decisions` (release build).
//! Environment: `BENCH_SECONDS` (default 10), `BENCH_CONNECTIONS` (default 256).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::{RedisServer, ServerProcess};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");
const ORIGIN: &str = "http://127.0.0.1:8080";

struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// CPU time (user + system) the server process spent per decision.
    server_cpu_us: f64,
    /// CPU time this load generator spent per decision (it shares the cores).
    client_cpu_us: f64,
}

/// User + system CPU seconds of a process, from /proc (clock ticks of 1/100 s).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn drive(base: &str, server_pid: u32, connections: usize, warmup: Duration, measure: Duration) -> Figures {
    let probe = reqwest::Client::new();
    let config: Value = probe
        .get(format!("{base}/api/v1/sites/demo/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = Arc::new(
        serde_json::to_vec(&json!({
            "config_version": config["version"],
            "method": "custom",
            "categories": {"analytics": true, "marketing": false},
            "services": {"youtube": true},
            "language": "nl",
            "page_path": "/winkel/fietsen",
        }))
        .unwrap(),
    );
    let url = Arc::new(format!("{base}/api/v1/sites/demo/decisions"));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + measure;
    let cpu_probe = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = (cpu_seconds(&server_pid.to_string()), cpu_seconds("self"));
        tokio::time::sleep_until(end.into()).await;
        let after = (cpu_seconds(&server_pid.to_string()), cpu_seconds("self"));
        (after.0 - before.0, after.1 - before.1)
    });
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, body) = (url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            // One client per task: one keep-alive connection each.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut latencies_us: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let res = client
                    .post(url.as_str())
                    .header("Origin", ORIGIN)
                    .header("Content-Type", "application/json")
                    .header(
                        "User-Agent",
                        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                    )
                    .body(body.as_ref().clone())
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) => r.status() == 201 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let t1 = Instant::now();
                if t0 >= measure_from && t1 <= end {
                    if ok {
                        latencies_us.push(t1.duration_since(t0).as_micros() as u32);
                    } else {
                        errors += 1;
                    }
                }
            }
            (latencies_us, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let (server_cpu, client_cpu) = cpu_probe.await.unwrap();
    let per = |cpu: f64| cpu * 1e6 / (all.len().max(1) as f64);
    let pct = |p: f64| {
        if all.is_empty() {
            return f64::NAN;
        }
        all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0
    };
    Figures {
        per_second: all.len() as f64 / measure.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
        server_cpu_us: per(server_cpu),
        client_cpu_us: per(client_cpu),
    }
}

fn redis_benchmark_set(port: u16) -> f64 {
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "set",
            "-q",
            "-n",
            "200000",
        ])
        .output()
        .expect("running redis-benchmark (run scripts/setup)");
    let text = String::from_utf8_lossy(&out.stdout);
    // The last progress line is the result: "SET: 123456.79 requests per second, p50=0.199 msec".
    text.rsplit('\r')
        .flat_map(|l| l.lines())
        .filter_map(|l| l.trim().strip_prefix("SET: "))
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("unexpected redis-benchmark output: {text}"))
}

fn print(name: &str, f: &Figures) {
    println!(
        "{name:<8} {:>10.0} decisions/s   p50 {:>6.2} ms   p99 {:>6.2} ms   errors {}   CPU per decision: server {:.0} µs, load generator {:.0} µs",
        f.per_second, f.p50_ms, f.p99_ms, f.errors, f.server_cpu_us, f.client_cpu_us
    );
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 10);
    // Many visitors at once: with group commit, throughput is the number of
    // decisions in flight divided by the fsync time.
    let connections = env_or("BENCH_CONNECTIONS", 256) as usize;
    let warmup = Duration::from_secs(2);
    let measure = Duration::from_secs(seconds);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "decisions over keep-alive HTTP/1.1 on loopback: {connections} connections, {seconds} s after {}s warm-up, \
         {cores} cores, durability on; load average before: {}",
        warmup.as_secs(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );

    // A data directory on the real disk: fsync must cost what it costs.
    let data = tempfile::tempdir().unwrap();
    let rate_off = ["--client-rate", "0", "--site-rate", "0"];
    let sqlite = {
        let mut args = rate_off.to_vec();
        args.extend(["--data-dir", data.path().to_str().unwrap()]);
        let server = ServerProcess::start(Path::new(BIN), &args).unwrap();
        rt.block_on(drive(
            &server.base_url(),
            server.pid().unwrap(),
            connections,
            warmup,
            measure,
        ))
    };
    print("sqlite", &sqlite);

    let redis = RedisServer::start().unwrap();
    let redis_data = tempfile::tempdir().unwrap();
    let on_redis = {
        let mut args = rate_off.to_vec();
        let url = redis.url();
        args.extend(["--redis", &url, "--data-dir", redis_data.path().to_str().unwrap()]);
        let server = ServerProcess::start(Path::new(BIN), &args).unwrap();
        rt.block_on(drive(
            &server.base_url(),
            server.pid().unwrap(),
            connections,
            warmup,
            measure,
        ))
    };
    print("redis", &on_redis);
    let ceiling = redis_benchmark_set(redis.port());
    println!("redis-benchmark -t set (50 clients, same Redis, appendfsync always): {ceiling:.0} SET/s");
    println!(
        "targets: sqlite >= 20000/s with p99 <= 25 ms: {}; redis >= 0.5 x SET rate: {:.2} x ({})",
        if sqlite.per_second >= 20_000.0 && sqlite.p99_ms <= 25.0 {
            "met"
        } else {
            "MISSED"
        },
        on_redis.per_second / ceiling,
        if on_redis.per_second >= 0.5 * ceiling {
            "met"
        } else {
            "MISSED"
        },
    );
}
