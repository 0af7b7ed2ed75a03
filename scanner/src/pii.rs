//! Personal data in requests: the known parameters ad platforms use for
//! "advanced matching" / "enhanced conversions", plain e-mail addresses and
//! phone numbers, and every common encoding of the canary identity the
//! browser pass types into forms.
//!
//! Values are unwrapped before they are judged: a parameter whose value is
//! itself a query string, a URL, JSON, percent-encoded again or base64 is
//! decoded layer by layer ([`MAX_NESTING`] layers at most, and at most
//! [`MAX_UNWRAPPED_BYTES`] of decoded text per request), because trackers
//! wrap identities that way and a scan that reads only the outer layer
//! misses them.

use std::sync::LazyLock;

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use md5::Md5;
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::signature::{Encoding, Platform};

/// Bodies and URLs are searched up to this many bytes: trackers send small
/// payloads, and a bounded search keeps a hostile page from stalling us.
pub const MAX_SCAN_BYTES: usize = 256 * 1024;
/// At most this many decoded parameters are kept per request.
const MAX_PARAMS: usize = 512;
const MAX_JSON_DEPTH: usize = 16;
/// A value is unwrapped at most this many layers deep: base64 around a
/// query string around JSON is three, and real tags stop there; a hostile
/// value wrapped a hundred times costs four decodes, not a hundred.
pub const MAX_NESTING: usize = 4;
/// Decoded text produced while unwrapping one request's values, in all.
/// Every layer is no longer than the one it came from, so this bounds the
/// work to a few passes over the (already bounded) request.
pub const MAX_UNWRAPPED_BYTES: usize = 2 * MAX_SCAN_BYTES;
/// Values shorter than this are not unwrapped: nothing that short hides an
/// identity, and short tokens decode as base64 by chance.
const MIN_WRAPPED_LEN: usize = 8;

/// A made-up person whose data the scanner types into forms, so any request
/// carrying it (in any encoding) is proof of a leak.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryIdentity {
    pub email: String,
    /// E.164, e.g. `+31612345678`.
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub postal_code: String,
}

impl Default for CanaryIdentity {
    fn default() -> Self {
        CanaryIdentity {
            email: "kanarie.vogelzang@keurmerk-canary.example".into(),
            phone: "+31612340987".into(),
            first_name: "Kanarie".into(),
            last_name: "Vogelzang".into(),
            postal_code: "1234 AB".into(),
        }
    }
}

/// One searchable form of a canary value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle {
    pub field: &'static str,
    pub encoding: &'static str,
    pub value: String,
    /// Hex digests are matched case-insensitively.
    pub case_insensitive: bool,
}

/// Normalisation as the ad platforms document it before hashing: trimmed,
/// lowercase e-mail; phone in E.164 (and digits only, as Meta wants).
pub fn normalise_email(e: &str) -> String {
    e.trim().to_lowercase()
}

pub fn normalise_phone(p: &str) -> String {
    let digits: String = p.chars().filter(|c| c.is_ascii_digit()).collect();
    format!("+{digits}")
}

