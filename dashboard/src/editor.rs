//! The configuration as forms: a site's categories, services with their
//! cookies, texts per language, languages, and theme and behaviour, each
//! edited in a form of its own that checks every field and says what is
//! wrong next to the field it concerns, keeping everything typed.
//!
//! Every form starts from the site's draft (or, without one, the published
//! configuration), applies what was posted, checks the fields one by one and
//! then the whole configuration ([`SiteConfig::validate`], whose error names
//! a field path that is mapped back to the form's input), and saves the
//! result as the site's draft ([`crate::draft::save`]): nothing a visitor
//! sees changes until someone allowed to publishes it.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::account::Permission;
use consent_core::config::{
    BUILT_IN_LANGUAGES, Category, ConfigError, CookieDecl, Label, LegalBasis, MAX_RADIUS_PX, MAX_REFUSAL_MONTHS,
    MAX_TEXT_LEN, MIN_REFUSAL_MONTHS, Position, Service,
};
use consent_core::draft::Draft;
use consent_core::store::{Site, Store};
use consent_core::{SiteConfig, banner};
use serde::Deserialize;

use crate::i18n::Texts;
use crate::page::{self, Frame, Problem, Utc};
use crate::session::{CsrfForm, LoggedIn};
use crate::{BASE, Dash, St, draft, sites};

/// A posted form: input name → value (the CSRF token taken out).
pub type Values = BTreeMap<String, String>;

/// The longest a cookie may be declared to last, in days, as the form
/// accepts it: ten years. Browsers cap a cookie's lifetime at 400 days
/// (RFC 6265bis, "Limits on cookie lifetime",
/// <https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-the-expires-attribute>),
/// but storage keys have no expiry, and vendors declare longer ones.
const MAX_RETENTION_DAYS: u32 = 3650;
/// The longest Consent Mode `wait_for_update` the form accepts: a minute
/// (Google tags hold their hits that long at most, see
/// <https://developers.google.com/tag-platform/security/guides/consent#wait_for_update>).
const MAX_WAIT_MS: u32 = 60_000;

/// Where the draft stands, shown on top of every editor page.
pub struct Banner {
    pub by: String,
    pub at: String,
    /// Someone published since this draft was started: publishing it
    /// replaces what they published.
    pub stale: bool,
}

impl Banner {
    pub fn of(draft: Option<&Draft>, site: &Site) -> Option<Banner> {
        draft.map(|d| Banner {
            by: d.by.clone(),
            at: Utc(d.saved_ms).to_string(),
            stale: d.based_on != site.current_version,
        })
    }
}

/// One input of a form, with what it shows and, after a failed save, what
/// is wrong with it.
pub struct Field {
    pub name: String,
    /// `{form id}-{name}`: the input's id.
    pub id: String,
    pub label: String,
    /// `text`, `url`, `number`, `color`, `textarea`, `checkbox`, `select`.
    pub kind: &'static str,
    pub value: String,
    pub placeholder: String,
    pub hint: String,
    pub error: Option<String>,
    /// A select's choices (value, label).
    pub options: Vec<(String, String)>,
    /// A number's bounds.
    pub min: u32,
    pub max: u32,
    /// A colour's picker value (`#rrggbb`, the default when empty).
    pub picker: String,
    /// `aria-describedby`: the error's and the hint's ids.
    pub described_by: String,
}

