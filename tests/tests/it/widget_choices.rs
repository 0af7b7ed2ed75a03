//! The visitor's choices in a real Chromium: withdrawal deletes the
//! category's cookies, Consent Mode v2 calls reach `dataLayer`, GPC is
//! honoured and recorded, the language follows the browser, decisions expire
//! and are asked again on new purposes, and an unreachable server loses
//! nothing.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use consent_core::config::{Category, Label, Service};
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
    for (lang, title, accept, to) in [
        (
            "de-DE,de",
            "Cookies und Tracking auf dieser Website",
            "Alle akzeptieren",
            "Empfänger der Daten: ",
        ),
        (
            "nl-NL,nl",
            "Cookies en tracking op deze site",
            "Alles accepteren",
            "Ontvangers van de gegevens: ",
        ),
        (
            "fr-FR,fr",
            "Cookies et traçage sur ce site",
            "Tout accepter",
            "Destinataires des données : ",
        ),
        (
            "en-GB,en",
            "Cookies and tracking on this site",
            "Accept all",
            "Recipients of the data: ",
        ),
        // Not offered by the site: its first language (nl).
        (
            "es-ES,es",
            "Cookies en tracking op deze site",
            "Alles accepteren",
            "Ontvangers van de gegevens: ",
        ),
    ] {
        let chrome = Chromium::launch(launch(&site, &trackers, lang)).await?;
        let page = first_visit(&site, &chrome).await?;
        let got: Value = eval(
            &page,
            "({t: document.getElementById('km-bt').textContent, a: document.querySelector('[data-km=accept]').textContent, \
              to: document.querySelector('.km-to').textContent, \
              i18n: performance.getEntriesByType('resource').filter(e => e.name.includes('/i18n/')).map(e => e.name)})",
        )
        .await?;
        assert_eq!(got["t"], title, "{lang}");
        assert_eq!(got["a"], accept, "{lang}");
        // The recipients, named by company, in the visitor's language.
        assert_eq!(
            got["to"],
            format!("{to}Meta Platforms Ireland, Google Ireland."),
            "{lang}"
        );
        // The first layer is the loader's; the texts file of the
        // visitor's language is the dialog's, not fetched on a first visit.
        assert_eq!(
            got["i18n"].as_array().map(Vec::len),
            Some(0),
            "no texts fetched on a first visit: {got}"
        );
        chrome.close().await;
    }
    Ok(())
}

/// Moves the stored decision's time `days` into the past, as a clock would.
async fn age_decision(page: &chromiumoxide::Page, days: u64) -> Result<()> {
    let js = format!(
        "(() => {{ const v = document.cookie.match(/keurmerk=([^;]*)/)[1].split('.'); \
           v[2] = String(Math.floor(Date.now() / 1000) - {days} * 86400); \
           document.cookie = 'keurmerk=' + v.join('.') + ';path=/'; return true; }})()"
    );
    let _: bool = eval(page, &js).await?;
    Ok(())
}

/// The purposes the banner asks for (its second paragraph).
async fn asked(page: &chromiumoxide::Page) -> Result<String> {
    wait_for(page, "document.querySelector('.km-banner')", T).await?;
    eval(page, "document.querySelector('#km-bd p:nth-child(2)').textContent").await
}

async fn no_banner(page: &chromiumoxide::Page) -> Result<bool> {
    wait_for(page, "document.readyState === 'complete'", T).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    eval(page, "!document.querySelector('.km-banner')").await
}

