//! The search request vocabulary: parsed query text, filters, facets, pagination and audience.
//! Everything here is validated on construction, so the index only sees well-formed requests.

use std::fmt;
use std::str::FromStr;

use rdv_domain::{
    CountryCode, EventId, LanguageCode, OrganizationId, ParticipantType, RegistrationId,
};
use serde::Serialize;

use crate::analysis::Analyzers;

/// Longest query text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most words a query may hold.
pub const MAX_QUERY_WORDS: usize = 32;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Deepest result reachable by paging.
pub const MAX_OFFSET: usize = 10_000;

/// A mistake in a search request: the caller's fault, reported as a 4xx naming `field()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is empty")]
    Empty,
    #[error("the query is {chars} characters long, at most {max} are allowed")]
    TooLong { chars: usize, max: usize },
    #[error("unknown facet `{0}`, expected one of: participant_type, country, sector, language")]
    UnknownFacet(String),
    #[error("invalid sector `{0}`, expected lowercase path segments such as industry/machining")]
    InvalidSector(String),
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    InvalidLimit,
    #[error("offset must be at most {MAX_OFFSET}")]
    InvalidOffset,
}

impl QueryError {
    /// The request parameter at fault, for the API's `fields` map.
    pub fn field(&self) -> &'static str {
        match self {
            QueryError::Empty | QueryError::TooLong { .. } => "q",
            QueryError::UnknownFacet(_) => "facets",
            QueryError::InvalidSector(_) => "sector",
            QueryError::InvalidLimit => "limit",
            QueryError::InvalidOffset => "offset",
        }
    }
}

/// One element of a parsed query: a word, or a quoted phrase whose words must follow each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clause {
    Word(String),
    Phrase(Vec<String>),
}

/// Free text as typed in the search box, parsed: words are folded, quoted phrases kept together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryText {
    pub(crate) clauses: Vec<Clause>,
    /// The last word is still being typed and may match as a prefix.
    pub(crate) last_is_prefix: bool,
    /// The whole text folded, to recognise an exact company name.
    pub(crate) folded: String,
}

impl QueryText {
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        let chars = input.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong {
                chars,
                max: MAX_QUERY_CHARS,
            });
        }
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(QueryError::Empty);
        }
        let mut analyzers = Analyzers::default();
        let mut clauses = Vec::new();
        let mut all_words = Vec::new();
        for (i, part) in input.split('"').enumerate() {
            let words: Vec<String> = analyzers
                .words(part)
                .into_iter()
                .map(|w| w.folded)
                .collect();
            all_words.extend(words.iter().cloned());
            if i % 2 == 1 {
                match words.len() {
                    0 => {}
                    1 => clauses.extend(words.into_iter().map(Clause::Word)),
                    _ => clauses.push(Clause::Phrase(words)),
                }
            } else {
                clauses.extend(words.into_iter().map(Clause::Word));
            }
        }
        // Words past the budget are dropped, as web search engines do.
        let truncated = all_words.len() > MAX_QUERY_WORDS;
        if truncated {
            all_words.truncate(MAX_QUERY_WORDS);
            let mut budget = MAX_QUERY_WORDS;
            clauses.retain_mut(|c| {
                let n = match c {
                    Clause::Word(_) => 1,
                    Clause::Phrase(w) => {
                        w.truncate(budget);
                        w.len()
                    }
                };
                let keep = budget > 0 && n > 0;
                budget = budget.saturating_sub(n);
                keep
            });
        }
        let ends_in_word = !truncated && input.chars().last().is_some_and(char::is_alphanumeric);
        let last_is_prefix = ends_in_word && matches!(clauses.last(), Some(Clause::Word(_)));
        Ok(Self {
            clauses,
            last_is_prefix,
            folded: all_words.join(" "),
        })
    }
}

/// A facet whose value counts a search can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FacetName {
    ParticipantType,
    Country,
    Sector,
    Language,
}

impl FacetName {
    pub const ALL: &'static [FacetName] = &[
        FacetName::ParticipantType,
        FacetName::Country,
        FacetName::Sector,
        FacetName::Language,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FacetName::ParticipantType => "participant_type",
            FacetName::Country => "country",
            FacetName::Sector => "sector",
            FacetName::Language => "language",
        }
    }
}

impl fmt::Display for FacetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FacetName {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, QueryError> {
        FacetName::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| QueryError::UnknownFacet(s.chars().take(40).collect()))
    }
}

/// A hierarchical sector such as `industry/machining`; filtering on `industry` also finds
/// everyone under it. The domain's type, so that the API stores exactly what the search parses.
pub use rdv_domain::SectorPath;

/// Which event's people are searched, and on whose behalf. An event belongs to one
/// organization; both are checked so that a wrong pair finds nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub organization_id: OrganizationId,
    pub event_id: EventId,
}

/// Who is looking: participants see validated, visible profiles other than their own; the
/// organizer sees all of their event's registrations (restricted and erased ones are never indexed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Participant { me: RegistrationId },
    Organizer,
}

/// The event's who-can-meet-whom rules: pairs of participant types allowed to meet. No pairs
/// means anyone may meet anyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeetingRules {
    pub pairs: Vec<(ParticipantType, ParticipantType)>,
}

