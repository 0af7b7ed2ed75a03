//! The SSRF guard: a scan fetches URLs that a site owner controls (the
//! start URL, its links, redirects, every subresource the browser loads),
//! so by default it only connects to publicly routable addresses. Loopback,
//! RFC 1918, link-local (with the cloud metadata address 169.254.169.254),
//! unique-local, CGNAT, multicast, broadcast, documentation, benchmarking and
//! other reserved ranges are refused, also in their IPv4-mapped, -compatible,
//! NAT64 and 6to4 IPv6 forms.
//!
//! The check is on the *resolved* address, where the connection is made:
//! as the static pass's DNS resolver (so redirects and DNS rebinding are
//! covered, and nothing is connected before the check), for IP-literal URLs
//! before each request (the resolver is not asked for those), and in the
//! browser pass by a local SOCKS5 proxy every Chromium connection goes
//! through (`browser/proxy.rs`). `--allow-private-targets` turns it off (for
//! intranet sites and for tests that serve fixtures on 127.0.0.1).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// How long a name lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an address is not publicly routable, or `None` when it is.
pub fn not_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => not_public_v4(v4),
        IpAddr::V6(v6) => not_public_v6(v6),
    }
}

fn not_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => "the unspecified address",
        (0, _, _) => "in 0.0.0.0/8 (\"this network\")",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "a private address (RFC 1918)",
        (100, 64..=127, _) => "a carrier-grade NAT address (100.64.0.0/10)",
        (127, _, _) => "a loopback address",
        (169, 254, 169) if ip.octets()[3] == 254 => "the cloud metadata address (link-local)",
        (169, 254, _) => "a link-local address",
        (192, 0, 0) => "an IETF protocol assignment (192.0.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address (TEST-NET)",
        (192, 88, 99) => "a 6to4 relay anycast address (192.88.99.0/24)",
        (198, 18..=19, _) => "a benchmarking address (198.18.0.0/15)",
        (224..=239, _, _) => "a multicast address",
        _ if ip.is_broadcast() => "the broadcast address",
        (240..=255, _, _) => "a reserved address (240.0.0.0/4)",
        _ => return None,
    })
}

fn not_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if ip.is_unspecified() {
        return Some("the unspecified address (::)");
    }
    if ip.is_loopback() {
        return Some("a loopback address (::1)");
    }
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return not_public_v4(embedded(s[6], s[7]))
            .map(|_| "an IPv4-mapped or -compatible form of a non-public address");
    }
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return not_public_v4(embedded(s[6], s[7])).map(|_| "a NAT64 form of a non-public address");
    }
    // 6to4 (2002::/16) embeds an IPv4 address in bits 16-47.
    if s[0] == 0x2002 {
        return not_public_v4(embedded(s[1], s[2])).map(|_| "a 6to4 form of a non-public address");
    }
    Some(match s[0] {
        0xfc00..=0xfdff => "a unique-local address (fc00::/7)",
        0xfe80..=0xfebf => "a link-local address (fe80::/10)",
        0xfec0..=0xfeff => "a site-local address (fec0::/10)",
        0xff00..=0xffff => "a multicast address",
        0x2001 if s[1] == 0x0db8 => "a documentation address (2001:db8::/32)",
        0x2001 if s[1] < 0x0200 => "an IETF protocol assignment (2001::/23: Teredo, benchmarking, ORCHID)",
        0x3fff if s[1] < 0x1000 => "a documentation address (3fff::/20)",
        0x2000..=0x3fff => return None,
        // Everything outside 2000::/3 (global unicast): 64:ff9b:1::/48,
        // 100::/64 discard-only, 5f00::/16 SRv6 and unassigned space.
        _ => "outside the IPv6 global unicast range (2000::/3)",
    })
}

/// A connection the guard refused, naming the address and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Refused {
    /// The host as named in the URL (a name or an address).
    pub host: String,
    pub addr: IpAddr,
    pub why: &'static str,
}

impl Refused {
    fn describe(&self) -> String {
        let what = if self.host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
            format!("{} is {}", self.addr, self.why)
        } else {
            format!("{} resolves to {}, {}", self.host, self.addr, self.why)
        };
        format!("refused: {what}, not a public address (scanning such hosts needs --allow-private-targets)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("could not resolve {host}: {reason}")]
    Lookup { host: String, reason: String },
}

/// Which addresses a scan may connect to. The default refuses every
/// non-public address; [`Guard::allow_private`] lets everything through.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    allow_private: bool,
    /// Names answered here instead of by the system resolver (tests), and
    /// whether those answers are trusted (not checked).
    answers: Arc<HashMap<String, (Vec<IpAddr>, bool)>>,
    /// Tests: never ask the system resolver (no DNS packet leaves).
    answers_only: bool,
}

impl Guard {
    /// Only publicly routable addresses (the default).
    pub fn public_only() -> Self {
        Guard::default()
    }

    /// No check at all (`--allow-private-targets`).
    pub fn allow_private() -> Self {
        Guard {
            allow_private: true,
            ..Guard::default()
        }
    }

