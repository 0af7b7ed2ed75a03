//! Consent analytics: anonymous counts of decisions per site, UTC day and
//! configuration version, kept up to date by the store in the same durable
//! step that appends each decision (so they never drift from the log), and
//! read back a day at a time — never by scanning decisions.
//!
//! - [`Tally`]: the counts of one (site, day, version): decisions, how they
//!   were made, Global Privacy Control, grants per category, languages.
//! - [`Tally::of_leaf`]: one decision's contribution, from its leaf bytes.
//! - [`Report`]: a period's tallies turned into the datasets the dashboard
//!   charts (per day, methods, categories, GPC, languages, versions).
//!
//! The counts name no visitor, so they stay when a visitor is erased (erasure
//! destroys a sealing key; see docs/dashboard.md).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::ConfigVersion;
use crate::decision::Method;

/// Milliseconds in a UTC day.
pub const MS_PER_DAY: u64 = 86_400_000;

/// The most distinct languages one tally keeps; further ones are counted
/// under [`OTHER_LANGUAGE`]. Decisions are validated against the languages a
/// configuration offers, so this only matters if that ever changes: a
/// visitor must never be able to grow a tally without bound.
pub const MAX_LANGUAGES: usize = 32;

/// The language bucket for languages beyond [`MAX_LANGUAGES`] and for tags
/// that are not a language subtag.
pub const OTHER_LANGUAGE: &str = "other";

/// The longest period one analytics read covers, in days.
pub const MAX_DAYS: u32 = 366;

/// A UTC calendar day, as the number of days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Day(pub u32);

/// Why a day (`YYYY-MM-DD`) or a period could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Not a date of the form `YYYY-MM-DD` between 1970 and 9999.
    #[error("not a date of the form YYYY-MM-DD: {0:?}")]
    BadDate(String),
    /// The period ends before it starts.
    #[error("the period ends before it starts")]
    Reversed,
    /// The period is longer than [`MAX_DAYS`].
    #[error("the period is longer than {MAX_DAYS} days")]
    TooLong,
}

impl Day {
    /// The day a Unix time in milliseconds falls on (UTC).
    pub fn of_ms(ms: u64) -> Self {
        Day(u32::try_from(ms / MS_PER_DAY).unwrap_or(u32::MAX))
    }

    /// The day's first millisecond.
    pub fn start_ms(self) -> u64 {
        u64::from(self.0) * MS_PER_DAY
    }

    /// The day after.
    pub fn next(self) -> Self {
        Day(self.0.saturating_add(1))
    }

    /// Parses `YYYY-MM-DD` (a proleptic Gregorian date from 1970 to 9999).
    pub fn parse(s: &str) -> Result<Self, PeriodError> {
        let bad = || PeriodError::BadDate(s.chars().take(32).collect());
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, PeriodError> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if y < 1970 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return Err(bad());
        }
        Ok(Day(days_from_civil(y, m, d) as u32))
    }

    /// (year, month, day) of this day.
    pub fn civil(self) -> (i64, i64, i64) {
        // Civil-from-days (Howard Hinnant, "chrono-Compatible Low-Level Date
        // Algorithms", public domain).
        let z = i64::from(self.0) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days-from-civil (the inverse of [`Day::civil`], same source).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A period of whole UTC days, `from` to `to` inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first day.
    pub from: Day,
    /// The last day (inclusive).
    pub to: Day,
}

impl Period {
    /// `from..=to`, refused when reversed or longer than [`MAX_DAYS`].
    pub fn new(from: Day, to: Day) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed);
        }
        if to.0 - from.0 >= MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    /// The `days` days ending with `today` (at least one, at most [`MAX_DAYS`]).
    pub fn last(days: u32, today: Day) -> Self {
        let days = days.clamp(1, MAX_DAYS);
        Self {
            from: Day(today.0.saturating_sub(days - 1)),
            to: today,
        }
    }

    /// How many days it covers.
    pub fn days(&self) -> u32 {
        self.to.0 - self.from.0 + 1
    }

    /// Its days in order.
    pub fn iter(&self) -> impl Iterator<Item = Day> + use<> {
        (self.from.0..=self.to.0).map(Day)
    }
}

