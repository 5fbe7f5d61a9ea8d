//! Text analysis shared by indexing, querying and highlighting: folding (lowercase, accents),
//! French and English stemming, stop words and the typo budget.

use std::ops::Range;

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TokenizerManager,
};

/// Analyzer names registered on the index.
pub(crate) const FOLD: &str = "rdv_fold";
pub(crate) const FRENCH: &str = "rdv_fr";
pub(crate) const ENGLISH: &str = "rdv_en";

/// Words longer than this are dropped: they are junk (hashes, URLs), not words people type.
const MAX_TOKEN_BYTES: usize = 40;

/// French and English function words, already folded. A curated list rather than Snowball's:
/// Snowball's French list holds verb forms such as "avions" (planes) that matter at a trade fair.
const STOP_WORDS: &[&str] = &[
    // French
    "a", "au", "aux", "avec", "ce", "ces", "cette", "d", "dans", "de", "des", "du", "elle", "elles",
    "en", "est", "et", "il", "ils", "j", "je", "l", "la", "le", "les", "leur", "leurs", "lui", "m",
    "ma", "mais", "me", "mes", "n", "ne", "nos", "notre", "nous", "on", "ou", "par", "pas", "pour",
    "qu", "que", "qui", "s", "sa", "se", "ses", "son", "sont", "sur", "t", "ta", "te", "tes", "un",
    "une", "vos", "votre", "vous", "y", // English
    "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "if", "in", "into", "is",
    "it", "its", "no", "not", "of", "or", "our", "such", "that", "the", "their", "then", "there",
    "these", "they", "this", "to", "was", "we", "will", "with", "you", "your",
];

fn fold_builder() -> tantivy::tokenizer::TextAnalyzerBuilder {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter_dynamic(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter_dynamic(LowerCaser)
        .filter_dynamic(AsciiFoldingFilter)
}

fn stop_words() -> StopWordFilter {
    // Built once: every query builds analyzers, and the filter shares its set behind an Arc.
    static FILTER: std::sync::OnceLock<StopWordFilter> = std::sync::OnceLock::new();
    FILTER
        .get_or_init(|| StopWordFilter::remove(STOP_WORDS.iter().map(|w| (*w).to_owned())))
        .clone()
}

/// Lowercase and accent-folded words, nothing removed: names, companies, prefixes and typos.
pub(crate) fn fold_analyzer() -> TextAnalyzer {
    fold_builder().build()
}

/// Folding happens before stemming so that "electricite" typed without accents and
/// "électricité" reach the same stem; the stems are not Snowball's canonical ones, but
/// documents and queries go through the same chain, which is what matching needs.
pub(crate) fn stem_analyzer(language: Language) -> TextAnalyzer {
    fold_builder()
        .filter_dynamic(stop_words())
        .filter_dynamic(Stemmer::new(language))
        .build()
}

pub(crate) fn register(manager: &TokenizerManager) {
    manager.register(FOLD, fold_analyzer());
    manager.register(FRENCH, stem_analyzer(Language::French));
    manager.register(ENGLISH, stem_analyzer(Language::English));
}

/// True when `word` (folded) is a function word that should not be required to match.
pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// One word of a text with its place in the original string.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub folded: String,
    pub span: Range<usize>,
}

/// The analyzers a caller needs to analyze text outside of tantivy's indexing path.
pub(crate) struct Analyzers {
    fold: TextAnalyzer,
    french: TextAnalyzer,
    english: TextAnalyzer,
}

impl Default for Analyzers {
    fn default() -> Self {
        Self {
            fold: fold_analyzer(),
            french: stem_analyzer(Language::French),
            english: stem_analyzer(Language::English),
        }
    }
}

impl Analyzers {
    pub fn words(&mut self, text: &str) -> Vec<Word> {
        let mut out = Vec::new();
        let mut stream = self.fold.token_stream(text);
        while let Some(token) = stream.next() {
            out.push(Word {
                folded: token.text.clone(),
                span: token.offset_from..token.offset_to,
            });
        }
        out
    }

    /// The French and English stems of one folded word; `None` for a stop word.
    pub fn stems(&mut self, folded: &str) -> Option<(String, String)> {
        let french = first_token(&mut self.french, folded)?;
        let english = first_token(&mut self.english, folded)?;
        Some((french, english))
    }
}

fn first_token(analyzer: &mut TextAnalyzer, text: &str) -> Option<String> {
    let mut stream = analyzer.token_stream(text);
    stream.next().map(|t| t.text.clone())
}

/// Edits forgiven in a word: one from five letters, two from nine; short words must be exact.
pub fn typo_budget(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Damerau-Levenshtein distance (adjacent transpositions count as one edit), giving up past
/// `max`. Used to highlight the words a typo matched, with the same rule as the index.
pub(crate) fn within_edits(a: &str, b: &str, max: u8) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let max = usize::from(max);
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let width = b.len() + 1;
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return false;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> Vec<String> {
        Analyzers::default()
            .words(text)
            .into_iter()
            .map(|w| w.folded)
            .collect()
    }

    fn stems(text: &str, language: Language) -> Vec<String> {
        let mut analyzer = stem_analyzer(language);
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        out
    }

    #[test]
    fn folding_lowercases_and_removes_accents() {
        assert_eq!(
            folded("Électricité GÉNÉRALE, façade"),
            ["electricite", "generale", "facade"]
        );
    }

    #[test]
    fn french_plurals_and_accents_reach_the_same_stem() {
        assert_eq!(
            stems("usinages", Language::French),
            stems("usinage", Language::French)
        );
        assert_eq!(
            stems("machines", Language::French),
            stems("machine", Language::French)
        );
        assert_eq!(
            stems("électricité", Language::French),
            stems("electricite", Language::French)
        );
        assert_eq!(
            stems("emballages", Language::French),
            stems("Emballage", Language::French)
        );
    }

    #[test]
    fn english_plurals_and_verb_forms_reach_the_same_stem() {
        assert_eq!(
            stems("machines", Language::English),
            stems("machine", Language::English)
        );
        assert_eq!(
            stems("packaging", Language::English),
            stems("packaged", Language::English)
        );
        assert_eq!(
            stems("suppliers", Language::English),
            stems("supplier", Language::English)
        );
    }

    #[test]
    fn stop_words_are_removed_from_stemmed_text_only() {
        assert_eq!(
            stems("le fournisseur de la pièce", Language::French).len(),
            2
        );
        assert_eq!(stems("the supplier of parts", Language::English).len(), 2);
        assert_eq!(folded("le fournisseur").len(), 2);
        // "avions" is a verb form in Snowball's list but planes at an aerospace fair.
        assert_eq!(stems("avions", Language::French).len(), 1);
    }

    #[test]
    fn typo_budget_follows_word_length() {
        assert_eq!(typo_budget("acier"), 1);
        assert_eq!(typo_budget("bois"), 0);
        assert_eq!(typo_budget("logistique"), 2);
        assert_eq!(typo_budget("chaudronn"), 2);
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert!(within_edits("usinage", "usniage", 1));
        assert!(within_edits("usinage", "usinag", 1));
        assert!(!within_edits("usinage", "usnage", 0));
        assert!(within_edits("logistique", "lgoistiqeu", 2));
        assert!(!within_edits("logistique", "lgositiqeu", 2));
    }
}
