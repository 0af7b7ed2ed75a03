//! The first layer, hydrated: the server renders it (`consent_core::banner`,
//! the one renderer of it) into the per-site loader, which shows it before
//! this module is even requested. Here it is only found; its buttons'
//! `data-km` actions reach [`crate::act`] through the listener
//! `web/boot.js` puts on the widget's root, which also replays a click the
//! loader kept while this module was on its way.

use crate::dom::Element;

/// The banner the loader showed, in the widget's root (none when the loader
/// showed none: a decision is in force).
pub fn find(root: &Element) -> Option<Element> {
    root.query_selector(".km-banner").ok().flatten()
}
