//! `consent-scan check`: one scan of a deploy judged against the site's
//! published configuration, for CI. A regression is a finding of a rule in
//! [`CHECKED_RULES`] that neither `--allow` nor `--baseline` accepts; the
//! verdict is rendered as a summary (one line per regression), JUnit XML
//! and SARIF 2.1.0 in which exactly the regressions are `error`s.
//!
//! Each thing judged has a stable key, `rule|subject`: the finding's rule
//! and its platform (knowledge-base id) when it names one, else what it is
//! about (the cookie or storage key from its evidence, else the finding's
//! own fingerprint, else its title), with the scanned site's origin and host
//! written `{site}` so that a baseline taken on production applies to a
//! preview URL. Findings with one key are
//! judged together.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::declared::{Declared, DeclaredError};
use crate::finding::{Finding, Rule, Severity};
use crate::page::{ConsentState, Pass};
use crate::report::Report;

/// Not a finding rule of the report: the report's `installation` section,
/// the consent loader missing, misplaced (not the first script, in `<head>`,
/// synchronous) or tracker tags written as plain tags the preload scanner
/// fetches.
pub const LOADER_RULE: &str = "loader-installation";

/// The rules `check` judges, in the order it reports them (ids are matched
/// as text). `no-consent-banner`: the browser pass found no banner to
/// accept or reject with on a page, so the reject path went untested there.
pub const CHECKED_RULES: [&str; 10] = [
    "tracking-before-consent",
    "tracking-after-reject",
    "tracking-despite-gpc",
    "fingerprinting",
    "storage-without-consent",
    "undeclared-service",
    "undeclared-cookie",
    "undeclared-storage",
    "no-consent-banner",
    LOADER_RULE,
];

/// What `check` cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("--allow {0}: no such rule (one of: {list})", list = known_rules().join(", "))]
    UnknownRule(String),
    #[error("the baseline {origin} is not a consent-scan JSON report: {message}")]
    Baseline { origin: String, message: String },
    #[error(transparent)]
    Declaration(#[from] DeclaredError),
    /// The scan ran but cannot be judged (the site was not reached, the
    /// browser pass did not run).
    #[error("{0}")]
    NotRun(String),
}

fn known_rules() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Rule::ALL.iter().map(|r| r.id()).collect();
    v.push(LOADER_RULE);
    v
}

/// The `--config` argument: an `http(s)://` URL (the consent server's
/// `…/api/v1/sites/{site}/config`) or a file (JSON or TOML).
pub async fn declaration(spec: &str, client: &reqwest::Client) -> Result<Declared, DeclaredError> {
    if spec.starts_with("http://") || spec.starts_with("https://") {
        Declared::fetch_url(client, spec).await
    } else {
        Declared::from_file(std::path::Path::new(spec))
    }
}

/// Why a finding is not a regression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Its rule was named with `--allow`.
    Allowed,
    /// Its key is in the `--baseline` report.
    Baseline,
}

impl Accepted {
    pub fn label(self) -> &'static str {
        match self {
            Accepted::Allowed => "allowed",
            Accepted::Baseline => "baseline",
        }
    }
}

/// What counts as accepted.
#[derive(Clone, Debug, Default)]
pub struct Options {
    allow: BTreeSet<String>,
    baseline: BTreeSet<String>,
}

impl Options {
    /// `allow`: rule ids (any of the report's rules, or
    /// [`LOADER_RULE`]); `baseline`: an earlier report whose keys are accepted.
    pub fn new(allow: &[String], baseline: Option<&Report>) -> Result<Options, CheckError> {
        let known = known_rules();
        for a in allow {
            if !known.contains(&a.as_str()) {
                return Err(CheckError::UnknownRule(a.clone()));
            }
        }
        Ok(Options {
            allow: allow.iter().cloned().collect(),
            baseline: baseline.map(keys).unwrap_or_default(),
        })
    }
}

/// Reads a baseline report (`--json` of an earlier scan or check).
pub fn read_baseline(json: &[u8], origin: &str) -> Result<Report, CheckError> {
    serde_json::from_slice(json).map_err(|e| CheckError::Baseline {
        origin: origin.to_owned(),
        message: e.to_string(),
    })
}

/// The keys of everything `check` would judge in a report.
pub fn keys(report: &Report) -> BTreeSet<String> {
    items(report).into_iter().map(|i| i.key).collect()
}

