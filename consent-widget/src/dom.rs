//! DOM helpers. Site-provided text only ever goes through `textContent`
//! (never `innerHTML`), so a configuration cannot inject markup.

use alloc::string::String;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, Event};

use crate::site::Site;

/// Stops on a broken invariant without a panic message: formatting one
/// would pull `core::fmt` (kilobytes) into the wasm.
pub fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    unreachable!()
}

pub fn document() -> Document {
    web_sys::window().and_then(|w| w.document()).unwrap_or_else(|| trap())
}

pub fn el(tag: &str, class: &str) -> Element {
    let e = document().create_element(tag).unwrap_or_else(|_| trap());
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

/// An element holding plain text.
pub fn text(tag: &str, class: &str, text: &str) -> Element {
    let e = el(tag, class);
    e.set_text_content(Some(text));
    e
}

pub fn attr(e: &Element, name: &str, value: &str) {
    let _ = e.set_attribute(name, value);
}

pub fn add(parent: &Element, child: &Element) {
    let _ = parent.append_child(child);
}

/// A button routed through [`crate::on_action`] by its `data-km` action.
pub fn button(class: &str, label: &str, action: &str) -> Element {
    let b = text("button", class, label);
    attr(&b, "type", "button");
    attr(&b, "data-km", action);
    b
}

/// The widget's container, with one delegated listener per event type (one
/// closure each instead of one per button keeps the wasm small).
pub fn root(site: &Site) -> Element {
    let root = el("div", "km-root");
    attr(&root, "lang", &site.lang);
    let click = Closure::<dyn FnMut(Event)>::new(|ev: Event| {
        let target = ev.target().and_then(|t| t.dyn_into::<Element>().ok());
        if let Some(action) = target
            .and_then(|t| t.closest("[data-km]").ok().flatten())
            .and_then(|b| b.get_attribute("data-km"))
        {
            crate::on_action(&action);
        }
    });
    let change = Closure::<dyn FnMut(Event)>::new(|ev: Event| {
        if let Some(t) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) {
            crate::on_switch(&t);
        }
    });
    let keydown = Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(|ev: web_sys::KeyboardEvent| {
        if ev.key() == "Tab" {
            crate::on_tab(&ev);
        }
    });
    let _ = root.add_event_listener_with_callback("keydown", keydown.as_ref().unchecked_ref());
    keydown.forget();
    let _ = root.add_event_listener_with_callback("click", click.as_ref().unchecked_ref());
    let _ = root.add_event_listener_with_callback("change", change.as_ref().unchecked_ref());
    // The listeners live as long as the page.
    click.forget();
    change.forget();
    if let Some(body) = document().body() {
        let _ = body.append_child(&root);
    }
    root
}

/// `{name}` placeholders filled without `format!` or the substring-search
/// machinery (a byte loop is a few dozen bytes of wasm).
pub fn fill(template: &str, name: &str, value: &str) -> String {
    let (t, n) = (template.as_bytes(), name.as_bytes());
    let mut out = String::with_capacity(template.len() + value.len());
    let mut i = 0;
    let mut from = 0;
    // `get` instead of indexing: no bounds-check panic, so no formatting code.
    while i + n.len() + 2 <= t.len() {
        let hit = t.get(i) == Some(&b'{')
            && t.get(i + n.len() + 1) == Some(&b'}')
            && t.get(i + 1..i + 1 + n.len()) == Some(n);
        if hit {
            out.push_str(template.get(from..i).unwrap_or_default());
            out.push_str(value);
            i += n.len() + 2;
            from = i;
        } else {
            i += 1;
        }
    }
    out.push_str(template.get(from..).unwrap_or_default());
    out
}

/// Appends a small number's decimal digits (no `core::fmt`).
pub fn push_number(s: &mut String, n: usize) {
    if n >= 10 {
        push_number(s, n / 10);
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_every_placeholder_and_nothing_else() {
        assert_eq!(fill("{c} uses {c}.", "c", "Shop"), "Shop uses Shop.");
        assert_eq!(fill("{x} {c", "c", "Shop"), "{x} {c");
        assert_eq!(fill("", "c", "Shop"), "");
        assert_eq!(fill("a{controller}", "controller", "<b>"), "a<b>");
    }

    #[test]
    fn numbers() {
        for n in [0usize, 7, 10, 256, 18_446_744_073_709_551_615] {
            let mut s = String::new();
            push_number(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
