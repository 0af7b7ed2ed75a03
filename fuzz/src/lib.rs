//! What the fuzz targets share: the keys and the site configuration they
//! check input against, each taken from the repository's own test vectors so
//! the seed corpora (`fuzz/corpus/<target>/`, written by `examples/seeds.rs`)
//! carry signatures and versions the targets accept, and the fuzzer starts
//! deep inside the parsers rather than at their first refusal.

use std::collections::BTreeMap;

use consent_core::config::{CookieDecl, LegalBasis, Service, SiteConfig};
use consent_core::note::{NoteSigner, NoteVerifier};
use ed25519_dalek::SigningKey;

/// The `golang.org/x/mod/sumdb/note` package example's verifier key (also
/// `consent_core::note`'s known-answer test).
pub const GO_NOTE_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// Its signer key.
pub const GO_NOTE_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

/// The log key of `consent_core::tlog_proof`'s tests: name (= checkpoint
/// origin) `keurmerk.test/log`, seed `[9; 32]`.
pub fn log_signer() -> NoteSigner {
    NoteSigner::new("keurmerk.test/log", SigningKey::from_bytes(&[9; 32])).expect("valid key name")
}

/// [`log_signer`]'s public half.
pub fn log_verifier() -> NoteVerifier {
    log_signer().verifier().clone()
}

/// The Go example's signer.
pub fn go_signer() -> NoteSigner {
    NoteSigner::parse(GO_NOTE_SKEY).expect("the Go example key parses")
}

/// The starter configuration with two services, as the demo site has
/// (`consent-server`'s `bootstrap::demo_config`, trimmed): decisions are
/// validated against it, so per-service choices are reachable.
pub fn demo_config() -> SiteConfig {
    let mut config = SiteConfig::starter();
    config.controller = "Keurmerk demo shop".into();
    let service = |id: &str, category: &str, hosts: &[&str], cookie: &str| Service {
        id: id.into(),
        name: id.into(),
        category: category.into(),
        provider: "Example Ltd.".into(),
        privacy_policy_url: Some("https://example.com/privacy".into()),
        hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        cookies: vec![CookieDecl {
            name: cookie.into(),
            domain: None,
            provider: "Example".into(),
            purpose: "Measures".into(),
            retention: "2 years".into(),
            retention_days: Some(730),
            country: "IE".into(),
            legal_basis: LegalBasis::Consent,
        }],
        description: BTreeMap::from([("en".into(), "A service".into())]),
    };
    config.services = vec![
        service("youtube", "marketing", &["www.youtube.com", "*.ytimg.com"], "YSC"),
        service(
            "google-analytics",
            "analytics",
            &["www.googletagmanager.com", "*.google-analytics.com"],
            "_ga_*",
        ),
    ];
    config
}
