#![allow(clippy::unwrap_used)]

use diesel::prelude::*;
use rdv_db::schema::{meeting_slots, meeting_tables, persons, registrations};
use rdv_db::seed::{seed_demo, BUYERS, SUPPLIERS, TABLES};
use rdv_db::testing::TestDatabase;

fn counts(conn: &mut rdv_db::Conn) -> (i64, i64, i64, i64) {
    (
        persons::table.count().get_result(conn).unwrap(),
        registrations::table.count().get_result(conn).unwrap(),
        meeting_slots::table.count().get_result(conn).unwrap(),
        meeting_tables::table.count().get_result(conn).unwrap(),
    )
}

#[test]
fn demo_seed_is_complete_and_idempotent() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let first = seed_demo(&mut conn, "$argon2id$test").unwrap();
    assert_eq!(first.persons_created, BUYERS + SUPPLIERS);
    assert_eq!(first.registrations_created, BUYERS + SUPPLIERS);
    // Two days of 09:00-12:30 and 14:00-18:00 in 20-minute slots.
    assert_eq!(first.slots, 44);
    let before = counts(&mut conn);
    assert_eq!(
        before,
        (
            (BUYERS + SUPPLIERS) as i64,
            (BUYERS + SUPPLIERS) as i64,
            44,
            TABLES as i64
        )
    );

    let second = seed_demo(&mut conn, "$argon2id$test").unwrap();
    assert_eq!(
        (second.persons_created, second.registrations_created),
        (0, 0)
    );
    assert_eq!(counts(&mut conn), before);

    let suppliers_with_offers: i64 = registrations::table
        .filter(registrations::participant_type.eq("supplier"))
        .filter(registrations::offers.is_not_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(suppliers_with_offers, SUPPLIERS as i64);
}

#[test]
fn registrations_feed_the_search_outbox_in_the_same_transaction() {
    use rdv_db::schema::search_outbox;
    let db = TestDatabase::new();
    let mut conn = db.connect();
    seed_demo(&mut conn, "$argon2id$test").unwrap();
    let queued: i64 = search_outbox::table.count().get_result(&mut conn).unwrap();
    assert_eq!(queued, (BUYERS + SUPPLIERS) as i64);
    diesel::update(persons::table.filter(persons::email.eq("buyer1@demo.example")))
        .set(persons::company.eq("Renamed SAS"))
        .execute(&mut conn)
        .unwrap();
    let after: i64 = search_outbox::table.count().get_result(&mut conn).unwrap();
    assert_eq!(after, queued + 1);
}
