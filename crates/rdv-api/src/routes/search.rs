//! Participant search and "matches for me" over the node's search index, which follows the
//! database. Organizers search their whole event; participants see validated, visible profiles.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use actix_web::{get, web, HttpResponse};
use rdv_app::search::SearchInput;
use rdv_domain::EventId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(search).service(matches_me);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Free text: words must all match (typos tolerated, the last word as a prefix); quoted
    /// phrases keep their order, an unclosed quote runs to the end. Only the first
    /// `MAX_QUERY_WORDS` words count; a text without a searchable word finds nobody. Absent or
    /// blank: everyone the filters let through.
    #[param(schema_with = crate::schema::search_text)]
    pub q: Option<String>,
    /// Comma-separated participant types.
    #[param(schema_with = crate::schema::participant_type_list)]
    pub participant_type: Option<String>,
    /// Comma-separated ISO country codes.
    #[param(schema_with = crate::schema::country_list)]
    pub country: Option<String>,
    /// Comma-separated sector paths; a parent sector finds its children.
    #[param(schema_with = crate::schema::sector_list)]
    pub sector: Option<String>,
    /// Comma-separated ISO 639-1 codes.
    #[param(schema_with = crate::schema::language_list)]
    pub language: Option<String>,
    /// Comma-separated facets to count.
    #[param(schema_with = crate::schema::facet_list)]
    pub facets: Option<String>,
    #[param(schema_with = crate::schema::search_offset)]
    pub offset: Option<usize>,
    #[param(schema_with = crate::schema::search_limit)]
    pub limit: Option<usize>,
    /// Participants: only those the event's meeting rules let them meet (the rules that
    /// meeting requests follow). Organizers see everyone.
    pub may_meet: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct SnippetOut {
    /// `name`, `company`, `job_title`, `offers`, `needs` or `company_description`.
    pub field: String,
    /// The text with matched words in `<mark>`, HTML-escaped.
    pub html: String,
}

#[derive(Serialize, ToSchema)]
pub struct HitOut {
    pub registration_id: i64,
    pub score: f32,
    pub name: String,
    pub company: String,
    pub job_title: String,
    pub country: Option<String>,
    #[schema(value_type = rdv_domain::ParticipantType)]
    pub participant_type: String,
    #[schema(value_type = rdv_domain::RegistrationStatus)]
    pub status: String,
    pub sectors: Vec<String>,
    pub snippets: Vec<SnippetOut>,
}

#[derive(Serialize, ToSchema)]
pub struct FacetValueOut {
    pub value: String,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct FacetOut {
    #[schema(schema_with = crate::schema::facet_name)]
    pub facet: String,
    pub values: Vec<FacetValueOut>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchOut {
    pub total: u64,
    pub hits: Vec<HitOut>,
    pub facets: Vec<FacetOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ExplanationOut {
    /// Words of their offers that answer my needs.
    pub they_offer: Vec<String>,
    /// Words of their needs that my offers answer.
    pub they_need: Vec<String>,
    pub shared_sectors: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchOut {
    pub participant: HitOut,
    pub why: ExplanationOut,
}

fn hit_out(h: rdv_search::Hit) -> HitOut {
    HitOut {
        registration_id: h.registration_id.0,
        score: h.score,
        name: h.name,
        company: h.company,
        job_title: h.job_title,
        country: h.country,
        participant_type: h.participant_type.as_str().into(),
        status: h.status.as_str().into(),
        sectors: h.sectors,
        snippets: h
            .snippets
            .iter()
            .map(|s| SnippetOut {
                field: serde_json::to_value(s.field)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                html: s.to_html(),
            })
            .collect(),
    }
}

fn index(state: &AppState) -> Result<std::sync::Arc<rdv_search::SearchIndex>, ApiError> {
    state.search.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::DatabaseUnavailable,
            "search is not available on this node",
        )
    })
}

/// Searches the event's participants by text, with filters, facet counts and highlights.
#[utoipa::path(tag = "search", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), SearchQuery),
    responses((status = 200, body = SearchOut), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
#[get("/events/{id}/search")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let idx = index(&state)?;
    let event = EventId(id.into_inner());
    let q = query.into_inner();
    let input = SearchInput {
        q: q.q,
        participant_type: q.participant_type,
        country: q.country,
        sector: q.sector,
        language: q.language,
        facets: q.facets,
        offset: q.offset,
        limit: q.limit,
        may_meet: q.may_meet,
    };
    let actor = caller.0;
    let results = state
        .app_tx(move |conn| rdv_app::search::search_event(conn, &actor, &idx, event, input))
        .await?;
    Ok(HttpResponse::Ok().json(SearchOut {
        total: results.total,
        hits: results.hits.into_iter().map(hit_out).collect(),
        facets: results
            .facets
            .into_iter()
            .map(|f| FacetOut {
                facet: f.facet.as_str().into(),
                values: f
                    .values
                    .into_iter()
                    .map(|v| FacetValueOut {
                        value: v.value,
                        count: v.count,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MatchesQuery {
    #[param(schema_with = crate::schema::search_limit)]
    pub limit: Option<usize>,
    /// Participants: only those the event's meeting rules let them meet (the rules that
    /// meeting requests follow). Organizers see everyone.
    pub may_meet: Option<bool>,
}

/// The participants whose offers answer the caller's needs and the reverse, ranked, each with
/// the words that matched.
#[utoipa::path(tag = "search", security(("bearer" = [])), params(("id" = i64, Path, description = "event id"), MatchesQuery),
    responses((status = 200, body = [MatchOut]), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
#[get("/events/{id}/matches/me")]
pub async fn matches_me(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<MatchesQuery>,
) -> Result<HttpResponse, ApiError> {
    let idx = index(&state)?;
    let event = EventId(id.into_inner());
    let limit = query.limit;
    let actor = caller.0;
    let found = state
        .app_tx(move |conn| rdv_app::search::matches_for_me(conn, &actor, &idx, event, limit))
        .await?;
    Ok(HttpResponse::Ok().json(
        found
            .into_iter()
            .map(|m| MatchOut {
                participant: hit_out(m.hit),
                why: ExplanationOut {
                    they_offer: m.explanation.they_offer,
                    they_need: m.explanation.they_need,
                    shared_sectors: m.explanation.shared_sectors,
                },
            })
            .collect::<Vec<_>>(),
    ))
}
