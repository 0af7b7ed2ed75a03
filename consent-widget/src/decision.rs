//! Making a decision: the visitor's answers completed with the site's
//! rules (required categories always on), compared with the decision in
//! force (taking back a grant, of a category or of a service granted on its
//! own, is a withdrawal, whatever button did it),
//! stored in the first-party cookie, put into force by the loader, the
//! withdrawn purposes' cookies deleted, and queued for the consent server.

use alloc::string::String;
use alloc::vec::Vec;

use crate::Widget;
use crate::cookie_jar;
use crate::json;
use crate::loader::{get, is_nothing, keys, list, parse_json, string};

/// What the visitor answered: categories and services, each granted or
/// not, and how (`consent_core::decision::Method`'s names).
pub struct Choice {
    pub categories: Vec<(String, bool)>,
    pub services: Vec<(String, bool)>,
    pub method: &'static str,
}

impl Choice {
    fn category(&self, id: &str) -> bool {
        self.categories.iter().any(|(c, on)| c == id && *on)
    }

    fn service(&self, id: &str) -> Option<bool> {
        self.services.iter().find(|(s, _)| s == id).map(|(_, on)| *on)
    }
}

fn strings(v: &wasm_bindgen::JsValue, key: &str) -> Vec<String> {
    list(v, key).filter_map(|s| s.as_string()).collect()
}

/// Applies, stores and records a choice. True when it withdrew something
/// granted before (services already running stop only after a reload).
pub fn decide(w: &mut Widget, choice: Choice) -> bool {
    let rules = &w.rules;
    let required = strings(rules, "r");
    let before = w.internals.dec();
    let (before_c, before_s) = (get(&before, "c"), get(&before, "s"));
    let decided_before = !is_nothing(&before);

    let mut categories = Vec::new();
    // (category, service): one of the two is empty.
    let mut withdrawn: Vec<(String, String)> = Vec::new();
    for c in strings(rules, "c") {
        let on = required.contains(&c) || choice.category(&c);
        if decided_before && !on && get(&before_c, &c).as_bool() == Some(true) {
            withdrawn.push((c.clone(), String::new()));
        }
        categories.push((c, on));
    }
    // A service granted on its own is withdrawn when it is refused now, on
    // its own or with its category (a "Reject all" lists no services).
    let site = w.ui.as_ref().map(|ui| &ui.site);
    for s in keys(&before_s) {
        let now = choice.service(&s).unwrap_or_else(|| {
            let category = site.and_then(|site| site.services.iter().find(|x| x.id == s));
            category.is_none_or(|x| categories.iter().any(|(c, on)| *c == x.category && *on))
        });
        if get(&before_s, &s).as_bool() == Some(true) && !now {
            withdrawn.push((String::new(), s));
        }
    }
    let method = if withdrawn.is_empty() {
        choice.method
    } else {
        "withdrawal"
    };

    let gpc = w.k.gpc();
    let version = string(rules, "v");
    let value = cookie_jar::value(&cookie_jar::Stored {
        version: &version,
        fingerprint: &string(rules, "f"),
        time: crate::dom::unix_now(),
        categories: &categories,
        required: &required,
        services: &choice.services,
        gpc,
    });
    let days = get(rules, "e").as_f64().unwrap_or(182.0) as u64;
    cookie_jar::write(&value, days);
    // Only the UI has the declared cookies; a grant ("always allow" on a
    // placeholder, without the UI) never withdraws.
    if let Some(ui) = &w.ui {
        for (c, s) in &withdrawn {
            cookie_jar::wipe(&ui.site, c, s);
        }
    }
    w.internals.apply(&value);

    let cats = json::flags(&categories);
    let svcs = json::flags(&choice.services);
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
        .bool("withdrawn", !withdrawn.is_empty())
        .done();
    w.internals.emit("keurmerk:change", &parse_json(&detail));
    !withdrawn.is_empty()
}

/// "Always allow" on a blocked embed's placeholder: the decision in force,
/// plus one service (or, without one, one category).
pub fn allow(w: &mut Widget, category: &str, service: &str) {
    let before = w.internals.dec();
    let (before_c, before_s) = (get(&before, "c"), get(&before, "s"));
    let categories = strings(&w.rules, "c")
        .into_iter()
        .map(|c| {
            let on = get(&before_c, &c).as_bool() == Some(true) || (service.is_empty() && c == category);
            (c, on)
        })
        .collect();
    let mut services: Vec<(String, bool)> = keys(&before_s)
        .filter(|s| s != service)
        .map(|s| {
            let on = get(&before_s, &s).as_bool() == Some(true);
            (s, on)
        })
        .collect();
    if !service.is_empty() {
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
