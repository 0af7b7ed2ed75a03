//! The owner API: admin sessions with CSRF, per-site scoped API keys, sites,
//! configurations, decisions and exports, on both storage backends.

mod common;

use common::{Kind, spawn_app};
use serde_json::{Value, json};

async fn sessions_need_the_password_and_csrf_token(kind: Kind) {
    let app = spawn_app(kind).await;
    let anon = &app.client;
    let res = anon.get(app.url("/api/v1/owner/sites")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let res = anon
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = anon
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "nobody", "password": app.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let (admin, csrf) = app.admin().await;
    let me: Value = admin
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, json!({"kind": "admin", "name": "admin"}));
    let sites: Value = admin
        .get(app.url("/api/v1/owner/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sites[0]["id"], "demo");

    // A state change riding on the cookie alone (what a forged cross-site
    // form would send) is refused.
    let create = json!({"id": "shop", "allowed_origins": ["https://shop.example.nl"]});
    let res = admin
        .post(app.url("/api/v1/owner/sites"))
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = admin
        .post(app.url("/api/v1/owner/sites"))
        .header("X-CSRF-Token", "guess")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = admin
        .post(app.url("/api/v1/owner/sites"))
        .header("X-CSRF-Token", &csrf)
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = admin
        .post(app.url("/api/v1/owner/sites"))
        .header("X-CSRF-Token", &csrf)
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    for (body, field) in [
        (json!({"id": "Bad Id"}), "id"),
        (
            json!({"id": "x", "allowed_origins": ["https://a.example/path"]}),
            "allowed_origins/0",
        ),
        (json!({"id": "x", "colour": "red"}), "colour"),
    ] {
        let res = admin
            .post(app.url("/api/v1/owner/sites"))
            .header("X-CSRF-Token", &csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        assert_eq!(res.json::<Value>().await.unwrap()["field"], field);
    }

    let res = admin
        .post(app.url("/api/v1/auth/logout"))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        admin.get(app.url("/api/v1/owner/sites")).send().await.unwrap().status(),
        401
    );
}
both_backends!(sessions_need_the_password_and_csrf_token);

async fn keys_are_confined_to_their_site_and_scopes(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("other", "https://other.example").await;
    let demo_reader = app.api_key("demo", &["decisions:read"]).await;
    let demo_writer = app.api_key("demo", &["config:write"]).await;
    let other_all = app.api_key("other", &["decisions:read", "config:write"]).await;
    assert!(demo_reader.starts_with("kmk_"));
    let get = |key: &str, path: &str| app.client.get(app.url(path)).bearer_auth(key).send();
    assert_eq!(app.post_decision("demo", &app.decision().await).await.status(), 201);

    // Reading: own site yes, the other site never.
    assert_eq!(
        get(&demo_reader, "/api/v1/owner/sites/demo/decisions")
            .await
            .unwrap()
            .status(),
        200
    );
    for path in [
        "/api/v1/owner/sites/other/decisions",
        "/api/v1/owner/sites/other/decisions/export",
        "/api/v1/owner/sites/other",
    ] {
        assert_eq!(get(&demo_reader, path).await.unwrap().status(), 403, "{path}");
    }
    assert_eq!(
        get(&other_all, "/api/v1/owner/sites/demo/decisions")
            .await
            .unwrap()
            .status(),
        403
    );
    let sites: Value = get(&demo_reader, "/api/v1/owner/sites")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sites.as_array().unwrap().len(), 1, "a key sees only its site");
    assert_eq!(sites[0]["id"], "demo");
    // Scopes: a writer cannot read decisions, a reader cannot write.
    assert_eq!(
        get(&demo_writer, "/api/v1/owner/sites/demo/decisions")
            .await
            .unwrap()
            .status(),
        403
    );
    let save = |key: &str, site: &str, body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/owner/sites/{site}/configs")))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let mut config = consent_core::SiteConfig::starter();
    config.expiry_days = 90;
    let body = serde_json::to_value(&config).unwrap();
    assert_eq!(save(&demo_reader, "demo", body.clone()).await.unwrap().status(), 403);
    assert_eq!(save(&other_all, "demo", body.clone()).await.unwrap().status(), 403);
    // Keys cannot mint keys or sites.
    let res = app
        .client
        .post(app.url("/api/v1/owner/sites/demo/keys"))
        .bearer_auth(&demo_writer)
        .json(&json!({"name": "x", "scopes": ["decisions:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .get(app.url("/api/v1/owner/sites"))
        .bearer_auth("kmk_not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The writer saves a configuration: a new immutable version, served at once.
    let old_version = app.demo_version().await;
    let res = save(&demo_writer, "demo", body.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["version"], config.version().0);
    assert_eq!(app.demo_version().await, config.version().0);
    // The old version is still there (decisions name it) and still accepted.
    let v: Value = get(&demo_writer, &format!("/api/v1/owner/sites/demo/configs/{old_version}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], old_version.as_str());
    assert_eq!(
        get(&other_all, &format!("/api/v1/owner/sites/demo/configs/{old_version}"))
            .await
            .unwrap()
            .status(),
        403
    );
    let mut invalid = body.clone();
    invalid["categories"][0]["id"] = json!("Not A Slug");
    let res = save(&demo_writer, "demo", invalid).await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "categories/0/id");
    let mut unknown = body.clone();
    unknown["colour"] = json!("red");
    let res = save(&demo_writer, "demo", unknown).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "colour");
    assert_eq!(
        app.demo_version().await,
        config.version().0,
        "refused configs change nothing"
    );

    // Origins: config:write on its own site only.
    let res = app
        .client
        .put(app.url("/api/v1/owner/sites/demo/origins"))
        .bearer_auth(&demo_writer)
        .json(&json!({"allowed_origins": ["https://demo.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["allowed_origins"],
        json!(["https://demo.example"])
    );
    let res = app
        .client
        .put(app.url("/api/v1/owner/sites/other/origins"))
        .bearer_auth(&demo_writer)
        .json(&json!({"allowed_origins": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}
both_backends!(keys_are_confined_to_their_site_and_scopes);

async fn decisions_list_look_up_and_export(kind: Kind) {
    let app = spawn_app(kind).await;
    let key = app.api_key("demo", &["decisions:read"]).await;
    let body = app.decision().await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        let v: Value = app.post_decision("demo", &body).await.json().await.unwrap();
        ids.push(v["consent_id"].as_str().unwrap().to_owned());
    }
    let get = |path: String| app.client.get(app.url(&path)).bearer_auth(&key).send();

    // Pagination by cursor.
    let mut seen = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/v1/owner/sites/demo/decisions?limit=3&after={a}"),
            None => "/api/v1/owner/sites/demo/decisions?limit=3".into(),
        };
        let page: Value = get(path).await.unwrap().json().await.unwrap();
        for d in page["decisions"].as_array().unwrap() {
            seen.push(d["record"]["consent_id"].as_str().unwrap().to_owned());
        }
        match page.get("next_after").and_then(Value::as_u64) {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    // By consent id and by time.
    let page: Value = get(format!("/api/v1/owner/sites/demo/decisions?consent_id={}", ids[3]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["decisions"].as_array().unwrap().len(), 1);
    assert_eq!(page["decisions"][0]["index"], 3);
    let page: Value = get("/api/v1/owner/sites/demo/decisions?from_ms=1&to_ms=2".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["decisions"].as_array().unwrap().is_empty());
    for (query, field) in [
        ("consent_id=xyz", "consent_id"),
        ("limit=0", "limit"),
        ("limit=abc", "query"),
        ("bogus=1", "query"),
    ] {
        let res = get(format!("/api/v1/owner/sites/demo/decisions?{query}"))
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{query}");
        assert_eq!(res.json::<Value>().await.unwrap()["field"], field, "{query}");
    }

    // Exports: JSON equals the listing; CSV has a header and one row each.
    let res = get("/api/v1/owner/sites/demo/decisions/export".into()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("decisions-demo.json")
    );
    let exported: Vec<Value> = res.json().await.unwrap();
    let listed: Value = get("/api/v1/owner/sites/demo/decisions?limit=1000".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(&exported, listed["decisions"].as_array().unwrap());
    let res = get("/api/v1/owner/sites/demo/decisions/export?format=csv".into())
        .await
        .unwrap();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("index,time_ms,consent_id"));
    assert_eq!(lines.len(), 8);
    assert!(lines[1].starts_with("0,") && lines[1].contains(&ids[0]));
    assert!(
        lines[1].contains("analytics;necessary") && lines[1].contains("youtube=granted"),
        "{}",
        lines[1]
    );
    let res = get("/api/v1/owner/sites/demo/decisions/export?format=xml".into())
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // An empty export is still valid JSON.
    app.create_site("empty", "https://e.example").await;
    let (admin, _) = app.admin().await;
    let empty: Vec<Value> = admin
        .get(app.url("/api/v1/owner/sites/empty/decisions/export"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(empty.is_empty());
}
both_backends!(decisions_list_look_up_and_export);

#[tokio::test]
async fn export_streams_more_than_one_page() {
    let app = spawn_app(Kind::Sqlite).await;
    let key = app.api_key("demo", &["decisions:read"]).await;
    let body = app.decision().await;
    let mut tasks = Vec::new();
    let app = std::sync::Arc::new(app);
    for _ in 0..1100 {
        let (app, body) = (app.clone(), body.clone());
        tasks.push(tokio::spawn(
            async move { app.post_decision("demo", &body).await.status() },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let csv = app
        .client
        .get(app.url("/api/v1/owner/sites/demo/decisions/export?format=csv"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 1101);
    let json: Vec<Value> = app
        .client
        .get(app.url("/api/v1/owner/sites/demo/decisions/export"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let indexes: Vec<u64> = json.iter().map(|d| d["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, (0..1100).collect::<Vec<_>>());
}
