//! Organizations (tenants) and their organizer accounts; platform admins only.

use super::Check;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::AppState;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::auth::hash_password;
use rdv_db::models::Organization;
use rdv_db::queries::{accounts, organizations};
use rdv_domain::{OrganizationId, RetentionPolicy, Role, Slug};
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
    #[schema(example = "salon-lyon")]
    pub slug: String,
    #[schema(example = "Salon de Lyon")]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    pub email: String,
    /// At least 10 characters. Ignored when the account already exists.
    pub password: String,
    /// `org_admin` or `org_staff`.
    /// `platform_admin`, `org_admin`, `org_staff` or `participant`.
    #[schema(value_type = String)]
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberOut {
    pub user_account_id: i64,
    pub email: String,
    /// `platform_admin`, `org_admin`, `org_staff` or `participant`.
    #[schema(value_type = String)]
    pub role: Role,
    pub organization_id: i64,
}

/// Every organization of the platform.
#[utoipa::path(tag = "organizations", security(("bearer" = [])), responses((status = 200, body = [OrganizationOut]), (status = 403, body = crate::error::ErrorBody)))]
#[get("/organizations")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_platform_admin()?;
    let orgs = state.tx(|conn| Ok(organizations::list(conn)?)).await?;
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
    caller.require_platform_admin()?;
    let mut check = Check::new();
    let slug = check.0.check("slug", Slug::parse(&body.0.slug));
    let name = check.text::<200>("name", &body.0.name);
    check.finish()?;
    let (Some(slug), Some(name)) = (slug, name) else {
        return Err(ApiError::internal("checked fields missing"));
    };
    let org = state
        .tx(move |conn| Ok(organizations::create(conn, slug.as_str(), &name)?))
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
    caller.require_platform_admin()?;
    let id = OrganizationId(id.into_inner());
    let org = state
        .tx(move |conn| {
            organizations::get(conn, id).map_err(|e| ApiError::from_db("organization", e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrganizationOut::from(org)))
}

/// Gives an account (created if needed) an organizer role in the organization.
#[utoipa::path(tag = "organizations", security(("bearer" = [])), params(("id" = i64, Path)), request_body = MemberIn,
    responses((status = 201, body = MemberOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/organizations/{id}/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<MemberIn>,
) -> Result<HttpResponse, ApiError> {
    caller.require_platform_admin()?;
    let id = OrganizationId(id.into_inner());
    let body = body.0;
    let mut check = Check::new();
    let email = check.email("email", &body.email);
    let role: Option<Role> = check.word("role", &body.role);
    if let Some(r) = role {
        if !r.is_organizer() {
            check.0.add("role", "must be org_admin or org_staff");
        }
    }
    let len = body.password.chars().count();
    if !(10..=200).contains(&len) {
        check.0.add("password", "must be 10 to 200 characters");
    }
    check.finish()?;
    let (Some(email), Some(role)) = (email, role) else {
        return Err(ApiError::internal("checked fields missing"));
    };
    let hash = web::block(move || hash_password(&body.password)).await??;
    let out = state
        .tx(move |conn| {
            organizations::get(conn, id).map_err(|e| ApiError::from_db("organization", e))?;
            let retention = RetentionPolicy::ContractualProof.deadline(Utc::now());
            let account = accounts::ensure_account(conn, &email, &hash, retention, "admin")?;
            accounts::ensure_membership(conn, account.id, Some(id), role, None)?;
            Ok(MemberOut {
                user_account_id: account.id.0,
                email: account.email,
                role,
                organization_id: id.0,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}
