//! Findings: what a marketer should act on, with evidence and a remedy.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::page::ConsentState;
use crate::pii::{Param, PiiHit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Stable rule ids: CI pipelines and the dashboard key on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Personal data (plain or hashed) sent to an ad or analytics platform.
    PersonalDataToPlatform,
    /// A snippet hands customer data to a platform ("advanced matching").
    AdvancedMatchingConfigured,
    /// A tracker request or non-necessary cookie before the visitor chose.
    TrackingBeforeConsent,
    /// A tracker request or non-necessary cookie after the visitor refused.
    TrackingAfterReject,
    /// A tracker request or non-necessary cookie while the browser sends
    /// Global Privacy Control.
    TrackingDespiteGpc,
    /// A third-party script reads the device for a fingerprint (canvas,
    /// WebGL, audio, fonts).
    Fingerprinting,
    /// A third-party script writes to localStorage, sessionStorage or
    /// IndexedDB before the visitor chose or after a refusal.
    StorageWithoutConsent,
    /// A platform the site's declaration does not name.
    UndeclaredService,
    /// A cookie (or storage key) the site's declaration does not name.
    UndeclaredCookie,
    UndeclaredStorage,
    /// A cookie lives longer than declared.
    CookieLifetime,
    /// A platform is present (informational inventory).
    PlatformPresent,
    /// Part of the site could not be scanned.
    ScanProblem,
    /// The browser pass found no consent banner to operate on a page.
    NoConsentBanner,
}

impl Rule {
    pub const ALL: [Rule; 14] = [
        Rule::PersonalDataToPlatform,
        Rule::AdvancedMatchingConfigured,
        Rule::TrackingBeforeConsent,
        Rule::TrackingAfterReject,
        Rule::TrackingDespiteGpc,
        Rule::Fingerprinting,
        Rule::StorageWithoutConsent,
        Rule::UndeclaredService,
        Rule::UndeclaredCookie,
        Rule::UndeclaredStorage,
        Rule::CookieLifetime,
        Rule::PlatformPresent,
        Rule::ScanProblem,
        Rule::NoConsentBanner,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::PersonalDataToPlatform => "personal-data-to-platform",
            Rule::AdvancedMatchingConfigured => "advanced-matching-configured",
            Rule::TrackingBeforeConsent => "tracking-before-consent",
            Rule::TrackingAfterReject => "tracking-after-reject",
            Rule::TrackingDespiteGpc => "tracking-despite-gpc",
            Rule::Fingerprinting => "fingerprinting",
            Rule::StorageWithoutConsent => "storage-without-consent",
            Rule::UndeclaredService => "undeclared-service",
            Rule::UndeclaredCookie => "undeclared-cookie",
            Rule::UndeclaredStorage => "undeclared-storage",
            Rule::CookieLifetime => "cookie-lifetime",
            Rule::PlatformPresent => "platform-present",
            Rule::ScanProblem => "scan-problem",
            Rule::NoConsentBanner => "no-consent-banner",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Rule::PersonalDataToPlatform => {
                "Personal data (plain or hashed) is sent to an advertising or analytics platform"
            }
            Rule::AdvancedMatchingConfigured => "A tag is configured to hand customer data to a platform",
            Rule::TrackingBeforeConsent => "Tracking happens before the visitor has chosen",
            Rule::TrackingAfterReject => "Tracking happens after the visitor rejected it",
            Rule::TrackingDespiteGpc => "Tracking happens while the browser sends Global Privacy Control",
            Rule::Fingerprinting => {
                "A third-party script reads the visitor's device for a fingerprint (canvas, WebGL, audio or fonts)"
            }
            Rule::StorageWithoutConsent => {
                "A third-party script stores data in the browser (localStorage, sessionStorage, IndexedDB) before \
                 the visitor chose or after a refusal"
            }
            Rule::UndeclaredService => "A platform is used that the site's declaration does not name",
            Rule::UndeclaredCookie => "A cookie is set that the site's declaration does not name",
            Rule::UndeclaredStorage => "A local-storage key is written that the site's declaration does not name",
            Rule::CookieLifetime => "A cookie lives longer than the declaration says",
            Rule::PlatformPresent => "A tracking platform is present",
            Rule::ScanProblem => "Part of the site could not be scanned",
            Rule::NoConsentBanner => "No consent banner was found to accept or reject",
        }
    }
}

/// One piece of evidence. Every field is optional so a finding can cite a
/// request, a cookie, a script or just a page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ConsentState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The request's relevant parameters, decoded (`ud[em]`, not `ud%5Bem%5D`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub personal_data: Vec<PiiHit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The platform's human name (`Meta Pixel`), when there is a platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_name: Option<String>,
    /// Stable across scans: the same rule about the same platform (or
    /// subject: cookie, host, script site) has the same fingerprint, whatever
    /// the evidence ([`fingerprint`]). Empty in reports of older scanners.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// What to do about it, concretely.
    pub remedy: String,
    /// The consent states it was seen in (all evidence, not only the kept).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub states: BTreeSet<ConsentState>,
    /// The pages it was seen on, at most [`MAX_PAGES`].
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub pages: BTreeSet<String>,
    /// How many times it was seen (requests, cookies, probes) in all.
    #[serde(default)]
    pub count: usize,
    /// One piece of evidence to show first, its request decoded into
    /// parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Evidence>,
    /// Evidence, at most [`MAX_EVIDENCE`] items (`evidence_total` counts all).
    pub evidence: Vec<Evidence>,
    pub evidence_total: usize,
}

pub const MAX_EVIDENCE: usize = 10;
/// Pages kept per finding.
pub const MAX_PAGES: usize = 20;

/// A finding's fingerprint: `rule` and its subject (the platform id, or the
/// cookie, host or script site it is about), never its evidence, as 16 hex
/// digits of their SHA-256, so it is the same in every scan that finds the
/// same problem and safe in a URL.
pub fn fingerprint(rule: Rule, subject: &str) -> String {
    consent_core::store::finding_fingerprint(rule.id(), subject)
}

impl Finding {
    pub fn new(rule: Rule, severity: Severity, title: impl Into<String>, remedy: impl Into<String>) -> Self {
        Finding {
            rule,
            severity,
            title: title.into(),
            platform: None,
            platform_name: None,
            fingerprint: String::new(),
            remedy: remedy.into(),
            states: BTreeSet::new(),
            pages: BTreeSet::new(),
            count: 0,
            example: None,
            evidence: Vec::new(),
            evidence_total: 0,
        }
    }

    pub fn with_platform(mut self, id: &str) -> Self {
        self.platform = Some(id.to_owned());
        self
    }

    pub fn add(&mut self, e: Evidence) {
        self.evidence_total += 1;
        self.count += 1;
        if let Some(state) = e.state {
            self.states.insert(state);
        }
        if let Some(page) = &e.page
            && self.pages.len() < MAX_PAGES
        {
            self.pages.insert(page.clone());
        }
        if self.evidence.len() < MAX_EVIDENCE && !self.evidence.contains(&e) {
            self.evidence.push(e);
        }
    }
}
