//! What the site declares: its services, their hosts and cookies, as the
//! consent server publishes them (`GET {server}/api/v1/sites/{site}/config`
//! answers `{site, version, config: SiteConfig}`) or as a file.

use std::path::Path;

use consent_core::config::{CookieDecl, Service, SiteConfig, cookie_name_matches};
use serde::Deserialize;

/// Declarations are small; anything larger is refused, not parsed.
pub const MAX_DECLARATION_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DeclaredError {
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{origin}: larger than {MAX_DECLARATION_BYTES} bytes")]
    TooLarge { origin: String },
    #[error("{origin}: not a site configuration: {message}")]
    Format { origin: String, message: String },
    #[error("{origin}: {message}")]
    Fetch { origin: String, message: String },
}

/// The body of the server's public config endpoint.
#[derive(Debug, Deserialize)]
struct PublishedConfig {
    #[allow(dead_code)]
    site: String,
    #[serde(default)]
    version: Option<String>,
    config: SiteConfig,
}

/// A site's declaration and where it came from.
#[derive(Clone, Debug)]
pub struct Declared {
    pub config: SiteConfig,
    /// `file:…` or the server URL, plus the configuration version if known.
    pub origin: String,
    pub version: Option<String>,
}

impl Declared {
    /// Nothing declared: every platform and cookie counts as undeclared.
    pub fn nothing() -> Self {
        Declared {
            config: SiteConfig::starter(),
            origin: "none (no declaration given)".into(),
            version: None,
        }
    }

