//! The static pass against the fixture web on 127.0.0.1, and against
//! hostile servers: each ends within its limits with a clear finding.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scanner::crawl::CrawlOptions;
use scanner::declared::Declared;
use scanner::fetch::Limits;
use scanner::page::ProblemKind;
use scanner::pii::CanaryIdentity;
use scanner::signature::KnowledgeBase;
use scanner::{Knowledge, Report, Rule, ScanConfig, Severity};

use crate::common::{self, Reply, Server, start};

fn config(url: &str, max_pages: usize, depth: u32) -> ScanConfig {
    ScanConfig {
        site: url::Url::parse(url).unwrap(),
        crawl: CrawlOptions {
            max_pages,
            max_depth: depth,
            deadline: Duration::from_secs(30),
            ..CrawlOptions::default()
        },
        limits: Limits {
            timeout: Duration::from_secs(5),
            max_body: 1024 * 1024,
            max_redirects: 5,
            rate_per_host: None,
        },
        browser: None,
        canary: CanaryIdentity::default(),
        // The fixture web is on 127.0.0.1.
        allow_private_targets: true,
    }
}

async fn run(cfg: &ScanConfig, declared: &Declared) -> Report {
    let kb = KnowledgeBase::builtin();
    scanner::scan(
        cfg,
        &Knowledge {
            kb: &kb,
            declared,
            cookie_db: None,
        },
        &|_, _| {},
    )
    .await
    .unwrap()
}

fn declared() -> Declared {
    Declared::from_file(&common::fixtures().join("declared.toml")).unwrap()
}

async fn shop() -> Server {
    start(Arc::new(common::shop), None).await
}

#[tokio::test]
async fn static_pass_names_every_platform_in_the_html() {
    let s = shop().await;
    let r = run(&config(&s.url("/"), 20, 2), &declared()).await;
    let ids: Vec<(String, Vec<String>)> = r
        .platforms
        .iter()
        .map(|p| (p.id.clone(), p.ids.iter().map(|i| i.value.clone()).collect()))
        .collect();
    for (platform, id) in [
        ("meta-pixel", "123456789012345"),
        ("ga4", "G-FIXTURE42"),
        ("google-ads", "AW-987654321"),
        ("floodlight", "DC-7654321"),
        ("tiktok", "CFIXTURETIKTOK0001"),
        ("pinterest", "2612345678901"),
        ("snap", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
        ("criteo", "54321"),
        ("adroll", "ABCDEFGHIJKLMNOPQRSTUV"),
        ("linkedin-insight", "4455667"),
        ("x-twitter", "o1x2y"),
        ("microsoft-uet", "5566778"),
        ("matomo", "7"),
        ("hotjar", "3456789"),
        ("microsoft-clarity", "fixclar01"),
    ] {
        let found = ids.iter().find(|(p, _)| p == platform);
        assert!(
            found.is_some_and(|(_, v)| v.iter().any(|x| x == id)),
            "{platform} {id} not in {ids:?}"
        );
    }
    // Loader snippets name the tag they inject; the static pass follows that.
    let meta = r.platforms.iter().find(|p| p.id == "meta-pixel").unwrap();
    assert!(meta.hosts.contains("connect.facebook.net"), "{:?}", meta.hosts);
    let pinterest = r.platforms.iter().find(|p| p.id == "pinterest").unwrap();
    assert!(pinterest.hosts.contains("s.pinimg.com"), "{:?}", pinterest.hosts);
    // Snippets that hand customer data over, one finding per platform.
    let am: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.rule == Rule::AdvancedMatchingConfigured)
        .filter_map(|f| f.platform.as_deref())
        .collect();
    for p in [
        "meta-pixel",
        "tiktok",
        "pinterest",
        "snap",
        "criteo",
        "adroll",
        "google-ads",
    ] {
        assert!(am.contains(&p), "advanced matching for {p} missing from {am:?}");
    }
    // The hashed e-mail in Pinterest's noscript pixel, decoded.
    let pin = r
        .findings
        .iter()
        .find(|f| f.rule == Rule::PersonalDataToPlatform && f.platform.as_deref() == Some("pinterest"))
        .expect("pd[em] leak");
    assert_eq!(pin.severity, Severity::Critical);
    assert!(pin.evidence[0].params.iter().any(|p| p.key == "pd[em]"));
    // HTTP cookies: the declared one is quiet, the other is listed.
    let undeclared: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.rule == Rule::UndeclaredCookie)
        .map(|f| f.title.as_str())
        .collect();
    assert!(undeclared.iter().any(|t| t.contains("`srv_ab`")), "{undeclared:?}");
    assert!(!undeclared.iter().any(|t| t.contains("`sid`")), "{undeclared:?}");
    // robots.txt is honoured and said so.
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Robots && p.url.ends_with("/private"))
    );
    assert!(!r.pages.iter().any(|p| p.url.ends_with("/private")));
    // Links to other sites are not followed.
    assert!(!s.requests().iter().any(|q| q.host != "127.0.0.1"));
    assert!(r.fails(Severity::High));
}

