//! Privacy: rights requests (made by participants, recorded by organizers) and the
//! organization's queue, access archives, lifting a restriction, the record of processing,
//! and the retention sweeps' reports: the HTTP shapes of `rdv_app::privacy`.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ValidJson;
use crate::routes::PageQuery;
use crate::AppState;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::privacy::requests::{self, Queued, RequestInput};
use rdv_app::privacy::{closure, requalify};
use rdv_domain::{
    OrganizationId, PersonId, RequestChannel, RightKind, RightsRequestId, RightsRequestState,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ask)
        .service(mine)
        .service(record)
        .service(queue)
        .service(get_one)
        .service(process)
        .service(reject)
        .service(archive)
        .service(lift_restriction)
        .service(record_of_processing)
        .service(sweeps)
        .service(sweep_dry_run)
        .service(requalification)
        .service(requalification_send)
        .service(requalify_page)
        .service(requalify_confirm)
        .service(close_organization)
        .service(closure_status)
        .service(closure_export)
        .service(closure_rebuild);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnRequestIn {
    pub kind: RightKind,
    #[schema(schema_with = crate::schema::opt_purpose)]
    #[serde(default)]
    pub purpose: Option<String>,
    /// What you ask, in your words (a rectification says what is wrong).
    #[schema(schema_with = crate::schema::opt_multiline::<4000>)]
    #[serde(default)]
    pub details: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequestIn {
    pub kind: RightKind,
    #[schema(schema_with = crate::schema::opt_purpose)]
    #[serde(default)]
    pub purpose: Option<String>,
    /// What the person asked, in their words.
    #[schema(schema_with = crate::schema::opt_multiline::<4000>)]
    #[serde(default)]
    pub details: Option<String>,
    /// How it came: `post`, `email`, `phone` or `in_person`.
    pub channel: RequestChannel,
    /// When it was received (now when absent, never in the future, at most a year ago): the
    /// due date runs from it.
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct RightsRequestOut {
    pub id: i64,
    pub person_id: i64,
    pub kind: RightKind,
    pub purpose: Option<String>,
    pub channel: RequestChannel,
    pub details: Option<String>,
    pub state: RightsRequestState,
    pub received_at: DateTime<Utc>,
    /// Erasure: 10 days after it was received; the other rights: 30 days.
    pub due_at: DateTime<Utc>,
    /// Still open after its due date.
    pub overdue: bool,
    pub recorded_by: Option<i64>,
    pub handled_by: Option<i64>,
    pub handled_at: Option<DateTime<Utc>>,
    /// What was done: per table for an erasure, the archive's size for an access request,
    /// why for a rejection.
    #[schema(value_type = Object)]
    pub outcome: serde_json::Value,
    pub note: Option<String>,
    /// Until when the archive of an access or portability request can be downloaded.
    pub archive_expires_at: Option<DateTime<Utc>>,
}

impl From<Queued> for RightsRequestOut {
    fn from(q: Queued) -> Self {
        let r = q.request;
        Self {
            id: r.id.0,
            person_id: r.person_id.0,
            kind: r.kind,
            purpose: r.purpose,
            channel: r.channel,
            details: r.details,
            state: r.state,
            received_at: r.received_at,
            due_at: r.due_at,
            overdue: q.overdue,
            recorded_by: r.recorded_by.map(|u| u.0),
            handled_by: r.handled_by.map(|u| u.0),
            handled_at: r.handled_at,
            outcome: r.outcome,
            note: r.note,
            archive_expires_at: r.archive_expires_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RightsRequestPage {
    pub items: Vec<RightsRequestOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// A participant exercises a right over their own data. Access and portability start
/// building the archive at once, opposition and consent withdrawal take effect at once;
/// erasure, restriction and rectification wait in the organizers' queue. One open request
/// per right (and purpose): asking again is a 409.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), request_body = OwnRequestIn,
    responses((status = 201, body = RightsRequestOut), (status = 409, body = ErrorBody)))]
#[post("/me/privacy-requests")]
pub async fn ask(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<OwnRequestIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b) = (caller.0, body.0);
    let input = RequestInput {
        kind: b.kind.as_str().to_owned(),
        purpose: b.purpose,
        details: b.details,
        channel: None,
        received_at: None,
    };
    let r = state
        .app_tx(move |conn| requests::ask(conn, &actor, input).map(Queued::from))
        .await?;
    Ok(HttpResponse::Created().json(RightsRequestOut::from(r)))
}

/// The participant's own requests, newest first.
#[utoipa::path(tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = Vec<RightsRequestOut>)))]
#[get("/me/privacy-requests")]
pub async fn mine(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let found = state
        .app_tx(move |conn| requests::mine(conn, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(
        found
            .into_iter()
            .map(RightsRequestOut::from)
            .collect::<Vec<_>>(),
    ))
}

/// An organizer records a request received by post, email, phone or in person; it joins the
/// queue with its due date.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path, description = "person id")),
    request_body = RecordedRequestIn,
    responses((status = 201, body = RightsRequestOut), (status = 409, body = ErrorBody)))]
#[post("/persons/{id}/privacy-requests")]
pub async fn record(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<RecordedRequestIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, person, b) = (caller.0, PersonId(id.into_inner()), body.0);
    let input = RequestInput {
        kind: b.kind.as_str().to_owned(),
        purpose: b.purpose,
        details: b.details,
        channel: Some(b.channel.as_str().to_owned()),
        received_at: b.received_at,
    };
    let r = state
        .app_tx(move |conn| requests::record(conn, &actor, person, input).map(Queued::from))
        .await?;
    Ok(HttpResponse::Created().json(RightsRequestOut::from(r)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Include answered and rejected requests.
    #[serde(default)]
    pub all: bool,
    #[param(schema_with = crate::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::schema::per_page)]
    pub per_page: Option<u32>,
}

/// The organization's requests by due date, the oldest deadline first, open ones only unless
/// `all`; overdue ones are flagged. Organization admins only.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = RightsRequestPage)))]
#[get("/privacy-requests")]
pub async fn queue(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, q) = (caller.0, query.into_inner());
    let found = state
        .app_tx(move |conn| requests::queue(conn, &actor, q.all, q.page, q.per_page))
        .await?;
    Ok(HttpResponse::Ok().json(RightsRequestPage {
        items: found
            .items
            .into_iter()
            .map(RightsRequestOut::from)
            .collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

/// One request: for an admin of its organization, or the participant it is about.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = RightsRequestOut)))]
#[get("/privacy-requests/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, RightsRequestId(id.into_inner()));
    let r = state
        .app_tx(move |conn| requests::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(RightsRequestOut::from(r)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessIn {
    /// What was checked or done, for the record.
    #[schema(schema_with = crate::schema::opt_multiline::<4000>)]
    #[serde(default)]
    pub note: Option<String>,
}

/// An admin answers an open request: an erasure erases the person in every table (what the
/// law keeps stays under a legal hold) and sends them a last message; a restriction freezes
/// and hides their records; an access or portability request builds the archive; a
/// rectification is ended once the data was corrected. 409 when the request is no longer open.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ProcessIn,
    responses((status = 200, body = RightsRequestOut), (status = 409, body = ErrorBody)))]
#[post("/privacy-requests/{id}/process")]
pub async fn process(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<ProcessIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, note) = (caller.0, RightsRequestId(id.into_inner()), body.0.note);
    let r = state
        .app_tx(move |conn| requests::process(conn, &actor, id, note).map(Queued::from))
        .await?;
    Ok(HttpResponse::Ok().json(RightsRequestOut::from(r)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    /// Why the request is turned down (e.g. the requester's identity could not be checked).
    #[schema(schema_with = crate::schema::opt_multiline::<4000>)]
    pub reason: String,
}

/// An admin turns a request down, saying why.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = RejectIn,
    responses((status = 200, body = RightsRequestOut), (status = 409, body = ErrorBody)))]
#[post("/privacy-requests/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<RejectIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, reason) = (caller.0, RightsRequestId(id.into_inner()), body.0.reason);
    let r = state
        .app_tx(move |conn| requests::reject(conn, &actor, id, reason).map(Queued::from))
        .await?;
    Ok(HttpResponse::Ok().json(RightsRequestOut::from(r)))
}

/// The archive of an access or portability request (a zip of JSON and CSV files): for the
/// participant who asked, or for the admins when an organizer recorded the request. 409
/// while it is built or after it expired.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/zip", body = crate::schema::BinaryFile),
        (status = 409, body = ErrorBody)))]
#[get("/privacy-requests/{id}/archive")]
pub async fn archive(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, rid) = (caller.0, RightsRequestId(id.into_inner()));
    let bytes = state
        .app_tx(move |conn| requests::download(conn, &actor, rid))
        .await?;
    Ok(super::attachment(
        "application/zip",
        &format!("personal-data-{}.zip", rid.0),
        bytes,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct LiftedOut {
    /// Records no longer restricted: the person and their registrations.
    pub records: usize,
}

/// Lifts a person's restriction of processing: organization admins only, the one change a
/// restricted record accepts. 409 when the person is not restricted.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path, description = "person id")),
    responses((status = 200, body = LiftedOut), (status = 409, body = ErrorBody)))]
#[post("/persons/{id}/restriction/lift")]
pub async fn lift_restriction(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, person) = (caller.0, PersonId(id.into_inner()));
    let records = state
        .app_tx(move |conn| requests::lift_restriction(conn, &actor, person))
        .await?;
    Ok(HttpResponse::Ok().json(LiftedOut { records }))
}

