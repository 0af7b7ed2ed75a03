//! The report as one HTML page: the verdict first, then one row per finding
//! with the consent states it was seen in as columns, then each finding's
//! remedy and one example request decoded, its raw evidence behind a
//! disclosure. Inline CSS, no script; every value from the scanned site is
//! escaped. Wide tables scroll inside a focusable region named by their
//! caption, so the page reflows at 320 px (WCAG 2.2 SC 1.4.10 excepts data
//! tables).

use std::fmt::Write as _;

use super::verdict::{Banner, name_of};
use super::{Report, esc};
use crate::finding::{Evidence, Finding, Severity};
use crate::page::{ConsentState, SetBy};

/// The consent-state columns: the three every browser pass has, and GPC
/// when a finding was seen with it.
fn state_columns(r: &Report) -> Vec<ConsentState> {
    let mut cols = vec![
        ConsentState::BeforeConsent,
        ConsentState::AfterReject,
        ConsentState::AfterAccept,
    ];
    if r.findings.iter().any(|f| f.states.contains(&ConsentState::WithGpc)) {
        cols.push(ConsentState::WithGpc);
    }
    cols
}

/// A finding's anchor: its fingerprint, or its position for findings of
/// older reports that have none.
fn anchor(f: &Finding, i: usize) -> String {
    if f.fingerprint.is_empty() {
        format!("finding-{i}")
    } else {
        format!("finding-{}", f.fingerprint)
    }
}

/// A table inside a region that scrolls sideways on a narrow screen,
/// focusable so a keyboard can scroll it, named by the table's caption.
fn open_table(h: &mut String, id: &str, caption: &str, class: &str, heads: &[&str]) {
    let _ = write!(
        h,
        "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-labelledby=\"{id}\"><table class=\"{class}\">\
         <caption id=\"{id}\">{}</caption><thead><tr>",
        esc(caption)
    );
    for head in heads {
        let _ = write!(h, "<th scope=\"col\">{}</th>", esc(head));
    }
    h.push_str("</tr></thead><tbody>");
}

fn close_table(h: &mut String) {
    h.push_str("</tbody></table></div>");
}

pub(super) fn page(r: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>Keurmerk scan: {site}</title><style>{CSS}</style></head>\
         <body><main><h1>Keurmerk scan of {site}</h1><p class=\"meta\">consent-scan {ver}, knowledge base {kb}, \
         declaration: {decl}; {ps} pages (static), {pb} pages (browser), {dur:.1} s</p>",
        site = esc(&r.site),
        ver = esc(&r.scanner.version),
        kb = esc(&r.scanner.knowledge_base),
        decl = esc(&r.declaration.origin),
        ps = r.summary.pages_static,
        pb = r.summary.pages_browser,
        dur = r.duration_ms as f64 / 1000.0,
    );
    verdict(&mut h, r);
    findings_table(&mut h, r);
    for (i, f) in r.findings.iter().enumerate() {
        finding(&mut h, f, i);
    }
    inventory(&mut h, r);
    h.push_str("</main></body></html>\n");
    h
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "nothing found".to_owned()
    } else {
        esc(&list.join(", "))
    }
}

