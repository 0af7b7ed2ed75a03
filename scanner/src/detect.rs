//! The detectors: read what the passes observed, apply the knowledge base
//! and the site's declaration, and produce the inventory and the findings.
//!
//! [`analyse`] runs them in a fixed order (the order evidence is listed in),
//! each over its own input, all adding to one `Findings`:
//!
//! - `inventory`: requests and inline scripts → the platforms with their
//!   ids, hosts, pages and visits; `platform-present`, `undeclared-service`.
//! - `personal_data`: personal data in requests (`personal-data-to-platform`)
//!   and snippets configured to send it (`advanced-matching-configured`).
//! - `consent`: tracker requests and non-necessary cookies before the
//!   choice or after "reject all" (`tracking-before-consent`, `tracking-after-reject`).
//! - `cookies`: one row per cookie with its setter, declaration and
//!   classification; `undeclared-cookie`, `cookie-lifetime`.
//! - `storage`: one row per storage key; `undeclared-storage`.
//! - `device_access`: third-party scripts fingerprinting the device or
//!   writing to its storage without consent (`fingerprinting`,
//!   `storage-without-consent`).
//! - `scan_problems`: what could not be scanned (`scan-problem`).

mod consent;
mod cookies;
mod device_access;
mod inventory;
mod personal_data;
mod storage;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cookie::{Classification, CookieDb};
use crate::declared::Declared;
use crate::finding::{Evidence, Finding, Rule, Severity};
use crate::page::{ConsentState, Observations, Pass, Problem, Request, SetBy, same_site};
use crate::pii::{Needle, Param, PiiHit};
use crate::signature::{AccountId, Kind, KnowledgeBase, Platform, UrlMatch};

/// A platform found on the site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSummary {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub kind: Kind,
    pub category: String,
    pub retargeting: bool,
    pub ids: Vec<AccountId>,
    pub hosts: BTreeSet<String>,
    pub pages: BTreeSet<String>,
    pub states: BTreeSet<ConsentState>,
    pub requests: usize,
    /// In how many of the browser visits it showed up (ad auctions and
    /// consent states make scans differ from visit to visit).
    pub seen_in_visits: u32,
    pub of_visits: u32,
    /// The declared service covering it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_as: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredAs {
    pub service: String,
    pub category: String,
}

/// One cookie (name + domain) with everything seen about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookieRow {
    pub name: String,
    pub domain: String,
    pub third_party: bool,
    /// Longest lifetime observed, in seconds; `None` = session cookie.
    pub lifetime_secs: Option<i64>,
    /// The same in days, rounded to the nearest (0: under half a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_days: Option<i64>,
    pub set_by: Vec<SetBy>,
    pub states: BTreeSet<ConsentState>,
    pub pages: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<DeclaredAs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageRow {
    pub origin: String,
    pub area: String,
    pub key: String,
    pub states: BTreeSet<ConsentState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<DeclaredAs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
}

/// Personal data seen leaving the site in one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiLeak {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub host: String,
    pub page: String,
    pub state: ConsentState,
    pub url: String,
    pub params: Vec<Param>,
    pub hits: Vec<PiiHit>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    pub platforms: Vec<PlatformSummary>,
    pub cookies: Vec<CookieRow>,
    pub storage: Vec<StorageRow>,
    pub personal_data: Vec<PiiLeak>,
    pub findings: Vec<Finding>,
}

pub struct Context<'a> {
    pub kb: &'a KnowledgeBase,
    pub declared: &'a Declared,
    pub cookie_db: Option<&'a CookieDb>,
    pub needles: &'a [Needle],
    /// The scanned site's host (for first/third party).
    pub site_host: &'a str,
}

/// Findings are grouped by rule and subject so a tracker on 500 pages is one
/// finding with evidence, not 500 findings. The first detector to name a
/// (rule, subject) writes its title and remedy; later ones add evidence.
#[derive(Default)]
struct Findings(BTreeMap<(Rule, String), Finding>);

impl Findings {
    fn add(&mut self, key: (Rule, String), make: impl FnOnce() -> Finding, e: Evidence) {
        self.0.entry(key).or_insert_with(make).add(e);
    }

