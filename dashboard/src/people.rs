//! People: the admin's accounts page (invite with a one-time password,
//! roles per site, admin or not, reset a password, delete), everyone's own
//! password, and a site's members as its owners manage them.
//!
//! Passwords are hashed by the server ([`Host::hash_password`]: argon2id,
//! off the async threads), never here. A password someone else chose (an
//! invitation's or a reset's) is shown once and marks the account
//! `must_change_password`: until its owner picks their own, every page sends
//! them to the password page and the API refuses the session.
//!
//! Each change to who may act on a site is written to that site's audit
//! trail (`MemberAdded`, `MemberChanged`, `MemberRemoved`).
//!
//! [`Host::hash_password`]: crate::Host::hash_password

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use consent_core::SiteId;
use consent_core::account::{Account, AccountRole, Permission, SiteRole};
use consent_core::audit::AuditAction;
use consent_core::store::{Site, Store, StoreError};
use serde::Deserialize;

use crate::host::{LoginOutcome, PasswordCheck};
use crate::i18n::Texts;
use crate::page::{self, Frame, Message, Problem, Utc, now_ms};
use crate::session::{CsrfForm, LoggedIn, NoFields};
use crate::{BASE, Dash, St, audit, sites};

/// The shortest password an account may choose. NIST SP 800-63B-4
/// (<https://pages.nist.gov/800-63-4/sp800-63b.html>, §3.1.1.2, "Password
/// Verifiers") requires at least 15 characters for a password that is the
/// only factor, as the dashboard's is (8 only where a second factor is
/// asked too), and forbids composition rules: so 15, and no others.
pub const MIN_PASSWORD: usize = 15;
/// The longest (the log-in form reads up to 1024 bytes; argon2 takes any
/// length, this bounds what one request makes it hash).
pub const MAX_PASSWORD: usize = 1024;
/// The longest user name.
const MAX_USERNAME: usize = 64;

/// A role as forms send it, or `none` for "no role on this site".
const NONE: &str = "none";

/// Whether `name` may be a user name: 1 to 64 of `a-z 0-9 . _ - @` (so an
/// e-mail address fits), starting with a letter or digit. Lower case only,
/// so two accounts cannot differ by case alone.
fn valid_username(name: &str) -> bool {
    (1..=MAX_USERNAME).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@'))
}

/// A role's name in the reader's language.
pub fn role_name(t: &Texts, role: SiteRole) -> &'static str {
    match role {
        SiteRole::Owner => t.role_owner,
        SiteRole::Marketer => t.role_marketer,
        SiteRole::Viewer => t.role_viewer,
    }
}

/// The roles as a form's options: (value, label).
fn role_options(t: &Texts) -> Vec<(&'static str, &'static str)> {
    SiteRole::ALL.iter().map(|r| (r.as_str(), role_name(t, *r))).collect()
}

/// A role posted by a form: `Ok(None)` for `none` (remove).
fn posted_role(s: &str) -> Result<Option<SiteRole>, ()> {
    if s == NONE {
        return Ok(None);
    }
    SiteRole::parse(s).map(Some).ok_or(())
}

/// The audit entry for `username`'s role on a site going from `old` to `new`
/// (nothing when it did not change).
fn member_action(username: &str, old: Option<SiteRole>, new: Option<SiteRole>) -> Option<AuditAction> {
    let username = username.to_owned();
    match (old, new) {
        (None, Some(role)) => Some(AuditAction::MemberAdded { username, role }),
        (Some(o), Some(role)) if o != role => Some(AuditAction::MemberChanged { username, role }),
        (Some(_), None) => Some(AuditAction::MemberRemoved { username }),
        _ => None,
    }
}

/// Sets `account`'s role on `site` (storing the account) and records it in
/// the site's trail.
async fn set_role<S: Store>(
    store: &S,
    me: &LoggedIn,
    mut account: Account,
    site: &SiteId,
    role: Option<SiteRole>,
) -> Result<(), Problem> {
    let old = account.sites.get(site).copied();
    match role {
        Some(r) => account.sites.insert(site.clone(), r),
        None => account.sites.remove(site),
    };
    let Some(action) = member_action(&account.username, old, role) else {
        return Ok(());
    };
    store.put_account(&account).await?;
    audit::record(store, site, me, action).await
}

