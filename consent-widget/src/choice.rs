//! Turning the visitor's buttons and switches into a decision, named with
//! the methods of `consent_core::decision::Method`, and handing it to the
//! loader, which applies it at once, stores it and records it with the server
//! (queued while offline).

use wasm_bindgen::prelude::*;

use crate::Ui;
use crate::preferences::{self, input};
use crate::site::get;

#[wasm_bindgen]
extern "C" {
    /// A new empty object (`Object()`).
    #[wasm_bindgen(js_name = Object)]
    fn object() -> JsValue;
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &JsValue, key: &str, value: bool);
}

fn set(o: &JsValue, k: &str, v: bool) {
    reflect_set(o, k, v);
}

/// Accept all or Reject all, from either layer.
pub fn all(ui: &mut Ui, granted: bool) {
    let cats = object();
    for c in &ui.site.categories {
        set(&cats, &c.id, granted || c.required);
    }
    let method = if granted { "accept_all" } else { "reject_all" };
    apply(ui, cats, object(), method);
}

/// The switches of the preferences dialog as they stand.
pub fn save(ui: &mut Ui) {
    let cats = object();
    let svcs = object();
    let mut all_on = true;
    let mut all_off = true;
    for c in &ui.site.categories {
        let on = c.required || input("km-c-", &c.id).is_some_and(|i| i.checked());
        set(&cats, &c.id, on);
        if !c.required {
            all_on &= on;
            all_off &= !on;
        }
        // A service is recorded only where it differs from its category.
        for s in ui.site.services_of(&c.id) {
            let s_on = input("km-s-", &s.id).is_some_and(|i| i.checked());
            if s_on != on && !c.required {
                set(&svcs, &s.id, s_on);
                all_on &= s_on;
                all_off &= !s_on;
            }
        }
    }
    let method = if all_on {
        "accept_all"
    } else if all_off {
        "reject_all"
    } else {
        "custom"
    };
    apply(ui, cats, svcs, method);
}

fn apply(ui: &mut Ui, cats: JsValue, svcs: JsValue, method: &str) {
    // Taking back something granted before is a withdrawal, whatever button
    // did it: the record says so.
    let before = ui.site.k.decision();
    let before_cats = get(&before, "categories");
    let withdrawal = !before.is_null()
        && !before.is_undefined()
        && ui
            .site
            .categories
            .iter()
            .any(|c| !c.required && get(&before_cats, &c.id).is_truthy() && !get(&cats, &c.id).is_truthy());
    let method = if withdrawal { "withdrawal" } else { method };
    ui.site.k.set_decision(&cats, &svcs, method);
    if let Some(b) = ui.banner.take() {
        b.remove();
    }
    preferences::close(ui);
    if ui.site.k.reload_suggested() {
        preferences::announce_reload(ui);
    }
}
