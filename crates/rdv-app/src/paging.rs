//! Paging of lists: 1-based page numbers and a bounded page size.

use crate::error::AppResult;
use crate::fields::FieldErrors;
use rdv_db::queries::Page;

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;
/// The last page number a list accepts.
pub const MAX_PAGE: u32 = 1_000_000;

/// A checked page request: the rows to fetch and the numbers to echo back.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: Page,
    pub number: u32,
    pub per_page: u32,
}

/// Checks `page` (1-based, default 1) and `per_page` (default 50, at most 200).
pub fn page(page: Option<u32>, per_page: Option<u32>) -> AppResult<Paging> {
    let mut errs = FieldErrors::default();
    let number = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
    if number == 0 || number > MAX_PAGE {
        errs.add("page", format!("must be between 1 and {MAX_PAGE}"));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        errs.add("per_page", format!("must be between 1 and {MAX_PER_PAGE}"));
    }
    errs.finish()?;
    let limit = i64::from(per_page);
    Ok(Paging {
        page: Page {
            limit,
            offset: (i64::from(number) - 1) * limit,
        },
        number,
        per_page,
    })
}

/// One page of a list, with the size of the whole list.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Listed<T> {
    pub(crate) fn new(found: rdv_db::queries::Paged<T>, paging: Paging) -> Self {
        Self {
            items: found.items,
            total: found.total,
            page: paging.number,
            per_page: paging.per_page,
        }
    }
}
