//! Registrations of the actor's organization's events: lists, reads, profile changes and the
//! status state machine. Every read and change is audited; a registration is hidden with its
//! person when either is erased, and from staff when either is restricted.

use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use crate::paging::{self, Listed};
use crate::restriction::{ensure_changeable, ensure_visible, sees_restricted};
use chrono::Utc;
use rdv_db::models::{NewRegistration, Person, Registration, RegistrationChanges};
use rdv_db::queries::registrations::{self, RegistrationFilter};
use rdv_db::queries::{events, persons};
use rdv_db::{Conn, DbError};
use rdv_domain::{
    DataSource, EventId, LegalBasis, ParticipantType, PersonId, RegistrationId, RegistrationStatus,
    RetentionPolicy, SectorPath,
};
use rdv_notify::Kind;

/// A registration with the person it registers.
pub type RegistrationOfPerson = (Registration, Person);

/// A new registration, as typed: every field is checked by [`create`].
#[derive(Debug, Clone)]
pub struct RegistrationInput {
    pub person_id: PersonId,
    /// `buyer`, `supplier`, `visitor`, `exhibitor` or `speaker`.
    pub participant_type: String,
    /// `pending` (default) or `validated`.
    pub status: Option<String>,
    pub company_description: Option<String>,
    pub offers: Option<String>,
    pub needs: Option<String>,
    /// Hierarchical sector paths such as `industry/machining`.
    pub sectors: Vec<String>,
    /// ISO 639-1 codes.
    pub languages: Vec<String>,
    pub profile_visible: Option<bool>,
    pub meeting_quota: Option<i32>,
    pub stand: Option<String>,
}

/// A partial change: `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct RegistrationPatch {
    pub participant_type: Option<String>,
    pub company_description: Option<Option<String>>,
    pub offers: Option<Option<String>>,
    pub needs: Option<Option<String>>,
    pub sectors: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub profile_visible: Option<bool>,
    pub meeting_quota: Option<Option<i32>>,
    pub stand: Option<Option<String>>,
}

/// A list request: filters and the page.
#[derive(Debug, Clone, Default)]
pub struct RegistrationQuery {
    pub status: Option<String>,
    pub participant_type: Option<String>,
    /// Matches the person's name, email or company.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// The registration state machine: the statuses an organizer may move a registration to
/// from `from`. Setting the status it has already is allowed (a repeated click). Cancellation
/// belongs to the participant and is not an organizer's transition.
pub fn transition_allowed(from: RegistrationStatus, to: RegistrationStatus) -> bool {
    use RegistrationStatus::*;
    match to {
        Validated => matches!(from, Pending | Refused | Validated),
        Refused => matches!(from, Pending | Validated | Refused),
        _ => false,
    }
}

/// Whether a new registration may start in `status`: pending or validated.
pub fn may_start_in(status: RegistrationStatus) -> bool {
    matches!(
        status,
        RegistrationStatus::Pending | RegistrationStatus::Validated
    )
}

/// At most this many sectors and languages per registration.
pub const MAX_SECTORS: usize = 20;
pub const MAX_LANGUAGES: usize = 10;
/// The largest meeting quota.
pub const MAX_QUOTA: i32 = 1000;

/// Sector paths as the search parses them: what is stored here is what a search can filter on.
pub(crate) fn sectors(c: &mut Check, v: Vec<String>) -> Vec<String> {
    if v.len() > MAX_SECTORS {
        c.add("sectors", format!("at most {MAX_SECTORS} sectors"));
    }
    v.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            c.0.check(&format!("sectors[{i}]"), SectorPath::parse(s))
                .map(SectorPath::into_inner)
        })
        .collect()
}

pub(crate) fn languages(c: &mut Check, v: Vec<String>) -> Vec<String> {
    if v.len() > MAX_LANGUAGES {
        c.add("languages", format!("at most {MAX_LANGUAGES} languages"));
    }
    v.iter()
        .enumerate()
        .filter_map(|(i, l)| c.language(&format!("languages[{i}]"), l))
        .collect()
}

fn quota(c: &mut Check, v: Option<i32>) -> Option<i32> {
    match v {
        Some(q) if !(0..=MAX_QUOTA).contains(&q) => {
            c.add(
                "meeting_quota",
                format!("must be between 0 and {MAX_QUOTA}"),
            );
            None
        }
        other => other,
    }
}

