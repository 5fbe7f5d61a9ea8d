//! The security review's findings, each held by a test: throttling that cannot be raced and
//! locks no owner out, client addresses that the client cannot choose, sessions that end for
//! real, audit rows for every login, and the headers every answer carries.

use crate::common::{assert_error, settings, state, TestApp};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The demo API behind one trusted proxy: the client address is the last X-Forwarded-For entry.
async fn behind_proxy() -> TestApp {
    let db = rdv_db::testing::TestDatabase::new();
    {
        let mut conn = db.connect();
        let hash = rdv_app::auth::hash_password("demo").unwrap();
        rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
    }
    let mut s = settings(&db.app_url());
    s.server.trusted_proxy_hops = 1;
    TestApp::serve(state(&s), db)
}

async fn login_from(app: &TestApp, forwarded: &str, email: &str, password: &str) -> StatusCode {
    app.client
        .post(format!("{}/api/auth/login", app.base))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn post_anon(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    app.request(Method::POST, path, None, Some(body)).await
}

fn audit_actions(app: &TestApp) -> Vec<(String, Option<String>)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        client_address: Option<String>,
    }
    diesel::sql_query("SELECT action, client_address FROM audit_log ORDER BY id")
        .load::<Row>(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|r| (r.action, r.client_address))
        .collect()
}

#[actix_web::test]
async fn fifty_parallel_wrong_passwords_get_at_most_the_limit_checked() {
    let app = TestApp::spawn().await;
    let attempts = (0..50).map(|_| app.login_full("admin@demo.example", "guess"));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + throttled, 50, "{statuses:?}");
    // The test settings allow 5 free attempts per account and address.
    assert!(checked <= 5, "{checked} passwords checked in parallel");
    assert!(checked >= 1);
}

