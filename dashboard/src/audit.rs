//! A site's audit trail ([`consent_core::audit`]): writing it from the
//! dashboard's use cases (every change to a site goes through [`record`]),
//! and reading it: the page, newest first in pages, each entry in plain
//! Dutch or English with links to the configuration versions it names, and
//! the whole trail as CSV or JSON.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::SiteId;
use consent_core::account::Permission;
use consent_core::audit::{AuditAction, AuditEntry};
use consent_core::store::{Site, Store};
use serde::Deserialize;

use crate::i18n::Texts;
use crate::page::{self, Frame, Problem, Utc, now_ms};
use crate::session::LoggedIn;
use crate::{BASE, St, sites};

/// Appends `action`, done by the logged-in account now, to the site's trail.
/// Callers record after the change itself succeeded and pass a failure on:
/// the owner then sees the page say storage is down rather than believe a
/// step was recorded that was not.
pub async fn record<S: Store>(store: &S, site: &SiteId, me: &LoggedIn, action: AuditAction) -> Result<(), Problem> {
    let entry = AuditEntry {
        at_ms: now_ms(),
        actor: me.account.username.clone(),
        action,
    };
    store.append_audit(site, &entry).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The audit trail page and its downloads.

/// Entries per page.
const PAGE: usize = 50;
/// The most entries a download holds (newest first), bounding what one
/// request reads and sends.
const MAX_DOWNLOAD: usize = 100_000;
/// Entries read per storage call while downloading.
const CHUNK: usize = 1000;

/// Who may read a site's trail: [`Permission::ManageAccess`], the site's
/// owners and the admins. The trail names the site's members and API keys
/// and how each visitor's request was handled (GDPR art. 15, 17), which a
/// marketer or viewer does not otherwise see (the members and keys pages are
/// the owners' too); what was published when is on the versions pages.
const READ: Permission = Permission::ManageAccess;

/// One part of an entry's description: text, or text linking somewhere,
/// with plain words before it.
struct Part {
    before: &'static str,
    text: String,
    link: Option<String>,
}

impl Part {
    fn text(text: impl Into<String>) -> Self {
        Part {
            before: "",
            text: text.into(),
            link: None,
        }
    }
}

/// An entry as the page shows it.
struct Row {
    seq: u64,
    time: Utc,
    actor: String,
    what: &'static str,
    parts: Vec<Part>,
}

/// The link to a configuration version's page.
fn version_part(site: &SiteId, version: &consent_core::ConfigVersion) -> Part {
    Part {
        before: "",
        text: version.to_string(),
        link: Some(format!("{BASE}/sites/{site}/versions/{version}")),
    }
}

/// What the entry says, in the reader's language: a label and its details.
fn describe(t: &Texts, site: &SiteId, action: &AuditAction) -> (&'static str, Vec<Part>) {
    use AuditAction::*;
    let role = |r| Part::text(crate::people::role_name(t, r));
    match action {
        SiteCreated { origins } => (t.audit_site_created, vec![Part::text(origins.join(", "))]),
        OriginsChanged { origins } => (t.audit_origins_changed, vec![Part::text(origins.join(", "))]),
        DraftSaved { version } => (t.audit_draft_saved, vec![Part::text(version.to_string())]),
        DraftDiscarded => (t.audit_draft_discarded, vec![]),
        Published {
            version,
            previous,
            reask,
        } => {
            let mut parts = vec![version_part(site, version)];
            if let Some(previous) = previous {
                parts.push(Part {
                    before: t.audit_replacing,
                    ..version_part(site, previous)
                });
            }
            parts.push(Part::text(if *reask { t.audit_reask } else { t.audit_no_reask }));
            (t.audit_published, parts)
        }
        Restored { version } => (t.audit_restored, vec![version_part(site, version)]),
        RegisterUpdated => (t.audit_register_updated, vec![]),
        MemberAdded { username, role: r } => (t.audit_member_added, vec![Part::text(username.clone()), role(*r)]),
        MemberChanged { username, role: r } => (t.audit_member_changed, vec![Part::text(username.clone()), role(*r)]),
        MemberRemoved { username } => (t.audit_member_removed, vec![Part::text(username.clone())]),
        KeyCreated { id, name, scopes } => {
            let scopes: Vec<_> = scopes.iter().map(|s| crate::keys::scope_name(*s)).collect();
            (
                t.audit_key_created,
                vec![
                    Part::text(id.clone()),
                    Part::text(name.clone()),
                    Part::text(scopes.join(", ")),
                ],
            )
        }
        KeyRevoked { id } => (t.audit_key_revoked, vec![Part::text(id.clone())]),
        RequestOpened { id, kind } => (
            t.audit_request_opened,
            vec![Part::text(id.clone()), Part::text(kind.clone())],
        ),
        RequestExported { id, format } => (
            t.audit_request_exported,
            vec![Part::text(id.clone()), Part::text(format.clone())],
        ),
        RequestErased { id } => (t.audit_request_erased, vec![Part::text(id.clone())]),
        RequestExtended { id } => (t.audit_request_extended, vec![Part::text(id.clone())]),
        RequestClosed { id } => (t.audit_request_closed, vec![Part::text(id.clone())]),
        // An action added after this page: its name as stored, until it has words here.
        #[allow(unreachable_patterns)]
        _ => (action.name(), vec![]),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a Site,
    rows: Vec<Row>,
    /// The next (older) page's cursor, if there are older entries.
    older: Option<u64>,
    /// Whether this is a later page (link back to the newest).
    paged: bool,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<String>,
}

/// `GET /sites/{site}/audit?before=seq`: the trail, newest first, in pages.
pub async fn show<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Response {
    let found = async {
        let site = sites::find(&dash.store, &me, &site, READ).await?;
        let before = match q.before.as_deref() {
            None | Some("") => None,
            Some(b) => Some(b.parse::<u64>().map_err(|_| Problem::NotFound)?),
        };
        // One more than a page, to know whether there is an older one.
        let entries = dash.store.audit(&site.id, before, PAGE + 1).await?;
        Ok::<_, Problem>((site, before, entries))
    };
    let (site, before, mut entries) = match found.await {
        Ok(found) => found,
        Err(p) => return me.problem(p),
    };
    let older = (entries.len() > PAGE).then(|| {
        entries.truncate(PAGE);
        entries.last().map_or(0, |(seq, _)| *seq)
    });
    let rows = entries
        .into_iter()
        .map(|(seq, e)| {
            let (what, parts) = describe(me.t, &site.id, &e.action);
            Row {
                seq,
                time: Utc(e.at_ms),
                actor: e.actor,
                what,
                parts,
            }
        })
        .collect();
    let page = AuditPage {
        t: me.t,
        frame: me.frame(me.t.audit_title).about(site.id.as_str()),
        site: &site,
        rows,
        older,
        paged: before.is_some(),
    };
    page::render(StatusCode::OK, &page)
}

/// The whole trail (up to [`MAX_DOWNLOAD`] entries), newest first.
async fn everything<S: Store>(store: &S, site: &SiteId) -> Result<Vec<(u64, AuditEntry)>, Problem> {
    let mut all: Vec<(u64, AuditEntry)> = Vec::new();
    loop {
        let before = all.last().map(|(seq, _)| *seq);
        let chunk = store.audit(site, before, CHUNK).await?;
        let done = chunk.len() < CHUNK;
        all.extend(chunk);
        if done || all.len() >= MAX_DOWNLOAD {
            all.truncate(MAX_DOWNLOAD);
            return Ok(all);
        }
    }
}

/// The trail as CSV: one row per entry, the action's details as JSON.
fn csv(entries: &[(u64, AuditEntry)]) -> String {
    use consent_core::export::csv_cell;
    let mut out = String::from("seq,time_utc,at_ms,actor,action,details\r\n");
    for (seq, e) in entries {
        let details = serde_json::to_string(&e.action).unwrap_or_default();
        out.push_str(&format!(
            "{seq},{},{},{},{},{}\r\n",
            Utc(e.at_ms),
            e.at_ms,
            csv_cell(&e.actor),
            e.action.name(),
            csv_cell(&details)
        ));
    }
    out
}

/// The trail as JSON: `[{seq, at_ms, actor, action: {action, ...}}]`.
fn json(entries: &[(u64, AuditEntry)]) -> String {
    let list: Vec<_> = entries
        .iter()
        .map(|(seq, e)| serde_json::json!({"seq": seq, "at_ms": e.at_ms, "actor": e.actor, "action": e.action}))
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_default()
}

/// `GET /sites/{site}/audit.csv` and `.json`: the trail as a download.
async fn download<S: Store>(dash: &crate::Dash<S>, me: &LoggedIn, site: &str, json_format: bool) -> Response {
    let found = async {
        let site = sites::find(&dash.store, me, site, READ).await?;
        let entries = everything(&dash.store, &site.id).await?;
        Ok::<_, Problem>((site, entries))
    };
    let (site, entries) = match found.await {
        Ok(found) => found,
        Err(p) => return me.problem(p),
    };
    let (body, content_type, ext) = if json_format {
        (json(&entries), "application/json", "json")
    } else {
        (csv(&entries), "text/csv; charset=utf-8", "csv")
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"audit-{}.{ext}\"", site.id)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    page::secure(&mut res);
    res
}

/// `GET /sites/{site}/audit.csv`.
pub async fn csv_file<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    download(&dash, &me, &site, false).await
}

/// `GET /sites/{site}/audit.json`.
pub async fn json_file<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    download(&dash, &me, &site, true).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn entries_read_in_words_with_version_links() {
        let site = SiteId::parse("shop").unwrap();
        let t = Lang::En.texts();
        let (what, parts) = describe(
            t,
            &site,
            &AuditAction::Published {
                version: consent_core::ConfigVersion("v2".into()),
                previous: Some(consent_core::ConfigVersion("v1".into())),
                reask: true,
            },
        );
        assert_eq!(what, t.audit_published);
        assert_eq!(parts[0].link.as_deref(), Some("/dashboard/sites/shop/versions/v2"));
        assert_eq!(parts[1].before, t.audit_replacing);
        assert_eq!(parts[1].link.as_deref(), Some("/dashboard/sites/shop/versions/v1"));
        assert_eq!(parts[2].text, t.audit_reask);
    }

    #[test]
    fn downloads_escape_actors_and_keep_details() {
        let entries = vec![(
            7,
            AuditEntry {
                at_ms: 1_700_000_000_123,
                actor: "=evil,name".into(),
                action: AuditAction::KeyRevoked { id: "key_1".into() },
            },
        )];
        let csv = csv(&entries);
        assert!(
            csv.contains("7,2023-11-14 22:13:20,1700000000123,\"'=evil,name\",key_revoked,"),
            "{csv}"
        );
        let json: serde_json::Value = serde_json::from_str(&json(&entries)).unwrap();
        assert_eq!(json[0]["seq"], 7);
        assert_eq!(json[0]["action"]["action"], "key_revoked");
    }
}
