//! The handlers. Every page needs an admin session (the server's, through
//! [`Auth`]); every state-changing form carries the session's CSRF token and
//! is refused without it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use consent_core::store::{DecisionQuery, ScanQuery, Session, Store};
use consent_core::{SiteConfig, SiteId};
use serde::Deserialize;
use serde_json::Value;

use crate::BASE;
use crate::auth::{Auth, LoginOutcome, QueueOutcome, ScanJobs, cookie};
use crate::html::{Chrome, Lang, esc, page, refreshing_page, secure, time};

const CSS: &str = include_str!("../static/dashboard.css");
const RECENT: usize = 50;

struct Dash<S> {
    store: S,
    auth: Arc<dyn Auth>,
}

type St<S> = State<Arc<Dash<S>>>;

/// The dashboard's routes, to be mounted at [`BASE`].
pub fn router<S: Store + Clone>(store: S, auth: Arc<dyn Auth>) -> Router {
    Router::new()
        .route("/", get(sites::<S>))
        .route("/login", get(login_form).post(login::<S>))
        .route("/logout", axum::routing::post(logout::<S>))
        .route("/sites/{site}", get(site::<S>))
        .route("/sites/{site}/config", get(config_form::<S>).post(save_config::<S>))
        .route("/sites/{site}/declare", axum::routing::post(declare::<S>))
        .route("/sites/{site}/scans", get(scans::<S>))
        .route("/sites/{site}/scan-jobs", axum::routing::post(scan_now::<S>))
        .route("/sites/{site}/scans/{id}", get(scan::<S>))
        .route("/static/dashboard.css", get(css))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(Arc::new(Dash { store, auth }))
}

async fn css() -> Response {
    let mut res = CSS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res
}

async fn session<S>(dash: &Dash<S>, headers: &HeaderMap) -> Option<Session> {
    let token = cookie(headers, dash.auth.cookie_name())?;
    if token.is_empty() || token.len() > 200 {
        return None;
    }
    dash.auth.session(token.to_owned()).await
}

fn to_login() -> Response {
    Redirect::to(&format!("{BASE}/login")).into_response()
}

fn message(chrome: &Chrome, status: StatusCode, key: &str) -> Response {
    let text = chrome.lang.t(key);
    let mut res = page(chrome, text, &format!(r#"<p class="error">{}</p>"#, esc(text)));
    *res.status_mut() = status;
    res
}

fn chrome<'a>(lang: Lang, s: &'a Session) -> Chrome<'a> {
    Chrome {
        lang,
        username: Some(&s.username),
        csrf: Some(&s.csrf),
    }
}

async fn login_form(headers: HeaderMap) -> Response {
    login_page(Lang::from_headers(&headers), StatusCode::OK, None)
}

