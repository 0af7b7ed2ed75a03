//! What every page shares: the frame `templates/base.html` draws around it,
//! rendering a template into an answer with the security headers, the pages
//! for problems, and how values are written into HTML. No page has inline
//! script or style, so the dashboard runs under a strict
//! Content-Security-Policy.

use std::fmt;

use askama::Template;
use askama::filters::Escaper;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use consent_core::store::{Session, StoreError};

use crate::i18n::Texts;

/// What the base layout shows around a page's content.
pub struct Frame<'a> {
    /// The logged-in admin (name, and the CSRF token of the log-out form).
    pub session: Option<&'a Session>,
    pub title: Title<'a>,
    /// Reload the page every this many seconds (a meta refresh, no script),
    /// for pages showing work in progress.
    pub refresh: Option<u32>,
    /// Whether the logged-in account is an admin (the frame links to the
    /// accounts page).
    pub admin: bool,
}

impl<'a> Frame<'a> {
    pub fn new(session: Option<&'a Session>, title: &'static str) -> Self {
        Frame {
            session,
            title: Title { text: title, of: None },
            refresh: None,
            admin: false,
        }
    }

    /// The title names what the page is about (a site): `Scans · shop`.
    pub fn about(mut self, of: &'a str) -> Self {
        self.title.of = Some(of);
        self
    }

    pub fn refreshing(mut self, secs: u32) -> Self {
        self.refresh = Some(secs);
        self
    }
}

/// A page's title (and heading), as text; the template escapes it.
pub struct Title<'a> {
    pub text: &'static str,
    pub of: Option<&'a str>,
}

impl fmt::Display for Title<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)?;
        match self.of {
            Some(of) => write!(f, " · {of}"),
            None => Ok(()),
        }
    }
}

/// A template rendered as an HTML answer with `status`, carrying the
/// security headers.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            secure(&mut res);
            res
        }
        // Only a failing `Display` of a value could get here; none of ours fails.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Headers every dashboard page carries: no script at all, no framing,
/// forms only to ourselves, nothing cached.
pub fn secure(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// Why a page cannot be shown as asked; each answers with a message page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    NotFound,
    /// Storage is down.
    Unavailable,
    /// A form without the session's CSRF token.
    Forbidden,
    /// The account's role on the site does not allow this.
    NotAllowed,
    /// A form larger than the dashboard accepts.
    TooLarge,
    /// A stored scan report that does not parse, or a cookie from it that
    /// cannot be declared.
    BadReport,
    QueueOff,
    QueueDown,
}

impl Problem {
    pub fn status(self) -> StatusCode {
        match self {
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::Unavailable | Problem::QueueOff | Problem::QueueDown => StatusCode::SERVICE_UNAVAILABLE,
            Problem::Forbidden | Problem::NotAllowed => StatusCode::FORBIDDEN,
            Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::BadReport => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn text(self, t: &Texts) -> &'static str {
        match self {
            Problem::NotFound => t.not_found,
            Problem::Unavailable => t.unavailable,
            Problem::Forbidden => t.forbidden,
            Problem::NotAllowed => t.not_allowed,
            Problem::TooLarge => t.too_large,
            Problem::BadReport => t.bad_report,
            Problem::QueueOff => t.queue_off,
            Problem::QueueDown => t.queue_down,
        }
    }
}

impl From<StoreError> for Problem {
    fn from(_: StoreError) -> Self {
        Problem::Unavailable
    }
}

/// A page that only says what went wrong.
#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub t: &'static Texts,
    pub frame: Frame<'a>,
    pub text: &'a str,
}

/// The problem's page, titled with its text.
pub fn problem(t: &'static Texts, session: Option<&Session>, problem: Problem) -> Response {
    let text = problem.text(t);
    let page = Message {
        t,
        frame: Frame::new(session, text),
        text,
    };
    render(problem.status(), &page)
}

/// How values are written into the HTML templates: askama applies this to
/// every `{{ … }}` in a `.html` template (see `askama.toml`), so nothing is
/// escaped by hand. It differs from askama's built-in escaper only in
/// spelling: named entities (`&lt;`, `&quot;`) as the dashboard has always
/// sent, where the built-in one writes numeric ones (`&#60;`, `&#34;`).
#[derive(Clone, Copy, Debug, Default)]
pub struct HtmlEntities;

impl Escaper for HtmlEntities {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            dest.write_str(&rest[..at])?;
            dest.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        dest.write_str(rest)
    }
}

/// A time in Unix milliseconds, shown as `YYYY-MM-DD HH:MM:SS` (UTC)
/// without a date crate.
pub struct Utc(pub u64);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = consent_core::analytics::Day(days as u32).civil();
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
}

const CSS: &str = include_str!("../static/dashboard.css");

/// `GET /static/dashboard.css`: the only styling (no inline style).
pub async fn stylesheet() -> Response {
    let mut res = CSS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res
}

/// Wall time in Unix milliseconds ("today" in analytics is the UTC day it
/// falls on; audit entries and drafts are stamped with it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn templates_escape_markup_and_quotes_with_named_entities() {
        let evil = r#"<script>"a'&</script>"#;
        let page = Message {
            t: Lang::En.texts(),
            frame: Frame::new(None, "x"),
            text: evil,
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;&quot;a&#39;&amp;&lt;/script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(Utc(0).to_string(), "1970-01-01 00:00:00");
        assert_eq!(Utc(1_700_000_000_123).to_string(), "2023-11-14 22:13:20");
    }

    #[test]
    fn titles_name_what_the_page_is_about() {
        let frame = Frame::new(None, "Scans").about("shop");
        assert_eq!(frame.title.to_string(), "Scans · shop");
        assert_eq!(Frame::new(None, "Sites").title.to_string(), "Sites");
    }
}
