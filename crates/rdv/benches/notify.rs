//! `make bench-notify`: the notification outbox against real servers. Writes
//! `target/bench/notify.json`.
//!
//! 1. Throughput: 100,000 queued emails (`RDV_BENCH_EMAILS` to change) sent by two
//!    notification workers to a local SMTP server (Debian's python3-aiosmtpd, keeping every
//!    message in a Maildir), compared in the same run with a bare lettre loop sending as many
//!    messages of the same content to the same server over as many connections at once (two
//!    times `email.pool_size` threads sharing one pooled transport, the messages rendered
//!    beforehand).
//! 2. Crash safety: 10,000 queued emails sent by `rdv notify-worker` processes, each killed
//!    with SIGKILL three times during the run and restarted: messages lost (queued ones never
//!    received) and duplicates (Message-IDs received twice), against the batch in flight at
//!    each kill.
//! 3. SMS: 10,000 texts handed to the local Kannel gateway (scripts/sms.sh) through its HTTP
//!    sendsms interface by two threads, per second, and how many the fake SMSC received.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use rdv_db::models::*;
use rdv_db::schema::{outbox_messages, persons};
use rdv_db::testing::TestDatabase;
use rdv_domain::*;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A local SMTP server of its own for one phase, keeping what it receives in `dir`.
struct Smtp {
    port: u16,
    dir: PathBuf,
    child: Child,
}

impl Smtp {
    fn start(name: &str) -> Self {
        let dir = root().join("target/bench/notify-mail").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd (scripts/deps.sh installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { port, dir, child };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the bench's SMTP server did not start");
    }

    /// The Message-IDs of what arrived, with how many times each.
    fn received(&self) -> HashMap<String, usize> {
        let mut ids = HashMap::new();
        for e in std::fs::read_dir(self.dir.join("new")).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let id = text
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("message-id")
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_default();
            *ids.entry(id).or_default() += 1;
        }
        ids
    }

