//! One scan, start to finish: static pass, browser pass, detectors, report.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::cookie::CookieDb;
use crate::crawl::{CrawlOptions, Crawler, Progress};
use crate::declared::Declared;
use crate::detect::{Context, analyse};
use crate::fetch::{FetchError, Fetcher, Limits};
use crate::guard::{Guard, GuardError, Refused};
use crate::page::{Observations, Pass};
use crate::pii::CanaryIdentity;
use crate::report::{DeclarationInfo, Report};
use crate::signature::KnowledgeBase;

#[derive(Clone, Debug)]
pub struct ScanConfig {
    pub site: url::Url,
    pub crawl: CrawlOptions,
    pub limits: Limits,
    pub browser: Option<crate::browser::BrowserOptions>,
    pub canary: CanaryIdentity,
    /// Connect to non-public addresses too (loopback, RFC 1918, link-local,
    /// …): `--allow-private-targets`, for intranet sites and tests. Off, the
    /// default, a scan refuses them before connecting ([`crate::guard`]).
    pub allow_private_targets: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("not a scannable URL: {0}")]
    BadUrl(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The site itself is on a non-public address.
    #[error("{0}")]
    Refused(#[from] Refused),
}

pub struct Knowledge<'a> {
    pub kb: &'a KnowledgeBase,
    pub declared: &'a Declared,
    pub cookie_db: Option<&'a CookieDb>,
}

pub async fn scan(cfg: &ScanConfig, k: &Knowledge<'_>, progress: Progress<'_>) -> Result<Report, ScanError> {
    scan_staged(cfg, k, &|_, done, known| progress(done, known)).await
}

/// Progress with the pass it belongs to: the pass, pages done, pages known.
/// The browser pass is announced with `(Browser, 0, pages)` before its
/// first page.
pub type StagedProgress<'a> = &'a (dyn Fn(Pass, usize, usize) + Sync);

/// [`scan`], telling `progress` which pass each count belongs to (the
/// consent server shows it while a queued scan runs).
pub async fn scan_staged(
    cfg: &ScanConfig,
    k: &Knowledge<'_>,
    progress: StagedProgress<'_>,
) -> Result<Report, ScanError> {
    if !matches!(cfg.site.scheme(), "http" | "https") || cfg.site.host_str().is_none() {
        return Err(ScanError::BadUrl(cfg.site.to_string()));
    }
    let guard = Guard::new(cfg.allow_private_targets);
    check_site(&guard, &cfg.site).await?;
    let started = Instant::now();
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let crawler = Crawler {
        fetcher: Fetcher::new(cfg.limits.clone(), guard.clone())?,
        options: cfg.crawl.clone(),
    };
    let mut obs: Observations = crawler
        .run(cfg.site.clone(), &|done, known| progress(Pass::Static, done, known))
        .await;

    if let Some(b) = &cfg.browser {
        // The browser visits the pages the static pass reached (start first),
        // within what is left of the scan deadline.
        let mut pages: Vec<url::Url> = vec![cfg.site.clone()];
        for p in obs
            .pages
            .iter()
            .filter(|p| p.pass == Pass::Static && p.status.is_some_and(|s| s < 400))
        {
            if pages.len() >= b.max_pages {
                break;
            }
            if let Ok(u) = url::Url::parse(&p.url)
                && !pages.contains(&u)
            {
                pages.push(u);
            }
        }
        pages.truncate(b.max_pages);
        let left = cfg.crawl.deadline.saturating_sub(started.elapsed());
        progress(Pass::Browser, 0, pages.len());
        let on_page = |done, known| progress(Pass::Browser, done, known);
        let browser_obs = crate::browser::run(b, &guard, &pages, &cfg.canary, left, &on_page).await;
        obs.extend(browser_obs);
    }

    let needles = cfg.canary.needles();
    let site_host = cfg.site.host_str().unwrap_or_default().to_owned();
    let analysis = analyse(
        &obs,
        &Context {
            kb: k.kb,
            declared: k.declared,
            cookie_db: k.cookie_db,
            needles: &needles,
            site_host: &site_host,
        },
    );
    let mut installation = std::mem::take(&mut obs.installation);
    crate::install::name_platforms(&mut installation, k.kb);
    let mut report = Report::new(
        cfg.site.as_str(),
        &k.kb.version,
        DeclarationInfo {
            origin: k.declared.origin.clone(),
            version: k.declared.version.clone(),
        },
        started_at,
        started.elapsed().as_millis() as u64,
        obs.pages,
        obs.problems,
        obs.banners,
        analysis,
    );
    report.installation = installation;
    Ok(report)
}

/// A site on a non-public address is refused outright, with the reason; a
/// name that does not resolve is left to the passes to report.
async fn check_site(guard: &Guard, site: &url::Url) -> Result<(), ScanError> {
    if guard.allows_private() {
        return Ok(());
    }
    guard.check_url(site)?;
    let (Some(host), Some(port)) = (site.host_str(), site.port_or_known_default()) else {
        return Ok(());
    };
    match guard.resolve(host, port).await {
        Err(GuardError::Refused(r)) => Err(r.into()),
        _ => Ok(()),
    }
}
