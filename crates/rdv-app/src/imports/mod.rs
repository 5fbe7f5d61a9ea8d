//! Imports: spreadsheets an organizer uploads (persons with their registrations, prospects,
//! meeting requests, tables). The file is read and its headers mapped at upload; a dry run
//! then decides every row (create, update, skip or reject, with the reasons) with the same
//! checks as the API, and a real run writes the rows a batch per transaction, resuming after
//! the last batch committed when its job is retried, or everything in one transaction on
//! request. Both passes are jobs of the queue; their progress is stored on the import. The
//! error report is rebuilt from the stored file, so problems never copy personal data.

mod rows;

use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::jobs;
use chrono::{Duration, Utc};
use diesel::Connection;
use rdv_db::models::{Import, ImportProblem, Job, NewImport};
use rdv_db::queries::{events, imports as import_rows, jobs as job_rows, shop};
use rdv_db::Conn;
use rdv_domain::{
    CountryCode, DataSource, EventId, ImportId, ImportKind, ImportStatus, LegalBasis, MembershipId,
    OrganizationId, ParticipantType, PersonId, Role, UserAccountId,
};
use rdv_io::{Cell, ReadLimits, Sheet, Writer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use rdv_io::WriterFormat;
pub use rows::Decision;

/// The job that checks an import without writing.
pub const CHECK_JOB: &str = "import.check";
/// The job that writes an import.
pub const RUN_JOB: &str = "import.run";
/// The job that deletes expired imports.
pub const PRUNE_JOB: &str = "prune.imports";
/// How long an uploaded file (and its report) is kept.
pub const KEEP_DAYS: i64 = 7;
/// Rows written per transaction.
pub const BATCH_ROWS: usize = 1000;
/// Attempts at a pass before its import fails.
const ATTEMPTS: i32 = 3;
/// Problems shown with an import over the API; the report has them all.
pub const PROBLEMS_SHOWN: i64 = 200;
/// The prefix of a mapping that keeps a column as a registration-form answer.
pub const ANSWER_PREFIX: &str = "answer:";

/// The `[imports]` settings section.
#[derive(Debug, Clone, Deserialize)]
pub struct ImportSettings {
    /// The largest file accepted, in bytes.
    pub max_file_bytes: usize,
    /// The most data rows in one file.
    pub max_rows: usize,
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            max_file_bytes: 50 * 1024 * 1024,
            max_rows: 200_000,
        }
    }
}

impl ImportSettings {
    fn limits(&self) -> ReadLimits {
        ReadLimits {
            max_bytes: self.max_file_bytes,
            max_rows: self.max_rows,
            ..ReadLimits::default()
        }
    }
}

fn io_kind(kind: ImportKind) -> rdv_io::Kind {
    match kind {
        ImportKind::Persons => rdv_io::Kind::Persons,
        ImportKind::Prospects => rdv_io::Kind::Prospects,
        ImportKind::MeetingRequests => rdv_io::Kind::MeetingRequests,
        ImportKind::Tables => rdv_io::Kind::Tables,
    }
}

/// A file to import, as uploaded.
pub struct Upload {
    pub kind: String,
    pub event: Option<EventId>,
    pub file_name: String,
    /// The sheet of a workbook to read; the first by default.
    pub sheet: Option<String>,
    pub bytes: Vec<u8>,
}

/// The options of a pass. Absent values keep the import's current ones.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PassInput {
    /// Header → field (or `answer:KEY`, or null to ignore the column), for the headers
    /// whose automatic mapping is to change.
    pub mapping: Option<BTreeMap<String, Option<String>>>,
    /// The country of national phone numbers (`06 12 34 56 78`); FR by default.
    pub default_country: Option<String>,
    /// The participant type of rows that give none.
    pub default_participant_type: Option<String>,
    /// What a row naming a person already in the organization does: `update` (default) or
    /// `skip`.
    pub on_existing: Option<String>,
    /// Write everything in one transaction, or nothing when a row is rejected.
    pub all_or_nothing: Option<bool>,
    /// Send each new registration its confirmation email (off by default: an import of last
    /// year's participants should not write to all of them).
    pub notify: Option<bool>,
}

