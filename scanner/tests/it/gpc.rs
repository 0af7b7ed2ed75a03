//! Global Privacy Control as a fourth consent state, in real headless
//! Chromium: the GPC run sends `Sec-GPC: 1` and exposes
//! `navigator.globalPrivacyControl`; a tag that still fires is a
//! `tracking-despite-gpc` finding, one the site holds back is not.

use std::sync::Arc;
use std::time::Duration;

use scanner::browser::{BrowserOptions, run};
use scanner::declared::Declared;
use scanner::detect::{Context, analyse};
use scanner::guard::Guard;
use scanner::page::ConsentState;
use scanner::pii::CanaryIdentity;
use scanner::signature::KnowledgeBase;
use scanner::{Rule, Severity};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_with_gpc_on_is_a_finding_and_honouring_it_is_not() {
    let handler: common::Handler = Arc::new(|req: &common::Req| match (req.host.as_str(), req.path.as_str()) {
        ("127.0.0.1", "/") => common::Reply::html(std::fs::read(common::fixtures().join("gpc/index.html")).unwrap()),
        ("127.0.0.1", _) => common::Reply::status(404, vec![], b""),
        _ => common::shop(req),
    });
    let s = common::start(handler, Some(common::tls_acceptor())).await;
    let o = BrowserOptions {
        host_resolver_rules: Some(common::resolver_rules(s.port)),
        insecure_tls: true,
        dwell: Duration::from_millis(500),
        page_timeout: Duration::from_secs(15),
        ..BrowserOptions::default()
    };
    let obs = run(
        &o,
        &Guard::allow_private(),
        &[url::Url::parse(&s.url("/")).unwrap()],
        &CanaryIdentity::default(),
        Duration::from_secs(120),
        &|_, _| {},
    )
    .await;
    assert!(obs.problems.is_empty(), "{:#?}", obs.problems);
    assert_eq!(obs.browser_visits, 4, "three consent states and GPC");
    let in_state =
        |state: ConsentState, host: &str| obs.requests.iter().any(|r| r.state == state && r.url.contains(host));
    // Meta fires with GPC on and says so (the page saw the signal).
    assert!(obs.requests.iter().any(|r| r.state == ConsentState::WithGpc
        && r.url.contains("www.facebook.com/tr/")
        && r.url.contains("gpc=1")));
    assert!(!in_state(ConsentState::WithGpc, "ct.pinterest.com"));
    assert!(in_state(ConsentState::BeforeConsent, "ct.pinterest.com"));
    assert!(
        obs.requests
            .iter()
            .any(|r| r.state == ConsentState::BeforeConsent && r.url.contains("gpc=0"))
    );
    // The header went out on the page and on the tracker's request, in that run only.
    let with_header = |host: &str| {
        s.requests()
            .iter()
            .filter(|r| r.host == host && r.headers.iter().any(|(k, v)| k == "sec-gpc" && v == "1"))
            // The browser's own favicon fetch, whenever it happens, is no
            // request of the page's.
            .filter(|r| r.path != "/favicon.ico")
            .count()
    };
    assert_eq!(with_header("127.0.0.1"), 1);
    assert!(with_header("www.facebook.com") >= 1);
    assert!(
        s.requests()
            .iter()
            .any(|r| r.host == "www.facebook.com" && !r.headers.iter().any(|(k, _)| k == "sec-gpc"))
    );

    let kb = KnowledgeBase::builtin();
    let needles = CanaryIdentity::default().needles();
    let declared = Declared::nothing();
    let a = analyse(
        &obs,
        &Context {
            kb: &kb,
            declared: &declared,
            cookie_db: None,
            needles: &needles,
            site_host: "127.0.0.1",
        },
    );
    let gpc: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.rule == Rule::TrackingDespiteGpc)
        .collect();
    assert_eq!(gpc.len(), 1, "{gpc:#?}");
    assert_eq!(gpc[0].platform.as_deref(), Some("meta-pixel"));
    assert_eq!(gpc[0].severity, Severity::High);
    assert!(gpc[0].remedy.contains("Sec-GPC: 1"));
    assert!(gpc[0].evidence.iter().all(|e| e.state == Some(ConsentState::WithGpc)));
    // The GPC run is not mistaken for "after reject".
    assert!(!a.findings.iter().any(|f| f.rule == Rule::TrackingAfterReject));
    for platform in ["meta-pixel", "pinterest"] {
        assert!(
            a.findings
                .iter()
                .any(|f| f.rule == Rule::TrackingBeforeConsent && f.platform.as_deref() == Some(platform)),
            "{platform}"
        );
    }
}
