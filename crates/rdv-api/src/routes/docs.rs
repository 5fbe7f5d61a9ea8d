//! The OpenAPI document and a self-contained docs page (no assets from elsewhere).

use crate::openapi::ApiDoc;
use actix_web::{get, web, HttpResponse};
use utoipa::OpenApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi_json).service(docs_page);
}

#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[get("/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", docs_policy()))
        .body(DOCS_PAGE)
}

const DOCS_PAGE: &str = include_str!("docs.html");

/// The docs page's content security policy: its own inline script and style (by hash), the
/// OpenAPI document from this origin, nothing else.
fn docs_policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        let hash = |open: &str, close: &str| -> String {
            use base64::Engine;
            use sha2::Digest;
            let body = DOCS_PAGE
                .split_once(open)
                .and_then(|(_, rest)| rest.split_once(close))
                .map(|(body, _)| body)
                .unwrap_or("");
            let digest = sha2::Sha256::digest(body.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        };
        format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
             img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            hash("<script>", "</script>"),
            hash("<style>", "</style>"),
        )
    })
}