/// The counts of one site's decisions on one UTC day under one configuration
/// version. Every decision adds 1 to `total`, 1 to the counter of its
/// method, 1 to `gpc` if its browser sent Global Privacy Control, 1 to its
/// language, and to each category of its configuration 1 if granted, else 0
/// (so a category's presence says every decision of the tally could grant
/// it, and `categories[c] / total` is its grant rate).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Decisions.
    pub total: u64,
    /// Made with "Accept all".
    pub accept_all: u64,
    /// Made with "Reject all".
    pub reject_all: u64,
    /// Made with a choice per category or service.
    pub custom: u64,
    /// Withdrawals (a later decision taking something back).
    pub withdrawal: u64,
    /// Applied from the Global Privacy Control signal, without a click.
    pub gpc_applied: u64,
    /// Decisions whose browser sent Global Privacy Control.
    pub gpc: u64,
    /// Category id → decisions that granted it.
    pub categories: BTreeMap<String, u64>,
    /// Primary language subtag (`nl`, `en`, …, [`OTHER_LANGUAGE`]) → decisions.
    pub languages: BTreeMap<String, u64>,
}

/// The fields of a record a tally needs, read from the leaf without the rest.
#[derive(Deserialize)]
struct LeafFields {
    time_ms: u64,
    config_version: ConfigVersion,
    method: Method,
    categories: BTreeMap<String, bool>,
    language: String,
    gpc: bool,
}

/// The language a tally counts a decision under: the primary subtag of its
/// BCP 47 tag, lower case (`nl-BE` → `nl`), or [`OTHER_LANGUAGE`] when that
/// is not 2 to 8 ASCII letters.
pub fn language_key(tag: &str) -> String {
    let primary = tag.split(['-', '_']).next().unwrap_or("");
    if (2..=8).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        primary.to_ascii_lowercase()
    } else {
        OTHER_LANGUAGE.to_owned()
    }
}

impl Tally {
    /// One decision's contribution, from its leaf (the record's canonical
    /// bytes): its day, the configuration version it was made under and its
    /// tally. `None` if the bytes are not a decision record.
    pub fn of_leaf(leaf: &[u8]) -> Option<(Day, ConfigVersion, Tally)> {
        let r: LeafFields = serde_json::from_slice(leaf).ok()?;
        let mut t = Tally {
            total: 1,
            gpc: u64::from(r.gpc),
            ..Tally::default()
        };
        *match r.method {
            Method::AcceptAll => &mut t.accept_all,
            Method::RejectAll => &mut t.reject_all,
            Method::Custom => &mut t.custom,
            Method::Withdrawal => &mut t.withdrawal,
            Method::Gpc => &mut t.gpc_applied,
        } += 1;
        t.categories = r.categories.into_iter().map(|(c, g)| (c, u64::from(g))).collect();
        t.languages.insert(language_key(&r.language), 1);
        Some((Day::of_ms(r.time_ms), r.config_version, t))
    }

    /// Adds `other`'s counts. A language new to this tally once it holds
    /// [`MAX_LANGUAGES`] others is counted under [`OTHER_LANGUAGE`].
    pub fn add(&mut self, other: &Tally) {
        self.total += other.total;
        self.accept_all += other.accept_all;
        self.reject_all += other.reject_all;
        self.custom += other.custom;
        self.withdrawal += other.withdrawal;
        self.gpc_applied += other.gpc_applied;
        self.gpc += other.gpc;
        for (c, n) in &other.categories {
            *self.categories.entry(c.clone()).or_default() += n;
        }
        for (lang, n) in &other.languages {
            let named = self.languages.keys().filter(|l| *l != OTHER_LANGUAGE).count();
            let key = if self.languages.contains_key(lang) || lang == OTHER_LANGUAGE || named < MAX_LANGUAGES {
                lang.as_str()
            } else {
                OTHER_LANGUAGE
            };
            *self.languages.entry(key.to_owned()).or_default() += n;
        }
    }
}