impl CanaryIdentity {
    pub fn needles(&self) -> Vec<Needle> {
        let email = normalise_email(&self.email);
        let phone = normalise_phone(&self.phone);
        let phone_digits = phone.trim_start_matches('+').to_owned();
        let postal: String = self.postal_code.chars().filter(|c| !c.is_whitespace()).collect();
        let values: [(&'static str, String, bool); 6] = [
            ("email", email, true),
            ("phone", phone, true),
            ("phone", phone_digits, true),
            ("first_name", self.first_name.trim().to_lowercase(), true),
            ("last_name", self.last_name.trim().to_lowercase(), true),
            ("postal_code", postal.to_lowercase(), false),
        ];
        let mut out = Vec::new();
        for (field, v, plain) in values {
            if v.len() < 4 {
                continue;
            }
            let mut push = |encoding, value: String, ci| {
                let n = Needle {
                    field,
                    encoding,
                    value,
                    case_insensitive: ci,
                };
                if !out.contains(&n) {
                    out.push(n);
                }
            };
            if plain {
                push("plain", v.clone(), true);
            }
            let sha256 = Sha256::digest(v.as_bytes());
            push("SHA-256 hex", hex::encode(sha256), true);
            push("SHA-256 base64", STANDARD.encode(sha256), false);
            push("SHA-256 base64url", URL_SAFE_NO_PAD.encode(sha256), false);
            push("MD5 hex", hex::encode(Md5::digest(v.as_bytes())), true);
            push("SHA-1 hex", hex::encode(Sha1::digest(v.as_bytes())), true);
            if v.len() >= 6 {
                // Shorter plain texts give base64 fragments that occur by chance.
                push(
                    "base64",
                    STANDARD.encode(v.as_bytes()).trim_end_matches('=').to_owned(),
                    false,
                );
                push("base64url", URL_SAFE_NO_PAD.encode(v.as_bytes()), false);
            }
        }
        out
    }
}

/// A parameter of a request, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// The parameter's name; for a value found inside another one, the
    /// outer name and the inner one joined by dots (`d.user.email`).
    pub key: String,
    pub value: String,
    /// The layers unwrapped to reach this value, outermost first
    /// ([`Layer::label`]: `base64`, `query string`, `JSON`, …); empty for a
    /// parameter as the request carried it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

/// A way a value can wrap another value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `%40` for `@`, still there after the request's own decoding (the
    /// value was percent-encoded twice).
    PercentEncoded,
    /// `a=1&b=2` as a value.
    QueryString,
    /// An absolute URL with a query (`dl=https://shop/?email=…`).
    Url,
    Json,
    /// Standard or URL-safe base64, padded or not, of UTF-8 text.
    Base64,
}

impl Layer {
    pub fn label(self) -> &'static str {
        match self {
            Layer::PercentEncoded => "percent-encoded",
            Layer::QueryString => "query string",
            Layer::Url => "URL",
            Layer::Json => "JSON",
            Layer::Base64 => "base64",
        }
    }
}

/// Personal data found in one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiHit {
    /// `email`, `phone`, `name`, ...
    pub field: String,
    /// The parameter it travelled in (`ud[em]`, `em` inside `tv.1~em.…`,
    /// `context.user.email`), or `url`/`body` when found loose.
    pub param: String,
    /// How it was encoded: `SHA-256 hex`, `plain`, ...
    pub encoding: String,
    /// The value as sent, shortened for reports.
    pub value: String,
    /// Whether it is (an encoding of) the canary identity: proof, not a guess.
    pub canary: bool,
    /// Where the parameter is documented.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The layers the value was found inside, outermost first (the
    /// parameter's [`Param::via`]); empty when it travelled as is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

impl PiiHit {
    /// The encoding with the layers around it, for titles: `SHA-256 hex
    /// inside JSON inside base64`.
    pub fn how(&self) -> String {
        let mut s = self.encoding.clone();
        for layer in self.via.iter().rev() {
            s.push_str(" inside ");
            s.push_str(layer);
        }
        s
    }
}

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,190}\.[a-z]{2,24}\b").expect("regex"));
static HEX64: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9a-fA-F]{64}$").expect("regex"));
static B64_32: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_-]{43}=?$").expect("regex"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\+?[0-9][0-9 ().-]{7,18}$").expect("regex"));

