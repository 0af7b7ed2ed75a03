//! The dashboard's live preview in a real Chromium against the real
//! `consent-server` binary: a version restored as the draft is what the
//! sandboxed frame shows, through the real loader and wasm widget; the
//! language and layer links switch it (the banner's text in that language,
//! the preferences dialog open); "Accept all" in the frame takes effect
//! there and records nothing: the public log's size does not move (and does
//! for a real decision made afterwards, so the measure would have seen one).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chromiumoxide::Page;
use chromiumoxide::browser::BrowserConfig;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use e2e::browser::{CHROMIUM, eval, exclusive, goto, wait_for};
use e2e::widget_site::{consent_server_bin, repo_root};
use e2e::{AdminSession, ServerProcess, http_request};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::json;

const T: Duration = Duration::from_secs(20);

/// Chromium as `e2e::browser::Chromium` starts it (no network beyond
/// loopback, English), except that a sandboxed frame stays in its parent's
/// renderer: Chromium otherwise gives sandboxed frames a process of their
/// own (its `IsolateSandboxedIframes` feature), which the page's DevTools
/// session does not reach. The sandbox itself (an opaque origin) is the same.
struct Browser {
    browser: chromiumoxide::Browser,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn launch_in_process_frames() -> Result<Self> {
        let profile = tempfile::tempdir()?;
        // chromiumoxide's own default arguments, given here (its builder
        // keeps arguments in a hash map: a second `disable-features` would
        // land before or after its own at random, and the last one counts).
        let config = BrowserConfig::builder()
            .chrome_executable(CHROMIUM)
            .no_sandbox()
            .user_data_dir(profile.path())
            .disable_default_args()
            .args([
                "headless",
                "disable-gpu",
                "disable-background-networking",
                "disable-background-timer-throttling",
                "disable-backgrounding-occluded-windows",
                "disable-breakpad",
                "disable-client-side-phishing-detection",
                "disable-component-extensions-with-background-pages",
                "disable-component-update",
                "disable-default-apps",
                "disable-dev-shm-usage",
                "disable-features=TranslateUI,IsolateSandboxedIframes",
                "disable-hang-monitor",
                "disable-ipc-flooding-protection",
                "disable-popup-blocking",
                "disable-prompt-on-repost",
                "disable-renderer-backgrounding",
                "disable-sync",
                "metrics-recording-only",
                "no-first-run",
                "enable-automation",
                "password-store=basic",
                "use-mock-keychain",
                "host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "lang=en-GB,en",
                "accept-lang=en-GB,en",
            ])
            .window_size(1280, 900)
            .build()
            .map_err(anyhow::Error::msg)?;
        let (browser, mut handler) = chromiumoxide::Browser::launch(config)
            .await
            .context("launching chromium")?;
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Browser {
            browser,
            handler,
            _profile: profile,
        })
    }

    async fn page(&self, url: &str) -> Result<Page> {
        Ok(self.browser.new_page(url).await?)
    }

    async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
    }
}

/// A page of `chrome` logged in to the dashboard as the admin, by the form.
async fn log_in(chrome: &Browser, server: &ServerProcess) -> Result<Page> {
    let page = chrome.page(&format!("{}/dashboard/login", server.base_url())).await?;
    wait_for(&page, "document.querySelector('input[name=password]')", T).await?;
    let password = serde_json::to_string(&server.admin_password())?;
    let _: bool = eval(
        &page,
        &format!(
            "(document.querySelector('input[name=username]').value = 'admin',
              document.querySelector('input[name=password]').value = {password},
              document.querySelector('input[name=password]').form.submit(), true)"
        ),
    )
    .await?;
    wait_for(&page, "location.pathname === '/dashboard/'", T).await?;
    Ok(page)
}

/// Evaluates `js` in the preview's frame (the one document whose URL has
/// `/preview/frame`), once it has one; the sandboxed frame is an opaque
/// origin the dashboard's own page cannot reach into, the browser's
/// DevTools can.
async fn in_frame<R: DeserializeOwned>(page: &Page, js: &str) -> Result<R> {
    for frame in page.frames().await? {
        let url = page.frame_url(frame.clone()).await?.unwrap_or_default();
        if !url.contains("/preview/frame") {
            continue;
        }
        let Some(context) = page.frame_execution_context(frame).await? else {
            bail!("the frame has no execution context yet");
        };
        let params = EvaluateParams::builder()
            .expression(js)
            .context_id(context)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .map_err(anyhow::Error::msg)?;
        return Ok(page.evaluate_expression(params).await?.into_value()?);
    }
    let tree = page
        .execute(chromiumoxide::cdp::browser_protocol::page::GetFrameTreeParams::default())
        .await?;
    bail!("no preview frame in {:?}", tree.result.frame_tree)
}