/// The fields a registration read shows, as named in audit rows.
const REGISTRATION_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "company",
    "country",
    "company_description",
    "offers",
    "needs",
    "sectors",
    "languages",
    "status",
];

fn audit_one(
    conn: &mut Conn,
    actor: &Actor,
    r: &Registration,
    action: &str,
    fields: Vec<&str>,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        Audit {
            action,
            subject_type: "registration",
            subject_ids: vec![r.id.0],
            person_ids: vec![r.person_id.0],
            fields,
        },
    )
}

/// A registration the actor may see: erased ones (or of an erased person) are not found, and
/// restricted ones are not found for staff.
fn visible(conn: &mut Conn, actor: &Actor, id: RegistrationId) -> AppResult<RegistrationOfPerson> {
    let org = actor.organizer_org()?;
    let (r, p) =
        registrations::get(conn, org, id).map_err(|e| AppError::from_db("registration", e))?;
    ensure_visible(
        actor,
        r.privacy.restricted_at.or(p.privacy.restricted_at),
        "registration",
    )?;
    Ok((r, p))
}

/// A registration the actor may change: visible, and neither it nor its person restricted.
fn changeable(
    conn: &mut Conn,
    actor: &Actor,
    id: RegistrationId,
) -> AppResult<RegistrationOfPerson> {
    let (r, p) = visible(conn, actor, id)?;
    ensure_changeable(
        r.privacy.restricted_at.or(p.privacy.restricted_at),
        "registration",
    )?;
    Ok((r, p))
}

/// The registrations of an event, filtered and paginated; audited as a bulk read.
pub fn list(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    query: RegistrationQuery,
) -> AppResult<Listed<RegistrationOfPerson>> {
    let org = actor.organizer_org()?;
    let paging = paging::page(query.page, query.per_page)?;
    let mut c = Check::new();
    let filter = RegistrationFilter {
        status: query
            .status
            .as_deref()
            .and_then(|s| c.word::<RegistrationStatus>("status", s))
            .map(|s| s.as_str().to_owned()),
        participant_type: query
            .participant_type
            .as_deref()
            .and_then(|s| c.word::<ParticipantType>("participant_type", s))
            .map(|s| s.as_str().to_owned()),
        text: c.opt_text::<200>("q", query.q.as_deref()),
        include_restricted: sees_restricted(actor),
    };
    c.finish()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let found = registrations::list(conn, org, event, &filter, paging.page)?;
    if !found.items.is_empty() {
        audit::record(
            conn,
            actor,
            Audit {
                action: "registration.list",
                subject_type: "registration",
                subject_ids: found.items.iter().map(|(r, _)| r.id.0).collect(),
                person_ids: found.items.iter().map(|(_, p)| p.id.0).collect(),
                fields: REGISTRATION_FIELDS.to_vec(),
            },
        )?;
    }
    Ok(Listed::new(found, paging))
}

