//! The documents an order produces: French invoices and credit notes, checked for consistency,
//! then written as EN 16931 CII XML (`cii`), as a PDF that carries that XML (Factur-X, `pdf`).
//! The order code computes the amounts; this module only refuses documents that do not add up.

pub mod cii;
pub mod pdf;

pub use cii::to_xml;
pub use pdf::{render, render_pdf, Rendered};

use crate::money::{decimal, Cents, VatRate};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a document could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The caller's document does not add up or lacks a mandatory mention: nothing is rendered.
    #[error("inconsistent document: {0}")]
    Inconsistent(String),
    /// Writing the XML failed (an internal fault).
    #[error("cannot write the xml: {0}")]
    Xml(String),
    /// Writing the PDF failed (an internal fault).
    #[error("cannot write the pdf: {0}")]
    Pdf(String),
}

/// An invoice, or a credit note that cancels all or part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Invoice,
    CreditNote,
}

impl DocumentKind {
    /// The UNTDID 1001 document type code: 380 commercial invoice, 381 credit note.
    pub fn type_code(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "380",
            DocumentKind::CreditNote => "381",
        }
    }
}

/// The seller or the buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2 code: "FR", "DE".
    pub country: String,
    pub siren: Option<String>,
    pub siret: Option<String>,
    /// Intra-community VAT number, with its country prefix: "FR32123456789".
    pub vat_number: Option<String>,
    pub email: Option<String>,
    /// The seller's legal form, capital and RCS registration, printed in the footer.
    pub legal_mentions: Option<String>,
}

/// The VAT category of a line (UNCL 5305 codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VatCategory {
    /// S: VAT charged at one of the French rates.
    Standard,
    /// AE: reverse charge, the buyer (a business in another EU state) accounts for the VAT.
    ReverseCharge,
    /// E: exempt from VAT.
    Exempt,
}

impl VatCategory {
    /// The UNCL 5305 code written in the XML.
    pub fn code(self) -> &'static str {
        match self {
            VatCategory::Standard => "S",
            VatCategory::ReverseCharge => "AE",
            VatCategory::Exempt => "E",
        }
    }
}

/// One line of the document. Amounts exclude VAT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub label: String,
    pub quantity: i64,
    /// Unit price excluding VAT, before the discount.
    pub unit_price_cents: Cents,
    /// Allowance on the whole line, zero or positive.
    pub discount_cents: Cents,
    /// quantity × unit price − discount.
    pub net_cents: Cents,
    pub vat_rate: VatRate,
    pub vat_category: VatCategory,
}

/// The VAT of one (category, rate) pair: the sum of its lines' net amounts and the VAT on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatBreakdown {
    pub category: VatCategory,
    pub rate: VatRate,
    pub base_cents: Cents,
    pub vat_cents: Cents,
    /// Required for reverse charge and exemption: "Autoliquidation", "Exonération, article 261 du CGI".
    pub exemption_reason: Option<String>,
}

/// An invoice or credit note as the law and EN 16931 want it. All amounts are positive, for a
/// credit note too: its type says that it credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDocument {
    pub kind: DocumentKind,
    /// "2027-000123": one unbroken sequence per seller.
    pub number: String,
    pub issue_date: NaiveDate,
    /// The date of the sale (or of the delivery of the service).
    pub sale_date: NaiveDate,
    /// ISO 4217: "EUR".
    pub currency: String,
    pub seller: Party,
    pub buyer: Party,
    pub buyer_is_business: bool,
    pub order_reference: String,
    pub event_name: String,
    pub lines: Vec<InvoiceLine>,
    pub vat: Vec<VatBreakdown>,
    pub total_excl_cents: Cents,
    pub total_vat_cents: Cents,
    pub total_incl_cents: Cents,
    /// What was already paid (prepaid amount).
    pub paid_cents: Cents,
    /// total incl. VAT − paid.
    pub due_cents: Cents,
    pub due_date: NaiveDate,
    /// "Payée par carte le 12/01/2027".
    pub payment_terms: String,
    /// "trois fois le taux d'intérêt légal".
    pub late_penalty: String,
    /// Credit notes: the invoice they correct, with its issue date.
    pub preceding_invoice: Option<(String, NaiveDate)>,
    /// Extra mentions, e.g. the article that exempts from VAT.
    pub notes: Vec<String>,
}

