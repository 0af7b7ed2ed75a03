//! Turning the visitor's buttons and switches into a [`Choice`], and the UI
//! after it: the banner goes, the dialog closes, and a withdrawal offers a
//! reload.

#[cfg(feature = "dialog")]
use alloc::string::String;
use alloc::vec::Vec;

use crate::Widget;
use crate::decision::{self, Choice};
use crate::dom::{add, attr, button, el, text};
#[cfg(feature = "dialog")]
use crate::preferences::{self, input};

/// Accept all or Reject all, from either layer.
pub fn all(w: &mut Widget, granted: bool) {
    let Some(ui) = &w.ui else { return };
    let categories = ui.site.categories.iter().map(|c| (c.id.clone(), granted)).collect();
    let method = if granted { "accept_all" } else { "reject_all" };
    apply(
        w,
        Choice {
            categories,
            services: Vec::new(),
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
    let reload = w.reload_suggested;
    let Some(ui) = w.ui.as_mut() else { return };
    if let Some(b) = ui.banner.take() {
        b.remove();
    }
    #[cfg(feature = "dialog")]
    preferences::close(ui);
    if reload {
        announce_reload(ui);
    }
}

/// Tells the visitor, in a live region that outlasts the dialog, that
/// services already running stop only after a reload.
fn announce_reload(ui: &mut crate::Ui) {
    let toast = el("div", "km-toast");
    attr(&toast, "role", "status");
    add(&toast, &text("p", "", &ui.site.text("reload_notice")));
    add(&toast, &button("km-btn", &ui.site.text("reload"), "reload"));
    add(&ui.root, &toast);
}