fn login_page(lang: Lang, status: StatusCode, error: Option<&str>) -> Response {
    let chrome = Chrome {
        lang,
        username: None,
        csrf: None,
    };
    let error = error.map_or(String::new(), |k| format!(r#"<p class="error">{}</p>"#, lang.t(k)));
    let body = format!(
        r#"{error}<form method="post" action="{BASE}/login"><label>{} <input name="username" autocomplete="username" required></label><label>{} <input name="password" type="password" autocomplete="current-password" required></label><button>{}</button></form>"#,
        lang.t("username"),
        lang.t("password"),
        lang.t("login")
    );
    let mut res = page(&chrome, lang.t("login"), &body);
    *res.status_mut() = status;
    res
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login<S: Store + Clone>(
    State(dash): St<S>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let Ok(Form(form)) = form else {
        return login_page(lang, StatusCode::UNPROCESSABLE_ENTITY, Some("wrong"));
    };
    if form.username.len() > 200 || form.password.len() > 1024 {
        return login_page(lang, StatusCode::UNAUTHORIZED, Some("wrong"));
    }
    let ip = peer.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |axum::Extension(ConnectInfo(p))| {
        p.ip()
    });
    match dash.auth.login(form.username, form.password, ip).await {
        LoginOutcome::Ok(cookies) => {
            let mut res = Redirect::to(&format!("{BASE}/")).into_response();
            for c in cookies {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            secure(&mut res);
            res
        }
        LoginOutcome::Wrong => login_page(lang, StatusCode::UNAUTHORIZED, Some("wrong")),
        LoginOutcome::Limited => login_page(lang, StatusCode::TOO_MANY_REQUESTS, Some("limited")),
        LoginOutcome::Unavailable => login_page(lang, StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout<S: Store + Clone>(
    State(dash): St<S>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let Some(s) = session(&dash, &headers).await else {
        return to_login();
    };
    let sent = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if sent != s.csrf {
        return message(&chrome(lang, &s), StatusCode::FORBIDDEN, "forbidden");
    }
    let token = cookie(&headers, dash.auth.cookie_name()).unwrap_or("").to_owned();
    let mut res = to_login();
    for c in dash.auth.logout(token).await {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

async fn sites<S: Store + Clone>(State(dash): St<S>, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let Some(s) = session(&dash, &headers).await else {
        return to_login();
    };
    let c = chrome(lang, &s);
    let Ok(sites) = dash.store.sites().await else {
        return message(&c, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    };
    let mut body = String::from("<ul>");
    for site in &sites {
        let id = esc(site.id.as_str());
        body.push_str(&format!(r#"<li><a href="{BASE}/sites/{id}">{id}</a></li>"#));
    }
    body.push_str("</ul>");
    page(&c, lang.t("sites"), &body)
}

fn method_name(m: consent_core::Method) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn site<S: Store + Clone>(State(dash): St<S>, headers: HeaderMap, Path(site): Path<String>) -> Response {
    let lang = Lang::from_headers(&headers);
    let Some(s) = session(&dash, &headers).await else {
        return to_login();
    };
    let c = chrome(lang, &s);
    let Ok(id) = SiteId::parse(&site) else {
        return message(&c, StatusCode::NOT_FOUND, "not_found");
    };
    let site = match dash.store.site(&id).await {
        Ok(Some(site)) => site,
        Ok(None) => return message(&c, StatusCode::NOT_FOUND, "not_found"),
        Err(_) => return message(&c, StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let sid = esc(id.as_str());
    let mut body = format!(
        "<p>{}: <code>{}</code></p><h2>{}</h2><ul>",
        lang.t("version"),
        esc(&site.current_version.0),
        lang.t("origins")
    );
    for o in &site.allowed_origins {
        body.push_str(&format!("<li><code>{}</code></li>", esc(o)));
    }
    body.push_str(&format!(
        r#"</ul><p><a href="{BASE}/sites/{sid}/config">{}</a> · <a href="{BASE}/sites/{sid}/scans">{}</a></p><h2>{}</h2><p>{}: <a href="/api/v1/owner/sites/{sid}/decisions/export?format=json">JSON</a> · <a href="/api/v1/owner/sites/{sid}/decisions/export?format=csv">CSV</a></p>"#,
        lang.t("edit_config"),
        lang.t("scans"),
        lang.t("decisions"),
        lang.t("export")
    ));
    // The most recent decisions: the store lists oldest first, so page to
    // the end with a bounded window.
    let mut window = Vec::new();
    let mut q = DecisionQuery {
        limit: 1000,
        ..Default::default()
    };
    loop {
        let Ok(page) = dash.store.decisions(&id, &q).await else {
            return message(&c, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        };
        let full = page.len() == q.limit;
        q.after = page.last().map(|d| d.index).or(q.after);
        window.extend(page);
        if window.len() > RECENT {
            window.drain(..window.len() - RECENT);
        }
        if !full {
            break;
        }
    }
    if window.is_empty() {
        body.push_str(&format!("<p>{}</p>", lang.t("none")));
    } else {
        body.push_str(&format!(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            lang.t("time"),
            lang.t("method"),
            lang.t("categories")
        ));
        for d in window.iter().rev() {
            let cats: Vec<String> = d
                .record
                .categories
                .iter()
                .map(|(k, v)| format!("{}={}", esc(k), if *v { "✓" } else { "✗" }))
                .collect();
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                time(d.record.time_ms),
                esc(&method_name(d.record.method)),
                cats.join(", ")
            ));
        }
        body.push_str("</table>");
    }
    page(&c, &format!("{} {}", lang.t("site"), id.as_str()), &body)
}

async fn scans<S: Store + Clone>(State(dash): St<S>, headers: HeaderMap, Path(site): Path<String>) -> Response {
    let lang = Lang::from_headers(&headers);
    let Some(s) = session(&dash, &headers).await else {
        return to_login();
    };
    let c = chrome(lang, &s);
    let Ok(id) = SiteId::parse(&site) else {
        return message(&c, StatusCode::NOT_FOUND, "not_found");
    };
    if !matches!(dash.store.site(&id).await, Ok(Some(_))) {
        return message(&c, StatusCode::NOT_FOUND, "not_found");
    }
    let Ok(list) = dash
        .store
        .scans(
            &id,
            &ScanQuery {
                before: None,
                limit: 100,
            },
        )
        .await
    else {
        return message(&c, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    };
    let sid = esc(id.as_str());
    let (mut body, in_progress) = scan_jobs_section(&dash, &c, &id).await;
    body.push_str(&format!("<h2>{}</h2>", lang.t("scans")));
    if list.is_empty() {
        body.push_str(&format!("<p>{}</p>", lang.t("none")));
    } else {
        body.push_str(&format!(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            lang.t("time"),
            lang.t("scanned"),
            lang.t("findings")
        ));
        for m in &list {
            let counts: Vec<String> = ["critical", "high", "medium", "low", "info"]
                .iter()
                .filter_map(|sev| {
                    m.counts
                        .get(*sev)
                        .map(|n| format!(r#"<span class="sev-{sev}">{sev}: {n}</span>"#))
                })
                .collect();
            body.push_str(&format!(
                r#"<tr><td><a href="{BASE}/sites/{sid}/scans/{}">{}</a></td><td><code>{}</code></td><td>{}</td></tr>"#,
                esc(&m.id),
                time(m.time_ms),
                esc(&m.url),
                counts.join(" ")
            ));
        }
        body.push_str("</table>");
    }
    let title = format!("{} · {}", lang.t("scans"), id.as_str());
    if in_progress {
        // Queued or running scans: show their outcome without a click.
        refreshing_page(&c, &title, &body, 5)
    } else {
        page(&c, &title, &body)
    }
}

/// "Scan now" and the site's queued, running and finished scan jobs; and
/// whether any is still queued or running.
async fn scan_jobs_section<S>(dash: &Dash<S>, c: &Chrome<'_>, id: &SiteId) -> (String, bool) {
    let lang = c.lang;
    let sid = esc(id.as_str());
    let mut out = format!("<h2>{}</h2>", lang.t("scan_jobs"));
    let jobs = match dash.auth.scan_jobs(id.clone()).await {
        ScanJobs::NotConfigured => {
            out.push_str(&format!(r#"<p class="error">{}</p>"#, lang.t("queue_off")));
            return (out, false);
        }
        ScanJobs::Unavailable => {
            out.push_str(&format!(r#"<p class="error">{}</p>"#, lang.t("queue_down")));
            Vec::new()
        }
        ScanJobs::Jobs(jobs) => jobs,
    };
    out.push_str(&format!(
        r#"<form method="post" action="{BASE}/sites/{sid}/scan-jobs"><input type="hidden" name="csrf" value="{}"><p>{}</p><button>{}</button></form>"#,
        esc(c.csrf.unwrap_or("")),
        lang.t("scan_now_help"),
        lang.t("scan_now")
    ));
    if !jobs.is_empty() {
        out.push_str(&format!(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            lang.t("time"),
            lang.t("scanned"),
            lang.t("status")
        ));
        for j in jobs.iter().take(20) {
            let status = match j.status.as_str() {
                s @ ("queued" | "running" | "done" | "failed") => lang.t(s),
                _ => "?",
            };
            let detail = match (&j.scan_id, &j.error) {
                (Some(scan), _) => format!(
                    r#"<a href="{BASE}/sites/{sid}/scans/{}">{}</a>"#,
                    esc(scan),
                    esc(status)
                ),
                (None, Some(e)) => format!("{}: {}", esc(status), esc(e)),
                (None, None) => esc(status),
            };
            out.push_str(&format!(
                r#"<tr><td>{}</td><td><code>{}</code></td><td class="job-{}">{detail}</td></tr>"#,
                time(j.created_ms),
                esc(&j.url),
                esc(&j.status)
            ));
        }
        out.push_str("</table>");
    }
    let in_progress = jobs.iter().any(|j| matches!(j.status.as_str(), "queued" | "running"));
    (out, in_progress)
}

/// "Scan now": queues a scan, then back to the scans page.
async fn scan_now<S: Store + Clone>(
    State(dash): St<S>,
    headers: HeaderMap,
    Path(site): Path<String>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let sent = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let (s, site) = match posted_for_site(&dash, &headers, lang, &site, &sent).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let c = chrome(lang, &s);
    match dash.auth.queue_scan(site.id.clone()).await {
        QueueOutcome::Queued(_) => Redirect::to(&format!("{BASE}/sites/{}/scans", site.id.as_str())).into_response(),
        QueueOutcome::NotConfigured => message(&c, StatusCode::SERVICE_UNAVAILABLE, "queue_off"),
        QueueOutcome::Unavailable => message(&c, StatusCode::SERVICE_UNAVAILABLE, "queue_down"),
        QueueOutcome::Invalid(why) => {
            let mut res = page(
                &c,
                lang.t("scan_now"),
                &format!(r#"<p class="error">{}</p>"#, esc(&why)),
            );
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
    }
}

async fn scan<S: Store + Clone>(
    State(dash): St<S>,
    headers: HeaderMap,
    Path((site, scan)): Path<(String, String)>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let Some(s) = session(&dash, &headers).await else {
        return to_login();
    };
    let c = chrome(lang, &s);
    let Ok(id) = SiteId::parse(&site) else {
        return message(&c, StatusCode::NOT_FOUND, "not_found");
    };
    let stored = match dash.store.scan(&id, &scan).await {
        Ok(Some(x)) => x,
        Ok(None) => return message(&c, StatusCode::NOT_FOUND, "not_found"),
        Err(_) => return message(&c, StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let Ok(report) = serde_json::from_slice::<Value>(&stored.report) else {
        return message(&c, StatusCode::UNPROCESSABLE_ENTITY, "bad_report");
    };
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut body = format!(
        "<p>{}: <code>{}</code> · {}</p><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("scanned"),
        esc(&stored.meta.url),
        time(stored.meta.time_ms),
        lang.t("severity"),
        lang.t("platform"),
        lang.t("evidence"),
        lang.t("remedy")
    );
    let empty = Vec::new();
    let findings = report.get("findings").and_then(Value::as_array).unwrap_or(&empty);
    for f in findings.iter().take(1000) {
        let sev = str_of(f, "severity");
        let sev_class = if ["info", "low", "medium", "high", "critical"].contains(&sev.as_str()) {
            sev.clone()
        } else {
            "info".into()
        };
        let mut evidence = String::from("<ul>");
        for e in f
            .get("evidence")
            .and_then(Value::as_array)
            .unwrap_or(&empty)
            .iter()
            .take(10)
        {
            let mut parts = Vec::new();
            for k in ["page", "state", "request", "cookie", "script", "note"] {
                let v = str_of(e, k);
                if !v.is_empty() {
                    parts.push(format!("{k}: <code>{}</code>", esc(&v)));
                }
            }
            evidence.push_str(&format!("<li>{}</li>", parts.join("; ")));
        }
        evidence.push_str("</ul>");
        if str_of(f, "rule") == "undeclared-cookie" {
            let cookies = f.get("evidence").and_then(Value::as_array).unwrap_or(&empty);
            for name in cookies
                .iter()
                .take(10)
                .map(|e| str_of(e, "cookie"))
                .filter(|n| !n.is_empty())
            {
                evidence.push_str(&format!(
                    r#"<form method="post" action="{BASE}/sites/{}/declare"><input type="hidden" name="csrf" value="{}"><input type="hidden" name="cookie" value="{}"><input type="hidden" name="platform" value="{}"><button>{} <code>{}</code></button></form>"#,
                    esc(id.as_str()),
                    esc(&s.csrf),
                    esc(&name),
                    esc(&str_of(f, "platform")),
                    lang.t("declare"),
                    esc(&name)
                ));
            }
        }
        body.push_str(&format!(
            r#"<tr><td class="sev-{sev_class}">{}</td><td>{}</td><td><strong>{}</strong>{evidence}</td><td>{}</td></tr>"#,
            esc(&sev),
            esc(&str_of(f, "platform")),
            esc(&str_of(f, "title")),
            esc(&str_of(f, "remedy")),
        ));
    }
    body.push_str("</table>");
    page(&c, &format!("{} · {}", lang.t("findings"), id.as_str()), &body)
}

/// The site, or the page to answer with instead.
async fn site_or_page<S: Store + Clone>(
    dash: &Dash<S>,
    c: &Chrome<'_>,
    site: &str,
) -> Result<consent_core::store::Site, Response> {
    let Ok(id) = SiteId::parse(site) else {
        return Err(message(c, StatusCode::NOT_FOUND, "not_found"));
    };
    match dash.store.site(&id).await {
        Ok(Some(site)) => Ok(site),
        Ok(None) => Err(message(c, StatusCode::NOT_FOUND, "not_found")),
        Err(_) => Err(message(c, StatusCode::SERVICE_UNAVAILABLE, "unavailable")),
    }
}

/// The start every form POST about a site shares: a session (else the log-in
/// page), the form's CSRF token matching it (else 403), the site (else 404).
async fn posted_for_site<S: Store + Clone>(
    dash: &Dash<S>,
    headers: &HeaderMap,
    lang: Lang,
    site: &str,
    csrf: &str,
) -> Result<(Session, consent_core::store::Site), Response> {
    let Some(s) = session(dash, headers).await else {
        return Err(to_login());
    };
    let c = chrome(lang, &s);
    if csrf != s.csrf {
        return Err(message(&c, StatusCode::FORBIDDEN, "forbidden"));
    }
    let site = site_or_page(dash, &c, site).await?;
    Ok((s, site))
}

/// The configuration editor: JSON in a textarea, the error by field above it.
fn config_page(c: &Chrome, site: &SiteId, text: &str, error: Option<(String, String)>, draft: bool) -> Response {
    let lang = c.lang;
    let mut body = String::new();
    if draft {
        body.push_str(&format!(r#"<p class="error">{}</p>"#, lang.t("draft")));
    }
    let status = match &error {
        Some((field, msg)) => {
            body.push_str(&format!(
                r#"<p class="error" id="error">{} <code>{}</code>: {}</p>"#,
                lang.t("field"),
                esc(if field.is_empty() { "/" } else { field }),
                esc(msg)
            ));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        None => StatusCode::OK,
    };
    body.push_str(&format!(
        r#"<form method="post" action="{BASE}/sites/{}/config"><input type="hidden" name="csrf" value="{}"><textarea name="config" spellcheck="false">{}</textarea><button>{}</button></form>"#,
        esc(site.as_str()),
        esc(c.csrf.unwrap_or("")),
        esc(text),
        lang.t("save")
    ));
    let mut res = page(c, &format!("{} · {}", lang.t("edit_config"), site.as_str()), &body);
    *res.status_mut() = status;
    res
}

fn pretty(config: &SiteConfig) -> String {
    serde_json::to_string_pretty(config).unwrap_or_default()
}

async fn current_config<S: Store + Clone>(
    dash: &Dash<S>,
    c: &Chrome<'_>,
    site: &consent_core::store::Site,
) -> Result<SiteConfig, Response> {
    match dash.store.config(&site.id, &site.current_version).await {
        Ok(Some(config)) => Ok(config),
        Ok(None) => Err(message(c, StatusCode::NOT_FOUND, "not_found")),
        Err(_) => Err(message(c, StatusCode::SERVICE_UNAVAILABLE, "unavailable")),
    }
}

async fn config_form<S: Store + Clone>(State(dash): St<S>, headers: HeaderMap, Path(site): Path<String>) -> Response {
    let lang = Lang::from_headers(&headers);
    let Some(s) = session(&dash, &headers).await else {
        return to_login();
    };
    let c = chrome(lang, &s);
    let site = match site_or_page(&dash, &c, &site).await {
        Ok(site) => site,
        Err(res) => return res,
    };
    match current_config(&dash, &c, &site).await {
        Ok(config) => config_page(&c, &site.id, &pretty(&config), None, false),
        Err(res) => res,
    }
}

#[derive(Deserialize)]
struct ConfigForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    config: String,
}

async fn save_config<S: Store + Clone>(
    State(dash): St<S>,
    headers: HeaderMap,
    Path(site): Path<String>,
    form: Result<Form<ConfigForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let form = form.map(|Form(f)| f).unwrap_or(ConfigForm {
        csrf: String::new(),
        config: String::new(),
    });
    let (s, site) = match posted_for_site(&dash, &headers, lang, &site, &form.csrf).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let c = chrome(lang, &s);
    let config: SiteConfig = match serde_json::from_str(&form.config) {
        Ok(config) => config,
        Err(e) => return config_page(&c, &site.id, &form.config, Some((String::new(), e.to_string())), false),
    };
    if let Err(e) = config.validate() {
        return config_page(&c, &site.id, &form.config, Some((e.field, e.message)), false);
    }
    match dash.store.save_config(&site.id, &config).await {
        Ok(_) => {
            dash.auth.site_changed(&site.id);
            Redirect::to(&format!("{BASE}/sites/{}", site.id.as_str())).into_response()
        }
        Err(_) => message(&c, StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}

#[derive(Deserialize)]
struct DeclareForm {
    #[serde(default)]
    csrf: String,
    cookie: String,
    #[serde(default)]
    platform: String,
}

/// "Declare it": the current configuration with the cookie added (to the
/// service named like the finding's platform, else a new marketing service),
/// shown as a draft to review and save — nothing is saved here.
async fn declare<S: Store + Clone>(
    State(dash): St<S>,
    headers: HeaderMap,
    Path(site): Path<String>,
    form: Result<Form<DeclareForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let csrf = form.as_ref().map_or("", |Form(f)| f.csrf.as_str());
    let (s, site) = match posted_for_site(&dash, &headers, lang, &site, csrf).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let c = chrome(lang, &s);
    // A form that did not parse carried no token, so it was refused above.
    let Ok(Form(form)) = form else {
        return message(&c, StatusCode::FORBIDDEN, "forbidden");
    };
    let mut config = match current_config(&dash, &c, &site).await {
        Ok(config) => config,
        Err(res) => return res,
    };
    let cookie_name: String = form.cookie.chars().take(200).collect();
    let Ok(cookie) = serde_json::from_value(serde_json::json!({ "name": cookie_name })) else {
        return message(&c, StatusCode::UNPROCESSABLE_ENTITY, "bad_report");
    };
    let platform: String = form
        .platform
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_')
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let service_id = if platform.is_empty() {
        "undeclared".to_owned()
    } else {
        platform
    };
    match config.services.iter_mut().find(|sv| sv.id == service_id) {
        Some(service) => {
            if !service.cookies.iter().any(|k| k.name == cookie_name) {
                service.cookies.push(cookie);
            }
        }
        None => {
            let category = if config.categories.iter().any(|k| k.id == "marketing") {
                "marketing".to_owned()
            } else {
                config.categories.last().map(|k| k.id.clone()).unwrap_or_default()
            };
            let service = serde_json::from_value(serde_json::json!({
                "id": service_id, "name": service_id, "category": category, "cookies": [cookie],
            }));
            match service {
                Ok(service) => config.services.push(service),
                Err(_) => return message(&c, StatusCode::UNPROCESSABLE_ENTITY, "bad_report"),
            }
        }
    }
    config_page(&c, &site.id, &pretty(&config), None, true)
}
