//! Marks the words of a field that a query matched, with the same rules as the index
//! (exact, stem, typo, prefix), and explains matches in the other person's words.

use std::collections::HashSet;
use std::ops::Range;

use crate::analysis::{self, Analyzers};
use crate::index::StoredTexts;
use crate::profile::{MatchExplanation, ProfileField, Snippet};
use crate::query::{Clause, QueryText};

/// Longest snippet, in bytes, before it is cut around the first match.
const SNIPPET_BYTES: usize = 200;
/// Context kept before the first match in a cut snippet.
const LEAD_BYTES: usize = 60;

struct QueryWord {
    folded: String,
    stems: Option<(String, String)>,
    budget: u8,
    prefix: bool,
}

pub(crate) struct Highlighter {
    analyzers: Analyzers,
    words: Vec<QueryWord>,
}

impl Highlighter {
    /// `known` holds the words found as such in the index: no typo is looked for in them.
    pub fn new(text: &QueryText, known: &HashSet<String>) -> Self {
        let mut analyzers = Analyzers::default();
        let last = text.clauses.len().saturating_sub(1);
        let mut words = Vec::new();
        for (i, clause) in text.clauses.iter().enumerate() {
            let (list, prefix) = match clause {
                Clause::Word(w) => (std::slice::from_ref(w), text.last_is_prefix && i == last),
                Clause::Phrase(ws) => (ws.as_slice(), false),
            };
            for w in list {
                words.push(QueryWord {
                    folded: w.clone(),
                    stems: analyzers.stems(w),
                    budget: if known.contains(w) {
                        0
                    } else {
                        analysis::typo_budget(w)
                    },
                    prefix: prefix && w.chars().count() >= 3,
                });
            }
        }
        Self { analyzers, words }
    }

    fn matches(&mut self, token: &str) -> bool {
        let mut token_stems = None;
        for w in &self.words {
            if token == w.folded
                || (w.prefix && token.starts_with(&w.folded))
                || (w.budget > 0 && analysis::within_edits(token, &w.folded, w.budget))
            {
                return true;
            }
            if let Some((fr, en)) = &w.stems {
                let stems = token_stems.get_or_insert_with(|| self.analyzers.stems(token));
                if let Some((tfr, ten)) = stems {
                    if tfr == fr || ten == en {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// The snippet of `text` for `field`, or `None` when no query word matched in it.
    pub fn snippet(&mut self, field: ProfileField, text: &str) -> Option<Snippet> {
        let words = self.analyzers.words(text);
        let highlights: Vec<Range<usize>> = words
            .into_iter()
            .filter(|w| self.matches(&w.folded))
            .map(|w| w.span)
            .collect();
        let first = highlights.first()?.start;
        Some(cut(field, text, first, highlights))
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn cut(field: ProfileField, text: &str, first: usize, highlights: Vec<Range<usize>>) -> Snippet {
    if text.len() <= SNIPPET_BYTES {
        return Snippet {
            field,
            text: text.to_owned(),
            highlights,
        };
    }
    let mut start = floor_boundary(text, first.saturating_sub(LEAD_BYTES));
    // Start on a word boundary when one is near.
    if let Some(space) = text[start..first].find(' ') {
        start += space + 1;
    }
    let end = floor_boundary(text, start + SNIPPET_BYTES);
    let highlights = highlights
        .into_iter()
        .filter(|r| r.start >= start && r.end <= end)
        .map(|r| r.start - start..r.end - start)
        .collect();
    Snippet {
        field,
        text: text[start..end].to_owned(),
        highlights,
    }
}

/// The words of `theirs` that answer `mine`, deduplicated by stem, in the order they appear.
pub(crate) fn explain(
    analyzers: &mut Analyzers,
    mine: &StoredTexts,
    theirs: &StoredTexts,
    my_needs: &HashSet<(String, String)>,
    my_offers: &HashSet<(String, String)>,
) -> MatchExplanation {
    let mut pick = |text: &str, wanted: &HashSet<(String, String)>| -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for word in analyzers.words(text) {
            let Some(stems) = analyzers.stems(&word.folded) else {
                continue;
            };
            let hit = wanted
                .iter()
                .any(|(fr, en)| *fr == stems.0 || *en == stems.1);
            if hit && seen.insert(stems) {
                out.push(text[word.span].to_owned());
            }
        }
        out
    };
    let they_offer = pick(&theirs.offers, my_needs);
    let they_need = pick(&theirs.needs, my_offers);
    let shared_sectors = theirs
        .sectors
        .iter()
        .filter(|s| mine.sectors.contains(s))
        .cloned()
        .collect();
    MatchExplanation {
        they_offer,
        they_need,
        shared_sectors,
    }
}
