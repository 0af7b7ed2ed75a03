//! The server's settings: command-line flags, each also settable from an
//! environment variable (`KEURMERK_*`) and from a TOML file (`--config`).
//! Precedence: flag or environment, then the file, then the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Parser;
use serde::Deserialize;

#[derive(Debug, Parser, Default)]
#[command(name = "consent-server", version, about = "Keurmerk's consent server")]
pub struct Cli {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "KEURMERK_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded (SQLite) storage [default: ./.data].
    #[arg(long, env = "KEURMERK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use Redis storage at this URL (redis://host:port/db) instead of the embedded storage.
    #[arg(long, env = "KEURMERK_REDIS")]
    pub redis: Option<String>,
    /// Prefix of every Redis key [default: kmk:].
    #[arg(long, env = "KEURMERK_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    /// TOML file with any of these settings (keys as the flags, with '_' for '-').
    #[arg(long, env = "KEURMERK_CONFIG")]
    pub config: Option<PathBuf>,
    /// The server's base URL as browsers reach it [default: http://LISTEN].
    #[arg(long, env = "KEURMERK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Directory of the widget's built assets, served at /widget/ [default: consent-widget/dist].
    #[arg(long, env = "KEURMERK_WIDGET_DIR")]
    pub widget_dir: Option<PathBuf>,
    /// Directory of the demo site's pages, served at /demo/ [default: consent-widget/demo].
    #[arg(long, env = "KEURMERK_DEMO_DIR")]
    pub demo_dir: Option<PathBuf>,
    /// Serve the demo shop on this address of its own (e.g. 127.0.0.1:8081), an origin apart from
    /// the dashboard and the owner API so the tag manager and pixels it loads cannot act on an
    /// admin session [default: no demo].
    #[arg(long, env = "KEURMERK_DEMO_LISTEN")]
    pub demo_listen: Option<SocketAddr>,
    /// Decisions per second one client (IP) may record, 0 for no limit [default: 10].
    #[arg(long, env = "KEURMERK_CLIENT_RATE")]
    pub client_rate: Option<u32>,
    /// Decisions per second one site may record, 0 for no limit [default: 2000].
    #[arg(long, env = "KEURMERK_SITE_RATE")]
    pub site_rate: Option<u32>,
    /// Admin log-in attempts per minute per client, 0 for no limit [default: 10].
    #[arg(long, env = "KEURMERK_LOGIN_RATE")]
    pub login_rate: Option<u32>,
    /// Redis for the scan queue (redis://…) when storage is embedded [default: the --redis URL, if any].
    #[arg(long, env = "KEURMERK_SCAN_QUEUE")]
    pub scan_queue: Option<String>,
    /// Scan workers the server runs itself when the scan queue is embedded (no Redis), 0 to 16;
    /// 0 leaves queued scans waiting [default: 1].
    #[arg(long, env = "KEURMERK_SCAN_WORKERS")]
    pub scan_workers: Option<usize>,
    /// Let the server's own scans connect to non-public addresses (loopback, RFC 1918, …), as
    /// `consent-scan --allow-private-targets`: for intranet sites and the local demo shop.
    #[arg(long, env = "KEURMERK_SCAN_ALLOW_PRIVATE_TARGETS")]
    pub scan_allow_private_targets: bool,
    /// Chromium for the browser pass of the server's own scans; without it they run the static
    /// pass only and say so [default: /usr/bin/chromium].
    #[arg(long, env = "KEURMERK_SCAN_CHROMIUM")]
    pub scan_chromium: Option<PathBuf>,
    /// Seconds an embedded scan job's lease lasts without renewal (tests shorten it).
    #[arg(long, hide = true)]
    pub scan_lease_secs: Option<u64>,
    /// Threads that serve requests, 1 to 1024 [default: one fewer than the cores, at least one].
    #[arg(long, env = "KEURMERK_WORKERS", value_parser = clap::value_parser!(u16).range(1..=MAX_WORKERS as i64))]
    pub workers: Option<u16>,
    /// Scan reports a site may upload per hour, 0 for no limit [default: 60].
    #[arg(long, env = "KEURMERK_SCAN_UPLOAD_RATE")]
    pub scan_upload_rate: Option<u32>,
    /// Erasures per minute per client, 0 for no limit [default: 10].
    #[arg(long, env = "KEURMERK_ERASE_RATE")]
    pub erase_rate: Option<u32>,
    /// Decisions one consent id may record; further ones are refused (422) [default: 10000].
    #[arg(long, env = "KEURMERK_MAX_VISITOR_DECISIONS")]
    pub max_visitor_decisions: Option<u32>,
    /// A reverse proxy (CIDR, e.g. 10.0.0.5/32; repeat or separate with commas) whose
    /// X-Forwarded-For / Forwarded headers name the client. Without one, the TCP peer is the client.
    #[arg(long = "trusted-proxy", env = "KEURMERK_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds a client has to send a request's headers (also closes idle keep-alive connections) [default: 10].
    #[arg(long, env = "KEURMERK_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Seconds a request may take, body included, before it is answered 408 [default: 30].
    #[arg(long, env = "KEURMERK_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// Connections served at once; further ones wait in the listen backlog [default: 10000].
    #[arg(long, env = "KEURMERK_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// A secret (at least 16 characters) /metrics asks for as `Authorization: Bearer <token>`.
    /// Without one, /metrics answers only when listening on loopback without a trusted proxy.
    #[arg(long, env = "KEURMERK_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A C2SP tlog-witness to cosign every checkpoint:
    /// `NAME+KEYID+BASE64KEY=URL` (its cosignature/v1 verifier key, `=`,
    /// the submission prefix that `/add-checkpoint` is appended to).
    /// Repeatable; with several, give them as one comma-separated list in
    /// the environment variable.
    #[arg(long = "witness", env = "KEURMERK_WITNESSES", value_delimiter = ',')]
    pub witnesses: Vec<String>,
    /// How many witnesses must cosign a checkpoint for it to count as
    /// witnessed [default: all of them]. A checkpoint below the quorum is
    /// still published (the log never stops) and reported in /metrics.
    #[arg(long, env = "KEURMERK_WITNESS_QUORUM")]
    pub witness_quorum: Option<usize>,
    /// Also be a C2SP tlog-witness for another log: its verifier key (the
    /// key's name is the log's origin), e.g. another operator's Keurmerk
    /// at its `/.well-known/keurmerk-log-key`. Repeatable (comma-separated
    /// in the environment variable). Logs submit to
    /// `<public URL>/witness/add-checkpoint`; the witness's key is kept in
    /// the data directory and served at `/.well-known/keurmerk-witness-key`.
    /// Embedded storage only (the witness's state is on local disk).
    #[arg(long = "witness-for", env = "KEURMERK_WITNESS_FOR", value_delimiter = ',')]
    pub witness_for: Vec<String>,
}

