//! Access tokens and the `Caller` every protected handler receives. An access token is a
//! short-lived JWT naming its session; each request checks that session in the database
//! (one primary-key join), so logout, a removed membership or a disabled account take effect
//! at once rather than when the token expires. Logins, sessions and refresh tokens are the
//! application layer's (`rdv_app::auth`).

use crate::error::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rdv_app::auth::AuthSettings;
use rdv_app::Actor;
use rdv_domain::SessionId;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The account.
    sub: i64,
    /// The session: checked on every request.
    sid: i64,
    iat: i64,
    exp: i64,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub access_seconds: i64,
}

impl TokenKeys {
    pub fn new(settings: &AuthSettings) -> Self {
        let secret = settings.jwt_secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_seconds: settings.access_token_seconds,
        }
    }

    pub fn issue(&self, actor: &Actor, session: SessionId) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: actor.user.0,
            sid: session.0,
            iat: now,
            exp: now + self.access_seconds,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    /// The session a well-signed, unexpired token names.
    pub fn verify(&self, token: &str) -> Result<SessionId, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data =
            decode::<Claims>(token, &self.decoding, &validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized("the access token has expired; refresh it")
                }
                _ => ApiError::unauthorized("the access token is invalid"),
            })?;
        Ok(SessionId(data.claims.sid))
    }
}

/// Who is calling: the application layer's [`Actor`], as its session stands now.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl std::ops::Deref for Caller {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.0
    }
}

/// The client's address: the TCP peer, or with `hops` proxies in front, the `hops`-th
/// `X-Forwarded-For` entry from the right (what the outermost proxy saw). A header with fewer
/// entries than expected, or an entry that is not an address, falls back to the peer.
pub fn client_ip(req: &HttpRequest, hops: u8) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    entries
        .len()
        .checked_sub(usize::from(hops))
        .and_then(|i| entries.get(i))
        .and_then(|s| s.parse::<IpAddr>().ok())
        .or(peer)
}

/// The client's address as audit rows and throttling record it (IPv6 by /64).
pub fn client_address(req: &HttpRequest, hops: u8) -> Option<String> {
    client_ip(req, hops).map(rdv_app::auth::throttle_address)
}

/// The bearer token of the Authorization header; the scheme is case-insensitive (RFC 7235).
fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::unauthorized("log in first: missing Authorization: Bearer token")
        })?;
    let (scheme, token) = header.trim().split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "the Authorization header must be `Bearer <token>`",
        ));
    }
    Ok(token.trim())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<crate::AppState>>().cloned();
        let session = state
            .as_ref()
            .ok_or_else(|| ApiError::internal("application state missing"))
            .and_then(|state| state.keys.verify(bearer(req)?));
        let address = state
            .as_ref()
            .and_then(|s| client_address(req, s.server.trusted_proxy_hops));
        Box::pin(async move {
            let session = session?;
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let (actor, _) = state
                .app_conn(move |conn| rdv_app::auth::authenticate(conn, session, address))
                .await?;
            Ok(Caller(actor))
        })
    }
}

/// The caller when the request carries credentials, `None` when it carries none; bad
/// credentials are refused as for [`Caller`] (a public endpoint that also serves signed-in
/// callers).
pub struct MaybeCaller(pub Option<rdv_app::Actor>);

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .is_none()
        {
            return Box::pin(async { Ok(MaybeCaller(None)) });
        }
        let caller = Caller::from_request(req, payload);
        Box::pin(async move { Ok(MaybeCaller(Some(caller.await?.0))) })
    }
}
