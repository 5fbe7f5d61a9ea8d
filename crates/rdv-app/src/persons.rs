//! Persons of the actor's organization: list, create, read and rectify. Every read and change
//! writes an audit row in the caller's transaction; restricted persons are hidden from staff
//! and frozen for everyone; a person's new email follows to their login account.

use crate::actor::Actor;
use crate::audit::{self, Audit, PERSON_FIELDS};
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use crate::paging::{self, Listed};
use crate::restriction::{ensure_changeable, ensure_visible, sees_restricted};
use chrono::{DateTime, Utc};
use rdv_db::models::{NewPerson, Person, PersonChanges};
use rdv_db::queries::persons::{self, PersonFilter};
use rdv_db::{Conn, DbError};
use rdv_domain::{DataSource, LegalBasis, OrganizationId, PersonId, RetentionPolicy};

/// A new person, as typed: every field is checked by [`create`].
#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    /// `mr`, `mrs` or `mx`.
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
    /// ISO 639-1; `en` when absent.
    pub preferred_language: Option<String>,
    /// `legitimate_interest` when absent.
    pub legal_basis: Option<String>,
    /// `admin` when absent; never `system`.
    pub source: Option<String>,
}

/// A partial change: `None` leaves a field alone, `Some(None)` clears an optional one. An
/// opt-out set to `true` records the objection now, unless it is recorded already.
#[derive(Debug, Clone, Default)]
pub struct PersonPatch {
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
    pub optout_marketing_email: Option<bool>,
    pub optout_sms: Option<bool>,
    pub optout_phone_prospecting: Option<bool>,
}

/// A list request: text and country filters, and the page.
#[derive(Debug, Clone, Default)]
pub struct PersonQuery {
    /// Matches first name, last name, email or company.
    pub q: Option<String>,
    pub country: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// `mr`, `mrs` or `mx`; blank or absent for none (`format::CIVILITY_OR_BLANK`).
fn civility(check: &mut Check, v: Option<&str>) -> Option<String> {
    match v {
        Some(c) if !rdv_domain::format::CIVILITY_OR_BLANK.is_match(c) => {
            check.add("civility", "must be mr, mrs or mx");
            None
        }
        Some(c) if !c.trim().is_empty() => Some(c.to_owned()),
        _ => None,
    }
}

/// Checks a patch into column changes, naming every bad field at once.
pub(crate) fn changes(p: PersonPatch) -> AppResult<PersonChanges> {
    let mut c = Check::new();
    let now = Utc::now();
    let optout = |v: Option<bool>| v.map(|on| on.then_some(now));
    let changes = PersonChanges {
        civility: p.civility.map(|v| civility(&mut c, v.as_deref())),
        first_name: p
            .first_name
            .as_deref()
            .and_then(|v| c.text::<100>("first_name", v)),
        last_name: p
            .last_name
            .as_deref()
            .and_then(|v| c.text::<100>("last_name", v)),
        email: p.email.as_deref().and_then(|v| c.email("email", v)),
        mobile_phone: p
            .mobile_phone
            .map(|v| c.phone("mobile_phone", v.as_deref())),
        landline_phone: p
            .landline_phone
            .map(|v| c.phone("landline_phone", v.as_deref())),
        company: p
            .company
            .map(|v| c.opt_text::<200>("company", v.as_deref())),
        job_title: p
            .job_title
            .map(|v| c.opt_text::<200>("job_title", v.as_deref())),
        address_line1: p
            .address_line1
            .map(|v| c.opt_text::<200>("address_line1", v.as_deref())),
        address_line2: p
            .address_line2
            .map(|v| c.opt_text::<200>("address_line2", v.as_deref())),
        postal_code: p
            .postal_code
            .map(|v| c.opt_text::<20>("postal_code", v.as_deref())),
        city: p.city.map(|v| c.opt_text::<100>("city", v.as_deref())),
        country: p.country.map(|v| c.country("country", v.as_deref())),
        preferred_language: p
            .preferred_language
            .as_deref()
            .and_then(|v| c.language("preferred_language", v)),
        optout_marketing_email_at: optout(p.optout_marketing_email),
        optout_sms_at: optout(p.optout_sms),
        optout_phone_prospecting_at: optout(p.optout_phone_prospecting),
        last_verified_at: None,
    };
    // A patch naming no field changes nothing and answers the current state.
    c.finish()?;
    Ok(changes)
}

/// Drops what would not change the stored person: an opt-out already recorded keeps the date
/// the person first objected, and an unchanged email is not an email change.
pub(crate) fn keep_what_holds(changes: &mut PersonChanges, current: &Person) {
    fn keep(change: &mut Option<Option<DateTime<Utc>>>, current: Option<DateTime<Utc>>) {
        if matches!(change, Some(Some(_))) && current.is_some() {
            *change = None;
        }
    }
    keep(
        &mut changes.optout_marketing_email_at,
        current.optout_marketing_email_at,
    );
    keep(&mut changes.optout_sms_at, current.optout_sms_at);
    keep(
        &mut changes.optout_phone_prospecting_at,
        current.optout_phone_prospecting_at,
    );
    if changes.email.as_deref() == Some(current.email.as_str()) {
        changes.email = None;
    }
}

/// Writes checked changes to a person the caller may change, and carries a new email over to
/// the person's login account. Returns the person as stored.
pub(crate) fn apply(
    conn: &mut Conn,
    org: OrganizationId,
    current: Person,
    changes: &PersonChanges,
) -> AppResult<Person> {
    if changes.is_empty() {
        return Ok(current);
    }
    let person = persons::update(conn, org, current.id, changes).map_err(|e| match e {
        DbError::Conflict(_) => {
            AppError::conflict_on("email", "another person of the organization has this email")
        }
        other => AppError::from_db("person", other),
    })?;
    if let Some(email) = &changes.email {
        persons::set_login_email(conn, person.id, email).map_err(|e| match e {
            DbError::Conflict(_) => AppError::conflict_on(
                "email",
                "another login account has this email; the person's account keeps its email",
            ),
            other => other.into(),
        })?;
    }
    Ok(person)
}

fn audit_person(
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    id: PersonId,
    fields: Vec<&str>,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        Audit {
            action,
            subject_type: "person",
            subject_ids: vec![id.0],
            person_ids: vec![id.0],
            fields,
        },
    )
}

