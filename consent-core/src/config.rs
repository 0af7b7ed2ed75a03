//! A site's banner configuration and its content-addressed version.
//!
//! Every saved configuration is immutable: its [`ConfigVersion`] is the SHA-256
//! of its canonical JSON (RFC 8785), so a decision that names a version names
//! exactly the texts, categories and services the visitor saw.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Languages the widget ships texts for. A site may offer others if it
/// supplies every text itself.
pub const BUILT_IN_LANGUAGES: [&str; 4] = ["nl", "en", "de", "fr"];

/// Limits that keep one site's configuration (served to every visitor)
/// small: at most this many categories.
pub const MAX_CATEGORIES: usize = 32;
/// At most this many services.
pub const MAX_SERVICES: usize = 256;
/// At most this many declared cookies per service.
pub const MAX_COOKIES_PER_SERVICE: usize = 128;
/// The longest text (a name, label, description or text override), in bytes.
pub const MAX_TEXT_LEN: usize = 4000;
/// The longest link (a privacy statement's URL) a configuration may hold.
pub const MAX_URL_LEN: usize = 2048;
/// The categories a new site starts with ([`SiteConfig::starter`]), in
/// which the default Consent Mode mapping is written. A site may leave any
/// of them out (keeping `necessary`): a minimal declaration of `necessary`
/// and `marketing` keeps the default mapping, and the signals of the
/// categories it left out stay denied.
pub const STANDARD_CATEGORIES: [&str; 4] = ["necessary", "preferences", "analytics", "marketing"];
/// The shortest time, in months, a refusal is remembered (see
/// [`SiteConfig::refusal_months`]).
pub const MIN_REFUSAL_MONTHS: u32 = 6;
/// The longest: 13 months, like [`SiteConfig::expiry_days`]' 400 days (also
/// the longest a browser keeps a cookie).
pub const MAX_REFUSAL_MONTHS: u32 = 13;

/// A site's banner configuration: what the widget shows visitors, what it
/// asks them, and what it blocks until they allow it. Each saved
/// configuration is an immutable version named by the SHA-256 of its
/// canonical JSON (RFC 8785). Fields not listed here are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The purposes visitors are asked about, in display order (1 to 32).
    /// One must be `necessary`, with `required` set.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 32))]
    pub categories: Vec<Category>,
    /// The third-party services the site uses (tags, pixels, embeds), each
    /// in one of `categories`; at most 256. Default: none.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 256))]
    pub services: Vec<Service>,
    /// The languages the banner speaks, as lowercase BCP 47 tags (`nl`,
    /// `en-gb`); at least one. A visitor gets the first of the browser's
    /// languages the site offers (exactly or by its primary subtag), else
    /// the first of this list. The widget has texts built in for `nl`,
    /// `en`, `de` and `fr`; another language shows English unless `texts`
    /// has its own.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub languages: Vec<String>,
    /// The widget's texts the site replaces: language → text key → text (at
    /// most 4000 bytes), for languages in `languages` only. An empty text
    /// keeps the built-in one; a key the widget does not know (a typo) is
    /// refused, as is `cat_<id>` for a category the site does not have.
    /// Default: none.
    #[serde(default)]
    pub texts: BTreeMap<String, BTreeMap<String, String>>,
    /// Google Consent Mode v2: signal (`ad_storage`, `analytics_storage`,
    /// ...) → the categories that must all be allowed for the signal to be
    /// `granted`. A standard category (`necessary`, `preferences`,
    /// `analytics`, `marketing`) the site does not have is never granted,
    /// so its signals stay `denied` and leaving a category out needs no edit
    /// here; any other category that is not the site's is refused as a
    /// typo. Given, it replaces the default mapping as a whole.
    #[serde(default = "default_consent_mode")]
    #[cfg_attr(feature = "openapi", schema(default = default_consent_mode))]
    pub consent_mode: BTreeMap<String, Vec<String>>,
    /// Milliseconds Google tags wait for the banner's `update` before they
    /// send (Consent Mode `wait_for_update`).
    #[serde(default = "default_wait_for_update")]
    #[cfg_attr(feature = "openapi", schema(default = 500))]
    pub wait_for_update_ms: u32,
    /// Days a decision lasts before the banner asks again (1 to 400). A
    /// refusal lasts at least `refusal_months`, even when this is shorter.
    #[serde(default = "default_expiry_days")]
    #[cfg_attr(feature = "openapi", schema(default = 182, minimum = 1, maximum = 400))]
    pub expiry_days: u32,
    /// Calendar months after a refusal during which the banner does not ask
    /// again for the purposes refused (6 to 13). A purpose added to the
    /// configuration since is still asked, on its own. The proposed GDPR
    /// art. 88a (European Commission, Digital Omnibus proposal COM(2025) 837
    /// of 19 November 2025,
    /// <https://digital-strategy.ec.europa.eu/en/library/digital-omnibus-regulation-proposal>)
    /// forbids a new request for the same purpose for six months after a
    /// refusal. Left out of the saved JSON at its default, so configurations
    /// saved before it existed keep their versions.
    #[serde(
        default = "default_refusal_months",
        skip_serializing_if = "is_default_refusal_months"
    )]
    #[cfg_attr(feature = "openapi", schema(default = 6, minimum = 6, maximum = 13))]
    pub refusal_months: u32,
    /// The domain the decision cookie is set on, to share one decision across
    /// the site's subdomains (`example.nl` for `www.example.nl` and
    /// `shop.example.nl`): lowercase, at least two labels, no leading dot.
    /// Without it the cookie is the page's host's only. On a page whose
    /// host is not this domain or below it, the widget falls back to the
    /// host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 253))]
    pub cookie_domain: Option<String>,
    /// The site's privacy statement, linked from the banner and the
    /// preferences: an absolute `http` or `https` URL without credentials,
    /// at most 2048 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub privacy_policy_url: Option<String>,
    /// Who is asking (the controller), put in place of `{controller}` in
    /// the banner's `intro` text; empty: the page's host name.
    #[serde(default)]
    pub controller: String,
    /// The banner's and the preferences' look: colours, corner radius and
    /// where the banner sits. Left out of the saved JSON when nothing is
    /// set, so configurations saved before it existed keep their versions.
    #[serde(default, skip_serializing_if = "Theme::is_default")]
    pub theme: Theme,
}

