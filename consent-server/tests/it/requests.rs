//! Visitors' requests in the dashboard (GDPR art. 15 access, art. 17
//! erasure) through the real server: registering one under a consent id
//! with decisions, the deadline and overdue warnings, the JSON, CSV and XML
//! exports (parsed back), erasure (the proof bundle still verifies),
//! closing, the audit trail in order, roles, tenancy and CSRF.

use std::time::{Duration, Instant};

use consent_core::SiteId;
use consent_core::account::SiteRole;
use consent_core::analytics::Day;
use consent_core::audit::AuditAction;
use consent_core::note::NoteVerifier;
use consent_core::store::{DecisionStore, RecordStore};
use consent_core::visitor_request::months_after;
use quick_xml::events::Event;
use serde_json::{Value, json};

use crate::common::{Kind, TestApp, csrf_of, spawn_app};

fn today() -> Day {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    Day::of_ms(ms)
}

/// POSTs `form` (with the token `csrf`, when given) from browser `b`, asking for English.
async fn post(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    csrf: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    if let Some(csrf) = csrf {
        fields.push(("csrf", csrf));
    }
    b.post(app.url(path))
        .header("Accept-Language", "en")
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// Registers a request; its id, from where the answer points.
async fn register(b: &reqwest::Client, app: &TestApp, csrf: &str, kind: &str, consent: &str, received: &str) -> String {
    let form = [
        ("kind", kind),
        ("consent_id", consent),
        ("received", received),
        ("note", "by post"),
    ];
    let res = post(b, app, "/dashboard/sites/demo/requests", Some(csrf), &form).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let id = to.strip_prefix("/dashboard/sites/demo/requests/").unwrap().to_owned();
    assert!(id.starts_with("req_") && id.len() == 20, "{id}");
    id
}

/// An export of request `id` in `format`: the body, after checking the
/// download's headers.
async fn export(b: &reqwest::Client, app: &TestApp, csrf: &str, id: &str, format: &str, consent: &str) -> String {
    let path = format!("/dashboard/sites/demo/requests/{id}/export");
    let res = post(b, app, &path, Some(csrf), &[("format", format)]).await;
    assert_eq!(res.status(), 200);
    let ctype = res.headers()["content-type"].to_str().unwrap().to_owned();
    let want = match format {
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        _ => "application/xml; charset=utf-8",
    };
    assert_eq!(ctype, want);
    assert_eq!(
        res.headers()["content-disposition"],
        format!("attachment; filename=\"visitor-demo-{consent}.{format}\"").as_str()
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.text().await.unwrap()
}

/// An RFC 4180 line into its cells (quotes doubled inside quoted cells; no
/// cell here holds a line break).
fn csv_cells(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            (c, _) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// The XML export's elements: (name, attributes, text) in document order,
/// read with quick-xml's reader (which refuses malformed XML).
fn xml_elements(xml: &str) -> Vec<Element> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let element = |e: &quick_xml::events::BytesStart| Element {
        name: e.name().as_ref().to_owned(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                let key = a.key.as_ref().to_owned();
                (
                    key,
                    a.normalized_value(quick_xml::XmlVersion::default())
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect(),
        text: String::new(),
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                out.push(element(&e));
                open.push(out.len() - 1);
            }
            Event::Empty(e) => out.push(element(&e)),
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                if let Some(&at) = open.last() {
                    out[at].text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let name = r.into_inner();
                let c = quick_xml::escape::resolve_predefined_entity(&name).expect("a predefined entity");
                out[*open.last().unwrap()].text.push_str(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "every element closed");
    out
}

struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
}

impl Element {
    fn attr(&self, key: &str) -> &str {
        &self
            .attrs
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("no {key} on {}", self.name))
            .1
    }
}

fn texts<'a>(elements: &'a [Element], name: &str) -> Vec<&'a str> {
    elements
        .iter()
        .filter(|e| e.name == name)
        .map(|e| e.text.as_str())
        .collect()
}

/// Waits (the log publishes every second) until a checkpoint covers `size` leaves.
async fn checkpoint_covers(app: &TestApp, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = app.get("/api/v1/log/checkpoint").await;
        if res.status() == 200 {
            let note = res.text().await.unwrap();
            let n: u64 = note.lines().nth(1).unwrap().parse().unwrap();
            if n >= size {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no checkpoint of size {size} in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn visitor_requests(kind: Kind) {
    let app = spawn_app(kind).await;
    // A visitor with two decisions, and another visitor.
    let mut body = app.decision().await;
    let res = app.post_decision("demo", &body).await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    let consent = first["consent_id"].as_str().unwrap().to_owned();
    let secret = first["secret"].as_str().unwrap().to_owned();
    body["consent_id"] = json!(consent);
    body["secret"] = json!(secret);
    body["method"] = json!("withdrawal");
    body["categories"] = json!({});
    body["services"] = json!({});
    body["page_path"] = json!("/kassa");
    assert_eq!(app.post_decision("demo", &body).await.status(), 201);
    let other: Value = app
        .post_decision("demo", &app.decision().await)
        .await
        .json()
        .await
        .unwrap();
    let version = app.demo_version().await;

    let b = app.dashboard_login().await;
    let (status, list) = app.page(&b, "/dashboard/sites/demo/requests", Some("en")).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("Do not enter the requester&#39;s name"), "{list}");
    let csrf = csrf_of(&list);

    // Field-level errors, the typed values shown again.
    let today = today();
    let tomorrow = Day(today.0 + 1).to_string();
    let bad = [
        ("consent_id", "erasure", "nope<b>", "", "32 characters"),
        (
            "received",
            "erasure",
            consent.as_str(),
            tomorrow.as_str(),
            "cannot be in the future",
        ),
        (
            "received",
            "access",
            consent.as_str(),
            "2020-01-01",
            "more than a year ago",
        ),
        ("received", "access", consent.as_str(), "31-01-2026", "YYYY-MM-DD"),
        ("kind", "delete", consent.as_str(), "", "Choose access or erasure"),
    ];
    for (field, kind, id, received, says) in bad {
        let form = [("kind", kind), ("consent_id", id), ("received", received), ("note", "")];
        let res = post(&b, &app, "/dashboard/sites/demo/requests", Some(&csrf), &form).await;
        assert_eq!(res.status(), 422, "{field}");
        let page = res.text().await.unwrap();
        assert!(page.contains(&format!("id=\"{field}_error\"")), "{field}: {page}");
        assert!(page.contains(says), "{field}: {page}");
        assert!(!page.contains("nope<b>"), "escaped: {page}");
    }
    let long_note = "x".repeat(501);
    let form = [
        ("kind", "access"),
        ("consent_id", consent.as_str()),
        ("note", long_note.as_str()),
    ];
    let res = post(&b, &app, "/dashboard/sites/demo/requests", Some(&csrf), &form).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"note_error\""));

    // An erasure request received 40 days ago (overdue) and an access request today.
    let received = Day(today.0 - 40);
    let erasure = register(&b, &app, &csrf, "erasure", &consent, &received.to_string()).await;
    let access = register(&b, &app, &csrf, "access", &consent, "").await;
    let unknown = register(&b, &app, &csrf, "access", "0123456789abcdef0123456789abcdef", "").await;
    let deadline = months_after(received, 1);
    let late = today.0 - deadline.0;
    let (_, list) = app.page(&b, "/dashboard/sites/demo/requests", Some("en")).await;
    let overdue = format!("<strong>Overdue by {late} days</strong>");
    assert!(list.contains(&overdue), "{list}");
    assert!(
        list.contains("class=\"error\"><strong>Overdue"),
        "red and in words: {list}"
    );
    assert!(list.contains(&deadline.to_string()), "{list}");
    assert!(
        list.find(&erasure).unwrap() < list.find(&access).unwrap(),
        "most urgent first"
    );
    let (_, nl) = app.page(&b, "/dashboard/sites/demo/requests", Some("nl")).await;
    assert!(nl.contains(&format!("Te laat, met {late} dagen")), "{nl}");
    let (_, site) = app.page(&b, "/dashboard/sites/demo", Some("en")).await;
    assert!(site.contains("href=\"/dashboard/sites/demo/requests\""), "{site}");
    assert!(
        site.contains("3 open, <strong class=\"error\">1 overdue</strong>"),
        "{site}"
    );

    // The request's page: countdown, the visitor's decisions.
    let (status, show) = app
        .page(&b, &format!("/dashboard/sites/demo/requests/{access}"), Some("en"))
        .await;
    assert_eq!(status, 200, "{show}");
    assert!(show.contains(&format!("{}", months_after(today, 1))), "{show}");
    assert!(show.contains("days left"), "{show}");
    assert!(show.contains("Decisions recorded: 2"), "{show}");
    assert!(show.contains(&format!("<code>{version}</code>")), "{show}");
    assert!(show.contains("Withdrawal") || show.contains("withdraw"), "{show}");
    let (_, unknown_page) = app
        .page(&b, &format!("/dashboard/sites/demo/requests/{unknown}"), Some("en"))
        .await;
    assert!(unknown_page.contains("does not know this consent id"), "{unknown_page}");

    // Exports: the same data as the visitor's own access endpoint.
    let json_export: Value = serde_json::from_str(&export(&b, &app, &csrf, &access, "json", &consent).await).unwrap();
    assert_eq!(json_export["consent_id"], consent.as_str());
    assert_eq!(json_export["site"], "demo");
    assert_eq!(json_export["erased"], false);
    assert_eq!(json_export["known"], true);
    assert_eq!(json_export["complete"], true);
    let decisions = json_export["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2);
    let paths: Vec<_> = decisions
        .iter()
        .map(|d| d["personal"]["page_path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/winkel", "/kassa"]);
    assert_eq!(decisions[0]["record"]["method"], "custom");
    assert_eq!(decisions[0]["record"]["categories"]["marketing"], false);
    assert_eq!(decisions[0]["record"]["services"]["youtube"], true);
    assert_eq!(decisions[0]["record"]["config_version"], version.as_str());
    assert_eq!(decisions[1]["record"]["method"], "withdrawal");
    assert!(decisions.iter().all(|d| d["record"]["consent_id"] == consent.as_str()));
    let own = app
        .as_visitor(
            reqwest::Method::GET,
            &format!("/api/v1/sites/demo/visitors/{consent}"),
            &secret,
        )
        .await;
    let own: Value = own.json().await.unwrap();
    let mut own = own["decisions"].as_array().unwrap().clone();
    own.reverse();
    assert_eq!(
        &own, decisions,
        "the dashboard and the visitor's API give the same records"
    );

    let csv = export(&b, &app, &csrf, &access, "csv", &consent).await;
    let rows: Vec<Vec<String>> = csv.lines().map(csv_cells).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let col = |name: &str| {
        rows[0]
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{csv}");
    assert_eq!(rows[1][col("consent_id")], consent);
    assert_eq!(rows[1][col("method")], "custom");
    assert_eq!(rows[1][col("config_version")], version);
    assert_eq!(rows[1][col("granted_categories")], "analytics;necessary");
    assert_eq!(rows[1][col("services")], "youtube=granted");
    assert_eq!(rows[1][col("page_path")], "/winkel");
    assert_eq!(rows[1][col("personal_fields")], "decrypted");
    assert_eq!(rows[2][col("method")], "withdrawal");
    assert_eq!(rows[2][col("gpc")], "false");
    assert_eq!(rows[1][col("time_ms")], decisions[0]["record"]["time_ms"].to_string());

    let xml = export(&b, &app, &csrf, &access, "xml", &consent).await;
    let elements = xml_elements(&xml);
    assert_eq!(elements[0].name, "visitor");
    assert_eq!(elements[0].attr("consent_id"), consent);
    assert_eq!(elements[0].attr("erased"), "false");
    let xml_decisions: Vec<_> = elements.iter().filter(|e| e.name == "decision").collect();
    assert_eq!(xml_decisions.len(), 2);
    assert_eq!(xml_decisions[0].attr("index"), decisions[0]["index"].to_string());
    assert_eq!(texts(&elements, "method"), ["custom", "withdrawal"]);
    assert_eq!(texts(&elements, "page_path"), ["/winkel", "/kassa"]);
    assert_eq!(texts(&elements, "config_version"), [version.as_str(), version.as_str()]);
    let choices: Vec<_> = elements
        .iter()
        .filter(|e| e.name == "choice")
        .map(|e| (e.attr("id"), e.attr("granted")))
        .collect();
    assert!(
        choices.contains(&("marketing", "false")) && choices.contains(&("youtube", "true")),
        "{choices:?}"
    );
    assert!(
        !xml.contains(other["consent_id"].as_str().unwrap()),
        "only this visitor"
    );

    // Erasure: a confirmation step, then the same erasure as the API's;
    // again changes nothing. An access request erases nothing.
    let (status, confirm) = app
        .page(
            &b,
            &format!("/dashboard/sites/demo/requests/{erasure}/erase"),
            Some("en"),
        )
        .await;
    assert_eq!(status, 200);
    assert!(confirm.contains("Yes, erase for good"), "{confirm}");
    let erase_path = format!("/dashboard/sites/demo/requests/{erasure}/erase");
    let res = post(&b, &app, &erase_path, Some(&csrf), &[]).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.ends_with("?done=erased"), "{to}");
    let (_, done) = app.page(&b, &to, Some("en")).await;
    assert!(done.contains("Erased: the key is destroyed."), "{done}");
    assert!(done.contains("were erased"), "{done}");
    let res = post(&b, &app, &erase_path, Some(&csrf), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("?done=erased_before")
    );
    let res = post(
        &b,
        &app,
        &format!("/dashboard/sites/demo/requests/{access}/erase"),
        Some(&csrf),
        &[],
    )
    .await;
    assert_eq!(res.status(), 409);
    let seen = app
        .as_visitor(
            reqwest::Method::GET,
            &format!("/api/v1/sites/demo/visitors/{consent}"),
            &secret,
        )
        .await;
    let seen: Value = seen.json().await.unwrap();
    assert_eq!(seen["erased"], true, "{seen}");

    let after: Value = serde_json::from_str(&export(&b, &app, &csrf, &erasure, "json", &consent).await).unwrap();
    assert_eq!(after["erased"], true);
    let kept = after["decisions"].as_array().unwrap();
    assert_eq!(kept.len(), 2, "the decisions stay, as proofs");
    assert!(kept.iter().all(|d| d["personal"].is_null()), "{after}");
    assert_eq!(kept[0]["record"], decisions[0]["record"]);
    let csv = export(&b, &app, &csrf, &erasure, "csv", &consent).await;
    let rows: Vec<Vec<String>> = csv.lines().map(csv_cells).collect();
    assert_eq!(rows[1][col("personal_fields")], "erased");
    assert_eq!(rows[1][col("page_path")], "");
    let xml = export(&b, &app, &csrf, &erasure, "xml", &consent).await;
    let elements = xml_elements(&xml);
    assert_eq!(elements[0].attr("erased"), "true");
    assert!(texts(&elements, "page_path").is_empty(), "{xml}");

    // The proofs of the erased visitor's decisions still verify.
    checkpoint_covers(&app, 3).await;
    let key = app.get("/.well-known/keurmerk-log-key").await.text().await.unwrap();
    let key = NoteVerifier::parse(key.trim()).unwrap();
    let bundle = b
        .get(app.url(&format!("/api/v1/owner/sites/demo/proofs/{consent}")))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    let verified = keurmerk_verify::verify_bundles(bundle.text().await.unwrap().as_bytes(), &key).unwrap();
    assert_eq!(verified.len(), 2);

    // Extending: a reason, within the first month, once.
    let extend = |id: &str| format!("/dashboard/sites/demo/requests/{id}/extend");
    let res = post(&b, &app, &extend(&access), Some(&csrf), &[("reason", " ")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"reason_error\""));
    let res = post(
        &b,
        &app,
        &extend(&access),
        Some(&csrf),
        &[("reason", "three systems to search")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, show) = app
        .page(&b, &format!("/dashboard/sites/demo/requests/{access}"), Some("en"))
        .await;
    assert!(show.contains(&months_after(today, 3).to_string()), "{show}");
    assert!(show.contains("three systems to search"), "{show}");
    let res = post(&b, &app, &extend(&access), Some(&csrf), &[("reason", "again")]).await;
    assert_eq!(res.status(), 422);
    let res = post(&b, &app, &extend(&erasure), Some(&csrf), &[("reason", "late")]).await;
    assert_eq!(res.status(), 422, "the first month is over");

    // Closing: an outcome, a refusal with its reason.
    let close = |id: &str| format!("/dashboard/sites/demo/requests/{id}/close");
    let res = post(
        &b,
        &app,
        &close(&unknown),
        Some(&csrf),
        &[("outcome", "refused"), ("reason", "")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"close_reason_error\""));
    let res = post(
        &b,
        &app,
        &close(&erasure),
        Some(&csrf),
        &[("outcome", "erased"), ("reason", "")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = post(&b, &app, &close(&erasure), Some(&csrf), &[("outcome", "answered")]).await;
    assert_eq!(res.status(), 422, "closed already");
    let (_, show) = app
        .page(&b, &format!("/dashboard/sites/demo/requests/{erasure}"), Some("en"))
        .await;
    assert!(show.contains("Closed (Erased)"), "{show}");
    assert!(
        !show.contains("/close\""),
        "no closing form on a closed request: {show}"
    );
    let (_, list) = app.page(&b, "/dashboard/sites/demo/requests", Some("en")).await;
    assert!(!list.contains("Overdue by"), "a closed request is not overdue: {list}");
    let (_, site) = app.page(&b, "/dashboard/sites/demo", Some("en")).await;
    assert!(site.contains("2 open</p>") || site.contains("2 open"), "{site}");
    assert!(!site.contains("overdue</strong>"), "{site}");

    // Every step in the audit trail, in order.
    let demo = SiteId::parse("demo").unwrap();
    let mut trail = app.state.store.audit(&demo, None, 1000).await.unwrap();
    trail.reverse();
    let steps: Vec<AuditAction> = trail.into_iter().map(|(_, e)| e.action).collect();
    let s = |x: &str| x.to_owned();
    let want = vec![
        AuditAction::RequestOpened {
            id: s(&erasure),
            kind: s("erasure"),
        },
        AuditAction::RequestOpened {
            id: s(&access),
            kind: s("access"),
        },
        AuditAction::RequestOpened {
            id: s(&unknown),
            kind: s("access"),
        },
        AuditAction::RequestExported {
            id: s(&access),
            format: s("json"),
        },
        AuditAction::RequestExported {
            id: s(&access),
            format: s("csv"),
        },
        AuditAction::RequestExported {
            id: s(&access),
            format: s("xml"),
        },
        AuditAction::RequestErased { id: s(&erasure) },
        AuditAction::RequestErased { id: s(&erasure) },
        AuditAction::RequestExported {
            id: s(&erasure),
            format: s("json"),
        },
        AuditAction::RequestExported {
            id: s(&erasure),
            format: s("csv"),
        },
        AuditAction::RequestExported {
            id: s(&erasure),
            format: s("xml"),
        },
        AuditAction::RequestExtended { id: s(&access) },
        AuditAction::RequestClosed { id: s(&erasure) },
    ];
    let requests: Vec<_> = steps.into_iter().filter(|a| a.name().starts_with("request_")).collect();
    assert_eq!(requests, want);
    let trail = app.state.store.audit(&demo, None, 1).await.unwrap();
    assert_eq!(trail[0].1.actor, "admin");
}
both_backends!(visitor_requests);

/// Every requests route: 403 for a marketer of the site, 404 for a member
/// of another site and for unknown requests, 403 without the CSRF token.
async fn requests_are_for_owners_only(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("other", "https://other.example").await;
    app.create_member("mark", "marketer-password", &[("demo", SiteRole::Marketer)])
        .await;
    app.create_member("olga", "olga-password", &[("other", SiteRole::Owner)])
        .await;
    app.create_member("owen", "owen-password", &[("demo", SiteRole::Owner)])
        .await;
    let res = app.post_decision("demo", &app.decision().await).await;
    let consent = res.json::<Value>().await.unwrap()["consent_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An owner of the site handles requests like an admin.
    let owner = app.dashboard_login_as("owen", "owen-password").await;
    let (status, list) = app.page(&owner, "/dashboard/sites/demo/requests", None).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&list);
    let id = register(&owner, &app, &csrf, "erasure", &consent, "").await;

    let gets = [
        "/dashboard/sites/demo/requests".to_owned(),
        format!("/dashboard/sites/demo/requests/{id}"),
        format!("/dashboard/sites/demo/requests/{id}/erase"),
    ];
    let posts: [(String, Vec<(&str, &str)>); 6] = [
        (
            "/dashboard/sites/demo/requests".to_owned(),
            vec![("kind", "access"), ("consent_id", consent.as_str())],
        ),
        (
            format!("/dashboard/sites/demo/requests/{id}/export"),
            vec![("format", "json")],
        ),
        (format!("/dashboard/sites/demo/requests/{id}/erase"), vec![]),
        (
            format!("/dashboard/sites/demo/requests/{id}/extend"),
            vec![("reason", "busy")],
        ),
        (
            format!("/dashboard/sites/demo/requests/{id}/close"),
            vec![("outcome", "answered")],
        ),
        (
            format!("/dashboard/sites/demo/requests/{id}/export"),
            vec![("format", "xml")],
        ),
    ];
    for (who, password, status) in [("mark", "marketer-password", 403), ("olga", "olga-password", 404)] {
        let b = app.dashboard_login_as(who, password).await;
        let (_, home) = app.page(&b, "/dashboard/", None).await;
        let their_csrf = csrf_of(&home);
        for path in &gets {
            assert_eq!(app.page(&b, path, None).await.0, status, "{who} GET {path}");
        }
        for (path, form) in &posts {
            let res = post(&b, &app, path, Some(&their_csrf), form).await;
            assert_eq!(res.status().as_u16(), status, "{who} POST {path}");
        }
    }
    let b = app.dashboard_login_as("mark", "marketer-password").await;
    let (_, site) = app.page(&b, "/dashboard/sites/demo", None).await;
    assert!(
        !site.contains("/requests\""),
        "a marketer is not shown requests: {site}"
    );

    // Unknown and malformed request ids, and another site's id in the path.
    for path in [
        "/dashboard/sites/demo/requests/req_0000000000000000",
        "/dashboard/sites/demo/requests/..%2F..",
        "/dashboard/sites/nobody/requests",
    ] {
        assert_eq!(app.page(&owner, path, None).await.0, 404, "{path}");
    }
    let admin = app.dashboard_login().await;
    assert_eq!(
        app.page(&admin, &format!("/dashboard/sites/other/requests/{id}"), None)
            .await
            .0,
        404,
        "a request belongs to its site"
    );

    // No CSRF token, or a wrong one: 403, nothing happens.
    let demo = SiteId::parse("demo").unwrap();
    let before = app.state.store.audit(&demo, None, 1000).await.unwrap().len();
    for (path, form) in &posts {
        for token in [None, Some("forged")] {
            let res = post(&owner, &app, path, token, form).await;
            assert_eq!(res.status(), 403, "POST {path} with {token:?}");
        }
    }
    assert_eq!(app.state.store.audit(&demo, None, 1000).await.unwrap().len(), before);
    let seen = app
        .state
        .store
        .visitor(&demo, &consent_core::ConsentId::parse(&consent).unwrap())
        .await
        .unwrap();
    assert!(seen.unwrap().sealing_key.is_some(), "not erased");
}
both_backends!(requests_are_for_owners_only);
