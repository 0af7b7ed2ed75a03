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

/// The first line of every `tlog-proof@v1` text.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Bound on the whole text: header, extra, index, 64 hashes and a note.
pub const MAX_TLOG_PROOF_BYTES: usize = MAX_NOTE_BYTES + 4 * 1024;

/// A parsed `tlog-proof@v1`: an entry's index, its inclusion path and the
/// signed checkpoint the path leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// The optional `extra` line's bytes; carried, never trusted.
    pub extra: Option<Vec<u8>>,
    /// The entry's leaf index.
    pub index: u64,
    /// The inclusion path, leaf's sibling first.
    pub path: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Why a proof text (or a list of hash lines) was refused or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    /// Over [`MAX_TLOG_PROOF_BYTES`].
    #[error("proof is larger than {MAX_TLOG_PROOF_BYTES} bytes")]
    TooLarge,
    /// The first line is not [`HEADER`].
    #[error("proof does not start with the line {HEADER:?}")]
    BadHeader,
    /// An `extra` line that is not `extra <base64>`.
    #[error("malformed extra line")]
    BadExtra,
    /// No `index <decimal>` line where one must be.
    #[error("missing or malformed index line")]
    BadIndex,
    /// The hash line with this number (from 1) is not a base64 hash.
    #[error("inclusion path line {0} is not the base64 of a 32-byte hash")]
    BadHash(usize),
    /// More than [`MAX_PROOF_LEN`] hashes.
    #[error("inclusion path is longer than {MAX_PROOF_LEN} hashes")]
    PathTooLong,
    /// The checkpoint (after a blank line) is missing.
    #[error("no blank line between the inclusion path and the checkpoint")]
    NoCheckpoint,
    /// A line is over [`MAX_LINE_BYTES`].
    #[error("a line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    /// The checkpoint is malformed or its signature does not verify.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion path does not lead from the leaf to the checkpoint's root.
    #[error("inclusion: {0}")]
    Inclusion(#[from] VerifyError),
}

impl TlogProof {
    /// Parses the text form (bounded and strict); verifies nothing.
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

    /// The text form, as [`Self::parse`] reads it.
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

/// A consistency proof as served and stored in files: one standard-base64
/// hash per line, oldest split first (RFC 9162 order), each line ending in
/// `\n`. No header: the two checkpoints say which sizes it is for.
pub fn format_hash_lines(hashes: &[Hash]) -> String {
    hashes.iter().map(|h| STANDARD.encode(h) + "\n").collect()
}

/// Parses [`format_hash_lines`] output, bounded to [`MAX_PROOF_LEN`] lines.
pub fn parse_hash_lines(text: &str) -> Result<Vec<Hash>, TlogProofError> {
    if text.len() > (MAX_PROOF_LEN + 1) * 45 {
        return Err(TlogProofError::PathTooLong);
    }
    let Some(body) = text.strip_suffix('\n') else {
        return if text.is_empty() {
            Ok(vec![])
        } else {
            Err(TlogProofError::BadHash(1))
        };
    };
    let lines: Vec<&str> = body.split('\n').collect();
    if lines.len() > MAX_PROOF_LEN {
        return Err(TlogProofError::PathTooLong);
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| parse_hash(l).ok_or(TlogProofError::BadHash(i + 1)))
        .collect()
}

/// What a site owner or visitor downloads and anyone verifies offline: the
/// record's canonical bytes and its `tlog-proof@v1` text.
///
/// JSON: `{"record": <standard base64 of the RFC 8785 record bytes>,
/// "proof": <tlog-proof text>}`. For hand-written bundles `record` may also be
/// the record as a JSON object; it is then canonicalised (RFC 8785) first,
/// which gives the same bytes the log hashed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// The record: standard base64 of its canonical bytes, or the record as a JSON object.
    pub record: serde_json::Value,
    /// The `tlog-proof@v1` text.
    pub proof: String,
}

/// Bundles are small; refuse big input before parsing it.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024;

/// Why a proof bundle was refused or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Over [`MAX_BUNDLE_BYTES`].
    #[error("bundle is larger than {MAX_BUNDLE_BYTES} bytes")]
    TooLarge,
    /// Not JSON of the bundle's shape (the parser's message is given).
    #[error("bundle is not JSON of the form {{\"record\", \"proof\"}}: {0}")]
    Malformed(String),
    /// `record` is neither valid base64 nor a JSON object.
    #[error("bundle record is neither base64 nor a JSON object")]
    BadRecord,
    /// The proof is malformed or does not verify.
    #[error("bundle proof: {0}")]
    Proof(#[from] TlogProofError),
}

