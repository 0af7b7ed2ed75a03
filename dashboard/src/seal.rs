//! The public Keurmerk seal of a site: its latest attestation in plain
//! language (Dutch or English) with how to verify it, and a small badge a
//! site embeds that links there. Rendering only: the server finds the
//! attestation and its proof and serves these at `/s/{site}/seal` and
//! `/s/{site}/seal.svg`.
//!
//! The seal never claims more than was measured: the verdict is the
//! attestation's own ([`Attestation::verdict`]), an unmeasured state says
//! so, and the scan's age is on the badge and the page, marked old after
//! [`OLD_AFTER_DAYS`].

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use consent_core::attestation::{Attestation, Verdict};

use crate::i18n::{Lang, Texts};
use crate::page::{self, Utc};

/// A scan older than this many days is shown as old.
pub const OLD_AFTER_DAYS: u64 = 30;

/// What the server found for the site.
pub struct SealInput<'a> {
    pub site: &'a str,
    /// The latest attestation, its leaf index, and whether a checkpoint
    /// covers it yet (its proof can be downloaded).
    pub latest: Option<(&'a Attestation, u64, bool)>,
    /// The log's verifier key (C2SP signed-note form).
    pub verifier_key: Option<&'a str>,
    /// The server's public URL, for the verify command.
    pub base_url: &'a str,
    pub now_ms: u64,
}

struct SealedView {
    verdict: &'static str,
    verdict_class: &'static str,
    scanned: Utc,
    age_days: u64,
    old: bool,
    claims: Vec<String>,
    config_version: String,
    index: u64,
    proof_ready: bool,
}

#[derive(Template)]
#[template(path = "seal.html")]
struct SealPage<'a> {
    t: &'static Texts,
    site: &'a str,
    sealed: Option<SealedView>,
    verifier_key: Option<&'a str>,
    base_url: &'a str,
    badge_width: usize,
}

fn age_days(a: &Attestation, now_ms: u64) -> u64 {
    now_ms.saturating_sub(a.scanned_at_ms) / 86_400_000
}

fn verdict_text(t: &Texts, v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::Passed => (t.seal_passed, "passed"),
        Verdict::Failed => (t.seal_failed, "failed"),
        Verdict::Incomplete => (t.seal_incomplete, "incomplete"),
    }
}

/// `?lang=nl|en` first, then the browser's `Accept-Language`.
fn language(headers: &HeaderMap, asked: Option<&str>) -> Lang {
    match asked {
        Some("nl") => Lang::Nl,
        Some("en") => Lang::En,
        _ => Lang::from_headers(headers),
    }
}

/// The seal page.
pub fn page(input: &SealInput<'_>, headers: &HeaderMap, asked_lang: Option<&str>) -> Response {
    let lang = language(headers, asked_lang);
    let t = lang.texts();
    let sealed = input.latest.map(|(a, index, proof_ready)| {
        let (verdict, verdict_class) = verdict_text(t, a.verdict());
        let age = age_days(a, input.now_ms);
        SealedView {
            verdict,
            verdict_class,
            scanned: Utc(a.scanned_at_ms),
            age_days: age,
            old: age > OLD_AFTER_DAYS,
            claims: a.plain_language(t.code),
            config_version: a.config_version.as_ref().map_or_else(|| "-".into(), |v| v.0.clone()),
            index,
            proof_ready,
        }
    });
    let mut res = page::render(
        StatusCode::OK,
        &SealPage {
            t,
            site: input.site,
            sealed,
            verifier_key: input.verifier_key,
            base_url: input.base_url,
            badge_width: badge_parts(input, lang).2,
        },
    );
    // Public and the same for everyone who asks in one language.
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    h.insert(header::VARY, HeaderValue::from_static("accept-language"));
    res
}

/// The badge's right-hand text, its colour, and its total width in pixels.
fn badge_parts(input: &SealInput<'_>, lang: Lang) -> (String, &'static str, usize) {
    let nl = lang == Lang::Nl;
    let (text, colour) = match input.latest {
        None => ((if nl { "geen scan" } else { "no scan" }).to_owned(), "#595959"),
        Some((a, _, _)) => {
            let age = age_days(a, input.now_ms);
            let (word, colour) = match (a.verdict(), nl) {
                (Verdict::Passed, true) => ("geslaagd", "#1b6e20"),
                (Verdict::Passed, false) => ("passed", "#1b6e20"),
                (Verdict::Failed, true) => ("niet geslaagd", "#b3261e"),
                (Verdict::Failed, false) => ("failed", "#b3261e"),
                (Verdict::Incomplete, true) => ("onvolledig", "#7a5c00"),
                (Verdict::Incomplete, false) => ("incomplete", "#7a5c00"),
            };
            let old = if age > OLD_AFTER_DAYS {
                if nl { ", verouderd" } else { ", old" }
            } else {
                ""
            };
            // An old scan is grey whatever it found.
            let colour = if old.is_empty() { colour } else { "#595959" };
            (format!("{word} · {age} d{old}"), colour)
        }
    };
    // Verdana 11 px averages under 7 px a character; 10 px of padding a side.
    let width = LABEL_WIDTH + 7 * text.chars().count() + 20;
    (text, colour, width)
}

