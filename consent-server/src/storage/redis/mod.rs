//! Redis storage, for several server processes sharing one Redis.
//!
//! One multiplexed connection (a `ConnectionManager`, which reconnects by
//! itself) carries every command, so concurrent requests are pipelined on
//! the wire for free. Appends are batched into one Lua script: Redis runs scripts
//! atomically, so the index counter, the leaf, the per-site indexes and a new
//! visitor's secret and key are written together or not at all, and indexes
//! stay gap-free however many processes append at once. Durability is the
//! server's AOF setting (`appendfsync always` makes the reply wait for fsync).

mod attestations;
pub mod log;
mod records;
mod tally;
mod triage;

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use consent_core::account::Account;
use consent_core::analytics::{DayTally, Period, Tally};
use consent_core::store::{
    AccountStore, ApiKey, Append, DecisionQuery, DecisionStore, LoggedDecision, NewVisitor, ScanMeta, ScanQuery,
    ScanStore, Session, Site, SiteStore, StoreError, StoredScan, Triage, Visitor,
};
use consent_core::{ConfigVersion, ConsentId, DecisionRecord, SiteConfig, SiteId};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use super::{corrupt, corrupt_because, from_json, to_json, unavailable, unavailable_because};

/// A batch of appends: Redis runs the script atomically, so indexes stay
/// gap-free however many processes append at once, and each decision's rows
/// are written together. One script call per batch rather than per decision
/// spends Redis's per-call work (parsing, script set-up, the AOF's
/// MULTI/EXEC wrapper) once for many decisions; inside it, every write is one
/// variadic command per batch or per site, never one per decision: each
/// command a script runs costs Redis a call from Lua and an entry in the AOF,
/// and those dominated its time when layout 1 ran four commands a decision
/// (measured: see docs/benchmarks.md, decisions bench, 2026-12-02 afternoon).
///
/// Layout 3 appends where layout 2 inserted: the leaves go to the end of a
/// list per [`LEAF_CHUNK`] indexes (`RPUSH`), each site's indexes to the end
/// of a string per [`SITE_CHUNK`] indexes (`APPEND`, 8 bytes each), instead
/// of a field in one huge hash and a member of a sorted set. Neither has a
/// dictionary to grow and rehash, so Redis's time in the script fell, and a
/// decision's index entry is its 8 bytes (measured: see docs/benchmarks.md,
/// decisions bench, 2026-12-03 late morning). The list and string keys are
/// derived inside the script from the prefixes in ARGV (standalone Redis,
/// which is what this store supports).
const APPEND: &str = concat!(include_str!("settle_leaves.lua"), include_str!("append.lua"));

/// Leaves per list (`log:leaves:<n>` holds leaves `n·4096 ..`): short enough
/// that `LINDEX` walks little, long enough that a range read is a few `LRANGE`s.
pub const LEAF_CHUNK: u64 = 4096;
/// Indexes per string of a site's index (`site-index:<site>:<n>`, 8 bytes
/// each): at most 8 MiB a string, far below Redis's 512 MiB.
pub const SITE_CHUNK: u64 = 1 << 20;

/// A page of a site's index: up to `limit` indexes above `after`, packed.
/// Binary search inside each string, so a page costs the same at any depth.
const SITE_PAGE: &str = include_str!("site_page.lua");

/// The same page newest first: up to `limit` indexes below `before`.
const SITE_PAGE_DESC: &str = include_str!("site_page_desc.lua");

/// A page of one visitor's indexes, newest first (see layout 4 at [`SCHEMA`]).
const VISITOR_PAGE_DESC: &str = include_str!("visitor_page_desc.lua");

/// Moving to layout 3: one list's worth of leaves from the layout-2 hash.
/// Resumes where a list ends, so a move cut short (or run twice) is safe.
const MOVE_LEAVES: &str = include_str!("move_leaves.lua");

/// Moving to layout 3: the lowest entries of a site's layout-2 sorted set
/// to the ends of its index strings. Lowest first, so the strings stay ascending.
const MOVE_SITE_INDEX: &str = include_str!("move_site_index.lua");

/// Extends the migration lock if this process still holds it.
const HOLD_LOCK: &str = include_str!("hold_lock.lua");

/// Gives the migration lock up if this process still holds it.
const DROP_LOCK: &str = include_str!("drop_lock.lua");

/// A visitor's field in `visitors:<site>` starts with the secret's hash (32
/// bytes), then 1 and the sealing key (32 bytes), or 0 and 32 zero bytes
/// once the visitor was erased; the visitor's leaf indexes follow, 8 bytes
/// big-endian each, ascending. One field per visitor in one hash per site
/// (rather than keys per visitor) keeps a new visitor to a field in a
/// variadic HSET, and its memory to a fraction of what three keys took
/// (measured: see docs/benchmarks.md, storage measurements).
const VISITOR_HEAD: usize = 65;

fn visitor_head(v: &NewVisitor) -> Vec<u8> {
    let mut head = Vec::with_capacity(VISITOR_HEAD);
    head.extend_from_slice(&v.secret_sha256);
    head.push(1);
    head.extend_from_slice(&v.sealing_key);
    head
}

/// The visitor and its leaf indexes, from its field.
fn parse_visitor(field: &[u8]) -> Result<(Visitor, Vec<u64>), StoreError> {
    if field.len() < VISITOR_HEAD || !(field.len() - VISITOR_HEAD).is_multiple_of(8) {
        return Err(corrupt_because(format!("visitor field of {} bytes", field.len())));
    }
    let visitor = Visitor {
        secret_sha256: field[..32].try_into().expect("32 bytes"),
        sealing_key: (field[32] == 1).then(|| field[33..VISITOR_HEAD].try_into().expect("32 bytes")),
    };
    let indexes = field[VISITOR_HEAD..]
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes")))
        .collect();
    Ok((visitor, indexes))
}

/// Erasure: the sealing key's bytes are overwritten, the rest of the field
/// (secret hash, leaf indexes) stays. Returns 1 if there was a key.
const ERASE: &str = include_str!("erase.lua");

