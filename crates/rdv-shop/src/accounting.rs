//! Accounting exports of a period's invoices and credit notes: a CSV with one line per
//! document and VAT rate, and the French FEC layout (Fichier des écritures comptables,
//! article A47 A-1 of the LPF): one balanced entry per document in the sales journal.

use crate::invoice::{DocumentKind, VatBreakdown, VatCategory};
use crate::money::Cents;
use chrono::NaiveDate;

/// An issued invoice or credit note, as the ledger sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerDocument {
    pub number: String,
    pub kind: DocumentKind,
    pub issue_date: NaiveDate,
    /// The customer's sub-ledger account (the buyer's person id, for instance) and name.
    pub customer_account: String,
    pub customer_name: String,
    pub vat: Vec<VatBreakdown>,
    pub total_incl_cents: Cents,
}

/// The general ledger accounts of the sales entries (French chart of accounts).
pub const CUSTOMERS: (&str, &str) = ("411000", "Clients");
pub const REVENUE: (&str, &str) = ("706000", "Prestations de services");
pub const REVENUE_EU: (&str, &str) = ("706200", "Prestations de services UE");
pub const VAT_COLLECTED: (&str, &str) = ("445710", "TVA collectée");

fn kind_str(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Invoice => "invoice",
        DocumentKind::CreditNote => "credit_note",
    }
}

fn category_code(category: VatCategory) -> &'static str {
    match category {
        VatCategory::Standard => "S",
        VatCategory::ReverseCharge => "AE",
        VatCategory::Exempt => "E",
    }
}

/// A credit note's amounts count negative in the period's sums.
fn signed(kind: DocumentKind, cents: Cents) -> Cents {
    match kind {
        DocumentKind::Invoice => cents,
        DocumentKind::CreditNote => -cents,
    }
}

