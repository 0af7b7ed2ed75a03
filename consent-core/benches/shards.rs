//! The log past one Redis, simulated in one process (docs/scaling.md): N
//! shard logs, each its own RFC 9162 tree in C2SP tiles with its own signed
//! checkpoint, and a top-level log whose leaves are the shard checkpoints,
//! signed by the one key a verifier trusts.
//!
//! Sites are hashed to shards. Every tick stands for one checkpoint interval
//! (1 s): each shard receives about `BENCH_PER_SHARD` decisions (what one
//! Redis records in a second), integrates them and signs its checkpoint; then
//! the top level checks each new shard checkpoint (its signature, and a
//! consistency proof from the shard's previous one), appends its note text as
//! a leaf and signs its own checkpoint. N shards get N times the decisions in
//! a tick, so the question is whether the cost *per decision* stays flat.
//!
//! Leaves are real decision records' canonical bytes (RFC 8785 JSON, sealed
//! personal fields), built per site from templates with each decision's own
//! consent id and time spliced in; that building, and the draw of which site
//! each decision is for, stay outside the timed sections, like the store
//! that hands the integrator its leaves. Timed: hashing the leaves, the
//! tiles, the roots, the signatures, the top level's checks; then building
//! and verifying two-level proofs (decision → shard checkpoint → top-level
//! checkpoint) for sampled decisions with nothing but the one trusted key.
//!
//! It prints; it never fails on timing. It does fail when a two-level proof
//! does not verify, or when one against a tampered shard root does.
//!
//! ```text
//! cargo bench -p consent-core --bench shards
//! BENCH_SHARDS=1,2,4,8,16 BENCH_PER_SHARD=25000 BENCH_TICKS=10 BENCH_ROUNDS=5 \
//!   BENCH_SITES=1000 BENCH_ZIPF=0 BENCH_PROOFS=2000 BENCH_TOP_HISTORY=86400 \
//!   cargo bench -p consent-core --bench shards
//! ```
//!
//! The shard logs start empty; the top-level log starts with
//! `BENCH_TOP_HISTORY` seconds of earlier shard checkpoints (default a day:
//! N × 86,400 leaves), so the top-level half of a proof costs what it does in
//! a log that has run a while rather than in one of a few dozen leaves.
//!
//! `BENCH_ZIPF=s` gives site `i` a share of the decisions proportional to
//! `1/(i+1)^s` instead of equal shares: the busiest shard's load over the
//! mean then shows what hashing whole sites to shards costs in capacity.
//!
//! Single-threaded. Each timed section is measured twice: by the wall clock
//! and by this thread's time on a core (`/proc/thread-self/schedstat`). On a
//! machine shared with other work the wall clock also counts the time the
//! thread waited for a core, so the figures are CPU time; the wall clock's
//! figure of the least disturbed run and the share of each run spent waiting
//! for a core are printed beside them.

use std::collections::BTreeMap;
use std::fs::File;
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use consent_core::checkpoint::{self, Checkpoint};
use consent_core::decision::ValidDecision;
use consent_core::merkle::{
    Hash, consistency_proof, inclusion_proof, leaf_hash, root_from_inclusion, verify_consistency, verify_inclusion,
};
use consent_core::note::{NoteSigner, NoteVerifier, SignedNote};
use consent_core::tile::{MemoryTiles, TileAppender, TiledTree};
use consent_core::tlog_proof::TlogProof;
use consent_core::{ConsentId, DecisionRecord, Method, SiteConfig, SiteId};
use sha2::{Digest, Sha256};

/// The log's name: the top-level checkpoints' origin and the trusted key's name.
const ORIGIN: &str = "consent.example.nl/keurmerk-log";
/// 2026-12-05T00:00:00Z, the first tick's time.
const START_MS: u64 = 1_796_428_800_000;
/// The consent id and time in the templates, replaced per decision.
const MARK_ID: [u8; 16] = [0xab; 16];
const MARK_TIME: u64 = 1_111_111_111_111;
/// Decision variants per site (method, language, GPC).
const VARIANTS: usize = 6;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Bench settings, from `BENCH_*`.
struct Settings {
    shards: Vec<usize>,
    per_shard: usize,
    ticks: usize,
    rounds: usize,
    sites: usize,
    /// Zipf exponent of the sites' shares of the decisions (0: all equal).
    zipf: f64,
    proofs: usize,
    /// Seconds of history the top-level log holds before the run.
    history: u64,
}