/// The record of processing activities (GDPR art. 30) for the caller's organization, as
/// Markdown, generated from the platform's registry of personal data. Organization admins.
#[utoipa::path(tag = "privacy", security(("bearer" = [])),
    responses((status = 200, content_type = "text/markdown", body = String)))]
#[get("/privacy/record")]
pub async fn record_of_processing(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let md = state
        .app_tx(move |conn| {
            let org = actor.admin_org()?;
            let name = rdv_db::queries::organizations::get(conn, org)?.name;
            Ok(rdv_privacy::record::markdown(
                &rdv_privacy::record::Header {
                    controller: &name,
                    generated_on: &Utc::now().date_naive().to_string(),
                },
            ))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/markdown; charset=utf-8")
        .body(md))
}

#[derive(Serialize, ToSchema)]
pub struct SweepOut {
    pub id: i64,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Per table: what was erased, anonymised or deleted, and what a legal hold kept.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
    pub error: Option<String>,
}

/// The latest 50 retention sweeps and their reports, newest first. Platform admins.
#[utoipa::path(tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = Vec<SweepOut>)))]
#[get("/privacy/sweeps")]
pub async fn sweeps(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let found = state
        .app_tx(move |conn| rdv_app::privacy::sweep::reports(conn, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(
        found
            .into_iter()
            .map(|s| SweepOut {
                id: s.id.0,
                status: s.status,
                started_at: s.started_at,
                finished_at: s.finished_at,
                report: s.report,
                error: s.error,
            })
            .collect::<Vec<_>>(),
    ))
}

/// What a retention sweep would remove now, per table, changing nothing. Platform admins.
#[utoipa::path(tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = Object)))]
#[post("/privacy/sweeps/dry-run")]
pub async fn sweep_dry_run(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (actor, settings) = (caller.0, state.privacy.clone());
    let report = state
        .app_conn(move |conn| rdv_app::privacy::sweep::dry_run(conn, &actor, &settings))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Serialize, ToSchema)]
pub struct RequalifyOut {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub mobile_phone: Option<String>,
    pub company: Option<String>,
    /// When the person last confirmed their data; `null`: never since it was recorded.
    pub last_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct RequalifyPage {
    pub items: Vec<RequalifyOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Persons whose data was last confirmed (or recorded) more than six months ago, the oldest
/// first: who the requalification message goes to, or whom to call. Organization admins;
/// audited.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = RequalifyPage)))]
#[get("/privacy/requalification")]
pub async fn requalification(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, q) = (caller.0, query.into_inner());
    let found = state
        .app_tx(move |conn| requalify::list(conn, &actor, q.page, q.per_page))
        .await?;
    Ok(HttpResponse::Ok().json(RequalifyPage {
        items: found
            .items
            .into_iter()
            .map(|p| RequalifyOut {
                id: p.id.0,
                first_name: p.first_name,
                last_name: p.last_name,
                email: p.email,
                mobile_phone: p.mobile_phone,
                company: p.company,
                last_verified_at: p.privacy.last_verified_at,
                created_at: p.created_at,
            })
            .collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RequalifySent {
    /// Messages queued now (a person gets one a month at most).
    pub queued: usize,
}

/// Sends the requalification message, with its signed link, to every person due. Organization
/// admins; audited.
#[utoipa::path(tag = "privacy", security(("bearer" = [])),
    responses((status = 202, body = RequalifySent)))]
#[post("/privacy/requalification/send")]
pub async fn requalification_send(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let queued = state
        .app_tx(move |conn| requalify::send(conn, &actor))
        .await?;
    Ok(HttpResponse::Accepted().json(RequalifySent { queued }))
}

/// The page a requalification link opens: the person's data in a form, to confirm or
/// correct (a GET changes nothing). No login: the signed token names the person. 404 when it
/// does not verify or has expired.
#[utoipa::path(tag = "privacy", params(("token" = String, Path, description = "the link's signed token")),
    responses((status = 200, content_type = "text/html", body = String)))]
#[get("/requalify/{token}")]
pub async fn requalify_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let secret = state.auth.jwt_secret.expose_secret().to_owned();
    let token = token.into_inner();
    let p = state
        .app_conn(move |conn| requalify::subject(conn, &secret, &token))
        .await?;
    let field = |name: &str, label: &str, value: &str| {
        format!(
            "<p><label>{label}<br><input name=\"{name}\" value=\"{}\" maxlength=\"200\"></label></p>",
            super::html_escape(value)
        )
    };
    let body = format!(
        "<p>Hello {},</p><p>Please check the information we hold about you, correct what is \
         wrong, and confirm.</p><form id=\"f\">{}{}{}{}{}<p>Email: {}</p>\
         <p><button type=\"submit\">Confirm</button></p></form><p id=\"r\" role=\"status\"></p>{REQUALIFY_SCRIPT}",
        super::html_escape(&p.first_name),
        field("first_name", "First name", &p.first_name),
        field("last_name", "Last name", &p.last_name),
        field("company", "Company", p.company.as_deref().unwrap_or_default()),
        field("job_title", "Job title", p.job_title.as_deref().unwrap_or_default()),
        field("mobile_phone", "Mobile (international format, +33...)", p.mobile_phone.as_deref().unwrap_or_default()),
        super::html_escape(&p.email),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Your information</title></head>\
             <body style=\"font-family: Helvetica, Arial, sans-serif; max-width: 600px; margin: 2em auto;\">{body}</body></html>"
        )))
}

