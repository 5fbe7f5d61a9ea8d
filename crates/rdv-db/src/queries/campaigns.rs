//! Campaigns and their audience: the registrations of an event with what a segment filters on
//! and what excludes a person from marketing.

use crate::models::{Campaign, NewCampaign};
use crate::schema::{
    campaigns, consent_records, meeting_requests, meetings, outbox_messages, persons, registrations,
};
use crate::{Conn, DbResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rdv_domain::{
    CampaignId, CampaignStatus, DataSource, EventId, MeetingStatus, MessageStatus, OrganizationId,
    ParticipantType, PersonId, RegistrationId, RegistrationStatus,
};
use std::collections::HashSet;

pub fn create(conn: &mut Conn, new: &NewCampaign) -> DbResult<Campaign> {
    Ok(diesel::insert_into(campaigns::table)
        .values(new)
        .returning(Campaign::as_returning())
        .get_result(conn)?)
}

pub fn get(conn: &mut Conn, org: OrganizationId, id: CampaignId) -> DbResult<Campaign> {
    Ok(campaigns::table
        .filter(campaigns::organization_id.eq(org))
        .filter(campaigns::id.eq(id))
        .select(Campaign::as_select())
        .first(conn)?)
}

/// The campaign, locked until the end of the transaction (scheduling and cancelling).
pub fn lock(conn: &mut Conn, org: OrganizationId, id: CampaignId) -> DbResult<Campaign> {
    Ok(campaigns::table
        .filter(campaigns::organization_id.eq(org))
        .filter(campaigns::id.eq(id))
        .select(Campaign::as_select())
        .for_update()
        .first(conn)?)
}

/// A campaign by id alone: for the notification worker, which holds the message naming it.
pub fn by_id(conn: &mut Conn, id: CampaignId) -> DbResult<Campaign> {
    Ok(campaigns::table
        .filter(campaigns::id.eq(id))
        .select(Campaign::as_select())
        .first(conn)?)
}

pub fn of_event(conn: &mut Conn, org: OrganizationId, event: EventId) -> DbResult<Vec<Campaign>> {
    Ok(campaigns::table
        .filter(campaigns::organization_id.eq(org))
        .filter(campaigns::event_id.eq(event))
        .order(campaigns::id.desc())
        .select(Campaign::as_select())
        .load(conn)?)
}

pub fn set_scheduled(
    conn: &mut Conn,
    id: CampaignId,
    send_at: DateTime<Utc>,
    queued: i32,
) -> DbResult<Campaign> {
    Ok(
        diesel::update(campaigns::table.filter(campaigns::id.eq(id)))
            .set((
                campaigns::status.eq(CampaignStatus::Scheduled),
                campaigns::send_at.eq(send_at),
                campaigns::queued.eq(queued),
                campaigns::updated_at.eq(Utc::now()),
            ))
            .returning(Campaign::as_returning())
            .get_result(conn)?,
    )
}

/// Cancels the campaign and those of its messages not sent yet; returns how many.
pub fn cancel(conn: &mut Conn, id: CampaignId) -> DbResult<usize> {
    let now = Utc::now();
    diesel::update(campaigns::table.filter(campaigns::id.eq(id)))
        .set((
            campaigns::status.eq(CampaignStatus::Cancelled),
            campaigns::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(diesel::update(
        outbox_messages::table
            .filter(outbox_messages::campaign_id.eq(id))
            .filter(outbox_messages::status.eq(MessageStatus::Queued)),
    )
    .set((
        outbox_messages::status.eq(MessageStatus::Cancelled),
        outbox_messages::last_error.eq("the campaign was cancelled"),
        outbox_messages::locked_by.eq(None::<String>),
        outbox_messages::locked_until.eq(None::<DateTime<Utc>>),
        outbox_messages::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// How many of the campaign's messages are in each state.
pub fn message_counts(conn: &mut Conn, id: CampaignId) -> DbResult<Vec<(MessageStatus, i64)>> {
    Ok(outbox_messages::table
        .filter(outbox_messages::campaign_id.eq(id))
        .group_by(outbox_messages::status)
        .select((outbox_messages::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// A registration of the event as a campaign sees it.
#[derive(Debug, Clone, Queryable)]
pub struct Member {
    pub registration_id: RegistrationId,
    pub person_id: PersonId,
    pub participant_type: ParticipantType,
    pub status: RegistrationStatus,
    pub email: String,
    pub country: Option<String>,
    pub preferred_language: String,
    pub source: DataSource,
    pub optout_marketing_email_at: Option<DateTime<Utc>>,
    pub restricted: bool,
}

/// Every registration of the event whose person is not erased.
pub fn members(conn: &mut Conn, org: OrganizationId, event: EventId) -> DbResult<Vec<Member>> {
    Ok(registrations::table
        .inner_join(persons::table.on(persons::id.eq(registrations::person_id)))
        .filter(registrations::organization_id.eq(org))
        .filter(registrations::event_id.eq(event))
        .filter(registrations::erased_at.is_null())
        .filter(persons::erased_at.is_null())
        .order(registrations::id)
        .select((
            registrations::id,
            persons::id,
            registrations::participant_type,
            registrations::status,
            persons::email,
            persons::country,
            persons::preferred_language,
            persons::source,
            persons::optout_marketing_email_at,
            persons::restricted_at
                .is_not_null()
                .or(registrations::restricted_at.is_not_null()),
        ))
        .load(conn)?)
}

/// The registrations of the event with a scheduled meeting.
pub fn with_meetings(conn: &mut Conn, event: EventId) -> DbResult<HashSet<RegistrationId>> {
    let pairs: Vec<(RegistrationId, RegistrationId)> = meetings::table
        .inner_join(meeting_requests::table.on(meeting_requests::id.eq(meetings::request_id)))
        .filter(meetings::event_id.eq(event))
        .filter(meetings::status.eq(MeetingStatus::Scheduled))
        .select((
            meeting_requests::requester_id,
            meeting_requests::recipient_id,
        ))
        .load(conn)?;
    Ok(pairs.into_iter().flat_map(|(a, b)| [a, b]).collect())
}

/// Of the persons `ids`, those who gave a consent (any purpose) that they have not withdrawn
/// since: their latest record per purpose grants it.
pub fn consented(conn: &mut Conn, ids: &[PersonId]) -> DbResult<HashSet<PersonId>> {
    let rows: Vec<(PersonId, String, bool)> = consent_records::table
        .filter(consent_records::person_id.eq_any(ids))
        .filter(consent_records::erased_at.is_null())
        .order((
            consent_records::person_id,
            consent_records::purpose,
            consent_records::recorded_at.desc(),
            consent_records::id.desc(),
        ))
        .select((
            consent_records::person_id,
            consent_records::purpose,
            consent_records::granted,
        ))
        .load(conn)?;
    let mut seen = HashSet::new();
    let mut yes = HashSet::new();
    for (person, purpose, granted) in rows {
        if seen.insert((person, purpose)) && granted {
            yes.insert(person);
        }
    }
    Ok(yes)
}

/// Records a consent the person gave (`granted`) or withdrew, with the version of the text
/// they answered and how; kept as proof for `retention_until`.
#[allow(clippy::too_many_arguments)]
pub fn record_consent(
    conn: &mut Conn,
    org: OrganizationId,
    person: PersonId,
    purpose: &str,
    text_version: &str,
    granted: bool,
    method: &str,
    client_address: Option<&str>,
    retention_until: DateTime<Utc>,
) -> DbResult<()> {
    diesel::insert_into(consent_records::table)
        .values((
            consent_records::organization_id.eq(org),
            consent_records::person_id.eq(person),
            consent_records::purpose.eq(purpose),
            consent_records::text_version.eq(text_version),
            consent_records::granted.eq(granted),
            consent_records::method.eq(method),
            consent_records::client_address.eq(client_address),
            consent_records::legal_basis.eq(rdv_domain::LegalBasis::Consent),
            consent_records::retention_until.eq(retention_until),
            consent_records::source.eq(DataSource::Prospect),
        ))
        .execute(conn)?;
    Ok(())
}
