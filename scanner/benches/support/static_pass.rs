//! The static pass's benchmark, shared by the scanner's benches (`scan` and
//! `versus_blacklight`): pages/s over a 1,000-page site on 127.0.0.1,
//! politeness off, against plain concurrent GETs of the same pages (no
//! parsing, no detection) measured in the same run; the same crawl with the
//! SSRF guard on; peak RSS. Prints its figures and returns the pages/s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use scanner::crawl::{CrawlOptions, Crawler};
use scanner::fetch::{Fetcher, Limits};
use scanner::guard::Guard;

use crate::common;

const PAGES: usize = 1000;
const FANOUT: usize = 10;

/// Page n links to its ten children (a tree, so BFS reaches 1,000 pages at
/// depth 3) and carries the weight of a real shop page: ~20 KB of markup
/// with a Meta and a Google snippet.
fn site(req: &common::Req) -> common::Reply {
    let path = req.path.split('?').next().unwrap_or("/");
    let n: usize = match path {
        "/" => 0,
        p if p.starts_with("/p/") => p[3..].parse().unwrap_or(usize::MAX),
        _ => return common::Reply::status(404, vec![], b""),
    };
    if n > PAGES * 2 {
        return common::Reply::status(404, vec![], b"");
    }
    let mut html = String::with_capacity(24 * 1024);
    html.push_str("<!doctype html><html><head><title>Product</title>");
    html.push_str("<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-BENCH12345\"></script>");
    html.push_str("<script>fbq('init', '123456789012345'); fbq('track', 'PageView');</script></head><body><nav>");
    for c in 1..=FANOUT {
        html.push_str(&format!(
            "<a href=\"/p/{}\">item {}</a> ",
            n * FANOUT + c,
            n * FANOUT + c
        ));
    }
    html.push_str("</nav>");
    while html.len() < 20 * 1024 {
        html.push_str(
            "<div class=\"product\"><h2>Sturdy canvas tote</h2><p>Made of recycled cotton, \
                       with a wide base and long handles.</p><img src=\"/img/tote.jpg\" alt=\"\"></div>\n",
        );
    }
    html.push_str("</body></html>");
    common::Reply::html(html)
}

pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub async fn static_pass() -> f64 {
    let server = common::start(Arc::new(site), None).await;
    let limits = Limits {
        rate_per_host: None,
        ..Limits::default()
    };
    let concurrency = 16;

    // Baseline: the same pages with plain concurrent GETs, bodies discarded.
    let client = reqwest::Client::new();
    let urls: Vec<String> = std::iter::once(server.url("/"))
        .chain((1..PAGES).map(|n| server.url(&format!("/p/{n}"))))
        .collect();
    let t = Instant::now();
    let fetched = futures::stream::iter(urls.iter().cloned())
        .map(|u| {
            let c = client.clone();
            async move { c.get(u).send().await.ok()?.bytes().await.ok().map(|b| b.len()) }
        })
        .buffer_unordered(concurrency)
        .filter_map(|x| async move { x })
        .count()
        .await;
    let base = t.elapsed();

    let options = CrawlOptions {
        max_pages: PAGES,
        max_depth: 3,
        concurrency,
        deadline: Duration::from_secs(600),
        robots: true,
        sitemap: true,
        ..CrawlOptions::default()
    };
    let crawler = Crawler {
        // The benchmark site is on 127.0.0.1.
        fetcher: Fetcher::new(limits.clone(), Guard::allow_private()).unwrap(),
        options: options.clone(),
    };
    let t = Instant::now();
    let obs = crawler
        .run(url::Url::parse(&server.url("/")).unwrap(), &|_, _| {})
        .await;
    let took = t.elapsed();

    // The same crawl through the guard: `bench.test` is answered (and
    // trusted) by the guard itself, no DNS query leaves.
    let loopback = [std::net::IpAddr::from(std::net::Ipv4Addr::LOCALHOST)];
    let guard = Guard::public_only().trusting("bench.test", &loopback).answers_only();
    let guarded = Crawler {
        fetcher: Fetcher::new(limits, guard).unwrap(),
        options,
    };
    let start = url::Url::parse(&format!("http://bench.test:{}/", server.port)).unwrap();
    let t = Instant::now();
    let guarded_pages = guarded.run(start, &|_, _| {}).await.pages.len();
    let guarded_took = t.elapsed();
    let pages = obs.pages.len();
    println!(
        "static pass: {pages} pages in {:.2} s = {:.0} pages/s (target >= 200 pages/s)",
        took.as_secs_f64(),
        pages as f64 / took.as_secs_f64()
    );
    println!(
        "  baseline (plain GETs, no parsing): {fetched} pages in {:.2} s = {:.0} pages/s",
        base.as_secs_f64(),
        fetched as f64 / base.as_secs_f64()
    );
    println!(
        "  with the SSRF guard on (names through its resolver): {guarded_pages} pages in {:.2} s = {:.0} pages/s",
        guarded_took.as_secs_f64(),
        guarded_pages as f64 / guarded_took.as_secs_f64()
    );
    println!(
        "  requests recorded: {}, scripts: {}, problems: {}",
        obs.requests.len(),
        obs.scripts.len(),
        obs.problems.len()
    );
    println!(
        "  peak RSS of the benchmark process (scanner + fixture server): {:.0} MB",
        peak_rss_mb()
    );
    assert_eq!(pages, PAGES, "the crawl must reach every page");
    assert_eq!(guarded_pages, PAGES, "the guarded crawl must reach every page");
    pages as f64 / took.as_secs_f64()
}
