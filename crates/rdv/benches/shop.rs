//! `make bench-shop`: the shop under load through the HTTP API, in PostgreSQL, with the
//! payment-provider simulator (scripts/paysim.sh).
//!
//! 1. The last places: a package of 250 places of which 200 are sold; 200 buyers order it at
//!    once (an organizer's session placing each buyer's order), then every buyer whose order
//!    was taken pays it by card through the simulator, which calls the webhook. Checked:
//!    exactly 50 paid orders, no unit oversold, invoice numbers 1 to 50 without a gap.
//!    Measured: orders per second, p50/p99 of placing an order (the checkout's stock hold),
//!    p50/p99 of the whole purchase (order, checkout session, payment, webhook).
//! 2. Webhooks: 9,091 orders awaiting card payment; 10,000 signed webhook calls, 10% of them
//!    replays of a call already made, 16 at a time. Checked: every order paid once, one
//!    invoice each. Measured: calls per second, p50/p99 per call.
//!
//! Writes `target/bench/shop.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rdv_db::testing::TestDatabase;
use serde_json::{json, Value};
use std::time::Instant;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    (samples[i] * 1000.0).round() / 1000.0
}

fn latencies(samples: &mut [f64]) -> Value {
    json!({
        "n": samples.len(),
        "p50": percentile(samples, 0.5),
        "p99": percentile(samples, 0.99),
        "max": percentile(samples, 1.0),
    })
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut rdv_db::Conn, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
}

fn exec(conn: &mut rdv_db::Conn, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap();
}