const REQUALIFY_SCRIPT: &str = r#"<script>
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = {};
  for (const [k, v] of new FormData(e.target)) body[k] = v;
  const res = await fetch(location.pathname, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const out = await res.json();
  document.getElementById("r").textContent = res.ok
    ? "Thank you: your information is confirmed."
    : Object.values(out.fields || {}).join(" ") || out.message;
});
</script>"#;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RequalifyIn {
    #[schema(schema_with = crate::schema::text_or_null::<100>)]
    #[serde(default)]
    pub first_name: Option<String>,
    #[schema(schema_with = crate::schema::text_or_null::<100>)]
    #[serde(default)]
    pub last_name: Option<String>,
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    #[serde(default)]
    pub company: Option<String>,
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    #[serde(default)]
    pub job_title: Option<String>,
    #[schema(schema_with = crate::schema::opt_phone)]
    #[serde(default)]
    pub mobile_phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Requalified {
    pub confirmed: bool,
    pub last_verified_at: Option<DateTime<Utc>>,
}

/// The person confirms their data, with corrections: each field given replaces the held
/// value (blank clears an optional one), and the data counts as verified now. Audited.
#[utoipa::path(tag = "privacy", params(("token" = String, Path, description = "the link's signed token")),
    request_body = RequalifyIn, responses((status = 200, body = Requalified)))]
