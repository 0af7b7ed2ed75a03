//! The widget's blocker in a real Chromium: before consent no request reaches
//! any tracker host (declarative, parser-inserted and code-injected tags,
//! pixels, frames, fetch, XHR, sendBeacon); after Accept all each fires
//! exactly once; after Reject all none does, on this page or the next.

use std::time::Duration;

use anyhow::Result;
use e2e::browser::{Chromium, click, eval, exclusive, goto, wait_for};
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

/// A malformed stored decision (a bad percent-escape, a time that is not a
/// number, too few parts) is no decision: the banner shows and nothing
/// reaches a tracker. Before, a bad escape threw before blocking started.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_decision_cookie_fails_closed() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.page(&site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    click(&page, ".km-banner [data-km=accept]").await?;
    wait_for(&page, "!document.querySelector('.km-banner')", T).await?;
    let good: String = eval(&page, "document.cookie.match(/keurmerk=([^;]*)/)[1]").await?;
    let parts: Vec<&str> = good.split('.').collect();
    let nan_time = {
        let mut p = parts.clone();
        p[2] = "soon";
        p.join(".")
    };
    for bad in ["%E0%A4%A", nan_time.as_str(), "1.2.3"] {
        eval::<bool>(&page, &format!("document.cookie = 'keurmerk={bad}; path=/'; true")).await?;
        // What the accepted page sends late (a deferred beacon) must land
        // before counting, or it would look like the next page's.
        settle(&page).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = tracker_requests(&trackers);
        goto(&page, &site.url("index.html")).await?;
        wait_for(&page, "document.querySelector('.km-banner')", T).await?;
        settle(&page).await?;
        assert_eq!(
            tracker_requests(&trackers),
            before,
            "tracker requests with the cookie {bad:?}: {:?}",
            trackers.hits()
        );
        let ran: Vec<String> = eval(&page, "window.__ran || []").await?;
        assert!(ran.is_empty(), "scripts ran with the cookie {bad:?}: {ran:?}");
    }
    chrome.close().await;
    Ok(())
}
