//! The log's signing key.
//!
//! Looked for, in order:
//! 1. `KEURMERK_LOG_KEY`: the key itself, `PRIVATE+KEY+<name>+<id>+<base64>`
//!    (C2SP signed-note signer form). For several instances sharing a log.
//! 2. `KEURMERK_LOG_KEY_FILE`: a file holding that line.
//! 3. Embedded storage: `<data dir>/log-signing-key`, created on first start
//!    with mode 0600.
//! 4. Redis storage: the key `<prefix>log:signing-key`, created on first start
//!    with `SET NX`, so every instance on that Redis signs as the same log
//!    without extra setup. Whoever can read that Redis can then sign as the
//!    log; production deployments should pass the key by (1) or (2).
//!
//! The name of a new key is `KEURMERK_LOG_NAME`, or else derived from the
//! public URL (`<host[:port]>/keurmerk-log`); it is the checkpoints' origin.
//!
//! The verifier key (public) is served at `/.well-known/keurmerk-log-key`.
//! The private key is never logged.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;

use anyhow::Context as _;
use consent_core::note::NoteSigner;
use rand::RngCore as _;

pub const KEY_FILE: &str = "log-signing-key";

/// A key name from the public URL: its authority plus `/keurmerk-log`.
pub fn default_name(public_url: &str) -> String {
    let authority = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("localhost");
    let clean: String = authority.chars().filter(|c| !c.is_whitespace() && *c != '+').collect();
    format!("{}/keurmerk-log", if clean.is_empty() { "localhost" } else { &clean })
}

/// The key given by `KEURMERK_LOG_KEY` or `KEURMERK_LOG_KEY_FILE`, if any.
fn from_env() -> anyhow::Result<Option<NoteSigner>> {
    if let Ok(k) = std::env::var("KEURMERK_LOG_KEY") {
        return NoteSigner::parse(k.trim())
            .map(Some)
            .map_err(|e| anyhow::anyhow!("KEURMERK_LOG_KEY: {e}"));
    }
    if let Ok(path) = std::env::var("KEURMERK_LOG_KEY_FILE") {
        let k = std::fs::read_to_string(&path).with_context(|| format!("reading KEURMERK_LOG_KEY_FILE {path}"))?;
        return NoteSigner::parse(k.trim())
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{path}: {e}"));
    }
    Ok(None)
}

fn new_signer(public_url: &str) -> anyhow::Result<NoteSigner> {
    let name = std::env::var("KEURMERK_LOG_NAME").unwrap_or_else(|_| default_name(public_url));
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    NoteSigner::from_seed(&name, &seed).map_err(|e| anyhow::anyhow!("log name {name:?}: {e}"))
}

/// Redis storage: the shared key in Redis (see the module docs). Blocks
/// briefly at start; retries for a few seconds while Redis comes up.
pub fn load_or_create_in_redis(url: &str, prefix: &str, public_url: &str) -> anyhow::Result<NoteSigner> {
    if let Some(s) = from_env()? {
        return Ok(s);
    }
    let key = format!("{prefix}log:signing-key");
    let fresh = new_signer(public_url)?.to_private_string();
    let client = redis::Client::open(url).context("Redis URL")?;
    let mut last = None;
    for _ in 0..20 {
        let attempt = (|| -> redis::RedisResult<Option<String>> {
            let mut c = client.get_connection_with_timeout(std::time::Duration::from_secs(1))?;
            redis::cmd("SET").arg(&key).arg(&fresh).arg("NX").exec(&mut c)?;
            redis::cmd("GET").arg(&key).query(&mut c)
        })();
        match attempt {
            Ok(Some(k)) => return NoteSigner::parse(k.trim()).map_err(|e| anyhow::anyhow!("{key} in Redis: {e}")),
            Ok(None) => last = Some(anyhow::anyhow!("{key} vanished")),
            Err(e) => last = Some(e.into()),
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("Redis unreachable")))
        .context("loading the log's signing key from Redis")
}

pub fn load_or_create(data_dir: &Path, public_url: &str) -> anyhow::Result<NoteSigner> {
    if let Some(s) = from_env()? {
        return Ok(s);
    }
    let (text, created) = secret_file(data_dir, KEY_FILE, || Ok(new_signer(public_url)?.to_private_string()))?;
    let path = data_dir.join(KEY_FILE);
    let signer = NoteSigner::parse(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if created {
        tracing::info!(verifier_key = %signer.verifier(), "created the log's signing key");
    }
    Ok(signer)
}

/// The content of `<data_dir>/<file>`, a secret: read if it exists, else
/// `fresh()` written with mode 0600 and synced (and `true`). Two processes
/// starting at once agree: the second reads what the first created.
pub fn secret_file(
    data_dir: &Path,
    file: &str,
    fresh: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<(String, bool)> {
    let path = data_dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(k) => return Ok((k, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let text = format!("{}\n", fresh()?);
    // create_new: if another process created it meanwhile, use theirs.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            Ok((text, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((std::fs::read_to_string(&path)?, false)),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn names_and_first_start() {
        assert_eq!(
            default_name("https://consent.example.nl/x"),
            "consent.example.nl/keurmerk-log"
        );
        assert_eq!(default_name("http://127.0.0.1:8080"), "127.0.0.1:8080/keurmerk-log");
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path(), "http://127.0.0.1:1").unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = load_or_create(dir.path(), "http://other:2").unwrap();
        assert_eq!(a.verifier(), b.verifier(), "the key is kept across starts");
    }
}
