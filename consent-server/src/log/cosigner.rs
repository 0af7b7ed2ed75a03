//! This server as a witness for other logs (`--witness-for`): another
//! operator's Keurmerk, or any C2SP log, submits its checkpoints to
//! `POST <public URL>/witness/add-checkpoint` and gets cosignature/v1 lines
//! back. The witness itself is `keurmerk-verify`'s ([`keurmerk_verify::witness`]),
//! the same code as the stand-alone `keurmerk-verify witness`; this module
//! only hosts it: its key in `<data dir>/witness-signing-key` (created on
//! first start, mode 0600; verifier key at `/.well-known/keurmerk-witness-key`)
//! and its state in `<data dir>/witness-state`.
//!
//! Embedded storage only: the witness's promise never to cosign two
//! conflicting checkpoints rests on one process keeping its state on local
//! disk, which several server processes over one Redis would not be.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use consent_core::cosignature::CosignatureSigner;
use consent_core::note::NoteVerifier;
use keurmerk_verify::witness::Witness;
use rand::RngCore as _;

use super::key::secret_file;

pub const KEY_FILE: &str = "witness-signing-key";
pub const STATE_DIR: &str = "witness-state";

/// A witness key name from the public URL: its authority plus `/keurmerk-witness`.
pub fn default_name(public_url: &str) -> String {
    super::key::default_name(public_url).replace("/keurmerk-log", "/keurmerk-witness")
}

/// The witness for `logs`, with its key and state in `data_dir`.
pub fn start(data_dir: &Path, public_url: &str, logs: Vec<NoteVerifier>) -> anyhow::Result<Arc<Witness>> {
    let (text, created) = secret_file(data_dir, KEY_FILE, || {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let name = default_name(public_url);
        Ok(CosignatureSigner::from_seed(&name, &seed)
            .map_err(|e| anyhow::anyhow!("witness name {name:?}: {e}"))?
            .to_private_string())
    })?;
    let path = data_dir.join(KEY_FILE);
    let signer = CosignatureSigner::parse(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if created {
        tracing::info!(verifier_key = %signer.verifier(), "created this server's witness key");
    }
    let state = data_dir.join(STATE_DIR);
    let witness = Witness::new(signer, logs, &state).with_context(|| format!("witness state {}", state.display()))?;
    Ok(Arc::new(witness))
}