impl InvoiceDocument {
    /// Checks that the document adds up and carries what EN 16931 and French law require; the
    /// renderers call it first and render nothing inconsistent. The message names the first
    /// problem found.
    pub fn check(&self) -> Result<(), String> {
        if self.number.trim().is_empty() {
            return Err("the document has no number".into());
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "currency {:?} is not an iso 4217 code",
                self.currency
            ));
        }
        check_party("seller", &self.seller)?;
        check_party("buyer", &self.buyer)?;
        if self.seller.siren.is_none() {
            return Err("the seller has no siren".into());
        }
        if self.lines.is_empty() {
            return Err("the document has no line".into());
        }

        // The lines, summed per (category, rate) as the breakdowns must be.
        let mut per_group: BTreeMap<(VatCategory, VatRate), Cents> = BTreeMap::new();
        let mut lines_total: Cents = 0;
        for (i, line) in self.lines.iter().enumerate() {
            let n = i + 1;
            if line.label.trim().is_empty() {
                return Err(format!("line {n} has no label"));
            }
            if line.quantity <= 0 {
                return Err(format!(
                    "line {n}: quantity {} is not positive",
                    line.quantity
                ));
            }
            if line.unit_price_cents < 0 || line.discount_cents < 0 {
                return Err(format!(
                    "line {n}: unit price and discount must not be negative"
                ));
            }
            let gross = line
                .quantity
                .checked_mul(line.unit_price_cents)
                .ok_or_else(|| format!("line {n}: amount out of range"))?;
            if gross - line.discount_cents != line.net_cents {
                return Err(format!(
                    "line {n}: net {} is not quantity × unit price − discount ({})",
                    decimal(line.net_cents),
                    decimal(gross - line.discount_cents)
                ));
            }
            if line.net_cents < 0 {
                return Err(format!("line {n}: the discount exceeds the line amount"));
            }
            check_category_rate(line.vat_category, line.vat_rate)
                .map_err(|e| format!("line {n}: {e}"))?;
            *per_group
                .entry((line.vat_category, line.vat_rate))
                .or_default() += line.net_cents;
            lines_total += line.net_cents;
        }
        if lines_total != self.total_excl_cents {
            return Err(format!(
                "the lines add up to {} but the total excluding vat is {}",
                decimal(lines_total),
                decimal(self.total_excl_cents)
            ));
        }

        let mut seen = BTreeMap::new();
        let (mut bases, mut vats): (Cents, Cents) = (0, 0);
        for b in &self.vat {
            let what = format!("vat breakdown {} {}", b.category.code(), b.rate.as_str());
            check_category_rate(b.category, b.rate).map_err(|e| format!("{what}: {e}"))?;
            if seen.insert((b.category, b.rate), ()).is_some() {
                return Err(format!("{what} appears twice"));
            }
            let lines = per_group.get(&(b.category, b.rate)).copied();
            match lines {
                None => return Err(format!("{what} has no line")),
                Some(sum) if sum != b.base_cents => {
                    return Err(format!(
                        "{what}: base {} but its lines add up to {}",
                        decimal(b.base_cents),
                        decimal(sum)
                    ))
                }
                Some(_) => {}
            }
            // BR-CO-17: the VAT is the base times the rate, rounded. A cent apart is accepted:
            // a price that includes VAT splits into a rounded base and the rest (partial credit
            // notes do that), which can differ by one cent from the rounded product.
            let expected = b.rate.vat_on(b.base_cents);
            if (b.vat_cents - expected).abs() > 1 {
                return Err(format!(
                    "{what}: vat {} but {} of {} is {}",
                    decimal(b.vat_cents),
                    b.rate.as_str(),
                    decimal(b.base_cents),
                    decimal(expected)
                ));
            }
            let has_reason = b
                .exemption_reason
                .as_deref()
                .is_some_and(|r| !r.trim().is_empty());
            match b.category {
                VatCategory::ReverseCharge | VatCategory::Exempt if !has_reason => {
                    return Err(format!("{what} needs an exemption reason"))
                }
                VatCategory::Standard if b.exemption_reason.is_some() => {
                    return Err(format!("{what}: a standard rate has no exemption reason"))
                }
                _ => {}
            }
            bases += b.base_cents;
            vats += b.vat_cents;
        }
        if let Some((category, rate)) = per_group.keys().find(|k| !seen.contains_key(*k)) {
            return Err(format!(
                "lines at vat {} {} have no vat breakdown",
                category.code(),
                rate.as_str()
            ));
        }
        if bases != self.total_excl_cents {
            return Err(format!(
                "the vat bases add up to {} but the total excluding vat is {}",
                decimal(bases),
                decimal(self.total_excl_cents)
            ));
        }
        if vats != self.total_vat_cents {
            return Err(format!(
                "the vat breakdowns add up to {} but the total vat is {}",
                decimal(vats),
                decimal(self.total_vat_cents)
            ));
        }
        if self.total_excl_cents + self.total_vat_cents != self.total_incl_cents {
            return Err(format!(
                "total including vat {} is not {} + {}",
                decimal(self.total_incl_cents),
                decimal(self.total_excl_cents),
                decimal(self.total_vat_cents)
            ));
        }
        if self.paid_cents < 0 || self.paid_cents > self.total_incl_cents {
            return Err(format!(
                "paid {} is not between zero and the total including vat",
                decimal(self.paid_cents)
            ));
        }
        if self.total_incl_cents - self.paid_cents != self.due_cents {
            return Err(format!(
                "due {} is not total including vat {} − paid {}",
                decimal(self.due_cents),
                decimal(self.total_incl_cents),
                decimal(self.paid_cents)
            ));
        }

        let charges_vat = self
            .lines
            .iter()
            .any(|l| l.vat_category != VatCategory::Exempt);
        if charges_vat && blank(&self.seller.vat_number) {
            return Err("the seller has no vat number".into());
        }
        if per_group
            .keys()
            .any(|(c, _)| *c == VatCategory::ReverseCharge)
        {
            if !self.buyer_is_business {
                return Err("reverse charge applies to business buyers only".into());
            }
            if blank(&self.buyer.vat_number) {
                return Err("reverse charge needs the buyer's vat number".into());
            }
        }
        if self.payment_terms.trim().is_empty() {
            return Err("the payment terms are missing".into());
        }
        if self.late_penalty.trim().is_empty() {
            return Err("the late-payment penalty is missing".into());
        }
        match (&self.kind, &self.preceding_invoice) {
            (DocumentKind::CreditNote, None) => {
                Err("a credit note names the invoice it corrects".into())
            }
            (_, Some((number, _))) if number.trim().is_empty() => {
                Err("the preceding invoice has no number".into())
            }
            _ => Ok(()),
        }
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn check_party(role: &str, p: &Party) -> Result<(), String> {
    if p.name.trim().is_empty() {
        return Err(format!("the {role} has no name"));
    }
    if p.address_line1.trim().is_empty()
        || p.postal_code.trim().is_empty()
        || p.city.trim().is_empty()
    {
        return Err(format!("the {role}'s address is incomplete"));
    }
    if p.country.len() != 2 || !p.country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "the {role}'s country {:?} is not an iso 3166 alpha-2 code",
            p.country
        ));
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(siren) = &p.siren {
        if !digits(siren, 9) {
            return Err(format!("the {role}'s siren {siren:?} is not 9 digits"));
        }
    }
    if let Some(siret) = &p.siret {
        if !digits(siret, 14) {
            return Err(format!("the {role}'s siret {siret:?} is not 14 digits"));
        }
        if p.siren
            .as_deref()
            .is_some_and(|siren| !siret.starts_with(siren))
        {
            return Err(format!("the {role}'s siret does not start with its siren"));
        }
    }
    Ok(())
}

