//! The browser session: one Chromium per scan with a fresh profile, a
//! fresh browser context per page and consent state, and the drive through
//! one state (load, interact or operate the banner, reload under the choice).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::network::{
    EventRequestWillBeSent, EventResponseReceivedExtraInfo, Headers, SetCookieControlsParams, SetExtraHttpHeadersParams,
};
use chromiumoxide::cdp::browser_protocol::page::AddScriptToEvaluateOnNewDocumentParams;
use chromiumoxide::cdp::browser_protocol::storage::GetCookiesParams as StorageGetCookiesParams;
use chromiumoxide::cdp::browser_protocol::target::{CreateBrowserContextParams, CreateTargetParams};
use chromiumoxide::cdp::js_protocol::debugger::{EnableParams as DebuggerEnableParams, SetAsyncCallStackDepthParams};
use chromiumoxide::page::Page;
use futures::StreamExt;
use tokio::sync::oneshot;

use super::BrowserOptions;
use super::proxy::GuardProxy;
use super::recorder::{JarCookie, Recorder, Seen, Snapshot, apply_jar, settle, unix_now};
use super::scripts::{self, evaluate};
use crate::guard::{Guard, Refused};
use crate::page::{ConsentState, Observations, PageVisit, Pass, Problem, ProblemKind};
use crate::pii::CanaryIdentity;

pub(super) struct Session {
    /// Shared by the runs in flight: every call takes `&self` (only
    /// closing needs the browser to itself).
    browser: Browser,
    /// Runs in flight at most ([`runs_at_once`]).
    slots: tokio::sync::Semaphore,
    visits: std::sync::atomic::AtomicU32,
    handler: tokio::task::JoinHandle<()>,
    /// The SSRF guard's way out (none with `--allow-private-targets`).
    proxy: Option<GuardProxy>,
    _profile: tempfile::TempDir,
    /// The script that starts Chromium as `nobody`, when the scanner is root.
    _launcher: Option<Unprivileged>,
}

/// How a run (one page in one consent state) ended.
enum Outcome {
    Done(Observations),
    Failed(String),
    TimedOut(Duration),
    /// The scan deadline passed before it could start.
    NotStarted,
}