/// The one-time password for someone else: random from the server, hashed
/// there. `None`: the server could not hash it now.
async fn one_time_password<S: Store>(dash: &Dash<S>) -> Option<(String, String)> {
    let password = dash.host.new_password();
    if password.is_empty() {
        return None;
    }
    let hash = dash.host.hash_password(password.clone()).await?;
    Some((password, hash))
}

// ---------------------------------------------------------------------------
// The admin's accounts page.

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    csrf: &'a str,
    me: &'a str,
    accounts: Vec<AccountRow>,
    sites: Vec<String>,
    roles: Vec<(&'static str, &'static str)>,
    /// A one-time password just made, to pass on.
    handed_out: Option<HandedOut>,
    problem: Option<&'static str>,
    /// The invitation form's values, kept when it is refused.
    username: String,
}

/// An account as the list shows it.
struct AccountRow {
    username: String,
    admin: bool,
    /// (site, role label, role value).
    sites: Vec<(String, &'static str, &'static str)>,
    created: Option<Utc>,
    must_change_password: bool,
}

/// A one-time password to pass on, once.
struct HandedOut {
    username: String,
    password: String,
    /// The sentence to copy into a message to the person.
    sentence: String,
}

fn handed_out(t: &Texts, public_url: &str, username: &str, password: String) -> HandedOut {
    let sentence = t
        .people_sentence
        .replace("{url}", &format!("{public_url}{BASE}/login"))
        .replace("{user}", username)
        .replace("{password}", &password);
    HandedOut {
        username: username.to_owned(),
        password,
        sentence,
    }
}

fn only_admins(me: &LoggedIn) -> Result<(), Problem> {
    if me.account.is_admin() {
        Ok(())
    } else {
        Err(Problem::NotAllowed)
    }
}

async fn people_page<S: Store>(
    dash: &Dash<S>,
    me: &LoggedIn,
    status: StatusCode,
    handed: Option<HandedOut>,
    problem: Option<&'static str>,
    username: String,
) -> Response {
    let loaded = async { Ok::<_, StoreError>((dash.store.accounts().await?, dash.store.sites().await?)) };
    let (accounts, sites) = match loaded.await {
        Ok(found) => found,
        Err(e) => return me.problem(e.into()),
    };
    let t = me.t;
    let page = PeoplePage {
        t,
        frame: me.frame(t.people_title),
        csrf: &me.session.csrf,
        me: &me.account.username,
        accounts: accounts
            .into_iter()
            .map(|a| AccountRow {
                admin: a.is_admin(),
                sites: a
                    .sites
                    .iter()
                    .map(|(s, r)| (s.to_string(), role_name(t, *r), r.as_str()))
                    .collect(),
                created: (a.created_ms > 0).then_some(Utc(a.created_ms)),
                must_change_password: a.must_change_password,
                username: a.username,
            })
            .collect(),
        sites: sites.into_iter().map(|s| s.id.to_string()).collect(),
        roles: role_options(t),
        handed_out: handed,
        problem,
        username,
    };
    page::render(status, &page)
}

/// `GET /people`: every account, and the invitation form (admins only).
pub async fn list<S: Store>(State(dash): St<S>, me: LoggedIn) -> Response {
    if let Err(p) = only_admins(&me) {
        return me.problem(p);
    }
    people_page(&dash, &me, StatusCode::OK, None, None, String::new()).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    username: String,
    /// A first site, or empty.
    #[serde(default)]
    site: String,
    #[serde(default)]
    role: String,
}