/// Registers a person of the organization to the event, on the contract legal basis, kept
/// for the event-data retention period counted from the event's last day.
pub fn create(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    input: RegistrationInput,
) -> AppResult<RegistrationOfPerson> {
    let org = actor.organizer_org()?;
    let b = input;
    let mut c = Check::new();
    let participant_type = c.word::<ParticipantType>("participant_type", &b.participant_type);
    let status = c.word::<RegistrationStatus>("status", b.status.as_deref().unwrap_or("pending"));
    if status.is_some_and(|s| !may_start_in(s)) {
        c.add("status", "a new registration is pending or validated");
    }
    let company_description =
        c.opt_multiline::<5000>("company_description", b.company_description.as_deref());
    let offers = c.opt_multiline::<5000>("offers", b.offers.as_deref());
    let needs = c.opt_multiline::<5000>("needs", b.needs.as_deref());
    let sectors = sectors(&mut c, b.sectors);
    let languages = languages(&mut c, b.languages);
    let meeting_quota = quota(&mut c, b.meeting_quota);
    let stand = c.opt_text::<50>("stand", b.stand.as_deref());
    c.finish()?;
    let (Some(participant_type), Some(status)) = (participant_type, status) else {
        return Err(AppError::internal("checked fields missing"));
    };
    let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let no_such_person = || AppError::not_found("person");
    let person = persons::get(conn, org, b.person_id).map_err(|_| no_such_person())?;
    if person.privacy.restricted_at.is_some() {
        if !sees_restricted(actor) {
            return Err(no_such_person());
        }
        return Err(AppError::conflict_on(
            "person_id",
            "this person's processing is restricted: they cannot be registered until the restriction is lifted",
        ));
    }
    let retention = RetentionPolicy::EventData.deadline(
        ev.ends_on
            .and_hms_opt(23, 59, 59)
            .map(|d| d.and_utc())
            .unwrap_or_else(Utc::now),
    );
    let reg = registrations::create(
        conn,
        &NewRegistration {
            organization_id: org,
            event_id: event,
            person_id: b.person_id,
            participant_type,
            status,
            company_description,
            offers,
            needs,
            sectors,
            languages,
            profile_visible: b.profile_visible.unwrap_or(true),
            meeting_quota,
            stand,
            legal_basis: LegalBasis::Contract,
            retention_until: retention,
            source: DataSource::Admin,
        },
    )
    .map_err(|e| match e {
        DbError::Conflict(_) => {
            AppError::conflict("this person is already registered to the event")
        }
        other => other.into(),
    })?;
    // The person is kept as long as their latest event needs.
    rdv_db::queries::persons::extend_retention(conn, b.person_id, retention)?;
    audit_one(
        conn,
        actor,
        &reg,
        "registration.create",
        REGISTRATION_FIELDS.to_vec(),
    )?;
    // The person hears that the registration was received (pending: the organizers will
    // decide) or, registered as validated, that it is confirmed.
    let kind = match reg.status {
        RegistrationStatus::Validated => Kind::RegistrationValidated,
        _ => Kind::RegistrationReceived,
    };
    crate::notify::enqueue_email(
        conn,
        crate::notify::Email {
            organization: reg.organization_id,
            event: Some(reg.event_id),
            person: reg.person_id,
            kind,
            data: serde_json::json!({}),
            key: format!(
                "{}:{}:{}",
                kind.as_str(),
                reg.id,
                reg.updated_at.timestamp_micros()
            ),
        },
    )?;
    Ok((reg, person))
}

/// One registration with its person; audited.
pub fn get(conn: &mut Conn, actor: &Actor, id: RegistrationId) -> AppResult<RegistrationOfPerson> {
    let (r, p) = visible(conn, actor, id)?;
    audit_one(
        conn,
        actor,
        &r,
        "registration.read",
        REGISTRATION_FIELDS.to_vec(),
    )?;
    Ok((r, p))
}

/// Changes a registration's profile, type, quota or stand; audited with the changed fields.
pub fn update(
    conn: &mut Conn,
    actor: &Actor,
    id: RegistrationId,
    patch: RegistrationPatch,
) -> AppResult<RegistrationOfPerson> {
    let org = actor.organizer_org()?;
    let b = patch;
    let mut c = Check::new();
    let changes = RegistrationChanges {
        participant_type: b
            .participant_type
            .as_deref()
            .and_then(|v| c.word::<ParticipantType>("participant_type", v)),
        status: None,
        status_reason: None,
        company_description: b
            .company_description
            .map(|v| c.opt_multiline::<5000>("company_description", v.as_deref())),
        offers: b
            .offers
            .map(|v| c.opt_multiline::<5000>("offers", v.as_deref())),
        needs: b
            .needs
            .map(|v| c.opt_multiline::<5000>("needs", v.as_deref())),
        sectors: b.sectors.map(|v| sectors(&mut c, v)),
        languages: b.languages.map(|v| languages(&mut c, v)),
        profile_visible: b.profile_visible,
        meeting_quota: b.meeting_quota.map(|v| quota(&mut c, v)),
        stand: b.stand.map(|v| c.opt_text::<50>("stand", v.as_deref())),
    };
    // A patch naming no field changes nothing and answers the current state.
    c.finish()?;
    let (_, person) = changeable(conn, actor, id)?;
    let r = registrations::update(conn, org, id, &changes)
        .map_err(|e| AppError::from_db("registration", e))?;
    audit_one(
        conn,
        actor,
        &r,
        "registration.update",
        changes.changed_fields(),
    )?;
    Ok((r, person))
}