const LABEL: &str = "Keurmerk";
const LABEL_WIDTH: usize = 66;

/// The badge: an SVG image, cacheable for five minutes.
pub fn badge(input: &SealInput<'_>, headers: &HeaderMap, asked_lang: Option<&str>) -> Response {
    let lang = language(headers, asked_lang);
    let (text, colour, width) = badge_parts(input, lang);
    let right = width - LABEL_WIDTH;
    // Every text in it is ours (fixed words and numbers): nothing to escape.
    let title = format!("{LABEL}: {text}");
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}"><title>{title}</title><rect width="{LABEL_WIDTH}" height="20" fill="#333"/><rect x="{LABEL_WIDTH}" width="{right}" height="20" fill="{colour}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="8" y="14">{LABEL}</text><text x="{x}" y="14">{text}</text></g></svg>"##,
        x = LABEL_WIDTH + 10,
    );
    let mut res = (StatusCode::OK, svg).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    h.insert(header::VARY, HeaderValue::from_static("accept-language"));
    // Opened on its own, the image may do nothing but draw itself.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

#[cfg(test)]
mod tests {
    use consent_core::attestation::{ATTESTATION_TYPE, Count, Exposure};
    use consent_core::{ConfigVersion, SiteId};

    use super::*;

    fn attestation(scanned_at_ms: u64) -> Attestation {
        let measured = Exposure {
            measured: true,
            ..Exposure::default()
        };
        Attestation {
            kind: ATTESTATION_TYPE.into(),
            site: SiteId::parse("shop").unwrap(),
            scan_id: "s1".into(),
            scanned_at_ms,
            attested_at_ms: scanned_at_ms,
            scanner: "consent-scan test".into(),
            config_version: Some(ConfigVersion("v1".into())),
            pages: vec!["https://shop.example/".into()],
            loader_first: Some(true),
            plain_tracker_tags: Count::default(),
            before_consent: measured.clone(),
            after_reject: measured,
            undeclared_cookies: Count::default(),
        }
    }

    async fn body(res: Response) -> String {
        String::from_utf8(axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap()
    }

    const DAY: u64 = 86_400_000;

    #[tokio::test]
    async fn the_badge_shows_the_verdict_and_the_age_and_greys_an_old_scan() {
        let a = attestation(100 * DAY);
        let input = |now| SealInput {
            site: "shop",
            latest: Some((&a, 5, true)),
            verifier_key: None,
            base_url: "https://c.example",
            now_ms: now,
        };
        let fresh = body(badge(&input(103 * DAY), &HeaderMap::new(), Some("en"))).await;
        assert!(fresh.contains("passed · 3 d") && fresh.contains("#1b6e20"), "{fresh}");
        let old = body(badge(&input(140 * DAY), &HeaderMap::new(), Some("en"))).await;
        assert!(old.contains("passed · 40 d, old") && old.contains("#595959") && !old.contains("#1b6e20"));
        let mut failed = attestation(100 * DAY);
        failed.after_reject.tracker_requests = Count::of(1, ["Meta Pixel".to_string()]);
        let f = SealInput {
            latest: Some((&failed, 5, true)),
            ..input(101 * DAY)
        };
        assert!(
            body(badge(&f, &HeaderMap::new(), Some("nl")))
                .await
                .contains("niet geslaagd · 1 d")
        );
        let none = SealInput {
            latest: None,
            ..input(0)
        };
        assert!(body(badge(&none, &HeaderMap::new(), None)).await.contains("geen scan"));
    }

    #[tokio::test]
    async fn the_page_says_what_was_measured_and_only_offers_a_proof_once_checkpointed() {
        let mut a = attestation(100 * DAY);
        a.after_reject.measured = false;
        let mut input = SealInput {
            site: "shop",
            latest: Some((&a, 7, false)),
            verifier_key: Some("keurmerk.test/log+abcd+AQ"),
            base_url: "https://c.example",
            now_ms: 101 * DAY,
        };
        let html = body(page(&input, &HeaderMap::new(), Some("en"))).await;
        assert!(html.contains("Incomplete"), "{html}");
        assert!(html.contains("was not measured"), "{html}");
        assert!(html.contains("waiting for the log"), "{html}");
        assert!(!html.contains("/s/shop/attestation"));
        input.latest = Some((&a, 7, true));
        let html = body(page(&input, &HeaderMap::new(), Some("nl"))).await;
        assert!(html.contains("/s/shop/attestation") && html.contains("keurmerk-verify attestation"));
        assert!(html.contains("Onvolledig"), "{html}");
    }
}