/// Standard rates are not zero; reverse charge and exemption are at zero (BR-S-05, BR-AE-05,
/// BR-E-05).
fn check_category_rate(category: VatCategory, rate: VatRate) -> Result<(), String> {
    match (category, rate) {
        (VatCategory::Standard, VatRate::Zero) => {
            Err("a standard-rated amount needs a rate above zero".into())
        }
        (VatCategory::ReverseCharge | VatCategory::Exempt, r) if r != VatRate::Zero => {
            Err(format!("category {} is at a zero rate", category.code()))
        }
        _ => Ok(()),
    }
}

/// Example documents shared by the unit tests of the renderers.
#[cfg(test)]
pub(crate) mod samples {
    use super::*;

    pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    pub fn seller() -> Party {
        Party {
            name: "Rendez-vous d'Affaires SAS".into(),
            address_line1: "12 rue de la République".into(),
            address_line2: Some("Bâtiment B".into()),
            postal_code: "69002".into(),
            city: "Lyon".into(),
            country: "FR".into(),
            siren: Some("123456789".into()),
            siret: Some("12345678900017".into()),
            vat_number: Some("FR32123456789".into()),
            email: Some("factures@rdv.example".into()),
            legal_mentions: Some("SAS au capital de 10 000 € – RCS Lyon 123 456 789".into()),
        }
    }