impl Settings {
    fn from_env() -> Self {
        let shards = std::env::var("BENCH_SHARDS")
            .ok()
            .map(|s| {
                s.split(',')
                    .map(|n| n.trim().parse().expect("BENCH_SHARDS: a list of shard counts"))
                    .collect::<Vec<usize>>()
            })
            .unwrap_or_else(|| vec![1, 2, 4, 8, 16]);
        assert!(
            shards.contains(&1) && shards.iter().all(|&n| n > 0),
            "BENCH_SHARDS must include 1 (the ratios' base)"
        );
        Self {
            shards,
            per_shard: env_or("BENCH_PER_SHARD", 25_000).max(1) as usize,
            ticks: env_or("BENCH_TICKS", 10).max(1) as usize,
            rounds: env_or("BENCH_ROUNDS", 5).max(1) as usize,
            sites: env_or("BENCH_SITES", 1_000).max(1) as usize,
            zipf: std::env::var("BENCH_ZIPF")
                .ok()
                .map(|z| z.parse().expect("BENCH_ZIPF: a number"))
                .unwrap_or(0.0),
            proofs: env_or("BENCH_PROOFS", 2_000).max(1) as usize,
            history: env_or("BENCH_TOP_HISTORY", 86_400),
        }
    }
}

/// xorshift64*: the decision stream (which site, which variant); the same
/// for every round and every configuration.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One record per (site, variant), with where its consent id and time sit in
/// the canonical bytes.
struct Template {
    bytes: Vec<u8>,
    id_at: usize,
    time_at: usize,
}

fn templates(sites: &[SiteId]) -> Vec<[Template; VARIANTS]> {
    let config = SiteConfig::starter();
    let version = config.version();
    let marker = ConsentId::from_random(MARK_ID);
    sites
        .iter()
        .map(|site| {
            std::array::from_fn(|v| {
                let method = [Method::AcceptAll, Method::RejectAll, Method::Custom][v % 3];
                let categories: BTreeMap<String, bool> = config
                    .categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let granted = match method {
                            Method::AcceptAll => true,
                            Method::RejectAll => c.required,
                            _ => c.required || i % 2 == 1,
                        };
                        (c.id.clone(), granted)
                    })
                    .collect();
                let decision = ValidDecision {
                    config_version: version.clone(),
                    method,
                    categories,
                    services: BTreeMap::new(),
                    language: if v < 3 { "nl" } else { "en" }.into(),
                    page_path: "/winkel/fietsen".into(),
                    gpc: v == 5,
                };
                let mut key = [7u8; 32];
                key[..8].copy_from_slice(&(v as u64).to_le_bytes());
                let record = DecisionRecord::seal(
                    site.clone(),
                    marker.clone(),
                    MARK_TIME,
                    decision,
                    Some("Firefox 133".into()),
                    &key,
                    [9; 24],
                );
                let bytes = record.canonical_bytes();
                let find = |needle: &[u8]| {
                    let at = bytes
                        .windows(needle.len())
                        .position(|w| w == needle)
                        .expect("marker in the record");
                    assert!(
                        bytes[at + 1..].windows(needle.len()).all(|w| w != needle),
                        "marker appears once"
                    );
                    at
                };
                let id_at = find(marker.as_str().as_bytes());
                let time_at = find(MARK_TIME.to_string().as_bytes());
                Template { bytes, id_at, time_at }
            })
        })
        .collect()
}

