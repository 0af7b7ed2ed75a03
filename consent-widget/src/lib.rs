//! Keurmerk's consent banner (wasm).
//!
//! The synchronous loader (`loader/loader.js`) has already blocked trackers
//! and applied any stored decision; it fetches this UI only when the visitor
//! must decide or asks for the preferences, then calls [`start`] with the
//! site's configuration and the built-in texts of the visitor's language.
//! Decisions go back to the loader's `_set`, which applies, stores and
//! records them.
//!
//! - [`site`]: reading the site configuration and texts (plain JS objects,
//!   read through `Reflect` so no JSON parser ships in the wasm).
//! - [`dom`]: the DOM (through `web-sys`) and the helpers the views need;
//!   text only via `textContent`.
//! - [`banner`]: the first layer (who and why, Accept all / Reject all /
//!   Preferences).
//! - [`preferences`]: the second layer (categories, services, cookies,
//!   receipt download).
//! - [`choice`]: turning switches into a decision and handing it over.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod banner;
mod choice;
mod dom;
mod preferences;
mod site;

#[cfg(target_arch = "wasm32")]
mod wasm_runtime;

use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use dom::Element;
use site::{Api, Site};
use web_sys::HtmlDialogElement;

/// Everything the UI holds between events.
struct Ui {
    site: Site,
    root: Element,
    banner: Option<Element>,
    dialog: Option<HtmlDialogElement>,
}

/// The UI state. wasm in a page is single-threaded; the wrapper only exists
/// to let a `static` hold a `RefCell` (what `thread_local!` does with std).
struct Slot(RefCell<Option<Ui>>);
// SAFETY: the widget runs on the page's one JS thread; nothing is shared
// across threads.
unsafe impl Sync for Slot {}
static UI: Slot = Slot(RefCell::new(None));

/// Called once by the loader. `k` is `window.keurmerk` (the loader's API;
/// `k.lang` is the visitor's language), `doc` the page's `document`,
/// `config` the site's configuration, `texts` the built-in texts of that
/// language. Returns the widget's root, for the JS side to listen on.
#[wasm_bindgen]
pub fn start(
    k: Api,
    doc: web_sys::Document,
    config: JsValue,
    texts: JsValue,
    decided: bool,
    open_prefs: bool,
) -> Element {
    dom::set_document(doc);
    let lang = site::string(&k, "lang");
    let site = Site::new(k, config, texts, lang);
    let root = dom::root(&site.lang);
    let mut ui = Ui {
        site,
        root: root.clone(),
        banner: None,
        dialog: None,
    };
    if !decided {
        ui.banner = Some(banner::show(&ui.site, &ui.root));
    }
    // `try_`: `borrow_mut` would keep its panic message and source path in
    // the wasm. Nothing holds the state while `start` runs.
    if let Ok(mut slot) = UI.0.try_borrow_mut() {
        *slot = Some(ui);
    }
    if open_prefs {
        open();
    }
    root
}

/// Opens the preferences dialog (the loader's `keurmerk.open()`).
#[wasm_bindgen]
pub fn open() {
    with_ui(preferences::open);
}

fn with_ui(f: impl FnOnce(&mut Ui)) {
    // A handler re-entering while another runs is skipped rather than
    // panicking (a synchronous event fired from inside a handler).
    if let Ok(mut ui) = UI.0.try_borrow_mut()
        && let Some(ui) = ui.as_mut()
    {
        f(ui);
    }
}

/// A click on a `data-km` control inside the widget, by its action.
#[wasm_bindgen]
pub fn act(action: &str) {
    with_ui(|ui| match action {
        "accept" => choice::all(ui, true),
        "reject" => choice::all(ui, false),
        "save" => choice::save(ui),
        "prefs" => preferences::open(ui),
        "close" => preferences::close(ui),
        "receipt" => preferences::download_receipt(ui),
        "reload" => dom::reload(),
        _ => {}
    });
}

/// Tab (`shift`: backwards) in the widget. In the open dialog it wraps
/// around: the modal `<dialog>` makes the page inert, but the browser would
/// still let focus leave to its own UI. True when it moved the focus (the
/// JS side then cancels the key's default).
#[wasm_bindgen]
pub fn tab(shift: bool) -> bool {
    let mut moved = false;
    with_ui(|ui| moved = preferences::trap_focus(ui, shift));
    moved
}

/// A category switch moved: its services follow it.
#[wasm_bindgen]
pub fn follow(category: &str) {
    with_ui(|ui| preferences::follow_category(ui, category));
}
