//! Making a decision: the visitor's answers completed with the site's
//! rules (required categories always on), compared with the decision in
//! force (taking back a grant, of a category or of a service granted on its
//! own, is a withdrawal, whatever button did it), stored in the first-party
//! cookie, put into force by the loader, the withdrawn purposes' cookies
//! deleted, and queued for the consent server.
//!
//! Written as plain loops over the rules' JS arrays into a few `String`s:
//! every iterator adapter, `Vec` of pairs and temporary `String` costs wasm,
//! and this code is on every first visit (see docs/benchmarks.md for its size).

use alloc::string::String;
use alloc::vec::Vec;

use crate::Widget;
use crate::cookie_jar;
use crate::json;
use crate::loader::{JsCast, List, get, keys, parse_json, string};

/// What the visitor answered: categories and services, each granted or
/// not, and how (`consent_core::decision::Method`'s names). Categories not
/// listed are refused; services not listed follow their category.
pub struct Choice {
    pub categories: Vec<(String, bool)>,
    pub services: Vec<(String, bool)>,
    pub method: &'static str,
}

fn answer(list: &[(String, bool)], id: &str) -> Option<bool> {
    for (k, on) in list {
        if k == id {
            return Some(*on);
        }
    }
    None
}

/// Applies, stores and records a choice. True when it withdrew something
/// granted before (services already running stop only after a reload).
pub fn decide(w: &mut Widget, choice: Choice) -> bool {
    let rules = &w.rules;
    let ids: List = get(rules, "c").unchecked_into();
    let required: List = get(rules, "r").unchecked_into();
    let before = w.internals.dec();
    let (before_c, before_s) = (get(&before, "c"), get(&before, "s"));
    let site = w.ui.as_ref().map(|ui| &ui.site);
    let mut withdrawn = false;

    // The cookie value (`cookie_jar::value`'s format) and the JSON of the
    // categories, written side by side.
    let version = string(rules, "v");
    let mut cookie = String::from(version.get(..16).unwrap_or(&version));
    cookie.push('.');
    cookie.push_str(&string(rules, "f"));
    cookie.push('.');
    crate::dom::push_number(&mut cookie, crate::dom::unix_now());
    cookie.push('.');
    let mut cats = json::Object::new();
    let mut granted: Vec<String> = Vec::new();
    for i in 0..ids.length() {
        let c = ids.at(i).as_string().unwrap_or_default();
        let req = required.includes(&c);
        let on = req || answer(&choice.categories, &c) == Some(true);
        if !on && get(&before_c, &c).as_bool() == Some(true) {
            withdrawn = true;
            #[cfg(feature = "dialog")]
            if let Some(site) = site {
                cookie_jar::wipe(site, &c, "");
            }
        }
        // Every optional category, granted or refused: a refusal is kept
        // when the purposes change (see `lapse` in loader/source.js).
        if !req {
            cookie_jar::add(&mut cookie, &c, if on { ":1" } else { ":0" });
        }
        cats = cats.bool(&c, on);
        if on {
            granted.push(c);
        }
    }
    cookie.push('.');
    let mut svcs = json::Object::new();
    for (s, on) in &choice.services {
        cookie_jar::add(&mut cookie, s, if *on { ":1" } else { ":0" });
        svcs = svcs.bool(s, *on);
    }
    // A service granted on its own is withdrawn when it is refused now, on
    // its own or with its category (a "Reject all" lists no services).
    for s in keys(&before_s) {
        let now = answer(&choice.services, &s).unwrap_or_else(|| match site.and_then(|site| site.service(&s)) {
            Some(x) => granted.contains(&x.category),
            None => true,
        });
        if !now && get(&before_s, &s).as_bool() == Some(true) {
            withdrawn = true;
            #[cfg(feature = "dialog")]
            if let Some(site) = site {
                cookie_jar::wipe(site, "", &s);
            }
        }
    }
    let gpc = w.k.gpc();
    cookie.push_str(if gpc { ".1" } else { ".0" });
    // As long as the longer of the decision's life and a refusal's
    // (months of at most 31 days), within the 400 days browsers allow.
    let days = get(rules, "e").as_f64().unwrap_or(182.0) as u64;
    let refusal = get(rules, "n").as_f64().unwrap_or(6.0) as u64 * 31;
    cookie_jar::write(&cookie, days.max(refusal).min(400), &string(rules, "d"));
    w.internals.apply(&cookie);

    let method = if withdrawn { "withdrawal" } else { choice.method };
    let (cats, svcs) = (cats.done(), svcs.done());
    let body = json::Object::new()
        .str("config_version", &version)
        .str("method", method)
        .raw("categories", &cats)
        .raw("services", &svcs)
        .str("language", &string(&w.k, "lang"))
        .str("page_path", &crate::dom::pathname())
        .bool("gpc", gpc)
        .done();
    crate::record::enqueue(w, &body);
    crate::record::flush(w);

    let detail = json::Object::new()
        .raw("categories", &cats)
        .raw("services", &svcs)
        .str("method", method)
        .bool("withdrawn", withdrawn)
        .done();
    w.internals.emit("keurmerk:change", &parse_json(&detail));
    withdrawn
}

/// "Always allow" on a blocked embed's placeholder: the decision in force,
/// plus one service (or, without one, one category).
pub fn allow(w: &mut Widget, category: &str, service: &str) {
    let before = w.internals.dec();
    let (before_c, before_s) = (get(&before, "c"), get(&before, "s"));
    let mut categories = Vec::new();
    for c in keys(&before_c) {
        let on = get(&before_c, &c).as_bool() == Some(true);
        categories.push((c, on));
    }
    let mut services = Vec::new();
    for s in keys(&before_s) {
        let on = s == service || get(&before_s, &s).as_bool() == Some(true);
        services.push((s, on));
    }
    if service.is_empty() {
        // Turn the category on where the decision has it (refused before),
        // else add it: a second entry would be shadowed by the first.
        match categories.iter_mut().find(|(c, _)| c == category) {
            Some(entry) => entry.1 = true,
            None => categories.push((category.into(), true)),
        }
    } else if answer(&services, service).is_none() {
        services.push((service.into(), true));
    }
    decide(
        w,
        Choice {
            categories,
            services,
            method: "custom",
        },
    );
}
