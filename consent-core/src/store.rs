//! The storage traits: everything the server (and later the dashboard) asks
//! of storage, independent of where it lives. `consent-server` implements
//! [`Store`] twice — embedded SQLite and Redis — and runs one conformance
//! suite against both.
//!
//! The decision records form the transparency log's leaf sequence: [`DecisionStore::append`]
//! gives every record a gap-free index (0, 1, 2, ...) in the same durable step
//! that writes it, so "leaf `i`" and "decision `i`" are the same thing.
//!
//! The methods return `impl Future + Send` rather than being `async fn` so that
//! callers in multi-threaded runtimes may hold them across `.await` points;
//! implementations are still free to write `async fn`.

use std::future::Future;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::analytics::{DayTally, Period};
use crate::audit::AuditEntry;
use crate::config::{ConfigVersion, SiteConfig};
use crate::id::{ConsentId, SiteId};
use crate::record::DecisionRecord;

/// What can go wrong talking to storage. Handlers map `Unavailable` to 503.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// Storage cannot be reached or refused the write; retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The thing to create exists already (names it).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The thing to change does not exist (names it).
    #[error("not found: {0}")]
    NotFound(String),
    /// A bound on what one party may store was reached (names it); nothing
    /// was written.
    #[error("limit reached: {0}")]
    LimitReached(String),
    /// Stored bytes do not parse: a bug or tampering, never the caller's fault.
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[source] Cause),
}

impl StoreError {
    /// Storage unavailable because of `e` (kept whole, as the error's source).
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Cause::new(e))
    }

    /// Corrupt stored data, as `e` found it.
    pub fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt(Cause::new(e))
    }
}

/// The error behind a [`StoreError`]: the backend's own error, kept whole
/// (its type and chain) rather than flattened into a string, and cheap to
/// clone because one failed batch answers many waiting requests.
#[derive(Clone, Debug)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    /// Keeps `e` whole as the cause.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(e))
    }

    /// A cause that is only a message (no underlying error value exists).
    pub fn msg(message: impl Into<String>) -> Self {
        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Message(String);
        Self::new(Message(message.into()))
    }

    /// The underlying error, to downcast to the backend's type.
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A site (tenant) as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The site's id (its slug).
    pub id: SiteId,
    /// Origins (`https://shop.example.nl`) allowed to record decisions.
    pub allowed_origins: Vec<String>,
    /// The configuration version the loader and the public config serve.
    pub current_version: ConfigVersion,
    /// When the site was created (Unix ms).
    pub created_ms: u64,
}

/// What storage keeps about a visitor (a consent id within a site).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    /// SHA-256 of the secret handed to the visitor's browser; the secret
    /// itself is never stored.
    pub secret_sha256: [u8; 32],
    /// The key sealing the visitor's personal fields; `None` once erased.
    pub sealing_key: Option<[u8; 32]>,
}

/// A first decision also registers the visitor, in the same durable step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVisitor {
    /// SHA-256 of the secret handed to the visitor's browser.
    pub secret_sha256: [u8; 32],
    /// A fresh random key for the visitor's personal fields.
    pub sealing_key: [u8; 32],
}

/// One decision to append to the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Append {
    /// The site the decision was made on.
    pub site: SiteId,
    /// The visitor's consent id.
    pub consent_id: ConsentId,
    /// The record's `time_ms` (Unix ms), kept for listing by time.
    pub time_ms: u64,
    /// The record's canonical bytes ([`DecisionRecord::canonical_bytes`]): the leaf.
    pub leaf: Vec<u8>,
    /// Set for a visitor's first decision. Appending fails with
    /// [`StoreError::Conflict`] (and writes nothing) if the visitor exists.
    pub new_visitor: Option<NewVisitor>,
    /// For a returning visitor: refused with [`StoreError::LimitReached`]
    /// (and nothing written) when the visitor holds this many decisions
    /// already. `None`: no bound.
    pub visitor_cap: Option<u32>,
}

/// A decision as read back, with its leaf index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedDecision {
    /// Its leaf index in the log.
    pub index: u64,
    /// The record, parsed from the leaf.
    pub record: DecisionRecord,
}

