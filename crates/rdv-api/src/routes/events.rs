//! Events and their calendar (days, generated slots, tables), for organizers.

use super::Check;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{double_option, ValidJson};
use crate::AppState;
use actix_web::{get, patch, post, put, web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use rdv_db::models::{Event, EventChanges, EventDay, MeetingSlot, MeetingTable, NewEvent};
use rdv_db::queries::events;
use rdv_domain::{DayPlan, EventId, EventStatus, Slug, TimeRange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(add_day)
        .service(list_days)
        .service(set_tables)
        .service(list_tables);
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    pub id: i64,
    pub organization_id: i64,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub venue: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Event> for EventOut {
    fn from(e: Event) -> Self {
        Self {
            id: e.id.0,
            organization_id: e.organization_id.0,
            slug: e.slug,
            name: e.name,
            time_zone: e.time_zone,
            venue: e.venue,
            starts_on: e.starts_on,
            ends_on: e.ends_on,
            status: e.status,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    #[schema(example = "salon-2027")]
    pub slug: String,
    pub name: String,
    /// IANA time zone of the venue.
    #[schema(example = "Europe/Paris")]
    pub time_zone: String,
    pub venue: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// `draft` (default), `open`, `closed` or `archived`.
    pub status: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub venue: Option<Option<String>>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub status: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakIn {
    #[schema(example = "12:30")]
    pub starts_at: String,
    #[schema(example = "14:00")]
    pub ends_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayIn {
    pub date: NaiveDate,
    /// Local time the first slot starts, `HH:MM`.
    #[schema(example = "09:00")]
    pub starts_at: String,
    /// Local time the day ends, `HH:MM`.
    #[schema(example = "18:00")]
    pub ends_at: String,
    #[schema(example = 20)]
    pub slot_minutes: i64,
    #[serde(default)]
    pub breaks: Vec<BreakIn>,
}

#[derive(Serialize, ToSchema)]
pub struct SlotOut {
    pub id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Start in the event's time zone, `HH:MM`.
    pub local_start: String,
    pub session_label: String,
}

#[derive(Serialize, ToSchema)]
pub struct DayOut {
    pub id: i64,
    pub date: NaiveDate,
    pub starts_at: String,
    pub ends_at: String,
    pub slot_minutes: i32,
    pub slots: Vec<SlotOut>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TablesIn {
    /// Tables numbered 1..=count, at most 2000.
    pub count: i32,
}

#[derive(Serialize, ToSchema)]
pub struct TableOut {
    pub id: i64,
    pub number: i32,
    pub label: String,
}

impl From<MeetingTable> for TableOut {
    fn from(t: MeetingTable) -> Self {
        Self {
            id: t.id.0,
            number: t.number,
            label: t.label,
        }
    }
}

fn day_out(day: EventDay, slots: Vec<MeetingSlot>, tz: Tz) -> DayOut {
    DayOut {
        id: day.id.0,
        date: day.day,
        starts_at: day.starts_at.format("%H:%M").to_string(),
        ends_at: day.ends_at.format("%H:%M").to_string(),
        slot_minutes: day.slot_minutes,
        slots: slots
            .into_iter()
            .filter(|s| s.event_day_id == day.id)
            .map(|s| SlotOut {
                id: s.id.0,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                local_start: s.starts_at.with_timezone(&tz).format("%H:%M").to_string(),
                session_label: s.session_label,
            })
            .collect(),
    }
}

fn parse_time(check: &mut Check, field: &str, v: &str) -> Option<NaiveTime> {
    let parsed =
        NaiveTime::parse_from_str(v, "%H:%M").or_else(|_| NaiveTime::parse_from_str(v, "%H:%M:%S"));
    check
        .0
        .check(field, parsed.map_err(|_| "must be a time such as 09:30"))
}

fn check_time_zone(check: &mut Check, v: &str) -> Option<String> {
    check.0.check(
        "time_zone",
        v.parse::<Tz>()
            .map(|_| v.to_owned())
            .map_err(|_| "is not an IANA time zone such as Europe/Paris"),
    )
}

/// The events of the caller's organization, latest first.
#[utoipa::path(tag = "events", security(("bearer" = [])), responses((status = 200, body = [EventOut])))]
#[get("/events")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let rows = state.tx(move |conn| Ok(events::list(conn, org)?)).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(EventOut::from).collect::<Vec<_>>()))
}

/// Creates an event in the caller's organization.
#[utoipa::path(tag = "events", security(("bearer" = [])), request_body = EventIn,
    responses((status = 201, body = EventOut), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/events")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<EventIn>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let b = body.0;
    let mut check = Check::new();
    let slug = check.0.check("slug", Slug::parse(&b.slug));
    let name = check.text::<200>("name", &b.name);
    let tz = check_time_zone(&mut check, &b.time_zone);
    let venue = check.opt_text::<300>("venue", b.venue.as_deref());
    let status: Option<EventStatus> = check.word("status", b.status.as_deref().unwrap_or("draft"));
    if b.ends_on < b.starts_on {
        check.0.add("ends_on", "must not be before starts_on");
    }
    check.finish()?;
    let (Some(slug), Some(name), Some(time_zone), Some(status)) = (slug, name, tz, status) else {
        return Err(ApiError::internal("checked fields missing"));
    };
    let new = NewEvent {
        organization_id: org,
        slug: slug.as_str().to_owned(),
        name,
        time_zone,
        venue,
        starts_on: b.starts_on,
        ends_on: b.ends_on,
        status: status.as_str().to_owned(),
    };
    let event = state
        .tx(move |conn| Ok(events::create(conn, &new)?))
        .await?;
    Ok(HttpResponse::Created().json(EventOut::from(event)))
}

/// One event of the caller's organization.
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = EventOut), (status = 404, body = crate::error::ErrorBody)))]
#[get("/events/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = EventId(id.into_inner());
    let event = state
        .tx(move |conn| events::get(conn, org, id).map_err(|e| ApiError::from_db("event", e)))
        .await?;
    Ok(HttpResponse::Ok().json(EventOut::from(event)))
}

/// Changes an event's name, time zone, venue, dates or status.
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EventPatch,
    responses((status = 200, body = EventOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/events/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<EventPatch>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = EventId(id.into_inner());
    let b = body.0;
    let mut check = Check::new();
    let changes = EventChanges {
        name: b.name.as_deref().and_then(|v| check.text::<200>("name", v)),
        time_zone: b
            .time_zone
            .as_deref()
            .and_then(|v| check_time_zone(&mut check, v)),
        venue: b
            .venue
            .map(|v| check.opt_text::<300>("venue", v.as_deref())),
        starts_on: b.starts_on,
        ends_on: b.ends_on,
        status: b
            .status
            .as_deref()
            .and_then(|v| check.word::<EventStatus>("status", v))
            .map(|s| s.as_str().to_owned()),
    };
    check.finish()?;
    let event = state
        .tx(move |conn| {
            let current = events::get(conn, org, id).map_err(|e| ApiError::from_db("event", e))?;
            let (start, end) = (
                changes.starts_on.unwrap_or(current.starts_on),
                changes.ends_on.unwrap_or(current.ends_on),
            );
            if end < start {
                return Err(ApiError::field("ends_on", "must not be before starts_on"));
            }
            Ok(events::update(conn, org, id, &changes)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(EventOut::from(event)))
}

/// Adds a day to the event and generates its meeting slots from the hours, slot length and
/// breaks. Slots never overlap a break; sessions (morning, afternoon) are the runs of slots
/// between breaks.
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)), request_body = DayIn,
    responses((status = 201, body = DayOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/events/{id}/days")]
pub async fn add_day(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<DayIn>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = EventId(id.into_inner());
    let b = body.0;
    let mut check = Check::new();
    let start = parse_time(&mut check, "starts_at", &b.starts_at);
    let end = parse_time(&mut check, "ends_at", &b.ends_at);
    let hours = match (start, end) {
        (Some(s), Some(e)) => check.0.check("ends_at", TimeRange::new(s, e)),
        _ => None,
    };
    if !(5..=240).contains(&b.slot_minutes) {
        check.0.add("slot_minutes", "must be between 5 and 240");
    }
    if b.breaks.len() > 20 {
        check.0.add("breaks", "at most 20 breaks a day");
    }
    let mut breaks = Vec::new();
    for (i, br) in b.breaks.iter().enumerate() {
        let s = parse_time(&mut check, &format!("breaks[{i}].starts_at"), &br.starts_at);
        let e = parse_time(&mut check, &format!("breaks[{i}].ends_at"), &br.ends_at);
        if let (Some(s), Some(e)) = (s, e) {
            if let Some(r) = check
                .0
                .check(&format!("breaks[{i}].ends_at"), TimeRange::new(s, e))
            {
                breaks.push(r);
            }
        }
    }
    check.finish()?;
    let Some(hours) = hours else {
        return Err(ApiError::internal("checked fields missing"));
    };
    let plan = DayPlan {
        hours,
        slot_minutes: b.slot_minutes,
        breaks,
    };
    let date = b.date;
    let out = state
        .tx(move |conn| {
            let event = events::get(conn, org, id).map_err(|e| ApiError::from_db("event", e))?;
            let tz: Tz = event.time_zone.parse().map_err(ApiError::internal)?;
            let (day, slots) = events::add_day(conn, &event, date, &plan).map_err(|e| match e {
                rdv_db::DbError::Rejected(m) => ApiError::field("date", m),
                rdv_db::DbError::Conflict(_) => ApiError::new(
                    crate::error::ErrorCode::Conflict,
                    format!("the event already has a day on {date}"),
                ),
                other => other.into(),
            })?;
            Ok(day_out(day, slots, tz))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// The event's days with their slots, in order.
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [DayOut]), (status = 404, body = crate::error::ErrorBody)))]
#[get("/events/{id}/days")]
pub async fn list_days(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = EventId(id.into_inner());
    let out = state
        .tx(move |conn| {
            let event = events::get(conn, org, id).map_err(|e| ApiError::from_db("event", e))?;
            let tz: Tz = event.time_zone.parse().map_err(ApiError::internal)?;
            let slots = events::slots(conn, id)?;
            Ok(events::days(conn, id)?
                .into_iter()
                .map(|d| day_out(d, slots.clone(), tz))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Sets the number of shared meeting tables (numbered from 1).
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)), request_body = TablesIn,
    responses((status = 200, body = [TableOut]), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[put("/events/{id}/tables")]
pub async fn set_tables(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<TablesIn>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = EventId(id.into_inner());
    let count = body.0.count;
    if !(0..=2000).contains(&count) {
        return Err(ApiError::field("count", "must be between 0 and 2000"));
    }
    let out = state
        .tx(move |conn| {
            events::get(conn, org, id).map_err(|e| ApiError::from_db("event", e))?;
            Ok(events::set_table_count(conn, id, count)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out.into_iter().map(TableOut::from).collect::<Vec<_>>()))
}

/// The event's shared meeting tables.
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [TableOut]), (status = 404, body = crate::error::ErrorBody)))]
#[get("/events/{id}/tables")]
pub async fn list_tables(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = EventId(id.into_inner());
    let out = state
        .tx(move |conn| {
            events::get(conn, org, id).map_err(|e| ApiError::from_db("event", e))?;
            Ok(events::tables(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out.into_iter().map(TableOut::from).collect::<Vec<_>>()))
}