/// Decodes a request's URL query and body into key/value pairs: form
/// encoding, JSON (flattened to dotted paths), values nested inside values
/// ([`Layer`]s, unwrapped recursively within [`MAX_NESTING`] and
/// [`MAX_UNWRAPPED_BYTES`]) and Google's `tv.1~em.…` user-data format
/// (expanded to `em.em`, `em.pn`, ...).
pub fn decode_params(url: &url::Url, body: Option<&str>) -> Vec<Param> {
    let mut out = Vec::new();
    if let Some(q) = url.query() {
        form_pairs(&q[..q.len().min(MAX_SCAN_BYTES)], &mut out);
    }
    // Floodlight puts its u-variables in the path: `/activity;src=1;u1=x`.
    if url.path().contains(';') {
        for part in url.path().split(';').skip(1) {
            if let Some((k, v)) = part.split_once('=') {
                push_param(&mut out, k.to_owned(), crate::signature::percent_decode(v));
            }
        }
    }
    if let Some(body) = body {
        let body = &body[..floor_char_boundary(body, MAX_SCAN_BYTES)];
        let trimmed = body.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed)
        {
            flatten_json("", &v, 0, &mut out);
        } else if body.contains('=') && !body.contains('\n') {
            form_pairs(body, &mut out);
        } else if base64_text(trimmed.trim_end()).is_some() {
            // A body that is one base64 blob (of JSON, usually).
            push_param(&mut out, "body".into(), trimmed.trim_end().to_owned());
        }
    }
    unwrap_nested(&mut out);
    // Expand Google's enhanced-conversions value format.
    let mut extra = Vec::new();
    for p in &out {
        if p.value.starts_with("tv.1~") {
            for part in p.value.split('~').skip(1) {
                if let Some((k, v)) = part.split_once('.') {
                    extra.push(Param {
                        key: format!("{}.{k}", p.key),
                        value: v.to_owned(),
                        via: p.via.clone(),
                    });
                }
            }
        }
    }
    for p in extra {
        if out.len() < MAX_PARAMS {
            out.push(p);
        }
    }
    out
}

/// Unwraps every parameter's value, breadth first: what a value wraps is
/// appended as parameters of its own (which are unwrapped in turn), so the
/// outer value stays as sent and the inner ones are judged as well.
fn unwrap_nested(out: &mut Vec<Param>) {
    let mut budget = MAX_UNWRAPPED_BYTES;
    let mut i = 0;
    while i < out.len() && out.len() < MAX_PARAMS && budget > 0 {
        if out[i].via.len() < MAX_NESTING {
            let inner = unwrap_value(&out[i]);
            for p in inner {
                if out.len() >= MAX_PARAMS || p.value.len() > budget {
                    budget = 0;
                    break;
                }
                budget -= p.value.len();
                out.push(p);
            }
        }
        i += 1;
    }
}

/// What one value wraps, one layer down: the first layer that fits, tried
/// from the most to the least specific (a query string before the
/// percent-escapes inside it, base64 last since plain words can be base64).
fn unwrap_value(p: &Param) -> Vec<Param> {
    let v = p.value.trim();
    if v.len() < MIN_WRAPPED_LEN || v.len() > MAX_SCAN_BYTES {
        return Vec::new();
    }
    let mut inner = Vec::new();
    let layer = if (v.starts_with('{') || v.starts_with('['))
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(v)
    {
        flatten_json(&p.key, &json, 0, &mut inner);
        Layer::Json
    } else if v.starts_with("http://") || v.starts_with("https://") {
        let Some(query) = url::Url::parse(v).ok().and_then(|u| u.query().map(str::to_owned)) else {
            return Vec::new();
        };
        form_pairs(&query, &mut inner);
        prefix_keys(&p.key, &mut inner);
        Layer::Url
    } else if looks_like_query(v) {
        form_pairs(v, &mut inner);
        prefix_keys(&p.key, &mut inner);
        Layer::QueryString
    } else if has_percent_escape(v) {
        let decoded = crate::signature::percent_decode(v);
        push_param(&mut inner, p.key.clone(), decoded);
        Layer::PercentEncoded
    } else if let Some(text) = base64_text(v) {
        push_param(&mut inner, p.key.clone(), text);
        Layer::Base64
    } else {
        return Vec::new();
    };
    for q in &mut inner {
        q.via = p.via.clone();
        q.via.push(layer.label().to_owned());
    }
    // A layer that decodes to itself (nothing to unwrap) would loop.
    inner.retain(|q| q.value != p.value);
    inner
}

fn prefix_keys(prefix: &str, params: &mut [Param]) {
    for q in params {
        q.key = format!("{prefix}.{}", q.key);
    }
}

