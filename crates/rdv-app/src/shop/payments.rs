//! Payments: by card through the provider's hosted page (checkout sessions, signed webhooks
//! processed once per provider event, refunds), by bank transfer (recorded by the organizers,
//! or matched by reference from a bank statement) and on site. Calls to the provider happen
//! between transactions, never inside one.

use super::orders::{self, settle, view, OrderView};
use super::ShopSettings;
use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use chrono::{Duration, Utc};
use diesel::Connection;
use rdv_db::models::{NewPayment, NewRefund, Order, Payment};
use rdv_db::queries::{events, shop};
use rdv_db::Conn;
use rdv_domain::{EventId, OrderId, OrderStatus, PaymentMethod, PaymentStatus, RefundStatus};
use rdv_shop::webhook;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The card provider's name in the event log.
const PROVIDER: &str = "card";

/// The card provider's API (docs/payment-simulator.md).
struct Provider<'a> {
    settings: &'a ShopSettings,
    agent: ureq::Agent,
}

/// What the provider said when it refused a call.
enum Refusal {
    /// A 4xx with its error code and message.
    Refused(String, String),
    /// No answer, or a 5xx.
    Down(String),
}

impl<'a> Provider<'a> {
    fn new(settings: &'a ShopSettings) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(settings.timeout_seconds))
            .redirects(0)
            .build();
        Self { settings, agent }
    }

    fn post(&self, path: &str, key: &str, body: Value) -> Result<Value, Refusal> {
        let url = format!(
            "{}{}",
            self.settings.card_api_url.trim_end_matches('/'),
            path
        );
        let answer = self
            .agent
            .post(&url)
            .set(
                "Authorization",
                &format!("Bearer {}", self.settings.card_api_key.expose_secret()),
            )
            .set("Idempotency-Key", key)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        match answer {
            Ok(r) => r
                .into_string()
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .ok_or_else(|| Refusal::Down("unreadable answer".into())),
            Err(ureq::Error::Status(code, r)) if (400..500).contains(&code) => {
                let body: Value = r
                    .into_string()
                    .ok()
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .unwrap_or(Value::Null);
                Err(Refusal::Refused(
                    body["error"].as_str().unwrap_or("refused").to_owned(),
                    body["message"].as_str().unwrap_or("").to_owned(),
                ))
            }
            Err(ureq::Error::Status(code, _)) => Err(Refusal::Down(format!("HTTP {code}"))),
            Err(e) => Err(Refusal::Down(e.to_string())),
        }
    }
}

fn upstream(what: &str, r: Refusal) -> AppError {
    match r {
        Refusal::Refused(code, message) => {
            tracing::warn!(provider.error = %code, "{what}: the provider refused: {message}");
            AppError::conflict(format!(
                "the payment provider refused the {what}: {message}"
            ))
        }
        Refusal::Down(detail) => AppError::Upstream(format!("{what}: {detail}")),
    }
}

/// A card payment under way: where to send the buyer.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub payment: Payment,
    pub checkout_url: String,
}

