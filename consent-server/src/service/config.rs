//! A site and its configuration: create a site, set its allowed origins,
//! publish a configuration version. Every change drops what the server
//! caches about the site, so the next request sees it, and goes into the
//! site's audit trail under its actor (an account's name or `key:<id>`).

use consent_core::audit::{AuditAction, AuditEntry};
use consent_core::loader::purposes_fingerprint;
use consent_core::store::{RecordStore, Site, SiteStore};
use consent_core::{ConfigVersion, SiteConfig, SiteId};

use super::{Error, Services};
use crate::clock::now_ms;

/// At most this many allowed origins per site.
pub const MAX_ORIGINS: usize = 64;

/// Origins must be exactly `scheme://host[:port]`, as browsers send them.
pub fn check_origins(origins: &[String]) -> Result<(), Error> {
    if origins.len() > MAX_ORIGINS {
        return Err(Error::invalid("allowed_origins", format!("at most {MAX_ORIGINS}")));
    }
    for (i, o) in origins.iter().enumerate() {
        let ok = url::Url::parse(o).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.origin().ascii_serialization() == *o
        });
        if !ok {
            return Err(Error::invalid(
                format!("allowed_origins/{i}"),
                "an origin such as https://shop.example.nl (scheme, host and port only)",
            ));
        }
    }
    Ok(())
}

/// The site as stored now (not the cached copy: owners must see their own
/// change at once).
pub async fn existing_site(app: &Services, id: &SiteId) -> Result<Site, Error> {
    app.store
        .site(id)
        .await?
        .ok_or_else(|| Error::NotFound("no such site".into()))
}

/// Appends `action` by `actor` to the site's audit trail. After the change
/// itself: a failure is passed on, so the caller hears storage is down
/// rather than believe the step was recorded.
async fn audit(app: &Services, site: &SiteId, actor: &str, action: AuditAction) -> Result<(), Error> {
    let entry = AuditEntry {
        at_ms: now_ms(),
        actor: actor.to_owned(),
        action,
    };
    app.store.append_audit(site, &entry).await?;
    Ok(())
}

/// Creates a site with `config` (or the starter configuration).
pub async fn create_site(
    app: &Services,
    actor: &str,
    id: SiteId,
    allowed_origins: Vec<String>,
    config: Option<SiteConfig>,
) -> Result<Site, Error> {
    check_origins(&allowed_origins)?;
    let config = config.unwrap_or_else(SiteConfig::starter);
    config
        .validate()
        .map_err(|e| Error::invalid(format!("config/{}", e.field), e.message))?;
    let site = Site {
        id,
        allowed_origins,
        current_version: config.version(),
        created_ms: now_ms(),
    };
    app.store.create_site(&site, &config).await?;
    app.sites.invalidate(&site.id);
    let origins = site.allowed_origins.clone();
    audit(app, &site.id, actor, AuditAction::SiteCreated { origins }).await?;
    Ok(site)
}

/// Replaces the site's allowed origins.
pub async fn set_origins(app: &Services, actor: &str, id: &SiteId, origins: &[String]) -> Result<Site, Error> {
    check_origins(origins)?;
    app.store.set_origins(id, origins).await?;
    app.sites.invalidate(id);
    let origins = origins.to_vec();
    audit(app, id, actor, AuditAction::OriginsChanged { origins }).await?;
    existing_site(app, id).await
}

/// Validates `config`, stores it as an immutable version and makes it the
/// site's current one.
pub async fn publish(app: &Services, actor: &str, id: &SiteId, config: &SiteConfig) -> Result<ConfigVersion, Error> {
    config.validate().map_err(|e| Error::invalid(e.field, e.message))?;
    let previous = existing_site(app, id).await?.current_version;
    let reask = match app.store.config(id, &previous).await? {
        Some(old) => purposes_fingerprint(&old) != purposes_fingerprint(config),
        None => true,
    };
    let version = app.store.save_config(id, config).await?;
    app.sites.invalidate(id);
    if version != previous {
        let action = AuditAction::Published {
            version: version.clone(),
            previous: Some(previous),
            reask,
        };
        audit(app, id, actor, action).await?;
    }
    Ok(version)
}
