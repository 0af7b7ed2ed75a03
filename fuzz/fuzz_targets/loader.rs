//! The loader's rule renderer (`consent_core::loader`): a valid site
//! configuration rendered into the real loader template. The rules must sit
//! in the script as one JSON literal that cannot close the `<script>` element
//! or break a JS string, and must read back as exactly the rules object.
#![no_main]

use consent_core::loader::{self, LoaderContext, RULES_PLACEHOLDER};
use consent_core::{SiteConfig, SiteId};
use libfuzzer_sys::fuzz_target;

const TEMPLATE: &str = include_str!("../../consent-widget/loader/loader.js");

fuzz_target!(|data: &[u8]| {
    // The signature files' reader takes any text without panicking.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = loader::signature_block(text);
    }
    let Ok(config) = serde_json::from_slice::<SiteConfig>(data) else {
        return;
    };
    if config.validate().is_err() {
        return; // only published (valid) configurations are rendered
    }
    let site = SiteId::parse("demo").unwrap();
    let version = config.version();
    let cx = LoaderContext {
        site: &site,
        version: &version,
        config: &config,
        base_url: "https://consent.example.nl/",
    };
    let rules = loader::rules(&cx);
    let literal = loader::js_literal(&rules);
    assert!(
        !literal.contains(['<', '>', '\u{2028}', '\u{2029}']),
        "unsafe character in the rules literal"
    );
    let back: serde_json::Value = serde_json::from_str(&literal).expect("the literal is JSON");
    assert_eq!(back, rules, "the literal does not read back as the rules");
    let script = loader::render(TEMPLATE, &cx);
    assert_eq!(
        script.matches(&literal).count(),
        TEMPLATE.matches(RULES_PLACEHOLDER).count()
    );
    assert!(!script.contains(RULES_PLACEHOLDER));
    // Nothing in the configuration adds a way out of the script element:
    // the rendered loader has as many `</script` as the template.
    let closers = |s: &str| s.to_ascii_lowercase().matches("</script").count();
    assert_eq!(closers(&script), closers(TEMPLATE));
});
