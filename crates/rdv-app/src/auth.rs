//! Logins, sessions and refresh tokens, and the throttling that slows password guessing.
//!
//! A login opens a session; its refresh tokens rotate within it (each is single use) and its
//! access tokens name it, so ending the session ends them all. A refresh token presented a
//! second time betrays a copy: the whole session ends. Sessions also end at an absolute
//! deadline, at logout, and when the membership is removed or the account disabled or erased,
//! which every authenticated request checks.
//!
//! Throttling counts attempts before the password is checked, in one statement per key, so
//! parallel guesses cannot pass a limit together. Two keys slow guessing without locking the
//! owner out: the pair (account, client address) gets a few free attempts per window, then
//! waits twice as long after each further attempt; each client address (IPv6 by /64) has a
//! budget of attempts per window across all accounts. A guesser elsewhere never blocks the
//! owner's own address.

use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use rdv_db::models::{Membership, UserAccount};
use rdv_db::queries::accounts::{self, RefreshLookup, ThrottlePolicy};
use rdv_db::{Conn, Connection};
use rdv_domain::{OrganizationId, Role, SessionId};
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::OnceLock;

/// The `[auth]` settings section.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// Signs access tokens; see the profile rules in the binary's settings.
    pub jwt_secret: SecretString,
    pub access_token_seconds: i64,
    /// A refresh token unused for this long expires (the idle limit).
    pub refresh_token_days: i64,
    /// A session ends this long after its login, however active (the absolute limit).
    pub session_days: i64,
    /// Attempts of one account from one address before delays start.
    pub free_attempts_per_pair: i32,
    /// First delay after the free attempts, doubled at each further attempt.
    pub pair_base_delay_seconds: i64,
    pub pair_max_delay_seconds: i64,
    pub pair_window_seconds: i64,
    /// Attempts from one address (IPv6: one /64) per window, whatever the accounts.
    pub max_attempts_per_address: i32,
    pub address_window_seconds: i64,
}

impl AuthSettings {
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("access_token_seconds", self.access_token_seconds),
            ("refresh_token_days", self.refresh_token_days),
            ("session_days", self.session_days),
            ("pair_base_delay_seconds", self.pair_base_delay_seconds),
            ("pair_max_delay_seconds", self.pair_max_delay_seconds),
            ("pair_window_seconds", self.pair_window_seconds),
            ("address_window_seconds", self.address_window_seconds),
            (
                "free_attempts_per_pair",
                i64::from(self.free_attempts_per_pair),
            ),
            (
                "max_attempts_per_address",
                i64::from(self.max_attempts_per_address),
            ),
        ];
        for (name, v) in positive {
            if v <= 0 {
                return Err(format!("auth.{name} must be positive"));
            }
        }
        if self.refresh_token_days > self.session_days {
            return Err("auth.refresh_token_days may not exceed auth.session_days".into());
        }
        Ok(())
    }

    fn pair_policy(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            free: self.free_attempts_per_pair,
            base_delay_seconds: self.pair_base_delay_seconds,
            max_delay_seconds: self.pair_max_delay_seconds,
            window_seconds: self.pair_window_seconds,
        }
    }

    fn address_policy(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            free: self.max_attempts_per_address,
            base_delay_seconds: self.address_window_seconds,
            max_delay_seconds: self.address_window_seconds,
            window_seconds: self.address_window_seconds,
        }
    }

    /// How far back throttling looks at most: older keys can be forgotten.
    pub fn longest_window(&self) -> Duration {
        Duration::seconds(
            self.pair_window_seconds
                .max(self.address_window_seconds)
                .max(self.pair_max_delay_seconds),
        )
    }
}

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
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
/// 32 random bytes, URL-safe base64 (43 characters): refresh tokens and feed tokens.
pub fn new_secret_token() -> String {
    new_refresh_token()
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A hash to verify against when the account does not exist, so that timing does not tell
/// which emails have accounts.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("no such account").unwrap_or_default())
}

