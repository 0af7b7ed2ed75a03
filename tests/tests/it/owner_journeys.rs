//! The site owner's journeys through the dashboard in a real Chromium,
//! against the real `consent-server` binary on its embedded store (the
//! default `scripts/up` starts, no Redis): each step done as a person does
//! it — following links, filling in forms, pressing buttons — and checked by
//! what the page then says (headings, notices, tables), in Dutch for at
//! least one step of every journey and in English for the rest.
//!
//! The dashboard reads the language from `Accept-Language`
//! (`i18n::Lang::from_headers`); [`set_lang`] changes the header the tab
//! sends, as a visitor changing the browser's language would.
//!
//! Data no journey is about (a second site, decisions of visitors) is seeded
//! through the public API and the owner API, as a site and its visitors
//! would make it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::network::{Headers, SetExtraHttpHeadersParams};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use e2e::browser::{Chromium, Launch, eval, exclusive, goto, wait_for};
use e2e::widget_site::{consent_server_bin, repo_root};
use e2e::{AdminSession, ServerProcess, http_request};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// How long one step may take (a page load, a form's answer).
const T: Duration = Duration::from_secs(20);

/// The server binary on a fresh data directory (the embedded store), with
/// the widget's assets (for the preview) and `extra` arguments.
fn server(extra: &[&str]) -> Result<ServerProcess> {
    let bin = consent_server_bin()?;
    let widget = repo_root().join("consent-widget/dist");
    let mut args = vec!["--widget-dir", widget.to_str().context("path")?];
    args.extend_from_slice(extra);
    ServerProcess::start_fresh(Path::new(&bin), &args)
}

/// The workspace's `keurmerk-verify` binary, built by the cargo that runs
/// the tests into the same target directory (as [`consent_server_bin`]).
fn verify_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test binary outside a cargo target dir")?;
    let target_dir = profile_dir.parent().context("no target dir")?;
    let mut cmd = std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"));
    cmd.args([
        "build",
        "--quiet",
        "--locked",
        "-p",
        "keurmerk-verify",
        "--bin",
        "keurmerk-verify",
    ])
    .env("CARGO_TARGET_DIR", target_dir)
    .current_dir(repo_root());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if !cmd.status()?.success() {
        bail!("cargo build -p keurmerk-verify failed");
    }
    Ok(profile_dir.join("keurmerk-verify"))
}

/// Chromium whose tabs ask for `lang` (e.g. `"en-GB,en"`).
async fn browser(lang: &str) -> Result<Chromium> {
    Chromium::launch(Launch {
        lang: lang.into(),
        ..Launch::default()
    })
    .await
}

/// Makes the tab send `Accept-Language: accept` from its next request on.
async fn set_lang(page: &Page, accept: &str) -> Result<()> {
    page.execute(SetExtraHttpHeadersParams::new(Headers::new(
        json!({ "Accept-Language": accept }),
    )))
    .await?;
    Ok(())
}

/// `value` as a JavaScript string literal.
fn js(value: &str) -> String {
    serde_json::to_string(value).expect("a string serialises")
}

/// The text of the page's `<main>`, as a person reads it.
async fn main_text(page: &Page) -> Result<String> {
    eval(page, "(document.querySelector('main') || document.body).innerText").await
}

/// The page's `<h1>`.
async fn h1(page: &Page) -> Result<String> {
    eval(
        page,
        "(document.querySelector('h1') || {textContent: ''}).textContent.trim()",
    )
    .await
}

/// Fails, showing the page's path and text, unless its `<main>` says each of `texts`.
async fn says(page: &Page, texts: &[&str]) -> Result<()> {
    let text = main_text(page).await?;
    let missing: Vec<&&str> = texts.iter().filter(|t| !text.contains(**t)).collect();
    if !missing.is_empty() {
        let at: String = eval(page, "location.pathname + location.search").await?;
        bail!("{at} does not say {missing:?}; it says:\n{text}");
    }
    Ok(())
}

/// Fails unless the page's `<h1>` starts with `title`.
async fn titled(page: &Page, title: &str) -> Result<()> {
    let h = h1(page).await?;
    if !h.starts_with(title) {
        let at: String = eval(page, "location.pathname + location.search").await?;
        let text = main_text(page).await.unwrap_or_default();
        bail!("{at}: the heading is {h:?}, not {title:?}; the page says:\n{text}");
    }
    Ok(())
}

/// Types `value` into the field `selector` (replacing what it held), with
/// the input and change events a keyboard makes.
async fn fill(page: &Page, selector: &str, value: &str) -> Result<()> {
    let ok: bool = eval(
        page,
        &format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.focus(); e.value = {};
               e.dispatchEvent(new Event('input', {{bubbles: true}})); e.dispatchEvent(new Event('change', {{bubbles: true}}));
               return true; }})()",
            js(selector),
            js(value)
        ),
    )
    .await?;
    if !ok {
        bail!("no field {selector}");
    }
    Ok(())
}

/// Ticks (or unticks) the checkbox or radio button `selector`.
async fn tick(page: &Page, selector: &str, on: bool) -> Result<()> {
    let ok: bool = eval(
        page,
        &format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; if (e.checked !== {on}) e.click(); return e.checked === {on}; }})()",
            js(selector)
        ),
    )
    .await?;
    if !ok {
        bail!("no checkbox {selector}");
    }
    Ok(())
}

/// The value of the field `selector`.
async fn value_of(page: &Page, selector: &str) -> Result<String> {
    eval(
        page,
        &format!("(document.querySelector({}) || {{value: null}}).value", js(selector)),
    )
    .await
    .with_context(|| format!("no field {selector}"))
}

