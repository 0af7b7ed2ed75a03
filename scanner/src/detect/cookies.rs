//! Cookies: one row per name + domain with everything seen about it, its
//! declaration and classification; `undeclared-cookie` and
//! `cookie-lifetime`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, CookieRow, DeclaredAs, Findings, cap_insert};
use crate::cookie::classify_from;
use crate::finding::{Evidence, Finding, Rule, Severity};
use crate::page::{Cookie, SetBy};

/// One row per (name, domain): the longest lifetime, up to three setters,
/// every consent state, blocked only if every sighting was blocked. A row
/// is classified once all its setters are known, by them and by the
/// platforms `present` on the site, so cookie attribution agrees with the
/// platform inventory.
pub(super) fn rows(cookies: &[Cookie], present: &[&str], cx: &Context<'_>) -> BTreeMap<(String, String), CookieRow> {
    let mut rows: BTreeMap<(String, String), CookieRow> = BTreeMap::new();
    for c in cookies {
        let row = rows
            .entry((c.name.clone(), c.domain.clone()))
            .or_insert_with(|| CookieRow {
                name: c.name.clone(),
                domain: c.domain.clone(),
                third_party: c.third_party,
                lifetime_secs: c.lifetime_secs,
                lifetime_days: None,
                set_by: Vec::new(),
                states: BTreeSet::new(),
                pages: BTreeSet::new(),
                declared: cx.declared.cookie(&c.name, &c.domain).map(|(s, _)| DeclaredAs {
                    service: s.id.clone(),
                    category: s.category.clone(),
                }),
                classification: None,
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
    for row in rows.values_mut() {
        row.lifetime_days = row.lifetime_secs.map(|s| (s + 43_200).div_euclid(86_400));
        let setters: Vec<&str> = row
            .set_by
            .iter()
            .filter_map(|s| match s {
                SetBy::Http { response_url } => Some(response_url.as_str()),
                SetBy::Script { script_url } => script_url.as_deref(),
            })
            .collect();
        row.classification = classify_from(cx.kb, cx.cookie_db, &row.name, &row.domain, &setters, present);
    }
    rows
}

/// What the cookie detectors need to know about a row: its category (the
/// declared one, else the classification's), the platform it belongs to
/// and who set it.
pub(super) struct CookieFacts<'a> {
    pub(super) row: &'a CookieRow,
    pub(super) category: Option<String>,
    pub(super) platform_name: Option<String>,
    setter: Option<String>,
}

impl<'a> CookieFacts<'a> {
    pub(super) fn of(row: &'a CookieRow, cx: &Context<'_>) -> Self {
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
        CookieFacts {
            row,
            category,
            platform_name,
            setter,
        }
    }

    pub(super) fn evidence(&self) -> Evidence {
        let row = self.row;
        Evidence {
            page: row.pages.iter().next().cloned(),
            cookie: Some(format!("{} on {}", row.name, row.domain)),
            script: self.setter.clone(),
            note: row
                .blocked
                .as_ref()
                .map(|b| format!("blocked by the browser: {b}"))
                .unwrap_or_default(),
            ..Evidence::default()
        }
    }
}

/// A cookie no declared service names, with a guess where to declare it.
pub(super) fn undeclared(c: &CookieFacts<'_>, cx: &Context<'_>, findings: &mut Findings) {
    let row = c.row;
    if row.declared.is_some() {
        return;
    }
    let remedy = match (&c.category, &c.platform_name) {
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
            c.setter.as_deref().unwrap_or("setter unknown")
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
        c.evidence(),
    );
}

/// A cookie that lives longer than its declared retention (+10 %, +1 day).
pub(super) fn outlives_declaration(c: &CookieFacts<'_>, cx: &Context<'_>, findings: &mut Findings) {
    let row = c.row;
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
            c.evidence(),
        );
    }
}
