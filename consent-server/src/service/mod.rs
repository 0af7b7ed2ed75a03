//! The use cases: what the server does, whoever asks (the HTTP API, the
//! dashboard). Each takes the server's [`Services`] and plain inputs, and
//! answers with plain values or an [`Error`]; none of them knows HTTP.
//!
//! - [`decision`]: record a visitor's decision (validate, seal, append, receipt).
//! - [`login`]: check credentials and open an admin session (rate limit,
//!   dummy hash for unknown users, argon2 off the async threads).
//! - [`erasure`]: erase a visitor (crypto-shredding: the sealing key goes).
//! - [`scan`]: check and queue a scan for the scanner workers.
//! - [`attestation`]: turn every stored scan into a logged attestation (the seal).
//! - [`installation`]: check how a site's page installs the loader.
//! - [`config`]: publish a site configuration, create a site, set its origins.
//! - [`credentials`]: passwords (argon2), tokens and API keys.
//! - [`api_keys`]: mint and revoke a site's API keys (audited).

pub mod api_keys;
pub mod attestation;
pub mod config;
pub mod credentials;
pub mod decision;
pub mod erasure;
mod error;
pub mod installation;
pub mod login;
pub mod scan;

use std::sync::Arc;

pub use error::Error;

use crate::limits::Limits;
use crate::log::Log;
use crate::metrics::Metrics;
use crate::scan_queue::ScanQueue;
use crate::settings::Settings;
use crate::sites::SiteCache;
use crate::storage::Backend;

/// Everything a use case may need, built once by [`crate::app::state`].
pub struct Services {
    pub store: Backend,
    pub sites: SiteCache,
    pub limits: Limits,
    pub metrics: Metrics,
    pub settings: Settings,
    pub log: Log,
    /// An argon2 hash of nothing, verified for unknown usernames at log-in.
    pub dummy_hash: String,
    /// Where passwords are checked (threads of its own, bounded).
    pub passwords: credentials::PasswordChecker,
    /// Scans queued for scanner workers; `None` without `--redis`/`--scan-queue`.
    pub scan_queue: Option<ScanQueue>,
    /// The witness this server hosts for other logs (`--witness-for`).
    pub witness: Option<Arc<keurmerk_verify::witness::Witness>>,
}

/// The services as handlers hold them; cheap to clone.
pub type AppState = Arc<Services>;