/// Starts (or resumes) paying an order by card: a checkout session at the provider, whose
/// hosted page the buyer is sent to. The order's hold is extended to cover the payment.
pub fn start_card(
    conn: &mut Conn,
    settings: &ShopSettings,
    actor: &Actor,
    id: OrderId,
) -> AppResult<Checkout> {
    let (payment, order) = conn.transaction(|conn| -> AppResult<(Payment, Order)> {
        let order = orders::changeable(conn, actor, id)?;
        if order.status != OrderStatus::PendingPayment {
            return Err(AppError::conflict(format!(
                "the order is {}: there is nothing to pay",
                order.status
            )));
        }
        if order.hold_until <= Utc::now() {
            return Err(AppError::conflict(
                "the order's hold has run out: place the order again",
            ));
        }
        if let Some(open) = shop::payments_of(conn, order.id)?
            .into_iter()
            .find(|p| p.method == PaymentMethod::Card && p.status == PaymentStatus::Pending)
        {
            return Ok((open, order));
        }
        let payment = shop::insert_payment(
            conn,
            &NewPayment {
                organization_id: order.organization_id,
                order_id: order.id,
                method: PaymentMethod::Card,
                status: PaymentStatus::Pending,
                amount_cents: order.total_incl_cents,
                bank_reference: None,
                recorded_by: Some(actor.user),
                completed_at: None,
            },
        )?;
        shop::extend_hold(
            conn,
            order.id,
            Utc::now() + Duration::minutes(settings.hold_minutes),
        )?;
        Ok((payment, order))
    })?;
    if let (Some(_), Some(url)) = (&payment.provider_session_id, &payment.checkout_url) {
        return Ok(Checkout {
            checkout_url: url.clone(),
            payment,
        });
    }
    let public = settings.public_url.trim_end_matches('/');
    let session = Provider::new(settings).post(
        "/v1/checkout/sessions",
        // Unique across databases too (a provider account may serve several platforms).
        &format!(
            "payment-{}-{}",
            payment.id,
            payment.created_at.timestamp_micros()
        ),
        json!({
            "amount": payment.amount_cents,
            "currency": "EUR",
            "reference": order.reference,
            "description": format!("Commande {}", order.reference),
            "success_url": format!("{public}/api/payments/return?outcome=paid"),
            "cancel_url": format!("{public}/api/payments/return?outcome=cancelled"),
            "webhook_url": format!("{public}/api/payments/webhook"),
        }),
    );
    let session = match session {
        Ok(s) => s,
        Err(r) => {
            conn.transaction(|conn| {
                shop::finish_payment(conn, payment.id, PaymentStatus::Failed, None)
            })?;
            return Err(upstream("checkout session", r));
        }
    };
    let (Some(sid), Some(url)) = (session["id"].as_str(), session["url"].as_str()) else {
        return Err(AppError::internal(
            "the provider's session has no id or url",
        ));
    };
    let payment = conn.transaction(|conn| shop::set_card_session(conn, payment.id, sid, url))?;
    tracing::info!(order.id = %order.id, payment.id = %payment.id, "checkout session created");
    Ok(Checkout {
        checkout_url: url.to_owned(),
        payment,
    })
}

/// A provider event, as its webhook carries it.
#[derive(Debug, Deserialize)]
struct ProviderEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    session_id: Option<String>,
    payment_id: Option<String>,
    amount: Option<i64>,
    refund_id: Option<String>,
    refund_amount: Option<i64>,
}

/// What a webhook call did.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookOutcome {
    pub event_id: String,
    /// The event was processed before: nothing changed this time.
    pub duplicate: bool,
    pub outcome: String,
}

/// Processes a webhook call: the signature is checked first (a bad one is refused and
/// changes nothing), then the event is recorded by its id in the same transaction as its
/// effect, so a replayed event finds its id and changes nothing.
pub fn webhook(
    conn: &mut Conn,
    settings: &ShopSettings,
    signature: Option<&str>,
    body: &[u8],
) -> AppResult<WebhookOutcome> {
    let signature =
        signature.ok_or_else(|| AppError::invalid("the Paysim-Signature header is missing"))?;
    webhook::verify(
        settings.card_webhook_secret.expose_secret().as_bytes(),
        signature,
        body,
        Utc::now().timestamp(),
        settings.webhook_tolerance_seconds,
    )
    .map_err(|e| AppError::invalid(e.to_string()))?;
    let event: ProviderEvent = serde_json::from_slice(body)
        .map_err(|e| AppError::invalid(format!("the event is not readable: {e}")))?;
    if event.id.is_empty() || event.id.len() > 100 {
        return Err(AppError::invalid("the event id is missing or too long"));
    }
    conn.transaction(|conn| -> AppResult<WebhookOutcome> {
        if !shop::record_payment_event(conn, PROVIDER, &event.id, &event.kind, None, "received")? {
            return Ok(WebhookOutcome {
                event_id: event.id.clone(),
                duplicate: true,
                outcome: "already processed".into(),
            });
        }
        let (order, outcome) = apply(conn, &event)?;
        shop::set_event_outcome(conn, PROVIDER, &event.id, order, &outcome)?;
        tracing::info!(payment_event.id = %event.id, payment_event.kind = %event.kind, outcome = %outcome, "payment event processed");
        Ok(WebhookOutcome {
            event_id: event.id.clone(),
            duplicate: false,
            outcome,
        })
    })
}

