//! The storage conformance suite: one generic test run against the embedded
//! (SQLite) backend and against a real redis-server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use consent_core::account::{Account, AccountRole, SiteRole};
use consent_core::audit::{AuditAction, AuditEntry};
use consent_core::store::{
    AccountStore, ApiKey, Append, DecisionQuery, DecisionStore, MAX_RECORD_BYTES, MAX_TRIAGE, NewVisitor, RecordKind,
    RecordStore, ScanMeta, ScanQuery, ScanStore, Scope, Session, Site, Store, StoreError, Triage, TriageStatus,
};
use consent_core::{ConsentId, DecisionRecord, DecisionRequest, Method, SiteConfig, SiteId};
use consent_server::storage::{RedisStore, SqliteStore};

fn site_id(s: &str) -> SiteId {
    SiteId::parse(s).unwrap()
}

pub(crate) fn leaf(site: &SiteId, consent: &ConsentId, time_ms: u64) -> Vec<u8> {
    let config = SiteConfig::starter();
    let d = DecisionRequest {
        consent_id: None,
        secret: None,
        config_version: config.version(),
        method: Method::RejectAll,
        categories: BTreeMap::new(),
        services: BTreeMap::new(),
        language: "nl".into(),
        page_path: "/".into(),
        gpc: false,
    }
    .validate(&config)
    .unwrap();
    DecisionRecord::seal(site.clone(), consent.clone(), time_ms, d, None, &[1; 32], [2; 24]).canonical_bytes()
}

fn append(site: &SiteId, consent: &ConsentId, time_ms: u64, new: Option<u8>) -> Append {
    Append {
        site: site.clone(),
        consent_id: consent.clone(),
        time_ms,
        leaf: leaf(site, consent, time_ms),
        visitor_cap: None,
        new_visitor: new.map(|b| NewVisitor {
            secret_sha256: [b; 32],
            sealing_key: [b.wrapping_add(1); 32],
        }),
    }
}

/// A connection of the test's own to the store's Redis.
async fn connect(redis: &e2e::RedisServer) -> redis::aio::MultiplexedConnection {
    crate::common::redis_con(&redis.url()).await
}

/// One Redis command with one argument, for looking at what a store wrote.
async fn ask<T: redis::FromRedisValue>(conn: &mut redis::aio::MultiplexedConnection, cmd: &str, arg: &str) -> T {
    redis::cmd(cmd).arg(arg).query_async(conn).await.unwrap()
}

