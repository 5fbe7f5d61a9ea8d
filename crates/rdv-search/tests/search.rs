//! Behaviour of the search index as users see it: analysis, typos, prefixes, facets, ranking,
//! privacy, tenancy, matches, persistence and bad input.

// Test helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rdv_domain::{
    CountryCode, EventId, LanguageCode, OrganizationId, ParticipantType, RegistrationId,
    RegistrationStatus,
};
use rdv_search::{
    Audience, Change, FacetName, Filters, IndexOptions, MeetingRules, Page, Profile, ProfileField,
    QueryError, QueryText, Scope, SearchError, SearchIndex, SearchRequest, SectorPath,
};

const ORG: OrganizationId = OrganizationId(1);
const EVENT: EventId = EventId(10);
const SCOPE: Scope = Scope {
    organization_id: ORG,
    event_id: EVENT,
};
/// The participant searching; never indexed, so excluding them changes nothing.
const VIEWER: Audience = Audience::Participant {
    me: RegistrationId(999_999),
};

fn profile(id: i64, name: &str, company: &str) -> Profile {
    Profile {
        registration_id: RegistrationId(id),
        organization_id: ORG,
        event_id: EVENT,
        name: name.into(),
        company: company.into(),
        job_title: String::new(),
        company_description: String::new(),
        offers: String::new(),
        needs: String::new(),
        sectors: vec![],
        country: Some(CountryCode::parse("FR").unwrap()),
        participant_type: ParticipantType::Supplier,
        languages: vec![LanguageCode::parse("fr").unwrap()],
        status: RegistrationStatus::Validated,
        profile_visible: true,
        restricted: false,
        erased: false,
    }
}

fn sectors(paths: &[&str]) -> Vec<SectorPath> {
    paths
        .iter()
        .map(|p| SectorPath::parse(p).unwrap())
        .collect()
}

/// A small fair: machining, packaging, logistics, software, in French and English.
fn fair() -> Vec<Profile> {
    let mut p1 = profile(1, "Camille Martin", "Usinage Dubreuil");
    p1.offers = "Usinage de précision, fraisage et tournage de pièces en aluminium".into();
    p1.needs = "Machines-outils à commande numérique".into();
    p1.company_description = "Atelier familial spécialisé dans la mécanique de précision".into();
    p1.sectors = sectors(&["industry/machining"]);

    let mut p2 = profile(2, "John Smith", "Pack&Co Ltd");
    p2.offers = "Sustainable packaging solutions and cardboard boxes".into();
    p2.needs = "Logistics partners for European distribution".into();
    p2.country = Some(CountryCode::parse("GB").unwrap());
    p2.languages = vec![LanguageCode::parse("en").unwrap()];
    p2.sectors = sectors(&["industry/packaging"]);

    let mut p3 = profile(3, "Léa Dubois", "Transports Rhône Logistique");
    p3.offers = "Logistique et transport routier, entreposage".into();
    p3.needs = "Emballages durables pour nos clients".into();
    p3.participant_type = ParticipantType::Buyer;
    p3.sectors = sectors(&["services/logistics"]);

    let mut p4 = profile(4, "Hugo Bernard", "Machines Bernard");
    p4.offers = "Machine-outil et centres d'usinage cinq axes".into();
    p4.needs = "Sous-traitants en usinage et fraisage".into();
    p4.participant_type = ParticipantType::Buyer;
    p4.sectors = sectors(&["industry/machining", "industry/tooling"]);

    let mut p5 = profile(5, "Sarah Connor", "Cyberdyne Software");
    p5.offers = "Planning software for manufacturing plants".into();
    p5.needs = "Machining workshops willing to pilot our scheduler".into();
    p5.country = Some(CountryCode::parse("US").unwrap());
    p5.languages = vec![LanguageCode::parse("en").unwrap()];
    p5.sectors = sectors(&["services/software"]);
    vec![p1, p2, p3, p4, p5]
}

fn open(dir: &std::path::Path) -> SearchIndex {
    SearchIndex::open(dir, IndexOptions::default()).unwrap()
}

fn with_fair() -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path());
    index
        .apply(fair().into_iter().map(Change::Upsert), None)
        .unwrap();
    (dir, index)
}

fn request(text: &str) -> SearchRequest {
    let mut r = SearchRequest::new(SCOPE, VIEWER);
    r.text = Some(QueryText::parse(text).unwrap());
    r
}

