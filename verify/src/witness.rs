//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>): cosigns a log's
//! checkpoints after checking that each one extends the last it cosigned.
//!
//! `POST /add-checkpoint` (§"add-checkpoint") takes `old <size>\n`, up to 63
//! base64 consistency-proof lines, a blank line and the signed checkpoint,
//! and answers:
//!
//! | status | when |
//! |---|---|
//! | 200 | cosigned: the body is this witness's cosignature/v1 line |
//! | 400 | malformed request, or `old` above the checkpoint's size |
//! | 403 | no valid signature by a key this witness trusts for the origin |
//! | 404 | an origin this witness does not witness |
//! | 409 | `old` is not the size it last cosigned; the body is that size (`text/x.tlog.size`) |
//! | 422 | size 0 with a non-empty root, a proof with `old 0`, a consistency proof that does not verify, or the same size with another root |
//!
//! `GET /<hex SHA-256 of the origin>/checkpoint` (§"Monitor Retrieval
//! Mechanism") serves the latest checkpoint it cosigned, with the log's
//! signature and its own cosignature, or 404.
//!
//! Durability: per log one file in the state directory, named by the
//! origin's hash, holding that cosigned note. Checking `old` against it and
//! replacing it happen under one lock (the spec's race between two
//! requests), and the new file is written to a temporary file, fsynced,
//! renamed over the old one and the directory fsynced **before** the
//! cosignature leaves the process. After a `kill -9` the witness therefore
//! holds the last checkpoint whose cosignature anyone can have, and never
//! cosigns a checkpoint that conflicts with it.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use consent_core::checkpoint::Checkpoint;
use consent_core::cosignature::CosignatureSigner;
use consent_core::merkle::{Hash, MAX_PROOF_LEN, empty_root, verify_consistency};
use consent_core::note::{MAX_NOTE_BYTES, NoteError, NoteVerifier, SignedNote};
use consent_core::tlog_proof::parse_hash_lines;
use sha2::{Digest as _, Sha256};

/// At most this many consistency-proof lines (tlog-witness: "MUST NOT send
/// more than 63").
pub const MAX_PROOF_LINES: usize = 63;
/// Bound on an add-checkpoint body: the old line, 63 hashes and a note.
pub const MAX_REQUEST_BYTES: usize = 32 + MAX_PROOF_LINES * 45 + MAX_NOTE_BYTES;
/// The Content-Type of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why a checkpoint was not cosigned, with the status the spec assigns.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// 400: the request is malformed, or `old` is above the checkpoint size.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: no valid signature by a trusted key for the origin.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: the origin is not one this witness witnesses.
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// 409: `old` is not the size last cosigned, which is given.
    #[error("conflict: the latest cosigned size is {0}")]
    Conflict(u64),
    /// 422: the checkpoint is not consistent with what was cosigned before.
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// 500: the state could not be read or made durable; nothing was cosigned.
    #[error("witness state: {0}")]
    State(#[from] std::io::Error),
}

impl AddError {
    /// The HTTP status tlog-witness assigns.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Forbidden(_) => 403,
            Self::UnknownLog(_) => 404,
            Self::Conflict(_) => 409,
            Self::Unprocessable(_) => 422,
            Self::State(_) => 500,
        }
    }
}

/// A parsed add-checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRequest<'a> {
    /// The size the client believes the witness last cosigned.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub note: &'a str,
}

