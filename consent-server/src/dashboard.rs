//! The dashboard's view of the server's sessions: the same log-in (argon2,
//! the log-in rate limit, the dummy hash for unknown users) and the same
//! session and CSRF cookies as `POST /api/v1/auth/login`.

use std::net::IpAddr;

use axum::http::HeaderValue;
use consent_core::store::{Session, Store};
use dashboard::auth::{BoxFuture, LoginOutcome, QueueOutcome, ScanJob, ScanJobs};

use crate::api::decisions::now_ms;
use crate::api::session::session_cookies;
use crate::app::AppState;
use crate::auth::{SESSION_COOKIE, SESSION_TTL_MS, random_token, sha256, verify_password};

pub struct DashboardAuth(pub AppState);

impl dashboard::Auth for DashboardAuth {
    fn cookie_name(&self) -> &'static str {
        SESSION_COOKIE
    }

    fn login(&self, username: String, password: String, client: IpAddr) -> BoxFuture<'_, LoginOutcome> {
        Box::pin(async move {
            let app = &self.0;
            let now = now_ms();
            if app.limits.check_login(&app.limits.client_key(client, now)).is_err() {
                return LoginOutcome::Limited;
            }
            let Ok(admin) = app.store.admin(&username).await else {
                return LoginOutcome::Unavailable;
            };
            let phc = admin
                .as_ref()
                .map_or(app.dummy_hash.clone(), |a| a.password_hash.clone());
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
                .await
                .unwrap_or(false);
            let Some(admin) = admin.filter(|_| ok) else {
                return LoginOutcome::Wrong;
            };
            let (token, csrf) = (random_token(32), random_token(16));
            let session = Session {
                username: admin.username,
                csrf: csrf.clone(),
                expires_ms: now + SESSION_TTL_MS,
            };
            if app.store.create_session(sha256(&token), &session).await.is_err() {
                return LoginOutcome::Unavailable;
            }
            LoginOutcome::Ok(session_cookies(app, &token, &csrf, SESSION_TTL_MS / 1000).to_vec())
        })
    }

    fn session(&self, token: String) -> BoxFuture<'_, Option<Session>> {
        Box::pin(async move { self.0.store.session(&sha256(&token), now_ms()).await.ok().flatten() })
    }

    fn logout(&self, token: String) -> BoxFuture<'_, Vec<HeaderValue>> {
        Box::pin(async move {
            let _ = self.0.store.delete_session(&sha256(&token)).await;
            session_cookies(&self.0, "", "", 0).to_vec()
        })
    }

    fn site_changed(&self, site: &consent_core::SiteId) {
        self.0.sites.invalidate(site);
    }

    fn queue_scan(&self, site: consent_core::SiteId) -> BoxFuture<'_, QueueOutcome> {
        Box::pin(async move {
            // The same checks as the API's `POST .../scan-jobs` with defaults.
            let req = crate::api::scans::ScanJobRequest::default();
            match crate::api::scans::queue_job(&self.0, &site, &req).await {
                Ok(job) => QueueOutcome::Queued(job.id),
                Err(e) if e.error == "scan_queue_not_configured" => QueueOutcome::NotConfigured,
                Err(e) if e.status.is_server_error() => QueueOutcome::Unavailable,
                Err(e) => QueueOutcome::Invalid(e.message),
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
}
