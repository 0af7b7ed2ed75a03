//! What changed between two configurations of a site, by domain: the
//! categories, the services with their cookies, the texts per language and
//! key, and the other settings; and whether visitors who already decided are
//! asked again ([`Reask`]).
//!
//! The dashboard shows it before publishing and for every published
//! version against the one before it. Fields are compared through their
//! JSON form (nested objects flattened to dotted paths such as
//! `labels.nl.title`), so a field added to [`SiteConfig`] later shows up
//! here without a change to this module.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::config::{Service, SiteConfig};
use crate::loader::purposes_fingerprint;

/// Whether something is new, gone or different.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only in the new configuration.
    Added,
    /// Only in the old one.
    Removed,
    /// In both, with different fields.
    Changed,
}

/// One field whose value differs: `None` where a side does not have it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// A dotted path within the item (`required`, `labels.nl.title`).
    pub field: String,
    /// The old value as text (strings bare, anything else as JSON).
    pub old: Option<String>,
    /// The new value as text.
    pub new: Option<String>,
}

/// A category, or a cookie of a service, that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemChange {
    /// Its id (a cookie: its name).
    pub id: String,
    /// What happened to it.
    pub kind: Kind,
    /// The fields that differ; for an added or removed item, its fields.
    pub fields: Vec<FieldChange>,
}

/// A service that changed, with its cookies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceChange {
    /// The service's id.
    pub id: String,
    /// Its name (the new one, or the old one when removed).
    pub name: String,
    /// What happened to it.
    pub kind: Kind,
    /// Its fields that differ (not its cookies); empty when added or removed.
    pub fields: Vec<FieldChange>,
    /// Its cookies added, removed or changed (all of them when the service
    /// was added or removed).
    pub cookies: Vec<ItemChange>,
}

/// One of the widget's texts the site replaces, in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextChange {
    /// The language (`nl`).
    pub lang: String,
    /// The text key (`intro`).
    pub key: String,
    /// The old text; `None`: the built-in one was shown.
    pub old: Option<String>,
    /// The new text; `None`: the built-in one is shown.
    pub new: Option<String>,
}

/// Why visitors who already decided are asked again: what they agreed to
/// changed (see [`purposes_fingerprint`]: a decision holds across versions
/// with the same categories, whether each is required, and services with
/// their categories, in the same order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaskReason {
    /// A category visitors are asked about is new.
    CategoryAdded(String),
    /// A category is gone.
    CategoryRemoved(String),
    /// A category became required or optional.
    CategoryRequired(String),
    /// A service is new.
    ServiceAdded(String),
    /// A service is gone.
    ServiceRemoved(String),
    /// A service moved to another category.
    ServiceMoved {
        /// The service.
        id: String,
        /// Its old category.
        from: String,
        /// Its new category.
        to: String,
    },
    /// Only the order of the categories or services changed.
    Reordered,
}

/// Whether visitors are asked again, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reask {
    /// The purposes fingerprints differ: every decision made under the old
    /// configuration stops holding (its refusals still count, see
    /// [`SiteConfig::refusal_months`]).
    pub reask: bool,
    /// What changed in the purposes; empty when `reask` is false.
    pub reasons: Vec<ReaskReason>,
}

/// Everything that differs between two configurations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Categories added, removed or changed, in the new order, then the removed ones.
    pub categories: Vec<ItemChange>,
    /// Services added, removed or changed.
    pub services: Vec<ServiceChange>,
    /// Text overrides added, removed or changed, by language and key.
    pub texts: Vec<TextChange>,
    /// Every other setting that differs (`languages`, `expiry_days`,
    /// `consent_mode.ad_storage`, `controller`, ...).
    pub settings: Vec<FieldChange>,
    /// Whether visitors are asked again.
    pub reask: Reask,
}

impl ConfigDiff {
    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.services.is_empty() && self.texts.is_empty() && self.settings.is_empty()
    }
}

