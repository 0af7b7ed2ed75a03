//! Recording decisions over keep-alive HTTP on loopback, durability on:
//! decisions/s, p50 and p99 for the embedded (SQLite) and the Redis backend,
//! and `redis-benchmark -t set` against the same Redis (AOF, `appendfsync
//! always`, no automatic rewrites: the production setting in docs/operating.md) as the
//! ceiling of this machine, measured in the same run.
//!
//! The load comes from `wrk` (installed by `scripts/setup`): written in C,
//! it costs far less per request than a reqwest-based generator did, so on
//! this 2-core machine the cores measure the server rather than the load
//! generator (measured: see docs/benchmarks.md, decisions bench, 2026-11-25).
//!
//! `cargo bench -p consent-server --bench decisions` (release build).
//! Environment: `BENCH_SECONDS` (default 10), `BENCH_CONNECTIONS` (a count
//! or a list, default `128,256`), `BENCH_BACKENDS` (default `sqlite,redis`),
//! `BENCH_ROUNDS` (Redis rounds, each between two SET measurements; default 3),
//! `BENCH_FSYNC` (Redis once per value: `disk`, or a number of µs its fsync
//! takes on a tmpfs, slowed by the LD_PRELOAD shim in tools/slow-fsync;
//! default `disk,1000`).

use std::path::Path;
use std::process::Command;

use e2e::{RedisServer, ServerProcess};
use wrk::{demo_decision, wrk, wrk_script};

mod wrk;

/// The server under test: this build's, or `BENCH_SERVER_BIN` (another
/// build, e.g. the previous commit's, to compare in the same conditions).
fn server_bin() -> std::path::PathBuf {
    std::env::var_os("BENCH_SERVER_BIN").map_or_else(|| env!("CARGO_BIN_EXE_consent-server").into(), Into::into)
}

struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// CPU time (user + system) the server process spent per decision.
    server_cpu_us: f64,
    /// The same, by thread name (request handling, the SQLite writer, ...).
    threads_cpu_us: Vec<(String, f64)>,
    /// CPU time the load generator (wrk) spent per decision: it shares the cores.
    client_cpu_us: f64,
}

/// The fields of /proc/<pid>/stat after the parenthesised command name.
fn stat_fields(pid: &str) -> Vec<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r).to_owned();
    rest.split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .collect()
}

/// User + system CPU seconds of a process (clock ticks of 1/100 s).
fn cpu_seconds(pid: &str) -> f64 {
    let f = stat_fields(pid);
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// CPU seconds per thread name of a process.
fn threads_cpu_seconds(pid: u32) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let tid = task.file_name().to_string_lossy().into_owned();
        let name = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).unwrap_or_default();
        *out.entry(name.trim().to_owned()).or_insert(0.0) += cpu_seconds(&format!("{pid}/task/{tid}"));
    }
    out
}

/// CPU seconds of this process's finished (waited-for) children: the wrk runs.
fn children_cpu_seconds() -> f64 {
    let f = stat_fields("self");
    (f.get(13).unwrap_or(&0.0) + f.get(14).unwrap_or(&0.0)) / 100.0
}

