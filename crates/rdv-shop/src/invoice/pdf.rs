//! The document as a French A4 PDF that carries its CII XML: Factur-X EN 16931 on PDF/A-3b.
//! printpdf draws the pages in DejaVu Sans Condensed, embedded as subsets (PDF/A wants every
//! font embedded; it prints French and €); lopdf then adds what printpdf cannot: the
//! `factur-x.xml` attachment, the XMP metadata of Factur-X and PDF/A-3, the sRGB output intent.
//! Pure: no I/O, and the same document always gives the same bytes.

use super::cii::{self, NO_EARLY_PAYMENT_DISCOUNT, RECOVERY_INDEMNITY};
use super::{DocumentError, DocumentKind, InvoiceDocument, Party, VatBreakdown, VatCategory};
use crate::money::{euros_fr, Cents, VatRate};
use chrono::NaiveDate;
use lopdf::{Dictionary, Object, Stream, StringFormat};
use printpdf::{
    Color, Greyscale, IndirectFontRef, Line, Mm, PdfDocument, PdfDocumentReference,
    PdfLayerReference, Point,
};
use quick_xml::events::{BytesEnd, BytesPI, BytesStart, BytesText, Event};
use sha2::{Digest, Sha256};

/// The XML attachment's name, fixed by Factur-X.
pub const FACTURX_FILENAME: &str = "factur-x.xml";

/// The reverse-charge mention, when the breakdown's reason does not cite the articles itself.
pub const REVERSE_CHARGE_ARTICLES: &str =
    "article 283-2 du CGI / article 196 de la directive 2006/112/CE";

/// What `render` produces: the CII XML and the Factur-X PDF that embeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub xml: String,
    pub pdf: Vec<u8>,
}

/// The CII XML and the Factur-X PDF of the document, after `check()`.
pub fn render(doc: &InvoiceDocument) -> Result<Rendered, DocumentError> {
    let xml = cii::to_xml(doc)?;
    let pages = draw(doc)?;
    let pdf = embed_facturx(&pages, &xml, doc)?;
    Ok(Rendered { xml, pdf })
}

/// The Factur-X PDF of the document, after `check()`.
pub fn render_pdf(doc: &InvoiceDocument) -> Result<Vec<u8>, DocumentError> {
    render(doc).map(|r| r.pdf)
}

fn pdf_error(e: impl std::fmt::Display) -> DocumentError {
    DocumentError::Pdf(e.to_string())
}

fn title(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Invoice => "Facture",
        DocumentKind::CreditNote => "Avoir",
    }
}

fn date_fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// "20 %", "5,5 %".
fn rate_fr(rate: VatRate) -> String {
    format!("{} %", rate.as_str().replace('.', ","))
}

/// The VAT cell of a line or breakdown.
fn vat_label(category: VatCategory, rate: VatRate, short: bool) -> String {
    match (category, short) {
        (VatCategory::Standard, true) => rate_fr(rate),
        (VatCategory::Standard, false) => format!("TVA {}", rate_fr(rate)),
        (VatCategory::ReverseCharge, true) => "Autoliq.".into(),
        (VatCategory::ReverseCharge, false) => "Autoliquidation".into(),
        (VatCategory::Exempt, true) => "Exonéré".into(),
        (VatCategory::Exempt, false) => "Exonération".into(),
    }
}

/// The mention a reverse-charged or exempt breakdown prints.
fn vat_mention(b: &VatBreakdown) -> Option<String> {
    let reason = b.exemption_reason.as_deref().unwrap_or("").trim();
    match b.category {
        VatCategory::Standard => None,
        VatCategory::ReverseCharge if reason.contains("283") || reason.contains("196") => {
            Some(reason.to_owned())
        }
        VatCategory::ReverseCharge => Some(format!("{reason} – {REVERSE_CHARGE_ARTICLES}")),
        VatCategory::Exempt if reason.to_lowercase().starts_with("exon") => Some(reason.to_owned()),
        VatCategory::Exempt => Some(format!("Exonération de TVA : {reason}")),
    }
}

