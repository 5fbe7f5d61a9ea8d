//! `make bench-privacy`: the privacy engine on a large organization held in PostgreSQL.
//! 100,000 persons (`RDV_BENCH_PERSONS` to change), each with a registration, a consent
//! record and audit rows (three reads of one person each, and bulk reads naming 100), 10% of
//! them past their retention deadline. Measured: the access archive of one person, the
//! erasure of one person (both over 20 persons: median and worst), and the retention sweep of
//! the expired persons while two threads read persons and registration pages through the
//! application's use cases: p50, p99 and worst latency of those reads during the sweep,
//! against the same load alone for 10 s just before.
//! Writes `target/bench/privacy.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rdv_app::privacy::{archive, erase, sweep, PrivacySettings};
use rdv_app::Actor;
use rdv_db::testing::TestDatabase;
use rdv_domain::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    (samples[i] * 1000.0).round() / 1000.0
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn exec(conn: &mut rdv_db::Conn, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap();
}

fn main() {
    let total = Instant::now();
    let n: i64 = std::env::var("RDV_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let expired = n / 10;
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let hash = rdv_app::auth::hash_password("demo").unwrap();
    let demo = rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
    let (org, event) = (OrganizationId(demo.organization_id), EventId(demo.event_id));
    eprintln!("privacy bench: seeding {n} persons with registrations, consents and audit rows...");
    let seeded = Instant::now();
    // Set-based inserts: the figures measure the engine, not the seeding.
    exec(
        &mut conn,
        &format!(
            "INSERT INTO persons (organization_id, first_name, last_name, email, mobile_phone, company, \
             country, preferred_language, legal_basis, retention_until, source) \
             SELECT {org}, 'Bench' || g, 'Person' || g, 'bench' || g || '@bench.example', \
             '+3361' || lpad(g::text, 7, '0'), 'Company ' || (g % 997), 'FR', 'fr', 'contract', \
             CASE WHEN g <= {expired} THEN now() - interval '1 day' ELSE now() + interval '3 years' END, \
             'registration' FROM generate_series(1, {n}) g"
        ),
    );
    exec(
        &mut conn,
        &format!(
            "INSERT INTO registrations (organization_id, event_id, person_id, participant_type, status, \
             offers, needs, legal_basis, retention_until, source) \
             SELECT {org}, {event}, p.id, CASE WHEN p.id % 2 = 0 THEN 'buyer' ELSE 'supplier' END, \
             'validated', 'Offers of ' || p.last_name, 'Needs of ' || p.last_name, 'contract', \
             p.retention_until, 'registration' FROM persons p WHERE p.email LIKE 'bench%'"
        ),
    );
    exec(
        &mut conn,
        &format!(
            "INSERT INTO consent_records (organization_id, person_id, purpose, text_version, granted, \
             method, client_address, legal_basis, retention_until, source) \
             SELECT {org}, p.id, 'newsletter', 'v1', true, 'web_form', '192.0.2.1', 'consent', \
             now() + interval '5 years', 'registration' FROM persons p WHERE p.email LIKE 'bench%'"
        ),
    );
    // Three single reads per person, and bulk reads naming 100 persons each.
    exec(
        &mut conn,
        &format!(
            "INSERT INTO audit_log (organization_id, action, subject_type, subject_ids, person_ids, field_names) \
             SELECT {org}, 'person.read', 'person', ARRAY[p.id], ARRAY[p.id], ARRAY['email'] \
             FROM persons p, generate_series(1, 3) WHERE p.email LIKE 'bench%'"
        ),
    );
    exec(
        &mut conn,
        &format!(
            "INSERT INTO audit_log (organization_id, action, subject_type, person_ids, field_names) \
             SELECT {org}, 'person.list', 'person', array_agg(p.id), ARRAY['first_name'] \
             FROM persons p WHERE p.email LIKE 'bench%' GROUP BY p.id / 100"
        ),
    );
    exec(&mut conn, "DELETE FROM search_outbox");
    exec(&mut conn, "ANALYZE");
    let seed_s = seeded.elapsed().as_secs_f64();
    eprintln!("  seeded in {seed_s:.1} s");

    let ids: Vec<i64> = diesel::sql_query(
        "SELECT id FROM persons WHERE email LIKE 'bench%' AND retention_until > now() ORDER BY id LIMIT 40",
    )
    .load::<Id>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();

    // The access archive of one person.
    let mut archive_ms = Vec::new();
    let mut archive_bytes = 0;
    for id in &ids[..20] {
        let t = Instant::now();
        let (bytes, _) = archive::build(&mut conn, org, PersonId(*id)).unwrap();
        archive_ms.push(ms(t));
        archive_bytes = bytes.len();
    }
    // The erasure of one person, each in its own transaction.
    let mut erase_ms = Vec::new();
    for id in &ids[20..40] {
        let t = Instant::now();
        conn.transaction(|c| erase::erase(c, org, PersonId(*id)).map(|_| ()))
            .unwrap();
        erase_ms.push(ms(t));
    }
    eprintln!(
        "  archive p50 {} ms, erasure p50 {} ms",
        percentile(&mut archive_ms.clone(), 0.5),
        percentile(&mut erase_ms.clone(), 0.5)
    );

    // The sweep, with a concurrent read load through the use cases the API calls.
    let (admin_user, admin_membership): (i64, i64) = diesel::sql_query(
        "SELECT m.user_account_id AS id, m.id AS membership FROM memberships m \
         JOIN user_accounts u ON u.id = m.user_account_id WHERE u.email = 'admin@demo.example'",
    )
    .get_result::<AdminRow>(&mut conn)
    .map(|r| (r.id, r.membership))
    .unwrap();
    let actor = Actor {
        user: UserAccountId(admin_user),
        membership: MembershipId(admin_membership),
        organization: Some(org),
        role: Role::OrgAdmin,
        person: None,
        client_address: Some("127.0.0.1".into()),
    };
    let live: Vec<i64> = diesel::sql_query(
        "SELECT id FROM persons WHERE email LIKE 'bench%' AND retention_until > now() \
         AND erased_at IS NULL ORDER BY id OFFSET 100 LIMIT 5000",
    )
    .load::<Id>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();
    let live = Arc::new(live);
    // The same read load twice: alone (the baseline), then during the sweep.
    let spawn_readers = |stop: Arc<AtomicBool>| -> Vec<std::thread::JoinHandle<Vec<(bool, f64)>>> {
        (0..2)
            .map(|k| {
                let (stop, actor, live, url) =
                    (stop.clone(), actor.clone(), live.clone(), db.app_url());
                std::thread::spawn(move || read_load(&url, &actor, event, &live, k, &stop))
            })
            .collect()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let readers = spawn_readers(stop.clone());
    std::thread::sleep(std::time::Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    let baseline: Vec<(bool, f64)> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let readers = spawn_readers(stop.clone());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let settings = PrivacySettings::default();
    let t = Instant::now();
    let report = sweep::sweep(&mut conn, &settings, false, chrono::Utc::now(), |_, _| {}).unwrap();
    let sweep_s = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let during: Vec<(bool, f64)> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    let swept = report
        .tables
        .iter()
        .find(|t| t.table == "persons")
        .map(|t| t.rows)
        .unwrap_or(0);
    let out = json!({
        "persons": n,
        "seed_s": (seed_s * 10.0).round() / 10.0,
        "archive_ms": {"p50": percentile(&mut archive_ms.clone(), 0.5), "max": percentile(&mut archive_ms, 1.0), "bytes": archive_bytes, "target_ms": 2000},
        "erasure_ms": {"p50": percentile(&mut erase_ms.clone(), 0.5), "max": percentile(&mut erase_ms, 1.0), "target_ms": 1000},
        "sweep": {
            "persons_erased": swept,
            "seconds": (sweep_s * 100.0).round() / 100.0,
            "target_s": 60,
            "batch": settings.sweep_batch,
            "duty_percent": settings.sweep_duty_percent,
            "tables": report.tables,
        },
        "reads_alone_ms": latencies(&baseline),
        "reads_during_sweep_ms": latencies(&during),
        "target_p99_during_sweep_ms": 100,
        "total_s": (total.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let text = serde_json::to_string_pretty(&out).unwrap();
    std::fs::write(dir.join("privacy.json"), &text).unwrap();
    println!("{text}");
}

#[derive(QueryableByName)]
struct AdminRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    membership: i64,
}

/// Reads as the API serves them, until `stop`: three reads of one person for one page of 50
/// registrations, each in its own transaction (with its audit row). Returns (page?, ms).
fn read_load(
    url: &str,
    actor: &Actor,
    event: EventId,
    live: &[i64],
    k: usize,
    stop: &AtomicBool,
) -> Vec<(bool, f64)> {
    let mut c = rdv_db::establish(url).unwrap();
    let mut lat = Vec::new();
    let mut i = k;
    while !stop.load(Ordering::Relaxed) {
        let id = PersonId(live[i % live.len()]);
        let page = i % 4 == 3;
        let t = Instant::now();
        if page {
            c.transaction(|c| {
                rdv_app::registrations::list(
                    c,
                    actor,
                    event,
                    rdv_app::registrations::RegistrationQuery {
                        per_page: Some(50),
                        page: Some(((i / 4) % 50) as u32 + 1),
                        ..Default::default()
                    },
                )
                .map(|_| ())
            })
            .unwrap();
        } else {
            c.transaction(|c| rdv_app::persons::get(c, actor, id).map(|_| ()))
                .unwrap();
        }
        lat.push((page, ms(t)));
        i += 2;
    }
    lat
}

/// p50, p99 and worst latency, over all reads and per kind.
fn latencies(samples: &[(bool, f64)]) -> serde_json::Value {
    let stats = |mut v: Vec<f64>| {
        let max = v.iter().copied().fold(0.0, f64::max);
        json!({"count": v.len(), "p50": percentile(&mut v, 0.5), "p99": percentile(&mut v, 0.99), "max": (max * 1000.0).round() / 1000.0})
    };
    json!({
        "all": stats(samples.iter().map(|s| s.1).collect()),
        "person_read": stats(samples.iter().filter(|s| !s.0).map(|s| s.1).collect()),
        "registration_page": stats(samples.iter().filter(|s| s.0).map(|s| s.1).collect()),
    })
}
