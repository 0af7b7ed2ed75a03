//! The browser session: one Chromium per scan with a fresh profile, a
//! fresh browser context per page and consent state, and the drive through
//! one state (load, interact or operate the banner, reload under the choice).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::network::{
    EventRequestWillBeSent, EventResponseReceivedExtraInfo, Headers, SetCookieControlsParams, SetExtraHttpHeadersParams,
};
use chromiumoxide::cdp::browser_protocol::page::AddScriptToEvaluateOnNewDocumentParams;
use chromiumoxide::cdp::browser_protocol::storage::GetCookiesParams as StorageGetCookiesParams;
use chromiumoxide::cdp::browser_protocol::target::{CreateBrowserContextParams, CreateTargetParams};
use chromiumoxide::cdp::js_protocol::debugger::{EnableParams as DebuggerEnableParams, SetAsyncCallStackDepthParams};
use chromiumoxide::page::Page;
use futures::StreamExt;

use super::BrowserOptions;
use super::proxy::GuardProxy;
use super::recorder::{JarCookie, Recorder, apply_jar, collect_activity, collect_js, settle, storage_keys, unix_now};
use super::scripts::{self, evaluate};
use crate::guard::{Guard, Refused};
use crate::page::{ConsentState, Observations, PageVisit, Pass, Problem, ProblemKind};
use crate::pii::CanaryIdentity;

pub(super) struct Session {
    browser: tokio::sync::Mutex<Browser>,
    visits: std::sync::atomic::AtomicU32,
    handler: tokio::task::JoinHandle<()>,
    /// The SSRF guard's way out (none with `--allow-private-targets`).
    proxy: Option<GuardProxy>,
    _profile: tempfile::TempDir,
    /// The script that starts Chromium as `nobody`, when the scanner is root.
    _launcher: Option<Unprivileged>,
}

/// The user Chromium runs as when the scanner runs as root: `nobody`.
const NOBODY: u32 = 65534;

/// A launcher script that starts Chromium as [`NOBODY`] with the profile
/// handed over to that user; kept (in a directory of its own, root's) as
/// long as the session.
struct Unprivileged {
    script: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Unprivileged {
    fn prepare(chromium: &std::path::Path, profile: &std::path::Path) -> Result<Self, String> {
        use std::os::unix::fs::PermissionsExt;
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .ok_or("setpriv (util-linux) not found")?;
        // The profile becomes nobody's: Chromium writes to it.
        for entry in walk(profile) {
            std::os::unix::fs::chown(&entry, Some(NOBODY), Some(NOBODY))
                .map_err(|e| format!("{}: {e}", entry.display()))?;
        }
        let dir = tempfile::Builder::new()
            .prefix("keurmerk-launch-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let script = dir.path().join("chromium");
        let quote = |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nHOME={} exec {setpriv} --reuid={NOBODY} --regid={NOBODY} --clear-groups -- {} \"$@\"\n",
                quote(profile),
                quote(chromium)
            ),
        )
        .map_err(|e| e.to_string())?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
        Ok(Self { script, _dir: dir })
    }
}

/// `dir` and everything below it.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_owned()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