/// The French name of the countries buyers come from most; others print their ISO code.
fn country_name(code: &str) -> &str {
    match code {
        "FR" => "France",
        "DE" => "Allemagne",
        "AT" => "Autriche",
        "BE" => "Belgique",
        "BG" => "Bulgarie",
        "CY" => "Chypre",
        "HR" => "Croatie",
        "DK" => "Danemark",
        "ES" => "Espagne",
        "EE" => "Estonie",
        "FI" => "Finlande",
        "GR" => "Grèce",
        "HU" => "Hongrie",
        "IE" => "Irlande",
        "IT" => "Italie",
        "LV" => "Lettonie",
        "LT" => "Lituanie",
        "LU" => "Luxembourg",
        "MT" => "Malte",
        "NL" => "Pays-Bas",
        "PL" => "Pologne",
        "PT" => "Portugal",
        "CZ" => "République tchèque",
        "RO" => "Roumanie",
        "SK" => "Slovaquie",
        "SI" => "Slovénie",
        "SE" => "Suède",
        "CH" => "Suisse",
        "GB" => "Royaume-Uni",
        "US" => "États-Unis",
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing

const WIDTH: f32 = 210.0;
const HEIGHT: f32 = 297.0;
const LEFT: f32 = 15.0;
const RIGHT: f32 = 195.0;
const TOP: f32 = 282.0;
/// Below this the footer prints.
const BOTTOM: f32 = 26.0;
const PT_TO_MM: f32 = 25.4 / 72.0;

/// Table columns: the description's left edge and width, then the right edges of the figures.
const DESC_X: f32 = LEFT;
const DESC_W: f32 = 80.0;
const QTY_R: f32 = 108.0;
const UNIT_R: f32 = 131.0;
const DISC_R: f32 = 153.0;
const VAT_R: f32 = 170.0;
const TOTAL_R: f32 = RIGHT;
const TABLE_SIZE: f32 = 8.5;
const ROW_LEADING: f32 = 3.9;
/// A label longer than this many wrapped lines is cut with an ellipsis.
const LABEL_MAX_LINES: usize = 3;

/// An embedded font and its metrics, to measure what it writes.
struct Font {
    face: ttf_parser::Face<'static>,
    pdf: IndirectFontRef,
}

impl Font {
    fn load(doc: &PdfDocumentReference, bytes: &'static [u8]) -> Result<Font, DocumentError> {
        let face = ttf_parser::Face::parse(bytes, 0).map_err(pdf_error)?;
        let pdf = doc.add_external_font(bytes).map_err(pdf_error)?;
        Ok(Font { face, pdf })
    }

    /// The width of `s` in millimetres at `size` points.
    fn width(&self, s: &str, size: f32) -> f32 {
        let units: u32 = s
            .chars()
            .filter_map(|c| self.face.glyph_index(c))
            .filter_map(|g| self.face.glyph_hor_advance(g))
            .map(u32::from)
            .sum();
        units as f32 / f32::from(self.face.units_per_em()) * size * PT_TO_MM
    }

    /// What the font can print: control characters become spaces, characters it lacks `?`.
    fn printable(&self, s: &str) -> String {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    ' '
                } else if self.face.glyph_index(c).is_some() {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    }
}

/// Cuts `s` so that it fits `width`, ending with an ellipsis.
fn cut(font: &Font, s: &str, width: f32, size: f32) -> String {
    if font.width(s, size) <= width {
        return s.to_owned();
    }
    let mut chars: Vec<char> = s.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>().trim_end().to_owned() + "…";
        if font.width(&candidate, size) <= width {
            return candidate;
        }
    }
    "…".into()
}

/// Greedy word wrap to `width`; a word longer than a line is broken where it must be.
fn wrap(font: &Font, s: &str, width: f32, size: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in s.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if font.width(&candidate, size) <= width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // The word alone: break it if it is wider than a line.
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if font.width(&piece, size) > width && piece.chars().count() > 1 {
                piece.pop();
                lines.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        current = piece;
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// At most `max` lines, the last one cut with an ellipsis when text was left over.
fn wrap_max(font: &Font, s: &str, width: f32, size: f32, max: usize) -> Vec<String> {
    let mut lines = wrap(font, s, width, size);
    if lines.len() > max {
        let rest = lines[max - 1..].join(" ");
        lines.truncate(max - 1);
        lines.push(cut(font, &(rest + "…"), width, size));
    }
    lines
}

/// The pages being drawn, with a cursor `y` (millimetres from the bottom) on the last one.
struct Pages<'d> {
    doc: &'d InvoiceDocument,
    pdf: PdfDocumentReference,
    layers: Vec<PdfLayerReference>,
    layer: PdfLayerReference,
    regular: Font,
    bold: Font,
    y: f32,
}

impl Pages<'_> {
    fn font(&self, bold: bool) -> &Font {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    fn text(&self, x: f32, y: f32, s: &str, size: f32, bold: bool) {
        let font = self.font(bold);
        self.layer
            .use_text(font.printable(s), size, Mm(x), Mm(y), &font.pdf);
    }

    fn text_right(&self, right: f32, y: f32, s: &str, size: f32, bold: bool) {
        let font = self.font(bold);
        let s = font.printable(s);
        let x = right - font.width(&s, size);
        self.layer.use_text(s, size, Mm(x), Mm(y), &font.pdf);
    }

    fn rule(&self, x1: f32, x2: f32, y: f32, grey: f32, thickness: f32) {
        self.layer
            .set_outline_color(Color::Greyscale(Greyscale::new(grey, None)));
        self.layer.set_outline_thickness(thickness);
        self.layer.add_line(Line {
            points: vec![
                (Point::new(Mm(x1), Mm(y)), false),
                (Point::new(Mm(x2), Mm(y)), false),
            ],
            is_closed: false,
        });
    }

    /// Starts a new page whose top says which document it continues.
    fn new_page(&mut self) {
        let (page, layer) = self.pdf.add_page(Mm(WIDTH), Mm(HEIGHT), "page");
        self.layer = self.pdf.get_page(page).get_layer(layer);
        self.layers.push(self.layer.clone());
        self.y = TOP;
        let heading = format!("{} N° {} (suite)", title(self.doc.kind), self.doc.number);
        self.text(LEFT, self.y, &heading, 10.0, true);
        self.y -= 8.0;
    }

    /// Makes room for `height` millimetres, on a new page if this one is full; true if it
    /// turned the page.
    fn room_for(&mut self, height: f32) -> bool {
        if self.y - height < BOTTOM {
            self.new_page();
            true
        } else {
            false
        }
    }

    /// Wrapped text over the full width, turning pages as needed.
    fn paragraph(&mut self, s: &str, size: f32, bold: bool) {
        let leading = size * PT_TO_MM * 1.35;
        for line in wrap(self.font(bold), s, RIGHT - LEFT, size) {
            self.room_for(leading);
            self.y -= leading;
            self.text(LEFT, self.y, &line, size, bold);
        }
    }
}

/// Draws the pages; `embed_facturx` makes them Factur-X.
fn draw(doc: &InvoiceDocument) -> Result<Vec<u8>, DocumentError> {
    let name = format!("{} {}", title(doc.kind), doc.number);
    let (pdf, page, layer) = PdfDocument::new(name, Mm(WIDTH), Mm(HEIGHT), "page");
    let regular = Font::load(&pdf, dejavu::sans_condensed::regular())?;
    let bold = Font::load(&pdf, dejavu::sans_condensed::bold())?;
    let layer = pdf.get_page(page).get_layer(layer);
    let mut p = Pages {
        doc,
        pdf,
        layers: vec![layer.clone()],
        layer,
        regular,
        bold,
        y: TOP,
    };
    draw_header(&mut p);
    draw_lines(&mut p);
    draw_totals(&mut p);
    draw_mentions(&mut p);
    draw_footers(&p);
    p.pdf.save_to_bytes().map_err(pdf_error)
}

/// Lines of a party's block: the address, then its identifiers.
fn party_lines(party: &Party, with_vat_number: bool) -> Vec<String> {
    let mut lines = vec![party.address_line1.clone()];
    if let Some(l2) = party
        .address_line2
        .as_deref()
        .filter(|l| !l.trim().is_empty())
    {
        lines.push(l2.to_owned());
    }
    lines.push(format!("{} {}", party.postal_code, party.city));
    if party.country != "FR" {
        lines.push(country_name(&party.country).to_owned());
    }
    if let Some(siren) = &party.siren {
        lines.push(format!("SIREN {siren}"));
    }
    if let Some(siret) = &party.siret {
        lines.push(format!("SIRET {siret}"));
    }
    if let Some(vat) = party.vat_number.as_deref().filter(|_| with_vat_number) {
        lines.push(format!("N° TVA intracommunautaire {vat}"));
    }
    if let Some(email) = &party.email {
        lines.push(email.clone());
    }
    lines
}

fn draw_header(p: &mut Pages) {
    let doc = p.doc;
    // The seller, top left.
    let mut y = TOP;
    for line in wrap_max(&p.bold, &doc.seller.name, 92.0, 13.0, 2) {
        p.text(LEFT, y, &line, 13.0, true);
        y -= 5.5;
    }
    for line in party_lines(&doc.seller, true) {
        p.text(LEFT, y, &cut(&p.regular, &line, 92.0, 9.0), 9.0, false);
        y -= 4.2;
    }
    let left_end = y;

    // The title, number and dates, top right.
    let mut y = TOP - 2.0;
    p.text_right(RIGHT, y, title(doc.kind), 22.0, true);
    y -= 8.0;
    p.text_right(RIGHT, y, &format!("N° {}", doc.number), 11.0, true);
    y -= 5.5;
    for line in [
        format!("Date d'émission : {}", date_fr(doc.issue_date)),
        format!("Date de la vente : {}", date_fr(doc.sale_date)),
        format!("Date d'échéance : {}", date_fr(doc.due_date)),
    ] {
        p.text_right(RIGHT, y, &line, 9.0, false);
        y -= 4.2;
    }

    // The buyer, right, under the dates.
    y -= 4.0;
    let x = 115.0;
    p.text(x, y, "Client", 8.0, true);
    p.rule(x, RIGHT, y - 1.2, 0.6, 0.3);
    y -= 5.5;
    for line in wrap_max(&p.bold, &doc.buyer.name, RIGHT - x, 10.0, 2) {
        p.text(x, y, &line, 10.0, true);
        y -= 4.6;
    }
    for line in party_lines(&doc.buyer, doc.buyer_is_business) {
        p.text(x, y, &cut(&p.regular, &line, RIGHT - x, 9.0), 9.0, false);
        y -= 4.2;
    }
    p.y = left_end.min(y) - 4.0;

    p.paragraph(&format!("Commande : {}", doc.order_reference), 9.0, false);
    p.paragraph(&format!("Événement : {}", doc.event_name), 9.0, false);
    if let Some((number, date)) = &doc.preceding_invoice {
        let what = match doc.kind {
            DocumentKind::CreditNote => "Avoir sur la facture",
            DocumentKind::Invoice => "Rectifie la facture",
        };
        p.y -= 1.5;
        p.paragraph(
            &format!("{what} N° {number} du {}", date_fr(*date)),
            10.0,
            true,
        );
    }
    p.y -= 5.0;
}

fn draw_table_header(p: &mut Pages) {
    let size = TABLE_SIZE;
    p.rule(LEFT, RIGHT, p.y, 0.2, 0.5);
    let y = p.y - 4.2;
    p.text(DESC_X, y, "Désignation", size, true);
    p.text_right(QTY_R, y, "Qté", size, true);
    p.text_right(UNIT_R, y, "PU HT", size, true);
    p.text_right(DISC_R, y, "Remise", size, true);
    p.text_right(VAT_R, y, "TVA", size, true);
    p.text_right(TOTAL_R, y, "Total HT", size, true);
    p.y -= 6.0;
    p.rule(LEFT, RIGHT, p.y, 0.2, 0.5);
}

fn draw_lines(p: &mut Pages) {
    let size = TABLE_SIZE;
    let doc = p.doc;
    p.room_for(6.0 + 2.0 * ROW_LEADING);
    draw_table_header(p);
    for line in &doc.lines {
        let label = wrap_max(&p.regular, &line.label, DESC_W - 2.0, size, LABEL_MAX_LINES);
        let height = label.len() as f32 * ROW_LEADING + 2.2;
        if p.room_for(height) {
            draw_table_header(p);
        }
        let first = p.y - 3.6;
        for (i, text) in label.iter().enumerate() {
            p.text(DESC_X, first - i as f32 * ROW_LEADING, text, size, false);
        }
        p.text_right(QTY_R, first, &line.quantity.to_string(), size, false);
        p.text_right(UNIT_R, first, &euros_fr(line.unit_price_cents), size, false);
        if line.discount_cents > 0 {
            let discount = format!("-{}", euros_fr(line.discount_cents));
            p.text_right(DISC_R, first, &discount, size, false);
        }
        let vat = vat_label(line.vat_category, line.vat_rate, true);
        p.text_right(VAT_R, first, &vat, size, false);
        p.text_right(TOTAL_R, first, &euros_fr(line.net_cents), size, false);
        p.y -= height;
        p.rule(LEFT, RIGHT, p.y, 0.8, 0.2);
    }
}

fn draw_totals(p: &mut Pages) {
    let doc = p.doc;
    let row = 4.6;
    let height = (doc.vat.len() as f32 + 1.0) * row + 6.0 * 5.2 + 10.0;
    p.y -= 4.0;
    p.room_for(height);
    let x = 105.0;
    let base_r = 160.0;

    // The breakdown per VAT rate.
    p.y -= row;
    p.text(x, p.y, "TVA", 8.0, true);
    p.text_right(base_r, p.y, "Base HT", 8.0, true);
    p.text_right(RIGHT, p.y, "Montant TVA", 8.0, true);
    for b in &doc.vat {
        p.y -= row;
        let label = vat_label(b.category, b.rate, false);
        p.text(x, p.y, &label, 9.0, false);
        p.text_right(base_r, p.y, &euros_fr(b.base_cents), 9.0, false);
        p.text_right(RIGHT, p.y, &euros_fr(b.vat_cents), 9.0, false);
    }
    p.y -= 2.5;
    p.rule(x, RIGHT, p.y, 0.4, 0.3);

    let (paid, due) = match doc.kind {
        DocumentKind::Invoice => ("Déjà payé", "Net à payer"),
        DocumentKind::CreditNote => ("Déjà remboursé", "Reste à rembourser"),
    };
    let rows: [(&str, Cents, bool); 5] = [
        ("Total HT", doc.total_excl_cents, false),
        ("Total TVA", doc.total_vat_cents, false),
        ("Total TTC", doc.total_incl_cents, true),
        (paid, doc.paid_cents, false),
        (due, doc.due_cents, true),
    ];
    for (label, amount, bold) in rows {
        p.y -= 5.2;
        let size = if bold { 10.0 } else { 9.0 };
        p.text(x, p.y, label, size, bold);
        p.text_right(RIGHT, p.y, &euros_fr(amount), size, bold);
    }
    p.y -= 6.0;
}

fn draw_mentions(p: &mut Pages) {
    let doc = p.doc;
    let size = 8.5;
    p.paragraph(
        &format!("Conditions de paiement : {}", doc.payment_terms),
        size,
        false,
    );
    p.paragraph(
        &format!("Date d'échéance : {}", date_fr(doc.due_date)),
        size,
        false,
    );
    if doc.buyer_is_business {
        p.paragraph(NO_EARLY_PAYMENT_DISCOUNT, size, false);
    }
    p.paragraph(
        &format!("Pénalités de retard : {}", doc.late_penalty),
        size,
        false,
    );
    if doc.buyer_is_business {
        p.paragraph(RECOVERY_INDEMNITY, size, false);
    }
    for mention in doc.vat.iter().filter_map(vat_mention) {
        p.paragraph(&mention, size, true);
    }
    if !doc.notes.is_empty() {
        p.y -= 2.0;
        for note in &doc.notes {
            p.paragraph(note, size, false);
        }
    }
}

/// The seller's legal mentions and the page number, at the bottom of every page.
fn draw_footers(p: &Pages) {
    let doc = p.doc;
    let size = 7.0;
    let legal = match &doc.seller.legal_mentions {
        Some(m) => format!("{} – {m}", doc.seller.name),
        None => format!(
            "{} – SIREN {}",
            doc.seller.name,
            doc.seller.siren.as_deref().unwrap_or("")
        ),
    };
    let lines = wrap_max(&p.regular, &legal, RIGHT - LEFT, size, 2);
    let count = p.layers.len();
    for (i, layer) in p.layers.iter().enumerate() {
        let at = |y: f32, s: &str, right: bool| {
            let s = p.regular.printable(s);
            let x = if right {
                RIGHT - p.regular.width(&s, size)
            } else {
                LEFT
            };
            layer.use_text(s, size, Mm(x), Mm(y), &p.regular.pdf);
        };
        layer.set_outline_color(Color::Greyscale(Greyscale::new(0.6, None)));
        layer.set_outline_thickness(0.3);
        layer.add_line(Line {
            points: vec![
                (Point::new(Mm(LEFT), Mm(BOTTOM - 5.0)), false),
                (Point::new(Mm(RIGHT), Mm(BOTTOM - 5.0)), false),
            ],
            is_closed: false,
        });
        let mut y = BOTTOM - 9.0;
        for line in &lines {
            at(y, line, false);
            y -= 3.2;
        }
        let page = format!(
            "{} N° {} – page {}/{}",
            title(doc.kind),
            doc.number,
            i + 1,
            count
        );
        at(9.0, &page, true);
    }
}

// ---------------------------------------------------------------------------------------------
// Factur-X: the attachment, the metadata, the output intent

/// A PDF text string: literal when ASCII, else UTF-16BE with its byte order mark.
fn text_string(s: &str) -> Object {
    if s.is_ascii() {
        Object::string_literal(s)
    } else {
        let mut bytes = vec![0xFE, 0xFF];
        bytes.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

fn name(s: &str) -> Object {
    Object::Name(s.as_bytes().to_vec())
}

/// The document information, the same in the Info dictionary and in the XMP (PDF/A wants
/// them equal).
struct Info {
    title: String,
    author: String,
    subject: String,
    creator: &'static str,
    producer: &'static str,
    /// The issue date at midnight UTC: the same document always gives the same bytes.
    pdf_date: String,
    xmp_date: String,
}

impl Info {
    fn of(doc: &InvoiceDocument) -> Info {
        let title = format!("{} {}", title(doc.kind), doc.number);
        Info {
            subject: format!("{title} – {}", doc.event_name),
            title,
            author: doc.seller.name.clone(),
            creator: "rdv",
            producer: "rdv-shop (printpdf, lopdf)",
            pdf_date: format!("D:{}000000Z", doc.issue_date.format("%Y%m%d")),
            xmp_date: format!("{}T00:00:00Z", doc.issue_date.format("%Y-%m-%d")),
        }
    }
}

/// Turns printpdf's output into Factur-X on PDF/A-3b.
fn embed_facturx(pages: &[u8], xml: &str, doc: &InvoiceDocument) -> Result<Vec<u8>, DocumentError> {
    let info = Info::of(doc);
    let mut pdf = lopdf::Document::load_mem(pages).map_err(pdf_error)?;

    // PDF/A wants the header line followed by a comment of at least four bytes above 127.
    // lopdf writes `%PDF-{version}` and a newline, nothing else, and counts the bytes it
    // writes for the cross-reference table: the comment rides in the version string.
    pdf.version = "1.7\n%\u{e2}\u{e3}\u{cf}\u{d3}".into();

    if let Ok(id) = pdf.trailer.get(b"Info").and_then(Object::as_reference) {
        pdf.objects.remove(&id);
    }
    let info_id = pdf.add_object(Dictionary::from_iter(vec![
        ("Title", text_string(&info.title)),
        ("Author", text_string(&info.author)),
        ("Subject", text_string(&info.subject)),
        ("Creator", text_string(info.creator)),
        ("Producer", text_string(info.producer)),
        (
            "CreationDate",
            Object::string_literal(info.pdf_date.as_str()),
        ),
        ("ModDate", Object::string_literal(info.pdf_date.as_str())),
    ]));
    pdf.trailer.set("Info", Object::Reference(info_id));

    let mut to_unicode = Vec::new();
    for object in pdf.objects.values_mut() {
        match object {
            // PDF/A wants CIDToGIDMap on embedded TrueType CID fonts; printpdf leaves it out
            // (identity is what it means).
            Object::Dictionary(font) if font.type_is(b"Font") => {
                if let Ok(id) = font.get(b"ToUnicode").and_then(Object::as_reference) {
                    to_unicode.push(id);
                }
                if let Ok(descendants) = font
                    .get_mut(b"DescendantFonts")
                    .and_then(Object::as_array_mut)
                {
                    for d in descendants.iter_mut() {
                        if let Object::Dictionary(cid) = d {
                            cid.set("CIDToGIDMap", name("Identity"));
                        }
                    }
                }
            }
            // printpdf keeps font programs uncompressed (and page contents in debug builds).
            Object::Stream(stream) => stream.allows_compression = true,
            _ => {}
        }
    }
    for id in to_unicode {
        if let Ok(Object::Stream(stream)) = pdf.get_object_mut(id) {
            let content = match stream.decompressed_content() {
                Ok(plain) => plain,
                Err(_) => stream.content.clone(),
            };
            let repaired = repair_to_unicode(&String::from_utf8_lossy(&content));
            stream.set_plain_content(repaired.into_bytes());
        }
    }
    pdf.compress();

    let mut profile = Stream::new(
        Dictionary::from_iter(vec![
            ("N", Object::Integer(3)),
            ("Alternate", name("DeviceRGB")),
        ]),
        srgb_profile(),
    );
    profile.compress().map_err(pdf_error)?;
    let profile_id = pdf.add_object(profile);
    let intent = Dictionary::from_iter(vec![
        ("Type", name("OutputIntent")),
        ("S", name("GTS_PDFA1")),
        (
            "OutputConditionIdentifier",
            Object::string_literal("sRGB IEC61966-2.1"),
        ),
        (
            "RegistryName",
            Object::string_literal("http://www.color.org"),
        ),
        ("Info", Object::string_literal("sRGB IEC61966-2.1")),
        ("DestOutputProfile", Object::Reference(profile_id)),
    ]);

    let mut file = Stream::new(
        Dictionary::from_iter(vec![
            ("Type", name("EmbeddedFile")),
            ("Subtype", name("text/xml")),
            (
                "Params",
                Object::Dictionary(Dictionary::from_iter(vec![
                    ("Size", Object::Integer(xml.len() as i64)),
                    ("ModDate", Object::string_literal(info.pdf_date.as_str())),
                ])),
            ),
        ]),
        xml.as_bytes().to_vec(),
    );
    file.compress().map_err(pdf_error)?;
    let file_id = pdf.add_object(file);
    let filespec_id = pdf.add_object(Dictionary::from_iter(vec![
        ("Type", name("Filespec")),
        ("F", Object::string_literal(FACTURX_FILENAME)),
        ("UF", text_string(FACTURX_FILENAME)),
        ("Desc", Object::string_literal("Factur-X XML invoice")),
        ("AFRelationship", name("Data")),
        (
            "EF",
            Object::Dictionary(Dictionary::from_iter(vec![
                ("F", Object::Reference(file_id)),
                ("UF", Object::Reference(file_id)),
            ])),
        ),
    ]));

    // The XMP stays uncompressed so that any tool finds the PDF/A and Factur-X markers.
    let xmp = xmp(&info).map_err(pdf_error)?;
    let metadata = Stream::new(
        Dictionary::from_iter(vec![("Type", name("Metadata")), ("Subtype", name("XML"))]),
        xmp,
    )
    .with_compression(false);
    let metadata_id = pdf.add_object(metadata);

    let catalog = pdf.catalog_mut().map_err(pdf_error)?;
    catalog.set("Metadata", Object::Reference(metadata_id));
    catalog.set(
        "OutputIntents",
        Object::Array(vec![Object::Dictionary(intent)]),
    );
    catalog.set(
        "Names",
        Object::Dictionary(Dictionary::from_iter(vec![(
            "EmbeddedFiles",
            Object::Dictionary(Dictionary::from_iter(vec![(
                "Names",
                Object::Array(vec![
                    Object::string_literal(FACTURX_FILENAME),
                    Object::Reference(filespec_id),
                ]),
            )])),
        )])),
    );
    catalog.set("AF", Object::Array(vec![Object::Reference(filespec_id)]));
    catalog.set("Lang", Object::string_literal("fr-FR"));
    // PDF/A: every optional content configuration has a name (printpdf draws in layers).
    if let Ok(Object::Dictionary(oc)) = catalog.get_mut(b"OCProperties") {
        if let Ok(Object::Dictionary(default)) = oc.get_mut(b"D") {
            default.set("Name", Object::string_literal("Contenu"));
        }
    }

    // The file identifier comes from the content, not from chance: same document, same bytes.
    let digest = Sha256::digest(xml.as_bytes());
    let id = Object::String(digest[..16].to_vec(), StringFormat::Hexadecimal);
    pdf.trailer.set("ID", Object::Array(vec![id.clone(), id]));

    let mut out = Vec::new();
    pdf.save_to(&mut out).map_err(pdf_error)?;
    Ok(out)
}

/// printpdf writes the ToUnicode map of characters beyond the Basic Multilingual Plane
/// (DejaVu has some) as five hex digits, which readers reject; they must be UTF-16, a
/// surrogate pair.
fn repair_to_unicode(cmap: &str) -> String {
    let mut out = String::with_capacity(cmap.len());
    for line in cmap.split_inclusive('\n') {
        let entry = line
            .trim_end()
            .strip_prefix('<')
            .and_then(|l| l.strip_suffix('>'))
            .and_then(|l| l.split_once("> <"));
        let wide = entry.and_then(|(cid, hex)| {
            let code = u32::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() > 4)?;
            let c = char::from_u32(code)?;
            let utf16: String = c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("{u:04x}"))
                .collect();
            Some(format!("<{cid}> <{utf16}>\n"))
        });
        out.push_str(wide.as_deref().unwrap_or(line));
    }
    out
}

const NS_FX: &str = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";

/// The XMP packet: PDF/A-3b identification, the document information, the Factur-X
/// properties and the PDF/A extension schema that declares them.
fn xmp(info: &Info) -> std::io::Result<Vec<u8>> {
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 1);
    let start = |w: &mut quick_xml::Writer<Vec<u8>>, tag: &str, attrs: &[(&str, &str)]| {
        let mut s = BytesStart::new(tag);
        for a in attrs {
            s.push_attribute(*a);
        }
        w.write_event(Event::Start(s))
    };
    let end = |w: &mut quick_xml::Writer<Vec<u8>>, tag: &str| {
        w.write_event(Event::End(BytesEnd::new(tag)))
    };
    let leaf =
        |w: &mut quick_xml::Writer<Vec<u8>>, tag: &str, attrs: &[(&str, &str)], text: &str| {
            w.create_element(tag)
                .with_attributes(attrs.iter().copied())
                .write_text_content(BytesText::new(text))
                .map(|_| ())
        };
    let about = ("rdf:about", "");
    let lang = [("xml:lang", "x-default")];

    w.write_event(Event::PI(BytesPI::new(
        "xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"",
    )))?;
    start(&mut w, "x:xmpmeta", &[("xmlns:x", "adobe:ns:meta/")])?;
    start(
        &mut w,
        "rdf:RDF",
        &[("xmlns:rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")],
    )?;

    start(
        &mut w,
        "rdf:Description",
        &[about, ("xmlns:pdfaid", "http://www.aiim.org/pdfa/ns/id/")],
    )?;
    leaf(&mut w, "pdfaid:part", &[], "3")?;
    leaf(&mut w, "pdfaid:conformance", &[], "B")?;
    end(&mut w, "rdf:Description")?;

    start(
        &mut w,
        "rdf:Description",
        &[about, ("xmlns:dc", "http://purl.org/dc/elements/1.1/")],
    )?;
    leaf(&mut w, "dc:format", &[], "application/pdf")?;
    for (tag, container, value, attrs) in [
        ("dc:title", "rdf:Alt", info.title.as_str(), &lang[..]),
        ("dc:creator", "rdf:Seq", info.author.as_str(), &[][..]),
        (
            "dc:description",
            "rdf:Alt",
            info.subject.as_str(),
            &lang[..],
        ),
    ] {
        start(&mut w, tag, &[])?;
        start(&mut w, container, &[])?;
        leaf(&mut w, "rdf:li", attrs, value)?;
        end(&mut w, container)?;
        end(&mut w, tag)?;
    }
    end(&mut w, "rdf:Description")?;

    start(
        &mut w,
        "rdf:Description",
        &[about, ("xmlns:pdf", "http://ns.adobe.com/pdf/1.3/")],
    )?;
    leaf(&mut w, "pdf:Producer", &[], info.producer)?;
    end(&mut w, "rdf:Description")?;

    start(
        &mut w,
        "rdf:Description",
        &[about, ("xmlns:xmp", "http://ns.adobe.com/xap/1.0/")],
    )?;
    leaf(&mut w, "xmp:CreatorTool", &[], info.creator)?;
    leaf(&mut w, "xmp:CreateDate", &[], &info.xmp_date)?;
    leaf(&mut w, "xmp:ModifyDate", &[], &info.xmp_date)?;
    leaf(&mut w, "xmp:MetadataDate", &[], &info.xmp_date)?;
    end(&mut w, "rdf:Description")?;

    start(
        &mut w,
        "rdf:Description",
        &[
            about,
            (
                "xmlns:pdfaExtension",
                "http://www.aiim.org/pdfa/ns/extension/",
            ),
            ("xmlns:pdfaSchema", "http://www.aiim.org/pdfa/ns/schema#"),
            (
                "xmlns:pdfaProperty",
                "http://www.aiim.org/pdfa/ns/property#",
            ),
        ],
    )?;
    let resource = [("rdf:parseType", "Resource")];
    start(&mut w, "pdfaExtension:schemas", &[])?;
    start(&mut w, "rdf:Bag", &[])?;
    start(&mut w, "rdf:li", &resource)?;
    leaf(
        &mut w,
        "pdfaSchema:schema",
        &[],
        "Factur-X PDFA Extension Schema",
    )?;
    leaf(&mut w, "pdfaSchema:namespaceURI", &[], NS_FX)?;
    leaf(&mut w, "pdfaSchema:prefix", &[], "fx")?;
    start(&mut w, "pdfaSchema:property", &[])?;
    start(&mut w, "rdf:Seq", &[])?;
    for (property, description) in [
        ("DocumentFileName", "The name of the embedded XML document"),
        (
            "DocumentType",
            "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER",
        ),
        (
            "Version",
            "The actual version of the standard applying to the embedded XML document",
        ),
        (
            "ConformanceLevel",
            "The conformance level of the embedded XML document",
        ),
    ] {
        start(&mut w, "rdf:li", &resource)?;
        leaf(&mut w, "pdfaProperty:name", &[], property)?;
        leaf(&mut w, "pdfaProperty:valueType", &[], "Text")?;
        leaf(&mut w, "pdfaProperty:category", &[], "external")?;
        leaf(&mut w, "pdfaProperty:description", &[], description)?;
        end(&mut w, "rdf:li")?;
    }
    end(&mut w, "rdf:Seq")?;
    end(&mut w, "pdfaSchema:property")?;
    end(&mut w, "rdf:li")?;
    end(&mut w, "rdf:Bag")?;
    end(&mut w, "pdfaExtension:schemas")?;
    end(&mut w, "rdf:Description")?;

    start(&mut w, "rdf:Description", &[about, ("xmlns:fx", NS_FX)])?;
    leaf(&mut w, "fx:DocumentType", &[], "INVOICE")?;
    leaf(&mut w, "fx:DocumentFileName", &[], FACTURX_FILENAME)?;
    leaf(&mut w, "fx:Version", &[], "1.0")?;
    leaf(&mut w, "fx:ConformanceLevel", &[], "EN 16931")?;
    end(&mut w, "rdf:Description")?;

    end(&mut w, "rdf:RDF")?;
    end(&mut w, "x:xmpmeta")?;
    w.write_event(Event::PI(BytesPI::new("xpacket end=\"w\"")))?;
    Ok(w.into_inner())
}

/// An ICC v2 display profile of sRGB (IEC 61966-2.1): the D50-adapted primaries and the sRGB
/// tone curve sampled 1024 times. Built here because the output intent needs one and nothing
/// on crates.io ships it small; printpdf's own profile is CMYK for print (FOGRA39, 650 kB).
fn srgb_profile() -> Vec<u8> {
    fn s15(v: f64) -> [u8; 4] {
        ((v * 65536.0).round() as i32).to_be_bytes()
    }
    fn xyz(x: f64, y: f64, z: f64) -> Vec<u8> {
        let mut t = b"XYZ \0\0\0\0".to_vec();
        for v in [x, y, z] {
            t.extend(s15(v));
        }
        t
    }
    fn desc(text: &str) -> Vec<u8> {
        let mut t = b"desc\0\0\0\0".to_vec();
        t.extend((text.len() as u32 + 1).to_be_bytes());
        t.extend(text.as_bytes());
        t.push(0);
        t.extend([0u8; 4 + 4 + 2 + 1 + 67]); // no Unicode, no ScriptCode description
        t
    }
    fn text(text: &str) -> Vec<u8> {
        let mut t = b"text\0\0\0\0".to_vec();
        t.extend(text.as_bytes());
        t.push(0);
        t
    }
    fn curve() -> Vec<u8> {
        const N: u32 = 1024;
        let mut t = b"curv\0\0\0\0".to_vec();
        t.extend(N.to_be_bytes());
        for i in 0..N {
            let v = f64::from(i) / f64::from(N - 1);
            let linear = if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            };
            t.extend(((linear * 65535.0).round() as u16).to_be_bytes());
        }
        t
    }
    // D50 as the ICC specification spells it out in s15Fixed16.
    const D50: [u8; 12] = [0, 0, 0xF6, 0xD6, 0, 1, 0, 0, 0, 0, 0xD3, 0x2D];

    let mut wtpt = b"XYZ \0\0\0\0".to_vec();
    wtpt.extend(D50);
    let trc = curve();
    let tags: [(&[u8; 4], Vec<u8>); 9] = [
        (b"desc", desc("sRGB IEC61966-2.1")),
        (b"cprt", text("No copyright, use freely")),
        (b"wtpt", wtpt),
        (b"rXYZ", xyz(0.436_07, 0.222_49, 0.013_92)),
        (b"gXYZ", xyz(0.385_15, 0.716_87, 0.097_08)),
        (b"bXYZ", xyz(0.143_07, 0.060_61, 0.714_10)),
        (b"rTRC", trc.clone()),
        (b"gTRC", trc.clone()),
        (b"bTRC", trc),
    ];

    let table_len = 4 + 12 * tags.len();
    let mut table = (tags.len() as u32).to_be_bytes().to_vec();
    let mut data: Vec<u8> = Vec::new();
    let mut shared_trc: Option<(u32, u32)> = None;
    for (signature, body) in &tags {
        let is_trc = signature.ends_with(b"TRC");
        let (offset, size) = match (is_trc, shared_trc) {
            // The three tone curves are the same: one copy, three entries.
            (true, Some(place)) => place,
            _ => {
                let offset = (128 + table_len + data.len()) as u32;
                data.extend(body);
                data.resize(data.len().next_multiple_of(4), 0);
                let place = (offset, body.len() as u32);
                if is_trc {
                    shared_trc = Some(place);
                }
                place
            }
        };
        table.extend(signature.iter());
        table.extend(offset.to_be_bytes());
        table.extend(size.to_be_bytes());
    }

    let size = (128 + table_len + data.len()) as u32;
    let mut header = Vec::with_capacity(128);
    header.extend(size.to_be_bytes());
    header.extend([0u8; 4]); // preferred CMM: none
    header.extend([2, 0x10, 0, 0]); // version 2.1
    header.extend(b"mntrRGB XYZ ");
    for part in [2026u16, 1, 1, 0, 0, 0] {
        header.extend(part.to_be_bytes());
    }
    header.extend(b"acsp");
    header.extend([0u8; 4 + 4 + 4 + 4 + 8 + 4]); // platform, flags, maker, model, attributes, intent
    header.extend(D50);
    header.extend([0u8; 4 + 16 + 28]); // creator, profile id (v4 only), reserved
    header.extend(table);
    header.extend(data);
    header
}

