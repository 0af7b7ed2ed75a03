//! The browser's cookies as the widget touches them: the first-party
//! `keurmerk` cookie that holds the visitor's decision (read back by the
//! loader on every page), and the deletion of a withdrawn purpose's declared
//! cookies.
//!
//! The decision cookie's value is
//! `version.fingerprint.time.cat:1+cat:0.svc:1+svc:0.gpc` (see `parse` in
//! loader/source.js), written by [`crate::decision::decide`] with [`add`].
//! It needs no escaping: ids are slugs (`[a-z0-9_-]`, checked by
//! `consent_core::config`), the version and fingerprint hex, and `+ : .`
//! are allowed in cookie values (and left alone by `decodeURIComponent`).
//!
//! Bytewise code throughout: `str::split`, `find` and `trim` bring their
//! searchers and char decoding into the wasm, and panicking slices bring
//! `core::fmt`.

use alloc::string::String;

#[cfg(feature = "dialog")]
use crate::loader::string;
#[cfg(feature = "dialog")]
use crate::site::Site;

/// Appends `id` and `suffix` to the `+`-separated list the value ends with.
pub fn add(value: &mut String, id: &str, suffix: &str) {
    if value.as_bytes().last() != Some(&b'.') {
        value.push('+');
    }
    value.push_str(id);
    value.push_str(suffix);
}

/// Writes the decision cookie for the whole site, for `days`: on `domain`
/// (the configuration's `cookie_domain`, so that the site's subdomains share
/// it) when the page is on it, else on the page's host. A cookie left on the
/// host from before stays until it lapses; the loader reads the newest.
pub fn write(value: &str, days: u64, domain: &str) {
    let mut c = String::from("keurmerk=");
    c.push_str(value);
    c.push_str(";path=/;max-age=");
    crate::dom::push_number(&mut c, days * 86_400);
    if within(&crate::dom::hostname(), domain) {
        c.push_str(";domain=");
        c.push_str(domain);
    }
    c.push_str(";samesite=lax");
    if crate::dom::is_https() {
        c.push_str(";secure");
    }
    crate::dom::set_cookie(&c);
}

/// Whether `host` is `domain` or below it (`www.example.nl` in
/// `example.nl`); never for an empty domain.
fn within(host: &str, domain: &str) -> bool {
    let (h, d) = (host.as_bytes(), domain.as_bytes());
    !d.is_empty() && (h == d || (h.ends_with(d) && h.get(h.len() - d.len() - 1) == Some(&b'.')))
}

/// Deletes the declared cookies (and same-named localStorage items) of a
/// withdrawn category, or of one service when `service` is not empty:
/// every cookie of the page whose name matches a declared name or `*`
/// pattern, host-only, on each parent domain and on the declared domain,
/// since a tag may have set it on any of them. Only the dialog's module
/// withdraws (see `crate::site`).
#[cfg(feature = "dialog")]
pub fn wipe(site: &Site, category: &str, service: &str) {
    let jar = crate::dom::cookies();
    let host = crate::dom::hostname();
    for s in &site.services {
        let theirs = if service.is_empty() {
            s.category == category
        } else {
            s.id == service
        };
        if !theirs {
            continue;
        }
        for k in &s.cookies {
            let pattern = string(k, "name");
            let domain = string(k, "domain");
            each_name(&jar, &mut |name| {
                if glob(pattern.as_bytes(), name.as_bytes()) {
                    expire(name, &host, &domain, &mut |c| crate::dom::set_cookie(c));
                    crate::dom::forget_local(name);
                }
            });
        }
    }
}

/// Calls `f` with the name of each cookie in `document.cookie`'s text.
#[cfg(any(feature = "dialog", test))]
fn each_name(jar: &str, f: &mut dyn FnMut(&str)) {
    let b = jar.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let mut eq = None;
        while let Some(&c) = b.get(i) {
            if c == b';' {
                break;
            }
            if c == b'=' && eq.is_none() {
                eq = Some(i);
            }
            i += 1;
        }
        let name = trim(jar.get(start..eq.unwrap_or(i)).unwrap_or_default());
        if !name.is_empty() {
            f(name);
        }
        i += 1;
    }
}

