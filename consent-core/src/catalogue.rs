//! The built-in catalogue of well-known vendors a site owner picks the
//! services of a site from: who each vendor is (the legal entity and the
//! country it processes from), what it is for, the category it belongs in,
//! its privacy statement, its cookies with their lifetimes, and the hosts the
//! loader holds back for it.
//!
//! There is one definition of this knowledge: the scanner's signature files
//! (`scanner/signatures/*.toml`, [`crate::loader::SIGNATURE_FILES`]), each
//! with a `[catalogue]` table beside the scanner's rules, plus
//! `scanner/signatures/vendors/*.toml` ([`VENDOR_FILES`]) for vendors the
//! scanner has no rules for (embeds, payment). A vendor's cookies are the
//! file's `[[cookie]]` entries, which the scanner matches observed cookies
//! against; its hosts are the file's `block` list, which the loader holds
//! back by itself (or `[catalogue].hosts` where a vendor has none). So what
//! a site declares from the catalogue is what the scanner checks it against.
//!
//! A chosen vendor becomes a [`Service`] of the site's configuration
//! ([`Vendor::to_service`]), in the vendor's category, with its cookies.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::config::{self, CookieDecl, LegalBasis, Service};

/// One entry of [`VENDOR_FILES`]: the file's name and text.
macro_rules! vendor_file {
    ($name:literal) => {
        ($name, include_str!(concat!("../../scanner/signatures/vendors/", $name)))
    };
}

/// Vendors the scanner has no rules for, only catalogue facts: same
/// `[catalogue]` table and `[[cookie]]` entries as a signature file, without
/// endpoints (`scanner/signatures/vendors/`, which the scanner does not read).
pub const VENDOR_FILES: &[(&str, &str)] = &[
    vendor_file!("youtube.toml"),
    vendor_file!("vimeo.toml"),
    vendor_file!("google-maps.toml"),
    vendor_file!("stripe.toml"),
];

/// The catalogue's languages: the dashboard's (Dutch, English) must be
/// there for every vendor; German and French where written.
pub const LANGUAGES: [&str; 4] = ["nl", "en", "de", "fr"];
/// Files larger than this are refused: the catalogue is hand-written.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// At most this many vendors.
pub const MAX_VENDORS: usize = 512;

/// Why a catalogue file cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogueError {
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("{file}: larger than {MAX_FILE_BYTES} bytes")]
    TooLarge {
        /// The file's name.
        file: String,
    },
    /// Not TOML, or not the shape of a catalogue entry.
    #[error("{file}: {message}")]
    Syntax {
        /// The file's name.
        file: String,
        /// The TOML parser's message.
        message: String,
    },
    /// A fact that is missing or malformed.
    #[error("{file}: {field}: {message}")]
    Invalid {
        /// The file's name.
        file: String,
        /// Which fact (`catalogue.country`, `cookie/2/name`, ...).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// More than [`MAX_VENDORS`], or two files with one id.
    #[error("{0}")]
    Catalogue(String),
}

/// A well-known vendor, as the catalogue offers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vendor {
    /// The file's `id`, and the id of the service it becomes (the scanner
    /// and the loader's vendor APIs know a declared service by it).
    pub id: String,
    /// The product's name shown to visitors (`Google Analytics 4`).
    pub name: String,
    /// The legal entity that processes the data (`Google Ireland Limited`).
    pub company: String,
    /// ISO 3166-1 alpha-2 country of that entity (`IE`).
    pub country: String,
    /// The category a site declares it under (`analytics`, `marketing`, ...).
    pub category: String,
    /// The vendor's privacy statement (https).
    pub privacy_policy_url: String,
    /// What it does with visitors' data, per language (`nl`, `en`, ...).
    pub purposes: BTreeMap<String, String>,
    /// Hosts the loader holds back for it: `*.host` covers the host and its
    /// subdomains.
    pub hosts: Vec<String>,
    /// The cookies it sets.
    pub cookies: Vec<VendorCookie>,
    /// What its cookies' processing rests on (GDPR art. 6(1)).
    pub legal_basis: LegalBasis,
}