impl Field {
    fn new(name: impl Into<String>, label: impl Into<String>, kind: &'static str, values: &Values) -> Field {
        let name = name.into();
        Field {
            value: values.get(&name).cloned().unwrap_or_default(),
            name,
            id: String::new(),
            label: label.into(),
            kind,
            placeholder: String::new(),
            hint: String::new(),
            error: None,
            options: Vec::new(),
            min: 0,
            max: 0,
            picker: String::new(),
            described_by: String::new(),
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Field {
        self.hint = hint.into();
        self
    }

    fn placeholder(mut self, placeholder: impl Into<String>) -> Field {
        self.placeholder = placeholder.into();
        self
    }

    fn options(mut self, options: Vec<(String, String)>) -> Field {
        self.options = options;
        self
    }

    fn range(mut self, min: u32, max: u32) -> Field {
        self.min = min;
        self.max = max;
        self
    }

    fn picker(mut self, default: &str) -> Field {
        self.picker = if is_colour(&self.value) {
            self.value.clone()
        } else {
            default.to_owned()
        };
        self
    }
}

/// A form of the editor: where it posts, its inputs, and its buttons.
pub struct Form {
    pub id: String,
    pub action: String,
    pub legend: String,
    pub fields: Vec<Field>,
    pub hidden: Vec<(String, String)>,
    pub submit: &'static str,
    /// A second button (`name=remove value=1`), e.g. "Remove".
    pub remove: Option<&'static str>,
}

impl Form {
    fn new(id: impl Into<String>, action: String, legend: impl Into<String>, submit: &'static str) -> Form {
        Form {
            id: id.into(),
            action,
            legend: legend.into(),
            fields: Vec::new(),
            hidden: Vec::new(),
            submit,
            remove: None,
        }
    }

    fn fields(mut self, fields: Vec<Field>) -> Form {
        self.fields = fields;
        self
    }

    fn removable(mut self, label: &'static str) -> Form {
        self.remove = Some(label);
        self
    }

    /// Puts `errors` next to their inputs, wiring ids and
    /// `aria-describedby`; the errors of inputs the form lacks are
    /// returned, to be shown above it.
    fn finish(mut self, errors: &mut Errors) -> Form {
        for f in &mut self.fields {
            f.id = format!("{}-{}", self.id, f.name);
            f.error = errors.0.remove(&f.name);
            let mut by = Vec::new();
            if f.error.is_some() {
                by.push(format!("{}-error", f.id));
            }
            if !f.hint.is_empty() {
                by.push(format!("{}-hint", f.id));
            }
            f.described_by = by.join(" ");
        }
        self
    }
}

/// What is wrong, by input name.
#[derive(Default)]
pub struct Errors(BTreeMap<String, String>);

impl Errors {
    fn add(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.0.entry(name.into()).or_insert_with(|| message.into());
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whatever no input of the page took: shown above the forms.
    fn rest(self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        Some(
            self.0
                .into_iter()
                .map(|(k, v)| if k.is_empty() { v } else { format!("{k}: {v}") })
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// An editor page: one or more forms.
#[derive(Template)]
#[template(path = "config_form.html")]
struct FormPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    banner: Option<Banner>,
    saved: bool,
    problem: Option<String>,
    intro: Vec<String>,
    /// A link under the intro (text, href).
    link: Option<(&'static str, String)>,
    forms: Vec<Form>,
}

struct PageParts {
    title: &'static str,
    /// The id of the form whose save failed, when the page has several
    /// (they share input names): only it shows the errors.
    failed: Option<String>,
    intro: Vec<String>,
    link: Option<(&'static str, String)>,
    forms: Vec<Form>,
}

impl PageParts {
    fn new(title: &'static str, forms: Vec<Form>) -> PageParts {
        PageParts {
            title,
            failed: None,
            intro: Vec::new(),
            link: None,
            forms,
        }
    }
}

fn render(
    me: &LoggedIn,
    site: &Site,
    draft: Option<&Draft>,
    parts: PageParts,
    mut errors: Errors,
    saved: bool,
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let failed = parts.failed;
    let forms = parts
        .forms
        .into_iter()
        .map(|f| {
            if failed.as_ref().is_none_or(|id| *id == f.id) {
                f.finish(&mut errors)
            } else {
                f.finish(&mut Errors::default())
            }
        })
        .collect();
    let page = FormPage {
        t: me.t,
        frame: me.frame(parts.title).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        banner: Banner::of(draft, site),
        saved,
        problem: errors.rest(),
        intro: parts.intro,
        link: parts.link,
        forms,
    };
    page::render(status, &page)
}

#[derive(Deserialize)]
pub struct Saved {
    #[serde(default)]
    pub saved: Option<String>,
}

/// The site (with `p`), its draft or published configuration, and the draft.
async fn open<S: Store>(
    dash: &Dash<S>,
    me: &LoggedIn,
    site: &str,
    p: Permission,
) -> Result<(Site, SiteConfig, Option<Draft>), Problem> {
    let site = sites::find(&dash.store, me, site, p).await?;
    let (config, draft) = draft::load(&dash.store, &site).await?;
    Ok((site, config, draft))
}

/// Saves `config` as the draft and goes to `to` with the notice; a
/// failure of storage is a problem page.
async fn save_and_go<S: Store>(dash: &Dash<S>, me: &LoggedIn, site: &Site, config: SiteConfig, to: &str) -> Response {
    match draft::save(&dash.store, site, config, me).await {
        Ok(_) => {
            let sep = if to.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{to}{sep}saved=1")).into_response()
        }
        Err(problem) => me.problem(problem),
    }
}

fn config_path(site: &Site) -> String {
    format!("{BASE}/sites/{}/config", site.id)
}

/// Puts a validation error on the input it concerns: `name` maps the
/// error's field path to an input name (`None`: shown above the form).
fn place(e: ConfigError, errors: &mut Errors, name: impl Fn(&str) -> Option<String>) {
    match name(&e.field) {
        Some(input) => errors.add(input, e.message),
        None => errors.add("", format!("{}: {}", e.field, e.message)),
    }
}

fn trimmed(values: &Values, name: &str) -> String {
    values.get(name).map(|v| v.trim().to_owned()).unwrap_or_default()
}

fn checked(values: &Values, name: &str) -> bool {
    values.get(name).is_some_and(|v| !v.is_empty())
}

/// An optional text: `None` when empty.
fn optional(values: &Values, name: &str) -> Option<String> {
    Some(trimmed(values, name)).filter(|v| !v.is_empty())
}

/// A whole number in `min..=max`, else an error on the input.
fn number(values: &Values, name: &str, min: u32, max: u32, t: &Texts, errors: &mut Errors) -> Option<u32> {
    let raw = trimmed(values, name);
    match raw.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.add(name, format!("{} {min}–{max}", t.ed_whole_number));
            None
        }
    }
}

/// A text no longer than the configuration allows.
fn text(values: &Values, name: &str, t: &Texts, errors: &mut Errors) -> String {
    let v = trimmed(values, name);
    if v.len() > MAX_TEXT_LEN {
        errors.add(name, format!("{} {MAX_TEXT_LEN} bytes", t.ed_too_long));
    }
    v
}

fn is_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The site's languages, with their names where the widget knows them.
pub fn language_name(t: &Texts, lang: &str) -> String {
    let name = match lang {
        "nl" => t.ed_lang_nl,
        "en" => t.ed_lang_en,
        "de" => t.ed_lang_de,
        "fr" => t.ed_lang_fr,
        _ => return lang.to_owned(),
    };
    format!("{name} ({lang})")
}

// --- Categories --------------------------------------------------------

fn category_values(c: &Category) -> Values {
    let mut v = Values::new();
    v.insert("id".into(), c.id.clone());
    if c.required {
        v.insert("required".into(), "1".into());
    }
    if c.gpc_opt_out {
        v.insert("gpc_opt_out".into(), "1".into());
    }
    for (lang, label) in &c.labels {
        v.insert(format!("title_{lang}"), label.title.clone());
        v.insert(format!("description_{lang}"), label.description.clone());
    }
    v
}

fn category_form(t: &'static Texts, site: &Site, config: &SiteConfig, values: &Values, existing: Option<&str>) -> Form {
    let mut fields = Vec::new();
    let (action, legend, submit) = match existing {
        None => {
            fields.push(
                Field::new("id", t.ed_id, "text", values)
                    .hint(t.ed_id_hint)
                    .range(1, 64),
            );
            (
                format!("{}/categories", config_path(site)),
                t.ed_add_category.to_owned(),
                t.ed_add,
            )
        }
        Some(id) => (
            format!("{}/categories/{id}", config_path(site)),
            format!("{} {id}", t.ed_category),
            t.save,
        ),
    };
    fields.push(Field::new("required", t.ed_required, "checkbox", values).hint(t.ed_required_hint));
    fields.push(Field::new("gpc_opt_out", t.ed_gpc_opt_out, "checkbox", values).hint(t.ed_gpc_opt_out_hint));
    for lang in &config.languages {
        let builtin = existing.map(|id| banner::text(config, lang, &format!("cat_{id}")));
        let builtin_d = existing.map(|id| banner::text(config, lang, &format!("cat_{id}_d")));
        fields.push(
            Field::new(
                format!("title_{lang}"),
                format!("{} · {}", t.ed_name, language_name(t, lang)),
                "text",
                values,
            )
            .placeholder(builtin.unwrap_or_default()),
        );
        fields.push(
            Field::new(
                format!("description_{lang}"),
                format!("{} · {}", t.ed_description, language_name(t, lang)),
                "textarea",
                values,
            )
            .placeholder(builtin_d.unwrap_or_default()),
        );
    }
    let form = Form::new("category", action, legend, submit).fields(fields);
    match existing {
        Some(_) => form.removable(t.ed_remove),
        None => form,
    }
}

/// Applies a category form to `c` (its id is set by the caller).
fn apply_category(c: &mut Category, config: &SiteConfig, values: &Values, t: &Texts, errors: &mut Errors) {
    c.required = checked(values, "required");
    c.gpc_opt_out = checked(values, "gpc_opt_out");
    if c.required && c.gpc_opt_out {
        errors.add("gpc_opt_out", t.ed_gpc_required);
    }
    for lang in &config.languages {
        let title = text(values, &format!("title_{lang}"), t, errors);
        let description = text(values, &format!("description_{lang}"), t, errors);
        if title.is_empty() && description.is_empty() {
            c.labels.remove(lang);
        } else {
            c.labels.insert(lang.clone(), Label { title, description });
        }
    }
}

/// Maps a validation error of category `i` to the form's input.
fn category_input(i: usize, id: &str) -> impl Fn(&str) -> Option<String> {
    let prefix = format!("categories/{i}/");
    let necessary = id == "necessary";
    move |path: &str| {
        if path == "categories" && necessary {
            return Some("required".into());
        }
        let rest = path.strip_prefix(&prefix)?;
        if let Some(label) = rest.strip_prefix("labels/") {
            let (lang, part) = label.split_once('/')?;
            return Some(format!("{part}_{lang}"));
        }
        Some(rest.to_owned())
    }
}

/// `GET /sites/{site}/config/categories`: the form for a new category.
pub async fn new_category<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok((site, config, draft)) => {
            let form = category_form(me.t, &site, &config, &Values::new(), None);
            render(
                &me,
                &site,
                draft.as_ref(),
                PageParts::new(me.t.ed_add_category, vec![form]),
                Errors::default(),
                false,
            )
        }
        Err(problem) => me.problem(problem),
    }
}

/// `POST /sites/{site}/config/categories`: adds a category at the end.
pub async fn add_category<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let mut errors = Errors::default();
    let id = trimmed(&form, "id");
    let mut c = Category {
        id: id.clone(),
        required: false,
        gpc_opt_out: false,
        labels: BTreeMap::new(),
    };
    if config.category(&id).is_some() {
        errors.add("id", t.ed_duplicate_id);
    }
    apply_category(&mut c, &config, &form, t, &mut errors);
    let mut new = config.clone();
    new.categories.push(c);
    if errors.is_empty()
        && let Err(e) = new.validate()
    {
        place(e, &mut errors, category_input(new.categories.len() - 1, &id));
    }
    if !errors.is_empty() {
        let f = category_form(t, &site, &config, &form, None);
        return render(
            &me,
            &site,
            draft.as_ref(),
            PageParts::new(t.ed_add_category, vec![f]),
            errors,
            false,
        );
    }
    save_and_go(&dash, &me, &site, new, &config_path(&site)).await
}

/// `GET /sites/{site}/config/categories/{id}`: a category's form.
pub async fn category<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path((site, id)): Path<(String, String)>,
    Query(q): Query<Saved>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let Some(c) = config.category(&id) else {
        return me.problem(Problem::NotFound);
    };
    let form = category_form(me.t, &site, &config, &category_values(c), Some(&id));
    render(
        &me,
        &site,
        draft.as_ref(),
        PageParts::new(me.t.ed_category, vec![form]),
        Errors::default(),
        q.saved.is_some(),
    )
}

/// `POST /sites/{site}/config/categories/{id}`: saves a category, or
/// removes it (`remove`); a category with services asks first whether to
/// move them (`services=move:<category>`) or remove them
/// (`services=remove`).
pub async fn save_category<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let Some(i) = config.categories.iter().position(|c| c.id == id) else {
        return me.problem(Problem::NotFound);
    };
    if checked(&form, "remove") {
        return remove_category(&dash, &me, &site, config, draft.as_ref(), i, &form).await;
    }
    let mut errors = Errors::default();
    let mut new = config.clone();
    apply_category(&mut new.categories[i], &config, &form, t, &mut errors);
    if errors.is_empty()
        && let Err(e) = new.validate()
    {
        place(e, &mut errors, category_input(i, &id));
    }
    if !errors.is_empty() {
        let f = category_form(t, &site, &config, &form, Some(&id));
        return render(
            &me,
            &site,
            draft.as_ref(),
            PageParts::new(t.ed_category, vec![f]),
            errors,
            false,
        );
    }
    save_and_go(&dash, &me, &site, new, &config_path(&site)).await
}

