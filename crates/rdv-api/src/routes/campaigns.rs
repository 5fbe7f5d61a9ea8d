//! Campaigns (an organizer's message to a segment of an event: its audience and exclusions,
//! scheduling, cancelling) and prospects' solicitations with the consent page their link
//! opens: the HTTP shapes of `rdv_app::campaigns`.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ValidJson;
use crate::routes::messages::MessageOut;
use crate::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::campaigns::{self, CampaignView, Content, NewCampaignInput, Segment, Texts};
use rdv_app::notify;
use rdv_domain::{
    CampaignId, CampaignStatus, EventId, ParticipantType, PersonId, RegistrationStatus,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(schedule)
        .service(cancel)
        .service(solicit)
        .service(consent_page)
        .service(consent_given);
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentIn {
    /// One line, at most 200 characters.
    pub subject: String,
    /// Plain text, at most 20,000 characters; blank lines separate paragraphs.
    pub body: String,
}

#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TextsIn {
    pub fr: Option<ContentIn>,
    pub en: Option<ContentIn>,
}

/// Who the campaign is for; every condition given must hold, an empty list filters nothing.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SegmentIn {
    #[serde(default)]
    pub participant_types: Vec<ParticipantType>,
    /// None given: validated registrations only.
    #[serde(default)]
    pub statuses: Vec<RegistrationStatus>,
    /// With a scheduled meeting (true), without (false), either (absent).
    pub with_meetings: Option<bool>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// ISO 639-1 codes of preferred languages.
    #[serde(default)]
    pub languages: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignIn {
    /// For the organizers' own list, at most 200 characters.
    pub name: String,
    /// The message in French, English or both: each recipient gets their language.
    pub content: TextsIn,
    #[serde(default)]
    pub segment: Option<SegmentIn>,
    /// Messages a minute in all (default 600).
    #[schema(minimum = 1, maximum = 100000)]
    pub per_minute: Option<i32>,
    /// Messages a minute to one mail domain (default 120).
    #[schema(minimum = 1, maximum = 100000)]
    pub per_domain_per_minute: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct AudienceOut {
    /// Who will receive it (a draft: computed now; scheduled: the messages queued).
    pub recipients: usize,
    /// Members of the segment left out, per reason: `marketing_opt_out`, `restricted`,
    /// `prospect_without_consent` (drafts only).
    pub excluded: BTreeMap<String, usize>,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignOut {
    pub id: i64,
    pub event_id: i64,
    pub name: String,
    pub status: CampaignStatus,
    pub content: TextsIn,
    pub segment: SegmentIn,
    pub send_at: Option<DateTime<Utc>>,
    pub per_minute: i32,
    pub per_domain_per_minute: i32,
    pub audience: AudienceOut,
    /// The campaign's messages per state (`queued`, `sent`, `failed`, `cancelled`), once
    /// scheduled.
    pub messages: BTreeMap<String, i64>,
    pub created_at: DateTime<Utc>,
}

fn content_out(c: Option<Content>) -> Option<ContentIn> {
    c.map(|c| ContentIn {
        subject: c.subject,
        body: c.body,
    })
}

impl From<CampaignView> for CampaignOut {
    fn from(v: CampaignView) -> Self {
        let c = v.campaign;
        Self {
            id: c.id.0,
            event_id: c.event_id.0,
            name: c.name,
            status: c.status,
            content: TextsIn {
                fr: content_out(v.texts.fr),
                en: content_out(v.texts.en),
            },
            segment: SegmentIn {
                participant_types: v.segment.participant_types,
                statuses: v.segment.statuses,
                with_meetings: v.segment.with_meetings,
                countries: v.segment.countries,
                languages: v.segment.languages,
            },
            send_at: c.send_at,
            per_minute: c.per_minute,
            per_domain_per_minute: c.per_domain_per_minute,
            audience: AudienceOut {
                recipients: v.audience.recipients,
                excluded: v.audience.excluded,
            },
            messages: v.messages,
            created_at: c.created_at,
        }
    }
}

/// Writes a draft campaign for the event and answers with its audience: how many will
/// receive it, how many are excluded and why. Organizers only.
#[utoipa::path(tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = CampaignIn, responses((status = 201, body = CampaignOut)))]
#[post("/events/{id}/campaigns")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<CampaignIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, b) = (caller.0, EventId(id.into_inner()), body.0);
    let texts = |c: Option<ContentIn>| {
        c.map(|c| Content {
            subject: c.subject,
            body: c.body,
        })
    };
    let s = b.segment.unwrap_or_default();
    let input = NewCampaignInput {
        name: b.name,
        texts: Texts {
            fr: texts(b.content.fr),
            en: texts(b.content.en),
        },
        segment: Segment {
            participant_types: s.participant_types,
            statuses: s.statuses,
            with_meetings: s.with_meetings,
            countries: s.countries,
            languages: s.languages,
        },
        per_minute: b.per_minute,
        per_domain_per_minute: b.per_domain_per_minute,
    };
    let v = state
        .app_tx(move |conn| campaigns::create(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Created().json(CampaignOut::from(v)))
}

/// The event's campaigns, newest first.
#[utoipa::path(tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = Vec<CampaignOut>)))]
#[get("/events/{id}/campaigns")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let found = state
        .app_tx(move |conn| campaigns::list(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(found.into_iter().map(CampaignOut::from).collect::<Vec<_>>()))
}

/// A campaign: a draft's audience computed now, a scheduled one's messages per state.
#[utoipa::path(tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = CampaignOut)))]
#[get("/campaigns/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, CampaignId(id.into_inner()));
    let v = state
        .app_tx(move |conn| campaigns::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(CampaignOut::from(v)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    /// When the first message goes; not in the past.
    pub send_at: DateTime<Utc>,
}

/// Schedules a draft: one message per recipient is queued now, due from `send_at` at the
/// campaign's pace. 422 when nobody would receive it or the time is past; 409 unless draft.
#[utoipa::path(tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ScheduleIn, responses((status = 200, body = CampaignOut), (status = 409, body = ErrorBody)))]
#[post("/campaigns/{id}/schedule")]
pub async fn schedule(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<ScheduleIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, at) = (caller.0, CampaignId(id.into_inner()), body.0.send_at);
    let v = state
        .app_tx(move |conn| campaigns::schedule(conn, &actor, id, at))
        .await?;
    Ok(HttpResponse::Ok().json(CampaignOut::from(v)))
}

/// Cancels a draft, or what a scheduled campaign has not sent yet. 409 when already
/// cancelled or entirely sent.
#[utoipa::path(tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = CampaignOut), (status = 409, body = ErrorBody)))]
#[post("/campaigns/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, CampaignId(id.into_inner()));
    let v = state
        .app_tx(move |conn| campaigns::cancel(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(CampaignOut::from(v)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolicitIn {
    /// The event the prospect is invited to hear about.
    pub event_id: i64,
}

/// Asks a prospect for their consent to hear about the event: the one message a prospect may
/// ever receive (queued; answered 202). 409 when the person is not a prospect, has consented
/// already, objected to prospecting, or was solicited before.
#[utoipa::path(tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path, description = "person id")),
    request_body = SolicitIn, responses((status = 202, body = MessageOut), (status = 409, body = ErrorBody)))]
#[post("/persons/{id}/consent-request")]
pub async fn solicit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<SolicitIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, person, event) = (
        caller.0,
        PersonId(id.into_inner()),
        EventId(body.0.event_id),
    );
    let m = state
        .app_tx(move |conn| campaigns::solicit(conn, &actor, person, event))
        .await?;
    Ok(HttpResponse::Accepted().json(MessageOut::from(m)))
}

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>rdv</title></head>\
             <body style=\"font-family: Helvetica, Arial, sans-serif; max-width: 600px; margin: 2em auto;\">{body}</body></html>"
        ))
}

