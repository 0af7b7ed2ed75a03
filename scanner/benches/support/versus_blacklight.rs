//! The scanner's browser pass side by side with The Markup's Blacklight
//! collector (`@themarkup/blacklight-collector`, pinned in
//! `tools/package.json`, run by `tools/blacklight-run.mjs`), in one run:
//! `cargo bench -p scanner --bench scan -- versus-blacklight`.
//!
//! One four-page fixture site on 127.0.0.1 (the scanner tests' fixture web,
//! its start page linking to exactly the three other pages, so Blacklight's
//! "start page plus three sampled links" visits the same four pages), the
//! real tracker hostnames mapped to it with `--host-resolver-rules` for both.
//! Each round runs, in an order that rotates from round to round:
//!
//! - the scanner's browser pass over the four pages in the three consent
//!   states none, reject and accept (`--no-gpc`),
//! - Blacklight over the same four pages, in its one state (no choice),
//! - the scanner in all four states (GPC on as the fourth).
//!
//! Both start their own Chromium (`/usr/bin/chromium`) within the time
//! measured; Blacklight's time is its `collect()` call alone (Node's start
//! and loading the package are left out, in its favour). Medians over the
//! rounds and their ratios are printed. Nothing about time is asserted: the
//! figures go to docs/benchmarks.md. Environment: `BENCH_ROUNDS` (default 5).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scanner::browser::BrowserOptions;
use scanner::guard::Guard;
use scanner::page::ConsentState;

use crate::common;

const CHROMIUM: &str = "/usr/bin/chromium";

/// The four pages: the start page, a shop page with many tags, a page with
/// forms, and a page with a consent banner that holds a tag back.
const PAGES: [&str; 4] = ["/", "/shop", "/contact", "/banner"];

/// The fixture web, its start page linking only to the other three pages.
fn four_pages(req: &common::Req) -> common::Reply {
    let mut reply = common::shop(req);
    let loopback = req.host == "127.0.0.1" || req.host == "localhost";
    if loopback
        && req.path.split('?').next() == Some("/")
        && let common::Reply::Full { body, .. } = &mut reply
    {
        let html = String::from_utf8_lossy(body).into_owned();
        if let (Some(a), Some(b)) = (html.find("<nav>"), html.find("</nav>")) {
            let links: Vec<String> = PAGES[1..]
                .iter()
                .map(|p| format!("<a href=\"{p}\">{}</a>", p.trim_start_matches('/')))
                .collect();
            *body = format!("{}<nav>{}{}", &html[..a], links.join(" "), &html[b..]).into_bytes();
        }
    }
    reply
}

fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn range(xs: &[f64]) -> String {
    let v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    match (v.iter().copied().reduce(f64::min), v.iter().copied().reduce(f64::max)) {
        (Some(lo), Some(hi)) => format!("{lo:.2}–{hi:.2}"),
        _ => "–".into(),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

struct ScannerRun {
    secs: f64,
    summary: String,
}

async fn scanner_run(server: &common::Server, gpc: bool) -> ScannerRun {
    let pages: Vec<url::Url> = PAGES.iter().map(|p| url::Url::parse(&server.url(p)).unwrap()).collect();
    // `consent-scan`'s defaults (--dwell 1 s, --timeout 20 s), the fixture's
    // host mapping and throw-away certificate.
    let opts = BrowserOptions {
        max_pages: pages.len(),
        host_resolver_rules: Some(common::resolver_rules(server.port)),
        insecure_tls: true,
        gpc,
        ..BrowserOptions::default()
    };
    let t = Instant::now();
    let obs = scanner::browser::run(
        &opts,
        &Guard::allow_private(),
        &pages,
        &Default::default(),
        Duration::from_secs(300),
        &|_, _| {},
    )
    .await;
    let secs = t.elapsed().as_secs_f64();
    let in_state = |s: ConsentState| obs.requests.iter().filter(|r| r.state == s).count();
    let summary = format!(
        "{} visits, requests {} (before consent {}, after reject {}, after accept {}, with GPC {}), cookies {}, storage keys {}, banners {}, problems {}",
        obs.browser_visits,
        obs.requests.len(),
        in_state(ConsentState::BeforeConsent),
        in_state(ConsentState::AfterReject),
        in_state(ConsentState::AfterAccept),
        in_state(ConsentState::WithGpc),
        obs.cookies.len(),
        obs.storage.len(),
        obs.banners.len(),
        obs.problems.len(),
    );
    ScannerRun { secs, summary }
}

struct BlacklightRun {
    /// `collect()` alone.
    secs: f64,
    /// The whole `node` process.
    process_secs: f64,
    summary: String,
}

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools")
}

async fn blacklight_run(server: &common::Server) -> Result<BlacklightRun, String> {
    let tools = tools_dir();
    let t = Instant::now();
    let out = tokio::process::Command::new("node")
        .current_dir(&tools)
        .arg("blacklight-run.mjs")
        .args(["--num-pages", &(PAGES.len() - 1).to_string()])
        .args(["--chromium", CHROMIUM])
        .arg("--chromium-arg")
        .arg(format!("--host-resolver-rules={}", common::resolver_rules(server.port)))
        .arg(server.url("/"))
        .output()
        .await
        .map_err(|e| format!("node: {e}"))?;
    let process_secs = t.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        format!("no result from blacklight-run.mjs ({e}): {tail}")
    })?;
    if v["status"] != "success" {
        return Err(format!("Blacklight failed: {v}"));
    }
    let pages = v["pages"].as_array().map_or(0, Vec::len);
    Ok(BlacklightRun {
        secs: v["ms"].as_f64().unwrap_or(f64::NAN) / 1000.0,
        process_secs,
        summary: format!(
            "{pages} pages visited, third-party hosts {}, cookies {}",
            v["third_party_hosts"], v["cookies"]
        ),
    })
}

