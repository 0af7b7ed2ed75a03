//! Is the consent loader installed the way blocking needs it? Read from each
//! page's HTML by the static pass, before anything runs.
//!
//! The loader can only hold a tag back if it runs before that tag: it must be
//! the first script of the document, in `<head>`, and synchronous (an `async`
//! or `defer` loader runs after the parser has already run the tags below
//! it). Independently of the loader, a tracker written as a plain
//! `<script src>` or `<img src>` in the HTML is fetched by the browser's
//! preload scanner as soon as the HTML arrives, before any script runs
//! (HTML Standard §13.2, "speculative HTML parsing": the parser may fetch
//! resources ahead of executing scripts): the vendor receives the visitor's
//! IP address and the page even though the loader later stops the tag from
//! running. The fix is the declarative form the loader releases on consent
//! (`<script type="text/plain" data-consent=… data-src=…>`, docs/widget.md).

use serde::{Deserialize, Serialize};

use crate::fetch::{FetchError, Fetcher, Limits};
use crate::guard::Guard;
use crate::html::Extracted;
use crate::page::same_site;
use crate::signature::KnowledgeBase;

/// The loader's `<script>` on one page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderTag {
    pub src: String,
    /// No script the browser would run comes before it in the document.
    pub first_script: bool,
    pub in_head: bool,
    /// Neither `async`, `defer` nor a module.
    pub synchronous: bool,
}

impl LoaderTag {
    /// Installed so that it runs before every other script of the page.
    pub fn correct(&self) -> bool {
        self.first_script && self.in_head && self.synchronous
    }
}

/// A third-party tag in the HTML: a script source, an image or frame, or a
/// URL an inline snippet injects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRef {
    pub url: String,
    /// `script`, `image`, `iframe` or `inline-reference`.
    pub kind: String,
    /// The tracking platform it belongs to (its human name), once named by
    /// the knowledge base; `None` in a raw check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// One page's installation, as its HTML shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallCheck {
    pub page: String,
    /// The consent loader, if the page has one (`…/s/<site>/loader.js`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loader: Option<LoaderTag>,
    /// Tracker tags the browser would run before the loader (all of them
    /// when there is no loader).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before_loader: Vec<TagRef>,
    /// Tracker tags written as plain, runnable `<script src>` / `<img src>` /
    /// `<iframe src>` anywhere in the page: fetched by the preload scanner
    /// whatever the loader does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plain_tags: Vec<TagRef>,
}

impl InstallCheck {
    /// The loader is there and correctly placed, and no tracker escapes it.
    pub fn sound(&self) -> bool {
        self.loader.as_ref().is_some_and(LoaderTag::correct)
            && self.before_loader.is_empty()
            && self.plain_tags.is_empty()
    }
}

/// Whether a script URL is a Keurmerk loader: `/s/<site>/loader.js` on any
/// host (the consent server may run under any name).
pub fn is_loader(url: &url::Url) -> bool {
    let mut segs = url.path_segments().into_iter().flatten();
    matches!(
        (segs.next(), segs.next(), segs.next(), segs.next()),
        (Some("s"), Some(site), Some("loader.js"), None) if !site.is_empty()
    )
}

/// Cap on tags kept per list: enough to act on, bounded for hostile pages.
const MAX_TAGS: usize = 50;

/// A page's raw check: every third-party tag, not yet filtered to trackers
/// (that needs the knowledge base: [`name_platforms`]).
pub fn inspect(page: &str, x: &Extracted, base: &url::Url) -> InstallCheck {
    let site_host = base.host_str().unwrap_or_default();
    let third_party =
        |u: &url::Url| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !same_site(h, site_host));
    let mut check = InstallCheck {
        page: page.to_owned(),
        ..InstallCheck::default()
    };
    let mut runnable_before = false;
    for s in x.scripts.iter().filter(|s| s.executable()) {
        let src = s.src.as_deref().and_then(|u| base.join(u).ok());
        if let Some(u) = &src
            && check.loader.is_none()
            && is_loader(u)
        {
            check.loader = Some(LoaderTag {
                src: u.to_string(),
                first_script: !runnable_before,
                in_head: s.in_head,
                synchronous: s.synchronous,
            });
            continue;
        }
        runnable_before = true;
        let mut refs = Vec::new();
        match &src {
            Some(u) if third_party(u) => {
                let tag = TagRef {
                    url: u.to_string(),
                    kind: "script".into(),
                    platform: None,
                };
                push_bounded(&mut check.plain_tags, tag.clone());
                refs.push(tag);
            }
            Some(_) => {}
            None => {
                for m in crate::crawl::INLINE_URL.find_iter(&s.inline).take(MAX_TAGS) {
                    if let Ok(u) = base.join(m.as_str())
                        && third_party(&u)
                    {
                        refs.push(TagRef {
                            url: u.to_string(),
                            kind: "inline-reference".into(),
                            platform: None,
                        });
                    }
                }
            }
        }
        if check.loader.is_none() {
            for r in refs {
                push_bounded(&mut check.before_loader, r);
            }
        }
    }
    for p in x.pixels.iter().filter(|p| p.kind != "noscript") {
        if let Ok(u) = base.join(&p.url)
            && third_party(&u)
        {
            push_bounded(
                &mut check.plain_tags,
                TagRef {
                    url: u.to_string(),
                    kind: p.kind.into(),
                    platform: None,
                },
            );
        }
    }
    check
}