fn apply(conn: &mut Conn, event: &ProviderEvent) -> AppResult<(Option<OrderId>, String)> {
    let session = event.data.session_id.as_deref().unwrap_or("");
    match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.failed" | "checkout.session.cancelled" => {
            // The order first, then its payment: the lock order of cancel and expiry too.
            let Ok(found) = shop::payment_by_session(conn, session, false) else {
                return Ok((None, "unknown session: ignored".into()));
            };
            let order = shop::order(conn, found.organization_id, found.order_id, true)?;
            let payment = shop::payment_by_session(conn, session, true)?;
            let completed = event.kind == "checkout.session.completed";
            match payment.status {
                PaymentStatus::Succeeded => {
                    return Ok((Some(order.id), "payment already succeeded".into()))
                }
                // A session the platform gave up on (its order cancelled or expired) can still
                // be paid at the provider: that money is handled below, never dropped.
                PaymentStatus::Cancelled | PaymentStatus::Failed if !completed => {
                    return Ok((
                        Some(order.id),
                        format!("payment already {}", payment.status),
                    ))
                }
                _ => {}
            }
            if !completed {
                let status = if event.kind == "checkout.session.failed" {
                    PaymentStatus::Failed
                } else {
                    PaymentStatus::Cancelled
                };
                shop::finish_payment(conn, payment.id, status, None)?;
                return Ok((Some(order.id), format!("payment {status}")));
            }
            if event.data.amount != Some(payment.amount_cents) {
                tracing::warn!(payment.id = %payment.id, "paid amount differs from the session's");
                return Ok((
                    Some(order.id),
                    "amount differs from the session's: left for review".into(),
                ));
            }
            shop::finish_payment(
                conn,
                payment.id,
                PaymentStatus::Succeeded,
                event.data.payment_id.as_deref(),
            )?;
            // In a savepoint: a late payment whose units were sold since leaves nothing
            // half-taken, and the money goes back to the buyer through a job.
            match conn.transaction(|conn| {
                settle(conn, None, order, PaymentMethod::Card, payment.amount_cents)
            }) {
                Ok(o) => Ok((Some(o.id), "order paid".into())),
                Err(AppError::Conflict { message, .. }) => {
                    tracing::warn!(payment.id = %payment.id, "{message}: refunding the payment");
                    crate::jobs::enqueue(
                        conn,
                        super::REFUND_LATE_JOB,
                        json!({"payment": payment.id.0}),
                        Utc::now(),
                        5,
                    )?;
                    Ok((
                        Some(payment.order_id),
                        format!("payment received but {message}: refunded"),
                    ))
                }
                Err(e) => Err(e),
            }
        }
        "refund.succeeded" => {
            let id = event.data.refund_id.as_deref().unwrap_or("");
            if let Some(r) = shop::refund_by_provider_id(conn, id)? {
                return Ok((Some(r.order_id), format!("refund {}", r.status)));
            }
            // A refund whose call got no answer: the provider's word completes it.
            let Some(payment) = event
                .data
                .payment_id
                .as_deref()
                .and_then(|p| shop::payment_by_provider_id(conn, p).ok())
            else {
                return Ok((None, "refund of an unknown payment: ignored".into()));
            };
            let order = shop::order(conn, payment.organization_id, payment.order_id, true)?;
            let pending = shop::refunds_of(conn, order.id)?.into_iter().find(|r| {
                r.status == RefundStatus::Pending
                    && Some(r.amount_cents) == event.data.refund_amount
            });
            match pending {
                Some(r)
                    if matches!(
                        order.status,
                        OrderStatus::Paid | OrderStatus::PartiallyRefunded
                    ) =>
                {
                    complete_refund(conn, None, order, &r, Some(id))?;
                    Ok((Some(payment.order_id), "pending refund completed".into()))
                }
                _ => Ok((Some(payment.order_id), "refund recorded by its call".into())),
            }
        }
        other => Ok((None, format!("event type {other} ignored"))),
    }
}

