//! The browser pass's only way out while the SSRF guard is on: a SOCKS5
//! proxy (RFC 1928, CONNECT only, no authentication) on 127.0.0.1 for the
//! scan's Chromium. Chromium hands it host names unresolved; the proxy
//! resolves them with the same [`Guard`] as the static pass, refuses
//! non-public addresses and connects to the address it checked, so every
//! navigation, subresource, iframe, worker and WebSocket of every page is
//! checked where the connection is made (DNS rebinding included).

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::guard::{Guard, GuardError, Refused};

/// Time for a client to say where it wants to go, and for one connect.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Distinct refused destinations kept for the report.
const MAX_REFUSALS: usize = 100;

/// SOCKS5 reply codes (RFC 1928 §6).
const SUCCEEDED: u8 = 0x00;
const GENERAL_FAILURE: u8 = 0x01;
const NOT_ALLOWED: u8 = 0x02;
const HOST_UNREACHABLE: u8 = 0x04;
const CONNECTION_REFUSED: u8 = 0x05;
const COMMAND_NOT_SUPPORTED: u8 = 0x07;
const ADDRESS_TYPE_NOT_SUPPORTED: u8 = 0x08;

type Refusals = Arc<Mutex<BTreeMap<(String, u16), Refused>>>;

/// The running proxy; dropping it stops it and every connection through it.
pub(super) struct GuardProxy {
    addr: SocketAddr,
    refusals: Refusals,
    task: tokio::task::JoinHandle<()>,
}

impl GuardProxy {
    pub(super) async fn start(guard: Guard) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let refusals = Refusals::default();
        let task = tokio::spawn(serve(listener, guard, refusals.clone()));
        Ok(GuardProxy { addr, refusals, task })
    }

    /// For Chromium's `--proxy-server`.
    pub(super) fn url(&self) -> String {
        format!("socks5://{}", self.addr)
    }

    /// Destinations refused so far (host as Chromium named it, port).
    pub(super) fn refusals(&self) -> Vec<((String, u16), Refused)> {
        let r = self.refusals.lock().expect("refusals lock");
        r.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl Drop for GuardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, guard: Guard, refusals: Refusals) {
    // Owned here: aborting the server drops (and aborts) every connection.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((sock, _)) = accepted else { continue };
                conns.spawn(connection(sock, guard.clone(), refusals.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn connection(mut client: TcpStream, guard: Guard, refusals: Refusals) {
    let Ok(Ok((host, port))) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&mut client)).await else {
        return;
    };
    let addrs = match guard.resolve(&host, port).await {
        Ok(addrs) => addrs,
        Err(GuardError::Refused(r)) => {
            tracing::debug!("browser connection refused: {r}");
            {
                let mut all = refusals.lock().expect("refusals lock");
                if all.len() < MAX_REFUSALS {
                    all.entry((host, port)).or_insert(r);
                }
            }
            let _ = reply(&mut client, NOT_ALLOWED).await;
            return;
        }
        Err(GuardError::Lookup { .. }) => {
            let _ = reply(&mut client, HOST_UNREACHABLE).await;
            return;
        }
    };
    let mut upstream = None;
    for a in addrs {
        if let Ok(Ok(s)) = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(a)).await {
            upstream = Some(s);
            break;
        }
    }
    let Some(mut upstream) = upstream else {
        let _ = reply(&mut client, CONNECTION_REFUSED).await;
        return;
    };
    if reply(&mut client, SUCCEEDED).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

/// Reads the greeting and the CONNECT request; answers the greeting.
/// Returns the destination as sent (a name, or an address as text).
async fn handshake(c: &mut TcpStream) -> io::Result<(String, u16)> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut head = [0u8; 2];
    c.read_exact(&mut head).await?;
    if head[0] != 5 {
        return Err(bad("not SOCKS5"));
    }
    let mut methods = vec![0u8; usize::from(head[1])];
    c.read_exact(&mut methods).await?;
    if !methods.contains(&0) {
        // Only "no authentication" is offered.
        c.write_all(&[5, 0xff]).await?;
        return Err(bad("no acceptable method"));
    }
    c.write_all(&[5, 0]).await?;
    let mut req = [0u8; 4];
    c.read_exact(&mut req).await?;
    if req[0] != 5 {
        return Err(bad("not SOCKS5"));
    }
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            c.read_exact(&mut a).await?;
            Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            c.read_exact(&mut len).await?;
            let mut name = vec![0u8; usize::from(len[0])];
            c.read_exact(&mut name).await?;
            String::from_utf8(name).map_err(|_| bad("host name not UTF-8"))?
        }
        4 => {
            let mut a = [0u8; 16];
            c.read_exact(&mut a).await?;
            Ipv6Addr::from(a).to_string()
        }
        _ => {
            reply(c, ADDRESS_TYPE_NOT_SUPPORTED).await?;
            return Err(bad("address type"));
        }
    };
    let mut port = [0u8; 2];
    c.read_exact(&mut port).await?;
    if req[1] != 1 {
        reply(c, COMMAND_NOT_SUPPORTED).await?;
        return Err(bad("only CONNECT"));
    }
    if host.is_empty() {
        reply(c, GENERAL_FAILURE).await?;
        return Err(bad("empty host"));
    }
    Ok((host, u16::from_be_bytes(port)))
}

/// A reply with an unspecified bound address (clients ignore it).
async fn reply(c: &mut TcpStream, code: u8) -> io::Result<()> {
    c.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SOCKS5 CONNECT by hand; returns the reply code and the stream.
    async fn connect(proxy: SocketAddr, host: &str, port: u16) -> (u8, TcpStream) {
        let mut s = TcpStream::connect(proxy).await.unwrap();
        s.write_all(&[5, 1, 0]).await.unwrap();
        let mut m = [0u8; 2];
        s.read_exact(&mut m).await.unwrap();
        assert_eq!(m, [5, 0]);
        let mut req = vec![5, 1, 0, 3, host.len() as u8];
        req.extend_from_slice(host.as_bytes());
        req.extend_from_slice(&port.to_be_bytes());
        s.write_all(&req).await.unwrap();
        let mut rep = [0u8; 10];
        s.read_exact(&mut rep).await.unwrap();
        (rep[1], s)
    }

    #[tokio::test]
    async fn refuses_private_destinations_and_relays_allowed_ones() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = echo.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let loopback = [std::net::IpAddr::from(Ipv4Addr::LOCALHOST)];
        let guard = Guard::public_only()
            .trusting("fixture.test", &loopback)
            .with_answer("rebind.test", &loopback)
            .answers_only();
        let proxy = GuardProxy::start(guard).await.unwrap();

        // Refused before any connection, and remembered for the report.
        for (host, p) in [
            ("127.0.0.1", port),
            ("rebind.test", port),
            ("10.0.0.1", 80),
            ("169.254.169.254", 80),
        ] {
            let (code, _) = connect(proxy.addr, host, p).await;
            assert_eq!(code, NOT_ALLOWED, "{host}");
        }
        let refused = proxy.refusals();
        assert_eq!(refused.len(), 4);
        let meta = refused.iter().find(|((h, _), _)| h == "169.254.169.254").unwrap();
        assert!(meta.1.to_string().contains("metadata"), "{}", meta.1);

        // An allowed destination is relayed.
        let (code, mut s) = connect(proxy.addr, "fixture.test", port).await;
        assert_eq!(code, SUCCEEDED);
        s.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
        // A name the resolver does not know.
        let (code, _) = connect(proxy.addr, "unknown.test", 80).await;
        assert_eq!(code, HOST_UNREACHABLE);
    }
}
