//! What a marketer reads first: the verdict at the top of a report, the
//! `no-consent-banner` finding, each finding's human name and its one
//! example shown decoded.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::detect::{Analysis, PlatformSummary};
use crate::finding::{Evidence, Finding, Rule, Severity, fingerprint};
use crate::page::ConsentState;
use crate::pii::decode_params;

/// Whether the browser pass found a consent banner to operate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Banner {
    /// On every page it visited.
    Found,
    /// On some pages, not on others (`pages_without_banner`).
    Partly,
    /// On none.
    NotFound,
    /// There was no browser pass.
    #[default]
    NotChecked,
}

impl Banner {
    pub fn label(self) -> &'static str {
        match self {
            Banner::Found => "yes",
            Banner::Partly => "on some pages only",
            Banner::NotFound => "no consent banner found",
            Banner::NotChecked => "not checked (no browser pass)",
        }
    }
}

/// Personal data going to one platform (or host), as kinds only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalDataTo {
    /// The platform's name, or the host for a platform not known.
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `SHA-256 of an e-mail address`, `a phone number`, …
    pub kinds: BTreeSet<String>,
    pub states: BTreeSet<ConsentState>,
    /// Whether it was (an encoding of) the scanner's own canary identity.
    pub canary: bool,
}

/// What is on the site but not in its declaration (names, at most 50 each).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undeclared {
    pub services: Vec<String>,
    pub cookies: Vec<String>,
    pub storage: Vec<String>,
}

/// The report's summary, answering in order: is there a consent banner?
/// what tracks before consent, after "reject all" (and despite GPC)? which
/// personal data goes where? what is undeclared?
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// One sentence.
    pub headline: String,
    pub banner: Banner,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages_without_banner: Vec<String>,
    /// Platforms (names) tracking before the visitor chose.
    pub before_consent: Vec<String>,
    /// … after "reject all".
    pub after_reject: Vec<String>,
    /// … with no choice made and Global Privacy Control on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub despite_gpc: Vec<String>,
    pub personal_data: Vec<PersonalDataTo>,
    pub undeclared: Undeclared,
}

const MAX_NAMES: usize = 50;

/// How a finding is named in lists: its platform's name, else its title.
pub fn name_of(f: &Finding) -> &str {
    f.platform_name.as_deref().unwrap_or(&f.title)
}

/// Human names, the `no-consent-banner` finding and examples, in place.
pub(super) fn complete(a: &mut Analysis, banners: &[(String, String)]) {
    let names: BTreeMap<&str, &str> = a.platforms.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect();
    for f in &mut a.findings {
        if let Some(id) = &f.platform {
            f.platform_name = names.get(id.as_str()).map(|n| (*n).to_owned());
        }
        f.example = example(&f.evidence);
    }
    if let Some(f) = no_banner(banners, &a.platforms) {
        a.findings.push(f);
        a.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.rule.cmp(&b.rule))
                .then(a.title.cmp(&b.title))
        });
    }
}

/// The evidence to show first (one that carried personal data, else one
/// with a request, else the first), with its request decoded: the
/// parameters the detector kept first, then the others, 40 at most.
fn example(evidence: &[Evidence]) -> Option<Evidence> {
    let best = evidence
        .iter()
        .find(|e| !e.personal_data.is_empty())
        .or_else(|| evidence.iter().find(|e| e.request.is_some()))
        .or(evidence.first())?;
    let mut e = best.clone();
    if let Some(url) = e.request.as_deref().and_then(|r| url::Url::parse(r).ok()) {
        for p in decode_params(&url, None) {
            if e.params.len() >= 40 {
                break;
            }
            if !e.params.iter().any(|q| q.key == p.key) {
                e.params.push(p);
            }
        }
    }
    Some(e)
}

/// `no-consent-banner` when the browser pass found no banner on a page:
/// high when something on the site tracks, low otherwise.
fn no_banner(banners: &[(String, String)], platforms: &[PlatformSummary]) -> Option<Finding> {
    let missing: Vec<&(String, String)> = banners
        .iter()
        .filter(|(_, how)| how.starts_with("no consent banner found"))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let trackers: Vec<&str> = platforms
        .iter()
        .filter(|p| p.kind.tracks())
        .map(|p| p.name.as_str())
        .collect();
    let pages: BTreeSet<&str> = missing.iter().map(|(p, _)| p.as_str()).collect();
    let visited: BTreeSet<&str> = banners.iter().map(|(p, _)| p.as_str()).collect();
    let severity = if trackers.is_empty() {
        Severity::Low
    } else {
        Severity::High
    };
    let hold_back = if trackers.is_empty() {
        "the trackers you add later".to_owned()
    } else {
        trackers.join(", ")
    };
    let mut f = Finding::new(
        Rule::NoConsentBanner,
        severity,
        format!(
            "No consent banner found (on {} of {} pages visited in the browser)",
            pages.len(),
            visited.len()
        ),
        format!(
            "Show a consent banner on every page that offers \"Reject all\" as plainly as \"Accept all\", and hold \
             back {hold_back} until the visitor accepts (with Keurmerk: its loader as the first element of <head>). \
             If the site has a banner, check that its buttons can be found: the scanner operates window.keurmerk, \
             well-known consent platforms' buttons and buttons named \"Reject all\"/\"Accept all\" in English, \
             Dutch, German or French."
        ),
    );
    f.fingerprint = fingerprint(Rule::NoConsentBanner, "site");
    for (page, how) in missing {
        f.add(Evidence {
            page: Some(page.clone()),
            note: how.clone(),
            ..Evidence::default()
        });
    }
    Some(f)
}