#[derive(Clone, Copy, Debug)]
enum Contender {
    Scanner3,
    Blacklight,
    Scanner4,
}

pub async fn side_by_side() {
    if !Path::new(CHROMIUM).exists() {
        println!("versus Blacklight: {CHROMIUM} missing (run scripts/setup); skipped");
        return;
    }
    let blacklight_installed = tools_dir()
        .join("node_modules/@themarkup/blacklight-collector/package.json")
        .is_file();
    if !blacklight_installed {
        println!("versus Blacklight: tools/node_modules has no Blacklight (run scripts/setup); Blacklight skipped");
    }
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    let server = common::start(Arc::new(four_pages), Some(common::tls_acceptor())).await;
    println!(
        "versus Blacklight: {} pages {:?} on 127.0.0.1, {rounds} rounds (load average at start {})",
        PAGES.len(),
        PAGES,
        load_average()
    );

    // One warm-up each (page cache, Chromium's first start), not counted.
    let w = scanner_run(&server, false).await;
    println!("  warm-up scanner (3 states): {:.2} s; {}", w.secs, w.summary);
    if blacklight_installed {
        match blacklight_run(&server).await {
            Ok(b) => println!("  warm-up Blacklight (1 state): {:.2} s; {}", b.secs, b.summary),
            Err(e) => println!("  warm-up Blacklight: {e}"),
        }
    }

    let mut s3 = Vec::new();
    let mut s4 = Vec::new();
    let mut bl = Vec::new();
    let mut bl_process = Vec::new();
    let order = [Contender::Scanner3, Contender::Blacklight, Contender::Scanner4];
    for round in 0..rounds {
        let mut line = format!("  round {}:", round + 1);
        for k in 0..order.len() {
            match order[(round + k) % order.len()] {
                Contender::Scanner3 => {
                    let r = scanner_run(&server, false).await;
                    line += &format!(" scanner 3 states {:.2} s;", r.secs);
                    if round == 0 {
                        println!("    scanner, 3 states: {}", r.summary);
                    }
                    s3.push(r.secs);
                }
                Contender::Scanner4 => {
                    let r = scanner_run(&server, true).await;
                    line += &format!(" scanner 4 states {:.2} s;", r.secs);
                    if round == 0 {
                        println!("    scanner, 4 states: {}", r.summary);
                    }
                    s4.push(r.secs);
                }
                Contender::Blacklight if blacklight_installed => match blacklight_run(&server).await {
                    Ok(b) => {
                        line += &format!(" Blacklight {:.2} s ({:.2} s with node);", b.secs, b.process_secs);
                        if round == 0 {
                            println!("    Blacklight: {}", b.summary);
                        }
                        bl.push(b.secs);
                        bl_process.push(b.process_secs);
                    }
                    Err(e) => line += &format!(" Blacklight failed: {e};"),
                },
                Contender::Blacklight => {}
            }
        }
        println!("{line} (load average {})", load_average());
    }

    let (m3, m4, mb) = (median(&s3), median(&s4), median(&bl));
    let n = PAGES.len() as f64;
    println!();
    println!(
        "| {} pages, medians of {rounds} rounds | seconds | range | s per page | × Blacklight |",
        PAGES.len()
    );
    println!("|---|---|---|---|---|");
    println!(
        "| scanner, 3 states (none, reject, accept; `--no-gpc`) | {m3:.2} | {} | {:.2} | {:.2}× |",
        range(&s3),
        m3 / n,
        m3 / mb
    );
    println!(
        "| scanner, 4 states (and GPC on) | {m4:.2} | {} | {:.2} | {:.2}× |",
        range(&s4),
        m4 / n,
        m4 / mb
    );
    println!(
        "| Blacklight {}, 1 state (`collect()`) | {mb:.2} | {} | {:.2} | 1.00× |",
        blacklight_version(),
        range(&bl),
        mb / n
    );
    println!(
        "| Blacklight, the whole `node` process | {:.2} | {} | {:.2} | |",
        median(&bl_process),
        range(&bl_process),
        median(&bl_process) / n
    );
    println!(
        "target: scanner with 3 states faster than Blacklight with 1 (ratio < 1): {:.2}×{}",
        m3 / mb,
        if mb.is_nan() { " (no Blacklight figure)" } else { "" }
    );
}

fn blacklight_version() -> String {
    std::fs::read_to_string(tools_dir().join("node_modules/@themarkup/blacklight-collector/package.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
