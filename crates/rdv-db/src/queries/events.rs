//! Events and their calendar: days, meeting slots and tables.

use crate::models::*;
use crate::schema::{event_days, events, meeting_slots, meeting_tables};
use crate::{Conn, DbError, DbResult};
use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use rdv_domain::{generate_slots, DayPlan, EventId, EventStatus, OrganizationId};

pub fn create(conn: &mut Conn, new: &NewEvent) -> DbResult<Event> {
    Ok(diesel::insert_into(events::table)
        .values(new)
        .returning(Event::as_returning())
        .get_result(conn)?)
}

pub fn list(conn: &mut Conn, org: OrganizationId) -> DbResult<Vec<Event>> {
    Ok(events::table
        .filter(events::organization_id.eq(org))
        .order((events::starts_on.desc(), events::id))
        .select(Event::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut Conn, org: OrganizationId, id: EventId) -> DbResult<Event> {
    Ok(events::table
        .filter(events::organization_id.eq(org))
        .filter(events::id.eq(id))
        .select(Event::as_select())
        .first(conn)?)
}

pub fn find_by_slug(conn: &mut Conn, org: OrganizationId, slug: &str) -> DbResult<Option<Event>> {
    Ok(events::table
        .filter(events::organization_id.eq(org))
        .filter(events::slug.eq(slug))
        .select(Event::as_select())
        .first(conn)
        .optional()?)
}

pub fn update(
    conn: &mut Conn,
    org: OrganizationId,
    id: EventId,
    changes: &EventChanges,
) -> DbResult<Event> {
    Ok(diesel::update(
        events::table
            .filter(events::organization_id.eq(org))
            .filter(events::id.eq(id)),
    )
    .set((changes, events::updated_at.eq(Utc::now())))
    .returning(Event::as_returning())
    .get_result(conn)?)
}

/// A day and its generated slots. Fails with `Rejected` when the day is outside the event's
/// dates, and with `Conflict` when the day already exists.
pub fn add_day(
    conn: &mut Conn,
    event: &Event,
    day: NaiveDate,
    plan: &DayPlan,
) -> DbResult<(EventDay, Vec<MeetingSlot>)> {
    if day < event.starts_on || day > event.ends_on {
        return Err(DbError::Rejected(format!(
            "day {day} is outside the event's dates {} to {}",
            event.starts_on, event.ends_on
        )));
    }
    let tz: Tz = event
        .time_zone
        .parse()
        .map_err(|_| DbError::Rejected(format!("unknown time zone {}", event.time_zone)))?;
    let generated = generate_slots(plan).map_err(|e| DbError::Rejected(e.to_string()))?;
    let local = |t: chrono::NaiveTime| {
        tz.from_local_datetime(&day.and_time(t))
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .ok_or_else(|| DbError::Rejected(format!("{day} {t} does not exist in {tz}")))
    };
    let mut new_slots = Vec::with_capacity(generated.len());
    conn.transaction(|conn| {
        let day_row: EventDay = diesel::insert_into(event_days::table)
            .values((
                event_days::event_id.eq(event.id),
                event_days::day.eq(day),
                event_days::starts_at.eq(plan.hours.start()),
                event_days::ends_at.eq(plan.hours.end()),
                event_days::slot_minutes.eq(plan.slot_minutes as i32),
            ))
            .returning(EventDay::as_returning())
            .get_result(conn)?;
        for s in &generated {
            new_slots.push(NewMeetingSlot {
                event_id: event.id,
                event_day_id: day_row.id,
                starts_at: local(s.starts)?,
                ends_at: local(s.ends)?,
                session_label: s.session_label.to_owned(),
            });
        }
        let slots = diesel::insert_into(meeting_slots::table)
            .values(&new_slots)
            .returning(MeetingSlot::as_returning())
            .get_results(conn)?;
        Ok((day_row, slots))
    })
}

pub fn days(conn: &mut Conn, event: EventId) -> DbResult<Vec<EventDay>> {
    Ok(event_days::table
        .filter(event_days::event_id.eq(event))
        .order(event_days::day)
        .select(EventDay::as_select())
        .load(conn)?)
}

pub fn slots(conn: &mut Conn, event: EventId) -> DbResult<Vec<MeetingSlot>> {
    Ok(meeting_slots::table
        .filter(meeting_slots::event_id.eq(event))
        .order(meeting_slots::starts_at)
        .select(MeetingSlot::as_select())
        .load(conn)?)
}

/// Makes the event have tables 1..=count, keeping existing labels; extra tables are removed.
pub fn set_table_count(conn: &mut Conn, event: EventId, count: i32) -> DbResult<Vec<MeetingTable>> {
    conn.transaction(|conn| {
        diesel::delete(
            meeting_tables::table
                .filter(meeting_tables::event_id.eq(event))
                .filter(meeting_tables::number.gt(count)),
        )
        .execute(conn)?;
        let rows: Vec<_> = (1..=count)
            .map(|n| {
                (
                    meeting_tables::event_id.eq(event),
                    meeting_tables::number.eq(n),
                    meeting_tables::label.eq(format!("Table {n}")),
                )
            })
            .collect();
        // Chunked: PostgreSQL takes at most 65,535 bind parameters per statement.
        for chunk in rows.chunks(10_000) {
            diesel::insert_into(meeting_tables::table)
                .values(chunk)
                .on_conflict((meeting_tables::event_id, meeting_tables::number))
                .do_nothing()
                .execute(conn)?;
        }
        tables(conn, event)
    })
}

pub fn tables(conn: &mut Conn, event: EventId) -> DbResult<Vec<MeetingTable>> {
    Ok(meeting_tables::table
        .filter(meeting_tables::event_id.eq(event))
        .order(meeting_tables::number)
        .select(MeetingTable::as_select())
        .load(conn)?)
}

/// The event `id` whatever its organization: for the public pages of an open event (its
/// registration forms and catalogue), which name no organization.
pub fn get_public(conn: &mut Conn, id: EventId) -> DbResult<Event> {
    Ok(events::table
        .filter(events::id.eq(id))
        .filter(events::status.eq(EventStatus::Open))
        .select(Event::as_select())
        .first(conn)?)
}