async fn remove_category<S: Store>(
    dash: &Dash<S>,
    me: &LoggedIn,
    site: &Site,
    config: SiteConfig,
    draft: Option<&Draft>,
    i: usize,
    form: &Values,
) -> Response {
    let t = me.t;
    let id = config.categories[i].id.clone();
    let in_it: Vec<&Service> = config.services.iter().filter(|s| s.category == id).collect();
    let choice = trimmed(form, "services");
    let others: Vec<&Category> = config.categories.iter().filter(|c| c.id != id).collect();
    let mut errors = Errors::default();
    if id == "necessary" {
        errors.add("", t.ed_necessary_stays);
    }
    let move_to = choice.strip_prefix("move:").map(str::to_owned);
    if let Some(to) = &move_to
        && !others.iter().any(|c| &c.id == to)
    {
        errors.add("services", t.ed_unknown_category);
    }
    if !in_it.is_empty() && (choice.is_empty() || !errors.is_empty()) {
        // Ask what becomes of its services first.
        let mut options: Vec<(String, String)> = others
            .iter()
            .map(|c| (format!("move:{}", c.id), format!("{} {}", t.ed_move_to, c.id)))
            .collect();
        options.push(("remove".into(), t.ed_remove_services.into()));
        let mut values = Values::new();
        values.insert("services".into(), choice.clone());
        let mut f = Form::new(
            "remove",
            format!("{}/categories/{id}", config_path(site)),
            format!("{} {id}", t.ed_remove_category),
            t.ed_remove,
        )
        .fields(vec![
            Field::new("services", t.ed_its_services, "select", &values).options(options),
        ]);
        f.hidden.push(("remove".into(), "1".into()));
        let names: Vec<String> = in_it.iter().map(|s| format!("{} ({})", s.name, s.id)).collect();
        let mut parts = PageParts::new(t.ed_remove_category, vec![f]);
        parts
            .intro
            .push(format!("{} {}", t.ed_category_has_services, names.join(", ")));
        return render(me, site, draft, parts, errors, false);
    }
    if !errors.is_empty() {
        let f = category_form(t, site, &config, &category_values(&config.categories[i]), Some(&id));
        return render(me, site, draft, PageParts::new(t.ed_category, vec![f]), errors, false);
    }
    let mut new = config.clone();
    new.categories.remove(i);
    match &move_to {
        Some(to) => {
            for s in new.services.iter_mut().filter(|s| s.category == id) {
                s.category = to.clone();
            }
        }
        None => new.services.retain(|s| s.category != id),
    }
    // Its built-in texts' overrides go with it.
    for texts in new.texts.values_mut() {
        texts.remove(&format!("cat_{id}"));
        texts.remove(&format!("cat_{id}_d"));
    }
    if let Err(e) = new.validate() {
        // A Consent Mode signal naming a category of the site's own: the
        // mapping is for the advanced (JSON) view to change, not to guess.
        errors.add("", format!("{}: {}", e.field, e.message));
        let f = category_form(t, site, &config, &category_values(&config.categories[i]), Some(&id));
        return render(me, site, draft, PageParts::new(t.ed_category, vec![f]), errors, false);
    }
    save_and_go(dash, me, site, new, &config_path(site)).await
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    to: String,
}

