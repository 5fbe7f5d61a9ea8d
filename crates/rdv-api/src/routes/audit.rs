//! Who consulted or changed a person's data: for organization admins.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_domain::PersonId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub person_id: i64,
    #[param(schema_with = crate::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::schema::per_page)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub subject_type: String,
    pub subject_ids: Vec<i64>,
    pub field_names: Vec<String>,
    pub client_address: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The audit entries that concern a person, newest first; organization admins only.
#[utoipa::path(tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
#[get("/audit")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let (actor, person) = (caller.0, PersonId(q.person_id));
    let found = state
        .app_tx(move |conn| rdv_app::audit::for_person(conn, &actor, person, q.page, q.per_page))
        .await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        items: found
            .items
            .into_iter()
            .map(|a| AuditOut {
                id: a.id.0,
                actor_user_id: a.actor_user_id.map(|u| u.0),
                action: a.action,
                subject_type: a.subject_type,
                subject_ids: a.subject_ids,
                field_names: a.field_names,
                client_address: a.client_address,
                occurred_at: a.occurred_at,
            })
            .collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}
