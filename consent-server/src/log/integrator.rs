//! The integrator: turns new leaves into tiles and a signed checkpoint.
//!
//! Every instance runs one; only the holder of the lease works. Each round
//! (every `interval`, at once again while a backlog remains) it reads the
//! leaves after the latest checkpoint from the decision store, a slice at a
//! time so that requests are served in between, appends their hashes to
//! the right edge it keeps in memory (a few KiB: never the tree), signs
//! one checkpoint for the whole batch and commits tiles and checkpoint
//! atomically, conditional on the lease and on the checkpoint it started
//! from. Losing the lease or a commit drops the in-memory edge; the next
//! round resumes from storage, so a takeover continues exactly where the
//! last committed checkpoint ended and the new checkpoint extends it.

use std::time::Duration;

use consent_core::checkpoint::{Checkpoint, CheckpointError};
use consent_core::merkle::{empty_root, leaf_hash};
use consent_core::note::NoteSigner;
use consent_core::store::{DecisionStore, StoreError};
use consent_core::tile::{TileAppender, edge_tiles};

use crate::storage::Backend;
use crate::storage::log::LogStorage;

/// At most this many leaves per checkpoint, so a large backlog (a restart
/// after downtime) is worked off in bounded steps with bounded memory.
pub const MAX_BATCH: u64 = 50_000;
/// Leaves read and hashed at a time. A round's reads run on the request
/// thread and on the storage's one connection: in one piece, a second's
/// worth of leaves held Redis and the thread, and every decision in flight
/// waited behind them (measured: see docs/benchmarks.md, decisions bench,
/// 2026-12-04 early morning).
pub const READ_SLICE: u64 = 1024;
/// How long a lease lasts without renewal: the takeover time after a crash.
pub const LEASE_TTL: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum IntegrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing the checkpoint: {0}")]
    Sign(#[from] CheckpointError),
    #[error("stored checkpoint is unreadable: {0}")]
    BadCheckpoint(String),
    #[error("stored tiles do not reproduce the checkpoint of size {0}: refusing to sign anything")]
    Diverged(u64),
    #[error("decision store returned {got} leaves for {want} requested")]
    ShortRead { got: usize, want: u64 },
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    NotLeader,
    Idle,
    /// Published a checkpoint of this size.
    Published(u64),
    /// Another instance committed first; will resume from storage.
    Lost,
}

pub struct Integrator {
    pub signer: NoteSigner,
    pub storage: LogStorage,
    pub store: Backend,
    pub holder: String,
    edge: Option<TileAppender>,
    published: Option<tokio::sync::watch::Sender<u64>>,
}

impl Integrator {
    pub fn new(signer: NoteSigner, storage: LogStorage, store: Backend, holder: String) -> Self {
        Self {
            signer,
            storage,
            store,
            holder,
            edge: None,
            published: None,
        }
    }

    /// Tells `tx` the size of every checkpoint this instance publishes (the
    /// witnesses' cosigner waits on it).
    pub fn notify(mut self, tx: tokio::sync::watch::Sender<u64>) -> Self {
        self.published = Some(tx);
        self
    }

    fn sign(&self, size: u64, root: [u8; 32]) -> Result<String, CheckpointError> {
        Checkpoint {
            origin: self.signer.name().to_owned(),
            size,
            root,
            extensions: vec![],
        }
        .sign(&self.signer)
    }

    /// One round. Errors leave no partial state behind (the edge is dropped).
    pub async fn round(&mut self) -> Result<Round, IntegrateError> {
        if !self.storage.lease(&self.holder, LEASE_TTL).await? {
            self.edge = None;
            return Ok(Round::NotLeader);
        }
        let Some((size, note)) = self.storage.checkpoint().await? else {
            // A new log: publish the empty tree so there always is a checkpoint.
            let note = self.sign(0, empty_root())?;
            return Ok(if self.storage.commit(&self.holder, None, 0, vec![], note).await? {
                Round::Published(0)
            } else {
                Round::Lost
            });
        };
        let mut edge = match self.edge.take() {
            Some(e) if e.size() == size => e,
            _ => {
                let tiles = self.storage.read_tiles(edge_tiles(size)).await?;
                let edge =
                    TileAppender::resume(size, &tiles).map_err(|e| IntegrateError::BadCheckpoint(e.to_string()))?;
                // Never extend a tree we cannot reproduce: its checkpoint's
                // root must come out of the stored edge exactly.
                let root = checkpoint_root(&note).map_err(IntegrateError::BadCheckpoint)?;
                if edge.root() != root || root_size(&note) != Some(size) {
                    return Err(IntegrateError::Diverged(size));
                }
                edge
            }
        };
        let count = self.store.leaf_count().await?;
        if count <= size {
            self.edge = Some(edge);
            return Ok(Round::Idle);
        }
        let upto = count.min(size + MAX_BATCH);
        let mut at = size;
        while at < upto {
            let end = upto.min(at + READ_SLICE);
            let leaves = self.store.leaves(at..end).await?;
            if leaves.len() as u64 != end - at {
                return Err(IntegrateError::ShortRead {
                    got: leaves.len(),
                    want: end - at,
                });
            }
            for leaf in &leaves {
                edge.push(leaf_hash(leaf));
            }
            at = end;
            // Let the requests that came in meanwhile go first.
            tokio::task::yield_now().await;
        }
        let writes = edge.take_writes();
        let note = self.sign(upto, edge.root())?;
        if self
            .storage
            .commit(&self.holder, Some(size), upto, writes, note)
            .await?
        {
            self.edge = Some(edge);
            Ok(Round::Published(upto))
        } else {
            Ok(Round::Lost)
        }
    }