/// One thing judged: the findings (or installation problems) of one key.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub rule: String,
    /// `rule|subject`.
    pub key: String,
    pub subject: String,
    pub severity: Severity,
    pub title: String,
    pub platform: Option<String>,
    pub states: BTreeSet<ConsentState>,
    pub remedy: String,
    /// Evidence, one line each (at most [`MAX_LINES`]).
    pub evidence: Vec<String>,
    /// The first page the evidence names.
    pub page: Option<String>,
    /// Indexes into the report's findings (none for [`LOADER_RULE`]).
    pub findings: Vec<usize>,
    pub accepted: Option<Accepted>,
}

/// Evidence lines kept per item.
pub const MAX_LINES: usize = 10;

impl Item {
    /// The platform, else the subject.
    pub fn who(&self) -> &str {
        self.platform.as_deref().unwrap_or(&self.subject)
    }

    pub fn states_label(&self) -> String {
        if self.states.is_empty() {
            return "-".into();
        }
        self.states.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")
    }
}

/// The verdict on one scan.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub site: String,
    /// Regressions first, then accepted items, each in [`CHECKED_RULES`] order.
    pub items: Vec<Item>,
    /// Set when the scan could not be judged (exit 2).
    pub error: Option<String>,
}

impl Outcome {
    pub fn regressions(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.accepted.is_none())
    }

    /// 0: no regression; 1: regressions; 2: could not run.
    pub fn exit_code(&self) -> u8 {
        match (&self.error, self.regressions().next()) {
            (Some(_), _) => 2,
            (None, Some(_)) => 1,
            (None, None) => 0,
        }
    }

    /// A scan that ran but cannot be judged.
    pub fn not_run(site: &str, reason: String) -> Outcome {
        Outcome {
            site: site.to_owned(),
            items: Vec::new(),
            error: Some(reason),
        }
    }

    /// One line per regression (and per accepted item), then the verdict.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.error {
            out.push_str(&format!("{}: could not check: {e}\n", self.site));
            return out;
        }
        for i in &self.items {
            let tag = match i.accepted {
                None => "REGRESSION".to_owned(),
                Some(a) => format!("accepted ({})", a.label()),
            };
            out.push_str(&format!(
                "{tag} {} [{}] {}: {}{}\n",
                i.rule,
                i.states_label(),
                i.who(),
                i.title,
                i.page.as_deref().map(|p| format!(" — {p}")).unwrap_or_default()
            ));
        }
        let n = self.regressions().count();
        let accepted = self.items.len() - n;
        out.push_str(&format!(
            "{}: {} ({accepted} accepted)\n",
            self.site,
            match n {
                0 => "no regression".to_owned(),
                1 => "1 regression".to_owned(),
                n => format!("{n} regressions"),
            }
        ));
        out
    }

    /// JUnit XML: one `<testsuite>` per checked rule (that this scanner
    /// has); one `<testcase>` per
    /// key (classname = rule, name = platform or subject), with a
    /// `<failure>` for a regression and `<skipped>` for an accepted one; a
    /// rule with nothing found has one passing test case. A scan that could
    /// not be judged is one test case with an `<error>`.
    pub fn to_junit(&self, duration_ms: u64) -> String {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        write_junit(&mut w, self, duration_ms).expect("writing XML to memory");
        String::from_utf8(w.into_inner()).expect("the writer writes UTF-8")
    }

    /// The report's SARIF ([`Report::to_sarif`]) with the verdict: level
    /// `error` exactly for regressions; accepted findings are `note`s with a
    /// `suppressions` entry (and `baselineState: unchanged` for the
    /// baseline's); findings of rules `check` does not judge are at most
    /// `warning`; [`LOADER_RULE`] is added as a rule with its results; each
    /// result carries its key in `partialFingerprints` and
    /// `properties.check`; `invocations[0]` has the exit code.
    pub fn to_sarif(&self, report: &Report) -> String {
        let mut sarif: serde_json::Value = serde_json::from_str(&report.to_sarif()).expect("our SARIF parses");
        let by_finding: BTreeMap<usize, &Item> = self
            .items
            .iter()
            .flat_map(|i| i.findings.iter().map(move |f| (*f, i)))
            .collect();
        let run = &mut sarif["runs"][0];
        if let Some(results) = run["results"].as_array_mut() {
            // One result per finding, in order (checked by rule id).
            for (n, r) in results.iter_mut().enumerate() {
                let same = report.findings.get(n).is_some_and(|f| r["ruleId"] == f.rule.id());
                match by_finding.get(&n).filter(|_| same) {
                    Some(item) => mark(r, item),
                    None => {
                        if r["level"] == "error" {
                            r["level"] = "warning".into();
                        }
                        r["properties"]["check"] = "not checked".into();
                    }
                }
            }
        }
        let rules = run["tool"]["driver"]["rules"].as_array().map_or(0, Vec::len);
        if let Some(list) = run["tool"]["driver"]["rules"].as_array_mut() {
            list.push(serde_json::json!({"id": LOADER_RULE, "shortDescription": {"text":
                "The consent loader is not installed so that it runs before every tag"}}));
        }
        let own: Vec<serde_json::Value> = self
            .items
            .iter()
            .filter(|i| i.findings.is_empty())
            .map(|i| {
                let mut r = serde_json::json!({
                    "ruleId": i.rule,
                    "ruleIndex": rules,
                    "level": "error",
                    "message": {"text": format!("{} — {}", i.title, i.remedy)},
                    "locations": [{"physicalLocation": {"artifactLocation": {
                        "uri": i.page.as_deref().unwrap_or(&self.site)}}}],
                    "properties": {"severity": i.severity.label(), "evidence": i.evidence},
                });
                mark(&mut r, i);
                r
            })
            .collect();
        if let Some(results) = run["results"].as_array_mut() {
            results.extend(own);
        }
        let mut invocation = serde_json::json!({
            "executionSuccessful": self.error.is_none(),
            "exitCode": self.exit_code(),
        });
        if let Some(e) = &self.error {
            invocation["toolExecutionNotifications"] = serde_json::json!([{"level": "error", "message": {"text": e}}]);
        }
        run["invocations"] = serde_json::json!([invocation]);
        serde_json::to_string_pretty(&sarif).expect("sarif serialises")
    }
}

