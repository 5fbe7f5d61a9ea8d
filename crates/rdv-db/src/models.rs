//! Row types: what the queries read and write, apart from the queries themselves.

use crate::schema::*;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use rdv_domain::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: OrganizationId,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization<'a> {
    pub slug: &'a str,
    pub name: &'a str,
}

/// The privacy columns every table with personal data carries, as read from table `T`: rows
/// embed one (`row.privacy`) instead of copies of the six columns.
#[derive(Debug, Clone, Serialize)]
pub struct Privacy<T> {
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub restricted_at: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
    pub source: DataSource,
    pub last_verified_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub table: std::marker::PhantomData<T>,
}

type PrivacySql = (
    diesel::sql_types::Text,
    diesel::sql_types::Timestamptz,
    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
    diesel::sql_types::Text,
    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
);

impl<T> Queryable<PrivacySql, diesel::pg::Pg> for Privacy<T> {
    type Row = (
        LegalBasis,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        DataSource,
        Option<DateTime<Utc>>,
    );

    fn build(row: Self::Row) -> diesel::deserialize::Result<Self> {
        Ok(Self {
            legal_basis: row.0,
            retention_until: row.1,
            restricted_at: row.2,
            erased_at: row.3,
            source: row.4,
            last_verified_at: row.5,
            table: std::marker::PhantomData,
        })
    }
}

/// Makes the privacy columns of each listed table selectable as one `Privacy`.
macro_rules! privacy_of {
    ($($table:ident),* $(,)?) => {$(
        impl Selectable<diesel::pg::Pg> for Privacy<$table::table> {
            type SelectExpression = (
                $table::legal_basis,
                $table::retention_until,
                $table::restricted_at,
                $table::erased_at,
                $table::source,
                $table::last_verified_at,
            );

            fn construct_selection() -> Self::SelectExpression {
                (
                    $table::legal_basis,
                    $table::retention_until,
                    $table::restricted_at,
                    $table::erased_at,
                    $table::source,
                    $table::last_verified_at,
                )
            }
        }
    )*};
}

privacy_of!(
    persons,
    registrations,
    user_accounts,
    meeting_requests,
    exports,
    imports,
    outbox_messages,
    privacy_requests,
    registration_answers,
    orders,
    invoices,
);

impl<T> Privacy<T> {
    pub fn is_restricted(&self) -> bool {
        self.restricted_at.is_some()
    }

    pub fn is_erased(&self) -> bool {
        self.erased_at.is_some()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = persons)]
pub struct Person {
    pub id: PersonId,
    pub organization_id: OrganizationId,
    pub civility: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub mobile_phone: Option<String>,
    pub landline_phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub preferred_language: String,
    pub optout_marketing_email_at: Option<DateTime<Utc>>,
    pub optout_sms_at: Option<DateTime<Utc>>,
    pub optout_phone_prospecting_at: Option<DateTime<Utc>>,
    #[diesel(embed)]
    pub privacy: Privacy<persons::table>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = persons)]
pub struct NewPerson {
    pub organization_id: OrganizationId,
    pub civility: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub mobile_phone: Option<String>,
    pub landline_phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub preferred_language: String,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}

/// A new person with the opt-outs an import brings along.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = persons)]
pub struct NewPersonWithOptOuts {
    #[diesel(embed)]
    pub person: NewPerson,
    pub optout_marketing_email_at: Option<DateTime<Utc>>,
    pub optout_sms_at: Option<DateTime<Utc>>,
    pub optout_phone_prospecting_at: Option<DateTime<Utc>>,
}

/// A partial update: `None` leaves a column alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = persons)]
pub struct PersonChanges {
    pub civility: Option<Option<String>>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile_phone: Option<Option<String>>,
    pub landline_phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
    pub address_line1: Option<Option<String>>,
    pub address_line2: Option<Option<String>>,
    pub postal_code: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub preferred_language: Option<String>,
    pub optout_marketing_email_at: Option<Option<DateTime<Utc>>>,
    pub optout_sms_at: Option<Option<DateTime<Utc>>>,
    pub optout_phone_prospecting_at: Option<Option<DateTime<Utc>>>,
    pub last_verified_at: Option<Option<DateTime<Utc>>>,
}

/// One login: the refresh tokens rotating within it and the access tokens naming it.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: SessionId,
    pub user_account_id: UserAccountId,
    pub membership_id: MembershipId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

