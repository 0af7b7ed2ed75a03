//! Scans: a site's uploaded scans and its scan jobs ("Scan now"), and one
//! scan's findings: the report's verdict, one row per finding with the
//! consent states it was seen in, and per finding its remedy, one example
//! decoded, the raw evidence behind a disclosure, its triage (fixed, or
//! ignored with a reason, kept across scans by fingerprint), a link to
//! share it and "Declare it" for an undeclared cookie. Two scans compared
//! by fingerprint; a scan's findings as CSV. Every report is redacted
//! before it is shown ([`consent_core::redact`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::SiteId;
use consent_core::account::Permission;
use consent_core::export::csv_cell;
use consent_core::store::{ScanMeta, ScanQuery, Store, StoreError, StoredScan, Triage, TriageStatus};
use serde_json::Value;

use crate::host::{QueueOutcome, ScanAlert, ScanJobs};
use crate::i18n::Texts;
use crate::page::{self, Frame, Message, Problem, Utc, now_ms};
use crate::session::{CsrfForm, LoggedIn, NoFields};
use crate::{BASE, Dash, St, sites};

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
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
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
    let site = match sites::find(&dash.store, &me, &site, Permission::Scan).await {
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
    let site = match sites::find(&dash.store, &me, &site, Permission::Scan).await {
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
    let site = match sites::find(&dash.store, &me, &site, Permission::Scan).await {
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
    scan_id: &'a str,
    url: &'a str,
    time_ms: u64,
    verdict: Option<VerdictView>,
    /// The consent-state columns: (state id, heading).
    columns: Vec<(&'static str, &'static str)>,
    findings: Vec<Finding>,
    /// The next older scan, to compare with.
    previous: Option<String>,
}

/// The consent states a finding may be seen in, as reports name them,
/// with their column headings.
fn state_columns(t: &'static Texts, findings: &[Finding]) -> Vec<(&'static str, &'static str)> {
    let mut cols = vec![
        ("before-consent", t.state_before),
        ("after-reject", t.state_reject),
        ("after-accept", t.state_accept),
    ];
    if findings.iter().any(|f| f.states.iter().any(|s| s == "with-gpc")) {
        cols.push(("with-gpc", t.state_gpc));
    }
    cols
}

/// A report's verdict, as the page shows it.
#[derive(Debug, Default, PartialEq)]
struct VerdictView {
    headline: String,
    /// `found`, `partly`, `not-found`, `not-checked`.
    banner: String,
    before_consent: Vec<String>,
    after_reject: Vec<String>,
    despite_gpc: Vec<String>,
    /// (to, kinds).
    personal_data: Vec<(String, String)>,
    undeclared: Vec<String>,
}

impl VerdictView {
    fn from_report(v: &Value) -> Option<Self> {
        let v = v.get("verdict")?.as_object()?;
        let list = |key: &str| -> Vec<String> {
            v.get(key)
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter_map(Value::as_str)
                .take(50)
                .map(str::to_owned)
                .collect()
        };
        let personal_data = v
            .get("personal_data")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .take(50)
            .map(|p| {
                let kinds: Vec<&str> = p
                    .get("kinds")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                (str_of(p, "to"), kinds.join(", "))
            })
            .collect();
        let undeclared = v.get("undeclared").map_or_else(Vec::new, |u| {
            ["services", "cookies", "storage"]
                .into_iter()
                .flat_map(|k| u.get(k).and_then(Value::as_array).cloned().unwrap_or_default())
                .filter_map(|x| x.as_str().map(str::to_owned))
                .take(150)
                .collect()
        });
        Some(VerdictView {
            headline: v.get("headline").and_then(Value::as_str).unwrap_or("").to_owned(),
            banner: v.get("banner").and_then(Value::as_str).unwrap_or("").to_owned(),
            before_consent: list("before_consent"),
            after_reject: list("after_reject"),
            despite_gpc: list("despite_gpc"),
            personal_data,
            undeclared,
        })
    }
}

/// A finding of a scan report, as the page shows it. Reports are read
/// leniently: a missing or odd field shows as empty; findings of reports
/// from before fingerprints, states and examples get them worked out from
/// their rule, platform and evidence.
#[derive(Debug, PartialEq)]
struct Finding {
    fingerprint: String,
    rule: String,
    severity: String,
    /// `severity` when it is a known one, else `info`: the CSS class.
    severity_class: &'static str,
    platform: String,
    /// The platform's name, else its id.
    platform_name: String,
    title: String,
    remedy: String,
    /// Consent states it was seen in (`before-consent`, …).
    states: Vec<String>,
    pages: usize,
    count: u64,
    example: Option<Example>,
    /// Per piece of evidence, its non-empty fields.
    evidence: Vec<Vec<(&'static str, String)>>,
    /// Cookies the report found undeclared, each offered to declare.
    undeclared: Vec<String>,
    triage: Option<Triage>,
    /// Marked fixed on another scan, yet found in this one.
    found_again: bool,
}

/// One example request, decoded.
#[derive(Debug, PartialEq)]
struct Example {
    page: String,
    state: String,
    /// (key, value, layers it was inside).
    params: Vec<(String, String, String)>,
    /// (kind, parameter, value as redacted).
    personal_data: Vec<(String, String, String)>,
    request: String,
}

impl Example {
    fn from_report(e: &Value) -> Self {
        let array = |k: &str| e.get(k).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        Example {
            page: str_of(e, "page"),
            state: str_of(e, "state"),
            params: array("params")
                .iter()
                .take(40)
                .map(|p| {
                    let via: Vec<&str> = p
                        .get("via")
                        .and_then(Value::as_array)
                        .map_or(&[][..], Vec::as_slice)
                        .iter()
                        .filter_map(Value::as_str)
                        .collect();
                    (str_of(p, "key"), str_of(p, "value"), via.join(", "))
                })
                .collect(),
            personal_data: array("personal_data")
                .iter()
                .take(20)
                .map(|h| {
                    (
                        consent_core::redact::kind(&str_of(h, "field"), &str_of(h, "encoding")),
                        str_of(h, "param"),
                        str_of(h, "value"),
                    )
                })
                .collect(),
            request: str_of(e, "request"),
        }
    }
}

impl Finding {
    fn from_report(f: &Value) -> Self {
        let evidence = f
            .get("evidence")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let severity = str_of(f, "severity");
        let rule = str_of(f, "rule");
        let platform = str_of(f, "platform");
        let title = str_of(f, "title");
        let undeclared = if rule == "undeclared-cookie" {
            let mut names: Vec<String> = evidence
                .iter()
                .take(10)
                .map(|e| str_of(e, "cookie"))
                .map(|c| c.split(" on ").next().unwrap_or("").to_owned())
                .filter(|name| !name.is_empty())
                .collect();
            names.dedup();
            names
        } else {
            Vec::new()
        };
        let fingerprint = match f.get("fingerprint").and_then(Value::as_str) {
            Some(fp) if valid_fingerprint(fp) => fp.to_owned(),
            _ => consent_core::store::finding_fingerprint(&rule, if platform.is_empty() { &title } else { &platform }),
        };
        let mut states: Vec<String> = match f.get("states").and_then(Value::as_array) {
            Some(states) => states.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            None => evidence
                .iter()
                .map(|e| str_of(e, "state"))
                .filter(|s| !s.is_empty())
                .collect(),
        };
        states.sort();
        states.dedup();
        let pages = match f.get("pages").and_then(Value::as_array) {
            Some(pages) => pages.len(),
            None => {
                let mut pages: Vec<String> = evidence
                    .iter()
                    .map(|e| str_of(e, "page"))
                    .filter(|p| !p.is_empty())
                    .collect();
                pages.sort();
                pages.dedup();
                pages.len()
            }
        };
        let count = f
            .get("count")
            .and_then(Value::as_u64)
            .or_else(|| f.get("evidence_total").and_then(Value::as_u64))
            .unwrap_or(evidence.len() as u64);
        let example = f
            .get("example")
            .filter(|e| e.is_object())
            .or_else(|| evidence.first())
            .map(Example::from_report);
        Finding {
            fingerprint,
            severity_class: SEVERITIES.into_iter().find(|s| *s == severity).unwrap_or("info"),
            severity,
            rule,
            platform_name: f
                .get("platform_name")
                .and_then(Value::as_str)
                .map_or_else(|| platform.clone(), str::to_owned),
            platform,
            title,
            remedy: str_of(f, "remedy"),
            states,
            pages,
            count,
            example,
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
            triage: None,
            found_again: false,
        }
    }

    fn seen(&self, state: &str) -> bool {
        self.states.iter().any(|s| s == state)
    }
}

/// Fingerprints are short and URL-safe: at most 64 of `[0-9a-z-]`.
fn valid_fingerprint(fp: &str) -> bool {
    !fp.is_empty()
        && fp.len() <= 64
        && fp
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-')
}

fn str_of(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// A stored report, redacted ([`consent_core::redact`]: reports of older
/// scanners were not), or `None` if it is not JSON.
fn parse(report: &[u8]) -> Option<Value> {
    let mut report: Value = serde_json::from_slice(report).ok()?;
    consent_core::redact::report(&mut report);
    Some(report)
}

/// The first 1000 findings of a parsed report.
fn findings_of(report: &Value) -> Vec<Finding> {
    let findings = report.get("findings").and_then(Value::as_array);
    findings
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .take(1000)
        .map(Finding::from_report)
        .collect()
}

/// The first 1000 findings of a stored report; `None` if it is not JSON.
#[cfg(test)]
fn findings(report: &[u8]) -> Option<Vec<Finding>> {
    parse(report).map(|r| findings_of(&r))
}

/// Each finding with the site's triage of its fingerprint.
fn with_triage(findings: &mut [Finding], triage: &[Triage], scan_id: &str) {
    for f in findings {
        f.triage = triage.iter().find(|t| t.fingerprint == f.fingerprint).cloned();
        f.found_again = f
            .triage
            .as_ref()
            .is_some_and(|t| t.status == TriageStatus::Fixed && t.scan_id != scan_id);
    }
}

/// A site's scan and its findings with their triage.
async fn load<S: Store>(
    dash: &Dash<S>,
    me: &LoggedIn,
    site: &str,
    scan: &str,
) -> Result<(SiteId, StoredScan, Value, Vec<Finding>), Problem> {
    let id = sites::find(&dash.store, me, site, Permission::View).await?.id;
    let stored = dash.store.scan(&id, scan).await?.ok_or(Problem::NotFound)?;
    let report = parse(&stored.report).ok_or(Problem::BadReport)?;
    let mut findings = findings_of(&report);
    let triage = dash.store.triage(&id).await?;
    with_triage(&mut findings, &triage, &stored.meta.id);
    Ok((id, stored, report, findings))
}

/// `GET /sites/{site}/scans/{id}`: the verdict, then a scan's findings
/// (one row each, states as columns), each with its triage, remedy,
/// example and raw evidence.
pub async fn show<S: Store>(State(dash): St<S>, me: LoggedIn, Path((site, scan)): Path<(String, String)>) -> Response {
    let (id, stored, report, findings) = match load(&dash, &me, &site, &scan).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let older = ScanQuery {
        before: Some(stored.meta.id.clone()),
        limit: 1,
    };
    let previous = match dash.store.scans(&id, &older).await {
        Ok(scans) => scans.into_iter().next().map(|m| m.id),
        Err(e) => return me.problem(e.into()),
    };
    let page = ScanPage {
        t: me.t,
        frame: me.frame(me.t.findings).about(id.as_str()),
        site: id.as_str(),
        csrf: &me.session.csrf,
        scan_id: &stored.meta.id,
        url: &stored.meta.url,
        time_ms: stored.meta.time_ms,
        verdict: VerdictView::from_report(&report),
        columns: state_columns(me.t, &findings),
        findings,
        previous,
    };
    page::render(StatusCode::OK, &page)
}

/// `GET /sites/{site}/scans/{id}/findings.csv`: one row per finding, with
/// its triage (RFC 4180, cells by [`csv_cell`]).
pub async fn csv<S: Store>(State(dash): St<S>, me: LoggedIn, Path((site, scan)): Path<(String, String)>) -> Response {
    let (id, stored, _, findings) = match load(&dash, &me, &site, &scan).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let mut out = String::from(
        "fingerprint,severity,rule,platform,title,before_consent,after_reject,after_accept,with_gpc,pages,count,remedy,triage,triage_reason,triage_by\r\n",
    );
    for f in &findings {
        let yes = |state: &str| if f.seen(state) { "yes" } else { "no" }.to_owned();
        let (status, reason, by) = match &f.triage {
            Some(t) => (
                match t.status {
                    TriageStatus::Fixed => "fixed",
                    TriageStatus::Ignored => "ignored",
                }
                .to_owned(),
                t.reason.clone(),
                t.by.clone(),
            ),
            None => ("open".to_owned(), String::new(), String::new()),
        };
        let row = [
            f.fingerprint.clone(),
            f.severity.clone(),
            f.rule.clone(),
            f.platform_name.clone(),
            f.title.clone(),
            yes("before-consent"),
            yes("after-reject"),
            yes("after-accept"),
            yes("with-gpc"),
            f.pages.to_string(),
            f.count.to_string(),
            f.remedy.clone(),
            status,
            reason,
            by,
        ];
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    let mut res = out.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"{}-scan-{}.csv\"", id, stored.meta.id);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    page::secure(&mut res);
    res
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    scan_id: &'a str,
    base_id: &'a str,
    scan_time: u64,
    base_time: u64,
    /// (heading, findings): new, gone, unchanged.
    groups: Vec<(&'static str, &'a str, Vec<Finding>)>,
}

/// Findings of `now` and `before` by fingerprint: new in `now`, gone from
/// it, and in both (as `now` has them).
fn diff(now: Vec<Finding>, before: Vec<Finding>) -> (Vec<Finding>, Vec<Finding>, Vec<Finding>) {
    let before_fps: std::collections::BTreeSet<String> = before.iter().map(|f| f.fingerprint.clone()).collect();
    let now_fps: std::collections::BTreeSet<String> = now.iter().map(|f| f.fingerprint.clone()).collect();
    let gone = before
        .into_iter()
        .filter(|f| !now_fps.contains(&f.fingerprint))
        .collect();
    let (unchanged, new) = now.into_iter().partition(|f| before_fps.contains(&f.fingerprint));
    (new, gone, unchanged)
}

/// `GET /sites/{site}/scans/{id}/compare/{base}`: the findings new in scan
/// `id` since scan `base`, gone since, and unchanged, by fingerprint.
pub async fn compare<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path((site, scan, base)): Path<(String, String, String)>,
) -> Response {
    let (id, stored, _, now) = match load(&dash, &me, &site, &scan).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let (_, base_stored, _, before) = match load(&dash, &me, &site, &base).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let (new, gone, unchanged) = diff(now, before);
    let page = ComparePage {
        t: me.t,
        frame: me.frame(me.t.compare).about(id.as_str()),
        site: id.as_str(),
        scan_id: &stored.meta.id,
        base_id: &base_stored.meta.id,
        scan_time: stored.meta.time_ms,
        base_time: base_stored.meta.time_ms,
        groups: vec![
            (me.t.new_since, "new", new),
            (me.t.gone, "gone", gone),
            (me.t.unchanged, "unchanged", unchanged),
        ],
    };
    page::render(StatusCode::OK, &page)
}

/// The triage form's fields.
#[derive(serde::Deserialize)]
pub struct TriageForm {
    // Every field defaults, so a form missing one reaches the handler, whose
    // site check answers first (404 for another tenant's site, 403 for a
    // role without it) rather than a parse failure's 403.
    #[serde(default)]
    fingerprint: String,
    /// The scan page it was sent from (to go back to).
    #[serde(default)]
    scan: String,
    /// `fixed`, `ignored` or `open` (forget the triage).
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

/// `POST /sites/{site}/triage`: marks a finding (by fingerprint, for every
/// scan of the site) fixed or ignored with a reason, or open again; then
/// back to the finding on the scan page.
pub async fn triage<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<TriageForm>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::Scan).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    if !valid_fingerprint(&form.fingerprint) || form.scan.len() > 100 {
        return me.problem(Problem::NotFound);
    }
    let reason = form.reason.trim();
    let status = match form.status.as_str() {
        "fixed" => Some(TriageStatus::Fixed),
        "ignored" if !reason.is_empty() && reason.chars().count() <= 500 => Some(TriageStatus::Ignored),
        "ignored" => {
            let page = Message {
                t: me.t,
                frame: me.frame(me.t.triage),
                text: me.t.reason_needed,
            };
            return page::render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        "open" => None,
        _ => return me.problem(Problem::NotFound),
    };
    let done = match status {
        Some(status) => {
            let triage = Triage {
                fingerprint: form.fingerprint.clone(),
                status,
                reason: if status == TriageStatus::Ignored {
                    reason.to_owned()
                } else {
                    String::new()
                },
                by: me.session.username.clone(),
                time_ms: now_ms(),
                scan_id: form.scan.clone(),
            };
            dash.store.set_triage(&site.id, &triage).await
        }
        None => dash.store.clear_triage(&site.id, &form.fingerprint).await.map(|_| ()),
    };
    match done {
        Ok(()) => Redirect::to(&format!(
            "{BASE}/sites/{}/scans/{}#finding-{}",
            site.id,
            utf8_percent(&form.scan),
            form.fingerprint
        ))
        .into_response(),
        Err(StoreError::LimitReached(why)) => {
            let page = Message {
                t: me.t,
                frame: me.frame(me.t.triage),
                text: &why,
            };
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => me.problem(e.into()),
    }
}

/// A path segment: everything but unreserved characters percent-encoded.
fn utf8_percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
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
            epoch: 0,
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
