//! The log on Redis: keys under the decision store's prefix,
//! `log:tile:<level>:<index>` (binary, 32 bytes per hash),
//! `log:checkpoint` / `log:checkpoint-size` and `log:lease`.

use std::time::Duration;

use consent_core::store::StoreError;
use consent_core::tile::{MemoryTiles, TileWrite};
use redis::Script;
use redis::aio::ConnectionManager;

use crate::storage::log::{tile_from_bytes, tile_to_bytes};
use crate::storage::unavailable;

#[derive(Clone)]
pub struct RedisLog {
    conn: ConnectionManager,
    prefix: String,
    lease: Script,
    commit: Script,
    cosign: Script,
}

/// Compare-and-set of the checkpoint note: witnesses' cosignatures are
/// added only to the very note they cosigned (a newer checkpoint wins).
const ADD_COSIGNATURES: &str = r#"
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call("GET", KEYS[2]) ~= ARGV[2] then return 0 end
redis.call("SET", KEYS[2], ARGV[3])
return 1
"#;

impl RedisLog {
    pub fn open(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let conn = super::connect(url)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            lease: Script::new(include_str!("lease.lua")),
            commit: Script::new(include_str!("log_commit.lua")),
            cosign: Script::new(ADD_COSIGNATURES),
        })
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    fn tile_key(&self, level: u32, idx: u64) -> String {
        self.key(&format!("log:tile:{level}:{idx}"))
    }

    pub(crate) async fn read_tiles(&self, keys: Vec<(u32, u64)>) -> Result<MemoryTiles, StoreError> {
        let mut out = MemoryTiles::default();
        if keys.is_empty() {
            return Ok(out);
        }
        let names: Vec<String> = keys.iter().map(|(l, i)| self.tile_key(*l, *i)).collect();
        // One round trip for all of a proof's tiles.
        let blobs: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&names)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        for (k, b) in keys.into_iter().zip(blobs) {
            if let Some(b) = b {
                out.0.insert(k, tile_from_bytes(&b)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let (size, note): (Option<u64>, Option<String>) = redis::pipe()
            .get(self.key("log:checkpoint-size"))
            .get(self.key("log:checkpoint"))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(size.zip(note))
    }

    /// See `SqliteLog::add_cosignatures`.
    pub(crate) async fn add_cosignatures(&self, size: u64, old: String, new: String) -> Result<bool, StoreError> {
        let r: i64 = self
            .cosign
            .key(self.key("log:checkpoint-size"))
            .key(self.key("log:checkpoint"))
            .arg(size.to_string())
            .arg(old)
            .arg(new)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(r == 1)
    }

    pub(crate) async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let r: i64 = self
            .lease
            .key(self.key("log:lease"))
            .arg(holder)
            .arg(ttl.as_millis() as u64)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(r == 1)
    }

    pub(crate) async fn commit(
        &self,
        holder: &str,
        prev: Option<u64>,
        size: u64,
        tiles: Vec<TileWrite>,
        note: String,
    ) -> Result<bool, StoreError> {
        let mut inv = self.commit.prepare_invoke();
        inv.key(self.key("log:lease"))
            .key(self.key("log:checkpoint-size"))
            .key(self.key("log:checkpoint"))
            .arg(holder)
            .arg(prev.map(|p| p.to_string()).unwrap_or_default())
            .arg(size)
            .arg(&note);
        for t in &tiles {
            inv.key(self.tile_key(t.level, t.index)).arg(tile_to_bytes(&t.hashes));
        }
        let r: i64 = inv.invoke_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        Ok(r == 1)
    }
}
