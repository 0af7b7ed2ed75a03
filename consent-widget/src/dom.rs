//! The DOM, as the widget uses it. Site-provided text only ever goes
//! through `textContent` (never `innerHTML`), so a configuration cannot
//! inject markup.
//!
//! The bindings are declared here rather than taken from `web-sys`: only
//! what the widget calls, with no `catch` (none of these throw for the
//! arguments the widget passes) and no `instanceof` checks, which keeps both
//! the wasm and its JS glue small. Event listeners are attached by the JS
//! side (`web/boot.js`) and call the exported [`crate::act`],
//! [`crate::follow`] and [`crate::tab`]: no closures cross the boundary.

use alloc::string::String;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Any element the widget creates or finds.
    #[derive(Clone)]
    pub type Element;

    #[wasm_bindgen(js_namespace = document, js_name = createElement)]
    fn create_element(tag: &str) -> Element;
    #[wasm_bindgen(js_namespace = document, js_name = getElementById)]
    pub fn by_id(id: &str) -> Option<Element>;
    #[wasm_bindgen(thread_local_v2, js_name = document)]
    static DOCUMENT: Element;
    #[wasm_bindgen(method, getter)]
    fn body(this: &Element) -> Option<Element>;
    #[wasm_bindgen(method, getter = activeElement)]
    fn active_element(this: &Element) -> JsValue;

    #[wasm_bindgen(method, setter = className)]
    fn set_class_name(this: &Element, class: &str);
    #[wasm_bindgen(method, setter = textContent)]
    pub fn set_text(this: &Element, text: &str);
    /// `textContent` from a JS string as it is (no copy through the wasm).
    #[wasm_bindgen(method, setter = textContent)]
    pub fn set_text_value(this: &Element, text: &JsValue);
    #[wasm_bindgen(method, js_name = setAttribute)]
    pub fn set_attribute(this: &Element, name: &str, value: &str);
    #[wasm_bindgen(method, js_name = appendChild)]
    fn append_child(this: &Element, child: &Element);
    #[wasm_bindgen(method, getter = lastElementChild)]
    pub fn last_element_child(this: &Element) -> Option<Element>;
    #[wasm_bindgen(method, js_name = querySelector)]
    pub fn query_selector(this: &Element, selector: &str) -> Option<Element>;
    #[wasm_bindgen(method, js_name = querySelectorAll)]
    pub fn query_selector_all(this: &Element, selector: &str) -> List;
    #[wasm_bindgen(method)]
    pub fn contains(this: &Element, other: &JsValue) -> bool;
    #[wasm_bindgen(method)]
    pub fn focus(this: &Element);
    #[wasm_bindgen(method)]
    pub fn remove(this: &Element);
    /// `<input>`
    #[wasm_bindgen(method, getter)]
    pub fn checked(this: &Element) -> bool;
    #[wasm_bindgen(method, setter)]
    pub fn set_checked(this: &Element, on: bool);
    /// `<dialog>`
    #[wasm_bindgen(method, getter)]
    pub fn open(this: &Element) -> bool;
    #[wasm_bindgen(method, js_name = showModal)]
    pub fn show_modal(this: &Element);
    #[wasm_bindgen(method)]
    pub fn close(this: &Element);

    /// A JS array or a `NodeList`.
    pub type List;
    #[wasm_bindgen(method, getter)]
    pub fn length(this: &List) -> u32;
    #[wasm_bindgen(method, indexing_getter)]
    pub fn at(this: &List, i: u32) -> JsValue;

    #[wasm_bindgen(thread_local_v2, js_name = location)]
    static LOCATION: JsValue;
    #[wasm_bindgen(js_namespace = location)]
    pub fn reload();
}

/// The page's host name (`location.hostname`).
pub fn hostname() -> String {
    LOCATION.with(|l| crate::site::string(l, "hostname"))
}

/// The focused element (`document.activeElement`).
pub fn focused() -> JsValue {
    DOCUMENT.with(Element::active_element)
}

pub fn el(tag: &str, class: &str) -> Element {
    let e = create_element(tag);
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

/// An element holding plain text.
pub fn text(tag: &str, class: &str, text: &str) -> Element {
    let e = el(tag, class);
    e.set_text(text);
    e
}

pub fn attr(e: &Element, name: &str, value: &str) {
    e.set_attribute(name, value);
}

pub fn add(parent: &Element, child: &Element) {
    parent.append_child(child);
}

/// A button routed through [`crate::act`] by its `data-km` action.
pub fn button(class: &str, label: &str, action: &str) -> Element {
    let b = text("button", class, label);
    attr(&b, "type", "button");
    attr(&b, "data-km", action);
    b
}

/// The widget's container, in `<body>` (the JS side attaches its listeners).
pub fn root(lang: &str) -> Element {
    let root = el("div", "km-root");
    attr(&root, "lang", lang);
    if let Some(body) = DOCUMENT.with(Element::body) {
        add(&body, &root);
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
