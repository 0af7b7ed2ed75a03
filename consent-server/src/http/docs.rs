//! Schemas for the OpenAPI document of types that live in `consent-core`
//! and have no schema there. The tests check that real values of the core
//! types validate against these schemas, so they cannot drift apart
//! silently. The site configuration (`consent_core::SiteConfig` and what
//! it holds) needs no copy: with its `openapi` feature, which this server
//! turns on, consent-core derives its schema from the very types serde
//! reads.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// How the visitor arrived at the decision.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MethodDoc {
    AcceptAll,
    RejectAll,
    Custom,
    Withdrawal,
    Gpc,
}

/// A visitor's decision as the widget sends it (`consent_core::DecisionRequest`).
#[derive(Serialize, ToSchema)]
#[schema(title = "DecisionRequest")]
pub struct DecisionRequestDoc {
    /// A returning visitor's consent id (32 lowercase hex); needs `secret`.
    pub consent_id: Option<String>,
    /// The secret handed out with the consent id.
    pub secret: Option<String>,
    /// The configuration version the visitor saw.
    pub config_version: String,
    pub method: MethodDoc,
    /// Category id -> granted; categories left out are refused.
    pub categories: BTreeMap<String, bool>,
    /// Service id -> granted, where the visitor chose per service.
    pub services: Option<BTreeMap<String, bool>>,
    pub language: String,
    /// The page's path, without query string or fragment.
    pub page_path: String,
    /// Whether the browser sent Global Privacy Control.
    pub gpc: Option<bool>,
}

/// A stored decision record (`consent_core::DecisionRecord`); its RFC 8785
/// canonical JSON is the log's leaf.
#[derive(Serialize, ToSchema)]
#[schema(title = "DecisionRecord")]
pub struct DecisionRecordDoc {
    pub v: u32,
    pub site: String,
    pub consent_id: String,
    pub time_ms: u64,
    pub config_version: String,
    pub method: MethodDoc,
    pub categories: BTreeMap<String, bool>,
    pub services: BTreeMap<String, bool>,
    pub language: String,
    pub gpc: bool,
    /// Personal fields, encrypted under the visitor's key (base64url).
    pub sealed: String,
}
