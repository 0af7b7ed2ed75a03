//! The register of processing (GDPR art. 30) of a site's tracking: the
//! page that shows it (printable: the stylesheet hides the navigation and
//! the form on paper), the form for what the owner adds once
//! ([`RegisterProfile`]: controller, contacts, DPO, representative, the
//! safeguard of each transfer outside the EEA, their own measures), and
//! the exports as CSV, JSON and a standalone printable HTML file. The
//! register itself is `consent_core::register`'s, built from the published
//! configuration (never a draft: the register says what visitors are
//! shown), so every view and export names that configuration's version.
//!
//! Reading needs [`Permission::View`], changing the profile
//! [`Permission::EditRegister`] (owners); every save is in the audit trail.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::account::Permission;
use consent_core::audit::AuditAction;
use consent_core::catalogue;
use consent_core::register::{
    self, FieldError, FieldProblem, Input, MAX_ADDRESS, MAX_EMAIL, MAX_MEASURES, MAX_NAME, MAX_PHONE, PROFILE_ID,
    Register, RegisterProfile, Safeguard,
};
use consent_core::store::{RecordKind, Site, Store};
use consent_core::{ConfigVersion, SiteConfig};
use serde::Deserialize;

use crate::i18n::Texts;
use crate::page::{self, Frame, Problem, now_ms};
use crate::session::{CsrfForm, LoggedIn};
use crate::{BASE, St, sites};

/// The site's stored profile, or an empty one.
async fn profile<S: Store>(store: &S, site: &Site) -> Result<RegisterProfile, Problem> {
    match store.record(&site.id, RecordKind::Register, PROFILE_ID).await? {
        None => Ok(RegisterProfile::default()),
        // Written only by `save` below, so a body that does not parse is
        // storage gone wrong, not input.
        Some(body) => serde_json::from_slice(&body).map_err(|_| Problem::Unavailable),
    }
}

/// The site's published configuration.
async fn published<S: Store>(store: &S, site: &Site) -> Result<SiteConfig, Problem> {
    store
        .config(&site.id, &site.current_version)
        .await?
        .ok_or(Problem::NotFound)
}

/// The register of the published configuration with `profile`, in `lang`.
fn build(site: &Site, config: &SiteConfig, profile: &RegisterProfile, lang: &str) -> Register {
    Register::build(&Input {
        site: &site.id,
        origins: &site.allowed_origins,
        config,
        version: &site.current_version,
        catalogue: catalogue::builtin(),
        profile,
        generated_ms: now_ms(),
        lang,
    })
}

/// A text field of the form.
struct Field {
    name: &'static str,
    label: &'static str,
    help: &'static str,
    value: String,
    error: Option<String>,
    /// `text`, `email`, `tel` or `textarea`.
    kind: &'static str,
    max: usize,
    required: bool,
    autocomplete: &'static str,
}

impl Field {
    /// The ids of its error and help texts, for `aria-describedby`.
    fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.error.is_some() {
            ids.push(format!("f-{}-error", self.name));
        }
        if !self.help.is_empty() {
            ids.push(format!("f-{}-help", self.name));
        }
        ids.join(" ")
    }
}

/// The safeguard choice of one service whose data leave the EEA.
struct SafeguardField {
    name: String,
    label: String,
    /// The country has an adequacy decision that covers it by itself.
    adequate: bool,
    options: Vec<(&'static str, &'static str, bool)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    reg: &'a Register,
    can_edit: bool,
    saved: bool,
    fields: Vec<Field>,
    safeguards: Vec<SafeguardField>,
    /// Field id → message, in form order, for the summary.
    errors: Vec<(String, String, String)>,
    last_saved: Option<(String, String)>,
}

/// The standalone, printable HTML export.
#[derive(Template)]
#[template(path = "register_export.html")]
struct RegisterExport<'a> {
    t: &'static Texts,
    reg: &'a Register,
    style: &'static str,
}