/// `a=1&b=2` (or one pair): every part a pair with a short, plain key. A
/// `=` only at the end is base64 padding, not a pair.
fn looks_like_query(v: &str) -> bool {
    if !v.trim_end_matches('=').contains('=') || v.contains(char::is_whitespace) {
        return false;
    }
    v.split('&').filter(|part| !part.is_empty()).all(|part| {
        part.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.[]%$".contains(&b))
        })
    })
}

fn has_percent_escape(v: &str) -> bool {
    v.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// Both base64 alphabets, padding optional: trackers use either.
const BASE64_ANY_PADDING: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, BASE64_ANY_PADDING);
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, BASE64_ANY_PADDING);

/// The text a base64 value stands for: only when it decodes to UTF-8
/// without control characters, so ids and hashes (which decode to binary)
/// are left alone.
fn base64_text(v: &str) -> Option<String> {
    if v.len() < MIN_WRAPPED_LEN
        || v.bytes().all(|b| b.is_ascii_hexdigit())
        || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/-_=".contains(&b))
    {
        return None;
    }
    let bytes = BASE64_STANDARD.decode(v).or_else(|_| BASE64_URL_SAFE.decode(v)).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let printable =
        text.chars().count() >= 4 && !text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    printable.then_some(text)
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut i = s.len().min(max);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn push_param(out: &mut Vec<Param>, key: String, value: String) {
    if out.len() < MAX_PARAMS {
        out.push(Param {
            key,
            value,
            via: Vec::new(),
        });
    }
}

fn form_pairs(q: &str, out: &mut Vec<Param>) {
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        push_param(out, k.into_owned(), v.into_owned());
    }
}

fn flatten_json(prefix: &str, v: &serde_json::Value, depth: usize, out: &mut Vec<Param>) {
    if depth > MAX_JSON_DEPTH || out.len() >= MAX_PARAMS {
        return;
    }
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                flatten_json(&join(k), v, depth + 1, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten_json(&join(&i.to_string()), v, depth + 1, out);
            }
        }
        serde_json::Value::String(s) => push_param(out, prefix.to_owned(), s.clone()),
        serde_json::Value::Null => {}
        other => push_param(out, prefix.to_owned(), other.to_string()),
    }
}

/// What a value looks like, for parameters known to carry personal data.
pub fn describe_value(v: &str) -> Option<&'static str> {
    let v = v.trim();
    if v.is_empty() {
        None
    } else if HEX64.is_match(v) {
        Some("SHA-256 hex")
    } else if B64_32.is_match(v) {
        Some("SHA-256 base64url")
    } else if EMAIL.is_match(v) {
        Some("plain e-mail")
    } else if PHONE.is_match(v) {
        Some("plain phone number")
    } else {
        Some("value")
    }
}

fn short(v: &str) -> String {
    if v.chars().count() > 80 {
        format!("{}…", v.chars().take(80).collect::<String>())
    } else {
        v.to_owned()
    }
}

fn key_matches(key: &str, param: &str) -> bool {
    key == param || key.rsplit('.').next() == Some(param)
}