/// A stored tally: one site's counts for one day and configuration version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayTally {
    /// The UTC day.
    pub day: Day,
    /// The configuration version the decisions were made under.
    pub version: ConfigVersion,
    /// The counts.
    pub tally: Tally,
}

/// One day's decisions by method, for the per-day chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayRow {
    /// The day.
    pub day: Day,
    /// All its decisions (under every version).
    pub tally: Tally,
}

/// A category's grants over the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryRow {
    /// The category id.
    pub category: String,
    /// Decisions that granted it.
    pub granted: u64,
    /// Decisions made under a configuration that had it.
    pub decided: u64,
}

/// A configuration version's decisions over the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRow {
    /// The version.
    pub version: ConfigVersion,
    /// The first day in the period with a decision under it.
    pub first: Day,
    /// The last such day.
    pub last: Day,
    /// Its decisions.
    pub tally: Tally,
}

/// A period's analytics, as the dashboard shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The period.
    pub period: Period,
    /// Everything in the period, summed.
    pub totals: Tally,
    /// Every day of the period, in order, days without decisions included.
    pub days: Vec<DayRow>,
    /// Categories by id.
    pub categories: Vec<CategoryRow>,
    /// Languages, most decisions first.
    pub languages: Vec<(String, u64)>,
    /// Versions, by the first day they were seen in the period.
    pub versions: Vec<VersionRow>,
}

impl Report {
    /// Sums `tallies` (as a store returns them for `period`; rows outside it
    /// are ignored) into the report's datasets.
    pub fn new(period: Period, tallies: &[DayTally]) -> Self {
        let mut by_day: BTreeMap<Day, Tally> = BTreeMap::new();
        let mut totals = Tally::default();
        let mut categories: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut versions: BTreeMap<&ConfigVersion, VersionRow> = BTreeMap::new();
        let mut languages: BTreeMap<String, u64> = BTreeMap::new();
        for t in tallies.iter().filter(|t| t.day >= period.from && t.day <= period.to) {
            by_day.entry(t.day).or_default().add(&t.tally);
            totals.add(&t.tally);
            for (c, n) in &t.tally.categories {
                let e = categories.entry(c.clone()).or_default();
                e.0 += n;
                e.1 += t.tally.total;
            }
            // Summed without the per-tally cap: the period's languages are
            // at most the days' caps together, and each bucket stays exact.
            for (l, n) in &t.tally.languages {
                *languages.entry(l.clone()).or_default() += n;
            }
            let v = versions.entry(&t.version).or_insert_with(|| VersionRow {
                version: t.version.clone(),
                first: t.day,
                last: t.day,
                tally: Tally::default(),
            });
            v.first = v.first.min(t.day);
            v.last = v.last.max(t.day);
            v.tally.add(&t.tally);
        }
        totals.languages = languages.clone();
        let days = period
            .iter()
            .map(|day| DayRow {
                day,
                tally: by_day.remove(&day).unwrap_or_default(),
            })
            .collect();
        let mut languages: Vec<(String, u64)> = languages.into_iter().collect();
        languages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut versions: Vec<VersionRow> = versions.into_values().collect();
        versions.sort_by(|a, b| (a.first, &a.version.0).cmp(&(b.first, &b.version.0)));
        Report {
            period,
            totals,
            days,
            categories: categories
                .into_iter()
                .map(|(category, (granted, decided))| CategoryRow {
                    category,
                    granted,
                    decided,
                })
                .collect(),
            languages,
            versions,
        }
    }
}

