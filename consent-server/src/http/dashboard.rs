//! The dashboard's host: the server's services as the dashboard reaches them
//! (it never imports the server). The same log-in use case and the same
//! session and CSRF cookies as `POST /api/v1/auth/login`; scans queued
//! through the same use case as `POST .../scan-jobs`.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue};
use consent_core::account::Account;
use consent_core::store::{Scope, Session, StoreError};
use dashboard::host::{
    BoxFuture, InstallOutcome, Installation, LoaderPlacement, LogState, LoginOutcome, NewFinding, NewKey, NewSite,
    PasswordCheck, QueueOutcome, ScanAlert, ScanJob, ScanJobs, TrackerTag,
};

use crate::http::auth::{SESSION_COOKIE, session_cookies};
use crate::scan_queue::schedule::Every;
use crate::service::credentials::SESSION_TTL_MS;
use crate::service::scan::{self, ScanJobRequest, queue_job};
use crate::service::{AppState, Error, api_keys, login};

pub struct DashboardHost(pub AppState);

impl dashboard::Host for DashboardHost {
    fn public_url(&self) -> String {
        self.0.settings.public_url.trim_end_matches('/').to_owned()
    }

    fn widget_assets(&self) -> Option<dashboard::host::WidgetAssets> {
        Some(dashboard::host::WidgetAssets {
            loader_template: crate::http::public::LOADER_TEMPLATE,
            // Where `app::router` nests the widget's assets.
            path: "/widget".into(),
        })
    }

    fn csp_nonce(&self) -> Option<String> {
        use base64::Engine as _;
        use rand::RngCore as _;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    fn create_site(&self, actor: String, id: String, origins: Vec<String>) -> BoxFuture<'_, NewSite> {
        Box::pin(async move {
            let Ok(site) = consent_core::SiteId::parse(&id) else {
                return NewSite::Refused {
                    field: "id".into(),
                    message: "lower-case letters, digits and hyphens, starting with a letter or digit".into(),
                };
            };
            match crate::service::config::create_site(&self.0, &actor, site, origins, None).await {
                Ok(_) => NewSite::Created,
                Err(Error::Invalid { field, message }) => NewSite::Refused { field, message },
                Err(Error::Store(StoreError::Conflict(_))) => NewSite::Refused {
                    field: "id".into(),
                    message: format!("a site {id} exists already"),
                },
                Err(_) => NewSite::Unavailable,
            }
        })
    }

