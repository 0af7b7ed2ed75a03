//! `consent-scan check` end to end: the binary against the fixture web on
//! loopback, real headless Chromium with the tracker hosts mapped to the
//! fixture server, the declaration from a (fake) consent server or a file.
//! A clean deploy exits 0; one whose LinkedIn tag fires after "reject all"
//! exits 1 with a JUnit failure and a SARIF error naming the platform;
//! `--allow` and `--baseline` accept it; a site that cannot be reached is 2.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use crate::common;

fn fixture(name: &str) -> std::path::PathBuf {
    common::fixtures().join("check").join(name)
}

/// The deploy: a clean page and a leaky one behind a stand-in loader, the
/// site's published configuration, and the fake vendors.
fn site(req: &common::Req) -> common::Reply {
    let path = req.path.split('?').next().unwrap_or("/");
    let file = |name: &str, ty: &str| {
        common::Reply::status(
            200,
            vec![("content-type".into(), ty.into())],
            &std::fs::read(fixture(name)).unwrap(),
        )
    };
    match (req.host.as_str(), path) {
        ("127.0.0.1", "/clean") => file("clean.html", "text/html; charset=utf-8"),
        ("127.0.0.1", "/leaky") => file("leaky.html", "text/html; charset=utf-8"),
        ("127.0.0.1", "/s/shop/loader.js") => file("loader.js", "application/javascript"),
        ("127.0.0.1", "/api/v1/sites/shop/config") => {
            let cfg: consent_core::SiteConfig =
                toml::from_str(&std::fs::read_to_string(fixture("declared.toml")).unwrap()).unwrap();
            let body = serde_json::json!({"site": "shop", "version": cfg.version().0, "config": cfg});
            common::Reply::status(
                200,
                vec![("content-type".into(), "application/json".into())],
                body.to_string().as_bytes(),
            )
        }
        ("127.0.0.1", _) => common::Reply::status(404, vec![], b"not found"),
        _ => common::shop(req),
    }
}

/// `consent-scan check URL`: one page, browser pass on it, loopback allowed.
fn check(url: &str, port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_consent-scan"));
    c.args(["check", url])
        .args([
            "--max-pages",
            "1",
            "--depth",
            "0",
            "--browser-pages",
            "1",
            "--rate",
            "0",
        ])
        .args(["--dwell", "0.5", "--timeout", "15", "-q"])
        .args(["--allow-private-targets", "--insecure-tls"])
        .args(["--host-resolver-rules", &common::resolver_rules(port)]);
    c
}

async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
}