/// `part` of `whole` as a percentage with one decimal (`0.0` when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print_both_ways() {
        assert_eq!(Day::parse("1970-01-01"), Ok(Day(0)));
        assert_eq!(Day::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert_eq!(Day::of_ms(1_700_000_000_123).to_string(), "2023-11-14");
        for d in [0, 59, 60, 365, 11_016, 20_000, 2_932_896] {
            assert_eq!(Day::parse(&Day(d).to_string()), Ok(Day(d)), "{d}");
        }
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "1969-12-31",
            "2023-1-01",
            "+023-01-01",
            "",
            "2023-01-01x",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn periods_are_bounded_and_ordered() {
        let d = Day::parse("2026-12-05").unwrap();
        assert_eq!(Period::new(d, Day(d.0 - 1)), Err(PeriodError::Reversed));
        assert_eq!(Period::new(Day(d.0 - MAX_DAYS), d), Err(PeriodError::TooLong));
        assert_eq!(Period::new(Day(d.0 - MAX_DAYS + 1), d).unwrap().days(), MAX_DAYS);
        assert_eq!(Period::last(7, d).from.to_string(), "2026-11-29");
        assert_eq!(Period::last(0, d).days(), 1);
    }

    #[test]
    fn languages_are_primary_subtags() {
        assert_eq!(language_key("nl-BE"), "nl");
        assert_eq!(language_key("EN"), "en");
        assert_eq!(language_key("x"), OTHER_LANGUAGE);
        assert_eq!(language_key("n1"), OTHER_LANGUAGE);
        assert_eq!(language_key(""), OTHER_LANGUAGE);
    }

    #[test]
    fn a_tally_keeps_at_most_so_many_languages() {
        let mut t = Tally::default();
        for i in 0..MAX_LANGUAGES + 5 {
            let one = Tally {
                languages: BTreeMap::from([(format!("l{i:03}"), 1)]),
                ..Tally::default()
            };
            t.add(&one);
        }
        assert_eq!(t.languages.len(), MAX_LANGUAGES + 1);
        assert_eq!(t.languages[OTHER_LANGUAGE], 5);
        // A language already kept is still counted under its name.
        t.add(&Tally {
            languages: BTreeMap::from([("l000".into(), 2)]),
            ..Tally::default()
        });
        assert_eq!(t.languages["l000"], 3);
    }

    #[test]
    fn a_leaf_contributes_one_of_each() {
        let leaf = br#"{"categories":{"analytics":true,"marketing":false},"config_version":"abc","consent_id":"x","gpc":true,"language":"nl-NL","method":"custom","sealed":"","services":{},"site":"demo","time_ms":1700000000123,"v":1}"#;
        let (day, version, t) = Tally::of_leaf(leaf).unwrap();
        assert_eq!(day.to_string(), "2023-11-14");
        assert_eq!(version.0, "abc");
        assert_eq!((t.total, t.custom, t.accept_all, t.gpc), (1, 1, 0, 1));
        assert_eq!(t.categories["analytics"], 1);
        assert_eq!(t.categories["marketing"], 0);
        assert_eq!(t.languages["nl"], 1);
        assert!(Tally::of_leaf(b"not json").is_none());
    }

    #[test]
    fn a_report_fills_every_day_and_rates_categories_by_their_versions() {
        let day = Day::parse("2026-12-01").unwrap();
        let period = Period::new(day, Day(day.0 + 2)).unwrap();
        let one = |d: u32, v: &str, accept: bool, cats: &[(&str, u64)]| DayTally {
            day: Day(day.0 + d),
            version: ConfigVersion(v.into()),
            tally: Tally {
                total: 1,
                accept_all: u64::from(accept),
                reject_all: u64::from(!accept),
                categories: cats.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect(),
                languages: BTreeMap::from([("nl".into(), 1)]),
                ..Tally::default()
            },
        };
        let rows = [
            one(0, "v1", true, &[("analytics", 1)]),
            one(2, "v2", false, &[("analytics", 0), ("marketing", 0)]),
            one(9, "v2", false, &[]),
        ];
        let r = Report::new(period, &rows);
        assert_eq!(r.days.len(), 3);
        assert_eq!(r.days[1].tally.total, 0);
        assert_eq!(r.totals.total, 2);
        assert_eq!(
            r.categories,
            vec![
                CategoryRow {
                    category: "analytics".into(),
                    granted: 1,
                    decided: 2
                },
                CategoryRow {
                    category: "marketing".into(),
                    granted: 0,
                    decided: 1
                },
            ]
        );
        assert_eq!(
            r.versions.iter().map(|v| v.version.0.as_str()).collect::<Vec<_>>(),
            ["v1", "v2"]
        );
        assert_eq!(r.languages, vec![("nl".to_owned(), 2)]);
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(1, 0), 0.0);
    }
}
