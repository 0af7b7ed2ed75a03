// Entry of widget.js (bundled as a classic script). The wasm holds the UI
// and the decisions; this file only connects it to the page: it
// instantiates the module the loader compiled (K._w), routes the widget's
// DOM events to it, and is the wasm's transport for the two things that
// wait on a promise (a fetch, whose answer goes back to `answer`) or need a
// Blob (saving the proof file). The loader already sent the UI's requests
// (K._f: the site's configuration and the texts of the visitor's language
// as parsed JSON, the stylesheet's load); show() waits for whatever is
// still missing and shows the banner in the task that instantiates the
// module. A returning visitor with a decision to send, or granting an embed,
// loads this without show().
import { initSync, init, start, open, act, follow, tab, allow, flush, answer } from "./glue/consent_widget.js";

var K = window.keurmerk, I = K._i, w = window, d = document, shown, ready;
function inst(m) {
  if (!ready) {
    ready = 1;
    initSync({ module: m });
    init(K, d);
  }
}
function wasm(f) {
  K._w.then(function (m) { inst(m); f(); });
}
K._x = function (url, body, secret, tag) {
  var h = {};
  if (secret) h["x-keurmerk-secret"] = secret;
  if (body) h["content-type"] = "application/json";
  I.oFetch.call(w, url, { method: body ? "POST" : "GET", headers: h, body: body, credentials: "omit", keepalive: !!body }).then(
    function (r) {
      return r.json().then(
        function (j) { answer(tag, r.status, j); },
        function () { answer(tag, r.status, null); }
      );
    },
    function () { answer(tag, 0, null); }
  );
};
K._save = function (text, name) {
  var a = d.createElement("a"), u = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.href = u;
  a.download = name;
  d.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(function () { URL.revokeObjectURL(u); });
};
K.allow = function (cat, svc) { wasm(function () { allow(cat, svc || ""); }); };
K._flush = function () { wasm(flush); };
w.addEventListener("online", K._flush);
K._boot(function show() {
  if (shown) return;
  var f = K._f;
  shown = Promise.all([
    K._w,
    f[0],
    f[1],
    f[2],
    // The UI lives in <body>; a slow page may not have one yet.
    new Promise(function (ok) {
      if (d.body) ok();
      else d.addEventListener("DOMContentLoaded", ok);
    }),
  ]).then(function (a) {
    inst(a[0]);
    K.open = open;
    var root = start(a[1].config, a[2], !!K._o);
    root.addEventListener("click", function (e) {
      var b = e.target.closest("[data-km]");
      if (b) act(b.getAttribute("data-km"));
    });
    root.addEventListener("change", function (e) {
      var c = e.target.getAttribute("data-cat");
      if (c) follow(c);
    });
    root.addEventListener("keydown", function (e) {
      if (e.key === "Tab" && tab(e.shiftKey)) e.preventDefault();
    });
    I.emit("keurmerk:ui", null);
  });
});
