// Entry of NAME.js (bundled as a classic script, once per build of the
// module: NAME is "widget" for the banner and decisions, "prefs" for the
// same plus the preferences dialog, DIALOG says which). The wasm holds the
// UI and the decisions; this file only connects it to the page: it
// instantiates the module the loader compiled (K["_w" + NAME]), routes the
// widget's DOM events to it, and is the wasm's transport for the two
// things that wait on a promise (a fetch, whose answer goes back to
// `answer`) or need a Blob (saving the proof file). The loader already
// sent the UI's requests (K._f: the site's configuration and the texts of
// the visitor's language as parsed JSON, each 0 where this build does not
// need it (see load() in loader/source.js), the stylesheet's load); show()
// waits for whatever is still missing and, in the task that instantiates
// the module, hydrates the banner the loader already showed (replaying a
// click the loader kept meanwhile). The dialog's module, once it runs, takes over
// the page's UI and the API from the banner's. A returning visitor with a
// decision to send, or granting an embed, loads the banner's module
// without show().
import * as m from "./glue/consent_widget.js";

var K = window.keurmerk, I = K._i, w = window, d = document, W = K["_w" + NAME], shown, ready;
function inst(mod) {
  if (!ready) {
    ready = 1;
    m.initSync({ module: mod });
    m.init(K, d);
  }
}
function wasm(f) {
  W.then(function (mod) { inst(mod); f(); });
}
// (Through wasm(): the banner's module may call this one's _x after the
// dialog's took over, before it is instantiated.)
function back(tag, status, j) {
  wasm(function () { m.answer(tag, status, j); });
}
K._x = function (url, body, secret, tag) {
  var h = {};
  if (secret) h["x-keurmerk-secret"] = secret;
  if (body) h["content-type"] = "application/json";
  I.oFetch.call(w, url, { method: body ? "POST" : "GET", headers: h, body: body, credentials: "omit", keepalive: !!body }).then(
    function (r) {
      return r.json().then(
        function (j) { back(tag, r.status, j); },
        function () { back(tag, r.status, null); }
      );
    },
    function () { back(tag, 0, null); }
  );
};
if (DIALOG) K._save = function (text, name) {
  var a = d.createElement("a"), u = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.href = u;
  a.download = name;
  d.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(function () { URL.revokeObjectURL(u); });
};
K.allow = function (cat, svc) { wasm(function () { m.allow(cat, svc || ""); }); };
K._flush = function () { wasm(m.flush); };
if (!K._on) {
  K._on = 1;
  w.addEventListener("online", function () { K._flush(); });
}
K["_b" + NAME](function show() {
  if (shown) return;
  var f = K._f;
  shown = Promise.all([
    W,
    f[0],
    f[1],
    f[2],
    DIALOG && K._p,
    // The UI lives in <body>; a slow page may not have one yet.
    new Promise(function (ok) {
      if (d.body) ok();
      else d.addEventListener("DOMContentLoaded", ok);
    }),
  ]).then(function (a) {
    // The visitor asked for the preferences before this module could
    // show the banner: the dialog's module shows both.
    if (!DIALOG && K._o) return;
    inst(a[0]);
    if (K._drop) K._drop();
    // The banner the loader showed, into <body> if it is not there yet.
    I.mount();
    var root = m.start(a[1].config, a[2]), q = K._q;
    function click(e) {
      var b = e.target.closest("[data-km]");
      if (b) m.act(b.getAttribute("data-km"));
    }
    root.addEventListener("click", click);
    // From now on the wasm alone answers the banner's buttons; a click the
    // loader kept before (Accept all or Reject all) is replayed, once.
    K._h = 1;
    K._q = 0;
    if (q) m.act(q);
    if (DIALOG) {
      K.open = m.open;
      m.open();
      root.addEventListener("change", function (e) {
        var c = e.target.getAttribute("data-cat");
        if (c) m.follow(c);
      });
      root.addEventListener("keydown", function (e) {
        if (e.key === "Tab" && m.tab(e.shiftKey)) e.preventDefault();
      });
    } else {
      // The dialog's module takes the same root over.
      K._drop = function () { root.removeEventListener("click", click); };
    }
    I.emit("keurmerk:ui", null);
  });
});
