//! Meeting rules, meeting requests with their history, and participants' unavailability.

use crate::models::*;
use crate::schema::{
    meeting_request_history, meeting_requests, meeting_settings, unavailabilities,
};
use crate::{Conn, DbResult};
use chrono::Utc;
use diesel::prelude::*;
use rdv_domain::{
    EventDayId, EventId, MeetingRequestId, OrganizationId, RegistrationId, RequestStatus, SlotId,
    UserAccountId,
};

/// The event's meeting rules, when the organizer has set them.
pub fn settings(conn: &mut Conn, event: EventId) -> DbResult<Option<MeetingSettings>> {
    Ok(meeting_settings::table
        .find(event)
        .select(MeetingSettings::as_select())
        .first(conn)
        .optional()?)
}

/// Writes the event's meeting rules, whole.
pub fn put_settings(conn: &mut Conn, s: &MeetingSettings) -> DbResult<MeetingSettings> {
    Ok(diesel::insert_into(meeting_settings::table)
        .values(s)
        .on_conflict(meeting_settings::event_id)
        .do_update()
        .set((s, meeting_settings::updated_at.eq(Utc::now())))
        .returning(MeetingSettings::as_returning())
        .get_result(conn)?)
}

/// Inserts a request; `Conflict` when the pair already has a live request.
pub fn insert(conn: &mut Conn, new: &NewMeetingRequest) -> DbResult<MeetingRequest> {
    Ok(diesel::insert_into(meeting_requests::table)
        .values(new)
        .returning(MeetingRequest::as_returning())
        .get_result(conn)?)
}

/// A request of the organization, locked for a change of status.
pub fn get_for_update(
    conn: &mut Conn,
    org: OrganizationId,
    id: MeetingRequestId,
) -> DbResult<MeetingRequest> {
    Ok(meeting_requests::table
        .filter(meeting_requests::organization_id.eq(org))
        .filter(meeting_requests::id.eq(id))
        .filter(meeting_requests::erased_at.is_null())
        .select(MeetingRequest::as_select())
        .for_update()
        .first(conn)?)
}

pub fn get(conn: &mut Conn, org: OrganizationId, id: MeetingRequestId) -> DbResult<MeetingRequest> {
    Ok(meeting_requests::table
        .filter(meeting_requests::organization_id.eq(org))
        .filter(meeting_requests::id.eq(id))
        .filter(meeting_requests::erased_at.is_null())
        .select(MeetingRequest::as_select())
        .first(conn)?)
}

/// Sets a request's status and records the change in its history.
pub fn set_status(
    conn: &mut Conn,
    request: &MeetingRequest,
    to: RequestStatus,
    reason: Option<&str>,
    actor: Option<UserAccountId>,
) -> DbResult<MeetingRequest> {
    let now = Utc::now();
    let updated = diesel::update(meeting_requests::table.find(request.id))
        .set((
            meeting_requests::status.eq(to),
            meeting_requests::status_reason.eq(reason),
            meeting_requests::updated_at.eq(now),
        ))
        .returning(MeetingRequest::as_returning())
        .get_result(conn)?;
    record(conn, request.id, Some(request.status), to, reason, actor)?;
    Ok(updated)
}

/// Adds a line to a request's history.
pub fn record(
    conn: &mut Conn,
    request: MeetingRequestId,
    from: Option<RequestStatus>,
    to: RequestStatus,
    reason: Option<&str>,
    actor: Option<UserAccountId>,
) -> DbResult<()> {
    diesel::insert_into(meeting_request_history::table)
        .values(&RequestChange {
            request_id: request,
            actor_user_id: actor,
            from_status: from,
            to_status: to,
            reason: reason.map(str::to_owned),
            changed_at: Utc::now(),
        })
        .execute(conn)?;
    Ok(())
}

pub fn history(conn: &mut Conn, request: MeetingRequestId) -> DbResult<Vec<RequestChange>> {
    Ok(meeting_request_history::table
        .filter(meeting_request_history::request_id.eq(request))
        .order(meeting_request_history::id)
        .select(RequestChange::as_select())
        .load(conn)?)
}

