//! `keurmerk-verify`: see the library docs for formats and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use keurmerk_verify::monitor::{Monitor, MonitorError, Observation};
use keurmerk_verify::{load_key, read_bounded, verify_bundles, verify_consistency_files};

#[derive(Parser)]
#[command(name = "keurmerk-verify", about = "Verify Keurmerk consent proofs offline", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        Command::Proof { key, bundle } => {
            let key = load_key(&key)?;
            let json = read_bounded(&bundle, 4 * 1024 * 1024)?;
            match verify_bundles(json.as_bytes(), &key) {
                Ok(all) => {
                    for v in &all {
                        println!(
                            "valid: leaf {} is in {} at tree size {} (root {})",
                            v.index,
                            v.checkpoint.origin,
                            v.checkpoint.size,
                            hex(&v.checkpoint.root)
                        );
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
        } => {
            let key = load_key(&key)?;
            let old = read_bounded(&old_checkpoint, 64 * 1024)?;
            let new = read_bounded(&new_checkpoint, 64 * 1024)?;
            let proof = read_bounded(&proof_file, 64 * 1024)?;
            match verify_consistency_files(&key, &old, &new, &proof) {
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
        } => {
            let key = load_key(&key)?;
            anyhow::ensure!(interval.is_finite() && interval >= 0.0, "--interval must be ≥ 0");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            rt.block_on(monitor(&url, key, Duration::from_secs_f64(interval), count))
        }
    }
}

async fn monitor(
    url: &str,
    key: consent_core::note::NoteVerifier,
    interval: Duration,
    count: Option<u64>,
) -> anyhow::Result<u8> {
    let mut m = Monitor::new(url, key);
    let mut polls = 0u64;
    loop {
        match m.poll().await {
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
