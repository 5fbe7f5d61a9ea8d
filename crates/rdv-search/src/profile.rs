//! The searchable profile of one registration, and the results handed back to callers.

use std::ops::Range;

use rdv_domain::{
    CountryCode, EventId, LanguageCode, OrganizationId, ParticipantType, RegistrationId,
    RegistrationStatus,
};
use serde::Serialize;

use crate::query::{FacetName, SectorPath};

/// Everything search knows about a registration, as read from the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub registration_id: RegistrationId,
    pub organization_id: OrganizationId,
    pub event_id: EventId,
    /// The person's full name, "Camille Martin".
    pub name: String,
    pub company: String,
    pub job_title: String,
    pub company_description: String,
    /// What they sell.
    pub offers: String,
    /// What they look for.
    pub needs: String,
    pub sectors: Vec<SectorPath>,
    pub country: Option<CountryCode>,
    pub participant_type: ParticipantType,
    pub languages: Vec<LanguageCode>,
    pub status: RegistrationStatus,
    pub profile_visible: bool,
    /// Processing is restricted (GDPR art. 18): the profile must not be searchable at all.
    pub restricted: bool,
    pub erased: bool,
}

impl Profile {
    /// Restricted and erased registrations are kept out of the index altogether.
    pub fn is_indexable(&self) -> bool {
        !self.restricted && !self.erased
    }

    /// Whether other participants may find this profile.
    pub fn is_listed(&self) -> bool {
        self.status == RegistrationStatus::Validated && self.profile_visible
    }
}

/// A change to apply to the index. Changes are short-lived and mostly upserts, so the size
/// difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Insert or replace; a restricted or erased profile is removed instead.
    Upsert(Profile),
    /// The registration is gone from the database.
    Remove(RegistrationId),
}

/// The text fields of a profile, as named in snippets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    Name,
    Company,
    JobTitle,
    Offers,
    Needs,
    CompanyDescription,
}

/// A piece of a field with the byte ranges (in `text`) of the words that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    pub field: ProfileField,
    pub text: String,
    pub highlights: Vec<Range<usize>>,
}

impl Snippet {
    /// The fragment as HTML with matched words in `<mark>`, everything else escaped.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 16 * self.highlights.len());
        let mut at = 0;
        for range in &self.highlights {
            escape_into(&mut out, &self.text[at..range.start]);
            out.push_str("<mark>");
            escape_into(&mut out, &self.text[range.clone()]);
            out.push_str("</mark>");
            at = range.end;
        }
        escape_into(&mut out, &self.text[at..]);
        out
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// One person found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub registration_id: RegistrationId,
    pub score: f32,
    pub name: String,
    pub company: String,
    pub job_title: String,
    pub country: Option<String>,
    pub participant_type: ParticipantType,
    pub status: RegistrationStatus,
    pub sectors: Vec<String>,
    /// The fields where query words matched, with those words marked.
    pub snippets: Vec<Snippet>,
}

/// How many of the results carry each value of a facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCounts {
    pub facet: FacetName,
    pub values: Vec<FacetValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// A page of results with the total number of matches and the requested facet counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    pub total: u64,
    pub hits: Vec<Hit>,
    pub facets: Vec<FacetCounts>,
}

/// Why two participants should meet, in the words of the other's profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MatchExplanation {
    /// Words of their offers that answer my needs.
    pub they_offer: Vec<String>,
    /// Words of their needs that my offers answer.
    pub they_need: Vec<String>,
    pub shared_sectors: Vec<String>,
}

/// A participant worth meeting, ranked by how well offers and needs answer each other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub hit: Hit,
    pub explanation: MatchExplanation,
}