/// What changed from `old` to `new`.
pub fn diff(old: &SiteConfig, new: &SiteConfig) -> ConfigDiff {
    let mut settings = fields(
        &flat(old, &["categories", "services", "texts"]),
        &flat(new, &["categories", "services", "texts"]),
    );
    let cats = |c: &SiteConfig| c.categories.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let svcs = |c: &SiteConfig| c.services.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    settings.extend(order("categories", &cats(old), &cats(new)));
    settings.extend(order("services", &svcs(old), &svcs(new)));
    ConfigDiff {
        categories: keyed(
            old.categories.iter().map(|c| (c.id.as_str(), c)),
            new.categories.iter().map(|c| (c.id.as_str(), c)),
            &["id"],
        ),
        services: services(old, new),
        texts: texts(old, new),
        settings,
        reask: reask(old, new),
    }
}

/// Whether visitors who decided under `old` are asked again under `new`.
pub fn reask(old: &SiteConfig, new: &SiteConfig) -> Reask {
    if purposes_fingerprint(old) == purposes_fingerprint(new) {
        return Reask {
            reask: false,
            reasons: Vec::new(),
        };
    }
    let mut reasons = Vec::new();
    for c in &new.categories {
        match old.category(&c.id) {
            None => reasons.push(ReaskReason::CategoryAdded(c.id.clone())),
            Some(o) if o.required != c.required => reasons.push(ReaskReason::CategoryRequired(c.id.clone())),
            Some(_) => {}
        }
    }
    for c in &old.categories {
        if new.category(&c.id).is_none() {
            reasons.push(ReaskReason::CategoryRemoved(c.id.clone()));
        }
    }
    for s in &new.services {
        match old.service(&s.id) {
            None => reasons.push(ReaskReason::ServiceAdded(s.id.clone())),
            Some(o) if o.category != s.category => reasons.push(ReaskReason::ServiceMoved {
                id: s.id.clone(),
                from: o.category.clone(),
                to: s.category.clone(),
            }),
            Some(_) => {}
        }
    }
    for s in &old.services {
        if new.service(&s.id).is_none() {
            reasons.push(ReaskReason::ServiceRemoved(s.id.clone()));
        }
    }
    if reasons.is_empty() {
        reasons.push(ReaskReason::Reordered);
    }
    Reask { reask: true, reasons }
}

/// `{what}.order` when the ids both sides have are in another order.
fn order(what: &str, old: &[String], new: &[String]) -> Option<FieldChange> {
    let common = |a: &[String], b: &[String]| -> Vec<String> { a.iter().filter(|x| b.contains(x)).cloned().collect() };
    let (o, n) = (common(old, new), common(new, old));
    (o != n).then(|| FieldChange {
        field: format!("{what}.order"),
        old: Some(o.join(", ")),
        new: Some(n.join(", ")),
    })
}

fn services(old: &SiteConfig, new: &SiteConfig) -> Vec<ServiceChange> {
    let cookies = |s: &Service| -> Vec<(String, Value)> {
        s.cookies
            .iter()
            .map(|c| (c.name.clone(), serde_json::to_value(c).unwrap_or(Value::Null)))
            .collect()
    };
    let all = |s: &Service, kind: Kind| -> Vec<ItemChange> {
        cookies(s)
            .into_iter()
            .map(|(name, v)| item(name, kind, &v, &["name"]))
            .collect()
    };
    let mut out = Vec::new();
    for s in &new.services {
        match old.service(&s.id) {
            None => out.push(ServiceChange {
                id: s.id.clone(),
                name: s.name.clone(),
                kind: Kind::Added,
                fields: Vec::new(),
                cookies: all(s, Kind::Added),
            }),
            Some(o) => {
                let fields = fields(&flat(o, &["id", "cookies"]), &flat(s, &["id", "cookies"]));
                let (oc, nc) = (cookies(o), cookies(s));
                let cookies = keyed(
                    oc.iter().map(|(n, v)| (n.as_str(), v)),
                    nc.iter().map(|(n, v)| (n.as_str(), v)),
                    &["name"],
                );
                if !fields.is_empty() || !cookies.is_empty() {
                    out.push(ServiceChange {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        kind: Kind::Changed,
                        fields,
                        cookies,
                    });
                }
            }
        }
    }
    for o in &old.services {
        if new.service(&o.id).is_none() {
            out.push(ServiceChange {
                id: o.id.clone(),
                name: o.name.clone(),
                kind: Kind::Removed,
                fields: Vec::new(),
                cookies: all(o, Kind::Removed),
            });
        }
    }
    out
}

