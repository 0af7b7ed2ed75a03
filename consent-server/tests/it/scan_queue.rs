//! The scan queue's contract over real HTTP, on both of its backends: a
//! real redis-server (`--redis`), and the embedded storage (SQLite, the
//! default install). The same tests run against each: queueing only URLs on
//! the site's allowed origins, tenants kept apart, statuses and progress
//! from queued through running to done/failed, each report stored once, the
//! per-site limit of waiting jobs (also under concurrent requests), and the
//! dashboard's "Scan now". Workers here follow the worker contract directly
//! (plain Redis commands; the embedded queue's lease API with the server's
//! own workers switched off), so every outcome is under the test's control.
//! Then what only one backend has: two instances on one Redis storing each
//! result once and taking over a dead instance's leftovers, a dead Redis
//! worker's job queued again; an embedded lease that runs out, retried and
//! capped. `scan_queue_processes.rs` runs real server processes (kill -9
//! mid-scan), `scanner/tests/it/server_queue.rs` the real `consent-scan
//! worker`.

use std::time::Duration;

use crate::common::{Kind, TestApp, browser, csrf_of, redis_con, spawn_app_with};
use consent_core::SiteId;
use consent_core::scan_job::ScanStage;
use consent_core::store::{ScanMeta, ScanQuery, ScanStore, SiteStore};
use consent_server::scan_queue::embedded::{EmbeddedQueue, LeasedJob};
use consent_server::scan_queue::{
    COLLECTORS, DONE, JOBS, ScanQueue, WORKERS, collecting_key, collector_alive_key, job_key, processing_key,
    progress_key, result_key, worker_alive_key,
};
use consent_server::settings::{Settings, StorageSettings};
use redis::AsyncCommands;
use serde_json::{Value, json};

/// A scan report as a worker writes one (`scanner/REPORT.md`), of a static
/// pass only, finding a tracker the HTML loads outright.
fn report(site: &str) -> Value {
    json!({
        "schema": "keurmerk-scan-report",
        "schema_version": 1,
        "scanner": {"name": "consent-scan", "version": "0.1.0", "knowledge_base": "test"},
        "site": site,
        "started_at": 1_790_000_000,
        "duration_ms": 900,
        "declaration": {"origin": "queued job"},
        "summary": {"pages_static": 1, "pages_browser": 0, "platforms": 1, "cookies": 0,
            "personal_data_requests": 0, "findings": {"high": 1}},
        "findings": [
            {"rule": "tracking-before-consent", "severity": "high", "title": "Meta Pixel 1234 before consent",
             "platform": "meta-pixel", "remedy": "Block Meta Pixel until consent",
             "evidence": [{"page": site, "request": "https://connect.facebook.net/en_US/fbevents.js",
                           "note": "loaded by the page's HTML (static pass)"}],
             "evidence_total": 1}
        ],
        "platforms": [], "cookies": [], "storage": [], "personal_data": [],
        "pages": [{"url": site, "depth": 0, "status": 200, "bytes": 500, "pass": "static"}],
        "problems": [], "banners": []
    })
}

/// Moves the oldest waiting job to `processing`, as a worker takes it.
async fn take_job(con: &mut redis::aio::MultiplexedConnection, processing: &str) -> Option<String> {
    redis::cmd("LMOVE")
        .arg(JOBS)
        .arg(processing)
        .arg("RIGHT")
        .arg("LEFT")
        .query_async(con)
        .await
        .unwrap()
}

/// The scans stored for `site`, newest first, at most `limit`.
async fn stored_scans(app: &consent_server::app::AppState, site: &str, limit: usize) -> Vec<ScanMeta> {
    let query = ScanQuery { before: None, limit };
    app.store.scans(&SiteId::parse(site).unwrap(), &query).await.unwrap()
}

/// A worker following the queue's contract, on either backend.
enum Worker {
    /// `consent-scan worker`'s steps as plain Redis commands.
    Redis(redis::aio::MultiplexedConnection),
    /// The embedded queue's lease API, as the server's own workers use it.
    Embedded(EmbeddedQueue),
}

/// A job a [`Worker`] took.
struct Taken {
    job: Value,
    /// Redis: the job's JSON on the processing list.
    raw: String,
    /// Embedded: the lease.
    leased: Option<LeasedJob>,
}

const PROCESSING: &str = "keurmerk:scan:processing:test-worker";

impl Worker {
    /// Takes the oldest waiting job, if any.
    async fn take(&mut self) -> Option<Taken> {
        match self {
            Self::Redis(con) => {
                let raw = take_job(con, PROCESSING).await?;
                Some(Taken {
                    job: serde_json::from_str(&raw).unwrap(),
                    raw,
                    leased: None,
                })
            }
            Self::Embedded(q) => {
                let leased = q.next("test-worker").await.unwrap()?;
                Some(Taken {
                    job: serde_json::from_str(&leased.job).unwrap(),
                    raw: leased.job.clone(),
                    leased: Some(leased),
                })
            }
        }
    }

    /// Reports progress, as a worker does while it scans.
    async fn progress(&mut self, t: &Taken, stage: ScanStage, done: u64, total: u64, note: Option<&str>) {
        match self {
            Self::Redis(con) => {
                let id = t.job["id"].as_str().unwrap();
                let mut fields = vec![
                    ("stage", stage.as_str().to_owned()),
                    ("done", done.to_string()),
                    ("total", total.to_string()),
                ];
                if let Some(n) = note {
                    fields.push(("note", n.to_owned()));
                }
                let _: () = con.hset_multiple(progress_key(id), &fields).await.unwrap();
            }
            Self::Embedded(q) => {
                let leased = t.leased.as_ref().unwrap();
                let held = q
                    .renew(leased, stage, done, total, note.map(str::to_owned))
                    .await
                    .unwrap();
                assert!(held);
            }
        }
    }

