//! The JavaScript the browser pass runs in pages, kept as `.js` files beside
//! this one and compiled in: the cookie instrumentation, the interaction
//! (scrolling, canary form filling, clicks), the banner operator and the
//! storage key listing. Placeholders (`__EMAIL__`, `__ACCEPT__`, …) are
//! filled in here, values as JSON.

use std::time::Duration;

use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::page::Page;
use serde::Deserialize;

use crate::pii::{CanaryIdentity, normalise_phone};

/// Runs before any page script: records `document.cookie` writes,
/// fingerprinting probes and storage writes with the script that made them
/// (from the stack).
pub(super) const INSTRUMENT: &str = include_str!("instrument.js");

/// Global Privacy Control on, as a browser that sends it exposes it
/// (W3C Global Privacy Control, the `globalPrivacyControl` attribute of
/// `Navigator`); the GPC run also sends the `Sec-GPC: 1` header.
pub(super) const GPC: &str = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', \
     { get() { return true; }, configurable: true, enumerable: true });";

/// The cookie writes [`INSTRUMENT`] recorded since the last navigation.
const RECORDED_COOKIES: &str = "(window.__keurmerkScan && window.__keurmerkScan.cookies) || []";

/// The probes and storage writes [`INSTRUMENT`] recorded since the last navigation.
const RECORDED_ACTIVITY: &str = "(window.__keurmerkScan && window.__keurmerkScan.activity) || []";

/// `localStorage` and `sessionStorage` keys as `area:key`.
const STORAGE_KEYS: &str = include_str!("storage_keys.js");

/// The three above in one object (`cookies`, `activity`, `storage`): one
/// round trip to the page instead of three.
pub(super) fn snapshot() -> String {
    format!(
        "({{ cookies: ({RECORDED_COOKIES}),\n  activity: ({RECORDED_ACTIVITY}),\n  storage: (\n{STORAGE_KEYS}\n) }})"
    )
}

const INTERACT: &str = include_str!("interact.js");

/// Finds and operates the consent banner: Keurmerk's own API first, then
/// Keurmerk's buttons, then well-known CMP buttons, then buttons by text.
const BANNER: &str = include_str!("banner.js");

/// Scrolls, fills every form with `canary` (submitting only if `submit`)
/// and clicks buttons that are neither submit nor consent buttons.
pub(super) fn interact(canary: &CanaryIdentity, submit: bool) -> String {
    let digits = normalise_phone(&canary.phone);
    INTERACT
        .replace("__EMAIL__", &js_str(&canary.email))
        .replace("__PHONE__", &js_str(&digits))
        .replace("__FIRST__", &js_str(&canary.first_name))
        .replace("__LAST__", &js_str(&canary.last_name))
        .replace("__ZIP__", &js_str(&canary.postal_code))
        .replace("__SUBMIT__", if submit { "true" } else { "false" })
}

/// Accepts (or rejects) all; evaluates to how, or `null` without a banner.
pub(super) fn banner(accept: bool) -> String {
    BANNER.replace("__ACCEPT__", if accept { "true" } else { "false" })
}

fn js_str(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

/// Evaluates `js` in the page (awaiting a promise), within 5 s.
pub(super) async fn evaluate<T: for<'de> Deserialize<'de>>(page: &Page, js: &str) -> Option<T> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let canary = CanaryIdentity::default();
        for js in [
            interact(&canary, false),
            interact(&canary, true),
            banner(true),
            banner(false),
        ] {
            assert!(!js.contains("__"), "placeholder left in {js}");
        }
        assert!(interact(&canary, false).contains(&js_str(&canary.email)));
    }
}
