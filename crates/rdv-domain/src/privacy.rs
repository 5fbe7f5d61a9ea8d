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

vocabulary!(
    /// A right a data subject exercises (GDPR art. 15 to 21, and 7(3) for consent).
    RightKind, "right" {
        Access => "access",
        Rectification => "rectification",
        Erasure => "erasure",
        Restriction => "restriction",
        Portability => "portability",
        Opposition => "opposition",
        ConsentWithdrawal => "consent_withdrawal",
    }
);

impl RightKind {
    /// Days the organization has to answer: 10 for erasure (the platform's promise), a month
    /// (counted as 30 days) for the rest (GDPR art. 12(3)).
    pub fn due_days(self) -> i64 {
        match self {
            RightKind::Erasure => 10,
            _ => 30,
        }
    }

    /// Opposition and consent withdrawal are about one purpose, which the request names.
    pub fn needs_purpose(self) -> bool {
        matches!(self, RightKind::Opposition | RightKind::ConsentWithdrawal)
    }
}

vocabulary!(
    /// How a rights request reached the organization.
    RequestChannel, "request channel" {
        SelfService => "self_service",
        Post => "post",
        Email => "email",
        Phone => "phone",
        InPerson => "in_person",
    }
);

vocabulary!(
    /// Where a rights request stands.
    RightsRequestState, "rights request state" {
        Received => "received",
        InProgress => "in_progress",
        Done => "done",
        Rejected => "rejected",
    }
);

impl RightsRequestState {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RightsRequestState::Received | RightsRequestState::InProgress
        )
    }
}

vocabulary!(
    /// A processing the person may oppose: prospecting by email, SMS or phone.
    OppositionPurpose, "opposition purpose" {
        MarketingEmail => "marketing_email",
        Sms => "sms",
        PhoneProspecting => "phone_prospecting",
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
