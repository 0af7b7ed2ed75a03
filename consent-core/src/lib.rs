//! Keurmerk's domain, shared by every other crate. No IO, no async runtime:
//! the widget compiles it to wasm, the server and scanner build on it.
//!
//! - [`account`]: who logs in, their roles per site, and what each role may do.
//! - [`audit`]: a site's append-only audit trail.
//! - [`draft`]: a site's configuration being edited, before it is published.
//! - [`banner`]: the banner's first layer, rendered into the per-site
//!   loader (the one renderer of it; the wasm hydrates it).
//! - [`attestation`]: the Keurmerk seal: a scan's verdicts as a leaf of the
//!   proof log, distinct from decision records.
//! - [`catalogue`]: the built-in catalogue of well-known vendors a site owner
//!   picks services from, read from the scanner's signature files.
//! - [`analytics`]: anonymous counts of decisions per site, day and
//!   configuration version, and the reports built from them.
//! - [`config`]: a site's banner configuration (categories, services, cookies,
//!   texts) and its content-addressed version.
//! - [`config_diff`]: what changed between two configurations, and whether
//!   visitors are asked again.
//! - [`cookie_policy`]: the cookie policy table a site publishes, from its
//!   published configuration.
//! - [`decision`]: what a visitor chose, as the widget sends it, and its
//!   validation against the configuration the visitor saw.
//! - [`export`]: how a cell of a CSV export is written (spreadsheets).
//! - [`redact`]: identities in scan reports shown as a prefix and their kind.
//! - [`register`]: the register of processing (GDPR art. 30) of a site's
//!   tracking, from its published configuration, the catalogue and the
//!   owner's details.
//! - [`record`]: what is stored and logged for a decision, with the personal
//!   fields sealed under the visitor's key so erasure keeps the proof intact.
//! - [`id`]: identifiers (site ids, consent ids) and their shapes.
//! - [`loader`]: the per-site synchronous loader script the server serves.
//! - [`store`]: the storage traits the server's backends implement.
//! - [`visitor_request`]: a visitor's request (access, erasure; GDPR art. 15
//!   and 17), its one-month deadline, and the export of their records.
//! - [`scan_job`]: the scan queue's contract between the server and the
//!   scanner's workers (Redis keys, the job).
//! - Proof log (feature `proof`): [`merkle`] (RFC 9162 tree, proofs over any
//!   store of subtree hashes), [`tile`] (how those hashes are stored),
//!   [`note`] (C2SP signed notes, Ed25519), [`cosignature`] (C2SP
//!   tlog-cosignature: witnesses' cosignature/v1), [`checkpoint`] (C2SP
//!   tlog-checkpoint), [`tlog_proof`] (C2SP tlog-proof@v1) and [`receipt`]
//!   (the signed promise returned with every decision).
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(missing_docs)]

pub mod account;
pub mod analytics;
pub mod attestation;
pub mod audit;
pub mod banner;
pub mod catalogue;
#[cfg(feature = "proof")]
pub mod checkpoint;
pub mod config;
pub mod config_diff;
pub mod cookie_policy;
#[cfg(feature = "proof")]
pub mod cosignature;
pub mod decision;
pub mod draft;
pub mod export;
pub mod id;
pub mod loader;
#[cfg(feature = "proof")]
pub mod merkle;
#[cfg(feature = "proof")]
pub mod note;
#[cfg(feature = "proof")]
pub mod receipt;
pub mod record;
pub mod redact;
pub mod register;
pub mod scan_job;
pub mod store;
#[cfg(feature = "proof")]
pub mod tile;
#[cfg(feature = "proof")]
pub mod tlog_proof;
pub mod visitor_request;

pub use config::{Category, ConfigVersion, CookieDecl, LegalBasis, Service, SiteConfig};
pub use decision::{DecisionError, DecisionRequest, Method, ValidDecision};
pub use id::{ConsentId, IdError, SiteId};
pub use record::{DecisionRecord, PersonalFields, RecordError};
