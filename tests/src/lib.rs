//! Harness for the end-to-end tests: starting real processes on free ports.
//!
//! - [`free_port`]: a port on 127.0.0.1 nobody listens on.
//! - [`RedisServer`]: a real `redis-server` with AOF (`appendfsync always`) in
//!   a temporary directory, killed on drop; can be stopped and restarted on
//!   the same port and data.
//! - [`ServerProcess`]: the built `consent-server` binary on a free port,
//!   ready once `/readyz` answers; supports `kill -9` and SIGTERM.

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

/// A `redis-server` child process with its own data directory.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts Redis on a free port with AOF and `appendfsync always`, so an
    /// acknowledged write survives `kill -9` of Redis itself.
    pub fn start() -> anyhow::Result<Self> {
        let mut last = None;
        // The free port may be taken between probing and binding: retry.
        for _ in 0..5 {
            let mut r = Self {
                child: None,
                port: free_port(),
                dir: tempfile::tempdir()?,
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
            .args(["--save", ""])
            .args(["--daemonize", "no"])
            .args(["--logfile", ""])
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
}

impl ServerProcess {
    /// Starts `bin` with `args` plus `--listen 127.0.0.1:<free port>` and
    /// waits until `/readyz` answers 200.
    pub fn start(bin: &Path, args: &[&str]) -> anyhow::Result<Self> {
        let mut s = Self {
            child: None,
            bin: bin.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            port: free_port(),
            stdout: Arc::default(),
        };
        s.launch()?;
        Ok(s)
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
