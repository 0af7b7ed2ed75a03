//! Redis storage, for several server processes sharing one Redis.
//!
//! One multiplexed connection (a `ConnectionManager`, which reconnects by
//! itself) carries every command, so concurrent requests are pipelined on
//! the wire for free. Appends are batched into one Lua script: Redis runs scripts
//! atomically, so the index counter, the leaf, the per-site indexes and a new
//! visitor's secret and key are written together or not at all, and indexes
//! stay gap-free however many processes append at once. Durability is the
//! server's AOF setting (`appendfsync always` makes the reply wait for fsync).

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use consent_core::store::{
    Admin, ApiKey, Append, DecisionQuery, LoggedDecision, ScanMeta, ScanQuery, Session, Site, Store, StoreError,
    StoredScan, Visitor,
};
use consent_core::{ConfigVersion, ConsentId, DecisionRecord, SiteConfig, SiteId};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// A batch of appends: Redis runs the script atomically, so indexes stay
/// gap-free however many processes append at once, and each decision's rows
/// are written together. One script call per batch rather than per decision
/// spends Redis's per-call work (parsing, script set-up, the AOF's
/// MULTI/EXEC wrapper) once for many decisions.
const APPEND: &str = r#"
-- KEYS: 1 size counter, 2 leaves hash, then 4 per decision:
--   site index, consent index, visitor, sealing key
-- ARGV: 4 per decision: leaf, "1" for a new visitor, secret hash, sealing key
-- Returns each decision's index, or -1 where a new visitor's id exists already.
local n = #ARGV / 4
local accepted, m = {}, 0
for i = 0, n - 1 do
  local k, a = 2 + i * 4, i * 4
  local new = ARGV[a + 2] == "1"
  if new and not redis.call("SET", KEYS[k + 3], ARGV[a + 3], "NX") then
    accepted[i + 1] = false
  else
    if new then redis.call("SET", KEYS[k + 4], ARGV[a + 4]) end
    accepted[i + 1] = true
    m = m + 1
  end
end
local out = {}
if m == 0 then
  for i = 1, n do out[i] = -1 end
  return out
end
local idx = redis.call("INCRBY", KEYS[1], m) - m
local fields = {}
for i = 0, n - 1 do
  if accepted[i + 1] then
    local k = 2 + i * 4
    fields[#fields + 1] = idx
    fields[#fields + 1] = ARGV[i * 4 + 1]
    redis.call("ZADD", KEYS[k + 1], idx, idx)
    redis.call("ZADD", KEYS[k + 2], idx, idx)
    out[i + 1] = idx
    idx = idx + 1
  else
    out[i + 1] = -1
  end
end
redis.call("HSET", KEYS[2], unpack(fields))
return out
"#;

/// The most decisions in one append script (its KEYS and ARGV stay far
/// below Lua's stack limit).
const MAX_APPEND_BATCH: usize = 256;
/// Append scripts in flight at once: while one waits for Redis's fsync the
/// next batch is already forming and on the wire.
const APPENDS_IN_FLIGHT: usize = 4;

type AppendJob = (Append, oneshot::Sender<Result<u64, StoreError>>);

const CREATE_SITE: &str = r#"
-- KEYS: 1 site, 2 site set, 3 config; ARGV: 1 site id, 2 site json, 3 config json
if redis.call("SET", KEYS[1], ARGV[2], "NX") == false then return 0 end
redis.call("SADD", KEYS[2], ARGV[1])
redis.call("SET", KEYS[3], ARGV[3])
return 1
"#;

/// Replaces a field of the site's JSON under a check that the site exists;
/// the caller computes the new JSON (read-modify-write guarded by WATCH-free
/// comparison of the old value, so concurrent edits retry).
const REPLACE_SITE: &str = r#"
-- KEYS: 1 site, 2 config (or "" ); ARGV: 1 expected old json, 2 new json, 3 config json
local old = redis.call("GET", KEYS[1])
if old == false then return -1 end
if old ~= ARGV[1] then return 0 end
if ARGV[3] ~= "" then redis.call("SET", KEYS[2], ARGV[3], "NX") end
redis.call("SET", KEYS[1], ARGV[2])
return 1
"#;

const SAVE_SCAN: &str = r#"
-- KEYS: 1 scan hash, 2 site's scan index (all scores 0: ordered by id)
-- ARGV: 1 id, 2 meta json, 3 report
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "meta", ARGV[2], "report", ARGV[3])
redis.call("ZADD", KEYS[2], 0, ARGV[1])
return 1
"#;

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    append: Script,
    /// The appender task's queue, started by the first append (which runs
    /// inside the runtime; `open` may not). It ends when every clone of the
    /// store is gone.
    appender: Arc<OnceLock<mpsc::Sender<AppendJob>>>,
    create_site: Script,
    replace_site: Script,
    save_scan: Script,
}

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

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("storage types serialise")
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(corrupt)
}

