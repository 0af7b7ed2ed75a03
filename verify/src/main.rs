//! `keurmerk-verify`: see the library docs for formats and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use keurmerk_verify::monitor::{Monitor, MonitorError, Observation, WitnessView};
use keurmerk_verify::{load_key, load_policy, read_bounded, verify_bundles_witnessed, verify_consistency_witnessed};

#[derive(Parser)]
#[command(name = "keurmerk-verify", about = "Verify Keurmerk consent proofs offline", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The witness policy: which witnesses' cosignatures a checkpoint needs.
#[derive(clap::Args, Clone, Default)]
struct Policy {
    /// A witness whose cosignature/v1 counts: its vkey
    /// (`name+keyid+base64(0x04 ‖ key)`) or a file holding it. Repeatable.
    /// For `monitor`, `VKEY=URL` also compares the log with what the
    /// witness at URL cosigned.
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// How many of the witnesses must have validly cosigned (default: all).
    #[arg(long)]
    quorum: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a proof bundle (record + tlog-proof) against the log's key.
    Proof {
        /// The log's verifier key (`name+keyid+base64`) or a file holding it.
        #[arg(long)]
        key: String,
        #[arg(long)]
        bundle: PathBuf,
        #[command(flatten)]
        policy: Policy,
    },
    /// Verify a Keurmerk seal's attestation (`GET /s/{site}/attestation`):
    /// signed and included in the log, cosigned as `--witness`/`--quorum`
    /// ask; then print what it attests, in plain language.
    Attestation {
        /// The log's verifier key (`name+keyid+base64`) or a file holding it.
        #[arg(long)]
        key: String,
        /// The attestation bundle (JSON).
        file: PathBuf,
        #[command(flatten)]
        policy: Policy,
        /// The language of the summary: `en` or `nl`.
        #[arg(long, default_value = "en")]
        lang: String,
        /// Exit 1 unless the attestation's verdict is "passed" (for
        /// scripts that gate on the seal, not only on its authenticity).
        #[arg(long)]
        require_passed: bool,
    },
    /// Verify a receipt (the signed promise returned with a decision), and
    /// optionally that it is for a record (its canonical bytes in a file).
    Receipt {
        #[arg(long)]
        key: String,
        /// The receipt as JSON (the `receipt` field of the decision response).
        #[arg(long)]
        receipt: PathBuf,
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Verify that NEW extends OLD, given the consistency proof between them.
    Consistency {
        #[arg(long)]
        key: String,
        old_checkpoint: PathBuf,
        new_checkpoint: PathBuf,
        proof_file: PathBuf,
        #[command(flatten)]
        policy: Policy,
    },
    /// Watch a live log: alarm on a bad signature or inconsistent checkpoints.
    Monitor {
        /// Base URL of the Keurmerk server, e.g. http://127.0.0.1:8080
        #[arg(long)]
        url: String,
        #[arg(long)]
        key: String,
        /// Seconds between polls.
        #[arg(long, default_value_t = 10.0)]
        interval: f64,
        /// Stop after this many polls (default: run until an alarm).
        #[arg(long)]
        count: Option<u64>,
        #[command(flatten)]
        policy: Policy,
    },
    /// Run a C2SP tlog-witness: cosign the given logs' checkpoints while
    /// each extends the last one cosigned (POST /add-checkpoint).
    Witness {
        /// Address to listen on, e.g. 127.0.0.1:7380 (port 0: any; the
        /// address is printed on the first line of standard output).
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// The witness's signing key (`PRIVATE+KEY+…`, see `witness-keygen`).
        #[arg(long)]
        key_file: PathBuf,
        /// Where the latest cosigned checkpoint of each log is kept.
        #[arg(long)]
        state_dir: PathBuf,
        /// A log to witness: its verifier key (the key's name is the
        /// origin) or a file holding it. Repeatable.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
    },
    /// Create a witness key: writes the private key to OUT (mode 0600,
    /// never overwritten) and prints the verifier key to give to logs and
    /// verifiers.
    WitnessKeygen {
        /// The witness's name, e.g. witness.example.org/w1
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
    },
}

const INVALID: u8 = 1;
const CANNOT_RUN: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(CANNOT_RUN)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Attestation {
            key,
            file,
            policy,
            lang,
            require_passed,
        } => {
            let key = load_key(&key)?;
            let (policy, _) = load_policy(&policy.witnesses, policy.quorum)?;
            let json = read_bounded(&file, 64 * 1024)?;
            match keurmerk_verify::verify_attestation(json.as_bytes(), &key, &policy) {
                Ok((v, a)) => {
                    println!(
                        "valid: the attestation of site {} (scan {}) is leaf {} of {} at tree size {} (root {})",
                        a.site,
                        a.scan_id,
                        v.index,
                        v.checkpoint.origin,
                        v.checkpoint.size,
                        hex(&v.checkpoint.root)
                    );
                    if !v.cosigned_by.is_empty() {
                        println!("witnessed by: {}", v.cosigned_by.join(", "));
                    }
                    let verdict = a.verdict();
                    println!("verdict: {}", serde_json::to_value(verdict)?.as_str().unwrap_or("?"));
                    for line in a.plain_language(&lang) {
                        println!("- {line}");
                    }
                    if require_passed && verdict != consent_core::attestation::Verdict::Passed {
                        println!("not passed");
                        return Ok(INVALID);
                    }
                    println!("valid");
                    Ok(0)
                }
                Err(e) => {
                    println!("invalid: {e}");
                    Ok(INVALID)
                }
            }
        }
        Command::Proof { key, bundle, policy } => {
            let key = load_key(&key)?;
            let (policy, _) = load_policy(&policy.witnesses, policy.quorum)?;
            let json = read_bounded(&bundle, 4 * 1024 * 1024)?;
            match verify_bundles_witnessed(json.as_bytes(), &key, &policy) {
                Ok(all) => {
                    for v in &all {
                        println!(
                            "valid: leaf {} is in {} at tree size {} (root {})",
                            v.index,
                            v.checkpoint.origin,
                            v.checkpoint.size,
                            hex(&v.checkpoint.root)
                        );
                        if !v.cosigned_by.is_empty() {
                            println!("witnessed by: {}", v.cosigned_by.join(", "));
                        }
                    }
                    println!("valid");
                    Ok(0)
                }
                Err((i, e)) => {
                    println!("invalid: bundle {i}: {e}");
                    Ok(INVALID)
                }
            }
        }
        Command::Receipt { key, receipt, record } => {
            let key = load_key(&key)?;
            let json = read_bounded(&receipt, 64 * 1024)?;
            let receipt: consent_core::receipt::Receipt = match serde_json::from_str(&json) {
                Ok(r) => r,
                Err(e) => {
                    println!("invalid: receipt is not JSON of the expected shape: {e}");
                    return Ok(INVALID);
                }
            };
            let leaf = match record {
                Some(path) => {
                    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                    Some(consent_core::merkle::leaf_hash(&bytes))
                }
                None => None,
            };
            match receipt.verify(&key, leaf.as_ref()) {
                Ok(()) => {
                    println!(
                        "valid: {} promised leaf {} at {} ms",
                        receipt.log, receipt.index, receipt.time_ms
                    );
                    println!("valid");
                    Ok(0)
                }
                Err(e) => {
                    println!("invalid: {e}");
                    Ok(INVALID)
                }
            }
        }
        Command::Consistency {
            key,
            old_checkpoint,
            new_checkpoint,
            proof_file,
            policy,
        } => {
            let key = load_key(&key)?;
            let (policy, _) = load_policy(&policy.witnesses, policy.quorum)?;
            let old = read_bounded(&old_checkpoint, 64 * 1024)?;
            let new = read_bounded(&new_checkpoint, 64 * 1024)?;
            let proof = read_bounded(&proof_file, 64 * 1024)?;
            match verify_consistency_witnessed(&key, &policy, &old, &new, &proof) {
                Ok((o, n)) => {
                    println!(
                        "valid: tree size {} extends tree size {} of {}",
                        n.size, o.size, n.origin
                    );
                    println!("valid");
                    Ok(0)
                }
                Err(e) => {
                    println!("invalid: {e}");
                    Ok(INVALID)
                }
            }
        }
        Command::Monitor {
            url,
            key,
            interval,
            count,
            policy,
        } => {
            let key = load_key(&key)?;
            let (policy, witnesses) = load_policy(&policy.witnesses, policy.quorum)?;
            anyhow::ensure!(interval.is_finite() && interval >= 0.0, "--interval must be ≥ 0");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let mut m = Monitor::new(&url, key)
                .with_witnesses(witnesses.into_iter().filter_map(|(k, u)| u.map(|u| (k, u))).collect());
            rt.block_on(monitor(&mut m, &url, &policy, Duration::from_secs_f64(interval), count))
        }
        Command::Witness {
            listen,
            key_file,
            state_dir,
            logs,
        } => {
            let signer = consent_core::cosignature::CosignatureSigner::parse(read_bounded(&key_file, 4096)?.trim())
                .map_err(|e| anyhow::anyhow!("{}: {e}", key_file.display()))?;
            let logs = logs.iter().map(|l| load_key(l)).collect::<anyhow::Result<Vec<_>>>()?;
            let witness = keurmerk_verify::witness::Witness::new(signer, logs, &state_dir)
                .with_context(|| format!("state directory {}", state_dir.display()))?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the runtime")?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("listening on {listen}"))?;
                println!("listening on {}", listener.local_addr()?);
                eprintln!("witness key: {}", witness.signer().verifier());
                axum::serve(listener, keurmerk_verify::witness::router(std::sync::Arc::new(witness)))
                    .await
                    .context("serving")?;
                Ok(0)
            })
        }
        Command::WitnessKeygen { name, out } => {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut seed = [0u8; 32];
            getrandom(&mut seed)?;
            let signer = consent_core::cosignature::CosignatureSigner::from_seed(&name, &seed)
                .map_err(|e| anyhow::anyhow!("--name {name:?}: {e}"))?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            f.write_all(format!("{}\n", signer.to_private_string()).as_bytes())?;
            f.sync_all()?;
            println!("{}", signer.verifier());
            Ok(0)
        }
    }
}

