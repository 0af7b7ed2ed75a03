//! Every page of the dashboard on a large site: 1,000,000 decisions on one
//! site and 20,000 on each of 10 sites beside it, spread over 100 days and
//! two configuration versions, in the embedded (SQLite) store, with a scan
//! uploaded. Each page, one request after the other, against `GET /healthz`
//! (no work at all) as the yardstick in the same run: p50, p95, p99 and the
//! largest, over fresh loopback connections with the admin session.
//!
//! The pages are found as a visitor would find them: the links of the site
//! list and of the large site's page, followed breadth-first (same origin,
//! under `/dashboard/`, no downloads, no other site's pages), plus the views
//! only a form or a query reaches (the analytics page for 90 days, the proof
//! lookup of a consent id). So a page added later is measured without a
//! list to keep up to date.
//!
//! The decisions are seeded through the store (`SqliteStore::append`, in
//! concurrent batches the writer commits together), not over HTTP; the
//! server is started on the seeded data directory afterwards, and measured
//! once its transparency log has taken in every seeded leaf (so the
//! integrator's catching up does not share the cores with the measurement).
//!
//! **Target:** every page ≤ 100 ms at p95; a page over it is printed as
//! `MISS` and the bench exits with 1.
//!
//! `cargo bench -p consent-server --bench dashboard`. Environment:
//! `BENCH_DECISIONS` (on the large site, default 1,000,000),
//! `BENCH_REQUESTS` (per page, default 200), `BENCH_SERVER_BIN` (another
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
        allowed_origins: vec![format!("https://{site}.example")],
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

/// At most this many pages are measured…
const MAX_PAGES: usize = 60;
/// …and at most this many views (distinct query strings) of one path.
const MAX_VIEWS_PER_PATH: usize = 2;
/// The target: every page at p95.
const TARGET_MS: f64 = 100.0;

/// p50, p95, p99 and the largest of `samples`, in ms.
fn summary(mut samples: Vec<Duration>) -> [f64; 4] {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    [at(0.5), at(0.95), at(0.99), at(1.0)]
}

/// The same-origin links (`href="/…"`) of an HTML page, unescaped, without
/// fragment.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.replace("&amp;", "&").split('#').next().unwrap_or("").to_owned())
        .collect()
}

/// Whether the crawl measures `link`: a dashboard page (not log-out, the
/// stylesheet, a download, or a page of a site other than `site`).
fn measured(link: &str, site: &str) -> bool {
    let path = link.split('?').next().unwrap_or(link);
    let other_site = path
        .strip_prefix("/dashboard/sites/")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|s| s != site && s != "new");
    path.starts_with("/dashboard/")
        && !other_site
        && !path.starts_with("/dashboard/logout")
        && !path.starts_with("/dashboard/static/")
        && ![".csv", ".json", ".xml", ".svg", ".txt"]
            .iter()
            .any(|ext| path.ends_with(ext))
}

/// A scan report of `site` with nothing found (the schema of
/// `scanner/REPORT.md`), so the scan pages have one to show.
fn clean_report(site: &str) -> serde_json::Value {
    let url = format!("https://{site}.example/");
    serde_json::json!({
        "schema": "keurmerk-scan-report", "schema_version": 1,
        "scanner": {"name": "consent-scan", "version": "0.1.0", "knowledge_base": "bench"},
        "site": url, "started_at": 1_790_000_000u64, "duration_ms": 1000,
        "declaration": {"origin": "bench"},
        "summary": {"pages_static": 1, "pages_browser": 1, "platforms": 0, "cookies": 0,
            "personal_data_requests": 0, "findings": {}},
        "findings": [], "platforms": [], "cookies": [], "storage": [], "personal_data": [],
        "pages": [{"url": url, "depth": 0, "status": 200, "bytes": 10, "pass": "browser"}],
        "problems": [],
        "banners": [[url, "reject all: window.keurmerk (reject_all)"]],
        "installation": []
    })
}

/// One measured page.
struct Row {
    path: String,
    status: u16,
    bytes: usize,
    page: [f64; 4],
    healthz: [f64; 4],
}

