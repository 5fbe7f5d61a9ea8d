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

/// An integer as JSON Schema reads one: `48` and `48.0` alike (a number without fraction),
/// within the range of `T`.
struct Integral<T>(T);

impl<'de, T: TryFrom<i64>> serde::Deserialize<'de> for Integral<T> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<T: TryFrom<i64>> serde::de::Visitor<'_> for V<T> {
            type Value = Integral<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::try_from(v)
                    .map(Integral)
                    .map_err(|_| E::custom(format!("integer {v} is out of range")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                let v = i64::try_from(v)
                    .map_err(|_| E::custom(format!("integer {v} is out of range")))?;
                self.visit_i64(v)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // i64::MAX as f64 rounds up to 2^63, which is out of range.
                if v.fract() != 0.0
                    || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v)
                {
                    return Err(E::custom(format!("{v} is not an integer")));
                }
                #[allow(clippy::cast_possible_truncation)]
                self.visit_i64(v as i64)
            }
        }
        de.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `#[serde(deserialize_with)]` for an integer field.
pub fn integer<'de, T, D>(de: D) -> Result<T, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Integral::<T>::deserialize(de).map(|i| i.0)
}

/// `#[serde(default, deserialize_with)]` for an optional integer field.
pub fn opt_integer<'de, T, D>(de: D) -> Result<Option<T>, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Option::<Integral<T>>::deserialize(de).map(|o| o.map(|i| i.0))
}

/// `#[serde(default, deserialize_with)]` for an integer a patch may clear: absent → `None`,
/// `null` → `Some(None)`.
pub fn double_opt_integer<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Option::<Integral<T>>::deserialize(de).map(|o| Some(o.map(|i| i.0)))
}

/// `#[serde(deserialize_with)]` for a list of integers.
pub fn integers<'de, T, D>(de: D) -> Result<Vec<T>, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Vec::<Integral<T>>::deserialize(de).map(|v| v.into_iter().map(|i| i.0).collect())
}
