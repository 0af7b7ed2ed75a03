//! Personal data leaving the site: in a request (`personal-data-to-platform`,
//! each hit also listed as a [`PiiLeak`]) and in a snippet configured to
//! send it (`advanced-matching-configured`).

use std::collections::BTreeSet;

use super::{Context, Findings, PiiLeak, SeenRequest, ids_text};
use crate::finding::{Evidence, Finding, Rule, Severity};
use crate::page::Script;
use crate::pii::{Param, PiiHit, decode_params, scan_request};
use crate::signature::{IdSource, Kind, KnowledgeBase, decode_for_matching};

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

/// Personal data (known parameters, plain values, the canary identity in
/// any encoding) in one request's URL or body.
pub(super) fn in_request(seen: &SeenRequest<'_, '_>, cx: &Context<'_>, findings: &mut Findings) -> Option<PiiLeak> {
    let r = seen.request;
    let platform = seen.platform();
    let params = decode_params(&seen.url, r.body.as_deref());
    let hits = scan_request(platform, &params, &r.url, r.body.as_deref(), cx.needles);
    if hits.is_empty() {
        return None;
    }
    let shown = relevant_params(&params, &hits);
    let leak = PiiLeak {
        platform: platform.map(|p| p.id.clone()),
        host: seen.host.clone(),
        page: r.page.clone(),
        state: r.state,
        url: seen.evidence_url(),
        params: shown.clone(),
        hits: hits.clone(),
    };
    let (subject, name, severity) = match platform {
        Some(p) if p.kind == Kind::Advertising => (p.id.clone(), p.name.clone(), Severity::Critical),
        Some(p) => (p.id.clone(), p.name.clone(), Severity::High),
        None => (seen.host.clone(), seen.host.clone(), Severity::High),
    };
    let fields: BTreeSet<String> = hits.iter().map(|h| format!("{} ({})", h.field, h.how())).collect();
    let ids = platform
        .map(|p| ids_text(&p.extract_ids(IdSource::Url, &decode_for_matching(&r.url))))
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
                     auto-collected form fields in its tag, or get explicit consent for it and mention it in the \
                     privacy notice; block the tag until marketing consent."
                ),
            );
            f.platform = platform.map(|p| p.id.clone());
            f
        },
        Evidence {
            page: Some(r.page.clone()),
            state: Some(r.state),
            request: Some(seen.evidence_url()),
            params: shown,
            personal_data: hits,
            script: r.initiator.clone(),
            ..Evidence::default()
        },
    );
    Some(leak)
}

/// Snippets that hand customer data to a platform ("advanced matching",
/// "enhanced conversions"), by the knowledge base's inline patterns.
pub(super) fn advanced_matching(s: &Script, kb: &KnowledgeBase, findings: &mut Findings) {
    let Some(text) = &s.inline else { return };
    for p in &kb.platforms {
        for ip in &p.inline_pii {
            let Some(m) = ip.regex.find(text) else { continue };
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
                            "Remove the customer data from the {} snippet, or load it only after marketing consent \
                             that names this sharing (source: {}).",
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

/// The nearest char boundary at or before `i`.
fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
