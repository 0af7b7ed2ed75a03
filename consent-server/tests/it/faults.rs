//! Faults below the server, with the real binary: the disk fills up, Redis
//! dies and comes back under load, the server is killed in the middle of
//! erasures. Each time the server answers 503 (never 500) while the fault
//! lasts, recovers by itself, loses no acknowledged decision and leaves a
//! consistent store.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::{RedisServer, ServerProcess};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::post_demo_decision_at;
use crate::processes::{assert_all_present, assert_gap_free, demo_decision, stored};
use crate::proof_log::{all_bytes, contains};

const BIN: &str = env!("CARGO_BIN_EXE_consent-server");

/// A small tmpfs mounted on a directory of its own, unmounted on drop: a
/// disk that really fills up (ENOSPC), and can be given room again.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` when this process may not mount (not root): the caller says so
    /// and skips. CI runs as root, so there the test always runs.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount {size}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// What a load saw: the decisions acknowledged with 201, and how many
/// answers were 503 (anything else fails the load).
#[derive(Default)]
struct Seen {
    acked: Mutex<Vec<(String, u64)>>,
    unavailable: AtomicUsize,
}

/// Posts decisions from `workers` connections until `stop` is set; a 503 is
/// waited out (its Retry-After is honoured, shortened), any status other
/// than 201 and 503 fails the test.
fn load(
    base: String,
    body: Value,
    workers: usize,
    seen: Arc<Seen>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (base, body, seen, stop) = (base.clone(), body.clone(), seen.clone(), stop.clone());
        set.spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                let res = match post_demo_decision_at(&client, &base, &body).await {
                    Ok(res) => res,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                match res.status().as_u16() {
                    201 => {
                        let v: Value = res.json().await.unwrap();
                        let id = v["consent_id"].as_str().unwrap().to_owned();
                        seen.acked.lock().unwrap().push((id, v["index"].as_u64().unwrap()));
                    }
                    503 => {
                        assert!(res.headers().contains_key("retry-after"), "a 503 says when to retry");
                        seen.unavailable.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    other => panic!("unexpected {other}: {}", res.text().await.unwrap_or_default()),
                }
            }
        });
    }
    set
}

/// Waits until `cond` holds, for at most `secs`.
async fn until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

fn integrity_check(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let answer: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(answer, "ok", "{}", db.display());
}

/// The data directory fills up under load: recording answers 503 while it
/// is full (never 500, the process stays up), goes on by itself once there
/// is room again, and after a restart every acknowledged decision is there,
/// gap-free, in a database that passes SQLite's integrity check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_loses_nothing() {
    let Some(disk) = SmallDisk::mount("6m") else {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    let dir = disk.path().to_str().unwrap().to_owned();
    let mut server = ServerProcess::start_unlimited(Path::new(BIN), &["--data-dir", &dir]).unwrap();
    let password = server.admin_password();
    let client = reqwest::Client::new();
    let body = demo_decision(&client, &server.base_url()).await;
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut set = load(server.base_url(), body.clone(), 8, seen.clone(), stop.clone());

    // Full: a run of refusals.
    let full = until(240, || seen.unavailable.load(Ordering::Relaxed) >= 50).await;
    assert!(
        full,
        "the disk filled up ({} acknowledged)",
        seen.acked.lock().unwrap().len()
    );
    let (status, _) = e2e::http_get(server.port(), "/healthz").unwrap();
    assert_eq!(status, 200, "the process is alive while the disk is full");

    // Room again: recording resumes without a restart.
    let before = seen.acked.lock().unwrap().len();
    disk.resize("256m");
    let resumed = until(60, || seen.acked.lock().unwrap().len() >= before + 200).await;
    assert!(resumed, "recording resumed once there was room");
    stop.store(true, Ordering::Relaxed);
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }

    let acked = seen.acked.lock().unwrap().clone();
    server.kill9();
    integrity_check(&disk.path().join("keurmerk.sqlite3"));
    server.restart().unwrap();
    let stored = stored(&server.base_url(), &password).await;
    assert_all_present(&acked, &stored);
    assert_gap_free(&stored);
    eprintln!(
        "disk full: {} acknowledged, {} answered 503, {} stored",
        acked.len(),
        seen.unavailable.load(Ordering::Relaxed),
        stored.len()
    );
}

