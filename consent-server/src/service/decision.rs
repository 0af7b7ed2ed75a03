//! Recording a visitor's decision: the hot path, and the one use case every
//! visitor triggers.
//!
//! [`admit`] applies the rate limits before the body is even parsed; then
//! [`record`] validates the request against the configuration version it
//! names, authenticates a returning visitor (consent id + secret) or issues
//! a new consent id, seals the personal fields under the visitor's own key,
//! appends the record durably, and waits for the log's signed receipt.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consent_core::store::{Append, DecisionStore, NewVisitor};
use consent_core::{ConsentId, DecisionRecord, DecisionRequest, SiteId};
use rand::RngCore as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Error, Services};
use crate::log::Receipt;

/// A recorded decision, as the widget receives it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Recorded {
    /// The visitor's consent id (new or the one sent).
    pub consent_id: String,
    /// Present only for a new visitor: keep it with the consent id; it is
    /// needed to change, withdraw or look up the decisions later. Shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The decision's index in the transparency log.
    pub index: u64,
    /// When the server accepted the decision (Unix milliseconds).
    pub time_ms: u64,
    /// The log's signed promise to include the decision, once the log issues them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub receipt: Option<Receipt>,
}

/// The per-client and per-site rate limits, checked before any work.
pub fn admit(app: &Services, site: &SiteId, client: IpAddr, now_ms: u64) -> Result<(), Error> {
    Ok(app
        .limits
        .check_decision(&app.limits.client_key(client, now_ms), site)?)
}

/// Records `request` for `site` at `now_ms`. `user_agent` becomes only a
/// coarse browser summary (never stored as sent).
pub async fn record(
    app: &Services,
    site: SiteId,
    request: DecisionRequest,
    user_agent: Option<&str>,
    now_ms: u64,
) -> Result<Recorded, Error> {
    let config = app
        .sites
        .config(&app.store, &site, &request.config_version)
        .await?
        .ok_or_else(|| Error::invalid("config_version", "unknown configuration version for this site"))?;
    let returning = request.consent_id.clone().zip(request.secret.clone());
    let decision = request
        .validate(&config)
        .map_err(|e| Error::invalid(e.field, e.message))?;

    // Everything random about this decision, from the thread's CSPRNG
    // (ChaCha12, seeded from the OS and reseeded every 64 KiB), as ids and
    // keys need: a `getrandom` system call per decision is dear in a
    // virtual machine.
    let mut random = [0u8; 16 + 32 + 32 + 24];
    rand::thread_rng().fill_bytes(&mut random);
    let (id_bytes, rest) = random.split_at(16);
    let (secret_bytes, rest) = rest.split_at(32);
    let (key_bytes, nonce) = rest.split_at(32);

    let (consent_id, key, new_visitor, secret) = match returning {
        Some((consent_id, secret)) => {
            let visitor = app.store.visitor(&site, &consent_id).await?;
            let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
            match visitor {
                Some(v) if v.secret_sha256 == hash => {
                    let key = v
                        .sealing_key
                        .ok_or_else(|| Error::Forbidden("this consent id was erased; start a new one".into()))?;
                    (consent_id, key, None, None)
                }
                _ => return Err(Error::Forbidden("consent_id and secret do not match".into())),
            }
        }
        None => {
            let consent_id = app
                .store
                .issue_consent_id()
                .unwrap_or_else(|| ConsentId::from_random(id_bytes.try_into().expect("16 bytes")));
            let secret = URL_SAFE_NO_PAD.encode(secret_bytes);
            let key: [u8; 32] = key_bytes.try_into().expect("32 bytes");
            let new = NewVisitor {
                secret_sha256: Sha256::digest(secret.as_bytes()).into(),
                sealing_key: key,
            };
            (consent_id, key, Some(new), Some(secret))
        }
    };
    let browser = user_agent.and_then(crate::browser::summary);
    let record = DecisionRecord::seal(
        site.clone(),
        consent_id.clone(),
        now_ms,
        decision,
        browser,
        &key,
        nonce.try_into().expect("24 bytes"),
    );
    let leaf = record.canonical_bytes();
    let index = app
        .store
        .append(Append {
            site,
            consent_id: consent_id.clone(),
            time_ms: now_ms,
            leaf: leaf.clone(),
            new_visitor,
            visitor_cap: Some(app.settings.max_visitor_decisions),
        })
        .await?;
    app.metrics.decisions.inc();
    let receipt = app.log.appended(index, &leaf, now_ms).await;
    Ok(Recorded {
        consent_id: consent_id.to_string(),
        secret,
        index,
        time_ms: now_ms,
        receipt,
    })
}