    pub fn french_buyer() -> Party {
        Party {
            name: "Mécanique Générale SARL".into(),
            address_line1: "3 avenue Jean Jaurès".into(),
            address_line2: None,
            postal_code: "38000".into(),
            city: "Grenoble".into(),
            country: "FR".into(),
            siren: Some("987654321".into()),
            siret: None,
            vat_number: Some("FR58987654321".into()),
            email: Some("compta@mecagen.example".into()),
            legal_mentions: None,
        }
    }

    pub fn line(
        label: &str,
        quantity: i64,
        unit: Cents,
        discount: Cents,
        rate: VatRate,
    ) -> InvoiceLine {
        InvoiceLine {
            label: label.into(),
            quantity,
            unit_price_cents: unit,
            discount_cents: discount,
            net_cents: quantity * unit - discount,
            vat_rate: rate,
            vat_category: if rate == VatRate::Zero {
                VatCategory::Exempt
            } else {
                VatCategory::Standard
            },
        }
    }

    /// Fills the breakdowns and totals from the lines, the way the order code does.
    pub fn totals(mut doc: InvoiceDocument, paid_all: bool) -> InvoiceDocument {
        let mut groups: BTreeMap<(VatCategory, VatRate), Cents> = BTreeMap::new();
        for l in &doc.lines {
            *groups.entry((l.vat_category, l.vat_rate)).or_default() += l.net_cents;
        }
        doc.vat = groups
            .into_iter()
            .map(|((category, rate), base)| VatBreakdown {
                category,
                rate,
                base_cents: base,
                vat_cents: rate.vat_on(base),
                exemption_reason: match category {
                    VatCategory::Standard => None,
                    VatCategory::ReverseCharge => Some("Autoliquidation".into()),
                    VatCategory::Exempt => {
                        Some("Exonération de TVA, article 261-4-4° du CGI".into())
                    }
                },
            })
            .collect();
        doc.total_excl_cents = doc.vat.iter().map(|b| b.base_cents).sum();
        doc.total_vat_cents = doc.vat.iter().map(|b| b.vat_cents).sum();
        doc.total_incl_cents = doc.total_excl_cents + doc.total_vat_cents;
        doc.paid_cents = if paid_all { doc.total_incl_cents } else { 0 };
        doc.due_cents = doc.total_incl_cents - doc.paid_cents;
        doc
    }

