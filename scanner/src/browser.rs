//! The browser pass: headless Chromium over the DevTools protocol sees what
//! scripts really do. Each page is visited in three consent states, each in
//! its own fresh browser context and all three at once: no interaction
//! (with canary form filling and safe clicks), after "reject all", after
//! "accept all". Every request (with the script that caused it), every
//! cookie set over HTTP (blocked ones too) or by JavaScript (with the setting
//! script) and every storage key is recorded with its consent state.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::network::{
    EventRequestWillBeSent, EventResponseReceivedExtraInfo, SetCookieControlsParams,
};
use chromiumoxide::cdp::browser_protocol::page::AddScriptToEvaluateOnNewDocumentParams;
use chromiumoxide::cdp::browser_protocol::storage::GetCookiesParams as StorageGetCookiesParams;
use chromiumoxide::cdp::browser_protocol::target::{CreateBrowserContextParams, CreateTargetParams};
use chromiumoxide::cdp::js_protocol::debugger::{EnableParams as DebuggerEnableParams, SetAsyncCallStackDepthParams};
use chromiumoxide::cdp::js_protocol::runtime::{EvaluateParams, StackTrace};
use chromiumoxide::page::Page;
use futures::StreamExt;
use serde::Deserialize;

use crate::cookie::parse_set_cookie;
use crate::crawl::Progress;
use crate::page::{
    ConsentState, Cookie, Observations, PageVisit, Pass, Problem, ProblemKind, Request, SetBy, StorageItem, same_site,
};
use crate::pii::{CanaryIdentity, MAX_SCAN_BYTES, normalise_phone};

#[derive(Clone, Debug)]
pub struct BrowserOptions {
    pub chromium: PathBuf,
    /// Pages visited (each in three consent states).
    pub max_pages: usize,
    /// Extra `--host-resolver-rules` (tests map tracker hosts to loopback).
    pub host_resolver_rules: Option<String>,
    /// Accept any certificate (tests only).
    pub insecure_tls: bool,
    /// Longest wait for a page to go quiet, per phase.
    pub dwell: Duration,
    pub page_timeout: Duration,
    /// Submit forms after filling them (off: fill only, never send).
    pub submit_forms: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            chromium: "/usr/bin/chromium".into(),
            max_pages: 5,
            host_resolver_rules: None,
            insecure_tls: false,
            dwell: Duration::from_secs(1),
            page_timeout: Duration::from_secs(20),
            submit_forms: false,
        }
    }
}

/// Hosts Chromium talks to on its own behalf (autofill, updates, safe
/// browsing): never the page's doing, so never reported.
const CHROMIUM_INTERNAL: &[&str] = &[
    "content-autofill.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "update.googleapis.com",
    "clients2.google.com",
    "clients2.googleusercontent.com",
    "clientservices.googleapis.com",
    "safebrowsingohttpgateway.googleapis.com",
    "edgedl.me.gvt1.com",
    "redirector.gvt1.com",
    "accounts.google.com",
    "android.clients.google.com",
];

/// Runs the browser pass over `pages` within `left`; failures become problems.
pub async fn run(
    o: &BrowserOptions,
    pages: &[url::Url],
    canary: &CanaryIdentity,
    left: Duration,
    progress: Progress<'_>,
) -> Observations {
    let mut obs = Observations::default();
    let deadline = Instant::now() + left;
    let session = match Session::launch(o).await {
        Ok(s) => s,
        Err(e) => {
            obs.problems.push(Problem {
                url: pages.first().map(|u| u.to_string()).unwrap_or_default(),
                kind: ProblemKind::Browser,
                reason: format!(
                    "browser pass skipped: could not start Chromium ({}): {e}",
                    o.chromium.display()
                ),
            });
            return obs;
        }
    };
    for (i, url) in pages.iter().enumerate() {
        let now = Instant::now();
        if now >= deadline {
            obs.problems.push(Problem {
                url: url.to_string(),
                kind: ProblemKind::Deadline,
                reason: format!(
                    "scan deadline reached: {} pages not visited in the browser",
                    pages.len() - i
                ),
            });
            break;
        }
        // Three states run at once; each may take a load, a click and a reload.
        let budget = (o.page_timeout * 2 + o.dwell * 4).min(deadline - now);
        match tokio::time::timeout(budget, session.visit(url, canary, o)).await {
            Ok(page_obs) => obs.extend(page_obs),
            Err(_) => obs.problems.push(Problem {
                url: url.to_string(),
                kind: ProblemKind::Timeout,
                reason: format!("page {url} timed out in the browser after {} s", budget.as_secs()),
            }),
        }
        progress(i + 1, pages.len());
    }
    session.close().await;
    obs
}

