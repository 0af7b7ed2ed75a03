//! The Keurmerk seal: what a scan of a site measured, as a signed leaf of
//! the proof log.
//!
//! When a scan of a site is stored, the server turns the scan's verdicts into
//! an [`Attestation`] and appends its canonical bytes (RFC 8785 JSON) to the
//! same transparency log as the decisions. Its inclusion proof and the
//! witnessed checkpoint then let anyone check, offline, that the log
//! published exactly this attestation (`keurmerk-verify attestation`).
//!
//! **Leaf types.** Every attestation carries `"type": "keurmerk.attestation/v1"`;
//! a decision record has no `type` member. Both types refuse unknown members,
//! so no leaf parses as both: a leaf is a decision exactly when
//! [`DecisionRecord::from_canonical_bytes`](crate::DecisionRecord::from_canonical_bytes)
//! accepts it, and an attestation exactly when
//! [`Attestation::from_canonical_bytes`] does.
//!
//! **Never more than was measured.** Every claim is optional or carries
//! whether it was measured: a scan without the browser pass measured nothing
//! about consent states, and a state the scanner could not reach (no banner
//! to click "reject" on) is recorded as not measured, never as clean. The
//! [`Verdict`] follows: `Passed` only when everything was measured and clean.

use serde::{Deserialize, Serialize};

use crate::config::ConfigVersion;
use crate::id::SiteId;

/// The `type` member of every attestation.
pub const ATTESTATION_TYPE: &str = "keurmerk.attestation/v1";

/// Lists inside an attestation are cut at this length (the count beside
/// them stays exact): a leaf stays small whatever the scan found.
pub const MAX_LISTED: usize = 50;

/// An attestation's bytes are refused above this (a leaf, not a report).
pub const MAX_ATTESTATION_BYTES: usize = 32 * 1024;

/// What one scan measured about a site's consent set-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// Always [`ATTESTATION_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The site the scan was of.
    pub site: SiteId,
    /// The stored scan this attests (the dashboard's scan id).
    pub scan_id: String,
    /// When the scan started, Unix milliseconds (UTC).
    pub scanned_at_ms: u64,
    /// When the server made the attestation, Unix milliseconds (UTC).
    pub attested_at_ms: u64,
    /// The scanner and its knowledge base, e.g. `consent-scan 0.1.0 (kb 2026-12-01)`.
    pub scanner: String,
    /// The site's published configuration version when the attestation was made.
    pub config_version: Option<ConfigVersion>,
    /// The pages visited (at most [`MAX_LISTED`]).
    pub pages: Vec<String>,
    /// Whether, on every page read, the consent loader was the first script,
    /// in `<head>` and synchronous. `None`: not measured (no page read).
    pub loader_first: Option<bool>,
    /// Tracker tags written as plain `<script src>`/`<img src>` in the HTML
    /// (fetched by the browser before any script can hold them back).
    pub plain_tracker_tags: Count,
    /// Before the visitor chose.
    pub before_consent: Exposure,
    /// After the visitor chose "reject all".
    pub after_reject: Exposure,
    /// Cookies set that the site's configuration does not declare.
    pub undeclared_cookies: Count,
}

/// A count, and the names behind it (at most [`MAX_LISTED`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Count {
    /// How many there were.
    pub count: u64,
    /// Which (platforms, cookie names), sorted, at most [`MAX_LISTED`].
    pub names: Vec<String>,
}

/// What reached trackers in one consent state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exposure {
    /// Whether the scan observed this state at all (browser pass run and
    /// the state reached). When false the counts mean nothing.
    pub measured: bool,
    /// Requests to tracking platforms, and the platforms' names.
    pub tracker_requests: Count,
    /// Non-necessary cookies set, and their names.
    pub cookies: Count,
}

impl Exposure {
    fn clean(&self) -> bool {
        self.measured && self.tracker_requests.count == 0 && self.cookies.count == 0
    }
}

/// The outcome an attestation supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Everything measured, nothing found.
    Passed,
    /// Something was found: tracking before consent or after reject, a
    /// misplaced loader, plain tracker tags or undeclared cookies.
    Failed,
    /// Nothing found, but not everything could be measured.
    Incomplete,
}

/// Why attestation bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// Over [`MAX_ATTESTATION_BYTES`].
    #[error("an attestation is at most {MAX_ATTESTATION_BYTES} bytes")]
    TooLarge,
    /// Not JSON of the attestation's shape (the parser's message is given).
    #[error("not an attestation: {0}")]
    Malformed(String),
    /// A `type` other than [`ATTESTATION_TYPE`].
    #[error("not an attestation: type {0:?}")]
    WrongType(String),
    /// Parsed, but not the RFC 8785 form the log commits to.
    #[error("the attestation is not in canonical (RFC 8785) form")]
    NotCanonical,
}

impl Count {
    /// A count of `names` (deduplicated, sorted, cut at [`MAX_LISTED`]),
    /// `count` being the number of occurrences they stand for.
    pub fn of(count: u64, names: impl IntoIterator<Item = String>) -> Self {
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        names.dedup();
        names.truncate(MAX_LISTED);
        Self { count, names }
    }
}