/// The same settings as read from `--config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    redis: Option<String>,
    redis_prefix: Option<String>,
    public_url: Option<String>,
    widget_dir: Option<PathBuf>,
    demo_dir: Option<PathBuf>,
    demo_listen: Option<SocketAddr>,
    client_rate: Option<u32>,
    site_rate: Option<u32>,
    login_rate: Option<u32>,
    scan_queue: Option<String>,
    scan_workers: Option<usize>,
    scan_allow_private_targets: Option<bool>,
    scan_chromium: Option<PathBuf>,
    workers: Option<u16>,
    max_visitor_decisions: Option<u32>,
    erase_rate: Option<u32>,
    scan_upload_rate: Option<u32>,
    trusted_proxies: Option<Vec<ipnet::IpNet>>,
    header_timeout: Option<u64>,
    request_timeout: Option<u64>,
    max_connections: Option<usize>,
    metrics_token: Option<String>,
    witnesses: Option<Vec<String>>,
    witness_quorum: Option<usize>,
    witness_for: Option<Vec<String>>,
}

/// Where decisions are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageSettings {
    Embedded { data_dir: PathBuf },
    Redis { url: String, prefix: String },
}

/// The resolved settings the server runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub storage: StorageSettings,
    /// Base URL without a trailing slash.
    pub public_url: String,
    pub widget_dir: PathBuf,
    pub demo_dir: PathBuf,
    /// Where the demo shop is served (its own origin); `None`: nowhere.
    pub demo_listen: Option<SocketAddr>,
    /// Per-second limits; `0` switches a limit off.
    pub client_rate: u32,
    pub site_rate: u32,
    /// Per minute; `0` switches it off.
    pub login_rate: u32,
    /// Erasures per minute per client; `0` switches it off.
    pub erase_rate: u32,
    /// Scan-report uploads per hour per site; `0` switches it off.
    pub scan_upload_rate: u32,
    /// The Redis of the scan queue; `None`: the queue is in the embedded
    /// storage and the server runs its own workers.
    pub scan_queue: Option<String>,
    /// The server's own scan workers (embedded queue only); 0: none.
    pub scan_workers: usize,
    /// See [`Cli::scan_allow_private_targets`].
    pub scan_allow_private_targets: bool,
    /// See [`Cli::scan_chromium`].
    pub scan_chromium: PathBuf,
    /// See [`Cli::scan_lease_secs`].
    pub scan_lease: std::time::Duration,
    /// Threads of the async runtime, which serve every request.
    pub workers: usize,
    /// See [`Cli::max_visitor_decisions`]: anyone can mint a consent id, so
    /// one id's history must not grow without bound.
    pub max_visitor_decisions: u32,
    /// Proxies whose forwarding headers are believed; empty: none.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// See [`Cli::header_timeout`].
    pub header_timeout: std::time::Duration,
    /// See [`Cli::request_timeout`].
    pub request_timeout: std::time::Duration,
    /// See [`Cli::max_connections`].
    pub max_connections: usize,
    /// See [`Cli::metrics_token`].
    pub metrics_token: Option<String>,
    /// See [`Cli::witnesses`].
    pub witnesses: Vec<crate::log::witness::WitnessEndpoint>,
    /// See [`Cli::witness_quorum`]; resolved, at most the witnesses.
    pub witness_quorum: usize,
    /// See [`Cli::witness_for`]: the logs this server witnesses.
    pub witness_for: Vec<consent_core::note::NoteVerifier>,
}

