//! Attestations on Redis: the leaf goes to the log's leaf lists like a
//! decision's (one script, so it takes the next index atomically), and the
//! site keeps `attest:<site>` (scan id -> index) and `attest-index:<site>`
//! (indexes, oldest first). No site index or visitor names the leaf, so
//! listing decisions never meets one.

use consent_core::SiteId;
use consent_core::store::{AttestationStore, StoreError};
use redis::AsyncCommands as _;

use super::{RedisStore, unavailable};

pub(super) const ATTEST: &str = concat!(include_str!("settle_leaves.lua"), include_str!("attest.lua"));

impl AttestationStore for RedisStore {
    async fn attest(
        &self,
        site: &SiteId,
        scan_id: &str,
        _time_ms: u64,
        leaf: &[u8],
    ) -> Result<(u64, bool), StoreError> {
        self.ready().await?;
        let (idx, new): (u64, u8) = self
            .scripts
            .attest
            .key(self.key(&["log", "size"]))
            .key(self.key(&["attest", site.as_str()]))
            .key(self.key(&["attest-index", site.as_str()]))
            .arg(self.key(&["log", "leaves", ""]))
            .arg(self.key(&["log", "leaves"]))
            .arg(scan_id)
            .arg(leaf)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok((idx, new == 1))
    }

    async fn attestation_of(&self, site: &SiteId, scan_id: &str) -> Result<Option<u64>, StoreError> {
        self.conn
            .clone()
            .hget(self.key(&["attest", site.as_str()]), scan_id)
            .await
            .map_err(unavailable)
    }

    async fn attestations(&self, site: &SiteId, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut ids: Vec<u64> = self
            .conn
            .clone()
            .lrange(self.key(&["attest-index", site.as_str()]), -(limit as isize), -1)
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        ids.reverse();
        let leaves = self.leaves_at(&ids).await?;
        Ok(ids.into_iter().zip(leaves).collect())
    }
}
