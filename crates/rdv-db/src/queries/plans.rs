//! Planning runs and the plans they draft; the published meetings, agenda versions and their
//! changes; agenda feeds.

use crate::models::*;
use crate::schema::{
    agenda_changes, agenda_feeds, agenda_versions, events, meetings, plan_meetings, plan_runs,
    plan_unscheduled,
};
use crate::{Conn, DbResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rdv_domain::{
    AgendaVersionId, EventId, JobId, MeetingId, MeetingRequestId, MeetingStatus, OrganizationId,
    PlanRunId, PlanStatus, RegistrationId, SlotId, TableId,
};

/// Queues a run; `Conflict` when a run of the event is queued or running already.
pub fn create_run(conn: &mut Conn, new: &NewPlanRun) -> DbResult<PlanRun> {
    Ok(diesel::insert_into(plan_runs::table)
        .values(new)
        .returning(PlanRun::as_returning())
        .get_result(conn)?)
}

pub fn set_job(conn: &mut Conn, run: PlanRunId, job: JobId) -> DbResult<()> {
    diesel::update(plan_runs::table.find(run))
        .set(plan_runs::job_id.eq(job))
        .execute(conn)?;
    Ok(())
}

pub fn get_run(conn: &mut Conn, org: OrganizationId, id: PlanRunId) -> DbResult<PlanRun> {
    Ok(plan_runs::table
        .filter(plan_runs::organization_id.eq(org))
        .filter(plan_runs::id.eq(id))
        .select(PlanRun::as_select())
        .first(conn)?)
}

/// A run whatever its organization: for the worker, which reads the id from its job.
pub fn get_run_any(conn: &mut Conn, id: PlanRunId) -> DbResult<PlanRun> {
    Ok(plan_runs::table
        .find(id)
        .select(PlanRun::as_select())
        .first(conn)?)
}

pub fn runs_of_event(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
) -> DbResult<Vec<PlanRun>> {
    Ok(plan_runs::table
        .filter(plan_runs::organization_id.eq(org))
        .filter(plan_runs::event_id.eq(event))
        .order(plan_runs::id.desc())
        .limit(100)
        .select(PlanRun::as_select())
        .load(conn)?)
}

/// Whether a run of the event is queued or running.
pub fn live_run(conn: &mut Conn, event: EventId) -> DbResult<Option<PlanRun>> {
    Ok(plan_runs::table
        .filter(plan_runs::event_id.eq(event))
        .filter(plan_runs::status.eq_any([PlanStatus::Queued, PlanStatus::Running]))
        .select(PlanRun::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a run as started on the calendar as of `calendar_as_of`; a run taken over from a
/// dead worker starts again from scratch. Answers false, changing nothing, when the run is no
/// longer live or its cancellation was asked meanwhile.
pub fn start(
    conn: &mut Conn,
    run: PlanRunId,
    calendar_as_of: DateTime<Utc>,
    requests_total: i32,
) -> DbResult<bool> {
    diesel::delete(plan_meetings::table.filter(plan_meetings::run_id.eq(run))).execute(conn)?;
    diesel::delete(plan_unscheduled::table.filter(plan_unscheduled::run_id.eq(run)))
        .execute(conn)?;
    let n = diesel::update(
        plan_runs::table
            .find(run)
            .filter(plan_runs::status.eq_any([PlanStatus::Queued, PlanStatus::Running]))
            .filter(plan_runs::cancel_requested.eq(false)),
    )
    .set((
        plan_runs::status.eq(PlanStatus::Running),
        plan_runs::started_at.eq(Utc::now()),
        plan_runs::calendar_as_of.eq(calendar_as_of),
        plan_runs::requests_total.eq(requests_total),
        plan_runs::progress.eq(serde_json::json!({"phase": "starting"})),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records progress; answers whether the organizer asked to cancel the run.
pub fn progress(conn: &mut Conn, run: PlanRunId, progress: &serde_json::Value) -> DbResult<bool> {
    Ok(diesel::update(plan_runs::table.find(run))
        .set(plan_runs::progress.eq(progress))
        .returning(plan_runs::cancel_requested)
        .get_result(conn)?)
}

/// The outcome of a run, as stored when it is done.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub scheduled: i32,
    pub weight: i64,
    pub bound: Option<f64>,
    pub gap: Option<f64>,
    pub breaks: i32,
    pub progress: serde_json::Value,
}

/// Stores a finished run's plan and figures, all at once; answers false, storing nothing,
/// when the run is no longer running (it was cancelled or failed meanwhile).
pub fn finish(
    conn: &mut Conn,
    run: PlanRunId,
    result: &RunResult,
    meetings: &[PlanMeeting],
    unscheduled: &[PlanUnscheduled],
) -> DbResult<bool> {
    let running = plan_runs::table
        .find(run)
        .filter(plan_runs::status.eq(PlanStatus::Running))
        .filter(plan_runs::cancel_requested.eq(false))
        .select(plan_runs::id)
        .for_update()
        .first::<PlanRunId>(conn)
        .optional()?;
    if running.is_none() {
        return Ok(false);
    }
    for chunk in meetings.chunks(5000) {
        diesel::insert_into(plan_meetings::table)
            .values(chunk)
            .execute(conn)?;
    }
    for chunk in unscheduled.chunks(5000) {
        diesel::insert_into(plan_unscheduled::table)
            .values(chunk)
            .execute(conn)?;
    }
    diesel::update(plan_runs::table.find(run))
        .set((
            plan_runs::status.eq(PlanStatus::Done),
            plan_runs::scheduled.eq(result.scheduled),
            plan_runs::weight.eq(result.weight),
            plan_runs::bound.eq(result.bound),
            plan_runs::gap.eq(result.gap),
            plan_runs::breaks.eq(result.breaks),
            plan_runs::progress.eq(&result.progress),
            plan_runs::finished_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Ends a run without a plan: `failed` with the reason, or `cancelled`.
pub fn end(
    conn: &mut Conn,
    run: PlanRunId,
    status: PlanStatus,
    error: Option<&str>,
) -> DbResult<()> {
    diesel::update(plan_runs::table.find(run))
        .set((
            plan_runs::status.eq(status),
            plan_runs::error.eq(error),
            plan_runs::finished_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Asks a live run to stop; a queued one is cancelled at once. Answers the run.
pub fn request_cancel(conn: &mut Conn, org: OrganizationId, run: PlanRunId) -> DbResult<PlanRun> {
    let r = plan_runs::table
        .filter(plan_runs::organization_id.eq(org))
        .filter(plan_runs::id.eq(run))
        .select(PlanRun::as_select())
        .for_update()
        .first(conn)?;
    match r.status {
        PlanStatus::Queued => {
            end(conn, run, PlanStatus::Cancelled, None)?;
        }
        PlanStatus::Running => {
            diesel::update(plan_runs::table.find(run))
                .set(plan_runs::cancel_requested.eq(true))
                .execute(conn)?;
        }
        _ => {}
    }
    get_run(conn, org, run)
}

pub fn plan_of(conn: &mut Conn, run: PlanRunId) -> DbResult<Vec<PlanMeeting>> {
    Ok(plan_meetings::table
        .filter(plan_meetings::run_id.eq(run))
        .order((plan_meetings::slot_id, plan_meetings::request_id))
        .select(PlanMeeting::as_select())
        .load(conn)?)
}

pub fn unscheduled_of(conn: &mut Conn, run: PlanRunId) -> DbResult<Vec<PlanUnscheduled>> {
    Ok(plan_unscheduled::table
        .filter(plan_unscheduled::run_id.eq(run))
        .order(plan_unscheduled::request_id)
        .select(PlanUnscheduled::as_select())
        .load(conn)?)
}

/// Moves, adds or removes one meeting of a draft plan.
pub fn put_plan_meeting(conn: &mut Conn, m: &PlanMeeting) -> DbResult<()> {
    diesel::insert_into(plan_meetings::table)
        .values(m)
        .on_conflict((plan_meetings::run_id, plan_meetings::request_id))
        .do_update()
        .set((
            plan_meetings::slot_id.eq(m.slot_id),
            plan_meetings::table_id.eq(m.table_id),
        ))
        .execute(conn)?;
    diesel::delete(
        plan_unscheduled::table
            .filter(plan_unscheduled::run_id.eq(m.run_id))
            .filter(plan_unscheduled::request_id.eq(m.request_id)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn remove_plan_meeting(
    conn: &mut Conn,
    run: PlanRunId,
    request: MeetingRequestId,
) -> DbResult<bool> {
    let n = diesel::delete(
        plan_meetings::table
            .filter(plan_meetings::run_id.eq(run))
            .filter(plan_meetings::request_id.eq(request)),
    )
    .execute(conn)?;
    if n > 0 {
        diesel::insert_into(plan_unscheduled::table)
            .values(&PlanUnscheduled {
                run_id: run,
                request_id: request,
                reason: "removed_by_organizer".into(),
            })
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(n > 0)
}

/// When the event's slots or tables last changed.
pub fn calendar_changed_at(conn: &mut Conn, event: EventId) -> DbResult<DateTime<Utc>> {
    Ok(events::table
        .find(event)
        .select(events::calendar_changed_at)
        .first(conn)?)
}

/// Notes that the event's slots or tables changed now.
pub fn touch_calendar(conn: &mut Conn, event: EventId) -> DbResult<()> {
    diesel::update(events::table.find(event))
        .set(events::calendar_changed_at.eq(Utc::now()))
        .execute(conn)?;
    Ok(())
}

/// The event's published meetings, cancelled ones included.
pub fn meetings_of_event(conn: &mut Conn, event: EventId) -> DbResult<Vec<Meeting>> {
    Ok(meetings::table
        .filter(meetings::event_id.eq(event))
        .order(meetings::id)
        .select(Meeting::as_select())
        .load(conn)?)
}

pub fn latest_version(conn: &mut Conn, event: EventId) -> DbResult<Option<AgendaVersion>> {
    Ok(agenda_versions::table
        .filter(agenda_versions::event_id.eq(event))
        .order(agenda_versions::version.desc())
        .select(AgendaVersion::as_select())
        .first(conn)
        .optional()?)
}

pub fn versions(conn: &mut Conn, event: EventId) -> DbResult<Vec<AgendaVersion>> {
    Ok(agenda_versions::table
        .filter(agenda_versions::event_id.eq(event))
        .order(agenda_versions::version.desc())
        .select(AgendaVersion::as_select())
        .load(conn)?)
}

pub fn insert_version(
    conn: &mut Conn,
    event: EventId,
    version: i32,
    run: PlanRunId,
    by: Option<rdv_domain::UserAccountId>,
) -> DbResult<AgendaVersion> {
    Ok(diesel::insert_into(agenda_versions::table)
        .values((
            agenda_versions::event_id.eq(event),
            agenda_versions::version.eq(version),
            agenda_versions::run_id.eq(run),
            agenda_versions::published_by.eq(by),
        ))
        .returning(AgendaVersion::as_returning())
        .get_result(conn)?)
}

pub fn insert_meeting(
    conn: &mut Conn,
    event: EventId,
    m: &PlanMeeting,
    version: i32,
) -> DbResult<Meeting> {
    Ok(diesel::insert_into(meetings::table)
        .values((
            meetings::event_id.eq(event),
            meetings::request_id.eq(m.request_id),
            meetings::slot_id.eq(m.slot_id),
            meetings::table_id.eq(m.table_id),
            meetings::created_in.eq(version),
            meetings::updated_in.eq(version),
        ))
        .returning(Meeting::as_returning())
        .get_result(conn)?)
}

/// Moves a meeting, brings a cancelled one back or cancels one: its sequence rises.
pub fn change_meeting(
    conn: &mut Conn,
    id: MeetingId,
    slot: SlotId,
    table: Option<TableId>,
    status: MeetingStatus,
    version: i32,
) -> DbResult<Meeting> {
    Ok(diesel::update(meetings::table.find(id))
        .set((
            meetings::slot_id.eq(slot),
            meetings::table_id.eq(table),
            meetings::status.eq(status),
            meetings::sequence.eq(meetings::sequence + 1),
            meetings::updated_in.eq(version),
            meetings::updated_at.eq(Utc::now()),
        ))
        .returning(Meeting::as_returning())
        .get_result(conn)?)
}

pub fn insert_changes(conn: &mut Conn, rows: &[AgendaChangeRow]) -> DbResult<()> {
    for chunk in rows.chunks(5000) {
        diesel::insert_into(agenda_changes::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(())
}

/// What a version changed, for one registration or for all.
pub fn changes_of(
    conn: &mut Conn,
    version: AgendaVersionId,
    registration: Option<RegistrationId>,
) -> DbResult<Vec<AgendaChangeRow>> {
    let mut q = agenda_changes::table
        .filter(agenda_changes::version_id.eq(version))
        .into_boxed();
    if let Some(r) = registration {
        q = q.filter(agenda_changes::registration_id.eq(r));
    }
    Ok(q.order(agenda_changes::id)
        .select(AgendaChangeRow::as_select())
        .load(conn)?)
}

/// Sets a registration's feed token (its hash), replacing any earlier one.
pub fn set_feed(conn: &mut Conn, registration: RegistrationId, token_hash: &str) -> DbResult<()> {
    diesel::insert_into(agenda_feeds::table)
        .values((
            agenda_feeds::registration_id.eq(registration),
            agenda_feeds::token_hash.eq(token_hash),
        ))
        .on_conflict(agenda_feeds::registration_id)
        .do_update()
        .set((
            agenda_feeds::token_hash.eq(token_hash),
            agenda_feeds::created_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn revoke_feed(conn: &mut Conn, registration: RegistrationId) -> DbResult<bool> {
    Ok(diesel::delete(agenda_feeds::table.find(registration)).execute(conn)? > 0)
}

pub fn feed_owner(conn: &mut Conn, token_hash: &str) -> DbResult<Option<RegistrationId>> {
    Ok(agenda_feeds::table
        .filter(agenda_feeds::token_hash.eq(token_hash))
        .select(agenda_feeds::registration_id)
        .first(conn)
        .optional()?)
}

/// The event's published meetings where `registration` is one of the two parties, with their
/// requests, cancelled ones included. The registration's requests come first (by the requester
/// and recipient indexes), then their meetings (by the unique request index): a read costs the
/// same however large the event.
/// One meeting of an agenda, read in one query: the meeting, its request's requester and
/// recipient, its slot and its table's label.
#[derive(Debug, Clone, Queryable)]
pub struct AgendaRow {
    pub meeting: Meeting,
    pub requester_id: RegistrationId,
    pub recipient_id: RegistrationId,
    pub slot: MeetingSlot,
    pub table_label: Option<String>,
}

/// The meetings of `registration` (either side), ordered by id, with what an agenda shows.
pub fn agenda_rows(
    conn: &mut Conn,
    event: EventId,
    registration: RegistrationId,
) -> DbResult<Vec<AgendaRow>> {
    use crate::schema::{meeting_requests, meeting_slots, meeting_tables};
    Ok(meetings::table
        .inner_join(meeting_requests::table.on(meeting_requests::id.eq(meetings::request_id)))
        .inner_join(meeting_slots::table.on(meeting_slots::id.eq(meetings::slot_id)))
        .left_join(meeting_tables::table.on(meeting_tables::id.nullable().eq(meetings::table_id)))
        .filter(
            meeting_requests::requester_id
                .eq(registration)
                .or(meeting_requests::recipient_id.eq(registration)),
        )
        .filter(meeting_requests::event_id.eq(event))
        .order(meetings::id)
        .select((
            Meeting::as_select(),
            meeting_requests::requester_id,
            meeting_requests::recipient_id,
            MeetingSlot::as_select(),
            meeting_tables::label.nullable(),
        ))
        .load(conn)?)
}

/// The slots `registration` declared unavailable, in time order.
pub fn unavailable_slots(
    conn: &mut Conn,
    registration: RegistrationId,
) -> DbResult<Vec<MeetingSlot>> {
    use crate::schema::{meeting_slots, unavailabilities};
    Ok(unavailabilities::table
        .inner_join(meeting_slots::table.on(meeting_slots::id.eq(unavailabilities::slot_id)))
        .filter(unavailabilities::registration_id.eq(registration))
        .order(meeting_slots::starts_at)
        .select(MeetingSlot::as_select())
        .load(conn)?)
}

/// The version numbered `version` of the event's agenda.
pub fn version(conn: &mut Conn, event: EventId, version: i32) -> DbResult<AgendaVersion> {
    Ok(agenda_versions::table
        .filter(agenda_versions::event_id.eq(event))
        .filter(agenda_versions::version.eq(version))
        .select(AgendaVersion::as_select())
        .first(conn)?)
}

/// How many scheduled meetings of the event sit at tables numbered above `count`.
pub fn scheduled_at_tables_above(conn: &mut Conn, event: EventId, count: i32) -> DbResult<i64> {
    use crate::schema::meeting_tables;
    Ok(meetings::table
        .inner_join(meeting_tables::table.on(meeting_tables::id.nullable().eq(meetings::table_id)))
        .filter(meetings::event_id.eq(event))
        .filter(meetings::status.eq(MeetingStatus::Scheduled))
        .filter(meeting_tables::number.gt(count))
        .count()
        .get_result(conn)?)
}

/// Event days between `from` and `to` (inclusive), with their event's organization and time
/// zone: the days reminders may be due for.
pub fn days_between(
    conn: &mut Conn,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> DbResult<Vec<(EventDay, OrganizationId, String)>> {
    use crate::schema::{event_days, events};
    Ok(event_days::table
        .inner_join(events::table)
        .filter(event_days::day.ge(from))
        .filter(event_days::day.le(to))
        .select((
            EventDay::as_select(),
            events::organization_id,
            events::time_zone,
        ))
        .load(conn)?)
}

/// The registrations with a scheduled meeting on `day`, each with the start of its first.
pub fn meeting_on_day(
    conn: &mut Conn,
    event: EventId,
    day: rdv_domain::EventDayId,
) -> DbResult<Vec<(RegistrationId, chrono::DateTime<chrono::Utc>)>> {
    use crate::schema::{meeting_requests, meeting_slots};
    let rows: Vec<(
        RegistrationId,
        RegistrationId,
        chrono::DateTime<chrono::Utc>,
    )> = meetings::table
        .inner_join(meeting_slots::table.on(meeting_slots::id.eq(meetings::slot_id)))
        .inner_join(meeting_requests::table.on(meeting_requests::id.eq(meetings::request_id)))
        .filter(meetings::event_id.eq(event))
        .filter(meeting_slots::event_day_id.eq(day))
        .filter(meetings::status.eq(MeetingStatus::Scheduled))
        .select((
            meeting_requests::requester_id,
            meeting_requests::recipient_id,
            meeting_slots::starts_at,
        ))
        .load(conn)?;
    // Each participant with the start of their first meeting that day.
    let mut first: std::collections::BTreeMap<RegistrationId, chrono::DateTime<chrono::Utc>> =
        std::collections::BTreeMap::new();
    for (a, b, at) in rows {
        for r in [a, b] {
            let e = first.entry(r).or_insert(at);
            *e = (*e).min(at);
        }
    }
    Ok(first.into_iter().collect())
}
