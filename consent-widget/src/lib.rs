//! Keurmerk's consent UI and decisions (wasm).
//!
//! The synchronous loader (`loader/loader.js`) has already blocked trackers
//! and put any stored decision into force; it fetches this module only when
//! the visitor must decide, asks for the preferences, grants an embed, or
//! has a decision still to send. `web/boot.js` instantiates it, calls
//! [`init`], and [`start`] when the UI is to be shown.
//!
//! Built twice: the module of a first visit has the banner and the
//! decisions; with the `dialog` feature it also has the preferences dialog,
//! and is fetched only when the visitor opens them (most never do), then
//! takes over the UI.
//!
//! The modules (private; `cargo doc --document-private-items` shows them):
//!
//! - `loader`: the loader's API and the site's rules (JS objects read
//!   through `Reflect`, so no JSON parser ships in the wasm).
//! - `site`: the site's configuration and texts in the visitor's language.
//! - `dom`: the DOM (through `web-sys`) and the helpers the views need;
//!   text only via `textContent`.
//! - `banner`: the first layer (who and why, Accept all / Reject all /
//!   Preferences), rendered by the server into the loader and hydrated
//!   here.
//! - `preferences` (feature `dialog`): the second layer (categories, services, cookies,
//!   proof download).
//! - `choice`: turning buttons and switches into a `decision::Choice`.
//! - `decision`: applying, storing and recording a decision.
//! - `cookie_jar`: the decision cookie; deleting withdrawn cookies.
//! - `record`: the queue to the consent server; the visitor's proof.
//! - `json`: the small JSON texts the widget writes.

#![cfg_attr(target_arch = "wasm32", no_std)]
#![deny(rustdoc::broken_intra_doc_links)]

extern crate alloc;

mod banner;
mod choice;
mod cookie_jar;
mod decision;
mod dom;
mod json;
mod loader;
#[cfg(feature = "dialog")]
mod preferences;
mod record;
mod site;

#[cfg(target_arch = "wasm32")]
mod wasm_runtime;

use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use dom::Element;
use loader::{Api, Internals};
use site::Site;
#[cfg(feature = "dialog")]
use web_sys::HtmlDialogElement;

/// Everything the module holds between events.
struct Widget {
    /// `window.keurmerk`, and its internals.
    k: Api,
    internals: Internals,
    /// The site's rules, from the loader.
    rules: JsValue,
    /// Something granted was withdrawn on this page.
    reload_suggested: bool,
    /// The UI, once shown.
    ui: Option<Ui>,
}

/// The UI, once shown.
struct Ui {
    site: Site,
    #[cfg(feature = "dialog")]
    root: Element,
    banner: Option<Element>,
    #[cfg(feature = "dialog")]
    dialog: Option<HtmlDialogElement>,
}

/// The module's state. wasm in a page is single-threaded; the wrapper only
/// exists to let a `static` hold a `RefCell` (what `thread_local!` does
/// with std).
struct Slot(RefCell<Option<Widget>>);
// SAFETY: the widget runs on the page's one JS thread; nothing is shared
// across threads.
unsafe impl Sync for Slot {}
static WIDGET: Slot = Slot(RefCell::new(None));

/// Called once, right after instantiation: `k` is `window.keurmerk` (the
/// loader's API), `doc` the page's `document`.
#[wasm_bindgen]
pub fn init(k: Api, doc: web_sys::Document) {
    dom::set_document(doc);
    let internals = k.internals();
    let rules = internals.rules();
    // `try_`: `borrow_mut` would keep its panic message and source path in
    // the wasm. Nothing holds the state yet.
    if let Ok(mut slot) = WIDGET.0.try_borrow_mut() {
        *slot = Some(Widget {
            k,
            internals,
            rules,
            reload_suggested: false,
            ui: None,
        });
    }
}

