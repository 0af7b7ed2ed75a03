//! The embedded store's triage: one row per (site, fingerprint), its body
//! the [`Triage`] as JSON.

use consent_core::SiteId;
use consent_core::store::{MAX_TRIAGE, StoreError, Triage};
use rusqlite::params;

use super::{SqliteStore, sql};
use crate::storage::{from_json, to_json};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS triage (
    site TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (site, fingerprint)
) WITHOUT ROWID;
";

/// The table is created by [`SCHEMA`], which runs after every migration.
pub(super) const MIGRATE_7_TO_8: &str = "
BEGIN IMMEDIATE;
PRAGMA user_version = 8;
COMMIT;
";

impl SqliteStore {
    pub(super) async fn set_triage_row(&self, site: &SiteId, triage: &Triage) -> Result<(), StoreError> {
        let (site, triage) = (site.clone(), triage.clone());
        self.write(move |w| {
            w.atomic(|c| {
                let (exists, count): (bool, i64) = sql(c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM triage WHERE site = ?1 AND fingerprint = ?2),
                            (SELECT COUNT(*) FROM triage WHERE site = ?1)",
                    params![site.as_str(), triage.fingerprint],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                ))?;
                if !exists && count as usize >= MAX_TRIAGE {
                    return Err(StoreError::LimitReached(format!("{MAX_TRIAGE} triaged findings")));
                }
                sql(c.execute(
                    "INSERT OR REPLACE INTO triage (site, fingerprint, body) VALUES (?1, ?2, ?3)",
                    params![site.as_str(), triage.fingerprint, to_json(&triage)],
                ))?;
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn clear_triage_row(&self, site: &SiteId, fingerprint: &str) -> Result<bool, StoreError> {
        let (site, fingerprint) = (site.clone(), fingerprint.to_owned());
        self.write(move |w| {
            w.atomic(|c| {
                let n = sql(c.execute(
                    "DELETE FROM triage WHERE site = ?1 AND fingerprint = ?2",
                    params![site.as_str(), fingerprint],
                ))?;
                Ok(n > 0)
            })
        })
        .await
    }

    pub(super) async fn triage_rows(&self, site: &SiteId) -> Result<Vec<Triage>, StoreError> {
        let site = site.clone();
        self.read(move |c| {
            let mut s = sql(c.prepare_cached("SELECT body FROM triage WHERE site = ?1 ORDER BY fingerprint"))?;
            let rows = sql(s.query_map(params![site.as_str()], |r| r.get::<_, String>(0)))?;
            rows.map(|b| from_json(&sql(b)?)).collect()
        })
        .await
    }
}
