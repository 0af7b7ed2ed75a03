//! The embedded store's attestations: each one a row of `leaves` (so it
//! takes the next index of the one log) and a row here naming its site and
//! scan. The leaf row's `site` is empty, never a site id, so listing a
//! site's decisions never meets an attestation.

use consent_core::SiteId;
use consent_core::store::{AttestationStore, StoreError};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, Writer, sql, unavailable};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS attestations (
    site TEXT NOT NULL,
    scan_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (site, scan_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attestations_by_site ON attestations(site, idx);
";

/// The table is created by [`SCHEMA`], which runs after every migration.
pub(super) const MIGRATE_6_TO_7: &str = "
BEGIN IMMEDIATE;
PRAGMA user_version = 7;
COMMIT;
";

impl Writer {
    fn attest(&mut self, site: &SiteId, scan_id: &str, time_ms: u64, leaf: &[u8]) -> Result<(u64, bool), StoreError> {
        let index = self.next_index;
        let result = (|| -> rusqlite::Result<(u64, bool)> {
            let existing: Option<i64> = self
                .conn
                .prepare_cached("SELECT idx FROM attestations WHERE site = ?1 AND scan_id = ?2")?
                .query_row(params![site.as_str(), scan_id], |r| r.get(0))
                .optional()?;
            if let Some(i) = existing {
                return Ok((i as u64, false));
            }
            self.conn
                .prepare_cached(
                    "INSERT INTO leaves (idx, site, consent_id, time_ms, leaf, prev) VALUES (?1, '', '', ?2, ?3, NULL)",
                )?
                .execute(params![index as i64, time_ms as i64, leaf])?;
            self.conn
                .prepare_cached("INSERT INTO attestations (site, scan_id, idx) VALUES (?1, ?2, ?3)")?
                .execute(params![site.as_str(), scan_id, index as i64])?;
            Ok((index, true))
        })();
        match result {
            Ok((i, true)) => {
                self.next_index += 1;
                Ok((i, true))
            }
            Ok(found) => Ok(found),
            Err(e) => {
                // The leaf row may be written without its attestation row:
                // fail the whole batch, as an append does.
                let e = unavailable(e);
                self.poisoned = Some(e.clone());
                Err(e)
            }
        }
    }
}

impl AttestationStore for SqliteStore {
    async fn attest(&self, site: &SiteId, scan_id: &str, time_ms: u64, leaf: &[u8]) -> Result<(u64, bool), StoreError> {
        let (site, scan_id, leaf) = (site.clone(), scan_id.to_owned(), leaf.to_vec());
        self.write(move |w| w.attest(&site, &scan_id, time_ms, &leaf)).await
    }

    async fn attestation_of(&self, site: &SiteId, scan_id: &str) -> Result<Option<u64>, StoreError> {
        let (site, scan_id) = (site.clone(), scan_id.to_owned());
        self.read(move |c| {
            let idx: Option<i64> = sql(c
                .prepare_cached("SELECT idx FROM attestations WHERE site = ?1 AND scan_id = ?2")
                .and_then(|mut s| s.query_row(params![site.as_str(), scan_id], |r| r.get(0)).optional()))?;
            Ok(idx.map(|i| i as u64))
        })
        .await
    }

    async fn attestations(&self, site: &SiteId, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let site = site.clone();
        self.read(move |c| {
            let mut s = sql(c.prepare_cached(
                "SELECT a.idx, l.leaf FROM attestations a JOIN leaves l ON l.idx = a.idx
                 WHERE a.site = ?1 ORDER BY a.idx DESC LIMIT ?2",
            ))?;
            let rows = sql(s.query_map(params![site.as_str(), limit as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
            }))?;
            rows.map(sql).collect()
        })
        .await
    }
}
