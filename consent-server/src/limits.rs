//! Rate limits (governor's GCRA): per client and per site for recording
//! decisions, and a strict one for admin logins.
//!
//! Clients are keyed by a keyed hash of their IP address and the current day,
//! so the limiter never holds a raw address and yesterday's keys cannot be
//! linked to today's. The key is random per process and never stored.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use consent_core::SiteId;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};

pub type ClientKey = [u8; 16];

/// A limit was reached: come back after `retry_after_secs`.
#[derive(Debug, thiserror::Error)]
pub enum Limited {
    #[error("too many requests {what}")]
    Rate { retry_after_secs: u64, what: &'static str },
    /// A site's scans waiting for a worker.
    #[error("{waiting} scans of this site are already waiting for a worker; try again when they ran")]
    TooManyJobs { waiting: usize },
}

impl Limited {
    fn rate(wait: Duration, what: &'static str) -> Self {
        Self::Rate {
            retry_after_secs: retry_after(wait).max(1),
            what,
        }
    }
}

#[derive(Clone)]
pub struct Limits {
    secret: Arc<[u8; 32]>,
    per_client: Option<Arc<DefaultKeyedRateLimiter<ClientKey>>>,
    per_site: Option<Arc<DefaultKeyedRateLimiter<SiteId>>>,
    logins: Option<Arc<DefaultKeyedRateLimiter<ClientKey>>>,
}

fn quota(per_second: u32) -> Option<Quota> {
    // Bursts of a few seconds' worth: a page view that records twice (banner,
    // then a change in the settings) must not trip the limit.
    NonZeroU32::new(per_second).map(|n| Quota::per_second(n).allow_burst(n.saturating_mul(NonZeroU32::new(5).unwrap())))
}

fn retry_after(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl Limits {
    /// `0` switches a limit off.
    pub fn new(client_per_second: u32, site_per_second: u32, logins_per_minute: u32) -> Self {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        let logins = NonZeroU32::new(logins_per_minute).map(|n| {
            let burst = NonZeroU32::new(logins_per_minute.div_ceil(2)).unwrap_or(n);
            Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(n).allow_burst(burst)))
        });
        Self {
            secret: Arc::new(secret),
            per_client: quota(client_per_second).map(|q| Arc::new(DefaultKeyedRateLimiter::keyed(q))),
            per_site: quota(site_per_second).map(|q| Arc::new(DefaultKeyedRateLimiter::keyed(q))),
            logins,
        }
    }

    /// The client's key: SHA-256(secret ‖ day ‖ ip), truncated.
    pub fn client_key(&self, ip: IpAddr, now_ms: u64) -> ClientKey {
        let day = now_ms / 86_400_000;
        let mut h = Sha256::new();
        h.update(&self.secret[..]);
        h.update(day.to_be_bytes());
        match ip {
            IpAddr::V4(v4) => h.update(v4.octets()),
            IpAddr::V6(v6) => h.update(v6.octets()),
        }
        h.finalize()[..16].try_into().expect("16 bytes")
    }

    pub fn check_decision(&self, client: &ClientKey, site: &SiteId) -> Result<(), Limited> {
        // Each limiter's own clock: building a clock probes the CPU (cpuid),
        // far too slow to do per request.
        if let Some(l) = &self.per_client {
            l.check_key(client)
                .map_err(|n| Limited::rate(n.wait_time_from(l.clock().now()), "from this client"))?;
        }
        if let Some(l) = &self.per_site {
            l.check_key(site)
                .map_err(|n| Limited::rate(n.wait_time_from(l.clock().now()), "for this site"))?;
        }
        Ok(())
    }

    pub fn check_login(&self, client: &ClientKey) -> Result<(), Limited> {
        let Some(l) = &self.logins else { return Ok(()) };
        l.check_key(client)
            .map_err(|n| Limited::rate(n.wait_time_from(l.clock().now()), "logging in from this client"))
    }

    /// Forgets idle keys so the limiters' memory stays bounded.
    pub fn sweep(&self) {
        if let Some(l) = &self.per_client {
            l.retain_recent();
        }
        if let Some(l) = &self.per_site {
            l.retain_recent();
        }
        if let Some(l) = &self.logins {
            l.retain_recent();
        }
    }
}
