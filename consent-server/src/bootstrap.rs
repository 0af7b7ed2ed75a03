//! First start: an empty storage gets the demo site and an admin account.

use std::collections::BTreeMap;

use consent_core::account::{Account, AccountRole};
use consent_core::store::{AccountStore, Site, SiteStore, StoreError};
use consent_core::{CookieDecl, LegalBasis, Service, SiteConfig, SiteId};

use crate::clock::now_ms;
use crate::service::AppState;
use crate::service::credentials::{hash_password, random_token};

pub const DEMO_SITE: &str = "demo";
pub const ADMIN: &str = "admin";

fn cookie(name: &str, provider: &str, purpose: &str, retention: &str, days: u32) -> CookieDecl {
    CookieDecl {
        name: name.into(),
        domain: None,
        provider: provider.into(),
        purpose: purpose.into(),
        retention: retention.into(),
        retention_days: Some(days),
        country: "US".into(),
        legal_basis: LegalBasis::Consent,
    }
}

/// The starter configuration plus services that show real blocking: a
/// YouTube embed, the Meta pixel and Google Analytics. Hosts and cookie names
/// are the vendors' publicly documented ones.
pub fn demo_config() -> SiteConfig {
    let mut config = SiteConfig::starter();
    config.controller = "Keurmerk demo shop".into();
    config.services = vec![
        Service {
            id: "youtube".into(),
            name: "YouTube".into(),
            category: "marketing".into(),
            provider: "Google Ireland Ltd.".into(),
            privacy_policy_url: Some("https://policies.google.com/privacy".into()),
            hosts: vec!["www.youtube.com".into(), "*.youtube.com".into(), "*.ytimg.com".into()],
            cookies: vec![
                cookie("YSC", "YouTube", "Tracks views of embedded videos", "session", 0),
                cookie(
                    "VISITOR_INFO1_LIVE",
                    "YouTube",
                    "Estimates bandwidth and tracks preferences",
                    "6 months",
                    180,
                ),
            ],
            description: BTreeMap::from([
                ("en".into(), "Embedded videos".into()),
                ("nl".into(), "Ingesloten video's".into()),
            ]),
        },
        Service {
            id: "meta-pixel".into(),
            name: "Meta Pixel".into(),
            category: "marketing".into(),
            provider: "Meta Platforms Ireland Ltd.".into(),
            privacy_policy_url: Some("https://www.facebook.com/privacy/policy/".into()),
            hosts: vec!["connect.facebook.net".into(), "www.facebook.com".into()],
            cookies: vec![
                cookie("_fbp", "Meta", "Identifies browsers for advertising", "3 months", 90),
                cookie("fr", "Meta", "Delivers and measures advertising", "3 months", 90),
            ],
            description: BTreeMap::from([
                ("en".into(), "Measures ads on Facebook and Instagram".into()),
                ("nl".into(), "Meet advertenties op Facebook en Instagram".into()),
            ]),
        },
        Service {
            id: "google-analytics".into(),
            name: "Google Analytics".into(),
            category: "analytics".into(),
            provider: "Google Ireland Ltd.".into(),
            privacy_policy_url: Some("https://policies.google.com/privacy".into()),
            hosts: vec!["www.googletagmanager.com".into(), "*.google-analytics.com".into()],
            cookies: vec![
                cookie("_ga", "Google", "Distinguishes visitors", "2 years", 730),
                cookie("_ga_*", "Google", "Keeps session state", "2 years", 730),
            ],
            description: BTreeMap::from([
                ("en".into(), "Visit statistics".into()),
                ("nl".into(), "Bezoekstatistieken".into()),
            ]),
        },
    ];
    config
}

/// The origins the demo site allows: the demo shop's own (when served), the
/// public URL's, and the loopback names `scripts/up` prints.
fn demo_origins(app: &AppState) -> Vec<String> {
    let mut origins: Vec<String> = app.settings.demo_origin().into_iter().collect();
    let fixed = [
        app.settings.public_origin(),
        "http://localhost:8080".into(),
        "http://127.0.0.1:8080".into(),
    ];
    for o in fixed {
        if !origins.contains(&o) {
            origins.push(o);
        }
    }
    origins
}

/// Creates the demo site and the admin account if storage has none. Returns
/// the admin's one-time password when this call created the account (with
/// several processes starting at once, exactly one does).
pub async fn first_start(app: &AppState) -> Result<Option<String>, StoreError> {
    let demo_origins = demo_origins(app);
    if app.store.sites().await?.is_empty() {
        let config = demo_config();
        let origins = demo_origins.clone();
        let site = Site {
            id: SiteId::parse(DEMO_SITE).expect("valid id"),
            allowed_origins: origins,
            current_version: config.version(),
            created_ms: now_ms(),
        };
        match app.store.create_site(&site, &config).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // A data directory from before the demo had an origin of its own: let
    // the demo shop's origin record decisions there too.
    let demo = SiteId::parse(DEMO_SITE).expect("valid id");
    if let Some(site) = app.store.site(&demo).await? {
        let missing: Vec<String> = demo_origins
            .iter()
            .filter(|o| !site.allowed_origins.contains(o))
            .cloned()
            .collect();
        if !missing.is_empty() && app.settings.demo_listen.is_some() {
            let mut origins = site.allowed_origins.clone();
            origins.extend(missing);
            app.store.set_origins(&demo, &origins).await?;
            app.sites.invalidate(&demo);
        }
    }
    if app.store.account(ADMIN).await?.is_some() {
        return Ok(None);
    }
    let password = random_token(18);
    let admin = Account {
        username: ADMIN.into(),
        password_hash: hash_password(&password),
        role: AccountRole::Admin,
        sites: Default::default(),
        must_change_password: false,
        created_ms: crate::clock::now_ms(),
        session_epoch: 0,
    };
    match app.store.create_account(&admin).await {
        Ok(()) => Ok(Some(password)),
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_config_is_valid() {
        super::demo_config().validate().unwrap();
    }
}