    /// A business buyer's invoice at 20 % and 10 %, one line discounted, half paid.
    pub fn invoice() -> InvoiceDocument {
        let doc = InvoiceDocument {
            kind: DocumentKind::Invoice,
            number: "2027-000123".into(),
            issue_date: date(2027, 1, 12),
            sale_date: date(2027, 1, 10),
            currency: "EUR".into(),
            seller: seller(),
            buyer: french_buyer(),
            buyer_is_business: true,
            order_reference: "CMD-2027-0042".into(),
            event_name: "Rencontres Industrie 2027".into(),
            lines: vec![
                line(
                    "Pass exposant – 2 jours",
                    2,
                    45_000,
                    9_000,
                    VatRate::Standard,
                ),
                line("Déjeuner d'affaires", 3, 3_500, 0, VatRate::Intermediate),
            ],
            vat: vec![],
            total_excl_cents: 0,
            total_vat_cents: 0,
            total_incl_cents: 0,
            paid_cents: 0,
            due_cents: 0,
            due_date: date(2027, 2, 11),
            payment_terms: "Virement à 30 jours".into(),
            late_penalty: "trois fois le taux d'intérêt légal".into(),
            preceding_invoice: None,
            notes: vec![],
        };
        let mut doc = totals(doc, false);
        doc.paid_cents = 10_000;
        doc.due_cents = doc.total_incl_cents - doc.paid_cents;
        doc
    }

    /// A credit note for the lunches of `invoice()`, refunded.
    pub fn credit_note() -> InvoiceDocument {
        let mut doc = invoice();
        doc.kind = DocumentKind::CreditNote;
        doc.number = "2027-000130".into();
        doc.issue_date = date(2027, 1, 20);
        doc.lines = vec![line(
            "Déjeuner d'affaires (annulé)",
            3,
            3_500,
            0,
            VatRate::Intermediate,
        )];
        doc.preceding_invoice = Some(("2027-000123".into(), date(2027, 1, 12)));
        doc.payment_terms = "Remboursement par virement sous 14 jours".into();
        totals(doc, true)
    }