fn mark(r: &mut serde_json::Value, item: &Item) {
    // Beside any fingerprint the report's SARIF already has.
    r["partialFingerprints"]["keurmerkCheckKey/v1"] = item.key.clone().into();
    match item.accepted {
        None => {
            r["level"] = "error".into();
            r["properties"]["check"] = "regression".into();
        }
        Some(a) => {
            r["level"] = "note".into();
            r["properties"]["check"] = a.label().into();
            let justification = match a {
                Accepted::Allowed => format!("rule {} allowed with --allow", item.rule),
                Accepted::Baseline => "present in the --baseline report".to_owned(),
            };
            r["suppressions"] =
                serde_json::json!([{"kind": "external", "status": "accepted", "justification": justification}]);
            if a == Accepted::Baseline {
                r["baselineState"] = "unchanged".into();
            }
        }
    }
}

/// Whether the scan can be judged at all: the site answered (a page with a
/// status below 400) and the browser pass visited a page.
pub fn ran(report: &Report) -> Result<(), CheckError> {
    if !report.pages.iter().any(|p| p.status.is_some_and(|s| s < 400)) {
        let why = report
            .pages
            .iter()
            .find_map(|p| p.status.map(|s| format!("{} answered HTTP {s}", p.url)))
            .or_else(|| report.problems.first().map(|p| p.reason.clone()))
            .unwrap_or_else(|| "no page was fetched".into());
        return Err(CheckError::NotRun(format!("the site could not be reached: {why}")));
    }
    if !report.pages.iter().any(|p| p.pass == Pass::Browser) {
        let why = report
            .problems
            .iter()
            .find(|p| p.kind == crate::page::ProblemKind::Browser)
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| "no page was visited in the browser".into());
        return Err(CheckError::NotRun(format!(
            "the browser pass did not run, so consent could not be tested: {why}"
        )));
    }
    Ok(())
}

/// Judges a report: every item of a checked rule, accepted or not.
pub fn judge(report: &Report, options: &Options) -> Outcome {
    let mut items = items(report);
    for i in &mut items {
        i.accepted = if options.allow.contains(&i.rule) {
            Some(Accepted::Allowed)
        } else if options.baseline.contains(&i.key) {
            Some(Accepted::Baseline)
        } else {
            None
        };
    }
    items.sort_by_key(|i| (i.accepted.is_some(), rule_rank(&i.rule), i.key.clone()));
    Outcome {
        site: report.site.clone(),
        items,
        error: None,
    }
}

fn rule_rank(rule: &str) -> usize {
    CHECKED_RULES.iter().position(|r| *r == rule).unwrap_or(usize::MAX)
}

/// `{site}` for the scanned site's origin and host.
struct Neutral {
    origin: String,
    host: String,
}

impl Neutral {
    fn new(site: &str) -> Neutral {
        let u = url::Url::parse(site).ok();
        Neutral {
            origin: u
                .as_ref()
                .map(|u| u.origin().ascii_serialization())
                .filter(|o| o != "null")
                .unwrap_or_default(),
            host: u.and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default(),
        }
    }