impl Attestation {
    /// The record as committed to the log: RFC 8785 canonical JSON.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(self).expect("attestations serialise")
    }

    /// Parses a leaf, refusing anything that is not exactly what
    /// [`canonical_bytes`](Self::canonical_bytes) would have produced.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, AttestationError> {
        if bytes.len() > MAX_ATTESTATION_BYTES {
            return Err(AttestationError::TooLarge);
        }
        let a: Self = serde_json::from_slice(bytes).map_err(|e| AttestationError::Malformed(e.to_string()))?;
        if a.kind != ATTESTATION_TYPE {
            return Err(AttestationError::WrongType(a.kind));
        }
        if a.canonical_bytes() != bytes {
            return Err(AttestationError::NotCanonical);
        }
        Ok(a)
    }

    /// What the measurements support; see [`Verdict`].
    pub fn verdict(&self) -> Verdict {
        let found = self.loader_first == Some(false)
            || self.plain_tracker_tags.count > 0
            || self.undeclared_cookies.count > 0
            || [&self.before_consent, &self.after_reject]
                .iter()
                .any(|e| e.measured && (e.tracker_requests.count > 0 || e.cookies.count > 0));
        if found {
            Verdict::Failed
        } else if self.loader_first.is_some() && self.before_consent.clean() && self.after_reject.clean() {
            Verdict::Passed
        } else {
            Verdict::Incomplete
        }
    }

    /// The attestation in plain language, one sentence per claim, in Dutch
    /// (`nl`) or English (anything else). The seal page and the verifier
    /// both say it this way.
    pub fn plain_language(&self, lang: &str) -> Vec<String> {
        let nl = lang == "nl";
        let mut out = Vec::new();
        let pages = self.pages.len();
        out.push(if nl {
            format!("{pages} pagina('s) van de site zijn gescand met {}.", self.scanner)
        } else {
            format!("{pages} page(s) of the site were scanned with {}.", self.scanner)
        });
        out.push(match (self.loader_first, nl) {
            (Some(true), true) => "De toestemmingsloader staat als eerste script in de <head> en laadt synchroon: hij kan trackers tegenhouden.".into(),
            (Some(true), false) => "The consent loader is the first script in <head> and loads synchronously: it can hold trackers back.".into(),
            (Some(false), true) => "De toestemmingsloader ontbreekt, of staat niet als eerste synchroon script in de <head>, op minstens één pagina.".into(),
            (Some(false), false) => "The consent loader is missing, or not the first synchronous script in <head>, on at least one page.".into(),
            (None, true) => "Of de toestemmingsloader juist is geplaatst, is niet gemeten.".into(),
            (None, false) => "Whether the consent loader is placed correctly was not measured.".into(),
        });
        for (e, nl_state, en_state) in [
            (
                &self.before_consent,
                "vóór een keuze van de bezoeker",
                "before the visitor chose",
            ),
            (&self.after_reject, "na \"alles weigeren\"", "after \"reject all\""),
        ] {
            out.push(match (e.measured, nl) {
                (false, true) => format!("Wat er {nl_state} gebeurt, is niet gemeten."),
                (false, false) => format!("What happens {en_state} was not measured."),
                (true, true) if e.clean() => {
                    format!("Geen verzoeken aan trackers en geen niet-noodzakelijke cookies {nl_state}.")
                }
                (true, false) if e.clean() => {
                    format!("No requests to trackers and no non-necessary cookies {en_state}.")
                }
                (true, true) => format!(
                    "{nl_state}: {} verzoek(en) aan trackers{} en {} niet-noodzakelijke cookie(s){}.",
                    e.tracker_requests.count,
                    listed(&e.tracker_requests, " (", ")"),
                    e.cookies.count,
                    listed(&e.cookies, " (", ")")
                ),
                (true, false) => format!(
                    "{en_state}: {} request(s) to trackers{} and {} non-necessary cookie(s){}.",
                    e.tracker_requests.count,
                    listed(&e.tracker_requests, " (", ")"),
                    e.cookies.count,
                    listed(&e.cookies, " (", ")")
                ),
            });
        }
        if self.plain_tracker_tags.count > 0 {
            out.push(if nl {
                format!(
                    "{} tracker-tag(s) staan als gewone <script src>/<img src> in de HTML en worden opgehaald voordat een script ze kan tegenhouden{}.",
                    self.plain_tracker_tags.count,
                    listed(&self.plain_tracker_tags, " (", ")")
                )
            } else {
                format!(
                    "{} tracker tag(s) are written as plain <script src>/<img src> in the HTML and are fetched before any script can hold them back{}.",
                    self.plain_tracker_tags.count,
                    listed(&self.plain_tracker_tags, " (", ")")
                )
            });
        }
        out.push(match (self.undeclared_cookies.count, nl) {
            (0, true) => "Geen cookies die de configuratie niet vermeldt.".into(),
            (0, false) => "No cookies the configuration does not declare.".into(),
            (n, true) => format!(
                "{n} cookie(s) die de configuratie niet vermeldt{}.",
                listed(&self.undeclared_cookies, ": ", "")
            ),
            (n, false) => format!(
                "{n} cookie(s) the configuration does not declare{}.",
                listed(&self.undeclared_cookies, ": ", "")
            ),
        });
        out
    }
}

