//! A visitor's request to a site's controller: access to their data (GDPR
//! art. 15) or its erasure (art. 17), as the site's owner registers and
//! handles it in the dashboard, stored as a [`RecordKind::VisitorRequest`]
//! record.
//!
//! The visitor identifies themselves with their consent id (the widget shows
//! it and lets them download the proof of their choice). Nothing else about
//! them is needed, so a request holds no name or e-mail address (data
//! minimisation, art. 5(1)(c)).
//!
//! The controller must answer "without undue delay and in any event within
//! one month of receipt of the request", extendable "by two further months
//! where necessary" with the data subject told why within the first month
//! (art. 12(3)). [`VisitorRequest::deadline`] counts that month as
//! Regulation (EEC, Euratom) No 1182/71 art. 3(2)(c) does: the period ends
//! on the same date of the following month, or on that month's last day
//! when the date does not exist there (31 January → 28/29 February).
//! Art. 3(4) of that regulation moves a deadline that falls on a Saturday,
//! Sunday or public holiday to the next working day; holidays differ by
//! member state, so the deadline shown is the earlier, calendar one.
//!
//! The exported data of a visitor ([`VisitorRecords`]) has the shape of the
//! visitor's own access endpoint (`GET /api/v1/sites/{site}/visitors/{id}`):
//! each decision's log index, its record, and its personal fields decrypted
//! while the visitor's key exists.
//!
//! [`RecordKind::VisitorRequest`]: crate::store::RecordKind::VisitorRequest
//! GDPR: <https://eur-lex.europa.eu/eli/reg/2016/679/oj>; Regulation
//! 1182/71: <https://eur-lex.europa.eu/eli/reg/1971/1182/oj>.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::analytics::Day;
use crate::id::{ConsentId, SiteId};
use crate::record::{DecisionRecord, PersonalFields};

/// The longest note on a request, in characters.
pub const MAX_NOTE: usize = 500;
/// The longest reason (for an extension or a refusal), in characters.
pub const MAX_REASON: usize = 500;
/// The most steps a request's own log keeps. The site's audit trail has
/// every step regardless; this only bounds the stored record, since an
/// export can be downloaded again and again.
pub const MAX_STEPS: usize = 100;
/// How long before registering a request may have been received, in days:
/// a guard against a mistyped year, not a legal limit.
pub const MAX_BACKDATE_DAYS: u32 = 366;
/// The most decisions of one consent id an export holds. The server keeps at
/// most `--max-visitor-decisions` per consent id (10,000 by default); an
/// export of a longer history says it is incomplete.
pub const MAX_EXPORTED: usize = 10_000;

/// What the visitor asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Access to their data (art. 15).
    Access,
    /// Erasure of their data (art. 17).
    Erasure,
}

impl RequestKind {
    /// As in JSON and the audit trail: `access`, `erasure`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Erasure => "erasure",
        }
    }

    /// Parses [`Self::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access" => Some(RequestKind::Access),
            "erasure" => Some(RequestKind::Erasure),
            _ => None,
        }
    }
}

/// How a closed request ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The visitor was given their data.
    Answered,
    /// The visitor's data was erased.
    Erased,
    /// The request was refused (art. 12(4): the visitor is told why and
    /// that they may complain to a supervisory authority).
    Refused {
        /// Why.
        reason: String,
    },
    /// Nothing is stored under the consent id.
    NoDataFound,
}

impl Outcome {
    /// The outcome's name, as in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Erased => "erased",
            Outcome::Refused { .. } => "refused",
            Outcome::NoDataFound => "no_data_found",
        }
    }
}

/// Whether the request is still being handled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Being handled.
    Open,
    /// Handled.
    Closed {
        /// How it ended.
        #[serde(flatten)]
        outcome: Outcome,
        /// When it was closed (Unix ms).
        at_ms: u64,
        /// Who closed it.
        by: String,
    },
}

/// The deadline extended by two further months (art. 12(3)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Why it was necessary (the visitor must be told).
    pub reason: String,
    /// When it was extended (Unix ms).
    pub at_ms: u64,
    /// Who extended it.
    pub by: String,
}

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// JSON ([`VisitorRecords`] as serde writes it).
    Json,
    /// CSV, one decision a row.
    Csv,
    /// XML.
    Xml,
}