#[tokio::test]
async fn a_clean_page_reports_nothing() {
    let s = shop().await;
    let r = run(&config(&s.url("/clean"), 1, 0), &declared()).await;
    assert_eq!(r.pages.len(), 1);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.platforms.is_empty());
}

fn hostile(req: &common::Req) -> Reply {
    let path = req.path.as_str();
    match path {
        "/huge" => Reply::Stream {
            chunk: b"<p>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</p>\n".repeat(1024),
            total: 50 * 1024 * 1024,
        },
        "/bomb" => {
            static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
            let body = BOMB.get_or_init(|| common::gzip(&vec![b' '; 64 * 1024 * 1024]));
            Reply::html(body.clone()).with_header("content-encoding", "gzip")
        }
        p if p.starts_with("/loop") => {
            let n: u32 = p.trim_start_matches("/loop").parse().unwrap_or(0);
            Reply::status(302, vec![("location".into(), format!("/loop{}", n + 1))], b"")
        }
        "/hang" => Reply::Hang,
        "/deep" => Reply::html(
            "<!doctype html><body>".to_owned()
                + &"<div>".repeat(300_000)
                + "<script>fbq('init', '123456789012345')</script>",
        ),
        _ => Reply::status(404, vec![], b""),
    }
}

async fn hostile_scan(path: &str, tweak: impl FnOnce(&mut ScanConfig)) -> (Report, Duration) {
    let s = start(Arc::new(hostile), None).await;
    let mut cfg = config(&s.url(path), 1, 0);
    cfg.crawl.robots = false;
    cfg.crawl.sitemap = false;
    tweak(&mut cfg);
    let t = Instant::now();
    let r = run(&cfg, &Declared::nothing()).await;
    (r, t.elapsed())
}

fn problem(r: &Report, kind: ProblemKind) -> String {
    let p = r.problems.iter().find(|p| p.kind == kind);
    let p = p.unwrap_or_else(|| panic!("no {kind:?} problem in {:#?}", r.problems));
    // Every problem is also a finding a marketer sees.
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == Rule::ScanProblem && f.title == p.reason)
    );
    p.reason.clone()
}

#[tokio::test]
async fn fifty_megabyte_page_stops_at_the_body_limit() {
    let (r, took) = hostile_scan("/huge", |_| {}).await;
    let reason = problem(&r, ProblemKind::BodyTooLarge);
    assert!(reason.contains("larger than 1 MB"), "{reason}");
    assert!(r.pages[0].bytes <= 1024 * 1024);
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_decompressed_limit() {
    let (r, took) = hostile_scan("/bomb", |_| {}).await;
    let reason = problem(&r, ProblemKind::DecompressionBomb);
    assert!(reason.contains("decompression bomb"), "{reason}");
    assert!(r.pages[0].bytes <= 1024 * 1024);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn redirect_loop_stops_at_the_redirect_limit() {
    let (r, _) = hostile_scan("/loop0", |_| {}).await;
    let reason = problem(&r, ProblemKind::TooManyRedirects);
    assert!(reason.contains("more than 5 redirects"), "{reason}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (r, took) = hostile_scan("/hang", |c| c.limits.timeout = Duration::from_secs(1)).await;
    let reason = problem(&r, ProblemKind::Timeout);
    assert!(reason.contains("timed out after 1 s"), "{reason}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn the_scan_deadline_ends_a_stuck_scan_and_keeps_results() {
    let (r, took) = hostile_scan("/hang", |c| {
        c.limits.timeout = Duration::from_secs(60);
        c.crawl.deadline = Duration::from_secs(1);
    })
    .await;
    let reason = problem(&r, ProblemKind::Deadline);
    assert!(reason.contains("deadline of 1 s"), "{reason}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn deep_nesting_hits_the_parser_limit_with_a_clear_finding() {
    let (r, took) = hostile_scan("/deep", |c| c.crawl.parser_memory = 256 * 1024).await;
    let reason = problem(&r, ProblemKind::ParseLimit);
    assert!(reason.contains("parser limit"), "{reason}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
