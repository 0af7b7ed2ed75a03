//! The HTTP API against the real server (in-process, on a free port), on
//! both storage backends.

use crate::common::{Kind, TestApp, spawn_app, spawn_app_with};
use consent_core::DecisionRecord;
use consent_core::store::DecisionStore;
use serde_json::{Value, json};

async fn error_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn records_new_and_returning_visitors(kind: Kind) {
    let app = spawn_app(kind).await;
    let body = app.decision().await;
    let res = app.post_decision("demo", &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["access-control-allow-origin"], app.origin());
    let first: Value = res.json().await.unwrap();
    let consent_id = first["consent_id"].as_str().unwrap().to_owned();
    let secret = first["secret"].as_str().unwrap().to_owned();
    assert_eq!(consent_id.len(), 32);
    assert!(secret.len() >= 43, "256-bit secret");
    assert_eq!(first["index"], 0);

    // The returning visitor changes their mind under the same consent id.
    let mut again = body.clone();
    again["consent_id"] = json!(consent_id);
    again["secret"] = json!(secret);
    again["method"] = json!("withdrawal");
    again["categories"] = json!({});
    again["services"] = json!({});
    let res = app.post_decision("demo", &again).await;
    assert_eq!(res.status(), 201);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["consent_id"], consent_id.as_str());
    assert_eq!(second["index"], 1);
    assert!(second.get("secret").is_none(), "the secret is handed out once");

    // A wrong secret, or a consent id the site never issued: 403, nothing stored.
    again["secret"] = json!("not-the-secret");
    assert_eq!(app.post_decision("demo", &again).await.status(), 403);
    again["consent_id"] = json!("0".repeat(32));
    assert_eq!(app.post_decision("demo", &again).await.status(), 403);
    assert_eq!(app.leaf_count().await, 2);

    // What was stored: the canonical record, personal fields sealed under the visitor's key.
    let leaves = app.state.store.leaves(0..2).await.unwrap();
    let record = DecisionRecord::from_canonical_bytes(&leaves[0]).unwrap();
    assert_eq!(record.consent_id.as_str(), consent_id);
    assert_eq!(record.site.as_str(), "demo");
    assert!(record.categories["necessary"] && record.categories["analytics"] && !record.categories["marketing"]);
    let visitor = app
        .state
        .store
        .visitor(&record.site, &record.consent_id)
        .await
        .unwrap()
        .unwrap();
    let personal = record.open(&visitor.sealing_key.unwrap()).unwrap();
    assert_eq!(personal.page_path, "/winkel");
    assert_eq!(personal.browser.as_deref(), Some("Firefox 133"));
    assert!(!String::from_utf8_lossy(&leaves[0]).contains("winkel"));
    assert!(
        !String::from_utf8_lossy(&leaves[0]).contains(&secret),
        "the secret is never stored"
    );
}
both_backends!(records_new_and_returning_visitors);