fn listed(c: &Count, open: &str, close: &str) -> String {
    if c.names.is_empty() {
        String::new()
    } else {
        format!("{open}{}{close}", c.names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Attestation {
        Attestation {
            kind: ATTESTATION_TYPE.into(),
            site: SiteId::parse("shop").unwrap(),
            scan_id: "scan-1".into(),
            scanned_at_ms: 1_764_000_000_000,
            attested_at_ms: 1_764_000_060_000,
            scanner: "consent-scan 0.1.0 (kb test)".into(),
            config_version: Some(ConfigVersion("v1".into())),
            pages: vec!["https://shop.example/".into()],
            loader_first: Some(true),
            plain_tracker_tags: Count::default(),
            before_consent: Exposure {
                measured: true,
                ..Exposure::default()
            },
            after_reject: Exposure {
                measured: true,
                ..Exposure::default()
            },
            undeclared_cookies: Count::default(),
        }
    }

    #[test]
    fn canonical_bytes_round_trip_and_other_forms_are_refused() {
        let a = sample();
        let bytes = a.canonical_bytes();
        assert!(
            bytes.starts_with(b"{\"after_reject\":"),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(Attestation::from_canonical_bytes(&bytes).unwrap(), a);
        let pretty = serde_json::to_vec_pretty(&a).unwrap();
        assert_eq!(
            Attestation::from_canonical_bytes(&pretty),
            Err(AttestationError::NotCanonical)
        );
        let mut other = a.clone();
        other.kind = "something/v9".into();
        assert!(matches!(
            Attestation::from_canonical_bytes(&other.canonical_bytes()),
            Err(AttestationError::WrongType(_))
        ));
        assert_eq!(
            Attestation::from_canonical_bytes(&vec![b' '; MAX_ATTESTATION_BYTES + 1]),
            Err(AttestationError::TooLarge)
        );
    }

    #[test]
    fn decisions_and_attestations_never_parse_as_each_other() {
        let a = sample().canonical_bytes();
        assert!(crate::DecisionRecord::from_canonical_bytes(&a).is_err());
        assert!(crate::analytics::Tally::of_leaf(&a).is_none());
        let d = crate::DecisionRecord {
            v: 1,
            site: SiteId::parse("shop").unwrap(),
            consent_id: crate::ConsentId::from_random([7; 16]),
            time_ms: 1,
            config_version: ConfigVersion("v1".into()),
            method: crate::Method::RejectAll,
            categories: Default::default(),
            services: Default::default(),
            language: "nl".into(),
            gpc: false,
            sealed: String::new(),
        };
        assert!(Attestation::from_canonical_bytes(&d.canonical_bytes()).is_err());
    }

    #[test]
    fn the_verdict_never_claims_more_than_was_measured() {
        let a = sample();
        assert_eq!(a.verdict(), Verdict::Passed);

        let mut unmeasured = a.clone();
        unmeasured.after_reject.measured = false;
        assert_eq!(unmeasured.verdict(), Verdict::Incomplete);
        let mut no_loader_check = a.clone();
        no_loader_check.loader_first = None;
        assert_eq!(no_loader_check.verdict(), Verdict::Incomplete);

        let mut tracking = a.clone();
        tracking.after_reject.tracker_requests = Count::of(3, ["Meta Pixel".to_string()]);
        assert_eq!(tracking.verdict(), Verdict::Failed);
        // A finding counts even where another state was not measured.
        tracking.before_consent.measured = false;
        assert_eq!(tracking.verdict(), Verdict::Failed);

        let mut misplaced = a.clone();
        misplaced.loader_first = Some(false);
        assert_eq!(misplaced.verdict(), Verdict::Failed);
        let mut undeclared = a;
        undeclared.undeclared_cookies = Count::of(1, ["_fbp".to_string()]);
        assert_eq!(undeclared.verdict(), Verdict::Failed);
    }

    #[test]
    fn plain_language_says_what_was_not_measured_and_names_what_was_found() {
        let mut a = sample();
        a.before_consent.measured = false;
        a.after_reject.tracker_requests = Count::of(2, ["Meta Pixel".to_string(), "Meta Pixel".to_string()]);
        let en = a.plain_language("en").join("\n");
        assert!(
            en.contains("What happens before the visitor chose was not measured."),
            "{en}"
        );
        assert!(
            en.contains("after \"reject all\": 2 request(s) to trackers (Meta Pixel)"),
            "{en}"
        );
        let nl = a.plain_language("nl").join("\n");
        assert!(nl.contains("niet gemeten"), "{nl}");
    }

    #[test]
    fn counts_are_sorted_deduplicated_and_bounded() {
        let c = Count::of(500, (0..200).rev().map(|i| format!("c{i:03}")));
        assert_eq!(c.count, 500);
        assert_eq!(c.names.len(), MAX_LISTED);
        assert_eq!(c.names[0], "c000");
    }
}