#[cfg(test)]
mod tests {
    use super::super::samples::*;
    use super::*;
    use lopdf::Document;

    fn loaded(pdf: &[u8]) -> Document {
        Document::load_mem(pdf).expect("lopdf reads the pdf back")
    }

    fn embedded_xml(pdf: &Document) -> Vec<u8> {
        let catalog = pdf.catalog().expect("catalog");
        let af = catalog.get(b"AF").and_then(Object::as_array).expect("/AF");
        let spec_id = af[0].as_reference().expect("filespec reference");
        let spec = pdf.get_dictionary(spec_id).expect("filespec");
        assert_eq!(
            spec.get(b"AFRelationship").and_then(Object::as_name).ok(),
            Some(&b"Data"[..])
        );
        assert_eq!(
            spec.get(b"F").and_then(Object::as_str).ok(),
            Some(FACTURX_FILENAME.as_bytes())
        );
        let ef = spec.get(b"EF").and_then(Object::as_dict).expect("/EF");
        let file_id = ef.get(b"F").and_then(Object::as_reference).expect("/EF /F");
        let stream = pdf
            .get_object(file_id)
            .and_then(Object::as_stream)
            .expect("stream");
        assert_eq!(
            stream.dict.get(b"Subtype").and_then(Object::as_name).ok(),
            Some(&b"text/xml"[..])
        );
        stream.decompressed_content().expect("inflates")
    }

