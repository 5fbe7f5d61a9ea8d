//! Events of the actor's organization and their calendar: days with generated slots, and
//! shared meeting tables. Staff read them; only the organization's admins change them.

use crate::actor::Actor;
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use rdv_db::models::{Event, EventChanges, EventDay, MeetingSlot, MeetingTable, NewEvent};
use rdv_db::queries::events;
use rdv_db::{Conn, DbError};
use rdv_domain::{DayPlan, EventId, EventStatus, Slug, TimeRange};

/// A new event, as typed.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub slug: String,
    pub name: String,
    /// IANA time zone of the venue.
    pub time_zone: String,
    pub venue: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// `draft` (default), `open`, `closed` or `archived`.
    pub status: Option<String>,
}

/// A partial change: `None` leaves a field alone, `Some(None)` clears the venue.
#[derive(Debug, Clone, Default)]
pub struct EventPatch {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub venue: Option<Option<String>>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub status: Option<String>,
}

/// A break in a day, local times `HH:MM`.
#[derive(Debug, Clone, Default)]
pub struct BreakInput {
    pub starts_at: String,
    pub ends_at: String,
}

/// A day of the event: local hours `HH:MM`, the slot length and the breaks.
#[derive(Debug, Clone)]
pub struct DayInput {
    pub date: NaiveDate,
    pub starts_at: String,
    pub ends_at: String,
    pub slot_minutes: i64,
    pub breaks: Vec<BreakInput>,
}

/// A day of an event with its slots in order, and the event's time zone to show them in.
#[derive(Debug, Clone)]
pub struct CalendarDay {
    pub time_zone: Tz,
    pub day: EventDay,
    pub slots: Vec<MeetingSlot>,
}

/// The shortest and longest meeting slot, in minutes.
pub const SLOT_MINUTES: (i64, i64) = (5, 240);
/// The most breaks a day may have.
pub const MAX_BREAKS: usize = 20;
/// The most shared tables an event may have.
pub const MAX_TABLES: i32 = 2000;

/// A time of day as `format::TIME_OF_DAY` states it: `HH:MM` or `HH:MM:SS`.
fn parse_time(check: &mut Check, field: &str, v: &str) -> Option<NaiveTime> {
    let parsed = if rdv_domain::format::TIME_OF_DAY.is_match(v) {
        NaiveTime::parse_from_str(v, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(v, "%H:%M"))
            .ok()
    } else {
        None
    };
    check
        .0
        .check(field, parsed.ok_or("must be a time such as 09:30"))
}

fn check_time_zone(check: &mut Check, v: &str) -> Option<String> {
    check.0.check(
        "time_zone",
        v.parse::<Tz>()
            .map(|_| v.to_owned())
            .map_err(|_| "is not an IANA time zone such as Europe/Paris"),
    )
}

fn event(conn: &mut Conn, actor: &Actor, id: EventId) -> AppResult<Event> {
    let org = actor.organizer_org()?;
    events::get(conn, org, id).map_err(|e| AppError::from_db("event", e))
}

/// An event the actor may change: admins only.
fn own_event(conn: &mut Conn, actor: &Actor, id: EventId) -> AppResult<Event> {
    let org = actor.admin_org()?;
    events::get(conn, org, id).map_err(|e| AppError::from_db("event", e))
}

fn time_zone(event: &Event) -> AppResult<Tz> {
    event.time_zone.parse().map_err(AppError::internal)
}

/// The events of the actor's organization, latest first.
pub fn list(conn: &mut Conn, actor: &Actor) -> AppResult<Vec<Event>> {
    let org = actor.organizer_org()?;
    Ok(events::list(conn, org)?)
}

/// Creates an event in the actor's organization.
pub fn create(conn: &mut Conn, actor: &Actor, input: EventInput) -> AppResult<Event> {
    let org = actor.admin_org()?;
    let b = input;
    let mut check = Check::new();
    let slug = check.0.check("slug", Slug::parse(&b.slug));
    let name = check.text::<200>("name", &b.name);
    let tz = check_time_zone(&mut check, &b.time_zone);
    let venue = check.opt_text::<300>("venue", b.venue.as_deref());
    let status: Option<EventStatus> = check.word("status", b.status.as_deref().unwrap_or("draft"));
    if b.ends_on < b.starts_on {
        check.add("ends_on", "must not be before starts_on");
    }
    check.finish()?;
    let (Some(slug), Some(name), Some(time_zone), Some(status)) = (slug, name, tz, status) else {
        return Err(AppError::internal("checked fields missing"));
    };
    Ok(events::create(
        conn,
        &NewEvent {
            organization_id: org,
            slug: slug.as_str().to_owned(),
            name,
            time_zone,
            venue,
            starts_on: b.starts_on,
            ends_on: b.ends_on,
            status,
        },
    )?)
}

