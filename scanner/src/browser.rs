//! The browser pass: headless Chromium over the DevTools protocol sees what
//! scripts really do. Each page is visited in four consent states, each in
//! its own fresh browser context and all at once: no interaction (with
//! canary form filling and safe clicks), after "reject all", after "accept
//! all", and with Global Privacy Control on (no choice made). Every request (with the script that caused it), every
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
    /// Pages visited (each in three consent states).
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
    let refusals = session.refusals();
    session.close().await;
    refused_problems(&mut obs, refusals);
    obs
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
