//! C2SP `signed-note` (c2sp.org/signed-note@v1.0.0) with Ed25519 keys, as in
//! Go's `golang.org/x/mod/sumdb/note` — the reference the known-answer test
//! below reproduces byte for byte.
//!
//! - A note is UTF-8 text ending in `\n`, a blank line, then signature lines
//!   `— <key name> base64(key id[4] ‖ signature)`, the dash being U+2014.
//! - Ed25519 key id: `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]`.
//! - Verifier key: `<name>+<key id hex>+<base64(0x01 ‖ public key)>`;
//!   signer key: `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ‖ seed)>`.
//!
//! Verifiers ignore signatures by unknown keys (so witnesses' cosignatures
//! pass through) and accept up to [`MAX_SIGNATURES`] lines (the spec asks for
//! at least 16). Written here rather than taken from `signed_note` 0.2 (which
//! pulls base64 0.21 and thiserror 1 beside the workspace's versions) because
//! it is small and must sit in the same error vocabulary as the rest.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte for Ed25519 (signed-note §Signature types).
pub const ALG_ED25519: u8 = 0x01;
/// Bounds: a note is small text; anything bigger is refused unread.
pub const MAX_NOTE_BYTES: usize = 16 * 1024;
/// At most this many signature lines in a note.
pub const MAX_SIGNATURES: usize = 100;
/// The longest line of a note, or of a key in text form.
pub const MAX_LINE_BYTES: usize = 1024;
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a key or a signed note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name is empty or contains whitespace or `+`.
    #[error("key name must be non-empty, without spaces or '+'")]
    BadName,
    /// A verifier key's text is malformed (the reason is given).
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    /// A signer key's text is malformed (the reason is given).
    #[error("malformed signer key: {0}")]
    BadSignerKey(&'static str),
    /// The note is over [`MAX_NOTE_BYTES`].
    #[error("note is larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    /// The text to sign does not end in `\n`.
    #[error("note text must end in a newline")]
    TextNoNewline,
    /// A control character other than `\n`.
    #[error("note contains a control character or invalid UTF-8")]
    BadCharacters,
    /// No blank line separates the text from the signatures.
    #[error("note has no blank line before its signatures")]
    NoSignatureBlock,
    /// The signature line with this number (from 1) is malformed.
    #[error("signature line {0} is malformed")]
    BadSignatureLine(usize),
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A line is over [`MAX_LINE_BYTES`].
    #[error("a line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    /// The named key signed the note more than once.
    #[error("key {0} signed the note more than once")]
    DuplicateSignature(String),
    /// The named key's signature does not verify.
    #[error("signature by {0} does not verify: the note was altered or not signed by this key")]
    InvalidSignature(String),
    /// The note has no signature by the given key.
    #[error("the note carries no signature by {0}")]
    NotSignedByKey(String),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

fn key_id(name: &str, pubkey: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(pubkey);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// A log's public key, as published at the well-known URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    id: [u8; 4],
}

impl NoteVerifier {
    /// A verifier for `key` under `name` (the log's name); computes the key id.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::BadName);
        }
        Ok(Self {
            id: key_id(name, key.as_bytes()),
            name: name.to_owned(),
            key,
        })
    }

    /// Parses `<name>+<hex key id>+<base64(0x01 ‖ key)>`, checking the id.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let vkey = vkey.trim_end_matches(['\n', '\r']);
        if vkey.len() > MAX_LINE_BYTES {
            return Err(NoteError::LineTooLong);
        }
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hex_id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadVerifierKey("expected name+keyid+key"));
        };
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| NoteError::BadVerifierKey("key is not base64"))?;
        let [alg, key @ ..]: [u8; 33] = raw
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("key must be 33 bytes"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::BadVerifierKey("only Ed25519 (type 0x01) keys are supported"));
        }
        let key = VerifyingKey::from_bytes(&key).map_err(|_| NoteError::BadVerifierKey("not an Ed25519 point"))?;
        let v = Self::new(name, key)?;
        if hex_id.len() != 8 || hex_id != v.id_hex() {
            return Err(NoteError::BadVerifierKey("key id does not match name and key"));
        }
        Ok(v)
    }

    /// The key's name (for our log, the checkpoints' origin).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The Ed25519 public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }
    /// The key id: the first 4 bytes of SHA-256(name ‖ `\n` ‖ 0x01 ‖ key).
    pub fn id(&self) -> [u8; 4] {
        self.id
    }
    fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Verifies an Ed25519 signature over raw bytes (strict: no malleable or
    /// small-order encodings).
    pub fn verify_raw(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        self.key.verify_strict(msg, &Signature::from_bytes(sig)).is_ok()
    }

    /// Opens a signed note: checks its shape and that it carries a valid
    /// signature by this key. Returns the note text (ending in `\n`).
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let parsed = SignedNote::parse(note)?;
        let mut mine = parsed
            .signatures
            .iter()
            .filter(|s| s.name == self.name && s.id == self.id);
        let Some(sig) = mine.next() else {
            return Err(NoteError::NotSignedByKey(self.to_string()));
        };
        if mine.next().is_some() {
            return Err(NoteError::DuplicateSignature(self.name.clone()));
        }
        let Ok(sig) = <[u8; 64]>::try_from(sig.signature.as_slice()) else {
            return Err(NoteError::InvalidSignature(self.name.clone()));
        };
        if !self.verify_raw(parsed.text.as_bytes(), &sig) {
            return Err(NoteError::InvalidSignature(self.name.clone()));
        }
        Ok(parsed.text)
    }
}

