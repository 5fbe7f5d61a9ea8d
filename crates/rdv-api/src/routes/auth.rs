//! Login, token refresh and logout. Failed logins are counted in the database per account and
//! per client address, so throttling holds across any number of API nodes.

use crate::auth::{hash_password, new_refresh_token, sha256_hex, verify_password, Caller};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ValidJson;
use crate::AppState;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use rdv_db::models::{Membership, UserAccount};
use rdv_db::queries::accounts;
use rdv_db::Conn;
use rdv_domain::{OrganizationId, Role};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login).service(refresh).service(logout);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "admin@demo.example")]
    pub email: String,
    #[schema(example = "demo")]
    pub password: String,
    /// The organization to act in, for accounts that belong to several.
    pub organization_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
    /// Single use: a refresh returns a new one and revokes it.
    pub refresh_token: String,
    /// `platform_admin`, `org_admin`, `org_staff` or `participant`.
    #[schema(value_type = String)]
    pub role: Role,
    pub organization_id: Option<i64>,
    pub person_id: Option<i64>,
}

/// A hash to verify against when the account does not exist, so that timing does not tell
/// which emails have accounts.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("no such account").unwrap_or_default())
}

fn role_rank(role: &str) -> u8 {
    match role {
        "platform_admin" => 0,
        "org_admin" => 1,
        "org_staff" => 2,
        _ => 3,
    }
}

fn pick_membership(mut all: Vec<Membership>, org: Option<i64>) -> Option<Membership> {
    all.sort_by_key(|m| (role_rank(&m.role), m.id));
    match org {
        Some(org) => all
            .into_iter()
            .find(|m| m.organization_id == Some(OrganizationId(org))),
        None => all.into_iter().next(),
    }
}

fn caller_of(m: &Membership) -> Result<Caller, ApiError> {
    Ok(Caller(rdv_app::Actor {
        user: m.user_account_id,
        membership: m.id,
        organization: m.organization_id,
        role: m.role.parse().map_err(ApiError::internal)?,
        person: m.person_id,
        client_address: None,
    }))
}

fn issue_pair(conn: &mut Conn, state: &AppState, m: &Membership) -> Result<TokenPair, ApiError> {
    let caller = caller_of(m)?;
    let refresh_token = new_refresh_token();
    let expires = Utc::now() + Duration::days(state.settings.auth.refresh_token_days);
    accounts::store_refresh_token(
        conn,
        m.user_account_id,
        m.id,
        &sha256_hex(&refresh_token),
        expires,
    )?;
    Ok(TokenPair {
        access_token: state.keys.issue(&caller)?,
        token_type: "Bearer",
        expires_in: state.keys.access_seconds,
        refresh_token,
        role: caller.role,
        organization_id: caller.organization.map(|o| o.0),
        person_id: caller.person.map(|p| p.0),
    })
}

fn too_many(retry_at: Option<chrono::DateTime<Utc>>) -> ApiError {
    rdv_app::AppError::TooManyRequests {
        message: "too many failed logins; try again later".into(),
        retry_after_seconds: retry_at
            .map(|t| (t - Utc::now()).num_seconds())
            .unwrap_or(60),
    }
    .into()
}

/// Exchanges an email and password for an access token and a refresh token.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "wrong email or password", body = crate::error::ErrorBody),
        (status = 429, description = "too many failed logins for this account or address", body = crate::error::ErrorBody),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    if body.email.len() > 254 || body.password.len() > 1024 {
        return Err(ApiError::new(
            ErrorCode::InvalidCredentials,
            "wrong email or password",
        ));
    }
    let address = crate::auth::client_address(&req, state.settings.server.trust_forwarded_for)
        .unwrap_or_default();
    let account_key = format!("account:{}", sha256_hex(&body.email.trim().to_lowercase()));
    let address_key = format!("address:{}", sha256_hex(&address));
    let auth = state.settings.auth.clone();
    let window = Duration::seconds(auth.failure_window_seconds);

    let (keys_a, keys_b) = (account_key.clone(), address_key.clone());
    let email = body.email.trim().to_owned();
    let account: Option<UserAccount> = state
        .tx(move |conn| {
            for (key, max) in [
                (&keys_a, auth.max_failures_per_account),
                (&keys_b, auth.max_failures_per_address),
            ] {
                let (n, retry_at) = accounts::recent_login_failures(conn, key, window)?;
                if n >= max {
                    return Err(too_many(retry_at));
                }
            }
            Ok(accounts::find_by_email(conn, &email)?)
        })
        .await?;

    let password = body.password;
    let hash = account
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let valid = web::block(move || verify_password(&password, &hash)).await?;
    let account = match account {
        Some(a) if valid && a.disabled_at.is_none() => a,
        _ => {
            state
                .tx(move |conn| {
                    accounts::record_login_failure(conn, &account_key)?;
                    accounts::record_login_failure(conn, &address_key)?;
                    accounts::prune_login_failures(conn)?;
                    Ok(())
                })
                .await?;
            return Err(ApiError::new(
                ErrorCode::InvalidCredentials,
                "wrong email or password",
            ));
        }
    };
    let org = body.organization_id;
    let st = state.clone();
    let pair = state
        .tx(move |conn| {
            accounts::clear_login_failures(conn, &account_key)?;
            let membership = pick_membership(accounts::memberships_of(conn, account.id)?, org)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::Forbidden,
                        "this account has no access to that organization",
                    )
                })?;
            issue_pair(conn, &st, &membership)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Exchanges a refresh token for a new pair; the old refresh token is revoked.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = crate::error::ErrorBody))
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ValidJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = sha256_hex(body.0.refresh_token.trim());
    let st = state.clone();
    let pair = state
        .tx(move |conn| {
            let invalid =
                || ApiError::unauthorized("the refresh token is invalid, expired or revoked");
            let (account, membership) =
                accounts::consume_refresh_token(conn, &hash)?.ok_or_else(invalid)?;
            let account = accounts::get(conn, account)?;
            if account.disabled_at.is_some() || account.erased_at.is_some() {
                return Err(invalid());
            }
            let membership = accounts::membership(conn, membership).map_err(|_| invalid())?;
            issue_pair(conn, &st, &membership)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Revokes a refresh token. Access tokens already issued expire on their own, shortly.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "revoked (or already unusable)"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: ValidJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = sha256_hex(body.0.refresh_token.trim());
    state
        .tx(move |conn| {
            accounts::consume_refresh_token(conn, &hash)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
