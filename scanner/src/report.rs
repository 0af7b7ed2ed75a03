//! The scan report: one JSON document with a stable, versioned schema
//! (documented in `scanner/REPORT.md`), rendered also as a self-contained
//! HTML page and as SARIF 2.1.0 for CI pipelines.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::detect::{Analysis, CookieRow, PiiLeak, PlatformSummary, StorageRow};
use crate::finding::{Finding, Rule, Severity};
use crate::page::{PageVisit, Problem};

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
        a: Analysis,
    ) -> Self {
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
        Report {
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
        }
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
                serde_json::json!({
                    "ruleId": f.rule.id(),
                    "ruleIndex": Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0),
                    "level": level,
                    "message": {"text": format!("{} — {}", f.title, f.remedy)},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                    "properties": {"severity": f.severity.label(), "platform": f.platform, "evidence": f.evidence},
                })
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
        let mut h = String::with_capacity(64 * 1024);
        let _ = write!(
            h,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
             content=\"width=device-width\"><title>Keurmerk scan: {site}</title><style>{CSS}</style></head><body>\
             <h1>Keurmerk scan of {site}</h1><p class=\"meta\">consent-scan {ver}, knowledge base {kb}, declaration: \
             {decl}; {ps} pages (static), {pb} pages (browser), {dur:.1} s</p>",
            site = esc(&self.site),
            ver = esc(&self.scanner.version),
            kb = esc(&self.scanner.knowledge_base),
            decl = esc(&self.declaration.origin),
            ps = self.summary.pages_static,
            pb = self.summary.pages_browser,
            dur = self.duration_ms as f64 / 1000.0,
        );
        h.push_str("<div class=\"counts\">");
        for s in [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ] {
            let _ = write!(
                h,
                "<span class=\"sev {l}\">{l}: {n}</span>",
                l = s.label(),
                n = self.summary.findings.get(&s).copied().unwrap_or(0)
            );
        }
        h.push_str("</div><h2>Findings</h2>");
        if self.findings.is_empty() {
            h.push_str("<p>Nothing found.</p>");
        }
        for f in &self.findings {
            let _ = write!(
                h,
                "<section class=\"finding\"><h3><span class=\"sev {l}\">{l}</span> {t}</h3><p class=\"rule\">{r}</p>\
                 <p class=\"remedy\"><b>What to do:</b> {m}</p>",
                l = f.severity.label(),
                t = esc(&f.title),
                r = esc(f.rule.id()),
                m = esc(&f.remedy)
            );
            if !f.evidence.is_empty() {
                h.push_str("<table><tr><th>page</th><th>when</th><th>evidence</th></tr>");
                for e in &f.evidence {
                    let mut ev = String::new();
                    if let Some(r) = &e.request {
                        let _ = write!(ev, "<div><b>request</b> <code>{}</code></div>", esc(r));
                    }
                    for p in &e.params {
                        let _ = write!(
                            ev,
                            "<div><code>{}</code> = <code>{}</code></div>",
                            esc(&p.key),
                            esc(&p.value)
                        );
                    }
                    for p in &e.personal_data {
                        let _ = write!(
                            ev,
                            "<div class=\"pii\">{} in <code>{}</code> ({}{})</div>",
                            esc(&p.field),
                            esc(&p.param),
                            esc(&p.encoding),
                            if p.canary { ", canary identity" } else { "" }
                        );
                    }
                    if let Some(c) = &e.cookie {
                        let _ = write!(ev, "<div><b>cookie</b> <code>{}</code></div>", esc(c));
                    }
                    if let Some(s) = &e.script {
                        let _ = write!(ev, "<div><b>script</b> <code>{}</code></div>", esc(s));
                    }
                    if !e.note.is_empty() {
                        let _ = write!(ev, "<div>{}</div>", esc(&e.note));
                    }
                    let _ = write!(
                        h,
                        "<tr><td>{}</td><td>{}</td><td>{ev}</td></tr>",
                        esc(e.page.as_deref().unwrap_or("")),
                        e.state.map(|s| s.label()).unwrap_or("")
                    );
                }
                if f.evidence_total > f.evidence.len() {
                    let _ = write!(
                        h,
                        "<tr><td colspan=3>… {} more</td></tr>",
                        f.evidence_total - f.evidence.len()
                    );
                }
                h.push_str("</table>");
            }
            h.push_str("</section>");
        }
        h.push_str("<h2>Platforms</h2><table><tr><th>platform</th><th>kind</th><th>ids</th><th>hosts</th><th>seen</th><th>declared as</th></tr>");
        for p in &self.platforms {
            let ids: Vec<String> = p.ids.iter().map(|i| format!("{} {}", i.label, i.value)).collect();
            let mut seen = p.states.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ");
            if p.of_visits > 0 {
                seen.push_str(&format!("; in {} of {} browser visits", p.seen_in_visits, p.of_visits));
            }
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.name),
                p.kind,
                esc(&ids.join(", ")),
                esc(&p.hosts.iter().cloned().collect::<Vec<_>>().join(", ")),
                esc(&seen),
                esc(p.declared_as.as_deref().unwrap_or("— not declared"))
            );
        }
        h.push_str("</table><h2>Cookies</h2><table><tr><th>name</th><th>domain</th><th>party</th><th>lifetime</th><th>set by</th><th>seen</th><th>declared</th><th>category guess</th></tr>");
        for c in &self.cookies {
            let life = match c.lifetime_secs {
                None => "session".to_owned(),
                Some(s) if s >= 86_400 => format!("{} days", s / 86_400),
                Some(s) => format!("{s} s"),
            };
            let set_by: Vec<String> = c
                .set_by
                .iter()
                .map(|s| match s {
                    crate::page::SetBy::Http { response_url } => format!("HTTP {response_url}"),
                    crate::page::SetBy::Script { script_url } => {
                        format!("script {}", script_url.as_deref().unwrap_or("(inline)"))
                    }
                })
                .collect();
            let states: Vec<&str> = c.states.iter().map(|s| s.label()).collect();
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.name),
                esc(&c.domain),
                if c.third_party { "third" } else { "first" },
                life,
                esc(&set_by.join("; ")),
                esc(&states.join(", ")),
                esc(&c
                    .declared
                    .as_ref()
                    .map(|d| format!("{} / {}", d.category, d.service))
                    .unwrap_or_else(|| "no".into())),
                esc(&c
                    .classification
                    .as_ref()
                    .map(|k| format!("{} ({})", k.category, k.source))
                    .unwrap_or_else(|| "unknown".into())),
            );
        }
        h.push_str("</table>");
        if !self.storage.is_empty() {
            h.push_str("<h2>Storage</h2><table><tr><th>area</th><th>key</th><th>origin</th><th>seen</th><th>declared</th><th>category guess</th></tr>");
            for s in &self.storage {
                let states: Vec<&str> = s.states.iter().map(|x| x.label()).collect();
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&s.area),
                    esc(&s.key),
                    esc(&s.origin),
                    esc(&states.join(", ")),
                    esc(&s
                        .declared
                        .as_ref()
                        .map(|d| format!("{} / {}", d.category, d.service))
                        .unwrap_or_else(|| "no".into())),
                    esc(&s
                        .classification
                        .as_ref()
                        .map(|k| format!("{} ({})", k.category, k.source))
                        .unwrap_or_else(|| "unknown".into())),
                );
            }
            h.push_str("</table>");
        }
        if !self.personal_data.is_empty() {
            h.push_str("<h2>Personal data leaving the site</h2><table><tr><th>to</th><th>page</th><th>when</th><th>what</th></tr>");
            for l in &self.personal_data {
                let what: Vec<String> = l
                    .hits
                    .iter()
                    .map(|x| {
                        format!(
                            "{} in {} ({}{})",
                            x.field,
                            x.param,
                            x.encoding,
                            if x.canary { ", canary" } else { "" }
                        )
                    })
                    .collect();
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"pii\">{}</td></tr>",
                    esc(l.platform.as_deref().unwrap_or(&l.host)),
                    esc(&l.page),
                    l.state.label(),
                    esc(&what.join("; "))
                );
            }
            h.push_str("</table>");
        }
        if !self.problems.is_empty() {
            h.push_str("<h2>Scan problems</h2><ul>");
            for p in &self.problems {
                let _ = write!(h, "<li>{}</li>", esc(&p.reason));
            }
            h.push_str("</ul>");
        }
        h.push_str("</body></html>\n");
        h
    }
}

const CSS: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.6rem}.meta{color:#555}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}\
td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}code{word-break:break-all;font-size:.85em}\
.sev{display:inline-block;padding:.05rem .5rem;border-radius:.8rem;font-size:.8rem;margin-right:.4rem;color:#fff;background:#777}\
.critical{background:#7a0019}.high{background:#c0392b}.medium{background:#d68910}.low{background:#2e86c1}.info{background:#777}\
.finding{border-left:4px solid #ddd;padding-left:1rem;margin-bottom:1.5rem}.rule{color:#666;font-size:.85rem;margin:0}\
.pii{color:#7a0019;font-weight:600}.counts{margin:1rem 0}";

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
