//! Participant search for rdv: one document per registration, French and English analysis,
//! typo tolerance, facets, privacy and tenancy filters, and "matches for me". This is the only
//! crate that imports tantivy; its public API speaks in its own types.

mod analysis;
mod highlight;
mod index;
mod profile;
mod query;

pub use analysis::typo_budget;
pub use index::{IndexOptions, SearchIndex};
pub use profile::{
    Change, FacetCounts, FacetValue, Hit, Match, MatchExplanation, Profile, ProfileField,
    SearchResults, Snippet,
};
pub use query::{
    Audience, FacetName, Filters, MeetingRules, Page, QueryError, QueryText, Scope, SearchRequest,
    SectorPath, MAX_LIMIT, MAX_OFFSET, MAX_QUERY_CHARS, MAX_QUERY_WORDS,
};

use rdv_domain::RegistrationId;

/// Why a search failed: the caller's mistake (4xx) or an internal fault (5xx).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("registration {0} is not in the search index")]
    NotIndexed(RegistrationId),
    #[error("search index failure")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl SearchError {
    /// True when the request was at fault rather than the index.
    pub fn is_caller_error(&self) -> bool {
        matches!(self, SearchError::Query(_) | SearchError::NotIndexed(_))
    }
}
