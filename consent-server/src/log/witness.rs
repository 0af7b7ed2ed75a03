//! Witnessing: the log asks C2SP tlog-witnesses (<https://c2sp.org/tlog-witness>)
//! to cosign every checkpoint it publishes, so that a proof can show that
//! independent parties saw the same history (no split view).
//!
//! After the integrator publishes a checkpoint, the [`Cosigner`] submits it
//! to every configured witness at once: `POST <url>/add-checkpoint` with
//! `old <size the witness last cosigned>`, the consistency proof from that
//! size, a blank line and the signed checkpoint. A witness it has not
//! spoken to yet is first asked with `old 0`; its `409 Conflict` names the
//! size it holds (`text/x.tlog.size`), and the request is sent again from
//! there. Each answer's cosignature/v1 line is checked against the
//! witness's key before it is kept; the valid ones are added to the stored
//! checkpoint note (compare-and-set on that exact note), so
//! `/api/v1/log/checkpoint` and every proof bundle handed out afterwards
//! carry them.
//!
//! The log never waits for witnesses: a checkpoint without the quorum is
//! still served, counted in `/metrics` (`keurmerk_log_checkpoints_unwitnessed_total`)
//! and logged; the next checkpoint is submitted as usual.

use std::sync::LazyLock;
use std::time::Duration;

use consent_core::cosignature::{CosignatureVerifier, add_signature_lines};
use consent_core::merkle::consistency_proof;
use consent_core::note::SignedNote;
use consent_core::tile::{TiledTree, tiles_read_by};
use consent_core::tlog_proof::format_hash_lines;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::storage::log::LogStorage;

/// How long one request to a witness may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests per witness per checkpoint (the first may only learn its size
/// from a 409; one more for a transient failure).
pub const ATTEMPTS: usize = 3;
/// A witness's answer is a few signature lines.
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// A witness as configured: `NAME+KEYID+BASE64KEY=URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessEndpoint {
    /// Its cosignature/v1 verifier key.
    pub verifier: CosignatureVerifier,
    /// The submission prefix, without a trailing slash.
    pub url: String,
}

impl WitnessEndpoint {
    /// Parses `vkey=URL`; the URL must be http(s).
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let (vkey, url) = s
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("expected NAME+KEYID+KEY=URL"))?;
        let verifier = CosignatureVerifier::parse(vkey.trim()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let parsed = url::Url::parse(url.trim())?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
            "the witness URL must be http(s)"
        );
        Ok(Self {
            verifier,
            url: url.trim().trim_end_matches('/').to_owned(),
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WitnessLabels {
    pub witness: String,
}

/// The witnessing figures in `/metrics` (registered by `Metrics::new`).
pub struct WitnessMetrics {
    /// Size of the latest checkpoint that reached the quorum.
    pub witnessed_size: Gauge,
    /// 1 if the latest published checkpoint reached the quorum, else 0.
    pub latest_witnessed: Gauge,
    /// Checkpoints that did not reach the quorum.
    pub unwitnessed: Counter,
    /// Failed submissions, per witness.
    pub failures: Family<WitnessLabels, Counter>,
}

pub static METRICS: LazyLock<WitnessMetrics> = LazyLock::new(|| WitnessMetrics {
    witnessed_size: Gauge::default(),
    latest_witnessed: Gauge::default(),
    unwitnessed: Counter::default(),
    failures: Family::default(),
});

/// Registers [`METRICS`] (a process runs one log).
pub fn register_metrics(registry: &mut Registry) {
    let m = &*METRICS;
    registry.register(
        "log_witnessed_size",
        "Tree size of the latest checkpoint cosigned by the witness quorum",
        m.witnessed_size.clone(),
    );
    registry.register(
        "log_latest_checkpoint_witnessed",
        "1 if the latest checkpoint reached the witness quorum (always 1 without witnesses)",
        m.latest_witnessed.clone(),
    );
    registry.register(
        "log_checkpoints_unwitnessed",
        "Checkpoints published without the witness quorum",
        m.unwitnessed.clone(),
    );
    registry.register(
        "log_witness_failures",
        "Failed submissions of a checkpoint to a witness",
        m.failures.clone(),
    );
}

/// Why a witness did not cosign.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("request: {0}")]
    Http(#[from] reqwest::Error),
    #[error("answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("its cosignature does not verify: {0}")]
    BadCosignature(String),
    #[error("it already cosigned size {0}, beyond this checkpoint")]
    Ahead(u64),
    #[error("consistency proof: {0}")]
    Proof(String),
    #[error("still in conflict after {ATTEMPTS} attempts")]
    Conflict,
}

struct Witness {
    endpoint: WitnessEndpoint,
    /// The size it last cosigned, once known.
    size: Option<u64>,
}

/// Submits published checkpoints to the witnesses and stores their
/// cosignatures with the checkpoint.
pub struct Cosigner {
    witnesses: Vec<Witness>,
    quorum: usize,
    storage: LogStorage,
    client: reqwest::Client,
    /// The last size counted as unwitnessed, so retries count once.
    counted: Option<u64>,
}

impl Cosigner {
    pub fn new(endpoints: Vec<WitnessEndpoint>, quorum: usize, storage: LogStorage) -> Self {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .expect("a TLS backend is compiled in");
        Self {
            witnesses: endpoints
                .into_iter()
                .map(|endpoint| Witness { endpoint, size: None })
                .collect(),
            quorum,
            storage,
            client,
            counted: None,
        }
    }

    /// Runs forever: on each published checkpoint (and every `interval`, for
    /// one that a previous round left short of the quorum) collects the
    /// missing cosignatures.
    pub async fn run(mut self, mut published: watch::Receiver<u64>, interval: Duration) {
        loop {
            match self.round().await {
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "witnessing failed; retrying"),
            }
            // Wake on the next publication, or retry after the interval.
            let _ = tokio::time::timeout(interval.max(Duration::from_millis(100)), published.changed()).await;
        }
    }

    /// One round over the latest checkpoint: returns how many configured
    /// witnesses have cosigned it.
    pub async fn round(&mut self) -> Result<usize, consent_core::store::StoreError> {
        let Some((size, note)) = self.storage.checkpoint().await? else {
            return Ok(0);
        };
        let Ok(parsed) = SignedNote::parse(&note) else {
            return Ok(0);
        };
        let body = parsed.text.to_owned();
        let have: Vec<bool> = self
            .witnesses
            .iter()
            .map(|w| matches!(w.endpoint.verifier.verify(&note), Ok(Some(_))))
            .collect();
        let already = have.iter().filter(|h| **h).count();
        if already >= self.quorum.max(1) || already == self.witnesses.len() {
            return Ok(already);
        }
        let (client, storage) = (&self.client, &self.storage);
        let submissions = self
            .witnesses
            .iter_mut()
            .zip(&have)
            .filter(|(_, have)| !**have)
            .map(|(w, _)| submit(client, storage, w, size, &note, &body));
        let answers = futures_util::future::join_all(submissions).await;
        let mut lines = String::new();
        for (name, answer) in answers {
            match answer {
                Ok(line) => lines.push_str(&line),
                Err(e) => {
                    METRICS
                        .failures
                        .get_or_create(&WitnessLabels { witness: name.clone() })
                        .inc();
                    tracing::warn!(witness = %name, size, error = %e, "witness did not cosign");
                }
            }
        }
        let mut count = already;
        if !lines.is_empty() {
            let new = match add_signature_lines(&note, &lines) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cosignatures do not fit the note");
                    return Ok(already);
                }
            };
            count = self
                .witnesses
                .iter()
                .filter(|w| matches!(w.endpoint.verifier.verify(&new), Ok(Some(_))))
                .count();
            if !self.storage.add_cosignatures(size, note, new).await? {
                // A newer checkpoint was published meanwhile; its turn next.
                return Ok(count);
            }
        }
        if count >= self.quorum {
            METRICS.witnessed_size.set(size as i64);
            METRICS.latest_witnessed.set(1);
        } else {
            METRICS.latest_witnessed.set(0);
            if self.counted != Some(size) {
                self.counted = Some(size);
                METRICS.unwitnessed.inc();
            }
            tracing::warn!(
                size,
                cosigned = count,
                quorum = self.quorum,
                "checkpoint published without the witness quorum"
            );
        }
        Ok(count)
    }
}

