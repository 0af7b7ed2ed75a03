//! Turning the visitor's buttons and switches into a [`Choice`], and the UI
//! after it: the banner goes, the dialog closes, and a withdrawal offers a
//! reload.

#[cfg(feature = "dialog")]
use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::JsValue;

use crate::Widget;
use crate::decision::{self, Choice};
#[cfg(feature = "dialog")]
use crate::dom::{add, attr, button, el, text};
use crate::loader::{get, keys};
#[cfg(feature = "dialog")]
use crate::preferences::{self, input};

/// Accept all or Reject all, from either layer. Where only the refusals of
/// the decision in force stand and the banner asks for the rest (`p`, see
/// `lapse` in loader/source.js), "all" is what was asked: the refusals are
/// kept, a refused purpose is not granted by a question that did not ask
/// for it.
pub fn all(w: &mut Widget, granted: bool) {
    let Some(ui) = &w.ui else { return };
    let dec = w.internals.dec();
    let held = if get(&dec, "p").is_truthy() {
        dec
    } else {
        JsValue::UNDEFINED
    };
    let (held_c, held_s) = (get(&held, "c"), get(&held, "s"));
    let mut kept = false;
    let mut categories = Vec::new();
    for c in &ui.site.categories {
        let refused = get(&held_c, &c.id).as_bool() == Some(false);
        kept |= refused;
        categories.push((c.id.clone(), granted && !refused));
    }
    let mut services = Vec::new();
    for s in keys(&held_s) {
        if ui.site.service(&s).is_some() {
            kept = true;
            services.push((s, false));
        }
    }
    let method = match (granted, kept) {
        (true, false) => "accept_all",
        (true, true) => "custom",
        (false, _) => "reject_all",
    };
    apply(
        w,
        Choice {
            categories,
            services,
            method,
        },
    );
}

/// The switches of the preferences dialog as they stand.
#[cfg(feature = "dialog")]
pub fn save(w: &mut Widget) {
    let Some(ui) = &w.ui else { return };
    let mut categories: Vec<(String, bool)> = Vec::new();
    let mut services = Vec::new();
    let mut all_on = true;
    let mut all_off = true;
    for c in &ui.site.categories {
        let on = c.required || input("km-c-", &c.id).is_some_and(|i| i.checked());
        categories.push((c.id.clone(), on));
        if !c.required {
            all_on &= on;
            all_off &= !on;
        }
        // A service is recorded only where it differs from its category.
        for s in ui.site.services_of(&c.id) {
            let s_on = input("km-s-", &s.id).is_some_and(|i| i.checked());
            if s_on != on && !c.required {
                services.push((s.id.clone(), s_on));
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
    apply(
        w,
        Choice {
            categories,
            services,
            method,
        },
    );
}

fn apply(w: &mut Widget, choice: Choice) {
    w.reload_suggested |= decision::decide(w, choice);
    #[cfg(feature = "dialog")]
    let reload = w.reload_suggested;
    let Some(ui) = w.ui.as_mut() else { return };
    if let Some(b) = ui.banner.take() {
        b.remove();
    }
    // Only the dialog withdraws (see `site`): the banner's module has no
    // reload notice.
    #[cfg(feature = "dialog")]
    {
        preferences::close(ui);
        if reload {
            announce_reload(ui);
        }
    }
}

/// Tells the visitor, in a live region that outlasts the dialog, that
/// services already running stop only after a reload.
#[cfg(feature = "dialog")]
fn announce_reload(ui: &mut crate::Ui) {
    let toast = el("div", "km-toast");
    attr(&toast, "role", "status");
    add(&toast, &text("p", "", &ui.site.text("reload_notice")));
    add(&toast, &button("km-btn", &ui.site.text("reload"), "reload"));
    add(&ui.root, &toast);
}
