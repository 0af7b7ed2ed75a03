//! A site's audit trail: who did what to the site, and when. It answers the
//! accountability the GDPR asks of a controller (art. 5(2), art. 24(1)):
//! which configuration visitors were shown from when and who published it,
//! who was given access to the site, and how each visitor's request was
//! handled. Storage keeps it append-only ([`crate::store::RecordStore`] has
//! no way to change or remove an entry).

use serde::{Deserialize, Serialize};

use crate::ConfigVersion;
use crate::account::SiteRole;
use crate::store::Scope;

/// One entry of a site's audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it happened (Unix ms).
    pub at_ms: u64,
    /// Who did it: an account's user name, `key:<id>` for an API key, or
    /// `system`.
    pub actor: String,
    /// What was done.
    pub action: AuditAction,
}

/// What was done. Kept small: names and ids, never a visitor's personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AuditAction {
    /// The site was created.
    SiteCreated {
        /// Its allowed origins.
        origins: Vec<String>,
    },
    /// Its allowed origins were replaced.
    OriginsChanged {
        /// The new ones.
        origins: Vec<String>,
    },
    /// A draft configuration was saved (not yet shown to visitors).
    DraftSaved {
        /// The draft's version.
        version: ConfigVersion,
    },
    /// A draft was thrown away.
    DraftDiscarded,
    /// A configuration became the one visitors are shown.
    Published {
        /// The configuration now current.
        version: ConfigVersion,
        /// The one it replaced.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<ConfigVersion>,
        /// Whether visitors who decided under the previous one are asked again.
        #[serde(default)]
        reask: bool,
    },
    /// An earlier version was taken back as the draft.
    Restored {
        /// The version restored.
        version: ConfigVersion,
    },
    /// The register of processing's owner details were changed.
    RegisterUpdated,
    /// An account was given a role on the site.
    MemberAdded {
        /// The account.
        username: String,
        /// Its role.
        role: SiteRole,
    },
    /// A member's role changed.
    MemberChanged {
        /// The account.
        username: String,
        /// Its new role.
        role: SiteRole,
    },
    /// An account lost its role on the site.
    MemberRemoved {
        /// The account.
        username: String,
    },
    /// An API key was created.
    KeyCreated {
        /// The key's public id.
        id: String,
        /// Its label.
        name: String,
        /// What it may do.
        scopes: Vec<Scope>,
    },
    /// An API key was revoked.
    KeyRevoked {
        /// The key's public id.
        id: String,
    },
    /// A visitor's request was registered.
    RequestOpened {
        /// The request's id.
        id: String,
        /// `access` or `erasure`.
        kind: String,
    },
    /// A visitor's records were exported for their request.
    RequestExported {
        /// The request's id.
        id: String,
        /// `json`, `csv` or `xml`.
        format: String,
    },
    /// A visitor's records were erased for their request.
    RequestErased {
        /// The request's id.
        id: String,
    },
    /// A visitor's request's deadline was extended by two months (GDPR
    /// art. 12(3)).
    RequestExtended {
        /// The request's id.
        id: String,
    },
    /// A visitor's request was closed.
    RequestClosed {
        /// The request's id.
        id: String,
    },
}

impl AuditAction {
    /// The action's name, as in JSON (`published`, `member_added`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            AuditAction::SiteCreated { .. } => "site_created",
            AuditAction::OriginsChanged { .. } => "origins_changed",
            AuditAction::DraftSaved { .. } => "draft_saved",
            AuditAction::DraftDiscarded => "draft_discarded",
            AuditAction::Published { .. } => "published",
            AuditAction::Restored { .. } => "restored",
            AuditAction::RegisterUpdated => "register_updated",
            AuditAction::MemberAdded { .. } => "member_added",
            AuditAction::MemberChanged { .. } => "member_changed",
            AuditAction::MemberRemoved { .. } => "member_removed",
            AuditAction::KeyCreated { .. } => "key_created",
            AuditAction::KeyRevoked { .. } => "key_revoked",
            AuditAction::RequestOpened { .. } => "request_opened",
            AuditAction::RequestExported { .. } => "request_exported",
            AuditAction::RequestErased { .. } => "request_erased",
            AuditAction::RequestExtended { .. } => "request_extended",
            AuditAction::RequestClosed { .. } => "request_closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_tagged_json_and_reads_back() {
        let e = AuditEntry {
            at_ms: 1,
            actor: "anna".into(),
            action: AuditAction::Published {
                version: ConfigVersion("v2".into()),
                previous: Some(ConfigVersion("v1".into())),
                reask: true,
            },
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["action"]["action"], "published");
        assert_eq!(e.action.name(), "published");
        assert_eq!(serde_json::from_value::<AuditEntry>(json).unwrap(), e);
    }
}
