//! The scan queue with the real `consent-server` binary: two processes on
//! one Redis (`--redis`, which brings the queue) store every finished scan
//! exactly once; `--scan-queue` gives an embedded-storage process a Redis
//! queue; without it the queue is embedded and the server scans by itself:
//! "Scan now" on a server started like `scripts/up` scans a fixture site on
//! loopback into a report the dashboard shows, and a server killed with -9
//! mid-scan retries the job after its restart and stores it once.

use std::path::Path;
use std::time::{Duration, Instant};

use consent_server::scan_queue::{DONE, JOBS, result_key};
use e2e::{AdminSession, RedisServer, ServerProcess, poll};
use redis::AsyncCommands;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

/// The server with rate limits off and a fresh data directory of its own.
fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_fresh(Path::new(BIN), args).unwrap()
}

/// Logs in to `server`, creates site `shop`, returns a scans key for it.
async fn shop_key(server: &ServerProcess, password: &str) -> String {
    let admin = AdminSession::login(server.port(), password).await.unwrap();
    admin
        .site_with_key("shop", "https://shop.example.nl", &["scans:write", "scans:read"])
        .await
        .unwrap()
}

async fn redis_con(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Queues a scan of `shop` on `server`.
async fn enqueue(server: &ServerProcess, key: &str) -> e2e::HttpReply {
    let jobs = "/api/v1/owner/sites/shop/scan-jobs";
    e2e::post_with_key(server.port(), jobs, key, &json!({})).await.unwrap()
}

/// Waits (up to `limit`) for a job to finish and checks that it is done.
async fn done_job(server: &ServerProcess, status_path: &str, key: &str, limit: Duration, every: Duration) -> Value {
    let v = e2e::finished_job(server.port(), status_path, key, limit, every).await;
    assert_eq!(v["status"], "done", "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_redis_store_each_scan_once() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let a = start(&["--redis", &url]);
    let b = start(&["--redis", &url]);
    let password = e2e::admin_password_of(&[&a, &b]);
    let key = shop_key(&a, &password).await;

    let mut status_urls = Vec::new();
    let mut con = redis_con(&url).await;
    // A worker following the contract: it takes each job as it comes (at
    // most 10 may wait per site) and finishes them all at once.
    let mut taken: Vec<String> = Vec::new();
    for server in [&a, &b].into_iter().cycle().take(40) {
        let res = enqueue(server, &key).await;
        assert_eq!(res.status, 202);
        let v = res.json();
        status_urls.push(v["status_url"].as_str().unwrap().to_owned());
        while let Some(raw) = con.rpop::<_, Option<String>>(JOBS, None).await.unwrap() {
            taken.push(raw);
        }
    }
    for raw in &taken {
        let job: Value = serde_json::from_str(raw).unwrap();
        let id = job["id"].as_str().unwrap();
        let report = json!({"schema": "keurmerk-scan-report", "schema_version": 1, "site": job["url"],
            "findings": [{"rule": "undeclared-cookie", "severity": "medium", "title": "x"}]});
        let _: () = con.set(result_key(id), report.to_string()).await.unwrap();
        let _: () = con.lpush(DONE, id).await.unwrap();
    }

    // One deadline for all 40, as each waits on the same collectors.
    let t = Instant::now();
    for (i, u) in status_urls.iter().enumerate() {
        let server = if i % 2 == 0 { &b } else { &a };
        let left = Duration::from_secs(30).saturating_sub(t.elapsed());
        done_job(server, u, &key, left, Duration::from_millis(50)).await;
    }
    let page = e2e::get_with_key(b.port(), "/api/v1/sites/shop/scans?limit=200", &key)
        .await
        .unwrap()
        .json();
    assert_eq!(
        page["scans"].as_array().unwrap().len(),
        40,
        "each result stored exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_queue_flag_gives_embedded_storage_a_redis_queue_and_without_it_the_queue_is_embedded() {
    let redis = RedisServer::start().unwrap();
    let queued = start(&["--scan-queue", &redis.url()]);
    let plain = start(&[]);

    let key = shop_key(&queued, &queued.admin_password()).await;
    let res = enqueue(&queued, &key).await;
    assert_eq!(res.status, 202);
    let job = res.json();
    assert_eq!(job["status"], "queued");
    let mut con = redis_con(&redis.url()).await;
    let waiting: Vec<String> = con.lrange(JOBS, 0, -1).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].contains(job["id"].as_str().unwrap()));

    // Without Redis the queue is in the embedded storage: the same request
    // is queued there, and nothing reaches Redis.
    let key = shop_key(&plain, &plain.admin_password()).await;
    let res = enqueue(&plain, &key).await;
    assert_eq!(res.status, 202);
    let waiting: Vec<String> = con.lrange(JOBS, 0, -1).await.unwrap();
    assert_eq!(waiting.len(), 1);
}

/// A server killed with -9 while it held a finished scan: its heartbeat
/// runs out (30 s) and the surviving process stores the scan. Slow by
/// nature (the heartbeat's lifetime), so one job only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_s_scan_is_stored_by_the_survivor() {
    use consent_server::scan_queue::{COLLECTORS, collecting_key};

    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let mut con = redis_con(&url).await;
    let mut a = start(&["--redis", &url]);
    // A's collector announces itself; that name is A's.
    let a_name = poll(Duration::from_secs(10), Duration::from_millis(20), async || {
        let members: Vec<String> = con.smembers(COLLECTORS).await.unwrap();
        match members.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(format!("{members:?}")),
        }
    })
    .await;
    let password = a.admin_password();
    let b = start(&["--redis", &url]);
    let key = shop_key(&b, &password).await;
    let job = enqueue(&b, &key).await.json();
    let id = job["id"].as_str().unwrap().to_owned();

    // The worker finished; A had moved the id into its own list when it died.
    a.kill9();
    let _: Option<String> = con.rpop(JOBS, None).await.unwrap();
    let report = json!({"schema": "keurmerk-scan-report", "schema_version": 1, "site": job["url"], "findings": []});
    let _: () = con.set(result_key(&id), report.to_string()).await.unwrap();
    let _: () = con.lpush(collecting_key(&a_name), &id).await.unwrap();

    let t = Instant::now();
    let status_url = job["status_url"].as_str().unwrap();
    let done = done_job(
        &b,
        status_url,
        &key,
        Duration::from_secs(60),
        Duration::from_millis(200),
    )
    .await;
    let scan = e2e::get_with_key(b.port(), done["scan_url"].as_str().unwrap(), &key)
        .await
        .unwrap();
    assert_eq!(scan.status, 200);
    let left: usize = con.llen(collecting_key(&a_name)).await.unwrap();
    assert_eq!(left, 0);
    eprintln!("taken over after {:.1} s", t.elapsed().as_secs_f64());
}

