// Scrolls, fills every form with the canary identity and clicks buttons that are
// neither submit nor consent buttons, so pixels bound to interactions fire.
// Placeholders filled in by scripts.rs: __EMAIL__, __PHONE__, __FIRST__, __LAST__,
// __ZIP__ (JSON strings) and __SUBMIT__ (true: submit the forms after filling them).
// Evaluates to the number of buttons clicked.
(async () => {
  const consent = /(accept|agree|allow|reject|decline|deny|refuse|akkoord|accepteer|accepteren|weiger|toestaan|cookie|instellingen|preferences|settings|ablehnen|akzeptieren|refuser|accepter)/i;
  window.scrollTo(0, document.body ? document.body.scrollHeight : 0);
  const set = (el, v) => {
    const proto = Object.getPrototypeOf(el);
    const desc = Object.getOwnPropertyDescriptor(proto, 'value');
    el.focus();
    if (desc && desc.set) desc.set.call(el, v); else el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    el.blur();
  };
  const pick = (el) => {
    const h = [el.type, el.name, el.id, el.placeholder, el.getAttribute('autocomplete'), el.getAttribute('aria-label')].join(' ').toLowerCase();
    if (el.type === 'email' || /mail/.test(h)) return __EMAIL__;
    if (el.type === 'tel' || /(phone|tel|mobile|mobiel|telefoon)/.test(h)) return __PHONE__;
    if (/(first|given|voornaam|fname)/.test(h)) return __FIRST__;
    if (/(last|family|surname|achternaam|lname)/.test(h)) return __LAST__;
    if (/(zip|postal|postcode)/.test(h)) return __ZIP__;
    if (/name|naam/.test(h)) return __FIRST__ + ' ' + __LAST__;
    return null;
  };
  for (const el of document.querySelectorAll('input, textarea')) {
    if (['hidden', 'password', 'submit', 'button', 'checkbox', 'radio', 'file'].includes(el.type)) continue;
    const v = pick(el);
    if (v !== null) set(el, v);
  }
  let clicked = 0;
  for (const b of document.querySelectorAll('button, [role=button]')) {
    if (clicked >= 5) break;
    if (b.closest('form') || b.type === 'submit') continue;
    const t = (b.innerText || b.textContent || '').trim();
    if (consent.test(t) || consent.test(b.id || '') || consent.test(b.className || '')) continue;
    try { b.click(); clicked++; } catch (e) {}
  }
  if (__SUBMIT__) for (const f of document.forms) { try { f.requestSubmit(); } catch (e) {} }
  return clicked;
})()
