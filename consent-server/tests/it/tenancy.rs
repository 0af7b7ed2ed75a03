//! Tenancy over real HTTP: every dashboard route for every role on its own
//! site and on another (the tenant matrix), CSRF on every state-changing
//! form, the owner API's answers to a member of another site; and the
//! people-and-keys flows: an invitation's one-time password, the forced
//! password change, deleting an account, owners managing their site's
//! members and API keys, and the audit trail recording it all, newest first
//! and paged.

use std::collections::BTreeSet;

use consent_core::SiteId;
use consent_core::account::{Permission, SiteRole};
use consent_core::audit::{AuditAction, AuditEntry};
use consent_core::store::RecordStore;
use serde_json::{Value, json};

use crate::common::{Kind, TestApp, browser, csrf_of, spawn_app};

/// Who may use a dashboard route.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// A logged-in account with this permission on the site in the path:
    /// 403 for a member whose role lacks it, 404 for a site it is not a
    /// member of.
    Site(Permission),
    /// Admins only (the accounts): 403 for everyone else.
    Admin,
    /// Admins and owners of a site (creating sites).
    CreateSites,
    /// Any logged-in account (its own password, the site list).
    Anyone,
    /// No session: the log-in form, the stylesheet, the preview's script.
    Public,
    /// The live preview's frame resources: no session (a sandboxed frame
    /// sends no cookies), reachable by whoever knows the site and the
    /// configuration's version hash (see `dashboard/src/preview.rs`), the
    /// same answer for everyone.
    Capability,
}

/// One route as the test calls it: its method, its path in the router's
/// form, and who may use it. Path parameters other than `{site}` are filled
/// from [`Fill`].
struct Route {
    method: &'static str,
    path: &'static str,
    rule: Rule,
}

const fn get(path: &'static str, rule: Rule) -> Route {
    Route {
        method: "GET",
        path,
        rule,
    }
}

const fn post(path: &'static str, rule: Rule) -> Route {
    Route {
        method: "POST",
        path,
        rule,
    }
}

use Permission::*;
use Rule::*;

/// Every route of `dashboard::router` (`dashboard/src/lib.rs`); the test
/// [`the_list_is_the_router`] fails when the router has one this list lacks.
const ROUTES: &[Route] = &[
    get("/", Anyone),
    get("/login", Public),
    post("/login", Public),
    post("/logout", Anyone),
    post("/sites", CreateSites),
    get("/sites/new", CreateSites),
    get("/sites/{site}", Site(View)),
    get("/sites/{site}/services", Site(View)),
    post("/sites/{site}/services", Site(EditDraft)),
    get("/sites/{site}/install", Site(View)),
    post("/sites/{site}/install", Site(Scan)),
    get("/sites/{site}/analytics", Site(View)),
    get("/sites/{site}/analytics/{file}", Site(View)),
    get("/sites/{site}/proof", Site(VisitorData)),
    get("/sites/{site}/requests", Site(VisitorData)),
    post("/sites/{site}/requests", Site(VisitorData)),
    get("/sites/{site}/requests/{id}", Site(VisitorData)),
    post("/sites/{site}/requests/{id}/export", Site(VisitorData)),
    get("/sites/{site}/requests/{id}/erase", Site(VisitorData)),
    post("/sites/{site}/requests/{id}/erase", Site(VisitorData)),
    post("/sites/{site}/requests/{id}/extend", Site(VisitorData)),
    post("/sites/{site}/requests/{id}/close", Site(VisitorData)),
    get("/sites/{site}/config", Site(View)),
    post("/sites/{site}/config", Site(EditDraft)),
    get("/sites/{site}/config/json", Site(View)),
    post("/sites/{site}/config/discard", Site(EditDraft)),
    get("/sites/{site}/config/categories", Site(EditDraft)),
    post("/sites/{site}/config/categories", Site(EditDraft)),
    get("/sites/{site}/config/categories/{id}", Site(EditDraft)),
    post("/sites/{site}/config/categories/{id}", Site(EditDraft)),
    post("/sites/{site}/config/categories/{id}/move", Site(EditDraft)),
    get("/sites/{site}/config/services", Site(EditDraft)),
    post("/sites/{site}/config/services", Site(EditDraft)),
    get("/sites/{site}/config/services/{id}", Site(EditDraft)),
    post("/sites/{site}/config/services/{id}", Site(EditDraft)),
    post("/sites/{site}/config/services/{id}/cookies", Site(EditDraft)),
    post("/sites/{site}/config/services/{id}/cookies/{n}", Site(EditDraft)),
    get("/sites/{site}/config/languages", Site(EditDraft)),
    post("/sites/{site}/config/languages", Site(EditDraft)),
    get("/sites/{site}/config/texts/{lang}", Site(EditDraft)),
    post("/sites/{site}/config/texts/{lang}", Site(EditDraft)),
    get("/sites/{site}/config/theme", Site(EditDraft)),
    post("/sites/{site}/config/theme", Site(EditDraft)),
    post("/sites/{site}/declare", Site(EditDraft)),
    get("/sites/{site}/scans", Site(View)),
    post("/sites/{site}/scan-jobs", Site(Scan)),
    post("/sites/{site}/scan-schedule", Site(Scan)),
    post("/sites/{site}/scan-alerts/{scan}/dismiss", Site(Scan)),
    get("/sites/{site}/scans/{id}", Site(View)),
    get("/sites/{site}/scans/{id}/findings.csv", Site(View)),
    get("/sites/{site}/scans/{id}/compare/{base}", Site(View)),
    post("/sites/{site}/triage", Site(Scan)),
    get("/sites/{site}/preview", Site(View)),
    get("/sites/{site}/preview/frame", Site(View)),
    get("/preview/{site}/{version}/loader.js", Capability),
    get("/preview/{site}/{version}/widget/{*path}", Capability),
    get("/preview/{site}/{version}/api/{*rest}", Capability),
    get("/static/preview.js", Public),
    get("/sites/{site}/publish", Site(Publish)),
    post("/sites/{site}/publish", Site(Publish)),
    post("/sites/{site}/draft/discard", Site(EditDraft)),
    get("/sites/{site}/versions", Site(View)),
    get("/sites/{site}/versions/{version}", Site(View)),
    post("/sites/{site}/versions/{version}/restore", Site(EditDraft)),
    get("/sites/{site}/register", Site(View)),
    post("/sites/{site}/register", Site(EditRegister)),
    get("/sites/{site}/register.csv", Site(View)),
    get("/sites/{site}/register.json", Site(View)),
    get("/sites/{site}/register.html", Site(View)),
    get("/people", Admin),
    post("/people", Admin),
    post("/people/{user}/sites", Admin),
    post("/people/{user}/admin", Admin),
    post("/people/{user}/reset", Admin),
    post("/people/{user}/delete", Admin),
    get("/password", Anyone),
    post("/password", Anyone),
    get("/sites/{site}/members", Site(ManageAccess)),
    post("/sites/{site}/members", Site(ManageAccess)),
    post("/sites/{site}/members/{user}", Site(ManageAccess)),
    get("/sites/{site}/keys", Site(ManageAccess)),
    post("/sites/{site}/keys", Site(ManageAccess)),
    post("/sites/{site}/keys/{id}/revoke", Site(ManageAccess)),
    get("/sites/{site}/audit", Site(ManageAccess)),
    get("/sites/{site}/audit.csv", Site(ManageAccess)),
    get("/sites/{site}/audit.json", Site(ManageAccess)),
    get("/static/dashboard.css", Public),
];

