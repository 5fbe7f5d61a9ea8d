//! Text values parsed at the edge: whatever holds one of these types has been checked.

use crate::format::{self, TextFormat};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A value that failed to parse; the message is meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters (got {len})")]
    TooLong { max: usize, len: usize },
    #[error("is not a valid email address")]
    Email,
    #[error("must be a phone number in international format, such as +33612345678")]
    Phone,
    #[error("must be a two-letter ISO 3166 country code, such as FR")]
    Country,
    #[error("must be a two-letter ISO 639-1 language code, such as fr")]
    Language,
    #[error("must be lowercase letters, digits and hyphens, 1 to 63 characters")]
    Slug,
    #[error("must not contain control characters")]
    Control,
    #[error("must be a path of lowercase words separated by /, such as industry/machining (letters a-z, digits, - and _)")]
    Sector,
    #[error("must not contain bidirectional control characters (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069)")]
    Bidi,
}

/// Characters that reorder or hide the text around them: the bidirectional embeddings,
/// overrides and isolates, and the directional marks. A name holding one can display as
/// something else than it is ("Trojan Source"), so no text field accepts them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks `input` against its format (`LINE` or `MULTILINE`, at most `max` characters
/// surrounding whitespace included) and trims it; a refusal names the first thing wrong.
fn parse_text(input: &str, max: usize, multiline: bool) -> Result<String, ValueError> {
    let format = if multiline {
        &format::MULTILINE
    } else {
        &format::LINE
    };
    let len = input.chars().count();
    if len > max {
        return Err(ValueError::TooLong { max, len });
    }
    if format.is_match(input) {
        return Ok(input.trim().to_owned());
    }
    let trimmed = input.trim();
    if trimmed.is_empty() {
        Err(ValueError::Empty)
    } else if trimmed.chars().any(is_bidi_control) {
        Err(ValueError::Bidi)
    } else {
        Err(ValueError::Control)
    }
}

/// The format of text that `parse_text` accepts.
fn text_format(max: usize, multiline: bool) -> TextFormat {
    if multiline {
        TextFormat {
            pattern: &format::MULTILINE,
            max_chars: max,
            description: "text; line breaks and tabs allowed, other control characters and bidirectional controls not; trimmed",
        }
    } else {
        TextFormat {
            pattern: &format::LINE,
            max_chars: max,
            description:
                "one line of text without control characters or bidirectional controls; trimmed",
        }
    }
}

/// Trimmed single-line text of 1 to `MAX` characters: no control characters at all (no line
/// break, no tab) and no bidirectional controls. Names, titles, addresses, labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BoundedText<const MAX: usize>(String);

