//! The banner's first layer, rendered on the server: the one renderer of it.
//!
//! [`crate::loader::render`] puts [`first_layer`] for each of the site's
//! languages into the per-site loader (rules key `u`), and the loader builds
//! it with `createElement` and `textContent` on a first visit (no
//! `innerHTML`, so a strict CSP and Trusted Types allow it), in the task
//! that installs the blocker. The wasm, fetched right after, hydrates what
//! the loader built (finds the banner and listens on it); it never builds a
//! banner of its own. The stylesheet is the widget's `web/widget.css`, in
//! the loader template (`scripts/build-widget` minifies it into it).
//!
//! The markup is a compact JSON tree, in [`Node`]'s form:
//!
//! | node | meaning |
//! |---|---|
//! | `"text"` | a text node |
//! | `0` | the page's host name (`location.hostname`: who asks, when the configuration names no controller) |
//! | `{"j": [[[category, ...], "text"], ...]}` | a text node: the texts of the items of which one category is asked, joined by `", "` |
//! | `["tag", {attributes}, child, ...]` | an element; attribute `"?"` is a condition, not an attribute: `"gpc"` (shown only when the browser sends Global Privacy Control) or a list of categories (shown only when one of them is asked) |
//!
//! A category is asked unless the decision in force refused it: a refusal
//! stands for the site's refusal months, and the banner then asks only for
//! the rest (see `lapse` in `consent-widget/loader/source.js`). Both lists
//! depend on that, and GPC on the browser, so the loader decides them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use crate::config::SiteConfig;

/// The widget's built-in texts (`consent-widget/i18n/*.json`), which the
/// first layer and the wasm's dialog use alike.
const BUILT_IN_TEXTS: [(&str, &str); 4] = [
    ("nl", include_str!("../../consent-widget/i18n/nl.json")),
    ("en", include_str!("../../consent-widget/i18n/en.json")),
    ("de", include_str!("../../consent-widget/i18n/de.json")),
    ("fr", include_str!("../../consent-widget/i18n/fr.json")),
];

/// The built-in texts of `lang`, or the English ones for a language without
/// its own (the wasm fetches the same file: `i18n/en.json` for a language
/// the widget has no texts for).
pub fn built_in_texts(lang: &str) -> &'static BTreeMap<String, String> {
    static TEXTS: LazyLock<Vec<(&str, BTreeMap<String, String>)>> = LazyLock::new(|| {
        BUILT_IN_TEXTS
            .iter()
            .map(|(lang, json)| {
                let texts =
                    serde_json::from_str(json).unwrap_or_else(|e| panic!("consent-widget/i18n/{lang}.json: {e}"));
                (*lang, texts)
            })
            .collect()
    });
    let all = &*TEXTS;
    all.iter()
        .find(|(l, _)| *l == lang)
        .or_else(|| all.iter().find(|(l, _)| *l == "en"))
        .map(|(_, t)| t)
        .expect("English texts are built in")
}

/// The text `key` in `lang`: the site's override, else the built-in one
/// (empty when there is none), as the wasm's `Site::text` reads it.
pub fn text(config: &SiteConfig, lang: &str, key: &str) -> String {
    config
        .texts
        .get(lang)
        .and_then(|t| t.get(key))
        .filter(|t| !t.is_empty())
        .or_else(|| built_in_texts(lang).get(key).filter(|t| !t.is_empty()))
        .cloned()
        .unwrap_or_default()
}

/// A category's title in `lang`: its label, else the built-in
/// `cat_<id>`, else its id.
pub fn category_title(config: &SiteConfig, lang: &str, id: &str) -> String {
    let label = config
        .category(id)
        .and_then(|c| c.labels.get(lang))
        .map(|l| l.title.clone())
        .filter(|t| !t.is_empty());
    label
        .or_else(|| Some(text(config, lang, &format!("cat_{id}"))).filter(|t| !t.is_empty()))
        .unwrap_or_else(|| id.to_owned())
}

/// One node of the tree (see the module docs), as JSON.
pub type Node = Value;

fn element(tag: &str, attributes: &[(&str, Value)], children: Vec<Node>) -> Node {
    let attrs: Map<String, Value> = attributes.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let mut node = vec![Value::from(tag), Value::Object(attrs)];
    node.extend(children);
    Value::Array(node)
}

/// A text with `{controller}` filled in: the configuration's controller,
/// or the page's host name (node `0`) when it names none.
fn with_controller(template: &str, controller: &str) -> Vec<Node> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("{controller}") {
        if i > 0 {
            out.push(Value::from(&rest[..i]));
        }
        out.push(if controller.is_empty() {
            Value::from(0)
        } else {
            Value::from(controller)
        });
        rest = &rest[i + "{controller}".len()..];
    }
    if !rest.is_empty() {
        out.push(Value::from(rest));
    }
    out
}

