//! The dashboard's analytics and proof pages in a real Chromium against the real
//! `consent-server` binary: axe-core finds no WCAG 2.2 A/AA violations (in
//! Dutch and in English), the page fits a 320 px screen, and the period
//! chooser works by keyboard alone, without JavaScript on the page (the
//! dashboard's CSP allows none).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use e2e::browser::{Chromium, Launch, eval, exclusive, goto, wait_for};
use e2e::widget_site::{consent_server_bin, repo_root};
use e2e::{AdminSession, ServerProcess, http_request};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(15);

/// Runs axe-core on the whole document and returns the violations as lines.
async fn axe(page: &chromiumoxide::Page) -> Result<Vec<String>> {
    let installed: bool = eval(page, "typeof axe !== 'undefined'").await?;
    if !installed {
        let src = std::fs::read_to_string(repo_root().join("tools/node_modules/axe-core/axe.min.js"))
            .context("axe-core missing: run scripts/setup")?;
        page.evaluate(src).await?;
    }
    eval(
        page,
        "axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] })
           .then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))",
    )
    .await
}

/// A page of `chrome` logged in to the dashboard as the admin, by the form.
async fn log_in(chrome: &Chromium, server: &ServerProcess) -> Result<chromiumoxide::Page> {
    let page = chrome.page(&format!("{}/dashboard/login", server.base_url())).await?;
    wait_for(&page, "document.querySelector('input[name=password]')", T).await?;
    let password = serde_json::to_string(&server.admin_password())?;
    let _: bool = eval(
        &page,
        &format!(
            "(document.querySelector('input[name=username]').value = 'admin',
              document.querySelector('input[name=password]').value = {password},
              document.querySelector('input[name=password]').form.submit(), true)"
        ),
    )
    .await?;
    wait_for(&page, "location.pathname === '/dashboard/'", T).await?;
    Ok(page)
}

/// Records one decision of each method on `site` from `origin`; the last one's consent id.
async fn decide(port: u16, site: &str, origin: &str) -> Result<String> {
    let config = http_request(port, "GET", &format!("/api/v1/sites/{site}/config"), &[], None).await?;
    let config = config.json();
    let version = config["version"].as_str().context("no version")?.to_owned();
    let categories: Vec<(String, bool)> = config["config"]["categories"]
        .as_array()
        .context("no categories")?
        .iter()
        .map(|c| (c["id"].as_str().unwrap_or("").to_owned(), c["required"] == true))
        .collect();
    let mut consent_id = String::new();
    for (method, grant) in [
        ("accept_all", Some(true)),
        ("reject_all", Some(false)),
        ("custom", None),
    ] {
        let chosen: serde_json::Map<String, Value> = categories
            .iter()
            .filter(|(_, required)| !required)
            .enumerate()
            .map(|(i, (id, _))| (id.clone(), Value::Bool(grant.unwrap_or(i == 0))))
            .collect();
        let body = json!({"config_version": version, "method": method, "categories": chosen,
            "language": "nl", "page_path": "/"});
        let path = format!("/api/v1/sites/{site}/decisions");
        let res = http_request(port, "POST", &path, &[("Origin", origin)], Some(&body)).await?;
        if res.status != 201 {
            bail!("{method}: {} {}", res.status, res.body);
        }
        consent_id = res.json()["consent_id"].as_str().context("no consent id")?.to_owned();
    }
    Ok(consent_id)
}