/// The options a pass runs with, as stored on the import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Options {
    pub default_country: String,
    pub default_participant_type: Option<ParticipantType>,
    pub on_existing_update: bool,
    pub all_or_nothing: bool,
    pub notify: bool,
    /// Who asked for the pass: the job acts for them.
    pub actor_user: i64,
    pub actor_membership: i64,
    pub actor_role: Role,
}

impl Options {
    fn actor(&self, org: OrganizationId) -> Actor {
        Actor {
            user: UserAccountId(self.actor_user),
            membership: MembershipId(self.actor_membership),
            organization: Some(org),
            role: self.actor_role,
            person: None,
            client_address: None,
        }
    }

    fn country(&self) -> Option<CountryCode> {
        CountryCode::parse(&self.default_country).ok()
    }
}

/// One column of the file and the field it fills.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Column {
    pub header: String,
    pub field: Option<String>,
}

fn mapping_of(import: &Import) -> AppResult<Vec<Column>> {
    serde_json::from_value(import.mapping.clone()).map_err(AppError::internal)
}

/// The fields each kind fills, with the registration-form answers the event's forms ask.
fn form_fields(conn: &mut Conn, event: Option<EventId>) -> AppResult<Vec<(String, String)>> {
    let Some(event) = event else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for f in shop::forms_of_event(conn, event)? {
        let Ok(def) = serde_json::from_value::<rdv_shop::form::FormDefinition>(f.definition) else {
            continue;
        };
        for field in def.fields {
            if rows::answerable(&field.kind) && !out.iter().any(|(k, _)| *k == field.key) {
                for name in [&field.key, &field.label_fr, &field.label_en] {
                    out.push((field.key.clone(), rdv_io::mapping::normalise_header(name)));
                }
            }
        }
    }
    Ok(out)
}

/// Reads an uploaded file, maps its headers and stores it. Organizers only; the event must
/// be the organization's (prospects belong to no event).
pub fn upload(
    conn: &mut Conn,
    actor: &Actor,
    settings: &ImportSettings,
    up: Upload,
) -> AppResult<Import> {
    let org = actor.organizer_org()?;
    let kind: ImportKind = up
        .kind
        .parse()
        .map_err(|e: rdv_domain::vocab::UnknownWord| AppError::field("kind", e.to_string()))?;
    match (kind, up.event) {
        (ImportKind::Prospects, Some(_)) => {
            return Err(AppError::field(
                "event_id",
                "prospects belong to the organization, not to an event",
            ))
        }
        (ImportKind::Prospects, None) => {}
        (_, None) => {
            return Err(AppError::field(
                "event_id",
                "persons, meeting requests and tables are imported into an event",
            ))
        }
        (_, Some(e)) => {
            events::get(conn, org, e).map_err(|e| AppError::from_db("event", e))?;
        }
    }
    let name = up.file_name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::field(
            "file_name",
            "must be 1 to 200 characters, without control characters",
        ));
    }
    if up.bytes.len() > settings.max_file_bytes {
        return Err(AppError::field(
            "file",
            format!(
                "the file is larger than the limit of {} bytes",
                settings.max_file_bytes
            ),
        ));
    }
    let sheet = rdv_io::read(&up.bytes, up.sheet.as_deref(), &settings.limits())
        .map_err(|e| AppError::field("file", e.to_string()))?;
    let answers = form_fields(conn, up.event)?;
    let mapped = rdv_io::map_headers(io_kind(kind), &sheet.headers);
    let mut taken: Vec<String> = mapped.iter().flatten().map(|f| (*f).to_owned()).collect();
    let mapping: Vec<Column> = sheet
        .headers
        .iter()
        .zip(mapped)
        .map(|(h, f)| {
            let field = f.map(str::to_owned).or_else(|| {
                if kind != ImportKind::Persons {
                    return None;
                }
                let n = rdv_io::mapping::normalise_header(h);
                let key = answers.iter().find(|(_, name)| *name == n)?.0.clone();
                let field = format!("{ANSWER_PREFIX}{key}");
                (!taken.contains(&field)).then(|| {
                    taken.push(field.clone());
                    field
                })
            });
            Column {
                header: h.clone(),
                field,
            }
        })
        .collect();
    let (legal_basis, source) = match kind {
        ImportKind::Prospects => (LegalBasis::LegitimateInterest, DataSource::Prospect),
        _ => (LegalBasis::Contract, DataSource::Import),
    };
    let import = import_rows::insert(
        conn,
        &NewImport {
            organization_id: org,
            event_id: up.event,
            kind,
            requested_by: Some(actor.user),
            file_name: name,
            size_bytes: up.bytes.len() as i64,
            content: &up.bytes,
            detected: serde_json::to_value(&sheet.detected).map_err(AppError::internal)?,
            headers: sheet.headers.clone(),
            mapping: serde_json::to_value(&mapping).map_err(AppError::internal)?,
            options: serde_json::json!({}),
            legal_basis,
            retention_until: Utc::now() + Duration::days(KEEP_DAYS),
            source,
        },
    )?;
    import_rows::progress(
        conn,
        import.id,
        &serde_json::json!({"rows": sheet.rows.len()}),
    )?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "import.upload",
            subject_type: "import",
            subject_ids: vec![import.id.0],
            person_ids: vec![],
            fields: vec![],
        },
    )?;
    Ok(import_rows::get(conn, org, import.id)?)
}

