//! Assembling the server: storage, state, routes, and serving with a
//! graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Redirect};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::{decisions, health, owner, policy, public, scans, seal, session};
use crate::limits::Limits;
use crate::log::Log;
use crate::metrics::Metrics;
use crate::scan_queue::ScanQueue;
pub use crate::service::AppState;
use crate::service::Services;
use crate::settings::{Settings, StorageSettings};
use crate::sites::SiteCache;
use crate::storage::{Backend, RedisStore, SqliteStore};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keurmerk consent server",
        description = "Record and prove cookie consent. Public endpoints are called by the widget; owner endpoints need an API key (`Authorization: Bearer kmk_...`) or an admin session (cookie + `X-CSRF-Token` on changes)."
    ),
    modifiers(&Security),
    tags(
        (name = "public", description = "Called by the widget from visitors' browsers"),
        (name = "owner", description = "For site owners: API keys (scoped to one site) or admin sessions"),
        (name = "auth", description = "Admin sessions for the dashboard"),
        (name = "operations", description = "Health and metrics"),
        (name = "log", description = "The transparency log: verifier key, checkpoints (C2SP tlog-checkpoint signed notes), RFC 9162 proofs"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::http::auth::SESSION_COOKIE))),
        );
    }
}

/// Opens the configured storage.
pub fn open_store(settings: &Settings) -> anyhow::Result<Backend> {
    Ok(match &settings.storage {
        StorageSettings::Embedded { data_dir } => Backend::Sqlite(SqliteStore::open(data_dir)?),
        StorageSettings::Redis { url, prefix } => Backend::Redis(RedisStore::open(url, prefix)?),
    })
}

/// The services over `store`, with the proof log and the scan queue's
/// collector (Redis) or workers (embedded) started. Fails if the log's key or storage cannot
/// be opened: a server must not run without proofs.
pub fn state(settings: Settings, store: Backend) -> anyhow::Result<AppState> {
    let metrics = Metrics::new(store.name());
    let limits = Limits::new(settings.client_rate, settings.site_rate, settings.login_rate)
        .with_erasures(settings.erase_rate)
        .with_scan_uploads(settings.scan_upload_rate);
    let sweeper = limits.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            sweeper.sweep();
        }
    });
    crate::http::health::MetricsAccess::of(&settings).announce(&settings);
    let log = Log::start(&settings, &store).context("starting the proof log")?;
    let scan_queue = match (settings.scan_queue.as_deref(), &store) {
        (Some(url), _) => {
            let queue = crate::scan_queue::RedisQueue::open(url).context("--scan-queue")?;
            queue.spawn_collector(store.clone());
            Some(ScanQueue::Redis(queue))
        }
        // No Redis: the queue lives in the embedded storage and the
        // server runs the workers itself.
        (None, Backend::Sqlite(sqlite)) => {
            let queue = crate::scan_queue::EmbeddedQueue::new(sqlite.clone(), settings.scan_lease);
            crate::scan_worker::start(&queue, &settings).context("starting the scan workers")?;
            Some(ScanQueue::Embedded(queue))
        }
        // Redis storage always brings its queue (see settings).
        (None, Backend::Redis(_)) => None,
    };
    let witness = match (&settings.storage, settings.witness_for.is_empty()) {
        (_, true) => None,
        (StorageSettings::Embedded { data_dir }, false) => Some(
            crate::log::cosigner::start(data_dir, &settings.public_url, settings.witness_for.clone())
                .context("starting the witness (--witness-for)")?,
        ),
        // Settings refuse --witness-for without embedded storage.
        (StorageSettings::Redis { .. }, false) => None,
    };
    let services = Arc::new(Services {
        witness,
        scan_queue,
        store,
        sites: SiteCache::default(),
        limits,
        metrics,
        settings,
        log,
        // As many checks at once as cores, a short queue: a flood of log-ins
        // is refused rather than queued without bound.
        passwords: crate::service::credentials::PasswordChecker::start(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            16,
        ),
        dummy_hash: crate::service::credentials::hash_password(&crate::service::credentials::random_token(16)),
    });
    crate::service::scan::spawn_scheduler(services.clone());
    crate::service::attestation::spawn_attester(services.clone());
    Ok(services)
}

