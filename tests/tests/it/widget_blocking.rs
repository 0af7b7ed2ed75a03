//! The widget's blocker in a real Chromium: before consent no request reaches
//! any tracker host (declarative, parser-inserted and code-injected tags,
//! pixels, frames, fetch, XHR, sendBeacon); after Accept all each fires
//! exactly once; after Reject all none does, on this page or the next.

use std::time::Duration;

use anyhow::Result;
use e2e::browser::{Chromium, click, eval, exclusive, goto, open_dialog, wait_for};
use e2e::widget_site::{SiteServer, Trackers, launch};

const T: Duration = Duration::from_secs(10);

/// Waits until the tag manager has injected its trackers, and a little more
/// so any request they would make has had time to leave.
async fn settle(page: &chromiumoxide::Page) -> Result<()> {
    wait_for(page, "window.__tmDone", T).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;
    Ok(())
}

/// Tags written as plain `<script src>` / `<img src>` in the HTML itself:
/// the browser's preload scanner fetches them while the loader is still
/// downloading, before any script can run. The loader still stops them from
/// executing or being shown (asserted through `__ran` and the cookies); only
/// declarative markup avoids the speculative fetch too.
const PRELOADED: [&str; 2] = ["/gtag/js?id=G-DEMO", "/tr?id=123&ev=PageView"];

/// Requests to tracker hosts, except speculative preloads of [`PRELOADED`].
fn tracker_requests(trackers: &Trackers) -> usize {
    trackers
        .hits()
        .iter()
        .filter(|h| !PRELOADED.contains(&h.path.as_str()))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_reaches_trackers_before_consent_or_after_reject() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.page(&site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    settle(&page).await?;
    assert_eq!(
        tracker_requests(&trackers),
        0,
        "tracker requests before consent: {:?}",
        trackers.hits()
    );
    let ran: Vec<String> = eval(&page, "window.__ran || []").await?;
    assert!(ran.is_empty(), "scripts ran before consent: {ran:?}");
    let cookies: String = eval(&page, "document.cookie").await?;
    assert_eq!(cookies, "", "cookies before consent");
    // The blocked embed shows a placeholder instead.
    assert!(eval::<bool>(&page, "!!document.querySelector('.km-ph')").await?);

    click(&page, ".km-banner [data-km=reject]").await?;
    wait_for(&page, "!document.querySelector('.km-banner')", T).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        tracker_requests(&trackers),
        0,
        "tracker requests after reject: {:?}",
        trackers.hits()
    );
    let cookies: String = eval(&page, "document.cookie").await?;
    assert!(cookies.starts_with("keurmerk="), "only the decision cookie: {cookies}");
    wait_for(&page, "document.querySelector('.km-reopen')", T).await?;

    // Next page: the stored refusal applies at once, no banner, no wasm.
    goto(&page, &site.url("product.html")).await?;
    settle(&page).await?;
    assert_eq!(
        tracker_requests(&trackers),
        0,
        "tracker requests on the next page: {:?}",
        trackers.hits()
    );
    assert!(!eval::<bool>(&page, "!!document.querySelector('.km-banner')").await?);
    let wasm: usize = eval(
        &page,
        "performance.getEntriesByType('resource').filter(e => /\\.wasm|widget\\.js/.test(e.name)).length",
    )
    .await?;
    assert_eq!(wasm, 0, "a returning visitor downloads no UI");

    let recorded = site.state.decisions();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["method"], "reject_all");
    assert_eq!(recorded[0]["categories"]["marketing"], false);
    assert_eq!(recorded[0]["page_path"], "/demo/index.html");
    chrome.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_all_fires_each_tag_exactly_once_in_order() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.page(&site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    settle(&page).await?;
    assert_eq!(tracker_requests(&trackers), 0, "{:?}", trackers.hits());

    click(&page, ".km-banner [data-km=accept]").await?;
    wait_for(&page, "(window.__ran || []).length >= 4", T).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for needle in [
        "connect.facebook.net/en_US/fbevents.js",
        "connect.facebook.net/signals/config.js",
        "www.facebook.com/tr?id=123&ev=Late",
        "www.youtube-nocookie.com/embed/demo",
        "www.youtube-nocookie.com/embed/late",
        "analytics.tiktok.com/api/v2/pixel",
        "www.google-analytics.com/g/collect",
    ] {
        assert_eq!(trackers.count(needle), 1, "{needle}: {:?}", trackers.hits());
    }
    let ran: Vec<String> = eval(&page, "window.__ran").await?;
    for script in ["inline-analytics", "gtag/js", "fbevents.js", "signals/config.js"] {
        assert_eq!(
            ran.iter().filter(|r| r.contains(script)).count(),
            1,
            "{script}: {ran:?}"
        );
    }
    // Declared order is kept among the held scripts of the document.
    let pos = |s: &str| ran.iter().position(|r| r.contains(s));
    assert!(
        pos("gtag/js") < pos("fbevents.js") && pos("fbevents.js") < pos("inline-analytics"),
        "{ran:?}"
    );
    let cookies: String = eval(&page, "document.cookie").await?;
    assert!(cookies.contains("_fbp=") && cookies.contains("_ga="), "{cookies}");

    // Accepted: on the next page everything loads normally, once.
    trackers.clear();
    goto(&page, &site.url("product.html")).await?;
    settle(&page).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(trackers.count("gtag/js") >= 1, "{:?}", trackers.hits());
    assert_eq!(trackers.count("signals/config.js"), 1, "{:?}", trackers.hits());
    assert_eq!(trackers.count("embed/product"), 1, "{:?}", trackers.hits());
    chrome.close().await;
    Ok(())
}