    /// Most severe first; ties in rule order, then title, so output is
    /// stable. Each finding's fingerprint is its (rule, subject) key.
    fn into_sorted(self) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self
            .0
            .into_iter()
            .map(|((rule, subject), mut f)| {
                f.fingerprint = crate::finding::fingerprint(rule, &subject);
                f
            })
            .collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.rule.cmp(&b.rule))
                .then(a.title.cmp(&b.title))
        });
        findings
    }
}

const MAX_PAGES_PER_ROW: usize = 20;

fn cap_insert(set: &mut BTreeSet<String>, v: &str) {
    if set.len() < MAX_PAGES_PER_ROW {
        set.insert(v.to_owned());
    }
}

fn ids_text(ids: &[AccountId]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let list: Vec<String> = ids.iter().map(|i| format!("{} {}", i.label, i.value)).collect();
    format!(" ({})", list.join(", "))
}

/// Evidence text is cut at this many characters.
const MAX_URL_CHARS: usize = 2000;

/// An HTTP(S) request as the detectors read it: parsed once, with the
/// platforms its URL belongs to.
struct SeenRequest<'r, 'k> {
    request: &'r Request,
    url: url::Url,
    host: String,
    matches: Vec<UrlMatch<'k>>,
}

impl<'r, 'k> SeenRequest<'r, 'k> {
    /// `None` for URLs that do not parse or are not HTTP(S).
    fn read(request: &'r Request, kb: &'k KnowledgeBase) -> Option<Self> {
        let url = url::Url::parse(&request.url).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let matches = kb.match_url(&url);
        Some(SeenRequest {
            request,
            url,
            host,
            matches,
        })
    }

    /// The platform the request is attributed to (the first match).
    fn platform(&self) -> Option<&'k Platform> {
        self.matches.first().map(|m| m.platform)
    }

    fn evidence_url(&self) -> String {
        self.request.url.chars().take(MAX_URL_CHARS).collect()
    }
}

pub fn analyse(obs: &Observations, cx: &Context<'_>) -> Analysis {
    let mut findings = Findings::default();
    let mut inventory = inventory::Inventory::new(obs.browser_visits);
    let mut personal_data = Vec::new();
    let browser_ran = obs.pages.iter().any(|p| p.pass == Pass::Browser);

    for r in &obs.requests {
        let Some(seen) = SeenRequest::read(r, cx.kb) else {
            continue;
        };
        inventory.add_request(&seen);
        // First-party requests no platform claims are the site's own business.
        if seen.platform().is_none() && same_site(&seen.host, cx.site_host) {
            continue;
        }
        personal_data.extend(personal_data::in_request(&seen, cx, &mut findings));
        consent::request_before_choice(&seen, browser_ran, cx, &mut findings);
    }
    for s in &obs.scripts {
        inventory.add_inline_script(s, cx.kb);
        personal_data::advanced_matching(s, cx.kb, &mut findings);
    }

    // The inventory is complete once requests and scripts are read; cookies
    // are attributed in agreement with it.
    let platforms = inventory.finish(cx.declared);
    let present: Vec<&str> = platforms.iter().map(|p| p.id.as_str()).collect();
    let cookie_rows = cookies::rows(&obs.cookies, &present, cx);
    for row in cookie_rows.values() {
        let c = cookies::CookieFacts::of(row, cx);
        cookies::undeclared(&c, cx, &mut findings);
        consent::cookie_before_choice(&c, cx, &mut findings);
        cookies::outlives_declaration(&c, cx, &mut findings);
    }

    let storage_rows = storage::rows(&obs.storage, cx);
    storage::undeclared(&obs.storage, &storage_rows, &mut findings);
    device_access::fingerprinting(&obs.activity, cx, &mut findings);
    device_access::storage_without_consent(&obs.activity, cx, &mut findings);

    for s in &platforms {
        inventory::present_and_declared(s, cx, &mut findings);
    }

    scan_problems(&obs.problems, &mut findings);

    Analysis {
        platforms,
        cookies: cookie_rows.into_values().collect(),
        storage: storage_rows.into_values().collect(),
        personal_data,
        findings: findings.into_sorted(),
    }
}

