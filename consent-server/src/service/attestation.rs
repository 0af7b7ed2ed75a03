//! The Keurmerk seal: every stored scan becomes a signed, logged
//! attestation of what it measured ([`consent_core::attestation`]).
//!
//! Scans are stored by three paths (an upload, the embedded scan workers,
//! the Redis collector), in any server process. Rather than hook each one,
//! an attester task in every process looks for scans without an attestation
//! and makes one: a scan stored just before a crash is still attested by
//! the next process to look, and the store appends at most one attestation
//! per scan however many processes race to it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use consent_core::SiteId;
use consent_core::attestation::{ATTESTATION_TYPE, Attestation, Count, Exposure};
use consent_core::store::{AttestationStore as _, ScanQuery, ScanStore as _, SiteStore as _};
use scanner::finding::Rule;
use scanner::report::Report;

use super::{Error, Services};

/// How often the attester looks for new scans.
pub const ATTEST_TICK: Duration = Duration::from_secs(2);

/// The newest scans of a site looked at per tick: scans stored faster than
/// this many per tick are attested from the newest down, never all.
const RECENT_SCANS: usize = 3;

/// What the scan's report measured, as an attestation made now.
pub fn from_report(
    site: &SiteId,
    scan_id: &str,
    report: &Report,
    config_version: Option<consent_core::ConfigVersion>,
    now_ms: u64,
) -> Attestation {
    let mut pages: Vec<String> = report.pages.iter().map(|p| p.url.clone()).collect();
    pages.sort();
    pages.dedup();
    pages.truncate(consent_core::attestation::MAX_LISTED);

    let loader_first = (!report.installation.is_empty()).then(|| {
        report
            .installation
            .iter()
            .all(|c| c.loader.as_ref().is_some_and(|l| l.correct()) && c.before_loader.is_empty())
    });
    let plain = report.installation.iter().flat_map(|c| &c.plain_tags);
    let plain_tracker_tags = Count::of(
        plain.clone().count() as u64,
        plain.map(|t| t.platform.clone().unwrap_or_else(|| t.url.clone())),
    );

    let browser_ran = report.summary.pages_browser > 0;
    // The scanner says how it reached "reject all" on each page, or that it
    // found no banner to reject on: only a reached state was measured.
    let rejected = report.banners.iter().any(|(_, how)| how.starts_with("reject all:"));
    let before_consent = exposure(report, Rule::TrackingBeforeConsent, browser_ran);
    let after_reject = exposure(report, Rule::TrackingAfterReject, browser_ran && rejected);

    let undeclared: Vec<&scanner::finding::Finding> = report
        .findings
        .iter()
        .filter(|f| f.rule == Rule::UndeclaredCookie)
        .collect();
    let undeclared_cookies = Count::of(
        undeclared.len() as u64,
        undeclared
            .iter()
            .flat_map(|f| f.evidence.iter().filter_map(|e| e.cookie.clone()).take(1)),
    );

    Attestation {
        kind: ATTESTATION_TYPE.into(),
        site: site.clone(),
        scan_id: scan_id.to_owned(),
        scanned_at_ms: report.started_at.saturating_mul(1000),
        attested_at_ms: now_ms,
        scanner: format!(
            "{} {} (knowledge base {})",
            report.scanner.name, report.scanner.version, report.scanner.knowledge_base
        ),
        config_version,
        pages,
        loader_first,
        plain_tracker_tags,
        before_consent,
        after_reject,
        undeclared_cookies,
    }
}

/// The tracking the report found in one consent state: requests (counted
/// over every occurrence) with their platforms, and cookies by name.
fn exposure(report: &Report, rule: Rule, measured: bool) -> Exposure {
    let name_of = |id: &str| {
        report
            .platforms
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| id.to_owned(), |p| p.name.clone())
    };
    let findings: Vec<_> = report.findings.iter().filter(|f| f.rule == rule).collect();
    let with_requests: Vec<_> = findings
        .iter()
        .filter(|f| f.evidence.iter().any(|e| e.request.is_some()))
        .collect();
    let cookies: Vec<String> = findings
        .iter()
        .flat_map(|f| f.evidence.iter().filter_map(|e| e.cookie.clone()))
        .collect();
    let mut unique_cookies = cookies.clone();
    unique_cookies.sort();
    unique_cookies.dedup();
    Exposure {
        // Tracking the scanner found in a state was measured there, even
        // without the browser pass (a tag the HTML loads outright).
        measured: measured || !findings.is_empty(),
        tracker_requests: Count::of(
            with_requests.iter().map(|f| f.evidence_total as u64).sum(),
            with_requests
                .iter()
                .map(|f| f.platform.as_deref().map_or_else(|| f.title.clone(), name_of)),
        ),
        cookies: Count::of(unique_cookies.len() as u64, cookies),
    }
}

