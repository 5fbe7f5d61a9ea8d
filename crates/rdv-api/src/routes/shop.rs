//! The shop over HTTP: the seller's billing details, registration forms and submissions, the
//! catalogue and vouchers, orders, payments (card checkout, the provider's webhook, transfers
//! and on-site payments, bank statements), refunds, invoices and the accounting export: the
//! HTTP shapes of `rdv_app::shop`.

use crate::auth::{client_address, Caller, MaybeCaller};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ValidJson;
use crate::routes::{attachment, html_escape, PageQuery};
use crate::AppState;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use rdv_app::shop::catalogue::{self, Offered, PriceInput, ProductInput, VoucherInput};
use rdv_app::shop::forms::{self, Submitted};
use rdv_app::shop::invoices::{self, LedgerFormat};
use rdv_app::shop::orders::{self, BuyerInput, ItemInput, OrderInput, OrderView};
use rdv_app::shop::payments::{self, StatementLine};
use rdv_app::shop::seller::{self, SellerInput};
use rdv_db::models::{
    Invoice, Order, Payment, ProductPrice, Refund, RegistrationForm, Seller, Voucher,
};
use rdv_domain::{
    EventId, InvoiceId, InvoiceKind, OrderId, OrderStatus, OrganizationId, ParticipantType,
    PaymentMethod, PaymentStatus, ProductId, ProductKind, RefundStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_billing)
        .service(put_billing)
        .service(put_form)
        .service(get_form)
        .service(list_forms)
        .service(submit_form)
        .service(list_answers)
        .service(export_answers)
        .service(create_product)
        .service(update_product)
        .service(list_products)
        .service(create_voucher)
        .service(list_vouchers)
        .service(place_order)
        .service(list_orders)
        .service(my_orders)
        .service(get_order)
        .service(cancel_order)
        .service(checkout)
        .service(record_payment)
        .service(refund_order)
        .service(invoice_order)
        .service(bank_statement)
        .service(webhook)
        .service(payment_return)
        .service(invoice_pdf)
        .service(invoice_xml)
        .service(ledger);
}

fn own_org(caller: &Caller, id: i64) -> Result<(), ApiError> {
    if caller.organization != Some(OrganizationId(id)) {
        return Err(ApiError::not_found("organization"));
    }
    Ok(())
}

// --- billing ---

#[derive(Serialize, ToSchema)]
pub struct BillingOut {
    pub organization_id: i64,
    pub legal_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub siren: Option<String>,
    pub siret: Option<String>,
    pub vat_number: Option<String>,
    pub legal_mentions: Option<String>,
    pub payment_days: i32,
    pub late_penalty: String,
}

impl From<Seller> for BillingOut {
    fn from(s: Seller) -> Self {
        Self {
            organization_id: s.id.0,
            legal_name: s.legal_name,
            address_line1: s.address_line1,
            address_line2: s.address_line2,
            postal_code: s.postal_code,
            city: s.city,
            country: s.country,
            siren: s.siren,
            siret: s.siret,
            vat_number: s.vat_number,
            legal_mentions: s.legal_mentions,
            payment_days: s.payment_days,
            late_penalty: s.late_penalty,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingIn {
    /// The seller's legal name as invoices carry it.
    pub legal_name: String,
    pub address_line1: String,
    #[serde(default)]
    pub address_line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// 9 digits, with its check key.
    pub siren: String,
    #[serde(default)]
    pub siret: Option<String>,
    /// The intra-community VAT number, such as FR40303265045.
    #[serde(default)]
    pub vat_number: Option<String>,
    /// Legal form, share capital, registry: printed at the foot of invoices.
    #[serde(default)]
    pub legal_mentions: Option<String>,
    /// Days to pay an invoice not yet paid (0 to 60; 30 when absent).
    #[serde(default)]
    pub payment_days: Option<i32>,
    /// The late-payment penalty rate as invoices state it.
    #[serde(default)]
    pub late_penalty: Option<String>,
}

/// The organization's billing details, which its invoices carry.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "organization id")),
    responses((status = 200, body = BillingOut), (status = 404, body = ErrorBody)))]
#[get("/organizations/{id}/billing")]
pub async fn get_billing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    own_org(&caller, id.into_inner())?;
    let actor = caller.0;
    let s = state.app_tx(move |conn| seller::get(conn, &actor)).await?;
    Ok(HttpResponse::Ok().json(BillingOut::from(s)))
}

/// Sets the billing details (organization admins). Nothing can be sold before they are set:
/// every invoice must carry the seller's mentions.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "organization id")),
    request_body = BillingIn, responses((status = 200, body = BillingOut), (status = 422, body = ErrorBody)))]
