//! Visitors' requests: access to their data (GDPR art. 15) and its erasure
//! (art. 17). An owner registers a request under the consent id the visitor
//! gives, sees its one-month deadline (art. 12(3)) count down, exports the
//! visitor's records as JSON, CSV or XML, erases them (crypto-shredding
//! through the server's erasure use case, so every proof stays valid),
//! extends the deadline once, and closes the request with its outcome.
//! Every step goes to the site's audit trail and the request's own log.
//!
//! The request itself and its deadline arithmetic are
//! [`consent_core::visitor_request`]; this module is its pages and
//! downloads. Only accounts with [`Permission::VisitorData`] on the site
//! (owners, admins) reach any of it.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::account::Permission;
use consent_core::analytics::Day;
use consent_core::audit::AuditAction;
use consent_core::export::csv_cell;
use consent_core::store::{DecisionQuery, LoggedDecision, RecordKind, Site, Store};
use consent_core::visitor_request::{
    self, ExportFormat, MAX_EXPORTED, MAX_NOTE, MAX_REASON, Outcome, RequestError, Status, StepKind, VisitorDecision,
    VisitorRecords, VisitorRequest,
};
use consent_core::{ConsentId, SiteId};
use serde::{Deserialize, Serialize};

use crate::i18n::Texts;
use crate::page::{self, Frame, Problem, Utc, now_ms};
use crate::proof::{self, Row};
use crate::session::{CsrfForm, LoggedIn, NoFields};
use crate::sites::{self, method_name};
use crate::{BASE, St, audit};

/// How many closed requests the list shows (newest first); open ones are
/// all shown, however many.
const CLOSED_SHOWN: usize = 100;

/// Decisions read per storage call while exporting.
const PAGE: usize = 1000;

fn today() -> Day {
    Day::of_ms(now_ms())
}

/// The site's requests (storage keeps at most
/// [`consent_core::store::MAX_RECORDS`] of them).
async fn all<S: Store>(store: &S, site: &SiteId) -> Result<Vec<VisitorRequest>, Problem> {
    let records = store.records(site, RecordKind::VisitorRequest).await?;
    records
        .into_iter()
        .map(|(_, body)| serde_json::from_slice(&body).map_err(|_| Problem::Unavailable))
        .collect()
}

/// The request `id` of the site, if the id has a request's shape and exists.
async fn one<S: Store>(store: &S, site: &SiteId, id: &str) -> Result<VisitorRequest, Problem> {
    if !visitor_request::is_id(id) {
        return Err(Problem::NotFound);
    }
    let body = store
        .record(site, RecordKind::VisitorRequest, id)
        .await?
        .ok_or(Problem::NotFound)?;
    serde_json::from_slice(&body).map_err(|_| Problem::Unavailable)
}

/// Stores the request as it now is and records the step in the site's
/// audit trail: every change to a request is both.
async fn save<S: Store>(
    store: &S,
    me: &LoggedIn,
    site: &SiteId,
    r: &VisitorRequest,
    action: AuditAction,
) -> Result<(), Problem> {
    let body = serde_json::to_vec(r).expect("requests serialise");
    store.put_record(site, RecordKind::VisitorRequest, &r.id, &body).await?;
    audit::record(store, site, me, action).await
}

/// Open and overdue requests of the site, for its page.
pub(crate) async fn counts<S: Store>(store: &S, site: &SiteId) -> Result<(usize, usize), Problem> {
    let today = today();
    let requests = all(store, site).await?;
    let open = requests.iter().filter(|r| r.is_open()).count();
    let overdue = requests.iter().filter(|r| r.overdue(today)).count();
    Ok((open, overdue))
}

/// Where a request stands, in words (never colour alone: overdue ones say so).
struct Countdown {
    text: String,
    overdue: bool,
}

fn countdown(t: &Texts, r: &VisitorRequest, today: Day) -> Countdown {
    let left = r.days_left(today);
    let text = match &r.status {
        Status::Closed { outcome, .. } => format!("{} ({})", t.request_closed, outcome_text(t, outcome)),
        Status::Open if left < 0 => {
            let n = -left;
            format!(
                "{} {n} {}",
                t.request_overdue_by,
                if n == 1 { t.request_day } else { t.request_days }
            )
        }
        Status::Open if left == 0 => t.request_due_today.to_owned(),
        Status::Open if left == 1 => t.request_one_day_left.to_owned(),
        Status::Open => format!("{left} {}", t.request_days_left),
    };
    Countdown {
        text,
        overdue: r.overdue(today),
    }
}

