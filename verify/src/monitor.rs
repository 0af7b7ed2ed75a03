//! Watches a log from outside: fetches the latest checkpoint again and again
//! and the consistency proof from each one seen to the next. Any checkpoint
//! that fails its signature, or any two that are not consistent (the log
//! rewrote or forked its history), is an alarm. Network trouble is not: it
//! is reported and the next poll tries again.

use consent_core::checkpoint::{self, Checkpoint};
use consent_core::cosignature::CosignatureVerifier;
use consent_core::merkle::verify_consistency;
use consent_core::note::{MAX_NOTE_BYTES, NoteVerifier};
use consent_core::tlog_proof::parse_hash_lines;

/// What one poll saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The first checkpoint seen (nothing to compare it with yet).
    First(Checkpoint),
    /// The same tree as last time.
    Unchanged(Checkpoint),
    /// A larger tree, proven consistent with the last one seen.
    Grew {
        /// The size of the last tree seen.
        from: u64,
        /// The new checkpoint, now the last one seen.
        to: Checkpoint,
    },
    /// An older checkpoint than one already seen, but consistent with it
    /// (a lagging replica or cache); the monitor keeps the newer one.
    Stale {
        /// The size of the newest tree seen.
        seen: u64,
        /// The size of the tree served this time.
        served: u64,
    },
}

/// Why a poll did not give an [`Observation`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MonitorError {
    /// Evidence of misbehaviour: the monitor must stop and shout.
    #[error("ALARM: {0}")]
    Alarm(String),
    /// Could not ask; says nothing about the log.
    #[error("fetch failed: {0}")]
    Fetch(String),
}

/// A monitor of one log: its server, its key, and the newest checkpoint seen.
pub struct Monitor {
    client: reqwest::Client,
    base: String,
    key: NoteVerifier,
    last: Option<Checkpoint>,
    served: Option<String>,
    witnesses: Vec<(CosignatureVerifier, String)>,
}

/// What a witness has cosigned, compared with the log's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessView {
    /// The witness cosigned this size, consistent with the log's checkpoint.
    Consistent {
        /// The witness's name.
        witness: String,
        /// The size it last cosigned.
        size: u64,
    },
    /// The witness has cosigned nothing for this log yet.
    Nothing {
        /// The witness's name.
        witness: String,
    },
}