/// An import of the caller's organization.
pub fn get(conn: &mut Conn, actor: &Actor, id: ImportId) -> AppResult<Import> {
    let org = actor.organizer_org()?;
    let import = import_rows::get(conn, org, id).map_err(|e| AppError::from_db("import", e))?;
    reconcile(conn, import)
}

/// The first problems of an import's last pass.
pub fn problems(conn: &mut Conn, actor: &Actor, id: ImportId) -> AppResult<Vec<ImportProblem>> {
    let import = get(conn, actor, id)?;
    Ok(import_rows::problems(conn, import.id, PROBLEMS_SHOWN)?)
}

/// The organization's imports (of an event, or all), newest first.
pub fn list(conn: &mut Conn, actor: &Actor, event: Option<EventId>) -> AppResult<Vec<Import>> {
    let org = actor.organizer_org()?;
    if let Some(e) = event {
        events::get(conn, org, e).map_err(|e| AppError::from_db("event", e))?;
    }
    import_rows::list(conn, org, event)?
        .into_iter()
        .map(|i| reconcile(conn, i))
        .collect()
}

/// A pass whose job ended without ending it reads as failed.
fn reconcile(conn: &mut Conn, import: Import) -> AppResult<Import> {
    if !matches!(
        import.status,
        ImportStatus::Checking | ImportStatus::Running
    ) {
        return Ok(import);
    }
    let Some(job) = import.job_id else {
        return Ok(import);
    };
    let dead = match job_rows::get(conn, job) {
        Ok(j) => (j.state == "dead" || j.state == "done").then(|| j.last_error.unwrap_or_default()),
        Err(rdv_db::DbError::NotFound) => Some("its job is gone".to_owned()),
        Err(e) => return Err(e.into()),
    };
    let Some(why) = dead else { return Ok(import) };
    import_rows::finish_pass(
        conn,
        import.id,
        ImportStatus::Failed,
        &import.progress,
        None,
        Some(&format!("the worker running it stopped: {why}")),
    )?;
    Ok(import_rows::get(conn, import.organization_id, import.id)?)
}

