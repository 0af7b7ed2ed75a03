//! Recording decisions with the consent server, and the visitor's proof.
//!
//! Decisions wait in a localStorage queue (`keurmerk:q:<site>`, the last
//! 20) and go out one at a time: the first answer carries the consent id
//! and secret the next ones need (kept in `keurmerk:<site>` with the
//! server's receipt). Offline, a server error or 429 keeps the queue for the
//! next page view or the browser's `online` event; any other refusal drops
//! that decision, which would never be accepted.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use crate::Widget;
use crate::loader::{List, get, is_array, is_nothing, items, json, object, parse_json, set, string};

/// Which request an answer belongs to (see [`crate::answer`]).
pub const RECORDED: u32 = 0;
#[cfg(feature = "dialog")]
pub const PROOFS: u32 = 1;

fn key(w: &Widget, prefix: &str) -> String {
    let mut k = String::from(prefix);
    k.push_str(&string(&w.rules, "s"));
    k
}

fn visitor_key(w: &Widget) -> String {
    key(w, "keurmerk:")
}

fn queue_key(w: &Widget) -> String {
    key(w, "keurmerk:q:")
}

/// The stored queue, as an array (a new one when there is none, or when
/// something else overwrote it: a page script may write any localStorage
/// key, and a broken queue must not stop the decisions after it).
fn queue(w: &Widget) -> List {
    let q = w.internals.load(&queue_key(w));
    if is_array(&q) { q } else { parse_json("[]") }.unchecked_into()
}

/// `/api/v1/sites/{site}/{rest}` on the consent server.
fn url(w: &Widget, rest: &str) -> String {
    let mut u = string(&w.rules, "a");
    u.push_str("/api/v1/sites/");
    u.push_str(&string(&w.rules, "s"));
    u.push('/');
    u.push_str(rest);
    u
}

/// Adds a decision (the JSON body for the server, without the visitor's
/// id) to the queue.
pub fn enqueue(w: &Widget, body: &str) {
    let q = queue(w);
    q.push(&parse_json(body));
    w.internals.keep(&queue_key(w), &q.slice(-20));
}

/// Sends the first queued decision, unless one is on its way.
pub fn flush(w: &mut Widget) {
    // Shared by both builds of the module (the dialog's may take over
    // while the first one's request is out), so kept on `window.keurmerk`.
    if get(&w.k, "_busy").is_truthy() {
        return;
    }
    let Some(first) = items(queue(w).into()).next() else {
        return;
    };
    let me = w.internals.load(&visitor_key(w));
    let mut body = json(&first);
    let id = string(&me, "id");
    // The body is a JSON object: the visitor's id and secret go first.
    if !id.is_empty()
        && let Some(rest) = body.get(1..).filter(|r| r.len() > 1)
    {
        let mut with_id = crate::json::Object::new()
            .str("consent_id", &id)
            .str("secret", &string(&me, "secret"))
            .done();
        with_id.pop();
        with_id.push(',');
        with_id.push_str(rest);
        body = with_id;
    }
    set(&w.k, "_busy", &JsValue::TRUE);
    w.k.call(&url(w, "decisions"), Some(&body), None, RECORDED);
}

/// The server's answer to a recorded decision (`status` 0: no answer).
pub fn recorded(w: &mut Widget, status: u32, answer: JsValue) {
    set(&w.k, "_busy", &JsValue::FALSE);
    if status == 0 || status == 429 || status >= 500 {
        return;
    }
    let q = queue(w);
    let ok = (200..300).contains(&status) && answer.is_object();
    if ok {
        let k = visitor_key(w);
        let mut me = w.internals.load(&k);
        if !me.is_object() {
            me = object();
        }
        for field in ["consent_id", "secret"] {
            let v = get(&answer, field);
            if !is_nothing(&v) {
                set(&me, if field == "secret" { field } else { "id" }, &v);
            }
        }
        set(&me, "receipt", &answer);
        set(&me, "decision", &q.at(0));
        w.internals.keep(&k, &me);
    }
    w.internals.keep(&queue_key(w), &q.slice(1));
    flush(w);
    let detail = if ok { answer } else { JsValue::NULL };
    w.internals.emit("keurmerk:recorded", &detail);
}

#[cfg(feature = "dialog")]
/// The visitor's proof as a file: the server's proof bundles (RFC 9162
/// inclusion in a signed checkpoint, checked offline by `keurmerk-verify
/// proof`) once a checkpoint covers the decision, else the server's receipt.
/// False when there is nothing recorded to prove yet.
pub fn download(w: &Widget) -> bool {
    let me = w.internals.load(&visitor_key(w));
    if is_nothing(&get(&me, "receipt")) {
        return false;
    }
    let mut rest = String::from("visitors/");
    rest.push_str(&string(&me, "id"));
    rest.push_str("/proofs");
    w.k.call(&url(w, &rest), None, Some(&string(&me, "secret")), PROOFS);
    true
}

#[cfg(feature = "dialog")]
/// The answer to [`download`]'s request.
pub fn proofs(w: &Widget, bundles: JsValue) {
    if items(bundles.clone()).next().is_some() {
        w.k.save(&crate::loader::pretty_json(&bundles), "keurmerk-proof.json");
    } else {
        let me = w.internals.load(&visitor_key(w));
        w.k.save(
            &crate::loader::pretty_json(&get(&me, "receipt")),
            "keurmerk-receipt.json",
        );
    }
}