/// Layout 1 (until December 2026) kept three keys per visitor:
/// `visitor:<site>:<id>` (secret hash), `sealing-key:<site>:<id>` and the
/// sorted set `by-consent:<site>:<id>`. Moves one visitor to its field in
/// layout 2, atomically, so any number of instances may migrate at once.
const MIGRATE_VISITOR: &str = include_str!("migrate_visitor.lua");

/// The layout this code reads and writes, kept in `<prefix>schema`. Layout 4
/// (December 2026) appends a visitor's leaf indexes to a string of its own,
/// `visitor-leaves:<site>:<consent id>`, instead of rewriting the visitor's
/// field with each decision (whose cost grew with the history); a field of
/// layout 3 keeps the indexes it had after its head, read before the string.
/// Nothing moves: the layout number only keeps servers of layout 3, which
/// would append to the field, away.
const SCHEMA: u32 = 4;
/// How long a migration lock lasts unless its holder extends it.
const LOCK_MS: u64 = 30_000;

/// The most decisions in one append script (its KEYS and ARGV stay far
/// below Lua's stack limit).
const MAX_APPEND_BATCH: usize = 256;
/// Append scripts in flight at once: while one waits for Redis's fsync the
/// next batch is already forming and on the wire.
const APPENDS_IN_FLIGHT: usize = 4;

type AppendJob = (Append, oneshot::Sender<Result<u64, StoreError>>);

const CREATE_SITE: &str = include_str!("create_site.lua");

/// Replaces a field of the site's JSON under a check that the site exists;
/// the caller computes the new JSON (read-modify-write guarded by WATCH-free
/// comparison of the old value, so concurrent edits retry).
const REPLACE_SITE: &str = include_str!("replace_site.lua");

const SAVE_SCAN: &str = include_str!("save_scan.lua");

/// The Lua scripts, each sent once and then called by its hash.
struct Scripts {
    append: Script,
    attest: Script,
    site_page: Script,
    site_page_desc: Script,
    visitor_page_desc: Script,
    move_leaves: Script,
    move_site_index: Script,
    hold_lock: Script,
    drop_lock: Script,
    create_site: Script,
    replace_site: Script,
    save_scan: Script,
    erase: Script,
}

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    scripts: Arc<Scripts>,
    /// The appender task's queue, started by the first append (which runs
    /// inside the runtime; `open` may not). It ends when every clone of the
    /// store is gone.
    appender: Arc<OnceLock<mpsc::Sender<AppendJob>>>,
    /// Whether this process has seen the storage at [`SCHEMA`] (migrating it
    /// if need be); everything that reads or writes the log waits for it.
    schema: Arc<watch::Sender<Layout>>,
    /// Leaves decision listings have fetched, for tests that check a page
    /// costs its own leaves and no more.
    leaves_read: Arc<std::sync::atomic::AtomicU64>,
}

/// Where this process stands with the storage's layout.
#[derive(Clone, Debug, Default)]
enum Layout {
    #[default]
    Unchecked,
    /// A task is checking, or moving the data (or waiting for another
    /// instance that moves it).
    Moving,
    Current,
    Failed(StoreError),
}

/// How long a request waits for a migration before it is answered `503`:
/// moving a large log takes minutes (the rate: docs/benchmarks.md, storage measurements),
/// and a visitor's browser should hear "try again" rather than hang.
const MIGRATION_WAIT: Duration = Duration::from_secs(2);

/// Group commit for Redis: takes every append waiting (up to a batch),
/// sends them as one script, and keeps up to [`APPENDS_IN_FLIGHT`] scripts
/// on the wire. Alone, an append goes out at once.
async fn run_appender(store: RedisStore, mut rx: mpsc::Receiver<AppendJob>) {
    let in_flight = Arc::new(Semaphore::new(APPENDS_IN_FLIGHT));
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else { return };
        let mut batch = Vec::with_capacity(MAX_APPEND_BATCH);
        batch.push(first);
        while batch.len() < MAX_APPEND_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let store = store.clone();
        tokio::spawn(async move {
            store.append_batch(batch).await;
            drop(permit);
        });
    }
}

/// The Redis settings [`persistence_warnings`] judges.
pub const PERSISTENCE_SETTINGS: [&str; 4] = [
    "appendonly",
    "appendfsync",
    "maxmemory-policy",
    "auto-aof-rewrite-percentage",
];

/// Judges Redis's persistence settings (as `CONFIG GET` names them) against
/// the production setting in docs/operating.md; a setting that is missing is not judged.
pub fn persistence_warnings(settings: &std::collections::HashMap<String, String>) -> Vec<String> {
    let get = |name: &str| settings.get(name).map(String::as_str);
    let mut out = Vec::new();
    if get("appendonly") == Some("no") {
        out.push(
            "appendonly is no: decisions acknowledged with 201 since Redis's last snapshot are lost \
             if Redis stops; set appendonly yes"
                .to_owned(),
        );
    } else {
        match get("appendfsync") {
            Some("everysec") => out.push(
                "appendfsync is everysec: about the last second of decisions acknowledged with 201 \
                 is lost on a power loss or kernel crash; set appendfsync always"
                    .to_owned(),
            ),
            Some("no") => out.push(
                "appendfsync is no: the operating system decides when decisions acknowledged with \
                 201 reach the disk; set appendfsync always"
                    .to_owned(),
            ),
            _ => {}
        }
    }
    if let Some(policy) = get("maxmemory-policy")
        && policy != "noeviction"
    {
        out.push(format!(
            "maxmemory-policy is {policy}: Redis may evict decisions when its memory is full; \
             set maxmemory-policy noeviction"
        ));
    }
    if let Some(percent) = get("auto-aof-rewrite-percentage")
        && percent != "0"
    {
        out.push(format!(
            "auto-aof-rewrite-percentage is {percent}: every rewrite re-serialises the whole \
             decision log in a forked child, which costs CPU and up to twice Redis's memory; \
             set it to 0 and rewrite in a quiet hour if at all (see docs/operating.md)"
        ));
    }
    out
}

/// The error code the scripts answer with when a leaf below the log's size
/// is nowhere (`redis.error_reply("LACKSLEAF ...")`).
const LACKS_LEAF: &str = "LACKSLEAF";

