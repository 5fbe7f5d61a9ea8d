//! Organizations (tenants) and their organizer accounts; platform admins only.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::AppState;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::organizations;
use rdv_db::models::Organization;
use rdv_domain::{OrganizationId, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(add_member);
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationOut {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationOut {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id.0,
            slug: o.slug,
            name: o.name,
            created_at: o.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationIn {
    #[schema(example = "salon-lyon", schema_with = crate::schema::slug)]
    pub slug: String,
    #[schema(example = "Salon de Lyon", schema_with = crate::schema::text::<200>)]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
    /// The new account's password, 10 to 200 characters: required when no account has this
    /// email, and refused (409, field `password`) when one does, since that account's
    /// password is its owner's and is never changed here.
    #[schema(schema_with = crate::schema::new_password)]
    pub password: Option<String>,
    #[schema(schema_with = crate::schema::member_role)]
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberOut {
    pub user_account_id: i64,
    pub email: String,
    pub role: Role,
    pub organization_id: i64,
}

impl From<OrganizationIn> for organizations::OrganizationInput {
    fn from(b: OrganizationIn) -> Self {
        Self {
            slug: b.slug,
            name: b.name,
        }
    }
}

impl From<MemberIn> for organizations::MemberInput {
    fn from(b: MemberIn) -> Self {
        Self {
            email: b.email,
            password: b.password,
            role: b.role,
        }
    }
}

/// Every organization of the platform.
#[utoipa::path(tag = "organizations", security(("bearer" = [])), responses((status = 200, body = [OrganizationOut]), (status = 403, body = crate::error::ErrorBody)))]
#[get("/organizations")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let orgs = state
        .app_tx(move |conn| organizations::list(conn, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(
        orgs.into_iter()
            .map(OrganizationOut::from)
            .collect::<Vec<_>>(),
    ))
}

/// Creates an organization.
#[utoipa::path(tag = "organizations", security(("bearer" = [])), request_body = OrganizationIn,
    responses((status = 201, body = OrganizationOut), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/organizations")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<OrganizationIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, input) = (caller.0, body.0.into());
    let org = state
        .app_tx(move |conn| organizations::create(conn, &actor, input))
        .await?;
    Ok(HttpResponse::Created().json(OrganizationOut::from(org)))
}

/// One organization.
#[utoipa::path(tag = "organizations", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = OrganizationOut), (status = 404, body = crate::error::ErrorBody)))]
#[get("/organizations/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, OrganizationId(id.into_inner()));
    let org = state
        .app_tx(move |conn| organizations::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(OrganizationOut::from(org)))
}

/// Gives an account an organizer role in the organization; audited. With a password, creates
/// the account; an account that exists already is given the role without a password (one
/// given is refused with 409 on `password`: its password is never changed here).
#[utoipa::path(tag = "organizations", security(("bearer" = [])), params(("id" = i64, Path)), request_body = MemberIn,
    responses((status = 201, body = MemberOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/organizations/{id}/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<MemberIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, input) = (caller.0, OrganizationId(id.into_inner()), body.0.into());
    let m = state
        .app_tx(move |conn| organizations::add_member(conn, &actor, id, input))
        .await?;
    Ok(HttpResponse::Created().json(MemberOut {
        user_account_id: m.account.id.0,
        email: m.account.email,
        role: m.role,
        organization_id: m.organization.0,
    }))
}
