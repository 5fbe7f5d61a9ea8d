//! `make bench-io`: imports and exports of 100,000 persons (`RDV_BENCH_ROWS` to change) in
//! PostgreSQL, through the use cases and the job queue as the API and `rdv import` run them.
//! Measured, each with the process's peak resident memory during the phase (its high-water
//! mark reset before each):
//! - the dry run of a CSV and of an XLSX file of persons with their registrations (upload,
//!   read, map, check every row);
//! - the real run of each (the CSV's persons into the demo event, then the XLSX's other
//!   persons after the exports), and the CSV's again, every row an update;
//! - PostgreSQL's `COPY` of the same CSV into a table of text columns, in the same run, and
//!   the ratio of the CSV import to it;
//! - the export of the event's registrations (the CSV's and the demo's 300) to CSV and to XLSX.
//!
//! Writes `target/bench/io.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use rdv_app::imports::{self, PassInput, Upload};
use rdv_app::Actor;
use rdv_db::testing::TestDatabase;
use rdv_domain::*;
use serde_json::json;
use std::time::Instant;

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// The process's peak resident memory since the last reset, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| (kb / 1024.0 * 10.0).round() / 10.0)
        .unwrap_or(0.0)
}

/// Resets the peak to the current resident memory (Linux `clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

const HEADERS: [&str; 12] = [
    "Prénom",
    "Nom",
    "E-mail",
    "Société",
    "Fonction",
    "Portable",
    "Pays",
    "Type de participant",
    "Secteurs",
    "Offres",
    "Besoins",
    "Ville",
];

fn row(i: usize, domain: &str) -> Vec<String> {
    vec![
        format!("Prénom{i}"),
        format!("Nom{}", i % 9973),
        format!("p{i}@{domain}"),
        format!("Société {}", i % 4999),
        "Responsable achats".into(),
        format!(
            "06 {:02} {:02} {:02} {:02}",
            (i / 1_000_000) % 100,
            (i / 10_000) % 100,
            (i / 100) % 100,
            i % 100
        ),
        "FR".into(),
        if i.is_multiple_of(2) {
            "acheteur"
        } else {
            "fournisseur"
        }
        .into(),
        "food/retail; food/organic".into(),
        format!(
            "Produits de la gamme {} pour la grande distribution",
            i % 97
        ),
        format!("Distributeurs régionaux, lot {}", i % 89),
        "Lyon".into(),
    ]
}

fn csv_file(n: usize, domain: &str) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::with_capacity(n * 220));
    w.write_record(HEADERS).unwrap();
    for i in 0..n {
        w.write_record(row(i, domain)).unwrap();
    }
    w.into_inner().unwrap()
}

fn xlsx_file(n: usize, domain: &str) -> Vec<u8> {
    let mut w = rdv_io::Writer::new(rdv_io::WriterFormat::Xlsx, "Participants", &HEADERS).unwrap();
    for i in 0..n {
        let cells: Vec<rdv_io::Cell> = row(i, domain).into_iter().map(rdv_io::Cell::Text).collect();
        w.write_row(&cells).unwrap();
    }
    w.finish().unwrap()
}

struct Bench {
    db: TestDatabase,
    worker: rdv_app::jobs::Worker,
    settings: rdv::settings::Settings,
    actor: Actor,
    event: EventId,
}

impl Bench {
    /// Uploads and runs one pass; returns (seconds, peak MiB, progress).
    fn pass(&self, name: &str, bytes: Vec<u8>, writes: bool) -> (f64, f64, serde_json::Value) {
        use rdv_db::Connection;
        let mut conn = rdv_db::establish(&self.db.app_url()).unwrap();
        reset_peak();
        let t = Instant::now();
        let import = conn
            .transaction(|c| {
                imports::upload(
                    c,
                    &self.actor,
                    &self.settings.imports,
                    Upload {
                        kind: "persons".into(),
                        event: Some(self.event),
                        file_name: name.into(),
                        sheet: None,
                        bytes,
                    },
                )
            })
            .unwrap();
        let import = conn
            .transaction(|c| {
                if writes {
                    imports::run(c, &self.actor, import.id, PassInput::default())
                } else {
                    imports::check(c, &self.actor, import.id, PassInput::default())
                }
            })
            .unwrap();
        let ran = self
            .worker
            .run_job(&mut conn, import.job_id.unwrap())
            .unwrap();
        let took = secs(t);
        let peak = peak_mib();
        assert!(matches!(ran, rdv_app::jobs::Ran::Done(_)), "{ran:?}");
        let done = conn
            .transaction(|c| imports::get(c, &self.actor, import.id))
            .unwrap();
        assert_eq!(
            done.status,
            if writes {
                ImportStatus::Done
            } else {
                ImportStatus::Checked
            },
            "{:?}",
            done.error
        );
        eprintln!(
            "  {name} ({}): {took} s, peak {peak} MiB, {}",
            if writes { "import" } else { "dry run" },
            done.progress
        );
        (took, peak, done.progress)
    }

