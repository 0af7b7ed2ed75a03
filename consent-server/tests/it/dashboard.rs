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
    let (status, editor) = app.page(&b, "/dashboard/sites/demo/config/json", None).await;
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
    // A valid one is saved as the draft: visitors keep the published one.
    let res = post(vec![("csrf", csrf.clone()), ("config", good.to_string())])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/sites/demo/config/json?saved=1");
    assert_eq!(app.demo_version().await, version, "a draft is not published");
    let (_, saved) = app.page(&b, "/dashboard/sites/demo/config/json", None).await;
    assert!(
        saved.contains("&quot;expiry_days&quot;: 30"),
        "the editor shows the draft"
    );

    // "Declare it" adds the cookie to the draft (keeping the draft's own
    // changes) and shows its service.
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
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/dashboard/sites/demo/config/services/hotjar?saved=1"
    );
    assert_eq!(app.demo_version().await, version, "a draft is not published");
    let (_, service) = app.page(&b, "/dashboard/sites/demo/config/services/hotjar", None).await;
    assert!(service.contains("value=\"_hjSessionUser_1\""), "{service}");
    let (_, draft) = app.page(&b, "/dashboard/sites/demo/config/json", None).await;
    assert!(
        draft.contains("&quot;_hjSessionUser_1&quot;") && draft.contains("&quot;expiry_days&quot;: 30"),
        "{draft}"
    );
}
both_backends!(edit_config_and_declare_a_cookie);

/// A report as the scanner writes it since findings have fingerprints, a
/// verdict and examples: `fps` are the findings' (fingerprint, rule, title).
fn fingerprinted_report(fps: &[(&str, &str, &str)]) -> serde_json::Value {
    let hash = "4b1c0d8e2f3a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";
    let findings: Vec<serde_json::Value> = fps
        .iter()
        .map(|(fp, rule, title)| {
            json!({"rule": rule, "severity": "high", "title": title, "platform": "meta-pixel",
                "platform_name": "Meta Pixel", "fingerprint": fp, "remedy": format!("Fix {title}"),
                "states": ["before-consent", "after-reject"], "pages": ["https://shop.example/"], "count": 9,
                "example": {"page": "https://shop.example/", "state": "before-consent",
                    "request": format!("https://www.facebook.com/tr/?id=1&ud%5Bem%5D={hash}"),
                    "params": [{"key": "id", "value": "1"}, {"key": "ud[em]", "value": hash}],
                    "personal_data": [{"field": "email", "param": "ud[em]", "encoding": "SHA-256 hex",
                        "value": hash, "canary": true}]},
                "evidence": [{"page": "https://shop.example/", "state": "before-consent",
                    "request": format!("https://www.facebook.com/tr/?id=1&ud%5Bem%5D={hash}"), "cookie": "_fbp on shop.example"}],
                "evidence_total": 9})
        })
        .collect();
    json!({
        "schema": "keurmerk-scan-report", "schema_version": 1, "site": "https://shop.example/",
        "verdict": {"headline": "No consent banner was found; 1 service tracks before consent.", "banner": "not-found",
            "before_consent": ["Meta Pixel"], "after_reject": [], "personal_data":
            [{"to": "Meta Pixel", "kinds": ["SHA-256 of an e-mail address"], "states": ["before-consent"], "canary": true}],
            "undeclared": {"services": ["Meta Pixel"], "cookies": ["_fbp"], "storage": []}},
        "findings": findings,
    })
}