fn push_bounded(v: &mut Vec<TagRef>, t: TagRef) {
    if v.len() < MAX_TAGS && !v.iter().any(|x| x.url == t.url) {
        v.push(t);
    }
}

/// Keeps only the tags of known platforms, named. Tag managers count: one
/// that runs before the loader injects its tags before blocking starts.
pub fn name_platforms(checks: &mut [InstallCheck], kb: &KnowledgeBase) {
    let name = |t: &mut TagRef| {
        let u = url::Url::parse(&t.url).ok()?;
        let m = kb.match_url(&u).into_iter().next()?;
        t.platform = Some(m.platform.name.clone());
        Some(())
    };
    for c in checks {
        c.before_loader.retain_mut(|t| name(t).is_some());
        c.plain_tags.retain_mut(|t| name(t).is_some());
    }
}

/// The HTML of a page to check is cut here (tags past it are not read).
const MAX_PAGE: usize = 5 * 1024 * 1024;

/// One page checked on demand ("check my installation"): fetched through
/// `guard` (public addresses only unless it allows private ones), read, and
/// its tags named. Also the page's HTTP status.
pub async fn check_page(url: url::Url, guard: Guard, kb: &KnowledgeBase) -> Result<(u16, InstallCheck), FetchError> {
    let limits = Limits {
        timeout: std::time::Duration::from_secs(15),
        max_body: MAX_PAGE,
        max_redirects: 5,
        rate_per_host: None,
    };
    let fetched = Fetcher::new(limits, guard)?.get(url.clone()).await?;
    let (x, _) = crate::html::extract(&fetched.body, 2 * MAX_PAGE);
    let mut checks = vec![inspect(url.as_str(), &x, &fetched.url)];
    name_platforms(&mut checks, kb);
    Ok((fetched.status, checks.pop().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(html: &str) -> InstallCheck {
        let base = url::Url::parse("https://shop.example/").unwrap();
        let (x, _) = crate::html::extract(html.as_bytes(), 1 << 20);
        let mut c = vec![inspect(base.as_str(), &x, &base)];
        name_platforms(&mut c, &KnowledgeBase::builtin());
        c.pop().unwrap()
    }

    const LOADER: &str = r#"<script src="https://consent.example.nl/s/shop/loader.js" crossorigin></script>"#;
    const META: &str = r#"<script src="https://connect.facebook.net/en_US/fbevents.js"></script>"#;

    #[test]
    fn a_loader_first_in_head_and_synchronous_is_sound() {
        let c = check(&format!(
            "<html><head>{LOADER}<script type=\"text/plain\" data-consent=marketing data-src=\"https://connect.facebook.net/en_US/fbevents.js\"></script></head><body></body></html>"
        ));
        let l = c.loader.clone().unwrap();
        assert!(l.first_script && l.in_head && l.synchronous, "{l:?}");
        assert!(c.sound(), "{c:?}");
    }

    #[test]
    fn an_async_or_late_loader_is_not_correct_and_trackers_before_it_are_named() {
        let c = check(&format!(
            "<html><head>{META}<script async src=\"https://consent.example.nl/s/shop/loader.js\"></script></head></html>"
        ));
        let l = c.loader.clone().unwrap();
        assert!(!l.first_script && !l.synchronous && l.in_head, "{l:?}");
        assert_eq!(c.before_loader.len(), 1);
        assert_eq!(c.before_loader[0].platform.as_deref(), Some("Meta Pixel"));
        assert!(!c.sound());
    }

    #[test]
    fn a_loader_in_the_body_is_not_in_head() {
        let c = check(&format!("<html><head></head><body>{LOADER}</body></html>"));
        let l = c.loader.unwrap();
        assert!(l.first_script && !l.in_head);
    }

    #[test]
    fn plain_tracker_tags_after_the_loader_are_still_flagged_and_first_party_ones_are_not() {
        let c = check(&format!(
            "<html><head>{LOADER}{META}<script src=\"/app.js\"></script></head><body><img src=\"https://www.facebook.com/tr?id=123456789012345&ev=PageView\"></body></html>"
        ));
        assert!(c.before_loader.is_empty());
        let kinds: Vec<_> = c.plain_tags.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["script", "image"], "{c:?}");
        assert!(!c.sound());
    }

    #[test]
    fn inline_snippets_before_the_loader_count_and_no_loader_means_everything_is_before_it() {
        let snippet = "<script>!function(f){var t=document.createElement('script');t.src='https://connect.facebook.net/en_US/fbevents.js';}(window)</script>";
        let c = check(&format!("<html><head>{snippet}</head></html>"));
        assert!(c.loader.is_none());
        assert_eq!(c.before_loader.len(), 1, "{c:?}");
        assert_eq!(c.before_loader[0].kind, "inline-reference");
        assert!(c.plain_tags.is_empty());
    }

    #[test]
    fn only_the_loader_path_is_recognised() {
        for (u, want) in [
            ("https://c.example/s/shop/loader.js", true),
            ("https://c.example/s/shop/loader.js?v=2", true),
            ("https://c.example/x/s/shop/loader.js", false),
            ("https://c.example/s//loader.js", false),
            ("https://c.example/s/shop/loader.json", false),
        ] {
            assert_eq!(is_loader(&url::Url::parse(u).unwrap()), want, "{u}");
        }
    }
}
