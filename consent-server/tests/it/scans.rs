//! Scan reports over real HTTP: upload with a `scans:write` key, list and
//! read back with `scans:read`, tenants kept apart, bad input refused.

use crate::common::{Kind, spawn_app};
use serde_json::{Value, json};

/// A report in the shape `scanner/REPORT.md` documents (schema version 1).
fn report(site: &str) -> Value {
    json!({
        "schema": "keurmerk-scan-report",
        "schema_version": 1,
        "scanner": {"name": "consent-scan", "version": "0.1.0", "knowledge_base": "2026-11-01"},
        "site": site,
        "started_at": 1_790_000_000,
        "duration_ms": 5123,
        "declaration": {"origin": "none (no declaration given)"},
        "summary": {"pages_static": 3, "pages_browser": 1, "platforms": 1, "cookies": 1,
            "personal_data_requests": 0, "findings": {"high": 1, "medium": 1}, "highest": "high"},
        "findings": [
            {"rule": "tracking-before-consent", "severity": "high", "title": "Meta Pixel 1234 before consent",
             "platform": "meta-pixel", "remedy": "Block Meta Pixel until consent",
             "evidence": [{"page": site, "state": "before-consent", "request": "https://www.facebook.com/tr?id=1234", "params": [], "personal_data": [], "note": "request"}],
             "evidence_total": 1},
            {"rule": "undeclared-cookie", "severity": "medium", "title": "Cookie _fbp is not declared",
             "platform": "meta-pixel", "remedy": "Declare cookie `_fbp` under Marketing / Meta Pixel",
             "evidence": [{"cookie": "_fbp", "note": "set by script"}], "evidence_total": 1}
        ],
        "platforms": [], "cookies": [], "storage": [], "personal_data": [], "pages": [], "problems": [], "banners": [],
        "a_future_field": {"kept": true}
    })
}

async fn scans_upload_list_and_read(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    let writer = app.api_key("shop", &["scans:write"]).await;
    let reader = app.api_key("shop", &["scans:read"]).await;
    let body = report("https://shop.example.nl/");
    let url = "/api/v1/sites/shop/scans";

    let res = app.post_with_key(url, &writer, &body).await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["site"], "shop");
    assert_eq!(first["url"], "https://shop.example.nl/");
    assert_eq!(first["counts"], json!({"high": 1, "medium": 1}));
    let res = app.post_with_key(url, &writer, &body).await;
    assert_eq!(res.status(), 201);
    let second: Value = res.json().await.unwrap();

    // The writer key cannot read; the reader key cannot write.
    assert_eq!(app.get_with_key(url, &writer).await.status(), 403);
    assert_eq!(app.post_with_key(url, &reader, &body).await.status(), 403);

    let page = app.json_with_key(url, &reader).await;
    let ids: Vec<&str> = page["scans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![second["id"].as_str().unwrap(), first["id"].as_str().unwrap()],
        "newest first"
    );
    let page1 = app.json_with_key(&format!("{url}?limit=1"), &reader).await;
    assert_eq!(page1["scans"][0]["id"], second["id"]);
    let before = page1["next_before"].as_str().unwrap();
    let page2 = app
        .json_with_key(&format!("{url}?limit=1&before={before}"), &reader)
        .await;
    assert_eq!(page2["scans"][0]["id"], first["id"]);

    // The report comes back exactly as uploaded, unknown fields included.
    let res = app
        .get_with_key(&format!("{url}/{}", first["id"].as_str().unwrap()), &reader)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let back: Value = res.json().await.unwrap();
    assert_eq!(back, body);

    // The admin session reads too.
    assert_eq!(app.admin().await.get(url).await.status(), 200);
}
both_backends!(scans_upload_list_and_read);

async fn scans_are_per_tenant(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    app.create_site("other", "https://other.example.nl").await;
    let shop_writer = app.api_key("shop", &["scans:write", "scans:read"]).await;
    let other = app.api_key("other", &["scans:write", "scans:read"]).await;
    let res = app
        .post_with_key(
            "/api/v1/sites/shop/scans",
            &shop_writer,
            &report("https://shop.example.nl/"),
        )
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    // Another site's key can neither upload to, list nor read shop's scans.
    let res = app
        .post_with_key("/api/v1/sites/shop/scans", &other, &report("https://shop.example.nl/"))
        .await;
    assert_eq!(res.status(), 403);
    let res = app.get_with_key("/api/v1/sites/shop/scans", &other).await;
    assert_eq!(res.status(), 403);
    let res = app
        .get_with_key(&format!("/api/v1/sites/shop/scans/{id}"), &other)
        .await;
    assert_eq!(res.status(), 403);
    // Under its own site the id does not exist.
    let res = app
        .get_with_key(&format!("/api/v1/sites/other/scans/{id}"), &other)
        .await;
    assert_eq!(res.status(), 404);
    let page = app.json_with_key("/api/v1/sites/other/scans", &other).await;
    assert_eq!(page["scans"], json!([]));
    // No key at all.
    let res = app
        .client
        .post(app.url("/api/v1/sites/shop/scans"))
        .json(&report("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
both_backends!(scans_are_per_tenant);

async fn scans_refuse_bad_input(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("shop", "https://shop.example.nl").await;
    let key = app.api_key("shop", &["scans:write", "scans:read"]).await;
    let url = app.url("/api/v1/sites/shop/scans");
    let post = |body: Vec<u8>| {
        app.client
            .post(&url)
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let check = |res: reqwest::Response, status: u16, field: Option<&'static str>| async move {
        assert_eq!(res.status(), status);
        let v: Value = res.json().await.unwrap();
        if let Some(f) = field {
            assert_eq!(v["field"], f, "{v}");
        }
    };
    let mut bad = report("x");
    bad["findings"][1]["severity"] = json!("apocalyptic");
    for (body, field) in [
        (b"not json".to_vec(), None),
        (b"[1,2]".to_vec(), None),
        (b"{\"site\":\"x\"}".to_vec(), Some("schema_version")),
        (b"{\"schema_version\":\"1\"}".to_vec(), Some("schema_version")),
        (serde_json::to_vec(&bad).unwrap(), Some("findings/1/severity")),
    ] {
        check(post(body).await.unwrap(), 422, field).await;
    }

    // Over 4 MiB: 413 with the JSON error shape, and nothing stored.
    let mut huge = report("x");
    huge["padding"] = json!("x".repeat(consent_core::store::MAX_SCAN_BYTES));
    check(post(serde_json::to_vec(&huge).unwrap()).await.unwrap(), 413, None).await;
    let page = app.json_with_key("/api/v1/sites/shop/scans", &key).await;
    assert_eq!(page["scans"], json!([]), "nothing stored from bad uploads");

    // Unknown site, bad query, unknown scan.
    let res = app.admin().await.post("/api/v1/sites/nope/scans", &report("x")).await;
    assert_eq!(res.status(), 404);
    let res = app.get_with_key("/api/v1/sites/shop/scans?limit=0", &key).await;
    check(res, 422, Some("limit")).await;
    let res = app.get_with_key("/api/v1/sites/shop/scans/nope", &key).await;
    assert_eq!(res.status(), 404);
}
both_backends!(scans_refuse_bad_input);