/// Parses an add-checkpoint body (tlog-witness §"add-checkpoint").
pub fn parse_request(body: &str) -> Result<AddRequest<'_>, AddError> {
    let bad = |m: &str| AddError::BadRequest(m.to_owned());
    if body.len() > MAX_REQUEST_BYTES {
        return Err(bad("request body too large"));
    }
    let (first, rest) = body.split_once('\n').ok_or_else(|| bad("no old size line"))?;
    let old = first
        .strip_prefix("old ")
        .and_then(|s| {
            (!s.is_empty()
                && s.len() <= 20
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0')))
            .then(|| s.parse().ok())
            .flatten()
        })
        .ok_or_else(|| bad("the first line must be `old <decimal size>`"))?;
    let (proof_text, note) = match rest.strip_prefix('\n') {
        Some(note) => ("", note),
        None => rest
            .split_once("\n\n")
            .map(|(p, n)| (&rest[..p.len() + 1], n))
            .ok_or_else(|| bad("no blank line before the checkpoint"))?,
    };
    if proof_text.lines().count() > MAX_PROOF_LINES.min(MAX_PROOF_LEN) {
        return Err(bad("more than 63 consistency proof lines"));
    }
    let proof = parse_hash_lines(proof_text).map_err(|e| AddError::BadRequest(format!("consistency proof: {e}")))?;
    if note.is_empty() {
        return Err(bad("no checkpoint after the blank line"));
    }
    Ok(AddRequest { old, proof, note })
}

