//! Erasure of one person: every table of the registry handled in one transaction (the
//! caller's), in the registry's order: rows deleted, anonymised, or kept under a legal hold
//! with the reason. Updating the person feeds the search outbox, so every node's index drops
//! their documents and rewrites the segments that held them. An erased person stays erased:
//! a second erasure says so and changes nothing.

use super::Count;
use crate::{AppError, AppResult};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt};
use rdv_db::Conn;
use rdv_domain::{OrganizationId, PersonId};
use rdv_privacy::registry::{Erasure, REGISTRY};
use rdv_privacy::scan::Terms;
use serde::Serialize;

/// What an erasure did to one table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableOutcome {
    pub table: &'static str,
    /// `deleted`, `anonymised` or `held`.
    pub action: &'static str,
    pub rows: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_hold: Option<&'static str>,
}

/// What an erasure did, table by table.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReport {
    pub person_id: i64,
    pub already_erased: bool,
    pub tables: Vec<TableOutcome>,
}

/// What identifies a person, read before it is erased.
#[derive(Debug, Clone, QueryableByName)]
pub struct Identity {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub first_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub last_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub email: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub mobile_phone: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub landline_phone: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub preferred_language: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub erased_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Identity {
    /// The digests the completeness check looks for, under a fresh salt.
    pub fn terms(&self) -> Terms {
        use rand::Rng;
        let salt: String = rand::thread_rng()
            .sample_iter(&rand::distributions::Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        self.terms_with(&salt)
    }

    pub fn terms_with(&self, salt: &str) -> Terms {
        let phones: Vec<&str> = [&self.mobile_phone, &self.landline_phone]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        Terms::of_person(
            salt,
            &self.first_name,
            &self.last_name,
            &self.email,
            &phones,
        )
    }
}

/// The person `id` of `org`, erased or not.
pub fn identity(conn: &mut Conn, org: OrganizationId, id: PersonId) -> AppResult<Identity> {
    diesel::sql_query(
        "SELECT first_name, last_name, email, mobile_phone, landline_phone, preferred_language, \
         erased_at FROM persons WHERE id = $1 AND organization_id = $2",
    )
    .bind::<BigInt, _>(id.0)
    .bind::<BigInt, _>(org.0)
    .get_result(conn)
    .optional()
    .map_err(AppError::internal)?
    .ok_or_else(|| AppError::not_found("person"))
}

/// Erases person `id` of `org` in the caller's transaction.
pub fn erase(conn: &mut Conn, org: OrganizationId, id: PersonId) -> AppResult<ErasureReport> {
    let who = identity(conn, org, id)?;
    if who.erased_at.is_some() {
        return Ok(ErasureReport {
            person_id: id.0,
            already_erased: true,
            tables: Vec::new(),
        });
    }
    let tables = erase_many(conn, &[id])?;
    tracing::info!(person.id = %id, "person erased");
    Ok(ErasureReport {
        person_id: id.0,
        already_erased: false,
        tables,
    })
}

/// Erases the persons `ids` (of any organization: the caller chose them) in the caller's
/// transaction, each registry statement once for all of them; returns what each table did.
/// Persons erased already are left out by the caller.
pub fn erase_many(conn: &mut Conn, ids: &[PersonId]) -> AppResult<Vec<TableOutcome>> {
    let ids: Vec<i64> = ids.iter().map(|p| p.0).collect();
    let mut tables = Vec::new();
    for t in REGISTRY {
        let rows = match t.erase_sql() {
            Some(sql) => diesel::sql_query(sql)
                .bind::<Array<BigInt>, _>(&ids)
                .execute(conn)
                .map_err(|e| AppError::internal(format!("erasing {}: {e}", t.name)))?
                as i64,
            None => {
                diesel::sql_query(t.count_sql())
                    .bind::<Array<BigInt>, _>(&ids)
                    .get_result::<Count>(conn)
                    .map_err(|e| AppError::internal(format!("counting {}: {e}", t.name)))?
                    .n
            }
        };
        let (action, legal_hold) = match t.erasure {
            Erasure::Delete => ("deleted", None),
            Erasure::Anonymise(_) => ("anonymised", None),
            Erasure::Hold { reason, .. } => ("held", Some(reason)),
        };
        tables.push(TableOutcome {
            table: t.name,
            action,
            rows,
            legal_hold,
        });
    }
    // A closed organization's export that names an erased person is built again without them.
    let closed: Vec<OrgId> = diesel::sql_query(
        "UPDATE organizations o SET closure_archive = NULL WHERE o.closure_archive IS NOT NULL \
         AND o.id IN (SELECT p.organization_id FROM persons p WHERE p.id = ANY($1)) RETURNING o.id",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .load(conn)
    .map_err(AppError::internal)?;
    for o in closed {
        super::closure::enqueue_export(conn, OrganizationId(o.id))?;
    }
    Ok(tables)
}

#[derive(QueryableByName)]
struct OrgId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}
