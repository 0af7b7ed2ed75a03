//! The per-site synchronous loader script.
//!
//! The server answers `GET /s/{site}/loader.js` with [`render`]: the loader
//! template (owned by `consent-widget`, plain JS) with the site's blocking
//! rules and Consent Mode defaults baked in, so the loader needs no network
//! round trip before it can block trackers.
//!
//! The rules are one compact JSON literal (short keys, because every visitor
//! downloads them on every cache miss):
//!
//! | key | meaning |
//! |---|---|
//! | `s` | site id |
//! | `v` | configuration version (SHA-256 hex) |
//! | `f` | purposes fingerprint: changes only when categories or services change, so a text edit does not ask again |
//! | `a` | the server's base URL |
//! | `e` | decision lifetime in days |
//! | `w` | Consent Mode `wait_for_update` in ms |
//! | `c` | category ids in display order; `r` the required ones |
//! | `m` | Consent Mode signal -> categories that must all be granted |
//! | `h` | `[host, category, service]` per declared host (`*.` = subdomains) |
//! | `b` | category -> space-separated hosts (each with its subdomains) of well-known trackers, held back even when the site declared none of them: [`builtin_trackers`] for the site's categories |
//! | `n` | months a refusal is remembered ([`SiteConfig::refusal_months`]) |
//! | `d` | the decision cookie's domain, when the site shares it across subdomains (absent otherwise) |
//! | `y` | the site's theme as CSS ([`crate::config::Theme::css`]), added to the widget's stylesheet (absent for the default look) |
//! | `x` | vendor consent API (`fbq`, `ttq`, `uetq`, `clarity`) -> `[category, service]` of each declared service that is that vendor's ([`vendor_apis`]; absent when none) |
//! | `l` | languages offered, the first being the fallback |
//! | `t` | language -> the few texts the loader shows itself, in [`LOADER_TEXT_KEYS`] order (reopen control, embed placeholders); English built-ins for a language without its own |
//! | `u` | language -> the banner's first layer ([`crate::banner::first_layer`]), which the loader shows on a first visit in the task that installs the blocker, with no further request (its stylesheet is in the template) |
//!
//! What only the UI needs (declared cookies, which categories GPC refuses,
//! the dialog's texts) comes with the site's configuration when the UI
//! loads. A returning visitor with a decision uses the loader from the
//! browser's cache (see [`CACHE_CONTROL`]) and downloads nothing else.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{ConfigVersion, SiteConfig};
use crate::id::SiteId;

/// One entry of [`SIGNATURE_FILES`]: the file's name and text.
macro_rules! signature {
    ($name:literal) => {
        ($name, include_str!(concat!("../../scanner/signatures/", $name)))
    };
}

/// Where the loader finds the server and the widget's assets.
pub struct LoaderContext<'a> {
    /// The site the loader is for.
    pub site: &'a SiteId,
    /// The version of `config`, which the loader names in every decision.
    pub version: &'a ConfigVersion,
    /// The site's current configuration, whose blocking rules go into the loader.
    pub config: &'a SiteConfig,
    /// The server's public base URL as the browser reaches it, e.g.
    /// `https://consent.example.nl` (no trailing slash).
    pub base_url: &'a str,
}

/// `Cache-Control` of `GET /s/{site}/loader.js`.
///
/// The loader is a synchronous script at the top of `<head>`: whenever the
/// browser has to ask the server for it, the page's parsing waits one round
/// trip. It also carries the site's blocking rules, so a changed
/// configuration must reach visitors soon. Hence:
/// - `max-age=300`: a visitor browsing the site sends no request for the
///   loader for five minutes (a new configuration waits at most that long);
/// - `stale-while-revalidate=86400`: for a day after that the cached loader
///   still runs at once while the browser revalidates it in the background
///   (a `304` of a few hundred bytes, or the new loader, used from the next
///   page on), so a returning visitor never waits for that round trip and at
///   most one page view runs rules older than five minutes;
/// - past that day the browser revalidates before running it (`ETag`, `304`).
pub const CACHE_CONTROL: &str = "public, max-age=300, stale-while-revalidate=86400";

/// The identifier in the template that [`render`] replaces with the rules.
pub const RULES_PLACEHOLDER: &str = "__KEURMERK_RULES__";