/// The canonical bytes of decision `n`: its template with the decision's own
/// consent id (from `n`) and time.
fn make_leaf(t: &Template, n: u64, time_ms: u64, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let start = out.len();
    out.extend_from_slice(&t.bytes);
    let id = &mut out[start + t.id_at..start + t.id_at + 32];
    let mut bits = [0u8; 16];
    bits[..8].copy_from_slice(&n.to_be_bytes());
    bits[8..].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    for (i, b) in bits.iter().enumerate() {
        id[2 * i] = HEX[usize::from(b >> 4)];
        id[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    let mut digits = time_ms;
    for d in out[start + t.time_at..start + t.time_at + 13].iter_mut().rev() {
        *d = b'0' + (digits % 10) as u8;
        digits /= 10;
    }
}

/// The shard a site's decisions go to: a stable hash of the site id.
fn shard_of(site: &SiteId, shards: usize) -> usize {
    let h = Sha256::new()
        .chain_update(b"keurmerk/shard/v1\0")
        .chain_update(site.as_str())
        .finalize();
    (u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % shards as u64) as usize
}

/// This thread's time on a core and time spent waiting for one, in ns
/// (`/proc/thread-self/schedstat`); `None` where the kernel has no such file.
struct SchedStat(Option<File>);

impl SchedStat {
    fn open() -> Self {
        Self(File::open("/proc/thread-self/schedstat").ok())
    }
    fn read(&self) -> Option<(u64, u64)> {
        let mut buf = [0u8; 96];
        let n = self.0.as_ref()?.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        let mut f = text.split_whitespace().map(|s| s.parse::<u64>().ok());
        Some((f.next()??, f.next()??))
    }
    /// Time on a core so far. The kernel brings the figure up to date at
    /// scheduler events only (every few ms), so the thread yields first:
    /// `sched_yield` updates it (and costs a µs or two).
    fn cpu(&self) -> Option<u64> {
        self.0.as_ref()?;
        std::thread::yield_now();
        self.read().map(|(on_cpu, _)| on_cpu)
    }
}

/// What a timed section cost: wall clock, and this thread's time on a core
/// (the wall clock where the kernel does not say), which unlike the wall
/// clock does not count time spent waiting for a core while other work runs.
#[derive(Clone, Copy, Default)]
struct Cost {
    wall: Duration,
    cpu: Duration,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, o: Self) {
        self.wall += o.wall;
        self.cpu += o.cpu;
    }
}

struct Stopwatch<'a> {
    sched: &'a SchedStat,
    wall: Instant,
    cpu: Option<u64>,
}

impl<'a> Stopwatch<'a> {
    fn start(sched: &'a SchedStat) -> Self {
        let cpu = sched.cpu();
        Self {
            sched,
            wall: Instant::now(),
            cpu,
        }
    }
    fn stop(self) -> Cost {
        let wall = self.wall.elapsed();
        let cpu = match (self.cpu, self.sched.cpu()) {
            (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
            _ => wall,
        };
        Cost { wall, cpu }
    }
}

/// One log: the integrator's right edge, the stored tiles, the latest checkpoint.
struct Log {
    signer: NoteSigner,
    edge: TileAppender,
    tiles: MemoryTiles,
    /// The latest checkpoint's note text and the signed note.
    text: String,
    signed: String,
    size: u64,
    root: Hash,
}

impl Log {
    fn new(origin: &str, seed: u8) -> Self {
        let signer = NoteSigner::from_seed(origin, &[seed; 32]).expect("valid name");
        let root = consent_core::merkle::empty_root();
        let cp = Checkpoint {
            origin: origin.to_owned(),
            size: 0,
            root,
            extensions: vec![],
        };
        let text = cp.to_text();
        let signed = cp.sign(&signer).expect("signs");
        Self {
            signer,
            edge: TileAppender::new(),
            tiles: MemoryTiles::default(),
            text,
            signed,
            size: 0,
            root,
        }
    }

    /// What the integrator does each round: the leaves' hashes onto the right
    /// edge, the changed tiles stored, one checkpoint signed for the batch.
    fn integrate<'a>(&mut self, leaves: impl Iterator<Item = &'a [u8]>) {
        for leaf in leaves {
            self.edge.push(leaf_hash(leaf));
        }
        self.checkpoint();
    }

    /// Stores the changed tiles and signs a checkpoint for everything appended.
    fn checkpoint(&mut self) {
        self.tiles.apply(self.edge.take_writes());
        self.size = self.edge.size();
        self.root = self.edge.root();
        let cp = Checkpoint {
            origin: self.signer.name().to_owned(),
            size: self.size,
            root: self.root,
            extensions: vec![],
        };
        self.text = cp.to_text();
        self.signed = cp.sign(&self.signer).expect("signs");
    }