/// `POST /people`: creates the account with a one-time password, shown once.
pub async fn invite<S: Store>(State(dash): St<S>, CsrfForm { me, form }: CsrfForm<InviteForm>) -> Response {
    if let Err(p) = only_admins(&me) {
        return me.problem(p);
    }
    let t = me.t;
    let username = form.username.trim().to_owned();
    let refused = |problem| {
        people_page(
            &dash,
            &me,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(problem),
            username.clone(),
        )
    };
    if !valid_username(&username) {
        return refused(t.people_bad_name).await;
    }
    let first_site = if form.site.is_empty() {
        None
    } else {
        let Ok(role) = posted_role(&form.role) else {
            return refused(t.people_bad_role).await;
        };
        let site = match SiteId::parse(&form.site) {
            Ok(id) => dash.store.site(&id).await,
            Err(_) => Ok(None),
        };
        match site {
            Ok(Some(site)) => role.map(|r| (site.id, r)),
            Ok(None) => return refused(t.people_no_site).await,
            Err(e) => return me.problem(e.into()),
        }
    };
    let Some((password, hash)) = one_time_password(&dash).await else {
        return me.problem(Problem::Unavailable);
    };
    let account = Account {
        username: username.clone(),
        password_hash: hash,
        role: AccountRole::Member,
        sites: first_site.iter().cloned().collect(),
        must_change_password: true,
        created_ms: now_ms(),
        session_epoch: 0,
    };
    match dash.store.create_account(&account).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return refused(t.people_taken).await,
        Err(e) => return me.problem(e.into()),
    }
    if let Some((site, role)) = first_site {
        let action = AuditAction::MemberAdded {
            username: username.clone(),
            role,
        };
        if let Err(p) = audit::record(&dash.store, &site, &me, action).await {
            return me.problem(p);
        }
    }
    let handed = handed_out(t, &dash.host.public_url(), &username, password);
    people_page(&dash, &me, StatusCode::OK, Some(handed), None, String::new()).await
}

/// The account named in the path, for an admin to change; 404 if none.
async fn target<S: Store>(dash: &Dash<S>, me: &LoggedIn, user: &str) -> Result<Account, Problem> {
    only_admins(me)?;
    if user.len() > MAX_USERNAME {
        return Err(Problem::NotFound);
    }
    dash.store.account(user).await?.ok_or(Problem::NotFound)
}

fn back_to_people() -> Response {
    Redirect::to(&format!("{BASE}/people")).into_response()
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    site: String,
    /// A role, or `none`.
    #[serde(default)]
    role: String,
}

/// `POST /people/{user}/sites`: sets (or with `none` removes) the
/// account's role on a site.
pub async fn set_site_role<S: Store>(
    State(dash): St<S>,
    Path(user): Path<String>,
    CsrfForm { me, form }: CsrfForm<RoleForm>,
) -> Response {
    let done = async {
        let account = target(&dash, &me, &user).await?;
        let role = posted_role(&form.role).map_err(|()| Problem::NotFound)?;
        let site = SiteId::parse(&form.site).map_err(|_| Problem::NotFound)?;
        dash.store.site(&site).await?.ok_or(Problem::NotFound)?;
        set_role(&dash.store, &me, account, &site, role).await
    };
    match done.await {
        Ok(()) => back_to_people(),
        Err(p) => me.problem(p),
    }
}

#[derive(Deserialize)]
pub struct AdminForm {
    /// `1`: make admin; anything else: make member.
    #[serde(default)]
    admin: String,
}

/// The admins among `accounts`.
fn admins(accounts: &[Account]) -> usize {
    accounts.iter().filter(|a| a.is_admin()).count()
}

/// `POST /people/{user}/admin`: makes the account an admin or a member
/// (never the last admin a member: someone must be able to manage accounts).
pub async fn set_admin<S: Store>(
    State(dash): St<S>,
    Path(user): Path<String>,
    CsrfForm { me, form }: CsrfForm<AdminForm>,
) -> Response {
    let done = async {
        let mut account = target(&dash, &me, &user).await?;
        let admin = form.admin == "1";
        if account.is_admin() && !admin && admins(&dash.store.accounts().await?) <= 1 {
            return Ok(Some(me.t.people_last_admin));
        }
        account.role = if admin { AccountRole::Admin } else { AccountRole::Member };
        dash.store.put_account(&account).await?;
        Ok(None)
    };
    match done.await {
        Ok(None) => back_to_people(),
        Ok(Some(why)) => people_page(&dash, &me, StatusCode::CONFLICT, None, Some(why), String::new()).await,
        Err(p) => me.problem(p),
    }
}