/// Text keys the loader itself shows; the site may override each through
/// `texts` like any other widget text.
pub const LOADER_TEXT_KEYS: [&str; 4] = ["reopen", "blocked", "once", "always"];

/// Built-in loader texts for [`crate::config::BUILT_IN_LANGUAGES`], in
/// [`LOADER_TEXT_KEYS`] order.
const LOADER_TEXTS: [(&str, [&str; 4]); 4] = [
    (
        "nl",
        [
            "Cookie-instellingen",
            "Geblokkeerd tot u toestemming geeft: ",
            "Eén keer toestaan",
            "Altijd toestaan",
        ],
    ),
    (
        "en",
        [
            "Cookie settings",
            "Blocked until you allow: ",
            "Allow once",
            "Always allow",
        ],
    ),
    (
        "de",
        [
            "Cookie-Einstellungen",
            "Blockiert, bis Sie zustimmen: ",
            "Einmal erlauben",
            "Immer erlauben",
        ],
    ),
    (
        "fr",
        [
            "Paramètres des cookies",
            "Bloqué jusqu'à votre accord : ",
            "Autoriser une fois",
            "Toujours autoriser",
        ],
    ),
];

/// The built-in loader text number `i` of [`LOADER_TEXT_KEYS`] in `lang`
/// (English for a language without its own), as the loader shows it when
/// the site does not replace it.
pub fn built_in_loader_text(lang: &str, i: usize) -> &'static str {
    let english = &LOADER_TEXTS[1].1;
    let texts = LOADER_TEXTS
        .iter()
        .find(|(l, _)| *l == lang)
        .map_or(english, |(_, t)| t);
    texts.get(i).copied().unwrap_or_default()
}

/// The scanner's signature files (`scanner/signatures/`), one per platform.
///
/// The scanner's built-in knowledge base is these files; the loader's
/// built-in tracker list is their `block` lists ([`builtin_trackers`]). One
/// list of files and one place per fact, so the two cannot drift apart: a
/// host added to a platform's `block` is blocked by every loader rendered
/// after the next build. In a fixed order, so scan reports are stable.
pub const SIGNATURE_FILES: &[(&str, &str)] = &[
    signature!("meta-pixel.toml"),
    signature!("google-ads.toml"),
    signature!("floodlight.toml"),
    signature!("x-twitter.toml"),
    signature!("linkedin-insight.toml"),
    signature!("tiktok.toml"),
    signature!("pinterest.toml"),
    signature!("snap.toml"),
    signature!("criteo.toml"),
    signature!("adroll.toml"),
    signature!("microsoft-uet.toml"),
    signature!("ga4.toml"),
    signature!("google-tag-manager.toml"),
    signature!("matomo.toml"),
    signature!("plausible.toml"),
    signature!("hotjar.toml"),
    signature!("microsoft-clarity.toml"),
    signature!("fullstory.toml"),
    signature!("logrocket.toml"),
    signature!("mouseflow.toml"),
    signature!("smartlook.toml"),
];

/// Well-known tracker hosts the loader holds back until their category is
/// allowed, even on a site that did not declare them (a declared service's
/// hosts take precedence): category -> hosts, a host covering its
/// subdomains. Each signature file's `block` under its `category`, each
/// host once, in file order.
pub fn builtin_trackers() -> &'static [(String, Vec<String>)] {
    static LIST: LazyLock<Vec<(String, Vec<String>)>> = LazyLock::new(|| {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (file, text) in SIGNATURE_FILES {
            let (category, hosts) = signature_block(text).unwrap_or_else(|e| panic!("scanner/signatures/{file}: {e}"));
            if hosts.is_empty() {
                continue;
            }
            let i = match out.iter().position(|(c, _)| *c == category) {
                Some(i) => i,
                None => {
                    out.push((category, Vec::new()));
                    out.len() - 1
                }
            };
            for host in hosts {
                if !out[i].1.contains(&host) {
                    out[i].1.push(host);
                }
            }
        }
        out
    });
    &LIST
}

