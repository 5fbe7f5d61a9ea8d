//! The notification outbox as organizers see it: what was sent to whom, what failed and why,
//! and retrying a failed message. The HTTP shapes of `rdv_app::notify`.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rdv_app::notify;
use rdv_db::models::OutboxMessage;
use rdv_domain::{Channel, DeliveryStatus, EventId, MessageStatus, OutboxMessageId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(retry)
        .service(unsubscribe)
        .service(delivery_report);
}

#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    pub id: i64,
    pub event_id: Option<i64>,
    /// The person it goes to (none for a message to an account, such as a password reset).
    pub person_id: Option<i64>,
    pub channel: Channel,
    /// The message kind (`registration_validated`, `meeting_request_received`, ...).
    pub template: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The address it went to.
    pub recipient: Option<String>,
    pub message_id: Option<String>,
    /// What the server answered when it took the message.
    pub provider_reply: Option<String>,
    /// Why it failed, was cancelled, or is being retried.
    pub last_error: Option<String>,
    /// When it is due (the next attempt, for a retried message).
    pub not_before: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// What the network reported about an SMS after the gateway took it.
    pub delivery_status: Option<DeliveryStatus>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The campaign the message belongs to.
    pub campaign_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<OutboxMessage> for MessageOut {
    fn from(m: OutboxMessage) -> Self {
        Self {
            id: m.id.0,
            event_id: m.event_id.map(|e| e.0),
            person_id: m.person_id.map(|p| p.0),
            channel: m.channel,
            template: m.template,
            status: m.status,
            attempts: m.attempts,
            max_attempts: m.max_attempts,
            recipient: m.recipient,
            message_id: m.message_id,
            provider_reply: m.provider_reply,
            last_error: m.last_error,
            not_before: m.not_before,
            sent_at: m.sent_at,
            delivery_status: m.delivery_status,
            delivered_at: m.delivered_at,
            campaign_id: m.campaign_id.map(|c| c.0),
            created_at: m.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    #[param(value_type = Option<MessageStatus>)]
    pub status: Option<String>,
    #[param(schema_with = crate::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::schema::per_page)]
    pub per_page: Option<u32>,
}

/// The event's messages, newest first, for its organizers (audited).
#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), MessageQuery),
    responses((status = 200, body = MessagePage)))]
#[get("/events/{id}/messages")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<MessageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, q) = (caller.0, EventId(id.into_inner()), query.into_inner());
    let found = state
        .app_tx(move |conn| {
            notify::messages(conn, &actor, event, q.status.as_deref(), q.page, q.per_page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MessagePage {
        items: found.items.into_iter().map(MessageOut::from).collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

/// Queues a failed message again, with a fresh set of attempts. 409 unless it failed.
#[utoipa::path(tag = "messages", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = MessageOut), (status = 409, body = ErrorBody)))]
#[post("/messages/{id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (caller.0, OutboxMessageId(id.into_inner()));
    let m = state
        .app_tx(move |conn| notify::retry(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(MessageOut::from(m)))
}

#[derive(Serialize, ToSchema)]
pub struct UnsubscribedOut {
    /// The person will receive no marketing email from the organization.
    pub unsubscribed: bool,
}

/// One-click unsubscribe (RFC 8058): the target of a marketing email's `List-Unsubscribe`
/// link. No login: the signed token names the person. Records their marketing opt-out (the
/// date of an earlier objection is kept) and audits it; transactional messages (registration,
/// agenda) still go. 404 when the token does not verify.
#[utoipa::path(tag = "messages", params(("token" = String, Path, description = "the link's signed token")),
    responses((status = 200, body = UnsubscribedOut)))]
#[post("/unsubscribe/{token}")]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let secret = state.auth.jwt_secret.expose_secret().to_owned();
    let token = token.into_inner();
    state
        .app_tx(move |conn| notify::unsubscribe(conn, &secret, &token))
        .await?;
    Ok(HttpResponse::Ok().json(UnsubscribedOut { unsubscribed: true }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeliveryReportQuery {
    /// The report's type, as Kannel's `%d`: 1 delivered to the phone, 2 not delivered, 4
    /// queued at the SMSC, 8 accepted and 16 rejected by the SMSC.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = u8, minimum = 1, maximum = 16)]
    pub dlr_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryReportOut {
    pub delivery_status: DeliveryStatus,
}

/// An SMS delivery report: the URL the notification worker gives the SMS gateway (Kannel's
/// `dlr-url`) for each message. No login: the signed token names the message. Records what
/// the network reported; a message it could not deliver becomes failed. 404 when the token
/// does not verify.
#[utoipa::path(tag = "messages", params(("token" = String, Path, description = "the message's signed token"), DeliveryReportQuery),
    responses((status = 200, body = DeliveryReportOut)))]
#[get("/sms/dlr/{token}")]
pub async fn delivery_report(
    state: web::Data<AppState>,
    token: web::Path<String>,
    query: web::Query<DeliveryReportQuery>,
) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let secret = state.auth.jwt_secret.expose_secret().to_owned();
    let (token, dlr_type) = (token.into_inner(), query.into_inner().dlr_type);
    let delivery_status = state
        .app_tx(move |conn| notify::record_delivery(conn, &secret, &token, &dlr_type))
        .await?;
    Ok(HttpResponse::Ok().json(DeliveryReportOut { delivery_status }))
}