impl Monitor {
    /// A monitor for the server at `base` (e.g. `https://consent.example.nl`)
    /// whose log signs with `key`; it has seen nothing yet.
    pub fn new(base: &str, key: NoteVerifier) -> Self {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a TLS backend is compiled in");
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            key,
            last: None,
            served: None,
            witnesses: Vec::new(),
        }
    }

    /// Also compares the log with what these witnesses cosigned, read at
    /// each one's monitoring URL (tlog-witness §"Monitor Retrieval
    /// Mechanism": `GET <prefix>/<hex SHA-256 of the origin>/checkpoint`).
    pub fn with_witnesses(mut self, witnesses: Vec<(CosignatureVerifier, String)>) -> Self {
        self.witnesses = witnesses
            .into_iter()
            .map(|(k, u)| (k, u.trim_end_matches('/').to_owned()))
            .collect();
        self
    }

    /// Checks the last checkpoint seen against every witness's view: a
    /// witness that cosigned another root for the same size, or a tree the
    /// log cannot prove consistent with what it showed this monitor, is an
    /// alarm (the log showed the witness and this monitor different
    /// histories). Call after [`Self::poll`].
    pub async fn check_witnesses(&self) -> Result<Vec<WitnessView>, MonitorError> {
        let Some(cp) = self.last.clone() else {
            return Ok(vec![]);
        };
        let hash = crate::witness::origin_hash(&cp.origin);
        let mut out = Vec::new();
        for (w, url) in &self.witnesses {
            let Some(note) = self.get_url(&format!("{url}/{hash}/checkpoint")).await? else {
                out.push(WitnessView::Nothing {
                    witness: w.name().to_owned(),
                });
                continue;
            };
            let theirs = checkpoint::open(&note, &self.key).map_err(|e| {
                MonitorError::Alarm(format!("witness {}: its checkpoint does not verify: {e}", w.name()))
            })?;
            match w.verify(&note) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(MonitorError::Alarm(format!(
                        "witness {} serves a checkpoint without its cosignature",
                        w.name()
                    )));
                }
                Err(e) => return Err(MonitorError::Alarm(format!("witness {}: {e}", w.name()))),
            }
            let split = |detail: String| {
                MonitorError::Alarm(format!(
                    "split view: witness {} cosigned tree size {} of a history the log does not show this monitor: {detail}",
                    w.name(),
                    theirs.size
                ))
            };
            if theirs.size == cp.size {
                if theirs.root != cp.root {
                    return Err(split(format!("another root for size {}", cp.size)));
                }
            } else {
                let (old, new) = if theirs.size < cp.size {
                    (&theirs, &cp)
                } else {
                    (&cp, &theirs)
                };
                let text = self
                    .get(&format!("/api/v1/log/consistency?old={}&new={}", old.size, new.size))
                    .await?;
                let proof = parse_hash_lines(&text).map_err(|e| split(e.to_string()))?;
                verify_consistency(old.size, new.size, &old.root, &new.root, &proof)
                    .map_err(|e| split(e.to_string()))?;
            }
            out.push(WitnessView::Consistent {
                witness: w.name().to_owned(),
                size: theirs.size,
            });
        }
        Ok(out)
    }

    /// A GET of an absolute URL; `None` on 404.
    async fn get_url(&self, url: &str) -> Result<Option<String>, MonitorError> {
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| MonitorError::Fetch(format!("{url}: {e}")))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.read(url, resp).await.map(Some)
    }

    /// The signed note the last successful poll was served, with whatever
    /// cosignatures it carried.
    pub fn served_note(&self) -> Option<&str> {
        self.served.as_deref()
    }

    /// The newest checkpoint seen so far.
    pub fn last(&self) -> Option<&Checkpoint> {
        self.last.as_ref()
    }

    async fn get(&self, path: &str) -> Result<String, MonitorError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| MonitorError::Fetch(format!("{url}: {e}")))?;
        self.read(&url, resp).await
    }

    async fn read(&self, url: &str, mut resp: reqwest::Response) -> Result<String, MonitorError> {
        if !resp.status().is_success() {
            return Err(MonitorError::Fetch(format!("{url}: HTTP {}", resp.status())));
        }
        // Bounded read: a checkpoint or a 64-hash proof is a few KiB.
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| MonitorError::Fetch(format!("{url}: {e}")))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_NOTE_BYTES {
                return Err(MonitorError::Alarm(format!(
                    "{url}: response larger than {MAX_NOTE_BYTES} bytes"
                )));
            }
        }
        String::from_utf8(body).map_err(|_| MonitorError::Alarm(format!("{url}: response is not UTF-8")))
    }

    async fn check_consistent(&self, old: &Checkpoint, new: &Checkpoint) -> Result<(), MonitorError> {
        let text = self
            .get(&format!("/api/v1/log/consistency?old={}&new={}", old.size, new.size))
            .await?;
        let proof = parse_hash_lines(&text)
            .map_err(|e| MonitorError::Alarm(format!("consistency proof {} -> {}: {e}", old.size, new.size)))?;
        verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|e| {
            MonitorError::Alarm(format!(
                "checkpoints of size {} and {} are inconsistent: {e}",
                old.size, new.size
            ))
        })
    }

    /// Fetches the latest checkpoint and checks it against the last one seen.
    pub async fn poll(&mut self) -> Result<Observation, MonitorError> {
        let note = self.get("/api/v1/log/checkpoint").await?;
        let cp = checkpoint::open(&note, &self.key)
            .map_err(|e| MonitorError::Alarm(format!("checkpoint does not verify: {e}")))?;
        self.served = Some(note);
        let Some(last) = self.last.clone() else {
            self.last = Some(cp.clone());
            return Ok(Observation::First(cp));
        };
        if cp.size == last.size {
            if cp.root != last.root {
                return Err(MonitorError::Alarm(format!(
                    "two different roots signed for tree size {}: the log forked",
                    cp.size
                )));
            }
            return Ok(Observation::Unchanged(cp));
        }
        if cp.size < last.size {
            self.check_consistent(&cp, &last).await?;
            return Ok(Observation::Stale {
                seen: last.size,
                served: cp.size,
            });
        }
        self.check_consistent(&last, &cp).await?;
        self.last = Some(cp.clone());
        Ok(Observation::Grew {
            from: last.size,
            to: cp,
        })
    }
}