#[actix_web::test]
async fn a_guesser_elsewhere_never_locks_the_owner_out() {
    let app = behind_proxy().await;
    for _ in 0..8 {
        login_from(&app, "198.51.100.66", "admin@demo.example", "guess").await;
    }
    assert_eq!(
        login_from(&app, "198.51.100.66", "admin@demo.example", "demo").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser's own address waits"
    );
    // The owner, from their own address, logs in at once.
    assert_eq!(
        login_from(&app, "203.0.113.10", "admin@demo.example", "demo").await,
        StatusCode::OK
    );
    // An address that guesses across many accounts runs out of its budget (50 per window),
    // whatever the accounts; another address of the same /64 shares it, another /64 does not.
    for i in 0..50 {
        login_from(
            &app,
            "2001:db8:5:6::1",
            &format!("nobody{i}@demo.example"),
            "guess",
        )
        .await;
    }
    assert_eq!(
        login_from(&app, "2001:db8:5:6:ffff::2", "buyer1@demo.example", "demo").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from(&app, "2001:db8:5:7::1", "buyer1@demo.example", "demo").await,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn the_client_address_is_the_one_the_trusted_proxy_saw() {
    let app = behind_proxy().await;
    // The client claims 6.6.6.6; the proxy appends what it saw.
    assert_eq!(
        login_from(&app, "6.6.6.6, 192.0.2.44", "admin@demo.example", "demo").await,
        StatusCode::OK
    );
    let logins: Vec<_> = audit_actions(&app)
        .into_iter()
        .filter(|(a, _)| a == "login")
        .collect();
    assert_eq!(
        logins,
        vec![("login".to_owned(), Some("192.0.2.44".to_owned()))]
    );
    // Guesses under spoofed leftmost entries all count against the real address.
    for i in 0..6 {
        login_from(
            &app,
            &format!("10.0.0.{i}, 192.0.2.45"),
            "admin@demo.example",
            "x",
        )
        .await;
    }
    assert_eq!(
        login_from(&app, "10.9.9.9, 192.0.2.45", "admin@demo.example", "demo").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[actix_web::test]
async fn a_replayed_refresh_token_ends_the_whole_session() {
    let app = TestApp::spawn().await;
    let (_, first) = app.login_full("admin@demo.example", "demo").await;
    let stolen = first["refresh_token"].as_str().unwrap().to_owned();
    // The owner refreshes; the thief later replays the old token.
    let (status, owner) =
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": stolen})).await;
    assert_eq!(status, StatusCode::OK, "{owner}");
    let (status, body) =
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": stolen})).await;
    assert_error(status, &body, 401, "unauthorized");
    // Every token of that session is dead now: the newer refresh token and the access token.
    let (status, body) = post_anon(
        &app,
        "/api/auth/refresh",
        json!({"refresh_token": owner["refresh_token"]}),
    )
    .await;
    assert_error(status, &body, 401, "unauthorized");
    let (status, body) = app
        .get("/api/events", owner["access_token"].as_str().unwrap())
        .await;
    assert_error(status, &body, 401, "unauthorized");
    assert!(audit_actions(&app)
        .iter()
        .any(|(a, _)| a == "session.refresh_token_reuse"));
    // Another login of the same account is not affected.
    let (_, other) = app.login_full("admin@demo.example", "demo").await;
    let (status, _) = app
        .get("/api/events", other["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn sessions_end_at_their_absolute_deadline_however_active() {
    let app = TestApp::spawn().await;
    let (_, pair) = app.login_full("admin@demo.example", "demo").await;
    diesel::sql_query("UPDATE sessions SET expires_at = now() - interval '1 second'")
        .execute(&mut app.conn())
        .unwrap();
    let (status, body) = post_anon(
        &app,
        "/api/auth/refresh",
        json!({"refresh_token": pair["refresh_token"]}),
    )
    .await;
    assert_error(status, &body, 401, "unauthorized");
    let (status, body) = app
        .get("/api/events", pair["access_token"].as_str().unwrap())
        .await;
    assert_error(status, &body, 401, "unauthorized");
}

#[actix_web::test]
async fn access_tokens_die_with_logout_a_disabled_account_or_a_removed_membership() {
    let app = TestApp::spawn().await;
    // Logout ends the session's access tokens at once, not when they expire.
    let (_, pair) = app.login_full("admin@demo.example", "demo").await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let (status, _) = post_anon(
        &app,
        "/api/auth/logout",
        json!({"refresh_token": pair["refresh_token"]}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get("/api/events", &access).await;
    assert_error(status, &body, 401, "unauthorized");

    // Logout of all sessions ends the other devices' sessions too.
    let phone = app.login("admin@demo.example", "demo").await;
    let laptop = app.login("admin@demo.example", "demo").await;
    let (status, body) = app.post("/api/auth/logout-all", &laptop, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 2);
    for token in [&phone, &laptop] {
        let (status, body) = app.get("/api/events", token).await;
        assert_error(status, &body, 401, "unauthorized");
    }

    // A disabled account is refused on its next request.
    let buyer = app.login("buyer1@demo.example", "demo").await;
    let (status, _) = app.get("/api/me", &buyer).await;
    assert_eq!(status, StatusCode::OK);
    diesel::sql_query(
        "UPDATE user_accounts SET disabled_at = now() WHERE lower(email) = 'buyer1@demo.example'",
    )
    .execute(&mut app.conn())
    .unwrap();
    let (status, body) = app.get("/api/me", &buyer).await;
    assert_error(status, &body, 401, "unauthorized");

    // A removed membership takes its role away at once.
    let admin = app.login("admin@demo.example", "demo").await;
    diesel::sql_query(
        "DELETE FROM memberships WHERE role = 'org_admin' AND user_account_id = \
         (SELECT id FROM user_accounts WHERE lower(email) = 'admin@demo.example')",
    )
    .execute(&mut app.conn())
    .unwrap();
    let (status, body) = app.get("/api/events", &admin).await;
    assert_error(status, &body, 401, "unauthorized");
}

#[actix_web::test]
async fn logins_refreshes_logouts_and_failures_are_audited() {
    let app = TestApp::spawn().await;
    app.login_full("admin@demo.example", "wrong").await;
    let (_, pair) = app.login_full("admin@demo.example", "demo").await;
    let (_, pair) = post_anon(
        &app,
        "/api/auth/refresh",
        json!({"refresh_token": pair["refresh_token"]}),
    )
    .await;
    post_anon(
        &app,
        "/api/auth/logout",
        json!({"refresh_token": pair["refresh_token"]}),
    )
    .await;
    let actions: Vec<String> = audit_actions(&app).into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions,
        ["login.failed", "login", "session.refresh", "logout"],
        "{actions:?}"
    );
}

#[actix_web::test]
async fn answers_carry_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .get(format!("{}/api/health", app.base))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-request-id"], "trace-abc-123");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    // A request id that is not a short token is replaced by a fresh one.
    let resp = app
        .client
        .get(format!("{}/api/health", app.base))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "{id}");
    // The docs page allows its own inline script and style by hash, nothing from elsewhere.
    let resp = app
        .client
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap();
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

#[actix_web::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let status = app
            .client
            .get(format!("{}/api/events", app.base))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK, "{scheme}");
    }
    let status = app
        .client
        .get(format!("{}/api/events", app.base))
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn health_reports_the_search_follower() {
    let (app, _dir) = TestApp::spawn_with_search().await;
    // The follower reports within a moment of starting.
    let mut last = Value::Null;
    for _ in 0..50 {
        let (status, body) = app.request(Method::GET, "/api/health", None, None).await;
        assert_eq!(status, StatusCode::OK);
        if body["search"] == "ok" {
            return;
        }
        last = body;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("search never reported ok: {last}");
}

#[actix_web::test]
async fn the_application_role_may_add_to_the_audit_log_but_never_rewrite_it() {
    let app = TestApp::spawn().await;
    app.login("admin@demo.example", "demo").await;
    let mut conn = rdv_db::establish(&app.db.app_url()).unwrap();
    let who: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>("current_user"))
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(who, "rdv_app");
    diesel::sql_query("INSERT INTO audit_log (action, subject_type) VALUES ('test', 'test')")
        .execute(&mut conn)
        .unwrap();
    for sql in [
        "UPDATE audit_log SET action = 'nothing happened'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "DROP TABLE audit_log",
        "ALTER TABLE persons ADD COLUMN x int",
    ] {
        let err = diesel::sql_query(sql).execute(&mut conn).unwrap_err();
        assert!(
            err.to_string().contains("denied") || err.to_string().contains("owner"),
            "{sql}: {err}"
        );
    }
}
