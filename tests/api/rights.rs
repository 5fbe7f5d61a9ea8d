//! Data subjects' rights end to end: a participant downloads their archive and asks for
//! erasure, the organizer's queue shows it with its due date, the erasure leaves no trace in a
//! dump of the database, the search index or the logs; restriction, the retention sweep, the
//! record of processing, and the mistakes each endpoint refuses.

use crate::common::{assert_error, job_worker, TestApp};
use crate::notify::{mailbox, outbox, send_all};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// The application's log for this test process, as `rdv serve` writes it (JSON-free plain
/// lines, every event of the rdv crates from DEBUG up).
fn log_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("rdv-rights-{}.log", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let writer = Mutex::new(file);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,rdv=debug,rdv_app=debug,rdv_api=debug,rdv_db=debug,rdv_notify=debug",
            ))
            .with_ansi(false)
            .with_writer(writer)
            .try_init();
        path
    })
    .clone()
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
            (f.name().to_owned(), s)
        })
        .collect()
}

async fn get_bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

/// The completeness check, off the server's thread (a whole `pg_dump` takes a while).
async fn scan(
    person: i64,
    terms: rdv_privacy::scan::Terms,
    erased: bool,
    url: &str,
    index: &std::path::Path,
    logs: Vec<PathBuf>,
) -> rdv_app::privacy::scan::ScanReport {
    let (url, index) = (url.to_owned(), index.to_owned());
    tokio::task::spawn_blocking(move || {
        rdv_app::privacy::scan::scan(
            rdv_domain::PersonId(person),
            &terms,
            erased,
            &url,
            Some(&index),
            &logs,
        )
        .unwrap()
    })
    .await
    .unwrap()
}

/// Runs the due jobs off the server's thread, so that the server keeps answering meanwhile.
async fn drain_jobs(app: &TestApp) {
    let w = job_worker(app);
    let url = app.db.app_url();
    tokio::task::spawn_blocking(move || {
        let mut conn = rdv_db::establish(&url).unwrap();
        while let rdv_app::jobs::Ran::Done(_) | rdv_app::jobs::Ran::Failed { .. } =
            w.run_once(&mut conn).unwrap()
        {}
    })
    .await
    .unwrap();
}

const FIRST: &str = "Zéphyrine";
const LAST: &str = "Quennevillard";
const MOBILE: &str = "+33698765432";

