//! C2SP `tlog-proof@v1`: an offline-verifiable proof that an entry is in the
//! log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional, unauthenticated)
//! index <decimal>
//! <base64 hash>             (zero or more: the inclusion path, leaf's sibling first)
//!
//! <signed checkpoint, verbatim>
//! ```
//!
//! Verifying needs the entry's leaf hash (from the record itself) and the
//! log's verifier key. The `extra` line is carried but never trusted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{self, Checkpoint, CheckpointError, parse_decimal, parse_hash};
use crate::merkle::{Hash, MAX_PROOF_LEN, VerifyError, verify_inclusion};
use crate::note::{MAX_LINE_BYTES, MAX_NOTE_BYTES, NoteVerifier};

pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Bound on the whole text: header, extra, index, 64 hashes and a note.
pub const MAX_TLOG_PROOF_BYTES: usize = MAX_NOTE_BYTES + 4 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub path: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    #[error("proof is larger than {MAX_TLOG_PROOF_BYTES} bytes")]
    TooLarge,
    #[error("proof does not start with the line {HEADER:?}")]
    BadHeader,
    #[error("malformed extra line")]
    BadExtra,
    #[error("missing or malformed index line")]
    BadIndex,
    #[error("inclusion path line {0} is not the base64 of a 32-byte hash")]
    BadHash(usize),
    #[error("inclusion path is longer than {MAX_PROOF_LEN} hashes")]
    PathTooLong,
    #[error("no blank line between the inclusion path and the checkpoint")]
    NoCheckpoint,
    #[error("a line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("inclusion: {0}")]
    Inclusion(#[from] VerifyError),
}

impl TlogProof {
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        if text.len() > MAX_TLOG_PROOF_BYTES {
            return Err(TlogProofError::TooLarge);
        }
        let mut rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or(TlogProofError::BadHeader)?;
        let next_line = |rest: &mut &str| -> Result<Option<String>, TlogProofError> {
            let Some((line, after)) = rest.split_once('\n') else {
                return Ok(None);
            };
            if line.len() > MAX_LINE_BYTES {
                return Err(TlogProofError::LineTooLong);
            }
            *rest = after;
            Ok(Some(line.to_owned()))
        };
        let mut line = next_line(&mut rest)?.ok_or(TlogProofError::BadIndex)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(STANDARD.decode(b64).map_err(|_| TlogProofError::BadExtra)?);
            line = next_line(&mut rest)?.ok_or(TlogProofError::BadIndex)?;
        } else if line.starts_with("extra") {
            return Err(TlogProofError::BadExtra);
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(TlogProofError::BadIndex)?;
        let mut path = Vec::new();
        loop {
            let line = next_line(&mut rest)?.ok_or(TlogProofError::NoCheckpoint)?;
            if line.is_empty() {
                break;
            }
            if path.len() == MAX_PROOF_LEN {
                return Err(TlogProofError::PathTooLong);
            }
            path.push(parse_hash(&line).ok_or(TlogProofError::BadHash(path.len() + 1))?);
        }
        if rest.is_empty() {
            return Err(TlogProofError::NoCheckpoint);
        }
        Ok(Self {
            extra,
            index,
            path,
            checkpoint: rest.to_owned(),
        })
    }

    pub fn to_text(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            s.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.path {
            s.push_str(&STANDARD.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Checks the checkpoint's signature and that `leaf` (the leaf hash of the
    /// record) is at `index` in the checkpointed tree. Returns the checkpoint.
    pub fn verify(&self, leaf: &Hash, verifier: &NoteVerifier) -> Result<Checkpoint, TlogProofError> {
        let cp = checkpoint::open(&self.checkpoint, verifier)?;
        verify_inclusion(self.index, cp.size, leaf, &self.path, &cp.root)?;
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::merkle::{MemoryTree, inclusion_proof, leaf_hash};
    use crate::note::NoteSigner;

    fn sample() -> (TlogProof, Hash, NoteVerifier) {
        let signer = NoteSigner::new("keurmerk.test/log", SigningKey::from_bytes(&[9; 32])).unwrap();
        let mut t = MemoryTree::new();
        for i in 0u32..13 {
            t.push(leaf_hash(format!("record {i}").as_bytes()));
        }
        let cp = Checkpoint {
            origin: signer.name().into(),
            size: 13,
            root: t.root(),
            extensions: vec![],
        };
        let proof = TlogProof {
            extra: None,
            index: 6,
            path: inclusion_proof(&t, 6, 13).unwrap(),
            checkpoint: cp.sign(&signer).unwrap(),
        };
        (proof, leaf_hash(b"record 6"), signer.verifier().clone())
    }

    #[test]
    fn round_trip_and_verify() {
        let (p, leaf, v) = sample();
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 6\n"));
        assert_eq!(TlogProof::parse(&text).unwrap(), p);
        assert_eq!(p.verify(&leaf, &v).unwrap().size, 13);
        assert!(matches!(
            p.verify(&leaf_hash(b"record 7"), &v),
            Err(TlogProofError::Inclusion(VerifyError::RootMismatch))
        ));
        let with_extra = TlogProof {
            extra: Some(b"context".to_vec()),
            ..p.clone()
        };
        assert_eq!(TlogProof::parse(&with_extra.to_text()).unwrap(), with_extra);
    }

    /// Flipping any bit of any byte of the proof text makes it fail: to parse,
    /// to match the signature, or to lead to the signed root.
    #[test]
    fn every_single_bit_flip_is_detected() {
        let (p, leaf, v) = sample();
        let text = p.to_text().into_bytes();
        for i in 0..text.len() {
            for bit in 0..8 {
                let mut b = text.clone();
                b[i] ^= 1 << bit;
                let ok = std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| TlogProof::parse(s).ok())
                    .is_some_and(|p| p.verify(&leaf, &v).is_ok());
                assert!(!ok, "flip of bit {bit} at byte {i} went unnoticed");
            }
        }
    }

    #[test]
    fn malformed_proofs_name_the_reason() {
        let (p, _, _) = sample();
        let text = p.to_text();
        let cases = [
            (text.replace("@v1", "@v2"), TlogProofError::BadHeader),
            (text.replace("index 6", "index 06"), TlogProofError::BadIndex),
            (text.replace("index 6", "index6"), TlogProofError::BadIndex),
            (
                text.replacen("index 6\n", "extra !!\nindex 6\n", 1),
                TlogProofError::BadExtra,
            ),
            (text.replacen("\n\n", "\n", 1), TlogProofError::BadHash(5)),
            (
                text.replacen(
                    "index 6\n",
                    &format!(
                        "index 6\n{}",
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(65)
                    ),
                    1,
                ),
                TlogProofError::PathTooLong,
            ),
            (format!("{HEADER}\nindex 1\n"), TlogProofError::NoCheckpoint),
            ("x".repeat(MAX_TLOG_PROOF_BYTES + 1), TlogProofError::TooLarge),
        ];
        for (t, err) in cases {
            assert_eq!(TlogProof::parse(&t), Err(err));
        }
    }
}
