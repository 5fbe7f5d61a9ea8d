//! Planning runs, their drafts, hand edits and publication, and the participants' agendas:
//! the HTTP shapes of `rdv_app::planning` and `rdv_app::agenda`.

use super::meetings::PartyOut;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ValidJson;
use crate::AppState;
use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::agenda::{self, Agenda, ChangeView, Span};
use rdv_app::planning::{self, PlanOptions};
use rdv_db::models::{PlanMeeting, PlanRun};
use rdv_domain::{
    AgendaChange, EventId, MeetingRequestId, MeetingStatus, PlanRunId, PlanStatus, RegistrationId,
    SlotId, TableId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(start)
        .service(list)
        .service(get_one)
        .service(cancel)
        .service(draft)
        .service(put_meeting)
        .service(remove_meeting)
        .service(publish)
        .service(preview)
        .service(event_meetings)
        .service(my_agenda)
        .service(agenda_of)
        .service(changes)
        .service(my_changes)
        .service(my_pdf)
        .service(participant_pdf)
        .service(new_feed)
        .service(revoke_feed)
        .service(feed);
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PlanOptionsIn {
    /// The planner's time limit (default 20).
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::time_limit)]
    pub time_limit_seconds: Option<i64>,
    /// The random seed (default 1).
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::seed)]
    pub seed: Option<i64>,
    /// The largest difference in breaks allowed between two participants (none by default).
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::fairness)]
    pub fairness: Option<i64>,
    /// Count idle slots within each day (default) or over the whole event.
    pub breaks_per_day: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct PlanOptionsOut {
    pub time_limit_seconds: u64,
    pub seed: u64,
    pub fairness: Option<u32>,
    pub breaks_per_day: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PlanRunOut {
    pub id: i64,
    pub event_id: i64,
    pub status: PlanStatus,
    pub options: Option<PlanOptionsOut>,
    /// While running: phase, elapsed seconds, the best plan's cost and the bound; once done:
    /// scheduled meetings, weight, breaks, bound and gap.
    #[schema(value_type = Object)]
    pub progress: serde_json::Value,
    /// Accepted requests the run planned.
    pub requests_total: Option<i32>,
    pub scheduled: Option<i32>,
    /// Scheduled weight (must 9, should 3, could 1 per meeting).
    pub weight: Option<i64>,
    /// Upper bound on the weight any plan could schedule.
    pub bound: Option<f64>,
    /// Relative distance to the bound; 0 proves the plan optimal.
    pub gap: Option<f64>,
    pub breaks: Option<i32>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<PlanRun> for PlanRunOut {
    fn from(r: PlanRun) -> Self {
        let options = serde_json::from_value::<PlanOptions>(r.options)
            .ok()
            .map(|o| PlanOptionsOut {
                time_limit_seconds: o.time_limit_seconds,
                seed: o.seed,
                fairness: o.fairness,
                breaks_per_day: o.breaks_per_day,
            });
        Self {
            id: r.id.0,
            event_id: r.event_id.0,
            status: r.status,
            options,
            progress: r.progress,
            requests_total: r.requests_total,
            scheduled: r.scheduled,
            weight: r.weight,
            bound: r.bound,
            gap: r.gap,
            breaks: r.breaks,
            error: r.error,
            cancel_requested: r.cancel_requested,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// Starts a planning run of the event's accepted requests; answers 202 with the run, which a
/// worker solves. Organization admins only. 409 when a run of the event is queued or running,
/// or when the event has no slot or no table yet.
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = PlanOptionsIn, responses((status = 202, body = PlanRunOut), (status = 409, body = ErrorBody)))]
#[post("/events/{id}/plans")]
pub async fn start(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<PlanOptionsIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, b) = (caller.0, EventId(id.into_inner()), body.0);
    let input = planning::OptionsInput {
        time_limit_seconds: b.time_limit_seconds,
        seed: b.seed,
        fairness: b.fairness,
        breaks_per_day: b.breaks_per_day,
    };
    let run = state
        .app_tx(move |conn| planning::start(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Accepted().json(PlanRunOut::from(run)))
}

/// The event's planning runs, newest first.
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = [PlanRunOut])))]
#[get("/events/{id}/plans")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let runs = state
        .app_tx(move |conn| planning::list(conn, &actor, event))
        .await?;
    let out: Vec<PlanRunOut> = runs.into_iter().map(PlanRunOut::from).collect();
    Ok(HttpResponse::Ok().json(out))
}