impl Settings {
    /// Defaults for everything, listening on `listen`, storing in `data_dir`.
    pub fn embedded(listen: SocketAddr, data_dir: &Path) -> Self {
        Self::resolve(Cli {
            listen: Some(listen),
            data_dir: Some(data_dir.to_owned()),
            ..Cli::default()
        })
        .expect("defaults resolve")
    }

    pub fn resolve(cli: Cli) -> anyhow::Result<Self> {
        let file = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<FileSettings>(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileSettings::default(),
        };
        let listen = cli
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let redis = cli.redis.or(file.redis);
        let scan_queue = cli.scan_queue.or(file.scan_queue).or_else(|| redis.clone());
        let storage = match redis {
            Some(url) => StorageSettings::Redis {
                url,
                prefix: cli.redis_prefix.or(file.redis_prefix).unwrap_or_else(|| "kmk:".into()),
            },
            None => StorageSettings::Embedded {
                data_dir: cli.data_dir.or(file.data_dir).unwrap_or_else(|| ".data".into()),
            },
        };
        let witnesses = if cli.witnesses.is_empty() {
            file.witnesses.clone().unwrap_or_default()
        } else {
            cli.witnesses.clone()
        };
        let witnesses = witnesses
            .iter()
            .map(|w| crate::log::witness::WitnessEndpoint::parse(w).with_context(|| format!("--witness {w:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let witness_for = if cli.witness_for.is_empty() {
            file.witness_for.clone().unwrap_or_default()
        } else {
            cli.witness_for.clone()
        };
        let witness_for = witness_for
            .iter()
            .map(|k| {
                consent_core::note::NoteVerifier::parse(k.trim())
                    .map_err(|e| anyhow::anyhow!("--witness-for {k:?}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            witness_for.is_empty() || matches!(storage, StorageSettings::Embedded { .. }),
            "--witness-for needs embedded storage: a witness keeps its state on one machine's disk, which \
             several server processes over one Redis would not share (run the witness as \
             `keurmerk-verify witness` instead)"
        );
        let public_url = cli
            .public_url
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        let parsed = url::Url::parse(&public_url).with_context(|| format!("--public-url {public_url:?}"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
            "--public-url must be an http(s) URL"
        );
        Ok(Self {
            listen,
            storage,
            public_url: public_url.trim_end_matches('/').to_owned(),
            widget_dir: cli
                .widget_dir
                .or(file.widget_dir)
                .unwrap_or_else(|| "consent-widget/dist".into()),
            demo_dir: cli
                .demo_dir
                .or(file.demo_dir)
                .unwrap_or_else(|| "consent-widget/demo".into()),
            demo_listen: cli.demo_listen.or(file.demo_listen),
            client_rate: cli.client_rate.or(file.client_rate).unwrap_or(10),
            site_rate: cli.site_rate.or(file.site_rate).unwrap_or(2000),
            login_rate: cli.login_rate.or(file.login_rate).unwrap_or(10),
            erase_rate: cli.erase_rate.or(file.erase_rate).unwrap_or(10),
            scan_upload_rate: cli.scan_upload_rate.or(file.scan_upload_rate).unwrap_or(60),
            scan_queue,
            scan_workers: match cli.scan_workers.or(file.scan_workers).unwrap_or(1) {
                n @ 0..=MAX_SCAN_WORKERS => n,
                n => anyhow::bail!("scan_workers must be between 0 and {MAX_SCAN_WORKERS}, not {n}"),
            },
            scan_allow_private_targets: cli.scan_allow_private_targets
                || file.scan_allow_private_targets.unwrap_or(false),
            scan_chromium: cli
                .scan_chromium
                .or(file.scan_chromium)
                .unwrap_or_else(|| "/usr/bin/chromium".into()),
            scan_lease: seconds(
                "scan_lease_secs",
                cli.scan_lease_secs,
                consent_core::scan_job::HEARTBEAT_TTL_SECS,
            )?,
            workers: match cli.workers.or(file.workers) {
                Some(n) if n == 0 || n > MAX_WORKERS => {
                    anyhow::bail!("workers must be between 1 and {MAX_WORKERS}, not {n}")
                }
                Some(n) => usize::from(n),
                None => default_workers(),
            },
            max_visitor_decisions: match cli
                .max_visitor_decisions
                .or(file.max_visitor_decisions)
                .unwrap_or(10_000)
            {
                0 => anyhow::bail!("max_visitor_decisions must be at least 1"),
                n => n,
            },
            trusted_proxies: if cli.trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                cli.trusted_proxies
            },
            header_timeout: seconds("header_timeout", cli.header_timeout.or(file.header_timeout), 10)?,
            request_timeout: seconds("request_timeout", cli.request_timeout.or(file.request_timeout), 30)?,
            max_connections: match cli.max_connections.or(file.max_connections).unwrap_or(10_000) {
                0 => anyhow::bail!("max_connections must be at least 1"),
                n => n,
            },
            metrics_token: match cli.metrics_token.or(file.metrics_token) {
                Some(t) if t.chars().count() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                    anyhow::bail!("metrics_token must be at least 16 characters, without spaces")
                }
                t => t,
            },
            witnesses: witnesses.clone(),
            witness_quorum: match cli.witness_quorum.or(file.witness_quorum) {
                None => witnesses.len(),
                Some(q) if q > witnesses.len() || (q == 0 && !witnesses.is_empty()) => {
                    anyhow::bail!(
                        "witness_quorum must be between 1 and the {} witness(es) given",
                        witnesses.len()
                    )
                }
                Some(q) => q,
            },
            witness_for,
        })
    }

    /// The demo shop's origin, when it is served: the public URL's scheme
    /// and host with the demo listener's port.
    pub fn demo_origin(&self) -> Option<String> {
        let addr = self.demo_listen?;
        let mut url = url::Url::parse(&self.public_url).ok()?;
        url.set_port(Some(addr.port())).ok()?;
        Some(url.origin().ascii_serialization())
    }

    /// The public URL's origin (`scheme://host[:port]`), allowed on the demo site.
    pub fn public_origin(&self) -> String {
        url::Url::parse(&self.public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }
}

/// A timeout setting: 1 s to 1 h (0 would close every connection at once).
fn seconds(name: &str, value: Option<u64>, default: u64) -> anyhow::Result<std::time::Duration> {
    match value.unwrap_or(default) {
        n @ 1..=3600 => Ok(std::time::Duration::from_secs(n)),
        n => anyhow::bail!("{name} must be between 1 and 3600 seconds, not {n}"),
    }
}

/// A bound on `--scan-workers`: each runs a scan (and a Chromium) at once.
const MAX_SCAN_WORKERS: usize = 16;

/// A bound on `--workers`: a typo such as 20000 would otherwise try to start
/// that many threads before serving anything.
const MAX_WORKERS: u16 = 1024;

/// One thread fewer than the cores, at least one. The server shares its
/// machine with its storage: SQLite's writer thread, or a Redis beside it.
/// On the 2-core bench machine a second runtime thread only competed with
/// them: one thread recorded more decisions a second on both backends and
/// spent less CPU on each (docs/benchmarks.md has the figures), since with
/// one thread no task is ever woken on another thread, and the runtime never
/// parks and unparks a second one.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_client_settings_parse_and_are_bounded() {
        let cli = Cli::try_parse_from([
            "consent-server",
            "--trusted-proxy",
            "10.0.0.0/8,2001:db8::/32",
            "--trusted-proxy",
            "127.0.0.1/32",
            "--header-timeout",
            "5",
        ])
        .unwrap();
        let s = Settings::resolve(cli).unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        assert_eq!(s.header_timeout, std::time::Duration::from_secs(5));
        assert_eq!(s.request_timeout, std::time::Duration::from_secs(30));
        assert_eq!(s.max_connections, 10_000);
        assert!(Cli::try_parse_from(["consent-server", "--trusted-proxy", "not-a-net"]).is_err());
        let zero = Cli::try_parse_from(["consent-server", "--header-timeout", "0"]).unwrap();
        assert!(Settings::resolve(zero).is_err());
    }

    #[test]
    fn witnessing_other_logs_takes_log_keys_and_embedded_storage() {
        let log = consent_core::note::NoteSigner::from_seed("b.test/keurmerk-log", &[2; 32]).unwrap();
        let key = log.verifier().to_string();
        let s = Settings::resolve(Cli::try_parse_from(["x", "--witness-for", &key]).unwrap()).unwrap();
        assert_eq!(s.witness_for, [log.verifier().clone()]);
        for bad in [
            vec!["x", "--witness-for", "not a key"],
            vec!["x", "--witness-for", &key, "--redis", "redis://127.0.0.1:1"],
        ] {
            assert!(Settings::resolve(Cli::try_parse_from(bad).unwrap()).is_err());
        }
    }

    #[test]
    fn witnesses_and_their_quorum() {
        let w = consent_core::cosignature::CosignatureSigner::from_seed("w.test/1", &[1; 32]).unwrap();
        let flag = format!("{}=http://127.0.0.1:7380/", w.verifier());
        let s = Settings::resolve(Cli::try_parse_from(["x", "--witness", &flag]).unwrap()).unwrap();
        assert_eq!(s.witnesses.len(), 1);
        assert_eq!(s.witnesses[0].url, "http://127.0.0.1:7380");
        assert_eq!(s.witness_quorum, 1, "default: every witness");
        for bad in [
            vec!["x", "--witness", &flag, "--witness-quorum", "2"],
            vec!["x", "--witness", &flag, "--witness-quorum", "0"],
            vec!["x", "--witness", "w.test/1+00000000+BAAA=http://127.0.0.1:1"],
            vec!["x", "--witness", "no-url"],
        ] {
            assert!(
                Settings::resolve(Cli::try_parse_from(&bad).unwrap()).is_err(),
                "{bad:?}"
            );
        }
        let ftp = format!("{}=ftp://127.0.0.1/", w.verifier());
        assert!(Settings::resolve(Cli::try_parse_from(["x", "--witness", &ftp]).unwrap()).is_err());
    }

    #[test]
    fn default_workers_leave_a_core_to_storage() {
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(default_workers(), cores.saturating_sub(1).max(1));
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nredis = \"redis://127.0.0.1:1/\"\nsite_rate = 5\n",
        )
        .unwrap();
        let s = Settings::resolve(Cli {
            config: Some(file.clone()),
            site_rate: Some(7),
            ..Cli::default()
        })
        .unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.site_rate, 7);
        assert_eq!(s.client_rate, 10);
        assert!(matches!(s.storage, StorageSettings::Redis { ref prefix, .. } if prefix == "kmk:"));
        assert_eq!(s.public_url, "http://127.0.0.1:9000");
        // The scan queue follows Redis storage unless set on its own.
        assert_eq!(s.scan_queue.as_deref(), Some("redis://127.0.0.1:1/"));
        assert_eq!(s.workers, default_workers());
        assert_eq!((s.scan_workers, s.scan_allow_private_targets), (1, false));
        std::fs::write(&file, "scan_workers = 2\nscan_allow_private_targets = true\n").unwrap();
        let scans = Settings::resolve(Cli {
            config: Some(file.clone()),
            ..Cli::default()
        })
        .unwrap();
        assert_eq!((scans.scan_workers, scans.scan_allow_private_targets), (2, true));
        assert!(scans.scan_queue.is_none(), "no Redis: the embedded queue");
        let cli = Cli::try_parse_from(["consent-server", "--scan-workers", "0"]).unwrap();
        assert_eq!(Settings::resolve(cli).unwrap().scan_workers, 0);
        let cli = Cli::try_parse_from(["consent-server", "--scan-workers", "17"]).unwrap();
        assert!(Settings::resolve(cli).is_err());
        std::fs::write(&file, "workers = 3\n").unwrap();
        let from_file = |cli: Cli| {
            Settings::resolve(Cli {
                config: Some(file.clone()),
                ..cli
            })
        };
        assert_eq!(from_file(Cli::default()).unwrap().workers, 3);
        assert_eq!(
            from_file(Cli {
                workers: Some(2),
                ..Cli::default()
            })
            .unwrap()
            .workers,
            2
        );
        std::fs::write(&file, "workers = 0\n").unwrap();
        assert!(from_file(Cli::default()).is_err(), "no threads to serve with");
        assert!(Cli::try_parse_from(["consent-server", "--workers", "0"]).is_err());
        std::fs::write(&file, "workers = 20000\n").unwrap();
        let err = from_file(Cli::default()).unwrap_err().to_string();
        assert!(err.contains("between 1 and 1024"), "{err}");
        assert!(Cli::try_parse_from(["consent-server", "--workers", "1025"]).is_err());
        assert_eq!(
            Cli::try_parse_from(["consent-server", "--workers", "1024"])
                .unwrap()
                .workers,
            Some(1024)
        );
        std::fs::write(&file, "colour = \"red\"\n").unwrap();
        assert!(
            Settings::resolve(Cli {
                config: Some(file),
                ..Cli::default()
            })
            .is_err()
        );
    }
}
