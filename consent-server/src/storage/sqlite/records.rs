//! The embedded store's accounts, site records and audit trail.
//!
//! Records are rows of `records` keyed by (site, kind, id). The audit trail
//! is `audit`, keyed by (site, seq); triggers refuse any `UPDATE` or
//! `DELETE` of it, so no code path (nor a slip in a later one) rewrites history.

use consent_core::SiteId;
use consent_core::account::Account;
use consent_core::audit::AuditEntry;
use consent_core::store::{MAX_ACCOUNTS, MAX_RECORD_BYTES, MAX_RECORDS, RecordKind, RecordStore, StoreError};
use rusqlite::{OptionalExtension as _, params};

use super::{SqliteStore, sql};
use crate::storage::{from_json, to_json};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    site TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (site, kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    site TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (site, seq)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
";

/// Version 9: accounts with roles (the admins' table, renamed; its rows read
/// as admins), site records and the audit trail (created by [`SCHEMA`]).
pub(super) const MIGRATE_8_TO_9: &str = "
BEGIN IMMEDIATE;
ALTER TABLE admins RENAME TO accounts;
PRAGMA user_version = 9;
COMMIT;
";

impl SqliteStore {
    pub(super) async fn create_account_row(&self, account: &Account) -> Result<(), StoreError> {
        let account = account.clone();
        self.write(move |w| {
            w.atomic(|c| {
                let count: i64 = sql(c.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)))?;
                if count as usize >= MAX_ACCOUNTS {
                    return Err(StoreError::LimitReached(format!("{MAX_ACCOUNTS} accounts")));
                }
                let n = sql(c.execute(
                    "INSERT OR IGNORE INTO accounts (username, body) VALUES (?1, ?2)",
                    params![account.username, to_json(&account)],
                ))?;
                if n == 0 {
                    return Err(StoreError::Conflict(format!("account {}", account.username)));
                }
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn account_row(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let username = username.to_owned();
        self.read(move |c| {
            let body: Option<String> = sql(c
                .prepare_cached("SELECT body FROM accounts WHERE username = ?1")
                .and_then(|mut s| s.query_row([username], |r| r.get(0)).optional()))?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }

    pub(super) async fn account_rows(&self) -> Result<Vec<Account>, StoreError> {
        self.read(move |c| {
            let mut s = sql(c.prepare("SELECT body FROM accounts ORDER BY username LIMIT ?1"))?;
            let bodies = sql(s
                .query_map([MAX_ACCOUNTS as i64], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>()))?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }

    pub(super) async fn put_account_row(&self, account: &Account) -> Result<(), StoreError> {
        let account = account.clone();
        self.write(move |w| {
            w.atomic(|c| {
                let n = sql(c.execute(
                    "UPDATE accounts SET body = ?2 WHERE username = ?1",
                    params![account.username, to_json(&account)],
                ))?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!("account {}", account.username)));
                }
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn delete_account_row(&self, username: &str) -> Result<bool, StoreError> {
        let username = username.to_owned();
        self.write(move |w| {
            w.atomic(|c| Ok(sql(c.execute("DELETE FROM accounts WHERE username = ?1", [username]))? > 0))
        })
        .await
    }
}

impl RecordStore for SqliteStore {
    async fn put_record(&self, site: &SiteId, kind: RecordKind, id: &str, body: &[u8]) -> Result<(), StoreError> {
        if body.len() > MAX_RECORD_BYTES {
            return Err(StoreError::LimitReached(format!("records of {MAX_RECORD_BYTES} bytes")));
        }
        let (site, id, body) = (site.clone(), id.to_owned(), body.to_vec());
        self.write(move |w| {
            w.atomic(|c| {
                let (exists, count): (bool, i64) = sql(c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM records WHERE site = ?1 AND kind = ?2 AND id = ?3),
                            (SELECT COUNT(*) FROM records WHERE site = ?1 AND kind = ?2)",
                    params![site.as_str(), kind.as_str(), id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                ))?;
                if !exists && count as usize >= MAX_RECORDS {
                    return Err(StoreError::LimitReached(format!(
                        "{MAX_RECORDS} {} records",
                        kind.as_str()
                    )));
                }
                sql(c.execute(
                    "INSERT OR REPLACE INTO records (site, kind, id, body) VALUES (?1, ?2, ?3, ?4)",
                    params![site.as_str(), kind.as_str(), id, body],
                ))?;
                Ok(())
            })
        })
        .await
    }

    async fn record(&self, site: &SiteId, kind: RecordKind, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (site, id) = (site.clone(), id.to_owned());
        self.read(move |c| {
            sql(c
                .prepare_cached("SELECT body FROM records WHERE site = ?1 AND kind = ?2 AND id = ?3")
                .and_then(|mut s| {
                    s.query_row(params![site.as_str(), kind.as_str(), id], |r| r.get(0))
                        .optional()
                }))
        })
        .await
    }

    async fn records(&self, site: &SiteId, kind: RecordKind) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let site = site.clone();
        self.read(move |c| {
            let mut s = sql(
                c.prepare_cached("SELECT id, body FROM records WHERE site = ?1 AND kind = ?2 ORDER BY id LIMIT ?3")
            )?;
            sql(s
                .query_map(params![site.as_str(), kind.as_str(), MAX_RECORDS as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .and_then(|rows| rows.collect()))
        })
        .await
    }

    async fn delete_record(&self, site: &SiteId, kind: RecordKind, id: &str) -> Result<bool, StoreError> {
        let (site, id) = (site.clone(), id.to_owned());
        self.write(move |w| {
            w.atomic(|c| {
                let n = sql(c.execute(
                    "DELETE FROM records WHERE site = ?1 AND kind = ?2 AND id = ?3",
                    params![site.as_str(), kind.as_str(), id],
                ))?;
                Ok(n > 0)
            })
        })
        .await
    }

    async fn append_audit(&self, site: &SiteId, entry: &AuditEntry) -> Result<u64, StoreError> {
        let (site, body) = (site.clone(), to_json(entry));
        self.write(move |w| {
            w.atomic(|c| {
                let seq: i64 = sql(c.query_row(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM audit WHERE site = ?1",
                    [site.as_str()],
                    |r| r.get(0),
                ))?;
                sql(c.execute(
                    "INSERT INTO audit (site, seq, body) VALUES (?1, ?2, ?3)",
                    params![site.as_str(), seq, body],
                ))?;
                Ok(seq as u64)
            })
        })
        .await
    }

    async fn audit(
        &self,
        site: &SiteId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        let site = site.clone();
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        self.read(move |c| {
            let mut s = sql(c.prepare_cached(
                "SELECT seq, body FROM audit WHERE site = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
            ))?;
            let rows: Vec<(i64, String)> = sql(s
                .query_map(params![site.as_str(), before, limit.min(10_000) as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .and_then(|rows| rows.collect()))?;
            rows.into_iter()
                .map(|(seq, b)| Ok((seq as u64, from_json(&b)?)))
                .collect()
        })
        .await
    }
}
