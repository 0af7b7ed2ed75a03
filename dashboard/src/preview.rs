//! The live preview: the site's draft (else its published configuration, or
//! an earlier version) shown by the real loader and the real wasm widget, in
//! a sandboxed frame, in a chosen language and layer (banner or
//! preferences).
//!
//! How it is kept apart from the dashboard and from the proof log:
//! - The frame is `<iframe sandbox="allow-scripts">` without
//!   `allow-same-origin`, and its document is also served with the CSP
//!   directive `sandbox allow-scripts` (so even opened on its own it runs in
//!   an opaque origin): the widget cannot read the dashboard's cookies or
//!   DOM, and has no cookies or storage that outlive the frame.
//! - The loader in the frame is rendered with its server base (`a`) set to
//!   this preview's own path, [`preview_base`]: the widget fetches its
//!   assets (redirected to the server's), the configuration (the one being
//!   previewed) and sends decisions there, and the decisions endpoint there
//!   answers without storing anything. No decision can reach the log.
//! - A sandboxed frame sends no session cookie with its requests, so the
//!   paths under [`preview_base`] are reachable without a session. They
//!   name the configuration by its version, the SHA-256 of its content: a
//!   draft is served only while it is the site's draft and only to whoever
//!   knows its hash (its members: the dashboard and the audit trail show
//!   it), and a published version only if stored for that site.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::account::Permission;
use consent_core::loader::LoaderContext;
use consent_core::store::{Site, Store};
use consent_core::{ConfigVersion, SiteConfig, SiteId};
use serde::Deserialize;

use crate::i18n::Texts;
use crate::page::{self, Frame, Problem};
use crate::session::LoggedIn;
use crate::{BASE, St, sites};

/// The layers of the widget the preview opens.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Banner,
    Preferences,
}

impl Layer {
    fn parse(s: Option<&str>) -> Self {
        match s {
            Some("preferences") => Layer::Preferences,
            _ => Layer::Banner,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Layer::Banner => "banner",
            Layer::Preferences => "preferences",
        }
    }
}

/// `?lang=nl&layer=banner[&version=…]`, each optional.
#[derive(Deserialize, Default)]
pub struct PreviewQuery {
    lang: Option<String>,
    layer: Option<String>,
    version: Option<String>,
}

/// The base the previewed loader is rendered with (its `a`): every request
/// of the widget in the frame goes under it.
fn preview_base(site: &SiteId, version: &ConfigVersion) -> String {
    format!("{BASE}/preview/{site}/{version}")
}

/// The configuration previewed: the version asked for (a stored one of the
/// site), else the draft, else the published one; and whether it is the draft.
async fn previewed<S: Store>(store: &S, site: &Site, version: Option<&str>) -> Result<(SiteConfig, bool), Problem> {
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        let v = crate::versions::parse_version(v)?;
        let config = store.config(&site.id, &v).await?.ok_or(Problem::NotFound)?;
        return Ok((config, false));
    }
    match crate::draft::draft(store, site).await? {
        Some(d) => Ok((d.config, true)),
        None => Ok((
            store
                .config(&site.id, &site.current_version)
                .await?
                .ok_or(Problem::NotFound)?,
            false,
        )),
    }
}

/// The language asked for if the configuration offers it, else its first.
fn language(config: &SiteConfig, asked: Option<&str>) -> String {
    asked
        .filter(|l| config.languages.iter().any(|x| x == l))
        .or_else(|| config.languages.first().map(String::as_str))
        .unwrap_or("en")
        .to_owned()
}

/// A switcher's link.
struct Choice {
    label: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    is_draft: bool,
    /// The version asked for, when it is not the draft's or the published one.
    version: Option<String>,
    languages: Vec<Choice>,
    layers: Vec<Choice>,
    src: String,
    available: bool,
}

fn query(lang: &str, layer: Layer, version: Option<&str>) -> String {
    let mut q = format!("?lang={lang}&layer={}", layer.as_str());
    if let Some(v) = version {
        q.push_str("&version=");
        q.push_str(v);
    }
    q
}

