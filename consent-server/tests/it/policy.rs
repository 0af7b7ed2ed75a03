//! The cookie policy a site publishes, over real HTTP: built from the
//! published configuration, in the site's languages, as an HTML fragment
//! (its texts escaped), CSV and JSON; always the current configuration's.

use serde_json::{Value, json};

use crate::common::{Kind, spawn_app};

async fn cookie_policy_follows_the_published_configuration(kind: Kind) {
    let app = spawn_app(kind).await;
    let writer = app.api_key("demo", &["config:write"]).await;

    // A configuration with a marketing service and one cookie whose purpose
    // is markup: escaped in HTML, a text cell in CSV.
    let mut config = serde_json::to_value(consent_core::SiteConfig::starter()).unwrap();
    config["services"] = json!([{
        "id": "meta", "name": "Meta Pixel", "category": "marketing", "provider": "Meta Platforms Ireland",
        "hosts": ["connect.facebook.net"],
        "cookies": [{"name": "_fbp", "purpose": "<b>ads</b> & retargeting", "retention": "3 months",
                     "retention_days": 90, "country": "IE", "legal_basis": "consent"}]
    }]);
    let res = app
        .post_with_key("/api/v1/owner/sites/demo/configs", &writer, &config)
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let version = app.demo_version().await;

    let table = app.get_json("/s/demo/cookie-policy.json?lang=en").await;
    assert_eq!(table["version"], version.as_str());
    assert_eq!(table["language"], "en");
    let rows = table["cookies"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{table}");
    assert_eq!(
        (
            rows[0]["cookie"].clone(),
            rows[0]["provider"].clone(),
            rows[0]["retention_days"].clone()
        ),
        (json!("_fbp"), json!("Meta Platforms Ireland"), json!(90))
    );
    assert_eq!(rows[0]["legal_basis"], "Consent (GDPR art. 6(1)(a))");
    // Dutch, and a language the site does not offer falls back to its first.
    let nl = app.get_json("/s/demo/cookie-policy.json?lang=nl").await;
    assert_eq!(nl["cookies"][0]["legal_basis"], "Toestemming (art. 6(1)(a) AVG)");
    let fallback = app.get_json("/s/demo/cookie-policy.json?lang=xx").await;
    assert_ne!(fallback["language"], "xx");

    let res = app.get("/s/demo/cookie-policy.html?lang=en").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<caption>") && html.contains("<code>_fbp</code>"),
        "{html}"
    );
    assert!(
        html.contains("&lt;b&gt;ads&lt;/b&gt; &amp; retargeting"),
        "escaped: {html}"
    );
    assert!(!html.contains("<b>ads</b>"));
    assert!(html.contains(&version));

    let csv = app.get("/s/demo/cookie-policy.csv?lang=en").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.lines().nth(1).unwrap().starts_with("Marketing,_fbp,Meta Pixel,"),
        "{csv}"
    );

    // A new configuration without the service: the table follows at once.
    let res = app
        .post_with_key(
            "/api/v1/owner/sites/demo/configs",
            &writer,
            &serde_json::to_value(consent_core::SiteConfig::starter()).unwrap(),
        )
        .await;
    assert_eq!(res.status(), 201);
    let table: Value = app.get_json("/s/demo/cookie-policy.json").await;
    assert_eq!(table["cookies"], json!([]));
    assert!(
        app.get("/s/demo/cookie-policy.html")
            .await
            .text()
            .await
            .unwrap()
            .contains("<p>")
    );
    assert_eq!(app.get("/s/nope/cookie-policy.json").await.status(), 404);
}
both_backends!(cookie_policy_follows_the_published_configuration);