/// Attests the scan unless it is attested already; the attestation's leaf
/// index, or `None` when the scan is gone or its report cannot be read (a
/// report the server cannot read measured nothing it could vouch for).
pub async fn attest_scan(app: &Services, site: &SiteId, scan_id: &str) -> Result<Option<u64>, Error> {
    if let Some(i) = app.store.attestation_of(site, scan_id).await? {
        return Ok(Some(i));
    }
    let Some(scan) = app.store.scan(site, scan_id).await? else {
        return Ok(None);
    };
    let report: Report = match serde_json::from_slice(&scan.report) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(site = %site, scan = scan_id, error = %e, "not attested: the report does not parse");
            return Ok(None);
        }
    };
    let version = app.store.site(site).await?.map(|s| s.current_version);
    let attestation = from_report(site, scan_id, &report, version, crate::clock::now_ms());
    let (index, new) = app
        .store
        .attest(
            site,
            scan_id,
            attestation.attested_at_ms,
            &attestation.canonical_bytes(),
        )
        .await?;
    if new {
        tracing::info!(site = %site, scan = scan_id, index, verdict = ?attestation.verdict(), "scan attested");
    }
    Ok(Some(index))
}

/// Attests the newest scans of every site that has a scan newer than the
/// last one seen (`seen`: site -> newest scan id attested).
pub async fn attest_new_scans(app: &Services, seen: &mut HashMap<SiteId, String>) -> Result<(), Error> {
    for site in app.store.sites().await? {
        let recent = app
            .store
            .scans(
                &site.id,
                &ScanQuery {
                    before: None,
                    limit: RECENT_SCANS,
                },
            )
            .await?;
        let Some(newest) = recent.first() else { continue };
        if seen.get(&site.id) == Some(&newest.id) {
            continue;
        }
        // Oldest first, so the log's order follows the scans'.
        for scan in recent.iter().rev() {
            attest_scan(app, &site.id, &scan.id).await?;
        }
        seen.insert(site.id.clone(), newest.id.clone());
    }
    Ok(())
}

/// Runs [`attest_new_scans`] every [`ATTEST_TICK`] while the server runs
/// (and the log with it: without a log there is nothing to attest into).
pub fn spawn_attester(app: Arc<Services>) {
    if app.log.inner().is_none() {
        return;
    }
    let app: Weak<Services> = Arc::downgrade(&app);
    tokio::spawn(async move {
        let mut seen = HashMap::new();
        let mut tick = tokio::time::interval(ATTEST_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(app) = app.upgrade() else { return };
            if let Err(e) = attest_new_scans(&app, &mut seen).await {
                tracing::warn!(error = %e, "attesting scans: retrying");
            }
        }
    });
}

/// A site's latest attestation, with its proof once a checkpoint covers it.
pub struct Sealed {
    pub attestation: Attestation,
    pub index: u64,
    /// Whether a checkpoint covers its leaf yet.
    pub checkpointed: bool,
    /// The attestation's proof bundle (`keurmerk-verify attestation`
    /// checks it), when asked for and once a checkpoint covers its leaf.
    pub bundle: Option<consent_core::tlog_proof::ProofBundle>,
}

/// The site's latest attestation, if it has one; with its proof bundle
/// when `with_proof` (the page and the badge, read on every view of a site
/// that embeds it, only need to know whether a proof exists: no tile reads).
pub async fn latest(app: &Services, site: &SiteId, with_proof: bool) -> Result<Option<Sealed>, Error> {
    let Some((index, leaf)) = app.store.attestations(site, 1).await?.pop() else {
        return Ok(None);
    };
    let attestation = Attestation::from_canonical_bytes(&leaf)
        .map_err(|e| Error::from(consent_core::store::StoreError::corrupt(e)))?;
    let (mut checkpointed, mut bundle) = (false, None);
    if let Some(log) = app.log.inner()
        && let Some((size, note)) = log.checkpoint().await?
        && index < size
    {
        checkpointed = true;
        if with_proof {
            let proof = consent_core::tlog_proof::TlogProof {
                extra: None,
                index,
                path: log.inclusion(index, size).await?,
                checkpoint: note,
            };
            bundle = Some(consent_core::tlog_proof::ProofBundle::new(&leaf, &proof));
        }
    }
    Ok(Some(Sealed {
        attestation,
        index,
        checkpointed,
        bundle,
    }))
}
