//! DOM helpers. Site-provided text only ever goes through `textContent`
//! (never `innerHTML`), so a configuration cannot inject markup.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, Event};

use crate::site::Site;

pub fn document() -> Document {
    web_sys::window().and_then(|w| w.document()).expect("a document")
}

pub fn el(tag: &str, class: &str) -> Element {
    let e = document().create_element(tag).expect("valid tag");
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

/// `{name}` placeholders filled without `format!` machinery.
pub fn fill(template: &str, name: &str, value: &str) -> String {
    let mut key = String::with_capacity(name.len() + 2);
    key.push('{');
    key.push_str(name);
    key.push('}');
    template.replace(&key, value)
}