/// The verdict of a report whose findings are complete.
pub(super) fn verdict(a: &Analysis, banners: &[(String, String)]) -> Verdict {
    let visited: BTreeSet<&str> = banners.iter().map(|(p, _)| p.as_str()).collect();
    let without: BTreeSet<&str> = banners
        .iter()
        .filter(|(_, how)| how.starts_with("no consent banner found"))
        .map(|(p, _)| p.as_str())
        .collect();
    let banner = if visited.is_empty() {
        Banner::NotChecked
    } else if without.is_empty() {
        Banner::Found
    } else if without.len() == visited.len() {
        Banner::NotFound
    } else {
        Banner::Partly
    };
    let names = |rule: Rule| -> Vec<String> {
        let set: BTreeSet<&str> = a.findings.iter().filter(|f| f.rule == rule).map(name_of).collect();
        set.into_iter().take(MAX_NAMES).map(str::to_owned).collect()
    };
    let by_id: BTreeMap<&str, &str> = a.platforms.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect();
    let mut personal: BTreeMap<String, PersonalDataTo> = BTreeMap::new();
    for leak in &a.personal_data {
        let to = leak
            .platform
            .as_deref()
            .and_then(|id| by_id.get(id).copied())
            .or(leak.platform.as_deref())
            .unwrap_or(&leak.host)
            .to_owned();
        let entry = personal.entry(to.clone()).or_insert_with(|| PersonalDataTo {
            to,
            platform: leak.platform.clone(),
            kinds: BTreeSet::new(),
            states: BTreeSet::new(),
            canary: false,
        });
        entry.states.insert(leak.state);
        for h in &leak.hits {
            entry.kinds.insert(consent_core::redact::kind(&h.field, &h.encoding));
            entry.canary |= h.canary;
        }
    }
    let undeclared = Undeclared {
        services: names(Rule::UndeclaredService),
        cookies: {
            let set: BTreeSet<&str> = a
                .cookies
                .iter()
                .filter(|c| c.declared.is_none())
                .map(|c| c.name.as_str())
                .collect();
            set.into_iter().take(MAX_NAMES).map(str::to_owned).collect()
        },
        storage: {
            let set: BTreeSet<&str> = a
                .storage
                .iter()
                .filter(|s| s.declared.is_none())
                .map(|s| s.key.as_str())
                .collect();
            set.into_iter().take(MAX_NAMES).map(str::to_owned).collect()
        },
    };
    let mut v = Verdict {
        headline: String::new(),
        banner,
        pages_without_banner: without.into_iter().take(20).map(str::to_owned).collect(),
        before_consent: names(Rule::TrackingBeforeConsent),
        after_reject: names(Rule::TrackingAfterReject),
        despite_gpc: names(Rule::TrackingDespiteGpc),
        personal_data: personal.into_values().collect(),
        undeclared,
    };
    v.headline = headline(&v);
    v
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn headline(v: &Verdict) -> String {
    let mut parts = Vec::new();
    match v.banner {
        Banner::NotFound => parts.push("no consent banner was found".to_owned()),
        Banner::Partly => parts.push(format!(
            "no consent banner was found on {}",
            count(v.pages_without_banner.len(), "page", "pages")
        )),
        _ => {}
    }
    if !v.before_consent.is_empty() {
        parts.push(format!(
            "{} before consent",
            count(v.before_consent.len(), "service tracks", "services track")
        ));
    }
    if !v.after_reject.is_empty() {
        parts.push(format!(
            "{} after \"reject all\"",
            count(v.after_reject.len(), "service tracks", "services track")
        ));
    }
    if !v.personal_data.is_empty() {
        let to: Vec<&str> = v.personal_data.iter().map(|p| p.to.as_str()).collect();
        parts.push(format!("personal data goes to {}", to.join(", ")));
    }
    let undeclared = v.undeclared.services.len() + v.undeclared.cookies.len() + v.undeclared.storage.len();
    if undeclared > 0 {
        parts.push(format!(
            "{} not declared",
            count(
                undeclared,
                "service, cookie or key is",
                "services, cookies and keys are"
            )
        ));
    }
    if parts.is_empty() {
        return "No tracking without consent, no personal data sent and nothing undeclared found.".into();
    }
    let mut s = parts.join("; ");
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + &s[1..];
    }
    s.push('.');
    s
}
