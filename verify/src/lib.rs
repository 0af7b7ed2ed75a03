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
//! - **Attestation** (`attestation FILE`): a proof bundle whose record is a
//!   Keurmerk seal's attestation (`consent_core::attestation`), as served at
//!   `GET /s/{site}/attestation`.
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
pub mod witness;

use consent_core::attestation::{Attestation, AttestationError};
use consent_core::checkpoint::{self, Checkpoint, CheckpointError};
use consent_core::cosignature::{CosignatureError, CosignatureVerifier, WitnessPolicy};
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
    /// The trusted witnesses that cosigned that checkpoint (empty without a
    /// witness policy).
    pub cosigned_by: Vec<String>,
}

/// Why a bundle was refused: its proof, or the witness policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleRefused {
    /// The bundle is malformed or its proof does not verify.
    #[error("{0}")]
    Bundle(#[from] BundleError),
    /// The checkpoint lacks the cosignatures the policy requires.
    #[error("checkpoint not witnessed as required: {0}")]
    Witnesses(#[from] CosignatureError),
}

/// Verifies a bundle file's content: one bundle or an array of bundles.
pub fn verify_bundles(json: &[u8], key: &NoteVerifier) -> Result<Vec<VerifiedBundle>, (usize, BundleError)> {
    verify_bundles_witnessed(json, key, &WitnessPolicy::default()).map_err(|(i, e)| match e {
        BundleRefused::Bundle(b) => (i, b),
        // The empty policy asks for nothing.
        BundleRefused::Witnesses(w) => (i, BundleError::Malformed(w.to_string())),
    })
}

/// [`verify_bundles`], and each bundle's checkpoint must carry valid
/// cosignatures by at least the policy's quorum of its witnesses.
pub fn verify_bundles_witnessed(
    json: &[u8],
    key: &NoteVerifier,
    policy: &WitnessPolicy,
) -> Result<Vec<VerifiedBundle>, (usize, BundleRefused)> {
    if json.len() > MAX_BUNDLE_BYTES * 64 {
        return Err((0, BundleError::TooLarge.into()));
    }
    let trimmed = json.iter().position(|b| !b.is_ascii_whitespace()).map(|i| json[i]);
    let bundles: Vec<ProofBundle> = if trimmed == Some(b'[') {
        serde_json::from_slice(json).map_err(|e| (0, BundleError::Malformed(e.to_string()).into()))?
    } else {
        vec![ProofBundle::parse(json).map_err(|e| (0, e.into()))?]
    };
    if bundles.is_empty() {
        return Err((0, BundleError::Malformed("no bundles in the array".into()).into()));
    }
    bundles
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (proof, cp) = b.verify(key).map_err(|e| (i, e.into()))?;
            let cosigned_by = policy
                .check(&proof.checkpoint)
                .map_err(|e| (i, e.into()))?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            Ok(VerifiedBundle {
                index: proof.index,
                checkpoint: cp,
                cosigned_by,
            })
        })
        .collect()
}

/// Why an attestation bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationRefused {
    /// The bundle's proof or the witness policy refused it.
    #[error("{0}")]
    Bundle(#[from] BundleRefused),
    /// The proof is valid, but the logged record is not an attestation (a
    /// decision's bundle, say).
    #[error("the logged record is not a Keurmerk attestation: {0}")]
    NotAnAttestation(#[from] AttestationError),
}

/// Verifies an attestation bundle (`GET /s/{site}/attestation`): its
/// inclusion in a checkpoint signed by `key` and cosigned as `policy` asks,
/// and that the logged record is an attestation. What it attests is then
/// the caller's to read ([`Attestation::verdict`], [`Attestation::plain_language`]).
pub fn verify_attestation(
    json: &[u8],
    key: &NoteVerifier,
    policy: &WitnessPolicy,
) -> Result<(VerifiedBundle, Attestation), AttestationRefused> {
    let bundle = ProofBundle::parse(json).map_err(BundleRefused::from)?;
    let (proof, cp) = bundle.verify(key).map_err(BundleRefused::from)?;
    let cosigned_by = policy
        .check(&proof.checkpoint)
        .map_err(BundleRefused::from)?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let record = bundle.record_bytes().map_err(BundleRefused::from)?;
    let attestation = Attestation::from_canonical_bytes(&record)?;
    Ok((
        VerifiedBundle {
            index: proof.index,
            checkpoint: cp,
            cosigned_by,
        },
        attestation,
    ))
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
    /// A checkpoint lacks the cosignatures the witness policy requires.
    #[error("checkpoint not witnessed as required: {0}")]
    Witnesses(CosignatureError),
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

/// [`verify_consistency_files`], and both checkpoints must satisfy the
/// witness policy.
pub fn verify_consistency_witnessed(
    key: &NoteVerifier,
    policy: &WitnessPolicy,
    old: &str,
    new: &str,
    proof: &str,
) -> Result<(Checkpoint, Checkpoint), ConsistencyError> {
    let both = verify_consistency_files(key, old, new, proof)?;
    for note in [old, new] {
        policy.check(note).map_err(ConsistencyError::Witnesses)?;
    }
    Ok(both)
}

/// Each `--witness` key, with its monitoring URL when one was given.
pub type WitnessKeys = Vec<(CosignatureVerifier, Option<String>)>;

/// Builds a witness policy from `--witness` values (each a cosignature/v1
/// vkey or a file holding one; a `=URL` suffix is cut off and returned) and
/// `--quorum` (default: every witness given).
pub fn load_policy(witnesses: &[String], quorum: Option<usize>) -> anyhow::Result<(WitnessPolicy, WitnessKeys)> {
    let mut keys = Vec::new();
    for w in witnesses {
        let (vkey, url) = match w.split_once('=') {
            Some((k, u)) if u.starts_with("http://") || u.starts_with("https://") => (k, Some(u.to_owned())),
            _ => (w.as_str(), None),
        };
        let text = if vkey.contains('+') && !std::path::Path::new(vkey).exists() {
            vkey.to_owned()
        } else {
            read_bounded(std::path::Path::new(vkey), 4096)?
        };
        let v = CosignatureVerifier::parse(text.trim()).map_err(|e| anyhow::anyhow!("--witness {vkey}: {e}"))?;
        keys.push((v, url));
    }
    let quorum = quorum.unwrap_or(keys.len());
    let policy = WitnessPolicy::new(keys.iter().map(|(k, _)| k.clone()).collect(), quorum)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((policy, keys))
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