/// Clicks the element `js_element` (an expression for it) and waits until
/// the page it leads to has loaded.
async fn activate(page: &Page, js_element: &str, what: &str) -> Result<()> {
    let ok: bool = eval(
        page,
        &format!(
            "(() => {{ const e = {js_element}; if (!e) return false; window.__kmStale = true; e.click(); return true; }})()"
        ),
    )
    .await?;
    if !ok {
        let at: String = eval(page, "location.pathname + location.search").await?;
        let text = main_text(page).await.unwrap_or_default();
        bail!("{at}: no {what}; the page says:\n{text}");
    }
    wait_for(page, "!window.__kmStale && document.readyState === 'complete'", T)
        .await
        .with_context(|| format!("after clicking {what}"))
}

/// Presses the button whose text starts with `label` (inside `scope`, a
/// selector, or anywhere) and waits for the page the form leads to.
async fn press(page: &Page, scope: &str, label: &str) -> Result<()> {
    activate(
        page,
        &format!(
            "[...document.querySelectorAll({})].find(b => b.textContent.trim().startsWith({}))",
            js(&format!("{scope} button")),
            js(label)
        ),
        &format!("button {label:?} in {scope}"),
    )
    .await
}

/// Follows the link whose text starts with `label` (inside `main`).
async fn follow(page: &Page, label: &str) -> Result<()> {
    activate(
        page,
        &format!(
            "[...document.querySelectorAll('main a[href]')].find(a => a.textContent.trim().startsWith({}))",
            js(label)
        ),
        &format!("link {label:?}"),
    )
    .await
}

/// Follows the link `selector`.
async fn follow_sel(page: &Page, selector: &str) -> Result<()> {
    activate(
        page,
        &format!("document.querySelector({})", js(selector)),
        &format!("link {selector}"),
    )
    .await
}

/// Follows the link `selector` by loading its address through DevTools
/// (`Page.navigate`) rather than a click: chromiumoxide learns of a
/// document's frames only from a navigation it started itself, and the
/// preview's frame is read through them.
async fn open_link(page: &Page, selector: &str) -> Result<()> {
    let href: String = eval(page, &format!("document.querySelector({}).href", js(selector)))
        .await
        .with_context(|| format!("no link {selector}"))?;
    goto(page, &href).await
}

/// The `Cookie` header of the tab's session (the dashboard's cookies).
async fn cookie_header(page: &Page) -> Result<String> {
    Ok(page
        .get_cookies()
        .await?
        .iter()
        .map(|c| format!("{}={}", c.name, c.value))
        .collect::<Vec<_>>()
        .join("; "))
}

/// What a download link `url` of the page gives with the tab's session:
/// status, content type, body. Downloaded outside the page, as a browser
/// saves a file (the dashboard's CSP lets no script of a page fetch).
async fn download(page: &Page, url: &str) -> Result<(u16, String, String)> {
    let res = reqwest::Client::new()
        .get(url)
        .header("Cookie", cookie_header(page).await?)
        .send()
        .await?;
    let status = res.status().as_u16();
    let kind = content_type(&res);
    Ok((status, kind, res.text().await?))
}

/// What the page's form `selector` answers with its own fields and the
/// tab's session, for a form whose answer is a file a browser saves
/// instead of showing.
async fn download_form(page: &Page, selector: &str) -> Result<(u16, String, String)> {
    let (action, body): (String, String) = eval(
        page,
        &format!(
            "(() => {{ const f = document.querySelector({}); return [f.action, new URLSearchParams(new FormData(f)).toString()]; }})()",
            js(selector)
        ),
    )
    .await
    .with_context(|| format!("no form {selector}"))?;
    let res = reqwest::Client::new()
        .post(&action)
        .header("Cookie", cookie_header(page).await?)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    let status = res.status().as_u16();
    let kind = content_type(&res);
    Ok((status, kind, res.text().await?))
}

