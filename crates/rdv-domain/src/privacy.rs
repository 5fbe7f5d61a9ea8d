//! The privacy vocabulary stored with every record that holds personal data, and the
//! retention periods the platform enforces.

use crate::vocab::{vocabulary, UnknownWord};
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

vocabulary!(
    /// Why the platform may process a record (GDPR art. 6).
    LegalBasis, "legal basis" {
        Consent => "consent",
        Contract => "contract",
        LegalObligation => "legal_obligation",
        LegitimateInterest => "legitimate_interest",
    }
);

vocabulary!(
    /// Where a record came from.
    DataSource, "data source" {
        Registration => "registration",
        Import => "import",
        Prospect => "prospect",
        Admin => "admin",
        System => "system",
    }
);

/// The retention periods: event data 36 months, contractual proof 5 years, accounting 10 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionPolicy {
    EventData,
    ContractualProof,
    Accounting,
}

impl RetentionPolicy {
    pub fn months(self) -> u32 {
        match self {
            RetentionPolicy::EventData => 36,
            RetentionPolicy::ContractualProof => 60,
            RetentionPolicy::Accounting => 120,
        }
    }

    /// The deadline for a record whose retention clock starts at `from`.
    pub fn deadline(self, from: DateTime<Utc>) -> DateTime<Utc> {
        from.checked_add_months(Months::new(self.months()))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn event_data_is_kept_36_months() {
        let from = Utc.with_ymd_and_hms(2026, 3, 31, 10, 0, 0).unwrap();
        let until = RetentionPolicy::EventData.deadline(from);
        assert_eq!(until, Utc.with_ymd_and_hms(2029, 3, 31, 10, 0, 0).unwrap());
        assert!(
            RetentionPolicy::Accounting.deadline(from)
                > RetentionPolicy::ContractualProof.deadline(from)
        );
    }

    #[test]
    fn vocabulary_matches_database_checks() {
        for b in [
            LegalBasis::Consent,
            LegalBasis::Contract,
            LegalBasis::LegalObligation,
            LegalBasis::LegitimateInterest,
        ] {
            assert_eq!(b.as_str().parse::<LegalBasis>(), Ok(b));
        }
        assert!("whim".parse::<DataSource>().is_err());
    }
}
