//! The dashboard's proof page: a consent id's decisions, its proof bundle
//! (checked here with `keurmerk-verify`'s library against the key the page
//! shows), the log's checkpoint, and tenancy.

use consent_core::note::NoteVerifier;
use serde_json::Value;

use crate::common::{Kind, browser, spawn_app};

/// The text between `start` and the next `end` in `page`, unescaped enough
/// for a verifier key (which has no markup characters).
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page.find(start).unwrap_or_else(|| panic!("{start:?} not in {page}")) + start.len();
    let len = page[from..].find(end).unwrap();
    &page[from..from + len]
}

async fn proof_page(kind: Kind) {
    let app = spawn_app(kind).await;
    let res = app.post_decision("demo", &app.decision().await).await;
    assert_eq!(res.status(), 201);
    let recorded: Value = res.json().await.unwrap();
    let id = recorded["consent_id"].as_str().unwrap().to_owned();
    app.create_site("other", "https://other.example").await;

    let page = format!("/dashboard/sites/demo/proof?consent_id={id}");
    let res = browser().get(app.url(&page)).send().await.unwrap();
    assert_eq!(res.status(), 303, "the page needs a session");

    let b = app.dashboard_login().await;
    let (status, site) = app.page(&b, "/dashboard/sites/demo", None).await;
    assert_eq!(status, 200);
    assert!(site.contains(r#"href="/dashboard/sites/demo/proof""#), "{site}");

    // Wait until the log has a checkpoint covering the decision (about a second).
    let mut shown = String::new();
    for _ in 0..100 {
        let (status, html) = app.page(&b, &page, Some("en")).await;
        assert_eq!(status, 200, "{html}");
        if html.contains("Decisions in the latest checkpoint: 1") {
            shown = html;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!shown.is_empty(), "no checkpoint covering the decision");
    assert!(
        shown.contains("<th scope=\"row\">") && shown.contains("Custom"),
        "{shown}"
    );
    let version = app.demo_version().await;
    assert!(
        shown.contains(&format!(r#"href="/dashboard/sites/demo/versions/{version}""#)),
        "{shown}"
    );
    assert!(shown.contains("What this proves"), "{shown}");
    assert!(shown.contains("keurmerk-verify proof --key"), "{shown}");
    let bundle_link = format!(r#"href="/api/v1/owner/sites/demo/proofs/{id}""#);
    assert!(shown.contains(&bundle_link), "{shown}");

    // The bundle the page links to verifies under the key the page shows.
    let key = between(&shown, "keurmerk-verify proof --key '", "'");
    let key = NoteVerifier::parse(key).unwrap();
    let bundle = b
        .get(app.url(&format!("/api/v1/owner/sites/demo/proofs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    let bundle = bundle.text().await.unwrap();
    let verified = keurmerk_verify::verify_bundles(bundle.as_bytes(), &key).unwrap();
    assert_eq!(verified.len(), 1);

    // Bad, unknown and other sites' consent ids; unknown sites.
    let (status, bad) = app
        .page(&b, "/dashboard/sites/demo/proof?consent_id=%3Cscript%3E", Some("en"))
        .await;
    assert_eq!(status, 400);
    assert!(bad.contains("32 hexadecimal") && !bad.contains("<script>"), "{bad}");
    let unknown = "0123456789abcdef0123456789abcdef";
    let (status, _) = app
        .page(&b, &format!("/dashboard/sites/demo/proof?consent_id={unknown}"), None)
        .await;
    assert_eq!(status, 404);
    let (status, theirs) = app
        .page(&b, &format!("/dashboard/sites/other/proof?consent_id={id}"), Some("en"))
        .await;
    assert_eq!(status, 404, "a consent id belongs to its site");
    assert!(!theirs.contains("Custom"), "{theirs}");
    assert_eq!(app.page(&b, "/dashboard/sites/nobody/proof", None).await.0, 404);
    // The lookup form alone.
    let (status, form) = app.page(&b, "/dashboard/sites/demo/proof", None).await;
    assert_eq!(status, 200);
    assert!(form.contains(r#"<label for="consent_id">"#), "{form}");
}
both_backends!(proof_page);