struct Session {
    browser: tokio::sync::Mutex<Browser>,
    visits: std::sync::atomic::AtomicU32,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Session {
    async fn launch(o: &BrowserOptions) -> Result<Self, String> {
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
            // One process for all frames, so iframe traffic reaches our session.
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
        let mut cfg = BrowserConfig::builder()
            .chrome_executable(&o.chromium)
            .disable_default_args()
            .no_sandbox()
            .user_data_dir(profile.path())
            .launch_timeout(Duration::from_secs(20))
            .request_timeout(o.page_timeout)
            .args(flags)
            .args(values);
        if !o.insecure_tls {
            cfg = cfg.respect_https_errors();
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
            _profile: profile,
        })
    }

    async fn close(self) {
        let mut b = self.browser.lock().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), b.close()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), b.wait()).await;
        if let Some(Err(e)) = b.kill().await {
            tracing::debug!("chromium already gone: {e}");
        }
        drop(b);
        self.handler.abort();
    }

    async fn visit(&self, url: &url::Url, canary: &CanaryIdentity, o: &BrowserOptions) -> Observations {
        let (a, b, c) = tokio::join!(
            self.state_run(url, None, canary, o),
            self.state_run(url, Some(false), canary, o),
            self.state_run(url, Some(true), canary, o),
        );
        let mut obs = Observations::default();
        for (choice, r) in [(None, a), (Some(false), b), (Some(true), c)] {
            match r {
                Ok(x) => obs.extend(x),
                Err(e) => obs.problems.push(Problem {
                    url: url.to_string(),
                    kind: ProblemKind::Browser,
                    reason: format!("browser pass ({}) failed on {url}: {e}", run_name(choice)),
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
        let mut result = self.drive(&page, url, choice, canary, o).await;
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
        canary: &CanaryIdentity,
        o: &BrowserOptions,
    ) -> Result<Observations, String> {
        let err = |e: chromiumoxide::error::CdpError| e.to_string();
        let after = match choice {
            None => ConsentState::BeforeConsent,
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
        page.execute(AddScriptToEvaluateOnNewDocumentParams::new(INSTRUMENT))
            .await
            .map_err(err)?;

        let rec = Arc::new(Recorder::default());
        let phase = Arc::new(AtomicU8::new(0));
        let mut requests = page.event_listener::<EventRequestWillBeSent>().await.map_err(err)?;
        let mut extra = page
            .event_listener::<EventResponseReceivedExtraInfo>()
            .await
            .map_err(err)?;
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
                collect_js(page, &mut obs, &page_url, &site_host, ConsentState::BeforeConsent, 0).await;
                storage_keys(page, &mut obs, &page_url, ConsentState::BeforeConsent, &[]).await;
            }
            Some(accept) => {
                // Cookies written so far are "before consent"; later ones are not.
                let js_seen = collect_js(page, &mut obs, &page_url, &site_host, ConsentState::BeforeConsent, 0).await;
                let storage_before = storage_keys(page, &mut obs, &page_url, ConsentState::BeforeConsent, &[]).await;
                // Let in-flight events land before the state changes.
                tokio::time::sleep(Duration::from_millis(100)).await;
                phase.store(1, Ordering::SeqCst);
                let how = evaluate::<Option<String>>(page, &banner_js(accept)).await.flatten();
                match how {
                    None => {
                        obs.banners.push((
                            page_url.clone(),
                            format!("no consent banner found ({})", run_name(choice)),
                        ));
                    }
                    Some(how) => {
                        obs.banners
                            .push((page_url.clone(), format!("{}: {how}", run_name(choice))));
                        settle(&rec, o.dwell).await;
                        collect_js(page, &mut obs, &page_url, &site_host, after, js_seen).await;
                        // The next page view under the stored choice.
                        let _ = tokio::time::timeout(o.page_timeout, page.goto(url.as_str())).await;
                        settle(&rec, o.dwell).await;
                        interact(page, canary, false).await;
                        settle(&rec, o.dwell).await;
                        collect_js(page, &mut obs, &page_url, &site_host, after, 0).await;
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

/// A cookie as the browser's jar holds it (CDP `Storage.getCookies`).
#[derive(Clone, Debug, PartialEq)]
pub struct JarCookie {
    pub name: String,
    /// With a leading dot for domain cookies, the host for host-only ones.
    pub domain: String,
    pub path: String,
    /// Expiry in Unix seconds; `None` for a session cookie.
    pub expires: Option<f64>,
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Gives every observed cookie the lifetime the browser really stores for
/// it. Cookies the jar does not hold (refused, deleted again, or set by a
/// page the jar no longer has) keep the lifetime parsed from the
/// `Set-Cookie` line or `document.cookie` string.
pub fn apply_jar(cookies: &mut [Cookie], jar: &[JarCookie], now_unix: f64) {
    let norm = |d: &str| d.trim_start_matches('.').to_ascii_lowercase();
    for c in cookies.iter_mut().filter(|c| c.blocked.is_none()) {
        let domain = norm(&c.domain);
        let mut same = jar.iter().filter(|j| j.name == c.name && norm(&j.domain) == domain);
        let Some(first) = same.next() else { continue };
        let hit = std::iter::once(first)
            .chain(same)
            .find(|j| j.path == c.path)
            .unwrap_or(first);
        c.lifetime_secs = hit.expires.map(|e| (e - now_unix).round() as i64);
    }
}

fn run_name(choice: Option<bool>) -> &'static str {
    match choice {
        None => "no interaction",
        Some(false) => "reject all",
        Some(true) => "accept all",
    }
}

/// Network events, as they arrive, tagged with the phase (0 = before the
/// choice, 1 = after).
#[derive(Default)]
struct Recorder {
    inner: Mutex<RecorderInner>,
}

#[derive(Default)]
struct RecorderInner {
    last_event: Option<Instant>,
    urls: HashMap<String, String>,
    requests: Vec<(u8, Request)>,
    cookies: Vec<(u8, String, String, Option<String>)>,
    dropped_internal: usize,
}

fn stack_url(s: &StackTrace) -> Option<String> {
    s.call_frames
        .iter()
        .map(|f| f.url.clone())
        .find(|u| u.starts_with("http"))
        .or_else(|| s.parent.as_deref().and_then(stack_url))
}

impl Recorder {
    fn request(&self, ev: &EventRequestWillBeSent, phase: u8) {
        let mut r = self.inner.lock().expect("recorder lock");
        r.last_event = Some(Instant::now());
        let url = ev.request.url.clone();
        let Ok(parsed) = url::Url::parse(&url) else { return };
        if !matches!(parsed.scheme(), "http" | "https") {
            return;
        }
        if parsed.host_str().is_some_and(|h| CHROMIUM_INTERNAL.contains(&h)) || ev.frame_id.is_none() {
            r.dropped_internal += 1;
            return;
        }
        r.urls.insert(ev.request_id.inner().clone(), url.clone());
        let body = ev.request.post_data_entries.as_ref().map(|entries| {
            use base64::Engine;
            let mut out = Vec::new();
            for e in entries {
                if let Some(b) = &e.bytes
                    && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(AsRef::<str>::as_ref(b))
                {
                    out.extend_from_slice(&bytes);
                }
                if out.len() > MAX_SCAN_BYTES {
                    out.truncate(MAX_SCAN_BYTES);
                    break;
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        });
        let initiator = ev
            .initiator
            .stack
            .as_ref()
            .and_then(stack_url)
            .or_else(|| ev.initiator.url.clone());
        r.requests.push((
            phase,
            Request {
                page: String::new(),
                url,
                method: ev.request.method.clone(),
                body,
                resource_type: ev
                    .r#type
                    .as_ref()
                    .map(|t| format!("{t:?}").to_lowercase())
                    .unwrap_or_default(),
                initiator,
                state: ConsentState::BeforeConsent,
                pass: Pass::Browser,
                visit: None,
            },
        ));
    }

    fn extra(&self, ev: &EventResponseReceivedExtraInfo, phase: u8) {
        let mut r = self.inner.lock().expect("recorder lock");
        r.last_event = Some(Instant::now());
        let Some(url) = r.urls.get(ev.request_id.inner()).cloned() else {
            return;
        };
        let mut blocked: HashMap<String, String> = HashMap::new();
        for b in &ev.blocked_cookies {
            let reasons: Vec<String> = b.blocked_reasons.iter().map(|x| format!("{x:?}")).collect();
            blocked.insert(b.cookie_line.clone(), reasons.join(", "));
        }
        let headers = ev.headers.inner();
        let lines: Vec<String> = headers
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.as_str())
            .flat_map(|v| v.split('\n').map(str::to_owned).collect::<Vec<_>>())
            .collect();
        for line in lines {
            let reason = blocked.remove(&line);
            r.cookies.push((phase, url.clone(), line, reason));
        }
        // Blocked lines the header map did not show.
        for (line, reason) in blocked {
            r.cookies.push((phase, url.clone(), line, Some(reason)));
        }
    }

    fn quiet_for(&self) -> Duration {
        let r = self.inner.lock().expect("recorder lock");
        r.last_event.map(|t| t.elapsed()).unwrap_or(Duration::MAX)
    }

    fn drain_into(&self, obs: &mut Observations, page: &str, site_host: &str, after: ConsentState, visit: u32) {
        let mut r = self.inner.lock().expect("recorder lock");
        let state = |p: u8| if p == 0 { ConsentState::BeforeConsent } else { after };
        for (p, mut req) in std::mem::take(&mut r.requests) {
            req.page = page.to_owned();
            req.state = state(p);
            req.visit = Some(visit);
            obs.requests.push(req);
        }
        let now = SystemTime::now();
        for (p, resp_url, line, blocked) in std::mem::take(&mut r.cookies) {
            let Some(c) = parse_set_cookie(&line, now) else {
                continue;
            };
            if c.lifetime_secs.is_some_and(|l| l <= 0) {
                continue; // a deletion
            }
            let host = url::Url::parse(&resp_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            let domain = c.domain.unwrap_or(host);
            obs.cookies.push(Cookie {
                page: page.to_owned(),
                third_party: !same_site(&domain, site_host),
                name: c.name,
                domain,
                path: c.path,
                lifetime_secs: c.lifetime_secs,
                set_by: SetBy::Http { response_url: resp_url },
                state: state(p),
                pass: Pass::Browser,
                blocked,
            });
        }
        if r.dropped_internal > 0 {
            tracing::debug!(dropped = r.dropped_internal, "ignored Chromium's own requests");
        }
    }
}

/// Waits until no network event arrived for a moment, at most `max`.
async fn settle(rec: &Recorder, max: Duration) {
    let start = Instant::now();
    tokio::time::sleep(Duration::from_millis(150)).await;
    while start.elapsed() < max {
        if rec.quiet_for() >= Duration::from_millis(300) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn evaluate<T: for<'de> Deserialize<'de>>(page: &Page, js: &str) -> Option<T> {
    let params = EvaluateParams::builder()
        .expression(js)
        .await_promise(true)
        .return_by_value(true)
        .build()
        .ok()?;
    let r = tokio::time::timeout(Duration::from_secs(5), page.evaluate_expression(params))
        .await
        .ok()?
        .ok()?;
    r.into_value::<T>().ok()
}

#[derive(Deserialize)]
struct JsCookie {
    line: String,
    script: Option<String>,
}

/// Cookies written by scripts since record `from` (the instrumentation
/// keeps them until the next navigation); returns the new count.
async fn collect_js(
    page: &Page,
    obs: &mut Observations,
    page_url: &str,
    site_host: &str,
    state: ConsentState,
    from: usize,
) -> usize {
    let all: Vec<JsCookie> = evaluate(page, "(window.__keurmerkScan && window.__keurmerkScan.cookies) || []")
        .await
        .unwrap_or_default();
    let now = SystemTime::now();
    let host = url::Url::parse(page_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    for c in all.iter().skip(from) {
        let Some(sc) = parse_set_cookie(&c.line, now) else {
            continue;
        };
        if sc.lifetime_secs.is_some_and(|l| l <= 0) {
            continue;
        }
        let domain = sc.domain.unwrap_or_else(|| host.clone());
        obs.cookies.push(Cookie {
            page: page_url.to_owned(),
            third_party: !same_site(&domain, site_host),
            name: sc.name,
            domain,
            path: sc.path,
            lifetime_secs: sc.lifetime_secs,
            set_by: SetBy::Script {
                script_url: c.script.clone(),
            },
            state,
            pass: Pass::Browser,
            blocked: None,
        });
    }
    all.len()
}

/// Records `localStorage` and `sessionStorage` keys not in `known`
/// (`area:key`); returns all current ones.
async fn storage_keys(
    page: &Page,
    obs: &mut Observations,
    page_url: &str,
    state: ConsentState,
    known: &[String],
) -> Vec<String> {
    const JS: &str = "(() => { const k = (s) => { try { return Object.keys(s).slice(0, 500); } catch (e) { return []; } }; \
                      return k(localStorage).map((x) => 'localStorage:' + x) \
                      .concat(k(sessionStorage).map((x) => 'sessionStorage:' + x)); })()";
    let keys: Vec<String> = evaluate(page, JS).await.unwrap_or_default();
    let origin = url::Url::parse(page_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    for k in &keys {
        let Some((area, key)) = k.split_once(':') else { continue };
        if !known.contains(k) {
            obs.storage.push(StorageItem {
                page: page_url.to_owned(),
                origin: origin.clone(),
                area: area.to_owned(),
                key: key.to_owned(),
                state,
            });
        }
    }
    keys
}

/// Scrolls, fills every form with the canary identity (never submitting
/// unless asked) and clicks buttons that are neither submit nor consent
/// buttons, so pixels bound to interactions fire.
async fn interact(page: &Page, canary: &CanaryIdentity, submit: bool) {
    let digits = normalise_phone(&canary.phone);
    let js = INTERACT
        .replace("__EMAIL__", &js_str(&canary.email))
        .replace("__PHONE__", &js_str(&digits))
        .replace("__FIRST__", &js_str(&canary.first_name))
        .replace("__LAST__", &js_str(&canary.last_name))
        .replace("__ZIP__", &js_str(&canary.postal_code))
        .replace("__SUBMIT__", if submit { "true" } else { "false" });
    let _ = evaluate::<serde_json::Value>(page, &js).await;
}

fn js_str(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

fn banner_js(accept: bool) -> String {
    BANNER.replace("__ACCEPT__", if accept { "true" } else { "false" })
}

/// Runs before any page script: records `document.cookie` writes with the
/// script that made them (from the stack).
const INSTRUMENT: &str = r#"(() => {
  if (window.__keurmerkScan) return;
  const S = window.__keurmerkScan = { cookies: [] };
  const d = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  if (!d || !d.set) return;
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    enumerable: d.enumerable,
    get() { return d.get.call(this); },
    set(v) {
      try {
        if (S.cookies.length < 5000) {
          const lines = String(new Error().stack || '').split('\n').slice(1);
          let script = null;
          for (const l of lines) {
            const m = l.match(/(https?:\/\/[^\s()]+?)(?::\d+)+\)?\s*$/);
            if (m) { script = m[1]; break; }
          }
          S.cookies.push({ line: String(v).slice(0, 4096), script });
        }
      } catch (e) {}
      return d.set.call(this, v);
    },
  });
})();"#;

const INTERACT: &str = r#"(async () => {
  const consent = /(accept|agree|allow|reject|decline|deny|refuse|akkoord|accepteer|accepteren|weiger|toestaan|cookie|instellingen|preferences|settings|ablehnen|akzeptieren|refuser|accepter)/i;
  window.scrollTo(0, document.body ? document.body.scrollHeight : 0);
  const set = (el, v) => {
    const proto = Object.getPrototypeOf(el);
    const desc = Object.getOwnPropertyDescriptor(proto, 'value');
    el.focus();
    if (desc && desc.set) desc.set.call(el, v); else el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    el.blur();
  };
  const pick = (el) => {
    const h = [el.type, el.name, el.id, el.placeholder, el.getAttribute('autocomplete'), el.getAttribute('aria-label')].join(' ').toLowerCase();
    if (el.type === 'email' || /mail/.test(h)) return __EMAIL__;
    if (el.type === 'tel' || /(phone|tel|mobile|mobiel|telefoon)/.test(h)) return __PHONE__;
    if (/(first|given|voornaam|fname)/.test(h)) return __FIRST__;
    if (/(last|family|surname|achternaam|lname)/.test(h)) return __LAST__;
    if (/(zip|postal|postcode)/.test(h)) return __ZIP__;
    if (/name|naam/.test(h)) return __FIRST__ + ' ' + __LAST__;
    return null;
  };
  for (const el of document.querySelectorAll('input, textarea')) {
    if (['hidden', 'password', 'submit', 'button', 'checkbox', 'radio', 'file'].includes(el.type)) continue;
    const v = pick(el);
    if (v !== null) set(el, v);
  }
  let clicked = 0;
  for (const b of document.querySelectorAll('button, [role=button]')) {
    if (clicked >= 5) break;
    if (b.closest('form') || b.type === 'submit') continue;
    const t = (b.innerText || b.textContent || '').trim();
    if (consent.test(t) || consent.test(b.id || '') || consent.test(b.className || '')) continue;
    try { b.click(); clicked++; } catch (e) {}
  }
  if (__SUBMIT__) for (const f of document.forms) { try { f.requestSubmit(); } catch (e) {} }
  return clicked;
})()"#;

/// Finds and operates the consent banner: Keurmerk's own API first, then
/// Keurmerk's buttons, then well-known CMP buttons, then buttons by text.
const BANNER: &str = r#"(async () => {
  const accept = __ACCEPT__;
  const K = window.keurmerk;
  if (K) {
    if (accept && typeof K.acceptAll === 'function') { await K.acceptAll(); return 'window.keurmerk.acceptAll()'; }
    if (!accept && typeof K.rejectAll === 'function') { await K.rejectAll(); return 'window.keurmerk.rejectAll()'; }
    if (typeof K._set === 'function' && K._R && Array.isArray(K._R.c)) {
      const c = {}; K._R.c.forEach((x) => { c[x] = accept; });
      K._set(c, {}, accept ? 'accept_all' : 'reject_all');
      return 'window.keurmerk (' + (accept ? 'accept_all' : 'reject_all') + ')';
    }
  }
  const walk = function* (root) {
    for (const el of root.querySelectorAll('*')) { yield el; if (el.shadowRoot) yield* walk(el.shadowRoot); }
  };
  const ids = accept
    ? ['[data-km="accept"]', '#onetrust-accept-btn-handler', '#CybotCookiebotDialogBodyLevelButtonLevelOptinAllowAll', '#CybotCookiebotDialogBodyButtonAccept', '.cky-btn-accept', '[data-cc="accept-all"]', '#didomi-notice-agree-button', '.cmplz-accept', '#uc-btn-accept-banner']
    : ['[data-km="reject"]', '#onetrust-reject-all-handler', '#CybotCookiebotDialogBodyButtonDecline', '.cky-btn-reject', '[data-cc="reject-all"]', '#didomi-notice-disagree-button', '.cmplz-deny', '#uc-btn-deny-banner'];
  const all = [...walk(document)];
  for (const sel of ids) {
    const el = all.find((e) => e.matches && e.matches(sel));
    if (el) { el.click(); return 'button ' + sel; }
  }
  const re = accept
    ? /^(accept all|accept all cookies|accept|allow all|allow all cookies|agree|i agree|ok|alles accepteren|alle cookies accepteren|accepteren|akkoord|alle akzeptieren|akzeptieren|tout accepter|accepter)$/i
    : /^(reject all|reject all cookies|reject|decline|decline all|deny|refuse|only necessary|necessary only|use necessary cookies only|alles weigeren|weigeren|alleen noodzakelijk|alleen noodzakelijke cookies|alle ablehnen|ablehnen|tout refuser|refuser)$/i;
  for (const el of all) {
    if (!/^(BUTTON|A)$/.test(el.tagName) && el.getAttribute('role') !== 'button') continue;
    const t = (el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ');
    if (t.length <= 40 && re.test(t)) { el.click(); return 'button "' + t + '"'; }
  }
  return null;
})()"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(name: &str, domain: &str, lifetime: Option<i64>, blocked: bool) -> Cookie {
        Cookie {
            page: "https://shop.example/".into(),
            name: name.into(),
            domain: domain.into(),
            path: "/".into(),
            lifetime_secs: lifetime,
            third_party: false,
            set_by: SetBy::Script { script_url: None },
            state: ConsentState::BeforeConsent,
            pass: Pass::Browser,
            blocked: blocked.then(|| "ThirdPartyPhaseout".into()),
        }
    }

    #[test]
    fn the_jar_decides_lifetimes_and_the_string_is_the_fallback() {
        let now = 1_700_000_000.0;
        let jar = vec![
            // Asked for ten years, stored for Chromium's 400-day maximum.
            JarCookie {
                name: "_fbp".into(),
                domain: ".shop.example".into(),
                path: "/".into(),
                expires: Some(now + 400.0 * 86_400.0),
            },
            JarCookie {
                name: "sid".into(),
                domain: "shop.example".into(),
                path: "/".into(),
                expires: None,
            },
            JarCookie {
                name: "pref".into(),
                domain: "shop.example".into(),
                path: "/account".into(),
                expires: Some(now + 60.0),
            },
            JarCookie {
                name: "pref".into(),
                domain: "shop.example".into(),
                path: "/".into(),
                expires: Some(now + 3600.0),
            },
        ];
        let mut cookies = vec![
            cookie("_fbp", "shop.example", Some(3650 * 86_400), false),
            cookie("sid", "shop.example", Some(86_400), false),
            cookie("pref", "shop.example", Some(1), false),
            cookie("gone", "shop.example", Some(42), false),
            cookie("_fbp", "tracker.example", Some(7), true),
        ];
        apply_jar(&mut cookies, &jar, now);
        let lifetimes: Vec<Option<i64>> = cookies.iter().map(|c| c.lifetime_secs).collect();
        assert_eq!(lifetimes, vec![Some(400 * 86_400), None, Some(3600), Some(42), Some(7)]);
    }
}