    fn count(&self) -> usize {
        std::fs::read_dir(self.dir.join("new")).unwrap().count()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn settings() -> rdv::settings::Settings {
    rdv::settings::Settings::load(&root().join("config"), "test").unwrap()
}

/// Queues `n` emails of kind `registration_validated` to the bench's persons, keys
/// `{prefix}:{i}`.
fn enqueue(
    conn: &mut rdv_db::Conn,
    org: OrganizationId,
    event: EventId,
    persons: &[PersonId],
    prefix: &str,
    n: usize,
) {
    let now = Utc::now();
    let rows: Vec<NewOutboxMessage> = (0..n)
        .map(|i| NewOutboxMessage {
            organization_id: Some(org),
            event_id: Some(event),
            person_id: Some(persons[i % persons.len()]),
            user_account_id: None,
            channel: Channel::Email,
            template: "registration_validated".into(),
            data: json!({}),
            idempotency_key: format!("{prefix}:{i}"),
            not_before: now,
            max_attempts: 12,
            legal_basis: LegalBasis::Contract,
            retention_until: now + chrono::Duration::days(30),
            source: DataSource::System,
            campaign_id: None,
            solicitation: false,
        })
        .collect();
    assert_eq!(
        rdv_db::queries::outbox::enqueue_many(conn, &rows).unwrap(),
        n
    );
}

fn queued(conn: &mut rdv_db::Conn) -> i64 {
    outbox_messages::table
        .filter(outbox_messages::status.eq(MessageStatus::Queued))
        .count()
        .get_result(conn)
        .unwrap()
}

fn main() {
    let total = Instant::now();
    let n: usize = std::env::var("RDV_BENCH_EMAILS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let org = rdv_db::queries::organizations::create(&mut conn, "bench", "Bench Fairs").unwrap();
    let day = NaiveDate::from_ymd_opt(2027, 10, 5).unwrap();
    let event = rdv_db::queries::events::create(
        &mut conn,
        &NewEvent {
            organization_id: org.id,
            slug: "bench-fair".into(),
            name: "Bench Fair".into(),
            time_zone: "Europe/Paris".into(),
            venue: None,
            starts_on: day,
            ends_on: day,
            status: EventStatus::Open,
        },
    )
    .unwrap();
    // 2,000 recipients over 20 mail domains, half in French.
    let recipients: Vec<PersonId> = (0..2000)
        .map(|i| {
            diesel::insert_into(persons::table)
                .values((
                    persons::organization_id.eq(org.id),
                    persons::first_name.eq(format!("P{i}")),
                    persons::last_name.eq("Bench"),
                    persons::email.eq(format!("p{i}@d{}.bench.example", i % 20)),
                    persons::preferred_language.eq(if i % 2 == 0 { "fr" } else { "en" }),
                    persons::legal_basis.eq(LegalBasis::Contract),
                    persons::retention_until.eq(Utc::now() + chrono::Duration::days(900)),
                    persons::source.eq(DataSource::Import),
                ))
                .returning(persons::id)
                .get_result(&mut conn)
                .unwrap()
        })
        .collect();
    let s = settings();
    use secrecy::ExposeSecret;
    let secret = s.auth.jwt_secret.expose_secret().to_owned();

    // 1. Throughput, bare lettre first, then the workers, each on a fresh server.
    let connections = 2 * s.email.pool_size as usize;
    eprintln!("notify bench: {n} emails by a bare lettre loop ({connections} connections)...");
    let templates = rdv_notify::Templates::new().unwrap();
    let rendered: Vec<(String, rdv_notify::Rendered)> = (0..2000)
        .map(|i| {
            let lang = if i % 2 == 0 { "fr" } else { "en" };
            let data = json!({
                "organization": "Bench Fairs",
                "person": {"first_name": format!("P{i}"), "last_name": "Bench"},
                "event": {"name": "Bench Fair", "starts_on": "2027-10-05"},
            });
            (
                format!("p{i}@d{}.bench.example", i % 20),
                templates
                    .render("registration_validated", lang, &data)
                    .unwrap(),
            )
        })
        .collect();
    let bare_server = Smtp::start("bare");
    let bare = Instant::now();
    std::thread::scope(|scope| {
        use lettre::message::{Mailbox, MultiPart};
        use lettre::transport::smtp::PoolConfig;
        use lettre::{Message, SmtpTransport, Transport};
        let transport = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(bare_server.port)
            .pool_config(PoolConfig::new().max_size(connections as u32))
            .build();
        let from: Mailbox = s.email.from.parse().unwrap();
        for t in 0..connections {
            let (transport, from, rendered) = (transport.clone(), from.clone(), &rendered);
            scope.spawn(move || {
                for i in (t..n).step_by(connections) {
                    let (to, r) = &rendered[i % rendered.len()];
                    let m = Message::builder()
                        .from(from.clone())
                        .to(to.parse().unwrap())
                        .subject(r.subject.clone())
                        .message_id(Some(format!("<bare-{i}@bench.example>")))
                        .multipart(MultiPart::alternative_plain_html(
                            r.text.clone(),
                            r.html.clone(),
                        ))
                        .unwrap();
                    transport.send(&m).unwrap();
                }
            });
        }
    });
    let bare_s = bare.elapsed().as_secs_f64();
    assert_eq!(bare_server.count(), n, "the bare loop lost messages");
    drop(bare_server);

    eprintln!("notify bench: {n} emails queued and sent by two notification workers...");
    enqueue(&mut conn, org.id, event.id, &recipients, "throughput", n);
    let worker_server = Smtp::start("workers");
    let mut email = s.email.clone();
    email.smtp_port = worker_server.port;
    let workers = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (email, url, secret) = (&email, db.app_url(), &secret);
            let notify = s.notify.clone();
            let sms = s.sms.clone();
            scope.spawn(move || {
                let w =
                    rdv_app::notify::Worker::new(format!("bench-{t}"), email, &sms, notify, secret)
                        .unwrap();
                let mut conn = rdv_db::establish(&url).unwrap();
                while w.run_once(&mut conn).unwrap().claimed > 0 {}
            });
        }
    });
    let workers_s = workers.elapsed().as_secs_f64();
    let received = worker_server.received();
    let sent: i64 = outbox_messages::table
        .filter(outbox_messages::status.eq(MessageStatus::Sent))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(sent as usize, n, "not every queued message was sent");
    assert_eq!(
        received.len(),
        n,
        "the server did not receive every message"
    );
    drop(worker_server);
    let bare_rate = n as f64 / bare_s;
    let worker_rate = n as f64 / workers_s;

