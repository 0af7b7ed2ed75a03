// Entry of widget.js: hands the wasm-bindgen glue to the loader, which
// already fetches the wasm, the configuration and the texts in parallel.
import init, { start, open } from "./glue/consent_widget.js";
window.keurmerk._boot({ init: init, start: start, open: open });