    fn export(&self, format: &str) -> (f64, f64, usize, usize) {
        use rdv_db::Connection;
        let mut conn = rdv_db::establish(&self.db.app_url()).unwrap();
        reset_peak();
        let t = Instant::now();
        let export = conn
            .transaction(|c| {
                rdv_app::exports::request(
                    c,
                    &self.actor,
                    Some(self.event),
                    ExportKind::Participants,
                    rdv_app::exports::SheetOptions {
                        format: Some(format.into()),
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        let ran = self
            .worker
            .run_job(&mut conn, export.job_id.unwrap())
            .unwrap();
        let took = secs(t);
        let peak = peak_mib();
        assert!(matches!(ran, rdv_app::jobs::Ran::Done(_)), "{ran:?}");
        let file = conn
            .transaction(|c| rdv_app::exports::download(c, &self.actor, export.id))
            .unwrap();
        let rows = match format {
            "csv" => file.bytes.iter().filter(|b| **b == b'\n').count() - 1,
            _ => rdv_io::read(
                &file.bytes,
                None,
                &rdv_io::ReadLimits {
                    max_rows: 1_000_000,
                    max_bytes: 1 << 30,
                    ..Default::default()
                },
            )
            .unwrap()
            .rows
            .len(),
        };
        eprintln!(
            "  export {format}: {took} s, peak {peak} MiB, {rows} rows, {} bytes",
            file.bytes.len()
        );
        (took, peak, rows, file.bytes.len())
    }
}

fn main() {
    let started = Instant::now();
    let n: usize = std::env::var("RDV_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let hash = rdv_app::auth::hash_password("demo").unwrap();
    let demo = rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
    let event = EventId(demo.event_id);
    let settings = {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut s = rdv::settings::Settings::load(&dir, "test").unwrap();
        s.imports.max_file_bytes = 200 * 1024 * 1024;
        s
    };
    let registry = rdv_app::maintenance::registry(
        &settings.auth,
        &settings.jobs,
        &settings.privacy,
        &settings.shop,
        &settings.imports,
    );
    let worker = rdv_app::jobs::Worker::new("bench-io", registry, settings.jobs.clone());
    let actor = imports::command_line_actor(&mut conn, Some("admin@demo.example"), None).unwrap();
    let bench = Bench {
        db,
        worker,
        settings,
        actor,
        event,
    };
    eprintln!(
        "io bench: {n} person rows, CSV (Windows-1252 would be the same work: UTF-8 here) and XLSX"
    );
    let csv = csv_file(n, "csv.bench.example");
    let xlsx = xlsx_file(n, "xlsx.bench.example");
    eprintln!(
        "  files: CSV {} bytes, XLSX {} bytes",
        csv.len(),
        xlsx.len()
    );

    let (dry_csv, dry_csv_mib, p1) = bench.pass("bench.csv", csv.clone(), false);
    let (dry_xlsx, dry_xlsx_mib, p2) = bench.pass("bench.xlsx", xlsx.clone(), false);
    assert_eq!(p1["created"], n as u64);
    assert_eq!(p2["created"], n as u64);
    let (imp_csv, imp_csv_mib, p3) = bench.pass("bench.csv", csv.clone(), true);
    assert_eq!(p3["created"], n as u64);
    // The exports, of the n registrations the CSV brought (and the demo's).
    let (exp_csv, exp_csv_mib, csv_rows, csv_bytes) = bench.export("csv");
    let (exp_xlsx, exp_xlsx_mib, xlsx_rows, xlsx_bytes) = bench.export("xlsx");
    let (imp_xlsx, imp_xlsx_mib, p4) = bench.pass("bench.xlsx", xlsx, true);
    assert_eq!(p4["created"], n as u64);
    // The CSV again: every row now updates a known person (written row by row).
    let (upd_csv, upd_csv_mib, p5) = bench.pass("bench.csv", csv.clone(), true);
    assert_eq!(p5["updated"], n as u64);

    // PostgreSQL's COPY of the same bytes into a table of text columns.
    let path = std::env::temp_dir().join(format!("rdv-bench-io-{}.csv", std::process::id()));
    std::fs::write(&path, &csv).unwrap();
    drop(csv);
    diesel::sql_query(
        "CREATE UNLOGGED TABLE bench_copy (first_name text, last_name text, email text, company text, \
         job_title text, mobile_phone text, country text, participant_type text, sectors text, \
         offers text, needs text, city text)",
    )
    .execute(&mut conn)
    .unwrap();
    let t = Instant::now();
    let out = std::process::Command::new("psql")
        .arg(&bench.db.url)
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .arg("-c")
        .arg(format!(
            "\\copy bench_copy FROM '{}' WITH (FORMAT csv, HEADER true, DELIMITER ';')",
            path.display()
        ))
        .output()
        .expect("psql");
    let copy = secs(t);
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "  COPY of the CSV: {copy} s ({})",
        String::from_utf8_lossy(&out.stdout).trim()
    );

    let report = json!({
        "rows": n,
        "machine": "2 cores, PostgreSQL on the same machine",
        "dry_run": {
            "csv_s": dry_csv, "csv_peak_mib": dry_csv_mib,
            "xlsx_s": dry_xlsx, "xlsx_peak_mib": dry_xlsx_mib,
            "target_s": 20,
        },
        "import": {
            "csv_s": imp_csv, "csv_peak_mib": imp_csv_mib,
            "xlsx_s": imp_xlsx, "xlsx_peak_mib": imp_xlsx_mib,
            "target_s": 60,
            "rows_per_s_csv": (n as f64 / imp_csv).round(),
            "csv_again_as_updates_s": upd_csv, "csv_again_as_updates_peak_mib": upd_csv_mib,
        },
        "copy": {
            "csv_s": copy,
            "what": "psql \\copy of the same CSV into an unlogged table of text columns",
            "import_to_copy_ratio": ((imp_csv / copy) * 10.0).round() / 10.0,
        },
        "export": {
            "registrations": csv_rows,
            "csv_s": exp_csv, "csv_peak_mib": exp_csv_mib, "csv_bytes": csv_bytes,
            "xlsx_s": exp_xlsx, "xlsx_peak_mib": exp_xlsx_mib, "xlsx_bytes": xlsx_bytes, "xlsx_rows": xlsx_rows,
            "target_csv_s": 10, "target_xlsx_s": 30, "target_peak_mib": 500,
        },
        "total_s": secs(started),
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("io.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
