//! Field checks that collect every problem of an input, so one answer names every bad field.

use crate::error::AppError;
use rdv_domain::{
    BoundedText, CountryCode, EmailAddress, LanguageCode, MultilineText, PhoneNumber, TextFormat,
    ValueError,
};
use std::collections::BTreeMap;
use std::fmt;

/// Collects field errors so that one response names every bad field at once.
#[derive(Default, Debug)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.insert(field.to_owned(), e.to_string());
                None
            }
        }
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.insert(field.to_owned(), message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each bad field and what is wrong with it.
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(AppError::Invalid {
            message: "the request has invalid fields".into(),
            fields: self.0,
        })
    }
}

/// Field parsers that record what is wrong under the field's name.
#[derive(Default, Debug)]
pub struct Check(pub FieldErrors);

impl Check {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `r`'s error, if any, under `field`.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        self.0.check(field, r)
    }

    /// Whether `field` has an error already.
    pub fn has(&self, field: &str) -> bool {
        self.0 .0.contains_key(field)
    }

    pub fn text<const MAX: usize>(&mut self, field: &str, v: &str) -> Option<String> {
        self.0
            .check(field, BoundedText::<MAX>::parse(v))
            .map(BoundedText::into_inner)
    }

    /// Optional text: `None` stays `None`, blank text becomes `None`.
    pub fn opt_text<const MAX: usize>(&mut self, field: &str, v: Option<&str>) -> Option<String> {
        match v {
            Some(s) if !s.trim().is_empty() => self.text::<MAX>(field, s),
            Some(s) => self.blank(field, s, BoundedText::<MAX>::format()),
            None => None,
        }
    }

    /// A blank value reads as absent, provided it fits the field's length.
    fn blank(&mut self, field: &str, v: &str, format: TextFormat) -> Option<String> {
        if !format.or_blank().accepts(v) {
            self.0.check(
                field,
                Err::<(), _>(ValueError::TooLong {
                    max: format.max_chars,
                    len: v.chars().count(),
                }),
            );
        }
        None
    }

    /// Text that may span lines, such as a description.
    pub fn multiline<const MAX: usize>(&mut self, field: &str, v: &str) -> Option<String> {
        self.0
            .check(field, MultilineText::<MAX>::parse(v))
            .map(MultilineText::into_inner)
    }

    /// Optional multi-line text: `None` stays `None`, blank text becomes `None`.
    pub fn opt_multiline<const MAX: usize>(
        &mut self,
        field: &str,
        v: Option<&str>,
    ) -> Option<String> {
        match v {
            Some(s) if !s.trim().is_empty() => self.multiline::<MAX>(field, s),
            Some(s) => self.blank(field, s, MultilineText::<MAX>::format()),
            None => None,
        }
    }

    pub fn email(&mut self, field: &str, v: &str) -> Option<String> {
        self.0
            .check(field, EmailAddress::parse(v))
            .map(|e| e.as_str().to_owned())
    }

    pub fn phone(&mut self, field: &str, v: Option<&str>) -> Option<String> {
        match v {
            Some(s) if !s.trim().is_empty() => self
                .0
                .check(field, PhoneNumber::parse(s))
                .map(|p| p.as_str().to_owned()),
            Some(s) => self.blank(field, s, PhoneNumber::FORMAT),
            None => None,
        }
    }

    pub fn country(&mut self, field: &str, v: Option<&str>) -> Option<String> {
        match v {
            Some(s) if !s.trim().is_empty() => self
                .0
                .check(field, CountryCode::parse(s))
                .map(|c| c.as_str().to_owned()),
            Some(s) => self.blank(field, s, CountryCode::FORMAT),
            None => None,
        }
    }

    pub fn language(&mut self, field: &str, v: &str) -> Option<String> {
        self.0
            .check(field, LanguageCode::parse(v))
            .map(|c| c.as_str().to_owned())
    }

    pub fn word<T: std::str::FromStr>(&mut self, field: &str, v: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        self.0.check(field, v.parse::<T>())
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.add(field, message);
    }

    pub fn finish(self) -> Result<(), AppError> {
        self.0.finish()
    }
}
