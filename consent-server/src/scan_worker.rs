//! The server's own scan workers, for the embedded queue (no Redis): with
//! `--scan-workers N` (default 1) the server runs N scans at once with the
//! scanner crate as a library, so "Scan now" works on a default install.
//!
//! Each worker is an OS thread with a single-threaded async runtime of its
//! own: a scan parses HTML and runs the detectors on the CPU for long
//! stretches, and on the request runtime (one thread by default) it would
//! hold up every request meanwhile. Chromium is a child process, as with
//! `consent-scan`. The SSRF guard stays on unless
//! `--scan-allow-private-targets`.
//!
//! A worker leases a job ([`EmbeddedQueue::next`]), renews the lease with
//! its progress while it scans, and stores the report and marks the job
//! done in one step, only if its lease still holds. A worker that loses its
//! lease (it stalled longer than the lease) drops its scan: another worker
//! has the job.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consent_core::SiteId;
use consent_core::scan_job::ScanStage;
use consent_core::store::{MAX_SCAN_BYTES, ScanMeta};
use scanner::ScanConfig;
use scanner::browser::BrowserOptions;
use scanner::signature::KnowledgeBase;
use scanner::worker::Progress;

use crate::scan_queue::embedded::{EmbeddedQueue, LeasedJob};
use crate::scan_queue::{bounded_reason, invalid_report, now_ms, scan_id_for};
use crate::settings::Settings;
use crate::storage::sqlite::Finish;

/// How often an idle worker looks for a job whose lease ran out (queued
/// jobs wake it at once).
const IDLE_LOOK: Duration = Duration::from_secs(1);
/// How often a running scan's progress is recorded at most.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The scan defaults for every job (a job may lower its pages, depth and
/// browser pages): `consent-scan`'s defaults, the server's Chromium and
/// private-target setting.
pub fn template(settings: &Settings) -> ScanConfig {
    ScanConfig {
        site: url::Url::parse("http://placeholder.invalid/").expect("a URL"),
        crawl: scanner::crawl::CrawlOptions::default(),
        limits: scanner::fetch::Limits::default(),
        browser: Some(BrowserOptions {
            chromium: settings.scan_chromium.clone(),
            ..BrowserOptions::default()
        }),
        canary: scanner::pii::CanaryIdentity::default(),
        allow_private_targets: settings.scan_allow_private_targets,
    }
}

/// Starts `settings.scan_workers` workers on `queue`.
pub fn start(queue: &EmbeddedQueue, settings: &Settings) -> std::io::Result<()> {
    let template = Arc::new(template(settings));
    let kb = Arc::new(KnowledgeBase::builtin());
    if settings.scan_workers > 0 {
        if let Some(note) = scanner::worker::without_missing_browser(&mut (*template).clone()) {
            tracing::warn!("scan workers: {note}");
        }
        tracing::info!(
            workers = settings.scan_workers,
            allow_private_targets = settings.scan_allow_private_targets,
            "scan workers started (embedded queue)"
        );
    }
    for n in 0..settings.scan_workers {
        let (queue, template, kb) = (queue.clone(), template.clone(), kb.clone());
        let name = format!("{}-{n}", queue.instance());
        std::thread::Builder::new()
            .name(format!("scan-worker-{n}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "scan worker: no runtime; not started");
                        return;
                    }
                };
                runtime.block_on(work(&queue, &name, &template, &kb));
            })?;
    }
    Ok(())
}

/// Takes and runs jobs for as long as the server runs.
async fn work(queue: &EmbeddedQueue, name: &str, template: &ScanConfig, kb: &KnowledgeBase) {
    loop {
        match queue.next(name).await {
            Ok(Some(job)) => {
                // A panic in a scan (a scanner bug some page triggers) must
                // not end the worker: with one worker, scanning would stop
                // for good. The job fails with a reason instead (retrying
                // would likely panic again).
                let leased = job.clone();
                let run = std::panic::AssertUnwindSafe(run_job(queue, job, template, kb));
                if futures_util::FutureExt::catch_unwind(run).await.is_err() {
                    tracing::error!(job = %leased.id, "scan worker: the scan panicked; job failed");
                    let reason = "the scan stopped on an internal error (a scanner bug); see the server log".to_owned();
                    complete(queue, &leased, Err(reason), None).await;
                }
            }
            Ok(None) => queue.wait(IDLE_LOOK).await,
            Err(e) => {
                tracing::warn!(error = %e, "scan worker: the queue is unavailable; retrying");
                tokio::time::sleep(IDLE_LOOK).await;
            }
        }
    }
}

/// Runs one leased job to its end (or until its lease is lost).
pub async fn run_job(queue: &EmbeddedQueue, job: LeasedJob, template: &ScanConfig, kb: &KnowledgeBase) {
    let prepared = match scanner::worker::prepare(&job.job, template) {
        Ok(p) => p,
        Err((_, reason)) => {
            complete(queue, &job, Err(reason), None).await;
            return;
        }
    };
    tracing::info!(job = %job.id, site = %job.site, url = %prepared.job.url, attempt = job.lease.attempt, "scanning");
    let progress = Mutex::new(Progress::default());
    let outcome = tokio::select! {
        r = scanner::worker::run(&prepared, kb, &progress) => r,
        () = keep_lease(queue, &job, &progress, prepared.note.clone()) => {
            tracing::warn!(job = %job.id, "scan worker: lease lost; another worker has the job");
            return;
        }
    };
    if let Ok(false) = queue.renew(&job, ScanStage::Storing, 0, 0, None).await {
        return;
    }
    complete(queue, &job, outcome, prepared.note).await;
}