/// Everything every backend must do the same way.
async fn conformance<S: Store + Clone>(store: S) {
    store.ping().await.unwrap();

    // Sites and configuration versions.
    let a = site_id("site-a");
    let b = site_id("site-b");
    let config = SiteConfig::starter();
    let site = Site {
        id: a.clone(),
        allowed_origins: vec!["https://a.example".into()],
        current_version: config.version(),
        created_ms: 1,
    };
    assert_eq!(store.site(&a).await.unwrap(), None);
    store.create_site(&site, &config).await.unwrap();
    assert!(matches!(
        store.create_site(&site, &config).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .create_site(
            &Site {
                id: b.clone(),
                ..site.clone()
            },
            &config,
        )
        .await
        .unwrap();
    assert_eq!(store.site(&a).await.unwrap(), Some(site.clone()));
    let ids: Vec<_> = store.sites().await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![a.clone(), b.clone()]);
    assert_eq!(store.config(&a, &config.version()).await.unwrap(), Some(config.clone()));

    let mut changed = config.clone();
    changed.expiry_days = 30;
    let v2 = store.save_config(&a, &changed).await.unwrap();
    assert_eq!(v2, changed.version());
    assert_eq!(store.site(&a).await.unwrap().unwrap().current_version, v2);
    // Old versions stay readable: decisions name them.
    assert_eq!(store.config(&a, &config.version()).await.unwrap(), Some(config.clone()));
    assert_eq!(store.config(&a, &v2).await.unwrap(), Some(changed.clone()));
    assert_eq!(store.config(&b, &v2).await.unwrap(), None, "versions are per site");
    let nope = site_id("nope");
    assert!(matches!(
        store.save_config(&nope, &changed).await,
        Err(StoreError::NotFound(_))
    ));
    store.set_origins(&a, &["https://shop.a.example".into()]).await.unwrap();
    assert_eq!(
        store.site(&a).await.unwrap().unwrap().allowed_origins,
        vec!["https://shop.a.example"]
    );
    assert!(matches!(
        store.set_origins(&nope, &[]).await,
        Err(StoreError::NotFound(_))
    ));

    // Appending: indexes from 0, visitors registered in the same step.
    assert_eq!(store.leaf_count().await.unwrap(), 0);
    let c1 = ConsentId::from_random([1; 16]);
    let c2 = ConsentId::from_random([2; 16]);
    assert_eq!(store.visitor(&a, &c1).await.unwrap(), None);
    let first = append(&a, &c1, 1000, Some(7));
    assert_eq!(store.append(first.clone()).await.unwrap(), 0);
    let v = store.visitor(&a, &c1).await.unwrap().unwrap();
    assert_eq!(v.secret_sha256, [7; 32]);
    assert_eq!(v.sealing_key, Some([8; 32]));
    assert_eq!(store.visitor(&b, &c1).await.unwrap(), None, "visitors are per site");
    // A second "new" visitor with the same id writes nothing.
    assert!(matches!(
        store.append(append(&a, &c1, 1001, Some(9))).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.leaf_count().await.unwrap(), 1);
    assert_eq!(store.visitor(&a, &c1).await.unwrap().unwrap().secret_sha256, [7; 32]);
    let second = append(&a, &c1, 2000, None);
    assert_eq!(store.append(second.clone()).await.unwrap(), 1);
    assert_eq!(store.append(append(&b, &c2, 3000, Some(3))).await.unwrap(), 2);
    assert_eq!(store.append(append(&a, &c2, 4000, Some(4))).await.unwrap(), 3);
    assert_eq!(store.leaf_count().await.unwrap(), 4);
    assert_eq!(
        store.leaves(0..2).await.unwrap(),
        vec![first.leaf.clone(), second.leaf.clone()]
    );
    assert_eq!(store.leaves(3..100).await.unwrap().len(), 1, "ranges are clipped");
    assert!(store.leaves(10..20).await.unwrap().is_empty());

    // Concurrent appends: unique, gap-free indexes.
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let store = store.clone();
        let site = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            bytes[15] = 0xee;
            let c = ConsentId::from_random(bytes);
            store
                .append(append(&site, &c, 10_000 + u64::from(i), Some(1)))
                .await
                .unwrap()
        }));
    }
    let mut got = BTreeSet::new();
    for t in tasks {
        assert!(got.insert(t.await.unwrap()), "duplicate index");
    }
    assert_eq!(got, (4..204).collect::<BTreeSet<u64>>());
    assert_eq!(store.leaf_count().await.unwrap(), 204);
    assert_eq!(store.leaves(0..204).await.unwrap().len(), 204);

    // Listing: per site, by consent id, by time, paginated.
    let q = |f: fn(&mut DecisionQuery)| {
        let mut q = DecisionQuery {
            limit: 1000,
            ..DecisionQuery::default()
        };
        f(&mut q);
        q
    };
    let all_a = store.decisions(&a, &q(|_| {})).await.unwrap();
    assert_eq!(all_a.len(), 3 + 100);
    assert!(all_a.iter().all(|d| d.record.site == a));
    assert!(all_a.windows(2).all(|w| w[0].index < w[1].index));
    let by_c1 = store
        .decisions(
            &a,
            &DecisionQuery {
                consent_id: Some(c1.clone()),
                limit: 10,
                ..DecisionQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_c1.iter().map(|d| d.index).collect::<Vec<_>>(), vec![0, 1]);
    let timed = store
        .decisions(
            &a,
            &q(|q| {
                q.from_ms = Some(2000);
                q.to_ms = Some(10_010);
            }),
        )
        .await
        .unwrap();
    // Listing is in index order; the concurrent appends above got their
    // indexes in whatever order the tasks ran, so compare their times as a set.
    assert!(timed.windows(2).all(|w| w[0].index < w[1].index));
    let mut times = timed.iter().map(|d| d.record.time_ms).collect::<Vec<_>>();
    times.sort_unstable();
    assert_eq!(times, vec![2000, 4000, 10_000, 10_002, 10_004, 10_006, 10_008]);
    let page1 = store.decisions(&a, &q(|q| q.limit = 2)).await.unwrap();
    assert_eq!(page1.iter().map(|d| d.index).collect::<Vec<_>>(), vec![0, 1]);
    let page2 = store
        .decisions(
            &a,
            &q(|q| {
                q.limit = 2;
                q.after = Some(1);
            }),
        )
        .await
        .unwrap();
    // Site a's third and fourth decisions: index 3, then whichever of the
    // concurrent appends for site a came first.
    let expected = all_a
        .iter()
        .map(|d| d.index)
        .filter(|&i| i > 1)
        .take(2)
        .collect::<Vec<_>>();
    assert_eq!(expected[0], 3);
    assert_eq!(page2.iter().map(|d| d.index).collect::<Vec<_>>(), expected);
    assert!(store.decisions(&nope, &q(|_| {})).await.unwrap().is_empty());
    // Newest first: the same decisions in reverse, paged by `before`, and
    // a visitor's newest decision first.
    let newest: Vec<u64> = all_a.iter().rev().map(|d| d.index).collect();
    let indexes = |ds: Vec<consent_core::store::LoggedDecision>| ds.iter().map(|d| d.index).collect::<Vec<_>>();
    let desc = |limit: usize, before: Option<u64>| DecisionQuery {
        newest_first: true,
        before,
        limit,
        ..DecisionQuery::default()
    };
    assert_eq!(indexes(store.decisions(&a, &desc(1000, None)).await.unwrap()), newest);
    let first = indexes(store.decisions(&a, &desc(5, None)).await.unwrap());
    assert_eq!(first, newest[..5]);
    let second = indexes(store.decisions(&a, &desc(5, Some(first[4]))).await.unwrap());
    assert_eq!(second, newest[5..10]);
    let c1_newest = DecisionQuery {
        consent_id: Some(c1.clone()),
        ..desc(1, None)
    };
    assert_eq!(indexes(store.decisions(&a, &c1_newest).await.unwrap()), vec![1]);
    let c1_older = DecisionQuery {
        consent_id: Some(c1.clone()),
        ..desc(10, Some(1))
    };
    assert_eq!(indexes(store.decisions(&a, &c1_older).await.unwrap()), vec![0]);

    // API keys: looked up by hash, listed per site.
    let key = ApiKey {
        id: "key_1".into(),
        site: a.clone(),
        name: "crm".into(),
        scopes: vec![Scope::DecisionsRead],
        created_ms: 5,
        expires_ms: Some(1_000_000),
        last_used_ms: None,
    };
    store.create_api_key(&key, [5; 32]).await.unwrap();
    assert!(matches!(
        store.create_api_key(&key, [5; 32]).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.api_key(&[5; 32]).await.unwrap(), Some(key.clone()));
    assert_eq!(store.api_key(&[6; 32]).await.unwrap(), None);
    assert_eq!(store.api_keys(&a).await.unwrap(), vec![key.clone()]);
    assert!(store.api_keys(&b).await.unwrap().is_empty());

    // Their last use is recorded; revoking one of them leaves the others
    // (also another site's key with the same public id) alone.
    store.touch_api_key(&[5; 32], 70_000).await.unwrap();
    let touched = ApiKey {
        last_used_ms: Some(70_000),
        ..key.clone()
    };
    assert_eq!(store.api_key(&[5; 32]).await.unwrap(), Some(touched.clone()));
    assert_eq!(store.api_keys(&a).await.unwrap(), vec![touched.clone()]);
    let second = ApiKey {
        id: "key_2".into(),
        created_ms: 6,
        expires_ms: None,
        ..key.clone()
    };
    let same_id_elsewhere = ApiKey {
        site: b.clone(),
        ..key.clone()
    };
    store.create_api_key(&second, [7; 32]).await.unwrap();
    store.create_api_key(&same_id_elsewhere, [8; 32]).await.unwrap();
    assert!(!store.revoke_api_key(&a, "key_3").await.unwrap());
    assert!(store.revoke_api_key(&a, "key_1").await.unwrap());
    assert!(!store.revoke_api_key(&a, "key_1").await.unwrap(), "revoked once");
    assert_eq!(store.api_key(&[5; 32]).await.unwrap(), None);
    assert_eq!(store.api_keys(&a).await.unwrap(), vec![second.clone()]);
    assert_eq!(store.api_key(&[8; 32]).await.unwrap(), Some(same_id_elsewhere.clone()));
    assert_eq!(store.api_keys(&b).await.unwrap(), vec![same_id_elsewhere]);
    // Touching a revoked key does not bring it back.
    store.touch_api_key(&[5; 32], 200_000).await.unwrap();
    assert_eq!(store.api_key(&[5; 32]).await.unwrap(), None);
    assert_eq!(store.api_keys(&a).await.unwrap(), vec![second]);

    // Accounts and sessions.
    let admin = Account {
        username: "admin".into(),
        password_hash: "$argon2id$...".into(),
        role: AccountRole::Admin,
        sites: BTreeMap::new(),
        must_change_password: false,
        created_ms: 1,
        session_epoch: 0,
    };
    assert_eq!(store.account("admin").await.unwrap(), None);
    store.create_account(&admin).await.unwrap();
    assert!(matches!(
        store.create_account(&admin).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.account("admin").await.unwrap(), Some(admin.clone()));
    let mut member = Account {
        username: "bea".into(),
        role: AccountRole::Member,
        must_change_password: true,
        ..admin.clone()
    };
    assert!(matches!(store.put_account(&member).await, Err(StoreError::NotFound(_))));
    store.create_account(&member).await.unwrap();
    member.sites.insert(a.clone(), SiteRole::Marketer);
    member.must_change_password = false;
    store.put_account(&member).await.unwrap();
    assert_eq!(store.accounts().await.unwrap(), vec![admin.clone(), member.clone()]);
    assert!(store.delete_account("bea").await.unwrap());
    assert!(!store.delete_account("bea").await.unwrap());
    assert_eq!(store.accounts().await.unwrap(), vec![admin.clone()]);

    // Records: per site and kind, replaced by id, deleted.
    store
        .put_record(&a, RecordKind::VisitorRequest, "r2", b"two")
        .await
        .unwrap();
    store
        .put_record(&a, RecordKind::VisitorRequest, "r1", b"one")
        .await
        .unwrap();
    store
        .put_record(&a, RecordKind::VisitorRequest, "r1", b"uno")
        .await
        .unwrap();
    store
        .put_record(&b, RecordKind::VisitorRequest, "r1", b"other site")
        .await
        .unwrap();
    store
        .put_record(&a, RecordKind::Draft, "current", b"draft")
        .await
        .unwrap();
    assert_eq!(
        store.records(&a, RecordKind::VisitorRequest).await.unwrap(),
        vec![("r1".to_owned(), b"uno".to_vec()), ("r2".to_owned(), b"two".to_vec())]
    );
    assert_eq!(
        store.record(&b, RecordKind::VisitorRequest, "r1").await.unwrap(),
        Some(b"other site".to_vec())
    );
    assert_eq!(store.record(&a, RecordKind::Register, "current").await.unwrap(), None);
    assert!(store.delete_record(&a, RecordKind::Draft, "current").await.unwrap());
    assert!(!store.delete_record(&a, RecordKind::Draft, "current").await.unwrap());
    let too_big = vec![b'x'; MAX_RECORD_BYTES + 1];
    assert!(matches!(
        store.put_record(&a, RecordKind::Draft, "current", &too_big).await,
        Err(StoreError::LimitReached(_))
    ));

    // The audit trail: numbered per site from 1, newest first, paged.
    let entry = |n: u64| AuditEntry {
        at_ms: n,
        actor: "admin".into(),
        action: AuditAction::KeyRevoked { id: format!("key_{n}") },
    };
    for n in 1..=5 {
        assert_eq!(store.append_audit(&a, &entry(n)).await.unwrap(), n);
    }
    assert_eq!(store.append_audit(&b, &entry(9)).await.unwrap(), 1);
    let page = store.audit(&a, None, 2).await.unwrap();
    assert_eq!(page, vec![(5, entry(5)), (4, entry(4))]);
    let next = store.audit(&a, Some(4), 10).await.unwrap();
    assert_eq!(next.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![3, 2, 1]);
    assert!(store.audit(&a, Some(1), 10).await.unwrap().is_empty());
    assert_eq!(store.audit(&b, None, 10).await.unwrap(), vec![(1, entry(9))]);
    let now = consent_server::clock::now_ms();
    let session = Session {
        username: "admin".into(),
        csrf: "c".into(),
        expires_ms: now + consent_server::service::credentials::SESSION_TTL_MS,
        epoch: 0,
    };
    store.create_session([9; 32], &session).await.unwrap();
    assert_eq!(store.session(&[9; 32], now).await.unwrap(), Some(session.clone()));
    assert_eq!(
        store.session(&[9; 32], session.expires_ms).await.unwrap(),
        None,
        "expired"
    );
    store.delete_session(&[9; 32]).await.unwrap();
    assert_eq!(store.session(&[9; 32], now).await.unwrap(), None);

    // Scans: opaque bytes kept per site, listed newest first, paginated.
    let scan = |site: &SiteId, t: u64| ScanMeta {
        id: ScanMeta::new_id(t, "ab"),
        site: site.clone(),
        time_ms: t,
        url: "https://a.example/".into(),
        counts: [("high".to_owned(), t)].into(),
    };
    for t in [100, 3000, 20] {
        let report = format!("{{\"schema_version\":1,\"t\":{t}}}").into_bytes();
        store.save_scan(&scan(&a, t), &report).await.unwrap();
    }
    assert!(matches!(
        store.save_scan(&scan(&a, 100), b"{}").await,
        Err(StoreError::Conflict(_))
    ));
    store.save_scan(&scan(&b, 50), b"{\"b\":1}").await.unwrap();
    let sq = |before: Option<String>, limit| ScanQuery { before, limit };
    let all = store.scans(&a, &sq(None, 10)).await.unwrap();
    assert_eq!(all.iter().map(|m| m.time_ms).collect::<Vec<_>>(), vec![3000, 100, 20]);
    assert_eq!(all[0], scan(&a, 3000));
    let page = store.scans(&a, &sq(None, 2)).await.unwrap();
    assert_eq!(page.len(), 2);
    let rest = store.scans(&a, &sq(Some(page[1].id.clone()), 2)).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.time_ms).collect::<Vec<_>>(), vec![20]);
    assert!(store.scans(&nope, &sq(None, 10)).await.unwrap().is_empty());
    let got = store.scan(&a, &scan(&a, 100).id).await.unwrap().unwrap();
    assert_eq!(got.meta, scan(&a, 100));
    assert_eq!(got.report, b"{\"schema_version\":1,\"t\":100}");
    // Another site's scan is not found under this site.
    assert_eq!(store.scan(&a, &scan(&b, 50).id).await.unwrap(), None);
    assert_eq!(
        store.scan(&b, &scan(&b, 50).id).await.unwrap().unwrap().report,
        b"{\"b\":1}"
    );
    // Reports up to the limit are kept whole.
    let big = vec![b'x'; consent_core::store::MAX_SCAN_BYTES];
    store.save_scan(&scan(&b, 60), &big).await.unwrap();
    assert_eq!(store.scan(&b, &scan(&b, 60).id).await.unwrap().unwrap().report, big);

    // Triage: per site and fingerprint, replaced in place, bounded per site.
    let triage = |fp: &str, status, reason: &str| Triage {
        fingerprint: fp.into(),
        status,
        reason: reason.into(),
        by: "admin".into(),
        time_ms: 7,
        scan_id: "s1".into(),
    };
    assert!(store.triage(&a).await.unwrap().is_empty());
    store
        .set_triage(&a, &triage("f2", TriageStatus::Fixed, ""))
        .await
        .unwrap();
    store
        .set_triage(&a, &triage("f1", TriageStatus::Ignored, "our own CDN"))
        .await
        .unwrap();
    store
        .set_triage(&a, &triage("f2", TriageStatus::Ignored, "later"))
        .await
        .unwrap();
    assert_eq!(
        store.triage(&a).await.unwrap(),
        vec![
            triage("f1", TriageStatus::Ignored, "our own CDN"),
            triage("f2", TriageStatus::Ignored, "later")
        ]
    );
    assert!(
        store.triage(&b).await.unwrap().is_empty(),
        "another site's triage is its own"
    );
    assert!(store.clear_triage(&a, "f2").await.unwrap());
    assert!(!store.clear_triage(&a, "f2").await.unwrap());
    assert!(!store.clear_triage(&b, "f1").await.unwrap());
    assert_eq!(store.triage(&a).await.unwrap().len(), 1);
    for i in 0..MAX_TRIAGE - 1 {
        store
            .set_triage(&b, &triage(&format!("b{i:04}"), TriageStatus::Fixed, ""))
            .await
            .unwrap();
    }
    store
        .set_triage(&b, &triage("last", TriageStatus::Fixed, ""))
        .await
        .unwrap();
    assert!(matches!(
        store.set_triage(&b, &triage("over", TriageStatus::Fixed, "")).await,
        Err(StoreError::LimitReached(_))
    ));
    // Replacing one at the bound is still allowed.
    store
        .set_triage(&b, &triage("last", TriageStatus::Ignored, "x"))
        .await
        .unwrap();
    assert_eq!(store.triage(&b).await.unwrap().len(), MAX_TRIAGE);
}

