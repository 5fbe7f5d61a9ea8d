//! Orders: placed once per idempotency key, priced by `rdv_shop::pricing` at the prices of the
//! current sale windows, holding their units (never more than the capacity, whatever the
//! concurrency) until paid or until the hold runs out, and moving between states with an
//! audit row each time.

use super::invoices;
use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use chrono::{DateTime, Duration, Utc};
use diesel::{Connection, RunQueryDsl};
use rdv_db::models::{Invoice, NewOrder, Order, OrderLine, Payment, Person, Product, Refund};
use rdv_db::queries::{events, persons, registrations, shop};
use rdv_db::{Conn, DbError};
use rdv_domain::{
    DataSource, EventId, LegalBasis, OrderId, OrderStatus, OrganizationId, PaymentMethod, PersonId,
    ProductId, ProductKind, RetentionPolicy, Role, VatTreatmentKind,
};
use rdv_shop::pricing::{self, Discount, Item, VatTreatment};
use rdv_shop::vat_number::{in_eu, VatNumber};
use rdv_shop::VatRate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// One line as asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemInput {
    pub product_id: ProductId,
    pub quantity: i64,
}

/// Who is invoiced, when it is not the person's own name and address as recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuyerInput {
    /// A business buyer (the invoice then names the company, and carries the 40 € recovery
    /// indemnity); a business in another EU state with a VAT number is reverse-charged.
    pub business: bool,
    pub company: Option<String>,
    pub vat_number: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OrderInput {
    /// The same key returns the same order: a repeated submission creates nothing.
    pub idempotency_key: String,
    /// Organizers order for a person of theirs; participants for themselves (absent).
    pub person_id: Option<PersonId>,
    pub items: Vec<ItemInput>,
    pub voucher: Option<String>,
    pub buyer: BuyerInput,
}

/// The buyer as the order and its invoices name them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BuyerSnapshot {
    pub name: String,
    pub email: String,
    pub business: bool,
    pub company: Option<String>,
    pub vat_number: Option<String>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}

/// An order with everything that happened to it.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: Order,
    pub lines: Vec<OrderLine>,
    pub payments: Vec<Payment>,
    pub refunds: Vec<Refund>,
    pub invoices: Vec<Invoice>,
}

pub(crate) fn view(conn: &mut Conn, order: Order) -> AppResult<OrderView> {
    Ok(OrderView {
        lines: shop::lines_of(conn, order.id)?,
        payments: shop::payments_of(conn, order.id)?,
        refunds: shop::refunds_of(conn, order.id)?,
        invoices: shop::invoices_of_order(conn, order.id)?,
        order,
    })
}

fn audit_order(
    conn: &mut Conn,
    actor: Option<&Actor>,
    order: &Order,
    action: &str,
) -> AppResult<()> {
    let entry = Audit {
        action,
        subject_type: "order",
        subject_ids: vec![order.id.0],
        person_ids: vec![order.person_id.0],
        fields: vec!["buyer", "status"],
    };
    match actor {
        Some(a) => audit::record(conn, a, entry),
        None => audit::record_as(conn, Some(order.organization_id), None, None, entry),
    }
}

