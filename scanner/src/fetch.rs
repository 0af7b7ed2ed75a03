//! Bounded HTTP fetching for the static pass: every request has a timeout,
//! a body limit counted on the *decompressed* bytes (so a gzip bomb stops at
//! the limit, not at the disk), a redirect limit, and per-host politeness.
//! Unless told otherwise it connects only to public addresses
//! ([`crate::guard`]): names through the guard's resolver, IP literals
//! checked before every hop, redirects included.

use std::io::Write;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use flate2::write::{GzDecoder, ZlibDecoder};
use futures::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::guard::{Guard, Refused, refusal_in};

pub const USER_AGENT: &str = concat!("KeurmerkScanner/", env!("CARGO_PKG_VERSION"), " (+consent scanner)");

#[derive(Clone, Debug)]
pub struct Limits {
    /// Whole request: connect, redirects, headers and body.
    pub timeout: Duration,
    /// Decompressed bytes kept per response; reading stops there.
    pub max_body: usize,
    pub max_redirects: usize,
    /// Requests per second per host; `None` = no politeness (benchmarks).
    pub rate_per_host: Option<f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(20),
            max_body: 10 * 1024 * 1024,
            max_redirects: 10,
            rate_per_host: Some(2.0),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {} s", .0.as_secs_f32())]
    Timeout(Duration),
    #[error("more than {0} redirects (loop or chain too long)")]
    TooManyRedirects(usize),
    #[error("network error: {0}")]
    Network(String),
    #[error("invalid redirect target: {0}")]
    BadRedirect(String),
    /// The SSRF guard refused the address (before connecting).
    #[error("{}{refused}", if *.redirect { format!("redirect to {url} ") } else { String::new() })]
    Refused {
        url: String,
        /// Refused at a redirect hop (not the URL first asked for).
        redirect: bool,
        refused: Refused,
    },
}

/// Why a body was cut short (the prefix is still returned and scanned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Truncation {
    TooLarge { limit: usize },
    Bomb { compressed: usize, limit: usize },
}

#[derive(Debug)]
pub struct Fetched {
    pub url: url::Url,
    pub status: u16,
    pub content_type: String,
    /// The body, unless it went to a [`BodySink`].
    pub body: Vec<u8>,
    /// Decompressed bytes read.
    pub bytes: usize,
    pub truncated: Option<Truncation>,
    /// `Set-Cookie` headers with the URL of the response that carried them,
    /// redirect hops included.
    pub set_cookies: Vec<(String, String)>,
}

/// Receives a body as it downloads (decompressed), instead of a buffer.
pub trait BodySink: Send {
    /// Called when the response head is known; `false` skips the body.
    fn start(&mut self, content_type: &str) -> bool;
    fn chunk(&mut self, data: &[u8]);
}

/// Passes bytes on (to a buffer or a [`BodySink`]) until the limit, then
/// refuses: decompressed bytes are what is counted.
struct Capped<'a> {
    buf: Vec<u8>,
    sink: Option<&'a mut dyn BodySink>,
    written: usize,
    limit: usize,
    hit: bool,
}

impl Capped<'_> {
    fn pass(&mut self, data: &[u8]) {
        match &mut self.sink {
            Some(s) => s.chunk(data),
            None => self.buf.extend_from_slice(data),
        }
        self.written += data.len();
    }
}

