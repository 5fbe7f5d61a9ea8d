//! Password reset by email. Asking answers the same whether the account exists or not; an
//! existing account gets a message (at most [`MAX_PER_HOUR`] an hour) whose link carries a
//! token signed with the platform's secret, naming the account and an expiry an hour away,
//! and bound to the account's current password hash: once the password changes, every link
//! sent before is dead. Nothing secret is stored: the token is made when the message goes.

use crate::audit::{self, Audit};
use crate::{AppError, AppResult};
use chrono::{Duration, Utc};
use rdv_db::models::NewOutboxMessage;
use rdv_db::queries::{accounts, outbox};
use rdv_db::Conn;
use rdv_domain::{Channel, DataSource, LegalBasis, UserAccountId};

/// How long a reset link works.
pub const VALID_MINUTES: i64 = 60;
/// Reset messages an account may be sent in an hour.
pub const MAX_PER_HOUR: i64 = 3;
/// The message kind.
pub const KIND: &str = "password_reset";

const LABEL: &[u8] = b"rdv password reset v1:";

fn mac(
    secret: &str,
    account: UserAccountId,
    expires: i64,
    password_hash: &str,
) -> hmac::Hmac<sha2::Sha256> {
    use hmac::digest::KeyInit;
    use hmac::Mac;
    use sha2::Digest;
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(&sha2::Sha256::digest(secret.as_bytes()));
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&key.into());
    mac.update(LABEL);
    mac.update(&account.0.to_be_bytes());
    mac.update(&expires.to_be_bytes());
    mac.update(&sha2::Sha256::digest(password_hash.as_bytes()));
    mac
}

/// The token of a reset link: the account, the expiry (Unix seconds) and 16 bytes of the
/// HMAC-SHA256 tag over both and the password hash; URL-safe base64.
pub fn token(secret: &str, account: UserAccountId, expires: i64, password_hash: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut raw = Vec::with_capacity(32);
    raw.extend_from_slice(&account.0.to_be_bytes());
    raw.extend_from_slice(&expires.to_be_bytes());
    let tag = mac(secret, account, expires, password_hash)
        .finalize()
        .into_bytes();
    raw.extend_from_slice(&tag[..16]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Asks for a reset link for the account with `email`. Answers nothing either way: whether
/// the account exists is not told. Audited when a message is queued.
pub fn request(conn: &mut Conn, email: &str, client_address: Option<String>) -> AppResult<()> {
    if email.chars().count() > 254 {
        return Err(AppError::field("email", "at most 254 characters"));
    }
    // No account's address holds a control character (nor could the database compare one).
    if email.chars().any(char::is_control) {
        return Ok(());
    }
    let Some(account) = accounts::find_by_email(conn, email.trim())? else {
        return Ok(());
    };
    if account.disabled_at.is_some() {
        return Ok(());
    }
    let now = Utc::now();
    if accounts::resets_since(conn, account.id, now - Duration::hours(1))? >= MAX_PER_HOUR {
        tracing::info!(account.id = %account.id, "password reset not sent: hourly limit");
        return Ok(());
    }
    let language = accounts::language_of(conn, account.id)?.unwrap_or_else(|| "en".into());
    let expires = (now + Duration::minutes(VALID_MINUTES)).timestamp();
    outbox::enqueue_many(
        conn,
        &[NewOutboxMessage {
            organization_id: None,
            event_id: None,
            person_id: None,
            user_account_id: Some(account.id),
            channel: Channel::Email,
            template: KIND.into(),
            data: serde_json::json!({"expires": expires, "language": language}),
            idempotency_key: format!("{KIND}:{}:{}", account.id, now.timestamp_micros()),
            not_before: now,
            max_attempts: 3,
            legal_basis: LegalBasis::Contract,
            // A reset message is worth nothing after its hour; kept a month as a trace.
            retention_until: now + Duration::days(30),
            source: DataSource::System,
            campaign_id: None,
            solicitation: false,
        }],
    )?;
    audit::record_as(
        conn,
        None,
        Some(account.id),
        client_address,
        Audit {
            action: "account.password_reset_requested",
            subject_type: "user_account",
            subject_ids: vec![account.id.0],
            person_ids: Vec::new(),
            fields: Vec::new(),
        },
    )
}

/// Sets a new password with a reset link's token: the token must verify against the
/// account's current password (a link works once) and not have expired. Every session of
/// the account ends. Audited. A bad or dead token is a 422 on `token`.
pub fn reset(
    conn: &mut Conn,
    secret: &str,
    token: &str,
    password: &str,
    client_address: Option<String>,
) -> AppResult<()> {
    use base64::Engine;
    use hmac::Mac;
    let dead = || {
        AppError::field(
            "token",
            "the link is invalid, used or expired: ask for a new one",
        )
    };
    let len = password.chars().count();
    let (min, max) = crate::organizations::PASSWORD_CHARS;
    if !(min..=max).contains(&len) {
        return Err(AppError::field(
            "password",
            format!("must be {min} to {max} characters"),
        ));
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| dead())?;
    if raw.len() != 32 {
        return Err(dead());
    }
    let number = |b: &[u8]| <[u8; 8]>::try_from(b).map(i64::from_be_bytes);
    let (Ok(account), Ok(expires)) = (number(&raw[..8]), number(&raw[8..16])) else {
        return Err(dead());
    };
    if expires < Utc::now().timestamp() {
        return Err(dead());
    }
    let account = accounts::get(conn, UserAccountId(account)).map_err(|_| dead())?;
    if account.disabled_at.is_some() || account.erased_at.is_some() {
        return Err(dead());
    }
    mac(secret, account.id, expires, &account.password_hash)
        .verify_truncated_left(&raw[16..])
        .map_err(|_| dead())?;
    let hash = crate::auth::hash_password(password)?;
    accounts::set_password_hash(conn, account.id, &hash)?;
    let ended = accounts::revoke_sessions_of(conn, account.id, "password_reset")?;
    tracing::info!(account.id = %account.id, sessions.ended = ended, "password reset");
    audit::record_as(
        conn,
        None,
        Some(account.id),
        client_address,
        Audit {
            action: "account.password_reset",
            subject_type: "user_account",
            subject_ids: vec![account.id.0],
            person_ids: Vec::new(),
            fields: vec!["password_hash"],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bound_to_the_account_the_expiry_and_the_password() {
        let t = token("s", UserAccountId(7), 1000, "hash-a");
        assert_eq!(t, token("s", UserAccountId(7), 1000, "hash-a"));
        assert_ne!(t, token("s", UserAccountId(7), 1000, "hash-b"));
        assert_ne!(t, token("s", UserAccountId(8), 1000, "hash-a"));
        assert_ne!(t, token("s", UserAccountId(7), 1001, "hash-a"));
        assert_ne!(t, token("other", UserAccountId(7), 1000, "hash-a"));
        assert_eq!(t.len(), 43);
    }
}