/// The page a solicitation's consent link opens: it asks the prospect to confirm (a GET
/// changes nothing, so that mail scanners following links consent for nobody). No login: the
/// signed token names the person. 404 when it does not verify.
#[utoipa::path(tag = "campaigns", params(("token" = String, Path, description = "the link's signed token")),
    responses((status = 200, content_type = "text/html", body = String)))]
#[get("/consent/{token}")]
pub async fn consent_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let secret = state.auth.jwt_secret.expose_secret().to_owned();
    let token = token.into_inner();
    let link = super::html_escape(&token);
    let (_, _, name, given) = state
        .app_conn(move |conn| notify::consent_subject(conn, &secret, &token))
        .await?;
    let name = super::html_escape(&name);
    Ok(page(&if given {
        format!("<p>{name}, your consent is recorded. Thank you.</p>")
    } else {
        format!(
            "<p>Hello {name},</p><p>{}</p>\
             <form method=\"post\" action=\"/api/consent/{link}\"><button type=\"submit\">I agree</button></form>",
            rdv_app::notify::CONSENT_TEXT
        )
    }))
}

/// Records the consent of the prospect the link names (the confirmation of the consent
/// page); a second confirmation changes nothing. Audited. 404 when the token does not verify.
#[utoipa::path(tag = "campaigns", params(("token" = String, Path, description = "the link's signed token")),
    responses((status = 200, content_type = "text/html", body = String)))]
#[post("/consent/{token}")]
pub async fn consent_given(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let secret = state.auth.jwt_secret.expose_secret().to_owned();
    let address = crate::auth::client_address(&req, state.server.trusted_proxy_hops);
    let token = token.into_inner();
    state
        .app_tx(move |conn| notify::give_consent(conn, &secret, &token, address.as_deref()))
        .await?;
    Ok(page("<p>Your consent is recorded. Thank you.</p>"))
}