/// The file name of a log's state: hex SHA-256 of its origin, as the
/// monitoring URL names it.
pub fn origin_hash(origin: &str) -> String {
    Sha256::digest(origin.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A witness: its key, the logs it witnesses and where it keeps their state.
pub struct Witness {
    signer: CosignatureSigner,
    logs: HashMap<String, Vec<NoteVerifier>>,
    state_dir: PathBuf,
    // One request at a time from check to durable write: the spec's race.
    lock: Mutex<()>,
}

impl Witness {
    /// A witness cosigning with `signer` for the logs of `logs` (their
    /// key names are their origins), keeping state in `state_dir`
    /// (created if missing).
    pub fn new(signer: CosignatureSigner, logs: Vec<NoteVerifier>, state_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(state_dir)?;
        let mut map: HashMap<String, Vec<NoteVerifier>> = HashMap::new();
        for l in logs {
            map.entry(l.name().to_owned()).or_default().push(l);
        }
        Ok(Self {
            signer,
            logs: map,
            state_dir: state_dir.to_owned(),
            lock: Mutex::new(()),
        })
    }

    /// The witness's key.
    pub fn signer(&self) -> &CosignatureSigner {
        &self.signer
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        self.state_dir.join(origin_hash(origin))
    }

    /// The latest cosigned note for the log whose origin hashes to `hash`.
    pub fn latest_by_hash(&self, hash: &str) -> std::io::Result<Option<String>> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Ok(None);
        }
        match std::fs::read_to_string(self.state_dir.join(hash)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The latest cosigned size and root for `origin`: (0, empty) if none.
    fn state(&self, origin: &str) -> std::io::Result<(u64, Hash)> {
        match std::fs::read_to_string(self.state_path(origin)) {
            Ok(note) => {
                let text = SignedNote::parse(&note).map_err(std::io::Error::other)?.text;
                let cp = Checkpoint::parse_text(text).map_err(std::io::Error::other)?;
                Ok((cp.size, cp.root))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((0, empty_root())),
            Err(e) => Err(e),
        }
    }

    /// Replaces the log's state durably: temporary file, fsync, rename,
    /// fsync of the directory (so the rename itself survives a crash).
    fn persist(&self, origin: &str, note: &str) -> std::io::Result<()> {
        let path = self.state_path(origin);
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(note.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&self.state_dir)?.sync_all()
    }

    /// Handles one add-checkpoint body at `now` (POSIX seconds): checks it
    /// as tlog-witness prescribes, makes the new state durable and returns
    /// the cosignature line.
    pub fn add_checkpoint(&self, body: &str, now: u64) -> Result<String, AddError> {
        let req = parse_request(body)?;
        let parsed = SignedNote::parse(req.note).map_err(|e| AddError::BadRequest(format!("checkpoint: {e}")))?;
        let origin = parsed.text.split('\n').next().unwrap_or_default();
        let keys = self
            .logs
            .get(origin)
            .ok_or_else(|| AddError::UnknownLog(origin.to_owned()))?;
        // Any trusted key's valid signature will do; a trusted key's line
        // that fails makes the note malformed (signed-note), so 403.
        let mut signed = false;
        for k in keys {
            match k.open(req.note) {
                Ok(_) => signed = true,
                Err(NoteError::NotSignedByKey(_)) => {}
                Err(e) => return Err(AddError::Forbidden(e.to_string())),
            }
        }
        if !signed {
            return Err(AddError::Forbidden(format!(
                "no signature by a key trusted for {origin}"
            )));
        }
        let cp = Checkpoint::parse_text(parsed.text).map_err(|e| AddError::BadRequest(e.to_string()))?;
        if req.old > cp.size {
            return Err(AddError::BadRequest(format!(
                "old size {} is above the checkpoint size {}",
                req.old, cp.size
            )));
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(AddError::Unprocessable(
                "a checkpoint of size 0 must have the empty tree's root".into(),
            ));
        }
        let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (size, root) = self.state(origin)?;
        if req.old != size {
            return Err(AddError::Conflict(size));
        }
        if req.old == 0 {
            if !req.proof.is_empty() {
                return Err(AddError::Unprocessable(
                    "old size 0 needs an empty consistency proof".into(),
                ));
            }
        } else if req.old == cp.size {
            if cp.root != root || !req.proof.is_empty() {
                return Err(AddError::Unprocessable(format!(
                    "a different root for tree size {}: the log forked",
                    cp.size
                )));
            }
        } else {
            verify_consistency(req.old, cp.size, &root, &cp.root, &req.proof)
                .map_err(|e| AddError::Unprocessable(format!("consistency proof {} -> {}: {e}", req.old, cp.size)))?;
        }
        let line = self
            .signer
            .sign(parsed.text, now.max(1))
            .map_err(|e| AddError::BadRequest(e.to_string()))?;
        // The state is the log's note with this cosignature, for monitors.
        let mut stored = req.note.to_owned();
        stored.push_str(&line);
        self.persist(origin, &stored)?;
        Ok(line)
    }
}

/// The witness's HTTP service over `witness`.
pub fn router(witness: Arc<Witness>) -> axum::Router {
    use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};

    fn text(status: StatusCode, ctype: &'static str, body: String) -> Response {
        (status, [(header::CONTENT_TYPE, ctype)], body).into_response()
    }

    async fn add(State(w): State<Arc<Witness>>, body: axum::body::Bytes) -> Response {
        let Ok(body) = String::from_utf8(body.to_vec()) else {
            return text(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                "body is not UTF-8\n".into(),
            );
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs());
        let result = tokio::task::spawn_blocking(move || w.add_checkpoint(&body, now)).await;
        match result {
            Ok(Ok(line)) => text(StatusCode::OK, "text/plain; charset=utf-8", line),
            Ok(Err(AddError::Conflict(size))) => text(StatusCode::CONFLICT, SIZE_CONTENT_TYPE, format!("{size}\n")),
            Ok(Err(e)) => {
                if matches!(e, AddError::State(_) | AddError::Unprocessable(_)) {
                    // A 422 may be evidence of a forked log: keep a record.
                    eprintln!("witness: refused a checkpoint: {e}");
                }
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                text(status, "text/plain; charset=utf-8", format!("{e}\n"))
            }
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                format!("{e}\n"),
            ),
        }
    }

    async fn latest(State(w): State<Arc<Witness>>, UrlPath(hash): UrlPath<String>) -> Response {
        match tokio::task::spawn_blocking(move || w.latest_by_hash(&hash)).await {
            Ok(Ok(Some(note))) => text(StatusCode::OK, "text/plain; charset=utf-8", note),
            Ok(Ok(None)) => text(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "never cosigned\n".into(),
            ),
            _ => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "state unreadable\n".into(),
            ),
        }
    }

    axum::Router::new()
        .route("/add-checkpoint", axum::routing::post(add))
        .route("/{origin_hash}/checkpoint", axum::routing::get(latest))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(witness)
}

