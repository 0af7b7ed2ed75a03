//! Starting the app in-process on a free port, zero2prod style.

#![allow(dead_code)]

use std::net::SocketAddr;

use consent_core::store::Store;
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
    let state = app::state(settings, store);
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

    pub async fn demo_version(&self) -> String {
        let v: Value = self
            .client
            .get(self.url("/api/v1/sites/demo/config"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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

    /// `GET path` with an API key: the owner-API calls most tests repeat.
    pub async fn get_with_key(&self, path: &str, key: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(key).send().await.unwrap()
    }

    /// `POST path` with an API key and a JSON body.
    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn leaf_count(&self) -> u64 {
        self.state.store.leaf_count().await.unwrap()
    }

    /// Logs in as the admin; returns a client holding the session cookie and the CSRF token.
    pub async fn admin(&self) -> (reqwest::Client, String) {
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let res = client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": self.admin_password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        (client, body["csrf"].as_str().unwrap().to_owned())
    }

    /// Creates an API key for `site` with `scopes` (as the admin).
    pub async fn api_key(&self, site: &str, scopes: &[&str]) -> String {
        let (admin, csrf) = self.admin().await;
        let res = admin
            .post(self.url(&format!("/api/v1/owner/sites/{site}/keys")))
            .header("X-CSRF-Token", csrf)
            .json(&json!({"name": "test", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        v["key"].as_str().unwrap().to_owned()
    }

    /// Creates a site (as the admin) allowing `origin`.
    pub async fn create_site(&self, id: &str, origin: &str) {
        let (admin, csrf) = self.admin().await;
        let res = admin
            .post(self.url("/api/v1/owner/sites"))
            .header("X-CSRF-Token", csrf)
            .json(&json!({"id": id, "allowed_origins": [origin]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
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
