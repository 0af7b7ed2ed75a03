//! From nothing to a live banner: create a site (its id and the domains it
//! is served from), paste the snippet (with the Content-Security-Policy
//! lines and nonce advice), and check the installation: the server loads a
//! page of the site and says whether the loader is the first script in
//! `<head>` and synchronous, and which known trackers run before it or
//! escape it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::SiteId;
use consent_core::account::Permission;
use consent_core::account::SiteRole;
use consent_core::store::{Site, Store};
use serde::Deserialize;

use crate::host::{InstallOutcome, Installation, NewSite};
use crate::i18n::Texts;
use crate::page::{self, Frame};
use crate::session::{CsrfForm, LoggedIn};
use crate::{BASE, St, sites};

/// At most this many domains per new site (the API allows more, later).
const MAX_DOMAINS: usize = 20;

#[derive(Template)]
#[template(path = "site_new.html")]
struct NewSitePage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    csrf: &'a str,
    id: &'a str,
    domains: &'a str,
    /// The field refused and why.
    problem: Option<(String, String)>,
}

/// After a site was created (and its audit trail started, by the server's
/// use case): a member who created it becomes its owner, else they could
/// not reach it.
async fn created<S: Store>(store: &S, me: &LoggedIn, id: &str) -> Result<(), crate::page::Problem> {
    let site = SiteId::parse(id).map_err(|_| crate::page::Problem::NotFound)?;
    if !me.account.is_admin() {
        let mut account = me.account.clone();
        account.sites.insert(site, SiteRole::Owner);
        store.put_account(&account).await?;
    }
    Ok(())
}

/// `GET /sites/new`: the form.
pub async fn new_form(me: LoggedIn) -> Response {
    if !me.account.may_create_sites() {
        return me.problem(crate::page::Problem::NotAllowed);
    }
    let page = NewSitePage {
        t: me.t,
        frame: me.frame(me.t.new_site),
        csrf: &me.session.csrf,
        id: "",
        domains: "",
        problem: None,
    };
    page::render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct NewSiteForm {
    #[serde(default)]
    id: String,
    /// One per line: `shop.example.nl`, or a whole origin.
    #[serde(default)]
    domains: String,
}

/// The origins a visitor's browser sends for the domains typed: a bare
/// domain is its `https://` origin; an origin is kept as typed (normalised
/// by the server's check). Blank lines are skipped.
fn origins(domains: &str) -> Vec<String> {
    domains
        .split(['\n', ',', ' '])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            if d.contains("://") {
                d.trim_end_matches('/').to_owned()
            } else {
                format!("https://{}", d.trim_end_matches('/'))
            }
        })
        .collect()
}

/// `POST /sites`: creates the site, then on to picking its services
/// (`catalogue`) and from there to its installation page.
pub async fn create<S: Store>(State(dash): St<S>, CsrfForm { me, form }: CsrfForm<NewSiteForm>) -> Response {
    if !me.account.may_create_sites() {
        return me.problem(crate::page::Problem::NotAllowed);
    }
    let id = form.id.trim().to_owned();
    let origins = origins(&form.domains);
    let refused = |field: &str, message: String| {
        let page = NewSitePage {
            t: me.t,
            frame: me.frame(me.t.new_site),
            csrf: &me.session.csrf,
            id: &form.id,
            domains: &form.domains,
            problem: Some((field.to_owned(), message)),
        };
        page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    // `/sites/new` is this form: a site of that id could not be reached.
    if id == "new" {
        return refused("id", me.t.id_taken.to_owned());
    }
    if origins.is_empty() {
        return refused("domains", me.t.domains_needed.to_owned());
    }
    if origins.len() > MAX_DOMAINS {
        return refused("domains", format!("{} {MAX_DOMAINS}", me.t.at_most));
    }
    match dash
        .host
        .create_site(me.account.username.clone(), id.clone(), origins)
        .await
    {
        NewSite::Created => {
            if let Err(e) = created(&dash.store, &me, &id).await {
                return me.problem(e);
            }
            // First the services the site uses, then the snippet.
            Redirect::to(&format!("{BASE}/sites/{id}/services?new=1")).into_response()
        }
        NewSite::Refused { field, message } => {
            let field = if field.starts_with("allowed_origins") {
                "domains"
            } else {
                "id"
            };
            refused(field, message)
        }
        NewSite::Unavailable => me.problem(crate::page::Problem::Unavailable),
    }
}

#[derive(Template)]
#[template(path = "install.html")]
struct InstallPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    csrf: &'a str,
    site: &'a Site,
    snippet: String,
    public_url: String,
    /// The address to check, as typed (the first origin at first).
    url: String,
    checked: Option<Installation>,
    problem: Option<String>,
}

fn install_page<'a>(
    me: &'a LoggedIn,
    site: &'a Site,
    public_url: String,
    url: String,
    checked: Option<Installation>,
    problem: Option<String>,
) -> InstallPage<'a> {
    InstallPage {
        t: me.t,
        frame: me.frame(me.t.install_title).about(site.id.as_str()),
        csrf: &me.session.csrf,
        site,
        snippet: format!(
            "<script src=\"{public_url}/s/{}/loader.js\" crossorigin></script>",
            site.id
        ),
        public_url,
        url,
        checked,
        problem,
    }
}

/// `GET /sites/{site}/install`: the snippet, the CSP, and the check form.
pub async fn show<S: Store>(State(dash): St<S>, Path(site): Path<String>, me: LoggedIn) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::View).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    let first = site
        .allowed_origins
        .first()
        .map(|o| format!("{o}/"))
        .unwrap_or_default();
    let page = install_page(&me, &site, dash.host.public_url(), first, None, None);
    page::render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    url: String,
}

/// `POST /sites/{site}/install`: checks a page and shows what it found.
pub async fn check<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<CheckForm>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::Scan).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    let url = form.url.trim().to_owned();
    let (status, checked, problem) = match dash.host.check_installation(site.id.clone(), url.clone()).await {
        InstallOutcome::Checked(i) => (StatusCode::OK, Some(i), None),
        InstallOutcome::Refused(why) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(why)),
        InstallOutcome::Unavailable => return me.problem(crate::page::Problem::Unavailable),
    };
    let page = install_page(&me, &site, dash.host.public_url(), url, checked, problem);
    page::render(status, &page)
}

#[cfg(test)]
mod tests {
    use super::origins;

    #[test]
    fn domains_become_origins() {
        assert_eq!(
            origins("shop.example.nl\n www.shop.example.nl/ \n\nhttp://localhost:8000/,https://a.example"),
            [
                "https://shop.example.nl",
                "https://www.shop.example.nl",
                "http://localhost:8000",
                "https://a.example"
            ]
        );
        assert!(origins(" \n ").is_empty());
    }
}
