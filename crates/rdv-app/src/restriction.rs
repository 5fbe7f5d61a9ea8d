//! Restriction of processing (GDPR art. 18): a restricted record is kept but frozen. Only the
//! organization's admins, who handle the request, still see it; nobody changes it.

use crate::actor::Actor;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use rdv_domain::Role;

/// Whether the actor sees records under restriction: organization admins only.
pub(crate) fn sees_restricted(actor: &Actor) -> bool {
    actor.role == Role::OrgAdmin
}

/// A restricted record is "not found" for those who may not see it.
pub(crate) fn ensure_visible(
    actor: &Actor,
    restricted_at: Option<DateTime<Utc>>,
    what: &str,
) -> AppResult<()> {
    if restricted_at.is_some() && !sees_restricted(actor) {
        return Err(AppError::not_found(what));
    }
    Ok(())
}

/// A restricted record may be read by admins but changed by nobody.
pub(crate) fn ensure_changeable(restricted_at: Option<DateTime<Utc>>, what: &str) -> AppResult<()> {
    if restricted_at.is_some() {
        return Err(AppError::conflict(format!(
            "this {what}'s processing is restricted: it cannot be changed until the restriction is lifted"
        )));
    }
    Ok(())
}
