// Runs in every page before any page script (Page.addScriptToEvaluateOnNewDocument):
// records document.cookie writes, with the script that made them (from the stack),
// in window.__keurmerkScan.cookies until the next navigation.
(() => {
  if (window.__keurmerkScan) return;
  const S = window.__keurmerkScan = { cookies: [] };
  const d = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  if (!d || !d.set) return;
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    enumerable: d.enumerable,
    get() { return d.get.call(this); },
    set(v) {
      try {
        if (S.cookies.length < 5000) {
          const lines = String(new Error().stack || '').split('\n').slice(1);
          let script = null;
          for (const l of lines) {
            const m = l.match(/(https?:\/\/[^\s()]+?)(?::\d+)+\)?\s*$/);
            if (m) { script = m[1]; break; }
          }
          S.cookies.push({ line: String(v).slice(0, 4096), script });
        }
      } catch (e) {}
      return d.set.call(this, v);
    },
  });
})();
