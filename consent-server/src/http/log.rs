//! The log's HTTP endpoints. Thin: each checks its input and asks
//! [`LogInner`] or the store.
//!
//! Public (anyone, for verifiers and monitors):
//! - `GET /.well-known/keurmerk-log-key`: the verifier key, C2SP form
//!   `<name>+<key id>+<base64 key>`; the name is the checkpoints' origin.
//! - `GET /api/v1/log/checkpoint`: the latest signed checkpoint.
//! - `GET /api/v1/log/inclusion?index=I&size=N` and
//!   `GET /api/v1/log/consistency?old=M&new=N`: proofs, one standard-base64
//!   hash per line (RFC 9162 order).
//!
//! Owner (API key with `decisions:read`, or admin):
//! - `GET /api/v1/log/leaves/{index}`: the record at a leaf of their site.
//! - `GET /api/v1/owner/sites/{site}/proofs/{consent_id}`: proof bundles.
//!
//! Visitor (consent id + the secret their widget holds, in `X-Keurmerk-Secret`):
//! - `GET /api/v1/sites/{site}/visitors/{consent_id}`: their decisions, decrypted.
//! - `GET /api/v1/sites/{site}/visitors/{consent_id}/proofs`: proof bundles.
//! - `DELETE /api/v1/sites/{site}/visitors/{consent_id}`: erasure.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::store::{DecisionQuery, DecisionStore, LoggedDecision, Scope};
use consent_core::tlog_proof::{ProofBundle, TlogProof, format_hash_lines};
use consent_core::visitor_request::VisitorDecision;
use consent_core::{ConsentId, PersonalFields, SiteId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Principal;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ClientIp, allowed_origin, cached_site};
use crate::log::LogInner;
use crate::service::AppState;

pub const SECRET_HEADER: &str = "x-keurmerk-secret";
/// A visitor's decisions returned at most (access, proofs).
pub const MAX_VISITOR_DECISIONS: usize = 1000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verifier_key))
        .routes(routes!(checkpoint))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(leaf))
        .routes(routes!(owner_proofs))
        .routes(routes!(visitor_decisions, erase, visitor_preflight))
        .routes(routes!(visitor_proofs, visitor_proofs_preflight))
}

fn log(app: &AppState) -> Result<&LogInner, ApiError> {
    app.log.inner().map(|l| &**l).ok_or_else(ApiError::unavailable)
}

fn text(body: String) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn latest(log: &LogInner) -> Result<(u64, String), ApiError> {
    log.checkpoint().await?.ok_or_else(|| {
        let mut e = ApiError::unavailable();
        e.message = "the log has not published its first checkpoint yet".into();
        e
    })
}

#[utoipa::path(get, path = "/.well-known/keurmerk-log-key", tag = "log",
    responses((status = 200, description = "The log's verifier key in C2SP signed-note form `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 key)>`; the name is the origin line of every checkpoint", content_type = "text/plain")))]
pub async fn verifier_key(State(app): State<AppState>) -> Result<Response, ApiError> {
    let log = log(&app)?;
    Ok(text(format!("{}\n", log.signer.verifier())))
}

#[utoipa::path(get, path = "/api/v1/log/checkpoint", tag = "log",
    responses(
        (status = 200, description = "The latest checkpoint: a C2SP tlog-checkpoint (origin, tree size, base64 root) as a C2SP signed note, Ed25519, verifiable with the key at /.well-known/keurmerk-log-key. A new one is published at least every second while decisions arrive.", content_type = "text/plain"),
        (status = 503, description = "No checkpoint yet, or storage unavailable", body = ErrorBody),
    ))]
pub async fn checkpoint(State(app): State<AppState>) -> Result<Response, ApiError> {
    let (_, note) = latest(log(&app)?).await?;
    Ok(text(note))
}

#[derive(Deserialize, IntoParams)]
pub struct InclusionParams {
    /// Leaf index (0-based).
    pub index: u64,
    /// Tree size, at most the latest checkpoint's.
    pub size: u64,
}