/// The fixture site the server's own workers scan, on loopback: a page with
/// the Meta pixel (with advanced matching) that links to `/slow`, which
/// answers only once the test opens its gate.
struct FixtureSite {
    origin: String,
    /// Requests `/slow` has had.
    slow_hits: tokio::sync::watch::Receiver<usize>,
    gate: tokio::sync::watch::Sender<bool>,
}

const FIXTURE_PAGE: &str = r#"<!doctype html><html><head><title>Fixture shop</title>
<script>
!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;
n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,
document,'script','https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '123456789012345', {em: 'kanarie.vogelzang@keurmerk-canary.example'});
fbq('track', 'PageView');
</script></head><body><h1>Fixture shop</h1><a href="/slow">more</a></body></html>"#;

impl FixtureSite {
    /// Serves the site on 127.0.0.1 with `/slow`'s gate `open` or closed.
    async fn start(open: bool) -> Self {
        use axum::response::Html;
        let (gate, gate_rx) = tokio::sync::watch::channel(open);
        let (hits_tx, slow_hits) = tokio::sync::watch::channel(0usize);
        let hits_tx = std::sync::Arc::new(hits_tx);
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { Html(FIXTURE_PAGE) }))
            .route(
                "/slow",
                axum::routing::get(move || {
                    let (mut gate, hits) = (gate_rx.clone(), hits_tx.clone());
                    async move {
                        hits.send_modify(|n| *n += 1);
                        let _ = gate.wait_for(|open| *open).await;
                        Html("<!doctype html><p>slow page</p>")
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            origin,
            slow_hits,
            gate,
        }
    }

    /// Waits until `/slow` has been asked for `n` times.
    async fn slow_reached(&mut self, n: usize) {
        let rx = &mut self.slow_hits;
        tokio::time::timeout(Duration::from_secs(120), rx.wait_for(|hits| *hits >= n))
            .await
            .expect("the scan reached /slow")
            .unwrap();
    }
}

/// Logs in to the dashboard's form like a browser; the client keeps the session.
async fn dashboard_browser(server: &ServerProcess, password: &str) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = b
        .post(format!("{}/dashboard/login", server.base_url()))
        .form(&[("username", "admin"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    b
}

async fn page_text(b: &reqwest::Client, url: &str) -> String {
    let res = b.get(url).header("Accept-Language", "en").send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    res.text().await.unwrap()
}

/// The default install: the server started as `scripts/up` starts it
/// (embedded storage, no Redis, the demo shop on its own origin, private
/// targets allowed for the loopback demo), and "Scan now" in the dashboard.
/// The server's own worker scans the fixture site (static pass, and the
/// browser pass when Chromium is there) into a report the dashboard lists
/// and shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_now_on_the_default_install_scans_and_the_dashboard_shows_the_report() {
    let site = FixtureSite::start(true).await;
    let data = tempfile::tempdir().unwrap();
    let demo = format!("127.0.0.1:{}", e2e::free_port());
    let server = ServerProcess::start(
        Path::new(BIN),
        &[
            "--demo-listen",
            &demo,
            "--data-dir",
            data.path().to_str().unwrap(),
            "--scan-allow-private-targets",
        ],
    )
    .unwrap();
    let password = server.admin_password();
    let admin = AdminSession::login(server.port(), &password).await.unwrap();
    let key = admin
        .site_with_key("shop", &site.origin, &["scans:read"])
        .await
        .unwrap();

    let b = dashboard_browser(&server, &password).await;
    let scans = format!("{}/dashboard/sites/shop/scans", server.base_url());
    let page = page_text(&b, &scans).await;
    assert!(!page.contains("not configured"), "{page}");
    let csrf = crate::common::csrf_of(&page);
    let res = b
        .post(format!("{}/dashboard/sites/shop/scan-jobs", server.base_url()))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    let done_link = r#"class="job-done"><a href=""#;
    let page = poll(Duration::from_secs(300), Duration::from_millis(500), async || {
        let page = page_text(&b, &scans).await;
        assert!(!page.contains("job-failed"), "{page}");
        if page.contains(done_link) { Ok(page) } else { Err(page) }
    })
    .await;
    let href = page.split(done_link).nth(1).unwrap().split('"').next().unwrap();
    let report_page = page_text(&b, &format!("{}{href}", server.base_url())).await;
    assert!(report_page.contains("meta-pixel"), "{report_page}");

    let jobs = e2e::get_with_key(server.port(), "/api/v1/owner/sites/shop/scan-jobs", &key)
        .await
        .unwrap()
        .json();
    let job = &jobs["jobs"][0];
    assert_eq!(
        (job["status"].clone(), job["stage"].clone()),
        (json!("done"), json!("done"))
    );
    assert_eq!(job["attempts"], 1);
    if !Path::new("/usr/bin/chromium").is_file() {
        assert!(job["note"].as_str().unwrap().contains("static pass only"), "{job}");
    }
    let report = e2e::get_with_key(server.port(), job["scan_url"].as_str().unwrap(), &key)
        .await
        .unwrap()
        .json();
    assert_eq!(report["site"], format!("{}/", site.origin));
    assert!(
        report["summary"]["pages_static"].as_u64().unwrap() >= 2,
        "{}",
        report["summary"]
    );
}

/// A server killed with -9 while its own worker scans (the fixture holds
/// `/slow` open): after the restart the job's lease runs out, a worker takes
/// it again, and its report is stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_scan_retries_the_job_after_restart_and_stores_it_once() {
    let mut site = FixtureSite::start(false).await;
    // Leases of 2 s, so the restarted server need not wait the default 30.
    let mut server = start(&["--scan-allow-private-targets", "--scan-lease-secs", "2"]);
    let password = server.admin_password();
    let admin = AdminSession::login(server.port(), &password).await.unwrap();
    let key = admin
        .site_with_key("shop", &site.origin, &["scans:write", "scans:read"])
        .await
        .unwrap();
    let jobs = "/api/v1/owner/sites/shop/scan-jobs";
    let res = e2e::post_with_key(server.port(), jobs, &key, &json!({"browser_pages": 0}))
        .await
        .unwrap();
    assert_eq!(res.status, 202);
    let status_url = res.json()["status_url"].as_str().unwrap().to_owned();

    // Mid-scan: the static pass waits on /slow.
    site.slow_reached(1).await;
    let running = e2e::get_with_key(server.port(), &status_url, &key)
        .await
        .unwrap()
        .json();
    assert_eq!(running["status"], "running", "{running}");
    assert_eq!(
        (running["stage"].clone(), running["attempts"].clone()),
        (json!("static_pass"), json!(1))
    );
    server.kill9();
    server.restart().unwrap();
    site.gate.send(true).unwrap();

    let done = done_job(
        &server,
        &status_url,
        &key,
        Duration::from_secs(120),
        Duration::from_millis(200),
    )
    .await;
    assert_eq!(done["attempts"], 2, "taken again after the restart: {done}");
    site.slow_reached(2).await;
    let scans = e2e::get_with_key(server.port(), "/api/v1/sites/shop/scans", &key)
        .await
        .unwrap()
        .json();
    let scans = scans["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 1, "stored once: {scans:?}");
    assert_eq!(scans[0]["id"], done["scan_id"]);
}