/// `GET /sites/{site}/preview`: the frame, and links to switch its
/// language and layer (plain links: no script on the dashboard's pages).
pub async fn show<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let shown = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let (config, is_draft) = previewed(&dash.store, &site, q.version.as_deref()).await?;
        let lang = language(&config, q.lang.as_deref());
        let layer = Layer::parse(q.layer.as_deref());
        let version = q.version.filter(|v| !v.is_empty());
        let v = version.as_deref();
        let here = format!("{BASE}/sites/{}/preview", site.id);
        let page = PreviewPage {
            t: me.t,
            frame: me.frame(me.t.preview).about(site.id.as_str()),
            site: site.id.as_str(),
            is_draft,
            languages: config
                .languages
                .iter()
                .map(|l| Choice {
                    label: l.clone(),
                    href: format!("{here}{}", query(l, layer, v)),
                    current: *l == lang,
                })
                .collect(),
            layers: [
                (Layer::Banner, me.t.layer_banner),
                (Layer::Preferences, me.t.layer_preferences),
            ]
            .into_iter()
            .map(|(l, label)| Choice {
                label: label.to_owned(),
                href: format!("{here}{}", query(&lang, l, v)),
                current: l == layer,
            })
            .collect(),
            src: format!("{here}/frame{}", query(&lang, layer, v)),
            available: dash.host.widget_assets().is_some(),
            version,
        };
        let mut res = page::render(StatusCode::OK, &page);
        // The dashboard's policy, and frames of its own origin (the preview's).
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        Ok::<_, Problem>(res)
    };
    shown.await.unwrap_or_else(|problem| me.problem(problem))
}

#[derive(Template)]
#[template(path = "preview_frame.html")]
struct FramePage<'a> {
    t: &'static Texts,
    site: &'a str,
    lang: &'a str,
    layer: &'static str,
    nonce: &'a str,
    loader: String,
}

/// `GET /sites/{site}/preview/frame`: the document in the frame: the real
/// loader of the previewed configuration first in `<head>`, then the
/// preview's script, which opens the layer asked for.
pub async fn frame<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let shown = async {
        let site = sites::find(&dash.store, &me, &site, Permission::View).await?;
        let (config, _) = previewed(&dash.store, &site, q.version.as_deref()).await?;
        let (Some(_), Some(nonce)) = (dash.host.widget_assets(), dash.host.csp_nonce()) else {
            return Err(Problem::Unavailable);
        };
        let lang = language(&config, q.lang.as_deref());
        let layer = Layer::parse(q.layer.as_deref()).as_str();
        let page = FramePage {
            t: me.t,
            site: site.id.as_str(),
            lang: &lang,
            layer,
            nonce: &nonce,
            loader: format!("{}/loader.js?lang={lang}", preview_base(&site.id, &config.version())),
        };
        let html = page.render().map_err(|_| Problem::Unavailable)?;
        let mut res = (StatusCode::OK, axum::response::Html(html)).into_response();
        let csp = format!(
            "default-src 'none'; script-src 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'nonce-{nonce}'; \
             connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'self'; sandbox allow-scripts"
        );
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).map_err(|_| Problem::Unavailable)?,
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        Ok(res)
    };
    shown.await.unwrap_or_else(|problem| me.problem(problem))
}

/// The configuration a preview path names: the site's draft while its
/// version is `version`, else the site's stored configuration of that
/// version. Anything else (another site's, a malformed id) is not found.
async fn named<S: Store>(store: &S, site: &str, version: &str) -> Result<(Site, SiteConfig), Problem> {
    let id = SiteId::parse(site).map_err(|_| Problem::NotFound)?;
    let version = crate::versions::parse_version(version)?;
    let site = store.site(&id).await?.ok_or(Problem::NotFound)?;
    if let Some(d) = crate::draft::draft(store, &site).await?
        && d.config.version() == version
    {
        return Ok((site, d.config));
    }
    let config = store.config(&site.id, &version).await?.ok_or(Problem::NotFound)?;
    Ok((site, config))
}

