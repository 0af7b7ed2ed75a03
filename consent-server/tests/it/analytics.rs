//! Consent analytics: the counts both stores keep with every appended
//! decision, and the dashboard's analytics page, CSV downloads and tenancy.

use std::collections::BTreeMap;

use consent_core::analytics::{Day, DayTally, MAX_LANGUAGES, OTHER_LANGUAGE, Period, Report, Tally};
use consent_core::decision::ValidDecision;
use consent_core::store::{Append, DecisionStore, NewVisitor, Site, Store, StoreError};
use consent_core::{ConfigVersion, ConsentId, DecisionRecord, Method, SiteConfig, SiteId};
use consent_server::storage::{RedisStore, SqliteStore};

use crate::common::{Kind, spawn_app};

/// 2026-11-30 00:00 UTC.
const DAY_MS: u64 = 1_764_460_800_000;
const HOUR: u64 = 3_600_000;

/// A decision's leaf, as the service builds it.
#[allow(clippy::too_many_arguments)]
fn leaf(
    site: &SiteId,
    consent: &ConsentId,
    time_ms: u64,
    version: &str,
    method: Method,
    granted: &[(&str, bool)],
    language: &str,
    gpc: bool,
) -> Vec<u8> {
    let d = ValidDecision {
        config_version: ConfigVersion(version.into()),
        method,
        categories: granted.iter().map(|(c, g)| ((*c).to_owned(), *g)).collect(),
        services: BTreeMap::new(),
        language: language.into(),
        page_path: "/".into(),
        gpc,
    };
    DecisionRecord::seal(site.clone(), consent.clone(), time_ms, d, None, &[1; 32], [2; 24]).canonical_bytes()
}

fn new_visitor(site: &SiteId, n: u64, time_ms: u64, leaf: Vec<u8>) -> Append {
    Append {
        site: site.clone(),
        consent_id: ConsentId::from_random((n as u128 + 1).to_be_bytes()),
        time_ms,
        leaf,
        new_visitor: Some(NewVisitor {
            secret_sha256: [3; 32],
            sealing_key: [4; 32],
        }),
        visitor_cap: None,
    }
}

fn cid(n: u64) -> ConsentId {
    ConsentId::from_random((n as u128 + 1).to_be_bytes())
}

async fn make_site<S: Store>(store: &S, id: &SiteId) {
    let config = SiteConfig::starter();
    let site = Site {
        id: id.clone(),
        allowed_origins: vec![],
        current_version: config.version(),
        created_ms: 1,
    };
    store.create_site(&site, &config).await.unwrap();
}

fn day(offset: u32) -> Day {
    Day(Day::of_ms(DAY_MS).0 + offset)
}

/// A decision to record: time, version, method, categories, language, GPC.
type Decision<'a> = (u64, &'a str, Method, &'a [(&'a str, bool)], &'a str, bool);