impl RedisStore {
    /// Prepares a connection to `url`; connects lazily, so the server can
    /// start while Redis is still coming up (it answers 503 until then).
    /// `prefix` namespaces every key (`kmk:` in production).
    pub fn open(url: &str, prefix: &str) -> Result<Self, StoreError> {
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
            append: Script::new(APPEND),
            appender: Arc::default(),
            create_site: Script::new(CREATE_SITE),
            replace_site: Script::new(REPLACE_SITE),
            save_scan: Script::new(SAVE_SCAN),
        })
    }

    /// A clone for the appender task: without the queue, so the task does
    /// not keep itself alive.
    fn without_appender(&self) -> Self {
        Self {
            appender: Arc::default(),
            ..self.clone()
        }
    }

    /// Runs one append script for `batch` and answers each decision.
    async fn append_batch(&self, batch: Vec<AppendJob>) {
        let mut inv = self.append.prepare_invoke();
        inv.key(self.key(&["log", "size"])).key(self.key(&["log", "leaves"]));
        for (a, _) in &batch {
            let (site, cid) = (a.site.as_str(), a.consent_id.as_str());
            inv.key(self.key(&["by-site", site]))
                .key(self.key(&["by-consent", site, cid]))
                .key(self.key(&["visitor", site, cid]))
                .key(self.key(&["sealing-key", site, cid]))
                .arg(&a.leaf);
            match &a.new_visitor {
                Some(v) => inv.arg("1").arg(&v.secret_sha256[..]).arg(&v.sealing_key[..]),
                None => inv.arg("0").arg("").arg(""),
            };
        }
        let result: Result<Vec<i64>, _> = inv.invoke_async(&mut self.conn.clone()).await;
        match result {
            Ok(indexes) if indexes.len() == batch.len() => {
                for (idx, (a, reply)) in indexes.into_iter().zip(batch) {
                    let _ = reply.send(if idx < 0 {
                        Err(StoreError::Conflict(format!("visitor {}", a.consent_id)))
                    } else {
                        Ok(idx as u64)
                    });
                }
            }
            Ok(indexes) => {
                let e = corrupt(format!("{} indexes for {} appends", indexes.len(), batch.len()));
                for (_, reply) in batch {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                let e = unavailable(e);
                for (_, reply) in batch {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
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
        Err(StoreError::Unavailable("site kept changing; try again".into()))
    }

    /// Walks an index sorted set (score = leaf index) from `q.after`, reading
    /// leaves in chunks and filtering by time, until `q.limit` match.
    async fn walk(&self, index_key: String, q: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        let mut out = Vec::new();
        let mut after = q.after;
        let leaves_key = self.key(&["log", "leaves"]);
        let chunk = q.limit.clamp(1, 1000);
        while out.len() < q.limit {
            let min = after.map_or("-inf".to_owned(), |a| format!("({a}"));
            let ids: Vec<u64> = self
                .conn
                .clone()
                .zrangebyscore_limit(&index_key, min, "+inf", 0, chunk as isize)
                .await
                .map_err(unavailable)?;
            let Some(&last) = ids.last() else { break };
            let leaves: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
                .arg(&leaves_key)
                .arg(&ids)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            for (index, leaf) in ids.iter().zip(leaves) {
                let leaf = leaf.ok_or_else(|| corrupt(format!("leaf {index} missing")))?;
                let record = DecisionRecord::from_canonical_bytes(&leaf).map_err(corrupt)?;
                let d = LoggedDecision { index: *index, record };
                if q.matches(&d) && out.len() < q.limit {
                    out.push(d);
                }
            }
            after = Some(last);
        }
        Ok(out)
    }
}

impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn create_site(&self, site: &Site, config: &SiteConfig) -> Result<(), StoreError> {
        let r: i64 = self
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

    async fn visitor(&self, site: &SiteId, consent_id: &ConsentId) -> Result<Option<Visitor>, StoreError> {
        let (secret, key): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::pipe()
            .get(self.key(&["visitor", site.as_str(), consent_id.as_str()]))
            .get(self.key(&["sealing-key", site.as_str(), consent_id.as_str()]))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let Some(secret) = secret else { return Ok(None) };
        Ok(Some(Visitor {
            secret_sha256: secret.try_into().map_err(|_| corrupt("secret hash length"))?,
            sealing_key: key
                .map(|k| k.try_into().map_err(|_| corrupt("sealing key length")))
                .transpose()?,
        }))
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
            .map_err(|_| StoreError::Unavailable("the appender stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the appender stopped".into()))?
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
        let end = range.end.min(self.leaf_count().await?);
        if range.start >= end {
            return Ok(Vec::new());
        }
        let ids: Vec<u64> = (range.start..end).collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let leaves: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
                .arg(self.key(&["log", "leaves"]))
                .arg(chunk)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            for (i, l) in chunk.iter().zip(leaves) {
                out.push(l.ok_or_else(|| corrupt(format!("leaf {i} missing")))?);
            }
        }
        Ok(out)
    }

    async fn decisions(&self, site: &SiteId, q: &DecisionQuery) -> Result<Vec<LoggedDecision>, StoreError> {
        let index = match &q.consent_id {
            Some(c) => self.key(&["by-consent", site.as_str(), c.as_str()]),
            None => self.key(&["by-site", site.as_str()]),
        };
        self.walk(index, q).await
    }

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

    async fn create_admin(&self, admin: &Admin) -> Result<(), StoreError> {
        let created: bool = self
            .conn
            .clone()
            .set_nx(self.key(&["admin", &admin.username]), to_json(admin))
            .await
            .map_err(unavailable)?;
        if !created {
            return Err(StoreError::Conflict(format!("admin {}", admin.username)));
        }
        Ok(())
    }

    async fn admin(&self, username: &str) -> Result<Option<Admin>, StoreError> {
        self.get_json(self.key(&["admin", username])).await
    }

    async fn create_session(&self, sha256: [u8; 32], session: &Session) -> Result<(), StoreError> {
        // Redis expires the key itself; `session` still checks the time.
        let ttl_ms = crate::auth::SESSION_TTL_MS;
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

    async fn save_scan(&self, meta: &ScanMeta, report: &[u8]) -> Result<(), StoreError> {
        let saved: i64 = self
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
            .map(|(m, id)| from_json(&m.ok_or_else(|| corrupt(format!("scan {id} missing")))?))
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
}