    // 2. Crash safety: worker processes killed with SIGKILL three times each.
    const CRASH_MESSAGES: usize = 10_000;
    const BATCH: usize = 50;
    eprintln!(
        "notify bench: {CRASH_MESSAGES} emails, notify-worker processes killed with SIGKILL three times..."
    );
    diesel::delete(outbox_messages::table)
        .execute(&mut conn)
        .unwrap();
    enqueue(
        &mut conn,
        org.id,
        event.id,
        &recipients,
        "crash",
        CRASH_MESSAGES,
    );
    let crash_server = Smtp::start("crash");
    let lease_s = 3;
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_rdv"))
            .arg("notify-worker")
            .current_dir(root())
            .env("APP_PROFILE", "test")
            .env("DATABASE_URL", db.app_url())
            .env("APP__DATABASE__OWNER_URL", &db.url)
            .env("APP__EMAIL__SMTP_PORT", crash_server.port.to_string())
            .env("APP__NOTIFY__BATCH_SIZE", BATCH.to_string())
            .env("APP__NOTIFY__LEASE_SECONDS", lease_s.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let crash = Instant::now();
    let mut worker = spawn();
    let mut kills = Vec::new();
    for k in 1..=3 {
        // Kill when about a quarter more of the messages has arrived.
        let at = CRASH_MESSAGES * k / 4;
        while crash_server.count() < at {
            std::thread::sleep(Duration::from_millis(5));
        }
        // What the killed worker held: claimed under its lease, not yet recorded.
        worker.kill().unwrap();
        worker.wait().unwrap();
        let in_flight: i64 = outbox_messages::table
            .filter(outbox_messages::status.eq(MessageStatus::Queued))
            .filter(outbox_messages::locked_until.gt(Utc::now()))
            .count()
            .get_result(&mut conn)
            .unwrap();
        kills.push(json!({"after_received": crash_server.count(), "in_flight": in_flight}));
        worker = spawn();
    }
    while queued(&mut conn) > 0 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let crash_s = secs(crash);
    worker.kill().unwrap();
    worker.wait().unwrap();
    // Let the server finish writing what it took.
    std::thread::sleep(Duration::from_millis(300));
    let received = crash_server.received();
    let keys: Vec<String> = outbox_messages::table
        .select(outbox_messages::idempotency_key)
        .load(&mut conn)
        .unwrap();
    let lost = keys
        .iter()
        .filter(|k| {
            !received.contains_key(&rdv_notify::email::message_id(
                k,
                &s.email.message_id_domain,
            ))
        })
        .count();
    let duplicates: usize = received.values().map(|c| c - 1).sum();
    let sent_crash: i64 = outbox_messages::table
        .filter(outbox_messages::status.eq(MessageStatus::Sent))
        .count()
        .get_result(&mut conn)
        .unwrap();
    drop(crash_server);

    // 3. SMS through Kannel.
    const SMS: usize = 10_000;
    eprintln!("notify bench: {SMS} SMS through the local Kannel gateway...");
    let out = Command::new(root().join("scripts/sms.sh"))
        .output()
        .expect("scripts/sms.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let (port, log) = line.trim().split_once(' ').unwrap();
    let mut sms_settings = s.sms.clone();
    sms_settings.sendsms_url = format!("http://127.0.0.1:{port}/cgi-bin/sendsms");
    let run = Utc::now().timestamp() % 100_000;
    let number = |i: usize| format!("+3399{run:05}{i:05}");
    let sms_start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (sms_settings, number) = (&sms_settings, &number);
            scope.spawn(move || {
                let g = rdv_notify::Gateway::new(sms_settings).unwrap();
                for i in (t..SMS).step_by(2) {
                    let text =
                        format!("Bench Fair: 14:20 table 12 with Acme is now 15:00 table 4 ({i})");
                    g.send(&number(i), &text, "http://127.0.0.1:9/dlr?type=%d")
                        .unwrap();
                }
            });
        }
    });
    let sms_sent_s = sms_start.elapsed().as_secs_f64();
    // Everything the gateway accepted reaches the fake SMSC: wait for the last of them.
    let prefix = format!("+3399{run:05}");
    let delivered = |log: &str| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&format!(" {prefix}")))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut got = delivered(log);
    while got < SMS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        got = delivered(log);
    }
    let sms_delivered_s = sms_start.elapsed().as_secs_f64();

    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let report = json!({
        "emails": n,
        "smtp_server": "python3-aiosmtpd (Debian), Maildir handler, on this machine",
        "bare_lettre": {"connections": connections, "wall_s": round(bare_s), "per_second": round(bare_rate)},
        "workers": {
            "workers": 2,
            "connections_per_worker": s.email.pool_size,
            "batch_size": s.notify.batch_size,
            "wall_s": round(workers_s),
            "per_second": round(worker_rate),
            "sent": sent,
            "received": n,
        },
        "ratio_workers_to_bare": round(worker_rate / bare_rate),
        "crash": {
            "messages": CRASH_MESSAGES,
            "batch_size": BATCH,
            "lease_s": lease_s,
            "kills": kills,
            "wall_s": crash_s,
            "sent": sent_crash,
            "lost": lost,
            "duplicates": duplicates,
            "duplicates_bound": 3 * BATCH,
        },
        "sms": {
            "messages": SMS,
            "threads": 2,
            "accepted_s": round(sms_sent_s),
            "accepted_per_second": round(SMS as f64 / sms_sent_s),
            "delivered_to_fake_smsc": got,
            "delivered_s": round(sms_delivered_s),
            "lost": SMS - got.min(SMS),
        },
        "total_s": secs(total),
    });
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("notify.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