fn reference() -> String {
    use rand::Rng;
    // No 0/O or 1/I: references are read out on the phone and typed in bank transfers.
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let code: String = (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("RDV-{code}")
}

/// The person ordering, and whose order it is: participants order for themselves,
/// organizers for a person of their organization.
fn orderer(
    conn: &mut Conn,
    actor: &Actor,
    person: Option<PersonId>,
) -> AppResult<(OrganizationId, Person)> {
    let (org, id) = match (actor.role, person) {
        (Role::Participant, None) => actor.participant()?,
        (Role::Participant, Some(_)) => {
            return Err(AppError::field(
                "person_id",
                "participants order for themselves: leave it out",
            ))
        }
        (_, Some(p)) => (actor.organizer_org()?, p),
        (_, None) => {
            actor.organizer_org()?;
            return Err(AppError::field(
                "person_id",
                "is required when an organizer orders",
            ));
        }
    };
    let p = persons::get(conn, org, id).map_err(|_| AppError::not_found("person"))?;
    if p.privacy.erased_at.is_some() {
        return Err(AppError::not_found("person"));
    }
    if p.privacy.restricted_at.is_some() {
        return Err(AppError::conflict(
            "this person's processing is restricted: nothing can be sold to them until the restriction is lifted",
        ));
    }
    Ok((org, p))
}

fn snapshot(c: &mut Check, person: &Person, b: &BuyerInput) -> Option<BuyerSnapshot> {
    let pick = |given: &Option<String>, recorded: &Option<String>| {
        given
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or_else(|| recorded.clone())
    };
    let company =
        pick(&b.company, &person.company).and_then(|s| c.text::<200>("buyer.company", &s));
    let address_line1 = pick(&b.address_line1, &person.address_line1)
        .and_then(|s| c.text::<200>("buyer.address_line1", &s));
    let address_line2 = pick(&b.address_line2, &person.address_line2)
        .and_then(|s| c.text::<200>("buyer.address_line2", &s));
    let postal_code = pick(&b.postal_code, &person.postal_code)
        .and_then(|s| c.text::<20>("buyer.postal_code", &s));
    let city = pick(&b.city, &person.city).and_then(|s| c.text::<100>("buyer.city", &s));
    let country =
        pick(&b.country, &person.country).and_then(|s| c.country("buyer.country", Some(&s)));
    for (field, v) in [
        ("buyer.address_line1", &address_line1),
        ("buyer.postal_code", &postal_code),
        ("buyer.city", &city),
        ("buyer.country", &country),
    ] {
        if v.is_none() && !c.has(field) {
            c.add(field, "is required: the invoice names the buyer's address");
        }
    }
    if b.business && company.is_none() && !c.has("buyer.company") {
        c.add("buyer.company", "is required for a business buyer");
    }
    let vat_number = match b
        .vat_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(_) if !b.business => {
            c.add("buyer.vat_number", "only a business buyer has a VAT number");
            None
        }
        Some(v) => c
            .check("buyer.vat_number", VatNumber::parse(v))
            .map(|v| v.as_str().to_owned()),
    };
    Some(BuyerSnapshot {
        name: format!("{} {}", person.first_name, person.last_name),
        email: person.email.clone(),
        business: b.business,
        company,
        vat_number,
        address_line1: address_line1?,
        address_line2,
        postal_code: postal_code?,
        city: city?,
        country: country?,
    })
}

/// Reverse charge applies to a business buyer of another EU member state with a VAT number
/// of that state.
pub(crate) fn treatment(buyer: &BuyerSnapshot) -> VatTreatment {
    match (&buyer.vat_number, buyer.business) {
        (Some(v), true) => match VatNumber::parse(v) {
            Ok(n) if n.country() != "FR" && in_eu(n.country()) && n.country() == buyer.country => {
                VatTreatment::ReverseCharge
            }
            _ => VatTreatment::Standard,
        },
        _ => VatTreatment::Standard,
    }
}

