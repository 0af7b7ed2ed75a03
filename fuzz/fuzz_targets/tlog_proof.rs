//! C2SP `tlog-proof@v1` texts and proof bundles, as `keurmerk-verify proof`
//! reads them (one bundle or a JSON array of bundles), against the log key
//! of the repository's tests. A proof that parses must rebuild the same
//! text; a bundle that verifies must really be in the signed tree.
#![no_main]

use std::sync::LazyLock;

use consent_core::merkle::{leaf_hash, verify_inclusion};
use consent_core::note::NoteVerifier;
use consent_core::tlog_proof::{ProofBundle, TlogProof};
use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<NoteVerifier> = LazyLock::new(keurmerk_fuzz::log_verifier);

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(proof) = TlogProof::parse(text)
    {
        assert_eq!(proof.to_text(), text, "the proof does not rebuild the input");
        assert_eq!(TlogProof::parse(&proof.to_text()).unwrap(), proof);
    }
    if let Ok(bundle) = ProofBundle::parse(data)
        && let Ok((proof, cp)) = bundle.verify(&VERIFIER)
    {
        let leaf = leaf_hash(&bundle.record_bytes().unwrap());
        assert!(proof.index < cp.size);
        assert!(verify_inclusion(proof.index, cp.size, &leaf, &proof.path, &cp.root).is_ok());
        // Re-encoded as the server writes bundles, it still verifies.
        let again = ProofBundle::new(&bundle.record_bytes().unwrap(), &proof);
        assert_eq!(again.verify(&VERIFIER).unwrap().1, cp);
    }
    if let Ok(verified) = keurmerk_verify::verify_bundles(data, &VERIFIER) {
        assert!(!verified.is_empty());
        assert!(verified.iter().all(|v| v.index < v.checkpoint.size));
    }
});