#[utoipa::path(get, path = "/api/v1/log/inclusion", tag = "log", params(InclusionParams),
    responses(
        (status = 200, description = "RFC 9162 inclusion proof: one standard-base64 SHA-256 hash per line, leaf's sibling first", content_type = "text/plain"),
        (status = 422, description = "index ≥ size, or size beyond the latest checkpoint", body = ErrorBody),
    ))]
pub async fn inclusion(
    State(app): State<AppState>,
    q: Result<Query<InclusionParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let log = log(&app)?;
    let (published, _) = latest(log).await?;
    if q.size > published {
        return Err(ApiError::invalid(
            "size",
            format!("the latest checkpoint has size {published}"),
        ));
    }
    if q.index >= q.size {
        return Err(ApiError::invalid("index", "must be below size"));
    }
    Ok(text(format_hash_lines(&log.inclusion(q.index, q.size).await?)))
}

#[derive(Deserialize, IntoParams)]
pub struct ConsistencyParams {
    /// The older tree size.
    pub old: u64,
    /// The newer tree size, at most the latest checkpoint's.
    pub new: u64,
}

#[utoipa::path(get, path = "/api/v1/log/consistency", tag = "log", params(ConsistencyParams),
    responses(
        (status = 200, description = "RFC 9162 consistency proof from `old` to `new`: one standard-base64 hash per line (empty when old is 0 or equals new)", content_type = "text/plain"),
        (status = 422, description = "old > new, or new beyond the latest checkpoint", body = ErrorBody),
    ))]
pub async fn consistency(
    State(app): State<AppState>,
    q: Result<Query<ConsistencyParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let log = log(&app)?;
    let (published, _) = latest(log).await?;
    if q.new > published {
        return Err(ApiError::invalid(
            "new",
            format!("the latest checkpoint has size {published}"),
        ));
    }
    if q.old > q.new {
        return Err(ApiError::invalid("old", "must not exceed new"));
    }
    Ok(text(format_hash_lines(&log.consistency(q.old, q.new).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct LeafView {
    pub index: u64,
    /// Standard base64 of SHA-256(0x00 ‖ record bytes).
    pub leaf_hash: String,
    /// Standard base64 of the record's canonical (RFC 8785) bytes: the leaf.
    pub record_bytes: String,
    #[schema(value_type = crate::http::docs::DecisionRecordDoc)]
    pub record: consent_core::DecisionRecord,
}

#[utoipa::path(get, path = "/api/v1/log/leaves/{index}", tag = "log",
    params(("index" = u64, Path, description = "Leaf index")),
    responses(
        (status = 200, description = "The record at this leaf (owners see their own site's leaves only)", body = LeafView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such leaf, or not one of the caller's site", body = ErrorBody),
        (status = 422, description = "The index is not a non-negative integer", body = ErrorBody),
    ),
    security(("api_key" = ["decisions:read"]), ("session" = [])))]
pub async fn leaf(
    State(app): State<AppState>,
    who: Principal,
    index: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<LeafView>, ApiError> {
    // axum's own rejection is a plain-text 400 the contract does not know.
    let Path(index) = index.map_err(|e| ApiError::invalid("index", e.body_text()))?;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let bytes = app
        .store
        .leaves(index..index.saturating_add(1))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("no such leaf"))?;
    let record = match consent_core::DecisionRecord::from_canonical_bytes(&bytes) {
        Ok(r) => r,
        // Not a decision but a scan's attestation: public, served with its
        // proof at /s/{site}/attestation, not here.
        Err(_) if consent_core::attestation::Attestation::from_canonical_bytes(&bytes).is_ok() => {
            return Err(ApiError::not_found("no such leaf"));
        }
        Err(e) => return Err(ApiError::from(consent_core::store::StoreError::corrupt(e))),
    };
    // Another site's leaf looks exactly like a missing one.
    if who.require(&record.site, Scope::DecisionsRead).is_err() {
        return Err(ApiError::not_found("no such leaf"));
    }
    Ok(Json(LeafView {
        index,
        leaf_hash: STANDARD.encode(consent_core::merkle::leaf_hash(&bytes)),
        record_bytes: STANDARD.encode(&bytes),
        record,
    }))
}

async fn decisions_of(app: &AppState, site: &SiteId, consent: &ConsentId) -> Result<Vec<LoggedDecision>, ApiError> {
    let q = DecisionQuery {
        consent_id: Some(consent.clone()),
        limit: MAX_VISITOR_DECISIONS,
        ..Default::default()
    };
    Ok(app.store.decisions(site, &q).await?)
}

/// A page of a visitor's own decisions, newest first.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitorPage {
    /// Decisions per page, 1-1000 [default: 100].
    pub limit: Option<usize>,
    /// Only decisions with a log index below this one: the previous page's
    /// `next_before` (or `Keurmerk-Next-Before` header).
    pub before: Option<u64>,
}

/// The newest decisions of a visitor (below `page.before`), reading only
/// the rows returned, and the cursor of the next page if there may be one.
async fn page_of(
    app: &AppState,
    site: &SiteId,
    consent: &ConsentId,
    page: Result<Query<VisitorPage>, axum::extract::rejection::QueryRejection>,
) -> Result<(Vec<LoggedDecision>, Option<u64>), ApiError> {
    let Query(page) = page.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=MAX_VISITOR_DECISIONS).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("between 1 and {MAX_VISITOR_DECISIONS}"),
        ));
    }
    let q = DecisionQuery {
        consent_id: Some(consent.clone()),
        newest_first: true,
        before: page.before,
        limit,
        ..Default::default()
    };
    let decisions = app.store.decisions(site, &q).await?;
    let next = (decisions.len() == limit)
        .then(|| decisions.last().map(|d| d.index))
        .flatten();
    Ok((decisions, next))
}