/// A script's failure: its own report of a missing leaf is corrupt data
/// (retrying cannot help), anything else Redis being unavailable. Told apart
/// by the reply's error code, not its wording.
fn script_failed(e: redis::RedisError) -> StoreError {
    if e.code() == Some(LACKS_LEAF) {
        corrupt(e)
    } else {
        unavailable(e)
    }
}

/// `s` as a literal in a Redis MATCH pattern.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A connection manager for `url` that connects lazily and fails fast: a
/// request waits at most seconds for Redis, then answers 503. Shared by the
/// decision store and the log's storage.
pub(crate) fn connect(url: &str) -> Result<ConnectionManager, StoreError> {
    let client = redis::Client::open(url).map_err(unavailable)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(5)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)
}

/// Packed 8-byte big-endian leaf indexes, as the index strings hold them.
fn unpack_indexes(packed: &[u8], what: &str) -> Result<Vec<u64>, StoreError> {
    if !packed.len().is_multiple_of(8) {
        return Err(corrupt_because(format!("{what} of {} bytes", packed.len())));
    }
    Ok(packed
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

impl RedisStore {
    /// Prepares a connection to `url`; connects lazily, so the server can
    /// start while Redis is still coming up (it answers 503 until then).
    /// `prefix` namespaces every key (`kmk:` in production).
    pub fn open(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let conn = connect(url)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            scripts: Arc::new(Scripts {
                append: Script::new(APPEND),
                attest: Script::new(attestations::ATTEST),
                site_page: Script::new(SITE_PAGE),
                site_page_desc: Script::new(SITE_PAGE_DESC),
                visitor_page_desc: Script::new(VISITOR_PAGE_DESC),
                move_leaves: Script::new(MOVE_LEAVES),
                move_site_index: Script::new(MOVE_SITE_INDEX),
                hold_lock: Script::new(HOLD_LOCK),
                drop_lock: Script::new(DROP_LOCK),
                create_site: Script::new(CREATE_SITE),
                replace_site: Script::new(REPLACE_SITE),
                save_scan: Script::new(SAVE_SCAN),
                erase: Script::new(ERASE),
            }),
            appender: Arc::default(),
            schema: Arc::new(watch::Sender::new(Layout::Unchecked)),
            leaves_read: Arc::default(),
        })
    }

    /// A clone for the appender task: without the queue, so the task does
    /// not keep itself alive.
    /// Leaves decision listings have fetched so far.
    pub fn leaves_read(&self) -> u64 {
        self.leaves_read.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn without_appender(&self) -> Self {
        Self {
            appender: Arc::default(),
            ..self.clone()
        }
    }

    /// Appends `appends` in one script, in their order, without waiting for
    /// others to join: for bulk loads, and for tests that need to know where
    /// a batch starts and ends.
    pub async fn append_together(&self, appends: Vec<Append>) -> Vec<Result<u64, StoreError>> {
        let (jobs, answers): (Vec<AppendJob>, Vec<_>) = appends
            .into_iter()
            .map(|a| {
                let (tx, rx) = oneshot::channel();
                ((a, tx), rx)
            })
            .unzip();
        self.append_batch(jobs).await;
        let mut out = Vec::with_capacity(answers.len());
        for rx in answers {
            out.push(rx.await.unwrap_or_else(|_| Err(unavailable_because("no answer"))));
        }
        out
    }

    /// Runs one append script for `batch` and answers each decision.
    async fn append_batch(&self, batch: Vec<AppendJob>) {
        if let Err(e) = self.ready().await {
            for (_, reply) in batch {
                let _ = reply.send(Err(e.clone()));
            }
            return;
        }
        // The script takes the decisions grouped by site (one APPEND and one
        // HSET per site); `order` maps its answers back to the jobs.
        let mut sites: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, (a, _)) in batch.iter().enumerate() {
            match sites.iter_mut().find(|(s, _)| *s == a.site.as_str()) {
                Some((_, jobs)) => jobs.push(i),
                None => sites.push((a.site.as_str(), vec![i])),
            }
        }
        let mut inv = self.scripts.append.prepare_invoke();
        inv.key(self.key(&["log", "size"]))
            .arg(self.key(&["log", "leaves", ""]))
            .arg(self.key(&["log", "leaves"]));
        let mut order = Vec::with_capacity(batch.len());
        for (site, jobs) in &sites {
            inv.key(self.key(&["visitors", site]))
                .arg(self.key(&["site-index", site, ""]))
                .arg(self.key(&["visitor-leaves", site, ""]))
                .arg(jobs.len());
            for &i in jobs {
                let a = &batch[i].0;
                inv.arg(a.consent_id.as_str()).arg(&a.leaf);
                match &a.new_visitor {
                    Some(v) => inv.arg(visitor_head(v)),
                    None => inv.arg(""),
                };
                inv.arg(a.visitor_cap.unwrap_or(0));
                match Tally::of_leaf(&a.leaf) {
                    Some((day, version, t)) => inv
                        .arg(self.key(&["tallies", site, &day.0.to_string()]))
                        .arg(tally::fields(&version, &t)),
                    None => inv.arg("").arg(""),
                };
                order.push(i);
            }
        }
        let result: Result<Vec<i64>, _> = inv.invoke_async(&mut self.conn.clone()).await;
        let mut jobs: Vec<Option<AppendJob>> = batch.into_iter().map(Some).collect();
        let outcome = match result {
            Ok(indexes) if indexes.len() == order.len() => Ok(indexes),
            Ok(indexes) => Err(corrupt_because(format!(
                "{} indexes for {} appends",
                indexes.len(),
                order.len()
            ))),
            Err(e) => Err(script_failed(e)),
        };
        match outcome {
            Ok(indexes) => {
                for (i, idx) in order.into_iter().zip(indexes) {
                    let (a, reply) = jobs[i].take().expect("each job answered once");
                    let _ = reply.send(match idx {
                        -1 => Err(StoreError::Conflict(format!("visitor {}", a.consent_id))),
                        -3 => Err(StoreError::LimitReached(format!(
                            "this consent id holds {} decisions, the most one may; start a new one",
                            a.visitor_cap.unwrap_or(0)
                        ))),
                        i if i < 0 => Err(StoreError::Conflict(format!("no visitor {}", a.consent_id))),
                        i => Ok(i as u64),
                    });
                }
            }
            Err(e) => {
                for (_, reply) in jobs.into_iter().flatten() {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }

    /// Waits until the storage is at [`SCHEMA`]: the first call in this
    /// process starts a task that checks (and migrates if need be); later
    /// calls are free. The task runs on its own, so a request that gives up
    /// waiting (after [`MIGRATION_WAIT`], as `Unavailable`) does not cut a
    /// migration short; a failed check is retried by the next call.
    async fn ready(&self) -> Result<(), StoreError> {
        if matches!(*self.schema.borrow(), Layout::Current) {
            return Ok(());
        }
        let mut seen = self.schema.subscribe();
        let start = self.schema.send_if_modified(|l| match l {
            Layout::Unchecked | Layout::Failed(_) => {
                *l = Layout::Moving;
                true
            }
            _ => false,
        });
        if start {
            let store = self.without_appender();
            tokio::spawn(async move {
                let outcome = match store.migrate().await {
                    Ok(_) => Layout::Current,
                    Err(e) => Layout::Failed(e),
                };
                store.schema.send_replace(outcome);
            });
        }
        let waited = tokio::time::timeout(MIGRATION_WAIT, seen.wait_for(|l| !matches!(l, Layout::Moving))).await;
        match waited {
            Ok(Ok(layout)) => match &*layout {
                Layout::Failed(e) => Err(e.clone()),
                _ => Ok(()),
            },
            Ok(Err(_)) => Err(unavailable_because("the store is gone")),
            Err(_) => Err(unavailable_because(format!(
                "the Redis data is moving to layout {SCHEMA}; try again shortly"
            ))),
        }
    }

    /// Brings the data to layout `SCHEMA`, then records it in `<prefix>schema`:
    /// layout-1 visitors (three keys each) become fields of their site's
    /// `visitors` hash (layout 2); the leaves hash becomes lists and each
    /// site's sorted set becomes index strings (layout 3). One instance moves
    /// at a time, under a lock that lapses if it dies; the others wait for
    /// the schema, since nothing may be appended to a list before the leaves
    /// below it have moved. Every step is atomic and resumes where a cut-short
    /// run stopped. Returns how many visitors, leaves and index entries this
    /// call moved.
    pub async fn migrate(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let schema_key = self.key(&["schema"]);
        let lock_key = self.key(&["migrating"]);
        let token = hex::encode(rand::random::<[u8; 16]>());
        let mut waited = false;
        loop {
            let have: Option<u32> = conn.get(&schema_key).await.map_err(unavailable)?;
            match have {
                Some(v) if v == SCHEMA => return Ok(0),
                Some(v) if v > SCHEMA => {
                    return Err(corrupt_because(format!(
                        "the Redis data is at layout {v}, newer than this server's {SCHEMA}"
                    )));
                }
                _ => {}
            }
            let locked: Option<String> = redis::cmd("SET")
                .arg(&lock_key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(LOCK_MS)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if locked.is_some() {
                break;
            }
            if !waited {
                tracing::info!("Redis storage: another instance is moving the data to layout {SCHEMA}; waiting");
                waited = true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let moved = self.migrate_holding(&token).await;
        if moved.is_ok() {
            let _: () = conn.set(&schema_key, SCHEMA).await.map_err(unavailable)?;
        }
        // A lock that cannot be dropped (Redis went away) lapses by itself;
        // the migration's own outcome is what the caller needs.
        let dropped: Result<i64, _> = self
            .scripts
            .drop_lock
            .key(&lock_key)
            .arg(&token)
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = dropped {
            tracing::warn!(error = %e, "Redis storage: dropping the migration lock");
        }
        let moved = moved?;
        if moved > 0 {
            tracing::info!(moved, "Redis storage: moved to layout {SCHEMA}");
        }
        Ok(moved)
    }

    /// The moves themselves, while holding the migration lock.
    async fn migrate_holding(&self, token: &str) -> Result<u64, StoreError> {
        let visitors = self.move_visitors().await?;
        let leaves = self.move_leaves(token).await?;
        let indexes = self.move_site_indexes(token).await?;
        Ok(visitors + leaves + indexes)
    }

    /// Extends the migration lock; a holder that lost it goes on (every step
    /// is safe to run twice) but says so.
    async fn hold(&self, token: &str) -> Result<(), StoreError> {
        let held: i64 = self
            .scripts
            .hold_lock
            .key(self.key(&["migrating"]))
            .arg(token)
            .arg(LOCK_MS)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if held == 0 {
            tracing::warn!("Redis storage: the migration lock lapsed; going on");
        }
        Ok(())
    }

    /// One step of a `SCAN` over the keys starting with `start` (and of
    /// `kind`, if given): the next cursor (0 at the end) and the keys found.
    async fn scan_step(&self, cursor: u64, start: &str, kind: Option<&str>) -> Result<(u64, Vec<String>), StoreError> {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(format!("{}*", glob_escape(start)))
            .arg("COUNT")
            .arg(1000);
        if let Some(kind) = kind {
            scan.arg("TYPE").arg(kind);
        }
        scan.query_async(&mut self.conn.clone()).await.map_err(unavailable)
    }

    /// Layout 1 → 2: each visitor's three keys become one field, in one script each.
    async fn move_visitors(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let old = format!("{}visitor:", self.prefix);
        let (mut cursor, mut moved) = (0u64, 0u64);
        loop {
            let (next, keys) = self.scan_step(cursor, &old, None).await?;
            let mut pipe = redis::pipe();
            let mut queued = 0;
            for k in &keys {
                let Some((site, id)) = k.strip_prefix(&old).and_then(|r| r.split_once(':')) else {
                    continue;
                };
                pipe.cmd("EVAL")
                    .arg(MIGRATE_VISITOR)
                    .arg(4)
                    .arg(k)
                    .arg(self.key(&["sealing-key", site, id]))
                    .arg(self.key(&["by-consent", site, id]))
                    .arg(self.key(&["visitors", site]))
                    .arg(id);
                queued += 1;
            }
            if queued > 0 {
                let done: Vec<u64> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
                moved += done.iter().sum::<u64>();
            }
            cursor = next;
            if cursor == 0 {
                return Ok(moved);
            }
        }
    }

    /// Layout 2 → 3: the leaves hash, a list's worth at a time, in index order.
    async fn move_leaves(&self, token: &str) -> Result<u64, StoreError> {
        let size = self.leaf_count().await?;
        let legacy = self.key(&["log", "leaves"]);
        let mut moved = 0;
        for chunk in 0..size.div_ceil(LEAF_CHUNK) {
            let first = chunk * LEAF_CHUNK;
            let n: u64 = self
                .scripts
                .move_leaves
                .key(self.leaf_list(chunk))
                .key(&legacy)
                .arg(first)
                .arg(LEAF_CHUNK.min(size - first))
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(script_failed)?;
            moved += n;
            if chunk % 16 == 15 {
                self.hold(token).await?;
            }
        }
        Ok(moved)
    }

    /// Layout 2 → 3: each site's sorted set, lowest entries first.
    async fn move_site_indexes(&self, token: &str) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let old = format!("{}by-site:", self.prefix);
        let (mut cursor, mut moved, mut steps) = (0u64, 0u64, 0u64);
        loop {
            let (next, keys) = self.scan_step(cursor, &old, Some("zset")).await?;
            for k in &keys {
                let Some(site) = k.strip_prefix(&old) else { continue };
                let strings = self.key(&["site-index", site, ""]);
                loop {
                    let n: u64 = self
                        .scripts
                        .move_site_index
                        .key(k)
                        .arg(&strings)
                        .invoke_async(&mut conn)
                        .await
                        .map_err(unavailable)?;
                    moved += n;
                    steps += 1;
                    if steps % 16 == 0 {
                        self.hold(token).await?;
                    }
                    if n == 0 {
                        break;
                    }
                }
            }
            cursor = next;
            if cursor == 0 {
                return Ok(moved);
            }
        }
    }

    /// What this Redis's persistence settings put at risk, one sentence
    /// each; empty for the production setting in docs/operating.md. The server's `201`
    /// promises durability that only Redis's settings can keep, so an
    /// operator should hear at start when they do not. An error when Redis
    /// refuses `CONFIG GET` (managed services often rename it).
    pub async fn persistence_warnings(&self) -> Result<Vec<String>, StoreError> {
        let mut settings = std::collections::HashMap::new();
        for name in PERSISTENCE_SETTINGS {
            let pair: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg(name)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            if let [key, value] = &pair[..] {
                settings.insert(key.clone(), value.clone());
            }
        }
        Ok(persistence_warnings(&settings))
    }

    /// Destroys a visitor's sealing key, keeping the rest of its field.
    /// Returns whether there was one.
    async fn erase_sealing_key(&self, site: &SiteId, consent: &ConsentId) -> Result<bool, StoreError> {
        self.ready().await?;
        let n: i64 = self
            .scripts
            .erase
            .key(self.key(&["visitors", site.as_str()]))
            .arg(consent.as_str())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(n == 1)
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                k.push(':');
            }
            k.push_str(p);
        }
        k
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, key: String) -> Result<Option<T>, StoreError> {
        let s: Option<String> = self.conn.clone().get(key).await.map_err(unavailable)?;
        s.map(|s| from_json(&s)).transpose()
    }

    /// Read-modify-write of a site's JSON, retried if another process changed it meanwhile.
    async fn update_site(
        &self,
        id: &SiteId,
        config: Option<&SiteConfig>,
        change: impl Fn(&mut Site),
    ) -> Result<(), StoreError> {
        let key = self.key(&["site", id.as_str()]);
        let (config_key, config_json) = match config {
            Some(c) => (self.key(&["config", id.as_str(), &c.version().0]), to_json(c)),
            None => (String::new(), String::new()),
        };
        for _ in 0..16 {
            let old: Option<String> = self.conn.clone().get(&key).await.map_err(unavailable)?;
            let old = old.ok_or_else(|| StoreError::NotFound(format!("site {id}")))?;
            let mut site: Site = from_json(&old)?;
            change(&mut site);
            let r: i64 = self
                .scripts
                .replace_site
                .key(&key)
                .key(&config_key)
                .arg(&old)
                .arg(to_json(&site))
                .arg(&config_json)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            match r {
                1 => return Ok(()),
                -1 => return Err(StoreError::NotFound(format!("site {id}"))),
                _ => continue,
            }
        }
        Err(unavailable_because("site kept changing; try again"))
    }

    /// The list holding leaves `chunk·LEAF_CHUNK ..`.
    fn leaf_list(&self, chunk: u64) -> String {
        self.key(&["log", "leaves", &chunk.to_string()])
    }

    /// A visitor's decisions newest first, a page of indexes at a time from
    /// the visitor's leaf string (then the older ones a layout-3 field holds).
    async fn visitor_back(
        &self,
        site: &SiteId,
        consent_id: &ConsentId,
        q: &DecisionQuery,
        out: &mut Vec<LoggedDecision>,
    ) -> Result<(), StoreError> {
        self.ready().await?;
        let field: Option<Vec<u8>> = self
            .conn
            .clone()
            .hget(self.key(&["visitors", site.as_str()]), consent_id.as_str())
            .await
            .map_err(unavailable)?;
        let Some(field) = field else { return Ok(()) };
        let (_, older) = parse_visitor(&field)?;
        let string = self.key(&["visitor-leaves", site.as_str(), consent_id.as_str()]);
        let page = q.limit.clamp(1, 1000);
        let mut before = q.before;
        while out.len() < q.limit {
            let packed: Vec<u8> = self
                .scripts
                .visitor_page_desc
                .key(&string)
                .arg(before.map_or(-1, |b| b as i64))
                .arg(page)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            let mut ids = unpack_indexes(&packed, "a visitor page")?;
            ids.reverse();
            ids.retain(|i| q.after.is_none_or(|a| *i > a));
            let Some(&last) = ids.last() else { break };
            self.collect(&ids, q, out).await?;
            ids.clear();
            before = Some(last);
        }
        // The layout-3 tail: older than anything in the string.
        if out.len() < q.limit {
            let ids: Vec<u64> = older
                .into_iter()
                .rev()
                .filter(|i| before.is_none_or(|b| *i < b) && q.after.is_none_or(|a| *i > a))
                .collect();
            self.collect(&ids, q, out).await?;
        }
        Ok(())
    }

    /// Walks a site's index a page at a time, from `q.after` up or (with
    /// `q.newest_first`) from `q.before` down, reading the leaves and
    /// filtering by time, until `q.limit` match.
    async fn walk(&self, site: &SiteId, q: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        let mut out = Vec::new();
        let mut cursor = if q.newest_first { q.before } else { q.after };
        let page = q.limit.clamp(1, 1000);
        while out.len() < q.limit {
            let ids = self.site_page(site, cursor, page, q.newest_first).await?;
            let Some(&last) = ids.last() else { break };
            self.collect(&ids, q, &mut out).await?;
            if q.newest_first && last == 0 {
                break;
            }
            cursor = Some(last);
        }
        Ok(out)
    }

    /// Up to `page` of a site's leaf indexes past `cursor` (above it, or
    /// below it when `newest_first`), in walking order. A server of layout 2
    /// still running after the move adds to the site's old sorted set:
    /// those indexes are merged in from there.
    async fn site_page(
        &self,
        site: &SiteId,
        cursor: Option<u64>,
        page: usize,
        newest_first: bool,
    ) -> Result<Vec<u64>, StoreError> {
        let strings = self.key(&["site-index", site.as_str(), ""]);
        let strays = self.key(&["by-site", site.as_str()]);
        let mut conn = self.conn.clone();
        let (packed, old): (Vec<u8>, Vec<u64>) = if newest_first {
            let packed = self
                .scripts
                .site_page_desc
                .key(self.key(&["log", "size"]))
                .arg(&strings)
                .arg(cursor.map_or(-1, |b| b as i64))
                .arg(page)
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let max = cursor.map_or("+inf".to_owned(), |b| format!("({b}"));
            let old = conn
                .zrevrangebyscore_limit(&strays, max, "-inf", 0, page as isize)
                .await
                .map_err(unavailable)?;
            (packed, old)
        } else {
            let packed = self
                .scripts
                .site_page
                .key(self.key(&["log", "size"]))
                .arg(&strings)
                .arg(cursor.map_or(0, |a| (a + 1) / SITE_CHUNK))
                .arg(cursor.map_or(-1, |a| a as i64))
                .arg(page)
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let min = cursor.map_or("-inf".to_owned(), |a| format!("({a}"));
            let old = conn
                .zrangebyscore_limit(&strays, min, "+inf", 0, page as isize)
                .await
                .map_err(unavailable)?;
            (packed, old)
        };
        let mut ids = unpack_indexes(&packed, "a site index page")?;
        if !old.is_empty() || newest_first {
            ids.extend(old);
            ids.sort_unstable();
            ids.dedup();
            if newest_first {
                ids.reverse();
            }
            ids.truncate(page);
        }
        Ok(ids)
    }

    /// Reads the leaves at `ids` and adds those `q` matches to `out`, up to `q.limit`.
    async fn collect(&self, ids: &[u64], q: &DecisionQuery, out: &mut Vec<LoggedDecision>) -> Result<(), StoreError> {
        for chunk in ids.chunks(1000) {
            if out.len() >= q.limit {
                break;
            }
            let leaves = self.leaves_at(chunk).await?;
            self.leaves_read
                .fetch_add(leaves.len() as u64, std::sync::atomic::Ordering::Relaxed);
            for (index, leaf) in chunk.iter().zip(leaves) {
                let record = DecisionRecord::from_canonical_bytes(&leaf).map_err(corrupt)?;
                let d = LoggedDecision { index: *index, record };
                if q.matches(&d) && out.len() < q.limit {
                    out.push(d);
                }
            }
        }
        Ok(())
    }

    /// The leaves at `ids`, in one pipeline: one `LRANGE` per run
    /// of consecutive indexes within a list, so a site that has the log to
    /// itself reads a page with a command or two rather than one per leaf.
    async fn leaves_at(&self, ids: &[u64]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut pipe = redis::pipe();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for &i in ids {
            match runs.last_mut() {
                Some((first, n)) if *first + *n == i && i % LEAF_CHUNK != 0 => *n += 1,
                _ => runs.push((i, 1)),
            }
        }
        for &(first, n) in &runs {
            pipe.cmd("LRANGE")
                .arg(self.leaf_list(first / LEAF_CHUNK))
                .arg(first % LEAF_CHUNK)
                .arg(first % LEAF_CHUNK + n - 1);
        }
        let found: Vec<Vec<Vec<u8>>> = pipe.query_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        let mut slots = Vec::with_capacity(ids.len());
        for ((first, n), list) in runs.into_iter().zip(found) {
            let mut list = list.into_iter();
            slots.extend((first..first + n).map(|i| (i, list.next())));
        }
        self.fill_strays(slots).await
    }

    /// Leaves a server of layout 2 wrote after the move are in the old hash
    /// until the next append moves them: read from there what the lists lack.
    async fn fill_strays(&self, slots: Vec<(u64, Option<Vec<u8>>)>) -> Result<Vec<Vec<u8>>, StoreError> {
        let missing: Vec<u64> = slots.iter().filter(|(_, l)| l.is_none()).map(|(i, _)| *i).collect();
        let mut strays = Vec::new();
        if !missing.is_empty() {
            let found: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
                .arg(self.key(&["log", "leaves"]))
                .arg(&missing)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            strays = found;
        }
        let mut strays = strays.into_iter();
        slots
            .into_iter()
            .map(|(i, leaf)| {
                leaf.or_else(|| strays.next().flatten())
                    .ok_or_else(|| corrupt_because(format!("leaf {i} missing")))
            })
            .collect()
    }

    /// A visitor's field in its site's `visitors` hash.
    async fn visitor_field(
        &self,
        site: &SiteId,
        consent_id: &ConsentId,
    ) -> Result<Option<(Visitor, Vec<u64>)>, StoreError> {
        self.ready().await?;
        let (field, later): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::pipe()
            .hget(self.key(&["visitors", site.as_str()]), consent_id.as_str())
            .get(self.key(&["visitor-leaves", site.as_str(), consent_id.as_str()]))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let Some(field) = field else { return Ok(None) };
        let (visitor, mut indexes) = parse_visitor(&field)?;
        indexes.extend(unpack_indexes(&later.unwrap_or_default(), "a visitor's leaf string")?);
        Ok(Some((visitor, indexes)))
    }
}

impl SiteStore for RedisStore {
    async fn create_site(&self, site: &Site, config: &SiteConfig) -> Result<(), StoreError> {
        let r: i64 = self
            .scripts
            .create_site
            .key(self.key(&["site", site.id.as_str()]))
            .key(self.key(&["sites"]))
            .key(self.key(&["config", site.id.as_str(), &config.version().0]))
            .arg(site.id.as_str())
            .arg(to_json(site))
            .arg(to_json(config))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if r == 0 {
            return Err(StoreError::Conflict(format!("site {}", site.id)));
        }
        Ok(())
    }

    async fn site(&self, id: &SiteId) -> Result<Option<Site>, StoreError> {
        self.get_json(self.key(&["site", id.as_str()])).await
    }

    async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        let mut ids: Vec<String> = self
            .conn
            .clone()
            .smembers(self.key(&["sites"]))
            .await
            .map_err(unavailable)?;
        ids.sort();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let id = SiteId::parse(&id).map_err(corrupt)?;
            if let Some(s) = self.site(&id).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    async fn set_origins(&self, id: &SiteId, origins: &[String]) -> Result<(), StoreError> {
        self.update_site(id, None, |s| s.allowed_origins = origins.to_vec())
            .await
    }

    async fn save_config(&self, id: &SiteId, config: &SiteConfig) -> Result<ConfigVersion, StoreError> {
        let version = config.version();
        self.update_site(id, Some(config), |s| s.current_version = version.clone())
            .await?;
        Ok(version)
    }

    async fn config(&self, id: &SiteId, version: &ConfigVersion) -> Result<Option<SiteConfig>, StoreError> {
        self.get_json(self.key(&["config", id.as_str(), &version.0])).await
    }
}

impl DecisionStore for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn visitor(&self, site: &SiteId, consent_id: &ConsentId) -> Result<Option<Visitor>, StoreError> {
        // The field alone (its head, and at most a layout-3 tail): the
        // visitor's own leaf string is not read on the decision path.
        self.ready().await?;
        let field: Option<Vec<u8>> = self
            .conn
            .clone()
            .hget(self.key(&["visitors", site.as_str()]), consent_id.as_str())
            .await
            .map_err(unavailable)?;
        Ok(field.map(|f| parse_visitor(&f)).transpose()?.map(|(v, _)| v))
    }

    async fn append(&self, a: Append) -> Result<u64, StoreError> {
        let queue = self.appender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(MAX_APPEND_BATCH * APPENDS_IN_FLIGHT * 4);
            tokio::spawn(run_appender(self.without_appender(), rx));
            tx
        });
        let (tx, rx) = oneshot::channel();
        queue
            .send((a, tx))
            .await
            .map_err(|_| unavailable_because("the appender stopped"))?;
        rx.await.map_err(|_| unavailable_because("the appender stopped"))?
    }

    async fn leaf_count(&self) -> Result<u64, StoreError> {
        let n: Option<u64> = self
            .conn
            .clone()
            .get(self.key(&["log", "size"]))
            .await
            .map_err(unavailable)?;
        Ok(n.unwrap_or(0))
    }

    async fn leaves(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
        self.ready().await?;
        let end = range.end.min(self.leaf_count().await?);
        if range.start >= end {
            return Ok(Vec::new());
        }
        let ids: Vec<u64> = (range.start..end).collect();
        self.leaves_at(&ids).await
    }

    async fn decisions(&self, site: &SiteId, q: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        match &q.consent_id {
            Some(c) => {
                let mut out = Vec::new();
                if q.newest_first {
                    self.visitor_back(site, c, q, &mut out).await?;
                } else if let Some((_, ids)) = self.visitor_field(site, c).await? {
                    let ids: Vec<u64> = ids
                        .into_iter()
                        .filter(|i| q.after.is_none_or(|a| *i > a) && q.before.is_none_or(|b| *i < b))
                        .collect();
                    self.collect(&ids, q, &mut out).await?;
                }
                Ok(out)
            }
            None => {
                self.ready().await?;
                self.walk(site, q).await
            }
        }
    }

    /// Destroys the sealing key in the visitor's field, then asks Redis to
    /// rewrite its append-only file so the key's bytes do not stay on disk
    /// (best effort: a rewrite already running will not include the key
    /// either; Redis without AOF has nothing to rewrite).
    async fn analytics(&self, site: &SiteId, period: Period) -> Result<Vec<DayTally>, StoreError> {
        let mut pipe = redis::pipe();
        for day in period.iter() {
            pipe.hgetall(self.key(&["tallies", site.as_str(), &day.0.to_string()]));
        }
        let hashes: Vec<std::collections::HashMap<String, u64>> =
            pipe.query_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        let mut out = Vec::new();
        for (day, hash) in period.iter().zip(hashes) {
            out.extend(tally::parse(day, hash)?);
        }
        Ok(out)
    }

    async fn erase(&self, site: &SiteId, consent_id: &ConsentId) -> Result<bool, StoreError> {
        let erased = self.erase_sealing_key(site, consent_id).await?;
        let _: Result<String, _> = redis::cmd("BGREWRITEAOF").query_async(&mut self.conn.clone()).await;
        Ok(erased)
    }
}