    #[test]
    fn the_pdf_embeds_the_xml_as_facturx() {
        let doc = invoice();
        let rendered = render(&doc).expect("renders");
        assert!(rendered.pdf.starts_with(b"%PDF-1.7\n%"));
        assert!(
            rendered.pdf[10..14].iter().all(|b| *b > 127),
            "binary comment line"
        );
        let pdf = loaded(&rendered.pdf);
        assert_eq!(embedded_xml(&pdf), rendered.xml.as_bytes());
        let catalog = pdf.catalog().expect("catalog");
        let metadata_id = catalog
            .get(b"Metadata")
            .and_then(Object::as_reference)
            .expect("/Metadata");
        let metadata = pdf
            .get_object(metadata_id)
            .and_then(Object::as_stream)
            .expect("xmp");
        assert!(
            metadata.dict.get(b"Filter").is_err(),
            "the xmp stays uncompressed"
        );
        let xmp = String::from_utf8(metadata.content.clone()).expect("utf-8");
        for needle in [
            "<pdfaid:part>3</pdfaid:part>",
            "<pdfaid:conformance>B</pdfaid:conformance>",
            "<fx:DocumentType>INVOICE</fx:DocumentType>",
            "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>",
            "<fx:Version>1.0</fx:Version>",
            "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>",
            "<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>",
            "<rdf:li xml:lang=\"x-default\">Facture 2027-000123</rdf:li>",
        ] {
            assert!(xmp.contains(needle), "{needle} missing from {xmp}");
        }
        let intents = catalog
            .get(b"OutputIntents")
            .and_then(Object::as_array)
            .expect("intents");
        let intent = intents[0].as_dict().expect("intent");
        assert_eq!(
            intent.get(b"S").and_then(Object::as_name).ok(),
            Some(&b"GTS_PDFA1"[..])
        );
    }

