//! The visitor's choices in a real Chromium: withdrawal deletes the
//! category's cookies, Consent Mode v2 calls reach `dataLayer`, GPC is
//! honoured and recorded, the language follows the browser, decisions expire
//! and are asked again on new purposes, and an unreachable server loses
//! nothing.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use consent_core::config::Service;
use e2e::browser::{Chromium, click, eval, exclusive, goto, open_dialog, wait_for};
use e2e::widget_site::{SiteServer, Trackers, demo_config, launch};
use serde_json::Value;

const T: Duration = Duration::from_secs(10);

/// The `gtag('consent', ...)` calls in `dataLayer`, in order.
async fn consent_calls(page: &chromiumoxide::Page) -> Result<Vec<Value>> {
    eval(
        page,
        "dataLayer.map(a => Array.from(a)).filter(a => a[0] === 'consent')",
    )
    .await
}

async fn first_visit(site: &SiteServer, chrome: &Chromium) -> Result<chromiumoxide::Page> {
    let page = chrome.page(&site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    Ok(page)
}

#[tokio::test(flavor = "multi_thread")]
async fn withdrawal_deletes_the_category_cookies_and_consent_mode_follows() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = first_visit(&site, &chrome).await?;

    // Default before anything else: every signal denied except security.
    let calls = consent_calls(&page).await?;
    assert_eq!(calls[0][1], "default");
    let d = &calls[0][2];
    for s in ["ad_storage", "ad_user_data", "ad_personalization", "analytics_storage"] {
        assert_eq!(d[s], "denied", "{s}: {d}");
    }
    assert_eq!(d["security_storage"], "granted");
    assert_eq!(d["wait_for_update"], 500);
    let first: Value = eval(&page, "Array.from(dataLayer[0])").await?;
    assert_eq!(first[1], "default", "the default precedes the site's own gtag calls");

    click(&page, "[data-km=accept]").await?;
    wait_for(
        &page,
        "document.cookie.includes('_fbp=') && document.cookie.includes('_ga=')",
        T,
    )
    .await?;
    // Both Meta scripts the accept released (the tag and the one the tag
    // manager injected) have run, so neither can set `_fbp` again after
    // the withdrawal below: a script released before a withdrawal still
    // runs when it arrives, which on a busy machine was after the wipe.
    wait_for(
        &page,
        "['connect.facebook.net/en_US/fbevents.js', 'connect.facebook.net/signals/config.js']\
         .every(s => (window.__ran || []).includes(s))",
        T,
    )
    .await?;
    let calls = consent_calls(&page).await?;
    let last = &calls[calls.len() - 1];
    assert_eq!(last[1], "update");
    assert_eq!(last[2]["ad_storage"], "granted");
    assert_eq!(last[2]["analytics_storage"], "granted");
    wait_for(&page, "keurmerk.receipt()", T).await?;

    // Withdraw marketing through the persistent control.
    open_dialog(&page, ".km-reopen", T).await?;
    let checked: bool = eval(&page, "document.getElementById('km-c-marketing').checked").await?;
    assert!(checked, "the dialog shows the current decision");
    click(&page, "#km-c-marketing").await?;
    let svc_follows: bool = eval(&page, "!document.getElementById('km-s-meta').checked").await?;
    assert!(svc_follows, "services follow their category switch");
    click(&page, ".km-dlg [data-km=save]").await?;
    wait_for(&page, "!document.cookie.includes('_fbp=')", T).await?;
    let cookies: String = eval(&page, "document.cookie").await?;
    assert!(
        cookies.contains("_ga=") && cookies.contains("_ga_DEMO="),
        "analytics kept: {cookies}"
    );
    wait_for(&page, "document.querySelector('.km-toast [data-km=reload]')", T).await?;
    let calls = consent_calls(&page).await?;
    let last = &calls[calls.len() - 1];
    assert_eq!(last[2]["ad_storage"], "denied");
    assert_eq!(last[2]["analytics_storage"], "granted");

    wait_for(&page, "keurmerk.receipt() && keurmerk.receipt().index === 1", T).await?;
    let recorded = site.state.decisions();
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(recorded[0]["method"], "accept_all");
    assert!(recorded[0].get("consent_id").is_none());
    assert_eq!(recorded[1]["method"], "withdrawal");
    assert_eq!(recorded[1]["consent_id"], "0123456789abcdef0123456789abcdef");
    assert_eq!(recorded[1]["secret"], "s3cr3t-for-tests");
    assert_eq!(recorded[1]["categories"]["marketing"], false);

    // Every later page load repeats the update right after the default.
    goto(&page, &site.url("product.html")).await?;
    let calls = consent_calls(&page).await?;
    assert_eq!(calls[0][1], "default");
    assert_eq!(calls[1][1], "update");
    assert_eq!(calls[1][2]["analytics_storage"], "granted");
    assert_eq!(calls[1][2]["ad_user_data"], "denied");

    // One service granted on its own (its category stays off) runs; a later
    // "Reject all", which names no service, withdraws it: its cookie goes.
    goto(&page, &site.url("index.html")).await?;
    open_dialog(&page, ".km-reopen", T).await?;
    click(&page, "#km-s-meta").await?;
    click(&page, ".km-dlg [data-km=save]").await?;
    wait_for(&page, "document.cookie.includes('_fbp=')", T).await?;
    assert_eq!(
        eval::<Value>(&page, "keurmerk.decision().services").await?,
        serde_json::json!({ "meta": true })
    );
    open_dialog(&page, ".km-reopen", T).await?;
    click(&page, ".km-dlg [data-km=reject]").await?;
    wait_for(&page, "!document.cookie.includes('_fbp=')", T).await?;
    wait_for(&page, "keurmerk.receipt() && keurmerk.receipt().index === 3", T).await?;
    let recorded = site.state.decisions();
    assert_eq!(recorded[2]["method"], "custom");
    assert_eq!(recorded[2]["services"]["meta"], true);
    assert_eq!(recorded[3]["method"], "withdrawal", "{}", recorded[3]);
    chrome.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn gpc_is_announced_prerefused_and_recorded() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.blank().await?;
    page.evaluate_on_new_document(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true })",
    )
    .await?;
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner .km-gpc')", T).await?;
    open_dialog(&page, "[data-km=prefs]", T).await?;
    let state: Value = eval(
        &page,
        "({m: document.getElementById('km-c-marketing').checked, d: document.getElementById('km-cd-marketing').textContent})",
    )
    .await?;
    assert_eq!(state["m"], false);
    assert!(
        state["d"]
            .as_str()
            .unwrap_or_default()
            .contains("Global Privacy Control"),
        "{state}"
    );
    // The visitor may still opt in explicitly; the signal is recorded.
    click(&page, "#km-c-analytics").await?;
    click(&page, ".km-dlg [data-km=save]").await?;
    wait_for(&page, "keurmerk.receipt()", T).await?;
    let recorded = site.state.decisions();
    assert_eq!(recorded[0]["gpc"], true);
    assert_eq!(recorded[0]["method"], "custom");
    assert_eq!(recorded[0]["categories"]["marketing"], false);
    assert_eq!(recorded[0]["categories"]["analytics"], true);
    chrome.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn language_follows_the_browser_within_the_site_languages() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    for (lang, title, accept) in [
        (
            "de-DE,de",
            "Cookies und Tracking auf dieser Website",
            "Alle akzeptieren",
        ),
        ("nl-NL,nl", "Cookies en tracking op deze site", "Alles accepteren"),
        ("fr-FR,fr", "Cookies et traçage sur ce site", "Tout accepter"),
        // Not offered by the site: its first language (nl).
        ("es-ES,es", "Cookies en tracking op deze site", "Alles accepteren"),
    ] {
        let chrome = Chromium::launch(launch(&site, &trackers, lang)).await?;
        let page = first_visit(&site, &chrome).await?;
        let got: Value = eval(
            &page,
            "({t: document.getElementById('km-bt').textContent, a: document.querySelector('[data-km=accept]').textContent, \
              i18n: performance.getEntriesByType('resource').filter(e => e.name.includes('/i18n/')).map(e => e.name)})",
        )
        .await?;
        assert_eq!(got["t"], title, "{lang}");
        assert_eq!(got["a"], accept, "{lang}");
        assert_eq!(
            got["i18n"].as_array().map(Vec::len),
            Some(1),
            "only one language shipped: {got}"
        );
        chrome.close().await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_expire_and_new_purposes_ask_again() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = first_visit(&site, &chrome).await?;
    click(&page, "[data-km=reject]").await?;
    wait_for(&page, "document.cookie.includes('keurmerk=')", T).await?;

    // Wording changes only: the decision stands.
    let mut c = demo_config();
    c.controller = "Demo Shop Nederland B.V.".into();
    site.state.set_config(c.clone());
    goto(&page, &site.url("product.html")).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!eval::<bool>(&page, "!!document.querySelector('.km-banner')").await?);

    // A new service (a new purpose for the visitor): asked again.
    c.services.push(Service {
        id: "hotjar".into(),
        name: "Hotjar".into(),
        category: "analytics".into(),
        provider: "Hotjar Ltd".into(),
        privacy_policy_url: None,
        hosts: vec!["static.hotjar.com".into()],
        cookies: vec![],
        description: Default::default(),
    });
    site.state.set_config(c);
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    click(&page, "[data-km=reject]").await?;
    wait_for(&page, "!document.querySelector('.km-banner')", T).await?;

    // Older than expiry_days (182): asked again, refusals included.
    let old = "(() => { const v = decodeURIComponent(document.cookie.match(/keurmerk=([^;]*)/)[1]).split('.'); \
               v[2] = String(Math.floor(Date.now() / 1000) - 183 * 86400); \
               document.cookie = 'keurmerk=' + encodeURIComponent(v.join('.')) + ';path=/'; return v[2]; })()";
    let _: String = eval(&page, old).await?;
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    chrome.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn server_down_the_decision_applies_and_is_sent_later() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    site.state.api_down.store(true, Ordering::SeqCst);
    let page = first_visit(&site, &chrome).await?;
    click(&page, "[data-km=accept]").await?;
    wait_for(&page, "document.cookie.includes('_fbp=')", T).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(site.state.decisions().is_empty());
    let queued: usize = eval(&page, "JSON.parse(localStorage.getItem('keurmerk:q:demo')).length").await?;
    assert_eq!(queued, 1);

    site.state.api_down.store(false, Ordering::SeqCst);
    goto(&page, &site.url("product.html")).await?;
    wait_for(&page, "keurmerk.receipt()", T).await?;
    let recorded = site.state.decisions();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["method"], "accept_all");
    assert_eq!(recorded[0]["page_path"], "/demo/index.html");
    let queued: usize = eval(&page, "JSON.parse(localStorage.getItem('keurmerk:q:demo')).length").await?;
    assert_eq!(queued, 0);

    // A page script overwrote the queue with something else: the next
    // decision still goes out.
    let _: bool = eval(&page, "localStorage.setItem('keurmerk:q:demo', '{\"x\":1}'), true").await?;
    open_dialog(&page, ".km-reopen", T).await?;
    click(&page, ".km-dlg [data-km=reject]").await?;
    wait_for(&page, "keurmerk.receipt().index === 1", T).await?;
    let recorded = site.state.decisions();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1]["method"], "withdrawal");
    chrome.close().await;
    Ok(())
}