/// Asks one witness to cosign; returns its name and its verified line.
async fn submit(
    client: &reqwest::Client,
    storage: &LogStorage,
    w: &mut Witness,
    size: u64,
    note: &str,
    body: &str,
) -> (String, Result<String, SubmitError>) {
    let name = w.endpoint.verifier.name().to_owned();
    let mut result = Err(SubmitError::Conflict);
    for _ in 0..ATTEMPTS {
        result = submit_once(client, storage, w, size, note, body).await;
        match &result {
            Ok(_) | Err(SubmitError::Ahead(_) | SubmitError::BadCosignature(_) | SubmitError::Proof(_)) => break,
            Err(SubmitError::Refused { status, .. }) if *status != 409 && *status < 500 => break,
            Err(_) => {}
        }
    }
    (name, result)
}

async fn submit_once(
    client: &reqwest::Client,
    storage: &LogStorage,
    w: &mut Witness,
    size: u64,
    note: &str,
    body: &str,
) -> Result<String, SubmitError> {
    let old = w.size.unwrap_or(0);
    if old > size {
        return Err(SubmitError::Ahead(old));
    }
    let proof = if old == 0 || old == size {
        String::new()
    } else {
        let keys = tiles_read_by(|t| consistency_proof(t, old, size).map(|_| ()));
        let tiles = storage
            .read_tiles(keys)
            .await
            .map_err(|e| SubmitError::Proof(e.to_string()))?;
        let p = consistency_proof(&TiledTree::new(&tiles), old, size).map_err(|e| SubmitError::Proof(e.to_string()))?;
        format_hash_lines(&p)
    };
    let mut resp = client
        .post(format!("{}/add-checkpoint", w.endpoint.url))
        .body(format!("old {old}\n{proof}\n{note}"))
        .send()
        .await?;
    let status = resp.status().as_u16();
    let mut text = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        text.extend_from_slice(&chunk);
        if text.len() > MAX_RESPONSE_BYTES {
            return Err(SubmitError::Refused {
                status,
                body: "answer too large".into(),
            });
        }
    }
    let text = String::from_utf8_lossy(&text).into_owned();
    match status {
        200 => {
            // Keep only this witness's line, and only if it verifies.
            match w.endpoint.verifier.verify_lines(body, &text) {
                Ok(Some(_)) => {
                    w.size = Some(size);
                    let mine = text
                        .lines()
                        .filter(|l| l.starts_with(&format!("\u{2014} {} ", w.endpoint.verifier.name())))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    Ok(mine)
                }
                Ok(None) => Err(SubmitError::BadCosignature("no line by its key".into())),
                Err(e) => Err(SubmitError::BadCosignature(e.to_string())),
            }
        }
        409 => {
            // The body is the size it holds (text/x.tlog.size): start there.
            let held = text.trim_end_matches('\n').parse::<u64>().ok();
            w.size = held;
            Err(SubmitError::Refused { status, body: text })
        }
        _ => Err(SubmitError::Refused {
            status,
            body: text.chars().take(200).collect(),
        }),
    }
}
