//! User accounts, memberships, refresh tokens and failed-login throttling.

use crate::models::{Membership, Session, UserAccount};
use crate::schema::{login_throttle, memberships, refresh_tokens, sessions, user_accounts};
use crate::{Conn, DbResult};
use chrono::{DateTime, Duration, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use rdv_domain::{MembershipId, OrganizationId, PersonId, Role, SessionId, UserAccountId};

pub fn find_by_email(conn: &mut Conn, email: &str) -> DbResult<Option<UserAccount>> {
    Ok(user_accounts::table
        .filter(
            sql::<Bool>("lower(email) = lower(")
                .bind::<Text, _>(email)
                .sql(")"),
        )
        .filter(user_accounts::erased_at.is_null())
        .select(UserAccount::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut Conn, id: UserAccountId) -> DbResult<UserAccount> {
    Ok(user_accounts::table
        .find(id)
        .select(UserAccount::as_select())
        .first(conn)?)
}

/// Creates an account, or returns the existing one with that email unchanged.
pub fn ensure_account(
    conn: &mut Conn,
    email: &str,
    password_hash: &str,
    retention_until: DateTime<Utc>,
    source: &str,
) -> DbResult<UserAccount> {
    if let Some(existing) = find_by_email(conn, email)? {
        return Ok(existing);
    }
    Ok(diesel::insert_into(user_accounts::table)
        .values((
            user_accounts::email.eq(email),
            user_accounts::password_hash.eq(password_hash),
            user_accounts::legal_basis.eq("contract"),
            user_accounts::retention_until.eq(retention_until),
            user_accounts::source.eq(source),
        ))
        .returning(UserAccount::as_returning())
        .get_result(conn)?)
}

/// Grants a role; granting one the account already holds changes nothing.
pub fn ensure_membership(
    conn: &mut Conn,
    account: UserAccountId,
    organization: Option<OrganizationId>,
    role: Role,
    person: Option<PersonId>,
) -> DbResult<Membership> {
    let mut query = memberships::table
        .filter(memberships::user_account_id.eq(account))
        .filter(memberships::role.eq(role.as_str()))
        .into_boxed();
    query = match organization {
        Some(org) => query.filter(memberships::organization_id.eq(org)),
        None => query.filter(memberships::organization_id.is_null()),
    };
    let existing = query
        .select(Membership::as_select())
        .first(conn)
        .optional()?;
    if let Some(m) = existing {
        return Ok(m);
    }
    Ok(diesel::insert_into(memberships::table)
        .values((
            memberships::user_account_id.eq(account),
            memberships::organization_id.eq(organization),
            memberships::role.eq(role.as_str()),
            memberships::person_id.eq(person),
        ))
        .returning(Membership::as_returning())
        .get_result(conn)?)
}

pub fn memberships_of(conn: &mut Conn, account: UserAccountId) -> DbResult<Vec<Membership>> {
    Ok(memberships::table
        .filter(memberships::user_account_id.eq(account))
        .order(memberships::id)
        .select(Membership::as_select())
        .load(conn)?)
}

pub fn membership(conn: &mut Conn, id: MembershipId) -> DbResult<Membership> {
    Ok(memberships::table
        .find(id)
        .select(Membership::as_select())
        .first(conn)?)
}

/// A live session with the current state of its membership and account, or `None` when the
/// session ended, the membership was removed, or the account is disabled or erased: what every
/// authenticated request checks.
pub fn live_session(
    conn: &mut Conn,
    session: SessionId,
) -> DbResult<Option<(Session, Membership)>> {
    Ok(sessions::table
        .inner_join(memberships::table.inner_join(user_accounts::table))
        .filter(sessions::id.eq(session))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(Utc::now()))
        .filter(user_accounts::disabled_at.is_null())
        .filter(user_accounts::erased_at.is_null())
        .select((Session::as_select(), Membership::as_select()))
        .first(conn)
        .optional()?)
}

pub fn session(conn: &mut Conn, id: SessionId) -> DbResult<Session> {
    Ok(sessions::table
        .find(id)
        .select(Session::as_select())
        .first(conn)?)
}

pub fn create_session(
    conn: &mut Conn,
    membership: &Membership,
    expires_at: DateTime<Utc>,
) -> DbResult<Session> {
    Ok(diesel::insert_into(sessions::table)
        .values((
            sessions::user_account_id.eq(membership.user_account_id),
            sessions::membership_id.eq(membership.id),
            sessions::expires_at.eq(expires_at),
        ))
        .returning(Session::as_returning())
        .get_result(conn)?)
}

/// Ends a session (and so its refresh tokens and access tokens); `false` when it had ended.
pub fn revoke_session(conn: &mut Conn, session: SessionId, reason: &str) -> DbResult<bool> {
    Ok(diesel::update(sessions::table.find(session))
        .filter(sessions::revoked_at.is_null())
        .set((
            sessions::revoked_at.eq(Utc::now()),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)?
        > 0)
}

/// Ends every live session of an account; returns how many.
pub fn revoke_sessions_of(
    conn: &mut Conn,
    account: UserAccountId,
    reason: &str,
) -> DbResult<usize> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::user_account_id.eq(account))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Utc::now()),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?)
}