/// The persons of the actor's organization, by name; audited as a bulk read.
pub fn list(conn: &mut Conn, actor: &Actor, query: PersonQuery) -> AppResult<Listed<Person>> {
    let org = actor.organizer_org()?;
    let paging = paging::page(query.page, query.per_page)?;
    let mut check = Check::new();
    let filter = PersonFilter {
        text: check.opt_text::<200>("q", query.q.as_deref()),
        country: check.country("country", query.country.as_deref()),
        include_restricted: sees_restricted(actor),
    };
    check.finish()?;
    let found = persons::list(conn, org, &filter, paging.page)?;
    let ids: Vec<i64> = found.items.iter().map(|p| p.id.0).collect();
    if !ids.is_empty() {
        audit::record(
            conn,
            actor,
            Audit {
                action: "person.list",
                subject_type: "person",
                subject_ids: ids.clone(),
                person_ids: ids,
                // The list shows whole persons.
                fields: PERSON_FIELDS.to_vec(),
            },
        )?;
    }
    Ok(Listed::new(found, paging))
}

/// Creates a person in the actor's organization, with the legal basis given (legitimate
/// interest by default) and the event-data retention deadline.
/// A new person of `org` from `b`, each bad field recorded in `c` (the caller finishes it).
pub(crate) fn checked_new(c: &mut Check, org: OrganizationId, b: &PersonInput) -> NewPerson {
    let source = c.word::<DataSource>("source", b.source.as_deref().unwrap_or("admin"));
    if source == Some(DataSource::System) {
        c.add("source", "must be admin, import, prospect or registration");
    }
    let new = NewPerson {
        organization_id: org,
        civility: civility(c, b.civility.as_deref()),
        first_name: c
            .text::<100>("first_name", &b.first_name)
            .unwrap_or_default(),
        last_name: c.text::<100>("last_name", &b.last_name).unwrap_or_default(),
        email: c.email("email", &b.email).unwrap_or_default(),
        mobile_phone: c.phone("mobile_phone", b.mobile_phone.as_deref()),
        landline_phone: c.phone("landline_phone", b.landline_phone.as_deref()),
        company: c.opt_text::<200>("company", b.company.as_deref()),
        job_title: c.opt_text::<200>("job_title", b.job_title.as_deref()),
        address_line1: c.opt_text::<200>("address_line1", b.address_line1.as_deref()),
        address_line2: c.opt_text::<200>("address_line2", b.address_line2.as_deref()),
        postal_code: c.opt_text::<20>("postal_code", b.postal_code.as_deref()),
        city: c.opt_text::<100>("city", b.city.as_deref()),
        country: c.country("country", b.country.as_deref()),
        preferred_language: c
            .language(
                "preferred_language",
                b.preferred_language.as_deref().unwrap_or("en"),
            )
            .unwrap_or_default(),
        legal_basis: c
            .word::<LegalBasis>(
                "legal_basis",
                b.legal_basis.as_deref().unwrap_or("legitimate_interest"),
            )
            // A bad word is reported by `finish` below; the placeholder is never stored.
            .unwrap_or(LegalBasis::LegitimateInterest),
        retention_until: RetentionPolicy::EventData.deadline(Utc::now()),
        source: source.unwrap_or(DataSource::Admin),
    };
    new
}