    fn inclusion(&self, index: u64) -> TlogProof {
        TlogProof {
            extra: None,
            index,
            path: inclusion_proof(&TiledTree::new(&self.tiles), index, self.size).expect("in the tree"),
            checkpoint: self.signed.clone(),
        }
    }
}

/// A shard: its log, where its latest checkpoint sits in the top-level log,
/// and this tick's decisions (numbers, sites, variants) waiting to be built.
struct Shard {
    log: Log,
    verifier: NoteVerifier,
    top_index: u64,
    /// The checkpoint the top level took last: (size, root).
    taken: (u64, Hash),
    pending: Vec<(u64, u32, u8)>,
    decisions: u64,
}

/// A decision whose proof is built and checked at the end.
struct Sample {
    n: u64,
    site: u32,
    variant: u8,
    time_ms: u64,
    shard: usize,
    index: u64,
}

/// The verifier's side: a record, its proof in its shard's tree, and the
/// proof that the shard checkpoint is a leaf of the top-level log, checked
/// with the one trusted key. The shard's own signature is not needed (nor
/// checked): the top-level log vouches for the checkpoint's text.
fn verify_two_level(
    record: &[u8],
    in_shard: &str,
    in_top: &str,
    trusted: &NoteVerifier,
) -> Result<(u64, Checkpoint), String> {
    let inner = TlogProof::parse(in_shard).map_err(|e| e.to_string())?;
    let outer = TlogProof::parse(in_top).map_err(|e| e.to_string())?;
    let shard_text = SignedNote::parse(&inner.checkpoint).map_err(|e| e.to_string())?.text;
    let top = outer
        .verify(&leaf_hash(shard_text.as_bytes()), trusted)
        .map_err(|e| format!("shard checkpoint in the top-level log: {e}"))?;
    let shard = Checkpoint::parse_text(shard_text).map_err(|e| e.to_string())?;
    if !shard
        .origin
        .strip_prefix(trusted.name())
        .is_some_and(|rest| rest.starts_with("/shard/"))
    {
        return Err(format!("{} is not a shard of {}", shard.origin, trusted.name()));
    }
    verify_inclusion(inner.index, shard.size, &leaf_hash(record), &inner.path, &shard.root)
        .map_err(|e| format!("record in its shard: {e}"))?;
    Ok((shard.size, top))
}

/// What one configuration measured.
#[derive(Default)]
struct Run {
    decisions: u64,
    shard: Cost,
    top: Cost,
    /// The whole run (building leaves included): wall, and this thread's
    /// waiting for a core.
    wall: Duration,
    waited: Option<Duration>,
    load_max_over_mean: f64,
    sites_per_shard: f64,
    top_size: u64,
    proofs: usize,
    /// Building the proofs, the top-level halves' share of that (wall
    /// clock), and verifying them.
    build: Cost,
    build_top: Duration,
    verify: Cost,
    proof_bytes: usize,
}

fn us(d: Duration, per: u64) -> f64 {
    d.as_secs_f64() * 1e6 / per as f64
}

impl Run {
    /// CPU µs a decision: the shard logs', the top level's, both.
    fn shard_us(&self) -> f64 {
        us(self.shard.cpu, self.decisions)
    }
    fn top_us(&self) -> f64 {
        us(self.top.cpu, self.decisions)
    }
    fn total_us(&self) -> f64 {
        self.shard_us() + self.top_us()
    }
    /// The same by the wall clock.
    fn total_wall_us(&self) -> f64 {
        us(self.shard.wall + self.top.wall, self.decisions)
    }
    /// CPU µs a proof: building, verifying; the top-level path (wall).
    fn build_us(&self) -> f64 {
        us(self.build.cpu, self.proofs as u64)
    }
    fn verify_us(&self) -> f64 {
        us(self.verify.cpu, self.proofs as u64)
    }
    fn build_top_us(&self) -> f64 {
        us(self.build_top, self.proofs as u64)
    }
}

