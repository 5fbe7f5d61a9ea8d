//! The closed vocabularies of rdv-domain and the database's check constraints say the same
//! words: a word the code may write is accepted by the database, and a word the database
//! accepts can be read back into a row.

#![allow(clippy::unwrap_used)]

use diesel::prelude::*;
use rdv_db::testing::TestDatabase;
use rdv_domain::{DataSource, EventStatus, LegalBasis, ParticipantType, RegistrationStatus, Role};
use std::collections::BTreeSet;

#[derive(QueryableByName)]
struct Def {
    #[diesel(sql_type = diesel::sql_types::Text)]
    def: String,
}

/// The words a column's `IN (...)` check constraint allows.
fn allowed(conn: &mut PgConnection, table: &str, column: &str) -> BTreeSet<String> {
    let defs: Vec<Def> = diesel::sql_query(
        "SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         WHERE t.relname = $1 AND c.contype = 'c'",
    )
    .bind::<diesel::sql_types::Text, _>(table)
    .load(conn)
    .unwrap();
    let def = defs
        .into_iter()
        .map(|d| d.def)
        // One word is `(c = 'w'::text)`, several `(c = ANY (ARRAY['w'::text, ...]))`.
        .find(|d| d.contains(&format!("({column} = ANY")) || d.contains(&format!("({column} = '")))
        .unwrap_or_else(|| panic!("no vocabulary check on {table}.{column}"));
    def.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn words<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> BTreeSet<String> {
    all.iter().map(|w| as_str(*w).to_owned()).collect()
}

#[test]
fn every_vocabulary_matches_its_check_constraints() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let roles = words(Role::ALL, Role::as_str);
    let types = words(ParticipantType::ALL, ParticipantType::as_str);
    let statuses = words(RegistrationStatus::ALL, RegistrationStatus::as_str);
    let event_statuses = words(EventStatus::ALL, EventStatus::as_str);
    let bases = words(LegalBasis::ALL, LegalBasis::as_str);
    let sources = words(DataSource::ALL, DataSource::as_str);
    assert_eq!(allowed(&mut conn, "memberships", "role"), roles);
    assert_eq!(
        allowed(&mut conn, "registrations", "participant_type"),
        types
    );
    assert_eq!(allowed(&mut conn, "registrations", "status"), statuses);
    assert_eq!(allowed(&mut conn, "events", "status"), event_statuses);
    use rdv_domain::{
        Acceptance, AgendaChange, MeetingStatus, PlanStatus, Priority, RequestStatus,
    };
    assert_eq!(
        allowed(&mut conn, "meeting_requests", "priority"),
        words(Priority::ALL, Priority::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "meeting_requests", "status"),
        words(RequestStatus::ALL, RequestStatus::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "meeting_settings", "acceptance"),
        words(Acceptance::ALL, Acceptance::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "plan_runs", "status"),
        words(PlanStatus::ALL, PlanStatus::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "meetings", "status"),
        words(MeetingStatus::ALL, MeetingStatus::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "agenda_changes", "change"),
        words(AgendaChange::ALL, AgendaChange::as_str)
    );
    use rdv_domain::{ExportKind, ExportStatus};
    assert_eq!(
        allowed(&mut conn, "exports", "kind"),
        words(ExportKind::ALL, ExportKind::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "exports", "status"),
        words(ExportStatus::ALL, ExportStatus::as_str)
    );
    use rdv_domain::{ImportKind, ImportStatus};
    assert_eq!(
        allowed(&mut conn, "imports", "kind"),
        words(ImportKind::ALL, ImportKind::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "imports", "status"),
        words(ImportStatus::ALL, ImportStatus::as_str)
    );
    use rdv_domain::{CampaignStatus, Channel, DeliveryStatus, MessageStatus};
    assert_eq!(
        allowed(&mut conn, "outbox_messages", "channel"),
        words(Channel::ALL, Channel::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "outbox_messages", "status"),
        words(MessageStatus::ALL, MessageStatus::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "outbox_messages", "delivery_status"),
        words(DeliveryStatus::ALL, DeliveryStatus::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "campaigns", "status"),
        words(CampaignStatus::ALL, CampaignStatus::as_str)
    );
    use rdv_domain::{RequestChannel, RightKind, RightsRequestState};
    assert_eq!(
        allowed(&mut conn, "privacy_requests", "kind"),
        words(RightKind::ALL, RightKind::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "privacy_requests", "channel"),
        words(RequestChannel::ALL, RequestChannel::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "privacy_requests", "state"),
        words(RightsRequestState::ALL, RightsRequestState::as_str)
    );
    use rdv_domain::{
        InvoiceKind, OrderStatus, PaymentMethod, PaymentStatus, ProductKind, RefundStatus,
        VatTreatmentKind,
    };
    assert_eq!(
        allowed(&mut conn, "products", "kind"),
        words(ProductKind::ALL, ProductKind::as_str)
    );
    assert_eq!(allowed(&mut conn, "products", "participant_type"), types);
    assert_eq!(
        allowed(&mut conn, "registration_forms", "participant_type"),
        types
    );
    assert_eq!(
        allowed(&mut conn, "orders", "status"),
        words(OrderStatus::ALL, OrderStatus::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "orders", "payment_method"),
        words(PaymentMethod::ALL, PaymentMethod::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "orders", "vat_treatment"),
        words(VatTreatmentKind::ALL, VatTreatmentKind::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "payments", "method"),
        words(PaymentMethod::ALL, PaymentMethod::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "payments", "status"),
        words(PaymentStatus::ALL, PaymentStatus::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "refunds", "status"),
        words(RefundStatus::ALL, RefundStatus::as_str)
    );
    assert_eq!(
        allowed(&mut conn, "invoices", "kind"),
        words(InvoiceKind::ALL, InvoiceKind::as_str)
    );
    for table in [
        "orders",
        "invoices",
        "registration_answers",
        "privacy_requests",
        "outbox_messages",
        "persons",
        "registrations",
        "user_accounts",
        "consent_records",
        "audit_log",
        "meeting_requests",
        "exports",
        "imports",
    ] {
        assert_eq!(allowed(&mut conn, table, "legal_basis"), bases, "{table}");
        assert_eq!(allowed(&mut conn, table, "source"), sources, "{table}");
    }
}

#[test]
fn typed_rows_read_what_the_database_holds() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    rdv_db::seed::seed_demo(&mut conn, "not-a-real-hash").unwrap();
    let regs: Vec<rdv_db::models::Registration> = rdv_db::schema::registrations::table
        .select(rdv_db::models::Registration::as_select())
        .load(&mut conn)
        .unwrap();
    assert!(regs.iter().any(|r| r.status == RegistrationStatus::Pending));
    assert!(regs
        .iter()
        .all(|r| r.privacy.legal_basis == LegalBasis::Contract));
    // A word the code does not know cannot be read silently as something else.
    diesel::sql_query("ALTER TABLE registrations DROP CONSTRAINT registrations_status_check")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("UPDATE registrations SET status = 'maybe' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(regs[0].id.0)
        .execute(&mut conn)
        .unwrap();
    let err = rdv_db::schema::registrations::table
        .find(regs[0].id)
        .select(rdv_db::models::Registration::as_select())
        .first(&mut conn)
        .unwrap_err();
    assert!(err.to_string().contains("status"), "{err}");
}
