//! Harness for the end-to-end tests: starting real processes on free ports.
//!
//! - [`free_port`]: a port on 127.0.0.1 nobody listens on.
//! - [`RedisServer`]: a real `redis-server` with AOF (`appendfsync always`) in
//!   a temporary directory, killed on drop; can be stopped and restarted on
//!   the same port and data.
//! - [`ServerProcess`]: the built `consent-server` binary on a free port,
//!   ready once `/readyz` answers; supports `kill -9` and SIGTERM.
//! - [`admin_password`], [`ServerProcess::admin_password`], [`AdminSession`],
//!   [`http_request`]: the first-start
//!   admin password, and the owner API as that admin, without an HTTP
//!   client dependency (the server tests of several crates share them).
//! - [`poll`], [`finished_job`]: waiting for something asynchronous (a scan
//!   job), with a deadline.
#![deny(rustdoc::broken_intra_doc_links)]

pub mod browser;
pub mod widget_site;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}

/// Sends one request over a fresh connection and returns the status code and
/// body. Enough for readiness checks without an HTTP client dependency.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// One answer of [`http_request`].
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    /// Header names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is none).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends one HTTP/1.1 request to 127.0.0.1:`port` over a fresh connection
/// (`Connection: close`), with `headers` and, when given, a JSON body.
/// Async, so it can talk to a server running on the test's own runtime.
pub async fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&serde_json::Value>,
) -> std::io::Result<HttpReply> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let body = json.map(|v| v.to_string()).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if json.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 30 s"))??;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    Ok(HttpReply { status, headers, body })
}

/// Joins the chunks of a `Transfer-Encoding: chunked` body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// `GET path` with an API key (`Authorization: Bearer key`).
pub async fn get_with_key(port: u16, path: &str, key: &str) -> std::io::Result<HttpReply> {
    let auth = format!("Bearer {key}");
    http_request(port, "GET", path, &[("Authorization", auth.as_str())], None).await
}

/// `POST path` with an API key and a JSON body.
pub async fn post_with_key(port: u16, path: &str, key: &str, body: &serde_json::Value) -> std::io::Result<HttpReply> {
    let auth = format!("Bearer {key}");
    http_request(port, "POST", path, &[("Authorization", auth.as_str())], Some(body)).await
}

/// Polls the scan job at `status_path` (read with `key`) every `every` until
/// it is `done` or `failed` and returns that status; panics on an answer
/// other than 200, or after `limit`.
pub async fn finished_job(
    port: u16,
    status_path: &str,
    key: &str,
    limit: Duration,
    every: Duration,
) -> serde_json::Value {
    poll(limit, every, async || {
        let res = get_with_key(port, status_path, key).await.map_err(|e| e.to_string())?;
        assert_eq!(res.status, 200, "{status_path}: {}", res.body);
        let v = res.json();
        if v["status"] == "done" || v["status"] == "failed" {
            Ok(v)
        } else {
            Err(format!("job never finished: {v}"))
        }
    })
    .await
}

/// The admin password a server's first start prints (`Password: …`) in
/// `stdout`; panics, showing `stdout`, when there is none.
pub fn admin_password(stdout: &str) -> String {
    stdout
        .split("Password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in {stdout:?}"))
        .to_owned()
}

/// The admin password one of `servers` printed at its first start. Waits up
/// to 5 s for the line: `/readyz` can answer before the thread copying the
/// process's stdout has passed it on.
pub fn admin_password_of(servers: &[&ServerProcess]) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out: String = servers.iter().map(|s| s.stdout()).collect();
        if out.contains("Password: ") || Instant::now() > deadline {
            return admin_password(&out);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The admin logged in to the owner API of a server on 127.0.0.1:`port`:
/// the session cookie and the CSRF token every state change needs.
pub struct AdminSession {
    port: u16,
    cookie: String,
    pub csrf: String,
}

impl AdminSession {
    /// Logs in as `admin` with `password`.
    pub async fn login(port: u16, password: &str) -> anyhow::Result<Self> {
        let body = serde_json::json!({"username": "admin", "password": password});
        let res = http_request(port, "POST", "/api/v1/auth/login", &[], Some(&body)).await?;
        if res.status != 200 {
            bail!("log-in answered {}: {}", res.status, res.body);
        }
        let cookie = res
            .headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        let csrf = res.json()["csrf"]
            .as_str()
            .context("no csrf in the log-in answer")?
            .to_owned();
        Ok(Self { port, cookie, csrf })
    }

    /// `GET path` with the session.
    pub async fn get(&self, path: &str) -> std::io::Result<HttpReply> {
        http_request(self.port, "GET", path, &[("Cookie", self.cookie.as_str())], None).await
    }

    /// `POST path` with the session and the CSRF token and a JSON body.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> std::io::Result<HttpReply> {
        let headers = [("Cookie", self.cookie.as_str()), ("X-CSRF-Token", self.csrf.as_str())];
        http_request(self.port, "POST", path, &headers, Some(body)).await
    }

    /// Creates `site` allowing `origin` and returns a new API key for it with `scopes`.
    pub async fn site_with_key(&self, site: &str, origin: &str, scopes: &[&str]) -> anyhow::Result<String> {
        let res = self
            .post(
                "/api/v1/owner/sites",
                &serde_json::json!({"id": site, "allowed_origins": [origin]}),
            )
            .await?;
        if res.status != 201 {
            bail!("creating site {site} answered {}: {}", res.status, res.body);
        }
        let path = format!("/api/v1/owner/sites/{site}/keys");
        let res = self
            .post(&path, &serde_json::json!({"name": "test", "scopes": scopes}))
            .await?;
        if res.status != 201 {
            bail!("creating a key for {site} answered {}: {}", res.status, res.body);
        }
        Ok(res.json()["key"].as_str().context("no key in the answer")?.to_owned())
    }
}

