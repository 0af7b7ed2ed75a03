//! Receipts: the log's signed promise, given at once when a decision is
//! recorded, that the record is leaf `index` and will be in the next
//! checkpoint. It becomes a full proof ([`crate::tlog_proof`]) once that
//! checkpoint is published.
//!
//! Receipts issued at the same moment share one Ed25519 signature: the
//! server collects the receipts waiting to be signed (as its store collects
//! writes into one commit), builds an RFC 9162 Merkle tree over them and
//! signs its root once. Each receipt carries its position and audit path in
//! that small tree. Under load this turns thousands of signatures a second
//! into a handful; alone, a receipt is a batch of one with an empty path.
//!
//! Byte layouts (all integers big-endian):
//!
//! ```text
//! receipt message  = "keurmerk/receipt/v1" 0x00     20 bytes, domain tag
//!                    u16 len(origin) ‖ origin         the log's key name
//!                    u64 index ‖ [32] leaf hash ‖ u64 time_ms
//! batch item       = SHA-256(0x00 ‖ receipt message)   (an RFC 9162 leaf hash)
//! signed message   = "keurmerk/receipt-batch/v1" 0x00  26 bytes, domain tag
//!                    u16 len(origin) ‖ origin
//!                    u64 batch size ‖ [32] batch root  (RFC 9162 root of the items)
//! ```
//!
//! The NUL bytes make both messages impossible to read as a signed-note text
//! (which must be NUL-free UTF-8), so a receipt signature can never pass for
//! a checkpoint signature by the same key, nor the other way round. The
//! published verifier key checks both.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::merkle::{Hash, MAX_PROOF_LEN, MemoryTree, inclusion_proof, leaf_hash, root_from_inclusion};
use crate::note::{NoteSigner, NoteVerifier};

/// The domain tag that starts every receipt message.
pub const RECEIPT_DOMAIN: &[u8; 20] = b"keurmerk/receipt/v1\0";
/// The domain tag that starts every signed batch message.
pub const BATCH_DOMAIN: &[u8; 26] = b"keurmerk/receipt-batch/v1\0";

/// The log's signed promise that a record is leaf `index` and will be in the
/// next checkpoint, as returned with a recorded decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The log's origin (its key name).
    pub log: String,
    /// The record's leaf index in the log.
    pub index: u64,
    /// Standard base64 of the 32-byte leaf hash.
    pub leaf_hash: String,
    /// When the server accepted the decision, Unix milliseconds (the record's `time_ms`).
    pub time_ms: u64,
    /// How many receipts the signature covers, and this one's place among them.
    pub batch_size: u64,
    /// This receipt's place in its batch, from 0.
    pub batch_position: u64,
    /// Standard base64 hashes: the audit path from this receipt's item to the
    /// batch root (empty for a batch of one).
    pub batch_path: Vec<String>,
    /// Standard base64 of the 64-byte Ed25519 signature over the batch.
    pub signature: String,
}

/// Why a receipt does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt names another log than the verifier key's.
    #[error("receipt is for log {got:?}, expected {expected:?}")]
    WrongLog {
        /// The log the receipt names.
        got: String,
        /// The verifier key's name.
        expected: String,
    },
    /// `leaf_hash` is not the standard base64 of 32 bytes.
    #[error("receipt leaf hash is not the base64 of 32 bytes")]
    BadLeafHash,
    /// `signature` is not the standard base64 of 64 bytes.
    #[error("receipt signature is not the base64 of 64 bytes")]
    BadSignature,
    /// The batch path, size or position cannot be a path in a batch (the reason is given).
    #[error("receipt batch path is malformed: {0}")]
    BadBatchPath(String),
    /// The signature does not verify over the batch root the receipt leads to.
    #[error("receipt signature does not verify")]
    InvalidSignature,
    /// The receipt is valid but for another record than the one given.
    #[error("receipt is for a different record (leaf hash differs)")]
    OtherRecord,
}

fn with_origin(domain: &[u8], origin: &str, extra: usize) -> Vec<u8> {
    let origin = origin.as_bytes();
    let len = u16::try_from(origin.len()).expect("key names are short");
    let mut m = Vec::with_capacity(domain.len() + 2 + origin.len() + extra);
    m.extend_from_slice(domain);
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(origin);
    m
}

/// The receipt message for one leaf (see the module docs).
pub fn signed_message(origin: &str, index: u64, leaf_hash: &Hash, time_ms: u64) -> Vec<u8> {
    let mut m = with_origin(RECEIPT_DOMAIN, origin, 48);
    m.extend_from_slice(&index.to_be_bytes());
    m.extend_from_slice(leaf_hash);
    m.extend_from_slice(&time_ms.to_be_bytes());
    m
}

/// The bytes the batch signature covers.
pub fn batch_message(origin: &str, size: u64, root: &Hash) -> Vec<u8> {
    let mut m = with_origin(BATCH_DOMAIN, origin, 40);
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(root);
    m
}

/// One leaf to give a receipt for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The record's leaf index.
    pub index: u64,
    /// The record's leaf hash.
    pub leaf_hash: Hash,
    /// The record's time, Unix milliseconds.
    pub time_ms: u64,
}

