//! Redaction of the identities a scan report found, so the report never
//! spreads them: the scanner applies it before it writes a report, the
//! dashboard again to every stored report it shows (older scanners wrote
//! them unredacted).
//!
//! An identity is shown as a prefix and its kind:
//! `a1b2c3… (SHA-256 of an e-mail address)`, `ka… (an e-mail address)`.
//! What is redacted, in any string of the report (titles, remedies, URLs,
//! parameters, scripts, notes):
//!
//! - every personal-data hit's value (an object with `field`, `encoding` and
//!   `value`), and every other occurrence of it, also percent-encoded once or
//!   twice and in any letter case (hex digests travel in either);
//! - every parameter (`{key, value}`) and URL query parameter whose name is
//!   one a hit travelled in, or that wrapped one (`d` for a hit in
//!   `d.user.email`: base64 around JSON is no disguise);
//! - any e-mail address.

use std::collections::BTreeMap;

use serde_json::Value;

/// Values shorter than this are replaced only where they were found (as a
/// hit or its parameter), never everywhere: `m` for a gender would
/// otherwise eat every `m` in the report.
const MIN_GLOBAL: usize = 6;

/// What a hit is, in words: `SHA-256 of an e-mail address`, `a phone
/// number`. `field` and `encoding` are a report's (`email`, `SHA-256 hex`).
pub fn kind(field: &str, encoding: &str) -> String {
    let what = match field {
        "email" => "an e-mail address".to_owned(),
        "phone" => "a phone number".to_owned(),
        "first_name" => "a first name".to_owned(),
        "last_name" => "a last name".to_owned(),
        "name" => "a name".to_owned(),
        "postal_code" => "a postal code".to_owned(),
        "address" => "an address".to_owned(),
        "external_id" => "a customer id".to_owned(),
        other => format!("personal data ({other})"),
    };
    let enc = encoding.to_ascii_lowercase();
    let how = if enc.starts_with("sha-256") || enc.starts_with("sha256") {
        "SHA-256 of "
    } else if enc.starts_with("sha-1") {
        "SHA-1 of "
    } else if enc.starts_with("md5") {
        "MD5 of "
    } else if enc.starts_with("base64") {
        "base64 of "
    } else {
        ""
    };
    format!("{how}{what}")
}

/// `value` shown as its first characters and `kind`: six for a digest or
/// an encoding, two for a plain value.
pub fn label(value: &str, kind: &str) -> String {
    let keep = if kind.contains(" of ") || kind.starts_with("contains") {
        6
    } else {
        2
    };
    let prefix: String = value.chars().take(keep).collect();
    format!("{prefix}… ({kind})")
}

/// Whether `s` is already a [`label`] (redacting twice changes nothing).
fn is_label(s: &str) -> bool {
    s.ends_with(')') && s.contains("… (")
}

/// What to hide in one report.
#[derive(Default)]
struct Secrets {
    /// Lowercase search text → its label; longest first when applied.
    values: Vec<(String, String)>,
    /// Parameter names that carried (or wrapped) a hit → the label for
    /// their values' kind (`contains …` for a wrapper).
    keys: BTreeMap<String, String>,
}