fn content_type(res: &reqwest::Response) -> String {
    res.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Whether the page now loaded answered `status` (from the Navigation
/// Timing entry, as the browser received it).
async fn answered(page: &Page) -> Result<u16> {
    eval(page, "performance.getEntriesByType('navigation')[0].responseStatus").await
}

/// A page of `chrome` logged in as `user`, by the log-in form.
async fn log_in(chrome: &Chromium, server: &ServerProcess, user: &str, password: &str) -> Result<Page> {
    let page = chrome.page(&format!("{}/dashboard/login", server.base_url())).await?;
    wait_for(&page, "document.querySelector('input[name=password]')", T).await?;
    log_in_on(&page, user, password).await?;
    Ok(page)
}

/// Fills in and sends the log-in form shown on `page`.
async fn log_in_on(page: &Page, user: &str, password: &str) -> Result<()> {
    fill(page, "input[name=username]", user).await?;
    fill(page, "input[name=password]", password).await?;
    press(page, "main form", "").await?;
    let at: String = eval(page, "location.pathname").await?;
    if at == "/dashboard/login" {
        bail!("log-in as {user} refused: {}", main_text(page).await?);
    }
    Ok(())
}

/// Evaluates `js` in the preview's frame (the document whose URL has
/// `/preview/frame`): a sandboxed, opaque origin the dashboard's page
/// cannot reach into, the browser's DevTools can.
async fn in_frame<R: DeserializeOwned>(page: &Page, js: &str) -> Result<R> {
    for frame in page.frames().await? {
        let url = page.frame_url(frame.clone()).await?.unwrap_or_default();
        if !url.contains("/preview/frame") {
            continue;
        }
        let Some(context) = page.frame_execution_context(frame).await? else {
            bail!("the frame has no execution context yet");
        };
        let params = EvaluateParams::builder()
            .expression(js)
            .context_id(context)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .map_err(anyhow::Error::msg)?;
        return Ok(page.evaluate_expression(params).await?.into_value()?);
    }
    let mut seen = Vec::new();
    for frame in page.frames().await? {
        seen.push(page.frame_url(frame).await?.unwrap_or_default());
    }
    let iframes: Vec<String> = eval(page, "[...document.querySelectorAll('iframe')].map(f => f.src)").await?;
    let targets = page
        .execute(chromiumoxide::cdp::browser_protocol::target::GetTargetsParams::default())
        .await?;
    let targets: Vec<String> = targets
        .result
        .target_infos
        .iter()
        .map(|t| format!("{} {}", t.r#type, t.url))
        .collect();
    bail!("no preview frame among {seen:?}; the page's iframes: {iframes:?}; targets {targets:?}")
}

/// Polls `condition` in the preview's frame until it is true.
async fn frame_waits_for(page: &Page, condition: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        if in_frame::<bool>(page, &format!("!!({condition})"))
            .await
            .unwrap_or(false)
        {
            return Ok(());
        }
        if start.elapsed() > T {
            let body: String = in_frame(page, "document.body ? document.body.innerText : ''")
                .await
                .unwrap_or_else(|e| e.to_string());
            bail!("timed out waiting in the preview frame for {condition}; it shows:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Records decisions on `site` from `origin` through the public decision
/// endpoint, as the widget sends them: one per method in `methods`
/// (`accept_all`, `reject_all`, `custom`: the first optional category on).
/// Returns the consent ids, in order.
async fn decide(port: u16, site: &str, origin: &str, methods: &[&str]) -> Result<Vec<String>> {
    let config = http_request(port, "GET", &format!("/api/v1/sites/{site}/config"), &[], None)
        .await?
        .json();
    let version = config["version"].as_str().context("no version")?.to_owned();
    let optional: Vec<String> = config["config"]["categories"]
        .as_array()
        .context("no categories")?
        .iter()
        .filter(|c| c["required"] != true)
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let mut ids = Vec::new();
    for method in methods {
        let chosen: serde_json::Map<String, Value> = optional
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let on = match *method {
                    "accept_all" => true,
                    "reject_all" => false,
                    _ => i == 0,
                };
                (id.clone(), Value::Bool(on))
            })
            .collect();
        let body = json!({"config_version": version, "method": method, "categories": chosen,
            "language": "nl", "page_path": "/winkel"});
        let path = format!("/api/v1/sites/{site}/decisions");
        let res = http_request(port, "POST", &path, &[("Origin", origin)], Some(&body)).await?;
        if res.status != 201 {
            bail!("decision {method}: {} {}", res.status, res.body);
        }
        ids.push(res.json()["consent_id"].as_str().context("no consent id")?.to_owned());
    }
    Ok(ids)
}

/// Serves one HTML page on a free loopback port, with the consent loader of
/// `site` on `consent` as its first script, as the install page tells an
/// owner to put it; the page's origin.
async fn shop_page(consent: &str, site: &str) -> Result<String> {
    let html = format!(
        "<!doctype html><html lang=\"nl\"><head><script src=\"{consent}/s/{site}/loader.js\" crossorigin></script>\
         <meta charset=\"utf-8\"><title>Winkel</title>\
         <script type=\"text/plain\" data-consent=\"marketing\" data-src=\"https://connect.facebook.net/en_US/fbevents.js\"></script>\
         </head><body><h1>Winkel</h1></body></html>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(html) }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", l.local_addr()?);
    tokio::spawn(async move { axum::serve(l, app).await });
    Ok(origin)
}

/// Standard base64 (RFC 4648 section 4, with padding), as the proof
/// bundle's records are written.
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).context("not base64")? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Journey 1: a new owner's first site, from "new site" to a published
/// configuration the public loader serves and an installation check.
#[tokio::test(flavor = "multi_thread")]
async fn onboarding_from_a_new_site_to_a_checked_installation() -> Result<()> {
    let _turn = exclusive().await;
    // "Check my installation" fetches a page on loopback: the operator's
    // setting for intranet sites lets it (the SSRF guard refuses otherwise).
    let server = server(&["--scan-allow-private-targets"])?;
    let base = server.base_url();
    let origin = shop_page(&base, "shop").await?;
    let chrome = browser("en-GB,en").await?;
    let page = log_in(&chrome, &server, "admin", &server.admin_password()).await?;
    titled(&page, "Sites").await?;

    // New site: id and domain.
    follow(&page, "New site").await?;
    titled(&page, "New site").await?;
    fill(&page, "#id", "shop").await?;
    fill(&page, "#domains", &origin).await?;
    press(&page, "main form", "Create the site").await?;

    // Lands on the catalogue: Google Analytics and Meta Pixel.
    wait_for(&page, "location.pathname === '/dashboard/sites/shop/services'", T).await?;
    titled(&page, "Choose services").await?;
    says(&page, &["The site has been created."]).await?;
    tick(&page, "#use_ga4", true).await?;
    tick(&page, "#use_meta-pixel", true).await?;
    press(&page, "main form[method=post]", "Save and go on").await?;
    titled(&page, "Install").await?;

    // The configuration page, as forms: both services are in the draft.
    follow(&page, "Back to the site").await?;
    follow(&page, "Edit configuration").await?;
    titled(&page, "Edit configuration").await?;
    says(&page, &["Google Analytics 4", "Meta Pixel", "not yet published"]).await?;

    // A Dutch text, with the dashboard in Dutch.
    set_lang(&page, "nl-NL,nl").await?;
    follow_sel(&page, "main a[href$='/config/texts/nl']").await?;
    let title = "Welkom in onze winkel: mogen wij meten?";
    fill(&page, "#texts-text_title", title).await?;
    press(&page, "form#texts", "").await?;
    says(&page, &["Opgeslagen als concept, nog niet gepubliceerd."]).await?;
    assert_eq!(
        value_of(&page, "#texts-text_title").await?,
        title,
        "the saved text is shown"
    );

    // A colour, in English.
    set_lang(&page, "en-GB,en").await?;
    follow_sel(&page, "main a[href$='/config']").await?;
    follow_sel(&page, "main a[href$='/config/theme']").await?;
    titled(&page, "Theme and behaviour").await?;
    fill(&page, "#settings-accent", "#8a1538").await?;
    press(&page, "form#settings", "Save").await?;
    says(&page, &["Saved as a draft, not yet published."]).await?;
    follow_sel(&page, "main a[href$='/config/theme']").await?;
    assert_eq!(
        value_of(&page, "#settings-accent").await?,
        "#8a1538",
        "the colour is kept"
    );

    // The preview: the draft's Dutch title in the sandboxed frame, then
    // English, then the preferences layer.
    follow_sel(&page, "#draft a[href$='/publish']").await?;
    open_link(&page, "main a[href$='/preview']").await?;
    titled(&page, "Preview").await?;
    let preview_url: String = eval(&page, "location.href").await?;
    let main_page = page;
    let page = chrome.page(&preview_url).await?;
    let sandbox: String = eval(
        &page,
        "document.querySelector('iframe#preview').getAttribute('sandbox')",
    )
    .await?;
    assert_eq!(
        sandbox, "allow-scripts",
        "the frame runs scripts in an origin of its own"
    );
    frame_waits_for(&page, &format!("document.body.innerText.includes({})", js(title))).await?;
    open_link(&page, "nav a[lang=en]").await?;
    frame_waits_for(
        &page,
        "window.keurmerk && keurmerk.lang === 'en' && document.querySelector('[data-km=accept]')",
    )
    .await?;
    let shows_dutch: bool = in_frame(&page, &format!("document.body.innerText.includes({})", js(title))).await?;
    assert!(!shows_dutch, "the English banner shows the Dutch title");
    open_link(&page, "nav a[href*='layer=preferences']").await?;
    frame_waits_for(
        &page,
        "document.querySelector('.km-dlg') && document.querySelector('.km-dlg').open",
    )
    .await?;

    page.close().await?;
    let page = main_page;

    // Publishing: the changes and "asked again: yes".
    follow(&page, "Versions").await?;
    follow(&page, "Publish").await?;
    titled(&page, "Publish").await?;
    says(
        &page,
        &[
            "Visitors who already decided will be asked again: yes",
            "Google Analytics 4",
            "Meta Pixel",
            title,
            "#8a1538",
        ],
    )
    .await?;
    press(&page, "main", "Publish this draft").await?;
    titled(&page, "Published").await?;
    says(&page, &["Asked again", "yes", "/s/shop/loader.js"]).await?;
    let version: String = eval(&page, "document.querySelector('#new-version').textContent").await?;

    // The install page: the snippet and the CSP lines.
    follow(&page, "Back to the site").await?;
    follow(&page, "Install and check").await?;
    titled(&page, "Install").await?;
    says(
        &page,
        &[
            &format!("<script src=\"{base}/s/shop/loader.js\" crossorigin></script>"),
            "script-src 'nonce-…' 'strict-dynamic' 'wasm-unsafe-eval'",
            &format!("connect-src 'self' {base}"),
        ],
    )
    .await?;

    // The public loader serves the new version.
    let loader = http_request(server.port(), "GET", "/s/shop/loader.js", &[], None).await?;
    assert_eq!(loader.status, 200);
    assert!(loader.body.contains(&version), "the loader does not serve {version}");

    // Check my installation, against the page on loopback.
    fill(&page, "#url", &format!("{origin}/")).await?;
    press(&page, "main form", "Check").await?;
    says(
        &page,
        &[
            "The loader is the page's first script.",
            "The loader loads synchronously.",
        ],
    )
    .await?;
    chrome.close().await;
    Ok(())
}

/// Journey 2: the configuration as forms — a category, a service with a
/// cookie, a field error that keeps what was typed, removing a category in
/// one step, discarding the draft — and the versions: list, view, restore.
#[tokio::test(flavor = "multi_thread")]
async fn the_configuration_as_forms_and_its_versions() -> Result<()> {
    let _turn = exclusive().await;
    let server = server(&[])?;
    let admin = AdminSession::login(server.port(), &server.admin_password()).await?;
    admin
        .site_with_key("shop", "https://shop.example", &["decisions:read"])
        .await?;
    let chrome = browser("en-GB,en").await?;
    let page = log_in(&chrome, &server, "admin", &server.admin_password()).await?;
    follow(&page, "shop").await?;
    follow(&page, "Edit configuration").await?;
    titled(&page, "Edit configuration").await?;

    // A category.
    follow(&page, "Add a category").await?;
    fill(&page, "#category-id", "social").await?;
    fill(&page, "#category-title_nl", "Sociale media").await?;
    fill(&page, "#category-title_en", "Social media").await?;
    fill(&page, "#category-description_en", "Share buttons and embedded posts.").await?;
    press(&page, "form#category", "Add").await?;
    says(&page, &["Saved as a draft, not yet published."]).await?;
    goto(&page, &format!("{}/dashboard/sites/shop/config", server.base_url())).await?;
    says(&page, &["Sociale media / Social media"]).await?;

    // A service, first with an id the server refuses: the error beside the
    // field, everything typed still there.
    follow(&page, "Add a service").await?;
    fill(&page, "#service-id", "Chat Widget!").await?;
    fill(&page, "#service-name", "Chat widget").await?;
    fill(&page, "#service-provider", "Chatty B.V.").await?;
    fill(&page, "#service-category", "social").await?;
    fill(&page, "#service-hosts", "chat.example").await?;
    fill(&page, "#service-description_nl", "Een chatvenster voor vragen.").await?;
    press(&page, "form#service", "Add").await?;
    let error: Value = eval(
        &page,
        "(() => { const f = document.querySelector('#service-id').closest('.field');
                  return [f.classList.contains('invalid'), document.querySelector('#service-id').getAttribute('aria-invalid'),
                          (f.querySelector('.error') || {textContent: ''}).textContent.trim()]; })()",
    )
    .await?;
    assert_eq!(error[0], true, "the id's field is marked: {error}");
    assert_eq!(error[1], "true", "the id's field is invalid: {error}");
    assert!(
        !error[2].as_str().unwrap_or("").is_empty(),
        "an error beside the id: {error}"
    );
    for (field, typed) in [
        ("#service-id", "Chat Widget!"),
        ("#service-name", "Chat widget"),
        ("#service-provider", "Chatty B.V."),
        ("#service-category", "social"),
        ("#service-hosts", "chat.example"),
        ("#service-description_nl", "Een chatvenster voor vragen."),
    ] {
        assert_eq!(value_of(&page, field).await?, typed, "{field} keeps what was typed");
    }
    fill(&page, "#service-id", "chat").await?;
    press(&page, "form#service", "Add").await?;
    says(&page, &["Saved as a draft, not yet published."]).await?;

    // Its cookie.
    goto(
        &page,
        &format!("{}/dashboard/sites/shop/config/services/chat", server.base_url()),
    )
    .await?;
    fill(&page, "#cookie-new-name", "chat_session").await?;
    fill(&page, "#cookie-new-purpose", "Keeps the chat open across pages.").await?;
    fill(&page, "#cookie-new-retention", "1 day").await?;
    fill(&page, "#cookie-new-retention_days", "1").await?;
    fill(&page, "#cookie-new-country", "NL").await?;
    press(&page, "form#cookie-new", "Add").await?;
    says(&page, &["Saved as a draft, not yet published."]).await?;
    assert!(
        main_text(&page).await?.contains("chat_session") || value_of(&page, "input[value=chat_session]").await.is_ok(),
        "the cookie is listed"
    );

    // Published as the site's second version.
    goto(&page, &format!("{}/dashboard/sites/shop/publish", server.base_url())).await?;
    says(&page, &["chat", "chat_session", "Social media"]).await?;
    press(&page, "main", "Publish this draft").await?;
    titled(&page, "Published").await?;

    // Removing the preferences category: one button.
    goto(&page, &format!("{}/dashboard/sites/shop/config", server.base_url())).await?;
    press(&page, "#category-preferences", "Remove").await?;
    let gone: bool = eval(&page, "document.querySelector('#category-preferences') === null").await?;
    assert!(gone, "preferences is still listed: {}", main_text(&page).await?);
    says(&page, &["not yet published"]).await?;

    // Discarding the draft: preferences is back, the draft notice gone.
    goto(&page, &format!("{}/dashboard/sites/shop/config", server.base_url())).await?;
    press(&page, "#draft", "Discard draft").await?;
    let back: bool = eval(
        &page,
        "document.querySelector('#category-preferences') !== null && document.querySelector('#draft') === null",
    )
    .await?;
    assert!(back, "the draft was not discarded: {}", main_text(&page).await?);

    // The versions, in Dutch: two, the current one marked; view the first
    // (the starter) and restore it as the draft.
    set_lang(&page, "nl-NL,nl").await?;
    goto(&page, &format!("{}/dashboard/sites/shop/versions", server.base_url())).await?;
    titled(&page, "Versies").await?;
    let rows: usize = eval(&page, "document.querySelectorAll('main tbody tr').length").await?;
    assert_eq!(rows, 2, "two versions: {}", main_text(&page).await?);
    says(&page, &["(huidig)"]).await?;
    set_lang(&page, "en-GB,en").await?;
    follow_sel(&page, "main tbody tr:not(.current) a").await?;
    says(&page, &["Changes"]).await?;
    press(&page, "main", "Restore as draft").await?;
    wait_for(&page, "location.pathname.endsWith('/publish')", T).await?;
    titled(&page, "Publish").await?;
    says(&page, &["Chat widget", "chat_session", "removed"]).await?;
    chrome.close().await;
    Ok(())
}

/// Journey 3: analytics — decisions counted, the period changed by the
/// form, charts and tables with the counts, the CSV download.
#[tokio::test(flavor = "multi_thread")]
async fn analytics_show_the_decisions_by_period_with_csv() -> Result<()> {
    let _turn = exclusive().await;
    let server = server(&[])?;
    let admin = AdminSession::login(server.port(), &server.admin_password()).await?;
    let origin = "https://shop.example";
    admin.site_with_key("shop", origin, &["decisions:read"]).await?;
    decide(
        server.port(),
        "shop",
        origin,
        &["accept_all", "accept_all", "reject_all", "custom"],
    )
    .await?;

    let chrome = browser("nl-NL,nl").await?;
    let page = log_in(&chrome, &server, "admin", &server.admin_password()).await?;
    follow(&page, "shop").await?;
    follow_sel(&page, "main a[href$='/analytics']").await?;
    titled(&page, "Analyse").await?;
    says(&page, &["Keuzes: 4"]).await?;

    // English from here; the 7-day period by its button.
    set_lang(&page, "en-GB,en").await?;
    activate(
        &page,
        "document.querySelector('main button[name=days][value=\"7\"]')",
        "the 7-day button",
    )
    .await?;
    wait_for(&page, "location.search === '?days=7'", T).await?;
    titled(&page, "Analytics").await?;
    says(&page, &["Decisions: 4", "Decisions per day", "How visitors decided"]).await?;
    let charts: usize = eval(&page, "document.querySelectorAll('main svg.chart').length").await?;
    assert!(charts >= 2, "charts: {charts}");
    let bars: usize = eval(
        &page,
        "document.querySelector('main svg.chart').querySelectorAll('rect, path').length",
    )
    .await?;
    assert!(bars > 0, "the day chart draws the day's decisions");
    // Today's row: 4 decisions, 2 accept all, 1 reject all, 1 custom.
    let today: Vec<String> = eval(
        &page,
        "[...document.querySelectorAll('#days-h ~ .pair tbody tr, #days-h ~ .pair table tr')].map(r => r.innerText.trim()).filter(t => /\\t4\\t/.test(t + '\\t'))",
    )
    .await?;
    assert!(
        today
            .iter()
            .any(|r| r.split_whitespace().skip(1).collect::<Vec<_>>() == ["4", "2", "1", "1", "0"]),
        "today's row: {today:?}"
    );
    let methods = main_text(&page).await?;
    assert!(methods.contains("Accept all"), "{methods}");

    // A custom period (today only) through the other form.
    let day: String = eval(&page, "new Date().toISOString().slice(0, 10)").await?;
    fill(&page, "#from", &day).await?;
    fill(&page, "#to", &day).await?;
    press(&page, "main .periods form:nth-of-type(2)", "Show").await?;
    says(&page, &[&format!("Period: {day} – {day}"), "Decisions: 4"]).await?;

    // The CSV of the days, with the page's session.
    let href: String = eval(&page, "document.querySelector('main a[href*=\"days.csv\"]').href").await?;
    let (status, kind, body) = download(&page, &href).await?;
    assert_eq!(status, 200, "{href}: {body}");
    assert!(kind.starts_with("text/csv"), "{href}: {kind}");
    assert!(
        body.lines().any(|l| l.starts_with(&day) && l.contains(",4,")),
        "{href}: no row for {day} with 4: {body}"
    );
    chrome.close().await;
    Ok(())
}

/// Journey 4: proof — a consent id's decisions, its proof bundle, checked
/// offline by `keurmerk-verify` with the key the page shows.
#[tokio::test(flavor = "multi_thread")]
async fn proof_of_a_consent_id_verifies_offline() -> Result<()> {
    let _turn = exclusive().await;
    let server = server(&[])?;
    let admin = AdminSession::login(server.port(), &server.admin_password()).await?;
    let origin = "https://shop.example";
    admin.site_with_key("shop", origin, &["decisions:read"]).await?;
    let ids = decide(server.port(), "shop", origin, &["reject_all"]).await?;
    let id = &ids[0];

    let chrome = browser("en-GB,en").await?;
    let page = log_in(&chrome, &server, "admin", &server.admin_password()).await?;
    follow(&page, "shop").await?;
    follow(&page, "Proof of consent").await?;
    titled(&page, "Proof of consent").await?;
    fill(&page, "#consent_id", id).await?;
    press(&page, "main form", "Look up").await?;
    wait_for(&page, "document.querySelector('#history-caption') !== null", T).await?;
    says(&page, &[id, "Reject all"]).await?;

    // In Dutch, the same page: its heading and the verifier's command.
    set_lang(&page, "nl-NL,nl").await?;
    goto(&page, &eval::<String>(&page, "location.href").await?).await?;
    says(&page, &["keurmerk-verify proof --key"]).await?;
    let shown = main_text(&page).await?;
    let key = shown
        .split("keurmerk-verify proof --key '")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .context("no verifier key on the page")?
        .to_owned();

    // The bundle link, fetched with the page's session once the log has a
    // checkpoint covering the decision.
    let href: String = eval(&page, "document.querySelector('main a[download]').href").await?;
    let start = Instant::now();
    let bundle = loop {
        let (status, _, body) = download(&page, &href).await?;
        if status == 200 && body.contains("tlog-proof") {
            break body;
        }
        if start.elapsed() > T {
            bail!("{href}: {status} {body}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The bundle's shape: one entry per decision, the signed record and
    // its inclusion proof (c2sp.org/tlog-proof) up to a checkpoint.
    let parsed: Value = serde_json::from_str(&bundle).context("the bundle is JSON")?;
    let entries = parsed.as_array().context("the bundle is a list")?;
    assert_eq!(entries.len(), 1, "one decision: {parsed}");
    let proof = entries[0]["proof"].as_str().unwrap_or("");
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n"), "{proof}");
    let record: Value = serde_json::from_slice(&base64_decode(entries[0]["record"].as_str().unwrap_or(""))?)?;
    assert_eq!(record["consent_id"], id.as_str(), "{record}");
    assert_eq!(record["method"], "reject_all", "{record}");

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("keurmerk-proof.json");
    std::fs::write(&file, &bundle)?;
    let out = std::process::Command::new(verify_bin()?)
        .args(["proof", "--key", &key, "--bundle"])
        .arg(&file)
        .output()?;
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "keurmerk-verify: {said}");
    assert!(said.contains("valid"), "keurmerk-verify: {said}");
    chrome.close().await;
    Ok(())
}

/// Journey 5: records — the register of processing (an error, then the
/// owner's details, the exports), visitors' requests (access: deadline,
/// export, close; erasure: confirm, erase, close) and the audit trail.
#[tokio::test(flavor = "multi_thread")]
async fn register_requests_and_the_audit_trail() -> Result<()> {
    let _turn = exclusive().await;
    let server = server(&[])?;
    let admin = AdminSession::login(server.port(), &server.admin_password()).await?;
    let origin = "https://shop.example";
    admin.site_with_key("shop", origin, &["decisions:read"]).await?;
    let ids = decide(server.port(), "shop", origin, &["accept_all", "custom"]).await?;

    let chrome = browser("en-GB,en").await?;
    let page = log_in(&chrome, &server, "admin", &server.admin_password()).await?;
    follow(&page, "shop").await?;
    follow(&page, "Register of processing").await?;
    titled(&page, "Register of processing").await?;
    says(&page, &["The controller's name is missing"]).await?;

    // A telephone number the server refuses: the error beside it, the rest kept.
    fill(&page, "#f-controller", "Winkel B.V.").await?;
    fill(&page, "#f-email", "privacy@winkel.example").await?;
    fill(&page, "#f-phone", "12345").await?;
    press(&page, "main form[method=post]", "Save").await?;
    says(&page, &["Not a telephone number"]).await?;
    assert_eq!(value_of(&page, "#f-controller").await?, "Winkel B.V.");
    assert_eq!(value_of(&page, "#f-email").await?, "privacy@winkel.example");
    let invalid: Option<String> =
        eval(&page, "document.querySelector('#f-phone').getAttribute('aria-invalid')").await?;
    assert_eq!(invalid.as_deref(), Some("true"), "the phone field is marked invalid");
    fill(&page, "#f-phone", "+31 20 123 4567").await?;
    press(&page, "main form[method=post]", "Save").await?;
    titled(&page, "Register of processing").await?;
    let text = main_text(&page).await?;
    assert!(!text.contains("The controller's name is missing"), "{text}");
    says(&page, &["Winkel B.V.", "privacy@winkel.example"]).await?;

    // The exports.
    for (link, kind, has) in [
        ("CSV", "text/csv", "Winkel B.V."),
        ("JSON", "application/json", "Winkel B.V."),
        ("Printable HTML", "text/html", "Winkel B.V."),
    ] {
        let href: String = eval(
            &page,
            &format!(
                "[...document.querySelectorAll('main a')].find(a => a.textContent.trim() === {}).href",
                js(link)
            ),
        )
        .await?;
        let (status, got, body) = download(&page, &href).await?;
        assert_eq!(status, 200, "{href}");
        assert!(got.starts_with(kind), "{href}: {got}");
        assert!(body.contains(has), "{href}: {body}");
    }

    // An access request, in Dutch: registered, with its deadline.
    set_lang(&page, "nl-NL,nl").await?;
    goto(&page, &format!("{}/dashboard/sites/shop", server.base_url())).await?;
    follow_sel(&page, "main a[href$='/requests']").await?;
    tick(&page, "input[name=kind][value=access]", true).await?;
    fill(&page, "#consent_id", &ids[0]).await?;
    fill(&page, "#note", "Per post ontvangen.").await?;
    press(&page, "main form[method=post]", "Registreren").await?;
    wait_for(&page, "/\\/requests\\/[^/]+$/.test(location.pathname)", T).await?;
    says(&page, &["Uiterste datum", "dagen over", "Keuzes vastgelegd: 1"]).await?;

    // Its export (JSON), in English from here on.
    set_lang(&page, "en-GB,en").await?;
    goto(&page, &eval::<String>(&page, "location.href").await?).await?;
    let (status, kind, body) = download_form(&page, "main form:has(input[name=format][value=json])").await?;
    assert_eq!(status, 200, "{body}");
    assert!(kind.starts_with("application/json"), "{kind}");
    assert!(body.contains(&ids[0]) && body.contains("accept_all"), "{body}");

    // Closed as answered.
    tick(&page, "input[name=outcome][value=answered]", true).await?;
    press(&page, "main form[action$='/close']", "Close").await?;
    says(&page, &["Answered"]).await?;

    // An erasure request: confirm, erase, close.
    follow(&page, "All requests").await?;
    tick(&page, "input[name=kind][value=erasure]", true).await?;
    fill(&page, "#consent_id", &ids[1]).await?;
    press(&page, "main form[method=post]", "Register").await?;
    wait_for(&page, "/\\/requests\\/[^/]+$/.test(location.pathname)", T).await?;
    follow(&page, "Erase").await?;
    says(&page, &["Are you sure? Erasure cannot be undone."]).await?;
    press(&page, "main", "Yes, erase for good").await?;
    says(&page, &["Erased: the key is destroyed."]).await?;
    tick(&page, "input[name=outcome][value=erased]", true).await?;
    press(&page, "main form[action$='/close']", "Close").await?;
    says(&page, &["Erased"]).await?;

    // The audit trail lists every step.
    goto(&page, &format!("{}/dashboard/sites/shop", server.base_url())).await?;
    follow(&page, "Audit trail").await?;
    titled(&page, "Audit trail").await?;
    says(
        &page,
        &[
            "Register of processing updated",
            "Visitor's request registered",
            "Records exported for a request",
            "Records erased for a request",
            "Visitor's request closed",
        ],
    )
    .await?;
    chrome.close().await;
    Ok(())
}

/// Journey 6: people and keys — an invited marketer changes the one-time
/// password, sees only the site they were invited to and cannot publish;
/// an API key created and revoked; the audit trail has both.
#[tokio::test(flavor = "multi_thread")]
async fn people_and_keys() -> Result<()> {
    let _turn = exclusive().await;
    let server = server(&[])?;
    let admin = AdminSession::login(server.port(), &server.admin_password()).await?;
    admin
        .site_with_key("shop", "https://shop.example", &["decisions:read"])
        .await?;
    admin
        .site_with_key("blog", "https://blog.example", &["decisions:read"])
        .await?;
    let base = server.base_url();

    let chrome = browser("en-GB,en").await?;
    let page = log_in(&chrome, &server, "admin", &server.admin_password()).await?;

    // The admin invites a marketer for the shop.
    follow_sel(&page, "header a[href$='/people']").await?;
    titled(&page, "People and accounts").await?;
    fill(&page, "#username", "mia").await?;
    fill(&page, "#site", "shop").await?;
    fill(&page, "#role", "marketer").await?;
    press(&page, "main form[action$='/people']", "Create the account").await?;
    says(&page, &["One-time password for mia"]).await?;
    let otp: String = eval(&page, "document.querySelector('#otp').textContent.trim()").await?;
    assert!(otp.len() >= 12, "a one-time password: {otp:?}");

    // Log out; the marketer logs in (in Dutch) and must choose a password.
    press(&page, "header", "Log out").await?;
    wait_for(&page, "location.pathname === '/dashboard/login'", T).await?;
    set_lang(&page, "nl-NL,nl").await?;
    goto(&page, &format!("{base}/dashboard/login")).await?;
    log_in_on(&page, "mia", &otp).await?;
    wait_for(&page, "location.pathname === '/dashboard/password'", T).await?;
    says(&page, &["Kies eerst een eigen wachtwoord."]).await?;
    goto(&page, &format!("{base}/dashboard/sites/shop")).await?;
    wait_for(&page, "location.pathname === '/dashboard/password'", T).await?;
    let own = "een zin van een paar woorden voor mia";
    fill(&page, "#new", own).await?;
    fill(&page, "#repeat", own).await?;
    press(&page, "main form", "Wachtwoord opslaan").await?;
    says(&page, &["Uw wachtwoord is gewijzigd."]).await?;

    // Only the shop, in English from here.
    set_lang(&page, "en-GB,en").await?;
    goto(&page, &format!("{base}/dashboard/")).await?;
    titled(&page, "Sites").await?;
    let sites: Vec<String> = eval(
        &page,
        "[...document.querySelectorAll('main li a')].map(a => a.textContent.trim())",
    )
    .await?;
    assert_eq!(sites, ["shop"], "the marketer's sites");
    goto(&page, &format!("{base}/dashboard/sites/blog")).await?;
    says(&page, &["Not found."]).await?;
    assert_eq!(answered(&page).await?, 404, "another site is not found, not forbidden");

    // The marketer edits the draft but cannot publish it.
    goto(&page, &format!("{base}/dashboard/sites/shop/config/theme")).await?;
    fill(&page, "#settings-accent", "#005a9c").await?;
    press(&page, "form#settings", "Save").await?;
    says(&page, &["Saved as a draft, not yet published."]).await?;
    goto(&page, &format!("{base}/dashboard/sites/shop/publish")).await?;
    let can_press: bool = eval(
        &page,
        "[...document.querySelectorAll('main button')].some(b => b.textContent.trim() === 'Publish this draft')",
    )
    .await?;
    if can_press {
        press(&page, "main", "Publish this draft").await?;
    }
    says(&page, &["Your role on this site does not allow this."]).await?;
    assert_eq!(answered(&page).await?, 403, "the marketer is refused publishing");
    let published = http_request(server.port(), "GET", "/api/v1/sites/shop/config", &[], None).await?;
    assert!(!published.body.contains("005a9c"), "the marketer's draft was published");
    press(&page, "header", "Log out").await?;
    wait_for(&page, "location.pathname === '/dashboard/login'", T).await?;

    // The admin: an API key with one scope, listed, revoked.
    log_in_on(&page, "admin", &server.admin_password()).await?;
    follow(&page, "shop").await?;
    follow(&page, "API keys").await?;
    titled(&page, "API keys").await?;
    fill(&page, "#name", "ci uploads").await?;
    tick(&page, "#scope_scans_write", true).await?;
    press(&page, "main form[method=post]", "Create the key").await?;
    says(&page, &["Key created:", "Copy the key now"]).await?;
    let secret = value_of(&page, "#secret").await?;
    assert!(secret.len() > 20, "the key is shown once: {secret:?}");
    let row: String = eval(
        &page,
        "[...document.querySelectorAll('main tr')].map(r => r.innerText).find(t => t.includes('ci uploads')) || ''",
    )
    .await?;
    assert!(row.contains("scans:write"), "the key is listed with its scope: {row:?}");
    let res = e2e::post_with_key(server.port(), "/api/v1/sites/shop/scans", &secret, &json!({})).await?;
    assert_ne!(res.status, 401, "the new key works: {}", res.body);
    activate(
        &page,
        "[...document.querySelectorAll('main tr')].find(r => r.innerText.includes('ci uploads')).querySelector('button')",
        "the key's Revoke button",
    )
    .await?;
    let row: String = eval(
        &page,
        "[...document.querySelectorAll('main tr')].map(r => r.innerText).find(t => t.includes('ci uploads')) || ''",
    )
    .await?;
    assert!(!row.contains("Revoke"), "the key can still be revoked: {row:?}");
    let res = e2e::post_with_key(server.port(), "/api/v1/sites/shop/scans", &secret, &json!({})).await?;
    assert_eq!(res.status, 401, "the revoked key still works: {}", res.body);

    // The audit trail: the member and the key.
    follow(&page, "Back to the site").await?;
    follow(&page, "Audit trail").await?;
    says(&page, &["Member added", "mia", "API key created", "API key revoked"]).await?;
    chrome.close().await;
    Ok(())
}