/// Signs receipts for `items` with one signature, in the same order.
pub fn sign_batch(signer: &NoteSigner, items: &[Pending]) -> Vec<Receipt> {
    let origin = signer.name();
    let mut tree = MemoryTree::new();
    for p in items {
        tree.push(leaf_hash(&signed_message(origin, p.index, &p.leaf_hash, p.time_ms)));
    }
    let size = items.len() as u64;
    let signature = STANDARD.encode(signer.sign_raw(&batch_message(origin, size, &tree.root())));
    items
        .iter()
        .enumerate()
        .map(|(i, p)| Receipt {
            log: origin.to_owned(),
            index: p.index,
            leaf_hash: STANDARD.encode(p.leaf_hash),
            time_ms: p.time_ms,
            batch_size: size,
            batch_position: i as u64,
            batch_path: inclusion_proof(&tree, i as u64, size)
                .expect("position within the batch")
                .iter()
                .map(|h| STANDARD.encode(h))
                .collect(),
            signature: signature.clone(),
        })
        .collect()
}

impl Receipt {
    /// A receipt of its own (a batch of one).
    pub fn issue(signer: &NoteSigner, index: u64, leaf_hash: &Hash, time_ms: u64) -> Self {
        let item = Pending {
            index,
            leaf_hash: *leaf_hash,
            time_ms,
        };
        sign_batch(signer, &[item]).pop().expect("one receipt")
    }

    /// The leaf hash, decoded.
    pub fn leaf_hash(&self) -> Result<Hash, ReceiptError> {
        let raw = STANDARD
            .decode(&self.leaf_hash)
            .map_err(|_| ReceiptError::BadLeafHash)?;
        raw.try_into().map_err(|_| ReceiptError::BadLeafHash)
    }

    /// Checks the signature over the batch this receipt belongs to, and
    /// optionally that the receipt is for `record_leaf`.
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
        if self.batch_path.len() > MAX_PROOF_LEN {
            return Err(ReceiptError::BadBatchPath("too long".into()));
        }
        let path: Vec<Hash> = self
            .batch_path
            .iter()
            .map(|h| STANDARD.decode(h).ok().and_then(|b| b.try_into().ok()))
            .collect::<Option<_>>()
            .ok_or_else(|| ReceiptError::BadBatchPath("not base64 hashes".into()))?;
        let item = leaf_hash(&signed_message(&self.log, self.index, &leaf, self.time_ms));
        let root = root_from_inclusion(self.batch_position, self.batch_size, &item, &path)
            .map_err(|e| ReceiptError::BadBatchPath(e.to_string()))?;
        if !verifier.verify_raw(&batch_message(&self.log, self.batch_size, &root), &sig) {
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

    #[test]
    fn layouts_are_pinned() {
        let m = signed_message("log", 0x0102, &[0xaa; 32], 0x0304);
        let mut want = b"keurmerk/receipt/v1\0\x00\x03log".to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        want.extend_from_slice(&[0xaa; 32]);
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 3, 4]);
        assert_eq!(m, want);
        let b = batch_message("log", 5, &[0xbb; 32]);
        let mut want = b"keurmerk/receipt-batch/v1\0\x00\x03log".to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 5]);
        want.extend_from_slice(&[0xbb; 32]);
        assert_eq!(b, want);
    }

    fn signer(seed: u8) -> NoteSigner {
        NoteSigner::new("keurmerk.test/log", SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    #[test]
    fn issue_verify_and_tamper() {
        let s = signer(2);
        let leaf = leaf_hash(b"record");
        let r = Receipt::issue(&s, 41, &leaf, 1_700_000_000_123);
        assert_eq!((r.batch_size, r.batch_path.len()), (1, 0));
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
        assert_eq!(
            r.verify(signer(3).verifier(), None),
            Err(ReceiptError::InvalidSignature)
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), r);
    }

    #[test]
    fn one_signature_covers_a_batch_and_binds_each_receipt() {
        let s = signer(4);
        let items: Vec<Pending> = (0..7)
            .map(|i| Pending {
                index: 100 + i,
                leaf_hash: leaf_hash(&i.to_be_bytes()),
                time_ms: 5_000 + i,
            })
            .collect();
        let rs = sign_batch(&s, &items);
        assert_eq!(rs.len(), 7);
        assert!(rs.iter().all(|r| r.signature == rs[0].signature), "one signature");
        for (r, p) in rs.iter().zip(&items) {
            r.verify(s.verifier(), Some(&p.leaf_hash)).unwrap();
        }
        let r = &rs[3];
        let wrong = [
            Receipt {
                batch_position: 4,
                ..r.clone()
            },
            Receipt {
                batch_size: 8,
                ..r.clone()
            },
            Receipt {
                batch_path: r.batch_path[1..].to_vec(),
                ..r.clone()
            },
            Receipt {
                batch_path: {
                    let mut p = r.batch_path.clone();
                    p.swap(0, 1);
                    p
                },
                ..r.clone()
            },
            // Another receipt's fields under this one's path.
            Receipt {
                index: rs[4].index,
                leaf_hash: rs[4].leaf_hash.clone(),
                time_ms: rs[4].time_ms,
                ..r.clone()
            },
        ];
        for w in wrong {
            assert!(w.verify(s.verifier(), None).is_err(), "{w:?}");
        }
    }
}
