//! Worker mode against a real redis-server (started here on a free port).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use scanner::crawl::CrawlOptions;
use scanner::fetch::Limits;
use scanner::signature::KnowledgeBase;
use scanner::worker::{DONE, JOBS, WORKERS, processing_key, result_key, work, worker_alive_key};

use crate::common;

struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis() -> Redis {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (installed by scripts/setup)");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(10), "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Redis { child, port, _dir: dir }
}

#[tokio::test]
async fn worker_takes_jobs_and_puts_reports_back() {
    let r = redis();
    let url = format!("redis://127.0.0.1:{}/", r.port);
    let site = common::start(Arc::new(common::shop), None).await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let good = serde_json::json!({"id": "job-1", "url": site.url("/"), "max_pages": 2, "depth": 1, "browser_pages": 0});
    let bad = r#"{"id": "job-2", "url": "not a url"}"#;
    let junk = r#"{"id": "job-3", "url": "http://x/", "extra": true}"#;
    let _: () = con.lpush(JOBS, good.to_string()).await.unwrap();
    let _: () = con.lpush(JOBS, bad).await.unwrap();
    let _: () = con.lpush(JOBS, junk).await.unwrap();

    let template = scanner::ScanConfig {
        site: url::Url::parse("http://placeholder.invalid/").unwrap(),
        crawl: CrawlOptions::default(),
        limits: Limits {
            rate_per_host: None,
            ..Limits::default()
        },
        browser: None,
        canary: Default::default(),
        // The fixture shop is on 127.0.0.1.
        allow_private_targets: true,
    };
    let n = work(&url, "w1", &template, &KnowledgeBase::builtin(), 3).await.unwrap();
    assert_eq!(n, 3);

    let report: serde_json::Value =
        serde_json::from_str(&con.get::<_, String>(result_key("job-1")).await.unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["summary"]["pages_static"], 2);
    assert!(
        report["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "meta-pixel")
    );
    let bad: serde_json::Value =
        serde_json::from_str(&con.get::<_, String>(result_key("job-2")).await.unwrap()).unwrap();
    assert!(bad["error"].as_str().unwrap().contains("invalid url"), "{bad}");
    let junk: serde_json::Value =
        serde_json::from_str(&con.get::<_, String>(result_key("job-3")).await.unwrap()).unwrap();
    assert!(junk["error"].as_str().unwrap().contains("invalid job"), "{junk}");
    let done: Vec<String> = con.lrange(DONE, 0, -1).await.unwrap();
    assert_eq!(done.len(), 3);
    let left: usize = con.llen(JOBS).await.unwrap();
    let in_flight: usize = con.llen(processing_key("w1")).await.unwrap();
    assert_eq!((left, in_flight), (0, 0));
}

/// While it waits or works, a worker keeps a heartbeat and is listed in
/// `keurmerk:scan:workers` (so the server can tell a dead one's leftovers);
/// a clean stop removes both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_keeps_a_heartbeat_and_clears_it_on_a_clean_stop() {
    let r = redis();
    let url = format!("redis://127.0.0.1:{}/", r.port);
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let template = scanner::ScanConfig {
        site: url::Url::parse("http://placeholder.invalid/").unwrap(),
        crawl: CrawlOptions::default(),
        limits: Limits::default(),
        browser: None,
        canary: Default::default(),
        allow_private_targets: false,
    };
    let u = url.clone();
    // Parsed here, before the worker starts: parsing the knowledge base
    // inside the task held up this test's Redis replies past their timeout
    // on a busy machine.
    let kb = KnowledgeBase::builtin();
    let worker = tokio::spawn(async move { work(&u, "beating", &template, &kb, 1).await });
    let t = Instant::now();
    loop {
        let alive: bool = con.exists(worker_alive_key("beating")).await.unwrap();
        if alive {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no heartbeat");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ttl: i64 = con.ttl(worker_alive_key("beating")).await.unwrap();
    assert!((1..=30).contains(&ttl), "{ttl}");
    let members: Vec<String> = con.smembers(WORKERS).await.unwrap();
    assert_eq!(members, vec!["beating".to_owned()]);
    // A job it refuses still counts; then it stops cleanly.
    let _: () = con.lpush(JOBS, r#"{"id": "j", "url": "not a url"}"#).await.unwrap();
    assert_eq!(worker.await.unwrap().unwrap(), 1);
    let alive: bool = con.exists(worker_alive_key("beating")).await.unwrap();
    let members: Vec<String> = con.smembers(WORKERS).await.unwrap();
    assert!(!alive && members.is_empty());
}