/// Triage kept per fingerprint across scans and per site, CSRF on every
/// form, two scans compared, CSV, shareable anchors, and no identity on
/// any page.
async fn scan_findings_triage_compare_and_csv(kind: Kind) {
    let app = spawn_app(kind).await;
    let key = app.api_key("demo", &["scans:write"]).await;
    let (a, b, c) = ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc");
    let first = app
        .upload_scan(
            "demo",
            &key,
            &fingerprinted_report(&[
                (a, "tracking-before-consent", "Meta Pixel tracks before consent"),
                (b, "undeclared-cookie", "Undeclared cookie `_fbp`"),
            ]),
        )
        .await;
    let second = app
        .upload_scan(
            "demo",
            &key,
            &fingerprinted_report(&[
                (a, "tracking-before-consent", "Meta Pixel tracks before consent"),
                (c, "personal-data-to-platform", "Personal data sent to Meta Pixel"),
            ]),
        )
        .await;
    let b_ = app.dashboard_login().await;
    let scan_page = format!("/dashboard/sites/demo/scans/{second}");
    let (status, page) = app.page(&b_, &scan_page, Some("en")).await;
    assert_eq!(status, 200);
    for part in [
        r#"<h2 id="verdict">Verdict</h2>"#,
        "No consent banner was found; 1 service tracks before consent.",
        "<dt>Personal data sent</dt><dd><ul><li><strong>Meta Pixel</strong>: SHA-256 of an e-mail address</li></ul></dd>",
        r#"<th scope="col">Before consent</th><th scope="col">After reject</th><th scope="col">After accept</th>"#,
        &format!(
            r##"<th scope="row"><a href="#finding-{a}">Meta Pixel tracks before consent</a></th><td class="seen">yes</td><td class="seen">yes</td><td>no</td><td>1</td><td>9</td><td>Open</td>"##
        ),
        &format!(r#"id="finding-{c}""#),
        &format!(r##"<a href="/dashboard/sites/demo/scans/{second}#finding-{a}">Link to this finding"##),
        &format!(
            r#"<a href="/dashboard/sites/demo/scans/{second}/compare/{first}">Compare with the previous scan</a>"#
        ),
        "4b1c0d… (SHA-256 of an e-mail address)",
        "<details><summary>Evidence (1)</summary>",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    assert!(!page.contains("4b1c0d8e2f3a"), "the hash is redacted: {page}");
    let csrf = csrf_of(&page);

    // Triage without the token is refused; ignoring needs a reason.
    let triage = |form: Vec<(&'static str, String)>| {
        let b_ = b_.clone();
        let url = app.url("/dashboard/sites/demo/triage");
        async move { b_.post(url).form(&form).send().await.unwrap() }
    };
    let ignore_a = |csrf: &str, reason: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("fingerprint", a.to_owned()),
            ("scan", second.clone()),
            ("status", "ignored".to_owned()),
            ("reason", reason.to_owned()),
        ]
    };
    assert_eq!(triage(ignore_a("wrong", "x")).await.status(), 403);
    assert_eq!(triage(ignore_a(&csrf, "  ")).await.status(), 422);
    let res = triage(ignore_a(&csrf, "our own tag manager, consent handled by it")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/dashboard/sites/demo/scans/{second}#finding-{a}").as_str()
    );
    let fix_c = vec![
        ("csrf", csrf.clone()),
        ("fingerprint", c.to_owned()),
        ("scan", second.clone()),
        ("status", "fixed".to_owned()),
    ];
    assert_eq!(triage(fix_c).await.status(), 303);

    // Kept across scans: the first scan shows the same triage.
    let (_, earlier) = app
        .page(&b_, &format!("/dashboard/sites/demo/scans/{first}"), Some("en"))
        .await;
    assert!(
        earlier.contains("Ignored: our own tag manager, consent handled by it (by admin,"),
        "{earlier}"
    );
    let (_, page) = app.page(&b_, &scan_page, Some("en")).await;
    assert!(
        page.contains("<td>Ignored</td>") && page.contains("<td>Fixed</td>"),
        "{page}"
    );
    // A scan after the fix that finds it again says so.
    let third = app
        .upload_scan(
            "demo",
            &key,
            &fingerprinted_report(&[(c, "personal-data-to-platform", "Personal data sent to Meta Pixel")]),
        )
        .await;
    let (_, later) = app
        .page(&b_, &format!("/dashboard/sites/demo/scans/{third}"), Some("en"))
        .await;
    assert!(later.contains("Marked fixed, but this scan found it again."), "{later}");

    // Compared by fingerprint.
    let (status, cmp) = app
        .page(
            &b_,
            &format!("/dashboard/sites/demo/scans/{second}/compare/{first}"),
            Some("en"),
        )
        .await;
    assert_eq!(status, 200);
    let section = |name: &str| {
        let at = cmp.find(&format!(r#"<h2 id="{name}">"#)).unwrap();
        cmp[at..].split("<h2").nth(1).unwrap().to_owned()
    };
    assert!(section("new").contains(c) && !section("new").contains(a), "{cmp}");
    assert!(
        section("gone").contains(b) && section("gone").contains(&format!("{first}#finding-{b}")),
        "{cmp}"
    );
    assert!(section("unchanged").contains(a), "{cmp}");

    // CSV of the findings, with their triage.
    let res = b_
        .get(app.url(&format!("/dashboard/sites/demo/scans/{second}/findings.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "fingerprint,severity,rule,platform,title,before_consent,after_reject,after_accept,with_gpc,pages,count,remedy,triage,triage_reason,triage_by"
    );
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "{a},high,tracking-before-consent,Meta Pixel,Meta Pixel tracks before consent,yes,yes,no,no,1,9,Fix Meta Pixel tracks before consent,ignored,\"our own tag manager, consent handled by it\",admin"
        )
    );
    assert!(!csv.contains("4b1c0d8e2f3a"));

    // Another site never sees this site's triage, nor can it be set there for it.
    app.create_site("other", "https://other.example.nl").await;
    let other_key = app.api_key("other", &["scans:write"]).await;
    let other = app
        .upload_scan(
            "other",
            &other_key,
            &fingerprinted_report(&[(a, "tracking-before-consent", "Meta Pixel tracks before consent")]),
        )
        .await;
    let (_, other_page) = app
        .page(&b_, &format!("/dashboard/sites/other/scans/{other}"), Some("en"))
        .await;
    assert!(
        other_page.contains("<td>Open</td>") && !other_page.contains("our own tag manager"),
        "{other_page}"
    );
    assert_eq!(
        app.page(
            &b_,
            &format!("/dashboard/sites/other/scans/{second}/findings.csv"),
            None
        )
        .await
        .0,
        404
    );

    // Reopened, it is open again on every scan.
    let reopen = vec![
        ("csrf", csrf.clone()),
        ("fingerprint", a.to_owned()),
        ("scan", second.clone()),
        ("status", "open".to_owned()),
    ];
    assert_eq!(triage(reopen).await.status(), 303);
    let (_, earlier) = app
        .page(&b_, &format!("/dashboard/sites/demo/scans/{first}"), Some("en"))
        .await;
    assert!(!earlier.contains("our own tag manager"), "{earlier}");
    // Without a session nothing of it shows.
    let res = browser()
        .get(app.url(&format!("/dashboard/sites/demo/scans/{second}/findings.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}
both_backends!(scan_findings_triage_compare_and_csv);
