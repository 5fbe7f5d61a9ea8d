//! Exports: files built in the background for an organizer, downloaded, then deleted when
//! they expire.

use crate::models::{Export, NewExport};
use crate::schema::exports;
use crate::{Conn, DbResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rdv_domain::{EventId, ExportId, ExportStatus, OrganizationId};

pub fn insert(conn: &mut Conn, new: &NewExport) -> DbResult<Export> {
    Ok(diesel::insert_into(exports::table)
        .values(new)
        .returning(Export::as_returning())
        .get_result(conn)?)
}

/// The export `id` of `org`, unless it has expired.
pub fn get(conn: &mut Conn, org: OrganizationId, id: ExportId) -> DbResult<Export> {
    Ok(exports::table
        .filter(exports::id.eq(id))
        .filter(exports::organization_id.eq(org))
        .filter(exports::retention_until.gt(Utc::now()))
        .filter(exports::erased_at.is_null())
        .select(Export::as_select())
        .first(conn)?)
}

/// The export `id` whatever its organization, for the worker that builds it.
pub fn get_any(conn: &mut Conn, id: ExportId) -> DbResult<Export> {
    Ok(exports::table
        .find(id)
        .select(Export::as_select())
        .first(conn)?)
}

/// The event's exports that have not expired, newest first.
pub fn of_event(conn: &mut Conn, org: OrganizationId, event: EventId) -> DbResult<Vec<Export>> {
    Ok(exports::table
        .filter(exports::event_id.eq(event))
        .filter(exports::organization_id.eq(org))
        .filter(exports::retention_until.gt(Utc::now()))
        .filter(exports::erased_at.is_null())
        .order(exports::id.desc())
        .select(Export::as_select())
        .load(conn)?)
}

/// The file of a finished export: its name, content type, bytes and the persons it names.
pub fn file(
    conn: &mut Conn,
    org: OrganizationId,
    id: ExportId,
) -> DbResult<(String, String, Vec<u8>, Vec<i64>)> {
    let (name, kind, bytes, persons): (Option<String>, Option<String>, Option<Vec<u8>>, Vec<i64>) =
        exports::table
            .filter(exports::id.eq(id))
            .filter(exports::organization_id.eq(org))
            .filter(exports::status.eq(ExportStatus::Done))
            .filter(exports::retention_until.gt(Utc::now()))
            .filter(exports::erased_at.is_null())
            .select((
                exports::file_name,
                exports::content_type,
                exports::content,
                exports::person_ids,
            ))
            .first(conn)?;
    match (name, kind, bytes) {
        (Some(n), Some(k), Some(b)) => Ok((n, k, b, persons)),
        _ => Err(crate::DbError::NotFound),
    }
}

pub fn set_job(conn: &mut Conn, id: ExportId, job: rdv_domain::JobId) -> DbResult<()> {
    diesel::update(exports::table.find(id))
        .set(exports::job_id.eq(job))
        .execute(conn)?;
    Ok(())
}

/// Marks a queued export running; false when it is not queued (or no longer exists).
pub fn start(conn: &mut Conn, id: ExportId) -> DbResult<bool> {
    let n = diesel::update(
        exports::table
            .filter(exports::id.eq(id))
            .filter(exports::status.eq_any([ExportStatus::Queued, ExportStatus::Running])),
    )
    .set(exports::status.eq(ExportStatus::Running))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn progress(conn: &mut Conn, id: ExportId, progress: &serde_json::Value) -> DbResult<()> {
    diesel::update(exports::table.find(id))
        .set(exports::progress.eq(progress))
        .execute(conn)?;
    Ok(())
}

/// Stores the finished file.
pub fn finish(
    conn: &mut Conn,
    id: ExportId,
    file_name: &str,
    content_type: &str,
    content: &[u8],
    persons: &[i64],
    progress: &serde_json::Value,
) -> DbResult<()> {
    diesel::update(exports::table.find(id))
        .set((
            exports::status.eq(ExportStatus::Done),
            exports::file_name.eq(file_name),
            exports::content_type.eq(content_type),
            exports::size_bytes.eq(content.len() as i64),
            exports::content.eq(content),
            exports::person_ids.eq(persons),
            exports::progress.eq(progress),
            exports::finished_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn fail(conn: &mut Conn, id: ExportId, error: &str) -> DbResult<()> {
    diesel::update(exports::table.find(id))
        .set((
            exports::status.eq(ExportStatus::Failed),
            exports::error.eq(error),
            exports::finished_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes the exports whose retention has passed; returns how many.
pub fn prune(conn: &mut Conn, now: DateTime<Utc>) -> DbResult<usize> {
    Ok(diesel::delete(exports::table.filter(exports::retention_until.le(now))).execute(conn)?)
}