/// Checks the pass's options and mapping against the import, naming every bad one.
fn pass_options(
    actor: &Actor,
    import: &Import,
    input: &PassInput,
) -> AppResult<(Vec<Column>, Options)> {
    let mut check = crate::Check::new();
    let current: Option<Options> = serde_json::from_value(import.options.clone()).ok();
    let default_country = match &input.default_country {
        Some(c) => check
            .country("default_country", Some(c))
            .unwrap_or_default(),
        None => current
            .as_ref()
            .map(|o| o.default_country.clone())
            .unwrap_or_else(|| "FR".into()),
    };
    let default_participant_type = match &input.default_participant_type {
        Some(t) => check.word::<ParticipantType>("default_participant_type", t),
        None => current.as_ref().and_then(|o| o.default_participant_type),
    };
    let on_existing_update = match input.on_existing.as_deref() {
        None => current.as_ref().is_none_or(|o| o.on_existing_update),
        Some("update") => true,
        Some("skip") => false,
        Some(_) => {
            check.add("on_existing", "must be update or skip");
            true
        }
    };
    let mut mapping = mapping_of(import)?;
    let fields = io_kind(import.kind).fields();
    if let Some(over) = &input.mapping {
        if over.len() > mapping.len() {
            check.add("mapping", "names more columns than the file has");
        }
        for (header, field) in over {
            let at = format!("mapping.{header}");
            let Some(col) = mapping.iter_mut().find(|c| &c.header == header) else {
                check.add(&at, "is not a column of the file");
                continue;
            };
            match field.as_deref() {
                None => col.field = None,
                Some(f)
                    if fields.iter().any(|k| k.name == f)
                        || (import.kind == ImportKind::Persons
                            && f.strip_prefix(ANSWER_PREFIX)
                                .is_some_and(|k| !k.is_empty() && k.len() <= 100)) =>
                {
                    col.field = Some(f.to_owned())
                }
                Some(_) => check.add(&at, "is not a field of this kind of import"),
            }
        }
    }
    for f in fields {
        let n = mapping
            .iter()
            .filter(|c| c.field.as_deref() == Some(f.name))
            .count();
        if n > 1 {
            check.add("mapping", format!("{} is filled by {n} columns", f.name));
        }
        if f.required && n == 0 {
            check.add("mapping", format!("no column fills {}", f.name));
        }
    }
    check.finish()?;
    Ok((
        mapping,
        Options {
            default_country,
            default_participant_type,
            on_existing_update,
            all_or_nothing: input
                .all_or_nothing
                .unwrap_or_else(|| current.as_ref().is_some_and(|o| o.all_or_nothing)),
            notify: input
                .notify
                .unwrap_or_else(|| current.as_ref().is_some_and(|o| o.notify)),
            actor_user: actor.user.0,
            actor_membership: actor.membership.0,
            actor_role: actor.role,
        },
    ))
}

fn start_pass(
    conn: &mut Conn,
    actor: &Actor,
    id: ImportId,
    input: PassInput,
    writes: bool,
) -> AppResult<Import> {
    let import = get(conn, actor, id)?;
    if import.kind == ImportKind::Tables && writes {
        // Numbering the event's tables is an admin's decision, as through the API.
        actor.admin_org()?;
    }
    let (mapping, options) = pass_options(actor, &import, &input)?;
    let (from, to, kind): (&[ImportStatus], _, _) = if writes {
        (
            &[
                ImportStatus::Uploaded,
                ImportStatus::Checked,
                ImportStatus::Failed,
            ],
            ImportStatus::Running,
            RUN_JOB,
        )
    } else {
        (
            &[
                ImportStatus::Uploaded,
                ImportStatus::Checked,
                ImportStatus::Failed,
            ],
            ImportStatus::Checking,
            CHECK_JOB,
        )
    };
    let started = import_rows::begin_pass(
        conn,
        id,
        from,
        to,
        writes,
        &serde_json::to_value(&mapping).map_err(AppError::internal)?,
        &serde_json::to_value(&options).map_err(AppError::internal)?,
    )?;
    if !started {
        return Err(AppError::conflict(format!(
            "the import is {}: a pass runs only on an import uploaded, checked or failed",
            import.status
        )));
    }
    let job = jobs::enqueue(
        conn,
        kind,
        serde_json::json!({"import": id.0}),
        Utc::now(),
        ATTEMPTS,
    )?;
    import_rows::set_job(conn, id, job)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: if writes { "import.run" } else { "import.check" },
            subject_type: "import",
            subject_ids: vec![id.0],
            person_ids: vec![],
            fields: vec![],
        },
    )?;
    Ok(import_rows::get(conn, import.organization_id, id)?)
}

