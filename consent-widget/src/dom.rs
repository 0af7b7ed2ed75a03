//! The DOM, as the widget uses it, through `web-sys`. Site-provided text
//! only ever goes through `textContent` (never `innerHTML`), so a
//! configuration cannot inject markup.
//!
//! Event listeners are attached by the JS side (`web/boot.js`) and call the
//! exported [`crate::act`], [`crate::follow`] and [`crate::tab`]: no
//! `Closure`s cross the boundary. Narrowing a type (`Element` to
//! `HtmlDialogElement`, ...) uses `unchecked_into`, not `dyn_into`: the
//! widget made or selected the element itself, so an `instanceof` check
//! would only cost an import.

use alloc::string::String;
use core::cell::UnsafeCell;

use wasm_bindgen::prelude::*;
pub use web_sys::Element;
#[cfg(feature = "dialog")]
use web_sys::HtmlElement;
use web_sys::{Document, HtmlDocument, Location};

#[wasm_bindgen]
extern "C" {
    /// `localStorage.removeItem`; throws where storage is off.
    #[cfg(feature = "dialog")]
    #[wasm_bindgen(js_namespace = localStorage, js_name = removeItem, catch)]
    fn local_remove(key: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = Date)]
    fn now() -> f64;
}

#[cfg(feature = "dialog")]
/// The value of a DOM call `web-sys` marks as throwing (`Result`). For what
/// the widget passes (its own tag names, attributes and selectors) none
/// throws; if one did, that is a bug in the widget and the call traps.
/// (`unwrap` would format the `JsValue` error, pulling `core::fmt` into the
/// wasm.)
pub fn sure<T>(r: Result<T, JsValue>) -> T {
    match r {
        Ok(v) => v,
        Err(_) => trap(),
    }
}

/// Stops the widget: on wasm32 a bare `unreachable` instruction, without the
/// message and source path `unreachable!()` would store in the wasm.
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    unreachable!()
}

/// The page's `document`, handed over by the JS side in [`crate::start`].
/// Not `web_sys::window()?.document()`: that looks the global object up
/// through four imports plus an `instanceof Window` check; and not a
/// `thread_local_v2` import: its lazy cell keeps poisoning panics, with
/// their messages and source paths, in the wasm.
struct DocumentSlot(UnsafeCell<Option<Document>>);
// SAFETY: the widget runs on the page's one JS thread; nothing is shared
// across threads.
unsafe impl Sync for DocumentSlot {}
static DOCUMENT: DocumentSlot = DocumentSlot(UnsafeCell::new(None));

/// Keeps the page's `document` for the rest of the page's life (once,
/// before anything else).
pub fn set_document(d: Document) {
    // SAFETY: single-threaded, and called once by `start` before any
    // `document()`, so no reference to the slot exists yet.
    unsafe { *DOCUMENT.0.get() = Some(d) }
}

fn document() -> &'static Document {
    // SAFETY: single-threaded; the slot is written once, by `set_document`,
    // before the first call, and never again, so the reference stays valid.
    match unsafe { &*DOCUMENT.0.get() } {
        Some(d) => d,
        None => trap(),
    }
}

fn location() -> Option<Location> {
    document().location()
}

/// The page's host name (`location.hostname`).
pub fn hostname() -> String {
    location().and_then(|l| l.hostname().ok()).unwrap_or_default()
}

/// `location.pathname` (never the query string: it may carry personal data).
pub fn pathname() -> String {
    location().and_then(|l| l.pathname().ok()).unwrap_or_default()
}

pub fn is_https() -> bool {
    location()
        .and_then(|l| l.protocol().ok())
        .is_some_and(|p| p == "https:")
}

#[cfg(feature = "dialog")]
/// `document.cookie` (empty where the page may not read cookies).
pub fn cookies() -> String {
    document().unchecked_ref::<HtmlDocument>().cookie().unwrap_or_default()
}

/// Sets one cookie (`document.cookie = ...`); a page that may not write
/// cookies keeps the decision for this page view only.
pub fn set_cookie(c: &str) {
    let _ = document().unchecked_ref::<HtmlDocument>().set_cookie(c);
}

#[cfg(feature = "dialog")]
/// Removes a localStorage item, if storage is on.
pub fn forget_local(key: &str) {
    let _ = local_remove(key);
}

/// Unix time in whole seconds.
pub fn unix_now() -> u64 {
    (now() / 1000.0) as u64
}

#[cfg(feature = "dialog")]
/// Reloads the page (the reload notice's button).
pub fn reload() {
    if let Some(l) = location() {
        // Nothing to do if the browser refuses.
        let _ = l.reload();
    }
}

#[cfg(feature = "dialog")]
/// A switch, `<dialog>` or other element of the widget's own markup, by id.
pub fn by_id(id: &str) -> Option<Element> {
    document().get_element_by_id(id)
}

#[cfg(feature = "dialog")]
/// The focused element (`document.activeElement`).
pub fn focused() -> Option<Element> {
    document().active_element()
}

#[cfg(feature = "dialog")]
/// Whether two handles are the same JS object: `===`, an intrinsic, where
/// `==` on web-sys types is an `Object.is` import.
pub fn same(a: &JsValue, b: &JsValue) -> bool {
    a == b
}

#[cfg(feature = "dialog")]
/// Focuses an element the widget made (all are HTML elements).
pub fn focus(e: &JsValue) {
    // Focusing only fails for elements that cannot take focus: nothing to do.
    let _ = e.unchecked_ref::<HtmlElement>().focus();
}

#[cfg(feature = "dialog")]
pub fn el(tag: &str, class: &str) -> Element {
    let e = sure(document().create_element(tag));
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

#[cfg(feature = "dialog")]
/// An element holding plain text.
pub fn text(tag: &str, class: &str, text: &str) -> Element {
    let e = el(tag, class);
    e.set_text_content(Some(text));
    e
}

#[cfg(feature = "dialog")]
pub fn attr(e: &Element, name: &str, value: &str) {
    sure(e.set_attribute(name, value));
}

#[cfg(feature = "dialog")]
pub fn add(parent: &Element, child: &Element) {
    // `append`, not `appendChild`: it returns nothing, so no handle to the
    // child comes back into the wasm only to be dropped.
    sure(parent.append_with_node_1(child));
}

#[cfg(feature = "dialog")]
/// A button routed through [`crate::act`] by its `data-km` action.
pub fn button(class: &str, label: &str, action: &str) -> Element {
    let b = text("button", class, label);
    attr(&b, "type", "button");
    attr(&b, "data-km", action);
    b
}

/// The widget's container, in `<body>` (the JS side attaches its
/// listeners): the one the loader made for the banner, else (the dialog's
/// module, opened where no banner was shown) a new one. The banner's module
/// only ever starts where the loader showed the banner.
pub fn root(lang: &str) -> Element {
    if let Ok(Some(root)) = document().query_selector(".km-root") {
        return root;
    }
    #[cfg(not(feature = "dialog"))]
    {
        let _ = lang;
        trap()
    }
    #[cfg(feature = "dialog")]
    new_root(lang)
}

#[cfg(feature = "dialog")]
fn new_root(lang: &str) -> Element {
    let root = el("div", "km-root");
    attr(&root, "lang", lang);
    if let Some(body) = document().body() {
        add(&body, &root);
    }
    root
}

/// Appends a small number's decimal digits (no `core::fmt`).
pub fn push_number(s: &mut String, n: u64) {
    if n >= 10 {
        push_number(s, n / 10);
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for n in [0u64, 7, 10, 256, 18_446_744_073_709_551_615] {
            let mut s = String::new();
            push_number(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
