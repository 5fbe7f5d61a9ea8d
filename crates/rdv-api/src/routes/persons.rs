//! Persons of the caller's organization: the HTTP shapes of `rdv_app::persons`, which checks,
//! authorises and audits.

use super::PrivacyOut;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{double_option, ValidJson};
use crate::AppState;
use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::persons;
use rdv_db::models::Person;
use rdv_domain::PersonId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update);
}

#[derive(Serialize, ToSchema)]
pub struct OptOuts {
    pub marketing_email_at: Option<DateTime<Utc>>,
    pub sms_at: Option<DateTime<Utc>>,
    pub phone_prospecting_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonOut {
    pub id: i64,
    pub organization_id: i64,
    pub civility: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub mobile_phone: Option<String>,
    pub landline_phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub preferred_language: String,
    pub opt_outs: OptOuts,
    pub privacy: PrivacyOut,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Person> for PersonOut {
    fn from(p: Person) -> Self {
        let privacy = p.privacy.into();
        Self {
            id: p.id.0,
            organization_id: p.organization_id.0,
            civility: p.civility,
            first_name: p.first_name,
            last_name: p.last_name,
            email: p.email,
            mobile_phone: p.mobile_phone,
            landline_phone: p.landline_phone,
            company: p.company,
            job_title: p.job_title,
            address_line1: p.address_line1,
            address_line2: p.address_line2,
            postal_code: p.postal_code,
            city: p.city,
            country: p.country,
            preferred_language: p.preferred_language,
            opt_outs: OptOuts {
                marketing_email_at: p.optout_marketing_email_at,
                sms_at: p.optout_sms_at,
                phone_prospecting_at: p.optout_phone_prospecting_at,
            },
            privacy,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonIn {
    #[schema(schema_with = crate::schema::opt_civility)]
    pub civility: Option<String>,
    #[schema(schema_with = crate::schema::text::<100>)]
    pub first_name: String,
    #[schema(schema_with = crate::schema::text::<100>)]
    pub last_name: String,
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
    /// Stored in E.164, such as +33612345678.
    #[schema(schema_with = crate::schema::opt_phone)]
    pub mobile_phone: Option<String>,
    #[schema(schema_with = crate::schema::opt_phone)]
    pub landline_phone: Option<String>,
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    pub company: Option<String>,
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    pub job_title: Option<String>,
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    pub address_line1: Option<String>,
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    pub address_line2: Option<String>,
    #[schema(schema_with = crate::schema::opt_text::<20>)]
    pub postal_code: Option<String>,
    #[schema(schema_with = crate::schema::opt_text::<100>)]
    pub city: Option<String>,
    #[schema(schema_with = crate::schema::opt_country)]
    pub country: Option<String>,
    /// `en` when absent.
    #[schema(schema_with = crate::schema::language_or_null)]
    pub preferred_language: Option<String>,
    /// Why the organization may hold this person's data; `legitimate_interest` when absent.
    #[schema(value_type = Option<rdv_domain::LegalBasis>)]
    pub legal_basis: Option<String>,
    /// `admin` when absent; `system` is the platform's own.
    #[schema(schema_with = crate::schema::person_source)]
    pub source: Option<String>,
}

/// A partial change: an absent field is left alone, `null` clears an optional one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_civility)]
    pub civility: Option<Option<String>>,
    #[schema(schema_with = crate::schema::text_or_null::<100>)]
    pub first_name: Option<String>,
    #[schema(schema_with = crate::schema::text_or_null::<100>)]
    pub last_name: Option<String>,
    #[schema(schema_with = crate::schema::email_or_null)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_phone)]
    pub mobile_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_phone)]
    pub landline_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    pub address_line1: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_text::<200>)]
    pub address_line2: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_text::<20>)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_text::<100>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_country)]
    pub country: Option<Option<String>>,
    #[schema(schema_with = crate::schema::language_or_null)]
    pub preferred_language: Option<String>,
    /// `true` records the objection now (one recorded already keeps its date); `false`
    /// withdraws it.
    pub optout_marketing_email: Option<bool>,
    pub optout_sms: Option<bool>,
    pub optout_phone_prospecting: Option<bool>,
}

