//! The application's error: each variant says whether the caller made a mistake (invalid
//! input, not found, forbidden, conflict, throttled) or something failed inside. The kind is
//! chosen once, at construction. Database constraint names and PostgreSQL messages never reach
//! the message: known constraints map to the field they concern, the rest is an internal fault.

use rdv_db::DbError;
use std::collections::BTreeMap;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that breaks a rule; `fields` names each offending field (dotted paths).
    #[error("{message}")]
    Invalid {
        message: String,
        fields: BTreeMap<String, String>,
    },
    /// Nothing of that kind that the actor may see; never "forbidden" for another tenant's row.
    #[error("{0} not found")]
    NotFound(String),
    /// The actor's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The request clashes with the current state (a duplicate, a state that forbids it).
    #[error("{message}")]
    Conflict {
        message: String,
        fields: BTreeMap<String, String>,
    },
    /// No valid session: missing, expired or revoked credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Wrong email or password; the same answer whether the account exists or not.
    #[error("wrong email or password")]
    InvalidCredentials,
    /// Slow down: retry after the given number of seconds.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_seconds: i64,
    },
    /// The database cannot be reached; the detail is for the log.
    #[error("the database is unavailable")]
    Unavailable(String),
    /// A service the platform depends on (the payment provider) failed or did not answer;
    /// the detail is for the log.
    #[error("the payment provider could not be reached; try again in a moment")]
    Upstream(String),
    /// A fault inside; the detail is for the log only.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    /// A conflict about one field, such as an email already in use.
    pub fn conflict_on(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Conflict {
            fields: BTreeMap::from([(field.into(), message.clone())]),
            message,
        }
    }

    /// Invalid input in one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            message: "the request has invalid fields".into(),
            fields: BTreeMap::from([(field.into(), message.into())]),
        }
    }

    /// Invalid input not tied to one field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// Maps a database error, naming `what` was looked for when nothing was found.
    pub fn from_db(what: &str, e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::not_found(what),
            other => other.into(),
        }
    }

    /// True when the caller can fix it (a 4xx at the HTTP edge).
    pub fn is_callers_mistake(&self) -> bool {
        !matches!(
            self,
            Self::Unavailable(_) | Self::Upstream(_) | Self::Internal(_)
        )
    }
}

/// Unique and check constraints the callers can run into, and the field each concerns.
#[rustfmt::skip]
const CONSTRAINTS: &[(&str, &str, &str)] = &[
    // (constraint, field, message)
    (
        "meeting_requests_live_pair",
        "to",
        "these two participants have a pending or accepted request already",
    ),
    (
        "plan_runs_one_live",
        "event",
        "a planning run of this event is queued or running already",
    ),
    (
        "organizations_slug_key",
        "slug",
        "an organization with this slug exists already",
    ),
    (
        "persons_org_email",
        "email",
        "a person with this email exists already in the organization",
    ),
    (
        "user_accounts_email",
        "email",
        "an account with this email exists already",
    ),
    (
        "memberships_unique",
        "role",
        "the account holds this role already",
    ),
    (
        "events_organization_id_slug_key",
        "slug",
        "an event with this slug exists already",
    ),
    (
        "event_days_event_id_day_key",
        "day",
        "this day exists already in the event",
    ),
    (
        "meeting_slots_event_id_starts_at_key",
        "starts_at",
        "a slot starts at this time already",
    ),
    (
        "meeting_tables_event_id_number_key",
        "number",
        "a table has this number already",
    ),
    (
        "registrations_event_id_person_id_key",
        "person_id",
        "this person is registered for the event already",
    ),
];

fn known_constraint(name: &str) -> Option<(&'static str, &'static str)> {
    CONSTRAINTS
        .iter()
        .find(|(c, _, _)| *c == name)
        .map(|(_, field, message)| (*field, *message))
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::not_found("record"),
            DbError::Conflict(constraint) => match known_constraint(&constraint) {
                Some((field, message)) => Self::conflict_on(field, message),
                None => {
                    tracing::warn!(db.constraint = %constraint, "unmapped unique constraint");
                    Self::conflict("this record exists already")
                }
            },
            DbError::Rejected(constraint) => match known_constraint(&constraint) {
                Some((field, message)) => Self::field(field, message),
                // A check the edge should have made: the input is wrong, but the database's
                // words stay in the log.
                None => Self::Internal(format!("database refused a row: {constraint}")),
            },
            DbError::Pool(detail) => Self::Unavailable(detail),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_names_never_reach_the_message() {
        let e = AppError::from(DbError::Conflict("persons_org_email".into()));
        assert!(!e.to_string().contains("persons_org_email"));
        match e {
            AppError::Conflict { fields, .. } => assert!(fields.contains_key("email")),
            other => panic!("expected a conflict, got {other:?}"),
        }
        let e = AppError::from(DbError::Conflict("some_new_index".into()));
        assert!(!e.to_string().contains("some_new_index"));
        let e = AppError::from(DbError::Rejected("persons_country_check".into()));
        assert_eq!(e.to_string(), "internal error");
    }
}
