//! Publishing a draft, the versions of a site, restoring one, and the live
//! preview's endpoints, in the dashboard over real HTTP on both backends:
//! the publish page shows the draft's changes by domain and says whether
//! visitors are asked again (a text change: no; a new category: yes, and
//! why); publishing needs the CSRF token, the reviewed draft and the right
//! role, makes the public configuration the new version and writes the
//! audit trail; the versions page lists them; a version of another site is
//! not found; the preview serves the draft to the sandboxed frame without
//! a session and records no decision.

use consent_core::account::SiteRole;
use consent_core::audit::AuditAction;
use consent_core::draft::{DRAFT_ID, Draft};
use consent_core::store::{RecordKind, RecordStore, SiteStore};
use consent_core::{Category, ConfigVersion, SiteConfig, SiteId};
use std::collections::BTreeMap;

use crate::common::{Kind, TestApp, csrf_of, spawn_app};

fn id(site: &str) -> SiteId {
    SiteId::parse(site).unwrap()
}

/// Saves `config` as the site's draft, as the editor would.
async fn put_draft(app: &TestApp, site: &str, config: &SiteConfig) {
    let s = app.state.store.site(&id(site)).await.unwrap().unwrap();
    let d = Draft {
        config: config.clone(),
        based_on: s.current_version,
        saved_ms: 1,
        by: "admin".into(),
    };
    app.state
        .store
        .put_record(&id(site), RecordKind::Draft, DRAFT_ID, &serde_json::to_vec(&d).unwrap())
        .await
        .unwrap();
}

async fn draft(app: &TestApp, site: &str) -> Option<Draft> {
    let body = app
        .state
        .store
        .record(&id(site), RecordKind::Draft, DRAFT_ID)
        .await
        .unwrap()?;
    Some(serde_json::from_slice(&body).unwrap())
}

