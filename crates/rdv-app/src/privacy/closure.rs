//! The end of an organizer's contract. A platform admin closes the organization: a worker
//! builds the complete export of its data (every table the organization owns, as JSON and one
//! CSV per table, in a zip) for its organizers to download; after the delay (10 days unless
//! said otherwise) another job deletes everything of the organization except what a legal
//! hold keeps (the audit log, the proof of consents and of rights requests, naming persons by
//! id only), and stores a report of what was deleted and kept.

use super::{archive, erase, Count};
use crate::audit::{self, Audit};
use crate::{jobs, Actor, AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz};
use rdv_db::models::Job;
use rdv_db::Conn;
use rdv_domain::{OrganizationId, PersonId};
use serde_json::{json, Map, Value};
use std::io::Write;

/// The job that builds an organization's closing export.
pub const EXPORT_JOB: &str = "org.export";
/// The job that deletes a closed organization's data once the delay has passed.
pub const PURGE_JOB: &str = "org.purge";
/// Days between the closure and the deletion, unless the platform admin says otherwise.
pub const DEFAULT_DELAY_DAYS: i64 = 10;

#[derive(Debug, Clone, QueryableByName)]
pub struct Closure {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub closed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub purge_after: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub purged_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub closure: Value,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub export_ready: bool,
}

fn closure_of(conn: &mut Conn, org: OrganizationId) -> AppResult<Closure> {
    diesel::sql_query(
        "SELECT id, name, closed_at, purge_after, purged_at, closure, \
         closure_archive IS NOT NULL AS export_ready FROM organizations WHERE id = $1",
    )
    .bind::<BigInt, _>(org.0)
    .get_result(conn)
    .optional()
    .map_err(AppError::internal)?
    .ok_or_else(|| AppError::not_found("organization"))
}

/// Closes the organization: its data is exported for its organizers, then deleted after
/// `delay_days` (1 to 90). Platform admins; 409 when it is closed already.
pub fn close(
    conn: &mut Conn,
    actor: &Actor,
    org: OrganizationId,
    delay_days: Option<i64>,
) -> AppResult<Closure> {
    actor.require_platform_admin()?;
    let days = delay_days.unwrap_or(DEFAULT_DELAY_DAYS);
    if !(1..=90).contains(&days) {
        return Err(AppError::field("delay_days", "must be between 1 and 90"));
    }
    let current = closure_of(conn, org)?;
    if current.closed_at.is_some() {
        return Err(AppError::conflict("the organization is closed already"));
    }
    let purge_after = Utc::now() + Duration::days(days);
    diesel::sql_query(
        "UPDATE organizations SET closed_at = now(), closed_by = $2, purge_after = $3, \
         updated_at = now() WHERE id = $1",
    )
    .bind::<BigInt, _>(org.0)
    .bind::<BigInt, _>(actor.user.0)
    .bind::<Timestamptz, _>(purge_after)
    .execute(conn)
    .map_err(AppError::internal)?;
    enqueue_export(conn, org)?;
    jobs::enqueue(
        conn,
        PURGE_JOB,
        json!({"organization": org.0}),
        purge_after,
        5,
    )?;
    audit::record_as(
        conn,
        Some(org),
        Some(actor.user),
        actor.client_address.clone(),
        Audit {
            action: "organization.close",
            subject_type: "organization",
            subject_ids: vec![org.0],
            person_ids: Vec::new(),
            fields: Vec::new(),
        },
    )?;
    closure_of(conn, org)
}

/// Queues the building of the organization's closing export.
pub(crate) fn enqueue_export(conn: &mut Conn, org: OrganizationId) -> AppResult<()> {
    jobs::enqueue(
        conn,
        EXPORT_JOB,
        json!({"organization": org.0}),
        Utc::now(),
        3,
    )?;
    Ok(())
}

/// Where the closure stands: a platform admin, or an admin of the organization.
pub fn status(conn: &mut Conn, actor: &Actor, org: OrganizationId) -> AppResult<Closure> {
    may_read(actor, org)?;
    closure_of(conn, org)
}

fn may_read(actor: &Actor, org: OrganizationId) -> AppResult<()> {
    if actor.require_platform_admin().is_ok() {
        return Ok(());
    }
    match actor.admin_org() {
        Ok(o) if o == org => Ok(()),
        _ => Err(AppError::not_found("organization")),
    }
}

