//! The scan report: one JSON document with a stable, versioned schema
//! (documented in `scanner/REPORT.md`), rendered also as a self-contained
//! HTML page and as SARIF 2.1.0 for CI pipelines.
//!
//! - `verdict`: the summary at the top, `no-consent-banner`, examples.
//! - `html`: the HTML page.
//!
//! Every report is redacted as it is made ([`consent_core::redact`]): the
//! identities it found appear only as a prefix and their kind.

mod html;
pub mod verdict;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::detect::{Analysis, CookieRow, PiiLeak, PlatformSummary, StorageRow};
use crate::finding::{Finding, Rule, Severity};
use crate::page::{PageVisit, Problem};
pub use verdict::Verdict;

/// Bumped on any incompatible change to the JSON layout.
pub const SCHEMA_VERSION: u32 = 1;
pub const SCHEMA_ID: &str = "keurmerk-scan-report";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannerInfo {
    pub name: String,
    pub version: String,
    pub knowledge_base: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarationInfo {
    pub origin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pages_static: usize,
    pub pages_browser: usize,
    pub platforms: usize,
    pub cookies: usize,
    pub personal_data_requests: usize,
    pub findings: BTreeMap<Severity, usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest: Option<Severity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub schema_version: u32,
    pub scanner: ScannerInfo,
    pub site: String,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
    pub duration_ms: u64,
    pub declaration: DeclarationInfo,
    /// The answers first (absent in reports of older scanners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub platforms: Vec<PlatformSummary>,
    pub cookies: Vec<CookieRow>,
    pub storage: Vec<StorageRow>,
    pub personal_data: Vec<PiiLeak>,
    pub pages: Vec<PageVisit>,
    pub problems: Vec<Problem>,
    /// Banners the browser pass operated: (page, how).
    pub banners: Vec<(String, String)>,
    /// How each page installs the consent loader, from its HTML (absent in
    /// reports of scanners before it was added).
    #[serde(default)]
    pub installation: Vec<crate::install::InstallCheck>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        site: &str,
        kb_version: &str,
        declaration: DeclarationInfo,
        started_at: u64,
        duration_ms: u64,
        pages: Vec<PageVisit>,
        problems: Vec<Problem>,
        banners: Vec<(String, String)>,
        mut a: Analysis,
    ) -> Self {
        verdict::complete(&mut a, &banners);
        let verdict = verdict::verdict(&a, &banners);
        let mut findings = BTreeMap::new();
        for f in &a.findings {
            *findings.entry(f.severity).or_insert(0) += 1;
        }
        let summary = Summary {
            pages_static: pages.iter().filter(|p| p.pass == crate::page::Pass::Static).count(),
            pages_browser: pages.iter().filter(|p| p.pass == crate::page::Pass::Browser).count(),
            platforms: a.platforms.len(),
            cookies: a.cookies.len(),
            personal_data_requests: a.personal_data.len(),
            highest: a.findings.iter().map(|f| f.severity).max(),
            findings,
        };
        let report = Report {
            schema: SCHEMA_ID.into(),
            schema_version: SCHEMA_VERSION,
            scanner: ScannerInfo {
                name: "consent-scan".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                knowledge_base: kb_version.into(),
            },
            site: site.into(),
            started_at,
            duration_ms,
            declaration,
            verdict: Some(verdict),
            summary,
            findings: a.findings,
            platforms: a.platforms,
            cookies: a.cookies,
            storage: a.storage,
            personal_data: a.personal_data,
            pages,
            problems,
            banners,
            installation: Vec::new(),
        };
        report.redacted()
    }

    /// The report with every identity it holds redacted (see
    /// [`consent_core::redact`]); redacting twice changes nothing.
    pub fn redacted(self) -> Self {
        let Ok(mut v) = serde_json::to_value(&self) else {
            return self;
        };
        consent_core::redact::report(&mut v);
        serde_json::from_value(v).unwrap_or(self)
    }

    /// Whether any finding is at or above the given severity.
    pub fn fails(&self, at: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= at)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    pub fn to_sarif(&self) -> String {
        let rules: Vec<serde_json::Value> = Rule::ALL
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id(),
                    "shortDescription": {"text": r.description()},
                })
            })
            .collect();
        let results: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| {
                let level = match f.severity {
                    Severity::Critical | Severity::High => "error",
                    Severity::Medium => "warning",
                    Severity::Low | Severity::Info => "note",
                };
                let uri = f
                    .evidence
                    .iter()
                    .find_map(|e| e.page.clone())
                    .unwrap_or_else(|| self.site.clone());
                let mut result = serde_json::json!({
                    "ruleId": f.rule.id(),
                    "ruleIndex": Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0),
                    "level": level,
                    "message": {"text": format!("{} — {}", f.title, f.remedy)},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                    "properties": {"severity": f.severity.label(), "platform": f.platform, "evidence": f.evidence},
                });
                // SARIF 2.1.0 §3.27.17: lets CI match a result across runs.
                if !f.fingerprint.is_empty() {
                    result["partialFingerprints"] = serde_json::json!({"keurmerkFinding/v1": f.fingerprint});
                }
                result
            })
            .collect();
        let sarif = serde_json::json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "consent-scan",
                    "version": self.scanner.version,
                    "semanticVersion": self.scanner.version,
                    "rules": rules,
                }},
                "properties": {"site": self.site, "knowledgeBase": self.scanner.knowledge_base},
                "results": results,
            }],
        });
        serde_json::to_string_pretty(&sarif).expect("sarif serialises")
    }

    /// A single HTML file with inline CSS and no scripts; every value from
    /// the scanned site is escaped.
    pub fn to_html(&self) -> String {
        html::page(self)
    }
}

