//! `make bench-meetings`: the meeting loop on a large event held in PostgreSQL. A seeded event
//! of 2,000 participants, 20,000 accepted requests and 96 slots over three days: building the
//! planner's instance from the database, a planning run through the job queue's worker
//! (weight against the planner's bound, and the time to store the plan), publication, a
//! re-plan after 5% cancellations and 500 new requests (meetings of untouched participants
//! moved), and single-threaded agenda reads as JSON and iCalendar (p50, p99). Writes
//! `target/bench/meetings.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use diesel::prelude::*;
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rdv_app::planning;
use rdv_db::models::*;
use rdv_db::schema::{meeting_requests, persons, registrations, unavailabilities};
use rdv_db::testing::TestDatabase;
use rdv_domain::*;
use rdv_planner::synth::{fair, FairShape};
use serde_json::json;
use std::time::Instant;

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    (samples[i] * 1000.0).round() / 1000.0
}

fn main() {
    let total = Instant::now();
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let shape = FairShape {
        buyers: 1000,
        suppliers: 1000,
        requests: 20_000,
        days: 3,
        slots_per_session: 16,
        tables: 150,
        forbidden: 0.10,
        stands: 0.2,
    };
    let inst = fair(&shape, 2026);
    eprintln!("meetings bench: seeding 2,000 participants and 20,000 requests in PostgreSQL...");
    let seeded = Instant::now();
    let org = rdv_db::queries::organizations::create(&mut conn, "bench", "Bench Fairs").unwrap();
    let day0 = NaiveDate::from_ymd_opt(2027, 10, 5).unwrap();
    let event = rdv_db::queries::events::create(
        &mut conn,
        &NewEvent {
            organization_id: org.id,
            slug: "bench-fair".into(),
            name: "Bench Fair".into(),
            time_zone: "Europe/Paris".into(),
            venue: Some("Parc des expositions".into()),
            starts_on: day0,
            ends_on: day0 + chrono::Duration::days(2),
            status: EventStatus::Open,
        },
    )
    .unwrap();
    let time = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    for d in 0..3 {
        let plan = DayPlan {
            hours: TimeRange::new(time(8, 0), time(17, 0)).unwrap(),
            slot_minutes: 15,
            breaks: vec![TimeRange::new(time(12, 0), time(13, 0)).unwrap()],
        };
        rdv_db::queries::events::add_day(
            &mut conn,
            &event,
            day0 + chrono::Duration::days(d),
            &plan,
        )
        .unwrap();
    }
    rdv_db::queries::events::set_table_count(&mut conn, event.id, shape.tables as i32).unwrap();
    let slots = rdv_db::queries::events::slots(&mut conn, event.id).unwrap();
    assert_eq!(slots.len(), 96);
    let retention = Utc.from_utc_datetime(&day0.and_time(time(0, 0))) + chrono::Duration::days(900);
    let mut regs: Vec<RegistrationId> = Vec::new();
    for (i, p) in inst.participants.iter().enumerate() {
        let buyer = i < shape.buyers;
        let person: PersonId = diesel::insert_into(persons::table)
            .values((
                persons::organization_id.eq(org.id),
                persons::first_name.eq(format!("P{i}")),
                persons::last_name.eq(if buyer { "Buyer" } else { "Supplier" }),
                persons::email.eq(format!("p{i}@bench.example")),
                persons::company.eq(format!("Company {i}")),
                persons::legal_basis.eq(LegalBasis::Contract),
                persons::retention_until.eq(retention),
                persons::source.eq(DataSource::Import),
            ))
            .returning(persons::id)
            .get_result(&mut conn)
            .unwrap();
        let reg: RegistrationId = diesel::insert_into(registrations::table)
            .values(&NewRegistration {
                organization_id: org.id,
                event_id: event.id,
                person_id: person,
                participant_type: if buyer {
                    ParticipantType::Buyer
                } else {
                    ParticipantType::Supplier
                },
                status: RegistrationStatus::Validated,
                company_description: None,
                offers: None,
                needs: None,
                sectors: vec![],
                languages: vec![],
                profile_visible: true,
                meeting_quota: p.max_meetings.map(|q| q as i32),
                stand: p.own_stand.then(|| format!("S{i}")),
                legal_basis: LegalBasis::Contract,
                retention_until: retention,
                source: DataSource::Import,
            })
            .returning(registrations::id)
            .get_result(&mut conn)
            .unwrap();
        regs.push(reg);
        let rows: Vec<_> = p
            .forbidden
            .iter()
            .map(|&s| {
                (
                    unavailabilities::registration_id.eq(reg),
                    unavailabilities::slot_id.eq(slots[s].id),
                )
            })
            .collect();
        diesel::insert_into(unavailabilities::table)
            .values(&rows)
            .execute(&mut conn)
            .unwrap();
    }
    let priority = |w: u32| match w {
        10 => Priority::Must,
        3 => Priority::Should,
        _ => Priority::Could,
    };
    let new_request = |a: RegistrationId, b: RegistrationId, w: u32| NewMeetingRequest {
        organization_id: org.id,
        event_id: event.id,
        requester_id: a,
        recipient_id: b,
        message: None,
        priority: priority(w),
        status: RequestStatus::Accepted,
        created_by: None,
        legal_basis: LegalBasis::Contract,
        retention_until: retention,
        source: DataSource::Import,
    };
    let rows: Vec<NewMeetingRequest> = inst
        .requests
        .iter()
        .map(|r| new_request(regs[r.a], regs[r.b], r.weight))
        .collect();
    for chunk in rows.chunks(2000) {
        diesel::insert_into(meeting_requests::table)
            .values(chunk)
            .execute(&mut conn)
            .unwrap();
    }
    let seed_s = secs(seeded);
    let hash = "not-a-real-hash";
    let account = rdv_db::queries::accounts::ensure_account(
        &mut conn,
        "admin@bench.example",
        hash,
        retention,
        "system",
    )
    .unwrap();
    let membership = rdv_db::queries::accounts::ensure_membership(
        &mut conn,
        account.id,
        Some(org.id),
        Role::OrgAdmin,
        None,
    )
    .unwrap();
    let actor = rdv_app::Actor {
        user: account.id,
        membership: membership.id,
        organization: Some(org.id),
        role: Role::OrgAdmin,
        person: None,
        client_address: None,
    };

    // Building the instance from the database.
    let t = Instant::now();
    let built = planning::build(&mut conn, event.id, org.id).unwrap();
    let build_s = secs(t);
    let inst_db = built.instance.unwrap();
    eprintln!(
        "meetings bench: instance built in {build_s} s ({} participants, {} requests, {} slots)",
        inst_db.participants.len(),
        inst_db.requests.len(),
        inst_db.slots.len()
    );

    // A planning run through the worker.
    let settings = {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        rdv::settings::Settings::load(&dir, "test").unwrap()
    };
    let registry = rdv_app::maintenance::registry(
        &settings.auth,
        &settings.jobs,
        &settings.privacy,
        &settings.shop,
        &settings.imports,
    );
    let worker = rdv_app::jobs::Worker::new("bench", registry, settings.jobs.clone());
    let run_limit = 75;
    let run = planning::start(
        &mut conn,
        &actor,
        event.id,
        planning::OptionsInput {
            time_limit_seconds: Some(run_limit),
            ..Default::default()
        },
    )
    .unwrap();
    eprintln!("meetings bench: planning run ({run_limit} s limit)...");
    let t = Instant::now();
    let ran = worker.run_once(&mut conn).unwrap();
    let run_s = secs(t);
    assert!(matches!(ran, rdv_app::jobs::Ran::Done(_)), "{ran:?}");
    let done = rdv_db::queries::plans::get_run_any(&mut conn, run.id).unwrap();
    assert_eq!(done.status, PlanStatus::Done, "{:?}", done.error);
    let weight = done.weight.unwrap_or(0) as f64;
    let bound = done.bound.unwrap_or(f64::NAN);
    let ratio = (weight / bound * 10000.0).round() / 10000.0;
    let store_s = done.progress["store_s"].as_f64().unwrap_or(f64::NAN);
    let run_build_s = done.progress["build_s"].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "meetings bench: run in {run_s} s: {} of {} scheduled, weight {weight} / bound {bound} = {ratio}, stored in {store_s:.3} s",
        done.scheduled.unwrap_or(0),
        done.requests_total.unwrap_or(0)
    );

    // Publication.
    let t = Instant::now();
    let published = planning::publish(&mut conn, &actor, run.id).unwrap();
    let publish_s = secs(t);

    // Re-plan: 5% of the participants cancel, 500 new accepted requests.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut gone: Vec<RegistrationId> = regs
        .choose_multiple(&mut rng, regs.len() / 20)
        .copied()
        .collect();
    gone.sort();
    for r in &gone {
        diesel::update(registrations::table.find(*r))
            .set(registrations::status.eq(RegistrationStatus::Cancelled))
            .execute(&mut conn)
            .unwrap();
        rdv_db::queries::meetings::withdraw_all_of(&mut conn, *r, "cancelled", None).unwrap();
    }
    let staying: Vec<usize> = (0..regs.len())
        .filter(|i| gone.binary_search(&regs[*i]).is_err())
        .collect();
    let mut pairs: std::collections::HashSet<(usize, usize)> = inst
        .requests
        .iter()
        .map(|r| (r.a.min(r.b), r.a.max(r.b)))
        .collect();
    let mut added = Vec::new();
    while added.len() < 500 {
        let b = staying[rng.gen_range(0..staying.len())];
        let s = staying[rng.gen_range(0..staying.len())];
        if (b < shape.buyers) == (s < shape.buyers) || !pairs.insert((b.min(s), b.max(s))) {
            continue;
        }
        added.push(new_request(regs[b], regs[s], 3));
    }
    diesel::insert_into(meeting_requests::table)
        .values(&added)
        .execute(&mut conn)
        .unwrap();
    let replan_limit = 12;
    let rerun = planning::start(
        &mut conn,
        &actor,
        event.id,
        planning::OptionsInput {
            time_limit_seconds: Some(replan_limit),
            ..Default::default()
        },
    )
    .unwrap();
    eprintln!("meetings bench: re-plan ({replan_limit} s limit)...");
    let t = Instant::now();
    worker.run_once(&mut conn).unwrap();
    let replan_s = secs(t);
    let redone = rdv_db::queries::plans::get_run_any(&mut conn, rerun.id).unwrap();
    assert_eq!(redone.status, PlanStatus::Done, "{:?}", redone.error);
    // Meetings between participants who stayed, published in v1 and still accepted: how many
    // would move.
    let gone_set: std::collections::HashSet<RegistrationId> = gone.iter().copied().collect();
    let v1 = rdv_db::queries::plans::meetings_of_event(&mut conn, event.id).unwrap();
    let ids: Vec<MeetingRequestId> = v1.iter().map(|m| m.request_id).collect();
    let untouched: std::collections::HashSet<MeetingRequestId> =
        rdv_db::queries::meetings::pairs(&mut conn, &ids)
            .unwrap()
            .into_iter()
            .filter(|(_, a, b)| !gone_set.contains(a) && !gone_set.contains(b))
            .map(|(r, _, _)| r)
            .collect();
    let preview = planning::preview(&mut conn, &actor, rerun.id).unwrap();
    let moved: std::collections::HashSet<MeetingRequestId> = preview
        .iter()
        .filter(|c| c.change != AgendaChange::Added && untouched.contains(&c.request_id))
        .map(|c| c.request_id)
        .collect();
    let moved_share =
        (moved.len() as f64 / untouched.len().max(1) as f64 * 10000.0).round() / 10000.0;
    eprintln!(
        "meetings bench: re-plan in {replan_s} s, {} of {} untouched meetings moved",
        moved.len(),
        untouched.len()
    );
    planning::publish(&mut conn, &actor, rerun.id).unwrap();

    // Agenda reads, single-threaded: JSON as the API answers it, and the iCalendar feed.
    let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    let mut json_ms = Vec::new();
    let mut ics_ms = Vec::new();
    let mut bytes = 0usize;
    for i in 0..1000 {
        let reg = regs[staying[i % staying.len()]];
        let t = Instant::now();
        let a = rdv_app::agenda::of_registration(&mut conn, org.id, event.id, reg, false).unwrap();
        let body = serde_json::to_vec(&rdv_api::routes::plans::AgendaOut::from(a)).unwrap();
        json_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes += body.len();
        let t = Instant::now();
        let a = rdv_app::agenda::of_registration(&mut conn, org.id, event.id, reg, true).unwrap();
        let ics = rdv_app::ics::render(&a, tz, "rdv", Utc::now());
        ics_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes += ics.len();
    }
    assert!(bytes > 0);
    let report = json!({
        "shape": {"participants": 2000, "requests": 20000, "slots": 96, "days": 3, "tables": shape.tables},
        "seed_s": seed_s,
        "build_instance_s": build_s,
        "run": {
            "time_limit_s": run_limit,
            "wall_s": run_s,
            "build_s": run_build_s,
            "store_s": (store_s * 1000.0).round() / 1000.0,
            "requests": done.requests_total,
            "scheduled": done.scheduled,
            "weight": weight,
            "bound": bound,
            "weight_over_bound": ratio,
            "breaks": done.breaks,
        },
        "publish": {"wall_s": publish_s, "added": published.added, "participants": published.participants},
        "replan": {
            "time_limit_s": replan_limit,
            "wall_s": replan_s,
            "cancelled_participants": gone.len(),
            "new_requests": added.len(),
            "untouched_meetings": untouched.len(),
            "untouched_moved": moved.len(),
            "untouched_moved_share": moved_share,
        },
        "agenda_json_ms": {"p50": percentile(&mut json_ms, 0.5), "p99": percentile(&mut json_ms, 0.99)},
        "agenda_ics_ms": {"p50": percentile(&mut ics_ms, 0.5), "p99": percentile(&mut ics_ms, 0.99)},
        "total_s": secs(total),
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("meetings.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
