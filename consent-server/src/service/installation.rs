//! "Check my installation": the server loads one page of a site and reports
//! whether the consent loader is the first script in `<head>` and
//! synchronous, and which known trackers run before it or escape it
//! (`scanner::install`). Only pages of the site's own allowed origins are
//! fetched, through the scanner's SSRF guard: public addresses only, unless
//! the operator allows private ones (`--scan-allow-private-targets`).

use std::sync::LazyLock;

use consent_core::SiteId;
use scanner::guard::Guard;
use scanner::install::InstallCheck;
use scanner::signature::KnowledgeBase;

use super::config::existing_site;
use super::{Error, Services};

/// The built-in knowledge base, parsed once.
static KB: LazyLock<KnowledgeBase> = LazyLock::new(KnowledgeBase::builtin);

/// The page's HTTP status and what its HTML shows about the installation.
pub async fn check(app: &Services, site: &SiteId, url: &str) -> Result<(u16, InstallCheck), Error> {
    let site = existing_site(app, site).await?;
    let page = url::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.username().is_empty() && u.password().is_none())
        .ok_or_else(|| Error::invalid("url", "an http(s) address such as https://shop.example.nl/"))?;
    let origin = page.origin().ascii_serialization();
    if !site.allowed_origins.contains(&origin) {
        return Err(Error::invalid(
            "url",
            format!("{origin} is not one of the site's origins; add it to the site first"),
        ));
    }
    let guard = Guard::new(app.settings.scan_allow_private_targets);
    scanner::install::check_page(page, guard, &KB)
        .await
        .map_err(|e| Error::invalid("url", format!("the page could not be loaded: {e}")))
}
