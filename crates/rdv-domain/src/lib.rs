//! The vocabulary every rdv crate shares: typed ids, values parsed at the edge (emails, phone
//! numbers, slot ranges, bounded text) and the privacy terms stored with personal data.

pub mod format;
pub mod ids;
pub mod privacy;
pub mod slots;
pub mod text;
pub mod vocab;

pub use format::TextFormat;
pub use ids::*;
pub use privacy::{
    DataSource, LegalBasis, OppositionPurpose, RequestChannel, RetentionPolicy, RightKind,
    RightsRequestState,
};
pub use slots::{generate_slots, DayPlan, GeneratedSlot, SlotError, TimeRange};
pub use text::{
    BoundedText, CountryCode, EmailAddress, LanguageCode, MultilineText, PhoneNumber, SectorPath,
    Slug, ValueError,
};
pub use vocab::{
    Acceptance, AgendaChange, CampaignStatus, Channel, DeliveryStatus, EventStatus, ExportKind,
    ExportStatus, ImportKind, ImportStatus, InvoiceKind, MeetingStatus, MessageStatus, OrderStatus,
    ParticipantType, PaymentMethod, PaymentStatus, PlanStatus, Priority, ProductKind, RefundStatus,
    RegistrationStatus, RequestStatus, Role, VatTreatmentKind,
};
