//! Registrations of the caller's organization's events: lists, profile changes, validation.

use super::{page, Check, PrivacyOut};
use crate::audit::{self, Audit};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{double_option, ValidJson};
use crate::AppState;
use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_db::models::{NewRegistration, Person, Registration, RegistrationChanges};
use rdv_db::queries::registrations::{self, RegistrationFilter};
use rdv_db::queries::{events, persons};
use rdv_domain::{
    EventId, ParticipantType, PersonId, RegistrationId, RegistrationStatus, RetentionPolicy,
};
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
    pub participant_type: String,
    pub status: String,
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
    let privacy = r.privacy().into();
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
    pub person_id: i64,
    /// `buyer`, `supplier`, `visitor`, `exhibitor` or `speaker`.
    pub participant_type: String,
    /// `pending` (default) or `validated`.
    pub status: Option<String>,
    pub company_description: Option<String>,
    /// What the participant sells.
    pub offers: Option<String>,
    /// What the participant looks for.
    pub needs: Option<String>,
    /// Hierarchical sector paths such as `industry/machining`.
    #[serde(default)]
    pub sectors: Vec<String>,
    /// ISO 639-1 codes.
    #[serde(default)]
    pub languages: Vec<String>,
    pub profile_visible: Option<bool>,
    /// Maximum number of meetings (the package's quota).
    pub meeting_quota: Option<i32>,
    /// Where the participant receives, when they have their own stand.
    pub stand: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RegistrationPatch {
    pub participant_type: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub company_description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub offers: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub needs: Option<Option<String>>,
    pub sectors: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub profile_visible: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub meeting_quota: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub stand: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseIn {
    /// Shown to the organizer's team; at most 500 characters.
    pub reason: Option<String>,
}

fn sectors(c: &mut Check, v: Vec<String>) -> Vec<String> {
    if v.len() > 20 {
        c.0.add("sectors", "at most 20 sectors");
    }
    v.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let ok = !s.is_empty()
                && s.len() <= 100
                && s.split('/').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|ch| ch.is_alphanumeric() || ch == '-' || ch == '_')
                });
            if ok {
                Some(s.to_lowercase())
            } else {
                c.0.add(
                    &format!("sectors[{i}]"),
                    "must be a path of words separated by /, such as industry/machining",
                );
                None
            }
        })
        .collect()
}

fn languages(c: &mut Check, v: Vec<String>) -> Vec<String> {
    if v.len() > 10 {
        c.0.add("languages", "at most 10 languages");
    }
    v.iter()
        .enumerate()
        .filter_map(|(i, l)| c.language(&format!("languages[{i}]"), l))
        .collect()
}

fn quota(c: &mut Check, v: Option<i32>) -> Option<i32> {
    match v {
        Some(q) if !(0..=1000).contains(&q) => {
            c.0.add("meeting_quota", "must be between 0 and 1000");
            None
        }
        other => other,
    }
}

fn audit_read(
    conn: &mut rdv_db::Conn,
    caller: &Caller,
    r: &Registration,
    action: &str,
    fields: Vec<&str>,
) -> Result<(), ApiError> {
    Ok(audit::record(
        conn,
        caller,
        Audit {
            action,
            subject_type: "registration",
            subject_ids: vec![r.id.0],
            person_ids: vec![r.person_id.0],
            fields,
        },
    )?)
}

