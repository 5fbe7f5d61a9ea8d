//! Exports: files an organizer asks for and a job worker builds (every participant's agenda
//! as one PDF; spreadsheets of participants, meeting requests, meetings, tables per slot,
//! orders, invoices and the audit log), downloadable for a day, then deleted. A file names
//! many persons: each download is audited with all of them and the columns it holds.

pub mod sheets;

pub use sheets::SheetOptions;

use crate::audit::{self, Audit};
use crate::{jobs, Actor, AppError, AppResult};
use chrono::{Duration, Utc};
use rdv_db::models::{Export, Job, NewExport};
use rdv_db::queries::{events, exports, jobs as job_rows};
use rdv_db::Conn;
use rdv_domain::{DataSource, EventId, ExportId, ExportKind, ExportStatus, LegalBasis};

/// The job kind that builds an export.
pub const BUILD_JOB: &str = "export.build";
/// The job kind that deletes expired exports.
pub const PRUNE_JOB: &str = "prune.exports";
/// How long a file stays downloadable.
pub const KEEP_HOURS: i64 = 24;
/// Attempts at building one export before it is failed.
const ATTEMPTS: i32 = 3;

/// Asks for an export (of the event; the audit log is the organization's); a worker builds
/// it. Organizers only; the audit log, and restricted persons for a rights request, admins
/// only.
pub fn request(
    conn: &mut Conn,
    actor: &Actor,
    event: Option<EventId>,
    kind: ExportKind,
    options: SheetOptions,
) -> AppResult<Export> {
    let org = actor.organizer_org()?;
    match (kind, event) {
        (ExportKind::Audit, None) => {
            actor.admin_org()?;
        }
        (ExportKind::Audit, Some(_)) => {
            return Err(AppError::field(
                "kind",
                "the audit log is the organization's: export it without an event",
            ))
        }
        (_, None) => {
            return Err(AppError::field("event_id", "this export is of an event"));
        }
        (_, Some(e)) => {
            events::get(conn, org, e).map_err(|e| AppError::from_db("event", e))?;
        }
    }
    if kind == ExportKind::AgendasPdf {
        if options != SheetOptions::default() {
            return Err(AppError::field(
                "kind",
                "agendas_pdf takes no format, columns or filters",
            ));
        }
    } else {
        sheets::check(conn, kind, event, &options)?;
    }
    let mut options = options;
    options.subject_person_id = None;
    if let Some(request) = options.rights_request_id {
        actor.admin_org().map_err(|_| {
            AppError::forbidden("only admins export restricted persons, for a rights request")
        })?;
        let found = rdv_db::queries::privacy::get(conn, org, rdv_domain::RightsRequestId(request))
            .ok()
            .filter(|r| r.state.is_open());
        let Some(found) = found else {
            return Err(AppError::field(
                "rights_request_id",
                "is not an open rights request of the organization",
            ));
        };
        options.subject_person_id = Some(found.person_id.0);
    }
    let export = exports::insert(
        conn,
        &NewExport {
            organization_id: org,
            event_id: event,
            kind,
            options: serde_json::to_value(&options).map_err(AppError::internal)?,
            requested_by: Some(actor.user),
            // The organizer prints agendas and lists to run the event the participants
            // signed up for.
            legal_basis: LegalBasis::Contract,
            retention_until: Utc::now() + Duration::hours(KEEP_HOURS),
            source: DataSource::Admin,
        },
    )?;
    let job = jobs::enqueue(
        conn,
        BUILD_JOB,
        serde_json::json!({"export": export.id.0}),
        Utc::now(),
        ATTEMPTS,
    )?;
    exports::set_job(conn, export.id, job)?;
    Ok(exports::get(conn, org, export.id)?)
}

/// An export of the caller's organization, unless it has expired.
pub fn get(conn: &mut Conn, actor: &Actor, id: ExportId) -> AppResult<Export> {
    let org = actor.organizer_org()?;
    let export = exports::get(conn, org, id).map_err(|e| AppError::from_db("export", e))?;
    if !may_see(actor, &export) {
        return Err(AppError::not_found("export"));
    }
    reconcile(conn, export)
}

/// The audit log, and files holding restricted persons for a rights request, are for admins:
/// staff do not learn they exist.
fn may_see(actor: &Actor, export: &Export) -> bool {
    let admin_only = export.kind == ExportKind::Audit
        || export
            .options
            .get("rights_request_id")
            .is_some_and(|v| !v.is_null());
    !admin_only || actor.admin_org().is_ok()
}

/// The event's exports that have not expired, newest first.
pub fn list(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Vec<Export>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    exports::of_event(conn, org, event)?
        .into_iter()
        .filter(|e| may_see(actor, e))
        .map(|e| reconcile(conn, e))
        .collect()
}

