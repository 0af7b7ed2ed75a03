//! Receipts: the log's signed promise, given at once when a decision is
//! recorded, that the record is leaf `index` and will be in the next
//! checkpoint. It becomes a full proof ([`crate::tlog_proof`]) once that
//! checkpoint is published.
//!
//! The signed message is binary, domain-separated, fixed layout:
//!
//! ```text
//! "keurmerk/receipt/v1" 0x00        20 bytes: domain tag (the NUL makes it
//!                                   impossible to read as a signed-note text,
//!                                   which the same key also signs)
//! u16 big-endian  len(origin)       origin = the log's key name
//! origin                            UTF-8
//! u64 big-endian  index             the leaf index
//! [32]            leaf hash         H(0x00 ‖ record's canonical bytes)
//! u64 big-endian  time_ms           the record's time, Unix milliseconds
//! ```
//!
//! The signature is Ed25519 with the log's checkpoint key, so the published
//! verifier key checks both.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::merkle::Hash;
use crate::note::{NoteSigner, NoteVerifier};

pub const RECEIPT_DOMAIN: &[u8; 20] = b"keurmerk/receipt/v1\0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The log's origin (its key name).
    pub log: String,
    pub index: u64,
    /// Standard base64 of the 32-byte leaf hash.
    pub leaf_hash: String,
    pub time_ms: u64,
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt is for log {got:?}, expected {expected:?}")]
    WrongLog { got: String, expected: String },
    #[error("receipt leaf hash is not the base64 of 32 bytes")]
    BadLeafHash,
    #[error("receipt signature is not the base64 of 64 bytes")]
    BadSignature,
    #[error("receipt signature does not verify")]
    InvalidSignature,
    #[error("receipt is for a different record (leaf hash differs)")]
    OtherRecord,
}

/// The exact bytes a receipt's signature covers.
pub fn signed_message(origin: &str, index: u64, leaf_hash: &Hash, time_ms: u64) -> Vec<u8> {
    let origin = origin.as_bytes();
    let len = u16::try_from(origin.len()).expect("key names are short");
    let mut m = Vec::with_capacity(20 + 2 + origin.len() + 8 + 32 + 8);
    m.extend_from_slice(RECEIPT_DOMAIN);
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(origin);
    m.extend_from_slice(&index.to_be_bytes());
    m.extend_from_slice(leaf_hash);
    m.extend_from_slice(&time_ms.to_be_bytes());
    m
}

impl Receipt {
    pub fn issue(signer: &NoteSigner, index: u64, leaf_hash: &Hash, time_ms: u64) -> Self {
        let sig = signer.sign_raw(&signed_message(signer.name(), index, leaf_hash, time_ms));
        Self {
            log: signer.name().to_owned(),
            index,
            leaf_hash: STANDARD.encode(leaf_hash),
            time_ms,
            signature: STANDARD.encode(sig),
        }
    }

    pub fn leaf_hash(&self) -> Result<Hash, ReceiptError> {
        let raw = STANDARD
            .decode(&self.leaf_hash)
            .map_err(|_| ReceiptError::BadLeafHash)?;
        raw.try_into().map_err(|_| ReceiptError::BadLeafHash)
    }

    /// Checks the signature, and optionally that it is for `record_leaf`.
    pub fn verify(&self, verifier: &NoteVerifier, record_leaf: Option<&Hash>) -> Result<(), ReceiptError> {
        if self.log != verifier.name() {
            return Err(ReceiptError::WrongLog {
                got: self.log.clone(),
                expected: verifier.name().to_owned(),
            });
        }
        let leaf = self.leaf_hash()?;
        let sig: [u8; 64] = STANDARD
            .decode(&self.signature)
            .map_err(|_| ReceiptError::BadSignature)?
            .try_into()
            .map_err(|_| ReceiptError::BadSignature)?;
        if !verifier.verify_raw(&signed_message(&self.log, self.index, &leaf, self.time_ms), &sig) {
            return Err(ReceiptError::InvalidSignature);
        }
        if record_leaf.is_some_and(|r| *r != leaf) {
            return Err(ReceiptError::OtherRecord);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn layout_is_pinned() {
        let m = signed_message("log", 0x0102, &[0xaa; 32], 0x0304);
        let mut want = b"keurmerk/receipt/v1\0\x00\x03log".to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        want.extend_from_slice(&[0xaa; 32]);
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 3, 4]);
        assert_eq!(m, want);
    }

    #[test]
    fn issue_verify_and_tamper() {
        let s = NoteSigner::new("keurmerk.test/log", SigningKey::from_bytes(&[2; 32])).unwrap();
        let leaf = leaf_hash(b"record");
        let r = Receipt::issue(&s, 41, &leaf, 1_700_000_000_123);
        r.verify(s.verifier(), Some(&leaf)).unwrap();
        assert_eq!(
            r.verify(s.verifier(), Some(&leaf_hash(b"other"))),
            Err(ReceiptError::OtherRecord)
        );
        for tampered in [
            Receipt { index: 42, ..r.clone() },
            Receipt {
                time_ms: r.time_ms + 1,
                ..r.clone()
            },
            Receipt {
                leaf_hash: STANDARD.encode(leaf_hash(b"x")),
                ..r.clone()
            },
        ] {
            assert_eq!(tampered.verify(s.verifier(), None), Err(ReceiptError::InvalidSignature));
        }
        let other = NoteSigner::new("keurmerk.test/log", SigningKey::from_bytes(&[3; 32])).unwrap();
        assert_eq!(r.verify(other.verifier(), None), Err(ReceiptError::InvalidSignature));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), r);
    }
}