pub fn store_refresh_token(
    conn: &mut Conn,
    session: &Session,
    token_sha256: &str,
    expires_at: DateTime<Utc>,
) -> DbResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::user_account_id.eq(session.user_account_id),
            refresh_tokens::membership_id.eq(session.membership_id),
            refresh_tokens::session_id.eq(session.id),
            refresh_tokens::token_sha256.eq(token_sha256),
            refresh_tokens::expires_at.eq(expires_at.min(session.expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// What presenting a refresh token finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshLookup {
    /// Live: it is now consumed (rotation); here is its session.
    Consumed(SessionId),
    /// Already used or revoked: a replay. Its session should end.
    Replayed(SessionId),
    /// Unknown or expired.
    Invalid,
}

/// Consumes a live refresh token, or reports a replay of one already consumed. The row is
/// locked, so of two concurrent uses exactly one consumes it and the other is a replay.
pub fn consume_refresh_token(conn: &mut Conn, token_sha256: &str) -> DbResult<RefreshLookup> {
    /// Id, session, when it was spent, when it expires.
    type TokenRow = (i64, SessionId, Option<DateTime<Utc>>, DateTime<Utc>);
    let row: Option<TokenRow> = refresh_tokens::table
        .filter(refresh_tokens::token_sha256.eq(token_sha256))
        .select((
            refresh_tokens::id,
            refresh_tokens::session_id,
            refresh_tokens::revoked_at,
            refresh_tokens::expires_at,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    Ok(match row {
        None => RefreshLookup::Invalid,
        Some((_, session, Some(_), _)) => RefreshLookup::Replayed(session),
        Some((_, _, None, expires)) if expires <= Utc::now() => RefreshLookup::Invalid,
        Some((id, session, None, _)) => {
            diesel::update(refresh_tokens::table.find(id))
                .set(refresh_tokens::revoked_at.eq(Utc::now()))
                .execute(conn)?;
            RefreshLookup::Consumed(session)
        }
    })
}

/// How a throttle key slows down: `free` attempts per window, then each attempt blocks the
/// key for `base_delay_seconds * 2^(attempts - free)`, at most `max_delay_seconds`.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub free: i32,
    pub base_delay_seconds: i64,
    pub max_delay_seconds: i64,
    pub window_seconds: i64,
}

/// Counts one attempt for `key` unless it is blocked, in one statement under the row's lock.
/// `Ok(None)`: the attempt may go on. `Ok(Some(t))`: blocked until `t`, nothing counted.
pub fn take_attempt(
    conn: &mut Conn,
    key: &str,
    policy: ThrottlePolicy,
) -> DbResult<Option<DateTime<Utc>>> {
    use diesel::sql_types::{BigInt, Integer, Nullable, Timestamptz};
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        blocked_until: Option<DateTime<Utc>>,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        counted: bool,
    }
    // The CTE reads the previous state; the upsert counts only when not blocked. A fresh window
    // starts once the previous one is over.
    let taken: Taken = diesel::sql_query(
        "WITH prev AS (SELECT blocked_until FROM login_throttle WHERE subject_key = $1 FOR UPDATE), \
         up AS ( \
           INSERT INTO login_throttle AS t (subject_key, attempts, window_started_at, blocked_until) \
           VALUES ($1, 1, now(), CASE WHEN 1 >= $2 THEN now() + make_interval(secs => LEAST($4, $3)) END) \
           ON CONFLICT (subject_key) DO UPDATE SET \
             attempts = CASE WHEN t.window_started_at <= now() - make_interval(secs => $5) THEN 1 ELSE t.attempts + 1 END, \
             window_started_at = CASE WHEN t.window_started_at <= now() - make_interval(secs => $5) THEN now() ELSE t.window_started_at END, \
             blocked_until = CASE \
               WHEN (CASE WHEN t.window_started_at <= now() - make_interval(secs => $5) THEN 1 ELSE t.attempts + 1 END) >= $2 \
               THEN now() + make_interval(secs => LEAST($4::float8, $3::float8 * power(2, (CASE WHEN t.window_started_at <= now() - make_interval(secs => $5) THEN 1 ELSE t.attempts + 1 END) - $2))) \
             END \
           WHERE t.blocked_until IS NULL OR t.blocked_until <= now() \
           RETURNING 1 \
         ) \
         SELECT (SELECT blocked_until FROM prev) AS blocked_until, EXISTS (SELECT 1 FROM up) AS counted",
    )
    .bind::<Text, _>(key)
    .bind::<Integer, _>(policy.free)
    .bind::<BigInt, _>(policy.base_delay_seconds)
    .bind::<BigInt, _>(policy.max_delay_seconds)
    .bind::<BigInt, _>(policy.window_seconds)
    .get_result(conn)?;
    Ok(if taken.counted {
        None
    } else {
        Some(taken.blocked_until.unwrap_or_else(Utc::now))
    })
}

/// Gives back one counted attempt (a login that succeeded does not use up the address's budget).
pub fn refund_attempt(conn: &mut Conn, key: &str) -> DbResult<()> {
    diesel::update(login_throttle::table.find(key))
        .set(login_throttle::attempts.eq(login_throttle::attempts - 1))
        .filter(login_throttle::attempts.gt(0))
        .execute(conn)?;
    Ok(())
}

/// Forgets a key: the pair of an account and address that just logged in.
pub fn clear_attempts(conn: &mut Conn, key: &str) -> DbResult<()> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

/// Forgets keys whose window and block are both over; returns how many (a periodic job).
pub fn prune_throttle(conn: &mut Conn, max_window: Duration) -> DbResult<usize> {
    let before = Utc::now() - max_window;
    Ok(diesel::delete(
        login_throttle::table
            .filter(login_throttle::window_started_at.lt(before))
            .filter(
                login_throttle::blocked_until
                    .is_null()
                    .or(login_throttle::blocked_until.lt(Utc::now())),
            ),
    )
    .execute(conn)?)
}

/// Forgets sessions and refresh tokens past their deadline (a periodic job).
pub fn prune_sessions(conn: &mut Conn) -> DbResult<usize> {
    let now = Utc::now();
    let tokens = diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(now)))
        .execute(conn)?;
    let sessions =
        diesel::delete(sessions::table.filter(sessions::expires_at.lt(now))).execute(conn)?;
    Ok(tokens + sessions)
}

