//! Witnessed checkpoints under a steady stream of decisions: the real
//! server binary (release build) with three real `keurmerk-verify witness`
//! processes on loopback, quorum 3. Measures, per decision, the time from
//! its `201` until `/api/v1/log/checkpoint` serves a checkpoint that covers
//! it and carries all three cosignatures; the interval between checkpoints;
//! and each witness's CPU time per checkpoint (from /proc/<pid>/schedstat).
//!
//! ```text
//! cargo build --release -p consent-server
//! cargo bench -p keurmerk-verify --bench witnessed
//! ```
//!
//! `BENCH_SERVER_BIN` names another server binary; `BENCH_RATE` (decisions
//! per second, default 50) and `BENCH_SECS` (default 20) shape the load.
//! The figures go into docs/benchmarks.md; nothing here asserts on time.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consent_core::checkpoint;
use consent_core::cosignature::{CosignatureVerifier, WitnessPolicy};
use consent_core::note::NoteSigner;

fn server_bin() -> PathBuf {
    std::env::var_os("BENCH_SERVER_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/consent-server"),
        PathBuf::from,
    )
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A child process killed when dropped.
struct Proc {
    child: Child,
    _stdout: Option<BufReader<ChildStdout>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time the process has run, in nanoseconds: the scheduler's account
/// of every live thread (`/proc/<pid>/task/*/schedstat`, first field), and
/// at least the tick-based total of all threads, exited ones included
/// (`utime + stime` of `/proc/<pid>/stat`, 10 ms resolution).
fn cpu_ns(pid: u32) -> u64 {
    let live: u64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    let ticks: u64 = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    live.max(ticks * 10_000_000)
}

fn start_witness(dir: &Path, i: usize, log_vkey: &str) -> (Proc, String, CosignatureVerifier) {
    let bin = env!("CARGO_BIN_EXE_keurmerk-verify");
    let key = dir.join(format!("w{i}.key"));
    let out = Command::new(bin)
        .args(["witness-keygen", "--name", &format!("bench.witness/w{i}"), "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(out.status.success(), "{out:?}");
    let vkey = CosignatureVerifier::parse(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let mut child = Command::new(bin)
        .args(["witness", "--listen", "127.0.0.1:0", "--key-file"])
        .arg(&key)
        .arg("--state-dir")
        .arg(dir.join(format!("w{i}")))
        .args(["--log", log_vkey])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("witness");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    (
        Proc {
            child,
            _stdout: Some(stdout),
        },
        format!("http://{addr}"),
        vkey,
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!(
        "n {}, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or(f64::NAN)
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rate: f64 = env_or("BENCH_RATE", 50.0);
    let secs: f64 = env_or("BENCH_SECS", 20.0);
    let bin = server_bin();
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release -p consent-server",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let log = NoteSigner::from_seed("bench.keurmerk.test/keurmerk-log", &[42; 32]).unwrap();
    let log_vkey = log.verifier().to_string();

    let mut witnesses = Vec::new();
    for i in 1..=3 {
        witnesses.push(start_witness(dir.path(), i, &log_vkey));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(&bin);
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path().join("server"))
        .args([
            "--client-rate",
            "0",
            "--site-rate",
            "0",
            "--scan-workers",
            "0",
            "--witness-quorum",
            "3",
        ])
        .env("KEURMERK_LOG_KEY", log.to_private_string())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (_, url, vkey) in &witnesses {
        cmd.args(["--witness", &format!("{vkey}={url}")]);
    }
    let _server = Proc {
        child: cmd.spawn().expect("server"),
        _stdout: None,
    };
    let client = reqwest::Client::new();
    let ready = Instant::now();
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(ready.elapsed() < Duration::from_secs(30), "server not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let config: serde_json::Value = client
        .get(format!("{base}/api/v1/sites/demo/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = serde_json::json!({
        "config_version": config["version"],
        "method": "reject_all",
        "categories": {},
        "language": "nl",
        "page_path": "/",
    });
    let policy = WitnessPolicy::new(witnesses.iter().map(|(_, _, v)| v.clone()).collect(), 3).unwrap();
    let cpu_before: Vec<u64> = witnesses.iter().map(|(p, _, _)| cpu_ns(p.child.id())).collect();

    // Poll the checkpoint every 10 ms: when each size was first served, and
    // when first served with all three cosignatures.
    let published: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
    let cosigned: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (client, base, published, cosigned, stop) = (
            client.clone(),
            base.clone(),
            published.clone(),
            cosigned.clone(),
            stop.clone(),
        );
        let key = log.verifier().clone();
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(r) = client.get(format!("{base}/api/v1/log/checkpoint")).send().await
                    && let Ok(note) = r.text().await
                    && let Ok(cp) = checkpoint::open(&note, &key)
                {
                    let now = Instant::now();
                    let mut p = published.lock().unwrap();
                    if p.last().is_none_or(|(_, s)| *s != cp.size) {
                        p.push((now, cp.size));
                    }
                    let mut c = cosigned.lock().unwrap();
                    if c.last().is_none_or(|(_, s)| *s != cp.size) && policy.check(&note).is_ok() {
                        c.push((now, cp.size));
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    // A steady stream of decisions, each sent at its scheduled time.
    let n = (rate * secs) as u64;
    let start = Instant::now();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..n {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        let (client, base, body) = (client.clone(), base.clone(), body.clone());
        sends.spawn(async move {
            let r = client
                .post(format!("{base}/api/v1/sites/demo/decisions"))
                .header("Origin", "http://127.0.0.1:8080")
                .json(&body)
                .send()
                .await
                .ok()?;
            let at = Instant::now();
            let v: serde_json::Value = r.json().await.ok()?;
            Some((at, v["index"].as_u64()?))
        });
    }
    let mut recorded = Vec::new();
    while let Some(r) = sends.join_next().await {
        if let Ok(Some(x)) = r {
            recorded.push(x);
        }
    }
    let last_index = recorded.iter().map(|(_, i)| *i).max().unwrap_or(0);
    let wait = Instant::now();
    while cosigned.lock().unwrap().last().is_none_or(|(_, s)| *s <= last_index)
        && wait.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    poller.await.unwrap();
    let cpu: Vec<u64> = witnesses
        .iter()
        .zip(&cpu_before)
        .map(|((p, _, _), b)| cpu_ns(p.child.id()) - b)
        .collect();

    let cosigned = cosigned.lock().unwrap().clone();
    let published = published.lock().unwrap().clone();
    let mut uncovered = 0;
    let latencies: Vec<f64> = recorded
        .iter()
        .filter_map(|(t, i)| {
            let Some((tc, _)) = cosigned.iter().find(|(_, s)| s > i) else {
                uncovered += 1;
                return None;
            };
            Some(tc.saturating_duration_since(*t).as_secs_f64() * 1000.0)
        })
        .collect();
    let during: Vec<&(Instant, u64)> = published.iter().filter(|(t, _)| *t >= start).collect();
    let cadence: Vec<f64> = during
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs_f64() * 1000.0)
        .collect();
    let checkpoints = cosigned.iter().filter(|(t, _)| *t >= start).count().max(1);
    println!(
        "decisions: {} sent at {rate}/s over {secs} s, {} recorded, {uncovered} never covered",
        n,
        recorded.len()
    );
    println!(
        "decision 201 -> cosigned checkpoint covering it (3 of 3): {}",
        summary(latencies)
    );
    println!("interval between checkpoints: {}", summary(cadence));
    println!("checkpoints cosigned during the run: {checkpoints}");
    for (((_, _, v), ns), i) in witnesses.iter().zip(&cpu).zip(1..) {
        println!(
            "witness {i} ({}): CPU {:.1} ms in all, {:.3} ms per checkpoint",
            v.name(),
            *ns as f64 / 1e6,
            *ns as f64 / 1e6 / checkpoints as f64
        );
    }
}
