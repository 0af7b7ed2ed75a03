//! Embedded storage: one SQLite file in WAL mode with `synchronous=FULL`.
//!
//! All writes go through one writer thread that practises group commit: it
//! takes every queued write, runs them in a single transaction, fsyncs once
//! and only then answers them all. Under load that turns thousands of
//! fsyncs per second into a handful, which is how the embedded backend keeps
//! "committed before 201" without an fsync per decision (throughput:
//! docs/benchmarks.md, decisions bench). Reads use a small pool of
//! read-only connections (WAL lets them run beside the writer).

mod attestations;
mod issued_id;
pub mod log;
mod records;
mod scan_jobs;
mod tally;
mod triage;
mod wal_buffer;

pub use issued_id::row_key as visitor_key;
pub use scan_jobs::{Finish, Lease, NewScanJob, QueueLimits, ScanAlertRow, ScanJobRow};

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use consent_core::account::Account;
use consent_core::analytics::{Day, DayTally, Period, Tally};
use consent_core::store::{
    AccountStore, ApiKey, Append, DecisionQuery, DecisionStore, LoggedDecision, ScanMeta, ScanQuery, ScanStore,
    Session, Site, SiteStore, StoreError, StoredScan, Triage, Visitor,
};
use consent_core::{ConfigVersion, ConsentId, DecisionRecord, SiteConfig, SiteId};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use self::issued_id::Issuer;
use super::{corrupt, corrupt_because, from_json, to_json, unavailable, unavailable_because};

/// The most writes one transaction takes; bounds the latency of a batch.
const MAX_BATCH: usize = 8192;
const READERS: usize = 4;

/// The schema's version, kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 9;

