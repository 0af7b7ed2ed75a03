//! Test fixtures: a tiny HTTP/1.1 server on 127.0.0.1 (plain and TLS on one
//! port, told apart by the first byte) and the fixture web: a shop whose
//! pages carry each platform's base snippet, and fake vendor endpoints that
//! answer for the real tracker hostnames once Chromium maps them here.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub host: String,
    pub path: String,
    pub body: Vec<u8>,
    pub tls: bool,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
}

pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Accepts the request and never answers.
    Hang,
    /// Sends `total` bytes of `chunk` repeated (a huge page), no compression.
    Stream { chunk: Vec<u8>, total: usize },
}

impl Reply {
    pub fn html(body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.into(),
        }
    }
    pub fn with_header(mut self, k: &str, v: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((k.into(), v.into()));
        }
        self
    }
    pub fn status(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Reply {
        Reply::Full {
            status,
            headers,
            body: body.to_vec(),
        }
    }
}

pub type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

pub struct Server {
    pub port: u16,
    pub log: Arc<Mutex<Vec<Req>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
}

pub async fn start(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let (h, log, tls) = (handler.clone(), log2.clone(), tls.clone());
            tokio::spawn(async move {
                let mut first = [0u8; 1];
                if sock.peek(&mut first).await.is_err() {
                    return;
                }
                match (first[0] == 0x16, tls) {
                    (true, Some(acc)) => {
                        if let Ok(s) = acc.accept(sock).await {
                            serve_conn(s, h, log, true).await;
                        }
                    }
                    _ => serve_conn(sock, h, log, false).await,
                }
            });
        }
    });
    Server { port, log, task }
}