/// A run and its progress. A run whose worker died reads as failed.
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PlanRunOut)))]
#[get("/plans/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, PlanRunId(id.into_inner()));
    let run = state
        .app_tx(move |conn| planning::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(PlanRunOut::from(run)))
}

/// Cancels a queued run at once; a running one ends cancelled, without a draft, within about
/// two seconds (its worker stops the solver at its next progress report). 409 when the run
/// has ended.
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PlanRunOut), (status = 409, body = ErrorBody)))]
#[post("/plans/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, PlanRunId(id.into_inner()));
    let run = state
        .app_tx(move |conn| planning::cancel(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(PlanRunOut::from(run)))
}

#[derive(Serialize, ToSchema)]
pub struct PlanMeetingOut {
    pub request_id: i64,
    pub slot_id: i64,
    /// `null` when one of the two receives at their stand.
    pub table_id: Option<i64>,
}

impl From<PlanMeeting> for PlanMeetingOut {
    fn from(m: PlanMeeting) -> Self {
        Self {
            request_id: m.request_id.0,
            slot_id: m.slot_id.0,
            table_id: m.table_id.map(|t| t.0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnscheduledOut {
    pub request_id: i64,
    /// The planner's reason: `no_common_free_slot`, `quota_reached`, `table_shortage`,
    /// `participants_busy`, or `removed_by_organizer`.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct DraftOut {
    pub run: PlanRunOut,
    pub meetings: Vec<PlanMeetingOut>,
    pub unscheduled: Vec<UnscheduledOut>,
}

/// A run's draft plan: its meetings and every request it left out, with the reason.
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = DraftOut)))]
#[get("/plans/{id}/draft")]
pub async fn draft(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, PlanRunId(id.into_inner()));
    let d = state
        .app_tx(move |conn| planning::draft(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(DraftOut {
        run: d.run.into(),
        meetings: d.meetings.into_iter().map(PlanMeetingOut::from).collect(),
        unscheduled: d
            .unscheduled
            .into_iter()
            .map(|u| UnscheduledOut {
                request_id: u.request_id.0,
                reason: u.reason,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanMeetingIn {
    #[serde(deserialize_with = "crate::extract::integer")]
    pub slot_id: i64,
    /// A free shared table; absent: the first free one (none at a stand).
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    pub table_id: Option<i64>,
}

/// Puts a request's meeting of a finished run's draft in a slot, by hand. Every hard
/// constraint is checked: 409 names the one the move would break (the participant's other
/// meeting in that slot, their unavailability or quota, a taken table, a full slot).
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path), ("request_id" = i64, Path)),
    request_body = PlanMeetingIn, responses((status = 200, body = PlanMeetingOut), (status = 409, body = ErrorBody)))]
#[put("/plans/{id}/meetings/{request_id}")]
pub async fn put_meeting(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
    body: ValidJson<PlanMeetingIn>,
) -> Result<HttpResponse, ApiError> {
    let (id, request) = path.into_inner();
    let (actor, b) = (caller.0, body.0);
    let (id, request) = (PlanRunId(id), MeetingRequestId(request));
    let m = state
        .app_tx(move |conn| {
            planning::put_meeting(
                conn,
                &actor,
                id,
                request,
                SlotId(b.slot_id),
                b.table_id.map(TableId),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlanMeetingOut::from(m)))
}

/// Takes a request's meeting out of a finished run's draft.
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path), ("request_id" = i64, Path)),
    responses((status = 204, description = "removed"), (status = 409, body = ErrorBody)))]
