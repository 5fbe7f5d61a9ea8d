//! The on-disk index: schema, writes (upserts, removals, rebuilds) and the translation of our
//! requests into tantivy queries. This is the one place that speaks tantivy.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use rdv_domain::{ParticipantType, RegistrationId, RegistrationStatus};
use tantivy::collector::{Count, FacetCollector, MultiCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value,
    FAST, INDEXED, STORED, STRING,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::analysis::{self, Analyzers};
use crate::highlight::Highlighter;
use crate::profile::{
    Change, FacetCounts, FacetValue, Hit, Match, Profile, ProfileField, SearchResults,
};
use crate::query::{Audience, Clause, FacetName, Filters, QueryText, Scope, SearchRequest};
use crate::SearchError;

/// Bumped whenever the schema or analysis changes: an index of another version is rebuilt.
const SCHEMA_VERSION: u64 = 1;

/// Boost of a whole-query match on the company name: an exact company wins.
const COMPANY_EXACT_BOOST: f32 = 10.0;
/// Relative weights of a stemmed match, a typo and a prefix against an exact word.
const STEM_WEIGHT: f32 = 0.7;
const TYPO_WEIGHT: f32 = 0.5;
const PREFIX_WEIGHT: f32 = 0.5;
/// Shortest prefix expanded while typing: one or two letters would match half the dictionary.
const MIN_PREFIX_CHARS: usize = 3;

/// Tuning of the index writer.
#[derive(Debug, Clone, Copy)]
pub struct IndexOptions {
    pub writer_threads: usize,
    pub writer_memory_bytes: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            writer_threads: 1,
            writer_memory_bytes: 64 << 20,
        }
    }
}

fn internal<E: std::error::Error + Send + Sync + 'static>(e: E) -> SearchError {
    SearchError::Internal(Box::new(e))
}

/// A text field of the profile and the index fields that hold it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextField {
    pub kind: ProfileField,
    /// Folded words with positions, stored: exact words, phrases, typos, prefixes.
    pub fold: Field,
    /// French and English stems, for descriptive text only (names are not stemmed).
    pub stems: Option<(Field, Field)>,
    pub weight: f32,
}

#[derive(Debug, Clone)]
pub(crate) struct Fields {
    registration_id: Field,
    organization_id: Field,
    event_id: Field,
    listed: Field,
    status: Field,
    participant_type: Field,
    country: Field,
    sector: Field,
    language: Field,
    company_key: Field,
    pub text: Vec<TextField>,
}

impl Fields {
    fn text(&self, kind: ProfileField) -> &TextField {
        // Every ProfileField has an entry by construction in build_schema.
        self.text
            .iter()
            .find(|t| t.kind == kind)
            .unwrap_or(&self.text[0])
    }
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fold_opts = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analysis::FOLD)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let stem_opts = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let registration_id = b.add_i64_field("registration_id", INDEXED | STORED | FAST);
    let organization_id = b.add_i64_field("organization_id", INDEXED);
    let event_id = b.add_i64_field("event_id", INDEXED);
    let listed = b.add_u64_field("listed", INDEXED);
    let status = b.add_text_field("status", STRING | STORED);
    let participant_type =
        b.add_facet_field("participant_type", FacetOptions::default().set_stored());
    let country = b.add_facet_field("country", FacetOptions::default().set_stored());
    let sector = b.add_facet_field("sector", FacetOptions::default().set_stored());
    let language = b.add_facet_field("language", FacetOptions::default().set_stored());
    let company_key = b.add_text_field("company_key", STRING);
    let layout: [(ProfileField, &str, bool, f32); 6] = [
        (ProfileField::Name, "name", false, 3.0),
        (ProfileField::Company, "company", false, 3.0),
        (ProfileField::JobTitle, "job_title", true, 1.5),
        (ProfileField::Offers, "offers", true, 2.0),
        (ProfileField::Needs, "needs", true, 2.0),
        (
            ProfileField::CompanyDescription,
            "company_description",
            true,
            1.0,
        ),
    ];
    let text = layout
        .into_iter()
        .map(|(kind, name, stemmed, weight)| {
            let fold = b.add_text_field(name, fold_opts.clone());
            let stems = stemmed.then(|| {
                (
                    b.add_text_field(&format!("{name}_fr"), stem_opts(analysis::FRENCH)),
                    b.add_text_field(&format!("{name}_en"), stem_opts(analysis::ENGLISH)),
                )
            });
            TextField {
                kind,
                fold,
                stems,
                weight,
            }
        })
        .collect();
    let fields = Fields {
        registration_id,
        organization_id,
        event_id,
        listed,
        status,
        participant_type,
        country,
        sector,
        language,
        company_key,
        text,
    };
    (b.build(), fields)
}

