//! Persons of the caller's organization. Every read of personal data and every change writes
//! an audit row in the same transaction.

use super::{page, Check, PrivacyOut};
use crate::audit::{self, Audit, PERSON_FIELDS};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{double_option, ValidJson};
use crate::AppState;
use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_db::models::{NewPerson, Person, PersonChanges};
use rdv_db::queries::persons::{self, PersonFilter};
use rdv_domain::{DataSource, LegalBasis, PersonId, RetentionPolicy};
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
        let privacy = p.privacy().into();
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
    /// `mr`, `mrs` or `mx`.
    pub civility: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// E.164, such as +33612345678.
    pub mobile_phone: Option<String>,
    pub landline_phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166 alpha-2.
    pub country: Option<String>,
    /// ISO 639-1; `en` when absent.
    pub preferred_language: Option<String>,
    /// Why the organization may hold this person's data; `legitimate_interest` when absent.
    pub legal_basis: Option<String>,
    /// `admin` (default), `import`, `prospect` or `registration`.
    pub source: Option<String>,
}

/// A partial change: an absent field is left alone, `null` clears an optional one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub civility: Option<Option<String>>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub mobile_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub landline_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
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
    /// `true` records the opposition now; `false` withdraws it.
    pub optout_marketing_email: Option<bool>,
    pub optout_sms: Option<bool>,
    pub optout_phone_prospecting: Option<bool>,
}

fn civility(check: &mut Check, v: Option<&str>) -> Option<String> {
    match v {
        Some(c) if !c.trim().is_empty() => {
            if ["mr", "mrs", "mx"].contains(&c) {
                Some(c.to_owned())
            } else {
                check.0.add("civility", "must be mr, mrs or mx");
                None
            }
        }
        _ => None,
    }
}

/// Checks a patch into column changes, naming every bad field at once.
pub(crate) fn person_changes(p: PersonPatch) -> Result<PersonChanges, ApiError> {
    let mut c = Check::new();
    let now = Utc::now();
    let optout = |v: Option<bool>| v.map(|on| on.then_some(now));
    let changes = PersonChanges {
        civility: p.civility.map(|v| civility(&mut c, v.as_deref())),
        first_name: p
            .first_name
            .as_deref()
            .and_then(|v| c.text::<100>("first_name", v)),
        last_name: p
            .last_name
            .as_deref()
            .and_then(|v| c.text::<100>("last_name", v)),
        email: p.email.as_deref().and_then(|v| c.email("email", v)),
        mobile_phone: p
            .mobile_phone
            .map(|v| c.phone("mobile_phone", v.as_deref())),
        landline_phone: p
            .landline_phone
            .map(|v| c.phone("landline_phone", v.as_deref())),
        company: p
            .company
            .map(|v| c.opt_text::<200>("company", v.as_deref())),
        job_title: p
            .job_title
            .map(|v| c.opt_text::<200>("job_title", v.as_deref())),
        address_line1: p
            .address_line1
            .map(|v| c.opt_text::<200>("address_line1", v.as_deref())),
        address_line2: p
            .address_line2
            .map(|v| c.opt_text::<200>("address_line2", v.as_deref())),
        postal_code: p
            .postal_code
            .map(|v| c.opt_text::<20>("postal_code", v.as_deref())),
        city: p.city.map(|v| c.opt_text::<100>("city", v.as_deref())),
        country: p.country.map(|v| c.country("country", v.as_deref())),
        preferred_language: p
            .preferred_language
            .as_deref()
            .and_then(|v| c.language("preferred_language", v)),
        optout_marketing_email_at: optout(p.optout_marketing_email),
        optout_sms_at: optout(p.optout_sms),
        optout_phone_prospecting_at: optout(p.optout_phone_prospecting),
        last_verified_at: None,
    };
    c.finish()?;
    if changes.is_empty() {
        return Err(ApiError::field("body", "names no field to change"));
    }
    Ok(changes)
}

