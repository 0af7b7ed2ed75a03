//! `keurmerk-verify`: check Keurmerk's consent proofs without trusting
//! Keurmerk. Everything here runs offline except [`monitor`], which only reads
//! public endpoints.
//!
//! # Inputs
//!
//! - **Verifier key** (`--key`): the log's key in C2SP signed-note form,
//!   `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>`, as served at
//!   `GET /.well-known/keurmerk-log-key`. The key name is the log's origin.
//!   `--key` takes the key itself or a file holding it.
//! - **Proof bundle** (`proof --bundle FILE`), JSON:
//!   ```json
//!   {"record": "<standard base64 of the record's RFC 8785 canonical bytes>",
//!    "proof":  "c2sp.org/tlog-proof@v1\nindex 41\n<base64 hash>\n…\n\n<signed checkpoint>"}
//!   ```
//!   `record` may also be the record as a JSON object (it is canonicalised
//!   with RFC 8785 before hashing). A file may hold one bundle or a JSON
//!   array of bundles (all must verify). The server serves these at
//!   `GET /api/v1/sites/{site}/visitors/{consent_id}/proofs` (visitor, with
//!   the secret in `X-Keurmerk-Secret`) and
//!   `GET /api/v1/owner/sites/{site}/proofs/{consent_id}` (owner, API key).
//! - **Receipt** (`receipt --receipt FILE [--record FILE]`): the `receipt`
//!   JSON returned with a recorded decision (see `consent_core::receipt` for
//!   the signed byte layout); `--record` names a file with the record's
//!   canonical bytes, to check the receipt is for that record.
//! - **Checkpoint** files: the signed note exactly as served by
//!   `GET /api/v1/log/checkpoint` (C2SP tlog-checkpoint).
//! - **Consistency proof** files: one standard-base64 hash per line, as served
//!   by `GET /api/v1/log/consistency?old=M&new=N`.
//!
//! # What is checked
//!
//! `proof`: leaf hash = SHA-256(0x00 ‖ record bytes) (RFC 9162 §2.1.1); the
//! inclusion path leads from it at `index` to the checkpoint's root (RFC 9162
//! §2.1.3.2); the checkpoint carries a valid Ed25519 signature by the key and
//! names the key's log. `consistency`: both checkpoints verify and the proof
//! shows the older tree is a prefix of the newer (RFC 9162 §2.1.4.2).
//! `monitor`: every checkpoint seen verifies and is consistent with the one
//! before.
//!
//! Exit status: 0 valid, 1 invalid (the reason is printed), 2 could not run
//! (unreadable file, bad key, network down for the whole monitor run).
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(missing_docs)]

pub mod monitor;

use consent_core::checkpoint::{self, Checkpoint, CheckpointError};
use consent_core::merkle::{VerifyError, verify_consistency};
use consent_core::note::NoteVerifier;
use consent_core::tlog_proof::{BundleError, MAX_BUNDLE_BYTES, ProofBundle, TlogProofError, parse_hash_lines};

/// One verified bundle, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The record's leaf index.
    pub index: u64,
    /// The signed checkpoint the record was proven to be in.
    pub checkpoint: Checkpoint,
}

/// Verifies a bundle file's content: one bundle or an array of bundles.
pub fn verify_bundles(json: &[u8], key: &NoteVerifier) -> Result<Vec<VerifiedBundle>, (usize, BundleError)> {
    if json.len() > MAX_BUNDLE_BYTES * 64 {
        return Err((0, BundleError::TooLarge));
    }
    let trimmed = json.iter().position(|b| !b.is_ascii_whitespace()).map(|i| json[i]);
    let bundles: Vec<ProofBundle> = if trimmed == Some(b'[') {
        serde_json::from_slice(json).map_err(|e| (0, BundleError::Malformed(e.to_string())))?
    } else {
        vec![ProofBundle::parse(json).map_err(|e| (0, e))?]
    };
    if bundles.is_empty() {
        return Err((0, BundleError::Malformed("no bundles in the array".into())));
    }
    bundles
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (proof, cp) = b.verify(key).map_err(|e| (i, e))?;
            Ok(VerifiedBundle {
                index: proof.index,
                checkpoint: cp,
            })
        })
        .collect()
}

/// Why two checkpoints and a consistency proof do not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyError {
    /// The older checkpoint is malformed or not signed by the key.
    #[error("old checkpoint: {0}")]
    OldCheckpoint(CheckpointError),
    /// The newer checkpoint is malformed or not signed by the key.
    #[error("new checkpoint: {0}")]
    NewCheckpoint(CheckpointError),
    /// The proof file is not a list of base64 hashes.
    #[error("consistency proof file: {0}")]
    ProofFile(TlogProofError),
    /// The proof does not show the older tree is a prefix of the newer one.
    #[error("the log is not append-only: {0}")]
    Inconsistent(VerifyError),
}

/// Verifies two signed checkpoints and the consistency proof between them.
pub fn verify_consistency_files(
    key: &NoteVerifier,
    old: &str,
    new: &str,
    proof: &str,
) -> Result<(Checkpoint, Checkpoint), ConsistencyError> {
    let old = checkpoint::open(old, key).map_err(ConsistencyError::OldCheckpoint)?;
    let new = checkpoint::open(new, key).map_err(ConsistencyError::NewCheckpoint)?;
    let proof = parse_hash_lines(proof).map_err(ConsistencyError::ProofFile)?;
    verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(ConsistencyError::Inconsistent)?;
    Ok((old, new))
}

/// Reads `--key`: the key string itself, or a file holding it.
pub fn load_key(arg: &str) -> anyhow::Result<NoteVerifier> {
    let text = if arg.contains('+') && !std::path::Path::new(arg).exists() {
        arg.to_owned()
    } else {
        read_bounded(std::path::Path::new(arg), 4096)?
    };
    NoteVerifier::parse(text.trim()).map_err(|e| anyhow::anyhow!("verifier key: {e}"))
}

/// Reads a whole file, refusing anything over `max` bytes.
pub fn read_bounded(path: &std::path::Path, max: u64) -> anyhow::Result<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut s = String::new();
    file.take(max + 1)
        .read_to_string(&mut s)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if s.len() as u64 > max {
        anyhow::bail!("{}: larger than {max} bytes", path.display());
    }
    Ok(s)
}