/// `POST /people/{user}/reset`: a new one-time password for the account
/// (shown once); the account must choose its own at its next step.
pub async fn reset_password<S: Store>(
    State(dash): St<S>,
    Path(user): Path<String>,
    CsrfForm { me, .. }: CsrfForm<NoFields>,
) -> Response {
    let mut account = match target(&dash, &me, &user).await {
        Ok(a) => a,
        Err(p) => return me.problem(p),
    };
    if account.username == me.account.username {
        let why = me.t.people_not_yourself;
        return people_page(&dash, &me, StatusCode::CONFLICT, None, Some(why), String::new()).await;
    }
    let Some((password, hash)) = one_time_password(&dash).await else {
        return me.problem(Problem::Unavailable);
    };
    account.password_hash = hash;
    account.must_change_password = true;
    // Every session opened with the old password ends: one left open could
    // otherwise choose the new password without knowing the one-time one.
    account.session_epoch = account.session_epoch.wrapping_add(1);
    if let Err(e) = dash.store.put_account(&account).await {
        return me.problem(e.into());
    }
    let handed = handed_out(me.t, &dash.host.public_url(), &account.username, password);
    people_page(&dash, &me, StatusCode::OK, Some(handed), None, String::new()).await
}

/// `POST /people/{user}/delete`: deletes the account (not one's own, never
/// the last admin); its sessions stop working at once, and each site it
/// was a member of records its removal.
pub async fn delete<S: Store>(
    State(dash): St<S>,
    Path(user): Path<String>,
    CsrfForm { me, .. }: CsrfForm<NoFields>,
) -> Response {
    let done = async {
        let account = target(&dash, &me, &user).await?;
        if account.username == me.account.username {
            return Ok(Some(me.t.people_not_yourself));
        }
        if account.is_admin() && admins(&dash.store.accounts().await?) <= 1 {
            return Ok(Some(me.t.people_last_admin));
        }
        dash.store.delete_account(&account.username).await?;
        if !account.is_admin() {
            for site in account.sites.keys() {
                let action = AuditAction::MemberRemoved {
                    username: account.username.clone(),
                };
                audit::record(&dash.store, site, &me, action).await?;
            }
        }
        Ok(None)
    };
    match done.await {
        Ok(None) => back_to_people(),
        Ok(Some(why)) => people_page(&dash, &me, StatusCode::CONFLICT, None, Some(why), String::new()).await,
        Err(p) => me.problem(p),
    }
}

// ---------------------------------------------------------------------------
// One's own password.

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    csrf: &'a str,
    /// Whether the current password is asked (not when someone else chose it).
    ask_current: bool,
    min: usize,
    max: usize,
    problem: Option<&'static str>,
}

fn password_page(me: &LoggedIn, status: StatusCode, problem: Option<&'static str>) -> Response {
    let page = PasswordPage {
        t: me.t,
        frame: me.frame(me.t.pw_title),
        csrf: &me.session.csrf,
        ask_current: !me.account.must_change_password,
        min: MIN_PASSWORD,
        max: MAX_PASSWORD,
        problem,
    };
    page::render(status, &page)
}

