//! Scheduled scans and their alerts, kept with the queue (the embedded
//! storage or Redis).
//!
//! A site's schedule is off, daily or weekly. The server looks for due
//! schedules every minute ([`crate::service::scan::enqueue_due`]); taking a
//! due schedule moves it on by its period in the same step, so with several
//! server instances on one Redis each due scan is queued once. A scheduled
//! scan's report is compared with the site's previous scan: findings whose
//! [fingerprint](fingerprints) the previous scan did not have raise an
//! alert, shown in the dashboard until dismissed.

use std::collections::BTreeMap;

use consent_core::SiteId;
use consent_core::store::{ScanQuery, ScanStore, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{QueueError, ScanQueue};

/// How often a site is scanned by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Off,
    Daily,
    Weekly,
}

const DAY_MS: u64 = 24 * 3600 * 1000;

impl Every {
    /// The time between two scans; `None` when off.
    pub fn period_ms(self) -> Option<u64> {
        match self {
            Self::Off => None,
            Self::Daily => Some(DAY_MS),
            Self::Weekly => Some(7 * DAY_MS),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Off, Self::Daily, Self::Weekly]
            .into_iter()
            .find(|e| e.as_str() == s)
    }

    /// [`period_ms`](Self::period_ms) by name, as storage calls it.
    pub(crate) fn period_of(name: &str) -> Option<u64> {
        Self::parse(name).and_then(Self::period_ms)
    }
}

/// A site's schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub every: Every,
    /// When the next scheduled scan is due (Unix ms); `None` when off.
    pub next_ms: Option<u64>,
}

impl Schedule {
    pub const OFF: Schedule = Schedule {
        every: Every::Off,
        next_ms: None,
    };
}

/// A finding a scheduled scan had and the site's previous scan did not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewFinding {
    /// `platform|rule|consent state` (see [`fingerprints`]).
    pub fingerprint: String,
    pub platform: String,
    pub rule: String,
    /// `before_consent`, `after_reject`, `after_accept`, or `-` when the
    /// evidence names no consent state (the static pass).
    pub state: String,
    pub severity: String,
    pub title: String,
}

/// New findings of one scheduled scan, shown until dismissed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    /// The scheduled scan that found them; dismiss the alert by it.
    pub scan_id: String,
    /// The scan it was compared with.
    pub previous_scan_id: String,
    /// When it was raised (Unix ms).
    pub created_ms: u64,
    /// At most [`MAX_NEW_FINDINGS`], most severe first.
    pub new_findings: Vec<NewFinding>,
}

/// New findings an alert keeps at most.
pub const MAX_NEW_FINDINGS: usize = 100;
/// Alerts a site keeps at most (the newest).
pub const MAX_ALERTS: usize = 50;
/// Findings of a report looked at at most.
const MAX_FINDINGS_READ: usize = 10_000;

fn text(v: &serde_json::Value, key: &str) -> String {
    v.get(key).and_then(serde_json::Value::as_str).unwrap_or("").to_owned()
}

/// A report's findings by fingerprint: the finding's `platform` (or `-`),
/// its `rule` (the kind of finding) and each consent state its evidence
/// names (`-` when none does), joined with `|`. So the same pixel firing in
/// a new consent state, or a known platform breaking a new rule, is new;
/// the same finding on other pages or with other evidence is not. Reports
/// are read leniently (a missing field is empty); `None` if it is not JSON.
pub fn fingerprints(report: &[u8]) -> Option<BTreeMap<String, NewFinding>> {
    let report: serde_json::Value = serde_json::from_slice(report).ok()?;
    let mut out = BTreeMap::new();
    let findings = report.get("findings").and_then(serde_json::Value::as_array);
    for f in findings.map_or(&[][..], Vec::as_slice).iter().take(MAX_FINDINGS_READ) {
        let platform = Some(text(f, "platform"))
            .filter(|p| !p.is_empty())
            .unwrap_or("-".into());
        let rule = text(f, "rule");
        let mut states: Vec<String> = f
            .get("evidence")
            .and_then(serde_json::Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|e| text(e, "state"))
            .filter(|s| !s.is_empty())
            .collect();
        if states.is_empty() {
            states.push("-".into());
        }
        for state in states {
            let fingerprint = format!("{platform}|{rule}|{state}");
            out.entry(fingerprint.clone()).or_insert_with(|| NewFinding {
                fingerprint,
                platform: platform.clone(),
                rule: rule.clone(),
                state,
                severity: text(f, "severity"),
                title: text(f, "title"),
            });
        }
    }
    Some(out)
}