fn outcome_text(t: &Texts, o: &Outcome) -> &'static str {
    match o {
        Outcome::Answered => t.request_answered,
        Outcome::Erased => t.request_erased,
        Outcome::Refused { .. } => t.request_refused,
        Outcome::NoDataFound => t.request_no_data,
    }
}

fn kind_text(t: &Texts, r: &VisitorRequest) -> &'static str {
    match r.kind {
        visitor_request::RequestKind::Access => t.request_access,
        visitor_request::RequestKind::Erasure => t.request_erasure,
    }
}

fn error_text(t: &Texts, e: &RequestError) -> &'static str {
    match e {
        RequestError::Kind => t.request_bad_kind,
        RequestError::ConsentId => t.bad_consent_id,
        RequestError::Date => t.request_bad_date,
        RequestError::Future => t.request_future,
        RequestError::TooOld => t.request_too_old,
        RequestError::Note => t.request_bad_note,
        RequestError::Reason => t.request_bad_reason,
        RequestError::Closed => t.request_closed_already,
        RequestError::ExtendedAlready => t.request_extended_already,
        RequestError::TooLateToExtend => t.request_too_late,
        RequestError::Outcome => t.request_bad_outcome,
    }
}

/// A request as the list shows it.
struct Listed {
    id: String,
    kind: &'static str,
    consent_id: String,
    received: Day,
    deadline: Day,
    countdown: Countdown,
}

fn listed(t: &Texts, r: &VisitorRequest, today: Day) -> Listed {
    Listed {
        id: r.id.clone(),
        kind: kind_text(t, r),
        consent_id: r.consent_id.to_string(),
        received: r.received,
        deadline: r.deadline(),
        countdown: countdown(t, r, today),
    }
}

/// What was typed into the register form, to show again with its errors.
#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    consent_id: String,
    #[serde(default)]
    received: String,
    #[serde(default)]
    note: String,
}

impl RegisterForm {
    /// Bounded before anything else looks at it (the body limit is 64 KiB).
    fn bounded(self) -> Self {
        let cut = |s: String, n: usize| s.chars().take(n).collect::<String>();
        RegisterForm {
            kind: cut(self.kind, 20),
            consent_id: cut(self.consent_id, 100),
            received: cut(self.received, 20),
            note: cut(self.note, MAX_NOTE * 2),
        }
    }
}

#[derive(Template)]
#[template(path = "requests.html")]
struct ListPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    open: Vec<Listed>,
    closed: Vec<Listed>,
    more_closed: bool,
    overdue: usize,
    form: RegisterForm,
    /// The field the form's error is about, and the error.
    error: Option<(&'static str, &'static str)>,
    today: Day,
}

impl ListPage<'_> {
    fn error_of(&self, field: &str) -> Option<&'static str> {
        self.error.filter(|(f, _)| *f == field).map(|(_, e)| e)
    }
}

async fn list_page<S: Store>(
    store: &S,
    me: &LoggedIn,
    site: &Site,
    form: RegisterForm,
    error: Option<(&'static str, &'static str)>,
    status: StatusCode,
) -> Response {
    let t = me.t;
    let today = today();
    let requests = match all(store, &site.id).await {
        Ok(r) => r,
        Err(problem) => return me.problem(problem),
    };
    let (mut open, mut closed): (Vec<_>, Vec<_>) = requests.into_iter().partition(VisitorRequest::is_open);
    // Open: the most urgent first. Closed: the most recently closed first.
    open.sort_by(|a, b| (a.deadline(), &a.id).cmp(&(b.deadline(), &b.id)));
    let closed_at = |r: &VisitorRequest| match r.status {
        Status::Closed { at_ms, .. } => at_ms,
        Status::Open => 0,
    };
    closed.sort_by_key(|r| std::cmp::Reverse(closed_at(r)));
    let more_closed = closed.len() > CLOSED_SHOWN;
    closed.truncate(CLOSED_SHOWN);
    let page = ListPage {
        t,
        frame: me.frame(t.requests).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        overdue: open.iter().filter(|r| r.overdue(today)).count(),
        open: open.iter().map(|r| listed(t, r, today)).collect(),
        closed: closed.iter().map(|r| listed(t, r, today)).collect(),
        more_closed,
        form,
        error,
        today,
    };
    page::render(status, &page)
}