/// Polls `condition` in the preview's frame until it is true.
async fn frame_waits_for(page: &Page, condition: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        if in_frame::<bool>(page, &format!("!!({condition})"))
            .await
            .unwrap_or(false)
        {
            return Ok(());
        }
        if start.elapsed() > T {
            let body: String = in_frame(page, "document.documentElement.outerHTML")
                .await
                .unwrap_or_else(|e| e.to_string());
            bail!("timed out waiting in the frame for {condition}: {body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The proof log's size, from its public checkpoint (second line).
async fn log_size(port: u16) -> Result<u64> {
    let res = http_request(port, "GET", "/api/v1/log/checkpoint", &[], None).await?;
    if res.status != 200 {
        return Ok(0);
    }
    res.body
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .context("a checkpoint's size")
}

/// Clicks the link `selector` of the dashboard's page and waits for the
/// page it leads to.
async fn follow(page: &Page, selector: &str) -> Result<()> {
    let sel = serde_json::to_string(selector)?;
    let href: String = eval(page, &format!("document.querySelector({sel}).href")).await?;
    goto(page, &href).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preview_shows_the_draft_by_language_and_layer_and_records_nothing() -> Result<()> {
    let _turn = exclusive().await;
    let bin = consent_server_bin()?;
    let widget = repo_root().join("consent-widget/dist");
    let server = ServerProcess::start_fresh(Path::new(&bin), &["--widget-dir", widget.to_str().context("path")?])?;
    let port = server.port();
    let admin = AdminSession::login(port, &server.admin_password()).await?;
    let origin = "https://shop.example";
    admin.site_with_key("shop", origin, &["decisions:read"]).await?;

    // Two versions: one with texts of its own, then the starter again; the
    // first restored as the draft (through the dashboard) is what the
    // preview shows, while visitors still get the starter.
    let published = http_request(port, "GET", "/api/v1/sites/shop/config", &[], None)
        .await?
        .json();
    let starter = published["config"].clone();
    let mut own = starter.clone();
    own["texts"] = json!({"en": {"title": "Preview title EN"}, "nl": {"title": "Voorbeeldtitel NL"}});
    let saved = admin.post("/api/v1/owner/sites/shop/configs", &own).await?;
    let draft_version = saved.json()["version"].as_str().context("a version")?.to_owned();
    admin.post("/api/v1/owner/sites/shop/configs", &starter).await?;

    let chrome = Browser::launch_in_process_frames().await?;
    let page = log_in(&chrome, &server).await?;
    goto(
        &page,
        &format!("{}/dashboard/sites/shop/versions/{draft_version}", server.base_url()),
    )
    .await?;
    let _: bool = eval(
        &page,
        "(document.querySelector('form[action$=\"/restore\"]').submit(), true)",
    )
    .await?;
    wait_for(&page, "location.pathname.endsWith('/publish')", T).await?;

    // The preview, in Dutch (the site's first language) at the banner.
    goto(&page, &format!("{}/dashboard/sites/shop/preview", server.base_url())).await?;
    let sandbox: String = eval(
        &page,
        "document.querySelector('iframe#preview').getAttribute('sandbox')",
    )
    .await?;
    assert_eq!(sandbox, "allow-scripts", "scripts, but no same origin");
    frame_waits_for(&page, "document.body.textContent.includes('Voorbeeldtitel NL')").await?;
    // The dashboard's page cannot read into the frame.
    let blocked: bool = eval(
        &page,
        "(() => { try { return document.querySelector('iframe#preview').contentDocument === null; } catch (e) { return true; } })()",
    )
    .await?;
    assert!(blocked, "the frame is not the dashboard's origin");

    // Switched to English by its link: the banner's text in English.
    follow(&page, "nav a[lang=en]").await?;
    frame_waits_for(&page, "document.body.textContent.includes('Preview title EN')").await?;
    let lang: String = in_frame(&page, "keurmerk.lang").await?;
    assert_eq!(lang, "en");

    // The preferences layer: the real dialog, open.
    follow(&page, "nav a[href*='layer=preferences']").await?;
    frame_waits_for(
        &page,
        "document.querySelector('.km-dlg') && document.querySelector('.km-dlg').open",
    )
    .await?;

    // Back to the banner; once the wasm listens, "Accept all".
    follow(&page, "nav a[href*='layer=banner']").await?;
    frame_waits_for(
        &page,
        "window.keurmerk && keurmerk._h === 1 && document.querySelector('[data-km=accept]')",
    )
    .await?;
    // Wait for a checkpoint to exist and settle before measuring.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = log_size(port).await?;
    let _: bool = in_frame(&page, "(document.querySelector('[data-km=accept]').click(), true)").await?;
    // The widget took the choice: the decision is in force in the frame.
    frame_waits_for(&page, "keurmerk.decision() && keurmerk.accepted('marketing')").await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(log_size(port).await?, before, "the preview recorded a decision");
    let decisions = admin.get("/api/v1/owner/sites/shop/decisions").await?;
    assert_eq!(decisions.status, 200, "{}", decisions.body);
    assert!(
        !decisions.body.contains("accept_all"),
        "no decision stored for the site: {}",
        decisions.body
    );

    // The measure works: a real decision moves the log.
    let version = http_request(port, "GET", "/api/v1/sites/shop/config", &[], None)
        .await?
        .json()["version"]
        .clone();
    let body = json!({"config_version": version, "method": "accept_all", "categories": {"analytics": true,
        "marketing": true, "preferences": true}, "language": "en", "page_path": "/"});
    let res = http_request(
        port,
        "POST",
        "/api/v1/sites/shop/decisions",
        &[("Origin", origin)],
        Some(&body),
    )
    .await?;
    assert_eq!(res.status, 201, "{}", res.body);
    let start = Instant::now();
    while log_size(port).await? <= before {
        if start.elapsed() > T {
            bail!("a real decision never reached the log");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    chrome.close().await;
    Ok(())
}