/// Runs `n` shards (0: today's single log, no top level) for the configured ticks.
fn run(
    n: usize,
    s: &Settings,
    sites: &[SiteId],
    tmpl: &[[Template; VARIANTS]],
    cdf: &[f64],
    sched: &SchedStat,
    tamper_checks: bool,
) -> Run {
    let started = Instant::now();
    let sched_start = sched.read();
    let single = n == 0;
    let count = n.max(1);
    let trusted_log = Log::new(ORIGIN, 1);
    let trusted = trusted_log.signer.verifier().clone();
    let mut top = trusted_log;
    if !single {
        // The top level's earlier history: a shard checkpoint text per shard
        // per second, as a running log would hold (untimed; these stand in for
        // history, the proofs checked below are for this run's checkpoints).
        for t in 0..s.history {
            for i in 0..count {
                let text = Checkpoint {
                    origin: format!("{ORIGIN}/shard/{i:02}"),
                    size: t * s.per_shard as u64,
                    root: leaf_hash(&[t.to_be_bytes(), (i as u64).to_be_bytes()].concat()),
                    extensions: vec![],
                }
                .to_text();
                top.edge.push(leaf_hash(text.as_bytes()));
            }
        }
        top.checkpoint();
    }
    let site_shard: Vec<usize> = sites.iter().map(|site| shard_of(site, count)).collect();
    let mut shards: Vec<Shard> = (0..count)
        .map(|i| {
            let log = if single {
                Log::new(ORIGIN, 1)
            } else {
                Log::new(&format!("{ORIGIN}/shard/{i:02}"), 2 + i as u8)
            };
            Shard {
                verifier: log.signer.verifier().clone(),
                log,
                top_index: 0,
                taken: (0, consent_core::merkle::empty_root()),
                pending: Vec::new(),
                decisions: 0,
            }
        })
        .collect();

    let total = (s.ticks * s.per_shard * count) as u64;
    let step = (total / s.proofs as u64).max(1);
    let mut next_sample = step / 2;
    let mut samples: Vec<Sample> = Vec::with_capacity(s.proofs);
    let mut rng = Rng(0x6b65_7572_6d65_726b);
    let mut buf: Vec<u8> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut run = Run {
        decisions: total,
        ..Run::default()
    };

    for tick in 0..s.ticks {
        let time_ms = START_MS + 1_000 * tick as u64;
        // Decisions arrive: each for a site, routed to the site's shard.
        for k in 0..(s.per_shard * count) as u64 {
            let d = (tick * s.per_shard * count) as u64 + k;
            let r = rng.next();
            let site = if cdf.is_empty() {
                (r % sites.len() as u64) as u32
            } else {
                let u = (r >> 11) as f64 / (1u64 << 53) as f64;
                cdf.partition_point(|&c| c < u).min(sites.len() - 1) as u32
            };
            let variant = (rng.next() % VARIANTS as u64) as u8;
            let sh = site_shard[site as usize];
            let shard = &mut shards[sh];
            if d == next_sample && samples.len() < s.proofs {
                samples.push(Sample {
                    n: d,
                    site,
                    variant,
                    time_ms,
                    shard: sh,
                    index: shard.log.size + shard.pending.len() as u64,
                });
                next_sample += step;
            }
            shard.pending.push((d, site, variant));
        }
        // Each shard integrates its second's decisions and signs.
        for shard in &mut shards {
            buf.clear();
            ends.clear();
            for &(d, site, variant) in &shard.pending {
                make_leaf(&tmpl[site as usize][variant as usize], d, time_ms, &mut buf);
                ends.push(buf.len());
            }
            shard.decisions += shard.pending.len() as u64;
            shard.pending.clear();
            let watch = Stopwatch::start(sched);
            let mut from = 0;
            shard.log.integrate(ends.iter().map(|&end| {
                let leaf = &buf[from..end];
                from = end;
                leaf
            }));
            run.shard += watch.stop();
        }
        if single {
            continue;
        }
        // The top level takes every new shard checkpoint it can check: signed
        // by that shard's key, and consistent with the one it took before.
        let watch = Stopwatch::start(sched);
        let mut leaves: Vec<String> = Vec::with_capacity(count);
        for shard in &mut shards {
            if shard.log.size == shard.taken.0 {
                continue;
            }
            let cp = checkpoint::open(&shard.log.signed, &shard.verifier).expect("shard signature");
            let (old, old_root) = shard.taken;
            if old > 0 {
                let proof = consistency_proof(&TiledTree::new(&shard.log.tiles), old, cp.size).expect("shard tiles");
                verify_consistency(old, cp.size, &old_root, &cp.root, &proof).expect("shard consistent");
            }
            shard.taken = (cp.size, cp.root);
            shard.top_index = top.size + leaves.len() as u64;
            leaves.push(shard.log.text.clone());
        }
        top.integrate(leaves.iter().map(|l| l.as_bytes()));
        run.top += watch.stop();
    }

    let loads: Vec<u64> = shards.iter().map(|s| s.decisions).collect();
    let mean = loads.iter().sum::<u64>() as f64 / count as f64;
    run.load_max_over_mean = *loads.iter().max().expect("a shard") as f64 / mean;
    run.sites_per_shard = sites.len() as f64 / count as f64;
    run.top_size = if single { 0 } else { top.size };

    // Proofs for the sampled decisions against the latest checkpoints:
    // built as the server would serve them (tiles read through a fresh
    // TiledTree per request, tlog-proof texts), then verified from the text.
    let mut leaf = Vec::new();
    let mut texts: Vec<(String, String)> = Vec::with_capacity(samples.len());
    let watch = Stopwatch::start(sched);
    for smp in &samples {
        let shard = &shards[smp.shard];
        let in_shard = shard.log.inclusion(smp.index).to_text();
        let t_top = Instant::now();
        let in_top = if single {
            String::new()
        } else {
            top.inclusion(shard.top_index).to_text()
        };
        run.build_top += t_top.elapsed();
        texts.push((in_shard, in_top));
    }
    run.build = watch.stop();
    run.proofs = samples.len();
    run.proof_bytes = texts.iter().map(|(a, b)| a.len() + b.len()).sum::<usize>() / texts.len().max(1);
    let records: Vec<Vec<u8>> = samples
        .iter()
        .map(|smp| {
            leaf.clear();
            make_leaf(
                &tmpl[smp.site as usize][smp.variant as usize],
                smp.n,
                smp.time_ms,
                &mut leaf,
            );
            leaf.clone()
        })
        .collect();
    let watch = Stopwatch::start(sched);
    for ((in_shard, in_top), record) in texts.iter().zip(&records) {
        if single {
            let proof = TlogProof::parse(in_shard).expect("proof text");
            black_box(
                proof
                    .verify(&leaf_hash(record), &trusted)
                    .expect("one-level proof verifies"),
            );
        } else {
            black_box(verify_two_level(record, in_shard, in_top, &trusted).expect("two-level proof verifies"));
        }
    }
    run.verify = watch.stop();

    // Correctness, outside the timing: each sampled record is a canonical
    // record of the right site, and its proof names the right leaf.
    for (smp, record) in samples.iter().zip(&records) {
        let parsed = DecisionRecord::from_canonical_bytes(record).expect("spliced records are canonical");
        assert_eq!(parsed.site, sites[smp.site as usize]);
        assert_eq!(site_shard[smp.site as usize], smp.shard);
    }
    if tamper_checks && !single {
        tamper(
            &samples[0],
            &records[0],
            &texts[0],
            &shards[samples[0].shard].log,
            &trusted,
        );
    }

    run.wall = started.elapsed();
    run.waited = match (sched_start, sched.read()) {
        (Some((_, w0)), Some((_, w1))) => Some(Duration::from_nanos(w1.saturating_sub(w0))),
        _ => None,
    };
    run
}

