//! EU VAT identification numbers and French company numbers, checked by form and, where the
//! law defines one, by check key. Whether a number is registered is the VIES service's to say,
//! which the platform does not call (no outside network in its tests); an organizer who must
//! know checks there before a reverse-charge invoice.

use serde::{Deserialize, Serialize};

/// The EU member states, by the prefix their VAT numbers carry (Greece: EL).
const FORMATS: &[(&str, &str)] = &[
    ("AT", "U[0-9]{8}"),
    ("BE", "[01][0-9]{9}"),
    ("BG", "[0-9]{9,10}"),
    ("CY", "[0-9]{8}[A-Z]"),
    ("CZ", "[0-9]{8,10}"),
    ("DE", "[0-9]{9}"),
    ("DK", "[0-9]{8}"),
    ("EE", "[0-9]{9}"),
    ("EL", "[0-9]{9}"),
    ("ES", "[0-9A-Z][0-9]{7}[0-9A-Z]"),
    ("FI", "[0-9]{8}"),
    ("FR", "[0-9A-Z]{2}[0-9]{9}"),
    ("HR", "[0-9]{11}"),
    ("HU", "[0-9]{8}"),
    ("IE", "[0-9][0-9A-Z+*][0-9]{5}[A-Z]{1,2}"),
    ("IT", "[0-9]{11}"),
    ("LT", "[0-9]{9}|[0-9]{12}"),
    ("LU", "[0-9]{8}"),
    ("LV", "[0-9]{11}"),
    ("MT", "[0-9]{8}"),
    ("NL", "[0-9]{9}B[0-9]{2}"),
    ("PL", "[0-9]{10}"),
    ("PT", "[0-9]{9}"),
    ("RO", "[0-9]{2,10}"),
    ("SE", "[0-9]{12}"),
    ("SI", "[0-9]{8}"),
    ("SK", "[0-9]{10}"),
];

/// A VAT number of an EU member state, in its normal form (prefix and digits, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VatNumberError {
    #[error("must start with the prefix of an EU member state, such as FR or DE")]
    Prefix,
    #[error("is not in the format of {0} VAT numbers")]
    Format(&'static str),
    #[error("has a wrong check key")]
    Key,
}

impl VatNumber {
    pub fn parse(input: &str) -> Result<VatNumber, VatNumberError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-'))
            .flat_map(char::to_uppercase)
            .collect();
        let prefix = compact.get(..2).ok_or(VatNumberError::Prefix)?;
        let (country, pattern) = FORMATS
            .iter()
            .find(|(p, _)| *p == prefix)
            .ok_or(VatNumberError::Prefix)?;
        let body = &compact[2..];
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|_| VatNumberError::Format(country))?;
        if !re.is_match(body) {
            return Err(VatNumberError::Format(country));
        }
        if *country == "FR" && body[..2].chars().all(|c| c.is_ascii_digit()) {
            // The numeric key of a French number: (12 + 3 × (SIREN mod 97)) mod 97.
            let key: u64 = body[..2].parse().map_err(|_| VatNumberError::Key)?;
            let siren: u64 = body[2..].parse().map_err(|_| VatNumberError::Key)?;
            if key != (12 + 3 * (siren % 97)) % 97 {
                return Err(VatNumberError::Key);
            }
        }
        Ok(VatNumber(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ISO 3166 country of the number (EL is Greece, GR).
    pub fn country(&self) -> &str {
        match &self.0[..2] {
            "EL" => "GR",
            other => other,
        }
    }
}

/// Whether `country` (ISO 3166 alpha-2) is an EU member state.
pub fn in_eu(country: &str) -> bool {
    let country = if country == "GR" { "EL" } else { country };
    FORMATS.iter().any(|(p, _)| *p == country)
}

/// Checks a SIREN (9 digits) or a SIRET (14 digits) with the Luhn key the INSEE gives them.
pub fn check_siren_or_siret(input: &str, len: usize) -> Result<String, &'static str> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != len || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(if len == 9 {
            "must be 9 digits"
        } else {
            "must be 14 digits"
        });
    }
    let sum: u32 = digits
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err("has a wrong check digit");
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_several_states_parse() {
        assert_eq!(
            VatNumber::parse("FR 40 303 265 045").unwrap().as_str(),
            "FR40303265045"
        );
        assert_eq!(VatNumber::parse("de123456789").unwrap().country(), "DE");
        assert_eq!(VatNumber::parse("EL123456789").unwrap().country(), "GR");
        assert_eq!(
            VatNumber::parse("NL123456789B01").unwrap().as_str(),
            "NL123456789B01"
        );
    }

    #[test]
    fn bad_numbers_say_why() {
        assert_eq!(VatNumber::parse("US123"), Err(VatNumberError::Prefix));
        assert_eq!(VatNumber::parse(""), Err(VatNumberError::Prefix));
        assert_eq!(
            VatNumber::parse("DE12345678"),
            Err(VatNumberError::Format("DE"))
        );
        assert_eq!(VatNumber::parse("FR41303265045"), Err(VatNumberError::Key));
    }

    #[test]
    fn siren_and_siret_keys() {
        assert_eq!(
            check_siren_or_siret("303 265 045", 9),
            Ok("303265045".into())
        );
        assert_eq!(
            check_siren_or_siret("303265046", 9),
            Err("has a wrong check digit")
        );
        assert_eq!(
            check_siren_or_siret("30326504500011", 14).map(|s| s.len()),
            Ok(14)
        );
        assert_eq!(check_siren_or_siret("12", 14), Err("must be 14 digits"));
        assert!(in_eu("DE") && in_eu("GR") && !in_eu("CH"));
    }
}
