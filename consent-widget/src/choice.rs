//! Turning the visitor's buttons and switches into a [`Choice`], and the UI
//! after it: the banner goes, the dialog closes, and a withdrawal offers a
//! reload.

use alloc::string::String;
use alloc::vec::Vec;

use crate::Widget;
use crate::decision::{self, Choice};
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
    preferences::close(ui);
    if reload {
        preferences::announce_reload(ui);
    }
}
