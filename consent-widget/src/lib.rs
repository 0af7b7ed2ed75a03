//! Keurmerk's consent banner (wasm).