/// The first layer in `lang`, its root (`.km-root`) included: who asks and
/// why (the purposes asked for), who receives the data (the declared
/// services' companies, each once), Accept all and Reject all as equal
/// buttons (one class) and Preferences next to them; nothing pre-ticked.
/// Buttons carry their action in `data-km`, which the wasm (and, until it
/// is there, the loader) listens for.
pub fn first_layer(config: &SiteConfig, lang: &str) -> Node {
    let t = |key: &str| text(config, lang, key);
    let optional: Vec<&str> = config
        .categories
        .iter()
        .filter(|c| !c.required)
        .map(|c| c.id.as_str())
        .collect();
    let purposes: Vec<Value> = optional
        .iter()
        .map(|c| json!([[c], category_title(config, lang, c)]))
        .collect();
    // Who receives the data, on the first layer (the Dutch AP asks for "who
    // and why" there): each company once, in declaration order, shown when
    // one of the categories it is named for is asked.
    let mut recipients: Vec<(String, Vec<&str>)> = Vec::new();
    for s in config
        .services
        .iter()
        .filter(|s| optional.contains(&s.category.as_str()))
    {
        let name = if s.provider.is_empty() { &s.name } else { &s.provider };
        if name.is_empty() {
            continue;
        }
        match recipients.iter_mut().find(|(n, _)| n == name) {
            Some((_, cats)) if !cats.contains(&s.category.as_str()) => cats.push(&s.category),
            Some(_) => {}
            None => recipients.push((name.clone(), vec![&s.category])),
        }
    }

    let mut desc = vec![
        element("p", &[], with_controller(&t("intro"), &config.controller)),
        element(
            "p",
            &[],
            vec![t("purposes").into(), json!({ "j": purposes }), ".".into()],
        ),
    ];
    if !recipients.is_empty() {
        let mut cats: Vec<&str> = Vec::new();
        for (_, cs) in &recipients {
            for c in cs {
                if !cats.contains(c) {
                    cats.push(c);
                }
            }
        }
        let items: Vec<Value> = recipients.iter().map(|(n, cs)| json!([cs, n])).collect();
        desc.push(element(
            "p",
            &[("class", "km-to".into()), ("?", json!(cats))],
            vec![t("recipients").into(), json!({ "j": items }), ".".into()],
        ));
    }
    desc.push(element(
        "p",
        &[("class", "km-gpc".into()), ("?", "gpc".into())],
        vec![t("gpc").into()],
    ));

    let button = |action: &str, key: &str| {
        element(
            "button",
            &[
                ("class", "km-btn".into()),
                ("type", "button".into()),
                ("data-km", action.into()),
            ],
            vec![t(key).into()],
        )
    };
    let mut banner = vec![
        element(
            "h2",
            &[("class", "km-title".into()), ("id", "km-bt".into())],
            vec![t("title").into()],
        ),
        element("div", &[("class", "km-desc".into()), ("id", "km-bd".into())], desc),
        element(
            "div",
            &[("class", "km-actions".into())],
            vec![
                button("reject", "reject_all"),
                button("accept", "accept_all"),
                button("prefs", "preferences"),
            ],
        ),
    ];
    if let Some(url) = config.privacy_policy_url.as_deref().filter(|u| !u.is_empty()) {
        banner.push(element(
            "a",
            &[("class", "km-link".into()), ("href", url.into())],
            vec![t("privacy_policy").into()],
        ));
    }
    // A non-modal dialog: the page stays usable, but assistive technology
    // announces it as one unit with its title and description. It takes the
    // focus when the loader puts it into <body>.
    let banner = element(
        "div",
        &[
            ("class", "km-banner".into()),
            ("role", "dialog".into()),
            ("aria-modal", "false".into()),
            ("aria-labelledby", "km-bt".into()),
            ("aria-describedby", "km-bd".into()),
            ("tabindex", "-1".into()),
        ],
        banner,
    );
    element(
        "div",
        &[("class", "km-root".into()), ("lang", lang.into())],
        vec![banner],
    )
}

/// [`first_layer`] for each of the site's languages (rules key `u`).
pub fn first_layers(config: &SiteConfig) -> BTreeMap<&str, Node> {
    config
        .languages
        .iter()
        .map(|l| (l.as_str(), first_layer(config, l)))
        .collect()
}

