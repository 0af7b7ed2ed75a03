//! The transparency log: every recorded decision is a leaf of an
//! RFC 9162 Merkle tree; checkpoints are C2SP signed notes; proofs are C2SP
//! `tlog-proof@v1`.
//!
//! The log's leaves are exactly the store's decision sequence
//! ([`DecisionStore::append`](consent_core::store::DecisionStore::append) hands out the
//! indexes), so nothing extra is written on the decision path: the handler
//! only awaits a [`Receipt`] (signed in batches). The [`integrator`]
//! builds tiles and checkpoints in the background.
//!
//! - [`key`]: the signing key (created on first start, or from file/env).
//! - [`receipts`]: receipt signing, one signature per batch of receipts.
//! - [`integrator`]: the background task that publishes checkpoints.
//! - [`witness`]: has each new checkpoint cosigned by the configured C2SP
//!   tlog-witnesses and stores their cosignatures with it.
//! - [`cosigner`]: the other way round: this server as a witness for other
//!   logs (`--witness-for`).
//!
//! Its storage (tiles, checkpoint, lease) is in [`crate::storage::log`]; its
//! HTTP endpoints in [`crate::http::log`].

pub mod cosigner;
pub mod integrator;
pub mod key;
pub mod receipts;
pub mod witness;

use std::sync::Arc;
use std::time::Duration;

use consent_core::merkle::{Hash, consistency_proof, inclusion_proof, leaf_hash};
use consent_core::note::NoteSigner;
use consent_core::receipt::Pending;
pub use consent_core::receipt::Receipt;
use consent_core::store::StoreError;
use consent_core::tile::{TiledTree, tiles_read_by};
use rand::RngCore as _;

use self::integrator::Integrator;
use self::receipts::ReceiptSigner;
use crate::settings::{Settings, StorageSettings};
use crate::storage::Backend;
use crate::storage::log::{LogStorage, RedisLog, SqliteLog};

/// The log as the handlers see it. `Log::default()` is a server without a
/// log (no receipts, proof endpoints answer 503); [`Log::start`] is the real one.
#[derive(Clone, Default)]
pub struct Log {
    inner: Option<Arc<LogInner>>,
}

pub struct LogInner {
    pub signer: NoteSigner,
    pub storage: LogStorage,
    pub receipts: ReceiptSigner,
}

/// Default checkpoint interval; `KEURMERK_CHECKPOINT_INTERVAL_MS` overrides.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

impl Log {
    /// Loads or creates the signing key, opens the log's storage and starts
    /// this instance's integrator (which works only while it holds the lease).
    pub fn start(settings: &Settings, store: &Backend) -> anyhow::Result<Self> {
        let (signer, storage) = match &settings.storage {
            StorageSettings::Embedded { data_dir } => (
                key::load_or_create(data_dir, &settings.public_url)?,
                LogStorage::Sqlite(SqliteLog::open(data_dir)?),
            ),
            StorageSettings::Redis { url, prefix } => {
                if !matches!(store, Backend::Redis(_)) {
                    anyhow::bail!("Redis log storage needs the Redis decision store");
                }
                (
                    key::load_or_create_in_redis(url, prefix, &settings.public_url)?,
                    LogStorage::Redis(RedisLog::open(url, prefix)?),
                )
            }
        };
        let interval = std::env::var("KEURMERK_CHECKPOINT_INTERVAL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(CHECKPOINT_INTERVAL, Duration::from_millis);
        let mut holder = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut holder);
        let mut integrator = Integrator::new(signer.clone(), storage.clone(), store.clone(), hex::encode(holder));
        if settings.witnesses.is_empty() {
            witness::METRICS.latest_witnessed.set(1);
        } else {
            // Woken by this instance's publications; every interval it also
            // retries the latest checkpoint while it lacks the quorum.
            let (tx, rx) = tokio::sync::watch::channel(0);
            integrator = integrator.notify(tx);
            let cosigner = witness::Cosigner::new(settings.witnesses.clone(), settings.witness_quorum, storage.clone());
            tokio::spawn(cosigner.run(rx, interval));
            tracing::info!(
                witnesses = settings.witnesses.len(),
                quorum = settings.witness_quorum,
                "checkpoints are submitted to witnesses"
            );
        }
        tokio::spawn(integrator.run(interval));
        tracing::info!(verifier_key = %signer.verifier(), "proof log started");
        Ok(Self {
            inner: Some(Arc::new(LogInner {
                receipts: ReceiptSigner::start(signer.clone()),
                signer,
                storage,
            })),
        })
    }

    pub fn inner(&self) -> Option<&Arc<LogInner>> {
        self.inner.as_ref()
    }

    /// Called after a decision's leaf was durably appended at `index`: the
    /// receipt promises it will be in the next checkpoint.
    pub async fn appended(&self, index: u64, leaf: &[u8], time_ms: u64) -> Option<Receipt> {
        let inner = self.inner.as_ref()?;
        let item = Pending {
            index,
            leaf_hash: leaf_hash(leaf),
            time_ms,
        };
        inner.receipts.issue(item).await
    }
}

impl LogInner {
    /// The latest checkpoint's size and signed note.
    pub async fn checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.storage.checkpoint().await
    }

    /// The inclusion proof for `index` in the tree of `size` leaves (size at
    /// most the latest checkpoint's). All tiles come in one storage read.
    pub async fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        let keys = tiles_read_by(|t| inclusion_proof(t, index, size).map(|_| ()));
        let tiles = self.storage.read_tiles(keys).await?;
        inclusion_proof(&TiledTree::new(&tiles), index, size).map_err(StoreError::corrupt)
    }

    pub async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        let keys = tiles_read_by(|t| consistency_proof(t, old, new).map(|_| ()));
        let tiles = self.storage.read_tiles(keys).await?;
        consistency_proof(&TiledTree::new(&tiles), old, new).map_err(StoreError::corrupt)
    }
}
