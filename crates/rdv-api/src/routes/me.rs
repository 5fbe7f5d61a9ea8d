//! Participant self-service: a participant sees and rectifies their own data only.

use super::persons::{person_changes, PersonOut, PersonPatch};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{double_option, ValidJson};
use crate::AppState;
use actix_web::{get, patch, web, HttpResponse};
use chrono::NaiveDate;
use rdv_db::queries::{accounts, events, persons, registrations};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(me).service(update_me).service(my_registrations);
}

#[derive(Serialize, ToSchema)]
pub struct MeOut {
    pub user_account_id: i64,
    pub email: String,
    /// `platform_admin`, `org_admin`, `org_staff` or `participant`.
    #[schema(value_type = String)]
    pub role: rdv_domain::Role,
    pub organization_id: Option<i64>,
    /// The participant's personal data, for participants.
    pub person: Option<PersonOut>,
}

/// What a participant may change about themselves.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub mobile_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub landline_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub address_line1: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub address_line2: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
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
    pub participant_type: String,
    pub status: String,
    pub company_description: Option<String>,
    pub offers: Option<String>,
    pub needs: Option<String>,
    pub sectors: Vec<String>,
    pub profile_visible: bool,
    pub meeting_quota: Option<i32>,
}

/// The caller's account and, for participants, their personal data.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200, body = MeOut), (status = 401, body = crate::error::ErrorBody)))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let out = state
        .tx(move |conn| {
            let account = accounts::get(conn, caller.user)
                .map_err(|_| ApiError::unauthorized("the account no longer exists"))?;
            let person = match (caller.organization, caller.person) {
                (Some(org), Some(p)) => Some(PersonOut::from(
                    persons::get(conn, org, p).map_err(|e| ApiError::from_db("person", e))?,
                )),
                _ => None,
            };
            Ok(MeOut {
                user_account_id: account.id.0,
                email: account.email,
                role: caller.role,
                organization_id: caller.organization.map(|o| o.0),
                person,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Rectifies the participant's own data or records their opt-outs.
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = MePatch,
    responses((status = 200, body = PersonOut), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<MePatch>,
) -> Result<HttpResponse, ApiError> {
    let (org, person) = caller.participant()?;
    let b = body.0;
    let changes = person_changes(PersonPatch {
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
        ..Default::default()
    })?;
    let out = state
        .tx(move |conn| {
            let mut changes = changes;
            // The person checked their own data just now.
            changes.last_verified_at = Some(Some(chrono::Utc::now()));
            Ok(PersonOut::from(
                persons::update(conn, org, person, &changes)
                    .map_err(|e| ApiError::from_db("person", e))?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The participant's own registrations.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200, body = [MyRegistration]), (status = 403, body = crate::error::ErrorBody)))]
#[get("/me/registrations")]
pub async fn my_registrations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (org, person) = caller.participant()?;
    let out = state
        .tx(move |conn| {
            let mut out = Vec::new();
            for r in registrations::of_person(conn, person)? {
                if r.organization_id != org {
                    continue;
                }
                let ev = events::get(conn, org, r.event_id)?;
                out.push(MyRegistration {
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
                });
            }
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
