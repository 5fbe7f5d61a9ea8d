//! The catalogue of an event: packages (one participant type each, with the meeting quota
//! they grant) and options, their prices over sale windows (early-bird first), capacities,
//! and vouchers.

use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use chrono::{DateTime, Utc};
use rdv_db::models::{NewProduct, NewProductPrice, NewVoucher, Product, ProductPrice, Voucher};
use rdv_db::queries::{events, shop};
use rdv_db::{Conn, DbError};
use rdv_domain::{EventId, ParticipantType, ProductId, ProductKind};
use rdv_shop::VatRate;
use serde::Serialize;

/// One sale window of a product.
#[derive(Debug, Clone)]
pub struct PriceInput {
    pub label: String,
    pub price_cents: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A product as typed.
#[derive(Debug, Clone)]
pub struct ProductInput {
    pub kind: String,
    pub participant_type: Option<String>,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    /// "20", "10", "5.5", "2.1" or "0".
    pub vat_rate: String,
    /// The exemption's legal mention, required at 0 %.
    pub vat_exemption: Option<String>,
    pub capacity: Option<i32>,
    pub meeting_quota: Option<i32>,
    pub max_per_order: Option<i32>,
    pub active: Option<bool>,
    pub prices: Vec<PriceInput>,
}

/// A product with its windows, and what can still be sold.
#[derive(Debug, Clone, Serialize)]
pub struct Offered {
    pub product: Product,
    pub prices: Vec<ProductPrice>,
    /// Units left: capacity minus units held by pending orders and units sold.
    pub available: Option<i32>,
    /// The window on sale now, if any.
    pub current_price: Option<ProductPrice>,
}

/// The window of `prices` covering `at`.
pub(crate) fn price_at(prices: &[ProductPrice], at: DateTime<Utc>) -> Option<&ProductPrice> {
    prices.iter().find(|p| p.starts_at <= at && at < p.ends_at)
}

fn offered(product: Product, all: &[ProductPrice], now: DateTime<Utc>) -> Offered {
    let prices: Vec<ProductPrice> = all
        .iter()
        .filter(|p| p.product_id == product.id)
        .cloned()
        .collect();
    Offered {
        available: product
            .capacity
            .map(|c| (c - product.held - product.sold).max(0)),
        current_price: price_at(&prices, now).cloned(),
        product,
        prices,
    }
}

fn check_product(
    c: &mut Check,
    event: EventId,
    org: rdv_domain::OrganizationId,
    b: &ProductInput,
) -> Option<(NewProduct, Vec<PriceInput>)> {
    let kind = c.word::<ProductKind>("kind", &b.kind);
    let participant_type = b
        .participant_type
        .as_deref()
        .and_then(|t| c.word::<ParticipantType>("participant_type", t));
    match (kind, &participant_type) {
        (Some(ProductKind::Package), None) if b.participant_type.is_none() => {
            c.add("participant_type", "a package is for one participant type")
        }
        (Some(ProductKind::Option), Some(_)) => c.add(
            "participant_type",
            "an option is for every participant type: leave it out",
        ),
        _ => {}
    }
    let code_ok = rdv_domain::Slug::parse(&b.code);
    let code = c.check("code", code_ok).map(|s| s.as_str().to_owned());
    let name = c.text::<200>("name", &b.name);
    let description = c.opt_multiline::<2000>("description", b.description.as_deref());
    let rate = VatRate::parse(&b.vat_rate);
    if rate.is_none() {
        c.add(
            "vat_rate",
            "must be one of the French VAT rates: 20, 10, 5.5, 2.1 or 0",
        );
    }
    let vat_exemption = c.opt_text::<200>("vat_exemption", b.vat_exemption.as_deref());
    if rate == Some(VatRate::Zero) && vat_exemption.is_none() {
        c.add(
            "vat_exemption",
            "a product at 0 % needs the exemption's legal mention, such as \"TVA non applicable, article 261 du CGI\"",
        );
    }
    if rate.is_some_and(|r| r != VatRate::Zero) && vat_exemption.is_some() {
        c.add(
            "vat_exemption",
            "only a product at 0 % carries an exemption mention",
        );
    }
    if b.capacity.is_some_and(|n| !(0..=1_000_000).contains(&n)) {
        c.add("capacity", "must be between 0 and 1000000");
    }
    if b.meeting_quota.is_some_and(|n| !(0..=1000).contains(&n)) {
        c.add("meeting_quota", "must be between 0 and 1000");
    }
    let max_per_order = b.max_per_order.unwrap_or(1);
    if !(1..=1000).contains(&max_per_order) {
        c.add("max_per_order", "must be between 1 and 1000");
    }
    if kind == Some(ProductKind::Package) && max_per_order != 1 {
        c.add("max_per_order", "a package is sold one per order");
    }
    if b.prices.is_empty() {
        c.add("prices", "a product needs at least one sale window");
    }
    if b.prices.len() > 20 {
        c.add("prices", "at most 20 sale windows");
    }
    let mut windows: Vec<(usize, &PriceInput)> = b.prices.iter().enumerate().collect();
    windows.sort_by_key(|(_, p)| p.starts_at);
    for (i, p) in &b.prices.iter().enumerate().collect::<Vec<_>>() {
        if p.label.trim().is_empty() || p.label.chars().count() > 100 {
            c.add(&format!("prices[{i}].label"), "must be 1 to 100 characters");
        }
        if !(0..=rdv_shop::pricing::MAX_AMOUNT).contains(&p.price_cents) {
            c.add(
                &format!("prices[{i}].price_cents"),
                format!("must be between 0 and {}", rdv_shop::pricing::MAX_AMOUNT),
            );
        }
        if p.starts_at >= p.ends_at {
            c.add(&format!("prices[{i}].ends_at"), "must be after starts_at");
        }
    }
    for pair in windows.windows(2) {
        if pair[1].1.starts_at < pair[0].1.ends_at {
            c.add(
                &format!("prices[{}].starts_at", pair[1].0),
                format!("overlaps the window \"{}\"", pair[0].1.label),
            );
        }
    }
    Some((
        NewProduct {
            organization_id: org,
            event_id: event,
            kind: kind?,
            participant_type,
            code: code?,
            name: name?,
            description,
            vat_rate_bp: rate?.basis_points() as i32,
            vat_exemption,
            capacity: b.capacity,
            meeting_quota: b.meeting_quota,
            max_per_order,
            active: b.active.unwrap_or(true),
        },
        b.prices.clone(),
    ))
}

fn write_prices(conn: &mut Conn, id: ProductId, prices: Vec<PriceInput>) -> AppResult<()> {
    for p in prices {
        shop::insert_price(
            conn,
            &NewProductPrice {
                product_id: id,
                label: p.label.trim().to_owned(),
                price_cents: p.price_cents,
                starts_at: p.starts_at,
                ends_at: p.ends_at,
            },
        )?;
    }
    Ok(())
}

fn code_taken(e: DbError) -> AppError {
    match e {
        DbError::Conflict(_) => {
            AppError::conflict_on("code", "another product of the event has this code")
        }
        other => other.into(),
    }
}

fn audit_product(conn: &mut Conn, actor: &Actor, action: &str, id: ProductId) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        Audit {
            action,
            subject_type: "product",
            subject_ids: vec![id.0],
            person_ids: vec![],
            fields: vec![],
        },
    )
}

