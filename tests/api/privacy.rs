//! Reads and changes of personal data by staff are audited; records carry their privacy state.

use crate::common::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[actix_web::test]
async fn every_staff_read_and_change_of_a_person_is_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, list) = app.get("/api/persons?q=buyer1@demo.example", &admin).await;
    assert_eq!(list["total"], 1, "{list}");
    let id = list["items"][0]["id"].as_i64().unwrap();

    let (status, person) = app.get(&format!("/api/persons/{id}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(person["privacy"]["legal_basis"], "contract");
    assert_eq!(person["privacy"]["source"], "registration");
    assert!(person["privacy"]["retention_until"].is_string());

    let (status, _) = app
        .patch(
            &format!("/api/persons/{id}"),
            &admin,
            json!({"job_title": "Head buyer", "optout_marketing_email": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, audit) = app.get(&format!("/api/audit?person_id={id}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["person.update", "person.read", "person.list"],
        "{audit}"
    );
    let update = &audit["items"][0];
    assert_eq!(
        update["field_names"],
        json!(["job_title", "optout_marketing_email_at"])
    );
    assert_eq!(update["client_address"], "127.0.0.1");
    assert!(update["actor_user_id"].as_i64().is_some());
    let read = &audit["items"][1];
    assert!(read["field_names"]
        .as_array()
        .unwrap()
        .contains(&json!("email")));

    // Staff other than admins cannot read the audit log; participants' self-reads are not staff reads.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, _) = app.get(&format!("/api/audit?person_id={id}"), &buyer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn registration_lists_are_audited_as_bulk_reads_and_validation_works() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let (status, page) = app
        .get(
            &format!("/api/events/{event}/registrations?status=pending&per_page=100"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // The demo holds a few pending registrations among 300.
    let pending = page["total"].as_i64().unwrap();
    assert!(pending > 0 && pending < 300, "{pending}");
    let reg = &page["items"][0];
    let (rid, pid) = (
        reg["id"].as_i64().unwrap(),
        reg["person"]["id"].as_i64().unwrap(),
    );

    let (status, validated) = app
        .post(
            &format!("/api/registrations/{rid}/validate"),
            &admin,
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{validated}");
    assert_eq!(validated["status"], "validated");
    let (status, refused) = app
        .post(
            &format!("/api/registrations/{rid}/refuse"),
            &admin,
            json!({"reason": "outside the target sectors"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refused["status"], "refused");
    assert_eq!(refused["status_reason"], "outside the target sectors");

    let (_, after) = app
        .get(
            &format!("/api/events/{event}/registrations?status=pending&per_page=100"),
            &admin,
        )
        .await;
    assert_eq!(after["total"].as_i64().unwrap(), pending - 1);

    let (_, audit) = app
        .get(&format!("/api/audit?person_id={pid}"), &admin)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    // The second list shows pending registrations only, which this one no longer is.
    assert_eq!(
        actions,
        [
            "registration.refuse",
            "registration.validate",
            "registration.list"
        ]
    );
}