impl std::fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.id_hex(), STANDARD.encode(raw))
    }
}

/// A log's signing key, with its name.
#[derive(Clone)]
pub struct NoteSigner {
    verifier: NoteVerifier,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "NoteSigner({})", self.verifier)
    }
}

impl NoteSigner {
    /// A signer for `key` under `name` (the log's name).
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        Ok(Self {
            verifier: NoteVerifier::new(name, key.verifying_key())?,
            key,
        })
    }

    /// A signer from a 32-byte Ed25519 seed (fresh from a CSPRNG for a new log).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::from_bytes(seed))
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let skey = skey.trim_end_matches(['\n', '\r']);
        if skey.len() > MAX_LINE_BYTES {
            return Err(NoteError::LineTooLong);
        }
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadSignerKey("must start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hex_id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadSignerKey("expected PRIVATE+KEY+name+keyid+key"));
        };
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| NoteError::BadSignerKey("key is not base64"))?;
        let [alg, seed @ ..]: [u8; 33] = raw
            .try_into()
            .map_err(|_| NoteError::BadSignerKey("key must be 33 bytes"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::BadSignerKey("only Ed25519 (type 0x01) keys are supported"));
        }
        let s = Self::new(name, SigningKey::from_bytes(&seed))?;
        if hex_id != s.verifier.id_hex() {
            return Err(NoteError::BadSignerKey("key id does not match name and key"));
        }
        Ok(s)
    }

    /// The `PRIVATE+KEY+…` form, for the key file. Secret: never log it.
    pub fn to_private_string(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.verifier.name,
            self.verifier.id_hex(),
            STANDARD.encode(raw)
        )
    }

    /// The matching public key, to publish.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.verifier.name
    }

    /// Signs raw bytes (receipts use this, with their own domain separation).
    pub fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }

    /// Signs `text` and returns the whole signed note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let mut sig = self.verifier.id.to_vec();
        sig.extend_from_slice(&self.sign_raw(text.as_bytes()));
        let note = format!("{text}\n{SIG_PREFIX}{} {}\n", self.verifier.name, STANDARD.encode(sig));
        // A note no verifier would open is refused here rather than
        // published: the same bound as `SignedNote::parse`.
        if note.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        Ok(note)
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::TextNoNewline);
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::BadCharacters);
    }
    // `SignedNote::parse` refuses longer lines; never sign what it refuses.
    if text.split('\n').any(|l| l.len() > MAX_LINE_BYTES) {
        return Err(NoteError::LineTooLong);
    }
    Ok(())
}

/// One signature line, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signing key's name.
    pub name: String,
    /// The signing key's id.
    pub id: [u8; 4],
    /// The signature bytes (64 for Ed25519).
    pub signature: Vec<u8>,
}

