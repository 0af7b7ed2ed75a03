//! Rate limits (governor's GCRA): per client and per site for recording
//! decisions, and a strict one for admin logins.
//!
//! Clients are keyed by a keyed hash of their IP address and the current day,
//! so the limiter never holds a raw address and yesterday's keys cannot be
//! linked to today's. The key is random per process and never stored.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consent_core::SiteId;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};

pub type ClientKey = [u8; 16];
/// An account's key for its log-in back-off.
pub type AccountKey = [u8; 16];

/// Failed log-ins in a row before an account starts to back off.
const FREE_FAILURES: u32 = 5;
/// The longest an account waits between tries.
const MAX_BACKOFF_MS: u64 = 15 * 60 * 1000;
/// Accounts whose failures are remembered at once (memory stays bounded).
const MAX_ACCOUNTS_TRACKED: usize = 10_000;

#[derive(Default)]
struct Failures {
    count: u32,
    until_ms: u64,
}

/// A limit was reached: come back after `retry_after_secs`.
#[derive(Debug, thiserror::Error)]
pub enum Limited {
    #[error("too many requests {what}")]
    Rate { retry_after_secs: u64, what: &'static str },
    /// Every password check is busy: log-ins wait for none.
    #[error("too many log-ins are being checked at once; try again in a moment")]
    Busy,
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
    failures: Arc<Mutex<HashMap<AccountKey, Failures>>>,
    erasures: Option<Arc<DefaultKeyedRateLimiter<ClientKey>>>,
    scan_uploads: Option<Arc<DefaultKeyedRateLimiter<SiteId>>>,
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
            failures: Arc::default(),
            erasures: None,
            scan_uploads: None,
        }
    }

    /// The client's key: SHA-256(secret ‖ day ‖ network), truncated. The
    /// network is the IPv4 address, or the IPv6 /64: one subscriber line or
    /// server usually gets a whole /64, so keying on full IPv6 addresses
    /// would give anyone 2^64 budgets. An IPv4-mapped IPv6 address counts as
    /// its IPv4 address.
    pub fn client_key(&self, ip: IpAddr, now_ms: u64) -> ClientKey {
        let day = now_ms / 86_400_000;
        let mut h = Sha256::new();
        h.update(&self.secret[..]);
        h.update(day.to_be_bytes());
        match ip.to_canonical() {
            IpAddr::V4(v4) => h.update(v4.octets()),
            IpAddr::V6(v6) => {
                h.update([6]);
                h.update(&v6.octets()[..8]);
            }
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

    /// Limits erasures to `per_minute` per client (`0`: none). An erasure
    /// folds the database's WAL back, which is dear: a client cannot ask for
    /// many more than a person would.
    pub fn with_erasures(mut self, per_minute: u32) -> Self {
        self.erasures = NonZeroU32::new(per_minute).map(|n| {
            let burst = NonZeroU32::new(per_minute.div_ceil(2)).unwrap_or(n);
            Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(n).allow_burst(burst)))
        });
        self
    }

    /// Limits scan-report uploads to `per_hour` per site (`0`: none): a
    /// report is up to a mebibyte kept for good, so an API key cannot fill
    /// the storage at the speed of the network.
    pub fn with_scan_uploads(mut self, per_hour: u32) -> Self {
        self.scan_uploads = NonZeroU32::new(per_hour).map(|n| {
            let burst = NonZeroU32::new(per_hour.div_ceil(6)).unwrap_or(n);
            Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_hour(n).allow_burst(burst)))
        });
        self
    }

    pub fn check_scan_upload(&self, site: &SiteId) -> Result<(), Limited> {
        let Some(l) = &self.scan_uploads else { return Ok(()) };
        l.check_key(site)
            .map_err(|n| Limited::rate(n.wait_time_from(l.clock().now()), "uploading scans for this site"))
    }

    pub fn check_erasure(&self, client: &ClientKey) -> Result<(), Limited> {
        let Some(l) = &self.erasures else { return Ok(()) };
        l.check_key(client)
            .map_err(|n| Limited::rate(n.wait_time_from(l.clock().now()), "erasing from this client"))
    }

    /// The back-off of one account's log-ins (by the name tried, existing or
    /// not, so the answer says nothing about which accounts exist).
    pub fn account(&self, username: &str) -> AccountKey {
        let mut h = Sha256::new();
        h.update(&self.secret[..]);
        h.update(b"account");
        h.update(username.as_bytes());
        h.finalize()[..16].try_into().expect("16 bytes")
    }

    /// Refuses a log-in while the account backs off after failures.
    pub fn check_account(&self, account: &AccountKey, now_ms: u64) -> Result<(), Limited> {
        let failures = self.failures.lock().expect("failures");
        match failures.get(account) {
            Some(f) if f.until_ms > now_ms => Err(Limited::Rate {
                retry_after_secs: (f.until_ms - now_ms).div_ceil(1000).max(1),
                what: "for this account; it backs off after failed log-ins",
            }),
            _ => Ok(()),
        }
    }

    /// Records a failed log-in: from the fifth failure in a row on, the
    /// account waits 1 s, then 2, 4, … up to 15 minutes before the next try.
    pub fn account_failed(&self, account: AccountKey, now_ms: u64) {
        let mut failures = self.failures.lock().expect("failures");
        if failures.len() >= MAX_ACCOUNTS_TRACKED && !failures.contains_key(&account) {
            // Full of names tried (an attacker spraying made-up names): the
            // per-client limit still holds them back; forget the idle ones.
            failures.retain(|_, f| f.until_ms > now_ms);
            if failures.len() >= MAX_ACCOUNTS_TRACKED {
                return;
            }
        }
        let f = failures.entry(account).or_default();
        f.count = f.count.saturating_add(1);
        if f.count >= FREE_FAILURES {
            let exp = (f.count - FREE_FAILURES).min(10);
            f.until_ms = now_ms + (1000u64 << exp).min(MAX_BACKOFF_MS);
        }
    }

    /// A successful log-in ends the account's back-off.
    pub fn account_succeeded(&self, account: &AccountKey) {
        self.failures.lock().expect("failures").remove(account);
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
        if let Some(l) = &self.erasures {
            l.retain_recent();
        }
        if let Some(l) = &self.scan_uploads {
            l.retain_recent();
        }
        // A back-off over for an hour is forgotten with its count.
        let cutoff = crate::clock::now_ms().saturating_sub(3_600_000);
        self.failures
            .lock()
            .expect("failures")
            .retain(|_, f| f.until_ms > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let l = Limits::new(1, 1, 1);
        let key = |ip: &str| l.client_key(ip.parse().unwrap(), 0);
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
    }

    #[test]
    fn accounts_back_off_after_failures_and_recover_on_success() {
        let l = Limits::new(1, 1, 1);
        let admin = l.account("admin");
        for _ in 0..FREE_FAILURES - 1 {
            l.account_failed(admin, 1_000);
            assert!(l.check_account(&admin, 1_000).is_ok());
        }
        l.account_failed(admin, 1_000);
        assert!(
            l.check_account(&admin, 1_000).is_err(),
            "the fifth failure starts the back-off"
        );
        assert!(l.check_account(&admin, 2_001).is_ok(), "one second later");
        l.account_failed(admin, 2_001);
        assert!(l.check_account(&admin, 3_001).is_err(), "two seconds after the sixth");
        assert!(l.check_account(&l.account("other"), 2_001).is_ok(), "per account");
        l.account_succeeded(&admin);
        assert!(l.check_account(&admin, 2_001).is_ok());
    }
}