/// A cookie a vendor sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorCookie {
    /// Its name; `*` matches any run of characters (`_ga_*`).
    pub name: String,
    /// The domain it is set on when not the site's own (`.facebook.com`).
    pub domain: Option<String>,
    /// What it is for, per language (English always).
    pub purposes: BTreeMap<String, String>,
    /// How long it lasts, in days; `None` with `session` for a session
    /// cookie, and for a lifetime the vendor does not document.
    pub retention_days: Option<u32>,
    /// Deleted when the browser closes.
    pub session: bool,
}

impl VendorCookie {
    /// What it is for in `lang`, else in English.
    pub fn purpose(&self, lang: &str) -> &str {
        text_in(&self.purposes, lang)
    }

    /// Its lifetime as a person says it in `lang` (`nl`, else English):
    /// `2 jaar`, `13 months`, `session`; empty when not documented.
    pub fn lifetime(&self, lang: &str) -> String {
        lifetime(self.retention_days, self.session, lang)
    }
}

impl Vendor {
    /// What it does in `lang`, else in English.
    pub fn purpose(&self, lang: &str) -> &str {
        text_in(&self.purposes, lang)
    }

    /// The service a site declares for this vendor: in the vendor's
    /// category, with its hosts, privacy statement, description in every
    /// catalogue language, and its cookies described in `lang` (the site's
    /// first language: a cookie's purpose is one text in the configuration).
    pub fn to_service(&self, lang: &str) -> Service {
        Service {
            id: self.id.clone(),
            name: self.name.clone(),
            category: self.category.clone(),
            provider: self.company.clone(),
            privacy_policy_url: Some(self.privacy_policy_url.clone()),
            hosts: self.hosts.clone(),
            cookies: self
                .cookies
                .iter()
                .map(|c| CookieDecl {
                    name: c.name.clone(),
                    domain: c.domain.clone(),
                    provider: self.company.clone(),
                    purpose: c.purpose(lang).to_owned(),
                    retention: c.lifetime(lang),
                    retention_days: c.retention_days,
                    country: self.country.clone(),
                    legal_basis: self.legal_basis,
                })
                .collect(),
            description: self.purposes.clone(),
        }
    }

    /// Whether a free-text search names this vendor: its id, name, company
    /// or a cookie's name contains `q` (case-insensitively).
    pub fn matches(&self, q: &str) -> bool {
        let q = q.trim().to_lowercase();
        q.is_empty()
            || [&self.id, &self.name, &self.company]
                .iter()
                .any(|s| s.to_lowercase().contains(&q))
            || self.cookies.iter().any(|c| c.name.to_lowercase().contains(&q))
    }
}

fn text_in<'a>(texts: &'a BTreeMap<String, String>, lang: &str) -> &'a str {
    texts
        .get(lang)
        .or_else(|| texts.get("en"))
        .map(String::as_str)
        .unwrap_or_default()
}

/// A lifetime in days as a person says it: whole years, whole months of 30
/// days (Google's 390-day cookies are "13 months"), else days.
pub fn lifetime(days: Option<u32>, session: bool, lang: &str) -> String {
    let nl = lang == "nl";
    if session {
        return if nl { "sessie" } else { "session" }.to_owned();
    }
    let Some(d) = days else { return String::new() };
    let (n, one, many) = if d >= 365 && d % 365 == 0 {
        (d / 365, ("jaar", "year"), ("jaar", "years"))
    } else if d >= 30 && d % 30 == 0 {
        (d / 30, ("maand", "month"), ("maanden", "months"))
    } else {
        (d, ("dag", "day"), ("dagen", "days"))
    };
    let (one, many) = if nl { (one.0, many.0) } else { (one.1, many.1) };
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every vendor of the built-in catalogue: those of the signature files and
/// of [`VENDOR_FILES`], in that order.
pub fn builtin() -> &'static [Vendor] {
    static LIST: LazyLock<Vec<Vendor>> = LazyLock::new(|| {
        let files = crate::loader::SIGNATURE_FILES.iter().chain(VENDOR_FILES);
        from_texts(files.map(|(n, t)| (*n, *t))).unwrap_or_else(|e| panic!("scanner/signatures: {e}"))
    });
    &LIST
}