/// A scheduled scan just stored: keeps an alert for its findings the
/// site's previous scan did not have. Best effort: a failure here is
/// logged, and the scan stays stored.
async fn raise_alert(queue: &EmbeddedQueue, job: &LeasedJob) {
    let Ok(site) = SiteId::parse(&job.site) else { return };
    let scan_id = match queue.store().scan_job(site.as_str(), &job.id).await {
        Ok(Some(row)) => row.scan_id,
        _ => None,
    };
    let Some(scan_id) = scan_id else { return };
    let alert = crate::scan_queue::schedule::new_findings(queue.store(), &site, &scan_id, now_ms()).await;
    let saved = match alert {
        Ok(Some(alert)) => queue.save_alert(&site, &alert).await.map_err(|e| e.to_string()),
        Ok(None) => Ok(()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = saved {
        tracing::warn!(job = %job.id, error = %e, "scan alert not raised");
    }
}

/// Ends a leased job with a scan's outcome (the report's JSON, or why there
/// is none): stores a valid report as the job's scan, fails the job
/// otherwise. Returns whether the outcome was recorded (not when the lease
/// was lost). A stored report of a scheduled job may raise an alert. This
/// is the embedded queue's side of the worker contract, the counterpart of
/// a Redis worker's result.
pub async fn complete(
    queue: &EmbeddedQueue,
    job: &LeasedJob,
    outcome: Result<String, String>,
    note: Option<String>,
) -> bool {
    let finish_with = match outcome {
        Ok(report) => stored(job, report.into_bytes(), note),
        Err(reason) => Finish::Failed {
            reason: bounded_reason(reason),
            note,
        },
    };
    let stored = matches!(finish_with, Finish::Stored { .. });
    let recorded = finish(queue, job, finish_with).await;
    if recorded && stored && job.scheduled {
        raise_alert(queue, job).await;
    }
    recorded
}

/// The report as the job's stored scan, or why it cannot be stored.
fn stored(job: &LeasedJob, report: Vec<u8>, note: Option<String>) -> Finish {
    if report.len() > MAX_SCAN_BYTES {
        let reason = format!("the report is larger than {MAX_SCAN_BYTES} bytes");
        return Finish::Failed { reason, note };
    }
    let site = match SiteId::parse(&job.site) {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("the job's site is invalid: {e}");
            return Finish::Failed { reason, note };
        }
    };
    let (url, counts) = match crate::service::scan::summarise(&report) {
        Ok(x) => x,
        Err(e) => {
            let reason = bounded_reason(invalid_report(e));
            return Finish::Failed { reason, note };
        }
    };
    let time_ms = now_ms();
    Finish::Stored {
        meta: ScanMeta {
            id: scan_id_for(&job.id, time_ms),
            site,
            time_ms,
            url,
            counts,
        },
        report,
        note,
    }
}

/// Records the outcome; storage being down is retried (the lease still
/// holds meanwhile, and if it runs out the job is scanned again).
async fn finish(queue: &EmbeddedQueue, job: &LeasedJob, outcome: Finish) -> bool {
    let started = Instant::now();
    loop {
        match queue.finish(job, outcome.clone()).await {
            Ok(true) => {
                tracing::info!(job = %job.id, "scan job finished");
                return true;
            }
            Ok(false) => {
                tracing::warn!(job = %job.id, "scan worker: lease lost before storing; not stored");
                return false;
            }
            Err(e) if started.elapsed() < queue.lease() => {
                tracing::warn!(job = %job.id, error = %e, "scan worker: storing the outcome; retrying");
                tokio::time::sleep(IDLE_LOOK).await;
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "scan worker: outcome not stored; the job will run again");
                return false;
            }
        }
    }
}

/// Renews the lease (every third of it) and records progress (at most
/// every [`PROGRESS_EVERY`], when it changed) while the scan runs; returns
/// only once the lease is lost.
async fn keep_lease(queue: &EmbeddedQueue, job: &LeasedJob, progress: &Mutex<Progress>, note: Option<String>) {
    let renew_every = queue.lease() / 3;
    let mut last: Option<(Progress, Instant)> = None;
    let mut note = note;
    loop {
        let now = progress.lock().map(|p| p.clone()).unwrap_or_default();
        let due = match &last {
            None => true,
            Some((p, at)) => *p != now || at.elapsed() >= renew_every,
        };
        if due {
            match queue.renew(job, now.stage, now.done, now.total, note.take()).await {
                Ok(true) => last = Some((now, Instant::now())),
                Ok(false) => return,
                Err(e) => tracing::warn!(job = %job.id, error = %e, "scan worker: renewing the lease"),
            }
        }
        tokio::time::sleep(PROGRESS_EVERY.min(renew_every)).await;
    }
}