/// The `category` and `block` (empty when absent) of one signature file.
///
/// Both are top-level keys written on one line, whose TOML values (a basic
/// string, an array of basic strings) are also JSON: read without a TOML
/// parser. The scanner reads the whole file with one, and its tests check
/// that both read the same.
pub fn signature_block(text: &str) -> Result<(String, Vec<String>), String> {
    let mut category = None;
    let mut block = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            break; // the first table: no top-level keys after it
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let bad = |e: serde_json::Error| format!("{} = {value}: {e} (one line, basic strings only)", key.trim());
        match key.trim() {
            "category" => category = Some(serde_json::from_str::<String>(value).map_err(bad)?),
            "block" => block = serde_json::from_str::<Vec<String>>(value).map_err(bad)?,
            _ => {}
        }
    }
    Ok((category.ok_or("no top-level `category`")?, block))
}

/// Vendors whose tags have a consent switch of their own, which the loader
/// calls besides Consent Mode: the global the loader calls (see
/// `consent-widget/loader/source.js`, `vendors`) and the signature file
/// that describes the vendor's tag.
pub const VENDOR_APIS: [(&str, &str); 4] = [
    ("fbq", "meta-pixel.toml"),
    ("ttq", "tiktok.toml"),
    ("uetq", "microsoft-uet.toml"),
    ("clarity", "microsoft-clarity.toml"),
];

/// The declared services that are a vendor of [`VENDOR_APIS`]: vendor API ->
/// `(category, service id)` of each. A service is that vendor's when its id
/// is the signature's `id` or one of its hosts is (or is below) a host of
/// the signature's `block` list.
pub fn vendor_apis(config: &SiteConfig) -> BTreeMap<&'static str, Vec<(String, String)>> {
    let mut out: BTreeMap<&'static str, Vec<(String, String)>> = BTreeMap::new();
    for (api, file) in VENDOR_APIS {
        let Some((_, text)) = SIGNATURE_FILES.iter().find(|(f, _)| *f == file) else {
            continue;
        };
        let (_, block) = signature_block(text).unwrap_or_default();
        let id = signature_id(text);
        for s in &config.services {
            let by_host = s.hosts.iter().any(|h| {
                let h = h.strip_prefix("*.").unwrap_or(h);
                block.iter().any(|b| h == b || h.ends_with(&format!(".{b}")))
            });
            if by_host || id.as_deref() == Some(s.id.as_str()) {
                out.entry(api).or_default().push((s.category.clone(), s.id.clone()));
            }
        }
    }
    out
}

/// A signature file's top-level `id`, read like [`signature_block`] reads.
fn signature_id(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "id")
        .and_then(|(_, v)| serde_json::from_str(v.trim()).ok())
}