/// The built-in vendor with this id.
pub fn vendor(id: &str) -> Option<&'static Vendor> {
    builtin().iter().find(|v| v.id == id)
}

/// The vendors of these files (name, text); a file without a `[catalogue]`
/// table is none.
pub fn from_texts<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Vec<Vendor>, CatalogueError> {
    let mut out: Vec<Vendor> = Vec::new();
    for (file, text) in files {
        let Some(v) = parse(file, text)? else { continue };
        if out.iter().any(|o| o.id == v.id) {
            return Err(CatalogueError::Catalogue(format!(
                "{file}: duplicate vendor id {:?}",
                v.id
            )));
        }
        if out.len() == MAX_VENDORS {
            return Err(CatalogueError::Catalogue(format!("more than {MAX_VENDORS} vendors")));
        }
        out.push(v);
    }
    Ok(out)
}

/// The parts of a signature file the catalogue reads; the scanner's rules
/// (endpoints, ids, personal-data parameters) are its own.
#[derive(Deserialize)]
struct File {
    id: String,
    name: String,
    category: String,
    #[serde(default)]
    block: Vec<String>,
    catalogue: Option<Table>,
    #[serde(default)]
    cookie: Vec<CookieEntry>,
}

/// A file's `[catalogue]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    company: String,
    country: String,
    privacy_policy: String,
    purpose: BTreeMap<String, String>,
    /// Hosts for a vendor whose file has no `block` list (the loader does
    /// not hold it back on sites that did not declare it).
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    legal_basis: LegalBasis,
    /// Where the table's facts come from (`key = URL`), like the scanner's
    /// `[sources]`.
    #[serde(default)]
    sources: BTreeMap<String, String>,
}

/// A `[[cookie]]` entry: the scanner's fields, of which the catalogue reads
/// these.
#[derive(Deserialize)]
struct CookieEntry {
    name: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    purpose_nl: Option<String>,
    #[serde(default)]
    retention_days: Option<u32>,
    #[serde(default)]
    session: bool,
}

