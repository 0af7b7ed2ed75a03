//! The register of processing (GDPR art. 30) in the dashboard, over real
//! HTTP on both backends: the register of a published configuration with
//! an Irish and a US vendor, the owner's details saved through the form
//! (a bad e-mail address answers 422 naming the field, keeping everything
//! typed), the three exports naming the configuration version, and who may
//! do what: a viewer reads but may not change it, another tenant's site is
//! not found, a form without the CSRF token is refused.

use base64::Engine;
use consent_core::account::SiteRole;
use consent_core::audit::AuditAction;
use consent_core::register::{PROFILE_ID, RegisterProfile, Safeguard};
use consent_core::store::{RecordKind, RecordStore};
use consent_core::{SiteConfig, SiteId, catalogue};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{Kind, TestApp, csrf_of, spawn_app};

/// The stored profile, if any.
async fn stored(app: &TestApp, site: &str) -> Option<RegisterProfile> {
    let site = SiteId::parse(site).unwrap();
    let body = app
        .state
        .store
        .record(&site, RecordKind::Register, PROFILE_ID)
        .await
        .unwrap()?;
    Some(serde_json::from_slice(&body).unwrap())
}

/// How many times the register was updated, by whom.
async fn updates(app: &TestApp, site: &str) -> Vec<String> {
    let site = SiteId::parse(site).unwrap();
    let trail = app.state.store.audit(&site, None, 100).await.unwrap();
    trail
        .into_iter()
        .filter(|(_, e)| e.action == AuditAction::RegisterUpdated)
        .map(|(_, e)| e.actor)
        .collect()
}

/// Records of an RFC 4180 CSV text (quoted cells may hold commas, quotes
/// and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        !quoted && cell.is_empty() && row.is_empty(),
        "the CSV ends with a line break"
    );
    rows
}

/// Posts the owner's details with `email`, and `csrf` as the token (none:
/// no token, as a forged form).
async fn post_profile(app: &TestApp, b: &reqwest::Client, email: &str, csrf: Option<&str>) -> reqwest::Response {
    let mut fields = vec![
        ("controller", "Winkel <BV> & Co"),
        ("address", "Dorpsstraat 1\r\n1234 AB Plaats"),
        ("email", email),
        ("phone", "+31 20 123 4567"),
        ("dpo_name", "Dana de Vries"),
        ("dpo_contact", "dpo@shop.example"),
        ("representative", ""),
        ("measures", "Laptops are encrypted."),
        ("safeguard_fullstory", "dpf"),
        // Not a service of this site's transfers: ignored.
        ("safeguard_ga4", "scc"),
    ];
    if let Some(csrf) = csrf {
        fields.push(("csrf", csrf));
    }
    b.post(app.url("/dashboard/sites/shop/register"))
        .header("Accept-Language", "en")
        .form(&fields)
        .send()
        .await
        .unwrap()
}

