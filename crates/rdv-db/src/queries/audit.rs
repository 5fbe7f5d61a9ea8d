//! The audit log: who read or changed whose personal data, and every bulk operation.

use super::{Page, Paged};
use crate::models::{AuditEntry, NewAuditEntry};
use crate::schema::audit_log;
use crate::{Conn, DbResult};
use diesel::dsl::count_star;
use diesel::prelude::*;
use rdv_domain::{OrganizationId, PersonId};

pub fn record(conn: &mut Conn, entry: &NewAuditEntry) -> DbResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)?;
    Ok(())
}

/// The entries of `organization` that concern `person`, newest first.
pub fn for_person(
    conn: &mut Conn,
    organization: OrganizationId,
    person: PersonId,
    page: Page,
) -> DbResult<Paged<AuditEntry>> {
    let filter = audit_log::organization_id
        .eq(organization)
        .and(audit_log::person_ids.contains(vec![person.0]));
    let total = audit_log::table
        .filter(filter.clone())
        .select(count_star())
        .first(conn)?;
    let items = audit_log::table
        .filter(filter)
        .order((audit_log::occurred_at.desc(), audit_log::id.desc()))
        .limit(page.limit)
        .offset(page.offset)
        .select(AuditEntry::as_select())
        .load(conn)?;
    Ok(Paged { items, total })
}
