//! The business rules of the application layer as a user meets them: restriction and erasure,
//! what staff may not do, audit of self-service and of organizer accounts, a person's email
//! following to their login, opt-out dates, and text that cannot disguise itself.

use crate::common::{assert_error, TestApp};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An `org_staff` account of the demo organization, and its token.
pub(crate) async fn staff(app: &TestApp) -> String {
    let admin = app.admin().await;
    let (_, me) = app.get("/api/me", &admin).await;
    let root = app.login("root@demo.example", "demo").await;
    let (status, body) = app
        .post(
            &format!("/api/organizations/{}/members", me["organization_id"]),
            &root,
            json!({"email": "staff@demo.example", "password": "staff password", "role": "org_staff"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.login("staff@demo.example", "staff password").await
}

fn set_now(app: &TestApp, table: &str, column: &str, id: i64) {
    let sql = format!("UPDATE {table} SET {column} = now() WHERE id = $1");
    let n = diesel::sql_query(sql)
        .bind::<BigInt, _>(id)
        .execute(&mut app.conn())
        .unwrap();
    assert_eq!(n, 1);
}

fn audit_count(app: &TestApp, action: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM audit_log WHERE action = $1")
        .bind::<Text, _>(action)
        .get_result::<Count>(&mut app.conn())
        .unwrap()
        .n
}

/// Two registrations of the demo event: `(registration id, person id, email)`.
async fn two_registrations(app: &TestApp, admin: &str) -> [(i64, i64, String); 2] {
    let event = app.demo_event(admin).await;
    let (_, page) = app
        .get(
            &format!("/api/events/{event}/registrations?per_page=2"),
            admin,
        )
        .await;
    let one = |r: &Value| {
        (
            r["id"].as_i64().unwrap(),
            r["person"]["id"].as_i64().unwrap(),
            r["person"]["email"].as_str().unwrap().to_owned(),
        )
    };
    [one(&page["items"][0]), one(&page["items"][1])]
}

async fn total(app: &TestApp, path: &str, token: &str) -> i64 {
    let (status, page) = app.get(path, token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["total"].as_i64().unwrap()
}

#[actix_web::test]
async fn restricted_records_are_hidden_from_staff_and_frozen_and_erased_ones_vanish() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let staff = staff(&app).await;
    let event = app.demo_event(&admin).await;
    let [(r1, p1, email1), (r2, p2, email2)] = two_registrations(&app, &admin).await;
    set_now(&app, "persons", "restricted_at", p1);
    set_now(&app, "persons", "erased_at", p2);

    // Staff see neither the restricted person nor their registration, in lists or reads.
    let regs = |email: &str| format!("/api/events/{event}/registrations?q={email}");
    let persons = |email: &str| format!("/api/persons?q={email}");
    assert_eq!(total(&app, &regs(&email1), &staff).await, 0);
    assert_eq!(total(&app, &persons(&email1), &staff).await, 0);
    for path in [
        format!("/api/registrations/{r1}"),
        format!("/api/persons/{p1}"),
    ] {
        let (status, body) = app.get(&path, &staff).await;
        assert_error(status, &body, 404, "not_found");
    }

    // The admin handling the restriction sees them, read-only.
    assert_eq!(total(&app, &regs(&email1), &admin).await, 1);
    assert_eq!(total(&app, &persons(&email1), &admin).await, 1);
    let (status, reg) = app.get(&format!("/api/registrations/{r1}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{reg}");
    let (status, body) = app
        .patch(
            &format!("/api/registrations/{r1}"),
            &admin,
            json!({"stand": "B12"}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    assert!(
        body["message"].as_str().unwrap().contains("restricted"),
        "{body}"
    );
    let (status, body) = app
        .post(
            &format!("/api/registrations/{r1}/validate"),
            &admin,
            json!(null),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    let (status, body) = app
        .patch(
            &format!("/api/persons/{p1}"),
            &admin,
            json!({"city": "Lyon"}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");

    // The erased person's registration is gone for everyone.
    assert_eq!(total(&app, &regs(&email2), &admin).await, 0);
    let (status, body) = app.get(&format!("/api/registrations/{r2}"), &admin).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = app
        .post(
            &format!("/api/registrations/{r2}/validate"),
            &admin,
            json!(null),
        )
        .await;
    assert_error(status, &body, 404, "not_found");
}

#[actix_web::test]
async fn staff_handle_registrations_but_not_event_settings_or_the_audit_log() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let staff = staff(&app).await;
    let event = app.demo_event(&admin).await;
    let [(r1, p1, _), _] = two_registrations(&app, &admin).await;

    let (status, _) = app.get(&format!("/api/registrations/{r1}"), &staff).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .patch(
            &format!("/api/registrations/{r1}"),
            &staff,
            json!({"stand": "B12"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = app
        .post("/api/events", &staff, json!({"slug": "staff-fair", "name": "Staff fair", "time_zone": "Europe/Paris", "starts_on": "2027-05-04", "ends_on": "2027-05-04"}))
        .await;
    assert_error(status, &body, 403, "forbidden");
    let (status, body) = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/events/{event}/tables"),
            Some(&staff),
            Some(json!({"count": 3})),
        )
        .await;
    assert_error(status, &body, 403, "forbidden");
    let (status, body) = app.get(&format!("/api/audit?person_id={p1}"), &staff).await;
    assert_error(status, &body, 403, "forbidden");
}

#[actix_web::test]
async fn self_service_changes_and_new_organizer_accounts_are_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (_, me) = app.get("/api/me", &buyer).await;
    let person = me["person"]["id"].as_i64().unwrap();
    let (status, _) = app
        .patch("/api/me", &buyer, json!({"job_title": "Chief buyer"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, audit) = app
        .get(&format!("/api/audit?person_id={person}"), &admin)
        .await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "person.update", "{audit}");
    assert!(entry["field_names"]
        .as_array()
        .unwrap()
        .contains(&json!("job_title")));

    assert_eq!(audit_count(&app, "membership.create"), 0);
    staff(&app).await;
    assert_eq!(audit_count(&app, "membership.create"), 1);
}

#[actix_web::test]
async fn a_persons_new_email_becomes_their_login_unless_another_account_has_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (_, me) = app.get("/api/me", &buyer).await;
    let person = me["person"]["id"].as_i64().unwrap();

    let (status, body) = app
        .patch(
            &format!("/api/persons/{person}"),
            &admin,
            json!({"email": "new.buyer1@demo.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.login_full("buyer1@demo.example", "demo").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = app.login("new.buyer1@demo.example", "demo").await;
    let (_, me) = app.get("/api/me", &token).await;
    assert_eq!(me["email"], "new.buyer1@demo.example");

    // Another account holds this email: nothing changes, and the answer names the field.
    let (status, body) = app
        .patch(
            &format!("/api/persons/{person}"),
            &admin,
            json!({"email": "admin@demo.example"}),
        )
        .await;
    let fields = assert_error(status, &body, 409, "conflict");
    assert!(fields.get("email").is_some(), "{body}");
    let (_, p) = app.get(&format!("/api/persons/{person}"), &admin).await;
    assert_eq!(p["email"], "new.buyer1@demo.example");
}

#[actix_web::test]
async fn an_opt_out_set_again_keeps_the_date_of_the_objection() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, first) = app
        .patch("/api/me", &buyer, json!({"optout_sms": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let objected = first["opt_outs"]["sms_at"].clone();
    assert!(objected.is_string());
    let (_, again) = app
        .patch("/api/me", &buyer, json!({"optout_sms": true}))
        .await;
    assert_eq!(again["opt_outs"]["sms_at"], objected);
    let (status, by_staff) = app
        .patch(
            &format!("/api/persons/{}", first["id"]),
            &admin,
            json!({"optout_sms": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_staff}");
    assert_eq!(by_staff["opt_outs"]["sms_at"], objected);
}

#[actix_web::test]
async fn names_cannot_hide_control_or_bidi_override_characters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (field, value) in [
        ("first_name", "Eve\u{202E}fdp.exe"),
        ("last_name", "Mallory\u{2066}"),
        ("last_name", "Two\nLines"),
        ("company", "ACME\u{7}"),
    ] {
        let mut body = json!({"first_name": "Eve", "last_name": "Doe", "email": "eve@example.com"});
        body[field] = json!(value);
        let (status, resp) = app.post("/api/persons", &admin, body).await;
        let fields = assert_error(status, &resp, 422, "validation_failed");
        assert!(fields.get(field).is_some(), "{field}: {resp}");
    }
}

#[actix_web::test]
async fn a_password_for_an_existing_account_is_refused_not_ignored() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, me) = app.get("/api/me", &admin).await;
    let root = app.login("root@demo.example", "demo").await;
    let members = format!("/api/organizations/{}/members", me["organization_id"]);

    let (status, body) = app
        .post(&members, &root, json!({"email": "admin@demo.example", "password": "a new password", "role": "org_staff"}))
        .await;
    let fields = assert_error(status, &body, 409, "conflict");
    assert!(fields.get("password").is_some(), "{body}");
    let (status, body) = app
        .post(
            &members,
            &root,
            json!({"email": "admin@demo.example", "role": "org_staff"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The account's password is still its owner's.
    app.login("admin@demo.example", "demo").await;

    let (status, body) = app
        .post(
            &members,
            &root,
            json!({"email": "new@demo.example", "role": "org_staff"}),
        )
        .await;
    // Well-formed, but no account has this email: the new one needs a password.
    let fields = assert_error(status, &body, 409, "conflict");
    assert!(fields.get("password").is_some(), "{body}");
}

#[actix_web::test]
async fn registrations_store_only_sectors_the_search_can_filter_on() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let (_, person) = app
        .post(
            "/api/persons",
            &admin,
            json!({"first_name": "Éloïse", "last_name": "Roux", "email": "eloise@example.com"}),
        )
        .await;
    let register = |sectors: Value| json!({"person_id": person["id"], "participant_type": "buyer", "sectors": sectors});
    let path = format!("/api/events/{event}/registrations");
    let (status, body) = app
        .post(&path, &admin, register(json!(["industry", "énergie"])))
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields.get("sectors[1]").is_some(), "{body}");
    let (status, reg) = app
        .post(&path, &admin, register(json!(["Energy/Solar"])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    assert_eq!(reg["sectors"], json!(["energy/solar"]));
}
