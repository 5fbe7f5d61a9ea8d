//! Organizations: the tenants. Only platform admins reach these queries.

use crate::models::{NewOrganization, Organization};
use crate::schema::organizations;
use crate::{Conn, DbResult};
use diesel::prelude::*;
use rdv_domain::OrganizationId;

pub fn create(conn: &mut Conn, slug: &str, name: &str) -> DbResult<Organization> {
    Ok(diesel::insert_into(organizations::table)
        .values(NewOrganization { slug, name })
        .returning(Organization::as_returning())
        .get_result(conn)?)
}

pub fn list(conn: &mut Conn) -> DbResult<Vec<Organization>> {
    Ok(organizations::table
        .order(organizations::id)
        .select(Organization::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut Conn, id: OrganizationId) -> DbResult<Organization> {
    Ok(organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)?)
}

pub fn find_by_slug(conn: &mut Conn, slug: &str) -> DbResult<Option<Organization>> {
    Ok(organizations::table
        .filter(organizations::slug.eq(slug))
        .select(Organization::as_select())
        .first(conn)
        .optional()?)
}
