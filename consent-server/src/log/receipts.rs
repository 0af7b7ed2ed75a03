//! Receipt signing, batched like the store's group commit: the receipts
//! waiting at one moment are signed together with one Ed25519 signature
//! (`consent_core::receipt::sign_batch`). Alone, a receipt is signed at
//! once; under load, one signature covers many, so receipts cost the
//! decision path a few hashes rather than a signature.
//!
//! There is no signing thread: the first handler to find nobody signing
//! takes the duty for everyone waiting (flat combining). A thread of its own
//! cost each decision a channel send, a futex wake and two context switches,
//! more than the hashing and signing themselves (measured: see
//! docs/benchmarks.md, proof log bench). The duty yields to the runtime before each batch, so
//! the handlers answered by the same commit queue first; once the first
//! batch is signed, a task carries the duty on while receipts keep coming,
//! so the handler that took it can answer its own request.

use std::sync::{Arc, Mutex, PoisonError};

use consent_core::note::NoteSigner;
use consent_core::receipt::{Pending, Receipt, sign_batch};
use tokio::sync::oneshot;

/// The most receipts under one signature; bounds a batch's audit paths (12 hashes).
pub const MAX_RECEIPT_BATCH: usize = 4096;

type Job = (Pending, oneshot::Sender<Receipt>);

#[derive(Clone)]
pub struct ReceiptSigner {
    shared: Arc<Shared>,
}

struct Shared {
    signer: NoteSigner,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Job>,
    /// Someone holds the duty: whatever is added now is signed by them.
    signing: bool,
}

/// The duty to sign what is waiting. Dropped while still held (its request
/// was cancelled: the client hung up), it signs everything waiting at once
/// rather than leaving the others without their receipts.
struct Duty {
    shared: Arc<Shared>,
    held: bool,
}

impl Duty {
    /// Signs one batch of what is waiting; with nothing waiting, gives the
    /// duty up instead. False once given up.
    fn round(&mut self) -> bool {
        let batch: Vec<Job> = {
            let mut q = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if q.waiting.is_empty() {
                q.signing = false;
                self.held = false;
                return false;
            }
            let n = q.waiting.len().min(MAX_RECEIPT_BATCH);
            q.waiting.drain(..n).collect()
        };
        let items: Vec<Pending> = batch.iter().map(|(p, _)| *p).collect();
        for (receipt, (_, reply)) in sign_batch(&self.shared.signer, &items).into_iter().zip(batch) {
            // The caller may have gone (client hung up): nothing to do.
            let _ = reply.send(receipt);
        }
        true
    }

    /// Keeps signing while receipts keep coming.
    async fn carry_on(mut self) {
        loop {
            tokio::task::yield_now().await;
            if !self.round() {
                return;
            }
        }
    }
}

impl Drop for Duty {
    fn drop(&mut self) {
        while self.held && self.round() {}
    }
}

impl ReceiptSigner {
    pub fn start(signer: NoteSigner) -> Self {
        Self {
            shared: Arc::new(Shared {
                signer,
                queue: Mutex::default(),
            }),
        }
    }

    /// The receipt for one appended leaf; `None` only if it could not be signed.
    pub async fn issue(&self, item: Pending) -> Option<Receipt> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut q = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            q.waiting.push((item, tx));
            !std::mem::replace(&mut q.signing, true)
        };
        if lead {
            let mut duty = Duty {
                shared: self.shared.clone(),
                held: true,
            };
            // The handlers answered by the same commit are runnable now:
            // let them queue their receipts first, so one signature covers
            // them all.
            tokio::task::yield_now().await;
            if duty.round() {
                tokio::spawn(duty.carry_on());
            }
        }
        rx.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;
    use std::time::Duration;

    use consent_core::merkle::leaf_hash;

    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("keurmerk.test/log", &[7; 32]).unwrap()
    }

    fn item(index: u64) -> Pending {
        Pending {
            index,
            leaf_hash: leaf_hash(&index.to_be_bytes()),
            time_ms: 1_700_000_000_000 + index,
        }
    }

    #[tokio::test]
    async fn alone_a_receipt_is_a_batch_of_one() {
        let signer = signer();
        let receipts = ReceiptSigner::start(signer.clone());
        let r = receipts.issue(item(3)).await.unwrap();
        assert_eq!((r.index, r.batch_size, r.batch_position), (3, 1, 0));
        r.verify(signer.verifier(), Some(&item(3).leaf_hash)).unwrap();
    }

    /// Receipts asked for at the same moment share signatures, and every
    /// one of them verifies and is for its own leaf.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn receipts_waiting_together_share_a_signature() {
        let signer = signer();
        let receipts = ReceiptSigner::start(signer.clone());
        let mut set = tokio::task::JoinSet::new();
        for i in 0..500 {
            let receipts = receipts.clone();
            set.spawn(async move { receipts.issue(item(i)).await.unwrap() });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.push(r.unwrap());
        }
        all.sort_by_key(|r| r.index);
        for (i, r) in all.iter().enumerate() {
            assert_eq!(r.index, i as u64);
            r.verify(signer.verifier(), Some(&item(i as u64).leaf_hash)).unwrap();
        }
        let signatures: std::collections::BTreeSet<&str> = all.iter().map(|r| r.signature.as_str()).collect();
        assert!(
            signatures.len() < all.len() / 4,
            "{} signatures for {} receipts",
            signatures.len(),
            all.len()
        );
    }

    /// The one signing for the others is cancelled before it signs (its
    /// client hung up): the others still get their receipts, and the next
    /// receipt is signed too.
    #[tokio::test]
    async fn a_cancelled_signer_still_signs_for_the_others() {
        let signer = signer();
        let receipts = ReceiptSigner::start(signer.clone());
        let mut leader = Box::pin(receipts.issue(item(0)));
        // Polled once: it queued its receipt, took the duty and yielded.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(leader.as_mut().poll(&mut cx).is_pending());
        let other = tokio::spawn({
            let receipts = receipts.clone();
            async move { receipts.issue(item(1)).await }
        });
        tokio::task::yield_now().await;
        drop(leader);
        let r = tokio::time::timeout(Duration::from_secs(5), other)
            .await
            .expect("the other receipt is signed")
            .unwrap()
            .unwrap();
        assert_eq!(r.batch_size, 2, "signed with the cancelled one's");
        r.verify(signer.verifier(), Some(&item(1).leaf_hash)).unwrap();
        let next = tokio::time::timeout(Duration::from_secs(5), receipts.issue(item(2)))
            .await
            .expect("signing goes on")
            .unwrap();
        assert_eq!(next.batch_size, 1);
    }
}
