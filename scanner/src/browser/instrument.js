// Runs in every page before any page script (Page.addScriptToEvaluateOnNewDocument):
// records document.cookie writes, fingerprinting probes (canvas, WebGL, audio, fonts)
// and storage writes (localStorage, sessionStorage, IndexedDB), each with the script
// that made it (from the stack), in window.__keurmerkScan until the next navigation.
// Every hook calls the original and never throws into the page.
(() => {
  if (window.__keurmerkScan) return;
  const S = window.__keurmerkScan = { cookies: [], activity: [] };
  // The first http(s) URL on the stack, below this file's own frame.
  const who = () => {
    const lines = String(new Error().stack || '').split('\n').slice(2);
    for (const l of lines) {
      const m = l.match(/(https?:\/\/[^\s()]+?)(?::\d+)+\)?\s*$/);
      if (m) return m[1];
    }
    return null;
  };
  // One record per (kind, detail, script): a probe in a loop is one probe.
  const seen = new Set();
  const note = (kind, detail) => {
    try {
      const script = who();
      const k = kind + '\u0000' + detail + '\u0000' + script;
      if (seen.has(k) || S.activity.length >= 2000) return;
      seen.add(k);
      S.activity.push({ kind, detail: String(detail).slice(0, 200), script });
    } catch (e) {}
  };
  const wrap = (proto, name, before) => {
    const d = proto && Object.getOwnPropertyDescriptor(proto, name);
    if (!d || typeof d.value !== 'function') return;
    const orig = d.value;
    Object.defineProperty(proto, name, {
      configurable: true,
      enumerable: d.enumerable,
      writable: true,
      value: function (...args) {
        try { before.call(this, args); } catch (e) {}
        return orig.apply(this, args);
      },
    });
  };

  const d = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  if (d && d.set) {
    Object.defineProperty(Document.prototype, 'cookie', {
      configurable: true,
      enumerable: d.enumerable,
      get() { return d.get.call(this); },
      set(v) {
        try {
          if (S.cookies.length < 5000) S.cookies.push({ line: String(v).slice(0, 4096), script: who() });
        } catch (e) {}
        return d.set.call(this, v);
      },
    });
  }

  // Canvas: drawing is harmless, reading the pixels back is the fingerprint.
  if (window.HTMLCanvasElement) {
    wrap(HTMLCanvasElement.prototype, 'toDataURL', () => note('canvas', 'HTMLCanvasElement.toDataURL'));
    wrap(HTMLCanvasElement.prototype, 'toBlob', () => note('canvas', 'HTMLCanvasElement.toBlob'));
  }
  if (window.CanvasRenderingContext2D) {
    wrap(CanvasRenderingContext2D.prototype, 'getImageData', () => note('canvas', 'CanvasRenderingContext2D.getImageData'));
  }
  // WebGL: the unmasked vendor and renderer name the graphics card.
  const UNMASKED_VENDOR = 0x9245, UNMASKED_RENDERER = 0x9246;
  for (const C of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
    if (!C) continue;
    wrap(C.prototype, 'getExtension', (a) => {
      if (a[0] === 'WEBGL_debug_renderer_info') note('webgl', 'getExtension(WEBGL_debug_renderer_info)');
    });
    wrap(C.prototype, 'getParameter', (a) => {
      if (a[0] === UNMASKED_VENDOR || a[0] === UNMASKED_RENDERER) note('webgl', 'getParameter(UNMASKED_RENDERER_WEBGL)');
    });
    wrap(C.prototype, 'readPixels', () => note('webgl', 'readPixels'));
  }
  // Audio: rendering an offline graph (oscillator through a compressor) and
  // reading the samples is the audio fingerprint; players use live contexts.
  if (window.OfflineAudioContext) {
    wrap(OfflineAudioContext.prototype, 'startRendering', () => note('audio', 'OfflineAudioContext.startRendering'));
  }
  // Fonts: measuring text in many fonts tells which are installed. One
  // script measuring 20 or more distinct fonts (or checking them) counts.
  const FONTS = 20;
  const fonts = new Map();
  const font = (how, f) => {
    const script = who() || '';
    let set = fonts.get(script);
    if (!set) fonts.set(script, (set = new Set()));
    if (set.size < FONTS) {
      set.add(String(f));
      if (set.size === FONTS) note('fonts', how + ' in ' + FONTS + ' fonts');
    }
  };
  if (window.CanvasRenderingContext2D) {
    wrap(CanvasRenderingContext2D.prototype, 'measureText', function () { font('measureText', this.font); });
  }
  if (window.FontFaceSet) {
    wrap(FontFaceSet.prototype, 'check', (a) => font('document.fonts.check', a[0]));
  }
  // Storage writes, with the key (or database) written.
  if (window.Storage) {
    wrap(Storage.prototype, 'setItem', function (a) {
      let area = 'local-storage';
      try { if (this === window.sessionStorage) area = 'session-storage'; } catch (e) {}
      note(area, a[0]);
    });
  }
  if (window.IDBFactory) {
    wrap(IDBFactory.prototype, 'open', (a) => note('indexed-db', a[0]));
  }
})();
