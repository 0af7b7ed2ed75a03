//! The static pass: fetch pages over HTTP(S), read them with `lol_html`,
//! follow same-site links breadth-first within `--max-pages`/`--depth`,
//! honour `robots.txt`, seed from `sitemap.xml`, record `Set-Cookie`s.
//! Every failure becomes a [`Problem`] and the crawl carries on.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use crate::cookie::parse_set_cookie;
use crate::fetch::BodySink;
use crate::fetch::{FetchError, Fetched, Fetcher, Truncation};
use crate::html::HtmlStream;
use crate::page::{
    ConsentState, Cookie, Observations, PageVisit, Pass, Problem, ProblemKind, Request, Script, SetBy, same_site,
};
use crate::robots::{Robots, sitemap_locs};

#[derive(Clone, Debug)]
pub struct CrawlOptions {
    pub max_pages: usize,
    pub max_depth: u32,
    /// Pages fetched at once (the per-host rate limit still applies).
    pub concurrency: usize,
    /// The whole static pass stops here and reports what it has.
    pub deadline: Duration,
    /// Memory the HTML parser may use per page.
    pub parser_memory: usize,
    pub robots: bool,
    pub sitemap: bool,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        CrawlOptions {
            max_pages: 50,
            max_depth: 3,
            concurrency: 8,
            deadline: Duration::from_secs(300),
            parser_memory: 16 * 1024 * 1024,
            robots: true,
            sitemap: true,
        }
    }
}

