//! `consent-scan`: scan a site for trackers, personal data sent to ad
//! platforms, undeclared cookies and tracking before consent.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use scanner::browser::BrowserOptions;
use scanner::check;
use scanner::cookie::CookieDb;
use scanner::crawl::CrawlOptions;
use scanner::declared::Declared;
use scanner::fetch::Limits;
use scanner::pii::CanaryIdentity;
use scanner::signature::KnowledgeBase;
use scanner::{Knowledge, ScanConfig, Severity};

#[derive(Parser)]
#[command(name = "consent-scan", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    scan: ScanArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Take scan jobs from a Redis list and put the reports back.
    Worker(WorkerArgs),
    /// Scan a deploy and judge it against the site's published configuration (CI: exit 1 on a regression).
    ///
    /// Runs the static and the browser pass (before consent, after "reject all", after "accept all"
    /// and with Global Privacy Control on) and counts as a regression every finding of these rules
    /// that --allow and --baseline do not accept: tracking-before-consent, tracking-after-reject,
    /// tracking-despite-gpc, fingerprinting (before the choice or after a refusal),
    /// storage-without-consent, undeclared-service, undeclared-cookie, undeclared-storage,
    /// no-consent-banner (nothing to reject with) and loader-installation (the consent loader
    /// missing, not the first synchronous script in `<head>`, or tracker tags written as plain tags).
    /// Prints one line per regression, with its consent state and platform.
    #[command(after_help = CHECK_EXIT_CODES, after_long_help = CHECK_EXIT_CODES)]
    Check(CheckArgs),
}

const CHECK_EXIT_CODES: &str = "Exit status: 0 no regression; 1 one or more regressions; \
                                2 could not run (bad arguments, the configuration or baseline could not be read, \
                                the site could not be reached, or the browser pass did not run).";

#[derive(Args)]
struct CheckArgs {
    /// The site's published configuration: the consent server's public
    /// {server}/api/v1/sites/{site}/config URL, or a file (a SiteConfig as JSON or TOML, or the server's
    /// {site, version, config}).
    #[arg(long, value_name = "URL|FILE", conflicts_with_all = ["declared", "server", "fail_on"])]
    config: String,
    /// Accept every finding of this rule (repeatable), e.g. --allow undeclared-storage.
    #[arg(long = "allow", value_name = "RULE")]
    allow: Vec<String>,
    /// Accept what an earlier report (--json of a scan or check) already had, by key: rule and
    /// platform, else the cookie, storage key or title, with the scanned host written {site}.
    #[arg(long, value_name = "REPORT.json")]
    baseline: Option<PathBuf>,
    /// Write JUnit XML here (one testsuite per rule, a failure per regression; "-" = stdout).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    #[command(flatten)]
    scan: ScanArgs,
}

#[derive(Args)]
struct WorkerArgs {
    /// redis://host:port/db
    #[arg(long)]
    redis: String,
    /// Stop after this many jobs (0 = run forever).
    #[arg(long, default_value_t = 0)]
    max_jobs: usize,
    /// Name of this worker's processing list (default: host-pid).
    #[arg(long)]
    worker_id: Option<String>,
    #[command(flatten)]
    scan: ScanArgs,
}

