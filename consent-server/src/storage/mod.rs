//! Storage: everything the server keeps, and nothing else touches it.
//!
//! - [`sqlite`]: the embedded default, one SQLite database with a single
//!   group-commit writer, plus the proof log's own file ([`sqlite::log`]).
//! - [`redis`]: the backend for several server processes, its Lua scripts as
//!   `.lua` files beside it, and the proof log's keys ([`redis::log`]).
//! - [`log`]: the proof log's tiles, checkpoint and lease on either backend.
//!
//! The store traits use `impl Future` methods, which cannot be called through
//! a trait object, so the server holds a [`Backend`] enum that forwards to
//! the configured backend. Code that should work with any store (the
//! conformance suite, the dashboard) stays generic over the traits.

pub mod log;
pub mod redis;
pub mod sqlite;

use std::ops::Range;

use consent_core::account::Account;
use consent_core::analytics::{DayTally, Period};
use consent_core::audit::AuditEntry;
use consent_core::store::{
    AccountStore, ApiKey, Append, AttestationStore, Cause, DecisionQuery, DecisionStore, LoggedDecision, RecordKind,
    RecordStore, ScanMeta, ScanQuery, ScanStore, Session, Site, SiteStore, StoreError, StoredScan, Triage, Visitor,
};
use consent_core::{ConfigVersion, ConsentId, SiteConfig, SiteId};

pub use self::redis::RedisStore;
pub use self::sqlite::SqliteStore;

/// Storage unavailable because of `e`. The backends' shared error helpers
/// live here, once.
pub(crate) fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::unavailable(e)
}

/// Stored bytes that do not parse.
pub(crate) fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::corrupt(e)
}

/// Storage unavailable for a reason that is only a message.
pub(crate) fn unavailable_because(why: impl Into<String>) -> StoreError {
    StoreError::Unavailable(Cause::msg(why))
}

/// Corrupt stored data, described by a message.
pub(crate) fn corrupt_because(why: impl Into<String>) -> StoreError {
    StoreError::Corrupt(Cause::msg(why))
}

/// Both backends keep sites, keys, admins, sessions and scans as JSON.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("storage types serialise")
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(corrupt)
}

#[derive(Clone)]
pub enum Backend {
    Sqlite(SqliteStore),
    Redis(RedisStore),
}

impl Backend {
    /// Waits for acknowledged writes to be durable (called at shutdown).
    pub async fn flush(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.flush().await,
            // Every Redis reply already followed the write.
            Self::Redis(_) => Ok(()),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Redis(_) => "redis",
        }
    }
}

impl SiteStore for Backend {
    async fn create_site(&self, site: &Site, config: &SiteConfig) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.create_site(site, config).await,
            Self::Redis(s) => s.create_site(site, config).await,
        }
    }

    async fn site(&self, id: &SiteId) -> Result<Option<Site>, StoreError> {
        match self {
            Self::Sqlite(s) => s.site(id).await,
            Self::Redis(s) => s.site(id).await,
        }
    }

    async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        match self {
            Self::Sqlite(s) => s.sites().await,
            Self::Redis(s) => s.sites().await,
        }
    }

    async fn set_origins(&self, id: &SiteId, origins: &[String]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.set_origins(id, origins).await,
            Self::Redis(s) => s.set_origins(id, origins).await,
        }
    }

    async fn save_config(&self, id: &SiteId, config: &SiteConfig) -> Result<ConfigVersion, StoreError> {
        match self {
            Self::Sqlite(s) => s.save_config(id, config).await,
            Self::Redis(s) => s.save_config(id, config).await,
        }
    }

    async fn config(&self, id: &SiteId, version: &ConfigVersion) -> Result<Option<SiteConfig>, StoreError> {
        match self {
            Self::Sqlite(s) => s.config(id, version).await,
            Self::Redis(s) => s.config(id, version).await,
        }
    }
}

