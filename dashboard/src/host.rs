//! What the dashboard needs from the server that mounts it: the server
//! implements [`Host`] over its own log-in code (argon2, rate limits, the
//! session cookie), so there is one session for the API and the dashboard,
//! and over its site cache and scan queue.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use axum::http::{HeaderMap, HeaderValue};
use consent_core::account::Account;
use consent_core::store::{ApiKey, Scope, Session};
use consent_core::{ConsentId, SiteId};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A queued scan as the scans page lists it.
pub struct ScanJob {
    pub id: String,
    pub url: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Where a running scan is: `static_pass`, `browser_pass`, `storing`
    /// (else the status's own name).
    pub stage: String,
    /// Pages of the current pass done, of `pages_total` known so far.
    pub pages_done: u64,
    pub pages_total: u64,
    /// Times a worker took the job (more than 1: retried after a worker died).
    pub attempts: u64,
    /// The worker's note to the owner (e.g. static pass only, no Chromium).
    pub note: Option<String>,
    pub created_ms: u64,
    /// The stored scan, once done.
    pub scan_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A scheduled scan that found what the site's previous scan did not.
pub struct ScanAlert {
    /// The scheduled scan (its page lists all its findings).
    pub scan_id: String,
    pub created_ms: u64,
    pub new_findings: Vec<NewFinding>,
}

/// A finding new since the previous scan, by its fingerprint: platform,
/// rule and consent state.
pub struct NewFinding {
    pub platform: String,
    pub rule: String,
    /// `before_consent`, `after_reject`, `after_accept` or `-`.
    pub state: String,
    pub severity: String,
    pub title: String,
}

/// What asking for a scan gave.
pub enum QueueOutcome {
    /// Queued under this job id (or, for a schedule, set).
    Queued(String),
    /// The server runs without a scan queue (no Redis).
    NotConfigured,
    /// The site cannot be scanned as asked (e.g. no allowed origin).
    Invalid(String),
    /// Storage or the queue is down.
    Unavailable,
}

/// A site's scan jobs, or why there are none to show.
pub enum ScanJobs {
    NotConfigured,
    Unavailable,
    Jobs(Vec<ScanJob>),
}

/// What a log-in attempt gave.
pub enum LoginOutcome {
    /// Logged in: the `Set-Cookie` values to send.
    Ok(Vec<HeaderValue>),
    /// Wrong username or password.
    Wrong,
    /// Too many attempts from this client; try again later.
    Limited,
    /// Storage is down.
    Unavailable,
}

/// The server's side of the dashboard: log-in and sessions, dropping cached
/// site state after a change, and the scan queue.
pub trait Host: Send + Sync + 'static {
    /// The name of the session cookie.
    fn cookie_name(&self) -> &'static str;
    /// The client behind a request from `peer`: the peer itself unless the
    /// server trusts it as a proxy, then the address its forwarding headers
    /// name (so log-in limits key on the visitor, not the proxy).
    fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let _ = headers;
        peer
    }
    /// Checks the credentials and opens a session.
    fn login(&self, username: String, password: String, client: IpAddr) -> BoxFuture<'_, LoginOutcome>;
    /// The live session behind a session cookie's value and its account
    /// (read afresh, so a changed role or a deleted account counts at once), if any.
    fn session(&self, token: String) -> BoxFuture<'_, Option<(Session, Account)>>;
    /// Ends the session; the `Set-Cookie` values that clear the cookies.
    fn logout(&self, token: String) -> BoxFuture<'_, Vec<HeaderValue>>;
    /// Called after the dashboard changed a site (saved a configuration), so
    /// the server drops what it caches about it.
    fn site_changed(&self, site: &SiteId);
    /// Queues a scan of the site's first allowed origin for a scan worker.
    /// Servers without a scan queue keep this default.
    fn queue_scan(&self, site: SiteId) -> BoxFuture<'_, QueueOutcome> {
        let _ = site;
        Box::pin(async { QueueOutcome::NotConfigured })
    }
    /// The site's recent scan jobs, newest first.
    fn scan_jobs(&self, site: SiteId) -> BoxFuture<'_, ScanJobs> {
        let _ = site;
        Box::pin(async { ScanJobs::NotConfigured })
    }
    /// The site's scan schedule (`off`, `daily`, `weekly`) and when the next
    /// scheduled scan is due; `None` without a scan queue (or while it is down).
    fn scan_schedule(&self, site: SiteId) -> BoxFuture<'_, Option<(String, Option<u64>)>> {
        let _ = site;
        Box::pin(async { None })
    }
    /// Sets the site's scan schedule (`off`, `daily` or `weekly`).
    fn set_scan_schedule(&self, site: SiteId, every: String) -> BoxFuture<'_, QueueOutcome> {
        let _ = (site, every);
        Box::pin(async { QueueOutcome::NotConfigured })
    }
    /// The site's alerts of new findings from scheduled scans, newest first.
    fn scan_alerts(&self, site: SiteId) -> BoxFuture<'_, Vec<ScanAlert>> {
        let _ = site;
        Box::pin(async { Vec::new() })
    }
    /// Dismisses the alert of scan `scan_id`; whether there was one.
    fn dismiss_scan_alert(&self, site: SiteId, scan_id: String) -> BoxFuture<'_, bool> {
        let _ = (site, scan_id);
        Box::pin(async { false })
    }
    /// The transparency log's latest checkpoint and verifier key, for the
    /// proof page; `None` when the server runs no log or it has published no
    /// checkpoint yet.
    fn log_state(&self) -> BoxFuture<'_, Option<LogState>> {
        Box::pin(async { None })
    }
    /// Erases a visitor (GDPR art. 17) through the same use case as the
    /// visitor's `DELETE /api/v1/sites/{site}/visitors/{consent_id}`:
    /// crypto-shredding, every proof stays valid. `Some(true)` when this
    /// destroyed the key, `Some(false)` when there was none (erased before,
    /// or an unknown consent id), `None` when storage is down.
    fn erase_visitor(&self, site: SiteId, consent: ConsentId) -> BoxFuture<'_, Option<bool>> {
        let _ = (site, consent);
        Box::pin(async { None })
    }
    /// The server's public URL, for the snippet sites paste (`https://consent.example.nl`).
    fn public_url(&self) -> String {
        String::new()
    }
    /// Creates a site with the starter configuration, through the same use
    /// case (and checks, and audit entry by `actor`) as `POST /api/v1/owner/sites`.
    fn create_site(&self, actor: String, id: String, origins: Vec<String>) -> BoxFuture<'_, NewSite> {
        let _ = (actor, id, origins);
        Box::pin(async { NewSite::Unavailable })
    }
    /// What the live preview runs: the loader template and where the server
    /// serves the widget's assets; `None` where the server has no widget.
    fn widget_assets(&self) -> Option<WidgetAssets> {
        None
    }
    /// A fresh, unpredictable nonce for one answer's Content-Security-Policy
    /// (the preview frame's scripts carry it); `None` without a source of
    /// randomness.
    fn csp_nonce(&self) -> Option<String> {
        None
    }
    /// Loads `url` (a page of one of the site's origins) and reports how it
    /// installs the loader ("check my installation").
    fn check_installation(&self, site: SiteId, url: String) -> BoxFuture<'_, InstallOutcome> {
        let _ = (site, url);
        Box::pin(async { InstallOutcome::Unavailable })
    }
    /// A new random one-time password (an invitation's, a reset's), from
    /// the server's own source of secrets; empty when it has none.
    fn new_password(&self) -> String {
        String::new()
    }
    /// `password` hashed as the server stores passwords (argon2id, PHC
    /// string), off the async threads; `None` while every password thread is
    /// busy (try again in a moment).
    fn hash_password(&self, password: String) -> BoxFuture<'_, Option<String>> {
        let _ = password;
        Box::pin(async { None })
    }
    /// Whether `password` is `username`'s, checked like a log-in (the same
    /// limits per client and per account), before a password change.
    fn verify_password(&self, username: String, password: String, client: IpAddr) -> BoxFuture<'_, PasswordCheck> {
        let _ = (username, password, client);
        Box::pin(async { PasswordCheck::Unavailable })
    }
    /// Mints an API key for `site` through the same use case (and checks)
    /// as `POST /api/v1/owner/sites/{site}/keys`, which also writes
    /// `KeyCreated` to the site's audit trail with `actor`. The caller has
    /// checked that the site exists and `actor` may manage its keys.
    fn create_api_key(
        &self,
        site: SiteId,
        name: String,
        scopes: Vec<Scope>,
        expires_ms: Option<u64>,
        actor: String,
    ) -> BoxFuture<'_, NewKey> {
        let _ = (site, name, scopes, expires_ms, actor);
        Box::pin(async { NewKey::Unavailable })
    }
}

