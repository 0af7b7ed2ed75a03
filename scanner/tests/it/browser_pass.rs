//! The browser pass against the fixture web: real headless Chromium, the
//! real tracker hostnames mapped to the loopback fixture server (TLS with a
//! throw-away certificate), three consent states per page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scanner::browser::{BrowserOptions, run};
use scanner::declared::Declared;
use scanner::detect::{Context, analyse};
use scanner::guard::Guard;
use scanner::page::{ConsentState, Observations, SetBy};
use scanner::pii::CanaryIdentity;
use scanner::signature::KnowledgeBase;
use scanner::{Rule, Severity};

use crate::common;

fn options(port: u16) -> BrowserOptions {
    BrowserOptions {
        max_pages: 10,
        host_resolver_rules: Some(common::resolver_rules(port)),
        insecure_tls: true,
        dwell: Duration::from_millis(1500),
        page_timeout: Duration::from_secs(15),
        ..BrowserOptions::default()
    }
}

async fn visit(paths: &[&str]) -> (Observations, common::Server) {
    let s = common::start(Arc::new(common::shop), Some(common::tls_acceptor())).await;
    let pages: Vec<url::Url> = paths.iter().map(|p| url::Url::parse(&s.url(p)).unwrap()).collect();
    let t = Instant::now();
    let obs = run(
        &options(s.port),
        // The fixture web is on 127.0.0.1.
        &Guard::allow_private(),
        &pages,
        &CanaryIdentity::default(),
        Duration::from_secs(240),
        &|_, _| {},
    )
    .await;
    eprintln!(
        "browser pass: {} pages x 4 runs in {:.1} s",
        pages.len(),
        t.elapsed().as_secs_f64()
    );
    (obs, s)
}

