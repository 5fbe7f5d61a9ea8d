//! Every table that holds personal data carries the privacy columns. The personal columns are
//! found in the catalog by name, so a new table with an `email` or a `last_name` column cannot
//! slip in without them.

use diesel::prelude::*;
use rdv_db::testing::TestDatabase;

/// Column names that hold personal data wherever they appear.
const PERSONAL_COLUMNS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "mobile_phone",
    "landline_phone",
    "phone",
    "job_title",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "birth_date",
    "client_address",
    "person_id",
    "company_description",
    "person_ids",
    "offers",
    "needs",
];

const PRIVACY_COLUMNS: &[&str] = &[
    "legal_basis",
    "retention_until",
    "restricted_at",
    "erased_at",
    "source",
    "last_verified_at",
];

/// Tables whose personal columns only point at persons for bookkeeping that the privacy
/// columns of the person already govern: a membership or a login is the account's. An
/// organization's address is a company's (the seller on its invoices), not a person's.
const EXEMPT: &[&str] = &["memberships", "organizations", "__diesel_schema_migrations"];

#[derive(QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

#[test]
fn every_table_with_personal_data_has_the_privacy_columns() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .load(&mut conn)
    .unwrap();
    let mut tables: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for c in &columns {
        tables
            .entry(&c.table_name)
            .or_default()
            .push(&c.column_name);
    }
    let mut personal_tables = Vec::new();
    let mut missing = Vec::new();
    for (table, cols) in &tables {
        if EXEMPT.contains(table) || !cols.iter().any(|c| PERSONAL_COLUMNS.contains(c)) {
            continue;
        }
        personal_tables.push(*table);
        for p in PRIVACY_COLUMNS {
            if !cols.contains(p) {
                missing.push(format!("{table}.{p}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tables with personal data lack privacy columns: {missing:?}"
    );
    // Every table with personal data says how a person's rows are found, exported and erased.
    let unregistered: Vec<_> = personal_tables
        .iter()
        .filter(|t| rdv_privacy::registry::table(t).is_none())
        .collect();
    assert!(
        unregistered.is_empty(),
        "tables with personal data missing from rdv_privacy::REGISTRY: {unregistered:?}"
    );
    // The check must have looked at the tables that matter, or it proves nothing.
    for t in [
        "persons",
        "user_accounts",
        "registrations",
        "consent_records",
        "audit_log",
    ] {
        assert!(
            personal_tables.contains(&t),
            "{t} not recognised as personal: {personal_tables:?}"
        );
    }
}

#[test]
fn persons_carry_an_opt_out_per_channel() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_name = 'persons' AND column_name LIKE 'optout_%'",
    )
    .load(&mut conn)
    .unwrap();
    let names: Vec<_> = columns.iter().map(|c| c.column_name.as_str()).collect();
    for channel in [
        "optout_marketing_email_at",
        "optout_sms_at",
        "optout_phone_prospecting_at",
    ] {
        assert!(names.contains(&channel), "missing {channel}");
    }
}

#[test]
fn migrations_revert_and_reapply() {
    use diesel_migrations::MigrationHarness;
    let db = TestDatabase::new();
    let mut conn = db.connect();
    conn.revert_all_migrations(rdv_db::MIGRATIONS).unwrap();
    let left: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .unwrap();
    assert!(
        left.is_empty(),
        "down migrations left tables behind: {left:?}"
    );
    let applied = rdv_db::run_migrations(&mut conn).unwrap();
    assert!(!applied.is_empty());
}

/// Every statement the registry builds is valid SQL over the real schema: planned (not run)
/// by PostgreSQL, so a renamed column fails here rather than in an erasure.
#[test]
fn every_registry_statement_is_valid_on_the_schema() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    for t in rdv_privacy::REGISTRY {
        let mut statements = vec![t.export_sql(), t.count_sql()];
        statements.extend(t.erase_sql());
        for s in statements {
            diesel::sql_query(format!("PREPARE check_stmt(bigint[]) AS {s}"))
                .execute(&mut conn)
                .unwrap_or_else(|e| panic!("{}: {e}\n{s}", t.name));
            diesel::sql_query("DEALLOCATE check_stmt")
                .execute(&mut conn)
                .unwrap();
        }
        for dry_run in [true, false] {
            if let Some(s) = t.expiry_sql(dry_run) {
                let params = if dry_run {
                    "timestamptz"
                } else {
                    "timestamptz, bigint"
                };
                diesel::sql_query(format!("PREPARE check_stmt({params}) AS {s}"))
                    .execute(&mut conn)
                    .unwrap_or_else(|e| panic!("{} expiry: {e}\n{s}", t.name));
                diesel::sql_query("DEALLOCATE check_stmt")
                    .execute(&mut conn)
                    .unwrap();
            }
        }
    }
}