/// Builds the closing export again (what was written since the closure included): an admin
/// of the organization or a platform admin, until the data is deleted.
pub fn rebuild(conn: &mut Conn, actor: &Actor, org: OrganizationId) -> AppResult<Closure> {
    may_read(actor, org)?;
    let c = closure_of(conn, org)?;
    if c.closed_at.is_none() || c.purged_at.is_some() {
        return Err(AppError::not_found("closing export"));
    }
    diesel::sql_query("UPDATE organizations SET closure_archive = NULL WHERE id = $1")
        .bind::<BigInt, _>(org.0)
        .execute(conn)
        .map_err(AppError::internal)?;
    enqueue_export(conn, org)?;
    closure_of(conn, org)
}

#[derive(QueryableByName)]
struct Archive {
    #[diesel(sql_type = Nullable<Bytea>)]
    closure_archive: Option<Vec<u8>>,
}

/// The closing export, for an admin of the organization (or a platform admin); a bulk read
/// of every person, audited. 409 while it is being built, 404 once the data is deleted.
pub fn download(conn: &mut Conn, actor: &Actor, org: OrganizationId) -> AppResult<Vec<u8>> {
    may_read(actor, org)?;
    let c = closure_of(conn, org)?;
    if c.closed_at.is_none() || c.purged_at.is_some() {
        return Err(AppError::not_found("closing export"));
    }
    let a: Archive = diesel::sql_query("SELECT closure_archive FROM organizations WHERE id = $1")
        .bind::<BigInt, _>(org.0)
        .get_result(conn)
        .map_err(AppError::internal)?;
    let bytes = a
        .closure_archive
        .ok_or_else(|| AppError::conflict("the export is being built: try again shortly"))?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "organization.export_download",
            subject_type: "organization",
            subject_ids: vec![org.0],
            person_ids: Vec::new(),
            fields: vec!["*"],
        },
    )?;
    Ok(bytes)
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    by_org: bool,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

/// Columns no export carries: files, secrets, digests.
const NEVER_EXPORTED: &str =
    "'{content,archive,closure_archive,scan_digest,password_hash,token_hash,pdf}'";

/// Every table of the organization's data: those with an `organization_id`, and those tied
/// to its events by `event_id`.
fn owned_tables(conn: &mut Conn) -> AppResult<Vec<TableName>> {
    diesel::sql_query(
        "SELECT c.table_name::text AS table_name, bool_or(c.column_name = 'organization_id') AS by_org \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_name = c.table_name AND t.table_schema = c.table_schema \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.column_name IN ('organization_id', 'event_id') \
           AND c.table_name NOT IN ('organizations', 'search_outbox') \
         GROUP BY c.table_name ORDER BY c.table_name",
    )
    .load(conn)
    .map_err(AppError::internal)
}