/// Filters for listing a site's decisions: oldest first, or newest first
/// with [`newest_first`](Self::newest_first). A store reads only the rows it
/// returns (plus those the time filter skips), so the newest page of a long
/// history costs as little as the oldest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecisionQuery {
    /// Only this visitor's decisions.
    pub consent_id: Option<ConsentId>,
    /// Inclusive lower bound on `time_ms`.
    pub from_ms: Option<u64>,
    /// Exclusive upper bound on `time_ms`.
    pub to_ms: Option<u64>,
    /// Only decisions with a leaf index above this one (the cursor of
    /// oldest-first pages).
    pub after: Option<u64>,
    /// Only decisions with a leaf index below this one (the cursor of
    /// newest-first pages).
    pub before: Option<u64>,
    /// Newest (highest index) first.
    pub newest_first: bool,
    /// At most this many decisions.
    pub limit: usize,
}

impl DecisionQuery {
    /// Whether `d` passes the filters (ignores order and limit).
    pub fn matches(&self, d: &LoggedDecision) -> bool {
        self.after.is_none_or(|a| d.index > a)
            && self.before.is_none_or(|b| d.index < b)
            && self.from_ms.is_none_or(|f| d.record.time_ms >= f)
            && self.to_ms.is_none_or(|t| d.record.time_ms < t)
            && self.consent_id.as_ref().is_none_or(|c| *c == d.record.consent_id)
    }
}

/// What an API key may do, on its one site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// List, look up and export decisions.
    #[serde(rename = "decisions:read")]
    DecisionsRead,
    /// Save configurations and change allowed origins.
    #[serde(rename = "config:write")]
    ConfigWrite,
    /// Upload scan reports (the scanner's `--upload`).
    #[serde(rename = "scans:write")]
    ScansWrite,
    /// List and read scan reports.
    #[serde(rename = "scans:read")]
    ScansRead,
}

/// A per-site API key. The key itself is shown once; storage keeps its
/// SHA-256 (keys are 256 random bits, so a fast hash is enough).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public identifier, safe to show and log.
    pub id: String,
    /// The one site it acts for.
    pub site: SiteId,
    /// A label chosen by whoever created it.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was created (Unix ms).
    pub created_ms: u64,
    /// From this time (Unix ms) on the key is refused; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    /// When the key was last used, to within [`LAST_USED_GRANULARITY_MS`]
    /// (see [`AccountStore::touch_api_key`]); `None`: not yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<u64>,
}

/// How stale an API key's `last_used_ms` may get: a request records its use
/// only when the stored time is older than this, so a busy key costs one
/// write a minute rather than one a request.
pub const LAST_USED_GRANULARITY_MS: u64 = 60_000;

impl ApiKey {
    /// Whether the key may no longer be used at `now_ms`.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.expires_ms.is_some_and(|e| now_ms >= e)
    }

    /// Whether a use at `now_ms` should be recorded (the stored time is
    /// missing or older than [`LAST_USED_GRANULARITY_MS`]).
    pub fn use_worth_recording(&self, now_ms: u64) -> bool {
        self.last_used_ms
            .is_none_or(|t| now_ms.saturating_sub(t) >= LAST_USED_GRANULARITY_MS)
    }
}

/// A logged-in session; storage keys it by the SHA-256 of its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The account it belongs to.
    pub username: String,
    /// The CSRF token the session's state-changing requests must echo.
    pub csrf: String,
    /// When it stops being valid (Unix ms).
    pub expires_ms: u64,
    /// The account's [`Account::session_epoch`] when the session was opened.
    #[serde(default)]
    pub epoch: u32,
}

/// The largest scan report storage keeps (the upload endpoint answers 413 above it).
pub const MAX_SCAN_BYTES: usize = 4 * 1024 * 1024;

/// What storage knows about a scan report without reading it. The report
/// itself is opaque JSON bytes to storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanMeta {
    /// Unique within the site; sorts by upload time (see [`ScanMeta::new_id`]).
    pub id: String,
    /// The site it was uploaded for.
    pub site: SiteId,
    /// When the report was uploaded (Unix ms).
    pub time_ms: u64,
    /// The URL the report says was scanned (truncated to 2048 bytes).
    pub url: String,
    /// Findings per severity (`info` .. `critical`).
    pub counts: std::collections::BTreeMap<String, u64>,
}