/// Starts a dry run: every row decided and checked, nothing written.
pub fn check(conn: &mut Conn, actor: &Actor, id: ImportId, input: PassInput) -> AppResult<Import> {
    start_pass(conn, actor, id, input, false)
}

/// Starts the real run.
pub fn run(conn: &mut Conn, actor: &Actor, id: ImportId, input: PassInput) -> AppResult<Import> {
    start_pass(conn, actor, id, input, true)
}

/// Which rows a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportRows {
    /// Rows skipped or rejected, with why.
    Problems,
    /// Every row with its decision.
    All,
}

/// The import's report: the file's own columns, then the decision and the reasons, as CSV
/// or XLSX; the organizer fixes the rows and imports the file again (the added columns are
/// ignored then). Audited: the file names persons.
pub fn report(
    conn: &mut Conn,
    actor: &Actor,
    settings: &ImportSettings,
    id: ImportId,
    format: WriterFormat,
    which: ReportRows,
) -> AppResult<crate::exports::File> {
    let import = get(conn, actor, id)?;
    if matches!(
        import.status,
        ImportStatus::Uploaded | ImportStatus::Checking | ImportStatus::Running
    ) {
        return Err(AppError::conflict(
            "the import has no finished pass yet: see its progress",
        ));
    }
    let (content, decisions) = import_rows::content(conn, id)?;
    let decisions = decisions.unwrap_or_default();
    let sheet = rdv_io::read(&content, sheet_name(&import).as_deref(), &settings.limits())
        .map_err(|e| AppError::internal(format!("a stored import no longer reads: {e}")))?;
    let problems = import_rows::problems(conn, id, i64::MAX)?;
    let mut by_row: BTreeMap<i32, Vec<&ImportProblem>> = BTreeMap::new();
    for p in &problems {
        by_row.entry(p.row_index).or_default().push(p);
    }
    let mut headers: Vec<&str> = import.headers.iter().map(String::as_str).collect();
    headers.push("decision");
    headers.push("error");
    let mut w = Writer::new(format, "report", &headers).map_err(AppError::internal)?;
    for (i, row) in sheet.rows.iter().enumerate() {
        let decision = decisions
            .as_bytes()
            .get(i)
            .map(|b| rows::Decision::from_letter(*b as char))
            .unwrap_or(None);
        let listed = by_row.get(&(i as i32));
        if which == ReportRows::Problems && listed.is_none() {
            continue;
        }
        let mut cells: Vec<Cell> = row.cells.iter().cloned().map(Cell::Text).collect();
        cells.push(Cell::Text(
            decision.map(|d| d.as_str()).unwrap_or("").to_owned(),
        ));
        let why = listed
            .map(|ps| {
                let reasons: Vec<String> = ps
                    .iter()
                    .map(|p| match &p.column_name {
                        Some(c) => format!("{c}: {}", p.reason),
                        None => p.reason.clone(),
                    })
                    .collect();
                format!("line {}: {}", row.line, reasons.join("; "))
            })
            .unwrap_or_default();
        cells.push(Cell::Text(why));
        w.write_row(&cells).map_err(AppError::internal)?;
    }
    let bytes = w.finish().map_err(AppError::internal)?;
    let person_ids = import_person_ids(conn, id)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "import.report",
            subject_type: "import",
            subject_ids: vec![id.0],
            person_ids,
            fields: mapping_of(&import)?
                .iter()
                .filter_map(|c| c.field.as_deref())
                .filter(|f| !f.starts_with(ANSWER_PREFIX))
                .map(rows::static_field)
                .collect(),
        },
    )?;
    let stem = import
        .file_name
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(&import.file_name);
    Ok(crate::exports::File {
        name: format!("{stem}-report.{}", Writer::extension(format)),
        content_type: Writer::content_type(format).to_owned(),
        bytes,
    })
}

fn import_person_ids(conn: &mut Conn, id: ImportId) -> AppResult<Vec<i64>> {
    use diesel::prelude::*;
    use rdv_db::schema::imports;
    Ok(imports::table
        .find(id)
        .select(imports::person_ids)
        .first(conn)
        .map_err(rdv_db::DbError::from)?)
}