#[cfg(any(feature = "dialog", test))]
fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let (mut a, mut z) = (0, b.len());
    while a < z && b.get(a) == Some(&b' ') {
        a += 1;
    }
    while z > a && b.get(z - 1) == Some(&b' ') {
        z -= 1;
    }
    s.get(a..z).unwrap_or_default()
}

/// Hands `set` the cookie strings that delete `name`: host-only, on the
/// declared domain, and on `.host` and each parent domain above it but the
/// top-level one (`a.b.example.nl` → `.a.b.example.nl`, `.b.example.nl`,
/// `.example.nl`).
#[cfg(any(feature = "dialog", test))]
fn expire(name: &str, host: &str, declared: &str, set: &mut dyn FnMut(&str)) {
    let gone = |domain: &str, dot: bool, set: &mut dyn FnMut(&str)| {
        let mut c = String::from(name);
        c.push_str("=;path=/;max-age=0");
        if !domain.is_empty() {
            c.push_str(";domain=");
            if dot {
                c.push('.');
            }
            c.push_str(domain);
        }
        set(&c);
    };
    gone("", false, set);
    if !declared.is_empty() {
        gone(declared, false, set);
    }
    let mut d = host;
    while let Some(dot) = d.bytes().position(|b| b == b'.') {
        gone(d, true, set);
        d = d.get(dot + 1..).unwrap_or_default();
    }
}

/// Whether a cookie name matches a declared name, where `*` stands for any
/// run of characters (bytewise, backtracking to the last `*`).
#[cfg(any(feature = "dialog", test))]
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
    use alloc::vec::Vec;

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
    fn cookie_names_from_the_jar() {
        let mut names = Vec::new();
        each_name(" _ga=GA1.2=3; _fbp=fb.1 ;;x=; lonely ; =v", &mut |n| {
            names.push(String::from(n))
        });
        assert_eq!(names, ["_ga", "_fbp", "x", "lonely"]);
    }

    #[test]
    fn expiry_covers_the_host_its_parents_and_the_declared_domain() {
        let mut set = Vec::new();
        expire("_ga", "www.shop.example.nl", "example.nl", &mut |c| {
            set.push(String::from(c))
        });
        assert_eq!(
            set,
            [
                "_ga=;path=/;max-age=0",
                "_ga=;path=/;max-age=0;domain=example.nl",
                "_ga=;path=/;max-age=0;domain=.www.shop.example.nl",
                "_ga=;path=/;max-age=0;domain=.shop.example.nl",
                "_ga=;path=/;max-age=0;domain=.example.nl",
            ]
        );
        set.clear();
        expire("x", "localhost", "", &mut |c| set.push(String::from(c)));
        assert_eq!(set, ["x=;path=/;max-age=0"]);
    }

    #[test]
    fn the_shared_domain_is_used_only_on_it() {
        assert!(within("www.example.nl", "example.nl"));
        assert!(within("example.nl", "example.nl"));
        assert!(within("a.b.example.nl", "example.nl"));
        assert!(!within("badexample.nl", "example.nl"));
        assert!(!within("example.nl.evil.test", "example.nl"));
        assert!(!within("www.example.nl", ""));
        assert!(!within("nl", "example.nl"));
    }

    #[test]
    fn the_value_is_what_the_loader_parses() {
        let mut v = String::from("0123456789abcdef.fp.1700000000.");
        add(&mut v, "analytics", ":1");
        add(&mut v, "marketing", ":0");
        v.push('.');
        add(&mut v, "meta", ":1");
        add(&mut v, "tiktok", ":0");
        v.push_str(".1");
        assert_eq!(
            v,
            "0123456789abcdef.fp.1700000000.analytics:1+marketing:0.meta:1+tiktok:0.1"
        );
        let mut empty = String::from("v.f.1.");
        empty.push('.');
        empty.push_str(".0");
        assert_eq!(empty.split('.').count(), 6, "empty lists keep their place");
    }
}
