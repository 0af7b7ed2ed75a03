//! The knowledge base: what each ad, analytics and session-recording platform
//! looks like on the wire, loaded from the TOML files in `scanner/signatures/`.
//!
//! The files are embedded at build time so the binary works on its own; a
//! newer copy can be loaded from a directory without rebuilding.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The embedded files, in a fixed order so reports are stable. The list is
/// consent-core's: the loader's built-in tracker list comes from the same
/// files (their `block` lists).
const BUILT_IN: &[(&str, &str)] = consent_core::loader::SIGNATURE_FILES;
const BUILT_IN_VERSION: &str = include_str!("../signatures/VERSION");

/// Files larger than this are refused: the knowledge base is hand-written.
const MAX_FILE_BYTES: u64 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Advertising,
    Analytics,
    SessionRecording,
    TagManager,
}

impl Kind {
    /// Whether requests to this kind of platform track visitors (a tag
    /// manager only loads other tags, which are judged on their own).
    pub fn tracks(self) -> bool {
        !matches!(self, Kind::TagManager)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Script,
    Beacon,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdSource {
    Url,
    Body,
    Inline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    Sha256Hex,
    GoogleEc,
    Plain,
    Any,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    First,
    Third,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformFile {
    id: String,
    name: String,
    vendor: String,
    kind: Kind,
    category: String,
    #[serde(default)]
    retargeting: bool,
    #[serde(default)]
    block: Vec<String>,
    #[serde(default)]
    sources: BTreeMap<String, String>,
    #[serde(default)]
    endpoint: Vec<EndpointFile>,
    #[serde(default)]
    account_id: Vec<IdFile>,
    #[serde(default)]
    pii: Vec<PiiParam>,
    #[serde(default)]
    inline_pii: Vec<InlinePiiFile>,
    #[serde(default)]
    cookie: Vec<CookieSig>,
    /// The vendor as the dashboard's catalogue offers it (who, where, why):
    /// `consent_core::catalogue` reads it; the scanner has no use for it.
    #[serde(default, rename = "catalogue")]
    _catalogue: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointFile {
    role: Role,
    #[serde(rename = "match")]
    pattern: String,
    #[serde(default)]
    needs_id: bool,
    #[serde(default)]
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdFile {
    #[serde(rename = "in")]
    source: IdSource,
    pattern: String,
    label: String,
    /// Prepended to a captured id that lacks it, so every pattern of a
    /// platform gives the one form the vendor writes (`AW-123456789`).
    #[serde(default)]
    prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InlinePiiFile {
    pattern: String,
    field: String,
    #[serde(default)]
    source: String,
}

/// A parameter that carries personal data to this platform.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiParam {
    pub param: String,
    pub field: String,
    pub encoding: Encoding,
    #[serde(default)]
    pub source: String,
}

/// A cookie this platform sets.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookieSig {
    pub name: String,
    pub party: Party,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// A session cookie (no `retention_days`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub session: bool,
    /// `purpose` in Dutch, for the catalogue (`consent_core::catalogue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_nl: Option<String>,
    #[serde(default)]
    pub source: String,
}

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub role: Role,
    host: String,
    path: String,
    pub needs_id: bool,
    pub source: String,
}

#[derive(Clone, Debug)]
pub struct IdPattern {
    pub source: IdSource,
    pub regex: Regex,
    pub label: String,
    /// See the file's `prefix`: the id's one written form.
    pub prefix: Option<String>,
}

#[derive(Clone, Debug)]
pub struct InlinePii {
    pub regex: Regex,
    pub field: String,
    pub source: String,
}

#[derive(Clone, Debug)]
pub struct Platform {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub kind: Kind,
    pub category: String,
    pub retargeting: bool,
    /// Hosts (with their subdomains) the Keurmerk loader holds back until
    /// `category` is allowed, even on a site that did not declare the
    /// platform (`consent_core::loader::builtin_trackers`).
    pub block: Vec<String>,
    pub sources: BTreeMap<String, String>,
    pub endpoints: Vec<Endpoint>,
    pub ids: Vec<IdPattern>,
    pub pii: Vec<PiiParam>,
    pub inline_pii: Vec<InlinePii>,
    pub cookies: Vec<CookieSig>,
}

/// An account or pixel id found for a platform.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountId {
    pub label: String,
    pub value: String,
}

impl Platform {
    /// The endpoint a URL's host and path fall under, if any.
    pub fn endpoint_for(&self, host: &str, path: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| host_glob(&e.host, host) && glob(&e.path, path))
    }

    /// Ids extracted from a piece of text of the given kind.
    pub fn extract_ids(&self, source: IdSource, text: &str) -> Vec<AccountId> {
        let mut out = Vec::new();
        for p in self.ids.iter().filter(|p| p.source == source) {
            for caps in p.regex.captures_iter(text).take(16) {
                if let Some(m) = caps.get(1) {
                    let value = match &p.prefix {
                        Some(prefix) if !m.as_str().starts_with(prefix.as_str()) => format!("{prefix}{}", m.as_str()),
                        _ => m.as_str().to_owned(),
                    };
                    let id = AccountId {
                        label: p.label.clone(),
                        value,
                    };
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
        out
    }

    pub fn cookie_sig(&self, name: &str) -> Option<&CookieSig> {
        self.cookies
            .iter()
            .find(|c| consent_core::config::cookie_name_matches(&c.name, name))
    }

    /// Resolves a fact's source key to its URL (or returns the text as is).
    pub fn cite(&self, key: &str) -> String {
        self.sources.get(key).cloned().unwrap_or_else(|| key.to_owned())
    }
}

/// Where a URL leads in the knowledge base.
#[derive(Clone, Debug)]
pub struct UrlMatch<'a> {
    pub platform: &'a Platform,
    pub role: Role,
    pub ids: Vec<AccountId>,
}

#[derive(Clone, Debug)]
pub struct KnowledgeBase {
    pub version: String,
    pub platforms: Vec<Platform>,
}

impl KnowledgeBase {
    /// The knowledge base compiled into this binary.
    pub fn builtin() -> Self {
        let files = BUILT_IN.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned()));
        Self::from_texts(BUILT_IN_VERSION.trim(), files).expect("built-in signatures are valid")
    }

    /// No platforms at all (tests that want only another source of knowledge).
    pub fn empty() -> Self {
        KnowledgeBase {
            version: "empty".into(),
            platforms: Vec::new(),
        }
    }

    /// Loads every `*.toml` in a directory (and its `VERSION` file).
    pub fn from_dir(dir: &Path) -> Result<Self, SignatureError> {
        let io = |path: &Path, source| SignatureError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut files = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        for path in entries {
            let len = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
            if len > MAX_FILE_BYTES {
                return Err(SignatureError::Invalid {
                    file: path.display().to_string(),
                    message: format!("larger than {MAX_FILE_BYTES} bytes"),
                });
            }
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            files.push((path.display().to_string(), text));
        }
        let version = std::fs::read_to_string(dir.join("VERSION")).unwrap_or_else(|_| "unversioned".into());
        Self::from_texts(version.trim(), files)
    }

    pub fn from_texts(
        version: &str,
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SignatureError> {
        let mut platforms: Vec<Platform> = Vec::new();
        for (file, text) in files {
            let p = parse_file(&file, &text)?;
            if platforms.iter().any(|o| o.id == p.id) {
                return Err(SignatureError::Invalid {
                    file,
                    message: format!("duplicate platform id {:?}", p.id),
                });
            }
            platforms.push(p);
        }
        Ok(KnowledgeBase {
            version: version.to_owned(),
            platforms,
        })
    }

    pub fn platform(&self, id: &str) -> Option<&Platform> {
        self.platforms.iter().find(|p| p.id == id)
    }

    /// Every platform a URL belongs to, with the ids found in it. A shared
    /// loader (gtag.js) counts for a platform only when that platform's id is
    /// in the URL.
    pub fn match_url(&self, url: &url::Url) -> Vec<UrlMatch<'_>> {
        let Some(host) = url.host_str() else {
            return Vec::new();
        };
        // Patterns are written against decoded brackets (`ud[em]`).
        let text = decode_for_matching(url.as_str());
        let mut out = Vec::new();
        for p in &self.platforms {
            if let Some(e) = p.endpoint_for(host, url.path()) {
                let ids = p.extract_ids(IdSource::Url, &text);
                if e.needs_id && ids.is_empty() {
                    continue;
                }
                out.push(UrlMatch {
                    platform: p,
                    role: e.role,
                    ids,
                });
            }
        }
        out
    }

    /// The platform whose signature names this cookie. First-party
    /// signatures match anywhere; third-party ones only on their domain.
    pub fn match_cookie(&self, name: &str, domain: &str) -> Option<(&Platform, &CookieSig)> {
        self.match_cookie_all(name, domain).into_iter().next()
    }

    /// Every platform whose signature names this cookie, in knowledge-base
    /// order: several products of one vendor set the same cookie (`IDE` on
    /// doubleclick.net is Google Ads' and Floodlight's), and which one set
    /// it is for the setter to say ([`KnowledgeBase::match_cookie_from`]).
    pub fn match_cookie_all(&self, name: &str, domain: &str) -> Vec<(&Platform, &CookieSig)> {
        let domain = domain.trim_start_matches('.');
        self.platforms
            .iter()
            .filter_map(|p| {
                p.cookies
                    .iter()
                    .find(|c| {
                        consent_core::config::cookie_name_matches(&c.name, name)
                            && c.domain.as_deref().is_none_or(|d| {
                                let d = d.trim_start_matches('.');
                                domain == d || domain.ends_with(&format!(".{d}"))
                            })
                    })
                    .map(|c| (p, c))
            })
            .collect()
    }

    /// The platform a cookie belongs to, given who set it: among the
    /// platforms whose signature names it, the one a setter's URL (the
    /// response that sent `Set-Cookie`, the script that wrote it) belongs
    /// to; else one of `present` (the platforms the scan found on the
    /// site); else the first by name. So a cookie set by one product's
    /// beacon is never put down to another product the site does not use.
    pub fn match_cookie_from(
        &self,
        name: &str,
        domain: &str,
        setters: &[&str],
        present: &[&str],
    ) -> Option<(&Platform, &CookieSig)> {
        let candidates = self.match_cookie_all(name, domain);
        let by_setter = setters.iter().find_map(|u| {
            let url = url::Url::parse(u).ok()?;
            let owners = self.match_url(&url);
            candidates
                .iter()
                .find(|(p, _)| owners.iter().any(|m| m.platform.id == p.id))
                .copied()
        });
        by_setter
            .or_else(|| {
                candidates
                    .iter()
                    .find(|(p, _)| present.contains(&p.id.as_str()))
                    .copied()
            })
            .or_else(|| candidates.first().copied())
    }
}

/// Percent-decodes brackets and the like so patterns read like documentation.
pub fn decode_for_matching(s: &str) -> String {
    percent_decode(s)
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn glob(pattern: &str, text: &str) -> bool {
    consent_core::config::cookie_name_matches(pattern, text)
}

/// The host token for "any of the vendor's country domains": Google sends
/// beacons to the visitor's own `www.google.<TLD>`, and its tag
/// documentation names them only as such.
const TLD_TOKEN: &str = ".<tld>";

/// A host glob; `name.<tld>` matches `name.` followed by exactly one ICANN
/// public suffix (`www.google.nl`, `www.google.co.uk`), so a look-alike
/// such as `www.google.com.evil.example` does not, as a `*` would.
fn host_glob(pattern: &str, host: &str) -> bool {
    let Some(name) = pattern.strip_suffix(TLD_TOKEN) else {
        return glob(pattern, host);
    };
    let Some(rest) = host
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix('.'))
        .filter(|r| !r.is_empty())
    else {
        return false;
    };
    psl::suffix(rest.as_bytes()).is_some_and(|s| s.typ() == Some(psl::Type::Icann) && s.as_bytes() == rest.as_bytes())
}

fn parse_file(file: &str, text: &str) -> Result<Platform, SignatureError> {
    let raw: PlatformFile = toml::from_str(text).map_err(|e| SignatureError::Invalid {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    build(file, raw)
}

fn build(file: &str, raw: PlatformFile) -> Result<Platform, SignatureError> {
    let invalid = |message: String| SignatureError::Invalid {
        file: file.to_owned(),
        message,
    };
    let regex = |p: &str| {
        regex::RegexBuilder::new(p)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| invalid(format!("pattern {p:?}: {e}")))
    };
    for h in &raw.block {
        let bare = !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bare {
            return Err(invalid(format!("block {h:?} is not a lower-case host name")));
        }
    }
    let mut endpoints = Vec::new();
    for e in raw.endpoint {
        let (host, path) = match e.pattern.split_once('/') {
            Some((h, p)) => (h.to_owned(), format!("/{p}")),
            None => (e.pattern.clone(), "/*".to_owned()),
        };
        if host.is_empty() {
            return Err(invalid(format!("endpoint {:?} has no host", e.pattern)));
        }
        endpoints.push(Endpoint {
            role: e.role,
            host,
            path,
            needs_id: e.needs_id,
            source: e.source,
        });
    }
    let mut ids = Vec::new();
    for i in raw.account_id {
        ids.push(IdPattern {
            source: i.source,
            regex: regex(&i.pattern)?,
            label: i.label,
            prefix: i.prefix,
        });
    }
    let mut inline_pii = Vec::new();
    for i in raw.inline_pii {
        inline_pii.push(InlinePii {
            regex: regex(&i.pattern)?,
            field: i.field,
            source: i.source,
        });
    }
    Ok(Platform {
        id: raw.id,
        name: raw.name,
        vendor: raw.vendor,
        kind: raw.kind,
        category: raw.category,
        retargeting: raw.retargeting,
        block: raw.block,
        sources: raw.sources,
        endpoints,
        ids,
        pii: raw.pii,
        inline_pii,
        cookies: raw.cookie,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_covers_the_required_platforms_and_cites_every_fact() {
        let kb = KnowledgeBase::builtin();
        for id in [
            "meta-pixel",
            "google-ads",
            "floodlight",
            "x-twitter",
            "linkedin-insight",
            "tiktok",
            "pinterest",
            "snap",
            "criteo",
            "adroll",
            "microsoft-uet",
            "ga4",
            "matomo",
            "plausible",
            "hotjar",
            "microsoft-clarity",
        ] {
            assert!(kb.platform(id).is_some(), "{id} missing");
        }
        for p in &kb.platforms {
            let cited = |key: &str| key.starts_with("https://") || p.sources.contains_key(key);
            for e in &p.endpoints {
                assert!(
                    cited(&e.source),
                    "{}: endpoint source {:?} not in [sources]",
                    p.id,
                    e.source
                );
            }
            for k in &p.pii {
                assert!(cited(&k.source), "{}: pii source {:?}", p.id, k.source);
            }
            for c in &p.cookies {
                assert!(cited(&c.source), "{}: cookie source {:?}", p.id, c.source);
            }
            for i in &p.inline_pii {
                assert!(cited(&i.source), "{}: inline source {:?}", p.id, i.source);
            }
        }
        // The copy on disk is the one embedded.
        let disk = KnowledgeBase::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures")).unwrap();
        assert_eq!(disk.platforms.len(), kb.platforms.len());
    }

    #[test]
    fn urls_name_platform_and_account() {
        let kb = KnowledgeBase::builtin();
        let one = |u: &str| {
            let m = kb.match_url(&url::Url::parse(u).unwrap());
            m.iter()
                .map(|m| {
                    (
                        m.platform.id.clone(),
                        m.ids.iter().map(|i| i.value.clone()).collect::<Vec<_>>(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            one("https://www.googletagmanager.com/gtag/js?id=AW-123456789"),
            vec![("google-ads".to_owned(), vec!["AW-123456789".to_owned()])]
        );
        assert_eq!(
            one("https://www.googletagmanager.com/gtag/js?id=G-ABC123XYZ")[0].0,
            "ga4"
        );
        assert_eq!(
            one("https://www.googletagmanager.com/gtag/js?id=DC-1234567")[0].0,
            "floodlight"
        );
        assert!(one("https://www.googletagmanager.com/gtag/js?id=nothing").is_empty());
        assert_eq!(
            one("https://www.facebook.com/tr/?id=1234567890&ev=PageView")[0].1,
            vec!["1234567890"]
        );
        assert_eq!(
            one("https://ad.doubleclick.net/activity;src=1234567;type=sales;cat=buy;ord=1")[0].1,
            vec!["DC-1234567"],
            "one id form per platform: the advertiser id as Floodlight's tags write it"
        );
        assert_eq!(
            one("https://px.ads.linkedin.com/collect?pid=98765&fmt=gif")[0].0,
            "linkedin-insight"
        );
        assert_eq!(
            one("https://bat.bing.com/action/0?ti=1234567&evt=pageLoad")[0].1,
            vec!["1234567"]
        );
        assert_eq!(
            one("https://stats.shop.example/matomo.php?idsite=3&rec=1")[0].1,
            vec!["3"]
        );
        // Host and path globs are separate: a look-alike path on another host is nothing.
        assert!(one("https://evil.example/x.criteo.com/event").is_empty());
        assert!(one("https://www.facebook.com.evil.example/tr?id=1234567890").is_empty());
    }

    /// Session recorders (EDPB Guidelines 2/2023 on art. 5(3)): LogRocket,
    /// Mouseflow and Smartlook are named by their scripts and beacons, with
    /// their ids, as Hotjar, Clarity and FullStory are.
    #[test]
    fn session_recorders_are_named() {
        let kb = KnowledgeBase::builtin();
        for (u, want, id) in [
            ("https://cdn.logr-in.com/LogRocket.min.js", "logrocket", None),
            ("https://r.lr-ingest.io/i?a=acme%2Fshop&r=1", "logrocket", None),
            (
                "https://cdn.mouseflow.com/projects/0f8f0a5e-3b5e-4c52-9a1b-2f2f2f2f2f2f.js",
                "mouseflow",
                Some("0f8f0a5e-3b5e-4c52-9a1b-2f2f2f2f2f2f"),
            ),
            ("https://o2.mouseflow.com/websites/x/sessions", "mouseflow", None),
            ("https://web-sdk.smartlook.com/recorder.js", "smartlook", None),
            ("https://web-writer.eu.smartlook.cloud/rec/v2/write", "smartlook", None),
        ] {
            let m = kb.match_url(&url::Url::parse(u).unwrap());
            let p = m.first().unwrap_or_else(|| panic!("{u} is not named"));
            assert_eq!(p.platform.id, want, "{u}");
            assert_eq!(p.platform.kind, Kind::SessionRecording, "{u}");
            assert_eq!(p.ids.first().map(|i| i.value.as_str()), id, "{u}");
        }
        let logrocket = kb.platform("logrocket").unwrap();
        let ids = logrocket.extract_ids(
            IdSource::Inline,
            "window.LogRocket && window.LogRocket.init('acme/shop');",
        );
        assert_eq!(ids.iter().map(|i| i.value.as_str()).collect::<Vec<_>>(), ["acme/shop"]);
        let smartlook = kb.platform("smartlook").unwrap();
        let key = "a".repeat(40);
        let ids = smartlook.extract_ids(
            IdSource::Inline,
            &format!("smartlook('init', '{key}', {{ region: 'eu' }});"),
        );
        assert_eq!(ids.len(), 1);
        assert_eq!(
            kb.match_cookie("mf_user", "shop.example").map(|(p, _)| p.id.as_str()),
            Some("mouseflow")
        );
    }

    /// Every Google Ads conversion and enhanced-conversion path names
    /// Google Ads and its conversion id, on each host Google's CSP guide
    /// lists for the Ads tags (the country domains included); look-alike
    /// hosts name nothing.
    #[test]
    fn google_ads_conversion_paths() {
        let kb = KnowledgeBase::builtin();
        let ads = |u: &str| {
            let m = kb.match_url(&url::Url::parse(u).unwrap());
            let first = m.first().map(|m| (m.platform.id.clone(), m.role, m.ids.clone()));
            first.filter(|(id, _, _)| id == "google-ads")
        };
        for u in [
            "https://www.googleadservices.com/pagead/conversion/123456789/?label=AbC&guid=ON&script=0",
            "https://googleads.g.doubleclick.net/pagead/conversion/123456789/?label=AbC&value=1",
            "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/123456789/?random=1",
            "https://www.google.com/pagead/1p-conversion/123456789/?em=tv.1~em.x",
            "https://www.google.nl/pagead/1p-conversion/123456789/?em=tv.1~em.x",
            "https://www.google.co.uk/pagead/1p-user-list/123456789/?random=1",
            "https://google.com/pagead/1p-conversion/123456789/",
            "https://google.com/pagead/1p-user-list/123456789/",
            "https://www.google.com/pagead/form-data/123456789?em=tv.1~em.x",
            "https://www.google.com/rmkt/collect/123456789/",
        ] {
            let (_, role, ids) = ads(u).unwrap_or_else(|| panic!("{u} is not Google Ads"));
            assert_eq!(role, Role::Beacon, "{u}");
            // One id form per platform: the conversion id as Google's
            // tags write it (`AW-…`), wherever it was read.
            assert_eq!(
                ids.iter().map(|i| i.value.as_str()).collect::<Vec<_>>(),
                ["AW-123456789"],
                "{u}"
            );
        }
        for u in [
            "https://www.google.com/ccm/collect?en=conversion",
            "https://google.com/ccm/collect?en=conversion",
            "https://googleads.g.doubleclick.net/pagead/landing?gclid=x",
        ] {
            assert!(ads(u).is_some(), "{u}");
        }
        let (_, role, _) = ads("https://www.googleadservices.com/pagead/conversion_async.js").unwrap();
        assert_eq!(role, Role::Script);
        for u in [
            "https://www.google.com.evil.example/pagead/1p-conversion/123456789/",
            "https://www.google.github.io/pagead/1p-conversion/123456789/",
            "https://www.googlex.nl/pagead/1p-conversion/123456789/",
            "https://www.google.nl/search?q=1p-conversion",
        ] {
            assert!(kb.match_url(&url::Url::parse(u).unwrap()).is_empty(), "{u}");
        }
        // The legacy tag names its id in the page.
        let p = kb.platform("google-ads").unwrap();
        let ids = p.extract_ids(
            IdSource::Inline,
            "var google_conversion_id = 857395262; var google_remarketing_only = true;",
        );
        assert_eq!(ids[0].value, "AW-857395262");
    }

    /// A cookie several platforms name goes to the one whose response or
    /// script set it, then to one the site uses, then to the first by name.
    #[test]
    fn shared_cookie_names_follow_their_setter() {
        let kb = KnowledgeBase::builtin();
        let owner = |setters: &[&str], present: &[&str]| {
            kb.match_cookie_from("IDE", ".doubleclick.net", setters, present)
                .map(|(p, _)| p.id.clone())
                .unwrap()
        };
        let ads = "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/123456789/";
        let fl = "https://ad.doubleclick.net/activity;src=7654321;type=sales;cat=buy;ord=1";
        assert_eq!(owner(&[ads], &[]), "google-ads");
        assert_eq!(owner(&[fl], &[]), "floodlight");
        assert_eq!(owner(&[fl], &["google-ads"]), "floodlight");
        assert_eq!(owner(&["https://cdn.example/x.js"], &["floodlight"]), "floodlight");
        assert_eq!(owner(&[], &["google-ads", "floodlight"]), "google-ads");
        assert_eq!(kb.match_cookie_all("IDE", "doubleclick.net").len(), 2);
        // A first-party name one platform alone claims is unaffected.
        assert_eq!(
            kb.match_cookie_from("_gcl_au", "shop.example", &[fl], &["floodlight"])
                .unwrap()
                .0
                .id,
            "google-ads"
        );
    }

    /// The loader's built-in tracker list is the signatures' `block` lists:
    /// what consent-core reads without a TOML parser is what the scanner
    /// reads with one, file by file, and a rendered loader carries exactly
    /// these hosts under these categories.
    #[test]
    fn the_loader_blocks_the_hosts_the_signatures_name() {
        let kb = KnowledgeBase::builtin();
        for ((file, text), p) in BUILT_IN.iter().zip(&kb.platforms) {
            let (category, block) = consent_core::loader::signature_block(text).unwrap();
            assert_eq!((&category, &block), (&p.category, &p.block), "{file}");
        }
        let mut from_signatures: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
        for p in &kb.platforms {
            from_signatures
                .entry(&p.category)
                .or_default()
                .extend(p.block.iter().map(String::as_str));
        }
        from_signatures.retain(|_, hosts| !hosts.is_empty());

        let config = consent_core::config::SiteConfig::starter();
        let site = consent_core::id::SiteId::parse("demo").unwrap();
        let version = config.version();
        let rules = consent_core::loader::rules(&consent_core::loader::LoaderContext {
            site: &site,
            version: &version,
            config: &config,
            base_url: "https://consent.example",
        });
        let rendered: BTreeMap<&str, std::collections::BTreeSet<&str>> = rules["b"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(c, hosts)| (c.as_str(), hosts.as_str().unwrap().split(' ').collect()))
            .collect();
        assert_eq!(rendered, from_signatures);
        assert!(rendered["marketing"].contains("facebook.net"));
    }

    #[test]
    fn bad_files_are_named() {
        let e = KnowledgeBase::from_texts("1", [("x.toml".to_owned(), "id = 3".to_owned())]).unwrap_err();
        assert!(e.to_string().starts_with("x.toml"), "{e}");
        let bad_regex = r#"id = "x"
name = "X"
vendor = "X"
kind = "advertising"
category = "marketing"
[[account_id]]
in = "url"
pattern = "("
label = "id"
"#;
        let e = KnowledgeBase::from_texts("1", [("y.toml".to_owned(), bad_regex.to_owned())]).unwrap_err();
        assert!(e.to_string().contains("pattern"), "{e}");
        let bad_block = "id = \"x\"\nname = \"X\"\nvendor = \"X\"\nkind = \"advertising\"\ncategory = \"marketing\"\nblock = [\"x.example/tr\"]\n";
        let e = KnowledgeBase::from_texts("1", [("z.toml".to_owned(), bad_block.to_owned())]).unwrap_err();
        assert!(e.to_string().contains("not a lower-case host name"), "{e}");
    }
}
