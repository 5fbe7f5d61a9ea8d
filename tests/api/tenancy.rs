//! Organizations share the platform and never see each other's data.

use crate::common::{assert_error, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct OrgB {
    event: i64,
    person: i64,
    registration: i64,
    export: i64,
    message: i64,
    campaign: i64,
    privacy_request: i64,
    organization: i64,
}

async fn second_organization(app: &TestApp) -> OrgB {
    let root = app.login("root@demo.example", "demo").await;
    let (status, org) = app
        .post(
            "/api/organizations",
            &root,
            json!({"slug": "other", "name": "Other Fairs"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{org}");
    let (status, body) = app
        .post(&format!("/api/organizations/{}/members", org["id"]), &root, json!({"email": "boss@other.example", "password": "long enough secret", "role": "org_admin"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let b = app.login("boss@other.example", "long enough secret").await;
    let (_, event) = app
        .post("/api/events", &b, json!({"slug": "b-fair", "name": "B fair", "time_zone": "Europe/Brussels", "starts_on": "2027-05-04", "ends_on": "2027-05-04"}))
        .await;
    let (_, person) = app
        .post("/api/persons", &b, json!({"first_name": "Bea", "last_name": "Secret", "email": "bea@b.example", "company": "B Secret SA"}))
        .await;
    let (status, reg) = app
        .post(
            &format!("/api/events/{}/registrations", event["id"]),
            &b,
            json!({"person_id": person["id"], "participant_type": "buyer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    let (status, _) = app.get(&format!("/api/persons/{}", person["id"]), &b).await;
    assert_eq!(status, StatusCode::OK);
    let (status, export) = app
        .post(
            &format!("/api/events/{}/exports", event["id"]),
            &b,
            json!({"kind": "agendas_pdf"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{export}");
    // Validating the registration queues a message to Bea.
    let (status, _) = app
        .post(
            &format!("/api/registrations/{}/validate", reg["id"]),
            &b,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, messages) = app
        .get(&format!("/api/events/{}/messages", event["id"]), &b)
        .await;
    let (status, campaign) = app
        .post(
            &format!("/api/events/{}/campaigns", event["id"]),
            &b,
            json!({"name": "B news", "content": {"en": {"subject": "Secret news", "body": "Secret"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    let (status, rights) = app
        .post(
            &format!("/api/persons/{}/privacy-requests", person["id"]),
            &b,
            json!({"kind": "access", "channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rights}");
    OrgB {
        privacy_request: rights["id"].as_i64().unwrap(),
        organization: org["id"].as_i64().unwrap(),
        campaign: campaign["id"].as_i64().unwrap(),
        event: event["id"].as_i64().unwrap(),
        person: person["id"].as_i64().unwrap(),
        registration: reg["id"].as_i64().unwrap(),
        export: export["id"].as_i64().unwrap(),
        message: messages["items"][0]["id"].as_i64().unwrap(),
    }
}

fn contains_id(list: &Value, id: i64) -> bool {
    let items = list.get("items").unwrap_or(list);
    items.as_array().unwrap().iter().any(|x| x["id"] == id)
}

#[actix_web::test]
async fn an_organizer_never_reaches_another_organizations_data() {
    let app = TestApp::spawn().await;
    let b = second_organization(&app).await;
    let a = app.admin().await;
    let a_event = app.demo_event(&a).await;
    let (_, a_persons) = app.get("/api/persons?per_page=1", &a).await;
    let a_person = a_persons["items"][0]["id"].as_i64().unwrap();

    let e = b.event;
    let p = b.person;
    let r = b.registration;
    let x = b.export;
    let m = b.message;
    let c = b.campaign;
    let q = b.privacy_request;
    let o = b.organization;
    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/events/{e}"), None),
        (
            Method::PATCH,
            format!("/api/events/{e}"),
            Some(json!({"name": "hijacked"})),
        ),
        (Method::GET, format!("/api/events/{e}/days"), None),
        (
            Method::POST,
            format!("/api/events/{e}/days"),
            Some(
                json!({"date": "2027-05-04", "starts_at": "09:00", "ends_at": "12:00", "slot_minutes": 30}),
            ),
        ),
        (Method::GET, format!("/api/events/{e}/tables"), None),
        (
            Method::PUT,
            format!("/api/events/{e}/tables"),
            Some(json!({"count": 3})),
        ),
        (Method::GET, format!("/api/events/{e}/registrations"), None),
        (
            Method::POST,
            format!("/api/events/{e}/registrations"),
            Some(json!({"person_id": a_person, "participant_type": "buyer"})),
        ),
        (Method::GET, format!("/api/persons/{p}"), None),
        (
            Method::POST,
            format!("/api/persons/{p}/privacy-requests"),
            Some(json!({"kind": "erasure", "channel": "post"})),
        ),
        (
            Method::POST,
            format!("/api/persons/{p}/restriction/lift"),
            Some(json!({})),
        ),
        (Method::GET, format!("/api/privacy-requests/{q}"), None),
        (
            Method::POST,
            format!("/api/privacy-requests/{q}/process"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/privacy-requests/{q}/reject"),
            Some(json!({"reason": "hijacked"})),
        ),
        (
            Method::GET,
            format!("/api/privacy-requests/{q}/archive"),
            None,
        ),
        (Method::GET, format!("/api/organizations/{o}/closure"), None),
        (
            Method::POST,
            format!("/api/organizations/{o}/closure/export"),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("/api/organizations/{o}/closure/export"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/persons/{p}"),
            Some(json!({"last_name": "hijacked"})),
        ),
        (Method::GET, format!("/api/registrations/{r}"), None),
        (
            Method::PATCH,
            format!("/api/registrations/{r}"),
            Some(json!({"needs": "hijacked"})),
        ),
        (
            Method::POST,
            format!("/api/registrations/{r}/validate"),
            None,
        ),
        (
            Method::POST,
            format!("/api/registrations/{r}/refuse"),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("/api/events/{e}/meeting-settings"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/events/{e}/meeting-settings"),
            Some(
                json!({"allowed_pairs": [], "acceptance": "direct", "max_requests_per_participant": 5}),
            ),
        ),
        (
            Method::GET,
            format!("/api/events/{e}/meeting-requests"),
            None,
        ),
        (
            Method::POST,
            format!("/api/events/{e}/meeting-requests"),
            Some(json!({"from": r, "to": r})),
        ),
        (
            Method::GET,
            format!("/api/events/{e}/meeting-dashboard"),
            None,
        ),
        (Method::GET, format!("/api/events/{e}/plans"), None),
        (
            Method::POST,
            format!("/api/events/{e}/plans"),
            Some(json!({})),
        ),
        (Method::GET, format!("/api/events/{e}/agendas/{r}"), None),
        (
            Method::GET,
            format!("/api/events/{e}/agenda-versions/1/changes"),
            None,
        ),
        (Method::GET, format!("/api/events/{e}/exports"), None),
        (
            Method::POST,
            format!("/api/events/{e}/exports"),
            Some(json!({"kind": "agendas_pdf"})),
        ),
        (Method::GET, format!("/api/events/{e}/messages"), None),
        (Method::POST, format!("/api/messages/{m}/retry"), None),
        (Method::GET, format!("/api/exports/{x}"), None),
        (Method::GET, format!("/api/exports/{x}/file"), None),
        (Method::GET, format!("/api/events/{e}/campaigns"), None),
        (
            Method::POST,
            format!("/api/events/{e}/campaigns"),
            Some(json!({"name": "x", "content": {"en": {"subject": "s", "body": "b"}}})),
        ),
        (Method::GET, format!("/api/campaigns/{c}"), None),
        (
            Method::POST,
            format!("/api/campaigns/{c}/schedule"),
            Some(json!({"send_at": "2030-01-01T00:00:00Z"})),
        ),
        (Method::POST, format!("/api/campaigns/{c}/cancel"), None),
        (
            Method::POST,
            format!("/api/persons/{p}/consent-request"),
            Some(json!({"event_id": a_event})),
        ),
        (
            Method::POST,
            format!("/api/persons/{a_person}/consent-request"),
            Some(json!({"event_id": e})),
        ),
    ];
    for (method, path, body) in probes {
        let (status, resp) = app.request(method.clone(), &path, Some(&a), body).await;
        assert_error(status, &resp, 404, "not_found");
        assert!(
            !resp.to_string().contains("Secret"),
            "{method} {path} leaked: {resp}"
        );
    }
    // Registering B's person to A's event: the person does not exist for A.
    let (status, resp) = app
        .post(
            &format!("/api/events/{a_event}/registrations"),
            &a,
            json!({"person_id": p, "participant_type": "buyer"}),
        )
        .await;
    assert_error(status, &resp, 404, "not_found");

    // No list returns B's rows.
    let (_, events) = app.get("/api/events", &a).await;
    assert!(!contains_id(&events, e));
    let (_, persons) = app.get("/api/persons?q=Secret", &a).await;
    assert_eq!(persons["total"], 0, "{persons}");
    let (_, audit) = app.get(&format!("/api/audit?person_id={p}"), &a).await;
    assert_eq!(audit["total"], 0, "{audit}");

    // And B's data is intact.
    let bt = app.login("boss@other.example", "long enough secret").await;
    let (_, person) = app.get(&format!("/api/persons/{p}"), &bt).await;
    assert_eq!(person["last_name"], "Secret");
    let (_, reg) = app.get(&format!("/api/registrations/{r}"), &bt).await;
    // Validated by B itself; A's attempt to refuse it changed nothing.
    assert_eq!(reg["status"], "validated");
    assert!(reg["needs"].is_null());
}

#[actix_web::test]
async fn participants_see_only_their_own_records() {
    let app = TestApp::spawn().await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    for path in [
        "/api/events",
        "/api/persons",
        "/api/registrations/1",
        "/api/audit?person_id=1",
        "/api/organizations",
    ] {
        let (status, body) = app.get(path, &buyer).await;
        assert_error(status, &body, 403, "forbidden");
    }
    let (status, me) = app.get("/api/me", &buyer).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "buyer1@demo.example");
    assert_eq!(me["person"]["email"], "buyer1@demo.example");
    let (_, regs) = app.get("/api/me/registrations", &buyer).await;
    let regs = regs.as_array().unwrap();
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0]["participant_type"], "buyer");

    let (status, updated) = app
        .patch(
            "/api/me",
            &buyer,
            json!({"mobile_phone": "+33 6 11 22 33 44", "optout_sms": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["mobile_phone"], "+33611223344");
    assert!(updated["opt_outs"]["sms_at"].is_string());
    assert!(updated["privacy"]["last_verified_at"].is_string());
    // A participant cannot change their email or anything outside their own person.
    let (status, body) = app
        .patch("/api/me", &buyer, json!({"email": "x@y.example"}))
        .await;
    assert_error(status, &body, 422, "validation_failed");
}