/// Calls `probe` until it gives `Ok`, pausing `every` between calls, and
/// returns that; panics with the last `Err` once `limit` has passed.
pub async fn poll<T, E: std::fmt::Display>(
    limit: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let t = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(e) => assert!(t.elapsed() < limit, "{e}"),
        }
        tokio::time::sleep(every).await;
    }
}

/// A `redis-server` child process with its own data directory.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    /// Extra environment for redis-server (e.g. a slow-fsync shim in `LD_PRELOAD`).
    env: Vec<(String, String)>,
}

impl RedisServer {
    /// Starts Redis on a free port with AOF and `appendfsync always`, so an
    /// acknowledged write survives `kill -9` of Redis itself, and without
    /// automatic AOF rewrites, as docs/operating.md recommends for production.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with_env(&[])
    }

    /// [`start`](Self::start) with extra environment variables for
    /// redis-server, kept across [`restart`](Self::restart)s.
    pub fn start_with_env(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_in(&std::env::temp_dir(), env)
    }

    /// [`start_with_env`](Self::start_with_env) with the data directory
    /// (the append-only file) inside `parent`, e.g. a tmpfs.
    pub fn start_in(parent: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let mut last = None;
        // The free port may be taken between probing and binding: retry.
        for _ in 0..5 {
            let mut r = Self {
                child: None,
                port: free_port(),
                dir: tempfile::tempdir_in(parent)?,
                env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            };
            match r.launch() {
                Ok(()) => return Ok(r),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("redis-server did not start")))
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            // The production setting (docs/operating.md): the decision log only grows,
            // so a rewrite compacts nothing and re-serialises every decision
            // ever stored in a forked child (see docs/operating.md, Redis in production).
            .args(["--auto-aof-rewrite-percentage", "0"])
            .args(["--save", ""])
            .args(["--daemonize", "no"])
            .args(["--logfile", ""])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server (run scripts/setup)")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                bail!("redis-server exited: {status}");
            }
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("redis-server on port {} did not answer PING", self.port)
    }

    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills Redis at once (SIGKILL), keeping its data directory.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts Redis again on the same port and data (after [`kill`](Self::kill)).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.launch()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `consent-server` process.
pub struct ServerProcess {
    child: Option<Child>,
    bin: PathBuf,
    args: Vec<String>,
    port: u16,
    stdout: Arc<Mutex<String>>,
    /// The data directory [`start_fresh`](Self::start_fresh) made, kept as long as the process.
    _data: Option<tempfile::TempDir>,
}

impl ServerProcess {
    /// Starts `bin` with `args` plus `--listen 127.0.0.1:<free port>` and
    /// waits until `/readyz` answers 200.
    pub fn start(bin: &Path, args: &[&str]) -> anyhow::Result<Self> {
        Self::start_on(bin, args, free_port())
    }

    /// [`start`](Self::start) on a port chosen beforehand, for servers that
    /// must know each other's addresses before either starts.
    pub fn start_on(bin: &Path, args: &[&str], port: u16) -> anyhow::Result<Self> {
        let mut s = Self {
            child: None,
            bin: bin.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            port,
            stdout: Arc::default(),
            _data: None,
        };
        s.launch()?;
        Ok(s)
    }

    /// [`start_unlimited`](Self::start_unlimited) with `--data-dir` a new
    /// empty directory of its own, which lasts (across restarts) until the
    /// process is dropped.
    pub fn start_fresh(bin: &Path, args: &[&str]) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let dir = data.path().to_str().context("temporary directory name")?.to_owned();
        let mut all = args.to_vec();
        all.extend_from_slice(&["--data-dir", &dir]);
        let mut s = Self::start_unlimited(bin, &all)?;
        s._data = Some(data);
        Ok(s)
    }

    /// The data directory [`start_fresh`](Self::start_fresh) made, if it made one.
    pub fn data_dir(&self) -> Option<&Path> {
        self._data.as_ref().map(tempfile::TempDir::path)
    }

    /// [`start`](Self::start) with the per-client, per-site and log-in rate
    /// limits off, for tests that load the server or log in repeatedly.
    pub fn start_unlimited(bin: &Path, args: &[&str]) -> anyhow::Result<Self> {
        let mut all = vec!["--client-rate", "0", "--site-rate", "0", "--login-rate", "0"];
        all.extend_from_slice(args);
        Self::start(bin, &all)
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let mut child = Command::new(&self.bin)
            .args(&self.args)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let out = child.stdout.take().expect("piped stdout");
        let sink = self.stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut s = sink.lock().expect("stdout buffer");
                s.push_str(&line);
                s.push('\n');
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                bail!("consent-server exited early: {status}");
            }
            if matches!(http_get(self.port, "/readyz"), Ok((200, _))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        bail!("consent-server on port {} never became ready", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id while it runs (for measuring its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The admin password this process printed at its first start
    /// ([`admin_password_of`] this one).
    pub fn admin_password(&self) -> String {
        admin_password_of(&[self])
    }

    /// Everything the process printed to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("stdout buffer").clone()
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> anyhow::Result<bool> {
        let Some(mut c) = self.child.take() else {
            return Ok(false);
        };
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .context("sending SIGTERM")?;
        Ok(c.wait()?.success())
    }

    /// Starts the same binary with the same arguments and port again.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9();
        self.stdout.lock().expect("stdout buffer").clear();
        self.launch()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
