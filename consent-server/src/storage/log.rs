//! Where the log keeps what is not a leaf: tiles (the hashes of complete
//! subtrees, see `consent_core::tile`), the latest signed checkpoint and the
//! integrator's lease. Leaves themselves stay in the decision store.
//!
//! - Embedded: [`SqliteLog`], its own file beside the decision store.
//! - Redis: [`RedisLog`], keys under the decision store's prefix.
//!
//! A commit writes tiles and checkpoint in one atomic step, and only if the
//! stored checkpoint is still the one the integrator started from and the
//! caller still holds the lease: two instances can never both extend the
//! same checkpoint.

use std::time::Duration;

use consent_core::merkle::Hash;
use consent_core::store::StoreError;
use consent_core::tile::{MemoryTiles, TileWrite};

pub use super::redis::log::RedisLog;
pub use super::sqlite::log::SqliteLog;

pub(crate) fn tile_from_bytes(b: &[u8]) -> Result<Vec<Hash>, StoreError> {
    if !b.len().is_multiple_of(32) {
        return Err(super::corrupt_because(format!("tile of {} bytes", b.len())));
    }
    Ok(b.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect())
}

/// The SQLite row id of a tile. Tile indexes stay far below 2^48 (that
/// would be 2^56 leaves).
pub(crate) fn tile_id(level: u32, index: u64) -> i64 {
    debug_assert!(index < 1 << 48);
    (i64::from(level) << 48) | index as i64
}

pub(crate) fn tile_to_bytes(t: &[Hash]) -> Vec<u8> {
    t.concat()
}

#[derive(Clone)]
pub enum LogStorage {
    Sqlite(SqliteLog),
    Redis(RedisLog),
}

impl LogStorage {
    pub async fn read_tiles(&self, keys: Vec<(u32, u64)>) -> Result<MemoryTiles, StoreError> {
        match self {
            Self::Sqlite(s) => s.read_tiles(keys).await,
            Self::Redis(r) => r.read_tiles(keys).await,
        }
    }

    /// The latest checkpoint: its size and signed note.
    pub async fn checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        match self {
            Self::Sqlite(s) => s.checkpoint().await,
            Self::Redis(r) => r.checkpoint().await,
        }
    }

    /// Puts witnesses' cosignatures on the latest checkpoint: replaces its
    /// note `old` (of tree size `size`) by `new`, the same note with more
    /// signature lines, only while `old` is still the latest. False if a
    /// newer checkpoint was published meanwhile.
    pub async fn add_cosignatures(&self, size: u64, old: String, new: String) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.add_cosignatures(size, old, new).await,
            Self::Redis(r) => r.add_cosignatures(size, old, new).await,
        }
    }

    /// Takes or renews the integrator lease; false if another holder has it.
    pub async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.lease(holder, ttl).await,
            Self::Redis(r) => r.lease(holder, ttl).await,
        }
    }

    /// Publishes a checkpoint with its tiles iff the stored checkpoint size is
    /// still `prev` and `holder` holds the lease. Returns whether it did.
    pub async fn commit(
        &self,
        holder: &str,
        prev: Option<u64>,
        size: u64,
        tiles: Vec<TileWrite>,
        note: String,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.commit(holder, prev, size, tiles, note).await,
            Self::Redis(r) => r.commit(holder, prev, size, tiles, note).await,
        }
    }
}
