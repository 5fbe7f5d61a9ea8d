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
        routes::auth::password_reset,
        routes::auth::password_reset_page,
        routes::auth::password_reset_confirm,
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
        routes::meetings::get_settings,
        routes::meetings::put_settings,
        routes::meetings::list,
        routes::meetings::create,
        routes::meetings::dashboard,
        routes::meetings::get_one,
        routes::meetings::history,
        routes::meetings::accept,
        routes::meetings::decline,
        routes::meetings::cancel,
        routes::meetings::my_unavailability,
        routes::meetings::set_my_unavailability,
        routes::meetings::my_presence,
        routes::meetings::set_my_presence,
        routes::meetings::presence_of,
        routes::meetings::set_presence_of,
        routes::plans::start,
        routes::plans::list,
        routes::plans::get_one,
        routes::plans::cancel,
        routes::plans::draft,
        routes::plans::put_meeting,
        routes::plans::remove_meeting,
        routes::plans::publish,
        routes::plans::preview,
        routes::plans::event_meetings,
        routes::plans::my_agenda,
        routes::plans::agenda_of,
        routes::plans::changes,
        routes::plans::my_changes,
        routes::plans::my_pdf,
        routes::plans::participant_pdf,
        routes::plans::new_feed,
        routes::plans::revoke_feed,
        routes::plans::feed,
        routes::exports::request,
        routes::exports::request_org,
        routes::exports::list,
        routes::exports::get_one,
        routes::exports::file,
        routes::imports::upload,
        routes::imports::list,
        routes::imports::get_one,
        routes::imports::check,
        routes::imports::run,
        routes::imports::report,
        routes::messages::list,
        routes::messages::retry,
        routes::messages::unsubscribe,
        routes::messages::delivery_report,
        routes::campaigns::create,
        routes::campaigns::list,
        routes::campaigns::get_one,
        routes::campaigns::schedule,
        routes::campaigns::cancel,
        routes::campaigns::solicit,
        routes::campaigns::consent_page,
        routes::campaigns::consent_given,
        routes::privacy::ask,
        routes::privacy::mine,
        routes::privacy::record,
        routes::privacy::queue,
        routes::privacy::get_one,
        routes::privacy::process,
        routes::privacy::reject,
        routes::privacy::archive,
        routes::privacy::lift_restriction,
        routes::privacy::record_of_processing,
        routes::privacy::sweeps,
        routes::privacy::sweep_dry_run,
        routes::privacy::requalification,
        routes::privacy::requalification_send,
        routes::privacy::requalify_page,
        routes::privacy::requalify_confirm,
        routes::privacy::close_organization,
        routes::privacy::closure_status,
        routes::privacy::closure_export,
        routes::privacy::closure_rebuild,
        routes::shop::get_billing,
        routes::shop::put_billing,
        routes::shop::put_form,
        routes::shop::get_form,
        routes::shop::list_forms,
        routes::shop::submit_form,
        routes::shop::list_answers,
        routes::shop::export_answers,
        routes::shop::create_product,
        routes::shop::update_product,
        routes::shop::list_products,
        routes::shop::create_voucher,
        routes::shop::list_vouchers,
        routes::shop::place_order,
        routes::shop::list_orders,
        routes::shop::my_orders,
        routes::shop::get_order,
        routes::shop::cancel_order,
        routes::shop::checkout,
        routes::shop::record_payment,
        routes::shop::refund_order,
        routes::shop::invoice_order,
        routes::shop::bank_statement,
        routes::shop::webhook,
        routes::shop::payment_return,
        routes::shop::invoice_pdf,
        routes::shop::invoice_xml,
        routes::shop::ledger,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorCode, routes::events::BreakIn)),
    modifiers(&BearerAuth, &ApiPrefix, &ErrorResponses),
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

/// Declares on every operation the errors its shape lets it return, with the error body: a
/// secured operation can answer 401 (no valid session) and 403 (not allowed); one with a path
/// parameter 404; one with a body 400 (malformed JSON), 413, 415 and 422; one with query
/// parameters 422. What only some operations return (409, 429...) their annotations declare.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        let secured_by_default = openapi.security.as_ref().is_some_and(|s| !s.is_empty());
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for op in operations.into_iter().flatten() {
                let params = op.parameters.as_deref().unwrap_or_default();
                let has_path = params
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Path));
                let has_query = params
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Query));
                let secured = op
                    .security
                    .as_ref()
                    .map_or(secured_by_default, |s| !s.is_empty());
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                if secured {
                    add("401", "no valid session: missing, expired or revoked token");
                    add("403", "the caller's role may not do this");
                }
                if has_path {
                    add("404", "no such resource the caller may see");
                }
                if op.request_body.is_some() {
                    add("400", "the body is not well-formed JSON");
                    add("413", "the body is too large");
                    add("415", "the body is not application/json");
                    add("422", "invalid fields, each named");
                }
                if has_query {
                    add("422", "invalid query parameters, each named");
                }
            }
        }
    }
}

/// The methods the document declares for each path, to answer 405 with `Allow` for the others.
pub fn methods_by_path() -> Vec<(String, Vec<&'static str>)> {
    let doc = ApiDoc::openapi();
    doc.paths
        .paths
        .iter()
        .map(|(path, item)| {
            let mut methods = Vec::new();
            for (name, present) in [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("PATCH", item.patch.is_some()),
            ] {
                if present {
                    methods.push(name);
                }
            }
            (path.clone(), methods)
        })
        .collect()
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document() -> String {
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
