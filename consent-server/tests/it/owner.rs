//! The owner API: admin sessions with CSRF, per-site scoped API keys, sites,
//! configurations, decisions and exports, on both storage backends.

use crate::common::{Kind, spawn_app};
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

    let admin = app.admin().await;
    let me = admin.get_json("/api/v1/auth/me").await;
    assert_eq!(me, json!({"kind": "admin", "name": "admin"}));
    let sites = admin.get_json("/api/v1/owner/sites").await;
    assert_eq!(sites[0]["id"], "demo");

    // A state change riding on the cookie alone (what a forged cross-site
    // form would send) is refused.
    let create = json!({"id": "shop", "allowed_origins": ["https://shop.example.nl"]});
    let sites = "/api/v1/owner/sites";
    assert_eq!(admin.post_with_csrf(sites, None, &create).await.status(), 403);
    assert_eq!(admin.post_with_csrf(sites, Some("guess"), &create).await.status(), 403);
    assert_eq!(admin.post(sites, &create).await.status(), 201);
    assert_eq!(admin.post(sites, &create).await.status(), 409);
    for (body, field) in [
        (json!({"id": "Bad Id"}), "id"),
        (
            json!({"id": "x", "allowed_origins": ["https://a.example/path"]}),
            "allowed_origins/0",
        ),
        (json!({"id": "x", "colour": "red"}), "colour"),
    ] {
        let res = admin.post(sites, &body).await;
        assert_eq!(res.status(), 422);
        assert_eq!(res.json::<Value>().await.unwrap()["field"], field);
    }

    let res = admin
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("X-CSRF-Token", &admin.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(admin.get(sites).await.status(), 401);
}
both_backends!(sessions_need_the_password_and_csrf_token);

async fn keys_are_confined_to_their_site_and_scopes(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("other", "https://other.example").await;
    let demo_reader = app.api_key("demo", &["decisions:read"]).await;
    let demo_writer = app.api_key("demo", &["config:write"]).await;
    let other_all = app.api_key("other", &["decisions:read", "config:write"]).await;
    assert!(demo_reader.starts_with("kmk_"));
    assert_eq!(app.post_decision("demo", &app.decision().await).await.status(), 201);

    // Reading: own site yes, the other site never.
    assert_eq!(
        app.get_with_key("/api/v1/owner/sites/demo/decisions", &demo_reader)
            .await
            .status(),
        200
    );
    for path in [
        "/api/v1/owner/sites/other/decisions",
        "/api/v1/owner/sites/other/decisions/export",
        "/api/v1/owner/sites/other",
    ] {
        assert_eq!(app.get_with_key(path, &demo_reader).await.status(), 403, "{path}");
    }
    assert_eq!(
        app.get_with_key("/api/v1/owner/sites/demo/decisions", &other_all)
            .await
            .status(),
        403
    );
    let sites = app.json_with_key("/api/v1/owner/sites", &demo_reader).await;
    assert_eq!(sites.as_array().unwrap().len(), 1, "a key sees only its site");
    assert_eq!(sites[0]["id"], "demo");
    // Scopes: a writer cannot read decisions, a reader cannot write.
    assert_eq!(
        app.get_with_key("/api/v1/owner/sites/demo/decisions", &demo_writer)
            .await
            .status(),
        403
    );
    let configs = "/api/v1/owner/sites/demo/configs";
    let mut config = consent_core::SiteConfig::starter();
    config.expiry_days = 90;
    let body = serde_json::to_value(&config).unwrap();
    assert_eq!(app.post_with_key(configs, &demo_reader, &body).await.status(), 403);
    assert_eq!(app.post_with_key(configs, &other_all, &body).await.status(), 403);
    // Keys cannot mint keys or sites.
    let mint = json!({"name": "x", "scopes": ["decisions:read"]});
    let res = app
        .post_with_key("/api/v1/owner/sites/demo/keys", &demo_writer, &mint)
        .await;
    assert_eq!(res.status(), 403);
    let res = app.get_with_key("/api/v1/owner/sites", "kmk_not-a-key").await;
    assert_eq!(res.status(), 401);

    // The writer saves a configuration: a new immutable version, served at once.
    let old_version = app.demo_version().await;
    let res = app.post_with_key(configs, &demo_writer, &body).await;
    assert_eq!(res.status(), 201);
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["version"], config.version().0);
    assert_eq!(app.demo_version().await, config.version().0);
    // The old version is still there (decisions name it) and still accepted.
    let v = app
        .json_with_key(&format!("/api/v1/owner/sites/demo/configs/{old_version}"), &demo_writer)
        .await;
    assert_eq!(v["version"], old_version.as_str());
    assert_eq!(
        app.get_with_key(&format!("/api/v1/owner/sites/demo/configs/{old_version}"), &other_all)
            .await
            .status(),
        403
    );
    let mut invalid = body.clone();
    invalid["categories"][0]["id"] = json!("Not A Slug");
    let res = app.post_with_key(configs, &demo_writer, &invalid).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "categories/0/id");
    let mut unknown = body.clone();
    unknown["colour"] = json!("red");
    let res = app.post_with_key(configs, &demo_writer, &unknown).await;
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "colour");
    assert_eq!(
        app.demo_version().await,
        config.version().0,
        "refused configs change nothing"
    );

    // Origins: config:write on its own site only.
    let origins = json!({"allowed_origins": ["https://demo.example"]});
    let res = app
        .put_with_key("/api/v1/owner/sites/demo/origins", &demo_writer, &origins)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["allowed_origins"],
        json!(["https://demo.example"])
    );
    let none = json!({"allowed_origins": []});
    let res = app
        .put_with_key("/api/v1/owner/sites/other/origins", &demo_writer, &none)
        .await;
    assert_eq!(res.status(), 403);
}
both_backends!(keys_are_confined_to_their_site_and_scopes);