fn main() {
    let decisions = env_or("BENCH_DECISIONS", 1_000_000);
    let requests = env_or("BENCH_REQUESTS", 200) as usize;
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
    let missed = rt.block_on(async {
        let admin = AdminSession::login(port, &password).await.unwrap();
        // A scan of the large site, so its scan pages show one.
        let key = admin
            .post(
                "/api/v1/owner/sites/big/keys",
                &serde_json::json!({"name": "bench", "scopes": ["scans:write"]}),
            )
            .await
            .unwrap();
        assert_eq!(key.status, 201, "{}", key.body);
        let scan = e2e::post_with_key(
            port,
            "/api/v1/sites/big/scans",
            key.json()["key"].as_str().unwrap(),
            &clean_report("big"),
        )
        .await
        .unwrap();
        assert_eq!(scan.status, 201, "{}", scan.body);

        // The 90-day analytics page counts what the seeded counts add up to:
        // the page reads the real data (Dutch, the default).
        let analytics = "/dashboard/sites/big/analytics?days=90";
        let reply = admin.get(analytics).await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        let shown = reply
            .body
            .split("Keuzes: ")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or("?")
            .to_owned();
        println!("{analytics} shows {shown} decisions");

        // The pages: breadth-first from the site list and the large site's
        // page, plus what only a form reaches.
        let first = ConsentId::from_random({
            let mut id = [0u8; 16];
            id[8..].copy_from_slice(&3u64.to_be_bytes());
            id
        });
        let mut queue: std::collections::VecDeque<String> = [
            "/dashboard/".to_owned(),
            "/dashboard/sites/big".to_owned(),
            analytics.to_owned(),
            format!("/dashboard/sites/big/proof?consent_id={}", first.as_str()),
        ]
        .into();
        let mut seen: std::collections::HashSet<String> = queue.iter().cloned().collect();
        let mut views: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut rows = Vec::new();
        while let Some(path) = queue.pop_front() {
            if rows.len() >= MAX_PAGES {
                println!("more than {MAX_PAGES} pages: stopped before {path}");
                break;
            }
            let reply = admin.get(&path).await.unwrap();
            if !reply.header("content-type").is_some_and(|t| t.starts_with("text/html")) {
                continue;
            }
            for link in links(&reply.body) {
                let path_only = link.split('?').next().unwrap_or("").to_owned();
                if !measured(&link, "big") || seen.contains(&link) {
                    continue;
                }
                let n = views.entry(path_only).or_default();
                if *n >= MAX_VIEWS_PER_PATH {
                    continue;
                }
                *n += 1;
                seen.insert(link.clone());
                queue.push_back(link);
            }
            // Warm-up, then one of each in turn so both see the same conditions.
            for _ in 0..20 {
                admin.get(&path).await.unwrap();
                admin.get("/healthz").await.unwrap();
            }
            let (mut page, mut healthz) = (Vec::new(), Vec::new());
            for _ in 0..requests {
                let t = Instant::now();
                let r = admin.get(&path).await.unwrap();
                page.push(t.elapsed());
                assert_eq!(r.status, reply.status, "{path}");
                let t = Instant::now();
                let r = admin.get("/healthz").await.unwrap();
                healthz.push(t.elapsed());
                assert_eq!(r.status, 200);
            }
            rows.push(Row {
                path,
                status: reply.status,
                bytes: reply.body.len(),
                page: summary(page),
                healthz: summary(healthz),
            });
        }

        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "\n{requests} requests per page, one at a time, a fresh loopback connection each, with the admin \
             session, each followed by GET /healthz (load average after: {}); ms:\n",
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
        println!("| page | status | bytes | p50 | p95 | p99 | max | /healthz p95 | p95 ratio | target |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        let mut missed = Vec::new();
        for r in &rows {
            let [p50, p95, p99, max] = r.page;
            let verdict = if r.status != 200 {
                missed.push(r.path.clone());
                "MISS (not 200)"
            } else if p95 > TARGET_MS {
                missed.push(r.path.clone());
                "MISS"
            } else {
                "met"
            };
            println!(
                "| `{}` | {} | {} | {p50:.2} | {p95:.2} | {p99:.2} | {max:.2} | {:.2} | {:.1}x | {verdict} |",
                r.path,
                r.status,
                r.bytes,
                r.healthz[1],
                p95 / r.healthz[1]
            );
        }
        let all: Vec<f64> = rows.iter().map(|r| r.healthz[1]).collect();
        println!(
            "\n{} pages; GET /healthz p95 between {:.2} and {:.2} ms over the runs",
            rows.len(),
            all.iter().copied().fold(f64::INFINITY, f64::min),
            all.iter().copied().fold(0.0, f64::max)
        );
        missed
    });
    if !missed.is_empty() {
        println!("MISS: over {TARGET_MS} ms at p95 or not 200: {missed:?}");
        std::process::exit(1);
    }
}
