// The site's usual gtag snippet (kept external so a strict CSP allows it).
window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); }
gtag("js", new Date());
gtag("config", "G-DEMO");