impl ScanMeta {
    /// An id that sorts like the upload time (zero-padded ms) and is unique
    /// thanks to its random suffix (`random` is hex from the caller's RNG).
    pub fn new_id(time_ms: u64, random: &str) -> String {
        format!("{time_ms:015}-{random}")
    }
}

/// A stored scan: its summary and the report's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredScan {
    /// Its summary.
    pub meta: ScanMeta,
    /// The report as uploaded (JSON bytes).
    pub report: Vec<u8>,
}

/// Listing a site's scans, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanQuery {
    /// Only scans with an id below this one (the previous page's last id).
    pub before: Option<String>,
    /// At most this many scans.
    pub limit: usize,
}

/// The most findings one site may have triaged at once.
pub const MAX_TRIAGE: usize = 2000;

/// What a site's owner decided about a finding of its scans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriageStatus {
    /// Fixed on the site; a later scan that still finds it says so.
    Fixed,
    /// Not to be acted on, for the reason given.
    Ignored,
}

/// A decision about one finding of a site, kept across scans: it is keyed
/// by the finding's fingerprint ([`finding_fingerprint`]), which every scan
/// that finds the same problem shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    /// The finding's fingerprint (at most 64 characters of `[0-9a-z-]`).
    pub fingerprint: String,
    /// Fixed or ignored.
    pub status: TriageStatus,
    /// Why it is ignored (empty for a fix).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Who decided (the admin's user name).
    pub by: String,
    /// When (Unix ms).
    pub time_ms: u64,
    /// The scan it was decided on.
    pub scan_id: String,
}

