//! Handlers grouped by resource, plus the request and response shapes they share.

pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod docs;
pub mod events;
pub mod exports;
pub mod health;
pub mod imports;
pub mod me;
pub mod meetings;
pub mod messages;
pub mod organizations;
pub mod persons;
pub mod plans;
pub mod privacy;
pub mod registrations;
pub mod search;
pub mod shop;

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
            .configure(meetings::configure)
            .configure(plans::configure)
            .configure(exports::configure)
            .configure(imports::configure)
            .configure(messages::configure)
            .configure(campaigns::configure)
            .configure(privacy::configure)
            .configure(shop::configure)
            .configure(me::configure)
            .configure(audit::configure),
    )
    .app_data(web::Data::new(MethodTable::new()))
    .default_service(web::to(unmatched));
}

/// The methods each path answers, from the OpenAPI document (plus the documentation's own
/// pages), so that a known path asked with another method answers 405 with `Allow`.
pub struct MethodTable(Vec<(Vec<String>, String)>);

impl MethodTable {
    fn new() -> Self {
        let mut paths = crate::openapi::methods_by_path();
        paths.push(("/api/docs".into(), vec!["GET"]));
        paths.push(("/api/openapi.json".into(), vec!["GET"]));
        Self(
            paths
                .into_iter()
                .map(|(path, methods)| {
                    let segments = path.split('/').map(str::to_owned).collect();
                    (segments, methods.join(", "))
                })
                .collect(),
        )
    }

    /// The `Allow` value for `path`, when some route has that shape.
    fn allowed(&self, path: &str) -> Option<&str> {
        let asked: Vec<&str> = path.split('/').collect();
        self.0.iter().find_map(|(segments, allow)| {
            let fits = segments.len() == asked.len()
                && segments.iter().zip(&asked).all(|(s, a)| {
                    if s.starts_with('{') && s.ends_with('}') {
                        !a.is_empty()
                    } else {
                        s == a
                    }
                });
            fits.then_some(allow.as_str())
        })
    }
}

/// A request no route took: 405 with the methods the path answers, or 404.
async fn unmatched(
    req: actix_web::HttpRequest,
    table: web::Data<MethodTable>,
) -> Result<actix_web::HttpResponse, ApiError> {
    match table.allowed(req.path()) {
        Some(allow) => Err(ApiError::method_not_allowed(allow)),
        None => Err(ApiError::not_found("route")),
    }
}

/// A file to download: its content type, and the name the browser saves it under.
pub fn attachment(content_type: &str, name: &str, bytes: Vec<u8>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes)
}

/// Text made safe inside HTML elements and quoted attributes.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The privacy state every record with personal data carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyOut {
    pub legal_basis: rdv_domain::LegalBasis,
    pub retention_until: DateTime<Utc>,
    pub restricted_at: Option<DateTime<Utc>>,
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
    #[param(schema_with = crate::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::schema::per_page)]
    pub per_page: Option<u32>,
}