/// `GET /password`.
pub async fn password_form(me: LoggedIn) -> Response {
    password_page(&me, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

/// Why a new password is refused, if it is (length in characters, as NIST
/// SP 800-63B-4 counts: each Unicode code point one).
fn new_password_problem(t: &'static Texts, username: &str, form: &PasswordForm) -> Option<&'static str> {
    let chars = form.new.chars().count();
    if chars < MIN_PASSWORD {
        Some(t.pw_too_short)
    } else if form.new.len() > MAX_PASSWORD {
        Some(t.pw_too_long)
    } else if form.new != form.repeat {
        Some(t.pw_mismatch)
    } else if form.new.trim().eq_ignore_ascii_case(username) {
        Some(t.pw_is_username)
    } else {
        None
    }
}

/// `POST /password`: checks the current password (unless someone else chose
/// it), then stores the new one's hash and lifts `must_change_password`.
pub async fn change_password<S: Store>(
    State(dash): St<S>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    CsrfForm { me, form }: CsrfForm<PasswordForm>,
) -> Response {
    let t = me.t;
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |Extension(ConnectInfo(p))| p.ip());
    let client = dash.host.client_ip(peer, &headers);
    if let Some(why) = new_password_problem(t, &me.account.username, &form) {
        return password_page(&me, StatusCode::UNPROCESSABLE_ENTITY, Some(why));
    }
    if !me.account.must_change_password {
        if form.current.is_empty() || form.current.len() > MAX_PASSWORD {
            return password_page(&me, StatusCode::UNPROCESSABLE_ENTITY, Some(t.pw_wrong_current));
        }
        let check = dash
            .host
            .verify_password(me.account.username.clone(), form.current.clone(), client)
            .await;
        match check {
            PasswordCheck::Right => {}
            PasswordCheck::Wrong => {
                return password_page(&me, StatusCode::UNPROCESSABLE_ENTITY, Some(t.pw_wrong_current));
            }
            PasswordCheck::Limited => return password_page(&me, StatusCode::TOO_MANY_REQUESTS, Some(t.limited)),
            PasswordCheck::Unavailable => return me.problem(Problem::Unavailable),
        }
    }
    let Some(hash) = dash.host.hash_password(form.new.clone()).await else {
        return password_page(&me, StatusCode::SERVICE_UNAVAILABLE, Some(t.limited));
    };
    let mut account = me.account.clone();
    account.password_hash = hash;
    account.must_change_password = false;
    // Every session opened with the old password ends (one somewhere else
    // may be why the password is being changed); this one goes on as a
    // fresh session opened with the new password.
    account.session_epoch = account.session_epoch.wrapping_add(1);
    if let Err(e) = dash.store.put_account(&account).await {
        return me.problem(e.into());
    }
    let cookies = match dash.host.login(account.username.clone(), form.new, client).await {
        LoginOutcome::Ok(cookies) => cookies,
        // The password is changed either way; without a new session the
        // next page asks to log in with it.
        _ => Vec::new(),
    };
    let page = Message {
        t,
        frame: me.frame(t.pw_title),
        text: t.pw_changed,
    };
    let mut res = page::render(StatusCode::OK, &page);
    for c in cookies {
        res.headers_mut().append(axum::http::header::SET_COOKIE, c);
    }
    res
}

// ---------------------------------------------------------------------------
// A site's members, as its owners (and admins) manage them.

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    csrf: &'a str,
    site: &'a Site,
    me: &'a str,
    /// (user name, role value, role label), by name.
    members: Vec<(String, &'static str, &'static str)>,
    /// The admins, who may do everything on every site.
    admins: Vec<String>,
    roles: Vec<(&'static str, &'static str)>,
    problem: Option<&'static str>,
    username: String,
}

async fn members_page<S: Store>(
    dash: &Dash<S>,
    me: &LoggedIn,
    site: &Site,
    status: StatusCode,
    problem: Option<&'static str>,
    username: String,
) -> Response {
    let accounts = match dash.store.accounts().await {
        Ok(a) => a,
        Err(e) => return me.problem(e.into()),
    };
    let t = me.t;
    let (admins, members): (Vec<_>, Vec<_>) = accounts.into_iter().partition(Account::is_admin);
    let page = MembersPage {
        t,
        frame: me.frame(t.members_title).about(site.id.as_str()),
        csrf: &me.session.csrf,
        site,
        me: &me.account.username,
        members: members
            .into_iter()
            .filter_map(|a| {
                let role = *a.sites.get(&site.id)?;
                Some((a.username, role.as_str(), role_name(t, role)))
            })
            .collect(),
        admins: admins.into_iter().map(|a| a.username).collect(),
        roles: role_options(t),
        problem,
        username,
    };
    page::render(status, &page)
}

/// `GET /sites/{site}/members` (owners and admins).
pub async fn members<S: Store>(State(dash): St<S>, me: LoggedIn, Path(site): Path<String>) -> Response {
    match sites::find(&dash.store, &me, &site, Permission::ManageAccess).await {
        Ok(site) => members_page(&dash, &me, &site, StatusCode::OK, None, String::new()).await,
        Err(p) => me.problem(p),
    }
}

#[derive(Deserialize)]
pub struct AddMemberForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
}

/// `POST /sites/{site}/members`: gives an existing account a role on the
/// site (inviting someone new is the admin's, on the accounts page).
pub async fn add_member<S: Store>(
    State(dash): St<S>,
    Path(site): Path<String>,
    CsrfForm { me, form }: CsrfForm<AddMemberForm>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::ManageAccess).await {
        Ok(site) => site,
        Err(p) => return me.problem(p),
    };
    let t = me.t;
    let username = form.username.trim().to_owned();
    let refused = |why| {
        members_page(
            &dash,
            &me,
            &site,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(why),
            username.clone(),
        )
    };
    let Ok(Some(role)) = posted_role(&form.role) else {
        return refused(t.people_bad_role).await;
    };
    let account = if username.len() > MAX_USERNAME {
        Ok(None)
    } else {
        dash.store.account(&username).await
    };
    let account = match account {
        Ok(Some(a)) => a,
        // The same answer for a name that does not exist as for a bad one:
        // an owner learns no more about other accounts than a name they typed.
        Ok(None) => return refused(t.members_no_account).await,
        Err(e) => return me.problem(e.into()),
    };
    if account.is_admin() {
        return refused(t.members_is_admin).await;
    }
    if account.sites.contains_key(&site.id) {
        return refused(t.members_already).await;
    }
    match set_role(&dash.store, &me, account, &site.id, Some(role)).await {
        Ok(()) => Redirect::to(&format!("{BASE}/sites/{}/members", site.id)).into_response(),
        Err(p) => me.problem(p),
    }
}

