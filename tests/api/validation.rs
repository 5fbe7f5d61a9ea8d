//! Bad input gets a 4xx naming what is wrong, never a 500, and nothing half-written.

use crate::common::{assert_error, TestApp};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn person_count(app: &TestApp) -> i64 {
    rdv_db::schema::persons::table
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

#[actix_web::test]
async fn malformed_bodies_name_the_problem() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let before = person_count(&app);

    let raw = app
        .client
        .post(format!("{}/api/persons", app.base))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"first_name\": \"Ana\",")
        .send()
        .await
        .unwrap();
    let status = raw.status();
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_error(status, &body, 400, "invalid_json");

    let (status, body) = app
        .post(
            "/api/persons",
            &admin,
            json!({"first_name": 12, "last_name": "X", "email": "a@b.example"}),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(
        fields["first_name"]
            .as_str()
            .unwrap()
            .contains("invalid type"),
        "{fields}"
    );

    let (status, body) = app
        .post(
            "/api/persons",
            &admin,
            json!({"first_name": "A", "last_name": "X", "email": "a@b.example", "shoe_size": 42}),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(
        fields["shoe_size"]
            .as_str()
            .unwrap()
            .contains("unknown field"),
        "{fields}"
    );

    let (status, body) = app
        .post("/api/persons", &admin, json!({"first_name": "A".repeat(101), "last_name": "X", "email": "not-an-email", "mobile_phone": "06 12 34 56 78", "country": "France"}))
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    for f in ["first_name", "email", "mobile_phone", "country"] {
        assert!(fields.get(f).is_some(), "{f} not named: {fields}");
    }
    assert!(fields["first_name"]
        .as_str()
        .unwrap()
        .contains("at most 100"));

    let text = app
        .client
        .post(format!("{}/api/persons", app.base))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = json!({"first_name": "A", "last_name": "B", "email": "a@b.example", "company": "x".repeat(300_000)});
    let (status, body) = app.post("/api/persons", &admin, huge).await;
    assert_error(status, &body, 413, "payload_too_large");

    assert_eq!(
        person_count(&app),
        before,
        "a rejected request wrote something"
    );
}

#[actix_web::test]
async fn query_strings_and_paths_are_checked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (status, body) = app.get("/api/persons?per_page=5000", &admin).await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields.get("per_page").is_some());
    // A value of the wrong type is the same kind of mistake as one out of range: one status.
    let (status, body) = app.get("/api/persons?page=abc", &admin).await;
    assert_error(status, &body, 422, "validation_failed");
    let (status, body) = app.get("/api/persons/abc", &admin).await;
    assert_error(status, &body, 404, "not_found");
    let event = app.demo_event(&admin).await;
    let (status, body) = app
        .get(
            &format!("/api/events/{event}/registrations?status=maybe"),
            &admin,
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields["status"]
        .as_str()
        .unwrap()
        .contains("pending, validated"));
    let (status, body) = app.get("/api/nowhere", &admin).await;
    assert_error(status, &body, 404, "not_found");
}

#[actix_web::test]
async fn persons_are_created_normalised_and_duplicates_conflict() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let new = json!({"first_name": " Zoé ", "last_name": "Lambert", "email": "Zoe.Lambert@Example.FR", "mobile_phone": "+33 (6) 01 02 03 04", "country": "fr", "civility": "mrs"});
    let (status, person) = app.post("/api/persons", &admin, new.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    assert_eq!(person["first_name"], "Zoé");
    assert_eq!(person["email"], "Zoe.Lambert@example.fr");
    assert_eq!(person["mobile_phone"], "+33601020304");
    assert_eq!(person["country"], "FR");
    assert_eq!(person["privacy"]["source"], "admin");
    let (status, body) = app
        .post(
            "/api/persons",
            &admin,
            json!({"first_name": "Z", "last_name": "L", "email": "zoe.lambert@example.fr"}),
        )
        .await;
    let fields = assert_error(status, &body, 409, "conflict");
    assert!(fields.get("email").is_some());
    // A patch naming no field changes nothing and answers the person as they are.
    let (status, body) = app
        .patch(&format!("/api/persons/{}", person["id"]), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated_at"], person["updated_at"]);
}

#[actix_web::test]
async fn a_known_path_asked_with_another_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (method, path, allow) in [
        ("DELETE", "/api/persons/1", "GET, PATCH"),
        ("PUT", "/api/events", "GET, POST"),
        ("POST", "/api/openapi.json", "GET"),
    ] {
        let resp = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            resp.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
    let (status, body) = app.get("/api/persons/1/nothing", &admin).await;
    assert_error(status, &body, 404, "not_found");
}

#[actix_web::test]
async fn integers_written_with_a_zero_fraction_are_integers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let tables = format!("/api/events/{event}/tables");
    let (status, body) = app
        .request(
            Method::PUT,
            &tables,
            Some(&admin),
            Some(json!({"count": 61.0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(61));
    let (status, body) = app
        .request(
            Method::PUT,
            &tables,
            Some(&admin),
            Some(json!({"count": 61.5})),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields.get("count").is_some(), "{body}");
}
