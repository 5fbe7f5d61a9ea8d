//! Request extraction that turns every malformed input into a 4xx naming what is wrong:
//! bodies are JSON of at most 256 KiB, decoded with the path of the offending field.

use crate::error::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A JSON body decoded into `T`; unknown fields and wrong types name the field.
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            })
            .unwrap_or(false);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "the body must be JSON (Content-Type: application/json)",
                ));
            }
            let bytes = bytes.await.map_err(|e| {
                if matches!(
                    e.as_error::<actix_web::error::PayloadError>(),
                    Some(actix_web::error::PayloadError::Overflow)
                ) || e.to_string().contains("size limit")
                {
                    ApiError::new(
                        ErrorCode::PayloadTooLarge,
                        format!("the body exceeds {MAX_BODY_BYTES} bytes"),
                    )
                } else {
                    ApiError::new(ErrorCode::BadRequest, format!("cannot read the body: {e}"))
                }
            })?;
            decode(&bytes).map(ValidJson)
        })
    }
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." || path.is_empty() {
                    "body".to_owned()
                } else {
                    path
                };
                // serde's message ends with " at line L column C"; the field name says more.
                let message = inner.to_string();
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                ApiError::field(field, message)
            }
            _ => ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// Error handlers for actix's own extractors: query strings, paths and raw bodies.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|err, _| {
        let message = err.to_string();
        let field = message
            .split('`')
            .nth(1)
            .map(str::to_owned)
            .unwrap_or_else(|| "query".to_owned());
        // A value of the wrong type is invalid input, as in a JSON body: 422 naming the field.
        ApiError::with_fields(
            ErrorCode::ValidationFailed,
            "the query string is invalid",
            std::collections::BTreeMap::from([(field, message)]),
        )
        .into()
    }))
    .app_data(
        web::PathConfig::default().error_handler(|_, _| ApiError::not_found("resource").into()),
    )
    .app_data(web::PayloadConfig::new(MAX_BODY_BYTES));
}

/// Deserialises a doubly optional field: absent → `None`, `null` → `Some(None)`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(de).map(Some)
}
