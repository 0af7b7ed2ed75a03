//! The cookie policy table as HTML: a fragment a site embeds (served always
//! current at `/s/{site}/cookie-policy.html`) and the dashboard previews.
//! The rows are `consent_core::cookie_policy`'s, from the published
//! configuration; every text in them is escaped (they are the owner's).

use askama::Template;
use consent_core::cookie_policy::{PolicyRow, headings};

#[derive(Template)]
#[template(path = "cookie_policy_fragment.html")]
struct Fragment<'a> {
    lang: &'a str,
    headings: [&'static str; 7],
    groups: Vec<(String, Vec<&'a PolicyRow>)>,
    none: &'static str,
    version_label: &'static str,
    version: &'a str,
}

/// The table of `rows` (in `lang`), one `<table>` per category, naming the
/// configuration version it was made from.
pub fn fragment(rows: &[PolicyRow], lang: &str, version: &str) -> String {
    let h = headings(lang);
    let mut groups: Vec<(String, Vec<&PolicyRow>)> = Vec::new();
    for r in rows {
        match groups.last_mut() {
            Some((title, list)) if *title == r.category_title => list.push(r),
            _ => groups.push((r.category_title.clone(), vec![r])),
        }
    }
    let (none, version_label) = match lang {
        "nl" => (
            "Deze site plaatst geen cookies die vermeld moeten worden.",
            "Configuratieversie",
        ),
        "de" => (
            "Diese Website setzt keine angabepflichtigen Cookies.",
            "Konfigurationsversion",
        ),
        "fr" => (
            "Ce site ne dépose aucun cookie à déclarer.",
            "Version de la configuration",
        ),
        _ => ("This site sets no cookies that need listing.", "Configuration version"),
    };
    Fragment {
        lang,
        headings: [h[0], h[1], h[2], h[3], h[4], h[5], h[6]],
        groups,
        none,
        version_label,
        version,
    }
    .render()
    .unwrap_or_default()
}