/// `GET /sites/{site}/requests`: the list (open first) and the register form.
pub async fn list<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::VisitorData).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    list_page(&dash.store, &me, &site, RegisterForm::default(), None, StatusCode::OK).await
}

/// `POST /sites/{site}/requests`: registers a request, then its page.
pub async fn open<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<RegisterForm>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::VisitorData).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    let form = form.bounded();
    let id = visitor_request::new_id(rand::random());
    let opened = VisitorRequest::open(
        id,
        &form.kind,
        &form.consent_id,
        &form.received,
        &form.note,
        today(),
        now_ms(),
        &me.account.username,
    );
    let request = match opened {
        Ok(r) => r,
        Err(e) => {
            let error = Some((e.field(), error_text(me.t, &e)));
            return list_page(&dash.store, &me, &site, form, error, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let action = AuditAction::RequestOpened {
        id: request.id.clone(),
        kind: request.kind.as_str().to_owned(),
    };
    match save(&dash.store, &me, &site.id, &request, action).await {
        Ok(()) => Redirect::to(&request_path(&site.id, &request.id)).into_response(),
        Err(problem) => me.problem(problem),
    }
}

fn request_path(site: &SiteId, id: &str) -> String {
    format!("{BASE}/sites/{site}/requests/{id}")
}

/// A step of the request's log, in words.
struct LoggedStep {
    at: Utc,
    by: String,
    what: String,
}

fn step_text(t: &Texts, k: &StepKind) -> String {
    match k {
        StepKind::Opened => t.step_opened.to_owned(),
        StepKind::Exported { format } => format!("{} ({})", t.step_exported, format.as_str().to_uppercase()),
        StepKind::Erased { key_destroyed: true } => t.step_erased.to_owned(),
        StepKind::Erased { key_destroyed: false } => t.step_erased_before.to_owned(),
        StepKind::Extended => t.step_extended.to_owned(),
        StepKind::Closed => t.step_closed.to_owned(),
    }
}

/// What the page says about the visitor's data.
struct VisitorSummary {
    /// The consent id is known to the site.
    known: bool,
    erased: bool,
    /// How many decisions (at most [`MAX_EXPORTED`]; `complete` false beyond).
    count: usize,
    complete: bool,
    first: Option<Utc>,
    last: Option<Utc>,
}

#[derive(Template)]
#[template(path = "requests_show.html")]
struct ShowPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    r: &'a VisitorRequest,
    kind: &'static str,
    countdown: Countdown,
    extension_possible: bool,
    outcome: Option<&'static str>,
    refusal: Option<&'a str>,
    closed_by: Option<(Utc, &'a str)>,
    log: Vec<LoggedStep>,
    visitor: VisitorSummary,
    /// For `decision_history.html`.
    id: String,
    rows: Vec<Row>,
    more: bool,
    /// What the last action did (`?done=`), or what went wrong with it.
    notice: Option<&'static str>,
    error: Option<(&'static str, &'static str)>,
    /// What was typed into the extension and closing forms, to show again.
    typed: Typed,
    /// The closing form's choices: value and label.
    outcomes: [(&'static str, &'static str); 4],
}

/// What was typed into the extension or closing form, shown again with its error.
#[derive(Default)]
struct Typed {
    extend: String,
    close: String,
    outcome: String,
}

impl ShowPage<'_> {
    fn error_of(&self, field: &str) -> Option<&'static str> {
        self.error.filter(|(f, _)| *f == field).map(|(_, e)| e)
    }
}

