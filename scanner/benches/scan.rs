//! Scanner benchmark (prints figures; run with `cargo bench -p scanner --bench scan`).
//!
//! - Static pass: pages/s over a 1,000-page site on 127.0.0.1, politeness
//!   off, against a baseline of plain concurrent GETs of the same pages
//!   (no parsing, no detection) measured in the same run; the same crawl
//!   with the SSRF guard on (the site under a name the guard answers, so
//!   every connection goes through its resolver); peak RSS.
//! - Browser pass: seconds per page for all three consent states on the
//!   fixture web (`--no-gpc`), against a baseline of one cold `chromium
//!   --headless --dump-dom` visit per page (a single state, nothing
//!   recorded).
//!
//! `cargo bench -p scanner --bench scan -- versus-blacklight` runs, instead
//! of the browser pass above, the browser pass side by side with Blacklight
//! (`support/versus_blacklight.rs`), then the static pass.

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "support/static_pass.rs"]
mod static_pass;
#[path = "support/versus_blacklight.rs"]
mod versus_blacklight;

use std::sync::Arc;
use std::time::{Duration, Instant};

use scanner::guard::Guard;
use static_pass::static_pass;

async fn browser_pass() {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        println!("browser pass: /usr/bin/chromium missing (run scripts/setup); skipped");
        return;
    }
    let server = common::start(Arc::new(common::shop), Some(common::tls_acceptor())).await;
    let paths = ["/", "/shop", "/contact", "/analytics", "/click", "/banner"];
    let pages: Vec<url::Url> = paths.iter().map(|p| url::Url::parse(&server.url(p)).unwrap()).collect();
    let rules = common::resolver_rules(server.port);

    // Baseline: one cold headless visit per page, one state, nothing recorded.
    let t = Instant::now();
    for p in &pages {
        let profile = tempfile::tempdir().unwrap();
        let _ = tokio::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--ignore-certificate-errors",
                "--virtual-time-budget=1500",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--host-resolver-rules={rules}"))
            .arg("--dump-dom")
            .arg(p.as_str())
            .output()
            .await;
    }
    let base = t.elapsed().as_secs_f64() / pages.len() as f64;

    let opts = scanner::browser::BrowserOptions {
        max_pages: pages.len(),
        host_resolver_rules: Some(rules),
        insecure_tls: true,
        dwell: Duration::from_millis(1500),
        page_timeout: Duration::from_secs(15),
        gpc: false,
        ..Default::default()
    };
    let t = Instant::now();
    let guard = Guard::allow_private();
    let obs = scanner::browser::run(
        &opts,
        &guard,
        &pages,
        &Default::default(),
        Duration::from_secs(300),
        &|_, _| {},
    )
    .await;
    let took = t.elapsed().as_secs_f64();
    println!(
        "browser pass: {} pages x 3 consent states in {took:.1} s = {:.2} s per page, all three states (target <= 3 s; EDPS collector ~13 s per single-state page)",
        pages.len(),
        took / pages.len() as f64
    );
    println!("  baseline (cold chromium --dump-dom, one state, nothing recorded): {base:.2} s per page");
    println!(
        "  requests {}, cookies {}, storage keys {}, problems {}",
        obs.requests.len(),
        obs.cookies.len(),
        obs.storage.len(),
        obs.problems.len()
    );
}

fn main() {
    // `cargo bench` passes --bench; a `versus-blacklight` argument picks the
    // side-by-side.
    let versus_blacklight = std::env::args().any(|a| a == "versus-blacklight");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if versus_blacklight {
            versus_blacklight::side_by_side().await;
            println!();
            let pages_per_s = static_pass().await;
            println!(
                "static pass against its recorded figure (docs/benchmarks.md, 2026-11-25: 1,792–6,389 pages/s; target >= 200): {pages_per_s:.0} pages/s"
            );
        } else {
            static_pass().await;
            browser_pass().await;
        }
    });
}