fn explain(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[derive(Debug, serde::Deserialize)]
struct Suites {
    #[serde(rename = "@tests")]
    tests: usize,
    #[serde(rename = "@failures")]
    failures: usize,
    testsuite: Vec<Suite>,
}
#[derive(Debug, serde::Deserialize)]
struct Suite {
    #[serde(rename = "@name")]
    name: String,
    #[serde(default)]
    testcase: Vec<Case>,
}
#[derive(Debug, serde::Deserialize)]
struct Case {
    #[serde(rename = "@classname")]
    classname: String,
    #[serde(rename = "@name")]
    name: String,
    failure: Option<Failure>,
}
#[derive(Debug, serde::Deserialize)]
struct Failure {
    #[serde(rename = "@message")]
    message: String,
    #[serde(rename = "$text")]
    text: String,
}

fn junit(path: &Path) -> Suites {
    quick_xml::de::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sarif_levels(path: &Path) -> Vec<(String, String)> {
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(s["version"], "2.1.0");
    s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_owned(),
                r["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_a_clean_deploy_against_the_published_config() {
    let s = common::start(Arc::new(site), Some(common::tls_acceptor())).await;
    let dir = tempfile::tempdir().unwrap();
    let (junit_path, sarif_path) = (dir.path().join("check.xml"), dir.path().join("check.sarif"));
    let mut c = check(&s.url("/clean"), s.port);
    c.args(["--config", &s.url("/api/v1/sites/shop/config")])
        .arg("--junit")
        .arg(&junit_path)
        .arg("--sarif")
        .arg(&sarif_path);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": no regression"), "{}", explain(&out));
    assert!(!stdout.contains("REGRESSION"), "{}", explain(&out));
    // The browser pass really ran: all four consent states hit the page.
    let page_loads = s.requests().iter().filter(|r| r.path == "/clean").count();
    assert!(page_loads >= 4, "{page_loads} loads of /clean");
    let j = junit(&junit_path);
    assert_eq!(j.failures, 0);
    assert!(j.tests >= 10, "one test case per checked rule at least");
    assert!(
        sarif_levels(&sarif_path).iter().all(|(_, level)| level != "error"),
        "{:?}",
        sarif_levels(&sarif_path)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_tracking_after_reject_until_allowed_or_baselined() {
    let s = common::start(Arc::new(site), Some(common::tls_acceptor())).await;
    let dir = tempfile::tempdir().unwrap();
    let (json, junit_path, sarif_path) = (
        dir.path().join("report.json"),
        dir.path().join("check.xml"),
        dir.path().join("check.sarif"),
    );
    let config = fixture("declared.toml");
    let mut c = check(&s.url("/leaky"), s.port);
    c.arg("--config")
        .arg(&config)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit_path)
        .arg("--sarif")
        .arg(&sarif_path);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("REGRESSION tracking-after-reject"))
        .unwrap_or_else(|| panic!("{}", explain(&out)));
    assert!(line.contains("[after reject] linkedin-insight:"), "{line}");
    // That is the only regression: LinkedIn is declared, the loader is first.
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("REGRESSION")).count(),
        1,
        "{}",
        explain(&out)
    );

    let j = junit(&junit_path);
    assert_eq!(j.failures, 1);
    let suite = j.testsuite.iter().find(|s| s.name == "tracking-after-reject").unwrap();
    let case = suite.testcase.iter().find(|c| c.failure.is_some()).unwrap();
    assert_eq!(case.classname, "tracking-after-reject");
    assert_eq!(case.name, "linkedin-insight");
    let failure = case.failure.as_ref().unwrap();
    assert!(failure.message.contains("LinkedIn"), "{}", failure.message);
    assert!(failure.text.contains(&s.url("/leaky")), "{}", failure.text);
    assert!(failure.text.contains("px.ads.linkedin.com"), "{}", failure.text);
    assert!(failure.text.contains("what to do: "), "{}", failure.text);

    let levels = sarif_levels(&sarif_path);
    let errors: Vec<&str> = levels
        .iter()
        .filter(|(_, l)| l == "error")
        .map(|(r, _)| r.as_str())
        .collect();
    assert_eq!(errors, ["tracking-after-reject"], "{levels:?}");

    // Accepted by rule...
    let mut c = check(&s.url("/leaky"), s.port);
    c.arg("--config")
        .arg(&config)
        .args(["--allow", "tracking-after-reject"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("accepted (allowed) tracking-after-reject"),
        "{}",
        explain(&out)
    );
    // ... or because the earlier report already had it.
    let mut c = check(&s.url("/leaky"), s.port);
    c.arg("--config").arg(&config).arg("--baseline").arg(&json);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("accepted (baseline) tracking-after-reject"),
        "{}",
        explain(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_that_cannot_run_exits_2() {
    let s = common::start(Arc::new(site), None).await;
    let config = fixture("declared.toml");
    // Nothing listens on this port any more.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let junit_path = dir.path().join("check.xml");
    let mut c = check(&format!("http://127.0.0.1:{closed}/"), s.port);
    c.arg("--config").arg(&config).arg("--junit").arg(&junit_path);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not be reached"),
        "{}",
        explain(&out)
    );
    // CI still gets a report saying why.
    let xml = std::fs::read_to_string(&junit_path).unwrap();
    assert!(xml.contains("<error message=\"the site could not be reached"), "{xml}");

    // Refused before any scan: an unknown rule, a configuration that is not there.
    let mut c = check(&s.url("/clean"), s.port);
    c.arg("--config").arg(&config).args(["--allow", "tracking-after-rejct"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no such rule"),
        "{}",
        explain(&out)
    );
    let mut c = check(&s.url("/clean"), s.port);
    c.args(["--config", &s.url("/api/v1/sites/nope/config")]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HTTP 404"),
        "{}",
        explain(&out)
    );
}
