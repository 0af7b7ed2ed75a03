//! `localStorage` and `sessionStorage` keys: one row per origin, area and
//! key; `undeclared-storage`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, DeclaredAs, Findings, StorageRow};
use crate::cookie::classify;
use crate::finding::{Evidence, Finding, Rule, Severity};
use crate::page::StorageItem;

type Key = (String, String, String);

fn key(s: &StorageItem) -> Key {
    (s.origin.clone(), s.area.clone(), s.key.clone())
}

/// One row per (origin, area, key) with the states it was seen in; keys are
/// declared and classified like cookies of the origin's host.
pub(super) fn rows(items: &[StorageItem], cx: &Context<'_>) -> BTreeMap<Key, StorageRow> {
    let mut rows: BTreeMap<Key, StorageRow> = BTreeMap::new();
    for s in items {
        let host = url::Url::parse(&s.origin)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let row = rows.entry(key(s)).or_insert_with(|| StorageRow {
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
    }
    rows
}

/// A storage key no declared service names, with every sighting as evidence.
pub(super) fn undeclared(items: &[StorageItem], rows: &BTreeMap<Key, StorageRow>, findings: &mut Findings) {
    for s in items {
        if rows.get(&key(s)).is_some_and(|row| row.declared.is_some()) {
            continue;
        }
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
