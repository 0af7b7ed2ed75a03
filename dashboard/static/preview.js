// The dashboard's live preview, in its sandboxed frame after the site's
// loader: opens the layer the dashboard asked for (<html data-layer>). The
// banner shows by itself (a sandboxed frame has no decision cookie); the
// preferences open through the widget's own page API, keurmerk.open(), as
// a site's "cookie settings" link would (consent-widget/loader/source.js).
(function () {
  "use strict";
  var layer = document.documentElement.getAttribute("data-layer");
  function open() {
    if (layer === "preferences" && window.keurmerk && window.keurmerk.open) window.keurmerk.open();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", open);
  else open();
})();
