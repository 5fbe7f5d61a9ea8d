//! Campaigns and solicitations end to end: the audience and its exclusions, scheduling and
//! pacing, cancelling, the one-click unsubscribe headers of what arrives in the local
//! mailbox, and the single solicitation a prospect may receive.

use crate::common::{assert_error, TestApp};
use crate::notify::{mail_with_id, newcomer, outbox, send_all};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn campaign_body(segment: Value) -> Value {
    json!({
        "name": "Last call",
        "content": {
            "fr": {"subject": "Dernières places", "body": "Bonjour,\n\nil reste des places pour les rendez-vous."},
            "en": {"subject": "Last seats", "body": "Hello,\n\na few meeting seats are left."},
        },
        "segment": segment,
        "per_minute": 6000,
        "per_domain_per_minute": 6000,
    })
}

#[actix_web::test]
async fn a_campaign_counts_its_exclusions_goes_at_its_pace_and_carries_one_click_unsubscribe() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    // Two newcomers, validated: one will have opted out of marketing.
    let (reg_a, person_a, email_a) = newcomer(&app, &admin, "fr").await;
    let (reg_b, person_b, _) = newcomer(&app, &admin, "en").await;
    for reg in [reg_a, reg_b] {
        let (status, body) = app
            .post(
                &format!("/api/registrations/{reg}/validate"),
                &admin,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    {
        use rdv_db::schema::persons;
        diesel::update(persons::table.find(person_b))
            .set(persons::optout_marketing_email_at.eq(chrono::Utc::now()))
            .execute(&mut app.conn())
            .unwrap();
    }
    let (status, draft) = app
        .post(
            &format!("/api/events/{event}/campaigns"),
            &admin,
            campaign_body(json!({"participant_types": ["buyer"], "languages": ["fr", "en"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(
        draft["audience"]["excluded"]["marketing_opt_out"], 1,
        "{draft}"
    );
    let recipients = draft["audience"]["recipients"].as_i64().unwrap();
    assert!(recipients >= 1, "{draft}");
    let id = draft["id"].as_i64().unwrap();

    // A time in the past is refused; now is accepted.
    let (status, body) = app
        .post(
            &format!("/api/campaigns/{id}/schedule"),
            &admin,
            json!({"send_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields["send_at"].is_string(), "{body}");
    let (status, scheduled) = app
        .post(
            &format!("/api/campaigns/{id}/schedule"),
            &admin,
            json!({"send_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{scheduled}");
    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(scheduled["messages"]["queued"], recipients, "{scheduled}");
    // Scheduling twice is a conflict.
    let (status, body) = app
        .post(
            &format!("/api/campaigns/{id}/schedule"),
            &admin,
            json!({"send_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");

    // Paced: at 6000 a minute, one message every 10 ms, none at the same instant.
    let mut due: Vec<_> = outbox(&app)
        .into_iter()
        .filter(|m| m.campaign_id.map(|c| c.0) == Some(id))
        .map(|m| m.not_before)
        .collect();
    due.sort();
    assert_eq!(due.len() as i64, recipients);
    assert!(due
        .windows(2)
        .all(|w| w[1] - w[0] >= chrono::Duration::milliseconds(10)));

    // The newcomer's mail arrives with the RFC 8058 headers; the opted-out one got nothing.
    tokio::time::sleep(std::time::Duration::from_millis(
        10 * recipients as u64 + 50,
    ))
    .await;
    send_all(&app).await;
    let (_, done) = app.get(&format!("/api/campaigns/{id}"), &admin).await;
    assert_eq!(done["messages"]["sent"], recipients, "{done}");
    let sent = outbox(&app)
        .into_iter()
        .find(|m| {
            m.campaign_id.map(|c| c.0) == Some(id) && m.person_id.map(|p| p.0) == Some(person_a)
        })
        .unwrap();
    let mail = mail_with_id(&email_a, sent.message_id.as_deref().unwrap());
    assert_eq!(mail["subject"], "Dernières places");
    assert!(mail["text"]
        .as_str()
        .unwrap()
        .contains("il reste des places"));
    assert_eq!(mail["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
    let link = mail["list_unsubscribe"].as_str().unwrap();
    let url = link.trim_matches(|c| c == '<' || c == '>');
    let path = &url[url.find("/api/").unwrap()..];
    // The one click: what a mail client does with the headers.
    let (status, body) = app.request(Method::POST, path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, p) = app.get(&format!("/api/persons/{person_a}"), &admin).await;
    assert!(p["opt_outs"]["marketing_email_at"].is_string(), "{p}");
    // Transactional messages carry no unsubscribe header.
    let validated = outbox(&app)
        .into_iter()
        .find(|m| {
            m.person_id.map(|p| p.0) == Some(person_a) && m.template == "registration_validated"
        })
        .unwrap();
    let mail = mail_with_id(&email_a, validated.message_id.as_deref().unwrap());
    assert!(mail["list_unsubscribe"].is_null(), "{mail}");

    // A later campaign: person_a is now excluded; scheduled for tomorrow, then cancelled.
    let (_, second) = app
        .post(
            &format!("/api/events/{event}/campaigns"),
            &admin,
            campaign_body(json!({"participant_types": ["buyer"]})),
        )
        .await;
    assert_eq!(
        second["audience"]["excluded"]["marketing_opt_out"], 2,
        "{second}"
    );
    let second = second["id"].as_i64().unwrap();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (status, _) = app
        .post(
            &format!("/api/campaigns/{second}/schedule"),
            &admin,
            json!({"send_at": tomorrow}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, cancelled) = app
        .post(
            &format!("/api/campaigns/{second}/cancel"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["messages"].get("queued").is_none(), "{cancelled}");
    let (status, body) = app
        .post(
            &format!("/api/campaigns/{second}/cancel"),
            &admin,
            json!({}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");

    // A segment nobody is in cannot be scheduled; bad input names the field.
    let (_, empty) = app
        .post(
            &format!("/api/events/{event}/campaigns"),
            &admin,
            campaign_body(json!({"languages": ["de"]})),
        )
        .await;
    assert_eq!(empty["audience"]["recipients"], 0, "{empty}");
    let (status, body) = app
        .post(
            &format!("/api/campaigns/{}/schedule", empty["id"]),
            &admin,
            json!({"send_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_error(status, &body, 422, "validation_failed");
    let (status, body) = app
        .post(
            &format!("/api/events/{event}/campaigns"),
            &admin,
            json!({"name": "x", "content": {}, "segment": {"countries": ["France"]}}),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields["content"].is_string(), "{body}");
    assert!(fields["segment.countries.0"].is_string(), "{body}");
    // A participant cannot write campaigns.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, body) = app
        .post(
            &format!("/api/events/{event}/campaigns"),
            &buyer,
            campaign_body(json!({})),
        )
        .await;
    assert_error(status, &body, 403, "forbidden");
}

#[actix_web::test]
async fn a_prospect_is_solicited_once_ever_and_only_their_consent_opens_campaigns() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let email = format!("prospect-{}@mail.example", rand::random::<u32>());
    let (status, prospect) = app
        .post(
            "/api/persons",
            &admin,
            json!({"first_name": "Paul", "last_name": "Prospect", "email": email, "preferred_language": "en", "source": "prospect"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{prospect}");
    let person = prospect["id"].as_i64().unwrap();
    let (status, reg) = app
        .post(
            &format!("/api/events/{event}/registrations"),
            &admin,
            json!({"person_id": person, "participant_type": "supplier", "status": "validated"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");

    // Without consent, campaigns leave the prospect out.
    let (_, draft) = app
        .post(
            &format!("/api/events/{event}/campaigns"),
            &admin,
            campaign_body(json!({"participant_types": ["supplier"]})),
        )
        .await;
    assert_eq!(
        draft["audience"]["excluded"]["prospect_without_consent"], 1,
        "{draft}"
    );

    // One solicitation; the second is refused by the outbox.
    let url = format!("/api/persons/{person}/consent-request");
    let (status, queued) = app.post(&url, &admin, json!({"event_id": event})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["template"], "consent_request");
    let (status, body) = app.post(&url, &admin, json!({"event_id": event})).await;
    let e = assert_error(status, &body, 409, "conflict");
    let _ = e;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("one solicitation"),
        "{body}"
    );
    // Even straight into the outbox, a second solicitation of the person is refused.
    {
        use rdv_db::schema::outbox_messages;
        let dup = diesel::sql_query(
            "INSERT INTO outbox_messages (organization_id, event_id, person_id, channel, template, \
             idempotency_key, max_attempts, legal_basis, retention_until, source, solicitation) \
             SELECT organization_id, event_id, person_id, channel, template, 'another key', 1, \
             legal_basis, retention_until, source, true FROM outbox_messages \
             WHERE person_id = $1 AND solicitation",
        )
        .bind::<diesel::sql_types::BigInt, _>(person)
        .execute(&mut app.conn());
        assert!(dup.is_err(), "a second solicitation was accepted");
        let n: i64 = outbox_messages::table
            .filter(outbox_messages::person_id.eq(person))
            .filter(outbox_messages::solicitation.eq(true))
            .count()
            .get_result(&mut app.conn())
            .unwrap();
        assert_eq!(n, 1);
    }
    // A person who is not a prospect is not solicited.
    let (_, others) = app.get("/api/persons?per_page=1", &admin).await;
    let other = others["items"][0]["id"].as_i64().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/persons/{other}/consent-request"),
            &admin,
            json!({"event_id": event}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");

    // The message goes (marketing: with the unsubscribe headers) and carries the consent
    // link; its page asks, its confirmation records the consent.
    send_all(&app).await;
    let sent = outbox(&app)
        .into_iter()
        .find(|m| m.person_id.map(|p| p.0) == Some(person) && m.solicitation)
        .unwrap();
    assert_eq!(sent.status, rdv_domain::MessageStatus::Sent, "{sent:?}");
    let mail = mail_with_id(&email, sent.message_id.as_deref().unwrap());
    assert!(mail["list_unsubscribe"].is_string(), "{mail}");
    let text = mail["text"].as_str().unwrap();
    let start = text.find("/api/consent/").unwrap();
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let page = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    let (_, draft) = app
        .get(&format!("/api/campaigns/{}", draft["id"]), &admin)
        .await;
    assert_eq!(
        draft["audience"]["excluded"]["prospect_without_consent"], 1,
        "a GET recorded a consent: {draft}"
    );
    let given = app
        .client
        .post(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(given.status(), StatusCode::OK);
    let (_, draft) = app
        .get(&format!("/api/campaigns/{}", draft["id"]), &admin)
        .await;
    assert!(
        draft["audience"]["excluded"]
            .get("prospect_without_consent")
            .is_none(),
        "{draft}"
    );
    // A forged consent link is not found.
    let (status, body) = app
        .request(Method::POST, "/api/consent/AAAA", None, None)
        .await;
    assert_error(status, &body, 404, "not_found");
}
