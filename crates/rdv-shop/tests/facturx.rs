//! The Factur-X documents, read back by independent tools: Akretion's `factur-x` library finds
//! the XML and validates it against the official EN 16931 XSD, lxml reads the totals, pypdf
//! the text a person sees (tests/checkers/facturx_check.py).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use rdv_shop::invoice::{
    render, DocumentKind, InvoiceDocument, InvoiceLine, Party, VatBreakdown, VatCategory,
};
use rdv_shop::money::decimal;
use rdv_shop::{Cents, VatRate};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the checker on the PDF and returns its JSON verdict.
fn check(pdf: &[u8]) -> Value {
    let root = workspace();
    let python = root.join("target/checkers-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make target/checkers-venv/ready` at the workspace root",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(root.join("tests/checkers/facturx_check.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the checker starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(pdf)
        .expect("the pdf goes to the checker");
    let out = child.wait_with_output().expect("the checker ends");
    assert!(
        out.status.success(),
        "the checker failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the checker prints json")
}

/// The page texts, whitespace collapsed (pypdf breaks lines where the PDF does).
fn text(verdict: &Value) -> String {
    let pages = verdict["pages"].as_array().expect("pages");
    let all: Vec<&str> = pages.iter().filter_map(Value::as_str).collect();
    all.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts what every document must pass, and returns its text.
fn assert_facturx(doc: &InvoiceDocument) -> (Value, String) {
    let rendered = render(doc).expect("renders");
    let verdict = check(&rendered.pdf);
    assert_eq!(verdict["filename"], "factur-x.xml", "{verdict}");
    assert_eq!(verdict["error"], Value::Null, "{verdict}");
    assert_eq!(
        verdict["valid"], true,
        "not valid against the XSD: {verdict}"
    );
    assert_eq!(verdict["flavor"], "factur-x");
    assert_eq!(verdict["level"], "en16931");
    assert_eq!(verdict["number"], doc.number.as_str());
    assert_eq!(verdict["type_code"], doc.kind.type_code());
    let totals = &verdict["totals"];
    for (name, cents) in [
        ("LineTotalAmount", doc.total_excl_cents),
        ("TaxBasisTotalAmount", doc.total_excl_cents),
        ("TaxTotalAmount", doc.total_vat_cents),
        ("GrandTotalAmount", doc.total_incl_cents),
        ("TotalPrepaidAmount", doc.paid_cents),
        ("DuePayableAmount", doc.due_cents),
    ] {
        assert_eq!(totals[name], decimal(cents).as_str(), "{name} in {verdict}");
    }
    let text = text(&verdict);
    for needle in [
        doc.number.as_str(),
        "SIREN 123456789",
        "FR32123456789",
        "Pénalités de retard : trois fois le taux d'intérêt légal",
        "Rendez-vous d'Affaires SAS – SAS au capital de 10 000 € – RCS Lyon 123 456 789",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
    (verdict, text)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn seller() -> Party {
    Party {
        name: "Rendez-vous d'Affaires SAS".into(),
        address_line1: "12 rue de la République".into(),
        address_line2: None,
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

fn french_business() -> Party {
    Party {
        name: "Mécanique Générale SARL".into(),
        address_line1: "3 avenue Jean Jaurès".into(),
        address_line2: Some("Zone industrielle des Îles".into()),
        postal_code: "38000".into(),
        city: "Grenoble".into(),
        country: "FR".into(),
        siren: Some("987654321".into()),
        siret: Some("98765432100025".into()),
        vat_number: Some("FR58987654321".into()),
        email: Some("compta@mecagen.example".into()),
        legal_mentions: None,
    }
}

fn line(label: &str, quantity: i64, unit: Cents, discount: Cents, rate: VatRate) -> InvoiceLine {
    InvoiceLine {
        label: label.into(),
        quantity,
        unit_price_cents: unit,
        discount_cents: discount,
        net_cents: quantity * unit - discount,
        vat_rate: rate,
        vat_category: VatCategory::Standard,
    }
}

/// A document whose breakdowns and totals are computed from its lines.
fn document(
    kind: DocumentKind,
    number: &str,
    buyer: Party,
    lines: Vec<InvoiceLine>,
    paid: impl Fn(Cents) -> Cents,
) -> InvoiceDocument {
    let mut groups: BTreeMap<(VatCategory, VatRate), Cents> = BTreeMap::new();
    for l in &lines {
        *groups.entry((l.vat_category, l.vat_rate)).or_default() += l.net_cents;
    }
    let vat: Vec<VatBreakdown> = groups
        .into_iter()
        .map(|((category, rate), base)| VatBreakdown {
            category,
            rate,
            base_cents: base,
            vat_cents: rate.vat_on(base),
            exemption_reason: (category == VatCategory::ReverseCharge)
                .then(|| "Autoliquidation".to_owned()),
        })
        .collect();
    let excl: Cents = vat.iter().map(|b| b.base_cents).sum();
    let tax: Cents = vat.iter().map(|b| b.vat_cents).sum();
    let paid = paid(excl + tax);
    InvoiceDocument {
        kind,
        number: number.into(),
        issue_date: date(2027, 1, 12),
        sale_date: date(2027, 1, 12),
        currency: "EUR".into(),
        seller: seller(),
        buyer,
        buyer_is_business: true,
        order_reference: "CMD-2027-0042".into(),
        event_name: "Rencontres Industrie & Innovation 2027".into(),
        lines,
        vat,
        total_excl_cents: excl,
        total_vat_cents: tax,
        total_incl_cents: excl + tax,
        paid_cents: paid,
        due_cents: excl + tax - paid,
        due_date: date(2027, 2, 11),
        payment_terms: "Virement à 30 jours, IBAN FR76 3000 6000 0112 3456 7890 189".into(),
        late_penalty: "trois fois le taux d'intérêt légal".into(),
        preceding_invoice: None,
        notes: vec![],
    }
}

#[test]
fn a_standard_invoice_with_two_rates_and_a_discount() {
    let doc = document(
        DocumentKind::Invoice,
        "2027-000123",
        french_business(),
        vec![
            line(
                "Pass exposant – 2 jours",
                2,
                45_000,
                9_000,
                VatRate::Standard,
            ),
            line("Déjeuner d'affaires", 3, 3_550, 0, VatRate::Intermediate),
            line(
                "Rendez-vous d'affaires supplémentaires",
                5,
                2_000,
                0,
                VatRate::Standard,
            ),
        ],
        |_| 20_000,
    );
    let (verdict, text) = assert_facturx(&doc);
    assert_eq!(verdict["type_code"], "380");
    for needle in [
        "Facture",
        "FR58987654321",
        "Indemnité forfaitaire pour frais de recouvrement : 40",
        "Pas d'escompte pour paiement anticipé",
        "Date d'échéance : 11/02/2027",
        "CMD-2027-0042",
        "Rencontres Industrie & Innovation 2027",
        "Pass exposant – 2 jours",
        "TVA 20 %",
        "TVA 10 %",
        "Net à payer",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
    assert!(!text.contains("Autoliquidation"));
}

#[test]
fn a_credit_note_references_its_invoice() {
    let mut doc = document(
        DocumentKind::CreditNote,
        "2027-000130",
        french_business(),
        vec![line(
            "Déjeuner d'affaires (annulé)",
            3,
            3_550,
            0,
            VatRate::Intermediate,
        )],
        |incl| incl,
    );
    doc.issue_date = date(2027, 1, 20);
    doc.preceding_invoice = Some(("2027-000123".into(), date(2027, 1, 12)));
    let (verdict, text) = assert_facturx(&doc);
    assert_eq!(verdict["type_code"], "381");
    for needle in [
        "Avoir",
        "Avoir sur la facture N° 2027-000123 du 12/01/2027",
        "Déjà remboursé",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
}

#[test]
fn a_reverse_charged_invoice_to_a_german_business() {
    let buyer = Party {
        name: "Maschinenbau Müller GmbH".into(),
        address_line1: "Hauptstraße 5".into(),
        address_line2: None,
        postal_code: "80331".into(),
        city: "München".into(),
        country: "DE".into(),
        siren: None,
        siret: None,
        vat_number: Some("DE123456789".into()),
        email: Some("einkauf@mueller.example".into()),
        legal_mentions: None,
    };
    let reverse = |l: InvoiceLine| InvoiceLine {
        vat_rate: VatRate::Zero,
        vat_category: VatCategory::ReverseCharge,
        ..l
    };
    let doc = document(
        DocumentKind::Invoice,
        "2027-000124",
        buyer,
        vec![
            reverse(line("Stand 9 m² – angle", 1, 180_000, 0, VatRate::Zero)),
            reverse(line(
                "Badge exposant supplémentaire",
                2,
                15_000,
                3_000,
                VatRate::Zero,
            )),
        ],
        |incl| incl,
    );
    let (verdict, text) = assert_facturx(&doc);
    assert_eq!(verdict["totals"]["TaxTotalAmount"], "0.00");
    for needle in [
        "Maschinenbau Müller GmbH",
        "Allemagne",
        "DE123456789",
        "Autoliquidation – article 283-2 du CGI / article 196 de la directive 2006/112/CE",
        "Indemnité forfaitaire pour frais de recouvrement : 40",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
}

#[test]
fn sixty_lines_flow_over_several_pages() {
    let lines = (1..=60)
        .map(|i| {
            let label = if i % 7 == 0 {
                format!(
                    "Atelier {i} : rencontres d'affaires thématiques entre donneurs d'ordre et \
                     sous-traitants de la filière mécanique, plasturgie et électronique embarquée, \
                     avec restitution écrite et mise en relation personnalisée"
                )
            } else {
                format!("Atelier {i}")
            };
            line(&label, 1 + i % 3, 1_000 + 37 * i, 0, VatRate::Standard)
        })
        .collect();
    let doc = document(
        DocumentKind::Invoice,
        "2027-000200",
        french_business(),
        lines,
        |_| 0,
    );
    let (verdict, text) = assert_facturx(&doc);
    let pages = verdict["pages"].as_array().expect("pages");
    assert!(pages.len() >= 3, "60 lines on {} pages", pages.len());
    for needle in [
        "Atelier 1 ",
        "Atelier 60",
        "Facture N° 2027-000200 (suite)",
        "page 1/",
        "40",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
    // The last page carries the totals and the mentions.
    let last = pages.last().and_then(Value::as_str).expect("last page");
    assert!(last.contains("Net à payer"), "{last}");
    assert!(last.contains("Pénalités de retard"), "{last}");
}