/// Collects uncaught errors and unhandled rejections of every page, from
/// before the loader runs.
const ERRORS: &str = "window.__errors = []; \
    addEventListener('error', e => __errors.push(String(e.message))); \
    addEventListener('unhandledrejection', e => __errors.push(String(e.reason)));";

/// A malformed stored decision is no decision: the banner shows, nothing
/// reaches a tracker, and the loader throws nothing. Before, a bad
/// percent-escape threw before blocking started.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_decision_cookie_fails_closed() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.blank().await?;
    page.evaluate_on_new_document(ERRORS).await?;
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    click(&page, ".km-banner [data-km=accept]").await?;
    wait_for(&page, "!document.querySelector('.km-banner')", T).await?;
    let good: String = eval(&page, "document.cookie.match(/keurmerk=([^;]*)/)[1]").await?;
    let parts: Vec<&str> = good.split('.').collect();
    assert_eq!(parts.len(), 6, "{good}");
    let with = |i: usize, v: &str| {
        let mut p = parts.clone();
        p[i] = v;
        p.join(".")
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let future = (now + 10 * 86_400).to_string();
    let cases: Vec<(&str, String)> = vec![
        ("a bad percent-escape", "%E0%A4%A".into()),
        ("an escape of nothing", format!("{good}%")),
        ("truncated", good[..good.len() / 2].into()),
        ("too few parts", "1.2.3".into()),
        ("an extra part", format!("{good}.1")),
        ("empty", String::new()),
        ("a version that is not one", with(0, "v2")),
        ("a fingerprint that is not one", with(1, "zz")),
        ("a time that is not a number", with(2, "soon")),
        ("a time written as a float", with(2, "1.7e9")),
        ("a time ahead (it would never lapse)", with(2, &future)),
        ("a category that is not a slug", with(3, "Marketing:1")),
        ("a category answered with 2", with(3, "marketing:2")),
        ("a service without an answer", with(4, "meta")),
        ("a GPC flag that is not 0 or 1", with(5, "yes")),
        ("huge", format!("{good}{}", "+marketing:1".repeat(300))),
        ("JSON", "{\"c\":[\"marketing\"]}".into()),
    ];
    // What the accepted page sends late (a deferred beacon) must land
    // before counting, or it would look like the next page's.
    settle(&page).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (what, bad) in &cases {
        let value = serde_json::to_string(&format!("keurmerk={bad}; path=/"))?;
        let _: bool = eval(&page, &format!("(document.cookie = {value}, true)")).await?;
        let before = tracker_requests(&trackers);
        goto(&page, &site.url("index.html")).await?;
        wait_for(&page, "document.querySelector('.km-banner')", T).await?;
        settle(&page).await?;
        assert_eq!(
            tracker_requests(&trackers),
            before,
            "tracker requests with {what} ({bad:?}): {:?}",
            trackers.hits()
        );
        let state: serde_json::Value = eval(
            &page,
            "({ran: window.__ran || [], errors: __errors, decision: keurmerk.decision() || null, \
               marketing: keurmerk.accepted('marketing'), cm: dataLayer.map(a => Array.from(a)).filter(a => a[0] === 'consent').length})",
        )
        .await?;
        assert_eq!(state["ran"], serde_json::json!([]), "scripts ran with {what}: {state}");
        assert_eq!(state["errors"], serde_json::json!([]), "errors with {what}: {state}");
        assert_eq!(state["decision"], serde_json::Value::Null, "{what}: {state}");
        assert_eq!(state["marketing"], false, "{what}: {state}");
        assert_eq!(state["cm"], 1, "only the Consent Mode default with {what}: {state}");
    }

    // A page that may not read cookies at all (document.cookie throws, as in
    // a sandboxed frame): no decision, blocked, the banner, nothing thrown.
    let page = chrome.blank().await?;
    page.evaluate_on_new_document(ERRORS).await?;
    page.evaluate_on_new_document(
        "const no = () => { throw new DOMException('The document is sandboxed', 'SecurityError'); }; \
         Object.defineProperty(Document.prototype, 'cookie', { get: no, set: no, configurable: true });",
    )
    .await?;
    let before = tracker_requests(&trackers);
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    settle(&page).await?;
    assert_eq!(tracker_requests(&trackers), before, "{:?}", trackers.hits());
    let state: serde_json::Value = eval(&page, "({ran: window.__ran || [], errors: __errors})").await?;
    assert_eq!(state, serde_json::json!({"ran": [], "errors": []}));
    chrome.close().await;
    Ok(())
}

