//! The admin's session, in one place: logging in and out, the [`LoggedIn`]
//! extractor every page takes (no session: off to the log-in page), and
//! [`CsrfForm`], the only way a handler gets a posted form (no matching
//! CSRF token: 403). The session itself is the server's, through [`Host`].
//!
//! [`Host`]: crate::Host

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, RequestPartsExt};
use consent_core::account::Account;
use consent_core::store::{Session, Store};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::host::LoginOutcome;
use crate::i18n::{Lang, Texts};
use crate::page::{self, Frame, Problem};
use crate::{BASE, Dash, St};

/// The value of cookie `name` in a request's `Cookie` headers. Shared with
/// the server, which reads the same session cookie for the API.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A request from a logged-in account, and the language to answer in.
pub struct LoggedIn {
    pub session: Session,
    /// Who is logged in, read afresh on every request so a changed role or
    /// a deleted account takes effect at once.
    pub account: Account,
    /// The session cookie's value, to end the session with.
    token: String,
    pub t: &'static Texts,
}

impl LoggedIn {
    /// The frame of a page titled `title`, showing who is logged in.
    pub fn frame(&self, title: &'static str) -> Frame<'_> {
        Frame {
            admin: self.account.is_admin(),
            ..Frame::new(Some(&self.session), title)
        }
    }

    /// The page saying what went wrong.
    pub fn problem(&self, problem: Problem) -> Response {
        page::problem(self.t, Some(&self.session), problem)
    }
}

fn to_login() -> Response {
    Redirect::to(&format!("{BASE}/login")).into_response()
}

/// Where an account whose password someone else chose must go first.
pub const PASSWORD_PATH: &str = "/password";

/// Rejects with a redirect to the log-in page (303) when the request has no
/// live session or its account is gone, and to the password page while the
/// account still has a password someone else chose (an invitation's).
impl<S: Send + Sync + 'static> FromRequestParts<Arc<Dash<S>>> for LoggedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Arc<Dash<S>>) -> Result<Self, Response> {
        let t = Lang::from_headers(&parts.headers).texts();
        let token = cookie(&parts.headers, dash.host.cookie_name())
            .filter(|token| !token.is_empty() && token.len() <= 200)
            .ok_or_else(to_login)?
            .to_owned();
        let (session, account) = dash.host.session(token.clone()).await.ok_or_else(to_login)?;
        let path = parts.uri.path();
        if account.must_change_password && !path.ends_with(PASSWORD_PATH) && !path.ends_with("/logout") {
            return Err(Redirect::to(&format!("{BASE}{PASSWORD_PATH}")).into_response());
        }
        Ok(LoggedIn {
            session,
            account,
            token,
            t,
        })
    }
}

/// A form posted by a logged-in admin with the session's CSRF token in its
/// field `csrf`; `form` has the other fields. Rejects without a session like
/// [`LoggedIn`], and with 403 when the token is missing or wrong or the form
/// does not parse.
pub struct CsrfForm<F> {
    pub me: LoggedIn,
    pub form: F,
}

/// A form with no fields but the token.
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct WithCsrf<F> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: F,
}

impl<S, F> FromRequest<Arc<Dash<S>>> for CsrfForm<F>
where
    S: Send + Sync + 'static,
    F: DeserializeOwned + Send + 'static,
{
    type Rejection = Response;

    async fn from_request(req: Request, dash: &Arc<Dash<S>>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let me: LoggedIn = parts.extract_with_state(dash).await?;
        let form = Form::<WithCsrf<F>>::from_request(Request::from_parts(parts, body), dash).await;
        match form {
            Ok(Form(form)) if csrf_matches(&form.csrf, &me.session.csrf) => Ok(CsrfForm { me, form: form.fields }),
            // Past the body limit the token cannot even be read: say what
            // is wrong rather than blame the token.
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(me.problem(Problem::TooLarge)),
            _ => Err(me.problem(Problem::Forbidden)),
        }
    }
}

/// Whether `sent` is the session's CSRF token. Compared in constant time
/// (`subtle`, already in the build through the crypto crates) so the time an
/// answer takes does not tell a forger how much of a guessed token was
/// right. Only a length mismatch returns early, and the length is no secret:
/// every token the server issues has the same one.
fn csrf_matches(sent: &str, token: &str) -> bool {
    !token.is_empty() && bool::from(sent.as_bytes().ct_eq(token.as_bytes()))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: &'static Texts,
    frame: Frame<'static>,
    error: Option<&'static str>,
}

fn login_page(t: &'static Texts, status: StatusCode, error: Option<&'static str>) -> Response {
    let page = LoginPage {
        t,
        frame: Frame::new(None, t.login),
        error,
    };
    page::render(status, &page)
}