impl Write for Capped<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.limit - self.written;
        if data.len() > room {
            self.pass(&data[..room]);
            self.hit = true;
            return Err(std::io::Error::other("body limit reached"));
        }
        self.pass(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Sink<'a> {
    Plain(Capped<'a>),
    Gzip(Box<GzDecoder<Capped<'a>>>),
    Zlib(Box<ZlibDecoder<Capped<'a>>>),
}

impl<'a> Sink<'a> {
    fn new(encoding: &str, limit: usize, sink: Option<&'a mut dyn BodySink>) -> Self {
        let c = Capped {
            buf: Vec::new(),
            sink,
            written: 0,
            limit,
            hit: false,
        };
        match encoding {
            "gzip" | "x-gzip" => Sink::Gzip(Box::new(GzDecoder::new(c))),
            "deflate" => Sink::Zlib(Box::new(ZlibDecoder::new(c))),
            _ => Sink::Plain(c),
        }
    }
    fn compressed(&self) -> bool {
        !matches!(self, Sink::Plain(_))
    }
    /// Feeds bytes; `false` once the limit is reached (or the stream is corrupt).
    fn feed(&mut self, data: &[u8]) -> bool {
        match self {
            Sink::Plain(c) => c.write_all(data).is_ok(),
            Sink::Gzip(d) => d.write_all(data).is_ok(),
            Sink::Zlib(d) => d.write_all(data).is_ok(),
        }
    }
    fn capped(&mut self) -> &mut Capped<'a> {
        match self {
            Sink::Plain(c) => c,
            Sink::Gzip(d) => d.get_mut(),
            Sink::Zlib(d) => d.get_mut(),
        }
    }
    /// Flushes the decoder; returns the buffer and the decompressed count.
    fn finish(mut self) -> (Vec<u8>, usize, bool) {
        match &mut self {
            Sink::Plain(_) => {}
            Sink::Gzip(d) => {
                let _ = d.try_finish();
            }
            Sink::Zlib(d) => {
                let _ = d.try_finish();
            }
        }
        let c = self.capped();
        (std::mem::take(&mut c.buf), c.written, c.hit)
    }
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    guard: Guard,
    pub limits: Limits,
}

impl Fetcher {
    /// A fetcher that connects where `guard` allows ([`Guard::public_only`]
    /// for scans of sites on the internet).
    pub fn new(limits: Limits, guard: Guard) -> Result<Self, FetchError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // Redirects and decompression are done here, to count and bound
            // them (and to check every hop's address: see `get_inner`).
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(16);
        if !guard.allows_private() {
            // Every name resolves through the guard, at connect time. A
            // proxy from the environment would resolve and connect for us,
            // unchecked, so none is used.
            builder = builder.dns_resolver(Arc::new(guard.clone())).no_proxy();
        }
        let client = builder.build().map_err(|e| FetchError::Network(e.to_string()))?;
        let limiter = limits.rate_per_host.filter(|r| *r > 0.0).map(|rate| {
            // Evenly spaced, no burst: "2 per second" never means 2 at once.
            let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rate))
                .expect("positive period")
                .allow_burst(NonZeroU32::MIN);
            Arc::new(RateLimiter::keyed(quota))
        });
        Ok(Fetcher {
            client,
            limiter,
            guard,
            limits,
        })
    }

    async fn polite(&self, url: &url::Url) {
        if let Some(l) = &self.limiter {
            l.until_key_ready(&url.host_str().unwrap_or_default().to_owned()).await;
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Fetches a URL, following redirects up to the limit, within the timeout.
    pub async fn get(&self, url: url::Url) -> Result<Fetched, FetchError> {
        self.get_with(url, None).await
    }

    /// Like [`Fetcher::get`], streaming the body into `sink` as it arrives.
    pub async fn get_streaming(&self, url: url::Url, sink: &mut dyn BodySink) -> Result<Fetched, FetchError> {
        self.get_with(url, Some(sink)).await
    }

    async fn get_with(&self, url: url::Url, sink: Option<&mut dyn BodySink>) -> Result<Fetched, FetchError> {
        // Waiting for our own politeness budget is not the site's slowness:
        // it happens before the request's timeout starts.
        self.polite(&url).await;
        let timeout = self.limits.timeout;
        match tokio::time::timeout(timeout, self.get_inner(url, sink)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(timeout)),
        }
    }

    async fn get_inner(&self, mut url: url::Url, mut sink: Option<&mut dyn BodySink>) -> Result<Fetched, FetchError> {
        let mut set_cookies = Vec::new();
        for hop in 0..=self.limits.max_redirects {
            if hop > 0 {
                self.polite(&url).await;
            }
            let refused = |refused: Refused| FetchError::Refused {
                url: url.to_string(),
                redirect: hop > 0,
                refused,
            };
            // reqwest asks the resolver for names only: IP literals here.
            self.guard.check_url(&url).map_err(refused)?;
            let resp = self
                .client
                .get(url.clone())
                .header(reqwest::header::ACCEPT_ENCODING, "gzip, deflate")
                .send()
                .await
                .map_err(|e| match refusal_in(&e) {
                    Some(r) => refused(r.clone()),
                    None => FetchError::Network(error_chain(&e)),
                })?;
            for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
                if let Ok(v) = v.to_str() {
                    set_cookies.push((url.to_string(), v.to_owned()));
                }
            }
            if resp.status().is_redirection()
                && let Some(loc) = resp.headers().get(reqwest::header::LOCATION)
            {
                let loc = loc.to_str().map_err(|e| FetchError::BadRedirect(e.to_string()))?;
                url = url
                    .join(loc)
                    .map_err(|e| FetchError::BadRedirect(format!("{loc}: {e}")))?;
                continue;
            }
            let status = resp.status().as_u16();
            let header = |name| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            };
            let content_type = header(reqwest::header::CONTENT_TYPE);
            let encoding = header(reqwest::header::CONTENT_ENCODING);
            if let Some(s) = sink.as_deref_mut()
                && !s.start(&content_type)
            {
                return Ok(Fetched {
                    url,
                    status,
                    content_type,
                    body: Vec::new(),
                    bytes: 0,
                    truncated: None,
                    set_cookies,
                });
            }
            let (body, bytes, truncated) = read_body(resp, &encoding, self.limits.max_body, sink).await?;
            return Ok(Fetched {
                url,
                status,
                content_type,
                body,
                bytes,
                truncated,
                set_cookies,
            });
        }
        Err(FetchError::TooManyRedirects(self.limits.max_redirects))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