/// A shard that lies must not get a proof past the top level: a forged record
/// with a shard root made to fit it (the path is honest, the checkpoint is
/// even signed by the shard's own key) is refused, as are a changed record,
/// a top-level checkpoint by another key and a checkpoint outside the log.
fn tamper(smp: &Sample, record: &[u8], texts: &(String, String), shard: &Log, trusted: &NoteVerifier) {
    let (in_shard, in_top) = texts;
    let inner = TlogProof::parse(in_shard).expect("proof text");
    let forged_record = String::from_utf8(record.to_vec())
        .expect("utf-8")
        .replacen("\"method\":\"", "\"method\":\"x", 1)
        .into_bytes();
    assert!(
        verify_two_level(&forged_record, in_shard, in_top, trusted).is_err(),
        "a changed record must not verify"
    );
    let forged_root = root_from_inclusion(smp.index, shard.size, &leaf_hash(&forged_record), &inner.path)
        .expect("path of the right length");
    assert_ne!(forged_root, shard.root);
    let forged_cp = Checkpoint {
        origin: shard.signer.name().to_owned(),
        size: shard.size,
        root: forged_root,
        extensions: vec![],
    };
    // The forgery is complete at the shard level: its inclusion checks out
    // against its own (tampered) root, under the shard's own signature.
    verify_inclusion(
        smp.index,
        shard.size,
        &leaf_hash(&forged_record),
        &inner.path,
        &forged_root,
    )
    .expect("the forged shard tree holds the forged record");
    let forged = TlogProof {
        checkpoint: forged_cp.sign(&shard.signer).expect("signs"),
        ..inner
    }
    .to_text();
    let err = verify_two_level(&forged_record, &forged, in_top, trusted)
        .expect_err("a proof against a tampered shard root must not verify");
    assert!(err.contains("top-level"), "refused at the top level: {err}");
    let impostor = NoteSigner::from_seed(ORIGIN, &[0xee; 32]).expect("valid name");
    assert!(
        verify_two_level(record, in_shard, in_top, impostor.verifier()).is_err(),
        "a top-level checkpoint must verify under the trusted key only"
    );
}