/// Records a payment by bank transfer or on site (organizers): the whole amount due; the
/// order is paid and invoiced.
pub fn record(
    conn: &mut Conn,
    actor: &Actor,
    id: OrderId,
    method: PaymentMethod,
    amount_cents: i64,
    bank_reference: Option<String>,
) -> AppResult<OrderView> {
    actor.organizer_org()?;
    let order = orders::changeable(conn, actor, id)?;
    if method == PaymentMethod::Card {
        return Err(AppError::field(
            "method",
            "card payments are recorded by the provider's webhook, not by hand",
        ));
    }
    if !matches!(
        order.status,
        OrderStatus::PendingPayment | OrderStatus::Cancelled
    ) {
        return Err(AppError::conflict(format!(
            "the order is already {}",
            order.status
        )));
    }
    if shop::payments_of(conn, order.id)?
        .iter()
        .any(|p| p.method == PaymentMethod::Card && p.status == PaymentStatus::Pending)
        && order.status == OrderStatus::PendingPayment
    {
        return Err(AppError::conflict(
            "a card payment of this order is under way: cancel it at the provider, or wait for it, before recording another",
        ));
    }
    if amount_cents != order.total_incl_cents {
        return Err(AppError::field(
            "amount_cents",
            format!(
                "must be the order's total, {} cents",
                order.total_incl_cents
            ),
        ));
    }
    let mut c = crate::fields::Check::new();
    let bank_reference = c.opt_text::<200>("bank_reference", bank_reference.as_deref());
    c.finish()?;
    shop::insert_payment(
        conn,
        &NewPayment {
            organization_id: order.organization_id,
            order_id: order.id,
            method,
            status: PaymentStatus::Succeeded,
            amount_cents,
            bank_reference,
            recorded_by: Some(actor.user),
            completed_at: Some(Utc::now()),
        },
    )?;
    let order = conn.transaction(|conn| settle(conn, Some(actor), order, method, amount_cents))?;
    view(conn, order)
}

/// A line of a bank statement.
#[derive(Debug, Clone, Deserialize)]
pub struct StatementLine {
    /// The transfer's label as the bank shows it; it should hold the order's reference.
    pub label: String,
    pub amount_cents: i64,
}

/// What became of one statement line.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciled {
    pub line: usize,
    pub reference: Option<String>,
    pub order_id: Option<OrderId>,
    /// `paid`, or why the line was left for a person to look at.
    pub outcome: String,
}

/// Matches a bank statement's lines to the event's orders by the reference each label holds
/// (RDV-XXXXXXXXXX) and the amount; each matched order is recorded as paid by transfer.
pub fn reconcile(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    lines: Vec<StatementLine>,
) -> AppResult<Vec<Reconciled>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    if lines.len() > 5000 {
        return Err(AppError::field("lines", "at most 5000 lines per statement"));
    }
    let re = regex::Regex::new(r"RDV-[A-HJ-NP-Z2-9]{10}").map_err(AppError::internal)?;
    let mut out = Vec::with_capacity(lines.len());
    let mut persons = Vec::new();
    for (i, l) in lines.into_iter().enumerate() {
        let label = l.label.to_uppercase();
        let Some(reference) = re.find(&label).map(|m| m.as_str().to_owned()) else {
            out.push(Reconciled {
                line: i,
                reference: None,
                order_id: None,
                outcome: "no order reference in the label".into(),
            });
            continue;
        };
        // One transaction per line: a long statement never holds the invoice sequence or
        // the products while the next lines are read.
        // The order matched (with its person, for the audit row) and what became of the line.
        let (matched, outcome) = conn.transaction(
            |conn| -> AppResult<(Option<(OrderId, rdv_domain::PersonId)>, String)> {
                let order = match shop::order_by_reference(conn, org, &reference, true) {
                    Ok(o) if o.event_id == event => o,
                    _ => return Ok((None, "no order of this event has this reference".into())),
                };
                let found = Some((order.id, order.person_id));
                if !matches!(
                    order.status,
                    OrderStatus::PendingPayment | OrderStatus::Cancelled
                ) {
                    return Ok((found, format!("the order is already {}", order.status)));
                }
                if l.amount_cents != order.total_incl_cents {
                    return Ok((
                        found,
                        format!(
                            "the amount differs from the order's total, {} cents",
                            order.total_incl_cents
                        ),
                    ));
                }
                let label: String = l.label.chars().take(200).collect();
                match conn.transaction(|conn| {
                    record(
                        conn,
                        actor,
                        order.id,
                        PaymentMethod::BankTransfer,
                        l.amount_cents,
                        Some(label),
                    )
                }) {
                    Ok(_) => Ok((found, "paid".into())),
                    Err(AppError::Conflict { message, .. }) => Ok((found, message)),
                    Err(e) => Err(e),
                }
            },
        )?;
        if let Some((_, person)) = matched {
            persons.push(person);
        }
        out.push(Reconciled {
            line: i,
            reference: Some(reference),
            order_id: matched.map(|(id, _)| id),
            outcome,
        });
    }
    audit::record(
        conn,
        actor,
        Audit {
            action: "payment.reconcile",
            subject_type: "order",
            subject_ids: out.iter().filter_map(|r| r.order_id.map(|o| o.0)).collect(),
            person_ids: audit::person_ids(persons),
            fields: vec![],
        },
    )?;
    Ok(out)
}

