//! `robots.txt` (RFC 9309): the groups that apply to us, longest-match
//! allow/disallow, and the sitemaps it lists. Bounded: at most 512 KiB and
//! 10,000 lines are read, as the RFC allows (§2.5 sets a 500 KiB minimum).

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Robots {
    rules: Vec<(bool, String)>,
    pub sitemaps: Vec<String>,
}

const MAX_LINES: usize = 10_000;

impl Robots {
    /// Parses the file, keeping the rules of the group for `agent` (a
    /// case-insensitive product token) or, failing that, `*`.
    pub fn parse(text: &str, agent: &str) -> Self {
        let agent = agent.to_ascii_lowercase();
        let mut specific = Vec::new();
        let mut star = Vec::new();
        let mut sitemaps = Vec::new();
        // The user agents of the group being read, and whether rules followed.
        let mut group: Vec<String> = Vec::new();
        let mut in_rules = false;
        for line in text.lines().take(MAX_LINES) {
            let line = line.split('#').next().unwrap_or_default().trim();
            let Some((k, v)) = line.split_once(':') else { continue };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "user-agent" => {
                    if in_rules {
                        group.clear();
                        in_rules = false;
                    }
                    group.push(v.to_ascii_lowercase());
                }
                "allow" | "disallow" => {
                    in_rules = true;
                    if v.is_empty() {
                        continue;
                    }
                    let rule = (k == "allow", v.to_owned());
                    if group.iter().any(|g| agent.contains(g.as_str()) && g != "*") {
                        specific.push(rule.clone());
                    }
                    if group.iter().any(|g| g == "*") {
                        star.push(rule);
                    }
                }
                "sitemap" => sitemaps.push(v.to_owned()),
                _ => {}
            }
        }
        Robots {
            rules: if specific.is_empty() { star } else { specific },
            sitemaps,
        }
    }

    /// Longest matching rule wins; on a tie, allow wins (RFC 9309 §2.2.2).
    pub fn allowed(&self, path_and_query: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if rule_matches(pattern, path_and_query) {
                let len = pattern.len();
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// `*` matches any run, a trailing `$` anchors the end; otherwise a prefix.
fn rule_matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let glob = if anchored {
        pattern.to_owned()
    } else {
        format!("{pattern}*")
    };
    consent_core::config::cookie_name_matches(&glob, path)
}

/// `<loc>` entries of a sitemap or sitemap index (bounded).
pub fn sitemap_locs(xml: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while out.len() < max {
        let Some(i) = rest.find("<loc>") else { break };
        rest = &rest[i + 5..];
        let Some(j) = rest.find("</loc>") else { break };
        let loc = rest[..j].trim().replace("&amp;", "&");
        if !loc.is_empty() {
            out.push(loc);
        }
        rest = &rest[j..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_precedence() {
        let r = Robots::parse(
            "User-agent: *\nDisallow: /private\nAllow: /private/ok\n\nUser-agent: othercrawler\nDisallow: /\n\nSitemap: https://s.example/sitemap.xml\n",
            "KeurmerkScanner",
        );
        assert!(r.allowed("/"));
        assert!(!r.allowed("/private/x"));
        assert!(r.allowed("/private/ok/y"));
        assert_eq!(r.sitemaps, vec!["https://s.example/sitemap.xml"]);
        let r = Robots::parse(
            "User-agent: keurmerkscanner\nDisallow: /*.pdf$\n",
            "KeurmerkScanner/0.1",
        );
        assert!(!r.allowed("/a/b.pdf"));
        assert!(r.allowed("/a/b.pdf?x=1"));
    }

    #[test]
    fn sitemaps() {
        let xml = "<urlset><url><loc> https://s.example/a?x=1&amp;y=2 </loc></url><url><loc>https://s.example/b</loc></url></urlset>";
        assert_eq!(
            sitemap_locs(xml, 10),
            vec!["https://s.example/a?x=1&y=2", "https://s.example/b"]
        );
        assert_eq!(sitemap_locs(xml, 1).len(), 1);
    }
}
