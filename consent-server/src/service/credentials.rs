//! Credentials: admin passwords (argon2), session and CSRF tokens, API keys.
//! Storage keeps only hashes: argon2 PHC strings for passwords, SHA-256 for
//! tokens and keys (they are 256 random bits, so a fast hash is enough).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng as HashRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// Sessions last twelve hours.
pub const SESSION_TTL_MS: u64 = 12 * 3600 * 1000;
/// API keys start with this, so leaked ones are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "kmk_";

/// Compares a secret sent by a client with the one expected in time that
/// does not depend on where they first differ, so response timing reveals
/// nothing of the expected value.
pub fn same_secret(sent: &str, expected: &str) -> bool {
    sent.len() == expected.len() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

pub fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// `n` random bytes from the OS, base64url.
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new API key: the secret (shown once) and its public id.
pub fn new_api_key() -> (String, String) {
    let mut id = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut id);
    (
        format!("{KEY_PREFIX}{}", random_token(32)),
        format!("key_{}", hex::encode(id)),
    )
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut HashRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Verifies (and hashes) passwords on threads of its own, a few at a time,
/// with a short queue. argon2 is deliberately dear (tens of milliseconds of a core and
/// ~19 MiB per check): on the shared blocking pool, a flood of log-in
/// attempts would take the threads the SQLite reads run on and could
/// allocate without bound. Here at most `threads` checks run and `queue`
/// wait; any further attempt is refused at once ([`Busy`]).
#[derive(Clone)]
pub struct PasswordChecker {
    jobs: std::sync::mpsc::SyncSender<Check>,
    peak: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

enum Check {
    Verify {
        password: String,
        phc: String,
        answer: tokio::sync::oneshot::Sender<bool>,
    },
    /// A new password (a change in the dashboard, an invitation's one-time
    /// password): hashing costs what a check costs, so it queues with them.
    Hash {
        password: String,
        answer: tokio::sync::oneshot::Sender<String>,
    },
}

/// Every checker thread is busy and the queue is full.
#[derive(Debug, thiserror::Error)]
#[error("too many log-ins are being checked at once")]
pub struct Busy;

impl PasswordChecker {
    pub fn start(threads: usize, queue: usize) -> Self {
        use std::sync::atomic::Ordering;
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Check>(queue);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for i in 0..threads.max(1) {
            let (rx, running, peak) = (rx.clone(), running.clone(), peak.clone());
            std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    loop {
                        // Only this loop takes the lock, and holds it just to receive.
                        let next = rx.lock().expect("password queue").recv();
                        let Ok(check) = next else { return };
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        match check {
                            Check::Verify { password, phc, answer } => {
                                let ok = verify_password(&password, &phc);
                                running.fetch_sub(1, Ordering::SeqCst);
                                let _ = answer.send(ok);
                            }
                            Check::Hash { password, answer } => {
                                let phc = hash_password(&password);
                                running.fetch_sub(1, Ordering::SeqCst);
                                let _ = answer.send(phc);
                            }
                        }
                    }
                })
                .expect("starting a password thread");
        }
        Self { jobs, peak }
    }

    /// Whether `password` matches the argon2 PHC string `phc`.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, Busy> {
        let (answer, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(Check::Verify { password, phc, answer })
            .map_err(|_| Busy)?;
        Ok(rx.await.unwrap_or(false))
    }

    /// `password` hashed with argon2 (a PHC string), on the checker's threads.
    pub async fn hash(&self, password: String) -> Result<String, Busy> {
        let (answer, rx) = tokio::sync::oneshot::channel();
        self.jobs.try_send(Check::Hash { password, answer }).map_err(|_| Busy)?;
        rx.await.map_err(|_| Busy)
    }

    /// The most checks that ever ran at once (for tests and metrics).
    pub fn peak(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_checks_are_bounded_and_refused_beyond_the_queue() {
        let checker = PasswordChecker::start(2, 3);
        let phc = hash_password("right");
        let tries: Vec<_> = (0..20)
            .map(|i| {
                let (checker, phc) = (checker.clone(), phc.clone());
                tokio::spawn(async move { checker.verify(if i == 0 { "right" } else { "wrong" }.into(), phc).await })
            })
            .collect();
        let mut answered = 0;
        let mut busy = 0;
        for t in tries {
            match t.await.unwrap() {
                Ok(_) => answered += 1,
                Err(Busy) => busy += 1,
            }
        }
        assert!(busy > 0, "20 at once on 2 threads with a queue of 3: some are refused");
        assert!(answered >= 2, "and some are checked");
        assert!(checker.peak() <= 2, "never more than two at once: {}", checker.peak());
        assert!(checker.verify("right".into(), phc.clone()).await.unwrap());
        assert!(!checker.verify("wrong".into(), phc).await.unwrap());
        let hashed = checker.hash("new one".into()).await.unwrap();
        assert!(verify_password("new one", &hashed) && !verify_password("right", &hashed));
    }

    #[test]
    fn secrets_compare_in_full() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
    }
}
