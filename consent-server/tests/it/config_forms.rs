//! The configuration editor's forms over real HTTP: categories, services
//! with their cookies, texts in two languages and the theme are each saved
//! as the site's draft (visitors keep the published configuration), an
//! invalid field comes back with 422 next to its input with what was typed
//! kept, removing a category works in one step (or asks what becomes of
//! its services), a viewer may look but not post, and every form needs the
//! CSRF token.

use consent_core::account::SiteRole;
use consent_core::config::Position;
use consent_core::draft::{DRAFT_ID, Draft};
use consent_core::store::{RecordKind, RecordStore};
use consent_core::{LegalBasis, SiteId};

use crate::common::{Kind, TestApp, csrf_of, spawn_app};

/// The site's draft, if one was saved.
async fn draft(app: &TestApp, site: &str) -> Option<Draft> {
    let site = SiteId::parse(site).unwrap();
    let body = app
        .state
        .store
        .record(&site, RecordKind::Draft, DRAFT_ID)
        .await
        .unwrap()?;
    Some(serde_json::from_slice(&body).unwrap())
}

/// Posts `fields` (English pages) from browser `b`: the status, the
/// redirect's target (if any) and the page.
async fn post(app: &TestApp, b: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let res = b
        .post(app.url(path))
        .header("Accept-Language", "en")
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let to = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, to, res.text().await.unwrap())
}

/// The input `id` in `page` is marked invalid and described by its error,
/// which says `says`.
fn invalid(page: &str, id: &str, says: &str) {
    let input = page
        .split('<')
        .find(|tag| tag.contains(&format!("id=\"{id}\"")) && !tag.starts_with("label") && !tag.starts_with("p "))
        .unwrap_or_else(|| panic!("no input {id}: {page}"));
    assert!(input.contains("aria-invalid=\"true\""), "{input}");
    assert!(input.contains(&format!("aria-describedby=\"{id}-error")), "{input}");
    let at = page
        .find(&format!("<p class=\"error\" id=\"{id}-error\">"))
        .expect("the error");
    assert!(
        page[at..].split("</p>").next().unwrap().contains(says),
        "{}",
        &page[at..at + 300]
    );
}