#[actix_web::test]
async fn a_participant_gets_their_archive_then_is_erased_without_a_trace() {
    let logs = log_file();
    let (app, index_dir) = TestApp::spawn_with_search().await;
    let admin = app.admin().await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    // A name and number found nowhere else, so that any trace is this person's.
    let (status, me) = app
        .patch(
            "/api/me",
            &buyer,
            json!({"first_name": FIRST, "last_name": LAST, "mobile_phone": "+33 6 98 76 54 32"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let person = me["person"]["id"]
        .as_i64()
        .or_else(|| me["id"].as_i64())
        .unwrap();
    // A staff read, which the archive's processing log must show.
    let (status, _) = app.get(&format!("/api/persons/{person}"), &admin).await;
    assert_eq!(status, StatusCode::OK);

    // Access: the archive is built by a worker and downloadable by the person alone.
    let (status, access) = app
        .post(
            "/api/me/privacy-requests",
            &buyer,
            json!({"kind": "access"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{access}");
    assert_eq!(access["state"], "in_progress");
    let id = access["id"].as_i64().unwrap();
    let (status, _) = get_bytes(&app, &format!("/api/privacy-requests/{id}/archive"), &buyer).await;
    assert_eq!(status, StatusCode::CONFLICT, "not built yet");
    drain_jobs(&app).await;
    let (status, zip) =
        get_bytes(&app, &format!("/api/privacy-requests/{id}/archive"), &buyer).await;
    assert_eq!(status, StatusCode::OK);
    let files = unzip(&zip);
    for f in [
        "README.txt",
        "data.json",
        "csv/persons.csv",
        "csv/registrations.csv",
        "csv/processing_log.csv",
        "csv/consents.csv",
    ] {
        assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
    }
    let data: Value = serde_json::from_str(&files["data.json"]).unwrap();
    assert_eq!(data["tables"]["persons"][0]["first_name"], FIRST);
    assert_eq!(data["tables"]["persons"][0]["mobile_phone"], MOBILE);
    assert!(!data["tables"]["registrations"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(data["tables"]["user_accounts"][0]
        .get("password_hash")
        .is_none());
    let log = data["processing_log"].as_array().unwrap();
    assert!(
        log.iter()
            .any(|e| e["action"] == "person.read" && e["by"] == "admin@demo.example"),
        "{log:?}"
    );
    assert!(files["csv/persons.csv"].contains(LAST));
    // An expired link answers 409, whoever asks.
    diesel::sql_query(
        "UPDATE privacy_requests SET archive_expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut app.conn())
    .unwrap();
    let (status, _) = get_bytes(&app, &format!("/api/privacy-requests/{id}/archive"), &buyer).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Nobody else downloads it: not the organizer (the person's own request), not another participant.
    let (status, _) = get_bytes(&app, &format!("/api/privacy-requests/{id}/archive"), &admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let staff = crate::rules::staff(&app).await;
    let (status, _) = get_bytes(&app, &format!("/api/privacy-requests/{id}/archive"), &staff).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    send_all(&app).await;
    assert!(
        mailbox("buyer1@demo.example").iter().any(|m| m["subject"]
            .as_str()
            .unwrap_or_default()
            .contains("archive")),
        "no archive-ready message"
    );

    // Before the erasure the completeness check does find the person.
    let url = app.db.url.clone();
    let (terms, erased) =
        rdv_app::privacy::scan::terms(&mut app.conn(), rdv_domain::PersonId(person)).unwrap();
    assert!(!erased);
    let before = scan(person, terms, false, &url, index_dir.path(), vec![]).await;
    assert!(
        before.traces.iter().any(|h| h.source == "database"),
        "{before:?}"
    );

    // Erasure: queued for the organizers, with its 10-day due date.
    let (status, asked) = app
        .post(
            "/api/me/privacy-requests",
            &buyer,
            json!({"kind": "erasure", "details": "Please forget me."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["state"], "received");
    let received: chrono::DateTime<chrono::Utc> =
        asked["received_at"].as_str().unwrap().parse().unwrap();
    let due: chrono::DateTime<chrono::Utc> = asked["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due - received, chrono::Duration::days(10));
    let (status, again) = app
        .post(
            "/api/me/privacy-requests",
            &buyer,
            json!({"kind": "erasure"}),
        )
        .await;
    assert_error(status, &again, 409, "conflict");
    let (status, queue) = app.get("/api/privacy-requests", &admin).await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let erasure = asked["id"].as_i64().unwrap();
    let mine = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == erasure)
        .unwrap();
    assert_eq!(mine["overdue"], false);
    assert_eq!(mine["details"], "Please forget me.");

    let (status, done) = app
        .post(
            &format!("/api/privacy-requests/{erasure}/process"),
            &admin,
            json!({"note": "identity checked"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "done");
    let tables = done["outcome"]["tables"].as_array().unwrap();
    let action = |t: &str| tables.iter().find(|o| o["table"] == t).unwrap()["action"].clone();
    assert_eq!(action("persons"), "anonymised");
    assert_eq!(action("memberships"), "deleted");
    assert_eq!(action("audit_log"), "held");
    // The person is logged out and gone from every staff read.
    let (status, _) = app.get("/api/me", &buyer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get(&format!("/api/persons/{person}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An erasure asked again of an erased person is answered at once, saying so.
    let (status, twice) = app
        .post(
            &format!("/api/persons/{person}/privacy-requests"),
            &admin,
            json!({"kind": "erasure", "channel": "post"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{twice}");
    assert_eq!(twice["state"], "done");
    assert_eq!(twice["outcome"]["already_erased"], true);

    // The last message goes to the address the person had; then the address is forgotten.
    send_all(&app).await;
    assert!(mailbox("buyer1@demo.example").iter().any(|m| m["subject"]
        .as_str()
        .unwrap_or_default()
        .contains("effacées")));
    let last = outbox(&app)
        .into_iter()
        .find(|m| m.template == "erasure_done")
        .unwrap();
    assert_eq!(last.status, rdv_domain::MessageStatus::Sent);
    assert_eq!(last.recipient, None);

    // The search follower drops the person's documents and rewrites their segments.
    let event = app.demo_event(&admin).await;
    let mut found = Value::Null;
    for _ in 0..100 {
        let (status, page) = app
            .get(&format!("/api/events/{event}/search?q={LAST}"), &admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        found = page;
        if found["total"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found["total"], 0, "{found}");
    // Let the follower finish rewriting the segments before their files are read.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // The completeness check: a whole dump, the index files and the logs hold no trace.
    let (terms, erased) =
        rdv_app::privacy::scan::terms(&mut app.conn(), rdv_domain::PersonId(person)).unwrap();
    assert!(erased);
    let after = scan(
        person,
        terms,
        true,
        &url,
        index_dir.path(),
        vec![logs.clone()],
    )
    .await;
    assert!(after.traces.is_empty(), "traces left: {:?}", after.traces);
    assert!(after.sources > 2, "{after:?}");
    // The log of the whole cycle named the person by id only.
    let text = std::fs::read_to_string(&logs).unwrap();
    assert!(text.contains("person erased"), "the log is not captured");
    for term in [FIRST, LAST, "98765432", "buyer1@demo.example"] {
        assert!(!text.contains(term), "the log names {term}");
    }
}

#[actix_web::test]
async fn restriction_hides_and_freezes_a_person_until_an_admin_lifts_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, list) = app
        .get("/api/persons?q=supplier2@demo.example", &admin)
        .await;
    let person = list["items"][0]["id"].as_i64().unwrap();
    // A consent record of the person: restricted with them, so that no sweep removes it.
    let (status, w) = app
        .post(
            &format!("/api/persons/{person}/privacy-requests"),
            &admin,
            json!({"kind": "consent_withdrawal", "purpose": "newsletter", "channel": "post"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    let (status, _) = app
        .post(
            &format!("/api/privacy-requests/{}/process", w["id"]),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let restricted_consents = || {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(
            "SELECT count(*) AS n FROM consent_records WHERE person_id = $1 AND restricted_at IS NOT NULL",
        )
        .bind::<diesel::sql_types::BigInt, _>(person)
        .get_result::<N>(&mut app.conn())
        .unwrap()
        .n
    };
    assert_eq!(restricted_consents(), 0);
    let (status, r) = app
        .post(
            &format!("/api/persons/{person}/privacy-requests"),
            &admin,
            json!({"kind": "restriction", "channel": "email", "details": "I dispute the accuracy of my data."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["channel"], "email");
    let id = r["id"].as_i64().unwrap();
    let (status, done) = app
        .post(
            &format!("/api/privacy-requests/{id}/process"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done["outcome"]["restricted_records"].as_i64().unwrap() >= 2);
    // Admins still read it but nobody changes it; staff do not see it.
    let (status, p) = app.get(&format!("/api/persons/{person}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(p["privacy"]["restricted_at"].is_string());
    let (status, body) = app
        .patch(
            &format!("/api/persons/{person}"),
            &admin,
            json!({"job_title": "CEO"}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    let staff = crate::rules::staff(&app).await;
    let (status, _) = app.get(&format!("/api/persons/{person}"), &staff).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Staff may not lift it, admins may; then the person is back.
    let (status, body) = app
        .post(
            &format!("/api/persons/{person}/restriction/lift"),
            &staff,
            json!({}),
        )
        .await;
    assert_error(status, &body, 403, "forbidden");
    assert_eq!(restricted_consents(), 1);
    let (status, lifted) = app
        .post(
            &format!("/api/persons/{person}/restriction/lift"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lifted}");
    assert_eq!(restricted_consents(), 0);
    let (status, body) = app
        .post(
            &format!("/api/persons/{person}/restriction/lift"),
            &admin,
            json!({}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    let (status, _) = app.get(&format!("/api/persons/{person}"), &staff).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn opposition_takes_effect_at_once_and_bad_requests_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, r) = app
        .post(
            "/api/me/privacy-requests",
            &buyer,
            json!({"kind": "opposition", "purpose": "sms"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "done");
    let (_, me) = app.get("/api/me", &buyer).await;
    let person = me["person"]["id"]
        .as_i64()
        .or_else(|| me["id"].as_i64())
        .unwrap();
    let (_, p) = app.get(&format!("/api/persons/{person}"), &admin).await;
    assert!(p["opt_outs"]["sms_at"].is_string(), "{p}");
    let (status, r) = app
        .post(
            "/api/me/privacy-requests",
            &buyer,
            json!({"kind": "consent_withdrawal", "purpose": "newsletter"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["outcome"]["withdrawn"], "newsletter");

    for (body, field) in [
        (json!({"kind": "opposition"}), "purpose"),
        (json!({"kind": "access", "purpose": "sms"}), "purpose"),
        (
            json!({"kind": "opposition", "purpose": "carrier_pigeon"}),
            "purpose",
        ),
    ] {
        let (status, e) = app.post("/api/me/privacy-requests", &buyer, body).await;
        let e = assert_error(status, &e, 422, "validation_failed");
        assert!(e.get(field).is_some(), "{e}");
    }
    let (status, e) = app
        .post(
            &format!("/api/persons/{person}/privacy-requests"),
            &admin,
            json!({"kind": "access", "channel": "self_service"}),
        )
        .await;
    assert_error(status, &e, 422, "validation_failed");
    let future = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let (status, e) = app
        .post(
            &format!("/api/persons/{person}/privacy-requests"),
            &admin,
            json!({"kind": "access", "channel": "post", "received_at": future}),
        )
        .await;
    assert_error(status, &e, 422, "validation_failed");
    // A request recorded by post a month and a half ago is overdue in the queue.
    let old = (chrono::Utc::now() - chrono::Duration::days(45)).to_rfc3339();
    let (status, r) = app
        .post(&format!("/api/persons/{person}/privacy-requests"), &admin, json!({"kind": "rectification", "channel": "post", "received_at": old, "details": "My company is misspelt."}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let (_, queue) = app.get("/api/privacy-requests", &admin).await;
    assert_eq!(
        queue["items"][0]["id"], r["id"],
        "the oldest deadline comes first"
    );
    assert_eq!(queue["items"][0]["overdue"], true);
    let id = r["id"].as_i64().unwrap();
    let (status, e) = app
        .post(
            &format!("/api/privacy-requests/{id}/reject"),
            &admin,
            json!({"reason": ""}),
        )
        .await;
    assert_error(status, &e, 422, "validation_failed");
    let (status, _) = app
        .post(
            &format!("/api/privacy-requests/{id}/reject"),
            &admin,
            json!({"reason": "We could not check the requester's identity."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, e) = app
        .post(
            &format!("/api/privacy-requests/{id}/process"),
            &admin,
            json!({}),
        )
        .await;
    assert_error(status, &e, 409, "conflict");
    // Participants and staff do not read the queue.
    let (status, _) = app.get("/api/privacy-requests", &buyer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let staff = crate::rules::staff(&app).await;
    let (status, _) = app.get("/api/privacy-requests", &staff).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn the_sweep_erases_what_expired_and_its_dry_run_changes_nothing() {
    let app = TestApp::spawn().await;
    let root = app.login("root@demo.example", "demo").await;
    let admin = app.admin().await;
    let expired: Vec<i64> = {
        use rdv_db::schema::persons;
        let ids: Vec<i64> = persons::table
            .filter(persons::email.like("supplier%"))
            .select(persons::id)
            .order(persons::id)
            .limit(5)
            .load(&mut app.conn())
            .unwrap();
        assert_eq!(ids.len(), 5);
        diesel::update(persons::table.filter(persons::id.eq_any(&ids)))
            .set(persons::retention_until.eq(chrono::Utc::now() - chrono::Duration::days(1)))
            .execute(&mut app.conn())
            .unwrap();
        ids
    };
    // A prospect who never answered, recorded 200 days ago.
    let (status, prospect) = app
        .post(
            "/api/persons",
            &admin,
            json!({"first_name": "Paul", "last_name": "Prospect", "email": "paul@prospect.example", "source": "prospect"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{prospect}");
    let prospect = prospect["id"].as_i64().unwrap();
    // Another, who registered since: a participant now, kept.
    let (status, joined) = app
        .post(
            "/api/persons",
            &admin,
            json!({"first_name": "Jo", "last_name": "Joined", "email": "jo@prospect.example", "source": "prospect"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    let joined = joined["id"].as_i64().unwrap();
    let event = app.demo_event(&admin).await;
    let (status, reg) = app
        .post(
            &format!("/api/events/{event}/registrations"),
            &admin,
            json!({"person_id": joined, "participant_type": "buyer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    diesel::sql_query(
        "UPDATE persons SET created_at = now() - interval '200 days' WHERE id = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(vec![prospect, joined])
    .execute(&mut app.conn())
    .unwrap();
    // An account nobody has used for two years.
    diesel::sql_query(
        "UPDATE user_accounts SET created_at = now() - interval '2 years', last_login_at = NULL \
         WHERE email = 'buyer1@demo.example'",
    )
    .execute(&mut app.conn())
    .unwrap();
    let (status, dry) = app
        .post("/api/privacy/sweeps/dry-run", &root, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    let persons = dry["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "persons")
        .unwrap();
    assert_eq!(persons["rows"], 5, "{dry}");
    assert_eq!(persons["action"], "erase_person");
    let (status, _) = app
        .get(&format!("/api/persons/{}", expired[0]), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "a dry run changes nothing");
    let (status, _) = app
        .post("/api/privacy/sweeps/dry-run", &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let settings = crate::common::settings(&app.db.app_url());
    let (row, report) = rdv_app::privacy::sweep::run_and_record(
        &mut app.conn(),
        &settings.privacy,
        None,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(row.status, "done");
    assert_eq!(
        report
            .tables
            .iter()
            .find(|t| t.table == "persons")
            .unwrap()
            .rows,
        5
    );
    for id in &expired {
        let (status, _) = app.get(&format!("/api/persons/{id}"), &admin).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let rows = |action: &str| {
        report
            .tables
            .iter()
            .find(|t| t.action == action)
            .unwrap()
            .rows
    };
    assert_eq!(rows("erase_unanswered_prospect"), 1);
    assert_eq!(rows("warn_inactive"), 1, "{:?}", report.tables);
    let (status, _) = app.get(&format!("/api/persons/{prospect}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&format!("/api/persons/{joined}"), &admin).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a registered prospect is a participant"
    );
    assert!(outbox(&app)
        .iter()
        .any(|m| m.template == "account_inactive" && m.user_account_id.is_some()));
    // Still unused a month after the warning: the account is closed and its login erased.
    diesel::sql_query(
        "UPDATE user_accounts SET inactivity_warned_at = now() - interval '31 days' \
         WHERE email = 'buyer1@demo.example'",
    )
    .execute(&mut app.conn())
    .unwrap();
    let (_, second) = rdv_app::privacy::sweep::run_and_record(
        &mut app.conn(),
        &settings.privacy,
        None,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(
        second
            .tables
            .iter()
            .find(|t| t.action == "close_inactive")
            .unwrap()
            .rows,
        1
    );
    let (status, _) = app.login_full("buyer1@demo.example", "demo").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, sweeps) = app.get("/api/privacy/sweeps", &root).await;
    assert_eq!(status, StatusCode::OK, "{sweeps}");
    assert_eq!(sweeps[1]["id"], row.id.0);
    assert!(sweeps[1]["report"]["held"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["table"] == "audit_log"));
}

#[actix_web::test]
async fn the_record_of_processing_is_generated_from_the_registry() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .client
        .get(format!("{}/api/privacy/record", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let md = r.text().await.unwrap();
    assert!(md.contains("Controller: Demo Events"), "{md}");
    for t in rdv_privacy::REGISTRY {
        assert!(md.contains(&format!("## {}", t.name)));
    }
}

#[actix_web::test]
async fn persons_confirm_or_correct_their_data_through_the_requalification_link() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // Two persons recorded seven months ago and never confirmed since.
    diesel::sql_query(
        "UPDATE persons SET created_at = now() - interval '7 months' \
         WHERE email IN ('buyer2@demo.example', 'buyer3@demo.example')",
    )
    .execute(&mut app.conn())
    .unwrap();
    let (status, due) = app.get("/api/privacy/requalification", &admin).await;
    assert_eq!(status, StatusCode::OK, "{due}");
    assert_eq!(due["total"], 2, "{due}");
    let person = due["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "buyer2@demo.example")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, sent) = app
        .post("/api/privacy/requalification/send", &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["queued"], 2);
    let (_, again) = app
        .post("/api/privacy/requalification/send", &admin, json!({}))
        .await;
    assert_eq!(again["queued"], 0, "one message a month");
    send_all(&app).await;
    let mail = mailbox("buyer2@demo.example")
        .into_iter()
        .find(|m| {
            m["text"]
                .as_str()
                .unwrap_or_default()
                .contains("/api/requalify/")
        })
        .expect("the requalification message");
    let text = mail["text"].as_str().unwrap();
    let start = text.find("/api/requalify/").unwrap() + "/api/requalify/".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let r = app
        .client
        .get(format!("{}/api/requalify/{token}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("buyer2@demo.example"));
    let path = format!("/api/requalify/{token}");
    let (status, e) = app
        .request(
            reqwest::Method::POST,
            &path,
            None,
            Some(json!({"mobile_phone": "not a number"})),
        )
        .await;
    assert_error(status, &e, 422, "validation_failed");
    let (status, ok) = app
        .request(
            reqwest::Method::POST,
            &path,
            None,
            Some(json!({"company": "Nouvelle Société"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert!(ok["last_verified_at"].is_string());
    let (_, p) = app.get(&format!("/api/persons/{person}"), &admin).await;
    assert_eq!(p["company"], "Nouvelle Société");
    assert!(p["privacy"]["last_verified_at"].is_string());
    let (_, due) = app.get("/api/privacy/requalification", &admin).await;
    assert_eq!(due["total"], 1);
    let (status, _) = app
        .request(reqwest::Method::GET, "/api/requalify/forged", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_closed_organization_gets_its_data_back_then_loses_all_but_the_legal_holds() {
    let app = TestApp::spawn().await;
    let root = app.login("root@demo.example", "demo").await;
    let admin = app.admin().await;
    let (_, me) = app.get("/api/me", &admin).await;
    let org = me["organization_id"].as_i64().unwrap();
    // A consent withdrawal: proof the law keeps.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, _) = app
        .post(
            "/api/me/privacy-requests",
            &buyer,
            json!({"kind": "consent_withdrawal", "purpose": "newsletter"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let close = format!("/api/organizations/{org}/close");
    let (status, e) = app.post(&close, &root, json!({"delay_days": 0})).await;
    assert_error(status, &e, 422, "validation_failed");
    let (status, _) = app.post(&close, &admin, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, closed) = app.post(&close, &root, json!({"delay_days": 10})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{closed}");
    let after: chrono::DateTime<chrono::Utc> =
        closed["purge_after"].as_str().unwrap().parse().unwrap();
    assert!(after > chrono::Utc::now() + chrono::Duration::days(9));
    let (status, e) = app.post(&close, &root, json!({})).await;
    assert_error(status, &e, 409, "conflict");

    // The export, for the organization's admins.
    drain_jobs(&app).await;
    let (status, zip) = get_bytes(
        &app,
        &format!("/api/organizations/{org}/closure/export"),
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let files = unzip(&zip);
    let data: Value = serde_json::from_str(&files["data.json"]).unwrap();
    assert_eq!(data["tables"]["persons"].as_array().unwrap().len(), 300);
    assert_eq!(
        data["tables"]["registrations"].as_array().unwrap().len(),
        300
    );
    assert!(!data["tables"]["events"].as_array().unwrap().is_empty());
    assert!(files.contains_key("csv/persons.csv") && files.contains_key("csv/meeting_slots.csv"));
    assert!(!files["data.json"].contains("password_hash"));
    // What is written during the delay goes into an export built again on request.
    let (status, again) = app
        .post(
            &format!("/api/organizations/{org}/closure/export"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["export_ready"], false);
    drain_jobs(&app).await;
    let (_, ready) = app
        .get(&format!("/api/organizations/{org}/closure"), &admin)
        .await;
    assert_eq!(ready["export_ready"], true, "{ready}");

    // The delay passes: everything goes but what the law keeps.
    let mut conn = app.conn();
    diesel::sql_query(
        "UPDATE organizations SET purge_after = now() - interval '1 second' WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(org)
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("UPDATE jobs SET run_at = now() WHERE kind = 'org.purge'")
        .execute(&mut conn)
        .unwrap();
    drain_jobs(&app).await;
    let (status, done) = app
        .get(&format!("/api/organizations/{org}/closure"), &root)
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done["purged_at"].is_string(), "{done}");
    let purge = &done["report"]["purge"];
    assert_eq!(purge["deleted"]["registrations"], 300, "{purge}");
    assert!(purge["kept"]["audit_log"]["rows"].as_i64().unwrap() > 0);
    assert_eq!(purge["kept"]["consent_records"]["rows"], 1);
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: N = diesel::sql_query(
        "SELECT (SELECT count(*) FROM registrations WHERE organization_id = $1) \
         + (SELECT count(*) FROM events WHERE organization_id = $1) \
         + (SELECT count(*) FROM persons WHERE organization_id = $1 AND (first_name <> '' OR email NOT LIKE '%@erased.invalid')) AS n",
    )
    .bind::<diesel::sql_types::BigInt, _>(org)
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(left.n, 0);
    // Its organizers' logins are gone with it.
    let (status, _) = app.login_full("admin@demo.example", "demo").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get_bytes(
        &app,
        &format!("/api/organizations/{org}/closure/export"),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_person_is_kept_as_long_as_their_latest_event_needs() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (status, person) = app
        .post(
            "/api/persons",
            &admin,
            json!({"first_name": "Lena", "last_name": "Later", "email": "lena@later.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    let (status, event) = app
        .post(
            "/api/events",
            &admin,
            json!({"slug": "fair-2031", "name": "Fair 2031", "time_zone": "Europe/Paris", "starts_on": "2031-01-09", "ends_on": "2031-01-10"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{event}");
    let (status, reg) = app
        .post(
            &format!("/api/events/{}/registrations", event["id"]),
            &admin,
            json!({"person_id": person["id"], "participant_type": "buyer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    let (_, p) = app
        .get(&format!("/api/persons/{}", person["id"]), &admin)
        .await;
    let until: chrono::DateTime<chrono::Utc> = p["privacy"]["retention_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // 36 months after the end of the event.
    assert_eq!(until.date_naive().to_string(), "2034-01-10", "{p}");
}
