//! The SSRF guard: by default a scan connects only to public addresses, in
//! the static pass (redirects included) and in the browser pass, and says
//! why it refused. No test here sends a packet beyond loopback: private and
//! metadata addresses are refused before any connection, and names resolve
//! only through the guard's test answers (no DNS query leaves).

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use scanner::browser::BrowserOptions;
use scanner::crawl::{CrawlOptions, Crawler};
use scanner::declared::Declared;
use scanner::detect::{Context, analyse};
use scanner::fetch::{FetchError, Fetcher, Limits};
use scanner::guard::Guard;
use scanner::page::{Observations, ProblemKind};
use scanner::pii::CanaryIdentity;
use scanner::scan::ScanError;
use scanner::signature::KnowledgeBase;
use scanner::{Knowledge, Rule, ScanConfig};

use crate::common::{self, Reply, Req};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(5),
        rate_per_host: None,
        ..Limits::default()
    }
}

fn one_page() -> CrawlOptions {
    CrawlOptions {
        max_pages: 1,
        max_depth: 0,
        robots: false,
        sitemap: false,
        ..CrawlOptions::default()
    }
}

/// A server that only logs and answers 200 (the place a redirect points to).
async fn target() -> common::Server {
    common::start(Arc::new(|_: &Req| Reply::html("secret")), None).await
}

/// The guard as a scan has it, with the fixture's start page trusted (it is
/// on loopback too) and `rebind.test` answering 127.0.0.1, checked.
fn guard_trusting_the_fixture() -> Guard {
    Guard::public_only()
        .trusting("fixture.test", &[LOOPBACK])
        .with_answer("rebind.test", &[LOOPBACK])
        .with_answer("localhost", &[LOOPBACK])
        .answers_only()
}

async fn crawl(guard: Guard, start: &str) -> Observations {
    let crawler = Crawler {
        fetcher: Fetcher::new(limits(), guard).unwrap(),
        options: one_page(),
    };
    crawler.run(url::Url::parse(start).unwrap(), &|_, _| {}).await
}

fn private_address_problem(obs: &Observations) -> String {
    let p = obs.problems.iter().find(|p| p.kind == ProblemKind::PrivateAddress);
    p.unwrap_or_else(|| panic!("no private-address problem in {:#?}", obs.problems))
        .reason
        .clone()
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_and_reported() {
    let b = target().await;
    let b_port = b.port;
    let a = common::start(
        Arc::new(move |req: &Req| {
            let to = match req.path.as_str() {
                "/to-literal" => format!("http://127.0.0.1:{b_port}/secret"),
                "/to-name" => format!("http://rebind.test:{b_port}/secret"),
                _ => return Reply::status(404, vec![], b""),
            };
            Reply::status(302, vec![("location".into(), to)], b"")
        }),
        None,
    )
    .await;

    // To an IP literal: checked before the hop.
    let obs = crawl(
        guard_trusting_the_fixture(),
        &format!("http://fixture.test:{}/to-literal", a.port),
    )
    .await;
    let reason = private_address_problem(&obs);
    assert!(
        reason.contains(&format!(
            "redirect to http://127.0.0.1:{b_port}/secret refused: 127.0.0.1 is a loopback address"
        )),
        "{reason}"
    );
    assert!(reason.contains("--allow-private-targets"), "{reason}");
    // To a name resolving to loopback: refused by the resolver, at connect time.
    let obs2 = crawl(
        guard_trusting_the_fixture(),
        &format!("http://fixture.test:{}/to-name", a.port),
    )
    .await;
    let reason = private_address_problem(&obs2);
    assert!(
        reason.contains(&format!(
            "redirect to http://rebind.test:{b_port}/secret refused: rebind.test resolves to 127.0.0.1, a loopback \
             address"
        )),
        "{reason}"
    );
    // The first hop was fetched; the redirect target never saw a request.
    assert_eq!(a.requests().len(), 2);
    assert!(b.requests().is_empty(), "{:?}", b.requests());

    // The report says why, with what to do.
    let kb = KnowledgeBase::builtin();
    let needles = CanaryIdentity::default().needles();
    let analysis = analyse(
        &obs,
        &Context {
            kb: &kb,
            declared: &Declared::nothing(),
            cookie_db: None,
            needles: &needles,
            site_host: "fixture.test",
        },
    );
    let f = analysis.findings.iter().find(|f| f.rule == Rule::ScanProblem).unwrap();
    assert!(
        f.title.contains("refused: 127.0.0.1 is a loopback address"),
        "{}",
        f.title
    );
    assert!(f.remedy.contains("--allow-private-targets"), "{}", f.remedy);

    // With the switch the redirect is followed: the guard is what stopped it.
    let obs = crawl(
        Guard::allow_private(),
        &format!("http://127.0.0.1:{}/to-literal", a.port),
    )
    .await;
    assert!(obs.problems.is_empty(), "{:#?}", obs.problems);
    assert_eq!(b.requests().len(), 1);
}

#[tokio::test]
async fn private_and_metadata_addresses_are_refused_before_connecting() {
    // A scan with the default settings refuses the site outright.
    let config = |site: &str| ScanConfig {
        site: url::Url::parse(site).unwrap(),
        crawl: one_page(),
        limits: limits(),
        browser: None,
        canary: CanaryIdentity::default(),
        allow_private_targets: false,
    };
    let kb = KnowledgeBase::builtin();
    let declared = Declared::nothing();
    let knowledge = Knowledge {
        kb: &kb,
        declared: &declared,
        cookie_db: None,
    };
    for (site, why) in [
        ("http://10.0.0.1/", "10.0.0.1 is a private address (RFC 1918)"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is the cloud metadata address (link-local)",
        ),
        (
            "https://[::ffff:a9fe:a9fe]/",
            "an IPv4-mapped or -compatible form of a non-public address",
        ),
    ] {
        match scanner::scan(&config(site), &knowledge, &|_, _| {}).await {
            Err(ScanError::Refused(r)) => assert!(r.to_string().contains(why), "{r}"),
            other => panic!("{site}: {:?}", other.map(|r| r.problems)),
        }
    }

    // The fetcher itself: an IP literal, and a name that resolves to 10.x
    // (answered by the guard: reqwest goes through it for every name).
    let public_only = Fetcher::new(limits(), Guard::public_only()).unwrap();
    let e = public_only
        .get(url::Url::parse("http://10.0.0.1/").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Refused { redirect: false, .. }), "{e}");
    let guard = Guard::public_only()
        .with_answer("intranet.test", &["10.0.0.1".parse().unwrap()])
        .answers_only();
    let fetcher = Fetcher::new(limits(), guard).unwrap();
    let e = fetcher
        .get(url::Url::parse("http://intranet.test:8080/admin").unwrap())
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("refused: intranet.test resolves to 10.0.0.1, a private address (RFC 1918)"),
        "{e}"
    );
}

