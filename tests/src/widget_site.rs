//! Loopback servers for the widget's browser tests:
//!
//! - [`SiteServer`] plays a website (`consent-widget/demo/` pages) and the
//!   consent server's widget-facing surface (per-site loader rendered by the
//!   real `consent_core::loader::render`, `/widget/*` from
//!   `consent-widget/dist`, the config and decisions endpoints validating with
//!   the real `consent_core` types). It stands in until the real
//!   `consent-server` harness can serve the same routes.
//! - [`Trackers`] answers for every mapped tracker host and logs each request,
//!   so a test can prove that nothing reached a tracker before consent.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Result, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use consent_core::config::{CookieDecl, Service};
use consent_core::loader::{LoaderContext, render};
use consent_core::{DecisionRequest, SiteConfig, SiteId};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as AutoBuilder;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tower_http::cors::CorsLayer;

/// The site's host name, the consent server's, and the tracker hosts the
/// demo pages use; all are mapped to loopback by the browser.
pub const SITE_HOST: &str = "www.shop.test";
pub const CONSENT_HOST: &str = "consent.test";
pub const TRACKER_HOSTS: [&str; 7] = [
    "connect.facebook.net",
    "www.facebook.com",
    "www.googletagmanager.com",
    "www.google-analytics.com",
    "www.youtube-nocookie.com",
    "analytics.tiktok.com",
    "cdn.tagmanager.test",
];
/// The nonce of the strict-CSP demo page (a fixed one is fine for a test page).
pub const CSP_NONCE: &str = "k3urm3rkT3st";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds `consent-widget/dist` once per test process (quick when fresh).
pub fn build_widget() -> Result<()> {
    static BUILT: OnceLock<bool> = OnceLock::new();
    let ok = BUILT.get_or_init(|| {
        std::process::Command::new(repo_root().join("scripts/build-widget"))
            .status()
            .is_ok_and(|s| s.success())
    });
    if !ok {
        bail!("scripts/build-widget failed");
    }
    Ok(())
}

/// The workspace's `consent-server` binary, built by the cargo that runs the
/// tests into the same target directory (a no-op when it is fresh), so the
/// widget tests can run the real server next to the browser.
pub fn consent_server_bin() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        // This test binary is <target>/<profile>/deps/<name>.
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let profile_dir = exe
            .parent()
            .and_then(std::path::Path::parent)
            .ok_or("test binary outside a cargo target dir")?;
        let target_dir = profile_dir.parent().ok_or("no target dir")?;
        let mut cmd = std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cmd.args([
            "build",
            "--quiet",
            "--locked",
            "-p",
            "consent-server",
            "--bin",
            "consent-server",
        ])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(repo_root());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        match cmd.status() {
            Ok(s) if s.success() => Ok(profile_dir.join("consent-server")),
            other => Err(format!("cargo build -p consent-server: {other:?}")),
        }
    });
    built.clone().map_err(anyhow::Error::msg)
}

/// The demo site's configuration: the starter categories plus services for
/// the trackers the demo pages embed.
pub fn demo_config() -> SiteConfig {
    let mut c = SiteConfig::starter();
    c.languages = vec!["nl".into(), "en".into(), "de".into(), "fr".into()];
    c.controller = "Demo Shop B.V.".into();
    // Absolute: a configuration's links must be http(s) URLs.
    c.privacy_policy_url = Some(format!("https://{SITE_HOST}/demo/privacy.html"));
    let cookie = |name: &str, retention: &str, purpose: &str| CookieDecl {
        name: name.into(),
        domain: None,
        provider: String::new(),
        purpose: purpose.into(),
        retention: retention.into(),
        retention_days: None,
        country: "US".into(),
        legal_basis: Default::default(),
    };
    let service = |id: &str, name: &str, cat: &str, provider: &str, hosts: &[&str], cookies: Vec<CookieDecl>| Service {
        id: id.into(),
        name: name.into(),
        category: cat.into(),
        provider: provider.into(),
        privacy_policy_url: None,
        hosts: hosts.iter().map(|h| (*h).into()).collect(),
        cookies,
        description: BTreeMap::new(),
    };
    c.services = vec![
        service(
            "meta",
            "Meta Pixel",
            "marketing",
            "Meta Platforms Ireland",
            &["connect.facebook.net", "www.facebook.com"],
            vec![cookie("_fbp", "3 months", "Ad measurement")],
        ),
        service(
            "google-analytics",
            "Google Analytics",
            "analytics",
            "Google Ireland",
            &["www.googletagmanager.com", "*.google-analytics.com"],
            vec![
                cookie("_ga", "13 months", "Distinguish visitors"),
                cookie("_ga_*", "13 months", "Keep session state"),
            ],
        ),
        service(
            "youtube",
            "YouTube",
            "marketing",
            "Google Ireland",
            &["www.youtube-nocookie.com"],
            vec![],
        ),
    ];
    c.validate().expect("demo config is valid");
    c
}

