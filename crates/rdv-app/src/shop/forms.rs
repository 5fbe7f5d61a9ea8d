//! Registration forms: the organizers write a version per event and participant type; people
//! register through the latest one. A submission is checked against its form (every bad answer
//! named), then creates or updates the person and the registration, records each consent with
//! its text's version, and keeps the answers under the version they were given in: all in the
//! caller's one transaction.

use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use crate::paging::{self, Listed};
use crate::persons::PersonInput;
use chrono::Utc;
use diesel::RunQueryDsl;
use rdv_db::models::{
    ConsentText, NewRegistration, NewRegistrationAnswers, NewRegistrationForm, Person,
    RegistrationAnswers, RegistrationChanges, RegistrationForm,
};
use rdv_db::queries::{events, persons, registrations, shop};
use rdv_db::{Conn, DbError};
use rdv_domain::{
    DataSource, EventId, FormId, LegalBasis, ParticipantType, PersonId, RegistrationId,
    RegistrationStatus, RetentionPolicy, Role,
};
use rdv_notify::Kind;
use rdv_shop::form::{self, FormDefinition, StandardField, Submission};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fn invalid(prefix: &str, problems: Vec<(String, String)>) -> AppError {
    let fields: BTreeMap<String, String> = problems
        .into_iter()
        .map(|(k, v)| {
            (
                if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                },
                v,
            )
        })
        .collect();
    AppError::Invalid {
        message: "the request has invalid fields".into(),
        fields,
    }
}

fn participant_type(t: &str) -> AppResult<ParticipantType> {
    t.parse::<ParticipantType>()
        .map_err(|e| AppError::field("participant_type", e.to_string()))
}

/// Writes a new version of the event's form for a participant type (organization admins).
/// Registrations already made keep the version they were given under. A consent text keeps
/// its version for ever: changing the words needs a new version.
pub fn put(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    ptype: &str,
    definition: Value,
) -> AppResult<RegistrationForm> {
    let org = actor.admin_org()?;
    let ptype = participant_type(ptype)?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let def: FormDefinition = serde_json::from_value(definition)
        .map_err(|e| AppError::field("definition", e.to_string()))?;
    def.check().map_err(|p| invalid("definition", p))?;
    for (i, f) in def.fields.iter().enumerate() {
        if let form::FieldKind::Consent {
            purpose,
            text_fr,
            text_en,
            version,
        } = &f.kind
        {
            shop::record_consent_text(
                conn,
                &ConsentText {
                    id: 0,
                    organization_id: org,
                    purpose: purpose.clone(),
                    version: version.clone(),
                    text_fr: text_fr.clone(),
                    text_en: text_en.clone(),
                },
            )
            .map_err(|e| match e {
                DbError::Conflict(_) => AppError::field(
                    format!("definition.fields[{i}].kind.version"),
                    "this version of the consent text was published with other words: give the new words a new version",
                ),
                other => other.into(),
            })?;
        }
    }
    // Concurrent writers of the same form take their turn: versions stay 1, 2, 3...
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind::<diesel::sql_types::Integer, _>((event.0 % i32::MAX as i64) as i32)
        .bind::<diesel::sql_types::Text, _>(format!("form:{ptype}"))
        .execute(conn)
        .map_err(AppError::internal)?;
    let version = match shop::latest_form(conn, event, ptype) {
        Ok(f) => f.version + 1,
        Err(DbError::NotFound) => 1,
        Err(e) => return Err(e.into()),
    };
    let form = shop::insert_form(
        conn,
        &NewRegistrationForm {
            organization_id: org,
            event_id: event,
            participant_type: ptype,
            version,
            definition: serde_json::to_value(&def).map_err(AppError::internal)?,
            created_by: Some(actor.user),
        },
    )?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "form.publish",
            subject_type: "registration_form",
            subject_ids: vec![form.id.0],
            person_ids: vec![],
            fields: vec![],
        },
    )?;
    Ok(form)
}