#[allow(clippy::too_many_arguments)] // the page's parts, each from its caller
async fn show_page<S: Store>(
    store: &S,
    me: &LoggedIn,
    site: &Site,
    r: &VisitorRequest,
    notice: Option<&'static str>,
    error: Option<(&'static str, &'static str)>,
    typed: Typed,
    status: StatusCode,
) -> Response {
    let t = me.t;
    let today = today();
    let found = async {
        let visitor = store.visitor(&site.id, &r.consent_id).await?;
        let (newest, more) = proof::history(store, &site.id, &r.consent_id).await?;
        Ok::<_, Problem>((visitor, newest, more))
    };
    let (visitor, newest, more) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    // The count needs the whole history only when the page's share of it
    // is not all of it.
    let (count, complete, first) = if more {
        match all_decisions(store, &site.id, &r.consent_id).await {
            Ok((all, complete)) => (all.len(), complete, all.first().map(|d| d.record.time_ms)),
            Err(problem) => return me.problem(problem),
        }
    } else {
        (newest.len(), true, newest.last().map(|d| d.record.time_ms))
    };
    let summary = VisitorSummary {
        known: visitor.is_some(),
        erased: visitor.as_ref().is_some_and(|v| v.sealing_key.is_none()),
        count,
        complete,
        first: first.map(Utc),
        last: newest.first().map(|d| Utc(d.record.time_ms)),
    };
    let (outcome, refusal, closed_by) = match &r.status {
        Status::Open => (None, None, None),
        Status::Closed { outcome, at_ms, by } => (
            Some(outcome_text(t, outcome)),
            match outcome {
                Outcome::Refused { reason } => Some(reason.as_str()),
                _ => None,
            },
            Some((Utc(*at_ms), by.as_str())),
        ),
    };
    let page = ShowPage {
        t,
        frame: me.frame(t.request).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        kind: kind_text(t, r),
        countdown: countdown(t, r, today),
        extension_possible: r.is_open() && r.extension.is_none() && today <= r.first_deadline(),
        outcome,
        refusal,
        closed_by,
        log: r
            .log
            .iter()
            .map(|s| LoggedStep {
                at: Utc(s.at_ms),
                by: s.by.clone(),
                what: step_text(t, &s.kind),
            })
            .collect(),
        visitor: summary,
        id: r.consent_id.to_string(),
        rows: newest.into_iter().map(|d| proof::row(t, d)).collect(),
        more,
        notice,
        error,
        typed,
        outcomes: [
            ("answered", t.request_answered),
            ("erased", t.request_erased),
            ("refused", t.request_refused),
            ("no_data_found", t.request_no_data),
        ],
        r,
    };
    page::render(status, &page)
}

/// The site (with [`Permission::VisitorData`]) and its request `id`.
async fn found<S: Store>(store: &S, me: &LoggedIn, site: &str, id: &str) -> Result<(Site, VisitorRequest), Problem> {
    let site = sites::find(store, me, site, Permission::VisitorData).await?;
    let request = one(store, &site.id, id).await?;
    Ok((site, request))
}

