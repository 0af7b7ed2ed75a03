//! The per-site synchronous loader script.
//!
//! The server answers `GET /s/{site}/loader.js` with [`render`]: the loader
//! template (owned by `consent-widget`, plain JS) with the site's blocking
//! rules and Consent Mode defaults baked in, so the loader needs no network
//! round trip before it can block trackers.

use crate::config::{ConfigVersion, SiteConfig};
use crate::id::SiteId;

/// Where the loader finds the server and the widget's assets.
pub struct LoaderContext<'a> {
    pub site: &'a SiteId,
    pub version: &'a ConfigVersion,
    pub config: &'a SiteConfig,
    /// The server's public base URL as the browser reaches it, e.g.
    /// `https://consent.example.nl` (no trailing slash).
    pub base_url: &'a str,
}

/// Renders the loader for one site from `template`.
pub fn render(template: &str, cx: &LoaderContext<'_>) -> String {
    // Placeholder until the widget lands: the template unchanged, with the
    // site's identity so the script can find its configuration.
    format!("/* keurmerk site={} version={} */\n{}", cx.site, cx.version, template)
}