impl ExportFormat {
    /// `json`, `csv`, `xml`: the file extension and the audit trail's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Xml => "xml",
        }
    }

    /// Parses [`Self::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "json" => Some(ExportFormat::Json),
            "csv" => Some(ExportFormat::Csv),
            "xml" => Some(ExportFormat::Xml),
            _ => None,
        }
    }
}

/// What was done for a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepKind {
    /// The request was registered.
    Opened,
    /// The visitor's records were exported.
    Exported {
        /// In this format.
        format: ExportFormat,
    },
    /// The visitor's key was destroyed (or had been before: erasing again
    /// changes nothing).
    Erased {
        /// Whether this step destroyed it.
        key_destroyed: bool,
    },
    /// The deadline was extended.
    Extended,
    /// The request was closed.
    Closed,
}

/// One step of a request's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When (Unix ms).
    pub at_ms: u64,
    /// Who (an account's user name).
    pub by: String,
    /// What.
    #[serde(flatten)]
    pub kind: StepKind,
}

/// A visitor's request, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorRequest {
    /// `req_` and 16 lowercase hex digits ([`new_id`]).
    pub id: String,
    /// Access or erasure.
    pub kind: RequestKind,
    /// The visitor's consent id, as they gave it.
    pub consent_id: ConsentId,
    /// When the controller received the request (a UTC day); the deadline
    /// runs from it.
    #[serde(with = "iso_day")]
    pub received: Day,
    /// A note for whoever handles it (not the requester's personal data).
    #[serde(default)]
    pub note: String,
    /// The deadline's extension, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
    /// Open or closed.
    #[serde(flatten)]
    pub status: Status,
    /// What was done, oldest first (at most [`MAX_STEPS`]).
    pub log: Vec<Step>,
}

/// Why a request could not be registered or changed; each names the form
/// field it is about ([`RequestError::field`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The kind is neither `access` nor `erasure`.
    #[error("the kind of request is access or erasure")]
    Kind,
    /// Not a consent id.
    #[error("not a consent id (32 characters 0-9 and a-f)")]
    ConsentId,
    /// Not a date of the form `YYYY-MM-DD`.
    #[error("not a date of the form YYYY-MM-DD")]
    Date,
    /// Received after today.
    #[error("the date of receipt cannot be in the future")]
    Future,
    /// Received more than [`MAX_BACKDATE_DAYS`] ago.
    #[error("the date of receipt is more than {MAX_BACKDATE_DAYS} days ago")]
    TooOld,
    /// The note is too long or holds control characters.
    #[error("the note is at most {MAX_NOTE} characters of text")]
    Note,
    /// A reason is missing, too long or holds control characters.
    #[error("give a reason of at most {MAX_REASON} characters")]
    Reason,
    /// The request is closed already.
    #[error("the request is closed")]
    Closed,
    /// The deadline was extended before.
    #[error("the deadline was extended already")]
    ExtendedAlready,
    /// The first month has passed: an extension had to be announced within it.
    #[error("an extension must be made within one month of receipt")]
    TooLateToExtend,
    /// Not one of the outcomes.
    #[error("choose an outcome")]
    Outcome,
}

impl RequestError {
    /// The form field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            RequestError::Kind => "kind",
            RequestError::ConsentId => "consent_id",
            RequestError::Date | RequestError::Future | RequestError::TooOld => "received",
            RequestError::Note => "note",
            RequestError::Reason => "reason",
            RequestError::Closed | RequestError::ExtendedAlready | RequestError::TooLateToExtend => "request",
            RequestError::Outcome => "outcome",
        }
    }
}