fn main() {
    let total = Instant::now();
    let paysim = std::env::var("APP__SHOP__CARD_API_URL")
        .expect("APP__SHOP__CARD_API_URL names the simulator: run `make bench-shop`");
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let hash = rdv_app::auth::hash_password("demo").unwrap();
    let demo = rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
    let (org, event) = (demo.organization_id, demo.event_id);

    // The server, on its own thread and actix system, as `rdv serve` runs it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut settings = {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        rdv::settings::Settings::load(&dir, "test").unwrap()
    };
    // The pool of config/base.toml (the test profile's is smaller).
    settings.database.pool_size = 10;
    settings.shop.public_url = base.clone();
    settings.shop.card_api_url = paysim.clone();
    let url = db.app_url();
    {
        let settings = settings.clone();
        std::thread::spawn(move || {
            let pool = rdv_db::connect_pool(&url, settings.database.pool_size).unwrap();
            let state =
                rdv_api::AppState::new(pool, settings.server.clone(), settings.auth.clone())
                    .with_privacy(settings.privacy.clone())
                    .with_shop(settings.shop.clone());
            actix_web::rt::System::new()
                .block_on(rdv_api::serve(listener, actix_web::web::Data::new(state)))
                .unwrap();
        });
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    // --- 1. The last places ---
    let buyers = 200;
    eprintln!("shop bench: {buyers} buyers for the last 50 of 250 places...");
    exec(
        &mut conn,
        &format!(
            "INSERT INTO persons (organization_id, first_name, last_name, email, company, address_line1, \
             postal_code, city, country, legal_basis, retention_until, source) \
             SELECT {org}, 'Rush' || g, 'Buyer' || g, 'rush' || g || '@bench.example', 'Rush ' || g, \
             '1 rue du Banc', '69001', 'Lyon', 'FR', 'contract', now() + interval '3 years', 'registration' \
             FROM generate_series(1, {buyers}) g"
        ),
    );
    exec(
        &mut conn,
        &format!(
            "INSERT INTO registrations (organization_id, event_id, person_id, participant_type, status, \
             legal_basis, retention_until, source) \
             SELECT {org}, {event}, p.id, 'exhibitor', 'validated', 'contract', now() + interval '3 years', \
             'registration' FROM persons p WHERE p.email LIKE 'rush%@bench.example'"
        ),
    );
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let persons: Vec<i64> = diesel::sql_query(
        "SELECT id FROM persons WHERE email LIKE 'rush%@bench.example' ORDER BY id",
    )
    .load::<Id>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();

    let (admin, pack) = rt.block_on(async {
        let login: Value = client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": "admin@demo.example", "password": "demo"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let admin = login["access_token"].as_str().unwrap().to_owned();
        let now = chrono::Utc::now();
        let pack: Value = client
            .post(format!("{base}/api/events/{event}/products"))
            .bearer_auth(&admin)
            .json(&json!({"kind": "package", "participant_type": "exhibitor", "code": "exhibitor-pack",
                "name": "Exhibitor package", "vat_rate": "20", "capacity": 250, "meeting_quota": 20,
                "prices": [{"label": "Standard", "price_cents": 90_000,
                    "starts_at": now - chrono::Duration::days(1), "ends_at": now + chrono::Duration::days(30)}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (admin, pack["id"].as_i64().expect("product created"))
    });
    exec(
        &mut conn,
        &format!("UPDATE products SET sold = 200 WHERE id = {pack}"),
    );

    let started = Instant::now();
    let results: Vec<(Option<i64>, f64, f64)> = rt.block_on(async {
        let tasks = persons.iter().map(|person| {
            let (client, base, admin, paysim) = (client.clone(), base.clone(), admin.clone(), paysim.clone());
            let person = *person;
            tokio::spawn(async move {
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/api/events/{event}/orders"))
                    .bearer_auth(&admin)
                    .json(&json!({"idempotency_key": format!("rush-{person}-key"), "person_id": person,
                        "items": [{"product_id": pack}], "buyer": {"business": true}}))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let order: Value = resp.json().await.unwrap();
                let order_ms = t.elapsed().as_secs_f64() * 1000.0;
                if status != reqwest::StatusCode::CREATED {
                    assert_eq!(status, reqwest::StatusCode::CONFLICT, "{order}");
                    return (None, order_ms, 0.0);
                }
                let id = order["id"].as_i64().unwrap();
                let co: Value = client
                    .post(format!("{base}/api/orders/{id}/checkout"))
                    .bearer_auth(&admin)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let session = co["checkout_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
                let paid: Value = client
                    .post(format!("{paysim}/v1/checkout/sessions/{session}/complete"))
                    .bearer_auth("sk_test_rdv_local")
                    .json(&json!({"outcome": "succeeded"}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(paid["webhook_status"], 200, "{paid}");
                (Some(id), order_ms, t.elapsed().as_secs_f64() * 1000.0)
            })
        });
        let mut out = Vec::new();
        for t in tasks.collect::<Vec<_>>() {
            out.push(t.await.unwrap());
        }
        out
    });
    let wall = started.elapsed().as_secs_f64();
    let placed: Vec<i64> = results.iter().filter_map(|r| r.0).collect();
    let mut order_ms: Vec<f64> = results.iter().map(|r| r.1).collect();
    let mut purchase_ms: Vec<f64> = results
        .iter()
        .filter(|r| r.0.is_some())
        .map(|r| r.2)
        .collect();
    let paid = count(
        &mut conn,
        &format!("SELECT count(*) AS n FROM orders WHERE status = 'paid' AND event_id = {event}"),
    );
    let sold = count(
        &mut conn,
        &format!("SELECT (sold + held)::bigint AS n FROM products WHERE id = {pack}"),
    );
    let invoices = count(
        &mut conn,
        &format!("SELECT count(*) AS n FROM invoices WHERE organization_id = {org}"),
    );
    let max_seq = count(
        &mut conn,
        &format!(
            "SELECT coalesce(max(seq), 0)::bigint AS n FROM invoices WHERE organization_id = {org}"
        ),
    );
    let distinct = count(
        &mut conn,
        &format!("SELECT count(DISTINCT number) AS n FROM invoices WHERE organization_id = {org}"),
    );
    assert_eq!(placed.len(), 50, "exactly the last 50 places are taken");
    assert_eq!(paid, 50, "exactly 50 paid orders");
    assert_eq!(sold, 250, "no unit oversold");
    assert_eq!(
        (invoices, max_seq, distinct),
        (50, 50, 50),
        "invoice numbers 1 to 50, no gap, no duplicate"
    );
    eprintln!("shop bench: 50 paid of {buyers}, {wall:.2} s");
    let rush = json!({
        "buyers": buyers,
        "places_left": 50,
        "orders_taken": placed.len(),
        "orders_refused_sold_out": buyers - placed.len(),
        "paid_orders": paid,
        "units_sold_of_250": sold,
        "invoices": invoices,
        "invoice_numbers_contiguous": max_seq == invoices && distinct == invoices,
        "wall_s": (wall * 1000.0).round() / 1000.0,
        "orders_per_s": ((buyers as f64 / wall) * 10.0).round() / 10.0,
        "paid_orders_per_s": ((50.0 / wall) * 10.0).round() / 10.0,
        "place_order_ms": latencies(&mut order_ms),
        "whole_purchase_ms": latencies(&mut purchase_ms),
    });

    // --- 2. Webhooks, 10% replayed ---
    let calls = 10_000usize;
    let unique = calls * 10 / 11;
    eprintln!("shop bench: {calls} webhook calls ({unique} events, the rest replays)...");
    let person = persons[0];
    let lunch: i64 = diesel::sql_query(format!(
        "SELECT id FROM products WHERE event_id = {event} AND code = 'lunch'"
    ))
    .get_result::<Id>(&mut conn)
    .unwrap()
    .id;
    let priced = rdv_shop::pricing::price(
        &[rdv_shop::pricing::Item {
            product_id: lunch,
            label: "Déjeuner des deux jours - Standard".into(),
            quantity: 1,
            unit_price_cents: 5_100,
            vat_rate: rdv_shop::VatRate::Intermediate,
            exemption: None,
        }],
        None,
        None,
        rdv_shop::pricing::VatTreatment::Standard,
    )
    .unwrap();
    let pricing = serde_json::to_string(&priced).unwrap().replace('\'', "''");
    let buyer = json!({"name": "Rush Buyer", "email": "rush@bench.example", "business": false, "company": null,
        "vat_number": null, "address_line1": "1 rue du Banc", "address_line2": null, "postal_code": "69001",
        "city": "Lyon", "country": "FR"})
    .to_string();
    // Set-based: the figures measure the webhooks, not the seeding.
    exec(
        &mut conn,
        "UPDATE products SET capacity = NULL WHERE code = 'lunch'",
    );
    exec(
        &mut conn,
        &format!(
            "INSERT INTO orders (organization_id, event_id, person_id, reference, idempotency_key, request_digest, \
             hold_until, buyer, vat_treatment, pricing, total_excl_cents, total_vat_cents, total_incl_cents, \
             legal_basis, retention_until, source) \
             SELECT {org}, {event}, {person}, 'RDV-BENCH' || g, 'webhook-' || g, 'bench', now() + interval '1 day', \
             '{buyer}'::jsonb, 'standard', '{pricing}'::jsonb, {}, {}, {}, 'contract', now() + interval '5 years', \
             'registration' FROM generate_series(1, {unique}) g",
            priced.total_excl_cents, priced.total_vat_cents, priced.total_incl_cents
        ),
    );
    exec(
        &mut conn,
        &format!(
            "INSERT INTO order_lines (order_id, product_id, label, quantity, unit_price_cents, discount_cents, \
             net_cents, vat_rate_bp) SELECT o.id, {lunch}, 'Déjeuner', 1, 5100, 0, 5100, 1000 \
             FROM orders o WHERE o.reference LIKE 'RDV-BENCH%'"
        ),
    );
    exec(
        &mut conn,
        &format!("UPDATE products SET held = held + {unique} WHERE id = {lunch}"),
    );
    exec(
        &mut conn,
        &format!(
            "INSERT INTO payments (organization_id, order_id, method, status, amount_cents, provider_session_id) \
             SELECT {org}, o.id, 'card', 'pending', o.total_incl_cents, 'cs_bench_' || o.id \
             FROM orders o WHERE o.reference LIKE 'RDV-BENCH%'"
        ),
    );
    let sessions: Vec<i64> =
        diesel::sql_query("SELECT id FROM orders WHERE reference LIKE 'RDV-BENCH%' ORDER BY id")
            .load::<Id>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
    // The calls: each event once, and every tenth a replay of an earlier one (same bytes, a
    // fresh signature, as a provider retrying would send).
    let mut bodies: Vec<String> = Vec::with_capacity(calls);
    let events: Vec<String> = sessions
        .iter()
        .map(|id| {
            json!({"id": format!("evt_bench_{id}"), "type": "checkout.session.completed", "created": 0,
                "data": {"session_id": format!("cs_bench_{id}"), "payment_id": format!("pay_bench_{id}"),
                    "reference": format!("bench {id}"), "amount": priced.total_incl_cents, "currency": "EUR"}})
            .to_string()
        })
        .collect();
    for (i, e) in events.iter().enumerate() {
        bodies.push(e.clone());
        if i % 10 == 9 && bodies.len() < calls {
            bodies.push(events[i - 5].clone());
        }
    }
    while bodies.len() < calls {
        bodies.push(events[bodies.len() % events.len()].clone());
    }
    let replays = calls - events.len();
    let secret = settings.shop.card_webhook_secret.clone();
    let started = Instant::now();
    let mut call_ms: Vec<f64> = rt.block_on(async {
        use futures_util::StreamExt;
        futures_util::stream::iter(bodies.into_iter().map(|body| {
            let (client, base) = (client.clone(), base.clone());
            let signature = {
                use secrecy::ExposeSecret;
                rdv_shop::webhook::sign(
                    secret.expose_secret().as_bytes(),
                    chrono::Utc::now().timestamp(),
                    body.as_bytes(),
                )
            };
            async move {
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/api/payments/webhook"))
                    .header("Paysim-Signature", signature)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), reqwest::StatusCode::OK);
                t.elapsed().as_secs_f64() * 1000.0
            }
        }))
        .buffer_unordered(16)
        .collect::<Vec<f64>>()
        .await
    });
    let wall = started.elapsed().as_secs_f64();
    let paid = count(&mut conn, "SELECT count(*) AS n FROM orders WHERE reference LIKE 'RDV-BENCH%' AND status = 'paid' AND paid_cents = total_incl_cents");
    let invoiced = count(&mut conn, "SELECT count(*) AS n FROM invoices i JOIN orders o ON o.id = i.order_id WHERE o.reference LIKE 'RDV-BENCH%'");
    let twice = count(&mut conn, "SELECT count(*) AS n FROM (SELECT order_id FROM invoices GROUP BY order_id, kind HAVING count(*) > 1) d");
    let recorded = count(
        &mut conn,
        "SELECT count(*) AS n FROM payment_events WHERE provider_event_id LIKE 'evt_bench_%'",
    );
    assert_eq!(paid as usize, events.len(), "every order paid, once");
    assert_eq!(invoiced as usize, events.len(), "one invoice per order");
    assert_eq!(twice, 0, "no order invoiced twice");
    eprintln!("shop bench: {calls} webhook calls in {wall:.1} s");
    let webhooks = json!({
        "calls": calls,
        "events": events.len(),
        "replays": replays,
        "concurrency": 16,
        "orders_paid_once": paid,
        "invoices": invoiced,
        "events_recorded": recorded,
        "wall_s": (wall * 10.0).round() / 10.0,
        "calls_per_s": ((calls as f64 / wall) * 10.0).round() / 10.0,
        "call_ms": latencies(&mut call_ms),
    });

    let out = json!({
        "last_places": rush,
        "webhooks": webhooks,
        "machine": "2 cores; server in-process, 2 actix workers, 10 database connections",
        "total_s": (total.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let text = serde_json::to_string_pretty(&out).unwrap();
    std::fs::write(dir.join("shop.json"), &text).unwrap();
    println!("{text}");
}
