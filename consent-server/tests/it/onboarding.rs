//! A new owner's first steps in the dashboard, over real HTTP: create a
//! site (CSRF, the API's own checks), see the snippet and CSP lines, and
//! "check my installation" against real pages served on loopback: a sound
//! installation, a misplaced loader with a tracker before it and plain
//! tracker tags, a page outside the site's origins, and the SSRF guard.

use axum::response::Html;
use axum::routing::get;

use crate::common::{Kind, csrf_of, spawn_app_with};

/// Serves the site's pages on a free loopback port; its origin.
async fn site_pages(consent: String) -> String {
    let good = format!(
        "<!doctype html><html><head><script src=\"{consent}/s/shop2/loader.js\" crossorigin></script>\
         <script type=\"text/plain\" data-consent=\"marketing\" data-src=\"https://connect.facebook.net/en_US/fbevents.js\"></script>\
         </head><body>Shop</body></html>"
    );
    let bad = format!(
        "<!doctype html><html><head><script src=\"https://connect.facebook.net/en_US/fbevents.js\"></script>\
         <script async src=\"{consent}/s/shop2/loader.js\"></script></head>\
         <body><img src=\"https://www.facebook.com/tr?id=123456789012345&ev=PageView\" alt=\"\"></body></html>"
    );
    let app = axum::Router::new()
        .route("/", get(move || async move { Html(good) }))
        .route("/bad", get(move || async move { Html(bad) }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    origin
}

async fn onboarding(kind: Kind, allow_private: bool) {
    let app = spawn_app_with(kind, |s| s.scan_allow_private_targets = allow_private).await;
    let origin = site_pages(app.base.clone()).await;
    let b = app.dashboard_login().await;

    let (status, home) = app.page(&b, "/dashboard/", Some("en")).await;
    assert_eq!(status, 200);
    assert!(home.contains("/dashboard/sites/new"), "the site list offers a new site");
    let (status, form) = app.page(&b, "/dashboard/sites/new", Some("en")).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&form);

    // Forged (no token): refused, nothing created.
    let post = |fields: Vec<(&'static str, String)>| {
        b.post(app.url("/dashboard/sites"))
            .header("Accept-Language", "en")
            .form(&fields)
            .send()
    };
    let res = post(vec![("id", "shop2".into()), ("domains", origin.clone())])
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.page(&b, "/dashboard/sites/shop2", None).await.0, 404);

    // The API's own checks, shown on the form.
    for (id, domains, says) in [
        ("Shop 2", origin.as_str(), "lower-case letters"),
        ("shop2", "", "at least one domain"),
        ("shop2", "ftp://files.example", "an origin such as"),
        ("new", origin.as_str(), "taken"),
        ("demo", origin.as_str(), "exists already"),
    ] {
        let res = post(vec![
            ("csrf", csrf.clone()),
            ("id", id.into()),
            ("domains", domains.into()),
        ])
        .await
        .unwrap();
        assert_eq!(res.status(), 422, "{id} {domains}");
        let page = res.text().await.unwrap();
        assert!(
            page.contains(says) && page.contains("aria-invalid=\"true\""),
            "{id}: {page}"
        );
    }

    // Created: on to picking services, then the installation page with the
    // snippet and the CSP.
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("id", "shop2".into()),
        ("domains", format!("{origin}\nwww.shop2.example")),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    // First the services the site uses (catalogue.rs), then the snippet.
    assert_eq!(res.headers()["location"], "/dashboard/sites/shop2/services?new=1");
    let site = app.get_json("/api/v1/sites/shop2/config").await;
    assert!(site["version"].is_string(), "the starter configuration is published");
    let (status, install) = app.page(&b, "/dashboard/sites/shop2/install", Some("en")).await;
    assert_eq!(status, 200);
    let snippet = format!(
        "&lt;script src=&quot;{}/s/shop2/loader.js&quot; crossorigin&gt;&lt;/script&gt;",
        app.base
    );
    assert!(install.contains(&snippet), "{install}");
    assert!(install.contains("wasm-unsafe-eval") && install.contains("nonce"));

    // Check my installation.
    let check = |url: String| {
        b.post(app.url("/dashboard/sites/shop2/install"))
            .header("Accept-Language", "en")
            .form(&[("csrf", csrf.clone()), ("url", url)])
            .send()
    };
    let res = check(format!("{origin}/")).await.unwrap();
    let status = res.status().as_u16();
    let page = res.text().await.unwrap();
    if !allow_private {
        // The SSRF guard: a loopback page is refused without connecting.
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("could not be loaded"), "{page}");
        return;
    }
    assert_eq!(status, 200, "{page}");
    for ok in [
        "The loader is the page&#39;s first script.",
        "The loader is in &lt;head&gt;.",
        "The loader loads synchronously.",
        "No known trackers before the loader.",
        "No trackers written as plain",
    ] {
        assert!(page.contains(ok), "{ok}: {page}");
    }
    let page = check(format!("{origin}/bad")).await.unwrap().text().await.unwrap();
    for bad in [
        "A script runs before the loader",
        "The loader has async, defer or type=module",
        "Trackers before the loader",
        "Trackers outside the blocking",
        "Meta Pixel (script)",
        "Meta Pixel (image)",
    ] {
        assert!(page.contains(bad), "{bad}: {page}");
    }
    // Only the site's own origins are fetched.
    let res = check("http://169.254.169.254/latest/meta-data/".into()).await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("is not one of the site"));
    let res = b
        .post(app.url("/dashboard/sites/shop2/install"))
        .form(&[("url", format!("{origin}/"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no token, no fetch");
}

async fn onboarding_with_private_targets(kind: Kind) {
    onboarding(kind, true).await;
}
both_backends!(onboarding_with_private_targets);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installation_check_keeps_to_public_addresses_by_default() {
    onboarding(Kind::Sqlite, false).await;
}