/// A file ready for download: its name, content type and bytes.
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The file of a finished export; audited with every person it names. 409 while it is being
/// built or when it failed.
pub fn download(conn: &mut Conn, actor: &Actor, id: ExportId) -> AppResult<File> {
    let export = get(conn, actor, id)?;
    match export.status {
        ExportStatus::Done => {}
        ExportStatus::Failed => {
            return Err(AppError::conflict(format!(
                "the export failed: {}",
                export.error.unwrap_or_default()
            )))
        }
        ExportStatus::Queued | ExportStatus::Running => {
            return Err(AppError::conflict(
                "the export is not ready yet: see its progress",
            ))
        }
    }
    let (name, content_type, bytes, persons) = exports::file(conn, export.organization_id, id)
        .map_err(|e| AppError::from_db("export", e))?;
    let fields = match export.kind {
        ExportKind::AgendasPdf => vec!["first_name", "last_name", "company", "job_title"],
        kind => {
            let chosen: Vec<String> = export
                .progress
                .get("columns")
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .unwrap_or_default();
            sheets::personal_columns(kind, &chosen)
        }
    };
    audit::record(
        conn,
        actor,
        Audit {
            action: "export.download",
            subject_type: "export",
            subject_ids: vec![id.0],
            person_ids: persons,
            fields,
        },
    )?;
    Ok(File {
        name,
        content_type,
        bytes,
    })
}

/// A live export whose job ended without ending it (its worker died on the last attempt, or
/// the job is gone) reads as failed: an export is never left running for ever.
fn reconcile(conn: &mut Conn, export: Export) -> AppResult<Export> {
    if !matches!(export.status, ExportStatus::Queued | ExportStatus::Running) {
        return Ok(export);
    }
    let Some(job) = export.job_id else {
        return Ok(export);
    };
    let dead = match job_rows::get(conn, job) {
        Ok(j) => (j.state == "dead" || j.state == "done").then(|| j.last_error.unwrap_or_default()),
        Err(rdv_db::DbError::NotFound) => Some("its job is gone".to_owned()),
        Err(e) => return Err(e.into()),
    };
    let Some(why) = dead else { return Ok(export) };
    exports::fail(
        conn,
        export.id,
        &format!("the worker building it stopped: {why}"),
    )?;
    Ok(exports::get(conn, export.organization_id, export.id)?)
}

/// Builds the export the job names, with its progress stored (and the job's lease extended)
/// every hundred agendas. A mistake in the request (the event is gone) fails the export;
/// anything else fails the job, which is retried, and fails the export on the last attempt.
pub fn run_job(conn: &mut Conn, job: &Job, lease: Duration) -> anyhow::Result<()> {
    let id = job
        .payload
        .get("export")
        .and_then(serde_json::Value::as_i64)
        .map(ExportId)
        .ok_or_else(|| anyhow::anyhow!("job payload names no export"))?;
    let export = match exports::get_any(conn, id) {
        Ok(e) => e,
        // Expired and pruned before a worker got to it.
        Err(rdv_db::DbError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if !exports::start(conn, id)? {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let worker = job.locked_by.clone().unwrap_or_default();
    let mut progress = |conn: &mut Conn, done: usize, total: usize| {
        let p = serde_json::json!({"done": done, "total": total});
        if let Err(e) = exports::progress(conn, id, &p) {
            tracing::warn!(error = %e, "export progress not stored");
        }
        let _ = job_rows::extend_lease(conn, job.id, &worker, lease);
    };
    let built = match (export.kind, export.event_id) {
        (ExportKind::AgendasPdf, Some(event)) => {
            crate::agenda::all_pdf(conn, export.organization_id, event, &mut progress).map(
                |(bytes, persons)| {
                    (
                        "agendas.pdf".to_owned(),
                        "application/pdf",
                        bytes,
                        persons,
                        serde_json::Value::Null,
                    )
                },
            )
        }
        (ExportKind::AgendasPdf, None) => Err(AppError::invalid("agendas are an event's")),
        (kind, event) => {
            let options: SheetOptions =
                serde_json::from_value(export.options.clone()).unwrap_or_default();
            let still_open = match options.rights_request_id {
                None => true,
                Some(r) => rdv_db::queries::privacy::get(
                    conn,
                    export.organization_id,
                    rdv_domain::RightsRequestId(r),
                )
                .is_ok_and(|r| r.state.is_open()),
            };
            if !still_open {
                exports::fail(conn, id, "the rights request it was asked for is closed")?;
                return Ok(());
            }
            let mut rows = |conn: &mut Conn, done: usize| progress(conn, done, 0);
            sheets::build(
                conn,
                export.organization_id,
                event,
                kind,
                &options,
                &mut rows,
            )
            .map(|b| {
                let columns = serde_json::json!(b.columns);
                (b.name, b.content_type, b.bytes, b.persons, columns)
            })
        }
    };
    match built {
        Ok((name, content_type, bytes, persons, columns)) => {
            let p = serde_json::json!({
                "done": true,
                "persons": persons.len(),
                "columns": columns,
                "elapsed_s": started.elapsed().as_secs_f64(),
            });
            exports::finish(conn, id, &name, content_type, &bytes, &persons, &p)?;
            tracing::info!(export = %id, bytes = bytes.len(), "export built");
            Ok(())
        }
        Err(e) if e.is_callers_mistake() => {
            exports::fail(conn, id, &e.to_string())?;
            Ok(())
        }
        Err(e) => {
            if job.attempts >= job.max_attempts {
                exports::fail(conn, id, &e.to_string())?;
            }
            Err(anyhow::anyhow!("{e}"))
        }
    }
}

/// Deletes the exports whose day has passed.
pub fn prune(conn: &mut Conn) -> AppResult<usize> {
    Ok(exports::prune(conn, Utc::now())?)
}