fn sheet_name(import: &Import) -> Option<String> {
    // The sheet read at upload, so that every pass reads the same one.
    match import.detected.get("format").and_then(|f| f.as_str()) {
        Some("xlsx") => import
            .detected
            .get("sheet")
            .and_then(|s| s.as_str())
            .map(str::to_owned),
        _ => None,
    }
}

/// Runs a pass the job names. A mistake in the file or the options fails the import; a
/// fault fails the job, which is retried (a real run resumes after its last committed
/// batch) and fails the import on the last attempt.
pub fn run_job(
    conn: &mut Conn,
    job: &Job,
    lease: Duration,
    settings: &ImportSettings,
) -> anyhow::Result<()> {
    let id = job
        .payload
        .get("import")
        .and_then(serde_json::Value::as_i64)
        .map(ImportId)
        .ok_or_else(|| anyhow::anyhow!("job payload names no import"))?;
    let import = match import_rows::get_any(conn, id) {
        Ok(i) => i,
        Err(rdv_db::DbError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if !matches!(
        import.status,
        ImportStatus::Checking | ImportStatus::Running
    ) || import.job_id != Some(job.id)
    {
        // A later pass took over, or this one ended.
        return Ok(());
    }
    let worker = job.locked_by.clone().unwrap_or_default();
    let outcome = execute(conn, &import, settings, &mut |conn| {
        let _ = job_rows::extend_lease(conn, job.id, &worker, lease);
    });
    let Err(e) = outcome else { return Ok(()) };
    // A mistake fails the pass at once; a fault fails it on the job's last attempt.
    let last = e.is_callers_mistake() || job.attempts >= job.max_attempts;
    if last {
        let progress = import_rows::get_any(conn, id)?.progress;
        import_rows::finish_pass(
            conn,
            id,
            ImportStatus::Failed,
            &progress,
            None,
            Some(&e.to_string()),
        )?;
    }
    if e.is_callers_mistake() {
        Ok(())
    } else {
        Err(anyhow::anyhow!("{e}"))
    }
}

/// The counts a pass reports as it goes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    pub rows: usize,
    pub read: usize,
    pub created: usize,
    pub updated: usize,
    pub skipped: usize,
    pub rejected: usize,
    /// Rows whose batch is committed (a real run): where a retried job resumes.
    pub position: usize,
    pub batches: usize,
    pub done: bool,
    pub elapsed_ms: u64,
}

impl Progress {
    fn count(&mut self, d: Decision) {
        self.read += 1;
        match d {
            Decision::Create => self.created += 1,
            Decision::Update => self.updated += 1,
            Decision::Skip => self.skipped += 1,
            Decision::Reject => self.rejected += 1,
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn execute(
    conn: &mut Conn,
    import: &Import,
    settings: &ImportSettings,
    alive: &mut dyn FnMut(&mut Conn),
) -> AppResult<()> {
    let started = std::time::Instant::now();
    let (content, stored_decisions) = import_rows::content(conn, import.id)?;
    let sheet: Sheet = rdv_io::read(&content, sheet_name(import).as_deref(), &settings.limits())
        .map_err(|e| AppError::field("file", e.to_string()))?;
    drop(content);
    let mapping = mapping_of(import)?;
    let options: Options =
        serde_json::from_value(import.options.clone()).map_err(AppError::internal)?;
    let mut ctx = rows::Context::load(conn, import, &mapping, &options)?;
    let writes = import.writes;
    // A real run retried after some batches committed resumes after them.
    let mut progress: Progress = if writes {
        serde_json::from_value(import.progress.clone()).unwrap_or_default()
    } else {
        Progress::default()
    };
    progress.rows = sheet.rows.len();
    let mut decisions = if writes && progress.position > 0 {
        stored_decisions
            .unwrap_or_default()
            .chars()
            .take(progress.position)
            .collect::<String>()
    } else {
        import_rows::clear_problems(conn, import.id)?;
        progress = Progress {
            rows: sheet.rows.len(),
            ..Progress::default()
        };
        String::new()
    };
    let start = decisions.len();
    for row in &sheet.rows[..start] {
        ctx.remember(row);
    }
    let batch = if writes && options.all_or_nothing {
        sheet.rows.len().max(1)
    } else {
        BATCH_ROWS
    };
    let mut index = start;
    while index < sheet.rows.len() {
        let end = (index + batch).min(sheet.rows.len());
        let chunk = &sheet.rows[index..end];
        if writes {
            let written = conn.transaction::<_, BatchError, _>(|conn| {
                let mut p = progress.clone();
                let mut letters = String::with_capacity(chunk.len());
                let mut problems = Vec::new();
                let mut planned = Vec::with_capacity(chunk.len());
                for (k, row) in chunk.iter().enumerate() {
                    let plan = ctx.decide(conn, index + k, row)?;
                    p.count(plan.decision);
                    letters.push(plan.decision.letter());
                    problems.extend(plan.problems(import.id, index + k, row.line));
                    planned.push(plan);
                }
                if options.all_or_nothing && p.rejected > 0 {
                    // Rolls back every row tried, meeting requests included.
                    return Err(BatchError::Rejected(problems, p));
                }
                let persons = ctx.write(conn, planned)?;
                import_rows::add_problems(conn, &problems)?;
                import_rows::add_persons(conn, import.id, &persons)?;
                if !persons.is_empty() {
                    audit::record_as(
                        conn,
                        Some(import.organization_id),
                        Some(UserAccountId(options.actor_user)),
                        None,
                        Audit {
                            action: "import.write",
                            subject_type: "import",
                            subject_ids: vec![import.id.0],
                            person_ids: persons,
                            fields: ctx.audited_fields(),
                        },
                    )?;
                }
                p.position = end;
                p.batches += 1;
                p.elapsed_ms = started.elapsed().as_millis() as u64;
                let mut all = decisions.clone();
                all.push_str(&letters);
                import_rows::progress(conn, import.id, &p.json())?;
                store_decisions(conn, import.id, &all)?;
                Ok((p, all))
            });
            match written {
                Ok((p, all)) => {
                    progress = p;
                    decisions = all;
                }
                Err(BatchError::Rejected(problems, mut p)) => {
                    import_rows::add_problems(conn, &problems)?;
                    p.done = true;
                    p.elapsed_ms = started.elapsed().as_millis() as u64;
                    import_rows::finish_pass(
                        conn,
                        import.id,
                        ImportStatus::Failed,
                        &p.json(),
                        None,
                        Some(&format!(
                            "{} rows rejected: nothing written (all or nothing); see the report",
                            p.rejected
                        )),
                    )?;
                    return Ok(());
                }
                // A failed batch fails the pass: the job's retry starts again from the
                // position stored, with its context loaded anew.
                Err(BatchError::App(e)) => return Err(e),
            }
        } else {
            let mut problems = Vec::new();
            for (k, row) in chunk.iter().enumerate() {
                let plan = ctx.decide(conn, index + k, row)?;
                progress.count(plan.decision);
                decisions.push(plan.decision.letter());
                problems.extend(plan.problems(import.id, index + k, row.line));
            }
            import_rows::add_problems(conn, &problems)?;
            progress.elapsed_ms = started.elapsed().as_millis() as u64;
            if (end / BATCH_ROWS).is_multiple_of(5) || end == sheet.rows.len() {
                import_rows::progress(conn, import.id, &progress.json())?;
            }
        }
        alive(conn);
        index = end;
    }
    progress.done = true;
    progress.elapsed_ms = started.elapsed().as_millis() as u64;
    let status = if writes {
        ImportStatus::Done
    } else {
        ImportStatus::Checked
    };
    import_rows::finish_pass(
        conn,
        import.id,
        status,
        &progress.json(),
        Some(&decisions),
        None,
    )?;
    tracing::info!(
        import = %import.id,
        import.rows = progress.rows,
        import.created = progress.created,
        import.updated = progress.updated,
        import.rejected = progress.rejected,
        import.duration_ms = progress.elapsed_ms,
        "import pass done"
    );
    Ok(())
}

/// Why a batch's transaction ended without committing.
enum BatchError {
    App(AppError),
    /// All or nothing, and rows were rejected: their problems and the counts.
    Rejected(Vec<ImportProblem>, Progress),
}

impl From<AppError> for BatchError {
    fn from(e: AppError) -> Self {
        BatchError::App(e)
    }
}

impl From<diesel::result::Error> for BatchError {
    fn from(e: diesel::result::Error) -> Self {
        BatchError::App(rdv_db::DbError::from(e).into())
    }
}

impl From<rdv_db::DbError> for BatchError {
    fn from(e: rdv_db::DbError) -> Self {
        BatchError::App(e.into())
    }
}

fn store_decisions(conn: &mut Conn, id: ImportId, decisions: &str) -> AppResult<()> {
    use diesel::prelude::*;
    use rdv_db::schema::imports;
    diesel::update(imports::table.find(id))
        .set(imports::decisions.eq(decisions))
        .execute(conn)
        .map_err(rdv_db::DbError::from)?;
    Ok(())
}

/// Deletes the imports whose week has passed.
pub fn prune(conn: &mut Conn) -> AppResult<usize> {
    Ok(import_rows::prune(conn, Utc::now())?)
}

/// The persons an import created or changed (for tests and the command line).
pub fn persons_of(conn: &mut Conn, actor: &Actor, id: ImportId) -> AppResult<Vec<PersonId>> {
    get(conn, actor, id)?;
    Ok(import_person_ids(conn, id)?
        .into_iter()
        .map(PersonId)
        .collect())
}

/// The organizer the command line acts for: the account of `email` (its organizer
/// membership), or else the first admin of the event's organization.
pub fn command_line_actor(
    conn: &mut Conn,
    email: Option<&str>,
    event: Option<EventId>,
) -> AppResult<Actor> {
    use diesel::prelude::*;
    use rdv_db::queries::accounts;
    use rdv_db::schema::{events as ev, memberships, user_accounts};
    let (membership, user): (rdv_db::models::Membership, UserAccountId) = match email {
        Some(email) => {
            let account = accounts::find_by_email(conn, email)?
                .ok_or_else(|| AppError::not_found(format!("account {email}")))?;
            // The membership in the event's organization, when an event is named.
            let org: Option<OrganizationId> = match event {
                Some(e) => ev::table
                    .find(e)
                    .select(ev::organization_id)
                    .first(conn)
                    .optional()
                    .map_err(rdv_db::DbError::from)?,
                None => None,
            };
            let m = accounts::memberships_of(conn, account.id)?
                .into_iter()
                .filter(|m| m.role.is_organizer())
                .find(|m| org.is_none() || m.organization_id == org)
                .ok_or_else(|| {
                    AppError::forbidden(format!(
                        "{email} is not an organizer of the event's organization"
                    ))
                })?;
            (m, account.id)
        }
        None => {
            let event = event.ok_or_else(|| {
                AppError::field("as", "name the organizer to act for (--as EMAIL)")
            })?;
            let org: OrganizationId = ev::table
                .find(event)
                .select(ev::organization_id)
                .first(conn)
                .optional()
                .map_err(rdv_db::DbError::from)?
                .ok_or_else(|| AppError::not_found("event"))?;
            let m: rdv_db::models::Membership = memberships::table
                .inner_join(user_accounts::table)
                .filter(memberships::organization_id.eq(org))
                .filter(memberships::role.eq(Role::OrgAdmin))
                .order(memberships::id)
                .select(rdv_db::models::Membership::as_select())
                .first(conn)
                .optional()
                .map_err(rdv_db::DbError::from)?
                .ok_or_else(|| AppError::not_found("an admin of the event's organization"))?;
            let user = m.user_account_id;
            (m, user)
        }
    };
    Ok(Actor {
        user,
        membership: membership.id,
        organization: membership.organization_id,
        role: membership.role,
        person: membership.person_id,
        client_address: None,
    })
}
