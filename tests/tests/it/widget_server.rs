//! The widget against the real `consent-server` binary, once on embedded
//! SQLite and once on a real Redis: a site on one loopback origin embeds the
//! loader from the consent server on another, the owner allows that origin
//! through the owner API, and a visitor accepts, gets a proof, later
//! changes their mind under the same consent id, and downloads proof bundles
//! that verify against the log's key.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use consent_core::note::NoteVerifier;
use consent_core::tlog_proof::ProofBundle;
use e2e::browser::{Chromium, Launch, click, eval, exclusive, goto, open_dialog, wait_for};
use e2e::widget_site::{build_widget, consent_server_bin, repo_root};
use e2e::{RedisServer, ServerProcess};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(15);

/// The site's page: the one line an owner pastes, from the consent server.
async fn site_server(consent_base: String) -> Result<String> {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head>\
         <script src=\"{consent_base}/s/demo/loader.js\"></script>\
         <meta charset=\"utf-8\"><title>Shop</title></head>\
         <body><h1>A shop on its own origin</h1><p><a href=\"#\" data-consent-open>Cookie settings</a></p></body></html>"
    );
    let app = Router::new().route("/", get(move || async move { Html(page) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(origin)
}

fn start_server(storage: &[&str]) -> Result<ServerProcess> {
    build_widget()?;
    let bin = consent_server_bin()?;
    let root = repo_root();
    let widget = root.join("consent-widget/dist");
    let demo = root.join("consent-widget/demo");
    let mut args = vec!["--client-rate", "0", "--site-rate", "0"];
    args.extend_from_slice(storage);
    args.extend(["--widget-dir", widget.to_str().context("path")?]);
    args.extend(["--demo-dir", demo.to_str().context("path")?]);
    ServerProcess::start(Path::new(&bin), &args)
}

/// An admin session on the server: (client with the session cookie, CSRF token).
async fn admin(server: &ServerProcess) -> Result<(reqwest::Client, String)> {
    let out = server.stdout();
    let password = out
        .split("Password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("no admin password in {out:?}"))?
        .to_owned();
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let res = client
        .post(format!("{}/api/v1/auth/login", server.base_url()))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await?;
    if res.status() != 200 {
        bail!("login: {}", res.status());
    }
    let body: Value = res.json().await?;
    Ok((client, body["csrf"].as_str().context("csrf")?.to_owned()))
}

/// The widget-facing routes answer CORS for a site on another origin: the
/// module script, wasm and texts (`*`: public, fetched in CORS mode), the
/// public config, and decisions only from the site's allowed origins.
async fn check_cors(base: &str, site_origin: &str, asset_version: &str) -> Result<()> {
    let http = reqwest::Client::new();
    for path in [
        format!("/widget/widget.js?v={asset_version}"),
        format!("/widget/widget_bg.wasm?v={asset_version}"),
        format!("/widget/i18n/en.json?v={asset_version}"),
        "/api/v1/sites/demo/config".to_owned(),
        "/s/demo/loader.js".to_owned(),
    ] {
        let res = http
            .get(format!("{base}{path}"))
            .header("Origin", site_origin)
            .send()
            .await?;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            res.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("*"),
            "{path}"
        );
    }
    let preflight = |origin: &str| {
        http.request(reqwest::Method::OPTIONS, format!("{base}/api/v1/sites/demo/decisions"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let res = preflight(site_origin).await?;
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some(site_origin),
        "decisions preflight from the allowed origin"
    );
    let res = preflight("http://127.0.0.1:1").await?;
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "no CORS grant for an origin the owner did not allow"
    );
    Ok(())
}

/// Decisions the server holds for `consent_id`, via the owner API.
async fn decisions(admin: &reqwest::Client, base: &str, consent_id: &str) -> Result<Vec<Value>> {
    let page: Value = admin
        .get(format!(
            "{base}/api/v1/owner/sites/demo/decisions?consent_id={consent_id}"
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(page["decisions"].as_array().cloned().unwrap_or_default())
}

/// What the widget keeps in the site's localStorage (id, secret, receipt).
async fn stored(page: &chromiumoxide::Page) -> Result<Value> {
    eval(page, "JSON.parse(localStorage.getItem('keurmerk:demo') || 'null')").await
}

async fn visit_accept_and_return(server: &ServerProcess) -> Result<()> {
    let base = server.base_url();
    let site = site_server(base.clone()).await?;
    let (owner, csrf) = admin(server).await?;

    // The owner allows the shop's origin (keeping the demo's own).
    let view: Value = owner
        .get(format!("{base}/api/v1/owner/sites/demo"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut origins: Vec<Value> = view["allowed_origins"].as_array().cloned().unwrap_or_default();
    origins.push(json!(site));
    owner
        .put(format!("{base}/api/v1/owner/sites/demo/origins"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({ "allowed_origins": origins }))
        .send()
        .await?
        .error_for_status()?;
    let config: Value = reqwest::get(format!("{base}/api/v1/sites/demo/config"))
        .await?
        .json()
        .await?;
    let version = config["version"].as_str().context("version")?.to_owned();
    let loader = reqwest::get(format!("{base}/s/demo/loader.js")).await?.text().await?;
    // Browsers that take brotli get the same loader and configuration
    // brotli-compressed.
    let raw_client = reqwest::Client::builder().no_brotli().no_gzip().no_deflate().build()?;
    for (path, plain_body) in [
        ("/s/demo/loader.js", loader.clone()),
        ("/api/v1/sites/demo/config", config.to_string()),
    ] {
        let raw = raw_client
            .get(format!("{base}{path}"))
            .header("accept-encoding", "gzip, deflate, br, zstd")
            .send()
            .await?
            .error_for_status()?;
        assert_eq!(
            raw.headers().get("content-encoding").map(|v| v.as_bytes()),
            Some(&b"br"[..]),
            "{path}"
        );
        let compressed = raw.bytes().await?;
        let mut plain = Vec::new();
        brotli::BrotliDecompress(&mut &compressed[..], &mut plain)?;
        if path.ends_with(".js") {
            assert_eq!(String::from_utf8(plain)?, plain_body);
        } else {
            assert_eq!(serde_json::from_slice::<Value>(&plain)?, config);
        }
        assert!(
            compressed.len() * 2 < plain_body.len(),
            "{path}: {} bytes brotli of {}",
            compressed.len(),
            plain_body.len()
        );
    }
    let asset_version = loader
        .split("?v=")
        .nth(1)
        .and_then(|r| r.split('"').nth(1))
        .context("asset version in the loader")?
        .to_owned();
    check_cors(&base, &site, &asset_version).await?;

    let chrome = Chromium::launch(Launch::default()).await?;
    let page = chrome.page(&format!("{site}/")).await?;
    wait_for(&page, "document.querySelector('.km-banner')", T).await?;
    click(&page, "[data-km=accept]").await?;
    wait_for(
        &page,
        "(JSON.parse(localStorage.getItem('keurmerk:demo') || '{}').receipt || {}).consent_id",
        T,
    )
    .await?;
    let me = stored(&page).await?;
    let id = me["id"].as_str().context("consent id")?.to_owned();
    let secret = me["secret"].as_str().context("secret")?.to_owned();
    assert_eq!(
        me["receipt"]["consent_id"],
        id.as_str(),
        "the server's receipt is kept: {me}"
    );
    let receipt: Value = eval(&page, "keurmerk.receipt()").await?;
    assert_eq!(receipt["consent_id"], id.as_str());

    let held = decisions(&owner, &base, &id).await?;
    assert_eq!(held.len(), 1, "{held:?}");
    let rec = &held[0]["record"];
    assert_eq!(rec["method"], "accept_all");
    assert_eq!(rec["config_version"], version.as_str());
    for cat in ["preferences", "analytics", "marketing"] {
        assert_eq!(rec["categories"][cat], true, "{cat}: {rec}");
    }
    assert_eq!(held[0]["index"], me["receipt"]["index"]);

    // The visitor's own proof, fetched from the site's page (CORS with the
    // secret header), once the next checkpoint (every second) covers it.
    let js = format!(
        "(async () => {{
           for (let i = 0; i < 100; i++) {{
             const r = await fetch({base:?} + '/api/v1/sites/demo/visitors/{id}/proofs', {{headers: {{'x-keurmerk-secret': {secret:?}}}}});
             if (!r.ok) return {{status: r.status}};
             const b = await r.json();
             if (b.length) return b;
             await new Promise(f => setTimeout(f, 100));
           }}
           return null;
         }})()"
    );
    let bundles: Value = eval(&page, &js).await?;
    let bundles = bundles.as_array().with_context(|| format!("proofs: {bundles}"))?;
    assert_eq!(bundles.len(), 1);
    let proof = bundles[0]["proof"].as_str().context("proof text")?;
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1"), "{proof}");
    assert!(bundles[0]["record"].is_string(), "{}", bundles[0]);

    // A return visit: no banner, the decision stands; the visitor withdraws
    // marketing, which the server records under the same consent id.
    goto(&page, &format!("{site}/")).await?;
    wait_for(&page, "document.querySelector('.km-reopen')", T).await?;
    let banner: bool = eval(&page, "!!document.querySelector('.km-banner')").await?;
    assert!(!banner, "no banner on a return visit");
    open_dialog(&page, ".km-reopen", T).await?;
    click(&page, "#km-c-marketing").await?;
    click(&page, ".km-dlg [data-km=save]").await?;
    let first_index = me["receipt"]["index"].as_u64().context("index")?;
    wait_for(&page, &format!("(keurmerk.receipt() || {{}}).index > {first_index}"), T).await?;
    let after = stored(&page).await?;
    assert_eq!(after["id"], id.as_str(), "same consent id");
    let held = decisions(&owner, &base, &id).await?;
    assert_eq!(held.len(), 2, "{held:?}");
    let rec = &held[1]["record"];
    assert_eq!(rec["consent_id"], id.as_str());
    assert_eq!(rec["method"], "withdrawal");
    assert_eq!(rec["categories"]["marketing"], false);
    assert_eq!(rec["categories"]["analytics"], true);

    // The proof the visitor downloads from the dialog is the server's
    // standard bundle array, which verifies against the log's key.
    open_dialog(&page, ".km-reopen", T).await?;
    let _: bool = eval(
        &page,
        "(() => { const o = URL.createObjectURL; URL.createObjectURL = b => (window.__blob = b, o(b)); \
         const c = HTMLAnchorElement.prototype.click; HTMLAnchorElement.prototype.click = function () { window.__name = this.download; return c.call(this); }; return true; })()",
    )
    .await?;
    click(&page, ".km-dlg [data-km=receipt]").await?;
    wait_for(&page, "window.__blob && window.__name", T).await?;
    let name: String = eval(&page, "window.__name").await?;
    assert_eq!(name, "keurmerk-proof.json");
    let downloaded: Value = eval(&page, "window.__blob.text().then(JSON.parse)").await?;
    let downloaded = downloaded
        .as_array()
        .with_context(|| format!("bundles: {downloaded}"))?;
    assert!(!downloaded.is_empty());
    let vkey = reqwest::get(format!("{base}/.well-known/keurmerk-log-key"))
        .await?
        .text()
        .await?;
    let verifier = NoteVerifier::parse(vkey.trim())?;
    for b in downloaded {
        let bundle = ProofBundle::parse(&serde_json::to_vec(b)?)?;
        bundle.verify(&verifier)?;
        let record: Value = serde_json::from_slice(&bundle.record_bytes()?)?;
        assert_eq!(record["consent_id"], id.as_str(), "{record}");
    }
    chrome.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn real_server_with_embedded_storage() -> Result<()> {
    let _turn = exclusive().await;
    let data = tempfile::tempdir()?;
    let server = start_server(&["--data-dir", data.path().to_str().context("path")?])?;
    visit_accept_and_return(&server).await
}

#[tokio::test(flavor = "multi_thread")]
async fn real_server_with_redis() -> Result<()> {
    let _turn = exclusive().await;
    let redis = RedisServer::start()?;
    let url = redis.url();
    let server = start_server(&["--redis", &url])?;
    visit_accept_and_return(&server).await
}
