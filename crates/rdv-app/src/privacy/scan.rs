//! The completeness check of an erasure, with its I/O: a `pg_dump` of the whole database,
//! every file of the search index, and the application's logs, searched for the person's
//! name, email and numbers (`rdv_privacy::scan`). For an erased person the terms are the
//! digests recorded at erasure; for one not erased yet, their current data.

use super::erase;
use crate::{AppError, AppResult};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rdv_db::Conn;
use rdv_domain::{OrganizationId, PersonId};
use rdv_privacy::registry::{Erasure, REGISTRY};
use rdv_privacy::scan::{self, Hit, Terms};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub person_id: i64,
    pub erased: bool,
    /// What was searched: `database`, and each file.
    pub sources: usize,
    /// Traces outside legal holds: an erasure is complete when there are none.
    pub traces: Vec<Hit>,
    /// Traces inside tables under a legal hold.
    pub held: Vec<Hit>,
}

#[derive(QueryableByName)]
struct Org {
    #[diesel(sql_type = BigInt)]
    organization_id: i64,
}

/// The terms to look for: the digests recorded at erasure, or the person's current data.
pub fn terms(conn: &mut Conn, person: PersonId) -> AppResult<(Terms, bool)> {
    let org: Org = diesel::sql_query("SELECT organization_id FROM persons WHERE id = $1")
        .bind::<BigInt, _>(person.0)
        .get_result(conn)
        .optional()
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found("person"))?;
    let who = erase::identity(conn, OrganizationId(org.organization_id), person)?;
    if who.erased_at.is_none() {
        return Ok((who.terms(), false));
    }
    let digests = rdv_db::queries::privacy::scan_digests(conn, person)?;
    let terms = digests
        .into_iter()
        .find_map(|d| serde_json::from_value::<Terms>(d).ok())
        .ok_or_else(|| {
            AppError::conflict(
                "the person was erased without a recorded digest (by the retention sweep): \
                 nothing to look for",
            )
        })?;
    Ok((terms, true))
}

/// Tables whose rows a legal hold keeps.
fn held_tables() -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|t| matches!(t.erasure, Erasure::Hold { .. }))
        .map(|t| t.name)
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Searches a dump of the database at `database_url`, the files under `index_dir` and the
/// `logs` for `terms`.
pub fn scan(
    person: PersonId,
    terms: &Terms,
    erased: bool,
    database_url: &str,
    index_dir: Option<&Path>,
    logs: &[PathBuf],
) -> AppResult<ScanReport> {
    let held = held_tables();
    let out = std::process::Command::new("pg_dump")
        .args(["--data-only", "--no-owner", "--no-privileges", "--dbname"])
        .arg(database_url)
        .output()
        .map_err(|e| AppError::internal(format!("pg_dump cannot run: {e}")))?;
    if !out.status.success() {
        return Err(AppError::internal(format!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let mut hits = scan::scan(
        terms,
        "database",
        &String::from_utf8_lossy(&out.stdout),
        &held,
    );
    let mut files = Vec::new();
    if let Some(dir) = index_dir {
        files_under(dir, &mut files);
    }
    files.extend(logs.iter().cloned());
    for f in &files {
        let bytes = std::fs::read(f)
            .map_err(|e| AppError::invalid(format!("cannot read {}: {e}", f.display())))?;
        hits.extend(scan::scan(
            terms,
            &f.display().to_string(),
            &String::from_utf8_lossy(&bytes),
            &[],
        ));
    }
    let (held, traces): (Vec<Hit>, Vec<Hit>) = hits.into_iter().partition(|h| h.held);
    Ok(ScanReport {
        person_id: person.0,
        erased,
        sources: 1 + files.len(),
        traces,
        held,
    })
}
