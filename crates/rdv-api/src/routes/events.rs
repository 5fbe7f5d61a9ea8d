//! Events and their calendar (days, generated slots, tables): the HTTP shapes of
//! `rdv_app::events`. Organizers read them; organization admins change them.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{double_option, ValidJson};
use crate::AppState;
use actix_web::{get, patch, post, put, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use rdv_app::events;
use rdv_db::models::{Event, MeetingTable};
use rdv_domain::EventId;
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
    pub status: rdv_domain::EventStatus,
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
    #[schema(example = "salon-2027", schema_with = crate::schema::slug)]
    pub slug: String,
    #[schema(schema_with = crate::schema::text::<200>)]
    pub name: String,
    /// IANA time zone of the venue.
    #[schema(example = "Europe/Paris", schema_with = crate::schema::time_zone)]
    pub time_zone: String,
    #[schema(schema_with = crate::schema::opt_text::<300>)]
    pub venue: Option<String>,
    pub starts_on: NaiveDate,
    /// On or after `starts_on`.
    pub ends_on: NaiveDate,
    /// `draft` when absent.
    #[schema(value_type = Option<rdv_domain::EventStatus>)]
    pub status: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    #[schema(schema_with = crate::schema::text_or_null::<200>)]
    pub name: Option<String>,
    #[schema(schema_with = crate::schema::opt_time_zone)]
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_text::<300>)]
    pub venue: Option<Option<String>>,
    pub starts_on: Option<NaiveDate>,
    /// On or after the event's first day once the change is made.
    pub ends_on: Option<NaiveDate>,
    #[schema(value_type = Option<rdv_domain::EventStatus>)]
    pub status: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakIn {
    #[schema(example = "12:30", schema_with = crate::schema::time_of_day)]
    pub starts_at: String,
    /// After `starts_at`.
    #[schema(example = "14:00", schema_with = crate::schema::time_of_day)]
    pub ends_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayIn {
    pub date: NaiveDate,
    /// Local time the first slot starts.
    #[schema(example = "09:00", schema_with = crate::schema::time_of_day)]
    pub starts_at: String,
    /// Local time the day ends, after `starts_at`.
    #[schema(example = "18:00", schema_with = crate::schema::time_of_day)]
    pub ends_at: String,
    #[schema(example = 20, schema_with = crate::schema::slot_minutes)]
    #[serde(deserialize_with = "crate::extract::integer")]
    pub slot_minutes: i64,
    /// Within the day's hours.
    #[serde(default)]
    #[schema(schema_with = crate::schema::breaks)]
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
    /// Tables numbered 1..=count.
    #[serde(deserialize_with = "crate::extract::integer")]
    #[schema(schema_with = crate::schema::table_count)]
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

fn day_out(d: events::CalendarDay) -> DayOut {
    let tz = d.time_zone;
    DayOut {
        id: d.day.id.0,
        date: d.day.day,
        starts_at: d.day.starts_at.format("%H:%M").to_string(),
        ends_at: d.day.ends_at.format("%H:%M").to_string(),
        slot_minutes: d.day.slot_minutes,
        slots: d
            .slots
            .into_iter()
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

impl From<EventIn> for events::EventInput {
    fn from(b: EventIn) -> Self {
        Self {
            slug: b.slug,
            name: b.name,
            time_zone: b.time_zone,
            venue: b.venue,
            starts_on: b.starts_on,
            ends_on: b.ends_on,
            status: b.status,
        }
    }
}

impl From<EventPatch> for events::EventPatch {
    fn from(b: EventPatch) -> Self {
        Self {
            name: b.name,
            time_zone: b.time_zone,
            venue: b.venue,
            starts_on: b.starts_on,
            ends_on: b.ends_on,
            status: b.status,
        }
    }
}

impl From<DayIn> for events::DayInput {
    fn from(b: DayIn) -> Self {
        Self {
            date: b.date,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            slot_minutes: b.slot_minutes,
            breaks: b
                .breaks
                .into_iter()
                .map(|br| events::BreakInput {
                    starts_at: br.starts_at,
                    ends_at: br.ends_at,
                })
                .collect(),
        }
    }
}

fn tables_out(tables: Vec<MeetingTable>) -> Vec<TableOut> {
    tables.into_iter().map(TableOut::from).collect()
}

/// The events of the caller's organization, latest first.
#[utoipa::path(tag = "events", security(("bearer" = [])), responses((status = 200, body = [EventOut])))]
#[get("/events")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let rows = state.app_tx(move |conn| events::list(conn, &actor)).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(EventOut::from).collect::<Vec<_>>()))
}

/// Creates an event in the caller's organization; organization admins only.
#[utoipa::path(tag = "events", security(("bearer" = [])), request_body = EventIn,
    responses((status = 201, body = EventOut), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/events")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<EventIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, input) = (caller.0, body.0.into());
    let event = state
        .app_tx(move |conn| events::create(conn, &actor, input))
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
    let (actor, id) = (caller.0, EventId(id.into_inner()));
    let event = state
        .app_tx(move |conn| events::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(EventOut::from(event)))
}

/// Changes an event's name, time zone, venue, dates or status; organization admins only.
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EventPatch,
    responses((status = 200, body = EventOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/events/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<EventPatch>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, patch) = (caller.0, EventId(id.into_inner()), body.0.into());
    let event = state
        .app_tx(move |conn| events::update(conn, &actor, id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(EventOut::from(event)))
}

/// Adds a day to the event and generates its meeting slots from the hours, slot length and
/// breaks. Slots never overlap a break; sessions (morning, afternoon) are the runs of slots
/// between breaks. Organization admins only.
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)), request_body = DayIn,
    responses((status = 201, body = DayOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/events/{id}/days")]
pub async fn add_day(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<DayIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, input) = (caller.0, EventId(id.into_inner()), body.0.into());
    let day = state
        .app_tx(move |conn| events::add_day(conn, &actor, id, input))
        .await?;
    Ok(HttpResponse::Created().json(day_out(day)))
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
    let (actor, id) = (caller.0, EventId(id.into_inner()));
    let days = state
        .app_tx(move |conn| events::days(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(days.into_iter().map(day_out).collect::<Vec<_>>()))
}

/// Sets the number of shared meeting tables (numbered from 1); organization admins only.
#[utoipa::path(tag = "events", security(("bearer" = [])), params(("id" = i64, Path)), request_body = TablesIn,
    responses((status = 200, body = [TableOut]), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[put("/events/{id}/tables")]
pub async fn set_tables(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<TablesIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, count) = (caller.0, EventId(id.into_inner()), body.0.count);
    let tables = state
        .app_tx(move |conn| events::set_tables(conn, &actor, id, count))
        .await?;
    Ok(HttpResponse::Ok().json(tables_out(tables)))
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
    let (actor, id) = (caller.0, EventId(id.into_inner()));
    let tables = state
        .app_tx(move |conn| events::tables(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(tables_out(tables)))
}
