//! Invoices and credit notes: numbered per organization in one sequence per year without
//! gaps (the number is taken in the issuing transaction, on a row that stays locked until it
//! commits), rendered once as PDF with the Factur-X XML inside, and never changed after;
//! accounting exports of a period (CSV and FEC).

use super::orders::{stored_buyer, stored_pricing, BuyerSnapshot};
use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use rdv_db::models::{Invoice, NewInvoice, Order, Refund};
use rdv_db::queries::{events, shop};
use rdv_db::Conn;
use rdv_domain::{
    DataSource, InvoiceId, InvoiceKind, LegalBasis, OrderStatus, PaymentMethod, RetentionPolicy,
    Role,
};
use rdv_shop::accounting::{self, LedgerDocument};
use rdv_shop::invoice::{DocumentKind, InvoiceDocument, InvoiceLine, Party, VatBreakdown};
use rdv_shop::money::euros_fr;
use rdv_shop::pricing::credit_breakdown;

fn buyer_party(b: &BuyerSnapshot) -> Party {
    Party {
        name: match (&b.company, b.business) {
            (Some(company), true) => company.clone(),
            _ => b.name.clone(),
        },
        address_line1: b.address_line1.clone(),
        address_line2: b.address_line2.clone(),
        postal_code: b.postal_code.clone(),
        city: b.city.clone(),
        country: b.country.clone(),
        siren: None,
        siret: None,
        vat_number: b.vat_number.clone(),
        email: Some(b.email.clone()),
        legal_mentions: None,
    }
}

fn method_fr(m: Option<PaymentMethod>) -> &'static str {
    match m {
        Some(PaymentMethod::Card) => "par carte",
        Some(PaymentMethod::BankTransfer) => "par virement",
        Some(PaymentMethod::OnSite) => "sur place",
        None => "",
    }
}

/// Takes the next number and stores the rendered document; one transaction with the caller.
#[allow(clippy::too_many_arguments)]
fn issue(
    conn: &mut Conn,
    order: &Order,
    kind: DocumentKind,
    lines: Vec<InvoiceLine>,
    vat: Vec<VatBreakdown>,
    paid_cents: i64,
    corrects: Option<&Invoice>,
    refund: Option<&Refund>,
) -> AppResult<Invoice> {
    let (seller, seller_party) = super::seller::party(conn, order.organization_id)?;
    let ev = events::get(conn, order.organization_id, order.event_id)
        .map_err(|e| AppError::from_db("event", e))?;
    // A credit note names the buyer as its invoice did (the order's copy may have been
    // erased since); an invoice, as the order recorded them.
    let buyer = match corrects {
        Some(invoice) => {
            let doc: InvoiceDocument =
                serde_json::from_value(invoice.document.clone()).map_err(AppError::internal)?;
            (doc.buyer, doc.buyer_is_business)
        }
        None => {
            let b = stored_buyer(order)?;
            (buyer_party(&b), b.business)
        }
    };
    let year = Utc::now()
        .with_timezone(&Paris)
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .map_err(AppError::internal)?;
    let seq = shop::next_invoice_number(conn, order.organization_id, year)?;
    // The date after the number: issue dates follow the numbers' order.
    let now = Utc::now();
    let today = now.with_timezone(&Paris).date_naive();
    let number = format!("{year}-{seq:06}");
    let total_excl: i64 = lines.iter().map(|l| l.net_cents).sum();
    let total_vat: i64 = vat.iter().map(|b| b.vat_cents).sum();
    let total_incl = total_excl + total_vat;
    let paid_cents = paid_cents.min(total_incl);
    let due_cents = total_incl - paid_cents;
    let due_date = if due_cents > 0 {
        today + Duration::days(seller.payment_days as i64)
    } else {
        today
    };
    let payment_terms = match kind {
        DocumentKind::CreditNote if refund.is_some() => format!(
            "Remboursement de {} {}",
            euros_fr(total_incl),
            method_fr(order.payment_method)
        ),
        DocumentKind::CreditNote => format!(
            "Annule la facture {} : aucun paiement n'est dû",
            corrects.map(|i| i.number.as_str()).unwrap_or("")
        ),
        DocumentKind::Invoice if due_cents == 0 => format!(
            "Payée {} le {}, référence {}",
            method_fr(order.payment_method),
            order.paid_at.unwrap_or(now).with_timezone(&Paris).format("%d/%m/%Y"),
            order.reference
        ),
        DocumentKind::Invoice => format!(
            "Payable par virement au plus tard le {} avec la référence {} ; pas d'escompte pour paiement anticipé",
            due_date.format("%d/%m/%Y"),
            order.reference
        ),
    };
    let doc = InvoiceDocument {
        kind,
        number: number.clone(),
        issue_date: today,
        sale_date: order.created_at.with_timezone(&Paris).date_naive(),
        currency: "EUR".into(),
        seller: seller_party,
        buyer: buyer.0,
        buyer_is_business: buyer.1,
        order_reference: order.reference.clone(),
        event_name: ev.name.clone(),
        lines,
        vat,
        total_excl_cents: total_excl,
        total_vat_cents: total_vat,
        total_incl_cents: total_incl,
        paid_cents,
        due_cents,
        due_date,
        payment_terms,
        late_penalty: seller.late_penalty.clone(),
        preceding_invoice: corrects.map(|i| {
            (
                i.number.clone(),
                i.issued_at.with_timezone(&Paris).date_naive(),
            )
        }),
        notes: vec![],
    };
    let rendered = rdv_shop::invoice::render(&doc).map_err(AppError::internal)?;
    let invoice = shop::insert_invoice(
        conn,
        &NewInvoice {
            organization_id: order.organization_id,
            event_id: order.event_id,
            order_id: order.id,
            person_id: order.person_id,
            kind: match kind {
                DocumentKind::Invoice => InvoiceKind::Invoice,
                DocumentKind::CreditNote => InvoiceKind::CreditNote,
            },
            year,
            seq,
            number,
            issued_at: now,
            corrects_id: corrects.map(|i| i.id),
            refund_id: refund.map(|r| r.id),
            document: serde_json::to_value(&doc).map_err(AppError::internal)?,
            total_excl_cents: total_excl,
            total_vat_cents: total_vat,
            total_incl_cents: total_incl,
            pdf: rendered.pdf,
            xml: rendered.xml,
            legal_basis: LegalBasis::LegalObligation,
            retention_until: RetentionPolicy::Accounting.deadline(now),
            source: DataSource::System,
        },
    )?;
    audit::record_as(
        conn,
        Some(order.organization_id),
        None,
        None,
        Audit {
            action: match kind {
                DocumentKind::Invoice => "invoice.issue",
                DocumentKind::CreditNote => "credit_note.issue",
            },
            subject_type: "invoice",
            subject_ids: vec![invoice.id.0],
            person_ids: vec![order.person_id.0],
            fields: vec!["buyer"],
        },
    )?;
    tracing::info!(invoice.id = %invoice.id, invoice.number = %invoice.number, "invoice issued");
    Ok(invoice)
}

