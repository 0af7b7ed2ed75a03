//! The widget's page-facing API in a real Chromium: `keurmerk.accepted()`,
//! change events, `data-consent-open` links (which fetch the UI on a return
//! visit), and the embed placeholder's "allow once" / "always allow".

use std::time::Duration;

use anyhow::Result;
use e2e::browser::{Chromium, click, eval, exclusive, goto, open_dialog, wait_for};
use e2e::widget_site::{SiteServer, Trackers, launch};
use serde_json::Value;

const T: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn api_links_and_embed_placeholders() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.page(&site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;

    // Analytics only, through the preferences.
    open_dialog(&page, "[data-km=prefs]", T).await?;
    click(&page, "#km-c-analytics").await?;
    click(&page, ".km-dlg [data-km=save]").await?;
    wait_for(&page, "keurmerk.receipt()", T).await?;
    let state: Value = eval(
        &page,
        "[keurmerk.accepted('necessary'), keurmerk.accepted('analytics'), keurmerk.accepted('marketing'), \
          keurmerk.acceptedService('google-analytics'), keurmerk.acceptedService('meta')]",
    )
    .await?;
    assert_eq!(state, serde_json::json!([true, true, false, true, false]));

    // Return visit: the blocked embed has a placeholder; "allow once" loads
    // it without changing (or recording) the decision.
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "window.__tmDone", T).await?;
    let _: bool = eval(
        &page,
        "(window.__events = [], keurmerk.on(d => window.__events.push(d)), true)",
    )
    .await?;
    assert_eq!(trackers.count("embed/demo"), 0);
    click(&page, ".km-ph button").await?;
    wait_for(&page, "!document.querySelector('iframe[title=\"Product video\"]').previousElementSibling?.classList.contains('km-ph')", T).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(trackers.count("embed/demo"), 1, "{:?}", trackers.hits());
    assert!(!eval::<bool>(&page, "keurmerk.accepted('marketing')").await?);
    assert_eq!(site.state.decisions().len(), 1);

    // "Always allow" on the other placeholder grants that one service, is
    // recorded, and fires a change event.
    let before = trackers.count("embed/late");
    click(&page, ".km-ph button:nth-of-type(2)").await?;
    wait_for(&page, "window.__events.length === 1", T).await?;
    let ev: Value = eval(&page, "window.__events[0]").await?;
    assert_eq!(ev["services"]["youtube"], true, "{ev}");
    assert_eq!(ev["categories"]["marketing"], false, "{ev}");
    wait_for(&page, "keurmerk.acceptedService('youtube')", T).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(trackers.count("embed/late"), before + 1, "{:?}", trackers.hits());
    assert_eq!(trackers.count("fbevents.js"), 0, "the rest of marketing stays blocked");
    wait_for(&page, "keurmerk.receipt() && keurmerk.receipt().index === 1", T).await?;
    let recorded = site.state.decisions();
    assert_eq!(recorded[1]["method"], "custom");
    assert_eq!(recorded[1]["services"]["youtube"], true);

    // A site link with data-consent-open fetches the UI and opens the dialog.
    let ui: usize = eval(
        &page,
        "performance.getEntriesByType('resource').filter(e => e.name.endsWith('.wasm')).length",
    )
    .await?;
    assert_eq!(ui, 0, "no UI on a return visit until asked");
    open_dialog(&page, "a[data-consent-open]", T).await?;
    let shown: Value = eval(
        &page,
        "[document.getElementById('km-c-analytics').checked, document.getElementById('km-c-marketing').checked, document.getElementById('km-s-youtube').checked]",
    )
    .await?;
    assert_eq!(shown, serde_json::json!([true, false, true]));

    // The visitor downloads their receipt from the dialog (captured at the
    // Blob URL the download link points to).
    let _: bool = eval(
        &page,
        "(() => { const o = URL.createObjectURL; URL.createObjectURL = b => (window.__blob = b, o(b)); return true; })()",
    )
    .await?;
    click(&page, ".km-dlg [data-km=receipt]").await?;
    // This stand-in server has no proof endpoint: the receipt is the fallback.
    wait_for(&page, "window.__blob", T).await?;
    let receipt: Value = eval(&page, "window.__blob.text().then(JSON.parse)").await?;
    assert_eq!(receipt["consent_id"], "0123456789abcdef0123456789abcdef", "{receipt}");
    assert_eq!(receipt["index"], 1, "{receipt}");

    // Allowing a whole category the visitor refused turns it on: the earlier
    // refusal does not shadow the new grant.
    let _: bool = eval(&page, "(keurmerk.allow('marketing'), true)").await?;
    wait_for(&page, "keurmerk.accepted('marketing')", T).await?;
    wait_for(&page, "keurmerk.receipt() && keurmerk.receipt().index === 2", T).await?;
    assert_eq!(site.state.decisions()[2]["categories"]["marketing"], true);
    chrome.close().await;
    Ok(())
}
