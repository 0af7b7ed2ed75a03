//! Analytics counts in SQLite: one row of `tallies` per (site, UTC day,
//! configuration version), its counts as JSON ([`Tally`]).
//!
//! The writer sums the tallies of a batch's appended decisions in memory
//! and writes each touched row once, just before the batch's `COMMIT`: the
//! counts commit (or roll back) with the decisions, and a batch of many
//! decisions on one site and day costs one row read and one row write, not
//! one per decision.

use std::collections::HashMap;

use consent_core::analytics::{Day, DayTally, Period, Tally};
use consent_core::{ConfigVersion, SiteId};
use rusqlite::{Connection, OptionalExtension, params};

use super::sql;
use crate::storage::{from_json, to_json};
use consent_core::store::StoreError;

/// The table, part of the schema since version 5.
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS tallies (
    site TEXT NOT NULL,
    -- Days since 1970-01-01 (UTC).
    day INTEGER NOT NULL,
    version TEXT NOT NULL,
    -- consent_core::analytics::Tally as JSON.
    body TEXT NOT NULL,
    PRIMARY KEY (site, day, version)
) WITHOUT ROWID;
";

/// What one batch adds, by row.
#[derive(Default)]
pub(super) struct Pending(HashMap<(SiteId, Day, ConfigVersion), Tally>);

impl Pending {
    /// Counts an appended decision (called once its rows are written).
    pub(super) fn add(&mut self, site: &SiteId, (day, version, tally): (Day, ConfigVersion, Tally)) {
        self.0.entry((site.clone(), day, version)).or_default().add(&tally);
    }

    /// Forgets the batch (it rolled back).
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// Adds the batch's counts to their rows, inside the batch's transaction.
    pub(super) fn write(&mut self, conn: &Connection) -> Result<(), StoreError> {
        for ((site, day, version), add) in self.0.drain() {
            let key = params![site.as_str(), day.0, version.0];
            let old: Option<String> = sql(conn
                .prepare_cached("SELECT body FROM tallies WHERE site = ?1 AND day = ?2 AND version = ?3")
                .and_then(|mut s| s.query_row(key, |r| r.get(0)).optional()))?;
            let mut tally: Tally = match old {
                Some(body) => from_json(&body)?,
                None => Tally::default(),
            };
            tally.add(&add);
            let body = to_json(&tally);
            sql(conn
                .prepare_cached("INSERT OR REPLACE INTO tallies (site, day, version, body) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut s| s.execute(params![site.as_str(), day.0, version.0, body])))?;
        }
        Ok(())
    }
}

/// The site's rows for the period's days, by day and version.
pub(super) fn read(conn: &Connection, site: &SiteId, period: Period) -> Result<Vec<DayTally>, StoreError> {
    let mut s = sql(conn.prepare_cached(
        "SELECT day, version, body FROM tallies WHERE site = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day, version",
    ))?;
    let rows = sql(s.query_map(params![site.as_str(), period.from.0, period.to.0], |r| {
        Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    }))?;
    rows.map(|row| {
        let (day, version, body) = sql(row)?;
        Ok(DayTally {
            day: Day(day),
            version: ConfigVersion(version),
            tally: from_json(&body)?,
        })
    })
    .collect()
}