/// A fresh seed from the operating system's generator.
fn getrandom(buf: &mut [u8]) -> anyhow::Result<()> {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .context("reading /dev/urandom")
}

async fn monitor(
    m: &mut Monitor,
    url: &str,
    policy: &consent_core::cosignature::WitnessPolicy,
    interval: Duration,
    count: Option<u64>,
) -> anyhow::Result<u8> {
    let mut polls = 0u64;
    loop {
        let polled = m.poll().await;
        let fresh = polled.is_ok();
        match polled {
            Ok(Observation::First(cp)) => println!("checkpoint: size {} root {}", cp.size, hex(&cp.root)),
            Ok(Observation::Unchanged(cp)) => println!("unchanged: size {}", cp.size),
            Ok(Observation::Grew { from, to }) => println!("consistent: size {from} -> {}", to.size),
            Ok(Observation::Stale { seen, served }) => {
                println!("stale: served size {served}, already saw {seen} (consistent)")
            }
            Err(MonitorError::Alarm(msg)) => {
                println!("ALARM: {msg}");
                eprintln!("ALARM: {msg}");
                return Ok(INVALID);
            }
            Err(e @ MonitorError::Fetch(_)) => eprintln!("warning: {e}"),
        }
        if fresh && policy.quorum() > 0 {
            // Just published checkpoints are cosigned a moment later: a
            // missing quorum is reported, not an alarm.
            match policy.check(m.served_note().unwrap_or_default()) {
                Ok(by) => println!(
                    "witnessed by: {}",
                    by.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                ),
                Err(e) => println!("not yet witnessed as required: {e}"),
            }
        }
        if fresh {
            match m.check_witnesses().await {
                Ok(views) => {
                    for v in views {
                        match v {
                            WitnessView::Consistent { witness, size } => {
                                println!("witness {witness}: cosigned size {size}, consistent")
                            }
                            WitnessView::Nothing { witness } => println!("witness {witness}: nothing cosigned yet"),
                        }
                    }
                }
                Err(MonitorError::Alarm(msg)) => {
                    println!("ALARM: {msg}");
                    eprintln!("ALARM: {msg}");
                    return Ok(INVALID);
                }
                Err(e @ MonitorError::Fetch(_)) => eprintln!("warning: {e}"),
            }
        }
        polls += 1;
        if count.is_some_and(|c| polls >= c) {
            break;
        }
        tokio::time::sleep(interval).await;
    }
    if m.last().is_none() {
        anyhow::bail!("no checkpoint could be fetched from {url}");
    }
    Ok(0)
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}