/// Takes over the UI: `config` is the site's configuration, `texts` the
/// built-in texts of the visitor's language (`keurmerk.lang`); the banner's
/// module gets them only where it needs them (see `site`). When no
/// decision is in force, the banner the loader showed is hydrated (not
/// built: the server renders it). Returns the widget's root, for the JS
/// side to listen on.
#[wasm_bindgen]
pub fn start(config: JsValue, texts: JsValue) -> Option<Element> {
    let mut root = None;
    with_widget(|w| {
        let lang = loader::string(&w.k, "lang");
        let site = Site::new(w.k.clone().unchecked_into(), &w.rules, config, texts, lang);
        let r = dom::root(&site.lang);
        // No decision, or one whose refusals stand while a purpose added
        // since is still to ask (`p`, see `lapse` in loader/source.js): the
        // banner asks, about what is not refused.
        let dec = w.internals.dec();
        let ask = loader::is_nothing(&dec) || loader::get(&dec, "p").is_truthy();
        let banner = if ask { banner::find(&r) } else { None };
        w.ui = Some(Ui {
            site,
            #[cfg(feature = "dialog")]
            root: r.clone(),
            banner,
            #[cfg(feature = "dialog")]
            dialog: None,
        });
        root = Some(r);
    });
    root
}

/// Opens the preferences dialog (`keurmerk.open()` once this module runs).
#[cfg(feature = "dialog")]
#[wasm_bindgen]
pub fn open() {
    with_ui(preferences::open);
}

fn with_widget(f: impl FnOnce(&mut Widget)) {
    // A handler re-entering while another runs is skipped rather than
    // panicking (a synchronous event fired from inside a handler).
    if let Ok(mut w) = WIDGET.0.try_borrow_mut()
        && let Some(w) = w.as_mut()
    {
        f(w);
    }
}

#[cfg(feature = "dialog")]
fn with_ui(f: impl FnOnce(&mut Ui)) {
    with_widget(|w| {
        if let Some(ui) = w.ui.as_mut() {
            f(ui)
        }
    });
}

/// A click on a `data-km` control inside the widget, by its action.
#[wasm_bindgen]
pub fn act(action: &str) {
    with_widget(|w| match action {
        "accept" => choice::all(w, true),
        "reject" => choice::all(w, false),
        #[cfg(feature = "dialog")]
        "reload" => dom::reload(),
        #[cfg(feature = "dialog")]
        "save" => choice::save(w),
        #[cfg(feature = "dialog")]
        "receipt" => preferences::download_proof(w),
        #[cfg(feature = "dialog")]
        "close" => w.ui.as_mut().map_or((), preferences::close),
        #[cfg(feature = "dialog")]
        "prefs" => w.ui.as_mut().map_or((), preferences::open),
        // The dialog's module takes over (the loader fetches it).
        #[cfg(not(feature = "dialog"))]
        "prefs" => w.k.open(),
        _ => {}
    });
}

/// "Always allow" on a blocked embed (`keurmerk.allow(category, service)`;
/// `service` empty for the whole category).
#[wasm_bindgen]
pub fn allow(category: &str, service: &str) {
    with_widget(|w| decision::allow(w, category, service));
}

/// Sends what is queued (on start-up with a queue, and when the browser
/// comes back online).
#[wasm_bindgen]
pub fn flush() {
    with_widget(record::flush);
}

/// The answer to a request the module made through `keurmerk._x`: `tag`
/// says which, `status` is the HTTP status (0: no answer), `body` the parsed
/// JSON (null if none).
#[wasm_bindgen]
pub fn answer(tag: u32, status: u32, body: JsValue) {
    with_widget(|w| match tag {
        record::RECORDED => record::recorded(w, status, body),
        #[cfg(feature = "dialog")]
        record::PROOFS => record::proofs(w, body),
        _ => {}
    });
}

/// Tab (`shift`: backwards) in the widget. In the open dialog it wraps
/// around: the modal `<dialog>` makes the page inert, but the browser would
/// still let focus leave to its own UI. True when it moved the focus (the
/// JS side then cancels the key's default).
#[cfg(feature = "dialog")]
#[wasm_bindgen]
pub fn tab(shift: bool) -> bool {
    let mut moved = false;
    with_ui(|ui| moved = preferences::trap_focus(ui, shift));
    moved
}

/// A category switch moved: its services follow it.
#[cfg(feature = "dialog")]
#[wasm_bindgen]
pub fn follow(category: &str) {
    with_ui(|ui| preferences::follow_category(ui, category));
}