impl DecisionStore for Backend {
    fn issue_consent_id(&self) -> Option<ConsentId> {
        match self {
            Self::Sqlite(s) => s.issue_consent_id(),
            Self::Redis(s) => s.issue_consent_id(),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.ping().await,
            Self::Redis(s) => s.ping().await,
        }
    }

    async fn visitor(&self, site: &SiteId, consent_id: &ConsentId) -> Result<Option<Visitor>, StoreError> {
        match self {
            Self::Sqlite(s) => s.visitor(site, consent_id).await,
            Self::Redis(s) => s.visitor(site, consent_id).await,
        }
    }

    async fn append(&self, append: Append) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.append(append).await,
            Self::Redis(s) => s.append(append).await,
        }
    }

    async fn leaf_count(&self) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.leaf_count().await,
            Self::Redis(s) => s.leaf_count().await,
        }
    }

    async fn leaves(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
        match self {
            Self::Sqlite(s) => s.leaves(range).await,
            Self::Redis(s) => s.leaves(range).await,
        }
    }

    async fn decisions(&self, site: &SiteId, query: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        match self {
            Self::Sqlite(s) => s.decisions(site, query).await,
            Self::Redis(s) => s.decisions(site, query).await,
        }
    }

    async fn erase(&self, site: &SiteId, consent_id: &ConsentId) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.erase(site, consent_id).await,
            Self::Redis(s) => s.erase(site, consent_id).await,
        }
    }

    async fn analytics(&self, site: &SiteId, period: Period) -> Result<Vec<DayTally>, StoreError> {
        match self {
            Self::Sqlite(s) => s.analytics(site, period).await,
            Self::Redis(s) => s.analytics(site, period).await,
        }
    }
}

impl AccountStore for Backend {
    async fn create_api_key(&self, key: &ApiKey, sha256: [u8; 32]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.create_api_key(key, sha256).await,
            Self::Redis(s) => s.create_api_key(key, sha256).await,
        }
    }

    async fn api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        match self {
            Self::Sqlite(s) => s.api_key(sha256).await,
            Self::Redis(s) => s.api_key(sha256).await,
        }
    }

    async fn api_keys(&self, site: &SiteId) -> Result<Vec<ApiKey>, StoreError> {
        match self {
            Self::Sqlite(s) => s.api_keys(site).await,
            Self::Redis(s) => s.api_keys(site).await,
        }
    }

    async fn revoke_api_key(&self, site: &SiteId, id: &str) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.revoke_api_key(site, id).await,
            Self::Redis(s) => s.revoke_api_key(site, id).await,
        }
    }

    async fn touch_api_key(&self, sha256: &[u8; 32], now_ms: u64) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.touch_api_key(sha256, now_ms).await,
            Self::Redis(s) => s.touch_api_key(sha256, now_ms).await,
        }
    }

    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.create_account(account).await,
            Self::Redis(s) => s.create_account(account).await,
        }
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        match self {
            Self::Sqlite(s) => s.account(username).await,
            Self::Redis(s) => s.account(username).await,
        }
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        match self {
            Self::Sqlite(s) => s.accounts().await,
            Self::Redis(s) => s.accounts().await,
        }
    }

    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.put_account(account).await,
            Self::Redis(s) => s.put_account(account).await,
        }
    }

    async fn delete_account(&self, username: &str) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.delete_account(username).await,
            Self::Redis(s) => s.delete_account(username).await,
        }
    }

    async fn create_session(&self, sha256: [u8; 32], session: &Session) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.create_session(sha256, session).await,
            Self::Redis(s) => s.create_session(sha256, session).await,
        }
    }

    async fn session(&self, sha256: &[u8; 32], now_ms: u64) -> Result<Option<Session>, StoreError> {
        match self {
            Self::Sqlite(s) => s.session(sha256, now_ms).await,
            Self::Redis(s) => s.session(sha256, now_ms).await,
        }
    }

    async fn delete_session(&self, sha256: &[u8; 32]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.delete_session(sha256).await,
            Self::Redis(s) => s.delete_session(sha256).await,
        }
    }
}