/// The purposes fingerprint (`f`): what a visitor agreed to, independent of
/// wording. A decision stays valid across versions with the same fingerprint.
pub fn purposes_fingerprint(config: &SiteConfig) -> String {
    let mut h = Sha256::new();
    for c in &config.categories {
        h.update(c.id.as_bytes());
        h.update(if c.required { b"!\n" } else { b"?\n" });
    }
    h.update(b"--\n");
    for s in &config.services {
        h.update(s.id.as_bytes());
        h.update(b"@");
        h.update(s.category.as_bytes());
        h.update(b"\n");
    }
    h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The rules object baked into the loader (see the module docs for keys).
pub fn rules(cx: &LoaderContext<'_>) -> Value {
    let cfg = cx.config;
    let ids = |pred: &dyn Fn(&crate::config::Category) -> bool| -> Vec<&str> {
        cfg.categories
            .iter()
            .filter(|c| pred(c))
            .map(|c| c.id.as_str())
            .collect()
    };
    let hosts: Vec<Value> = cfg
        .services
        .iter()
        .flat_map(|s| s.hosts.iter().map(move |h| json!([h, s.category, s.id])))
        .collect();
    let builtin: serde_json::Map<String, Value> = builtin_trackers()
        .iter()
        .filter(|(category, _)| cfg.categories.iter().any(|c| c.id == *category))
        .map(|(category, hosts)| (category.clone(), Value::from(hosts.join(" "))))
        .collect();
    let english = &LOADER_TEXTS[1].1;
    let mut texts = BTreeMap::new();
    for lang in &cfg.languages {
        let builtin = LOADER_TEXTS.iter().find(|(l, _)| l == lang).map_or(english, |(_, t)| t);
        let overrides = cfg.texts.get(lang);
        let t: Vec<&str> = LOADER_TEXT_KEYS
            .iter()
            .zip(builtin)
            .map(|(key, builtin)| overrides.and_then(|o| o.get(*key)).map_or(*builtin, String::as_str))
            .collect();
        texts.insert(lang.as_str(), t);
    }
    let mut rules = json!({
        "s": cx.site.as_str(),
        "v": cx.version.0,
        "f": purposes_fingerprint(cfg),
        "a": cx.base_url.trim_end_matches('/'),
        "e": cfg.expiry_days,
        "n": cfg.refusal_months,
        "w": cfg.wait_for_update_ms,
        "c": ids(&|_| true),
        "r": ids(&|c| c.required),
        "m": cfg.consent_mode,
        "h": hosts,
        "b": builtin,
        "l": cfg.languages,
        "t": texts,
        "u": crate::banner::first_layers(cfg),
    });
    // Only when there is something to say: every visitor downloads the rules.
    if let Some(d) = &cfg.cookie_domain {
        rules["d"] = d.as_str().into();
    }
    let vendors = vendor_apis(cfg);
    if !vendors.is_empty() {
        rules["x"] = json!(vendors);
    }
    let theme = cfg.theme.css();
    if !theme.is_empty() {
        rules["y"] = theme.into();
    }
    rules
}

/// JSON made safe to sit inside a `<script>` element or any JS source: no
/// `</script>` or `<!--` (every `<` escaped), and no U+2028/U+2029, which
/// older JS engines treat as line ends inside string literals.
pub fn js_literal(value: &Value) -> String {
    let json = value.to_string();
    let mut out = String::with_capacity(json.len() + 16);
    for ch in json.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the loader for one site from `template`.
///
/// Whole-line comments and indentation are dropped on the way (the template
/// is kept readable in the repository; brotli does the rest).
pub fn render(template: &str, cx: &LoaderContext<'_>) -> String {
    let rules = js_literal(&rules(cx));
    let mut out = String::with_capacity(template.len() + rules.len());
    let mut in_block_comment = false;
    for line in template.lines() {
        let t = line.trim();
        if in_block_comment {
            in_block_comment = !t.ends_with("*/");
            continue;
        }
        if t.starts_with("/*") {
            in_block_comment = !t.ends_with("*/");
            continue;
        }
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        out.push_str(&t.replace(RULES_PLACEHOLDER, &rules));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CookieDecl, Service};

    fn site() -> SiteConfig {
        let mut c = SiteConfig::starter();
        c.services.push(Service {
            id: "meta".into(),
            name: "Meta </script>\u{2028}".into(),
            category: "marketing".into(),
            provider: "Meta Platforms".into(),
            privacy_policy_url: None,
            hosts: vec!["connect.facebook.net".into(), "*.facebook.com".into()],
            cookies: vec![CookieDecl {
                name: "_fbp".into(),
                domain: Some(".example.nl".into()),
                provider: String::new(),
                purpose: String::new(),
                retention: "3 months".into(),
                retention_days: Some(90),
                country: "US".into(),
                legal_basis: Default::default(),
            }],
            description: BTreeMap::new(),
        });
        c.texts.insert(
            "en".into(),
            BTreeMap::from([("reopen".into(), "Privacy </script><!-- \u{2029}".into())]),
        );
        c
    }

    fn rendered(template: &str, c: &SiteConfig) -> String {
        let site = SiteId::parse("demo").unwrap();
        let version = c.version();
        render(
            template,
            &LoaderContext {
                site: &site,
                version: &version,
                config: c,
                base_url: "https://consent.example.nl/",
            },
        )
    }

    fn extract(out: &str) -> Value {
        let start = out.find("R=").unwrap() + 2;
        serde_json::from_str(out[start..].trim_end().trim_end_matches(';')).unwrap()
    }

    #[test]
    fn rules_carry_hosts_cookies_and_consent_mode() {
        let c = site();
        let v = extract(&rendered("var R=__KEURMERK_RULES__;", &c));
        assert_eq!(v["s"], "demo");
        assert_eq!(v["v"], c.version().0);
        assert_eq!(v["a"], "https://consent.example.nl");
        assert_eq!(v["e"], 182);
        assert_eq!(v["w"], 500);
        assert_eq!(v["r"], json!(["necessary"]));
        assert_eq!(v["m"]["ad_user_data"], json!(["marketing"]));
        assert_eq!(v["h"][1], json!(["*.facebook.com", "marketing", "meta"]));
        let builtin = |cat: &str| {
            v["b"][cat]
                .as_str()
                .unwrap()
                .split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert!(builtin("marketing").contains(&"facebook.net".to_owned()));
        assert!(builtin("analytics").contains(&"google-analytics.com".to_owned()));
        assert!(
            v.get("k").is_none(),
            "declared cookies come with the UI's configuration"
        );
        assert_eq!(v["t"]["nl"][0], "Cookie-instellingen");
        assert_eq!(v["t"]["nl"][3], "Altijd toestaan");
        // The site's override wins, and survives escaping intact.
        assert_eq!(v["t"]["en"][0], "Privacy </script><!-- \u{2029}");
        assert_eq!(v["t"]["en"][2], "Allow once");
    }

    #[test]
    fn built_in_trackers_are_the_signature_files_block_lists() {
        let list = builtin_trackers();
        let cats: Vec<&str> = list.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(cats, ["marketing", "analytics"]);
        let hosts = |cat: &str| &list.iter().find(|(c, _)| c == cat).unwrap().1;
        for h in ["facebook.net", "doubleclick.net", "bat.bing.com", "ct.pinterest.com"] {
            assert!(hosts("marketing").iter().any(|x| x == h), "{h}");
        }
        for h in ["googletagmanager.com", "clarity.ms", "plausible.io"] {
            assert!(hosts("analytics").iter().any(|x| x == h), "{h}");
        }
        // doubleclick.net is in two files (Google Ads, Floodlight): listed once.
        assert_eq!(hosts("marketing").iter().filter(|h| *h == "doubleclick.net").count(), 1);
        // Bare host names, and no host (or a parent of it) under two
        // categories: which category claims a host never depends on order.
        let covers = |a: &str, b: &str| a == b || b.ends_with(&format!(".{a}"));
        for (cat, hs) in list {
            for h in hs {
                assert!(
                    !h.is_empty()
                        && h.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'),
                    "{h:?}"
                );
                for (other, os) in list.iter().filter(|(o, _)| o != cat) {
                    for o in os {
                        assert!(!covers(h, o) && !covers(o, h), "{h} ({cat}) and {o} ({other})");
                    }
                }
            }
        }
    }

    #[test]
    fn signature_block_reads_category_and_block_and_names_a_bad_line() {
        let ok = r#"id = "x"
category = "marketing"
# a = b
block = ["a.example", "b.example"]

[sources]
block = ["not top-level"]
"#;
        assert_eq!(
            signature_block(ok).unwrap(),
            (
                "marketing".to_owned(),
                vec!["a.example".to_owned(), "b.example".to_owned()]
            )
        );
        assert!(signature_block("category = \"analytics\"\n").unwrap().1.is_empty());
        let two_lines = "category = \"marketing\"\nblock = [\"a.example\",\n  \"b.example\"]\n";
        let e = signature_block(two_lines).unwrap_err();
        assert!(e.starts_with("block = "), "{e}");
        assert!(signature_block("block = []\n").is_err());
    }

    #[test]
    fn vendors_with_a_consent_api_are_found_by_host_or_id() {
        let mut c = site();
        let svc = |id: &str, cat: &str, hosts: &[&str]| Service {
            id: id.into(),
            name: id.into(),
            category: cat.into(),
            provider: String::new(),
            privacy_policy_url: None,
            hosts: hosts.iter().map(|h| (*h).into()).collect(),
            cookies: vec![],
            description: BTreeMap::new(),
        };
        c.services.push(svc("tt", "marketing", &["analytics.tiktok.com"]));
        c.services.push(svc("bing", "marketing", &["*.bat.bing.com"]));
        c.services.push(svc("microsoft-clarity", "analytics", &[]));
        c.services
            .push(svc("youtube", "marketing", &["www.youtube-nocookie.com"]));
        let v = extract(&rendered("var R=__KEURMERK_RULES__;", &c));
        assert_eq!(
            v["x"],
            json!({
                "fbq": [["marketing", "meta"]],
                "ttq": [["marketing", "tt"]],
                "uetq": [["marketing", "bing"]],
                "clarity": [["analytics", "microsoft-clarity"]],
            })
        );
        assert_eq!(v["n"], 6);
        assert!(v.get("d").is_none());
        c.services.clear();
        c.cookie_domain = Some("example.nl".into());
        let v = extract(&rendered("var R=__KEURMERK_RULES__;", &c));
        assert!(v.get("x").is_none(), "no vendor, no key");
        assert_eq!(v["d"], "example.nl");
        assert!(v.get("y").is_none(), "the default look, no key");
        c.theme.accent = Some("#7a0019".into());
        c.theme.position = crate::config::Position::Top;
        let v = extract(&rendered("var R=__KEURMERK_RULES__;", &c));
        let y = v["y"].as_str().unwrap();
        assert!(
            y.starts_with(":where(.km-root){--km-accent:#7a0019}") && y.contains(".km-banner{top:1rem"),
            "{y}"
        );
    }

    #[test]
    fn only_the_sites_categories_get_built_in_trackers() {
        let mut c = site();
        c.categories.retain(|c| c.id != "marketing");
        c.services.clear();
        let v = extract(&rendered("var R=__KEURMERK_RULES__;", &c));
        assert!(v["b"].get("marketing").is_none());
        assert!(
            v["b"]["analytics"]
                .as_str()
                .unwrap()
                .split(' ')
                .any(|h| h == "hotjar.com")
        );
    }

    #[test]
    fn a_language_without_built_in_texts_gets_english_ones() {
        let mut c = site();
        c.languages.push("es".into());
        c.texts.insert(
            "es".into(),
            BTreeMap::from([("once".into(), "Permitir una vez".into())]),
        );
        let v = extract(&rendered("var R=__KEURMERK_RULES__;", &c));
        assert_eq!(
            v["t"]["es"],
            json!([
                "Cookie settings",
                "Blocked until you allow: ",
                "Permitir una vez",
                "Always allow"
            ])
        );
    }

    #[test]
    fn output_cannot_break_out_of_a_script_element() {
        let out = rendered("var R=__KEURMERK_RULES__;", &site());
        assert!(!out.contains("</script"));
        assert!(!out.contains("<!--"));
        assert!(!out.contains('\u{2028}') && !out.contains('\u{2029}'));
        assert!(!out.contains(RULES_PLACEHOLDER));
    }

    #[test]
    fn comments_and_indentation_are_dropped() {
        let t = "/* header\n   more */\n(function (R) {\n  // why\n  var u = \"https://x\"; // kept\n})(__KEURMERK_RULES__);\n";
        let out = rendered(t, &site());
        assert!(out.starts_with("(function (R) {\nvar u = \"https://x\"; // kept\n})({"));
        assert!(!out.contains("why") && !out.contains("header"));
    }

    #[test]
    fn fingerprint_ignores_wording_but_not_purposes() {
        let a = site();
        let mut b = a.clone();
        b.controller = "Other wording BV".into();
        assert_ne!(a.version(), b.version());
        assert_eq!(purposes_fingerprint(&a), purposes_fingerprint(&b));
        b.services[0].category = "analytics".into();
        assert_ne!(purposes_fingerprint(&a), purposes_fingerprint(&b));
        assert_eq!(purposes_fingerprint(&a).len(), 16);
    }

    #[test]
    fn the_real_template_has_exactly_one_placeholder() {
        let t = include_str!("../../consent-widget/loader/loader.js");
        assert_eq!(t.matches(RULES_PLACEHOLDER).count(), 1);
        let out = rendered(t, &site());
        assert!(!out.contains(RULES_PLACEHOLDER));
        assert!(!out.contains("do not edit"), "the generated-file banner is not served");
        assert!(out.contains("\"s\":\"demo\""));
        // The banner: its first layer per language, its stylesheet in the template.
        assert!(out.contains("\"u\":{\"en\":[\"div\",{\"class\":\"km-root\",\"lang\":\"en\"}"));
        assert!(out.contains(".km-banner{position:fixed;") && !out.contains("KEURMERK_CSS"));
    }
}