    fn apply(&self, s: &str) -> String {
        let mut s = s.to_owned();
        for needle in [&self.origin, &self.host] {
            if !needle.is_empty() {
                s = s.replace(needle.as_str(), "{site}");
            }
        }
        s
    }
}

/// The key subject of a finding: its platform, else the cookie or storage
/// key of its evidence, else its fingerprint (the scanner's stable hash of
/// rule and subject), else its title.
fn subject(f: &Finding, n: &Neutral) -> String {
    if let Some(p) = &f.platform {
        return p.clone();
    }
    if let Some(c) = f.evidence.iter().find_map(|e| e.cookie.as_deref()) {
        return n.apply(c);
    }
    match f.fingerprint.is_empty() {
        false => format!("fingerprint {}", f.fingerprint),
        true => n.apply(&f.title),
    }
}

fn evidence_lines(f: &Finding) -> Vec<String> {
    f.evidence
        .iter()
        .map(|e| {
            let mut l = e.page.clone().unwrap_or_else(|| "-".into());
            if let Some(s) = e.state {
                l.push_str(&format!(" ({})", s.label()));
            }
            for (what, v) in [("request", &e.request), ("cookie", &e.cookie), ("script", &e.script)] {
                if let Some(v) = v {
                    l.push_str(&format!(" {what} {v}"));
                }
            }
            if !e.note.is_empty() {
                l.push_str(&format!("; {}", e.note));
            }
            l
        })
        .collect()
}

/// Everything of a checked rule in a report, grouped by key, unjudged.
pub fn items(report: &Report) -> Vec<Item> {
    let n = Neutral::new(&report.site);
    let mut by_key: BTreeMap<String, Item> = BTreeMap::new();
    for (idx, f) in report.findings.iter().enumerate() {
        let rule = f.rule.id();
        if !CHECKED_RULES.contains(&rule) {
            continue;
        }
        // Fingerprinting only after "accept all" is consented to (it is
        // medium then): not a regression.
        if f.rule == Rule::Fingerprinting && f.severity < Severity::High {
            continue;
        }
        let subject = subject(f, &n);
        let key = format!("{rule}|{subject}");
        let item = by_key.entry(key.clone()).or_insert_with(|| Item {
            rule: rule.to_owned(),
            key,
            subject,
            severity: f.severity,
            title: f.title.clone(),
            platform: f.platform.clone(),
            states: BTreeSet::new(),
            remedy: f.remedy.clone(),
            evidence: Vec::new(),
            page: None,
            findings: Vec::new(),
            accepted: None,
        });
        if item.page.is_none() {
            item.page = f.evidence.iter().find_map(|e| e.page.clone());
        }
        if !item.findings.is_empty() {
            item.title.push_str("; ");
            item.title.push_str(&f.title);
        }
        item.severity = item.severity.max(f.severity);
        item.findings.push(idx);
        item.states.extend(f.evidence.iter().filter_map(|e| e.state));
        for l in evidence_lines(f) {
            if item.evidence.len() < MAX_LINES && !item.evidence.contains(&l) {
                item.evidence.push(l);
            }
        }
    }
    for (subject, (title, remedy, lines)) in installation(report) {
        let key = format!("{LOADER_RULE}|{subject}");
        by_key.insert(key.clone(), own_item(LOADER_RULE, key, subject, title, remedy, lines));
    }
    by_key.into_values().collect()
}

/// `check`'s own items: the evidence lines start with the page.
fn own_item(rule: &str, key: String, subject: String, title: String, remedy: String, lines: Vec<String>) -> Item {
    Item {
        page: lines.first().and_then(|l| l.split(' ').next()).map(str::to_owned),
        rule: rule.to_owned(),
        key,
        subject,
        severity: Severity::High,
        title,
        platform: None,
        states: BTreeSet::new(),
        remedy,
        evidence: lines.into_iter().take(MAX_LINES).collect(),
        findings: Vec::new(),
        accepted: None,
    }
}

fn pages_text(n: usize) -> String {
    match n {
        1 => "1 page".into(),
        n => format!("{n} pages"),
    }
}