#[derive(Default)]
pub struct SiteState {
    pub config: Mutex<Option<SiteConfig>>,
    /// Bodies of accepted `POST .../decisions`, in order.
    pub decisions: Mutex<Vec<Value>>,
    /// While set, the decisions endpoint answers 503 (the server is "down").
    pub api_down: AtomicBool,
    /// Off (tests): everything is sent uncompressed and `no-cache`, so a
    /// test that changes the configuration sees the new loader on reload.
    /// On (the benchmark): headers and bodies as a visitor gets them in
    /// production, so bytes on the wire and cache hits are real: the loader
    /// brotli 11 with [`consent_core::loader::CACHE_CONTROL`] and an ETag
    /// (304 on `If-None-Match`), `/widget/*` immutable for a year as the
    /// consent server sends it, vanilla-cookieconsent's library files as a
    /// CDN sends a versioned npm file (brotli, immutable for a year), and its
    /// per-site init file with the same policy as the loader.
    pub production: AtomicBool,
    /// In production mode: the per-site scripts go out `no-cache` instead,
    /// so the next visit revalidates them (how a cached loader past its
    /// `max-age` and its stale-while-revalidate window behaves).
    pub per_site_no_cache: AtomicBool,
    /// While set, the widget's wasm (`/widget/*_bg.wasm`) is not answered:
    /// the banner the loader shows is there, its behaviour is not.
    pub hold_wasm: AtomicBool,
    next_index: AtomicU64,
}

impl SiteState {
    pub fn config(&self) -> SiteConfig {
        self.config.lock().unwrap().clone().unwrap_or_else(demo_config)
    }
    pub fn set_config(&self, c: SiteConfig) {
        *self.config.lock().unwrap() = Some(c);
    }
    pub fn decisions(&self) -> Vec<Value> {
        self.decisions.lock().unwrap().clone()
    }
}

pub struct SiteServer {
    pub addr: SocketAddr,
    pub state: Arc<SiteState>,
}

impl SiteServer {
    pub async fn start() -> Result<Self> {
        build_widget()?;
        let state = Arc::new(SiteState::default());
        let app = Router::new()
            .route("/s/{site}/loader.js", get(loader))
            .route("/api/v1/sites/{site}/config", get(config))
            .route("/api/v1/sites/{site}/decisions", post(decide))
            .route("/widget/{*path}", get(widget_file))
            .route("/demo/{*path}", get(demo_file))
            .route("/baseline/{*path}", get(baseline_file))
            .layer(CorsLayer::permissive())
            // Lets the page's Resource Timing see when each cross-origin
            // answer started (the bench's timelines print first bytes).
            .layer(axum::middleware::map_response(|mut r: Response| async move {
                r.headers_mut()
                    .insert("timing-allow-origin", HeaderValue::from_static("*"));
                r
            }))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        serve_http_and_https(listener, app, tls_acceptor(&[SITE_HOST, CONSENT_HOST], true)?);
        Ok(SiteServer { addr, state })
    }

    /// A demo page as the visitor reaches it.
    pub fn url(&self, page: &str) -> String {
        format!("http://{SITE_HOST}/demo/{page}")
    }

    /// A demo page over HTTPS, as sites are visited in production (Chromium
    /// only offers brotli on HTTPS). Use with [`SiteState::production`]:
    /// the loader then names the consent server by `https://` too.
    pub fn secure_url(&self, page: &str) -> String {
        format!("https://{SITE_HOST}/demo/{page}")
    }
}

/// Serves `app` on `listener`, plain HTTP and TLS on the one port (the
/// browser maps http:// and https:// of a host to it): a TLS connection
/// starts with a handshake record.
fn serve_http_and_https(listener: tokio::net::TcpListener, app: Router, tls: tokio_rustls::TlsAcceptor) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (app, tls) = (app.clone(), tls.clone());
            tokio::spawn(async move {
                let mut first = [0u8; 1];
                if stream.peek(&mut first).await.is_err() {
                    return;
                }
                let service = TowerToHyperService::new(app);
                let server = AutoBuilder::new(TokioExecutor::new());
                if first[0] == 0x16 {
                    if let Ok(stream) = tls.accept(stream).await {
                        let _ = server.serve_connection(TokioIo::new(stream), service).await;
                    }
                } else {
                    let _ = server.serve_connection(TokioIo::new(stream), service).await;
                }
            });
        }
    });
}

