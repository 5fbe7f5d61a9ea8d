//! Audit rows for reads and changes of personal data by staff, written in the same
//! transaction as the read or the change: if the audit row cannot be written, nothing is shown.

use crate::auth::Caller;
use crate::error::ApiError;
use rdv_db::models::NewAuditEntry;
use rdv_db::Conn;

pub struct Audit<'a> {
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_ids: Vec<i64>,
    pub person_ids: Vec<i64>,
    pub fields: Vec<&'a str>,
}

pub fn record(conn: &mut Conn, caller: &Caller, entry: Audit<'_>) -> Result<(), ApiError> {
    rdv_db::queries::audit::record(
        conn,
        &NewAuditEntry {
            organization_id: caller.organization,
            actor_user_id: Some(caller.user),
            action: entry.action.to_owned(),
            subject_type: entry.subject_type.to_owned(),
            subject_ids: entry.subject_ids,
            person_ids: entry.person_ids,
            field_names: entry.fields.into_iter().map(str::to_owned).collect(),
            client_address: caller.client_address.clone(),
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