/// Finds personal data in a request: in the platform's known parameters,
/// any plain e-mail address, and any encoding of the canary identity.
pub fn scan_request(
    platform: Option<&Platform>,
    params: &[Param],
    raw_url: &str,
    body: Option<&str>,
    needles: &[Needle],
) -> Vec<PiiHit> {
    let mut hits: Vec<PiiHit> = Vec::new();
    fn push(hits: &mut Vec<PiiHit>, h: PiiHit) {
        if !hits.iter().any(|o| o.param == h.param && o.value == h.value) {
            hits.push(h);
        }
    }
    let canary_of = |v: &str| -> Option<&Needle> {
        let lower = v.to_lowercase();
        needles.iter().find(|n| {
            if n.case_insensitive {
                lower == n.value.to_lowercase()
            } else {
                // base64 with or without its padding.
                v.trim_end_matches('=') == n.value.trim_end_matches('=')
            }
        })
    };
    // A value unwrapped from another one that is the same canary field as
    // a hit on that parameter already (base64 of the e-mail, and the e-mail
    // inside it) is one leak, not two.
    let already = |hits: &[PiiHit], p: &Param, field: &str| {
        !p.via.is_empty() && hits.iter().any(|h| h.canary && h.field == field && h.param == p.key)
    };
    for p in params {
        let known = platform.and_then(|pl| {
            pl.pii
                .iter()
                .find(|k| key_matches(&p.key, &k.param) || google_ec_key(&p.key, k))
                .map(|k| (pl, k))
        });
        if let Some((pl, k)) = known {
            // Google's `tv.1~…` container: its parts are judged one by one.
            if p.value.starts_with("tv.1~") {
                continue;
            }
            if let Some(form) = describe_value(&p.value) {
                let canary = canary_of(&p.value);
                if canary.is_some_and(|n| already(&hits, p, n.field)) {
                    continue;
                }
                push(
                    &mut hits,
                    PiiHit {
                        field: canary
                            .map(|n| n.field.to_owned())
                            .or_else(|| google_ec_field(&p.key, k))
                            .unwrap_or_else(|| k.field.clone()),
                        param: p.key.clone(),
                        encoding: canary.map(|n| n.encoding.to_owned()).unwrap_or_else(|| form.to_owned()),
                        value: short(&p.value),
                        canary: canary.is_some(),
                        source: pl.cite(&k.source),
                        via: p.via.clone(),
                    },
                );
            }
            continue;
        }
        // Inside an unwrapped value a canary may be part of a longer string
        // (`uid:<hash>`); in a parameter as sent the loose search below
        // finds those.
        let canary = canary_of(&p.value).or_else(|| {
            if p.via.is_empty() {
                return None;
            }
            let lower = p.value.to_lowercase();
            needles.iter().find(|n| {
                if n.case_insensitive {
                    lower.contains(&n.value.to_lowercase())
                } else {
                    p.value.contains(&n.value)
                }
            })
        });
        if let Some(n) = canary {
            if already(&hits, p, n.field) {
                continue;
            }
            push(
                &mut hits,
                PiiHit {
                    field: n.field.into(),
                    param: p.key.clone(),
                    encoding: n.encoding.into(),
                    value: short(if p.value.len() > n.value.len() {
                        &n.value
                    } else {
                        &p.value
                    }),
                    canary: true,
                    source: String::new(),
                    via: p.via.clone(),
                },
            );
        } else if let Some(m) = EMAIL.find(&p.value) {
            push(
                &mut hits,
                PiiHit {
                    field: "email".into(),
                    param: p.key.clone(),
                    encoding: "plain e-mail".into(),
                    value: short(m.as_str()),
                    canary: false,
                    source: String::new(),
                    via: p.via.clone(),
                },
            );
        }
    }
    // Loose matches anywhere in the URL or body (values nested in formats we
    // do not parse, e.g. a base64 blob inside a path segment).
    let url_text = crate::signature::percent_decode(&raw_url[..floor_char_boundary(raw_url, MAX_SCAN_BYTES)]);
    let body_text = body.map(|b| crate::signature::percent_decode(&b[..floor_char_boundary(b, MAX_SCAN_BYTES)]));
    for (place, text) in [("url", Some(url_text)), ("body", body_text)] {
        let Some(text) = text else { continue };
        let lower = text.to_lowercase();
        for n in needles {
            let found = if n.case_insensitive {
                lower.contains(&n.value.to_lowercase())
            } else {
                text.contains(&n.value)
            };
            if found
                && !hits
                    .iter()
                    .any(|h| h.canary && h.field == n.field && (h.encoding == n.encoding || h.value == short(&n.value)))
            {
                push(
                    &mut hits,
                    PiiHit {
                        field: n.field.into(),
                        param: place.into(),
                        encoding: n.encoding.into(),
                        value: short(&n.value),
                        canary: true,
                        source: String::new(),
                        via: Vec::new(),
                    },
                );
            }
        }
    }
    hits
}

/// The field a part of Google's user-data value carries (`em.pn` is a phone).
fn google_ec_field(key: &str, k: &crate::signature::PiiParam) -> Option<String> {
    if k.encoding != Encoding::GoogleEc {
        return None;
    }
    let part = key.rsplit('.').next()?;
    let field = match part {
        "em" => "email",
        "pn" => "phone",
        "fn" | "ln" => "name",
        "sa" | "ct" | "rg" | "pc" | "co" => "address",
        _ => return None,
    };
    Some(field.to_owned())
}

