//! API keys: minting one for a site (checked, stored as a hash, shown once)
//! and revoking it, each written to the site's audit trail. One use case
//! for the owner API (`POST/DELETE /api/v1/owner/sites/{site}/keys`) and the
//! dashboard's keys page, so both check the same things.

use consent_core::SiteId;
use consent_core::audit::{AuditAction, AuditEntry};
use consent_core::store::{AccountStore, ApiKey, RecordStore, Scope};

use super::credentials::{new_api_key, sha256};
use super::{Error, Services};
use crate::clock::now_ms;

/// The longest an expiring key may be made to last.
pub const MAX_KEY_DAYS: u32 = 3650;
/// The longest name a key may have, in bytes.
pub const MAX_KEY_NAME: usize = 200;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// When a new key stops working: at a time, or after a number of days, or
/// (both `None`) never.
#[derive(Clone, Copy, Debug, Default)]
pub struct Expiry {
    /// Unix ms, in the future.
    pub at_ms: Option<u64>,
    /// 1 to [`MAX_KEY_DAYS`] days from now.
    pub in_days: Option<u32>,
}

impl Expiry {
    /// The expiry as a time, checked against `now`.
    fn resolve(self, now: u64) -> Result<Option<u64>, Error> {
        match (self.at_ms, self.in_days) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "expires_in_days",
                "give expires_ms or expires_in_days, not both",
            )),
            (Some(at), None) if at <= now => Err(Error::invalid("expires_ms", "a time in the future")),
            (Some(at), None) if at > now + u64::from(MAX_KEY_DAYS) * DAY_MS => Err(Error::invalid(
                "expires_ms",
                format!("at most {MAX_KEY_DAYS} days from now"),
            )),
            (Some(at), None) => Ok(Some(at)),
            (None, Some(days)) if !(1..=MAX_KEY_DAYS).contains(&days) => Err(Error::invalid(
                "expires_in_days",
                format!("between 1 and {MAX_KEY_DAYS}"),
            )),
            (None, Some(days)) => Ok(Some(now + u64::from(days) * DAY_MS)),
            (None, None) => Ok(None),
        }
    }
}

/// Mints a key for `site` (which the caller checked exists and that `actor`
/// may manage): the stored key and its secret, which is shown this once
/// (storage keeps its SHA-256). `actor` (an account's name, or `key:<id>`)
/// is written to the site's audit trail.
pub async fn create(
    app: &Services,
    site: &SiteId,
    name: String,
    mut scopes: Vec<Scope>,
    expiry: Expiry,
    actor: String,
) -> Result<(ApiKey, String), Error> {
    if name.len() > MAX_KEY_NAME {
        return Err(Error::invalid("name", format!("at most {MAX_KEY_NAME} bytes")));
    }
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(Error::invalid("scopes", "at least one scope"));
    }
    let now = now_ms();
    let expires_ms = expiry.resolve(now)?;
    let (secret, key_id) = new_api_key();
    let key = ApiKey {
        id: key_id,
        site: site.clone(),
        name,
        scopes,
        created_ms: now,
        expires_ms,
        last_used_ms: None,
    };
    app.store.create_api_key(&key, sha256(&secret)).await?;
    let action = AuditAction::KeyCreated {
        id: key.id.clone(),
        name: key.name.clone(),
        scopes: key.scopes.clone(),
    };
    audit(app, site, actor, action).await?;
    Ok((key, secret))
}

/// Revokes `site`'s key `id`; whether there was one (then it is in the
/// audit trail, by `actor`).
pub async fn revoke(app: &Services, site: &SiteId, id: &str, actor: String) -> Result<bool, Error> {
    if !app.store.revoke_api_key(site, id).await? {
        return Ok(false);
    }
    tracing::info!(site = %site, key = %id, "API key revoked");
    audit(app, site, actor, AuditAction::KeyRevoked { id: id.to_owned() }).await?;
    Ok(true)
}

async fn audit(app: &Services, site: &SiteId, actor: String, action: AuditAction) -> Result<(), Error> {
    let entry = AuditEntry {
        at_ms: now_ms(),
        actor,
        action,
    };
    app.store.append_audit(site, &entry).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_in_the_future_and_bounded() {
        let now = 1_000_000;
        let e = |at_ms, in_days| Expiry { at_ms, in_days }.resolve(now);
        assert_eq!(e(None, None).unwrap(), None);
        assert_eq!(e(None, Some(1)).unwrap(), Some(now + DAY_MS));
        assert_eq!(e(Some(now + 5), None).unwrap(), Some(now + 5));
        for (at, days) in [
            (Some(now), None),
            (None, Some(0)),
            (None, Some(MAX_KEY_DAYS + 1)),
            (Some(now + 1), Some(1)),
        ] {
            assert!(e(at, days).is_err(), "{at:?} {days:?}");
        }
    }
}