async fn serve_conn<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, h: Handler, log: Arc<Mutex<Vec<Req>>>, tls: bool) {
    let mut buf = Vec::new();
    loop {
        // Read a request head.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if buf.len() > 64 * 1024 {
                return;
            }
            let mut chunk = [0u8; 8192];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let mut start = lines.next().unwrap_or_default().split(' ');
        let method = start.next().unwrap_or_default().to_owned();
        let path = start.next().unwrap_or_default().to_owned();
        let (mut host, mut len, mut close) = (String::new(), 0usize, false);
        let mut headers = Vec::new();
        for l in lines {
            let Some((k, v)) = l.split_once(':') else { continue };
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            match k.trim().to_ascii_lowercase().as_str() {
                "host" => host = v.trim().split(':').next().unwrap_or_default().to_owned(),
                "content-length" => len = v.trim().parse().unwrap_or(0),
                "connection" => close = v.trim().eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        while buf.len() < len.min(1 << 20) {
            let mut chunk = [0u8; 8192];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..len.min(buf.len())).collect();
        let req = Req {
            method,
            host,
            path,
            body,
            tls,
            headers,
        };
        log.lock().unwrap().push(req.clone());
        match h(&req) {
            Reply::Full { status, headers, body } => {
                let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len()).into_bytes();
                for (k, v) in headers {
                    out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&body);
                if s.write_all(&out).await.is_err() {
                    return;
                }
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Reply::Stream { chunk, total } => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {total}\r\n\r\n");
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut sent = 0;
                while sent < total {
                    let n = chunk.len().min(total - sent);
                    if s.write_all(&chunk[..n]).await.is_err() {
                        return; // the client stopped reading: expected
                    }
                    sent += n;
                }
            }
        }
        if close {
            return;
        }
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Every tracker hostname the fixture web uses (for the TLS certificate and
/// Chromium's host mapping).
pub const TRACKER_HOSTS: &[&str] = &[
    "connect.facebook.net",
    "www.facebook.com",
    "www.googletagmanager.com",
    "region1.google-analytics.com",
    "googleads.g.doubleclick.net",
    "www.google.com",
    "ad.doubleclick.net",
    "analytics.tiktok.com",
    "s.pinimg.com",
    "ct.pinterest.com",
    "sc-static.net",
    "tr.snapchat.com",
    "static.criteo.net",
    "sslwidget.criteo.com",
    "s.adroll.com",
    "d.adroll.com",
    "snap.licdn.com",
    "px.ads.linkedin.com",
    "static.ads-twitter.com",
    "analytics.twitter.com",
    "bat.bing.com",
    "stats.matomo-fixture.example",
    "static.hotjar.com",
    "in.hotjar.com",
    "www.clarity.ms",
    "x.clarity.ms",
];

const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

fn vendor_script(name: &str) -> Reply {
    let dir = fixtures().join("vendor");
    let helpers = std::fs::read_to_string(dir.join("_helpers.js")).unwrap();
    let body = std::fs::read_to_string(dir.join(name)).unwrap();
    Reply::Full {
        status: 200,
        headers: vec![("content-type".into(), "application/javascript".into())],
        body: format!("{helpers}\n{body}").into_bytes(),
    }
}

fn beacon() -> Reply {
    Reply::Full {
        status: 200,
        headers: vec![
            ("content-type".into(), "image/gif".into()),
            ("access-control-allow-origin".into(), "*".into()),
        ],
        body: GIF.to_vec(),
    }
}

/// The fixture web: the shop on 127.0.0.1 and the fake vendors.
pub fn shop(req: &Req) -> Reply {
    let path = req.path.split('?').next().unwrap_or("/");
    let host = req.host.as_str();
    if host == "127.0.0.1" || host == "localhost" {
        let page = match path {
            "/" => "index.html",
            "/robots.txt" => {
                return Reply::Full {
                    status: 200,
                    headers: vec![("content-type".into(), "text/plain".into())],
                    body: b"User-agent: *\nDisallow: /private\n".to_vec(),
                };
            }
            "/private" => "clean.html",
            p if p.ends_with(".png") => return beacon(),
            p => {
                let name = format!("{}.html", p.trim_start_matches('/'));
                if !fixtures().join("site").join(&name).is_file() {
                    return Reply::status(404, vec![], b"not found");
                }
                return page_reply(&name);
            }
        };
        return page_reply(page)
            .with_header("set-cookie", "sid=abc123; Path=/; HttpOnly")
            .with_header("set-cookie", "srv_ab=variant-b; Path=/; Max-Age=31536000");
    }
    let script = match (host, path) {
        ("connect.facebook.net", "/en_US/fbevents.js") => Some("fbevents.js"),
        ("www.googletagmanager.com", "/gtag/js") => Some("gtag.js"),
        ("analytics.tiktok.com", "/i18n/pixel/events.js") => Some("tiktok.js"),
        ("s.pinimg.com", "/ct/core.js") => Some("pinterest.js"),
        ("sc-static.net", "/scevent.min.js") => Some("snap.js"),
        ("static.criteo.net", "/js/ld/ld.js") => Some("criteo.js"),
        ("s.adroll.com", "/j/roundtrip.js") => Some("adroll.js"),
        ("snap.licdn.com", "/li.lms-analytics/insight.min.js") => Some("linkedin.js"),
        ("static.ads-twitter.com", "/uwt.js") => Some("x.js"),
        ("bat.bing.com", "/bat.js") => Some("uet.js"),
        ("stats.matomo-fixture.example", "/matomo.js") => Some("matomo.js"),
        ("static.hotjar.com", p) if p.starts_with("/c/hotjar-") => Some("hotjar.js"),
        ("www.clarity.ms", p) if p.starts_with("/tag/") => Some("clarity.js"),
        _ => None,
    };
    if let Some(s) = script {
        return vendor_script(s);
    }
    // Beacons; a few set third-party cookies over HTTP, as the real ones do.
    let third_party_cookie = match host {
        "www.facebook.com" => Some("fr=fixture; Domain=.facebook.com; Path=/; Max-Age=7776000; SameSite=None; Secure"),
        "px.ads.linkedin.com" => {
            Some("bcookie=fixture; Domain=.linkedin.com; Path=/; Max-Age=31536000; SameSite=None; Secure")
        }
        "ad.doubleclick.net" => {
            Some("IDE=fixture; Domain=.doubleclick.net; Path=/; Max-Age=33696000; SameSite=None; Secure")
        }
        _ => None,
    };
    let r = if host == "ad.doubleclick.net" {
        Reply::html("<!doctype html><title>fl</title>")
    } else {
        beacon()
    };
    match third_party_cookie {
        Some(c) => r.with_header("set-cookie", c),
        None => r,
    }
}

fn page_reply(name: &str) -> Reply {
    Reply::html(std::fs::read(fixtures().join("site").join(name)).unwrap())
}

/// A TLS acceptor with a self-signed certificate for every tracker host.
pub fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls;
    let names: Vec<String> = TRACKER_HOSTS.iter().map(|h| (*h).to_owned()).collect();
    let cert = rcgen::generate_simple_self_signed(names).unwrap();
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

/// `--host-resolver-rules` sending every tracker host to the fixture port.
pub fn resolver_rules(port: u16) -> String {
    TRACKER_HOSTS
        .iter()
        .map(|h| format!("MAP {h} 127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(", ")
}