/// The export's only styling, inline so the file stands alone once saved;
/// the answer's Content-Security-Policy allows exactly this text by its
/// hash ([`EXPORT_STYLE_CSP`]).
const EXPORT_STYLE: &str = "body{font:11pt/1.45 system-ui,sans-serif;color:#000;max-width:60rem;margin:1rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%;margin:.3rem 0}td,th{border:1px solid #888;padding:.2rem .4rem;text-align:left;vertical-align:top}dt{font-weight:bold;margin-top:.4rem}dd{margin-left:1rem;overflow-wrap:anywhere}section{break-inside:avoid-page}h1,h2,h3,p,dt,dd,li,caption{overflow-wrap:anywhere;hyphens:auto}.warning{color:#a40000}.scroll{overflow-x:auto;max-width:100%}code{word-break:break-all}.lines{white-space:pre-line}@media print{body{margin:0;max-width:none}a{color:inherit}}";

/// `'sha256-…'` of [`EXPORT_STYLE`] (base64 of its SHA-256); the server's
/// tests recompute it from the served file.
const EXPORT_STYLE_CSP: &str = "sha256-5Dbo4K6PK+Bg1/UEtxXL+2eRbGG8BeydZlQAwlSjM4A=";

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// The non-EEA services of the register (first transfer of each), in order.
fn transfer_services(reg: &Register) -> Vec<&register::Transfer> {
    let mut out: Vec<&register::Transfer> = Vec::new();
    for t in reg.activities.iter().flat_map(|a| &a.transfers) {
        if !out.iter().any(|o| o.service_id == t.service_id) {
            out.push(t);
        }
    }
    out
}

/// The message of a field's problem.
fn message(t: &Texts, p: FieldProblem) -> String {
    match p {
        FieldProblem::Required => t.err_required.to_owned(),
        FieldProblem::TooLong(max) => format!("{} {max} {}", t.err_too_long, t.err_chars),
        FieldProblem::NotEmail => t.err_email.to_owned(),
        FieldProblem::NotPhone => t.err_phone.to_owned(),
        FieldProblem::NotContact => t.err_contact.to_owned(),
        FieldProblem::Control => t.err_control.to_owned(),
        FieldProblem::NotAChoice => t.err_choice.to_owned(),
    }
}

/// The page, with the form showing `shown` (what is stored, or what was
/// just typed) and `errors` (by field name).
#[allow(clippy::too_many_arguments)]
fn page(
    me: &LoggedIn,
    site: &Site,
    reg: &Register,
    shown: &RegisterProfile,
    stored: &RegisterProfile,
    errors: &[FieldError],
    saved: bool,
    status: StatusCode,
) -> Response {
    let t = me.t;
    let error_of = |name: &str| errors.iter().find(|e| e.field == name).map(|e| message(t, e.problem));
    let field = |name: &'static str,
                 label: &'static str,
                 help: &'static str,
                 value: &str,
                 kind: &'static str,
                 max: usize,
                 required: bool,
                 autocomplete: &'static str| Field {
        name,
        label,
        help,
        value: value.to_owned(),
        error: error_of(name),
        kind,
        max,
        required,
        autocomplete,
    };
    let fields = vec![
        field(
            "controller",
            t.register_controller,
            t.register_controller_help,
            &shown.controller,
            "text",
            MAX_NAME,
            true,
            "organization",
        ),
        field(
            "address",
            t.register_address,
            "",
            &shown.address,
            "textarea",
            MAX_ADDRESS,
            false,
            "street-address",
        ),
        field(
            "email",
            t.register_email,
            t.register_email_help,
            &shown.email,
            "email",
            MAX_EMAIL,
            true,
            "email",
        ),
        field(
            "phone",
            t.register_phone,
            "",
            &shown.phone,
            "tel",
            MAX_PHONE,
            false,
            "tel",
        ),
        field(
            "dpo_name",
            t.register_dpo_name,
            t.register_dpo_help,
            &shown.dpo_name,
            "text",
            MAX_NAME,
            false,
            "off",
        ),
        field(
            "dpo_contact",
            t.register_dpo_contact,
            "",
            &shown.dpo_contact,
            "text",
            MAX_EMAIL,
            false,
            "off",
        ),
        field(
            "representative",
            t.register_representative,
            t.register_representative_help,
            &shown.representative,
            "textarea",
            MAX_ADDRESS,
            false,
            "off",
        ),
        field(
            "measures",
            t.register_measures_own,
            t.register_measures_help,
            &shown.measures,
            "textarea",
            MAX_MEASURES,
            false,
            "off",
        ),
    ];
    let safeguards: Vec<SafeguardField> = transfer_services(reg)
        .into_iter()
        .map(|tr| {
            let name = format!("safeguard_{}", tr.service_id);
            let chosen = shown
                .safeguards
                .get(&tr.service_id)
                .copied()
                .unwrap_or(Safeguard::NoneYet);
            let country = if tr.country_name.is_empty() {
                tr.country.clone()
            } else {
                format!("{}, {}", tr.country, tr.country_name)
            };
            SafeguardField {
                error: error_of(&name),
                label: format!("{} — {} ({country})", tr.service, tr.company),
                adequate: register::adequacy(&tr.country).is_some_and(|a| !a.certified_only),
                options: Safeguard::ALL
                    .into_iter()
                    .map(|g| (g.as_str(), g.label(t.code), g == chosen))
                    .collect(),
                name,
            }
        })
        .collect();
    let mut summary = Vec::new();
    for f in &fields {
        if let Some(e) = &f.error {
            summary.push((f.name.to_owned(), f.label.to_owned(), e.clone()));
        }
    }
    for s in &safeguards {
        if let Some(e) = &s.error {
            summary.push((s.name.clone(), s.label.clone(), e.clone()));
        }
    }
    let page = RegisterPage {
        t,
        frame: me.frame(t.register_title).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        reg,
        can_edit: me.account.can(&site.id, Permission::EditRegister),
        saved,
        fields,
        safeguards,
        errors: summary,
        last_saved: (stored.updated_ms > 0)
            .then(|| (stored.updated_by.clone(), page::Utc(stored.updated_ms).to_string())),
    };
    page::render(status, &page)
}