fn ids(index: &SearchIndex, request: &SearchRequest) -> Vec<i64> {
    index
        .search(request)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.registration_id.0)
        .collect()
}

fn find(index: &SearchIndex, text: &str) -> Vec<i64> {
    ids(index, &request(text))
}

#[test]
fn accents_and_case_do_not_matter() {
    let (_dir, index) = with_fair();
    assert_eq!(find(&index, "PRECISION "), vec![1]);
    assert_eq!(find(&index, "lea dubois "), vec![3]);
    assert_eq!(find(&index, "Rhone "), vec![3]);
}

#[test]
fn plurals_and_stems_match_in_french_and_english() {
    let (_dir, index) = with_fair();
    // French: "usinages" finds "usinage", "emballage" finds "emballages".
    let mut found = find(&index, "usinages ");
    found.sort();
    assert_eq!(found, vec![1, 4]);
    assert_eq!(find(&index, "emballage "), vec![3]);
    // English: "box" finds "boxes", "partner" finds "partners".
    assert_eq!(find(&index, "box "), vec![2]);
    assert_eq!(find(&index, "partner "), vec![2]);
}

#[test]
fn one_typo_in_five_letters_and_two_in_nine_are_forgiven() {
    let (_dir, index) = with_fair();
    let sorted = |mut v: Vec<i64>| {
        v.sort();
        v
    };
    assert_eq!(sorted(find(&index, "fraissage ")), vec![1, 4]);
    assert!(
        find(&index, "logsitiqeu ").contains(&3),
        "two edits in a 10-letter word"
    );
    assert!(find(&index, "cyberdine ").contains(&5));
    // Short words must be exact: "boîte" is not "boxes", and "axe" is not "axes" misspelt.
    assert!(find(&index, "xoa ").is_empty());
}

#[test]
fn the_word_being_typed_matches_as_a_prefix() {
    let (_dir, index) = with_fair();
    assert_eq!(find(&index, "cyberd"), vec![5]);
    assert_eq!(find(&index, "sustain"), vec![2]);
    // Once a space is typed the word is complete and no longer a prefix.
    assert!(find(&index, "cyberd ").is_empty());
}

#[test]
fn every_word_must_match_and_phrases_keep_word_order() {
    let (_dir, index) = with_fair();
    assert_eq!(find(&index, "usinage aluminium "), vec![1]);
    assert_eq!(find(&index, "\"cardboard boxes\""), vec![2]);
    assert!(find(&index, "\"boxes cardboard\"").is_empty());
}

#[test]
fn an_exact_company_match_ranks_first() {
    let (_dir, index) = with_fair();
    // "Machines Bernard" is a company; "machines" also appears in others' offers and needs.
    assert_eq!(find(&index, "machines bernard")[0], 4);
    let found = find(&index, "usinage dubreuil");
    assert_eq!(found[0], 1);
}

#[test]
fn company_and_name_weigh_more_than_offers_and_offers_more_than_description() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path());
    let mut in_description = profile(1, "A", "Alpha");
    in_description.company_description = "Nous faisons de la chaudronnerie".into();
    let mut in_offers = profile(2, "B", "Beta");
    in_offers.offers = "Chaudronnerie".into();
    let in_company = profile(3, "C", "Chaudronnerie Gamma");
    index
        .apply(
            [in_description, in_offers, in_company].map(Change::Upsert),
            None,
        )
        .unwrap();
    assert_eq!(find(&index, "chaudronnerie "), vec![3, 2, 1]);
}

#[test]
fn snippets_mark_the_matched_words() {
    let (_dir, index) = with_fair();
    let results = index.search(&request("fraissage aluminium")).unwrap();
    let hit = &results.hits[0];
    let offers = hit
        .snippets
        .iter()
        .find(|s| s.field == ProfileField::Offers)
        .unwrap();
    let marked: Vec<&str> = offers
        .highlights
        .iter()
        .map(|r| &offers.text[r.clone()])
        .collect();
    assert_eq!(marked, vec!["fraisage", "aluminium"]);
    assert!(offers.to_html().contains("<mark>fraisage</mark>"));
}