#[put("/organizations/{id}/billing")]
pub async fn put_billing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<BillingIn>,
) -> Result<HttpResponse, ApiError> {
    own_org(&caller, id.into_inner())?;
    let (actor, b) = (caller.0, body.0);
    let input = SellerInput {
        legal_name: b.legal_name,
        address_line1: b.address_line1,
        address_line2: b.address_line2,
        postal_code: b.postal_code,
        city: b.city,
        country: b.country,
        siren: b.siren,
        siret: b.siret,
        vat_number: b.vat_number,
        legal_mentions: b.legal_mentions,
        payment_days: b.payment_days,
        late_penalty: b.late_penalty,
    };
    let s = state
        .app_tx(move |conn| seller::set(conn, &actor, input))
        .await?;
    Ok(HttpResponse::Ok().json(BillingOut::from(s)))
}

// --- forms ---

#[derive(Serialize, ToSchema)]
pub struct FormOut {
    pub id: i64,
    pub event_id: i64,
    pub participant_type: ParticipantType,
    pub version: i32,
    /// The fields, in order (see docs/registration-forms.md for the format).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<RegistrationForm> for FormOut {
    fn from(f: RegistrationForm) -> Self {
        Self {
            id: f.id.0,
            event_id: f.event_id.0,
            participant_type: f.participant_type,
            version: f.version,
            definition: f.definition,
            created_at: f.created_at,
        }
    }
}

/// Publishes a new version of the event's registration form for a participant type
/// (organization admins); registrations already made keep theirs.
#[utoipa::path(tag = "shop", security(("bearer" = [])),
    params(("id" = i64, Path, description = "event id"), ("participant_type" = ParticipantType, Path)),
    request_body(content = Object, description = "the form: {\"fields\": [...]}"),
    responses((status = 201, body = FormOut), (status = 422, body = ErrorBody)))]
#[put("/events/{id}/registration-forms/{participant_type}")]
pub async fn put_form(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, String)>,
    body: ValidJson<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let ((event, ptype), actor, def) = (path.into_inner(), caller.0, body.0);
    let f = state
        .app_tx(move |conn| forms::put(conn, &actor, EventId(event), &ptype, def))
        .await?;
    Ok(HttpResponse::Created().json(FormOut::from(f)))
}