/// `GET /sites/{site}/register`.
pub async fn show<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let config = published(&dash.store, &site).await?;
        let profile = profile(&dash.store, &site).await?;
        Ok::<_, Problem>((site, config, profile))
    };
    let (site, config, profile) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let reg = build(&site, &config, &profile, me.t.code);
    page(
        &me,
        &site,
        &reg,
        &profile,
        &profile,
        &[],
        query.saved.is_some(),
        StatusCode::OK,
    )
}

/// The profile form: its text fields, and `safeguard_<service>` for each
/// service whose data leave the EEA.
#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    controller: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    dpo_name: String,
    #[serde(default)]
    dpo_contact: String,
    #[serde(default)]
    representative: String,
    #[serde(default)]
    measures: String,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

/// The profile the form describes, for the services in `transfers` only
/// (a forged field for any other service is ignored), with the errors of
/// its choices: a value that is none of [`Safeguard::ALL`].
fn from_form(form: ProfileForm, transfers: &[&register::Transfer]) -> (RegisterProfile, Vec<FieldError>) {
    let mut safeguards = BTreeMap::new();
    let mut errors = Vec::new();
    for tr in transfers {
        let name = format!("safeguard_{}", tr.service_id);
        let Some(value) = form.rest.get(&name) else { continue };
        match Safeguard::parse(value) {
            Some(Safeguard::NoneYet) => {}
            Some(g) => {
                safeguards.insert(tr.service_id.clone(), g);
            }
            None => errors.push(FieldError {
                field: name,
                problem: FieldProblem::NotAChoice,
            }),
        }
    }
    // Browsers send line breaks in a textarea as CRLF; keep them as typed
    // but in one form.
    let text = |s: String| s.replace("\r\n", "\n");
    let profile = RegisterProfile {
        controller: form.controller,
        address: text(form.address),
        email: form.email,
        phone: form.phone,
        dpo_name: form.dpo_name,
        dpo_contact: form.dpo_contact,
        representative: text(form.representative),
        safeguards,
        measures: text(form.measures),
        updated_ms: 0,
        updated_by: String::new(),
    };
    (profile, errors)
}