/// Refunds part or all of what an order's buyer paid (organization admins). A card payment
/// is refunded through the provider; a transfer or an on-site payment is paid back by the
/// organizer, and recorded here. Either way a credit note is issued; an order refunded in
/// whole gives its units back.
pub fn refund(
    conn: &mut Conn,
    settings: &ShopSettings,
    actor: &Actor,
    id: OrderId,
    amount_cents: i64,
    reason: String,
) -> AppResult<OrderView> {
    actor.admin_org()?;
    let mut c = crate::fields::Check::new();
    let reason = c.text::<200>("reason", &reason);
    if amount_cents <= 0 {
        c.add("amount_cents", "must be a positive number of cents");
    }
    c.finish()?;
    let reason = reason.unwrap_or_default();
    let (refund, card_payment) = conn.transaction(|conn| {
        let order = orders::changeable(conn, actor, id)?;
        if !matches!(order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded) {
            return Err(AppError::conflict(format!(
                "only a paid order can be refunded; this one is {}",
                order.status
            )));
        }
        let pending: i64 = shop::refunds_of(conn, order.id)?
            .iter()
            .filter(|r| r.status == RefundStatus::Pending)
            .map(|r| r.amount_cents)
            .sum();
        let refundable = order.paid_cents - order.refunded_cents - pending;
        if amount_cents > refundable {
            return Err(AppError::field(
                "amount_cents",
                format!("at most {refundable} cents can be refunded: more than was paid is never refunded"),
            ));
        }
        let card = shop::payments_of(conn, order.id)?
            .into_iter()
            .find(|p| p.method == PaymentMethod::Card && p.status == PaymentStatus::Succeeded);
        let refund = shop::insert_refund(
            conn,
            &NewRefund {
                organization_id: order.organization_id,
                order_id: order.id,
                payment_id: card.as_ref().map(|p| p.id),
                amount_cents,
                reason: reason.clone(),
                status: RefundStatus::Pending,
                requested_by: Some(actor.user),
            },
        )?;
        if card.is_none() {
            complete_refund(conn, Some(actor), order, &refund, None)?;
        }
        Ok((refund, card))
    })?;
    if let Some(card) = card_payment {
        let answer = Provider::new(settings).post(
            "/v1/refunds",
            &format!(
                "refund-{}-{}",
                refund.id,
                refund.created_at.timestamp_micros()
            ),
            json!({
                "payment_id": card.provider_payment_id,
                "amount": amount_cents,
                "reason": reason,
            }),
        );
        match answer {
            Ok(r) => {
                let provider_id = r["id"].as_str().map(str::to_owned);
                conn.transaction(|conn| {
                    let order = orders::visible(conn, actor, id, true)?;
                    complete_refund(conn, Some(actor), order, &refund, provider_id.as_deref())
                })?;
            }
            // No answer: the provider may have refunded. The refund stays pending (its amount
            // cannot be refunded twice) until the provider's refund webhook completes it.
            Err(r @ Refusal::Down(_)) => return Err(upstream("refund", r)),
            Err(r) => {
                conn.transaction(|conn| {
                    shop::finish_refund(conn, refund.id, RefundStatus::Failed, None)
                })?;
                return Err(upstream("refund", r));
            }
        }
    }
    let order = shop::order(
        conn,
        actor.organization.unwrap_or(rdv_domain::OrganizationId(0)),
        id,
        false,
    )?;
    view(conn, order)
}