/// Runs (a page in one consent state, each in a browser context of its
/// own) in flight at once: four per core, 4 to 12. A run mostly waits (for
/// the network, for the page to go quiet), so a core keeps several busy;
/// the bound keeps memory in check (a renderer process per run).
fn runs_at_once() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 4).clamp(4, 12)
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
             HttpsUpgrades,TrackingProtection3pcd,PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,\
             WebUIOmniboxFullPopupV2,WebUIOmniboxAimPopup",
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
            browser,
            slots: tokio::sync::Semaphore::new(runs_at_once()),
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
        let mut b = self.browser;
        let _ = tokio::time::timeout(Duration::from_secs(5), b.close()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), b.wait()).await;
        if let Some(Err(e)) = b.kill().await {
            tracing::debug!("chromium already gone: {e}");
        }
        drop(b);
        self.handler.abort();
    }

    /// Visits `url` in each consent state, every run in a browser context
    /// of its own, all queued at once for the session's run slots; `None`
    /// when the scan deadline passed before any of them could start.
    pub(super) async fn visit(
        &self,
        url: &url::Url,
        canary: &CanaryIdentity,
        o: &BrowserOptions,
        deadline: Instant,
    ) -> Option<Observations> {
        let (a, b, c, d) = tokio::join!(
            self.state_run(url, None, false, canary, o, deadline),
            self.state_run(url, Some(false), false, canary, o, deadline),
            self.state_run(url, Some(true), false, canary, o, deadline),
            async {
                match o.gpc {
                    true => Some(self.state_run(url, None, true, canary, o, deadline).await),
                    false => None,
                }
            },
        );
        let runs = [
            (None, false, Some(a)),
            (Some(false), false, Some(b)),
            (Some(true), false, Some(c)),
            (None, true, d),
        ];
        if runs
            .iter()
            .all(|(_, _, r)| matches!(r, None | Some(Outcome::NotStarted)))
        {
            return None;
        }
        let mut obs = Observations::default();
        for (choice, gpc, r) in runs {
            let name = run_name(choice, gpc);
            let (kind, reason) = match r {
                None => continue,
                Some(Outcome::Done(x)) => {
                    obs.extend(x);
                    continue;
                }
                Some(Outcome::Failed(e)) => (
                    ProblemKind::Browser,
                    format!("browser pass ({name}) failed on {url}: {e}"),
                ),
                Some(Outcome::TimedOut(budget)) => (
                    ProblemKind::Timeout,
                    format!(
                        "page {url} timed out in the browser after {} s ({name})",
                        budget.as_secs()
                    ),
                ),
                Some(Outcome::NotStarted) => (
                    ProblemKind::Deadline,
                    format!("scan deadline reached: {url} not visited in the browser ({name})"),
                ),
            };
            obs.problems.push(Problem {
                url: url.to_string(),
                kind,
                reason,
            });
        }
        // The no-interaction run stands for the page in the page list.
        obs.pages.truncate(1);
        Some(obs)
    }

    /// One consent state of one page: waits for a run slot, then opens a
    /// fresh browser context, drives the page through the state within the
    /// run's budget, reads the context's cookie jar and disposes of it, also
    /// when the run failed or ran out of time.
    async fn state_run(
        &self,
        url: &url::Url,
        choice: Option<bool>,
        gpc: bool,
        canary: &CanaryIdentity,
        o: &BrowserOptions,
        deadline: Instant,
    ) -> Outcome {
        let Ok(_slot) = self.slots.acquire().await else {
            return Outcome::NotStarted;
        };
        let started = Instant::now();
        if started >= deadline {
            return Outcome::NotStarted;
        }
        // A load, a click and a reload at most.
        let budget = (o.page_timeout * 2 + o.dwell * 4).min(deadline - started);
        let (ctx, page) = match tokio::time::timeout(budget, self.open()).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => return Outcome::Failed(e),
            Err(_) => return Outcome::TimedOut(budget),
        };
        let opened = started.elapsed();
        let left = budget.saturating_sub(started.elapsed());
        let mut outcome = match tokio::time::timeout(left, self.drive(&page, url, choice, gpc, canary, o)).await {
            Ok(Ok(obs)) => Outcome::Done(obs),
            Ok(Err(e)) => Outcome::Failed(e),
            Err(_) => Outcome::TimedOut(budget),
        };
        let driven = started.elapsed();
        let b = &self.browser;
        if let Outcome::Done(obs) = &mut outcome {
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
        // Disposing of the context closes its page; a run that timed out
        // stops here too instead of loading on beside the next ones.
        let _ = tokio::time::timeout(Duration::from_secs(5), page.close()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), b.dispose_browser_context(ctx)).await;
        // Where a run's time goes (`RUST_LOG=scanner=debug`).
        tracing::debug!(
            %url,
            run = run_name(choice, gpc),
            open_ms = opened.as_millis() as u64,
            drive_ms = (driven - opened).as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "browser run"
        );
        outcome
    }

    /// A fresh browser context (its own cookie jar, storage and cache) with
    /// one blank page in it.
    async fn open(&self) -> Result<(BrowserContextId, Page), String> {
        let b = &self.browser;
        let ctx = b
            .create_browser_context(CreateBrowserContextParams::default())
            .await
            .map_err(|e| e.to_string())?;
        let params = CreateTargetParams::builder()
            .url("about:blank")
            .browser_context_id(ctx.clone())
            .build();
        let page = match params {
            Ok(params) => b.new_page(params).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match page {
            Ok(page) => Ok((ctx, page)),
            Err(e) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), b.dispose_browser_context(ctx)).await;
                Err(e)
            }
        }
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
        let (_, after) = states(gpc, choice);
        let site_host = url.host_str().unwrap_or_default().to_owned();
        let page_url = url.to_string();
        // The set-up, sent at once rather than one round trip after the
        // other (Chromium carries out a target's commands in the order
        // sent; all are answered before the navigation starts).
        let cookie_controls = async {
            let _ = page.execute(SetCookieControlsParams::new(false, false, false)).await;
        };
        // Async call stacks let a pixel fired after an `await` name the
        // vendor script that fired it, not just the page.
        let debugger = async {
            if page.execute(DebuggerEnableParams::default()).await.is_ok() {
                let _ = page.execute(SetAsyncCallStackDepthParams::new(16)).await;
            }
        };
        let instrument = page.execute(AddScriptToEvaluateOnNewDocumentParams::new(scripts::INSTRUMENT));
        let gpc_signals = async {
            if gpc {
                // Both signals of the W3C GPC specification: the `Sec-GPC: 1`
                // request header (every request of this page, frames included)
                // and `navigator.globalPrivacyControl`, before any page script.
                let (header, script) = tokio::join!(
                    page.execute(SetExtraHttpHeadersParams::new(Headers::new(
                        serde_json::json!({"Sec-GPC": "1"}),
                    ))),
                    page.execute(AddScriptToEvaluateOnNewDocumentParams::new(scripts::GPC)),
                );
                header?;
                script?;
            }
            Ok(())
        };
        let requests = page.event_listener::<EventRequestWillBeSent>();
        let extra = page.event_listener::<EventResponseReceivedExtraInfo>();
        let ((), (), instrument, gpc_signals, requests, extra) =
            tokio::join!(cookie_controls, debugger, instrument, gpc_signals, requests, extra);
        instrument.map_err(err)?;
        gpc_signals.map_err(err)?;
        let (mut requests, mut extra) = (requests.map_err(err)?, extra.map_err(err)?);

        // The collector records network events as they come, tagged with
        // the phase (0: before the choice, 1: after). A phase change or the
        // end is handled only once both event streams are empty, so every
        // event Chromium sent before it (all events of a page come before
        // the answer to a later command of that page) is tagged with the
        // phase that ends: no waiting for events to land.
        let rec = Arc::new(Recorder::default());
        let (control, mut orders) = tokio::sync::mpsc::unbounded_channel::<(Option<u8>, oneshot::Sender<()>)>();
        let r2 = rec.clone();
        let mut phase: u8 = if gpc { 1 } else { 0 };
        let collector = tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    Some(ev) = requests.next() => r2.request(&ev, phase),
                    Some(ev) = extra.next() => r2.extra(&ev, phase),
                    Some((next, done)) = orders.recv() => {
                        let _ = done.send(());
                        match next {
                            Some(p) => phase = p,
                            None => break,
                        }
                    }
                    else => break,
                }
            }
        });
        // Switches the phase (`None`: stops the collector) once everything
        // received so far is recorded.
        let order = |next: Option<u8>| {
            let (done, handled) = oneshot::channel();
            let sent = control.send((next, done)).is_ok();
            async move {
                if sent {
                    let _ = handled.await;
                }
            }
        };

        let result = self.phases(page, url, choice, gpc, canary, o, &rec, &order).await;
        order(None).await;
        collector.abort();
        let mut obs = result?;
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

    /// The visit itself: load, then interact or choose in the banner, and
    /// reload under the choice; what scripts recorded is read at each step.
    #[allow(clippy::too_many_arguments)]
    async fn phases<F: std::future::Future<Output = ()>>(
        &self,
        page: &Page,
        url: &url::Url,
        choice: Option<bool>,
        gpc: bool,
        canary: &CanaryIdentity,
        o: &BrowserOptions,
        rec: &Recorder,
        order: &impl Fn(Option<u8>) -> F,
    ) -> Result<Observations, String> {
        let (first, after) = states(gpc, choice);
        let site_host = url.host_str().unwrap_or_default().to_owned();
        let page_url = url.to_string();
        let mut obs = Observations::default();
        let nav = tokio::time::timeout(o.page_timeout, page.goto(url.as_str())).await;
        match nav {
            Err(_) => return Err(format!("page load timed out after {} s", o.page_timeout.as_secs())),
            Ok(Err(e)) => return Err(format!("navigation failed: {e}")),
            Ok(Ok(_)) => {}
        }
        settle(rec, o.dwell).await;
        match choice {
            None => {
                interact(page, canary, o.submit_forms).await;
                settle(rec, o.dwell).await;
                let now = Snapshot::take(page).await;
                now.record(&mut obs, &page_url, &site_host, first, Seen::default());
                now.record_storage(&mut obs, &page_url, first, &[]);
            }
            Some(accept) => {
                // Cookies written so far are "before consent"; later ones are not.
                let before = Snapshot::take(page).await;
                let seen = before.record(
                    &mut obs,
                    &page_url,
                    &site_host,
                    ConsentState::BeforeConsent,
                    Seen::default(),
                );
                let storage_before = before.record_storage(&mut obs, &page_url, ConsentState::BeforeConsent, &[]);
                order(Some(1)).await;
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
                        settle(rec, o.dwell).await;
                        Snapshot::take(page)
                            .await
                            .record(&mut obs, &page_url, &site_host, after, seen);
                        // The next page view under the stored choice.
                        let _ = tokio::time::timeout(o.page_timeout, page.goto(url.as_str())).await;
                        settle(rec, o.dwell).await;
                        interact(page, canary, false).await;
                        settle(rec, o.dwell).await;
                        let now = Snapshot::take(page).await;
                        now.record(&mut obs, &page_url, &site_host, after, Seen::default());
                        now.record_storage(&mut obs, &page_url, after, &storage_before);
                    }
                }
            }
        }
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

/// The consent states a run observes: before its choice and after it. The
/// GPC run is a visitor who has not chosen but whose browser sends Global
/// Privacy Control: everything in it is "with GPC".
fn states(gpc: bool, choice: Option<bool>) -> (ConsentState, ConsentState) {
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
    (first, after)
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
        let page = session.browser.new_page("chrome://sandbox").await.unwrap();
        let text: String = page
            .evaluate("document.body.innerText")
            .await
            .unwrap()
            .into_value()
            .unwrap();
        assert!(text.contains("adequately sandboxed"), "{text}");
    }
}
