//! Meeting rules, meeting requests and availability: the HTTP shapes of
//! `rdv_app::meetings`, which holds the rules.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ValidJson;
use crate::AppState;
use actix_web::{get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::meetings::{self, RequestView};
use rdv_db::models::MeetingSettings;
use rdv_db::queries::meetings::Party;
use rdv_domain::{
    Acceptance, EventDayId, EventId, MeetingRequestId, ParticipantType, Priority, RegistrationId,
    RequestStatus, SlotId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_settings)
        .service(put_settings)
        .service(list)
        .service(create)
        .service(dashboard)
        .service(get_one)
        .service(history)
        .service(accept)
        .service(decline)
        .service(cancel)
        .service(my_unavailability)
        .service(set_my_unavailability)
        .service(my_presence)
        .service(set_my_presence)
        .service(presence_of)
        .service(set_presence_of);
}

#[derive(Serialize, ToSchema)]
pub struct MeetingSettingsOut {
    pub event_id: i64,
    /// Pairs of participant types that may meet; empty: anyone may meet anyone.
    pub allowed_pairs: Vec<[ParticipantType; 2]>,
    pub acceptance: Acceptance,
    pub requests_open_at: Option<DateTime<Utc>>,
    pub requests_close_at: Option<DateTime<Utc>>,
    pub max_requests_per_participant: i32,
    /// Participant type → default meeting quota (a registration's own quota overrides it).
    pub default_quotas: BTreeMap<String, i32>,
}

impl From<MeetingSettings> for MeetingSettingsOut {
    fn from(s: MeetingSettings) -> Self {
        let allowed_pairs = meetings::rules(&s)
            .pairs
            .into_iter()
            .map(|(a, b)| [a, b])
            .collect();
        let default_quotas = s
            .default_quotas
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), i32::try_from(v.as_i64()?).ok()?)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            event_id: s.event_id.0,
            allowed_pairs,
            acceptance: s.acceptance,
            requests_open_at: s.requests_open_at,
            requests_close_at: s.requests_close_at,
            max_requests_per_participant: s.max_requests_per_participant,
            default_quotas,
        }
    }
}

/// Default quotas per participant type; `null` or absent: none.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DefaultQuotasIn {
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::opt_quota)]
    pub buyer: Option<i32>,
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::opt_quota)]
    pub supplier: Option<i32>,
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::opt_quota)]
    pub visitor: Option<i32>,
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::opt_quota)]
    pub exhibitor: Option<i32>,
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::opt_quota)]
    pub speaker: Option<i32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingSettingsIn {
    /// Pairs of participant types that may meet, in either order; empty: anyone.
    #[schema(schema_with = crate::schema::type_pairs)]
    pub allowed_pairs: Vec<(String, String)>,
    #[schema(value_type = Acceptance)]
    pub acceptance: String,
    pub requests_open_at: Option<DateTime<Utc>>,
    /// After `requests_open_at`.
    pub requests_close_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "crate::extract::integer")]
    #[schema(schema_with = crate::schema::request_allowance)]
    pub max_requests_per_participant: i32,
    #[serde(default)]
    pub default_quotas: DefaultQuotasIn,
}

/// The event's meeting rules (the defaults until the organizer sets them): for its
/// organizers and participants.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = MeetingSettingsOut)))]
#[get("/events/{id}/meeting-settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let s = state
        .app_tx(move |conn| meetings::settings(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingSettingsOut::from(s)))
}

/// Sets the event's meeting rules, whole; organization admins only. A request window whose
/// close is not after its opening is refused (422).
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = MeetingSettingsIn, responses((status = 200, body = MeetingSettingsOut)))]
#[put("/events/{id}/meeting-settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<MeetingSettingsIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, b) = (caller.0, EventId(id.into_inner()), body.0);
    let q = b.default_quotas;
    let quotas: BTreeMap<String, i32> = [
        ("buyer", q.buyer),
        ("supplier", q.supplier),
        ("visitor", q.visitor),
        ("exhibitor", q.exhibitor),
        ("speaker", q.speaker),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
    .collect();
    let input = meetings::SettingsInput {
        allowed_pairs: b.allowed_pairs,
        acceptance: b.acceptance,
        requests_open_at: b.requests_open_at,
        requests_close_at: b.requests_close_at,
        max_requests_per_participant: b.max_requests_per_participant,
        default_quotas: quotas,
    };
    let s = state
        .app_tx(move |conn| meetings::put_settings(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingSettingsOut::from(s)))
}

/// A participant as a meeting shows them.
#[derive(Serialize, ToSchema)]
pub struct PartyOut {
    pub registration_id: i64,
    pub participant_type: ParticipantType,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub job_title: Option<String>,
}

