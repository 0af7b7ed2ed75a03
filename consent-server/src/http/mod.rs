//! The HTTP layer: thin handlers that parse a request, call a use case in
//! [`crate::service`] or read storage, and answer. Nothing here decides.
//!
//! - [`decisions`]: the widget records decisions (public, CORS per site).
//! - [`public`]: a site's configuration and loader script (public, cacheable).
//! - [`policy`]: a site's cookie policy table (HTML fragment, CSV, JSON; public).
//! - [`seal`]: a site's Keurmerk seal: page, badge, attestation bundle (public).
//! - [`log`]: the proof log's endpoints, and visitors' access and erasure.
//! - [`owner`]: sites, configurations, API keys, decisions (authenticated).
//! - [`scans`]: scan reports and scan jobs.
//! - [`session`]: admin log-in, who-am-I, log-out.
//! - [`health`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`dashboard`]: the dashboard's host, over the same services.
//! - Shared by the handlers: [`extract`] (cached site, CORS, body limits),
//!   [`auth`] (the caller: API key or admin session with CSRF), [`error`]
//!   (the one error shape), [`docs`] (OpenAPI schemas of core types).
//! - [`connections`]: the accept loop (header-read timeout, connection cap).

pub mod auth;
pub mod connections;
pub mod dashboard;
pub mod decisions;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod log;
pub mod owner;
pub mod policy;
pub mod public;
pub mod scans;
pub mod seal;
pub mod session;
