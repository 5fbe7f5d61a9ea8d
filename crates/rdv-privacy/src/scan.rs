//! The completeness check of an erasure: looks for a person's name, email address and phone
//! numbers in text (a `pg_dump` of the database, index files, logs) and reports every place
//! they still appear. The platform does not keep what it erased, so the terms travel as
//! salted SHA-256 digests ([`Terms`]) and the scan digests the candidates it reads: emails,
//! digit runs (the last nine digits, so `+33 6 12 34 56 78` and `06.12.34.56.78` match), and
//! runs of words as long as the name. Lines inside the `COPY` block of a table under a legal
//! hold are reported apart: the law keeps them.

use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::sync::OnceLock;

/// What a digest stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermKind {
    Name,
    Email,
    Phone,
}

/// One term, digested; `words` is the number of words of a name (what the scan reads runs of).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub kind: TermKind,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub words: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The digests of one person's identifying terms, with their salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub salt: String,
    pub digests: Vec<Digest>,
}

/// Digits of a phone number as compared: the last nine (a national number without its
/// trunk prefix or country code), or all of them when fewer.
fn phone_key(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 8).then(|| digits[digits.len().saturating_sub(9)..].to_owned())
}

/// Lower-case words of letters and digits: `Jean-Pierre O'Neil` is `jean pierre o neil`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn digest(salt: &str, kind: TermKind, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0, kind as u8, 0]);
    h.update(value.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Terms {
    /// The digests of a person's name (both orders), email and phone numbers.
    pub fn of_person(salt: &str, first: &str, last: &str, email: &str, phones: &[&str]) -> Self {
        let mut digests = Vec::new();
        let (first, last) = (words(first), words(last));
        for name in [[&first, &last], [&last, &first]] {
            let all: Vec<&String> = name.iter().flat_map(|w| w.iter()).collect();
            if first.is_empty() || last.is_empty() {
                break;
            }
            let joined = all.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" ");
            digests.push(Digest {
                kind: TermKind::Name,
                sha256: digest(salt, TermKind::Name, &joined),
                words: all.len(),
            });
        }
        let email = email.trim().to_lowercase();
        if !email.is_empty() {
            digests.push(Digest {
                kind: TermKind::Email,
                sha256: digest(salt, TermKind::Email, &email),
                words: 0,
            });
        }
        for p in phones.iter().filter_map(|p| phone_key(p)) {
            digests.push(Digest {
                kind: TermKind::Phone,
                sha256: digest(salt, TermKind::Phone, &p),
                words: 0,
            });
        }
        digests.dedup();
        Self {
            salt: salt.to_owned(),
            digests,
        }
    }

    fn has(&self, kind: TermKind, value: &str) -> bool {
        let d = digest(&self.salt, kind, value);
        self.digests.iter().any(|x| x.kind == kind && x.sha256 == d)
    }
}

/// Where a term was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The file or stream scanned.
    pub source: String,
    pub line: usize,
    pub kind: TermKind,
    /// The table whose `COPY` block the line belongs to, in a database dump.
    pub table: Option<String>,
    /// True when that table is under a legal hold.
    pub held: bool,
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
            .unwrap_or_else(|_| unreachable!("a constant regular expression"))
    })
}

fn phone_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\+?[0-9][0-9 .\-()]{6,}[0-9]")
            .unwrap_or_else(|_| unreachable!("a constant regular expression"))
    })
}

/// Scans `text` line by line; `held` names the tables under a legal hold.
pub fn scan(terms: &Terms, source: &str, text: &str, held: &[&str]) -> Vec<Hit> {
    let name_lengths: Vec<usize> = {
        let mut v: Vec<usize> = terms
            .digests
            .iter()
            .filter(|d| d.kind == TermKind::Name)
            .map(|d| d.words)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut hits = Vec::new();
    let mut table: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("COPY ") {
            let name = rest.split([' ', '(']).next().unwrap_or_default();
            table = Some(name.trim_start_matches("public.").to_owned());
            continue;
        }
        if line == "\\." {
            table = None;
            continue;
        }
        let mut found = Vec::new();
        for m in email_re().find_iter(line) {
            if terms.has(TermKind::Email, &m.as_str().to_lowercase()) {
                found.push(TermKind::Email);
            }
        }
        for m in phone_re().find_iter(line) {
            if phone_key(m.as_str()).is_some_and(|k| terms.has(TermKind::Phone, &k)) {
                found.push(TermKind::Phone);
            }
        }
        if !name_lengths.is_empty() {
            let w = words(line);
            'names: for &n in &name_lengths {
                if n == 0 || w.len() < n {
                    continue;
                }
                for run in w.windows(n) {
                    if terms.has(TermKind::Name, &run.join(" ")) {
                        found.push(TermKind::Name);
                        break 'names;
                    }
                }
            }
        }
        found.dedup();
        for kind in found {
            let held = table.as_deref().is_some_and(|t| held.contains(&t));
            hits.push(Hit {
                source: source.to_owned(),
                line: i + 1,
                kind,
                table: table.clone(),
                held,
            });
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms::of_person(
            "s4lt",
            "Jean-Pierre",
            "Quennevillard",
            "JP.Q@Example.org",
            &["+33612345678"],
        )
    }

    #[test]
    fn finds_each_term_in_its_usual_spellings() {
        let t = terms();
        let text = "a\tjp.q@example.org\tb\n\
                    called 06 12 34 56 78 today\n\
                    QUENNEVILLARD Jean Pierre met someone\n\
                    Jean-Pierre Quennevillard\n\
                    nothing about Pierre or Jean Dupont here\n";
        let hits = scan(&t, "x", text, &[]);
        let kinds: Vec<_> = hits.iter().map(|h| (h.line, h.kind)).collect();
        assert_eq!(
            kinds,
            [
                (1, TermKind::Email),
                (2, TermKind::Phone),
                (3, TermKind::Name),
                (4, TermKind::Name)
            ]
        );
    }

    #[test]
    fn lines_of_held_tables_are_reported_apart() {
        let t = terms();
        let dump = "COPY public.persons (id, email) FROM stdin;\n1\tother@example.org\n\\.\n\
                    COPY public.invoices (id, buyer) FROM stdin;\n7\tJean-Pierre Quennevillard\n\\.\n\
                    -- jp.q@example.org\n";
        let hits = scan(&t, "dump", dump, &["invoices"]);
        assert_eq!(hits.len(), 2, "{hits:?}");
        assert!(hits[0].held && hits[0].table.as_deref() == Some("invoices"));
        assert!(!hits[1].held && hits[1].table.is_none());
    }

    #[test]
    fn the_digests_do_not_hold_the_terms() {
        let json = serde_json::to_string(&terms()).unwrap_or_default();
        assert!(!json.to_lowercase().contains("quennevillard"));
        assert!(!json.contains("example.org") && !json.contains("612345678"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in ".{0,400}") {
            let _ = scan(&terms(), "p", &s, &["t"]);
        }
    }
}
