//! A site configuration as an owner publishes it (API or dashboard): JSON
//! into `SiteConfig`, then `validate`. A valid configuration must survive a
//! round trip unchanged and keep its content address (`version`).
#![no_main]

use consent_core::SiteConfig;
use consent_core::config::cookie_name_matches;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(config) = serde_json::from_slice::<SiteConfig>(data) else {
        return;
    };
    let again: SiteConfig = serde_json::from_slice(&serde_json::to_vec(&config).unwrap()).unwrap();
    assert_eq!(again, config, "serialise → parse changed the configuration");
    let verdict = config.validate();
    assert_eq!(again.validate(), verdict);
    if verdict.is_err() {
        return;
    }
    let version = config.version();
    assert_eq!(version.0.len(), 64);
    assert!(
        version
            .0
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(again.version(), version, "the content address is not stable");
    // Every declared cookie name matches itself (its `*` matching the empty run too).
    for s in &config.services {
        for c in &s.cookies {
            assert!(cookie_name_matches(&c.name, &c.name.replace('*', "")), "{:?}", c.name);
        }
    }
});