#[delete("/plans/{id}/meetings/{request_id}")]
pub async fn remove_meeting(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, request) = path.into_inner();
    let actor = caller.0;
    state
        .app_tx(move |conn| {
            planning::remove_meeting(conn, &actor, PlanRunId(id), MeetingRequestId(request))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct PublishedOut {
    /// The agenda version this publication made.
    pub version: i32,
    pub added: usize,
    pub moved: usize,
    pub cancelled: usize,
    /// Participants whose agenda changed.
    pub participants: usize,
}

/// Publishes a finished run's draft: it becomes the participants' agendas, as a new version
/// that records, per participant, what changed. Organization admins only. 409 while a run of
/// the event is queued or running, or when the event's slots or tables changed after the run.
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PublishedOut), (status = 409, body = ErrorBody)))]
#[post("/plans/{id}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, PlanRunId(id.into_inner()));
    let p = state
        .app_tx(move |conn| planning::publish(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(PublishedOut {
        version: p.version,
        added: p.added,
        moved: p.moved,
        cancelled: p.cancelled,
        participants: p.participants,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SpanOut {
    pub slot_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Local time in the event's time zone, `YYYY-MM-DDTHH:MM`.
    pub local_start: String,
    pub local_end: String,
}

impl From<Span> for SpanOut {
    fn from(s: Span) -> Self {
        Self {
            slot_id: s.slot_id.0,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            local_start: s.local_start,
            local_end: s.local_end,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgendaMeetingOut {
    pub meeting_id: i64,
    pub request_id: i64,
    #[serde(flatten)]
    pub span: SpanOut,
    /// The table's label, or the stand.
    pub place: String,
    pub table_id: Option<i64>,
    pub counterpart: PartyOut,
    pub status: MeetingStatus,
    /// Raised at each change of the meeting.
    pub sequence: i32,
}

#[derive(Serialize, ToSchema)]
pub struct AgendaOut {
    pub event_id: i64,
    pub event_name: String,
    pub time_zone: String,
    pub registration_id: i64,
    /// The published version shown; `null` before the first publication.
    pub version: Option<i32>,
    pub meetings: Vec<AgendaMeetingOut>,
    pub unavailable: Vec<SpanOut>,
}

impl From<Agenda> for AgendaOut {
    fn from(a: Agenda) -> Self {
        Self {
            event_id: a.event.id.0,
            event_name: a.event.name,
            time_zone: a.event.time_zone,
            registration_id: a.me.registration_id.0,
            version: a.version,
            meetings: a
                .meetings
                .into_iter()
                .map(|e| AgendaMeetingOut {
                    meeting_id: e.meeting_id.0,
                    request_id: e.request_id.0,
                    span: e.span.into(),
                    place: e.place,
                    table_id: e.table_id.map(|t| t.0),
                    counterpart: e.counterpart.into(),
                    status: e.status,
                    sequence: e.sequence,
                })
                .collect(),
            unavailable: a.unavailable.into_iter().map(SpanOut::from).collect(),
        }
    }
}

/// The caller's agenda in the event: published meetings with times in the event's time zone,
/// tables and counterparts, and their unavailable slots.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = AgendaOut)))]
#[get("/me/events/{id}/agenda")]
pub async fn my_agenda(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let a = state
        .app_tx(move |conn| agenda::mine(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(AgendaOut::from(a)))
}

/// Any participant's agenda, for the event's organizers; audited.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), ("registration_id" = i64, Path)),
    responses((status = 200, body = AgendaOut)))]
#[get("/events/{id}/agendas/{registration_id}")]
pub async fn agenda_of(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (event, reg) = path.into_inner();
    let actor = caller.0;
    let a = state
        .app_tx(move |conn| {
            agenda::of_participant(conn, &actor, EventId(event), RegistrationId(reg))
        })
        .await?;
    Ok(HttpResponse::Ok().json(AgendaOut::from(a)))
}

#[derive(Serialize, ToSchema)]
pub struct AgendaChangeOut {
    pub registration_id: i64,
    pub meeting_id: i64,
    pub change: AgendaChange,
    /// Where the meeting was (moved or cancelled meetings).
    pub before: Option<SpanOut>,
    /// Where it is now (added or moved meetings).
    pub after: Option<SpanOut>,
    pub old_table_id: Option<i64>,
    pub new_table_id: Option<i64>,
}

impl From<ChangeView> for AgendaChangeOut {
    fn from(c: ChangeView) -> Self {
        Self {
            registration_id: c.registration_id.0,
            meeting_id: c.meeting_id.0,
            change: c.change,
            before: c.before.map(SpanOut::from),
            after: c.after.map(SpanOut::from),
            old_table_id: c.old_table_id.map(|t| t.0),
            new_table_id: c.new_table_id.map(|t| t.0),
        }
    }
}

/// What an agenda version changed, participant by participant; organizers only.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), ("version" = i32, Path)),
    responses((status = 200, body = [AgendaChangeOut])))]
#[get("/events/{id}/agenda-versions/{version}/changes")]
pub async fn changes(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i32)>,
) -> Result<HttpResponse, ApiError> {
    let (event, version) = path.into_inner();
    let actor = caller.0;
    let rows = state
        .app_tx(move |conn| agenda::changes(conn, &actor, EventId(event), version))
        .await?;
    let out: Vec<AgendaChangeOut> = rows.into_iter().map(AgendaChangeOut::from).collect();
    Ok(HttpResponse::Ok().json(out))
}

/// What an agenda version changed in the caller's own agenda.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), ("version" = i32, Path)),
    responses((status = 200, body = [AgendaChangeOut])))]
#[get("/me/events/{id}/agenda-versions/{version}/changes")]
pub async fn my_changes(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i32)>,
) -> Result<HttpResponse, ApiError> {
    let (event, version) = path.into_inner();
    let actor = caller.0;
    let rows = state
        .app_tx(move |conn| agenda::my_changes(conn, &actor, EventId(event), version))
        .await?;
    let out: Vec<AgendaChangeOut> = rows.into_iter().map(AgendaChangeOut::from).collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Serialize, ToSchema)]