const ROUTER: &str = include_str!("../../../dashboard/src/lib.rs");

/// The routes `dashboard::router` declares: each `.route("path", …)` with
/// the methods its handler list names (`any(...)` counts as GET).
fn router_routes() -> BTreeSet<(String, String)> {
    let body = &ROUTER[ROUTER.find("Router::new()").expect("the router")..];
    let body = &body[..body.find(".with_state(").expect("the router's end")];
    let mut routes = BTreeSet::new();
    for part in body.split(".route(").skip(1) {
        let path = part.split('"').nth(1).expect("a quoted path").to_owned();
        let handlers = &part[part.find('"').unwrap() + path.len() + 2..];
        let calls = |name: &str| {
            handlers.match_indices(&format!("{name}(")).any(|(at, _)| {
                at == 0 || !handlers.as_bytes()[at - 1].is_ascii_alphanumeric() && handlers.as_bytes()[at - 1] != b'_'
            })
        };
        if calls("get") || calls("any") {
            routes.insert(("GET".to_owned(), path.clone()));
        }
        if calls("post") {
            routes.insert(("POST".to_owned(), path.clone()));
        }
    }
    routes
}

#[test]
fn the_list_is_the_router() {
    let router = router_routes();
    assert!(router.len() > 20, "parsed the router: {router:?}");
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let missing: Vec<_> = router.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes of dashboard/src/lib.rs the tenant matrix does not list (add them to ROUTES with who may use them): {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&router).collect();
    assert!(
        stale.is_empty(),
        "ROUTES lists routes the router no longer has: {stale:?}"
    );
}

/// The roles the matrix logs in as: the admin, and an owner, a marketer
/// and a viewer of site `a` (none of them a member of `b`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Admin,
    Member(SiteRole),
}

const ROLES: [Role; 4] = [
    Role::Admin,
    Role::Member(SiteRole::Owner),
    Role::Member(SiteRole::Marketer),
    Role::Member(SiteRole::Viewer),
];

const PASSWORD: &str = "a long enough password";

/// Real values for a site's path parameters, so an allowed request finds
/// what it asks for.
struct Fill {
    scan: String,
    version: String,
    category: String,
}