/// Absolute or protocol-relative URLs in inline script text.
pub(crate) static INLINE_URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"(?:https?:)?//[a-z0-9][a-z0-9.-]*\.[a-z]{2,24}(?::\d{1,5})?/[^\s'"`\\<>)]*"#).expect("regex")
});

/// Progress callback: pages done, pages known.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

pub struct Crawler {
    pub fetcher: Fetcher,
    pub options: CrawlOptions,
}

struct PageResult {
    depth: u32,
    obs: Observations,
    links: Vec<url::Url>,
}

fn problem(url: &str, kind: ProblemKind, reason: String) -> Problem {
    Problem {
        url: url.to_owned(),
        kind,
        reason,
    }
}

fn normalise(mut u: url::Url) -> url::Url {
    u.set_fragment(None);
    u
}

impl Crawler {
    pub async fn run(&self, start: url::Url, progress: Progress<'_>) -> Observations {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + self.options.deadline;
        let mut obs = Observations::default();
        let site_host = start.host_str().unwrap_or_default().to_owned();
        let start = normalise(start);

        let robots = if self.options.robots {
            self.robots(&start, &mut obs).await
        } else {
            Robots::default()
        };
        let mut queue: VecDeque<(url::Url, u32)> = VecDeque::from([(start.clone(), 0)]);
        let mut seen: HashSet<String> = HashSet::from([start.to_string()]);
        if self.options.sitemap {
            for u in self.sitemap(&start, &robots, &mut obs).await {
                if seen.len() < self.options.max_pages * 4 && seen.insert(u.to_string()) {
                    queue.push_back((u, 1));
                }
            }
        }

        let mut tasks: JoinSet<PageResult> = JoinSet::new();
        let mut scheduled = 0usize;
        let mut done = 0usize;
        let mut skipped_by_robots = 0usize;
        loop {
            while tasks.len() < self.options.concurrency.max(1) && scheduled < self.options.max_pages {
                let Some((url, depth)) = queue.pop_front() else { break };
                if !robots.allowed(&path_and_query(&url)) {
                    skipped_by_robots += 1;
                    if skipped_by_robots <= 20 {
                        obs.problems.push(problem(
                            url.as_str(),
                            ProblemKind::Robots,
                            format!("not scanned: robots.txt disallows {}", url.path()),
                        ));
                    }
                    continue;
                }
                scheduled += 1;
                let fetcher = self.fetcher.clone();
                let mem = self.options.parser_memory;
                let site = site_host.clone();
                tasks.spawn(async move { fetch_page(&fetcher, url, depth, &site, mem).await });
            }
            if tasks.is_empty() {
                break;
            }
            let next = tokio::time::timeout_at(deadline, tasks.join_next()).await;
            let Ok(Some(joined)) = next else {
                if next.is_err() {
                    let pending = tasks.len() + queue.len();
                    tasks.abort_all();
                    obs.problems.push(problem(
                        start.as_str(),
                        ProblemKind::Deadline,
                        format!(
                            "scan deadline of {} s reached after {done} pages; {pending} pages not scanned",
                            self.options.deadline.as_secs()
                        ),
                    ));
                }
                break;
            };
            let Ok(page) = joined else { continue };
            done += 1;
            progress(done, scheduled + queue.len());
            if page.depth < self.options.max_depth {
                for link in page.links {
                    if link.host_str().is_some_and(|h| same_site(h, &site_host))
                        && seen.len() < self.options.max_pages * 16
                        && seen.insert(link.to_string())
                    {
                        queue.push_back((link, page.depth + 1));
                    }
                }
            }
            obs.extend(page.obs);
        }
        tracing::debug!(
            pages = done,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "static pass done"
        );
        obs
    }

    async fn robots(&self, start: &url::Url, obs: &mut Observations) -> Robots {
        let Ok(url) = start.join("/robots.txt") else {
            return Robots::default();
        };
        match self.fetcher.get(url.clone()).await {
            Ok(f) if f.status == 200 => {
                record_cookies(&f, start.as_str(), start.host_str().unwrap_or_default(), obs);
                Robots::parse(&String::from_utf8_lossy(&f.body), "KeurmerkScanner")
            }
            Ok(_) => Robots::default(),
            Err(e) => {
                obs.problems.push(fetch_problem(url.as_str(), &e));
                Robots::default()
            }
        }
    }

    async fn sitemap(&self, start: &url::Url, robots: &Robots, obs: &mut Observations) -> Vec<url::Url> {
        let mut maps: Vec<String> = robots.sitemaps.clone();
        if maps.is_empty()
            && let Ok(u) = start.join("/sitemap.xml")
        {
            maps.push(u.to_string());
        }
        let host = start.host_str().unwrap_or_default().to_owned();
        let mut out = Vec::new();
        let mut budget = 4; // a sitemap index and a few of its sitemaps
        while let Some(m) = maps.pop() {
            if budget == 0 {
                break;
            }
            budget -= 1;
            let Ok(u) = url::Url::parse(&m) else { continue };
            if !u.host_str().is_some_and(|h| same_site(h, &host)) {
                continue;
            }
            match self.fetcher.get(u.clone()).await {
                Ok(f) if f.status == 200 => {
                    let text = String::from_utf8_lossy(&f.body);
                    let locs = sitemap_locs(&text, self.options.max_pages * 4);
                    if text.contains("<sitemapindex") {
                        maps.extend(locs);
                    } else {
                        out.extend(locs.into_iter().filter_map(|l| url::Url::parse(&l).ok()).map(normalise));
                    }
                }
                Ok(_) => {}
                Err(e) => obs.problems.push(fetch_problem(u.as_str(), &e)),
            }
        }
        out
    }
}

fn path_and_query(u: &url::Url) -> String {
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    }
}

fn fetch_problem(url: &str, e: &FetchError) -> Problem {
    let kind = match e {
        FetchError::Timeout(_) => ProblemKind::Timeout,
        FetchError::TooManyRedirects(_) | FetchError::BadRedirect(_) => ProblemKind::TooManyRedirects,
        FetchError::Network(_) => ProblemKind::Network,
        FetchError::Refused { .. } => ProblemKind::PrivateAddress,
    };
    let what = match e {
        FetchError::Timeout(_) => "page",
        _ => "request",
    };
    problem(url, kind, format!("{what} {url}: {e}"))
}

fn record_cookies(f: &Fetched, page: &str, site_host: &str, obs: &mut Observations) {
    let now = SystemTime::now();
    for (resp_url, header) in &f.set_cookies {
        let Some(c) = parse_set_cookie(header, now) else {
            continue;
        };
        let resp_host = url::Url::parse(resp_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let domain = c.domain.unwrap_or(resp_host);
        obs.cookies.push(Cookie {
            page: page.to_owned(),
            third_party: !same_site(&domain, site_host),
            name: c.name,
            domain,
            path: c.path,
            lifetime_secs: c.lifetime_secs,
            set_by: SetBy::Http {
                response_url: resp_url.clone(),
            },
            state: ConsentState::BeforeConsent,
            pass: Pass::Static,
            blocked: None,
        });
    }
}

async fn fetch_page(fetcher: &Fetcher, url: url::Url, depth: u32, site_host: &str, parser_memory: usize) -> PageResult {
    let mut obs = Observations::default();
    let page = url.to_string();
    let mut html = HtmlSink {
        stream: None,
        memory: parser_memory,
    };
    let fetched = match fetcher.get_streaming(url.clone(), &mut html).await {
        Ok(f) => f,
        Err(e) => {
            obs.problems.push(fetch_problem(&page, &e));
            obs.pages.push(PageVisit {
                url: page,
                depth,
                status: None,
                bytes: 0,
                pass: Pass::Static,
            });
            return PageResult {
                depth,
                obs,
                links: Vec::new(),
            };
        }
    };
    record_cookies(&fetched, &page, site_host, &mut obs);
    obs.pages.push(PageVisit {
        url: page.clone(),
        depth,
        status: Some(fetched.status),
        bytes: fetched.bytes as u64,
        pass: Pass::Static,
    });
    match &fetched.truncated {
        Some(Truncation::TooLarge { limit }) => obs.problems.push(problem(
            &page,
            ProblemKind::BodyTooLarge,
            format!(
                "page {page} is larger than {} MB; only the first part was scanned",
                limit / (1024 * 1024)
            ),
        )),
        Some(Truncation::Bomb { compressed, limit }) => obs.problems.push(problem(
            &page,
            ProblemKind::DecompressionBomb,
            format!(
                "page {page} expanded from {compressed} compressed bytes past the {} MB limit (decompression bomb); \
                 reading stopped",
                limit / (1024 * 1024)
            ),
        )),
        None => {}
    }
    if fetched.status >= 400 {
        obs.problems.push(problem(
            &page,
            ProblemKind::HttpStatus,
            format!("page {page} answered HTTP {}", fetched.status),
        ));
    }
    let Some(stream) = html.stream else {
        return PageResult {
            depth,
            obs,
            links: Vec::new(),
        };
    };
    // The final URL (after redirects) is the base for relative links.
    let base = fetched.url.clone();
    let (x, limit) = stream.finish();
    if let Some(e) = limit {
        obs.problems.push(problem(
            &page,
            ProblemKind::ParseLimit,
            format!("page {page}: {e}; the rest was skipped"),
        ));
    }
    obs.installation.push(crate::install::inspect(&page, &x, &base));
    for s in x.scripts {
        let src = s.src.as_deref().and_then(|u| base.join(u).ok());
        if let Some(src) = &src
            && s.executable()
        {
            obs.requests.push(Request {
                page: page.clone(),
                url: src.to_string(),
                method: "GET".into(),
                body: None,
                resource_type: "script".into(),
                initiator: Some(page.clone()),
                state: ConsentState::BeforeConsent,
                pass: Pass::Static,
                visit: None,
            });
        }
        // Loader snippets name the tag they inject (`t.src = 'https://…/fbevents.js'`):
        // the browser will fetch those URLs as soon as the snippet runs.
        if s.executable() && src.is_none() {
            for r in INLINE_URL.find_iter(&s.inline).take(64) {
                let Ok(u) = base.join(r.as_str()) else { continue };
                if u.host_str().is_some_and(|h| !same_site(h, site_host)) {
                    obs.requests.push(Request {
                        page: page.clone(),
                        url: u.to_string(),
                        method: "GET".into(),
                        body: None,
                        resource_type: "inline-reference".into(),
                        initiator: Some(page.clone()),
                        state: ConsentState::BeforeConsent,
                        pass: Pass::Static,
                        visit: None,
                    });
                }
            }
        }
        obs.scripts.push(Script {
            page: page.clone(),
            src: src.map(|u| u.to_string()),
            inline: (!s.inline.trim().is_empty()).then_some(s.inline),
            pass: Pass::Static,
        });
    }
    for p in x.pixels {
        if let Ok(u) = base.join(&p.url)
            && matches!(u.scheme(), "http" | "https")
        {
            obs.requests.push(Request {
                page: page.clone(),
                url: u.to_string(),
                method: "GET".into(),
                body: None,
                resource_type: p.kind.into(),
                initiator: Some(page.clone()),
                state: ConsentState::BeforeConsent,
                pass: Pass::Static,
                visit: None,
            });
        }
    }
    let links = x
        .links
        .iter()
        .filter_map(|l| base.join(l).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(normalise)
        .collect();
    PageResult { depth, obs, links }
}

/// Parses HTML bodies while they download; other content types are skipped.
struct HtmlSink {
    stream: Option<HtmlStream>,
    memory: usize,
}

impl BodySink for HtmlSink {
    fn start(&mut self, content_type: &str) -> bool {
        let html = content_type.is_empty() || content_type.contains("html");
        self.stream = html.then(|| HtmlStream::new(self.memory));
        html
    }
    fn chunk(&mut self, data: &[u8]) {
        if let Some(s) = &mut self.stream {
            s.write(data);
        }
    }
}
