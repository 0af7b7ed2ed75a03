//! The coarse browser summary kept (sealed) with a decision: family and major
//! version only, never the full User-Agent string.

/// `Chrome 131`, `Firefox 133`, `Safari 17`, `Edge 131`, `Opera 114`, or
/// `None` for anything unrecognised.
pub fn summary(user_agent: &str) -> Option<String> {
    // Order matters: Edge and Opera also claim Chrome, Chrome also claims Safari.
    const FAMILIES: [(&str, &str); 5] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ];
    for (marker, family) in FAMILIES {
        if let Some(rest) = user_agent.split(marker).nth(1) {
            let major: String = rest.chars().take_while(char::is_ascii_digit).take(4).collect();
            if family == "Safari" && !user_agent.contains("Safari/") {
                continue;
            }
            if !major.is_empty() {
                return Some(format!("{family} {major}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn families_and_major_versions() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.85 Safari/537.36";
        assert_eq!(summary(chrome).as_deref(), Some("Chrome 131"));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70";
        assert_eq!(summary(edge).as_deref(), Some("Edge 131"));
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(summary(firefox).as_deref(), Some("Firefox 133"));
        let safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15";
        assert_eq!(summary(safari).as_deref(), Some("Safari 17"));
        assert_eq!(summary("curl/8.5.0"), None);
        assert_eq!(summary(""), None);
    }
}