/// localStorage holds no decision (the consent id and the queue of decisions
/// to send), but a page script can write anything there: whatever it holds,
/// nothing throws, a refusal in force stays in force, and the next decision
/// still goes out.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_local_storage_neither_throws_nor_unblocks() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.blank().await?;
    page.evaluate_on_new_document(ERRORS).await?;
    // No decision yet: the banner, whatever localStorage holds.
    goto(&page, &site.url("product.html")).await?;
    let _: bool = eval(
        &page,
        "(localStorage.setItem('keurmerk:demo', '{not json'), localStorage.setItem('keurmerk:q:demo', '\"a string\"'), true)",
    )
    .await?;
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    settle(&page).await?;
    assert_eq!(tracker_requests(&trackers), 0, "{:?}", trackers.hits());
    click(&page, ".km-banner [data-km=reject]").await?;
    wait_for(&page, "keurmerk.receipt()", T).await?;
    assert_eq!(site.state.decisions().len(), 1);

    // A refusal in force, and each kind of junk in both keys.
    let junk = [
        "not json",
        "\"a string\"",
        "123",
        "true",
        "null",
        "[]",
        "{\"length\": 3}",
        "[null, 5, \"x\", {}, [1, 2]]",
        "{\"id\": 5, \"secret\": {}, \"receipt\": \"r\"}",
    ];
    for j in junk {
        let v = serde_json::to_string(j)?;
        let _: bool = eval(
            &page,
            &format!(
                "(localStorage.setItem('keurmerk:demo', {v}), localStorage.setItem('keurmerk:q:demo', {v}), true)"
            ),
        )
        .await?;
        goto(&page, &site.url("index.html")).await?;
        settle(&page).await?;
        // A queue that looked non-empty has had the module try to send it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let state: serde_json::Value = eval(
            &page,
            "({banner: !!document.querySelector('.km-banner'), reopen: !!document.querySelector('.km-reopen'), \
               errors: __errors, marketing: keurmerk.accepted('marketing'), ran: window.__ran || []})",
        )
        .await?;
        assert_eq!(
            state,
            serde_json::json!({"banner": false, "reopen": true, "errors": [], "marketing": false, "ran": []}),
            "with {j}"
        );
        assert_eq!(tracker_requests(&trackers), 0, "with {j}: {:?}", trackers.hits());
    }
    // The next decision still goes out, as a valid one.
    let before = site.state.decisions().len();
    open_dialog(&page, ".km-reopen", T).await?;
    click(&page, ".km-dlg [data-km=accept]").await?;
    wait_for(&page, "(window.__ran || []).length >= 1", T).await?;
    let start = std::time::Instant::now();
    while site.state.decisions().len() == before && start.elapsed() < T {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recorded = site.state.decisions();
    assert_eq!(
        recorded.last().map(|d| d["method"].clone()),
        Some("accept_all".into()),
        "{recorded:?}"
    );
    let errors: Vec<String> = eval(&page, "__errors").await?;
    assert!(errors.is_empty(), "{errors:?}");
    chrome.close().await;
    Ok(())
}
