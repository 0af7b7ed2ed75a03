//! Accessibility and CSP in a real Chromium: axe-core (from the npm registry,
//! tools/node_modules) finds zero violations on the banner and the dialog;
//! the dialog takes focus, keeps it (Tab and Shift+Tab wrap around) and
//! closes on Escape; the banner fits a 320 px screen; the widget works under
//! a strict nonce-based CSP.

use std::time::Duration;

use anyhow::{Context, Result};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType};
use e2e::browser::{Chromium, click, eval, exclusive, goto, open_dialog, wait_for};
use e2e::widget_site::{SiteServer, Trackers, launch, repo_root};
use serde_json::Value;

const T: Duration = Duration::from_secs(10);

/// Runs axe-core on `selector` and returns the violations as readable lines.
async fn axe(page: &chromiumoxide::Page, selector: &str) -> Result<Vec<String>> {
    let installed: bool = eval(page, "typeof axe !== 'undefined'").await?;
    if !installed {
        let src = std::fs::read_to_string(repo_root().join("tools/node_modules/axe-core/axe.min.js"))
            .context("axe-core missing: run scripts/setup")?;
        page.evaluate(src).await?;
    }
    let sel = serde_json::to_string(selector)?;
    eval(
        page,
        &format!(
            "axe.run(document.querySelector({sel}), {{ runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] }})
               .then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn banner_and_dialog_have_no_axe_violations_and_work_by_keyboard() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "nl-NL,nl")).await?;
    let page = chrome.page(&site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    // Let the fade-in finish so colours are measured as the visitor sees them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Who receives the data, on the first layer: each company once.
    let to: String = eval(&page, "document.querySelector('.km-banner .km-to').textContent").await?;
    assert_eq!(
        to,
        "Ontvangers van de gegevens: Meta Platforms Ireland, Google Ireland."
    );
    let v = axe(&page, ".km-banner").await?;
    assert!(v.is_empty(), "banner: {v:#?}");
    let focus: bool = eval(&page, "document.activeElement.classList.contains('km-banner')").await?;
    assert!(focus, "focus moves to the banner");
    // Accept and Reject carry equal weight: same class, same size.
    let same: Value = eval(
        &page,
        "(() => { const a = document.querySelector('.km-banner [data-km=accept]'), r = document.querySelector('.km-banner [data-km=reject]');
                  const ca = getComputedStyle(a), cr = getComputedStyle(r);
                  return [a.className === r.className, a.offsetHeight === r.offsetHeight, ca.backgroundColor === cr.backgroundColor, ca.fontWeight === cr.fontWeight]; })()",
    )
    .await?;
    assert_eq!(same, serde_json::json!([true, true, true, true]));

    // The dialog is in a second build of the module, fetched only when the
    // visitor asks for it; that one then takes the UI over.
    let prefs = "performance.getEntriesByType('resource').some(e => e.name.includes('/widget/prefs'))";
    let fetched: bool = eval(&page, prefs).await?;
    assert!(!fetched, "the dialog's module is not part of the first visit");
    open_dialog(&page, "[data-km=prefs]", T).await?;
    let ui: Value = eval(
        &page,
        &format!(
            "[document.querySelectorAll('.km-root').length, document.querySelectorAll('.km-banner').length, {prefs}]"
        ),
    )
    .await?;
    assert_eq!(ui, serde_json::json!([1, 1, true]), "one UI, the dialog module's");
    // Open every service list so axe checks the cookie tables too.
    let _: bool = eval(
        &page,
        "(document.querySelectorAll('.km-dlg details').forEach(d => d.open = true), true)",
    )
    .await?;
    let v = axe(&page, ".km-dlg").await?;
    assert!(v.is_empty(), "dialog: {v:#?}");
    let unticked: bool = eval(
        &page,
        "[...document.querySelectorAll('.km-dlg input[type=checkbox]:not([disabled])')].every(i => !i.checked)",
    )
    .await?;
    assert!(unticked, "no pre-ticked boxes");
    let locked: bool = eval(
        &page,
        "document.getElementById('km-c-necessary').disabled && document.getElementById('km-c-necessary').checked",
    )
    .await?;
    assert!(locked, "necessary is locked on");

    // Keyboard: focus stays inside the modal dialog, Escape closes it.
    let dlg = page.find_element(".km-dlg").await?;
    for _ in 0..25 {
        dlg.press_key("Tab").await?;
        let inside: bool = eval(
            &page,
            "document.querySelector('.km-dlg').contains(document.activeElement)",
        )
        .await?;
        assert!(inside, "focus left the dialog");
    }
    // Shift+Tab on the first control wraps to the last one (a real key with
    // the Shift modifier, handled by the widget's `tab`).
    let _: bool = eval(&page, "(document.querySelector('.km-dlg .km-x').focus(), true)").await?;
    for kind in [DispatchKeyEventType::KeyDown, DispatchKeyEventType::KeyUp] {
        let key = DispatchKeyEventParams::builder()
            .r#type(kind)
            .key("Tab")
            .code("Tab")
            .windows_virtual_key_code(9)
            .modifiers(8) // Shift
            .build()
            .map_err(anyhow::Error::msg)?;
        page.execute(key).await?;
    }
    let wrapped: bool = eval(
        &page,
        "(() => { const all = document.querySelectorAll('.km-dlg :is(button,summary,a[href],input:not([disabled]))');
                  return document.activeElement === all[all.length - 1]; })()",
    )
    .await?;
    assert!(wrapped, "Shift+Tab on the first control moves to the last");
    // Nothing decided yet: the download says so in the dialog's live region.
    click(&page, ".km-dlg [data-km=receipt]").await?;
    let nl: Value = serde_json::from_str(&std::fs::read_to_string(
        repo_root().join("consent-widget/i18n/nl.json"),
    )?)?;
    let status = serde_json::to_string(&nl["no_receipt"])?;
    wait_for(
        &page,
        &format!("document.querySelector('.km-dlg .km-status').textContent === {status}"),
        T,
    )
    .await?;
    dlg.press_key("Escape").await?;
    wait_for(&page, "!document.querySelector('.km-dlg').open", T).await?;
    // Still undecided: the banner stays.
    assert!(eval::<bool>(&page, "!!document.querySelector('.km-banner')").await?);

    // 320 px wide (WCAG reflow): nothing scrolls sideways.
    page.execute(SetDeviceMetricsOverrideParams::new(320, 640, 1.0, true))
        .await?;
    goto(&page, &site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    let fits: Value = eval(
        &page,
        "(() => { const b = document.querySelector('.km-banner').getBoundingClientRect(), t = document.querySelector('.km-banner .km-to').getBoundingClientRect();
                  return [b.left >= 0, b.right <= 320, t.right <= b.right, document.documentElement.scrollWidth <= 320]; })()",
    )
    .await?;
    assert_eq!(fits, serde_json::json!([true, true, true, true]));
    chrome.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn works_under_a_strict_csp_with_nonce() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let page = chrome.page(&site.url("csp.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    // Styled by the loader's constructed stylesheet, which the policy
    // (no 'unsafe-inline' styles) allows.
    let styled: bool = eval(
        &page,
        "getComputedStyle(document.querySelector('.km-banner')).position === 'fixed'",
    )
    .await?;
    assert!(styled, "the banner's stylesheet applies under the CSP");
    click(&page, "[data-km=accept]").await?;
    // The held inline and external scripts run, re-created with the nonce.
    wait_for(
        &page,
        "(window.__ran || []).includes('inline-analytics') && (window.__ran || []).some(r => r.includes('fbevents.js'))",
        T,
    )
    .await?;
    wait_for(&page, "window.__tmDone", T).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let violations: Vec<String> = eval(&page, "window.__csp").await?;
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
    chrome.close().await;
    Ok(())
}