impl Session {
    pub(super) async fn launch(o: &BrowserOptions, guard: &Guard) -> Result<Self, String> {
        let profile = tempfile::Builder::new()
            .prefix("keurmerk-scan-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        // A fresh profile blocks third-party cookies; allow them so the scan
        // sees what a default desktop browser would store.
        let default = profile.path().join("Default");
        std::fs::create_dir_all(&default).map_err(|e| e.to_string())?;
        std::fs::write(
            default.join("Preferences"),
            r#"{"profile":{"cookie_controls_mode":0,"block_third_party_cookies":false}}"#,
        )
        .map_err(|e| e.to_string())?;
        // chromiumoxide writes each key as `--key[=value]`.
        let mut flags: Vec<&str> = vec![
            "headless",
            "disable-gpu",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
            "no-first-run",
            "disable-default-apps",
            "disable-client-side-phishing-detection",
            "disable-domain-reliability",
            "disable-breakpad",
            "metrics-recording-only",
            "mute-audio",
            "hide-scrollbars",
            "use-mock-keychain",
            // One process for all frames, so iframe traffic reaches our
            // session. With `--site-per-process` a cross-site iframe is its
            // own CDP target, which chromiumoxide does not expose, and the
            // pixels it fires would go unrecorded (the test
            // `a_pixel_inside_a_cross_site_iframe_is_recorded` shows it).
            // The SSRF guard does not depend on it: the proxy sees every
            // process's connections.
            "disable-site-isolation-trials",
        ];
        if o.insecure_tls {
            flags.push("ignore-certificate-errors");
        }
        let mut values: Vec<(&str, &str)> = vec![("password-store", "basic")];
        values.push((
            "disable-features",
            "IsolateOrigins,site-per-process,AutofillServerCommunication,OptimizationHints,MediaRouter,Translate,\
             HttpsUpgrades,TrackingProtection3pcd",
        ));
        if let Some(r) = &o.host_resolver_rules {
            values.push(("host-resolver-rules", r));
        }
        // The SSRF guard: every connection Chromium makes goes through the
        // guard's proxy, which resolves and checks the host itself. Chromium
        // connects to loopback directly unless told `<-loopback>`; WebRTC
        // may not send UDP around the proxy; QUIC cannot go through SOCKS
        // and is switched off so nothing tries.
        let proxy = match guard.allows_private() {
            true => None,
            false => Some(GuardProxy::start(guard.clone()).await.map_err(|e| e.to_string())?),
        };
        let proxy_url = proxy.as_ref().map(GuardProxy::url);
        if let Some(p) = &proxy_url {
            values.push(("proxy-server", p));
            values.push(("proxy-bypass-list", "<-loopback>"));
            values.push(("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"));
            flags.push("disable-quic");
        }
        // Chromium refuses its sandbox to root. Rather than run a browser
        // that renders hostile pages unsandboxed, a scanner running as root
        // starts it as `nobody` (util-linux's setpriv drops the user, groups
        // and with them every capability), where Chromium's namespace
        // sandbox works. Only without setpriv does it fall back to
        // `--no-sandbox`, and says so.
        let launcher = if running_as_root() {
            match Unprivileged::prepare(&o.chromium, profile.path()) {
                Ok(l) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "Chromium runs without its sandbox: it cannot be started as an unprivileged user");
                    None
                }
            }
        } else {
            None
        };
        let executable = launcher.as_ref().map_or(o.chromium.as_path(), |l| l.script.as_path());
        let mut cfg = BrowserConfig::builder()
            .chrome_executable(executable)
            .disable_default_args()
            .user_data_dir(profile.path())
            .launch_timeout(Duration::from_secs(20))
            .request_timeout(o.page_timeout)
            .args(flags)
            .args(values);
        if !o.insecure_tls {
            cfg = cfg.respect_https_errors();
        }
        if running_as_root() && launcher.is_none() {
            cfg = cfg.no_sandbox();
        }
        let cfg = cfg.build()?;
        let (browser, mut handler) = Browser::launch(cfg).await.map_err(|e| e.to_string())?;
        let handler = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                if event.is_err() {
                    // Unknown or malformed CDP messages are not fatal.
                    continue;
                }
            }
        });
        Ok(Session {
            browser: tokio::sync::Mutex::new(browser),
            visits: std::sync::atomic::AtomicU32::new(0),
            handler,
            proxy,
            _profile: profile,
            _launcher: launcher,
        })
    }

    /// Destinations the guard refused, with the reason (host, port).
    pub(super) fn refusals(&self) -> Vec<((String, u16), Refused)> {
        self.proxy.as_ref().map(GuardProxy::refusals).unwrap_or_default()
    }

    pub(super) async fn close(self) {
        let mut b = self.browser.lock().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), b.close()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), b.wait()).await;
        if let Some(Err(e)) = b.kill().await {
            tracing::debug!("chromium already gone: {e}");
        }
        drop(b);
        self.handler.abort();
    }

    pub(super) async fn visit(&self, url: &url::Url, canary: &CanaryIdentity, o: &BrowserOptions) -> Observations {
        let (a, b, c, d) = tokio::join!(
            self.state_run(url, None, false, canary, o),
            self.state_run(url, Some(false), false, canary, o),
            self.state_run(url, Some(true), false, canary, o),
            async {
                match o.gpc {
                    true => Some(self.state_run(url, None, true, canary, o).await),
                    false => None,
                }
            },
        );
        let mut obs = Observations::default();
        let runs = [
            (None, false, Some(a)),
            (Some(false), false, Some(b)),
            (Some(true), false, Some(c)),
            (None, true, d),
        ];
        for (choice, gpc, r) in runs {
            match r {
                None => {}
                Some(Ok(x)) => obs.extend(x),
                Some(Err(e)) => obs.problems.push(Problem {
                    url: url.to_string(),
                    kind: ProblemKind::Browser,
                    reason: format!("browser pass ({}) failed on {url}: {e}", run_name(choice, gpc)),
                }),
            }
        }
        // The no-interaction run stands for the page in the page list.
        obs.pages.truncate(1);
        obs
    }

    async fn state_run(
        &self,
        url: &url::Url,
        choice: Option<bool>,
        gpc: bool,
        canary: &CanaryIdentity,
        o: &BrowserOptions,
    ) -> Result<Observations, String> {
        let (ctx, page) = {
            let b = self.browser.lock().await;
            let ctx = b
                .create_browser_context(CreateBrowserContextParams::default())
                .await
                .map_err(|e| e.to_string())?;
            let params = CreateTargetParams::builder()
                .url("about:blank")
                .browser_context_id(ctx.clone())
                .build()
                .map_err(|e| e.to_string())?;
            let page = b.new_page(params).await.map_err(|e| e.to_string())?;
            (ctx, page)
        };
        let mut result = self.drive(&page, url, choice, gpc, canary, o).await;
        let b = self.browser.lock().await;
        if let Ok(obs) = &mut result {
            // The context's cookie jar: what the browser really keeps, with
            // its own expiry (Chromium caps lifetimes at 400 days and
            // resolves Max-Age/Expires itself).
            let params = StorageGetCookiesParams::builder()
                .browser_context_id(ctx.clone())
                .build();
            match tokio::time::timeout(Duration::from_secs(5), b.execute(params)).await {
                Ok(Ok(jar)) => {
                    let jar: Vec<JarCookie> = jar
                        .result
                        .cookies
                        .iter()
                        .map(|c| JarCookie {
                            name: c.name.clone(),
                            domain: c.domain.clone(),
                            path: c.path.clone(),
                            expires: (!c.session).then_some(c.expires),
                        })
                        .collect();
                    apply_jar(&mut obs.cookies, &jar, unix_now());
                }
                Ok(Err(e)) => tracing::debug!("Storage.getCookies failed, keeping parsed lifetimes: {e}"),
                Err(_) => tracing::debug!("Storage.getCookies timed out, keeping parsed lifetimes"),
            }
        }
        drop(b);
        let _ = page.close().await;
        let b = self.browser.lock().await;
        let _ = b.dispose_browser_context(ctx).await;
        result
    }

    async fn drive(
        &self,
        page: &Page,
        url: &url::Url,
        choice: Option<bool>,
        gpc: bool,
        canary: &CanaryIdentity,
        o: &BrowserOptions,
    ) -> Result<Observations, String> {
        let err = |e: chromiumoxide::error::CdpError| e.to_string();
        // The GPC run is a visitor who has not chosen but whose browser
        // sends Global Privacy Control: everything in it is "with GPC".
        let first = if gpc {
            ConsentState::WithGpc
        } else {
            ConsentState::BeforeConsent
        };
        let after = match choice {
            None => first,
            Some(false) => ConsentState::AfterReject,
            Some(true) => ConsentState::AfterAccept,
        };
        let site_host = url.host_str().unwrap_or_default().to_owned();
        let page_url = url.to_string();
        let _ = page.execute(SetCookieControlsParams::new(false, false, false)).await;
        // Async call stacks let a pixel fired after an `await` name the
        // vendor script that fired it, not just the page.
        if page.execute(DebuggerEnableParams::default()).await.is_ok() {
            let _ = page.execute(SetAsyncCallStackDepthParams::new(16)).await;
        }
        page.execute(AddScriptToEvaluateOnNewDocumentParams::new(scripts::INSTRUMENT))
            .await
            .map_err(err)?;
        if gpc {
            // Both signals of the W3C GPC specification: the `Sec-GPC: 1`
            // request header (every request of this page, frames included)
            // and `navigator.globalPrivacyControl`, before any page script.
            page.execute(SetExtraHttpHeadersParams::new(Headers::new(
                serde_json::json!({"Sec-GPC": "1"}),
            )))
            .await
            .map_err(err)?;
            page.execute(AddScriptToEvaluateOnNewDocumentParams::new(scripts::GPC))
                .await
                .map_err(err)?;
        }

        let rec = Arc::new(Recorder::default());
        let phase = Arc::new(AtomicU8::new(0));
        let mut requests = page.event_listener::<EventRequestWillBeSent>().await.map_err(err)?;
        let mut extra = page
            .event_listener::<EventResponseReceivedExtraInfo>()
            .await
            .map_err(err)?;
        if gpc {
            phase.store(1, Ordering::SeqCst);
        }
        let (r2, p2) = (rec.clone(), phase.clone());
        let collector = tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(ev) = requests.next() => r2.request(&ev, p2.load(Ordering::SeqCst)),
                    Some(ev) = extra.next() => r2.extra(&ev, p2.load(Ordering::SeqCst)),
                    else => break,
                }
            }
        });

        let mut obs = Observations::default();
        let nav = tokio::time::timeout(o.page_timeout, page.goto(url.as_str())).await;
        match nav {
            Err(_) => return Err(format!("page load timed out after {} s", o.page_timeout.as_secs())),
            Ok(Err(e)) => return Err(format!("navigation failed: {e}")),
            Ok(Ok(_)) => {}
        }
        settle(&rec, o.dwell).await;
        match choice {
            None => {
                interact(page, canary, o.submit_forms).await;
                settle(&rec, o.dwell).await;
                collect_js(page, &mut obs, &page_url, &site_host, first, 0).await;
                collect_activity(page, &mut obs, &page_url, first, 0).await;
                storage_keys(page, &mut obs, &page_url, first, &[]).await;
            }
            Some(accept) => {
                // Cookies written so far are "before consent"; later ones are not.
                let js_seen = collect_js(page, &mut obs, &page_url, &site_host, ConsentState::BeforeConsent, 0).await;
                let activity_seen = collect_activity(page, &mut obs, &page_url, ConsentState::BeforeConsent, 0).await;
                let storage_before = storage_keys(page, &mut obs, &page_url, ConsentState::BeforeConsent, &[]).await;
                // Let in-flight events land before the state changes.
                tokio::time::sleep(Duration::from_millis(100)).await;
                phase.store(1, Ordering::SeqCst);
                let how = evaluate::<Option<String>>(page, &scripts::banner(accept))
                    .await
                    .flatten();
                match how {
                    None => {
                        obs.banners.push((
                            page_url.clone(),
                            format!("no consent banner found ({})", run_name(choice, gpc)),
                        ));
                    }
                    Some(how) => {
                        obs.banners
                            .push((page_url.clone(), format!("{}: {how}", run_name(choice, gpc))));
                        settle(&rec, o.dwell).await;
                        collect_js(page, &mut obs, &page_url, &site_host, after, js_seen).await;
                        collect_activity(page, &mut obs, &page_url, after, activity_seen).await;
                        // The next page view under the stored choice.
                        let _ = tokio::time::timeout(o.page_timeout, page.goto(url.as_str())).await;
                        settle(&rec, o.dwell).await;
                        interact(page, canary, false).await;
                        settle(&rec, o.dwell).await;
                        collect_js(page, &mut obs, &page_url, &site_host, after, 0).await;
                        collect_activity(page, &mut obs, &page_url, after, 0).await;
                        storage_keys(page, &mut obs, &page_url, after, &storage_before).await;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        collector.abort();
        let visit = self.visits.fetch_add(1, Ordering::SeqCst) + 1;
        rec.drain_into(&mut obs, &page_url, &site_host, after, visit);
        obs.browser_visits = 1;
        obs.pages.push(PageVisit {
            url: page_url,
            depth: 0,
            status: None,
            bytes: 0,
            pass: Pass::Browser,
        });
        Ok(obs)
    }
}

fn run_name(choice: Option<bool>, gpc: bool) -> &'static str {
    match choice {
        None if gpc => "GPC on",
        None => "no interaction",
        Some(false) => "reject all",
        Some(true) => "accept all",
    }
}

/// Scrolls, fills every form with the canary identity (never submitting
/// unless asked) and clicks buttons that are neither submit nor consent
/// buttons, so pixels bound to interactions fire.
async fn interact(page: &Page, canary: &CanaryIdentity, submit: bool) {
    let _ = evaluate::<serde_json::Value>(page, &scripts::interact(canary, submit)).await;
}

#[cfg(unix)]
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[cfg(not(unix))]
fn running_as_root() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pids of processes whose command line holds `needle`, with their
    /// real user id and command line.
    fn processes_with(needle: &str) -> Vec<(u32, u32, String)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if !cmd.contains(needle) {
                continue;
            }
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next()?.parse().ok())
                .unwrap_or(u32::MAX);
            out.push((pid, uid, cmd));
        }
        out
    }

    /// As root (the scanner's container, and CI), Chromium runs as
    /// `nobody` with its sandbox, not as root with `--no-sandbox`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_root_scanner_runs_chromium_sandboxed_as_nobody() {
        if !running_as_root() {
            eprintln!("skipped: only a root scanner drops Chromium's privileges");
            return;
        }
        let session = Session::launch(&BrowserOptions::default(), &Guard::allow_private())
            .await
            .unwrap();
        let profile = session._profile.path().to_str().unwrap().to_owned();
        let chromium = processes_with(&profile);
        assert!(!chromium.is_empty(), "Chromium runs with the session's profile");
        for (pid, uid, cmd) in &chromium {
            assert_eq!(*uid, NOBODY, "process {pid} runs as {uid}: {cmd}");
            assert!(!cmd.contains("--no-sandbox"), "process {pid}: {cmd}");
        }
        // The sandbox is really there: a renderer says so.
        let page = session.browser.lock().await.new_page("chrome://sandbox").await.unwrap();
        let text: String = page
            .evaluate("document.body.innerText")
            .await
            .unwrap()
            .into_value()
            .unwrap();
        assert!(text.contains("adequately sandboxed"), "{text}");
    }
}
