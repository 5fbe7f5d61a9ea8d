use crate::common::{assert_error, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[actix_web::test]
async fn demo_logins_work_and_carry_their_roles() {
    let app = TestApp::spawn().await;
    for (email, role) in [
        ("root@demo.example", "platform_admin"),
        ("admin@demo.example", "org_admin"),
        ("buyer1@demo.example", "participant"),
    ] {
        let (status, body) = app.login_full(email, "demo").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["role"], role);
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_i64().unwrap() > 0);
    }
    let (status, body) = app.login_full("admin@demo.example", "wrong").await;
    assert_error(status, &body, 401, "invalid_credentials");
    let (status, body) = app.login_full("nobody@demo.example", "demo").await;
    assert_error(status, &body, 401, "invalid_credentials");
    // A NUL, which no stored email can hold, is a wrong email like any other.
    let (status, body) = app.login_full("admin@demo.example\u{0}", "demo").await;
    assert_error(status, &body, 401, "invalid_credentials");
}

#[actix_web::test]
async fn endpoints_refuse_missing_or_forged_tokens() {
    let app = TestApp::spawn().await;
    let (status, body) = app.request(Method::GET, "/api/events", None, None).await;
    assert_error(status, &body, 401, "unauthorized");
    let (status, body) = app
        .get("/api/events", "eyJhbGciOiJIUzI1NiJ9.e30.forged")
        .await;
    assert_error(status, &body, 401, "unauthorized");
}

#[actix_web::test]
async fn refresh_rotates_and_logout_revokes() {
    let app = TestApp::spawn().await;
    let (_, first) = app.login_full("admin@demo.example", "demo").await;
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = app
        .request(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let (status, _) = app
        .get("/api/events", second["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    // A refresh token is single use.
    let (status, body) = app
        .request(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_error(status, &body, 401, "unauthorized");
    let newer = second["refresh_token"].as_str().unwrap();
    let (status, _) = app
        .request(
            Method::POST,
            "/api/auth/logout",
            None,
            Some(json!({"refresh_token": newer})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .request(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": newer})),
        )
        .await;
    assert_error(status, &body, 401, "unauthorized");
}

#[actix_web::test]
async fn repeated_failures_make_that_address_wait_for_that_account() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let (status, _) = app.login_full("admin@demo.example", "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, and the answer says when to come back.
    let resp = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": "ADMIN@demo.example", "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    // Another account is not affected.
    let (status, _) = app.login_full("buyer1@demo.example", "demo").await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn health_reports_the_database() {
    let app = TestApp::spawn().await;
    let (status, body) = app.request(Method::GET, "/api/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok", "database": "ok"}));

    // A node whose database is unreachable says so with a 503.
    let db = rdv_db::testing::TestDatabase::new();
    let settings = crate::common::settings("postgres://postgres@127.0.0.1:1/none");
    let pool = diesel::r2d2::Pool::builder()
        .connection_timeout(std::time::Duration::from_millis(500))
        .build_unchecked(diesel::r2d2::ConnectionManager::new(
            "postgres://postgres@127.0.0.1:1/none",
        ));
    let down = TestApp::serve(
        rdv_api::AppState::new(pool, settings.server.clone(), settings.auth.clone()),
        db,
    );
    let (status, body) = down.request(Method::GET, "/api/health", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "unreachable");
}