/// Adds a product to the event's catalogue (organization admins). The organization's billing
/// details must be complete: nothing is sold that could not be invoiced.
pub fn create(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    input: ProductInput,
) -> AppResult<Offered> {
    let org = actor.admin_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let mut c = Check::new();
    let checked = check_product(&mut c, event, org, &input);
    c.finish()?;
    let (new, prices) = checked.ok_or_else(|| AppError::internal("checked product missing"))?;
    super::seller::party(conn, org)?;
    let product = shop::insert_product(conn, &new).map_err(code_taken)?;
    write_prices(conn, product.id, prices)?;
    audit_product(conn, actor, "product.create", product.id)?;
    get(conn, event, product.id)
}

/// Replaces a product's description and windows. Its capacity cannot go below the units
/// sold and held.
pub fn update(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    id: ProductId,
    input: ProductInput,
) -> AppResult<Offered> {
    let org = actor.admin_org()?;
    let current =
        shop::product(conn, event, id, true).map_err(|e| AppError::from_db("product", e))?;
    if current.organization_id != org {
        return Err(AppError::not_found("product"));
    }
    let mut c = Check::new();
    let checked = check_product(&mut c, event, org, &input);
    if let Some((new, _)) = &checked {
        if new.kind != current.kind {
            c.add("kind", "a product's kind cannot change");
        }
        if new
            .capacity
            .is_some_and(|cap| cap < current.held + current.sold)
        {
            c.add(
                "capacity",
                format!(
                    "cannot be below the {} units sold or held",
                    current.held + current.sold
                ),
            );
        }
    }
    c.finish()?;
    let (new, prices) = checked.ok_or_else(|| AppError::internal("checked product missing"))?;
    shop::update_product(conn, org, id, &new).map_err(code_taken)?;
    shop::delete_prices(conn, id)?;
    write_prices(conn, id, prices)?;
    audit_product(conn, actor, "product.update", id)?;
    get(conn, event, id)
}