/// A request id from 8 random bytes (the caller draws them from a CSPRNG).
pub fn new_id(random: [u8; 8]) -> String {
    let mut id = String::with_capacity(20);
    id.push_str("req_");
    for b in random {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// Whether `s` has the shape [`new_id`] gives (checked before any lookup).
pub fn is_id(s: &str) -> bool {
    s.len() == 20 && s.starts_with("req_") && s[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Text of at most `max` characters with no control characters but line
/// breaks, trimmed.
fn text(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    (s.chars().count() <= max && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\r'))
        .then(|| s.replace("\r\n", "\n"))
}

fn reason(s: &str) -> Result<String, RequestError> {
    text(s, MAX_REASON)
        .filter(|r| !r.is_empty())
        .ok_or(RequestError::Reason)
}

/// The day `months` calendar months after `from` (Regulation 1182/71 art.
/// 3(2)(c)): the same date, or the last day of that month when it has no
/// such date.
pub fn months_after(from: Day, months: u32) -> Day {
    let (y, m, d) = from.civil();
    let zero_based = m - 1 + i64::from(months);
    let (y, m) = (y + zero_based.div_euclid(12), zero_based.rem_euclid(12) + 1);
    let d = d.min(days_in_month(y, m));
    Day::parse(&format!("{y:04}-{m:02}-{d:02}")).unwrap_or(Day(u32::MAX))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl VisitorRequest {
    /// A new open request, registered `today` at `at_ms` by `by`. `received`
    /// is a `YYYY-MM-DD` date, today or earlier; empty means today.
    #[allow(clippy::too_many_arguments)] // the form's fields and who/when
    pub fn open(
        id: String,
        kind: &str,
        consent_id: &str,
        received: &str,
        note: &str,
        today: Day,
        at_ms: u64,
        by: &str,
    ) -> Result<Self, RequestError> {
        let kind = RequestKind::parse(kind).ok_or(RequestError::Kind)?;
        let consent_id = ConsentId::parse(consent_id.trim()).map_err(|_| RequestError::ConsentId)?;
        let received = match received.trim() {
            "" => today,
            s => Day::parse(s).map_err(|_| RequestError::Date)?,
        };
        if received > today {
            return Err(RequestError::Future);
        }
        if today.0 - received.0 > MAX_BACKDATE_DAYS {
            return Err(RequestError::TooOld);
        }
        let note = text(note, MAX_NOTE).ok_or(RequestError::Note)?;
        Ok(VisitorRequest {
            id,
            kind,
            consent_id,
            received,
            note,
            extension: None,
            status: Status::Open,
            log: vec![Step {
                at_ms,
                by: by.to_owned(),
                kind: StepKind::Opened,
            }],
        })
    }

    /// The last day to answer without an extension: one month after receipt.
    pub fn first_deadline(&self) -> Day {
        months_after(self.received, 1)
    }

    /// The last day to answer: one month after receipt, three once extended
    /// by two further months (the three months count from receipt, as one
    /// period of three months).
    pub fn deadline(&self) -> Day {
        months_after(self.received, if self.extension.is_some() { 3 } else { 1 })
    }

    /// Days from `today` to the deadline: 0 on the deadline itself, negative
    /// once overdue.
    pub fn days_left(&self, today: Day) -> i64 {
        i64::from(self.deadline().0) - i64::from(today.0)
    }

    /// Whether the request is open past its deadline.
    pub fn overdue(&self, today: Day) -> bool {
        self.is_open() && self.days_left(today) < 0
    }

    /// Whether it is still being handled.
    pub fn is_open(&self) -> bool {
        self.status == Status::Open
    }

    /// Adds a step to the request's log (up to [`MAX_STEPS`]; the audit
    /// trail has them all).
    pub fn note_step(&mut self, kind: StepKind, at_ms: u64, by: &str) {
        if self.log.len() < MAX_STEPS {
            self.log.push(Step {
                at_ms,
                by: by.to_owned(),
                kind,
            });
        }
    }

    /// Extends the deadline by two further months, within the first month
    /// and once.
    pub fn extend(&mut self, why: &str, today: Day, at_ms: u64, by: &str) -> Result<(), RequestError> {
        if !self.is_open() {
            return Err(RequestError::Closed);
        }
        if self.extension.is_some() {
            return Err(RequestError::ExtendedAlready);
        }
        if today > self.first_deadline() {
            return Err(RequestError::TooLateToExtend);
        }
        self.extension = Some(Extension {
            reason: reason(why)?,
            at_ms,
            by: by.to_owned(),
        });
        self.note_step(StepKind::Extended, at_ms, by);
        Ok(())
    }

    /// Closes the request with `outcome` (`answered`, `erased`, `refused`
    /// with `why`, `no_data_found`).
    pub fn close(&mut self, outcome: &str, why: &str, at_ms: u64, by: &str) -> Result<(), RequestError> {
        if !self.is_open() {
            return Err(RequestError::Closed);
        }
        let outcome = match outcome {
            "answered" => Outcome::Answered,
            "erased" => Outcome::Erased,
            "refused" => Outcome::Refused { reason: reason(why)? },
            "no_data_found" => Outcome::NoDataFound,
            _ => return Err(RequestError::Outcome),
        };
        self.status = Status::Closed {
            outcome,
            at_ms,
            by: by.to_owned(),
        };
        self.note_step(StepKind::Closed, at_ms, by);
        Ok(())
    }
}

/// A day as `YYYY-MM-DD` in JSON.
mod iso_day {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::analytics::Day;

    pub fn serialize<S: Serializer>(day: &Day, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(day)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One decision of a visitor as exported: the visitor access endpoint's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorDecision {
    /// The decision's index in the transparency log.
    pub index: u64,
    /// The record as logged (personal fields sealed).
    pub record: DecisionRecord,
    /// The sealed personal fields, decrypted; absent once erased.
    pub personal: Option<PersonalFields>,
}

#[cfg(feature = "proof")]
impl VisitorDecision {
    /// A logged decision with its personal fields opened under `key`, the
    /// visitor's sealing key (`None` once erased).
    pub fn open(d: crate::store::LoggedDecision, key: Option<&[u8; 32]>) -> Self {
        VisitorDecision {
            index: d.index,
            personal: key.and_then(|k| d.record.open(k).ok()),
            record: d.record,
        }
    }
}

/// Everything stored about a visitor of a site, as exported for a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorRecords {
    /// The site.
    pub site: SiteId,
    /// The visitor's consent id.
    pub consent_id: ConsentId,
    /// When the export was made (Unix ms).
    pub exported_ms: u64,
    /// Whether the visitor is known to the site at all.
    pub known: bool,
    /// True once the visitor's personal fields were erased (their key
    /// destroyed): the decisions remain, as proofs, without them.
    pub erased: bool,
    /// False when the history is longer than [`MAX_EXPORTED`] and only the
    /// oldest decisions are here.
    pub complete: bool,
    /// Oldest first.
    pub decisions: Vec<VisitorDecision>,
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    const CONSENT: &str = "0123456789abcdef0123456789abcdef";

    fn request(received: &str, today: &str) -> Result<VisitorRequest, RequestError> {
        VisitorRequest::open(
            new_id([0xab; 8]),
            "access",
            CONSENT,
            received,
            "by post",
            day(today),
            1,
            "anna",
        )
    }

    #[test]
    fn a_month_ends_on_the_same_date_or_the_months_last_day() {
        for (from, months, to) in [
            ("2026-03-05", 1, "2026-04-05"),
            ("2026-01-31", 1, "2026-02-28"),
            ("2028-01-31", 1, "2028-02-29"),
            ("2100-01-31", 1, "2100-02-28"),
            ("2000-01-31", 1, "2000-02-29"),
            ("2026-03-31", 1, "2026-04-30"),
            ("2026-12-15", 1, "2027-01-15"),
            ("2026-12-31", 3, "2027-03-31"),
            ("2026-11-30", 3, "2027-02-28"),
            ("2026-01-31", 3, "2026-04-30"),
            ("2026-02-28", 1, "2026-03-28"),
        ] {
            assert_eq!(months_after(day(from), months).to_string(), to, "{from} + {months}");
        }
    }

    #[test]
    fn the_deadline_is_a_month_after_receipt_three_once_extended() {
        let mut r = request("2026-01-31", "2026-02-02").unwrap();
        assert_eq!(r.deadline().to_string(), "2026-02-28");
        assert_eq!(r.days_left(day("2026-02-28")), 0);
        assert!(!r.overdue(day("2026-02-28")));
        assert!(r.overdue(day("2026-03-01")));
        assert_eq!(r.days_left(day("2026-03-03")), -3);
        assert_eq!(r.extend("  ", day("2026-02-10"), 2, "anna"), Err(RequestError::Reason));
        r.extend("many systems to search", day("2026-02-10"), 2, "anna")
            .unwrap();
        assert_eq!(r.deadline().to_string(), "2026-04-30");
        assert_eq!(r.first_deadline().to_string(), "2026-02-28");
        assert_eq!(
            r.extend("again", day("2026-02-11"), 3, "anna"),
            Err(RequestError::ExtendedAlready)
        );
        let mut late = request("2026-01-31", "2026-02-02").unwrap();
        assert_eq!(
            late.extend("x", day("2026-03-01"), 2, "anna"),
            Err(RequestError::TooLateToExtend)
        );
        assert_eq!(late.log.len(), 1);
        assert_eq!(r.log.len(), 2);
    }

    #[test]
    fn receipt_is_today_or_earlier_and_the_form_is_checked_field_by_field() {
        assert_eq!(request("", "2026-05-01").unwrap().received, day("2026-05-01"));
        assert_eq!(request("2026-05-02", "2026-05-01").unwrap_err(), RequestError::Future);
        assert_eq!(request("2024-01-01", "2026-05-01").unwrap_err(), RequestError::TooOld);
        let err = request("1.5.2026", "2026-05-01").unwrap_err();
        assert_eq!((err.field(), err), ("received", RequestError::Date));
        let open = |kind, consent, note: &str| {
            VisitorRequest::open(new_id([1; 8]), kind, consent, "", note, day("2026-05-01"), 1, "a")
        };
        assert_eq!(open("delete", CONSENT, "").unwrap_err().field(), "kind");
        assert_eq!(open("erasure", "nope", "").unwrap_err().field(), "consent_id");
        assert_eq!(
            open("erasure", CONSENT, &"x".repeat(MAX_NOTE + 1)).unwrap_err().field(),
            "note"
        );
        assert_eq!(open("erasure", CONSENT, "a\u{7}b").unwrap_err().field(), "note");
        assert!(open("erasure", CONSENT, &"é".repeat(MAX_NOTE)).is_ok());
    }

    #[test]
    fn closing_needs_an_outcome_and_a_refusal_its_reason() {
        let mut r = request("2026-05-01", "2026-05-01").unwrap();
        assert_eq!(r.close("done", "", 5, "bo"), Err(RequestError::Outcome));
        assert_eq!(r.close("refused", "", 5, "bo"), Err(RequestError::Reason));
        r.close("refused", "not this site's consent id", 5, "bo").unwrap();
        assert!(!r.is_open());
        assert!(!r.overdue(day("2027-01-01")));
        assert_eq!(r.close("answered", "", 6, "bo"), Err(RequestError::Closed));
        assert_eq!(
            r.log.iter().map(|s| s.kind.clone()).collect::<Vec<_>>(),
            [StepKind::Opened, StepKind::Closed]
        );
    }

    #[test]
    fn stored_as_json_and_read_back() {
        let mut r = request("2026-01-31", "2026-02-01").unwrap();
        r.note_step(
            StepKind::Exported {
                format: ExportFormat::Csv,
            },
            3,
            "anna",
        );
        r.note_step(StepKind::Erased { key_destroyed: true }, 4, "anna");
        r.close("erased", "", 5, "anna").unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["received"], "2026-01-31");
        assert_eq!(json["status"], "closed");
        assert_eq!(json["outcome"], "erased");
        assert_eq!(json["kind"], "access");
        assert_eq!(json["log"][1]["step"], "exported");
        assert_eq!(json["log"][1]["format"], "csv");
        assert_eq!(serde_json::from_value::<VisitorRequest>(json).unwrap(), r);
        let open = serde_json::to_value(request("", "2026-02-01").unwrap()).unwrap();
        assert_eq!(open["status"], "open");
    }

    #[test]
    fn the_log_is_bounded() {
        let mut r = request("", "2026-02-01").unwrap();
        for i in 0..MAX_STEPS as u64 * 2 {
            r.note_step(
                StepKind::Exported {
                    format: ExportFormat::Json,
                },
                i,
                "anna",
            );
        }
        assert_eq!(r.log.len(), MAX_STEPS);
    }

    #[test]
    fn ids_are_req_and_sixteen_hex_digits() {
        let id = new_id([0, 1, 2, 3, 0xfc, 0xfd, 0xfe, 0xff]);
        assert_eq!(id, "req_00010203fcfdfeff");
        assert!(is_id(&id));
        for bad in [
            "req_00010203fcfdfefg",
            "req_00010203FCFDFEFF",
            "req_0001",
            "xyz_00010203fcfdfeff",
            "",
        ] {
            assert!(!is_id(bad), "{bad}");
        }
    }
}
