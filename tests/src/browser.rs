//! Headless Chromium (the system's `/usr/bin/chromium`) driven over the
//! DevTools protocol, with chosen host names mapped to loopback servers via
//! `--host-resolver-rules`, so real tracker URLs reach our fake trackers and
//! nothing ever leaves the machine.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::Page;
use futures::StreamExt;
use serde::de::DeserializeOwned;

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How to start the browser.
pub struct Launch {
    /// Host name -> loopback address it resolves to.
    pub hosts: Vec<(String, SocketAddr)>,
    /// The browser's language list, e.g. `"de,en"` (sets `navigator.languages`).
    pub lang: String,
}

impl Default for Launch {
    fn default() -> Self {
        Launch {
            hosts: Vec::new(),
            lang: "en-GB,en".into(),
        }
    }
}

pub struct Chromium {
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    pub async fn launch(opts: Launch) -> Result<Self> {
        let profile = tempfile::tempdir()?;
        // Every other name fails to resolve: a request that escapes the map
        // errors instead of going to the internet.
        let mut rules: Vec<String> = opts.hosts.iter().map(|(h, a)| format!("MAP {h} {a}")).collect();
        rules.push("MAP * ~NOTFOUND".into());
        // Except loopback IP literals: tests may serve a site and the consent
        // server on two 127.0.0.1 ports (two origins) without names.
        rules.push("EXCLUDE 127.0.0.1".into());
        let config = BrowserConfig::builder()
            .chrome_executable(CHROMIUM)
            .no_sandbox()
            .user_data_dir(profile.path())
            // chromiumoxide adds the leading `--` itself.
            .args([
                "headless".to_string(),
                "disable-gpu".into(),
                "disable-background-networking".into(),
                "disable-component-update".into(),
                "disable-sync".into(),
                // Frames (the dashboard's sandboxed preview) in their page's
                // renderer: chromiumoxide reaches a frame through its page
                // only when it is not a separate out-of-process target,
                // which site isolation otherwise makes of it on some runs.
                // The sandbox and the frame's opaque origin stay as they are.
                "disable-features=IsolateSandboxedIframes".into(),
                "disable-site-isolation-trials".into(),
                "no-first-run".into(),
                // The fake trackers' self-signed certificate (loopback only).
                "ignore-certificate-errors".into(),
                format!("host-resolver-rules={}", rules.join(", ")),
                format!("lang={}", opts.lang),
                format!("accept-lang={}", opts.lang),
            ])
            .window_size(1280, 900)
            .build()
            .map_err(anyhow::Error::msg)?;
        let (browser, mut handler) = Browser::launch(config).await.context("launching chromium")?;
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Chromium {
            browser,
            handler,
            _profile: profile,
        })
    }

    pub async fn page(&self, url: &str) -> Result<Page> {
        Ok(self.browser.new_page(url).await?)
    }

    /// A blank page, for installing init scripts before the first navigation.
    pub async fn blank(&self) -> Result<Page> {
        self.page("about:blank").await
    }

    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
    }
}

/// Evaluates `js` in the page (awaiting a promise result) and deserialises it.
pub async fn eval<T: DeserializeOwned>(page: &Page, js: &str) -> Result<T> {
    let res = page.evaluate(js).await.with_context(|| format!("evaluating {js}"))?;
    Ok(res.into_value()?)
}

/// Polls `condition` (a JS expression) until it is true.
pub async fn wait_for(page: &Page, condition: &str, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        if eval::<bool>(page, &format!("!!({condition})")).await.unwrap_or(false) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {condition}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Activates `opener` (the banner's Preferences button, the reopen control,
/// a `data-consent-open` link) and waits until the preferences dialog is open.
pub async fn open_dialog(page: &Page, opener: &str, timeout: Duration) -> Result<()> {
    click(page, opener).await?;
    wait_for(
        page,
        "document.querySelector('.km-dlg') && document.querySelector('.km-dlg').open",
        timeout,
    )
    .await
}

/// Navigates and waits for the load event.
pub async fn goto(page: &Page, url: &str) -> Result<()> {
    page.goto(url).await?;
    page.wait_for_navigation().await?;
    Ok(())
}

/// Clicks the element `selector` through the DOM (as a keyboard or pointer
/// activation would), failing when it is absent.
pub async fn click(page: &Page, selector: &str) -> Result<()> {
    let sel = serde_json::to_string(selector)?;
    let ok: bool = eval(
        page,
        &format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return false; e.click(); return true; }})()"
        ),
    )
    .await?;
    if !ok {
        bail!("no element {selector}");
    }
    Ok(())
}

/// Browser tests in one test binary take turns: several Chromiums at once on
/// a small machine make timings flaky without testing anything more.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