/// `POST /sites/{site}/register`: saves the profile, or shows the form
/// again (422) with each field's problem and everything as typed.
pub async fn save<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<ProfileForm>,
) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, Permission::EditRegister).await?;
        let config = published(&dash.store, &site).await?;
        let stored = profile(&dash.store, &site).await?;
        Ok::<_, Problem>((site, config, stored))
    };
    let (site, config, stored) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let current = build(&site, &config, &stored, me.t.code);
    let (mut typed, mut errors) = from_form(form, &transfer_services(&current));
    if let Err(e) = typed.validate() {
        errors.extend(e);
    }
    if !errors.is_empty() {
        let reg = build(&site, &config, &stored, me.t.code);
        return page(
            &me,
            &site,
            &reg,
            &typed,
            &stored,
            &errors,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    typed.updated_ms = now_ms();
    typed.updated_by = me.account.username.clone();
    let stored = async {
        let body = serde_json::to_vec(&typed).map_err(|_| Problem::Unavailable)?;
        dash.store
            .put_record(&site.id, RecordKind::Register, PROFILE_ID, &body)
            .await?;
        crate::audit::record(&dash.store, &site.id, &me, AuditAction::RegisterUpdated).await
    };
    if let Err(problem) = stored.await {
        return me.problem(problem);
    }
    Redirect::to(&format!("{BASE}/sites/{}/register?saved=1#saved", site.id)).into_response()
}

/// The export formats.
#[derive(Clone, Copy)]
enum Format {
    Csv,
    Json,
    Html,
}

/// The file name of an export: the site and the start of the version.
fn file_name(site: &Site, version: &ConfigVersion, ext: &str) -> String {
    let short: String = version.0.chars().take(12).collect();
    format!("register-{}-{short}.{ext}", site.id)
}

async fn export<S: Store>(dash: &crate::Dash<S>, me: &LoggedIn, site: &str, format: Format) -> Response {
    let found = async {
        let site = sites::find(&dash.store, me, site, Permission::View).await?;
        let config = published(&dash.store, &site).await?;
        let profile = profile(&dash.store, &site).await?;
        Ok::<_, Problem>((site, config, profile))
    };
    let (site, config, profile) = match found.await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let reg = build(&site, &config, &profile, me.t.code);
    let (body, content_type, disposition, ext) = match format {
        Format::Csv => (register::csv(&reg), "text/csv; charset=utf-8", "attachment", "csv"),
        Format::Json => match serde_json::to_string_pretty(&reg) {
            Ok(json) => (json, "application/json", "attachment", "json"),
            Err(_) => return me.problem(Problem::Unavailable),
        },
        Format::Html => {
            let doc = RegisterExport {
                t: me.t,
                reg: &reg,
                style: EXPORT_STYLE,
            };
            match doc.render() {
                Ok(html) => (html, "text/html; charset=utf-8", "inline", "html"),
                Err(_) => return me.problem(Problem::Unavailable),
            }
        }
    };
    let mut res = body.into_response();
    page::secure(&mut res);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The name holds only the site id (a slug) and hex: a valid header.
    let name = file_name(&site, &reg.config_version, ext);
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if matches!(format, Format::Html) {
        let csp = format!(
            "default-src 'none'; style-src '{EXPORT_STYLE_CSP}'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    res
}

/// `GET /sites/{site}/register.csv`.
pub async fn csv<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    export(&dash, &me, &site, Format::Csv).await
}

/// `GET /sites/{site}/register.json`.
pub async fn json<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    export(&dash, &me, &site, Format::Json).await
}

/// `GET /sites/{site}/register.html`: standalone, for printing or keeping.
pub async fn html<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    export(&dash, &me, &site, Format::Html).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(id: &str) -> register::Transfer {
        register::Transfer {
            service_id: id.into(),
            service: id.into(),
            company: "X Inc.".into(),
            country: "US".into(),
            country_name: String::new(),
            adequacy_decision: None,
            safeguard: None,
            basis: String::new(),
            covered: false,
        }
    }

    #[test]
    fn the_form_keeps_choices_for_listed_services_only_and_flags_unknown_values() {
        let form = ProfileForm {
            controller: "Shop".into(),
            address: "Street 1\r\nTown".into(),
            email: "a@b.nl".into(),
            phone: String::new(),
            dpo_name: String::new(),
            dpo_contact: String::new(),
            representative: String::new(),
            measures: String::new(),
            rest: BTreeMap::from([
                ("safeguard_fullstory".into(), "dpf".into()),
                ("safeguard_snap".into(), "none_yet".into()),
                ("safeguard_other".into(), "scc".into()),
                ("safeguard_bad".into(), "whatever".into()),
            ]),
        };
        let listed = [transfer("fullstory"), transfer("snap"), transfer("bad")];
        let listed: Vec<&register::Transfer> = listed.iter().collect();
        let (p, errors) = from_form(form, &listed);
        assert_eq!(p.safeguards.len(), 1);
        assert_eq!(p.safeguards["fullstory"], Safeguard::Dpf);
        assert_eq!(p.address, "Street 1\nTown");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "safeguard_bad");
    }
}