const REGISTRATION_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "company",
    "country",
    "company_description",
    "offers",
    "needs",
    "sectors",
    "languages",
    "status",
];

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegistrationListQuery {
    pub status: Option<String>,
    pub participant_type: Option<String>,
    /// Matches the person's name, email or company.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RegistrationPage {
    pub items: Vec<RegistrationOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The registrations of an event, filtered and paginated; audited as a bulk read.
#[utoipa::path(tag = "registrations", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), RegistrationListQuery),
    responses((status = 200, body = RegistrationPage), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[get("/events/{id}/registrations")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<RegistrationListQuery>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let event = EventId(id.into_inner());
    let q = query.into_inner();
    let (pg, page_no, per_page) = page(q.page, q.per_page)?;
    let mut c = Check::new();
    let filter = RegistrationFilter {
        status: q
            .status
            .as_deref()
            .and_then(|s| c.word::<RegistrationStatus>("status", s))
            .map(|s| s.as_str().to_owned()),
        participant_type: q
            .participant_type
            .as_deref()
            .and_then(|s| c.word::<ParticipantType>("participant_type", s))
            .map(|s| s.as_str().to_owned()),
        text: c.opt_text::<200>("q", q.q.as_deref()),
    };
    c.finish()?;
    let out = state
        .tx(move |conn| {
            events::get(conn, org, event).map_err(|e| ApiError::from_db("event", e))?;
            let found = registrations::list(conn, org, event, &filter, pg)?;
            if !found.items.is_empty() {
                audit::record(
                    conn,
                    &caller,
                    Audit {
                        action: "registration.list",
                        subject_type: "registration",
                        subject_ids: found.items.iter().map(|(r, _)| r.id.0).collect(),
                        person_ids: found.items.iter().map(|(_, p)| p.id.0).collect(),
                        fields: REGISTRATION_FIELDS.to_vec(),
                    },
                )?;
            }
            Ok(RegistrationPage {
                items: found
                    .items
                    .into_iter()
                    .map(|(r, p)| registration_out(r, p))
                    .collect(),
                total: found.total,
                page: page_no,
                per_page,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
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
    let org = caller.organizer_org()?;
    let event = EventId(id.into_inner());
    let b = body.0;
    let mut c = Check::new();
    let participant_type = c.word::<ParticipantType>("participant_type", &b.participant_type);
    let status = c.word::<RegistrationStatus>("status", b.status.as_deref().unwrap_or("pending"));
    if matches!(
        status,
        Some(RegistrationStatus::Refused | RegistrationStatus::Cancelled)
    ) {
        c.0.add("status", "a new registration is pending or validated");
    }
    let company_description =
        c.opt_text::<5000>("company_description", b.company_description.as_deref());
    let offers = c.opt_text::<5000>("offers", b.offers.as_deref());
    let needs = c.opt_text::<5000>("needs", b.needs.as_deref());
    let sectors = sectors(&mut c, b.sectors);
    let languages = languages(&mut c, b.languages);
    let meeting_quota = quota(&mut c, b.meeting_quota);
    let stand = c.opt_text::<50>("stand", b.stand.as_deref());
    c.finish()?;
    let (Some(participant_type), Some(status)) = (participant_type, status) else {
        return Err(ApiError::internal("checked fields missing"));
    };
    let person_id = PersonId(b.person_id);
    let out = state
        .tx(move |conn| {
            let ev = events::get(conn, org, event).map_err(|e| ApiError::from_db("event", e))?;
            let person = persons::get(conn, org, person_id)
                .map_err(|_| ApiError::field("person_id", "no such person in this organization"))?;
            let retention = RetentionPolicy::EventData.deadline(
                ev.ends_on
                    .and_hms_opt(23, 59, 59)
                    .map(|d| d.and_utc())
                    .unwrap_or_else(Utc::now),
            );
            let reg = registrations::create(
                conn,
                &NewRegistration {
                    organization_id: org,
                    event_id: event,
                    person_id,
                    participant_type: participant_type.as_str().into(),
                    status: status.as_str().into(),
                    company_description,
                    offers,
                    needs,
                    sectors,
                    languages,
                    profile_visible: b.profile_visible.unwrap_or(true),
                    meeting_quota,
                    stand,
                    legal_basis: "contract".into(),
                    retention_until: retention,
                    source: "admin".into(),
                },
            )
            .map_err(|e| match e {
                rdv_db::DbError::Conflict(_) => ApiError::new(
                    ErrorCode::Conflict,
                    "this person is already registered to the event",
                ),
                other => other.into(),
            })?;
            audit_read(
                conn,
                &caller,
                &reg,
                "registration.create",
                REGISTRATION_FIELDS.to_vec(),
            )?;
            Ok(registration_out(reg, person))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
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
    let org = caller.organizer_org()?;
    let id = RegistrationId(id.into_inner());
    let out = state
        .tx(move |conn| {
            let (r, p) = registrations::get(conn, org, id)
                .map_err(|e| ApiError::from_db("registration", e))?;
            audit_read(
                conn,
                &caller,
                &r,
                "registration.read",
                REGISTRATION_FIELDS.to_vec(),
            )?;
            Ok(registration_out(r, p))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Changes a registration's profile, type, quota or stand; audited with the changed fields.
#[utoipa::path(tag = "registrations", security(("bearer" = [])), params(("id" = i64, Path)), request_body = RegistrationPatch,
    responses((status = 200, body = RegistrationOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/registrations/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<RegistrationPatch>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = RegistrationId(id.into_inner());
    let b = body.0;
    let mut c = Check::new();
    let changes = RegistrationChanges {
        participant_type: b
            .participant_type
            .as_deref()
            .and_then(|v| c.word::<ParticipantType>("participant_type", v))
            .map(|t| t.as_str().into()),
        status: None,
        status_reason: None,
        company_description: b
            .company_description
            .map(|v| c.opt_text::<5000>("company_description", v.as_deref())),
        offers: b.offers.map(|v| c.opt_text::<5000>("offers", v.as_deref())),
        needs: b.needs.map(|v| c.opt_text::<5000>("needs", v.as_deref())),
        sectors: b.sectors.map(|v| sectors(&mut c, v)),
        languages: b.languages.map(|v| languages(&mut c, v)),
        profile_visible: b.profile_visible,
        meeting_quota: b.meeting_quota.map(|v| quota(&mut c, v)),
        stand: b.stand.map(|v| c.opt_text::<50>("stand", v.as_deref())),
    };
    c.finish()?;
    if changes.is_empty() {
        return Err(ApiError::field("body", "names no field to change"));
    }
    let out = state
        .tx(move |conn| {
            let r = registrations::update(conn, org, id, &changes)
                .map_err(|e| ApiError::from_db("registration", e))?;
            audit_read(
                conn,
                &caller,
                &r,
                "registration.update",
                changes.changed_fields(),
            )?;
            let (r, p) = registrations::get(conn, org, id)?;
            Ok(registration_out(r, p))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn set_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: RegistrationId,
    to: RegistrationStatus,
    reason: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let out = state
        .tx(move |conn| {
            let (current, _) = registrations::get(conn, org, id)
                .map_err(|e| ApiError::from_db("registration", e))?;
            let from: RegistrationStatus = current.status.parse().map_err(ApiError::internal)?;
            use RegistrationStatus::*;
            let allowed = match to {
                Validated => matches!(from, Pending | Refused | Validated),
                Refused => matches!(from, Pending | Validated | Refused),
                _ => false,
            };
            if !allowed {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("a {from} registration cannot become {to}"),
                ));
            }
            let changes = RegistrationChanges {
                status: Some(to.as_str().into()),
                status_reason: Some(reason),
                ..Default::default()
            };
            let r = registrations::update(conn, org, id, &changes)?;
            audit_read(
                conn,
                &caller,
                &r,
                if to == Validated {
                    "registration.validate"
                } else {
                    "registration.refuse"
                },
                vec!["status", "status_reason"],
            )?;
            let (r, p) = registrations::get(conn, org, id)?;
            Ok(registration_out(r, p))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
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
    set_status(
        state,
        caller,
        RegistrationId(id.into_inner()),
        RegistrationStatus::Validated,
        None,
    )
    .await
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
    let mut c = Check::new();
    let reason = c.opt_text::<500>("reason", body.0.reason.as_deref());
    c.finish()?;
    set_status(
        state,
        caller,
        RegistrationId(id.into_inner()),
        RegistrationStatus::Refused,
        reason,
    )
    .await
}