/// The invoice of `order` (its lines as priced), unless it has one already.
pub(crate) fn issue_for_order(conn: &mut Conn, order: &Order) -> AppResult<Invoice> {
    if let Some(existing) = shop::invoices_of_order(conn, order.id)?
        .into_iter()
        .find(|i| i.kind == InvoiceKind::Invoice)
    {
        return Ok(existing);
    }
    let priced = stored_pricing(order)?;
    let lines = priced
        .lines
        .iter()
        .map(|l| InvoiceLine {
            label: l.label.clone(),
            quantity: l.quantity,
            unit_price_cents: l.unit_price_cents,
            discount_cents: l.discount_cents,
            net_cents: l.net_cents,
            vat_rate: l.vat_rate,
            vat_category: l.vat_category,
        })
        .collect();
    issue(
        conn,
        order,
        DocumentKind::Invoice,
        lines,
        priced.vat,
        order.paid_cents,
        None,
        None,
    )
}

/// Issues the invoice of an order awaiting a bank transfer, before it is paid (organizers):
/// the buyer's accounts department pays against it.
pub fn issue_on_demand(
    conn: &mut Conn,
    actor: &Actor,
    id: rdv_domain::OrderId,
) -> AppResult<Invoice> {
    actor.organizer_org()?;
    let order = super::orders::changeable(conn, actor, id)?;
    match order.status {
        OrderStatus::PendingPayment | OrderStatus::Paid | OrderStatus::PartiallyRefunded => {}
        other => {
            return Err(AppError::conflict(format!(
                "the order is {other}: there is nothing to invoice"
            )))
        }
    }
    let invoice = issue_for_order(conn, &order)?;
    // The units stay held until the transfer's due date: the buyer pays against the invoice.
    if order.status == OrderStatus::PendingPayment {
        let (seller, _) = super::seller::party(conn, order.organization_id)?;
        shop::extend_hold(
            conn,
            order.id,
            Utc::now() + Duration::days(seller.payment_days.max(1) as i64),
        )?;
    }
    Ok(invoice)
}

/// The credit note of a refund of `refund.amount_cents` (including VAT), shared among the
/// invoice's VAT rates in proportion.
pub(crate) fn credit_note(
    conn: &mut Conn,
    order: &Order,
    amount_cents: i64,
    reason: &str,
    refund: Option<&Refund>,
) -> AppResult<Invoice> {
    let invoice = issue_for_order(conn, order)?;
    let doc: InvoiceDocument =
        serde_json::from_value(invoice.document.clone()).map_err(AppError::internal)?;
    let vat = credit_breakdown(&doc.vat, amount_cents);
    let lines = vat
        .iter()
        .map(|b| InvoiceLine {
            label: format!(
                "Avoir sur la commande {} ({}) - TVA {} %",
                order.reference,
                reason,
                b.rate.as_str().replace('.', ",")
            ),
            quantity: 1,
            unit_price_cents: b.base_cents,
            discount_cents: 0,
            net_cents: b.base_cents,
            vat_rate: b.rate,
            vat_category: b.category,
        })
        .collect();
    // Settled in full: by the refund, or by cancelling what the invoice asked (nothing is
    // due either way).
    let paid = vat.iter().map(|b| b.base_cents + b.vat_cents).sum();
    issue(
        conn,
        order,
        DocumentKind::CreditNote,
        lines,
        vat,
        paid,
        Some(&invoice),
        refund,
    )
}

