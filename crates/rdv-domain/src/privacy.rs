//! The privacy vocabulary stored with every record that holds personal data, and the
//! retention periods the platform enforces.

use crate::vocab::UnknownWord;
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Why the platform may process a record (GDPR art. 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    Contract,
    LegalObligation,
    LegitimateInterest,
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    Registration,
    Import,
    Prospect,
    Admin,
    System,
}

impl LegalBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegalObligation => "legal_obligation",
            LegalBasis::LegitimateInterest => "legitimate_interest",
        }
    }
}

impl FromStr for LegalBasis {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        Ok(match s {
            "consent" => LegalBasis::Consent,
            "contract" => LegalBasis::Contract,
            "legal_obligation" => LegalBasis::LegalObligation,
            "legitimate_interest" => LegalBasis::LegitimateInterest,
            _ => {
                return Err(UnknownWord {
                    kind: "legal basis",
                    value: s.chars().take(40).collect(),
                    allowed: "consent, contract, legal_obligation, legitimate_interest".into(),
                })
            }
        })
    }
}

impl DataSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DataSource::Registration => "registration",
            DataSource::Import => "import",
            DataSource::Prospect => "prospect",
            DataSource::Admin => "admin",
            DataSource::System => "system",
        }
    }
}

impl FromStr for DataSource {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        Ok(match s {
            "registration" => DataSource::Registration,
            "import" => DataSource::Import,
            "prospect" => DataSource::Prospect,
            "admin" => DataSource::Admin,
            "system" => DataSource::System,
            _ => {
                return Err(UnknownWord {
                    kind: "data source",
                    value: s.chars().take(40).collect(),
                    allowed: "registration, import, prospect, admin, system".into(),
                })
            }
        })
    }
}

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