/// The API routes with their OpenAPI description.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let decisions = OpenApiRouter::new()
        .routes(routes!(decisions::record, decisions::preflight))
        .layer(DefaultBodyLimit::max(consent_core::decision::MAX_DECISION_BYTES));
    let owner = OpenApiRouter::new()
        .routes(routes!(owner::list_sites, owner::create_site))
        .routes(routes!(owner::get_site))
        .routes(routes!(owner::set_origins))
        .routes(routes!(owner::save_config))
        .routes(routes!(owner::get_config))
        .routes(routes!(owner::create_key, owner::list_keys))
        .routes(routes!(owner::revoke_key))
        .routes(routes!(owner::list_decisions))
        .routes(routes!(owner::export_decisions))
        .routes(routes!(session::login))
        .routes(routes!(session::me))
        .routes(routes!(session::logout))
        .layer(DefaultBodyLimit::max(owner::MAX_OWNER_BODY));
    let scans = OpenApiRouter::new()
        .routes(routes!(scans::upload, scans::list))
        .routes(routes!(scans::get))
        .routes(routes!(scans::enqueue, scans::list_jobs))
        .routes(routes!(scans::job))
        .routes(routes!(scans::get_schedule, scans::set_schedule))
        .routes(routes!(scans::list_alerts))
        .routes(routes!(scans::dismiss_alert))
        .layer(DefaultBodyLimit::max(consent_core::store::MAX_SCAN_BYTES));
    let _ = state;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(decisions)
        .merge(owner)
        .merge(scans)
        .merge(crate::http::log::routes())
        .routes(routes!(public::config))
        .routes(routes!(public::loader))
        .routes(routes!(seal::page))
        .routes(routes!(seal::badge))
        .routes(routes!(seal::attestation))
        .routes(routes!(policy::html))
        .routes(routes!(policy::csv))
        .routes(routes!(policy::json))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .split_for_parts()
}

/// The witness this server hosts for other logs, if any (`--witness-for`):
/// `POST /witness/add-checkpoint` (C2SP tlog-witness), its monitoring read
/// under `/witness/`, and its verifier key at `/.well-known/keurmerk-witness-key`.
fn hosted_witness(state: &AppState) -> Router<AppState> {
    let Some(w) = state.witness.clone() else {
        return Router::new();
    };
    let key = format!("{}\n", w.signer().verifier());
    Router::new()
        .route(
            "/.well-known/keurmerk-witness-key",
            get(move || async move { ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], key) }),
        )
        .nest_service("/witness", keurmerk_verify::witness::router(w))
}