impl RecordStore for Backend {
    async fn put_record(&self, site: &SiteId, kind: RecordKind, id: &str, body: &[u8]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.put_record(site, kind, id, body).await,
            Self::Redis(s) => s.put_record(site, kind, id, body).await,
        }
    }

    async fn record(&self, site: &SiteId, kind: RecordKind, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Self::Sqlite(s) => s.record(site, kind, id).await,
            Self::Redis(s) => s.record(site, kind, id).await,
        }
    }

    async fn records(&self, site: &SiteId, kind: RecordKind) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match self {
            Self::Sqlite(s) => s.records(site, kind).await,
            Self::Redis(s) => s.records(site, kind).await,
        }
    }

    async fn delete_record(&self, site: &SiteId, kind: RecordKind, id: &str) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.delete_record(site, kind, id).await,
            Self::Redis(s) => s.delete_record(site, kind, id).await,
        }
    }

    async fn append_audit(&self, site: &SiteId, entry: &AuditEntry) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.append_audit(site, entry).await,
            Self::Redis(s) => s.append_audit(site, entry).await,
        }
    }

    async fn audit(
        &self,
        site: &SiteId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        match self {
            Self::Sqlite(s) => s.audit(site, before, limit).await,
            Self::Redis(s) => s.audit(site, before, limit).await,
        }
    }
}

impl ScanStore for Backend {
    async fn save_scan(&self, meta: &ScanMeta, report: &[u8]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.save_scan(meta, report).await,
            Self::Redis(s) => s.save_scan(meta, report).await,
        }
    }

    async fn scans(&self, site: &SiteId, query: &ScanQuery) -> Result<Vec<ScanMeta>, StoreError> {
        match self {
            Self::Sqlite(s) => s.scans(site, query).await,
            Self::Redis(s) => s.scans(site, query).await,
        }
    }

    async fn scan(&self, site: &SiteId, id: &str) -> Result<Option<StoredScan>, StoreError> {
        match self {
            Self::Sqlite(s) => s.scan(site, id).await,
            Self::Redis(s) => s.scan(site, id).await,
        }
    }

    async fn set_triage(&self, site: &SiteId, triage: &Triage) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.set_triage(site, triage).await,
            Self::Redis(s) => s.set_triage(site, triage).await,
        }
    }

    async fn clear_triage(&self, site: &SiteId, fingerprint: &str) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.clear_triage(site, fingerprint).await,
            Self::Redis(s) => s.clear_triage(site, fingerprint).await,
        }
    }

    async fn triage(&self, site: &SiteId) -> Result<Vec<Triage>, StoreError> {
        match self {
            Self::Sqlite(s) => s.triage(site).await,
            Self::Redis(s) => s.triage(site).await,
        }
    }
}

impl AttestationStore for Backend {
    async fn attest(&self, site: &SiteId, scan_id: &str, time_ms: u64, leaf: &[u8]) -> Result<(u64, bool), StoreError> {
        match self {
            Self::Sqlite(s) => s.attest(site, scan_id, time_ms, leaf).await,
            Self::Redis(s) => s.attest(site, scan_id, time_ms, leaf).await,
        }
    }

    async fn attestation_of(&self, site: &SiteId, scan_id: &str) -> Result<Option<u64>, StoreError> {
        match self {
            Self::Sqlite(s) => s.attestation_of(site, scan_id).await,
            Self::Redis(s) => s.attestation_of(site, scan_id).await,
        }
    }

    async fn attestations(&self, site: &SiteId, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        match self {
            Self::Sqlite(s) => s.attestations(site, limit).await,
            Self::Redis(s) => s.attestations(site, limit).await,
        }
    }
}