#[tokio::test(flavor = "multi_thread")]
async fn analytics_page_has_no_axe_violations_and_works_by_keyboard() -> Result<()> {
    let _turn = exclusive().await;
    let bin = consent_server_bin()?;
    let widget = repo_root().join("consent-widget/dist");
    let server = ServerProcess::start_fresh(Path::new(&bin), &["--widget-dir", widget.to_str().context("path")?])?;
    let port = server.port();
    let admin = AdminSession::login(port, &server.admin_password()).await?;
    let origin = "https://shop.example";
    let key = admin
        .site_with_key("shop", origin, &["decisions:read", "scans:write"])
        .await?;
    let consent_id = decide(port, "shop", origin).await?;

    for lang in ["nl-NL,nl", "en-GB,en"] {
        let chrome = Chromium::launch(Launch {
            lang: lang.into(),
            ..Launch::default()
        })
        .await?;
        let page = log_in(&chrome, &server).await?;
        goto(
            &page,
            &format!("{}/dashboard/sites/shop/analytics?days=7", server.base_url()),
        )
        .await?;
        wait_for(&page, "document.querySelectorAll('svg.chart').length === 6", T).await?;
        let v = axe(&page).await?;
        assert!(v.is_empty(), "{lang}: {v:#?}");
        let charts: Value = eval(
            &page,
            "[...document.querySelectorAll('svg.chart')].map(s => [s.getAttribute('role'), !!s.querySelector('title').textContent, s.closest('section').querySelector('table caption') !== null])",
        )
        .await?;
        for c in charts.as_array().context("charts")? {
            assert_eq!(
                c,
                &json!(["img", true, true]),
                "{lang}: each chart is labelled, with a table"
            );
        }

        // Keyboard: Tab to the "90 days" button and press Enter; the GET
        // form (no script) loads the 90-day period.
        let mut found = false;
        for _ in 0..30 {
            page.find_element("body").await?.press_key("Tab").await?;
            let at: String = eval(&page, "document.activeElement.getAttribute('value') || ''").await?;
            if at == "90" {
                found = true;
                break;
            }
        }
        assert!(found, "{lang}: the 90-day button is reachable by Tab");
        page.find_element("button[value='90']")
            .await?
            .press_key("Enter")
            .await?;
        wait_for(&page, "location.search === '?days=90'", T).await?;
        wait_for(
            &page,
            "document.querySelectorAll('section#days, section .pair').length > 0 && document.querySelector('#days-h') !== null",
            T,
        )
        .await?;
        let rows: usize = eval(&page, "document.querySelectorAll('#days-h ~ .pair tbody tr').length").await?;
        assert_eq!(rows, 90, "{lang}: one row a day");

        // 320 px wide (WCAG 2.2 SC 1.4.10 reflow): nothing scrolls sideways,
        // and the charts scale to the width.
        page.execute(SetDeviceMetricsOverrideParams::new(320, 640, 1.0, true))
            .await?;
        goto(
            &page,
            &format!("{}/dashboard/sites/shop/analytics?days=30", server.base_url()),
        )
        .await?;
        wait_for(&page, "document.querySelectorAll('svg.chart').length === 6", T).await?;
        let fits: Value = eval(
            &page,
            "[document.documentElement.scrollWidth <= 320, [...document.querySelectorAll('svg.chart')].every(s => s.getBoundingClientRect().right <= 320)]",
        )
        .await?;
        let wide: Value = eval(
            &page,
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 320).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
        )
        .await?;
        assert_eq!(fits, json!([true, true]), "{lang}: wider than 320 px: {wide}");
        let v = axe(&page).await?;
        assert!(v.is_empty(), "{lang} at 320 px: {v:#?}");

        // The proof page of a consent id, once the log has a checkpoint.
        let proof = format!(
            "{}/dashboard/sites/shop/proof?consent_id={consent_id}",
            server.base_url()
        );
        goto(&page, &proof).await?;
        wait_for(&page, "document.querySelector('#history-caption') !== null", T).await?;
        let v = axe(&page).await?;
        assert!(v.is_empty(), "{lang}, proof page at 320 px: {v:#?}");
        let wide: Vec<String> = eval(
            &page,
            "[...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > 320).map(e => e.tagName + ' ' + Math.round(e.getBoundingClientRect().right))",
        )
        .await?;
        assert!(wide.is_empty(), "{lang}: the proof page is wider than 320 px: {wide:?}");

        // The public seal page, once a scan is attested: no session needed.
        seal_page_checks(&page, &server, &key, lang).await?;
        chrome.close().await;
    }
    Ok(())
}

