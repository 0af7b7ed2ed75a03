//! The banner in the first paint: the loader shows the first layer the
//! server rendered into it, before the wasm is there (the test server holds
//! the wasm back), and a click meanwhile is not lost: the loader keeps it
//! and the wasm, once it arrives, replays it — one decision, recorded,
//! enforced.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use e2e::browser::{Chromium, click, eval, exclusive, wait_for};
use e2e::widget_site::{SiteServer, Trackers, launch};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

/// The banner as the visitor sees it, and what of the widget was fetched.
const STATE: &str = "(() => {
  const b = document.querySelector('.km-banner'), r = b && b.getBoundingClientRect();
  const res = performance.getEntriesByType('resource').map(e => e.name);
  return {
    shown: !!b && !b.hidden && r.width > 0 && r.height > 0 && getComputedStyle(b).opacity === '1',
    fixed: !!b && getComputedStyle(b).position === 'fixed',
    inBody: !!b && b.parentNode.parentNode === document.body,
    focused: !!b && document.activeElement === b,
    title: b ? document.getElementById('km-bt').textContent : null,
    to: b ? b.querySelector('.km-to').textContent : null,
    css: res.some(n => n.includes('widget.css')),
    wasm: res.some(n => n.includes('_bg.wasm')),
    cookie: document.cookie.includes('keurmerk='),
  };
})()";

#[tokio::test(flavor = "multi_thread")]
async fn the_banner_is_shown_before_the_wasm_and_a_click_meanwhile_is_replayed() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    for (button, method) in [("reject", "reject_all"), ("accept", "accept_all")] {
        site.state.decisions.lock().unwrap().clear();
        trackers.clear();
        site.state.hold_wasm.store(true, Ordering::SeqCst);
        let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
        let page = chrome.page(&site.url("index.html")).await?;
        wait_for(&page, "document.querySelector('.km-banner')", T).await?;
        wait_for(&page, "document.readyState === 'complete'", T).await?;
        let s: Value = eval(&page, STATE).await?;
        // On screen, styled (the loader's own stylesheet: no request for
        // it), focused, in its texts, without the wasm.
        assert_eq!(
            (&s["shown"], &s["fixed"], &s["inBody"], &s["focused"]),
            (&json!(true), &json!(true), &json!(true), &json!(true)),
            "{s}"
        );
        assert_eq!(s["title"], "Cookies and tracking on this site");
        assert_eq!(
            s["to"],
            "Recipients of the data: Meta Platforms Ireland, Google Ireland."
        );
        assert_eq!((&s["css"], &s["wasm"]), (&json!(false), &json!(false)), "{s}");

        // The visitor answers before the wasm is there: the banner goes at
        // once, nothing is decided or released yet, and it stays so.
        click(&page, &format!(".km-banner [data-km={button}]")).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let s: Value = eval(&page, STATE).await?;
        assert_eq!((&s["shown"], &s["cookie"]), (&json!(false), &json!(false)), "{s}");
        assert!(site.state.decisions().is_empty());
        let ran: Vec<String> = eval(&page, "window.__ran || []").await?;
        assert!(ran.is_empty(), "ran before a decision: {ran:?}");

        // The wasm arrives: it replays the click, once.
        site.state.hold_wasm.store(false, Ordering::SeqCst);
        wait_for(&page, "!document.querySelector('.km-banner')", T).await?;
        wait_for(&page, "document.cookie.includes('keurmerk=')", T).await?;
        wait_for(&page, "keurmerk.receipt()", T).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let decisions = site.state.decisions();
        assert_eq!(decisions.len(), 1, "{decisions:?}");
        assert_eq!(decisions[0]["method"], method);
        let marketing: bool = eval(&page, "keurmerk.accepted('marketing')").await?;
        assert_eq!(marketing, button == "accept");
        if button == "accept" {
            // Released once, in order, like any Accept all.
            wait_for(&page, "(window.__ran || []).some(r => r.includes('fbevents.js'))", T).await?;
            assert_eq!(trackers.count("fbevents.js"), 1, "{:?}", trackers.hits());
        } else {
            assert_eq!(trackers.count("fbevents.js"), 0, "{:?}", trackers.hits());
        }
        chrome.close().await;
    }
    Ok(())
}