/// Google's `em=tv.1~em.X~pn.Y` expands to `em.em`, `em.pn`: they belong to
/// the `em` parameter whose encoding is `google-ec`.
fn google_ec_key(key: &str, k: &crate::signature::PiiParam) -> bool {
    k.encoding == Encoding::GoogleEc && key.split('.').next() == Some(k.param.as_str()) && key.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::KnowledgeBase;

    fn canary() -> CanaryIdentity {
        CanaryIdentity::default()
    }

    #[test]
    fn normalisation_follows_the_platforms() {
        assert_eq!(normalise_email("  Jan@Example.COM "), "jan@example.com");
        assert_eq!(normalise_phone("+31 (6) 1234-0987"), "+31612340987");
    }

    #[test]
    fn known_hash_vectors() {
        // sha256("test@example.com"), a widely published test vector.
        let id = CanaryIdentity {
            email: "Test@Example.com".into(),
            ..canary()
        };
        let n = id.needles();
        assert!(n.iter().any(|n| n.encoding == "SHA-256 hex"
            && n.value == "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"));
        assert!(
            n.iter()
                .any(|n| n.encoding == "MD5 hex" && n.value == "55502f40dc8b7c769880b10874abc9d0")
        );
    }

    #[test]
    fn meta_advanced_matching_is_decoded() {
        let kb = KnowledgeBase::builtin();
        let meta = kb.platform("meta-pixel").unwrap();
        let em = hex::encode(Sha256::digest(normalise_email(&canary().email).as_bytes()));
        let url = url::Url::parse(&format!(
            "https://www.facebook.com/tr/?id=123456789012&ev=PageView&ud%5Bem%5D={em}&ud%5Bct%5D=abc"
        ))
        .unwrap();
        let params = decode_params(&url, None);
        let hits = scan_request(Some(meta), &params, url.as_str(), None, &canary().needles());
        let h = hits.iter().find(|h| h.param == "ud[em]").expect("ud[em] found");
        assert!(h.canary);
        assert_eq!(h.field, "email");
        assert_eq!(h.encoding, "SHA-256 hex");
        assert!(h.source.contains("advanced-matching"));
        // A known PII parameter with a hash that is not the canary is still reported.
        let c = hits.iter().find(|h| h.param == "ud[ct]").expect("ud[ct]");
        assert!(!c.canary);
    }

    #[test]
    fn google_enhanced_conversions_wire_format() {
        let kb = KnowledgeBase::builtin();
        let ads = kb.platform("google-ads").unwrap();
        let c = canary();
        let em = URL_SAFE_NO_PAD.encode(Sha256::digest(normalise_email(&c.email).as_bytes()));
        let pn = URL_SAFE_NO_PAD.encode(Sha256::digest(normalise_phone(&c.phone).as_bytes()));
        let url = url::Url::parse(&format!(
            "https://www.google.com/pagead/form-data/1234567?em=tv.1~em.{em}~pn.{pn}"
        ))
        .unwrap();
        let params = decode_params(&url, None);
        let hits = scan_request(Some(ads), &params, url.as_str(), None, &c.needles());
        assert!(
            hits.iter()
                .any(|h| h.param == "em.em" && h.canary && h.encoding == "SHA-256 base64url")
        );
        assert!(
            hits.iter()
                .any(|h| h.param == "em.pn" && h.canary && h.field == "phone")
        );
    }

    #[test]
    fn json_bodies_and_loose_encodings() {
        let kb = KnowledgeBase::builtin();
        let tt = kb.platform("tiktok").unwrap();
        let c = canary();
        let em = hex::encode(Sha256::digest(c.email.as_bytes()));
        let body = format!(r#"{{"event":"Pageview","context":{{"user":{{"email":"{em}"}}}}}}"#);
        let url = url::Url::parse("https://analytics.tiktok.com/api/v2/pixel").unwrap();
        let params = decode_params(&url, Some(&body));
        let hits = scan_request(Some(tt), &params, url.as_str(), Some(&body), &c.needles());
        assert!(hits.iter().any(|h| h.param == "context.user.email" && h.canary));
        // base64 of the e-mail buried in a path, to an unknown host.
        let b64 = URL_SAFE_NO_PAD.encode(normalise_email(&c.email));
        let url = url::Url::parse(&format!("https://collector.example/v/{b64}/x")).unwrap();
        let hits = scan_request(None, &decode_params(&url, None), url.as_str(), None, &c.needles());
        assert!(
            hits.iter()
                .any(|h| h.param == "url" && h.encoding.starts_with("base64")),
            "{hits:?}"
        );
        // MD5 and SHA-1 too.
        let md5 = hex::encode(Md5::digest(normalise_email(&c.email).as_bytes()));
        let url = url::Url::parse(&format!("https://x.example/p?u={md5}")).unwrap();
        let hits = scan_request(None, &decode_params(&url, None), url.as_str(), None, &c.needles());
        assert_eq!(hits[0].encoding, "MD5 hex");
    }

    #[test]
    fn plain_email_anywhere_is_flagged_but_ordinary_params_are_not() {
        let url = url::Url::parse(
            "https://px.ads.linkedin.com/collect?pid=123&url=https%3A%2F%2Fshop.example%2F&e=someone%40mail.example",
        )
        .unwrap();
        let hits = scan_request(None, &decode_params(&url, None), url.as_str(), None, &[]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].value, "someone@mail.example");
        let url = url::Url::parse("https://px.ads.linkedin.com/collect?pid=123&fmt=gif&time=1700000000").unwrap();
        assert!(
            scan_request(
                None,
                &decode_params(&url, None),
                url.as_str(),
                None,
                &canary().needles()
            )
            .is_empty()
        );
    }

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    /// Identities wrapped in other values, each of which the outer layer
    /// alone does not show (the loose search over the once-decoded URL
    /// finds none of them).
    #[test]
    fn identities_nested_in_encodings_are_unwrapped() {
        let c = canary();
        let needles = c.needles();
        let email = normalise_email(&c.email);
        let sha = hex::encode(Sha256::digest(email.as_bytes()));
        let scan = |url: &str, body: Option<&str>| {
            let u = url::Url::parse(url).unwrap();
            let params = decode_params(&u, body);
            (scan_request(None, &params, url, body, &needles), params)
        };

        // A query string as a value, percent-encoded twice.
        let (hits, _) = scan(
            &format!(
                "https://collector.example/c?d={}",
                enc(&enc(&format!("uid=7&email={email}")))
            ),
            None,
        );
        let h = hits.iter().find(|h| h.param == "d.email").expect("d.email");
        assert!(h.canary);
        assert_eq!(h.encoding, "plain");
        assert_eq!(h.via, ["percent-encoded", "query string"]);

        // JSON in base64url, with a hashed e-mail.
        let blob = URL_SAFE_NO_PAD.encode(format!(r#"{{"user":{{"em":"{sha}","ts":1}}}}"#));
        let (hits, _) = scan(&format!("https://collector.example/c?d={blob}"), None);
        let h = hits.iter().find(|h| h.param == "d.user.em").expect("d.user.em");
        assert!(h.canary && h.encoding == "SHA-256 hex", "{h:?}");
        assert_eq!(h.how(), "SHA-256 hex inside JSON inside base64");

        // Four layers: base64 of a query string whose value is JSON
        // percent-encoded twice; found at exactly MAX_NESTING.
        let json = format!(r#"{{"customer":{{"mail":"{email}"}}}}"#);
        let four = STANDARD.encode(format!("v=2&q={}", enc(&enc(&json))));
        let (hits, _) = scan(&format!("https://collector.example/c?x={four}"), None);
        let h = hits
            .iter()
            .find(|h| h.param == "x.q.customer.mail")
            .expect("four layers");
        assert_eq!(h.via, ["base64", "query string", "percent-encoded", "JSON"]);
        assert_eq!(h.via.len(), MAX_NESTING);
        // Behind a fifth layer it stays unread: the bound holds.
        let mut five = format!("mail={email}");
        for _ in 0..5 {
            five = STANDARD.encode(&five);
        }
        let (hits, params) = scan(&format!("https://collector.example/c?y={}", enc(&five)), None);
        assert!(hits.is_empty(), "{hits:?}");
        assert!(params.iter().all(|p| p.via.len() <= MAX_NESTING));

        // A POST body that is one base64 blob of JSON.
        let body = STANDARD.encode(format!(r#"{{"events":[{{"email":"{email}"}}]}}"#));
        let (hits, _) = scan("https://collector.example/b", Some(&body));
        assert!(hits.iter().any(|h| h.param == "body.events.0.email" && h.canary));

        // A URL as a value (`dl=`), its query JSON with the hash inside a longer string.
        let inner = format!(
            "https://shop.example/thanks?o={}",
            enc(&format!(r#"{{"u":"h:{sha}"}}"#))
        );
        let (hits, _) = scan(&format!("https://collector.example/c?dl={}", enc(&enc(&inner))), None);
        assert!(
            hits.iter()
                .any(|h| h.param == "dl.o.u" && h.canary && h.via.contains(&"URL".to_owned())),
            "{hits:?}"
        );

        // A plain (non-canary) e-mail inside base64 is personal data too.
        let b = STANDARD.encode("contact=jan.jansen@mail.example");
        let (hits, _) = scan(&format!("https://collector.example/c?i={b}"), None);
        assert!(
            hits.iter()
                .any(|h| h.param == "i.contact" && h.encoding == "plain e-mail" && !h.canary)
        );

        // The base64 form of the canary is one leak, not also its plain inside.
        let b = STANDARD.encode(&email);
        let (hits, _) = scan(&format!("https://collector.example/c?e={b}"), None);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].encoding, "base64");
    }

    #[test]
    fn ordinary_values_are_not_unwrapped() {
        let url = url::Url::parse(
            "https://www.facebook.com/tr/?id=123456789012&ev=PageView&fbp=fb.1.1700000000.123456789&\
             h=973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b&sid=abcdefgh12345678&v=2.9.0&\
             pad=YWJjZA%3D%3D",
        )
        .unwrap();
        let params = decode_params(&url, None);
        let nested: Vec<&Param> = params.iter().filter(|p| !p.via.is_empty()).collect();
        // Only the genuine base64 text ("abcd") is unwrapped.
        assert_eq!(nested.len(), 1, "{nested:?}");
        assert_eq!((nested[0].key.as_str(), nested[0].value.as_str()), ("pad", "abcd"));
    }

    #[test]
    fn unwrapping_is_bounded() {
        // Wrapped twenty times: four layers are read, the rest is left.
        let mut v = "email=someone@mail.example".to_owned();
        for _ in 0..20 {
            v = STANDARD.encode(&v);
        }
        let url = url::Url::parse("https://x.example/").unwrap();
        let t = std::time::Instant::now();
        let params = decode_params(&url, Some(&format!("d={v}")));
        assert!(params.iter().all(|p| p.via.len() <= MAX_NESTING));
        assert_eq!(params.len(), 1 + MAX_NESTING);
        // Many large wrapped values: the decoded text stays within budget.
        let big = STANDARD.encode(format!("a={}", "b".repeat(60_000)));
        let body = (0..8).map(|i| format!("p{i}={big}")).collect::<Vec<_>>().join("&");
        let params = decode_params(&url, Some(&body));
        let unwrapped: usize = params.iter().filter(|p| !p.via.is_empty()).map(|p| p.value.len()).sum();
        assert!(unwrapped <= MAX_UNWRAPPED_BYTES, "{unwrapped}");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn bounded_on_hostile_input() {
        let body = "{".repeat(100_000);
        let url = url::Url::parse("https://x.example/").unwrap();
        let params = decode_params(&url, Some(&body));
        assert!(params.is_empty());
        let big = format!("a={}", "b&a=".repeat(200_000));
        assert!(decode_params(&url, Some(&big)).len() <= MAX_PARAMS);
    }
}
