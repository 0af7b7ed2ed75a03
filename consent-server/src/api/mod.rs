//! The HTTP API: thin handlers over the store and `consent-core`.
//!
//! - [`decisions`]: the widget records decisions (public, CORS per site).
//! - [`public`]: a site's configuration and loader script (public, cacheable).
//! - [`owner`]: sites, configurations, API keys, decisions (authenticated).
//! - [`scans`]: scan reports uploaded by the scanner.
//! - [`session`]: admin log-in for the dashboard.
//! - [`health`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`docs`]: OpenAPI schemas of `consent-core` types.

pub mod decisions;
pub mod docs;
pub mod health;
pub mod owner;
pub mod public;
pub mod scans;
pub mod session;