    /// Runs rounds forever: every `interval`, and back to back while behind.
    pub async fn run(mut self, interval: Duration) {
        loop {
            let behind = match self.round().await {
                Ok(Round::Published(n)) => {
                    tracing::debug!(size = n, "published a checkpoint");
                    if let Some(tx) = &self.published {
                        tx.send_replace(n);
                    }
                    self.store.leaf_count().await.is_ok_and(|c| c > n)
                }
                Ok(_) => false,
                Err(e) => {
                    tracing::error!(error = %e, "log integration failed; retrying");
                    false
                }
            };
            if !behind {
                tokio::time::sleep(interval).await;
            }
        }
    }
}

/// The checkpoint text of a signed note (everything before the signatures).
fn note_text(note: &str) -> &str {
    note.rfind("\n\n").map_or(note, |i| &note[..i + 1])
}

fn checkpoint_root(note: &str) -> Result<[u8; 32], String> {
    Checkpoint::parse_text(note_text(note))
        .map(|c| c.root)
        .map_err(|e| e.to_string())
}

fn root_size(note: &str) -> Option<u64> {
    Checkpoint::parse_text(note_text(note)).ok().map(|c| c.size)
}

#[cfg(test)]
mod tests {
    use consent_core::merkle::MemoryTree;
    use consent_core::store::{Append, NewVisitor, Site, SiteStore};
    use consent_core::{ConsentId, SiteConfig, SiteId};

    use super::*;
    use crate::storage::SqliteStore;
    use crate::storage::log::SqliteLog;

    /// A round whose leaves span several read slices (the last one partial)
    /// publishes the root of exactly those leaves, in index order.
    #[tokio::test]
    async fn a_round_over_several_slices_publishes_the_whole_tree() {
        let dir = tempfile::tempdir().unwrap();
        let store = Backend::Sqlite(SqliteStore::open(dir.path()).unwrap());
        let site = SiteId::parse("sliced").unwrap();
        let config = SiteConfig::starter();
        let record = Site {
            id: site.clone(),
            allowed_origins: vec!["https://sliced.example".into()],
            current_version: config.version(),
            created_ms: 1,
        };
        store.create_site(&record, &config).await.unwrap();
        let n = 2 * READ_SLICE + 300;
        let mut appends = tokio::task::JoinSet::new();
        for i in 0..n {
            let (store, site) = (store.clone(), site.clone());
            appends.spawn(async move {
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&i.to_be_bytes());
                store
                    .append(Append {
                        site,
                        consent_id: ConsentId::from_random(id),
                        time_ms: 1_700_000_000_000 + i,
                        leaf: format!("leaf {i}").into_bytes(),
                        visitor_cap: None,
                        new_visitor: Some(NewVisitor {
                            secret_sha256: [1; 32],
                            sealing_key: [2; 32],
                        }),
                    })
                    .await
                    .unwrap()
            });
        }
        while let Some(done) = appends.join_next().await {
            done.unwrap();
        }

        let signer = NoteSigner::from_seed("keurmerk.test/log", &[7; 32]).unwrap();
        let storage = LogStorage::Sqlite(SqliteLog::open(dir.path()).unwrap());
        let mut integrator = Integrator::new(signer, storage.clone(), store.clone(), "one".into());
        // A new log first publishes the empty tree, then everything waiting.
        assert_eq!(integrator.round().await.unwrap(), Round::Published(0));
        assert_eq!(integrator.round().await.unwrap(), Round::Published(n));

        let mut expected = MemoryTree::new();
        for leaf in store.leaves(0..n).await.unwrap() {
            expected.push(leaf_hash(&leaf));
        }
        let (size, note) = storage.checkpoint().await.unwrap().unwrap();
        assert_eq!(size, n);
        assert_eq!(checkpoint_root(&note).unwrap(), expected.root());
    }
}
