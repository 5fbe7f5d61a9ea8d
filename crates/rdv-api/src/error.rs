//! The one API error type. Each code maps to its HTTP status in a single table; the body is
//! `{"error": code, "message": ..., "fields": {...}}`. A 5xx says nothing internal: the detail
//! goes to the log, once, here.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use rdv_app::AppError;
use rdv_db::DbError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    ValidationFailed,
    Unauthorized,
    InvalidCredentials,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    TooManyRequests,
    DatabaseUnavailable,
    UpstreamUnavailable,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest | ErrorCode::InvalidJson => StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The error body every endpoint answers with.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorCode,
    pub message: String,
    /// Offending input fields (dotted paths) and what is wrong with each.
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    fields: BTreeMap<String, String>,
    retry_after_seconds: Option<i64>,
    /// The methods the resource answers, for a 405.
    allow: Option<String>,
    /// What went wrong inside, for the log only.
    internal: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: BTreeMap::new(),
            retry_after_seconds: None,
            allow: None,
            internal: None,
        }
    }

    /// An error with the offending fields named.
    pub fn with_fields(
        code: ErrorCode,
        message: impl Into<String>,
        fields: BTreeMap<String, String>,
    ) -> Self {
        Self {
            fields,
            ..Self::new(code, message)
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Refused input as a plain 400: what a machine caller (the payment provider's webhook)
    /// gets, rather than a form's 422.
    pub fn as_bad_request(mut self) -> Self {
        if self.code == ErrorCode::ValidationFailed {
            self.code = ErrorCode::BadRequest;
        }
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn method_not_allowed(allow: &str) -> Self {
        Self {
            allow: Some(allow.to_owned()),
            ..Self::new(
                ErrorCode::MethodNotAllowed,
                format!("this resource answers {allow} only"),
            )
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// Invalid input in one field, in the body or the query string alike.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::with_fields(
            ErrorCode::ValidationFailed,
            "the request has invalid fields",
            BTreeMap::from([(field.into(), message.into())]),
        )
    }

    pub fn internal(detail: impl fmt::Display) -> Self {
        Self {
            internal: Some(detail.to_string()),
            ..Self::new(ErrorCode::Internal, "internal error")
        }
    }

    /// Maps a database error, naming `what` was looked for when nothing was found.
    pub fn from_db(what: &str, e: DbError) -> Self {
        AppError::from_db(what, e).into()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        match e {
            AppError::Invalid { message, fields } => {
                Self::with_fields(ErrorCode::ValidationFailed, message, fields)
            }
            AppError::NotFound(_) => Self::new(ErrorCode::NotFound, message),
            AppError::Forbidden(m) => Self::new(ErrorCode::Forbidden, m),
            AppError::Conflict { message, fields } => {
                Self::with_fields(ErrorCode::Conflict, message, fields)
            }
            AppError::Unauthenticated(m) => Self::new(ErrorCode::Unauthorized, m),
            AppError::InvalidCredentials => Self::new(ErrorCode::InvalidCredentials, message),
            AppError::TooManyRequests {
                message,
                retry_after_seconds,
            } => Self {
                retry_after_seconds: Some(retry_after_seconds),
                ..Self::new(ErrorCode::TooManyRequests, message)
            },
            AppError::Unavailable(detail) => Self {
                internal: Some(detail),
                ..Self::new(ErrorCode::DatabaseUnavailable, message)
            },
            AppError::Upstream(detail) => Self {
                internal: Some(detail),
                ..Self::new(ErrorCode::UpstreamUnavailable, message)
            },
            AppError::Internal(detail) => Self::internal(detail),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        AppError::from(e).into()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.code.status();
        if status.is_server_error() {
            tracing::error!(error.code = ?self.code, error.detail = self.internal.as_deref().unwrap_or(""), "request failed");
        }
        let mut resp = HttpResponse::build(status);
        if let Some(s) = self.retry_after_seconds {
            resp.insert_header((header::RETRY_AFTER, s.max(1).to_string()));
        }
        if let Some(allow) = &self.allow {
            resp.insert_header((header::ALLOW, allow.clone()));
        }
        if self.code == ErrorCode::Unauthorized {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        resp.json(ErrorBody {
            error: self.code,
            message: self.message.clone(),
            fields: self.fields.clone(),
        })
    }
}

pub use rdv_app::FieldErrors;