async fn bad_input_is_refused_precisely_and_changes_nothing(kind: Kind) {
    let app = spawn_app(kind).await;
    let good = app.decision().await;
    let post_raw = |site: &str, origin: Option<&str>, body: Vec<u8>| {
        let mut req = app
            .client
            .post(app.url(&format!("/api/v1/sites/{site}/decisions")))
            .header("content-type", "application/json")
            .body(body);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send()
    };
    let origin = Some(app.origin());

    // 413: over 16 KiB.
    let mut huge = good.clone();
    huge["page_path"] = json!(format!("/{}", "a".repeat(17 * 1024)));
    let (status, err) = error_of(
        post_raw("demo", origin, serde_json::to_vec(&huge).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, err["error"].as_str()), (413, Some("too_large")));

    // 422: malformed JSON, unknown fields, unknown category/service/version, bad values.
    let (status, err) = error_of(post_raw("demo", origin, b"{not json".to_vec()).await.unwrap()).await;
    assert_eq!(status, 422);
    assert!(
        err["message"].as_str().unwrap().contains("key must be a string"),
        "{err}"
    );
    // A valid decision followed by anything else is not a decision.
    let mut trailing = serde_json::to_vec(&good).unwrap();
    trailing.extend_from_slice(b" {}");
    let (status, err) = error_of(post_raw("demo", origin, trailing).await.unwrap()).await;
    assert_eq!((status, err["error"].as_str()), (422, Some("invalid")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("trailing"), "{err}");
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|v| v["ip"] = json!("1.2.3.4")), "ip"),
        (Box::new(|v| v["categories"]["ads"] = json!(true)), "categories/ads"),
        (Box::new(|v| v["services"]["tiktok"] = json!(true)), "services/tiktok"),
        (
            Box::new(|v| v["config_version"] = json!("f".repeat(64))),
            "config_version",
        ),
        (Box::new(|v| v["method"] = json!("maybe")), "method"),
        (Box::new(|v| v["language"] = json!("xx")), "language"),
        (
            Box::new(|v| v["page_path"] = json!("/a?email=x@example.com")),
            "page_path",
        ),
        (
            Box::new(|v| v["categories"]["analytics"] = json!("yes")),
            "categories/analytics",
        ),
        (Box::new(|v| v["consent_id"] = json!("zz")), "consent_id"),
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("language");
            }),
            "language",
        ),
    ];
    for (change, field) in cases {
        let mut body = good.clone();
        change(&mut body);
        let (status, err) = error_of(app.post_decision("demo", &body).await).await;
        assert_eq!(status, 422, "{field}: {err}");
        assert_eq!(err["field"], field, "{err}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }

    // 404: unknown site (and ids that cannot be sites).
    for site in ["nope", "NOPE", "a%20b"] {
        let (status, err) = error_of(app.post_decision(site, &good).await).await;
        assert_eq!((status, err["error"].as_str()), (404, Some("not_found")), "{site}");
    }

    // 403: missing or foreign Origin, without CORS approval.
    let res = post_raw("demo", None, serde_json::to_vec(&good).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = post_raw("demo", Some("https://evil.example"), serde_json::to_vec(&good).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("access-control-allow-origin").is_none());

    assert_eq!(app.leaf_count().await, 0, "nothing was recorded");
    assert_eq!(app.post_decision("demo", &good).await.status(), 201);
}
both_backends!(bad_input_is_refused_precisely_and_changes_nothing);

#[tokio::test]
async fn cors_preflight_follows_the_sites_origins() {
    let app = spawn_app(Kind::Sqlite).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/sites/demo/decisions"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let res = preflight("http://localhost:8080").await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "http://localhost:8080");
    assert_eq!(res.headers()["access-control-allow-methods"], "POST");
    assert!(
        res.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("content-type")
    );
    assert_eq!(res.headers()["vary"], "Origin");
    let res = preflight("https://evil.example").await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/sites/nope/decisions"))
        .header("Origin", "http://localhost:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn rate_limits_per_client_and_per_site_answer_429_with_retry_after() {
    let app = spawn_app_with(Kind::Sqlite, |s| s.client_rate = 1).await;
    let body = app.decision().await;
    // The burst is five seconds' worth.
    for _ in 0..5 {
        assert_eq!(app.post_decision("demo", &body).await.status(), 201);
    }
    let res = app.post_decision("demo", &body).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(error_of(res).await.1["error"], "rate_limited");
    assert_eq!(app.leaf_count().await, 5);

    let app = spawn_app_with(Kind::Sqlite, |s| s.site_rate = 2).await;
    let body = app.decision().await;
    for _ in 0..10 {
        assert_eq!(app.post_decision("demo", &body).await.status(), 201);
    }
    let res = app.post_decision("demo", &body).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(error_of(res).await.1["message"].as_str().unwrap().contains("site"));
}

async fn public_config_and_loader_are_cacheable(kind: Kind) {
    let app = spawn_app(kind).await;
    let res = app.get("/api/v1/sites/demo/config").await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(res.headers()["cache-control"], "public, max-age=60");
    let body: Value = res.json().await.unwrap();
    assert_eq!(etag, format!("\"{}\"", body["version"].as_str().unwrap()));
    let config: consent_core::SiteConfig = serde_json::from_value(body["config"].clone()).unwrap();
    assert_eq!(
        config.version().0,
        body["version"].as_str().unwrap(),
        "the version is the content address"
    );
    assert!(config.service("youtube").is_some() && config.service("meta-pixel").is_some());
    // Plain and brotli answers (built once per version, then served from
    // memory) say the same, with the same headers.
    let raw = reqwest::Client::builder().no_brotli().no_gzip().build().unwrap();
    let mut answers = Vec::new();
    for encoding in ["identity", "br", "identity", "gzip, deflate, br"] {
        let res = raw
            .get(app.url("/api/v1/sites/demo/config"))
            .header("Accept-Encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.headers()["etag"], etag.as_str());
        assert_eq!(res.headers()["vary"], "accept-encoding");
        let br = res
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(br.is_some(), encoding.contains("br"), "{encoding}");
        answers.push(res.bytes().await.unwrap());
    }
    assert_eq!(serde_json::from_slice::<Value>(&answers[0]).unwrap(), body);
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[1], answers[3]);
    assert!(
        answers[1].len() < answers[0].len() / 2,
        "brotli shrinks the configuration"
    );
    let res = app
        .get_with_header("/api/v1/sites/demo/config", "If-None-Match", &etag)
        .await;
    assert_eq!(res.status(), 304);
    assert_eq!(app.get("/api/v1/sites/nope/config").await.status(), 404);

    let res = app.get("/s/demo/loader.js").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
    assert_eq!(res.headers()["cache-control"], consent_core::loader::CACHE_CONTROL);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let script = res.text().await.unwrap();
    assert!(script.contains(&config.version().0));
    let res = app.get_with_header("/s/demo/loader.js", "If-None-Match", &etag).await;
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["cache-control"], consent_core::loader::CACHE_CONTROL);
    assert_eq!(app.get("/s/nope/loader.js").await.status(), 404);
}
both_backends!(public_config_and_loader_are_cacheable);

/// Two sites with the same configuration share its version (a content
/// address), yet each must get its own answer: the compressed body is
/// cached by what it says, not by the version alone.
async fn sites_with_one_configuration_get_their_own_config(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("twin-a", "https://a.example").await;
    app.create_site("twin-b", "https://b.example").await;
    let mut versions = Vec::new();
    for site in ["twin-a", "twin-b", "twin-a"] {
        // The client asks for brotli and decodes it.
        let res = app.get(&format!("/api/v1/sites/{site}/config")).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["site"], site);
        versions.push(body["version"].clone());
    }
    assert_eq!(versions[0], versions[1], "the twins share a configuration version");
}
both_backends!(sites_with_one_configuration_get_their_own_config);

#[tokio::test]
async fn widget_assets_demo_pages_and_root() {
    let app = spawn_app(Kind::Sqlite).await;
    // Without a demo origin the root leads to the dashboard and /demo/ is nothing.
    let root = app.get("/").await;
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/dashboard/");
    assert_eq!(app.get("/demo/").await.status(), 404);
    assert_eq!(app.get("/widget/nope.js").await.status(), 404);

    let widget = &app.state.settings.widget_dir;
    std::fs::create_dir_all(widget).unwrap();
    std::fs::write(widget.join("widget.js"), "console.log('plain')").unwrap();
    std::fs::write(widget.join("widget.js.br"), "brotli bytes").unwrap();
    let demo = &app.state.settings.demo_dir;
    std::fs::create_dir_all(demo).unwrap();
    std::fs::write(demo.join("index.html"), "<h1>demo</h1>").unwrap();

    let plain = reqwest::Client::builder().no_brotli().no_gzip().build().unwrap();
    let res = plain.get(app.url("/widget/widget.js")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    assert_eq!(res.text().await.unwrap(), "console.log('plain')");
    let res = plain
        .get(app.url("/widget/widget.js"))
        .header("Accept-Encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.text().await.unwrap(), "brotli bytes");
    // With a demo origin, the admin origin's demo paths lead there.
    let with_demo = crate::common::spawn_app_with(Kind::Sqlite, |s| {
        s.demo_listen = Some("127.0.0.1:1".parse().unwrap());
    })
    .await;
    for path in ["/", "/demo/", "/demo/index.html"] {
        let res = with_demo.get(path).await;
        assert_eq!(res.status(), 303, "{path}");
        let to = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with("http://127.0.0.1:1/demo/"), "{path} → {to}");
    }

    // The demo's own origin: its pages and the public endpoints, nothing of the admin's.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let demo_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(consent_server::app::serve_demo(
        listener,
        app.state.clone(),
        std::future::pending(),
    ));
    let get = |path: &str| plain.get(format!("{demo_base}{path}")).send();
    let res = get("/demo/").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "<h1>demo</h1>");
    let root = get("/").await.unwrap();
    assert_eq!(root.url().path(), "/demo/", "the demo origin's root leads to the demo");
    assert_eq!(get("/widget/widget.js").await.unwrap().status(), 200);
    assert_eq!(get("/api/v1/sites/demo/config").await.unwrap().status(), 200);
    for admin_only in ["/dashboard/", "/api/v1/owner/sites", "/openapi.json", "/metrics"] {
        assert_eq!(get(admin_only).await.unwrap().status(), 404, "{admin_only}");
    }
}

