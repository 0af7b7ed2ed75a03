//! Erasing a visitor (GDPR art. 17) by crypto-shredding: the key that seals
//! the visitor's personal fields is destroyed. The records stay in the log
//! as ciphertext, so every proof handed out still verifies, and nobody can
//! read them again. The consent id cannot record afterwards.

use consent_core::store::DecisionStore;
use consent_core::{ConsentId, SiteId};

use super::{Error, Services};

/// Destroys the visitor's sealing key. Returns whether there was one (false
/// for a visitor erased before). The caller has authenticated the request.
pub async fn erase(app: &Services, site: &SiteId, consent: &ConsentId) -> Result<bool, Error> {
    Ok(app.store.erase(site, consent).await?)
}
