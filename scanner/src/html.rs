//! Reading a page's HTML with `lol_html`, streamed as it downloads: scripts (src and inline text),
//! pixels (`<img>`, `<iframe>`, also inside `<noscript>`) and links, within
//! a memory limit so deeply nested or huge markup cannot exhaust us.

use std::sync::{Arc, LazyLock, Mutex};

use lol_html::send::{HtmlRewriter, Settings};
use lol_html::{MemorySettings, element, text};
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
    /// Inside `<head>`: where a consent loader must be, to run before any tag.
    pub in_head: bool,
    /// Neither `async`, `defer` nor a module: the parser waits for it, so it
    /// runs before anything after it in the document.
    pub synchronous: bool,
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

#[derive(Default)]
struct State {
    out: Extracted,
    noscript_text: String,
    noscript_imgs: Vec<String>,
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    // A handler never panics while holding the lock; recover anyway.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// A page's HTML, read chunk by chunk as it arrives (Send, so it can live in
/// a crawl task across awaits). After a parser limit further input is ignored.
pub struct HtmlStream {
    rewriter: Option<Reader>,
    state: Shared,
    error: Option<ParseLimit>,
}

fn discard(_: &[u8]) {}

/// The rewriter's output is thrown away: we only read.
type Reader = HtmlRewriter<'static, fn(&[u8])>;

impl HtmlStream {
    pub fn new(memory_limit: usize) -> Self {
        let state: Shared = Arc::default();
        let (a, b, c, d, e, f, g, h) = (
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
        );
        let mut settings = Settings::new_send()
            .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(memory_limit));
        for h in [
            element!("script", move |el| {
                let mut st = lock(&a);
                if st.out.scripts.len() < MAX_ITEMS {
                    let kind = el.get_attribute("type");
                    let module = kind.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case("module"));
                    st.out.scripts.push(ScriptTag {
                        src: el.get_attribute("src").filter(|s| !s.trim().is_empty()),
                        synchronous: !module && !el.has_attribute("async") && !el.has_attribute("defer"),
                        kind,
                        inline: String::new(),
                        in_head: false,
                    });
                }
                Ok(())
            }),
            // Registered after the handler above, so lol_html runs it second
            // on the same element: the script it marks is the one just pushed.
            element!("head script", move |_| {
                if let Some(s) = lock(&h).out.scripts.last_mut() {
                    s.in_head = true;
                }
                Ok(())
            }),
            text!("script", move |t| {
                let mut st = lock(&b);
                if let Some(s) = st.out.scripts.last_mut()
                    && s.src.is_none()
                    && s.inline.len() + t.as_str().len() <= MAX_INLINE_SCRIPT
                {
                    s.inline.push_str(t.as_str());
                }
                Ok(())
            }),
            element!("noscript img[src], noscript iframe[src]", move |el| {
                if let Some(src) = el.get_attribute("src") {
                    lock(&c).noscript_imgs.push(src);
                }
                Ok(())
            }),
            element!("img[src]", move |el| {
                push_pixel(&mut lock(&d).out, el.get_attribute("src"), "image");
                Ok(())
            }),
            element!("iframe[src]", move |el| {
                push_pixel(&mut lock(&e).out, el.get_attribute("src"), "iframe");
                Ok(())
            }),
            // Where noscript content is read as text, find its pixels by pattern.
            text!("noscript", move |t| {
                let mut st = lock(&f);
                if st.noscript_text.len() < MAX_INLINE_SCRIPT {
                    st.noscript_text.push_str(t.as_str());
                }
                Ok(())
            }),
            element!("a[href], area[href]", move |el| {
                let mut st = lock(&g);
                if st.out.links.len() < MAX_ITEMS
                    && let Some(h) = el.get_attribute("href")
                {
                    st.out.links.push(h);
                }
                Ok(())
            }),
        ] {
            settings = settings.append_element_content_handler(h);
        }
        HtmlStream {
            rewriter: Some(HtmlRewriter::new(settings, discard as fn(&[u8]))),
            state,
            error: None,
        }
    }

    pub fn write(&mut self, chunk: &[u8]) {
        if let Some(r) = &mut self.rewriter
            && let Err(e) = r.write(chunk)
        {
            self.error = Some(ParseLimit(e.to_string()));
            self.rewriter = None;
        }
    }

    /// What was read, and the parser limit hit on the way, if any.
    pub fn finish(mut self) -> (Extracted, Option<ParseLimit>) {
        if let Some(r) = self.rewriter.take()
            && let Err(e) = r.end()
        {
            self.error = Some(ParseLimit(e.to_string()));
        }
        let st = std::mem::take(&mut *lock(&self.state));
        let mut o = st.out;
        for p in o.pixels.iter_mut() {
            if st.noscript_imgs.contains(&p.url) {
                p.kind = "noscript";
            }
        }
        for cap in NOSCRIPT_SRC.captures_iter(&st.noscript_text).take(MAX_ITEMS) {
            let url = html_unescape(&cap[1]);
            if !o.pixels.iter().any(|p| p.url == url) {
                o.pixels.push(Pixel { url, kind: "noscript" });
            }
        }
        (o, self.error)
    }
}

/// Extracts scripts, pixels and links from a whole document. On a parser
/// limit the part read so far is returned with the error, so a hostile page
/// still yields evidence.
pub fn extract(body: &[u8], memory_limit: usize) -> (Extracted, Option<ParseLimit>) {
    let mut s = HtmlStream::new(memory_limit);
    for chunk in body.chunks(16 * 1024) {
        s.write(chunk);
    }
    s.finish()
}

fn push_pixel(o: &mut Extracted, src: Option<String>, kind: &'static str) {
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
