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

use crate::error::{ApiError, FieldErrors};
use actix_web::web;
use chrono::{DateTime, Utc};
use rdv_db::queries::Page;
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

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;

/// `page` is 1-based; `per_page` defaults to 50 and may not exceed 200.
pub fn page(page: Option<u32>, per_page: Option<u32>) -> Result<(Page, u32, u32), ApiError> {
    let mut errs = FieldErrors::default();
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 || page > 1_000_000 {
        errs.add("page", "must be between 1 and 1000000");
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        errs.add("per_page", format!("must be between 1 and {MAX_PER_PAGE}"));
    }
    errs.finish()?;
    let limit = i64::from(per_page);
    Ok((
        Page {
            limit,
            offset: (i64::from(page) - 1) * limit,
        },
        page,
        per_page,
    ))
}

/// The privacy state every record with personal data carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyOut {
    pub legal_basis: String,
    pub retention_until: DateTime<Utc>,
    pub restricted_at: Option<DateTime<Utc>>,
    pub source: String,
    pub last_verified_at: Option<DateTime<Utc>>,
}

impl From<rdv_db::models::Privacy> for PrivacyOut {
    fn from(p: rdv_db::models::Privacy) -> Self {
        Self {
            legal_basis: p.legal_basis,
            retention_until: p.retention_until,
            restricted_at: p.restricted_at,
            source: p.source,
            last_verified_at: p.last_verified_at,
        }
    }
}

pub(crate) use rdv_app::Check;

/// A list query's paging parameters, shared by every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1-based page number.
    pub page: Option<u32>,
    /// Rows per page, 1 to 200 (default 50).
    pub per_page: Option<u32>,
}
