//! Exports: files built in the background (every participant's agenda as one PDF, and
//! spreadsheets), their progress, and their download: the HTTP shapes of `rdv_app::exports`.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ValidJson;
use crate::AppState;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::exports;
use rdv_db::models::Export;
use rdv_domain::{EventId, ExportId, ExportKind, ExportStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(request)
        .service(request_org)
        .service(list)
        .service(get_one)
        .service(file);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportIn {
    /// What to build: `agendas_pdf` is every validated participant's agenda in one PDF;
    /// `participants` (registrations with the person and the form answers),
    /// `meeting_requests`, `meetings` (by slot), `tables` (by table, then slot), `orders`,
    /// `invoices` and `audit` (the organization's, admins only, without an event) are
    /// spreadsheets.
    pub kind: ExportKind,
    /// A spreadsheet's format: `csv` (UTF-8 with a BOM) or `xlsx`.
    #[serde(default)]
    pub format: Option<SheetFormat>,
    /// A CSV's separator: `,` (the default) or `;` (French Excel).
    #[serde(default)]
    pub separator: Option<Separator>,
    /// The columns, in order (all by default); form answers are `answer:KEY`.
    #[serde(default)]
    #[schema(max_items = 200)]
    pub columns: Option<Vec<String>>,
    /// Only rows of this status (participants, meeting requests, meetings, orders).
    #[serde(default)]
    #[schema(max_length = 50)]
    pub status: Option<String>,
    /// Only participants of this type.
    #[serde(default)]
    pub participant_type: Option<rdv_domain::ParticipantType>,
    /// Only rows whose names, company or email contain this text.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub q: Option<String>,
    /// From this day (orders, invoices, audit log).
    #[serde(default)]
    pub from: Option<chrono::NaiveDate>,
    /// Until this day, included.
    #[serde(default)]
    pub to: Option<chrono::NaiveDate>,
    /// An admin handling this open rights request gets the restricted rows of its person.
    #[serde(default)]
    pub rights_request_id: Option<i64>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum SheetFormat {
    Csv,
    Xlsx,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
pub enum Separator {
    #[serde(rename = ",")]
    Comma,
    #[serde(rename = ";")]
    Semicolon,
}

impl ExportIn {
    fn split(self) -> (ExportKind, exports::SheetOptions) {
        (
            self.kind,
            exports::SheetOptions {
                format: self.format.map(|f| {
                    match f {
                        SheetFormat::Csv => "csv",
                        SheetFormat::Xlsx => "xlsx",
                    }
                    .to_owned()
                }),
                separator: self.separator.map(|s| {
                    match s {
                        Separator::Comma => ",",
                        Separator::Semicolon => ";",
                    }
                    .to_owned()
                }),
                columns: self.columns,
                status: self.status,
                participant_type: self.participant_type.map(|t| t.as_str().to_owned()),
                q: self.q,
                from: self.from,
                to: self.to,
                rights_request_id: self.rights_request_id,
                subject_person_id: None,
            },
        )
    }
}

#[derive(Serialize, ToSchema)]
pub struct ExportOut {
    pub id: i64,
    /// None for the organization's audit log.
    pub event_id: Option<i64>,
    pub kind: ExportKind,
    pub status: ExportStatus,
    /// While it is built: `done` and `total` agendas; when done, the persons it names and the
    /// seconds it took.
    #[schema(value_type = Object)]
    pub progress: serde_json::Value,
    pub error: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the file is deleted.
    pub expires_at: DateTime<Utc>,
}

impl From<Export> for ExportOut {
    fn from(e: Export) -> Self {
        Self {
            id: e.id.0,
            event_id: e.event_id.map(|e| e.0),
            kind: e.kind,
            status: e.status,
            progress: e.progress,
            error: e.error,
            file_name: e.file_name,
            content_type: e.content_type,
            size_bytes: e.size_bytes,
            created_at: e.created_at,
            finished_at: e.finished_at,
            expires_at: e.privacy.retention_until,
        }
    }
}

/// Asks for an export of the event; answers 202 with it, and a worker builds it. Organizers
/// only. The file can be downloaded for a day.
#[utoipa::path(tag = "exports", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = ExportIn, responses((status = 202, body = ExportOut)))]
#[post("/events/{id}/exports")]
pub async fn request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<ExportIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let (kind, options) = body.0.split();
    let export = state
        .app_tx(move |conn| exports::request(conn, &actor, Some(event), kind, options))
        .await?;
    Ok(HttpResponse::Accepted().json(ExportOut::from(export)))
}

/// Asks for an export of the organization (the audit log); answers 202 and a worker builds
/// it. Organization admins only.
#[utoipa::path(tag = "exports", security(("bearer" = [])),
    request_body = ExportIn, responses((status = 202, body = ExportOut)))]
#[post("/exports")]
pub async fn request_org(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<ExportIn>,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let (kind, options) = body.0.split();
    let export = state
        .app_tx(move |conn| exports::request(conn, &actor, None, kind, options))
        .await?;
    Ok(HttpResponse::Accepted().json(ExportOut::from(export)))
}

/// The event's exports that have not expired, newest first.
#[utoipa::path(tag = "exports", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = Vec<ExportOut>)))]
#[get("/events/{id}/exports")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let found = state
        .app_tx(move |conn| exports::list(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(found.into_iter().map(ExportOut::from).collect::<Vec<_>>()))
}

/// An export and its progress.
#[utoipa::path(tag = "exports", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ExportOut)))]
#[get("/exports/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, ExportId(id.into_inner()));
    let export = state
        .app_tx(move |conn| exports::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(ExportOut::from(export)))
}

/// The file of a finished export; each download is audited with every person it names. 409
/// while it is being built or when it failed.
#[utoipa::path(tag = "exports", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = crate::schema::BinaryFile),
        (status = 409, body = ErrorBody)))]
#[get("/exports/{id}/file")]
pub async fn file(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, ExportId(id.into_inner()));
    let f = state
        .app_tx(move |conn| exports::download(conn, &actor, id))
        .await?;
    Ok(super::attachment(&f.content_type, &f.name, f.bytes))
}
