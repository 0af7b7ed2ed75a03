//! The dashboard: a router the server mounts at [`BASE`], speaking to
//! storage only through `consent-core`'s [`Store`] and to the server only
//! through [`Host`] (it never imports the server).
//!
//! - [`host`]: what the server provides: log-in, sessions, site caches, the scan queue.
//! - `session`: logging in and out; the logged-in-session extractor and CSRF-checked forms.
//! - `sites`: the site list and a site's page.
//! - `onboarding`: a new site, its snippet and CSP lines, "check my installation".
//! - `catalogue`: picking a site's services from the built-in vendor catalogue.
//! - `audit`: a site's audit trail: writing it (every change goes through it), its page and downloads.
//! - `people`: accounts (the admin's: invite, roles, reset, delete), one's own password, a site's members.
//! - `keys`: a site's API keys (list with last use, create, revoke).
//! - `versions`: publishing a draft (its changes by domain, whether visitors are asked again),
//!   the versions a site had (view, compare, restore as the draft).
//! - `preview`: the live preview of the draft: the real loader and widget in a sandboxed frame,
//!   by language and layer, recording nothing.
//! - `draft`: a site's draft configuration, saving, discarding and publishing it.
//! - `analytics`: a site's consent analytics (charts, tables, CSV).
//! - `proof`: a consent id's decisions, proof bundle and how to verify it.
//! - `register`: the register of processing (GDPR art. 30): the page, the owner's details, exports.
//! - `requests`: visitors' requests (GDPR art. 15 access, art. 17 erasure): deadline, export,
//!   erasure, closing.
//! - `config`: the configuration's overview, its JSON (advanced) view and "Declare it".
//! - `editor`: the configuration as forms (categories, services and cookies, texts, languages,
//!   theme and behaviour), each saving the site's draft.
//! - `scans`: scans, scan jobs ("Scan now", progress), schedules, alerts of new findings, and findings
//!   (verdict, triage kept per fingerprint, comparing two scans, CSV).
//! - [`cookie_policy`]: the cookie policy table as an embeddable HTML fragment (rendering only).
//! - [`seal`]: the public Keurmerk seal page and badge of a site (rendering only).
//! - `page`: what every page shares: the frame, rendering, problems, escaping.
//! - `i18n`: Dutch and English.
//!
//! The HTML is in `templates/` (askama, checked at compile time; `base.html`
//! is the frame every page extends).
#![deny(rustdoc::broken_intra_doc_links)]

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{any, get, post};
use consent_core::store::Store;

mod analytics;
mod audit;
mod catalogue;
mod config;
pub mod cookie_policy;
mod draft;
mod editor;
pub mod host;
mod i18n;
mod keys;
mod onboarding;
mod page;
mod people;
mod preview;
mod proof;
mod register;
mod requests;
mod scans;
pub mod seal;
mod session;
mod sites;
mod versions;

pub use host::Host;
pub use session::cookie;

/// Where the server mounts the dashboard; links are absolute under it.
pub const BASE: &str = "/dashboard";

