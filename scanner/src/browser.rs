//! The browser pass (headless Chromium over the DevTools protocol).

use std::time::Duration;

use crate::crawl::Progress;
use crate::page::Observations;
use crate::pii::CanaryIdentity;

#[derive(Clone, Debug)]
pub struct BrowserOptions {
    pub chromium: std::path::PathBuf,
    pub max_pages: usize,
    pub host_resolver_rules: Option<String>,
    pub insecure_tls: bool,
    pub dwell: Duration,
    pub page_timeout: Duration,
    pub submit_forms: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            chromium: "/usr/bin/chromium".into(),
            max_pages: 5,
            host_resolver_rules: None,
            insecure_tls: false,
            dwell: Duration::from_secs(1),
            page_timeout: Duration::from_secs(20),
            submit_forms: false,
        }
    }
}

pub async fn run(
    _o: &BrowserOptions,
    _pages: &[url::Url],
    _canary: &CanaryIdentity,
    _left: Duration,
    _progress: Progress<'_>,
) -> Observations {
    Observations::default()
}
