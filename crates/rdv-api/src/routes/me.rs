//! Participant self-service: a participant sees and rectifies their own data only.

use super::persons::PersonOut;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{double_option, ValidJson};
use crate::AppState;
use actix_web::{get, patch, web, HttpResponse};
use chrono::NaiveDate;
use rdv_app::me as self_service;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(me).service(update_me).service(my_registrations);
}

#[derive(Serialize, ToSchema)]
pub struct MeOut {
    pub user_account_id: i64,
    pub email: String,
    pub role: rdv_domain::Role,
    pub organization_id: Option<i64>,
    /// The participant's personal data, for participants.
    pub person: Option<PersonOut>,
}

/// What a participant may change about themselves.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    #[schema(schema_with = crate::schema::text_or_null::<100>)]
    pub first_name: Option<String>,
    #[schema(schema_with = crate::schema::text_or_null::<100>)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_phone)]
    pub mobile_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_phone)]
    pub landline_phone: Option<Option<String>>,
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
    pub optout_marketing_email: Option<bool>,
    pub optout_sms: Option<bool>,
    pub optout_phone_prospecting: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct MyRegistration {
    pub id: i64,
    pub event_id: i64,
    pub event_name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub participant_type: rdv_domain::ParticipantType,
    pub status: rdv_domain::RegistrationStatus,
    pub company_description: Option<String>,
    pub offers: Option<String>,
    pub needs: Option<String>,
    pub sectors: Vec<String>,
    pub profile_visible: bool,
    pub meeting_quota: Option<i32>,
}

impl From<MePatch> for self_service::MePatch {
    fn from(b: MePatch) -> Self {
        Self {
            first_name: b.first_name,
            last_name: b.last_name,
            mobile_phone: b.mobile_phone,
            landline_phone: b.landline_phone,
            job_title: b.job_title,
            address_line1: b.address_line1,
            address_line2: b.address_line2,
            postal_code: b.postal_code,
            city: b.city,
            country: b.country,
            preferred_language: b.preferred_language,
            optout_marketing_email: b.optout_marketing_email,
            optout_sms: b.optout_sms,
            optout_phone_prospecting: b.optout_phone_prospecting,
        }
    }
}

/// The caller's account and, for participants, their personal data.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200, body = MeOut), (status = 401, body = crate::error::ErrorBody)))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let (role, organization) = (actor.role, actor.organization);
    let found = state
        .app_tx(move |conn| self_service::me(conn, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(MeOut {
        user_account_id: found.account.id.0,
        email: found.account.email,
        role,
        organization_id: organization.map(|o| o.0),
        person: found.person.map(PersonOut::from),
    }))
}

/// Rectifies the participant's own data or records their opt-outs; audited.
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = MePatch,
    responses((status = 200, body = PersonOut), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<MePatch>,
) -> Result<HttpResponse, ApiError> {
    let (actor, patch) = (caller.0, body.0.into());
    let person = state
        .app_tx(move |conn| self_service::update(conn, &actor, patch))
        .await?;
    Ok(HttpResponse::Ok().json(PersonOut::from(person)))
}

/// The participant's own registrations.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200, body = [MyRegistration]), (status = 403, body = crate::error::ErrorBody)))]
#[get("/me/registrations")]
pub async fn my_registrations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.0;
    let rows = state
        .app_tx(move |conn| self_service::registrations(conn, &actor))
        .await?;
    let out: Vec<MyRegistration> = rows
        .into_iter()
        .map(|(r, ev)| MyRegistration {
            id: r.id.0,
            event_id: ev.id.0,
            event_name: ev.name,
            starts_on: ev.starts_on,
            ends_on: ev.ends_on,
            participant_type: r.participant_type,
            status: r.status,
            company_description: r.company_description,
            offers: r.offers,
            needs: r.needs,
            sectors: r.sectors,
            profile_visible: r.profile_visible,
            meeting_quota: r.meeting_quota,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}
