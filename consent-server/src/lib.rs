//! Keurmerk's consent server: the composition root.
//!
//! - [`settings`]: flags, environment and TOML file.
//! - [`store`]: the storage backends (embedded SQLite, Redis) behind `consent_core::store::Store`.
//! - [`app`]: state, routes, serving and graceful shutdown.
//! - [`api`]: the HTTP handlers.
//! - [`auth`]: API keys, admin sessions, CSRF.
//! - [`sites`]: caches of sites and configuration versions.
//! - [`limits`]: rate limits.
//! - [`metrics`]: Prometheus metrics.
//! - [`log`]: the transparency log's seam (issue 3).
//! - [`dashboard`]: the dashboard's hook into admin sessions.
//! - [`bootstrap`]: the demo site and admin account on first start.
//! - [`browser`]: the coarse browser summary kept with a decision.
//! - [`scan_queue`]: scans queued for scanner workers over Redis, results collected.

pub mod api;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod browser;
pub mod dashboard;
pub mod error;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod scan_queue;
pub mod settings;
pub mod sites;
pub mod store;
