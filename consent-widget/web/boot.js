// Entry of widget.js (bundled as a classic script): installs decision
// changes (decide.js) on the loader's API and hands the loader the function
// that shows the UI. The loader already sent the UI's requests (K._f: the
// wasm module compiling as it streams, the site's configuration and the
// texts of the visitor's language as parsed JSON, the stylesheet's load);
// this waits for whatever is still missing, instantiates the compiled module
// synchronously (no task between this script and the banner, so the banner
// can make the same frame) and routes the widget's events to it. A returning
// visitor who only has a queued decision to send loads this file without
// ever calling show().
import { initSync, start, open, act, follow, tab } from "./glue/consent_widget.js";
import { install } from "./decide.js";

var K = window.keurmerk, I = K._i, d = document, shown;
install(K);
K._boot(function show() {
  if (shown) return;
  var f = K._f;
  shown = Promise.all([
    f[0],
    f[1],
    f[2],
    f[3],
    // The UI lives in <body>; a slow page may not have one yet.
    new Promise(function (ok) {
      if (d.body) ok();
      else d.addEventListener("DOMContentLoaded", ok);
    }),
  ]).then(function (a) {
    initSync({ module: a[0] });
    I.config = a[1];
    K.open = open;
    var root = start(K, d, a[1].config, a[2], !!I.dec(), !!K._o);
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