    /// Answers the job: `Ok(report)` or `Err(reason)`.
    async fn answer(&mut self, t: Taken, outcome: Result<Value, String>) {
        match self {
            Self::Redis(con) => {
                let id = t.job["id"].as_str().unwrap().to_owned();
                let body = match outcome {
                    Ok(r) => r,
                    Err(e) => json!({"id": id, "error": e}),
                };
                let _: () = con.set(result_key(&id), body.to_string()).await.unwrap();
                let _: () = con.lpush(DONE, &id).await.unwrap();
                let _: () = con.lrem(PROCESSING, 1, &t.raw).await.unwrap();
            }
            Self::Embedded(q) => {
                let leased = t.leased.unwrap();
                let outcome = outcome.map(|r| r.to_string());
                assert!(consent_server::scan_worker::complete(q, &leased, outcome, None).await);
            }
        }
    }

    /// Takes one job and answers it with `answer(job)`.
    async fn work_one(&mut self, answer: impl Fn(&Value) -> Value) -> Option<Value> {
        let t = self.take().await?;
        let job = t.job.clone();
        self.answer(t, Ok(answer(&job))).await;
        Some(job)
    }
}

/// The app with its scan queue and a worker on it: on Redis storage with
/// the queue in the same Redis (what `--redis` resolves to; the settings
/// unit test checks that resolution), or on embedded storage with the queue
/// in it and the server's own workers off (`--scan-workers 0`).
async fn queued_app(kind: Kind) -> (TestApp, Worker) {
    queued_app_with_lease(kind, consent_server::scan_queue::embedded::DEFAULT_LEASE).await
}

/// [`queued_app`] with embedded leases lasting `lease`.
async fn queued_app_with_lease(kind: Kind, lease: Duration) -> (TestApp, Worker) {
    let app = spawn_app_with(kind, |s| {
        s.scan_workers = 0;
        s.scan_lease = lease;
        if let StorageSettings::Redis { url, .. } = &s.storage {
            s.scan_queue = Some(url.clone());
        }
    })
    .await;
    let worker = match app.state.scan_queue.clone().unwrap() {
        ScanQueue::Redis(_) => Worker::Redis(redis_con(&app.redis.as_ref().unwrap().url()).await),
        ScanQueue::Embedded(q) => Worker::Embedded(q),
    };
    (app, worker)
}

async fn poll_until_finished(app: &TestApp, status_url: &str, key: &str) -> Value {
    let port = app.state.settings.listen.port();
    e2e::finished_job(
        port,
        status_url,
        key,
        Duration::from_secs(20),
        Duration::from_millis(50),
    )
    .await
}

/// Jobs of `site` the API lists with `status`.
async fn listed(app: &TestApp, site: &str, key: &str, status: &str) -> usize {
    let v = app
        .json_with_key(&format!("/api/v1/owner/sites/{site}/scan-jobs"), key)
        .await;
    v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["status"] == status)
        .count()
}

/// Only a server given no queue at all (Redis storage with the queue
/// switched off; settings never resolve to that) answers "not configured":
/// the embedded default always has its queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_queue_the_answer_says_so() {
    let app = spawn_app_with(Kind::Redis, |s| s.scan_queue = None).await;
    app.create_site("shop", "https://shop.example.nl").await;
    let key = app.api_key("shop", &["scans:write", "scans:read"]).await;
    for res in [
        app.post_with_key("/api/v1/owner/sites/shop/scan-jobs", &key, &json!({}))
            .await,
        app.get_with_key("/api/v1/owner/sites/shop/scan-jobs/x1", &key).await,
    ] {
        assert_eq!(res.status(), 503);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "scan_queue_not_configured");
    }
    // The dashboard says so too, in the visitor's language, and offers no form.
    let b = app.dashboard_login().await;
    let (_, page) = app.page(&b, "/dashboard/sites/shop/scans", Some("en")).await;
    assert!(page.contains("Scan queue not configured"), "{page}");
    assert!(!page.contains("/scan-jobs\""), "{page}");
    let csrf = csrf_of(&page);
    let res = b
        .post(app.url("/dashboard/sites/shop/scan-jobs"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);

    // The embedded default has its queue: the same request is queued.
    let embedded = spawn_app_with(Kind::Sqlite, |s| s.scan_workers = 0).await;
    embedded.create_site("shop", "https://shop.example.nl").await;
    let key = embedded.api_key("shop", &["scans:write"]).await;
    let res = embedded
        .post_with_key("/api/v1/owner/sites/shop/scan-jobs", &key, &json!({}))
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(embedded.state.scan_queue.as_ref().unwrap().name(), "embedded");
}

