//! The dashboard over real HTTP against the server: log-in with the admin
//! session, CSRF on state changes, pages, escaping, languages.

use crate::common::{Kind, browser, csrf_of, spawn_app};
use serde_json::json;

async fn login_and_logout_with_csrf(kind: Kind) {
    let app = spawn_app(kind).await;
    let anon = browser();
    let res = anon.get(app.url("/dashboard/")).send().await.unwrap();
    assert_eq!(res.status(), 303, "pages need a session");
    assert_eq!(res.headers()["location"], "/dashboard/login");
    let res = anon.get(app.url("/dashboard/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(res.text().await.unwrap().contains(r#"name="password""#));
    let res = anon
        .post(app.url("/dashboard/login"))
        .form(&[("username", "admin"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let b = app.dashboard_login().await;
    let (status, home) = app.page(&b, "/dashboard/", None).await;
    assert_eq!(status, 200);
    assert!(home.contains(r#"<a href="/dashboard/sites/demo">demo</a>"#), "{home}");
    // The same session works on the owner API (one session mechanism).
    assert_eq!(b.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 200);

    // Log-out without the token (a forged cross-site form) is refused and
    // the session lives on; with it, the session ends.
    let res = b.post(app.url("/dashboard/logout")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = b
        .post(app.url("/dashboard/logout"))
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.page(&b, "/dashboard/", None).await.0, 200);
    let res = b
        .post(app.url("/dashboard/logout"))
        .form(&[("csrf", csrf_of(&home))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(app.page(&b, "/dashboard/", None).await.0, 303);
    assert_eq!(b.get(app.url("/api/v1/auth/me")).send().await.unwrap().status(), 401);
}
both_backends!(login_and_logout_with_csrf);

async fn site_and_scan_pages_escape_what_sites_send(kind: Kind) {
    let app = spawn_app(kind).await;
    let res = app.post_decision("demo", &app.decision().await).await;
    assert_eq!(res.status(), 201);
    let key = app.api_key("demo", &["scans:write"]).await;
    let evil = r#"<script>alert(1)</script>"#;
    let evil_url = r#"https://x.example/"><img src=x onerror=alert(2)>"#;
    let report = json!({
        "schema": "keurmerk-scan-report", "schema_version": 1, "site": evil_url,
        "findings": [{"rule": "undeclared-cookie", "severity": "medium", "title": evil,
            "platform": "meta-pixel", "remedy": "Declare cookie `_fbp` under Marketing / Meta Pixel",
            "evidence": [{"cookie": "_fbp", "note": evil}], "evidence_total": 1}]
    });
    let scan_id = app.upload_scan("demo", &key, &report).await;

    let b = app.dashboard_login().await;
    let (status, site) = app.page(&b, "/dashboard/sites/demo", None).await;
    assert_eq!(status, 200);
    assert!(site.contains("custom"), "the decision's method: {site}");
    assert!(site.contains("analytics=✓") && site.contains("marketing=✗"), "{site}");
    assert!(site.contains("/api/v1/owner/sites/demo/decisions/export?format=csv"));
    assert!(site.contains(&app.base), "allowed origin shown");

    let (status, list) = app.page(&b, "/dashboard/sites/demo/scans", None).await;
    assert_eq!(status, 200);
    assert!(list.contains(&scan_id) && list.contains("medium: 1"), "{list}");
    assert!(!list.contains("<img src=x"), "scanned URL escaped: {list}");
    assert!(list.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));

    let (status, findings) = app
        .page(&b, &format!("/dashboard/sites/demo/scans/{scan_id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(
        !findings.contains(evil) && !findings.contains("<img src=x"),
        "{findings}"
    );
    assert!(findings.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(findings.contains("Declare cookie `_fbp` under Marketing / Meta Pixel"));
    assert!(findings.contains(r#"class="sev-medium""#));

    // Unknown sites and scans, and a scan looked up under another site.
    app.create_site("other", "https://other.example.nl").await;
    assert_eq!(app.page(&b, "/dashboard/sites/nope", None).await.0, 404);
    assert_eq!(app.page(&b, "/dashboard/sites/demo/scans/nope", None).await.0, 404);
    assert_eq!(
        app.page(&b, &format!("/dashboard/sites/other/scans/{scan_id}"), None)
            .await
            .0,
        404
    );
    // Without a session nothing of it shows.
    let (status, body) = app
        .page(&browser(), &format!("/dashboard/sites/demo/scans/{scan_id}"), None)
        .await;
    assert_eq!(status, 303);
    assert!(!body.contains("_fbp"));
}
both_backends!(site_and_scan_pages_escape_what_sites_send);

async fn dutch_first_english_on_request(kind: Kind) {
    let app = spawn_app(kind).await;
    let b = app.dashboard_login().await;
    let (_, nl) = app.page(&b, "/dashboard/", None).await;
    assert!(nl.contains(r#"<html lang="nl">"#) && nl.contains("Uitloggen"));
    let (_, en) = app.page(&b, "/dashboard/", Some("en-GB,en;q=0.9")).await;
    assert!(en.contains(r#"<html lang="en">"#) && en.contains("Log out"));
    let css = b.get(app.url("/dashboard/static/dashboard.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}
both_backends!(dutch_first_english_on_request);

async fn edit_config_and_declare_a_cookie(kind: Kind) {
    let app = spawn_app(kind).await;
    let version = app.demo_version().await;
    let key = app.api_key("demo", &["scans:write"]).await;
    let report = json!({
        "schema": "keurmerk-scan-report", "schema_version": 1, "site": "https://demo.example/",
        "findings": [{"rule": "undeclared-cookie", "severity": "medium", "title": "Cookie _hjSessionUser_1 is not declared",
            "platform": "hotjar", "remedy": "Declare cookie `_hjSessionUser_1` under Marketing / Meta Pixel",
            "evidence": [{"cookie": "_hjSessionUser_1", "note": "set by script"}], "evidence_total": 1}]
    });
    let scan_id = app.upload_scan("demo", &key, &report).await;
    let b = app.dashboard_login().await;
    let (status, editor) = app.page(&b, "/dashboard/sites/demo/config", None).await;
    assert_eq!(status, 200);
    assert!(editor.contains("&quot;categories&quot;"), "{editor}");
    let csrf = csrf_of(&editor);
    let post = |form: Vec<(&'static str, String)>| b.post(app.url("/dashboard/sites/demo/config")).form(&form).send();

    // Invalid JSON and an invalid configuration: 422 naming the field, nothing saved.
    let res = post(vec![("csrf", csrf.clone()), ("config", "{".into())])
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let mut config = app.get_json("/api/v1/sites/demo/config").await;
    let config = config["config"].take();
    let mut bad = config.clone();
    bad["expiry_days"] = json!(0);
    let res = post(vec![("csrf", csrf.clone()), ("config", bad.to_string())])
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("<code>expiry_days</code>"));
    // Without the CSRF token: refused.
    let mut good = config.clone();
    good["expiry_days"] = json!(30);
    let res = post(vec![("config", good.to_string())]).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.demo_version().await, version, "nothing saved");

    // "Declare it" builds a draft with the cookie; saving the draft makes it current.
    let (_, findings) = app
        .page(&b, &format!("/dashboard/sites/demo/scans/{scan_id}"), None)
        .await;
    assert!(
        findings.contains(r#"action="/dashboard/sites/demo/declare""#),
        "{findings}"
    );
    let res = b
        .post(app.url("/dashboard/sites/demo/declare"))
        .form(&[("cookie", "_hjSessionUser_1"), ("platform", "hotjar")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "declare needs the CSRF token");
    let res = b
        .post(app.url("/dashboard/sites/demo/declare"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("cookie", "_hjSessionUser_1"),
            ("platform", "hotjar"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let draft = res.text().await.unwrap();
    assert!(draft.contains("&quot;_hjSessionUser_1&quot;"), "{draft}");
    assert_eq!(app.demo_version().await, version, "a draft is not saved");
    let start = draft.find("spellcheck=\"false\">").unwrap() + "spellcheck=\"false\">".len();
    let text = draft[start..].split("</textarea>").next().unwrap();
    let text = text
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let res = post(vec![("csrf", csrf.clone()), ("config", text.clone())])
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{text}");
    let now = app.get_json("/api/v1/sites/demo/config").await;
    assert_ne!(now["version"], version.as_str());
    let declared = now["config"]["services"].as_array().unwrap().iter().any(|s| {
        s["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "_hjSessionUser_1")
    });
    assert!(declared, "{now}");
}
both_backends!(edit_config_and_declare_a_cookie);