fn range(v: &[f64]) -> (f64, f64) {
    (
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

fn label(n: usize) -> String {
    match n {
        0 => "one log (today)".into(),
        1 => "1 shard + top".into(),
        n => format!("{n} shards + top"),
    }
}

fn main() {
    let s = Settings::from_env();
    let sites: Vec<SiteId> = (0..s.sites)
        .map(|i| SiteId::parse(&format!("shop-{i:05}")).expect("site id"))
        .collect();
    let tmpl = templates(&sites);
    // Cumulative shares of the sites under Zipf (empty: equal shares).
    let cdf: Vec<f64> = if s.zipf > 0.0 {
        let weights: Vec<f64> = (0..s.sites).map(|i| 1.0 / ((i + 1) as f64).powf(s.zipf)).collect();
        let sum: f64 = weights.iter().sum();
        weights
            .iter()
            .scan(0.0, |acc, w| {
                *acc += w / sum;
                Some(*acc)
            })
            .collect()
    } else {
        Vec::new()
    };
    let sched = SchedStat::open();
    let mean_leaf = tmpl.iter().flatten().map(|t| t.bytes.len()).sum::<usize>() / (tmpl.len() * VARIANTS);
    println!(
        "shards: {} sites hashed to shards ({}); a tick = one 1 s checkpoint interval with {} decisions per shard \
         (leaves of ~{mean_leaf} bytes); {} ticks; the top-level log starts with {} s of history; {} rounds (order reversed every other round); {} proofs per \
         configuration",
        s.sites,
        if s.zipf > 0.0 {
            format!(
                "Zipf shares, exponent {}: the busiest site has {:.1}% of the decisions",
                s.zipf,
                100.0 * cdf[0]
            )
        } else {
            "equal shares".to_owned()
        },
        s.per_shard,
        s.ticks,
        s.history,
        s.rounds,
        s.proofs
    );

    let mut configs = vec![0];
    configs.extend(s.shards.iter().copied());
    let mut rounds: Vec<BTreeMap<usize, Run>> = Vec::new();
    let mut tamper_done = false;
    for r in 0..s.rounds {
        let mut order = configs.clone();
        if r % 2 == 1 {
            order.reverse();
        }
        let mut this = BTreeMap::new();
        for &n in &order {
            let result = run(n, &s, &sites, &tmpl, &cdf, &sched, !tamper_done && n > 0);
            tamper_done |= n > 0;
            println!(
                "  round {} {:>16}: {:>9} decisions, {:.3} µs a decision ({:.3} shards, {:.4} top), proofs {:.1} + {:.1} µs, \
                 run {:.1} s{}",
                r + 1,
                label(n),
                result.decisions,
                result.total_us(),
                result.shard_us(),
                result.top_us(),
                result.build_us(),
                result.verify_us(),
                result.wall.as_secs_f64(),
                result
                    .waited
                    .map(|w| format!(
                        ", waited for a core {:.1}%",
                        100.0 * w.as_secs_f64() / result.wall.as_secs_f64()
                    ))
                    .unwrap_or_default()
            );
            this.insert(n, result);
        }
        rounds.push(this);
    }

    // Each figure sums every run's CPU time over every run's decisions (or
    // proofs); the ratio divides it by the "1 shard + top" figure, and the
    // range after it is the same ratio run by run.
    let sum = |n: usize, f: &dyn Fn(&Run) -> (Duration, u64)| {
        let (d, per) = rounds
            .iter()
            .map(|r| f(&r[&n]))
            .fold((Duration::ZERO, 0), |(d, p), (e, q)| (d + e, p + q));
        us(d, per)
    };
    let against_one = |n: usize, f: &dyn Fn(&Run) -> (Duration, u64), g: &dyn Fn(&Run) -> f64| {
        let rs: Vec<f64> = rounds.iter().map(|r| g(&r[&n]) / g(&r[&1])).collect();
        let (lo, hi) = range(&rs);
        format!("{:.3}× ({lo:.3}–{hi:.3})", sum(n, f) / sum(1, f))
    };
    let best = |n: usize, f: &dyn Fn(&Run) -> f64| rounds.iter().map(|r| f(&r[&n])).fold(f64::INFINITY, f64::min);

    println!();
    println!(
        "Integration, CPU µs a decision over all runs (× 1 shard: over \"1 shard + top\"; in brackets run by run), \
         and the wall clock's figure of the least disturbed run:"
    );
    println!(
        "| configuration | decisions a run | sites a shard | busiest shard / mean | shard logs µs | top level µs | total µs | \
         × 1 shard | wall clock, best run: µs, × 1 shard | waited for a core |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &n in &configs {
        let any = &rounds[0][&n];
        let waited = rounds
            .iter()
            .filter_map(|r| r[&n].waited.map(|w| 100.0 * w.as_secs_f64() / r[&n].wall.as_secs_f64()))
            .collect::<Vec<_>>();
        let waited = if waited.is_empty() {
            "n/a".to_owned()
        } else {
            let (a, b) = range(&waited);
            format!("{a:.0}–{b:.0}%")
        };
        let wall = |r: &Run| r.total_wall_us();
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.3} | {:.4} | {:.3} | {} | {:.3}, {:.3}× | {waited} |",
            label(n),
            any.decisions,
            any.sites_per_shard,
            any.load_max_over_mean,
            sum(n, &|r| (r.shard.cpu, r.decisions)),
            sum(n, &|r| (r.top.cpu, r.decisions)),
            sum(n, &|r| (r.shard.cpu + r.top.cpu, r.decisions)),
            against_one(n, &|r| (r.shard.cpu + r.top.cpu, r.decisions), &|r| r.total_us()),
            best(n, &wall),
            best(n, &wall) / best(1, &wall),
        );
    }
    println!();
    println!(
        "Proofs for {} sampled decisions a run, CPU µs a proof over all runs (the top-level path: wall clock, best run):",
        s.proofs
    );
    println!(
        "| configuration | top-level size | proof bytes | build µs | of it the top-level path | verify µs | \
         build + verify × 1 shard |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &n in &configs {
        let any = &rounds[0][&n];
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} |",
            label(n),
            if n == 0 {
                "–".to_owned()
            } else {
                any.top_size.to_string()
            },
            any.proof_bytes,
            sum(n, &|r| (r.build.cpu, r.proofs as u64)),
            best(n, &|r| r.build_top_us()),
            sum(n, &|r| (r.verify.cpu, r.proofs as u64)),
            against_one(n, &|r| (r.build.cpu + r.verify.cpu, r.proofs as u64), &|r| r.build_us()
                + r.verify_us()),
        );
    }
    println!();
    println!(
        "correctness: every sampled proof verified with the one trusted key; a record forged under a tampered \
         shard root, a changed record and a top-level checkpoint by another key were refused"
    );
}
