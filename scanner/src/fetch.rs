//! Bounded HTTP fetching for the static pass: every request has a timeout,
//! a body limit counted on the *decompressed* bytes (so a gzip bomb stops at
//! the limit, not at the disk), a redirect limit, and per-host politeness.

use std::io::Write;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use flate2::write::{GzDecoder, ZlibDecoder};
use futures::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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
    pub body: Vec<u8>,
    pub truncated: Option<Truncation>,
    /// `Set-Cookie` headers with the URL of the response that carried them,
    /// redirect hops included.
    pub set_cookies: Vec<(String, String)>,
}

/// Writes into a vector until the limit, then refuses.
struct Capped {
    buf: Vec<u8>,
    limit: usize,
    hit: bool,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.limit - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            self.hit = true;
            return Err(std::io::Error::other("body limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Sink {
    Plain(Capped),
    Gzip(Box<GzDecoder<Capped>>),
    Zlib(Box<ZlibDecoder<Capped>>),
}

impl Sink {
    fn new(encoding: &str, limit: usize) -> Self {
        let c = Capped {
            buf: Vec::new(),
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
    fn finish(self) -> Capped {
        match self {
            Sink::Plain(c) => c,
            Sink::Gzip(mut d) => {
                let _ = d.try_finish();
                d.finish().unwrap_or_else(|_| Capped {
                    buf: Vec::new(),
                    limit: 0,
                    hit: false,
                })
            }
            Sink::Zlib(mut d) => {
                let _ = d.try_finish();
                d.finish().unwrap_or_else(|_| Capped {
                    buf: Vec::new(),
                    limit: 0,
                    hit: false,
                })
            }
        }
    }
    fn hit(&self) -> bool {
        match self {
            Sink::Plain(c) => c.hit,
            Sink::Gzip(d) => d.get_ref().hit,
            Sink::Zlib(d) => d.get_ref().hit,
        }
    }
    fn take_on_error(self) -> Vec<u8> {
        match self {
            Sink::Plain(c) => c.buf,
            Sink::Gzip(d) => d.get_ref().buf.clone(),
            Sink::Zlib(d) => d.get_ref().buf.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    pub limits: Limits,
}

impl Fetcher {
    pub fn new(limits: Limits) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // Redirects and decompression are done here, to count and bound them.
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| FetchError::Network(e.to_string()))?;
        let limiter = limits.rate_per_host.filter(|r| *r > 0.0).map(|rate| {
            let quota = if rate >= 1.0 {
                Quota::per_second(NonZeroU32::new(rate.round() as u32).unwrap_or(NonZeroU32::MIN))
            } else {
                Quota::with_period(Duration::from_secs_f64(1.0 / rate)).expect("positive period")
            };
            Arc::new(RateLimiter::keyed(quota))
        });
        Ok(Fetcher {
            client,
            limiter,
            limits,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Fetches a URL, following redirects up to the limit, within the timeout.
    pub async fn get(&self, url: url::Url) -> Result<Fetched, FetchError> {
        let timeout = self.limits.timeout;
        match tokio::time::timeout(timeout, self.get_inner(url)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(timeout)),
        }
    }

    async fn get_inner(&self, mut url: url::Url) -> Result<Fetched, FetchError> {
        let mut set_cookies = Vec::new();
        for _ in 0..=self.limits.max_redirects {
            if let Some(l) = &self.limiter {
                l.until_key_ready(&url.host_str().unwrap_or_default().to_owned()).await;
            }
            let resp = self
                .client
                .get(url.clone())
                .header(reqwest::header::ACCEPT_ENCODING, "gzip, deflate")
                .send()
                .await
                .map_err(|e| FetchError::Network(error_chain(&e)))?;
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
            let (body, truncated) = read_body(resp, &encoding, self.limits.max_body).await?;
            return Ok(Fetched {
                url,
                status,
                content_type,
                body,
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
) -> Result<(Vec<u8>, Option<Truncation>), FetchError> {
    let mut sink = Sink::new(encoding, limit);
    let mut compressed = 0usize;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FetchError::Network(error_chain(&e)))?;
        compressed += chunk.len();
        if !sink.feed(&chunk) {
            if sink.hit() {
                // Stop reading: dropping the stream closes the connection.
                let is_bomb = sink.compressed();
                let body = sink.take_on_error();
                let t = if is_bomb {
                    Truncation::Bomb { compressed, limit }
                } else {
                    Truncation::TooLarge { limit }
                };
                return Ok((body, Some(t)));
            }
            // A corrupt compressed stream: keep what decoded.
            return Ok((sink.take_on_error(), None));
        }
    }
    let capped = sink.finish();
    let t = capped.hit.then_some(Truncation::TooLarge { limit });
    Ok((capped.buf, t))
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
