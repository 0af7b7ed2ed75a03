//! What a visitor chose, as the widget sends it, and its validation against
//! the configuration version the visitor saw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigVersion, SiteConfig};
use crate::id::ConsentId;

/// The largest decision body the server reads: a decision names at most a
/// few dozen categories and services, far below this.
pub const MAX_DECISION_BYTES: usize = 16 * 1024;
/// The longest page path a decision may carry, in bytes.
pub const MAX_PAGE_PATH: usize = 1024;

/// How the visitor arrived at the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// "Accept all" in the banner or the preferences.
    AcceptAll,
    /// "Reject all" in the banner or the preferences.
    RejectAll,
    /// A choice per category or service in the preferences.
    Custom,
    /// A later decision that takes back something granted before.
    Withdrawal,
    /// Applied from the browser's Global Privacy Control signal.
    Gpc,
}

/// The body of `POST /api/v1/sites/{site}/decisions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Set when a returning visitor changes their mind: the new decision joins
    /// the same consent id. Must come with `secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_id: Option<ConsentId>,
    /// The secret handed out with the consent id; proves the caller is the
    /// visitor's own browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The configuration version the visitor saw.
    pub config_version: ConfigVersion,
    /// How the visitor decided.
    pub method: Method,
    /// Category id -> granted. Categories left out are denied.
    pub categories: BTreeMap<String, bool>,
    /// Service id -> granted, where the visitor chose per service.
    #[serde(default)]
    pub services: BTreeMap<String, bool>,
    /// The language the banner was shown in; one the site offers.
    pub language: String,
    /// The page's path, without query string or fragment.
    pub page_path: String,
    /// Whether the browser sent Global Privacy Control.
    #[serde(default)]
    pub gpc: bool,
}

/// A decision checked against its configuration, with every category present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidDecision {
    /// The configuration version the visitor saw.
    pub config_version: ConfigVersion,
    /// How the visitor decided.
    pub method: Method,
    /// Every category of that configuration -> granted (required ones always).
    pub categories: BTreeMap<String, bool>,
    /// Service id -> granted, where the visitor chose per service.
    pub services: BTreeMap<String, bool>,
    /// The language the banner was shown in.
    pub language: String,
    /// The page's path, without query string or fragment.
    pub page_path: String,
    /// Whether the browser sent Global Privacy Control.
    pub gpc: bool,
}

/// Why a decision was refused. `field` names the offending field so the
/// widget's developer (and the 422 body) can say exactly what was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct DecisionError {
    /// The offending field: `language`, `categories/analytics`, ...
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> DecisionError {
    DecisionError {
        field: field.into(),
        message: message.into(),
    }
}

impl DecisionRequest {
    /// Validates against the configuration named by `config_version`; the
    /// caller has looked that version up (an unknown version is its 422).
    pub fn validate(self, config: &SiteConfig) -> Result<ValidDecision, DecisionError> {
        if self.consent_id.is_some() != self.secret.is_some() {
            return Err(err("secret", "consent_id and secret come together"));
        }
        for id in self.categories.keys() {
            if config.category(id).is_none() {
                return Err(err(format!("categories/{id}"), "unknown category"));
            }
        }
        for id in self.services.keys() {
            if config.service(id).is_none() {
                return Err(err(format!("services/{id}"), "unknown service"));
            }
        }
        let mut categories = BTreeMap::new();
        for c in &config.categories {
            let granted = self.categories.get(&c.id).copied().unwrap_or(false);
            if c.required && self.categories.get(&c.id) == Some(&false) {
                return Err(err(
                    format!("categories/{}", c.id),
                    "a required category cannot be refused",
                ));
            }
            categories.insert(c.id.clone(), granted || c.required);
        }
        let optional = || config.categories.iter().filter(|c| !c.required);
        match self.method {
            Method::AcceptAll if optional().any(|c| !categories[&c.id]) => {
                return Err(err("method", "accept_all with a category refused"));
            }
            Method::RejectAll if optional().any(|c| categories[&c.id]) => {
                return Err(err("method", "reject_all with a category granted"));
            }
            Method::Gpc if !self.gpc => return Err(err("gpc", "method gpc without the GPC signal")),
            _ => {}
        }
        if !config.languages.contains(&self.language) {
            return Err(err("language", format!("the site offers {:?}", config.languages)));
        }
        let path = &self.page_path;
        if !path.starts_with('/')
            || path.len() > MAX_PAGE_PATH
            || path.contains(['?', '#'])
            || path.chars().any(char::is_control)
        {
            return Err(err(
                "page_path",
                format!("an absolute path of at most {MAX_PAGE_PATH} bytes, without query string or fragment"),
            ));
        }
        Ok(ValidDecision {
            config_version: self.config_version,
            method: self.method,
            categories,
            services: self.services,
            language: self.language,
            page_path: self.page_path,
            gpc: self.gpc,
        })
    }
}

impl ValidDecision {
    /// Whether a service may run: its own choice if the visitor made one,
    /// otherwise its category's.
    pub fn allows_service(&self, config: &SiteConfig, service: &str) -> bool {
        match (self.services.get(service), config.service(service)) {
            (Some(&choice), _) => choice,
            (None, Some(s)) => self.categories.get(&s.category).copied().unwrap_or(false),
            (None, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, cats: &[(&str, bool)]) -> DecisionRequest {
        DecisionRequest {
            consent_id: None,
            secret: None,
            config_version: SiteConfig::starter().version(),
            method,
            categories: cats.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            services: BTreeMap::new(),
            language: "nl".into(),
            page_path: "/winkel".into(),
            gpc: false,
        }
    }

    #[test]
    fn missing_categories_are_denied_and_required_granted() {
        let d = request(Method::Custom, &[("analytics", true)])
            .validate(&SiteConfig::starter())
            .unwrap();
        assert!(d.categories["necessary"]);
        assert!(d.categories["analytics"]);
        assert!(!d.categories["marketing"]);
    }

    #[test]
    fn refusals_name_the_field() {
        let c = SiteConfig::starter();
        let e = request(Method::Custom, &[("ads", true)]).validate(&c).unwrap_err();
        assert_eq!(e.field, "categories/ads");
        let e = request(Method::Custom, &[("necessary", false)])
            .validate(&c)
            .unwrap_err();
        assert_eq!(e.field, "categories/necessary");
        let e = request(Method::AcceptAll, &[("analytics", true)])
            .validate(&c)
            .unwrap_err();
        assert_eq!(e.field, "method");
        let mut r = request(Method::RejectAll, &[]);
        r.page_path = "/a?email=x@y.z".into();
        assert_eq!(r.validate(&c).unwrap_err().field, "page_path");
        let mut r = request(Method::RejectAll, &[]);
        r.language = "xx".into();
        assert_eq!(r.validate(&c).unwrap_err().field, "language");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let body = r#"{"config_version":"x","method":"custom","categories":{},"language":"nl","page_path":"/","ip":"1.2.3.4"}"#;
        assert!(serde_json::from_str::<DecisionRequest>(body).is_err());
    }
}
