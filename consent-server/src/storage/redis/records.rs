//! Accounts, site records and the audit trail on Redis.
//!
//! - `admin:<name>`: an account as JSON (the key's name is from when every
//!   account was an admin), and the set `accounts` of their names, so they
//!   can be listed without scanning the keyspace. An account stored before
//!   the set existed joins it the first time it is read.
//! - `records:<site>:<kind>`: a hash, record id -> body; a script writes it
//!   so the per-kind bound holds with several server processes writing at once.
//! - `audit:<site>`: a list the trail is `RPUSH`ed to; an entry's sequence
//!   number is its position from 1. Nothing in this store trims or sets it.

use std::sync::LazyLock;

use consent_core::SiteId;
use consent_core::account::Account;
use consent_core::audit::AuditEntry;
use consent_core::store::{MAX_ACCOUNTS, MAX_RECORD_BYTES, MAX_RECORDS, RecordKind, RecordStore, StoreError};
use redis::{AsyncCommands as _, Script};

use super::RedisStore;
use crate::storage::{from_json, to_json, unavailable};

/// Sets the field unless that would take the hash past the bound: 1 when
/// written, 0 when refused.
static PUT_RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
            return 1
        end
        return 0",
    )
});

/// Creates the account unless the name is taken or there are too many:
/// 1 created, 0 taken, -1 too many.
static CREATE_ACCOUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[3]) then return -1 end
        if redis.call('SET', KEYS[1], ARGV[2], 'NX') then
            redis.call('SADD', KEYS[2], ARGV[1])
            return 1
        end
        return 0",
    )
});

impl RedisStore {
    fn account_key(&self, username: &str) -> String {
        self.key(&["admin", username])
    }

    pub(super) async fn create_account_key(&self, account: &Account) -> Result<(), StoreError> {
        let created: i64 = CREATE_ACCOUNT
            .key(self.account_key(&account.username))
            .key(self.key(&["accounts"]))
            .arg(&account.username)
            .arg(to_json(account))
            .arg(MAX_ACCOUNTS)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        match created {
            1 => Ok(()),
            0 => Err(StoreError::Conflict(format!("account {}", account.username))),
            _ => Err(StoreError::LimitReached(format!("{MAX_ACCOUNTS} accounts"))),
        }
    }

    pub(super) async fn account_key_get(&self, username: &str) -> Result<Option<Account>, StoreError> {
        // SADD of a member already there changes nothing, so Redis neither
        // writes it to the AOF nor replicates it: the healing is free.
        let (body, _): (Option<String>, i64) = redis::pipe()
            .get(self.account_key(username))
            .cmd("EVAL")
            .arg("if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('SADD', KEYS[2], ARGV[1]) end return 0")
            .arg(2)
            .arg(self.account_key(username))
            .arg(self.key(&["accounts"]))
            .arg(username)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        body.map(|b| from_json(&b)).transpose()
    }

    pub(super) async fn account_keys(&self) -> Result<Vec<Account>, StoreError> {
        let mut names: Vec<String> = self
            .conn
            .clone()
            .smembers(self.key(&["accounts"]))
            .await
            .map_err(unavailable)?;
        names.sort();
        names.truncate(MAX_ACCOUNTS);
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = names.iter().map(|n| self.account_key(n)).collect();
        let bodies: Vec<Option<String>> = self.conn.clone().mget(keys).await.map_err(unavailable)?;
        bodies.into_iter().flatten().map(|b| from_json(&b)).collect()
    }

    pub(super) async fn put_account_key(&self, account: &Account) -> Result<(), StoreError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.account_key(&account.username))
            .arg(to_json(account))
            .arg("XX")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if set.is_none() {
            return Err(StoreError::NotFound(format!("account {}", account.username)));
        }
        Ok(())
    }

    pub(super) async fn delete_account_key(&self, username: &str) -> Result<bool, StoreError> {
        let (n, _): (i64, i64) = redis::pipe()
            .atomic()
            .del(self.account_key(username))
            .srem(self.key(&["accounts"]), username)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(n > 0)
    }

    fn records_key(&self, site: &SiteId, kind: RecordKind) -> String {
        self.key(&["records", site.as_str(), kind.as_str()])
    }
}

impl RecordStore for RedisStore {
    async fn put_record(&self, site: &SiteId, kind: RecordKind, id: &str, body: &[u8]) -> Result<(), StoreError> {
        if body.len() > MAX_RECORD_BYTES {
            return Err(StoreError::LimitReached(format!("records of {MAX_RECORD_BYTES} bytes")));
        }
        let written: i64 = PUT_RECORD
            .key(self.records_key(site, kind))
            .arg(id)
            .arg(body)
            .arg(MAX_RECORDS)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if written == 0 {
            return Err(StoreError::LimitReached(format!(
                "{MAX_RECORDS} {} records",
                kind.as_str()
            )));
        }
        Ok(())
    }

    async fn record(&self, site: &SiteId, kind: RecordKind, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .clone()
            .hget(self.records_key(site, kind), id)
            .await
            .map_err(unavailable)
    }

    async fn records(&self, site: &SiteId, kind: RecordKind) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let all: std::collections::BTreeMap<String, Vec<u8>> = self
            .conn
            .clone()
            .hgetall(self.records_key(site, kind))
            .await
            .map_err(unavailable)?;
        Ok(all.into_iter().collect())
    }

    async fn delete_record(&self, site: &SiteId, kind: RecordKind, id: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .clone()
            .hdel(self.records_key(site, kind), id)
            .await
            .map_err(unavailable)?;
        Ok(n > 0)
    }

    async fn append_audit(&self, site: &SiteId, entry: &AuditEntry) -> Result<u64, StoreError> {
        let len: u64 = self
            .conn
            .clone()
            .rpush(self.key(&["audit", site.as_str()]), to_json(entry))
            .await
            .map_err(unavailable)?;
        Ok(len)
    }

    async fn audit(
        &self,
        site: &SiteId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        let key = self.key(&["audit", site.as_str()]);
        let len: u64 = self.conn.clone().llen(&key).await.map_err(unavailable)?;
        // Sequence numbers 1..=len are list positions 0..len.
        let end = before.map_or(len, |b| b.saturating_sub(1).min(len));
        let limit = limit.min(10_000) as u64;
        if end == 0 || limit == 0 {
            return Ok(Vec::new());
        }
        let start = end.saturating_sub(limit);
        let bodies: Vec<String> = self
            .conn
            .clone()
            .lrange(&key, start as isize, (end - 1) as isize)
            .await
            .map_err(unavailable)?;
        let mut out = Vec::with_capacity(bodies.len());
        for (i, b) in bodies.iter().enumerate() {
            out.push((start + 1 + i as u64, from_json(b)?));
        }
        out.reverse();
        Ok(out)
    }
}
