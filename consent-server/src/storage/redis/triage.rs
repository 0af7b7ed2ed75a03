//! Triage on Redis: the hash `triage:<site>`, fingerprint -> the
//! [`Triage`] as JSON. A script writes it, so the per-site bound holds with
//! several server processes writing at once.

use std::sync::LazyLock;

use consent_core::SiteId;
use consent_core::store::{MAX_TRIAGE, StoreError, Triage};
use redis::{AsyncCommands as _, Script};

use super::RedisStore;
use crate::storage::{from_json, to_json, unavailable};

/// Sets the field unless that would take the hash past the bound: 1 when
/// written, 0 when refused.
static SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
            return 1
        end
        return 0",
    )
});

impl RedisStore {
    pub(super) async fn set_triage_field(&self, site: &SiteId, triage: &Triage) -> Result<(), StoreError> {
        let written: i64 = SET
            .key(self.key(&["triage", site.as_str()]))
            .arg(&triage.fingerprint)
            .arg(to_json(triage))
            .arg(MAX_TRIAGE)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if written == 0 {
            return Err(StoreError::LimitReached(format!("{MAX_TRIAGE} triaged findings")));
        }
        Ok(())
    }

    pub(super) async fn clear_triage_field(&self, site: &SiteId, fingerprint: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .clone()
            .hdel(self.key(&["triage", site.as_str()]), fingerprint)
            .await
            .map_err(unavailable)?;
        Ok(n > 0)
    }

    pub(super) async fn triage_fields(&self, site: &SiteId) -> Result<Vec<Triage>, StoreError> {
        let all: std::collections::BTreeMap<String, String> = self
            .conn
            .clone()
            .hgetall(self.key(&["triage", site.as_str()]))
            .await
            .map_err(unavailable)?;
        all.values().map(|b| from_json(b)).collect()
    }
}
