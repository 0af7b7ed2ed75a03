//! Tracking without consent: a tracker's request, or a known non-necessary
//! cookie, before the visitor chose (`tracking-before-consent`) or after
//! "reject all" (`tracking-after-reject`).

use super::cookies::CookieFacts;
use super::{Context, Findings, SeenRequest};
use crate::finding::{Evidence, Finding, Rule, Severity};
use crate::page::{ConsentState, Pass};

/// A tracker's request outside "after accept". Without a browser pass, what
/// the HTML loads outright counts; a URL merely named in inline code might
/// wait for consent, so it does not.
pub(super) fn request_before_choice(
    seen: &SeenRequest<'_, '_>,
    browser_ran: bool,
    cx: &Context<'_>,
    findings: &mut Findings,
) {
    let r = seen.request;
    let static_only_loaded = r.pass == Pass::Static && !browser_ran && r.resource_type != "inline-reference";
    if let Some(p) = seen.platform().filter(|p| p.kind.tracks())
        && (r.pass == Pass::Browser || static_only_loaded)
        && r.state != ConsentState::AfterAccept
    {
        tracking_finding(
            findings,
            cx,
            p.id.clone(),
            &p.name,
            &p.category,
            r.state,
            Evidence {
                page: Some(r.page.clone()),
                state: Some(r.state),
                request: Some(seen.evidence_url()),
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

/// A known non-necessary cookie set before the choice or after a refusal.
pub(super) fn cookie_before_choice(c: &CookieFacts<'_>, cx: &Context<'_>, findings: &mut Findings) {
    let Some(cat) = &c.category else { return };
    if cx.declared.is_required(cat) || cat == "necessary" {
        return;
    }
    let row = c.row;
    for state in row.states.iter().filter(|s| **s != ConsentState::AfterAccept) {
        let subject = row
            .classification
            .as_ref()
            .and_then(|c| c.platform.clone())
            .unwrap_or_else(|| row.name.clone());
        let name = c
            .platform_name
            .clone()
            .unwrap_or_else(|| format!("cookie {}", row.name));
        let mut e = c.evidence();
        e.state = Some(*state);
        tracking_finding(findings, cx, subject, &name, cat, *state, e);
    }
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
        ConsentState::WithGpc => Rule::TrackingDespiteGpc,
        ConsentState::AfterReject | ConsentState::AfterAccept => Rule::TrackingAfterReject,
    };
    let title = format!("{name} tracks {}", state.label());
    let remedy = match state {
        ConsentState::WithGpc => format!(
            "Honour Global Privacy Control: when the browser sends `Sec-GPC: 1` (navigator.globalPrivacyControl), \
             treat it as a refusal of {} and do not load {name} unless the visitor switches it on themselves \
             (in Keurmerk: set `gpc_opt_out = true` on that category and declare {name}'s hosts under it).",
            cx.declared.category_title(category)
        ),
        _ => format!(
            "Block {name} until the visitor accepts {} (declare its hosts under that category so Keurmerk's blocker \
             holds it back), and make sure it does not run after \"reject all\".",
            cx.declared.category_title(category)
        ),
    };
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