async fn categories_services_texts_and_theme_are_drafts(kind: Kind) {
    let app = spawn_app(kind).await;
    let version = app.demo_version().await;
    let published = app.get_json("/api/v1/sites/demo/config").await;
    let b = app.dashboard_login().await;
    let (status, overview) = app.page(&b, "/dashboard/sites/demo/config", Some("en")).await;
    assert_eq!(status, 200);
    assert!(overview.contains("There is no draft"), "{overview}");
    assert!(overview.contains("id=\"category-marketing\""));
    assert!(
        overview.contains("/dashboard/sites/demo/services"),
        "links to the catalogue"
    );
    let csrf = csrf_of(&overview);
    let c = csrf.as_str();

    // A category.
    let (status, to, _) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/categories",
        &[
            ("csrf", c),
            ("id", "social"),
            ("title_en", "Social media"),
            ("title_nl", "Sociale media"),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/dashboard/sites/demo/config?saved=1"));
    let d = draft(&app, "demo").await.expect("a draft");
    assert_eq!(d.by, "admin");
    let social = d.config.category("social").unwrap();
    assert_eq!(social.labels["nl"].title, "Sociale media");
    let (_, overview) = app.page(&b, "/dashboard/sites/demo/config?saved=1", Some("en")).await;
    assert!(overview.contains("Saved as a draft") && overview.contains("Draft saved by <strong>admin</strong>"));
    assert!(
        overview.contains("href=\"/dashboard/sites/demo/publish\""),
        "{overview}"
    );
    // A duplicate id: 422 next to the id, everything typed kept.
    let (status, _, page) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/categories",
        &[("csrf", c), ("id", "analytics"), ("title_en", "Typed <title>")],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    invalid(&page, "category-id", "already in use");
    assert!(page.contains("value=\"Typed &lt;title&gt;\""), "{page}");

    // A service, then a cookie of it.
    let (status, to, _) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/services",
        &[
            ("csrf", c),
            ("id", "hotjar"),
            ("name", "Hotjar"),
            ("category", "analytics"),
            ("provider", "Hotjar Ltd"),
            ("privacy_policy_url", "https://www.hotjar.com/legal/policies/privacy/"),
            ("hosts", "*.hotjar.com\r\n\r\nStatic.Hotjar.com\r\n"),
            ("description_nl", "Heatmaps"),
        ],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (303, "/dashboard/sites/demo/config/services/hotjar?saved=1")
    );
    let config = draft(&app, "demo").await.unwrap().config;
    let hotjar = config.service("hotjar").unwrap();
    assert_eq!(hotjar.hosts, ["*.hotjar.com", "static.hotjar.com"]);
    assert_eq!(hotjar.category, "analytics");
    // In a category the site does not have: 422 on the category select.
    let (status, _, page) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/services",
        &[("csrf", c), ("id", "ads"), ("name", "Typed name"), ("category", "ads")],
    )
    .await;
    assert_eq!(status, 422);
    invalid(&page, "service-category", "no such category");
    assert!(page.contains("value=\"Typed name\""));
    // A host that is not one: 422 on the hosts.
    let (status, _, page) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/services/hotjar",
        &[
            ("csrf", c),
            ("name", "Hotjar"),
            ("category", "analytics"),
            ("hosts", "https://hotjar.com/"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    invalid(&page, "service-hosts", "host name");
    assert!(page.contains("https://hotjar.com/</textarea>"), "{page}");

    let cookies = "/dashboard/sites/demo/config/services/hotjar/cookies";
    let (status, to, _) = post(
        &app,
        &b,
        cookies,
        &[
            ("csrf", c),
            ("name", "_hjSessionUser_*"),
            ("purpose", "Recognises a returning visitor"),
            ("retention", "1 year"),
            ("retention_days", "365"),
            ("country", "mt"),
            ("legal_basis", "consent"),
        ],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (303, "/dashboard/sites/demo/config/services/hotjar?saved=1")
    );
    let config = draft(&app, "demo").await.unwrap().config;
    let cookie = &config.service("hotjar").unwrap().cookies[0];
    assert_eq!(
        (
            cookie.name.as_str(),
            cookie.retention_days,
            cookie.country.as_str(),
            cookie.legal_basis
        ),
        ("_hjSessionUser_*", Some(365), "MT", LegalBasis::Consent)
    );
    // Retention out of range, and a name a cookie cannot have: each next to its input.
    let (status, _, page) = post(
        &app,
        &b,
        cookies,
        &[
            ("csrf", c),
            ("name", "_hjid"),
            ("retention_days", "99999"),
            ("purpose", "Typed purpose"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    invalid(&page, "cookie-new-retention_days", "0–3650");
    assert!(page.contains("Typed purpose</textarea>") && page.contains("value=\"_hjid\""));
    let (status, _, page) = post(&app, &b, &format!("{cookies}/0"), &[("csrf", c), ("name", "a b")]).await;
    assert_eq!(status, 422);
    invalid(&page, "cookie-0-name", "without spaces");
    let (_, service) = app
        .page(&b, "/dashboard/sites/demo/config/services/hotjar", Some("en"))
        .await;
    assert!(
        service.contains("value=\"_hjSessionUser_*\"") && service.contains("href=\"/dashboard/sites/demo/services\"")
    );

    // Texts in Dutch, then German after adding it.
    let (status, _, _) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/texts/nl",
        &[("csrf", c), ("text_title", "Cookies bij ons"), ("text_accept_all", "")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.page(&b, "/dashboard/sites/demo/config/texts/de", None).await.0,
        404,
        "not offered yet"
    );
    let (status, _, _) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/languages",
        &[
            ("csrf", c),
            ("lang_nl", "1"),
            ("lang_en", "1"),
            ("lang_de", "1"),
            ("first", "nl"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (status, texts_de) = app.page(&b, "/dashboard/sites/demo/config/texts/de", Some("en")).await;
    assert_eq!(status, 200);
    assert!(
        texts_de.contains("placeholder=\"Alle ablehnen\""),
        "the built-in text: {texts_de}"
    );
    assert!(
        texts_de.contains("placeholder=\"Cookie-Einstellungen\""),
        "the loader's own texts too"
    );
    let (status, _, _) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/texts/de",
        &[
            ("csrf", c),
            ("text_reject_all", "Nein danke"),
            ("text_accept_all", "Alle akzeptieren"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let config = draft(&app, "demo").await.unwrap().config;
    assert_eq!(config.languages, ["nl", "en", "de"]);
    assert_eq!(config.texts["nl"]["title"], "Cookies bij ons");
    assert_eq!(config.texts["de"]["reject_all"], "Nein danke");
    assert!(
        !config.texts["de"].contains_key("accept_all"),
        "the built-in text is no override"
    );
    // No language at all: 422.
    let (status, _, page) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/languages",
        &[("csrf", c), ("first", "nl")],
    )
    .await;
    assert_eq!(status, 422);
    invalid(&page, "languages-lang_nl", "at least one");

    // Theme and behaviour: a typed colour, a moved picker, radius, position.
    let theme = "/dashboard/sites/demo/config/theme";
    let (status, page) = app.page(&b, theme, Some("en")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("type=\"color\" name=\"accent_pick\" value=\"#0b57d0\""),
        "{page}"
    );
    let mut fields = vec![
        ("csrf", c),
        ("accent", "#7A0019"),
        ("accent_pick", "#0b57d0"),
        ("accent_shown", "#0b57d0"),
        ("background", ""),
        ("background_pick", "#fffdf5"),
        ("background_shown", "#ffffff"),
        ("radius_px", "4"),
        ("position", "top"),
        ("controller", "Demo B.V."),
        ("privacy_policy_url", "https://demo.example/privacy"),
        ("expiry_days", "200"),
        ("refusal_months", "12"),
        ("cookie_domain", ""),
        ("wait_for_update_ms", "500"),
    ];
    let (status, to, page) = post(&app, &b, theme, &fields).await;
    assert_eq!(
        (status, to.as_str()),
        (303, "/dashboard/sites/demo/config?saved=1"),
        "{page}"
    );
    let config = draft(&app, "demo").await.unwrap().config;
    assert_eq!(config.theme.accent.as_deref(), Some("#7a0019"));
    assert_eq!(config.theme.background.as_deref(), Some("#fffdf5"), "the picker moved");
    assert_eq!(
        (config.theme.radius_px, config.theme.position),
        (Some(4), Position::Top)
    );
    assert_eq!((config.expiry_days, config.refusal_months), (200, 12));
    assert_eq!(config.controller, "Demo B.V.");
    // An invalid colour, a contrast too low, a number out of range.
    fields[1].1 = "red";
    fields[12].1 = "5";
    let (status, _, page) = post(&app, &b, theme, &fields).await;
    assert_eq!(status, 422);
    invalid(&page, "settings-accent", "#rrggbb");
    invalid(&page, "settings-refusal_months", "6–13");
    assert!(page.contains("value=\"red\""), "typed kept");
    fields[1].1 = "#777777";
    fields[12].1 = "12";
    fields.push(("accent_text", "#888888"));
    let (status, _, page) = post(&app, &b, theme, &fields).await;
    assert_eq!(status, 422);
    invalid(&page, "settings-accent_text", "contrast");

    // Visitors still get the published configuration and loader.
    assert_eq!(app.demo_version().await, version);
    assert_eq!(app.get_json("/api/v1/sites/demo/config").await, published);
    let loader = app.get("/s/demo/loader.js").await.text().await.unwrap();
    assert!(!loader.contains("--km-accent:#7a0019"));

    // Publishing the draft (through the owner API here: the publish page
    // is its own) puts the theme into the loader.
    let key = app.api_key("demo", &["config:write"]).await;
    let config = draft(&app, "demo").await.unwrap().config;
    let res = app
        .post_with_key(
            "/api/v1/owner/sites/demo/configs",
            &key,
            &serde_json::to_value(&config).unwrap(),
        )
        .await;
    assert_eq!(res.status(), 201);
    let loader = app.get("/s/demo/loader.js").await.text().await.unwrap();
    assert!(
        loader.contains("--km-accent:#7a0019") && loader.contains(".km-banner{top:1rem"),
        "{loader}"
    );
}
both_backends!(categories_services_texts_and_theme_are_drafts);

async fn removing_and_ordering_categories(kind: Kind) {
    let app = spawn_app(kind).await;
    let b = app.dashboard_login().await;
    let (_, overview) = app.page(&b, "/dashboard/sites/demo/config", Some("en")).await;
    let csrf = csrf_of(&overview);
    let c = csrf.as_str();
    let before = draft(&app, "demo").await;
    assert!(before.is_none());

    // `preferences` in one step (Consent Mode needs no edit).
    let (status, to, _) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/categories/preferences",
        &[("csrf", c), ("remove", "1")],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/dashboard/sites/demo/config?saved=1"));
    let config = draft(&app, "demo").await.unwrap().config;
    assert!(config.category("preferences").is_none());
    assert_eq!(config.validate(), Ok(()));
    // `necessary` stays.
    let (status, _, page) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/categories/necessary",
        &[("csrf", c), ("remove", "1")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("cannot be removed"));
    // Unticking `required` on `necessary`: next to the checkbox.
    let (status, _, page) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/categories/necessary",
        &[("csrf", c), ("title_en", "Needed")],
    )
    .await;
    assert_eq!(status, 422);
    invalid(&page, "category-required", "necessary");

    // A category with services asks first; then moves them.
    let config = draft(&app, "demo").await.unwrap().config;
    let with_services: Vec<_> = config
        .services
        .iter()
        .filter(|s| s.category == "marketing")
        .map(|s| s.id.clone())
        .collect();
    assert!(!with_services.is_empty(), "the demo has marketing services");
    let (status, _, page) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/categories/marketing",
        &[("csrf", c), ("remove", "1")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("This category has services") && page.contains("value=\"move:analytics\""),
        "{page}"
    );
    assert!(
        draft(&app, "demo")
            .await
            .unwrap()
            .config
            .category("marketing")
            .is_some(),
        "nothing removed yet"
    );
    let (status, _, _) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/categories/marketing",
        &[("csrf", c), ("remove", "1"), ("services", "move:analytics")],
    )
    .await;
    assert_eq!(status, 303);
    let config = draft(&app, "demo").await.unwrap().config;
    assert!(config.category("marketing").is_none());
    for id in &with_services {
        assert_eq!(config.service(id).unwrap().category, "analytics");
    }

    // Order: analytics up, before necessary.
    let (status, _, _) = post(
        &app,
        &b,
        "/dashboard/sites/demo/config/categories/analytics/move",
        &[("csrf", c), ("to", "up")],
    )
    .await;
    assert_eq!(status, 303);
    let ids: Vec<_> = draft(&app, "demo")
        .await
        .unwrap()
        .config
        .categories
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(ids, ["analytics", "necessary"]);

    // The JSON view shows the draft and saves a draft too.
    let (_, json) = app.page(&b, "/dashboard/sites/demo/config/json", Some("en")).await;
    assert!(json.contains("Advanced (JSON)") && json.contains("&quot;id&quot;: &quot;analytics&quot;"));
    assert!(!json.contains("&quot;id&quot;: &quot;marketing&quot;"), "{json}");

    // Discarding the draft.
    let (status, _, _) = post(&app, &b, "/dashboard/sites/demo/config/discard", &[("csrf", c)]).await;
    assert_eq!(status, 303);
    assert!(draft(&app, "demo").await.is_none());
}
both_backends!(removing_and_ordering_categories);

async fn viewers_look_and_forms_need_csrf(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_member("vera", "vera-password-1", &[("demo", SiteRole::Viewer)])
        .await;
    app.create_member("mark", "mark-password-1", &[("demo", SiteRole::Marketer)])
        .await;
    let viewer = app.dashboard_login_as("vera", "vera-password-1").await;
    let (status, overview) = app.page(&viewer, "/dashboard/sites/demo/config", Some("en")).await;
    assert_eq!(status, 200);
    assert!(
        !overview.contains("/config/categories/marketing/move"),
        "no edit buttons for a viewer"
    );
    assert_eq!(
        app.page(&viewer, "/dashboard/sites/demo/config/json", None).await.0,
        200
    );
    assert_eq!(
        app.page(&viewer, "/dashboard/sites/demo/config/categories", None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.page(&viewer, "/dashboard/sites/demo/config/theme", None).await.0,
        403
    );
    let csrf = csrf_of(&overview);
    let c = csrf.as_str();
    for path in [
        "/dashboard/sites/demo/config",
        "/dashboard/sites/demo/config/categories",
        "/dashboard/sites/demo/config/categories/preferences",
        "/dashboard/sites/demo/config/categories/marketing/move",
        "/dashboard/sites/demo/config/services",
        "/dashboard/sites/demo/config/services/youtube",
        "/dashboard/sites/demo/config/services/youtube/cookies",
        "/dashboard/sites/demo/config/services/youtube/cookies/0",
        "/dashboard/sites/demo/config/languages",
        "/dashboard/sites/demo/config/texts/nl",
        "/dashboard/sites/demo/config/theme",
        "/dashboard/sites/demo/config/discard",
        "/dashboard/sites/demo/declare",
    ] {
        let (status, _, _) = post(&app, &viewer, path, &[("csrf", c), ("remove", "1"), ("cookie", "_x")]).await;
        assert_eq!(status, 403, "{path}");
    }
    assert!(draft(&app, "demo").await.is_none());

    // A marketer may save drafts; without the token, nobody may.
    let marketer = app.dashboard_login_as("mark", "mark-password-1").await;
    let (_, overview) = app.page(&marketer, "/dashboard/sites/demo/config", Some("en")).await;
    let csrf = csrf_of(&overview);
    let (status, _, _) = post(
        &app,
        &marketer,
        "/dashboard/sites/demo/config/categories/preferences",
        &[("remove", "1")],
    )
    .await;
    assert_eq!(status, 403, "no CSRF token");
    let (status, _, _) = post(
        &app,
        &marketer,
        "/dashboard/sites/demo/config/categories/preferences",
        &[("csrf", "forged"), ("remove", "1")],
    )
    .await;
    assert_eq!(status, 403, "a wrong CSRF token");
    assert!(draft(&app, "demo").await.is_none());
    let (status, _, _) = post(
        &app,
        &marketer,
        "/dashboard/sites/demo/config/categories/preferences",
        &[("csrf", csrf.as_str()), ("remove", "1")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(draft(&app, "demo").await.unwrap().by, "mark");
    // Not a member of another site: it does not exist for them.
    assert_eq!(app.page(&marketer, "/dashboard/sites/other/config", None).await.0, 404);
}
both_backends!(viewers_look_and_forms_need_csrf);