/// The address as throttling counts it: IPv4 as is, IPv6 by its /64 (one subscriber's
/// network), an IPv4-mapped IPv6 address as the IPv4 address.
pub fn throttle_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A login, as the edge received it. Its `Debug` never shows the password.
#[derive(Clone)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// The organization to act in, for accounts that belong to several.
    pub organization_id: Option<OrganizationId>,
    /// The client's address, as established by the edge (see `throttle_address`).
    pub client_address: Option<String>,
}

impl std::fmt::Debug for LoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInput")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .field("organization_id", &self.organization_id)
            .field("client_address", &self.client_address)
            .finish()
    }
}

/// What a successful login or refresh grants.
#[derive(Debug, Clone)]
pub struct Granted {
    pub actor: Actor,
    pub session: SessionId,
    /// Single use; only its hash is stored.
    pub refresh_token: String,
}

/// Which membership a login without an organization picks: the widest role first.
fn role_rank(role: Role) -> u8 {
    match role {
        Role::PlatformAdmin => 0,
        Role::OrgAdmin => 1,
        Role::OrgStaff => 2,
        Role::Participant => 3,
    }
}

fn pick_membership(mut all: Vec<Membership>, org: Option<OrganizationId>) -> Option<Membership> {
    all.sort_by_key(|m| (role_rank(m.role), m.id));
    match org {
        Some(org) => all.into_iter().find(|m| m.organization_id == Some(org)),
        None => all.into_iter().next(),
    }
}

/// The actor a membership acts as.
pub fn actor_of(m: &Membership, client_address: Option<String>) -> AppResult<Actor> {
    Ok(Actor {
        user: m.user_account_id,
        membership: m.id,
        organization: m.organization_id,
        role: m.role,
        person: m.person_id,
        client_address,
    })
}

fn too_many(blocked_until: DateTime<Utc>) -> AppError {
    AppError::TooManyRequests {
        message: "too many login attempts; try again later".into(),
        retry_after_seconds: (blocked_until - Utc::now()).num_seconds().max(1),
    }
}

/// Opens a session for `membership` and issues its first refresh token.
fn open_session(
    conn: &mut Conn,
    settings: &AuthSettings,
    membership: &Membership,
    client_address: Option<String>,
) -> AppResult<Granted> {
    let now = Utc::now();
    let session = accounts::create_session(
        conn,
        membership,
        now + Duration::days(settings.session_days),
    )?;
    let refresh_token = new_refresh_token();
    accounts::store_refresh_token(
        conn,
        &session,
        &sha256_hex(&refresh_token),
        now + Duration::days(settings.refresh_token_days),
    )?;
    Ok(Granted {
        actor: actor_of(membership, client_address)?,
        session: session.id,
        refresh_token,
    })
}

fn audit_session(
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    session: SessionId,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        Audit {
            action,
            subject_type: "session",
            subject_ids: vec![session.0],
            person_ids: actor.person.map(|p| p.0).into_iter().collect(),
            fields: vec![],
        },
    )
}

/// A login whose attempt is counted and whose account (if any) is read: what checking the
/// password needs, without holding a database connection during the slow hash.
pub struct LoginAttempt {
    input: LoginInput,
    pair_key: String,
    address_key: String,
    account: Option<UserAccount>,
}

impl LoginAttempt {
    /// Verifies the password (argon2id: tens of milliseconds, on purpose). An unknown account
    /// is checked against a dummy hash, so timing does not tell which emails have accounts.
    pub fn password_matches(&self) -> bool {
        let hash = self
            .account
            .as_ref()
            .map(|a| a.password_hash.as_str())
            .unwrap_or_else(|| dummy_hash());
        verify_password(&self.input.password, hash)
    }
}

