//! Notifications end to end: a change queues its message in the same transaction, a
//! notification worker sends it through the real local SMTP server (`scripts/mail.sh`), and
//! Python's email parser reads what arrived; the person's state is checked at send time.

use crate::common::{checker, drain, request_partners, settings, start_run, TestApp};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A notification worker with the test settings, sending to `smtp_port`.
pub(crate) fn worker(app: &TestApp, smtp_port: Option<u16>) -> rdv_app::notify::Worker {
    let mut s = settings(&app.db.app_url());
    if let Some(p) = smtp_port {
        s.email.smtp_port = p;
    }
    // Delivery reports come back to this test's server.
    s.notify.public_url = app.base.clone();
    use secrecy::ExposeSecret;
    let secret = s.auth.jwt_secret.expose_secret().to_owned();
    rdv_app::notify::Worker::new("test-notify", &s.email, &s.sms, s.notify.clone(), &secret)
        .unwrap()
}

/// Sends every due message, off the server's thread.
pub(crate) async fn send_all(app: &TestApp) {
    let w = worker(app, None);
    let url = app.db.app_url();
    tokio::task::spawn_blocking(move || {
        let mut conn = rdv_db::establish(&url).unwrap();
        while w.run_once(&mut conn).unwrap().claimed > 0 {}
    })
    .await
    .unwrap();
}

/// The messages the local SMTP server received for `address`, parsed, newest first.
pub(crate) fn mailbox(address: &str) -> Vec<Value> {
    let dir = std::env::var("RDV_MAILDIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/mail").to_owned());
    let new = std::path::Path::new(&dir).join("new");
    assert!(
        new.is_dir(),
        "{} is missing: run the tests with `make test`, which starts the local SMTP server",
        new.display()
    );
    // Newest first: the Maildir outlives test runs, whose databases reuse ids (and so
    // idempotency keys and Message-IDs).
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(new)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.metadata().unwrap().modified().unwrap(), e.path())
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut found = Vec::new();
    for (_, path) in files {
        let bytes = std::fs::read(path).unwrap();
        // Cheap filter before the real parser: the address is in the To header.
        if String::from_utf8_lossy(&bytes).contains(address) {
            let m = checker("mail_message.py", &bytes);
            if m["to"].as_str().unwrap_or("").contains(address) {
                found.push(m);
            }
        }
    }
    found
}

pub(crate) fn outbox(app: &TestApp) -> Vec<rdv_db::models::OutboxMessage> {
    use rdv_db::schema::outbox_messages;
    outbox_messages::table
        .order(outbox_messages::id)
        .select(rdv_db::models::OutboxMessage::as_select())
        .load(&mut app.conn())
        .unwrap()
}