    #[test]
    fn the_same_document_gives_the_same_bytes() {
        let doc = credit_note();
        assert_eq!(
            render_pdf(&doc).expect("renders"),
            render_pdf(&doc).expect("renders")
        );
    }

    #[test]
    fn many_lines_flow_onto_further_pages() {
        let mut doc = invoice();
        doc.lines = (1..=60)
            .map(|i| {
                line(
                    &format!("Atelier n° {i}"),
                    1,
                    1_000 + i,
                    0,
                    VatRate::Standard,
                )
            })
            .collect();
        let doc = totals(doc, true);
        let pdf = loaded(&render_pdf(&doc).expect("renders"));
        assert!(pdf.get_pages().len() >= 2);
        let one = loaded(&render_pdf(&invoice()).expect("renders"));
        assert_eq!(one.get_pages().len(), 1);
    }

    #[test]
    fn long_labels_wrap_at_spaces_and_stop_after_three_lines() {
        let face = ttf_parser::Face::parse(dejavu::sans_condensed::regular(), 0).expect("font");
        let (pdf, _, _) = PdfDocument::new("t", Mm(WIDTH), Mm(HEIGHT), "page");
        let font = Font {
            face,
            pdf: pdf
                .add_external_font(dejavu::sans_condensed::regular())
                .expect("font"),
        };
        let short = wrap(&font, "Pass exposant", DESC_W, TABLE_SIZE);
        assert_eq!(short, vec!["Pass exposant"]);
        let label = "Pass exposant premium avec accès au salon VIP, déjeuners d'affaires, \
                     soirée de gala et rendez-vous illimités pendant les deux jours";
        let two = wrap(&font, label, DESC_W, TABLE_SIZE);
        assert!(two.len() >= 2);
        assert_eq!(two.join(" "), label);
        assert!(two.iter().all(|l| font.width(l, TABLE_SIZE) <= DESC_W));
        let long = label.repeat(4);
        let cut = wrap_max(&font, &long, DESC_W, TABLE_SIZE, 3);
        assert_eq!(cut.len(), 3);
        assert!(cut[2].ends_with('…'));
        let word = "x".repeat(200);
        assert!(wrap(&font, &word, DESC_W, TABLE_SIZE).len() > 1);
    }

