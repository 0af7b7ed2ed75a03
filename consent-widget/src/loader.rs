//! The synchronous loader as the wasm sees it: `window.keurmerk` (the
//! page's API, [`Api`]) and its internals `keurmerk._i` ([`Internals`]):
//! the site's rules baked into the loader, its localStorage helper, the
//! decision in force, and `apply`, which puts a decision into effect on the
//! page (Consent Mode update, held tags released, the reopen control).
//! What to decide, store and send is the wasm's ([`crate::decision`],
//! [`crate::record`]); the loader only enforces.
//!
//! Declared here, not taken from `web-sys`: none of this is a Web API. See
//! `loader/source.js` for the JS side.

use alloc::string::String;

pub use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    // Not js-sys's `Reflect::get`: that one takes a `JsValue` key (a string
    // made per read) and is `catch` (a try/catch per read); `get` below only
    // calls it on objects, where it cannot throw.
    #[wasm_bindgen(js_namespace = Reflect, js_name = get)]
    fn reflect_get(target: &JsValue, key: &str) -> JsValue;
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &JsValue, key: &str, value: &JsValue);
    /// A new empty object (`Object()`).
    #[wasm_bindgen(js_name = Object)]
    pub fn object() -> JsValue;
    #[wasm_bindgen(js_namespace = Object, js_name = keys)]
    fn object_keys(o: &JsValue) -> List;
    #[wasm_bindgen(js_namespace = JSON, js_name = parse)]
    pub fn parse_json(text: &str) -> JsValue;
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify)]
    fn stringify(v: &JsValue, replacer: &JsValue, indent: u32) -> JsValue;

    #[wasm_bindgen(js_namespace = Array, js_name = isArray)]
    pub fn is_array(v: &JsValue) -> bool;

    /// A plain JS array (of the configuration, the queue): not a Web API.
    pub type List;
    #[wasm_bindgen(method, getter)]
    pub fn length(this: &List) -> u32;
    #[wasm_bindgen(method, indexing_getter)]
    pub fn at(this: &List, i: u32) -> JsValue;
    #[wasm_bindgen(method)]
    pub fn push(this: &List, v: &JsValue);
    #[wasm_bindgen(method)]
    pub fn slice(this: &List, start: i32) -> List;
    #[wasm_bindgen(method)]
    pub fn includes(this: &List, v: &str) -> bool;

    /// `window.keurmerk`.
    pub type Api;
    #[wasm_bindgen(method, getter)]
    pub fn gpc(this: &Api) -> bool;
    /// The decision in force as the page API shows it (`{categories,
    /// services, ...}`), or null.
    #[wasm_bindgen(method)]
    pub fn decision(this: &Api) -> JsValue;
    /// Opens the preferences (the loader fetches the dialog's module).
    #[wasm_bindgen(method)]
    pub fn open(this: &Api);
    #[wasm_bindgen(method, getter = _i)]
    pub fn internals(this: &Api) -> Internals;
    /// `fetch` through the loader's original, answering to
    /// [`crate::answer`] with `tag` (web/boot.js: the one place that waits
    /// on a promise).
    #[wasm_bindgen(method, js_name = _x)]
    pub fn call(this: &Api, url: &str, body: Option<&str>, secret: Option<&str>, tag: u32);
    /// Offers `text` as a file download named `name` (web/boot.js).
    #[wasm_bindgen(method, js_name = _save)]
    pub fn save(this: &Api, text: &str, name: &str);

    /// `keurmerk._i`.
    pub type Internals;
    /// The site's rules (`consent_core::loader` renders them): `s` site id,
    /// `v` configuration version, `f` purposes fingerprint, `a` server
    /// base URL, `e` expiry days, `n` refusal months, `d` the cookie's
    /// domain, `c` category ids, `r` required ones.
    #[wasm_bindgen(method, getter = R)]
    pub fn rules(this: &Internals) -> JsValue;
    /// The decision in force (`{f, t, c, s, g}`, and `p` when only its
    /// refusals stand and the banner asks for the rest), or null.
    #[wasm_bindgen(method)]
    pub fn dec(this: &Internals) -> JsValue;
    /// Puts the decision of a cookie value into force on the page.
    #[wasm_bindgen(method)]
    pub fn apply(this: &Internals, cookie_value: &str);
    #[wasm_bindgen(method)]
    pub fn emit(this: &Internals, event: &str, detail: &JsValue);
    /// localStorage as JSON: reads `key` (null when missing or unreadable).
    #[wasm_bindgen(method, js_name = store)]
    pub fn load(this: &Internals, key: &str) -> JsValue;
    /// Writes `key` (quietly nothing when storage is off).
    #[wasm_bindgen(method, js_name = store)]
    pub fn keep(this: &Internals, key: &str, value: &JsValue);
}

/// `v[key]`, or undefined when `v` is not an object (where `Reflect.get`
/// would throw).
pub fn get(v: &JsValue, key: &str) -> JsValue {
    if v.is_object() {
        reflect_get(v, key)
    } else {
        JsValue::UNDEFINED
    }
}

/// `o[key] = value` on an object the widget holds.
pub fn set(o: &JsValue, key: &str, value: &JsValue) {
    if o.is_object() {
        reflect_set(o, key, value);
    }
}

pub fn string(v: &JsValue, key: &str) -> String {
    get(v, key).as_string().unwrap_or_default()
}

/// The items of an array (none when it is not one).
pub fn items(l: JsValue) -> impl Iterator<Item = JsValue> {
    let l: List = l.unchecked_into();
    let n = if l.is_object() { l.length() } else { 0 };
    (0..n).map(move |i| l.at(i))
}

/// The items of the array `v[key]` (none when it is missing).
pub fn list(v: &JsValue, key: &str) -> impl Iterator<Item = JsValue> {
    items(get(v, key))
}

/// The own keys of an object (none when it is not one).
pub fn keys(o: &JsValue) -> impl Iterator<Item = String> {
    let l = if o.is_object() {
        object_keys(o).into()
    } else {
        JsValue::UNDEFINED
    };
    items(l).filter_map(|k| k.as_string())
}

/// `JSON.stringify(v, null, 2)`.
#[cfg(feature = "dialog")]
pub fn pretty_json(v: &JsValue) -> String {
    stringify(v, &JsValue::NULL, 2).as_string().unwrap_or_default()
}

/// `JSON.stringify(v)`.
pub fn json(v: &JsValue) -> String {
    stringify(v, &JsValue::NULL, 0).as_string().unwrap_or_default()
}

pub fn is_nothing(v: &JsValue) -> bool {
    v.is_null() || v.is_undefined()
}
