//! The shop's rows: the seller's mentions, forms and answers, the catalogue, orders,
//! payments, refunds and invoices. Capacity, voucher uses and invoice numbers change through
//! single conditional statements, so concurrent buyers never oversell and two invoices never
//! share a number.

use crate::models::*;
use crate::queries::{Page, Paged};
use crate::schema::*;
use crate::{Conn, DbError, DbResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rdv_domain::*;

// --- the seller ---

pub fn seller(conn: &mut Conn, org: OrganizationId) -> DbResult<Seller> {
    Ok(organizations::table
        .find(org)
        .select(Seller::as_select())
        .first(conn)?)
}

pub fn update_seller(
    conn: &mut Conn,
    org: OrganizationId,
    change: &SellerChange,
) -> DbResult<Seller> {
    Ok(diesel::update(organizations::table.find(org))
        .set((change, organizations::updated_at.eq(Utc::now())))
        .returning(Seller::as_returning())
        .get_result(conn)?)
}

// --- consent texts ---

/// Stores a consent text under its version; the same version with another text is a
/// conflict (a version never changes once people consented to it).
pub fn record_consent_text(conn: &mut Conn, text: &ConsentText) -> DbResult<()> {
    // Insert first: of two writers of one version, the second then reads the first's words.
    diesel::insert_into(consent_texts::table)
        .values(text)
        .on_conflict_do_nothing()
        .execute(conn)?;
    let existing: Option<ConsentText> = consent_texts::table
        .filter(consent_texts::organization_id.eq(text.organization_id))
        .filter(consent_texts::purpose.eq(&text.purpose))
        .filter(consent_texts::version.eq(&text.version))
        .select(ConsentText::as_select())
        .first(conn)
        .optional()?;
    match existing {
        Some(e) if e.text_fr != text.text_fr || e.text_en != text.text_en => {
            Err(DbError::Conflict("consent_texts_version".into()))
        }
        _ => Ok(()),
    }
}

pub fn consent_texts_of(conn: &mut Conn, org: OrganizationId) -> DbResult<Vec<ConsentText>> {
    Ok(consent_texts::table
        .filter(consent_texts::organization_id.eq(org))
        .order(consent_texts::id)
        .select(ConsentText::as_select())
        .load(conn)?)
}

// --- forms ---

pub fn latest_form(
    conn: &mut Conn,
    event: EventId,
    participant_type: ParticipantType,
) -> DbResult<RegistrationForm> {
    Ok(registration_forms::table
        .filter(registration_forms::event_id.eq(event))
        .filter(registration_forms::participant_type.eq(participant_type))
        .order(registration_forms::version.desc())
        .select(RegistrationForm::as_select())
        .first(conn)?)
}

pub fn form(conn: &mut Conn, id: FormId) -> DbResult<RegistrationForm> {
    Ok(registration_forms::table
        .find(id)
        .select(RegistrationForm::as_select())
        .first(conn)?)
}

pub fn forms_of_event(conn: &mut Conn, event: EventId) -> DbResult<Vec<RegistrationForm>> {
    Ok(registration_forms::table
        .filter(registration_forms::event_id.eq(event))
        .order((
            registration_forms::participant_type,
            registration_forms::version.desc(),
        ))
        .select(RegistrationForm::as_select())
        .load(conn)?)
}

pub fn insert_form(conn: &mut Conn, new: &NewRegistrationForm) -> DbResult<RegistrationForm> {
    Ok(diesel::insert_into(registration_forms::table)
        .values(new)
        .returning(RegistrationForm::as_returning())
        .get_result(conn)?)
}

/// Writes the answers of a registration (a new submission replaces the former one, with the
/// form version it was given under).
pub fn upsert_answers(
    conn: &mut Conn,
    new: &NewRegistrationAnswers,
) -> DbResult<RegistrationAnswers> {
    Ok(diesel::insert_into(registration_answers::table)
        .values(new)
        .on_conflict(registration_answers::registration_id)
        .do_update()
        .set(new)
        .returning(RegistrationAnswers::as_returning())
        .get_result(conn)?)
}

/// The answers of an event's registrations, with the person, oldest first; restricted ones
/// only when `include_restricted`, erased ones never.
pub fn answers_of_event(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
    include_restricted: bool,
    page: Page,
) -> DbResult<Paged<(RegistrationAnswers, Person)>> {
    let filtered = || {
        let mut q = registration_answers::table
            .inner_join(persons::table.on(persons::id.eq(registration_answers::person_id)))
            .filter(registration_answers::organization_id.eq(org))
            .filter(registration_answers::event_id.eq(event))
            .filter(registration_answers::erased_at.is_null())
            .filter(persons::erased_at.is_null())
            .into_boxed();
        if !include_restricted {
            q = q
                .filter(registration_answers::restricted_at.is_null())
                .filter(persons::restricted_at.is_null());
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let items = filtered()
        .order(registration_answers::id)
        .limit(page.limit)
        .offset(page.offset)
        .select((RegistrationAnswers::as_select(), Person::as_select()))
        .load(conn)?;
    Ok(Paged { items, total })
}

// --- the catalogue ---

pub fn insert_product(conn: &mut Conn, new: &NewProduct) -> DbResult<Product> {
    Ok(diesel::insert_into(products::table)
        .values(new)
        .returning(Product::as_returning())
        .get_result(conn)?)
}

pub fn update_product(
    conn: &mut Conn,
    org: OrganizationId,
    id: ProductId,
    change: &NewProduct,
) -> DbResult<Product> {
    Ok(diesel::update(
        products::table
            .filter(products::organization_id.eq(org))
            .filter(products::id.eq(id)),
    )
    .set((change, products::updated_at.eq(Utc::now())))
    .returning(Product::as_returning())
    .get_result(conn)?)
}

/// The product `id` of the event, locked for the caller's transaction when `lock`.
pub fn product(conn: &mut Conn, event: EventId, id: ProductId, lock: bool) -> DbResult<Product> {
    let q = products::table
        .filter(products::event_id.eq(event))
        .filter(products::id.eq(id))
        .select(Product::as_select());
    Ok(if lock {
        q.for_update().first(conn)?
    } else {
        q.first(conn)?
    })
}

pub fn products_of_event(conn: &mut Conn, event: EventId) -> DbResult<Vec<Product>> {
    Ok(products::table
        .filter(products::event_id.eq(event))
        .order((products::kind.desc(), products::id))
        .select(Product::as_select())
        .load(conn)?)
}

pub fn insert_price(conn: &mut Conn, new: &NewProductPrice) -> DbResult<ProductPrice> {
    Ok(diesel::insert_into(product_prices::table)
        .values(new)
        .returning(ProductPrice::as_returning())
        .get_result(conn)?)
}

pub fn prices_of(conn: &mut Conn, ids: &[ProductId]) -> DbResult<Vec<ProductPrice>> {
    Ok(product_prices::table
        .filter(product_prices::product_id.eq_any(ids))
        .order((product_prices::product_id, product_prices::starts_at))
        .select(ProductPrice::as_select())
        .load(conn)?)
}

pub fn delete_prices(conn: &mut Conn, id: ProductId) -> DbResult<usize> {
    Ok(
        diesel::delete(product_prices::table.filter(product_prices::product_id.eq(id)))
            .execute(conn)?,
    )
}

/// Holds `quantity` units of the product for an order awaiting payment, if the capacity
/// allows: one conditional UPDATE, which concurrent buyers take one after the other on the
/// row's lock. False when sold out.
pub fn hold_units(conn: &mut Conn, id: ProductId, quantity: i32) -> DbResult<bool> {
    let n = diesel::sql_query(
        "UPDATE products SET held = held + $2 WHERE id = $1 \
         AND (capacity IS NULL OR held + sold + $2 <= capacity)",
    )
    .bind::<diesel::sql_types::BigInt, _>(id.0)
    .bind::<diesel::sql_types::Integer, _>(quantity)
    .execute(conn)?;
    Ok(n == 1)
}

/// Gives held units back (an order expired, failed or was cancelled before payment).
pub fn release_units(conn: &mut Conn, id: ProductId, quantity: i32) -> DbResult<()> {
    diesel::sql_query("UPDATE products SET held = greatest(held - $2, 0) WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id.0)
        .bind::<diesel::sql_types::Integer, _>(quantity)
        .execute(conn)?;
    Ok(())
}

/// Turns held units into sold ones (the order is paid).
pub fn sell_units(conn: &mut Conn, id: ProductId, quantity: i32) -> DbResult<()> {
    diesel::sql_query(
        "UPDATE products SET held = greatest(held - $2, 0), sold = sold + $2 WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id.0)
    .bind::<diesel::sql_types::Integer, _>(quantity)
    .execute(conn)?;
    Ok(())
}

/// Gives sold units back (a paid order refunded in whole).
pub fn unsell_units(conn: &mut Conn, id: ProductId, quantity: i32) -> DbResult<()> {
    diesel::sql_query("UPDATE products SET sold = greatest(sold - $2, 0) WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id.0)
        .bind::<diesel::sql_types::Integer, _>(quantity)
        .execute(conn)?;
    Ok(())
}

pub fn insert_voucher(conn: &mut Conn, new: &NewVoucher) -> DbResult<Voucher> {
    Ok(diesel::insert_into(vouchers::table)
        .values(new)
        .returning(Voucher::as_returning())
        .get_result(conn)?)
}

pub fn vouchers_of_event(conn: &mut Conn, event: EventId) -> DbResult<Vec<Voucher>> {
    Ok(vouchers::table
        .filter(vouchers::event_id.eq(event))
        .order(vouchers::id)
        .select(Voucher::as_select())
        .load(conn)?)
}

pub fn voucher_by_code(conn: &mut Conn, event: EventId, code: &str) -> DbResult<Voucher> {
    Ok(vouchers::table
        .filter(vouchers::event_id.eq(event))
        .filter(vouchers::code.eq(code))
        .select(Voucher::as_select())
        .first(conn)?)
}

/// Takes one use of the voucher if it has one left and has not expired at `now`.
pub fn use_voucher(conn: &mut Conn, id: VoucherId, now: DateTime<Utc>) -> DbResult<bool> {
    let n = diesel::sql_query(
        "UPDATE vouchers SET used = used + 1 WHERE id = $1 \
         AND (max_uses IS NULL OR used < max_uses) AND (valid_until IS NULL OR valid_until > $2)",
    )
    .bind::<diesel::sql_types::BigInt, _>(id.0)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)?;
    Ok(n == 1)
}

pub fn release_voucher(conn: &mut Conn, id: VoucherId) -> DbResult<()> {
    diesel::sql_query("UPDATE vouchers SET used = greatest(used - 1, 0) WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id.0)
        .execute(conn)?;
    Ok(())
}

// --- orders ---

pub fn insert_order(conn: &mut Conn, new: &NewOrder) -> DbResult<Order> {
    Ok(diesel::insert_into(orders::table)
        .values(new)
        .returning(Order::as_returning())
        .get_result(conn)?)
}

pub fn insert_lines(conn: &mut Conn, lines: &[OrderLine]) -> DbResult<()> {
    diesel::insert_into(order_lines::table)
        .values(lines)
        .execute(conn)?;
    Ok(())
}

pub fn lines_of(conn: &mut Conn, order: OrderId) -> DbResult<Vec<OrderLine>> {
    Ok(order_lines::table
        .filter(order_lines::order_id.eq(order))
        .order(order_lines::id)
        .select(OrderLine::as_select())
        .load(conn)?)
}

/// The order a person placed with `key`, if any.
pub fn order_by_key(conn: &mut Conn, person: PersonId, key: &str) -> DbResult<Option<Order>> {
    Ok(orders::table
        .filter(orders::person_id.eq(person))
        .filter(orders::idempotency_key.eq(key))
        .select(Order::as_select())
        .first(conn)
        .optional()?)
}

/// The order `id` of `org`, locked for the caller's transaction when `lock`.
pub fn order(conn: &mut Conn, org: OrganizationId, id: OrderId, lock: bool) -> DbResult<Order> {
    let q = orders::table
        .filter(orders::organization_id.eq(org))
        .filter(orders::id.eq(id))
        .select(Order::as_select());
    Ok(if lock {
        q.for_update().first(conn)?
    } else {
        q.first(conn)?
    })
}

pub fn order_by_reference(
    conn: &mut Conn,
    org: OrganizationId,
    reference: &str,
    lock: bool,
) -> DbResult<Order> {
    let q = orders::table
        .filter(orders::organization_id.eq(org))
        .filter(orders::reference.eq(reference))
        .select(Order::as_select());
    Ok(if lock {
        q.for_update().first(conn)?
    } else {
        q.first(conn)?
    })
}

/// An event's orders, newest first, optionally of one status or one person.
pub fn orders_of_event(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
    status: Option<OrderStatus>,
    person: Option<PersonId>,
    include_restricted: bool,
    page: Page,
) -> DbResult<Paged<Order>> {
    let filtered = || {
        let mut q = orders::table
            .filter(orders::organization_id.eq(org))
            .filter(orders::event_id.eq(event))
            .filter(orders::erased_at.is_null())
            .into_boxed();
        if !include_restricted {
            q = q.filter(orders::restricted_at.is_null());
        }
        if let Some(s) = status {
            q = q.filter(orders::status.eq(s));
        }
        if let Some(p) = person {
            q = q.filter(orders::person_id.eq(p));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let items = filtered()
        .order(orders::id.desc())
        .limit(page.limit)
        .offset(page.offset)
        .select(Order::as_select())
        .load(conn)?;
    Ok(Paged { items, total })
}

/// Up to `limit` orders awaiting payment whose hold ran out before `now`, locked; others
/// working on the same ones skip them.
pub fn expired_holds(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> DbResult<Vec<Order>> {
    Ok(orders::table
        .filter(orders::status.eq(OrderStatus::PendingPayment))
        .filter(orders::hold_until.lt(now))
        .order(orders::hold_until)
        .limit(limit)
        .for_update()
        .skip_locked()
        .select(Order::as_select())
        .load(conn)?)
}

pub fn set_order_status(
    conn: &mut Conn,
    id: OrderId,
    status: OrderStatus,
    reason: Option<&str>,
) -> DbResult<Order> {
    let now = Utc::now();
    let cancelled = (status == OrderStatus::Cancelled).then_some(now);
    Ok(diesel::update(orders::table.find(id))
        .set((
            orders::status.eq(status),
            orders::cancel_reason.eq(reason),
            orders::cancelled_at.eq(cancelled),
            orders::updated_at.eq(now),
        ))
        .returning(Order::as_returning())
        .get_result(conn)?)
}

pub fn mark_paid(
    conn: &mut Conn,
    id: OrderId,
    method: PaymentMethod,
    amount: i64,
) -> DbResult<Order> {
    let now = Utc::now();
    Ok(diesel::update(orders::table.find(id))
        .set((
            orders::status.eq(OrderStatus::Paid),
            orders::payment_method.eq(method),
            orders::paid_cents.eq(orders::paid_cents + amount),
            orders::paid_at.eq(now),
            orders::updated_at.eq(now),
        ))
        .returning(Order::as_returning())
        .get_result(conn)?)
}

pub fn add_refunded(
    conn: &mut Conn,
    id: OrderId,
    amount: i64,
    status: OrderStatus,
) -> DbResult<Order> {
    Ok(diesel::update(orders::table.find(id))
        .set((
            orders::refunded_cents.eq(orders::refunded_cents + amount),
            orders::status.eq(status),
            orders::updated_at.eq(Utc::now()),
        ))
        .returning(Order::as_returning())
        .get_result(conn)?)
}

pub fn set_order_registration(
    conn: &mut Conn,
    id: OrderId,
    registration: RegistrationId,
) -> DbResult<()> {
    diesel::update(orders::table.find(id))
        .set(orders::registration_id.eq(registration))
        .execute(conn)?;
    Ok(())
}

// --- payments ---

pub fn insert_payment(conn: &mut Conn, new: &NewPayment) -> DbResult<Payment> {
    Ok(diesel::insert_into(payments::table)
        .values(new)
        .returning(Payment::as_returning())
        .get_result(conn)?)
}

pub fn payments_of(conn: &mut Conn, order: OrderId) -> DbResult<Vec<Payment>> {
    Ok(payments::table
        .filter(payments::order_id.eq(order))
        .order(payments::id)
        .select(Payment::as_select())
        .load(conn)?)
}

pub fn payment(conn: &mut Conn, id: PaymentId) -> DbResult<Payment> {
    Ok(payments::table
        .find(id)
        .select(Payment::as_select())
        .first(conn)?)
}

pub fn payment_by_session(conn: &mut Conn, session: &str, lock: bool) -> DbResult<Payment> {
    let q = payments::table
        .filter(payments::provider_session_id.eq(session))
        .select(Payment::as_select());
    Ok(if lock {
        q.for_update().first(conn)?
    } else {
        q.first(conn)?
    })
}

pub fn set_card_session(
    conn: &mut Conn,
    id: PaymentId,
    session: &str,
    url: &str,
) -> DbResult<Payment> {
    Ok(diesel::update(payments::table.find(id))
        .set((
            payments::provider_session_id.eq(session),
            payments::checkout_url.eq(url),
        ))
        .returning(Payment::as_returning())
        .get_result(conn)?)
}

pub fn finish_payment(
    conn: &mut Conn,
    id: PaymentId,
    status: PaymentStatus,
    provider_payment: Option<&str>,
) -> DbResult<Payment> {
    Ok(diesel::update(payments::table.find(id))
        .set((
            payments::status.eq(status),
            payments::provider_payment_id.eq(provider_payment),
            payments::completed_at.eq(Utc::now()),
        ))
        .returning(Payment::as_returning())
        .get_result(conn)?)
}

/// Records a provider event by its id; false when it was recorded before (a replay).
pub fn record_payment_event(
    conn: &mut Conn,
    provider: &str,
    event_id: &str,
    kind: &str,
    order: Option<OrderId>,
    outcome: &str,
) -> DbResult<bool> {
    let n = diesel::insert_into(payment_events::table)
        .values((
            payment_events::provider.eq(provider),
            payment_events::provider_event_id.eq(event_id),
            payment_events::kind.eq(kind),
            payment_events::order_id.eq(order),
            payment_events::outcome.eq(outcome),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(n == 1)
}

// --- refunds ---

pub fn insert_refund(conn: &mut Conn, new: &NewRefund) -> DbResult<Refund> {
    Ok(diesel::insert_into(refunds::table)
        .values(new)
        .returning(Refund::as_returning())
        .get_result(conn)?)
}

pub fn refunds_of(conn: &mut Conn, order: OrderId) -> DbResult<Vec<Refund>> {
    Ok(refunds::table
        .filter(refunds::order_id.eq(order))
        .order(refunds::id)
        .select(Refund::as_select())
        .load(conn)?)
}

pub fn finish_refund(
    conn: &mut Conn,
    id: RefundId,
    status: RefundStatus,
    provider_refund: Option<&str>,
) -> DbResult<Refund> {
    Ok(diesel::update(refunds::table.find(id))
        .set((
            refunds::status.eq(status),
            refunds::provider_refund_id.eq(provider_refund),
            refunds::completed_at.eq(Utc::now()),
        ))
        .returning(Refund::as_returning())
        .get_result(conn)?)
}

// --- invoices ---

/// The next number of the organization's sequence for `year`. The sequence row stays locked
/// until the caller's transaction ends: a rollback gives the number back, so numbers have
/// no gap, and concurrent invoices wait their turn.
pub fn next_invoice_number(conn: &mut Conn, org: OrganizationId, year: i32) -> DbResult<i32> {
    Ok(diesel::insert_into(invoice_sequences::table)
        .values((
            invoice_sequences::organization_id.eq(org),
            invoice_sequences::year.eq(year),
            invoice_sequences::last_number.eq(1),
        ))
        .on_conflict((invoice_sequences::organization_id, invoice_sequences::year))
        .do_update()
        .set(invoice_sequences::last_number.eq(invoice_sequences::last_number + 1))
        .returning(invoice_sequences::last_number)
        .get_result(conn)?)
}

pub fn insert_invoice(conn: &mut Conn, new: &NewInvoice) -> DbResult<Invoice> {
    Ok(diesel::insert_into(invoices::table)
        .values(new)
        .returning(Invoice::as_returning())
        .get_result(conn)?)
}

pub fn invoice(conn: &mut Conn, org: OrganizationId, id: InvoiceId) -> DbResult<Invoice> {
    Ok(invoices::table
        .filter(invoices::organization_id.eq(org))
        .filter(invoices::id.eq(id))
        .select(Invoice::as_select())
        .first(conn)?)
}

pub fn invoice_file(
    conn: &mut Conn,
    org: OrganizationId,
    id: InvoiceId,
) -> DbResult<(Invoice, Vec<u8>, String)> {
    Ok(invoices::table
        .filter(invoices::organization_id.eq(org))
        .filter(invoices::id.eq(id))
        .select((Invoice::as_select(), invoices::pdf, invoices::xml))
        .first(conn)?)
}

pub fn invoices_of_order(conn: &mut Conn, order: OrderId) -> DbResult<Vec<Invoice>> {
    Ok(invoices::table
        .filter(invoices::order_id.eq(order))
        .order(invoices::id)
        .select(Invoice::as_select())
        .load(conn)?)
}

/// The organization's documents issued in `[from, to)`, in number order.
pub fn invoices_issued(
    conn: &mut Conn,
    org: OrganizationId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DbResult<Vec<Invoice>> {
    Ok(invoices::table
        .filter(invoices::organization_id.eq(org))
        .filter(invoices::issued_at.ge(from))
        .filter(invoices::issued_at.lt(to))
        .order((invoices::year, invoices::seq))
        .select(Invoice::as_select())
        .load(conn)?)
}

/// Whether the person has a package in an order of the event that is awaiting payment or
/// paid (a participant buys one package per event).
pub fn has_package_order(conn: &mut Conn, person: PersonId, event: EventId) -> DbResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        orders::table
            .inner_join(order_lines::table.on(order_lines::order_id.eq(orders::id)))
            .inner_join(products::table.on(products::id.eq(order_lines::product_id)))
            .filter(orders::person_id.eq(person))
            .filter(orders::event_id.eq(event))
            .filter(orders::status.eq_any([
                OrderStatus::PendingPayment,
                OrderStatus::Paid,
                OrderStatus::PartiallyRefunded,
            ]))
            .filter(products::kind.eq(ProductKind::Package)),
    ))
    .get_result(conn)?)
}

/// Sets the meeting quota a registration's paid packages and options grant.
pub fn set_registration_quota(
    conn: &mut Conn,
    registration: RegistrationId,
    quota: i32,
) -> DbResult<()> {
    diesel::update(registrations::table.find(registration))
        .set((
            registrations::meeting_quota.eq(quota),
            registrations::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The products of `ids` (any event), for the lines of an order.
pub fn products_by_id(conn: &mut Conn, ids: &[ProductId]) -> DbResult<Vec<Product>> {
    Ok(products::table
        .filter(products::id.eq_any(ids))
        .select(Product::as_select())
        .load(conn)?)
}

pub fn set_event_outcome(
    conn: &mut Conn,
    provider: &str,
    event_id: &str,
    order: Option<OrderId>,
    outcome: &str,
) -> DbResult<()> {
    diesel::update(
        payment_events::table
            .filter(payment_events::provider.eq(provider))
            .filter(payment_events::provider_event_id.eq(event_id)),
    )
    .set((
        payment_events::outcome.eq(outcome),
        payment_events::order_id.eq(order),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn refund_by_provider_id(conn: &mut Conn, provider_refund: &str) -> DbResult<Option<Refund>> {
    Ok(refunds::table
        .filter(refunds::provider_refund_id.eq(provider_refund))
        .select(Refund::as_select())
        .first(conn)
        .optional()?)
}

pub fn extend_hold(conn: &mut Conn, id: OrderId, until: DateTime<Utc>) -> DbResult<()> {
    diesel::update(orders::table.find(id).filter(orders::hold_until.lt(until)))
        .set(orders::hold_until.eq(until))
        .execute(conn)?;
    Ok(())
}

/// Records a consent given (or refused) in a registration form, with its text's version.
#[allow(clippy::too_many_arguments)]
pub fn record_consent(
    conn: &mut Conn,
    org: OrganizationId,
    person: PersonId,
    purpose: &str,
    version: &str,
    granted: bool,
    client_address: Option<&str>,
    retention_until: DateTime<Utc>,
) -> DbResult<()> {
    diesel::sql_query(
        "INSERT INTO consent_records (organization_id, person_id, purpose, text_version, granted, \
         method, client_address, legal_basis, retention_until, source) \
         VALUES ($1, $2, $3, $4, $5, 'web_form', $6, 'legal_obligation', $7, 'registration')",
    )
    .bind::<diesel::sql_types::BigInt, _>(org.0)
    .bind::<diesel::sql_types::BigInt, _>(person.0)
    .bind::<diesel::sql_types::Text, _>(purpose)
    .bind::<diesel::sql_types::Text, _>(version)
    .bind::<diesel::sql_types::Bool, _>(granted)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(client_address)
    .bind::<diesel::sql_types::Timestamptz, _>(retention_until)
    .execute(conn)?;
    Ok(())
}

pub fn payment_by_provider_id(conn: &mut Conn, provider_payment: &str) -> DbResult<Payment> {
    Ok(payments::table
        .filter(payments::provider_payment_id.eq(provider_payment))
        .select(Payment::as_select())
        .first(conn)?)
}

/// The meeting quota the registration's paid orders grant together (units of each product
/// with a quota, times that quota); `None` when none of its products grants one.
pub fn paid_quota(conn: &mut Conn, registration: RegistrationId) -> DbResult<Option<i32>> {
    #[derive(QueryableByName)]
    struct Quota {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        quota: Option<i64>,
    }
    let q: Quota = diesel::sql_query(
        "SELECT sum(l.quantity * p.meeting_quota)::bigint AS quota FROM orders o \
         JOIN order_lines l ON l.order_id = o.id JOIN products p ON p.id = l.product_id \
         WHERE o.registration_id = $1 AND o.status IN ('paid', 'partially_refunded') \
         AND p.meeting_quota IS NOT NULL",
    )
    .bind::<diesel::sql_types::BigInt, _>(registration.0)
    .get_result(conn)?;
    Ok(q.quota.map(|n| n.min(i32::MAX as i64) as i32))
}

/// The refund `id`, locked for the caller's transaction.
pub fn refund_for_update(conn: &mut Conn, id: RefundId) -> DbResult<Refund> {
    Ok(refunds::table
        .find(id)
        .for_update()
        .select(Refund::as_select())
        .first(conn)?)
}
