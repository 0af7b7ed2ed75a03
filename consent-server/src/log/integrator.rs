//! The integrator: turns new leaves into tiles and a signed checkpoint.
//!
//! Every instance runs one; only the holder of the lease works. Each round
//! (every `interval`, at once again while a backlog remains) it reads the
//! leaves after the latest checkpoint from the decision store, appends their
//! hashes to the right edge it keeps in memory (a few KiB: never the tree),
//! signs one checkpoint for the whole batch and commits tiles and checkpoint
//! atomically, conditional on the lease and on the checkpoint it started
//! from. Losing the lease or a commit drops the in-memory edge; the next
//! round resumes from storage, so a takeover continues exactly where the
//! last committed checkpoint ended and the new checkpoint extends it.

use std::time::Duration;

use consent_core::checkpoint::{Checkpoint, CheckpointError};
use consent_core::merkle::{empty_root, leaf_hash};
use consent_core::note::NoteSigner;
use consent_core::store::{Store, StoreError};
use consent_core::tile::{TileAppender, edge_tiles};

use super::storage::LogStorage;
use crate::store::Backend;

/// At most this many leaves per checkpoint, so a large backlog (a restart
/// after downtime) is worked off in bounded steps with bounded memory.
pub const MAX_BATCH: u64 = 50_000;
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
}

impl Integrator {
    pub fn new(signer: NoteSigner, storage: LogStorage, store: Backend, holder: String) -> Self {
        Self {
            signer,
            storage,
            store,
            holder,
            edge: None,
        }
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
        let leaves = self.store.leaves(size..upto).await?;
        if leaves.len() as u64 != upto - size {
            return Err(IntegrateError::ShortRead {
                got: leaves.len(),
                want: upto - size,
            });
        }
        for leaf in &leaves {
            edge.push(leaf_hash(leaf));
        }
        drop(leaves);
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
