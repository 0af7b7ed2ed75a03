//! Keurmerk's consent server: the composition root.
//!
//! Three layers, each in its own folder; a request goes down through them and
//! never sideways:
//!
//! - [`http`]: the handlers and the extractors they share (the cached site
//!   from the path, CORS, body limits, the caller), the error shape, and the
//!   dashboard's host adapter. Handlers parse and answer; they decide nothing.
//! - [`service`]: the use cases (record a decision, log in, erase a visitor,
//!   queue a scan, publish a configuration), called by the API and the
//!   dashboard alike.
//! - [`storage`]: the embedded SQLite and the Redis backends, each owning all
//!   of its storage (decisions, the proof log's tiles and lease, erasure,
//!   migrations, scripts).
//!
//! Beside them:
//! - [`app`]: state, routes, serving and graceful shutdown.
//! - [`settings`]: flags, environment and TOML file.
//! - [`log`]: the transparency log (key, receipts, the integrator).
//! - [`sites`]: caches of sites and configuration versions.
//! - [`limits`]: rate limits. [`metrics`]: Prometheus metrics.
//! - [`scan_queue`]: scans queued for workers, in Redis or in the embedded
//!   storage; [`scan_worker`]: the server's own workers for the latter.
//! - [`bootstrap`]: the demo site and admin account on first start.
//! - [`browser`]: the coarse browser summary kept with a decision.
//! - [`clock`]: wall time.
#![deny(rustdoc::broken_intra_doc_links)]

pub mod app;
pub mod bootstrap;
pub mod browser;
pub mod clock;
pub mod http;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod scan_queue;
pub mod scan_worker;
pub mod service;
pub mod settings;
pub mod sites;
pub mod storage;