/// A job of the queue.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: String,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub unique_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = user_accounts)]
pub struct UserAccount {
    pub id: UserAccountId,
    pub email: String,
    pub password_hash: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub id: MembershipId,
    pub user_account_id: UserAccountId,
    pub organization_id: Option<OrganizationId>,
    pub role: Role,
    pub person_id: Option<PersonId>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: EventId,
    pub organization_id: OrganizationId,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub venue: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub status: EventStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub organization_id: OrganizationId,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub venue: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub status: EventStatus,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = events)]
pub struct EventChanges {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub venue: Option<Option<String>>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub status: Option<EventStatus>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = event_days)]
pub struct EventDay {
    pub id: EventDayId,
    pub event_id: EventId,
    pub day: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub slot_minutes: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = meeting_slots)]
pub struct MeetingSlot {
    pub id: SlotId,
    pub event_id: EventId,
    pub event_day_id: EventDayId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub session_label: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = meeting_slots)]
pub struct NewMeetingSlot {
    pub event_id: EventId,
    pub event_day_id: EventDayId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub session_label: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = meeting_tables)]
pub struct MeetingTable {
    pub id: TableId,
    pub event_id: EventId,
    pub number: i32,
    pub label: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = registrations)]
pub struct Registration {
    pub id: RegistrationId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub person_id: PersonId,
    pub participant_type: ParticipantType,
    pub status: RegistrationStatus,
    pub status_reason: Option<String>,
    pub company_description: Option<String>,
    pub offers: Option<String>,
    pub needs: Option<String>,
    pub sectors: Vec<String>,
    pub languages: Vec<String>,
    pub profile_visible: bool,
    pub meeting_quota: Option<i32>,
    pub stand: Option<String>,
    #[diesel(embed)]
    pub privacy: Privacy<registrations::table>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = registrations)]
pub struct NewRegistration {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub person_id: PersonId,
    pub participant_type: ParticipantType,
    pub status: RegistrationStatus,
    pub company_description: Option<String>,
    pub offers: Option<String>,
    pub needs: Option<String>,
    pub sectors: Vec<String>,
    pub languages: Vec<String>,
    pub profile_visible: bool,
    pub meeting_quota: Option<i32>,
    pub stand: Option<String>,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = registrations)]
pub struct RegistrationChanges {
    pub participant_type: Option<ParticipantType>,
    pub status: Option<RegistrationStatus>,
    pub status_reason: Option<Option<String>>,
    pub company_description: Option<Option<String>>,
    pub offers: Option<Option<String>>,
    pub needs: Option<Option<String>>,
    pub sectors: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub profile_visible: Option<bool>,
    pub meeting_quota: Option<Option<i32>>,
    pub stand: Option<Option<String>>,
}

impl RegistrationChanges {
    pub fn is_empty(&self) -> bool {
        self.changed_fields().is_empty()
    }

    /// The names of the columns this change touches, for the audit log.
    pub fn changed_fields(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        macro_rules! touched {
            ($($name:ident),*) => { $( if self.$name.is_some() { f.push(stringify!($name)); } )* };
        }
        touched!(
            participant_type,
            status,
            status_reason,
            company_description,
            offers,
            needs,
            sectors,
            languages,
            profile_visible,
            meeting_quota,
            stand
        );
        f
    }
}

impl PersonChanges {
    pub fn is_empty(&self) -> bool {
        self.changed_fields().is_empty()
    }

    /// The names of the columns this change touches, for the audit log.
    pub fn changed_fields(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        macro_rules! touched {
            ($($name:ident),*) => { $( if self.$name.is_some() { f.push(stringify!($name)); } )* };
        }
        touched!(
            civility,
            first_name,
            last_name,
            email,
            mobile_phone,
            landline_phone,
            company,
            job_title,
            address_line1,
            address_line2,
            postal_code,
            city,
            country,
            preferred_language,
            optout_marketing_email_at,
            optout_sms_at,
            optout_phone_prospecting_at,
            last_verified_at
        );
        f
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: AuditId,
    pub organization_id: Option<OrganizationId>,
    pub actor_user_id: Option<UserAccountId>,
    pub action: String,
    pub subject_type: String,
    pub subject_ids: Vec<i64>,
    pub person_ids: Vec<i64>,
    pub field_names: Vec<String>,
    pub client_address: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub organization_id: Option<OrganizationId>,
    pub actor_user_id: Option<UserAccountId>,
    pub action: String,
    pub subject_type: String,
    pub subject_ids: Vec<i64>,
    pub person_ids: Vec<i64>,
    pub field_names: Vec<String>,
    pub client_address: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = consent_records)]