/// `POST /sites/{site}/config/categories/{id}/move`: one place up
/// (`to=up`) or down (`to=down`) in the order visitors see.
pub async fn move_category<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<MoveForm>,
) -> Response {
    let (site, config, _) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let Some(i) = config.categories.iter().position(|c| c.id == id) else {
        return me.problem(Problem::NotFound);
    };
    let j = match form.to.as_str() {
        "up" if i > 0 => i - 1,
        "down" if i + 1 < config.categories.len() => i + 1,
        _ => return Redirect::to(&config_path(&site)).into_response(),
    };
    let mut new = config;
    new.categories.swap(i, j);
    save_and_go(&dash, &me, &site, new, &config_path(&site)).await
}

// --- Services and their cookies ---------------------------------------

fn service_values(s: &Service) -> Values {
    let mut v = Values::new();
    v.insert("id".into(), s.id.clone());
    v.insert("name".into(), s.name.clone());
    v.insert("category".into(), s.category.clone());
    v.insert("provider".into(), s.provider.clone());
    v.insert(
        "privacy_policy_url".into(),
        s.privacy_policy_url.clone().unwrap_or_default(),
    );
    v.insert("hosts".into(), s.hosts.join("\n"));
    for (lang, d) in &s.description {
        v.insert(format!("description_{lang}"), d.clone());
    }
    v
}

fn service_form(t: &'static Texts, site: &Site, config: &SiteConfig, values: &Values, existing: Option<&str>) -> Form {
    let mut fields = Vec::new();
    let (action, legend, submit) = match existing {
        None => {
            fields.push(Field::new("id", t.ed_id, "text", values).hint(t.ed_id_hint));
            (
                format!("{}/services", config_path(site)),
                t.ed_add_service.to_owned(),
                t.ed_add,
            )
        }
        Some(id) => (
            format!("{}/services/{id}", config_path(site)),
            format!("{} {id}", t.ed_service),
            t.save,
        ),
    };
    let categories = config.categories.iter().map(|c| (c.id.clone(), c.id.clone())).collect();
    fields.push(Field::new("name", t.ed_name, "text", values));
    fields.push(Field::new("category", t.ed_category, "select", values).options(categories));
    fields.push(Field::new("provider", t.ed_provider, "text", values).hint(t.ed_provider_hint));
    fields.push(Field::new("privacy_policy_url", t.ed_privacy_url, "url", values).placeholder("https://"));
    fields.push(Field::new("hosts", t.ed_hosts, "textarea", values).hint(t.ed_hosts_hint));
    for lang in &config.languages {
        fields.push(Field::new(
            format!("description_{lang}"),
            format!("{} · {}", t.ed_description, language_name(t, lang)),
            "textarea",
            values,
        ));
    }
    let form = Form::new("service", action, legend, submit).fields(fields);
    match existing {
        Some(_) => form.removable(t.ed_remove),
        None => form,
    }
}

fn apply_service(s: &mut Service, config: &SiteConfig, values: &Values, t: &Texts, errors: &mut Errors) {
    s.name = text(values, "name", t, errors);
    if s.name.is_empty() {
        errors.add("name", t.ed_needed);
    }
    s.category = trimmed(values, "category");
    if config.category(&s.category).is_none() {
        errors.add("category", t.ed_unknown_category);
    }
    s.provider = text(values, "provider", t, errors);
    s.privacy_policy_url = optional(values, "privacy_policy_url");
    s.hosts = trimmed(values, "hosts")
        .lines()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    for lang in &config.languages {
        let d = text(values, &format!("description_{lang}"), t, errors);
        if d.is_empty() {
            s.description.remove(lang);
        } else {
            s.description.insert(lang.clone(), d);
        }
    }
}

/// Maps a validation error of service `i` to the service form's input.
fn service_input(i: usize) -> impl Fn(&str) -> Option<String> {
    let prefix = format!("services/{i}/");
    move |path: &str| {
        let rest = path.strip_prefix(&prefix)?;
        if rest.starts_with("hosts/") {
            return Some("hosts".into());
        }
        if rest.starts_with("cookies") {
            return None;
        }
        Some(rest.to_owned())
    }
}

fn cookie_values(c: &CookieDecl) -> Values {
    let mut v = Values::new();
    v.insert("name".into(), c.name.clone());
    v.insert("domain".into(), c.domain.clone().unwrap_or_default());
    v.insert("purpose".into(), c.purpose.clone());
    v.insert("retention".into(), c.retention.clone());
    v.insert(
        "retention_days".into(),
        c.retention_days.map(|d| d.to_string()).unwrap_or_default(),
    );
    v.insert("country".into(), c.country.clone());
    v.insert("legal_basis".into(), legal_basis_name(c.legal_basis).into());
    v
}

fn legal_basis_name(b: LegalBasis) -> &'static str {
    match b {
        LegalBasis::Consent => "consent",
        LegalBasis::LegitimateInterest => "legitimate_interest",
        LegalBasis::Contract => "contract",
        LegalBasis::LegalObligation => "legal_obligation",
    }
}

