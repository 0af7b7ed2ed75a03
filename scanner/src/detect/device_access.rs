//! Access to the visitor's device that is not a cookie: a third-party
//! script reading the device for a fingerprint (`fingerprinting`), or
//! storing data in localStorage, sessionStorage or IndexedDB before the
//! visitor chose or after a refusal (`storage-without-consent`).
//!
//! EDPB Guidelines 2/2023 on the technical scope of art. 5(3) of the
//! ePrivacy Directive (version 2, October 2024) bring both under the same
//! consent requirement as cookies: "storing of information, or gaining of
//! access to information already stored, in the terminal equipment".
//! Only third-party scripts are judged: what the site's own code stores is
//! the site's business, and its declaration covers it.

use std::collections::BTreeMap;

use super::{Context, Findings};
use crate::finding::{Evidence, Finding, Rule, Severity};
use crate::page::{ConsentState, ScriptActivity, same_site, site_of};

const EDPB: &str = "EDPB Guidelines 2/2023 on the technical scope of art. 5(3) ePrivacy Directive";

/// The script's host when it is another site's than the page's.
fn third_party_host(a: &ScriptActivity) -> Option<String> {
    let script = url::Url::parse(a.script.as_deref()?).ok()?;
    let page = url::Url::parse(&a.page).ok()?;
    let (sh, ph) = (script.host_str()?, page.host_str()?);
    (!same_site(sh, ph)).then(|| sh.to_owned())
}

/// The platform the script belongs to, if the knowledge base knows it.
fn platform_of(a: &ScriptActivity, cx: &Context<'_>) -> Option<String> {
    let url = url::Url::parse(a.script.as_deref()?).ok()?;
    cx.kb.match_url(&url).first().map(|m| m.platform.id.clone())
}

/// `fingerprinting`: one finding per script site, high when it probed
/// before the visitor chose or after a refusal, medium when only after
/// "accept all" (then it must still be named in the banner).
pub(super) fn fingerprinting(activity: &[ScriptActivity], cx: &Context<'_>, findings: &mut Findings) {
    let mut by_site: BTreeMap<String, Vec<(&ScriptActivity, String)>> = BTreeMap::new();
    for a in activity.iter().filter(|a| a.kind.is_fingerprinting()) {
        if let Some(host) = third_party_host(a) {
            by_site.entry(site_of(&host)).or_default().push((a, host));
        }
    }
    for (site, probes) in by_site {
        let unconsented = probes.iter().any(|(a, _)| a.state != ConsentState::AfterAccept);
        let severity = if unconsented { Severity::High } else { Severity::Medium };
        let mut kinds: Vec<&str> = probes.iter().map(|(a, _)| a.kind.label()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let platform = probes.iter().find_map(|(a, _)| platform_of(a, cx));
        let host = probes[0].1.clone();
        for (a, _) in &probes {
            findings.add(
                (Rule::Fingerprinting, site.clone()),
                || {
                    let mut f = Finding::new(
                        Rule::Fingerprinting,
                        severity,
                        format!("{host} reads the browser for a fingerprint ({})", kinds.join(", ")),
                        format!(
                            "Remove the fingerprinting from the scripts of {host}, or load them only after the \
                             visitor consents to what they are for (declare {host} under that category so \
                             Keurmerk's blocker holds them back, and name it in the banner): reading the canvas, \
                             graphics card, audio stack or installed fonts gains access to information on the \
                             visitor's device, which needs consent like a cookie ({EDPB})."
                        ),
                    );
                    f.platform = platform.clone();
                    f
                },
                Evidence {
                    page: Some(a.page.clone()),
                    state: Some(a.state),
                    script: a.script.clone(),
                    note: format!("{}: {}", a.kind.label(), a.detail),
                    ..Evidence::default()
                },
            );
        }
    }
}

/// `storage-without-consent`: a third-party script writing to the
/// browser's storage outside "after accept", unless the key (or database)
/// is declared under a category the visitor cannot refuse.
pub(super) fn storage_without_consent(activity: &[ScriptActivity], cx: &Context<'_>, findings: &mut Findings) {
    for a in activity
        .iter()
        .filter(|a| !a.kind.is_fingerprinting() && a.state != ConsentState::AfterAccept)
    {
        let Some(host) = third_party_host(a) else { continue };
        let page_host = url::Url::parse(&a.page)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let necessary = cx
            .declared
            .cookie(&a.detail, &page_host)
            .is_some_and(|(s, _)| cx.declared.is_required(&s.category));
        if necessary {
            continue;
        }
        let platform = platform_of(a, cx);
        findings.add(
            (Rule::StorageWithoutConsent, site_of(&host)),
            || {
                let mut f = Finding::new(
                    Rule::StorageWithoutConsent,
                    Severity::High,
                    format!("{host} stores data in the browser without consent"),
                    format!(
                        "Hold the scripts of {host} back until the visitor accepts what they are for (declare \
                         {host} under that category so Keurmerk's blocker holds them back), or, if a key is \
                         strictly needed for the service the visitor asked for, declare it under a required \
                         category: localStorage, sessionStorage and IndexedDB are storage on the visitor's \
                         device like cookies ({EDPB})."
                    ),
                );
                f.platform = platform;
                f
            },
            Evidence {
                page: Some(a.page.clone()),
                state: Some(a.state),
                script: a.script.clone(),
                cookie: Some(format!("{} {}", a.kind.label(), a.detail)),
                ..Evidence::default()
            },
        );
    }
}