pub struct ConsentRecord {
    pub id: ConsentId,
    pub organization_id: OrganizationId,
    pub person_id: PersonId,
    pub purpose: String,
    pub text_version: String,
    pub granted: bool,
    pub method: String,
    pub recorded_at: DateTime<Utc>,
}

/// An event's meeting rules. `allowed_pairs` holds unordered pairs of participant types as
/// `a:b` with `a <= b`; `default_quotas` maps a participant type to its quota.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = meeting_settings)]
#[diesel(treat_none_as_null = true)]
pub struct MeetingSettings {
    pub event_id: EventId,
    pub organization_id: OrganizationId,
    pub allowed_pairs: Vec<String>,
    pub acceptance: Acceptance,
    pub requests_open_at: Option<DateTime<Utc>>,
    pub requests_close_at: Option<DateTime<Utc>>,
    pub max_requests_per_participant: i32,
    pub default_quotas: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = meeting_requests)]
pub struct MeetingRequest {
    pub id: MeetingRequestId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub requester_id: RegistrationId,
    pub recipient_id: RegistrationId,
    pub message: Option<String>,
    pub priority: Priority,
    pub status: RequestStatus,
    pub status_reason: Option<String>,
    pub created_by: Option<UserAccountId>,
    #[diesel(embed)]
    pub privacy: Privacy<meeting_requests::table>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = meeting_requests)]
pub struct NewMeetingRequest {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub requester_id: RegistrationId,
    pub recipient_id: RegistrationId,
    pub message: Option<String>,
    pub priority: Priority,
    pub status: RequestStatus,
    pub created_by: Option<UserAccountId>,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = meeting_request_history)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct RequestChange {
    pub request_id: MeetingRequestId,
    pub actor_user_id: Option<UserAccountId>,
    pub from_status: Option<RequestStatus>,
    pub to_status: RequestStatus,
    pub reason: Option<String>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = plan_runs)]
pub struct PlanRun {
    pub id: PlanRunId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub status: PlanStatus,
    pub options: serde_json::Value,
    pub progress: serde_json::Value,
    pub job_id: Option<JobId>,
    pub requested_by: Option<UserAccountId>,
    pub calendar_as_of: Option<DateTime<Utc>>,
    pub requests_total: Option<i32>,
    pub scheduled: Option<i32>,
    pub weight: Option<i64>,
    pub bound: Option<f64>,
    pub gap: Option<f64>,
    pub breaks: Option<i32>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = plan_runs)]
pub struct NewPlanRun {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub options: serde_json::Value,
    pub requested_by: Option<UserAccountId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_meetings)]
pub struct PlanMeeting {
    pub run_id: PlanRunId,
    pub request_id: MeetingRequestId,
    pub slot_id: SlotId,
    pub table_id: Option<TableId>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_unscheduled)]
pub struct PlanUnscheduled {
    pub run_id: PlanRunId,
    pub request_id: MeetingRequestId,
    pub reason: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agenda_versions)]
pub struct AgendaVersion {
    pub id: AgendaVersionId,
    pub event_id: EventId,
    pub version: i32,
    pub run_id: PlanRunId,
    pub published_by: Option<UserAccountId>,
    pub published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = meetings)]
pub struct Meeting {
    pub id: MeetingId,
    pub event_id: EventId,
    pub request_id: MeetingRequestId,
    pub slot_id: SlotId,
    pub table_id: Option<TableId>,
    pub status: MeetingStatus,
    pub sequence: i32,
    pub created_in: i32,
    pub updated_in: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = agenda_changes)]
pub struct AgendaChangeRow {
    pub version_id: AgendaVersionId,
    pub registration_id: RegistrationId,
    pub meeting_id: MeetingId,
    pub change: AgendaChange,
    pub old_slot_id: Option<SlotId>,
    pub new_slot_id: Option<SlotId>,
    pub old_table_id: Option<TableId>,
    pub new_table_id: Option<TableId>,
}