impl AccountStore for RedisStore {
    async fn create_api_key(&self, key: &ApiKey, sha256: [u8; 32]) -> Result<(), StoreError> {
        let k = self.key(&["api-key", &hex::encode(sha256)]);
        let (created,): (bool,) = redis::pipe()
            .atomic()
            .set_nx(&k, to_json(key))
            .sadd(self.key(&["api-keys", key.site.as_str()]), hex::encode(sha256))
            .ignore()
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if !created {
            return Err(StoreError::Conflict(format!("api key {}", key.id)));
        }
        Ok(())
    }

    async fn api_key(&self, sha256: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        self.get_json(self.key(&["api-key", &hex::encode(sha256)])).await
    }

    async fn api_keys(&self, site: &SiteId) -> Result<Vec<ApiKey>, StoreError> {
        let hashes: Vec<String> = self
            .conn
            .clone()
            .smembers(self.key(&["api-keys", site.as_str()]))
            .await
            .map_err(unavailable)?;
        let mut keys = Vec::with_capacity(hashes.len());
        for h in hashes {
            if let Some(k) = self.get_json::<ApiKey>(self.key(&["api-key", &h])).await? {
                keys.push(k);
            }
        }
        keys.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(keys)
    }

    async fn revoke_api_key(&self, site: &SiteId, id: &str) -> Result<bool, StoreError> {
        let index = self.key(&["api-keys", site.as_str()]);
        let hashes: Vec<String> = self.conn.clone().smembers(&index).await.map_err(unavailable)?;
        for h in hashes {
            let k = self.key(&["api-key", &h]);
            match self.get_json::<ApiKey>(k.clone()).await? {
                Some(key) if key.id == id && key.site == *site => {
                    let (deleted,): (i64,) = redis::pipe()
                        .atomic()
                        .del(&k)
                        .srem(&index, &h)
                        .ignore()
                        .query_async(&mut self.conn.clone())
                        .await
                        .map_err(unavailable)?;
                    return Ok(deleted > 0);
                }
                _ => {}
            }
        }
        Ok(false)
    }

