//! The dashboard's analytics page on a large site: 1,000,000 decisions on
//! one site and 20,000 on each of 10 sites beside it, spread over 100 days
//! and two configuration versions, in the embedded (SQLite) store. Then the
//! analytics page for the last 90 days, and `GET /healthz` (no work at all)
//! as the yardstick, one request after the other in the same run: p50, p95
//! and the largest, over fresh loopback connections with the admin session.
//!
//! The decisions are seeded through the store (`SqliteStore::append`, in
//! concurrent batches the writer commits together), not over HTTP; the
//! server is started on the seeded data directory afterwards, and measured
//! once its transparency log has taken in every seeded leaf (so the
//! integrator's catching up does not share the cores with the measurement).
//!
//! `cargo bench -p consent-server --bench dashboard`. Environment:
//! `BENCH_DECISIONS` (on the large site, default 1,000,000),
//! `BENCH_REQUESTS` (per URL, default 300), `BENCH_SERVER_BIN` (another
//! build of the server to measure).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use consent_core::decision::ValidDecision;
use consent_core::store::{Append, DecisionStore, NewVisitor, Site, SiteStore};
use consent_core::{ConsentId, DecisionRecord, Method, SiteConfig, SiteId};
use consent_server::storage::SqliteStore;
use e2e::{AdminSession, ServerProcess};

const DAY_MS: u64 = 86_400_000;
/// The days the decisions are spread over (ending now).
const DAYS: u64 = 100;
/// Appends in flight at once while seeding.
const IN_FLIGHT: usize = 4096;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// The `n`-th decision of `site`: methods, grants, languages and GPC vary
/// with `n`; the second half of the period is under the second version.
fn append(site: &SiteId, configs: &[SiteConfig; 2], n: u64, total: u64, now_ms: u64) -> Append {
    let time_ms = now_ms - DAYS * DAY_MS + n * (DAYS * DAY_MS) / total;
    let config = &configs[usize::from(n * 2 >= total)];
    let method = match n % 10 {
        0..=4 => Method::AcceptAll,
        5..=7 => Method::RejectAll,
        _ => Method::Custom,
    };
    let categories: BTreeMap<String, bool> = config
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let granted = match method {
                Method::AcceptAll => true,
                Method::RejectAll => c.required,
                _ => c.required || i % 2 == 1,
            };
            (c.id.clone(), granted)
        })
        .collect();
    let decision = ValidDecision {
        config_version: config.version(),
        method,
        categories,
        services: BTreeMap::new(),
        language: if n.is_multiple_of(3) { "en" } else { "nl" }.into(),
        page_path: "/".into(),
        gpc: n.is_multiple_of(7),
    };
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id[8..].copy_from_slice(&(site.as_str().len() as u64).to_be_bytes());
    let consent_id = ConsentId::from_random(id);
    let leaf = DecisionRecord::seal(
        site.clone(),
        consent_id.clone(),
        time_ms,
        decision,
        None,
        &[7; 32],
        [9; 24],
    )
    .canonical_bytes();
    Append {
        site: site.clone(),
        consent_id,
        time_ms,
        leaf,
        new_visitor: Some(NewVisitor {
            secret_sha256: [1; 32],
            sealing_key: [7; 32],
        }),
        visitor_cap: None,
    }
}

/// Seeds `decisions` on `site` (created with two configuration versions).
async fn seed(store: &SqliteStore, site: &str, decisions: u64, now_ms: u64) {
    let id = SiteId::parse(site).unwrap();
    let first = SiteConfig::starter();
    let mut second = first.clone();
    second.expiry_days = 180;
    let record = Site {
        id: id.clone(),
        allowed_origins: vec![],
        current_version: first.version(),
        created_ms: now_ms - DAYS * DAY_MS,
    };
    store.create_site(&record, &first).await.unwrap();
    store.save_config(&id, &second).await.unwrap();
    let configs = [first, second];
    let mut n = 0;
    while n < decisions {
        let end = (n + IN_FLIGHT as u64).min(decisions);
        let batch = (n..end).map(|i| store.append(append(&id, &configs, i, decisions, now_ms)));
        for r in futures_util::future::join_all(batch).await {
            r.unwrap();
        }
        n = end;
    }
}

/// p50, p95 and the largest of `samples`, in ms.
fn summary(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.95), at(1.0))
}

fn main() {
    let decisions = env_or("BENCH_DECISIONS", 1_000_000);
    let requests = env_or("BENCH_REQUESTS", 300) as usize;
    let bin = std::env::var_os("BENCH_SERVER_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_consent-server").into(), std::path::PathBuf::from);
    let data = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;

    let others = decisions / 50;
    let started = Instant::now();
    let total = rt.block_on(async {
        let store = SqliteStore::open(data.path()).unwrap();
        seed(&store, "big", decisions, now_ms).await;
        for i in 0..10 {
            seed(&store, &format!("beside-{i}"), others, now_ms).await;
        }
        store.flush().await.unwrap();
        store.leaf_count().await.unwrap()
    });
    let seeded = started.elapsed();
    println!(
        "seeded {total} decisions ({decisions} on one site, {others} on each of 10 others, over {DAYS} days) \
         through the store in {:.1} s ({:.0}/s)",
        seeded.as_secs_f64(),
        total as f64 / seeded.as_secs_f64()
    );

    let server = ServerProcess::start(
        &bin,
        &[
            "--client-rate",
            "0",
            "--site-rate",
            "0",
            "--login-rate",
            "0",
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
    )
    .unwrap();
    let port = server.port();
    // Wait for the log to take in every seeded leaf.
    let waited = Instant::now();
    loop {
        let (status, note) = e2e::http_get(port, "/api/v1/log/checkpoint").unwrap();
        let size: u64 = note.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(0);
        if status == 200 && size >= total {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(1800),
            "the log never caught up: {size}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    println!(
        "the log took in every leaf after {:.0} s",
        waited.elapsed().as_secs_f64()
    );

    let password = server.admin_password();
    rt.block_on(async {
        let admin = AdminSession::login(port, &password).await.unwrap();
        let page = "/dashboard/sites/big/analytics?days=90";
        let reply = admin.get(page).await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.body.contains("<svg"), "{}", reply.body);
        // The page's count of the period's decisions (Dutch, the default):
        // what the 90 days of counts add up to.
        let shown = reply
            .body
            .split("Keuzes: ")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or("?")
            .to_owned();
        // Warm-up, then one of each in turn so both see the same conditions.
        for _ in 0..20 {
            admin.get(page).await.unwrap();
            admin.get("/healthz").await.unwrap();
        }
        let (mut analytics, mut healthz) = (Vec::new(), Vec::new());
        for _ in 0..requests {
            let t = Instant::now();
            let r = admin.get(page).await.unwrap();
            analytics.push(t.elapsed());
            assert_eq!(r.status, 200);
            let t = Instant::now();
            let r = admin.get("/healthz").await.unwrap();
            healthz.push(t.elapsed());
            assert_eq!(r.status, 200);
        }
        let (a50, a95, amax) = summary(analytics);
        let (h50, h95, hmax) = summary(healthz);
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "{requests} requests each, one at a time, a fresh loopback connection each, with the admin session \
             (load average after: {}):",
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
        println!(
            "  GET {page}: p50 {a50:.2} ms, p95 {a95:.2} ms, max {amax:.2} ms ({} bytes, {shown} decisions shown)",
            reply.body.len()
        );
        println!("  GET /healthz: p50 {h50:.2} ms, p95 {h95:.2} ms, max {hmax:.2} ms");
    });
}