/// An export as listed: everything but the file itself.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = exports)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Export {
    pub id: ExportId,
    pub organization_id: OrganizationId,
    pub event_id: Option<EventId>,
    pub kind: ExportKind,
    pub status: ExportStatus,
    pub requested_by: Option<UserAccountId>,
    pub job_id: Option<JobId>,
    pub progress: serde_json::Value,
    pub error: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    #[diesel(embed)]
    pub privacy: Privacy<exports::table>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Format, separator, columns and filters of a spreadsheet export.
    pub options: serde_json::Value,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = exports)]
pub struct NewExport {
    pub organization_id: OrganizationId,
    pub event_id: Option<EventId>,
    pub kind: ExportKind,
    pub options: serde_json::Value,
    pub requested_by: Option<UserAccountId>,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}

/// An import as listed: everything but the file itself.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = imports)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Import {
    pub id: ImportId,
    pub organization_id: OrganizationId,
    pub event_id: Option<EventId>,
    pub kind: ImportKind,
    pub status: ImportStatus,
    pub requested_by: Option<UserAccountId>,
    pub job_id: Option<JobId>,
    pub file_name: String,
    pub size_bytes: i64,
    pub detected: serde_json::Value,
    pub headers: Vec<String>,
    pub mapping: serde_json::Value,
    pub options: serde_json::Value,
    pub writes: bool,
    pub progress: serde_json::Value,
    pub error: Option<String>,
    #[diesel(embed)]
    pub privacy: Privacy<imports::table>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = imports)]
pub struct NewImport<'a> {
    pub organization_id: OrganizationId,
    pub event_id: Option<EventId>,
    pub kind: ImportKind,
    pub requested_by: Option<UserAccountId>,
    pub file_name: &'a str,
    pub size_bytes: i64,
    pub content: &'a [u8],
    pub detected: serde_json::Value,
    pub headers: Vec<String>,
    pub mapping: serde_json::Value,
    pub options: serde_json::Value,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}

/// Why a row of an import's last pass was skipped or rejected.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_problems)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ImportProblem {
    pub import_id: ImportId,
    pub row_index: i32,
    pub line: i64,
    pub decision: String,
    pub column_name: Option<String>,
    pub reason: String,
    pub seq: i32,
}

/// A message of the outbox.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = outbox_messages)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct OutboxMessage {
    pub id: OutboxMessageId,
    /// The organization and person it goes to, or else the account.
    pub organization_id: Option<OrganizationId>,
    pub event_id: Option<EventId>,
    pub person_id: Option<PersonId>,
    pub channel: Channel,
    pub template: String,
    pub data: serde_json::Value,
    pub idempotency_key: String,
    pub not_before: DateTime<Utc>,
    pub status: MessageStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub recipient: Option<String>,
    pub message_id: Option<String>,
    pub provider_reply: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    #[diesel(embed)]
    pub privacy: Privacy<outbox_messages::table>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub campaign_id: Option<CampaignId>,
    pub solicitation: bool,
    pub delivery_status: Option<DeliveryStatus>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub user_account_id: Option<UserAccountId>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox_messages)]
pub struct NewOutboxMessage {
    pub organization_id: Option<OrganizationId>,
    pub event_id: Option<EventId>,
    pub person_id: Option<PersonId>,
    pub channel: Channel,
    pub template: String,
    pub data: serde_json::Value,
    pub idempotency_key: String,
    pub not_before: DateTime<Utc>,
    pub max_attempts: i32,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
    pub campaign_id: Option<CampaignId>,
    pub solicitation: bool,
    pub user_account_id: Option<UserAccountId>,
}

/// A campaign: a message an organizer writes for a segment of an event.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = campaigns)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Campaign {
    pub id: CampaignId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub name: String,
    pub content: serde_json::Value,
    pub segment: serde_json::Value,
    pub status: CampaignStatus,
    pub send_at: Option<DateTime<Utc>>,
    pub per_minute: i32,
    pub per_domain_per_minute: i32,
    pub queued: i32,
    pub created_by: Option<UserAccountId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = campaigns)]
pub struct NewCampaign {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub name: String,
    pub content: serde_json::Value,
    pub segment: serde_json::Value,
    pub per_minute: i32,
    pub per_domain_per_minute: i32,
    pub created_by: Option<UserAccountId>,
}

