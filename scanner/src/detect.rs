//! The detectors: read what the passes observed, apply the knowledge base
//! and the site's declaration, and produce the inventory and the findings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cookie::{Classification, CookieDb, classify};
use crate::declared::Declared;
use crate::finding::{Evidence, Finding, Rule, Severity};
use crate::page::{ConsentState, Observations, Pass, SetBy, same_site};
use crate::pii::{Needle, Param, PiiHit, decode_params, scan_request};
use crate::signature::{AccountId, IdSource, Kind, KnowledgeBase, Platform};

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
/// finding with evidence, not 500 findings.
#[derive(Default)]
struct Findings(BTreeMap<(Rule, String), Finding>);

impl Findings {
    fn add(&mut self, key: (Rule, String), make: impl FnOnce() -> Finding, e: Evidence) {
        self.0.entry(key).or_insert_with(make).add(e);
    }
}

const MAX_PAGES_PER_ROW: usize = 20;

fn cap_insert(set: &mut BTreeSet<String>, v: &str) {
    if set.len() < MAX_PAGES_PER_ROW {
        set.insert(v.to_owned());
    }
}

/// Keeps the parameters worth showing: ids, event names and anything
/// carrying personal data; drops long noise.
fn relevant_params(params: &[Param], hits: &[PiiHit]) -> Vec<Param> {
    const USEFUL: [&str; 12] = [
        "id", "ev", "tid", "event", "pid", "txn_id", "ti", "sdkid", "a", "idsite", "src", "label",
    ];
    params
        .iter()
        .filter(|p| USEFUL.contains(&p.key.as_str()) || hits.iter().any(|h| h.param == p.key))
        .take(20)
        .cloned()
        .collect()
}

fn ids_text(ids: &[AccountId]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let list: Vec<String> = ids.iter().map(|i| format!("{} {}", i.label, i.value)).collect();
    format!(" ({})", list.join(", "))
}

