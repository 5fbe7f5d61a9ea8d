//! Registrations of the caller's organization's events: the HTTP shapes of
//! `rdv_app::registrations`, which holds the rules (status changes, restriction, audit).

use super::PrivacyOut;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{double_option, ValidJson};
use crate::AppState;
use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::registrations;
use rdv_db::models::{Person, Registration};
use rdv_domain::{EventId, PersonId, RegistrationId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(validate)
        .service(refuse);
}

#[derive(Serialize, ToSchema)]
pub struct PersonSummary {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: Option<String>,
    pub country: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RegistrationOut {
    pub id: i64,
    pub event_id: i64,
    pub person: PersonSummary,
    pub participant_type: rdv_domain::ParticipantType,
    pub status: rdv_domain::RegistrationStatus,
    pub status_reason: Option<String>,
    pub company_description: Option<String>,
    pub offers: Option<String>,
    pub needs: Option<String>,
    pub sectors: Vec<String>,
    pub languages: Vec<String>,
    pub profile_visible: bool,
    pub meeting_quota: Option<i32>,
    pub stand: Option<String>,
    pub privacy: PrivacyOut,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn registration_out(r: Registration, p: Person) -> RegistrationOut {
    let privacy = r.privacy.into();
    RegistrationOut {
        id: r.id.0,
        event_id: r.event_id.0,
        person: PersonSummary {
            id: p.id.0,
            first_name: p.first_name,
            last_name: p.last_name,
            email: p.email,
            company: p.company,
            country: p.country,
        },
        participant_type: r.participant_type,
        status: r.status,
        status_reason: r.status_reason,
        company_description: r.company_description,
        offers: r.offers,
        needs: r.needs,
        sectors: r.sectors,
        languages: r.languages,
        profile_visible: r.profile_visible,
        meeting_quota: r.meeting_quota,
        stand: r.stand,
        privacy,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationIn {
    #[serde(deserialize_with = "crate::extract::integer")]
    pub person_id: i64,
    #[schema(value_type = rdv_domain::ParticipantType)]
    pub participant_type: String,
    /// `pending` when absent.
    #[schema(schema_with = crate::schema::new_registration_status)]
    pub status: Option<String>,
    #[schema(schema_with = crate::schema::opt_multiline::<5000>)]
    pub company_description: Option<String>,
    /// What the participant sells.
    #[schema(schema_with = crate::schema::opt_multiline::<5000>)]
    pub offers: Option<String>,
    /// What the participant looks for.
    #[schema(schema_with = crate::schema::opt_multiline::<5000>)]
    pub needs: Option<String>,
    /// Hierarchical sector paths such as `industry/machining`.
    #[serde(default)]
    #[schema(schema_with = crate::schema::sectors)]
    pub sectors: Vec<String>,
    /// ISO 639-1 codes.
    #[serde(default)]
    #[schema(schema_with = crate::schema::languages)]
    pub languages: Vec<String>,
    pub profile_visible: Option<bool>,
    /// Maximum number of meetings (the package's quota).
    #[serde(default, deserialize_with = "crate::extract::opt_integer")]
    #[schema(schema_with = crate::schema::opt_quota)]
    pub meeting_quota: Option<i32>,
    /// Where the participant receives, when they have their own stand.
    #[schema(schema_with = crate::schema::opt_text::<50>)]
    pub stand: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RegistrationPatch {
    #[schema(value_type = Option<rdv_domain::ParticipantType>)]
    pub participant_type: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_multiline::<5000>)]
    pub company_description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_multiline::<5000>)]
    pub offers: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_multiline::<5000>)]
    pub needs: Option<Option<String>>,
    #[schema(schema_with = crate::schema::sectors_or_null)]
    pub sectors: Option<Vec<String>>,
    #[schema(schema_with = crate::schema::languages_or_null)]
    pub languages: Option<Vec<String>>,
    pub profile_visible: Option<bool>,
    #[serde(default, deserialize_with = "crate::extract::double_opt_integer")]
    #[schema(schema_with = crate::schema::opt_quota)]
    pub meeting_quota: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::schema::opt_text::<50>)]
    pub stand: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseIn {
    /// Shown to the organizer's team.
    #[schema(schema_with = crate::schema::opt_multiline::<500>)]
    pub reason: Option<String>,
}

