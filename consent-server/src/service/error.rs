//! What a use case can refuse, in the caller's terms. The HTTP layer maps
//! each variant to a status and a stable error code; the dashboard to a
//! message.

use consent_core::store::StoreError;

use crate::limits::Limited;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked about does not exist (or is not the caller's to see).
    #[error("{0}")]
    NotFound(String),
    /// Known caller, not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Wrong or missing credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Input the rules refuse; `field` names it (a `/`-separated path, or
    /// empty when the input as a whole is wrong).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A rate limit or quota was reached.
    #[error(transparent)]
    Limited(#[from] Limited),
    /// A feature this server runs without (e.g. no scan queue).
    #[error("{0}")]
    NotConfigured(&'static str),
    /// The scan queue is down; nothing was queued.
    #[error("the scan queue is unavailable: {0}")]
    QueueUnavailable(String),
    /// Storage failed (unavailable, conflict, corrupt).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
