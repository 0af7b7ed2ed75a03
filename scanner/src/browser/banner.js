// Finds and operates the consent banner: Keurmerk's own API first, then Keurmerk's
// buttons, then well-known CMP buttons, then buttons by text (en/nl/de/fr).
// Placeholder filled in by scripts.rs: __ACCEPT__ (true: accept all, false: reject all).
// Evaluates to how the choice was made, or null when no banner was found.
(async () => {
  const accept = __ACCEPT__;
  const K = window.keurmerk;
  if (K) {
    if (accept && typeof K.acceptAll === 'function') { await K.acceptAll(); return 'window.keurmerk.acceptAll()'; }
    if (!accept && typeof K.rejectAll === 'function') { await K.rejectAll(); return 'window.keurmerk.rejectAll()'; }
    if (typeof K._set === 'function' && K._R && Array.isArray(K._R.c)) {
      const c = {}; K._R.c.forEach((x) => { c[x] = accept; });
      K._set(c, {}, accept ? 'accept_all' : 'reject_all');
      return 'window.keurmerk (' + (accept ? 'accept_all' : 'reject_all') + ')';
    }
  }
  const walk = function* (root) {
    for (const el of root.querySelectorAll('*')) { yield el; if (el.shadowRoot) yield* walk(el.shadowRoot); }
  };
  const ids = accept
    ? ['[data-km="accept"]', '#onetrust-accept-btn-handler', '#CybotCookiebotDialogBodyLevelButtonLevelOptinAllowAll', '#CybotCookiebotDialogBodyButtonAccept', '.cky-btn-accept', '[data-cc="accept-all"]', '#didomi-notice-agree-button', '.cmplz-accept', '#uc-btn-accept-banner']
    : ['[data-km="reject"]', '#onetrust-reject-all-handler', '#CybotCookiebotDialogBodyButtonDecline', '.cky-btn-reject', '[data-cc="reject-all"]', '#didomi-notice-disagree-button', '.cmplz-deny', '#uc-btn-deny-banner'];
  const all = [...walk(document)];
  for (const sel of ids) {
    const el = all.find((e) => e.matches && e.matches(sel));
    if (el) { el.click(); return 'button ' + sel; }
  }
  const re = accept
    ? /^(accept all|accept all cookies|accept|allow all|allow all cookies|agree|i agree|ok|alles accepteren|alle cookies accepteren|accepteren|akkoord|alle akzeptieren|akzeptieren|tout accepter|accepter)$/i
    : /^(reject all|reject all cookies|reject|decline|decline all|deny|refuse|only necessary|necessary only|use necessary cookies only|alles weigeren|weigeren|alleen noodzakelijk|alleen noodzakelijke cookies|alle ablehnen|ablehnen|tout refuser|refuser)$/i;
  for (const el of all) {
    if (!/^(BUTTON|A)$/.test(el.tagName) && el.getAttribute('role') !== 'button') continue;
    const t = (el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ');
    if (t.length <= 40 && re.test(t)) { el.click(); return 'button "' + t + '"'; }
  }
  return null;
})()
