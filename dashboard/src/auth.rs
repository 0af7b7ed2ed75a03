//! The server's session mechanism, as the dashboard needs it. The server
//! implements [`Auth`] over its own log-in code (argon2, rate limits, the
//! session cookie) so there is one session for the API and the dashboard.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use axum::http::HeaderValue;
use consent_core::SiteId;
use consent_core::store::Session;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a log-in attempt gave.
pub enum LoginOutcome {
    /// Logged in: the `Set-Cookie` values to send.
    Ok(Vec<HeaderValue>),
    /// Wrong username or password.
    Wrong,
    /// Too many attempts from this client; try again later.
    Limited,
    /// Storage is down.
    Unavailable,
}

pub trait Auth: Send + Sync + 'static {
    /// The name of the session cookie.
    fn cookie_name(&self) -> &'static str;
    /// Checks the credentials and opens a session.
    fn login(&self, username: String, password: String, client: IpAddr) -> BoxFuture<'_, LoginOutcome>;
    /// The live session behind a session cookie's value, if any.
    fn session(&self, token: String) -> BoxFuture<'_, Option<Session>>;
    /// Ends the session; the `Set-Cookie` values that clear the cookies.
    fn logout(&self, token: String) -> BoxFuture<'_, Vec<HeaderValue>>;
    /// Called after the dashboard changed a site (saved a configuration), so
    /// the server drops what it caches about it.
    fn site_changed(&self, site: &SiteId);
}