pub struct FeedOut {
    /// The secret token, shown once: whoever holds it reads the agenda.
    pub token: String,
    /// The feed's path, to subscribe to from a calendar client.
    pub path: String,
}

/// Gives the caller a secret, revocable URL of their agenda as an iCalendar feed (no login
/// needed to read it). A new URL revokes the previous one.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 201, body = FeedOut)))]
#[post("/me/events/{id}/agenda-feed")]
pub async fn new_feed(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let token = state
        .app_tx(move |conn| agenda::new_feed(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Created().json(FeedOut {
        path: format!("/api/agenda-feeds/{token}"),
        token,
    }))
}

/// Revokes the caller's agenda feed URL.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 204, description = "revoked")))]
#[delete("/me/events/{id}/agenda-feed")]
pub async fn revoke_feed(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    state
        .app_tx(move |conn| agenda::revoke_feed(conn, &actor, event))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A participant's agenda as an iCalendar feed (RFC 5545), read with the secret token of its
/// URL and no login: times in the event's time zone (with its VTIMEZONE), one event per
/// meeting under a stable UID, SEQUENCE raised at each change, cancelled meetings as
/// STATUS:CANCELLED. 404 for an unknown or revoked token.
#[utoipa::path(tag = "agendas", params(("token" = String, Path, pattern = "^[A-Za-z0-9_-]{43}$")),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = ErrorBody)))]
#[get("/agenda-feeds/{token}")]
pub async fn feed(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let text = state
        .app_conn(move |conn| agenda::feed(conn, &token, "rdv"))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("cache-control", "private, max-age=300"))
        .body(text))
}

