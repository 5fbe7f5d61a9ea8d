//! Participant search over HTTP: organizers search their event, validated participants see
//! validated visible profiles, bad queries are 4xx, and the index follows database changes.

use crate::common::{assert_error, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn organizers_and_participants_search_their_event() {
    let (app, _dir) = TestApp::spawn_with_search().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;

    let (status, found) = app
        .get(
            &format!(
                "/api/events/{event}/search?q=usinage&facets=participant_type,country&limit=50"
            ),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(found["total"].as_u64().unwrap() > 0, "{found}");
    let hit = &found["hits"][0];
    assert!(hit["snippets"].to_string().contains("<mark>"), "{hit}");
    let facets = found["facets"].as_array().unwrap();
    assert_eq!(facets.len(), 2);
    let counted: u64 = facets[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, found["total"].as_u64().unwrap());

    // Organizers see pending registrations too; participants only validated ones, not themselves.
    let (_, everyone) = app
        .get(&format!("/api/events/{event}/search?limit=100"), &admin)
        .await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, seen) = app
        .get(&format!("/api/events/{event}/search?limit=100"), &buyer)
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert!(seen["total"].as_u64().unwrap() < everyone["total"].as_u64().unwrap());
    assert!(seen["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["status"] == "validated"));
    let (_, me) = app.get("/api/me", &buyer).await;
    let my_name = format!(
        "{} {}",
        me["person"]["first_name"].as_str().unwrap(),
        me["person"]["last_name"].as_str().unwrap()
    );
    let (_, mine) = app
        .get(
            &format!(
                "/api/events/{event}/search?q={}&limit=100",
                me["person"]["company"].as_str().unwrap()
            ),
            &buyer,
        )
        .await;
    assert!(
        mine["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["name"] != my_name.as_str() || h["company"] != me["person"]["company"]),
        "{mine}"
    );

    let (status, matches) = app
        .get(&format!("/api/events/{event}/matches/me?limit=10"), &buyer)
        .await;
    assert_eq!(status, StatusCode::OK, "{matches}");
    let first = &matches[0];
    let why = &first["why"];
    assert!(
        why["they_offer"].as_array().unwrap().len()
            + why["they_need"].as_array().unwrap().len()
            + why["shared_sectors"].as_array().unwrap().len()
            > 0,
        "{first}"
    );

    // The organizer's search is a staff read of personal data.
    let pid = {
        let (_, reg) = app
            .get(
                &format!("/api/registrations/{}", hit["registration_id"]),
                &admin,
            )
            .await;
        reg["person"]["id"].as_i64().unwrap()
    };
    let (_, audit) = app
        .get(&format!("/api/audit?person_id={pid}"), &admin)
        .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "registration.search"),
        "{audit}"
    );
}

#[actix_web::test]
async fn bad_search_input_is_a_clear_4xx() {
    let (app, _dir) = TestApp::spawn_with_search().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let long = "a".repeat(10_000);
    let cases = [
        (format!("q={long}"), "q"),
        ("facets=colour".to_owned(), "facets"),
        ("limit=1000".to_owned(), "limit"),
        ("country=France".to_owned(), "country"),
        ("sector=Not%20A%20Sector!".to_owned(), "sector"),
    ];
    for (query, field) in cases {
        let (status, body) = app
            .get(&format!("/api/events/{event}/search?{query}"), &admin)
            .await;
        assert!(status.is_client_error(), "{query}: {status} {body}");
        assert!(body["fields"].get(field).is_some(), "{query}: {body}");
    }
    // A well-formed sector path longer than any stored one is a filter that finds nothing.
    let deep = vec!["machining"; 40].join("/");
    let (status, body) = app
        .get(&format!("/api/events/{event}/search?sector={deep}"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 0, "{body}");
    // Another organization's organizer finds no such event.
    let root = app.login("root@demo.example", "demo").await;
    let (_, org) = app
        .post(
            "/api/organizations",
            &root,
            json!({"slug": "other", "name": "Other"}),
        )
        .await;
    app.post(
        &format!("/api/organizations/{}/members", org["id"]),
        &root,
        json!({"email": "o@o.example", "password": "long enough secret", "role": "org_admin"}),
    )
    .await;
    let other = app.login("o@o.example", "long enough secret").await;
    let (status, body) = app
        .get(&format!("/api/events/{event}/search?q=usinage"), &other)
        .await;
    assert_error(status, &body, 404, "not_found");
}

#[actix_web::test]
async fn the_index_follows_changes_and_forgets_refused_profiles() {
    let (app, _dir) = TestApp::spawn_with_search().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (_, page) = app.get(&format!("/api/events/{event}/registrations?participant_type=supplier&status=validated&per_page=1"), &admin).await;
    let reg = page["items"][0]["id"].as_i64().unwrap();
    let (status, _) = app
        .patch(
            &format!("/api/registrations/{reg}"),
            &admin,
            json!({"offers": "zirconium ceramic coatings"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let find = |token: String| {
        let app = &app;
        async move {
            let (_, r) = app
                .get(&format!("/api/events/{event}/search?q=zirconium"), &token)
                .await;
            r["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["registration_id"] == reg)
        }
    };
    let mut seen = false;
    for _ in 0..50 {
        if find(buyer.clone()).await {
            seen = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the change never reached the index");

    let (status, _) = app
        .post(
            &format!("/api/registrations/{reg}/refuse"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut gone = false;
    for _ in 0..50 {
        if !find(buyer.clone()).await {
            gone = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        gone,
        "a refused registration stayed visible to participants"
    );
    // The organizer still finds it: refused registrations are theirs to see.
    assert!(find(admin.clone()).await);
}

#[actix_web::test]
async fn only_those_i_may_meet_follows_the_events_meeting_rules() {
    let (app, _dir) = TestApp::spawn_with_search().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let types = |body: &serde_json::Value, key: &str| -> std::collections::BTreeSet<String> {
        body.as_array()
            .map(|a| a.to_vec())
            .unwrap_or_else(|| body["hits"].as_array().unwrap().to_vec())
            .iter()
            .map(|h| {
                h.get("participant")
                    .unwrap_or(h)
                    .get(key)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let (_, all) = app
        .get(&format!("/api/events/{event}/search?limit=100"), &buyer)
        .await;
    assert!(types(&all, "participant_type").contains("buyer"), "{all}");
    let (_, meetable) = app
        .get(
            &format!("/api/events/{event}/search?limit=100&may_meet=true"),
            &buyer,
        )
        .await;
    assert_eq!(
        types(&meetable, "participant_type"),
        ["supplier".to_owned()].into()
    );
    let (_, matches) = app
        .get(&format!("/api/events/{event}/matches/me?limit=50"), &buyer)
        .await;
    assert_eq!(
        types(&matches, "participant_type"),
        ["supplier".to_owned()].into()
    );
    // Rules that let buyers meet buyers widen both.
    app.request(
        reqwest::Method::PUT,
        &format!("/api/events/{event}/meeting-settings"),
        Some(&admin),
        Some(json!({"allowed_pairs": [["buyer", "buyer"], ["buyer", "supplier"]], "acceptance": "mutual", "max_requests_per_participant": 30})),
    )
    .await;
    let (_, meetable) = app
        .get(
            &format!("/api/events/{event}/search?limit=100&may_meet=true"),
            &buyer,
        )
        .await;
    assert!(
        types(&meetable, "participant_type").contains("buyer"),
        "{meetable}"
    );
}