    async fn touch_api_key(&self, sha256: &[u8; 32], now_ms: u64) -> Result<(), StoreError> {
        let k = self.key(&["api-key", &hex::encode(sha256)]);
        let Some(mut key) = self.get_json::<ApiKey>(k.clone()).await? else {
            return Ok(());
        };
        key.last_used_ms = Some(now_ms);
        // XX: only while the key exists, so a revocation in between stands.
        let _: Option<String> = redis::cmd("SET")
            .arg(&k)
            .arg(to_json(&key))
            .arg("XX")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        self.create_account_key(account).await
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        self.account_key_get(username).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.account_keys().await
    }

    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.put_account_key(account).await
    }

    async fn delete_account(&self, username: &str) -> Result<bool, StoreError> {
        self.delete_account_key(username).await
    }

    async fn create_session(&self, sha256: [u8; 32], session: &Session) -> Result<(), StoreError> {
        // Redis expires the key itself; `session` still checks the time.
        let ttl_ms = crate::service::credentials::SESSION_TTL_MS;
        let _: () = self
            .conn
            .clone()
            .pset_ex(self.key(&["session", &hex::encode(sha256)]), to_json(session), ttl_ms)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn session(&self, sha256: &[u8; 32], now_ms: u64) -> Result<Option<Session>, StoreError> {
        let s: Option<Session> = self.get_json(self.key(&["session", &hex::encode(sha256)])).await?;
        Ok(s.filter(|s| s.expires_ms > now_ms))
    }

    async fn delete_session(&self, sha256: &[u8; 32]) -> Result<(), StoreError> {
        let _: () = self
            .conn
            .clone()
            .del(self.key(&["session", &hex::encode(sha256)]))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl ScanStore for RedisStore {
    async fn save_scan(&self, meta: &ScanMeta, report: &[u8]) -> Result<(), StoreError> {
        let saved: i64 = self
            .scripts
            .save_scan
            .key(self.key(&["scan", meta.site.as_str(), &meta.id]))
            .key(self.key(&["scans", meta.site.as_str()]))
            .arg(&meta.id)
            .arg(to_json(meta))
            .arg(report)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if saved == 0 {
            return Err(StoreError::Conflict(format!("scan {}", meta.id)));
        }
        Ok(())
    }

    async fn scans(&self, site: &SiteId, q: &ScanQuery) -> Result<Vec<ScanMeta>, StoreError> {
        let max = q.before.as_ref().map_or("+".to_owned(), |b| format!("({b}"));
        let ids: Vec<String> = self
            .conn
            .clone()
            .zrevrangebylex_limit(self.key(&["scans", site.as_str()]), max, "-", 0, q.limit as isize)
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hget(self.key(&["scan", site.as_str(), id]), "meta");
        }
        let metas: Vec<Option<String>> = pipe.query_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        metas
            .into_iter()
            .zip(&ids)
            .map(|(m, id)| from_json(&m.ok_or_else(|| corrupt_because(format!("scan {id} missing")))?))
            .collect()
    }

    async fn scan(&self, site: &SiteId, id: &str) -> Result<Option<StoredScan>, StoreError> {
        let (meta, report): (Option<String>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(self.key(&["scan", site.as_str(), id]))
            .arg("meta")
            .arg("report")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        match (meta, report) {
            (Some(meta), Some(report)) => Ok(Some(StoredScan {
                meta: from_json(&meta)?,
                report,
            })),
            _ => Ok(None),
        }
    }

    async fn set_triage(&self, site: &SiteId, triage: &Triage) -> Result<(), StoreError> {
        self.set_triage_field(site, triage).await
    }

    async fn clear_triage(&self, site: &SiteId, fingerprint: &str) -> Result<bool, StoreError> {
        self.clear_triage_field(site, fingerprint).await
    }

    async fn triage(&self, site: &SiteId) -> Result<Vec<Triage>, StoreError> {
        self.triage_fields(site).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scripts spell the chunk sizes out; they must be the ones the
    /// reads use, or leaves and index entries would be looked for elsewhere.
    #[test]
    fn scripts_use_the_chunk_sizes() {
        for script in [APPEND, attestations::ATTEST] {
            assert!(script.contains(&format!("local LEAF_CHUNK = {LEAF_CHUNK}\n")));
        }
        assert!(APPEND.contains(&format!("local SITE_CHUNK = {SITE_CHUNK}\n")));
        for script in [APPEND, attestations::ATTEST, MOVE_LEAVES] {
            assert!(script.contains(&format!("\"{LACKS_LEAF} the log lacks leaf \"")));
        }
        for script in [SITE_PAGE, MOVE_SITE_INDEX] {
            assert!(script.contains(&format!("local SITE_CHUNK = {SITE_CHUNK}\n")));
        }
    }
}
