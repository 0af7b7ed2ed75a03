//! The scanner's static pass over HTML (`scanner::html`, lol_html): a page
//! read in one go and the same page streamed in two chunks split anywhere
//! must yield the same scripts, pixels and links, within the item bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner::html::{HtmlStream, MAX_INLINE_SCRIPT, extract};

/// The crawler's own limit is larger; a small one reaches the limit path.
const MEMORY_LIMIT: usize = 256 * 1024;

fuzz_target!(|data: &[u8]| {
    let (Some(&split), Some(page)) = (data.first(), data.get(1..)) else {
        return;
    };
    let (whole, error) = extract(page, MEMORY_LIMIT);
    assert!(whole.scripts.iter().all(|s| s.inline.len() <= MAX_INLINE_SCRIPT));
    assert!(
        whole
            .scripts
            .iter()
            .all(|s| s.src.as_deref().is_none_or(|s| !s.trim().is_empty()))
    );
    assert!(
        whole
            .pixels
            .iter()
            .all(|p| ["image", "iframe", "noscript"].contains(&p.kind))
    );
    if error.is_some() || page.len() >= MAX_INLINE_SCRIPT {
        return; // past a limit, what was kept depends on where chunks end
    }
    let at = page.len() * usize::from(split) / 255;
    let mut stream = HtmlStream::new(MEMORY_LIMIT);
    stream.write(&page[..at]);
    stream.write(&page[at..]);
    let (streamed, error) = stream.finish();
    assert!(error.is_none());
    assert_eq!(
        streamed, whole,
        "the result depends on where the chunks end (split at {at})"
    );
});