/// A yardstick for the host's speed at this moment: one core's SHA-256
/// throughput in MiB/s (best of three passes over 32 MiB). This machine's
/// speed drifts by tens of percent from minute to minute, invisibly from
/// inside the VM (steal time stays near zero), so each run's figures are
/// printed beside it: figures measured at different speeds are then told
/// apart, not mistaken for an effect of the code.
fn host_speed() -> f64 {
    use sha2::Digest as _;
    let block = vec![0x5au8; 1 << 20];
    (0..3)
        .map(|_| {
            let start = std::time::Instant::now();
            let mut hash = sha2::Sha256::new();
            for _ in 0..32 {
                hash.update(&block);
            }
            std::hint::black_box(hash.finalize());
            32.0 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// A second yardstick: round trips a second of 64 bytes over loopback TCP
/// between two threads (best of three passes of 3,000). Each round trip is
/// what a decision costs the kernel: two socket writes, two reads and two
/// wake-ups of a thread that sleeps on another core.
fn loopback_speed() -> f64 {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        while s.read_exact(&mut buf).is_ok() {
            if s.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = [7u8; 64];
    let best = (0..3)
        .map(|_| {
            let start = std::time::Instant::now();
            for _ in 0..3_000 {
                s.write_all(&buf).unwrap();
                s.read_exact(&mut buf).unwrap();
            }
            3_000.0 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max);
    drop(s);
    echo.join().unwrap();
    best
}

/// Both yardsticks, as printed beside each run.
fn yardsticks() -> String {
    format!(
        "one core's SHA-256 {:.0} MiB/s, loopback {:.0} round trips/s",
        host_speed(),
        loopback_speed()
    )
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The pid of the redis-server listening on `port`.
fn redis_pid(port: u16) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        (cmd.contains("redis-server") && cmd.contains(&format!(":{port}"))).then_some(pid)
    })
}

fn drive(
    base: &str,
    server_pid: u32,
    storage_pid: Option<u32>,
    connections: usize,
    warmup: u64,
    seconds: u64,
) -> Figures {
    let body = serde_json::to_string(&demo_decision(base.rsplit(':').next().unwrap().parse().unwrap())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("decision.lua");
    std::fs::write(&script, wrk_script(&body)).unwrap();
    let url = format!("{base}/api/v1/sites/demo/decisions");
    wrk(&url, &script, connections, warmup);
    let server_before = cpu_seconds(&server_pid.to_string());
    let threads_before = threads_cpu_seconds(server_pid);
    let storage_before = storage_pid.map(|p| cpu_seconds(&p.to_string()));
    let client_before = children_cpu_seconds();
    let (requests, took, errors, p50_us, p99_us) = wrk(&url, &script, connections, seconds);
    let server_cpu = cpu_seconds(&server_pid.to_string()) - server_before;
    let mut threads = threads_cpu_seconds(server_pid);
    if let (Some(pid), Some(before)) = (storage_pid, storage_before) {
        threads.insert("(redis-server process)".into(), cpu_seconds(&pid.to_string()) - before);
    }
    for (name, before) in threads_before {
        *threads.entry(name).or_insert(0.0) -= before;
    }
    let client_cpu = children_cpu_seconds() - client_before;
    let per = |cpu: f64| cpu * 1e6 / (requests.max(1) as f64);
    Figures {
        per_second: (requests - errors) as f64 / took,
        p50_ms: p50_us / 1000.0,
        p99_ms: p99_us / 1000.0,
        errors,
        server_cpu_us: per(server_cpu),
        threads_cpu_us: threads
            .into_iter()
            .map(|(name, cpu)| (name, per(cpu)))
            .filter(|(_, us)| *us >= 0.5)
            .collect(),
        client_cpu_us: per(client_cpu),
    }
}

/// What Redis did for the decisions: (command, calls, µs per call) from
/// `INFO commandstats`, busiest first.
fn redis_commandstats(port: u16) -> Vec<(String, u64, f64)> {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "INFO", "commandstats"])
        .output()
        .expect("running redis-cli (run scripts/setup)");
    let mut stats: Vec<(String, u64, f64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // cmdstat_evalsha:calls=123,usec=4567,usec_per_call=37.13,...
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let field = |k: &str| rest.split(',').find_map(|f| f.strip_prefix(k)?.strip_prefix('='));
            Some((
                name.to_owned(),
                field("calls")?.parse().ok()?,
                field("usec")?.parse().ok()?,
            ))
        })
        .map(|(name, calls, usec): (String, u64, f64)| (name, calls, usec / calls.max(1) as f64))
        .collect();
    stats.sort_by(|a, b| (b.1 as f64 * b.2).total_cmp(&(a.1 as f64 * a.2)));
    stats
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
            "50000",
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
    let threads: Vec<String> = f.threads_cpu_us.iter().map(|(n, us)| format!("{n} {us:.0}")).collect();
    println!("         server CPU µs per decision by thread: {}", threads.join(", "));
}

/// `BENCH_CONNECTIONS`: one count or a comma-separated list.
fn connection_counts() -> Vec<usize> {
    std::env::var("BENCH_CONNECTIONS")
        .unwrap_or_else(|_| "128,256".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect()
}

fn redis_query<T: redis::FromRedisValue>(url: &str, cmd: &mut redis::Cmd) -> Option<T> {
    let mut con = redis::Client::open(url).ok()?.get_connection().ok()?;
    cmd.query(&mut con).ok()
}

/// The bytes Redis's allocator holds for data (`used_memory`).
fn redis_used_memory(url: &str) -> u64 {
    let info: String = redis_query(url, redis::cmd("INFO").arg("memory")).unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:")?.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 10);
    // Many visitors at once: with group commit, throughput is the number of
    // decisions in flight divided by the fsync time. Past the point where
    // the cores are saturated (see docs/benchmarks.md), more connections add only
    // queueing: p99 grows with them while throughput stays. Both are shown.
    let counts = connection_counts();
    let warmup = 2;
    // `BENCH_BACKENDS=sqlite` (or `redis`) runs one backend only.
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,redis".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "decisions over keep-alive HTTP/1.1 on loopback: {counts:?} connections, {seconds} s after {}s warm-up, \
         {cores} cores, durability on; load average before: {}; host: {}",
        warmup,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        yardsticks()
    );

    let rate_off = ["--client-rate", "0", "--site-rate", "0"];
    if backends.contains("sqlite") {
        for &connections in &counts {
            // A data directory on the real disk: fsync must cost what it costs.
            let data = tempfile::tempdir().unwrap();
            let speed_before = yardsticks();
            let sqlite = {
                let mut args = rate_off.to_vec();
                args.extend(["--data-dir", data.path().to_str().unwrap()]);
                let server = ServerProcess::start(&server_bin(), &args).unwrap();
                drive(
                    &server.base_url(),
                    server.pid().unwrap(),
                    None,
                    connections,
                    warmup,
                    seconds,
                )
            };
            print(&format!("sqlite {connections}"), &sqlite);
            println!("         host: before: {speed_before}; after: {}", yardsticks());
            println!(
                "target: sqlite >= 20000/s with p99 <= 25 ms at {connections} connections: {}",
                if sqlite.per_second >= 20_000.0 && sqlite.p99_ms <= 25.0 {
                    "met"
                } else {
                    "MISSED"
                }
            );
        }
    }
    if !backends.contains("redis") {
        return;
    }
    // `BENCH_FSYNC`: Redis runs once per value: `disk` keeps its append-only
    // file on the real disk, a number N puts it on a tmpfs (/dev/shm) whose
    // fsync is made to take N µs (0: free), so the ratio to the SET ceiling
    // is seen at known fsync latencies in one run.
    let fsyncs: Vec<String> = std::env::var("BENCH_FSYNC")
        .unwrap_or_else(|_| "disk,1000".into())
        .split(',')
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .collect();
    let shim = tempfile::tempdir().unwrap();
    let mut summary = Vec::new();
    for fsync in fsyncs {
        let delay = (fsync != "disk").then(|| fsync.parse::<u64>().expect("BENCH_FSYNC: disk or µs"));
        let median = redis_rounds(delay, shim.path(), &counts, &rate_off, warmup, seconds, cores);
        let label = delay.map_or_else(|| "disk".to_owned(), |us| format!("tmpfs, fsync +{us} µs"));
        summary.push(format!("{label}: {median:.2} x"));
    }
    println!("redis / SET ratio by fsync latency: {}", summary.join("; "));
}

/// Compiles tools/slow-fsync into `dir` once; its path.
fn slow_fsync_shim(dir: &Path) -> std::path::PathBuf {
    let so = dir.join("libslow_fsync.so");
    if !so.exists() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/slow-fsync/slow_fsync.c");
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&so)
            .arg(&source)
            .arg("-ldl")
            .status()
            .expect("running cc for the slow-fsync shim");
        assert!(status.success(), "compiling {}", source.display());
    }
    so
}