/// `GET /sites/{site}/requests/{id}`.
pub async fn show<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path((site, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let (site, r) = match found(&dash.store, &me, &site, &id).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    // `?done=` after erasing; anything else in the query is ignored.
    let notice = match q.as_deref() {
        Some("done=erased") => Some(t.request_erased_now),
        Some("done=erased_before") => Some(t.request_erased_before),
        _ => None,
    };
    show_page(
        &dash.store,
        &me,
        &site,
        &r,
        notice,
        None,
        Typed::default(),
        StatusCode::OK,
    )
    .await
}

/// Every decision of the consent id, oldest first, up to [`MAX_EXPORTED`];
/// false when there are more.
async fn all_decisions<S: Store>(
    store: &S,
    site: &SiteId,
    consent: &ConsentId,
) -> Result<(Vec<LoggedDecision>, bool), Problem> {
    let mut out: Vec<LoggedDecision> = Vec::new();
    let mut query = DecisionQuery {
        consent_id: Some(consent.clone()),
        limit: PAGE,
        ..Default::default()
    };
    loop {
        let page = store.decisions(site, &query).await?;
        let full = page.len() == PAGE;
        query.after = page.last().map(|d| d.index);
        out.extend(page);
        if out.len() > MAX_EXPORTED {
            out.truncate(MAX_EXPORTED);
            return Ok((out, false));
        }
        if !full {
            return Ok((out, true));
        }
    }
}

/// Everything stored about the visitor, their personal fields decrypted
/// while their key exists.
async fn visitor_records<S: Store>(store: &S, site: &SiteId, consent: &ConsentId) -> Result<VisitorRecords, Problem> {
    let visitor = store.visitor(site, consent).await?;
    let key = visitor.as_ref().and_then(|v| v.sealing_key);
    let (decisions, complete) = all_decisions(store, site, consent).await?;
    Ok(VisitorRecords {
        site: site.clone(),
        consent_id: consent.clone(),
        exported_ms: now_ms(),
        known: visitor.is_some(),
        erased: visitor.is_some() && key.is_none(),
        complete,
        decisions: decisions
            .into_iter()
            .map(|d| VisitorDecision::open(d, key.as_ref()))
            .collect(),
    })
}

/// The columns of the owner API's decision export
/// (`GET /api/v1/owner/sites/{site}/decisions/export?format=csv`), then the
/// personal fields.
const CSV_HEADER: &str = "index,time_ms,consent_id,config_version,method,language,gpc,granted_categories,denied_categories,services,personal_fields,page_path,browser\n";

/// The records as CSV, one decision a row, every cell through
/// [`csv_cell`].
fn csv(v: &VisitorRecords) -> String {
    let mut out = String::from(CSV_HEADER);
    for d in &v.decisions {
        let r = &d.record;
        let pick = |want: bool| {
            r.categories
                .iter()
                .filter(|(_, g)| **g == want)
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>()
                .join(";")
        };
        let services = r
            .services
            .iter()
            .map(|(s, g)| format!("{s}={}", if *g { "granted" } else { "denied" }))
            .collect::<Vec<_>>()
            .join(";");
        let personal = match (&d.personal, v.erased) {
            (Some(_), _) => "decrypted",
            (None, true) => "erased",
            (None, false) => "unreadable",
        };
        let (path, browser) = d
            .personal
            .as_ref()
            .map_or(("", ""), |p| (p.page_path.as_str(), p.browser.as_deref().unwrap_or("")));
        let cells = [
            d.index.to_string(),
            r.time_ms.to_string(),
            r.consent_id.to_string(),
            r.config_version.0.clone(),
            method_name(r.method),
            r.language.clone(),
            r.gpc.to_string(),
            pick(true),
            pick(false),
            services,
            personal.to_owned(),
            path.to_owned(),
            browser.to_owned(),
        ];
        let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// The records' XML document: the same data as the JSON, with map entries as
/// elements carrying their key as an attribute (category and service ids
/// need not be XML names).
#[derive(Serialize)]
struct XmlVisitor<'a> {
    #[serde(rename = "@site")]
    site: &'a str,
    #[serde(rename = "@consent_id")]
    consent_id: String,
    #[serde(rename = "@exported_ms")]
    exported_ms: u64,
    #[serde(rename = "@known")]
    known: bool,
    #[serde(rename = "@erased")]
    erased: bool,
    #[serde(rename = "@complete")]
    complete: bool,
    #[serde(rename = "decision")]
    decisions: Vec<XmlDecision<'a>>,
}

#[derive(Serialize)]
struct XmlDecision<'a> {
    #[serde(rename = "@index")]
    index: u64,
    time_ms: u64,
    config_version: &'a str,
    method: String,
    language: &'a str,
    gpc: bool,
    categories: XmlChoices<'a>,
    services: XmlChoices<'a>,
    /// The personal fields as stored: sealed.
    sealed: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    personal: Option<XmlPersonal<'a>>,
}

#[derive(Serialize)]
struct XmlChoices<'a> {
    #[serde(rename = "choice")]
    choices: Vec<XmlChoice<'a>>,
}

#[derive(Serialize)]
struct XmlChoice<'a> {
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(rename = "@granted")]
    granted: bool,
}

#[derive(Serialize)]
struct XmlPersonal<'a> {
    page_path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    browser: Option<&'a str>,
}

fn xml(v: &VisitorRecords) -> Result<String, quick_xml::SeError> {
    fn choices(m: &std::collections::BTreeMap<String, bool>) -> Vec<XmlChoice<'_>> {
        m.iter().map(|(id, g)| XmlChoice { id, granted: *g }).collect()
    }
    let doc = XmlVisitor {
        site: v.site.as_str(),
        consent_id: v.consent_id.to_string(),
        exported_ms: v.exported_ms,
        known: v.known,
        erased: v.erased,
        complete: v.complete,
        decisions: v
            .decisions
            .iter()
            .map(|d| XmlDecision {
                index: d.index,
                time_ms: d.record.time_ms,
                config_version: &d.record.config_version.0,
                method: method_name(d.record.method),
                language: &d.record.language,
                gpc: d.record.gpc,
                categories: XmlChoices {
                    choices: choices(&d.record.categories),
                },
                services: XmlChoices {
                    choices: choices(&d.record.services),
                },
                sealed: &d.record.sealed,
                personal: d.personal.as_ref().map(|p| XmlPersonal {
                    page_path: &p.page_path,
                    browser: p.browser.as_deref(),
                }),
            })
            .collect(),
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut ser = quick_xml::se::Serializer::with_root(&mut out, Some("visitor"))?;
    ser.indent(' ', 2);
    doc.serialize(ser)?;
    out.push('\n');
    Ok(out)
}