fn cookie_form(t: &'static Texts, site: &Site, service: &str, values: &Values, n: Option<usize>) -> Form {
    let bases = vec![
        ("consent".to_owned(), t.ed_basis_consent.to_owned()),
        ("legitimate_interest".to_owned(), t.ed_basis_legitimate.to_owned()),
        ("contract".to_owned(), t.ed_basis_contract.to_owned()),
        ("legal_obligation".to_owned(), t.ed_basis_legal.to_owned()),
    ];
    let fields = vec![
        Field::new("name", t.ed_cookie_name, "text", values).hint(t.ed_cookie_name_hint),
        Field::new("domain", t.ed_cookie_domain, "text", values).hint(t.ed_cookie_domain_hint),
        Field::new("purpose", t.ed_purpose, "textarea", values),
        Field::new("retention", t.ed_retention, "text", values).hint(t.ed_retention_hint),
        Field::new("retention_days", t.ed_retention_days, "number", values).range(0, MAX_RETENTION_DAYS),
        Field::new("country", t.ed_country, "text", values).hint(t.ed_country_hint),
        Field::new("legal_basis", t.ed_legal_basis, "select", values).options(bases),
    ];
    let base = format!("{}/services/{service}/cookies", config_path(site));
    match n {
        None => Form::new("cookie-new", base, t.ed_add_cookie, t.ed_add).fields(fields),
        Some(n) => {
            let name = values.get("name").cloned().unwrap_or_default();
            Form::new(
                format!("cookie-{n}"),
                format!("{base}/{n}"),
                format!("{} {name}", t.ed_cookie),
                t.save,
            )
            .fields(fields)
            .removable(t.ed_remove)
        }
    }
}

fn apply_cookie(c: &mut CookieDecl, values: &Values, t: &Texts, errors: &mut Errors) {
    c.name = trimmed(values, "name");
    c.domain = optional(values, "domain").map(|d| d.to_ascii_lowercase());
    if let Some(d) = &c.domain {
        let bare = d.strip_prefix('.').unwrap_or(d);
        let ok = bare.len() <= 253
            && bare.contains('.')
            && bare
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !ok {
            errors.add("domain", t.ed_bad_domain);
        }
    }
    c.purpose = text(values, "purpose", t, errors);
    c.retention = text(values, "retention", t, errors);
    c.retention_days = if trimmed(values, "retention_days").is_empty() {
        None
    } else {
        number(values, "retention_days", 0, MAX_RETENTION_DAYS, t, errors)
    };
    c.country = trimmed(values, "country").to_ascii_uppercase();
    let iso = c.country.len() == 2 && c.country.bytes().all(|b| b.is_ascii_uppercase());
    if !c.country.is_empty() && !iso {
        errors.add("country", t.ed_bad_country);
    }
    c.legal_basis = match trimmed(values, "legal_basis").as_str() {
        "" | "consent" => LegalBasis::Consent,
        "legitimate_interest" => LegalBasis::LegitimateInterest,
        "contract" => LegalBasis::Contract,
        "legal_obligation" => LegalBasis::LegalObligation,
        _ => {
            errors.add("legal_basis", t.ed_bad_choice);
            LegalBasis::Consent
        }
    };
}

fn cookie_input(i: usize, j: usize) -> impl Fn(&str) -> Option<String> {
    let prefix = format!("services/{i}/cookies/{j}/");
    move |path: &str| path.strip_prefix(&prefix).map(str::to_owned)
}

/// The page of service `id`: its form, a form per cookie, one to add a
/// cookie. `failed` replaces one form's values by what was typed:
/// `(None, _)` the service's, `(Some(n), _)` cookie `n`'s (`usize::MAX`:
/// the new cookie's).
fn service_page(
    t: &'static Texts,
    site: &Site,
    config: &SiteConfig,
    id: &str,
    failed: Option<(Option<usize>, &Values)>,
) -> PageParts {
    let s = config.service(id).expect("the caller found it");
    let mut forms = Vec::new();
    let values = match failed {
        Some((None, typed)) => typed.clone(),
        _ => service_values(s),
    };
    forms.push(service_form(t, site, config, &values, Some(id)));
    for (n, c) in s.cookies.iter().enumerate() {
        let values = match failed {
            Some((Some(m), typed)) if m == n => typed.clone(),
            _ => cookie_values(c),
        };
        forms.push(cookie_form(t, site, id, &values, Some(n)));
    }
    let values = match failed {
        Some((Some(usize::MAX), typed)) => typed.clone(),
        _ => Values::new(),
    };
    forms.push(cookie_form(t, site, id, &values, None));
    let mut parts = PageParts::new(t.ed_service, forms);
    parts.link = Some((t.ed_from_catalogue, format!("{BASE}/sites/{}/services", site.id)));
    parts.failed = failed.map(|(which, _)| match which {
        None => "service".to_owned(),
        Some(usize::MAX) => "cookie-new".to_owned(),
        Some(n) => format!("cookie-{n}"),
    });
    parts
}

/// `GET /sites/{site}/config/services`: the form for a new service.
pub async fn new_service<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok((site, config, draft)) => {
            let form = service_form(me.t, &site, &config, &Values::new(), None);
            let mut parts = PageParts::new(me.t.ed_add_service, vec![form]);
            parts.link = Some((me.t.ed_from_catalogue, format!("{BASE}/sites/{}/services", site.id)));
            render(&me, &site, draft.as_ref(), parts, Errors::default(), false)
        }
        Err(problem) => me.problem(problem),
    }
}

/// `POST /sites/{site}/config/services`: adds a service, then shows it
/// (to add its cookies).
pub async fn add_service<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let mut errors = Errors::default();
    let id = trimmed(&form, "id");
    if config.service(&id).is_some() {
        errors.add("id", t.ed_duplicate_id);
    }
    let mut s = Service {
        id: id.clone(),
        name: String::new(),
        category: String::new(),
        provider: String::new(),
        privacy_policy_url: None,
        hosts: Vec::new(),
        cookies: Vec::new(),
        description: BTreeMap::new(),
    };
    apply_service(&mut s, &config, &form, t, &mut errors);
    let mut new = config.clone();
    new.services.push(s);
    if errors.is_empty()
        && let Err(e) = new.validate()
    {
        place(e, &mut errors, service_input(new.services.len() - 1));
    }
    if !errors.is_empty() {
        let f = service_form(t, &site, &config, &form, None);
        return render(
            &me,
            &site,
            draft.as_ref(),
            PageParts::new(t.ed_add_service, vec![f]),
            errors,
            false,
        );
    }
    let to = format!("{}/services/{id}", config_path(&site));
    save_and_go(&dash, &me, &site, new, &to).await
}

/// `GET /sites/{site}/config/services/{id}`: a service and its cookies.
pub async fn service<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path((site, id)): Path<(String, String)>,
    Query(q): Query<Saved>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    if config.service(&id).is_none() {
        return me.problem(Problem::NotFound);
    }
    let parts = service_page(me.t, &site, &config, &id, None);
    render(&me, &site, draft.as_ref(), parts, Errors::default(), q.saved.is_some())
}