#[test]
fn filters_and_facet_counts() {
    let (_dir, index) = with_fair();
    let mut r = SearchRequest::new(SCOPE, VIEWER);
    r.facets = vec![
        FacetName::ParticipantType,
        FacetName::Country,
        FacetName::Sector,
    ];
    let all = index.search(&r).unwrap();
    assert_eq!(all.total, 5);
    let counts = |facet: FacetName| -> Vec<(String, u64)> {
        all.facets
            .iter()
            .find(|f| f.facet == facet)
            .unwrap()
            .values
            .iter()
            .map(|v| (v.value.clone(), v.count))
            .collect()
    };
    assert_eq!(
        counts(FacetName::ParticipantType),
        vec![("supplier".into(), 3), ("buyer".into(), 2)]
    );
    assert_eq!(
        counts(FacetName::Country),
        vec![("FR".into(), 3), ("GB".into(), 1), ("US".into(), 1)]
    );
    assert_eq!(
        counts(FacetName::Sector),
        vec![("industry".into(), 3), ("services".into(), 2)]
    );

    // Drilling into a sector filters and counts its children.
    r.filters.sectors = sectors(&["industry"]);
    let industry = index.search(&r).unwrap();
    assert_eq!(industry.total, 3);
    let sector_counts = &industry
        .facets
        .iter()
        .find(|f| f.facet == FacetName::Sector)
        .unwrap()
        .values;
    assert!(sector_counts
        .iter()
        .any(|v| v.value == "industry/machining" && v.count == 2));

    let mut r = SearchRequest::new(SCOPE, VIEWER);
    r.filters.countries = vec![CountryCode::parse("FR").unwrap()];
    r.filters.participant_types = vec![ParticipantType::Buyer];
    let mut found: Vec<i64> = ids(&index, &r);
    found.sort();
    assert_eq!(found, vec![3, 4]);
}

#[test]
fn only_those_i_may_meet() {
    let (_dir, index) = with_fair();
    let rules = MeetingRules {
        pairs: vec![(ParticipantType::Buyer, ParticipantType::Supplier)],
    };
    let mut r = SearchRequest::new(SCOPE, VIEWER);
    r.filters.meetable_types = rules.meetable_by(ParticipantType::Buyer);
    let mut found = ids(&index, &r);
    found.sort();
    assert_eq!(found, vec![1, 2, 5]);
    r.filters.meetable_types = rules.meetable_by(ParticipantType::Visitor);
    assert!(ids(&index, &r).is_empty());
}

#[test]
fn pagination_walks_through_all_results() {
    let (_dir, index) = with_fair();
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let mut r = SearchRequest::new(SCOPE, VIEWER);
        r.page = Page::new(offset, 2).unwrap();
        let results = index.search(&r).unwrap();
        assert_eq!(results.total, 5);
        seen.extend(results.hits.iter().map(|h| h.registration_id.0));
    }
    seen.sort();
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
}

#[test]
fn hidden_unvalidated_refused_restricted_and_erased_profiles_never_appear_to_participants() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path());
    let mut hidden = profile(1, "Hidden Person", "Acme Hidden");
    hidden.profile_visible = false;
    let mut pending = profile(2, "Pending Person", "Acme Pending");
    pending.status = RegistrationStatus::Pending;
    let mut refused = profile(3, "Refused Person", "Acme Refused");
    refused.status = RegistrationStatus::Refused;
    let mut restricted = profile(4, "Restricted Person", "Acme Restricted");
    restricted.restricted = true;
    let mut erased = profile(5, "Erased Person", "Acme Erased");
    erased.erased = true;
    let visible = profile(6, "Visible Person", "Acme Visible");
    let all = vec![hidden, pending, refused, restricted, erased, visible];
    index
        .apply(all.into_iter().map(Change::Upsert), None)
        .unwrap();

    assert_eq!(find(&index, "acme "), vec![6]);
    // The organizer sees the whole event except what may not be processed at all.
    let mut r = request("acme ");
    r.audience = Audience::Organizer;
    let mut found = ids(&index, &r);
    found.sort();
    assert_eq!(found, vec![1, 2, 3, 6]);
    // Participants never find themselves.
    let mut r = request("acme ");
    r.audience = Audience::Participant {
        me: RegistrationId(6),
    };
    assert!(ids(&index, &r).is_empty());
}