/// Builds and stores the closing export the job names.
pub fn run_export_job(conn: &mut Conn, job: &Job) -> anyhow::Result<()> {
    let org = job
        .payload
        .get("organization")
        .and_then(Value::as_i64)
        .map(OrganizationId)
        .ok_or_else(|| anyhow::anyhow!("job payload names no organization"))?;
    let started = std::time::Instant::now();
    let mut all = Map::new();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut rows_total = 0usize;
    for t in owned_tables(conn)? {
        let filter = if t.by_org {
            "t.organization_id = $1".to_owned()
        } else {
            "t.event_id IN (SELECT e.id FROM events e WHERE e.organization_id = $1)".to_owned()
        };
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT (to_jsonb(t) - {NEVER_EXPORTED}::text[])::text AS row FROM {} t WHERE {filter} ORDER BY 1",
            t.table_name
        ))
        .bind::<BigInt, _>(org.0)
        .load(conn)?;
        let values: Vec<Value> = rows
            .into_iter()
            .map(|r| serde_json::from_str(&r.row))
            .collect::<Result<_, _>>()?;
        rows_total += values.len();
        zip.start_file(format!("csv/{}.csv", t.table_name), opts)?;
        zip.write_all(&archive::csv_of(&values)?)?;
        all.insert(t.table_name, Value::Array(values));
    }
    zip.start_file("data.json", opts)?;
    zip.write_all(&serde_json::to_vec(&json!({
        "organization_id": org.0,
        "generated_at": Utc::now(),
        "tables": all,
    }))?)?;
    let bytes = zip.finish()?.into_inner();
    diesel::sql_query(
        "UPDATE organizations SET closure_archive = $2, \
         closure = closure || jsonb_build_object('export', jsonb_build_object('rows', $3::bigint, 'bytes', $4::bigint, 'built_at', now())) \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(org.0)
    .bind::<Bytea, _>(bytes.as_slice())
    .bind::<BigInt, _>(rows_total as i64)
    .bind::<BigInt, _>(bytes.len() as i64)
    .execute(conn)?;
    tracing::info!(
        organization.id = %org,
        export.rows = rows_total,
        export.bytes = bytes.len(),
        export.duration_ms = started.elapsed().as_millis() as u64,
        "closing export built"
    );
    Ok(())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// What the purge deletes, in an order the foreign keys accept (children first). `$1`: the
/// organization.
const DELETIONS: &[(&str, &str)] = &[
    ("agenda_changes", "DELETE FROM agenda_changes WHERE version_id IN (SELECT v.id FROM agenda_versions v JOIN events e ON e.id = v.event_id WHERE e.organization_id = $1)"),
    ("meetings", "DELETE FROM meetings WHERE event_id IN (SELECT id FROM events WHERE organization_id = $1)"),
    ("agenda_versions", "DELETE FROM agenda_versions WHERE event_id IN (SELECT id FROM events WHERE organization_id = $1)"),
    ("plan_runs", "DELETE FROM plan_runs WHERE organization_id = $1"),
    ("meeting_requests", "DELETE FROM meeting_requests WHERE organization_id = $1"),
    ("exports", "DELETE FROM exports WHERE organization_id = $1"),
    ("imports", "DELETE FROM imports WHERE organization_id = $1"),
    ("outbox_messages", "DELETE FROM outbox_messages WHERE organization_id = $1"),
    ("campaigns", "DELETE FROM campaigns WHERE organization_id = $1"),
    ("registration_answers", "DELETE FROM registration_answers WHERE organization_id = $1"),
    ("registration_forms", "DELETE FROM registration_forms WHERE organization_id = $1"),
    ("payment_events", "DELETE FROM payment_events WHERE order_id IN (SELECT id FROM orders WHERE organization_id = $1)"),
    ("refunds", "DELETE FROM refunds WHERE organization_id = $1"),
    ("payments", "DELETE FROM payments WHERE organization_id = $1"),
    ("orders", "DELETE FROM orders WHERE organization_id = $1"),
    ("vouchers", "DELETE FROM vouchers WHERE organization_id = $1"),
    ("products", "DELETE FROM products WHERE organization_id = $1"),
    ("registrations", "DELETE FROM registrations WHERE organization_id = $1"),
    ("meeting_settings", "DELETE FROM meeting_settings WHERE organization_id = $1"),
    ("events", "DELETE FROM events WHERE organization_id = $1"),
    ("memberships", "DELETE FROM memberships WHERE organization_id = $1"),
];

/// Deletes the closed organization's data once its delay has passed (a job queued early by a
/// clock change waits), in one transaction, and stores the report.
pub fn run_purge_job(conn: &mut Conn, job: &Job) -> anyhow::Result<()> {
    let org = job
        .payload
        .get("organization")
        .and_then(Value::as_i64)
        .map(OrganizationId)
        .ok_or_else(|| anyhow::anyhow!("job payload names no organization"))?;
    let c = match closure_of(conn, org) {
        Ok(c) => c,
        Err(AppError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    let (Some(_), Some(after), None) = (c.closed_at, c.purge_after, c.purged_at) else {
        return Ok(());
    };
    if after > Utc::now() {
        anyhow::bail!("the organization's delay runs until {after}");
    }
    conn.transaction(|conn| purge(conn, org))?;
    tracing::info!(organization.id = %org, "closed organization's data deleted");
    Ok(())
}

/// The deletion itself; the report is stored on the organization and returned.
pub fn purge(conn: &mut Conn, org: OrganizationId) -> AppResult<Value> {
    // Accounts that serve this organization only are erased with it.
    let accounts: Vec<Id> = diesel::sql_query(
        "SELECT DISTINCT m.user_account_id AS id FROM memberships m WHERE m.organization_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user_account_id = m.user_account_id \
           AND o.organization_id IS DISTINCT FROM $1)",
    )
    .bind::<BigInt, _>(org.0)
    .load(conn)
    .map_err(AppError::internal)?;
    let persons: Vec<Id> = diesel::sql_query(
        "SELECT id FROM persons WHERE organization_id = $1 AND erased_at IS NULL ORDER BY id",
    )
    .bind::<BigInt, _>(org.0)
    .load(conn)
    .map_err(AppError::internal)?;
    let ids: Vec<PersonId> = persons.iter().map(|p| PersonId(p.id)).collect();
    erase::erase_many(conn, &ids)?;
    let mut deleted = Map::new();
    for (table, sql) in DELETIONS {
        let n = diesel::sql_query(*sql)
            .bind::<BigInt, _>(org.0)
            .execute(conn)
            .map_err(|e| AppError::internal(format!("purging {table}: {e}")))?;
        deleted.insert((*table).to_owned(), json!(n));
    }
    let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
    let closed_accounts = diesel::sql_query(
        "UPDATE user_accounts SET email = 'erased-account-' || id || '@erased.invalid', \
         password_hash = '!', disabled_at = coalesce(disabled_at, now()), last_login_at = NULL, \
         erased_at = coalesce(erased_at, now()) WHERE id = ANY($1) \
         AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_account_id = user_accounts.id)",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
    .execute(conn)
    .map_err(AppError::internal)?;
    deleted.insert("user_accounts (erased)".into(), json!(closed_accounts));
    // Persons nothing refers to any more go; those a legal hold refers to stay, anonymised.
    let gone_persons = diesel::sql_query(
        "DELETE FROM persons p WHERE p.organization_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM consent_records c WHERE c.person_id = p.id) \
         AND NOT EXISTS (SELECT 1 FROM privacy_requests r WHERE r.person_id = p.id) \
         AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id)",
    )
    .bind::<BigInt, _>(org.0)
    .execute(conn)
    .map_err(AppError::internal)?;
    deleted.insert("persons".into(), json!(gone_persons));
    let count = |conn: &mut Conn, sql: &str| -> AppResult<i64> {
        Ok(diesel::sql_query(sql)
            .bind::<BigInt, _>(org.0)
            .get_result::<Count>(conn)
            .map_err(AppError::internal)?
            .n)
    };
    let kept = json!({
        "audit_log": {"rows": count(conn, "SELECT count(*) AS n FROM audit_log WHERE organization_id = $1")?,
            "legal_hold": "accountability (GDPR art. 5(2) and 30): who processed which data, persons named by id only"},
        "consent_records": {"rows": count(conn, "SELECT count(*) AS n FROM consent_records WHERE organization_id = $1")?,
            "legal_hold": "proof of consent (GDPR art. 7(1)), without client addresses"},
        "privacy_requests": {"rows": count(conn, "SELECT count(*) AS n FROM privacy_requests WHERE organization_id = $1")?,
            "legal_hold": "proof that rights requests were answered (GDPR art. 5(2) and 12)"},
        "invoices": {"rows": count(conn, "SELECT count(*) AS n FROM invoices WHERE organization_id = $1")?,
            "legal_hold": "accounting obligation (Code de commerce art. L123-22): invoices and credit notes, 10 years"},
        "persons": {"rows": count(conn, "SELECT count(*) AS n FROM persons WHERE organization_id = $1")?,
            "legal_hold": "anonymised: only the id the held records name"},
    });
    let report = json!({
        "persons_erased": persons.len(),
        "deleted": deleted,
        "kept": kept,
        "purged_at": Utc::now(),
    });
    diesel::sql_query(
        "UPDATE organizations SET purged_at = now(), closure_archive = NULL, \
         closure = closure || jsonb_build_object('purge', $2::jsonb) WHERE id = $1",
    )
    .bind::<BigInt, _>(org.0)
    .bind::<diesel::sql_types::Jsonb, _>(&report)
    .execute(conn)
    .map_err(AppError::internal)?;
    Ok(report)
}