/// How many requests a participant has sent that still count against their allowance.
pub fn live_sent(conn: &mut Conn, requester: RegistrationId) -> DbResult<i64> {
    Ok(meeting_requests::table
        .filter(meeting_requests::requester_id.eq(requester))
        .filter(meeting_requests::status.eq_any([RequestStatus::Pending, RequestStatus::Accepted]))
        .count()
        .get_result(conn)?)
}

/// What a list of requests may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    /// Requests this registration sent.
    pub requester: Option<RegistrationId>,
    /// Requests this registration received.
    pub recipient: Option<RegistrationId>,
    /// Requests this registration sent or received.
    pub involving: Option<RegistrationId>,
}

/// The event's requests, newest first.
pub fn list(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
    filter: &RequestFilter,
    page: super::Page,
) -> DbResult<super::Paged<MeetingRequest>> {
    let query = || {
        let mut q = meeting_requests::table
            .filter(meeting_requests::organization_id.eq(org))
            .filter(meeting_requests::event_id.eq(event))
            .filter(meeting_requests::erased_at.is_null())
            .into_boxed();
        if let Some(s) = filter.status {
            q = q.filter(meeting_requests::status.eq(s));
        }
        if let Some(r) = filter.requester {
            q = q.filter(meeting_requests::requester_id.eq(r));
        }
        if let Some(r) = filter.recipient {
            q = q.filter(meeting_requests::recipient_id.eq(r));
        }
        if let Some(r) = filter.involving {
            q = q.filter(
                meeting_requests::requester_id
                    .eq(r)
                    .or(meeting_requests::recipient_id.eq(r)),
            );
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .order(meeting_requests::id.desc())
        .limit(page.limit)
        .offset(page.offset)
        .select(MeetingRequest::as_select())
        .load(conn)?;
    Ok(super::Paged { items, total })
}

/// The event's accepted requests, by id: what a plan is made of.
pub fn accepted(conn: &mut Conn, event: EventId) -> DbResult<Vec<MeetingRequest>> {
    Ok(meeting_requests::table
        .filter(meeting_requests::event_id.eq(event))
        .filter(meeting_requests::status.eq(RequestStatus::Accepted))
        .filter(meeting_requests::erased_at.is_null())
        .order(meeting_requests::id)
        .select(MeetingRequest::as_select())
        .load(conn)?)
}

/// Withdraws the live requests of a registration (cancelled or refused), with history.
pub fn withdraw_all_of(
    conn: &mut Conn,
    registration: RegistrationId,
    reason: &str,
    actor: Option<UserAccountId>,
) -> DbResult<usize> {
    let live: Vec<MeetingRequest> = meeting_requests::table
        .filter(
            meeting_requests::requester_id
                .eq(registration)
                .or(meeting_requests::recipient_id.eq(registration)),
        )
        .filter(meeting_requests::status.eq_any([RequestStatus::Pending, RequestStatus::Accepted]))
        .select(MeetingRequest::as_select())
        .for_update()
        .load(conn)?;
    for r in &live {
        set_status(conn, r, RequestStatus::Cancelled, Some(reason), actor)?;
    }
    Ok(live.len())
}

/// Per registration of the event: requests sent and received (live ones).
pub fn counts(conn: &mut Conn, event: EventId) -> DbResult<Vec<(RegistrationId, i64, i64)>> {
    use diesel::dsl::count_star;
    let sent: Vec<(RegistrationId, i64)> = meeting_requests::table
        .filter(meeting_requests::event_id.eq(event))
        .filter(meeting_requests::status.eq_any([RequestStatus::Pending, RequestStatus::Accepted]))
        .group_by(meeting_requests::requester_id)
        .select((meeting_requests::requester_id, count_star()))
        .load(conn)?;
    let received: Vec<(RegistrationId, i64)> = meeting_requests::table
        .filter(meeting_requests::event_id.eq(event))
        .filter(meeting_requests::status.eq_any([RequestStatus::Pending, RequestStatus::Accepted]))
        .group_by(meeting_requests::recipient_id)
        .select((meeting_requests::recipient_id, count_star()))
        .load(conn)?;
    let mut all: std::collections::BTreeMap<RegistrationId, (i64, i64)> = Default::default();
    for (r, n) in sent {
        all.entry(r).or_default().0 = n;
    }
    for (r, n) in received {
        all.entry(r).or_default().1 = n;
    }
    Ok(all.into_iter().map(|(r, (s, v))| (r, s, v)).collect())
}

/// The slots a registration cannot meet in.
pub fn unavailable(conn: &mut Conn, registration: RegistrationId) -> DbResult<Vec<SlotId>> {
    Ok(unavailabilities::table
        .filter(unavailabilities::registration_id.eq(registration))
        .order(unavailabilities::slot_id)
        .select(unavailabilities::slot_id)
        .load(conn)?)
}

/// Replaces a registration's unavailable slots.
pub fn set_unavailable(
    conn: &mut Conn,
    registration: RegistrationId,
    slots: &[SlotId],
) -> DbResult<()> {
    diesel::delete(
        unavailabilities::table.filter(unavailabilities::registration_id.eq(registration)),
    )
    .execute(conn)?;
    let rows: Vec<_> = slots
        .iter()
        .map(|s| {
            (
                unavailabilities::registration_id.eq(registration),
                unavailabilities::slot_id.eq(*s),
            )
        })
        .collect();
    diesel::insert_into(unavailabilities::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

/// Every unavailability of the event's registrations.
pub fn unavailable_in_event(
    conn: &mut Conn,
    event: EventId,
) -> DbResult<Vec<(RegistrationId, SlotId)>> {
    use crate::schema::registrations;
    Ok(unavailabilities::table
        .inner_join(
            registrations::table.on(registrations::id.eq(unavailabilities::registration_id)),
        )
        .filter(registrations::event_id.eq(event))
        .select((unavailabilities::registration_id, unavailabilities::slot_id))
        .load(conn)?)
}

/// A participant as meetings show them: registration and the person's name and company.
#[derive(Debug, Clone, Queryable)]
pub struct Party {
    pub registration_id: RegistrationId,
    pub event_id: EventId,
    pub person_id: rdv_domain::PersonId,
    pub participant_type: rdv_domain::ParticipantType,
    pub status: rdv_domain::RegistrationStatus,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub stand: Option<String>,
    pub meeting_quota: Option<i32>,
}

/// Of the registrations `ids`, those under restriction of processing (theirs or their
/// person's): the planner leaves them out.
pub fn restricted_among(
    conn: &mut Conn,
    ids: &[RegistrationId],
) -> DbResult<std::collections::HashSet<RegistrationId>> {
    use crate::schema::{persons, registrations};
    Ok(registrations::table
        .inner_join(persons::table)
        .filter(registrations::id.eq_any(ids))
        .filter(
            registrations::restricted_at
                .is_not_null()
                .or(persons::restricted_at.is_not_null()),
        )
        .select(registrations::id)
        .load::<RegistrationId>(conn)?
        .into_iter()
        .collect())
}

/// The registrations `ids` of the organization, neither erased, as parties. Two index reads
/// (registrations, then their persons) rather than one join, which PostgreSQL tends to plan
/// as a scan of every person of the organization.
pub fn parties(
    conn: &mut Conn,
    org: OrganizationId,
    ids: &[RegistrationId],
) -> DbResult<Vec<Party>> {
    use crate::schema::{persons, registrations};
    type RegPart = (
        RegistrationId,
        EventId,
        rdv_domain::PersonId,
        rdv_domain::ParticipantType,
        rdv_domain::RegistrationStatus,
        Option<String>,
        Option<i32>,
    );
    let regs: Vec<RegPart> = registrations::table
        .filter(registrations::organization_id.eq(org))
        .filter(registrations::id.eq_any(ids))
        .filter(registrations::erased_at.is_null())
        .select((
            registrations::id,
            registrations::event_id,
            registrations::person_id,
            registrations::participant_type,
            registrations::status,
            registrations::stand,
            registrations::meeting_quota,
        ))
        .load(conn)?;
    let person_ids: Vec<rdv_domain::PersonId> = regs.iter().map(|r| r.2).collect();
    type PersonPart = (
        rdv_domain::PersonId,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let people: std::collections::HashMap<rdv_domain::PersonId, PersonPart> = persons::table
        .filter(persons::id.eq_any(&person_ids))
        .filter(persons::organization_id.eq(org))
        .filter(persons::erased_at.is_null())
        .select((
            persons::id,
            persons::first_name,
            persons::last_name,
            persons::company,
            persons::job_title,
        ))
        .load::<PersonPart>(conn)?
        .into_iter()
        .map(|p| (p.0, p))
        .collect();
    Ok(regs
        .into_iter()
        .filter_map(
            |(id, event_id, person_id, participant_type, status, stand, quota)| {
                let (_, first_name, last_name, company, job_title) =
                    people.get(&person_id)?.clone();
                Some(Party {
                    registration_id: id,
                    event_id,
                    person_id,
                    participant_type,
                    status,
                    first_name,
                    last_name,
                    company,
                    job_title,
                    stand,
                    meeting_quota: quota,
                })
            },
        )
        .collect())
}

/// The person's registration to the event, if any.
pub fn registration_of(
    conn: &mut Conn,
    person: rdv_domain::PersonId,
    event: EventId,
) -> DbResult<Option<Registration>> {
    use crate::schema::registrations;
    Ok(registrations::table
        .filter(registrations::person_id.eq(person))
        .filter(registrations::event_id.eq(event))
        .filter(registrations::erased_at.is_null())
        .select(Registration::as_select())
        .first(conn)
        .optional()?)
}

/// The two registrations of each request.
pub fn pairs(
    conn: &mut Conn,
    ids: &[MeetingRequestId],
) -> DbResult<Vec<(MeetingRequestId, RegistrationId, RegistrationId)>> {
    Ok(meeting_requests::table
        .filter(meeting_requests::id.eq_any(ids))
        .select((
            meeting_requests::id,
            meeting_requests::requester_id,
            meeting_requests::recipient_id,
        ))
        .load(conn)?)
}

/// The organization's requests `ids`.
pub fn by_ids(
    conn: &mut Conn,
    org: OrganizationId,
    ids: &[MeetingRequestId],
) -> DbResult<Vec<MeetingRequest>> {
    Ok(meeting_requests::table
        .filter(meeting_requests::organization_id.eq(org))
        .filter(meeting_requests::id.eq_any(ids))
        .select(MeetingRequest::as_select())
        .load(conn)?)
}

/// The organization and event of a registration, whatever the organization: for the agenda
/// feed, which a secret token opens without a login.
pub fn registration_scope(
    conn: &mut Conn,
    registration: RegistrationId,
) -> DbResult<Option<(OrganizationId, EventId)>> {
    use crate::schema::registrations;
    Ok(registrations::table
        .find(registration)
        .filter(registrations::erased_at.is_null())
        .select((registrations::organization_id, registrations::event_id))
        .first(conn)
        .optional()?)
}

/// The days a registration comes on; empty when it comes every day.
pub fn presence(conn: &mut Conn, registration: RegistrationId) -> DbResult<Vec<EventDayId>> {
    use crate::schema::presence_days;
    Ok(presence_days::table
        .filter(presence_days::registration_id.eq(registration))
        .order(presence_days::event_day_id)
        .select(presence_days::event_day_id)
        .load(conn)?)
}

/// Replaces a registration's days of presence (none: every day).
pub fn set_presence(
    conn: &mut Conn,
    registration: RegistrationId,
    days: &[EventDayId],
) -> DbResult<()> {
    use crate::schema::presence_days;
    diesel::delete(presence_days::table.filter(presence_days::registration_id.eq(registration)))
        .execute(conn)?;
    let rows: Vec<_> = days
        .iter()
        .map(|d| {
            (
                presence_days::registration_id.eq(registration),
                presence_days::event_day_id.eq(*d),
            )
        })
        .collect();
    diesel::insert_into(presence_days::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}

/// Every day of presence of the event's registrations.
pub fn presence_in_event(
    conn: &mut Conn,
    event: EventId,
) -> DbResult<Vec<(RegistrationId, EventDayId)>> {
    use crate::schema::{presence_days, registrations};
    Ok(presence_days::table
        .inner_join(registrations::table.on(registrations::id.eq(presence_days::registration_id)))
        .filter(registrations::event_id.eq(event))
        .select((presence_days::registration_id, presence_days::event_day_id))
        .load(conn)?)
}

/// Locks a registration's row until the end of the transaction: its concurrent requests then
/// count against its allowance one after the other.
pub fn lock_registration(conn: &mut Conn, registration: RegistrationId) -> DbResult<()> {
    use crate::schema::registrations;
    registrations::table
        .find(registration)
        .select(registrations::id)
        .for_update()
        .first::<RegistrationId>(conn)?;
    Ok(())
}