#[post("/requalify/{token}")]
pub async fn requalify_confirm(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    token: web::Path<String>,
    body: ValidJson<RequalifyIn>,
) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let secret = state.auth.jwt_secret.expose_secret().to_owned();
    let address = crate::auth::client_address(&req, state.server.trusted_proxy_hops);
    let (token, b) = (token.into_inner(), body.0);
    let opt = |v: Option<String>| v.map(|s| (!s.trim().is_empty()).then_some(s));
    let patch = rdv_app::persons::PersonPatch {
        first_name: b.first_name,
        last_name: b.last_name,
        company: opt(b.company),
        job_title: opt(b.job_title),
        mobile_phone: opt(b.mobile_phone),
        ..Default::default()
    };
    let p = state
        .app_tx(move |conn| requalify::confirm(conn, &secret, &token, patch, address))
        .await?;
    Ok(HttpResponse::Ok().json(Requalified {
        confirmed: true,
        last_verified_at: p.privacy.last_verified_at,
    }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseIn {
    /// Days between the closure and the deletion (1 to 90; 10 when absent).
    #[schema(minimum = 1, maximum = 90)]
    #[serde(default)]
    pub delay_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ClosureOut {
    pub organization_id: i64,
    pub closed_at: Option<DateTime<Utc>>,
    /// When everything not under a legal hold is deleted.
    pub purge_after: Option<DateTime<Utc>>,
    pub purged_at: Option<DateTime<Utc>>,
    /// The complete export can be downloaded.
    pub export_ready: bool,
    /// The export's size, and after the deletion what was deleted and what was kept, per table.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

impl From<closure::Closure> for ClosureOut {
    fn from(c: closure::Closure) -> Self {
        Self {
            organization_id: c.id,
            closed_at: c.closed_at,
            purge_after: c.purge_after,
            purged_at: c.purged_at,
            export_ready: c.export_ready,
            report: c.closure,
        }
    }
}

/// The organizer's contract ends: a worker builds the complete export of the organization's
/// data for its admins, and after the delay everything not under a legal hold is deleted.
/// Platform admins; 409 when it is closed already.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path, description = "organization id")),
    request_body = CloseIn,
    responses((status = 202, body = ClosureOut), (status = 409, body = ErrorBody)))]
#[post("/organizations/{id}/close")]
pub async fn close_organization(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<CloseIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, org, days) = (caller.0, OrganizationId(id.into_inner()), body.0.delay_days);
    let c = state
        .app_tx(move |conn| closure::close(conn, &actor, org, days))
        .await?;
    Ok(HttpResponse::Accepted().json(ClosureOut::from(c)))
}

/// Where the organization's closure stands. Platform admins, and the organization's admins.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path, description = "organization id")),
    responses((status = 200, body = ClosureOut)))]