/// Escapes text for HTML element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Evidence;

    fn report() -> Report {
        let mut f = Finding::new(
            Rule::UndeclaredCookie,
            Severity::High,
            "<script>alert(1)</script>",
            "declare \"x\"",
        );
        f.add(Evidence {
            page: Some("https://s.example/?q=<svg onload=x>".into()),
            ..Evidence::default()
        });
        let a = Analysis {
            findings: vec![f],
            storage: vec![StorageRow {
                origin: "https://s.example".into(),
                area: "localStorage".into(),
                key: "<img src=x onerror=alert(2)>".into(),
                states: Default::default(),
                declared: None,
                classification: None,
            }],
            ..Analysis::default()
        };
        Report::new(
            "https://s.example/",
            "1",
            DeclarationInfo {
                origin: "none".into(),
                version: None,
            },
            0,
            10,
            Vec::new(),
            Vec::new(),
            Vec::new(),
            a,
        )
    }

    #[test]
    fn html_escapes_everything_from_the_site() {
        let h = report().to_html();
        assert!(!h.contains("<script>"));
        assert!(!h.contains("<svg"));
        assert!(!h.contains("<img"));
        assert!(h.contains("&lt;img src=x onerror=alert(2)&gt;"));
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    mod grouped {
        use base64::Engine;
        use sha2::{Digest, Sha256};

        use super::super::*;
        use crate::declared::Declared;
        use crate::detect::{Context, analyse};
        use crate::page::{ConsentState, Cookie, Observations, Pass, Request, Script, SetBy};
        use crate::pii::{CanaryIdentity, normalise_email};
        use crate::signature::KnowledgeBase;

        fn req(page: &str, url: &str, state: ConsentState) -> Request {
            Request {
                page: page.into(),
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

        /// A scan like the one the issue describes: the Meta pixel on
        /// three pages in two states, nine requests each with another
        /// cache-buster and the canary's hashed e-mail; advanced matching
        /// with a customer's address in a snippet; a base64-wrapped JSON
        /// with the canary's phone; no banner on one page. `salt` changes
        /// every request's noise, as a second scan of the same site would.
        fn scan(salt: &str) -> Report {
            let c = CanaryIdentity::default();
            let em = hex::encode(Sha256::digest(normalise_email(&c.email).as_bytes()));
            let wrapped = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
                r#"{{"user":{{"ph":"{}"}}}}"#,
                crate::pii::normalise_phone(&c.phone)
            ));
            let mut obs = Observations::default();
            for (i, page) in [
                "https://shop.example/",
                "https://shop.example/a",
                "https://shop.example/b",
            ]
            .iter()
            .enumerate()
            {
                for state in [
                    ConsentState::BeforeConsent,
                    ConsentState::AfterReject,
                    ConsentState::BeforeConsent,
                ] {
                    obs.requests.push(req(
                        page,
                        &format!(
                            "https://www.facebook.com/tr/?id=1234567890&ev=PageView&dl={page}&rl=&if=false&ts=17000{salt}{i}&cd%5Bv%5D={}&ud%5Bem%5D={em}&sw=1280&sh=800&v=2.9.1&r=stable&o=4126&fbp=fb.1.17000.{salt}&it=17000",
                            "x".repeat(200)
                        ),
                        state,
                    ));
                }
            }
            obs.requests.push(req(
                "https://shop.example/",
                &format!("https://analytics.tiktok.com/api/v2/pixel?sdkid=C123ABC&d={wrapped}"),
                ConsentState::AfterAccept,
            ));
            obs.scripts.push(Script {
                page: "https://shop.example/".into(),
                src: None,
                inline: Some("fbq('init', '1234567890', {em: 'jan.klant@shop.example'});".into()),
                pass: Pass::Static,
            });
            obs.cookies.push(Cookie {
                page: "https://shop.example/".into(),
                name: "_fbp".into(),
                domain: "shop.example".into(),
                path: "/".into(),
                lifetime_secs: Some(90 * 86_400 - 5),
                third_party: false,
                set_by: SetBy::Script { script_url: None },
                state: ConsentState::BeforeConsent,
                pass: Pass::Browser,
                blocked: None,
            });
            let kb = KnowledgeBase::builtin();
            let needles = c.needles();
            let declared = Declared::nothing();
            let a = analyse(
                &obs,
                &Context {
                    kb: &kb,
                    declared: &declared,
                    cookie_db: None,
                    needles: &needles,
                    site_host: "shop.example",
                },
            );
            let banners = vec![
                (
                    "https://shop.example/".to_owned(),
                    "reject all: button \"Weigeren\"".to_owned(),
                ),
                (
                    "https://shop.example/a".to_owned(),
                    "no consent banner found (reject all)".to_owned(),
                ),
            ];
            let info = DeclarationInfo {
                origin: "none".into(),
                version: None,
            };
            Report::new(
                "https://shop.example/",
                "1",
                info,
                0,
                1,
                Vec::new(),
                Vec::new(),
                banners,
                a,
            )
        }

        #[test]
        fn one_finding_per_platform_and_problem_with_states_pages_and_an_example() {
            let r = scan("1");
            let pd: Vec<&Finding> = r
                .findings
                .iter()
                .filter(|f| f.rule == Rule::PersonalDataToPlatform)
                .collect();
            let meta = pd
                .iter()
                .find(|f| f.platform.as_deref() == Some("meta-pixel"))
                .expect("meta");
            assert_eq!(
                pd.iter()
                    .filter(|f| f.platform.as_deref() == Some("meta-pixel"))
                    .count(),
                1
            );
            assert_eq!(meta.platform_name.as_deref(), Some("Meta Pixel"));
            assert_eq!(meta.count, 9);
            assert_eq!(meta.pages.len(), 3);
            assert_eq!(
                meta.states.iter().copied().collect::<Vec<_>>(),
                [ConsentState::BeforeConsent, ConsentState::AfterReject]
            );
            let ex = meta.example.as_ref().expect("example");
            let param = |k: &str| ex.params.iter().find(|p| p.key == k).map(|p| p.value.as_str());
            assert_eq!(param("id"), Some("1234567890"));
            assert_eq!(param("ev"), Some("PageView"));
            assert_eq!(
                param("ud[em]").map(|v| v.ends_with("… (SHA-256 of an e-mail address)")),
                Some(true)
            );
            // Tracking is one finding per platform and state rule.
            let before = r
                .findings
                .iter()
                .filter(|f| f.rule == Rule::TrackingBeforeConsent && f.platform.as_deref() == Some("meta-pixel"));
            assert_eq!(before.count(), 1);
            // Cookie lifetimes in days.
            assert_eq!(r.cookies[0].lifetime_days, Some(90));
            let v = r.verdict.as_ref().expect("verdict");
            assert_eq!(v.banner, verdict::Banner::Partly);
            assert_eq!(v.pages_without_banner, ["https://shop.example/a"]);
            assert!(v.before_consent.contains(&"Meta Pixel".to_owned()), "{v:?}");
            assert!(v.after_reject.contains(&"Meta Pixel".to_owned()), "{v:?}");
            let to_meta = v
                .personal_data
                .iter()
                .find(|p| p.to == "Meta Pixel")
                .expect("personal data to Meta");
            assert!(
                to_meta.kinds.contains("SHA-256 of an e-mail address") && to_meta.canary,
                "{to_meta:?}"
            );
            assert!(v.undeclared.cookies.contains(&"_fbp".to_owned()));
            assert!(
                v.headline.starts_with("No consent banner was found on 1 page; "),
                "{}",
                v.headline
            );
            let nb = r
                .findings
                .iter()
                .find(|f| f.rule == Rule::NoConsentBanner)
                .expect("no-consent-banner");
            assert_eq!(nb.severity, Severity::High);
            assert!(nb.remedy.contains("Meta Pixel"), "{}", nb.remedy);
            assert_eq!(r.summary.findings.values().sum::<usize>(), r.findings.len());
        }

        #[test]
        fn fingerprints_are_stable_across_scans_and_unique_within_one() {
            let (a, b) = (scan("1"), scan("2"));
            let fps = |r: &Report| {
                r.findings
                    .iter()
                    .map(|f| (f.fingerprint.clone(), f.rule, f.platform.clone()))
                    .collect::<Vec<_>>()
            };
            assert_ne!(
                a.findings[0].evidence, b.findings[0].evidence,
                "the scans differ in evidence"
            );
            assert_eq!(fps(&a), fps(&b));
            let mut unique: Vec<&str> = a.findings.iter().map(|f| f.fingerprint.as_str()).collect();
            assert!(unique.iter().all(|f| f.len() == 16), "{unique:?}");
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), a.findings.len());
        }

        #[test]
        fn no_identity_appears_in_json_html_sarif_or_remedies() {
            let r = scan("1");
            let outputs = [r.to_json(), r.to_html(), r.to_sarif()];
            let c = CanaryIdentity::default();
            let mut secrets: Vec<String> = c
                .needles()
                .into_iter()
                .map(|n| n.value)
                .filter(|v| v.len() >= 6)
                .collect();
            secrets.push("jan.klant@shop.example".into());
            secrets.push("jan.klant%40shop.example".into());
            for out in &outputs {
                let lower = out.to_lowercase();
                for s in &secrets {
                    assert!(!lower.contains(&s.to_lowercase()), "{s} in output");
                }
            }
            for f in &r.findings {
                assert!(!f.remedy.contains('@') && !f.title.contains('@'), "{f:?}");
            }
            assert!(outputs[1].contains("… (SHA-256 of an e-mail address)"));
            assert!(outputs[0].contains("ja… (an e-mail address)"), "the snippet's address");
            // The TikTok request's wrapper parameter, which held the phone.
            assert!(
                outputs[0].contains("sdkid=C123ABC&d=[ey… (a phone number)]"),
                "{}",
                outputs[0]
            );
            // Redacting again changes nothing.
            assert_eq!(r.clone().redacted(), r);
        }

        #[test]
        fn html_leads_with_the_verdict_and_fits_narrow_screens() {
            let h = scan("1").to_html();
            let verdict_at = h.find("<h2 id=\"verdict\">").expect("verdict");
            assert!(verdict_at < h.find("<h2 id=\"findings\">").expect("findings"));
            assert!(h.contains("<th scope=\"col\">Before consent</th><th scope=\"col\">After reject</th><th scope=\"col\">After accept</th>"), "{h}");
            assert!(h.contains("role=\"region\" tabindex=\"0\" aria-labelledby=\"findings-table\""));
            assert!(h.contains("<details><summary>Raw evidence"));
            assert!(h.contains("<details><summary>The request as sent</summary>"));
            assert!(!h.contains("<script"));
            // Each row links to its finding by fingerprint.
            let r = scan("1");
            let fp = &r.findings[0].fingerprint;
            assert!(h.contains(&format!("href=\"#finding-{fp}\"")) && h.contains(&format!("id=\"finding-{fp}\"")));
            assert!(
                h.contains("<td>90 days</td>") || h.contains(">90 days<"),
                "cookie lifetime in days"
            );
        }
    }

    #[test]
    fn old_reports_still_parse() {
        let old = serde_json::json!({
            "schema": SCHEMA_ID, "schema_version": 1,
            "scanner": {"name": "consent-scan", "version": "0.1.0", "knowledge_base": "1"},
            "site": "https://s.example/", "started_at": 0, "duration_ms": 1,
            "declaration": {"origin": "none"}, "summary": {"pages_static": 0, "pages_browser": 0, "platforms": 0,
                "cookies": 1, "personal_data_requests": 0, "findings": {}},
            "findings": [{"rule": "undeclared-cookie", "severity": "medium", "title": "t", "remedy": "r",
                "evidence": [{"cookie": "_fbp"}], "evidence_total": 1}],
            "platforms": [], "storage": [], "personal_data": [], "pages": [], "problems": [], "banners": [],
            "cookies": [{"name": "_fbp", "domain": "s.example", "third_party": false, "lifetime_secs": 7776000,
                "set_by": [], "states": [], "pages": []}],
        });
        let r: Report = serde_json::from_value(old).unwrap();
        assert!(r.verdict.is_none() && r.findings[0].fingerprint.is_empty() && r.findings[0].example.is_none());
        assert!(r.to_html().contains("90 days"));
    }

    #[test]
    fn json_round_trips_and_sarif_is_2_1_0() {
        let r = report();
        let back: Report = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.schema_version, SCHEMA_VERSION);
        let s: serde_json::Value = serde_json::from_str(&r.to_sarif()).unwrap();
        assert_eq!(s["version"], "2.1.0");
        assert_eq!(s["runs"][0]["results"][0]["ruleId"], "undeclared-cookie");
        assert_eq!(s["runs"][0]["results"][0]["level"], "error");
        assert!(r.fails(Severity::High));
        assert!(!r.fails(Severity::Critical));
    }
}