    fn check_installation(&self, site: consent_core::SiteId, url: String) -> BoxFuture<'_, InstallOutcome> {
        Box::pin(async move {
            match crate::service::installation::check(&self.0, &site, &url).await {
                Ok((status, c)) => {
                    let tags = |v: Vec<scanner::install::TagRef>| {
                        v.into_iter()
                            .map(|t| TrackerTag {
                                platform: t.platform.unwrap_or_default(),
                                url: t.url,
                                kind: t.kind,
                            })
                            .collect()
                    };
                    InstallOutcome::Checked(Installation {
                        url: c.page,
                        status,
                        loader: c.loader.map(|l| LoaderPlacement {
                            src: l.src,
                            first_script: l.first_script,
                            in_head: l.in_head,
                            synchronous: l.synchronous,
                        }),
                        before_loader: tags(c.before_loader),
                        plain_tags: tags(c.plain_tags),
                    })
                }
                Err(Error::Invalid { message, .. } | Error::NotFound(message)) => InstallOutcome::Refused(message),
                Err(_) => InstallOutcome::Unavailable,
            }
        })
    }

    fn new_password(&self) -> String {
        // 96 random bits as 16 base64url characters: typed once, then replaced.
        crate::service::credentials::random_token(12)
    }

    fn hash_password(&self, password: String) -> BoxFuture<'_, Option<String>> {
        // On the password checker's threads, queued with log-ins: never on
        // the async threads nor the blocking pool storage reads use.
        Box::pin(async move { self.0.passwords.hash(password).await.ok() })
    }

    fn verify_password(&self, username: String, password: String, client: IpAddr) -> BoxFuture<'_, PasswordCheck> {
        Box::pin(async move {
            match login::check_password(&self.0, &username, password, client).await {
                Ok(_) => PasswordCheck::Right,
                Err(Error::Unauthorized(_)) => PasswordCheck::Wrong,
                Err(Error::Limited(_)) => PasswordCheck::Limited,
                Err(_) => PasswordCheck::Unavailable,
            }
        })
    }

    fn create_api_key(
        &self,
        site: consent_core::SiteId,
        name: String,
        scopes: Vec<Scope>,
        expires_ms: Option<u64>,
        actor: String,
    ) -> BoxFuture<'_, NewKey> {
        Box::pin(async move {
            let expiry = api_keys::Expiry {
                at_ms: expires_ms,
                in_days: None,
            };
            match api_keys::create(&self.0, &site, name, scopes, expiry, actor).await {
                Ok((key, secret)) => NewKey::Created { key, secret },
                Err(Error::Invalid { field, message }) => NewKey::Refused { field, message },
                Err(_) => NewKey::Unavailable,
            }
        })
    }

    fn cookie_name(&self) -> &'static str {
        SESSION_COOKIE
    }

    fn login(&self, username: String, password: String, client: IpAddr) -> BoxFuture<'_, LoginOutcome> {
        Box::pin(async move {
            match login::log_in(&self.0, &username, password, client).await {
                Ok(o) => LoginOutcome::Ok(session_cookies(&self.0, &o.token, &o.csrf, SESSION_TTL_MS / 1000).to_vec()),
                Err(Error::Unauthorized(_)) => LoginOutcome::Wrong,
                Err(Error::Limited(_)) => LoginOutcome::Limited,
                Err(_) => LoginOutcome::Unavailable,
            }
        })
    }

    fn session(&self, token: String) -> BoxFuture<'_, Option<(Session, Account)>> {
        Box::pin(async move { login::session(&self.0, &token).await.ok().flatten() })
    }

    fn logout(&self, token: String) -> BoxFuture<'_, Vec<HeaderValue>> {
        Box::pin(async move {
            let _ = login::log_out(&self.0, &token).await;
            session_cookies(&self.0, "", "", 0).to_vec()
        })
    }

    fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        crate::http::extract::client_ip(peer, headers, &self.0.settings.trusted_proxies)
    }

    fn site_changed(&self, site: &consent_core::SiteId) {
        self.0.sites.invalidate(site);
    }

    fn queue_scan(&self, site: consent_core::SiteId) -> BoxFuture<'_, QueueOutcome> {
        Box::pin(async move {
            // The same checks as the API's `POST .../scan-jobs` with defaults.
            match queue_job(&self.0, &site, &ScanJobRequest::default()).await {
                Ok(job) => QueueOutcome::Queued(job.id),
                Err(Error::NotConfigured(_)) => QueueOutcome::NotConfigured,
                Err(Error::QueueUnavailable(_) | Error::Store(StoreError::Unavailable(_) | StoreError::Corrupt(_))) => {
                    QueueOutcome::Unavailable
                }
                Err(e) => QueueOutcome::Invalid(e.to_string()),
            }
        })
    }

    fn scan_jobs(&self, site: consent_core::SiteId) -> BoxFuture<'_, ScanJobs> {
        Box::pin(async move {
            let Some(queue) = &self.0.scan_queue else {
                return ScanJobs::NotConfigured;
            };
            match queue.jobs(&site, 20).await {
                Ok(jobs) => ScanJobs::Jobs(
                    jobs.into_iter()
                        .map(|j| ScanJob {
                            status: j.status.as_str().to_owned(),
                            stage: j.stage.as_str().to_owned(),
                            pages_done: j.pages_done,
                            pages_total: j.pages_total,
                            attempts: j.attempts,
                            note: j.note,
                            id: j.id,
                            url: j.url,
                            created_ms: j.created_ms,
                            scan_id: j.scan_id,
                            error: j.error,
                        })
                        .collect(),
                ),
                Err(_) => ScanJobs::Unavailable,
            }
        })
    }

    fn log_state(&self) -> BoxFuture<'_, Option<LogState>> {
        Box::pin(async move {
            let log = self.0.log.inner()?;
            let (size, checkpoint) = log.checkpoint().await.ok().flatten()?;
            Some(LogState {
                checkpoint,
                size,
                verifier_key: log.signer.verifier().to_string(),
            })
        })
    }

    fn erase_visitor(
        &self,
        site: consent_core::SiteId,
        consent: consent_core::ConsentId,
    ) -> BoxFuture<'_, Option<bool>> {
        Box::pin(async move { crate::service::erasure::erase(&self.0, &site, &consent).await.ok() })
    }

    fn scan_schedule(&self, site: consent_core::SiteId) -> BoxFuture<'_, Option<(String, Option<u64>)>> {
        Box::pin(async move {
            let s = scan::schedule(&self.0, &site).await.ok()?;
            Some((s.every.as_str().to_owned(), s.next_ms))
        })
    }

    fn set_scan_schedule(&self, site: consent_core::SiteId, every: String) -> BoxFuture<'_, QueueOutcome> {
        Box::pin(async move {
            let Some(every) = Every::parse(&every) else {
                return QueueOutcome::Invalid("choose off, daily or weekly".into());
            };
            match scan::set_schedule(&self.0, &site, every).await {
                Ok(s) => QueueOutcome::Queued(s.every.as_str().to_owned()),
                Err(Error::NotConfigured(_)) => QueueOutcome::NotConfigured,
                Err(Error::QueueUnavailable(_) | Error::Store(StoreError::Unavailable(_) | StoreError::Corrupt(_))) => {
                    QueueOutcome::Unavailable
                }
                Err(e) => QueueOutcome::Invalid(e.to_string()),
            }
        })
    }

    fn scan_alerts(&self, site: consent_core::SiteId) -> BoxFuture<'_, Vec<ScanAlert>> {
        Box::pin(async move {
            let alerts = scan::alerts(&self.0, &site).await.unwrap_or_default();
            alerts
                .into_iter()
                .map(|a| ScanAlert {
                    scan_id: a.scan_id,
                    created_ms: a.created_ms,
                    new_findings: a
                        .new_findings
                        .into_iter()
                        .map(|f| NewFinding {
                            platform: f.platform,
                            rule: f.rule,
                            state: f.state,
                            severity: f.severity,
                            title: f.title,
                        })
                        .collect(),
                })
                .collect()
        })
    }

    fn dismiss_scan_alert(&self, site: consent_core::SiteId, scan_id: String) -> BoxFuture<'_, bool> {
        Box::pin(async move { scan::dismiss_alert(&self.0, &site, &scan_id).await.is_ok() })
    }
}
