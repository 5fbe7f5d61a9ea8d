//! Registrations: a person taking part in an event, with the profile others search.

use super::{like_pattern, Page, Paged};
use crate::models::{NewRegistration, Person, Registration, RegistrationChanges};
use crate::schema::{persons, registrations};
use crate::{Conn, DbResult};
use chrono::Utc;
use diesel::dsl::count_star;
use diesel::prelude::*;
use rdv_domain::{EventId, OrganizationId, PersonId, RegistrationId};

#[derive(Debug, Clone, Default)]
pub struct RegistrationFilter {
    pub status: Option<String>,
    pub participant_type: Option<String>,
    /// Matches the person's name, email or company, case-insensitively.
    pub text: Option<String>,
    /// Lists registrations under restriction (theirs or their person's) too; only their
    /// organization's admins see them.
    pub include_restricted: bool,
}

pub fn create(conn: &mut Conn, new: &NewRegistration) -> DbResult<Registration> {
    Ok(diesel::insert_into(registrations::table)
        .values(new)
        .returning(Registration::as_returning())
        .get_result(conn)?)
}

/// A registration of `org` and its person, neither erased; restricted ones included.
pub fn get(
    conn: &mut Conn,
    org: OrganizationId,
    id: RegistrationId,
) -> DbResult<(Registration, Person)> {
    Ok(registrations::table
        .inner_join(persons::table)
        .filter(registrations::organization_id.eq(org))
        .filter(registrations::id.eq(id))
        .filter(registrations::erased_at.is_null())
        .filter(persons::erased_at.is_null())
        .select((Registration::as_select(), Person::as_select()))
        .first(conn)?)
}

pub fn list(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
    filter: &RegistrationFilter,
    page: Page,
) -> DbResult<Paged<(Registration, Person)>> {
    let query = || {
        let mut q = registrations::table
            .inner_join(persons::table)
            .filter(registrations::organization_id.eq(org))
            .filter(registrations::event_id.eq(event))
            .filter(registrations::erased_at.is_null())
            .filter(persons::erased_at.is_null())
            .into_boxed();
        if !filter.include_restricted {
            q = q
                .filter(registrations::restricted_at.is_null())
                .filter(persons::restricted_at.is_null());
        }
        if let Some(status) = &filter.status {
            q = q.filter(registrations::status.eq(status.clone()));
        }
        if let Some(kind) = &filter.participant_type {
            q = q.filter(registrations::participant_type.eq(kind.clone()));
        }
        if let Some(text) = &filter.text {
            let p = like_pattern(text);
            q = q.filter(
                persons::first_name
                    .ilike(p.clone())
                    .or(persons::last_name.ilike(p.clone()))
                    .or(persons::email.ilike(p.clone()))
                    .or(persons::company.ilike(p).assume_not_null()),
            );
        }
        q
    };
    let total = query().select(count_star()).first(conn)?;
    let items = query()
        .order((persons::last_name, persons::first_name, registrations::id))
        .limit(page.limit)
        .offset(page.offset)
        .select((Registration::as_select(), Person::as_select()))
        .load(conn)?;
    Ok(Paged { items, total })
}

pub fn update(
    conn: &mut Conn,
    org: OrganizationId,
    id: RegistrationId,
    changes: &RegistrationChanges,
) -> DbResult<Registration> {
    Ok(diesel::update(
        registrations::table
            .filter(registrations::organization_id.eq(org))
            .filter(registrations::id.eq(id))
            .filter(registrations::erased_at.is_null()),
    )
    .set((changes, registrations::updated_at.eq(Utc::now())))
    .returning(Registration::as_returning())
    .get_result(conn)?)
}

/// The registrations of one person, newest event first.
pub fn of_person(conn: &mut Conn, person: PersonId) -> DbResult<Vec<Registration>> {
    Ok(registrations::table
        .filter(registrations::person_id.eq(person))
        .filter(registrations::erased_at.is_null())
        .order(registrations::id.desc())
        .select(Registration::as_select())
        .load(conn)?)
}

/// The persons behind registrations of `org`, for audit rows of bulk reads.
pub fn person_ids(
    conn: &mut Conn,
    org: OrganizationId,
    ids: &[RegistrationId],
) -> DbResult<Vec<i64>> {
    Ok(registrations::table
        .filter(registrations::organization_id.eq(org))
        .filter(registrations::id.eq_any(ids))
        .select(registrations::person_id)
        .load::<PersonId>(conn)?
        .into_iter()
        .map(|p| p.0)
        .collect())
}

/// The validated registrations of an event.
pub fn validated_ids(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
) -> DbResult<Vec<RegistrationId>> {
    Ok(registrations::table
        .filter(registrations::organization_id.eq(org))
        .filter(registrations::event_id.eq(event))
        .filter(registrations::status.eq(rdv_domain::RegistrationStatus::Validated))
        .filter(registrations::erased_at.is_null())
        .order(registrations::id)
        .select(registrations::id)
        .load(conn)?)
}