impl From<RegistrationIn> for registrations::RegistrationInput {
    fn from(b: RegistrationIn) -> Self {
        Self {
            person_id: PersonId(b.person_id),
            participant_type: b.participant_type,
            status: b.status,
            company_description: b.company_description,
            offers: b.offers,
            needs: b.needs,
            sectors: b.sectors,
            languages: b.languages,
            profile_visible: b.profile_visible,
            meeting_quota: b.meeting_quota,
            stand: b.stand,
        }
    }
}

impl From<RegistrationPatch> for registrations::RegistrationPatch {
    fn from(b: RegistrationPatch) -> Self {
        Self {
            participant_type: b.participant_type,
            company_description: b.company_description,
            offers: b.offers,
            needs: b.needs,
            sectors: b.sectors,
            languages: b.languages,
            profile_visible: b.profile_visible,
            meeting_quota: b.meeting_quota,
            stand: b.stand,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegistrationListQuery {
    #[param(value_type = Option<rdv_domain::RegistrationStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<rdv_domain::ParticipantType>)]
    pub participant_type: Option<String>,
    /// Matches the person's name, email or company.
    #[param(schema_with = crate::schema::text_filter::<200>)]
    pub q: Option<String>,
    #[param(schema_with = crate::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::schema::per_page)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RegistrationPage {
    pub items: Vec<RegistrationOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The registrations of an event, filtered and paginated; audited as a bulk read. Erased
/// registrations and persons never appear; restricted ones only to organization admins.
#[utoipa::path(tag = "registrations", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), RegistrationListQuery),
    responses((status = 200, body = RegistrationPage), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[get("/events/{id}/registrations")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<RegistrationListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let q = query.into_inner();
    let input = registrations::RegistrationQuery {
        status: q.status,
        participant_type: q.participant_type,
        q: q.q,
        page: q.page,
        per_page: q.per_page,
    };
    let found = state
        .app_tx(move |conn| registrations::list(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Ok().json(RegistrationPage {
        items: found
            .items
            .into_iter()
            .map(|(r, p)| registration_out(r, p))
            .collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

/// Registers a person of the organization to the event.
#[utoipa::path(tag = "registrations", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")), request_body = RegistrationIn,
    responses((status = 201, body = RegistrationOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/events/{id}/registrations")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<RegistrationIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, input) = (caller.0, EventId(id.into_inner()), body.0.into());
    let (r, p) = state
        .app_tx(move |conn| registrations::create(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Created().json(registration_out(r, p)))
}

/// One registration with the person's summary; audited.
#[utoipa::path(tag = "registrations", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = RegistrationOut), (status = 404, body = crate::error::ErrorBody)))]
#[get("/registrations/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, RegistrationId(id.into_inner()));
    let (r, p) = state
        .app_tx(move |conn| registrations::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(registration_out(r, p)))
}

/// Changes a registration's profile, type, quota or stand; audited with the changed fields.
/// A registration under restriction (or of a restricted person) cannot be changed (409).
#[utoipa::path(tag = "registrations", security(("bearer" = [])), params(("id" = i64, Path)), request_body = RegistrationPatch,
    responses((status = 200, body = RegistrationOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/registrations/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<RegistrationPatch>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, patch) = (caller.0, RegistrationId(id.into_inner()), body.0.into());
    let (r, p) = state
        .app_tx(move |conn| registrations::update(conn, &actor, id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(registration_out(r, p)))
}

/// Validates a pending (or refused) registration.
#[utoipa::path(tag = "registrations", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = RegistrationOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
#[post("/registrations/{id}/validate")]
pub async fn validate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, RegistrationId(id.into_inner()));
    let (r, p) = state
        .app_tx(move |conn| registrations::validate(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(registration_out(r, p)))
}

/// Refuses a registration, with an optional reason.
#[utoipa::path(tag = "registrations", security(("bearer" = [])), params(("id" = i64, Path)), request_body = RefuseIn,
    responses((status = 200, body = RegistrationOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/registrations/{id}/refuse")]
pub async fn refuse(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<RefuseIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, reason) = (caller.0, RegistrationId(id.into_inner()), body.0.reason);
    let (r, p) = state
        .app_tx(move |conn| registrations::refuse(conn, &actor, id, reason))
        .await?;
    Ok(HttpResponse::Ok().json(registration_out(r, p)))
}