    /// An invoice to a German business, its VAT reverse-charged.
    pub fn reverse_charge() -> InvoiceDocument {
        let mut doc = invoice();
        doc.number = "2027-000124".into();
        doc.buyer = Party {
            name: "Maschinenbau Müller GmbH".into(),
            address_line1: "Hauptstraße 5".into(),
            address_line2: None,
            postal_code: "80331".into(),
            city: "München".into(),
            country: "DE".into(),
            siren: None,
            siret: None,
            vat_number: Some("DE123456789".into()),
            email: None,
            legal_mentions: None,
        };
        doc.lines = vec![InvoiceLine {
            vat_category: VatCategory::ReverseCharge,
            ..line(
                "Stand 9 m² – Rencontres Industrie 2027",
                1,
                180_000,
                0,
                VatRate::Zero,
            )
        }];
        totals(doc, true)
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn the_samples_are_consistent() {
        for doc in [invoice(), credit_note(), reverse_charge()] {
            assert_eq!(doc.check(), Ok(()), "{}", doc.number);
        }
    }

    fn rejected(doc: &InvoiceDocument, needle: &str) {
        match doc.check() {
            Ok(()) => panic!("accepted a document that should fail with {needle:?}"),
            Err(e) => assert!(e.contains(needle), "{e:?} does not mention {needle:?}"),
        }
    }

    #[test]
    fn a_line_whose_net_is_not_quantity_times_price_less_discount_is_rejected() {
        let mut doc = invoice();
        doc.lines[0].net_cents += 1;
        rejected(&doc, "line 1: net");
    }

    #[test]
    fn lines_that_do_not_add_up_to_the_total_are_rejected() {
        let mut doc = invoice();
        doc.total_excl_cents += 100;
        rejected(&doc, "the lines add up to");
    }

    #[test]
    fn a_breakdown_whose_base_differs_from_its_lines_is_rejected() {
        let mut doc = invoice();
        doc.vat[0].base_cents += 100;
        doc.vat[1].base_cents -= 100;
        rejected(&doc, "but its lines add up to");
    }

    #[test]
    fn a_breakdown_with_the_wrong_vat_is_rejected() {
        let mut doc = invoice();
        doc.vat[0].vat_cents += 2;
        doc.total_vat_cents += 2;
        doc.total_incl_cents += 2;
        doc.due_cents += 2;
        rejected(&doc, "vat breakdown S 20: vat");
    }

    #[test]
    fn vat_split_from_a_price_including_it_may_be_a_cent_off() {
        // 10.00 € including 20 % VAT: base 8.33 €, VAT 1.67 € where 8.33 × 20 % = 1.666.
        let mut doc = invoice();
        doc.lines = vec![line("Remboursement partiel", 1, 833, 0, VatRate::Standard)];
        let mut doc = totals(doc, false);
        assert_eq!(doc.check(), Ok(()));
        doc.vat[0].vat_cents -= 1;
        doc.total_vat_cents -= 1;
        doc.total_incl_cents -= 1;
        doc.due_cents -= 1;
        assert_eq!(doc.check(), Ok(()));
    }

    #[test]
    fn lines_without_a_breakdown_are_rejected() {
        let mut doc = invoice();
        doc.vat.remove(0);
        rejected(&doc, "no vat breakdown");
    }

    #[test]
    fn totals_that_do_not_add_up_are_rejected() {
        let mut doc = invoice();
        doc.total_incl_cents += 1;
        rejected(&doc, "total including vat");
        let mut doc = invoice();
        doc.due_cents -= 1;
        rejected(&doc, "due");
        let mut doc = invoice();
        doc.total_vat_cents += 1;
        rejected(&doc, "the vat breakdowns add up to");
    }

    #[test]
    fn reverse_charge_needs_a_reason_and_both_vat_numbers() {
        let mut doc = reverse_charge();
        doc.vat[0].exemption_reason = None;
        rejected(&doc, "needs an exemption reason");
        let mut doc = reverse_charge();
        doc.buyer.vat_number = None;
        rejected(&doc, "buyer's vat number");
        let mut doc = reverse_charge();
        doc.seller.vat_number = Some(" ".into());
        rejected(&doc, "seller has no vat number");
        let mut doc = reverse_charge();
        doc.buyer_is_business = false;
        rejected(&doc, "business buyers only");
    }

    #[test]
    fn reverse_charge_and_exemption_are_at_zero_and_standard_is_not() {
        let mut doc = reverse_charge();
        doc.lines[0].vat_rate = VatRate::Standard;
        rejected(&doc, "line 1: category AE is at a zero rate");
        let mut doc = invoice();
        doc.lines[0].vat_rate = VatRate::Zero;
        rejected(&doc, "line 1: a standard-rated amount");
    }

    #[test]
    fn a_credit_note_names_the_invoice_it_corrects() {
        let mut doc = credit_note();
        doc.preceding_invoice = None;
        rejected(&doc, "a credit note names the invoice");
    }

    #[test]
    fn a_malformed_siren_is_rejected() {
        let mut doc = invoice();
        doc.seller.siren = Some("12345".into());
        rejected(&doc, "siren");
        let mut doc = invoice();
        doc.seller.siren = None;
        rejected(&doc, "the seller has no siren");
    }

    #[test]
    fn the_renderers_refuse_an_inconsistent_document() {
        let mut doc = invoice();
        doc.due_cents = 0;
        assert!(matches!(to_xml(&doc), Err(DocumentError::Inconsistent(_))));
        assert!(matches!(
            render_pdf(&doc),
            Err(DocumentError::Inconsistent(_))
        ));
    }

    #[test]
    fn documents_round_trip_through_json() {
        let doc = credit_note();
        let json = serde_json::to_string(&doc).expect("serializes");
        let back: InvoiceDocument = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, doc);
    }
}
