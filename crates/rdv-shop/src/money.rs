//! Amounts in integer cents of euro and the French VAT rates.

use serde::{Deserialize, Serialize};

/// An amount in cents of euro. Every amount of the shop is an integer number of cents;
/// no floating point is ever involved.
pub type Cents = i64;

/// The VAT rates of France (CGI articles 278 to 281 nonies), in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VatRate {
    /// 20 %, the standard rate.
    #[serde(rename = "20")]
    Standard,
    /// 10 %, the intermediate rate (catering, for instance).
    #[serde(rename = "10")]
    Intermediate,
    /// 5.5 %, the reduced rate.
    #[serde(rename = "5.5")]
    Reduced,
    /// 2.1 %, the special rate.
    #[serde(rename = "2.1")]
    Special,
    /// 0 %: exempt or reverse-charged; the document then carries the mention.
    #[serde(rename = "0")]
    Zero,
}

impl VatRate {
    pub const ALL: [VatRate; 5] = [
        VatRate::Standard,
        VatRate::Intermediate,
        VatRate::Reduced,
        VatRate::Special,
        VatRate::Zero,
    ];

    /// The rate in basis points (hundredths of a percent): 2000 for 20 %.
    pub fn basis_points(self) -> i64 {
        match self {
            VatRate::Standard => 2000,
            VatRate::Intermediate => 1000,
            VatRate::Reduced => 550,
            VatRate::Special => 210,
            VatRate::Zero => 0,
        }
    }

    pub fn from_basis_points(bp: i64) -> Option<VatRate> {
        VatRate::ALL.into_iter().find(|r| r.basis_points() == bp)
    }

    /// The rate as written on documents and in the API: "20", "5.5", "0".
    pub fn as_str(self) -> &'static str {
        match self {
            VatRate::Standard => "20",
            VatRate::Intermediate => "10",
            VatRate::Reduced => "5.5",
            VatRate::Special => "2.1",
            VatRate::Zero => "0",
        }
    }

    pub fn parse(input: &str) -> Option<VatRate> {
        let input = input.trim().trim_end_matches('%').trim().replace(',', ".");
        VatRate::ALL
            .into_iter()
            .find(|r| r.as_str() == input || format!("{}.0", r.as_str()) == input)
    }

    /// The VAT on a taxable base, rounded half away from zero to the cent (the EN 16931 rule
    /// BR-CO-17: amount = base × rate / 100, rounded to two decimals).
    pub fn vat_on(self, base: Cents) -> Cents {
        div_round_half_away(base * self.basis_points(), 10_000)
    }
}

/// `numerator / denominator` rounded to the nearest integer, halves away from zero.
/// `denominator` must be positive.
pub fn div_round_half_away(numerator: i64, denominator: i64) -> i64 {
    debug_assert!(denominator > 0);
    let q = numerator / denominator;
    let r = numerator % denominator;
    if 2 * r.abs() >= denominator {
        q + numerator.signum()
    } else {
        q
    }
}

/// Cents written as euros with two decimals and a dot: 123456 → "1234.56".
pub fn decimal(cents: Cents) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Cents written the French way for documents: 123456 → "1 234,56 €".
pub fn euros_fr(cents: Cents) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02}\u{a0}€", abs % 100)
}

/// A text cell made safe for spreadsheets: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading apostrophe, so that no spreadsheet runs it as a formula.
pub fn neutralise_formula(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_rounds_half_away_from_zero() {
        // 0.125 € of VAT is rounded up to 0.13 €; 0.124 € down to 0.12 €.
        assert_eq!(VatRate::Standard.vat_on(63), 13); // 12.6 → 13
        assert_eq!(VatRate::Reduced.vat_on(100), 6); // 5.5 → 6
        assert_eq!(VatRate::Reduced.vat_on(-100), -6);
        assert_eq!(VatRate::Special.vat_on(1000), 21);
        assert_eq!(VatRate::Special.vat_on(119), 2); // 2.499 → 2
        assert_eq!(VatRate::Zero.vat_on(123_456), 0);
        assert_eq!(VatRate::Standard.vat_on(120_000), 24_000);
    }

    #[test]
    fn rates_parse_as_written() {
        assert_eq!(VatRate::parse("5,5 %"), Some(VatRate::Reduced));
        assert_eq!(VatRate::parse("20"), Some(VatRate::Standard));
        assert_eq!(VatRate::parse("20.0"), Some(VatRate::Standard));
        assert_eq!(VatRate::parse("19.6"), None);
    }

    #[test]
    fn amounts_print_for_machines_and_people() {
        assert_eq!(decimal(123_456), "1234.56");
        assert_eq!(decimal(-5), "-0.05");
        assert_eq!(euros_fr(12_345_678), "123\u{a0}456,78\u{a0}€");
        assert_eq!(euros_fr(4000), "40,00\u{a0}€");
    }
}
