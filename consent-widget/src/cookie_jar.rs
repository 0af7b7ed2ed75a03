//! The browser's cookies as the widget touches them: the first-party
//! `keurmerk` cookie that holds the visitor's decision (read back by the
//! loader on every page), and the deletion of a withdrawn purpose's declared
//! cookies.

use alloc::string::String;
use alloc::vec::Vec;

use crate::loader::{get, string};
use crate::site::Site;

/// A decision as the cookie holds it.
pub struct Stored<'a> {
    /// The configuration version (its first 16 characters).
    pub version: &'a str,
    /// The purposes fingerprint the decision answered.
    pub fingerprint: &'a str,
    /// Unix seconds.
    pub time: u64,
    /// Every category with its answer.
    pub categories: &'a [(String, bool)],
    /// Required categories: always granted, so not written.
    pub required: &'a [String],
    /// Per-service answers that differ from their category.
    pub services: &'a [(String, bool)],
    pub gpc: bool,
}

/// The cookie's value: `version.fingerprint.time.cat+cat.svc:1+svc:0.gpc`,
/// percent-encoded like `encodeURIComponent` (the loader decodes it with
/// `decodeURIComponent`; see `readCookie` in loader/source.js).
pub fn value(d: &Stored<'_>) -> String {
    let mut plain = String::new();
    plain.push_str(d.version.get(..16).unwrap_or(d.version));
    plain.push('.');
    plain.push_str(d.fingerprint);
    plain.push('.');
    crate::dom::push_number(&mut plain, d.time);
    plain.push('.');
    let granted = d
        .categories
        .iter()
        .filter(|(c, on)| *on && !d.required.contains(c))
        .map(|(c, _)| c.as_str());
    join(&mut plain, granted);
    plain.push('.');
    let mut services = Vec::new();
    for (s, on) in d.services {
        let mut x = s.clone();
        x.push_str(if *on { ":1" } else { ":0" });
        services.push(x);
    }
    join(&mut plain, services.iter().map(String::as_str));
    plain.push_str(if d.gpc { ".1" } else { ".0" });
    encode(&plain)
}

fn join<'a>(out: &mut String, parts: impl Iterator<Item = &'a str>) {
    for (i, p) in parts.enumerate() {
        if i > 0 {
            out.push('+');
        }
        out.push_str(p);
    }
}

/// `encodeURIComponent`: every byte but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` as
/// `%XX`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            push_hex(&mut out, b, b"0123456789ABCDEF");
        }
    }
    out
}

/// Two hex digits of a byte from the given digit table (no `core::fmt`).
pub fn push_hex(out: &mut String, b: u8, digits: &[u8; 16]) {
    out.push(char::from(digits[usize::from(b >> 4)]));
    out.push(char::from(digits[usize::from(b & 15)]));
}

/// Writes the decision cookie for the whole site, for `days`.
pub fn write(value: &str, days: u64) {
    let mut c = String::from("keurmerk=");
    c.push_str(value);
    c.push_str(";path=/;max-age=");
    crate::dom::push_number(&mut c, days * 86_400);
    c.push_str(";samesite=lax");
    if crate::dom::is_https() {
        c.push_str(";secure");
    }
    crate::dom::set_cookie(&c);
}

/// Deletes the declared cookies (and same-named localStorage items) of a
/// withdrawn category or service: every cookie of the page whose name
/// matches a declared name or `*` pattern, on the page's host, each parent
/// domain, and the declared domain, since a tag may have set it on any.
pub fn wipe(site: &Site, category: &str, service: &str) {
    let jar = crate::dom::cookies();
    let names: Vec<&str> = pieces(&jar, b';')
        .filter_map(|c| pieces(c, b'=').next())
        .map(|n| n.trim_matches(' '))
        .filter(|n| !n.is_empty())
        .collect();
    let host = crate::dom::hostname();
    let declared = site.services.iter().filter(|s| {
        if service.is_empty() {
            s.category == category
        } else {
            s.id == service
        }
    });
    for s in declared {
        for k in &s.cookies {
            let pattern = string(k, "name");
            let domain = get(k, "domain").as_string();
            for n in names.iter().filter(|n| glob(pattern.as_bytes(), n.as_bytes())) {
                let mut domains = parent_domains(&host);
                domains.push(String::new());
                domains.extend(domain.clone());
                for d in &domains {
                    let mut c = String::from(*n);
                    c.push_str("=;path=/;max-age=0");
                    if !d.is_empty() {
                        c.push_str(";domain=");
                        c.push_str(d);
                    }
                    crate::dom::set_cookie(&c);
                }
                crate::dom::forget_local(n);
            }
        }
    }
}