/// Redis (append-only file, fsync always) is killed under load and started
/// again: decisions are refused with 503 meanwhile and accepted again
/// afterwards by the same server process, and none acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load_loses_nothing() {
    let mut redis = RedisServer::start().unwrap();
    let mut server = ServerProcess::start_fresh(Path::new(BIN), &["--redis", &redis.url()]).unwrap();
    let password = server.admin_password();
    let client = reqwest::Client::new();
    let body = demo_decision(&client, &server.base_url()).await;
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut set = load(server.base_url(), body, 8, seen.clone(), stop.clone());

    assert!(
        until(60, || seen.acked.lock().unwrap().len() >= 300).await,
        "the load ran"
    );
    redis.kill();
    assert!(
        until(30, || seen.unavailable.load(Ordering::Relaxed) >= 20).await,
        "refused while Redis is down"
    );
    let before = seen.acked.lock().unwrap().len();
    redis.restart().unwrap();
    assert!(
        until(60, || seen.acked.lock().unwrap().len() >= before + 300).await,
        "recording resumed with Redis back"
    );
    stop.store(true, Ordering::Relaxed);
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }

    let acked = seen.acked.lock().unwrap().clone();
    // Both go down hard, then come back: the append-only file holds it all.
    server.kill9();
    redis.restart().unwrap();
    server.restart().unwrap();
    let stored = stored(&server.base_url(), &password).await;
    assert_all_present(&acked, &stored);
    assert_gap_free(&stored);
    eprintln!(
        "redis restart: {} acknowledged, {} answered 503, {} stored",
        acked.len(),
        seen.unavailable.load(Ordering::Relaxed),
        stored.len()
    );
}

/// A visitor of the demo site: consent id, secret, and the sealing key the
/// database holds for it (read from the file, found by the secret's hash).
struct Visitor {
    id: String,
    secret: String,
    key: Vec<u8>,
}

/// `kill -9` while visitors are being erased: after the restart every
/// erasure that was acknowledged (204) holds — the visitor reads as erased
/// and its sealing key is in no file of the data directory — every other
/// visitor is either wholly erased or wholly intact (its decision opens),
/// every acknowledged decision is there and the database is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_erasure_leaves_every_erasure_whole() {
    let mut server = ServerProcess::start_fresh(Path::new(BIN), &["--erase-rate", "0"]).unwrap();
    let password = server.admin_password();
    let dir = server.data_dir().unwrap().to_owned();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let body = demo_decision(&client, &base).await;

    let mut visitors = Vec::new();
    let mut acked = Vec::new();
    for n in 0..400 {
        let mut b = body.clone();
        b["page_path"] = Value::from(format!("/pad-{n}"));
        let res = post_demo_decision_at(&client, &base, &b).await.unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        acked.push((
            v["consent_id"].as_str().unwrap().to_owned(),
            v["index"].as_u64().unwrap(),
        ));
        visitors.push((
            v["consent_id"].as_str().unwrap().to_owned(),
            v["secret"].as_str().unwrap().to_owned(),
        ));
    }
    let db =
        rusqlite::Connection::open_with_flags(dir.join("keurmerk.sqlite3"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let visitors: Vec<Visitor> = visitors
        .into_iter()
        .map(|(id, secret)| {
            let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
            let key: Vec<u8> = db
                .query_row(
                    "SELECT sealing_key FROM visitors WHERE secret_sha256 = ?1",
                    [&hash[..]],
                    |r| r.get(0),
                )
                .unwrap();
            Visitor { id, secret, key }
        })
        .collect();
    drop(db);

    // Erase from 16 connections; kill once 100 erasures are acknowledged.
    let erased: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let visitors = Arc::new(visitors);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (erased, next, visitors, base) = (erased.clone(), next.clone(), visitors.clone(), base.clone());
        set.spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(v) = visitors.get(i) else { return };
                let res = client
                    .delete(format!("{base}/api/v1/sites/demo/visitors/{}", v.id))
                    .header("x-keurmerk-secret", &v.secret)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 204 => {
                        erased.lock().unwrap().insert(i);
                    }
                    Ok(r) => panic!("erasure answered {}", r.status()),
                    Err(_) => return,
                }
            }
        });
    }
    assert!(until(120, || erased.lock().unwrap().len() >= 100).await, "erasures ran");
    server.kill9();
    while set.join_next().await.is_some() {}
    let erased = erased.lock().unwrap().clone();
    assert!(erased.len() < visitors.len(), "the kill came before the end");

    integrity_check(&dir.join("keurmerk.sqlite3"));
    let bytes = all_bytes(&dir);
    for i in &erased {
        assert!(
            !contains(&bytes, &visitors[*i].key),
            "visitor {i}'s erasure was acknowledged but its key is on disk"
        );
    }
    server.restart().unwrap();
    let mut whole = 0;
    for (i, v) in visitors.iter().enumerate() {
        let res = client
            .get(format!("{base}/api/v1/sites/demo/visitors/{}", v.id))
            .header("x-keurmerk-secret", &v.secret)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let seen: Value = res.json().await.unwrap();
        let decision = &seen["decisions"][0];
        if seen["erased"] == true {
            assert!(
                decision["personal"].is_null(),
                "visitor {i}: erased, nothing personal left"
            );
        } else {
            assert!(!erased.contains(&i), "visitor {i}: acknowledged erasure undone");
            assert_eq!(
                decision["personal"]["page_path"],
                format!("/pad-{i}"),
                "visitor {i} intact"
            );
            whole += 1;
        }
    }
    assert!(whole > 0, "some visitors were never erased");
    let stored = stored(&base, &password).await;
    assert_all_present(&acked, &stored);
    assert_gap_free(&stored);
}