    /// `--allow-private-targets` on or off.
    pub fn new(allow_private_targets: bool) -> Self {
        if allow_private_targets {
            Guard::allow_private()
        } else {
            Guard::public_only()
        }
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Tests: answer `host` with `addrs` instead of asking the system
    /// resolver. The answer is checked like any other.
    pub fn with_answer(self, host: &str, addrs: &[IpAddr]) -> Self {
        self.answer(host, addrs, false)
    }

    /// Tests: answer `host` with `addrs` and let them through unchecked
    /// (a fixture's start page on loopback, to test what comes after it).
    pub fn trusting(self, host: &str, addrs: &[IpAddr]) -> Self {
        self.answer(host, addrs, true)
    }

    /// Tests: names without an answer fail instead of being looked up, so
    /// no DNS query leaves the machine.
    pub fn answers_only(mut self) -> Self {
        self.answers_only = true;
        self
    }

    fn answer(mut self, host: &str, addrs: &[IpAddr], trusted: bool) -> Self {
        Arc::make_mut(&mut self.answers).insert(host.to_ascii_lowercase(), (addrs.to_vec(), trusted));
        self
    }

    /// Refuses a non-public address (unless the guard is off).
    pub fn check_ip(&self, host: &str, addr: IpAddr) -> Result<(), Refused> {
        match not_public(addr) {
            Some(why) if !self.allow_private => Err(Refused {
                host: host.to_owned(),
                addr,
                why,
            }),
            _ => Ok(()),
        }
    }

    /// Refuses a URL whose host is a non-public IP literal. Names are
    /// checked when they are resolved ([`Guard::resolve`]).
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refused> {
        let addr = match url.host() {
            Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
            Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
            _ => return Ok(()),
        };
        self.check_ip(url.host_str().unwrap_or_default(), addr)
    }

    /// Resolves `host` (a name or an IP literal) and checks every address:
    /// one non-public answer refuses the name.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            self.check_ip(host, ip)?;
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let (addrs, trusted) = match self.answers.get(&host.to_ascii_lowercase()) {
            Some((addrs, trusted)) => (addrs.iter().map(|ip| SocketAddr::new(*ip, port)).collect(), *trusted),
            None if self.answers_only => {
                return Err(GuardError::Lookup {
                    host: host.to_owned(),
                    reason: "not among the test answers (system lookups are off)".into(),
                });
            }
            None => (lookup(host, port).await?, false),
        };
        if !trusted {
            for a in &addrs {
                self.check_ip(host, a.ip())?;
            }
        }
        Ok(addrs)
    }
}

async fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
    let failed = |reason: String| GuardError::Lookup {
        host: host.to_owned(),
        reason,
    };
    match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port))).await {
        Err(_) => Err(failed(format!("timed out after {} s", LOOKUP_TIMEOUT.as_secs()))),
        Ok(Err(e)) => Err(failed(e.to_string())),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                return Err(failed("no addresses".into()));
            }
            Ok(addrs)
        }
    }
}

/// The static pass's resolver: names are resolved with the system resolver
/// and refused when any address is not public. reqwest does not call it
/// for IP literals: see [`Guard::check_url`].
impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts in the URL's (or the scheme's) port.
            let addrs = Guard::resolve(&guard, &host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The guard's refusal somewhere in an error's chain (reqwest wraps the
/// resolver's error twice).
pub fn refusal_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r);
        }
        if let Some(GuardError::Refused(r)) = err.downcast_ref::<GuardError>() {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        not_public(s.parse().unwrap()).is_some()
    }

    #[test]
    fn non_public_ranges_are_refused() {
        for a in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "2002:a00:1::1",
            "2002:7f00:1::",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(refused(a), "{a} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.255.255",
            "169.255.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.167.255.255",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:4860::8888",
        ] {
            assert!(!refused(a), "{a} should pass: {:?}", not_public(a.parse().unwrap()));
        }
    }

    #[test]
    fn literals_names_and_the_switch() {
        let g = Guard::public_only();
        let url = |s: &str| url::Url::parse(s).unwrap();
        let e = g
            .check_url(&url("http://169.254.169.254/latest/meta-data/"))
            .unwrap_err();
        assert_eq!(e.addr, "169.254.169.254".parse::<IpAddr>().unwrap());
        assert!(
            e.to_string().contains("169.254.169.254 is the cloud metadata address"),
            "{e}"
        );
        assert!(e.to_string().contains("--allow-private-targets"), "{e}");
        // The URL parser reads the other IPv4 spellings as addresses too.
        assert!(g.check_url(&url("http://2130706433/")).is_err());
        assert!(g.check_url(&url("http://0x7f.1/")).is_err());
        assert!(g.check_url(&url("http://[::ffff:7f00:1]/")).is_err());
        assert!(g.check_url(&url("http://shop.example/")).is_ok());
        assert!(Guard::allow_private().check_url(&url("http://10.0.0.1/")).is_ok());
    }

    #[tokio::test]
    async fn resolution_is_checked_and_test_answers_are_honoured() {
        let ten: IpAddr = "10.0.0.1".parse().unwrap();
        let public: IpAddr = "93.184.215.14".parse().unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let g = Guard::public_only()
            .with_answer("intranet.test", &[ten])
            .with_answer("mixed.test", &[public, ten])
            .with_answer("www.test", &[public])
            .trusting("fixture.test", &[loopback]);
        let e = g.resolve("intranet.test", 80).await.unwrap_err();
        assert!(
            e.to_string()
                .contains("intranet.test resolves to 10.0.0.1, a private address (RFC 1918)"),
            "{e}"
        );
        assert!(
            g.resolve("mixed.test", 80).await.is_err(),
            "one private answer refuses the name"
        );
        assert_eq!(
            g.resolve("www.test", 443).await.unwrap(),
            vec![SocketAddr::new(public, 443)]
        );
        assert!(g.resolve("fixture.test", 1).await.is_ok());
        assert!(g.resolve("127.0.0.1", 80).await.is_err());
        assert!(g.resolve("[::1]", 80).await.is_err());
        // `localhost` comes from /etc/hosts: no packet leaves the machine.
        assert!(matches!(g.resolve("localhost", 80).await, Err(GuardError::Refused(_))));
        assert!(Guard::allow_private().resolve("localhost", 80).await.is_ok());
    }
}