/// `POST /sites/{site}/config/services/{id}`: saves a service, or removes
/// it (`remove`).
pub async fn save_service<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let Some(i) = config.services.iter().position(|s| s.id == id) else {
        return me.problem(Problem::NotFound);
    };
    let mut new = config.clone();
    if checked(&form, "remove") {
        new.services.remove(i);
        return save_and_go(&dash, &me, &site, new, &config_path(&site)).await;
    }
    let mut errors = Errors::default();
    apply_service(&mut new.services[i], &config, &form, t, &mut errors);
    if errors.is_empty()
        && let Err(e) = new.validate()
    {
        place(e, &mut errors, service_input(i));
    }
    if !errors.is_empty() {
        let parts = service_page(t, &site, &config, &id, Some((None, &form)));
        return render(&me, &site, draft.as_ref(), parts, errors, false);
    }
    let to = format!("{}/services/{id}", config_path(&site));
    save_and_go(&dash, &me, &site, new, &to).await
}

/// `POST /sites/{site}/config/services/{id}/cookies`: declares a cookie.
pub async fn add_cookie<S: Store>(
    State(dash): St<S>,
    Path((site, id)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    cookie_change(dash, me, site, id, None, form).await
}

/// `POST /sites/{site}/config/services/{id}/cookies/{n}`: saves cookie `n`
/// of the service, or removes it (`remove`).
pub async fn save_cookie<S: Store>(
    State(dash): St<S>,
    Path((site, id, n)): Path<(String, String, String)>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    // Not a number is no such cookie: the dashboard's not-found page after
    // the token and site checks, rather than axum's plain-text 400 before them.
    let n = n.parse().unwrap_or(usize::MAX);
    cookie_change(dash, me, site, id, Some(n), form).await
}

async fn cookie_change<S: Store>(
    dash: std::sync::Arc<Dash<S>>,
    me: LoggedIn,
    site: String,
    id: String,
    n: Option<usize>,
    form: Values,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let Some(i) = config.services.iter().position(|s| s.id == id) else {
        return me.problem(Problem::NotFound);
    };
    if n.is_some_and(|n| n >= config.services[i].cookies.len()) {
        return me.problem(Problem::NotFound);
    }
    let to = format!("{}/services/{id}", config_path(&site));
    let mut new = config.clone();
    let cookies = &mut new.services[i].cookies;
    if let Some(n) = n
        && checked(&form, "remove")
    {
        cookies.remove(n);
        return save_and_go(&dash, &me, &site, new, &to).await;
    }
    let mut errors = Errors::default();
    let j = match n {
        Some(n) => n,
        None => {
            cookies.push(serde_json::from_value(serde_json::json!({"name": ""})).expect("a cookie with a name"));
            cookies.len() - 1
        }
    };
    apply_cookie(&mut cookies[j], &form, t, &mut errors);
    if errors.is_empty()
        && let Err(e) = new.validate()
    {
        place(e, &mut errors, cookie_input(i, j));
    }
    if !errors.is_empty() {
        let which = Some(n.unwrap_or(usize::MAX));
        let parts = service_page(t, &site, &config, &id, Some((which, &form)));
        return render(&me, &site, draft.as_ref(), parts, errors, false);
    }
    save_and_go(&dash, &me, &site, new, &to).await
}

// --- Texts and languages ------------------------------------------------

/// The widget's text keys in the order of its built-in English texts
/// (`consent-widget/i18n/en.json`), then the loader's own.
fn text_keys() -> Vec<&'static str> {
    const EN: &str = include_str!("../../consent-widget/i18n/en.json");
    let mut keys: Vec<&'static str> = EN
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.split_once("\":").map(|(k, _)| k))
        .collect();
    keys.extend(consent_core::loader::LOADER_TEXT_KEYS);
    keys
}

fn texts_form(t: &'static Texts, site: &Site, lang: &str, values: &Values) -> Form {
    let fields = text_keys()
        .into_iter()
        .map(|key| {
            let default = builtin_text(lang, key);
            let kind = if default.len() > 60 { "textarea" } else { "text" };
            Field::new(format!("text_{key}"), key, kind, values).placeholder(default)
        })
        .collect();
    Form::new(
        "texts",
        format!("{}/texts/{lang}", config_path(site)),
        format!("{} · {}", t.ed_texts, language_name(t, lang)),
        t.save,
    )
    .fields(fields)
}

/// The text the widget shows for `key` in `lang` unless the site replaces it.
fn builtin_text(lang: &str, key: &str) -> String {
    if let Some(i) = consent_core::loader::LOADER_TEXT_KEYS.iter().position(|k| *k == key) {
        return consent_core::loader::built_in_loader_text(lang, i).to_owned();
    }
    banner::built_in_texts(lang).get(key).cloned().unwrap_or_default()
}

fn texts_values(config: &SiteConfig, lang: &str) -> Values {
    config
        .texts
        .get(lang)
        .map(|texts| texts.iter().map(|(k, v)| (format!("text_{k}"), v.clone())).collect())
        .unwrap_or_default()
}

/// `GET /sites/{site}/config/texts/{lang}`: every text of one language,
/// the built-in one as placeholder.
pub async fn texts<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path((site, lang)): Path<(String, String)>,
    Query(q): Query<Saved>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    if !config.languages.contains(&lang) {
        return me.problem(Problem::NotFound);
    }
    let form = texts_form(me.t, &site, &lang, &texts_values(&config, &lang));
    let mut parts = PageParts::new(me.t.ed_texts, vec![form]);
    parts.intro.push(me.t.ed_texts_intro.into());
    render(&me, &site, draft.as_ref(), parts, Errors::default(), q.saved.is_some())
}