pub fn analyse(obs: &Observations, cx: &Context<'_>) -> Analysis {
    let mut findings = Findings::default();
    let mut platforms: BTreeMap<String, PlatformSummary> = BTreeMap::new();
    let mut leaks = Vec::new();
    let browser_ran = obs.pages.iter().any(|p| p.pass == Pass::Browser);

    let summary = |platforms: &mut BTreeMap<String, PlatformSummary>, p: &Platform| {
        platforms.entry(p.id.clone()).or_insert_with(|| PlatformSummary {
            id: p.id.clone(),
            name: p.name.clone(),
            vendor: p.vendor.clone(),
            kind: p.kind,
            category: p.category.clone(),
            retargeting: p.retargeting,
            ids: Vec::new(),
            hosts: BTreeSet::new(),
            pages: BTreeSet::new(),
            states: BTreeSet::new(),
            requests: 0,
            seen_in_visits: 0,
            of_visits: obs.browser_visits,
            declared_as: None,
        });
    };

    let mut visits: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    // Requests: platforms, ids, personal data, tracking before consent.
    for r in &obs.requests {
        let Ok(url) = url::Url::parse(&r.url) else { continue };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let matches = cx.kb.match_url(&url);
        let mut body_ids = Vec::new();
        for m in &matches {
            if let Some(b) = &r.body {
                body_ids = m.platform.extract_ids(IdSource::Body, b);
            }
            summary(&mut platforms, m.platform);
            let s = platforms.get_mut(&m.platform.id).expect("inserted");
            for id in m.ids.iter().chain(&body_ids) {
                if !s.ids.contains(id) {
                    s.ids.push(id.clone());
                }
            }
            s.hosts.insert(host.clone());
            cap_insert(&mut s.pages, &r.page);
            s.states.insert(r.state);
            s.requests += 1;
            if let Some(v) = r.visit {
                visits.entry(m.platform.id.clone()).or_default().insert(v);
            }
        }
        let third_party = !same_site(&host, cx.site_host);
        let platform = matches.first().map(|m| m.platform);
        if platform.is_none() && !third_party {
            continue;
        }
        let params = decode_params(&url, r.body.as_deref());
        let hits = scan_request(platform, &params, &r.url, r.body.as_deref(), cx.needles);
        if !hits.is_empty() {
            let shown = relevant_params(&params, &hits);
            leaks.push(PiiLeak {
                platform: platform.map(|p| p.id.clone()),
                host: host.clone(),
                page: r.page.clone(),
                state: r.state,
                url: r.url.chars().take(2000).collect(),
                params: shown.clone(),
                hits: hits.clone(),
            });
            let (subject, name, severity) = match platform {
                Some(p) if p.kind == Kind::Advertising => (p.id.clone(), p.name.clone(), Severity::Critical),
                Some(p) => (p.id.clone(), p.name.clone(), Severity::High),
                None => (host.clone(), host.clone(), Severity::High),
            };
            let fields: BTreeSet<String> = hits.iter().map(|h| format!("{} ({})", h.field, h.encoding)).collect();
            let ids = platform
                .map(|p| ids_text(&p.extract_ids(IdSource::Url, &crate::signature::decode_for_matching(&r.url))))
                .unwrap_or_default();
            let title = format!(
                "Personal data sent to {name}{ids}: {}",
                fields.into_iter().collect::<Vec<_>>().join(", ")
            );
            findings.add(
                (Rule::PersonalDataToPlatform, subject),
                || {
                    let mut f = Finding::new(
                        Rule::PersonalDataToPlatform,
                        severity,
                        title,
                        format!(
                            "Stop sending customer data to {name}: turn off advanced matching / enhanced conversions / \
                             auto-collected form fields in its tag, or get explicit consent for it and mention it in \
                             the privacy notice; block the tag until marketing consent."
                        ),
                    );
                    f.platform = platform.map(|p| p.id.clone());
                    f
                },
                Evidence {
                    page: Some(r.page.clone()),
                    state: Some(r.state),
                    request: Some(r.url.chars().take(2000).collect()),
                    params: shown,
                    personal_data: hits,
                    script: r.initiator.clone(),
                    ..Evidence::default()
                },
            );
        }
        // Tracking before consent / after reject.
        // Without a browser pass, what the HTML loads outright counts; a URL
        // merely named in inline code might wait for consent, so it does not.
        let static_only_loaded = r.pass == Pass::Static && !browser_ran && r.resource_type != "inline-reference";
        if let Some(p) = platform.filter(|p| p.kind.tracks())
            && (r.pass == Pass::Browser || static_only_loaded)
            && r.state != ConsentState::AfterAccept
        {
            tracking_finding(
                &mut findings,
                cx,
                p.id.clone(),
                &p.name,
                &p.category,
                r.state,
                Evidence {
                    page: Some(r.page.clone()),
                    state: Some(r.state),
                    request: Some(r.url.chars().take(2000).collect()),
                    script: r.initiator.clone(),
                    note: if r.pass == Pass::Static {
                        "loaded by the page's HTML (static pass)".into()
                    } else {
                        String::new()
                    },
                    ..Evidence::default()
                },
            );
        }
    }

    // Inline scripts: ids and advanced-matching configuration.
    for s in &obs.scripts {
        let Some(text) = &s.inline else { continue };
        for p in &cx.kb.platforms {
            let ids = p.extract_ids(IdSource::Inline, text);
            if !ids.is_empty() {
                summary(&mut platforms, p);
                let sum = platforms.get_mut(&p.id).expect("inserted");
                for id in ids {
                    if !sum.ids.contains(&id) {
                        sum.ids.push(id);
                    }
                }
                cap_insert(&mut sum.pages, &s.page);
            }
            for ip in &p.inline_pii {
                if let Some(m) = ip.regex.find(text) {
                    let start = floor(text, m.start().saturating_sub(40));
                    let end = floor(text, (m.end() + 80).min(text.len()));
                    findings.add(
                        (Rule::AdvancedMatchingConfigured, p.id.clone()),
                        || {
                            Finding::new(
                                Rule::AdvancedMatchingConfigured,
                                Severity::High,
                                format!("{} is configured to receive customer data ({})", p.name, ip.field),
                                format!(
                                    "Remove the customer data from the {} snippet, or load it only after marketing \
                                     consent that names this sharing (source: {}).",
                                    p.name,
                                    p.cite(&ip.source)
                                ),
                            )
                            .with_platform(&p.id)
                        },
                        Evidence {
                            page: Some(s.page.clone()),
                            script: Some(text[start..end].to_owned()),
                            ..Evidence::default()
                        },
                    );
                }
            }
        }
    }

    // Cookies: one row per name + domain.
    let mut rows: BTreeMap<(String, String), CookieRow> = BTreeMap::new();
    for c in &obs.cookies {
        let row = rows
            .entry((c.name.clone(), c.domain.clone()))
            .or_insert_with(|| CookieRow {
                name: c.name.clone(),
                domain: c.domain.clone(),
                third_party: c.third_party,
                lifetime_secs: c.lifetime_secs,
                set_by: Vec::new(),
                states: BTreeSet::new(),
                pages: BTreeSet::new(),
                declared: cx.declared.cookie(&c.name, &c.domain).map(|(s, _)| DeclaredAs {
                    service: s.id.clone(),
                    category: s.category.clone(),
                }),
                classification: classify(cx.kb, cx.cookie_db, &c.name, &c.domain),
                blocked: c.blocked.clone(),
            });
        row.lifetime_secs = match (row.lifetime_secs, c.lifetime_secs) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if row.set_by.len() < 3 && !row.set_by.contains(&c.set_by) {
            row.set_by.push(c.set_by.clone());
        }
        if c.blocked.is_none() {
            row.blocked = None;
        }
        row.states.insert(c.state);
        cap_insert(&mut row.pages, &c.page);
    }
    for row in rows.values() {
        let category = row
            .declared
            .as_ref()
            .map(|d| d.category.clone())
            .or_else(|| row.classification.as_ref().map(|c| c.category.clone()));
        let platform_name = row
            .classification
            .as_ref()
            .and_then(|c| c.platform.as_deref())
            .map(|id| {
                cx.kb
                    .platform(id)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| id.to_owned())
            });
        let setter = row.set_by.first().map(|s| match s {
            SetBy::Http { response_url } => format!("Set-Cookie from {response_url}"),
            SetBy::Script { script_url } => format!("script {}", script_url.as_deref().unwrap_or("(inline)")),
        });
        let evidence = || Evidence {
            page: row.pages.iter().next().cloned(),
            cookie: Some(format!("{} on {}", row.name, row.domain)),
            script: setter.clone(),
            note: row
                .blocked
                .as_ref()
                .map(|b| format!("blocked by the browser: {b}"))
                .unwrap_or_default(),
            ..Evidence::default()
        };
        if row.declared.is_none() {
            let remedy = match (&category, &platform_name) {
                (Some(cat), Some(p)) => format!(
                    "Declare cookie `{}` under {} / {} (guess from {}).",
                    row.name,
                    cx.declared.category_title(cat),
                    p,
                    row.classification
                        .as_ref()
                        .map(|c| c.source.as_str())
                        .unwrap_or("knowledge base")
                ),
                _ => format!(
                    "Find out what cookie `{}` is for ({}) and declare it under the right category.",
                    row.name,
                    setter.as_deref().unwrap_or("setter unknown")
                ),
            };
            findings.add(
                (Rule::UndeclaredCookie, format!("{}@{}", row.name, row.domain)),
                || {
                    let mut f = Finding::new(
                        Rule::UndeclaredCookie,
                        Severity::Medium,
                        format!("Undeclared cookie `{}` ({})", row.name, row.domain),
                        remedy,
                    );
                    f.platform = row.classification.as_ref().and_then(|c| c.platform.clone());
                    f
                },
                evidence(),
            );
        }
        // A known non-necessary cookie set before the choice or after a refusal.
        if let Some(cat) = &category
            && !cx.declared.is_required(cat)
            && cat != "necessary"
        {
            for state in row.states.iter().filter(|s| **s != ConsentState::AfterAccept) {
                let subject = row
                    .classification
                    .as_ref()
                    .and_then(|c| c.platform.clone())
                    .unwrap_or_else(|| row.name.clone());
                let name = platform_name.clone().unwrap_or_else(|| format!("cookie {}", row.name));
                let mut e = evidence();
                e.state = Some(*state);
                tracking_finding(&mut findings, cx, subject, &name, cat, *state, e);
            }
        }
        // Lives longer than declared.
        if let (Some(life), Some(decl)) = (row.lifetime_secs, &row.declared)
            && let Some((_, cd)) = cx.declared.cookie(&row.name, &row.domain)
            && let Some(days) = cd.retention_days
            && life > i64::from(days) * 86_400 * 11 / 10 + 86_400
        {
            findings.add(
                (Rule::CookieLifetime, format!("{}@{}", row.name, row.domain)),
                || {
                    Finding::new(
                        Rule::CookieLifetime,
                        Severity::Low,
                        format!(
                            "Cookie `{}` lives {} days, declared {} days (service {})",
                            row.name,
                            life / 86_400,
                            days,
                            decl.service
                        ),
                        format!(
                            "Correct the declared retention of `{}` to {} days, or shorten the cookie's lifetime.",
                            row.name,
                            life / 86_400
                        ),
                    )
                },
                evidence(),
            );
        }
    }

    // Storage keys.
    let mut storage: BTreeMap<(String, String, String), StorageRow> = BTreeMap::new();
    for s in &obs.storage {
        let host = url::Url::parse(&s.origin)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let row = storage
            .entry((s.origin.clone(), s.area.clone(), s.key.clone()))
            .or_insert_with(|| StorageRow {
                origin: s.origin.clone(),
                area: s.area.clone(),
                key: s.key.clone(),
                states: BTreeSet::new(),
                declared: cx.declared.cookie(&s.key, &host).map(|(sv, _)| DeclaredAs {
                    service: sv.id.clone(),
                    category: sv.category.clone(),
                }),
                classification: classify(cx.kb, cx.cookie_db, &s.key, &host),
            });
        row.states.insert(s.state);
        if row.declared.is_none() {
            findings.add(
                (Rule::UndeclaredStorage, format!("{}@{}", s.key, s.origin)),
                || {
                    Finding::new(
                        Rule::UndeclaredStorage,
                        Severity::Low,
                        format!("Undeclared {} key `{}` ({})", s.area, s.key, s.origin),
                        format!(
                            "Declare storage key `{}` like a cookie, under the category of the script that writes it.",
                            s.key
                        ),
                    )
                },
                Evidence {
                    page: Some(s.page.clone()),
                    state: Some(s.state),
                    cookie: Some(format!("{} {}", s.area, s.key)),
                    ..Evidence::default()
                },
            );
        }
    }

    // Inventory and undeclared services.
    for s in platforms.values_mut() {
        s.seen_in_visits = visits.get(&s.id).map_or(0, |v| v.len() as u32);
        let declared: Vec<&str> = s
            .hosts
            .iter()
            .filter_map(|h| cx.declared.host(h).map(|sv| sv.id.as_str()))
            .collect();
        s.declared_as = declared.first().map(|d| (*d).to_owned());
        let undeclared: Vec<&String> = s.hosts.iter().filter(|h| cx.declared.host(h).is_none()).collect();
        let e = Evidence {
            page: s.pages.iter().next().cloned(),
            note: format!("hosts: {}", s.hosts.iter().cloned().collect::<Vec<_>>().join(", ")),
            ..Evidence::default()
        };
        findings.add(
            (Rule::PlatformPresent, s.id.clone()),
            || {
                Finding::new(
                    Rule::PlatformPresent,
                    Severity::Info,
                    format!("{}{} is present", s.name, ids_text(&s.ids)),
                    "Check that this tag is wanted and covered by the banner.",
                )
                .with_platform(&s.id)
            },
            e.clone(),
        );
        if !undeclared.is_empty() {
            let hosts: Vec<String> = undeclared.iter().map(|h| h.to_string()).collect();
            let sev = if s.kind.tracks() {
                Severity::Medium
            } else {
                Severity::Low
            };
            findings.add(
                (Rule::UndeclaredService, s.id.clone()),
                || {
                    Finding::new(
                        Rule::UndeclaredService,
                        sev,
                        format!("{}{} is not declared", s.name, ids_text(&s.ids)),
                        format!(
                            "Declare service `{}` under {} with hosts {} so the banner names it and blocks it until \
                             consent.",
                            s.name,
                            cx.declared.category_title(&s.category),
                            hosts.join(", ")
                        ),
                    )
                    .with_platform(&s.id)
                },
                e,
            );
        }
    }

    for p in &obs.problems {
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

    let mut findings: Vec<Finding> = findings.0.into_values().collect();
    // Most severe first; ties in rule order, then title, so output is stable.
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(&b.rule))
            .then(a.title.cmp(&b.title))
    });
    Analysis {
        platforms: platforms.into_values().collect(),
        cookies: rows.into_values().collect(),
        storage: storage.into_values().collect(),
        personal_data: leaks,
        findings,
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
    }
    .to_owned()
}

fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn tracking_finding(
    findings: &mut Findings,
    cx: &Context<'_>,
    subject: String,
    name: &str,
    category: &str,
    state: ConsentState,
    e: Evidence,
) {
    let rule = match state {
        ConsentState::BeforeConsent => Rule::TrackingBeforeConsent,
        _ => Rule::TrackingAfterReject,
    };
    let title = format!("{name} tracks {}", state.label());
    let remedy = format!(
        "Block {name} until the visitor accepts {} (declare its hosts under that category so Keurmerk's blocker holds \
         it back), and make sure it does not run after \"reject all\".",
        cx.declared.category_title(category)
    );
    let platform = cx.kb.platform(&subject).map(|p| p.id.clone());
    findings.add(
        (rule, subject),
        || {
            let mut f = Finding::new(rule, Severity::High, title, remedy);
            f.platform = platform;
            f
        },
        e,
    );
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
consent_mode = {}
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
