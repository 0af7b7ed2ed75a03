//! The vendors' own consent switches in a real Chromium: besides Consent
//! Mode, the loader tells Meta (`fbq('consent', …)`), TikTok
//! (`ttq.grantConsent()` / `revokeConsent()`), Microsoft UET (`uetq.push(
//! 'consent', 'update', …)`) and Microsoft Clarity (`clarity('consentv2',
//! …)`) the state of their purpose, once per change, and only when the
//! vendor's global is on the page. The page's stubs record each call.

use std::time::Duration;

use anyhow::Result;
use consent_core::config::Service;
use e2e::browser::{Chromium, click, eval, exclusive, goto, open_dialog, wait_for};
use e2e::widget_site::{SiteServer, Trackers, demo_config, launch};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

/// The page's stand-ins for the vendors' globals, defined before any other
/// script; `?broken` gives globals that throw or are not functions.
const STUBS: &str = r#"
window.__calls = [];
window.__errors = [];
addEventListener('error', e => __errors.push(String(e.message)));
const rec = n => function () { __calls.push([n].concat(Array.from(arguments))); };
if (location.search === '?broken') {
  window.fbq = function () { throw new Error('fbq broke'); };
  window.ttq = {};
  window.uetq = 1;
  window.clarity = 'not a function';
} else if (location.search !== '?none') {
  window.fbq = rec('fbq');
  window.ttq = { grantConsent: rec('ttq.grantConsent'), revokeConsent: rec('ttq.revokeConsent') };
  window.uetq = { push: rec('uetq.push') };
  window.clarity = rec('clarity');
}
"#;

fn service(id: &str, category: &str, provider: &str, host: &str) -> Service {
    Service {
        id: id.into(),
        name: id.into(),
        category: category.into(),
        provider: provider.into(),
        privacy_policy_url: None,
        hosts: vec![host.into()],
        cookies: vec![],
        description: Default::default(),
    }
}

/// The calls recorded since `from`, waiting until there are `n`.
async fn calls(page: &chromiumoxide::Page, from: usize, n: usize) -> Result<Vec<Value>> {
    wait_for(page, &format!("__calls.length >= {}", from + n), T).await?;
    // Any extra call (a repeat) would show up in this time.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all: Vec<Value> = eval(page, "__calls").await?;
    Ok(all[from..].to_vec())
}

fn expect(on_marketing: bool, on_analytics: bool) -> Vec<Value> {
    let g = |on: bool| if on { "granted" } else { "denied" };
    vec![
        json!(["fbq", "consent", if on_marketing { "grant" } else { "revoke" }]),
        json!([if on_marketing {
            "ttq.grantConsent"
        } else {
            "ttq.revokeConsent"
        }]),
        json!(["uetq.push", "consent", "update", {"ad_storage": g(on_marketing)}]),
        json!(["clarity", "consentv2", {"ad_Storage": g(on_marketing && on_analytics), "analytics_Storage": g(on_analytics)}]),
    ]
}

/// The calls in the loader's order (by vendor global, as the rules list
/// them), for comparing regardless of order.
fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|c| c.to_string());
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn vendors_consent_apis_follow_each_decision() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let mut c = demo_config();
    c.services.push(service(
        "tiktok",
        "marketing",
        "TikTok Technology",
        "analytics.tiktok.com",
    ));
    c.services
        .push(service("bing", "marketing", "Microsoft Ireland", "bat.bing.com"));
    c.services
        .push(service("clarity", "analytics", "Microsoft Ireland", "*.clarity.ms"));
    site.state.set_config(c);
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.blank().await?;
    page.evaluate_on_new_document(STUBS).await?;
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;

    // Before any decision: each vendor is told "no".
    let first = calls(&page, 0, 4).await?;
    assert_eq!(sorted(first), sorted(expect(false, false)));

    // Accept all: each is told "yes", once.
    click(&page, "[data-km=accept]").await?;
    let granted = calls(&page, 4, 4).await?;
    assert_eq!(sorted(granted), sorted(expect(true, true)));
    let n: usize = eval(&page, "__calls.length").await?;
    assert_eq!(n, 8, "each state told once");

    // Marketing withdrawn: Meta, TikTok and UET are told "no"; Clarity keeps
    // analytics but loses ad storage.
    wait_for(&page, "keurmerk.receipt()", T).await?;
    open_dialog(&page, ".km-reopen", T).await?;
    click(&page, "#km-c-marketing").await?;
    click(&page, ".km-dlg [data-km=save]").await?;
    let withdrawn = calls(&page, 8, 4).await?;
    assert_eq!(sorted(withdrawn), sorted(expect(false, true)));

    // Every page load tells the state in force.
    goto(&page, &site.url("product.html")).await?;
    let again = calls(&page, 0, 4).await?;
    assert_eq!(sorted(again), sorted(expect(false, true)));

    // Globals that throw or are not functions: nothing is thrown at the
    // page, and the loader carries on (Consent Mode, the reopen control).
    for q in ["?broken", "?none"] {
        goto(&page, &site.url(&format!("product.html{q}"))).await?;
        wait_for(&page, "document.querySelector('.km-reopen')", T).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let state: Value = eval(
            &page,
            "({errors: __errors, calls: __calls.length, update: dataLayer.some(a => a[0] === 'consent' && a[1] === 'update')})",
        )
        .await?;
        assert_eq!(state, json!({"errors": [], "calls": 0, "update": true}), "{q}");
    }
    chrome.close().await;
    Ok(())
}