/// The tree as HTML, built the way the loader builds it for a visitor
/// with `asked` categories and GPC `gpc` on a page at `host`: for tests and
/// for reading, never served (text and attribute values escaped).
pub fn to_html(node: &Node, asked: &dyn Fn(&str) -> bool, gpc: bool, host: &str) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    let any = |v: &Value| v.as_array().into_iter().flatten().filter_map(Value::as_str).any(asked);
    match node {
        Value::String(s) => esc(s),
        Value::Number(_) => esc(host),
        Value::Object(o) => {
            let items: Vec<&str> = o
                .get("j")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|i| any(&i[0]))
                .filter_map(|i| i[1].as_str())
                .collect();
            esc(&items.join(", "))
        }
        Value::Array(a) => {
            let tag = a[0].as_str().unwrap_or("div");
            let attrs = a[1].as_object().cloned().unwrap_or_default();
            match attrs.get("?") {
                Some(Value::String(g)) if g == "gpc" && !gpc => return String::new(),
                Some(v @ Value::Array(_)) if !any(v) => return String::new(),
                _ => {}
            }
            let mut out = format!("<{tag}");
            for (k, v) in attrs.iter().filter(|(k, _)| *k != "?") {
                out.push_str(&format!(" {k}=\"{}\"", esc(v.as_str().unwrap_or_default())));
            }
            out.push('>');
            for c in &a[2..] {
                out.push_str(&to_html(c, asked, gpc, host));
            }
            out.push_str(&format!("</{tag}>"));
            out
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Label, Service};

    fn site() -> SiteConfig {
        let mut c = SiteConfig::starter();
        c.languages = vec!["nl".into(), "en".into(), "es".into()];
        c.controller = "Shop <B.V.>".into();
        c.privacy_policy_url = Some("https://shop.example/privacy".into());
        let svc = |id: &str, cat: &str, provider: &str| Service {
            id: id.into(),
            name: id.into(),
            category: cat.into(),
            provider: provider.into(),
            privacy_policy_url: None,
            hosts: vec![],
            cookies: vec![],
            description: BTreeMap::new(),
        };
        c.services = vec![
            svc("meta", "marketing", "Meta Platforms Ireland"),
            svc("ga", "analytics", "Google Ireland"),
            svc("yt", "marketing", "Google Ireland"),
        ];
        c
    }

    fn html(c: &SiteConfig, lang: &str, asked: &dyn Fn(&str) -> bool, gpc: bool) -> String {
        to_html(&first_layer(c, lang), asked, gpc, "shop.example")
    }

    #[test]
    fn names_who_why_and_the_recipients_with_equal_buttons() {
        let c = site();
        let h = html(&c, "en", &|_| true, false);
        assert!(
            h.starts_with(
                "<div class=\"km-root\" lang=\"en\"><div aria-describedby=\"km-bd\" aria-labelledby=\"km-bt\" \
             aria-modal=\"false\" class=\"km-banner\" role=\"dialog\" tabindex=\"-1\">"
            ),
            "{h}"
        );
        assert!(h.contains("<h2 class=\"km-title\" id=\"km-bt\">Cookies and tracking on this site</h2>"));
        assert!(h.contains("<p>Shop &lt;B.V.&gt; would like to use cookies"), "{h}");
        assert!(
            h.contains("<p>We ask permission for: Preferences, Analytics, Marketing.</p>"),
            "{h}"
        );
        assert!(
            h.contains("<p class=\"km-to\">Recipients of the data: Meta Platforms Ireland, Google Ireland.</p>"),
            "{h}"
        );
        assert!(!h.contains("km-gpc"));
        for (action, label) in [
            ("reject", "Reject all"),
            ("accept", "Accept all"),
            ("prefs", "Preferences"),
        ] {
            assert!(
                h.contains(&format!(
                    "<button class=\"km-btn\" data-km=\"{action}\" type=\"button\">{label}</button>"
                )),
                "{h}"
            );
        }
        assert!(
            h.ends_with("<a class=\"km-link\" href=\"https://shop.example/privacy\">Privacy statement</a></div></div>")
        );
        assert!(html(&c, "en", &|_| true, true).contains("<p class=\"km-gpc\">Your browser sends"));
    }

    #[test]
    fn only_what_is_asked_is_named() {
        let c = site();
        // Marketing refused within its refusal months: not asked again, and
        // Meta (marketing only) is no longer a recipient; Google still is
        // (analytics).
        let h = html(&c, "en", &|c| c != "marketing", false);
        assert!(h.contains("for: Preferences, Analytics.</p>"), "{h}");
        assert!(h.contains("Recipients of the data: Google Ireland.</p>"), "{h}");
        let h = html(&c, "en", &|c| c == "preferences", false);
        assert!(!h.contains("km-to"), "no recipient asked for: no line: {h}");
    }

    #[test]
    fn languages_overrides_labels_and_the_host_as_controller() {
        let mut c = site();
        c.controller.clear();
        c.categories[3].labels.insert(
            "nl".into(),
            Label {
                title: "Advertenties".into(),
                description: String::new(),
            },
        );
        c.texts.insert(
            "es".into(),
            BTreeMap::from([("accept_all".into(), "Aceptar todo".into())]),
        );
        let nl = html(&c, "nl", &|_| true, false);
        assert!(nl.contains("<p>shop.example wil graag"), "{nl}");
        assert!(
            nl.contains("Analytics, Advertenties.</p>") || nl.contains(", Advertenties.</p>"),
            "{nl}"
        );
        assert!(nl.contains(">Alles accepteren</button>"));
        // A language without built-in texts: the site's own, else English.
        let es = html(&c, "es", &|_| true, false);
        assert!(
            es.contains(">Aceptar todo</button>") && es.contains(">Reject all</button>"),
            "{es}"
        );
        assert_eq!(first_layers(&c).keys().copied().collect::<Vec<_>>(), ["en", "es", "nl"]);
    }

    #[test]
    fn every_built_in_language_has_every_english_key() {
        let en = built_in_texts("en");
        for (lang, _) in BUILT_IN_TEXTS {
            let t = built_in_texts(lang);
            for k in en.keys() {
                assert!(t.get(k).is_some_and(|v| !v.is_empty()), "{lang}: {k}");
            }
        }
    }
}