/// `POST /sites/{site}/config/texts/{lang}`: the overrides of one
/// language; an empty text is the built-in one. Keys the form does not
/// show (the site's own) are kept.
pub async fn save_texts<S: Store>(
    State(dash): St<S>,
    Path((site, lang)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    if !config.languages.contains(&lang) {
        return me.problem(Problem::NotFound);
    }
    let t = me.t;
    let mut errors = Errors::default();
    let mut new = config.clone();
    let texts = new.texts.entry(lang.clone()).or_default();
    for key in text_keys() {
        let name = format!("text_{key}");
        // An override the same as the built-in text is no override.
        let v = text(&form, &name, t, &mut errors);
        if v.is_empty() || v == builtin_text(&lang, key) {
            texts.remove(key);
        } else {
            texts.insert(key.to_owned(), v);
        }
    }
    if texts.is_empty() {
        new.texts.remove(&lang);
    }
    let prefix = format!("texts/{lang}/");
    if errors.is_empty()
        && let Err(e) = new.validate()
    {
        place(e, &mut errors, |path| {
            path.strip_prefix(&prefix).map(|k| format!("text_{k}"))
        });
    }
    if !errors.is_empty() {
        let f = texts_form(t, &site, &lang, &form);
        return render(
            &me,
            &site,
            draft.as_ref(),
            PageParts::new(t.ed_texts, vec![f]),
            errors,
            false,
        );
    }
    let to = format!("{}/texts/{lang}", config_path(&site));
    save_and_go(&dash, &me, &site, new, &to).await
}

fn languages_form(t: &'static Texts, site: &Site, config: &SiteConfig, values: &Values) -> Form {
    let mut fields: Vec<Field> = BUILT_IN_LANGUAGES
        .iter()
        .map(|l| Field::new(format!("lang_{l}"), language_name(t, l), "checkbox", values))
        .collect();
    let mut firsts: Vec<(String, String)> = BUILT_IN_LANGUAGES
        .iter()
        .map(|l| ((*l).to_owned(), language_name(t, l)))
        .collect();
    for l in config
        .languages
        .iter()
        .filter(|l| !BUILT_IN_LANGUAGES.contains(&l.as_str()))
    {
        firsts.push((l.clone(), language_name(t, l)));
    }
    fields.push(
        Field::new("first", t.ed_first_language, "select", values)
            .options(firsts)
            .hint(t.ed_first_language_hint),
    );
    Form::new(
        "languages",
        format!("{}/languages", config_path(site)),
        t.ed_languages,
        t.save,
    )
    .fields(fields)
}

fn languages_values(config: &SiteConfig) -> Values {
    let mut v: Values = config
        .languages
        .iter()
        .map(|l| (format!("lang_{l}"), "1".to_owned()))
        .collect();
    if let Some(first) = config.languages.first() {
        v.insert("first".into(), first.clone());
    }
    v
}

/// `GET /sites/{site}/config/languages`.
pub async fn languages<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok((site, config, draft)) => {
            let form = languages_form(me.t, &site, &config, &languages_values(&config));
            let mut parts = PageParts::new(me.t.ed_languages, vec![form]);
            parts.intro.push(me.t.ed_languages_intro.into());
            render(&me, &site, draft.as_ref(), parts, Errors::default(), false)
        }
        Err(problem) => me.problem(problem),
    }
}

/// `POST /sites/{site}/config/languages`: which of nl/en/de/fr the banner
/// speaks and which comes first (the fallback); other languages the site
/// has (from the JSON view) stay. A language taken away takes its text
/// overrides with it.
pub async fn save_languages<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let mut errors = Errors::default();
    let mut new = config.clone();
    // Keep the site's order, then the newly ticked in the widget's order.
    let mut langs: Vec<String> = config
        .languages
        .iter()
        .filter(|l| !BUILT_IN_LANGUAGES.contains(&l.as_str()) || checked(&form, &format!("lang_{l}")))
        .cloned()
        .collect();
    for l in BUILT_IN_LANGUAGES {
        if checked(&form, &format!("lang_{l}")) && !langs.iter().any(|x| x == l) {
            langs.push(l.to_owned());
        }
    }
    let first = trimmed(&form, "first");
    match langs.iter().position(|l| *l == first) {
        Some(i) => {
            let l = langs.remove(i);
            langs.insert(0, l);
        }
        None if langs.is_empty() => errors.add(format!("lang_{}", BUILT_IN_LANGUAGES[0]), t.ed_one_language),
        None => errors.add("first", t.ed_first_not_offered),
    }
    new.languages = langs;
    new.texts.retain(|l, _| new.languages.contains(l));
    if errors.is_empty()
        && let Err(e) = new.validate()
    {
        place(e, &mut errors, |path| {
            path.starts_with("languages").then(|| "first".to_owned())
        });
    }
    if !errors.is_empty() {
        let f = languages_form(t, &site, &config, &form);
        return render(
            &me,
            &site,
            draft.as_ref(),
            PageParts::new(t.ed_languages, vec![f]),
            errors,
            false,
        );
    }
    save_and_go(&dash, &me, &site, new, &config_path(&site)).await
}

// --- Theme and behaviour -----------------------------------------------

fn settings_values(config: &SiteConfig) -> Values {
    let mut v = Values::new();
    v.insert("controller".into(), config.controller.clone());
    v.insert(
        "privacy_policy_url".into(),
        config.privacy_policy_url.clone().unwrap_or_default(),
    );
    v.insert("expiry_days".into(), config.expiry_days.to_string());
    v.insert("refusal_months".into(), config.refusal_months.to_string());
    v.insert("cookie_domain".into(), config.cookie_domain.clone().unwrap_or_default());
    v.insert("wait_for_update_ms".into(), config.wait_for_update_ms.to_string());
    let theme = &config.theme;
    for (name, value) in [
        ("accent", &theme.accent),
        ("accent_text", &theme.accent_text),
        ("background", &theme.background),
        ("text", &theme.text),
    ] {
        v.insert(name.into(), value.clone().unwrap_or_default());
    }
    v.insert(
        "radius_px".into(),
        theme.radius_px.map(|r| r.to_string()).unwrap_or_default(),
    );
    v.insert("position".into(), theme.position.as_str().into());
    v
}

/// The widget's own colours (`consent-widget/web/widget.css`, light mode),
/// which a colour picker starts from when the site sets none.
const WIDGET_COLOURS: [(&str, &str); 4] = [
    ("accent", "#0b57d0"),
    ("accent_text", "#ffffff"),
    ("background", "#ffffff"),
    ("text", "#1a1a1a"),
];

fn theme_fields(t: &'static Texts, values: &Values) -> Vec<Field> {
    let labels = [t.ed_accent, t.ed_accent_text, t.ed_background, t.ed_text_colour];
    let mut fields: Vec<Field> = WIDGET_COLOURS
        .iter()
        .zip(labels)
        .map(|((name, default), label)| {
            Field::new(*name, label, "color", values)
                .placeholder(*default)
                .hint(t.ed_colour_hint)
                .picker(default)
        })
        .collect();
    fields.push(
        Field::new("radius_px", t.ed_radius, "number", values)
            .range(0, u32::from(MAX_RADIUS_PX))
            .hint(t.ed_radius_hint),
    );
    let positions = Position::ALL
        .iter()
        .zip([
            t.ed_pos_bottom,
            t.ed_pos_top,
            t.ed_pos_bottom_left,
            t.ed_pos_bottom_right,
        ])
        .map(|(p, label)| (p.as_str().to_owned(), label.to_owned()))
        .collect();
    fields.push(Field::new("position", t.ed_position, "select", values).options(positions));
    fields
}