impl Fill {
    async fn of(app: &TestApp, site: &str, key: &str) -> Fill {
        let scan = app.upload_scan(site, key, &scan_report(site)).await;
        let config = app.get_json(&format!("/api/v1/sites/{site}/config")).await;
        Fill {
            scan,
            version: config["version"].as_str().unwrap().to_owned(),
            category: config["config"]["categories"][0]["id"]
                .as_str()
                .unwrap_or("necessary")
                .to_owned(),
        }
    }

    /// `path` with `{site}` and the other parameters filled in; whether every
    /// parameter names something that exists.
    fn path(&self, path: &str, site: &str) -> (String, bool) {
        let mut real = true;
        let mut out = String::new();
        for seg in path.split('/').skip(1) {
            out.push('/');
            out.push_str(&match seg {
                "{site}" => site.to_owned(),
                "{base}" => self.scan.clone(),
                // A scan with no alert to dismiss.
                "{scan}" => {
                    real = false;
                    self.scan.clone()
                }
                // A cookie's index that is not a number: no such cookie,
                // answered after the token and the site are checked.
                "{n}" => {
                    real = false;
                    "x".to_owned()
                }
                "{version}" => self.version.clone(),
                "{file}" => "days.csv".to_owned(),
                "{lang}" => "nl".to_owned(),
                "{*path}" => "keurmerk.js".to_owned(),
                "{*rest}" => format!("v1/sites/{site}/config"),
                "{id}" if path.contains("/scans/") => self.scan.clone(),
                "{id}" if path.contains("/categories/") => self.category.clone(),
                s if s.starts_with('{') => {
                    // A request, key, service, cookie or account that does
                    // not exist: an allowed caller may get 404 for it.
                    real = false;
                    "nothing".to_owned()
                }
                s => s.to_owned(),
            });
        }
        (out, real)
    }
}

fn scan_report(site: &str) -> Value {
    json!({
        "schema": "keurmerk-scan-report",
        "schema_version": 1,
        "scanner": {"name": "consent-scan", "version": "0.1.0", "knowledge_base": "2026-11-01"},
        "site": format!("https://{site}.example"),
        "started_at": 1_790_000_000,
        "duration_ms": 5123,
        "declaration": {"origin": "none (no declaration given)"},
        "summary": {"pages_static": 1, "pages_browser": 0, "platforms": 0, "cookies": 0,
            "personal_data_requests": 0, "findings": {}, "highest": "none"},
        "findings": [],
        "platforms": [], "cookies": [], "storage": [], "personal_data": [], "pages": [], "problems": [], "banners": []
    })
}

/// What the matrix expects of `role` calling `route` on site `own` (its
/// own, `a`) or not (`b`): `Ok(())` or why not.
fn judge(route: &Route, role: Role, own: bool, real: bool, status: u16) -> Result<(), String> {
    let allowed = match (route.rule, role) {
        (Public | Capability | Anyone, _) | (_, Role::Admin) => true,
        (Admin, Role::Member(_)) => false,
        (CreateSites, Role::Member(r)) => r == SiteRole::Owner,
        (Site(_), Role::Member(_)) if !own => {
            return (status == 404)
                .then_some(())
                .ok_or_else(|| "another site's: 404".to_owned());
        }
        (Site(p), Role::Member(r)) => r.allows(p),
    };
    if !allowed {
        return (status == 403)
            .then_some(())
            .ok_or_else(|| "not allowed: 403".to_owned());
    }
    if matches!(route.rule, Capability) {
        // The same for everyone (checked against an anonymous client too).
        return Ok(());
    }
    let ok = match route.method {
        "GET" if real => matches!(status, 200 | 303),
        "GET" => matches!(status, 200 | 303 | 404),
        // An empty form: refused as invalid (422, or 404 for a thing it does
        // not name), or done, but never for want of a permission the caller
        // has; and never a server error (503: no scan queue here).
        _ => status != 403 && (status < 500 || status == 503),
    };
    ok.then_some(()).ok_or_else(|| "allowed".to_owned())
}

/// Logs `role` in to the dashboard; its browser and CSRF token.
async fn log_in(app: &TestApp, role: Role) -> (reqwest::Client, String) {
    let b = match role {
        Role::Admin => app.dashboard_login().await,
        Role::Member(r) => app.dashboard_login_as(r.as_str(), PASSWORD).await,
    };
    let (status, page) = app.page(&b, "/dashboard/password", Some("en")).await;
    assert_eq!(status, 200);
    (b, csrf_of(&page))
}