fn facet(value: &str) -> Facet {
    Facet::from_path(value.split('/').filter(|s| !s.is_empty()))
}

/// The search index of every event, in one directory.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    created: bool,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when absent. An index written with another
    /// schema is wiped and recreated empty; [`SearchIndex::needs_rebuild`] then says so.
    pub fn open(dir: &Path, options: IndexOptions) -> Result<Self, SearchError> {
        std::fs::create_dir_all(dir).map_err(internal)?;
        let (schema, fields) = build_schema();
        let version_file = dir.join("rdv-search.version");
        let on_disk = std::fs::read_to_string(&version_file).ok();
        let current =
            on_disk.as_deref().map(str::trim) == Some(SCHEMA_VERSION.to_string().as_str());
        let mmap = MmapDirectory::open(dir).map_err(internal)?;
        let exists = Index::exists(&mmap).map_err(internal)?;
        let (index, created) = if exists && current {
            let index = Index::open(mmap).map_err(internal)?;
            if index.schema() != schema {
                return Err(SearchError::Internal(
                    "index schema differs from its version".into(),
                ));
            }
            (index, false)
        } else {
            if exists {
                tracing::warn!(search.dir = %dir.display(), "search index has another schema, recreating it");
                for entry in std::fs::read_dir(dir).map_err(internal)? {
                    let path = entry.map_err(internal)?.path();
                    if path.is_dir() {
                        std::fs::remove_dir_all(&path).map_err(internal)?;
                    } else {
                        std::fs::remove_file(&path).map_err(internal)?;
                    }
                }
            }
            let mmap = MmapDirectory::open(dir).map_err(internal)?;
            (
                Index::create(mmap, schema, Default::default()).map_err(internal)?,
                true,
            )
        };
        std::fs::write(&version_file, SCHEMA_VERSION.to_string()).map_err(internal)?;
        analysis::register(index.tokenizers());
        let writer = index
            .writer_with_num_threads(options.writer_threads.max(1), options.writer_memory_bytes)
            .map_err(internal)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(internal)?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            created,
        })
    }

    /// True when the index was created empty by [`SearchIndex::open`] and must be filled
    /// from the database.
    pub fn needs_rebuild(&self) -> bool {
        self.created
    }

    /// Number of registrations in the index, all events together.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a registration is in the index.
    pub fn contains(&self, id: RegistrationId) -> Result<bool, SearchError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_i64(self.fields.registration_id, id.0),
            IndexRecordOption::Basic,
        );
        Ok(searcher.search(&query, &Count).map_err(internal)? > 0)
    }

    /// The opaque mark saved with the last commit, e.g. the last outbox id applied.
    pub fn watermark(&self) -> Result<Option<String>, SearchError> {
        Ok(self.index.load_metas().map_err(internal)?.payload)
    }

    fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, SearchError> {
        self.writer
            .lock()
            .map_err(|_| SearchError::Internal("search index writer poisoned".into()))
    }

    /// Applies changes and commits them, visible to the next search on return.
    #[tracing::instrument(skip_all, fields(search.changes = tracing::field::Empty))]
    pub fn apply(
        &self,
        changes: impl IntoIterator<Item = Change>,
        watermark: Option<&str>,
    ) -> Result<(), SearchError> {
        let mut writer = self.lock_writer()?;
        let mut n = 0usize;
        let mut forgotten = false;
        for change in changes {
            n += 1;
            match change {
                Change::Upsert(profile) => {
                    writer.delete_term(self.id_term(profile.registration_id));
                    if profile.is_indexable() {
                        writer
                            .add_document(self.document(&profile))
                            .map_err(internal)?;
                    } else {
                        forgotten = true;
                    }
                }
                Change::Remove(id) => {
                    writer.delete_term(self.id_term(id));
                    forgotten = true;
                }
            }
        }
        tracing::Span::current().record("search.changes", n);
        self.commit(&mut writer, watermark)?;
        if forgotten {
            self.purge_deleted(&mut writer)?;
        }
        Ok(())
    }

    /// A deleted document stays in its segment files until the segment is rewritten. After an
    /// erasure or a restriction the person's data must leave the disk too, so the segments
    /// holding deletions are rewritten and the old files removed.
    fn purge_deleted(&self, writer: &mut IndexWriter) -> Result<(), SearchError> {
        let with_deletes: Vec<_> = self
            .index
            .searchable_segment_metas()
            .map_err(internal)?
            .into_iter()
            .filter(|m| m.has_deletes())
            .map(|m| m.id())
            .collect();
        if with_deletes.is_empty() {
            return Ok(());
        }
        writer.merge(&with_deletes).wait().map_err(internal)?;
        self.reader.reload().map_err(internal)?;
        writer.garbage_collect_files().wait().map_err(internal)?;
        Ok(())
    }

    /// Replaces the whole content with `profiles` and merges it into one segment.
    #[tracing::instrument(skip_all)]
    pub fn rebuild(
        &self,
        profiles: impl IntoIterator<Item = Profile>,
        watermark: Option<&str>,
    ) -> Result<u64, SearchError> {
        let mut writer = self.lock_writer()?;
        writer.delete_all_documents().map_err(internal)?;
        let mut n = 0u64;
        for profile in profiles.into_iter().filter(Profile::is_indexable) {
            writer
                .add_document(self.document(&profile))
                .map_err(internal)?;
            n += 1;
        }
        self.commit(&mut writer, watermark)?;
        let segments = self.index.searchable_segment_ids().map_err(internal)?;
        if segments.len() > 1 {
            writer.merge(&segments).wait().map_err(internal)?;
            self.reader.reload().map_err(internal)?;
        }
        tracing::info!(search.docs = n, "search index rebuilt");
        Ok(n)
    }

    fn commit(&self, writer: &mut IndexWriter, watermark: Option<&str>) -> Result<(), SearchError> {
        let mut prepared = writer.prepare_commit().map_err(internal)?;
        if let Some(mark) = watermark {
            prepared.set_payload(mark);
        }
        prepared.commit().map_err(internal)?;
        self.reader.reload().map_err(internal)
    }

    fn id_term(&self, id: RegistrationId) -> Term {
        Term::from_field_i64(self.fields.registration_id, id.0)
    }

    fn document(&self, p: &Profile) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_i64(f.registration_id, p.registration_id.0);
        doc.add_i64(f.organization_id, p.organization_id.0);
        doc.add_i64(f.event_id, p.event_id.0);
        doc.add_u64(f.listed, u64::from(p.is_listed()));
        doc.add_text(f.status, p.status.as_str());
        doc.add_facet(f.participant_type, facet(p.participant_type.as_str()));
        if let Some(country) = &p.country {
            doc.add_facet(f.country, facet(country.as_str()));
        }
        for sector in &p.sectors {
            doc.add_facet(f.sector, facet(sector.as_str()));
        }
        for language in &p.languages {
            doc.add_facet(f.language, facet(language.as_str()));
        }
        doc.add_text(f.company_key, company_key(&p.company));
        for t in &f.text {
            let value = profile_text(p, t.kind);
            doc.add_text(t.fold, value);
            if let Some((fr, en)) = t.stems {
                doc.add_text(fr, value);
                doc.add_text(en, value);
            }
        }
        doc
    }

    /// Runs a search.
    #[tracing::instrument(skip_all, fields(event.id = %request.scope.event_id))]
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let Some(filter) = self.filter(&request.scope, &request.audience, &request.filters) else {
            return Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
                facets: Vec::new(),
            });
        };
        // A text without a searchable word finds nobody.
        if request.text.as_ref().is_some_and(|t| t.clauses.is_empty()) {
            return Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
                facets: Vec::new(),
            });
        }
        let searcher = self.reader.searcher();
        let known = match &request.text {
            Some(text) => self.known_words(&searcher, text)?,
            None => HashSet::new(),
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, filter)];
        if let Some(text) = &request.text {
            clauses.extend(self.text_clauses(text, &known));
        }
        let query = BooleanQuery::new(clauses);

        let mut collectors = MultiCollector::new();
        let top = collectors.add_collector(
            TopDocs::with_limit(request.page.limit())
                .and_offset(request.page.offset())
                .order_by_score(),
        );
        let count = collectors.add_collector(Count);
        // One collector per parent: tantivy refuses a parent and its descendant in one.
        let mut facet_handles = Vec::new();
        for &name in &request.facets {
            let field_name = self
                .index
                .schema()
                .get_field_name(self.facet_field(name))
                .to_owned();
            let mut parents = vec![Facet::root()];
            if name == FacetName::Sector {
                parents.extend(request.filters.sectors.iter().map(|s| facet(s.as_str())));
            }
            for parent in parents {
                let mut collector = FacetCollector::for_field(&field_name);
                collector.add_facet(parent.clone());
                facet_handles.push((name, parent, collectors.add_collector(collector)));
            }
        }
        let mut fruits = searcher.search(&query, &collectors).map_err(internal)?;
        let top_docs = top.extract(&mut fruits);
        let total = count.extract(&mut fruits) as u64;
        let mut facets: Vec<FacetCounts> = Vec::new();
        for (name, parent, handle) in facet_handles {
            let counts = handle.extract(&mut fruits);
            let values = counts.get(parent).map(|(f, c)| FacetValue {
                value: f.to_path_string().trim_start_matches('/').to_owned(),
                count: c,
            });
            match facets.iter_mut().find(|f| f.facet == name) {
                Some(existing) => existing.values.extend(values),
                None => facets.push(FacetCounts {
                    facet: name,
                    values: values.collect(),
                }),
            }
        }
        for f in &mut facets {
            f.values
                .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            f.values.dedup_by(|a, b| a.value == b.value);
        }
        let mut highlighter = request.text.as_ref().map(|t| Highlighter::new(t, &known));
        let hits = top_docs
            .into_iter()
            .map(|(score, address)| self.hit(&searcher, score, address, highlighter.as_mut()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchResults {
            total,
            hits,
            facets,
        })
    }

    fn facet_field(&self, name: FacetName) -> Field {
        match name {
            FacetName::ParticipantType => self.fields.participant_type,
            FacetName::Country => self.fields.country,
            FacetName::Sector => self.fields.sector,
            FacetName::Language => self.fields.language,
        }
    }

    /// The restrictions every query carries: tenancy, visibility and the caller's filters,
    /// scoring nothing. `None` when they can match nobody.
    fn filter(
        &self,
        scope: &Scope,
        audience: &Audience,
        filters: &Filters,
    ) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let term =
            |t: Term| -> Box<dyn Query> { Box::new(TermQuery::new(t, IndexRecordOption::Basic)) };
        let any_of = |terms: Vec<Term>| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(
                terms
                    .into_iter()
                    .map(|t| (Occur::Should, term(t)))
                    .collect(),
            ))
        };
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![
            (
                Occur::Must,
                term(Term::from_field_i64(
                    f.organization_id,
                    scope.organization_id.0,
                )),
            ),
            (
                Occur::Must,
                term(Term::from_field_i64(f.event_id, scope.event_id.0)),
            ),
        ];
        if let Audience::Participant { me } = audience {
            must.push((Occur::Must, term(Term::from_field_u64(f.listed, 1))));
            must.push((Occur::MustNot, term(self.id_term(*me))));
        }
        let facet_terms = |field: Field, values: Vec<&str>| -> Vec<Term> {
            values
                .into_iter()
                .map(|v| Term::from_facet(field, &facet(v)))
                .collect()
        };
        let lists: [(Field, Vec<&str>); 4] = [
            (
                f.participant_type,
                filters
                    .participant_types
                    .iter()
                    .map(|t| t.as_str())
                    .collect(),
            ),
            (
                f.country,
                filters.countries.iter().map(|c| c.as_str()).collect(),
            ),
            (
                f.sector,
                filters.sectors.iter().map(|s| s.as_str()).collect(),
            ),
            (
                f.language,
                filters.languages.iter().map(|l| l.as_str()).collect(),
            ),
        ];
        for (field, values) in lists {
            if !values.is_empty() {
                must.push((Occur::Must, any_of(facet_terms(field, values))));
            }
        }
        if let Some(types) = &filters.meetable_types {
            if types.is_empty() {
                return None;
            }
            let values = types.iter().map(|t| t.as_str()).collect();
            must.push((Occur::Must, any_of(facet_terms(f.participant_type, values))));
        }
        Some(Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(must)),
            0.0,
        )))
    }

    /// Each word must match somewhere, exactly, by stem, with a typo or, for the word being
    /// typed, as a prefix; an exact company name adds a large bonus.
    /// The query words that occur as such in some profile. Typo tolerance is spent only on the
    /// others: a word found in the dictionary is most likely spelt as meant, and expanding it
    /// would cost a dictionary walk per field for little gain.
    fn known_words(
        &self,
        searcher: &Searcher,
        text: &QueryText,
    ) -> Result<HashSet<String>, SearchError> {
        let mut known = HashSet::new();
        for clause in &text.clauses {
            let Clause::Word(word) = clause else { continue };
            for t in &self.fields.text {
                if searcher
                    .doc_freq(&Term::from_field_text(t.fold, word))
                    .map_err(internal)?
                    > 0
                {
                    known.insert(word.clone());
                    break;
                }
            }
        }
        Ok(known)
    }

    fn text_clauses(
        &self,
        text: &QueryText,
        known: &HashSet<String>,
    ) -> Vec<(Occur, Box<dyn Query>)> {
        let mut analyzers = Analyzers::default();
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let only_stop_words = text
            .clauses
            .iter()
            .all(|c| matches!(c, Clause::Word(w) if analysis::is_stop_word(w)));
        let last = text.clauses.len().saturating_sub(1);
        for (i, clause) in text.clauses.iter().enumerate() {
            match clause {
                Clause::Word(word) => {
                    let prefix = text.last_is_prefix && i == last;
                    let typos = !known.contains(word);
                    let q = self.word_query(&mut analyzers, word, prefix, typos);
                    let occur = if analysis::is_stop_word(word) && !only_stop_words {
                        Occur::Should
                    } else {
                        Occur::Must
                    };
                    out.push((occur, q));
                }
                Clause::Phrase(words) => {
                    let per_field = self
                        .fields
                        .text
                        .iter()
                        .map(|t| {
                            let terms = words
                                .iter()
                                .map(|w| Term::from_field_text(t.fold, w))
                                .collect();
                            let q: Box<dyn Query> = Box::new(BoostQuery::new(
                                Box::new(PhraseQuery::new(terms)),
                                t.weight,
                            ));
                            (Occur::Should, q)
                        })
                        .collect();
                    out.push((Occur::Must, Box::new(BooleanQuery::new(per_field))));
                }
            }
        }
        out.push((
            Occur::Should,
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.company_key, &text.folded),
                    IndexRecordOption::WithFreqs,
                )),
                COMPANY_EXACT_BOOST,
            )),
        ));
        out
    }

    fn word_query(
        &self,
        analyzers: &mut Analyzers,
        word: &str,
        prefix: bool,
        typos: bool,
    ) -> Box<dyn Query> {
        let stems = analyzers.stems(word);
        let budget = if typos {
            analysis::typo_budget(word)
        } else {
            0
        };
        // Within a field the best way of matching counts (an exact word is also its own stem,
        // and must not score twice); across fields the scores add up.
        let mut per_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let boosted = |q: Box<dyn Query>, boost: f32| -> Box<dyn Query> {
            Box::new(BoostQuery::new(q, boost))
        };
        for t in &self.fields.text {
            let exact = Term::from_field_text(t.fold, word);
            let mut ways: Vec<Box<dyn Query>> = vec![boosted(
                Box::new(TermQuery::new(exact.clone(), IndexRecordOption::WithFreqs)),
                t.weight,
            )];
            if let (Some((fr_field, en_field)), Some((fr, en))) = (t.stems, &stems) {
                for (field, stem) in [(fr_field, fr), (en_field, en)] {
                    ways.push(boosted(
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, stem),
                            IndexRecordOption::WithFreqs,
                        )),
                        t.weight * STEM_WEIGHT,
                    ));
                }
            }
            if budget > 0 {
                ways.push(boosted(
                    Box::new(FuzzyTermQuery::new(exact.clone(), budget, true)),
                    t.weight * TYPO_WEIGHT,
                ));
            }
            if prefix && word.chars().count() >= MIN_PREFIX_CHARS {
                ways.push(boosted(
                    Box::new(FuzzyTermQuery::new_prefix(exact, 0, true)),
                    t.weight * PREFIX_WEIGHT,
                ));
            }
            per_field.push((Occur::Should, Box::new(DisjunctionMaxQuery::new(ways))));
        }
        Box::new(BooleanQuery::new(per_field))
    }

    fn hit(
        &self,
        searcher: &Searcher,
        score: f32,
        address: DocAddress,
        highlighter: Option<&mut Highlighter>,
    ) -> Result<Hit, SearchError> {
        let doc: TantivyDocument = searcher.doc(address).map_err(internal)?;
        let f = &self.fields;
        let text = |field: Field| -> String {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let facets = |field: Field| -> Vec<String> {
            doc.get_all(field)
                .filter_map(|v| v.as_facet().map(facet_path))
                .collect()
        };
        let registration_id = RegistrationId(
            doc.get_first(f.registration_id)
                .and_then(|v| v.as_i64())
                .unwrap_or_default(),
        );
        let participant_type = facets(f.participant_type)
            .first()
            .and_then(|t| t.parse::<ParticipantType>().ok())
            .unwrap_or(ParticipantType::Visitor);
        let status = text(f.status)
            .parse()
            .unwrap_or(RegistrationStatus::Pending);
        let snippets = match highlighter {
            Some(h) => f
                .text
                .iter()
                .filter_map(|t| h.snippet(t.kind, &text(t.fold)))
                .collect(),
            None => Vec::new(),
        };
        Ok(Hit {
            registration_id,
            score,
            name: text(f.text(ProfileField::Name).fold),
            company: text(f.text(ProfileField::Company).fold),
            job_title: text(f.text(ProfileField::JobTitle).fold),
            country: facets(f.country).into_iter().next(),
            participant_type,
            status,
            sectors: facets(f.sector),
            snippets,
        })
    }

    /// Participants whose offers answer `me`'s needs and whose needs `me`'s offers answer,
    /// best first, each with the words that matched.
    #[tracing::instrument(skip_all, fields(event.id = %scope.event_id, registration.id = %me))]
    pub fn matches_for(
        &self,
        scope: &Scope,
        me: RegistrationId,
        filters: &Filters,
        limit: usize,
    ) -> Result<Vec<Match>, SearchError> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let mine = self
            .stored_profile(&searcher, scope, me)?
            .ok_or(SearchError::NotIndexed(me))?;
        let Some(filter) = self.filter(scope, &Audience::Participant { me }, filters) else {
            return Ok(Vec::new());
        };
        let mut analyzers = Analyzers::default();
        let my_needs = stem_set(&mut analyzers, &mine.needs);
        let my_offers = stem_set(&mut analyzers, &mine.offers);
        let offers = f.text(ProfileField::Offers);
        let needs = f.text(ProfileField::Needs);
        let description = f.text(ProfileField::CompanyDescription);
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut push_stems =
            |stems: &HashSet<(String, String)>, target: &TextField, weight: f32| {
                if let Some((fr_field, en_field)) = target.stems {
                    for (fr, en) in stems {
                        for (field, stem) in [(fr_field, fr), (en_field, en)] {
                            should.push((
                                Occur::Should,
                                Box::new(BoostQuery::new(
                                    Box::new(TermQuery::new(
                                        Term::from_field_text(field, stem),
                                        IndexRecordOption::WithFreqs,
                                    )),
                                    weight,
                                )),
                            ));
                        }
                    }
                }
            };
        push_stems(&my_needs, offers, 1.0);
        push_stems(&my_needs, description, 0.3);
        push_stems(&my_offers, needs, 1.0);
        if should.is_empty() {
            return Ok(Vec::new());
        }
        for sector in &mine.sectors {
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_facet(f.sector, &facet(sector)),
                        IndexRecordOption::Basic,
                    )),
                    0.5,
                )),
            ));
        }
        let query = BooleanQuery::new(vec![
            (Occur::Must, filter),
            (Occur::Must, Box::new(BooleanQuery::new(should))),
        ]);
        let top = searcher
            .search(
                &query,
                &TopDocs::with_limit(limit.clamp(1, 100)).order_by_score(),
            )
            .map_err(internal)?;
        top.into_iter()
            .map(|(score, address)| {
                let hit = self.hit(&searcher, score, address, None)?;
                let theirs = self.stored_profile(&searcher, scope, hit.registration_id)?;
                let explanation = match theirs {
                    Some(theirs) => crate::highlight::explain(
                        &mut analyzers,
                        &mine,
                        &theirs,
                        &my_needs,
                        &my_offers,
                    ),
                    None => Default::default(),
                };
                Ok(Match { hit, explanation })
            })
            .collect()
    }

    fn stored_profile(
        &self,
        searcher: &Searcher,
        scope: &Scope,
        id: RegistrationId,
    ) -> Result<Option<StoredTexts>, SearchError> {
        let f = &self.fields;
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(self.id_term(id), IndexRecordOption::Basic))
                    as Box<dyn Query>,
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_i64(f.event_id, scope.event_id.0),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_i64(f.organization_id, scope.organization_id.0),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        let top = searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .map_err(internal)?;
        let Some((_, address)) = top.into_iter().next() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(address).map_err(internal)?;
        let text = |kind: ProfileField| -> String {
            doc.get_first(f.text(kind).fold)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Some(StoredTexts {
            offers: text(ProfileField::Offers),
            needs: text(ProfileField::Needs),
            sectors: doc
                .get_all(f.sector)
                .filter_map(|v| v.as_facet().map(facet_path))
                .collect(),
        }))
    }
}

/// The parts of a stored profile that matching reads back.
pub(crate) struct StoredTexts {
    pub offers: String,
    pub needs: String,
    pub sectors: Vec<String>,
}

pub(crate) fn stem_set(analyzers: &mut Analyzers, text: &str) -> HashSet<(String, String)> {
    analyzers
        .words(text)
        .into_iter()
        .filter_map(|w| analyzers.stems(&w.folded))
        .collect()
}

/// A facet as stored (segments joined by NUL) to our slash path without the leading slash.
fn facet_path(encoded: &str) -> String {
    encoded
        .split('\u{0}')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn company_key(company: &str) -> String {
    Analyzers::default()
        .words(company)
        .into_iter()
        .map(|w| w.folded)
        .collect::<Vec<_>>()
        .join(" ")
}

fn profile_text(p: &Profile, kind: ProfileField) -> &str {
    match kind {
        ProfileField::Name => &p.name,
        ProfileField::Company => &p.company,
        ProfileField::JobTitle => &p.job_title,
        ProfileField::Offers => &p.offers,
        ProfileField::Needs => &p.needs,
        ProfileField::CompanyDescription => &p.company_description,
    }
}