/// The header carrying the next page's cursor where the body is an array.
const NEXT_BEFORE: &str = "keurmerk-next-before";

/// Bundles for every decision already in the latest checkpoint; a
/// `Retry-After: 1` header says more are pending.
async fn bundles(app: &AppState, decisions: Vec<LoggedDecision>) -> Result<Response, ApiError> {
    let log = log(app)?;
    let (size, note) = latest(log).await?;
    let mut out = Vec::with_capacity(decisions.len());
    let mut pending = false;
    for d in decisions {
        if d.index >= size {
            pending = true;
            continue;
        }
        let proof = TlogProof {
            extra: None,
            index: d.index,
            path: log.inclusion(d.index, size).await?,
            checkpoint: note.clone(),
        };
        out.push(ProofBundle::new(&d.record.canonical_bytes(), &proof));
    }
    let mut res = Json(out).into_response();
    if pending {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Ok(res)
}

fn parse_ids(site: &str, consent: &str) -> Result<(SiteId, ConsentId), ApiError> {
    let site = SiteId::parse(site).map_err(|_| ApiError::not_found("no such site"))?;
    let consent = ConsentId::parse(consent).map_err(|_| ApiError::not_found("no such consent id"))?;
    Ok((site, consent))
}

#[utoipa::path(get, path = "/api/v1/owner/sites/{site}/proofs/{consent_id}", tag = "owner",
    params(("site" = String, Path, description = "Site id"), ("consent_id" = String, Path, description = "Consent id")),
    responses(
        (status = 200, description = "A JSON array of proof bundles `{record: base64 canonical bytes, proof: tlog-proof@v1 text}`, one per decision already in a checkpoint; `keurmerk-verify proof` checks them offline. `Retry-After` is set when newer decisions are not yet checkpointed."),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No `decisions:read` on this site", body = ErrorBody),
        (status = 404, description = "A malformed site or consent id", body = ErrorBody),
    ),
    security(("api_key" = ["decisions:read"]), ("session" = [])))]
