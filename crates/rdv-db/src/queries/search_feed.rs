//! What the search indexes read: registrations with their person, and the outbox of changes.
//! Rows come back whatever their state (erased, restricted, refused, hidden); the index decides
//! what is visible, and removes what no longer is.

use crate::models::{Person, Registration};
use crate::schema::{persons, registrations, search_outbox, search_outbox_horizon};
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

/// Outbox rows (xid, id, registration id) as positions.
fn positions(rows: Vec<(i64, i64, i64)>) -> Vec<(OutboxPosition, RegistrationId)> {
    rows.into_iter()
        .map(|(xid, id, r)| (OutboxPosition { xid, id }, RegistrationId(r)))
        .collect()
}

/// A position in the outbox, in (writer's transaction id, entry id) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct OutboxPosition {
    pub xid: i64,
    pub id: i64,
}

/// The oldest transaction id that may still be running: every entry written by a transaction
/// below it is visible now, or never will be.
pub fn horizon(conn: &mut Conn) -> DbResult<i64> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        xmin: i64,
    }
    Ok(
        diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin")
            .get_result::<Row>(conn)?
            .xmin,
    )
}

/// Entries after `after` written by transactions below `horizon`, in position order:
/// (position, registration id). None of them can appear later below the last one returned.
pub fn settled_after(
    conn: &mut Conn,
    after: OutboxPosition,
    horizon: i64,
    limit: i64,
) -> DbResult<Vec<(OutboxPosition, RegistrationId)>> {
    Ok(search_outbox::table
        .filter(search_outbox::xid.lt(horizon))
        .filter(
            search_outbox::xid.gt(after.xid).or(search_outbox::xid
                .eq(after.xid)
                .and(search_outbox::id.gt(after.id))),
        )
        .order((search_outbox::xid, search_outbox::id))
        .limit(limit)
        .select((
            search_outbox::xid,
            search_outbox::id,
            search_outbox::registration_id,
        ))
        .load::<(i64, i64, i64)>(conn)
        .map(positions)?)
}

/// Entries of transactions at or above `horizon` that are already visible (committed early,
/// while an older transaction still runs), in position order.
pub fn unsettled(
    conn: &mut Conn,
    horizon: i64,
    limit: i64,
) -> DbResult<Vec<(OutboxPosition, RegistrationId)>> {
    Ok(search_outbox::table
        .filter(search_outbox::xid.ge(horizon))
        .order((search_outbox::xid, search_outbox::id))
        .limit(limit)
        .select((
            search_outbox::xid,
            search_outbox::id,
            search_outbox::registration_id,
        ))
        .load::<(i64, i64, i64)>(conn)
        .map(positions)?)
}

/// Below this transaction id the outbox was pruned: an index positioned lower must rebuild.
pub fn pruned_below(conn: &mut Conn) -> DbResult<i64> {
    Ok(search_outbox_horizon::table
        .select(search_outbox_horizon::pruned_below_xid)
        .first(conn)?)
}

/// Forgets entries older than `keep` that are settled below the current horizon, and records
/// how far pruning went; returns how many entries went.
pub fn prune_outbox(conn: &mut Conn, keep: Duration) -> DbResult<usize> {
    conn.transaction(|conn| {
        let horizon = horizon(conn)?;
        let cutoff = Utc::now() - keep;
        // The highest transaction id among the entries that go: positions at or below it
        // may have lost entries.
        let top: Option<i64> = search_outbox::table
            .filter(search_outbox::enqueued_at.lt(cutoff))
            .filter(search_outbox::xid.lt(horizon))
            .select(diesel::dsl::max(search_outbox::xid))
            .first(conn)?;
        let Some(top) = top else { return Ok(0) };
        let n = diesel::delete(search_outbox::table.filter(search_outbox::xid.le(top)))
            .execute(conn)?;
        diesel::update(search_outbox_horizon::table)
            .set(search_outbox_horizon::pruned_below_xid.eq(top + 1))
            .execute(conn)?;
        Ok(n)
    })
}