#[test]
fn after_an_erasure_the_name_and_company_find_nothing() {
    let (dir, index) = with_fair();
    assert_eq!(find(&index, "Camille Martin "), vec![1]);
    assert!(on_disk(dir.path(), b"Atelier familial"));
    let mut erased = fair().remove(0);
    erased.erased = true;
    index.apply([Change::Upsert(erased)], None).unwrap();
    assert!(find(&index, "Camille Martin ").is_empty());
    assert!(find(&index, "Dubreuil ").is_empty());
    let mut r = request("Dubreuil ");
    r.audience = Audience::Organizer;
    assert!(ids(&index, &r).is_empty());
    drop(index);
    let index = open(dir.path());
    assert!(find(&index, "Camille Martin ").is_empty());
    // The stored profile left the disk too: no file holds the erased description any more.
    assert!(!on_disk(dir.path(), b"Atelier familial"));
}

fn on_disk(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

#[test]
fn an_event_never_returns_another_event_or_organization() {
    let (_dir, index) = with_fair();
    let mut other_event = profile(100, "Camille Martin", "Usinage Dubreuil");
    other_event.event_id = EventId(11);
    let mut other_org = profile(101, "Camille Martin", "Usinage Dubreuil");
    other_org.organization_id = OrganizationId(2);
    other_org.event_id = EventId(12);
    index
        .apply([other_event, other_org].map(Change::Upsert), None)
        .unwrap();
    assert_eq!(find(&index, "camille martin "), vec![1]);
    let mut r = request("camille martin ");
    r.audience = Audience::Organizer;
    assert_eq!(ids(&index, &r), vec![1]);
    // An event id paired with another organization finds nobody.
    let mut r = request("camille martin ");
    r.scope = Scope {
        organization_id: OrganizationId(2),
        event_id: EVENT,
    };
    r.audience = Audience::Organizer;
    assert!(ids(&index, &r).is_empty());
}

#[test]
fn updates_replace_documents_and_survive_a_restart() {
    let (dir, index) = with_fair();
    let mut moved = fair().remove(1);
    moved.company = "Boxes Unlimited".into();
    index
        .apply(
            [Change::Upsert(moved), Change::Remove(RegistrationId(5))],
            Some("42"),
        )
        .unwrap();
    assert!(find(&index, "pack&co ").is_empty());
    assert_eq!(find(&index, "unlimited "), vec![2]);
    assert_eq!(index.len(), 4);
    drop(index);

    let index = open(dir.path());
    assert!(!index.needs_rebuild());
    assert_eq!(index.len(), 4);
    assert_eq!(index.watermark().unwrap().as_deref(), Some("42"));
    assert_eq!(find(&index, "unlimited "), vec![2]);
    assert!(!index.contains(RegistrationId(5)).unwrap());
    assert!(index.contains(RegistrationId(2)).unwrap());
}

#[test]
fn a_rebuild_replaces_everything() {
    let (_dir, index) = with_fair();
    let fresh = profile(50, "Nadia Benali", "Aéro Composites");
    assert_eq!(index.rebuild([fresh], None).unwrap(), 1);
    assert_eq!(index.len(), 1);
    assert_eq!(find(&index, "aero "), vec![50]);
}

#[test]
fn a_new_directory_asks_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    assert!(open(dir.path()).needs_rebuild());
}

#[test]
fn matches_for_me_pair_offers_with_needs_and_say_why() {
    let (_dir, index) = with_fair();
    // Hugo (4) sells machine tools and needs machining subcontractors: Camille (1) needs
    // machine tools and sells machining.
    let matches = index
        .matches_for(&SCOPE, RegistrationId(4), &Filters::default(), 10)
        .unwrap();
    assert_eq!(matches[0].hit.registration_id, RegistrationId(1));
    let why = &matches[0].explanation;
    assert!(why.they_offer.iter().any(|w| w == "Usinage"), "{why:?}");
    assert!(
        why.they_need.iter().any(|w| w.starts_with("Machines")),
        "{why:?}"
    );
    assert_eq!(why.shared_sectors, vec!["industry/machining".to_string()]);
    assert!(matches
        .iter()
        .all(|m| m.hit.registration_id != RegistrationId(4)));

    // Léa (3) needs packaging and offers logistics: a French packager who needs transport
    // answers both ways and ranks above one who only sells packaging.
    let mut both_ways = profile(6, "Paul Vidal", "Cartonnages Vidal");
    both_ways.offers = "Emballage carton recyclé".into();
    both_ways.needs = "Un partenaire de transport et de logistique".into();
    let mut one_way = profile(7, "Marc Petit", "Petit Emballages");
    one_way.offers = "Emballages en bois".into();
    one_way.needs = "Machines d'impression".into();
    index
        .apply([one_way, both_ways].map(Change::Upsert), None)
        .unwrap();
    let matches = index
        .matches_for(&SCOPE, RegistrationId(3), &Filters::default(), 10)
        .unwrap();
    let found: Vec<i64> = matches.iter().map(|m| m.hit.registration_id.0).collect();
    assert_eq!(found, vec![6, 7]);
    assert_eq!(
        matches[0].explanation.they_offer,
        vec!["Emballage".to_string()]
    );
    assert_eq!(
        matches[0].explanation.they_need,
        vec!["transport".to_string(), "logistique".to_string()]
    );
    assert!(matches[1].explanation.they_need.is_empty());

    let missing = index.matches_for(&SCOPE, RegistrationId(77), &Filters::default(), 10);
    assert!(matches!(missing, Err(SearchError::NotIndexed(_))));
}