/// One file's vendor, or `None` when it has no `[catalogue]` table.
pub fn parse(file: &str, text: &str) -> Result<Option<Vendor>, CatalogueError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(CatalogueError::TooLarge { file: file.to_owned() });
    }
    let raw: File = toml::from_str(text).map_err(|e| CatalogueError::Syntax {
        file: file.to_owned(),
        message: e.message().to_owned(),
    })?;
    let Some(table) = raw.catalogue else { return Ok(None) };
    let invalid = |field: &str, message: &str| CatalogueError::Invalid {
        file: file.to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    };
    let short = |field: &str, s: &str| {
        if s.trim().is_empty() || s.len() > config::MAX_TEXT_LEN {
            Err(invalid(field, "missing or too long"))
        } else {
            Ok(())
        }
    };
    if !is_slug(&raw.id) {
        return Err(invalid("id", "a slug of a-z, 0-9, '-'"));
    }
    if !is_slug(&raw.category) {
        return Err(invalid("category", "a slug of a-z, 0-9, '-'"));
    }
    short("name", &raw.name)?;
    short("catalogue.company", &table.company)?;
    if table.country.len() != 2 || !table.country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(
            "catalogue.country",
            "an ISO 3166-1 alpha-2 code such as \"IE\"",
        ));
    }
    if !is_https(&table.privacy_policy) {
        return Err(invalid("catalogue.privacy_policy", "an https URL"));
    }
    for lang in ["nl", "en"] {
        if !table.purpose.contains_key(lang) {
            return Err(invalid(&format!("catalogue.purpose.{lang}"), "missing"));
        }
    }
    for (lang, text) in &table.purpose {
        if !LANGUAGES.contains(&lang.as_str()) {
            return Err(invalid(
                &format!("catalogue.purpose.{lang}"),
                "not a catalogue language",
            ));
        }
        short(&format!("catalogue.purpose.{lang}"), text)?;
    }
    for (key, url) in &table.sources {
        if !is_https(url) {
            return Err(invalid(&format!("catalogue.sources.{key}"), "an https URL"));
        }
    }
    // A `block` host covers its subdomains, as `*.host` does in a service.
    let hosts: Vec<String> = if raw.block.is_empty() {
        table.hosts
    } else {
        raw.block.iter().map(|h| format!("*.{h}")).collect()
    };
    for h in &hosts {
        let bare = h.strip_prefix("*.").unwrap_or(h);
        let ok = !bare.is_empty()
            && bare.len() <= 253
            && bare
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !ok {
            return Err(invalid("hosts", &format!("{h:?} is not a lower-case host name")));
        }
    }
    if raw.cookie.len() > config::MAX_COOKIES_PER_SERVICE {
        return Err(invalid("cookie", "too many cookies"));
    }
    let mut cookies = Vec::new();
    for (i, c) in raw.cookie.into_iter().enumerate() {
        let at = |f: &str| format!("cookie/{i}/{f}");
        if c.name.is_empty()
            || c.name.len() > 256
            || c.name
                .bytes()
                .any(|b| b.is_ascii_control() || b == b';' || b == b'=' || b == b' ')
        {
            return Err(invalid(&at("name"), "a cookie name without spaces, ';' or '='"));
        }
        short(&at("purpose"), &c.purpose)?;
        if c.session && c.retention_days.is_some() {
            return Err(invalid(&at("session"), "a session cookie has no retention_days"));
        }
        let mut purposes = BTreeMap::from([("en".to_owned(), c.purpose)]);
        if let Some(nl) = c.purpose_nl {
            short(&at("purpose_nl"), &nl)?;
            purposes.insert("nl".to_owned(), nl);
        }
        cookies.push(VendorCookie {
            name: c.name,
            domain: c.domain,
            purposes,
            retention_days: c.retention_days,
            session: c.session,
        });
    }
    Ok(Some(Vendor {
        id: raw.id,
        name: raw.name,
        company: table.company,
        country: table.country,
        category: raw.category,
        privacy_policy_url: table.privacy_policy,
        purposes: table.purpose,
        hosts,
        cookies,
        legal_basis: table.legal_basis,
    }))
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_https(s: &str) -> bool {
    s.len() <= config::MAX_URL_LEN
        && url::Url::parse(s).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SiteConfig;

    /// Every vendor converts to a service the configuration accepts, in a
    /// category of the starter configuration, and names who processes the
    /// data, where, why (in Dutch and English) and its privacy statement.
    #[test]
    fn every_vendor_is_complete_and_declarable() {
        let all = builtin();
        assert!(all.len() >= 20, "{}", all.len());
        for v in all {
            assert!(!v.company.is_empty() && v.country.len() == 2, "{}", v.id);
            assert!(v.privacy_policy_url.starts_with("https://"), "{}", v.id);
            assert!(!v.purposes["nl"].is_empty() && !v.purposes["en"].is_empty(), "{}", v.id);
            for c in &v.cookies {
                assert!(
                    c.purposes.contains_key("nl"),
                    "{}: {} has no Dutch purpose",
                    v.id,
                    c.name
                );
            }
            for lang in ["nl", "en"] {
                let mut config = SiteConfig::starter();
                config.languages = vec![lang.to_owned()];
                config.services.push(v.to_service(lang));
                config.validate().unwrap_or_else(|e| panic!("{}: {e}", v.id));
            }
        }
        // Every vendor at once, too (ids are unique).
        let mut config = SiteConfig::starter();
        config.services = all.iter().map(|v| v.to_service("nl")).collect();
        config.validate().unwrap();
    }

    /// Every signature file is in the catalogue: the scanner's platforms and
    /// the catalogue's vendors are one list, plus the vendors without rules.
    #[test]
    fn every_signature_file_has_a_vendor() {
        for (file, text) in crate::loader::SIGNATURE_FILES.iter().chain(VENDOR_FILES) {
            assert!(parse(file, text).unwrap().is_some(), "{file} has no [catalogue]");
        }
        assert_eq!(
            builtin().len(),
            crate::loader::SIGNATURE_FILES.len() + VENDOR_FILES.len()
        );
    }

    #[test]
    fn a_vendor_becomes_a_service_in_its_category_with_its_cookies() {
        let ga = vendor("ga4").unwrap();
        let s = ga.to_service("nl");
        assert_eq!((s.id.as_str(), s.category.as_str()), ("ga4", "analytics"));
        assert_eq!(s.provider, "Google Ireland Limited");
        assert!(s.hosts.contains(&"*.google-analytics.com".to_owned()));
        let c = s.cookies.iter().find(|c| c.name == "_ga").unwrap();
        assert_eq!((c.retention_days, c.retention.as_str()), (Some(730), "2 jaar"));
        assert_eq!(c.country, "IE");
        assert_eq!(c.legal_basis, LegalBasis::Consent);
        let meta = vendor("meta-pixel").unwrap().to_service("en");
        assert_eq!(meta.category, "marketing");
        assert!(
            meta.cookies
                .iter()
                .any(|c| c.name == "_fbp" && c.retention == "3 months")
        );
        // A vendor without scanner rules, with hosts of its own.
        let yt = vendor("youtube").unwrap();
        assert!(!yt.hosts.is_empty());
        assert!(vendor("stripe").is_some_and(|v| v.category == "necessary"));
    }

    #[test]
    fn lifetimes_read_as_people_say_them() {
        assert_eq!(lifetime(Some(730), false, "nl"), "2 jaar");
        assert_eq!(lifetime(Some(365), false, "en"), "1 year");
        assert_eq!(lifetime(Some(390), false, "en"), "13 months");
        assert_eq!(lifetime(Some(90), false, "nl"), "3 maanden");
        assert_eq!(lifetime(Some(1), false, "nl"), "1 dag");
        assert_eq!(lifetime(Some(395), false, "en"), "395 days");
        assert_eq!(lifetime(None, true, "nl"), "sessie");
        assert_eq!(lifetime(None, false, "en"), "");
    }

    #[test]
    fn search_finds_by_name_company_and_cookie() {
        let ga = vendor("ga4").unwrap();
        assert!(ga.matches("") && ga.matches("analytics") && ga.matches("GOOGLE") && ga.matches("_gid"));
        assert!(!ga.matches("facebook"));
    }

    #[test]
    fn bad_files_are_named() {
        let ok = r#"id = "x"
name = "X"
category = "marketing"
[catalogue]
company = "X B.V."
country = "NL"
privacy_policy = "https://x.example/privacy"
purpose.nl = "Advertenties"
purpose.en = "Ads"
hosts = ["*.x.example"]
[[cookie]]
name = "_x"
purpose = "X id"
retention_days = 30
"#;
        let v = parse("x.toml", ok).unwrap().unwrap();
        assert_eq!(v.cookies[0].lifetime("en"), "1 month");
        assert_eq!(
            parse("y.toml", "id = \"y\"\nname = \"Y\"\ncategory = \"analytics\"\n"),
            Ok(None)
        );
        for (bad, says) in [
            (ok.replace("\"NL\"", "\"nl\""), "catalogue.country"),
            (ok.replace("https://x.example", "http://x.example"), "privacy_policy"),
            (ok.replace("purpose.nl = \"Advertenties\"\n", ""), "purpose.nl"),
            (ok.replace("*.x.example", "X.example/"), "hosts"),
            (ok.replace("name = \"_x\"", "name = \"a b\""), "cookie/0/name"),
            (ok.replace("company", "kompany"), "x.toml"),
            (
                ok.replace("retention_days = 30", "retention_days = 30\nsession = true"),
                "session",
            ),
        ] {
            let e = parse("x.toml", &bad).unwrap_err().to_string();
            assert!(e.starts_with("x.toml") && e.contains(says), "{says}: {e}");
        }
        let big = format!("{ok}#{}", "x".repeat(MAX_FILE_BYTES));
        assert!(matches!(parse("x.toml", &big), Err(CatalogueError::TooLarge { .. })));
        let e = from_texts([("a.toml", ok), ("b.toml", ok)]).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}
