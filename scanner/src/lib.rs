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
//! - [`guard`]: the SSRF guard (public addresses only, unless allowed).
//! - [`html`]: scripts, pixels and links from HTML (lol_html).
//! - [`install`]: is the consent loader first, in `<head>`, synchronous; tracker tags in the HTML.
//! - [`robots`]: robots.txt and sitemap.xml.
//! - [`crawl`]: the static pass (breadth-first, bounded, polite).
//! - [`browser`]: the browser pass (Chromium, four consent states).
//! - [`mod@scan`]: one scan end to end.
//! - [`detect`]: observations + knowledge + declaration → inventory and findings.
//! - [`finding`]: findings, severities, evidence, remedies.
//! - [`report`]: the versioned JSON report, HTML and SARIF renderings.
//! - [`check`]: `consent-scan check`: a scan judged for CI (regressions, JUnit, SARIF).
//! - [`upload`]: sending reports to the consent server.
//! - [`worker`]: scan jobs from a Redis list.
#![deny(rustdoc::broken_intra_doc_links)]

pub mod browser;
pub mod check;
pub mod cookie;
pub mod crawl;
pub mod declared;
pub mod detect;
pub mod fetch;
pub mod finding;
pub mod guard;
pub mod html;
pub mod install;
pub mod page;
pub mod pii;
pub mod report;
pub mod robots;
pub mod scan;
pub mod signature;
pub mod upload;
pub mod worker;

pub use finding::{Finding, Rule, Severity};
pub use report::Report;
pub use scan::{Knowledge, ScanConfig, scan, scan_staged};