pub async fn owner_proofs(
    State(app): State<AppState>,
    who: Principal,
    Path((site, consent)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (site, consent) = parse_ids(&site, &consent)?;
    who.require(&site, Scope::DecisionsRead)?;
    let decisions = decisions_of(&app, &site, &consent).await?;
    bundles(&app, decisions).await
}

/// The widget calls the visitor endpoints from the site's own pages: answer
/// with CORS headers when the request's Origin is one the site allows.
async fn cors(app: &AppState, site: &str, headers: &HeaderMap, mut res: Response) -> Response {
    let origin = match cached_site(app, site).await {
        Ok((_, site)) => allowed_origin(&site, headers).ok().cloned(),
        Err(_) => None,
    };
    let h = res.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(NEXT_BEFORE),
        );
    }
    res
}

async fn preflight(app: &AppState, site: &str, headers: &HeaderMap, methods: &'static str) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(SECRET_HEADER),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    cors(app, site, headers, res).await
}

#[utoipa::path(options, path = "/api/v1/sites/{site}/visitors/{consent_id}", tag = "public",
    params(("site" = String, Path, description = "Site id"), ("consent_id" = String, Path, description = "Consent id")),
    responses((status = 204, description = "CORS preflight: GET and DELETE with X-Keurmerk-Secret from the site's allowed origins")))]
pub async fn visitor_preflight(
    State(app): State<AppState>,
    Path((site, _consent)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    preflight(&app, &site, &headers, "GET, DELETE").await
}

#[utoipa::path(options, path = "/api/v1/sites/{site}/visitors/{consent_id}/proofs", tag = "public",
    params(("site" = String, Path, description = "Site id"), ("consent_id" = String, Path, description = "Consent id")),
    responses((status = 204, description = "CORS preflight: GET with X-Keurmerk-Secret from the site's allowed origins")))]
pub async fn visitor_proofs_preflight(
    State(app): State<AppState>,
    Path((site, _consent)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    preflight(&app, &site, &headers, "GET").await
}

/// Checks the visitor's secret; any mismatch or unknown id is the same 403.
async fn visitor_auth(
    app: &AppState,
    site: &str,
    consent: &str,
    headers: &HeaderMap,
) -> Result<(SiteId, ConsentId, Option<[u8; 32]>), ApiError> {
    let denied = || ApiError::forbidden("consent_id and secret do not match");
    let (site, _) = cached_site(app, site).await?;
    let consent = ConsentId::parse(consent).map_err(|_| denied())?;
    let secret = headers
        .get(SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| s.len() <= 256)
        .ok_or_else(|| ApiError::unauthorized(format!("send the visitor's secret in {SECRET_HEADER}")))?;
    let visitor = app.store.visitor(&site, &consent).await?.ok_or_else(denied)?;
    let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    // Compare without an early exit.
    if hash
        .iter()
        .zip(visitor.secret_sha256)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        != 0
    {
        return Err(denied());
    }
    Ok((site, consent, visitor.sealing_key))
}

/// A visitor's decision as this endpoint and the dashboard's export of a
/// visitor's records give it: `consent_core::visitor_request::VisitorDecision`
/// (one definition); this type only documents it in the OpenAPI document.
#[derive(Serialize, ToSchema)]
#[schema(as = VisitorDecision)]
pub struct VisitorDecisionDoc {
    pub index: u64,
    #[schema(value_type = crate::http::docs::DecisionRecordDoc)]
    pub record: consent_core::DecisionRecord,
    /// The sealed personal fields, decrypted; absent once erased.
    #[schema(value_type = Option<Object>)]
    pub personal: Option<PersonalFields>,
}

#[derive(Serialize, ToSchema)]
pub struct VisitorData {
    pub consent_id: String,
    /// True once the visitor erased their personal fields.
    pub erased: bool,
    /// Newest first.
    #[schema(value_type = Vec<VisitorDecisionDoc>)]
    pub decisions: Vec<VisitorDecision>,
    /// The `before` of the next (older) page, when there may be one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/visitors/{consent_id}", tag = "public",
    params(("site" = String, Path, description = "Site id"), ("consent_id" = String, Path, description = "Consent id"),
        ("x-keurmerk-secret" = String, Header, description = "The secret given with the consent id"), VisitorPage),
    responses(
        (status = 200, description = "The visitor's decisions with their personal fields decrypted (right of access), newest first, a page at a time", body = VisitorData),
        (status = 401, description = "No secret sent", body = ErrorBody),
        (status = 403, description = "Consent id and secret do not match", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 422, description = "`limit` out of range or a malformed query", body = ErrorBody),
    ))]