/// The widget's look as the site sets it: each value replaces one of the
/// widget's CSS custom properties (`consent-widget/web/widget.css`), and a
/// site's own CSS on `.km-root` still wins over it. Colours are `#rrggbb`;
/// a colour left out keeps the widget's (which follows the visitor's dark
/// mode).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// The buttons' colour (`--km-accent`), `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^#[0-9a-fA-F]{6}$"))]
    pub accent: Option<String>,
    /// The buttons' text colour (`--km-on-accent`), `#rrggbb`; with
    /// `accent`, a contrast of at least 4.5:1 (WCAG 2.2 success criterion
    /// 1.4.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^#[0-9a-fA-F]{6}$"))]
    pub accent_text: Option<String>,
    /// The banner's and dialog's background (`--km-bg`), `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^#[0-9a-fA-F]{6}$"))]
    pub background: Option<String>,
    /// Their text colour (`--km-fg`), `#rrggbb`; with `background`, a
    /// contrast of at least 4.5:1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^#[0-9a-fA-F]{6}$"))]
    pub text: Option<String>,
    /// Corner radius in CSS pixels, 0 to 32 (`--km-radius`; buttons get
    /// half of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 32))]
    pub radius_px: Option<u8>,
    /// Where the banner sits on a screen wider than 30rem (on a narrower
    /// one it spans the width, at the bottom, or at the top for `top`).
    #[serde(default, skip_serializing_if = "Position::is_default")]
    #[cfg_attr(feature = "openapi", schema(default = "bottom"))]
    pub position: Position,
}

/// Where the banner's first layer sits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    /// Centred at the bottom.
    #[default]
    Bottom,
    /// Centred at the top.
    Top,
    /// Bottom left.
    BottomLeft,
    /// Bottom right.
    BottomRight,
}

/// The largest [`Theme::radius_px`].
pub const MAX_RADIUS_PX: u8 = 32;

impl Position {
    /// Every position, in the order a form offers them.
    pub const ALL: [Position; 4] = [
        Position::Bottom,
        Position::Top,
        Position::BottomLeft,
        Position::BottomRight,
    ];

    fn is_default(&self) -> bool {
        *self == Position::Bottom
    }

    /// Its name in the JSON (`bottom-left`).
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Bottom => "bottom",
            Position::Top => "top",
            Position::BottomLeft => "bottom-left",
            Position::BottomRight => "bottom-right",
        }
    }
}

impl Theme {
    fn is_default(&self) -> bool {
        *self == Theme::default()
    }

