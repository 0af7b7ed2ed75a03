//! Where the log keeps what is not a leaf: tiles (the hashes of complete
//! subtrees, see `consent_core::tile`), the latest signed checkpoint and the
//! integrator's lease. Leaves themselves stay in the decision store.
//!
//! - Embedded: its own SQLite file, `log.sqlite3`, beside the decision store
//!   (so integrating never takes the decision writer's lock).
//! - Redis: keys under the same prefix as the decision store:
//!   `log:tile:<level>:<index>` (binary, 32 bytes per hash),
//!   `log:checkpoint` / `log:checkpoint-size`, `log:lease`.
//!
//! A commit writes tiles and checkpoint in one atomic step, and only if the
//! stored checkpoint is still the one the integrator started from and the
//! caller still holds the lease: two instances can never both extend the
//! same checkpoint.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use consent_core::merkle::Hash;
use consent_core::store::StoreError;
use consent_core::tile::{MemoryTiles, TileWrite};
use consent_core::{ConsentId, SiteId};
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn tile_from_bytes(b: &[u8]) -> Result<Vec<Hash>, StoreError> {
    if !b.len().is_multiple_of(32) {
        return Err(StoreError::Corrupt(format!("tile of {} bytes", b.len())));
    }
    Ok(b.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect())
}

/// The SQLite row id of a tile. Tile indexes stay far below 2^48 (that
/// would be 2^56 leaves).
fn tile_id(level: u32, index: u64) -> i64 {
    debug_assert!(index < 1 << 48);
    (i64::from(level) << 48) | index as i64
}

fn tile_to_bytes(t: &[Hash]) -> Vec<u8> {
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

    /// Destroys a visitor's sealing key. Returns whether there was one.
    pub async fn erase(&self, site: &SiteId, consent: &ConsentId) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.erase(site, consent).await,
            Self::Redis(r) => r.erase(site, consent).await,
        }
    }
}

const SCHEMA: &str = "
-- id = level << 48 | index. A rowid table (not WITHOUT ROWID) so that with
-- 64 KiB pages seven 8 KiB tiles sit inside one leaf page: one page per
-- read, no overflow chains, ~88% of each page used.
CREATE TABLE IF NOT EXISTS tiles (id INTEGER PRIMARY KEY, hashes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, until_ms INTEGER NOT NULL);
";

/// The embedded log: `log.sqlite3` (tiles, checkpoint, lease) plus, for
/// erasure only, a connection to the decision store's `keurmerk.sqlite3`.
#[derive(Clone)]
pub struct SqliteLog {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<PathBuf>,
    decisions_db: Arc<PathBuf>,
}

fn open_conn(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let c = Connection::open_with_flags(path, flags).map_err(unavailable)?;
    c.busy_timeout(Duration::from_secs(5)).map_err(unavailable)?;
    Ok(c)
}

impl SqliteLog {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
        let path = dir.join("log.sqlite3");
        let conn = open_conn(&path, OpenFlags::default())?;
        // page_size only takes effect on a new file, before WAL is switched on.
        conn.execute_batch("PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self {
            writer: Arc::new(Mutex::new(conn)),
            readers: Arc::default(),
            path: Arc::new(path),
            decisions_db: Arc::new(dir.join("keurmerk.sqlite3")),
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

    async fn read_tiles(&self, keys: Vec<(u32, u64)>) -> Result<MemoryTiles, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.read_tiles_blocking(&keys))
            .await
            .map_err(unavailable)?
    }

    async fn checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
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

    async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
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

    async fn commit(
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

    /// Clears the sealing key in the decision store's own table (its layout:
    /// `visitors(site, visitor_key, …, sealing_key)`), with
    /// `secure_delete` so SQLite zeroes the freed bytes, then checkpoints and
    /// truncates the WAL so no older page image keeps them either.
    async fn erase(&self, site: &SiteId, consent: &ConsentId) -> Result<bool, StoreError> {
        let (db, site, consent) = (self.decisions_db.clone(), site.clone(), consent.clone());
        tokio::task::spawn_blocking(move || {
            let conn = open_conn(&db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            conn.execute_batch("PRAGMA secure_delete=ON;").map_err(unavailable)?;
            let n = conn
                .execute(
                    "UPDATE visitors SET sealing_key = NULL
                     WHERE site = ?1 AND visitor_key = ?2 AND sealing_key IS NOT NULL",
                    params![site.as_str(), crate::store::sqlite_visitor_key(&conn, &consent)?],
                )
                .map_err(unavailable)?;
            // Readers may hold old snapshots for a moment: retry until the
            // whole WAL is folded in and truncated.
            for _ in 0..100 {
                let busy: i64 = conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                    .map_err(unavailable)?;
                if busy == 0 {
                    return Ok(n > 0);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(StoreError::Unavailable(
                "erased, but the write-ahead log could not be truncated yet".into(),
            ))
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

const LEASE: &str = r#"
local h = redis.call("GET", KEYS[1])
if h == false then redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) return 1 end
if h == ARGV[1] then redis.call("PEXPIRE", KEYS[1], ARGV[2]) return 1 end
return 0
"#;

const COMMIT: &str = r#"
-- KEYS: 1 lease, 2 checkpoint size, 3 checkpoint note, 4.. tiles
-- ARGV: 1 holder, 2 previous size ("" if none), 3 new size, 4 note, 5.. tile bytes for KEYS[4..]
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
local cur = redis.call("GET", KEYS[2])
if (cur or "") ~= ARGV[2] then return 0 end
for i = 4, #KEYS do redis.call("SET", KEYS[i], ARGV[i + 1]) end
redis.call("SET", KEYS[2], ARGV[3])
redis.call("SET", KEYS[3], ARGV[4])
return 1
"#;

#[derive(Clone)]
pub struct RedisLog {
    conn: ConnectionManager,
    prefix: String,
    lease: Script,
    commit: Script,
    /// The decision store on the same Redis: it owns the visitors' sealing keys.
    decisions: crate::store::RedisStore,
}

impl RedisLog {
    pub fn open(url: &str, prefix: &str, decisions: crate::store::RedisStore) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            lease: Script::new(LEASE),
            commit: Script::new(COMMIT),
            decisions,
        })
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    fn tile_key(&self, level: u32, idx: u64) -> String {
        self.key(&format!("log:tile:{level}:{idx}"))
    }

    async fn read_tiles(&self, keys: Vec<(u32, u64)>) -> Result<MemoryTiles, StoreError> {
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

    async fn checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let (size, note): (Option<u64>, Option<String>) = redis::pipe()
            .get(self.key("log:checkpoint-size"))
            .get(self.key("log:checkpoint"))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(size.zip(note))
    }

    async fn lease(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
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

    async fn commit(
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

    /// Destroys the sealing key (kept by the decision store, see
    /// `store::redis`), then asks Redis to rewrite its append-only file so
    /// the key's bytes do not stay on disk.
    async fn erase(&self, site: &SiteId, consent: &ConsentId) -> Result<bool, StoreError> {
        let n = self.decisions.erase_sealing_key(site, consent).await?;
        // Best effort: a rewrite already running will not include the key
        // either; Redis without AOF has nothing to rewrite.
        let _: Result<String, _> = redis::cmd("BGREWRITEAOF").query_async(&mut self.conn.clone()).await;
        Ok(n)
    }
}