/// The installation problems by subject: (title, remedy, evidence lines).
fn installation(report: &Report) -> BTreeMap<String, (String, String, Vec<String>)> {
    let mut missing = Vec::new();
    let mut misplaced = Vec::new();
    let mut plain: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &report.installation {
        match &c.loader {
            None => missing.push(format!("{} no loader script", c.page)),
            Some(l) if !l.correct() => {
                let mut wrong = Vec::new();
                if !l.first_script {
                    wrong.push("not the first script");
                }
                if !l.in_head {
                    wrong.push("not in <head>");
                }
                if !l.synchronous {
                    wrong.push("async, defer or a module");
                }
                misplaced.push(format!("{} loader {}: {}", c.page, l.src, wrong.join(", ")));
            }
            Some(_) => {}
        }
        for t in &c.plain_tags {
            let who = t.platform.clone().unwrap_or_else(|| {
                url::Url::parse(&t.url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| t.url.clone())
            });
            plain
                .entry(who)
                .or_default()
                .push(format!("{} <{}> {}", c.page, t.kind, t.url));
        }
    }
    let mut out = BTreeMap::new();
    if !missing.is_empty() {
        out.insert(
            "loader missing".to_owned(),
            (
                format!("The consent loader is missing from {}", pages_text(missing.len())),
                "Paste Keurmerk's loader as the first element of <head>, synchronous: <script \
                 src=\"https://CONSENT-SERVER/s/SITE/loader.js\" crossorigin></script> (docs/widget.md)."
                    .to_owned(),
                missing,
            ),
        );
    }
    if !misplaced.is_empty() {
        out.insert(
            "loader misplaced".to_owned(),
            (
                format!(
                    "The consent loader is not the first, synchronous script in <head> on {}",
                    pages_text(misplaced.len())
                ),
                "Move the loader's <script> to be the first element of <head>, without async, defer or \
                 type=module: it can only hold back the tags that run after it."
                    .to_owned(),
                misplaced,
            ),
        );
    }
    for (who, lines) in plain {
        out.insert(
            format!("plain tag {who}"),
            (
                format!("{who} is written as a plain tag the browser fetches before any choice"),
                format!(
                    "Write {who}'s tag as <script type=\"text/plain\" data-consent=\"CATEGORY\" data-src=\"…\"> \
                     (or <img>/<iframe> with data-src) so the loader releases it on consent: the browser's \
                     preload scanner fetches a plain <script src>, <img src> or <iframe src> as soon as the HTML \
                     arrives, before any script runs."
                ),
                lines,
            ),
        );
    }
    out
}

/// XML 1.0 allows neither most control characters nor U+FFFE/U+FFFF, even
/// escaped; they become U+FFFD.
fn xml_safe(s: &str) -> Cow<'_, str> {
    let bad = |c: char| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}');
    if s.chars().any(bad) {
        Cow::Owned(s.chars().map(|c| if bad(c) { '\u{FFFD}' } else { c }).collect())
    } else {
        Cow::Borrowed(s)
    }
}

