//! Queries, one module per resource. Every query on tenant data takes the caller's
//! organization and filters by it: a row of another organization is simply not found.

pub mod accounts;
pub mod audit;
pub mod campaigns;
pub mod events;
pub mod exports;
pub mod imports;
pub mod jobs;
pub mod meetings;
pub mod organizations;
pub mod outbox;
pub mod persons;
pub mod plans;
pub mod privacy;
pub mod registrations;
pub mod search_feed;
pub mod shop;

/// A page of a list: at most `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// Rows of one page and the number of rows of the whole list.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Escapes `%`, `_` and `\` so that user text matches literally inside an ILIKE pattern.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}
