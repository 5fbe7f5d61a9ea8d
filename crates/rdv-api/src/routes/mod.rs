//! Handlers grouped by resource, plus the request and response shapes they share.

pub mod audit;
pub mod auth;
pub mod docs;
pub mod events;
pub mod health;
pub mod me;
pub mod organizations;
pub mod persons;
pub mod registrations;
pub mod search;

use crate::error::ApiError;
use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .configure(health::configure)
            .configure(docs::configure)
            .configure(auth::configure)
            .configure(organizations::configure)
            .configure(events::configure)
            .configure(persons::configure)
            .configure(registrations::configure)
            .configure(search::configure)
            .configure(me::configure)
            .configure(audit::configure),
    )
    .default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(ApiError::not_found("route"))
    }));
}

/// The privacy state every record with personal data carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyOut {
    /// `consent`, `contract`, `legal_obligation` or `legitimate_interest`.
    #[schema(value_type = String)]
    pub legal_basis: rdv_domain::LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub restricted_at: Option<DateTime<Utc>>,
    /// `registration`, `import`, `prospect`, `admin` or `system`.
    #[schema(value_type = String)]
    pub source: rdv_domain::DataSource,
    pub last_verified_at: Option<DateTime<Utc>>,
}

impl<T> From<rdv_db::models::Privacy<T>> for PrivacyOut {
    fn from(p: rdv_db::models::Privacy<T>) -> Self {
        Self {
            legal_basis: p.legal_basis,
            retention_until: p.retention_until,
            restricted_at: p.restricted_at,
            source: p.source,
            last_verified_at: p.last_verified_at,
        }
    }
}

/// A list query's paging parameters, shared by every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1-based page number.
    pub page: Option<u32>,
    /// Rows per page, 1 to 200 (default 50).
    pub per_page: Option<u32>,
}