async fn register_of_processing(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("shop", "https://shop.example").await;
    app.create_site("other", "https://other.example").await;
    // Published: Google Analytics 4 (Google Ireland) and FullStory (US).
    let mut config = SiteConfig::starter();
    for id in ["ga4", "fullstory"] {
        config.services.push(catalogue::vendor(id).unwrap().to_service("nl"));
    }
    let res = app
        .admin()
        .await
        .post(
            "/api/v1/owner/sites/shop/configs",
            &serde_json::to_value(&config).unwrap(),
        )
        .await;
    assert_eq!(res.status(), 201);
    let version = config.version().0;
    app.create_member("olga", "olga-password-1", &[("shop", SiteRole::Owner)])
        .await;
    app.create_member("vera", "vera-password-1", &[("shop", SiteRole::Viewer)])
        .await;
    let owner = app.dashboard_login_as("olga", "olga-password-1").await;

    // The register, before the owner added anything.
    let (status, page) = app.page(&owner, "/dashboard/sites/shop/register", Some("en")).await;
    assert_eq!(status, 200, "{page}");
    for text in [
        version.as_str(),
        "Register of processing · shop",
        "Processing activity 1: Necessary",
        "Processing activity 3: Analytics",
        "Consent records (proof of consent)",
        "Consent (GDPR art. 6(1)(a))",
        "Visitors of the website (https://shop.example)",
        "Google Ireland Limited",
        "FullStory, Inc.",
        "Warning: no safeguard chosen",
        "The controller&#39;s name is missing",
        "for as long as the operator keeps the log",
        "No IP address",
        "name=\"safeguard_fullstory\"",
        "/dashboard/sites/shop/register.csv",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }
    // Only the service whose data leave the EEA gets a safeguard to choose.
    assert!(!page.contains("safeguard_ga4"));
    let (_, nl) = app.page(&owner, "/dashboard/sites/shop/register", Some("nl")).await;
    for text in [
        "Register van verwerkingen",
        "Verwerkingsactiviteit 3: Statistieken",
        "Toestemming (art. 6(1)(a) AVG)",
        "2 jaar",
    ] {
        assert!(nl.contains(text), "{text}: {nl}");
    }
    // The site's page links here.
    let (_, site_page) = app.page(&owner, "/dashboard/sites/shop", Some("en")).await;
    assert!(site_page.contains("/dashboard/sites/shop/register"));

    let csrf = csrf_of(&page);
    // A bad e-mail address: 422, the field named, everything typed kept.
    let res = post_profile(&app, &owner, "not-an-email", Some(&csrf)).await;
    assert_eq!(res.status(), 422);
    let again = res.text().await.unwrap();
    for text in [
        "The form was not saved",
        "<a href=\"#f-email\">E-mail address</a>: Not a valid e-mail address",
        "id=\"f-email-error\"",
        "value=\"not-an-email\"",
        "value=\"Winkel &lt;BV&gt; &amp; Co\"",
        ">Dorpsstraat 1\n1234 AB Plaats</textarea>",
        "value=\"+31 20 123 4567\"",
        "value=\"Dana de Vries\"",
        ">Laptops are encrypted.</textarea>",
        "<option value=\"dpf\" selected>",
    ] {
        assert!(again.contains(text), "{text}: {again}");
    }
    let email_input = again
        .split("<input id=\"f-email\"")
        .nth(1)
        .and_then(|s| s.split('>').next())
        .unwrap();
    assert!(
        email_input.contains("aria-invalid=\"true\"") && email_input.contains("aria-describedby=\"f-email-error"),
        "{email_input}"
    );
    assert!(stored(&app, "shop").await.is_none(), "nothing saved");

    // Forged (no token): refused, nothing saved.
    assert_eq!(
        post_profile(&app, &owner, "privacy@shop.example", None).await.status(),
        403
    );
    assert!(stored(&app, "shop").await.is_none());
    assert!(updates(&app, "shop").await.is_empty());

    // Saved.
    let res = post_profile(&app, &owner, "privacy@shop.example", Some(&csrf)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/dashboard/sites/shop/register?saved=1#saved"
    );
    let profile = stored(&app, "shop").await.unwrap();
    assert_eq!(profile.controller, "Winkel <BV> & Co");
    assert_eq!(profile.address, "Dorpsstraat 1\n1234 AB Plaats");
    assert_eq!(profile.email, "privacy@shop.example");
    assert_eq!(profile.updated_by, "olga");
    assert_eq!(profile.safeguards.len(), 1);
    assert_eq!(profile.safeguards["fullstory"], Safeguard::Dpf);
    assert_eq!(updates(&app, "shop").await, ["olga"]);
    let (_, page) = app
        .page(&owner, "/dashboard/sites/shop/register?saved=1", Some("en"))
        .await;
    assert!(page.contains("Saved. The register is up to date."));
    assert!(page.contains("EU-US Data Privacy Framework"));
    assert!(!page.contains("Warning: no safeguard chosen"), "{page}");
    assert!(page.contains("Last saved by olga"));

    // The exports, each naming the configuration version.
    let get = |path: &'static str| owner.get(app.url(path)).header("Accept-Language", "en").send();
    let res = get("/dashboard/sites/shop/register.json").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let short = &version[..12];
    assert_eq!(
        res.headers()["content-disposition"],
        format!("attachment; filename=\"register-shop-{short}.json\"").as_str()
    );
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["config_version"], version.as_str());
    assert_eq!(json["site"], "shop");
    assert!(json["generated"].as_str().unwrap().ends_with('Z'));
    assert_eq!(json["controller"]["name"], "Winkel <BV> & Co");
    assert_eq!(json["controller"]["dpo_contact"], "dpo@shop.example");
    let activities = json["activities"].as_array().unwrap();
    assert_eq!(activities.len(), config.categories.len() + 1);
    assert!(
        activities
            .iter()
            .all(|a| !a["legal_basis"].as_array().unwrap().is_empty())
    );
    let analytics = activities.iter().find(|a| a["id"] == "analytics").unwrap();
    let transfers = analytics["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 1, "only FullStory leaves the EEA");
    assert_eq!(transfers[0]["country"], "US");
    assert_eq!(transfers[0]["safeguard"], "dpf");
    assert_eq!(transfers[0]["covered"], true);
    assert!(
        json["measures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "Laptops are encrypted.")
    );

    let res = get("/dashboard/sites/shop/register.csv").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = parse_csv(&res.text().await.unwrap());
    assert_eq!(csv[0][0], "config_version");
    assert_eq!(csv[0][1], "generated");
    assert_eq!(csv.len(), activities.len() + 1);
    assert!(csv[1..].iter().all(|r| r.len() == csv[0].len() && r[0] == version));
    let fs = csv.iter().find(|r| r[3] == "Analytics").unwrap();
    assert!(
        fs[9].contains("FullStory") && fs[9].contains("Data Privacy Framework"),
        "{fs:?}"
    );

    let res = get("/dashboard/sites/shop/register.html").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = res.text().await.unwrap();
    for text in [
        version.as_str(),
        "<h1>Register of processing · shop</h1>",
        "Winkel &lt;BV&gt; &amp; Co",
        "Consent records (proof of consent)",
    ] {
        assert!(html.contains(text), "{text}: {html}");
    }
    assert!(!html.contains("<form") && !html.contains("<header") && !html.contains("<script"));
    assert!(!html.contains("<link"), "stands alone");
    // Its one inline style is allowed by its hash, and nothing else is.
    let style = html.split("<style>").nth(1).unwrap().split("</style>").next().unwrap();
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
    assert!(csp.starts_with("default-src 'none'; "), "{csp}");
    assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp} vs {hash}");

    // A viewer reads the register and its exports but may not change it.
    let viewer = app.dashboard_login_as("vera", "vera-password-1").await;
    let (status, page) = app.page(&viewer, "/dashboard/sites/shop/register", Some("en")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Only the site&#39;s owners can change"), "{page}");
    assert!(!page.contains("name=\"controller\""));
    let res = viewer
        .get(app.url("/dashboard/sites/shop/register.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let viewer_csrf = csrf_of(&page);
    let res = viewer
        .post(app.url("/dashboard/sites/shop/register"))
        .form(&[
            ("csrf", viewer_csrf.as_str()),
            ("controller", "Vera's"),
            ("email", "v@shop.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(stored(&app, "shop").await.unwrap().controller, "Winkel <BV> & Co");

    // Another tenant's site, and one that does not exist: not found.
    for path in [
        "/dashboard/sites/other/register",
        "/dashboard/sites/other/register.csv",
        "/dashboard/sites/other/register.json",
        "/dashboard/sites/other/register.html",
        "/dashboard/sites/nope/register",
    ] {
        assert_eq!(app.page(&owner, path, None).await.0, 404, "{path}");
    }
    let res = owner
        .post(app.url("/dashboard/sites/other/register"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("controller", "X"),
            ("email", "x@other.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(stored(&app, "other").await.is_none());
    assert_eq!(updates(&app, "shop").await.len(), 1);
}
both_backends!(register_of_processing);