fn verdict(h: &mut String, r: &Report) {
    let Some(v) = &r.verdict else { return };
    let _ = write!(
        h,
        "<section class=\"verdict\" aria-labelledby=\"verdict\"><h2 id=\"verdict\">Verdict</h2>\
         <p class=\"headline\">{}</p><dl>",
        esc(&v.headline)
    );
    let _ = write!(h, "<dt>Consent banner</dt><dd>{}", esc(v.banner.label()));
    if v.banner == Banner::Partly {
        let _ = write!(h, " (missing on {})", esc(&v.pages_without_banner.join(", ")));
    }
    h.push_str("</dd>");
    let _ = write!(h, "<dt>Tracks before consent</dt><dd>{}</dd>", names(&v.before_consent));
    let _ = write!(
        h,
        "<dt>Tracks after \u{201c}reject all\u{201d}</dt><dd>{}</dd>",
        names(&v.after_reject)
    );
    if !v.despite_gpc.is_empty() {
        let _ = write!(
            h,
            "<dt>Tracks despite Global Privacy Control</dt><dd>{}</dd>",
            names(&v.despite_gpc)
        );
    }
    h.push_str("<dt>Personal data sent</dt><dd>");
    if v.personal_data.is_empty() {
        h.push_str("nothing found");
    } else {
        h.push_str("<ul>");
        for p in &v.personal_data {
            let kinds: Vec<&str> = p.kinds.iter().map(String::as_str).collect();
            let states: Vec<&str> = p.states.iter().map(|s| s.label()).collect();
            let _ = write!(
                h,
                "<li><b>{}</b>: {} ({}{})</li>",
                esc(&p.to),
                esc(&kinds.join(", ")),
                esc(&states.join(", ")),
                if p.canary {
                    "; the scanner's test identity: proof, not a guess"
                } else {
                    ""
                }
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("</dd><dt>Not declared</dt><dd>");
    let u = &v.undeclared;
    if u.services.is_empty() && u.cookies.is_empty() && u.storage.is_empty() {
        h.push_str("nothing found");
    } else {
        h.push_str("<ul>");
        for (what, list) in [
            ("services", &u.services),
            ("cookies", &u.cookies),
            ("storage keys", &u.storage),
        ] {
            if !list.is_empty() {
                let _ = write!(h, "<li>{what}: {}</li>", esc(&list.join(", ")));
            }
        }
        h.push_str("</ul>");
    }
    h.push_str("</dd></dl></section>");
}

fn findings_table(h: &mut String, r: &Report) {
    h.push_str("<section aria-labelledby=\"findings\"><h2 id=\"findings\">Findings</h2><p class=\"counts\">");
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
            n = r.summary.findings.get(&s).copied().unwrap_or(0)
        );
    }
    h.push_str("</p>");
    if r.findings.is_empty() {
        h.push_str("<p>Nothing found.</p></section>");
        return;
    }
    let cols = state_columns(r);
    let mut heads = vec!["Severity", "Finding"];
    let labels: Vec<String> = cols.iter().map(|s| capitalise(s.label())).collect();
    heads.extend(labels.iter().map(String::as_str));
    heads.extend(["Pages", "Times seen"]);
    open_table(
        h,
        "findings-table",
        "One row per platform and problem: the consent states it was seen in",
        "findings",
        &heads,
    );
    for (i, f) in r.findings.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td><span class=\"sev {l}\">{l}</span></td><th scope=\"row\"><a href=\"#{a}\">{t}</a></th>",
            l = f.severity.label(),
            a = anchor(f, i),
            t = esc(&f.title),
        );
        for s in &cols {
            let seen = f.states.contains(s);
            let _ = write!(
                h,
                "<td class=\"{}\">{}</td>",
                if seen { "seen" } else { "unseen" },
                if seen { "yes" } else { "no" }
            );
        }
        let _ = write!(
            h,
            "<td>{}</td><td>{}</td></tr>",
            f.pages.len(),
            f.count.max(f.evidence_total)
        );
    }
    close_table(h);
    h.push_str("</section>");
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn finding(h: &mut String, f: &Finding, i: usize) {
    let a = anchor(f, i);
    let _ = write!(
        h,
        "<section class=\"finding\" id=\"{a}\" aria-labelledby=\"{a}-h\"><h3 id=\"{a}-h\"><span class=\"sev {l}\">{l}</span> \
         {t}</h3><p class=\"rule\">{r}",
        l = f.severity.label(),
        t = esc(&f.title),
        r = esc(f.rule.id()),
    );
    if f.platform_name.is_some() {
        let _ = write!(h, " · {}", esc(name_of(f)));
    }
    if !f.fingerprint.is_empty() {
        let _ = write!(h, " · fingerprint <code>{}</code>", esc(&f.fingerprint));
    }
    let _ = write!(h, "</p><p class=\"remedy\"><b>What to do:</b> {}</p>", esc(&f.remedy));
    if !f.states.is_empty() || !f.pages.is_empty() {
        let states: Vec<&str> = f.states.iter().map(|s| s.label()).collect();
        h.push_str("<p>");
        if !states.is_empty() {
            let _ = write!(h, "Seen {}", esc(&states.join(", ")));
        }
        if !f.pages.is_empty() {
            let pages: Vec<&str> = f.pages.iter().take(5).map(String::as_str).collect();
            let more = f.pages.len().saturating_sub(5);
            let _ = write!(
                h,
                "{}on {} page{}: {}{}",
                if states.is_empty() { "Seen " } else { ", " },
                f.pages.len(),
                if f.pages.len() == 1 { "" } else { "s" },
                pages
                    .iter()
                    .map(|p| format!("<code>{}</code>", esc(p)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        h.push_str(".</p>");
    }
    if let Some(e) = &f.example {
        example(h, e, &a, &f.title);
    }
    if !f.evidence.is_empty() {
        let _ = write!(
            h,
            "<details><summary>Raw evidence ({} of {})</summary><ol class=\"raw\">",
            f.evidence.len(),
            f.evidence_total.max(f.evidence.len())
        );
        for e in &f.evidence {
            h.push_str("<li>");
            raw(h, e);
            h.push_str("</li>");
        }
        h.push_str("</ol></details>");
    }
    h.push_str("</section>");
}

/// One example, decoded: where and when, its personal data by kind, its
/// parameters as a two-column table; the raw request behind a disclosure.
/// `title` names the finding, so each example's table has a caption (and
/// its scrolling region a name) of its own.
fn example(h: &mut String, e: &Evidence, a: &str, title: &str) {
    h.push_str("<h4>Example</h4><p>");
    let mut parts = Vec::new();
    if let Some(p) = &e.page {
        parts.push(format!("on <code>{}</code>", esc(p)));
    }
    if let Some(s) = e.state {
        parts.push(esc(s.label()));
    }
    if let Some(c) = &e.cookie {
        parts.push(format!("cookie <code>{}</code>", esc(c)));
    }
    if let Some(s) = &e.script {
        parts.push(format!("from <code>{}</code>", esc(s)));
    }
    if !e.note.is_empty() {
        parts.push(esc(&e.note));
    }
    h.push_str(&parts.join(", "));
    h.push_str("</p>");
    if !e.personal_data.is_empty() {
        h.push_str("<ul class=\"pii\">");
        for p in &e.personal_data {
            let _ = write!(
                h,
                "<li>{} in <code>{}</code>: <code>{}</code>{}</li>",
                esc(&consent_core::redact::kind(&p.field, &p.encoding)),
                esc(&p.param),
                esc(&p.value),
                if p.canary { " (the scanner's test identity)" } else { "" }
            );
        }
        h.push_str("</ul>");
    }
    if !e.params.is_empty() {
        open_table(
            h,
            &format!("{a}-params"),
            &format!("The example request's parameters, decoded: {title}"),
            "params",
            &["Parameter", "Value"],
        );
        for p in &e.params {
            let via = if p.via.is_empty() {
                String::new()
            } else {
                format!(" <small>(inside {})</small>", esc(&p.via.join(", ")))
            };
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td><code>{}</code>{via}</td></tr>",
                esc(&p.key),
                esc(&p.value)
            );
        }
        close_table(h);
    }
    if let Some(r) = &e.request {
        let _ = write!(
            h,
            "<details><summary>The request as sent</summary><p><code>{}</code></p></details>",
            esc(r)
        );
    }
}

fn raw(h: &mut String, e: &Evidence) {
    let mut parts = Vec::new();
    if let Some(p) = &e.page {
        parts.push(format!("page <code>{}</code>", esc(p)));
    }
    if let Some(s) = e.state {
        parts.push(esc(s.label()));
    }
    if let Some(r) = &e.request {
        parts.push(format!("request <code>{}</code>", esc(r)));
    }
    if let Some(c) = &e.cookie {
        parts.push(format!("cookie <code>{}</code>", esc(c)));
    }
    if let Some(s) = &e.script {
        parts.push(format!("script <code>{}</code>", esc(s)));
    }
    for p in &e.personal_data {
        parts.push(format!(
            "{} in <code>{}</code>",
            esc(&consent_core::redact::kind(&p.field, &p.encoding)),
            esc(&p.param)
        ));
    }
    if !e.note.is_empty() {
        parts.push(esc(&e.note));
    }
    h.push_str(&parts.join("; "));
}

/// Days for a lifetime in seconds; hours under a day.
pub(super) fn lifetime(secs: Option<i64>) -> String {
    match secs {
        None => "session".to_owned(),
        Some(s) if s >= 43_200 => {
            let days = (s + 43_200).div_euclid(86_400);
            if days == 1 {
                "1 day".into()
            } else {
                format!("{days} days")
            }
        }
        Some(s) if s >= 3600 => format!("{} hours", s / 3600),
        Some(_) => "under an hour".to_owned(),
    }
}

fn inventory(h: &mut String, r: &Report) {
    h.push_str("<section aria-labelledby=\"inventory\"><h2 id=\"inventory\">What the site loads</h2>");
    if !r.platforms.is_empty() {
        open_table(
            h,
            "platforms",
            "Platforms",
            "wide",
            &["Platform", "Kind", "Account ids", "Seen", "Declared as"],
        );
        for p in &r.platforms {
            let ids: Vec<String> = p.ids.iter().map(|i| format!("{} {}", i.label, i.value)).collect();
            let mut seen = p.states.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ");
            if p.of_visits > 0 {
                let _ = write!(seen, "; in {} of {} browser visits", p.seen_in_visits, p.of_visits);
            }
            let kind = match p.kind {
                crate::signature::Kind::Advertising => "advertising",
                crate::signature::Kind::Analytics => "analytics",
                crate::signature::Kind::SessionRecording => "session recording",
                crate::signature::Kind::TagManager => "tag manager",
            };
            let _ = write!(
                h,
                "<tr><th scope=\"row\">{}</th><td>{kind}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.name),
                esc(&ids.join(", ")),
                esc(&seen),
                esc(p.declared_as.as_deref().unwrap_or("not declared"))
            );
        }
        close_table(h);
    }
    if !r.cookies.is_empty() {
        open_table(
            h,
            "cookies",
            "Cookies",
            "wide",
            &[
                "Cookie",
                "Domain",
                "Party",
                "Lifetime",
                "Set by",
                "Seen",
                "Declared",
                "Category (guess)",
            ],
        );
        for c in &r.cookies {
            let set_by: Vec<String> = c
                .set_by
                .iter()
                .map(|s| match s {
                    SetBy::Http { response_url } => format!("HTTP {response_url}"),
                    SetBy::Script { script_url } => {
                        format!("script {}", script_url.as_deref().unwrap_or("(inline)"))
                    }
                })
                .collect();
            let states: Vec<&str> = c.states.iter().map(|s| s.label()).collect();
            let _ = write!(
                h,
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.name),
                esc(&c.domain),
                if c.third_party { "third" } else { "first" },
                lifetime(c.lifetime_secs),
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
        close_table(h);
    }
    if !r.storage.is_empty() {
        open_table(
            h,
            "storage",
            "Storage",
            "wide",
            &["Key", "Area", "Origin", "Seen", "Declared", "Category (guess)"],
        );
        for s in &r.storage {
            let states: Vec<&str> = s.states.iter().map(|x| x.label()).collect();
            let _ = write!(
                h,
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.key),
                esc(&s.area),
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
        close_table(h);
    }
    if !r.problems.is_empty() {
        h.push_str("<h3>Scan problems</h3><ul>");
        for p in &r.problems {
            let _ = write!(h, "<li>{}</li>", esc(&p.reason));
        }
        h.push_str("</ul>");
    }
    h.push_str("</section>");
}

/// Colours at 4.5:1 or more against their background (WCAG 2.2 SC 1.4.3).
const CSS: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:1rem auto;max-width:72rem;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.6rem;overflow-wrap:anywhere}.meta{color:#555}\
table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;padding:.3rem 0}\
td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}\
code{word-break:break-all;font-size:.85em}\
.scroll{overflow-x:auto;max-width:100%;margin:.5rem 0 1.5rem}.scroll:focus{outline:2px solid #1a5276}\
table.wide{min-width:48rem}table.findings{min-width:40rem}table.params{table-layout:fixed}\
table.params td:first-child{width:35%}\
.sev{display:inline-block;padding:.05rem .5rem;border-radius:.8rem;font-size:.8rem;margin-right:.4rem;color:#fff;background:#595959}\
.critical{background:#7a0019}.high{background:#a93226}.medium{background:#7d5400}.low{background:#1a5276}.info{background:#595959}\
td.seen{font-weight:700;color:#7a0019}td.unseen{color:#555}\
.verdict{border:2px solid #1b1b1b;padding:0 1rem 1rem;border-radius:.4rem}.headline{font-size:1.1rem;font-weight:600}\
.verdict dt{font-weight:700;margin-top:.5rem}.verdict dd{margin-left:0;overflow-wrap:anywhere}\
.finding{border-left:4px solid #ddd;padding-left:1rem;margin-bottom:1.5rem;overflow-wrap:anywhere}\
.rule{color:#595959;font-size:.85rem;margin:0}.pii{color:#7a0019}.counts{margin:1rem 0}\
details{margin:.5rem 0}summary{cursor:pointer}";
