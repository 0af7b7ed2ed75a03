//! HTML by hand, with one escaping function that every piece of stored or
//! site-provided text goes through. No inline script or style, so the
//! dashboard runs under a strict Content-Security-Policy.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use crate::BASE;

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Dutch is the default; English when the browser prefers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    /// The first of `nl`/`en` in `Accept-Language` (quality order as sent,
    /// which is how browsers send it); Dutch when neither is there.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for tag in accept.split(',').take(20) {
            let primary = tag.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if primary.starts_with("nl") {
                return Lang::Nl;
            }
            if primary.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Nl
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// The text for `key` (a fixed set of interface words).
    pub fn t(self, key: &str) -> &'static str {
        let (nl, en) = match key {
            "login" => ("Inloggen", "Log in"),
            "logout" => ("Uitloggen", "Log out"),
            "username" => ("Gebruikersnaam", "Username"),
            "password" => ("Wachtwoord", "Password"),
            "wrong" => ("Onjuiste gebruikersnaam of wachtwoord.", "Wrong username or password."),
            "limited" => (
                "Te veel pogingen; probeer het later opnieuw.",
                "Too many attempts; try again later.",
            ),
            "unavailable" => (
                "De opslag is niet bereikbaar; probeer het opnieuw.",
                "Storage is unavailable; try again.",
            ),
            "sites" => ("Sites", "Sites"),
            "site" => ("Site", "Site"),
            "version" => ("Huidige configuratieversie", "Current configuration version"),
            "origins" => ("Toegestane origins", "Allowed origins"),
            "decisions" => ("Recente keuzes", "Recent decisions"),
            "time" => ("Tijd (UTC)", "Time (UTC)"),
            "method" => ("Methode", "Method"),
            "categories" => ("Categorieën", "Categories"),
            "export" => ("Exporteren", "Export"),
            "scans" => ("Scans", "Scans"),
            "scanned" => ("Gescande URL", "Scanned URL"),
            "findings" => ("Bevindingen", "Findings"),
            "severity" => ("Ernst", "Severity"),
            "platform" => ("Platform", "Platform"),
            "evidence" => ("Bewijs", "Evidence"),
            "remedy" => ("Oplossing", "Remedy"),
            "none" => ("Nog niets.", "Nothing yet."),
            "edit_config" => ("Configuratie bewerken", "Edit configuration"),
            "save" => ("Opslaan", "Save"),
            "field" => ("Fout in veld", "Error in field"),
            "declare" => ("Declareren:", "Declare it:"),
            "draft" => (
                "Concept, nog niet opgeslagen: controleer het en sla het op.",
                "Draft, not saved yet: review it and save.",
            ),
            "scan_now" => ("Nu scannen", "Scan now"),
            "scan_now_help" => (
                "Een scanner-worker scant de eerste toegestane origin van deze site met de huidige configuratie.",
                "A scanner worker scans this site's first allowed origin against the current configuration.",
            ),
            "scan_jobs" => ("Scanopdrachten", "Scan jobs"),
            "queue_off" => (
                "Geen scanwachtrij ingesteld: start de server met --redis of --scan-queue.",
                "Scan queue not configured: start the server with --redis or --scan-queue.",
            ),
            "queue_down" => (
                "De scanwachtrij is niet bereikbaar; probeer het opnieuw.",
                "The scan queue is unavailable; try again.",
            ),
            "status" => ("Status", "Status"),
            "queued" => ("In de wachtrij", "Queued"),
            "running" => ("Bezig", "Running"),
            "done" => ("Klaar", "Done"),
            "failed" => ("Mislukt", "Failed"),
            "not_found" => ("Niet gevonden.", "Not found."),
            "forbidden" => ("Ontbrekend of onjuist CSRF-token.", "Missing or wrong CSRF token."),
            "bad_report" => ("Dit rapport kan niet gelezen worden.", "This report cannot be read."),
            _ => ("?", "?"),
        };
        match self {
            Lang::Nl => nl,
            Lang::En => en,
        }
    }
}

/// The logged-in user's bits every page needs.
pub struct Chrome<'a> {
    pub lang: Lang,
    pub username: Option<&'a str>,
    pub csrf: Option<&'a str>,
}

/// A whole page. `body` must already be escaped HTML.
pub fn page(chrome: &Chrome, title: &str, body: &str) -> Response {
    page_with_head(chrome, title, body, "")
}

/// A page that reloads itself every `secs` seconds (no script: a meta
/// refresh), for pages showing work in progress.
pub fn refreshing_page(chrome: &Chrome, title: &str, body: &str, secs: u32) -> Response {
    page_with_head(
        chrome,
        title,
        body,
        &format!(r#"<meta http-equiv="refresh" content="{secs}">"#),
    )
}

fn page_with_head(chrome: &Chrome, title: &str, body: &str, head: &str) -> Response {
    let lang = chrome.lang;
    let mut nav = format!(r#"<a href="{BASE}/">Keurmerk</a>"#);
    if let (Some(user), Some(csrf)) = (chrome.username, chrome.csrf) {
        nav.push_str(&format!(
            r#"<span>{}</span><form method="post" action="{BASE}/logout"><input type="hidden" name="csrf" value="{}"><button>{}</button></form>"#,
            esc(user),
            esc(csrf),
            lang.t("logout")
        ));
    }
    let html = format!(
        r#"<!doctype html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{} · Keurmerk</title><link rel="stylesheet" href="{BASE}/static/dashboard.css">{head}</head><body><header>{nav}</header><main><h1>{}</h1>{body}</main></body></html>"#,
        lang.code(),
        esc(title),
        esc(title),
    );
    let mut res = Html(html).into_response();
    secure(&mut res);
    res
}

/// Headers every dashboard answer carries: no script at all, no framing,
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

/// `YYYY-MM-DD HH:MM:SS` for Unix milliseconds (UTC), without a date crate.
pub fn time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm, public domain).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(esc(r#"<script>"a'&"#), "&lt;script&gt;&quot;a&#39;&amp;");
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(time(0), "1970-01-01 00:00:00");
        assert_eq!(time(1_700_000_000_123), "2023-11-14 22:13:20");
    }

    #[test]
    fn dutch_unless_english_comes_first() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::from_headers(&h), Lang::Nl);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.9,nl;q=0.8"),
        );
        assert_eq!(Lang::from_headers(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de-DE,nl;q=0.9,en;q=0.8"),
        );
        assert_eq!(Lang::from_headers(&h), Lang::Nl);
    }
}
