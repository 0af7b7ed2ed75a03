//! The dashboard: a router the server mounts at `/dashboard`, speaking to
//! storage only through `consent-core`'s traits (it never imports the server).
//!
//! - [`auth`]: the log-in hook the server hands in (its session mechanism).
//! - [`html`]: escaping, the page frame, Dutch and English texts.
//! - [`pages`]: the handlers (log-in, sites, a site, scans and findings).

pub mod auth;
pub mod html;
pub mod pages;

pub use auth::Auth;
pub use pages::router;

/// Where the server mounts the dashboard; links are absolute under it.
pub const BASE: &str = "/dashboard";