/// A data subject's rights request, without its archive and scan digests.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = privacy_requests)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct RightsRequest {
    pub id: RightsRequestId,
    pub organization_id: OrganizationId,
    pub person_id: PersonId,
    pub kind: RightKind,
    pub purpose: Option<String>,
    pub channel: RequestChannel,
    pub details: Option<String>,
    pub state: RightsRequestState,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub recorded_by: Option<UserAccountId>,
    pub handled_by: Option<UserAccountId>,
    pub handled_at: Option<DateTime<Utc>>,
    pub outcome: serde_json::Value,
    pub note: Option<String>,
    pub job_id: Option<JobId>,
    pub archive_expires_at: Option<DateTime<Utc>>,
    #[diesel(embed)]
    pub privacy: Privacy<privacy_requests::table>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = privacy_requests)]
pub struct NewRightsRequest {
    pub organization_id: OrganizationId,
    pub person_id: PersonId,
    pub kind: RightKind,
    pub purpose: Option<String>,
    pub channel: RequestChannel,
    pub details: Option<String>,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub recorded_by: Option<UserAccountId>,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}

/// A retention sweep and its report.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = privacy_sweeps)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Sweep {
    pub id: SweepId,
    pub dry_run: bool,
    pub status: String,
    pub started_by: Option<UserAccountId>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub report: serde_json::Value,
    pub error: Option<String>,
}

// --- the shop ---

/// The seller's mentions an organization's invoices carry.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = organizations)]
pub struct Seller {
    pub id: OrganizationId,
    pub name: String,
    pub legal_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub siren: Option<String>,
    pub siret: Option<String>,
    pub vat_number: Option<String>,
    pub legal_mentions: Option<String>,
    pub payment_days: i32,
    pub late_penalty: String,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = organizations, treat_none_as_null = true)]
pub struct SellerChange {
    pub legal_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub siren: Option<String>,
    pub siret: Option<String>,
    pub vat_number: Option<String>,
    pub legal_mentions: Option<String>,
    pub payment_days: i32,
    pub late_penalty: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = consent_texts)]
pub struct ConsentText {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub organization_id: OrganizationId,
    pub purpose: String,
    pub version: String,
    pub text_fr: String,
    pub text_en: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = registration_forms)]
pub struct RegistrationForm {
    pub id: FormId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub participant_type: ParticipantType,
    pub version: i32,
    pub definition: serde_json::Value,
    pub created_by: Option<UserAccountId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = registration_forms)]
pub struct NewRegistrationForm {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub participant_type: ParticipantType,
    pub version: i32,
    pub definition: serde_json::Value,
    pub created_by: Option<UserAccountId>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = registration_answers)]
pub struct RegistrationAnswers {
    pub id: i64,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub registration_id: RegistrationId,
    pub person_id: PersonId,
    pub form_id: FormId,
    pub answers: serde_json::Value,
    pub submitted_at: DateTime<Utc>,
    #[diesel(embed)]
    pub privacy: Privacy<registration_answers::table>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = registration_answers)]
pub struct NewRegistrationAnswers {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub registration_id: RegistrationId,
    pub person_id: PersonId,
    pub form_id: FormId,
    pub answers: serde_json::Value,
    pub submitted_at: DateTime<Utc>,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = products)]
pub struct Product {
    pub id: ProductId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub kind: ProductKind,
    pub participant_type: Option<ParticipantType>,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub vat_rate_bp: i32,
    pub vat_exemption: Option<String>,
    pub capacity: Option<i32>,
    pub held: i32,
    pub sold: i32,
    pub meeting_quota: Option<i32>,
    pub max_per_order: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
pub struct NewProduct {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub kind: ProductKind,
    pub participant_type: Option<ParticipantType>,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub vat_rate_bp: i32,
    pub vat_exemption: Option<String>,
    pub capacity: Option<i32>,
    pub meeting_quota: Option<i32>,
    pub max_per_order: i32,
    pub active: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = product_prices)]
pub struct ProductPrice {
    pub id: i64,
    pub product_id: ProductId,
    pub label: String,
    pub price_cents: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = product_prices)]
pub struct NewProductPrice {
    pub product_id: ProductId,
    pub label: String,
    pub price_cents: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = vouchers)]
pub struct Voucher {
    pub id: VoucherId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub code: String,
    pub percent_bp: Option<i32>,
    pub amount_cents: Option<i64>,
    pub product_id: Option<ProductId>,
    pub max_uses: Option<i32>,
    pub used: i32,
    pub valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = vouchers)]
