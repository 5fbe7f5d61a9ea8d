//! Imports: a spreadsheet uploaded as the request body, its dry run and real run as jobs,
//! their progress, and the row-by-row report: the HTTP shapes of `rdv_app::imports`.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::ValidJson;
use crate::AppState;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rdv_app::imports::{self, PassInput, ReportRows, Upload};
use rdv_db::models::{Import, ImportProblem};
use rdv_domain::{EventId, ImportId, ImportKind, ImportStatus, ParticipantType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(upload)
        .service(list)
        .service(get_one)
        .service(check)
        .service(run)
        .service(report);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// What the file holds.
    pub kind: ImportKind,
    /// The event to import into (none for prospects).
    pub event_id: Option<i64>,
    /// The file's name, for the organizer's lists and the report's name.
    pub file_name: String,
    /// The sheet of a workbook to read; the first by default.
    pub sheet: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ColumnOut {
    pub header: String,
    /// The field the column fills (`answer:KEY` for a registration-form answer); null when
    /// the column is ignored.
    pub field: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProblemOut {
    /// The row's line in the file (CSV) or its row number (Excel).
    pub line: i64,
    /// `skip` or `reject`.
    pub decision: String,
    /// The column at fault, as headed in the file.
    pub column: Option<String>,
    pub reason: String,
}

impl From<ImportProblem> for ProblemOut {
    fn from(p: ImportProblem) -> Self {
        Self {
            line: p.line,
            decision: p.decision,
            column: p.column_name,
            reason: p.reason,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportOut {
    pub id: i64,
    pub event_id: Option<i64>,
    pub kind: ImportKind,
    pub status: ImportStatus,
    pub file_name: String,
    pub size_bytes: i64,
    /// What the file was read as: `{"format": "csv", "encoding": ..., "separator": ...}` or
    /// `{"format": "xlsx", "sheet": ...}`.
    #[schema(value_type = Object)]
    pub detected: serde_json::Value,
    pub columns: Vec<ColumnOut>,
    /// The options of the last pass.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// Whether the last pass writes (a real run) or only checks (a dry run).
    pub writes: bool,
    /// `rows`, `read`, `created`, `updated`, `skipped`, `rejected`; for a real run `position`
    /// (rows committed) and `batches`; `done` and `elapsed_ms` at the end.
    #[schema(value_type = Object)]
    pub progress: serde_json::Value,
    pub error: Option<String>,
    /// The first problems of the last pass (the report has them all).
    pub problems: Vec<ProblemOut>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the file and its report are deleted.
    pub expires_at: DateTime<Utc>,
}

fn out(i: Import, problems: Vec<ImportProblem>) -> ImportOut {
    let columns: Vec<imports::Column> =
        serde_json::from_value(i.mapping.clone()).unwrap_or_default();
    let mut options = i.options;
    if let Some(o) = options.as_object_mut() {
        // Who asked is the audit log's business.
        o.retain(|k, _| !k.starts_with("actor_"));
    }
    ImportOut {
        id: i.id.0,
        event_id: i.event_id.map(|e| e.0),
        kind: i.kind,
        status: i.status,
        file_name: i.file_name,
        size_bytes: i.size_bytes,
        detected: i.detected,
        columns: columns
            .into_iter()
            .map(|c| ColumnOut {
                header: c.header,
                field: c.field,
            })
            .collect(),
        options,
        writes: i.writes,
        progress: i.progress,
        error: i.error,
        problems: problems.into_iter().map(ProblemOut::from).collect(),
        created_at: i.created_at,
        finished_at: i.finished_at,
        expires_at: i.privacy.retention_until,
    }
}

/// Uploads a spreadsheet (the body: CSV in UTF-8 or Windows-1252 separated by `,` `;` or
/// tabs, or an `.xlsx` workbook) and answers how it was read and how its headers map to
/// fields. Nothing is imported yet: start a dry run, then the real run. Organizers only.
#[utoipa::path(tag = "imports", security(("bearer" = [])), params(UploadQuery),
    request_body(content = crate::schema::BinaryFile, content_type = "application/octet-stream"),
    responses((status = 201, body = ImportOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/imports")]
pub async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<UploadQuery>,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let max = state.imports.max_file_bytes;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(ErrorCode::BadRequest, format!("cannot read the body: {e}"))
        })?;
        if bytes.len() + chunk.len() > max {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the file exceeds the limit of {max} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    let (actor, q) = (caller.0, q.into_inner());
    let settings = state.imports.clone();
    let up = Upload {
        kind: q.kind.as_str().to_owned(),
        event: q.event_id.map(EventId),
        file_name: q.file_name,
        sheet: q.sheet,
        bytes: bytes.to_vec(),
    };
    let import = state
        .app_tx(move |conn| imports::upload(conn, &actor, &settings, up))
        .await?;
    Ok(HttpResponse::Created().json(out(import, vec![])))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the imports into this event.
    pub event_id: Option<i64>,
}

/// The organization's imports that have not expired, newest first.
#[utoipa::path(tag = "imports", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<ImportOut>), (status = 404, body = ErrorBody)))]
#[get("/imports")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, q.event_id.map(EventId));
    let found = state
        .app_tx(move |conn| imports::list(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(
        found
            .into_iter()
            .map(|i| out(i, vec![]))
            .collect::<Vec<_>>(),
    ))
}

/// An import, its progress and the first problems of its last pass.
#[utoipa::path(tag = "imports", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ImportOut)))]
#[get("/imports/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, ImportId(id.into_inner()));
    let (import, problems) = state
        .app_tx(move |conn| {
            let i = imports::get(conn, &actor, id)?;
            let p = imports::problems(conn, &actor, id)?;
            Ok((i, p))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out(import, problems)))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PassIn {
    /// Header → field, for the columns whose automatic mapping is to change: a field of the
    /// kind, `answer:KEY` for a registration-form answer, or null to ignore the column.
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, Option<String>>>,
    /// The country of national phone numbers such as `06 12 34 56 78` (FR by default).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub default_country: Option<String>,
    /// The participant type of rows that give none.
    #[serde(default)]
    pub default_participant_type: Option<ParticipantType>,
    /// A row naming a person already in the organization: `update` (the default) or `skip`.
    #[serde(default)]
    pub on_existing: Option<OnExisting>,
    /// Write everything in one transaction, or nothing if a row is rejected.
    #[serde(default)]
    pub all_or_nothing: Option<bool>,
    /// Send each new registration its confirmation email (off by default).
    #[serde(default)]
    pub notify: Option<bool>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum OnExisting {
    Update,
    Skip,
}

impl From<PassIn> for PassInput {
    fn from(p: PassIn) -> Self {
        PassInput {
            mapping: p.mapping,
            default_country: p.default_country,
            default_participant_type: p.default_participant_type.map(|t| t.as_str().to_owned()),
            on_existing: p.on_existing.map(|o| {
                match o {
                    OnExisting::Update => "update",
                    OnExisting::Skip => "skip",
                }
                .to_owned()
            }),
            all_or_nothing: p.all_or_nothing,
            notify: p.notify,
        }
    }
}

/// Starts a dry run: every row decided (create, update, skip, reject) with the API's own
/// checks, nothing written. Answers 202; follow the progress on the import.
#[utoipa::path(tag = "imports", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = PassIn, responses((status = 202, body = ImportOut), (status = 409, body = ErrorBody)))]
#[post("/imports/{id}/check")]
pub async fn check(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<PassIn>,
) -> Result<HttpResponse, ApiError> {
    start(state, caller, id.into_inner(), body.0, false).await
}

/// Starts a pass and answers 202 with the import.
async fn start(
    state: web::Data<AppState>,
    caller: Caller,
    id: i64,
    body: PassIn,
    writes: bool,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, input) = (caller.0, ImportId(id), body.into());
    let import = state
        .app_tx(move |conn| {
            if writes {
                imports::run(conn, &actor, id, input)
            } else {
                imports::check(conn, &actor, id, input)
            }
        })
        .await?;
    Ok(HttpResponse::Accepted().json(out(import, vec![])))
}

/// Starts the real run: a transaction per batch of rows (a retried run resumes after the
/// last batch written), or one for all with `all_or_nothing`. Answers 202.
#[utoipa::path(tag = "imports", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = PassIn, responses((status = 202, body = ImportOut), (status = 409, body = ErrorBody)))]
#[post("/imports/{id}/run")]
pub async fn run(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<PassIn>,
) -> Result<HttpResponse, ApiError> {
    start(state, caller, id.into_inner(), body.0, true).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `csv` (the default) or `xlsx`.
    pub format: Option<ReportFormat>,
    /// `problems` (the default: rows skipped or rejected) or `all`.
    pub rows: Option<ReportWhich>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Csv,
    Xlsx,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ReportWhich {
    Problems,
    All,
}

/// The report of the last pass: the file's own columns, then `decision` and `error` (the
/// line, the column and the reason); import the fixed file again. Audited.
#[utoipa::path(tag = "imports", security(("bearer" = [])), params(("id" = i64, Path), ReportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 409, body = ErrorBody)))]
#[get("/imports/{id}/report")]
pub async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, ImportId(id.into_inner()));
    let format = match q.format.unwrap_or(ReportFormat::Csv) {
        ReportFormat::Csv => rdv_app::imports::WriterFormat::Csv { separator: b',' },
        ReportFormat::Xlsx => rdv_app::imports::WriterFormat::Xlsx,
    };
    let which = match q.rows.unwrap_or(ReportWhich::Problems) {
        ReportWhich::Problems => ReportRows::Problems,
        ReportWhich::All => ReportRows::All,
    };
    let settings = state.imports.clone();
    let f = state
        .app_tx(move |conn| imports::report(conn, &actor, &settings, id, format, which))
        .await?;
    Ok(super::attachment(&f.content_type, &f.name, f.bytes))
}
