//! The document as UN/CEFACT Cross Industry Invoice (D16B) XML, profile EN 16931 of
//! Factur-X / ZUGFeRD 2. Elements follow the order of the Factur-X EN 16931 XSD: its
//! sequences reject anything out of place.

use super::{DocumentError, InvoiceDocument, InvoiceLine, Party, VatCategory};
use crate::money::{decimal, Cents, VatRate};
use chrono::NaiveDate;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use std::io;

/// The guideline (BT-24) that names the EN 16931 profile of Factur-X.
pub const GUIDELINE_EN16931: &str = "urn:cen.eu:en16931:2017";

const NS_RSM: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
const NS_QDT: &str = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100";
const NS_RAM: &str =
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100";
const NS_UDT: &str = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100";

/// The fixed indemnity for recovery costs owed by a late business payer (Code de commerce,
/// articles L441-10 and D441-5).
pub(crate) const RECOVERY_INDEMNITY: &str =
    "Indemnité forfaitaire pour frais de recouvrement : 40 €";
/// French B2B invoices state their early-payment discount; the platform grants none.
pub(crate) const NO_EARLY_PAYMENT_DISCOUNT: &str = "Pas d'escompte pour paiement anticipé";

/// The CII XML of the document, after `check()`.
pub fn to_xml(doc: &InvoiceDocument) -> Result<String, DocumentError> {
    doc.check().map_err(DocumentError::Inconsistent)?;
    let mut x = Xml {
        w: Writer::new_with_indent(Vec::new(), b' ', 2),
    };
    write_document(&mut x, doc).map_err(|e| DocumentError::Xml(e.to_string()))?;
    String::from_utf8(x.w.into_inner()).map_err(|e| DocumentError::Xml(e.to_string()))
}

/// The notes (BT-21, BT-22) of the header, with their UNTDID 4451 subject codes: what the law
/// wants printed on a French invoice, so that the XML says it as well as the PDF.
fn header_notes(doc: &InvoiceDocument) -> Vec<(String, Option<&'static str>)> {
    let mut notes = vec![(format!("Événement : {}", doc.event_name), None)];
    let mut terms = doc.payment_terms.clone();
    if doc.buyer_is_business {
        terms = format!(
            "{}. {NO_EARLY_PAYMENT_DISCOUNT}",
            terms.trim_end_matches('.')
        );
    }
    notes.push((terms, Some("AAB")));
    notes.push((
        format!("Pénalités de retard : {}", doc.late_penalty),
        Some("PMD"),
    ));
    if doc.buyer_is_business {
        notes.push((RECOVERY_INDEMNITY.to_owned(), Some("PMT")));
    }
    if let Some(legal) = &doc.seller.legal_mentions {
        notes.push((format!("{} – {legal}", doc.seller.name), Some("REG")));
    }
    notes.extend(doc.notes.iter().map(|n| (n.clone(), None)));
    notes
}

/// A VAT rate as a percentage with two decimals: "20.00", "5.50".
fn percent(rate: VatRate) -> String {
    let bp = rate.basis_points();
    format!("{}.{:02}", bp / 100, bp % 100)
}

/// XML 1.0 cannot carry most control characters, escaped or not: they are dropped.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// A thin layer over quick-xml's writer: nested elements and text leaves, the library
/// escaping every text and attribute value.
struct Xml {
    w: Writer<Vec<u8>>,
}

type Res = io::Result<()>;

impl Xml {
    fn el(&mut self, name: &str, inner: impl FnOnce(&mut Self) -> Res) -> Res {
        self.el_attrs(name, &[], inner)
    }