#[derive(Args, Clone)]
struct ScanArgs {
    /// The site to scan, e.g. <https://shop.example/>
    url: Option<String>,
    /// Pages the static pass fetches at most.
    #[arg(long, default_value_t = 50)]
    max_pages: usize,
    /// Link depth from the start page.
    #[arg(long, default_value_t = 3)]
    depth: u32,
    /// Pages fetched at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Requests per second per host (0 = no limit, for benchmarks on your own site).
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Largest page body kept, in bytes (decompressed).
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    max_body: usize,
    /// Redirects followed per request.
    #[arg(long, default_value_t = 10)]
    max_redirects: usize,
    /// Whole-scan deadline in seconds.
    #[arg(long, default_value_t = 300)]
    deadline: u64,
    /// Ignore robots.txt (scan paths it excludes; only for your own site).
    #[arg(long)]
    no_robots: bool,
    /// Do not seed the static pass from sitemap.xml.
    #[arg(long)]
    no_sitemap: bool,
    /// Pages the browser pass visits in four consent states (0 = static pass only).
    #[arg(long, default_value_t = 5)]
    browser_pages: usize,
    /// The Chromium binary the browser pass drives (headless).
    #[arg(long, default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
    /// Extra Chromium --host-resolver-rules (testing: map hosts to loopback).
    #[arg(long)]
    host_resolver_rules: Option<String>,
    /// Accept any TLS certificate in the browser (testing only).
    #[arg(long)]
    insecure_tls: bool,
    /// Also connect to non-public addresses (intranet sites, tests on 127.0.0.1).
    ///
    /// Off by default: the SSRF guard lets a scan connect only to publicly
    /// routable addresses, checked on the resolved address at connect time,
    /// for the start URL, links, redirects and every browser request alike.
    /// Loopback, RFC 1918, link-local (with the metadata address
    /// 169.254.169.254), unique-local, CGNAT, multicast, broadcast,
    /// documentation and benchmarking ranges, and their IPv6 forms, are
    /// refused and reported.
    #[arg(long)]
    allow_private_targets: bool,
    /// Seconds the browser waits on a page for late pixels.
    #[arg(long, default_value_t = 1.0)]
    dwell: f64,
    /// Submit forms after filling them with the canary identity (off: fill only).
    #[arg(long)]
    submit_forms: bool,
    /// Skip the browser pass's fourth visit of each page with Global Privacy Control on
    /// (Sec-GPC: 1 and navigator.globalPrivacyControl, no choice made).
    #[arg(long)]
    no_gpc: bool,
    /// Canary e-mail typed into forms (its hashes are searched in every request).
    #[arg(long)]
    canary_email: Option<String>,
    /// Canary phone number typed into forms, in E.164 (its hashes are searched too).
    #[arg(long)]
    canary_phone: Option<String>,
    /// Declared services: a SiteConfig (JSON or TOML) or the server's {site, version, config}.
    #[arg(long, conflicts_with = "server")]
    declared: Option<PathBuf>,
    /// Consent server to read the declaration from (with --site) and to upload to.
    #[arg(long)]
    server: Option<String>,
    /// The site's id on the consent server.
    #[arg(long)]
    site: Option<String>,
    /// Open Cookie Database CSV for classifying unknown cookies.
    #[arg(long)]
    cookie_db: Option<PathBuf>,
    /// Knowledge base directory (default: the built-in copy).
    #[arg(long)]
    signatures: Option<PathBuf>,
    /// Write the JSON report here ("-" = stdout; the default when no output is named).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report here ("-" = stdout).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write a SARIF 2.1.0 log here, for CI ("-" = stdout).
    #[arg(long)]
    sarif: Option<PathBuf>,
    /// Exit with status 1 when a finding is at or above this severity.
    #[arg(long, value_enum)]
    fail_on: Option<Severity>,
    /// Upload the report to this consent server (POST /api/v1/sites/{site}/scans).
    #[arg(long, requires = "api_key")]
    upload: Option<String>,
    /// API key for --upload, with the scope scans:write.
    #[arg(long, env = "KEURMERK_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// No progress bar (it is shown only on a terminal anyway).
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("consent-scan: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Some(Command::Worker(w)) => worker(w).await.map(|_| false),
            Some(Command::Check(c)) => check(&c).await,
            None => scan_once(&cli.scan).await,
        }
    });
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(e) => {
            eprintln!("consent-scan: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn config(a: &ScanArgs, url: &str) -> anyhow::Result<ScanConfig> {
    let site = url::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    let mut canary = CanaryIdentity::default();
    if let Some(e) = &a.canary_email {
        canary.email = e.clone();
    }
    if let Some(p) = &a.canary_phone {
        canary.phone = p.clone();
    }
    Ok(ScanConfig {
        site,
        crawl: CrawlOptions {
            max_pages: a.max_pages.max(1),
            max_depth: a.depth,
            concurrency: a.concurrency.max(1),
            deadline: Duration::from_secs(a.deadline),
            robots: !a.no_robots,
            sitemap: !a.no_sitemap,
            ..CrawlOptions::default()
        },
        limits: Limits {
            timeout: Duration::from_secs(a.timeout.max(1)),
            max_body: a.max_body.max(1024),
            max_redirects: a.max_redirects,
            rate_per_host: (a.rate > 0.0).then_some(a.rate),
        },
        browser: (a.browser_pages > 0).then(|| BrowserOptions {
            chromium: a.chromium.clone(),
            max_pages: a.browser_pages,
            host_resolver_rules: a.host_resolver_rules.clone(),
            insecure_tls: a.insecure_tls,
            dwell: Duration::from_secs_f64(a.dwell.clamp(0.0, 30.0)),
            page_timeout: Duration::from_secs(a.timeout.max(1)),
            submit_forms: a.submit_forms,
            gpc: !a.no_gpc,
        }),
        canary,
        allow_private_targets: a.allow_private_targets,
    })
}

struct Loaded {
    kb: KnowledgeBase,
    declared: Declared,
    cookie_db: Option<CookieDb>,
}

async fn load(a: &ScanArgs) -> anyhow::Result<Loaded> {
    let kb = match &a.signatures {
        Some(d) => KnowledgeBase::from_dir(d)?,
        None => KnowledgeBase::builtin(),
    };
    let declared = match (&a.declared, &a.server, &a.site) {
        (Some(f), _, _) => Declared::from_file(f)?,
        (None, Some(server), Some(site)) => {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
            Declared::fetch(&client, server, site).await?
        }
        (None, Some(_), None) => bail!("--server needs --site to read the declaration"),
        _ => Declared::nothing(),
    };
    let cookie_db = a.cookie_db.as_deref().map(CookieDb::load).transpose()?;
    Ok(Loaded {
        kb,
        declared,
        cookie_db,
    })
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(1);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} pages {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    pb
}

/// Runs the scan `cfg` describes, with a progress bar on a terminal.
async fn run_scan(a: &ScanArgs, cfg: &ScanConfig, l: &Loaded) -> anyhow::Result<scanner::Report> {
    let pb = progress_bar(a.quiet);
    let progress = |done: usize, known: usize| {
        pb.set_length(known.max(done) as u64);
        pb.set_position(done as u64);
    };
    let report = scanner::scan(
        cfg,
        &Knowledge {
            kb: &l.kb,
            declared: &l.declared,
            cookie_db: l.cookie_db.as_ref(),
        },
        &progress,
    )
    .await?;
    pb.finish_and_clear();
    Ok(report)
}

/// Writes an output file, or to stdout for "-".
fn write_output(path: &std::path::Path, content: &str) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        println!("{content}");
        return Ok(());
    }
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))
}

