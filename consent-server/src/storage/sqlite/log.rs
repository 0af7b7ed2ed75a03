//! The embedded log's own file, `log.sqlite3`, beside the decision store (so
//! integrating never takes the decision writer's lock): tiles, the latest
//! checkpoint and the integrator's lease.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consent_core::store::StoreError;
use consent_core::tile::{MemoryTiles, TileWrite};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::clock::now_ms;
use crate::storage::log::{tile_from_bytes, tile_id, tile_to_bytes};
use crate::storage::unavailable;

const SCHEMA: &str = "
-- id = level << 48 | index. A rowid table (not WITHOUT ROWID) so that with
-- 64 KiB pages seven 8 KiB tiles sit inside one leaf page: one page per
-- read, no overflow chains, ~88% of each page used.
CREATE TABLE IF NOT EXISTS tiles (id INTEGER PRIMARY KEY, hashes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, until_ms INTEGER NOT NULL);
";

/// The embedded log: `log.sqlite3` (tiles, checkpoint, lease).
#[derive(Clone)]
pub struct SqliteLog {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<PathBuf>,
}

fn open_conn(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let c = Connection::open_with_flags(path, flags).map_err(unavailable)?;
    c.busy_timeout(Duration::from_secs(5)).map_err(unavailable)?;
    Ok(c)
}

impl SqliteLog {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("log.sqlite3");
        super::create_private(dir, &path).map_err(unavailable)?;
        let conn = open_conn(&path, OpenFlags::default())?;
        // page_size only takes effect on a new file, before WAL is switched on.
        conn.execute_batch("PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self {
            writer: Arc::new(Mutex::new(conn)),
            readers: Arc::default(),
            path: Arc::new(path),
        })
    }

    /// A read connection from the pool (opened on demand).
    pub fn reader(&self) -> Result<PooledReader<'_>, StoreError> {
        let conn = self.readers.lock().expect("reader pool").pop();
        let conn = match conn {
            Some(c) => c,
            None => open_conn(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?,
        };
        Ok(PooledReader {
            conn: Some(conn),
            pool: self,
        })
    }

    /// Reads tiles on the calling thread: the proof path's hot loop, also
    /// used directly by the benchmark.
    pub fn read_tiles_blocking(&self, keys: &[(u32, u64)]) -> Result<MemoryTiles, StoreError> {
        let r = self.reader()?;
        let conn = r.conn.as_ref().expect("live reader");
        let mut out = MemoryTiles::default();
        if keys.is_empty() {
            return Ok(out);
        }
        // One statement for all of a proof's tiles.
        let sql = format!(
            "SELECT id, hashes FROM tiles WHERE id IN ({})",
            vec!["?"; keys.len()].join(",")
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
        let ids = keys.iter().map(|&(l, i)| tile_id(l, i));
        let mut rows = stmt.query(rusqlite::params_from_iter(ids)).map_err(unavailable)?;
        while let Some(row) = rows.next().map_err(unavailable)? {
            let id: i64 = row.get(0).map_err(unavailable)?;
            let blob = row.get_ref(1).map_err(unavailable)?.as_blob().map_err(unavailable)?;
            out.0.insert(
                ((id >> 48) as u32, (id & ((1 << 48) - 1)) as u64),
                tile_from_bytes(blob)?,
            );
        }
        Ok(out)
    }

    pub(crate) async fn read_tiles(&self, keys: Vec<(u32, u64)>) -> Result<MemoryTiles, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.read_tiles_blocking(&keys))
            .await
            .map_err(unavailable)?
    }

    pub(crate) async fn checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let r = this.reader()?;
            let conn = r.conn.as_ref().expect("live reader");
            conn.query_row("SELECT size, note FROM checkpoint WHERE id = 1", [], |row| {
                Ok((row.get::<_, i64>(0)? as u64, row.get(1)?))
            })
            .optional()
            .map_err(unavailable)
        })
        .await
        .map_err(unavailable)?
    }

    pub(crate) async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (this, holder) = (self.clone(), holder.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut conn = this.writer.lock().expect("log writer");
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let now = now_ms();
            let cur: Option<(String, i64)> = tx
                .query_row("SELECT holder, until_ms FROM lease WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(unavailable)?;
            let free = cur.is_none_or(|(h, until)| h == holder || (until as u64) < now);
            if free {
                tx.execute(
                    "INSERT OR REPLACE INTO lease (id, holder, until_ms) VALUES (1, ?1, ?2)",
                    params![holder, (now + ttl.as_millis() as u64) as i64],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(free)
        })
        .await
        .map_err(unavailable)?
    }

    /// Writes tiles and the checkpoint in one transaction, under the checks
    /// described in the module docs. Public for the benchmark, which builds
    /// a 10M-leaf log directly.
    pub fn commit_blocking(
        &self,
        holder: &str,
        prev: Option<u64>,
        size: u64,
        tiles: &[TileWrite],
        note: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer.lock().expect("log writer");
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let lease: Option<(String, i64)> = tx
            .query_row("SELECT holder, until_ms FROM lease WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(unavailable)?;
        if !lease.is_some_and(|(h, until)| h == holder && until as u64 >= now_ms()) {
            return Ok(false);
        }
        let cur: Option<i64> = tx
            .query_row("SELECT size FROM checkpoint WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(unavailable)?;
        if cur.map(|c| c as u64) != prev {
            return Ok(false);
        }
        {
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO tiles (id, hashes) VALUES (?1, ?2)")
                .map_err(unavailable)?;
            for t in tiles {
                put.execute(params![tile_id(t.level, t.index), tile_to_bytes(&t.hashes)])
                    .map_err(unavailable)?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO checkpoint (id, size, note) VALUES (1, ?1, ?2)",
            params![size as i64, note],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        Ok(true)
    }

    pub(crate) async fn commit(
        &self,
        holder: &str,
        prev: Option<u64>,
        size: u64,
        tiles: Vec<TileWrite>,
        note: String,
    ) -> Result<bool, StoreError> {
        let (this, holder) = (self.clone(), holder.to_owned());
        tokio::task::spawn_blocking(move || this.commit_blocking(&holder, prev, size, &tiles, &note))
            .await
            .map_err(unavailable)?
    }
}

impl SqliteLog {
    /// Replaces the checkpoint's note by the same note with witnesses'
    /// cosignatures added, only if the stored note is still `old` (a newer
    /// checkpoint wins; its own cosignatures follow). False if it was not.
    pub(crate) async fn add_cosignatures(&self, size: u64, old: String, new: String) -> Result<bool, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = this.writer.lock().expect("log writer");
            let n = conn
                .execute(
                    "UPDATE checkpoint SET note = ?1 WHERE id = 1 AND size = ?2 AND note = ?3",
                    params![new, size as i64, old],
                )
                .map_err(unavailable)?;
            Ok(n == 1)
        })
        .await
        .map_err(unavailable)?
    }
}

/// A read connection that goes back to the pool when dropped.
pub struct PooledReader<'a> {
    conn: Option<Connection>,
    pool: &'a SqliteLog,
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut pool = self.pool.readers.lock().expect("reader pool");
            if pool.len() < 8 {
                pool.push(c);
            }
        }
    }
}
