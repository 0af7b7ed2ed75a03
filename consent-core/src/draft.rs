//! A site's draft configuration: what its owner or marketer is editing, kept
//! apart from the published configuration visitors are shown until someone
//! allowed to publishes it (then it becomes a new immutable version).

use serde::{Deserialize, Serialize};

use crate::{ConfigVersion, SiteConfig};

/// The draft, as stored (one per site, [`crate::store::RecordKind::Draft`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The configuration being edited.
    pub config: SiteConfig,
    /// The published version it started from, to tell whether someone
    /// published in the meantime.
    pub based_on: ConfigVersion,
    /// When it was last saved (Unix ms).
    pub saved_ms: u64,
    /// Who saved it last.
    pub by: String,
}

/// The id the one draft of a site is stored under.
pub const DRAFT_ID: &str = "current";
