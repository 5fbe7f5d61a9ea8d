//! The OpenAPI document, generated from the handlers' annotations. A committed copy lives in
//! `docs/openapi.json`; a test fails when the two drift (`make openapi` rewrites it).

use crate::routes;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "rdv", description = "B2B meeting events: registrations, matchmaking, planning, agendas."),
    paths(
        routes::health::health,
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::logout_all,
        routes::organizations::list,
        routes::organizations::create,
        routes::organizations::get_one,
        routes::organizations::add_member,
        routes::events::list,
        routes::events::create,
        routes::events::get_one,
        routes::events::update,
        routes::events::add_day,
        routes::events::list_days,
        routes::events::set_tables,
        routes::events::list_tables,
        routes::persons::list,
        routes::persons::create,
        routes::persons::get_one,
        routes::persons::update,
        routes::registrations::list,
        routes::registrations::create,
        routes::registrations::get_one,
        routes::registrations::update,
        routes::registrations::validate,
        routes::registrations::refuse,
        routes::me::me,
        routes::me::update_me,
        routes::me::my_registrations,
        routes::audit::list,
        routes::search::search,
        routes::search::matches_me,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorCode)),
    modifiers(&BearerAuth, &ApiPrefix),
    servers((url = "/")),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The handlers are mounted under `/api`; the document names the full paths.
struct ApiPrefix;

impl Modify for ApiPrefix {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = std::mem::take(&mut openapi.paths.paths);
        openapi.paths.paths = paths
            .into_iter()
            .map(|(path, item)| (format!("/api{path}"), item))
            .collect();
    }
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document() -> String {
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
