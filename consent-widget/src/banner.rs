//! The first layer: who asks and why, in plain words, with Accept all and
//! Reject all as equal buttons (same class, same size, same colours) and
//! Preferences next to them. Nothing is pre-ticked: nothing is granted until
//! the visitor presses a button. It names the purposes asked for and who
//! receives the data (the declared services' companies).

use alloc::vec::Vec;

use wasm_bindgen::JsValue;

use crate::dom::{Element, add, attr, button, el, fill, text};
use crate::loader::get;
use crate::site::Site;

/// `refused`: the categories of the decision in force (`c`), whose refused
/// ones the banner does not ask for again (a purpose refused stays refused
/// for the site's refusal months; undefined when there is no decision).
pub fn show(site: &Site, root: &Element, refused: &JsValue) -> Element {
    let b = el("div", "km-banner");
    // A non-modal dialog: the page stays usable, but assistive technology
    // announces it as one unit with its title and description.
    attr(&b, "role", "dialog");
    attr(&b, "aria-modal", "false");
    attr(&b, "aria-labelledby", "km-bt");
    attr(&b, "aria-describedby", "km-bd");
    attr(&b, "tabindex", "-1");
    let title = text("h2", "km-title", &site.text("title"));
    attr(&title, "id", "km-bt");
    add(&b, &title);

    let who = if site.controller.is_empty() {
        crate::dom::hostname()
    } else {
        site.controller.clone()
    };
    let desc = el("div", "km-desc");
    attr(&desc, "id", "km-bd");
    add(&desc, &text("p", "", &fill(&site.text("intro"), "controller", &who)));
    let asked: Vec<&str> = site
        .categories
        .iter()
        .filter(|c| !c.required && get(refused, &c.id).as_bool() != Some(false))
        .map(|c| c.id.as_str())
        .collect();
    let mut purposes = site.text("purposes");
    let mut first = true;
    for c in site.categories.iter().filter(|c| asked.contains(&c.id.as_str())) {
        if !first {
            purposes.push_str(", ");
        }
        first = false;
        purposes.push_str(&c.title);
    }
    purposes.push('.');
    add(&desc, &text("p", "", &purposes));
    // Who receives the data, on the first layer (the Dutch AP asks for
    // "who and why" there): each company once, in declaration order.
    let mut who: Vec<&str> = Vec::new();
    for s in site.services.iter().filter(|s| asked.contains(&s.category.as_str())) {
        let name = if s.provider.is_empty() { &s.name } else { &s.provider };
        if !name.is_empty() && !who.contains(&name.as_str()) {
            who.push(name);
        }
    }
    if !who.is_empty() {
        let mut line = site.text("recipients");
        for (i, name) in who.iter().enumerate() {
            if i > 0 {
                line.push_str(", ");
            }
            line.push_str(name);
        }
        line.push('.');
        let p = text("p", "km-to", &line);
        add(&desc, &p);
    }
    if site.gpc() {
        add(&desc, &text("p", "km-gpc", &site.text("gpc")));
    }
    add(&b, &desc);

    let actions = el("div", "km-actions");
    add(&actions, &button("km-btn", &site.text("reject_all"), "reject"));
    add(&actions, &button("km-btn", &site.text("accept_all"), "accept"));
    add(&actions, &button("km-btn", &site.text("preferences"), "prefs"));
    add(&b, &actions);
    if !site.privacy_policy_url.is_empty() {
        let a = text("a", "km-link", &site.text("privacy_policy"));
        attr(&a, "href", &site.privacy_policy_url);
        add(&b, &a);
    }
    add(root, &b);
    // Focus moves to the banner so keyboard and screen-reader users meet it
    // first; its buttons follow in tab order.
    crate::dom::focus(&b);
    b
}