impl<const MAX: usize> BoundedText<MAX> {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_text(input, MAX, false).map(Self)
    }

    pub fn format() -> TextFormat {
        text_format(MAX, false)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize> fmt::Display for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Trimmed text of 1 to `MAX` characters that may span lines (descriptions, reasons): line
/// breaks and tabs are kept, other control characters and bidirectional controls are not.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct MultilineText<const MAX: usize>(String);

impl<const MAX: usize> MultilineText<MAX> {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_text(input, MAX, true).map(Self)
    }

    pub fn format() -> TextFormat {
        text_format(MAX, true)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An email address: one `@`, a plausible local part, a domain with a dot; the domain is
/// lowercased so that lookups compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const FORMAT: TextFormat = TextFormat {
        pattern: &format::EMAIL,
        max_chars: 254,
        description: "an email address",
    };

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let len = input.chars().count();
        if len > Self::FORMAT.max_chars {
            return Err(ValueError::TooLong {
                max: Self::FORMAT.max_chars,
                len,
            });
        }
        let s = input.trim();
        if s.is_empty() {
            return Err(ValueError::Empty);
        }
        if !Self::FORMAT.pattern.is_match(input) {
            return Err(ValueError::Email);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(ValueError::Email)?;
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164: `+`, a country code not starting with 0, 8 to 15 digits in all.
/// Spaces, dots, dashes and parentheses are accepted on input, and `00` for `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub const FORMAT: TextFormat = TextFormat {
        pattern: &format::PHONE,
        max_chars: 40,
        description: "a phone number in international format, such as +33612345678 (spaces, dots, dashes and parentheses allowed; 00 for +)",
    };

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let len = input.chars().count();
        if len > Self::FORMAT.max_chars {
            return Err(ValueError::TooLong {
                max: Self::FORMAT.max_chars,
                len,
            });
        }
        let s = input.trim();
        if s.is_empty() {
            return Err(ValueError::Empty);
        }
        if !Self::FORMAT.pattern.is_match(input) {
            return Err(ValueError::Phone);
        }
        let rest = s
            .strip_prefix('+')
            .or_else(|| s.strip_prefix("00"))
            .unwrap_or(s);
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        Ok(Self(format!("+{digits}")))
    }

    /// Like [`PhoneNumber::parse`], but a national number (`06 12 34 56 78`) is read as a
    /// number of `country`: its trunk prefix (`0`, where the country has one) gives way to
    /// the country's calling code. A country this table does not know leaves national
    /// numbers refused, as `parse` does.
    pub fn parse_national(input: &str, country: CountryCode) -> Result<Self, ValueError> {
        let s = input.trim();
        if s.starts_with('+') || s.starts_with("00") {
            return Self::parse(input);
        }
        let Some((code, trunk)) = calling_code(country) else {
            return Self::parse(input);
        };
        if input.chars().count() > Self::FORMAT.max_chars {
            return Self::parse(input);
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let allowed = |c: char| c.is_ascii_digit() || " .-()/".contains(c);
        if digits.is_empty() || !s.chars().all(allowed) {
            return Self::parse(input);
        }
        let national = match trunk {
            Some(t) => match digits.strip_prefix(t) {
                Some(rest) => rest,
                // Without its trunk prefix the number is not a national one as written.
                None => return Self::parse(input),
            },
            None => digits.as_str(),
        };
        Self::parse(&format!("+{code}{national}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The calling code of a country and its trunk prefix (dialled before national numbers, and
/// dropped after the calling code), for the countries whose participants usually come to
/// French events. Italy keeps its leading 0 after the calling code: no trunk prefix.
fn calling_code(country: CountryCode) -> Option<(&'static str, Option<&'static str>)> {
    const ZERO: Option<&str> = Some("0");
    Some(match country.as_str() {
        "FR" | "MC" => (
            if country.as_str() == "FR" {
                "33"
            } else {
                "377"
            },
            ZERO,
        ),
        "RE" | "YT" => ("262", ZERO),
        "GP" | "MF" | "BL" => ("590", ZERO),
        "MQ" => ("596", ZERO),
        "GF" => ("594", ZERO),
        "BE" => ("32", ZERO),
        "CH" => ("41", ZERO),
        "LU" => ("352", None),
        "DE" => ("49", ZERO),
        "AT" => ("43", ZERO),
        "NL" => ("31", ZERO),
        "GB" => ("44", ZERO),
        "IE" => ("353", ZERO),
        "ES" => ("34", None),
        "PT" => ("351", None),
        "IT" => ("39", None),
        "PL" => ("48", None),
        "SE" => ("46", ZERO),
        "FI" => ("358", ZERO),
        "DK" => ("45", None),
        "NO" => ("47", None),
        "GR" => ("30", None),
        "CZ" => ("420", None),
        "RO" => ("40", ZERO),
        "MA" => ("212", ZERO),
        "DZ" => ("213", ZERO),
        "TN" => ("216", None),
        "SN" => ("221", None),
        "CI" => ("225", None),
        "CA" | "US" => ("1", Some("1")),
        _ => return None,
    })
}

/// An ISO 3166-1 alpha-2 country code, uppercased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub const FORMAT: TextFormat = TextFormat {
        pattern: &format::TWO_LETTERS,
        max_chars: 20,
        description: "an ISO 3166-1 alpha-2 country code, such as FR",
    };

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        if !Self::FORMAT.accepts(input) {
            return Err(ValueError::Country);
        }
        match input.trim().as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(ValueError::Country),
        }
    }

    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// An ISO 639-1 language code, lowercased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageCode([u8; 2]);

impl LanguageCode {
    pub const FORMAT: TextFormat = TextFormat {
        pattern: &format::TWO_LETTERS,
        max_chars: 20,
        description: "an ISO 639-1 language code, such as fr",
    };

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        if !Self::FORMAT.accepts(input) {
            return Err(ValueError::Language);
        }
        match input.trim().as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_lowercase(), b.to_ascii_lowercase()]))
            }
            _ => Err(ValueError::Language),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// A URL-safe identifier: lowercase letters, digits and hyphens, not starting with a hyphen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub const FORMAT: TextFormat = TextFormat {
        pattern: &format::SLUG,
        max_chars: 80,
        description:
            "lowercase letters, digits and hyphens, 1 to 63 characters, not starting with a hyphen",
    };

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        if Self::FORMAT.accepts(input) {
            Ok(Self(input.trim().to_owned()))
        } else {
            Err(ValueError::Slug)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A hierarchical sector such as `industry/machining`: segments of ASCII lowercase letters,
/// digits, `-` and `_`, at most 60 bytes each and 200 in all. ASCII capitals are lowered and
/// surrounding slashes dropped. Registrations store it and the search filters on it, so both
/// sides accept exactly the same paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SectorPath(String);

impl SectorPath {
    pub const FORMAT: TextFormat = TextFormat {
        pattern: &format::SECTOR,
        max_chars: 200,
        description: "a sector path of lowercase words separated by /, such as industry/machining",
    };

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        if !Self::FORMAT.accepts(input) {
            return Err(ValueError::Sector);
        }
        Ok(Self(input.trim().trim_matches('/').to_ascii_lowercase()))
    }

    /// A sector to filter on: the path's pattern, whatever its length (a search list cannot
    /// state each item's length in its schema; a path longer than any stored one finds
    /// nothing).
    pub fn parse_filter(input: &str) -> Result<Self, ValueError> {
        if !Self::FORMAT.pattern.is_match(input) {
            return Err(ValueError::Sector);
        }
        Ok(Self(input.trim().trim_matches('/').to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for SectorPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! deserialize_via_parse {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

deserialize_via_parse!(EmailAddress, PhoneNumber, Slug, SectorPath);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        assert_eq!(
            EmailAddress::parse(" Jane.Doe@Example.COM ")
                .unwrap()
                .as_str(),
            "Jane.Doe@example.com"
        );
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "ja ne@example.com",
            "a..b@x.fr",
            "j@-x.fr",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(
            PhoneNumber::parse("+33 6 12 34 56 78").unwrap().as_str(),
            "+33612345678"
        );
        assert_eq!(
            PhoneNumber::parse("0044 (20) 7946-0958").unwrap().as_str(),
            "+442079460958"
        );
        for bad in [
            "06 12 34 56 78",
            "+0612345678",
            "+33 6x",
            "+1234",
            "+1234567890123456",
        ] {
            assert_eq!(PhoneNumber::parse(bad), Err(ValueError::Phone), "{bad}");
        }
    }

    #[test]
    fn bounded_text_counts_characters_not_bytes() {
        assert!(BoundedText::<3>::parse("été").is_ok());
        assert_eq!(
            BoundedText::<3>::parse("étés"),
            Err(ValueError::TooLong { max: 3, len: 4 })
        );
        assert_eq!(BoundedText::<3>::parse("  "), Err(ValueError::Empty));
        assert_eq!(BoundedText::<9>::parse("a\u{7}b"), Err(ValueError::Control));
    }

    #[test]
    fn short_text_refuses_line_breaks_and_bidi_controls() {
        for bad in ["Eve\nAdmin", "Eve\tA", "Eve\rA", "a\u{0}b", "a\u{85}b"] {
            assert_eq!(
                BoundedText::<20>::parse(bad),
                Err(ValueError::Control),
                "{bad:?}"
            );
        }
        for c in [
            '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}',
        ] {
            let s = format!("Eve{c}nimda");
            assert_eq!(BoundedText::<20>::parse(&s), Err(ValueError::Bidi), "{c:?}");
            assert_eq!(
                MultilineText::<20>::parse(&s),
                Err(ValueError::Bidi),
                "{c:?}"
            );
        }
        // Right-to-left scripts themselves are fine; only the invisible controls are not.
        assert!(BoundedText::<20>::parse("مرحبا Zoë").is_ok());
    }

    #[test]
    fn multiline_text_keeps_line_breaks_only() {
        assert_eq!(
            MultilineText::<20>::parse(" one\r\ntwo\tthree ")
                .unwrap()
                .as_str(),
            "one\r\ntwo\tthree"
        );
        assert_eq!(
            MultilineText::<20>::parse("a\u{7}b"),
            Err(ValueError::Control)
        );
        assert_eq!(
            MultilineText::<3>::parse("abcd"),
            Err(ValueError::TooLong { max: 3, len: 4 })
        );
    }

    #[test]
    fn codes() {
        assert_eq!(CountryCode::parse("fr").unwrap().as_str(), "FR");
        assert!(CountryCode::parse("FRA").is_err());
        assert_eq!(LanguageCode::parse("EN").unwrap().as_str(), "en");
        assert!(Slug::parse("Salon-2027").is_err());
        assert!(Slug::parse("salon-2027").is_ok());
    }

    #[test]
    fn sectors_are_lowercase_ascii_paths() {
        assert_eq!(
            SectorPath::parse(" /Industry/Machining/ ")
                .unwrap()
                .as_str(),
            "industry/machining"
        );
        for bad in [
            "",
            "/",
            "énergie",
            "industry//x",
            "a b",
            "x/énergie",
            "Not A Sector!",
        ] {
            assert_eq!(SectorPath::parse(bad), Err(ValueError::Sector), "{bad}");
        }
    }

    /// The rule the text patterns state, written as plain code: trimmed, something left, no
    /// control character (line breaks and tabs allowed in multi-line text), no bidi control.
    fn reference_text(input: &str, multiline: bool) -> bool {
        let t = input.trim();
        let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
        !t.is_empty()
            && !t
                .chars()
                .any(|c| (c.is_control() && !allowed(c)) || is_bidi_control(c))
    }

    #[test]
    fn text_patterns_state_the_rule_on_every_special_character() {
        let specials: Vec<char> = (0u32..0x3100)
            .filter_map(char::from_u32)
            .filter(|c| {
                c.is_whitespace() || c.is_control() || is_bidi_control(*c) || !c.is_alphanumeric()
            })
            .collect();
        for &c in &specials {
            for s in [
                format!("{c}"),
                format!("a{c}"),
                format!("{c}a"),
                format!("a{c}b"),
                format!(" {c} a "),
            ] {
                for multiline in [false, true] {
                    assert_eq!(
                        parse_text(&s, 100, multiline).is_ok(),
                        reference_text(&s, multiline),
                        "{s:?} multiline={multiline}"
                    );
                }
            }
        }
    }

    #[test]
    fn national_numbers_take_the_default_country() {
        let fr = CountryCode::parse("FR").unwrap();
        assert_eq!(
            PhoneNumber::parse_national("06 12 34 56 78", fr)
                .unwrap()
                .as_str(),
            "+33612345678"
        );
        assert_eq!(
            PhoneNumber::parse_national("+32 470 12 34 56", fr)
                .unwrap()
                .as_str(),
            "+32470123456"
        );
        assert_eq!(
            PhoneNumber::parse_national("0033 6 12 34 56 78", fr)
                .unwrap()
                .as_str(),
            "+33612345678"
        );
        let it = CountryCode::parse("IT").unwrap();
        assert_eq!(
            PhoneNumber::parse_national("06 1234 5678", it)
                .unwrap()
                .as_str(),
            "+390612345678"
        );
        // No trunk prefix where France wants one: refused as written.
        assert!(PhoneNumber::parse_national("612345678", fr).is_err());
        assert!(PhoneNumber::parse_national("06 12 ab", fr).is_err());
        assert!(PhoneNumber::parse_national("", fr).is_err());
        // An unknown country leaves national numbers refused.
        let zz = CountryCode::parse("KZ").unwrap();
        assert!(PhoneNumber::parse_national("0612345678", zz).is_err());
    }

    proptest! {
        #[test]
        fn text_patterns_agree_with_the_rule(s in "\\PC{0,6}|[ \\t\\n\\r\\u{85}\\u{a0}\\u{2028}\\u{200e}\\u{0}a]{0,6}", multiline: bool) {
            prop_assert_eq!(parse_text(&s, 100, multiline).is_ok(), reference_text(&s, multiline));
        }

        #[test]
        fn parsed_sectors_reparse_to_themselves(s in "\\PC{0,40}") {
            if let Ok(p) = SectorPath::parse(&s) {
                prop_assert_eq!(SectorPath::parse(p.as_str()), Ok(p.clone()));
            }
        }

        #[test]
        fn parsed_phones_reparse_to_themselves(s in "\\PC{0,30}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p.clone()));
                prop_assert!(p.as_str().len() <= 16);
            }
        }

        #[test]
        fn parsed_emails_reparse_to_themselves(s in "[a-z.]{0,8}@[a-zA-Z.-]{0,12}") {
            if let Ok(e) = EmailAddress::parse(&s) {
                prop_assert_eq!(EmailAddress::parse(e.as_str()), Ok(e.clone()));
            }
        }
    }
}