#[test]
fn bad_input_is_the_callers_mistake_and_never_panics() {
    let err = QueryText::parse("").unwrap_err();
    assert_eq!(err, QueryError::Empty);
    assert!(SearchError::from(err).is_caller_error());
    assert!(QueryText::parse(&"é".repeat(10_000)).is_err());
    assert!(matches!(
        "colour".parse::<FacetName>(),
        Err(QueryError::UnknownFacet(_))
    ));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn any_profile() -> impl Strategy<Value = Profile> {
        (
            1..60i64,
            0..3i64,
            prop::sample::select(RegistrationStatus::ALL),
            any::<bool>(),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.15),
        )
            .prop_map(|(id, event, status, visible, restricted, erased)| {
                let mut p = profile(id, "Alex Morgan", "Acme Usinage");
                p.offers = "usinage de précision".into();
                // Events 10 and 11 belong to organization 1, event 12 to organization 2.
                p.event_id = EventId(10 + event);
                p.organization_id = OrganizationId(if event == 2 { 2 } else { 1 });
                p.status = status;
                p.profile_visible = visible;
                p.restricted = restricted;
                p.erased = erased;
                p
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20))]
        /// Whatever the mix of statuses, visibility, restrictions, erasures and later updates,
        /// a participant finds exactly the listed profiles of their own event, and an organizer
        /// exactly the processable ones.
        #[test]
        fn searches_return_exactly_what_privacy_and_tenancy_allow(
            first in prop::collection::vec(any_profile(), 1..30),
            then in prop::collection::vec(any_profile(), 0..30),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let index = open(dir.path());
            index.apply(first.iter().cloned().map(Change::Upsert), None).unwrap();
            index.apply(then.iter().cloned().map(Change::Upsert), None).unwrap();
            // The last version of each registration is what counts.
            let mut latest = std::collections::BTreeMap::new();
            for p in first.iter().chain(&then) {
                latest.insert(p.registration_id.0, p.clone());
            }
            for (audience, allowed) in [
                (VIEWER, (|p: &Profile| p.is_indexable() && p.is_listed()) as fn(&Profile) -> bool),
                (Audience::Organizer, |p: &Profile| p.is_indexable()),
            ] {
                let mut r = SearchRequest::new(SCOPE, audience);
                r.text = Some(QueryText::parse("usinage").unwrap());
                r.page = Page::new(0, 100).unwrap();
                let mut found = ids(&index, &r);
                found.sort();
                let expected: Vec<i64> = latest
                    .values()
                    .filter(|p| p.event_id == EVENT && p.organization_id == ORG && allowed(p))
                    .map(|p| p.registration_id.0)
                    .collect();
                prop_assert_eq!(found, expected);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Whatever is typed, parsing either refuses it with a reason or yields a query the
        /// index runs without error.
        #[test]
        fn any_text_is_refused_cleanly_or_searched(text in "\\PC{0,80}") {
            thread_local! {
                static FAIR: (tempfile::TempDir, SearchIndex) = with_fair();
            }
            if let Ok(q) = QueryText::parse(&text) {
                let mut r = SearchRequest::new(SCOPE, VIEWER);
                r.text = Some(q);
                let ok = FAIR.with(|(_, index)| index.search(&r).is_ok());
                prop_assert!(ok);
            }
        }
    }
}