/// `--upload`: posts the report to the consent server.
async fn upload_report(a: &ScanArgs, server: &str, json: &str) -> anyhow::Result<()> {
    let site = a
        .site
        .as_deref()
        .context("--upload needs --site (the site's id on the server)")?;
    let key = a.api_key.as_deref().context("--upload needs --api-key")?;
    scanner::upload::upload(server, site, key, json).await?;
    if !a.quiet {
        eprintln!("uploaded to {}", scanner::upload::scans_url(server, site));
    }
    Ok(())
}

/// Runs one scan; `Ok(true)` when `--fail-on` is triggered.
async fn scan_once(a: &ScanArgs) -> anyhow::Result<bool> {
    let Some(url) = &a.url else {
        bail!("give the site to scan, e.g. consent-scan https://shop.example/");
    };
    let cfg = config(a, url)?;
    let l = load(a).await?;
    let report = run_scan(a, &cfg, &l).await?;

    let json = report.to_json();
    let mut wrote_any = false;
    if let Some(p) = &a.html {
        std::fs::write(p, report.to_html()).with_context(|| format!("writing {}", p.display()))?;
        wrote_any = true;
    }
    if let Some(p) = &a.sarif {
        std::fs::write(p, report.to_sarif()).with_context(|| format!("writing {}", p.display()))?;
        wrote_any = true;
    }
    match &a.json {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::write(p, &json).with_context(|| format!("writing {}", p.display()))?;
        }
        Some(_) => println!("{json}"),
        None if !wrote_any => println!("{json}"),
        None => {}
    }
    if !a.quiet {
        eprintln!(
            "{}: {} findings ({} pages static, {} browser); highest: {}",
            report.site,
            report.findings.len(),
            report.summary.pages_static,
            report.summary.pages_browser,
            report.summary.highest.map(|s| s.label()).unwrap_or("none")
        );
    }
    if let Some(server) = &a.upload {
        upload_report(a, server, &json).await?;
    }
    Ok(a.fail_on.is_some_and(|s| report.fails(s)))
}