/// The Redis rounds (decisions between two SET measurements) on a Redis
/// on the disk (`None`) or on a tmpfs whose fsync takes the given µs; the
/// median ratio of decisions/s to SET/s.
fn redis_rounds(
    delay_us: Option<u64>,
    shim_dir: &Path,
    counts: &[usize],
    rate_off: &[&str],
    warmup: u64,
    seconds: u64,
    cores: usize,
) -> f64 {
    let redis = match delay_us {
        None => RedisServer::start().unwrap(),
        Some(us) => {
            let so = slow_fsync_shim(shim_dir);
            let us = us.to_string();
            let env = [("LD_PRELOAD", so.to_str().unwrap()), ("SLOW_FSYNC_US", us.as_str())];
            RedisServer::start_in(Path::new("/dev/shm"), &env).unwrap()
        }
    };
    let fsync = delay_us.map_or_else(|| "on the disk".to_owned(), |us| format!("on a tmpfs, fsync +{us} µs"));
    println!("--- Redis {fsync} ---");
    let url = redis.url();
    // This machine's speed drifts by tens of percent from minute to minute
    // (docs/benchmarks.md, the machines), so the ceiling is measured right
    // before and right after each round's decision runs, and the ratio is
    // the median over the rounds.
    let rounds = env_or("BENCH_ROUNDS", 3).max(1);
    // Read back rather than assumed: what the figures were measured with.
    let persistence = consent_server::storage::redis::PERSISTENCE_SETTINGS
        .iter()
        .map(|name| {
            let got: Option<Vec<String>> = redis_query(&url, redis::cmd("CONFIG").arg("GET").arg(name));
            format!(
                "{name} {}",
                got.and_then(|v| v.get(1).cloned()).unwrap_or_else(|| "?".into())
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let speed_before = yardsticks();
        let set_before = redis_benchmark_set(redis.port());
        let mut best = 0f64;
        for &connections in counts {
            let redis_data = tempfile::tempdir().unwrap();
            let _: Option<()> = redis_query(&url, redis::cmd("CONFIG").arg("RESETSTAT"));
            let before: u64 = redis_query(&url, redis::cmd("GET").arg("kmk:log:size")).unwrap_or(0);
            let memory_before = redis_used_memory(&url);
            let on_redis = {
                let mut args = rate_off.to_vec();
                args.extend([
                    "--redis",
                    url.as_str(),
                    "--data-dir",
                    redis_data.path().to_str().unwrap(),
                ]);
                let server = ServerProcess::start(&server_bin(), &args).unwrap();
                drive(
                    &server.base_url(),
                    server.pid().unwrap(),
                    redis_pid(redis.port()),
                    connections,
                    warmup,
                    seconds,
                )
            };
            print(&format!("redis {connections}"), &on_redis);
            // Every decision of the run (warm-up included) is in the log.
            let after: u64 = redis_query(&url, redis::cmd("GET").arg("kmk:log:size")).unwrap_or(0);
            let decisions = after.saturating_sub(before).max(1);
            let memory = redis_used_memory(&url).saturating_sub(memory_before) as f64 / decisions as f64;
            let stats = redis_commandstats(redis.port());
            let busiest: Vec<String> = stats
                .iter()
                .take(4)
                .map(|(name, calls, us)| format!("{name} {calls} calls × {us:.0} µs"))
                .collect();
            // A script's time includes the commands it runs (listed beside it).
            let script_us = stats
                .iter()
                .find(|(name, _, _)| name == "evalsha")
                .map_or(0.0, |(_, calls, us)| *calls as f64 * us);
            println!(
                "         inside Redis: {} ({decisions} decisions; {:.1} per script call; script time {:.1} µs per decision, its commands included; memory {memory:.0} bytes per decision)",
                busiest.join(", "),
                decisions as f64 / stats.iter().find(|s| s.0 == "evalsha").map_or(1, |s| s.1.max(1)) as f64,
                script_us / decisions as f64
            );
            // What the cores would allow if Redis cost nothing: the server's and
            // the load generator's CPU per decision alone.
            println!(
                "         with Redis free, {cores} cores would allow at most {:.0} decisions/s (server + load generator CPU)",
                cores as f64 * 1e6 / (on_redis.server_cpu_us + on_redis.client_cpu_us)
            );
            best = best.max(on_redis.per_second);
        }
        let set_after = redis_benchmark_set(redis.port());
        let ceiling = (set_before + set_after) / 2.0;
        ratios.push(best / ceiling);
        println!(
            "round {round}/{rounds}: redis-benchmark -t set (50 clients, same Redis, {persistence}): \
         {set_before:.0} SET/s before, {set_after:.0} after; best {best:.0} decisions/s = {:.2} x their mean\n\
         host: before: {speed_before}; after: {}",
            best / ceiling,
            yardsticks()
        );
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "target: redis >= 0.5 x SET rate ({fsync}): median {median:.2} x over {rounds} rounds (min {:.2}, max {:.2}) ({})",
        ratios[0],
        ratios[ratios.len() - 1],
        if median >= 0.5 { "met" } else { "MISSED" },
    );
    median
}