fn complete_refund(
    conn: &mut Conn,
    actor: Option<&Actor>,
    order: Order,
    refund: &rdv_db::models::Refund,
    provider_id: Option<&str>,
) -> AppResult<()> {
    // Completed once: by the call's answer or by the provider's webhook, whichever comes
    // first (the caller holds the order's lock, so they take turns here).
    if shop::refund_for_update(conn, refund.id)?.status != RefundStatus::Pending {
        return Ok(());
    }
    let refund = shop::finish_refund(conn, refund.id, RefundStatus::Succeeded, provider_id)?;
    let whole = order.refunded_cents + refund.amount_cents >= order.paid_cents;
    let status = if whole {
        OrderStatus::Refunded
    } else {
        OrderStatus::PartiallyRefunded
    };
    let order = shop::add_refunded(conn, order.id, refund.amount_cents, status)?;
    if whole {
        for l in shop::lines_of(conn, order.id)? {
            shop::unsell_units(conn, l.product_id, l.quantity)?;
        }
    }
    super::invoices::credit_note(
        conn,
        &order,
        refund.amount_cents,
        &refund.reason,
        Some(&refund),
    )?;
    let entry = Audit {
        action: "order.refund",
        subject_type: "order",
        subject_ids: vec![order.id.0],
        person_ids: vec![order.person_id.0],
        fields: vec!["status"],
    };
    match actor {
        Some(a) => audit::record(conn, a, entry),
        None => audit::record_as(conn, Some(order.organization_id), None, None, entry),
    }
}

/// The `shop.refund_late_payment` job: a card payment completed at the provider after its
/// order was cancelled and its units sold since goes back to the buyer in full. No credit
/// note: the order was never invoiced. A retry sends the same idempotency key, so the
/// provider refunds once.
pub fn refund_late_payment(
    conn: &mut Conn,
    settings: &ShopSettings,
    job: &rdv_db::models::Job,
) -> anyhow::Result<()> {
    let id = job
        .payload
        .get("payment")
        .and_then(Value::as_i64)
        .map(rdv_domain::PaymentId)
        .ok_or_else(|| anyhow::anyhow!("job payload names no payment"))?;
    let payment = shop::payment(conn, id)?;
    if shop::refunds_of(conn, payment.order_id)?
        .iter()
        .any(|r| r.payment_id == Some(id) && r.status == RefundStatus::Succeeded)
    {
        return Ok(());
    }
    let answer = Provider::new(settings)
        .post(
            "/v1/refunds",
            &format!(
                "late-{}-{}",
                payment.id,
                payment.created_at.timestamp_micros()
            ),
            json!({"payment_id": payment.provider_payment_id, "amount": payment.amount_cents,
                "reason": "paid after the order was cancelled"}),
        )
        .map_err(|r| anyhow::anyhow!("{}", upstream("refund", r)))?;
    conn.transaction(|conn| -> AppResult<()> {
        let refund = shop::insert_refund(
            conn,
            &NewRefund {
                organization_id: payment.organization_id,
                order_id: payment.order_id,
                payment_id: Some(payment.id),
                amount_cents: payment.amount_cents,
                reason: "paid after the order was cancelled".into(),
                status: RefundStatus::Pending,
                requested_by: None,
            },
        )?;
        shop::finish_refund(
            conn,
            refund.id,
            RefundStatus::Succeeded,
            answer["id"].as_str(),
        )?;
        Ok(())
    })?;
    tracing::info!(payment.id = %payment.id, "late payment refunded");
    Ok(())
}