/// `consent-scan check`: `Ok(true)` on a regression; an error (exit 2)
/// when it could not run. Outputs are written also when the scan ran but
/// cannot be judged (the JUnit file then has one error, the SARIF log an
/// unsuccessful invocation).
async fn check(c: &CheckArgs) -> anyhow::Result<bool> {
    let a = &c.scan;
    let Some(url) = &a.url else {
        bail!("give the deploy to check, e.g. consent-scan check https://preview.shop.example/ --config FILE");
    };
    let cfg = config(a, url)?;
    if cfg.browser.is_none() {
        bail!("check needs the browser pass to test consent: --browser-pages must be 1 or more");
    }
    let baseline = match &c.baseline {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Some(check::read_baseline(&bytes, &p.display().to_string())?)
        }
        None => None,
    };
    let options = check::Options::new(&c.allow, baseline.as_ref())?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let declared = check::declaration(&c.config, &client).await?;
    let mut l = load(a).await?;
    l.declared = declared;
    let report = run_scan(a, &cfg, &l).await?;

    let outcome = match check::ran(&report) {
        Ok(()) => check::judge(&report, &options),
        Err(e) => check::Outcome::not_run(&report.site, e.to_string()),
    };
    let json = report.to_json();
    let outputs: [(&Option<PathBuf>, &dyn Fn() -> String); 4] = [
        (&a.json, &|| json.clone()),
        (&a.html, &|| report.to_html()),
        (&a.sarif, &|| outcome.to_sarif(&report)),
        (&c.junit, &|| outcome.to_junit(report.duration_ms)),
    ];
    let mut to_stdout = false;
    for (path, render) in outputs {
        if let Some(p) = path {
            to_stdout |= p.as_os_str() == "-";
            write_output(p, &render())?;
        }
    }
    // The summary goes to stdout unless an output already does.
    match to_stdout {
        false => print!("{}", outcome.summary()),
        true => eprint!("{}", outcome.summary()),
    }
    if let Some(server) = &a.upload {
        upload_report(a, server, &json).await?;
    }
    if let Some(e) = &outcome.error {
        bail!("{e}");
    }
    Ok(outcome.exit_code() == 1)
}

async fn worker(w: WorkerArgs) -> anyhow::Result<()> {
    // Defaults for every job come from the usual scan flags; a job may
    // override max_pages, depth and browser_pages.
    let template = config(&w.scan, w.scan.url.as_deref().unwrap_or("http://placeholder.invalid/"))?;
    let kb = match &w.scan.signatures {
        Some(d) => KnowledgeBase::from_dir(d)?,
        None => KnowledgeBase::builtin(),
    };
    let id = w
        .worker_id
        .clone()
        .unwrap_or_else(|| format!("{}-{}", hostname(), std::process::id()));
    let n = scanner::worker::work(&w.redis, &id, &template, &kb, w.max_jobs).await?;
    eprintln!("worker {id}: {n} jobs done");
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "worker".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// `consent-scan --help` (and `worker --help`) describes every option.
    #[test]
    fn help_describes_every_option() {
        let mut cli = Cli::command();
        cli.build();
        let mut commands = vec![cli.clone()];
        commands.extend(cli.get_subcommands().cloned());
        for cmd in &commands {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(!help.trim().is_empty(), "{} --{id} has no help text", cmd.get_name());
            }
        }
        let text = Cli::command().render_long_help().to_string();
        for option in [
            "--max-redirects",
            "--no-robots",
            "--chromium",
            "--html",
            "--api-key",
            "--quiet",
        ] {
            let line = text.lines().find(|l| l.contains(option)).unwrap_or_default();
            assert!(!line.is_empty(), "{option} missing from --help");
        }
        let check = cli
            .find_subcommand("check")
            .expect("check")
            .clone()
            .render_long_help()
            .to_string();
        for option in [
            "--config",
            "--allow",
            "--baseline",
            "--junit",
            "--sarif",
            "--host-resolver-rules",
        ] {
            assert!(check.contains(option), "{option} missing from check --help");
        }
        assert!(check.contains("Exit status: 0 no regression; 1 one or more regressions; 2 could not run"));
    }
}