pub struct NewVoucher {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub code: String,
    pub percent_bp: Option<i32>,
    pub amount_cents: Option<i64>,
    pub product_id: Option<ProductId>,
    pub max_uses: Option<i32>,
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: OrderId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub person_id: PersonId,
    pub registration_id: Option<RegistrationId>,
    pub reference: String,
    pub idempotency_key: String,
    pub request_digest: String,
    pub created_by: Option<UserAccountId>,
    pub status: OrderStatus,
    pub hold_until: DateTime<Utc>,
    pub voucher_id: Option<VoucherId>,
    pub buyer: serde_json::Value,
    pub vat_treatment: VatTreatmentKind,
    pub pricing: serde_json::Value,
    pub total_excl_cents: i64,
    pub total_vat_cents: i64,
    pub total_incl_cents: i64,
    pub paid_cents: i64,
    pub refunded_cents: i64,
    pub payment_method: Option<PaymentMethod>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    #[diesel(embed)]
    pub privacy: Privacy<orders::table>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrder {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub person_id: PersonId,
    pub registration_id: Option<RegistrationId>,
    pub reference: String,
    pub idempotency_key: String,
    pub request_digest: String,
    pub created_by: Option<UserAccountId>,
    pub hold_until: DateTime<Utc>,
    pub voucher_id: Option<VoucherId>,
    pub buyer: serde_json::Value,
    pub vat_treatment: VatTreatmentKind,
    pub pricing: serde_json::Value,
    pub total_excl_cents: i64,
    pub total_vat_cents: i64,
    pub total_incl_cents: i64,
    pub payment_method: Option<PaymentMethod>,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = order_lines)]
pub struct OrderLine {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub order_id: OrderId,
    pub product_id: ProductId,
    pub label: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub discount_cents: i64,
    pub net_cents: i64,
    pub vat_rate_bp: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = payments)]
pub struct Payment {
    pub id: PaymentId,
    pub organization_id: OrganizationId,
    pub order_id: OrderId,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount_cents: i64,
    pub provider_session_id: Option<String>,
    pub provider_payment_id: Option<String>,
    pub checkout_url: Option<String>,
    pub bank_reference: Option<String>,
    pub recorded_by: Option<UserAccountId>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = payments)]
pub struct NewPayment {
    pub organization_id: OrganizationId,
    pub order_id: OrderId,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount_cents: i64,
    pub bank_reference: Option<String>,
    pub recorded_by: Option<UserAccountId>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = refunds)]
pub struct Refund {
    pub id: RefundId,
    pub organization_id: OrganizationId,
    pub order_id: OrderId,
    pub payment_id: Option<PaymentId>,
    pub amount_cents: i64,
    pub reason: String,
    pub status: RefundStatus,
    pub provider_refund_id: Option<String>,
    pub requested_by: Option<UserAccountId>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = refunds)]
pub struct NewRefund {
    pub organization_id: OrganizationId,
    pub order_id: OrderId,
    pub payment_id: Option<PaymentId>,
    pub amount_cents: i64,
    pub reason: String,
    pub status: RefundStatus,
    pub requested_by: Option<UserAccountId>,
}

/// An issued invoice or credit note, without its files.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = invoices)]
pub struct Invoice {
    pub id: InvoiceId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub order_id: OrderId,
    pub person_id: PersonId,
    pub kind: InvoiceKind,
    pub year: i32,
    pub seq: i32,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub corrects_id: Option<InvoiceId>,
    pub refund_id: Option<RefundId>,
    pub document: serde_json::Value,
    pub total_excl_cents: i64,
    pub total_vat_cents: i64,
    pub total_incl_cents: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = invoices)]
pub struct NewInvoice {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    pub order_id: OrderId,
    pub person_id: PersonId,
    pub kind: InvoiceKind,
    pub year: i32,
    pub seq: i32,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub corrects_id: Option<InvoiceId>,
    pub refund_id: Option<RefundId>,
    pub document: serde_json::Value,
    pub total_excl_cents: i64,
    pub total_vat_cents: i64,
    pub total_incl_cents: i64,
    pub pdf: Vec<u8>,
    pub xml: String,
    pub legal_basis: LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub source: DataSource,
}