/// The export as a download: its bytes, content type and file name.
fn download(v: &VisitorRecords, format: ExportFormat) -> Option<Response> {
    let (body, ctype) = match format {
        ExportFormat::Json => (serde_json::to_string_pretty(v).ok()?, "application/json"),
        ExportFormat::Csv => (csv(v), "text/csv; charset=utf-8"),
        ExportFormat::Xml => (xml(v).ok()?, "application/xml; charset=utf-8"),
    };
    let mut res = body.into_response();
    page::secure(&mut res);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    // Site ids are [a-z0-9_-] and consent ids hex: the name needs no quoting
    // rules beyond the quotes.
    let name = format!(
        "attachment; filename=\"visitor-{}-{}.{}\"",
        v.site,
        v.consent_id,
        format.as_str()
    );
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&name).ok()?);
    Some(res)
}

#[derive(Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    format: String,
}

/// `POST /sites/{site}/requests/{id}/export`: the visitor's records as a
/// download (a POST, since it writes the audit trail).
pub async fn export<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<ExportForm>,
) -> Response {
    let (site, mut r) = match found(&dash.store, &me, &site, &id).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let Some(format) = ExportFormat::parse(&form.format) else {
        return me.problem(Problem::NotFound);
    };
    let done = async {
        let records = visitor_records(&dash.store, &site.id, &r.consent_id).await?;
        r.note_step(StepKind::Exported { format }, now_ms(), &me.account.username);
        let action = AuditAction::RequestExported {
            id: r.id.clone(),
            format: format.as_str().to_owned(),
        };
        save(&dash.store, &me, &site.id, &r, action).await?;
        download(&records, format).ok_or(Problem::Unavailable)
    };
    done.await.unwrap_or_else(|problem| me.problem(problem))
}

#[derive(Template)]
#[template(path = "requests_erase.html")]
struct ErasePage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    r: &'a VisitorRequest,
}

/// `GET /sites/{site}/requests/{id}/erase`: the confirmation step.
pub async fn erase_form<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path((site, id)): Path<(String, String)>,
) -> Response {
    let (site, r) = match found(&dash.store, &me, &site, &id).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let page = ErasePage {
        t: me.t,
        frame: me.frame(me.t.request_erase_confirm).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        r: &r,
    };
    page::render(StatusCode::OK, &page)
}

/// `POST /sites/{site}/requests/{id}/erase`: erases the visitor through the
/// server's erasure use case (the one behind the visitor's own
/// `DELETE /api/v1/sites/{site}/visitors/{consent_id}`). Erasing again
/// changes nothing and says so.
pub async fn erase<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, .. }: CsrfForm<NoFields>,
) -> Response {
    let (site, mut r) = match found(&dash.store, &me, &site, &id).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let refused = match r.kind {
        _ if !r.is_open() => Some(("request", me.t.request_closed_already)),
        visitor_request::RequestKind::Access => Some(("request", me.t.request_not_erasure)),
        visitor_request::RequestKind::Erasure => None,
    };
    if refused.is_some() {
        let status = StatusCode::CONFLICT;
        return show_page(&dash.store, &me, &site, &r, None, refused, Typed::default(), status).await;
    }
    let Some(destroyed) = dash.host.erase_visitor(site.id.clone(), r.consent_id.clone()).await else {
        return me.problem(Problem::Unavailable);
    };
    r.note_step(
        StepKind::Erased {
            key_destroyed: destroyed,
        },
        now_ms(),
        &me.account.username,
    );
    let action = AuditAction::RequestErased { id: r.id.clone() };
    match save(&dash.store, &me, &site.id, &r, action).await {
        Ok(()) => {
            let done = if destroyed { "erased" } else { "erased_before" };
            Redirect::to(&format!("{}?done={done}", request_path(&site.id, &r.id))).into_response()
        }
        Err(problem) => me.problem(problem),
    }
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
}

