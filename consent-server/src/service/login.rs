//! Admin log-in: one flow for `POST /api/v1/auth/login` and the dashboard's
//! form, so both get the same rate limit, timing and session.

use std::net::IpAddr;

use consent_core::account::Account;
use consent_core::store::{AccountStore, Session};

use super::credentials::{SESSION_TTL_MS, random_token, sha256};
use super::{Error, Services};
use crate::clock::now_ms;
use crate::limits::Limited;

/// A session just opened: the cookie values to hand out (shown this once;
/// storage keeps the token's hash).
pub struct Opened {
    pub username: String,
    pub token: String,
    pub csrf: String,
    pub expires_ms: u64,
}

/// Checks `username` and `password` and opens a session.
///
/// Unknown usernames are verified against a dummy hash, so the answer's
/// timing does not reveal which usernames exist. argon2 runs on the
/// [`PasswordChecker`](super::credentials::PasswordChecker)'s own threads,
/// bounded, never on the async threads that answer visitors nor on the
/// blocking pool that storage reads use. Limits: per client (per minute),
/// per account (a back-off after failures), and checks at once.
pub async fn log_in(app: &Services, username: &str, password: String, client: IpAddr) -> Result<Opened, Error> {
    let admin = check_password(app, username, password, client).await?;
    let now = now_ms();
    let (token, csrf) = (random_token(32), random_token(16));
    let session = Session {
        username: admin.username.clone(),
        csrf: csrf.clone(),
        expires_ms: now + SESSION_TTL_MS,
        epoch: admin.session_epoch,
    };
    app.store.create_session(sha256(&token), &session).await?;
    Ok(Opened {
        username: admin.username,
        token,
        csrf,
        expires_ms: session.expires_ms,
    })
}

/// The account whose name and password these are, under the limits of
/// [`log_in`] (which uses it): also the dashboard's check of the current
/// password before a change, so guessing there is no cheaper than at the
/// log-in form.
pub async fn check_password(
    app: &Services,
    username: &str,
    password: String,
    client: IpAddr,
) -> Result<Account, Error> {
    let now = now_ms();
    app.limits.check_login(&app.limits.client_key(client, now))?;
    let key = app.limits.account(username);
    app.limits.check_account(&key, now)?;
    let account = app.store.account(username).await?;
    let phc = account
        .as_ref()
        .map_or_else(|| app.dummy_hash.clone(), |a| a.password_hash.clone());
    let ok = app.passwords.verify(password, phc).await.map_err(|_| Limited::Busy)?;
    let Some(account) = account.filter(|_| ok) else {
        app.limits.account_failed(key, now);
        return Err(Error::Unauthorized("wrong username or password".into()));
    };
    app.limits.account_succeeded(&key);
    Ok(account)
}

/// The live session behind a session token and its account, if any.
/// A session is honoured only while its account exists (deleting an
/// account ends its sessions) and its password has not changed since it
/// was opened ([`Account::session_epoch`]).
pub async fn session(app: &Services, token: &str) -> Result<Option<(Session, Account)>, Error> {
    let Some(session) = app.store.session(&sha256(token), now_ms()).await? else {
        return Ok(None);
    };
    let account = app.store.account(&session.username).await?;
    Ok(account
        .filter(|a| a.session_epoch == session.epoch)
        .map(|a| (session, a)))
}

/// Ends the session behind `token` (nothing happens for an unknown one).
pub async fn log_out(app: &Services, token: &str) -> Result<(), Error> {
    Ok(app.store.delete_session(&sha256(token)).await?)
}
