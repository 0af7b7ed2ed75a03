//! A site's configuration: the editor (JSON in a textarea, an error by
//! field above it), saving, and "Declare it", which drafts the current
//! configuration with a cookie from a scan added.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::account::Permission;
use consent_core::SiteConfig;
use consent_core::store::{Site, Store};
use serde::Deserialize;

use crate::i18n::Texts;
use crate::page::{self, Frame, Problem};
use crate::session::{CsrfForm, LoggedIn};
use crate::{BASE, St, sites};

#[derive(Template)]
#[template(path = "config.html")]
struct Editor<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    csrf: &'a str,
    text: &'a str,
    error: Option<FieldError>,
    /// Not saved yet: made by "Declare it".
    draft: bool,
}

/// What is wrong with the configuration, and where (`/`: the whole of it).
struct FieldError {
    field: String,
    message: String,
}

impl FieldError {
    fn new(field: String, message: String) -> Self {
        let field = if field.is_empty() { "/".to_owned() } else { field };
        FieldError { field, message }
    }
}

/// The editor with `text` in it; 422 when it shows an error.
fn editor(me: &LoggedIn, site: &Site, text: &str, error: Option<FieldError>, draft: bool) -> Response {
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let page = Editor {
        t: me.t,
        frame: me.frame(me.t.edit_config).about(site.id.as_str()),
        site: site.id.as_str(),
        csrf: &me.session.csrf,
        text,
        error,
        draft,
    };
    page::render(status, &page)
}

fn pretty(config: &SiteConfig) -> String {
    serde_json::to_string_pretty(config).unwrap_or_default()
}

/// The configuration the site serves now.
async fn current<S: Store>(store: &S, site: &Site) -> Result<SiteConfig, Problem> {
    store
        .config(&site.id, &site.current_version)
        .await?
        .ok_or(Problem::NotFound)
}

/// `GET /sites/{site}/config`.
pub async fn edit<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let config = current(&dash.store, &site).await?;
        Ok::<_, Problem>((site, config))
    };
    match found.await {
        Ok((site, config)) => editor(&me, &site, &pretty(&config), None, false),
        Err(problem) => me.problem(problem),
    }
}

#[derive(Deserialize)]
pub struct ConfigForm {
    #[serde(default)]
    config: String,
}

/// `POST /sites/{site}/config`: saves a valid configuration as the site's
/// new current one; an invalid one comes back in the editor with a 422.
pub async fn save<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<ConfigForm>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::Publish).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    let config: SiteConfig = match serde_json::from_str(&form.config) {
        Ok(config) => config,
        Err(e) => {
            let error = FieldError::new(String::new(), e.to_string());
            return editor(&me, &site, &form.config, Some(error), false);
        }
    };
    if let Err(e) = config.validate() {
        let error = FieldError::new(e.field, e.message);
        return editor(&me, &site, &form.config, Some(error), false);
    }
    match crate::draft::publish(&dash, &site, &config, &me).await {
        Ok(_) => Redirect::to(&format!("{BASE}/sites/{}", site.id)).into_response(),
        Err(problem) => me.problem(problem),
    }
}

#[derive(Deserialize)]
pub struct DeclareForm {
    cookie: String,
    #[serde(default)]
    platform: String,
}

/// `POST /sites/{site}/declare` ("Declare it"): the current configuration
/// with the cookie added, shown as a draft to review and save; nothing is
/// saved here.
pub async fn declare<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<DeclareForm>,
) -> Response {
    let drafted = async {
        let site = sites::find(&dash.store, &me, &site, Permission::Publish).await?;
        let mut config = current(&dash.store, &site).await?;
        add_cookie(&mut config, &form.cookie, &form.platform)?;
        Ok::<_, Problem>((site, config))
    };
    match drafted.await {
        Ok((site, config)) => editor(&me, &site, &pretty(&config), None, true),
        Err(problem) => me.problem(problem),
    }
}

/// Declares cookie `name` in `config`: under the service named like the
/// finding's `platform` (else `undeclared`), which is added, in the
/// marketing category (else the last one), if the configuration lacks it.
fn add_cookie(config: &mut SiteConfig, name: &str, platform: &str) -> Result<(), Problem> {
    let name: String = name.chars().take(200).collect();
    let cookie = serde_json::from_value(serde_json::json!({ "name": name })).map_err(|_| Problem::BadReport)?;
    let platform: String = platform
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_')
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let service_id = if platform.is_empty() {
        "undeclared".to_owned()
    } else {
        platform
    };
    match config.services.iter_mut().find(|sv| sv.id == service_id) {
        Some(service) => {
            if !service.cookies.iter().any(|k| k.name == name) {
                service.cookies.push(cookie);
            }
        }
        None => {
            let category = if config.categories.iter().any(|k| k.id == "marketing") {
                "marketing".to_owned()
            } else {
                config.categories.last().map(|k| k.id.clone()).unwrap_or_default()
            };
            let service = serde_json::from_value(serde_json::json!({
                "id": service_id, "name": service_id, "category": category, "cookies": [cookie],
            }))
            .map_err(|_| Problem::BadReport)?;
            config.services.push(service);
        }
    }
    Ok(())
}