/// Cancels the invoice of an order cancelled before it was paid (an invoice issued on demand
/// for a transfer that never came): a credit note for the whole invoice.
pub(crate) fn cancel_invoice(conn: &mut Conn, order: &Order) -> AppResult<Option<Invoice>> {
    let documents = shop::invoices_of_order(conn, order.id)?;
    let Some(invoice) = documents.iter().find(|i| i.kind == InvoiceKind::Invoice) else {
        return Ok(None);
    };
    let credited: i64 = documents
        .iter()
        .filter(|i| i.kind == InvoiceKind::CreditNote)
        .map(|i| i.total_incl_cents)
        .sum();
    let left = invoice.total_incl_cents - credited;
    if left <= 0 {
        return Ok(None);
    }
    credit_note(conn, order, left, "commande annulée", None).map(Some)
}

/// An invoice's PDF (with its Factur-X XML inside) and the XML alone: the organizers, or the
/// participant it was issued to. Audited.
pub fn file(
    conn: &mut Conn,
    actor: &Actor,
    id: InvoiceId,
) -> AppResult<(Invoice, Vec<u8>, String)> {
    let org = actor
        .organization
        .ok_or_else(|| AppError::not_found("invoice"))?;
    let (invoice, pdf, xml) =
        shop::invoice_file(conn, org, id).map_err(|e| AppError::from_db("invoice", e))?;
    match actor.role {
        Role::Participant if actor.person != Some(invoice.person_id) => {
            return Err(AppError::not_found("invoice"))
        }
        Role::Participant | Role::OrgAdmin | Role::OrgStaff => {}
        _ => return Err(AppError::not_found("invoice")),
    }
    audit::record(
        conn,
        actor,
        Audit {
            action: "invoice.download",
            subject_type: "invoice",
            subject_ids: vec![invoice.id.0],
            person_ids: vec![invoice.person_id.0],
            fields: vec!["buyer"],
        },
    )?;
    Ok((invoice, pdf, xml))
}

/// The formats of the accounting export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerFormat {
    /// One line per document and VAT rate; `,` or `;` between fields.
    Csv(u8),
    /// The FEC layout, `|` between fields.
    Fec,
}

/// The organization's invoices and credit notes issued from `from` to `to` (inclusive, in
/// French time) as an accounting export (organization admins); audited as a bulk read.
pub fn ledger(
    conn: &mut Conn,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    format: LedgerFormat,
) -> AppResult<Vec<u8>> {
    let org = actor.admin_org()?;
    if to < from {
        return Err(AppError::field("to", "must not be before from"));
    }
    if (to - from).num_days() > 366 {
        return Err(AppError::field("to", "a period is at most a year"));
    }
    let after = to
        .succ_opt()
        .filter(|d| d.format("%Y").to_string().len() == 4)
        .ok_or_else(|| AppError::field("to", "must be a day of years 1000 to 9998"))?;
    let start = |d: NaiveDate| -> AppResult<DateTime<Utc>> {
        Paris
            .from_local_datetime(
                &d.and_hms_opt(0, 0, 0)
                    .ok_or_else(|| AppError::internal("midnight"))?,
            )
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| AppError::internal("no midnight that day"))
    };
    let docs = shop::invoices_issued(conn, org, start(from)?, start(after)?)?;
    let mut ledger = Vec::with_capacity(docs.len());
    for d in &docs {
        let doc: InvoiceDocument =
            serde_json::from_value(d.document.clone()).map_err(AppError::internal)?;
        ledger.push(LedgerDocument {
            number: d.number.clone(),
            kind: doc.kind,
            issue_date: doc.issue_date,
            customer_account: format!("C{}", d.person_id),
            customer_name: doc.buyer.name.clone(),
            vat: doc.vat.clone(),
            total_incl_cents: doc.total_incl_cents,
        });
    }
    let bytes = match format {
        LedgerFormat::Csv(delimiter) => accounting::sales_csv(&ledger, delimiter),
        LedgerFormat::Fec => accounting::fec(&ledger),
    }
    .map_err(AppError::internal)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "invoice.ledger",
            subject_type: "invoice",
            subject_ids: docs.iter().map(|d| d.id.0).collect(),
            person_ids: audit::person_ids(docs.iter().map(|d| d.person_id)),
            fields: vec!["buyer"],
        },
    )?;
    Ok(bytes)
}
