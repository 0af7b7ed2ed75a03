//! C2SP `tlog-checkpoint`: the signed note text
//! `<origin>\n<size>\n<base64 root>\n`, optionally followed by extension lines.
//! The size is decimal without leading zeros; the root is standard base64.
//! Our log signs with Ed25519 under a key whose name is the origin, so
//! [`open`] also insists the checkpoint's origin is the key's name.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::merkle::Hash;
use crate::note::{NoteError, NoteSigner, NoteVerifier};

/// At most this many extension lines after the root (we write none).
pub const MAX_EXTENSION_LINES: usize = 16;

/// A checkpoint's content: the log's name, its size and the root of the
/// tree of that many leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name (its key's name for our log).
    pub origin: String,
    /// How many leaves the tree has.
    pub size: u64,
    /// The root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Extension lines after the root, each non-empty; we write none.
    pub extensions: Vec<String>,
}

/// Why a checkpoint was refused or could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note around it is malformed or its signature does not verify.
    #[error("checkpoint signature: {0}")]
    Note(#[from] NoteError),
    /// Origin, size and root are not all there, or the text does not end in a newline.
    #[error("checkpoint has fewer than three lines")]
    TooShort,
    /// The first line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The size line is not a strict decimal number.
    #[error("checkpoint size is not a decimal number without leading zeros")]
    BadSize,
    /// The root line is not the canonical base64 of 32 bytes.
    #[error("checkpoint root is not the base64 of 32 bytes")]
    BadRoot,
    /// An extension line is empty, or there are more than [`MAX_EXTENSION_LINES`].
    #[error("checkpoint has an empty or too many extension lines")]
    BadExtension,
    /// The checkpoint names another log than the key it was verified with.
    #[error("checkpoint is for log {got:?}, expected {expected:?}")]
    WrongOrigin {
        /// The origin the checkpoint names.
        got: String,
        /// The verifier key's name.
        expected: String,
    },
}

/// Strict decimal: digits only, no sign, no leading zeros (except "0").
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// Standard base64 of exactly 32 bytes, canonical (no stray trailing bits).
pub(crate) fn parse_hash(s: &str) -> Option<Hash> {
    if s.len() != 44 {
        return None;
    }
    STANDARD.decode(s).ok()?.try_into().ok()
}

impl Checkpoint {
    /// The note text to sign.
    pub fn to_text(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root));
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note text (not the signed note).
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::TooShort)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(CheckpointError::TooShort);
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_decimal(size).ok_or(CheckpointError::BadSize)?;
        let root = parse_hash(root).ok_or(CheckpointError::BadRoot)?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.len() > MAX_EXTENSION_LINES || extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::BadExtension);
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint as a signed note.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        Ok(signer.sign(&self.to_text())?)
    }
}

/// Verifies a signed checkpoint against the log's key and parses it.
pub fn open(signed: &str, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
    let text = verifier.open(signed)?;
    let cp = Checkpoint::parse_text(text)?;
    if cp.origin != verifier.name() {
        return Err(CheckpointError::WrongOrigin {
            got: cp.origin,
            expected: verifier.name().to_owned(),
        });
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;

    #[test]
    fn round_trip_and_strict_parsing() {
        let signer = NoteSigner::new("keurmerk.test/log", SigningKey::from_bytes(&[5; 32])).unwrap();
        let cp = Checkpoint {
            origin: "keurmerk.test/log".into(),
            size: 20852163,
            root: [7; 32],
            extensions: vec![],
        };
        let signed = cp.sign(&signer).unwrap();
        assert!(signed.starts_with("keurmerk.test/log\n20852163\nBwcH"));
        assert_eq!(open(&signed, signer.verifier()).unwrap(), cp);

        let other = NoteSigner::new("other", SigningKey::from_bytes(&[5; 32])).unwrap();
        let foreign = Checkpoint {
            origin: "keurmerk.test/log".into(),
            ..cp.clone()
        }
        .sign(&other)
        .unwrap();
        assert!(matches!(
            open(&foreign, other.verifier()),
            Err(CheckpointError::WrongOrigin { .. })
        ));
        let root = STANDARD.encode([7u8; 32]);
        for (text, err) in [
            ("o\n01\nx\n".to_owned(), CheckpointError::BadSize),
            ("o\n-1\nx\n".to_owned(), CheckpointError::BadSize),
            ("o\n1\n".to_owned(), CheckpointError::TooShort),
            ("o\n1\nAAAA\n".to_owned(), CheckpointError::BadRoot),
            (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
            (format!("o\n1\n{root}\n\n"), CheckpointError::BadExtension),
            (format!("o\n1\n{root}"), CheckpointError::TooShort),
        ] {
            assert_eq!(Checkpoint::parse_text(&text), Err(err), "{text:?}");
        }
        assert_eq!(
            Checkpoint::parse_text(&format!("o\n0\n{root}\next one\n"))
                .unwrap()
                .extensions,
            vec!["ext one".to_owned()]
        );
    }
}
