//! The decision body (`POST /api/v1/sites/{site}/decisions`) as the server
//! reads it: at most `MAX_DECISION_BYTES` of JSON into a `DecisionRequest`,
//! validated against the configuration version it names, then sealed into a
//! record whose canonical bytes become a log leaf.
#![no_main]

use std::sync::LazyLock;

use consent_core::config::{ConfigVersion, SiteConfig};
use consent_core::decision::MAX_DECISION_BYTES;
use consent_core::{ConsentId, DecisionRecord, DecisionRequest, SiteId};
use libfuzzer_sys::fuzz_target;

static CONFIG: LazyLock<(SiteConfig, ConfigVersion)> = LazyLock::new(|| {
    let c = keurmerk_fuzz::demo_config();
    let v = c.version();
    (c, v)
});

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_DECISION_BYTES {
        return; // the server answers 413 before parsing
    }
    let Ok(request) = serde_json::from_slice::<DecisionRequest>(data) else {
        return;
    };
    // What the server stores is a function of the parsed request only.
    let again: DecisionRequest = serde_json::from_slice(&serde_json::to_vec(&request).unwrap()).unwrap();
    assert_eq!(again, request, "serialise → parse changed the request");

    let (config, version) = &*CONFIG;
    // The server looks the version up first: an unknown one is a 422.
    if request.config_version != *version {
        return;
    }
    let gpc_sent = request.gpc;
    let Ok(valid) = request.validate(config) else {
        return;
    };
    // Every category of the configuration is decided, required ones granted.
    assert_eq!(valid.categories.len(), config.categories.len());
    for c in &config.categories {
        assert!(!c.required || valid.categories[&c.id], "required {} refused", c.id);
    }
    assert!(valid.services.keys().all(|s| config.service(s).is_some()));
    assert!(config.languages.contains(&valid.language));
    assert!(valid.page_path.starts_with('/') && !valid.page_path.contains(['?', '#']));
    assert_eq!(valid.gpc, gpc_sent);

    let page_path = valid.page_path.clone();
    let site = SiteId::parse("demo").unwrap();
    let consent = ConsentId::from_random([7; 16]);
    let key = [3u8; 32];
    let record = DecisionRecord::seal(site, consent, 1_764_000_000_000, valid, None, &key, [5; 24]);
    // The leaf: the fast canonical writer agrees with the general RFC 8785
    // one, and the bytes parse back to the same record.
    let leaf = record.canonical_bytes();
    assert_eq!(leaf, record.general_canonical_bytes(), "canonical writers disagree");
    assert_eq!(DecisionRecord::from_canonical_bytes(&leaf).unwrap(), record);
    assert_eq!(record.open(&key).unwrap().page_path, page_path);
});