/// The whole application: API, `/openapi.json`, widget assets, demo pages.
pub fn router(state: AppState) -> Router {
    let (api, mut openapi) = api(&state);
    openapi.paths.paths.insert(
        "/openapi.json".into(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .tag("operations")
                .summary(Some("This document"))
                .response("200", utoipa::openapi::Response::new("The OpenAPI document"))
                .build(),
        ),
    );
    let openapi = Arc::new(openapi);
    // Widget assets are content-named by the widget's build, so they can be
    // cached for a year.
    let widget = Router::new()
        .fallback_service(
            ServeDir::new(&state.settings.widget_dir)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        // Sites embed the widget from their own origin: its module script,
        // wasm and texts are fetched in CORS mode. They are public.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ));
    let metrics = state.metrics.clone();
    // The demo shop lives on an origin of its own (see `demo_router`): here
    // its old paths lead there, and the root to the dashboard otherwise.
    let demo_origin = state.settings.demo_origin();
    let home = demo_origin
        .as_ref()
        .map_or_else(|| format!("{}/", dashboard::BASE), |o| format!("{o}/demo/"));
    let to_demo = move |uri: axum::http::Uri| {
        let target = demo_origin.as_ref().map(|o| format!("{o}{}", uri.path()));
        async move {
            match target {
                Some(t) => Redirect::to(&t).into_response(),
                None => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    };
    api.route(
        "/openapi.json",
        get(move || async move { axum::Json((*openapi).clone()) }),
    )
    .route("/", get(move || async move { Redirect::to(&home) }))
    .route("/demo", get(to_demo.clone()))
    .route("/demo/", get(to_demo.clone()))
    .route("/demo/{*path}", get(to_demo))
    .nest_service("/widget", widget)
    .merge(hosted_witness(&state))
    .nest_service(
        dashboard::BASE,
        dashboard::router(
            state.store.clone(),
            Arc::new(crate::http::dashboard::DashboardHost(state.clone())),
        ),
    )
    .with_state(state.clone())
    .layer(axum::middleware::from_fn_with_state(metrics, crate::metrics::track))
    // A request (body included) that takes longer is answered 408 and
    // dropped, so a client sending its body a byte at a time holds nothing.
    .layer(tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        state.settings.request_timeout,
    ))
}

/// The demo shop's own origin (`--demo-listen`): its pages, and of the
/// server only what a site's visitors reach (the loader, the widget, the
/// public configuration, recording and reading their own decisions, the
/// log's public proofs). The dashboard, the owner API and sessions are not
/// there at all: the demo loads a tag manager and the Meta pixel once a
/// visitor accepts, and their scripts must not be able to reach an admin's
/// session from the same origin.
pub fn demo_router(state: AppState) -> Router {
    let full = router(state.clone());
    let public = Router::new()
        .fallback_service(full)
        .layer(axum::middleware::from_fn(only_public_paths));
    Router::new()
        .route("/", get(|| async { Redirect::to("/demo/") }))
        .nest_service("/demo", ServeDir::new(&state.settings.demo_dir).precompressed_gzip())
        .fallback_service(public)
}

/// What a site's visitors (and so a demo page) may reach.
fn is_public_path(path: &str) -> bool {
    if ["/widget/", "/s/", "/.well-known/"].iter().any(|p| path.starts_with(p)) {
        return true;
    }
    if matches!(
        path,
        "/healthz" | "/api/v1/log/checkpoint" | "/api/v1/log/consistency" | "/api/v1/log/inclusion"
    ) {
        return true;
    }
    match path.strip_prefix("/api/v1/sites/") {
        Some(rest) => matches!(rest.split('/').nth(1), Some("config" | "decisions" | "visitors")),
        None => false,
    }
}

async fn only_public_paths(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    if is_public_path(req.uri().path()) {
        next.run(req).await
    } else {
        axum::http::StatusCode::NOT_FOUND.into_response()
    }
}

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish and flushes storage.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state.clone()), &state, shutdown).await?;
    if let Err(e) = state.store.flush().await {
        tracing::error!(error = %e, "flushing storage at shutdown");
    }
    Ok(())
}

/// Serves the demo shop's origin (see [`demo_router`]) until `shutdown`.
pub async fn serve_demo(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, demo_router(state.clone()), &state, shutdown).await
}

async fn serve_router(
    listener: TcpListener,
    app: Router,
    state: &AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = crate::http::connections::ConnectionLimits {
        header_timeout: state.settings.header_timeout,
        max_connections: state.settings.max_connections,
    };
    crate::http::connections::serve(listener, app, limits, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::is_public_path;

    #[test]
    fn the_demo_origin_reaches_only_what_visitors_do() {
        for p in [
            "/s/demo/loader.js",
            "/widget/ui.wasm",
            "/api/v1/sites/demo/config",
            "/api/v1/sites/demo/decisions",
            "/api/v1/sites/demo/visitors/abc/proofs",
            "/api/v1/log/checkpoint",
            "/.well-known/keurmerk-log-key",
        ] {
            assert!(is_public_path(p), "{p}");
        }
        for p in [
            "/dashboard/",
            "/api/v1/owner/sites/demo/keys",
            "/api/v1/auth/login",
            "/api/v1/sites/demo/scans",
            "/api/v1/log/leaves/0",
            "/metrics",
            "/openapi.json",
            "/api/v1/sites/demo",
        ] {
            assert!(!is_public_path(p), "{p}");
        }
    }
}