#[get("/organizations/{id}/closure")]
pub async fn closure_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, org) = (caller.0, OrganizationId(id.into_inner()));
    let c = state
        .app_tx(move |conn| closure::status(conn, &actor, org))
        .await?;
    Ok(HttpResponse::Ok().json(ClosureOut::from(c)))
}

/// The closed organization's complete export (a zip: `data.json` and one CSV per table),
/// until its data is deleted; audited. 409 while it is built.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path, description = "organization id")),
    responses((status = 200, content_type = "application/zip", body = crate::schema::BinaryFile),
        (status = 409, body = ErrorBody)))]
#[get("/organizations/{id}/closure/export")]
pub async fn closure_export(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, org) = (caller.0, OrganizationId(id.into_inner()));
    let bytes = state
        .app_tx(move |conn| closure::download(conn, &actor, org))
        .await?;
    Ok(super::attachment(
        "application/zip",
        &format!("organization-{}.zip", org.0),
        bytes,
    ))
}

/// Builds the closing export again, with what was written since the closure; 202, and a
/// worker builds it. The organization's admins and platform admins, until the data is deleted.
#[utoipa::path(tag = "privacy", security(("bearer" = [])), params(("id" = i64, Path, description = "organization id")),
    responses((status = 202, body = ClosureOut)))]
#[post("/organizations/{id}/closure/export")]
pub async fn closure_rebuild(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, org) = (caller.0, OrganizationId(id.into_inner()));
    let c = state
        .app_tx(move |conn| closure::rebuild(conn, &actor, org))
        .await?;
    Ok(HttpResponse::Accepted().json(ClosureOut::from(c)))
}
