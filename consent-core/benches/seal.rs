//! Sealing one decision's personal fields, as the server does for every
//! decision: prints nanoseconds per seal, best of five rounds.
//!
//! It exists to keep `.cargo/config.toml`'s `poly1305_force_soft` honest:
//! compare `cargo bench -p consent-core --bench seal` with
//! `RUSTFLAGS= cargo bench -p consent-core --bench seal` (an empty
//! `RUSTFLAGS` replaces the config's flags, so Poly1305 picks its AVX2 code).

use std::hint::black_box;
use std::time::Instant;

use consent_core::record::PersonalFields;
use consent_core::{ConsentId, SiteId};

fn main() {
    let site = SiteId::parse("demo").unwrap();
    let consent = ConsentId::from_random([0x5a; 16]);
    let fields = PersonalFields {
        page_path: "/winkel/fietsen".into(),
        browser: Some("Firefox 133".into()),
    };
    let mut key = [7u8; 32];
    let n = 200_000u32;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        for i in 0..n {
            // A new key each time, like a new visitor: the key set-up is
            // part of what a decision pays.
            key[..4].copy_from_slice(&i.to_le_bytes());
            black_box(fields.seal(black_box(&key), [3; 24], &site, &consent));
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(n));
    }
    let backend = if cfg!(poly1305_force_soft) {
        "portable"
    } else {
        "auto-detected (AVX2 where available)"
    };
    println!("seal: {best:.0} ns per decision's personal fields (Poly1305 backend: {backend})");
}