/// `GET /login`.
pub async fn login_form(lang: Lang) -> Response {
    login_page(lang.texts(), StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// `POST /login`: the server checks the credentials and opens the session.
pub async fn login<S: Send + Sync + 'static>(
    State(dash): St<S>,
    lang: Lang,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let t = lang.texts();
    let Ok(Form(form)) = form else {
        return login_page(t, StatusCode::UNPROCESSABLE_ENTITY, Some(t.wrong));
    };
    if form.username.len() > 200 || form.password.len() > 1024 {
        return login_page(t, StatusCode::UNAUTHORIZED, Some(t.wrong));
    }
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |Extension(ConnectInfo(p))| p.ip());
    let ip = dash.host.client_ip(peer, &headers);
    match dash.host.login(form.username, form.password, ip).await {
        LoginOutcome::Ok(cookies) => {
            let mut res = Redirect::to(&format!("{BASE}/")).into_response();
            for c in cookies {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            page::secure(&mut res);
            res
        }
        LoginOutcome::Wrong => login_page(t, StatusCode::UNAUTHORIZED, Some(t.wrong)),
        LoginOutcome::Limited => login_page(t, StatusCode::TOO_MANY_REQUESTS, Some(t.limited)),
        LoginOutcome::Unavailable => login_page(t, StatusCode::SERVICE_UNAVAILABLE, Some(t.unavailable)),
    }
}

/// `POST /logout`: ends the session, then the log-in page.
pub async fn logout<S: Store>(State(dash): St<S>, CsrfForm { me, .. }: CsrfForm<NoFields>) -> Response {
    let mut res = to_login();
    for c in dash.host.logout(me.token).await {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use axum::body::Body;
    use axum::http::HeaderValue;
    use consent_core::SiteId;

    use super::*;
    use crate::Host;
    use crate::host::BoxFuture;

    /// A server with one live session, cookie `s=live`, CSRF token `tok`.
    struct OneSession;

    impl Host for OneSession {
        fn cookie_name(&self) -> &'static str {
            "s"
        }
        fn login(&self, _: String, _: String, _: IpAddr) -> BoxFuture<'_, LoginOutcome> {
            Box::pin(async { LoginOutcome::Wrong })
        }
        fn session(&self, token: String) -> BoxFuture<'_, Option<(Session, Account)>> {
            Box::pin(async move {
                (token == "live").then(|| {
                    let session = Session {
                        username: "admin".into(),
                        csrf: "tok".into(),
                        expires_ms: u64::MAX,
                        epoch: 0,
                    };
                    let account = Account {
                        username: "admin".into(),
                        password_hash: String::new(),
                        role: consent_core::account::AccountRole::Admin,
                        sites: Default::default(),
                        must_change_password: false,
                        created_ms: 0,
                        session_epoch: 0,
                    };
                    (session, account)
                })
            })
        }
        fn logout(&self, _: String) -> BoxFuture<'_, Vec<HeaderValue>> {
            Box::pin(async { Vec::new() })
        }
        fn site_changed(&self, _: &SiteId) {}
    }

    /// Extracting from an in-memory body finishes on its first poll.
    fn at_once<F: Future>(f: F) -> F::Output {
        match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("the extractor waited"),
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Declare {
        cookie: String,
        #[serde(default)]
        platform: String,
    }

    fn posted<F: DeserializeOwned + Send + 'static>(
        cookie: Option<&str>,
        body: &str,
    ) -> Result<CsrfForm<F>, Box<Response>> {
        let dash = Arc::new(Dash {
            store: (),
            host: Arc::new(OneSession),
        });
        let mut req = Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        let req = req.body(Body::from(body.to_owned())).unwrap();
        at_once(CsrfForm::<F>::from_request(req, &dash)).map_err(Box::new)
    }

    fn refused<F>(res: Result<CsrfForm<F>, Box<Response>>) -> Box<Response> {
        res.err().expect("refused")
    }

    #[test]
    fn csrf_forms_need_the_session_and_its_token() {
        for cookie in [None, Some("s="), Some("s=dead")] {
            let res = refused(posted::<Declare>(cookie, "csrf=tok&cookie=_fbp"));
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(res.headers()[header::LOCATION], "/dashboard/login");
        }
        let live = Some("s=live");
        for body in ["cookie=_fbp", "csrf=&cookie=_fbp", "csrf=to&cookie=_fbp", "csrf=tok"] {
            let res = refused(posted::<Declare>(live, body));
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{body}");
            assert_eq!(
                res.headers()[header::CONTENT_SECURITY_POLICY]
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next(),
                Some("default-src 'none'")
            );
        }
        let ok = posted::<Declare>(live, "csrf=tok&cookie=_fbp&platform=meta").unwrap_or_else(|_| panic!("accepted"));
        assert_eq!(ok.me.session.username, "admin");
        assert_eq!(ok.me.token, "live");
        assert_eq!(
            ok.form,
            Declare {
                cookie: "_fbp".into(),
                platform: "meta".into()
            }
        );
        assert!(posted::<NoFields>(live, "csrf=tok").is_ok());
        // Past the body limit (here axum's default; the router sets its
        // own): "too large", not a token error.
        let huge = format!("csrf=tok&cookie={}", "x".repeat(3 << 20));
        assert_eq!(
            refused(posted::<Declare>(live, &huge)).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(refused(posted::<NoFields>(live, "")).status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        assert!(csrf_matches("abc123", "abc123"));
        assert!(!csrf_matches("abc124", "abc123"));
        assert!(!csrf_matches("abc12", "abc123"));
        assert!(!csrf_matches("", "abc123"));
        assert!(!csrf_matches("", ""), "a session without a token accepts nothing");
    }

    #[test]
    fn finds_the_session_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; kmk_session=tok; b=2".parse().unwrap());
        assert_eq!(cookie(&h, "kmk_session"), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
    }
}
