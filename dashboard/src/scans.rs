//! Scans: a site's uploaded scans and its scan jobs ("Scan now"), and one
//! scan's findings, with a "Declare it" form for each undeclared cookie.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::SiteId;
use consent_core::store::{ScanMeta, ScanQuery, Store};
use serde_json::Value;

use crate::host::{QueueOutcome, ScanAlert, ScanJobs};
use crate::i18n::Texts;
use crate::page::{self, Frame, Message, Problem, Utc};
use crate::session::{CsrfForm, LoggedIn, NoFields};
use crate::{BASE, St, sites};

/// Severities, most severe first, as scan reports name them.
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

#[derive(Template)]
#[template(path = "scans.html")]
struct ScansPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    /// At most 20, newest first.
    jobs: ScanJobs,
    scans: Vec<ScanRow>,
    /// The schedule (`off`/`daily`/`weekly`) and the next scheduled scan;
    /// `None` without a scan queue.
    schedule: Option<(String, Option<Utc>)>,
    /// New findings of scheduled scans, until dismissed.
    alerts: Vec<ScanAlert>,
}

/// A schedule's choices, as the form offers them.
const EVERY: [&str; 3] = ["off", "daily", "weekly"];

/// A scan as the list shows it: its findings counted by severity.
struct ScanRow {
    meta: ScanMeta,
    counts: Vec<(&'static str, u64)>,
}

impl From<ScanMeta> for ScanRow {
    fn from(meta: ScanMeta) -> Self {
        let counts = SEVERITIES
            .into_iter()
            .filter_map(|sev| meta.counts.get(sev).map(|n| (sev, *n)))
            .collect();
        ScanRow { meta, counts }
    }
}

/// `GET /sites/{site}/scans`: scan jobs (a running one with its pass and
/// pages done of total), "Scan now", stored scans. Reloads itself while a
/// job is queued or running, to show its progress and outcome unasked and
/// without JavaScript.
pub async fn list<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &site).await?;
        let query = ScanQuery {
            before: None,
            limit: 100,
        };
        let scans = dash.store.scans(&site.id, &query).await?;
        Ok::<_, Problem>((site.id, scans))
    };
    let (id, scans) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let mut jobs = dash.host.scan_jobs(id.clone()).await;
    let in_progress = matches!(&jobs, ScanJobs::Jobs(jobs)
        if jobs.iter().any(|j| matches!(j.status.as_str(), "queued" | "running")));
    if let ScanJobs::Jobs(jobs) = &mut jobs {
        jobs.truncate(20);
    }
    let mut frame = me.frame(me.t.scans).about(id.as_str());
    if in_progress {
        frame = frame.refreshing(5);
    }
    let schedule = dash
        .host
        .scan_schedule(id.clone())
        .await
        .map(|(every, next)| (every, next.map(Utc)));
    let alerts = dash.host.scan_alerts(id.clone()).await;
    let page = ScansPage {
        t: me.t,
        frame,
        site: id.as_str(),
        csrf: &me.session.csrf,
        jobs,
        scans: scans.into_iter().map(ScanRow::from).collect(),
        schedule,
        alerts,
    };
    page::render(StatusCode::OK, &page)
}

/// The schedule form's field.
#[derive(serde::Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    every: String,
}

