//! Self-service: any account reads itself; a participant sees and rectifies their own data and
//! sees their own registrations, nothing else.

use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::persons;
use chrono::Utc;
use rdv_db::models::{Event, Person, Registration, UserAccount};
use rdv_db::queries::{accounts, events, persons as person_rows, registrations};
use rdv_db::Conn;

/// The actor's account and, for participants, their personal data.
#[derive(Debug, Clone)]
pub struct Me {
    pub account: UserAccount,
    pub person: Option<Person>,
}

/// What a participant may change about themselves: not their email (their login, changed
/// by the organizer who checks it), company or civility.
#[derive(Debug, Clone, Default)]
pub struct MePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub mobile_phone: Option<Option<String>>,
    pub landline_phone: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
    pub address_line1: Option<Option<String>>,
    pub address_line2: Option<Option<String>>,
    pub postal_code: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub preferred_language: Option<String>,
    pub optout_marketing_email: Option<bool>,
    pub optout_sms: Option<bool>,
    pub optout_phone_prospecting: Option<bool>,
}

/// The actor's account and, for participants, their personal data.
pub fn me(conn: &mut Conn, actor: &Actor) -> AppResult<Me> {
    let account = accounts::get(conn, actor.user)
        .map_err(|_| AppError::unauthenticated("the account no longer exists"))?;
    let person = match (actor.organization, actor.person) {
        (Some(org), Some(p)) => {
            Some(person_rows::get(conn, org, p).map_err(|e| AppError::from_db("person", e))?)
        }
        _ => None,
    };
    Ok(Me { account, person })
}

/// Rectifies the participant's own data or records their opt-outs; audited. A restriction
/// does not stop the person's own rectification, which is often why it was asked for.
pub fn update(conn: &mut Conn, actor: &Actor, patch: MePatch) -> AppResult<Person> {
    let (org, id) = actor.participant()?;
    let b = patch;
    let mut changes = persons::changes(persons::PersonPatch {
        first_name: b.first_name,
        last_name: b.last_name,
        mobile_phone: b.mobile_phone,
        landline_phone: b.landline_phone,
        job_title: b.job_title,
        address_line1: b.address_line1,
        address_line2: b.address_line2,
        postal_code: b.postal_code,
        city: b.city,
        country: b.country,
        preferred_language: b.preferred_language,
        optout_marketing_email: b.optout_marketing_email,
        optout_sms: b.optout_sms,
        optout_phone_prospecting: b.optout_phone_prospecting,
        ..Default::default()
    })?;
    let current = person_rows::get(conn, org, id).map_err(|e| AppError::from_db("person", e))?;
    persons::keep_what_holds(&mut changes, &current);
    // The person checked their own data just now.
    changes.last_verified_at = Some(Some(Utc::now()));
    let person = persons::apply(conn, org, current, &changes)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "person.update",
            subject_type: "person",
            subject_ids: vec![id.0],
            person_ids: vec![id.0],
            fields: changes.changed_fields(),
        },
    )?;
    Ok(person)
}

/// The participant's own registrations in their organization, newest first, with the events.
pub fn registrations(conn: &mut Conn, actor: &Actor) -> AppResult<Vec<(Registration, Event)>> {
    let (org, person) = actor.participant()?;
    let mut out = Vec::new();
    for r in registrations::of_person(conn, person)? {
        if r.organization_id != org {
            continue;
        }
        let ev = events::get(conn, org, r.event_id)?;
        out.push((r, ev));
    }
    Ok(out)
}