/// `a.b.example.nl` → `.a.b.example.nl`, `.b.example.nl`, `.example.nl`
/// (not the bare public suffix, where browsers refuse cookies anyway).
fn parent_domains(host: &str) -> Vec<String> {
    let labels: Vec<&str> = pieces(host, b'.').collect();
    (0..labels.len().saturating_sub(1))
        .map(|i| {
            let mut d = String::new();
            for l in labels.get(i..).unwrap_or_default() {
                d.push('.');
                d.push_str(l);
            }
            d
        })
        .collect()
}

/// The parts of `s` between `sep` bytes. (Not `str::split`: its searcher
/// and the char-boundary panics of slicing cost kilobytes of wasm; `sep` is
/// ASCII, so every cut is on a char boundary and `get` never fails.)
fn pieces(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut from = 0;
    let mut done = false;
    core::iter::from_fn(move || {
        if done {
            return None;
        }
        let rest = s.as_bytes().get(from..).unwrap_or_default();
        let end = match rest.iter().position(|b| *b == sep) {
            Some(i) => from + i,
            None => {
                done = true;
                s.len()
            }
        };
        let piece = s.get(from..end).unwrap_or_default();
        from = end + 1;
        Some(piece)
    })
}

/// Whether a cookie name matches a declared name, where `*` stands for any
/// run of characters (bytewise, backtracking to the last `*`).
pub fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(c) if Some(c) == name.get(n) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                // Let the last `*` take one more byte and try again.
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    p = sp + 1;
                    n = sn + 1;
                }
                None => return false,
            },
        }
    }
    while pattern.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_the_declared_patterns_mean() {
        let glob = |p: &str, n: &str| glob(p.as_bytes(), n.as_bytes());
        assert!(glob("_ga", "_ga"));
        assert!(!glob("_ga", "_gat"));
        assert!(glob("_ga_*", "_ga_ABC123"));
        assert!(glob("_ga_*", "_ga_"));
        assert!(!glob("_ga_*", "_gb_x"));
        assert!(glob("*_fbp", "x_fbp"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXc"));
        assert!(glob("*", "anything"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("a**", "a"));
    }

    #[test]
    fn pieces_like_split() {
        for s in ["a;b; c", "", ";", "a;;b;", "é;ü"] {
            assert_eq!(
                pieces(s, b';').collect::<Vec<_>>(),
                s.split(';').collect::<Vec<_>>(),
                "{s}"
            );
        }
    }

    #[test]
    fn parent_domains_of_a_host() {
        assert_eq!(
            parent_domains("www.shop.example.nl"),
            [".www.shop.example.nl", ".shop.example.nl", ".example.nl"]
        );
        assert!(parent_domains("localhost").is_empty());
        assert_eq!(parent_domains("example.nl"), [".example.nl"]);
    }

    #[test]
    fn the_cookie_value_is_what_the_loader_parses() {
        let cats = [
            ("necessary".into(), true),
            ("analytics".into(), true),
            ("marketing".into(), false),
        ];
        let v = value(&Stored {
            version: "0123456789abcdef0123",
            fingerprint: "fp",
            time: 1_700_000_000,
            categories: &cats,
            required: &["necessary".into()],
            services: &[("meta".into(), true), ("tiktok".into(), false)],
            gpc: true,
        });
        assert_eq!(v, "0123456789abcdef.fp.1700000000.analytics.meta%3A1%2Btiktok%3A0.1");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
