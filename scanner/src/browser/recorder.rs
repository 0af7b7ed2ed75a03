//! What the browser pass records: every request (with the script that
//! caused it), every cookie set over HTTP (blocked ones too) or by
//! JavaScript (with the setting script), every storage key, each tagged with
//! its consent state, and the lifetimes the browser's cookie jar really keeps.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use chromiumoxide::cdp::browser_protocol::network::{EventRequestWillBeSent, EventResponseReceivedExtraInfo};
use chromiumoxide::cdp::js_protocol::runtime::StackTrace;
use chromiumoxide::page::Page;
use serde::Deserialize;

use super::scripts::{self, evaluate};
use crate::cookie::parse_set_cookie;
use crate::page::{
    ActivityKind, ConsentState, Cookie, Observations, Pass, Request, ScriptActivity, SetBy, StorageItem, same_site,
};
use crate::pii::MAX_SCAN_BYTES;

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

/// Network events, as they arrive, tagged with the phase (0 = before the
/// choice, 1 = after).
#[derive(Default)]
pub(super) struct Recorder {
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
    pub(super) fn request(&self, ev: &EventRequestWillBeSent, phase: u8) {
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

    pub(super) fn extra(&self, ev: &EventResponseReceivedExtraInfo, phase: u8) {
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

    pub(super) fn drain_into(
        &self,
        obs: &mut Observations,
        page: &str,
        site_host: &str,
        after: ConsentState,
        visit: u32,
    ) {
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

/// Quiet this long and the page is taken to be done for now.
const QUIET: Duration = Duration::from_millis(300);

/// Waits until no network event arrived for [`QUIET`], at most `max`; at
/// least a moment, so what the last action set off has begun. It sleeps
/// until the page would have been quiet long enough, checks again, and
/// sleeps on if an event came in meanwhile.
pub(super) async fn settle(rec: &Recorder, max: Duration) {
    let until = tokio::time::Instant::now() + max;
    tokio::time::sleep(Duration::from_millis(150).min(max)).await;
    loop {
        let quiet = rec.quiet_for();
        let now = tokio::time::Instant::now();
        if quiet >= QUIET || now >= until {
            return;
        }
        tokio::time::sleep_until((now + (QUIET - quiet)).min(until)).await;
    }
}

#[derive(Deserialize)]
struct JsCookie {
    line: String,
    script: Option<String>,
}

#[derive(Deserialize)]
struct JsActivity {
    kind: ActivityKind,
    detail: String,
    script: Option<String>,
}

/// What the page holds at one moment, read in one round trip: the cookie
/// writes and the probes and storage writes [`scripts::INSTRUMENT`]
/// recorded since the last navigation, and the storage keys.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct Snapshot {
    cookies: Vec<JsCookie>,
    activity: Vec<JsActivity>,
    storage: Vec<String>,
}

/// How many of a snapshot's records were already taken.
#[derive(Clone, Copy, Default)]
pub(super) struct Seen {
    cookies: usize,
    activity: usize,
}

impl Snapshot {
    pub(super) async fn take(page: &Page) -> Snapshot {
        evaluate(page, &scripts::snapshot()).await.unwrap_or_default()
    }

    /// Records the cookie writes, probes and storage writes after `seen`
    /// as happening in `state`; returns how many there are now.
    pub(super) fn record(
        &self,
        obs: &mut Observations,
        page_url: &str,
        site_host: &str,
        state: ConsentState,
        seen: Seen,
    ) -> Seen {
        let now = SystemTime::now();
        let host = url::Url::parse(page_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        for c in self.cookies.iter().skip(seen.cookies) {
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
        for a in self.activity.iter().skip(seen.activity) {
            obs.activity.push(ScriptActivity {
                page: page_url.to_owned(),
                kind: a.kind,
                detail: a.detail.clone(),
                script: a.script.clone(),
                state,
            });
        }
        Seen {
            cookies: self.cookies.len(),
            activity: self.activity.len(),
        }
    }

    /// Records the `localStorage` and `sessionStorage` keys (`area:key`)
    /// not in `known`; returns all current ones.
    pub(super) fn record_storage(
        &self,
        obs: &mut Observations,
        page_url: &str,
        state: ConsentState,
        known: &[String],
    ) -> Vec<String> {
        let origin = url::Url::parse(page_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        for k in &self.storage {
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
        self.storage.clone()
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

pub(super) fn unix_now() -> f64 {
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