impl ProofBundle {
    /// A bundle of a record's canonical bytes (as base64) and its proof.
    pub fn new(record_bytes: &[u8], proof: &TlogProof) -> Self {
        Self {
            record: serde_json::Value::String(STANDARD.encode(record_bytes)),
            proof: proof.to_text(),
        }
    }

    /// Parses a bundle's JSON, refusing input over [`MAX_BUNDLE_BYTES`].
    pub fn parse(json: &[u8]) -> Result<Self, BundleError> {
        if json.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge);
        }
        serde_json::from_slice(json).map_err(|e| BundleError::Malformed(e.to_string()))
    }

    /// The bytes the log committed to.
    pub fn record_bytes(&self) -> Result<Vec<u8>, BundleError> {
        match &self.record {
            serde_json::Value::String(b64) => STANDARD.decode(b64).map_err(|_| BundleError::BadRecord),
            v @ serde_json::Value::Object(_) => serde_json_canonicalizer::to_vec(v).map_err(|_| BundleError::BadRecord),
            _ => Err(BundleError::BadRecord),
        }
    }

    /// Recomputes the leaf hash from the record, checks the inclusion proof
    /// against the checkpoint and the checkpoint's signature.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(TlogProof, Checkpoint), BundleError> {
        let leaf = crate::merkle::leaf_hash(&self.record_bytes()?);
        let proof = TlogProof::parse(&self.proof)?;
        let cp = proof.verify(&leaf, verifier)?;
        Ok((proof, cp))
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::merkle::{MemoryTree, inclusion_proof, leaf_hash};

    #[test]
    fn hash_lines_round_trip_and_are_strict() {
        let hs = vec![[1u8; 32], [2; 32]];
        let text = format_hash_lines(&hs);
        assert_eq!(parse_hash_lines(&text).unwrap(), hs);
        assert_eq!(parse_hash_lines("").unwrap(), Vec::<Hash>::new());
        assert_eq!(parse_hash_lines(text.trim_end()), Err(TlogProofError::BadHash(1)));
        assert_eq!(parse_hash_lines(&format!("{text}\n")), Err(TlogProofError::BadHash(3)));
        assert_eq!(parse_hash_lines(&text.repeat(33)), Err(TlogProofError::PathTooLong));
    }

    #[test]
    fn bundles_verify_in_both_record_forms_and_detect_any_flip() {
        let (p, _, v) = sample();
        let bundle = ProofBundle::new(b"record 6", &p);
        let json = serde_json::to_vec(&bundle).unwrap();
        let parsed = ProofBundle::parse(&json).unwrap();
        assert_eq!(parsed.verify(&v).unwrap().1.size, 13);
        for i in 0..json.len() {
            for bit in [0, 2, 5, 7] {
                let mut b = json.clone();
                b[i] ^= 1 << bit;
                let ok = ProofBundle::parse(&b).and_then(|x| x.verify(&v)).is_ok();
                assert!(!ok, "flip of bit {bit} at byte {i} went unnoticed");
            }
        }
        // A record given as a JSON object is canonicalised before hashing.
        let record = br#"{"a":1,"b":[true,"x"]}"#;
        let mut t = MemoryTree::new();
        t.push(leaf_hash(record));
        t.push(leaf_hash(b"other"));
        let signer = NoteSigner::new("keurmerk.test/log", SigningKey::from_bytes(&[9; 32])).unwrap();
        let cp = Checkpoint {
            origin: signer.name().into(),
            size: 2,
            root: t.root(),
            extensions: vec![],
        };
        let proof = TlogProof {
            extra: None,
            index: 0,
            path: inclusion_proof(&t, 0, 2).unwrap(),
            checkpoint: cp.sign(&signer).unwrap(),
        };
        let pretty = format!(
            "{{\"record\": {{ \"b\": [true, \"x\"], \"a\": 1 }}, \"proof\": {}}}",
            serde_json::to_string(&proof.to_text()).unwrap()
        );
        ProofBundle::parse(pretty.as_bytes())
            .unwrap()
            .verify(signer.verifier())
            .unwrap();
        assert!(matches!(
            ProofBundle::parse(b"{\"record\": 5, \"proof\": \"\"}")
                .unwrap()
                .verify(signer.verifier()),
            Err(BundleError::BadRecord)
        ));
        assert!(matches!(
            ProofBundle::parse(b"{\"record\": \"\", \"proof\": \"\", \"x\": 1}"),
            Err(BundleError::Malformed(_))
        ));
    }
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
