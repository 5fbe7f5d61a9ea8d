//! Participant search and "matches for me" over the node's search index, which follows the
//! database. Organizers search their whole event; participants see validated, visible profiles.

use super::Check;
use crate::audit::{self, Audit};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use actix_web::{get, web, HttpResponse};
use rdv_db::models::Event;
use rdv_db::queries::{events, registrations};
use rdv_domain::{CountryCode, EventId, LanguageCode, RegistrationId, RegistrationStatus};
use rdv_search::{
    Audience, FacetName, Filters, Page, QueryText, Scope, SearchError, SearchRequest, SectorPath,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(search).service(matches_me);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Free text: words must all match (typos tolerated, the last word as a prefix); quoted
    /// phrases keep their order. Absent: everyone the filters let through.
    pub q: Option<String>,
    /// Comma-separated participant types.
    pub participant_type: Option<String>,
    /// Comma-separated ISO country codes.
    pub country: Option<String>,
    /// Comma-separated sector paths; a parent sector finds its children.
    pub sector: Option<String>,
    /// Comma-separated ISO 639-1 codes.
    pub language: Option<String>,
    /// Comma-separated facets to count: participant_type, country, sector, language.
    pub facets: Option<String>,
    pub offset: Option<usize>,
    /// 1 to 100 (default 20).
    pub limit: Option<usize>,
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
    pub participant_type: String,
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

fn search_error(e: SearchError) -> ApiError {
    match e {
        SearchError::Query(q) => ApiError::with_fields(
            ErrorCode::ValidationFailed,
            "the search request is invalid",
            std::collections::BTreeMap::from([(q.field().to_owned(), q.to_string())]),
        ),
        SearchError::NotIndexed(_) => ApiError::new(
            ErrorCode::NotFound,
            "your profile is not in the search index yet; try again in a moment",
        ),
        other => ApiError::internal(other),
    }
}

fn list<T>(
    check: &mut Check,
    field: &str,
    v: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let Some(v) = v else { return Vec::new() };
    let items: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.len() > 20 {
        check.0.add(field, "at most 20 values");
        return Vec::new();
    }
    items
        .into_iter()
        .filter_map(|s| check.0.check(field, parse(s)))
        .collect()
}

fn index(state: &AppState) -> Result<std::sync::Arc<rdv_search::SearchIndex>, ApiError> {
    state.search.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::DatabaseUnavailable,
            "search is not available on this node",
        )
    })
}

/// Who is searching in this event: an organizer of its organization, or one of its validated
/// participants. Anyone else finds no such event.
fn audience(
    conn: &mut rdv_db::Conn,
    caller: &Caller,
    event: EventId,
) -> Result<(Event, Audience), ApiError> {
    if let Ok(org) = caller.organizer_org() {
        let ev = events::get(conn, org, event).map_err(|e| ApiError::from_db("event", e))?;
        return Ok((ev, Audience::Organizer));
    }
    let (org, person) = caller.participant()?;
    let ev = events::get(conn, org, event).map_err(|e| ApiError::from_db("event", e))?;
    let mine = registrations::of_person(conn, person)?
        .into_iter()
        .find(|r| r.event_id == event)
        .ok_or_else(|| ApiError::not_found("event"))?;
    if mine.status != RegistrationStatus::Validated {
        return Err(ApiError::forbidden(
            "your registration to this event is not validated yet",
        ));
    }
    Ok((ev, Audience::Participant { me: mine.id }))
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
    let mut check = Check::new();
    let text = match q.q.as_deref() {
        Some(t) => check.0.check("q", QueryText::parse(t)),
        None => None,
    };
    let filters = Filters {
        participant_types: list(
            &mut check,
            "participant_type",
            q.participant_type.as_deref(),
            |s| {
                s.parse()
                    .map_err(|e: rdv_domain::vocab::UnknownWord| e.to_string())
            },
        ),
        countries: list(&mut check, "country", q.country.as_deref(), |s| {
            CountryCode::parse(s).map_err(|e| e.to_string())
        }),
        sectors: list(&mut check, "sector", q.sector.as_deref(), |s| {
            SectorPath::parse(s).map_err(|e| e.to_string())
        }),
        languages: list(&mut check, "language", q.language.as_deref(), |s| {
            LanguageCode::parse(s).map_err(|e| e.to_string())
        }),
        meetable_types: None,
    };
    let facets: Vec<FacetName> = list(&mut check, "facets", q.facets.as_deref(), |s| {
        s.parse::<FacetName>().map_err(|e| e.to_string())
    });
    let page = check.0.check(
        "limit",
        Page::new(q.offset.unwrap_or(0), q.limit.unwrap_or(20)),
    );
    check.finish()?;
    // Who may search, the search itself and, for organizers, the audit row of what they saw
    // happen in one transaction: when the audit row cannot be written, nothing is shown.
    let results = state
        .tx(move |conn| {
            let (ev, aud) = audience(conn, &caller, event)?;
            let mut request = SearchRequest::new(
                Scope {
                    organization_id: ev.organization_id,
                    event_id: ev.id,
                },
                aud,
            );
            request.text = text;
            request.filters = filters;
            request.facets = facets;
            if let Some(p) = page {
                request.page = p;
            }
            let results = idx.search(&request).map_err(search_error)?;
            if matches!(aud, Audience::Organizer) && !results.hits.is_empty() {
                // Organizer searches show people: a staff read of personal data.
                let ids: Vec<RegistrationId> =
                    results.hits.iter().map(|h| h.registration_id).collect();
                let persons = registrations::person_ids(conn, ev.organization_id, &ids)?;
                audit::record(
                    conn,
                    &caller,
                    Audit {
                        action: "registration.search",
                        subject_type: "registration",
                        subject_ids: ids.iter().map(|i| i.0).collect(),
                        person_ids: persons,
                        fields: vec![
                            "first_name",
                            "last_name",
                            "company",
                            "job_title",
                            "country",
                            "offers",
                            "needs",
                            "company_description",
                        ],
                    },
                )?;
            }
            Ok(results)
        })
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
    /// 1 to 100 (default 20).
    pub limit: Option<usize>,
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
    caller.participant()?;
    let event = EventId(id.into_inner());
    let limit = query.limit.unwrap_or(20);
    if !(1..=rdv_search::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("must be between 1 and {}", rdv_search::MAX_LIMIT),
        ));
    }
    let (ev, aud) = state.tx(move |conn| audience(conn, &caller, event)).await?;
    let Audience::Participant { me } = aud else {
        return Err(ApiError::forbidden("this endpoint is for participants"));
    };
    let scope = Scope {
        organization_id: ev.organization_id,
        event_id: ev.id,
    };
    let found = web::block(move || idx.matches_for(&scope, me, &Filters::default(), limit))
        .await?
        .map_err(search_error)?;
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