/// Records decisions of every kind, on two days and two versions, plus a
/// refused append and another site's decision, and reads the counts back.
async fn counts<S: Store>(store: S) {
    let a = SiteId::parse("count-a").unwrap();
    let b = SiteId::parse("count-b").unwrap();
    make_site(&store, &a).await;
    make_site(&store, &b).await;
    let all = [("necessary", true), ("analytics", true), ("marketing", true)];
    let none = [("necessary", true), ("analytics", false), ("marketing", false)];
    let some = [("necessary", true), ("analytics", true), ("marketing", false)];
    let t0 = DAY_MS + 10 * HOUR;
    let decisions: Vec<Decision> = vec![
        (t0, "v1", Method::AcceptAll, &all, "nl", false),
        (t0 + 1, "v1", Method::RejectAll, &none, "nl-BE", true),
        (t0 + 2, "v1", Method::Custom, &some, "en", false),
        (t0 + 3, "v1", Method::Gpc, &none, "en-GB", true),
        (t0 + 4, "v2", Method::AcceptAll, &all, "de", false),
        // Just before midnight and just after: two days.
        (DAY_MS + 24 * HOUR - 1, "v2", Method::RejectAll, &none, "nl", false),
        (DAY_MS + 24 * HOUR, "v2", Method::Withdrawal, &some, "NL", true),
    ];
    for (n, (time, version, method, granted, lang, gpc)) in decisions.iter().enumerate() {
        let l = leaf(&a, &cid(n as u64), *time, version, *method, granted, lang, *gpc);
        store.append(new_visitor(&a, n as u64, *time, l)).await.unwrap();
    }
    // Refused (the visitor exists): counted nowhere.
    let l = leaf(&a, &cid(0), t0, "v1", Method::AcceptAll, &all, "nl", false);
    assert!(matches!(
        store.append(new_visitor(&a, 0, t0, l)).await,
        Err(StoreError::Conflict(_))
    ));
    // Another site's decision is its own.
    let l = leaf(&b, &cid(100), t0, "v1", Method::AcceptAll, &all, "fr", false);
    store.append(new_visitor(&b, 100, t0, l)).await.unwrap();

    let period = Period::new(day(0), day(6)).unwrap();
    let rows = store.analytics(&a, period).await.unwrap();
    let keys: Vec<(Day, &str)> = rows.iter().map(|r| (r.day, r.version.0.as_str())).collect();
    assert_eq!(keys, [(day(0), "v1"), (day(0), "v2"), (day(1), "v2")]);
    let v1 = &rows[0].tally;
    assert_eq!(
        (
            v1.total,
            v1.accept_all,
            v1.reject_all,
            v1.custom,
            v1.gpc_applied,
            v1.gpc
        ),
        (4, 1, 1, 1, 1, 2)
    );
    assert_eq!(
        v1.categories,
        BTreeMap::from([
            ("analytics".to_owned(), 2),
            ("marketing".to_owned(), 1),
            ("necessary".to_owned(), 4)
        ]),
        "a category denied everywhere still shows it could be granted"
    );
    assert_eq!(
        v1.languages,
        BTreeMap::from([("en".to_owned(), 2), ("nl".to_owned(), 2)]),
        "languages by primary subtag"
    );
    let v2 = &rows[1].tally;
    assert_eq!((v2.total, v2.accept_all, v2.reject_all), (2, 1, 1));
    let next = &rows[2].tally;
    assert_eq!((next.total, next.withdrawal, next.gpc), (1, 1, 1));
    assert_eq!(next.languages, BTreeMap::from([("nl".to_owned(), 1)]));

    // A period reads only its own days.
    let only = store.analytics(&a, Period::new(day(1), day(1)).unwrap()).await.unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].day, day(1));
    assert!(
        store
            .analytics(&a, Period::new(day(2), day(9)).unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    let theirs = store.analytics(&b, period).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].tally.total, 1);
    assert_eq!(theirs[0].tally.languages, BTreeMap::from([("fr".to_owned(), 1)]));
    let unknown = SiteId::parse("count-nobody").unwrap();
    assert!(store.analytics(&unknown, period).await.unwrap().is_empty());

    // The report over the stored rows.
    let report = Report::new(period, &rows);
    assert_eq!(report.totals.total, 7);
    assert_eq!(report.days.len(), 7);
    assert_eq!(report.days[0].tally.total, 6);
    assert_eq!(report.versions.len(), 2);
    assert_eq!(report.languages[0], ("nl".to_owned(), 4));
}