fn conflict_on_email(e: rdv_db::DbError) -> ApiError {
    match e {
        rdv_db::DbError::Conflict(_) => rdv_app::AppError::conflict_on(
            "email",
            "another person of the organization has this email",
        )
        .into(),
        other => ApiError::from_db("person", other),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PersonListQuery {
    /// Matches first name, last name, email or company.
    pub q: Option<String>,
    pub country: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    pub items: Vec<PersonOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The persons of the caller's organization, by name; audited as a bulk read.
#[utoipa::path(tag = "persons", security(("bearer" = [])), params(PersonListQuery),
    responses((status = 200, body = PersonPage), (status = 400, body = crate::error::ErrorBody)))]
#[get("/persons")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PersonListQuery>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let q = query.into_inner();
    let (pg, page_no, per_page) = page(q.page, q.per_page)?;
    let mut check = Check::new();
    let filter = PersonFilter {
        text: check.opt_text::<200>("q", q.q.as_deref()),
        country: check.country("country", q.country.as_deref()),
    };
    check.finish()?;
    let out = state
        .tx(move |conn| {
            let found = persons::list(conn, org, &filter, pg)?;
            let ids: Vec<i64> = found.items.iter().map(|p| p.id.0).collect();
            if !ids.is_empty() {
                audit::record(
                    conn,
                    &caller,
                    Audit {
                        action: "person.list",
                        subject_type: "person",
                        subject_ids: ids.clone(),
                        person_ids: ids,
                        // The list shows whole persons.
                        fields: PERSON_FIELDS.to_vec(),
                    },
                )?;
            }
            Ok(PersonPage {
                items: found.items.into_iter().map(PersonOut::from).collect(),
                total: found.total,
                page: page_no,
                per_page,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
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
    let org = caller.organizer_org()?;
    let b = body.0;
    let mut c = Check::new();
    let new = NewPerson {
        organization_id: org,
        civility: civility(&mut c, b.civility.as_deref()),
        first_name: c
            .text::<100>("first_name", &b.first_name)
            .unwrap_or_default(),
        last_name: c.text::<100>("last_name", &b.last_name).unwrap_or_default(),
        email: c.email("email", &b.email).unwrap_or_default(),
        mobile_phone: c.phone("mobile_phone", b.mobile_phone.as_deref()),
        landline_phone: c.phone("landline_phone", b.landline_phone.as_deref()),
        company: c.opt_text::<200>("company", b.company.as_deref()),
        job_title: c.opt_text::<200>("job_title", b.job_title.as_deref()),
        address_line1: c.opt_text::<200>("address_line1", b.address_line1.as_deref()),
        address_line2: c.opt_text::<200>("address_line2", b.address_line2.as_deref()),
        postal_code: c.opt_text::<20>("postal_code", b.postal_code.as_deref()),
        city: c.opt_text::<100>("city", b.city.as_deref()),
        country: c.country("country", b.country.as_deref()),
        preferred_language: c
            .language(
                "preferred_language",
                b.preferred_language.as_deref().unwrap_or("en"),
            )
            .unwrap_or_default(),
        legal_basis: c
            .word::<LegalBasis>(
                "legal_basis",
                b.legal_basis.as_deref().unwrap_or("legitimate_interest"),
            )
            .map(|l| l.as_str())
            .unwrap_or_default()
            .to_owned(),
        retention_until: RetentionPolicy::EventData.deadline(Utc::now()),
        source: c
            .word::<DataSource>("source", b.source.as_deref().unwrap_or("admin"))
            .map(|s| s.as_str())
            .unwrap_or_default()
            .to_owned(),
    };
    if new.source == "system" {
        c.0.add("source", "must be admin, import, prospect or registration");
    }
    c.finish()?;
    let person = state
        .tx(move |conn| {
            let person = persons::create(conn, &new).map_err(conflict_on_email)?;
            audit::record(
                conn,
                &caller,
                Audit {
                    action: "person.create",
                    subject_type: "person",
                    subject_ids: vec![person.id.0],
                    person_ids: vec![person.id.0],
                    fields: PERSON_FIELDS.to_vec(),
                },
            )?;
            Ok(person)
        })
        .await?;
    Ok(HttpResponse::Created().json(PersonOut::from(person)))
}

/// One person, with privacy state and opt-outs; audited.
#[utoipa::path(tag = "persons", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PersonOut), (status = 404, body = crate::error::ErrorBody)))]
#[get("/persons/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = PersonId(id.into_inner());
    let person = state
        .tx(move |conn| {
            let person = persons::get(conn, org, id).map_err(|e| ApiError::from_db("person", e))?;
            audit::record(
                conn,
                &caller,
                Audit {
                    action: "person.read",
                    subject_type: "person",
                    subject_ids: vec![id.0],
                    person_ids: vec![id.0],
                    fields: PERSON_FIELDS.to_vec(),
                },
            )?;
            Ok(person)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PersonOut::from(person)))
}

/// Rectifies a person's data or records their opt-outs; audited with the changed fields.
#[utoipa::path(tag = "persons", security(("bearer" = [])), params(("id" = i64, Path)), request_body = PersonPatch,
    responses((status = 200, body = PersonOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/persons/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<PersonPatch>,
) -> Result<HttpResponse, ApiError> {
    let org = caller.organizer_org()?;
    let id = PersonId(id.into_inner());
    let changes = person_changes(body.0)?;
    let person = state
        .tx(move |conn| {
            let person = persons::update(conn, org, id, &changes).map_err(conflict_on_email)?;
            audit::record(
                conn,
                &caller,
                Audit {
                    action: "person.update",
                    subject_type: "person",
                    subject_ids: vec![id.0],
                    person_ids: vec![id.0],
                    fields: changes.changed_fields(),
                },
            )?;
            Ok(person)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PersonOut::from(person)))
}
