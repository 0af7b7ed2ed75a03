//! A short-lived cache of sites and a permanent one of configuration versions.
//!
//! Every decision needs its site (origins) and the configuration version it
//! names. Versions are immutable, so they are cached for good; sites change
//! (origins, current version), so they are cached for a second — with
//! several processes on one Redis, a change made through one process is seen
//! by all the others within that second.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use consent_core::store::{Site, SiteStore, StoreError};
use consent_core::{ConfigVersion, SiteConfig, SiteId};

use crate::storage::Backend;

const SITE_TTL: Duration = Duration::from_secs(1);
/// Bounds the version cache; beyond it the cache starts over.
const MAX_CONFIGS: usize = 4096;

/// A site as last read, and when (`None`: there was no such site).
type CachedSite = (Instant, Option<Arc<Site>>);
type Versions = HashMap<(SiteId, ConfigVersion), Arc<SiteConfig>>;

#[derive(Clone, Default)]
pub struct SiteCache {
    sites: Arc<RwLock<HashMap<SiteId, CachedSite>>>,
    configs: Arc<RwLock<Versions>>,
}

impl SiteCache {
    pub async fn site(&self, store: &Backend, id: &SiteId) -> Result<Option<Arc<Site>>, StoreError> {
        if let Some((at, site)) = self.sites.read().expect("site cache").get(id)
            && at.elapsed() < SITE_TTL
        {
            return Ok(site.clone());
        }
        let site = store.site(id).await?.map(Arc::new);
        let mut sites = self.sites.write().expect("site cache");
        if sites.len() >= MAX_CONFIGS {
            sites.clear();
        }
        sites.insert(id.clone(), (Instant::now(), site.clone()));
        Ok(site)
    }

    /// Forgets a site after this process changed it.
    pub fn invalidate(&self, id: &SiteId) {
        self.sites.write().expect("site cache").remove(id);
    }

    pub async fn config(
        &self,
        store: &Backend,
        id: &SiteId,
        version: &ConfigVersion,
    ) -> Result<Option<Arc<SiteConfig>>, StoreError> {
        let key = (id.clone(), version.clone());
        if let Some(c) = self.configs.read().expect("config cache").get(&key) {
            return Ok(Some(c.clone()));
        }
        let Some(config) = store.config(id, version).await? else {
            return Ok(None);
        };
        let config = Arc::new(config);
        let mut configs = self.configs.write().expect("config cache");
        if configs.len() >= MAX_CONFIGS {
            configs.clear();
        }
        configs.insert(key, config.clone());
        Ok(Some(config))
    }
}