fn digest(
    person: PersonId,
    items: &[ItemInput],
    voucher: &Option<String>,
    buyer: &BuyerInput,
) -> String {
    let canonical = json!({"person": person, "items": items, "voucher": voucher, "buyer": buyer});
    let hash = Sha256::digest(canonical.to_string().as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Places an order, or returns the one placed before with the same key (`false`). Its units
/// are held for `hold_minutes`; a sold-out product, a voucher used up or expired, a product
/// outside its sale window is a 4xx naming the line, and nothing is written.
pub fn place(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    input: OrderInput,
    hold_minutes: i64,
) -> AppResult<(OrderView, bool)> {
    let (org, person) = orderer(conn, actor, input.person_id)?;
    let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let key = input.idempotency_key.trim().to_owned();
    if !(8..=100).contains(&key.len()) || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::field(
            "idempotency_key",
            "must be 8 to 100 printable ASCII characters (a random UUID is a good key)",
        ));
    }
    let voucher_code = input
        .voucher
        .as_deref()
        .map(|v| v.trim().to_uppercase())
        .filter(|v| !v.is_empty());
    let request_digest = digest(person.id, &input.items, &voucher_code, &input.buyer);
    // A person's orders for an event take their turn here: a repeated key finds the first
    // order, and two packages cannot both pass the one-package check.
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind::<diesel::sql_types::Integer, _>((person.id.0 % i32::MAX as i64) as i32)
        .bind::<diesel::sql_types::Integer, _>((event.0 % i32::MAX as i64) as i32)
        .execute(conn)
        .map_err(AppError::internal)?;
    if let Some(existing) = shop::order_by_key(conn, person.id, &key)? {
        if existing.request_digest != request_digest {
            return Err(AppError::conflict_on(
                "idempotency_key",
                "this key was used for another order: use a new key for a new order",
            ));
        }
        return Ok((view(conn, existing)?, false));
    }

    let registration = registrations::of_person(conn, person.id)?
        .into_iter()
        .find(|r| r.event_id == event && r.privacy.erased_at.is_none())
        .ok_or_else(|| {
            AppError::conflict("the person is not registered to the event: register through the event's form first")
        })?;
    if !matches!(
        registration.status,
        rdv_domain::RegistrationStatus::Pending | rdv_domain::RegistrationStatus::Validated
    ) {
        return Err(AppError::conflict(format!(
            "the person's registration is {}: nothing can be sold for it",
            registration.status
        )));
    }

    let mut c = Check::new();
    let buyer = snapshot(&mut c, &person, &input.buyer);
    if input.items.is_empty() {
        c.add("items", "an order needs at least one product");
    }
    if input.items.len() > 20 {
        c.add("items", "at most 20 lines");
    }
    let ids: Vec<ProductId> = input.items.iter().map(|i| i.product_id).collect();
    let products: Vec<Product> = shop::products_by_id(conn, &ids)?;
    let all_prices = shop::prices_of(conn, &ids)?;
    let now = Utc::now();
    let mut items = Vec::new();
    let mut packages = 0;
    for (i, it) in input.items.iter().enumerate() {
        let Some(p) = products
            .iter()
            .find(|p| p.id == it.product_id && p.event_id == event && p.active)
        else {
            c.add(
                &format!("items[{i}].product_id"),
                "is not a product on sale at this event",
            );
            continue;
        };
        if input.items[..i]
            .iter()
            .any(|o| o.product_id == it.product_id)
        {
            c.add(
                &format!("items[{i}].product_id"),
                "is already in the order: give its quantity once",
            );
        }
        if !(1..=p.max_per_order as i64).contains(&it.quantity) {
            c.add(
                &format!("items[{i}].quantity"),
                format!("must be between 1 and {}", p.max_per_order),
            );
        }
        if p.kind == ProductKind::Package {
            packages += 1;
            if p.participant_type != Some(registration.participant_type) {
                c.add(
                    &format!("items[{i}].product_id"),
                    format!(
                        "this package is for {} participants; the person is registered as {}",
                        p.participant_type.map(|t| t.as_str()).unwrap_or("other"),
                        registration.participant_type
                    ),
                );
            }
        }
        let windows: Vec<_> = all_prices
            .iter()
            .filter(|w| w.product_id == p.id)
            .cloned()
            .collect();
        let Some(price) = super::catalogue::price_at(&windows, now) else {
            let next = windows.iter().find(|w| w.starts_at > now);
            c.add(
                &format!("items[{i}].product_id"),
                match next {
                    Some(w) => format!(
                        "is not on sale yet: sales open on {}",
                        w.starts_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    None => "is no longer on sale: its sale windows are over".to_owned(),
                },
            );
            continue;
        };
        items.push(Item {
            product_id: p.id.0,
            label: format!("{} - {}", p.name, price.label),
            quantity: it.quantity,
            unit_price_cents: price.price_cents,
            vat_rate: VatRate::from_basis_points(p.vat_rate_bp as i64).unwrap_or(VatRate::Standard),
            exemption: p.vat_exemption.clone(),
        });
    }
    if packages > 1 {
        c.add("items", "an order holds one package at most");
    }
    c.finish()?;
    let buyer = buyer.ok_or_else(|| AppError::internal("checked buyer missing"))?;
    if packages > 0 && shop::has_package_order(conn, person.id, event)? {
        return Err(AppError::conflict_on(
            "items",
            "the person already has a package for this event, paid or awaiting payment",
        ));
    }

    // The voucher: one use taken now, given back if the order is cancelled before payment.
    let mut voucher = None;
    if let Some(code) = &voucher_code {
        let v = shop::voucher_by_code(conn, event, code)
            .map_err(|_| AppError::field("voucher", "is not a voucher of this event"))?;
        if v.valid_until.is_some_and(|t| t <= now) {
            return Err(AppError::field("voucher", "has expired"));
        }
        if v.product_id.is_some_and(|p| !ids.contains(&p)) {
            return Err(AppError::field(
                "voucher",
                "applies only to orders holding another product",
            ));
        }
        if !shop::use_voucher(conn, v.id, now)? {
            return Err(AppError::conflict_on(
                "voucher",
                "has been used as many times as it allows",
            ));
        }
        voucher = Some(v);
    }
    let discount = voucher
        .as_ref()
        .map(|v| match (v.percent_bp, v.amount_cents) {
            (Some(bp), _) => Discount::Percent(bp as i64),
            (None, Some(a)) => Discount::Amount(a),
            (None, None) => Discount::Amount(0),
        });
    let vat_treatment = treatment(&buyer);
    let scope = voucher.as_ref().and_then(|v| v.product_id).map(|p| p.0);
    let priced = pricing::price(&items, discount, scope, vat_treatment)
        .map_err(|e| AppError::field("items", e.to_string()))?;

    // The units: one conditional UPDATE per product, in id order so concurrent orders of
    // several products cannot deadlock.
    let mut holds: Vec<(usize, &ItemInput)> = input.items.iter().enumerate().collect();
    holds.sort_by_key(|(_, it)| it.product_id);
    for (i, it) in holds {
        if !shop::hold_units(conn, it.product_id, it.quantity as i32)? {
            return Err(AppError::conflict_on(
                format!("items[{i}].product_id"),
                "sold out: no units left of this product",
            ));
        }
    }

    let retention = RetentionPolicy::ContractualProof.deadline(now);
    let new = NewOrder {
        organization_id: org,
        event_id: event,
        person_id: person.id,
        registration_id: Some(registration.id),
        reference: reference(),
        idempotency_key: key,
        request_digest,
        created_by: Some(actor.user),
        hold_until: now + Duration::minutes(hold_minutes),
        voucher_id: voucher.as_ref().map(|v| v.id),
        buyer: serde_json::to_value(&buyer).map_err(AppError::internal)?,
        vat_treatment: match vat_treatment {
            VatTreatment::Standard => VatTreatmentKind::Standard,
            VatTreatment::ReverseCharge => VatTreatmentKind::ReverseCharge,
        },
        pricing: serde_json::to_value(&priced).map_err(AppError::internal)?,
        total_excl_cents: priced.total_excl_cents,
        total_vat_cents: priced.total_vat_cents,
        total_incl_cents: priced.total_incl_cents,
        payment_method: None,
        legal_basis: LegalBasis::Contract,
        retention_until: retention,
        source: DataSource::Registration,
    };
    let order = shop::insert_order(conn, &new).map_err(|e| match e {
        DbError::Conflict(_) => {
            AppError::conflict("an order with this reference exists; try again")
        }
        other => other.into(),
    })?;
    let lines: Vec<OrderLine> = priced
        .lines
        .iter()
        .map(|l| OrderLine {
            id: 0,
            order_id: order.id,
            product_id: ProductId(l.product_id),
            label: l.label.clone(),
            quantity: l.quantity as i32,
            unit_price_cents: l.unit_price_cents,
            discount_cents: l.discount_cents,
            net_cents: l.net_cents,
            vat_rate_bp: l.vat_rate.basis_points() as i32,
        })
        .collect();
    shop::insert_lines(conn, &lines)?;
    audit_order(conn, Some(actor), &order, "order.create")?;
    let _ = ev;
    // An order that costs nothing (a voucher of 100 %) is paid as soon as it is placed.
    let order = if order.total_incl_cents == 0 {
        settle(conn, Some(actor), order, PaymentMethod::OnSite, 0)?
    } else {
        order
    };
    Ok((view(conn, order)?, true))
}

/// The order `id`: its buyer (a participant) or the organizers.
pub fn get(conn: &mut Conn, actor: &Actor, id: OrderId) -> AppResult<OrderView> {
    let order = visible(conn, actor, id, false)?;
    if actor.role.is_organizer() {
        audit_order(conn, Some(actor), &order, "order.read")?;
    }
    view(conn, order)
}

/// The order if the actor may change it: visible, and not under restriction.
pub(crate) fn changeable(conn: &mut Conn, actor: &Actor, id: OrderId) -> AppResult<Order> {
    let order = visible(conn, actor, id, true)?;
    crate::restriction::ensure_changeable(order.privacy.restricted_at, "order")?;
    Ok(order)
}

/// The order if the actor may see it (participants: their own), locked when `lock`.
pub(crate) fn visible(conn: &mut Conn, actor: &Actor, id: OrderId, lock: bool) -> AppResult<Order> {
    let org = actor
        .organization
        .ok_or_else(|| AppError::not_found("order"))?;
    let order = shop::order(conn, org, id, lock).map_err(|e| AppError::from_db("order", e))?;
    if order.privacy.erased_at.is_some() && actor.role != Role::OrgAdmin {
        return Err(AppError::not_found("order"));
    }
    crate::restriction::ensure_visible(actor, order.privacy.restricted_at, "order")?;
    match actor.role {
        Role::Participant if actor.person != Some(order.person_id) => {
            Err(AppError::not_found("order"))
        }
        Role::Participant | Role::OrgAdmin | Role::OrgStaff => Ok(order),
        _ => Err(AppError::not_found("order")),
    }
}

/// An event's orders for the organizers, newest first.
pub fn list(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    status: Option<OrderStatus>,
    page: crate::paging::Paging,
) -> AppResult<crate::paging::Listed<Order>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let found = shop::orders_of_event(
        conn,
        org,
        event,
        status,
        None,
        crate::restriction::sees_restricted(actor),
        page.page,
    )?;
    if !found.items.is_empty() {
        audit::record(
            conn,
            actor,
            Audit {
                action: "order.list",
                subject_type: "order",
                subject_ids: found.items.iter().map(|o| o.id.0).collect(),
                person_ids: audit::person_ids(found.items.iter().map(|o| o.person_id)),
                fields: vec!["buyer", "status"],
            },
        )?;
    }
    Ok(crate::paging::Listed::new(found, page))
}