#[test]
fn the_cli_refuses_the_metadata_address_by_default_and_documents_the_switch() {
    let out = Command::new(env!("CARGO_BIN_EXE_consent-scan"))
        .args(["http://169.254.169.254/latest/meta-data/", "--browser-pages", "0", "-q"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refused: 169.254.169.254 is the cloud metadata address"),
        "{stderr}"
    );
    let help = Command::new(env!("CARGO_BIN_EXE_consent-scan"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--allow-private-targets"), "{help}");
    assert!(help.contains("SSRF guard"), "{help}");
}

/// A page on a trusted name whose subresources point at loopback, in every
/// spelling Chromium might treat specially (a literal, `localhost`, the
/// unspecified address), from an image, an iframe, a fetch and a WebSocket.
fn guarded_page(port: u16) -> String {
    format!(
        r#"<!doctype html><title>t</title>
<img src="http://127.0.0.1:{port}/pixel.gif?loopback">
<img src="http://localhost:{port}/pixel.gif?localhost">
<img src="http://0.0.0.0:{port}/pixel.gif?unspecified">
<iframe src="http://127.0.0.1:{port}/frame"></iframe>
<script>fetch('http://127.0.0.1:{port}/fetch').catch(() => {{}});
try {{ new WebSocket('ws://127.0.0.1:{port}/ws'); }} catch (e) {{}}</script>"#
    )
}

async fn browser_run(guard: &Guard, page: &str, rules: Option<String>) -> Observations {
    let o = BrowserOptions {
        max_pages: 1,
        host_resolver_rules: rules,
        dwell: Duration::from_millis(800),
        page_timeout: Duration::from_secs(15),
        ..BrowserOptions::default()
    };
    scanner::browser::run(
        &o,
        guard,
        &[url::Url::parse(page).unwrap()],
        &CanaryIdentity::default(),
        Duration::from_secs(60),
        &|_, _| {},
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_pass_refuses_private_subresources() {
    let s = common::start(
        Arc::new(|req: &Req| match req.path.as_str() {
            "/page" => {
                let port: u16 = req
                    .headers
                    .iter()
                    .find(|(k, _)| k == "host")
                    .and_then(|(_, v)| v.rsplit(':').next())
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                Reply::html(guarded_page(port))
            }
            _ => Reply::html("x"),
        }),
        None,
    )
    .await;
    let loopback_hosts = |s: &common::Server| -> Vec<String> {
        s.requests()
            .into_iter()
            .filter(|r| r.host != "fixture.test")
            .map(|r| format!("{} {}", r.host, r.path))
            .collect()
    };

    // Guard on: the page (trusted name) loads through the guard's proxy;
    // every loopback subresource is refused. Chromium resolves no name
    // itself (`~NOTFOUND`): names reach the proxy unresolved.
    let obs = browser_run(
        &guard_trusting_the_fixture(),
        &format!("http://fixture.test:{}/page", s.port),
        Some("MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".into()),
    )
    .await;
    assert!(
        s.requests()
            .iter()
            .any(|r| r.host == "fixture.test" && r.path == "/page"),
        "the page did not load: {:#?} {:?}",
        obs.problems,
        s.requests()
    );
    assert_eq!(loopback_hosts(&s), Vec::<String>::new());
    let refused: Vec<&str> = obs
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::PrivateAddress)
        .map(|p| p.reason.as_str())
        .collect();
    assert!(
        refused
            .iter()
            .any(|r| r.contains("refused: 127.0.0.1 is a loopback address")
                && r.contains(&format!("http://127.0.0.1:{}/", s.port))),
        "{refused:#?}"
    );
    assert!(
        refused
            .iter()
            .any(|r| r.contains("refused: localhost resolves to 127.0.0.1, a loopback address")),
        "{refused:#?}"
    );
    assert!(
        refused
            .iter()
            .any(|r| r.contains("refused: 0.0.0.0 is the unspecified address")),
        "{refused:#?}"
    );
    // Requests are still recorded: the page's intent is evidence.
    assert!(obs.requests.iter().any(|r| r.url.contains("pixel.gif?loopback")));

    // Guard off: the same subresource reaches loopback (the guard is what
    // stopped it above).
    let before = s.requests().len();
    browser_run(
        &Guard::allow_private(),
        &format!("http://127.0.0.1:{}/page", s.port),
        None,
    )
    .await;
    for path in ["/pixel.gif?loopback", "/ws"] {
        assert!(
            s.requests()[before..]
                .iter()
                .any(|r| r.host == "127.0.0.1" && r.path == path),
            "{path}: {:?}",
            s.requests()
        );
    }
}
