//! The demo shop loads a tag manager and the Meta pixel once a visitor
//! accepts. Its scripts must not be able to act on an admin's session: the
//! demo lives on an origin of its own (`--demo-listen`) that serves none of
//! the admin routes, and no cookie holds the CSRF token. An admin logged in
//! in the same browser accepts on the demo; script on the demo page then
//! tries every way to create an API key, and none works.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use e2e::ServerProcess;
use e2e::browser::{Chromium, Launch, click, eval, exclusive, goto, wait_for};
use e2e::widget_site::{build_widget, consent_server_bin, repo_root};
use serde_json::Value;

const T: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_scripts_cannot_act_on_an_admin_session() -> Result<()> {
    let _turn = exclusive().await;
    build_widget()?;
    let bin = consent_server_bin()?;
    let root = repo_root();
    let demo_port = e2e::free_port();
    let demo_listen = format!("127.0.0.1:{demo_port}");
    let widget = root.join("consent-widget/dist");
    let demo_dir = root.join("consent-widget/demo");
    let server = ServerProcess::start_fresh(
        Path::new(&bin),
        &[
            "--widget-dir",
            widget.to_str().context("path")?,
            "--demo-dir",
            demo_dir.to_str().context("path")?,
            "--demo-listen",
            &demo_listen,
        ],
    )?;
    let admin = server.base_url();
    let demo = format!("http://{demo_listen}");
    let password = server.admin_password();

    let chromium = Chromium::launch(Launch::default()).await?;
    let page = chromium.page(&format!("{admin}/dashboard/login")).await?;
    wait_for(&page, "document.querySelector('input[name=username]') !== null", T).await?;
    eval::<Value>(
        &page,
        &format!(
            "document.querySelector('input[name=username]').value = 'admin';\
             document.querySelector('input[name=password]').value = {password:?};\
             document.querySelector('form').submit(); true"
        ),
    )
    .await?;
    wait_for(&page, "location.pathname === '/dashboard/'", T).await?;

    // The admin's old demo address now leads to the demo's own origin.
    goto(&page, &format!("{admin}/demo/index.html")).await?;
    wait_for(&page, &format!("location.origin === {demo:?}"), T).await?;
    wait_for(
        &page,
        "document.querySelector('.km-banner [data-km=accept]') !== null",
        T,
    )
    .await?;
    click(&page, ".km-banner [data-km=accept]").await?;

    let attempt = format!(
        r#"(async () => {{
            const out = {{ cookie: document.cookie }};
            const body = JSON.stringify({{ name: "evil", scopes: ["decisions:read"] }});
            const token = (document.cookie.match(/kmk_csrf=([^;]+)/) || [])[1] || "none";
            const status = async (url, init) => {{
                try {{ return (await fetch(url, init)).status; }} catch (e) {{ return "blocked"; }}
            }};
            // Same origin: a page of the demo scraping a dashboard form's token.
            let scraped = "none";
            try {{
                const html = await (await fetch("/dashboard/sites/demo", {{ credentials: "include" }})).text();
                scraped = (html.match(/name="csrf" value="([^"]+)"/) || [])[1] || "none";
            }} catch (e) {{}}
            out.scraped = scraped;
            const post = (t) => ({{ method: "POST", credentials: "include",
                headers: {{ "content-type": "application/json", "x-csrf-token": t }}, body }});
            out.here_cookie = await status("/api/v1/owner/sites/demo/keys", post(token));
            out.here_scraped = await status("/api/v1/owner/sites/demo/keys", post(scraped));
            // The admin origin, from the demo's: CORS refuses the preflight.
            out.admin = await status({admin:?} + "/api/v1/owner/sites/demo/keys", post(token));
            out.read = await status({admin:?} + "/dashboard/sites/demo", {{ credentials: "include" }});
            return out;
        }})()"#
    );
    let out: Value = eval(&page, &attempt).await?;
    chromium.close().await;

    assert!(!out["cookie"].as_str().unwrap_or("").contains("kmk_csrf"), "{out}");
    assert!(!out["cookie"].as_str().unwrap_or("").contains("kmk_session"), "{out}");
    assert_eq!(out["scraped"], "none", "the demo origin serves no dashboard: {out}");
    for k in ["here_cookie", "here_scraped", "admin"] {
        assert_ne!(out[k], 201, "{k}: {out}");
    }
    assert_eq!(out["admin"], "blocked", "{out}");
    assert_eq!(out["read"], "blocked", "{out}");

    // And indeed no key was made.
    let session = e2e::AdminSession::login(server.port(), &password).await?;
    let keys = session.get("/api/v1/owner/sites/demo/keys").await?.json();
    assert!(
        keys.as_array().context("keys")?.iter().all(|k| k["name"] != "evil"),
        "{keys}"
    );
    Ok(())
}
