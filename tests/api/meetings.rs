//! Meetings end to end on the demo event: requests and their rules, a planning run through the
//! job queue, hand edits of the draft, publication, agendas, a re-plan that keeps untouched
//! meetings in place, and runs whose worker dies.

use crate::common::{
    assert_error, checker, drain, job_worker as worker, request_partners, start_run, TestApp,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A login for the person of registration `reg` (the demo has one for buyer1 only).
fn participant_login(app: &TestApp, reg: i64, email: &str) {
    use diesel::prelude::*;
    use rdv_db::schema::registrations;
    let mut conn = app.conn();
    let (org, person): (rdv_domain::OrganizationId, rdv_domain::PersonId) = registrations::table
        .find(rdv_domain::RegistrationId(reg))
        .select((registrations::organization_id, registrations::person_id))
        .first(&mut conn)
        .unwrap();
    let hash = rdv_app::auth::hash_password("demo").unwrap();
    let account = rdv_db::queries::accounts::ensure_account(
        &mut conn,
        email,
        &hash,
        chrono::Utc::now() + chrono::Duration::days(30),
        "registration",
    )
    .unwrap();
    rdv_db::queries::accounts::ensure_membership(
        &mut conn,
        account.id,
        Some(org),
        rdv_domain::Role::Participant,
        Some(person),
    )
    .unwrap();
}

async fn registrations(app: &TestApp, token: &str, event: i64, query: &str) -> Vec<Value> {
    let (status, page) = app
        .get(
            &format!("/api/events/{event}/registrations?per_page=200&{query}"),
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn requests_follow_the_events_rules() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let suppliers = registrations(
        &app,
        &admin,
        event,
        "participant_type=supplier&status=validated",
    )
    .await;
    let buyers = registrations(
        &app,
        &admin,
        event,
        "participant_type=buyer&status=validated",
    )
    .await;
    let (_, my_regs) = app.get("/api/me/registrations", &buyer).await;
    let me = my_regs[0]["id"].as_i64().unwrap();
    let (_, mine) = app
        .get(
            &format!("/api/events/{event}/meeting-requests?box=sent&per_page=200"),
            &buyer,
        )
        .await;
    let asked: Vec<i64> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["recipient"]["registration_id"].as_i64().unwrap())
        .collect();
    let (_, received) = app
        .get(
            &format!("/api/events/{event}/meeting-requests?box=received&per_page=200"),
            &buyer,
        )
        .await;
    let from_them: Vec<i64> = received["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requester"]["registration_id"].as_i64().unwrap())
        .collect();
    let fresh = suppliers
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .find(|id| !asked.contains(id) && !from_them.contains(id))
        .unwrap();

    let path = format!("/api/events/{event}/meeting-requests");
    let (status, req) = app
        .post(
            &path,
            &buyer,
            json!({"to": fresh, "priority": "must", "message": "Parlons usinage."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["status"], "pending");
    assert_eq!(req["requester"]["registration_id"], me);
    let id = req["id"].as_i64().unwrap();

    // Bad requests, each refused with its reason and nothing written.
    let other_buyer = buyers
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .find(|b| *b != me)
        .unwrap();
    let (status, body) = app.post(&path, &buyer, json!({"to": me})).await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields.get("to").is_some(), "{body}");
    let (status, body) = app.post(&path, &buyer, json!({"to": other_buyer})).await;
    assert_error(status, &body, 409, "conflict");
    assert!(
        body["message"].as_str().unwrap().contains("rules"),
        "{body}"
    );
    let (status, body) = app.post(&path, &buyer, json!({"to": fresh})).await;
    assert_error(status, &body, 409, "conflict");
    let (status, body) = app.post(&path, &buyer, json!({"to": 999_999})).await;
    assert_error(status, &body, 404, "not_found");
    // The buyer cannot accept the request they sent: they did not receive it.
    let (status, body) = app
        .post(
            &format!("/api/meeting-requests/{id}/accept"),
            &buyer,
            json!({}),
        )
        .await;
    assert_error(status, &body, 404, "not_found");

    // The recipient accepts; the history says who did what.
    participant_login(&app, fresh, "supplier@demo.example");
    let supplier = app.login("supplier@demo.example", "demo").await;
    let (status, body) = app
        .post(
            &format!("/api/meeting-requests/{id}/accept"),
            &supplier,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "accepted");
    let (status, body) = app
        .post(
            &format!("/api/meeting-requests/{id}/accept"),
            &supplier,
            json!({}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    let (_, history) = app
        .get(&format!("/api/meeting-requests/{id}/history"), &buyer)
        .await;
    let steps: Vec<(Value, Value)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["from_status"].clone(), h["to_status"].clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Value::Null, json!("pending")),
            (json!("pending"), json!("accepted"))
        ]
    );

    // The allowance: with one request allowed, a second is refused.
    let (status, body) = app
        .request(
            Method::PUT,
            &format!("/api/events/{event}/meeting-settings"),
            Some(&admin),
            Some(json!({"allowed_pairs": [["supplier", "buyer"]], "acceptance": "mutual", "max_requests_per_participant": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allowed_pairs"], json!([["buyer", "supplier"]]));
    let another = suppliers
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .find(|s| *s != fresh && !asked.contains(s) && !from_them.contains(s))
        .unwrap();
    let (status, body) = app.post(&path, &buyer, json!({"to": another})).await;
    assert_error(status, &body, 409, "conflict");
    // The window: closed requests are refused.
    app.request(
        Method::PUT,
        &format!("/api/events/{event}/meeting-settings"),
        Some(&admin),
        Some(json!({"allowed_pairs": [], "acceptance": "mutual", "max_requests_per_participant": 100, "requests_close_at": "2020-01-01T00:00:00Z"})),
    )
    .await;
    let (status, body) = app.post(&path, &buyer, json!({"to": another})).await;
    assert_error(status, &body, 409, "conflict");
    assert!(
        body["message"].as_str().unwrap().contains("closed"),
        "{body}"
    );

    // A refused registration withdraws its requests.
    let (status, _) = app
        .post(
            &format!("/api/registrations/{fresh}/refuse"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, r) = app
        .get(&format!("/api/meeting-requests/{id}"), &admin)
        .await;
    assert_eq!(r["status"], "cancelled", "{r}");

    // The organizer's dashboard counts requests per participant.
    let (status, dash) = app
        .get(&format!("/api/events/{event}/meeting-dashboard"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{dash}");
    assert!(!dash["participants"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn a_run_plans_the_accepted_requests_and_publishing_makes_the_agendas() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyer = app.login("buyer1@demo.example", "demo").await;

    let run = start_run(&app, &admin, event).await;
    // Two runs of one event never run at once.
    let (status, body) = app
        .post(&format!("/api/events/{event}/plans"), &admin, json!({}))
        .await;
    assert_error(status, &body, 409, "conflict");
    drain(&app);
    let (_, done) = app.get(&format!("/api/plans/{run}"), &admin).await;
    assert_eq!(done["status"], "done", "{done}");
    let total = done["requests_total"].as_i64().unwrap();
    assert!(total > 500, "{done}");
    assert!(
        done["scheduled"].as_i64().unwrap() > total * 9 / 10,
        "{done}"
    );
    assert!(done["gap"].is_number());

    let (_, draft) = app.get(&format!("/api/plans/{run}/draft"), &admin).await;
    let meetings = draft["meetings"].as_array().unwrap().clone();
    assert_eq!(meetings.len() as i64, done["scheduled"].as_i64().unwrap());

    // A hand move into a slot where a participant is busy is refused, naming the clash;
    // a move to a slot where both are free is accepted.
    let pairs = pairs_of(&app, &meetings);
    let (m, clash) = meetings
        .iter()
        .find_map(|m| {
            let (a, _) = pairs[&m["request_id"].as_i64().unwrap()];
            let other = meetings.iter().find(|o| {
                o["request_id"] != m["request_id"] && o["slot_id"] != m["slot_id"] && {
                    let (x, y) = pairs[&o["request_id"].as_i64().unwrap()];
                    x == a || y == a
                }
            })?;
            Some((m.clone(), other.clone()))
        })
        .unwrap();
    let request = m["request_id"].as_i64().unwrap();
    let url = format!("/api/plans/{run}/meetings/{request}");
    let (status, body) = app
        .request(
            Method::PUT,
            &url,
            Some(&admin),
            Some(json!({"slot_id": clash["slot_id"]})),
        )
        .await;
    let fields = assert_error(status, &body, 409, "conflict");
    assert!(
        fields["slot_id"]
            .as_str()
            .unwrap()
            .contains("another meeting"),
        "{body}"
    );
    let (a, b) = pairs[&request];
    let busy: Vec<i64> = meetings
        .iter()
        .filter(|o| {
            let (x, y) = pairs[&o["request_id"].as_i64().unwrap()];
            [x, y].iter().any(|p| *p == a || *p == b)
        })
        .map(|o| o["slot_id"].as_i64().unwrap())
        .collect();
    let (_, days) = app.get(&format!("/api/events/{event}/days"), &admin).await;
    let free = days
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().clone())
        .map(|s| s["id"].as_i64().unwrap())
        .find(|s| !busy.contains(s))
        .unwrap();
    let (status, body) = app
        .request(
            Method::PUT,
            &url,
            Some(&admin),
            Some(json!({"slot_id": free})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slot_id"], free);

    // Publishing makes the agendas; the buyer sees theirs with local times.
    let (status, published) = app
        .post(&format!("/api/plans/{run}/publish"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["version"], 1);
    assert_eq!(published["moved"], 0);
    let (status, agenda) = app
        .get(&format!("/api/me/events/{event}/agenda"), &buyer)
        .await;
    assert_eq!(status, StatusCode::OK, "{agenda}");
    assert_eq!(agenda["version"], 1);
    let first = &agenda["meetings"][0];
    assert!(first["counterpart"]["last_name"].is_string());
    let utc = chrono::DateTime::parse_from_rfc3339(first["starts_at"].as_str().unwrap()).unwrap();
    let paris = utc.with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(
        first["local_start"],
        paris.format("%Y-%m-%dT%H:%M").to_string()
    );
    let (_, diff) = app
        .get(
            &format!("/api/me/events/{event}/agenda-versions/1/changes"),
            &buyer,
        )
        .await;
    assert_eq!(
        diff.as_array().unwrap().len(),
        agenda["meetings"].as_array().unwrap().len()
    );
    assert!(diff
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["change"] == "added"));

    // Re-planning after a cancellation keeps every untouched meeting where it was.
    let gone = agenda["meetings"][0]["request_id"].as_i64().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/meeting-requests/{gone}/cancel"),
            &buyer,
            json!({"reason": "empêchement"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let second = start_run(&app, &admin, event).await;
    drain(&app);
    // Before publishing, the organizer sees whose agendas would change: the two participants
    // of the cancelled meeting, nobody else.
    let (status, preview) = app
        .get(&format!("/api/plans/{second}/preview"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    // (The freed slot may let the planner add a request it left out before: an "added".)
    let preview = preview.as_array().unwrap();
    let cancelled: Vec<&Value> = preview
        .iter()
        .filter(|c| c["change"] == "cancelled")
        .collect();
    assert_eq!(cancelled.len(), 2, "{preview:?}");
    assert!(cancelled.iter().all(|c| c["request_id"] == gone));
    assert!(
        preview.iter().all(|c| c["change"] != "moved"),
        "{preview:?}"
    );
    let (status, published) = app
        .post(&format!("/api/plans/{second}/publish"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["version"], 2);
    assert_eq!(published["cancelled"], 1, "{published}");
    assert_eq!(published["moved"], 0, "{published}");
    // Only the two participants whose agenda changed are told, by an "agenda changed" email
    // (and by SMS, those with a mobile number).
    {
        use diesel::prelude::*;
        use rdv_db::schema::outbox_messages;
        let told: Vec<serde_json::Value> = outbox_messages::table
            .filter(outbox_messages::template.eq("agenda_changed"))
            .filter(outbox_messages::channel.eq(rdv_domain::Channel::Email))
            .select(outbox_messages::data)
            .load(&mut app.conn())
            .unwrap();
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(told.iter().all(|d| d["version"] == 2));
    }
    let (_, diff) = app
        .get(
            &format!("/api/me/events/{event}/agenda-versions/2/changes"),
            &buyer,
        )
        .await;
    let changes: Vec<&Value> = diff
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] != "added")
        .collect();
    assert_eq!(changes.len(), 1, "{diff}");
    assert_eq!(changes[0]["change"], "cancelled");
    assert_eq!(
        changes[0]["meeting_id"],
        agenda["meetings"][0]["meeting_id"]
    );

    // The printable agenda: a real PDF whose text names the event, the participant and each
    // meeting's time and counterpart.
    let (status, bytes, ct) =
        fetch_bytes(&app, &format!("/api/me/events/{event}/agenda/pdf"), &buyer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/pdf");
    let text = pdf_text(&bytes).join("\n");
    assert!(
        text.contains("Rendez-vous Industrie & Innovation 2027"),
        "{text}"
    );
    let me = &agenda["meetings"][1];
    assert!(
        text.contains(me["counterpart"]["last_name"].as_str().unwrap()),
        "{text}"
    );
    assert!(
        text.contains(&me["local_start"].as_str().unwrap()[11..16]),
        "{text}"
    );
    // The organizer prints every validated participant's agenda, each on its own pages: an
    // export a worker builds, then downloaded (and audited).
    let (status, export) = app
        .post(
            &format!("/api/events/{event}/exports"),
            &admin,
            json!({"kind": "agendas_pdf"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{export}");
    assert_eq!(export["status"], "queued");
    let export = export["id"].as_i64().unwrap();
    let (status, body) = app
        .get(&format!("/api/exports/{export}/file"), &admin)
        .await;
    assert_error(status, &body, 409, "conflict");
    drain(&app);
    let (_, done) = app.get(&format!("/api/exports/{export}"), &admin).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["content_type"], "application/pdf");
    let (_, listed) = app
        .get(&format!("/api/events/{event}/exports"), &admin)
        .await;
    assert_eq!(listed[0]["id"], export);
    let (status, bytes, _) =
        fetch_bytes(&app, &format!("/api/exports/{export}/file"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    {
        use diesel::prelude::*;
        use rdv_db::schema::audit_log;
        let named: Vec<Vec<i64>> = audit_log::table
            .filter(audit_log::action.eq("export.download"))
            .filter(audit_log::subject_ids.eq(vec![export]))
            .select(audit_log::person_ids)
            .load(&mut app.conn())
            .unwrap();
        assert_eq!(named.len(), 1);
        assert!(named[0].len() > 10, "{named:?}");
    }
    // A participant may not ask for one.
    let (status, body) = app
        .post(
            &format!("/api/events/{event}/exports"),
            &buyer,
            json!({"kind": "agendas_pdf"}),
        )
        .await;
    assert_error(status, &body, 403, "forbidden");
    let pages = pdf_text(&bytes);
    let validated = registrations(&app, &admin, event, "status=validated")
        .await
        .len()
        + registrations(&app, &admin, event, "status=validated&page=2")
            .await
            .len();
    assert!(
        pages.len() >= validated,
        "{} pages for {validated} participants",
        pages.len()
    );

    // The per-slot view lists the slot's meetings, each at its own table.
    let slot = agenda["meetings"][1]["slot_id"].as_i64().unwrap();
    let (status, in_slot) = app
        .get(
            &format!("/api/events/{event}/meetings?slot_id={slot}"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{in_slot}");
    let in_slot = in_slot.as_array().unwrap();
    assert!(in_slot.iter().all(|m| m["slot_id"] == slot));
    let mut tables: Vec<i64> = in_slot
        .iter()
        .filter_map(|m| m["table_id"].as_i64())
        .collect();
    let n = tables.len();
    tables.dedup();
    assert_eq!(tables.len(), n, "two meetings share a table");

    // The agenda as an iCalendar feed at a secret URL, read back by an independent parser:
    // times in Europe/Paris with its VTIMEZONE, stable UIDs, the cancelled meeting marked so.
    let (status, feed) = app
        .post(
            &format!("/api/me/events/{event}/agenda-feed"),
            &buyer,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{feed}");
    let path = feed["path"].as_str().unwrap().to_owned();
    let (status, ics) = fetch_text(&app, &path).await;
    assert_eq!(status, StatusCode::OK);
    let parsed = parse_ics(&ics);
    assert_eq!(parsed["method"], "PUBLISH");
    let zones = parsed["timezones"].as_array().unwrap();
    assert_eq!(zones.len(), 1);
    assert_eq!(zones[0]["tzid"], "Europe/Paris");
    let (_, now) = app
        .get(&format!("/api/me/events/{event}/agenda"), &buyer)
        .await;
    let events = parsed["events"].as_array().unwrap();
    assert_eq!(events.len(), now["meetings"].as_array().unwrap().len() + 1);
    for m in now["meetings"].as_array().unwrap() {
        let uid = format!("meeting-{}@rdv", m["meeting_id"]);
        let e = events.iter().find(|e| e["uid"] == uid.as_str()).unwrap();
        assert_eq!(e["tzid"], "Europe/Paris");
        assert_eq!(e["start"], m["local_start"]);
        assert_eq!(e["end"], m["local_end"]);
        assert_eq!(
            e["utc_offset_seconds"], 3600,
            "March is winter time in Paris"
        );
        assert_eq!(e["status"], "CONFIRMED");
        assert_eq!(e["sequence"], 0);
    }
    let cancelled = format!("meeting-{}@rdv", agenda["meetings"][0]["meeting_id"]);
    let e = events
        .iter()
        .find(|e| e["uid"] == cancelled.as_str())
        .unwrap();
    assert_eq!(
        (e["status"].as_str(), e["sequence"].as_i64()),
        (Some("CANCELLED"), Some(1))
    );
    // A new URL revokes the old one.
    app.post(
        &format!("/api/me/events/{event}/agenda-feed"),
        &buyer,
        json!({}),
    )
    .await;
    let (status, _) = fetch_text(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A plan made before the calendar changed is refused.
    let third = start_run(&app, &admin, event).await;
    drain(&app);
    app.request(
        Method::PUT,
        &format!("/api/events/{event}/tables"),
        Some(&admin),
        Some(json!({"count": 61})),
    )
    .await;
    let (status, body) = app
        .post(&format!("/api/plans/{third}/publish"), &admin, json!({}))
        .await;
    assert_error(status, &body, 409, "conflict");

    // Another organization sees none of it.
    let root = app.login("root@demo.example", "demo").await;
    let (_, org) = app
        .post(
            "/api/organizations",
            &root,
            json!({"slug": "rival", "name": "Rival"}),
        )
        .await;
    app.post(
        &format!("/api/organizations/{}/members", org["id"]),
        &root,
        json!({"email": "rival@rival.example", "password": "long enough secret", "role": "org_admin"}),
    )
    .await;
    let rival = app.login("rival@rival.example", "long enough secret").await;
    for path in [
        format!("/api/plans/{run}"),
        format!("/api/plans/{run}/draft"),
        format!("/api/meeting-requests/{gone}"),
        format!("/api/events/{event}/agendas/{}", agenda["registration_id"]),
    ] {
        let (status, body) = app.get(&path, &rival).await;
        assert_error(status, &body, 404, "not_found");
    }
    let (status, body) = app
        .post(&format!("/api/plans/{run}/publish"), &rival, json!({}))
        .await;
    assert_error(status, &body, 404, "not_found");
}

async fn fetch_text(app: &TestApp, path: &str) -> (StatusCode, String) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    if status == StatusCode::OK {
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/calendar"), "{ct}");
    }
    (status, resp.text().await.unwrap())
}

async fn fetch_bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>, String) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, resp.bytes().await.unwrap().to_vec(), ct)
}

/// The text of each page of a PDF, as `pypdf` extracts it.
fn pdf_text(pdf: &[u8]) -> Vec<String> {
    checker("pdf_text.py", pdf)["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

/// The events and time zones of an iCalendar document, as the `icalendar` package of PyPI
/// reads it (from the checkers' virtual environment `make test` creates).
fn parse_ics(ics: &str) -> Value {
    checker("ics_events.py", ics.as_bytes())
}

/// Request id → (requester, recipient) registration ids.
fn pairs_of(app: &TestApp, meetings: &[Value]) -> std::collections::HashMap<i64, (i64, i64)> {
    let ids: Vec<rdv_domain::MeetingRequestId> = meetings
        .iter()
        .map(|m| rdv_domain::MeetingRequestId(m["request_id"].as_i64().unwrap()))
        .collect();
    rdv_db::queries::meetings::pairs(&mut app.conn(), &ids)
        .unwrap()
        .into_iter()
        .map(|(r, a, b)| (r.0, (a.0, b.0)))
        .collect()
}

#[actix_web::test]
async fn a_running_run_shows_its_progress_and_stops_when_cancelled() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let (status, run) = app
        .post(
            &format!("/api/events/{event}/plans"),
            &admin,
            json!({"time_limit_seconds": 300, "seed": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run = run["id"].as_i64().unwrap();
    let w = worker(&app);
    let mut conn = app.conn();
    let started = std::time::Instant::now();
    let solving = std::thread::spawn(move || {
        w.run_once(&mut conn).unwrap();
        started.elapsed()
    });
    // The run reports the best plan so far about once a second.
    let mut progress = Value::Null;
    for _ in 0..600 {
        let (_, r) = app.get(&format!("/api/plans/{run}"), &admin).await;
        if r["status"] == "running" && r["progress"]["scheduled"].as_i64().unwrap_or(0) > 0 {
            progress = r["progress"].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(progress["weight"].as_i64().unwrap() > 0, "{progress}");
    assert!(progress["breaks"].is_number(), "{progress}");
    assert!(progress["elapsed_s"].is_number(), "{progress}");
    let (status, r) = app
        .post(&format!("/api/plans/{run}/cancel"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    // The solver stops long before its five minutes.
    let took = solving.join().unwrap();
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");
    let (_, r) = app.get(&format!("/api/plans/{run}"), &admin).await;
    assert_eq!(r["status"], "cancelled", "{r}");
    let (_, draft) = app.get(&format!("/api/plans/{run}/draft"), &admin).await;
    assert_eq!(draft["meetings"], json!([]), "{draft}");
}

#[actix_web::test]
async fn a_run_whose_worker_dies_is_taken_over_then_failed_never_stuck() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let run = start_run(&app, &admin, event).await;
    let mut conn = app.conn();
    // A worker claims the job and dies: its lease runs out.
    let kinds = [rdv_app::planning::RUN_JOB];
    let claimed = rdv_db::queries::jobs::claim(
        &mut conn,
        "doomed",
        &kinds,
        chrono::Duration::milliseconds(1),
    )
    .unwrap()
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    // Another worker takes it over and finishes the run.
    drain(&app);
    let (_, done) = app.get(&format!("/api/plans/{run}"), &admin).await;
    assert_eq!(done["status"], "done", "{done}");
    let job = rdv_db::queries::jobs::get(&mut conn, claimed.id).unwrap();
    assert_eq!(job.attempts, 2);

    // A run whose every attempt died reads as failed, and the event can plan again.
    let second = start_run(&app, &admin, event).await;
    for name in ["doomed-1", "doomed-2"] {
        rdv_db::queries::jobs::claim(&mut conn, name, &kinds, chrono::Duration::milliseconds(1))
            .unwrap()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    worker(&app).housekeeping(&mut conn).unwrap();
    let (_, failed) = app.get(&format!("/api/plans/{second}"), &admin).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("stopped"),
        "{failed}"
    );
    start_run(&app, &admin, event).await;
}

#[actix_web::test]
async fn days_of_presence_keep_a_participants_meetings_within_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (_, my_regs) = app.get("/api/me/registrations", &buyer).await;
    let me = my_regs[0]["id"].as_i64().unwrap();
    let (_, days) = app.get(&format!("/api/events/{event}/days"), &admin).await;
    let days = days.as_array().unwrap().clone();
    assert!(days.len() >= 2, "the demo lasts several days");
    let first = days[0]["id"].as_i64().unwrap();
    let first_slots: Vec<i64> = days[0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    let later_slot = days[1]["slots"][0]["id"].as_i64().unwrap();

    // The organizer records that buyer1 comes on the first day only; buyer1 sees it.
    let path = format!("/api/registrations/{me}/presence");
    let (status, body) = app
        .request(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({"day_ids": [first, first]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["day_ids"], json!([first]));
    let (_, mine) = app
        .get(&format!("/api/me/events/{event}/presence"), &buyer)
        .await;
    assert_eq!(mine["day_ids"], json!([first]));
    // A day of another event is refused, and nothing changes.
    let (status, body) = app
        .request(
            Method::PUT,
            &format!("/api/me/events/{event}/presence"),
            Some(&buyer),
            Some(json!({"day_ids": [first, 999999]})),
        )
        .await;
    assert_error(status, &body, 404, "not_found");
    let (_, mine) = app
        .get(&format!("/api/me/events/{event}/presence"), &buyer)
        .await;
    assert_eq!(mine["day_ids"], json!([first]));

    // The plan keeps every meeting of buyer1 on the first day.
    let run = start_run(&app, &admin, event).await;
    drain(&app);
    let (_, draft) = app.get(&format!("/api/plans/{run}/draft"), &admin).await;
    let meetings = draft["meetings"].as_array().unwrap().clone();
    let pairs = pairs_of(&app, &meetings);
    let theirs: Vec<&Value> = meetings
        .iter()
        .filter(|m| {
            let (a, b) = pairs[&m["request_id"].as_i64().unwrap()];
            a == me || b == me
        })
        .collect();
    assert!(!theirs.is_empty());
    for m in &theirs {
        assert!(first_slots.contains(&m["slot_id"].as_i64().unwrap()), "{m}");
    }
    // A hand move to another day is refused, naming why.
    let (status, body) = app
        .request(
            Method::PUT,
            &format!("/api/plans/{run}/meetings/{}", theirs[0]["request_id"]),
            Some(&admin),
            Some(json!({"slot_id": later_slot})),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not at the event"),
        "{body}"
    );
}

#[actix_web::test]
async fn concurrent_requests_of_one_sender_never_exceed_the_allowance() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let path = format!("/api/events/{event}/meeting-requests");
    let (sent, known) = request_partners(&app, &buyer, event).await;
    let live = sent["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "pending" || r["status"] == "accepted")
        .count();
    // One request left in the allowance.
    let (status, body) = app
        .request(
            Method::PUT,
            &format!("/api/events/{event}/meeting-settings"),
            Some(&admin),
            Some(json!({"allowed_pairs": [["buyer", "supplier"]], "acceptance": "mutual", "max_requests_per_participant": live + 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let suppliers: Vec<i64> = registrations(
        &app,
        &admin,
        event,
        "participant_type=supplier&status=validated",
    )
    .await
    .iter()
    .map(|s| s["id"].as_i64().unwrap())
    .filter(|s| !known.contains(s))
    .take(8)
    .collect();
    assert_eq!(suppliers.len(), 8);
    let attempts = suppliers
        .iter()
        .map(|s| app.post(&path, &buyer, json!({"to": s})));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (1, 7), "{statuses:?}");
}