async fn read_body(
    resp: reqwest::Response,
    encoding: &str,
    limit: usize,
    sink: Option<&mut dyn BodySink>,
) -> Result<(Vec<u8>, usize, Option<Truncation>), FetchError> {
    let mut sink = Sink::new(encoding, limit, sink);
    let mut compressed = 0usize;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FetchError::Network(error_chain(&e)))?;
        compressed += chunk.len();
        if !sink.feed(&chunk) {
            // Stop reading: dropping the stream closes the connection.
            let is_bomb = sink.compressed();
            let (body, bytes, hit) = sink.finish();
            let t = match (hit, is_bomb) {
                (true, true) => Some(Truncation::Bomb { compressed, limit }),
                (true, false) => Some(Truncation::TooLarge { limit }),
                // A corrupt compressed stream: keep what decoded.
                (false, _) => None,
            };
            return Ok((body, bytes, t));
        }
    }
    let (body, bytes, hit) = sink.finish();
    Ok((body, bytes, hit.then_some(Truncation::TooLarge { limit })))
}

/// Reads a response body up to `limit` bytes (for small JSON documents).
pub async fn read_limited(resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if out.len() + chunk.len() > limit {
            return Err(format!("larger than {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn politeness_spaces_requests_per_host_without_eating_the_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
                    }
                });
            }
        });
        // 5 requests/s per host, a 1 s timeout, 8 requests at once: the last
        // waits ~1.4 s for its turn but must not time out.
        let f = Fetcher::new(
            Limits {
                timeout: Duration::from_secs(1),
                rate_per_host: Some(5.0),
                ..Limits::default()
            },
            Guard::allow_private(),
        )
        .unwrap();
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let t = std::time::Instant::now();
        let all = futures::future::join_all((0..8).map(|_| f.get(url.clone()))).await;
        let took = t.elapsed();
        assert!(all.iter().all(|r| r.as_ref().is_ok_and(|f| f.body == b"ok")), "{all:?}");
        assert!(took >= Duration::from_millis(1200), "not rate limited: {took:?}");
    }
}