/// The participant's own orders for the event.
pub fn mine(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Vec<OrderView>> {
    let (org, person) = actor.participant()?;
    let found = shop::orders_of_event(
        conn,
        org,
        event,
        None,
        Some(person),
        true,
        rdv_db::queries::Page {
            limit: 100,
            offset: 0,
        },
    )?;
    found.items.into_iter().map(|o| view(conn, o)).collect()
}

/// Gives back what an unpaid order holds: its units and its voucher use.
/// Gives back what an unpaid order holds: its card sessions, its voucher use and its units,
/// in the platform's lock order (order, payments, voucher, products by id); an invoice
/// issued on demand is cancelled by a credit note.
fn release(conn: &mut Conn, order: &Order) -> AppResult<()> {
    for p in shop::payments_of(conn, order.id)? {
        if p.status == rdv_domain::PaymentStatus::Pending {
            shop::finish_payment(conn, p.id, rdv_domain::PaymentStatus::Cancelled, None)?;
        }
    }
    if let Some(v) = order.voucher_id {
        shop::release_voucher(conn, v)?;
    }
    let mut lines = shop::lines_of(conn, order.id)?;
    lines.sort_by_key(|l| l.product_id);
    for line in lines {
        shop::release_units(conn, line.product_id, line.quantity)?;
    }
    invoices::cancel_invoice(conn, order)?;
    Ok(())
}

/// Cancels an order awaiting payment (its buyer, or the organizers); a paid order is refunded
/// instead.
pub fn cancel(
    conn: &mut Conn,
    actor: &Actor,
    id: OrderId,
    reason: Option<String>,
) -> AppResult<OrderView> {
    let order = changeable(conn, actor, id)?;
    if order.status != OrderStatus::PendingPayment {
        return Err(AppError::conflict(format!(
            "only an order awaiting payment can be cancelled; this one is {} (a paid order is refunded)",
            order.status
        )));
    }
    let mut c = Check::new();
    let reason = c.opt_text::<500>("reason", reason.as_deref());
    c.finish()?;
    release(conn, &order)?;
    let order = shop::set_order_status(
        conn,
        order.id,
        OrderStatus::Cancelled,
        Some(reason.as_deref().unwrap_or("cancelled before payment")),
    )?;
    audit_order(conn, Some(actor), &order, "order.cancel")?;
    view(conn, order)
}

/// Cancels the orders whose hold ran out before `now`, giving their units back; batches of a
/// hundred, each in its own transaction. Returns how many were cancelled.
pub fn expire_holds(conn: &mut Conn, now: DateTime<Utc>) -> AppResult<usize> {
    let mut total = 0;
    loop {
        let n = conn.transaction(|conn| -> AppResult<usize> {
            let expired = shop::expired_holds(conn, now, 100)?;
            for order in &expired {
                release(conn, order)?;
                let o = shop::set_order_status(
                    conn,
                    order.id,
                    OrderStatus::Cancelled,
                    Some("payment not received in time"),
                )?;
                audit_order(conn, None, &o, "order.expire")?;
            }
            Ok(expired.len())
        })?;
        total += n;
        if n < 100 {
            return Ok(total);
        }
    }
}

/// Records the order as paid (`order` locked by the caller): its held units become sold, the
/// registration gets the meeting quota its products grant, and the invoice is issued. An
/// order cancelled because its hold ran out is revived if its units are still available;
/// otherwise the payment is a conflict the caller refunds.
pub(crate) fn settle(
    conn: &mut Conn,
    actor: Option<&Actor>,
    order: Order,
    method: PaymentMethod,
    amount: i64,
) -> AppResult<Order> {
    let mut lines = shop::lines_of(conn, order.id)?;
    lines.sort_by_key(|l| l.product_id);
    match order.status {
        OrderStatus::PendingPayment => {}
        OrderStatus::Cancelled => {
            // A late payment: take the voucher use and the units again if they are still
            // there (the caller's savepoint undoes what was taken when they are not).
            if let Some(v) = order.voucher_id {
                if !shop::use_voucher(conn, v, Utc::now())? {
                    return Err(AppError::conflict(
                        "the order was cancelled when its hold ran out and its voucher has been used up since",
                    ));
                }
            }
            for l in &lines {
                if !shop::hold_units(conn, l.product_id, l.quantity)? {
                    return Err(AppError::conflict(
                        "the order was cancelled when its hold ran out and its units have been sold since",
                    ));
                }
            }
        }
        other => {
            return Err(AppError::conflict(format!("the order is already {other}")));
        }
    }
    for l in &lines {
        shop::sell_units(conn, l.product_id, l.quantity)?;
    }
    let order = shop::mark_paid(conn, order.id, method, amount)?;
    if let Some(reg) = order.registration_id {
        // The quota is what every paid order of the registration grants, this one included.
        if let Some(quota) = shop::paid_quota(conn, reg)? {
            shop::set_registration_quota(conn, reg, quota)?;
        }
    }
    audit_order(conn, actor, &order, "order.paid")?;
    invoices::issue_for_order(conn, &order)?;
    Ok(order)
}

/// The treatment of a stored order.
pub(crate) fn stored_buyer(order: &Order) -> AppResult<BuyerSnapshot> {
    serde_json::from_value(order.buyer.clone()).map_err(AppError::internal)
}

pub(crate) fn stored_pricing(order: &Order) -> AppResult<pricing::Priced> {
    serde_json::from_value(order.pricing.clone()).map_err(AppError::internal)
}
