//! The shop end to end: registration through the event's form, the catalogue, orders with
//! their idempotency and holds, card payments through the payment-provider simulator (hosted
//! page, signed webhooks, replays, refunds), bank transfers, invoices whose Factur-X XML the
//! `factur-x` package validates, credit notes, the accounting export, and concurrency.

use crate::common::{assert_error, checker, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The simulator `make test` starts (scripts/paysim.sh), as the settings name it.
fn paysim() -> String {
    std::env::var("APP__SHOP__CARD_API_URL").unwrap_or_else(|_| "http://127.0.0.1:12111".into())
}

async fn paysim_call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{path}", paysim()))
        .bearer_auth("sk_test_rdv_local");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .expect("the payment simulator answers (scripts/paysim.sh)");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

fn supplier_answers(email: &str) -> Value {
    json!({
        "first_name": "Chloé", "last_name": "Martin", "email": email,
        "company": "Usinage Martin SARL", "mobile_phone": "+33612345678",
        "address_line1": "4 quai Rambaud", "postal_code": "69002", "city": "Lyon", "country": "FR",
        "offers": "Usinage 5 axes, petites séries",
        "stand_size": "stand", "stand_wishes": "Near the entrance", "employees": 42,
        "terms": true, "newsletter": false
    })
}

/// A product on sale now, for tests that need windows around the present.
fn product(
    code: &str,
    kind: &str,
    ptype: Option<&str>,
    price: i64,
    vat: &str,
    capacity: Option<i32>,
) -> Value {
    let now = chrono::Utc::now();
    let mut p = json!({
        "kind": kind, "code": code, "name": format!("Product {code}"), "vat_rate": vat,
        "capacity": capacity, "meeting_quota": 10,
        "prices": [{"label": "Standard", "price_cents": price,
            "starts_at": now - chrono::Duration::days(1), "ends_at": now + chrono::Duration::days(30)}]
    });
    if let Some(t) = ptype {
        p["participant_type"] = json!(t);
    }
    p
}

async fn demo_product(app: &TestApp, token: &str, event: i64, code: &str) -> i64 {
    let (_, products) = app
        .get(&format!("/api/events/{event}/products"), token)
        .await;
    products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {products}"))["id"]
        .as_i64()
        .unwrap()
}

/// The person ids of the first `n` registrations of a participant type in the event.
async fn registered(app: &TestApp, token: &str, event: i64, ptype: &str, n: usize) -> Vec<i64> {
    let (_, regs) = app
        .get(
            &format!("/api/events/{event}/registrations?participant_type={ptype}&per_page={n}"),
            token,
        )
        .await;
    regs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["person"]["id"]
                .as_i64()
                .unwrap_or_else(|| r["person_id"].as_i64().unwrap())
        })
        .collect()
}

/// Runs every order's hold out, then the expiry job; how many orders it cancelled.
fn expire_holds_now(app: &TestApp) -> usize {
    use diesel::prelude::*;
    let mut conn = app.db.connect();
    diesel::sql_query(
        "UPDATE orders SET hold_until = now() - interval '1 minute' WHERE status = 'pending_payment'",
    )
    .execute(&mut conn)
    .unwrap();
    rdv_app::shop::orders::expire_holds(&mut conn, chrono::Utc::now()).unwrap()
}

