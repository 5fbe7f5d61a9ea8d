//! Rights requests and retention sweeps: the privacy engine's own rows.

use crate::models::{NewRightsRequest, RightsRequest, Sweep};
use crate::queries::{Page, Paged};
use crate::schema::{privacy_requests, privacy_sweeps};
use crate::{Conn, DbResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rdv_domain::{
    JobId, OrganizationId, PersonId, RightsRequestId, RightsRequestState, SweepId, UserAccountId,
};

pub fn insert(conn: &mut Conn, new: &NewRightsRequest) -> DbResult<RightsRequest> {
    Ok(diesel::insert_into(privacy_requests::table)
        .values(new)
        .returning(RightsRequest::as_returning())
        .get_result(conn)?)
}

/// The request `id` of `org`.
pub fn get(conn: &mut Conn, org: OrganizationId, id: RightsRequestId) -> DbResult<RightsRequest> {
    Ok(privacy_requests::table
        .filter(privacy_requests::id.eq(id))
        .filter(privacy_requests::organization_id.eq(org))
        .select(RightsRequest::as_select())
        .first(conn)?)
}

/// The request `id` whatever its organization, for the worker that answers it.
pub fn get_any(conn: &mut Conn, id: RightsRequestId) -> DbResult<RightsRequest> {
    Ok(privacy_requests::table
        .find(id)
        .select(RightsRequest::as_select())
        .first(conn)?)
}

/// The organization's requests by due date (the oldest deadline first), open ones only
/// unless `all`.
pub fn queue(
    conn: &mut Conn,
    org: OrganizationId,
    all: bool,
    page: Page,
) -> DbResult<Paged<RightsRequest>> {
    let filtered = || {
        let mut q = privacy_requests::table
            .filter(privacy_requests::organization_id.eq(org))
            .into_boxed();
        if !all {
            q = q.filter(
                privacy_requests::state
                    .eq_any([RightsRequestState::Received, RightsRequestState::InProgress]),
            );
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let items = filtered()
        .order((privacy_requests::due_at.asc(), privacy_requests::id.asc()))
        .limit(page.limit)
        .offset(page.offset)
        .select(RightsRequest::as_select())
        .load(conn)?;
    Ok(Paged { items, total })
}

/// The person's requests, newest first.
pub fn of_person(
    conn: &mut Conn,
    org: OrganizationId,
    person: PersonId,
) -> DbResult<Vec<RightsRequest>> {
    Ok(privacy_requests::table
        .filter(privacy_requests::organization_id.eq(org))
        .filter(privacy_requests::person_id.eq(person))
        .order(privacy_requests::id.desc())
        .select(RightsRequest::as_select())
        .load(conn)?)
}

/// Moves a request on: `done` or `rejected` end it, recording who and what.
pub fn set_state(
    conn: &mut Conn,
    id: RightsRequestId,
    state: RightsRequestState,
    handled_by: Option<UserAccountId>,
    outcome: &serde_json::Value,
    note: Option<&str>,
) -> DbResult<RightsRequest> {
    let ended = matches!(
        state,
        RightsRequestState::Done | RightsRequestState::Rejected
    );
    Ok(diesel::update(privacy_requests::table.find(id))
        .set((
            privacy_requests::state.eq(state),
            privacy_requests::handled_by.eq(handled_by),
            privacy_requests::handled_at.eq(ended.then(Utc::now)),
            privacy_requests::outcome.eq(outcome),
            privacy_requests::note.eq(note),
            privacy_requests::updated_at.eq(Utc::now()),
        ))
        .returning(RightsRequest::as_returning())
        .get_result(conn)?)
}

pub fn set_job(conn: &mut Conn, id: RightsRequestId, job: JobId) -> DbResult<()> {
    diesel::update(privacy_requests::table.find(id))
        .set(privacy_requests::job_id.eq(job))
        .execute(conn)?;
    Ok(())
}

/// Stores the archive of an access or portability request and ends the request.
pub fn store_archive(
    conn: &mut Conn,
    id: RightsRequestId,
    bytes: &[u8],
    expires: DateTime<Utc>,
    outcome: &serde_json::Value,
) -> DbResult<RightsRequest> {
    // Only a request still waiting for its archive takes it (not one rejected meanwhile).
    Ok(diesel::update(
        privacy_requests::table
            .find(id)
            .filter(privacy_requests::state.eq(RightsRequestState::InProgress)),
    )
    .set((
        privacy_requests::archive.eq(bytes),
        privacy_requests::archive_expires_at.eq(expires),
        privacy_requests::state.eq(RightsRequestState::Done),
        privacy_requests::handled_at.eq(Utc::now()),
        privacy_requests::outcome.eq(outcome),
        privacy_requests::updated_at.eq(Utc::now()),
    ))
    .returning(RightsRequest::as_returning())
    .get_result(conn)?)
}

/// The archive of request `id` of `org`, while it has not expired.
pub fn archive(
    conn: &mut Conn,
    org: OrganizationId,
    id: RightsRequestId,
) -> DbResult<Option<Vec<u8>>> {
    Ok(privacy_requests::table
        .filter(privacy_requests::id.eq(id))
        .filter(privacy_requests::organization_id.eq(org))
        .filter(privacy_requests::archive_expires_at.gt(Utc::now()))
        .select(privacy_requests::archive)
        .first::<Option<Vec<u8>>>(conn)
        .optional()?
        .flatten())
}

/// Forgets archives past their deadline.
pub fn prune_archives(conn: &mut Conn) -> DbResult<usize> {
    Ok(diesel::update(
        privacy_requests::table
            .filter(privacy_requests::archive_expires_at.le(Utc::now()))
            .filter(privacy_requests::archive.is_not_null()),
    )
    .set(privacy_requests::archive.eq(None::<Vec<u8>>))
    .execute(conn)?)
}

pub fn set_scan_digest(
    conn: &mut Conn,
    id: RightsRequestId,
    digest: &serde_json::Value,
) -> DbResult<()> {
    diesel::update(privacy_requests::table.find(id))
        .set(privacy_requests::scan_digest.eq(digest))
        .execute(conn)?;
    Ok(())
}

/// The scan digests recorded when the person was erased, newest first.
pub fn scan_digests(conn: &mut Conn, person: PersonId) -> DbResult<Vec<serde_json::Value>> {
    Ok(privacy_requests::table
        .filter(privacy_requests::person_id.eq(person))
        .filter(privacy_requests::scan_digest.is_not_null())
        .order(privacy_requests::id.desc())
        .select(privacy_requests::scan_digest.assume_not_null())
        .load(conn)?)
}

pub fn sweep_start(conn: &mut Conn, dry_run: bool, by: Option<UserAccountId>) -> DbResult<Sweep> {
    Ok(diesel::insert_into(privacy_sweeps::table)
        .values((
            privacy_sweeps::dry_run.eq(dry_run),
            privacy_sweeps::started_by.eq(by),
        ))
        .returning(Sweep::as_returning())
        .get_result(conn)?)
}

pub fn sweep_finish(
    conn: &mut Conn,
    id: SweepId,
    report: &serde_json::Value,
    error: Option<&str>,
) -> DbResult<Sweep> {
    Ok(diesel::update(privacy_sweeps::table.find(id))
        .set((
            privacy_sweeps::status.eq(if error.is_some() { "failed" } else { "done" }),
            privacy_sweeps::finished_at.eq(Utc::now()),
            privacy_sweeps::report.eq(report),
            privacy_sweeps::error.eq(error),
        ))
        .returning(Sweep::as_returning())
        .get_result(conn)?)
}

/// The latest sweeps, newest first.
pub fn sweeps(conn: &mut Conn, limit: i64) -> DbResult<Vec<Sweep>> {
    Ok(privacy_sweeps::table
        .order(privacy_sweeps::id.desc())
        .limit(limit)
        .select(Sweep::as_select())
        .load(conn)?)
}