    /// Parses a declaration file: a SiteConfig as JSON or TOML, or the
    /// server's `{site, version, config}` envelope.
    pub fn from_file(path: &Path) -> Result<Self, DeclaredError> {
        let origin = format!("file:{}", path.display());
        let bytes = std::fs::read(path).map_err(|e| DeclaredError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let toml = path.extension().is_some_and(|e| e == "toml");
        Self::parse(&bytes, toml, origin)
    }

    pub fn parse(bytes: &[u8], toml: bool, origin: String) -> Result<Self, DeclaredError> {
        if bytes.len() > MAX_DECLARATION_BYTES {
            return Err(DeclaredError::TooLarge { origin });
        }
        let format = |message: String| DeclaredError::Format {
            origin: origin.clone(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| format(e.to_string()))?;
        let (config, version) = if toml {
            (
                toml::from_str::<SiteConfig>(text).map_err(|e| format(e.to_string()))?,
                None,
            )
        } else {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format(e.to_string()))?;
            if v.get("config").is_some() {
                let p: PublishedConfig = serde_json::from_value(v).map_err(|e| format(e.to_string()))?;
                (p.config, p.version)
            } else {
                (serde_json::from_value(v).map_err(|e| format(e.to_string()))?, None)
            }
        };
        config.validate().map_err(|e| format(e.to_string()))?;
        Ok(Declared {
            config,
            origin,
            version,
        })
    }

    /// Fetches the published configuration from the consent server.
    pub async fn fetch(client: &reqwest::Client, server: &str, site: &str) -> Result<Self, DeclaredError> {
        let url = format!(
            "{}/api/v1/sites/{}/config",
            server.trim_end_matches('/'),
            url::form_urlencoded::byte_serialize(site.as_bytes()).collect::<String>()
        );
        Self::fetch_url(client, &url).await
    }

    /// Fetches a declaration from a URL: the consent server's public
    /// `…/api/v1/sites/{site}/config` (its `{site, version, config}`
    /// envelope) or any URL answering a SiteConfig as JSON.
    pub async fn fetch_url(client: &reqwest::Client, url: &str) -> Result<Self, DeclaredError> {
        let fetch = |message: String| DeclaredError::Fetch {
            origin: url.to_owned(),
            message,
        };
        let resp = client.get(url).send().await.map_err(|e| fetch(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(fetch(format!("HTTP {}", resp.status())));
        }
        let bytes = crate::fetch::read_limited(resp, MAX_DECLARATION_BYTES)
            .await
            .map_err(|e| fetch(e.to_string()))?;
        Self::parse(&bytes, false, url.to_owned())
    }

    /// The service that declares a cookie or storage key of this name (and
    /// domain, when the declaration names one).
    pub fn cookie(&self, name: &str, domain: &str) -> Option<(&Service, &CookieDecl)> {
        let domain = domain.trim_start_matches('.');
        self.config.services.iter().find_map(|s| {
            s.cookies
                .iter()
                .find(|c| {
                    cookie_name_matches(&c.name, name)
                        && c.domain.as_deref().is_none_or(|d| {
                            let d = d.trim_start_matches('.');
                            domain == d || domain.ends_with(&format!(".{d}"))
                        })
                })
                .map(|c| (s, c))
        })
    }

    /// The service whose hosts cover this host.
    pub fn host(&self, host: &str) -> Option<&Service> {
        self.config
            .services
            .iter()
            .find(|s| s.hosts.iter().any(|h| host_matches(h, host)))
    }

    /// Whether a category is one the visitor cannot refuse.
    pub fn is_required(&self, category: &str) -> bool {
        self.config.category(category).is_some_and(|c| c.required)
    }

    /// The category's English title for remedies ("Marketing").
    pub fn category_title(&self, category: &str) -> String {
        self.config
            .category(category)
            .and_then(|c| c.labels.get("en"))
            .map(|l| l.title.clone())
            .unwrap_or_else(|| {
                let mut s = category.to_owned();
                if let Some(f) = s.get_mut(..1) {
                    f.make_ascii_uppercase();
                }
                s
            })
    }
}

/// `*.example.com` matches subdomains (and, leniently, the apex too).
pub fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(base) => host == base || host.ends_with(&format!(".{base}")),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
languages = ["nl", "en"]
[[categories]]
id = "necessary"
required = true
[[categories]]
id = "marketing"
[[services]]
id = "meta"
name = "Meta"
category = "marketing"
hosts = ["connect.facebook.net", "*.facebook.com"]
[[services.cookies]]
name = "_fbp"
retention_days = 90
"#;

    #[test]
    fn toml_declaration() {
        let d = Declared::parse(TOML.as_bytes(), true, "t".into()).unwrap();
        assert_eq!(d.cookie("_fbp", "shop.example").unwrap().0.id, "meta");
        assert!(d.cookie("_fbc", "shop.example").is_none());
        assert_eq!(d.host("www.facebook.com").unwrap().id, "meta");
        assert!(d.host("facebook.com.evil.example").is_none());
        assert!(d.is_required("necessary"));
        assert_eq!(d.category_title("marketing"), "Marketing");
    }

    /// Only `necessary` and `marketing`, no Consent Mode mapping of its
    /// own (the fixture shop's declaration is the same shape): accepted,
    /// and its Consent Mode follows the two categories it has.
    #[test]
    fn a_minimal_declaration_is_accepted() {
        let d = Declared::parse(TOML.as_bytes(), true, "t".into()).unwrap();
        assert_eq!(d.config.categories.len(), 2);
        let accepted = d.config.consent_mode_signals(|_| true);
        assert!(accepted["ad_storage"] && accepted["ad_user_data"] && accepted["ad_personalization"]);
        assert!(!accepted["analytics_storage"] && !accepted["functionality_storage"]);
        let fixture = Declared::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/declared.toml"));
        assert!(fixture.is_ok(), "{fixture:?}");
        // A Consent Mode mapping naming a category that is neither the
        // site's nor a standard one is still refused.
        let typo = TOML.replace("languages", "consent_mode = {ad_storage = [\"marketting\"]}\nlanguages");
        let err = Declared::parse(typo.as_bytes(), true, "t".into()).unwrap_err();
        assert!(err.to_string().contains("marketting"), "{err}");
    }

    #[test]
    fn server_envelope_and_bad_input() {
        let cfg: SiteConfig = toml::from_str(TOML).unwrap();
        let env = serde_json::json!({"site": "shop", "version": cfg.version().0, "config": cfg});
        let d = Declared::parse(env.to_string().as_bytes(), false, "srv".into()).unwrap();
        assert_eq!(d.version.as_deref(), Some(cfg.version().0.as_str()));
        let err = Declared::parse(b"{\"categories\": 3}", false, "srv".into()).unwrap_err();
        assert!(err.to_string().contains("not a site configuration"), "{err}");
        let big = vec![b' '; MAX_DECLARATION_BYTES + 1];
        assert!(matches!(
            Declared::parse(&big, false, "x".into()),
            Err(DeclaredError::TooLarge { .. })
        ));
    }
}
