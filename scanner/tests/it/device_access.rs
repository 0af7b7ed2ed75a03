//! Access to the device that is not a cookie, in real headless Chromium: a
//! third-party script (on its own host, mapped to the loopback fixture
//! server) fingerprints the browser and writes to localStorage,
//! sessionStorage and IndexedDB before the visitor chose; the site's own
//! code does the same and is not judged.

use std::sync::Arc;
use std::time::Duration;

use scanner::browser::{BrowserOptions, run};
use scanner::declared::Declared;
use scanner::detect::{Context, analyse};
use scanner::guard::Guard;
use scanner::page::{ActivityKind, ConsentState};
use scanner::pii::CanaryIdentity;
use scanner::signature::KnowledgeBase;
use scanner::{Rule, Severity};

use crate::common;

const FP_HOST: &str = "cdn.fingerprint-fixture.example";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join("device").join(name)).unwrap()
}

fn handler() -> common::Handler {
    Arc::new(|req: &common::Req| match (req.host.as_str(), req.path.as_str()) {
        ("127.0.0.1", "/") => common::Reply::html(fixture("index.html")),
        (FP_HOST, "/fp.js") => common::Reply::status(
            200,
            vec![("content-type".into(), "application/javascript".into())],
            &fixture("fp.js"),
        ),
        _ => common::Reply::status(404, vec![], b""),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_fingerprinting_and_storage_before_consent_are_findings() {
    let s = common::start(handler(), None).await;
    let o = BrowserOptions {
        host_resolver_rules: Some(format!("MAP {FP_HOST} 127.0.0.1:{}", s.port)),
        dwell: Duration::from_millis(500),
        page_timeout: Duration::from_secs(15),
        ..BrowserOptions::default()
    };
    let page = url::Url::parse(&s.url("/")).unwrap();
    let obs = run(
        &o,
        &Guard::allow_private(),
        &[page],
        &CanaryIdentity::default(),
        Duration::from_secs(120),
        &|_, _| {},
    )
    .await;
    assert!(obs.problems.is_empty(), "{:#?}", obs.problems);
    let fp = format!("http://{FP_HOST}/fp.js");
    let by_fp = |kind: ActivityKind| {
        obs.activity
            .iter()
            .any(|a| a.kind == kind && a.script.as_deref() == Some(fp.as_str()))
    };
    for kind in [
        ActivityKind::Canvas,
        ActivityKind::Fonts,
        ActivityKind::Audio,
        ActivityKind::LocalStorage,
        ActivityKind::SessionStorage,
        ActivityKind::IndexedDb,
    ] {
        assert!(by_fp(kind), "{kind:?} by fp.js not recorded: {:#?}", obs.activity);
    }
    assert!(obs.activity.iter().any(|a| a.kind == ActivityKind::LocalStorage
        && a.detail == "fp_visitor"
        && a.state == ConsentState::BeforeConsent));
    // The site's own writes are recorded, with the page as their script.
    assert!(obs.activity.iter().any(|a| a.detail == "shop_theme"));

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
    let fingerprinting: Vec<_> = a.findings.iter().filter(|f| f.rule == Rule::Fingerprinting).collect();
    assert_eq!(fingerprinting.len(), 1, "{fingerprinting:#?}");
    let f = fingerprinting[0];
    assert_eq!(f.severity, Severity::High);
    for kind in ["canvas", "audio", "fonts"] {
        assert!(f.title.contains(kind), "{}", f.title);
    }
    assert!(f.title.contains(FP_HOST), "{}", f.title);
    assert!(f.remedy.contains("EDPB Guidelines 2/2023"));
    assert!(f.evidence.iter().all(|e| e.script.as_deref() == Some(fp.as_str())));
    let storage: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.rule == Rule::StorageWithoutConsent)
        .collect();
    assert_eq!(storage.len(), 1, "{storage:#?}");
    assert_eq!(storage[0].severity, Severity::High);
    let written: Vec<&str> = storage[0].evidence.iter().filter_map(|e| e.cookie.as_deref()).collect();
    for w in [
        "localStorage fp_visitor",
        "sessionStorage fp_session",
        "IndexedDB fp_store",
    ] {
        assert!(written.contains(&w), "{w} not in {written:?}");
    }
    // Nothing of the site's own.
    assert!(!written.iter().any(|w| w.contains("shop_theme")));
}
