//! Widget benchmark: Keurmerk against vanilla-cookieconsent 3.1.0 (npm,
//! tools/) on the same page, in the same run, in headless Chromium on loopback.
//!
//! Prints: brotli bytes a first and a returning visitor download, and over
//! RUNS fresh profiles the time from navigation start to the banner being
//! laid out and visible, plus main-thread long tasks (> 50 ms).
//!
//! `cargo bench -p e2e --bench widget` (after scripts/setup).

use std::time::Duration;

use anyhow::{Context, Result};
use consent_core::SiteId;
use consent_core::loader::{LoaderContext, render};
use e2e::browser::{Chromium, eval, goto, wait_for};
use e2e::widget_site::{SiteServer, Trackers, demo_config, launch, repo_root};
use serde_json::{Value, json};

/// Fresh profiles per widget; `KM_BENCH_RUNS` overrides (quick looks while
/// working; the figures quoted in the README use the default).
fn runs() -> usize {
    std::env::var("KM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

fn brotli_len(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("in-memory brotli");
    out.len()
}

fn file(path: &str) -> Result<Vec<u8>> {
    std::fs::read(repo_root().join(path)).with_context(|| format!("reading {path} (run scripts/setup)"))
}

/// Installed before the page's own scripts: notes when `selector` is first
/// laid out and visible, and collects long tasks.
fn probe(selector: &str) -> String {
    let sel = serde_json::to_string(selector).expect("string");
    format!(
        "(() => {{
  window.__long = [];
  addEventListener('keurmerk:ui', () => performance.mark('keurmerk:ui started'));
  try {{ new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration)))
          .observe({{ type: 'longtask', buffered: true }}); }} catch (e) {{}}
  const check = () => {{
    const e = document.querySelector({sel});
    if (!e) return false;
    const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
    if (r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none') {{
      window.__visibleAt = performance.now();
      return true;
    }}
    return false;
  }};
  const mo = new MutationObserver(() => {{ if (!window.__visibleAt && check()) mo.disconnect(); }});
  mo.observe(document, {{ childList: true, subtree: true, attributes: true }});
  const raf = () => {{ if (!window.__visibleAt && !check()) requestAnimationFrame(raf); }};
  requestAnimationFrame(raf);
}})()"
    )
}

struct Timing {
    visible_ms: Vec<f64>,
    long_tasks: Vec<f64>,
    /// The last run's timeline: (what, start ms, end ms) from navigation start.
    waterfall: Vec<(String, f64, f64)>,
}

/// Navigation milestones and every resource of the page, for the waterfall.
const TIMELINE: &str = "(() => {
  const n = performance.getEntriesByType('navigation')[0];
  const out = [['document', n.requestStart, n.responseEnd], ['DOMContentLoaded', n.domContentLoadedEventStart, n.domContentLoadedEventEnd]];
  for (const p of performance.getEntriesByType('mark')) out.push([p.name, p.startTime, p.startTime]);
  for (const p of performance.getEntriesByType('paint')) out.push([p.name, p.startTime, p.startTime]);
  for (const r of performance.getEntriesByType('resource')) out.push([r.name.replace(/^https?:\\/\\/[^/]+/, '').replace(/\\?.*/, ''), r.startTime, r.responseEnd]);
  out.push(['banner visible', window.__visibleAt, window.__visibleAt]);
  return out.sort((a, b) => a[1] - b[1]);
})()";