    fn check(&self) -> Result<(), ConfigError> {
        for (field, value) in [
            ("accent", &self.accent),
            ("accent_text", &self.accent_text),
            ("background", &self.background),
            ("text", &self.text),
        ] {
            if let Some(v) = value
                && parse_colour(v).is_none()
            {
                return Err(err(format!("theme/{field}"), "a colour as #rrggbb"));
            }
        }
        if self.radius_px.is_some_and(|r| r > MAX_RADIUS_PX) {
            return Err(err("theme/radius_px", format!("between 0 and {MAX_RADIUS_PX} pixels")));
        }
        for (field, fg, bg) in [
            ("accent_text", &self.accent_text, &self.accent),
            ("text", &self.text, &self.background),
        ] {
            if let (Some(fg), Some(bg)) = (
                fg.as_deref().and_then(parse_colour),
                bg.as_deref().and_then(parse_colour),
            ) {
                let ratio = contrast(fg, bg);
                if ratio < 4.5 {
                    return Err(err(
                        format!("theme/{field}"),
                        format!(
                            "a contrast of at least 4.5:1 with its background (WCAG 2.2, 1.4.3); it is {ratio:.1}:1"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The CSS that applies this theme after the widget's stylesheet:
    /// empty for the default look. The custom properties go in `:where()`
    /// (no specificity), so a site's own `.km-root` rule still wins. Only
    /// checked values get here (colours `#rrggbb`, a number, a position),
    /// so nothing a site typed can break out of a declaration.
    pub fn css(&self) -> String {
        let mut vars = String::new();
        for (var, value) in [
            ("--km-accent", &self.accent),
            ("--km-on-accent", &self.accent_text),
            ("--km-bg", &self.background),
            ("--km-fg", &self.text),
        ] {
            if let Some(v) = value.as_deref().filter(|v| parse_colour(v).is_some()) {
                vars.push_str(&format!("{var}:{v};"));
            }
        }
        if let Some(r) = self.radius_px.filter(|r| *r <= MAX_RADIUS_PX) {
            vars.push_str(&format!("--km-radius:{r}px;"));
        }
        let mut css = String::new();
        if !vars.is_empty() {
            css.push_str(&format!(":where(.km-root){{{}}}", vars.trim_end_matches(';')));
        }
        // widget.css puts the banner at the bottom, centred, and spanning
        // a narrow screen (max-width: 30rem); these move it.
        css.push_str(match self.position {
            Position::Bottom => "",
            Position::Top => {
                ".km-banner{top:1rem;bottom:auto}@media (max-width:30rem){.km-banner{top:0;border-radius:0 0 var(--km-radius) var(--km-radius)}}"
            }
            Position::BottomLeft => "@media (min-width:30.01rem){.km-banner{left:1rem;transform:none}}",
            Position::BottomRight => "@media (min-width:30.01rem){.km-banner{left:auto;right:1rem;transform:none}}",
        });
        css
    }
}

/// `#rrggbb` as its three channels.
fn parse_colour(s: &str) -> Option<[u8; 3]> {
    let hex = s
        .strip_prefix('#')
        .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// The contrast ratio of two colours (WCAG 2.2 definitions "relative
/// luminance" and "contrast ratio",
/// <https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio>).
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let luminance = |c: [u8; 3]| {
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// A purpose visitors allow or refuse as a whole (analytics, marketing, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Slug of `a-z`, `0-9`, `-` and `_` (1 to 64), unique within the site:
    /// `necessary`, `preferences`, `analytics`, `marketing` or one of the
    /// site's own. Decisions name categories by it.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9_-]{1,64}$"))]
    pub id: String,
    /// Always on and not switchable (`necessary` and the like).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = false))]
    pub required: bool,
    /// Refused in advance when the browser sends Global Privacy Control
    /// (sale or sharing of personal data, i.e. marketing); the visitor can
    /// still switch it on. Not on a required category.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = false))]
    pub gpc_opt_out: bool,
    /// Title and description per language. Without a label in a language,
    /// the texts `cat_<id>` and `cat_<id>_d` are shown (built in for the
    /// four standard categories), else the id.
    #[serde(default)]
    pub labels: BTreeMap<String, Label>,
}

/// A category's title and description in one language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// The category's name as shown to visitors (at most 4000 bytes).
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub title: String,
    /// What the category is for, shown under its title (at most 4000 bytes).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub description: String,
}

/// A third-party service the site uses (a tag, a pixel, an embed): visitors
/// may allow it on its own, and the blocker holds its hosts back until it or
/// its category is allowed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Slug of `a-z`, `0-9`, `-` and `_` (1 to 64), unique within the site:
    /// `meta`, `google-analytics`, `youtube`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9_-]{1,64}$"))]
    pub id: String,
    /// The name shown to visitors (at most 4000 bytes).
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub name: String,
    /// The id of the category this service belongs to.
    pub category: String,
    /// The company behind it, shown beside its name and among the
    /// recipients in the banner's first layer.
    #[serde(default)]
    pub provider: String,
    /// The provider's privacy statement: an absolute `http` or `https` URL
    /// without credentials, at most 2048 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub privacy_policy_url: Option<String>,
    /// Hosts whose scripts, frames, images and requests the blocker holds
    /// back until the category (or this service) is allowed: lowercase host
    /// names; a leading `*.` matches the host and its subdomains.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The cookies and storage keys it sets, as listed to visitors (at most
    /// 128).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 128))]
    pub cookies: Vec<CookieDecl>,
    /// Description per language: language → text.
    #[serde(default)]
    pub description: BTreeMap<String, String>,
}

/// A cookie (or storage key) a service sets, as declared to visitors and
/// compared with what the scanner observes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CookieDecl {
    /// The cookie or storage key's name, without spaces, `;` or `=` (1 to
    /// 256 bytes); `*` matches any run of characters (`_ga_*`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub name: String,
    /// Domain the cookie is set on, if not the site's own host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Who sets it and receives its data.
    #[serde(default)]
    pub provider: String,
    /// What it is for, as shown to visitors (at most 4000 bytes).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub purpose: String,
    /// How long it is kept, as shown to visitors, e.g. "13 months".
    #[serde(default)]
    pub retention: String,
    /// Retention in days, for checks against what the scanner observes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// The country where the data is processed (ISO 3166, e.g. `NL`, `US`).
    #[serde(default)]
    pub country: String,
    /// What its processing rests on; consent unless declared otherwise.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = "consent"))]
    pub legal_basis: LegalBasis,
}

/// The legal basis a cookie's processing rests on (GDPR art. 6(1)):
/// `consent` (a, the banner's choice decides), `contract` (b),
/// `legal_obligation` (c) or `legitimate_interest` (f).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// The visitor's consent (a): the banner's choice decides.
    #[default]
    Consent,
    /// The site's legitimate interest (f).
    LegitimateInterest,
    /// Needed for a contract with the visitor (b).
    Contract,
    /// Required by law (c).
    LegalObligation,
}

fn default_consent_mode() -> BTreeMap<String, Vec<String>> {
    let m = |cats: &[&str]| cats.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    BTreeMap::from([
        ("ad_storage".into(), m(&["marketing"])),
        ("ad_user_data".into(), m(&["marketing"])),
        ("ad_personalization".into(), m(&["marketing"])),
        ("analytics_storage".into(), m(&["analytics"])),
        ("functionality_storage".into(), m(&["preferences"])),
        ("personalization_storage".into(), m(&["preferences"])),
        ("security_storage".into(), m(&["necessary"])),
    ])
}
fn default_wait_for_update() -> u32 {
    500
}
fn default_expiry_days() -> u32 {
    182
}
fn default_refusal_months() -> u32 {
    MIN_REFUSAL_MONTHS
}
fn is_default_refusal_months(m: &u32) -> bool {
    *m == MIN_REFUSAL_MONTHS
}

/// The content address of a configuration: lowercase hex SHA-256 of its
/// canonical JSON.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfigVersion(pub String);

impl fmt::Display for ConfigVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a configuration cannot be saved. `field` is a JSON-pointer-like path.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Where: `categories`, `services/2/hosts/0`, ...
    pub field: String,
    /// What is wrong there, for the site owner.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A domain a cookie may be set on: two or more labels of `a-z`, `0-9`
/// and inner `-`, no leading dot. (Whether it is a public suffix, which
/// browsers refuse, is the browser's to check; the widget then keeps the
/// decision on the page's host.)
fn is_cookie_domain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn is_language(s: &str) -> bool {
    // BCP 47 primary language subtag, optionally with a region: `nl`, `en-gb`.
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl SiteConfig {
    /// The version this configuration is saved and referred to under.
    pub fn version(&self) -> ConfigVersion {
        let canonical = serde_json_canonicalizer::to_vec(self).expect("config serialises");
        let digest = Sha256::digest(&canonical);
        ConfigVersion(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The category with this id, if there is one.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The service with this id, if there is one.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// Checks everything a visitor's browser would otherwise trip over.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.categories.is_empty() || self.categories.len() > MAX_CATEGORIES {
            return Err(err("categories", format!("between 1 and {MAX_CATEGORIES} categories")));
        }
        for (i, c) in self.categories.iter().enumerate() {
            let at = format!("categories/{i}/id");
            if !is_slug(&c.id) {
                return Err(err(at, "a slug of a-z, 0-9, '-', '_'"));
            }
            if self.categories[..i].iter().any(|o| o.id == c.id) {
                return Err(err(at, format!("duplicate category {:?}", c.id)));
            }
            if c.required && c.gpc_opt_out {
                return Err(err(
                    format!("categories/{i}/gpc_opt_out"),
                    "a required category cannot be refused",
                ));
            }
            for (lang, label) in &c.labels {
                check_text(&format!("categories/{i}/labels/{lang}/title"), &label.title)?;
                check_text(&format!("categories/{i}/labels/{lang}/description"), &label.description)?;
            }
        }
        match self.category("necessary") {
            Some(c) if c.required => {}
            _ => return Err(err("categories", "a required category \"necessary\" must exist")),
        }
        check_url("privacy_policy_url", self.privacy_policy_url.as_deref())?;
        if self.services.len() > MAX_SERVICES {
            return Err(err("services", format!("at most {MAX_SERVICES} services")));
        }
        for (i, s) in self.services.iter().enumerate() {
            if !is_slug(&s.id) {
                return Err(err(format!("services/{i}/id"), "a slug of a-z, 0-9, '-', '_'"));
            }
            if self.services[..i].iter().any(|o| o.id == s.id) {
                return Err(err(format!("services/{i}/id"), format!("duplicate service {:?}", s.id)));
            }
            if self.category(&s.category).is_none() {
                return Err(err(
                    format!("services/{i}/category"),
                    format!("unknown category {:?}", s.category),
                ));
            }
            check_text(&format!("services/{i}/name"), &s.name)?;
            check_url(
                &format!("services/{i}/privacy_policy_url"),
                s.privacy_policy_url.as_deref(),
            )?;
            for (j, h) in s.hosts.iter().enumerate() {
                let bare = h.strip_prefix("*.").unwrap_or(h);
                let ok = !bare.is_empty()
                    && bare.len() <= 253
                    && bare
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
                if !ok {
                    return Err(err(
                        format!("services/{i}/hosts/{j}"),
                        "a lowercase host name, optionally starting with \"*.\"",
                    ));
                }
            }
            if s.cookies.len() > MAX_COOKIES_PER_SERVICE {
                return Err(err(
                    format!("services/{i}/cookies"),
                    format!("at most {MAX_COOKIES_PER_SERVICE} cookies"),
                ));
            }
            for (j, c) in s.cookies.iter().enumerate() {
                if c.name.is_empty()
                    || c.name.len() > 256
                    || c.name
                        .bytes()
                        .any(|b| b.is_ascii_control() || b == b';' || b == b'=' || b == b' ')
                {
                    return Err(err(
                        format!("services/{i}/cookies/{j}/name"),
                        "a cookie name without spaces, ';' or '='",
                    ));
                }
                check_text(&format!("services/{i}/cookies/{j}/purpose"), &c.purpose)?;
            }
        }
        if self.languages.is_empty() {
            return Err(err("languages", "at least one language"));
        }
        for (i, l) in self.languages.iter().enumerate() {
            if !is_language(l) {
                return Err(err(
                    format!("languages/{i}"),
                    "a lowercase BCP 47 tag such as \"nl\" or \"en-gb\"",
                ));
            }
        }
        for (lang, texts) in &self.texts {
            if !self.languages.contains(lang) {
                return Err(err(
                    format!("texts/{lang}"),
                    "texts for a language the site does not offer",
                ));
            }
            for (key, text) in texts {
                // A misspelt key would be saved and silently never shown:
                // refuse it when saving instead.
                let category_text = key
                    .strip_prefix("cat_")
                    .map(|id| id.strip_suffix("_d").unwrap_or(id))
                    .is_some_and(|id| self.category(id).is_some());
                let known = category_text
                    || crate::banner::built_in_texts("en").contains_key(key)
                    || crate::loader::LOADER_TEXT_KEYS.contains(&key.as_str());
                if !known {
                    return Err(err(
                        format!("texts/{lang}/{key}"),
                        "not a text the widget shows (see the text keys in docs/configuration.md)",
                    ));
                }
                check_text(&format!("texts/{lang}/{key}"), text)?;
            }
        }
        for (signal, cats) in &self.consent_mode {
            for c in cats {
                // A standard category left out is "never granted", not a
                // mistake: the default mapping names all four, and a site
                // with fewer must not have to rewrite it.
                if self.category(c).is_none() && !STANDARD_CATEGORIES.contains(&c.as_str()) {
                    return Err(err(format!("consent_mode/{signal}"), format!("unknown category {c:?}")));
                }
            }
        }
        if self.expiry_days == 0 || self.expiry_days > 400 {
            // 13 months is the longest any regulator tolerates between asks.
            return Err(err("expiry_days", "between 1 and 400 days"));
        }
        if !(MIN_REFUSAL_MONTHS..=MAX_REFUSAL_MONTHS).contains(&self.refusal_months) {
            return Err(err(
                "refusal_months",
                format!("between {MIN_REFUSAL_MONTHS} and {MAX_REFUSAL_MONTHS} months"),
            ));
        }
        self.theme.check()?;
        if let Some(d) = &self.cookie_domain
            && !is_cookie_domain(d)
        {
            return Err(err(
                "cookie_domain",
                "a lowercase domain name of at least two labels, such as \"example.nl\"",
            ));
        }
        Ok(())
    }

    /// Each Consent Mode signal's state (`true` = granted) when the
    /// categories `allowed` says yes to are allowed, as the loader sets
    /// them: a signal is granted when every category it names is the
    /// site's and is required or allowed. A category the site does not
    /// have is never granted, whatever `allowed` says, so the signals of a
    /// minimal declaration follow the categories it has.
    pub fn consent_mode_signals(&self, allowed: impl Fn(&str) -> bool) -> BTreeMap<&str, bool> {
        self.consent_mode
            .iter()
            .map(|(signal, cats)| {
                let granted = cats
                    .iter()
                    .all(|c| self.category(c).is_some_and(|cat| cat.required || allowed(c)));
                (signal.as_str(), granted)
            })
            .collect()
    }

    /// A starting configuration with the four usual categories: what a new
    /// site gets, and what the demo site runs.
    pub fn starter() -> Self {
        let cat = |id: &str, required: bool, gpc: bool, en: (&str, &str), nl: (&str, &str)| Category {
            id: id.into(),
            required,
            gpc_opt_out: gpc,
            labels: BTreeMap::from([
                (
                    "en".into(),
                    Label {
                        title: en.0.into(),
                        description: en.1.into(),
                    },
                ),
                (
                    "nl".into(),
                    Label {
                        title: nl.0.into(),
                        description: nl.1.into(),
                    },
                ),
            ]),
        };
        SiteConfig {
            categories: vec![
                cat(
                    "necessary",
                    true,
                    false,
                    (
                        "Necessary",
                        "Needed for the site to work, such as remembering this choice.",
                    ),
                    (
                        "Noodzakelijk",
                        "Nodig om de site te laten werken, zoals het onthouden van deze keuze.",
                    ),
                ),
                cat(
                    "preferences",
                    false,
                    false,
                    ("Preferences", "Remember settings such as your language."),
                    ("Voorkeuren", "Onthouden instellingen zoals uw taal."),
                ),
                cat(
                    "analytics",
                    false,
                    false,
                    ("Analytics", "Count visits to learn how the site is used."),
                    (
                        "Statistieken",
                        "Tellen bezoeken om te leren hoe de site wordt gebruikt.",
                    ),
                ),
                cat(
                    "marketing",
                    false,
                    true,
                    ("Marketing", "Show and measure advertising, also on other sites."),
                    ("Marketing", "Tonen en meten advertenties, ook op andere sites."),
                ),
            ],
            services: Vec::new(),
            languages: vec!["nl".into(), "en".into()],
            texts: BTreeMap::new(),
            consent_mode: default_consent_mode(),
            wait_for_update_ms: default_wait_for_update(),
            expiry_days: default_expiry_days(),
            refusal_months: default_refusal_months(),
            cookie_domain: None,
            privacy_policy_url: None,
            controller: String::new(),
            theme: Theme::default(),
        }
    }
}

fn check_text(field: &str, text: &str) -> Result<(), ConfigError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(err(field, format!("at most {MAX_TEXT_LEN} bytes")));
    }
    Ok(())
}

/// A link the banner shows (`href`): only an absolute `http`/`https` URL
/// with a host and without credentials, so no `javascript:`, `data:` or
/// relative URL ever reaches a visitor's page. Whitespace and control
/// characters are refused outright rather than left for a browser's URL
/// parser to strip (`java\tscript:`).
fn check_url(field: &str, value: Option<&str>) -> Result<(), ConfigError> {
    let Some(value) = value else { return Ok(()) };
    let bad = |why: &str| {
        Err(err(
            field,
            format!("an absolute http(s) URL of at most {MAX_URL_LEN} bytes: {why}"),
        ))
    };
    if value.len() > MAX_URL_LEN {
        return bad("too long");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains whitespace or control characters");
    }
    let parsed = match url::Url::parse(value) {
        Ok(u) => u,
        Err(e) => return bad(&e.to_string()),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return bad(&format!("the scheme is {:?}", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return bad("it has no host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return bad("credentials in a URL are not allowed");
    }
    Ok(())
}

/// Matches a cookie name against a declared name with `*` wildcards.
pub fn cookie_name_matches(pattern: &str, name: &str) -> bool {
    // Classic two-pointer glob with backtracking to the last `*`: linear
    // enough for cookie names, and no regex engine in the wasm widget.
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ni;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_is_valid_and_versions_are_stable() {
        let c = SiteConfig::starter();
        c.validate().unwrap();
        assert_eq!(c.version(), c.clone().version());
        assert_eq!(c.version().0.len(), 64);
        let mut d = c.clone();
        d.expiry_days = 30;
        assert_ne!(c.version(), d.version());
    }

    #[test]
    fn validation_names_the_field() {
        let mut c = SiteConfig::starter();
        c.services.push(Service {
            id: "meta".into(),
            name: "Meta".into(),
            category: "ads".into(),
            provider: String::new(),
            privacy_policy_url: None,
            hosts: vec![],
            cookies: vec![],
            description: BTreeMap::new(),
        });
        assert_eq!(c.validate().unwrap_err().field, "services/0/category");
        let mut c = SiteConfig::starter();
        c.categories.remove(0);
        assert_eq!(c.validate().unwrap_err().field, "categories");
    }

    #[test]
    fn only_http_urls_are_links() {
        let service = |url: &str| Service {
            id: "meta".into(),
            name: "Meta".into(),
            category: "marketing".into(),
            provider: String::new(),
            privacy_policy_url: Some(url.into()),
            hosts: vec![],
            cookies: vec![],
            description: BTreeMap::new(),
        };
        let good = [
            "https://www.facebook.com/privacy/policy/",
            "http://shop.example.nl/privacy?lang=nl#cookies",
            "https://xn--bcher-kva.example/datenschutz",
        ];
        let bad = [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "//evil.example/privacy",
            "/privacy",
            "privacy.html",
            "https://",
            "https://user:pw@shop.example.nl/",
            "https://shop.example.nl/a b",
            "",
        ];
        let long = format!("https://shop.example.nl/{}", "a".repeat(MAX_URL_LEN));
        for url in good {
            let mut c = SiteConfig::starter();
            c.privacy_policy_url = Some(url.into());
            c.services = vec![service(url)];
            assert_eq!(c.validate(), Ok(()), "{url}");
        }
        for url in bad.iter().copied().chain([long.as_str()]) {
            let mut c = SiteConfig::starter();
            c.privacy_policy_url = Some(url.into());
            assert_eq!(c.validate().unwrap_err().field, "privacy_policy_url", "{url}");
            let mut c = SiteConfig::starter();
            c.services = vec![service("https://ok.example/"), service(url)];
            c.services[1].id = "other".into();
            assert_eq!(
                c.validate().unwrap_err().field,
                "services/1/privacy_policy_url",
                "{url}"
            );
        }
    }

    #[test]
    fn refusal_months_and_cookie_domain_are_checked_and_left_out_at_their_defaults() {
        let c = SiteConfig::starter();
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.get("refusal_months").is_none() && json.get("cookie_domain").is_none());
        // A configuration saved before the fields existed reads back the same.
        let back: SiteConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.refusal_months, MIN_REFUSAL_MONTHS);
        for (months, ok) in [(5, false), (6, true), (12, true), (13, true), (14, false), (0, false)] {
            let mut c = SiteConfig::starter();
            c.refusal_months = months;
            assert_eq!(c.validate().is_ok(), ok, "{months}");
            if !ok {
                assert_eq!(c.validate().unwrap_err().field, "refusal_months");
            }
        }
        let mut c = SiteConfig::starter();
        c.refusal_months = 12;
        assert_eq!(serde_json::to_value(&c).unwrap()["refusal_months"], 12);
        for (domain, ok) in [
            ("example.nl", true),
            ("shop.example.co.uk", true),
            ("xn--bcher-kva.example", true),
            ("nl", false),
            (".example.nl", false),
            ("Example.nl", false),
            ("example..nl", false),
            ("-a.example.nl", false),
            ("example.nl;secure", false),
            ("", false),
        ] {
            let mut c = SiteConfig::starter();
            c.cookie_domain = Some(domain.into());
            assert_eq!(c.validate().is_ok(), ok, "{domain:?}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut v = serde_json::to_value(SiteConfig::starter()).unwrap();
        v["colour"] = "red".into();
        assert!(serde_json::from_value::<SiteConfig>(v).is_err());
    }

    /// A declaration of only `necessary` and `marketing`, without a
    /// `consent_mode` of its own, is accepted; its Consent Mode follows the
    /// categories it has (ad signals with marketing, analytics and
    /// preferences signals always denied), and a typo is still refused.
    /// Text overrides: known keys and the site's own categories' texts are
    /// accepted; a typo, or a category the site lacks, names the field.
    #[test]
    fn text_keys_are_the_widgets() {
        let mut c = SiteConfig::starter();
        let lang = c.languages[0].clone();
        for key in ["title", "reopen", "cat_analytics", "cat_analytics_d"] {
            c.texts.entry(lang.clone()).or_default().insert(key.into(), "x".into());
        }
        c.validate().unwrap();
        for typo in ["titel", "cat_nope", "cat_"] {
            let mut bad = c.clone();
            bad.texts.get_mut(&lang).unwrap().insert(typo.into(), "x".into());
            assert_eq!(bad.validate().unwrap_err().field, format!("texts/{lang}/{typo}"));
        }
    }

    #[test]
    fn a_minimal_declaration_keeps_consent_mode_to_its_categories() {
        let json = serde_json::json!({
            "languages": ["en"],
            "categories": [{"id": "necessary", "required": true}, {"id": "marketing"}],
        });
        let c: SiteConfig = serde_json::from_value(json).unwrap();
        assert_eq!(c.validate(), Ok(()));
        let everything = c.consent_mode_signals(|_| true);
        let nothing = c.consent_mode_signals(|_| false);
        for signal in ["ad_storage", "ad_user_data", "ad_personalization"] {
            assert!(everything[signal], "{signal}");
            assert!(!nothing[signal], "{signal}");
        }
        for signal in ["analytics_storage", "functionality_storage", "personalization_storage"] {
            assert!(
                !everything[signal],
                "{signal} follows a category the site does not have"
            );
        }
        assert!(everything["security_storage"] && nothing["security_storage"]);
        // The starter's four categories behave as before.
        let s = SiteConfig::starter();
        assert!(s.consent_mode_signals(|c| c == "analytics")["analytics_storage"]);
        assert!(!s.consent_mode_signals(|c| c == "analytics")["ad_storage"]);
        // A name that is no category of the site nor a standard one is a typo.
        let mut bad = c.clone();
        bad.consent_mode.insert("ad_storage".into(), vec!["marketting".into()]);
        assert_eq!(bad.validate().unwrap_err().field, "consent_mode/ad_storage");
    }

    /// The site configuration reference (docs/configuration.md) shows
    /// docs/examples/site-config.json unchanged, the example is a valid
    /// configuration whose Consent Mode follows the categories it has, and
    /// the reference lists every text key the widget shows.
    #[test]
    fn the_documented_example_and_text_keys_are_accurate() {
        const EXAMPLE: &str = include_str!("../../docs/examples/site-config.json");
        const REFERENCE: &str = include_str!("../../docs/configuration.md");
        assert!(
            REFERENCE.contains(&format!("```json\n{}\n```", EXAMPLE.trim_end())),
            "docs/configuration.md must show docs/examples/site-config.json verbatim"
        );
        let c: SiteConfig = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(c.validate(), Ok(()));
        // Every optional field is set, so the example shows each one.
        let json: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
        for field in [
            "services",
            "texts",
            "consent_mode",
            "refusal_months",
            "cookie_domain",
            "privacy_policy_url",
            "theme",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        // No `preferences` category, the default mapping kept: its signals
        // are never granted, the others follow the visitor.
        assert!(c.category("preferences").is_none());
        let all = c.consent_mode_signals(|_| true);
        assert!(all["ad_storage"] && all["analytics_storage"] && all["security_storage"]);
        assert!(!all["functionality_storage"] && !all["personalization_storage"]);

        // The smallest configuration the reference shows, with the defaults
        // it states.
        let minimal: SiteConfig =
            serde_json::from_str(r#"{"languages": ["en"], "categories": [{"id": "necessary", "required": true}]}"#)
                .unwrap();
        assert_eq!(minimal.validate(), Ok(()));
        assert!(REFERENCE.contains(r#"{"languages": ["en"], "categories": [{"id": "necessary", "required": true}]}"#));
        assert_eq!(
            (minimal.wait_for_update_ms, minimal.expiry_days, minimal.refusal_months),
            (500, 182, 6)
        );
        assert_eq!(minimal.consent_mode, SiteConfig::starter().consent_mode);

        // Every key of the built-in texts and of the loader's own texts has
        // a row in the reference's table.
        let en = crate::banner::built_in_texts("en");
        for key in en.keys().map(String::as_str).chain(crate::loader::LOADER_TEXT_KEYS) {
            assert!(
                REFERENCE.contains(&format!("| `{key}` |")),
                "docs/configuration.md lacks the text key {key}"
            );
        }
    }

    /// A theme is checked (colours, radius, contrast), left out of the JSON
    /// when unset (versions of older configurations stay), and its CSS is
    /// only ever built from checked values.
    #[test]
    fn themes_are_checked_and_become_css() {
        let c = SiteConfig::starter();
        assert!(serde_json::to_value(&c).unwrap().get("theme").is_none());
        assert_eq!(c.theme.css(), "");
        let mut t = c.clone();
        t.theme = Theme {
            accent: Some("#7a0019".into()),
            accent_text: Some("#ffffff".into()),
            background: Some("#fffdf5".into()),
            text: Some("#1a1a1a".into()),
            radius_px: Some(0),
            position: Position::BottomRight,
        };
        assert_eq!(t.validate(), Ok(()));
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["theme"]["position"], "bottom-right");
        assert_eq!(serde_json::from_value::<SiteConfig>(json).unwrap(), t);
        assert_eq!(
            t.theme.css(),
            ":where(.km-root){--km-accent:#7a0019;--km-on-accent:#ffffff;--km-bg:#fffdf5;--km-fg:#1a1a1a;--km-radius:0px}\
             @media (min-width:30.01rem){.km-banner{left:auto;right:1rem;transform:none}}"
        );
        for (set, field) in [
            ((Some("red"), None, None), "theme/accent"),
            ((Some("#0000ff;}body{x:y"), None, None), "theme/accent"),
            ((Some("#777777"), Some("#888888"), None), "theme/accent_text"),
            ((None, None, Some(33)), "theme/radius_px"),
        ] {
            let mut bad = c.clone();
            bad.theme.accent = set.0.map(Into::into);
            bad.theme.accent_text = set.1.map(Into::into);
            bad.theme.radius_px = set.2;
            assert_eq!(bad.validate().unwrap_err().field, field, "{set:?}");
            let css = bad.theme.css();
            assert!(
                !css.contains("body") && !css.contains("red") && !css.contains("33px"),
                "{css}"
            );
        }
        assert!((contrast([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn cookie_globs() {
        assert!(cookie_name_matches("_ga_*", "_ga_ABC123"));
        assert!(cookie_name_matches("_ga", "_ga"));
        assert!(!cookie_name_matches("_ga", "_gat"));
        assert!(cookie_name_matches("*_fbp*", "x_fbp_y"));
        assert!(!cookie_name_matches("_ga_*", "_gid"));
        assert!(cookie_name_matches("*", ""));
    }
}
