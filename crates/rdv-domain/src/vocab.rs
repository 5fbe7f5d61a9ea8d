//! Closed vocabularies stored as text in the database and spoken as snake_case on the wire.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An unknown vocabulary word, naming the vocabulary and the allowed words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`, expected one of: {allowed}")]
pub struct UnknownWord {
    pub kind: &'static str,
    pub value: String,
    pub allowed: String,
}

/// A closed vocabulary: an enum spoken as snake_case words on the wire and stored as text in
/// the database (diesel-aware behind the `diesel` feature, so rows hold the parsed value).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($variant:ident => $word:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "diesel", derive(diesel::AsExpression, diesel::FromSqlRow))]
        #[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        #[cfg(feature = "diesel")]
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let word = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                Ok(word.parse::<$name>()?)
            }
        }

        #[cfg(feature = "diesel")]
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($word),*]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                match s {
                    $($word => Ok($name::$variant),)*
                    _ => Err(UnknownWord {
                        kind: $kind,
                        value: s.chars().take(40).collect(),
                        allowed: [$($word),*].join(", "),
                    }),
                }
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary!(
    /// What an account may do, and where.
    Role, "role" {
        PlatformAdmin => "platform_admin",
        OrgAdmin => "org_admin",
        OrgStaff => "org_staff",
        Participant => "participant",
    }
);

vocabulary!(
    EventStatus, "event status" {
        Draft => "draft",
        Open => "open",
        Closed => "closed",
        Archived => "archived",
    }
);

vocabulary!(
    ParticipantType, "participant type" {
        Buyer => "buyer",
        Supplier => "supplier",
        Visitor => "visitor",
        Exhibitor => "exhibitor",
        Speaker => "speaker",
    }
);

vocabulary!(
    RegistrationStatus, "registration status" {
        Pending => "pending",
        Validated => "validated",
        Refused => "refused",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// How much a participant wants a meeting; the planner weighs it.
    Priority, "priority" {
        Must => "must",
        Should => "should",
        Could => "could",
    }
);

impl Priority {
    /// The planner's weight: a `must` outweighs three `should`s, a `should` three `could`s.
    pub fn weight(self) -> u32 {
        match self {
            Priority::Must => 9,
            Priority::Should => 3,
            Priority::Could => 1,
        }
    }
}

vocabulary!(
    /// Where a meeting request stands.
    RequestStatus, "request status" {
        Pending => "pending",
        Accepted => "accepted",
        Declined => "declined",
        Cancelled => "cancelled",
    }
);

impl RequestStatus {
    /// Pending and accepted requests hold their pair: no second request between the two.
    pub fn is_live(self) -> bool {
        matches!(self, RequestStatus::Pending | RequestStatus::Accepted)
    }
}

vocabulary!(
    /// How a request becomes a meeting: the recipient accepts it, the organizer validates it,
    /// or it is accepted as soon as it is made.
    Acceptance, "acceptance" {
        Mutual => "mutual",
        Organizer => "organizer",
        Direct => "direct",
    }
);

vocabulary!(
    /// Where a planning run stands.
    PlanStatus, "plan status" {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl PlanStatus {
    pub fn is_live(self) -> bool {
        matches!(self, PlanStatus::Queued | PlanStatus::Running)
    }
}

vocabulary!(
    /// How a message reaches a person.
    Channel, "channel" {
        Email => "email",
        Sms => "sms",
    }
);

vocabulary!(
    /// Where a message of the outbox stands.
    MessageStatus, "message status" {
        Queued => "queued",
        Sent => "sent",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// What the network reported after the SMS gateway took a message (Kannel's delivery
    /// report types 1, 2, 4, 8 and 16).
    DeliveryStatus, "delivery status" {
        Delivered => "delivered",
        Undelivered => "undelivered",
        QueuedAtSmsc => "queued_at_smsc",
        AcceptedBySmsc => "accepted_by_smsc",
        RejectedBySmsc => "rejected_by_smsc",
    }
);

vocabulary!(
    /// Where a campaign stands: written, scheduled (its messages queued, due from its send
    /// time), or cancelled (those not sent yet were cancelled).
    CampaignStatus, "campaign status" {
        Draft => "draft",
        Scheduled => "scheduled",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// What an export builds.
    ExportKind, "export kind" {
        AgendasPdf => "agendas_pdf",
        Participants => "participants",
        MeetingRequests => "meeting_requests",
        Meetings => "meetings",
        Tables => "tables",
        Orders => "orders",
        Invoices => "invoices",
        Audit => "audit",
    }
);

vocabulary!(
    /// What an import brings in.
    ImportKind, "import kind" {
        Persons => "persons",
        Prospects => "prospects",
        MeetingRequests => "meeting_requests",
        Tables => "tables",
    }
);

vocabulary!(
    /// Where an import stands: uploaded, its dry run running or done, its real run running,
    /// done or failed.
    ImportStatus, "import status" {
        Uploaded => "uploaded",
        Checking => "checking",
        Checked => "checked",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
);

vocabulary!(
    /// Where an export stands.
    ExportStatus, "export status" {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
);

vocabulary!(
    /// A published meeting: scheduled, or cancelled by a later version of the agenda.
    MeetingStatus, "meeting status" {
        Scheduled => "scheduled",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// What a version of the agenda did to a meeting.
    AgendaChange, "agenda change" {
        Added => "added",
        Moved => "moved",
        Cancelled => "cancelled",
    }
);

impl Role {
    /// Organizer roles see and manage their organization's data.
    pub fn is_organizer(self) -> bool {
        matches!(self, Role::OrgAdmin | Role::OrgStaff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_name_the_choices() {
        for r in RegistrationStatus::ALL {
            assert_eq!(r.as_str().parse::<RegistrationStatus>(), Ok(*r));
        }
        let err = "maybe".parse::<RegistrationStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown registration status `maybe`, expected one of: pending, validated, refused, cancelled"
        );
        assert_eq!(
            serde_json::to_string(&Role::OrgAdmin).unwrap(),
            "\"org_admin\""
        );
    }
}

vocabulary!(
    /// What the shop sells: a package (the participation of a participant type, with its
    /// meeting quota) or an option (extra meetings, a lunch, a stand).
    ProductKind, "product kind" {
        Package => "package",
        Option => "option",
    }
);

vocabulary!(
    /// Where an order stands: awaiting payment (its units held until `hold_until`), paid,
    /// cancelled (by the buyer, the organizer, or its hold expiring), or refunded in part or
    /// in whole.
    OrderStatus, "order status" {
        PendingPayment => "pending_payment",
        Paid => "paid",
        Cancelled => "cancelled",
        Refunded => "refunded",
        PartiallyRefunded => "partially_refunded",
    }
);

vocabulary!(
    /// How an order is paid: by card through the provider's hosted page, by bank transfer
    /// (the organizer records it), or on site.
    PaymentMethod, "payment method" {
        Card => "card",
        BankTransfer => "bank_transfer",
        OnSite => "on_site",
    }
);

vocabulary!(
    /// Where a payment stands.
    PaymentStatus, "payment status" {
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// Where a refund stands.
    RefundStatus, "refund status" {
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

vocabulary!(
    /// An invoice, or a credit note correcting one.
    InvoiceKind, "invoice kind" {
        Invoice => "invoice",
        CreditNote => "credit_note",
    }
);

vocabulary!(
    /// How VAT applies to an order: French VAT, or reverse charge for an EU business buyer.
    VatTreatmentKind, "VAT treatment" {
        Standard => "standard",
        ReverseCharge => "reverse_charge",
    }
);
