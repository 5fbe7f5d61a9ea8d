//! Requalification: data collected is checked again at least twice a year. Persons whose data
//! was last confirmed (or, never confirmed, recorded) more than six months ago are listed for
//! the organizer, who sends them a message with a signed link; the page it opens shows their
//! data, and confirming it, corrected or not, sets `last_verified_at`.

use crate::audit::{self, Audit, PERSON_FIELDS};
use crate::notify::{self, Email};
use crate::paging::{self, Listed};
use crate::{Actor, AppError, AppResult};
use chrono::{DateTime, Months, Utc};
use rdv_db::models::Person;
use rdv_db::queries::persons;
use rdv_db::Conn;
use rdv_domain::{OrganizationId, PersonId};
use rdv_notify::Kind;

/// Data older than this is asked for again.
pub const MONTHS: u32 = 6;
/// How long a requalification link works.
pub const LINK_DAYS: i64 = 30;

fn due_before() -> DateTime<Utc> {
    Utc::now()
        .checked_sub_months(Months::new(MONTHS))
        .unwrap_or_else(Utc::now)
}

/// The persons of the organization to requalify, the oldest first. Organization admins; a
/// bulk read, audited with the persons listed.
pub fn list(
    conn: &mut Conn,
    actor: &Actor,
    page: Option<u32>,
    per_page: Option<u32>,
) -> AppResult<Listed<Person>> {
    let org = actor.admin_org()?;
    let paging = paging::page(page, per_page)?;
    let found = persons::to_requalify(conn, org, due_before(), paging.page)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "person.requalification_list",
            subject_type: "person",
            subject_ids: found.items.iter().map(|p| p.id.0).collect(),
            person_ids: audit::person_ids(found.items.iter().map(|p| p.id)),
            fields: vec![
                "first_name",
                "last_name",
                "email",
                "mobile_phone",
                "last_verified_at",
            ],
        },
    )?;
    Ok(Listed::new(found, paging))
}

/// Queues the requalification message to every person due (one per person and month);
/// returns how many were queued now. Organization admins; audited as a bulk operation.
pub fn send(conn: &mut Conn, actor: &Actor) -> AppResult<usize> {
    let org = actor.admin_org()?;
    let due = persons::to_requalify_ids(conn, org, due_before())?;
    let month = Utc::now().format("%Y-%m");
    let queued = notify::enqueue_emails(
        conn,
        due.iter()
            .map(|p| Email {
                organization: org,
                event: None,
                person: *p,
                kind: Kind::Requalification,
                data: serde_json::json!({"days": LINK_DAYS}),
                key: format!("requalification:{p}:{month}"),
            })
            .collect(),
    )?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "person.requalification_send",
            subject_type: "person",
            subject_ids: Vec::new(),
            person_ids: audit::person_ids(due.iter().copied()),
            fields: vec!["email"],
        },
    )?;
    Ok(queued)
}

/// The person a requalification link names, while it works (404 otherwise: a bad or expired
/// token, an erased or restricted person).
pub fn subject(conn: &mut Conn, secret: &str, token: &str) -> AppResult<Person> {
    let (org, person) = notify::requalify_subject(secret, token)
        .ok_or_else(|| AppError::not_found("requalification link"))?;
    let p =
        persons::get(conn, org, person).map_err(|_| AppError::not_found("requalification link"))?;
    if p.privacy.restricted_at.is_some() {
        return Err(AppError::not_found("requalification link"));
    }
    Ok(p)
}

/// The person confirms their data, with the corrections `patch` holds: the data is
/// rectified and `last_verified_at` set. Audited (no staff account: the person acted).
pub fn confirm(
    conn: &mut Conn,
    secret: &str,
    token: &str,
    patch: crate::persons::PersonPatch,
    client_address: Option<String>,
) -> AppResult<Person> {
    let current = subject(conn, secret, token)?;
    let (org, id) = (current.organization_id, current.id);
    let mut changes = crate::persons::changes(patch)?;
    changes.last_verified_at = Some(Some(Utc::now()));
    let mut fields = changes.changed_fields();
    let person = persons::update(conn, org, id, &changes).map_err(|e| match e {
        rdv_db::DbError::Conflict(_) => {
            AppError::conflict_on("email", "another person of the organization has this email")
        }
        other => other.into(),
    })?;
    if fields.is_empty() {
        fields = PERSON_FIELDS.to_vec();
    }
    audit::record_as(
        conn,
        Some(org),
        None,
        client_address,
        Audit {
            action: "person.requalify",
            subject_type: "person",
            subject_ids: vec![id.0],
            person_ids: vec![id.0],
            fields,
        },
    )?;
    tracing::info!(person.id = %id, "data confirmed through a requalification link");
    Ok(person)
}

/// The organization and person a requalification link of `org`'s person names.
pub fn token(secret: &str, org: OrganizationId, person: PersonId) -> String {
    notify::requalify_token(
        secret,
        org,
        person,
        Utc::now().timestamp() + LINK_DAYS * 86_400,
    )
}