/// Sets an account's password hash.
pub fn set_password_hash(conn: &mut Conn, account: UserAccountId, hash: &str) -> DbResult<()> {
    diesel::update(user_accounts::table.find(account))
        .set((
            user_accounts::password_hash.eq(hash),
            user_accounts::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The preferred language of the person behind one of the account's memberships, if any.
pub fn language_of(conn: &mut Conn, account: UserAccountId) -> DbResult<Option<String>> {
    use crate::schema::persons;
    Ok(memberships::table
        .inner_join(persons::table.on(persons::id.nullable().eq(memberships::person_id)))
        .filter(memberships::user_account_id.eq(account))
        .select(persons::preferred_language)
        .first(conn)
        .optional()?)
}

/// How many password-reset messages the account was queued since `since`.
pub fn resets_since(
    conn: &mut Conn,
    account: UserAccountId,
    since: chrono::DateTime<Utc>,
) -> DbResult<i64> {
    use crate::schema::outbox_messages;
    Ok(outbox_messages::table
        .filter(outbox_messages::user_account_id.eq(account))
        .filter(outbox_messages::template.eq("password_reset"))
        .filter(outbox_messages::created_at.ge(since))
        .count()
        .get_result(conn)?)
}

/// Notes a login: the inactivity rule counts from it, and a warning given before is void.
pub fn record_login(conn: &mut Conn, account: UserAccountId) -> DbResult<()> {
    diesel::update(user_accounts::table.find(account))
        .set((
            user_accounts::last_login_at.eq(Utc::now()),
            user_accounts::inactivity_warned_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)?;
    Ok(())
}
