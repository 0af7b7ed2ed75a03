//! Keurmerk's scanner: finds retargeting pixels, custom-audience tags,
//! personal data sent to ad platforms, undeclared cookies and tracking
//! before consent.
//!
//! - [`signature`]: the knowledge base (one TOML file per platform).
//! - [`pii`]: personal data in requests: known parameters, canary identity.
//! - [`cookie`]: `Set-Cookie` parsing and cookie classification (+ Open Cookie Database).
//! - [`declared`]: the site's declared services and cookies.
//! - [`page`]: what the passes observe.
//! - [`fetch`]: bounded HTTP for the static pass.
//! - [`detect`]: observations + knowledge + declaration → inventory and findings.
//! - [`finding`]: findings, severities, evidence, remedies.

pub mod cookie;
pub mod declared;
pub mod detect;
pub mod fetch;
pub mod finding;
pub mod page;
pub mod pii;
pub mod signature;