/// The CSV: one line per document and VAT breakdown, amounts in euros with a dot, credit
/// notes negative; `delimiter` is `,` or `;`.
pub fn sales_csv(documents: &[LedgerDocument], delimiter: u8) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    w.write_record([
        "number",
        "kind",
        "issue_date",
        "customer_account",
        "customer_name",
        "vat_category",
        "vat_rate",
        "base_excl_vat",
        "vat",
        "total_incl_vat",
    ])?;
    for d in documents {
        for b in &d.vat {
            w.write_record([
                d.number.as_str(),
                kind_str(d.kind),
                &d.issue_date.to_string(),
                &d.customer_account,
                &crate::money::neutralise_formula(&d.customer_name),
                category_code(b.category),
                b.rate.as_str(),
                &crate::money::decimal(signed(d.kind, b.base_cents)),
                &crate::money::decimal(signed(d.kind, b.vat_cents)),
                &crate::money::decimal(signed(d.kind, b.base_cents + b.vat_cents)),
            ])?;
        }
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// An amount the FEC way: a comma as decimal separator, no thousands separator.
fn fec_amount(cents: Cents) -> String {
    crate::money::decimal(cents).replace('.', ",")
}

/// The FEC of the sales journal: the 18 columns of article A47 A-1, separated by `|`, one
/// balanced entry per document (the customer debited with the total including VAT, revenue
/// and VAT collected credited per rate; the reverse for a credit note). Entries are numbered
/// in the order given, which should be the documents' issue order.
pub fn fec(documents: &[LedgerDocument]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b'|')
        .quote_style(csv::QuoteStyle::Never)
        .from_writer(Vec::new());
    w.write_record([
        "JournalCode",
        "JournalLib",
        "EcritureNum",
        "EcritureDate",
        "CompteNum",
        "CompteLib",
        "CompAuxNum",
        "CompAuxLib",
        "PieceRef",
        "PieceDate",
        "EcritureLib",
        "Debit",
        "Credit",
        "EcritureLet",
        "DateLet",
        "ValidDate",
        "Montantdevise",
        "Idevise",
    ])?;
    // The FEC has no quoting: a separator or line break inside a name would shift columns.
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
            .collect()
    };
    for (i, d) in documents.iter().enumerate() {
        let num = format!("VE{:06}", i + 1);
        let date = d.issue_date.format("%Y%m%d").to_string();
        let label = match d.kind {
            DocumentKind::Invoice => format!("Facture {} {}", d.number, clean(&d.customer_name)),
            DocumentKind::CreditNote => format!("Avoir {} {}", d.number, clean(&d.customer_name)),
        };
        let mut lines: Vec<(&str, &str, String, String, Cents)> = Vec::new();
        lines.push((
            CUSTOMERS.0,
            CUSTOMERS.1,
            clean(&d.customer_account),
            clean(&d.customer_name),
            d.total_incl_cents,
        ));
        for b in &d.vat {
            let revenue = if b.category == VatCategory::ReverseCharge {
                REVENUE_EU
            } else {
                REVENUE
            };
            lines.push((
                revenue.0,
                revenue.1,
                String::new(),
                String::new(),
                -b.base_cents,
            ));
            if b.vat_cents != 0 {
                lines.push((
                    VAT_COLLECTED.0,
                    VAT_COLLECTED.1,
                    String::new(),
                    String::new(),
                    -b.vat_cents,
                ));
            }
        }
        for (account, account_label, aux, aux_label, amount) in lines {
            // Positive: a debit of an invoice's entry; a credit note turns every side round.
            let amount = signed(d.kind, amount);
            let (debit, credit) = if amount >= 0 {
                (amount, 0)
            } else {
                (0, -amount)
            };
            w.write_record([
                "VE",
                "Ventes",
                &num,
                &date,
                account,
                account_label,
                &aux,
                &aux_label,
                &d.number,
                &date,
                &label,
                &fec_amount(debit),
                &fec_amount(credit),
                "",
                "",
                &date,
                "",
                "",
            ])?;
        }
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VatRate;

    fn doc(kind: DocumentKind, number: &str) -> LedgerDocument {
        LedgerDocument {
            number: number.into(),
            kind,
            issue_date: NaiveDate::from_ymd_opt(2027, 1, 12).unwrap(),
            customer_account: "C42".into(),
            customer_name: "=HYPERLINK(\"x\") | Acme".into(),
            vat: vec![
                VatBreakdown {
                    category: VatCategory::Standard,
                    rate: VatRate::Standard,
                    base_cents: 120_000,
                    vat_cents: 24_000,
                    exemption_reason: None,
                },
                VatBreakdown {
                    category: VatCategory::Standard,
                    rate: VatRate::Intermediate,
                    base_cents: 5_100,
                    vat_cents: 510,
                    exemption_reason: None,
                },
            ],
            total_incl_cents: 149_610,
        }
    }

    #[test]
    fn the_csv_has_a_line_per_rate_with_credit_notes_negative() {
        let out = sales_csv(
            &[
                doc(DocumentKind::Invoice, "2027-000001"),
                doc(DocumentKind::CreditNote, "2027-000002"),
            ],
            b';',
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[1].starts_with("2027-000001;invoice;2027-01-12;C42;"));
        assert!(lines[1].ends_with(";S;20;1200.00;240.00;1440.00"));
        assert!(lines[4].ends_with(";S;10;-51.00;-5.10;-56.10"));
        // A name that looks like a formula is neutralised for spreadsheets.
        assert!(lines[1].contains(";\"'=HYPERLINK"), "{}", lines[1]);
    }

    #[test]
    fn every_fec_entry_balances() {
        let out = fec(&[
            doc(DocumentKind::Invoice, "2027-000001"),
            doc(DocumentKind::CreditNote, "2027-000002"),
        ])
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
        assert!(
            rows.iter().all(|r| r.len() == 18),
            "a name's | must not add a column"
        );
        let cents = |s: &str| -> i64 { s.replace(',', "").parse().unwrap() };
        for num in ["VE000001", "VE000002"] {
            let entry: Vec<&Vec<&str>> = rows.iter().filter(|r| r[2] == num).collect();
            assert_eq!(entry.len(), 5);
            let debit: i64 = entry.iter().map(|r| cents(r[11])).sum();
            let credit: i64 = entry.iter().map(|r| cents(r[12])).sum();
            assert_eq!(debit, credit);
            assert_eq!(debit, 149_610);
        }
        // The invoice debits the customer; the credit note credits it.
        assert_eq!(rows[1][4], "411000");
        assert_eq!(rows[1][11], "1496,10");
        let credit_customer = rows
            .iter()
            .find(|r| r[2] == "VE000002" && r[4] == "411000")
            .unwrap();
        assert_eq!(credit_customer[12], "1496,10");
    }
}