impl From<Party> for PartyOut {
    fn from(p: Party) -> Self {
        Self {
            registration_id: p.registration_id.0,
            participant_type: p.participant_type,
            first_name: p.first_name,
            last_name: p.last_name,
            company: p.company,
            job_title: p.job_title,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MeetingRequestOut {
    pub id: i64,
    pub event_id: i64,
    pub requester: PartyOut,
    pub recipient: PartyOut,
    pub message: Option<String>,
    pub priority: Priority,
    pub status: RequestStatus,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RequestView> for MeetingRequestOut {
    fn from(v: RequestView) -> Self {
        let r = v.request;
        Self {
            id: r.id.0,
            event_id: r.event_id.0,
            requester: v.requester.into(),
            recipient: v.recipient.into(),
            message: r.message,
            priority: r.priority,
            status: r.status,
            status_reason: r.status_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingRequestIn {
    /// The registration asked to meet.
    #[serde(deserialize_with = "crate::extract::integer")]
    pub to: i64,
    /// Organizers: the registration who asks (participants ask for themselves).
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    pub from: Option<i64>,
    /// `should` when absent.
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    #[schema(schema_with = crate::schema::opt_multiline::<1000>)]
    pub message: Option<String>,
}

/// Asks for a meeting. A validated participant asks another validated participant whom the
/// event's rules let them meet, within the request window and their allowance (409 names
/// which rule refuses it; 404 when the other is not a participant they can see); the request
/// is pending, or accepted at once when the event accepts requests directly. An organizer asks
/// on behalf of `from`, and their request is accepted at once.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = MeetingRequestIn, responses((status = 201, body = MeetingRequestOut), (status = 409, body = ErrorBody)))]
#[post("/events/{id}/meeting-requests")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<MeetingRequestIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, b) = (caller.0, EventId(id.into_inner()), body.0);
    let input = meetings::RequestInput {
        from: b.from.map(RegistrationId),
        to: RegistrationId(b.to),
        priority: b.priority,
        message: b.message,
    };
    let v = state
        .app_tx(move |conn| meetings::create(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Created().json(MeetingRequestOut::from(v)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MeetingRequestQuery {
    #[param(value_type = Option<RequestStatus>)]
    pub status: Option<String>,
    /// `sent`, `received` or `all` (default): relative to the participant (for organizers,
    /// to `registration_id`).
    #[serde(rename = "box")]
    #[param(rename = "box", schema_with = crate::schema::mailbox)]
    pub mailbox: Option<String>,
    /// Organizers: the requests this registration sent or received.
    pub registration_id: Option<i64>,
    #[param(schema_with = crate::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::schema::per_page)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct MeetingRequestPage {
    pub items: Vec<MeetingRequestOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The event's meeting requests, newest first: all of them for its organizers (audited),
/// the caller's own for a participant.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), MeetingRequestQuery),
    responses((status = 200, body = MeetingRequestPage)))]
#[get("/events/{id}/meeting-requests")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<MeetingRequestQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, q) = (caller.0, EventId(id.into_inner()), query.into_inner());
    let input = meetings::ListInput {
        status: q.status,
        box_: q.mailbox,
        registration: q.registration_id.map(RegistrationId),
        page: q.page,
        per_page: q.per_page,
    };
    let found = state
        .app_tx(move |conn| meetings::list(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingRequestPage {
        items: found
            .items
            .into_iter()
            .map(MeetingRequestOut::from)
            .collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RequestCountOut {
    pub registration_id: i64,
    pub sent: i64,
    pub received: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MeetingDashboardOut {
    /// Participants with live requests, most requested first.
    pub participants: Vec<RequestCountOut>,
    /// Validated participants who neither sent nor received a live request.
    pub without_requests: Vec<i64>,
}

/// How requests spread over the event's participants; organizers only.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = MeetingDashboardOut)))]
#[get("/events/{id}/meeting-dashboard")]
pub async fn dashboard(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let d = state
        .app_tx(move |conn| meetings::dashboard(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingDashboardOut {
        participants: d
            .participants
            .into_iter()
            .map(|(r, sent, received)| RequestCountOut {
                registration_id: r.0,
                sent,
                received,
            })
            .collect(),
        without_requests: d.without_requests.into_iter().map(|r| r.0).collect(),
    }))
}

/// One request: organizers see their event's, participants those they sent or received.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = MeetingRequestOut)))]
#[get("/meeting-requests/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, MeetingRequestId(id.into_inner()));
    let v = state
        .app_tx(move |conn| meetings::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingRequestOut::from(v)))
}

#[derive(Serialize, ToSchema)]
pub struct RequestChangeOut {
    pub from_status: Option<RequestStatus>,
    pub to_status: RequestStatus,
    pub reason: Option<String>,
    pub actor_user_id: Option<i64>,
    pub changed_at: DateTime<Utc>,
}

/// Every change of a request's status: who, when, from, to, why.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [RequestChangeOut])))]
#[get("/meeting-requests/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, MeetingRequestId(id.into_inner()));
    let rows = state
        .app_tx(move |conn| meetings::history(conn, &actor, id))
        .await?;
    let out: Vec<RequestChangeOut> = rows
        .into_iter()
        .map(|c| RequestChangeOut {
            from_status: c.from_status,
            to_status: c.to_status,
            reason: c.reason,
            actor_user_id: c.actor_user_id.map(|u| u.0),
            changed_at: c.changed_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    #[schema(schema_with = crate::schema::opt_multiline::<500>)]
    pub reason: Option<String>,
}

/// Accepts a pending request: its recipient (when the event lets recipients decide) or an
/// organizer. A request the caller did not receive is not found.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = MeetingRequestOut), (status = 409, body = ErrorBody)))]
#[post("/meeting-requests/{id}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, MeetingRequestId(id.into_inner()));
    let v = state
        .app_tx(move |conn| meetings::accept(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingRequestOut::from(v)))
}

/// Declines a request, with an optional reason: its recipient while it is pending, an
/// organizer while it is pending or accepted.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReasonIn,
    responses((status = 200, body = MeetingRequestOut), (status = 409, body = ErrorBody)))]
#[post("/meeting-requests/{id}/decline")]
pub async fn decline(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<ReasonIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, reason) = (caller.0, MeetingRequestId(id.into_inner()), body.0.reason);
    let v = state
        .app_tx(move |conn| meetings::decline(conn, &actor, id, reason))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingRequestOut::from(v)))
}

/// Cancels a pending or accepted request, with an optional reason: either participant or an
/// organizer.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReasonIn,
    responses((status = 200, body = MeetingRequestOut), (status = 409, body = ErrorBody)))]
#[post("/meeting-requests/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<ReasonIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, reason) = (caller.0, MeetingRequestId(id.into_inner()), body.0.reason);
    let v = state
        .app_tx(move |conn| meetings::cancel(conn, &actor, id, reason))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingRequestOut::from(v)))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnavailabilityIn {
    /// The event's slots the participant cannot meet in.
    #[serde(deserialize_with = "crate::extract::integers")]
    #[schema(schema_with = crate::schema::slot_ids)]
    pub slot_ids: Vec<i64>,
}

/// The caller's unavailable slots in the event.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = UnavailabilityIn)))]
#[get("/me/events/{id}/unavailability")]
pub async fn my_unavailability(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let slots = state
        .app_tx(move |conn| meetings::my_unavailability(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(UnavailabilityIn {
        slot_ids: slots.into_iter().map(|s| s.0).collect(),
    }))
}

/// Replaces the caller's unavailable slots; the planner keeps their meetings out of them.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = UnavailabilityIn, responses((status = 200, body = UnavailabilityIn)))]
#[put("/me/events/{id}/unavailability")]
pub async fn set_my_unavailability(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<UnavailabilityIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let slots: Vec<SlotId> = body.0.slot_ids.into_iter().map(SlotId).collect();
    let slots = state
        .app_tx(move |conn| meetings::set_my_unavailability(conn, &actor, event, slots))
        .await?;
    Ok(HttpResponse::Ok().json(UnavailabilityIn {
        slot_ids: slots.into_iter().map(|s| s.0).collect(),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceIn {
    /// The event's days the participant comes on; empty: every day.
    #[serde(deserialize_with = "crate::extract::integers")]
    #[schema(schema_with = crate::schema::day_ids)]
    pub day_ids: Vec<i64>,
}

fn presence_out(days: Vec<EventDayId>) -> HttpResponse {
    HttpResponse::Ok().json(PresenceIn {
        day_ids: days.into_iter().map(|d| d.0).collect(),
    })
}

fn presence_in(body: PresenceIn) -> Vec<EventDayId> {
    body.day_ids.into_iter().map(EventDayId).collect()
}

/// The days the caller comes on (empty: every day of the event).
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = PresenceIn)))]
#[get("/me/events/{id}/presence")]
pub async fn my_presence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let days = state
        .app_tx(move |conn| meetings::my_presence(conn, &actor, event))
        .await?;
    Ok(presence_out(days))
}

/// Replaces the days the caller comes on; the planner keeps their meetings within them.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = PresenceIn, responses((status = 200, body = PresenceIn)))]
#[put("/me/events/{id}/presence")]
pub async fn set_my_presence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<PresenceIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, days) = (caller.0, EventId(id.into_inner()), presence_in(body.0));
    let days = state
        .app_tx(move |conn| meetings::set_my_presence(conn, &actor, event, days))
        .await?;
    Ok(presence_out(days))
}

/// A registration's days of presence (empty: every day), for the event's organizers.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "registration id")),
    responses((status = 200, body = PresenceIn)))]
#[get("/registrations/{id}/presence")]
pub async fn presence_of(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, reg) = (caller.0, RegistrationId(id.into_inner()));
    let days = state
        .app_tx(move |conn| meetings::presence_of(conn, &actor, reg))
        .await?;
    Ok(presence_out(days))
}

/// Replaces a registration's days of presence, for the event's organizers.
#[utoipa::path(tag = "meetings", security(("bearer" = [])), params(("id" = i64, Path, description = "registration id")),
    request_body = PresenceIn, responses((status = 200, body = PresenceIn)))]
#[put("/registrations/{id}/presence")]
pub async fn set_presence_of(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<PresenceIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, reg, days) = (
        caller.0,
        RegistrationId(id.into_inner()),
        presence_in(body.0),
    );
    let days = state
        .app_tx(move |conn| meetings::set_presence_of(conn, &actor, reg, days))
        .await?;
    Ok(presence_out(days))
}