/// A refusal is not asked again for the configuration's `refusal_months`
/// (six by default, even where `expiry_days` is shorter; more when the site
/// says so): not for a new service of the refused purpose either. A purpose
/// added since is asked, on its own, and so is a grant that lapsed.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_remembered_and_only_new_purposes_ask() -> Result<()> {
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
    assert!(no_banner(&page).await?, "asked again after a wording change");

    // A new service of a refused purpose: the same purpose, not asked again.
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
    site.state.set_config(c.clone());
    goto(&page, &site.url("index.html")).await?;
    assert!(no_banner(&page).await?, "asked again for a refused purpose");
    assert!(!eval::<bool>(&page, "keurmerk.accepted('analytics')").await?);

    // A new purpose: asked, and only it; "Accept all" grants only it.
    c.categories.push(Category {
        id: "social".into(),
        required: false,
        gpc_opt_out: false,
        labels: [(
            "en".to_string(),
            Label {
                title: "Social media".into(),
                description: "Share buttons and embedded posts.".into(),
            },
        )]
        .into(),
    });
    site.state.set_config(c.clone());
    goto(&page, &site.url("index.html")).await?;
    assert_eq!(asked(&page).await?, "We ask permission for: Social media.");
    click(&page, ".km-banner [data-km=accept]").await?;
    wait_for(&page, "keurmerk.receipt() && keurmerk.receipt().index === 1", T).await?;
    let d = &site.state.decisions()[1];
    assert_eq!(d["method"], "custom", "{d}");
    assert_eq!(
        d["categories"],
        serde_json::json!({"necessary": true, "preferences": false, "analytics": false, "marketing": false, "social": true}),
        "{d}"
    );
    let state: Value = eval(&page, "[keurmerk.accepted('social'), keurmerk.accepted('marketing')]").await?;
    assert_eq!(state, serde_json::json!([true, false]));

    // 100 days on, with decisions lasting 30 days: the grant lapsed, the
    // refusals (younger than six months) stand. Only the grant is asked.
    c.expiry_days = 30;
    site.state.set_config(c.clone());
    age_decision(&page, 100).await?;
    goto(&page, &site.url("index.html")).await?;
    assert_eq!(asked(&page).await?, "We ask permission for: Social media.");
    settle_then_count(&trackers, 0).await?;
    click(&page, ".km-banner [data-km=reject]").await?;
    wait_for(&page, "keurmerk.receipt() && keurmerk.receipt().index === 2", T).await?;
    assert_eq!(site.state.decisions()[2]["method"], "reject_all");

    // Past six months (190 days > 184, the longest six months): asked again.
    age_decision(&page, 190).await?;
    goto(&page, &site.url("index.html")).await?;
    assert_eq!(
        asked(&page).await?,
        "We ask permission for: Preferences, Analytics, Marketing, Social media."
    );
    click(&page, ".km-banner [data-km=reject]").await?;
    wait_for(&page, "!document.querySelector('.km-banner')", T).await?;

    // A site may remember refusals longer: 12 months.
    c.refusal_months = 12;
    site.state.set_config(c.clone());
    age_decision(&page, 300).await?;
    goto(&page, &site.url("index.html")).await?;
    assert!(
        no_banner(&page).await?,
        "a refusal of 300 days ago asked again with 12 months"
    );
    age_decision(&page, 370).await?;
    goto(&page, &site.url("index.html")).await?;
    asked(&page).await?;
    chrome.close().await;
    Ok(())
}

/// Nothing reached a tracker beyond `n` requests (after letting late ones land).
async fn settle_then_count(trackers: &Trackers, n: usize) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(400)).await;
    let hits: Vec<_> = trackers
        .hits()
        .into_iter()
        .filter(|h| !h.path.starts_with("/gtag/js") && !h.path.starts_with("/tr?id=123&ev=PageView"))
        .collect();
    anyhow::ensure!(hits.len() <= n, "tracker requests: {hits:?}");
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

/// With `cookie_domain` set, one decision holds for the site's subdomains
/// (`www.` and `shop.` of one domain, both mapped to the site's server by
/// `--host-resolver-rules`): given on one, in force on the other, and
/// withdrawn there for both. Without it, each host asks on its own.
#[tokio::test(flavor = "multi_thread")]
async fn one_decision_across_the_sites_subdomains() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let (www, shop) = ("www.keurmerk.test", "shop.keurmerk.test");
    let url = |host: &str, page: &str| format!("http://{host}/demo/{page}");
    let mut c = demo_config();
    c.cookie_domain = Some("keurmerk.test".into());
    site.state.set_config(c.clone());
    let browser = || {
        let mut l = launch(&site, &trackers, "en");
        l.hosts.push((www.into(), site.addr));
        l.hosts.push((shop.into(), site.addr));
        l
    };
    let chrome = Chromium::launch(browser()).await?;
    let page = chrome.page(&url(www, "index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    click(&page, "[data-km=accept]").await?;
    wait_for(&page, "keurmerk.receipt()", T).await?;
    let time: u64 = eval(&page, "keurmerk.decision().time").await?;

    goto(&page, &url(shop, "product.html")).await?;
    assert!(no_banner(&page).await?, "the shop asked again");
    let state: Value = eval(
        &page,
        "[keurmerk.accepted('marketing'), keurmerk.decision().time, document.cookie.split('; ').filter(c => c.startsWith('keurmerk=')).length]",
    )
    .await?;
    assert_eq!(state, serde_json::json!([true, time, 1]));
    wait_for(&page, "(window.__ran || []).some(r => r.includes('gtag/js'))", T).await?;

    // Withdrawn on the shop: withdrawn on www too.
    open_dialog(&page, ".km-reopen", T).await?;
    click(&page, ".km-dlg [data-km=reject]").await?;
    wait_for(&page, "!keurmerk.accepted('marketing')", T).await?;
    goto(&page, &url(www, "index.html")).await?;
    assert!(no_banner(&page).await?);
    let state: Value = eval(
        &page,
        "[keurmerk.accepted('marketing'), keurmerk.accepted('analytics')]",
    )
    .await?;
    assert_eq!(state, serde_json::json!([false, false]));
    chrome.close().await;

    // Without a cookie domain the decision is the host's alone.
    c.cookie_domain = None;
    site.state.set_config(c);
    let chrome = Chromium::launch(browser()).await?;
    let page = chrome.page(&url(www, "index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    click(&page, "[data-km=accept]").await?;
    wait_for(&page, "keurmerk.receipt()", T).await?;
    goto(&page, &url(shop, "index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    chrome.close().await;
    Ok(())
}
