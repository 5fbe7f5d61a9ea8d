//! User accounts, memberships, refresh tokens and failed-login throttling.

use crate::models::{Membership, UserAccount};
use crate::schema::{login_failures, memberships, refresh_tokens, user_accounts};
use crate::{Conn, DbResult};
use chrono::{DateTime, Duration, Utc};
use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use rdv_domain::{MembershipId, OrganizationId, PersonId, Role, UserAccountId};

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

pub fn store_refresh_token(
    conn: &mut Conn,
    account: UserAccountId,
    membership: MembershipId,
    token_sha256: &str,
    expires_at: DateTime<Utc>,
) -> DbResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::user_account_id.eq(account),
            refresh_tokens::membership_id.eq(membership),
            refresh_tokens::token_sha256.eq(token_sha256),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Revokes a live refresh token and returns its account and membership; `None` when the
/// token is unknown, expired or already revoked. Using a token consumes it (rotation).
pub fn consume_refresh_token(
    conn: &mut Conn,
    token_sha256: &str,
) -> DbResult<Option<(UserAccountId, MembershipId)>> {
    Ok(diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::token_sha256.eq(token_sha256))
        .filter(refresh_tokens::revoked_at.is_null())
        .filter(refresh_tokens::expires_at.gt(Utc::now()))
        .set(refresh_tokens::revoked_at.eq(Utc::now()))
        .returning((
            refresh_tokens::user_account_id,
            refresh_tokens::membership_id,
        ))
        .get_result(conn)
        .optional()?)
}

pub fn record_login_failure(conn: &mut Conn, subject_key: &str) -> DbResult<()> {
    diesel::insert_into(login_failures::table)
        .values(login_failures::subject_key.eq(subject_key))
        .execute(conn)?;
    Ok(())
}

/// Failures for `subject_key` within `window`, and the time the oldest of them leaves it.
pub fn recent_login_failures(
    conn: &mut Conn,
    subject_key: &str,
    window: Duration,
) -> DbResult<(i64, Option<DateTime<Utc>>)> {
    let since = Utc::now() - window;
    let (n, oldest): (i64, Option<DateTime<Utc>>) = login_failures::table
        .filter(login_failures::subject_key.eq(subject_key))
        .filter(login_failures::failed_at.gt(since))
        .select((count_star(), diesel::dsl::min(login_failures::failed_at)))
        .first(conn)?;
    Ok((n, oldest.map(|t| t + window)))
}

pub fn clear_login_failures(conn: &mut Conn, subject_key: &str) -> DbResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::subject_key.eq(subject_key)))
        .execute(conn)?;
    Ok(())
}

/// Forgets failures older than a day: throttling never looks further back.
pub fn prune_login_failures(conn: &mut Conn) -> DbResult<usize> {
    Ok(diesel::delete(
        login_failures::table.filter(login_failures::failed_at.lt(Utc::now() - Duration::days(1))),
    )
    .execute(conn)?)
}