/// `kill -9` in the middle of a schema migration (version 1 to the current
/// one, 200,000 decisions): the database is left at its old version, sound,
/// and the next start migrates it whole — every decision there, every
/// visitor's chain linked right, sealing keys where they were — and the
/// proof log takes every decision in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_migration_leaves_the_old_version_whole() {
    use consent_core::{ConsentId, SiteId};
    const LEAVES: i64 = 200_000;
    const VISITORS: i64 = 50_000;
    let data = tempfile::tempdir().unwrap();
    let db_path = data.path().join("keurmerk.sqlite3");
    let site = SiteId::parse("a").unwrap();
    let ids: Vec<ConsentId> = (0..VISITORS)
        .map(|v| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&(v as u64 + 1).to_be_bytes());
            ConsentId::from_random(b)
        })
        .collect();
    {
        let mut conn = rusqlite::Connection::open(&db_path).unwrap();
        conn.execute_batch(crate::storage::SCHEMA_V1).unwrap();
        conn.execute_batch(crate::storage::SCHEMA_V1_V2_REST).unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut leaf = tx
                .prepare("INSERT INTO leaves (idx, site, consent_id, time_ms, leaf) VALUES (?1, 'a', ?2, ?3, ?4)")
                .unwrap();
            let sample = crate::storage::leaf(&site, &ids[0], 1);
            for idx in 0..LEAVES {
                let c = &ids[(idx % VISITORS) as usize];
                // One leaf body for all: the migration reads indexes, not bodies.
                leaf.execute(rusqlite::params![idx, c.as_str(), 1000 + idx, &sample])
                    .unwrap();
            }
            let mut visitor = tx
                .prepare("INSERT INTO visitors (site, consent_id, secret_sha256) VALUES ('a', ?1, ?2)")
                .unwrap();
            let mut key = tx
                .prepare("INSERT INTO sealing_keys (site, consent_id, sealing_key) VALUES ('a', ?1, ?2)")
                .unwrap();
            for (v, c) in ids.iter().enumerate() {
                visitor.execute(rusqlite::params![c.as_str(), &[1u8; 32][..]]).unwrap();
                // Every third visitor was erased (no key).
                if v % 3 != 0 {
                    key.execute(rusqlite::params![c.as_str(), &[(v % 251) as u8; 32][..]])
                        .unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }

    // Start, and kill as soon as the migration has written a good part of
    // its transaction to the write-ahead log.
    let wal = data.path().join("keurmerk.sqlite3-wal");
    let mut child = Command::new(BIN)
        .args(["--data-dir", data.path().to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{}", e2e::free_port())])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) < 4 << 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(500));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    {
        let conn = rusqlite::Connection::open(&db_path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert!(
            version <= 1,
            "the kill came before the migration committed (version {version})"
        );
        let leaves: i64 = conn.query_row("SELECT COUNT(*) FROM leaves", [], |r| r.get(0)).unwrap();
        assert_eq!(leaves, LEAVES);
    }
    integrity_check(&db_path);

    let mut server =
        ServerProcess::start_unlimited(Path::new(BIN), &["--data-dir", data.path().to_str().unwrap()]).unwrap();
    // The log takes every migrated decision in.
    let client = reqwest::Client::new();
    let mut size = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while size < LEAVES as u64 && Instant::now() < deadline {
        let note = client
            .get(format!("{}/api/v1/log/checkpoint", server.base_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        size = note.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(size >= LEAVES as u64, "checkpoint size {size}");
    server.kill9();

    integrity_check(&db_path);
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert!(version >= 4, "migrated to the current version ({version})");
    let leaves: i64 = conn.query_row("SELECT COUNT(*) FROM leaves", [], |r| r.get(0)).unwrap();
    assert_eq!(leaves, LEAVES);
    // Each leaf points at the visitor's previous one.
    let wrong: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM leaves WHERE prev IS NOT (CASE WHEN idx >= ?1 THEN idx - ?1 END)",
            [VISITORS],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(wrong, 0, "every chain linked");
    let (visitors, keys): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(sealing_key) FROM visitors WHERE site = 'a'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(visitors, VISITORS);
    assert_eq!(
        keys,
        VISITORS - (VISITORS + 2) / 3,
        "erased visitors stay erased, the others keep their keys"
    );
}

/// `kill -9` of the server while it moves Redis data of layout 2 (60,000
/// leaves) to the current layout: the next start waits out the dead
/// process's migration lock, finishes the move, and every leaf reads back
/// at its index, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_redis_migration_finishes_on_the_next_start() {
    use consent_core::store::DecisionStore as _;
    use consent_core::{ConsentId, SiteId};
    use consent_server::storage::RedisStore;
    const N: u64 = 60_000;
    let redis = RedisServer::start().unwrap();
    let site = SiteId::parse("a").unwrap();
    let mut conn = crate::common::redis_con(&redis.url()).await;
    let leaves: Vec<Vec<u8>> = (0..N)
        .map(|i| crate::storage::leaf(&site, &ConsentId::from_random([(i % 97) as u8; 16]), 1000 + i))
        .collect();
    for (chunk, part) in leaves.chunks(10_000).enumerate() {
        let mut pipe = redis::pipe();
        for (j, l) in part.iter().enumerate() {
            let i = chunk as u64 * 10_000 + j as u64;
            pipe.hset("kmk:log:leaves", i, l)
                .ignore()
                .zadd("kmk:by-site:a", i, i)
                .ignore();
        }
        let () = pipe.query_async(&mut conn).await.unwrap();
    }
    let () = redis::pipe()
        .set("kmk:log:size", N)
        .ignore()
        .set("kmk:schema", 2)
        .ignore()
        .query_async(&mut conn)
        .await
        .unwrap();

    let data = tempfile::tempdir().unwrap();
    let start = || {
        Command::new(BIN)
            .args(["--redis", &redis.url(), "--data-dir", data.path().to_str().unwrap()])
            .args(["--listen", &format!("127.0.0.1:{}", e2e::free_port())])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = start();
    // Kill once the move is under way: part of the old hash gone, lock held.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left: u64 = redis::cmd("HLEN")
            .arg("kmk:log:leaves")
            .query_async(&mut conn)
            .await
            .unwrap();
        let locked: bool = redis::cmd("EXISTS")
            .arg("kmk:migrating")
            .query_async(&mut conn)
            .await
            .unwrap();
        if locked && left < N && left > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline && left > 0,
            "caught the migration under way ({left} left)"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let left: u64 = redis::cmd("HLEN")
        .arg("kmk:log:leaves")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(left > 0, "the kill came before the move finished");

    let mut second = start();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let schema: Option<u32> = redis::cmd("GET")
            .arg("kmk:schema")
            .query_async(&mut conn)
            .await
            .unwrap();
        if schema == Some(4) {
            break;
        }
        assert!(Instant::now() < deadline, "the second start finished the move");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    let hash: bool = redis::cmd("EXISTS")
        .arg("kmk:log:leaves")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!hash, "nothing left in the old hash");
    let store = RedisStore::open(&redis.url(), "kmk:").unwrap();
    assert_eq!(store.leaves(0..N).await.unwrap(), leaves, "every leaf at its index");
    assert_eq!(store.leaf_count().await.unwrap(), N, "and nothing more");
}
