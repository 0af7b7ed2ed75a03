// Entry of widget.js: installs decision changes (decide.js) on the loader's
// API and hands it the wasm-bindgen glue; the loader already fetches the
// wasm, the configuration and the texts in parallel.
import init, { start, open } from "./glue/consent_widget.js";
import { install } from "./decide.js";

install(window.keurmerk);
window.keurmerk._boot({ init: init, start: start, open: open });
