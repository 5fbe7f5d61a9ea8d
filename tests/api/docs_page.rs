//! The docs page, rendered by a real Chromium: its script must list every operation of the
//! OpenAPI document, with nothing loaded from elsewhere.

use crate::common::TestApp;

#[actix_web::test]
async fn docs_page_lists_every_operation_in_chromium() {
    let app = TestApp::spawn().await;
    let url = format!("{}/api/docs", app.base);
    let profile = std::env::temp_dir().join(format!("rdv-chromium-{}", std::process::id()));
    let dom = actix_web::rt::task::spawn_blocking(move || {
        let out = std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(&url)
            .output()
            .expect("chromium is installed by `make test` (scripts/deps.sh)");
        let _ = std::fs::remove_dir_all(&profile);
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .unwrap();

    let spec: serde_json::Value = serde_json::from_str(&rdv_api::openapi::document()).unwrap();
    let operations: usize = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert!(operations >= 30, "{operations}");
    assert_eq!(
        dom.matches("<details>").count(),
        operations,
        "rendered page:\n{dom}"
    );
    assert!(!dom.contains("Loading…"), "the script did not run");
    for expected in [
        "/api/auth/login",
        "/api/events/{id}/days",
        "/api/audit",
        ">registrations<",
    ] {
        assert!(
            dom.contains(expected),
            "{expected} missing from the rendered page"
        );
    }
}