/// The form people register through (anyone, for an open event; organizers, for theirs).
#[utoipa::path(tag = "shop",
    params(("id" = i64, Path, description = "event id"), ("participant_type" = ParticipantType, Path)),
    responses((status = 200, body = FormOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[get("/events/{id}/registration-forms/{participant_type}")]
pub async fn get_form(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let ((event, ptype), actor) = (path.into_inner(), caller.0);
    let f = state
        .app_tx(move |conn| forms::current(conn, actor.as_ref(), EventId(event), &ptype))
        .await?;
    Ok(HttpResponse::Ok().json(FormOut::from(f)))
}

/// Every version of the event's forms (organizers).
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = Vec<FormOut>)))]
#[get("/events/{id}/registration-forms")]
pub async fn list_forms(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let found = state
        .app_tx(move |conn| forms::versions(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(found.into_iter().map(FormOut::from).collect::<Vec<_>>()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionIn {
    /// The answers, by field key.
    #[schema(value_type = Object)]
    pub answers: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct SubmittedOut {
    pub person_id: i64,
    pub registration_id: i64,
    pub form_id: i64,
    pub form_version: i32,
    /// A new registration; false when the person's registration was updated.
    pub created: bool,
}

impl From<Submitted> for SubmittedOut {
    fn from(s: Submitted) -> Self {
        Self {
            person_id: s.person_id.0,
            registration_id: s.registration_id.0,
            form_id: s.form_id.0,
            form_version: s.form_version,
            created: s.created,
        }
    }
}

/// Registers through the event's current form: anyone (a new person), a signed-in
/// participant (themselves), or an organizer (anyone). Every bad answer is named; nothing is
/// written unless all are good.
#[utoipa::path(tag = "shop",
    params(("id" = i64, Path, description = "event id"), ("participant_type" = ParticipantType, Path)),
    request_body = SubmissionIn,
    responses((status = 201, body = SubmittedOut), (status = 200, body = SubmittedOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/events/{id}/registration-forms/{participant_type}/submissions")]
pub async fn submit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: MaybeCaller,
    path: web::Path<(i64, String)>,
    body: ValidJson<SubmissionIn>,
) -> Result<HttpResponse, ApiError> {
    let ((event, ptype), actor, answers) = (path.into_inner(), caller.0, body.0.answers);
    let address = client_address(&req, state.server.trusted_proxy_hops);
    let s = state
        .app_tx(move |conn| {
            forms::submit(
                conn,
                actor.as_ref(),
                address,
                EventId(event),
                &ptype,
                answers,
            )
        })
        .await?;
    let out = SubmittedOut::from(s);
    Ok(if out.created {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

#[derive(Serialize, ToSchema)]
pub struct AnswersOut {
    pub registration_id: i64,
    pub person_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub form_id: i64,
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AnswersPage {
    pub items: Vec<AnswersOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The answers given to the event's forms (organizers); audited.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), PageQuery),
    responses((status = 200, body = AnswersPage)))]
#[get("/events/{id}/registration-answers")]
pub async fn list_answers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, q) = (caller.0, EventId(id.into_inner()), q.into_inner());
    let found = state
        .app_tx(move |conn| forms::answers(conn, &actor, event, q.page, q.per_page))
        .await?;
    Ok(HttpResponse::Ok().json(AnswersPage {
        items: found
            .items
            .into_iter()
            .map(|(a, p)| AnswersOut {
                registration_id: a.registration_id.0,
                person_id: p.id.0,
                first_name: p.first_name,
                last_name: p.last_name,
                email: p.email,
                form_id: a.form_id.0,
                answers: a.answers,
                submitted_at: a.submitted_at,
            })
            .collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

/// Every answer as CSV (UTF-8 with BOM, for spreadsheets); audited.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, content_type = "text/csv", body = String)))]
#[get("/events/{id}/registration-answers/export")]
pub async fn export_answers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let bytes = state
        .app_tx(move |conn| forms::answers_csv(conn, &actor, event))
        .await?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &format!("answers-{}.csv", event.0),
        bytes,
    ))
}

// --- catalogue ---

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceIn {
    /// "Early bird", "Standard"...
    pub label: String,
    /// Excluding VAT, in cents.
    pub price_cents: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductIn {
    pub kind: ProductKind,
    /// Packages: the participant type they are for. Options: absent.
    #[serde(default)]
    pub participant_type: Option<ParticipantType>,
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// "20", "10", "5.5", "2.1" or "0".
    pub vat_rate: String,
    /// The exemption's legal mention, for a product at 0 %.
    #[serde(default)]
    pub vat_exemption: Option<String>,
    /// Units for sale; unlimited when absent.
    #[serde(default)]
    pub capacity: Option<i32>,
    /// Meetings the product grants (a package's quota; an option's extra meetings).
    #[serde(default)]
    pub meeting_quota: Option<i32>,
    #[serde(default)]
    pub max_per_order: Option<i32>,
    #[serde(default)]
    pub active: Option<bool>,
    /// The sale windows, which must not overlap: early-bird, then standard...
    pub prices: Vec<PriceIn>,
}

impl From<ProductIn> for ProductInput {
    fn from(b: ProductIn) -> Self {
        Self {
            kind: b.kind.as_str().to_owned(),
            participant_type: b.participant_type.map(|t| t.as_str().to_owned()),
            code: b.code,
            name: b.name,
            description: b.description,
            vat_rate: b.vat_rate,
            vat_exemption: b.vat_exemption,
            capacity: b.capacity,
            meeting_quota: b.meeting_quota,
            max_per_order: b.max_per_order,
            active: b.active,
            prices: b
                .prices
                .into_iter()
                .map(|p| PriceInput {
                    label: p.label,
                    price_cents: p.price_cents,
                    starts_at: p.starts_at,
                    ends_at: p.ends_at,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PriceOut {
    pub label: String,
    pub price_cents: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl From<ProductPrice> for PriceOut {
    fn from(p: ProductPrice) -> Self {
        Self {
            label: p.label,
            price_cents: p.price_cents,
            starts_at: p.starts_at,
            ends_at: p.ends_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProductOut {
    pub id: i64,
    pub event_id: i64,
    pub kind: ProductKind,
    pub participant_type: Option<ParticipantType>,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub vat_rate: String,
    pub vat_exemption: Option<String>,
    pub capacity: Option<i32>,
    /// Units left for sale, when the capacity is limited.
    pub available: Option<i32>,
    pub meeting_quota: Option<i32>,
    pub max_per_order: i32,
    pub active: bool,
    pub prices: Vec<PriceOut>,
    /// The price of the window on sale now; null outside every window.
    pub current_price: Option<PriceOut>,
}

impl From<Offered> for ProductOut {
    fn from(o: Offered) -> Self {
        let p = o.product;
        Self {
            id: p.id.0,
            event_id: p.event_id.0,
            kind: p.kind,
            participant_type: p.participant_type,
            code: p.code,
            name: p.name,
            description: p.description,
            vat_rate: rdv_shop::VatRate::from_basis_points(p.vat_rate_bp as i64)
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            vat_exemption: p.vat_exemption,
            capacity: p.capacity,
            available: o.available,
            meeting_quota: p.meeting_quota,
            max_per_order: p.max_per_order,
            active: p.active,
            prices: o.prices.into_iter().map(PriceOut::from).collect(),
            current_price: o.current_price.map(PriceOut::from),
        }
    }
}

/// Adds a package or an option to the event's catalogue (organization admins; the billing
/// details must be set first).
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = ProductIn, responses((status = 201, body = ProductOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/events/{id}/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<ProductIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, input) = (
        caller.0,
        EventId(id.into_inner()),
        ProductInput::from(body.0),
    );
    let p = state
        .app_tx(move |conn| catalogue::create(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Created().json(ProductOut::from(p)))
}

/// Replaces a product's description and sale windows (organization admins).
#[utoipa::path(tag = "shop", security(("bearer" = [])),
    params(("id" = i64, Path, description = "event id"), ("product" = i64, Path, description = "product id")),
    request_body = ProductIn, responses((status = 200, body = ProductOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/events/{id}/products/{product}")]
pub async fn update_product(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
    body: ValidJson<ProductIn>,
) -> Result<HttpResponse, ApiError> {
    let ((event, product), actor, input) =
        (path.into_inner(), caller.0, ProductInput::from(body.0));
    let p = state
        .app_tx(move |conn| {
            catalogue::update(conn, &actor, EventId(event), ProductId(product), input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ProductOut::from(p)))
}

/// The event's catalogue: every product for its organizers, the active ones of an open
/// event for anyone else.
#[utoipa::path(tag = "shop", params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = Vec<ProductOut>), (status = 404, body = ErrorBody)))]
#[get("/events/{id}/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let found = state
        .app_tx(move |conn| match actor.filter(|a| a.role.is_organizer()) {
            Some(a) => catalogue::list_for_organizer(conn, &a, event),
            None => catalogue::list_public(conn, event),
        })
        .await?;
    Ok(HttpResponse::Ok().json(found.into_iter().map(ProductOut::from).collect::<Vec<_>>()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherIn {
    /// 3 to 40 letters, digits, - or _ (stored upper-case).
    pub code: String,
    /// Percent off, 0.01 to 100...
    #[serde(default)]
    pub percent: Option<f64>,
    /// ...or an amount off, in cents.
    #[serde(default)]
    pub amount_cents: Option<i64>,
    /// Valid only in orders holding this product.
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub max_uses: Option<i32>,
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct VoucherOut {
    pub id: i64,
    pub code: String,
    pub percent: Option<f64>,
    pub amount_cents: Option<i64>,
    pub product_id: Option<i64>,
    pub max_uses: Option<i32>,
    /// Uses taken by orders paid or awaiting payment.
    pub used: i32,
    pub valid_until: Option<DateTime<Utc>>,
}

impl From<Voucher> for VoucherOut {
    fn from(v: Voucher) -> Self {
        Self {
            id: v.id.0,
            code: v.code,
            percent: v.percent_bp.map(|bp| bp as f64 / 100.0),
            amount_cents: v.amount_cents,
            product_id: v.product_id.map(|p| p.0),
            max_uses: v.max_uses,
            used: v.used,
            valid_until: v.valid_until,
        }
    }
}

/// Creates a voucher (organization admins).
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = VoucherIn, responses((status = 201, body = VoucherOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/events/{id}/vouchers")]
pub async fn create_voucher(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<VoucherIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, b) = (caller.0, EventId(id.into_inner()), body.0);
    let input = VoucherInput {
        code: b.code,
        percent: b.percent,
        amount_cents: b.amount_cents,
        product_id: b.product_id.map(ProductId),
        max_uses: b.max_uses,
        valid_until: b.valid_until,
    };
    let v = state
        .app_tx(move |conn| catalogue::create_voucher(conn, &actor, event, input))
        .await?;
    Ok(HttpResponse::Created().json(VoucherOut::from(v)))
}

/// The event's vouchers (organizers).
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = Vec<VoucherOut>)))]
#[get("/events/{id}/vouchers")]
pub async fn list_vouchers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let found = state
        .app_tx(move |conn| catalogue::list_vouchers(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(found.into_iter().map(VoucherOut::from).collect::<Vec<_>>()))
}

// --- orders ---

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    pub product_id: i64,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct BuyerIn {
    /// A business buyer: the invoice names the company; an EU business outside France with
    /// a VAT number is reverse-charged.
    #[serde(default)]
    pub business: bool,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub vat_number: Option<String>,
    #[serde(default)]
    pub address_line1: Option<String>,
    #[serde(default)]
    pub address_line2: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    /// A key of your choosing (8 to 100 characters, a UUID for instance): sending the same
    /// order again with it returns the first one instead of ordering twice.
    pub idempotency_key: String,
    /// Organizers: the person ordering. Participants: absent (they order for themselves).
    #[serde(default)]
    pub person_id: Option<i64>,
    pub items: Vec<ItemIn>,
    #[serde(default)]
    pub voucher: Option<String>,
    /// Who is invoiced; the person's recorded name and address when absent.
    #[serde(default)]
    pub buyer: Option<BuyerIn>,
}

#[derive(Serialize, ToSchema)]
pub struct LineOut {
    pub product_id: i64,
    pub label: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub discount_cents: i64,
    pub net_cents: i64,
    pub vat_rate: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: i64,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount_cents: i64,
    pub checkout_url: Option<String>,
    pub bank_reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Payment> for PaymentOut {
    fn from(p: Payment) -> Self {
        Self {
            id: p.id.0,
            method: p.method,
            status: p.status,
            amount_cents: p.amount_cents,
            checkout_url: p.checkout_url,
            bank_reference: p.bank_reference,
            created_at: p.created_at,
            completed_at: p.completed_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RefundOut {
    pub id: i64,
    pub amount_cents: i64,
    pub reason: String,
    pub status: RefundStatus,
    pub created_at: DateTime<Utc>,
}

impl From<Refund> for RefundOut {
    fn from(r: Refund) -> Self {
        Self {
            id: r.id.0,
            amount_cents: r.amount_cents,
            reason: r.reason,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceOut {
    pub id: i64,
    pub kind: InvoiceKind,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub corrects_id: Option<i64>,
    pub total_excl_cents: i64,
    pub total_vat_cents: i64,
    pub total_incl_cents: i64,
    /// The PDF, with its Factur-X XML inside.
    pub pdf_url: String,
}

impl From<Invoice> for InvoiceOut {
    fn from(i: Invoice) -> Self {
        Self {
            pdf_url: format!("/api/invoices/{}/pdf", i.id),
            id: i.id.0,
            kind: i.kind,
            number: i.number,
            issued_at: i.issued_at,
            corrects_id: i.corrects_id.map(|c| c.0),
            total_excl_cents: i.total_excl_cents,
            total_vat_cents: i.total_vat_cents,
            total_incl_cents: i.total_incl_cents,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    pub id: i64,
    pub event_id: i64,
    pub person_id: i64,
    /// Quote it in a bank transfer's label.
    pub reference: String,
    pub status: OrderStatus,
    /// Until when the units are held for payment.
    pub hold_until: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub buyer: serde_json::Value,
    pub vat_treatment: rdv_domain::VatTreatmentKind,
    pub lines: Vec<LineOut>,
    #[schema(value_type = Object)]
    pub vat: serde_json::Value,
    pub total_excl_cents: i64,
    pub total_vat_cents: i64,
    pub total_incl_cents: i64,
    pub paid_cents: i64,
    pub refunded_cents: i64,
    pub payment_method: Option<PaymentMethod>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub payments: Vec<PaymentOut>,
    pub refunds: Vec<RefundOut>,
    pub invoices: Vec<InvoiceOut>,
}

fn order_summary(o: Order) -> OrderOut {
    OrderOut::from(OrderView {
        order: o,
        lines: vec![],
        payments: vec![],
        refunds: vec![],
        invoices: vec![],
    })
}

impl From<OrderView> for OrderOut {
    fn from(v: OrderView) -> Self {
        let o = v.order;
        Self {
            id: o.id.0,
            event_id: o.event_id.0,
            person_id: o.person_id.0,
            reference: o.reference,
            status: o.status,
            hold_until: o.hold_until,
            buyer: o.buyer,
            vat_treatment: o.vat_treatment,
            vat: o
                .pricing
                .get("vat")
                .cloned()
                .unwrap_or(serde_json::Value::Array(vec![])),
            lines: v
                .lines
                .into_iter()
                .map(|l| LineOut {
                    product_id: l.product_id.0,
                    label: l.label,
                    quantity: l.quantity,
                    unit_price_cents: l.unit_price_cents,
                    discount_cents: l.discount_cents,
                    net_cents: l.net_cents,
                    vat_rate: rdv_shop::VatRate::from_basis_points(l.vat_rate_bp as i64)
                        .map(|r| r.as_str().to_owned())
                        .unwrap_or_default(),
                })
                .collect(),
            total_excl_cents: o.total_excl_cents,
            total_vat_cents: o.total_vat_cents,
            total_incl_cents: o.total_incl_cents,
            paid_cents: o.paid_cents,
            refunded_cents: o.refunded_cents,
            payment_method: o.payment_method,
            created_at: o.created_at,
            paid_at: o.paid_at,
            payments: v.payments.into_iter().map(PaymentOut::from).collect(),
            refunds: v.refunds.into_iter().map(RefundOut::from).collect(),
            invoices: v.invoices.into_iter().map(InvoiceOut::from).collect(),
        }
    }
}

/// Places an order (a participant for themselves, an organizer for a person). Its units are
/// held while the payment runs; the same idempotency key returns the same order (200).
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = OrderIn,
    responses((status = 201, body = OrderOut), (status = 200, body = OrderOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/events/{id}/orders")]
pub async fn place_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<OrderIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, b) = (caller.0, EventId(id.into_inner()), body.0);
    let buyer = b.buyer.unwrap_or_default();
    let input = OrderInput {
        idempotency_key: b.idempotency_key,
        person_id: b.person_id.map(rdv_domain::PersonId),
        items: b
            .items
            .into_iter()
            .map(|i| ItemInput {
                product_id: ProductId(i.product_id),
                quantity: i.quantity,
            })
            .collect(),
        voucher: b.voucher,
        buyer: BuyerInput {
            business: buyer.business,
            company: buyer.company,
            vat_number: buyer.vat_number,
            address_line1: buyer.address_line1,
            address_line2: buyer.address_line2,
            postal_code: buyer.postal_code,
            city: buyer.city,
            country: buyer.country,
        },
    };
    let hold = state.shop.hold_minutes;
    let (view, created) = state
        .app_tx(move |conn| orders::place(conn, &actor, event, input, hold))
        .await?;
    let out = OrderOut::from(view);
    Ok(if created {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

#[derive(Deserialize, IntoParams)]
pub struct OrderQuery {
    #[param(schema_with = crate::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::schema::per_page)]
    pub per_page: Option<u32>,
    pub status: Option<OrderStatus>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<OrderOut>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The event's orders, newest first (organizers); audited. Lines, payments and invoices are
/// in each order's own page.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), OrderQuery),
    responses((status = 200, body = OrderPage)))]
#[get("/events/{id}/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<OrderQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event, q) = (caller.0, EventId(id.into_inner()), q.into_inner());
    let found = state
        .app_tx(move |conn| {
            let paging = rdv_app::paging::page(q.page, q.per_page)?;
            orders::list(conn, &actor, event, q.status, paging)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrderPage {
        items: found.items.into_iter().map(order_summary).collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

/// The participant's own orders for the event.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = Vec<OrderOut>), (status = 403, body = ErrorBody)))]
#[get("/me/events/{id}/orders")]
pub async fn my_orders(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let found = state
        .app_tx(move |conn| orders::mine(conn, &actor, event))
        .await?;
    Ok(HttpResponse::Ok().json(found.into_iter().map(OrderOut::from).collect::<Vec<_>>()))
}

/// One order with its lines, payments, refunds and invoices: its buyer, or the organizers.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = OrderOut), (status = 404, body = ErrorBody)))]
#[get("/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, order) = (caller.0, OrderId(id.into_inner()));
    let v = state
        .app_tx(move |conn| orders::get(conn, &actor, order))
        .await?;
    Ok(HttpResponse::Ok().json(OrderOut::from(v)))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CancelIn {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Cancels an order awaiting payment: its units go back on sale.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "order id")),
    request_body = CancelIn, responses((status = 200, body = OrderOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<CancelIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, order, reason) = (caller.0, OrderId(id.into_inner()), body.0.reason);
    let v = state
        .app_tx(move |conn| orders::cancel(conn, &actor, order, reason))
        .await?;
    Ok(HttpResponse::Ok().json(OrderOut::from(v)))
}

#[derive(Serialize, ToSchema)]
pub struct CheckoutOut {
    /// Send the buyer here: the provider's hosted payment page.
    pub checkout_url: String,
    pub payment: PaymentOut,
}

/// Starts paying an order by card: answers the provider's hosted page to send the buyer to.
/// Asking again while that payment runs gives the same page.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = CheckoutOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, body = ErrorBody)))]
#[post("/orders/{id}/checkout")]
pub async fn checkout(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, order) = (caller.0, OrderId(id.into_inner()));
    let settings = state.shop.clone();
    let c = state
        .app_conn(move |conn| payments::start_card(conn, &settings, &actor, order))
        .await?;
    Ok(HttpResponse::Ok().json(CheckoutOut {
        checkout_url: c.checkout_url,
        payment: PaymentOut::from(c.payment),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// `bank_transfer` or `on_site` (card payments come from the provider).
    pub method: PaymentMethod,
    /// The order's total, in cents.
    pub amount_cents: i64,
    /// The transfer's label or the receipt's number.
    #[serde(default)]
    pub bank_reference: Option<String>,
}

/// Records a payment received by bank transfer or on site (organizers): the order is paid
/// and invoiced.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "order id")),
    request_body = PaymentIn, responses((status = 200, body = OrderOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/orders/{id}/payments")]
pub async fn record_payment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<PaymentIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, order, b) = (caller.0, OrderId(id.into_inner()), body.0);
    let v = state
        .app_tx(move |conn| {
            payments::record(
                conn,
                &actor,
                order,
                b.method,
                b.amount_cents,
                b.bank_reference,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrderOut::from(v)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    /// Including VAT, in cents; at most what was paid and not refunded yet.
    pub amount_cents: i64,
    pub reason: String,
}

/// Refunds part or all of a paid order (organization admins): through the provider for a
/// card payment; a credit note is issued.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "order id")),
    request_body = RefundIn, responses((status = 200, body = OrderOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
#[post("/orders/{id}/refunds")]
pub async fn refund_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<RefundIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, order, b) = (caller.0, OrderId(id.into_inner()), body.0);
    let settings = state.shop.clone();
    let v = state
        .app_conn(move |conn| {
            payments::refund(conn, &settings, &actor, order, b.amount_cents, b.reason)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrderOut::from(v)))
}

/// Issues the invoice of an order before it is paid, for a buyer paying by bank transfer
/// (organizers); an order has one invoice, so asking again returns it.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = InvoiceOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/orders/{id}/invoice")]
pub async fn invoice_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, order) = (caller.0, OrderId(id.into_inner()));
    let i = state
        .app_tx(move |conn| invoices::issue_on_demand(conn, &actor, order))
        .await?;
    Ok(HttpResponse::Ok().json(InvoiceOut::from(i)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementLineIn {
    /// The transfer's label, holding the order's reference (RDV-XXXXXXXXXX).
    pub label: String,
    pub amount_cents: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementIn {
    pub lines: Vec<StatementLineIn>,
}

#[derive(Serialize, ToSchema)]
pub struct ReconciledOut {
    pub line: usize,
    pub reference: Option<String>,
    pub order_id: Option<i64>,
    /// `paid`, or why the line was left for a person.
    pub outcome: String,
}

/// Matches a bank statement's credits to the event's orders by reference and amount; each
/// match is recorded as paid by transfer (organizers).
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "event id")),
    request_body = StatementIn, responses((status = 200, body = Vec<ReconciledOut>), (status = 422, body = ErrorBody)))]
#[post("/events/{id}/bank-statements")]
pub async fn bank_statement(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<StatementIn>,
) -> Result<HttpResponse, ApiError> {
    let (actor, event) = (caller.0, EventId(id.into_inner()));
    let lines: Vec<StatementLine> = body
        .0
        .lines
        .into_iter()
        .map(|l| StatementLine {
            label: l.label,
            amount_cents: l.amount_cents,
        })
        .collect();
    let out = state
        .app_conn(move |conn| payments::reconcile(conn, &actor, event, lines))
        .await?;
    Ok(HttpResponse::Ok().json(
        out.into_iter()
            .map(|r| ReconciledOut {
                line: r.line,
                reference: r.reference,
                order_id: r.order_id.map(|o| o.0),
                outcome: r.outcome,
            })
            .collect::<Vec<_>>(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    pub event_id: String,
    /// Processed before: nothing changed.
    pub duplicate: bool,
    pub outcome: String,
}

/// The card provider's webhook: signed (`Paysim-Signature`), processed once per provider
/// event. A bad signature or an old timestamp is a 400 and changes nothing.
#[utoipa::path(tag = "shop", request_body(content = Object, description = "the provider's event"),
    params(("Paysim-Signature" = Option<String>, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">")),
    responses((status = 200, body = WebhookOut), (status = 400, body = ErrorBody)))]
#[post("/payments/webhook")]
pub async fn webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let signature = req
        .headers()
        .get(rdv_shop::webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let settings = state.shop.clone();
    let out = state
        .app_conn(move |conn| payments::webhook(conn, &settings, signature.as_deref(), &body))
        .await
        .map_err(ApiError::as_bad_request)?;
    Ok(HttpResponse::Ok().json(WebhookOut {
        event_id: out.event_id,
        duplicate: out.duplicate,
        outcome: out.outcome,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct ReturnQuery {
    /// `paid` or `cancelled`.
    pub outcome: Option<String>,
}

/// Where the provider's page sends the buyer back: a page saying what happens next.
#[utoipa::path(tag = "shop", params(ReturnQuery), responses((status = 200, content_type = "text/html", body = String)))]
#[get("/payments/return")]
pub async fn payment_return(q: web::Query<ReturnQuery>) -> HttpResponse {
    let paid = q.outcome.as_deref() == Some("paid");
    let (title, text) = if paid {
        ("Paiement transmis / Payment sent", "Merci ! Le prestataire de paiement nous confirme votre paiement : votre commande et sa facture apparaissent dans votre espace dès réception. Thank you: the payment provider is confirming your payment; your order and its invoice show in your account once it arrives.")
    } else {
        ("Paiement non effectué / Payment not made", "Votre commande attend toujours son paiement : vous pouvez réessayer tant qu'elle est réservée. Your order still awaits payment: you may try again while it is held.")
    };
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>{x}</p></body></html>",
        t = html_escape(title),
        x = html_escape(text)
    ))
}

// --- invoices ---

/// An invoice or credit note as PDF, with its Factur-X (EN 16931) XML inside: its buyer, or
/// the organizers; audited.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "invoice id")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody)))]
#[get("/invoices/{id}/pdf")]
pub async fn invoice_pdf(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, invoice) = (caller.0, InvoiceId(id.into_inner()));
    let (i, pdf, _) = state
        .app_tx(move |conn| invoices::file(conn, &actor, invoice))
        .await?;
    Ok(attachment(
        "application/pdf",
        &format!("{}.pdf", i.number),
        pdf,
    ))
}

/// The invoice's Factur-X XML (CII, EN 16931) alone.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(("id" = i64, Path, description = "invoice id")),
    responses((status = 200, content_type = "application/xml", body = String), (status = 404, body = ErrorBody)))]
#[get("/invoices/{id}/xml")]
pub async fn invoice_xml(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, invoice) = (caller.0, InvoiceId(id.into_inner()));
    let (i, _, xml) = state
        .app_tx(move |conn| invoices::file(conn, &actor, invoice))
        .await?;
    Ok(attachment(
        "application/xml",
        &format!("{}.xml", i.number),
        xml.into_bytes(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct LedgerQuery {
    /// First day of the period (French time).
    pub from: NaiveDate,
    /// Last day of the period, at most a year after `from`.
    pub to: NaiveDate,
    /// `csv` (one line per document and VAT rate, the default) or `fec` (the French FEC
    /// layout).
    pub format: Option<LedgerFormatIn>,
    /// CSV only: `,` (default) or `;`.
    pub delimiter: Option<DelimiterIn>,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LedgerFormatIn {
    Csv,
    Fec,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
pub enum DelimiterIn {
    #[serde(rename = ",")]
    Comma,
    #[serde(rename = ";")]
    Semicolon,
}

/// The organization's invoices and credit notes of a period, for its accountants
/// (organization admins); audited.
#[utoipa::path(tag = "shop", security(("bearer" = [])), params(LedgerQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorBody)))]
#[get("/invoices/ledger")]
pub async fn ledger(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<LedgerQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, q) = (caller.0, q.into_inner());
    let format = match (q.format.unwrap_or(LedgerFormatIn::Csv), q.delimiter) {
        (LedgerFormatIn::Csv, Some(DelimiterIn::Semicolon)) => LedgerFormat::Csv(b';'),
        (LedgerFormatIn::Csv, _) => LedgerFormat::Csv(b','),
        (LedgerFormatIn::Fec, _) => LedgerFormat::Fec,
    };
    let (from, to) = (q.from, q.to);
    let bytes = state
        .app_tx(move |conn| invoices::ledger(conn, &actor, from, to, format))
        .await?;
    let name = match format {
        LedgerFormat::Fec => format!("FEC-{}-{}.txt", from.format("%Y%m%d"), to.format("%Y%m%d")),
        LedgerFormat::Csv(_) => format!("sales-{from}-{to}.csv"),
    };
    Ok(attachment(
        if format == LedgerFormat::Fec {
            "text/plain; charset=utf-8"
        } else {
            "text/csv; charset=utf-8"
        },
        &name,
        bytes,
    ))
}