fn set_status(
    conn: &mut Conn,
    actor: &Actor,
    id: RegistrationId,
    to: RegistrationStatus,
    reason: Option<String>,
) -> AppResult<RegistrationOfPerson> {
    let org = actor.organizer_org()?;
    let (current, person) = changeable(conn, actor, id)?;
    let from: RegistrationStatus = current.status;
    if !transition_allowed(from, to) {
        return Err(AppError::conflict(format!(
            "a {from} registration cannot become {to}"
        )));
    }
    let changes = RegistrationChanges {
        status: Some(to),
        status_reason: Some(reason),
        ..Default::default()
    };
    let r = registrations::update(conn, org, id, &changes)?;
    if matches!(
        to,
        RegistrationStatus::Refused | RegistrationStatus::Cancelled
    ) {
        // A participant who is not coming asks and receives no meeting.
        rdv_db::queries::meetings::withdraw_all_of(
            conn,
            id,
            &format!("the registration was {to}"),
            Some(actor.user),
        )?;
    }
    let action = if to == RegistrationStatus::Validated {
        "registration.validate"
    } else {
        "registration.refuse"
    };
    audit_one(conn, actor, &r, action, vec!["status", "status_reason"])?;
    // The participant hears of it, once per change (validating twice changes nothing).
    if from != to {
        // The refusal's reason is a note for the organizer's team: it stays out of the mail.
        let kind = match to {
            RegistrationStatus::Validated => Kind::RegistrationValidated,
            _ => Kind::RegistrationRefused,
        };
        crate::notify::enqueue_email(
            conn,
            crate::notify::Email {
                organization: r.organization_id,
                event: Some(r.event_id),
                person: r.person_id,
                kind,
                data: serde_json::json!({}),
                key: format!(
                    "{}:{}:{}",
                    kind.as_str(),
                    r.id,
                    r.updated_at.timestamp_micros()
                ),
            },
        )?;
    }
    Ok((r, person))
}

/// Validates a pending (or refused) registration.
pub fn validate(
    conn: &mut Conn,
    actor: &Actor,
    id: RegistrationId,
) -> AppResult<RegistrationOfPerson> {
    set_status(conn, actor, id, RegistrationStatus::Validated, None)
}

/// Refuses a registration, with an optional reason of at most 500 characters.
pub fn refuse(
    conn: &mut Conn,
    actor: &Actor,
    id: RegistrationId,
    reason: Option<String>,
) -> AppResult<RegistrationOfPerson> {
    let mut c = Check::new();
    let reason = c.opt_multiline::<500>("reason", reason.as_deref());
    c.finish()?;
    set_status(conn, actor, id, RegistrationStatus::Refused, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegistrationStatus::*;

    #[test]
    fn organizers_validate_and_refuse_but_never_revive_a_cancellation() {
        assert!(transition_allowed(Pending, Validated));
        assert!(transition_allowed(Refused, Validated));
        assert!(transition_allowed(Validated, Refused));
        assert!(transition_allowed(Pending, Refused));
        assert!(!transition_allowed(Cancelled, Validated));
        assert!(!transition_allowed(Cancelled, Refused));
        assert!(!transition_allowed(Validated, Pending));
        assert!(!transition_allowed(Pending, Cancelled));
    }

    #[test]
    fn every_stored_sector_is_one_the_search_filters_on() {
        let mut c = Check::new();
        let stored = sectors(
            &mut c,
            vec![
                "Industry/Machining".into(),
                "energy".into(),
                "énergie".into(),
            ],
        );
        assert_eq!(stored, ["industry/machining", "energy"]);
        for s in &stored {
            let parsed = rdv_search::SectorPath::parse(s).unwrap();
            assert_eq!(parsed.as_str(), s, "the search reads back what was stored");
        }
        match c.finish() {
            Err(AppError::Invalid { fields, .. }) => {
                assert_eq!(fields.keys().collect::<Vec<_>>(), ["sectors[2]"]);
            }
            other => panic!("énergie accepted: {other:?}"),
        }
    }
}