/// One event of the actor's organization.
pub fn get(conn: &mut Conn, actor: &Actor, id: EventId) -> AppResult<Event> {
    event(conn, actor, id)
}

/// Changes an event's name, time zone, venue, dates or status.
pub fn update(conn: &mut Conn, actor: &Actor, id: EventId, patch: EventPatch) -> AppResult<Event> {
    let org = actor.admin_org()?;
    let b = patch;
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
            .and_then(|v| check.word::<EventStatus>("status", v)),
    };
    check.finish()?;
    let current = own_event(conn, actor, id)?;
    let (start, end) = (
        changes.starts_on.unwrap_or(current.starts_on),
        changes.ends_on.unwrap_or(current.ends_on),
    );
    if end < start {
        return Err(AppError::field("ends_on", "must not be before starts_on"));
    }
    Ok(events::update(conn, org, id, &changes)?)
}

/// Adds a day to the event and generates its meeting slots from the hours, slot length and
/// breaks. Slots never overlap a break; sessions are the runs of slots between breaks.
pub fn add_day(
    conn: &mut Conn,
    actor: &Actor,
    id: EventId,
    input: DayInput,
) -> AppResult<CalendarDay> {
    actor.admin_org()?;
    let b = input;
    let mut check = Check::new();
    let start = parse_time(&mut check, "starts_at", &b.starts_at);
    let end = parse_time(&mut check, "ends_at", &b.ends_at);
    let hours = match (start, end) {
        (Some(s), Some(e)) => check.0.check("ends_at", TimeRange::new(s, e)),
        _ => None,
    };
    let (shortest, longest) = SLOT_MINUTES;
    if !(shortest..=longest).contains(&b.slot_minutes) {
        check.add(
            "slot_minutes",
            format!("must be between {shortest} and {longest}"),
        );
    }
    if b.breaks.len() > MAX_BREAKS {
        check.add("breaks", format!("at most {MAX_BREAKS} breaks a day"));
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
        return Err(AppError::internal("checked fields missing"));
    };
    let plan = DayPlan {
        hours,
        slot_minutes: b.slot_minutes,
        breaks,
    };
    let date = b.date;
    let event = own_event(conn, actor, id)?;
    let tz = time_zone(&event)?;
    let (day, slots) = events::add_day(conn, &event, date, &plan).map_err(|e| match e {
        // The date is well-formed; whether it fits depends on the event's dates.
        DbError::Rejected(m) => AppError::conflict_on("date", m),
        DbError::Conflict(_) => {
            AppError::conflict(format!("the event already has a day on {date}"))
        }
        other => other.into(),
    })?;
    rdv_db::queries::plans::touch_calendar(conn, event.id)?;
    let slots = slots
        .into_iter()
        .filter(|s| s.event_day_id == day.id)
        .collect();
    Ok(CalendarDay {
        time_zone: tz,
        day,
        slots,
    })
}

/// The event's days with their slots, in order.
pub fn days(conn: &mut Conn, actor: &Actor, id: EventId) -> AppResult<Vec<CalendarDay>> {
    let event = event(conn, actor, id)?;
    let tz = time_zone(&event)?;
    let slots = events::slots(conn, id)?;
    Ok(events::days(conn, id)?
        .into_iter()
        .map(|day| CalendarDay {
            time_zone: tz,
            slots: slots
                .iter()
                .filter(|s| s.event_day_id == day.id)
                .cloned()
                .collect(),
            day,
        })
        .collect())
}

/// Sets the number of shared meeting tables (numbered from 1, at most 2000).
pub fn set_tables(
    conn: &mut Conn,
    actor: &Actor,
    id: EventId,
    count: i32,
) -> AppResult<Vec<MeetingTable>> {
    actor.admin_org()?;
    if !(0..=MAX_TABLES).contains(&count) {
        return Err(AppError::field(
            "count",
            format!("must be between 0 and {MAX_TABLES}"),
        ));
    }
    own_event(conn, actor, id)?;
    if rdv_db::queries::plans::scheduled_at_tables_above(conn, id, count)? > 0 {
        return Err(AppError::conflict_on(
            "count",
            "tables past this count hold published meetings: publish a plan without them first",
        ));
    }
    let tables = events::set_table_count(conn, id, count)?;
    rdv_db::queries::plans::touch_calendar(conn, id)?;
    Ok(tables)
}

/// The event's shared meeting tables.
pub fn tables(conn: &mut Conn, actor: &Actor, id: EventId) -> AppResult<Vec<MeetingTable>> {
    event(conn, actor, id)?;
    Ok(events::tables(conn, id)?)
}