fn analysis(obs: &Observations, declared: &Declared) -> scanner::detect::Analysis {
    let kb = KnowledgeBase::builtin();
    let needles = CanaryIdentity::default().needles();
    analyse(
        obs,
        &Context {
            kb: &kb,
            declared,
            cookie_db: None,
            needles: &needles,
            site_host: "127.0.0.1",
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_pass_finds_platforms_leaks_cookies_and_consent_violations() {
    let (obs, server) = visit(&["/", "/shop", "/contact", "/analytics", "/click", "/banner", "/cmp"]).await;
    assert!(obs.problems.is_empty(), "{:#?}", obs.problems);
    let declared = Declared::from_file(&common::fixtures().join("declared.toml")).unwrap();
    let a = analysis(&obs, &declared);

    // Every platform, named with its id, from real traffic.
    for (platform, id) in [
        ("meta-pixel", "123456789012345"),
        ("ga4", "G-FIXTURE42"),
        ("google-ads", "987654321"),
        ("floodlight", "7654321"),
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
        let p = a.platforms.iter().find(|p| p.id == platform);
        assert!(
            p.is_some_and(|p| p.ids.iter().any(|i| i.value.ends_with(id)) && p.requests > 0),
            "{platform} {id}: {p:?}"
        );
    }

    // Seen in k of n visits (7 pages x 4 runs): Meta in all four runs of the
    // home page, in the two runs that click on /click (no interaction and
    // GPC on), and after "accept all" on /cmp.
    let meta = a.platforms.iter().find(|p| p.id == "meta-pixel").unwrap();
    assert_eq!((meta.seen_in_visits, meta.of_visits), (7, 28));
    let hotjar = a.platforms.iter().find(|p| p.id == "hotjar").unwrap();
    assert_eq!(hotjar.seen_in_visits, 4);

    // Every canary leak, decoded, with the encoding it travelled in.
    let leak = |platform: &str, encoding: &str| {
        a.personal_data.iter().any(|l| {
            l.platform.as_deref() == Some(platform) && l.hits.iter().any(|h| h.canary && h.encoding == encoding)
        })
    };
    for (platform, encoding) in [
        ("meta-pixel", "SHA-256 hex"),
        ("tiktok", "SHA-256 hex"),
        ("pinterest", "SHA-256 hex"),
        ("snap", "SHA-256 hex"),
        ("criteo", "SHA-1 hex"),
        ("adroll", "base64"),
        ("google-ads", "SHA-256 base64url"),
    ] {
        assert!(
            leak(platform, encoding),
            "no {encoding} canary leak to {platform}: {:#?}",
            a.personal_data
        );
    }
    // The form was filled (never submitted) and the phone number leaked too.
    assert!(
        a.personal_data
            .iter()
            .any(|l| l.hits.iter().any(|h| h.canary && h.field == "phone"))
    );
    assert!(
        !server.requests().iter().any(|r| r.path.starts_with("/thanks")),
        "a form was submitted"
    );
    let pd = a
        .findings
        .iter()
        .find(|f| f.rule == Rule::PersonalDataToPlatform && f.platform.as_deref() == Some("meta-pixel"))
        .unwrap();
    assert_eq!(pd.severity, Severity::Critical);
    assert!(pd.evidence.iter().any(|e| e.params.iter().any(|p| p.key == "ud[em]")));

    // Every undeclared cookie is listed; declared ones are not.
    let undeclared: Vec<&str> = a
        .cookies
        .iter()
        .filter(|c| c.declared.is_none())
        .map(|c| c.name.as_str())
        .collect();
    for name in [
        "_fbp",
        "_ga",
        "_ga_FIXTURE42",
        "_gcl_au",
        "_ttp",
        "_scid",
        "cto_bundle",
        "__adroll_fpc",
        "_uetsid",
        "_uetvid",
        "_pk_id.7.1f2e",
        "_hjSessionUser_3456789",
        "_clck",
        "_clsk",
        "srv_ab",
        "fr",
        "bcookie",
        "IDE",
    ] {
        assert!(
            undeclared.contains(&name),
            "{name} not listed as undeclared: {undeclared:?}"
        );
        assert!(
            a.findings
                .iter()
                .any(|f| f.rule == Rule::UndeclaredCookie && f.title.contains(&format!("`{name}`"))),
            "no finding for {name}"
        );
    }
    for name in ["sid", "keurmerk", "_pin_unauth"] {
        assert!(!undeclared.contains(&name), "{name} is declared");
    }
    // Who set it: the script for JS cookies, the response for HTTP ones.
    let fbp = a.cookies.iter().find(|c| c.name == "_fbp").unwrap();
    assert!(fbp.set_by.iter().any(|s| matches!(s,
        SetBy::Script { script_url: Some(u) } if u == "https://connect.facebook.net/en_US/fbevents.js")));
    let fr = a.cookies.iter().find(|c| c.name == "fr").unwrap();
    assert!(fr.third_party);
    assert!(matches!(&fr.set_by[0], SetBy::Http { response_url } if response_url.contains("www.facebook.com/tr")));
    assert!(fr.lifetime_secs.is_some_and(|l| l > 80 * 86_400));
    // A fresh headless profile would block third-party cookies; the scan's does not.
    assert_eq!(fr.blocked, None, "third-party cookies must not be blocked");

    // Storage keys, both areas, are listed and (undeclared) reported.
    assert!(
        a.storage
            .iter()
            .any(|s| s.area == "localStorage" && s.key == "_hjLocalStorageTest")
    );
    assert!(
        a.storage
            .iter()
            .any(|s| s.area == "sessionStorage" && s.key == "hjViewportId")
    );
    assert!(
        a.findings
            .iter()
            .any(|f| f.rule == Rule::UndeclaredStorage && f.title.contains("`hjViewportId`"))
    );

    // Requests name the script that made them, through async code too.
    assert!(
        obs.requests
            .iter()
            .any(|r| r.url.starts_with("https://www.facebook.com/tr/")
                && r.initiator.as_deref() == Some("https://connect.facebook.net/en_US/fbevents.js"))
    );

    // The click-only pixel fired (after the scanner clicked), before consent.
    assert!(
        obs.requests
            .iter()
            .any(|r| r.url.contains("ev=AddToCart") && r.state == ConsentState::BeforeConsent)
    );

    // Keurmerk's banner was operated; Pinterest there only after "accept all".
    let banner = "/banner";
    assert!(
        obs.banners
            .iter()
            .any(|(p, how)| p.ends_with(banner) && how.contains("window.keurmerk"))
    );
    let pin_on_banner: Vec<ConsentState> = obs
        .requests
        .iter()
        .filter(|r| r.page.ends_with(banner) && r.url.contains("ct.pinterest.com"))
        .map(|r| r.state)
        .collect();
    assert!(!pin_on_banner.is_empty());
    assert!(
        pin_on_banner.iter().all(|s| *s == ConsentState::AfterAccept),
        "{pin_on_banner:?}"
    );
    // Tracking before consent and after reject are high findings.
    let before = a
        .findings
        .iter()
        .find(|f| f.rule == Rule::TrackingBeforeConsent && f.platform.as_deref() == Some("meta-pixel"))
        .unwrap();
    assert_eq!(before.severity, Severity::High);
    // Another vendor's banner, found by its (Dutch) button texts: its reject
    // button is broken and LinkedIn fires after "reject all".
    assert!(
        obs.banners
            .iter()
            .any(|(p, how)| p.ends_with("/cmp") && how.contains("button \"Alles weigeren\""))
    );
    assert!(
        obs.banners
            .iter()
            .any(|(p, how)| p.ends_with("/cmp") && how.contains("button \"Alles accepteren\""))
    );
    let after_reject = a
        .findings
        .iter()
        .find(|f| f.rule == Rule::TrackingAfterReject && f.platform.as_deref() == Some("linkedin-insight"))
        .expect("LinkedIn after reject");
    assert_eq!(after_reject.severity, Severity::High);
    assert!(
        after_reject
            .evidence
            .iter()
            .all(|e| e.page.as_deref().is_some_and(|p| p.ends_with("/cmp")))
    );
    // Meta fires there only after "accept all": no after-reject finding for it.
    assert!(
        !a.findings
            .iter()
            .any(|f| f.rule == Rule::TrackingAfterReject && f.platform.as_deref() == Some("meta-pixel"))
    );
    assert!(
        a.cookies
            .iter()
            .any(|c| c.name == "cmp_choice" && c.states.contains(&ConsentState::AfterReject))
    );
    // Meta ignores the choice on the home page (no banner there): only pages
    // with a banner have an "after reject" state.
    assert!(
        obs.banners
            .iter()
            .any(|(p, how)| p.ends_with("/shop") && how.contains("no consent banner"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_page_in_the_browser_reports_nothing() {
    let (obs, _s) = visit(&["/clean"]).await;
    let declared = Declared::from_file(&common::fixtures().join("declared.toml")).unwrap();
    let a = analysis(&obs, &declared);
    assert!(a.findings.is_empty(), "{:#?}", a.findings);
    // The JS-set cookie was seen (and is declared), so the scan did look.
    assert!(a.cookies.iter().any(|c| c.name == "lang" && c.declared.is_some()));
}

/// Lifetimes come from the browser's cookie jar (CDP), not from the
/// strings: Chromium stores at most 400 days whatever a site asks for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_lifetimes_are_what_the_browser_stores() {
    let handler: common::Handler = Arc::new(|req: &common::Req| {
        if req.path.starts_with("/favicon") {
            return common::Reply::status(404, vec![], b"");
        }
        common::Reply::html(
            r#"<!doctype html><title>t</title><script>
document.cookie = "js_decade=1; path=/; max-age=315360000";
document.cookie = "js_hour=1; path=/; max-age=3600";
document.cookie = "js_session=1; path=/";
</script>"#,
        )
        .with_header("set-cookie", "http_decade=1; Path=/; Max-Age=315360000")
    });
    let s = common::start(handler, Some(common::tls_acceptor())).await;
    let mut o = options(s.port);
    o.dwell = Duration::from_millis(300);
    let obs = run(
        &o,
        &Guard::allow_private(),
        &[url::Url::parse(&s.url("/")).unwrap()],
        &CanaryIdentity::default(),
        Duration::from_secs(120),
        &|_, _| {},
    )
    .await;
    let life = |name: &str| {
        let all: Vec<Option<i64>> = obs
            .cookies
            .iter()
            .filter(|c| c.name == name)
            .map(|c| c.lifetime_secs)
            .collect();
        assert!(!all.is_empty(), "{name} not observed: {:#?}", obs.cookies);
        all
    };
    let cap = 400 * 86_400;
    for name in ["js_decade", "http_decade"] {
        for l in life(name) {
            let l = l.expect("persistent");
            // The strings say ten years; the jar holds 400 days.
            assert!((cap - 120..=cap).contains(&l), "{name}: {l}");
        }
    }
    for l in life("js_hour") {
        assert!((3480..=3600).contains(&l.unwrap()), "{l:?}");
    }
    assert!(life("js_session").iter().all(Option::is_none));
}

/// A pixel fired by a cross-site iframe (an ad tag's usual shape) is
/// recorded like any other request: this is why the scan's Chromium keeps
/// all frames of a page in one process (no `--site-per-process`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pixel_inside_a_cross_site_iframe_is_recorded() {
    let handler: common::Handler = Arc::new(|req: &common::Req| match (req.host.as_str(), req.path.as_str()) {
        ("127.0.0.1", "/") => {
            common::Reply::html(r#"<!doctype html><iframe src="https://ad.doubleclick.net/frame"></iframe>"#)
        }
        ("ad.doubleclick.net", "/frame") => common::Reply::html(
            r#"<!doctype html><img src="https://www.facebook.com/tr/?id=123456789012345&ev=InFrame">"#,
        ),
        _ => common::Reply::status(404, vec![], b""),
    });
    let s = common::start(handler, Some(common::tls_acceptor())).await;
    let mut o = options(s.port);
    o.dwell = Duration::from_millis(500);
    let obs = run(
        &o,
        &Guard::allow_private(),
        &[url::Url::parse(&s.url("/")).unwrap()],
        &CanaryIdentity::default(),
        Duration::from_secs(60),
        &|_, _| {},
    )
    .await;
    assert!(
        obs.requests.iter().any(|r| r.url.contains("ev=InFrame")),
        "{:#?}",
        obs.requests.iter().map(|r| &r.url).collect::<Vec<_>>()
    );
}
