//! What several handlers take from a request, defined once: the site named
//! in the path (from the site cache), the CORS answer for a site's own
//! origins, the request body held to a limit, and the client's address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use consent_core::SiteId;
use consent_core::store::Site;
use ipnet::IpNet;

use crate::http::error::ApiError;
use crate::service::{AppState, Services};

/// The site named `site` in a public path, from the cache (public endpoints
/// are the hot path; owners' endpoints read the store, see
/// [`crate::service::config::existing_site`]). An unparsable id is a 404
/// like an unknown one.
pub async fn cached_site(app: &Services, site: &str) -> Result<(SiteId, Arc<Site>), ApiError> {
    let id = SiteId::parse(site).map_err(|_| ApiError::not_found("no such site"))?;
    let site = app
        .sites
        .site(&app.store, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such site"))?;
    Ok((id, site))
}

/// A site id from the path; one that cannot exist is simply not found.
pub fn site_id(s: &str) -> Result<SiteId, ApiError> {
    SiteId::parse(s).map_err(|_| ApiError::not_found("no such site"))
}

/// The request's Origin if the site allows it.
pub fn allowed_origin<'h>(site: &Site, headers: &'h HeaderMap) -> Result<&'h HeaderValue, ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .ok_or_else(|| ApiError::forbidden("an Origin header is required"))?;
    let allowed = origin
        .to_str()
        .is_ok_and(|o| site.allowed_origins.iter().any(|a| a == o));
    if allowed {
        Ok(origin)
    } else {
        Err(ApiError::forbidden("this origin may not record decisions for the site"))
    }
}

/// Adds the CORS answer: `Vary: Origin` always, the origin when allowed.
pub fn with_cors(mut res: Response, origin: Option<HeaderValue>) -> Response {
    let h = res.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    res
}

/// A request body as the `Bytes` extractor gave it, held to `limit`: over
/// the limit (caught by the body-limit layer or here) is a 413 naming
/// `limit`, any other extraction failure a 422.
pub fn body_within(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(limit)
        } else {
            ApiError::invalid("", r.body_text())
        }
    })?;
    if body.len() > limit {
        return Err(ApiError::too_large(limit));
    }
    Ok(body)
}

/// The client a request comes from: the TCP peer, or, when the peer is a
/// trusted proxy (`--trusted-proxy`), the nearest address in its forwarding
/// headers that is not itself a trusted proxy. Rate limits key on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(p)| p.ip())
            .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no peer address"))?;
        Ok(Self(client_ip(peer, &parts.headers, &app.settings.trusted_proxies)))
    }
}

/// See [`ClientIp`]. The hops are read right to left (each proxy appends
/// the address it received the request from), so a client cannot choose its
/// own address by sending a forged header: only what a trusted proxy added
/// is believed. `Forwarded` (RFC 7239 section 4) is read when present,
/// otherwise `X-Forwarded-For`. A hop that does not parse ends the walk at
/// the last trusted proxy, so everyone behind a misbehaving proxy shares one
/// budget rather than choosing their own.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.eq_ignore_ascii_case("for").then_some(v.trim())
            })
        })
        .collect();
    let hops: Vec<&str> = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect()
    } else {
        forwarded
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
            None => return client,
        }
    }
    client
}

/// One hop: `192.0.2.1`, `"[2001:db8::1]:4711"`, `192.0.2.1:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.7")]);
        // Not from a trusted proxy: the header is the client's own claim.
        let stranger: IpAddr = "192.0.2.44".parse().unwrap();
        assert_eq!(client_ip(stranger, &h, &trusted), stranger);
        // From the proxy: the rightmost hop it added, not the client's forgery on the left.
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Chained trusted proxies are skipped.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, 10.0.0.9")]);
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // No header: the proxy itself.
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        // Garbage from the proxy: stop at the last trusted hop.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, bogus")]);
        assert_eq!(client_ip(proxy, &h, &trusted), proxy);
        // Nothing trusted: the peer, always.
        assert_eq!(client_ip(proxy, &h, &[]), proxy);
    }

    #[test]
    fn forwarded_is_read_when_present() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        let h = headers(&[
            (
                "forwarded",
                r#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711""#,
            ),
            ("x-forwarded-for", "203.0.113.1"),
        ]);
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "2001:db8:cafe::17".parse::<IpAddr>().unwrap()
        );
        assert_eq!(parse_hop("192.0.2.1:80"), Some("192.0.2.1".parse().unwrap()));
    }
}