impl MeetingRules {
    /// The types `me` may meet, or `None` when the event sets no rule.
    pub fn meetable_by(&self, me: ParticipantType) -> Option<Vec<ParticipantType>> {
        if self.pairs.is_empty() {
            return None;
        }
        let mut out: Vec<ParticipantType> = self
            .pairs
            .iter()
            .filter_map(|&(a, b)| match (a == me, b == me) {
                (true, _) => Some(b),
                (_, true) => Some(a),
                _ => None,
            })
            .collect();
        out.sort_by_key(|t| t.as_str());
        out.dedup();
        Some(out)
    }
}

/// Restrictions on who is returned. Empty lists do not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub participant_types: Vec<ParticipantType>,
    pub countries: Vec<CountryCode>,
    pub sectors: Vec<SectorPath>,
    pub languages: Vec<LanguageCode>,
    /// "Only those I may meet": the types allowed by the event's rules, from
    /// [`MeetingRules::meetable_by`]. `Some(vec![])` means nobody.
    pub meetable_types: Option<Vec<ParticipantType>>,
}

/// A page of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    offset: usize,
    limit: usize,
}

impl Page {
    pub fn new(offset: usize, limit: usize) -> Result<Self, QueryError> {
        if limit == 0 || limit > MAX_LIMIT {
            return Err(QueryError::InvalidLimit);
        }
        if offset > MAX_OFFSET {
            return Err(QueryError::InvalidOffset);
        }
        Ok(Self { offset, limit })
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 20,
        }
    }
}

/// A whole search: without text it lists everyone the filters let through.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub scope: Scope,
    pub audience: Audience,
    pub text: Option<QueryText>,
    pub filters: Filters,
    pub facets: Vec<FacetName>,
    pub page: Page,
}

impl SearchRequest {
    pub fn new(scope: Scope, audience: Audience) -> Self {
        Self {
            scope,
            audience,
            text: None,
            filters: Filters::default(),
            facets: Vec::new(),
            page: Page::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_query_text_is_refused_with_a_reason() {
        assert_eq!(QueryText::parse(""), Err(QueryError::Empty));
        assert_eq!(QueryText::parse("   "), Err(QueryError::Empty));
        // A text without a searchable word is valid and finds nobody.
        assert!(QueryText::parse("!!! ??").unwrap().clauses.is_empty());
        // An unclosed quote runs to the end.
        assert_eq!(
            QueryText::parse("\"usinage fin").unwrap().clauses,
            vec![Clause::Phrase(vec!["usinage".into(), "fin".into()])]
        );
        let long = "a".repeat(10_000);
        assert_eq!(
            QueryText::parse(&long),
            Err(QueryError::TooLong {
                chars: 10_000,
                max: MAX_QUERY_CHARS
            })
        );
        // Only the first MAX_QUERY_WORDS words count.
        let many = format!("{} \"un deux trois\"", "mot ".repeat(MAX_QUERY_WORDS - 2));
        let q = QueryText::parse(&many).unwrap();
        assert_eq!(q.folded.split(' ').count(), MAX_QUERY_WORDS);
        assert_eq!(
            q.clauses.last(),
            Some(&Clause::Phrase(vec!["un".into(), "deux".into()]))
        );
        assert!(!q.last_is_prefix);
        assert_eq!(QueryError::Empty.field(), "q");
    }

    #[test]
    fn phrases_and_prefix_are_recognised() {
        let q = QueryText::parse("Découpe \"tôle fine\" lase").unwrap();
        assert_eq!(
            q.clauses,
            vec![
                Clause::Word("decoupe".into()),
                Clause::Phrase(vec!["tole".into(), "fine".into()]),
                Clause::Word("lase".into()),
            ]
        );
        assert!(q.last_is_prefix);
        assert!(!QueryText::parse("laser ").unwrap().last_is_prefix);
        assert_eq!(q.folded, "decoupe tole fine lase");
    }

    #[test]
    fn unknown_facets_and_bad_sectors_are_refused() {
        assert_eq!("country".parse::<FacetName>(), Ok(FacetName::Country));
        let err = "colour".parse::<FacetName>().unwrap_err();
        assert_eq!(err.field(), "facets");
        assert!(err.to_string().contains("colour"));
        assert!(SectorPath::parse("industry/machining").is_ok());
        assert!(SectorPath::parse("Industry//x").is_err());
        assert!(Page::new(0, 0).is_err());
        assert!(Page::new(20_000, 10).is_err());
    }

    #[test]
    fn meeting_rules_are_symmetric_and_absent_rules_do_not_restrict() {
        let rules = MeetingRules {
            pairs: vec![(ParticipantType::Buyer, ParticipantType::Supplier)],
        };
        assert_eq!(
            rules.meetable_by(ParticipantType::Supplier),
            Some(vec![ParticipantType::Buyer])
        );
        assert_eq!(rules.meetable_by(ParticipantType::Visitor), Some(vec![]));
        assert_eq!(
            MeetingRules::default().meetable_by(ParticipantType::Buyer),
            None
        );
    }
}