/// A note split into its text and signature lines; nothing verified yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote<'a> {
    /// The signed text, ending in `\n`.
    pub text: &'a str,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl<'a> SignedNote<'a> {
    /// Splits a signed note and checks its shape and bounds (no signature
    /// is verified here; [`NoteVerifier::open`] does that).
    pub fn parse(note: &'a str) -> Result<Self, NoteError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        if note.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::BadCharacters);
        }
        if note.split('\n').any(|l| l.len() > MAX_LINE_BYTES) {
            return Err(NoteError::LineTooLong);
        }
        let split = note.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::NoSignatureBlock);
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            let bad = || NoteError::BadSignatureLine(i + 1);
            let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(bad)?;
            let (name, b64) = rest.split_once(' ').ok_or_else(bad)?;
            if !valid_name(name) || b64.is_empty() {
                return Err(bad());
            }
            let raw = STANDARD.decode(b64).map_err(|_| bad())?;
            if raw.len() < 5 {
                return Err(bad());
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                id: [raw[0], raw[1], raw[2], raw[3]],
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Self { text, signatures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // golang.org/x/mod sumdb/note/note.go package example.
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIGNED: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn known_answer_go_example() {
        let s = NoteSigner::parse(SKEY).unwrap();
        assert_eq!(s.verifier().to_string(), VKEY);
        assert_eq!(s.to_private_string(), SKEY);
        assert_eq!(s.sign(TEXT).unwrap(), SIGNED);
        let v = NoteVerifier::parse(VKEY).unwrap();
        assert_eq!(v.id(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(v.open(SIGNED).unwrap(), TEXT);
    }

    #[test]
    fn altered_or_foreign_notes_are_refused() {
        let v = NoteVerifier::parse(VKEY).unwrap();
        assert_eq!(
            v.open(&SIGNED.replace("cryptography", "cryptographY")),
            Err(NoteError::InvalidSignature("PeterNeumann".into()))
        );
        let other = NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&[3; 32])).unwrap();
        assert!(matches!(
            v.open(&other.sign(TEXT).unwrap()),
            Err(NoteError::NotSignedByKey(_))
        ));
        // An unknown cosignature is ignored, a duplicate of ours is not.
        let witness = NoteSigner::new("witness.example", SigningKey::from_bytes(&[4; 32])).unwrap();
        let wline = witness.sign(TEXT).unwrap();
        let wline = wline.rsplit_once("\n\n").unwrap().1;
        assert_eq!(v.open(&format!("{SIGNED}{wline}")).unwrap(), TEXT);
        let ours = SIGNED.rsplit_once("\n\n").unwrap().1;
        assert_eq!(
            v.open(&format!("{SIGNED}{ours}")),
            Err(NoteError::DuplicateSignature("PeterNeumann".into()))
        );
        assert_eq!(v.open(TEXT), Err(NoteError::NoSignatureBlock));
        assert_eq!(
            v.open(&SIGNED.replace('\u{2014}', "-")),
            Err(NoteError::BadSignatureLine(1))
        );
        assert_eq!(v.open(&format!("{SIGNED}trailing")), Err(NoteError::NoSignatureBlock));
        assert_eq!(
            v.open(&SIGNED.replace("problem,", "problem,\r")),
            Err(NoteError::BadCharacters)
        );
        assert_eq!(v.open(&"x".repeat(MAX_NOTE_BYTES + 1)), Err(NoteError::TooLarge));
        let many = format!("{SIGNED}{}", wline.repeat(MAX_SIGNATURES));
        assert!(matches!(
            v.open(&many),
            Err(NoteError::TooManySignatures | NoteError::TooLarge)
        ));
    }

    #[test]
    fn the_signer_refuses_what_no_verifier_opens() {
        // Found by the `note` fuzz target (fuzz/corpus/note/crash-5e7014f2…):
        // a text over the note bound was signed, and the note then refused
        // by every verifier, ours included.
        let s = NoteSigner::parse(SKEY).unwrap();
        let v = s.verifier();
        let line = format!("{}\n", "a".repeat(MAX_LINE_BYTES + 1));
        assert_eq!(s.sign(&line), Err(NoteError::LineTooLong));
        let big = "a\n".repeat(MAX_NOTE_BYTES / 2);
        assert_eq!(s.sign(&big), Err(NoteError::TooLarge));
        // Right at the bounds it still signs, and opens.
        let line = format!("{}\n", "a".repeat(MAX_LINE_BYTES));
        assert_eq!(v.open(&s.sign(&line).unwrap()), Ok(line.as_str()));
        let sig_line = s.sign("x\n").unwrap().len() - "x\n".len();
        let fits = format!("{}\n", "a\n".repeat((MAX_NOTE_BYTES - sig_line) / 2 - 1));
        let signed = s.sign(&fits).unwrap();
        assert!(signed.len() <= MAX_NOTE_BYTES);
        assert_eq!(v.open(&signed), Ok(fits.as_str()));
    }

    #[test]
    fn key_strings_are_checked() {
        assert!(NoteVerifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
        assert!(NoteVerifier::parse("Peter+Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
        assert!(NoteVerifier::parse("PeterNeumann+c74f20a3+AhqcU").is_err());
        assert!(NoteSigner::parse(&SKEY.replace("c74f20a3", "00000000")).is_err());
        assert!(NoteSigner::new("has space", SigningKey::from_bytes(&[1; 32])).is_err());
        assert_eq!(
            NoteSigner::parse(SKEY).unwrap().sign("no newline"),
            Err(NoteError::TextNoNewline)
        );
        assert!(!format!("{:?}", NoteSigner::parse(SKEY).unwrap()).contains("AYEK"));
    }
}