fn write_junit(w: &mut Writer<Vec<u8>>, o: &Outcome, duration_ms: u64) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let time = format!("{:.3}", duration_ms as f64 / 1000.0);
    let name = xml_safe(&format!("consent-scan check {}", o.site)).into_owned();
    if let Some(e) = &o.error {
        w.create_element("testsuites")
            .with_attributes([
                ("name", name.as_str()),
                ("tests", "1"),
                ("failures", "0"),
                ("errors", "1"),
                ("time", time.as_str()),
            ])
            .write_inner_content(|w| {
                w.create_element("testsuite")
                    .with_attributes([
                        ("name", "consent-scan check"),
                        ("tests", "1"),
                        ("failures", "0"),
                        ("errors", "1"),
                    ])
                    .write_inner_content(|w| {
                        w.create_element("testcase")
                            .with_attributes([("classname", "consent-scan check"), ("name", "scan")])
                            .write_inner_content(|w| {
                                w.create_element("error")
                                    .with_attributes([("message", xml_safe(e).as_ref()), ("type", "could-not-run")])
                                    .write_text_content(BytesText::new(&xml_safe(e)))?;
                                Ok(())
                            })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        return Ok(());
    }
    // A suite per rule this scanner has (and `check`'s own).
    let known = known_rules();
    let suites: Vec<(&str, Vec<&Item>)> = CHECKED_RULES
        .iter()
        .copied()
        .filter(|r| known.contains(r))
        .map(|r| (r, o.items.iter().filter(|i| i.rule == r).collect()))
        .collect();
    let tests: usize = suites.iter().map(|(_, v)| v.len().max(1)).sum();
    let failures = o.regressions().count();
    let skipped = o.items.len() - failures;
    w.create_element("testsuites")
        .with_attributes([
            ("name", name.as_str()),
            ("tests", tests.to_string().as_str()),
            ("failures", failures.to_string().as_str()),
            ("errors", "0"),
            ("skipped", skipped.to_string().as_str()),
            ("time", time.as_str()),
        ])
        .write_inner_content(|w| {
            for (rule, items) in &suites {
                let f = items.iter().filter(|i| i.accepted.is_none()).count();
                w.create_element("testsuite")
                    .with_attributes([
                        ("name", *rule),
                        ("tests", items.len().max(1).to_string().as_str()),
                        ("failures", f.to_string().as_str()),
                        ("errors", "0"),
                        ("skipped", (items.len() - f).to_string().as_str()),
                    ])
                    .write_inner_content(|w| {
                        if items.is_empty() {
                            w.create_element("testcase")
                                .with_attributes([("classname", *rule), ("name", "nothing found")])
                                .write_empty()?;
                        }
                        for i in items {
                            write_case(w, i)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_case(w: &mut Writer<Vec<u8>>, i: &Item) -> std::io::Result<()> {
    let name = xml_safe(i.who()).into_owned();
    let case = w
        .create_element("testcase")
        .with_attributes([("classname", i.rule.as_str()), ("name", name.as_str())]);
    match i.accepted {
        Some(a) => {
            case.write_inner_content(|w| {
                let why = format!("accepted ({}): {}", a.label(), i.title);
                w.create_element("skipped")
                    .with_attribute(("message", xml_safe(&why).as_ref()))
                    .write_empty()?;
                Ok(())
            })?;
        }
        None => {
            let mut body = format!(
                "{}\nseverity: {}; platform: {}; consent state: {}\nevidence:\n",
                i.title,
                i.severity.label(),
                i.platform.as_deref().unwrap_or("-"),
                i.states_label()
            );
            for l in &i.evidence {
                body.push_str(&format!("  {l}\n"));
            }
            body.push_str(&format!("what to do: {}\nkey: {}\n", i.remedy, i.key));
            case.write_inner_content(|w| {
                w.create_element("failure")
                    .with_attributes([("message", xml_safe(&i.title).as_ref()), ("type", i.rule.as_str())])
                    .write_text_content(BytesText::new(&xml_safe(&body)))?;
                Ok(())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Evidence;
    use crate::install::{InstallCheck, LoaderTag, TagRef};
    use crate::page::PageVisit;
    use crate::report::DeclarationInfo;

    const SITE: &str = "http://127.0.0.1:8000/";

    fn finding(rule: Rule, severity: Severity, title: &str, platform: Option<&str>, e: Evidence) -> Finding {
        let mut f = Finding::new(rule, severity, title, "do this");
        f.platform = platform.map(str::to_owned);
        f.add(e);
        f
    }

    fn report(findings: Vec<Finding>) -> Report {
        let mut r = Report::new(
            SITE,
            "1",
            DeclarationInfo {
                origin: "t".into(),
                version: None,
            },
            0,
            1500,
            vec![
                PageVisit {
                    url: SITE.into(),
                    depth: 0,
                    status: Some(200),
                    bytes: 1,
                    pass: Pass::Static,
                },
                PageVisit {
                    url: SITE.into(),
                    depth: 0,
                    status: Some(200),
                    bytes: 1,
                    pass: Pass::Browser,
                },
            ],
            Vec::new(),
            Vec::new(),
            crate::detect::Analysis::default(),
        );
        r.findings = findings;
        r
    }

    fn leaky() -> Report {
        report(vec![
            finding(
                Rule::TrackingAfterReject,
                Severity::High,
                "LinkedIn Insight <tracks> & \"leaks\"\u{1} after reject",
                Some("linkedin-insight"),
                Evidence {
                    page: Some(format!("{SITE}leaky")),
                    state: Some(ConsentState::AfterReject),
                    request: Some("https://px.ads.linkedin.com/collect?pid=1&fmt=gif".into()),
                    ..Evidence::default()
                },
            ),
            finding(
                Rule::UndeclaredCookie,
                Severity::Medium,
                "Undeclared cookie `ab` (127.0.0.1)",
                None,
                Evidence {
                    page: Some(SITE.into()),
                    state: Some(ConsentState::BeforeConsent),
                    cookie: Some("ab on 127.0.0.1".into()),
                    ..Evidence::default()
                },
            ),
            // Not judged: a rule check leaves alone, and fingerprinting
            // only after "accept all".
            finding(
                Rule::PersonalDataToPlatform,
                Severity::Critical,
                "Meta Pixel receives an e-mail address",
                Some("meta-pixel"),
                Evidence::default(),
            ),
            finding(
                Rule::Fingerprinting,
                Severity::Medium,
                "fp.example reads the browser for a fingerprint (canvas)",
                None,
                Evidence::default(),
            ),
        ])
    }

    #[test]
    fn keys_are_rule_and_platform_or_subject_with_the_host_neutral() {
        let k = keys(&leaky());
        assert_eq!(
            k.into_iter().collect::<Vec<_>>(),
            [
                "tracking-after-reject|linkedin-insight",
                "undeclared-cookie|ab on {site}"
            ]
        );
        // The same cookie on a preview host has the same key.
        let mut preview = leaky();
        preview.site = "https://pr-7.preview.example/".into();
        preview.findings[1].evidence[0].cookie = Some("ab on pr-7.preview.example".into());
        assert_eq!(keys(&preview), keys(&leaky()));
    }

    #[test]
    fn allow_and_baseline_accept_and_unknown_rules_are_refused() {
        let r = leaky();
        let o = judge(&r, &Options::default());
        assert_eq!(o.exit_code(), 1);
        assert_eq!(o.regressions().count(), 2);
        assert_eq!(o.items[0].rule, "tracking-after-reject", "in rule order");
        let line = o.summary().lines().next().unwrap().to_owned();
        assert!(
            line.starts_with("REGRESSION tracking-after-reject [after reject] linkedin-insight:"),
            "{line}"
        );
        assert!(line.ends_with(&format!("— {SITE}leaky")), "{line}");

        let allow = Options::new(&["tracking-after-reject".into()], None).unwrap();
        let o = judge(&r, &allow);
        assert_eq!(
            o.regressions().map(|i| i.rule.as_str()).collect::<Vec<_>>(),
            ["undeclared-cookie"]
        );
        assert_eq!(o.items[1].accepted, Some(Accepted::Allowed));

        let o = judge(&r, &Options::new(&[], Some(&r)).unwrap());
        assert_eq!(o.exit_code(), 0);
        assert!(o.summary().contains("no regression (2 accepted)"), "{}", o.summary());

        let err = Options::new(&["tracking-after-rejct".into()], None).unwrap_err();
        assert!(err.to_string().contains("tracking-after-reject"), "{err}");
        assert!(Options::new(&[LOADER_RULE.into(), "platform-present".into()], None).is_ok());
    }

    #[derive(Debug, serde::Deserialize)]
    struct Suites {
        #[serde(rename = "@failures")]
        failures: usize,
        testsuite: Vec<Suite>,
    }
    #[derive(Debug, serde::Deserialize)]
    struct Suite {
        #[serde(rename = "@name")]
        name: String,
        #[serde(default)]
        testcase: Vec<Case>,
    }
    #[derive(Debug, serde::Deserialize)]
    struct Case {
        #[serde(rename = "@classname")]
        classname: String,
        #[serde(rename = "@name")]
        name: String,
        failure: Option<Failure>,
        skipped: Option<Skipped>,
    }
    #[derive(Debug, serde::Deserialize)]
    struct Failure {
        #[serde(rename = "@message")]
        message: String,
        #[serde(rename = "$text")]
        text: String,
    }
    #[derive(Debug, serde::Deserialize)]
    struct Skipped {
        #[serde(rename = "@message")]
        message: String,
    }

    #[test]
    fn junit_is_well_formed_and_escaped() {
        let r = leaky();
        let allow = Options::new(&["undeclared-cookie".into()], None).unwrap();
        let xml = judge(&r, &allow).to_junit(r.duration_ms);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{xml}");
        assert!(!xml.contains('\u{1}'));
        let s: Suites = quick_xml::de::from_str(&xml).unwrap();
        assert_eq!(s.failures, 1);
        let known = known_rules();
        assert_eq!(
            s.testsuite.len(),
            CHECKED_RULES.iter().filter(|r| known.contains(r)).count()
        );
        let after_reject = s.testsuite.iter().find(|s| s.name == "tracking-after-reject").unwrap();
        let case = &after_reject.testcase[0];
        assert_eq!(
            (case.classname.as_str(), case.name.as_str()),
            ("tracking-after-reject", "linkedin-insight")
        );
        let f = case.failure.as_ref().unwrap();
        assert_eq!(f.message, "LinkedIn Insight <tracks> & \"leaks\"\u{FFFD} after reject");
        assert!(f.text.contains(&format!(
            "{SITE}leaky (after reject) request https://px.ads.linkedin.com/collect?pid=1&fmt=gif"
        )));
        assert!(f.text.contains("what to do: do this"), "{}", f.text);
        let cookie = s.testsuite.iter().find(|s| s.name == "undeclared-cookie").unwrap();
        assert!(
            cookie.testcase[0]
                .skipped
                .as_ref()
                .unwrap()
                .message
                .starts_with("accepted (allowed)")
        );
        let clean = s.testsuite.iter().find(|s| s.name == "undeclared-service").unwrap();
        assert_eq!(clean.testcase[0].name, "nothing found");
        assert!(clean.testcase[0].failure.is_none() && clean.testcase[0].skipped.is_none());

        let not_run = Outcome::not_run(SITE, "the site could not be reached: <refused>".into());
        let xml = not_run.to_junit(0);
        assert!(
            xml.contains("<error message=\"the site could not be reached: &lt;refused&gt;\""),
            "{xml}"
        );
        assert_eq!(not_run.exit_code(), 2);
    }

    #[test]
    fn sarif_errors_are_exactly_the_regressions() {
        let r = leaky();
        let o = judge(
            &r,
            &Options::new(&[], Some(&report(vec![r.findings[1].clone()]))).unwrap(),
        );
        let s: serde_json::Value = serde_json::from_str(&o.to_sarif(&r)).unwrap();
        let run = &s["runs"][0];
        let results = run["results"].as_array().unwrap();
        let level = |rule: &str| {
            results
                .iter()
                .find(|x| x["ruleId"] == rule)
                .map(|x| x["level"].as_str().unwrap().to_owned())
        };
        assert_eq!(level("tracking-after-reject").as_deref(), Some("error"));
        assert_eq!(level("undeclared-cookie").as_deref(), Some("note"));
        assert_eq!(level("personal-data-to-platform").as_deref(), Some("warning"));
        let cookie = results.iter().find(|x| x["ruleId"] == "undeclared-cookie").unwrap();
        assert_eq!(cookie["baselineState"], "unchanged");
        assert_eq!(cookie["suppressions"][0]["kind"], "external");
        assert_eq!(cookie["suppressions"][0]["status"], "accepted");
        assert_eq!(
            cookie["partialFingerprints"]["keurmerkCheckKey/v1"],
            "undeclared-cookie|ab on {site}"
        );
        assert_eq!(run["invocations"][0]["exitCode"], 1);
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    }

    #[test]
    fn a_misinstalled_loader_is_a_regression() {
        let mut r = report(Vec::new());
        let tag = |platform: &str| TagRef {
            url: "https://connect.facebook.net/en_US/fbevents.js".into(),
            kind: "script".into(),
            platform: Some(platform.into()),
        };
        r.installation = vec![
            InstallCheck {
                page: SITE.into(),
                ..InstallCheck::default()
            },
            InstallCheck {
                page: format!("{SITE}shop"),
                loader: Some(LoaderTag {
                    src: "https://consent.example/s/shop/loader.js".into(),
                    first_script: true,
                    in_head: true,
                    synchronous: false,
                }),
                before_loader: Vec::new(),
                plain_tags: vec![tag("Meta Pixel")],
            },
            InstallCheck {
                page: format!("{SITE}ok"),
                loader: Some(LoaderTag {
                    src: "https://consent.example/s/shop/loader.js".into(),
                    first_script: true,
                    in_head: true,
                    synchronous: true,
                }),
                ..InstallCheck::default()
            },
        ];
        let o = judge(&r, &Options::default());
        let keys: Vec<&str> = o.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "loader-installation|loader misplaced",
                "loader-installation|loader missing",
                "loader-installation|plain tag Meta Pixel",
            ]
        );
        assert!(o.items[0].evidence[0].contains("async, defer or a module"));
        let s: serde_json::Value = serde_json::from_str(&o.to_sarif(&r)).unwrap();
        let results = s["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        assert!(results.iter().all(|x| x["level"] == "error"));
        let rules = s["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        for x in results {
            assert_eq!(rules[x["ruleIndex"].as_u64().unwrap() as usize]["id"], x["ruleId"]);
        }
    }

    #[test]
    fn a_site_not_reached_or_without_a_browser_pass_cannot_be_judged() {
        let mut r = report(Vec::new());
        assert!(ran(&r).is_ok());
        r.pages.retain(|p| p.pass == Pass::Static);
        assert!(ran(&r).unwrap_err().to_string().contains("browser pass did not run"));
        r.pages[0].status = Some(404);
        assert!(ran(&r).unwrap_err().to_string().contains("answered HTTP 404"));
    }
}