#[derive(Serialize, ToSchema)]
pub struct PreviewChangeOut {
    pub registration_id: i64,
    pub request_id: i64,
    pub change: AgendaChange,
    pub old_slot_id: Option<i64>,
    pub new_slot_id: Option<i64>,
    pub old_table_id: Option<i64>,
    pub new_table_id: Option<i64>,
}

/// Whose agendas publishing this run would change, and how (added, moved, cancelled
/// meetings, participant by participant); nothing is written. The same checks as publishing.
#[utoipa::path(tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [PreviewChangeOut]), (status = 409, body = ErrorBody)))]
#[get("/plans/{id}/preview")]
pub async fn preview(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, PlanRunId(id.into_inner()));
    let rows = state
        .app_tx(move |conn| planning::preview(conn, &actor, id))
        .await?;
    let out: Vec<PreviewChangeOut> = rows
        .into_iter()
        .map(|c| PreviewChangeOut {
            registration_id: c.registration_id.0,
            request_id: c.request_id.0,
            change: c.change,
            old_slot_id: c.old_slot_id.map(|s| s.0),
            new_slot_id: c.new_slot_id.map(|s| s.0),
            old_table_id: c.old_table_id.map(|t| t.0),
            new_table_id: c.new_table_id.map(|t| t.0),
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MeetingsQuery {
    /// Only the meetings of this slot (the per-slot view).
    pub slot_id: Option<i64>,
    /// Only the meetings at this table (the per-table view).
    pub table_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EventMeetingOut {
    pub meeting_id: i64,
    pub request_id: i64,
    #[serde(flatten)]
    pub span: SpanOut,
    pub table_id: Option<i64>,
    pub place: String,
    pub requester: PartyOut,
    pub recipient: PartyOut,
    pub sequence: i32,
}

/// The event's published meetings by time then table, for one slot or one table when asked;
/// organizers only, audited.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), MeetingsQuery),
    responses((status = 200, body = [EventMeetingOut])))]
#[get("/events/{id}/meetings")]
pub async fn event_meetings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<MeetingsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, q) = (caller.0, EventId(id.into_inner()), query.into_inner());
    let rows = state
        .app_tx(move |conn| {
            agenda::meetings(
                conn,
                &actor,
                event,
                q.slot_id.map(SlotId),
                q.table_id.map(TableId),
            )
        })
        .await?;
    let out: Vec<EventMeetingOut> = rows
        .into_iter()
        .map(|v| EventMeetingOut {
            meeting_id: v.meeting_id.0,
            request_id: v.request_id.0,
            span: v.span.into(),
            table_id: v.table_id.map(|t| t.0),
            place: v.place,
            requester: v.requester.into(),
            recipient: v.recipient.into(),
            sequence: v.sequence,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

fn pdf(bytes: Vec<u8>, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "content-disposition",
            format!("inline; filename=\"{name}.pdf\""),
        ))
        .body(bytes)
}

/// The caller's agenda as a printable PDF.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, content_type = "application/pdf", body = crate::schema::BinaryFile)))]
#[get("/me/events/{id}/agenda/pdf")]
pub async fn my_pdf(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let bytes = state
        .app_tx(move |conn| agenda::my_pdf(conn, &actor, event))
        .await?;
    Ok(pdf(bytes, "agenda"))
}

/// A participant's agenda as a PDF, for the event's organizers; audited.
#[utoipa::path(tag = "agendas", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), ("registration_id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = crate::schema::BinaryFile)))]
#[get("/events/{id}/agendas/{registration_id}/pdf")]
pub async fn participant_pdf(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (event, reg) = path.into_inner();
    let actor = caller.0;
    let bytes = state
        .app_tx(move |conn| {
            agenda::participant_pdf(conn, &actor, EventId(event), RegistrationId(reg))
        })
        .await?;
    Ok(pdf(bytes, &format!("agenda-{reg}")))
}
