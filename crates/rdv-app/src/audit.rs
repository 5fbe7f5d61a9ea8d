//! Audit rows for reads and changes of personal data, for logins and account changes, written
//! in the same transaction as what they record: if the audit row cannot be written, nothing is
//! shown and nothing changes.

use crate::actor::Actor;
use crate::error::{AppError, AppResult};
use crate::paging::{self, Listed};
use rdv_db::models::{AuditEntry, NewAuditEntry};
use rdv_db::Conn;
use rdv_domain::{OrganizationId, PersonId, UserAccountId};

pub struct Audit<'a> {
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_ids: Vec<i64>,
    pub person_ids: Vec<i64>,
    pub fields: Vec<&'a str>,
}

/// The distinct ids of `persons`, sorted, as an audit row lists them.
pub fn person_ids(persons: impl IntoIterator<Item = PersonId>) -> Vec<i64> {
    let mut ids: Vec<i64> = persons.into_iter().map(|p| p.0).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Records what `actor` did.
pub fn record(conn: &mut Conn, actor: &Actor, entry: Audit<'_>) -> Result<(), AppError> {
    record_as(
        conn,
        actor.organization,
        Some(actor.user),
        actor.client_address.clone(),
        entry,
    )
}

/// Records an action whose actor is not (yet) an authenticated session, such as a login.
pub fn record_as(
    conn: &mut Conn,
    organization: Option<OrganizationId>,
    user: Option<UserAccountId>,
    client_address: Option<String>,
    entry: Audit<'_>,
) -> Result<(), AppError> {
    rdv_db::queries::audit::record(
        conn,
        &NewAuditEntry {
            organization_id: organization,
            actor_user_id: user,
            action: entry.action.to_owned(),
            subject_type: entry.subject_type.to_owned(),
            subject_ids: entry.subject_ids,
            person_ids: entry.person_ids,
            field_names: entry.fields.into_iter().map(str::to_owned).collect(),
            client_address,
        },
    )?;
    Ok(())
}

/// The personal fields of a person, as named in audit rows of full reads.
pub const PERSON_FIELDS: &[&str] = &[
    "civility",
    "first_name",
    "last_name",
    "email",
    "mobile_phone",
    "landline_phone",
    "company",
    "job_title",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "preferred_language",
];

/// The entries of the actor's organization that concern a person, newest first: for the
/// organization's admins, who answer the person's access requests.
pub fn for_person(
    conn: &mut Conn,
    actor: &Actor,
    person: PersonId,
    page: Option<u32>,
    per_page: Option<u32>,
) -> AppResult<Listed<AuditEntry>> {
    let org = actor.admin_org()?;
    let paging = paging::page(page, per_page)?;
    let found = rdv_db::queries::audit::for_person(conn, org, person, paging.page)?;
    Ok(Listed::new(found, paging))
}
