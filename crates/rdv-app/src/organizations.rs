//! Organizations (tenants) and their organizer accounts; platform admins only.

use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use chrono::Utc;
use rdv_db::models::{Organization, UserAccount};
use rdv_db::queries::{accounts, organizations};
use rdv_db::Conn;
use rdv_domain::{DataSource, OrganizationId, RetentionPolicy, Role, Slug};

/// A new organization, as typed.
#[derive(Debug, Clone, Default)]
pub struct OrganizationInput {
    pub slug: String,
    pub name: String,
}

/// The shortest and longest password a new account may have, in characters.
pub const PASSWORD_CHARS: (usize, usize) = (10, 200);

/// An organizer to add: an existing account (no password) or a new one (with a password).
#[derive(Debug, Clone, Default)]
pub struct MemberInput {
    pub email: String,
    /// Required for a new account; refused for an existing one, whose password stays its
    /// owner's.
    pub password: Option<String>,
    /// `org_admin` or `org_staff`.
    pub role: String,
}

/// The account that holds the role now.
#[derive(Debug, Clone)]
pub struct Member {
    pub account: UserAccount,
    pub role: Role,
    pub organization: OrganizationId,
}

/// Every organization of the platform.
pub fn list(conn: &mut Conn, actor: &Actor) -> AppResult<Vec<Organization>> {
    actor.require_platform_admin()?;
    Ok(organizations::list(conn)?)
}

/// Creates an organization.
pub fn create(conn: &mut Conn, actor: &Actor, input: OrganizationInput) -> AppResult<Organization> {
    actor.require_platform_admin()?;
    let mut check = Check::new();
    let slug = check.0.check("slug", Slug::parse(&input.slug));
    let name = check.text::<200>("name", &input.name);
    check.finish()?;
    let (Some(slug), Some(name)) = (slug, name) else {
        return Err(AppError::internal("checked fields missing"));
    };
    Ok(organizations::create(conn, slug.as_str(), &name)?)
}

/// One organization.
pub fn get(conn: &mut Conn, actor: &Actor, id: OrganizationId) -> AppResult<Organization> {
    actor.require_platform_admin()?;
    organizations::get(conn, id).map_err(|e| AppError::from_db("organization", e))
}

/// Gives an account an organizer role in the organization, creating the account when no
/// account has that email. A password for an existing account is refused rather than ignored:
/// the caller would believe it set. Audited in the organization's log.
pub fn add_member(
    conn: &mut Conn,
    actor: &Actor,
    id: OrganizationId,
    input: MemberInput,
) -> AppResult<Member> {
    actor.require_platform_admin()?;
    let mut check = Check::new();
    let email = check.email("email", &input.email);
    let role: Option<Role> = check.word("role", &input.role);
    if let Some(r) = role {
        if !r.is_organizer() {
            check.add("role", "must be org_admin or org_staff");
        }
    }
    if let Some(p) = &input.password {
        let len = p.chars().count();
        let (min, max) = PASSWORD_CHARS;
        if !(min..=max).contains(&len) {
            check.add("password", format!("must be {min} to {max} characters"));
        }
    }
    check.finish()?;
    let (Some(email), Some(role)) = (email, role) else {
        return Err(AppError::internal("checked fields missing"));
    };
    organizations::get(conn, id).map_err(|e| AppError::from_db("organization", e))?;
    let account = match (accounts::find_by_email(conn, &email)?, input.password) {
        (Some(_), Some(_)) => {
            return Err(AppError::conflict_on(
                "password",
                "an account with this email exists already; its password is not changed: leave the password out",
            ))
        }
        (Some(existing), None) => existing,
        (None, None) => {
            // The body is well-formed; what it lacks depends on the accounts that exist.
            return Err(AppError::conflict_on(
                "password",
                "is required: no account has this email yet",
            ))
        }
        (None, Some(password)) => {
            let hash = crate::auth::hash_password(&password)?;
            let retention = RetentionPolicy::ContractualProof.deadline(Utc::now());
            accounts::ensure_account(conn, &email, &hash, retention, DataSource::Admin.as_str())?
        }
    };
    let membership = accounts::ensure_membership(conn, account.id, Some(id), role, None)?;
    audit::record_as(
        conn,
        Some(id),
        Some(actor.user),
        actor.client_address.clone(),
        Audit {
            action: "membership.create",
            subject_type: "membership",
            subject_ids: vec![membership.id.0],
            person_ids: Vec::new(),
            fields: vec!["email", "role"],
        },
    )?;
    Ok(Member {
        account,
        role,
        organization: id,
    })
}