pub async fn visitor_decisions(
    State(app): State<AppState>,
    Path((site, consent)): Path<(String, String)>,
    page: Result<Query<VisitorPage>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let res = visitor_decisions_inner(&app, &site, &consent, page, &headers).await;
    cors(
        &app,
        &site,
        &headers,
        res.map_or_else(IntoResponse::into_response, IntoResponse::into_response),
    )
    .await
}

async fn visitor_decisions_inner(
    app: &AppState,
    site: &str,
    consent: &str,
    page: Result<Query<VisitorPage>, axum::extract::rejection::QueryRejection>,
    headers: &HeaderMap,
) -> Result<Json<VisitorData>, ApiError> {
    let (site, consent, key) = visitor_auth(app, site, consent, headers).await?;
    let (decisions, next_before) = page_of(app, &site, &consent, page).await?;
    let decisions = decisions
        .into_iter()
        .map(|d| VisitorDecision::open(d, key.as_ref()))
        .collect();
    Ok(Json(VisitorData {
        consent_id: consent.to_string(),
        erased: key.is_none(),
        decisions,
        next_before,
    }))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/visitors/{consent_id}/proofs", tag = "public",
    params(("site" = String, Path, description = "Site id"), ("consent_id" = String, Path, description = "Consent id"),
        ("x-keurmerk-secret" = String, Header, description = "The secret given with the consent id"), VisitorPage),
    responses(
        (status = 200, description = "A JSON array of proof bundles for the visitor's decisions already in a checkpoint, newest first, a page at a time (see the owner variant); `Keurmerk-Next-Before` gives the next page's `before`"),
        (status = 401, description = "No secret sent", body = ErrorBody),
        (status = 403, description = "Consent id and secret do not match", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 422, description = "`limit` out of range or a malformed query", body = ErrorBody),
    ))]
pub async fn visitor_proofs(
    State(app): State<AppState>,
    Path((site, consent)): Path<(String, String)>,
    page: Result<Query<VisitorPage>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let res = async {
        let (site, consent, _) = visitor_auth(&app, &site, &consent, &headers).await?;
        let (decisions, next) = page_of(&app, &site, &consent, page).await?;
        let mut res = bundles(&app, decisions).await?;
        if let Some(next) = next {
            res.headers_mut().insert(NEXT_BEFORE, HeaderValue::from(next));
        }
        Ok::<_, ApiError>(res)
    }
    .await;
    cors(&app, &site, &headers, res.unwrap_or_else(IntoResponse::into_response)).await
}

#[utoipa::path(delete, path = "/api/v1/sites/{site}/visitors/{consent_id}", tag = "public",
    params(("site" = String, Path, description = "Site id"), ("consent_id" = String, Path, description = "Consent id"),
        ("x-keurmerk-secret" = String, Header, description = "The secret given with the consent id")),
    responses(
        (status = 204, description = "Erased: the key sealing the visitor's personal fields is destroyed. The records stay in the log as ciphertext, so every proof still verifies; this consent id cannot record new decisions."),
        (status = 401, description = "No secret sent", body = ErrorBody),
        (status = 403, description = "Consent id and secret do not match", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 429, description = "Too many erasures from this client (see Retry-After)", body = ErrorBody),
    ))]
pub async fn erase(
    State(app): State<AppState>,
    Path((site, consent)): Path<(String, String)>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
) -> Response {
    let res = async {
        app.limits
            .check_erasure(&app.limits.client_key(client, crate::clock::now_ms()))?;
        let (site, consent, _) = visitor_auth(&app, &site, &consent, &headers).await?;
        log(&app)?;
        crate::service::erasure::erase(&app, &site, &consent).await?;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    cors(&app, &site, &headers, res.unwrap_or_else(IntoResponse::into_response)).await
}