/// First step of a login: counts the attempt on the (account, address) pair and on the
/// address, or on neither when one is blocked (429), and reads the account. Takes a connection
/// outside any transaction: the count stays even when the login fails.
pub fn begin_login(
    conn: &mut Conn,
    settings: &AuthSettings,
    input: LoginInput,
) -> AppResult<LoginAttempt> {
    if input.email.len() > 254 || input.password.len() > 1024 {
        return Err(AppError::InvalidCredentials);
    }
    let email = input.email.trim().to_lowercase();
    let address = input.client_address.clone().unwrap_or_default();
    let pair_key = format!("pair:{}", sha256_hex(&format!("{email}\n{address}")));
    let address_key = format!("address:{}", sha256_hex(&address));
    let account = conn.transaction(|conn| {
        if let Some(until) = accounts::take_attempt(conn, &pair_key, settings.pair_policy())? {
            return Err(too_many(until));
        }
        if let Some(until) = accounts::take_attempt(conn, &address_key, settings.address_policy())?
        {
            return Err(too_many(until));
        }
        // No account's email holds a NUL, which PostgreSQL text cannot store anyway.
        if email.contains('\0') {
            return Ok(None);
        }
        Ok(accounts::find_by_email(conn, &email)?)
    })?;
    Ok(LoginAttempt {
        input,
        pair_key,
        address_key,
        account,
    })
}

/// Last step of a login, once the password is checked: a failure is audited (for a known
/// account) and refused; a success clears the pair's count and opens a session.
pub fn finish_login(
    conn: &mut Conn,
    settings: &AuthSettings,
    attempt: LoginAttempt,
    password_matches: bool,
) -> AppResult<Granted> {
    let LoginAttempt {
        input,
        pair_key,
        address_key,
        account,
    } = attempt;
    let account = match account {
        Some(a) if password_matches && a.disabled_at.is_none() => a,
        other => {
            if let Some(a) = other {
                audit::record_as(
                    conn,
                    None,
                    Some(a.id),
                    input.client_address.clone(),
                    Audit {
                        action: "login.failed",
                        subject_type: "user_account",
                        subject_ids: vec![a.id.0],
                        person_ids: vec![],
                        fields: vec![],
                    },
                )?;
            }
            return Err(AppError::InvalidCredentials);
        }
    };
    conn.transaction(|conn| {
        accounts::clear_attempts(conn, &pair_key)?;
        accounts::refund_attempt(conn, &address_key)?;
        let membership = pick_membership(
            accounts::memberships_of(conn, account.id)?,
            input.organization_id,
        )
        .ok_or_else(|| AppError::forbidden("this account has no access to that organization"))?;
        let granted = open_session(conn, settings, &membership, input.client_address.clone())?;
        audit_session(conn, &granted.actor, "login", granted.session)?;
        // The inactivity rule counts from here; a warned account is active again.
        accounts::record_login(conn, account.id)?;
        Ok(granted)
    })
}

/// Checks an email and password and opens a session, in one go (for callers that may hold a
/// connection during the password check; the API splits the steps to free it meanwhile).
#[tracing::instrument(skip_all)]
pub fn login(conn: &mut Conn, settings: &AuthSettings, input: LoginInput) -> AppResult<Granted> {
    let attempt = begin_login(conn, settings, input)?;
    let matches = attempt.password_matches();
    finish_login(conn, settings, attempt, matches)
}

fn invalid_refresh() -> AppError {
    AppError::unauthenticated("the refresh token is invalid, expired or revoked")
}