/// A version 7 database (before triage) is migrated to 8 on open and keeps
/// its scans; triage can be written at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrates_version_7_to_9() {
    let dir = tempfile::tempdir().unwrap();
    let a = site_id("a");
    let meta = ScanMeta {
        id: ScanMeta::new_id(1, "ab"),
        site: a.clone(),
        time_ms: 1,
        url: "https://a.example/".into(),
        counts: BTreeMap::new(),
    };
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        store.save_scan(&meta, b"{}").await.unwrap();
        store.flush().await.unwrap();
    }
    {
        let conn = rusqlite::Connection::open(dir.path().join("keurmerk.sqlite3")).unwrap();
        // Version 7: no triage (8), no records or audit trail, and the
        // accounts' table still called `admins`, its rows without roles (9).
        conn.execute_batch(
            "DROP TABLE triage; DROP TABLE records; DROP TABLE audit;
             ALTER TABLE accounts RENAME TO admins;
             INSERT INTO admins (username, body) VALUES ('old', '{\"username\":\"old\",\"password_hash\":\"h\"}');
             PRAGMA user_version = 7;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let old = store
        .account("old")
        .await
        .unwrap()
        .expect("the admin survives the rename");
    assert!(old.is_admin(), "an account from before roles is an admin");
    let entry = AuditEntry {
        at_ms: 1,
        actor: "old".into(),
        action: AuditAction::RegisterUpdated,
    };
    assert_eq!(store.append_audit(&a, &entry).await.unwrap(), 1);
    assert_eq!(store.scan(&a, &meta.id).await.unwrap().unwrap().report, b"{}");
    let t = Triage {
        fingerprint: "f".into(),
        status: TriageStatus::Fixed,
        reason: String::new(),
        by: "admin".into(),
        time_ms: 1,
        scan_id: meta.id.clone(),
    };
    store.set_triage(&a, &t).await.unwrap();
    assert_eq!(store.triage(&a).await.unwrap(), vec![t]);
    store.flush().await.unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("keurmerk.sqlite3")).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 9);
    // The audit trail refuses to be rewritten, whoever asks.
    assert!(conn.execute("DELETE FROM audit", []).is_err());
    assert!(conn.execute("UPDATE audit SET body = '{}'", []).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(SqliteStore::open(dir.path()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_conforms() {
    let redis = e2e::RedisServer::start().unwrap();
    conformance(RedisStore::open(&redis.url(), "test:").unwrap()).await;
}

/// The server warns at start when Redis's settings break the promise of a
/// `201`. The harness's Redis has the production setting (docs/operating.md) and draws
/// no warning; each setting turned wrong draws one naming it; a user that
/// may not run `CONFIG` gets an error, not a clean bill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_persistence_settings_are_judged() {
    let redis = e2e::RedisServer::start().unwrap();
    let store = RedisStore::open(&redis.url(), "test:").unwrap();
    assert_eq!(store.persistence_warnings().await.unwrap(), Vec::<String>::new());

    let mut conn = connect(&redis).await;
    let mut set = async |name: &str, value: &str| {
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query_async(&mut conn)
            .await
            .unwrap();
    };
    for (name, value) in [
        ("appendfsync", "everysec"),
        ("maxmemory-policy", "allkeys-lru"),
        ("auto-aof-rewrite-percentage", "100"),
    ] {
        set(name, value).await;
        let warnings = store.persistence_warnings().await.unwrap();
        let expected = format!("{name} is {value}:");
        assert!(warnings.iter().any(|w| w.starts_with(&expected)), "{warnings:?}");
    }
    assert_eq!(store.persistence_warnings().await.unwrap().len(), 3);
    // Without the AOF, how it is synced no longer matters.
    set("appendonly", "no").await;
    let warnings = store.persistence_warnings().await.unwrap();
    assert!(warnings[0].starts_with("appendonly is no:"), "{warnings:?}");
    assert_eq!(warnings.len(), 3, "{warnings:?}");

    set("appendonly", "yes").await;
    let () = redis::cmd("ACL")
        .arg(&["SETUSER", "limited", "on", ">secret", "~*", "+@all", "-config"][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let limited = RedisStore::open(&format!("redis://limited:secret@127.0.0.1:{}/", redis.port()), "test:").unwrap();
    limited.ping().await.expect("the limited user may use the store");
    assert!(limited.persistence_warnings().await.is_err());
}

/// A new data directory holds personal data (sealing keys, sealed fields)
/// and the log's signing key: only the server's user may read it. Every
/// file the embedded store, the log and the key make is 0600 (SQLite's
/// `-wal` and `-shm` included), the directory 0700.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_data_dir_is_private() {
    use std::os::unix::fs::PermissionsExt as _;

    let app = crate::common::spawn_app(crate::common::Kind::Sqlite).await;
    assert_eq!(app.post_decision("demo", &app.decision().await).await.status(), 201);
    let consent_server::settings::StorageSettings::Embedded { data_dir } = &app.state.settings.storage else {
        unreachable!("embedded storage")
    };
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(data_dir), 0o700, "{}", data_dir.display());
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(data_dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        names.insert(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    for expected in [
        "keurmerk.sqlite3",
        "keurmerk.sqlite3-wal",
        "keurmerk.sqlite3-shm",
        "log.sqlite3",
        "log.sqlite3-wal",
        "log.sqlite3-shm",
        consent_server::log::key::KEY_FILE,
    ] {
        assert!(names.contains(expected), "{expected} missing from {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_everything_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = site_id("a");
    let c = ConsentId::from_random([3; 16]);
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        for i in 0..3 {
            store.append(append(&a, &c, i, (i == 0).then_some(1))).await.unwrap();
        }
        store.flush().await.unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.leaf_count().await.unwrap(), 3);
    assert_eq!(
        store.append(append(&a, &c, 9, None)).await.unwrap(),
        3,
        "indexes continue"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_is_unavailable_and_recovers() {
    let mut redis = e2e::RedisServer::start().unwrap();
    let store = RedisStore::open(&redis.url(), "t:").unwrap();
    store.ping().await.unwrap();
    redis.kill();
    let a = site_id("a");
    let c = ConsentId::from_random([4; 16]);
    assert!(matches!(
        store.append(append(&a, &c, 1, Some(1))).await,
        Err(StoreError::Unavailable(_))
    ));
    redis.restart().unwrap();
    let mut recovered = false;
    for _ in 0..100 {
        if store.append(append(&a, &c, 1, Some(1))).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(recovered, "the store reconnects by itself");
    assert_eq!(store.leaf_count().await.unwrap(), 1);
}

/// The tables versions 1 and 2 of the embedded schema had alike.
pub(crate) const SCHEMA_V1_V2_REST: &str = "
CREATE TABLE sites (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE configs (site TEXT NOT NULL, version TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (site, version)) WITHOUT ROWID;
CREATE TABLE api_keys (sha256 BLOB PRIMARY KEY, site TEXT NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX api_keys_by_site ON api_keys(site);
CREATE TABLE admins (username TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sessions (sha256 BLOB PRIMARY KEY, expires_ms INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE scans (site TEXT NOT NULL, id TEXT NOT NULL, meta TEXT NOT NULL, report BLOB NOT NULL,
    PRIMARY KEY (site, id));
";

/// The embedded schema of the first release (version 1, with
/// [`SCHEMA_V1_V2_REST`]): sealing keys in a
/// table of their own and leaves indexed by consent id.
pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE leaves (idx INTEGER PRIMARY KEY, site TEXT NOT NULL, consent_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL, leaf BLOB NOT NULL);
CREATE INDEX leaves_by_site ON leaves(site, idx);
CREATE INDEX leaves_by_consent ON leaves(site, consent_id, idx);
CREATE TABLE visitors (site TEXT NOT NULL, consent_id TEXT NOT NULL, secret_sha256 BLOB NOT NULL,
    PRIMARY KEY (site, consent_id)) WITHOUT ROWID;
CREATE TABLE sealing_keys (site TEXT NOT NULL, consent_id TEXT NOT NULL, sealing_key BLOB NOT NULL,
    PRIMARY KEY (site, consent_id)) WITHOUT ROWID;
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrates_a_version_1_database() {
    let dir = tempfile::tempdir().unwrap();
    let a = site_id("a");
    let (kept, erased) = (ConsentId::from_random([5; 16]), ConsentId::from_random([6; 16]));
    {
        let conn = rusqlite::Connection::open(dir.path().join("keurmerk.sqlite3")).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        conn.execute_batch(SCHEMA_V1_V2_REST).unwrap();
        // Interleaved: kept 0, erased 1, kept 2.
        for (idx, c) in [(0i64, &kept), (1, &erased), (2, &kept)] {
            conn.execute(
                "INSERT INTO leaves (idx, site, consent_id, time_ms, leaf) VALUES (?1, 'a', ?2, ?3, ?4)",
                rusqlite::params![idx, c.as_str(), 100 + idx, leaf(&a, c, 100 + idx as u64)],
            )
            .unwrap();
        }
        for (c, b) in [(&kept, 7u8), (&erased, 8)] {
            conn.execute(
                "INSERT INTO visitors (site, consent_id, secret_sha256) VALUES ('a', ?1, ?2)",
                rusqlite::params![c.as_str(), &[b; 32][..]],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO sealing_keys (site, consent_id, sealing_key) VALUES ('a', ?1, ?2)",
            rusqlite::params![kept.as_str(), &[9u8; 32][..]],
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let v = store.visitor(&a, &kept).await.unwrap().unwrap();
    assert_eq!((v.secret_sha256, v.sealing_key), ([7; 32], Some([9; 32])));
    let v = store.visitor(&a, &erased).await.unwrap().unwrap();
    assert_eq!((v.secret_sha256, v.sealing_key), ([8; 32], None), "erased stays erased");

    let indexes = |q: DecisionQuery, c: ConsentId| {
        let store = store.clone();
        let a = a.clone();
        async move {
            let q = DecisionQuery {
                consent_id: Some(c),
                ..q
            };
            let found = store.decisions(&a, &q).await.unwrap();
            found.iter().map(|d| d.index).collect::<Vec<_>>()
        }
    };
    let all = DecisionQuery {
        consent_id: None,
        from_ms: None,
        to_ms: None,
        after: None,
        limit: 100,
        ..Default::default()
    };
    assert_eq!(indexes(all.clone(), kept.clone()).await, [0, 2]);
    assert_eq!(indexes(all.clone(), erased.clone()).await, [1]);
    // A returning visitor's next decision joins the migrated chain.
    assert_eq!(store.append(append(&a, &kept, 200, None)).await.unwrap(), 3);
    assert_eq!(indexes(all.clone(), kept.clone()).await, [0, 2, 3]);
    let page = DecisionQuery {
        after: Some(0),
        limit: 1,
        ..all.clone()
    };
    assert_eq!(indexes(page, kept.clone()).await, [2]);
    let window = DecisionQuery {
        from_ms: Some(102),
        to_ms: Some(201),
        ..all
    };
    assert_eq!(indexes(window, kept).await, [2, 3]);
    drop(store);
    // Opening again finds version 2 and changes nothing.
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.leaf_count().await.unwrap(), 4);
}

/// The embedded schema of version 2 (with [`SCHEMA_V1_V2_REST`]): visitors
/// keyed by their (random) consent ids.
const SCHEMA_V2: &str = "
CREATE TABLE leaves (idx INTEGER PRIMARY KEY, site TEXT NOT NULL, consent_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL, leaf BLOB NOT NULL, prev INTEGER);
CREATE INDEX leaves_by_site ON leaves(site, idx);
CREATE TABLE visitors (site TEXT NOT NULL, consent_id TEXT NOT NULL, secret_sha256 BLOB NOT NULL,
    sealing_key BLOB, last_idx INTEGER NOT NULL, PRIMARY KEY (site, consent_id)) WITHOUT ROWID;
PRAGMA user_version = 2;
";

/// The embedded store issues its own consent ids and appends new visitors'
/// rows under the numbers they encrypt; a version 2 database's visitors keep
/// their random ids as keys. Both kinds work side by side and after a
/// restart, whose numbering goes on where it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_issues_consent_ids_beside_a_version_2_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keurmerk.sqlite3");
    let (a, b) = (site_id("a"), site_id("b"));
    let old = ConsentId::from_random([5; 16]);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(SCHEMA_V2).unwrap();
        conn.execute_batch(SCHEMA_V1_V2_REST).unwrap();
        conn.execute(
            "INSERT INTO leaves (idx, site, consent_id, time_ms, leaf) VALUES (0, 'a', ?1, 100, ?2)",
            rusqlite::params![old.as_str(), leaf(&a, &old, 100)],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO visitors (site, consent_id, secret_sha256, sealing_key, last_idx) VALUES ('a', ?1, ?2, ?3, 0)",
            rusqlite::params![old.as_str(), &[7u8; 32][..], &[8u8; 32][..]],
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let v = store.visitor(&a, &old).await.unwrap().unwrap();
    assert_eq!((v.secret_sha256, v.sealing_key), ([7; 32], Some([8; 32])));

    let new = store.issue_consent_id().expect("the embedded store issues ids");
    assert!(ConsentId::parse(new.as_str()).is_ok());
    assert_ne!(new, old);
    assert_eq!(store.append(append(&a, &new, 101, Some(3))).await.unwrap(), 1);
    assert_eq!(store.append(append(&a, &old, 102, None)).await.unwrap(), 2);
    assert_eq!(store.append(append(&a, &new, 103, None)).await.unwrap(), 3);
    let v = store.visitor(&a, &new).await.unwrap().unwrap();
    assert_eq!((v.secret_sha256, v.sealing_key), ([3; 32], Some([4; 32])));
    assert!(
        store.visitor(&b, &new).await.unwrap().is_none(),
        "another site's id is not this site's visitor"
    );
    assert!(
        matches!(
            store.append(append(&b, &new, 104, None)).await,
            Err(StoreError::Conflict(_))
        ),
        "nor can it decide for this site"
    );
    let by = |c: &ConsentId| DecisionQuery {
        consent_id: Some(c.clone()),
        from_ms: None,
        to_ms: None,
        after: None,
        limit: 100,
        ..Default::default()
    };
    let indexes = |found: Vec<consent_core::store::LoggedDecision>| found.iter().map(|d| d.index).collect::<Vec<_>>();
    assert_eq!(indexes(store.decisions(&a, &by(&new)).await.unwrap()), [1, 3]);
    assert_eq!(indexes(store.decisions(&a, &by(&old)).await.unwrap()), [0, 2]);
    drop(store);

    let store = SqliteStore::open(dir.path()).unwrap();
    let next = store.issue_consent_id().unwrap();
    assert_ne!(next, new);
    assert_eq!(store.append(append(&b, &next, 105, Some(5))).await.unwrap(), 4);
    assert!(store.visitor(&b, &next).await.unwrap().is_some());
    assert_eq!(indexes(store.decisions(&a, &by(&new)).await.unwrap()), [1, 3]);
    drop(store);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut keys = conn
        .prepare("SELECT site, visitor_key FROM visitors ORDER BY site, visitor_key")
        .unwrap();
    let keys: Vec<(String, String)> = keys
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = |s: &str, k: &str| (s.to_owned(), k.to_owned());
    assert_eq!(
        keys,
        [
            key("a", old.as_str()),
            key("a", "~0000000000000001"),
            key("b", "~0000000000000002")
        ],
        "issued ids' rows are keyed by their numbers, in order; older ones by the id"
    );
}

/// Redis data written by layout 1 (three keys per visitor: secret hash,
/// sealing key, by-consent sorted set) moves to layout 2 on first use and
/// reads back the same; erasure and new decisions then work on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_migrates_layout_1() {
    let redis = e2e::RedisServer::start().unwrap();
    let a = site_id("a");
    let (kept, erased) = (ConsentId::from_random([5; 16]), ConsentId::from_random([6; 16]));
    let mut conn = connect(&redis).await;
    {
        let mut pipe = redis::pipe();
        // Interleaved: kept 0, erased 1, kept 2.
        for (idx, c) in [(0u64, &kept), (1, &erased), (2, &kept)] {
            pipe.hset("t:log:leaves", idx, leaf(&a, c, 100 + idx))
                .zadd("t:by-site:a", idx, idx)
                .zadd(format!("t:by-consent:a:{c}"), idx, idx);
        }
        pipe.set("t:log:size", 3)
            .set(format!("t:visitor:a:{kept}"), &[7u8; 32][..])
            .set(format!("t:visitor:a:{erased}"), &[8u8; 32][..])
            .set(format!("t:sealing-key:a:{kept}"), &[9u8; 32][..]);
        let () = pipe.query_async(&mut conn).await.unwrap();
    }
    let store = RedisStore::open(&redis.url(), "t:").unwrap();
    let v = store.visitor(&a, &kept).await.unwrap().unwrap();
    assert_eq!((v.secret_sha256, v.sealing_key), ([7; 32], Some([9; 32])));
    let v = store.visitor(&a, &erased).await.unwrap().unwrap();
    assert_eq!((v.secret_sha256, v.sealing_key), ([8; 32], None), "erased stays erased");
    let mut left = Vec::new();
    for pattern in [
        "t:visitor:*",
        "t:sealing-key:*",
        "t:by-consent:*",
        "t:by-site:*",
        "t:log:leaves",
    ] {
        let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query_async(&mut conn).await.unwrap();
        left.extend(keys);
    }
    assert!(left.is_empty(), "older layouts' keys left behind: {left:?}");
    let schema: u32 = ask(&mut conn, "GET", "t:schema").await;
    assert_eq!(schema, 4);

    let indexes = async |c: &ConsentId, after: Option<u64>| {
        let q = DecisionQuery {
            consent_id: Some(c.clone()),
            after,
            limit: 100,
            ..DecisionQuery::default()
        };
        let found = store.decisions(&a, &q).await.unwrap();
        found.iter().map(|d| d.index).collect::<Vec<_>>()
    };
    assert_eq!(indexes(&kept, None).await, [0, 2]);
    assert_eq!(indexes(&erased, None).await, [1]);
    // A returning visitor's next decision joins the migrated list.
    assert_eq!(store.append(append(&a, &kept, 200, None)).await.unwrap(), 3);
    assert_eq!(indexes(&kept, None).await, [0, 2, 3]);
    assert_eq!(indexes(&kept, Some(0)).await, [2, 3]);
    assert!(store.erase(&a, &kept).await.unwrap());
    assert!(!store.erase(&a, &kept).await.unwrap(), "once");
    let v = store.visitor(&a, &kept).await.unwrap().unwrap();
    assert_eq!((v.secret_sha256, v.sealing_key), ([7; 32], None));
    assert_eq!(indexes(&kept, None).await, [0, 2, 3], "erasure keeps the decisions");
    // A second store (another instance) finds layout 2 and moves nothing.
    assert_eq!(
        RedisStore::open(&redis.url(), "t:").unwrap().migrate().await.unwrap(),
        0
    );
}

/// Redis data written by layout 2 (the leaves in one hash, each site's
/// index a sorted set) moves to layout 3 on first use: every leaf reads back
/// at its index across list boundaries, sites' pages and visitors' decisions
/// are the same, and the log goes on from where it was. Two instances
/// migrating at once move everything exactly once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_migrates_layout_2() {
    use consent_server::storage::redis::LEAF_CHUNK;
    let redis = e2e::RedisServer::start().unwrap();
    let (a, b) = (site_id("a"), site_id("b"));
    let n = LEAF_CHUNK + 904;
    let visitor = |i: u64| ConsentId::from_random([(i % 40) as u8; 16]);
    let site_of = |i: u64| if i % 40 < 20 { &a } else { &b };
    let mut conn = connect(&redis).await;
    let mut leaves = Vec::new();
    let mut fields: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut pipe = redis::pipe();
    for i in 0..n {
        let (site, c) = (site_of(i), visitor(i));
        let l = leaf(site, &c, 1000 + i);
        pipe.hset("t:log:leaves", i, &l)
            .ignore()
            .zadd(format!("t:by-site:{site}"), i, i)
            .ignore();
        leaves.push(l);
        let field = fields.entry(i % 40).or_insert_with(|| {
            let mut head = vec![(i % 40) as u8; 32];
            head.push(1);
            head.extend([9u8; 32]);
            head
        });
        field.extend(i.to_be_bytes());
    }
    for (v, field) in &fields {
        pipe.hset(format!("t:visitors:{}", site_of(*v)), visitor(*v).as_str(), field)
            .ignore();
    }
    pipe.set("t:log:size", n).ignore().set("t:schema", 2).ignore();
    let () = pipe.query_async(&mut conn).await.unwrap();

    let (one, two) = (
        RedisStore::open(&redis.url(), "t:").unwrap(),
        RedisStore::open(&redis.url(), "t:").unwrap(),
    );
    let (x, y) = tokio::join!(one.migrate(), two.migrate());
    assert_eq!(x.unwrap() + y.unwrap(), 2 * n, "every leaf and index entry moved once");
    let store = one;
    let schema: u32 = ask(&mut conn, "GET", "t:schema").await;
    assert_eq!(schema, 4);
    let old: Vec<String> = ask(&mut conn, "KEYS", "t:by-site:*").await;
    let hash: bool = ask(&mut conn, "EXISTS", "t:log:leaves").await;
    assert!(old.is_empty() && !hash, "layout-2 keys left behind: {old:?}");

    assert_eq!(store.leaves(0..n).await.unwrap(), leaves);
    let edge = LEAF_CHUNK - 3..LEAF_CHUNK + 3;
    assert_eq!(
        store.leaves(edge.clone()).await.unwrap(),
        leaves[edge.start as usize..edge.end as usize]
    );
    let page = |after: Option<u64>, limit: usize| DecisionQuery {
        after,
        limit,
        ..DecisionQuery::default()
    };
    let indexes = async |site: &SiteId, q: DecisionQuery| {
        let found = store.decisions(site, &q).await.unwrap();
        for d in found.iter().filter(|d| d.index < n) {
            assert_eq!(d.record.canonical_bytes(), leaves[d.index as usize]);
        }
        found.iter().map(|d| d.index).collect::<Vec<_>>()
    };
    let want_a: Vec<u64> = (0..n).filter(|i| site_of(*i) == &a).collect();
    let from = LEAF_CHUNK - 50;
    let expect: Vec<u64> = want_a.iter().copied().filter(|i| *i > from).take(70).collect();
    assert_eq!(indexes(&a, page(Some(from), 70)).await, expect);
    assert_eq!(indexes(&a, page(None, 100_000)).await, want_a);
    let mine: Vec<u64> = (0..n).filter(|i| i % 40 == 27).collect();
    let q = DecisionQuery {
        consent_id: Some(visitor(27)),
        ..page(None, 100_000)
    };
    assert_eq!(indexes(&b, q).await, mine);

    // The log goes on where it was.
    let c = visitor(3);
    assert_eq!(store.append(append(&a, &c, 9000, None)).await.unwrap(), n);
    let q = DecisionQuery {
        consent_id: Some(c.clone()),
        after: Some(n - 100),
        ..page(None, 10)
    };
    let last = store.decisions(&a, &q).await.unwrap();
    assert_eq!(last.last().map(|d| d.index), Some(n));
    assert_eq!(indexes(&a, page(Some(n - 1), 10)).await, [n]);

    // A layout-2 server still running writes the old way; what it wrote
    // reads back, and the next append moves its leaf into place.
    let stray = leaf(&a, &c, 9001);
    let mut pipe = redis::pipe();
    pipe.hset("t:log:leaves", n + 1, &stray)
        .ignore()
        .zadd("t:by-site:a", n + 1, n + 1)
        .ignore()
        .incr("t:log:size", 1)
        .ignore();
    let () = pipe.query_async(&mut conn).await.unwrap();
    assert_eq!(store.leaves(n + 1..n + 2).await.unwrap(), std::slice::from_ref(&stray));
    assert_eq!(indexes(&a, page(Some(n - 1), 10)).await, [n, n + 1]);
    assert_eq!(store.append(append(&a, &c, 9002, None)).await.unwrap(), n + 2);
    let hash: bool = ask(&mut conn, "EXISTS", "t:log:leaves").await;
    assert!(!hash, "the stray leaf moved");
    let list: u64 = ask(&mut conn, "LLEN", "t:log:leaves:1").await;
    assert_eq!(list, n + 3 - LEAF_CHUNK);
    assert_eq!(store.leaves(n..n + 3).await.unwrap()[1], stray);
    assert_eq!(indexes(&a, page(Some(n - 1), 10)).await, [n, n + 1, n + 2]);
    assert_eq!(
        RedisStore::open(&redis.url(), "t:").unwrap().migrate().await.unwrap(),
        0
    );
}

/// While another instance holds the migration lock, requests are answered
/// `Unavailable` after a short wait instead of hanging; once the lock is
/// gone this instance moves the data itself and serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_waits_for_another_instances_migration() {
    let redis = e2e::RedisServer::start().unwrap();
    let a = site_id("a");
    let c = ConsentId::from_random([4; 16]);
    let mut conn = connect(&redis).await;
    let l = leaf(&a, &c, 100);
    let () = redis::pipe()
        .hset("t:log:leaves", 0, &l)
        .ignore()
        .zadd("t:by-site:a", 0, 0)
        .ignore()
        .set("t:log:size", 1)
        .ignore()
        .set("t:schema", 2)
        .ignore()
        .set("t:migrating", "another instance")
        .ignore()
        .query_async(&mut conn)
        .await
        .unwrap();
    let store = RedisStore::open(&redis.url(), "t:").unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), store.leaves(0..1))
        .await
        .expect("an answer, not a hang");
    match answer {
        Err(StoreError::Unavailable(why)) => assert!(why.to_string().contains("layout"), "{why}"),
        other => panic!("expected Unavailable while another instance migrates, got {other:?}"),
    }
    let schema: u32 = ask(&mut conn, "GET", "t:schema").await;
    assert_eq!(schema, 2, "nothing moved under another's lock");
    let () = ask(&mut conn, "DEL", "t:migrating").await;
    let mut served = None;
    for _ in 0..50 {
        match store.leaves(0..1).await {
            Ok(leaves) => {
                served = Some(leaves);
                break;
            }
            Err(StoreError::Unavailable(_)) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(served, Some(vec![l]));
    let schema: u32 = ask(&mut conn, "GET", "t:schema").await;
    assert_eq!(schema, 4);
}

/// A log whose leaves below its size are nowhere refuses appends as
/// corrupt (not "try again") and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_refuses_to_append_to_a_log_with_a_gap() {
    let redis = e2e::RedisServer::start().unwrap();
    let mut conn = connect(&redis).await;
    let () = redis::pipe()
        .set("t:log:size", 5)
        .ignore()
        .set("t:schema", 4)
        .ignore()
        .query_async(&mut conn)
        .await
        .unwrap();
    let store = RedisStore::open(&redis.url(), "t:").unwrap();
    let a = site_id("a");
    match store
        .append(append(&a, &ConsentId::from_random([3; 16]), 1, Some(3)))
        .await
    {
        Err(StoreError::Corrupt(why)) => assert!(why.to_string().contains("lacks leaf 0"), "{why}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let size: u64 = ask(&mut conn, "GET", "t:log:size").await;
    let lists: Vec<String> = ask(&mut conn, "KEYS", "t:log:leaves*").await;
    assert_eq!((size, lists), (5, Vec::<String>::new()));
}

/// Layout 3 splits a site's index into strings of `SITE_CHUNK` indexes and
/// the leaves into lists of `LEAF_CHUNK`: appends across both boundaries
/// land in order and read back across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_appends_across_chunk_boundaries() {
    use consent_server::storage::redis::{LEAF_CHUNK, SITE_CHUNK};
    let redis = e2e::RedisServer::start().unwrap();
    let a = site_id("a");
    let mut conn = connect(&redis).await;
    // A log three leaves short of a site chunk, as if written before.
    let start = SITE_CHUNK - 3;
    let filler = leaf(&a, &ConsentId::from_random([1; 16]), 1);
    let list = format!("t:log:leaves:{}", start / LEAF_CHUNK);
    let mut pipe = redis::pipe();
    for _ in 0..start % LEAF_CHUNK {
        pipe.rpush(&list, &filler).ignore();
    }
    pipe.set("t:log:size", start).ignore().set("t:schema", 4).ignore();
    let () = pipe.query_async(&mut conn).await.unwrap();

    let store = RedisStore::open(&redis.url(), "t:").unwrap();
    // One batch of eight, so one script crosses both boundaries.
    let jobs = (0..8u8)
        .map(|i| append(&a, &ConsentId::from_random([10 + i; 16]), 100 + u64::from(i), Some(i)))
        .collect();
    let got: Vec<u64> = store
        .append_together(jobs)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let want: Vec<u64> = (start..start + 8).collect();
    assert_eq!(got, want);
    let q = |after: Option<u64>| DecisionQuery {
        after,
        limit: 100,
        ..DecisionQuery::default()
    };
    let found: Vec<u64> = store
        .decisions(&a, &q(None))
        .await
        .unwrap()
        .iter()
        .map(|d| d.index)
        .collect();
    assert_eq!(found, want);
    let found: Vec<u64> = store
        .decisions(&a, &q(Some(SITE_CHUNK - 1)))
        .await
        .unwrap()
        .iter()
        .map(|d| d.index)
        .collect();
    assert_eq!(found, want[3..]);
    // Newest first across the chunk boundary, and from below it.
    let back = |before: Option<u64>| DecisionQuery {
        before,
        newest_first: true,
        limit: 100,
        ..DecisionQuery::default()
    };
    let found: Vec<u64> = store
        .decisions(&a, &back(None))
        .await
        .unwrap()
        .iter()
        .map(|d| d.index)
        .collect();
    assert_eq!(found, want.iter().rev().copied().collect::<Vec<_>>());
    let found: Vec<u64> = store
        .decisions(&a, &back(Some(SITE_CHUNK + 1)))
        .await
        .unwrap()
        .iter()
        .map(|d| d.index)
        .collect();
    assert_eq!(found, [SITE_CHUNK, SITE_CHUNK - 1, SITE_CHUNK - 2, SITE_CHUNK - 3]);
    let leaves = store.leaves(start - 2..start + 8).await.unwrap();
    assert_eq!(leaves.len(), 10);
    assert_eq!(leaves[..2], [filler.clone(), filler]);
    for (l, d) in leaves[2..].iter().zip(store.decisions(&a, &q(None)).await.unwrap()) {
        assert_eq!(l, &d.record.canonical_bytes());
    }
    let low: u64 = ask(&mut conn, "STRLEN", "t:site-index:a:0").await;
    let high: u64 = ask(&mut conn, "STRLEN", "t:site-index:a:1").await;
    assert_eq!((low, high), (3 * 8, 5 * 8));
}

/// One batch of appends may hold several decisions of one returning
/// visitor, new visitors of several sites and refusals: each gets its own
/// answer, and the visitor's list holds every accepted index once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_batch_with_mixed_appends() {
    let redis = e2e::RedisServer::start().unwrap();
    let store = Arc::new(RedisStore::open(&redis.url(), "t:").unwrap());
    let (a, b) = (site_id("a"), site_id("b"));
    let back = ConsentId::from_random([1; 16]);
    assert_eq!(store.append(append(&a, &back, 1, Some(1))).await.unwrap(), 0);
    let unknown = ConsentId::from_random([2; 16]);
    // Sent together, so the appender sees them at once.
    let mut tasks = Vec::new();
    for i in 0..60u8 {
        let store = store.clone();
        let job = match i % 4 {
            0 => append(&a, &back, 10 + u64::from(i), None),
            1 => append(&b, &ConsentId::from_random([100 + i; 16]), 10, Some(i)),
            2 => append(&a, &unknown, 10, None),
            _ => append(&a, &back, 10, Some(3)),
        };
        tasks.push(tokio::spawn(async move { (i % 4, store.append(job).await) }));
    }
    let mut accepted = BTreeSet::new();
    for t in tasks {
        match t.await.unwrap() {
            (0 | 1, Ok(idx)) => assert!(accepted.insert(idx)),
            (2 | 3, Err(StoreError::Conflict(_))) => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(
        accepted,
        (1..31).collect::<BTreeSet<u64>>(),
        "gap-free, refusals take no index"
    );
    let q = DecisionQuery {
        consent_id: Some(back.clone()),
        limit: 100,
        ..DecisionQuery::default()
    };
    let found: Vec<u64> = store.decisions(&a, &q).await.unwrap().iter().map(|d| d.index).collect();
    assert_eq!(found.len(), 16);
    assert_eq!(found[0], 0);
    assert!(found.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(store.visitor(&a, &back).await.unwrap().unwrap().secret_sha256, [1; 32]);
    let all_b = DecisionQuery {
        limit: 100,
        ..DecisionQuery::default()
    };
    assert_eq!(store.decisions(&b, &all_b).await.unwrap().len(), 15);
}

/// Under steady load, with readers beside the writer, the WAL must start
/// over now and then instead of holding every page ever written: the
/// checkpoints run beside the writer, and a WAL only restarts when a write
/// begins on a wholly checkpointed snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_starts_over_under_steady_load() {
    let dir = tempfile::tempdir().unwrap();
    // A small bound (1 MiB) so that a short test crosses it many times.
    let store = SqliteStore::open_with_wal_bound(dir.path(), 256).unwrap();
    let a = site_id("a");
    let until = std::time::Instant::now() + std::time::Duration::from_millis(2500);
    let mut tasks = Vec::new();
    for t in 0..32u8 {
        let (store, a) = (store.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u32;
            while std::time::Instant::now() < until {
                let mut id = [t; 16];
                id[..4].copy_from_slice(&n.to_be_bytes());
                let c = ConsentId::from_random(id);
                store.append(append(&a, &c, u64::from(n), Some(t))).await.unwrap();
                // A reader beside the writer, as the log integrator is.
                store.leaves(0..4).await.unwrap();
                n += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let leaves = store.leaf_count().await.unwrap();
    // The WAL header's checkpoint sequence number (bytes 12..16, big
    // endian) counts the times the WAL started over.
    let wal = std::fs::read(dir.path().join("keurmerk.sqlite3-wal")).unwrap();
    let restarts = u32::from_be_bytes(wal[12..16].try_into().unwrap());
    assert!(
        restarts >= 3,
        "after {leaves} appends in 2.5 s the WAL started over {restarts} times; it holds {} bytes",
        wal.len()
    );
}

/// A consent id with 200,000 decisions: its newest page of 10 reads about
/// 10 leaves, paging back with `before` works, appending does not rewrite
/// the history (each append writes the same few rows or bytes, checked on
/// the stored data rather than the clock), and the cap refuses more. Each
/// backend fills the history its fastest way, then this checks it.
const HISTORY: u64 = 200_000;

fn long_site() -> (SiteId, ConsentId) {
    (site_id("long"), ConsentId::from_random([42; 16]))
}

async fn long_history_costs_only_its_page<S: Store + Clone>(store: S, leaves_read: impl Fn() -> u64) {
    let (site, visitor) = long_site();
    let last = HISTORY - 1;
    let newest = |limit: usize, before: Option<u64>| DecisionQuery {
        consent_id: Some(visitor.clone()),
        newest_first: true,
        before,
        limit,
        ..DecisionQuery::default()
    };
    let before_read = leaves_read();
    let page = store.decisions(&site, &newest(10, None)).await.unwrap();
    let read = leaves_read() - before_read;
    assert_eq!(page.len(), 10);
    assert_eq!(page[0].index, last, "the newest first");
    assert!(page.windows(2).all(|w| w[0].index > w[1].index));
    assert!(read <= 11, "a page of 10 read {read} leaves");
    let next = store.decisions(&site, &newest(10, Some(page[9].index))).await.unwrap();
    assert_eq!(next.len(), 10);
    assert_eq!(next[0].index, page[9].index - 1);

    // Appending on top of the long history, and the cap.
    let mut capped = append(&site, &visitor, HISTORY, None);
    capped.visitor_cap = Some(u32::try_from(HISTORY).unwrap());
    assert!(matches!(store.append(capped).await, Err(StoreError::LimitReached(_))));
    let mut roomy = append(&site, &visitor, HISTORY, None);
    roomy.visitor_cap = Some(u32::try_from(HISTORY).unwrap() + 1);
    assert_eq!(store.append(roomy).await.unwrap(), HISTORY);
    let page = store.decisions(&site, &newest(1, None)).await.unwrap();
    assert_eq!(page[0].index, HISTORY);
}

async fn create_long_site<S: Store>(store: &S) {
    let (site, _) = long_site();
    let site = Site {
        id: site,
        allowed_origins: vec![],
        current_version: SiteConfig::starter().version(),
        created_ms: 1,
    };
    store.create_site(&site, &SiteConfig::starter()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_long_history() {
    let dir = tempfile::tempdir().unwrap();
    let (site, visitor) = long_site();
    let store = SqliteStore::open(dir.path()).unwrap();
    create_long_site(&store).await;
    store.append(append(&site, &visitor, 0, Some(1))).await.unwrap();
    store.flush().await.unwrap();
    drop(store);
    // The rest of the history in one transaction, as the writer would have
    // left it: each leaf linked to the visitor's previous one.
    let db = dir.path().join("keurmerk.sqlite3");
    let mut conn = rusqlite::Connection::open(&db).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let l = leaf(&site, &visitor, 1);
        let mut insert = tx
            .prepare(
                "INSERT INTO leaves (idx, site, consent_id, time_ms, leaf, prev) VALUES (?1, 'long', ?2, ?1, ?3, ?4)",
            )
            .unwrap();
        for idx in 1..HISTORY as i64 {
            insert
                .execute(rusqlite::params![idx, visitor.as_str(), &l, idx - 1])
                .unwrap();
        }
        tx.execute(
            "UPDATE visitors SET last_idx = ?1, decisions = ?2 WHERE site = 'long'",
            rusqlite::params![HISTORY as i64 - 1, HISTORY as i64],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(conn);

    let store = SqliteStore::open(dir.path()).unwrap();
    let probe = store.clone();
    long_history_costs_only_its_page(store, move || probe.leaves_read()).await;
    // Appending touched the visitor's one row (its newest leaf and count),
    // never its history.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (decisions, last): (i64, i64) = conn
        .query_row(
            "SELECT decisions, last_idx FROM visitors WHERE site = 'long'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((decisions, last), (HISTORY as i64 + 1, HISTORY as i64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_long_history() {
    let redis = e2e::RedisServer::start().unwrap();
    let (site, visitor) = long_site();
    let store = RedisStore::open(&redis.url(), "t:").unwrap();
    create_long_site(&store).await;
    // Through the real append script, 2,000 decisions a call (Lua unpacks
    // at most a few thousand values at once).
    let l = leaf(&site, &visitor, 1);
    let mut next = 0;
    while next < HISTORY {
        let batch: Vec<Append> = (next..(next + 2_000).min(HISTORY))
            .map(|i| {
                let mut a = append(&site, &visitor, i, (i == 0).then_some(1));
                a.leaf = l.clone();
                a
            })
            .collect();
        for r in store.append_together(batch).await {
            r.unwrap();
        }
        next = (next + 2_000).min(HISTORY);
    }
    let probe = store.clone();
    long_history_costs_only_its_page(store, move || probe.leaves_read()).await;
    // The visitor's field is its 65-byte head however long its history: an
    // append adds 8 bytes to the visitor's own string instead of rewriting
    // a field that grows with every decision.
    let mut conn = connect(&redis).await;
    let field: Vec<u8> = redis::cmd("HGET")
        .arg("t:visitors:long")
        .arg(visitor.as_str())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(field.len(), 65);
    let string: u64 = ask(&mut conn, "STRLEN", &format!("t:visitor-leaves:long:{visitor}")).await;
    assert_eq!(string, 8 * (HISTORY + 1));
}
