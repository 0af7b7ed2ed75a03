//! Picking a site's services from the vendor catalogue in the dashboard,
//! over real HTTP: a new site lands on the page, searching works without
//! script, a forged form changes nothing, and ticking Google Analytics and
//! the Meta Pixel saves them (as the site's draft) in their categories with
//! their cookies and hosts; unticking one removes it again.

use consent_core::SiteId;
use consent_core::draft::{DRAFT_ID, Draft};
use consent_core::store::{RecordKind, RecordStore};

use crate::common::{Kind, TestApp, csrf_of, spawn_app};

/// The site's saved draft.
async fn draft(app: &TestApp, site: &str) -> Draft {
    let site = SiteId::parse(site).unwrap();
    let body = app
        .state
        .store
        .record(&site, RecordKind::Draft, DRAFT_ID)
        .await
        .unwrap()
        .expect("a draft was saved");
    serde_json::from_slice(&body).unwrap()
}

async fn picking_services(kind: Kind) {
    let app = spawn_app(kind).await;
    let b = app.dashboard_login().await;

    // A new site goes on to this page first.
    let (_, form) = app.page(&b, "/dashboard/sites/new", Some("en")).await;
    let csrf = csrf_of(&form);
    let res = b
        .post(app.url("/dashboard/sites"))
        .form(&[("csrf", csrf.as_str()), ("id", "shop3"), ("domains", "shop3.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/sites/shop3/services?new=1");

    let (status, page) = app.page(&b, "/dashboard/sites/shop3/services?new=1", Some("en")).await;
    assert_eq!(status, 200, "{page}");
    for text in [
        "The site has been created",
        "Google Analytics 4",
        "Google Ireland Limited",
        "Meta Platforms Ireland Limited",
        "https://www.facebook.com/privacy/policy/",
        "<code>_fbp</code>",
        "3 months",
        "name=\"then\" value=\"install\"",
        "YouTube (embedded videos)",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }
    // Grouped by the site's categories, in its order, titled in the page's language.
    let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("id=\"category-necessary\"") < at("id=\"category-analytics\""));
    assert!(at("id=\"category-analytics\"") < at("id=\"vendor-ga4\""));
    assert!(at("id=\"vendor-ga4\"") < at("id=\"category-marketing\""));
    assert!(at("id=\"category-marketing\"") < at("id=\"vendor-meta-pixel\""));
    assert!(!page.contains(" checked"), "a new site declares nothing");
    let (_, nl) = app.page(&b, "/dashboard/sites/shop3/services", Some("nl")).await;
    assert!(nl.contains("Statistieken") && nl.contains("2 jaar"), "{nl}");

    // Searching, without script: a GET filter on name, company or cookie.
    let (_, found) = app.page(&b, "/dashboard/sites/shop3/services?q=_fbp", Some("en")).await;
    assert!(found.contains("id=\"vendor-meta-pixel\""));
    assert!(!found.contains("id=\"vendor-ga4\""));
    assert!(found.contains("name=\"shown\" value=\"meta-pixel\""), "{found}");
    let (_, none) = app
        .page(&b, "/dashboard/sites/shop3/services?q=%3Cscript%3E", Some("en"))
        .await;
    assert!(none.contains("No services found") && none.contains("value=\"&lt;script&gt;\""));

    let csrf = csrf_of(&page);
    let shown = "ga4 meta-pixel hotjar google-tag-manager";
    let post = |fields: Vec<(&'static str, String)>| {
        b.post(app.url("/dashboard/sites/shop3/services"))
            .header("Accept-Language", "en")
            .form(&fields)
            .send()
    };
    // Forged (no token): refused, nothing saved.
    let res = post(vec![("shown", shown.into()), ("use_ga4", "1".into())])
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let id = SiteId::parse("shop3").unwrap();
    assert!(
        app.state
            .store
            .record(&id, RecordKind::Draft, DRAFT_ID)
            .await
            .unwrap()
            .is_none()
    );

    // Google Analytics and the Meta Pixel, then on to installing.
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("shown", shown.into()),
        ("then", "install".into()),
        ("use_ga4", "1".into()),
        ("use_meta-pixel", "1".into()),
        ("use_not-a-vendor", "1".into()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/sites/shop3/install");
    let config = draft(&app, "shop3").await.config;
    assert_eq!(config.services.len(), 2, "{:?}", config.services);
    let ga = config.service("ga4").unwrap();
    assert_eq!(ga.category, "analytics");
    assert_eq!(ga.provider, "Google Ireland Limited");
    assert!(ga.hosts.contains(&"*.google-analytics.com".to_owned()));
    let ga_cookie = ga.cookies.iter().find(|c| c.name == "_ga").unwrap();
    // The site's first language is Dutch.
    assert_eq!(ga_cookie.retention, "2 jaar");
    assert_eq!(ga_cookie.retention_days, Some(730));
    assert_eq!(ga_cookie.country, "IE");
    let meta = config.service("meta-pixel").unwrap();
    assert_eq!(meta.category, "marketing");
    assert_eq!(
        meta.privacy_policy_url.as_deref(),
        Some("https://www.facebook.com/privacy/policy/")
    );
    let names: Vec<&str> = meta.cookies.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["_fbp", "_fbc", "fr"]);
    assert!(meta.hosts.contains(&"*.facebook.net".to_owned()));
    config.validate().unwrap();

    // Both are ticked now; unticking the pixel removes it, GA stays.
    let (_, page) = app.page(&b, "/dashboard/sites/shop3/services", Some("en")).await;
    assert!(page.contains("name=\"use_ga4\" value=\"1\" checked"), "{page}");
    assert!(page.contains("name=\"use_meta-pixel\" value=\"1\" checked"));
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("shown", shown.into()),
        ("use_ga4", "1".into()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/sites/shop3/services?saved=1");
    let config = draft(&app, "shop3").await.config;
    let ids: Vec<&str> = config.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["ga4"]);
    let (_, page) = app
        .page(&b, "/dashboard/sites/shop3/services?saved=1", Some("en"))
        .await;
    assert!(page.contains("Saved as a draft"));

    // The site's page links here; another tenant's site is not found.
    let (_, site) = app.page(&b, "/dashboard/sites/shop3", Some("en")).await;
    assert!(site.contains("/dashboard/sites/shop3/services"));
    assert_eq!(app.page(&b, "/dashboard/sites/nope/services", None).await.0, 404);
}
both_backends!(picking_services);