/// `POST /sites/{site}/requests/{id}/extend`: two further months, with the reason.
pub async fn extend<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<ReasonForm>,
) -> Response {
    let (site, mut r) = match found(&dash.store, &me, &site, &id).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let reason: String = form.reason.chars().take(MAX_REASON * 2).collect();
    if let Err(e) = r.extend(&reason, today(), now_ms(), &me.account.username) {
        let error = Some((e.field(), error_text(me.t, &e)));
        let typed = Typed {
            extend: reason,
            ..Typed::default()
        };
        return show_page(
            &dash.store,
            &me,
            &site,
            &r,
            None,
            error,
            typed,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let action = AuditAction::RequestExtended { id: r.id.clone() };
    match save(&dash.store, &me, &site.id, &r, action).await {
        Ok(()) => Redirect::to(&request_path(&site.id, &r.id)).into_response(),
        Err(problem) => me.problem(problem),
    }
}

/// `POST /sites/{site}/requests/{id}/close`: closes it with its outcome.
pub async fn close<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<ReasonForm>,
) -> Response {
    let (site, mut r) = match found(&dash.store, &me, &site, &id).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let reason: String = form.reason.chars().take(MAX_REASON * 2).collect();
    if let Err(e) = r.close(&form.outcome, &reason, now_ms(), &me.account.username) {
        // The closing form's reason field has an id of its own.
        let field = match e.field() {
            "reason" => "close_reason",
            field => field,
        };
        let error = Some((field, error_text(me.t, &e)));
        let typed = Typed {
            close: reason,
            outcome: form.outcome.chars().take(20).collect(),
            ..Typed::default()
        };
        return show_page(
            &dash.store,
            &me,
            &site,
            &r,
            None,
            error,
            typed,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let action = AuditAction::RequestClosed { id: r.id.clone() };
    match save(&dash.store, &me, &site.id, &r, action).await {
        Ok(()) => Redirect::to(&request_path(&site.id, &r.id)).into_response(),
        Err(problem) => me.problem(problem),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use consent_core::{ConfigVersion, DecisionRecord, Method, PersonalFields};

    use super::*;

    fn records(erased: bool) -> VisitorRecords {
        let consent = ConsentId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let site = SiteId::parse("shop").unwrap();
        let record = DecisionRecord {
            v: 1,
            site: site.clone(),
            consent_id: consent.clone(),
            time_ms: 1_700_000_000_000,
            config_version: ConfigVersion("v1".into()),
            method: Method::Custom,
            categories: BTreeMap::from([("1st".into(), true), ("marketing".into(), false)]),
            services: BTreeMap::from([("meta,pixel".into(), false)]),
            language: "nl".into(),
            gpc: true,
            sealed: "abc".into(),
        };
        VisitorRecords {
            site,
            consent_id: consent,
            exported_ms: 1,
            known: true,
            erased,
            complete: true,
            decisions: vec![VisitorDecision {
                index: 7,
                record,
                personal: (!erased).then(|| PersonalFields {
                    page_path: "/=cart<&>".into(),
                    browser: Some("Firefox 140".into()),
                }),
            }],
        }
    }

    #[test]
    fn csv_has_the_owner_columns_then_the_personal_fields() {
        let out = csv(&records(false));
        let mut lines = out.lines();
        assert!(CSV_HEADER.starts_with(
            "index,time_ms,consent_id,config_version,method,language,gpc,granted_categories,denied_categories,services,"
        ));
        assert_eq!(lines.next(), Some(CSV_HEADER.trim_end()));
        assert_eq!(
            lines.next(),
            Some(
                "7,1700000000000,0123456789abcdef0123456789abcdef,v1,custom,nl,true,1st,marketing,\"meta,pixel=denied\",decrypted,/=cart<&>,Firefox 140"
            )
        );
        let erased = csv(&records(true));
        assert!(erased.lines().nth(1).unwrap().ends_with(",erased,,"), "{erased}");
    }

    #[test]
    fn xml_is_written_by_the_serializer_and_escaped() {
        let out = xml(&records(false)).unwrap();
        assert!(
            out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<visitor site=\"shop\""),
            "{out}"
        );
        assert!(out.contains("<choice id=\"1st\" granted=\"true\"/>"), "{out}");
        assert!(out.contains("<choice id=\"meta,pixel\" granted=\"false\"/>"), "{out}");
        assert!(out.contains("<page_path>/=cart&lt;&amp;&gt;</page_path>"), "{out}");
        assert!(out.contains("<method>custom</method>"), "{out}");
        let erased = xml(&records(true)).unwrap();
        assert!(erased.contains("erased=\"true\""), "{erased}");
        assert!(!erased.contains("<personal>"), "{erased}");
    }
}