async fn tenant_matrix(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("a", "https://a.example").await;
    app.create_site("b", "https://b.example").await;
    for r in SiteRole::ALL {
        app.create_member(r.as_str(), PASSWORD, &[("a", r)]).await;
    }
    let fills = [
        Fill::of(&app, "a", &app.api_key("a", &["scans:write"]).await).await,
        Fill::of(&app, "b", &app.api_key("b", &["scans:write"]).await).await,
    ];
    let anonymous = browser();
    let mut wrong = Vec::new();
    for role in ROLES {
        let (b, csrf) = log_in(&app, role).await;
        for route in ROUTES {
            // Logging out would end the session the rest of the matrix uses.
            if route.path == "/logout" {
                continue;
            }
            for (site, fill) in [("a", &fills[0]), ("b", &fills[1])] {
                let own = site == "a";
                let (path, real) = fill.path(route.path, site);
                let url = app.url(&format!("/dashboard{path}"));
                let req = match route.method {
                    "GET" => b.get(&url),
                    _ => b.post(&url).form(&[("csrf", csrf.as_str())]),
                };
                let res = req.header("Accept-Language", "en").send().await.unwrap();
                let status = res.status().as_u16();
                if let Err(why) = judge(route, role, own, real, status) {
                    wrong.push(format!("{role:?} {} {path}: {status} ({why})", route.method));
                }
                if matches!(route.rule, Capability) {
                    let anon = anonymous.get(&url).send().await.unwrap().status().as_u16();
                    if anon != status {
                        wrong.push(format!("{role:?} GET {path}: {status}, anonymous {anon}"));
                    }
                }
                // Any request that changed the account's own password or
                // session would end the matrix early: none may.
                if route.path == "/password" && route.method == "POST" && !matches!(status, 422) {
                    wrong.push(format!("{role:?} POST /password with an empty form: {status}"));
                }
            }
        }
        // Every state-changing form without the token: 403, on both sites.
        for route in ROUTES.iter().filter(|r| r.method == "POST" && r.path != "/login") {
            for (site, fill) in [("a", &fills[0]), ("b", &fills[1])] {
                let (path, _) = fill.path(route.path, site);
                for form in [vec![], vec![("csrf", "forged")]] {
                    let res = b
                        .post(app.url(&format!("/dashboard{path}")))
                        .form(&form)
                        .send()
                        .await
                        .unwrap();
                    if res.status() != 403 {
                        wrong.push(format!("{role:?} POST {path} without the CSRF token: {}", res.status()));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
}

both_backends!(tenant_matrix);

/// A member's session on the owner API: another site's routes are 404, its
/// own site's need the role's permission (a marketer reads no decisions).
async fn owner_api_tenancy(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("a", "https://a.example").await;
    app.create_site("b", "https://b.example").await;
    app.create_member("marketer", PASSWORD, &[("a", SiteRole::Marketer)])
        .await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "marketer", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csrf = res.json::<Value>().await.unwrap()["csrf"].as_str().unwrap().to_owned();

    let spec = app.get_json("/openapi.json").await;
    let mut wrong = Vec::new();
    let mut tried = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.contains("{site}") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let by_session = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s.get("session").is_some()));
            if !by_session {
                continue;
            }
            let path: Vec<String> = path
                .split('/')
                .map(|seg| match seg {
                    "{site}" => "b".to_owned(),
                    s if s.starts_with('{') => "nothing".to_owned(),
                    s => s.to_owned(),
                })
                .collect();
            let path = path.join("/");
            let req = client
                .request(method.to_uppercase().parse().unwrap(), app.url(&path))
                .header("X-CSRF-Token", &csrf)
                .json(&json!({}));
            let status = req.send().await.unwrap().status().as_u16();
            tried += 1;
            // The key routes are the admins' alone: 403 on every site alike,
            // which says nothing of whether `b` exists.
            let expected = if path.contains("/keys") { 403 } else { 404 };
            if status != expected {
                wrong.push(format!("{method} {path}: {status}, expected {expected}"));
            }
        }
    }
    assert!(tried >= 10, "the spec's site routes: {tried}");
    assert!(wrong.is_empty(), "a member of a on b's API:\n{}", wrong.join("\n"));
    let decisions = client
        .get(app.url("/api/v1/owner/sites/a/decisions"))
        .send()
        .await
        .unwrap();
    assert_eq!(decisions.status(), 403, "a marketer reads no decisions");
    let site = client.get(app.url("/api/v1/owner/sites/a")).send().await.unwrap();
    assert_eq!(site.status(), 200, "but its own site");
}

both_backends!(owner_api_tenancy);

/// The one-time password in a page that hands one out.
fn one_time_password(page: &str) -> String {
    let at = page.find(r#"<code id="otp">"#).expect("a one-time password") + r#"<code id="otp">"#.len();
    page[at..].split('<').next().unwrap().to_owned()
}

/// `POST path` from browser `b` with `fields` and the token: status and page.
async fn submit(app: &TestApp, b: &reqwest::Client, path: &str, csrf: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    let res = b
        .post(app.url(path))
        .header("Accept-Language", "en")
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Tries a dashboard log-in; its status.
async fn try_login(app: &TestApp, user: &str, password: &str) -> u16 {
    browser()
        .post(app.url("/dashboard/login"))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The site's audit trail, newest first.
async fn trail(app: &TestApp, site: &str) -> Vec<(u64, AuditEntry)> {
    let site = SiteId::parse(site).unwrap();
    app.state.store.audit(&site, None, 1000).await.unwrap()
}

async fn invitation_and_passwords(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("a", "https://a.example").await;
    let admin = app.dashboard_login().await;
    let (status, page) = app.page(&admin, "/dashboard/people", Some("en")).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&page);

    // Refused names; then the invitation, with its one-time password shown once.
    for bad in ["Anna", "an na", ""] {
        let (status, _) = submit(&app, &admin, "/dashboard/people", &csrf, &[("username", bad)]).await;
        assert_eq!(status, 422, "{bad:?}");
    }
    let invite = [("username", "anna"), ("site", "a"), ("role", "marketer")];
    let (status, page) = submit(&app, &admin, "/dashboard/people", &csrf, &invite).await;
    assert_eq!(status, 200, "{page}");
    let otp = one_time_password(&page);
    assert!(otp.len() >= 16, "{otp}");
    assert!(
        page.contains(&format!("as anna with the one-time password {otp}")),
        "the sentence to pass on"
    );
    let (status, _) = submit(&app, &admin, "/dashboard/people", &csrf, &invite).await;
    assert_eq!(status, 422, "the name is taken");
    let (_, list) = app.page(&admin, "/dashboard/people", Some("en")).await;
    assert!(!list.contains(&otp), "shown once");
    assert!(list.contains("has yet to choose their own password"));

    // The one-time password lets anna in, to the password page only.
    let anna = app.dashboard_login_as("anna", &otp).await;
    let res = anna.get(app.url("/dashboard/sites/a")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/password");
    let (status, form) = app.page(&anna, "/dashboard/password", Some("en")).await;
    assert_eq!(status, 200);
    assert!(
        !form.contains(r#"name="current""#),
        "not asked for a password someone else chose"
    );
    let anna_csrf = csrf_of(&form);
    // Every other page and form, too: only choosing a password (or logging out) is open.
    for route in ROUTES {
        if matches!(route.rule, Public | Capability) || matches!(route.path, "/password" | "/logout") {
            continue;
        }
        let (path, _) = Fill {
            scan: "nothing".into(),
            version: "nothing".into(),
            category: "nothing".into(),
        }
        .path(route.path, "a");
        let url = app.url(&format!("/dashboard{path}"));
        let res = match route.method {
            "GET" => anna.get(&url),
            _ => anna.post(&url).form(&[("csrf", anna_csrf.as_str())]),
        };
        let res = res.send().await.unwrap();
        assert_eq!(res.status(), 303, "{} {path}", route.method);
        assert_eq!(
            res.headers()["location"],
            "/dashboard/password",
            "{} {path}",
            route.method
        );
    }
    // A second session opened with the one-time password, say by whoever
    // else saw it: choosing the password ends it.
    let elsewhere = app.dashboard_login_as("anna", &otp).await;
    let new = "anna's own long password";
    for (fields, says) in [
        ([("new", "too short"), ("repeat", "too short")], "shorter than 15"),
        ([("new", new), ("repeat", "something else entirely")], "differ"),
        ([("new", "anna"), ("repeat", "anna")], "shorter than 15"),
    ] {
        let (status, page) = submit(&app, &anna, "/dashboard/password", &anna_csrf, &fields).await;
        assert_eq!(status, 422);
        assert!(page.contains(says), "{says}: {page}");
    }
    let (status, page) = submit(
        &app,
        &anna,
        "/dashboard/password",
        &anna_csrf,
        &[("new", new), ("repeat", new)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your password has been changed"));
    assert_eq!(app.page(&anna, "/dashboard/sites/a", None).await.0, 200, "free to go");
    let res = elsewhere.get(app.url("/dashboard/sites/a")).send().await.unwrap();
    assert_eq!(res.status(), 303, "the other session ended with the old password");
    assert_eq!(res.headers()["location"], "/dashboard/login");
    assert_eq!(
        try_login(&app, "anna", &otp).await,
        401,
        "the one-time password is spent"
    );
    assert_eq!(try_login(&app, "anna", new).await, 303);

    // Her own change asks for the current password, checked like a log-in.
    let (_, form) = app.page(&anna, "/dashboard/password", Some("en")).await;
    assert!(form.contains(r#"name="current""#));
    // The change went on in a fresh session, with its own token.
    let anna_csrf = csrf_of(&form);
    let newer = "an even newer long password";
    let fields = [("current", "wrong"), ("new", newer), ("repeat", newer)];
    let (status, page) = submit(&app, &anna, "/dashboard/password", &anna_csrf, &fields).await;
    assert_eq!(status, 422);
    assert!(page.contains("current password is wrong"));
    let fields = [("current", new), ("new", newer), ("repeat", newer)];
    assert_eq!(
        submit(&app, &anna, "/dashboard/password", &anna_csrf, &fields).await.0,
        200
    );
    assert_eq!(try_login(&app, "anna", newer).await, 303);

    // Roles per site; the admin's own account and the last admin are safe.
    let (status, _) = submit(
        &app,
        &admin,
        "/dashboard/people/anna/sites",
        &csrf,
        &[("site", "a"), ("role", "viewer")],
    )
    .await;
    assert_eq!(status, 303);
    for path in [
        "/dashboard/people/admin/delete",
        "/dashboard/people/admin/admin",
        "/dashboard/people/admin/reset",
    ] {
        let (status, _) = submit(&app, &admin, path, &csrf, &[("admin", "0")]).await;
        assert_eq!(status, 409, "{path}");
    }
    assert_eq!(
        submit(&app, &admin, "/dashboard/people/anna/admin", &csrf, &[("admin", "1")])
            .await
            .0,
        303
    );
    assert_eq!(
        app.page(&anna, "/dashboard/people", None).await.0,
        200,
        "anna is an admin now"
    );
    assert_eq!(
        submit(&app, &admin, "/dashboard/people/anna/admin", &csrf, &[("admin", "0")])
            .await
            .0,
        303
    );
    assert_eq!(app.page(&anna, "/dashboard/people", None).await.0, 403);

    // A reset: a new one-time password, and anna must choose again.
    let (status, page) = submit(&app, &admin, "/dashboard/people/anna/reset", &csrf, &[]).await;
    assert_eq!(status, 200);
    let otp2 = one_time_password(&page);
    assert_eq!(try_login(&app, "anna", newer).await, 401);
    let res = anna.get(app.url("/dashboard/")).send().await.unwrap();
    assert_eq!(
        res.headers()["location"],
        "/dashboard/login",
        "a reset ends the sessions opened with the old password"
    );
    let fresh = app.dashboard_login_as("anna", &otp2).await;
    assert_eq!(app.page(&fresh, "/dashboard/password", None).await.0, 200);

    // Deleted: her sessions stop working at once, on the dashboard and the API.
    assert_eq!(
        submit(&app, &admin, "/dashboard/people/anna/delete", &csrf, &[])
            .await
            .0,
        303
    );
    let res = fresh.get(app.url("/dashboard/password")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/login");
    assert_eq!(try_login(&app, "anna", &otp2).await, 401);

    // The site's trail: anna added (marketer), changed (viewer), removed; by the admin.
    let entries: Vec<_> = trail(&app, "a").await.into_iter().map(|(_, e)| e).collect();
    let members: Vec<_> = entries
        .iter()
        .filter(|e| e.action.name().starts_with("member_"))
        .map(|e| (e.actor.as_str(), e.action.clone()))
        .collect();
    assert_eq!(
        members,
        [
            (
                "admin",
                AuditAction::MemberRemoved {
                    username: "anna".into()
                }
            ),
            (
                "admin",
                AuditAction::MemberChanged {
                    username: "anna".into(),
                    role: SiteRole::Viewer
                }
            ),
            (
                "admin",
                AuditAction::MemberAdded {
                    username: "anna".into(),
                    role: SiteRole::Marketer
                }
            ),
        ],
        "newest first"
    );
}

both_backends!(invitation_and_passwords);

async fn members_and_keys(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("a", "https://a.example").await;
    app.create_site("b", "https://b.example").await;
    app.create_member("olga", PASSWORD, &[("a", SiteRole::Owner)]).await;
    app.create_member("bob", PASSWORD, &[]).await;
    app.create_member("mark", PASSWORD, &[("a", SiteRole::Marketer)]).await;
    let owner = app.dashboard_login_as("olga", PASSWORD).await;
    let (status, page) = app.page(&owner, "/dashboard/sites/a/members", Some("en")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<th scope="row">mark</th>"#) && page.contains(r#"<th scope="row">olga</th>"#));
    assert!(!page.contains(r#"<th scope="row">bob</th>"#));
    let csrf = csrf_of(&page);
    assert_eq!(app.page(&owner, "/dashboard/sites/b/members", None).await.0, 404);

    // Members: add an existing account, change its role, remove it.
    let (status, page) = submit(
        &app,
        &owner,
        "/dashboard/sites/a/members",
        &csrf,
        &[("username", "nobody"), ("role", "viewer")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("no account with this name"));
    let add = [("username", "bob"), ("role", "viewer")];
    assert_eq!(
        submit(&app, &owner, "/dashboard/sites/a/members", &csrf, &add).await.0,
        303
    );
    let bob = app.dashboard_login_as("bob", PASSWORD).await;
    assert_eq!(app.page(&bob, "/dashboard/sites/a", None).await.0, 200);
    assert_eq!(app.page(&bob, "/dashboard/sites/a/scans", None).await.0, 200);
    let bob_page = app.page(&bob, "/dashboard/password", None).await.1;
    let bob_csrf = csrf_of(&bob_page);
    let (status, _) = submit(
        &app,
        &bob,
        "/dashboard/sites/a/scan-schedule",
        &bob_csrf,
        &[("every", "daily")],
    )
    .await;
    assert_eq!(status, 403, "a viewer does not schedule scans");
    let change = [("role", "marketer")];
    assert_eq!(
        submit(&app, &owner, "/dashboard/sites/a/members/bob", &csrf, &change)
            .await
            .0,
        303
    );
    assert_eq!(
        submit(
            &app,
            &owner,
            "/dashboard/sites/a/members/olga",
            &csrf,
            &[("role", "none")]
        )
        .await
        .0,
        409,
        "not oneself"
    );
    assert_eq!(
        submit(
            &app,
            &owner,
            "/dashboard/sites/a/members/admin",
            &csrf,
            &[("role", "none")]
        )
        .await
        .0,
        404,
        "only the site's members"
    );
    assert_eq!(
        submit(
            &app,
            &owner,
            "/dashboard/sites/a/members/bob",
            &csrf,
            &[("role", "none")]
        )
        .await
        .0,
        303
    );
    assert_eq!(
        app.page(&bob, "/dashboard/sites/a", None).await.0,
        404,
        "bob sees a no more, at once"
    );

    // Keys: create (shown once), used on the API, listed with its last use, revoked.
    let mark = app.dashboard_login_as("mark", PASSWORD).await;
    assert_eq!(app.page(&mark, "/dashboard/sites/a/keys", None).await.0, 403);
    let (status, page) = submit(&app, &owner, "/dashboard/sites/a/keys", &csrf, &[("name", "crm")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("at least one scope"));
    let fields = [("name", "crm"), ("scope_decisions_read", "on"), ("expires_days", "30")];
    let (status, page) = submit(&app, &owner, "/dashboard/sites/a/keys", &csrf, &fields).await;
    assert_eq!(status, 200, "{page}");
    let at = page.find(r#"id="secret" value=""#).expect("the key, once") + r#"id="secret" value=""#.len();
    let secret = page[at..].split('"').next().unwrap().to_owned();
    assert!(secret.starts_with("kmk_"));
    let (_, list) = app.page(&owner, "/dashboard/sites/a/keys", Some("en")).await;
    assert!(!list.contains(&secret), "shown once");
    assert!(list.contains("decisions:read") && list.contains("not yet"));
    let key_id = list[list.find("<code>key_").unwrap() + "<code>".len()..]
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let res = app.get_with_key("/api/v1/owner/sites/a/decisions", &secret).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.get_with_key("/api/v1/owner/sites/b/decisions", &secret)
            .await
            .status(),
        403
    );
    let mut used = false;
    for _ in 0..50 {
        let (_, list) = app.page(&owner, "/dashboard/sites/a/keys", Some("en")).await;
        if !list.contains("not yet") {
            used = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(used, "the list shows the key's last use");
    let revoke = format!("/dashboard/sites/a/keys/{key_id}/revoke");
    assert_eq!(
        submit(
            &app,
            &owner,
            &format!("/dashboard/sites/b/keys/{key_id}/revoke"),
            &csrf,
            &[]
        )
        .await
        .0,
        404
    );
    assert_eq!(submit(&app, &owner, &revoke, &csrf, &[]).await.0, 303);
    assert_eq!(
        app.get_with_key("/api/v1/owner/sites/a/decisions", &secret)
            .await
            .status(),
        401
    );
    assert_eq!(submit(&app, &owner, &revoke, &csrf, &[]).await.0, 404, "gone");

    // The owner API's keys are in the trail too, by the admin's name.
    let api_key = app.api_key("a", &["scans:read"]).await;
    assert!(api_key.starts_with("kmk_"));

    let entries: Vec<_> = trail(&app, "a").await.into_iter().map(|(_, e)| e).collect();
    let names: Vec<_> = entries.iter().map(|e| (e.actor.as_str(), e.action.name())).collect();
    assert_eq!(
        names[..6],
        [
            ("admin", "key_created"),
            ("olga", "key_revoked"),
            ("olga", "key_created"),
            ("olga", "member_removed"),
            ("olga", "member_changed"),
            ("olga", "member_added"),
        ]
    );
    assert!(
        matches!(&entries[2].action, AuditAction::KeyCreated { id, name, scopes } if *id == key_id && name == "crm" && scopes.len() == 1)
    );
}

both_backends!(members_and_keys);

async fn audit_page(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("a", "https://a.example").await;
    app.create_site("b", "https://b.example").await;
    app.create_member("olga", PASSWORD, &[("a", SiteRole::Owner)]).await;
    app.create_member("vera", PASSWORD, &[("a", SiteRole::Viewer)]).await;
    let a = SiteId::parse("a").unwrap();
    for i in 0..120u64 {
        let entry = AuditEntry {
            at_ms: 1_700_000_000_000 + i * 1000,
            actor: format!("user{i}"),
            action: AuditAction::Published {
                version: consent_core::ConfigVersion(format!("v{i}")),
                previous: None,
                reask: i % 2 == 0,
            },
        };
        app.state.store.append_audit(&a, &entry).await.unwrap();
    }
    let owner = app.dashboard_login_as("olga", PASSWORD).await;
    let vera = app.dashboard_login_as("vera", PASSWORD).await;
    assert_eq!(app.page(&vera, "/dashboard/sites/a/audit", None).await.0, 403);
    assert_eq!(app.page(&owner, "/dashboard/sites/b/audit", None).await.0, 404);
    assert_eq!(app.page(&owner, "/dashboard/sites/b/audit.csv", None).await.0, 404);

    let (status, site_page) = app.page(&owner, "/dashboard/sites/a", Some("en")).await;
    assert_eq!(status, 200);
    assert!(
        site_page.contains("/dashboard/sites/a/audit"),
        "linked from the site's page"
    );

    // Newest first, 50 a page, then older ones through `before`.
    let mut seen = Vec::new();
    let mut path = "/dashboard/sites/a/audit".to_owned();
    loop {
        let (status, page) = app.page(&owner, &path, Some("en")).await;
        assert_eq!(status, 200);
        let actors: Vec<u64> = page
            .match_indices("<td>user")
            .map(|(at, _)| page[at + 8..].split('<').next().unwrap().parse().unwrap())
            .collect();
        assert!(actors.len() <= 50);
        seen.extend(actors);
        if seen.len() == 50 {
            assert!(page.contains("Configuration published"), "in words");
            assert!(
                page.contains("/dashboard/sites/a/versions/v119"),
                "linked to the version"
            );
            assert!(page.contains("visitors are asked again"));
        }
        let Some(at) = page.find("audit?before=") else { break };
        path = format!("/dashboard/sites/a/{}", page[at..].split('"').next().unwrap());
    }
    let expected: Vec<u64> = (0..120).rev().collect();
    assert_eq!(seen, expected, "every entry once, newest first");
    assert_eq!(app.page(&owner, "/dashboard/sites/a/audit?before=x", None).await.0, 404);

    // Downloads: everything, newest first.
    let res = owner
        .get(app.url("/dashboard/sites/a/audit.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let json: Value = res.json().await.unwrap();
    // The 120 entries, then the site's creation by the admin, first of all.
    assert_eq!(json.as_array().unwrap().len(), 121);
    assert_eq!(json[0]["actor"], "user119");
    assert_eq!(json[119]["actor"], "user0");
    assert_eq!(json[119]["action"]["action"], "published");
    assert_eq!(json[120]["action"]["action"], "site_created");
    let res = owner.get(app.url("/dashboard/sites/a/audit.csv")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    assert_eq!(csv.lines().count(), 122);
    assert!(csv.lines().nth(1).unwrap().contains(",user119,published,"), "{csv}");
}

both_backends!(audit_page);

/// The owner API's changes go into the trail like the dashboard's: the site
/// created, its origins, each published version (once; saving the same one
/// again is no new publication) with whether visitors are asked again, by
/// the account or `key:<id>` that made them.
async fn the_owner_api_keeps_the_trail(kind: Kind) {
    let app = spawn_app(kind).await;
    app.create_site("a", "https://a.example").await;
    let admin = app.admin().await;
    let origins = json!({"allowed_origins": ["https://a.example", "https://www.a.example"]});
    let res = admin
        .client
        .put(app.url("/api/v1/owner/sites/a/origins"))
        .header("x-csrf-token", &admin.csrf)
        .json(&origins)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let key = app.api_key("a", &["config:write"]).await;
    let config: Value = admin.get_json("/api/v1/owner/sites/a").await;
    let version = config["current_version"].as_str().unwrap().to_owned();
    let mut c: Value = admin
        .get_json(&format!("/api/v1/owner/sites/a/configs/{version}"))
        .await["config"]
        .clone();
    c["texts"] = json!({c["languages"][0].as_str().unwrap(): {"title": "New title"}});
    for _ in 0..2 {
        let res = app.post_with_key("/api/v1/owner/sites/a/configs", &key, &c).await;
        assert_eq!(res.status(), 201);
    }
    let entries: Vec<_> = trail(&app, "a").await.into_iter().map(|(_, e)| e).collect();
    let names: Vec<_> = entries.iter().map(|e| (e.actor.as_str(), e.action.name())).collect();
    assert_eq!(names[0].1, "published");
    assert!(names[0].0.starts_with("key:"), "{names:?}");
    assert_eq!(names[1], ("admin", "key_created"));
    assert_eq!(names[2], ("admin", "origins_changed"));
    assert_eq!(names[3], ("admin", "site_created"));
    assert_eq!(
        names.len(),
        4,
        "publishing the same version again is not a new publication"
    );
    assert!(
        matches!(&entries[0].action, AuditAction::Published { previous: Some(p), reask: false, .. } if p.0 == version),
        "a text change does not ask visitors again: {:?}",
        entries[0].action
    );
}

both_backends!(the_owner_api_keeps_the_trail);
