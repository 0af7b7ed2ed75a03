//! A site's configuration as its people edit it: every save is a draft
//! ([`consent_core::draft::Draft`]) until someone allowed to publish makes it
//! the version visitors are shown. Publishing records in the audit trail
//! which version replaced which and whether visitors will be asked again.

use consent_core::audit::AuditAction;
use consent_core::draft::{DRAFT_ID, Draft};
use consent_core::loader::purposes_fingerprint;
use consent_core::store::{RecordKind, Site, Store};
use consent_core::{ConfigVersion, SiteConfig};

use crate::Dash;
use crate::page::{Problem, now_ms};
use crate::session::LoggedIn;

/// The site's draft, if someone saved one since the last publication.
pub async fn draft<S: Store>(store: &S, site: &Site) -> Result<Option<Draft>, Problem> {
    match store.record(&site.id, RecordKind::Draft, DRAFT_ID).await? {
        None => Ok(None),
        Some(body) => Ok(Some(serde_json::from_slice(&body).map_err(|_| Problem::Unavailable)?)),
    }
}

/// What an editor starts from: the draft if there is one, else the
/// published configuration.
pub async fn load<S: Store>(store: &S, site: &Site) -> Result<(SiteConfig, Option<Draft>), Problem> {
    if let Some(d) = draft(store, site).await? {
        return Ok((d.config.clone(), Some(d)));
    }
    let config = store
        .config(&site.id, &site.current_version)
        .await?
        .ok_or(Problem::NotFound)?;
    Ok((config, None))
}

/// Saves `config` (already validated) as the site's draft.
pub async fn save<S: Store>(store: &S, site: &Site, config: SiteConfig, me: &LoggedIn) -> Result<Draft, Problem> {
    let based_on = match draft(store, site).await? {
        Some(d) => d.based_on,
        None => site.current_version.clone(),
    };
    let version = config.version();
    let d = Draft {
        config,
        based_on,
        saved_ms: now_ms(),
        by: me.account.username.clone(),
    };
    let body = serde_json::to_vec(&d).map_err(|_| Problem::Unavailable)?;
    store.put_record(&site.id, RecordKind::Draft, DRAFT_ID, &body).await?;
    crate::audit::record(store, &site.id, me, AuditAction::DraftSaved { version }).await?;
    Ok(d)
}

/// Throws the draft away; whether there was one.
pub async fn discard<S: Store>(store: &S, site: &Site, me: &LoggedIn) -> Result<bool, Problem> {
    let had = store.delete_record(&site.id, RecordKind::Draft, DRAFT_ID).await?;
    if had {
        crate::audit::record(store, &site.id, me, AuditAction::DraftDiscarded).await?;
    }
    Ok(had)
}

/// What publishing changed.
pub struct Published {
    pub version: ConfigVersion,
    pub previous: ConfigVersion,
    /// Visitors who decided under the previous version are asked again
    /// (what they agreed to, categories or services, changed).
    pub reask: bool,
}

/// Makes `config` (already validated) the version visitors are shown,
/// drops the draft, and tells the server to drop its caches.
pub async fn publish<S: Store>(
    dash: &Dash<S>,
    site: &Site,
    config: &SiteConfig,
    me: &LoggedIn,
) -> Result<Published, Problem> {
    let previous = dash
        .store
        .config(&site.id, &site.current_version)
        .await?
        .ok_or(Problem::NotFound)?;
    let reask = purposes_fingerprint(&previous) != purposes_fingerprint(config);
    let version = dash.store.save_config(&site.id, config).await?;
    dash.host.site_changed(&site.id);
    dash.store.delete_record(&site.id, RecordKind::Draft, DRAFT_ID).await?;
    if version == site.current_version {
        // The draft was the published configuration after all: nothing
        // new reaches visitors, so no publication to record (as the API's).
        return Ok(Published {
            version,
            previous: site.current_version.clone(),
            reask: false,
        });
    }
    crate::audit::record(
        &dash.store,
        &site.id,
        me,
        AuditAction::Published {
            version: version.clone(),
            previous: Some(site.current_version.clone()),
            reask,
        },
    )
    .await?;
    Ok(Published {
        version,
        previous: site.current_version.clone(),
        reask,
    })
}