pub fn create(conn: &mut Conn, actor: &Actor, input: PersonInput) -> AppResult<Person> {
    let org = actor.organizer_org()?;
    let mut c = Check::new();
    let new = checked_new(&mut c, org, &input);
    c.finish()?;
    let person = persons::create(conn, &new).map_err(|e| match e {
        DbError::Conflict(_) => {
            AppError::conflict_on("email", "another person of the organization has this email")
        }
        other => other.into(),
    })?;
    audit_person(
        conn,
        actor,
        "person.create",
        person.id,
        PERSON_FIELDS.to_vec(),
    )?;
    Ok(person)
}

/// One person, with privacy state and opt-outs; audited.
pub fn get(conn: &mut Conn, actor: &Actor, id: PersonId) -> AppResult<Person> {
    let org = actor.organizer_org()?;
    let person = persons::get(conn, org, id).map_err(|e| AppError::from_db("person", e))?;
    ensure_visible(actor, person.privacy.restricted_at, "person")?;
    audit_person(conn, actor, "person.read", id, PERSON_FIELDS.to_vec())?;
    Ok(person)
}

/// Rectifies a person's data or records their opt-outs; audited with the changed fields.
pub fn update(
    conn: &mut Conn,
    actor: &Actor,
    id: PersonId,
    patch: PersonPatch,
) -> AppResult<Person> {
    let org = actor.organizer_org()?;
    let mut changes = changes(patch)?;
    let current = persons::get(conn, org, id).map_err(|e| AppError::from_db("person", e))?;
    ensure_visible(actor, current.privacy.restricted_at, "person")?;
    ensure_changeable(current.privacy.restricted_at, "person")?;
    keep_what_holds(&mut changes, &current);
    let person = apply(conn, org, current, &changes)?;
    audit_person(conn, actor, "person.update", id, changes.changed_fields())?;
    Ok(person)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Person {
        let now = Utc::now();
        Person {
            id: PersonId(1),
            organization_id: OrganizationId(1),
            civility: None,
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "ada@example.com".into(),
            mobile_phone: None,
            landline_phone: None,
            company: None,
            job_title: None,
            address_line1: None,
            address_line2: None,
            postal_code: None,
            city: None,
            country: None,
            preferred_language: "en".into(),
            optout_marketing_email_at: None,
            optout_sms_at: None,
            optout_phone_prospecting_at: None,
            privacy: rdv_db::models::Privacy {
                legal_basis: LegalBasis::Contract,
                retention_until: now,
                restricted_at: None,
                erased_at: None,
                source: DataSource::Admin,
                last_verified_at: None,
                table: std::marker::PhantomData,
            },
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn an_opt_out_set_again_keeps_the_date_of_the_objection() {
        let objected = Utc::now() - chrono::Duration::days(30);
        let current = Person {
            optout_sms_at: Some(objected),
            ..person()
        };
        let mut c = changes(PersonPatch {
            optout_sms: Some(true),
            optout_marketing_email: Some(true),
            ..Default::default()
        })
        .unwrap();
        keep_what_holds(&mut c, &current);
        assert_eq!(
            c.optout_sms_at, None,
            "the recorded objection is left alone"
        );
        assert!(matches!(c.optout_marketing_email_at, Some(Some(_))));
        // Withdrawing still clears it.
        let mut c = changes(PersonPatch {
            optout_sms: Some(false),
            ..Default::default()
        })
        .unwrap();
        keep_what_holds(&mut c, &current);
        assert_eq!(c.optout_sms_at, Some(None));
    }

    #[test]
    fn names_with_bidi_overrides_or_line_breaks_are_refused() {
        let e = changes(PersonPatch {
            first_name: Some("Eve\u{202E}nimdA".into()),
            last_name: Some("Line\nBreak".into()),
            ..Default::default()
        })
        .unwrap_err();
        match e {
            AppError::Invalid { fields, .. } => {
                assert!(fields.contains_key("first_name"), "{fields:?}");
                assert!(fields.contains_key("last_name"), "{fields:?}");
            }
            other => panic!("expected invalid fields, got {other:?}"),
        }
    }
}