    #[test]
    fn characters_beyond_the_bmp_map_to_surrogate_pairs() {
        let cmap = "2 beginbfchar\r\n<0003> <0020>\n<14fd> <10300>\nendbfchar\r\n";
        assert_eq!(
            repair_to_unicode(cmap),
            "2 beginbfchar\r\n<0003> <0020>\n<14fd> <d800df00>\nendbfchar\r\n"
        );
    }

    #[test]
    fn the_srgb_profile_is_a_well_formed_icc_profile() {
        let icc = srgb_profile();
        assert_eq!(
            u32::from_be_bytes([icc[0], icc[1], icc[2], icc[3]]) as usize,
            icc.len()
        );
        assert_eq!(&icc[12..24], b"mntrRGB XYZ ");
        assert_eq!(&icc[36..40], b"acsp");
        let count = u32::from_be_bytes([icc[128], icc[129], icc[130], icc[131]]) as usize;
        assert_eq!(count, 9);
        for i in 0..count {
            let e = 132 + 12 * i;
            let offset =
                u32::from_be_bytes([icc[e + 4], icc[e + 5], icc[e + 6], icc[e + 7]]) as usize;
            let size =
                u32::from_be_bytes([icc[e + 8], icc[e + 9], icc[e + 10], icc[e + 11]]) as usize;
            assert_eq!(offset % 4, 0);
            assert!(offset + size <= icc.len());
        }
    }

    #[test]
    fn reverse_charge_prints_the_articles_once() {
        let doc = reverse_charge();
        let mention = vat_mention(&doc.vat[0]).expect("mention");
        assert_eq!(
            mention,
            format!("Autoliquidation – {REVERSE_CHARGE_ARTICLES}")
        );
        let mut b = doc.vat[0].clone();
        b.exemption_reason = Some(format!("Autoliquidation, {REVERSE_CHARGE_ARTICLES}"));
        assert_eq!(vat_mention(&b), b.exemption_reason);
    }
}