/// A new participant of the demo event, pending, speaking `language`; returns (registration
/// id, person id, email).
pub(crate) async fn newcomer(app: &TestApp, admin: &str, language: &str) -> (i64, i64, String) {
    let event = app.demo_event(admin).await;
    let email = format!(
        "newcomer-{}-{}@mail.example",
        language,
        rand::random::<u32>()
    );
    let (status, person) = app
        .post(
            "/api/persons",
            admin,
            json!({"first_name": "Élodie", "last_name": "Nouvelle", "email": email, "company": "Nouvelle & Fils", "preferred_language": language}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    let (status, reg) = app
        .post(
            &format!("/api/events/{event}/registrations"),
            admin,
            json!({"person_id": person["id"], "participant_type": "buyer", "status": "pending"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    // The registration is acknowledged at once ("received", pending the organizers); the
    // tests that use a newcomer read the messages that come after, so it is taken away.
    {
        use rdv_db::schema::outbox_messages;
        let received = diesel::delete(
            outbox_messages::table
                .filter(outbox_messages::person_id.eq(person["id"].as_i64().unwrap()))
                .filter(outbox_messages::template.eq("registration_received")),
        )
        .execute(&mut app.conn())
        .unwrap();
        assert_eq!(received, 1, "no registration_received message was queued");
    }
    (
        reg["id"].as_i64().unwrap(),
        person["id"].as_i64().unwrap(),
        email,
    )
}

#[actix_web::test]
async fn validating_a_registration_mails_the_participant_in_their_language() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (reg, _, email) = newcomer(&app, &admin, "fr").await;
    assert!(
        outbox(&app).is_empty(),
        "nothing is queued by a new registration yet"
    );

    let (status, _) = app
        .post(
            &format!("/api/registrations/{reg}/validate"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Validating again changes nothing and queues nothing.
    app.post(
        &format!("/api/registrations/{reg}/validate"),
        &admin,
        json!({}),
    )
    .await;
    let queued = outbox(&app);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].template, "registration_validated");
    assert_eq!(queued[0].status, rdv_domain::MessageStatus::Queued);
    // Nothing was sent from the request: the worker sends it.
    assert!(mailbox(&email).is_empty());

    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!((batch.claimed, batch.sent), (1, 1), "{batch:?}");
    let m = &outbox(&app)[0];
    assert_eq!(m.status, rdv_domain::MessageStatus::Sent);
    assert_eq!(m.recipient.as_deref(), Some(email.as_str()));
    assert!(
        m.provider_reply.as_deref().unwrap_or("").starts_with("250"),
        "{m:?}"
    );
    let got = mailbox(&email);
    assert_eq!(got.len(), 1, "{got:?}");
    let mail = &got[0];
    assert_eq!(mail["message_id"], m.message_id.clone().unwrap());
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .contains("votre inscription est validée"),
        "{mail}"
    );
    assert!(
        mail["text"].as_str().unwrap().contains("Bonjour Élodie"),
        "{mail}"
    );
    assert!(
        mail["html"].as_str().unwrap().contains("Demo Events")
            || mail["html"].as_str().unwrap().contains("<strong>"),
        "{mail}"
    );
    assert_eq!(
        mail["list_unsubscribe"],
        Value::Null,
        "transactional mail has no unsubscribe"
    );
    // Nothing left to send.
    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!(batch.claimed, 0);

    // Refusing tells them too, in English for an English speaker, and keeps the team's note
    // for the team.
    let (reg, _, email) = newcomer(&app, &admin, "en").await;
    let (status, _) = app
        .post(
            &format!("/api/registrations/{reg}/refuse"),
            &admin,
            json!({"reason": "internal note: duplicate of another company"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    worker(&app, None).run_once(&mut app.conn()).unwrap();
    let got = mailbox(&email);
    assert_eq!(got.len(), 1);
    assert!(
        got[0]["subject"]
            .as_str()
            .unwrap()
            .contains("was not accepted"),
        "{}",
        got[0]
    );
    assert!(!got[0]["text"].as_str().unwrap().contains("internal note"));
}

#[actix_web::test]
async fn a_meeting_request_and_its_answer_reach_the_other_side() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (_, asked) = request_partners(&app, &buyer, event).await;
    let (_, suppliers) = app
        .get(
            &format!("/api/events/{event}/registrations?participant_type=supplier&status=validated&per_page=100"),
            &admin,
        )
        .await;
    let supplier = suppliers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| !asked.contains(&s["id"].as_i64().unwrap()))
        .unwrap()
        .clone();
    let supplier_email = supplier["person"]["email"].as_str().unwrap().to_owned();
    let (status, request) = app
        .post(
            &format!("/api/events/{event}/meeting-requests"),
            &buyer,
            json!({"to": supplier["id"], "message": "Parlons <pompes> & vannes"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let (status, _) = app
        .post(
            &format!("/api/meeting-requests/{}/decline", request["id"]),
            &admin,
            json!({"reason": "the supplier's quota is full"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!(batch.sent, 2, "{batch:?}");
    let received = mailbox(&supplier_email);
    let invite = received
        .iter()
        .find(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .contains("Parlons <pompes> & vannes")
        })
        .unwrap_or_else(|| panic!("{received:?}"));
    // The HTML part escapes what the participant wrote.
    assert!(invite["html"]
        .as_str()
        .unwrap()
        .contains("Parlons &lt;pompes&gt; &amp; vannes"));
    let declined = mailbox("buyer1@demo.example");
    assert!(
        declined.iter().any(|m| m["text"]
            .as_str()
            .unwrap_or("")
            .contains("the supplier's quota is full")),
        "{declined:?}"
    );
}

#[actix_web::test]
async fn the_persons_state_at_send_time_decides_and_an_unreachable_server_is_retried() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (reg, person, email) = newcomer(&app, &admin, "fr").await;
    app.post(
        &format!("/api/registrations/{reg}/validate"),
        &admin,
        json!({}),
    )
    .await;
    // Nothing listens on port 9: a temporary failure, tried again later.
    let batch = worker(&app, Some(9)).run_once(&mut app.conn()).unwrap();
    assert_eq!((batch.claimed, batch.retried), (1, 1), "{batch:?}");
    let m = &outbox(&app)[0];
    assert_eq!(m.status, rdv_domain::MessageStatus::Queued);
    assert_eq!(m.attempts, 1);
    assert!(m.not_before > chrono::Utc::now(), "{m:?}");
    assert!(m.last_error.is_some());
    // Not due yet: the next batch leaves it alone.
    assert_eq!(
        worker(&app, None)
            .run_once(&mut app.conn())
            .unwrap()
            .claimed,
        0
    );

    // The person restricts their data before it is due: it is never sent.
    {
        use rdv_db::schema::{outbox_messages, persons};
        diesel::update(persons::table.find(rdv_domain::PersonId(person)))
            .set(persons::restricted_at.eq(chrono::Utc::now()))
            .execute(&mut app.conn())
            .unwrap();
        diesel::update(outbox_messages::table)
            .set(outbox_messages::not_before.eq(chrono::Utc::now()))
            .execute(&mut app.conn())
            .unwrap();
    }
    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!(batch.cancelled, 1, "{batch:?}");
    let m = &outbox(&app)[0];
    assert_eq!(m.status, rdv_domain::MessageStatus::Cancelled);
    assert!(m.last_error.as_deref().unwrap().contains("restricted"));
    assert!(mailbox(&email).is_empty());

    // A message whose worker died is sent again once its lease runs out, under the same
    // Message-ID, and a malformed address fails for good at once.
    let (reg, _, email) = newcomer(&app, &admin, "en").await;
    app.post(
        &format!("/api/registrations/{reg}/validate"),
        &admin,
        json!({}),
    )
    .await;
    let claimed = rdv_db::queries::outbox::claim(
        &mut app.conn(),
        "doomed",
        10,
        chrono::Duration::milliseconds(1),
    )
    .unwrap();
    assert_eq!(claimed.len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!(batch.sent, 1, "{batch:?}");
    let got = mailbox(&email);
    assert_eq!(got.len(), 1);
    let m = outbox(&app).pop().unwrap();
    assert_eq!(m.attempts, 2, "the dead worker's attempt counts");
    assert_eq!(got[0]["message_id"], m.message_id.unwrap());
}

#[actix_web::test]
async fn organizers_see_what_was_sent_and_retry_what_failed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let (one, _, email) = newcomer(&app, &admin, "fr").await;
    let (two, _, _) = newcomer(&app, &admin, "en").await;
    for reg in [one, two] {
        app.post(
            &format!("/api/registrations/{reg}/validate"),
            &admin,
            json!({}),
        )
        .await;
    }
    // The second message names a kind no template exists for: a permanent failure.
    {
        use rdv_db::schema::outbox_messages;
        let last = outbox(&app).pop().unwrap();
        diesel::update(outbox_messages::table.find(last.id))
            .set(outbox_messages::template.eq("newsletter"))
            .execute(&mut app.conn())
            .unwrap();
    }
    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!((batch.sent, batch.failed), (1, 1), "{batch:?}");

    let (status, page) = app
        .get(&format!("/api/events/{event}/messages"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 2);
    let sent = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["status"] == "sent")
        .unwrap();
    assert_eq!(sent["recipient"], email.as_str());
    let (_, failed) = app
        .get(
            &format!("/api/events/{event}/messages?status=failed"),
            &admin,
        )
        .await;
    assert_eq!(failed["total"], 1);
    let failed = &failed["items"][0];
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("newsletter"),
        "{failed}"
    );
    // A sent message is not retried; a failed one is queued again.
    let (status, body) = app
        .post(
            &format!("/api/messages/{}/retry", sent["id"]),
            &admin,
            json!({}),
        )
        .await;
    crate::common::assert_error(status, &body, 409, "conflict");
    let (status, body) = app
        .post(
            &format!("/api/messages/{}/retry", failed["id"]),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["attempts"], 0);
    // Participants see none of it.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, _) = app
        .get(&format!("/api/events/{event}/messages"), &buyer)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Plans the event with a short run through the job worker and publishes the plan; returns
/// what the publication answered.
async fn plan_and_publish(app: &TestApp, admin: &str, event: i64) -> Value {
    let run = start_run(app, admin, event).await;
    drain(app);
    let (status, published) = app
        .post(&format!("/api/plans/{run}/publish"), admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    published
}

/// The message of `message_id` in the local mailbox of `address`.
pub(crate) fn mail_with_id(address: &str, message_id: &str) -> Value {
    mailbox(address)
        .into_iter()
        .find(|m| m["message_id"] == message_id)
        .unwrap_or_else(|| panic!("no message {message_id} for {address}"))
}

#[actix_web::test]
async fn publishing_sends_each_participant_their_agenda_with_the_ics_attached() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let published = plan_and_publish(&app, &admin, event).await;
    // One message per participant whose agenda changed, queued with the publication.
    let queued = outbox(&app);
    assert_eq!(
        queued.len() as i64,
        published["participants"].as_i64().unwrap()
    );
    assert!(queued.iter().all(|m| m.template == "agenda_published"));
    // Sending every agenda takes a while: off the server's thread.
    let w = worker(&app, None);
    let url = app.db.app_url();
    tokio::task::spawn_blocking(move || {
        let mut conn = rdv_db::establish(&url).unwrap();
        while w.run_once(&mut conn).unwrap().claimed > 0 {}
    })
    .await
    .unwrap();
    assert!(outbox(&app)
        .iter()
        .all(|m| m.status == rdv_domain::MessageStatus::Sent));

    // buyer1's message lists their meetings and carries the agenda the feed would give.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (_, agenda) = app
        .get(&format!("/api/me/events/{event}/agenda"), &buyer)
        .await;
    let (_, my_regs) = app.get("/api/me/registrations", &buyer).await;
    let me = my_regs[0]["id"].as_i64().unwrap();
    let sent = outbox(&app)
        .into_iter()
        .find(|m| m.data["registration_id"] == me)
        .unwrap();
    let mail = mail_with_id("buyer1@demo.example", sent.message_id.as_deref().unwrap());
    let first = &agenda["meetings"][0];
    let counterpart = first["counterpart"]["last_name"].as_str().unwrap();
    assert!(
        mail["text"].as_str().unwrap().contains(counterpart),
        "{mail}"
    );
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains(&first["local_start"].as_str().unwrap()[11..16]),
        "{mail}"
    );
    let attachments = mail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{mail}");
    assert_eq!(attachments[0]["content_type"], "text/calendar");
    assert_eq!(attachments[0]["method"], "PUBLISH");
    let ics = checker(
        "ics_events.py",
        attachments[0]["text"].as_str().unwrap().as_bytes(),
    );
    assert_eq!(
        ics["events"].as_array().unwrap().len(),
        agenda["meetings"].as_array().unwrap().len(),
        "{ics}"
    );
}

#[actix_web::test]
async fn the_evening_before_each_day_participants_get_that_days_meetings() {
    use chrono::TimeZone;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    plan_and_publish(&app, &admin, event).await;
    // The publication's own messages are not what this test reads.
    {
        use rdv_db::schema::outbox_messages;
        diesel::delete(outbox_messages::table)
            .execute(&mut app.conn())
            .unwrap();
    }
    let (_, days) = app.get(&format!("/api/events/{event}/days"), &admin).await;
    let date: chrono::NaiveDate = days[0]["date"].as_str().unwrap().parse().unwrap();
    let paris = chrono_tz::Europe::Paris;
    let eve = |hour: u32| {
        paris
            .from_local_datetime(&date.pred_opt().unwrap().and_hms_opt(hour, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    // Not before six in the evening, Paris time; then once.
    assert_eq!(
        rdv_app::notify::queue_reminders(&mut app.conn(), eve(17)).unwrap(),
        0
    );
    let queued = rdv_app::notify::queue_reminders(&mut app.conn(), eve(19)).unwrap();
    assert!(queued > 100, "{queued}");
    assert_eq!(
        rdv_app::notify::queue_reminders(&mut app.conn(), eve(21)).unwrap(),
        0
    );

    // buyer1's reminder lists exactly their meetings of that day.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (_, agenda) = app
        .get(&format!("/api/me/events/{event}/agenda"), &buyer)
        .await;
    let (_, my_regs) = app.get("/api/me/registrations", &buyer).await;
    let me = my_regs[0]["id"].as_i64().unwrap();
    {
        use rdv_db::schema::outbox_messages;
        let others: Vec<i64> = outbox(&app)
            .into_iter()
            .filter(|m| m.data["registration_id"] != me)
            .map(|m| m.id.0)
            .collect();
        diesel::update(outbox_messages::table.filter(outbox_messages::id.eq_any(others)))
            .set(outbox_messages::status.eq(rdv_domain::MessageStatus::Cancelled))
            .execute(&mut app.conn())
            .unwrap();
    }
    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!(batch.sent, 1, "{batch:?}");
    let sent = outbox(&app)
        .into_iter()
        .find(|m| m.data["registration_id"] == me)
        .unwrap();
    let mail = mail_with_id("buyer1@demo.example", sent.message_id.as_deref().unwrap());
    let that_day = agenda["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["local_start"]
                .as_str()
                .unwrap()
                .starts_with(&date.to_string())
        })
        .count();
    let text = mail["text"].as_str().unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("- ")).count(),
        that_day,
        "{text}"
    );
    assert!(that_day > 0);

    // And an SMS, due half an hour before buyer1's first meeting that day, that names it.
    let first = agenda["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["local_start"]
                .as_str()
                .unwrap()
                .starts_with(&date.to_string())
        })
        .min_by_key(|m| m["starts_at"].as_str().unwrap().to_owned())
        .unwrap()
        .clone();
    let sms = outbox(&app)
        .into_iter()
        .find(|m| m.channel == rdv_domain::Channel::Sms && m.data["registration_id"] == me)
        .expect("no reminder SMS queued for buyer1");
    let starts: chrono::DateTime<chrono::Utc> =
        first["starts_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        sms.not_before,
        starts - chrono::Duration::minutes(rdv_app::notify::FIRST_MEETING_SMS_MINUTES)
    );
    // Sent now (the meeting is in the future): the text names the time and the place.
    let mobile = unique_mobile();
    {
        use rdv_db::schema::{outbox_messages, persons};
        diesel::update(outbox_messages::table.find(sms.id))
            .set((
                outbox_messages::not_before.eq(chrono::Utc::now()),
                outbox_messages::status.eq(rdv_domain::MessageStatus::Queued),
            ))
            .execute(&mut app.conn())
            .unwrap();
        diesel::update(persons::table.find(sms.person_id.unwrap()))
            .set(persons::mobile_phone.eq(&mobile))
            .execute(&mut app.conn())
            .unwrap();
    }
    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!(batch.sent, 1, "{batch:?}");
    let mut texts = Vec::new();
    for _ in 0..50 {
        texts = delivered_sms(&mobile);
        if !texts.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(texts.len(), 1, "{texts:?}");
    let time = &first["local_start"].as_str().unwrap()[11..16];
    assert!(texts[0].contains(time), "{texts:?}");
    assert!(
        texts[0].contains(first["place"].as_str().unwrap()),
        "{texts:?} {first}"
    );
}

#[actix_web::test]
async fn a_one_click_unsubscribe_link_records_the_marketing_opt_out_and_nothing_else() {
    use secrecy::ExposeSecret;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, person, _) = newcomer(&app, &admin, "fr").await;
    let (_, other, _) = newcomer(&app, &admin, "en").await;
    let (_, p) = app.get(&format!("/api/persons/{person}"), &admin).await;
    let org = rdv_domain::OrganizationId(p["organization_id"].as_i64().unwrap());
    let secret = settings(&app.db.app_url()).auth.jwt_secret;
    let token = rdv_app::notify::unsubscribe_token(
        secret.expose_secret(),
        org,
        rdv_domain::PersonId(person),
    );
    // No login: the token is the proof.
    let (status, body) = app
        .request(
            reqwest::Method::POST,
            &format!("/api/unsubscribe/{token}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["unsubscribed"], true);
    let (_, p) = app.get(&format!("/api/persons/{person}"), &admin).await;
    let first = p["opt_outs"]["marketing_email_at"].clone();
    assert!(first.is_string(), "{p}");
    // A second click keeps the date of the first.
    app.request(
        reqwest::Method::POST,
        &format!("/api/unsubscribe/{token}"),
        None,
        None,
    )
    .await;
    let (_, p) = app.get(&format!("/api/persons/{person}"), &admin).await;
    assert_eq!(p["opt_outs"]["marketing_email_at"], first);
    // A token altered by one character, or made with another key, is not found; the other
    // person is untouched.
    let mut forged: Vec<char> = token.chars().collect();
    forged[20] = if forged[20] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let elsewhere =
        rdv_app::notify::unsubscribe_token("another key", org, rdv_domain::PersonId(other));
    for bad in [forged, elsewhere, "x".to_owned()] {
        let (status, body) = app
            .request(
                reqwest::Method::POST,
                &format!("/api/unsubscribe/{bad}"),
                None,
                None,
            )
            .await;
        crate::common::assert_error(status, &body, 404, "not_found");
    }
    let (_, o) = app.get(&format!("/api/persons/{other}"), &admin).await;
    assert!(o["opt_outs"]["marketing_email_at"].is_null(), "{o}");
}

/// What the local SMS gateway's fake network received for `number`, decoded, oldest first.
/// Each line of fakesmsc's log is `Got message N: <from to type text>`, the text plain
/// (`text`), URL-encoded bytes (`data`) or URL-encoded UCS-2 (`ucs-2`); the parts of a
/// concatenated message come as `udh` lines and are joined.
fn delivered_sms(number: &str) -> Vec<String> {
    let log = std::env::var("RDV_SMS_LOG").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/kannel/delivered.log"
        )
        .to_owned()
    });
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| {
        panic!("{log}: {e}: run the tests with `make test`, which starts the local SMS gateway")
    });
    let decode = |s: &str| -> Vec<u8> {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' if i + 2 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    };
    let ucs2 = |bytes: &[u8]| -> String {
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    };
    let mut found = Vec::new();
    let mut parts = String::new();
    for line in text.lines() {
        let Some(rest) = line.split_once(": <").map(|(_, r)| r.trim_end_matches('>')) else {
            continue;
        };
        let mut f = rest.splitn(4, ' ');
        let (_from, to, kind, body) = (f.next(), f.next(), f.next(), f.next().unwrap_or(""));
        if to != Some(number) {
            continue;
        }
        match kind {
            Some("text") => found.push(body.to_owned()),
            Some("data") => found.push(String::from_utf8_lossy(&decode(body)).into_owned()),
            Some("ucs-2") => found.push(ucs2(&decode(body))),
            Some("udh") => {
                // `udh <udh> <data>`: the UDH's last two bytes are the part count and number.
                let (udh, data) = body.split_once(' ').unwrap();
                let udh = decode(udh);
                let data = decode(data);
                let piece = if data.len() % 2 == 0 && data.iter().step_by(2).any(|b| *b == 0) {
                    ucs2(&data)
                } else {
                    String::from_utf8_lossy(&data).into_owned()
                };
                parts.push_str(&piece);
                if udh[udh.len() - 1] == udh[udh.len() - 2] {
                    found.push(std::mem::take(&mut parts));
                }
            }
            _ => {}
        }
    }
    found
}

/// A mobile number no other test uses, in E.164.
fn unique_mobile() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "+3375{:07}",
        (nanos / 100 + std::process::id()) % 10_000_000
    )
}

#[actix_web::test]
async fn a_changed_agenda_goes_by_sms_through_kannel_and_its_delivery_report_comes_back() {
    use rdv_db::schema::persons;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let published = plan_and_publish(&app, &admin, event).await;
    assert_eq!(published["version"], 1);
    // The first version goes by email only.
    assert!(outbox(&app)
        .iter()
        .all(|m| m.channel == rdv_domain::Channel::Email));

    // buyer1 gets a number of their own; one of their meetings is moved by hand in a new
    // draft, and the draft published.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (_, agenda) = app
        .get(&format!("/api/me/events/{event}/agenda"), &buyer)
        .await;
    let mine = agenda["meetings"][0].clone();
    let (_, me) = app.get("/api/me", &buyer).await;
    let person = me["person"]["id"]
        .as_i64()
        .or_else(|| me["person_id"].as_i64())
        .unwrap_or_else(|| panic!("{me}"));
    let mobile = unique_mobile();
    diesel::update(persons::table.find(person))
        .set(persons::mobile_phone.eq(&mobile))
        .execute(&mut app.conn())
        .unwrap();
    let run = start_run(&app, &admin, event).await;
    drain(&app);
    let (_, days) = app.get(&format!("/api/events/{event}/days"), &admin).await;
    let slots: Vec<i64> = days
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().clone())
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    let url = format!("/api/plans/{run}/meetings/{}", mine["request_id"]);
    let mut moved = false;
    for slot in slots.iter().rev() {
        if Some(*slot) == mine["slot_id"].as_i64() {
            continue;
        }
        let (status, _) = app
            .request(
                reqwest::Method::PUT,
                &url,
                Some(&admin),
                Some(json!({"slot_id": slot})),
            )
            .await;
        if status == StatusCode::OK {
            moved = true;
            break;
        }
    }
    assert!(moved, "no free slot for the meeting");
    let (status, published) = app
        .post(&format!("/api/plans/{run}/publish"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["version"], 2);
    assert!(published["moved"].as_i64().unwrap() >= 1, "{published}");
    let sms: Vec<_> = outbox(&app)
        .into_iter()
        .filter(|m| m.channel == rdv_domain::Channel::Sms)
        .collect();
    assert!(
        sms.iter().any(|m| m.person_id.map(|p| p.0) == Some(person)),
        "no SMS queued for buyer1"
    );
    // Another participant told of the change opts out of SMS before it goes: theirs is
    // cancelled when the worker reads their state, their email still goes.
    let other = sms
        .iter()
        .find(|m| m.person_id.map(|p| p.0) != Some(person))
        .expect("the change concerns the counterpart too")
        .clone();
    diesel::update(persons::table.find(other.person_id.unwrap()))
        .set(persons::optout_sms_at.eq(chrono::Utc::now()))
        .execute(&mut app.conn())
        .unwrap();

    // The worker hands it to Kannel; the fake network receives it; Kannel calls the
    // delivery-report URL back.
    let w = worker(&app, None);
    let db = app.db.app_url();
    tokio::task::spawn_blocking(move || {
        let mut conn = rdv_db::establish(&db).unwrap();
        while w.run_once(&mut conn).unwrap().claimed > 0 {}
    })
    .await
    .unwrap();
    let theirs = outbox(&app).into_iter().find(|m| m.id == other.id).unwrap();
    assert_eq!(theirs.status, rdv_domain::MessageStatus::Cancelled);
    assert_eq!(
        theirs.last_error.as_deref(),
        Some("the person opted out of SMS")
    );
    assert!(outbox(&app).iter().any(|m| m.person_id == other.person_id
        && m.channel == rdv_domain::Channel::Email
        && m.template == "agenda_changed"
        && m.status == rdv_domain::MessageStatus::Sent));
    let mine_sms = outbox(&app)
        .into_iter()
        .find(|m| m.channel == rdv_domain::Channel::Sms && m.person_id.map(|p| p.0) == Some(person))
        .unwrap();
    assert_eq!(
        mine_sms.status,
        rdv_domain::MessageStatus::Sent,
        "{mine_sms:?}"
    );
    assert_eq!(mine_sms.recipient.as_deref(), Some(mobile.as_str()));
    assert!(
        mine_sms
            .provider_reply
            .as_deref()
            .unwrap()
            .starts_with("202"),
        "{mine_sms:?}"
    );
    let mut texts = Vec::new();
    for _ in 0..50 {
        texts = delivered_sms(&mobile);
        if !texts.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(texts.len(), 1, "{texts:?}");
    let text = &texts[0];
    // "<event>: 14:20 table 12 with Acme is now 15:00 table 4. ..." in buyer1's language,
    // within the allowed parts.
    let old_time = &mine["local_start"].as_str().unwrap()[11..16];
    assert!(text.contains(old_time), "{text}");
    assert!(
        text.contains(" is now ") || text.contains(" passe à "),
        "{text}"
    );
    let count = rdv_notify::sms::count(text);
    assert!(count.parts <= 2, "{text}: {count:?}");
    let mut delivered = None;
    for _ in 0..100 {
        let m = outbox(&app)
            .into_iter()
            .find(|m| m.id == mine_sms.id)
            .unwrap();
        if m.delivery_status == Some(rdv_domain::DeliveryStatus::Delivered) {
            delivered = Some(m);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let delivered = delivered.expect("no delivery report came back from Kannel");
    assert!(delivered.delivered_at.is_some());
    assert_eq!(delivered.status, rdv_domain::MessageStatus::Sent);

    // A report with a forged token is not found; a bad type is refused.
    let (status, body) = app
        .request(
            reqwest::Method::GET,
            "/api/sms/dlr/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?type=1",
            None,
            None,
        )
        .await;
    crate::common::assert_error(status, &body, 404, "not_found");
}

#[actix_web::test]
async fn a_password_reset_link_sets_a_new_password_once_and_ends_the_sessions() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let before = app.login("admin@demo.example", "demo").await;
    let ask = |email: &str| {
        app.request(
            Method::POST,
            "/api/auth/password-reset",
            None,
            Some(json!({"email": email})),
        )
    };
    let resets = |app: &TestApp| -> Vec<rdv_db::models::OutboxMessage> {
        outbox(app)
            .into_iter()
            .filter(|m| m.template == "password_reset")
            .collect()
    };
    // An unknown address gets the same answer, and nothing is queued.
    let (status, body) = ask("nobody@nowhere.example").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(resets(&app).is_empty());
    let (status, _) = ask("ADMIN@demo.example").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let queued = resets(&app);
    assert_eq!(queued.len(), 1);
    assert!(queued[0].person_id.is_none() && queued[0].user_account_id.is_some());

    let batch = worker(&app, None).run_once(&mut app.conn()).unwrap();
    assert_eq!(batch.sent, 1, "{batch:?}");
    let sent = resets(&app).remove(0);
    let mail = mail_with_id("admin@demo.example", sent.message_id.as_deref().unwrap());
    assert!(mail["list_unsubscribe"].is_null(), "{mail}");
    let text = mail["text"].as_str().unwrap();
    let start = text.find("/api/auth/password-reset/").unwrap();
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    // The link opens a page with a form; a GET changes nothing.
    let page = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form"));
    // Too short a password is refused, naming the field; a good one is set.
    let (status, body) = app
        .request(
            Method::POST,
            &path,
            None,
            Some(json!({"password": "short"})),
        )
        .await;
    let fields = crate::common::assert_error(status, &body, 422, "validation_failed");
    assert!(fields["password"].is_string(), "{body}");
    let (status, body) = app
        .request(
            Method::POST,
            &path,
            None,
            Some(json!({"password": "a brand new secret"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Every session ended; the new password works, the old one does not.
    let (status, _) = app.get("/api/me", &before).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.login_full("admin@demo.example", "demo").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .login_full("admin@demo.example", "a brand new secret")
        .await;
    assert_eq!(status, StatusCode::OK);
    // The link works once; a forged one never.
    for bad in [path.clone(), "/api/auth/password-reset/AAAA".to_owned()] {
        let (status, body) = app
            .request(
                Method::POST,
                &bad,
                None,
                Some(json!({"password": "yet another secret"})),
            )
            .await;
        let fields = crate::common::assert_error(status, &body, 422, "validation_failed");
        assert!(fields["token"].is_string(), "{body}");
    }
    // At most three messages an hour to one account, whatever the asking.
    for _ in 0..4 {
        let (status, _) = ask("admin@demo.example").await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    assert_eq!(resets(&app).len(), 3);
}