/// Visitors sending ever new languages cannot grow a day's counts: past
/// [`MAX_LANGUAGES`] they are counted as "other". Sent concurrently, so
/// both stores see them in batches.
async fn languages_are_capped<S: Store + Clone>(store: S) {
    let a = SiteId::parse("langs").unwrap();
    make_site(&store, &a).await;
    let n = MAX_LANGUAGES as u64 + 8;
    let appends = (0..n).map(|i| {
        let lang = format!(
            "q{}{}",
            (b'a' + (i / 26) as u8) as char,
            (b'a' + (i % 26) as u8) as char
        );
        let l = leaf(&a, &cid(i), DAY_MS + i, "v1", Method::RejectAll, &[], &lang, false);
        let (store, a) = (store.clone(), a.clone());
        async move { store.append(new_visitor(&a, i, DAY_MS + i, l)).await.unwrap() }
    });
    futures_util::future::join_all(appends).await;
    let rows = store.analytics(&a, Period::new(day(0), day(0)).unwrap()).await.unwrap();
    let langs = &rows[0].tally.languages;
    assert_eq!(rows[0].tally.total, n);
    assert_eq!(langs.len(), MAX_LANGUAGES + 1, "{langs:?}");
    assert_eq!(langs[OTHER_LANGUAGE], 8);
    assert_eq!(langs.values().sum::<u64>(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_counts_every_kind_of_decision() {
    let dir = tempfile::tempdir().unwrap();
    counts(SqliteStore::open(dir.path()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_counts_every_kind_of_decision() {
    let redis = e2e::RedisServer::start().unwrap();
    counts(RedisStore::open(&redis.url(), "test:").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_caps_languages() {
    let dir = tempfile::tempdir().unwrap();
    languages_are_capped(SqliteStore::open(dir.path()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_caps_languages() {
    let redis = e2e::RedisServer::start().unwrap();
    languages_are_capped(RedisStore::open(&redis.url(), "test:").unwrap()).await;
}

/// The counts commit with the decisions: after a reopen they are all there,
/// and one batch of many decisions (`append_together`) counts each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_counts_a_whole_batch_once_each() {
    let redis = e2e::RedisServer::start().unwrap();
    let store = RedisStore::open(&redis.url(), "test:").unwrap();
    let a = SiteId::parse("batch").unwrap();
    make_site(&store, &a).await;
    let mut appends: Vec<Append> = (0..200)
        .map(|i| {
            let method = if i % 2 == 0 {
                Method::AcceptAll
            } else {
                Method::RejectAll
            };
            let l = leaf(
                &a,
                &cid(i),
                DAY_MS + i,
                "v1",
                method,
                &[("analytics", i % 2 == 0)],
                "nl",
                false,
            );
            new_visitor(&a, i, DAY_MS + i, l)
        })
        .collect();
    // One refused in the middle of the batch.
    appends.push(new_visitor(
        &a,
        3,
        DAY_MS,
        leaf(&a, &cid(3), DAY_MS, "v1", Method::AcceptAll, &[], "nl", false),
    ));
    let results = store.append_together(appends).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 200);
    let rows = store.analytics(&a, Period::new(day(0), day(0)).unwrap()).await.unwrap();
    let t = &rows[0].tally;
    assert_eq!(
        (t.total, t.accept_all, t.reject_all, t.categories["analytics"]),
        (200, 100, 100, 100)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_counts_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = SiteId::parse("reopen").unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        make_site(&store, &a).await;
        for i in 0..3 {
            let l = leaf(&a, &cid(i), DAY_MS + i, "v1", Method::AcceptAll, &[], "nl", false);
            store.append(new_visitor(&a, i, DAY_MS + i, l)).await.unwrap();
        }
        store.flush().await.unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let rows: Vec<DayTally> = store.analytics(&a, Period::new(day(0), day(0)).unwrap()).await.unwrap();
    assert_eq!(rows[0].tally.accept_all, 3);
    let mut more = Tally::default();
    more.add(&rows[0].tally);
    assert_eq!(more.total, 3);
}

/// The dashboard's analytics page, its CSV downloads and its tenancy.
async fn analytics_page_and_csv(kind: Kind) {
    let app = spawn_app(kind).await;
    let config = app.get_json("/api/v1/sites/demo/config").await;
    let categories: Vec<String> = config["config"]["categories"]
        .as_array()
        .or(config["categories"].as_array())
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    for (method, grant) in [
        ("accept_all", Some(true)),
        ("reject_all", Some(false)),
        ("custom", None),
    ] {
        let mut d = app.decision().await;
        d["method"] = method.into();
        if let Some(grant) = grant {
            d["categories"] = categories
                .iter()
                .filter(|c| *c != "necessary")
                .map(|c| (c.clone(), serde_json::Value::Bool(grant)))
                .collect::<serde_json::Map<_, _>>()
                .into();
            d["services"] = serde_json::json!({});
        }
        let res = app.post_decision("demo", &d).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    app.create_site("other", "https://other.example").await;

    let anon = crate::common::browser();
    let res = anon
        .get(app.url("/dashboard/sites/demo/analytics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the page needs a session");
    let res = anon
        .get(app.url("/dashboard/sites/demo/analytics/days.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "so does a download");

    let b = app.dashboard_login().await;
    let (status, page) = app.page(&b, "/dashboard/sites/demo", Some("en")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"href="/dashboard/sites/demo/analytics""#), "{page}");

    let res = b
        .get(app.url("/dashboard/sites/demo/analytics?days=7"))
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        !csp.contains("unsafe-inline") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("<svg") && page.contains("viewBox"), "{page}");
    assert!(
        !page.contains("style=") && !page.contains("<script"),
        "no inline style or script: {page}"
    );
    assert!(page.contains(r#"<th scope="col">"#), "{page}");
    assert!(page.contains(r#"<caption id="days-caption">"#), "{page}");
    // 3 decisions: one of each method, 33.3 % each.
    assert!(page.contains("33.3"), "{page}");
    assert!(
        page.contains(r#"href="/dashboard/sites/demo/analytics/methods.csv?from="#),
        "{page}"
    );

    let today = Day::of_ms(consent_server::clock::now_ms()).to_string();
    let res = b
        .get(app.url(&format!(
            "/dashboard/sites/demo/analytics/methods.csv?from={today}&to={today}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("method,decisions,percent\r\n"), "{csv}");
    assert!(csv.contains("accept_all,1,33.3\r\n"), "{csv}");
    let days = app
        .page(
            &b,
            &format!("/dashboard/sites/demo/analytics/days.csv?from={today}&to={today}"),
            None,
        )
        .await
        .1;
    assert!(days.contains(&format!("{today},3,1,1,1,0")), "{days}");
    for dataset in ["categories", "gpc", "languages", "versions"] {
        let (status, csv) = app
            .page(
                &b,
                &format!("/dashboard/sites/demo/analytics/{dataset}.csv?days=30"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{dataset}: {csv}");
    }
    let versions = app
        .page(&b, "/dashboard/sites/demo/analytics/versions.csv", None)
        .await
        .1;
    assert!(versions.contains(&app.demo_version().await), "{versions}");

    // The other site has nothing, and shows none of demo's.
    let (status, other) = app.page(&b, "/dashboard/sites/other/analytics/days.csv", None).await;
    assert_eq!(status, 200);
    assert!(other.lines().skip(1).all(|l| l.ends_with(",0,0,0,0,0")), "{other}");
    // Unknown sites, datasets and bad periods.
    assert_eq!(app.page(&b, "/dashboard/sites/nobody/analytics", None).await.0, 404);
    assert_eq!(
        app.page(&b, "/dashboard/sites/nobody/analytics/days.csv", None).await.0,
        404
    );
    assert_eq!(
        app.page(&b, "/dashboard/sites/demo/analytics/secrets.csv", None)
            .await
            .0,
        404
    );
    let (status, bad) = app
        .page(
            &b,
            "/dashboard/sites/demo/analytics?from=2026-13-01&to=2026-12-01",
            Some("en"),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad.contains("YYYY-MM-DD"), "{bad}");
    let (status, _) = app
        .page(
            &b,
            "/dashboard/sites/demo/analytics?from=2020-01-01&to=2026-01-01",
            None,
        )
        .await;
    assert_eq!(status, 400, "a period is bounded");
    let (status, _) = app
        .page(&b, "/dashboard/sites/demo/analytics?days=999999999999", None)
        .await;
    assert_eq!(status, 400);
    // Dutch by default.
    let (_, nl) = app.page(&b, "/dashboard/sites/demo/analytics", None).await;
    assert!(
        nl.contains(r#"<html lang="nl">"#) && nl.contains("Keuzes per dag"),
        "{nl}"
    );
}
both_backends!(analytics_page_and_csv);
