//! Starting the app in-process on a free port, zero2prod style.

#![allow(dead_code)]

use std::net::SocketAddr;

use consent_core::SiteId;
use consent_core::account::{Account, AccountRole, SiteRole};
use consent_core::store::{AccountStore, DecisionStore};
use consent_server::app::{self, AppState};
use consent_server::settings::{Settings, StorageSettings};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Sqlite,
    Redis,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin_password: String,
    pub state: AppState,
    pub redis: Option<e2e::RedisServer>,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app(kind: Kind) -> TestApp {
    spawn_app_with(kind, |_| {}).await
}

/// Starts the server with rate limits off unless `adjust` sets them.
pub async fn spawn_app_with(kind: Kind, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let mut settings = Settings::embedded(addr, &dir.path().join("data"));
    settings.client_rate = 0;
    settings.site_rate = 0;
    settings.login_rate = 0;
    settings.erase_rate = 0;
    settings.scan_upload_rate = 0;
    settings.widget_dir = dir.path().join("widget");
    settings.demo_dir = dir.path().join("demo");
    let redis = match kind {
        Kind::Sqlite => None,
        Kind::Redis => {
            let r = e2e::RedisServer::start().unwrap();
            settings.storage = StorageSettings::Redis {
                url: r.url(),
                prefix: "kmk:".into(),
            };
            Some(r)
        }
    };
    adjust(&mut settings);
    let store = app::open_store(&settings).unwrap();
    let state = app::state(settings, store).unwrap();
    let admin_password = consent_server::bootstrap::first_start(&state).await.unwrap().unwrap();
    tokio::spawn(app::serve(listener, state.clone(), std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        admin_password,
        state,
        redis,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's own origin, allowed on the demo site.
    pub fn origin(&self) -> &str {
        &self.base
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path` with one extra request header (`If-None-Match`, `Accept-Encoding` …).
    pub async fn get_with_header(&self, path: &str, name: &str, value: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(name, value)
            .send()
            .await
            .unwrap()
    }

    /// `GET path` without credentials, the body as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn demo_version(&self) -> String {
        let v = self.get_json("/api/v1/sites/demo/config").await;
        v["version"].as_str().unwrap().to_owned()
    }

    pub async fn decision(&self) -> Value {
        json!({
            "config_version": self.demo_version().await,
            "method": "custom",
            "categories": {"analytics": true, "marketing": false},
            "services": {"youtube": true},
            "language": "nl",
            "page_path": "/winkel",
        })
    }

    pub async fn post_decision(&self, site: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/v1/sites/{site}/decisions")))
            .header("Origin", self.origin())
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            )
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A visitor's own request: `method path` with their consent secret in
    /// `x-keurmerk-secret`.
    pub async fn as_visitor(&self, method: reqwest::Method, path: &str, secret: &str) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .header("x-keurmerk-secret", secret)
            .send()
            .await
            .unwrap()
    }

    /// `GET path` with an API key: the owner-API calls most tests repeat.
    pub async fn get_with_key(&self, path: &str, key: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(key).send().await.unwrap()
    }

    /// `GET path` with an API key, the body as JSON.
    pub async fn json_with_key(&self, path: &str, key: &str) -> Value {
        self.get_with_key(path, key).await.json().await.unwrap()
    }

    /// `GET path` with an API key, the body as text.
    pub async fn text_with_key(&self, path: &str, key: &str) -> String {
        self.get_with_key(path, key).await.text().await.unwrap()
    }

    /// `method path` with an API key and a JSON body.
    pub async fn send_with_key(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `PUT path` with an API key and a JSON body.
    pub async fn put_with_key(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.send_with_key(reqwest::Method::PUT, path, key, body).await
    }

    /// `POST path` with an API key and a JSON body.
    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.send_with_key(reqwest::Method::POST, path, key, body).await
    }

    pub async fn leaf_count(&self) -> u64 {
        self.state.store.leaf_count().await.unwrap()
    }

    /// Logs in as the admin over the owner API.
    pub async fn admin(&self) -> Admin {
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let res = client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": self.admin_password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        Admin {
            client,
            csrf: body["csrf"].as_str().unwrap().to_owned(),
            base: self.base.clone(),
        }
    }

    /// Creates an API key for `site` with `scopes` (as the admin).
    pub async fn api_key(&self, site: &str, scopes: &[&str]) -> String {
        let path = format!("/api/v1/owner/sites/{site}/keys");
        let res = self
            .admin()
            .await
            .post(&path, &json!({"name": "test", "scopes": scopes}))
            .await;
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        v["key"].as_str().unwrap().to_owned()
    }

    /// Creates a site (as the admin) allowing `origin`.
    pub async fn create_site(&self, id: &str, origin: &str) {
        let body = json!({"id": id, "allowed_origins": [origin]});
        let res = self.admin().await.post("/api/v1/owner/sites", &body).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }

    /// Logs in to the dashboard with its form; the browser holds the session.
    pub async fn dashboard_login(&self) -> reqwest::Client {
        self.dashboard_login_as("admin", &self.admin_password.clone()).await
    }

    /// Logs in to the dashboard as `username`.
    pub async fn dashboard_login_as(&self, username: &str, password: &str) -> reqwest::Client {
        let b = browser();
        let res = b
            .post(self.url("/dashboard/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/dashboard/");
        b
    }

    /// Stores a member account with `password` and these roles (straight
    /// into storage: the dashboard's own invitation flow has its own tests).
    pub async fn create_member(&self, username: &str, password: &str, roles: &[(&str, SiteRole)]) {
        let account = Account {
            username: username.into(),
            password_hash: consent_server::service::credentials::hash_password(password),
            role: AccountRole::Member,
            sites: roles.iter().map(|(s, r)| (SiteId::parse(s).unwrap(), *r)).collect(),
            must_change_password: false,
            created_ms: 0,
            session_epoch: 0,
        };
        self.state.store.create_account(&account).await.unwrap();
    }
}

impl TestApp {
    /// `GET path` from dashboard browser `b`, asking for `lang` when given:
    /// the status and the page.
    pub async fn page(&self, b: &reqwest::Client, path: &str, lang: Option<&str>) -> (u16, String) {
        let mut req = b.get(self.url(path));
        if let Some(lang) = lang {
            req = req.header("Accept-Language", lang);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Uploads scan `report` for `site` with `key`; returns the scan's id.
    pub async fn upload_scan(&self, site: &str, key: &str, report: &Value) -> String {
        let res = self
            .post_with_key(&format!("/api/v1/sites/{site}/scans"), key, report)
            .await;
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        v["id"].as_str().unwrap().to_owned()
    }
}

/// The admin's owner-API session: a client holding the session cookie, and
/// the CSRF token every state change needs.
pub struct Admin {
    pub client: reqwest::Client,
    pub csrf: String,
    base: String,
}

impl Admin {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path`, the body as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    /// `POST path` with a JSON body and the session's CSRF token.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post_with_csrf(path, Some(&self.csrf), body).await
    }

    /// `POST path` with a JSON body and `csrf` as the token (none: no header),
    /// for showing what a forged request gets.
    pub async fn post_with_csrf(&self, path: &str, csrf: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(csrf) = csrf {
            req = req.header("X-CSRF-Token", csrf);
        }
        req.send().await.unwrap()
    }
}

/// A browser for the dashboard: keeps cookies, follows no redirects (tests
/// check where they point).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token in a dashboard page's form.
pub fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// `GET url` from `client`, the body as JSON.
pub async fn get_json_at(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Allowed on the demo site whatever port the server runs on (for tests
/// against a server process, which has no `TestApp`).
pub const DEMO_ORIGIN: &str = "http://127.0.0.1:8080";

/// A decision for the demo site of the server at `base`, on its current
/// configuration, made with `method` and `categories`, in `language`.
pub async fn demo_decision_at(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    categories: Value,
    language: &str,
) -> Value {
    let config = get_json_at(client, &format!("{base}/api/v1/sites/demo/config")).await;
    json!({
        "config_version": config["version"],
        "method": method,
        "categories": categories,
        "language": language,
        "page_path": "/",
    })
}

/// POSTs decision `body` for the demo site to the server at `base`, from
/// [`DEMO_ORIGIN`]; an error when the server is gone.
pub async fn post_demo_decision_at(
    client: &reqwest::Client,
    base: &str,
    body: &Value,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/api/v1/sites/demo/decisions"))
        .header("Origin", DEMO_ORIGIN)
        .json(body)
        .send()
        .await
}

/// A connection to the Redis at `url`.
///
/// The client's default answer timeout (500 ms) is too short for the large
/// set-up pipelines some tests send while every other test shares the two
/// cores: a timeout there failed a test now and then, not the code under test.
pub async fn redis_con(url: &str) -> redis::aio::MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(std::time::Duration::from_secs(30)));
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap()
}

/// Runs an async test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Kind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                super::$name($crate::common::Kind::Redis).await
            }
        }
    };
}