#[cfg(test)]
mod tests {
    use consent_core::merkle::{MemoryTree, consistency_proof, leaf_hash};
    use consent_core::note::NoteSigner;
    use consent_core::tlog_proof::format_hash_lines;

    use super::*;

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        t
    }

    fn note(log: &NoteSigner, t: &MemoryTree) -> String {
        Checkpoint {
            origin: log.name().into(),
            size: t.size(),
            root: t.root(),
            extensions: vec![],
        }
        .sign(log)
        .unwrap()
    }

    #[test]
    fn the_spec_answers() {
        let dir = tempfile::tempdir().unwrap();
        let log = NoteSigner::from_seed("log.example/a", &[1; 32]).unwrap();
        let w = Witness::new(
            CosignatureSigner::from_seed("w.example", &[2; 32]).unwrap(),
            vec![log.verifier().clone()],
            dir.path(),
        )
        .unwrap();
        let t5 = tree(5);
        let line = w.add_checkpoint(&format!("old 0\n\n{}", note(&log, &t5)), 10).unwrap();
        assert_eq!(
            w.signer()
                .verifier()
                .verify_lines(&note(&log, &t5)[..note(&log, &t5).find("\n\n").unwrap() + 1], &line)
                .unwrap(),
            Some(10)
        );
        // Stale: the witness is at 5.
        assert!(matches!(
            w.add_checkpoint(&format!("old 0\n\n{}", note(&log, &tree(7))), 11),
            Err(AddError::Conflict(5))
        ));
        let t9 = tree(9);
        let proof = format_hash_lines(&consistency_proof(&t9, 5, 9).unwrap());
        w.add_checkpoint(&format!("old 5\n{proof}\n{}", note(&log, &t9)), 12)
            .unwrap();
        // A proof from the wrong tree: 422.
        let fork = {
            let mut t = tree(8);
            t.push(leaf_hash(b"forged"));
            t.push(leaf_hash(b"forged2"));
            t
        };
        let p = format_hash_lines(&consistency_proof(&fork, 9, 10).unwrap());
        assert!(matches!(
            w.add_checkpoint(&format!("old 9\n{p}\n{}", note(&log, &fork)), 13),
            Err(AddError::Unprocessable(_))
        ));
        // Same size, another root: 422.
        let mut other9 = tree(8);
        other9.push(leaf_hash(b"x"));
        assert!(matches!(
            w.add_checkpoint(&format!("old 9\n\n{}", note(&log, &other9)), 13),
            Err(AddError::Unprocessable(_))
        ));
        // old above size: 400; unknown log: 404; foreign key: 403.
        assert_eq!(
            w.add_checkpoint(&format!("old 10\n\n{}", note(&log, &t9)), 13)
                .unwrap_err()
                .status(),
            400
        );
        let stranger = NoteSigner::from_seed("log.example/b", &[1; 32]).unwrap();
        assert_eq!(
            w.add_checkpoint(&format!("old 0\n\n{}", note(&stranger, &t9)), 13)
                .unwrap_err()
                .status(),
            404
        );
        let imposter = NoteSigner::from_seed("log.example/a", &[3; 32]).unwrap();
        assert_eq!(
            w.add_checkpoint(&format!("old 9\n\n{}", note(&imposter, &t9)), 13)
                .unwrap_err()
                .status(),
            403
        );
        for bad in ["", "old 01\n\nx", "old x\n\n", "old 1\nAAAA\n\nx", "old 1\n"] {
            assert_eq!(w.add_checkpoint(bad, 1).unwrap_err().status(), 400, "{bad:?}");
        }
        // The state survives a new instance (a restart).
        let again = Witness::new(w.signer().clone(), vec![log.verifier().clone()], dir.path()).unwrap();
        assert!(matches!(
            again.add_checkpoint(&format!("old 5\n\n{}", note(&log, &t9)), 14),
            Err(AddError::Conflict(9))
        ));
        assert!(
            again
                .latest_by_hash(&origin_hash("log.example/a"))
                .unwrap()
                .unwrap()
                .contains("w.example")
        );
    }
}