#[actix_web::test]
async fn a_supplier_registers_orders_pays_by_card_and_gets_a_valid_factur_x_invoice() {
    let app = TestApp::spawn_shop().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;

    // Anyone reads the supplier form of the open event.
    let (status, form) = app
        .request(
            Method::GET,
            &format!("/api/events/{event}/registration-forms/supplier"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert_eq!(form["version"], 1);

    // Bad answers: each named, nothing written.
    let (_, before) = app.get("/api/persons?per_page=1", &admin).await;
    let mut bad = supplier_answers("not-an-email");
    bad["stand_size"] = json!("castle");
    bad["employees"] = json!("many");
    bad["terms"] = json!(false);
    bad["unknown"] = json!("x");
    bad.as_object_mut().unwrap().remove("company");
    let path = format!("/api/events/{event}/registration-forms/supplier/submissions");
    let (status, body) = app
        .request(Method::POST, &path, None, Some(json!({"answers": bad})))
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    for key in ["stand_size", "employees", "terms", "unknown", "company"] {
        assert!(fields.get(key).is_some(), "{key} not named: {body}");
    }
    // The platform's own rules name the standard fields.
    let mut bad_email = supplier_answers("not-an-email");
    bad_email["mobile_phone"] = json!("12");
    let (status, body) = app
        .request(
            Method::POST,
            &path,
            None,
            Some(json!({"answers": bad_email})),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(
        fields.get("email").is_some() && fields.get("mobile_phone").is_some(),
        "{body}"
    );
    let (_, after) = app.get("/api/persons?per_page=1", &admin).await;
    assert_eq!(
        before["total"], after["total"],
        "a refused submission wrote nothing"
    );

    // A good one registers the supplier, pending validation.
    let (status, sub) = app
        .request(
            Method::POST,
            &path,
            None,
            Some(json!({"answers": supplier_answers("chloe@usinage-martin.example")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let person = sub["person_id"].as_i64().unwrap();
    // Each consent shown is recorded with its text's version, given or not.
    {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Consent {
            #[diesel(sql_type = diesel::sql_types::Text)]
            purpose: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            text_version: String,
            #[diesel(sql_type = diesel::sql_types::Bool)]
            granted: bool,
        }
        let mut conn = app.db.connect();
        let rows: Vec<Consent> = diesel::sql_query(
            "SELECT c.purpose, c.text_version, c.granted FROM consent_records c \
             JOIN consent_texts t ON t.organization_id = c.organization_id AND t.purpose = c.purpose \
             AND t.version = c.text_version WHERE c.person_id = $1 ORDER BY c.purpose",
        )
        .bind::<diesel::sql_types::BigInt, _>(person)
        .load(&mut conn)
        .unwrap();
        let seen: Vec<(String, String, bool)> = rows
            .into_iter()
            .map(|r| (r.purpose, r.text_version, r.granted))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("marketing_email".to_owned(), "2027-1".to_owned(), false),
                ("terms_of_sale".to_owned(), "2027-1".to_owned(), true)
            ]
        );
    }
    // The same email again, unauthenticated: a conflict, not a silent overwrite.
    let (status, body) = app
        .request(
            Method::POST,
            &path,
            None,
            Some(json!({"answers": supplier_answers("CHLOE@usinage-martin.example")})),
        )
        .await;
    assert_error(status, &body, 409, "conflict");

    // The form changes; the answers keep the version they were given under.
    let mut def = form["definition"].clone();
    def["fields"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["key"] != "employees");
    let (status, v2) = put(
        &app,
        &format!("/api/events/{event}/registration-forms/supplier"),
        &admin,
        def.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version"], 2);
    // Changing a consent text without a new version is refused.
    let mut changed = def.clone();
    for f in changed["fields"].as_array_mut().unwrap() {
        if f["key"] == "terms" {
            f["kind"]["text_en"] = json!("Other words.");
        }
    }
    let (status, body) = put(
        &app,
        &format!("/api/events/{event}/registration-forms/supplier"),
        &admin,
        changed,
    )
    .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(
        fields
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.ends_with("kind.version")),
        "{body}"
    );
    let (_, answers) = app
        .get(&format!("/api/events/{event}/registration-answers"), &admin)
        .await;
    let mine = answers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["person_id"] == person)
        .unwrap();
    assert_eq!(mine["form_id"], form["id"], "{mine}");
    assert_eq!(mine["answers"]["employees"], 42);
    assert_eq!(mine["answers"]["stand_size"], "stand");
    let (status, csv) = bytes(
        &app,
        &format!("/api/events/{event}/registration-answers/export"),
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("Near the entrance") && csv.contains("stand_wishes"),
        "{csv}"
    );

    // An organizer orders the supplier package with two lunches and a partner voucher.
    let pack = demo_product(&app, &admin, event, "supplier-pack").await;
    let lunch = demo_product(&app, &admin, event, "lunch").await;
    let order_path = format!("/api/events/{event}/orders");
    let order_body = json!({
        "idempotency_key": "order-chloe-0001", "person_id": person, "voucher": "partner10",
        "items": [{"product_id": pack}, {"product_id": lunch, "quantity": 2}],
        "buyer": {"business": true, "company": "Usinage Martin SARL"}
    });
    let (status, order) = app.post(&order_path, &admin, order_body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "pending_payment");
    // 1,200.00 € at 20 % less the partner voucher's 10 % (it applies to the package only),
    // and 2 × 51.00 € at 10 %: 1,080.00 + 102.00 excl. VAT; VAT 216.00 + 10.20.
    assert_eq!(order["total_excl_cents"], 118_200, "{order}");
    assert_eq!(order["total_vat_cents"], 22_620, "{order}");
    assert_eq!(order["total_incl_cents"], 140_820, "{order}");
    assert_eq!(order["lines"][1]["discount_cents"], 0, "{order}");
    // The same submission again: the same order, nothing more held.
    let (status, again) = app.post(&order_path, &admin, order_body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], order["id"]);
    let mut other = order_body.clone();
    other["items"] = json!([{"product_id": pack}]);
    let (status, body) = app.post(&order_path, &admin, other).await;
    assert_error(status, &body, 409, "conflict");
    let order_id = order["id"].as_i64().unwrap();

    // Card: the hosted page, paid by the customer; the simulator calls the webhook.
    let (status, co) = app
        .post(
            &format!("/api/orders/{order_id}/checkout"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{co}");
    let url = co["checkout_url"].as_str().unwrap().to_owned();
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("1408.20"), "{page}");
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = no_redirect
        .post(&url)
        .form(&[("outcome", "succeeded")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let back = paid.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&app.base), "{back}");
    let (_, order) = app.get(&format!("/api/orders/{order_id}"), &admin).await;
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["paid_cents"], 140_820);
    assert_eq!(order["invoices"].as_array().unwrap().len(), 1, "{order}");
    let invoice = order["invoices"][0].clone();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(invoice["number"], format!("{year}-000001"));
    // The package's meeting quota reached the registration.
    let (_, reg) = app
        .get(
            &format!("/api/registrations/{}", sub["registration_id"]),
            &admin,
        )
        .await;
    assert_eq!(reg["meeting_quota"], 16, "{reg}");

    // The PDF carries the Factur-X XML, which validates against the EN 16931 schema.
    let (status, pdf) = bytes(
        &app,
        &format!("/api/invoices/{}/pdf", invoice["id"]),
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fx = checker("facturx_check.py", &pdf);
    assert_eq!(fx["valid"], true, "{fx}");
    assert_eq!(fx["level"], "en16931", "{fx}");
    assert_eq!(fx["number"], invoice["number"]);
    let text = fx["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect::<String>();
    for mention in [
        "303 265 045",
        "FR40303265045",
        "Usinage Martin SARL",
        "40",
        "intérêt légal",
    ] {
        assert!(
            text.contains(mention) || text.replace(' ', "").contains(&mention.replace(' ', "")),
            "{mention} missing from the PDF: {text}"
        );
    }

    // The webhook replayed ten times: paid once, one invoice.
    // The provider's event that paid this order, as the platform recorded it (the simulator
    // serves every test at once).
    let event_id = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Event {
            #[diesel(sql_type = diesel::sql_types::Text)]
            provider_event_id: String,
        }
        let mut conn = app.db.connect();
        diesel::sql_query(
            "SELECT provider_event_id FROM payment_events WHERE order_id = $1 \
             AND kind = 'checkout.session.completed'",
        )
        .bind::<diesel::sql_types::BigInt, _>(order_id)
        .get_result::<Event>(&mut conn)
        .unwrap()
        .provider_event_id
    };
    for _ in 0..10 {
        let (status, body) = paysim_call(
            &app,
            Method::POST,
            &format!("/v1/events/{event_id}/resend"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["webhook_status"], 200, "{body}");
    }
    let (_, order) = app.get(&format!("/api/orders/{order_id}"), &admin).await;
    assert_eq!(order["paid_cents"], 140_820);
    assert_eq!(order["invoices"].as_array().unwrap().len(), 1);

    // A forged or stale call: 400, nothing changed.
    let body = json!({"id": "evt_forged", "type": "refund.succeeded", "created": 0, "data": {}})
        .to_string();
    for signature in [
        "t=1,v1=00",
        &rdv_shop::webhook::sign(
            b"wrong secret",
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        ),
        &rdv_shop::webhook::sign(
            b"whsec_rdv_local_simulator_secret",
            chrono::Utc::now().timestamp() - 3600,
            body.as_bytes(),
        ),
    ] {
        let resp = app
            .client
            .post(format!("{}/api/payments/webhook", app.base))
            .header("Paysim-Signature", signature)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }

    // A partial refund through the provider: a credit note referring to the invoice.
    let (status, body) = app
        .post(
            &format!("/api/orders/{order_id}/refunds"),
            &admin,
            json!({"amount_cents": 200_000, "reason": "too much"}),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields.get("amount_cents").is_some());
    let (status, order) = app
        .post(
            &format!("/api/orders/{order_id}/refunds"),
            &admin,
            json!({"amount_cents": 11_220, "reason": "lunches cancelled"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["status"], "partially_refunded");
    assert_eq!(order["refunded_cents"], 11_220);
    let credit = order["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "credit_note")
        .unwrap()
        .clone();
    assert_eq!(credit["corrects_id"], invoice["id"]);
    assert_eq!(credit["total_incl_cents"], 11_220);
    assert_eq!(credit["number"], format!("{year}-000002"));
    let (_, pdf) = bytes(&app, &format!("/api/invoices/{}/pdf", credit["id"]), &admin).await;
    let fx = checker("facturx_check.py", &pdf);
    assert_eq!(fx["valid"], true, "{fx}");
    assert_eq!(fx["type_code"], "381", "{fx}");

    // The accounting export: one CSV line per document and rate, and a balanced FEC.
    // Invoices are dated in the seller's time zone: near midnight UTC, Paris is a day ahead.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let (status, csv) = bytes(
        &app,
        &format!("/api/invoices/ledger?from={today}&to={today}&delimiter=%3B"),
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let (status, fec) = bytes(
        &app,
        &format!("/api/invoices/ledger?from={today}&to={today}&format=fec"),
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fec = String::from_utf8(fec).unwrap();
    assert!(
        fec.starts_with("JournalCode|JournalLib|EcritureNum"),
        "{fec}"
    );
}

#[actix_web::test]
async fn the_last_places_are_never_oversold_and_invoice_numbers_have_no_gap() {
    let app = TestApp::spawn_shop().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let (status, pack) = app
        .post(
            &format!("/api/events/{event}/products"),
            &admin,
            product(
                "last-places",
                "package",
                Some("buyer"),
                10_000,
                "20",
                Some(5),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pack}");
    // Twelve registered buyers race for five places.
    let persons = registered(&app, &admin, event, "buyer", 12).await;
    assert_eq!(persons.len(), 12, "{persons:?}");
    let orders = futures_util::future::join_all(persons.iter().map(|p| {
        let app = &app;
        let admin = admin.clone();
        let body = json!({"idempotency_key": format!("race-{p}-0000"), "person_id": p, "items": [{"product_id": pack["id"]}]});
        async move { app.post(&format!("/api/events/{event}/orders"), &admin, body).await }
    }))
    .await;
    let placed: Vec<&Value> = orders
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(placed.len(), 5, "{orders:?}");
    for (s, b) in &orders {
        if *s != StatusCode::CREATED {
            assert_error(*s, b, 409, "conflict");
        }
    }
    // They all pay at once, on site; every invoice number follows the last.
    let paid = futures_util::future::join_all(placed.iter().map(|o| {
        let app = &app;
        let admin = admin.clone();
        let total = o["total_incl_cents"].clone();
        let id = o["id"].as_i64().unwrap();
        async move {
            app.post(
                &format!("/api/orders/{id}/payments"),
                &admin,
                json!({"method": "on_site", "amount_cents": total}),
            )
            .await
        }
    }))
    .await;
    let mut numbers: Vec<String> = paid
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, StatusCode::OK, "{b}");
            b["invoices"][0]["number"].as_str().unwrap().to_owned()
        })
        .collect();
    numbers.sort();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(
        numbers,
        (1..=5)
            .map(|n| format!("{year}-{n:06}"))
            .collect::<Vec<_>>()
    );
    let (_, products) = app
        .get(&format!("/api/events/{event}/products"), &admin)
        .await;
    let p = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == pack["id"])
        .unwrap();
    assert_eq!(p["available"], 0, "{p}");
}

#[actix_web::test]
async fn bad_orders_vouchers_and_windows_are_refused_and_holds_expire() {
    let app = TestApp::spawn_shop().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyers = registered(&app, &admin, event, "buyer", 3).await;
    let (_, option) = app
        .post(
            &format!("/api/events/{event}/products"),
            &admin,
            product("opt-a", "option", None, 5_000, "20", Some(1)),
        )
        .await;
    let now = chrono::Utc::now();
    let mut later = product("later", "option", None, 5_000, "20", None);
    later["prices"][0]["starts_at"] = json!(now + chrono::Duration::days(10));
    later["prices"][0]["ends_at"] = json!(now + chrono::Duration::days(20));
    let (status, later) = app
        .post(&format!("/api/events/{event}/products"), &admin, later)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{later}");

    // A product: bad rate, 0 % without its mention, overlapping windows.
    let mut bad = product("bad", "option", None, -5, "19.6", None);
    let window = bad["prices"][0].clone();
    bad["prices"].as_array_mut().unwrap().push(window);
    let (status, body) = app
        .post(&format!("/api/events/{event}/products"), &admin, bad)
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    for key in ["vat_rate", "prices[0].price_cents", "prices[1].starts_at"] {
        assert!(fields.get(key).is_some(), "{key}: {body}");
    }
    let (status, body) = app
        .post(
            &format!("/api/events/{event}/products"),
            &admin,
            product("zero", "option", None, 5, "0", None),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields.get("vat_exemption").is_some(), "{body}");

    let order = |key: &str, person: i64, items: Value, voucher: Option<&str>| json!({"idempotency_key": key, "person_id": person, "items": items, "voucher": voucher});
    let path = format!("/api/events/{event}/orders");
    // Outside its window, a quantity out of range, an unknown product.
    let (status, body) = app.post(&path, &admin, order("bad-order-1", buyers[0], json!([{"product_id": later["id"]}, {"product_id": option["id"], "quantity": 7}, {"product_id": 999999}]), None)).await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(
        fields["items[0].product_id"]
            .as_str()
            .unwrap()
            .contains("not on sale yet"),
        "{body}"
    );
    assert!(
        fields.get("items[1].quantity").is_some() && fields.get("items[2].product_id").is_some(),
        "{body}"
    );

    // Vouchers: used up, then expired.
    let (status, v) = app
        .post(
            &format!("/api/events/{event}/vouchers"),
            &admin,
            json!({"code": "once", "amount_cents": 1000, "max_uses": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, first) = app
        .post(
            &path,
            &admin,
            order(
                "voucher-1-ok",
                buyers[0],
                json!([{"product_id": option["id"]}]),
                Some("ONCE"),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["total_excl_cents"], 4_000);
    let (status, body) = app
        .post(
            &path,
            &admin,
            order(
                "voucher-2-no",
                buyers[1],
                json!([{"product_id": later["id"]}]),
                Some("once"),
            ),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
    let (status, body) = app
        .post(
            &path,
            &admin,
            order(
                "unknown-v-1",
                buyers[1],
                json!([{"product_id": option["id"]}]),
                Some("NOPE"),
            ),
        )
        .await;
    let fields = assert_error(status, &body, 422, "validation_failed");
    assert!(fields.get("voucher").is_some(), "{body}");

    // The option's only unit is held by the first order: sold out for the next.
    let (status, body) = app
        .post(
            &path,
            &admin,
            order(
                "sold-out-01",
                buyers[1],
                json!([{"product_id": option["id"]}]),
                None,
            ),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    // The hold runs out: the expiry job cancels the order and gives the unit and the voucher
    // use back.
    assert_eq!(expire_holds_now(&app), 1);
    let (_, cancelled) = app
        .get(&format!("/api/orders/{}", first["id"]), &admin)
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    let (status, second) = app
        .post(
            &path,
            &admin,
            order(
                "after-expiry",
                buyers[1],
                json!([{"product_id": option["id"]}]),
                Some("ONCE"),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");

    // A payment recorded by hand must be the total; card payments come from the provider.
    let id = second["id"].as_i64().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/orders/{id}/payments"),
            &admin,
            json!({"method": "bank_transfer", "amount_cents": 1}),
        )
        .await;
    assert_error(status, &body, 422, "validation_failed");
    // Bank transfer: the invoice on demand, then the statement matched by reference.
    let (status, inv) = app
        .post(&format!("/api/orders/{id}/invoice"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{inv}");
    let (_, pdf) = bytes(&app, &format!("/api/invoices/{}/pdf", inv["id"]), &admin).await;
    let fx = checker("facturx_check.py", &pdf);
    assert_eq!(fx["valid"], true, "{fx}");
    assert_eq!(fx["totals"]["DuePayableAmount"], "48.00", "{fx}");
    let label = format!(
        "VIR SEPA ACME {} MERCI",
        second["reference"].as_str().unwrap()
    );
    let (status, rec) = app.post(&format!("/api/events/{event}/bank-statements"), &admin,
        json!({"lines": [{"label": label, "amount_cents": second["total_incl_cents"]}, {"label": "unrelated", "amount_cents": 5}]})).await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    assert_eq!(rec[0]["outcome"], "paid", "{rec}");
    assert_eq!(rec[1]["reference"], Value::Null);
    let (_, paid) = app.get(&format!("/api/orders/{id}"), &admin).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(
        paid["invoices"].as_array().unwrap().len(),
        1,
        "the invoice issued on demand is the order's only one"
    );
    // A refund of a transfer is recorded, with its credit note; the invoice itself never changes.
    let (status, refunded) = app
        .post(
            &format!("/api/orders/{id}/refunds"),
            &admin,
            json!({"amount_cents": paid["paid_cents"], "reason": "cancelled"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refunded}");
    assert_eq!(refunded["status"], "refunded");
    {
        use diesel::prelude::*;
        let mut conn = app.db.connect();
        let changed =
            diesel::sql_query("UPDATE invoices SET total_incl_cents = 0").execute(&mut conn);
        assert!(changed.is_err(), "an issued invoice cannot change");
    }
}

#[actix_web::test]
async fn another_organization_and_other_participants_never_reach_an_order_and_invoices_outlive_an_erasure(
) {
    let app = TestApp::spawn_shop().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    // buyer1 (a participant) orders the buyer package for themselves and pays on site.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let pack = demo_product(&app, &admin, event, "buyer-pack").await;
    let (status, order) = app
        .post(
            &format!("/api/events/{event}/orders"),
            &buyer,
            json!({"idempotency_key": "buyer1-own-order", "items": [{"product_id": pack}],
                "buyer": {"address_line1": "1 place Bellecour", "postal_code": "69002", "city": "Lyon", "country": "FR"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_i64().unwrap();
    let person = order["person_id"].as_i64().unwrap();
    // A participant orders only for themselves, and cannot record a payment or refund.
    let (status, body) = app
        .post(&format!("/api/events/{event}/orders"), &buyer,
            json!({"idempotency_key": "buyer1-for-other", "person_id": person + 1, "items": [{"product_id": pack}]}))
        .await;
    assert_error(status, &body, 422, "validation_failed");
    let (status, body) = app
        .post(
            &format!("/api/orders/{id}/payments"),
            &buyer,
            json!({"method": "on_site", "amount_cents": order["total_incl_cents"]}),
        )
        .await;
    assert_error(status, &body, 403, "forbidden");
    let (status, paid) = app
        .post(
            &format!("/api/orders/{id}/payments"),
            &admin,
            json!({"method": "on_site", "amount_cents": order["total_incl_cents"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    let invoice = paid["invoices"][0]["id"].as_i64().unwrap();
    let (status, mine) = app
        .get(&format!("/api/me/events/{event}/orders"), &buyer)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine[0]["id"], id);
    let (status, _) = bytes(&app, &format!("/api/invoices/{invoice}/pdf"), &buyer).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the buyer downloads their own invoice"
    );

    // Another organization's admin sees none of it.
    let root = app.login("root@demo.example", "demo").await;
    let (_, org) = app
        .post(
            "/api/organizations",
            &root,
            json!({"slug": "rival", "name": "Rival Fairs"}),
        )
        .await;
    let (status, _) = app
        .post(&format!("/api/organizations/{}/members", org["id"]), &root,
            json!({"email": "boss@rival.example", "password": "long enough secret", "role": "org_admin"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let rival = app.login("boss@rival.example", "long enough secret").await;
    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/orders/{id}"), None),
        (
            Method::POST,
            format!("/api/orders/{id}/cancel"),
            Some(json!({})),
        ),
        (Method::POST, format!("/api/orders/{id}/checkout"), None),
        (
            Method::POST,
            format!("/api/orders/{id}/payments"),
            Some(json!({"method": "on_site", "amount_cents": 1})),
        ),
        (
            Method::POST,
            format!("/api/orders/{id}/refunds"),
            Some(json!({"amount_cents": 1, "reason": "x"})),
        ),
        (Method::POST, format!("/api/orders/{id}/invoice"), None),
        (Method::GET, format!("/api/invoices/{invoice}/pdf"), None),
        (Method::GET, format!("/api/invoices/{invoice}/xml"), None),
        (Method::GET, format!("/api/events/{event}/orders"), None),
        (
            Method::GET,
            format!("/api/events/{event}/registration-answers"),
            None,
        ),
        (
            Method::GET,
            format!("/api/events/{event}/registration-answers/export"),
            None,
        ),
        (
            Method::GET,
            format!("/api/events/{event}/registration-forms"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/events/{event}/registration-forms/buyer"),
            Some(json!({"fields": []})),
        ),
        (Method::GET, format!("/api/events/{event}/vouchers"), None),
        (
            Method::POST,
            format!("/api/events/{event}/vouchers"),
            Some(json!({"code": "STEAL", "percent": 50})),
        ),
        (
            Method::POST,
            format!("/api/events/{event}/products"),
            Some(product("steal", "option", None, 1, "20", None)),
        ),
        (
            Method::PUT,
            format!("/api/events/{event}/products/{pack}"),
            Some(product("steal", "option", None, 1, "20", None)),
        ),
        (
            Method::POST,
            format!("/api/events/{event}/bank-statements"),
            Some(json!({"lines": []})),
        ),
        (
            Method::GET,
            format!("/api/organizations/{}/billing", 1),
            None,
        ),
    ];
    for (method, path, body) in probes {
        let (status, answer) = app.request(method.clone(), &path, Some(&rival), body).await;
        assert!(
            status == StatusCode::NOT_FOUND
                || (status == StatusCode::UNPROCESSABLE_ENTITY
                    && path.ends_with("registration-forms/buyer")),
            "{method} {path}: {status} {answer}"
        );
        assert!(
            !answer.to_string().contains("Bellecour"),
            "{path} leaked: {answer}"
        );
    }
    let (_, ledger) = bytes(
        &app,
        "/api/invoices/ledger?from=2026-01-01&to=2026-12-31",
        &rival,
    )
    .await;
    assert!(
        !String::from_utf8_lossy(&ledger).contains("invoice,"),
        "the rival's ledger is its own"
    );

    // The buyer is erased: the invoice stays, as issued, under its legal hold.
    let (status, asked) = app
        .post(
            &format!("/api/persons/{person}/privacy-requests"),
            &admin,
            json!({"kind": "erasure", "channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    let (status, done) = app
        .post(
            &format!("/api/privacy-requests/{}/process", asked["id"]),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let tables = done["outcome"]["tables"].as_array().unwrap();
    let action = |t: &str| tables.iter().find(|o| o["table"] == t).unwrap()["action"].clone();
    assert_eq!(action("invoices"), "held");
    assert_eq!(action("orders"), "held");
    let (status, pdf) = bytes(&app, &format!("/api/invoices/{invoice}/pdf"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(checker("facturx_check.py", &pdf)["valid"], true);
}

#[actix_web::test]
async fn a_card_payment_made_after_the_hold_ran_out_revives_the_order_or_is_refunded() {
    let app = TestApp::spawn_shop().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let buyers = registered(&app, &admin, event, "buyer", 2).await;
    let (_, last) = app
        .post(
            &format!("/api/events/{event}/products"),
            &admin,
            product("last-one", "option", None, 3_000, "20", Some(1)),
        )
        .await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let order_and_page = |key: &'static str, person: i64| {
        let (app, admin) = (&app, admin.clone());
        let item = last["id"].clone();
        async move {
            let (status, order) = app
                .post(&format!("/api/events/{event}/orders"), &admin,
                    json!({"idempotency_key": key, "person_id": person, "items": [{"product_id": item}]}))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{order}");
            let id = order["id"].as_i64().unwrap();
            let (_, co) = app
                .post(&format!("/api/orders/{id}/checkout"), &admin, json!({}))
                .await;
            (id, co["checkout_url"].as_str().unwrap().to_owned())
        }
    };

    // The buyer stays on the provider's page past the hold; the unit is still there: paid.
    let (first, url) = order_and_page("late-but-lucky", buyers[0]).await;
    assert_eq!(expire_holds_now(&app), 1);
    let paid = no_redirect
        .post(&url)
        .form(&[("outcome", "succeeded")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let (_, order) = app.get(&format!("/api/orders/{first}"), &admin).await;
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["invoices"].as_array().unwrap().len(), 1);

    // Refunded in whole, the unit goes back on sale; the next buyer is late too, and this
    // time someone else took the unit: the money goes back by itself.
    let (status, _) = app
        .post(
            &format!("/api/orders/{first}/refunds"),
            &admin,
            json!({"amount_cents": 3_600, "reason": "changed plans"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (second, url) = order_and_page("late-and-unlucky", buyers[1]).await;
    assert_eq!(expire_holds_now(&app), 1);
    let (status, _) = app
        .post(&format!("/api/events/{event}/orders"), &admin,
            json!({"idempotency_key": "took-the-unit", "person_id": buyers[0], "items": [{"product_id": last["id"]}]}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let paid = no_redirect
        .post(&url)
        .form(&[("outcome", "succeeded")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    crate::common::drain(&app);
    let (_, order) = app.get(&format!("/api/orders/{second}"), &admin).await;
    assert_eq!(order["status"], "cancelled", "{order}");
    assert_eq!(order["invoices"].as_array().unwrap().len(), 0);
    let payment = &order["payments"][0];
    assert_eq!(payment["status"], "succeeded", "{order}");
    assert_eq!(order["refunds"][0]["status"], "succeeded", "{order}");
    assert_eq!(order["refunds"][0]["amount_cents"], payment["amount_cents"]);
    let (_, products) = app
        .get(&format!("/api/events/{event}/products"), &admin)
        .await;
    let p = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == last["id"])
        .unwrap();
    assert_eq!(
        p["available"], 0,
        "one unit, held by the order that took it: {p}"
    );
}

#[actix_web::test]
async fn an_invoice_issued_for_a_transfer_holds_the_units_until_due_and_a_cancellation_credits_it()
{
    let app = TestApp::spawn_shop().await;
    let admin = app.admin().await;
    let event = app.demo_event(&admin).await;
    let person = registered(&app, &admin, event, "supplier", 1).await[0];
    let pack = demo_product(&app, &admin, event, "supplier-pack").await;
    let (status, order) = app
        .post(&format!("/api/events/{event}/orders"), &admin,
            json!({"idempotency_key": "transfer-then-nothing", "person_id": person, "items": [{"product_id": pack}],
                "buyer": {"address_line1": "2 rue Neuve", "postal_code": "69001", "city": "Lyon", "country": "FR"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_i64().unwrap();
    let (status, invoice) = app
        .post(&format!("/api/orders/{id}/invoice"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{invoice}");
    let (_, held) = app.get(&format!("/api/orders/{id}"), &admin).await;
    let until: chrono::DateTime<chrono::Utc> =
        held["hold_until"].as_str().unwrap().parse().unwrap();
    assert!(
        until > chrono::Utc::now() + chrono::Duration::days(29),
        "held until the transfer is due: {until}"
    );
    // The transfer never comes: the order expires and its invoice is credited in full.
    assert_eq!(expire_holds_now(&app), 1);
    let (_, cancelled) = app.get(&format!("/api/orders/{id}"), &admin).await;
    assert_eq!(cancelled["status"], "cancelled");
    let docs = cancelled["invoices"].as_array().unwrap();
    assert_eq!(docs.len(), 2, "{cancelled}");
    let credit = docs.iter().find(|d| d["kind"] == "credit_note").unwrap();
    assert_eq!(credit["corrects_id"], invoice["id"]);
    assert_eq!(credit["total_incl_cents"], invoice["total_incl_cents"]);
    let (_, pdf) = bytes(&app, &format!("/api/invoices/{}/pdf", credit["id"]), &admin).await;
    let fx = checker("facturx_check.py", &pdf);
    assert_eq!(fx["valid"], true, "{fx}");
    assert_eq!(fx["totals"]["DuePayableAmount"], "0.00", "{fx}");
}
