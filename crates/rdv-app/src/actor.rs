//! Who acts: an account in one of its memberships, and where the request came from.

use crate::error::AppError;
use rdv_domain::{MembershipId, OrganizationId, PersonId, Role, UserAccountId};

/// The account and membership a use case runs for.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: UserAccountId,
    pub membership: MembershipId,
    pub organization: Option<OrganizationId>,
    pub role: Role,
    pub person: Option<PersonId>,
    /// The client address as the edge established it, for audit rows and throttling.
    pub client_address: Option<String>,
}

impl Actor {
    /// The organization of an organizer (admin or staff); others are refused.
    pub fn organizer_org(&self) -> Result<OrganizationId, AppError> {
        match (self.role.is_organizer(), self.organization) {
            (true, Some(org)) => Ok(org),
            _ => Err(AppError::forbidden("this endpoint is for organizers")),
        }
    }

    /// The organization of an organization admin; staff and participants are refused.
    pub fn admin_org(&self) -> Result<OrganizationId, AppError> {
        match (self.role, self.organization) {
            (Role::OrgAdmin, Some(org)) => Ok(org),
            _ => Err(AppError::forbidden(
                "this endpoint is for organization admins",
            )),
        }
    }

    pub fn require_platform_admin(&self) -> Result<(), AppError> {
        if self.role == Role::PlatformAdmin {
            Ok(())
        } else {
            Err(AppError::forbidden("this endpoint is for platform admins"))
        }
    }

    /// The person a participant speaks for.
    pub fn participant(&self) -> Result<(OrganizationId, PersonId), AppError> {
        match (self.role, self.organization, self.person) {
            (Role::Participant, Some(org), Some(person)) => Ok((org, person)),
            _ => Err(AppError::forbidden("this endpoint is for participants")),
        }
    }
}