fn get(conn: &mut Conn, event: EventId, id: ProductId) -> AppResult<Offered> {
    let product =
        shop::product(conn, event, id, false).map_err(|e| AppError::from_db("product", e))?;
    let prices = shop::prices_of(conn, &[id])?;
    Ok(offered(product, &prices, Utc::now()))
}

fn list(conn: &mut Conn, event: EventId, active_only: bool) -> AppResult<Vec<Offered>> {
    let products: Vec<Product> = shop::products_of_event(conn, event)?
        .into_iter()
        .filter(|p| p.active || !active_only)
        .collect();
    let ids: Vec<ProductId> = products.iter().map(|p| p.id).collect();
    let prices = shop::prices_of(conn, &ids)?;
    let now = Utc::now();
    Ok(products
        .into_iter()
        .map(|p| offered(p, &prices, now))
        .collect())
}

/// The catalogue as the organizers see it: every product, active or not.
pub fn list_for_organizer(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
) -> AppResult<Vec<Offered>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    list(conn, event, false)
}

/// The catalogue of an open event, as anyone sees it: active products only.
pub fn list_public(conn: &mut Conn, event: EventId) -> AppResult<Vec<Offered>> {
    events::get_public(conn, event).map_err(|e| AppError::from_db("event", e))?;
    list(conn, event, true)
}

/// A voucher as typed.
#[derive(Debug, Clone)]
pub struct VoucherInput {
    pub code: String,
    /// Percent off (0.01 to 100), or...
    pub percent: Option<f64>,
    /// ...an amount off in cents.
    pub amount_cents: Option<i64>,
    /// Valid only in orders holding this product.
    pub product_id: Option<ProductId>,
    pub max_uses: Option<i32>,
    pub valid_until: Option<DateTime<Utc>>,
}

pub fn create_voucher(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    b: VoucherInput,
) -> AppResult<Voucher> {
    let org = actor.admin_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let mut c = Check::new();
    let code = b.code.trim().to_uppercase();
    let code_re = regex::Regex::new("^[A-Z0-9][A-Z0-9_-]{2,39}$").map_err(AppError::internal)?;
    if !code_re.is_match(&code) {
        c.add("code", "must be 3 to 40 letters, digits, - or _");
    }
    let percent_bp = match (b.percent, b.amount_cents) {
        (Some(p), None) => {
            let bp = (p * 100.0).round();
            if !p.is_finite() || !(1.0..=10_000.0).contains(&bp) || (p * 100.0 - bp).abs() > 1e-6 {
                c.add(
                    "percent",
                    "must be between 0.01 and 100, with at most two decimals",
                );
                None
            } else {
                Some(bp as i32)
            }
        }
        (None, Some(a)) => {
            if !(1..=rdv_shop::pricing::MAX_AMOUNT).contains(&a) {
                c.add("amount_cents", "must be a positive number of cents");
            }
            None
        }
        _ => {
            c.add("percent", "give either percent or amount_cents");
            None
        }
    };
    if b.max_uses.is_some_and(|n| n < 1) {
        c.add("max_uses", "must be at least 1");
    }
    if b.valid_until.is_some_and(|t| t <= Utc::now()) {
        c.add("valid_until", "must be in the future");
    }
    if let Some(p) = b.product_id {
        if shop::product(conn, event, p, false).is_err() {
            c.add("product_id", "is not a product of this event");
        }
    }
    c.finish()?;
    let v = shop::insert_voucher(
        conn,
        &NewVoucher {
            organization_id: org,
            event_id: event,
            code,
            percent_bp,
            amount_cents: b.amount_cents.filter(|_| percent_bp.is_none()),
            product_id: b.product_id,
            max_uses: b.max_uses,
            valid_until: b.valid_until,
        },
    )
    .map_err(|e| match e {
        DbError::Conflict(_) => {
            AppError::conflict_on("code", "another voucher of the event has this code")
        }
        other => other.into(),
    })?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "voucher.create",
            subject_type: "voucher",
            subject_ids: vec![v.id.0],
            person_ids: vec![],
            fields: vec![],
        },
    )?;
    Ok(v)
}

pub fn list_vouchers(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Vec<Voucher>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    Ok(shop::vouchers_of_event(conn, event)?)
}
