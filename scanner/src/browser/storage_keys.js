// Every localStorage and sessionStorage key (at most 500 of each), as "area:key".
(() => {
  const k = (s) => { try { return Object.keys(s).slice(0, 500); } catch (e) { return []; } };
  return k(localStorage).map((x) => 'localStorage:' + x)
    .concat(k(sessionStorage).map((x) => 'sessionStorage:' + x));
})()
