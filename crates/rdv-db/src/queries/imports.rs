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

/// A person's changes as one JSON object: a key per column to change (null clears it).
fn person_changes_json(c: &crate::models::PersonChanges) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    let mut text = |k: &str, v: &Option<Option<String>>| {
        if let Some(v) = v {
            m.insert(k.to_owned(), serde_json::json!(v));
        }
    };
    text("civility", &c.civility);
    text("first_name", &c.first_name.clone().map(Some));
    text("last_name", &c.last_name.clone().map(Some));
    text("mobile_phone", &c.mobile_phone);
    text("landline_phone", &c.landline_phone);
    text("company", &c.company);
    text("job_title", &c.job_title);
    text("address_line1", &c.address_line1);
    text("address_line2", &c.address_line2);
    text("postal_code", &c.postal_code);
    text("city", &c.city);
    text("country", &c.country);
    text(
        "preferred_language",
        &c.preferred_language.clone().map(Some),
    );
    for (k, v) in [
        ("optout_marketing_email_at", &c.optout_marketing_email_at),
        ("optout_sms_at", &c.optout_sms_at),
        (
            "optout_phone_prospecting_at",
            &c.optout_phone_prospecting_at,
        ),
    ] {
        if let Some(v) = v {
            m.insert(k.to_owned(), serde_json::json!(v));
        }
    }
    serde_json::Value::Object(m)
}

/// Changes many persons of `org` in one statement: each only in the columns its changes
/// name (the email never: an import finds persons by it). Erased persons are left alone.
pub fn update_persons(
    conn: &mut Conn,
    org: OrganizationId,
    changes: &[(PersonId, crate::models::PersonChanges)],
) -> DbResult<usize> {
    if changes.is_empty() {
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = changes
        .iter()
        .map(|(id, c)| serde_json::json!({"id": id.0, "c": person_changes_json(c)}))
        .collect();
    let set =
        |col: &str| format!("{col} = CASE WHEN v.c ? '{col}' THEN v.c->>'{col}' ELSE p.{col} END");
    let at = |col: &str| {
        format!(
            "{col} = CASE WHEN v.c ? '{col}' THEN (v.c->>'{col}')::timestamptz ELSE p.{col} END"
        )
    };
    let columns = [
        "civility",
        "first_name",
        "last_name",
        "mobile_phone",
        "landline_phone",
        "company",
        "job_title",
        "address_line1",
        "address_line2",
        "postal_code",
        "city",
        "country",
        "preferred_language",
    ]
    .iter()
    .map(|c| set(c))
    .chain(
        [
            "optout_marketing_email_at",
            "optout_sms_at",
            "optout_phone_prospecting_at",
        ]
        .iter()
        .map(|c| at(c)),
    )
    .collect::<Vec<_>>()
    .join(", ");
    Ok(diesel::sql_query(format!(
        "UPDATE persons p SET {columns}, updated_at = now() \
         FROM (SELECT (e->>'id')::bigint AS id, e->'c' AS c FROM jsonb_array_elements($2) e) v \
         WHERE p.id = v.id AND p.organization_id = $1 AND p.erased_at IS NULL"
    ))
    .bind::<diesel::sql_types::BigInt, _>(org.0)
    .bind::<diesel::sql_types::Jsonb, _>(serde_json::Value::Array(rows))
    .execute(conn)?)
}

/// Changes many registrations of `org` in one statement, each only in the columns its
/// changes name.
pub fn update_registrations(
    conn: &mut Conn,
    org: OrganizationId,
    changes: &[(RegistrationId, crate::models::RegistrationChanges)],
) -> DbResult<usize> {
    if changes.is_empty() {
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = changes
        .iter()
        .map(|(id, c)| {
            let mut m = serde_json::Map::new();
            if let Some(t) = c.participant_type {
                m.insert("participant_type".into(), serde_json::json!(t.as_str()));
            }
            for (k, v) in [
                ("company_description", &c.company_description),
                ("offers", &c.offers),
                ("needs", &c.needs),
                ("stand", &c.stand),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), serde_json::json!(v));
                }
            }
            if let Some(v) = &c.sectors {
                m.insert("sectors".into(), serde_json::json!(v));
            }
            if let Some(v) = &c.languages {
                m.insert("languages".into(), serde_json::json!(v));
            }
            if let Some(v) = c.meeting_quota {
                m.insert("meeting_quota".into(), serde_json::json!(v));
            }
            serde_json::json!({"id": id.0, "c": m})
        })
        .collect();
    let text =
        |col: &str| format!("{col} = CASE WHEN v.c ? '{col}' THEN v.c->>'{col}' ELSE r.{col} END");
    let list = |col: &str| {
        format!(
            "{col} = CASE WHEN v.c ? '{col}' THEN ARRAY(SELECT jsonb_array_elements_text(v.c->'{col}')) ELSE r.{col} END"
        )
    };
    let columns = [
        text("participant_type"),
        text("company_description"),
        text("offers"),
        text("needs"),
        text("stand"),
        list("sectors"),
        list("languages"),
        "meeting_quota = CASE WHEN v.c ? 'meeting_quota' THEN (v.c->>'meeting_quota')::integer ELSE r.meeting_quota END".to_owned(),
    ]
    .join(", ");
    Ok(diesel::sql_query(format!(
        "UPDATE registrations r SET {columns}, updated_at = now() \
         FROM (SELECT (e->>'id')::bigint AS id, e->'c' AS c FROM jsonb_array_elements($2) e) v \
         WHERE r.id = v.id AND r.organization_id = $1 AND r.erased_at IS NULL"
    ))
    .bind::<diesel::sql_types::BigInt, _>(org.0)
    .bind::<diesel::sql_types::Jsonb, _>(serde_json::Value::Array(rows))
    .execute(conn)?)
}
