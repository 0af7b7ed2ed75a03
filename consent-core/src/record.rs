//! What is stored and logged for a decision.
//!
//! A record's canonical bytes (RFC 8785 JSON) are the leaf of the proof log,
//! so anyone holding the record can recompute its leaf hash. Fields that could
//! identify a person travel only inside `sealed`, encrypted under a key kept
//! per consent id: erasing the visitor destroys the key, the ciphertext
//! becomes noise, and the leaf — which commits to the ciphertext — still
//! verifies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ConfigVersion;
use crate::decision::Method;
use crate::id::{ConsentId, SiteId};

/// The schema version of [`DecisionRecord`].
pub const RECORD_VERSION: u32 = 1;

/// A recorded decision as stored and committed to the proof log (one leaf).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    /// The schema version, [`RECORD_VERSION`].
    pub v: u32,
    /// The site the decision was made on.
    pub site: SiteId,
    /// The visitor's consent id; all their decisions on the site share it.
    pub consent_id: ConsentId,
    /// When the server accepted the decision, in Unix milliseconds (UTC).
    pub time_ms: u64,
    /// The configuration version the visitor saw.
    pub config_version: ConfigVersion,
    /// How the visitor decided.
    pub method: Method,
    /// Every category of that configuration -> granted.
    pub categories: BTreeMap<String, bool>,
    /// Service id -> granted, where the visitor chose per service.
    pub services: BTreeMap<String, bool>,
    /// The language the banner was shown in.
    pub language: String,
    /// Whether the browser sent Global Privacy Control.
    pub gpc: bool,
    /// [`PersonalFields`], sealed: base64url(nonce ‖ ciphertext ‖ tag). Empty
    /// only in records built without the `proof` feature (never stored).
    pub sealed: String,
}

/// The parts of a decision that could help identify a person. Kept to a
/// minimum: the page path (no query string) and a coarse browser summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalFields {
    /// The page's path, without query string or fragment.
    pub page_path: String,
    /// Browser family and major version, e.g. "Chrome 131"; never the full
    /// user-agent string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
}

impl DecisionRecord {
    /// The record as committed to the log: RFC 8785 canonical JSON.
    ///
    /// Written by serde_json straight from the fields in RFC 8785 order
    /// rather than by a general canonicaliser, which builds and sorts a tree
    /// first: that was a noticeable share of the server's CPU per decision
    /// (see docs/benchmarks.md, decisions bench, 2026-11-25). The two agree
    /// whenever every map key is ASCII (then byte order is RFC 8785's UTF-16
    /// order, and serde_json escapes strings exactly as RFC 8785 §3.2.2.2 asks), which
    /// configuration validation guarantees for category and service ids;
    /// any other record takes the general path. A test checks the two agree.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let ascii_keys = self.categories.keys().chain(self.services.keys()).all(|k| k.is_ascii());
        // Integers above 2^53 are written as doubles by RFC 8785.
        if ascii_keys && self.time_ms <= 1 << 53 {
            serde_json::to_vec(&CanonicalOrder::from(self)).expect("records serialise")
        } else {
            self.general_canonical_bytes()
        }
    }

    /// RFC 8785 by a general canonicaliser: the reference for [`Self::canonical_bytes`].
    pub fn general_canonical_bytes(&self) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(self).expect("records serialise")
    }

    /// Parses canonical bytes back, refusing anything that is not exactly
    /// what [`canonical_bytes`](Self::canonical_bytes) would have produced.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, RecordError> {
        let record: Self = serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if record.canonical_bytes() != bytes {
            return Err(RecordError::NotCanonical);
        }
        Ok(record)
    }
}

/// A record's fields in RFC 8785 order (sorted by name), borrowed.
#[derive(Serialize)]
struct CanonicalOrder<'a> {
    categories: &'a BTreeMap<String, bool>,
    config_version: &'a ConfigVersion,
    consent_id: &'a ConsentId,
    gpc: bool,
    language: &'a str,
    method: Method,
    sealed: &'a str,
    services: &'a BTreeMap<String, bool>,
    site: &'a SiteId,
    time_ms: u64,
    v: u32,
}

impl<'a> From<&'a DecisionRecord> for CanonicalOrder<'a> {
    fn from(r: &'a DecisionRecord) -> Self {
        Self {
            categories: &r.categories,
            config_version: &r.config_version,
            consent_id: &r.consent_id,
            gpc: r.gpc,
            language: &r.language,
            method: r.method,
            sealed: &r.sealed,
            services: &r.services,
            site: &r.site,
            time_ms: r.time_ms,
            v: r.v,
        }
    }
}

/// Why a record could not be read or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The bytes are not a record's JSON (the parser's message is given).
    #[error("record is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    /// The JSON is a record but not in its canonical form, so it cannot be a leaf.
    #[error("record bytes are not in RFC 8785 canonical form")]
    NotCanonical,
    /// The sealed fields do not decrypt under the key given.
    #[error("sealed fields cannot be opened with this key (wrong key, erased, or tampered)")]
    Unseal,
}