/// A scan finding's fingerprint: 16 hex digits of the SHA-256 of its rule
/// id and its subject (the platform id, or the cookie, host or script site
/// the finding is about), never its evidence. The scanner writes it into
/// every finding; the dashboard computes it for findings of older reports.
pub fn finding_fingerprint(rule: &str, subject: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{rule}\n{subject}").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything Keurmerk keeps, by concern: a use case asks only for the
/// traits it needs, and a backend implements all five. Callers holding a
/// concrete store import the traits whose methods they call.
pub trait Store: SiteStore + DecisionStore + AccountStore + ScanStore + AttestationStore + RecordStore {}

impl<T: SiteStore + DecisionStore + AccountStore + ScanStore + AttestationStore + RecordStore> Store for T {}

/// Sites (tenants) and their immutable configuration versions.
pub trait SiteStore: Send + Sync + 'static {
    /// Creates a site with its first configuration; `Conflict` if it exists.
    fn create_site(&self, site: &Site, config: &SiteConfig) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The site with this id, if it exists.
    fn site(&self, id: &SiteId) -> impl Future<Output = Result<Option<Site>, StoreError>> + Send;

    /// Every site.
    fn sites(&self) -> impl Future<Output = Result<Vec<Site>, StoreError>> + Send;

    /// Replaces a site's allowed origins; `NotFound` if there is no such site.
    fn set_origins(&self, id: &SiteId, origins: &[String]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Saves a configuration under its version (saving the same one twice is
    /// harmless) and makes it the site's current one.
    fn save_config(
        &self,
        id: &SiteId,
        config: &SiteConfig,
    ) -> impl Future<Output = Result<ConfigVersion, StoreError>> + Send;

    /// A saved configuration of the site by its version, if there is one.
    fn config(
        &self,
        id: &SiteId,
        version: &ConfigVersion,
    ) -> impl Future<Output = Result<Option<SiteConfig>, StoreError>> + Send;
}

/// The decision log and its visitors. Implementations must make
/// [`append`](DecisionStore::append) durable before returning `Ok` and keep
/// indexes unique and gap-free even with several processes appending at once.
pub trait DecisionStore: Send + Sync + 'static {
    /// Whether storage answers (for `/readyz` and recovering from outages).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A consent id for a new visitor, if the store issues its own (the
    /// embedded store does, to append new visitors' rows rather than place
    /// them at random). `None`: the caller draws 128 random bits. Either way
    /// the id must be unpredictable and say nothing about the device.
    fn issue_consent_id(&self) -> Option<ConsentId> {
        None
    }

    /// What is kept about a visitor of the site, if the consent id is known.
    fn visitor(
        &self,
        site: &SiteId,
        consent_id: &ConsentId,
    ) -> impl Future<Output = Result<Option<Visitor>, StoreError>> + Send;

    /// Appends a decision and returns its leaf index, durably.
    fn append(&self, append: Append) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The number of leaves (decisions) in the log.
    fn leaf_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The leaves with indexes in `range` (clipped to the log's size), in order.
    fn leaves(&self, range: Range<u64>) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send;

    /// A site's decisions matching `query`, by ascending index (descending
    /// with `query.newest_first`), at most `query.limit`.
    fn decisions(
        &self,
        site: &SiteId,
        query: &DecisionQuery,
    ) -> impl Future<Output = Result<Vec<LoggedDecision>, StoreError>> + Send;

    /// Destroys a visitor's sealing key (crypto-shredding), through the same
    /// durable write path as appends, and makes sure no copy of it is left in
    /// the store's files. Returns whether there was a key to destroy.
    fn erase(&self, site: &SiteId, consent_id: &ConsentId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The site's decision counts for the days of `period`, one
    /// [`DayTally`] per (day, configuration version) with decisions, by day.
    /// Implementations keep these counts up to date in the same durable step
    /// as [`append`](DecisionStore::append) (each appended leaf that is a
    /// decision record adds [`Tally::of_leaf`](crate::analytics::Tally::of_leaf)),
    /// and read them without touching the decisions, so the cost follows the
    /// period's length, not the site's history.
    fn analytics(
        &self,
        site: &SiteId,
        period: Period,
    ) -> impl Future<Output = Result<Vec<DayTally>, StoreError>> + Send;
}

/// Who may act for a site: API keys, admins and their sessions.
pub trait AccountStore: Send + Sync + 'static {
    /// Stores an API key under the SHA-256 of its secret.
    fn create_api_key(&self, key: &ApiKey, sha256: [u8; 32]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The API key whose secret has this SHA-256, if any.
    fn api_key(&self, sha256: &[u8; 32]) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;

    /// The site's API keys.
    fn api_keys(&self, site: &SiteId) -> impl Future<Output = Result<Vec<ApiKey>, StoreError>> + Send;

    /// Deletes `site`'s key with public id `id`, so it is not found by its
    /// hash any more. Returns whether there was such a key (another site's
    /// key of that id is left alone: `false`).
    fn revoke_api_key(&self, site: &SiteId, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets the key's `last_used_ms` to `now_ms`. Does nothing for a key
    /// that does not exist (revoked meanwhile): never brings one back.
    fn touch_api_key(&self, sha256: &[u8; 32], now_ms: u64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates an account; `Conflict` if the name is taken (so only one of
    /// several processes starting at once creates the first admin).
    fn create_account(&self, account: &Account) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The account with this name, if any.
    fn account(&self, username: &str) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;

    /// Every account, by name (at most [`MAX_ACCOUNTS`]).
    fn accounts(&self) -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;

    /// Replaces an existing account (its role, sites, password);
    /// `NotFound` if there is none by its name.
    fn put_account(&self, account: &Account) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes an account; whether there was one. Its sessions stop working
    /// because a session is honoured only while its account exists.
    fn delete_account(&self, username: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a session under the SHA-256 of its token.
    fn create_session(
        &self,
        sha256: [u8; 32],
        session: &Session,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session if it exists and has not expired at `now_ms`.
    fn session(
        &self,
        sha256: &[u8; 32],
        now_ms: u64,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Ends a session (log-out); deleting a missing one is not an error.
    fn delete_session(&self, sha256: &[u8; 32]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Scan reports, kept per site.
pub trait ScanStore: Send + Sync + 'static {
    /// Saves a scan report (callers keep it within [`MAX_SCAN_BYTES`]);
    /// `Conflict` if the site already has a scan with this id.
    fn save_scan(&self, meta: &ScanMeta, report: &[u8]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A site's scans, newest (highest id) first, at most `query.limit`.
    fn scans(&self, site: &SiteId, query: &ScanQuery)
    -> impl Future<Output = Result<Vec<ScanMeta>, StoreError>> + Send;

    /// One of the site's scans with its report, if it exists.
    fn scan(&self, site: &SiteId, id: &str) -> impl Future<Output = Result<Option<StoredScan>, StoreError>> + Send;

    /// Records `triage` for the site, replacing the one of its fingerprint;
    /// `LimitReached` (nothing written) when the site has [`MAX_TRIAGE`]
    /// others.
    fn set_triage(&self, site: &SiteId, triage: &Triage) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the triage of `fingerprint`; `false` if there was none.
    fn clear_triage(&self, site: &SiteId, fingerprint: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The site's triage, in fingerprint order.
    fn triage(&self, site: &SiteId) -> impl Future<Output = Result<Vec<Triage>, StoreError>> + Send;
}

/// Attestations of scans (the Keurmerk seal, [`crate::attestation`]): leaves
/// of the same log as the decisions, one per stored scan at most.
pub trait AttestationStore: Send + Sync + 'static {
    /// Appends `leaf` (an attestation's canonical bytes) to the log as the
    /// attestation of `site`'s scan `scan_id`, durably, in the one sequence
    /// of leaf indexes the decisions share. If the scan has an attestation
    /// already nothing is written: its index is returned with `false`, so
    /// several processes attesting one scan append one leaf.
    fn attest(
        &self,
        site: &SiteId,
        scan_id: &str,
        time_ms: u64,
        leaf: &[u8],
    ) -> impl Future<Output = Result<(u64, bool), StoreError>> + Send;

    /// The leaf index of the attestation of `site`'s scan `scan_id`, if any.
    fn attestation_of(
        &self,
        site: &SiteId,
        scan_id: &str,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// The site's attestations, newest first, at most `limit`, as (leaf
    /// index, leaf bytes).
    fn attestations(
        &self,
        site: &SiteId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(u64, Vec<u8>)>, StoreError>> + Send;
}

/// The most accounts storage keeps (people who log in; a bound, not a plan).
pub const MAX_ACCOUNTS: usize = 10_000;

/// The most records of one kind a site keeps (e.g. visitors' requests).
pub const MAX_RECORDS: usize = 10_000;

/// The largest record body storage keeps (a draft configuration is the biggest).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The kinds of [`RecordStore`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// The site's draft configuration ([`crate::draft::Draft`], one per site).
    Draft,
    /// The register of processing's owner details (GDPR art. 30).
    Register,
    /// A visitor's request (GDPR art. 15, 17), one per request id.
    VisitorRequest,
}

impl RecordKind {
    /// The kind's name in storage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Draft => "draft",
            RecordKind::Register => "register",
            RecordKind::VisitorRequest => "visitor_request",
        }
    }
}

/// What the dashboard keeps per site beside configurations, decisions and
/// scans: small JSON documents by kind and id (their types live with their
/// use: [`crate::draft`], ...), and the append-only audit trail
/// ([`crate::audit`]). Record bodies are opaque bytes to storage.
pub trait RecordStore: Send + Sync + 'static {
    /// Creates or replaces the record; `LimitReached` past [`MAX_RECORDS`]
    /// of the kind or [`MAX_RECORD_BYTES`].
    fn put_record(
        &self,
        site: &SiteId,
        kind: RecordKind,
        id: &str,
        body: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The record, if any.
    fn record(
        &self,
        site: &SiteId,
        kind: RecordKind,
        id: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// The site's records of a kind, by id ascending.
    fn records(
        &self,
        site: &SiteId,
        kind: RecordKind,
    ) -> impl Future<Output = Result<Vec<(String, Vec<u8>)>, StoreError>> + Send;

    /// Deletes the record; whether there was one.
    fn delete_record(
        &self,
        site: &SiteId,
        kind: RecordKind,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Appends an entry to the site's audit trail and returns its sequence
    /// number (increasing per site). Nothing changes or removes an entry.
    fn append_audit(&self, site: &SiteId, entry: &AuditEntry) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The site's audit trail, newest first: entries with a sequence number
    /// below `before` (all when `None`), at most `limit`.
    fn audit(
        &self,
        site: &SiteId,
        before: Option<u64>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(u64, AuditEntry)>, StoreError>> + Send;
}