/// Exchanges a refresh token for a new one in the same session. A token used twice ends its
/// session (committed before the refusal is returned): whoever holds a copy is locked out,
/// and the owner logs in again. Takes a connection outside any transaction.
#[tracing::instrument(skip_all)]
pub fn refresh(
    conn: &mut Conn,
    settings: &AuthSettings,
    token: &str,
    client_address: Option<String>,
) -> AppResult<Granted> {
    let hash = sha256_hex(token.trim());
    let outcome: AppResult<Granted> = conn.transaction::<_, AppError, _>(|conn| {
        let session = match accounts::consume_refresh_token(conn, &hash)? {
            RefreshLookup::Invalid => return Ok(Err(invalid_refresh())),
            RefreshLookup::Replayed(session) => {
                if accounts::revoke_session(conn, session, "refresh_token_reuse")? {
                    if let Some((_, m)) = live_or_any_membership(conn, session)? {
                        let actor = actor_of(&m, client_address.clone())?;
                        audit_session(conn, &actor, "session.refresh_token_reuse", session)?;
                    }
                    tracing::warn!(session.id = %session, "refresh token replayed; session revoked");
                }
                return Ok(Err(invalid_refresh()));
            }
            RefreshLookup::Consumed(session) => session,
        };
        let Some((session, membership)) = accounts::live_session(conn, session)? else {
            return Ok(Err(invalid_refresh()));
        };
        // A session kept alive is an account in use.
        accounts::record_login(conn, session.user_account_id)?;
        let refresh_token = new_refresh_token();
        accounts::store_refresh_token(
            conn,
            &session,
            &sha256_hex(&refresh_token),
            Utc::now() + Duration::days(settings.refresh_token_days),
        )?;
        let actor = actor_of(&membership, client_address.clone())?;
        audit_session(conn, &actor, "session.refresh", session.id)?;
        Ok(Ok(Granted {
            actor,
            session: session.id,
            refresh_token,
        }))
    })?;
    outcome
}

fn live_or_any_membership(
    conn: &mut Conn,
    session: SessionId,
) -> AppResult<Option<(SessionId, Membership)>> {
    let s = accounts::session(conn, session)?;
    Ok(accounts::membership(conn, s.membership_id)
        .ok()
        .map(|m| (s.id, m)))
}

/// Ends the session of a refresh token; unknown or used tokens change nothing.
pub fn logout(conn: &mut Conn, token: &str, client_address: Option<String>) -> AppResult<()> {
    let hash = sha256_hex(token.trim());
    let session = match accounts::consume_refresh_token(conn, &hash)? {
        RefreshLookup::Consumed(s) | RefreshLookup::Replayed(s) => s,
        RefreshLookup::Invalid => return Ok(()),
    };
    if accounts::revoke_session(conn, session, "logout")? {
        if let Some((_, m)) = live_or_any_membership(conn, session)? {
            let actor = actor_of(&m, client_address)?;
            audit_session(conn, &actor, "logout", session)?;
        }
    }
    Ok(())
}

/// Ends every session of the actor's account, on every device; returns how many ended.
pub fn logout_all(conn: &mut Conn, actor: &Actor) -> AppResult<usize> {
    let n = accounts::revoke_sessions_of(conn, actor.user, "logout_all")?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "logout_all",
            subject_type: "user_account",
            subject_ids: vec![actor.user.0],
            person_ids: actor.person.map(|p| p.0).into_iter().collect(),
            fields: vec![],
        },
    )?;
    Ok(n)
}

/// The actor of a live session, as its membership stands now: a removed membership, a
/// disabled or erased account, or an ended session is refused.
pub fn authenticate(
    conn: &mut Conn,
    session: SessionId,
    client_address: Option<String>,
) -> AppResult<(Actor, SessionId)> {
    let (session, membership) = accounts::live_session(conn, session)?
        .ok_or_else(|| AppError::unauthenticated("the session has ended; log in again"))?;
    Ok((actor_of(&membership, client_address)?, session.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_never_prints_its_password() {
        let input = LoginInput {
            email: "a@b.example".into(),
            password: "hunter2-secret".into(),
            organization_id: None,
            client_address: None,
        };
        assert!(!format!("{input:?}").contains("hunter2"));
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(throttle_address(a), throttle_address(b));
        assert_ne!(throttle_address(a), throttle_address(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(throttle_address(mapped), "192.0.2.7");
    }
}
