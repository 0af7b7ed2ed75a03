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
