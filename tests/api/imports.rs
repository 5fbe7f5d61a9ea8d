//! Imports and spreadsheet exports end to end: the sample files shipped in `docs/samples`
//! read, checked, reported and written through the API and the job queue; prospects and
//! opt-outs; bad files; all-or-nothing and resumed runs; exports read back from the bytes.

use crate::common::*;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/samples")
            .join(name),
    )
    .unwrap()
}

async fn upload(app: &TestApp, token: &str, query: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(format!("{}/api/imports?{query}", app.base))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn uploaded(app: &TestApp, token: &str, query: &str, bytes: Vec<u8>) -> i64 {
    let (status, body) = upload(app, token, query, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

/// Starts a pass (`check` or `run`), lets the workers run it, and answers the import.
async fn pass(app: &TestApp, token: &str, id: i64, verb: &str, body: Value) -> Value {
    let (status, started) = app
        .post(&format!("/api/imports/{id}/{verb}"), token, body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    drain(app);
    let (status, import) = app.get(&format!("/api/imports/{id}"), token).await;
    assert_eq!(status, StatusCode::OK, "{import}");
    import
}

async fn bytes(app: &TestApp, token: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, kind, resp.bytes().await.unwrap().to_vec())
}

/// The registration of the person with `email`, found by a name in the event's list.
async fn registration_of(app: &TestApp, token: &str, event: i64, name: &str, email: &str) -> Value {
    let (_, regs) = app
        .get(
            &format!("/api/events/{event}/registrations?q={name}&per_page=100"),
            token,
        )
        .await;
    regs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["person"]["email"] == email)
        .cloned()
        .unwrap_or_else(|| panic!("{email} not registered: {regs}"))
}

fn count(p: &Value, k: &str) -> u64 {
    p["progress"][k].as_u64().unwrap_or(0)
}

fn persons_with_emails(app: &TestApp, emails: &[&str]) -> i64 {
    use rdv_db::schema::persons;
    let lower: Vec<String> = emails.iter().map(|e| e.to_lowercase()).collect();
    persons::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("true"))
        .filter(persons::email.eq_any(lower))
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

/// (column, reason) of each problem, for comparing two passes.
fn reasons(import: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = import["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["column"].as_str().unwrap_or("").to_owned(),
                p["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[actix_web::test]
async fn the_french_excel_file_is_checked_reported_and_its_report_imported_again() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let (status, up) = upload(
        &app,
        &admin,
        &format!("kind=persons&event_id={event}&file_name=participants-fr-erreurs.csv"),
        sample("participants-fr-erreurs.csv"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    assert_eq!(up["status"], "uploaded");
    assert_eq!(up["detected"]["format"], "csv", "{up}");
    assert_eq!(up["detected"]["encoding"], "windows-1252", "{up}");
    assert_eq!(up["detected"]["separator"], ";", "{up}");
    let mapped: Vec<(String, Value)> = up["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["header"].as_str().unwrap().to_owned(), c["field"].clone()))
        .collect();
    for (header, field) in [
        ("Prénom", "first_name"),
        ("Nom", "last_name"),
        ("Société", "company"),
        ("E-mail", "email"),
        ("Portable", "mobile_phone"),
        ("Type de participant", "participant_type"),
        ("Refus démarchage", "optout_phone_prospecting"),
    ] {
        assert!(
            mapped.contains(&(header.to_owned(), json!(field))),
            "{header} → {field}: {mapped:?}"
        );
    }
    let id = up["id"].as_i64().unwrap();

    // The dry run decides every row and writes nothing.
    let checked = pass(&app, &admin, id, "check", json!({})).await;
    assert_eq!(checked["status"], "checked", "{checked}");
    assert_eq!(count(&checked, "rows"), 11, "{checked}");
    assert_eq!(count(&checked, "created"), 3, "{checked}");
    assert_eq!(count(&checked, "rejected"), 8, "{checked}");
    let problems = checked["problems"].as_array().unwrap();
    let at = |line: i64| -> Vec<&Value> {
        problems
            .iter()
            .filter(|p| p["line"].as_i64() == Some(line))
            .collect()
    };
    for (line, column) in [
        (4, "E-mail"),
        (5, "Nom"),
        (6, "Portable"),
        (7, "Pays"),
        (8, "Type de participant"),
        (9, "E-mail"),
        (12, "Refus démarchage"),
    ] {
        let p = at(line);
        assert!(
            p.iter()
                .any(|p| p["column"] == column && p["decision"] == "reject"),
            "line {line}, {column}: {problems:?}"
        );
    }
    assert!(
        at(9)[0]["reason"].as_str().unwrap().contains("line 2"),
        "{problems:?}"
    );
    assert!(
        at(11)[0]["reason"].as_str().unwrap().contains("cells"),
        "{problems:?}"
    );
    assert_eq!(
        persons_with_emails(
            &app,
            &[
                "helene@confiserie-marchand.example",
                "etienne.lefevre@cave.example"
            ]
        ),
        0,
        "a dry run writes nothing"
    );

    // The report: the file's own columns, then the decision and the error.
    let (status, kind, csv_report) =
        bytes(&app, &admin, &format!("/api/imports/{id}/report")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let report = rdv_io::read(&csv_report, None, &rdv_io::ReadLimits::default()).unwrap();
    assert_eq!(report.headers.len(), 13 + 2, "{:?}", report.headers);
    assert_eq!(report.headers[0], "Civilité");
    assert_eq!(report.headers[14], "error");
    assert_eq!(report.rows.len(), 8);
    assert!(
        report.rows[0].cells[14].starts_with("line 4: E-mail:"),
        "{:?}",
        report.rows[0]
    );
    assert_eq!(report.rows[0].cells[13], "reject");
    let (status, kind, xlsx_report) = bytes(
        &app,
        &admin,
        &format!("/api/imports/{id}/report?format=xlsx&rows=all"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let all = rdv_io::read(&xlsx_report, None, &rdv_io::ReadLimits::default()).unwrap();
    assert_eq!(all.rows.len(), 11);
    assert_eq!(all.rows[0].cells[13], "create");

    // The real run writes the three good rows; opt-outs and national numbers as the API
    // stores them.
    let done = pass(&app, &admin, id, "run", json!({})).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(count(&done, "created"), 3, "{done}");
    let (phone, optout): (Option<String>, Option<chrono::DateTime<chrono::Utc>>) = {
        use rdv_db::schema::persons;
        persons::table
            .filter(persons::email.eq("etienne.lefevre@cave.example"))
            .select((persons::mobile_phone, persons::optout_phone_prospecting_at))
            .first(&mut app.conn())
            .unwrap()
    };
    assert_eq!(phone.as_deref(), Some("+33698765432"));
    assert!(optout.is_some(), "the opt-out in the file is kept");
    let audited: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM audit_log WHERE action = 'import.write' \
         AND cardinality(person_ids) = 3 AND $1 = ANY(subject_ids)",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .get_result::<N>(&mut app.conn())
    .unwrap()
    .n;
    assert_eq!(
        audited, 1,
        "one audit row names the import and the persons written"
    );

    // The report imported again, fixed in nothing: the same errors, but for the duplicate,
    // whose first row is now in the database.
    let again = uploaded(
        &app,
        &admin,
        &format!("kind=persons&event_id={event}&file_name=report.csv"),
        csv_report,
    )
    .await;
    let rechecked = pass(&app, &admin, again, "check", json!({})).await;
    assert_eq!(count(&rechecked, "rejected"), 7, "{rechecked}");
    assert_eq!(count(&rechecked, "updated"), 1, "{rechecked}");
    // The duplicate is no longer one, and the short row comes back filled out with blank
    // cells (so its email and type are missing instead): every other error is the same.
    let mut before = reasons(&checked);
    before.retain(|(_, r)| !r.contains("same email") && !r.contains("cells"));
    let mut after = reasons(&rechecked);
    after.retain(|(c, r)| {
        let filled_out =
            (c == "E-mail" && r.contains("empty")) || r.contains("no default participant type");
        !filled_out
    });
    assert_eq!(after, before);
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[actix_web::test]
async fn the_clean_file_is_imported_and_imported_again_as_updates_or_skips() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let q = format!("kind=persons&event_id={event}&file_name=participants.csv");
    let id = uploaded(&app, &admin, &q, sample("participants.csv")).await;
    let done = pass(&app, &admin, id, "run", json!({})).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(count(&done, "created"), 10, "{done}");
    assert_eq!(count(&done, "rejected"), 0, "{done}");
    let reg = registration_of(
        &app,
        &admin,
        event,
        "Roux",
        "amelie.roux@biscuits-roux.example",
    )
    .await;
    assert_eq!(reg["participant_type"], "supplier", "{reg}");
    assert_eq!(reg["status"], "pending", "{reg}");
    let phone: Option<String> = {
        use rdv_db::schema::persons;
        persons::table
            .filter(persons::email.eq("claire.dubois@epicerie-fine.example"))
            .select(persons::mobile_phone)
            .first(&mut app.conn())
            .unwrap()
    };
    assert_eq!(
        phone.as_deref(),
        Some("+33622334455"),
        "a national number takes the default country"
    );

    // The same file again updates the same persons; nobody is duplicated.
    let id = uploaded(&app, &admin, &q, sample("participants.csv")).await;
    let again = pass(&app, &admin, id, "run", json!({})).await;
    assert_eq!(count(&again, "updated"), 10, "{again}");
    assert_eq!(count(&again, "created"), 0, "{again}");
    assert_eq!(
        persons_with_emails(&app, &["amelie.roux@biscuits-roux.example"]),
        1
    );
    let id = uploaded(&app, &admin, &q, sample("participants.csv")).await;
    let skipped = pass(&app, &admin, id, "check", json!({"on_existing": "skip"})).await;
    assert_eq!(count(&skipped, "skipped"), 10, "{skipped}");

    // A file that fixes phone numbers, its type column blank: registered persons keep their
    // type, whatever the default for new ones.
    let id = uploaded(
        &app,
        &admin,
        &format!("kind=persons&event_id={event}&file_name=phones.csv"),
        "Prénom;Nom;E-mail;Portable;Type\r\nAmélie;Roux;amelie.roux@biscuits-roux.example;06 99 88 77 66;\r\n"
            .as_bytes()
            .to_vec(),
    )
    .await;
    let fixed = pass(
        &app,
        &admin,
        id,
        "run",
        json!({"default_participant_type": "buyer"}),
    )
    .await;
    assert_eq!(count(&fixed, "updated"), 1, "{fixed}");
    let phone: Option<String> = {
        use rdv_db::schema::persons;
        persons::table
            .filter(persons::email.eq("amelie.roux@biscuits-roux.example"))
            .select(persons::mobile_phone)
            .first(&mut app.conn())
            .unwrap()
    };
    assert_eq!(phone.as_deref(), Some("+33699887766"), "the phone fixed");
    let reg = registration_of(
        &app,
        &admin,
        event,
        "Roux",
        "amelie.roux@biscuits-roux.example",
    )
    .await;
    assert_eq!(reg["participant_type"], "supplier", "{reg}");

    // The same rows as a workbook, with a column renamed by hand and a form answer.
    let csv = rdv_io::read(&sample("participants.csv"), None, &Default::default()).unwrap();
    let mut headers: Vec<&str> = csv.headers.iter().map(String::as_str).collect();
    headers[3] = "Entité juridique";
    headers.push("Emplacement");
    let mut w = rdv_io::Writer::new(rdv_io::WriterFormat::Xlsx, "Inscrits", &headers).unwrap();
    for r in &csv.rows {
        let mut cells: Vec<rdv_io::Cell> =
            r.cells.iter().cloned().map(rdv_io::Cell::Text).collect();
        cells.push(rdv_io::Cell::Text("Stand de 9 m²".into()));
        w.write_row(&cells).unwrap();
    }
    let xlsx = w.finish().unwrap();
    let (status, up) = upload(
        &app,
        &admin,
        &format!("kind=persons&event_id={event}&file_name=inscrits.xlsx"),
        xlsx,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    assert_eq!(
        up["detected"],
        json!({"format": "xlsx", "sheet": "Inscrits"})
    );
    let cols = up["columns"].as_array().unwrap();
    assert_eq!(cols[3]["field"], Value::Null, "{up}");
    assert_eq!(cols[12]["field"], "answer:stand_size", "{up}");
    let id = up["id"].as_i64().unwrap();
    let bad = app
        .post(
            &format!("/api/imports/{id}/check"),
            &admin,
            json!({"mapping": {"Entité juridique": "no_such_field", "Nope": "company"}}),
        )
        .await;
    let fields = assert_error(bad.0, &bad.1, 422, "validation_failed");
    assert!(fields["mapping.Nope"].is_string(), "{fields}");
    assert!(fields["mapping.Entité juridique"].is_string(), "{fields}");
    let done = pass(
        &app,
        &admin,
        id,
        "run",
        json!({"mapping": {"Entité juridique": "company"}}),
    )
    .await;
    assert_eq!(count(&done, "updated"), 10, "{done}");
    let answers: Vec<Value> = {
        use rdv_db::schema::registration_answers as ra;
        ra::table.select(ra::answers).load(&mut app.conn()).unwrap()
    };
    let stands = answers
        .iter()
        .filter(|a| a["stand_size"] == "stand")
        .count();
    assert_eq!(
        stands, 6,
        "the suppliers' answers, by the option's label: {answers:?}"
    );
}

#[actix_web::test]
async fn prospects_keep_their_opt_outs_and_an_opposed_prospect_is_not_revived() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let file = "Prénom;Nom;E-mail;Société;Bloctel\r\n\
                Anne;Vidal;anne.vidal@prospect.example;Vidal SA;oui\r\n\
                Paul;Henry;paul.henry@prospect.example;Henry SARL;\r\n\
                Bea;Buyer;buyer1@demo.example;Demo;\r\n";
    let id = uploaded(
        &app,
        &admin,
        "kind=prospects&file_name=prospects.csv",
        file.into(),
    )
    .await;
    let done = pass(&app, &admin, id, "run", json!({})).await;
    assert_eq!(count(&done, "created"), 2, "{done}");
    assert_eq!(count(&done, "skipped"), 1, "{done}");
    assert!(
        done["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not as a prospect"),
        "{done}"
    );
    let rows: Vec<(String, String, String, bool)> = diesel::sql_query(
        "SELECT email, source, legal_basis, optout_phone_prospecting_at IS NOT NULL AS optout \
         FROM persons WHERE email LIKE '%@prospect.example' ORDER BY email",
    )
    .load::<ProspectRow>(&mut app.conn())
    .unwrap()
    .into_iter()
    .map(|r| (r.email, r.source, r.legal_basis, r.optout))
    .collect();
    assert_eq!(
        rows,
        vec![
            (
                "anne.vidal@prospect.example".into(),
                "prospect".into(),
                "legitimate_interest".into(),
                true
            ),
            (
                "paul.henry@prospect.example".into(),
                "prospect".into(),
                "legitimate_interest".into(),
                false
            ),
        ]
    );
    // A later list naming the opposed prospect does not revive her, nor clear her opt-out.
    let file = "First name,Last name,Email,Do not call\n\
                Anne,Vidal,anne.vidal@prospect.example,no\n\
                Paul,Henry,paul.henry@prospect.example,no\n";
    let id = uploaded(
        &app,
        &admin,
        "kind=prospects&file_name=again.csv",
        file.into(),
    )
    .await;
    let again = pass(&app, &admin, id, "run", json!({})).await;
    assert_eq!(count(&again, "skipped"), 1, "{again}");
    assert_eq!(count(&again, "updated"), 1, "{again}");
    assert!(
        again["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("opposed prospecting"),
        "{again}"
    );
    // Prospects belong to no event.
    let (status, body) = upload(
        &app,
        &admin,
        "kind=prospects&event_id=1&file_name=x.csv",
        file.into(),
    )
    .await;
    assert_error(status, &body, 422, "validation_failed");
}

#[derive(QueryableByName)]
struct ProspectRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    email: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    source: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    legal_basis: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    optout: bool,
}

#[actix_web::test]
async fn bad_files_are_refused_with_the_reason_and_nothing_is_stored() {
    let db = rdv_db::testing::TestDatabase::new();
    {
        let mut conn = db.connect();
        let hash = rdv_app::auth::hash_password("demo").unwrap();
        rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
    }
    let mut s = settings(&db.app_url());
    s.imports.max_file_bytes = 64 * 1024;
    let app = TestApp::serve(state(&s), db);
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let q = format!("kind=persons&event_id={event}&file_name=f.csv");
    let zip_of = |name: &str, body: &[u8]| {
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(body).unwrap();
        z.finish().unwrap();
        buf.into_inner()
    };
    for (what, bytes) in [
        ("empty", Vec::new()),
        ("a header only", b"First name,Last name,Email\n".to_vec()),
        ("binary", vec![0u8, 159, 146, 150, 0, 1, 2, 3, 255, 0, 0, 7]),
        (
            "a zip that is not a workbook",
            zip_of("hello.txt", b"hello"),
        ),
        (
            "a zip bomb",
            zip_of("xl/worksheets/sheet1.xml", &vec![b' '; 60 * 1024 * 1024]),
        ),
        (
            "an old .xls",
            vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0],
        ),
    ] {
        let (status, body) = upload(&app, &admin, &q, bytes).await;
        let fields = assert_error(status, &body, 422, "validation_failed");
        assert!(fields["file"].is_string(), "{what}: {body}");
    }
    let (status, body) = upload(&app, &admin, &q, vec![b'a'; 65 * 1024]).await;
    assert_error(status, &body, 413, "payload_too_large");
    let (_, list) = app.get("/api/imports", &admin).await;
    assert_eq!(list, json!([]), "nothing stored");
    // A file without the required columns cannot be checked.
    let id = uploaded(&app, &admin, &q, b"Nom,Ville\nDurand,Lyon\n".to_vec()).await;
    let (status, body) = app
        .post(&format!("/api/imports/{id}/check"), &admin, json!({}))
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(
        fields["mapping"]
            .as_str()
            .unwrap()
            .contains("no column fills"),
        "{fields}"
    );
    // Participants may not import.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, _) = upload(&app, &buyer, &q, sample("participants.csv")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn all_or_nothing_writes_nothing_when_a_row_is_rejected() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let id = uploaded(
        &app,
        &admin,
        &format!("kind=persons&event_id={event}&file_name=f.csv"),
        sample("participants-fr-erreurs.csv"),
    )
    .await;
    let failed = pass(&app, &admin, id, "run", json!({"all_or_nothing": true})).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("nothing written"),
        "{failed}"
    );
    assert_eq!(count(&failed, "rejected"), 8, "{failed}");
    assert_eq!(
        persons_with_emails(&app, &["helene@confiserie-marchand.example"]),
        0
    );
}

#[actix_web::test]
async fn a_retried_run_resumes_after_the_last_batch_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let mut file = String::from("First name,Last name,Email,Participant type\n");
    for i in 0..3500 {
        file.push_str(&format!("P{i},Bulk,bulk{i}@bulk.example,buyer\n"));
    }
    let id = uploaded(
        &app,
        &admin,
        &format!("kind=persons&event_id={event}&file_name=bulk.csv"),
        file.into_bytes(),
    )
    .await;
    let (status, _) = app
        .post(&format!("/api/imports/{id}/run"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // As if a worker had committed the first batch and died.
    diesel::sql_query(
        "UPDATE imports SET progress = '{\"rows\": 3500, \"read\": 1000, \"created\": 1000, \"position\": 1000, \"batches\": 1}', \
         decisions = repeat('c', 1000) WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut app.conn())
    .unwrap();
    drain(&app);
    let (_, done) = app.get(&format!("/api/imports/{id}"), &admin).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(count(&done, "created"), 3500, "{done}");
    assert_eq!(count(&done, "batches"), 4, "{done}");
    let written: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM persons WHERE email LIKE 'bulk%@bulk.example'",
    )
    .get_result::<N>(&mut app.conn())
    .unwrap()
    .n;
    assert_eq!(
        written, 2500,
        "rows of the committed batch are not written twice"
    );

    // An export longer than one fetch of the cursor, with its progress stored on the way.
    let (status, e) = app
        .post(
            &format!("/api/events/{event}/exports"),
            &admin,
            json!({"kind": "participants", "columns": ["email"]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{e}");
    drain(&app);
    let (_, e) = app.get(&format!("/api/exports/{}", e["id"]), &admin).await;
    assert_eq!(e["status"], "done", "{e}");
    let (_, _, csv) = bytes(&app, &admin, &format!("/api/exports/{}/file", e["id"])).await;
    let lines = String::from_utf8(csv).unwrap().lines().count();
    let registered: i64 = diesel::sql_query("SELECT count(*) AS n FROM registrations")
        .get_result::<N>(&mut app.conn())
        .unwrap()
        .n;
    assert_eq!(
        lines as i64,
        registered + 1,
        "every registration and the header"
    );
    assert!(registered > 2000);
}

#[actix_web::test]
async fn meeting_requests_and_tables_go_through_their_own_rules() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let tables = "Table;Zone\r\nA1;Hall 1\r\nA2;Hall 1\r\n;Hall 2\r\nB1;\r\n";
    let id = uploaded(
        &app,
        &admin,
        &format!("kind=tables&event_id={event}&file_name=tables.csv"),
        tables.into(),
    )
    .await;
    let done = pass(&app, &admin, id, "run", json!({})).await;
    assert_eq!(count(&done, "rejected"), 1, "{done}");
    let (_, listed) = app
        .get(&format!("/api/events/{event}/tables"), &admin)
        .await;
    let labels: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(&labels[..2], &["A1 (Hall 1)", "A2 (Hall 1)"], "{listed}");
    assert_eq!(labels[3], "B1", "{listed}");

    let (_, buyers) = app
        .get(
            &format!("/api/events/{event}/registrations?participant_type=buyer&status=validated"),
            &admin,
        )
        .await;
    let (_, suppliers) = app
        .get(
            &format!(
                "/api/events/{event}/registrations?participant_type=supplier&status=validated"
            ),
            &admin,
        )
        .await;
    let email = |v: &Value, i: usize| {
        v["items"][i]["person"]["email"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let file = format!(
        "Demandeur,Destinataire,Priorité,Message\n{},{},indispensable,Bonjour\n{},{},,\n{},nobody@nowhere.example,,\n{},{},,\n{},{},,\n",
        email(&buyers, 0),
        email(&suppliers, 0),
        email(&buyers, 1),
        email(&suppliers, 1),
        email(&buyers, 0),
        email(&buyers, 0),
        email(&buyers, 0),
        email(&buyers, 1),
        email(&suppliers, 1),
    );
    let id = uploaded(
        &app,
        &admin,
        &format!("kind=meeting_requests&event_id={event}&file_name=requests.csv"),
        file.into(),
    )
    .await;
    let checked = pass(&app, &admin, id, "check", json!({})).await;
    assert_eq!(count(&checked, "created"), 2, "{checked}");
    assert_eq!(count(&checked, "rejected"), 3, "{checked}");
    assert!(
        checked["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["line"] == 6 && p["reason"] == "the same request as line 3"),
        "a repeated request is found by the dry run too: {checked}"
    );
    let requests = |app: &TestApp| -> i64 {
        diesel::sql_query("SELECT count(*) AS n FROM meeting_requests")
            .get_result::<N>(&mut app.conn())
            .unwrap()
            .n
    };
    let before = requests(&app);
    let done = pass(&app, &admin, id, "run", json!({})).await;
    assert_eq!(count(&done, "created"), 2, "{done}");
    assert_eq!(requests(&app), before + 2);
}

#[actix_web::test]
async fn exports_are_typed_neutralised_filtered_and_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let id = uploaded(
        &app,
        &admin,
        &format!("kind=persons&event_id={event}&file_name=f.csv"),
        sample("participants-fr-erreurs.csv"),
    )
    .await;
    pass(&app, &admin, id, "run", json!({})).await;
    // One participant restricted: left out of exports.
    diesel::sql_query(
        "UPDATE persons SET restricted_at = now() WHERE email = 'etienne.lefevre@cave.example'",
    )
    .execute(&mut app.conn())
    .unwrap();

    let export = |body: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (status, e) = app
                .post(&format!("/api/events/{event}/exports"), &admin, body)
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{e}");
            drain(app);
            let id = e["id"].as_i64().unwrap();
            let (_, e) = app.get(&format!("/api/exports/{id}"), &admin).await;
            assert_eq!(e["status"], "done", "{e}");
            bytes(app, &admin, &format!("/api/exports/{id}/file")).await
        }
    };
    let (status, kind, xlsx) = export(json!({"kind": "participants", "format": "xlsx"})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    {
        use calamine::{Data, Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx.clone())).unwrap();
        let range = wb.worksheet_range("participants").unwrap();
        let header: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(header[0], "registration_id");
        assert!(
            header.contains(&"stand_size".to_owned()),
            "form answers: {header:?}"
        );
        let second = range.rows().nth(1).unwrap();
        assert!(
            matches!(second[0], Data::Float(_) | Data::Int(_)),
            "numbers as numbers: {:?}",
            second[0]
        );
        let at = header.iter().position(|h| h == "registered_at").unwrap();
        assert!(
            matches!(second[at], Data::DateTime(_)),
            "dates as dates: {:?}",
            second[at]
        );
    }
    let sheet = rdv_io::read(&xlsx, None, &Default::default()).unwrap();
    let emails: Vec<&str> = sheet.rows.iter().map(|r| r.cells[5].as_str()).collect();
    assert!(
        emails.contains(&"helene@confiserie-marchand.example"),
        "{emails:?}"
    );
    assert!(
        !emails.contains(&"etienne.lefevre@cave.example"),
        "restricted left out"
    );

    let (_, kind, csv) = export(json!({
        "kind": "participants", "separator": ";", "q": "Rousseau",
        "columns": ["last_name", "company", "email"]
    }))
    .await;
    assert!(kind.starts_with("text/csv"), "{kind}");
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "last_name;company;email");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].contains("'=HYPERLINK"),
        "formulas neutralised: {text}"
    );

    let audited: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM audit_log WHERE action = 'export.download' \
         AND 'email' = ANY(field_names) AND cardinality(person_ids) >= 1",
    )
    .get_result::<N>(&mut app.conn())
    .unwrap()
    .n;
    assert_eq!(audited, 2, "each download audited with persons and columns");

    // The audit log is the organization's, for its admins.
    let (status, e) = app
        .post(
            "/api/exports",
            &admin,
            json!({"kind": "audit", "format": "csv"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{e}");
    drain(&app);
    let (status, _, audit) = bytes(&app, &admin, &format!("/api/exports/{}/file", e["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(audit).unwrap().contains("import.write"));
    let staff = crate::rules::staff(&app).await;
    let (status, _) = app
        .post("/api/exports", &staff, json!({"kind": "audit"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = bytes(&app, &staff, &format!("/api/exports/{}/file", e["id"])).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "staff do not see the audit log's export"
    );
    let (status, body) = app
        .post(
            &format!("/api/events/{event}/exports"),
            &admin,
            json!({"kind": "participants", "columns": ["password"]}),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields["columns[0]"].is_string(), "{fields}");
}