async fn loader(State(st): State<Arc<SiteState>>, Path(site): Path<String>, headers: HeaderMap) -> Response {
    let Ok(site) = SiteId::parse(&site) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Read at request time so template edits need no rebuild of the tests.
    let template = std::fs::read_to_string(repo_root().join("consent-widget/loader/loader.js")).unwrap_or_default();
    let cfg = st.config();
    let version = cfg.version();
    let scheme = if st.production.load(Ordering::SeqCst) {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://{CONSENT_HOST}");
    let body = render(
        &template,
        &LoaderContext {
            site: &site,
            version: &version,
            config: &cfg,
            base_url: &base,
        },
    );
    if st.production.load(Ordering::SeqCst) {
        return per_site_file(&st, &headers, body.into_bytes(), "text/javascript; charset=utf-8");
    }
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Brotli at quality 11, what the consent server and CDNs send.
pub fn brotli11(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("in-memory brotli");
    out
}

/// [`brotli11`] once per content, as the consent server caches its loader's
/// and a CDN its files' (compressing on every request would time the
/// compressor, not the widget).
fn brotli11_cached(bytes: &[u8]) -> Vec<u8> {
    static CACHE: OnceLock<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(b) = cache.lock().unwrap().get(bytes) {
        return b.clone();
    }
    let b = brotli11(bytes);
    cache.lock().unwrap().insert(bytes.to_vec(), b.clone());
    b
}

fn accepts_br(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("br"))
}

/// A per-site script in production mode (the loader, vanilla's init file):
/// brotli, the loader's cache policy, an ETag of the content and `304` when
/// the browser already has it.
fn per_site_file(st: &SiteState, headers: &HeaderMap, body: Vec<u8>, content_type: &'static str) -> Response {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    let etag = format!("\"{:016x}\"", h.finish());
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_br(headers) {
        let mut r = Response::new(Body::from(brotli11_cached(&body)));
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        r
    } else {
        Response::new(Body::from(body))
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let cache = if st.per_site_no_cache.load(Ordering::SeqCst) {
        "no-cache"
    } else {
        consent_core::loader::CACHE_CONTROL
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ascii"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    resp
}

async fn config(State(st): State<Arc<SiteState>>, Path(site): Path<String>, headers: HeaderMap) -> Response {
    let cfg = st.config();
    let body = json!({"site": site, "version": cfg.version(), "config": cfg});
    if !st.production.load(Ordering::SeqCst) {
        return axum::Json(body).into_response();
    }
    // As the consent server sends it: brotli, cacheable for a minute.
    let json = body.to_string().into_bytes();
    let br = accepts_br(&headers);
    let mut resp = Response::new(Body::from(if br { brotli11_cached(&json) } else { json }));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    if br {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    resp
}

async fn decide(State(st): State<Arc<SiteState>>, body: String) -> Response {
    if st.api_down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let req: DecisionRequest = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    };
    let cfg = st.config();
    if req.config_version != cfg.version() {
        return (StatusCode::UNPROCESSABLE_ENTITY, "unknown config_version").into_response();
    }
    let returning = req.consent_id.is_some();
    if let Err(e) = req.validate(&cfg) {
        return (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response();
    }
    let index = st.next_index.fetch_add(1, Ordering::SeqCst);
    st.decisions
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap_or(Value::Null));
    let mut answer = json!({"consent_id": "0123456789abcdef0123456789abcdef", "index": index, "time_ms": 1});
    if !returning {
        answer["secret"] = "s3cr3t-for-tests".into();
    }
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("wasm") => "application/wasm",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn safe(path: &str) -> bool {
    !path.split('/').any(|p| p.is_empty() || p.starts_with('.'))
}

async fn widget_file(State(st): State<Arc<SiteState>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    if !safe(&path) {
        return StatusCode::NOT_FOUND.into_response();
    }
    while path.ends_with("_bg.wasm") && st.hold_wasm.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let file = repo_root().join("consent-widget/dist").join(&path);
    let br = accepts_br(&headers);
    let mut br_path = file.clone().into_os_string();
    br_path.push(".br");
    let (bytes, encoded) = match (br, std::fs::read(&br_path)) {
        (true, Ok(b)) => (b, true),
        _ => match std::fs::read(&file) {
            Ok(b) => (b, false),
            Err(_) => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    let mut resp = Response::new(Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    let cache = if st.production.load(Ordering::SeqCst) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if encoded {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    resp
}

/// The benchmark's baseline, vanilla-cookieconsent from the npm registry.
async fn baseline_file(State(st): State<Arc<SiteState>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    let dir = repo_root().join("tools/node_modules/vanilla-cookieconsent/dist");
    let bytes = match std::fs::read(dir.join(&path)) {
        Ok(bytes) if safe(&path) => bytes,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    if !st.production.load(Ordering::SeqCst) {
        return ([(header::CONTENT_TYPE, content_type(&path))], bytes).into_response();
    }
    let br = accepts_br(&headers);
    let mut resp = Response::new(Body::from(if br { brotli11_cached(&bytes) } else { bytes }));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if br {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    resp
}

async fn demo_file(State(st): State<Arc<SiteState>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    if !safe(&path) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(bytes) = std::fs::read(repo_root().join("consent-widget/demo").join(&path)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // vanilla-cookieconsent's per-site part: the site serves it like the
    // consent server serves a site's loader.
    if path == "bench-vanilla-init.js" && st.production.load(Ordering::SeqCst) {
        return per_site_file(&st, &headers, bytes, "text/javascript; charset=utf-8");
    }
    let mut resp = Response::new(Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    if path == "csp.html" {
        let csp = format!(
            "default-src 'self'; script-src 'nonce-{CSP_NONCE}' 'strict-dynamic' 'wasm-unsafe-eval'; \
             style-src 'self' http://{CONSENT_HOST}; img-src 'self' https://www.facebook.com; \
             frame-src https://www.youtube-nocookie.com; \
             connect-src 'self' http://{CONSENT_HOST} https://analytics.tiktok.com https://www.google-analytics.com; \
             object-src 'none'; base-uri 'none'"
        );
        h.insert("content-security-policy", HeaderValue::from_str(&csp).expect("ascii"));
    }
    resp
}

/// One logged request to a tracker host.
#[derive(Clone, Debug)]
pub struct Hit {
    pub host: String,
    pub path: String,
}

pub struct Trackers {
    pub addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Trackers {
    pub async fn start() -> Result<Self> {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().fallback(tracker).with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        serve_http_and_https(listener, app, tls_acceptor(&TRACKER_HOSTS, false)?);
        Ok(Trackers { addr, hits })
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Requests whose `host + path` contains `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| format!("{}{}", h.host, h.path).contains(needle))
            .count()
    }

    pub fn clear(&self) {
        self.hits.lock().unwrap().clear();
    }
}

/// A self-signed certificate for `hosts`; the browser runs with
/// `--ignore-certificate-errors` (loopback only). `h2`: offer HTTP/2, as a
/// production site and consent server behind a TLS front end do (one
/// connection per origin instead of up to six, each with its handshake).
fn tls_acceptor(hosts: &[&str], h2: bool) -> Result<tokio_rustls::TlsAcceptor> {
    let names: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    let cert = rcgen::generate_simple_self_signed(names)?;
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key.into())?;
    config.alpn_protocols = if h2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// What a fake tracker answers: scripts that record that they ran and set
/// the first-party cookies the real ones set, a 1x1 GIF for pixels, a page
/// for embeds.
async fn tracker(State(hits): State<Arc<Mutex<Vec<Hit>>>>, headers: HeaderMap, uri: Uri) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    hits.lock().unwrap().push(Hit {
        host: host.clone(),
        path: path.clone(),
    });
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    if path.contains(".js") || path.contains("/gtag/js") {
        let cookies = if host.contains("facebook") {
            "document.cookie = '_fbp=fb.1.1700000000.42; path=/; max-age=7776000';"
        } else if host.contains("google") {
            "document.cookie = '_ga=GA1.1.42.1700000000; path=/; max-age=34190000'; document.cookie = '_ga_DEMO=GS1.1.1700000000; path=/; max-age=34190000';"
        } else {
            ""
        };
        let js = format!(
            "(window.__ran = window.__ran || []).push({}); {cookies}",
            serde_json::to_string(&format!("{host}{}", uri.path())).unwrap_or_default()
        );
        return (cors, [(header::CONTENT_TYPE, "text/javascript")], js).into_response();
    }
    if path.contains("/embed/") {
        return (
            [(header::CONTENT_TYPE, "text/html")],
            "<!doctype html><title>embed</title><p>embedded player</p>",
        )
            .into_response();
    }
    if path.starts_with("/tr") || path.contains("pixel") {
        const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
        return ([(header::CONTENT_TYPE, "image/gif")], GIF).into_response();
    }
    (StatusCode::NO_CONTENT, cors).into_response()
}

/// The browser launch options mapping the site, the consent server and
/// every tracker host to the loopback servers.
pub fn launch(site: &SiteServer, trackers: &Trackers, lang: &str) -> crate::browser::Launch {
    let mut hosts = vec![
        (SITE_HOST.to_string(), site.addr),
        (CONSENT_HOST.to_string(), site.addr),
    ];
    hosts.extend(TRACKER_HOSTS.iter().map(|h| ((*h).to_string(), trackers.addr)));
    crate::browser::Launch {
        hosts,
        lang: lang.into(),
    }
}
