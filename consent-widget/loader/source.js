/* Keurmerk consent loader, readable source. scripts/build-widget minifies it
   into loader.js (committed: the server includes that file), which is
   served per site as GET /s/{site}/loader.js with the site's rules baked in
   (consent_core::loader::render).
   Paste it as the FIRST element of <head>, synchronous (no async/defer):
   it must run before any tracker can. No eval, no inline script, no innerHTML. */
(function (R) {
  "use strict";
  var w = window, d = document, nav = navigator, loc = location;
  if (w.keurmerk && w.keurmerk._i) return;
  var K = (w.keurmerk = w.keurmerk || {});
  var me = d.currentScript;
  var nonce = me && me.nonce;
  var base = R.a;
  var STORE = "keurmerk:" + R.s;
  var QUEUE = "keurmerk:q:" + R.s;
  // Originals, taken before anyone else can patch them.
  var oFetch = w.fetch, oBeacon = nav.sendBeacon, XP = XMLHttpRequest.prototype;
  var oOpen = XP.open, oSend = XP.send, EP = Element.prototype, oSetAttr = EP.setAttribute;
  var gpc = nav.globalPrivacyControl === true;

  function has(a, x) { return a.indexOf(x) >= 0; }
  function each(o, f) { for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) f(k, o[k]); }
  function store(k, v) {
    try { if (v === undefined) return JSON.parse(localStorage.getItem(k) || "null"); localStorage.setItem(k, JSON.stringify(v)); } catch (e) { return null; }
  }

  // The visitor's language: the first of navigator.languages the site offers.
  var lang = R.l[0];
  (function () {
    var want = nav.languages || [nav.language || ""];
    for (var i = 0; i < want.length; i++) {
      var t = String(want[i]).toLowerCase();
      if (has(R.l, t)) { lang = t; return; }
      t = t.split("-")[0];
      if (has(R.l, t)) { lang = t; return; }
    }
  })();
  K.lang = lang;
  // [reopen control, "blocked until", "allow once", "always allow"]
  var T = R.t[lang];

  // The stored decision: version.fingerprint.time.cat:1+cat:0.svc:1+svc:0.gpc
  // (the wasm writes it: consent-widget/src/cookie_jar.rs; a category
  // without ":0"/":1" is a grant, as cookies written before refusals were
  // listed have it). Anything else is no decision at all, and everything
  // stays blocked while the banner asks: the loader fails closed, never
  // open. Checked against the whole pattern, not taken apart piece by piece:
  // a bad percent-escape, a missing or extra part, a time that is not a
  // plain number or lies ahead (a decision that would never lapse), an id
  // that is not a slug. Ids go into objects without a prototype, so an id
  // such as "constructor" cannot read as granted.
  var ID = "[a-z0-9_-]{1,64}";
  function list(e) { return "((?:" + e + "(?:\\+" + e + ")*)?)"; }
  var FORM = new RegExp("^[0-9a-f]{16}\\.([0-9a-f]{16})\\.([0-9]{1,11})\\." + list(ID + "(?::[01])?") + "\\." + list(ID + ":[01]") + "\\.([01])$");
  function parse(value) {
    var m, dec;
    try { m = FORM.exec(decodeURIComponent(value)); } catch (e) { return null; }
    if (!m || !(+m[2] > 0) || +m[2] > Date.now() / 1000 + 86400) return null;
    dec = { f: m[1], t: +m[2], c: Object.create(null), s: Object.create(null), g: m[5] === "1" };
    [[m[3], dec.c], [m[4], dec.s]].forEach(function (l) {
      if (l[0]) l[0].split("+").forEach(function (x) { x = x.split(":"); l[1][x[0]] = x[1] !== "0"; });
    });
    return dec;
  }
  // What of a stored decision still holds. All of it while it is younger
  // than expiry_days (R.e) and the purposes are the same (R.f). After that,
  // its refusals only, for refusal_months (R.n, at least six; or for
  // expiry_days if that is longer): the banner asks again only for the
  // rest (dec.p), never for a purpose refused within that time.
  function lapse(x) {
    if (!x) return null;
    var t = x.t * 1000, now = Date.now(), until = new Date(t), same = x.f === R.f, keep = 0;
    until.setMonth(until.getMonth() + R.n);
    // Same purposes: an optional category the decision leaves out was refused.
    if (same) R.c.forEach(function (c) { if (!has(R.r, c) && !(c in x.c)) x.c[c] = false; });
    if (same && t + R.e * 864e5 > now) return x;
    if (until < now && t + R.e * 864e5 < now) return null;
    each(x.c, function (c, on) { if (on || !has(R.c, c) || has(R.r, c)) delete x.c[c]; else keep = 1; });
    each(x.s, function (s, on) { if (on) delete x.s[s]; else keep = 1; });
    x.p = 0;
    R.c.forEach(function (c) { if (!has(R.r, c) && !(c in x.c)) x.p = 1; });
    return keep ? x : null;
  }
  // The newest valid one of the cookies named keurmerk (a decision shared
  // across subdomains, R.d, and one left on the host from before). Reading
  // document.cookie throws where the page may not have cookies (a sandboxed
  // frame): then there is no decision.
  var jar = 0, dec = null, all = "";
  try { all = d.cookie; } catch (e) {}
  all.split(";").forEach(function (kv) {
    kv = kv.trim();
    if (kv.slice(0, 9) !== "keurmerk=") return;
    jar = 1;
    kv = parse(kv.slice(9));
    if (kv && !(dec && dec.t >= kv.t)) dec = kv;
  });
  dec = lapse(dec);

  // The UI module (widget.js) and the UI (wasm) are fetched only when needed:
  // no valid decision, the visitor asks for the preferences, or a decision
  // waits to be sent. On a first visit the banner is already on screen
  // (below): they are started right after it is shown, all at once, while
  // the visitor reads; a click meanwhile is kept for the wasm. widget.js is a
  // classic async script, which runs as soon as it is there and the main
  // thread is free (a module script also waits for the document's parsing).
  var wb = base + "/widget/";
  // The assets' content hash, set by scripts/build-widget: the server may
  // cache /widget/* for a year, so a new build must mean new URLs.
  var v = "?v=" + KEURMERK_ASSET_VERSION;
  // The module's two builds: "widget" (banner and decisions) and "prefs"
  // (the same plus the preferences dialog, fetched only when the visitor
  // opens them). NAME.js calls K["_b" + NAME] with its show().
  var mods = {};
  function mod(n) {
    if (mods[n]) return mods[n];
    mods[n] = new Promise(function (ok) { K["_b" + n] = ok; });
    var s = d.createElement("script");
    s.src = wb + n + ".js" + v;
    // An async script is fetched at low priority, after the wasm and the
    // JSON; but the banner's behaviour waits for it like for them.
    s.fetchPriority = "high";
    // Anonymous, like the fetches below: the browser keeps connections of
    // requests without credentials apart, so one mode for all of them means one
    // connection (and one TLS handshake) to the consent server instead of
    // two; with `crossorigin` on the loader's own tag, it is the loader's.
    // ("" is the anonymous state, and shorter.)
    s.crossOrigin = "";
    if (nonce) s.nonce = nonce;
    s.__km = 2;
    d.head.appendChild(s);
    return mods[n];
  }
  function get(u, json) {
    var r = oFetch.call(w, u, { credentials: "omit" });
    return json ? r.then(function (r) { if (!r.ok) throw r.status; return r.json(); }) : r;
  }
  // A build's wasm, compiled while it streams in (K["_w" + NAME]).
  function wasm(n, r) {
    return K["_w" + n] || (K["_w" + n] = WebAssembly.compileStreaming(r || get(wb + n + "_bg.wasm" + v)));
  }
  // A stylesheet of the widget's; resolves once loaded (or failed).
  function css(n) {
    var l = d.createElement("link");
    l.rel = "stylesheet";
    l.href = wb + n + ".css" + v;
    l.crossOrigin = "";
    if (nonce) l.nonce = nonce;
    d.head.appendChild(l);
    return new Promise(function (ok) { l.onload = l.onerror = ok; });
  }
  // The banner's module without the UI: a decision to send, an embed granted.
  function need() {
    var m = mod("widget");
    wasm("widget");
    return m;
  }
  // Starts the UI's requests (once) and has the module show it. Everything
  // that can happen before NAME.js arrives does (compiling, parsing), so
  // that it can show the UI in the very task it runs in.
  function load(openPrefs) {
    var n = openPrefs ? "prefs" : "widget";
    if (openPrefs) K._o = 1;
    // NAME.js asked for first: it cannot run before this task ends, when
    // K._f is set.
    // The stylesheet is the loader's own (style()), a <link> only where
    // the browser cannot construct one.
    var m = mod(n), f = K._f || (K._f = [0, 0, style()]), wr = K["_w" + n] || get(wb + n + "_bg.wasm" + v);
    // The site's configuration and the texts of the visitor's language:
    // the dialog's. The banner's module needs neither on a first visit (the
    // banner is here, the category ids in R.c, and it withdraws nothing),
    // only the configuration where a decision is in force (its refused
    // services are checked against the site's).
    if ((openPrefs || dec) && !f[0]) f[0] = get(base + "/api/v1/sites/" + R.s + "/config", 1);
    if (openPrefs && !f[1]) f[1] = get(wb + "i18n/" + (has(["nl", "en", "de", "fr"], lang) ? lang : "en") + ".json" + v, 1);
    if (openPrefs && !K._p) K._p = css("prefs");
    // Compiled while it streams in. Started after every request is out:
    // the first use of WebAssembly holds the main thread (measured in the
    // bench: see docs/benchmarks.md, widget bench), which held back the
    // requests after it.
    wasm(n, wr);
    m.then(function (show) { show(); });
  }
  // The banner's stylesheet (web/widget.css, put here by
  // scripts/build-widget): a constructed stylesheet, which a strict CSP
  // allows without 'unsafe-inline' and which needs no request; a <link> to
  // the same file where the browser cannot construct one. 1, or the link's
  // load. The site's theme (R.y, consent_core::config::Theme::css: built
  // from checked colours, a radius and a position only) comes after it;
  // with the link, in a <style> carrying the script's nonce (without one
  // a strict CSP would refuse it, and the default look stays).
  var sheet = 0;
  function style() {
    if (!sheet) try {
      var s = new CSSStyleSheet();
      s.replaceSync(KEURMERK_CSS + (R.y || ""));
      d.adoptedStyleSheets = d.adoptedStyleSheets.concat(s);
      sheet = 1;
    } catch (e) {
      sheet = css("widget");
      if (R.y && nonce) {
        var t = d.createElement("style");
        t.nonce = nonce;
        t.textContent = R.y;
        d.head.appendChild(t);
      }
    }
    return sheet;
  }

  // The banner's first layer, as the server rendered it for each language
  // (R.u, consent_core::banner: the one renderer of it), built here with
  // createElement and textContent (no innerHTML) and shown in this task,
  // before the blocker is installed: no request stands between the page
  // and the banner. The wasm hydrates it when it is there. A node is text,
  // 0 (the page's host), {j: [[categories, text], ...]} (the texts whose
  // categories are asked, joined) or [tag, attributes, children...], with
  // the condition "?" ("gpc", or categories of which one must be asked).
  // A category refused within its refusal months is not asked (dec.c).
  var ui = null;
  function asked(cats) { return cats.some(function (c) { return !(dec && dec.c[c] === false); }); }
  function mk(n) {
    if (n === 0) return d.createTextNode(loc.hostname);
    if (typeof n === "string") return d.createTextNode(n);
    if (!n.join) return d.createTextNode(n.j.filter(function (x) { return asked(x[0]); }).map(function (x) { return x[1]; }).join(", "));
    var e = d.createElement(n[0]), a = n[1], c, i;
    if (a["?"] && !(a["?"] === "gpc" ? gpc : asked(a["?"]))) return null;
    each(a, function (k, v) { if (k !== "?") oSetAttr.call(e, k, v); });
    for (i = 2; i < n.length; i++) if ((c = mk(n[i]))) e.appendChild(c);
    return e;
  }
  // Into <body> as its first child, taking the focus (keyboard and
  // screen-reader users meet it first); into <html> until there is a body
  // (the parser puts the body after it), moved when the body comes.
  function mount() {
    var b = d.body;
    if (!ui || (b && ui.parentNode === b)) return;
    if (!b) return d.documentElement.appendChild(ui);
    b.insertBefore(ui, b.firstChild);
    if (!ui.firstChild.hidden) ui.firstChild.focus();
  }
  // No decision, or one that leaves a new purpose unasked: the banner.
  if (!dec || dec.p) {
    style();
    ui = mk(R.u[lang]);
    // A click before the wasm is there is not lost: Accept all or Reject
    // all is kept for the wasm to replay (web/boot.js) and the banner put
    // away; Preferences opens them (the dialog's module). Once the wasm
    // listens (K._h), it alone does.
    ui.addEventListener("click", function (e) {
      var b = !K._h && e.target.closest("[data-km]"), a = b && b.getAttribute("data-km");
      if (a === "prefs") K.open();
      else if (a === "accept" || a === "reject") {
        K._q = K._q || a;
        ui.firstChild.hidden = true;
      }
    });
    mount();
    // The UI's module right after the banner is on screen, while the
    // visitor reads: after the frame that shows it (or within half a
    // second, in a tab that draws no frames).
    var go = function () { if (!K._o) load(false); };
    requestAnimationFrame(function () { setTimeout(go); });
    setTimeout(go, 500);
  }

  function allowed(cat, svc) {
    if (has(R.r, cat)) return true;
    if (!dec) return false;
    if (svc && svc in dec.s) return dec.s[svc];
    return dec.c[cat] === true;
  }
  K.accepted = function (cat) { return allowed(cat); };
  K.acceptedService = function (svc) {
    for (var i = 0; i < R.h.length; i++) if (R.h[i][2] === svc) return allowed(R.h[i][1], svc);
    return !!(dec && dec.s[svc]);
  };

  // Google Consent Mode v2: `default` before any Google tag, `update` on every
  // decision and on every page load (consent mode does not persist choices).
  var dl = (w.dataLayer = w.dataLayer || []);
  function gtag() { dl.push(arguments); }
  function signals(f) {
    var o = {};
    each(R.m, function (sig, cats) { o[sig] = cats.every(f || function (c) { return allowed(c); }) ? "granted" : "denied"; });
    return o;
  }
  var defaults = signals(function (c) { return has(R.r, c); });
  defaults.wait_for_update = R.w;
  gtag("consent", "default", defaults);
  if (dec) gtag("consent", "update", signals());

  // Which declared service (or well-known tracker) a URL belongs to. A
  // declared host always takes precedence. Well-known trackers (R.b:
  // category -> hosts, each with its subdomains) are blocked even when the
  // site did not declare them; the server lists those of the site's
  // categories, from the `block` lists of scanner/signatures/*.toml.
  function rule(url) {
    var h;
    try { h = new URL(url, loc.href).hostname; } catch (e) { return null; }
    for (var i = 0; i < R.h.length; i++) {
      var p = R.h[i][0];
      if (p.slice(0, 2) === "*." ? h === p.slice(2) || h.slice(-p.length + 1) === p.slice(1) : h === p) return R.h[i];
    }
    for (var cat in R.b) {
      var l = R.b[cat].split(" ");
      for (var j = 0; j < l.length; j++) if (h === l[j] || h.slice(-l[j].length - 1) === "." + l[j]) return [l[j], cat, ""];
    }
    return null;
  }
  function blockedRule(url) {
    var r = url && rule(url);
    return r && !allowed(r[1], r[2]) ? r : null;
  }

  // Held-back elements and requests, in the order they were met.
  var Q = [];
  function hold(x) { Q.push(x); return x; }
  // A request waits as a function to call.
  function later(r, f) { hold({ c: r[1], s: r[2], k: "R", f: f }); }
  // Colours of the placeholder and the reopen control (site-themable).
  var LOOK = ";border:1px solid var(--km-border,#767676);background:var(--km-bg,#fff);color:var(--km-fg,#1a1a1a);font:inherit;cursor:pointer";

  function placeholder(x) {
    var e = x.e, box = d.createElement("div"), p = d.createElement("p");
    box.className = "km-ph";
    box.style.cssText = "box-sizing:border-box;padding:1em;margin:.5em 0;border-radius:8px;max-width:100%" + LOOK;
    p.textContent = T[1] + (x.s || x.c);
    box.appendChild(p);
    [function () { run([x], 0); }, function () { K.allow(x.c, x.s); }].forEach(function (f, i) {
      var btn = d.createElement("button");
      btn.type = "button";
      btn.textContent = T[i + 2];
      btn.style.cssText = "margin-right:.5em;padding:.5em 1em" + LOOK;
      btn.onclick = f;
      box.appendChild(btn);
    });
    if (e.parentNode) e.parentNode.insertBefore(box, e);
    e.style.display = "none";
    x.p = box;
  }

  // Inspects one element: declarative markup or a src on a blocked host.
  function check(e) {
    var tag = e.tagName, cat, r;
    if (e.__km === 2 || (tag !== "SCRIPT" && tag !== "IFRAME" && tag !== "IMG")) return;
    cat = e.getAttribute("data-consent");
    if (e.__km && e.__kmq) return;
    if (cat) {
      r = [0, cat, e.getAttribute("data-service") || ""];
      if (allowed(r[1], r[2])) {
        // Allowed already: run now. A frame gets its src in a later task, as
        // Chromium drops a navigation started while the parser inserts it.
        if (tag === "SCRIPT") { if (e.type === "text/plain") release1(e); } else setTimeout(function () { release1(e); });
        return;
      }
    } else {
      r = e.__km || blockedRule(e.getAttribute("src"));
      if (!r) return;
      if (tag === "SCRIPT") {
        if (e.__kmType === undefined) e.__kmType = e.getAttribute("type");
        oSetAttr.call(e, "type", "javascript/blocked");
        e.addEventListener("beforescriptexecute", function (ev) { if (e.__km !== 2) ev.preventDefault(); });
      } else if (e.getAttribute("src")) {
        oSetAttr.call(e, "data-src", e.getAttribute("src"));
        e.removeAttribute("src");
      }
    }
    e.__km = r;
    e.__kmq = 1;
    var x = hold({ e: e, c: r[1], s: r[2], k: tag });
    if (tag === "IFRAME") placeholder(x);
  }
  function scan(n) {
    if (n.nodeType !== 1) return;
    check(n);
    if (n.firstElementChild) {
      var l = n.querySelectorAll("script,iframe,img");
      for (var i = 0; i < l.length; i++) check(l[i]);
    }
  }
  new MutationObserver(function (ms) {
    if (ui && d.body && ui.parentNode === d.documentElement) mount();
    ms.forEach(function (m) { for (var i = 0; i < m.addedNodes.length; i++) scan(m.addedNodes[i]); });
  }).observe(d.documentElement, { childList: true, subtree: true });

  // Code-inserted elements: the src/type setters and setAttribute decide
  // before the element can fetch anything (an <img> fetches while detached).
  function intercept(e, name, v) {
    var tag = e.tagName;
    if (e.__km === 2 || (name !== "src" && name !== "type") || (tag !== "SCRIPT" && tag !== "IFRAME" && tag !== "IMG")) return false;
    if (name === "type") {
      if (tag === "SCRIPT" && e.__km) { e.__kmType = v; return true; }
      return false;
    }
    var r = blockedRule(String(v));
    if (!r) return false;
    e.__km = r;
    if (tag === "SCRIPT") {
      e.__kmType = e.getAttribute("type");
      oSetAttr.call(e, "type", "javascript/blocked");
      return false;
    }
    oSetAttr.call(e, "data-src", v);
    // A pixel fires while detached, so it is held now; a frame is held (with
    // its placeholder) when it enters the document.
    if (tag === "IMG" && !e.__kmq) { e.__kmq = 1; hold({ e: e, c: r[1], s: r[2], k: tag }); }
    return true;
  }
  [[HTMLScriptElement, "src"], [HTMLScriptElement, "type"], [HTMLIFrameElement, "src"], [HTMLImageElement, "src"]].forEach(function (pp) {
    var proto = pp[0].prototype, name = pp[1], ds = Object.getOwnPropertyDescriptor(proto, name);
    Object.defineProperty(proto, name, {
      configurable: true, enumerable: true,
      get: function () { return ds.get.call(this); },
      set: function (v) { if (!intercept(this, name, v)) ds.set.call(this, v); }
    });
  });
  EP.setAttribute = function (n, v) {
    if (!intercept(this, String(n).toLowerCase(), v)) oSetAttr.call(this, n, v);
  };

  // Requests to blocked hosts wait until their category is allowed.
  w.fetch = function (i, o) {
    var r = blockedRule(typeof i === "string" || i instanceof URL ? String(i) : i && i.url);
    if (!r) return oFetch.apply(this, arguments);
    return new Promise(function (ok, no) { later(r, function () { oFetch(i, o).then(ok, no); }); });
  };
  XP.open = function (m, u) { this.__kmr = blockedRule(String(u)); return oOpen.apply(this, arguments); };
  XP.send = function (b) {
    var x = this, r = x.__kmr;
    if (!r) return oSend.call(x, b);
    later(r, function () { oSend.call(x, b); });
  };
  if (oBeacon) nav.sendBeacon = function (u, b) {
    var r = blockedRule(String(u));
    if (!r) return oBeacon.call(nav, u, b);
    later(r, function () { oBeacon.call(nav, u, b); });
    return true;
  };

  // Releases one held element: scripts are re-created (a script that has
  // been prepared never runs again), keeping attributes and the nonce.
  function release1(e, next) {
    var tag = e.tagName, src = e.getAttribute("data-src");
    e.__km = 2;
    if (tag !== "SCRIPT") {
      if (src) e.src = src;
      e.style.display = "";
      return next && next();
    }
    var n = d.createElement("script");
    n.__km = 2;
    for (var i = 0; i < e.attributes.length; i++) {
      var a = e.attributes[i];
      if (!has(["type", "data-consent", "data-service", "data-src", "data-type", "nonce"], a.name)) oSetAttr.call(n, a.name, a.value);
    }
    var type = e.getAttribute("data-type") || e.__kmType;
    if (type && type !== "text/plain") n.type = type;
    if (e.nonce) n.nonce = e.nonce;
    src = src || e.getAttribute("src");
    if (src) {
      n.async = false;
      n.onload = n.onerror = function () { if (next) next(); };
      n.src = src;
    } else n.text = e.text;
    if (e.parentNode) e.parentNode.replaceChild(n, e); else d.head.appendChild(n);
    if (!src && next) next();
  }
  // One after the other, so scripts run in their original order, once.
  function run(list, i) {
    var x = list[i];
    // Done: a tag released just now may have brought its vendor's global.
    if (!x) return vendors();
    if (x.done) return run(list, i + 1);
    x.done = 1;
    if (x.p && x.p.parentNode) x.p.parentNode.removeChild(x.p);
    if (x.k === "R") { x.f(); return run(list, i + 1); }
    if (x.k === "SCRIPT" && !x.e.isConnected) return run(list, i + 1);
    release1(x.e, function () { run(list, i + 1); });
  }
  function releaseAllowed() {
    run(Q.filter(function (x) { return !x.done && allowed(x.c, x.s); }), 0);
  }

  // The vendors' own consent switches, besides Consent Mode: R.x maps each
  // vendor's global to the [category, service] of the declared services
  // that are that vendor's (consent_core::loader::vendor_apis). Told the
  // state in force when the page is ready, on every decision and after
  // released tags ran; each state once, and only when the vendor's global
  // is there (its tag ran, or the site defined its queue). Never throws.
  var told = {};
  function vendors() {
    each(R.x || {}, function (k, l) {
      var on = l.every(function (p) { return allowed(p[0], p[1]); }), f = w[k], g = on ? "granted" : "denied";
      // Clarity's ad storage also needs Consent Mode's ad_storage.
      var ad = on && signals().ad_storage === "granted" ? g : "denied", st = g + ad;
      if (!f || told[k] === st) return;
      try {
        // Meta Pixel: https://developers.facebook.com/docs/meta-pixel/implementation/gdpr
        if (k === "fbq") f("consent", on ? "grant" : "revoke");
        // TikTok Pixel: https://business-api.tiktok.com/portal/docs?id=1739585600931842
        else if (k === "ttq") f[on ? "grantConsent" : "revokeConsent"]();
        // Microsoft UET consent mode: https://learn.microsoft.com/en-us/advertising/msa-help/hlp_ba_conc_uet_consent
        else if (k === "uetq") f.push("consent", "update", { ad_storage: g });
        // Microsoft Clarity consent API v2: https://learn.microsoft.com/en-us/clarity/setup-and-installation/clarity-consent-api-v2
        else f("consentv2", { ad_Storage: ad, analytics_Storage: g });
        told[k] = st;
      } catch (e) {}
    });
  }

  function emit(type, detail) {
    w.dispatchEvent(new CustomEvent(type, { detail: detail }));
  }
  K.on = function (f) { w.addEventListener("keurmerk:change", function (e) { f(e.detail); }); };

  // Changing a decision (what to store, record, delete) is the wasm's: a
  // returning visitor never needs it. widget.js replaces this.
  K.allow = function (cat, svc) { need().then(function () { K.allow(cat, svc); }); };
  K.decision = function () { return dec && { categories: dec.c, services: dec.s, time: dec.t, gpc: dec.g }; };
  K.receipt = function () { return (store(STORE) || {}).receipt || null; };
  K.gpc = gpc;

  // What the UI module needs of the loader (consent-widget/src/loader.rs).
  K._i = {
    R: R, oFetch: oFetch, store: store, emit: emit, mount: mount,
    dec: function () { return dec; },
    // A new decision, as the cookie value the wasm wrote: in force at once.
    apply: function (value) {
      dec = parse(value);
      gtag("consent", "update", signals());
      releaseAllowed();
      reopen();
    }
  };

  // Replaced by the UI's own once it runs.
  K.open = function () { load(true); };

  // The persistent control that re-opens the preferences (withdrawal must be
  // as easy as consent), styled through CSSOM so a strict CSP allows it.
  var rb = null;
  function reopen() {
    if (rb || !d.body) return;
    rb = d.createElement("button");
    rb.type = "button";
    rb.className = "km-reopen";
    rb.textContent = T[0];
    rb.style.cssText = "position:fixed;left:12px;bottom:12px;z-index:2147483000;padding:6px 10px;border-radius:16px" + LOOK + ";font:13px system-ui";
    rb.__km = 2;
    rb.onclick = function () { K.open(); };
    d.body.appendChild(rb);
  }
  d.addEventListener("click", function (e) {
    var t = e.target && e.target.closest && e.target.closest("[data-consent-open]");
    if (t) { e.preventDefault(); K.open(); }
  });
  function ready() {
    mount();
    if (dec && !dec.p) reopen();
    vendors();
    // Only a visitor with a decision cookie can have one queued; a first
    // visit leaves localStorage alone (its first use in a fresh profile
    // holds the main thread: see docs/benchmarks.md, widget bench).
    if (jar && (store(QUEUE) || []).length) need().then(function () { K._flush(); });
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", ready); else ready();
})(__KEURMERK_RULES__);