/// One first visit (a fresh profile, nothing cached) of `page`, timed until
/// `selector` is visible.
async fn time_banner(site: &SiteServer, trackers: &Trackers, page: &str, selector: &str, t: &mut Timing) -> Result<()> {
    let chrome = Chromium::launch(launch(site, trackers, "en")).await?;
    let tab = chrome.blank().await?;
    tab.evaluate_on_new_document(probe(selector)).await?;
    goto(&tab, &site.url(page)).await?;
    wait_for(&tab, "window.__visibleAt", Duration::from_secs(10)).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let v: Value = eval(&tab, "({ at: window.__visibleAt, long: window.__long })").await?;
    t.visible_ms.push(v["at"].as_f64().unwrap_or(f64::NAN));
    t.long_tasks
        .extend(v["long"].as_array().into_iter().flatten().filter_map(Value::as_f64));
    t.waterfall = eval(&tab, TIMELINE).await?;
    chrome.close().await;
    Ok(())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let site = SiteServer::start().await?;
    let trackers = Trackers::start().await?;

    // Bytes (brotli 11, what the server sends precompressed).
    let cfg = demo_config();
    let version = cfg.version();
    let site_id = SiteId::parse("demo")?;
    let template = String::from_utf8(file("consent-widget/loader/loader.js")?)?;
    let base = "https://consent.example.nl";
    let loader = render(
        &template,
        &LoaderContext {
            site: &site_id,
            version: &version,
            config: &cfg,
            base_url: base,
        },
    );
    let loader_br = brotli_len(loader.as_bytes());
    let dist = |f: &str| file(&format!("consent-widget/dist/{f}")).map(|b| b.len());
    let parts = [
        ("loader (rendered for the demo site)", loader_br),
        ("widget.js (glue + boot)", dist("widget.js.br")?),
        ("widget_bg.wasm", dist("widget_bg.wasm.br")?),
        ("widget.css", dist("widget.css.br")?),
        ("i18n/en.json (one language)", dist("i18n/en.json.br")?),
    ];
    let ours_first: usize = parts.iter().map(|p| p.1).sum();
    let config_br = brotli_len(
        json!({"site": "demo", "version": version, "config": cfg})
            .to_string()
            .as_bytes(),
    );
    let vanilla = [
        (
            "cookieconsent.umd.js",
            brotli_len(&file(
                "tools/node_modules/vanilla-cookieconsent/dist/cookieconsent.umd.js",
            )?),
        ),
        (
            "cookieconsent.css",
            brotli_len(&file(
                "tools/node_modules/vanilla-cookieconsent/dist/cookieconsent.css",
            )?),
        ),
        (
            "site's init + English texts",
            brotli_len(&file("consent-widget/demo/bench-vanilla-init.js")?),
        ),
    ];
    let vanilla_total: usize = vanilla.iter().map(|p| p.1).sum();

    println!("== Bytes (brotli 11) ==");
    for (name, n) in &parts {
        println!("  keurmerk  {name:<40} {:>9}", kb(*n));
    }
    println!(
        "  keurmerk  {:<40} {:>9}",
        "site config JSON (API, site data)",
        kb(config_br)
    );
    for (name, n) in &vanilla {
        println!("  vanilla   {name:<40} {:>9}", kb(*n));
    }
    println!(
        "first visit:  keurmerk {} (+ {} config) | vanilla-cookieconsent {}   [target <= 13 KB]",
        kb(ours_first),
        kb(config_br),
        kb(vanilla_total)
    );
    println!(
        "return visit (uncached): keurmerk {} (loader only, no wasm) | vanilla-cookieconsent {}   [target <= 2 KB]",
        kb(loader_br),
        kb(vanilla_total)
    );

    // Return visit in the browser: only the loader, no UI download.
    let chrome = Chromium::launch(launch(&site, &trackers, "en")).await?;
    let tab = chrome.page(&site.url("bench-keurmerk.html")).await?;
    wait_for(
        &tab,
        "document.querySelector('.km-banner [data-km=accept]')",
        Duration::from_secs(10),
    )
    .await?;
    let _: bool = eval(&tab, "(document.querySelector('[data-km=accept]').click(), true)").await?;
    // Recorded with the server: a decision still queued would (rightly) load
    // the UI module on the next page to send it.
    wait_for(
        &tab,
        "keurmerk.receipt() && !JSON.parse(localStorage.getItem('keurmerk:q:demo') || '[]').length",
        Duration::from_secs(10),
    )
    .await?;
    goto(&tab, &site.url("bench-keurmerk.html")).await?;
    let ui: usize = eval(
        &tab,
        "performance.getEntriesByType('resource').filter(e => /widget|wasm|i18n|config/.test(e.name)).length",
    )
    .await?;
    println!("return visit UI requests (widget.js, wasm, css, texts, config): {ui}");
    chrome.close().await;

    println!(
        "\n== Navigation start -> banner visible, {} fresh profiles each, loopback ==",
        runs()
    );
    let widgets = [
        ("keurmerk", "bench-keurmerk.html", ".km-banner"),
        ("vanilla-cookieconsent", "bench-vanilla.html", "#cc-main .cm"),
    ];
    let mut timings: Vec<Timing> = widgets
        .iter()
        .map(|_| Timing {
            visible_ms: Vec::new(),
            long_tasks: Vec::new(),
            waterfall: Vec::new(),
        })
        .collect();
    // Taking turns, so that both see the same load on a shared machine.
    for _ in 0..runs() {
        for ((_, page, sel), t) in widgets.iter().zip(&mut timings) {
            time_banner(&site, &trackers, page, sel, t).await?;
        }
    }
    for ((name, _, _), t) in widgets.iter().zip(&timings) {
        let max = t.visible_ms.iter().copied().fold(f64::MIN, f64::max);
        let min = t.visible_ms.iter().copied().fold(f64::MAX, f64::min);
        let over50 = t.long_tasks.iter().filter(|d| **d > 50.0).count();
        let longest = t.long_tasks.iter().copied().fold(0.0, f64::max);
        println!(
            "  {name:<22} median {:>6.1} ms  (min {min:.1}, max {max:.1})   long tasks > 50 ms: {over50} (longest {longest:.0} ms)   [target <= 80 ms]",
            median(&t.visible_ms)
        );
        println!("    last run's timeline (ms from navigation start):");
        for (what, start, end) in &t.waterfall {
            println!("      {start:>7.1} .. {end:>7.1}  {what}");
        }
    }
    let ratios: Vec<f64> = timings[0]
        .visible_ms
        .iter()
        .zip(&timings[1].visible_ms)
        .map(|(k, v)| k / v)
        .collect();
    println!(
        "  keurmerk / vanilla-cookieconsent, run by run: median {:.2} (min {:.2}, max {:.2})",
        median(&ratios),
        ratios.iter().copied().fold(f64::MAX, f64::min),
        ratios.iter().copied().fold(f64::MIN, f64::max)
    );
    Ok(())
}
