//! Receipt signing, batched like the store's group commit: one thread takes
//! every receipt waiting, signs them all with one Ed25519 signature
//! (`consent_core::receipt::sign_batch`) and answers each. Alone, a receipt
//! is signed at once; under load, one signature covers many, so receipts
//! cost the decision path a hash and a channel hop rather than a signature.

use std::sync::mpsc;

use consent_core::note::NoteSigner;
use consent_core::receipt::{Pending, Receipt, sign_batch};
use tokio::sync::oneshot;

/// The most receipts under one signature; bounds a batch's audit paths (12 hashes).
pub const MAX_RECEIPT_BATCH: usize = 4096;

type Job = (Pending, oneshot::Sender<Receipt>);

#[derive(Clone)]
pub struct ReceiptSigner {
    jobs: mpsc::Sender<Job>,
}

impl ReceiptSigner {
    pub fn start(signer: NoteSigner) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("receipt-signer".into())
            .spawn(move || run(&signer, &rx))
            .expect("spawning the receipt signer");
        Self { jobs: tx }
    }

    /// The receipt for one appended leaf; `None` only if the signer stopped.
    pub async fn issue(&self, item: Pending) -> Option<Receipt> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send((item, tx)).ok()?;
        rx.await.ok()
    }
}

fn run(signer: &NoteSigner, rx: &mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_RECEIPT_BATCH);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_RECEIPT_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let items: Vec<Pending> = batch.iter().map(|(p, _)| *p).collect();
        for (receipt, (_, reply)) in sign_batch(signer, &items).into_iter().zip(batch.drain(..)) {
            // The caller may have gone (client hung up): nothing to do.
            let _ = reply.send(receipt);
        }
    }
}