/// A job request over 16 KiB is a 413 naming that limit, also when it is
/// larger than the 4 MiB the body-limit layer of the scan routes lets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_job_request_is_refused_naming_the_limit() {
    let app = spawn_app_with(Kind::Sqlite, |s| s.scan_workers = 0).await;
    app.create_site("shop", "https://shop.example.nl").await;
    let key = app.api_key("shop", &["scans:write"]).await;
    for size in [17 * 1024, consent_core::store::MAX_SCAN_BYTES + 1] {
        let body = json!({"url": "x".repeat(size)});
        let res = app
            .post_with_key("/api/v1/owner/sites/shop/scan-jobs", &key, &body)
            .await;
        assert_eq!(res.status(), 413, "{size}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"], "too_large");
        assert_eq!(v["message"], "the body may be at most 16384 bytes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_contract_on_redis() {
    queue_checks_origins_and_tenants_and_reports_progress_done_and_failed(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_contract_on_embedded_storage() {
    queue_checks_origins_and_tenants_and_reports_progress_done_and_failed(Kind::Sqlite).await;
}

async fn queue_checks_origins_and_tenants_and_reports_progress_done_and_failed(kind: Kind) {
    let (app, mut worker) = queued_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    app.create_site("other", "https://other.example.nl").await;
    let shop = app.api_key("shop", &["scans:write", "scans:read"]).await;
    let other = app.api_key("other", &["scans:write", "scans:read"]).await;
    let upload_only = app.api_key("shop", &["scans:read"]).await;
    let jobs = "/api/v1/owner/sites/shop/scan-jobs";

    // Only the site's own origins: no other host, port, scheme or the
    // other tenant's site. Nothing is queued for a refused request.
    for bad in [
        "https://evil.example/",
        "http://shop.example.nl/",
        "https://shop.example.nl:8443/",
        "http://127.0.0.1:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "https://other.example.nl/",
        "https://admin:pw@shop.example.nl/",
        "file:///etc/passwd",
    ] {
        let res = app.post_with_key(jobs, &shop, &json!({"url": bad})).await;
        assert_eq!(res.status(), 422, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["field"], "url", "{bad}: {body}");
    }
    for (body, field) in [
        (json!({"max_pages": 0}), "max_pages"),
        (json!({"depth": 11}), "depth"),
        (json!({"browser_pages": 101}), "browser_pages"),
        (json!({"colour": "red"}), ""),
    ] {
        let res = app.post_with_key(jobs, &shop, &body).await;
        assert_eq!(res.status(), 422, "{body}");
        let v: Value = res.json().await.unwrap();
        if !field.is_empty() {
            assert_eq!(v["field"], field);
        }
    }
    assert_eq!(
        listed(&app, "shop", &shop, "queued").await,
        0,
        "refused requests queue nothing"
    );
    assert!(worker.take().await.is_none(), "nothing for a worker either");

    // Tenants: another site's key can neither queue for nor read shop; a
    // key without scans:write cannot queue.
    assert_eq!(app.post_with_key(jobs, &other, &json!({})).await.status(), 403);
    assert_eq!(app.post_with_key(jobs, &upload_only, &json!({})).await.status(), 403);

    let res = app
        .post_with_key(
            jobs,
            &shop,
            &json!({"url": "https://shop.example.nl/winkel?x=1#top", "max_pages": 5, "depth": 1, "browser_pages": 0}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["status"], "queued");
    assert_eq!(job["stage"], "queued");
    assert_eq!(
        (job["pages_done"].clone(), job["attempts"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(job["url"], "https://shop.example.nl/winkel?x=1");
    assert_eq!(job["status_url"], location.as_str());
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get_with_key(&location, &other).await.status(), 403);
    let res = app
        .get_with_key(&format!("/api/v1/owner/sites/other/scan-jobs/{id}"), &other)
        .await;
    assert_eq!(res.status(), 404, "shop's job is not found under another site");
    for odd in ["../x", "a%20b", &"x".repeat(65)] {
        let res = app.get_with_key(&format!("{jobs}/{odd}"), &shop).await;
        assert_eq!(res.status(), 404, "{odd}");
    }
    let listed_other: Value = app.json_with_key("/api/v1/owner/sites/other/scan-jobs", &other).await;
    assert_eq!(listed_other["jobs"], json!([]));
    let listed_shop: Value = app.json_with_key(jobs, &shop).await;
    assert_eq!(listed_shop["jobs"][0]["id"], id.as_str());

    // The worker sees the site id, the options and the current declaration,
    // and its progress shows while it runs.
    let version = app
        .state
        .store
        .site(&SiteId::parse("shop").unwrap())
        .await
        .unwrap()
        .unwrap()
        .current_version;
    let taken = worker.take().await.unwrap();
    let seen = taken.job.clone();
    assert_eq!(seen["site"], "shop");
    assert_eq!(
        (
            seen["max_pages"].clone(),
            seen["depth"].clone(),
            seen["browser_pages"].clone()
        ),
        (json!(5), json!(1), json!(0))
    );
    let declared: consent_core::SiteConfig = serde_json::from_value(seen["declared"].clone()).unwrap();
    assert_eq!(declared.version(), version);
    let running: Value = app.json_with_key(&location, &shop).await;
    assert_eq!(
        (running["status"].clone(), running["stage"].clone()),
        (json!("running"), json!("static_pass"))
    );
    worker
        .progress(
            &taken,
            ScanStage::BrowserPass,
            2,
            5,
            Some("static pass only: no Chromium"),
        )
        .await;
    let running: Value = app.json_with_key(&location, &shop).await;
    assert_eq!(running["stage"], "browser_pass", "{running}");
    assert_eq!(
        (running["pages_done"].clone(), running["pages_total"].clone()),
        (json!(2), json!(5))
    );
    assert_eq!(running["note"], "static pass only: no Chromium");
    let url = seen["url"].as_str().unwrap().to_owned();
    worker.answer(taken, Ok(report(&url))).await;

    let done = poll_until_finished(&app, &location, &shop).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["stage"], "done");
    assert_eq!(done["attempts"], 1);
    assert_eq!(
        done["note"], "static pass only: no Chromium",
        "the note outlives the run"
    );
    let scan: Value = app.json_with_key(done["scan_url"].as_str().unwrap(), &shop).await;
    assert_eq!(scan["findings"][0]["platform"], "meta-pixel");
    let listed_scans: Value = app.json_with_key("/api/v1/sites/shop/scans", &shop).await;
    assert_eq!(listed_scans["scans"][0]["id"], done["scan_id"]);
    assert_eq!(listed_scans["scans"][0]["counts"], json!({"high": 1}));
    // The stored scan is attested in the log whichever path stored it (the
    // Keurmerk seal); a tracker the HTML loads outright fails it even
    // without a browser pass.
    let scan_id = done["scan_id"].as_str().unwrap();
    let shop_id = SiteId::parse("shop").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let sealed = loop {
        let latest = consent_server::service::attestation::latest(&app.state, &shop_id, false)
            .await
            .unwrap();
        if let Some(s) = latest.filter(|s| s.attestation.scan_id == scan_id) {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "scan {scan_id} not attested");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(sealed.attestation.verdict(), consent_core::attestation::Verdict::Failed);
    assert!(
        !sealed.attestation.after_reject.measured,
        "no browser pass: not measured"
    );

    // Queued, then running once a worker takes it, then failed with the reason.
    let res = app.post_with_key(jobs, &shop, &json!({})).await;
    let job: Value = res.json().await.unwrap();
    let status_url = job["status_url"].as_str().unwrap().to_owned();
    assert_eq!(job["url"], "https://shop.example.nl/");
    let taken = worker.take().await.unwrap();
    let running: Value = app.json_with_key(&status_url, &shop).await;
    assert_eq!(running["status"], "running");
    worker.answer(taken, Err("page timed out after 20 s".into())).await;
    let failed = poll_until_finished(&app, &status_url, &shop).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["stage"], "failed");
    assert_eq!(failed["error"], "page timed out after 20 s");
    assert!(failed.get("scan_id").is_none());

    // A worker's broken report is a failure with a reason, not a stored scan.
    let job: Value = app.post_with_key(jobs, &shop, &json!({})).await.json().await.unwrap();
    worker
        .work_one(|_| json!({"schema_version": 1, "findings": [{"severity": "catastrophic"}]}))
        .await;
    let failed = poll_until_finished(&app, job["status_url"].as_str().unwrap(), &shop).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("findings/0/severity"),
        "{failed}"
    );
    let scans = stored_scans(&app.state, "shop", 10).await;
    assert_eq!(scans.len(), 1);

    // At most 10 scans of one site wait for a worker at once.
    for _ in 0..shop_cap() {
        assert_eq!(app.post_with_key(jobs, &shop, &json!({})).await.status(), 202);
    }
    let res = app.post_with_key(jobs, &shop, &json!({})).await;
    assert_eq!(res.status(), 429);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "too_many_jobs");
    // Another site still gets its scans queued.
    assert_eq!(
        app.post_with_key("/api/v1/owner/sites/other/scan-jobs", &other, &json!({}))
            .await
            .status(),
        202
    );
}

fn shop_cap() -> usize {
    consent_server::service::scan::MAX_WAITING_JOBS
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_jobs_limit_under_concurrent_requests_on_redis() {
    the_waiting_jobs_limit_holds_under_concurrent_requests(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_jobs_limit_under_concurrent_requests_on_embedded_storage() {
    the_waiting_jobs_limit_holds_under_concurrent_requests(Kind::Sqlite).await;
}

/// The per-site limit of waiting jobs holds when requests race for the
/// last places: 30 at once, at most the limit are queued, the rest get 429,
/// and the queue holds exactly the accepted ones. Jobs of another site
/// still get in.
async fn the_waiting_jobs_limit_holds_under_concurrent_requests(kind: Kind) {
    let (app, mut worker) = queued_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    app.create_site("other", "https://other.example.nl").await;
    let shop = app.api_key("shop", &["scans:write", "scans:read"]).await;
    let other = app.api_key("other", &["scans:write"]).await;
    let app = std::sync::Arc::new(app);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(30));
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (app, shop, barrier) = (app.clone(), shop.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = app
                .post_with_key("/api/v1/owner/sites/shop/scan-jobs", &shop, &json!({}))
                .await;
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            202 => accepted += 1,
            429 => assert_eq!(body["error"], "too_many_jobs", "{body}"),
            _ => panic!("{status}: {body}"),
        }
    }
    assert_eq!(accepted, shop_cap(), "exactly the limit is queued");
    assert_eq!(listed(&app, "shop", &shop, "queued").await, shop_cap());
    if let Worker::Redis(con) = &mut worker {
        let queued: usize = con.llen(JOBS).await.unwrap();
        assert_eq!(queued, shop_cap());
    }
    let res = app
        .post_with_key("/api/v1/owner/sites/other/scan-jobs", &other, &json!({}))
        .await;
    assert_eq!(res.status(), 202);
    // A worker taking one frees one place, and only one.
    worker.take().await.unwrap();
    let jobs = "/api/v1/owner/sites/shop/scan-jobs";
    assert_eq!(app.post_with_key(jobs, &shop, &json!({})).await.status(), 202);
    assert_eq!(app.post_with_key(jobs, &shop, &json!({})).await.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_scan_now_on_redis() {
    dashboard_scan_now_queues_with_csrf_and_shows_progress(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_scan_now_on_embedded_storage() {
    dashboard_scan_now_queues_with_csrf_and_shows_progress(Kind::Sqlite).await;
}

async fn dashboard_scan_now_queues_with_csrf_and_shows_progress(kind: Kind) {
    let (app, mut worker) = queued_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    let b = app.dashboard_login().await;
    let scans = "/dashboard/sites/shop/scans";
    let (_, page) = app.page(&b, scans, Some("nl")).await;
    assert!(page.contains("Nu scannen"), "{page}");
    assert!(!page.contains("<script"));
    let csrf = csrf_of(&page);

    let post = app.url("/dashboard/sites/shop/scan-jobs");
    let res = b.post(&post).form(&[("csrf", "wrong")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = browser()
        .post(&post)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "no session: to the log-in");
    assert_eq!(res.headers()["location"], "/dashboard/login");
    let (_, page) = app.page(&b, scans, Some("en")).await;
    assert!(!page.contains("job-queued"), "nothing was queued: {page}");

    let res = b.post(&post).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/sites/shop/scans");
    let (_, page) = app.page(&b, scans, Some("en")).await;
    assert!(page.contains("<code>https://shop.example.nl/</code>"), "{page}");
    assert!(page.contains(r#"class="job-queued">Queued"#), "{page}");
    assert!(
        page.contains(r#"<meta http-equiv="refresh" content="5">"#),
        "reloads while a scan waits"
    );

    // While it runs: the pass and pages done of total, without JavaScript.
    let taken = worker.take().await.unwrap();
    worker.progress(&taken, ScanStage::StaticPass, 3, 12, None).await;
    let (_, page) = app.page(&b, scans, Some("en")).await;
    assert!(
        page.contains(
            r#"Running: <span class="job-stage">static pass</span>, 3/12 pages <progress value="3" max="12">"#
        ),
        "{page}"
    );
    assert!(page.contains(r#"content="5""#), "still reloading");
    let url = taken.job["url"].as_str().unwrap().to_owned();
    worker.answer(taken, Ok(report(&url))).await;
    let page = e2e::poll(Duration::from_secs(20), Duration::from_millis(50), async || {
        let (_, page) = app.page(&b, scans, Some("en")).await;
        match page.contains(r#"class="job-done"><a href="/dashboard/sites/shop/scans/"#) {
            true => Ok(page),
            false => Err(page),
        }
    })
    .await;
    assert!(!page.contains("http-equiv"), "nothing left to wait for");
}

/// The embedded queue's lease: a worker that stops renewing (its server
/// died mid-scan) loses the job to the next worker once the lease runs
/// out; the first one can then no longer store anything, the second stores
/// the report once. A job whose workers died on it `MAX_ATTEMPTS` times
/// fails with that reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_lease_that_runs_out_is_retried_stored_once_and_capped() {
    // Leases of 3 s, so a dead worker's runs out soon (and a live one
    // holds it through the few steps in between).
    let (app, mut worker) = queued_app_with_lease(Kind::Sqlite, Duration::from_secs(3)).await;
    let Worker::Embedded(queue) = &mut worker else {
        unreachable!()
    };
    let queue = queue.clone();
    app.create_site("shop", "https://shop.example.nl").await;
    let key = app.api_key("shop", &["scans:write", "scans:read"]).await;
    let jobs = "/api/v1/owner/sites/shop/scan-jobs";
    let job: Value = app.post_with_key(jobs, &key, &json!({})).await.json().await.unwrap();
    let status_url = job["status_url"].as_str().unwrap().to_owned();

    let first = queue.next("dies").await.unwrap().unwrap();
    assert_eq!(first.lease.attempt, 1);
    assert!(
        queue.next("other").await.unwrap().is_none(),
        "a held lease is not given out"
    );
    // Not renewed, the lease runs out and the next worker to ask gets it.
    let second = e2e::poll(
        Duration::from_secs(90),
        Duration::from_millis(200),
        async || match queue.next("survivor").await.unwrap() {
            Some(j) => Ok(j),
            None => Err("the lease has not run out yet"),
        },
    )
    .await;
    assert_eq!((second.id.as_str(), second.lease.attempt), (first.id.as_str(), 2));
    let retried: Value = app.json_with_key(&status_url, &key).await;
    assert_eq!(
        (retried["status"].clone(), retried["attempts"].clone()),
        (json!("running"), json!(2))
    );

    // The dead worker's late answer is refused; the survivor's is stored.
    let url = "https://shop.example.nl/";
    assert!(!consent_server::scan_worker::complete(&queue, &first, Ok(report(url).to_string()), None).await);
    assert!(!queue.renew(&first, ScanStage::Storing, 0, 0, None).await.unwrap());
    assert!(consent_server::scan_worker::complete(&queue, &second, Ok(report(url).to_string()), None).await);
    assert!(!consent_server::scan_worker::complete(&queue, &second, Ok(report(url).to_string()), None).await);
    let done = poll_until_finished(&app, &status_url, &key).await;
    assert_eq!(done["status"], "done");
    let scans = stored_scans(&app.state, "shop", 10).await;
    assert_eq!(scans.len(), 1, "stored once");
    assert_eq!(done["scan_id"], scans[0].id.as_str());

    // A job every worker dies on: taken MAX_ATTEMPTS times, then failed.
    let job: Value = app.post_with_key(jobs, &key, &json!({})).await.json().await.unwrap();
    let status_url = job["status_url"].as_str().unwrap().to_owned();
    let cap = consent_server::scan_queue::MAX_ATTEMPTS as u64;
    for attempt in 1..=cap {
        let taken = e2e::poll(
            Duration::from_secs(90),
            Duration::from_millis(200),
            async || match queue.next(&format!("w{attempt}")).await.unwrap() {
                Some(j) => Ok(j),
                None => Err("the lease has not run out yet"),
            },
        )
        .await;
        assert_eq!(taken.lease.attempt, attempt);
    }
    let failed = e2e::poll(Duration::from_secs(90), Duration::from_millis(200), async || {
        assert!(queue.next("late").await.unwrap().is_none(), "never given out again");
        let v = app.json_with_key(&status_url, &key).await;
        if v["status"] == "failed" { Ok(v) } else { Err(v) }
    })
    .await;
    assert_eq!(
        failed["error"],
        format!("a scan worker stopped while running this job {cap} times")
    );
    assert_eq!(stored_scans(&app.state, "shop", 10).await.len(), 1);
}

/// A second server instance on the same Redis (storage and queue).
async fn second_instance(redis_url: &str) -> consent_server::app::AppState {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut settings = Settings::embedded(listener.local_addr().unwrap(), &dir.path().join("data"));
    settings.storage = StorageSettings::Redis {
        url: redis_url.to_owned(),
        prefix: "kmk:".into(),
    };
    settings.scan_queue = Some(redis_url.to_owned());
    settings.client_rate = 0;
    settings.site_rate = 0;
    let store = consent_server::app::open_store(&settings).unwrap();
    let state = consent_server::app::state(settings, store).unwrap();
    tokio::spawn(consent_server::app::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    std::mem::forget(dir);
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_store_each_result_once_and_take_over_a_dead_ones() {
    let redis = e2e::RedisServer::start().unwrap();
    let url = redis.url();
    let mut con = redis_con(&url).await;
    let shop = SiteId::parse("shop").unwrap();

    // A server that died after saving a scan but before recording it and
    // removing the id from its collecting list (its heartbeat is gone).
    let dead_job = "000000000000001-deadbeef0001";
    let dead_scan = ScanMeta::new_id(1, "0000dead");
    let store = consent_server::storage::RedisStore::open(&url, "kmk:").unwrap();
    let body = report("https://shop.example.nl/").to_string();
    store
        .save_scan(
            &ScanMeta {
                id: dead_scan.clone(),
                site: shop.clone(),
                time_ms: 1,
                url: "https://shop.example.nl/".into(),
                counts: [("high".to_owned(), 1)].into(),
            },
            body.as_bytes(),
        )
        .await
        .unwrap();
    let _: () = con
        .hset_multiple(
            job_key(dead_job),
            &[
                ("site", "shop"),
                ("url", "https://shop.example.nl/"),
                ("created_ms", "1"),
                ("raw", "{}"),
                ("scan_id", dead_scan.as_str()),
                ("collected_ms", "1"),
            ],
        )
        .await
        .unwrap();
    let _: () = con.set(result_key(dead_job), &body).await.unwrap();
    let _: () = con.lpush(collecting_key("srv-dead"), dead_job).await.unwrap();
    let _: () = con.sadd(COLLECTORS, "srv-dead").await.unwrap();
    // And one whose heartbeat is live: its list must be left alone.
    let _: () = con.set(collector_alive_key("srv-alive"), 1).await.unwrap();
    let _: () = con.sadd(COLLECTORS, "srv-alive").await.unwrap();
    let _: () = con
        .lpush(collecting_key("srv-alive"), "000000000000002-a11ve")
        .await
        .unwrap();

    // A scanner worker that died mid-scan (no heartbeat): its job goes back
    // on the queue; a job that already killed two workers fails instead.
    // A live worker's job stays where it is.
    let requeued = "000000000000003-a9a1n0000001";
    let poison = "000000000000004-p0150n000001";
    for (id, attempts) in [(requeued, "0"), (poison, "2")] {
        let raw = json!({"id": id, "site": "shop", "url": "https://shop.example.nl/"}).to_string();
        let _: () = con
            .hset_multiple(
                job_key(id),
                &[
                    ("site", "shop"),
                    ("url", "https://shop.example.nl/"),
                    ("created_ms", "3"),
                    ("raw", raw.as_str()),
                    ("attempts", attempts),
                ],
            )
            .await
            .unwrap();
        let _: () = con.lpush(processing_key("w-dead"), &raw).await.unwrap();
    }
    let _: () = con.sadd(WORKERS, &["w-dead", "w-live"]).await.unwrap();
    let _: () = con.set(worker_alive_key("w-live"), 1).await.unwrap();
    let _: () = con
        .lpush(processing_key("w-live"), r#"{"id":"busy","url":"https://x/"}"#)
        .await
        .unwrap();

    let url2 = url.clone();
    let a = spawn_app_with(Kind::Sqlite, move |s| {
        s.storage = StorageSettings::Redis {
            url: url2.clone(),
            prefix: "kmk:".into(),
        };
        s.scan_queue = Some(url2);
    })
    .await;
    let b = second_instance(&url).await;
    a.create_site("shop", "https://shop.example.nl").await;
    let key = a.api_key("shop", &["scans:write", "scans:read"]).await;

    // 30 jobs, finished all at once, so both collectors race for them.
    let mut status_urls = Vec::new();
    e2e::poll(Duration::from_secs(20), Duration::from_millis(20), async || {
        let left: usize = con.llen(processing_key("w-dead")).await.unwrap();
        match left {
            0 => Ok(()),
            _ => Err("the dead worker's jobs were not taken back"),
        }
    })
    .await;
    // Workers take each job as it comes (at most 10 may wait per site) but
    // finish them all at once, so both collectors race for the results.
    let processing = "keurmerk:scan:processing:batch-worker";
    let mut taken: Vec<String> = Vec::new();
    for _ in 0..30 {
        let res = a
            .post_with_key("/api/v1/owner/sites/shop/scan-jobs", &key, &json!({}))
            .await;
        assert_eq!(res.status(), 202);
        let v: Value = res.json().await.unwrap();
        status_urls.push(v["status_url"].as_str().unwrap().to_owned());
        while let Some(raw) = take_job(&mut con, processing).await {
            taken.push(raw);
        }
    }
    let mut ids = Vec::new();
    for raw in &taken {
        let job: Value = serde_json::from_str(raw).unwrap();
        let id = job["id"].as_str().unwrap().to_owned();
        let _: () = con
            .set(result_key(&id), report(job["url"].as_str().unwrap()).to_string())
            .await
            .unwrap();
        let _: () = con.lpush(DONE, &id).await.unwrap();
        let _: () = con.lrem(processing, 1, raw).await.unwrap();
        ids.push(id);
    }
    assert_eq!(ids.len(), 31, "30 new jobs and the dead worker's");
    assert!(ids.iter().any(|i| i == requeued) && !ids.iter().any(|i| i == poison));
    status_urls.push(format!("/api/v1/owner/sites/shop/scan-jobs/{requeued}"));
    let failed = a
        .json_with_key(&format!("/api/v1/owner/sites/shop/scan-jobs/{poison}"), &key)
        .await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["error"],
        "a scanner worker stopped while running this job 3 times"
    );
    let busy: usize = con.llen(processing_key("w-live")).await.unwrap();
    assert_eq!(busy, 1, "a live worker's job is left alone");
    let workers: Vec<String> = con.smembers(WORKERS).await.unwrap();
    assert_eq!(workers, vec!["w-live".to_owned()]);
    // A duplicate notification must not store a second copy.
    let _: () = con.lpush(DONE, &ids[0]).await.unwrap();

    let mut scan_ids = std::collections::BTreeSet::new();
    for u in &status_urls {
        let v = poll_until_finished(&a, u, &key).await;
        assert_eq!(v["status"], "done", "{v}");
        scan_ids.insert(v["scan_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(scan_ids.len(), 31);
    let dead_status = format!("/api/v1/owner/sites/shop/scan-jobs/{dead_job}");
    let dead = e2e::poll(Duration::from_secs(20), Duration::from_millis(50), async || {
        let dead = a.json_with_key(&dead_status, &key).await;
        if dead["status"] == "done" { Ok(dead) } else { Err(dead) }
    })
    .await;
    assert_eq!(dead["scan_id"], dead_scan.as_str(), "the retry reused the scan id");
    // Wait for the duplicate notification to be consumed too.
    e2e::poll(Duration::from_secs(20), Duration::from_millis(50), async || {
        let left: usize = con.llen(DONE).await.unwrap();
        let a_list: usize = con
            .llen(collecting_key(a.state.scan_queue.as_ref().unwrap().instance()))
            .await
            .unwrap();
        let b_list: usize = con
            .llen(collecting_key(b.scan_queue.as_ref().unwrap().instance()))
            .await
            .unwrap();
        match left + a_list + b_list {
            0 => Ok(()),
            n => Err(format!("{n} notifications or collections left")),
        }
    })
    .await;

    let stored = stored_scans(&a.state, "shop", 200).await;
    let stored_ids: std::collections::BTreeSet<String> = stored.iter().map(|m| m.id.clone()).collect();
    assert_eq!(
        stored.len(),
        32,
        "31 new results and the dead instance's one, each once"
    );
    assert_eq!(stored_ids.len(), 32);
    assert!(scan_ids.is_subset(&stored_ids) && stored_ids.contains(&dead_scan));
    let dead_left: usize = con.llen(collecting_key("srv-dead")).await.unwrap();
    let alive_left: usize = con.llen(collecting_key("srv-alive")).await.unwrap();
    assert_eq!(
        (dead_left, alive_left),
        (0, 1),
        "only the dead instance's list is taken over"
    );
    let members: Vec<String> = con.smembers(COLLECTORS).await.unwrap();
    assert!(!members.contains(&"srv-dead".to_owned()) && members.contains(&"srv-alive".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_scans_and_alerts_on_redis() {
    schedules_enqueue_when_due_and_new_findings_raise_an_alert(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_scans_and_alerts_on_embedded_storage() {
    schedules_enqueue_when_due_and_new_findings_raise_an_alert(Kind::Sqlite).await;
}

/// A report with one finding per `(platform, rule, state)`.
fn report_with(findings: &[(&str, &str, &str)]) -> Value {
    let findings: Vec<Value> = findings
        .iter()
        .map(|(platform, rule, state)| {
            json!({"rule": rule, "severity": "high", "title": format!("{platform} {rule} {state}"),
                   "platform": platform, "remedy": "r", "evidence": [{"state": state, "page": "https://shop.example.nl/"}]})
        })
        .collect();
    json!({"schema": "keurmerk-scan-report", "schema_version": 1, "site": "https://shop.example.nl/", "findings": findings})
}

/// Schedules: set over the API and the dashboard (CSRF-checked), queued
/// when due with the clock passed in (a day later without waiting one),
/// each due scan once. A scheduled scan whose findings (by platform, rule
/// and consent state) the previous scan did not have raises an alert, shown
/// on the dashboard until dismissed; a scan someone asked for raises none.
async fn schedules_enqueue_when_due_and_new_findings_raise_an_alert(kind: Kind) {
    use consent_server::service::scan::enqueue_due;

    let (app, mut worker) = queued_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    app.create_site("other", "https://other.example.nl").await;
    let key = app.api_key("shop", &["scans:write", "scans:read"]).await;
    let other = app.api_key("other", &["scans:write", "scans:read"]).await;
    let schedule = "/api/v1/owner/sites/shop/scan-schedule";
    let alerts = "/api/v1/owner/sites/shop/scan-alerts";

    assert_eq!(app.json_with_key(schedule, &key).await, json!({"every": "off"}));
    for bad in [json!({"every": "hourly"}), json!({}), json!({"every": "daily", "x": 1})] {
        let res = app.send_with_key(reqwest::Method::PUT, schedule, &key, &bad).await;
        assert_eq!(res.status(), 422, "{bad}");
    }
    let res = app.put_with_key(schedule, &other, &json!({"every": "daily"})).await;
    assert_eq!(res.status(), 403, "another tenant's key");
    assert_eq!(app.get_with_key(alerts, &other).await.status(), 403);
    let before = consent_server::clock::now_ms();
    let res = app.put_with_key(schedule, &key, &json!({"every": "daily"})).await;
    assert_eq!(res.status(), 200);
    let set: Value = res.json().await.unwrap();
    assert_eq!(set["every"], "daily");
    let due = set["next_ms"].as_u64().unwrap();
    let day = 24 * 3600 * 1000;
    assert!(due >= before + day, "the first scheduled scan is a day away");
    assert_eq!(app.json_with_key(schedule, &key).await, set);

    // Not due yet: nothing. Due: queued once, then not again until a day later.
    let state = &app.state;
    assert!(enqueue_due(state, due - 1).await.unwrap().is_empty());
    assert_eq!(
        enqueue_due(state, due).await.unwrap(),
        vec![SiteId::parse("shop").unwrap()]
    );
    assert!(enqueue_due(state, due).await.unwrap().is_empty(), "taken once");
    let listed: Value = app.json_with_key("/api/v1/owner/sites/shop/scan-jobs", &key).await;
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(listed["jobs"][0]["scheduled"], true);

    // The first scheduled scan: nothing to compare with, no alert.
    let meta = ("meta-pixel", "tracking-before-consent", "before_consent");
    let first = worker.take().await.unwrap();
    assert_eq!(first.job["site"], "shop");
    worker.answer(first, Ok(report_with(&[meta]))).await;
    poll_until_finished(&app, listed["jobs"][0]["status_url"].as_str().unwrap(), &key).await;
    assert_eq!(app.json_with_key(alerts, &key).await, json!({"alerts": []}));

    // A day later: the same finding, and two new ones.
    assert_eq!(enqueue_due(state, due + day).await.unwrap().len(), 1);
    let second = worker.take().await.unwrap();
    let after_reject = ("meta-pixel", "tracking-before-consent", "after_reject");
    let tiktok = ("tiktok", "tracking-before-consent", "before_consent");
    worker
        .answer(second, Ok(report_with(&[meta, after_reject, tiktok])))
        .await;
    let raised = e2e::poll(Duration::from_secs(20), Duration::from_millis(50), async || {
        let v = app.json_with_key(alerts, &key).await;
        if v["alerts"].as_array().unwrap().is_empty() {
            Err(v)
        } else {
            Ok(v)
        }
    })
    .await;
    let alert = &raised["alerts"][0];
    let fingerprints: Vec<&str> = alert["new_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(
        fingerprints,
        [
            "meta-pixel|tracking-before-consent|after_reject",
            "tiktok|tracking-before-consent|before_consent"
        ]
    );
    let scans = stored_scans(&app.state, "shop", 10).await;
    assert_eq!(alert["scan_id"], scans[0].id.as_str());
    assert_eq!(alert["previous_scan_id"], scans[1].id.as_str());

    // A scan someone asked for raises none, however new its findings.
    let job: Value = app
        .post_with_key("/api/v1/owner/sites/shop/scan-jobs", &key, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let asked = worker.take().await.unwrap();
    worker
        .answer(
            asked,
            Ok(report_with(&[("snap", "tracking-before-consent", "after_accept")])),
        )
        .await;
    poll_until_finished(&app, job["status_url"].as_str().unwrap(), &key).await;
    let listed_alerts = app.json_with_key(alerts, &key).await;
    assert_eq!(listed_alerts["alerts"].as_array().unwrap().len(), 1);

    // The dashboard shows the alert until dismissed (CSRF-checked), and
    // sets the schedule (CSRF-checked).
    let b = app.dashboard_login().await;
    let page_path = "/dashboard/sites/shop/scans";
    let (_, page) = app.page(&b, page_path, Some("en")).await;
    assert!(page.contains("New findings"), "{page}");
    assert!(
        page.contains("tiktok · tracking-before-consent · before_consent"),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="daily" selected>Daily</option>"#),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let scan_id = alert["scan_id"].as_str().unwrap();
    let dismiss = app.url(&format!("/dashboard/sites/shop/scan-alerts/{scan_id}/dismiss"));
    let res = b.post(&dismiss).form(&[("csrf", "wrong")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = b.post(&dismiss).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let (_, page) = app.page(&b, page_path, Some("en")).await;
    assert!(!page.contains("New findings"), "{page}");
    assert_eq!(app.json_with_key(alerts, &key).await, json!({"alerts": []}));
    let res = b.post(&dismiss).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), 404, "gone");
    let res = app
        .send_with_key(
            reqwest::Method::DELETE,
            &format!("{alerts}/{scan_id}"),
            &key,
            &json!(null),
        )
        .await;
    assert_eq!(res.status(), 404);

    let set_form = app.url("/dashboard/sites/shop/scan-schedule");
    let res = b
        .post(&set_form)
        .form(&[("csrf", "wrong"), ("every", "weekly")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.json_with_key(schedule, &key).await["every"], "daily");
    let res = b
        .post(&set_form)
        .form(&[("csrf", csrf.as_str()), ("every", "weekly")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let weekly = app.json_with_key(schedule, &key).await;
    assert_eq!(weekly["every"], "weekly");
    let res = b
        .post(&set_form)
        .form(&[("csrf", csrf.as_str()), ("every", "hourly")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = app.put_with_key(schedule, &key, &json!({"every": "off"})).await;
    assert_eq!(res.status(), 200);
    let far = weekly["next_ms"].as_u64().unwrap() + 30 * day;
    assert!(enqueue_due(state, far).await.unwrap().is_empty(), "off: never due");
}