#[cfg(feature = "proof")]
mod seal {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};

    use super::*;
    use crate::decision::ValidDecision;

    /// Binds the ciphertext to its site and consent id, so sealed fields cannot
    /// be moved to another visitor's record.
    fn aad(site: &SiteId, consent: &ConsentId) -> Vec<u8> {
        format!("keurmerk/sealed/v1\n{site}\n{consent}").into_bytes()
    }

    impl PersonalFields {
        /// Encrypts with XChaCha20-Poly1305. `nonce` must be fresh random
        /// bytes (24 bytes make random nonces safe without a counter).
        pub fn seal(&self, key: &[u8; 32], nonce: [u8; 24], site: &SiteId, consent: &ConsentId) -> String {
            let cipher = XChaCha20Poly1305::new(key.into());
            let plain = serde_json::to_vec(self).expect("personal fields serialise");
            let aad = aad(site, consent);
            let ct = cipher
                .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: &aad })
                .expect("encryption of a bounded message cannot fail");
            let mut out = nonce.to_vec();
            out.extend_from_slice(&ct);
            URL_SAFE_NO_PAD.encode(out)
        }

        /// Decrypts what [`Self::seal`] produced for the same site and consent id.
        pub fn open(sealed: &str, key: &[u8; 32], site: &SiteId, consent: &ConsentId) -> Result<Self, RecordError> {
            let raw = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| RecordError::Unseal)?;
            if raw.len() < 24 + 16 {
                return Err(RecordError::Unseal);
            }
            let (nonce, ct) = raw.split_at(24);
            let cipher = XChaCha20Poly1305::new(key.into());
            let aad = aad(site, consent);
            let plain = cipher
                .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
                .map_err(|_| RecordError::Unseal)?;
            serde_json::from_slice(&plain).map_err(|_| RecordError::Unseal)
        }
    }

    impl DecisionRecord {
        /// Builds the record for a validated decision, sealing its personal
        /// fields under the visitor's key.
        pub fn seal(
            site: SiteId,
            consent_id: ConsentId,
            time_ms: u64,
            decision: ValidDecision,
            browser: Option<String>,
            key: &[u8; 32],
            nonce: [u8; 24],
        ) -> Self {
            let personal = PersonalFields {
                page_path: decision.page_path,
                browser,
            };
            let sealed = personal.seal(key, nonce, &site, &consent_id);
            DecisionRecord {
                v: RECORD_VERSION,
                site,
                consent_id,
                time_ms,
                config_version: decision.config_version,
                method: decision.method,
                categories: decision.categories,
                services: decision.services,
                language: decision.language,
                gpc: decision.gpc,
                sealed,
            }
        }

        /// The record's personal fields, decrypted with the visitor's key.
        pub fn open(&self, key: &[u8; 32]) -> Result<PersonalFields, RecordError> {
            PersonalFields::open(&self.sealed, key, &self.site, &self.consent_id)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::config::SiteConfig;
        use crate::decision::DecisionRequest;

        fn record(key: &[u8; 32]) -> DecisionRecord {
            let config = SiteConfig::starter();
            let d = DecisionRequest {
                consent_id: None,
                secret: None,
                config_version: config.version(),
                method: Method::RejectAll,
                categories: BTreeMap::new(),
                services: BTreeMap::new(),
                language: "en".into(),
                page_path: "/checkout".into(),
                gpc: false,
            }
            .validate(&config)
            .unwrap();
            DecisionRecord::seal(
                SiteId::parse("demo").unwrap(),
                ConsentId::from_random([7; 16]),
                1_700_000_000_000,
                d,
                Some("Firefox 133".into()),
                key,
                [9; 24],
            )
        }

        #[test]
        fn seal_round_trips_and_canonical_bytes_parse_back() {
            let r = record(&[1; 32]);
            assert_eq!(r.open(&[1; 32]).unwrap().page_path, "/checkout");
            let bytes = r.canonical_bytes();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("checkout"),
                "path must not appear in clear"
            );
            assert_eq!(DecisionRecord::from_canonical_bytes(&bytes).unwrap(), r);
        }

        #[test]
        fn wrong_key_or_moved_ciphertext_does_not_open() {
            let r = record(&[1; 32]);
            assert_eq!(r.open(&[2; 32]), Err(RecordError::Unseal));
            let mut moved = r.clone();
            moved.consent_id = ConsentId::from_random([8; 16]);
            assert_eq!(moved.open(&[1; 32]), Err(RecordError::Unseal));
        }

        #[test]
        fn non_canonical_bytes_are_refused() {
            let r = record(&[1; 32]);
            let pretty = serde_json::to_vec_pretty(&r).unwrap();
            assert_eq!(
                DecisionRecord::from_canonical_bytes(&pretty),
                Err(RecordError::NotCanonical)
            );
        }
    }
}

#[cfg(test)]
mod canonical_tests {
    use super::*;
    use crate::config::SiteConfig;
    use proptest::prelude::*;

    fn method(i: u8) -> Method {
        [
            Method::AcceptAll,
            Method::RejectAll,
            Method::Custom,
            Method::Withdrawal,
            Method::Gpc,
        ][usize::from(i % 5)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The fast writer and the general canonicaliser agree on every
        /// record, whatever its strings hold (control characters, quotes,
        /// backslashes, non-ASCII, astral planes) and whatever its map keys are.
        #[test]
        fn fast_canonical_bytes_equal_the_general_canonicaliser(
            categories in proptest::collection::btree_map("[a-z0-9_-]{1,12}", any::<bool>(), 0..6),
            services in proptest::collection::btree_map("\\PC{0,8}|[\\x00-\\x7f]{0,8}", any::<bool>(), 0..6),
            language in "\\PC{0,8}|[\\x00-\\x1f\"\\\\/]{0,8}",
            sealed in any::<String>(),
            time_ms in any::<u64>(),
            v in any::<u32>(),
            gpc in any::<bool>(),
            m in any::<u8>(),
            id in any::<[u8; 16]>(),
        ) {
            let r = DecisionRecord {
                v,
                site: SiteId::parse("demo-site").unwrap(),
                consent_id: ConsentId::from_random(id),
                time_ms,
                config_version: SiteConfig::starter().version(),
                method: method(m),
                categories,
                services,
                language,
                gpc,
                sealed,
            };
            prop_assert_eq!(
                String::from_utf8(r.canonical_bytes()).unwrap(),
                String::from_utf8(r.general_canonical_bytes()).unwrap()
            );
        }
    }
}