/// Keys can be revoked (by an admin, with the CSRF token), expire, and
/// show when they were last used.
async fn keys_are_revoked_expire_and_show_their_last_use(kind: Kind) {
    use consent_core::store::AccountStore as _;
    let app = spawn_app(kind).await;
    app.create_site("other", "https://other.example").await;
    let admin = app.admin().await;
    let keys = "/api/v1/owner/sites/demo/keys";
    let sites = "/api/v1/owner/sites/demo";
    let create = |body: Value| {
        let admin = &admin;
        async move { admin.post(keys, &body).await }
    };
    let res = create(json!({"name": "crm", "scopes": ["decisions:read"]})).await;
    assert_eq!(res.status(), 201);
    let crm: Value = res.json().await.unwrap();
    let (crm_id, crm_key) = (crm["id"].as_str().unwrap(), crm["key"].as_str().unwrap());
    assert!(
        crm.get("expires_ms").is_none() && crm.get("last_used_ms").is_none(),
        "{crm}"
    );
    let other_key = app.api_key("other", &["decisions:read"]).await;
    let other_id = admin.get_json("/api/v1/owner/sites/other/keys").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Last use: recorded beside the request, shown in the listing.
    assert_eq!(app.get_with_key(sites, crm_key).await.status(), 200);
    let last_used = || {
        let admin = &admin;
        async move {
            for _ in 0..200 {
                let listed = admin.get_json(keys).await;
                let crm = listed
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|k| k["id"] == crm_id)
                    .cloned()
                    .unwrap();
                if let Some(t) = crm.get("last_used_ms").and_then(Value::as_u64) {
                    return t;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            panic!("last_used_ms never appeared");
        }
    };
    let first = last_used().await;
    let now = consent_server::clock::now_ms();
    assert!(first <= now && now - first < 60_000, "{first} vs {now}");
    // Within the minute a use writes nothing; after it, the next use does.
    assert_eq!(app.get_with_key(sites, crm_key).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(last_used().await, first);
    let hash = consent_server::service::credentials::sha256(crm_key);
    app.state.store.touch_api_key(&hash, now - 120_000).await.unwrap();
    assert_eq!(app.get_with_key(sites, crm_key).await.status(), 200);
    for _ in 0..200 {
        if last_used().await > now - 120_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(last_used().await >= now, "an old last use is brought up to date");

    // Revoking: admin only, with the CSRF token; only the site's own keys.
    let revoke = |site: &str, id: &str, csrf: Option<&str>| {
        let mut req = admin
            .client
            .delete(app.url(&format!("/api/v1/owner/sites/{site}/keys/{id}")));
        if let Some(csrf) = csrf {
            req = req.header("X-CSRF-Token", csrf);
        }
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(revoke("demo", crm_id, None).await, 403, "no CSRF token");
    let res = app
        .client
        .delete(app.url(&format!("{keys}/{crm_id}")))
        .bearer_auth(crm_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a key cannot revoke keys");
    assert_eq!(revoke("demo", "key_000000000000", Some(&admin.csrf)).await, 404);
    assert_eq!(
        revoke("demo", &other_id, Some(&admin.csrf)).await,
        404,
        "another site's key"
    );
    assert_eq!(
        app.get_with_key("/api/v1/owner/sites/other", &other_key).await.status(),
        200
    );
    assert_eq!(app.get_with_key(sites, crm_key).await.status(), 200);
    assert_eq!(revoke("demo", crm_id, Some(&admin.csrf)).await, 204);
    let res = app.get_with_key(sites, crm_key).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "unauthorized");
    assert_eq!(revoke("demo", crm_id, Some(&admin.csrf)).await, 404, "revoked already");
    let listed = admin.get_json(keys).await;
    assert!(listed.as_array().unwrap().iter().all(|k| k["id"] != crm_id), "{listed}");

    // Expiry: given at creation, shown in the listing; an expired key is refused.
    let day = 24 * 3600 * 1000;
    let res = create(json!({"name": "a week", "scopes": ["decisions:read"], "expires_in_days": 7})).await;
    assert_eq!(res.status(), 201);
    let week: Value = res.json().await.unwrap();
    let expires = week["expires_ms"].as_u64().unwrap();
    let now = consent_server::clock::now_ms();
    assert!(expires > now + 7 * day - 60_000 && expires <= now + 7 * day, "{week}");
    assert_eq!(
        app.get_with_key(sites, week["key"].as_str().unwrap()).await.status(),
        200
    );
    for (body, field) in [
        (json!({"expires_ms": now - 1}), "expires_ms"),
        (json!({"expires_ms": now + 3651 * day}), "expires_ms"),
        (json!({"expires_in_days": 0}), "expires_in_days"),
        (
            json!({"expires_ms": now + day, "expires_in_days": 1}),
            "expires_in_days",
        ),
    ] {
        let mut body = body;
        body["name"] = json!("x");
        body["scopes"] = json!(["decisions:read"]);
        let res = create(body.clone()).await;
        assert_eq!(res.status(), 422, "{body}");
        assert_eq!(res.json::<Value>().await.unwrap()["field"], field, "{body}");
    }
    let soon = now + 1500;
    let res = create(json!({"name": "soon", "scopes": ["decisions:read"], "expires_ms": soon})).await;
    let soon_key: Value = res.json().await.unwrap();
    assert_eq!(soon_key["expires_ms"], soon);
    let soon_key = soon_key["key"].as_str().unwrap();
    let wait = soon.saturating_sub(consent_server::clock::now_ms());
    tokio::time::sleep(std::time::Duration::from_millis(wait + 50)).await;
    let res = app.get_with_key(sites, soon_key).await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("expired"));
}
both_backends!(keys_are_revoked_expire_and_show_their_last_use);

/// A configuration's links become `href`s in every visitor's banner: a
/// `javascript:` URL is refused with the field that holds it, whether the
/// configuration is saved or comes with a new site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_links_must_be_http_urls() {
    let app = spawn_app(Kind::Sqlite).await;
    let writer = app.api_key("demo", &["config:write"]).await;
    let configs = "/api/v1/owner/sites/demo/configs";
    let before = app.demo_version().await;
    let mut top = serde_json::to_value(consent_core::SiteConfig::starter()).unwrap();
    top["privacy_policy_url"] = json!("javascript:alert(1)");
    let mut in_service = serde_json::to_value(consent_core::SiteConfig::starter()).unwrap();
    in_service["services"] = json!([
        {"id": "ok", "name": "OK", "category": "analytics", "privacy_policy_url": "https://ok.example/privacy"},
        {"id": "meta", "name": "Meta", "category": "marketing", "privacy_policy_url": "javascript:alert(1)"},
    ]);
    for (body, field) in [
        (&top, "privacy_policy_url"),
        (&in_service, "services/1/privacy_policy_url"),
    ] {
        let res = app.post_with_key(configs, &writer, body).await;
        assert_eq!(res.status(), 422, "{field}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["field"], field, "{v}");
    }
    assert_eq!(app.demo_version().await, before, "nothing was saved");
    let res = app
        .admin()
        .await
        .post(
            "/api/v1/owner/sites",
            &json!({"id": "evil", "allowed_origins": [], "config": top}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "config/privacy_policy_url");
    // An http(s) link is saved.
    top["privacy_policy_url"] = json!("https://shop.example.nl/privacy");
    assert_eq!(app.post_with_key(configs, &writer, &top).await.status(), 201);
}

async fn decisions_list_look_up_and_export(kind: Kind) {
    let app = spawn_app(kind).await;
    let key = app.api_key("demo", &["decisions:read"]).await;
    let body = app.decision().await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        let v: Value = app.post_decision("demo", &body).await.json().await.unwrap();
        ids.push(v["consent_id"].as_str().unwrap().to_owned());
    }

    // Pagination by cursor.
    let mut seen = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/v1/owner/sites/demo/decisions?limit=3&after={a}"),
            None => "/api/v1/owner/sites/demo/decisions?limit=3".into(),
        };
        let page = app.json_with_key(&path, &key).await;
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
    let page = app
        .json_with_key(
            &format!("/api/v1/owner/sites/demo/decisions?consent_id={}", ids[3]),
            &key,
        )
        .await;
    assert_eq!(page["decisions"].as_array().unwrap().len(), 1);
    assert_eq!(page["decisions"][0]["index"], 3);
    let page = app
        .json_with_key("/api/v1/owner/sites/demo/decisions?from_ms=1&to_ms=2", &key)
        .await;
    assert!(page["decisions"].as_array().unwrap().is_empty());
    for (query, field) in [
        ("consent_id=xyz", "consent_id"),
        ("limit=0", "limit"),
        ("limit=abc", "query"),
        ("bogus=1", "query"),
    ] {
        let res = app
            .get_with_key(&format!("/api/v1/owner/sites/demo/decisions?{query}"), &key)
            .await;
        assert_eq!(res.status(), 422, "{query}");
        assert_eq!(res.json::<Value>().await.unwrap()["field"], field, "{query}");
    }

    // Exports: JSON equals the listing; CSV has a header and one row each.
    let res = app
        .get_with_key("/api/v1/owner/sites/demo/decisions/export", &key)
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("decisions-demo.json")
    );
    let exported: Vec<Value> = res.json().await.unwrap();
    let listed = app
        .json_with_key("/api/v1/owner/sites/demo/decisions?limit=1000", &key)
        .await;
    assert_eq!(&exported, listed["decisions"].as_array().unwrap());
    let res = app
        .get_with_key("/api/v1/owner/sites/demo/decisions/export?format=csv", &key)
        .await;
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
    let res = app
        .get_with_key("/api/v1/owner/sites/demo/decisions/export?format=xml", &key)
        .await;
    assert_eq!(res.status(), 422);
    // An empty export is still valid JSON.
    app.create_site("empty", "https://e.example").await;
    let empty = app
        .admin()
        .await
        .get_json("/api/v1/owner/sites/empty/decisions/export")
        .await;
    assert_eq!(empty, json!([]));
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
        .text_with_key("/api/v1/owner/sites/demo/decisions/export?format=csv", &key)
        .await;
    assert_eq!(csv.lines().count(), 1101);
    let json = app
        .json_with_key("/api/v1/owner/sites/demo/decisions/export", &key)
        .await;
    let indexes: Vec<u64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..1100).collect::<Vec<_>>());
}