fn texts(old: &SiteConfig, new: &SiteConfig) -> Vec<TextChange> {
    let pairs = |c: &SiteConfig| -> BTreeMap<(String, String), String> {
        c.texts
            .iter()
            .flat_map(|(lang, t)| t.iter().map(move |(k, v)| ((lang.clone(), k.clone()), v.clone())))
            // An empty text keeps the built-in one: the same as none.
            .filter(|(_, v)| !v.is_empty())
            .collect()
    };
    let (o, n) = (pairs(old), pairs(new));
    let mut keys: Vec<&(String, String)> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| TextChange {
            lang: k.0.clone(),
            key: k.1.clone(),
            old: o.get(k).cloned(),
            new: n.get(k).cloned(),
        })
        .collect()
}

/// Items with ids compared: the new ones in their order (added or changed),
/// then the removed ones. `skip` names fields left out (the id itself).
fn keyed<'a, T: Serialize + 'a>(
    old: impl Iterator<Item = (&'a str, &'a T)>,
    new: impl Iterator<Item = (&'a str, &'a T)>,
    skip: &[&str],
) -> Vec<ItemChange> {
    let old: Vec<(&str, &T)> = old.collect();
    let new: Vec<(&str, &T)> = new.collect();
    let mut out = Vec::new();
    for (id, n) in &new {
        match old.iter().find(|(o, _)| o == id) {
            None => out.push(item((*id).to_owned(), Kind::Added, n, skip)),
            Some((_, o)) => {
                let fields = fields(&flat(o, skip), &flat(n, skip));
                if !fields.is_empty() {
                    out.push(ItemChange {
                        id: (*id).to_owned(),
                        kind: Kind::Changed,
                        fields,
                    });
                }
            }
        }
    }
    for (id, o) in &old {
        if !new.iter().any(|(n, _)| n == id) {
            out.push(item((*id).to_owned(), Kind::Removed, o, skip));
        }
    }
    out
}

/// An added or removed item with its fields (on the side it is on).
fn item(id: String, kind: Kind, v: &impl Serialize, skip: &[&str]) -> ItemChange {
    let fields = flat(v, skip)
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(field, v)| {
            let (old, new) = if kind == Kind::Removed {
                (Some(v), None)
            } else {
                (None, Some(v))
            };
            FieldChange { field, old, new }
        })
        .collect();
    ItemChange { id, kind, fields }
}

/// The fields that differ between two flattened values, in path order.
fn fields(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<FieldChange> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| FieldChange {
            field: k.clone(),
            old: old.get(k).cloned(),
            new: new.get(k).cloned(),
        })
        .collect()
}

/// `v`'s JSON with nested objects flattened to dotted paths, leaving out
/// the top-level fields `skip`. Strings stay bare, arrays and numbers are
/// written as JSON, `null` is left out.
fn flat(v: &impl Serialize, skip: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(Value::Object(map)) = serde_json::to_value(v) {
        for (k, v) in map {
            if !skip.contains(&k.as_str()) {
                walk(&k, &v, &mut out);
            }
        }
    }
    out
}

