//! Imports: uploaded files, the passes that check and write them, their problems; and the
//! bulk reads and writes an import needs (the organization's persons by email, many persons
//! and registrations at once).

use crate::models::{Import, ImportProblem, NewImport, NewPersonWithOptOuts, NewRegistration};
use crate::schema::{import_problems, imports, persons, registrations};
use crate::{Conn, DbResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rdv_domain::{
    DataSource, EventId, ImportId, ImportStatus, JobId, OrganizationId, PersonId, RegistrationId,
};

pub fn insert(conn: &mut Conn, new: &NewImport<'_>) -> DbResult<Import> {
    Ok(diesel::insert_into(imports::table)
        .values(new)
        .returning(Import::as_returning())
        .get_result(conn)?)
}

/// The import `id` of `org`, unless it has expired.
pub fn get(conn: &mut Conn, org: OrganizationId, id: ImportId) -> DbResult<Import> {
    Ok(imports::table
        .filter(imports::id.eq(id))
        .filter(imports::organization_id.eq(org))
        .filter(imports::retention_until.gt(Utc::now()))
        .filter(imports::erased_at.is_null())
        .select(Import::as_select())
        .first(conn)?)
}

/// The import `id` whatever its organization, for the worker that runs it.
pub fn get_any(conn: &mut Conn, id: ImportId) -> DbResult<Import> {
    Ok(imports::table
        .find(id)
        .select(Import::as_select())
        .first(conn)?)
}

/// The organization's imports that have not expired (of one event, or all), newest first.
pub fn list(conn: &mut Conn, org: OrganizationId, event: Option<EventId>) -> DbResult<Vec<Import>> {
    let mut q = imports::table
        .filter(imports::organization_id.eq(org))
        .filter(imports::retention_until.gt(Utc::now()))
        .filter(imports::erased_at.is_null())
        .into_boxed();
    if let Some(e) = event {
        q = q.filter(imports::event_id.eq(e));
    }
    Ok(q.order(imports::id.desc())
        .limit(200)
        .select(Import::as_select())
        .load(conn)?)
}

/// The uploaded file and the decisions of the last pass.
pub fn content(conn: &mut Conn, id: ImportId) -> DbResult<(Vec<u8>, Option<String>)> {
    Ok(imports::table
        .find(id)
        .select((imports::content, imports::decisions))
        .first(conn)?)
}

/// Starts a pass: moves the import from one of `from` to `to`, with the pass's mapping,
/// options and job. False when the import is in none of `from` (another pass runs, or it
/// is done).
#[allow(clippy::too_many_arguments)]
pub fn begin_pass(
    conn: &mut Conn,
    id: ImportId,
    from: &[ImportStatus],
    to: ImportStatus,
    writes: bool,
    mapping: &serde_json::Value,
    options: &serde_json::Value,
) -> DbResult<bool> {
    let n = diesel::update(
        imports::table
            .filter(imports::id.eq(id))
            .filter(imports::status.eq_any(from)),
    )
    .set((
        imports::status.eq(to),
        imports::writes.eq(writes),
        imports::mapping.eq(mapping),
        imports::options.eq(options),
        imports::progress.eq(serde_json::json!({})),
        imports::error.eq(None::<String>),
        imports::finished_at.eq(None::<DateTime<Utc>>),
        imports::updated_at.eq(Utc::now()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn set_job(conn: &mut Conn, id: ImportId, job: JobId) -> DbResult<()> {
    diesel::update(imports::table.find(id))
        .set(imports::job_id.eq(job))
        .execute(conn)?;
    Ok(())
}

pub fn progress(conn: &mut Conn, id: ImportId, progress: &serde_json::Value) -> DbResult<()> {
    diesel::update(imports::table.find(id))
        .set((
            imports::progress.eq(progress),
            imports::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Adds persons the import created or changed.
pub fn add_persons(conn: &mut Conn, id: ImportId, persons: &[i64]) -> DbResult<()> {
    if persons.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE imports SET person_ids = (SELECT array_agg(DISTINCT p) FROM unnest(person_ids || $2) p) WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id.0)
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(persons)
    .execute(conn)?;
    Ok(())
}

/// Ends a pass with its status, counts, per-row decisions and error.
pub fn finish_pass(
    conn: &mut Conn,
    id: ImportId,
    status: ImportStatus,
    progress: &serde_json::Value,
    decisions: Option<&str>,
    error: Option<&str>,
) -> DbResult<()> {
    diesel::update(imports::table.find(id))
        .set((
            imports::status.eq(status),
            imports::progress.eq(progress),
            imports::error.eq(error),
            imports::finished_at.eq(Utc::now()),
            imports::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    // A pass that failed keeps the decisions of the rows it wrote.
    if let Some(d) = decisions {
        diesel::update(imports::table.find(id))
            .set(imports::decisions.eq(d))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces the problems of the last pass.
pub fn clear_problems(conn: &mut Conn, id: ImportId) -> DbResult<()> {
    diesel::delete(import_problems::table.filter(import_problems::import_id.eq(id)))
        .execute(conn)?;
    Ok(())
}

pub fn add_problems(conn: &mut Conn, problems: &[ImportProblem]) -> DbResult<()> {
    // PostgreSQL takes at most 65535 parameters per statement: 7 per row.
    for chunk in problems.chunks(5000) {
        diesel::insert_into(import_problems::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(())
}

/// The problems of the last pass, in row order.
pub fn problems(conn: &mut Conn, id: ImportId, limit: i64) -> DbResult<Vec<ImportProblem>> {
    Ok(import_problems::table
        .filter(import_problems::import_id.eq(id))
        .order((import_problems::row_index, import_problems::seq))
        .limit(limit)
        .select(ImportProblem::as_select())
        .load(conn)?)
}

/// Deletes the imports whose retention has passed; returns how many.
pub fn prune(conn: &mut Conn, now: DateTime<Utc>) -> DbResult<usize> {
    Ok(diesel::delete(imports::table.filter(imports::retention_until.le(now))).execute(conn)?)
}

/// What an import needs to know of a person already in the organization.
#[derive(Debug, Clone, Queryable)]
pub struct KnownPerson {
    pub id: PersonId,
    pub email: String,
    pub source: DataSource,
    pub restricted_at: Option<DateTime<Utc>>,
    pub optout_marketing_email_at: Option<DateTime<Utc>>,
    pub optout_sms_at: Option<DateTime<Utc>>,
    pub optout_phone_prospecting_at: Option<DateTime<Utc>>,
}

/// Every person of the organization not erased, for matching by email.
pub fn known_persons(conn: &mut Conn, org: OrganizationId) -> DbResult<Vec<KnownPerson>> {
    Ok(persons::table
        .filter(persons::organization_id.eq(org))
        .filter(persons::erased_at.is_null())
        .select((
            persons::id,
            persons::email,
            persons::source,
            persons::restricted_at,
            persons::optout_marketing_email_at,
            persons::optout_sms_at,
            persons::optout_phone_prospecting_at,
        ))
        .load(conn)?)
}

/// A registration as an import sees it: the person, the registration, its restriction, its
/// participant type.
pub type KnownRegistration = (
    PersonId,
    RegistrationId,
    Option<DateTime<Utc>>,
    rdv_domain::ParticipantType,
);

/// The registrations of an event.
pub fn registrations_of_event(conn: &mut Conn, event: EventId) -> DbResult<Vec<KnownRegistration>> {
    Ok(registrations::table
        .filter(registrations::event_id.eq(event))
        .filter(registrations::erased_at.is_null())
        .select((
            registrations::person_id,
            registrations::id,
            registrations::restricted_at,
            registrations::participant_type,
        ))
        .load(conn)?)
}

/// Inserts many persons at once; their ids in the order given.
pub fn create_persons(conn: &mut Conn, new: &[NewPersonWithOptOuts]) -> DbResult<Vec<PersonId>> {
    let mut ids = Vec::with_capacity(new.len());
    // 25 columns a row, under PostgreSQL's 65535 parameters.
    for chunk in new.chunks(2000) {
        let got: Vec<PersonId> = diesel::insert_into(persons::table)
            .values(chunk)
            .returning(persons::id)
            .get_results(conn)?;
        ids.extend(got);
    }
    Ok(ids)
}

/// Inserts many registrations at once; their ids in the order given.
pub fn create_registrations(
    conn: &mut Conn,
    new: &[NewRegistration],
) -> DbResult<Vec<RegistrationId>> {
    let mut ids = Vec::with_capacity(new.len());
    for chunk in new.chunks(2000) {
        let got: Vec<RegistrationId> = diesel::insert_into(registrations::table)
            .values(chunk)
            .returning(registrations::id)
            .get_results(conn)?;
        ids.extend(got);
    }
    Ok(ids)
}

/// Extends the retention of many persons to at least `until`.
pub fn extend_retention(
    conn: &mut Conn,
    persons: &[PersonId],
    until: DateTime<Utc>,
) -> DbResult<()> {
    diesel::update(
        persons::table
            .filter(persons::id.eq_any(persons))
            .filter(persons::retention_until.lt(until)),
    )
    .set(persons::retention_until.eq(until))
    .execute(conn)?;
    Ok(())
}

/// Writes registration-form answers, merged into those already given (the columns of an
/// import answer some questions, not all).
pub fn merge_answers(
    conn: &mut Conn,
    rows: &[crate::models::NewRegistrationAnswers],
) -> DbResult<()> {
    use crate::schema::registration_answers as ra;
    for new in rows {
        diesel::insert_into(ra::table)
            .values(new)
            .on_conflict(ra::registration_id)
            .do_update()
            .set((
                ra::answers.eq(diesel::dsl::sql::<diesel::sql_types::Jsonb>(
                    "registration_answers.answers || excluded.answers",
                )),
                ra::submitted_at.eq(new.submitted_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Names the event's tables `number`: label (the tables exist).
pub fn label_tables(conn: &mut Conn, event: EventId, labels: &[(i32, String)]) -> DbResult<()> {
    use crate::schema::meeting_tables as mt;
    for (number, label) in labels {
        diesel::update(
            mt::table
                .filter(mt::event_id.eq(event))
                .filter(mt::number.eq(number)),
        )
        .set(mt::label.eq(label))
        .execute(conn)?;
    }
    Ok(())
}

/// How many tables the event has.
pub fn table_count(conn: &mut Conn, event: EventId) -> DbResult<i32> {
    use crate::schema::meeting_tables as mt;
    let n: Option<i32> = mt::table
        .filter(mt::event_id.eq(event))
        .select(diesel::dsl::max(mt::number))
        .first(conn)?;
    Ok(n.unwrap_or(0))
}
