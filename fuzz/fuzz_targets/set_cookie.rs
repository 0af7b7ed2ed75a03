//! The scanner's `Set-Cookie` parsing (`scanner::cookie`): whatever a site
//! sends, a parsed cookie has a usable name, a lower-case domain without
//! its leading dot and an absolute path; retention texts parse to days.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use scanner::cookie::{parse_retention_days, parse_set_cookie};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
    if let Some(c) = parse_set_cookie(header, now) {
        assert!(!c.name.is_empty() && c.name.len() <= 256);
        assert_eq!(c.name, c.name.trim());
        assert!(!c.name.contains([';', '=']), "{:?}", c.name);
        if let Some(d) = &c.domain {
            assert!(!d.starts_with('.'));
            assert_eq!(*d, d.to_ascii_lowercase());
        }
        assert!(c.path.starts_with('/'));
        // The same header again parses the same (no hidden state), and
        // attributes after the 32nd are ignored, not an error.
        assert_eq!(parse_set_cookie(header, now), Some(c));
    }
    let _ = parse_retention_days(header);
});