/// `POST /sites/{site}/scan-schedule`: sets how often the site is scanned
/// by itself, then back to the scans page.
pub async fn set_schedule<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<ScheduleForm>,
) -> Response {
    let site = match sites::find(&dash.store, &site).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    match dash.host.set_scan_schedule(site.id.clone(), form.every).await {
        QueueOutcome::Queued(_) => Redirect::to(&format!("{BASE}/sites/{}/scans", site.id)).into_response(),
        QueueOutcome::NotConfigured => me.problem(Problem::QueueOff),
        QueueOutcome::Unavailable => me.problem(Problem::QueueDown),
        QueueOutcome::Invalid(why) => {
            let page = Message {
                t: me.t,
                frame: me.frame(me.t.schedule),
                text: &why,
            };
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// `POST /sites/{site}/scan-alerts/{scan}/dismiss`: hides an alert, then
/// back to the scans page.
pub async fn dismiss_alert<S: Store>(
    State(dash): St<S>,
    Path((site, scan)): Path<(String, String)>,
    CsrfForm { me, .. }: CsrfForm<NoFields>,
) -> Response {
    let site = match sites::find(&dash.store, &site).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    match dash.host.dismiss_scan_alert(site.id.clone(), scan).await {
        true => Redirect::to(&format!("{BASE}/sites/{}/scans", site.id)).into_response(),
        false => me.problem(Problem::NotFound),
    }
}

/// `POST /sites/{site}/scan-jobs` ("Scan now"): queues a scan, then back to
/// the scans page.
pub async fn scan_now<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, .. }: CsrfForm<NoFields>,
) -> Response {
    let site = match sites::find(&dash.store, &site).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    match dash.host.queue_scan(site.id.clone()).await {
        QueueOutcome::Queued(_) => Redirect::to(&format!("{BASE}/sites/{}/scans", site.id)).into_response(),
        QueueOutcome::NotConfigured => me.problem(Problem::QueueOff),
        QueueOutcome::Unavailable => me.problem(Problem::QueueDown),
        QueueOutcome::Invalid(why) => {
            let page = Message {
                t: me.t,
                frame: me.frame(me.t.scan_now),
                text: &why,
            };
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "scan.html")]
struct ScanPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    url: &'a str,
    time_ms: u64,
    findings: Vec<Finding>,
}

/// A finding of a scan report, as the page shows it. Reports are read
/// leniently: a missing or odd field shows as empty.
#[derive(Debug, PartialEq)]
struct Finding {
    severity: String,
    /// `severity` when it is a known one, else `info`: the CSS class.
    severity_class: &'static str,
    platform: String,
    title: String,
    remedy: String,
    /// Per piece of evidence, its non-empty fields.
    evidence: Vec<Vec<(&'static str, String)>>,
    /// Cookies the report found undeclared, each offered to declare.
    undeclared: Vec<String>,
}

impl Finding {
    fn from_report(f: &Value) -> Self {
        let evidence = f
            .get("evidence")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let severity = str_of(f, "severity");
        let undeclared = if str_of(f, "rule") == "undeclared-cookie" {
            evidence
                .iter()
                .take(10)
                .map(|e| str_of(e, "cookie"))
                .filter(|name| !name.is_empty())
                .collect()
        } else {
            Vec::new()
        };
        Finding {
            severity_class: SEVERITIES.into_iter().find(|s| *s == severity).unwrap_or("info"),
            severity,
            platform: str_of(f, "platform"),
            title: str_of(f, "title"),
            remedy: str_of(f, "remedy"),
            evidence: evidence
                .iter()
                .take(10)
                .map(|e| {
                    ["page", "state", "request", "cookie", "script", "note"]
                        .into_iter()
                        .map(|k| (k, str_of(e, k)))
                        .filter(|(_, v)| !v.is_empty())
                        .collect()
                })
                .collect(),
            undeclared,
        }
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// The first 1000 findings of a stored report; `None` if it is not JSON.
fn findings(report: &[u8]) -> Option<Vec<Finding>> {
    let report: Value = serde_json::from_slice(report).ok()?;
    let findings = report.get("findings").and_then(Value::as_array);
    Some(
        findings
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .take(1000)
            .map(Finding::from_report)
            .collect(),
    )
}

/// `GET /sites/{site}/scans/{id}`: a scan's findings.
pub async fn show<S: Store>(State(dash): St<S>, me: LoggedIn, Path((site, scan)): Path<(String, String)>) -> Response {
    let Ok(id) = SiteId::parse(&site) else {
        return me.problem(Problem::NotFound);
    };
    let stored = match dash.store.scan(&id, &scan).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return me.problem(Problem::NotFound),
        Err(e) => return me.problem(e.into()),
    };
    let Some(findings) = findings(&stored.report) else {
        return me.problem(Problem::BadReport);
    };
    let page = ScanPage {
        t: me.t,
        frame: me.frame(me.t.findings).about(id.as_str()),
        site: id.as_str(),
        csrf: &me.session.csrf,
        url: &stored.meta.url,
        time_ms: stored.meta.time_ms,
        findings,
    };
    page::render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use consent_core::store::Session;
    use serde_json::json;

    use super::*;
    use crate::host::ScanJob;
    use crate::i18n::Lang;

    fn job(status: &str, scan_id: Option<&str>, error: Option<&str>) -> ScanJob {
        ScanJob {
            id: "j".into(),
            url: "https://shop.example.nl/".into(),
            status: status.into(),
            stage: status.into(),
            pages_done: 0,
            pages_total: 0,
            attempts: 1,
            note: None,
            created_ms: 0,
            scan_id: scan_id.map(Into::into),
            error: error.map(Into::into),
        }
    }

    fn scans_page(jobs: ScanJobs, refresh: bool) -> String {
        let session = Session {
            username: "admin".into(),
            csrf: "tok".into(),
            expires_ms: 0,
        };
        let t = Lang::En.texts();
        let mut frame = Frame::new(Some(&session), t.scans).about("shop");
        if refresh {
            frame = frame.refreshing(5);
        }
        let meta = ScanMeta {
            id: "s1".into(),
            site: SiteId::parse("shop").unwrap(),
            time_ms: 0,
            url: r#"https://x.example/"><img src=x>"#.into(),
            counts: [("medium".to_owned(), 1), ("critical".to_owned(), 2)].into(),
        };
        let page = ScansPage {
            t,
            frame,
            site: "shop",
            csrf: "tok",
            jobs,
            scans: vec![ScanRow::from(meta)],
            schedule: Some(("weekly".into(), Some(Utc(0)))),
            alerts: vec![ScanAlert {
                scan_id: "s1".into(),
                created_ms: 0,
                new_findings: vec![crate::host::NewFinding {
                    platform: "meta-pixel".into(),
                    rule: "tracking-before-consent".into(),
                    state: "after_reject".into(),
                    severity: "high".into(),
                    title: "<Meta> after reject".into(),
                }],
            }],
        };
        page.render().unwrap()
    }

    #[test]
    fn scans_page_lists_jobs_and_scans() {
        let running = ScanJob {
            stage: "static_pass".into(),
            pages_done: 3,
            pages_total: 12,
            attempts: 2,
            note: Some("static pass only: <no Chromium>".into()),
            ..job("running", None, None)
        };
        let jobs = vec![
            job("queued", None, None),
            running,
            job("done", Some("s1"), None),
            job("failed", None, Some("<timeout>")),
        ];
        let html = scans_page(ScanJobs::Jobs(jobs), true);
        for part in [
            r#"<meta http-equiv="refresh" content="5">"#,
            r#"<title>Scans · shop · Keurmerk</title>"#,
            r#"action="/dashboard/sites/shop/scan-jobs"><input type="hidden" name="csrf" value="tok">"#,
            r#"<td class="job-queued">Queued</td>"#,
            r#"<td class="job-running">Running: <span class="job-stage">static pass</span>, 3/12 pages <progress value="3" max="12">3/12</progress> (attempt 2)<br><small class="job-note">static pass only: &lt;no Chromium&gt;</small></td>"#,
            r#"<td class="job-done"><a href="/dashboard/sites/shop/scans/s1">Done</a></td>"#,
            r#"<td class="job-failed">Failed: &lt;timeout&gt;</td>"#,
            r#"<code>https://x.example/&quot;&gt;&lt;img src=x&gt;</code>"#,
            r#"<span class="sev-critical">critical: 2</span> <span class="sev-medium">medium: 1</span></td>"#,
            r#"<option value="weekly" selected>Weekly</option>"#,
            r#"action="/dashboard/sites/shop/scan-schedule"><input type="hidden" name="csrf" value="tok">"#,
            r#"<li><span class="sev-high">high</span> meta-pixel · tracking-before-consent · after_reject: &lt;Meta&gt; after reject</li>"#,
            r#"action="/dashboard/sites/shop/scan-alerts/s1/dismiss"><input type="hidden" name="csrf" value="tok">"#,
        ] {
            assert!(html.contains(part), "{part} in {html}");
        }
    }

    #[test]
    fn scans_page_without_a_queue_offers_no_form() {
        let html = scans_page(ScanJobs::NotConfigured, false);
        assert!(html.contains("Scan queue not configured"), "{html}");
        assert!(!html.contains("/scan-jobs\""), "{html}");
        assert!(!html.contains("http-equiv"), "{html}");
        let html = scans_page(ScanJobs::Unavailable, false);
        assert!(html.contains("The scan queue is unavailable") && html.contains("/scan-jobs\""));
    }

    #[test]
    fn reads_findings_leniently() {
        let report = json!({"findings": [
            {"rule": "undeclared-cookie", "severity": "medium", "title": "T", "platform": "meta-pixel",
             "remedy": "R", "evidence": [{"cookie": "_fbp", "note": "n", "page": 3}, {"cookie": ""}]},
            {"severity": "apocalyptic", "evidence": "not a list"},
        ]});
        let found = findings(report.to_string().as_bytes()).unwrap();
        assert_eq!(found[0].severity_class, "medium");
        assert_eq!(
            found[0].evidence,
            vec![vec![("cookie", "_fbp".to_owned()), ("note", "n".to_owned())], vec![]]
        );
        assert_eq!(found[0].undeclared, vec!["_fbp".to_owned()]);
        assert_eq!(found[1].severity, "apocalyptic");
        assert_eq!(found[1].severity_class, "info");
        assert!(found[1].evidence.is_empty() && found[1].undeclared.is_empty());
        assert_eq!(findings(b"{}").unwrap(), vec![]);
        assert!(findings(b"not json").is_none());
    }
}
