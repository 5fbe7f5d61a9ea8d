//! What each text value accepts, stated once: a regular expression and a length in characters.
//! The parsers of this crate accept a value exactly when its format does, and the API publishes
//! the same formats in its OpenAPI schema, so the documentation cannot drift from the checks.
//!
//! The patterns use only the syntax that Rust's `regex`, ECMA-262 (JSON Schema's dialect) and
//! Python's `re` read alike: `^…$` anchors, bracket classes, `\xHH` and `\uHHHH` escapes,
//! `(?:…)` groups and bounded repeats. No lookaround, no `\s` or `\d` (each engine means
//! something else by them).

use regex::Regex;
use std::sync::OnceLock;

/// A regular expression compiled on first use.
pub struct Pattern {
    source: &'static str,
    compiled: OnceLock<Regex>,
}

impl Pattern {
    const fn new(source: &'static str) -> Self {
        Self {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The expression as published in the API's schema.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// The expression without its `^` and `$` anchors, to build a larger one.
    pub fn body(&self) -> &'static str {
        let s = self.source;
        let s = s.strip_prefix('^').unwrap_or(s);
        s.strip_suffix('$').unwrap_or(s)
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.compiled
            .get_or_init(|| {
                // The patterns are constants of this module; `every_pattern_compiles` tests them.
                #[allow(clippy::expect_used)]
                Regex::new(self.source).expect("a constant pattern compiles")
            })
            .is_match(s)
    }
}

/// A text value's format: its pattern and its longest length in characters (code points,
/// surrounding whitespace included).
#[derive(Clone, Copy)]
pub struct TextFormat {
    pub pattern: &'static Pattern,
    pub max_chars: usize,
    /// A short human description of the value, for the schema.
    pub description: &'static str,
}

impl TextFormat {
    pub fn accepts(&self, s: &str) -> bool {
        s.chars().count() <= self.max_chars && self.pattern.is_match(s)
    }
}

/// Whitespace as Rust's `str::trim` removes it (Unicode `White_Space`).
macro_rules! ws {
    () => {
        r"\t\n\x0B\x0C\r\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// One whitespace character, as a bracket class.
pub const WHITESPACE: &str = concat!("[", ws!(), "]");

/// A character that is neither whitespace, a control character (`Cc`) nor a bidirectional
/// control: what a text must hold at least one of once trimmed.
macro_rules! significant {
    () => {
        r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u200E\u200F\u2028-\u202F\u205F\u2066-\u2069\u3000]"
    };
}

/// Any character but a control character or a bidirectional control: the inside of one line.
macro_rules! line_char {
    () => {
        r"[^\x00-\x1F\x7F-\x9F\u200E\u200F\u202A-\u202E\u2066-\u2069]"
    };
}

/// As `line_char`, with tabs and line breaks (`\t`, `\n`, `\r`) let through.
macro_rules! multiline_char {
    () => {
        r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u200E\u200F\u202A-\u202E\u2066-\u2069]"
    };
}

/// Surrounding whitespace, which parsing trims.
macro_rules! pad {
    () => {
        concat!("[", ws!(), "]*")
    };
}

macro_rules! line_body {
    () => {
        concat!(
            pad!(),
            significant!(),
            "(?:",
            line_char!(),
            "*",
            significant!(),
            ")?",
            pad!()
        )
    };
}

macro_rules! multiline_body {
    () => {
        concat!(
            pad!(),
            significant!(),
            "(?:",
            multiline_char!(),
            "*",
            significant!(),
            ")?",
            pad!()
        )
    };
}

/// A format whose value may also be blank (nothing but whitespace), which parsing reads as
/// absent.
macro_rules! or_blank {
    ($body:expr) => {
        concat!("^(?:", pad!(), "|", $body, ")$")
    };
}

/// One line of text: something significant, no control or bidirectional control character
/// once the surrounding whitespace is trimmed.
pub static LINE: Pattern = Pattern::new(concat!("^", line_body!(), "$"));
pub static LINE_OR_BLANK: Pattern = Pattern::new(or_blank!(line_body!()));

/// Text that may span lines: as `LINE`, with tabs and line breaks inside.
pub static MULTILINE: Pattern = Pattern::new(concat!("^", multiline_body!(), "$"));
pub static MULTILINE_OR_BLANK: Pattern = Pattern::new(or_blank!(multiline_body!()));

macro_rules! atext {
    () => {
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
    };
}

macro_rules! label {
    () => {
        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    };
}

/// An email address: a dot-atom local part, `@`, a domain of at least two labels.
pub static EMAIL: Pattern = Pattern::new(concat!(
    "^",
    pad!(),
    atext!(),
    r"(?:\.",
    atext!(),
    ")*@",
    label!(),
    r"(?:\.",
    label!(),
    ")+",
    pad!(),
    "$"
));

/// A phone number in international format: `+` or `00`, a country code not starting with 0,
/// 8 to 15 digits in all, with spaces, dots, dashes and parentheses anywhere after the prefix.
macro_rules! phone_body {
    () => {
        concat!(
            pad!(),
            r"(?:\+|00)[ .()-]*[1-9](?:[ .()-]*[0-9]){7,14}[ .()-]*",
            pad!()
        )
    };
}
pub static PHONE: Pattern = Pattern::new(concat!("^", phone_body!(), "$"));
pub static PHONE_OR_BLANK: Pattern = Pattern::new(or_blank!(phone_body!()));

/// Two ASCII letters, in either case (ISO 3166-1 alpha-2 or ISO 639-1).
pub static TWO_LETTERS: Pattern = Pattern::new(concat!("^", pad!(), "[A-Za-z]{2}", pad!(), "$"));
pub static TWO_LETTERS_OR_BLANK: Pattern =
    Pattern::new(or_blank!(concat!(pad!(), "[A-Za-z]{2}", pad!())));

/// Lowercase ASCII letters, digits and hyphens, not starting with a hyphen.
pub static SLUG: Pattern =
    Pattern::new(concat!("^", pad!(), "[a-z0-9][a-z0-9-]{0,62}", pad!(), "$"));

/// Segments of ASCII letters, digits, `-` and `_` (1 to 60 each) separated by `/`; slashes
/// around the path are dropped.
pub static SECTOR: Pattern = Pattern::new(concat!(
    "^",
    pad!(),
    "/*[A-Za-z0-9_-]{1,60}(?:/[A-Za-z0-9_-]{1,60})*/*",
    pad!(),
    "$"
));

impl TextFormat {
    /// The same format, where a blank value (read as absent) is accepted too.
    pub fn or_blank(self) -> TextFormat {
        let pattern = match self.pattern.source() {
            s if s == LINE.source() => &LINE_OR_BLANK,
            s if s == MULTILINE.source() => &MULTILINE_OR_BLANK,
            s if s == PHONE.source() => &PHONE_OR_BLANK,
            s if s == TWO_LETTERS.source() => &TWO_LETTERS_OR_BLANK,
            _ => self.pattern,
        };
        TextFormat { pattern, ..self }
    }
}

/// A person's civility, or blank for none.
pub static CIVILITY_OR_BLANK: Pattern = Pattern::new(concat!("^(?:", pad!(), "|mr|mrs|mx)$"));

/// A time of day, `HH:MM` or `HH:MM:SS`, 24-hour clock.
/// A purpose of processing, as consent records and rights requests name it.
pub static PURPOSE: Pattern = Pattern::new("^[a-z][a-z0-9_]{0,62}$");

pub static TIME_OF_DAY: Pattern = Pattern::new("^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$");

/// Every pattern of this module, for the test that compiles them.
pub fn all() -> [&'static Pattern; 13] {
    [
        &CIVILITY_OR_BLANK,
        &LINE,
        &LINE_OR_BLANK,
        &MULTILINE,
        &MULTILINE_OR_BLANK,
        &PHONE_OR_BLANK,
        &TWO_LETTERS_OR_BLANK,
        &EMAIL,
        &PHONE,
        &TWO_LETTERS,
        &SLUG,
        &SECTOR,
        &TIME_OF_DAY,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for p in all() {
            assert!(Regex::new(p.source()).is_ok(), "{}", p.source());
        }
    }

    #[test]
    fn times_of_day() {
        for ok in ["00:00", "09:30", "23:59:59"] {
            assert!(TIME_OF_DAY.is_match(ok), "{ok}");
        }
        for bad in ["9:30", "24:00", "12:60", "23:59:60", " 09:30", "09:30\n"] {
            assert!(!TIME_OF_DAY.is_match(bad), "{bad:?}");
        }
    }
}