async fn published(app: &TestApp, site: &str) -> String {
    app.get_json(&format!("/api/v1/sites/{site}/config")).await["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn audit(app: &TestApp, site: &str) -> Vec<AuditAction> {
    let trail = app.state.store.audit(&id(site), None, 100).await.unwrap();
    trail.into_iter().map(|(_, e)| e.action).collect()
}

fn with_social(mut c: SiteConfig) -> SiteConfig {
    c.categories.push(Category {
        id: "social".into(),
        required: false,
        gpc_opt_out: false,
        labels: BTreeMap::new(),
    });
    c
}

async fn publishing_and_versions(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("pub", "https://pub.example").await;
    app.create_site("other", "https://other.example").await;
    let b = app.dashboard_login().await;
    let first = published(&app, "pub").await;
    let starter: SiteConfig =
        serde_json::from_value(app.get_json("/api/v1/sites/pub/config").await["config"].clone()).unwrap();

    // No draft: nothing to publish.
    let (status, page) = app.page(&b, "/dashboard/sites/pub/publish", Some("en")).await;
    assert_eq!(status, 200);
    assert!(page.contains("There is no draft"), "{page}");

    // A text-only change: shown old → new, nobody asked again.
    let mut texts = starter.clone();
    texts
        .texts
        .insert("nl".into(), BTreeMap::from([("intro".into(), "Hallo bezoeker".into())]));
    put_draft(&app, "pub", &texts).await;
    let (status, page) = app.page(&b, "/dashboard/sites/pub/publish", Some("en")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<code>nl · intro</code>"), "{page}");
    assert!(page.contains("(built-in text)</td><td>Hallo bezoeker"), "{page}");
    assert!(page.contains("asked again: no, because"), "{page}");
    let (_, nl) = app.page(&b, "/dashboard/sites/pub/publish", Some("nl")).await;
    assert!(nl.contains("krijgen de vraag opnieuw: nee"), "{nl}");

    // A new category: asked again, and why.
    let social = with_social(texts.clone());
    put_draft(&app, "pub", &social).await;
    let (_, page) = app.page(&b, "/dashboard/sites/pub/publish", Some("en")).await;
    assert!(
        page.contains("asked again: yes, because category added social"),
        "{page}"
    );
    assert!(page.contains("<code>social</code>: added"), "{page}");
    let csrf = csrf_of(&page);
    let version = social.version().0;

    // Without the CSRF token: refused, nothing published.
    let res = b
        .post(app.url("/dashboard/sites/pub/publish"))
        .form(&[("version", version.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A draft other than the one reviewed: shown again, not published.
    let res = b
        .post(app.url("/dashboard/sites/pub/publish"))
        .form(&[("csrf", csrf.as_str()), ("version", first.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("Het concept is gewijzigd"));
    assert_eq!(published(&app, "pub").await, first);

    // Published: the result page, the public configuration, the trail.
    let res = b
        .post(app.url("/dashboard/sites/pub/publish"))
        .header("Accept-Language", "en")
        .form(&[("csrf", csrf.as_str()), ("version", version.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("<code id=\"new-version\">{version}</code>")),
        "{page}"
    );
    assert!(page.contains("/s/pub/loader.js"), "the snippet reminder: {page}");
    assert_eq!(published(&app, "pub").await, version);
    assert!(draft(&app, "pub").await.is_none());
    assert!(audit(&app, "pub").await.contains(&AuditAction::Published {
        version: ConfigVersion(version.clone()),
        previous: Some(ConfigVersion(first.clone())),
        reask: true,
    }));

    // The versions: the new one current, the first from before the trail.
    let (status, page) = app.page(&b, "/dashboard/sites/pub/versions", Some("en")).await;
    assert_eq!(status, 200);
    let new_at = page.find(&format!("/versions/{version}\"")).expect("the new version");
    let first_at = page.find(&format!("/versions/{first}\"")).expect("the first version");
    assert!(new_at < first_at, "newest first");
    assert!(page[new_at..first_at].contains("(current)"));
    assert!(page.contains("by admin"));

    // One version: summary, JSON, its changes against the one before it.
    let (status, page) = app
        .page(&b, &format!("/dashboard/sites/pub/versions/{version}"), Some("en"))
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("category added social") && page.contains("Hallo bezoeker"),
        "{page}"
    );
    assert!(page.contains("&quot;social&quot;"), "its JSON: {page}");
    // Not a version of this site, or not a version at all: not found.
    let mut other_only = starter.clone();
    other_only.expiry_days = 33;
    assert_eq!(
        app.page(&b, &format!("/dashboard/sites/other/versions/{version}"), None)
            .await
            .0,
        404
    );
    assert_eq!(app.page(&b, "/dashboard/sites/pub/versions/nope", None).await.0, 404);
    assert_eq!(
        app.page(
            &b,
            &format!("/dashboard/sites/pub/versions/{}", other_only.version()),
            None
        )
        .await
        .0,
        404
    );

    // Restore the first version: it becomes the draft, then on to publishing.
    let csrf = csrf_of(&page);
    let res = b
        .post(app.url(&format!("/dashboard/sites/pub/versions/{first}/restore")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/sites/pub/publish");
    assert_eq!(draft(&app, "pub").await.unwrap().config.version().0, first);
    assert!(audit(&app, "pub").await.contains(&AuditAction::Restored {
        version: ConfigVersion(first.clone())
    }));
    assert_eq!(published(&app, "pub").await, version, "restoring publishes nothing");
    let (_, page) = app.page(&b, "/dashboard/sites/pub/publish", Some("en")).await;
    assert!(page.contains("category removed social"), "{page}");

    // Discarding needs the token too, then the draft is gone.
    let res = b
        .post(app.url("/dashboard/sites/pub/draft/discard"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(draft(&app, "pub").await.is_some());
    let res = b
        .post(app.url("/dashboard/sites/pub/draft/discard"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(draft(&app, "pub").await.is_none());
    assert!(audit(&app, "pub").await.contains(&AuditAction::DraftDiscarded));

    // A viewer sees the versions but may neither publish nor restore; a
    // site they are not a member of is not found.
    app.create_member("vera", "viewer-password-1", &[("pub", SiteRole::Viewer)])
        .await;
    let v = app.dashboard_login_as("vera", "viewer-password-1").await;
    let (status, page) = app.page(&v, "/dashboard/sites/pub/versions", Some("en")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&version));
    let (status, vpage) = app
        .page(&v, &format!("/dashboard/sites/pub/versions/{version}"), Some("en"))
        .await;
    assert_eq!(status, 200);
    assert!(!vpage.contains("/restore"), "no restore button for a viewer");
    assert_eq!(app.page(&v, "/dashboard/sites/pub/publish", None).await.0, 403);
    let csrf = csrf_of(&vpage);
    for path in [
        "/dashboard/sites/pub/publish".to_owned(),
        format!("/dashboard/sites/pub/versions/{first}/restore"),
        "/dashboard/sites/pub/draft/discard".to_owned(),
    ] {
        let res = v
            .post(app.url(&path))
            .form(&[("csrf", csrf.as_str()), ("version", version.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    assert!(draft(&app, "pub").await.is_none());
    assert_eq!(app.page(&v, "/dashboard/sites/other/versions", None).await.0, 404);
    assert_eq!(
        app.page(&v, &format!("/dashboard/sites/other/versions/{first}"), None)
            .await
            .0,
        404
    );

    // A marketer may restore (a draft), not publish: back to the versions.
    app.create_member("mark", "marketer-password-1", &[("pub", SiteRole::Marketer)])
        .await;
    let m = app.dashboard_login_as("mark", "marketer-password-1").await;
    let (_, mpage) = app.page(&m, "/dashboard/sites/pub/versions", None).await;
    let res = m
        .post(app.url(&format!("/dashboard/sites/pub/versions/{first}/restore")))
        .form(&[("csrf", csrf_of(&mpage).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/sites/pub/versions");
    assert_eq!(app.page(&m, "/dashboard/sites/pub/publish", None).await.0, 403);
}
both_backends!(publishing_and_versions);

async fn the_preview(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("pv", "https://pv.example").await;
    let b = app.dashboard_login().await;
    let starter: SiteConfig =
        serde_json::from_value(app.get_json("/api/v1/sites/pv/config").await["config"].clone()).unwrap();
    let mut d = starter.clone();
    d.texts
        .insert("en".into(), BTreeMap::from([("title".into(), "Preview title".into())]));
    put_draft(&app, "pv", &d).await;
    let v = d.version().0;

    // The page: a sandboxed frame (scripts, no same origin), switchers as links.
    let (status, page) = app.page(&b, "/dashboard/sites/pv/preview?lang=en", Some("en")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("sandbox=\"allow-scripts\" src=\"/dashboard/sites/pv/preview/frame?lang=en&amp;layer=banner\""),
        "{page}"
    );
    assert!(page.contains("href=\"/dashboard/sites/pv/preview?lang=nl&amp;layer=banner\""));
    assert!(page.contains("href=\"/dashboard/sites/pv/preview?lang=en&amp;layer=preferences\""));
    let res = b.get(app.url("/dashboard/sites/pv/preview")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("frame-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );

    // The frame: its own policy, sandboxed even on its own, framed only by us.
    let res = b
        .get(app.url("/dashboard/sites/pv/preview/frame?lang=en&layer=preferences"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert_eq!(res.headers()["x-frame-options"], "SAMEORIGIN");
    for part in [
        "sandbox allow-scripts",
        "frame-ancestors 'self'",
        "'wasm-unsafe-eval'",
        "script-src 'nonce-",
    ] {
        assert!(csp.contains(part), "{part}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    let html = res.text().await.unwrap();
    let loader = format!("/dashboard/preview/pv/{v}/loader.js?lang=en");
    assert!(
        html.contains(&format!("<script nonce=\"{nonce}\" src=\"{loader}\"></script>")),
        "{html}"
    );
    assert!(html.contains("data-layer=\"preferences\""));
    // A new nonce every time.
    let again = b
        .get(app.url("/dashboard/sites/pv/preview/frame"))
        .send()
        .await
        .unwrap();
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&nonce)
    );
    // Not without a session.
    assert_eq!(app.get("/dashboard/sites/pv/preview/frame").await.status(), 303);

    // What the frame fetches needs no session (a sandboxed frame sends none):
    // the loader of the draft, in the language asked for, based on the preview.
    let res = app.get(&loader).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let js = res.text().await.unwrap();
    assert!(js.contains(&format!("\"a\":\"/dashboard/preview/pv/{v}\"")), "{js}");
    assert!(js.contains("\"l\":[\"en\"]") && js.contains(&format!("\"v\":\"{v}\"")));
    let nl = app.get(&format!("/dashboard/preview/pv/{v}/loader.js?lang=nl")).await;
    assert!(nl.text().await.unwrap().contains("\"l\":[\"nl\"]"));
    // The draft's configuration, readable by the opaque origin.
    let config = app
        .get_json(&format!("/dashboard/preview/pv/{v}/api/v1/sites/pv/config"))
        .await;
    assert_eq!(config["version"], v.as_str());
    assert_eq!(config["config"]["texts"]["en"]["title"], "Preview title");
    // Widget assets: the server's.
    let res = app
        .get(&format!("/dashboard/preview/pv/{v}/widget/widget.js?v=1"))
        .await;
    assert_eq!(res.status(), 307);
    assert_eq!(res.headers()["location"], "/widget/widget.js?v=1");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        app.get(&format!("/dashboard/preview/pv/{v}/widget/../x"))
            .await
            .status(),
        404
    );
    // A decision is answered and recorded nowhere.
    let before = app.leaf_count().await;
    let pre = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url(&format!("/dashboard/preview/pv/{v}/api/v1/sites/pv/decisions")),
        )
        .header("Origin", "null")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    let res = app
        .client
        .post(app.url(&format!("/dashboard/preview/pv/{v}/api/v1/sites/pv/decisions")))
        .header("Origin", "null")
        .json(
            &serde_json::json!({"config_version": v, "method": "accept_all", "categories": {"analytics": true},
            "language": "en", "page_path": "/"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["recorded"], false);
    assert_eq!(app.leaf_count().await, before);
    // Only this site's draft or its stored versions, by their exact id.
    let other = with_social(starter.clone()).version().0;
    for path in [
        format!("/dashboard/preview/pv/{other}/loader.js"),
        format!("/dashboard/preview/pv/{other}/api/v1/sites/pv/config"),
        format!("/dashboard/preview/demo/{v}/loader.js"),
        format!("/dashboard/preview/pv/{v}/api/v1/sites/demo/config"),
        "/dashboard/preview/pv/abc/loader.js".to_owned(),
    ] {
        assert_eq!(app.get(&path).await.status(), 404, "{path}");
    }
    // The published version stays reachable by its id; once the draft is
    // published, the old draft's id is simply a stored version.
    let current = app.get_json("/api/v1/sites/pv/config").await["version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/dashboard/preview/pv/{current}/loader.js"))
            .await
            .status(),
        200
    );
}
both_backends!(the_preview);
