// Changing a decision: apply it at once, store it in the first-party cookie,
// delete the cookies of what was withdrawn, and record it with the consent
// server (queued while offline). Part of the UI module, not the loader: a
// returning visitor whose decision stands never downloads this.
export function install(K) {
  var I = K._i, R = I.R, w = window, d = document, loc = location;
  function has(a, x) { return a.indexOf(x) >= 0; }
  function each(o, f) { for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) f(k, o[k]); }

  // Declared cookies of a withdrawn category, on every domain they may live
  // on (from the configuration the UI loaded: only the UI withdraws).
  function glob(p, n) {
    return new RegExp("^" + p.split("*").map(function (s) { return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"); }).join(".*") + "$").test(n);
  }
  function wipe(cat, svc) {
    var names = d.cookie.split(";").map(function (c) { return c.split("=")[0].trim(); });
    var parts = loc.hostname.split(".");
    ((I.config || {}).config || { services: [] }).services.forEach(function (sv) {
      if (svc ? sv.id !== svc : sv.category !== cat) return;
      sv.cookies.forEach(function (k) {
        names.forEach(function (n) {
          if (!n || !glob(k.name, n)) return;
          var doms = [""];
          for (var i = 0; i < parts.length - 1; i++) doms.push(";domain=." + parts.slice(i).join("."));
          if (k.domain) doms.push(";domain=" + k.domain);
          doms.forEach(function (x) { d.cookie = n + "=;path=/;max-age=0" + x; });
          try { localStorage.removeItem(n); } catch (e) { /* storage may be off */ }
        });
      });
    });
  }

  // Sends queued decisions one by one (the first answer carries the consent
  // id and secret the next ones need); offline or server errors keep them.
  var sending = 0;
  function flush() {
    var q = I.store(I.QUEUE) || [];
    if (sending || !q.length) return;
    sending = 1;
    var me = I.store(I.STORE) || {}, body = q[0];
    if (me.id) { body.consent_id = me.id; body.secret = me.secret; }
    I.oFetch.call(w, R.a + "/api/v1/sites/" + R.s + "/decisions", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "omit", keepalive: true
    }).then(function (res) {
      if (res.status >= 500 || res.status === 429) throw 0;
      return res.ok ? res.json() : null;
    }).then(function (j) {
      if (j) {
        me.id = j.consent_id || me.id;
        me.secret = j.secret || me.secret;
        me.receipt = j;
        me.decision = body;
        I.store(I.STORE, me);
      }
      I.store(I.QUEUE, (I.store(I.QUEUE) || []).slice(1));
      sending = 0;
      flush();
      I.emit("keurmerk:recorded", j);
    }, function () { sending = 0; });
  }
  w.addEventListener("online", flush);
  K._flush = flush;

  // Applies and records a decision: {cat: bool}, {svc: bool}, method.
  K._set = function (c, s, method) {
    var prev = I.dec(), withdrawn = [], gpc = K.gpc;
    var next = { v: R.v.slice(0, 16), f: R.f, t: Math.floor(Date.now() / 1000), c: {}, s: s || {}, g: gpc };
    R.c.forEach(function (cat) { next.c[cat] = has(R.r, cat) || c[cat] === true; });
    if (prev) {
      R.c.forEach(function (cat) { if (I.allowed(cat) && !next.c[cat]) withdrawn.push([cat]); });
      each(prev.s, function (svc, on) { if (on && next.s[svc] === false) withdrawn.push([0, svc]); });
    }
    I.dec(next);
    var cats = R.c.filter(function (x) { return next.c[x] && !has(R.r, x); }).join("+");
    var svcs = [];
    each(next.s, function (k, v) { svcs.push(k + ":" + (v ? 1 : 0)); });
    d.cookie = "keurmerk=" + encodeURIComponent([next.v, next.f, next.t, cats, svcs.join("+"), gpc ? 1 : 0].join(".")) +
      ";path=/;max-age=" + R.e * 86400 + ";samesite=lax" + (loc.protocol === "https:" ? ";secure" : "");
    withdrawn.forEach(function (x) { wipe(x[0], x[1]); });
    K.reloadSuggested = K.reloadSuggested || withdrawn.length > 0;
    I.gtag("consent", "update", I.signals());
    I.release();
    var q = I.store(I.QUEUE) || [];
    q.push({ config_version: R.v, method: method, categories: next.c, services: next.s, language: K.lang, page_path: loc.pathname, gpc: gpc });
    I.store(I.QUEUE, q.slice(-20));
    flush();
    I.reopen();
    I.emit("keurmerk:change", { categories: next.c, services: next.s, method: method, withdrawn: withdrawn.length > 0 });
  };

  // The visitor's proof, downloaded from the preferences dialog: the
  // server's standard proof bundles (RFC 9162 inclusion in a signed
  // checkpoint, checked offline by `keurmerk-verify proof`) once a
  // checkpoint covers the decision, else the receipt the server returned.
  K._dl = function () {
    var me = I.store(I.STORE) || {};
    function save(x, name) {
      var a = d.createElement("a"), u = URL.createObjectURL(new Blob([JSON.stringify(x, null, 2)], { type: "application/json" }));
      a.href = u;
      a.download = name;
      d.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(u); });
    }
    I.oFetch.call(w, R.a + "/api/v1/sites/" + R.s + "/visitors/" + me.id + "/proofs", { headers: { "x-keurmerk-secret": me.secret }, credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : 0; })
      .catch(function () { return 0; })
      .then(function (b) { if (b && b.length) save(b, "keurmerk-proof.json"); else save(me.receipt, "keurmerk-receipt.json"); });
  };

  // "Always allow" on a placeholder: grants one service (or category).
  K.allow = function (cat, svc) {
    var c = {}, s = {}, dec = I.dec();
    if (dec) { each(dec.c, function (k, v) { c[k] = v; }); each(dec.s, function (k, v) { s[k] = v; }); }
    if (svc) s[svc] = true; else c[cat] = true;
    K._set(c, s, "custom");
  };
}