/// The form people register through: the latest version. Organizers see their events' forms;
/// anyone else sees those of open events.
pub fn current(
    conn: &mut Conn,
    actor: Option<&Actor>,
    event: EventId,
    ptype: &str,
) -> AppResult<RegistrationForm> {
    let ptype = participant_type(ptype)?;
    match actor.filter(|a| a.role.is_organizer()) {
        Some(a) => {
            let org = a.organizer_org()?;
            events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
        }
        None => {
            events::get_public(conn, event).map_err(|e| AppError::from_db("event", e))?;
        }
    }
    shop::latest_form(conn, event, ptype).map_err(|e| AppError::from_db("registration form", e))
}

/// Every version of every form of the event (organizers), newest first per type.
pub fn versions(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
) -> AppResult<Vec<RegistrationForm>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    Ok(shop::forms_of_event(conn, event)?)
}

/// What a submission did.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub person_id: PersonId,
    pub registration_id: RegistrationId,
    pub form_id: FormId,
    pub form_version: i32,
    /// A new registration (false: the person's registration was updated).
    pub created: bool,
}

fn text(s: &Submission, f: StandardField) -> Option<String> {
    s.standard
        .get(&f)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn list(s: &Submission, f: StandardField) -> Option<Vec<String>> {
    s.standard.get(&f).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// Registers a person through the event's current form. Who submits decides whose data it is:
/// - an organizer registers anyone: a person of the organization with this email is updated,
///   otherwise created;
/// - a signed-in participant registers or updates themselves (the email must be theirs);
/// - anyone else registers someone new (an email the organization knows is a conflict: that
///   person signs in, so nobody changes another's data by knowing their email).
pub fn submit(
    conn: &mut Conn,
    actor: Option<&Actor>,
    client_address: Option<String>,
    event: EventId,
    ptype: &str,
    answers: Map<String, Value>,
) -> AppResult<Submitted> {
    let ptype = participant_type(ptype)?;
    let organizer = actor.filter(|a| a.role.is_organizer());
    let ev = match organizer {
        Some(a) => events::get(conn, a.organizer_org()?, event),
        None => events::get_public(conn, event),
    }
    .map_err(|e| AppError::from_db("event", e))?;
    let org = ev.organization_id;
    if let Some(a) = actor {
        if a.organization != Some(org) {
            return Err(AppError::not_found("event"));
        }
    }
    let form_row = shop::latest_form(conn, event, ptype)
        .map_err(|e| AppError::from_db("registration form", e))?;
    let def: FormDefinition =
        serde_json::from_value(form_row.definition.clone()).map_err(AppError::internal)?;
    let today = Utc::now().date_naive();
    let sub = form::validate(&def, &answers, today).map_err(|p| invalid("", p))?;

    let person_input = PersonInput {
        civility: text(&sub, StandardField::Civility),
        first_name: text(&sub, StandardField::FirstName).unwrap_or_default(),
        last_name: text(&sub, StandardField::LastName).unwrap_or_default(),
        email: text(&sub, StandardField::Email).unwrap_or_default(),
        mobile_phone: text(&sub, StandardField::MobilePhone),
        landline_phone: text(&sub, StandardField::LandlinePhone),
        company: text(&sub, StandardField::Company),
        job_title: text(&sub, StandardField::JobTitle),
        address_line1: text(&sub, StandardField::AddressLine1),
        address_line2: text(&sub, StandardField::AddressLine2),
        postal_code: text(&sub, StandardField::PostalCode),
        city: text(&sub, StandardField::City),
        country: text(&sub, StandardField::Country),
        preferred_language: text(&sub, StandardField::PreferredLanguage),
        legal_basis: Some("contract".into()),
        source: Some("registration".into()),
    };
    let mut c = Check::new();
    let new_person = crate::persons::checked_new(&mut c, org, &person_input);
    let company_description = c.opt_multiline::<5000>(
        "company_description",
        text(&sub, StandardField::CompanyDescription).as_deref(),
    );
    let offers = c.opt_multiline::<5000>("offers", text(&sub, StandardField::Offers).as_deref());
    let needs = c.opt_multiline::<5000>("needs", text(&sub, StandardField::Needs).as_deref());
    let sectors =
        list(&sub, StandardField::Sectors).map(|v| crate::registrations::sectors(&mut c, v));
    let languages =
        list(&sub, StandardField::Languages).map(|v| crate::registrations::languages(&mut c, v));
    let stand = c.opt_text::<50>("stand", text(&sub, StandardField::Stand).as_deref());
    c.finish()?;

    // The person: found by email, or created.
    let known = persons::find_by_email(conn, org, &new_person.email)?;
    let person: Person = match (actor.map(|a| a.role), known) {
        (Some(Role::Participant), known) => {
            let (_, own) = actor.ok_or_else(|| AppError::internal("actor"))?.participant()?;
            if known.as_ref().map(|p| p.id) != Some(own) {
                return Err(AppError::field("email", "must be the email of your own account"));
            }
            let patch = crate::me::MePatch {
                first_name: Some(new_person.first_name.clone()),
                last_name: Some(new_person.last_name.clone()),
                mobile_phone: sub.standard.contains_key(&StandardField::MobilePhone).then(|| new_person.mobile_phone.clone()),
                landline_phone: sub.standard.contains_key(&StandardField::LandlinePhone).then(|| new_person.landline_phone.clone()),
                job_title: sub.standard.contains_key(&StandardField::JobTitle).then(|| new_person.job_title.clone()),
                address_line1: sub.standard.contains_key(&StandardField::AddressLine1).then(|| new_person.address_line1.clone()),
                address_line2: sub.standard.contains_key(&StandardField::AddressLine2).then(|| new_person.address_line2.clone()),
                postal_code: sub.standard.contains_key(&StandardField::PostalCode).then(|| new_person.postal_code.clone()),
                city: sub.standard.contains_key(&StandardField::City).then(|| new_person.city.clone()),
                country: sub.standard.contains_key(&StandardField::Country).then(|| new_person.country.clone()),
                preferred_language: None,
                optout_marketing_email: None,
                optout_sms: None,
                optout_phone_prospecting: None,
            };
            crate::me::update(conn, actor.ok_or_else(|| AppError::internal("actor"))?, patch)?
        }
        (Some(_), Some(p)) => {
            let a = organizer.ok_or_else(|| AppError::forbidden("this form is for participants and organizers"))?;
            let keep = |f: StandardField, v: &Option<String>| {
                sub.standard.contains_key(&f).then(|| v.clone())
            };
            let patch = crate::persons::PersonPatch {
                civility: keep(StandardField::Civility, &new_person.civility),
                first_name: Some(new_person.first_name.clone()),
                last_name: Some(new_person.last_name.clone()),
                email: None,
                mobile_phone: keep(StandardField::MobilePhone, &new_person.mobile_phone),
                landline_phone: keep(StandardField::LandlinePhone, &new_person.landline_phone),
                company: keep(StandardField::Company, &new_person.company),
                job_title: keep(StandardField::JobTitle, &new_person.job_title),
                address_line1: keep(StandardField::AddressLine1, &new_person.address_line1),
                address_line2: keep(StandardField::AddressLine2, &new_person.address_line2),
                postal_code: keep(StandardField::PostalCode, &new_person.postal_code),
                city: keep(StandardField::City, &new_person.city),
                country: keep(StandardField::Country, &new_person.country),
                preferred_language: sub
                    .standard
                    .contains_key(&StandardField::PreferredLanguage)
                    .then(|| new_person.preferred_language.clone()),
                optout_marketing_email: None,
                optout_sms: None,
                optout_phone_prospecting: None,
            };
            crate::persons::update(conn, a, p.id, patch)?
        }
        (Some(_), None) => {
            let a = organizer.ok_or_else(|| AppError::forbidden("this form is for participants and organizers"))?;
            crate::persons::create(conn, a, person_input)?
        }
        (None, Some(_)) => {
            return Err(AppError::conflict_on(
                "email",
                "this email is already known to the organizers: sign in to register or update your registration",
            ))
        }
        (None, None) => {
            let p = persons::create(conn, &new_person).map_err(|e| match e {
                DbError::Conflict(_) => AppError::conflict_on(
                    "email",
                    "this email is already known to the organizers: sign in to register or update your registration",
                ),
                other => other.into(),
            })?;
            audit::record_as(
                conn,
                Some(org),
                None,
                client_address.clone(),
                Audit {
                    action: "person.create",
                    subject_type: "person",
                    subject_ids: vec![p.id.0],
                    person_ids: vec![p.id.0],
                    fields: crate::audit::PERSON_FIELDS.to_vec(),
                },
            )?;
            p
        }
    };

    // The registration: the person's for this event, or a new one (pending: the organizers
    // validate it).
    let retention = RetentionPolicy::EventData.deadline(
        ev.ends_on
            .and_hms_opt(23, 59, 59)
            .map(|d| d.and_utc())
            .unwrap_or_else(Utc::now),
    );
    let existing = registrations::of_person(conn, person.id)?
        .into_iter()
        .find(|r| r.event_id == event && r.privacy.erased_at.is_none());
    let (registration, created) = match existing {
        Some(r) => {
            if r.privacy.restricted_at.is_some() {
                return Err(AppError::conflict(
                    "this registration's processing is restricted: it cannot be changed until the restriction is lifted",
                ));
            }
            if r.participant_type != ptype {
                return Err(AppError::conflict(format!(
                    "the person is registered as {}: submit that form, or ask the organizers to change the type",
                    r.participant_type
                )));
            }
            let changes = RegistrationChanges {
                participant_type: None,
                status: None,
                status_reason: None,
                company_description: sub
                    .standard
                    .contains_key(&StandardField::CompanyDescription)
                    .then(|| company_description.clone()),
                offers: sub
                    .standard
                    .contains_key(&StandardField::Offers)
                    .then(|| offers.clone()),
                needs: sub
                    .standard
                    .contains_key(&StandardField::Needs)
                    .then(|| needs.clone()),
                sectors: sectors.clone(),
                languages: languages.clone(),
                profile_visible: None,
                meeting_quota: None,
                stand: sub
                    .standard
                    .contains_key(&StandardField::Stand)
                    .then(|| stand.clone()),
            };
            let r = if changes.is_empty() {
                r
            } else {
                registrations::update(conn, org, r.id, &changes)?
            };
            (r, false)
        }
        None => {
            if person.privacy.restricted_at.is_some() {
                return Err(AppError::conflict(
                    "this person's processing is restricted: they cannot be registered until the restriction is lifted",
                ));
            }
            let r = registrations::create(
                conn,
                &NewRegistration {
                    organization_id: org,
                    event_id: event,
                    person_id: person.id,
                    participant_type: ptype,
                    status: RegistrationStatus::Pending,
                    company_description,
                    offers,
                    needs,
                    sectors: sectors.unwrap_or_default(),
                    languages: languages.unwrap_or_default(),
                    profile_visible: true,
                    meeting_quota: None,
                    stand,
                    legal_basis: LegalBasis::Contract,
                    retention_until: retention,
                    source: DataSource::Registration,
                },
            )?;
            persons::extend_retention(conn, person.id, retention)?;
            crate::notify::enqueue_email(
                conn,
                crate::notify::Email {
                    organization: org,
                    event: Some(event),
                    person: person.id,
                    kind: Kind::RegistrationReceived,
                    data: serde_json::json!({}),
                    key: format!("{}:{}:form", Kind::RegistrationReceived.as_str(), r.id),
                },
            )?;
            (r, true)
        }
    };

    // Each consent shown, given or refused, with its text's version.
    let consent_retention = RetentionPolicy::ContractualProof.deadline(Utc::now());
    for consent in &sub.consents {
        shop::record_consent(
            conn,
            org,
            person.id,
            &consent.purpose,
            &consent.version,
            consent.granted,
            client_address.as_deref(),
            consent_retention,
        )?;
    }
    let stored = shop::upsert_answers(
        conn,
        &NewRegistrationAnswers {
            organization_id: org,
            event_id: event,
            registration_id: registration.id,
            person_id: person.id,
            form_id: form_row.id,
            answers: serde_json::to_value(&sub.answers).map_err(AppError::internal)?,
            submitted_at: Utc::now(),
            legal_basis: LegalBasis::Contract,
            retention_until: retention,
            source: DataSource::Registration,
        },
    )?;
    let entry = Audit {
        action: "registration.submit",
        subject_type: "registration",
        subject_ids: vec![registration.id.0],
        person_ids: vec![person.id.0],
        fields: vec!["answers"],
    };
    match actor {
        Some(a) => audit::record(conn, a, entry)?,
        None => audit::record_as(conn, Some(org), None, client_address, entry)?,
    }
    Ok(Submitted {
        person_id: person.id,
        registration_id: registration.id,
        form_id: stored.form_id,
        form_version: form_row.version,
        created,
    })
}

/// The answers given to the event's forms, with the person (organizers); a bulk read,
/// audited.
pub fn answers(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    page: Option<u32>,
    per_page: Option<u32>,
) -> AppResult<Listed<(RegistrationAnswers, Person)>> {
    let org = actor.organizer_org()?;
    let paging = paging::page(page, per_page)?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let found = shop::answers_of_event(
        conn,
        org,
        event,
        crate::restriction::sees_restricted(actor),
        paging.page,
    )?;
    if !found.items.is_empty() {
        audit::record(
            conn,
            actor,
            Audit {
                action: "registration.answers",
                subject_type: "registration",
                subject_ids: found
                    .items
                    .iter()
                    .map(|(a, _)| a.registration_id.0)
                    .collect(),
                person_ids: audit::person_ids(found.items.iter().map(|(_, p)| p.id)),
                fields: vec!["answers", "first_name", "last_name", "email"],
            },
        )?;
    }
    Ok(Listed::new(found, paging))
}

/// Every answer of the event as CSV (organizers): one row per registration, the person's name
/// and email, the form version, then one column per question of any version. Cells that a
/// spreadsheet would run as formulas are neutralised. Audited as a bulk read.
pub fn answers_csv(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Vec<u8>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let forms = shop::forms_of_event(conn, event)?;
    let mut rows = Vec::new();
    let mut offset = 0;
    loop {
        let page = shop::answers_of_event(
            conn,
            org,
            event,
            crate::restriction::sees_restricted(actor),
            rdv_db::queries::Page {
                limit: 1000,
                offset,
            },
        )?;
        let n = page.items.len() as i64;
        rows.extend(page.items);
        offset += n;
        if n < 1000 {
            break;
        }
    }
    let mut keys: Vec<String> = Vec::new();
    for (a, _) in &rows {
        if let Value::Object(o) = &a.answers {
            for k in o.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
    }
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let mut header: Vec<String> = [
        "person_id",
        "first_name",
        "last_name",
        "email",
        "participant_type",
        "form_version",
        "submitted_at",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(keys.iter().cloned());
    w.write_record(&header).map_err(AppError::internal)?;
    for (a, p) in &rows {
        let form = forms.iter().find(|f| f.id == a.form_id);
        let mut record = vec![
            p.id.0.to_string(),
            rdv_shop::money::neutralise_formula(&p.first_name).into_owned(),
            rdv_shop::money::neutralise_formula(&p.last_name).into_owned(),
            rdv_shop::money::neutralise_formula(&p.email).into_owned(),
            form.map(|f| f.participant_type.as_str().to_owned())
                .unwrap_or_default(),
            form.map(|f| f.version.to_string()).unwrap_or_default(),
            a.submitted_at.to_rfc3339(),
        ];
        for k in &keys {
            let cell = match a.answers.get(k) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(other) => other.to_string(),
            };
            record.push(rdv_shop::money::neutralise_formula(&cell).into_owned());
        }
        w.write_record(&record).map_err(AppError::internal)?;
    }
    audit::record(
        conn,
        actor,
        Audit {
            action: "registration.answers_export",
            subject_type: "registration",
            subject_ids: rows.iter().map(|(a, _)| a.registration_id.0).collect(),
            person_ids: audit::person_ids(rows.iter().map(|(_, p)| p.id)),
            fields: vec!["answers", "first_name", "last_name", "email"],
        },
    )?;
    w.into_inner().map_err(AppError::internal)
}