/// The alert a site's scan `scan_id` raises: its findings that the site's
/// previous scan (the next older one) did not have. `None` when there is
/// nothing new, or no previous scan to compare with.
pub async fn new_findings<S: ScanStore>(
    store: &S,
    site: &SiteId,
    scan_id: &str,
    now_ms: u64,
) -> Result<Option<Alert>, StoreError> {
    let query = ScanQuery {
        before: Some(scan_id.to_owned()),
        limit: 1,
    };
    let Some(previous) = store.scans(site, &query).await?.into_iter().next() else {
        return Ok(None);
    };
    let (Some(now), Some(before)) = (store.scan(site, scan_id).await?, store.scan(site, &previous.id).await?) else {
        return Ok(None);
    };
    let (Some(now), Some(before)) = (fingerprints(&now.report), fingerprints(&before.report)) else {
        return Ok(None);
    };
    let mut new: Vec<NewFinding> = now
        .into_iter()
        .filter(|(fp, _)| !before.contains_key(fp))
        .map(|(_, f)| f)
        .collect();
    if new.is_empty() {
        return Ok(None);
    }
    let rank = |s: &str| {
        ["critical", "high", "medium", "low", "info"]
            .iter()
            .position(|r| *r == s)
    };
    new.sort_by_key(|f| (rank(&f.severity).unwrap_or(5), f.fingerprint.clone()));
    new.truncate(MAX_NEW_FINDINGS);
    Ok(Some(Alert {
        scan_id: scan_id.to_owned(),
        previous_scan_id: previous.id,
        created_ms: now_ms,
        new_findings: new,
    }))
}

impl ScanQueue {
    /// Sets a site's schedule; the first scheduled scan is one period from `now_ms`.
    pub async fn set_schedule(&self, site: &SiteId, every: Every, now_ms: u64) -> Result<Schedule, QueueError> {
        let next_ms = every.period_ms().map(|p| now_ms + p);
        match self {
            Self::Redis(q) => q.set_schedule(site, every, next_ms).await?,
            Self::Embedded(q) => q.set_schedule(site, every, next_ms).await?,
        }
        Ok(Schedule { every, next_ms })
    }

    /// A site's schedule ([`Schedule::OFF`] without one).
    pub async fn schedule(&self, site: &SiteId) -> Result<Schedule, QueueError> {
        match self {
            Self::Redis(q) => q.schedule(site).await,
            Self::Embedded(q) => q.schedule(site).await,
        }
    }

    /// The sites whose scheduled scan is due at `now_ms` (at most `limit`),
    /// each schedule moved on by its period in the same step.
    pub async fn claim_due(&self, now_ms: u64, limit: usize) -> Result<Vec<SiteId>, QueueError> {
        let sites = match self {
            Self::Redis(q) => q.claim_due(now_ms, limit).await?,
            Self::Embedded(q) => q.claim_due(now_ms, limit).await?,
        };
        Ok(sites.iter().filter_map(|s| SiteId::parse(s).ok()).collect())
    }

    /// A site's alerts, newest first.
    pub async fn alerts(&self, site: &SiteId) -> Result<Vec<Alert>, QueueError> {
        let raw = match self {
            Self::Redis(q) => q.alerts(site).await?,
            Self::Embedded(q) => q.alerts(site).await?,
        };
        let mut alerts: Vec<Alert> = raw.iter().filter_map(|b| serde_json::from_str(b).ok()).collect();
        alerts.sort_by(|a, b| b.scan_id.cmp(&a.scan_id));
        Ok(alerts)
    }

    /// Dismisses the alert of scan `scan_id`; whether there was one.
    pub async fn dismiss_alert(&self, site: &SiteId, scan_id: &str) -> Result<bool, QueueError> {
        if scan_id.is_empty() || scan_id.len() > 64 {
            return Ok(false);
        }
        match self {
            Self::Redis(q) => q.dismiss_alert(site, scan_id).await,
            Self::Embedded(q) => q.dismiss_alert(site, scan_id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_platform_rule_and_consent_state() {
        let report = serde_json::json!({"findings": [
            {"rule": "tracking-before-consent", "platform": "meta-pixel", "severity": "high", "title": "T",
             "evidence": [{"state": "before_consent", "page": "/a"}, {"state": "after_reject"}, {"state": "before_consent", "page": "/b"}]},
            {"rule": "undeclared-cookie", "severity": "medium", "title": "C", "evidence": [{"cookie": "_x"}]},
            {"rule": "undeclared-cookie", "severity": "medium", "title": "C2", "evidence": "odd"},
        ]});
        let fps = fingerprints(report.to_string().as_bytes()).unwrap();
        let keys: Vec<&str> = fps.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "-|undeclared-cookie|-",
                "meta-pixel|tracking-before-consent|after_reject",
                "meta-pixel|tracking-before-consent|before_consent",
            ]
        );
        assert_eq!(fps["-|undeclared-cookie|-"].title, "C", "the first finding names it");
        assert!(fingerprints(b"not json").is_none());
        assert!(fingerprints(b"{}").unwrap().is_empty());
    }

    #[test]
    fn schedules_by_name() {
        assert_eq!(Every::parse("weekly"), Some(Every::Weekly));
        assert_eq!(Every::period_of("daily"), Some(DAY_MS));
        assert_eq!(Every::period_of("off"), None);
        assert_eq!(Every::parse("hourly"), None);
    }
}
