//! Writing a site's audit trail ([`consent_core::audit`]) from the
//! dashboard's use cases: every change to a site goes through [`record`].

use consent_core::SiteId;
use consent_core::audit::{AuditAction, AuditEntry};
use consent_core::store::Store;

use crate::page::{Problem, now_ms};
use crate::session::LoggedIn;

/// Appends `action`, done by the logged-in account now, to the site's trail.
/// Callers record after the change itself succeeded and pass a failure on:
/// the owner then sees the page say storage is down rather than believe a
/// step was recorded that was not.
pub async fn record<S: Store>(store: &S, site: &SiteId, me: &LoggedIn, action: AuditAction) -> Result<(), Problem> {
    let entry = AuditEntry {
        at_ms: now_ms(),
        actor: me.account.username.clone(),
        action,
    };
    store.append_audit(site, &entry).await?;
    Ok(())
}