    fn el_attrs(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        inner: impl FnOnce(&mut Self) -> Res,
    ) -> Res {
        let mut start = BytesStart::new(name);
        for (k, v) in attrs {
            start.push_attribute((*k, clean(v).as_str()));
        }
        self.w.write_event(Event::Start(start))?;
        inner(self)?;
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    fn text(&mut self, name: &str, value: &str) -> Res {
        self.text_attrs(name, &[], value)
    }

    fn text_attrs(&mut self, name: &str, attrs: &[(&str, &str)], value: &str) -> Res {
        let cleaned: Vec<(&str, String)> = attrs.iter().map(|(k, v)| (*k, clean(v))).collect();
        self.w
            .create_element(name)
            .with_attributes(cleaned.iter().map(|(k, v)| (*k, v.as_str())))
            .write_text_content(BytesText::new(&clean(value)))?;
        Ok(())
    }

    fn amount(&mut self, name: &str, cents: Cents) -> Res {
        self.text(name, &decimal(cents))
    }

    /// A date as the CII wants it: `<name><udt:DateTimeString format="102">YYYYMMDD</…></name>`.
    fn date(&mut self, name: &str, date: NaiveDate) -> Res {
        self.dated(name, "udt:DateTimeString", date)
    }

    fn dated(&mut self, name: &str, inner: &str, date: NaiveDate) -> Res {
        let value = date.format("%Y%m%d").to_string();
        self.el(name, |x| x.text_attrs(inner, &[("format", "102")], &value))
    }
}

fn write_document(x: &mut Xml, doc: &InvoiceDocument) -> Res {
    x.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    x.el_attrs(
        "rsm:CrossIndustryInvoice",
        &[
            ("xmlns:rsm", NS_RSM),
            ("xmlns:qdt", NS_QDT),
            ("xmlns:ram", NS_RAM),
            ("xmlns:udt", NS_UDT),
        ],
        |x| {
            x.el("rsm:ExchangedDocumentContext", |x| {
                x.el("ram:GuidelineSpecifiedDocumentContextParameter", |x| {
                    x.text("ram:ID", GUIDELINE_EN16931)
                })
            })?;
            x.el("rsm:ExchangedDocument", |x| {
                x.text("ram:ID", &doc.number)?;
                x.text("ram:TypeCode", doc.kind.type_code())?;
                x.date("ram:IssueDateTime", doc.issue_date)?;
                for (content, subject) in header_notes(doc) {
                    x.el("ram:IncludedNote", |x| {
                        x.text("ram:Content", &content)?;
                        match subject {
                            Some(code) => x.text("ram:SubjectCode", code),
                            None => Ok(()),
                        }
                    })?;
                }
                Ok(())
            })?;
            x.el("rsm:SupplyChainTradeTransaction", |x| {
                for (i, line) in doc.lines.iter().enumerate() {
                    write_line(x, i + 1, line)?;
                }
                x.el("ram:ApplicableHeaderTradeAgreement", |x| {
                    x.el("ram:SellerTradeParty", |x| {
                        write_party(x, &doc.seller, true)
                    })?;
                    x.el("ram:BuyerTradeParty", |x| {
                        write_party(x, &doc.buyer, doc.buyer_is_business)
                    })?;
                    x.el("ram:BuyerOrderReferencedDocument", |x| {
                        x.text("ram:IssuerAssignedID", &doc.order_reference)
                    })
                })?;
                x.el("ram:ApplicableHeaderTradeDelivery", |x| {
                    x.el("ram:ActualDeliverySupplyChainEvent", |x| {
                        x.date("ram:OccurrenceDateTime", doc.sale_date)
                    })
                })?;
                write_settlement(x, doc)
            })
        },
    )
}

fn write_line(x: &mut Xml, number: usize, line: &InvoiceLine) -> Res {
    x.el("ram:IncludedSupplyChainTradeLineItem", |x| {
        x.el("ram:AssociatedDocumentLineDocument", |x| {
            x.text("ram:LineID", &number.to_string())
        })?;
        x.el("ram:SpecifiedTradeProduct", |x| {
            x.text("ram:Name", &line.label)
        })?;
        x.el("ram:SpecifiedLineTradeAgreement", |x| {
            x.el("ram:NetPriceProductTradePrice", |x| {
                x.amount("ram:ChargeAmount", line.unit_price_cents)
            })
        })?;
        x.el("ram:SpecifiedLineTradeDelivery", |x| {
            x.text_attrs(
                "ram:BilledQuantity",
                &[("unitCode", "C62")],
                &line.quantity.to_string(),
            )
        })?;
        x.el("ram:SpecifiedLineTradeSettlement", |x| {
            x.el("ram:ApplicableTradeTax", |x| {
                x.text("ram:TypeCode", "VAT")?;
                x.text("ram:CategoryCode", line.vat_category.code())?;
                x.text("ram:RateApplicablePercent", &percent(line.vat_rate))
            })?;
            if line.discount_cents > 0 {
                x.el("ram:SpecifiedTradeAllowanceCharge", |x| {
                    x.el("ram:ChargeIndicator", |x| x.text("udt:Indicator", "false"))?;
                    x.amount("ram:ActualAmount", line.discount_cents)?;
                    // UNCL 5189 code 95: discount.
                    x.text("ram:ReasonCode", "95")?;
                    x.text("ram:Reason", "Remise")
                })?;
            }
            x.el("ram:SpecifiedTradeSettlementLineMonetarySummation", |x| {
                x.amount("ram:LineTotalAmount", line.net_cents)
            })
        })
    })
}

/// A trade party. The SIRET is the seller identifier (scheme 0009), the SIREN the legal
/// registration (scheme 0002); a consumer's VAT number, if any, is left out.
fn write_party(x: &mut Xml, p: &Party, with_vat_number: bool) -> Res {
    if let Some(siret) = &p.siret {
        x.text_attrs("ram:GlobalID", &[("schemeID", "0009")], siret)?;
    }
    x.text("ram:Name", &p.name)?;
    if let Some(siren) = &p.siren {
        x.el("ram:SpecifiedLegalOrganization", |x| {
            x.text_attrs("ram:ID", &[("schemeID", "0002")], siren)
        })?;
    }
    x.el("ram:PostalTradeAddress", |x| {
        x.text("ram:PostcodeCode", &p.postal_code)?;
        x.text("ram:LineOne", &p.address_line1)?;
        if let Some(l2) = p.address_line2.as_deref().filter(|l| !l.trim().is_empty()) {
            x.text("ram:LineTwo", l2)?;
        }
        x.text("ram:CityName", &p.city)?;
        x.text("ram:CountryID", &p.country)
    })?;
    if let Some(email) = p.email.as_deref().filter(|e| !e.trim().is_empty()) {
        x.el("ram:URIUniversalCommunication", |x| {
            x.text_attrs("ram:URIID", &[("schemeID", "EM")], email)
        })?;
    }
    if let Some(vat) = p
        .vat_number
        .as_deref()
        .filter(|v| with_vat_number && !v.trim().is_empty())
    {
        x.el("ram:SpecifiedTaxRegistration", |x| {
            x.text_attrs("ram:ID", &[("schemeID", "VA")], vat)
        })?;
    }
    Ok(())
}

fn write_settlement(x: &mut Xml, doc: &InvoiceDocument) -> Res {
    x.el("ram:ApplicableHeaderTradeSettlement", |x| {
        x.text("ram:InvoiceCurrencyCode", &doc.currency)?;
        for b in &doc.vat {
            x.el("ram:ApplicableTradeTax", |x| {
                x.amount("ram:CalculatedAmount", b.vat_cents)?;
                x.text("ram:TypeCode", "VAT")?;
                if let Some(reason) = &b.exemption_reason {
                    x.text("ram:ExemptionReason", reason)?;
                }
                x.amount("ram:BasisAmount", b.base_cents)?;
                x.text("ram:CategoryCode", b.category.code())?;
                if b.category == VatCategory::ReverseCharge {
                    x.text("ram:ExemptionReasonCode", "VATEX-EU-AE")?;
                }
                x.text("ram:RateApplicablePercent", &percent(b.rate))
            })?;
        }
        x.el("ram:SpecifiedTradePaymentTerms", |x| {
            x.text("ram:Description", &doc.payment_terms)?;
            x.date("ram:DueDateDateTime", doc.due_date)
        })?;
        x.el("ram:SpecifiedTradeSettlementHeaderMonetarySummation", |x| {
            x.amount("ram:LineTotalAmount", doc.total_excl_cents)?;
            x.amount("ram:TaxBasisTotalAmount", doc.total_excl_cents)?;
            x.text_attrs(
                "ram:TaxTotalAmount",
                &[("currencyID", doc.currency.as_str())],
                &decimal(doc.total_vat_cents),
            )?;
            x.amount("ram:GrandTotalAmount", doc.total_incl_cents)?;
            x.amount("ram:TotalPrepaidAmount", doc.paid_cents)?;
            x.amount("ram:DuePayableAmount", doc.due_cents)
        })?;
        if let Some((number, date)) = &doc.preceding_invoice {
            x.el("ram:InvoiceReferencedDocument", |x| {
                x.text("ram:IssuerAssignedID", number)?;
                x.dated("ram:FormattedIssueDateTime", "qdt:DateTimeString", *date)
            })?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::samples::*;
    use super::*;

    #[test]
    fn names_with_markup_characters_are_escaped() {
        let mut doc = invoice();
        doc.buyer.name = "Dupont & Fils <SARL>".into();
        doc.lines[0].label = "Pass \"VIP\" & déjeuner".into();
        let xml = to_xml(&doc).expect("renders");
        assert!(
            xml.contains("<ram:Name>Dupont &amp; Fils &lt;SARL&gt;</ram:Name>"),
            "{xml}"
        );
        assert!(!xml.contains("Dupont & Fils"));
        assert!(xml.contains("Pass &quot;VIP&quot; &amp; déjeuner"), "{xml}");
    }

    #[test]
    fn control_characters_are_dropped() {
        let mut doc = invoice();
        doc.buyer.name = "Dupont\u{1}Fils".into();
        let xml = to_xml(&doc).expect("renders");
        assert!(xml.contains("<ram:Name>DupontFils</ram:Name>"));
    }

    #[test]
    fn an_invoice_says_380_and_lists_its_lines_taxes_and_totals() {
        let doc = invoice();
        let xml = to_xml(&doc).expect("renders");
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(xml.contains("<ram:ID>urn:cen.eu:en16931:2017</ram:ID>"));
        assert!(xml.contains("<ram:TypeCode>380</ram:TypeCode>"));
        assert!(xml.contains("<udt:DateTimeString format=\"102\">20270112</udt:DateTimeString>"));
        assert!(xml.contains("<ram:BilledQuantity unitCode=\"C62\">2</ram:BilledQuantity>"));
        assert!(xml.contains("<ram:ActualAmount>90.00</ram:ActualAmount>"));
        assert!(xml.contains("<ram:RateApplicablePercent>10.00</ram:RateApplicablePercent>"));
        assert!(xml.contains("<ram:ID schemeID=\"0002\">123456789</ram:ID>"));
        assert!(xml.contains("<ram:ID schemeID=\"VA\">FR58987654321</ram:ID>"));
        assert!(xml.contains(&format!(
            "<ram:TaxTotalAmount currencyID=\"EUR\">{}</ram:TaxTotalAmount>",
            decimal(doc.total_vat_cents)
        )));
        assert!(xml.contains(&format!(
            "<ram:DuePayableAmount>{}</ram:DuePayableAmount>",
            decimal(doc.due_cents)
        )));
        assert!(xml.contains("<ram:SubjectCode>PMT</ram:SubjectCode>"));
        assert!(!xml.contains("InvoiceReferencedDocument"));
    }

    #[test]
    fn a_credit_note_says_381_and_references_its_invoice() {
        let xml = to_xml(&credit_note()).expect("renders");
        assert!(xml.contains("<ram:TypeCode>381</ram:TypeCode>"));
        let compact: String = xml.lines().map(str::trim).collect();
        assert!(
            compact.contains(
                "<ram:InvoiceReferencedDocument>\
             <ram:IssuerAssignedID>2027-000123</ram:IssuerAssignedID>\
             <ram:FormattedIssueDateTime>\
             <qdt:DateTimeString format=\"102\">20270112</qdt:DateTimeString>\
             </ram:FormattedIssueDateTime>\
             </ram:InvoiceReferencedDocument>"
            ),
            "{xml}"
        );
        // The reference closes the settlement, after the totals, as the XSD orders it.
        let totals = xml.find("<ram:SpecifiedTradeSettlementHeaderMonetarySummation>");
        let reference = xml.find("<ram:InvoiceReferencedDocument>");
        assert!(totals.expect("totals") < reference.expect("reference"));
    }

    #[test]
    fn reverse_charge_is_category_ae_with_its_reason_and_both_vat_numbers() {
        let xml = to_xml(&reverse_charge()).expect("renders");
        assert!(xml.contains("<ram:CategoryCode>AE</ram:CategoryCode>"));
        assert!(!xml.contains("<ram:CategoryCode>S</ram:CategoryCode>"));
        assert!(xml.contains("<ram:ExemptionReason>Autoliquidation</ram:ExemptionReason>"));
        assert!(xml.contains("<ram:ExemptionReasonCode>VATEX-EU-AE</ram:ExemptionReasonCode>"));
        assert!(xml.contains("<ram:RateApplicablePercent>0.00</ram:RateApplicablePercent>"));
        assert!(xml.contains("<ram:ID schemeID=\"VA\">DE123456789</ram:ID>"));
        assert!(xml.contains("<ram:ID schemeID=\"VA\">FR32123456789</ram:ID>"));
        assert!(xml.contains("<ram:CountryID>DE</ram:CountryID>"));
    }

    #[test]
    fn a_consumer_gets_neither_the_indemnity_nor_a_vat_number() {
        let mut doc = invoice();
        doc.buyer_is_business = false;
        let xml = to_xml(&doc).expect("renders");
        assert!(!xml.contains("40 €"));
        assert!(!xml.contains("FR58987654321"));
    }
}