/// `POST /sites/{site}/members/{user}`: changes a member's role, or with
/// `none` removes them from the site. Not one's own (an owner would lock
/// themselves out; another owner or an admin does it).
pub async fn change_member<S: Store>(
    State(dash): St<S>,
    Path((site, user)): Path<(String, String)>,
    CsrfForm { me, form }: CsrfForm<RoleForm>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::ManageAccess).await {
        Ok(site) => site,
        Err(p) => return me.problem(p),
    };
    let t = me.t;
    let Ok(role) = posted_role(&form.role) else {
        return members_page(
            &dash,
            &me,
            &site,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(t.people_bad_role),
            String::new(),
        )
        .await;
    };
    if user == me.account.username {
        return members_page(
            &dash,
            &me,
            &site,
            StatusCode::CONFLICT,
            Some(t.people_not_yourself),
            String::new(),
        )
        .await;
    }
    let account = match dash.store.account(&user).await {
        // Only the site's own members: an owner cannot probe other names here.
        Ok(Some(a)) if !a.is_admin() && a.sites.contains_key(&site.id) => a,
        Ok(_) => return me.problem(Problem::NotFound),
        Err(e) => return me.problem(e.into()),
    };
    match set_role(&dash.store, &me, account, &site.id, role).await {
        Ok(()) => Redirect::to(&format!("{BASE}/sites/{}/members", site.id)).into_response(),
        Err(p) => me.problem(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn user_names_are_plain_and_lower_case() {
        for ok in ["anna", "a.de-vries", "anna@example.nl", "0day_"] {
            assert!(valid_username(ok), "{ok}");
        }
        for bad in ["", "Anna", "-anna", "an na", "anna<", &"a".repeat(65), "änna"] {
            assert!(!valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn new_passwords_are_long_enough_repeated_and_not_the_name() {
        let t = Lang::En.texts();
        let form = |new: &str, repeat: &str| PasswordForm {
            current: String::new(),
            new: new.into(),
            repeat: repeat.into(),
        };
        let long = "correct horse battery";
        assert_eq!(new_password_problem(t, "anna", &form(long, long)), None);
        assert_eq!(
            new_password_problem(t, "anna", &form("short", "short")),
            Some(t.pw_too_short)
        );
        // Fifteen characters, counted as code points, not bytes.
        assert_eq!(
            new_password_problem(t, "anna", &form(&"é".repeat(14), &"é".repeat(14))),
            Some(t.pw_too_short)
        );
        assert_eq!(
            new_password_problem(t, "anna", &form(&"é".repeat(15), &"é".repeat(15))),
            None
        );
        assert_eq!(
            new_password_problem(t, "anna", &form(long, "other")),
            Some(t.pw_mismatch)
        );
        let name = "anna.de.vries@example.nl";
        assert_eq!(new_password_problem(t, name, &form(name, name)), Some(t.pw_is_username));
        let huge = "x".repeat(MAX_PASSWORD + 1);
        assert_eq!(
            new_password_problem(t, "anna", &form(&huge, &huge)),
            Some(t.pw_too_long)
        );
    }

    #[test]
    fn role_changes_become_audit_entries() {
        use SiteRole::*;
        assert!(matches!(
            member_action("a", None, Some(Viewer)),
            Some(AuditAction::MemberAdded { role: Viewer, .. })
        ));
        assert!(matches!(
            member_action("a", Some(Viewer), Some(Owner)),
            Some(AuditAction::MemberChanged { role: Owner, .. })
        ));
        assert!(matches!(
            member_action("a", Some(Owner), None),
            Some(AuditAction::MemberRemoved { .. })
        ));
        assert_eq!(member_action("a", Some(Owner), Some(Owner)), None);
        assert_eq!(member_action("a", None, None), None);
    }
}
