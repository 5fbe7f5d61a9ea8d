//! The OpenAPI document is generated from the code; the committed copy must match it.

use crate::common::TestApp;
use reqwest::Method;

#[actix_web::test]
async fn committed_openapi_matches_the_code() {
    let generated = rdv_api::openapi::document();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `make openapi` and commit the result"
    );

    let app = TestApp::spawn().await;
    let (status, served) = app
        .request(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(status, 200);
    let generated: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(served, generated);
    for path in [
        "/api/auth/login",
        "/api/events/{id}/days",
        "/api/persons/{id}",
        "/api/audit",
        "/api/me",
    ] {
        assert!(
            served["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
    let docs = app
        .client
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("/api/openapi.json"));
}