/// Every problem met while scanning is also a finding a marketer sees.
fn scan_problems(problems: &[Problem], findings: &mut Findings) {
    for p in problems {
        findings.add(
            (Rule::ScanProblem, format!("{:?}@{}", p.kind, p.url)),
            || {
                Finding::new(
                    Rule::ScanProblem,
                    Severity::Low,
                    p.reason.clone(),
                    scan_problem_remedy(p.kind),
                )
            },
            Evidence {
                page: Some(p.url.clone()),
                note: p.reason.clone(),
                ..Evidence::default()
            },
        );
    }
}

fn scan_problem_remedy(kind: crate::page::ProblemKind) -> String {
    use crate::page::ProblemKind::*;
    match kind {
        Timeout | Network => "Check that the page answers quickly; rescan when it does.",
        BodyTooLarge | DecompressionBomb => "Make the page smaller, or raise --max-body if it is legitimate.",
        TooManyRedirects => "Fix the redirect chain (loop or too long).",
        HttpStatus => "Fix or remove links to pages that fail.",
        ParseLimit => "Simplify the page's markup (it exceeded parser limits).",
        Deadline => "Raise --deadline or --max-pages to scan the rest of the site.",
        Browser => "Rescan; if it persists the page breaks headless Chromium.",
        Robots => "The site's robots.txt excludes this path; it was not scanned.",
        PrivateAddress => {
            "The scanner connects only to public addresses. Remove links and redirects to internal hosts; an intranet \
             site can be scanned by its operator with --allow-private-targets."
        }
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::{Cookie, Request, Script};
    use crate::pii::CanaryIdentity;

    fn req(url: &str, state: ConsentState) -> Request {
        Request {
            page: "https://shop.example/".into(),
            url: url.into(),
            method: "GET".into(),
            body: None,
            resource_type: "image".into(),
            initiator: Some("https://connect.facebook.net/en_US/fbevents.js".into()),
            state,
            pass: Pass::Browser,
            visit: Some(1),
        }
    }

    fn run(obs: &Observations, declared: &Declared) -> Analysis {
        let kb = KnowledgeBase::builtin();
        let needles = CanaryIdentity::default().needles();
        analyse(
            obs,
            &Context {
                kb: &kb,
                declared,
                cookie_db: None,
                needles: &needles,
                site_host: "shop.example",
            },
        )
    }

    #[test]
    fn meta_pixel_with_hashed_email_before_consent() {
        let em = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            CanaryIdentity::default().email.as_bytes(),
        ));
        let mut obs = Observations::default();
        obs.pages.push(crate::page::PageVisit {
            url: "https://shop.example/".into(),
            depth: 0,
            status: Some(200),
            bytes: 1,
            pass: Pass::Browser,
        });
        obs.requests.push(req(
            &format!("https://www.facebook.com/tr/?id=1234567890&ev=PageView&ud%5Bem%5D={em}"),
            ConsentState::BeforeConsent,
        ));
        obs.cookies.push(Cookie {
            page: "https://shop.example/".into(),
            name: "_fbp".into(),
            domain: "shop.example".into(),
            path: "/".into(),
            lifetime_secs: Some(90 * 86_400),
            third_party: false,
            set_by: SetBy::Script {
                script_url: Some("https://connect.facebook.net/en_US/fbevents.js".into()),
            },
            state: ConsentState::AfterReject,
            pass: Pass::Browser,
            blocked: None,
        });
        let a = run(&obs, &Declared::nothing());
        assert_eq!(a.platforms.len(), 1);
        assert_eq!(a.platforms[0].ids[0].value, "1234567890");
        let rules: Vec<Rule> = a.findings.iter().map(|f| f.rule).collect();
        assert_eq!(a.findings[0].rule, Rule::PersonalDataToPlatform);
        assert_eq!(a.findings[0].severity, Severity::Critical);
        assert!(a.findings[0].evidence[0].params.iter().any(|p| p.key == "ud[em]"));
        for r in [
            Rule::TrackingBeforeConsent,
            Rule::TrackingAfterReject,
            Rule::UndeclaredCookie,
            Rule::UndeclaredService,
            Rule::PlatformPresent,
        ] {
            assert!(rules.contains(&r), "{r:?} missing from {rules:?}");
        }
        let undeclared = a.findings.iter().find(|f| f.rule == Rule::UndeclaredCookie).unwrap();
        assert_eq!(
            undeclared.remedy.split(" (guess").next().unwrap(),
            "Declare cookie `_fbp` under Marketing / Meta Pixel"
        );
    }

    #[test]
    fn declared_and_after_accept_is_quiet() {
        let toml = r#"
languages = ["en"]
[[categories]]
id = "necessary"
required = true
[[categories]]
id = "marketing"
[[services]]
id = "meta"
name = "Meta"
category = "marketing"
hosts = ["*.facebook.com", "connect.facebook.net"]
[[services.cookies]]
name = "_fbp"
"#;
        let d = Declared::parse(toml.as_bytes(), true, "t".into()).unwrap();
        let mut obs = Observations::default();
        obs.requests.push(req(
            "https://www.facebook.com/tr/?id=1234567890&ev=PageView",
            ConsentState::AfterAccept,
        ));
        obs.scripts.push(Script {
            page: "https://shop.example/".into(),
            src: None,
            inline: Some("fbq('init', '1234567890');".into()),
            pass: Pass::Static,
        });
        let a = run(&obs, &d);
        let rules: Vec<Rule> = a.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, vec![Rule::PlatformPresent]);
        assert_eq!(a.platforms[0].declared_as.as_deref(), Some("meta"));
    }

    #[test]
    fn a_url_named_in_inline_code_is_inventory_not_tracking() {
        let mut obs = Observations::default();
        let mut r = req(
            "https://connect.facebook.net/en_US/fbevents.js",
            ConsentState::BeforeConsent,
        );
        r.pass = Pass::Static;
        r.resource_type = "inline-reference".into();
        obs.requests.push(r.clone());
        let a = run(&obs, &Declared::nothing());
        assert!(a.findings.iter().any(|f| f.rule == Rule::PlatformPresent));
        assert!(!a.findings.iter().any(|f| f.rule == Rule::TrackingBeforeConsent));
        // A script tag in the HTML does load before consent.
        r.resource_type = "script".into();
        obs.requests.push(r);
        let a = run(&obs, &Declared::nothing());
        assert!(a.findings.iter().any(|f| f.rule == Rule::TrackingBeforeConsent));
    }

    /// `IDE` on doubleclick.net is set by Google Ads' and Floodlight's
    /// beacons alike: the report puts it down to the product whose beacon
    /// set it, which is the one in the inventory, and the consent finding
    /// names that product.
    #[test]
    fn cookie_attribution_agrees_with_the_inventory() {
        let ide = |response_url: &str| Cookie {
            page: "https://shop.example/".into(),
            name: "IDE".into(),
            domain: "doubleclick.net".into(),
            path: "/".into(),
            lifetime_secs: Some(390 * 86_400),
            third_party: true,
            set_by: SetBy::Http {
                response_url: response_url.into(),
            },
            state: ConsentState::BeforeConsent,
            pass: Pass::Browser,
            blocked: None,
        };
        for (beacon, platform) in [
            (
                "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/987654321/?random=1",
                "google-ads",
            ),
            (
                "https://ad.doubleclick.net/activity;src=7654321;type=sales;cat=buy;ord=1",
                "floodlight",
            ),
        ] {
            let mut obs = Observations::default();
            obs.requests.push(req(beacon, ConsentState::BeforeConsent));
            obs.cookies.push(ide(beacon));
            let a = run(&obs, &Declared::nothing());
            let inventory: Vec<&str> = a.platforms.iter().map(|p| p.id.as_str()).collect();
            assert_eq!(inventory, [platform]);
            let row = a.cookies.iter().find(|c| c.name == "IDE").unwrap();
            assert_eq!(row.classification.as_ref().unwrap().platform.as_deref(), Some(platform));
            for f in a.findings.iter().filter(|f| f.platform.is_some()) {
                assert_eq!(f.platform.as_deref(), Some(platform), "{f:?}");
            }
        }
    }

    #[test]
    fn enhanced_conversions_on_a_country_domain() {
        use base64::Engine;
        let c = CanaryIdentity::default();
        let em = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(
            crate::pii::normalise_email(&c.email).as_bytes(),
        ));
        let mut obs = Observations::default();
        obs.requests.push(req(
            &format!("https://www.google.nl/pagead/1p-conversion/987654321/?label=AbC&em=tv.1~em.{em}"),
            ConsentState::AfterReject,
        ));
        let a = run(&obs, &Declared::nothing());
        let pd = a
            .findings
            .iter()
            .find(|f| f.rule == Rule::PersonalDataToPlatform)
            .expect("personal data");
        assert_eq!(pd.platform.as_deref(), Some("google-ads"));
        assert_eq!(pd.severity, Severity::Critical);
        assert!(pd.title.contains("987654321"), "{}", pd.title);
        assert!(
            a.findings
                .iter()
                .any(|f| f.rule == Rule::TrackingAfterReject && f.platform.as_deref() == Some("google-ads"))
        );
    }

    /// Fingerprinting only after "accept all" is medium (still to be named
    /// in the banner); storage under a required declared key is no finding;
    /// the site's own scripts are never judged.
    #[test]
    fn device_access_severity_and_exemptions() {
        use crate::page::{ActivityKind, ScriptActivity};
        let act = |kind, detail: &str, script: &str, state| ScriptActivity {
            page: "https://shop.example/".into(),
            kind,
            detail: detail.into(),
            script: Some(script.into()),
            state,
        };
        let mut obs = Observations::default();
        let fp = "https://cdn.fp.example/fp.js";
        obs.activity = vec![
            act(
                ActivityKind::Canvas,
                "HTMLCanvasElement.toDataURL",
                fp,
                ConsentState::AfterAccept,
            ),
            act(
                ActivityKind::Canvas,
                "HTMLCanvasElement.toDataURL",
                "https://www.shop.example/app.js",
                ConsentState::BeforeConsent,
            ),
            act(
                ActivityKind::LocalStorage,
                "cart",
                "https://cdn.shop-widgets.example/cart.js",
                ConsentState::BeforeConsent,
            ),
            act(
                ActivityKind::LocalStorage,
                "own",
                "https://shop.example/app.js",
                ConsentState::BeforeConsent,
            ),
            act(ActivityKind::IndexedDb, "x", fp, ConsentState::AfterAccept),
        ];
        let toml = r#"
languages = ["en"]
[[categories]]
id = "necessary"
required = true
[[services]]
id = "cart"
name = "Cart"
category = "necessary"
[[services.cookies]]
name = "cart"
"#;
        let d = Declared::parse(toml.as_bytes(), true, "t".into()).unwrap();
        let a = run(&obs, &d);
        let fp_findings: Vec<&Finding> = a.findings.iter().filter(|f| f.rule == Rule::Fingerprinting).collect();
        assert_eq!(fp_findings.len(), 1);
        assert_eq!(fp_findings[0].severity, Severity::Medium);
        assert!(
            !a.findings.iter().any(|f| f.rule == Rule::StorageWithoutConsent),
            "{:#?}",
            a.findings
        );
        let a = run(&obs, &Declared::nothing());
        let st: Vec<&Finding> = a
            .findings
            .iter()
            .filter(|f| f.rule == Rule::StorageWithoutConsent)
            .collect();
        assert_eq!(st.len(), 1);
        assert!(st[0].title.contains("cdn.shop-widgets.example"));
    }

    #[test]
    fn advanced_matching_in_a_snippet() {
        let mut obs = Observations::default();
        obs.scripts.push(Script {
            page: "https://shop.example/".into(),
            src: None,
            inline: Some("fbq('init', '1234567890', {em: 'jan@shop.example'}); fbq('track','PageView');".into()),
            pass: Pass::Static,
        });
        let a = run(&obs, &Declared::nothing());
        assert!(
            a.findings
                .iter()
                .any(|f| f.rule == Rule::AdvancedMatchingConfigured && f.severity == Severity::High)
        );
    }
}
