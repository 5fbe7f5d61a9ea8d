//! What the search indexes read: registrations with their person, and the outbox of changes.
//! Rows come back whatever their state (erased, restricted, refused, hidden); the index decides
//! what is visible, and removes what no longer is.

use crate::models::{Person, Registration};
use crate::schema::{persons, registrations, search_outbox};
use crate::{Conn, DbResult};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use rdv_domain::RegistrationId;

/// The registrations with these ids, with their person; ids not found are simply absent.
pub fn rows(conn: &mut Conn, ids: &[RegistrationId]) -> DbResult<Vec<(Registration, Person)>> {
    Ok(registrations::table
        .inner_join(persons::table)
        .filter(registrations::id.eq_any(ids))
        .select((Registration::as_select(), Person::as_select()))
        .load(conn)?)
}

/// A batch of every registration, in id order, after `after`: for rebuilding an index.
pub fn batch_after(
    conn: &mut Conn,
    after: RegistrationId,
    limit: i64,
) -> DbResult<Vec<(Registration, Person)>> {
    Ok(registrations::table
        .inner_join(persons::table)
        .filter(registrations::id.gt(after))
        .order(registrations::id)
        .limit(limit)
        .select((Registration::as_select(), Person::as_select()))
        .load(conn)?)
}

/// Outbox entries after `after`, oldest first: (outbox id, registration id).
pub fn outbox_after(
    conn: &mut Conn,
    after: i64,
    limit: i64,
) -> DbResult<Vec<(i64, RegistrationId)>> {
    Ok(search_outbox::table
        .filter(search_outbox::id.gt(after))
        .order(search_outbox::id)
        .limit(limit)
        .select((search_outbox::id, search_outbox::registration_id))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .map(|(id, r)| (id, RegistrationId(r)))
        .collect())
}

/// The newest outbox id (0 when empty): where an index rebuilt now starts following.
pub fn outbox_head(conn: &mut Conn) -> DbResult<i64> {
    Ok(search_outbox::table
        .select(diesel::dsl::max(search_outbox::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Forgets entries older than `keep`: an index further behind than that rebuilds instead.
pub fn prune_outbox(conn: &mut Conn, keep: Duration) -> DbResult<usize> {
    Ok(diesel::delete(
        search_outbox::table.filter(search_outbox::enqueued_at.lt(Utc::now() - keep)),
    )
    .execute(conn)?)
}
