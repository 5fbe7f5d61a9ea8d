//! The retention sweep: records past their `retention_until` are erased, anonymised or
//! deleted as their table's registration says (a person is erased whole), in short
//! transactions of `sweep_batch` so that API requests never wait long behind it. Records
//! under restriction stay. The report says, per table, what went and what a legal hold kept;
//! a dry run counts without changing anything.

use super::{erase, Count, PrivacySettings};
use crate::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use rdv_db::Conn;
use rdv_domain::{OrganizationId, PersonId, UserAccountId};
use rdv_privacy::registry::Expiry;
use rdv_privacy::REGISTRY;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the sweep did (or would do) to one table.
#[derive(Debug, Clone, Serialize)]
pub struct SweepTable {
    pub table: &'static str,
    /// `erase_person`, `anonymise`, `delete` or `purge`.
    pub action: &'static str,
    pub rows: i64,
}

/// Rows kept under a legal hold when the sweep erased their persons.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    pub table: &'static str,
    pub rows: i64,
    pub legal_hold: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub dry_run: bool,
    pub cutoff: DateTime<Utc>,
    pub tables: Vec<SweepTable>,
    pub held: Vec<Held>,
    pub duration_ms: u64,
}

#[derive(QueryableByName)]
struct Expired {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    organization_id: i64,
}

const EXPIRED_PERSONS: &str = "SELECT id, organization_id FROM persons \
    WHERE retention_until < $1 AND erased_at IS NULL AND restricted_at IS NULL \
    ORDER BY id LIMIT $2";

/// Sweeps everything past its deadline at `cutoff`; `progress` hears each batch.
pub fn sweep(
    conn: &mut Conn,
    settings: &PrivacySettings,
    dry_run: bool,
    cutoff: DateTime<Utc>,
    mut progress: impl FnMut(&str, i64),
) -> AppResult<SweepReport> {
    let started = std::time::Instant::now();
    let batch = settings.sweep_batch.clamp(1, 10_000);
    let mut tables = Vec::new();
    let mut held: BTreeMap<&'static str, Held> = BTreeMap::new();
    for t in REGISTRY {
        let (action, rows) = match t.retention.expiry {
            Expiry::ErasePerson if dry_run => {
                let n = count(
                    conn,
                    "SELECT count(*) AS n FROM persons WHERE retention_until < $1 \
                     AND erased_at IS NULL AND restricted_at IS NULL",
                    cutoff,
                )?;
                ("erase_person", n)
            }
            Expiry::ErasePerson => {
                let mut total = 0;
                loop {
                    let done = conn.transaction(|conn| {
                        let expired: Vec<Expired> = diesel::sql_query(EXPIRED_PERSONS)
                            .bind::<Timestamptz, _>(cutoff)
                            .bind::<BigInt, _>(batch)
                            .load(conn)
                            .map_err(AppError::internal)?;
                        for p in &expired {
                            let report = erase::erase(
                                conn,
                                OrganizationId(p.organization_id),
                                PersonId(p.id),
                            )?;
                            for o in report.tables {
                                if let Some(reason) = o.legal_hold {
                                    held.entry(o.table)
                                        .or_insert(Held {
                                            table: o.table,
                                            rows: 0,
                                            legal_hold: reason,
                                        })
                                        .rows += o.rows;
                                }
                            }
                        }
                        Ok::<_, AppError>(expired.len() as i64)
                    })?;
                    total += done;
                    progress(t.name, total);
                    if done < batch {
                        break;
                    }
                }
                ("erase_person", total)
            }
            Expiry::PurgeAuditLog if dry_run => (
                "purge",
                count(
                    conn,
                    "SELECT count(*) AS n FROM audit_log WHERE retention_until < $1 \
                     AND restricted_at IS NULL",
                    cutoff,
                )?,
            ),
            Expiry::PurgeAuditLog => (
                "purge",
                in_batches(
                    conn,
                    "SELECT privacy_purge_audit_log($1, $2::integer) AS n",
                    cutoff,
                    batch,
                    |n| progress(t.name, n),
                )?,
            ),
            Expiry::Anonymise | Expiry::Delete => {
                let action = if t.retention.expiry == Expiry::Delete {
                    "delete"
                } else {
                    "anonymise"
                };
                let Some(sql) = t.expiry_sql(dry_run) else {
                    continue;
                };
                let rows = if dry_run {
                    count(conn, &sql, cutoff)?
                } else {
                    in_batches(conn, &sql, cutoff, batch, |n| progress(t.name, n))?
                };
                (action, rows)
            }
            Expiry::WithParent => continue,
        };
        tables.push(SweepTable {
            table: t.name,
            action,
            rows,
        });
    }
    let report = SweepReport {
        dry_run,
        cutoff,
        tables,
        held: held.into_values().collect(),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    tracing::info!(
        privacy.dry_run = dry_run,
        privacy.duration_ms = report.duration_ms,
        "retention sweep finished"
    );
    Ok(report)
}

fn count(conn: &mut Conn, sql: &str, cutoff: DateTime<Utc>) -> AppResult<i64> {
    Ok(diesel::sql_query(sql)
        .bind::<Timestamptz, _>(cutoff)
        .get_result::<Count>(conn)
        .map_err(AppError::internal)?
        .n)
}

/// Runs a batch statement (`$1` cutoff, `$2` batch size, answering `n`) until a batch comes
/// back short; each batch is its own transaction.
fn in_batches(
    conn: &mut Conn,
    sql: &str,
    cutoff: DateTime<Utc>,
    batch: i64,
    mut progress: impl FnMut(i64),
) -> AppResult<i64> {
    let mut total = 0;
    loop {
        let n = diesel::sql_query(sql)
            .bind::<Timestamptz, _>(cutoff)
            .bind::<BigInt, _>(batch)
            .get_result::<Count>(conn)
            .map_err(AppError::internal)?
            .n;
        total += n;
        progress(total);
        if n < batch {
            return Ok(total);
        }
    }
}

/// Runs a real sweep and stores its report for the platform admins.
pub fn run_and_record(
    conn: &mut Conn,
    settings: &PrivacySettings,
    by: Option<UserAccountId>,
    progress: impl FnMut(&str, i64),
) -> AppResult<(rdv_db::models::Sweep, SweepReport)> {
    let row = rdv_db::queries::privacy::sweep_start(conn, false, by)?;
    match sweep(conn, settings, false, Utc::now(), progress) {
        Ok(report) => Ok((
            rdv_db::queries::privacy::sweep_finish(
                conn,
                row.id,
                &serde_json::to_value(&report).map_err(AppError::internal)?,
                None,
            )?,
            report,
        )),
        Err(e) => {
            let _ = rdv_db::queries::privacy::sweep_finish(
                conn,
                row.id,
                &serde_json::json!({}),
                Some(&e.to_string()),
            );
            Err(e)
        }
    }
}

/// A dry run for a platform admin.
pub fn dry_run(
    conn: &mut Conn,
    actor: &crate::Actor,
    settings: &PrivacySettings,
) -> AppResult<SweepReport> {
    actor.require_platform_admin()?;
    sweep(conn, settings, true, Utc::now(), |_, _| {})
}

/// The latest sweeps' reports, for a platform admin.
pub fn reports(conn: &mut Conn, actor: &crate::Actor) -> AppResult<Vec<rdv_db::models::Sweep>> {
    actor.require_platform_admin()?;
    Ok(rdv_db::queries::privacy::sweeps(conn, 50)?)
}
