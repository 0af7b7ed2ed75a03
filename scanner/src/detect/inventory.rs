//! The platform inventory: which platforms the site uses, with their
//! account ids, hosts, pages, consent states and visits, from requests and
//! inline scripts; `platform-present` and `undeclared-service`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, Findings, PlatformSummary, SeenRequest, cap_insert, ids_text};
use crate::declared::Declared;
use crate::finding::{Evidence, Finding, Rule, Severity};
use crate::page::Script;
use crate::signature::{AccountId, IdSource, KnowledgeBase, Platform};

/// Platforms by id, filled request by request and script by script.
pub(super) struct Inventory {
    platforms: BTreeMap<String, PlatformSummary>,
    /// Browser visits each platform showed up in.
    visits: BTreeMap<String, BTreeSet<u32>>,
    of_visits: u32,
}

impl Inventory {
    pub(super) fn new(browser_visits: u32) -> Self {
        Inventory {
            platforms: BTreeMap::new(),
            visits: BTreeMap::new(),
            of_visits: browser_visits,
        }
    }

    fn entry(&mut self, p: &Platform) -> &mut PlatformSummary {
        let of_visits = self.of_visits;
        self.platforms.entry(p.id.clone()).or_insert_with(|| PlatformSummary {
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
            of_visits,
            declared_as: None,
        })
    }

    /// Every platform the request's URL belongs to, with the ids in its URL
    /// or body.
    pub(super) fn add_request(&mut self, seen: &SeenRequest<'_, '_>) {
        let r = seen.request;
        for m in &seen.matches {
            let body_ids = r
                .body
                .as_ref()
                .map(|b| m.platform.extract_ids(IdSource::Body, b))
                .unwrap_or_default();
            let s = self.entry(m.platform);
            add_ids(s, m.ids.iter().chain(&body_ids).cloned());
            s.hosts.insert(seen.host.clone());
            cap_insert(&mut s.pages, &r.page);
            s.states.insert(r.state);
            s.requests += 1;
            if let Some(v) = r.visit {
                self.visits.entry(m.platform.id.clone()).or_default().insert(v);
            }
        }
    }

    /// Platforms whose ids an inline script names (`fbq('init', '…')`).
    pub(super) fn add_inline_script(&mut self, s: &Script, kb: &KnowledgeBase) {
        let Some(text) = &s.inline else { return };
        for p in &kb.platforms {
            let ids = p.extract_ids(IdSource::Inline, text);
            if !ids.is_empty() {
                let sum = self.entry(p);
                add_ids(sum, ids);
                cap_insert(&mut sum.pages, &s.page);
            }
        }
    }

    /// The inventory in id order, with visit counts and the declared
    /// service covering each platform.
    pub(super) fn finish(mut self, declared: &Declared) -> Vec<PlatformSummary> {
        for s in self.platforms.values_mut() {
            s.seen_in_visits = self.visits.get(&s.id).map_or(0, |v| v.len() as u32);
            s.declared_as = s.hosts.iter().find_map(|h| declared.host(h).map(|sv| sv.id.clone()));
        }
        self.platforms.into_values().collect()
    }
}

fn add_ids(s: &mut PlatformSummary, ids: impl IntoIterator<Item = AccountId>) {
    for id in ids {
        if !s.ids.contains(&id) {
            s.ids.push(id);
        }
    }
}

/// `platform-present` for every platform, and `undeclared-service` when
/// some of its hosts are in no declared service.
pub(super) fn present_and_declared(s: &PlatformSummary, cx: &Context<'_>, findings: &mut Findings) {
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
    if undeclared.is_empty() {
        return;
    }
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
                    "Declare service `{}` under {} with hosts {} so the banner names it and blocks it until consent.",
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
