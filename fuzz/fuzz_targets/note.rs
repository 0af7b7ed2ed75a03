//! C2SP signed notes and verifier keys (`consent_core::note`), as
//! `keurmerk-verify` reads them: parsing must be exact (the parsed parts
//! rebuild the input byte for byte), and a note that opens under the key
//! must be the one the key signed.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use consent_core::note::{NoteError, NoteSigner, NoteVerifier, SignedNote};
use libfuzzer_sys::fuzz_target;

static SIGNER: LazyLock<NoteSigner> = LazyLock::new(keurmerk_fuzz::go_signer);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A verifier key string: parses only in its one canonical spelling.
    if let Ok(key) = NoteVerifier::parse(text) {
        assert_eq!(key.to_string(), text.trim_end_matches(['\n', '\r']));
        assert_eq!(NoteVerifier::parse(&key.to_string()).unwrap(), key);
    }
    let _ = NoteSigner::parse(text);

    let verifier = SIGNER.verifier();
    let opened = verifier.open(text);
    match SignedNote::parse(text) {
        Ok(note) => {
            let mut rebuilt = format!("{}\n", note.text);
            for s in &note.signatures {
                let mut raw = s.id.to_vec();
                raw.extend_from_slice(&s.signature);
                rebuilt.push_str(&format!("\u{2014} {} {}\n", s.name, STANDARD.encode(raw)));
            }
            assert_eq!(rebuilt, text, "the parsed note does not rebuild the input");
            if let Ok(t) = opened {
                assert_eq!(t, note.text);
                // Only the key's own signature can have opened it.
                assert!(
                    note.signatures
                        .iter()
                        .any(|s| s.name == verifier.name() && s.id == verifier.id())
                );
            }
        }
        Err(e) => assert_eq!(opened.unwrap_err(), e, "open and parse disagree on a malformed note"),
    }
    // Whatever text the signer accepts, its signature opens to that text,
    // and a cosigned copy (a witness line after ours) still opens.
    match SIGNER.sign(text) {
        Ok(signed) => {
            assert_eq!(verifier.open(&signed), Ok(text));
            // (The witness's longer name can push its own note over the bound.)
            if let Ok(witness) = keurmerk_fuzz::log_signer().sign(text) {
                let line = witness.rsplit_once("\n\n").unwrap().1;
                let cosigned = format!("{signed}{line}");
                if cosigned.len() <= consent_core::note::MAX_NOTE_BYTES {
                    assert_eq!(verifier.open(&cosigned), Ok(text));
                }
            }
        }
        Err(NoteError::TextNoNewline | NoteError::BadCharacters | NoteError::TooLarge | NoteError::LineTooLong) => {}
        Err(e) => panic!("unexpected signing error {e:?}"),
    }
});
