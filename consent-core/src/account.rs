//! People who log in to the dashboard and the API, and what each may do on
//! which site.
//!
//! An account is either an **admin** (every site, and the accounts
//! themselves) or a **member** holding one [`SiteRole`] per site it was
//! added to. A member sees nothing of a site it is not a member of: the
//! dashboard and the API answer 404 there, as if the site did not exist, so
//! site ids do not leak between tenants. A member asking for something its
//! role does not allow on its own site gets 403.
//!
//! The roles follow the people in the product: the **owner** answers to the
//! law for the site (publishes its configuration, handles visitors' requests
//! under GDPR art. 15 and 17, keeps the register of art. 30, manages the
//! site's members and API keys); the **marketer** scans the site and acts on
//! the findings, and reads its analytics; the **viewer** reads. Neither a
//! marketer nor a viewer sees a visitor's records (their proof or requests),
//! which are personal data only the owner needs (GDPR art. 5(1)(c), data
//! minimisation, and art. 32(4): people act on personal data only as
//! instructed).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::SiteId;

/// An account, as stored (keyed by its user name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The log-in name.
    pub username: String,
    /// Argon2id in PHC string format.
    pub password_hash: String,
    /// Admin or member. Accounts stored before roles existed were all admins.
    #[serde(default)]
    pub role: AccountRole,
    /// A member's sites and its role on each (an admin's is ignored).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sites: BTreeMap<SiteId, SiteRole>,
    /// Set when someone else chose the password (an invitation's one-time
    /// password, or a reset): the account must choose its own before anything else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub must_change_password: bool,
    /// When the account was created (Unix ms; 0 for accounts from before).
    #[serde(default)]
    pub created_ms: u64,
    /// Sessions are honoured only while they carry this number: changing or
    /// resetting the password moves it on, which ends every session opened
    /// with the old password (a stolen session cannot outlive the reset).
    #[serde(default)]
    pub session_epoch: u32,
}

/// Whether an account manages everything or holds roles per site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Every site, every action, and the accounts.
    #[default]
    Admin,
    /// Only the sites in [`Account::sites`], as its role there allows.
    Member,
}

/// A member's role on one site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteRole {
    /// Answers for the site: everything on it but the accounts.
    Owner,
    /// Scans, findings, analytics; edits the draft but does not publish.
    Marketer,
    /// Reads the site's pages, no visitor's records.
    Viewer,
}

impl SiteRole {
    /// Every role, most powerful first.
    pub const ALL: [SiteRole; 3] = [SiteRole::Owner, SiteRole::Marketer, SiteRole::Viewer];

    /// The role's name in forms and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteRole::Owner => "owner",
            SiteRole::Marketer => "marketer",
            SiteRole::Viewer => "viewer",
        }
    }

    /// The role named `s`.
    pub fn parse(s: &str) -> Option<SiteRole> {
        SiteRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may do `p` on its site.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            SiteRole::Owner => !matches!(p, ManageAccounts),
            SiteRole::Marketer => matches!(p, View | Scan | EditDraft),
            SiteRole::Viewer => matches!(p, View),
        }
    }
}

/// Something done on a site (or, for [`Permission::ManageAccounts`], on
/// the accounts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read the site's pages: configuration, analytics, scans, policy, register.
    View,
    /// Run and schedule scans, triage findings.
    Scan,
    /// Change the configuration's draft (it reaches visitors only when
    /// published): the forms, the catalogue, restoring an earlier version, discarding.
    EditDraft,
    /// Publish a configuration, change allowed origins.
    Publish,
    /// A visitor's records: proof lookups and requests (GDPR art. 15, 17).
    VisitorData,
    /// The register of processing's owner details (GDPR art. 30).
    EditRegister,
    /// The site's members and API keys.
    ManageAccess,
    /// Create sites, and create, change and delete accounts (admins only).
    ManageAccounts,
}

/// What an account may do about a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Go ahead.
    Allowed,
    /// A member of the site whose role does not allow it: 403.
    Forbidden,
    /// Not a member: the site is not shown to exist (404).
    Hidden,
}

impl Account {
    /// Whether the account manages everything.
    pub fn is_admin(&self) -> bool {
        self.role == AccountRole::Admin
    }

    /// The account's role on `site`: `None` for a site it is not a member
    /// of, and for admins (who need none).
    pub fn site_role(&self, site: &SiteId) -> Option<SiteRole> {
        match self.role {
            AccountRole::Admin => None,
            AccountRole::Member => self.sites.get(site).copied(),
        }
    }

    /// Whether the account may create sites: admins, and owners of a site
    /// (who become the new site's owner).
    pub fn may_create_sites(&self) -> bool {
        self.is_admin() || self.sites.values().any(|r| *r == SiteRole::Owner)
    }

    /// Whether the account may see that `site` exists.
    pub fn sees(&self, site: &SiteId) -> bool {
        self.is_admin() || self.sites.contains_key(site)
    }

    /// Whether the account may do `p` on `site`.
    pub fn access(&self, site: &SiteId, p: Permission) -> Access {
        if self.is_admin() {
            return Access::Allowed;
        }
        match self.site_role(site) {
            None => Access::Hidden,
            Some(role) if role.allows(p) => Access::Allowed,
            Some(_) => Access::Forbidden,
        }
    }

    /// Whether the account may do `p` on `site` (see [`Account::access`]).
    pub fn can(&self, site: &SiteId, p: Permission) -> bool {
        self.access(site, p) == Access::Allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(sites: &[(&str, SiteRole)]) -> Account {
        Account {
            username: "m".into(),
            password_hash: String::new(),
            role: AccountRole::Member,
            sites: sites.iter().map(|(s, r)| (SiteId::parse(s).unwrap(), *r)).collect(),
            must_change_password: false,
            created_ms: 0,
            session_epoch: 0,
        }
    }

    #[test]
    fn an_account_stored_before_roles_is_an_admin() {
        let a: Account = serde_json::from_str(r#"{"username":"admin","password_hash":"x"}"#).unwrap();
        assert!(a.is_admin());
        assert!(a.can(&SiteId::parse("any").unwrap(), Permission::ManageAccounts));
    }

    #[test]
    fn members_see_only_their_sites_and_what_their_role_allows() {
        let (a, b) = (SiteId::parse("a").unwrap(), SiteId::parse("b").unwrap());
        let m = member(&[("a", SiteRole::Marketer)]);
        assert_eq!(m.access(&a, Permission::Scan), Access::Allowed);
        assert_eq!(m.access(&a, Permission::Publish), Access::Forbidden);
        assert_eq!(m.access(&a, Permission::VisitorData), Access::Forbidden);
        assert_eq!(m.access(&b, Permission::View), Access::Hidden);
        let o = member(&[("a", SiteRole::Owner)]);
        assert!(o.can(&a, Permission::VisitorData) && o.can(&a, Permission::ManageAccess));
        assert!(!o.can(&a, Permission::ManageAccounts));
        let v = member(&[("a", SiteRole::Viewer)]);
        assert!(v.can(&a, Permission::View) && !v.can(&a, Permission::EditDraft));
    }
}