/// Version 3. Recording a decision must touch as few randomly placed pages
/// as possible: every dirty page costs a whole page in the WAL at commit.
/// Hence one row per visitor, in `visitors`: a new visitor's secret hash,
/// sealing key and latest leaf in one row, and a returning visitor's decision
/// moves `last_idx`. A visitor's decisions are found by following `prev` from
/// `last_idx` (rarely more than a handful), not through an index on
/// (site, consent_id). Since version 3 the row's key is not the consent id
/// but a number the id encrypts (see `issued_id`), so new rows are appended
/// like the `leaves` rows; visitors from before keep their id as their key.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS leaves (
    idx INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    consent_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    leaf BLOB NOT NULL,
    -- The same visitor's previous leaf, if any.
    prev INTEGER
);
CREATE INDEX IF NOT EXISTS leaves_by_site ON leaves(site, idx);
CREATE TABLE IF NOT EXISTS visitors (
    site TEXT NOT NULL,
    -- `issued_id::Issuer::row_key` of the consent id.
    visitor_key TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    -- NULL once erased (with secure_delete, so the bytes are zeroed).
    sealing_key BLOB,
    last_idx INTEGER NOT NULL,
    -- How many decisions the visitor holds (the bound on a consent id's
    -- history); counted since schema version 4, older visitors start at 1.
    decisions INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (site, visitor_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sites (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS configs (
    site TEXT NOT NULL,
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (site, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_keys (sha256 BLOB PRIMARY KEY, site TEXT NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS api_keys_by_site ON api_keys(site);
CREATE TABLE IF NOT EXISTS accounts (username TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (sha256 BLOB PRIMARY KEY, expires_ms INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scans (
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    meta TEXT NOT NULL,
    report BLOB NOT NULL,
    PRIMARY KEY (site, id)
);
";

/// From version 1 (sealing keys in their own table, leaves indexed by
/// consent id) to version 2, in one transaction.
const MIGRATE_1_TO_2: &str = "
BEGIN IMMEDIATE;
CREATE TABLE visitors_v2 (
    site TEXT NOT NULL,
    consent_id TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    sealing_key BLOB,
    last_idx INTEGER NOT NULL,
    PRIMARY KEY (site, consent_id)
) WITHOUT ROWID;
INSERT INTO visitors_v2 (site, consent_id, secret_sha256, sealing_key, last_idx)
    SELECT v.site, v.consent_id, v.secret_sha256, k.sealing_key,
        (SELECT MAX(l.idx) FROM leaves l WHERE l.site = v.site AND l.consent_id = v.consent_id)
    FROM visitors v LEFT JOIN sealing_keys k ON k.site = v.site AND k.consent_id = v.consent_id;
DROP TABLE visitors;
ALTER TABLE visitors_v2 RENAME TO visitors;
DROP TABLE sealing_keys;
ALTER TABLE leaves ADD COLUMN prev INTEGER;
UPDATE leaves SET prev = (
    SELECT MAX(p.idx) FROM leaves p
    WHERE p.site = leaves.site AND p.consent_id = leaves.consent_id AND p.idx < leaves.idx
);
DROP INDEX leaves_by_consent;
PRAGMA user_version = 2;
COMMIT;
";

/// From version 2 to 3: the visitors' key column gets its new name; the
/// rows keep their consent ids as keys. `meta` (which will hold the key
/// consent ids are issued under) comes with the schema.
const MIGRATE_2_TO_3: &str = "
BEGIN IMMEDIATE;
ALTER TABLE visitors RENAME COLUMN consent_id TO visitor_key;
PRAGMA user_version = 3;
COMMIT;
";

/// Version 4 counts each visitor's decisions, to bound them. Existing
/// visitors start at 1 (counting their chains would read every leaf).
const MIGRATE_3_TO_4: &str = "
BEGIN IMMEDIATE;
ALTER TABLE visitors ADD COLUMN decisions INTEGER NOT NULL DEFAULT 1;
PRAGMA user_version = 4;
COMMIT;
";

/// Version 5 keeps analytics counts per (site, day, configuration version)
/// in `tallies` (see `tally`; the table comes with the schema). They start
/// at the upgrade: decisions recorded before it are not counted (summing
/// them would read every leaf once, unbounded in a large log).
const MIGRATE_4_TO_5: &str = "
BEGIN IMMEDIATE;
PRAGMA user_version = 5;
COMMIT;
";

/// The writer thread's state, handed to every write job.
pub struct Writer {
    conn: Connection,
    /// The index the next appended leaf gets. Kept in memory (the writer is
    /// the only one appending) and reloaded if a batch fails.
    next_index: u64,
    /// Set by a job that hit an error after writing part of its rows: the
    /// whole batch is rolled back and every job in it fails.
    poisoned: Option<StoreError>,
    /// Tells the checkpointer a commit happened (never blocks; one pending
    /// tick is enough).
    committed: mpsc::SyncSender<()>,
    /// Set by the checkpointer to the WAL's size in pages once the WAL is
    /// (nearly) all copied back and over its bound: the moment for the
    /// writer to let it start over (see `run_writer`). Zero otherwise.
    backfilled: Arc<AtomicI64>,
    /// The WAL's bound in pages.
    restart_after: i64,
    /// Maps consent ids to their visitors' row keys.
    ids: Arc<Issuer>,
    /// The analytics counts of the batch's appended decisions, written just
    /// before its commit.
    tallies: tally::Pending,
}

/// How often at most the WAL is copied back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// How long the writer waits for readers when it must force the WAL to
/// start over.
const RESTART_WAIT: std::time::Duration = std::time::Duration::from_millis(1);
/// How long a connection waits for a lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// WAL pages (1 GiB) after which the writer starts the WAL over under
/// steady load (when writes pause, it starts over by itself). Each restart
/// pauses the writer (it finishes the checkpoint and fsyncs), and every
/// request waiting meanwhile waits that much longer, so the bound sets how
/// much of the time is spent in such pauses. Chosen with the decision bench,
/// alternating builds: 1 GiB gave the lowest p99 of the bounds tried (see
/// docs/benchmarks.md, decisions bench, 2026-12-03 night). The
/// price is disk: under sustained load the WAL file grows to this size (to
/// twice it while readers hold the restart back, see `run_writer`), and
/// opening after a crash scans it.
const RESTART_AFTER_PAGES: i64 = 262_144;

/// A checkpoint pass that copied at most this many pages (2 MiB) leaves
/// little for the writer to finish.
const SHORT_PASS_PAGES: i64 = 512;

type Done = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type Job = Box<dyn FnOnce(&mut Writer) -> Done + Send>;

#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::SyncSender<Job>,
    ids: Arc<Issuer>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<std::path::PathBuf>,
    /// Leaf rows read by decision listings, for tests that check a page
    /// costs its own rows and no more.
    leaves_read: Arc<AtomicU64>,
    /// Erasures committed so far, numbered.
    erased: Arc<AtomicU64>,
    /// The number of the last erasure a WAL truncation covered, and when
    /// the last truncation ended: erasures share truncations (see `erase`).
    truncated: Arc<tokio::sync::Mutex<(u64, Option<std::time::Instant>)>>,
}

/// Truncations of the WAL for erasures start at most this often. Each one
/// holds the writer for as long as it takes to fold the (mostly folded
/// already) WAL back, so a flood of erasures costs recording at most this
/// duty cycle; the erasures waiting meanwhile share the next truncation.
const TRUNCATE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Creates the data directory (mode 0700 for any directory it makes) and,
/// if it does not exist yet, the database file `path` empty with mode 0600
/// (SQLite takes an empty file for a new database). SQLite would create it
/// 0644 (less the umask); it creates the `-wal` and `-shm` files with the
/// database file's mode, so they are 0600 too. An existing file keeps its mode.
pub(crate) fn create_private(dir: &Path, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn open(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags).map_err(unavailable)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
    Ok(conn)
}

/// The writer's connection: its WAL appends reach the file in one write per
/// commit (see `wal_buffer`), which needs the synchronous=FULL it keeps.
fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    self::wal_buffer::register().map_err(unavailable_because)?;
    let conn =
        Connection::open_with_flags_and_vfs(path, OpenFlags::default(), self::wal_buffer::NAME).map_err(unavailable)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/keurmerk.sqlite3` and starts the writer thread.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_wal_bound(dir, RESTART_AFTER_PAGES)
    }

    /// [`open`](Self::open) with the number of WAL pages after which the
    /// writer starts the WAL over (tests use a small one to see it happen).
    pub fn open_with_wal_bound(dir: &Path, restart_after_pages: i64) -> Result<Self, StoreError> {
        let path = dir.join("keurmerk.sqlite3");
        create_private(dir, &path).map_err(unavailable)?;
        let conn = open_writer(&path)?;
        // FULL: the WAL is fsynced at every commit, so an answered write
        // survives power loss, not just a process crash.
        // A small page cache over a memory-mapped file. Chosen while consent
        // ids were random keys (before schema version 3): visitors were
        // written at random pages, and the B-tree splits that caused made
        // SQLite move a page through the 1 GiB lock-byte page number; at each
        // commit its page cache then walked its whole hash table to drop that
        // page (the writer's largest cost with a 64 MiB cache: see
        // docs/benchmarks.md, decisions bench, 2026-12-03 early morning).
        // A 4 MiB cache
        // keeps the walk short, and the mapping serves the pages it no longer
        // holds without a read call each (returning visitors from before
        // version 3 are still found at random pages). Writes still go
        // through the WAL with an fsync each commit; the mapping only reads
        // (2 GB is SQLite's own upper bound).
        // `secure_delete` on for every write, not only erasures: bytes a
        // write frees (a page split moving cells away, a cell rewritten) are
        // zeroed at once. Switched on for erasures alone, a sealing key left
        // behind in free space by an earlier split of its page outlived the
        // erasure (the test `kill_9_mid_erasure_leaves_every_erasure_whole`
        // found it). The decisions table only grows, so pages are seldom
        // freed and the zeroing costs little.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;
             PRAGMA cache_size=-4096; PRAGMA mmap_size=2147418112; PRAGMA secure_delete=ON;",
        )
        .map_err(unavailable)?;
        migrate(&conn)?;
        // Checkpoints run on their own thread (see `run_checkpointer`), not
        // inside the commit that happens to cross 1,000 WAL pages.
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")
            .map_err(unavailable)?;
        let checkpointer = open(&path, OpenFlags::default())?;
        let database_file = std::fs::File::open(&path).map_err(unavailable)?;
        let next_index = next_index(&conn)?;
        let ids = Arc::new(Issuer::load(&conn)?);
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(open(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?);
        }
        let (tx, rx) = mpsc::sync_channel::<Job>(MAX_BATCH * 4);
        let (committed, ticks) = mpsc::sync_channel::<()>(1);
        let backfilled = Arc::new(AtomicI64::new(0));
        let checkpointed = backfilled.clone();
        let writer = Writer {
            conn,
            next_index,
            poisoned: None,
            committed,
            backfilled: backfilled.clone(),
            restart_after: restart_after_pages,
            ids: ids.clone(),
            tallies: tally::Pending::default(),
        };
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                run_checkpointer(
                    &checkpointer,
                    &database_file,
                    &ticks,
                    &checkpointed,
                    restart_after_pages,
                );
            })
            .map_err(unavailable)?;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(writer, rx))
            .map_err(unavailable)?;
        Ok(Self {
            jobs: tx,
            ids,
            readers: Arc::new(Mutex::new(readers)),
            path: Arc::new(path),
            leaves_read: Arc::default(),
            erased: Arc::default(),
            truncated: Arc::default(),
        })
    }

    /// Leaf rows decision listings have read so far.
    pub fn leaves_read(&self) -> u64 {
        self.leaves_read.load(Ordering::Relaxed)
    }

    /// Runs `f` on the writer thread inside the current batch's transaction
    /// and answers once that transaction is durably committed.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |w: &mut Writer| {
            let result = f(w);
            Box::new(move |commit: Option<&StoreError>| {
                let _ = tx.send(match commit {
                    Some(e) => Err(e.clone()),
                    None => result,
                });
            })
        });
        // `send` blocks only when the queue is full: back-pressure.
        let jobs = self.jobs.clone();
        match jobs.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => tokio::task::spawn_blocking(move || jobs.send(job))
                .await
                .map_err(unavailable)?
                .map_err(|_| unavailable_because("writer stopped"))?,
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(unavailable_because("writer stopped")),
        }
        rx.await.map_err(|_| unavailable_because("writer stopped"))?
    }

    /// Runs `f` with a pooled read connection on the blocking thread pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.lock().expect("reader pool").pop();
            let conn = match conn {
                Some(c) => c,
                None => open(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?,
            };
            let result = f(&conn);
            let mut pool = readers.lock().expect("reader pool");
            if pool.len() < READERS {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(unavailable)?
    }

    /// Folds the whole WAL back into the database file and truncates it,
    /// retrying while readers still hold older snapshots (for a moment).
    async fn truncate_wal(&self) -> Result<(), StoreError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = open(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            // Fold what can be folded beside the writer first, so the
            // truncation, which holds the writer, has only the last frames
            // left to copy.
            let _: i64 = sql(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(0)))?;
            for _ in 0..100 {
                let busy: i64 = sql(conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)))?;
                if busy == 0 {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(unavailable_because(
                "erased, but the write-ahead log could not be truncated yet",
            ))
        })
        .await
        .map_err(unavailable)?
    }

    /// Waits for every write queued so far to be committed, then folds the
    /// WAL back into the database file and empties it (for shutdown). The
    /// process exits before the writer thread would do the latter itself,
    /// which left a WAL of up to `RESTART_AFTER_PAGES` pages on disk after a
    /// clean stop.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(())).await?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = open(&path, OpenFlags::default())?;
            // (busy, log frames, checkpointed frames): busy = 1 when a reader
            // or the checkpointer held it back; the data is safe either way.
            let busy: i64 = sql(conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)))?;
            if busy != 0 {
                tracing::warn!("the WAL could not be emptied at shutdown (busy); the next start reuses it");
            }
            Ok(())
        })
        .await
        .map_err(unavailable)?
    }
}

/// Brings the schema to [`SCHEMA_VERSION`]: creates it in an empty database,
/// migrates an older one, and refuses one written by a newer server.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = sql(conn.query_row("PRAGMA user_version", [], |r| r.get(0)))?;
    let has_leaves: bool = sql(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'leaves')",
        [],
        |r| r.get(0),
    ))?;
    if version == 0 && !has_leaves {
        sql(conn.execute_batch(SCHEMA))?;
        sql(conn.execute_batch(tally::TABLE))?;
        sql(conn.execute_batch(scan_jobs::SCHEMA))?;
        sql(conn.execute_batch(attestations::SCHEMA))?;
        sql(conn.execute_batch(triage::SCHEMA))?;
        sql(conn.execute_batch(records::SCHEMA))?;
        return sql(conn.pragma_update(None, "user_version", SCHEMA_VERSION));
    }
    if version > SCHEMA_VERSION {
        return Err(corrupt_because(format!(
            "the database has schema version {version}; this server knows up to {SCHEMA_VERSION}"
        )));
    }
    // Version 1 did not set `user_version`: 0 with tables is version 1.
    let steps = [
        (1, MIGRATE_1_TO_2),
        (2, MIGRATE_2_TO_3),
        (3, MIGRATE_3_TO_4),
        (4, MIGRATE_4_TO_5),
        (5, scan_jobs::MIGRATE_5_TO_6),
        (6, attestations::MIGRATE_6_TO_7),
        (7, triage::MIGRATE_7_TO_8),
        (8, records::MIGRATE_8_TO_9),
    ];
    for (from, step) in steps {
        if version.max(1) <= from {
            let r = conn.execute_batch(step);
            if r.is_err() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            sql(r)?;
        }
    }
    sql(conn.execute_batch(SCHEMA))?;
    sql(conn.execute_batch(tally::TABLE))?;
    sql(conn.execute_batch(scan_jobs::SCHEMA))?;
    sql(conn.execute_batch(attestations::SCHEMA))?;
    sql(conn.execute_batch(triage::SCHEMA))?;
    sql(conn.execute_batch(records::SCHEMA))
}

fn next_index(conn: &Connection) -> Result<u64, StoreError> {
    let max: Option<i64> = conn
        .query_row("SELECT MAX(idx) FROM leaves", [], |r| r.get(0))
        .map_err(unavailable)?;
    Ok(max.map_or(0, |m| m as u64 + 1))
}

fn run_writer(mut w: Writer, rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut done: Vec<Done> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let began = w.conn.execute_batch("BEGIN IMMEDIATE").map_err(unavailable);
        let start_index = w.next_index;
        for job in batch.drain(..) {
            done.push(job(&mut w));
        }
        let outcome = match (began, w.poisoned.take()) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(e)) => Err(e),
            (Ok(()), None) => w
                .tallies
                .write(&w.conn)
                .and_then(|()| w.conn.execute_batch("COMMIT").map_err(unavailable)),
        };
        w.tallies.clear();
        if outcome.is_err() {
            let _ = w.conn.execute_batch("ROLLBACK");
            w.next_index = next_index(&w.conn).unwrap_or(start_index);
        }
        let err = outcome.err();
        for d in done.drain(..) {
            d(err.as_ref());
        }
        let _ = w.committed.try_send(());
        // The WAL starts over from its beginning only when a write begins
        // on a wholly checkpointed snapshot while no reader still reads older
        // frames, and the writer's next transaction begins right after its
        // commit. So once the checkpointer has copied the bulk back, the
        // writer copies the few frames since (PASSIVE: no waiting for
        // readers), which lets its next write start the WAL over. Should
        // readers keep preventing that until the WAL is twice its bound, the
        // writer waits for them, briefly (RESTART with a short busy timeout).
        let pages = w.backfilled.swap(0, Ordering::Relaxed);
        if pages > 0 {
            let mode = if pages > 2 * w.restart_after {
                "PRAGMA wal_checkpoint(RESTART)"
            } else {
                "PRAGMA wal_checkpoint(PASSIVE)"
            };
            let _ = w.conn.busy_timeout(RESTART_WAIT);
            let _ = w.conn.query_row(mode, [], |_| Ok(()));
            let _ = w.conn.busy_timeout(BUSY_TIMEOUT);
        }
    }
    // Every sender is gone: the server is shutting down. Fold the WAL back
    // into the database so the next start opens quickly.
    let _ = w.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
}

/// Copies committed WAL pages back into the database file, at most every
/// [`CHECKPOINT_EVERY`], beside the writer. SQLite's automatic checkpoint
/// would do it inside a commit every 1,000 pages: under load that is many
/// times a second, each rewriting the same hot pages (the ends of the
/// leaf table and its index) and fsyncing the database file, all on the one
/// writer thread. Ends when the writer ends (the tick channel closes).
///
/// `database_file` is a second handle on the database file, for
/// [`start_writeback`] after every pass.
fn run_checkpointer(
    conn: &Connection,
    database_file: &std::fs::File,
    ticks: &mpsc::Receiver<()>,
    backfilled: &AtomicI64,
    restart_after: i64,
) {
    let mut copied_before = 0;
    while ticks.recv().is_ok() {
        let passive = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        // The pages this pass copied start towards the disk now, not all
        // at the sync that completes the checkpoint.
        if let Err(e) = start_writeback(database_file) {
            tracing::debug!(error = %e, "starting the database file's writeback");
        }
        let mut wal_pages = 0;
        let copied = match passive {
            Ok((pages, done)) => {
                wal_pages = pages;
                if pages > 4 * restart_after {
                    tracing::warn!(pages, done, "the WAL is not starting over: long-running readers?");
                }
                // `done` counts since the WAL last started over.
                let now = if done >= copied_before {
                    done - copied_before
                } else {
                    done
                };
                copied_before = done;
                now
            }
            Err(e) => {
                tracing::warn!(error = %e, "checkpointing the WAL");
                0
            }
        };
        // A pass that had much to copy let much be written meanwhile: go
        // again at once, until a pass is short. Then the writer's own
        // checkpoint (which it runs between batches) has only a few frames
        // left to copy and the WAL can start over without a long pause.
        if copied > SHORT_PASS_PAGES {
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        }
        if wal_pages > restart_after {
            backfilled.store(wal_pages, Ordering::Relaxed);
        }
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

/// Asks the kernel to start writing the file's dirty pages to disk now,
/// without waiting for it. A pass copies pages into the database file but
/// SQLite syncs that file only when a checkpoint completes, so without this
/// the pages of several passes went to disk in one burst at that sync. The
/// burst held up the writer's WAL syncs behind it (seen with `perf trace`).
/// Written back pass by pass, both syncs got shorter and p99 fell in most
/// alternating pairs, throughput unchanged within the noise (figures:
/// docs/benchmarks.md, decisions bench, 2026-12-03 evening).
///
/// Only a hint: it makes nothing durable and nothing relies on it (the
/// checkpoint's own sync still does). Hand-written because std has no
/// `sync_file_range`; one call into libc. The call is Linux's own; elsewhere
/// (a developer's macOS, say) there is no hint and the burst stays.
#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: a plain system call on a descriptor `file` keeps open; offset
    // 0 and length 0 mean the whole file.
    let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

impl Writer {
    /// Runs `f` all-or-nothing within the batch (a savepoint), for writes
    /// that touch several rows and may fail half-way.
    fn atomic<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.conn.execute_batch("SAVEPOINT job").map_err(unavailable)?;
        let r = f(&self.conn);
        let end = if r.is_ok() {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if let Err(e) = self.conn.execute_batch(end) {
            self.poisoned = Some(unavailable(e));
        }
        r
    }

    /// Appends `a`; `tally` is its analytics contribution, counted once
    /// its rows are written.
    fn append(&mut self, a: Append, tally: Option<(Day, ConfigVersion, Tally)>) -> Result<u64, StoreError> {
        let index = self.next_index;
        let key = self.ids.row_key(&a.consent_id);
        let result = (|| {
            let prev: Option<i64> = match &a.new_visitor {
                Some(v) => {
                    let inserted = self
                        .conn
                        .prepare_cached(
                            "INSERT OR IGNORE INTO visitors (site, visitor_key, secret_sha256, sealing_key, last_idx)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                        )?
                        .execute(params![
                            a.site.as_str(),
                            key,
                            &v.secret_sha256[..],
                            &v.sealing_key[..],
                            index as i64
                        ])?;
                    if inserted == 0 {
                        return Ok(Err(StoreError::Conflict(format!("visitor {}", a.consent_id))));
                    }
                    None
                }
                None => {
                    let row: Option<(i64, i64)> = self
                        .conn
                        .prepare_cached(
                            "SELECT last_idx, decisions FROM visitors WHERE site = ?1 AND visitor_key = ?2",
                        )?
                        .query_row(params![a.site.as_str(), key], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    let Some((prev, held)) = row else {
                        return Ok(Err(StoreError::Conflict(format!("no visitor {}", a.consent_id))));
                    };
                    if a.visitor_cap.is_some_and(|cap| held >= i64::from(cap)) {
                        return Ok(Err(StoreError::LimitReached(format!(
                            "this consent id holds {held} decisions, the most one may; start a new one"
                        ))));
                    }
                    self.conn
                        .prepare_cached(
                            "UPDATE visitors SET last_idx = ?3, decisions = decisions + 1
                             WHERE site = ?1 AND visitor_key = ?2",
                        )?
                        .execute(params![a.site.as_str(), key, index as i64])?;
                    Some(prev)
                }
            };
            self.conn
                .prepare_cached(
                    "INSERT INTO leaves (idx, site, consent_id, time_ms, leaf, prev) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    index as i64,
                    a.site.as_str(),
                    a.consent_id.as_str(),
                    a.time_ms as i64,
                    &a.leaf,
                    prev
                ])?;
            Ok(Ok(index))
        })();
        match result {
            Ok(Ok(i)) => {
                self.next_index += 1;
                if let Some(t) = tally {
                    self.tallies.add(&a.site, t);
                }
                Ok(i)
            }
            Ok(Err(e)) => Err(e),
            Err(e) => {
                // Rows of this job may be half written: fail the whole batch.
                let e: rusqlite::Error = e;
                let e = unavailable(e);
                self.poisoned = Some(e.clone());
                Err(e)
            }
        }
    }
}

/// Walks a visitor's decisions from the newest back, following the `prev`
/// chain from the visitor's latest leaf, handing each (index, time, leaf)
/// to `f` until it returns `false`. Reads one row per decision handed out.
fn walk_visitor(
    c: &Connection,
    ids: &Issuer,
    site: &SiteId,
    cid: &ConsentId,
    read: &AtomicU64,
    mut f: impl FnMut(i64, i64, Vec<u8>) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let last: Option<i64> = sql(c
        .prepare_cached("SELECT last_idx FROM visitors WHERE site = ?1 AND visitor_key = ?2")
        .and_then(|mut s| {
            s.query_row(params![site.as_str(), ids.row_key(cid)], |r| r.get(0))
                .optional()
        }))?;
    let mut s = sql(c.prepare_cached("SELECT prev, time_ms, leaf, site, consent_id FROM leaves WHERE idx = ?1"))?;
    let mut next = last;
    while let Some(idx) = next {
        let (prev, time, leaf, leaf_site, leaf_cid): (Option<i64>, i64, Vec<u8>, String, String) =
            sql(s.query_row([idx], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))))?;
        read.fetch_add(1, Ordering::Relaxed);
        // The chain only ever links a visitor's own leaves, and goes back.
        if leaf_site != site.as_str() || leaf_cid != cid.as_str() || prev.is_some_and(|p| p >= idx) {
            return Err(corrupt_because(format!("the chain of {cid} is broken at leaf {idx}")));
        }
        if !f(idx, time, leaf)? {
            break;
        }
        next = prev;
    }
    Ok(())
}

/// A visitor's leaves as (index, time, leaf), oldest first.
fn visitor_leaves(
    c: &Connection,
    ids: &Issuer,
    site: &SiteId,
    cid: &ConsentId,
    read: &AtomicU64,
) -> Result<Vec<(i64, i64, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    walk_visitor(c, ids, site, cid, read, |i, t, l| {
        out.push((i, t, l));
        Ok(true)
    })?;
    out.reverse();
    Ok(out)
}

pub(super) fn sql<T>(r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(unavailable)
}

fn site_row(conn: &Connection, id: &SiteId) -> Result<Option<Site>, StoreError> {
    let body: Option<String> = sql(conn
        .prepare_cached("SELECT body FROM sites WHERE id = ?1")
        .and_then(|mut s| s.query_row([id.as_str()], |r| r.get(0)).optional()))?;
    body.map(|b| from_json(&b)).transpose()
}

impl SiteStore for SqliteStore {
    async fn create_site(&self, site: &Site, config: &SiteConfig) -> Result<(), StoreError> {
        let (site, config) = (site.clone(), config.clone());
        self.write(move |w| {
            w.atomic(|c| {
                let n = sql(c.execute(
                    "INSERT OR IGNORE INTO sites (id, body) VALUES (?1, ?2)",
                    params![site.id.as_str(), to_json(&site)],
                ))?;
                if n == 0 {
                    return Err(StoreError::Conflict(format!("site {}", site.id)));
                }
                sql(c.execute(
                    "INSERT OR IGNORE INTO configs (site, version, body) VALUES (?1, ?2, ?3)",
                    params![site.id.as_str(), config.version().0, to_json(&config)],
                ))?;
                Ok(())
            })
        })
        .await
    }

    async fn site(&self, id: &SiteId) -> Result<Option<Site>, StoreError> {
        let id = id.clone();
        self.read(move |c| site_row(c, &id)).await
    }

    async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        self.read(|c| {
            let mut s = sql(c.prepare("SELECT body FROM sites ORDER BY id"))?;
            let rows = sql(s.query_map([], |r| r.get::<_, String>(0)))?;
            rows.map(|b| from_json(&sql(b)?)).collect()
        })
        .await
    }

    async fn set_origins(&self, id: &SiteId, origins: &[String]) -> Result<(), StoreError> {
        let (id, origins) = (id.clone(), origins.to_vec());
        self.write(move |w| {
            w.atomic(|c| {
                let mut site = site_row(c, &id)?.ok_or_else(|| StoreError::NotFound(format!("site {id}")))?;
                site.allowed_origins = origins;
                sql(c.execute(
                    "UPDATE sites SET body = ?2 WHERE id = ?1",
                    params![id.as_str(), to_json(&site)],
                ))?;
                Ok(())
            })
        })
        .await
    }

    async fn save_config(&self, id: &SiteId, config: &SiteConfig) -> Result<ConfigVersion, StoreError> {
        let (id, config) = (id.clone(), config.clone());
        self.write(move |w| {
            w.atomic(|c| {
                let mut site = site_row(c, &id)?.ok_or_else(|| StoreError::NotFound(format!("site {id}")))?;
                let version = config.version();
                sql(c.execute(
                    "INSERT OR IGNORE INTO configs (site, version, body) VALUES (?1, ?2, ?3)",
                    params![id.as_str(), version.0, to_json(&config)],
                ))?;
                site.current_version = version.clone();
                sql(c.execute(
                    "UPDATE sites SET body = ?2 WHERE id = ?1",
                    params![id.as_str(), to_json(&site)],
                ))?;
                Ok(version)
            })
        })
        .await
    }

    async fn config(&self, id: &SiteId, version: &ConfigVersion) -> Result<Option<SiteConfig>, StoreError> {
        let (id, version) = (id.clone(), version.clone());
        self.read(move |c| {
            let body: Option<String> = sql(c
                .prepare_cached("SELECT body FROM configs WHERE site = ?1 AND version = ?2")
                .and_then(|mut s| s.query_row(params![id.as_str(), version.0], |r| r.get(0)).optional()))?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }
}

impl DecisionStore for SqliteStore {
    fn issue_consent_id(&self) -> Option<ConsentId> {
        Some(self.ids.issue())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| sql(c.query_row("SELECT 1", [], |_| Ok(())))).await
    }

    async fn visitor(&self, site: &SiteId, consent_id: &ConsentId) -> Result<Option<Visitor>, StoreError> {
        let (site, key) = (site.clone(), self.ids.row_key(consent_id));
        self.read(move |c| {
            let row: Option<(Vec<u8>, Option<Vec<u8>>)> = sql(c
                .prepare_cached("SELECT secret_sha256, sealing_key FROM visitors WHERE site = ?1 AND visitor_key = ?2")
                .and_then(|mut s| {
                    s.query_row(params![site.as_str(), key], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                }))?;
            row.map(|(secret, key)| {
                Ok(Visitor {
                    secret_sha256: secret.try_into().map_err(|_| corrupt_because("secret hash length"))?,
                    sealing_key: key
                        .map(|k| k.try_into().map_err(|_| corrupt_because("sealing key length")))
                        .transpose()?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn append(&self, append: Append) -> Result<u64, StoreError> {
        // Parsed here, on the caller's thread, not on the one writer thread.
        let tally = Tally::of_leaf(&append.leaf);
        self.write(move |w| w.append(append, tally)).await
    }

    async fn leaf_count(&self) -> Result<u64, StoreError> {
        self.read(next_index).await
    }

    async fn leaves(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(move |c| {
            let mut s = sql(c.prepare_cached("SELECT leaf FROM leaves WHERE idx >= ?1 AND idx < ?2 ORDER BY idx"))?;
            let rows = sql(s.query_map(params![range.start as i64, range.end as i64], |r| r.get(0)))?;
            rows.map(sql).collect()
        })
        .await
    }

    async fn decisions(&self, site: &SiteId, q: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        let (site, q, ids, counter) = (site.clone(), q.clone(), self.ids.clone(), self.leaves_read.clone());
        self.read(move |c| {
            let after = q.after.map_or(-1, |a| a as i64);
            let from = q.from_ms.map_or(i64::MIN, |f| f as i64);
            let to = q.to_ms.map_or(i64::MAX, |t| t as i64);
            let limit = q.limit as i64;
            let mut out = Vec::new();
            let mut push = |idx: i64, leaf: Vec<u8>| -> Result<(), StoreError> {
                let record = DecisionRecord::from_canonical_bytes(&leaf).map_err(corrupt)?;
                out.push(LoggedDecision {
                    index: idx as u64,
                    record,
                });
                Ok(())
            };
            let before = q.before.map_or(i64::MAX, |b| b as i64);
            let wanted = |i: i64, t: i64| i > after && i < before && (from..to).contains(&t);
            if let Some(cid) = &q.consent_id {
                if q.newest_first {
                    // The chain runs newest to oldest: stop once the page is full.
                    let mut taken = 0;
                    if q.limit > 0 {
                        walk_visitor(c, &ids, &site, cid, &counter, |i, t, l| {
                            if wanted(i, t) {
                                push(i, l)?;
                                taken += 1;
                            }
                            // Stop at a full page: no row beyond it is read.
                            Ok(taken < q.limit && i > after)
                        })?;
                    }
                } else {
                    let leaves = visitor_leaves(c, &ids, &site, cid, &counter)?;
                    let page = leaves.into_iter().filter(|(i, t, _)| wanted(*i, *t)).take(q.limit);
                    for (i, _, l) in page {
                        push(i, l)?;
                    }
                }
            } else {
                // Both directions walk the (site, idx) index: a page reads
                // its own rows (and those the time window skips), however
                // long the site's history.
                let mut s = sql(c.prepare_cached(if q.newest_first {
                    "SELECT idx, leaf FROM leaves WHERE site = ?1 AND idx > ?2 AND idx < ?6
                     AND time_ms >= ?3 AND time_ms < ?4 ORDER BY idx DESC LIMIT ?5"
                } else {
                    "SELECT idx, leaf FROM leaves WHERE site = ?1 AND idx > ?2 AND idx < ?6
                     AND time_ms >= ?3 AND time_ms < ?4 ORDER BY idx LIMIT ?5"
                }))?;
                let rows = sql(
                    s.query_map(params![site.as_str(), after, from, to, limit, before], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    }),
                )?;
                for row in rows {
                    let (i, l) = sql(row)?;
                    counter.fetch_add(1, Ordering::Relaxed);
                    push(i, l)?;
                }
            }
            Ok(out)
        })
        .await
    }

    /// Clears the sealing key through the writer like every other write,
    /// (the writer runs with `secure_delete`, so SQLite zeroes the freed bytes),
    /// then folds the WAL back and truncates it so no older page image in
    /// the WAL keeps the key either. Concurrent erasures share one
    /// truncation, and truncations start at most every `TRUNCATE_EVERY`,
    /// so erasing cannot stall recording for long.
    async fn analytics(&self, site: &SiteId, period: Period) -> Result<Vec<DayTally>, StoreError> {
        let site = site.clone();
        self.read(move |c| tally::read(c, &site, period)).await
    }

    async fn erase(&self, site: &SiteId, consent_id: &ConsentId) -> Result<bool, StoreError> {
        let (site, key) = (site.clone(), self.ids.row_key(consent_id));
        let erased = self
            .write(move |w| {
                w.atomic(|c| {
                    let n = sql(c.execute(
                        "UPDATE visitors SET sealing_key = NULL
                         WHERE site = ?1 AND visitor_key = ?2 AND sealing_key IS NOT NULL",
                        params![site.as_str(), key],
                    ))?;
                    Ok(n > 0)
                })
            })
            .await?;
        // Numbered after its commit: a truncation that starts once this
        // number is taken covers this erasure.
        let mine = self.erased.fetch_add(1, Ordering::SeqCst) + 1;
        let mut truncated = self.truncated.lock().await;
        if truncated.0 < mine {
            if let Some(last) = truncated.1 {
                tokio::time::sleep(TRUNCATE_EVERY.saturating_sub(last.elapsed())).await;
            }
            let covers = self.erased.load(Ordering::SeqCst);
            let done = self.truncate_wal().await;
            truncated.1 = Some(std::time::Instant::now());
            done?;
            truncated.0 = covers;
        }
        Ok(erased)
    }
}

impl AccountStore for SqliteStore {
    async fn create_api_key(&self, key: &ApiKey, sha256: [u8; 32]) -> Result<(), StoreError> {
        let key = key.clone();
        self.write(move |w| {
            w.atomic(|c| {
                let n = sql(c.execute(
                    "INSERT OR IGNORE INTO api_keys (sha256, site, body) VALUES (?1, ?2, ?3)",
                    params![&sha256[..], key.site.as_str(), to_json(&key)],
                ))?;
                if n == 0 {
                    return Err(StoreError::Conflict(format!("api key {}", key.id)));
                }
                Ok(())
            })
        })
        .await
    }

    async fn api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        let sha256 = *sha256;
        self.read(move |c| {
            let body: Option<String> = sql(c
                .prepare_cached("SELECT body FROM api_keys WHERE sha256 = ?1")
                .and_then(|mut s| s.query_row([&sha256[..]], |r| r.get(0)).optional()))?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }

    async fn api_keys(&self, site: &SiteId) -> Result<Vec<ApiKey>, StoreError> {
        let site = site.clone();
        self.read(move |c| {
            let mut s = sql(c.prepare("SELECT body FROM api_keys WHERE site = ?1"))?;
            let rows = sql(s.query_map([site.as_str()], |r| r.get::<_, String>(0)))?;
            let mut keys: Vec<ApiKey> = rows.map(|b| from_json(&sql(b)?)).collect::<Result<_, _>>()?;
            keys.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
            Ok(keys)
        })
        .await
    }

    async fn revoke_api_key(&self, site: &SiteId, id: &str) -> Result<bool, StoreError> {
        let (site, id) = (site.clone(), id.to_owned());
        self.write(move |w| {
            w.atomic(|c| {
                // Keys are few per site: the site's index finds them, the
                // id is read from each body.
                let n = sql(c.execute(
                    "DELETE FROM api_keys WHERE site = ?1 AND json_extract(body, '$.id') = ?2",
                    params![site.as_str(), id],
                ))?;
                Ok(n > 0)
            })
        })
        .await
    }

    async fn touch_api_key(&self, sha256: &[u8; 32], now_ms: u64) -> Result<(), StoreError> {
        let sha256 = *sha256;
        self.write(move |w| {
            w.atomic(|c| {
                sql(c.execute(
                    "UPDATE api_keys SET body = json_set(body, '$.last_used_ms', ?2) WHERE sha256 = ?1",
                    params![&sha256[..], now_ms as i64],
                ))?;
                Ok(())
            })
        })
        .await
    }

    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        self.create_account_row(account).await
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        self.account_row(username).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.account_rows().await
    }

    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.put_account_row(account).await
    }

    async fn delete_account(&self, username: &str) -> Result<bool, StoreError> {
        self.delete_account_row(username).await
    }

    async fn create_session(&self, sha256: [u8; 32], session: &Session) -> Result<(), StoreError> {
        let session = session.clone();
        self.write(move |w| {
            w.atomic(|c| {
                sql(c.execute(
                    "INSERT OR REPLACE INTO sessions (sha256, expires_ms, body) VALUES (?1, ?2, ?3)",
                    params![&sha256[..], session.expires_ms as i64, to_json(&session)],
                ))?;
                // Sweep expired sessions while we are here.
                sql(c.execute(
                    "DELETE FROM sessions WHERE expires_ms < ?1",
                    [now_ms_for_sweep(session.expires_ms)],
                ))?;
                Ok(())
            })
        })
        .await
    }

    async fn session(&self, sha256: &[u8; 32], now_ms: u64) -> Result<Option<Session>, StoreError> {
        let sha256 = *sha256;
        self.read(move |c| {
            let body: Option<String> = sql(c
                .query_row("SELECT body FROM sessions WHERE sha256 = ?1", [&sha256[..]], |r| {
                    r.get(0)
                })
                .optional())?;
            let session: Option<Session> = body.map(|b| from_json(&b)).transpose()?;
            Ok(session.filter(|s| s.expires_ms > now_ms))
        })
        .await
    }

    async fn delete_session(&self, sha256: &[u8; 32]) -> Result<(), StoreError> {
        let sha256 = *sha256;
        self.write(move |w| {
            w.atomic(|c| {
                sql(c.execute("DELETE FROM sessions WHERE sha256 = ?1", [&sha256[..]]))?;
                Ok(())
            })
        })
        .await
    }
}

impl ScanStore for SqliteStore {
    async fn save_scan(&self, meta: &ScanMeta, report: &[u8]) -> Result<(), StoreError> {
        let (meta, report) = (meta.clone(), report.to_vec());
        self.write(move |w| {
            w.atomic(|c| {
                let n = sql(c.execute(
                    "INSERT OR IGNORE INTO scans (site, id, meta, report) VALUES (?1, ?2, ?3, ?4)",
                    params![meta.site.as_str(), meta.id, to_json(&meta), report],
                ))?;
                if n == 0 {
                    return Err(StoreError::Conflict(format!("scan {}", meta.id)));
                }
                Ok(())
            })
        })
        .await
    }

    async fn scans(&self, site: &SiteId, q: &ScanQuery) -> Result<Vec<ScanMeta>, StoreError> {
        let (site, q) = (site.clone(), q.clone());
        self.read(move |c| {
            // Ids are ASCII, so U+FFFF is above every one of them.
            let before = q.before.unwrap_or_else(|| "\u{ffff}".into());
            let mut s =
                sql(c.prepare_cached("SELECT meta FROM scans WHERE site = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"))?;
            let rows = sql(s.query_map(params![site.as_str(), before, q.limit as i64], |r| {
                r.get::<_, String>(0)
            }))?;
            rows.map(|b| from_json(&sql(b)?)).collect()
        })
        .await
    }

    async fn scan(&self, site: &SiteId, id: &str) -> Result<Option<StoredScan>, StoreError> {
        let (site, id) = (site.clone(), id.to_owned());
        self.read(move |c| {
            let row: Option<(String, Vec<u8>)> = sql(c
                .prepare_cached("SELECT meta, report FROM scans WHERE site = ?1 AND id = ?2")
                .and_then(|mut s| {
                    s.query_row(params![site.as_str(), id], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                }))?;
            row.map(|(meta, report)| {
                Ok(StoredScan {
                    meta: from_json(&meta)?,
                    report,
                })
            })
            .transpose()
        })
        .await
    }

    async fn set_triage(&self, site: &SiteId, triage: &Triage) -> Result<(), StoreError> {
        self.set_triage_row(site, triage).await
    }

    async fn clear_triage(&self, site: &SiteId, fingerprint: &str) -> Result<bool, StoreError> {
        self.clear_triage_row(site, fingerprint).await
    }

    async fn triage(&self, site: &SiteId) -> Result<Vec<Triage>, StoreError> {
        self.triage_rows(site).await
    }
}

/// Sessions live a fixed time, so a new session's expiry minus that time is
/// "now": anything expiring before it is stale.
fn now_ms_for_sweep(new_expiry_ms: u64) -> i64 {
    new_expiry_ms.saturating_sub(crate::service::credentials::SESSION_TTL_MS) as i64
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// The writeback hint reaches the kernel: accepted on a regular file with
    /// dirty pages, refused (ESPIPE) on a pipe. A malformed call (unknown
    /// flags, a bad descriptor) fails the first half; a wrapper that never
    /// calls the kernel fails the second.
    #[test]
    fn writeback_is_started_on_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = std::fs::File::create(dir.path().join("db")).unwrap();
        f.write_all(&vec![7u8; 4 << 20]).unwrap();
        start_writeback(&f).unwrap();
        let (reader, _writer) = std::io::pipe().unwrap();
        let pipe = std::fs::File::from(std::os::fd::OwnedFd::from(reader));
        let err = start_writeback(&pipe).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ESPIPE));
    }
}
