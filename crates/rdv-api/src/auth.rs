//! Authentication: argon2id password hashes, short-lived JWT access tokens, revocable refresh
//! tokens stored hashed, and the `Caller` every protected handler receives.

use crate::error::{ApiError, ErrorCode};
use crate::settings::AuthSettings;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use rdv_app::Actor;
use rdv_domain::{MembershipId, OrganizationId, PersonId, Role, UserAccountId};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::{ready, Ready};

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub fn sha256_hex(data: &str) -> String {
    Sha256::digest(data.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh opaque refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: i64,
    mid: i64,
    org: Option<i64>,
    role: Role,
    pid: Option<i64>,
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

    pub fn issue(&self, caller: &Caller) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: caller.user.0,
            mid: caller.membership.0,
            org: caller.organization.map(|o| o.0),
            role: caller.role,
            pid: caller.person.map(|p| p.0),
            iat: now,
            exp: now + self.access_seconds,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data =
            decode::<Claims>(token, &self.decoding, &validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized("the access token has expired; refresh it")
                }
                _ => ApiError::unauthorized("the access token is invalid"),
            })?;
        let c = data.claims;
        Ok(Caller(Actor {
            user: UserAccountId(c.sub),
            membership: MembershipId(c.mid),
            organization: c.org.map(OrganizationId),
            role: c.role,
            person: c.pid.map(PersonId),
            client_address: None,
        }))
    }
}

/// Who is calling: the application layer's [`Actor`], established from the bearer token.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl std::ops::Deref for Caller {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.0
    }
}

/// The client's address: the peer, or the first `X-Forwarded-For` hop when configured.
pub fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        if let Some(v) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        {
            if let Some(first) = v.split(',').next() {
                return Some(first.trim().chars().take(64).collect());
            }
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| {
            let state = req
                .app_data::<web::Data<crate::AppState>>()
                .ok_or_else(|| ApiError::internal("application state missing"))?;
            let header = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    ApiError::unauthorized("log in first: missing Authorization: Bearer token")
                })?;
            let token = header.strip_prefix("Bearer ").ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "the Authorization header must be `Bearer <token>`",
                )
            })?;
            let mut caller = state.keys.verify(token.trim())?;
            caller.0.client_address =
                client_address(req, state.settings.server.trust_forwarded_for);
            Ok(caller)
        })())
    }
}