/// A colour input's value: the picker's when it was moved (it differs
/// from what it showed), else the text typed (empty: the widget's own).
fn colour(values: &Values, name: &str, t: &Texts, errors: &mut Errors) -> Option<String> {
    let pick = trimmed(values, &format!("{name}_pick")).to_ascii_lowercase();
    let shown = trimmed(values, &format!("{name}_shown")).to_ascii_lowercase();
    let typed = trimmed(values, name).to_ascii_lowercase();
    let value = if is_colour(&pick) && pick != shown { pick } else { typed };
    if value.is_empty() {
        return None;
    }
    if !is_colour(&value) {
        errors.add(name, t.ed_bad_colour);
    }
    Some(value)
}

fn apply_theme(new: &mut SiteConfig, values: &Values, t: &Texts, errors: &mut Errors) {
    let theme = &mut new.theme;
    theme.accent = colour(values, "accent", t, errors);
    theme.accent_text = colour(values, "accent_text", t, errors);
    theme.background = colour(values, "background", t, errors);
    theme.text = colour(values, "text", t, errors);
    theme.radius_px = if trimmed(values, "radius_px").is_empty() {
        None
    } else {
        number(values, "radius_px", 0, u32::from(MAX_RADIUS_PX), t, errors).and_then(|r| u8::try_from(r).ok())
    };
    theme.position = match Position::ALL.iter().find(|p| p.as_str() == trimmed(values, "position")) {
        Some(p) => *p,
        None => {
            errors.add("position", t.ed_bad_choice);
            Position::Bottom
        }
    };
}

fn settings_form(t: &'static Texts, site: &Site, values: &Values) -> Form {
    let fields = vec![
        Field::new("controller", t.ed_controller, "text", values).hint(t.ed_controller_hint),
        Field::new("privacy_policy_url", t.ed_privacy_url, "url", values).placeholder("https://"),
        Field::new("expiry_days", t.ed_expiry_days, "number", values)
            .range(1, 400)
            .hint(t.ed_expiry_days_hint),
        Field::new("refusal_months", t.ed_refusal_months, "number", values)
            .range(MIN_REFUSAL_MONTHS, MAX_REFUSAL_MONTHS)
            .hint(t.ed_refusal_months_hint),
        Field::new("cookie_domain", t.ed_cookie_domain_site, "text", values).hint(t.ed_cookie_domain_site_hint),
        Field::new("wait_for_update_ms", t.ed_wait, "number", values)
            .range(0, MAX_WAIT_MS)
            .hint(t.ed_wait_hint),
    ];
    let mut all = theme_fields(t, values);
    all.extend(fields);
    Form::new(
        "settings",
        format!("{}/theme", config_path(site)),
        t.ed_behaviour,
        t.save,
    )
    .fields(all)
}

fn apply_settings(new: &mut SiteConfig, values: &Values, t: &Texts, errors: &mut Errors) {
    new.controller = text(values, "controller", t, errors);
    new.privacy_policy_url = optional(values, "privacy_policy_url");
    if let Some(n) = number(values, "expiry_days", 1, 400, t, errors) {
        new.expiry_days = n;
    }
    if let Some(n) = number(
        values,
        "refusal_months",
        MIN_REFUSAL_MONTHS,
        MAX_REFUSAL_MONTHS,
        t,
        errors,
    ) {
        new.refusal_months = n;
    }
    new.cookie_domain = optional(values, "cookie_domain").map(|d| d.to_ascii_lowercase());
    if let Some(n) = number(values, "wait_for_update_ms", 0, MAX_WAIT_MS, t, errors) {
        new.wait_for_update_ms = n;
    }
}

/// `GET /sites/{site}/config/theme`: theme and behaviour.
pub async fn theme<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok((site, config, draft)) => {
            let form = settings_form(me.t, &site, &settings_values(&config));
            render(
                &me,
                &site,
                draft.as_ref(),
                PageParts::new(me.t.ed_behaviour, vec![form]),
                Errors::default(),
                false,
            )
        }
        Err(problem) => me.problem(problem),
    }
}

/// `POST /sites/{site}/config/theme`.
pub async fn save_theme<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<Values>,
) -> Response {
    let (site, config, draft) = match open(&dash, &me, &site, Permission::EditDraft).await {
        Ok(found) => found,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let mut errors = Errors::default();
    let mut new = config.clone();
    apply_theme(&mut new, &form, t, &mut errors);
    apply_settings(&mut new, &form, t, &mut errors);
    if errors.is_empty()
        && let Err(e) = new.validate()
    {
        place(e, &mut errors, |path| {
            Some(path.strip_prefix("theme/").unwrap_or(path).to_owned())
        });
    }
    if !errors.is_empty() {
        let f = settings_form(t, &site, &form);
        return render(
            &me,
            &site,
            draft.as_ref(),
            PageParts::new(t.ed_behaviour, vec![f]),
            errors,
            false,
        );
    }
    save_and_go(&dash, &me, &site, new, &config_path(&site)).await
}

/// `POST /sites/{site}/config/discard`: throws the draft away.
pub async fn discard<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, .. }: CsrfForm<crate::session::NoFields>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::EditDraft).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    match draft::discard(&dash.store, &site, &me).await {
        Ok(_) => Redirect::to(&config_path(&site)).into_response(),
        Err(problem) => me.problem(problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keys_are_the_widgets() {
        let keys = text_keys();
        assert_eq!(keys[0], "title");
        for key in banner::built_in_texts("en").keys() {
            assert!(keys.contains(&key.as_str()), "{key}");
        }
        assert!(keys.contains(&"reopen"));
    }

    #[test]
    fn validation_paths_find_their_inputs() {
        let f = service_input(2);
        assert_eq!(f("services/2/hosts/3").as_deref(), Some("hosts"));
        assert_eq!(f("services/2/category").as_deref(), Some("category"));
        assert_eq!(f("services/1/category"), None);
        let c = category_input(0, "analytics");
        assert_eq!(c("categories/0/labels/nl/title").as_deref(), Some("title_nl"));
        assert_eq!(cookie_input(1, 0)("services/1/cookies/0/name").as_deref(), Some("name"));
    }
}