async fn health_readiness_and_metrics(kind: Kind) {
    let mut app = spawn_app(kind).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let body = app.decision().await;
    assert_eq!(app.post_decision("demo", &body).await.status(), 201);
    assert_eq!(app.post_decision("nope", &body).await.status(), 404);
    // A method of the client's own invention is counted, but under one
    // label: clients cannot add series at will.
    let odd = reqwest::Method::from_bytes(b"BREW").unwrap();
    let res = reqwest::Client::new()
        .request(odd, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains("keurmerk_decisions_recorded_total 1"), "{text}");
    assert!(
        text.contains(r#"method="other",route="/healthz",status="405""#),
        "{text}"
    );
    assert!(!text.contains("BREW"), "{text}");
    assert!(
        text.contains(
            r#"keurmerk_http_requests_total{method="POST",route="/api/v1/sites/{site}/decisions",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"status="404""#));
    assert!(text.contains("keurmerk_http_request_duration_seconds_bucket"));
    assert!(text.contains("keurmerk_storage_errors"));
    if let Some(redis) = app.redis.as_mut() {
        redis.kill();
        let res = app.get("/readyz").await;
        assert_eq!(res.status(), 503);
        assert!(res.headers().contains_key("retry-after"));
        let text = app.get("/metrics").await.text().await.unwrap();
        assert!(
            text.contains(r#"keurmerk_storage_errors_total{backend="redis"} 1"#),
            "{text}"
        );
    }
}
both_backends!(health_readiness_and_metrics);

/// `/metrics` is for operators: behind `--metrics-token` when one is set,
/// otherwise only on a loopback listener with no proxy in front; a server
/// reachable from elsewhere answers 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_token_unless_only_loopback_reaches_them() {
    use clap::Parser as _;
    use consent_server::settings::{Cli, Settings};

    // Public listeners without a token: off, as is loopback behind a proxy.
    let public = spawn_app_with(Kind::Sqlite, |s| s.listen = "0.0.0.0:8080".parse().unwrap()).await;
    let res = public.get("/metrics").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("--metrics-token"));
    let proxied = spawn_app_with(Kind::Sqlite, |s| {
        s.trusted_proxies = vec!["10.0.0.5/32".parse().unwrap()]
    })
    .await;
    assert_eq!(proxied.get("/metrics").await.status(), 404);
    assert_eq!(proxied.get("/healthz").await.status(), 200, "only /metrics is off");

    // With a token, only that token, wherever the server listens.
    let token = "m3trics-t0ken-for-the-scraper";
    for listen in ["0.0.0.0:8080", "127.0.0.1:8080"] {
        let app = spawn_app_with(Kind::Sqlite, |s| {
            s.listen = listen.parse().unwrap();
            s.metrics_token = Some(token.into());
        })
        .await;
        let res = app.get("/metrics").await;
        assert_eq!(res.status(), 401, "{listen}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        for wrong in ["m3trics-t0ken-for-the-scrapeR", "m3trics-t0ken", "", "kmk_x"] {
            let res = app
                .get_with_header("/metrics", "Authorization", &format!("Bearer {wrong}"))
                .await;
            assert_eq!(res.status(), 401, "{wrong:?}");
        }
        let res = app
            .get_with_header("/metrics", "Authorization", &format!("Bearer {token}"))
            .await;
        assert_eq!(res.status(), 200, "{listen}");
        assert!(res.text().await.unwrap().contains("keurmerk_http_requests_total"));
    }

    // A guessable token is refused at start.
    for bad in ["short", "sixteen chars ok"] {
        let cli = Cli::try_parse_from(["consent-server", "--metrics-token", bad]).unwrap();
        assert!(Settings::resolve(cli).is_err(), "{bad:?}");
    }
    let cli = Cli::try_parse_from(["consent-server", "--metrics-token", token]).unwrap();
    assert_eq!(Settings::resolve(cli).unwrap().metrics_token.as_deref(), Some(token));
}

#[tokio::test]
async fn redis_outage_answers_503_and_recovers() {
    let mut app: TestApp = spawn_app(Kind::Redis).await;
    let body = app.decision().await;
    assert_eq!(app.post_decision("demo", &body).await.status(), 201);
    app.redis.as_mut().unwrap().kill();
    // A new site is not cached, so its lookup also meets the outage.
    let res = app.post_decision("demo", &body).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(error_of(res).await.1["error"], "unavailable");
    app.redis.as_mut().unwrap().restart().unwrap();
    let mut status = 0;
    for _ in 0..100 {
        status = app.post_decision("demo", &body).await.status().as_u16();
        if status == 201 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 201, "recovers by itself");
    assert_eq!(app.leaf_count().await, 2, "the refused decision was not recorded");
}
