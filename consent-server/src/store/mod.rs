//! The two storage backends behind one type.
//!
//! [`Store`] uses `impl Future` methods, which cannot be called through a
//! trait object, so the server holds a [`Backend`] enum that forwards to the
//! configured backend. Code that should work with any store (the conformance
//! suite, the dashboard) stays generic over `S: Store`.

mod issued_id;
pub mod redis;
pub mod sqlite;
pub use issued_id::row_key as sqlite_visitor_key;
mod wal_buffer;

use std::ops::Range;

use consent_core::store::{
    Admin, ApiKey, Append, DecisionQuery, LoggedDecision, ScanMeta, ScanQuery, Session, Site, Store, StoreError,
    StoredScan, Visitor,
};
use consent_core::{ConfigVersion, ConsentId, SiteConfig, SiteId};

pub use self::redis::RedisStore;
pub use self::sqlite::SqliteStore;

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

impl Store for Backend {
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

    async fn create_admin(&self, admin: &Admin) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.create_admin(admin).await,
            Self::Redis(s) => s.create_admin(admin).await,
        }
    }

    async fn admin(&self, username: &str) -> Result<Option<Admin>, StoreError> {
        match self {
            Self::Sqlite(s) => s.admin(username).await,
            Self::Redis(s) => s.admin(username).await,
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
}