/// What checking a password came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    Right,
    Wrong,
    /// Too many attempts (from this client, or on this account); later.
    Limited,
    Unavailable,
}

/// What minting an API key came to.
pub enum NewKey {
    /// The stored key and its secret, to show this once.
    Created {
        key: ApiKey,
        secret: String,
    },
    /// Refused as the API would: `field` names the input.
    Refused {
        field: String,
        message: String,
    },
    Unavailable,
}

/// The widget as the server serves it to sites.
pub struct WidgetAssets {
    /// The loader template (`consent-widget/loader/loader.js`), which
    /// `consent_core::loader::render` fills in with a site's rules.
    pub loader_template: &'static str,
    /// The path the server serves the widget's assets under (`/widget`).
    pub path: String,
}

/// What creating a site came to.
pub enum NewSite {
    Created,
    /// Refused as the API would: `field` names the input (`id`, `allowed_origins/0`).
    Refused {
        field: String,
        message: String,
    },
    Unavailable,
}

/// What "check my installation" found.
pub enum InstallOutcome {
    Checked(Installation),
    /// The address was refused or the page could not be loaded: why.
    Refused(String),
    Unavailable,
}

/// One page's installation, from its HTML.
pub struct Installation {
    pub url: String,
    /// The page's HTTP status.
    pub status: u16,
    /// The loader's tag, if the page has one.
    pub loader: Option<LoaderPlacement>,
    /// Tracker tags the browser runs before the loader.
    pub before_loader: Vec<TrackerTag>,
    /// Tracker tags written as plain `<script src>`/`<img src>`, fetched by
    /// the browser whatever the loader does.
    pub plain_tags: Vec<TrackerTag>,
}

/// Where the loader's `<script>` is.
pub struct LoaderPlacement {
    pub src: String,
    pub first_script: bool,
    pub in_head: bool,
    pub synchronous: bool,
}

/// A known tracker's tag in the page.
pub struct TrackerTag {
    pub url: String,
    /// `script`, `image`, `iframe` or `inline-reference`.
    pub kind: String,
    pub platform: String,
}

/// The proof log as the proof page shows it.
pub struct LogState {
    /// The latest checkpoint, a signed note exactly as served at `/api/v1/log/checkpoint`.
    pub checkpoint: String,
    /// Its tree size (decisions in the log).
    pub size: u64,
    /// The verifier key, as served at `/.well-known/keurmerk-log-key`.
    pub verifier_key: String,
}