/// An answer the sandboxed frame (an opaque origin, so every request is
/// cross-origin) may read: public to it, never cached.
fn for_frame(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut res = (status, body.into()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

fn not_found() -> Response {
    for_frame(StatusCode::NOT_FOUND, "application/json", r#"{"error":"not_found"}"#)
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

/// `GET /preview/{site}/{version}/loader.js?lang=…`: the real loader,
/// rendered for the configuration previewed as `consent-server` renders a
/// site's (`/s/{site}/loader.js`), with two differences: its server base is
/// this preview's, and it offers only the language asked for, so the
/// preview shows that language whatever the browser prefers.
pub async fn loader<S: Store>(
    State(dash): St<S>,
    Path((site, version)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
) -> Response {
    let Some(assets) = dash.host.widget_assets() else {
        return not_found();
    };
    let (site, mut config) = match named(&dash.store, &site, &version).await {
        Ok(found) => found,
        Err(Problem::NotFound) => return not_found(),
        Err(_) => return for_frame(StatusCode::SERVICE_UNAVAILABLE, "application/json", "{}"),
    };
    let version = config.version();
    config.languages = vec![language(&config, q.lang.as_deref())];
    config.texts.retain(|l, _| config.languages.contains(l));
    let script = consent_core::loader::render(
        assets.loader_template,
        &LoaderContext {
            site: &site.id,
            version: &version,
            config: &config,
            base_url: &preview_base(&site.id, &version),
        },
    );
    for_frame(StatusCode::OK, "application/javascript; charset=utf-8", script)
}

/// `GET /preview/{site}/{version}/widget/{*path}`: the widget's assets are
/// the server's: a redirect there (CORS-readable, as the widget fetches in
/// CORS mode).
pub async fn widget<S: Store>(
    State(dash): St<S>,
    Path((_site, _version, path)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(assets) = dash.host.widget_assets() else {
        return not_found();
    };
    // The asset's own name only: no way out of the widget's path.
    if path.split('/').any(|p| p.is_empty() || p == "." || p == "..") || path.len() > 200 {
        return not_found();
    }
    let mut to = format!("{}/{path}", assets.path);
    if let Some(q) = raw.filter(|q| q.len() <= 100) {
        to.push('?');
        to.push_str(&q);
    }
    let mut res = for_frame(StatusCode::TEMPORARY_REDIRECT, "text/plain", "");
    match HeaderValue::from_str(&to) {
        Ok(v) => {
            res.headers_mut().insert(header::LOCATION, v);
            res
        }
        Err(_) => not_found(),
    }
}

/// `/preview/{site}/{version}/api/{*rest}`: the consent server's public API
/// as the previewed widget reaches it. The configuration is the one
/// previewed; a decision is answered as accepted and stored nowhere (never
/// read, never logged); anything else is not found.
pub async fn api<S: Store>(
    State(dash): St<S>,
    method: Method,
    Path((site, version, rest)): Path<(String, String, String)>,
) -> Response {
    let decisions = format!("v1/sites/{site}/decisions");
    if rest == decisions {
        return match method {
            // The widget posts JSON: the browser asks first.
            Method::OPTIONS => {
                let mut res = for_frame(StatusCode::NO_CONTENT, "text/plain", "");
                let h = res.headers_mut();
                h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("content-type"),
                );
                res
            }
            Method::POST => for_frame(
                StatusCode::OK,
                "application/json",
                r#"{"preview":true,"recorded":false}"#,
            ),
            _ => not_found(),
        };
    }
    if method != Method::GET || rest != format!("v1/sites/{site}/config") {
        return not_found();
    }
    match named(&dash.store, &site, &version).await {
        Ok((site, config)) => {
            let body = serde_json::json!({
                "site": site.id.as_str(),
                "version": config.version().0,
                "config": config,
            });
            for_frame(StatusCode::OK, "application/json", body.to_string())
        }
        Err(Problem::NotFound) => not_found(),
        Err(_) => for_frame(StatusCode::SERVICE_UNAVAILABLE, "application/json", "{}"),
    }
}

const SCRIPT: &str = include_str!("../static/preview.js");

/// `GET /static/preview.js`: the frame's only script besides the widget.
pub async fn script() -> Response {
    let mut res = SCRIPT.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_layers_fall_back() {
        let c = SiteConfig::starter();
        assert_eq!(language(&c, Some("en")), "en");
        assert_eq!(language(&c, Some("xx")), "nl");
        assert_eq!(language(&c, Some("en\"><script>")), "nl");
        assert_eq!(language(&c, None), "nl");
        assert!(Layer::parse(Some("preferences")) == Layer::Preferences);
        assert!(Layer::parse(Some("other")) == Layer::Banner);
    }
}