impl From<PersonIn> for persons::PersonInput {
    fn from(b: PersonIn) -> Self {
        Self {
            civility: b.civility,
            first_name: b.first_name,
            last_name: b.last_name,
            email: b.email,
            mobile_phone: b.mobile_phone,
            landline_phone: b.landline_phone,
            company: b.company,
            job_title: b.job_title,
            address_line1: b.address_line1,
            address_line2: b.address_line2,
            postal_code: b.postal_code,
            city: b.city,
            country: b.country,
            preferred_language: b.preferred_language,
            legal_basis: b.legal_basis,
            source: b.source,
        }
    }
}

impl From<PersonPatch> for persons::PersonPatch {
    fn from(p: PersonPatch) -> Self {
        Self {
            civility: p.civility,
            first_name: p.first_name,
            last_name: p.last_name,
            email: p.email,
            mobile_phone: p.mobile_phone,
            landline_phone: p.landline_phone,
            company: p.company,
            job_title: p.job_title,
            address_line1: p.address_line1,
            address_line2: p.address_line2,
            postal_code: p.postal_code,
            city: p.city,
            country: p.country,
            preferred_language: p.preferred_language,
            optout_marketing_email: p.optout_marketing_email,
            optout_sms: p.optout_sms,
            optout_phone_prospecting: p.optout_phone_prospecting,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PersonListQuery {
    /// Matches first name, last name, email or company.
    #[param(schema_with = crate::schema::text_filter::<200>)]
    pub q: Option<String>,
    #[param(schema_with = crate::schema::country_filter)]
    pub country: Option<String>,
    #[param(schema_with = crate::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::schema::per_page)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    pub items: Vec<PersonOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The persons of the caller's organization, by name; audited as a bulk read. Persons under
/// restriction of processing are listed for organization admins only.
#[utoipa::path(tag = "persons", security(("bearer" = [])), params(PersonListQuery),
    responses((status = 200, body = PersonPage), (status = 400, body = crate::error::ErrorBody)))]
#[get("/persons")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PersonListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let input = persons::PersonQuery {
        q: q.q,
        country: q.country,
        page: q.page,
        per_page: q.per_page,
    };
    let actor = caller.0;
    let found = state
        .app_tx(move |conn| persons::list(conn, &actor, input))
        .await?;
    Ok(HttpResponse::Ok().json(PersonPage {
        items: found.items.into_iter().map(PersonOut::from).collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

/// Creates a person in the caller's organization.
#[utoipa::path(tag = "persons", security(("bearer" = [])), request_body = PersonIn,
    responses((status = 201, body = PersonOut), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/persons")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<PersonIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, input) = (caller.0, body.0.into());
    let person = state
        .app_tx(move |conn| persons::create(conn, &actor, input))
        .await?;
    Ok(HttpResponse::Created().json(PersonOut::from(person)))
}

/// One person, with privacy state and opt-outs; audited. A person under restriction of
/// processing is shown to organization admins only.
#[utoipa::path(tag = "persons", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PersonOut), (status = 404, body = crate::error::ErrorBody)))]
#[get("/persons/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, PersonId(id.into_inner()));
    let person = state
        .app_tx(move |conn| persons::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(PersonOut::from(person)))
}

/// Rectifies a person's data or records their opt-outs; audited with the changed fields. An
/// opt-out already recorded keeps the date of the objection. A new email becomes the login of
/// the person's participant account too. A person under restriction cannot be changed (409).
#[utoipa::path(tag = "persons", security(("bearer" = [])), params(("id" = i64, Path)), request_body = PersonPatch,
    responses((status = 200, body = PersonOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/persons/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<PersonPatch>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, patch) = (caller.0, PersonId(id.into_inner()), body.0.into());
    let person = state
        .app_tx(move |conn| persons::update(conn, &actor, id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(PersonOut::from(person)))
}
