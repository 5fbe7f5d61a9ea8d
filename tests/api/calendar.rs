//! Events, days and slot generation, tables.

use crate::common::{assert_error, TestApp};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[actix_web::test]
async fn a_day_generates_slots_in_the_event_time_zone() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (status, event) = app
        .post("/api/events", &admin, json!({"slug": "salon-2027", "name": "Salon 2027", "time_zone": "Europe/Paris", "venue": "Lyon", "starts_on": "2027-06-01", "ends_on": "2027-06-02"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{event}");
    assert_eq!(event["status"], "draft");
    let id = event["id"].as_i64().unwrap();
    let day = json!({"date": "2027-06-01", "starts_at": "09:00", "ends_at": "18:00", "slot_minutes": 20, "breaks": [{"starts_at": "12:30", "ends_at": "14:00"}]});
    let (status, created) = app
        .post(&format!("/api/events/{id}/days"), &admin, day.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slots = created["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 22);
    assert_eq!(slots[0]["local_start"], "09:00");
    // Paris is UTC+2 in June.
    assert_eq!(slots[0]["starts_at"], "2027-06-01T07:00:00Z");
    assert_eq!(slots[10]["local_start"], "14:00");
    assert_eq!(slots[9]["session_label"], "morning");
    assert_eq!(slots[10]["session_label"], "afternoon");

    let (status, body) = app
        .post(&format!("/api/events/{id}/days"), &admin, day)
        .await;
    assert_error(status, &body, 409, "conflict");

    let (status, tables) = app
        .request(
            Method::PUT,
            &format!("/api/events/{id}/tables"),
            Some(&admin),
            Some(json!({"count": 12})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tables.as_array().unwrap().len(), 12);
    let (_, days) = app.get(&format!("/api/events/{id}/days"), &admin).await;
    assert_eq!(days[0]["slots"].as_array().unwrap().len(), 22);

    let (status, patched) = app
        .patch(
            &format!("/api/events/{id}"),
            &admin,
            json!({"status": "open", "venue": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["status"], "open");
    assert!(patched["venue"].is_null());
}

#[actix_web::test]
async fn bad_calendars_are_refused_whole() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, event) = app
        .post("/api/events", &admin, json!({"slug": "x-2027", "name": "X", "time_zone": "Europe/Paris", "starts_on": "2027-06-01", "ends_on": "2027-06-01"}))
        .await;
    let id = event["id"].as_i64().unwrap();
    // Invalid bodies: 422 naming the field.
    let cases = [
        (
            json!({"date": "2027-06-01", "starts_at": "18:00", "ends_at": "09:00", "slot_minutes": 20}),
            "ends_at",
        ),
        (
            json!({"date": "2027-06-01", "starts_at": "09:00", "ends_at": "12:00", "slot_minutes": 20, "breaks": [{"starts_at": "11:00", "ends_at": "10:00"}]}),
            "breaks[0].ends_at",
        ),
        (
            json!({"date": "2027-06-01", "starts_at": "9h", "ends_at": "12:00", "slot_minutes": 20}),
            "starts_at",
        ),
        (
            json!({"date": "2027-06-01", "starts_at": "09:00", "ends_at": "12:00", "slot_minutes": 0}),
            "slot_minutes",
        ),
    ];
    for (body, field) in cases {
        let (status, resp) = app
            .post(&format!("/api/events/{id}/days"), &admin, body.clone())
            .await;
        let fields = assert_error(status, &resp, 422, "validation_failed");
        assert!(
            fields.get(field).is_some(),
            "{body}: expected {field} in {resp}"
        );
    }
    // Well-formed days that do not fit the event as it stands: 409 naming the date.
    for body in [
        json!({"date": "2027-07-01", "starts_at": "09:00", "ends_at": "12:00", "slot_minutes": 20}),
        json!({"date": "2027-06-01", "starts_at": "09:00", "ends_at": "12:00", "slot_minutes": 20, "breaks": [{"starts_at": "11:30", "ends_at": "13:00"}]}),
    ] {
        let (status, resp) = app
            .post(&format!("/api/events/{id}/days"), &admin, body.clone())
            .await;
        let fields = assert_error(status, &resp, 409, "conflict");
        assert!(fields.get("date").is_some(), "{body}: {resp}");
    }
    let days: i64 = rdv_db::schema::event_days::table
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    let slots: i64 = rdv_db::schema::meeting_slots::table
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    // Only the demo event's two days and 44 slots exist.
    assert_eq!((days, slots), (2, 44));

    let (status, resp) = app
        .post("/api/events", &admin, json!({"slug": "Bad Slug", "name": "", "time_zone": "Mars/Olympus", "starts_on": "2027-06-02", "ends_on": "2027-06-01"}))
        .await;
    let fields = assert_error(status, &resp, 422, "validation_failed");
    for f in ["slug", "name", "time_zone", "ends_on"] {
        assert!(fields.get(f).is_some(), "{f}: {resp}");
    }
    let (status, resp) = app.post("/api/events", &admin, json!({"slug": "d", "name": "D", "time_zone": "UTC", "starts_on": "June 1st", "ends_on": "2027-06-01"})).await;
    let fields = assert_error(status, &resp, 422, "validation_failed");
    assert!(fields.get("starts_on").is_some());
}