impl Secrets {
    fn collect(v: &Value, out: &mut Secrets) {
        match v {
            Value::Object(map) => {
                if let Some((field, encoding, value)) = hit_of(v) {
                    let kind = kind(field, encoding);
                    if !is_label(value) {
                        let text = value.trim_end_matches('…');
                        if text.chars().count() >= MIN_GLOBAL {
                            out.add_value(text, &label(text, &kind));
                        }
                    }
                    if let Some(param) = map.get("param").and_then(Value::as_str)
                        && !matches!(param, "url" | "body" | "")
                    {
                        out.keys.insert(param.to_owned(), kind.clone());
                        // The parameters it was wrapped in: `d` and `d.user` for `d.user.email`.
                        let mut at = 0;
                        while let Some(i) = param[at..].find('.') {
                            let outer = &param[..at + i];
                            out.keys
                                .entry(outer.to_owned())
                                .or_insert_with(|| format!("contains {kind}"));
                            at += i + 1;
                        }
                    }
                }
                for child in map.values() {
                    Self::collect(child, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|c| Self::collect(c, out)),
            _ => {}
        }
    }

    fn add_value(&mut self, text: &str, label: &str) {
        // As sent, and percent-encoded once and twice (`@` is `%40`, then `%2540`).
        let once = percent_encode(text);
        let twice = percent_encode(&once);
        for variant in [text.to_owned(), once, twice] {
            let lower = variant.to_ascii_lowercase();
            if !self.values.iter().any(|(v, _)| *v == lower) {
                self.values.push((lower, label.to_owned()));
            }
        }
    }

    fn text(&self, s: &str) -> String {
        let mut s = self.query_params(s);
        for (value, label) in &self.values {
            s = replace_ascii_ci(&s, value, label);
        }
        emails(&s)
    }

    /// A URL's query parameters named like a hit's parameter get a label
    /// for their value, in square brackets.
    fn query_params(&self, s: &str) -> String {
        if self.keys.is_empty() {
            return s.to_owned();
        }
        let Some(q) = s.find('?') else { return s.to_owned() };
        let (head, query) = s.split_at(q + 1);
        let (query, fragment) = match query.find('#') {
            Some(h) => query.split_at(h),
            None => (query, ""),
        };
        let parts: Vec<String> = query
            .split('&')
            .map(|part| match part.split_once('=') {
                Some((k, v))
                    if !v.is_empty()
                        && !v
                            .strip_prefix('[')
                            .and_then(|x| x.strip_suffix(']'))
                            .is_some_and(is_label) =>
                {
                    match self.keys.get(&percent_decode(k)) {
                        Some(kind) => format!("{k}=[{}]", label(&percent_decode(v), kind)),
                        None => part.to_owned(),
                    }
                }
                _ => part.to_owned(),
            })
            .collect();
        format!("{head}{}{fragment}", parts.join("&"))
    }

    fn apply(&self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                let hit = hit_of(&Value::Object(map.clone())).map(|(f, e, val)| (kind(f, e), val.to_owned()));
                if let Some((kind, value)) = hit {
                    if !is_label(&value) {
                        map.insert("value".into(), Value::String(label(value.trim_end_matches('…'), &kind)));
                    }
                } else if let (Some(Value::String(key)), Some(Value::String(value))) =
                    (map.get("key"), map.get("value"))
                    && let Some(kind) = self.keys.get(key)
                    && !is_label(value)
                {
                    let redacted = label(value, kind);
                    map.insert("value".into(), Value::String(redacted));
                }
                for child in map.values_mut() {
                    self.apply(child);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|c| self.apply(c)),
            Value::String(s) => {
                let redacted = self.text(s);
                if redacted != *s {
                    *s = redacted;
                }
            }
            _ => {}
        }
    }
}

/// `(field, encoding, value)` of a personal-data hit.
fn hit_of(v: &Value) -> Option<(&str, &str, &str)> {
    let map = v.as_object()?;
    Some((
        map.get("field")?.as_str()?,
        map.get("encoding")?.as_str()?,
        map.get("value")?.as_str()?,
    ))
}

/// Redacts a scan report (or any part of one) in place; see the module.
pub fn report(v: &mut Value) {
    let mut secrets = Secrets::default();
    Secrets::collect(v, &mut secrets);
    secrets
        .values
        .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    secrets.apply(v);
}

/// Redacts one text on its own: only its e-mail addresses are known.
pub fn text(s: &str) -> String {
    emails(s)
}

/// Replaces every ASCII-case-insensitive occurrence of `lower` (lowercase)
/// in `s`.
fn replace_ascii_ci(s: &str, lower: &str, with: &str) -> String {
    if lower.is_empty() || s.len() < lower.len() {
        return s.to_owned();
    }
    let hay = s.to_ascii_lowercase();
    if !hay.contains(lower) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (i, _) in hay.match_indices(lower) {
        if i < last {
            continue;
        }
        out.push_str(&s[last..i]);
        out.push_str(with);
        last = i + lower.len();
    }
    out.push_str(&s[last..]);
    out
}

/// Every e-mail address in `s` (`@` or `%40`, a dotted domain ending in two
/// or more letters) as a [`label`].
fn emails(s: &str) -> String {
    if !s.contains('@') && !s.contains("%40") {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        let at_len = if b[i] == b'@' {
            1
        } else if b[i..].starts_with(b"%40") {
            3
        } else {
            i += 1;
            continue;
        };
        let mut start = i;
        while start > last && local(b[start - 1]) {
            start -= 1;
        }
        let mut end = i + at_len;
        while end < b.len() && domain(b[end]) {
            end += 1;
        }
        let host = s[i + at_len..end].trim_end_matches(['.', '-']);
        let tld = host.rsplit('.').next().unwrap_or("");
        let ok = start < i && host.contains('.') && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic());
        if ok {
            let end = i + at_len + host.len();
            let address = format!("{}@{host}", percent_decode(&s[start..i]));
            out.push_str(&s[last..start]);
            out.push_str(&label(&address, "an e-mail address"));
            last = end;
            i = end;
        } else {
            i += at_len;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// `%XX` for every byte but unreserved ones (RFC 3986 §2.3).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` and `+` decoded (lossily for bytes that are not UTF-8).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() => {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 3;
                continue;
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const HASH: &str = "4b1c0d8e2f3a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";

    #[test]
    fn kinds_and_labels() {
        assert_eq!(kind("email", "SHA-256 hex"), "SHA-256 of an e-mail address");
        assert_eq!(kind("phone", "plain phone number"), "a phone number");
        assert_eq!(kind("email", "base64url"), "base64 of an e-mail address");
        assert_eq!(
            label(HASH, &kind("email", "SHA-256 hex")),
            "4b1c0d… (SHA-256 of an e-mail address)"
        );
        assert_eq!(
            label("jan@shop.example", "an e-mail address"),
            "ja… (an e-mail address)"
        );
    }

    #[test]
    fn a_report_keeps_no_identity_anywhere() {
        let upper = HASH.to_ascii_uppercase();
        let mut r = json!({
            "findings": [{
                "title": "Personal data sent to Meta Pixel",
                "remedy": format!("Stop sending {HASH} and jan@shop.example"),
                "evidence": [{
                    "request": format!("https://www.facebook.com/tr/?id=1&ud%5Bem%5D={upper}&d=eyJ1Ijp7fX0&x=jan%40shop.example"),
                    "params": [{"key": "ud[em]", "value": HASH}, {"key": "id", "value": "1"}, {"key": "d", "value": "eyJ1Ijp7fX0"}],
                    "personal_data": [
                        {"field": "email", "param": "ud[em]", "encoding": "SHA-256 hex", "value": HASH, "canary": true},
                        {"field": "email", "param": "d.u.em", "encoding": "plain", "value": "kanarie@x.example", "canary": true, "via": ["base64", "JSON"]},
                    ],
                    "script": "fbq('init', '1', {em: 'piet@shop.example'})",
                }],
            }],
            "pages": [{"url": "https://shop.example/?e=kanarie%2540x.example"}],
        });
        report(&mut r);
        let text = r.to_string();
        for secret in [
            HASH,
            &upper,
            "jan@shop.example",
            "jan%40shop",
            "kanarie@x",
            "kanarie%2540",
            "piet@",
            "eyJ1Ijp7fX0",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let ev = &r["findings"][0]["evidence"][0];
        assert_eq!(
            ev["personal_data"][0]["value"],
            "4b1c0d… (SHA-256 of an e-mail address)"
        );
        assert_eq!(ev["params"][0]["value"], "4b1c0d… (SHA-256 of an e-mail address)");
        assert_eq!(ev["params"][1]["value"], "1");
        assert_eq!(ev["params"][2]["value"], "eyJ1Ij… (contains an e-mail address)");
        let request = ev["request"].as_str().unwrap();
        assert!(
            request.starts_with(
                "https://www.facebook.com/tr/?id=1&ud%5Bem%5D=[4B1C0D… (SHA-256 of an e-mail address)]&d=["
            ),
            "{request}"
        );
        assert_eq!(
            r["findings"][0]["remedy"],
            "Stop sending 4b1c0d… (SHA-256 of an e-mail address) and ja… (an e-mail address)"
        );
        // Twice is once.
        let once = r.clone();
        report(&mut r);
        assert_eq!(r, once);
    }

    #[test]
    fn short_values_and_look_alikes_stay() {
        let mut r = json!({"personal_data": [{"field": "gender", "param": "ud[ge]", "encoding": "value", "value": "m"}],
            "note": "npm foo@1.2.3, @scope/pkg, mail me at a@b"});
        report(&mut r);
        assert_eq!(r["note"], "npm foo@1.2.3, @scope/pkg, mail me at a@b");
        assert_eq!(r["personal_data"][0]["value"], "m… (personal data (gender))");
    }
}
