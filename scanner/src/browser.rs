//! The browser pass: headless Chromium over the DevTools protocol sees what
//! scripts really do. Each page is visited in four consent states, each in
//! its own fresh browser context: no interaction (with canary form filling
//! and safe clicks), after "reject all", after "accept all", and with Global
//! Privacy Control on (no choice made). The visits of all pages are queued
//! at once and run several at a time in one Chromium (`session.rs`,
//! `runs_at_once`). Every request (with the script that caused it), every
//! cookie set over HTTP (blocked ones too) or by JavaScript (with the setting
//! script) and every storage key is recorded with its consent state.
//!
//! - `browser/session.rs`: launching Chromium, browser contexts and pages,
//!   and driving a page through one consent state.
//! - `browser/recorder.rs`: what gets recorded (network events, cookies,
//!   storage keys, the lifetimes the cookie jar keeps).
//! - `browser/scripts.rs`: the JavaScript run in pages (`browser/*.js`).
//! - `browser/proxy.rs`: the SSRF guard's SOCKS5 proxy, Chromium's only
//!   way out unless private targets are allowed.

mod proxy;
mod recorder;
mod scripts;
mod session;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use recorder::{JarCookie, apply_jar};
use session::Session;

use crate::crawl::Progress;
use crate::guard::Guard;
use crate::page::{Observations, Problem, ProblemKind};
use crate::pii::CanaryIdentity;

#[derive(Clone, Debug)]
pub struct BrowserOptions {
    pub chromium: PathBuf,
    /// Pages visited (each in three consent states, four with `gpc`).
    pub max_pages: usize,
    /// Extra `--host-resolver-rules` (tests map tracker hosts to loopback).
    /// Names are resolved by the SSRF guard's proxy while it is on, so
    /// these then only decide what Chromium resolves itself.
    pub host_resolver_rules: Option<String>,
    /// Accept any certificate (tests only).
    pub insecure_tls: bool,
    /// Longest wait for a page to go quiet, per phase.
    pub dwell: Duration,
    pub page_timeout: Duration,
    /// Submit forms after filling them (off: fill only, never send).
    pub submit_forms: bool,
    /// Also visit each page a fourth time with Global Privacy Control on
    /// (`Sec-GPC: 1`, `navigator.globalPrivacyControl`), without choosing.
    pub gpc: bool,
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
            gpc: true,
        }
    }
}

/// Runs the browser pass over `pages` within `left`, connecting only where
/// `guard` allows; failures and refused connections become problems.
pub async fn run(
    o: &BrowserOptions,
    guard: &Guard,
    pages: &[url::Url],
    canary: &CanaryIdentity,
    left: Duration,
    progress: Progress<'_>,
) -> Observations {
    let mut obs = Observations::default();
    let deadline = Instant::now() + left;
    let launch = Instant::now();
    let session = match Session::launch(o, guard).await {
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
    tracing::debug!(launch_ms = launch.elapsed().as_millis() as u64, "Chromium started");
    // Every page at once, each in its consent states: the runs queue for
    // the session's run slots in page order, and the observations are
    // merged in page order whatever order they finish in.
    let done = AtomicUsize::new(0);
    let page_visits: Vec<_> = pages
        .iter()
        .map(|url| visit_page(&session, url, pages.len(), canary, o, deadline, &done, progress))
        .collect();
    let visits: Vec<Option<Observations>> = futures::future::join_all(page_visits).await;
    let mut not_visited = pages.iter().zip(&visits).filter(|(_, v)| v.is_none());
    if let Some((first, _)) = not_visited.next() {
        obs.problems.push(Problem {
            url: first.to_string(),
            kind: ProblemKind::Deadline,
            reason: format!(
                "scan deadline reached: {} pages not visited in the browser",
                1 + not_visited.count()
            ),
        });
    }
    for page_obs in visits.into_iter().flatten() {
        obs.extend(page_obs);
    }
    let refusals = session.refusals();
    session.close().await;
    refused_problems(&mut obs, refusals);
    obs
}

/// One page in its consent states; `None` when the scan deadline passed
/// before it could start.
#[allow(clippy::too_many_arguments)]
async fn visit_page(
    session: &Session,
    url: &url::Url,
    total: usize,
    canary: &CanaryIdentity,
    o: &BrowserOptions,
    deadline: Instant,
    done: &AtomicUsize,
    progress: Progress<'_>,
) -> Option<Observations> {
    let page_obs = session.visit(url, canary, o, deadline).await?;
    progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
    Some(page_obs)
}

/// One problem per destination the guard refused, naming a request that
/// wanted it (and its page) when one was recorded.
fn refused_problems(obs: &mut Observations, refusals: Vec<((String, u16), crate::guard::Refused)>) {
    for ((host, port), refused) in refusals {
        let wanted = obs.requests.iter().find(|r| {
            url::Url::parse(&r.url).is_ok_and(|u| {
                u.host_str().is_some_and(|h| h.trim_matches(['[', ']']) == host)
                    && u.port_or_known_default() == Some(port)
            })
        });
        let (url, on) = match wanted {
            Some(r) => (r.url.clone(), format!(" (on {})", r.page)),
            None => (format!("{host}:{port}"), String::new()),
        };
        obs.problems.push(Problem {
            reason: format!("the browser's request to {url}{on} was {refused}"),
            url,
            kind: ProblemKind::PrivateAddress,
        });
    }
}
