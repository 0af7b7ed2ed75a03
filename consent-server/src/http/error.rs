//! The one error shape every endpoint answers with: `{error, field, message}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::store::StoreError;
use serde::Serialize;

/// An error answer. `error` is a stable machine-readable code, `field` names
/// the offending input field where there is one.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub field: Option<String>,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

/// The JSON body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable code: `not_found`, `invalid`, `forbidden`, `too_large`, ...
    pub error: String,
    /// The offending field (a `/`-separated path), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            field: None,
            message: message.into(),
            retry_after_secs: None,
        }
    }
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field: String = field.into();
        Self {
            field: (!field.is_empty()).then_some(field),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body may be at most {limit} bytes"),
        )
    }
    pub fn rate_limited(retry_after_secs: u64, what: &str) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests {what}"),
            )
        }
    }
    pub fn unavailable() -> Self {
        Self {
            retry_after_secs: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "storage is unavailable; nothing was recorded, try again",
            )
        }
    }

    /// Parses JSON, naming the failing field (`categories/analytics`) in the 422.
    pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
        // The plain parse is the common case and the cheaper one; the
        // path-tracking parse runs only to explain a refusal.
        let plain_error = match serde_json::from_slice(body) {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        let de = &mut serde_json::Deserializer::from_slice(body);
        let tracked: Result<T, _> = serde_path_to_error::deserialize(de);
        // Parsed when tracked: the only fault was after the value (trailing characters).
        let Err(e) = tracked else {
            return Err(ApiError::invalid("", plain_error.to_string()));
        };
        let path = e.path().to_string();
        let inner = e.into_inner();
        let mut field = if path == "." {
            String::new()
        } else {
            path.replace('.', "/")
        };
        let message = inner.to_string();
        // serde reports a missing field at its parent; name the field itself.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            field = if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}/{name}")
            };
        }
        Err(ApiError::invalid(field, message))
    }
}

impl From<crate::limits::Limited> for ApiError {
    fn from(e: crate::limits::Limited) -> Self {
        use crate::limits::Limited;
        match e {
            Limited::Rate { retry_after_secs, what } => Self::rate_limited(retry_after_secs, what),
            Limited::Busy => Self {
                retry_after_secs: Some(1),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string())
            },
            Limited::TooManyJobs { .. } => Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_jobs", e.to_string()),
        }
    }
}

impl From<crate::service::Error> for ApiError {
    fn from(e: crate::service::Error) -> Self {
        use crate::service::Error;
        match e {
            Error::NotFound(m) => Self::not_found(m),
            Error::Forbidden(m) => Self::forbidden(m),
            Error::Unauthorized(m) => Self::unauthorized(m),
            Error::Invalid { field, message } => Self::invalid(field, message),
            Error::Limited(l) => l.into(),
            Error::NotConfigured(m) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "scan_queue_not_configured", m),
            Error::QueueUnavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the scan queue is unavailable; nothing was queued, try again",
            ),
            Error::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, source = ?std::error::Error::source(&detail), "storage unavailable");
                Self::unavailable()
            }
            StoreError::Conflict(what) => Self::new(StatusCode::CONFLICT, "conflict", format!("{what} exists already")),
            StoreError::NotFound(what) => Self::not_found(format!("{what} does not exist")),
            StoreError::LimitReached(what) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "limit_reached", what),
            StoreError::Corrupt(detail) => {
                tracing::error!(%detail, "corrupt data in storage");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "stored data could not be read",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error.to_owned(),
            field: self.field,
            message: self.message,
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}