fn walk(path: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Null => {}
        Value::String(s) => {
            out.insert(path.to_owned(), s.clone());
        }
        Value::Object(map) => {
            for (k, v) in map {
                walk(&format!("{path}.{k}"), v, out);
            }
        }
        other => {
            out.insert(path.to_owned(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Category, CookieDecl, Label};

    fn meta() -> Service {
        serde_json::from_value(serde_json::json!({
            "id": "meta", "name": "Meta Pixel", "category": "marketing", "provider": "Meta Platforms",
            "hosts": ["connect.facebook.net"],
            "cookies": [{"name": "_fbp", "retention": "3 months", "retention_days": 90}],
        }))
        .unwrap()
    }

    #[test]
    fn the_same_configuration_has_no_changes() {
        let c = SiteConfig::starter();
        let d = diff(&c, &c.clone());
        assert!(d.is_empty());
        assert!(!d.reask.reask);
    }

    #[test]
    fn a_text_change_is_shown_old_to_new_and_asks_nobody_again() {
        let old = SiteConfig::starter();
        let mut new = old.clone();
        new.texts
            .insert("nl".into(), BTreeMap::from([("intro".into(), "Hallo".into())]));
        let mut older = old.clone();
        older
            .texts
            .insert("nl".into(), BTreeMap::from([("intro".into(), "Dag".into())]));
        let d = diff(&old, &new);
        assert_eq!(
            d.texts,
            vec![TextChange {
                lang: "nl".into(),
                key: "intro".into(),
                old: None,
                new: Some("Hallo".into())
            }]
        );
        assert!(d.categories.is_empty() && d.services.is_empty() && d.settings.is_empty());
        assert_eq!(
            d.reask,
            Reask {
                reask: false,
                reasons: vec![]
            }
        );
        let d = diff(&older, &new);
        assert_eq!(
            (d.texts[0].old.as_deref(), d.texts[0].new.as_deref()),
            (Some("Dag"), Some("Hallo"))
        );
        // An empty override is the built-in text: no change.
        let mut empty = old.clone();
        empty
            .texts
            .insert("nl".into(), BTreeMap::from([("intro".into(), String::new())]));
        assert!(diff(&old, &empty).is_empty());
    }

    #[test]
    fn a_new_category_asks_again_and_says_why() {
        let old = SiteConfig::starter();
        let mut new = old.clone();
        new.categories.push(Category {
            id: "social".into(),
            required: false,
            gpc_opt_out: false,
            labels: BTreeMap::from([(
                "en".into(),
                Label {
                    title: "Social media".into(),
                    description: String::new(),
                },
            )]),
        });
        let d = diff(&old, &new);
        assert_eq!(d.categories.len(), 1);
        assert_eq!(
            (d.categories[0].id.as_str(), d.categories[0].kind),
            ("social", Kind::Added)
        );
        assert!(
            d.categories[0]
                .fields
                .iter()
                .any(|f| f.field == "labels.en.title" && f.new.as_deref() == Some("Social media"))
        );
        assert_eq!(
            d.reask,
            Reask {
                reask: true,
                reasons: vec![ReaskReason::CategoryAdded("social".into())]
            }
        );
        // And back: removed.
        let d = diff(&new, &old);
        assert_eq!(d.categories[0].kind, Kind::Removed);
        assert_eq!(d.reask.reasons, vec![ReaskReason::CategoryRemoved("social".into())]);
    }

    #[test]
    fn a_label_or_flag_change_is_a_changed_category() {
        let old = SiteConfig::starter();
        let mut new = old.clone();
        new.categories[2].labels.get_mut("nl").unwrap().title = "Analyse".into();
        new.categories[3].gpc_opt_out = false;
        let d = diff(&old, &new);
        assert_eq!(d.categories.len(), 2);
        assert_eq!(d.categories[0].id, "analytics");
        assert_eq!(
            d.categories[0].fields,
            vec![FieldChange {
                field: "labels.nl.title".into(),
                old: Some("Statistieken".into()),
                new: Some("Analyse".into())
            }]
        );
        assert_eq!(d.categories[1].fields[0].field, "gpc_opt_out");
        assert!(
            !d.reask.reask,
            "wording and GPC defaults are not what visitors agreed to"
        );
        // Required or not is.
        let mut req = old.clone();
        req.categories[1].required = true;
        assert_eq!(
            diff(&old, &req).reask.reasons,
            vec![ReaskReason::CategoryRequired("preferences".into())]
        );
    }

    #[test]
    fn services_with_their_cookies() {
        let old = SiteConfig::starter();
        let mut new = old.clone();
        new.services.push(meta());
        let d = diff(&old, &new);
        assert_eq!(d.services.len(), 1);
        let s = &d.services[0];
        assert_eq!(
            (s.id.as_str(), s.name.as_str(), s.kind),
            ("meta", "Meta Pixel", Kind::Added)
        );
        assert_eq!(s.cookies.len(), 1);
        assert_eq!((s.cookies[0].id.as_str(), s.cookies[0].kind), ("_fbp", Kind::Added));
        assert_eq!(d.reask.reasons, vec![ReaskReason::ServiceAdded("meta".into())]);

        // A cookie added, one changed, the provider changed: no re-ask.
        let mut newer = new.clone();
        newer.services[0].provider = "Meta".into();
        newer.services[0].cookies[0].retention = "90 days".into();
        newer.services[0].cookies.push(CookieDecl {
            name: "fr".into(),
            domain: Some(".facebook.com".into()),
            provider: String::new(),
            purpose: "Ads".into(),
            retention: String::new(),
            retention_days: None,
            country: "US".into(),
            legal_basis: Default::default(),
        });
        let d = diff(&new, &newer);
        assert!(!d.reask.reask);
        let s = &d.services[0];
        assert_eq!(s.kind, Kind::Changed);
        assert_eq!(
            s.fields,
            vec![FieldChange {
                field: "provider".into(),
                old: Some("Meta Platforms".into()),
                new: Some("Meta".into())
            }]
        );
        assert_eq!(s.cookies.len(), 2);
        assert_eq!((s.cookies[0].id.as_str(), s.cookies[0].kind), ("_fbp", Kind::Changed));
        assert_eq!(s.cookies[0].fields[0].field, "retention");
        assert_eq!((s.cookies[1].id.as_str(), s.cookies[1].kind), ("fr", Kind::Added));

        // Moved to another category: asked again.
        let mut moved = new.clone();
        moved.services[0].category = "analytics".into();
        assert_eq!(
            diff(&new, &moved).reask.reasons,
            vec![ReaskReason::ServiceMoved {
                id: "meta".into(),
                from: "marketing".into(),
                to: "analytics".into()
            }]
        );
        // Removed, with its cookies.
        let d = diff(&new, &old);
        assert_eq!(d.services[0].kind, Kind::Removed);
        assert_eq!(d.services[0].cookies[0].kind, Kind::Removed);
        assert_eq!(d.reask.reasons, vec![ReaskReason::ServiceRemoved("meta".into())]);
    }

    #[test]
    fn settings_and_order() {
        let old = SiteConfig::starter();
        let mut new = old.clone();
        new.expiry_days = 90;
        new.languages.push("de".into());
        new.consent_mode
            .insert("ad_storage".into(), vec!["marketing".into(), "analytics".into()]);
        new.controller = "Shop B.V.".into();
        let d = diff(&old, &new);
        let fields: Vec<&str> = d.settings.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["consent_mode.ad_storage", "controller", "expiry_days", "languages"]
        );
        assert_eq!(d.settings[2].old.as_deref(), Some("182"));
        assert_eq!(d.settings[2].new.as_deref(), Some("90"));
        assert_eq!(d.settings[1].old.as_deref(), Some(""));
        assert!(!d.reask.reask);
        // Only the order of the categories: asked again (the fingerprint
        // keeps the order), said as such.
        let mut reordered = old.clone();
        reordered.categories.swap(1, 2);
        let d = diff(&old, &reordered);
        assert!(d.categories.is_empty());
        assert_eq!(d.settings[0].field, "categories.order");
        assert_eq!(
            d.settings[0].new.as_deref(),
            Some("necessary, analytics, preferences, marketing")
        );
        assert_eq!(d.reask.reasons, vec![ReaskReason::Reordered]);
    }
}