/// A scan report of the site (`scanner/REPORT.md`): the loader installed as
/// it must be, nothing found, "reject all" reached.
fn clean_report() -> Value {
    json!({
        "schema": "keurmerk-scan-report", "schema_version": 1,
        "scanner": {"name": "consent-scan", "version": "0.1.0", "knowledge_base": "test"},
        "site": "https://shop.example/", "started_at": 1_790_000_000u64, "duration_ms": 1000,
        "declaration": {"origin": "test"},
        "summary": {"pages_static": 1, "pages_browser": 1, "platforms": 0, "cookies": 0,
            "personal_data_requests": 0, "findings": {}},
        "findings": [], "platforms": [], "cookies": [], "storage": [], "personal_data": [],
        "pages": [{"url": "https://shop.example/", "depth": 0, "status": 200, "bytes": 10, "pass": "browser"}],
        "problems": [],
        "banners": [["https://shop.example/", "reject all: window.keurmerk (reject_all)"]],
        "installation": [{"page": "https://shop.example/", "loader": {"src": "https://c.example/s/shop/loader.js",
            "first_script": true, "in_head": true, "synchronous": true}}]
    })
}

/// The seal page of `shop` (uploading a scan the first time): no axe
/// violations at the page's current width (320 px), nothing wider than it,
/// the badge image loads.
async fn seal_page_checks(page: &chromiumoxide::Page, server: &ServerProcess, key: &str, lang: &str) -> Result<()> {
    let port = server.port();
    let scans = http_request(port, "GET", "/s/shop/attestation", &[], None).await?;
    if scans.status == 404 {
        let auth = format!("Bearer {key}");
        let res = http_request(
            port,
            "POST",
            "/api/v1/sites/shop/scans",
            &[("Authorization", &auth)],
            Some(&clean_report()),
        )
        .await?;
        if res.status != 201 {
            bail!("scan upload: {} {}", res.status, res.body);
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while http_request(port, "GET", "/s/shop/attestation", &[], None)
        .await?
        .status
        != 200
    {
        if std::time::Instant::now() > deadline {
            bail!("no attestation within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    goto(page, &format!("{}/s/shop/seal", server.base_url())).await?;
    wait_for(
        page,
        "document.querySelector('img') && document.querySelector('img').complete",
        T,
    )
    .await?;
    let badge: f64 = eval(page, "document.querySelector('img').naturalWidth").await?;
    assert!(badge > 0.0, "{lang}: the badge did not load");
    let v = axe(page).await?;
    assert!(v.is_empty(), "{lang}, seal page at 320 px: {v:#?}");
    let wide: Vec<String> = eval(
        page,
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 320).map(e => e.tagName + ' ' + Math.round(e.getBoundingClientRect().right))",
    )
    .await?;
    assert!(wide.is_empty(), "{lang}: the seal page is wider than 320 px: {wide:?}");
    Ok(())
}

/// A scan report as the scanner writes it, from observations of a site that
/// tracks before consent and after "reject all" and sets undeclared cookies:
/// the scanner's own analysis, so the pages show what real reports hold.
fn tracking_report() -> scanner::report::Report {
    use scanner::page::{ConsentState, Cookie, Observations, PageVisit, Pass, Request, SetBy};
    let site = "https://shop.example/";
    let mut obs = Observations::default();
    for (i, path) in [
        "",
        "winkel",
        "winkel/schoenen-met-een-heel-lange-naam-die-niet-afbreekt",
    ]
    .iter()
    .enumerate()
    {
        let page = format!("{site}{path}");
        obs.pages.push(PageVisit {
            url: page.clone(),
            depth: i as u32,
            status: Some(200),
            bytes: 1000,
            pass: Pass::Browser,
        });
        for state in [ConsentState::BeforeConsent, ConsentState::AfterReject] {
            obs.requests.push(Request {
                page: page.clone(),
                url: "https://www.facebook.com/tr?id=123456789012345&ev=PageView&dl=https%3A%2F%2Fshop.example%2F&ud%5Bem%5D=0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3b".into(),
                method: "GET".into(),
                body: None,
                resource_type: "image".into(),
                initiator: Some("https://connect.facebook.net/en_US/fbevents.js".into()),
                state,
                pass: Pass::Browser,
                visit: Some(1),
            });
            obs.cookies.push(Cookie {
                page: page.clone(),
                name: "_fbp".into(),
                domain: ".shop.example".into(),
                path: "/".into(),
                lifetime_secs: Some(7_776_000),
                third_party: false,
                set_by: SetBy::Script {
                    script_url: Some("https://connect.facebook.net/en_US/fbevents.js".into()),
                },
                state,
                pass: Pass::Browser,
                blocked: None,
            });
        }
    }
    obs.banners
        .push((site.into(), "reject all: button \"Alles weigeren\"".into()));
    obs.browser_visits = 6;
    let kb = scanner::signature::KnowledgeBase::builtin();
    let declared = scanner::declared::Declared::nothing();
    let needles = scanner::pii::CanaryIdentity::default().needles();
    let analysis = scanner::detect::analyse(
        &obs,
        &scanner::detect::Context {
            kb: &kb,
            declared: &declared,
            cookie_db: None,
            needles: &needles,
            site_host: "shop.example",
        },
    );
    scanner::report::Report::new(
        site,
        &kb.version,
        scanner::report::DeclarationInfo {
            origin: "test".into(),
            version: None,
        },
        1_790_000_000,
        3000,
        obs.pages,
        obs.problems,
        obs.banners,
        analysis,
    )
}

/// Nothing but `.scroll` regions (which scroll on their own, labelled and
/// focusable) is wider than the window.
async fn too_wide(page: &chromiumoxide::Page, width: u32) -> Result<Vec<String>> {
    eval(
        page,
        &format!(
            "[...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > {width} + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_pages_and_the_report_have_no_axe_violations_at_1280_and_320_px() -> Result<()> {
    let _turn = exclusive().await;
    let report = tracking_report();
    assert!(
        report.findings.len() >= 2,
        "the report has findings: {:?}",
        report.findings
    );
    let bin = consent_server_bin()?;
    let server = ServerProcess::start_fresh(Path::new(&bin), &[])?;
    let port = server.port();
    let admin = AdminSession::login(port, &server.admin_password()).await?;
    let key = admin
        .site_with_key("shop", "https://shop.example", &["scans:write", "scans:read"])
        .await?;
    let auth = format!("Bearer {key}");
    let json: Value = serde_json::from_str(&report.to_json())?;
    let res = http_request(
        port,
        "POST",
        "/api/v1/sites/shop/scans",
        &[("Authorization", &auth)],
        Some(&json),
    )
    .await?;
    if res.status != 201 {
        bail!("scan upload: {} {}", res.status, res.body);
    }
    let scan_id = res.json()["id"].as_str().context("scan id")?.to_owned();

    // The scanner's own HTML report, served as a file would be opened.
    let html = report.to_html();
    let report_server = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/report.html", l.local_addr()?);
        let app = axum::Router::new().route(
            "/report.html",
            axum::routing::get(move || async move { axum::response::Html(html) }),
        );
        tokio::spawn(async move { axum::serve(l, app).await });
        url
    };

    for lang in ["nl-NL,nl", "en-GB,en"] {
        let chrome = Chromium::launch(Launch {
            lang: lang.into(),
            ..Launch::default()
        })
        .await?;
        let page = log_in(&chrome, &server).await?;
        for width in [1280u32, 320] {
            page.execute(SetDeviceMetricsOverrideParams::new(width as i64, 800, 1.0, width < 600))
                .await?;
            for path in [
                format!("/dashboard/sites/shop/scans/{scan_id}"),
                "/dashboard/sites/shop/scans".to_owned(),
                format!("/dashboard/sites/shop/scans/{scan_id}/compare/{scan_id}"),
            ] {
                goto(&page, &format!("{}{path}", server.base_url())).await?;
                wait_for(&page, "document.readyState === 'complete'", T).await?;
                let v = axe(&page).await?;
                assert!(v.is_empty(), "{lang}, {path} at {width} px: {v:#?}");
                let wide = too_wide(&page, width).await?;
                assert!(wide.is_empty(), "{lang}, {path} is wider than {width} px: {wide:?}");
            }
            goto(&page, &report_server).await?;
            wait_for(&page, "document.readyState === 'complete'", T).await?;
            let v = axe(&page).await?;
            assert!(v.is_empty(), "{lang}, the HTML report at {width} px: {v:#?}");
            let wide = too_wide(&page, width).await?;
            assert!(
                wide.is_empty(),
                "{lang}: the HTML report is wider than {width} px: {wide:?}"
            );
        }
        chrome.close().await;
    }
    Ok(())
}

/// The widths every crawled page is checked at: a desktop window, and 320
/// CSS px (WCAG 2.2 SC 1.4.10 Reflow: content fits 320 px without scrolling
/// in two directions, <https://www.w3.org/WAI/WCAG22/Understanding/reflow.html>).
const WIDTHS: [u32; 2] = [1280, 320];
/// At most this many pages are crawled in all…
const MAX_PAGES: usize = 150;
/// …and at most this many views (distinct query strings) of one path.
const MAX_VIEWS_PER_PATH: usize = 3;

/// The sites whose pages the crawl visits: the one the test seeds with
/// decisions and scans, and the demo site the server creates on its first
/// start (with services and cookies declared). Any other site's pages are
/// the same templates again.
const CRAWLED_SITES: [&str; 2] = ["shop", "demo"];

/// Whether a same-origin `path` is a page of the dashboard the crawl visits:
/// the dashboard itself and the public seal page it links to, not log-out
/// (a form anyway), the stylesheet, downloads, or other sites' pages.
fn crawlable(path: &str) -> bool {
    let path_only = path.split('?').next().unwrap_or(path);
    let is_seal = path_only.starts_with("/s/") && path_only.ends_with("/seal");
    let other_site = path_only
        .strip_prefix("/dashboard/sites/")
        .or_else(|| path_only.strip_prefix("/s/"))
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|site| site != "new" && !CRAWLED_SITES.contains(&site));
    (path_only.starts_with("/dashboard/") || is_seal)
        && !other_site
        && !path_only.starts_with("/dashboard/logout")
        && !path_only.starts_with("/dashboard/static/")
        && ![".csv", ".json", ".xml", ".svg", ".txt", ".pdf", ".zip"]
            .iter()
            .any(|ext| path_only.ends_with(ext))
}

/// What the server's own answer to `path` (outside the browser) says is
/// wrong: not 200, not HTML, or without the strict Content-Security-Policy
/// (no script at all, nothing inline). `Ok(None)` for an answer that is not
/// a page (a download).
async fn answer_problems(admin: &AdminSession, path: &str) -> Result<Option<Vec<String>>> {
    let res = admin.get(path).await?;
    let html = res.header("content-type").is_some_and(|t| t.starts_with("text/html"));
    if res.status == 200 && !html {
        return Ok(None);
    }
    let mut problems = Vec::new();
    if res.status != 200 {
        problems.push(format!("answered {}", res.status));
    }
    let csp = res.header("content-security-policy").unwrap_or("");
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    let scripts = directives
        .iter()
        .find(|d| d.starts_with("script-src "))
        .or_else(|| directives.iter().find(|d| d.starts_with("default-src ")));
    match scripts {
        None => problems.push(format!("no script-src or default-src in its CSP {csp:?}")),
        Some(d) if d.contains("'unsafe-inline'") || d.contains("'unsafe-eval'") || d.contains('*') => {
            problems.push(format!("its CSP allows inline or foreign script: {d:?}"))
        }
        Some(_) => {}
    }
    if csp.contains("'unsafe-inline'") {
        problems.push(format!("its CSP allows something inline: {csp:?}"));
    }
    Ok(Some(problems))
}

/// The checks of the page now loaded in `page` beside axe-core: a `lang` of
/// `code`, a `<main>`, one `<h1>`, no script or inline style or handler
/// (the page must work without JavaScript, and the CSP would block them
/// silently), nothing out of the keyboard's tab order that should be in it,
/// every visible form field named, and nothing wider than `width` outside a
/// `.scroll` region (which scrolls on its own, labelled and focusable).
async fn page_problems(page: &chromiumoxide::Page, code: &str, width: u32) -> Result<Vec<String>> {
    let js = format!(
        r#"(() => {{
  const p = [];
  const lang = document.documentElement.getAttribute('lang') || '';
  if (lang !== {code:?}) p.push('lang is ' + JSON.stringify(lang) + ', not {code}');
  if (document.querySelectorAll('main').length !== 1) p.push(document.querySelectorAll('main').length + ' <main> elements');
  if (document.querySelectorAll('h1').length !== 1) p.push(document.querySelectorAll('h1').length + ' <h1> elements');
  if (document.querySelector('script')) p.push('a <script> element');
  const styled = document.querySelectorAll('[style]').length;
  if (styled) p.push(styled + ' elements with inline style');
  const handlers = [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length;
  if (handlers) p.push(handlers + ' elements with inline event handlers');
  if (document.querySelector('a[href^="javascript:"]')) p.push('a javascript: link');
  const positive = [...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).length;
  if (positive) p.push(positive + ' elements with a positive tabindex');
  const visible = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const unreachable = [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
    .filter(e => visible(e) && !e.disabled && e.type !== 'hidden' && e.tabIndex < 0)
    .map(e => e.tagName + ' ' + (e.textContent || e.name || '').trim().slice(0, 40));
  if (unreachable.length) p.push('not reachable by Tab: ' + unreachable.join(', '));
  const unnamed = [...document.querySelectorAll('input, select, textarea')]
    .filter(e => e.type !== 'hidden' && visible(e))
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && !e.title)
    .map(e => e.outerHTML.slice(0, 100));
  if (unnamed.length) p.push('form fields without a name: ' + unnamed.join(', '));
  if (document.documentElement.scrollWidth > {width} + 1) {{
    // What sticks out (inside scroll regions too: one that does not scroll widens the page),
    // or whose own text runs over its box.
    const out = [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > {width} + 1 || (e.clientWidth && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'))
      .slice(-4).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + JSON.stringify((e.textContent || '').trim().slice(0, 40)));
    p.push('scrolls sideways: ' + document.documentElement.scrollWidth + ' px wide (' + out.join(', ') + ')');
  }}
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > {width} + 1)
    .slice(0, 6).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
  if (wide.length) p.push('wider than {width} px: ' + wide.join(', '));
  return p;
}})()"#
    );
    eval(page, &js).await
}

/// Same-origin links of the page now loaded in `page`, as paths with their
/// query (without fragment), in document order.
async fn links(page: &chromiumoxide::Page, base: &str) -> Result<Vec<String>> {
    let hrefs: Vec<String> = eval(page, "[...document.querySelectorAll('a[href]')].map(a => a.href)").await?;
    Ok(hrefs
        .into_iter()
        .filter_map(|h| {
            h.strip_prefix(base)
                .map(|p| p.split('#').next().unwrap_or("").to_owned())
        })
        .filter(|p| p.starts_with('/'))
        .collect())
}

/// Every page of the dashboard, found by following its links from the site
/// list (so pages added later are covered without a list to keep), on a
/// site with decisions and two scans: in Dutch and in English, at 1280 and
/// 320 px, axe-core finds no WCAG 2.2 A/AA violation, and every page passes
/// [`page_problems`] and [`answer_problems`]. One Chromium, one tab; the
/// language is switched with the `Accept-Language` header the dashboard
/// reads (`i18n::Lang::from_headers`).
#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_page_passes_axe_and_the_page_checks() -> Result<()> {
    use chromiumoxide::cdp::browser_protocol::network::{Headers, SetExtraHttpHeadersParams};

    let _turn = exclusive().await;
    let started = std::time::Instant::now();
    let bin = consent_server_bin()?;
    let widget = repo_root().join("consent-widget/dist");
    let server = ServerProcess::start_fresh(Path::new(&bin), &["--widget-dir", widget.to_str().context("path")?])?;
    let port = server.port();
    let base = server.base_url();
    let admin = AdminSession::login(port, &server.admin_password()).await?;
    let origin = "https://shop.example";
    let key = admin
        .site_with_key("shop", origin, &["decisions:read", "scans:write", "scans:read"])
        .await?;
    let consent_id = decide(port, "shop", origin).await?;
    let auth = format!("Bearer {key}");
    let mut scan_ids = Vec::new();
    for report in [
        serde_json::from_str::<Value>(&tracking_report().to_json())?,
        clean_report(),
    ] {
        let res = http_request(
            port,
            "POST",
            "/api/v1/sites/shop/scans",
            &[("Authorization", &auth)],
            Some(&report),
        )
        .await?;
        if res.status != 201 {
            bail!("scan upload: {} {}", res.status, res.body);
        }
        scan_ids.push(res.json()["id"].as_str().context("scan id")?.to_owned());
    }

    let chrome = Chromium::launch(Launch {
        lang: "nl-NL,nl".into(),
        ..Launch::default()
    })
    .await?;
    let mut problems: Vec<String> = Vec::new();
    // The log-in page, before logging in.
    let page = chrome.page(&format!("{base}/dashboard/login")).await?;
    wait_for(&page, "document.readyState === 'complete'", T).await?;
    for v in axe(&page).await? {
        problems.push(format!("/dashboard/login (nl): {v}"));
    }
    page.close().await?;
    let page = log_in(&chrome, &server).await?;
    // A visitor's erasure request for the consent id, registered through its
    // form, so the crawl reaches the request's own page from the list.
    goto(&page, &format!("{base}/dashboard/sites/shop/requests")).await?;
    let consent = serde_json::to_string(&consent_id)?;
    let _: bool = eval(
        &page,
        &format!(
            "(document.querySelector('input[name=kind][value=erasure]').checked = true,
              document.querySelector('#consent_id').value = {consent},
              document.querySelector('#consent_id').form.submit(), true)"
        ),
    )
    .await?;
    wait_for(&page, "/\\/requests\\/req_/.test(location.pathname)", T).await?;

    // Pages reached only through a GET form or an error, added to the crawl.
    let mut queue: std::collections::VecDeque<String> = [
        "/dashboard/".to_owned(),
        "/dashboard/sites/shop".to_owned(),
        format!("/dashboard/sites/shop/proof?consent_id={consent_id}"),
        "/dashboard/sites/shop/analytics?days=90".to_owned(),
        format!("/dashboard/sites/shop/scans/{}/compare/{}", scan_ids[1], scan_ids[0]),
    ]
    .into();
    let not_found = "/dashboard/sites/no-such-site";
    let mut seen: std::collections::HashSet<String> = queue.iter().cloned().collect();
    let mut views: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut pages: Vec<String> = Vec::new();
    while let Some(path) = queue.pop_front() {
        if pages.len() >= MAX_PAGES {
            problems.push(format!("more than {MAX_PAGES} pages: the crawl stopped at {path}"));
            break;
        }
        let Some(answer) = answer_problems(&admin, &path).await? else {
            continue;
        };
        problems.extend(answer.into_iter().map(|p| format!("{path}: {p}")));
        goto(&page, &format!("{base}{path}")).await?;
        pages.push(path.clone());
        for link in links(&page, &base).await? {
            let path_only = link.split('?').next().unwrap_or("").to_owned();
            if !crawlable(&link) || seen.contains(&link) {
                continue;
            }
            let n = views.entry(path_only).or_default();
            if *n >= MAX_VIEWS_PER_PATH {
                continue;
            }
            *n += 1;
            seen.insert(link.clone());
            queue.push_back(link);
        }
    }
    if !pages.iter().any(|p| p.contains("/requests/req_")) {
        problems.push("the crawl never reached the visitor's request page".into());
    }
    pages.push(not_found.to_owned());

    for (accept, code) in [("nl-NL,nl", "nl"), ("en-GB,en", "en")] {
        page.execute(SetExtraHttpHeadersParams::new(Headers::new(
            json!({ "Accept-Language": accept }),
        )))
        .await?;
        for width in WIDTHS {
            page.execute(SetDeviceMetricsOverrideParams::new(
                i64::from(width),
                800,
                1.0,
                width < 600,
            ))
            .await?;
            for path in &pages {
                goto(&page, &format!("{base}{path}")).await?;
                let at = format!("{path} ({code}, {width} px)");
                for v in axe(&page).await? {
                    problems.push(format!("{at}: axe {v}"));
                }
                for p in page_problems(&page, code, width).await? {
                    problems.push(format!("{at}: {p}"));
                }
            }
        }
    }
    chrome.close().await;
    eprintln!(
        "crawled {} dashboard pages in {:.0} s: {pages:#?}",
        pages.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        pages.len() >= 10,
        "the crawl found too few pages, so links are missing: {pages:#?}"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}
