//! Reading a page's HTML with `lol_html`: scripts (src and inline text),
//! pixels (`<img>`, `<iframe>`, also inside `<noscript>`) and links, within
//! a memory limit so deeply nested or huge markup cannot exhaust us.

use std::cell::RefCell;
use std::sync::LazyLock;

use lol_html::{HtmlRewriter, MemorySettings, Settings, element, text};
use regex::Regex;

/// Inline script text kept per script; tracker snippets are a few KB.
pub const MAX_INLINE_SCRIPT: usize = 64 * 1024;
const MAX_ITEMS: usize = 5_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptTag {
    pub src: Option<String>,
    /// `type` attribute: consent managers park blocked scripts as `text/plain`.
    pub kind: Option<String>,
    pub inline: String,
}

impl ScriptTag {
    /// Whether the browser would run it as it stands.
    pub fn executable(&self) -> bool {
        match self.kind.as_deref().map(str::trim).map(str::to_ascii_lowercase) {
            None => true,
            Some(t) => {
                t.is_empty()
                    || t == "module"
                    || t.contains("javascript")
                    || t.contains("ecmascript")
                    || t == "text/jscript"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pixel {
    pub url: String,
    /// `image`, `iframe`, or `noscript` (only fires without JavaScript).
    pub kind: &'static str,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    pub scripts: Vec<ScriptTag>,
    pub pixels: Vec<Pixel>,
    pub links: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("HTML parser limit: {0}")]
pub struct ParseLimit(pub String);

static NOSCRIPT_SRC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)<(?:img|iframe)\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)"#).expect("regex"));

/// Extracts scripts, pixels and links. On a parser limit the part read so
/// far is returned with the error, so a hostile page still yields evidence.
pub fn extract(body: &[u8], memory_limit: usize) -> (Extracted, Option<ParseLimit>) {
    let out = RefCell::new(Extracted::default());
    let noscript_text = RefCell::new(String::new());
    let noscript_imgs = RefCell::new(Vec::<String>::new());
    let result = {
        let mut rewriter = HtmlRewriter::new(
            {
                let mut settings = Settings::new()
                    .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(memory_limit));
                for h in [
                    element!("script", |el| {
                        let mut o = out.borrow_mut();
                        if o.scripts.len() < MAX_ITEMS {
                            o.scripts.push(ScriptTag {
                                src: el.get_attribute("src").filter(|s| !s.trim().is_empty()),
                                kind: el.get_attribute("type"),
                                inline: String::new(),
                            });
                        }
                        Ok(())
                    }),
                    text!("script", |t| {
                        let mut o = out.borrow_mut();
                        if let Some(s) = o.scripts.last_mut()
                            && s.src.is_none()
                            && s.inline.len() + t.as_str().len() <= MAX_INLINE_SCRIPT
                        {
                            s.inline.push_str(t.as_str());
                        }
                        Ok(())
                    }),
                    element!("noscript img[src], noscript iframe[src]", |el| {
                        if let Some(src) = el.get_attribute("src") {
                            noscript_imgs.borrow_mut().push(src);
                        }
                        Ok(())
                    }),
                    element!("img[src]", |el| {
                        push_pixel(&out, el.get_attribute("src"), "image");
                        Ok(())
                    }),
                    element!("iframe[src]", |el| {
                        push_pixel(&out, el.get_attribute("src"), "iframe");
                        Ok(())
                    }),
                    // Where noscript content is read as text, find its pixels by pattern.
                    text!("noscript", |t| {
                        let mut n = noscript_text.borrow_mut();
                        if n.len() < MAX_INLINE_SCRIPT {
                            n.push_str(t.as_str());
                        }
                        Ok(())
                    }),
                    element!("a[href], area[href]", |el| {
                        let mut o = out.borrow_mut();
                        if o.links.len() < MAX_ITEMS
                            && let Some(h) = el.get_attribute("href")
                        {
                            o.links.push(h);
                        }
                        Ok(())
                    }),
                ] {
                    settings = settings.append_element_content_handler(h);
                }
                settings
            },
            |_: &[u8]| {},
        );
        let mut r = Ok(());
        for chunk in body.chunks(16 * 1024) {
            if let Err(e) = rewriter.write(chunk) {
                r = Err(ParseLimit(e.to_string()));
                break;
            }
        }
        if r.is_ok() {
            r = rewriter.end().map_err(|e| ParseLimit(e.to_string()));
        }
        r
    };
    let mut o = out.into_inner();
    let in_noscript = noscript_imgs.into_inner();
    for p in o.pixels.iter_mut() {
        if in_noscript.contains(&p.url) {
            p.kind = "noscript";
        }
    }
    for cap in NOSCRIPT_SRC.captures_iter(&noscript_text.into_inner()).take(MAX_ITEMS) {
        let url = html_unescape(&cap[1]);
        if !o.pixels.iter().any(|p| p.url == url) {
            o.pixels.push(Pixel { url, kind: "noscript" });
        }
    }
    (o, result.err())
}

fn push_pixel(out: &RefCell<Extracted>, src: Option<String>, kind: &'static str) {
    let mut o = out.borrow_mut();
    if let Some(src) = src.filter(|s| !s.trim().is_empty())
        && o.pixels.len() < MAX_ITEMS
    {
        o.pixels.push(Pixel { url: src, kind });
    }
}

/// Undoes the entity escapes that appear in attribute values in raw text.
fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head>
<script async src="https://connect.facebook.net/en_US/fbevents.js"></script>
<script>fbq('init', '1234567890'); fbq('track', 'PageView');</script>
<script type="text/plain" data-category="marketing" src="https://s.pinimg.com/ct/core.js"></script>
<noscript><img height="1" width="1" src="https://www.facebook.com/tr?id=1234567890&amp;ev=PageView&amp;noscript=1"></noscript>
</head><body><a href="/about">About</a><a href="https://other.example/">x</a>
<iframe src="https://www.googletagmanager.com/ns.html?id=GTM-ABCD12"></iframe></body></html>"#;

    #[test]
    fn scripts_pixels_links() {
        let (x, err) = extract(PAGE.as_bytes(), 4 << 20);
        assert!(err.is_none());
        assert_eq!(x.scripts.len(), 3);
        assert!(x.scripts[1].inline.contains("fbq('init'"));
        assert!(!x.scripts[2].executable());
        assert!(x.scripts[0].executable());
        let ns = x.pixels.iter().find(|p| p.kind == "noscript").expect("noscript pixel");
        assert_eq!(
            ns.url,
            "https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"
        );
        assert!(x.pixels.iter().any(|p| p.kind == "iframe"));
        assert_eq!(x.links, vec!["/about", "https://other.example/"]);
    }

    #[test]
    fn deep_nesting_stays_bounded() {
        let deep = "<div>".repeat(200_000) + "<script>fbq('init','1234567890')</script>";
        let (_x, err) = extract(deep.as_bytes(), 1 << 20);
        // Either parsed within the limit or stopped with a clear error; never unbounded.
        if let Some(e) = err {
            assert!(
                e.to_string().contains("limit") || e.to_string().contains("memory"),
                "{e}"
            );
        }
    }
}
