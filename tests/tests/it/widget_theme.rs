//! A site's theme (`consent_core::config::Theme`) in a real Chromium: the
//! loader adds its CSS to the widget's constructed stylesheet, so the
//! server-rendered banner and the wasm's preferences dialog both show the
//! site's colours, radius and position, under the page's own CSS.

use std::time::Duration;

use anyhow::Result;
use consent_core::config::{Position, Theme};
use e2e::browser::{Chromium, eval, exclusive, open_dialog, wait_for};
use e2e::widget_site::{SiteServer, Trackers, demo_config, launch};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn the_banner_and_the_dialog_wear_the_sites_theme() -> Result<()> {
    let _turn = exclusive().await;
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;
    let mut config = demo_config();
    config.theme = Theme {
        accent: Some("#7a0019".into()),
        accent_text: Some("#ffffff".into()),
        background: Some("#fffdf5".into()),
        text: Some("#1a1a1a".into()),
        radius_px: Some(0),
        position: Position::Top,
    };
    config.validate().expect("a valid theme");
    site.state.set_config(config);
    let chrome = Chromium::launch(launch(&site, &trackers, "en-GB,en")).await?;
    let page = chrome.page(&site.url("index.html")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;

    let look = |selector: &str| {
        format!(
            "(() => {{ const b = document.querySelector({sel}), s = getComputedStyle(b), a = getComputedStyle(b.querySelector('[data-km=accept]'));
                      return [s.backgroundColor, s.color, s.borderTopLeftRadius, a.backgroundColor, a.color]; }})()",
            sel = serde_json::to_string(selector).unwrap()
        )
    };
    let themed = json!([
        "rgb(255, 253, 245)",
        "rgb(26, 26, 26)",
        "0px",
        "rgb(122, 0, 25)",
        "rgb(255, 255, 255)"
    ]);
    let banner: Value = eval(&page, &look(".km-banner")).await?;
    assert_eq!(banner, themed, "the first layer");
    // At the top, not the bottom.
    let top: f64 = eval(
        &page,
        "document.querySelector('.km-banner').getBoundingClientRect().top",
    )
    .await?;
    let bottom_gap: f64 = eval(
        &page,
        "innerHeight - document.querySelector('.km-banner').getBoundingClientRect().bottom",
    )
    .await?;
    assert!(top < 40.0 && bottom_gap > 40.0, "top {top}, gap below {bottom_gap}");

    open_dialog(&page, "[data-km=prefs]", T).await?;
    let dialog: Value = eval(&page, &look(".km-dlg")).await?;
    assert_eq!(dialog, themed, "the preferences dialog");

    // The page's own CSS on .km-root still wins over the configuration's.
    let own: Value = eval(
        &page,
        "(() => { const s = new CSSStyleSheet(); s.replaceSync('.km-root{--km-accent:#004400}');
                  document.adoptedStyleSheets = [s, ...document.adoptedStyleSheets];
                  return getComputedStyle(document.querySelector('.km-dlg [data-km=accept]')).backgroundColor; })()",
    )
    .await?;
    assert_eq!(own, "rgb(0, 68, 0)");
    chrome.close().await;
    Ok(())
}