/// The dashboard's routes, to be mounted at [`BASE`].
pub fn router<S: Store + Clone>(store: S, host: Arc<dyn Host>) -> Router {
    Router::new()
        .route("/", get(sites::list::<S>))
        .route("/login", get(session::login_form).post(session::login::<S>))
        .route("/logout", post(session::logout::<S>))
        .route("/sites", post(onboarding::create::<S>))
        .route("/sites/new", get(onboarding::new_form))
        .route("/sites/{site}", get(sites::show::<S>))
        .route(
            "/sites/{site}/services",
            get(catalogue::show::<S>).post(catalogue::save::<S>),
        )
        .route(
            "/sites/{site}/install",
            get(onboarding::show::<S>).post(onboarding::check::<S>),
        )
        .route("/sites/{site}/analytics", get(analytics::show::<S>))
        .route("/sites/{site}/analytics/{file}", get(analytics::csv::<S>))
        .route("/sites/{site}/proof", get(proof::show::<S>))
        .route(
            "/sites/{site}/register",
            get(register::show::<S>).post(register::save::<S>),
        )
        .route("/sites/{site}/register.csv", get(register::csv::<S>))
        .route("/sites/{site}/register.json", get(register::json::<S>))
        .route("/sites/{site}/register.html", get(register::html::<S>))
        .route(
            "/sites/{site}/requests",
            get(requests::list::<S>).post(requests::open::<S>),
        )
        .route("/sites/{site}/requests/{id}", get(requests::show::<S>))
        .route("/sites/{site}/requests/{id}/export", post(requests::export::<S>))
        .route(
            "/sites/{site}/requests/{id}/erase",
            get(requests::erase_form::<S>).post(requests::erase::<S>),
        )
        .route("/sites/{site}/requests/{id}/extend", post(requests::extend::<S>))
        .route("/sites/{site}/requests/{id}/close", post(requests::close::<S>))
        .route("/sites/{site}/config", get(config::edit::<S>).post(config::save::<S>))
        .route("/sites/{site}/config/json", get(config::json::<S>))
        .route("/sites/{site}/config/discard", post(editor::discard::<S>))
        .route(
            "/sites/{site}/config/categories",
            get(editor::new_category::<S>).post(editor::add_category::<S>),
        )
        .route(
            "/sites/{site}/config/categories/{id}",
            get(editor::category::<S>).post(editor::save_category::<S>),
        )
        .route(
            "/sites/{site}/config/categories/{id}/move",
            post(editor::move_category::<S>),
        )
        .route(
            "/sites/{site}/config/services",
            get(editor::new_service::<S>).post(editor::add_service::<S>),
        )
        .route(
            "/sites/{site}/config/services/{id}",
            get(editor::service::<S>).post(editor::save_service::<S>),
        )
        .route(
            "/sites/{site}/config/services/{id}/cookies",
            post(editor::add_cookie::<S>),
        )
        .route(
            "/sites/{site}/config/services/{id}/cookies/{n}",
            post(editor::save_cookie::<S>),
        )
        .route(
            "/sites/{site}/config/languages",
            get(editor::languages::<S>).post(editor::save_languages::<S>),
        )
        .route(
            "/sites/{site}/config/texts/{lang}",
            get(editor::texts::<S>).post(editor::save_texts::<S>),
        )
        .route(
            "/sites/{site}/config/theme",
            get(editor::theme::<S>).post(editor::save_theme::<S>),
        )
        .route("/sites/{site}/declare", post(config::declare::<S>))
        .route("/sites/{site}/scans", get(scans::list::<S>))
        .route("/sites/{site}/scan-jobs", post(scans::scan_now::<S>))
        .route("/sites/{site}/scan-schedule", post(scans::set_schedule::<S>))
        .route(
            "/sites/{site}/scan-alerts/{scan}/dismiss",
            post(scans::dismiss_alert::<S>),
        )
        .route("/sites/{site}/scans/{id}", get(scans::show::<S>))
        .route("/sites/{site}/scans/{id}/findings.csv", get(scans::csv::<S>))
        .route("/sites/{site}/scans/{id}/compare/{base}", get(scans::compare::<S>))
        .route("/sites/{site}/triage", post(scans::triage::<S>))
        .route("/sites/{site}/preview", get(preview::show::<S>))
        .route("/sites/{site}/preview/frame", get(preview::frame::<S>))
        .route("/preview/{site}/{version}/loader.js", get(preview::loader::<S>))
        .route("/preview/{site}/{version}/widget/{*path}", get(preview::widget::<S>))
        .route("/preview/{site}/{version}/api/{*rest}", any(preview::api::<S>))
        .route("/static/preview.js", get(preview::script))
        .route(
            "/sites/{site}/publish",
            get(versions::review::<S>).post(versions::publish::<S>),
        )
        .route("/sites/{site}/draft/discard", post(versions::discard::<S>))
        .route("/sites/{site}/versions", get(versions::list::<S>))
        .route("/sites/{site}/versions/{version}", get(versions::show::<S>))
        .route("/sites/{site}/versions/{version}/restore", post(versions::restore::<S>))
        .route("/people", get(people::list::<S>).post(people::invite::<S>))
        .route("/people/{user}/sites", post(people::set_site_role::<S>))
        .route("/people/{user}/admin", post(people::set_admin::<S>))
        .route("/people/{user}/reset", post(people::reset_password::<S>))
        .route("/people/{user}/delete", post(people::delete::<S>))
        .route(
            "/password",
            get(people::password_form).post(people::change_password::<S>),
        )
        .route(
            "/sites/{site}/members",
            get(people::members::<S>).post(people::add_member::<S>),
        )
        .route("/sites/{site}/members/{user}", post(people::change_member::<S>))
        .route("/sites/{site}/keys", get(keys::list::<S>).post(keys::create::<S>))
        .route("/sites/{site}/keys/{id}/revoke", post(keys::revoke::<S>))
        .route("/sites/{site}/audit", get(audit::show::<S>))
        .route("/sites/{site}/audit.csv", get(audit::csv_file::<S>))
        .route("/sites/{site}/audit.json", get(audit::json_file::<S>))
        .route("/static/dashboard.css", get(page::stylesheet))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(Arc::new(Dash { store, host }))
}

/// The handlers' state.
struct Dash<S> {
    store: S,
    host: Arc<dyn Host>,
}

type St<S> = State<Arc<Dash<S>>>;
