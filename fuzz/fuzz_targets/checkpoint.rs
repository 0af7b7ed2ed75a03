//! C2SP checkpoints and `keurmerk-verify consistency`: the input is up to
//! three texts separated by a 0xFF byte (never in UTF-8): the old signed
//! checkpoint, the new one, and the consistency proof's hash lines.
#![no_main]

use std::sync::LazyLock;

use consent_core::checkpoint::{self, Checkpoint};
use consent_core::note::{NoteSigner, NoteVerifier};
use consent_core::tlog_proof::{format_hash_lines, parse_hash_lines};
use libfuzzer_sys::fuzz_target;

static SIGNER: LazyLock<NoteSigner> = LazyLock::new(keurmerk_fuzz::log_signer);
static VERIFIER: LazyLock<NoteVerifier> = LazyLock::new(keurmerk_fuzz::log_verifier);

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0xff).map(std::str::from_utf8);
    let (Some(Ok(old)), new, proof) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let (new, proof) = (
        new.and_then(Result::ok).unwrap_or(""),
        proof.and_then(Result::ok).unwrap_or(""),
    );

    for text in [old, new] {
        // The note text: parses only in its canonical spelling.
        if let Ok(cp) = Checkpoint::parse_text(text) {
            assert_eq!(cp.to_text(), text, "the checkpoint does not rebuild the input");
            // Signed by the log (if it names the log), it opens to itself.
            if cp.origin == SIGNER.name()
                && let Ok(signed) = cp.sign(&SIGNER)
            {
                assert_eq!(checkpoint::open(&signed, &VERIFIER), Ok(cp.clone()));
            }
        }
        if let Ok(cp) = checkpoint::open(text, &VERIFIER) {
            assert_eq!(cp.origin, VERIFIER.name());
        }
    }
    if let Ok(hashes) = parse_hash_lines(proof) {
        assert_eq!(format_hash_lines(&hashes), proof);
    }
    if let Ok((a, b)) = keurmerk_verify::verify_consistency_files(&VERIFIER, old, new, proof) {
        assert!(a.size <= b.size, "a consistent older tree is not larger");
        if a.size == b.size {
            assert_eq!(a.root, b.root);
        }
    }
});
