//! Analytics counts in Redis: one hash per site and UTC day,
//! `tallies:<site>:<day number>`, with a field per counter and
//! configuration version: `<version>|t` (decisions), `|a` `|r` `|c` `|w`
//! `|g` (accept all, reject all, custom, withdrawal, applied from GPC),
//! `|p` (GPC sent), `|k:<category>` (granted), `|l:<language>`, and `|#l`
//! (how many named languages the version holds that day, for the cap).
//!
//! `append.lua` adds a batch's counts in the script that appends its
//! decisions, so they are written together or not at all. A period is read
//! with one `HGETALL` per day, pipelined.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use consent_core::ConfigVersion;
use consent_core::analytics::{Day, DayTally, Tally};
use consent_core::store::StoreError;

use crate::storage::corrupt_because;

/// The lines `append.lua` adds for one decision of `version` counted as `t`.
pub(super) fn fields(version: &ConfigVersion, t: &Tally) -> String {
    let v = &version.0;
    let mut out = String::with_capacity(128);
    for (name, n) in [
        ("t", t.total),
        ("a", t.accept_all),
        ("r", t.reject_all),
        ("c", t.custom),
        ("w", t.withdrawal),
        ("g", t.gpc_applied),
        ("p", t.gpc),
    ] {
        if n > 0 {
            let _ = writeln!(out, "1{v}|{name}");
        }
    }
    // Every category, granted or not: a category's field exists wherever a
    // decision could grant it (the grant rate's denominator).
    for (c, n) in &t.categories {
        let _ = writeln!(out, "{}{v}|k:{c}", u8::from(*n > 0));
    }
    for lang in t.languages.keys() {
        let _ = writeln!(out, "L{v}|l:{lang}");
    }
    out
}

/// One day's hash, as `HGETALL` returns it, as its tallies by version.
pub(super) fn parse(day: Day, hash: HashMap<String, u64>) -> Result<Vec<DayTally>, StoreError> {
    let mut by_version: BTreeMap<String, Tally> = BTreeMap::new();
    for (field, n) in hash {
        let Some((version, counter)) = field.split_once('|') else {
            return Err(corrupt_because(format!("analytics field {field:?}")));
        };
        let t = by_version.entry(version.to_owned()).or_default();
        match counter {
            "t" => t.total = n,
            "a" => t.accept_all = n,
            "r" => t.reject_all = n,
            "c" => t.custom = n,
            "w" => t.withdrawal = n,
            "g" => t.gpc_applied = n,
            "p" => t.gpc = n,
            "#l" => {}
            other => {
                if let Some(c) = other.strip_prefix("k:") {
                    t.categories.insert(c.to_owned(), n);
                } else if let Some(l) = other.strip_prefix("l:") {
                    t.languages.insert(l.to_owned(), n);
                } else {
                    return Err(corrupt_because(format!("analytics field {field:?}")));
                }
            }
        }
    }
    Ok(by_version
        .into_iter()
        .map(|(version, tally)| DayTally {
            day,
            version: ConfigVersion(version),
            tally,
        })
        .collect())
}
