//! Persons: the people an organization knows, scoped to that organization.

use super::{like_pattern, Page, Paged};
use crate::models::{NewPerson, Person, PersonChanges};
use crate::schema::{memberships, persons, user_accounts};
use crate::{Conn, DbResult};
use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use rdv_domain::{OrganizationId, PersonId};

#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// Matches first name, last name, email or company, case-insensitively.
    pub text: Option<String>,
    pub country: Option<String>,
    /// Lists persons under restriction of processing too; only their organization's admins
    /// see them.
    pub include_restricted: bool,
}

pub fn create(conn: &mut Conn, new: &NewPerson) -> DbResult<Person> {
    Ok(diesel::insert_into(persons::table)
        .values(new)
        .returning(Person::as_returning())
        .get_result(conn)?)
}

/// A person of `org` that has not been erased.
pub fn get(conn: &mut Conn, org: OrganizationId, id: PersonId) -> DbResult<Person> {
    Ok(persons::table
        .filter(persons::organization_id.eq(org))
        .filter(persons::id.eq(id))
        .filter(persons::erased_at.is_null())
        .select(Person::as_select())
        .first(conn)?)
}

pub fn find_by_email(
    conn: &mut Conn,
    org: OrganizationId,
    email: &str,
) -> DbResult<Option<Person>> {
    Ok(persons::table
        .filter(persons::organization_id.eq(org))
        .filter(persons::erased_at.is_null())
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(persons.email) = lower(")
                .bind::<diesel::sql_types::Text, _>(email)
                .sql(")"),
        )
        .select(Person::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(
    conn: &mut Conn,
    org: OrganizationId,
    filter: &PersonFilter,
    page: Page,
) -> DbResult<Paged<Person>> {
    let query = || {
        let mut q = persons::table
            .filter(persons::organization_id.eq(org))
            .filter(persons::erased_at.is_null())
            .into_boxed();
        if !filter.include_restricted {
            q = q.filter(persons::restricted_at.is_null());
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
        if let Some(country) = &filter.country {
            q = q.filter(persons::country.eq(country.clone()));
        }
        q
    };
    let total = query().select(count_star()).first(conn)?;
    let items = query()
        .order((persons::last_name, persons::first_name, persons::id))
        .limit(page.limit)
        .offset(page.offset)
        .select(Person::as_select())
        .load(conn)?;
    Ok(Paged { items, total })
}

pub fn update(
    conn: &mut Conn,
    org: OrganizationId,
    id: PersonId,
    changes: &PersonChanges,
) -> DbResult<Person> {
    Ok(diesel::update(
        persons::table
            .filter(persons::organization_id.eq(org))
            .filter(persons::id.eq(id))
            .filter(persons::erased_at.is_null()),
    )
    .set((changes, persons::updated_at.eq(Utc::now())))
    .returning(Person::as_returning())
    .get_result(conn)?)
}

/// Gives the login accounts of the person's participant memberships the person's email, so
/// that the person logs in with the address the organization holds. Returns the number of
/// accounts changed; another account holding that email is a conflict on
/// `user_accounts_email`.
pub fn set_login_email(conn: &mut Conn, person: PersonId, email: &str) -> DbResult<usize> {
    let accounts = memberships::table
        .filter(memberships::person_id.eq(person))
        .filter(memberships::role.eq(rdv_domain::Role::Participant.as_str()))
        .select(memberships::user_account_id);
    Ok(diesel::update(
        user_accounts::table
            .filter(user_accounts::id.eq_any(accounts))
            .filter(user_accounts::erased_at.is_null()),
    )
    .set((
        user_accounts::email.eq(email),
        user_accounts::updated_at.eq(Utc::now()),
    ))
    .execute(conn)?)
}

/// Of the persons `ids` of the organization, those an SMS can reach now: a mobile number, no
/// SMS opt-out, neither restricted nor erased. (The worker checks again when the SMS goes.)
pub fn reachable_by_sms(
    conn: &mut Conn,
    org: OrganizationId,
    ids: &[PersonId],
) -> DbResult<Vec<PersonId>> {
    Ok(persons::table
        .filter(persons::organization_id.eq(org))
        .filter(persons::id.eq_any(ids))
        .filter(persons::mobile_phone.is_not_null())
        .filter(persons::optout_sms_at.is_null())
        .filter(persons::restricted_at.is_null())
        .filter(persons::erased_at.is_null())
        .select(persons::id)
        .load(conn)?)
}

/// Persons of `org` whose data was last confirmed (never confirmed: recorded) before
/// `before`, neither erased nor restricted, the oldest first.
fn requalify_query(
    org: OrganizationId,
    before: DateTime<Utc>,
) -> persons::BoxedQuery<'static, diesel::pg::Pg> {
    persons::table
        .filter(persons::organization_id.eq(org))
        .filter(persons::erased_at.is_null())
        .filter(persons::restricted_at.is_null())
        .filter(
            persons::last_verified_at
                .lt(before)
                .or(persons::last_verified_at
                    .is_null()
                    .and(persons::created_at.lt(before))),
        )
        .into_boxed()
}

pub fn to_requalify(
    conn: &mut Conn,
    org: OrganizationId,
    before: DateTime<Utc>,
    page: Page,
) -> DbResult<Paged<Person>> {
    let total = requalify_query(org, before)
        .select(count_star())
        .first(conn)?;
    let items = requalify_query(org, before)
        .order((
            persons::last_verified_at.asc().nulls_first(),
            persons::created_at,
            persons::id,
        ))
        .limit(page.limit)
        .offset(page.offset)
        .select(Person::as_select())
        .load(conn)?;
    Ok(Paged { items, total })
}

pub fn to_requalify_ids(
    conn: &mut Conn,
    org: OrganizationId,
    before: DateTime<Utc>,
) -> DbResult<Vec<PersonId>> {
    Ok(requalify_query(org, before)
        .order(persons::id)
        .select(persons::id)
        .load(conn)?)
}

/// Keeps the person at least until `until` (the deadline of their latest registration): a
/// person is kept as long as their last event needs.
pub fn extend_retention(conn: &mut Conn, person: PersonId, until: DateTime<Utc>) -> DbResult<()> {
    diesel::update(
        persons::table
            .filter(persons::id.eq(person))
            .filter(persons::retention_until.lt(until)),
    )
    .set(persons::retention_until.eq(until))
    .execute(conn)?;
    Ok(())
}
