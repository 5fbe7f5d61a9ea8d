//! Login, token refresh and logout: the HTTP edge of `rdv_app::auth`, where sessions,
//! refresh-token rotation and throttling live.

use crate::auth::{client_address, Caller};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use rdv_app::auth::LoginInput;
use rdv_domain::{OrganizationId, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(logout_all)
        .service(password_reset)
        .service(password_reset_page)
        .service(password_reset_confirm);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "admin@demo.example", max_length = 254)]
    pub email: String,
    #[schema(example = "demo", max_length = 1024)]
    pub password: String,
    /// The organization to act in, for accounts that belong to several.
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
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
    pub role: Role,
    pub organization_id: Option<i64>,
    pub person_id: Option<i64>,
}

fn pair(state: &AppState, granted: rdv_app::auth::Granted) -> Result<TokenPair, ApiError> {
    Ok(TokenPair {
        access_token: state.keys.issue(&granted.actor, granted.session)?,
        token_type: "Bearer",
        expires_in: state.keys.access_seconds,
        refresh_token: granted.refresh_token,
        role: granted.actor.role,
        organization_id: granted.actor.organization.map(|o| o.0),
        person_id: granted.actor.person.map(|p| p.0),
    })
}

/// Exchanges an email and password for an access token and a refresh token. Attempts are
/// throttled per account and client address (a growing delay after a few failures) and per
/// address (a budget per window); a guesser elsewhere never locks the owner out.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "wrong email or password", body = crate::error::ErrorBody),
        (status = 403, description = "the account has no access to that organization", body = crate::error::ErrorBody),
        (status = 429, description = "too many attempts from this address, for this account or in all; see Retry-After", body = crate::error::ErrorBody),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let input = LoginInput {
        email: body.email,
        password: body.password,
        organization_id: body.organization_id.map(OrganizationId),
        client_address: client_address(&req, state.server.trusted_proxy_hops),
    };
    // The slow password check runs without holding a database connection.
    let settings = state.auth.clone();
    let attempt = state
        .app_conn(move |conn| rdv_app::auth::begin_login(conn, &settings, input))
        .await?;
    let (attempt, matches) = web::block(move || {
        let matches = attempt.password_matches();
        (attempt, matches)
    })
    .await?;
    let settings = state.auth.clone();
    let granted = state
        .app_conn(move |conn| rdv_app::auth::finish_login(conn, &settings, attempt, matches))
        .await?;
    Ok(HttpResponse::Ok().json(pair(&state, granted)?))
}

/// Exchanges a refresh token for a new pair in the same session; the old refresh token is
/// spent. Presenting a spent refresh token again ends the whole session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = crate::error::ErrorBody))
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.0.refresh_token;
    let address = client_address(&req, state.server.trusted_proxy_hops);
    let settings = state.auth.clone();
    let granted = state
        .app_conn(move |conn| rdv_app::auth::refresh(conn, &settings, &token, address))
        .await?;
    Ok(HttpResponse::Ok().json(pair(&state, granted)?))
}

/// Ends the session of a refresh token: its refresh and access tokens stop working at once.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "ended (or already unusable)"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.0.refresh_token;
    let address = client_address(&req, state.server.trusted_proxy_hops);
    state
        .app_tx(move |conn| rdv_app::auth::logout(conn, &token, address))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct LoggedOut {
    /// Sessions ended, this one included.
    pub sessions_ended: usize,
}

/// Ends every session of the caller's account, on every device.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = LoggedOut), (status = 401, body = crate::error::ErrorBody))
)]
#[post("/auth/logout-all")]
pub async fn logout_all(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let n = state
        .app_tx(move |conn| rdv_app::auth::logout_all(conn, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(LoggedOut { sessions_ended: n }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(example = "admin@demo.example", max_length = 254)]
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordResetAccepted {
    /// Always true: whether an account has that email is not told.
    pub accepted: bool,
}

/// Asks for a link to set a new password, sent by email. Answers 202 whether an account has
/// that email or not; an account gets at most three such messages an hour. The link works
/// for an hour, once.
#[utoipa::path(tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202, body = PasswordResetAccepted)))]
#[post("/auth/password-reset")]
pub async fn password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let address = client_address(&req, state.server.trusted_proxy_hops);
    let email = body.0.email;
    state
        .app_tx(move |conn| rdv_app::passwords::request(conn, &email, address))
        .await?;
    Ok(HttpResponse::Accepted().json(PasswordResetAccepted { accepted: true }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// 10 to 200 characters.
    #[schema(max_length = 200)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordChanged {
    pub changed: bool,
}

/// The page a reset link opens: a form for the new password, which it sends to the same
/// address (a GET changes nothing).
#[utoipa::path(tag = "auth", params(("token" = String, Path, description = "the link's token")),
    responses((status = 200, content_type = "text/html", body = String)))]
#[get("/auth/password-reset/{token}")]
pub async fn password_reset_page(token: web::Path<String>) -> HttpResponse {
    // The token goes back as the page's own address: nothing of it is written into the page.
    let _ = token;
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(RESET_PAGE)
}

const RESET_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>New password</title></head>
<body style="font-family: Helvetica, Arial, sans-serif; max-width: 600px; margin: 2em auto;">
<form id="f">
<p><label>New password (10 to 200 characters)<br><input id="p" type="password" minlength="10" maxlength="200" required autocomplete="new-password"></label></p>
<p><button type="submit">Set the password</button></p>
</form>
<p id="r" role="status"></p>
<script>
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const res = await fetch(location.pathname, {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({password: document.getElementById("p").value})});
  const body = await res.json();
  document.getElementById("r").textContent = res.ok
    ? "Your password is set: sign in with it."
    : Object.values(body.fields || {}).join(" ") || body.message;
});
</script>
</body></html>"#;

/// Sets a new password with a reset link's token. The link works once and for an hour;
/// every session of the account ends. 422 on `token` when it is invalid, used or expired,
/// on `password` when it is too short or too long.
#[utoipa::path(tag = "auth", params(("token" = String, Path, description = "the link's token")),
    request_body = NewPassword, responses((status = 200, body = PasswordChanged)))]
#[post("/auth/password-reset/{token}")]
pub async fn password_reset_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    body: ValidJson<NewPassword>,
) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let secret = state.auth.jwt_secret.expose_secret().to_owned();
    let address = client_address(&req, state.server.trusted_proxy_hops);
    let (token, password) = (token.into_inner(), body.0.password);
    state
        .app_tx(move |conn| rdv_app::passwords::reset(conn, &secret, &token, &password, address))
        .await?;
    Ok(HttpResponse::Ok().json(PasswordChanged { changed: true }))
}
