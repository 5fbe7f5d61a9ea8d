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
use rdv_domain::{PersonId, UserAccountId};
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
}

const EXPIRED_PERSONS: &str = "SELECT id FROM persons \
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
    let pace = (batch, settings.sweep_duty_percent.clamp(1, 100));
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
            Expiry::ErasePerson => (
                "erase_person",
                erase_persons(conn, EXPIRED_PERSONS, cutoff, pace, &mut held, |n| {
                    progress(t.name, n)
                })?,
            ),
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
                    pace,
                    |n| progress(t.name, n),
                )?,
            ),
            Expiry::PurgeInvoices if dry_run => (
                "purge",
                count(
                    conn,
                    "SELECT count(*) AS n FROM invoices WHERE retention_until < $1 \
                     AND restricted_at IS NULL",
                    cutoff,
                )?,
            ),
            Expiry::PurgeInvoices => (
                "purge",
                in_batches(
                    conn,
                    "SELECT privacy_purge_invoices($1, $2::integer) AS n",
                    cutoff,
                    pace,
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
                    in_batches(conn, &sql, cutoff, pace, |n| progress(t.name, n))?
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
    // Prospects who never answered, whatever their deadline says.
    let unanswered = cutoff - chrono::Duration::days(settings.prospect_answer_days.max(1));
    let rows = if dry_run {
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM ({}) e",
                UNANSWERED_PROSPECTS.replace(" ORDER BY id LIMIT $2", "")
            ),
            unanswered,
        )?
    } else {
        erase_persons(
            conn,
            UNANSWERED_PROSPECTS,
            unanswered,
            pace,
            &mut held,
            |n| progress("persons", n),
        )?
    };
    tables.push(SweepTable {
        table: "persons",
        action: "erase_unanswered_prospect",
        rows,
    });
    // Inactive accounts: warned, then closed and erased.
    let idle_since = cutoff
        .checked_sub_months(chrono::Months::new(settings.inactivity_months.max(1)))
        .unwrap_or(cutoff);
    let warned_before = cutoff - chrono::Duration::days(settings.inactivity_warning_days.max(1));
    let (warned, closed) = if dry_run {
        (
            count(
                conn,
                &format!(
                    "SELECT count(*) AS n FROM ({}) e",
                    TO_WARN.replace(" ORDER BY u.id LIMIT $2", "")
                ),
                idle_since,
            )?,
            count(
                conn,
                &format!(
                    "SELECT count(*) AS n FROM ({}) e",
                    TO_CLOSE.replace(" ORDER BY u.id LIMIT $2", "")
                ),
                warned_before,
            )?,
        )
    } else {
        (
            warn_inactive(conn, idle_since, warned_before, batch, settings)?,
            close_inactive(conn, warned_before, batch)?,
        )
    };
    tables.push(SweepTable {
        table: "user_accounts",
        action: "warn_inactive",
        rows: warned,
    });
    tables.push(SweepTable {
        table: "user_accounts",
        action: "close_inactive",
        rows: closed,
    });
    // The digests an erasure keeps for its completeness check go after 30 days: salted
    // digests of short values (a phone number) could be reversed by trying them all.
    let digests = if dry_run {
        count(
            conn,
            "SELECT count(*) AS n FROM privacy_requests WHERE scan_digest IS NOT NULL \
             AND handled_at < $1::timestamptz - interval '30 days'",
            cutoff,
        )?
    } else {
        diesel::sql_query(
            "UPDATE privacy_requests SET scan_digest = NULL WHERE scan_digest IS NOT NULL \
             AND handled_at < $1::timestamptz - interval '30 days'",
        )
        .bind::<Timestamptz, _>(cutoff)
        .execute(conn)
        .map_err(AppError::internal)? as i64
    };
    tables.push(SweepTable {
        table: "privacy_requests",
        action: "forget_scan_digests",
        rows: digests,
    });
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
    (batch, duty): (i64, u32),
    mut progress: impl FnMut(i64),
) -> AppResult<i64> {
    let mut total = 0;
    loop {
        let started = std::time::Instant::now();
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
        pause(started, duty);
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

/// Prospects recorded before `$1` who never gave a consent, registered for no event and
/// hold no login: a prospect who became a participant follows the participants' deadlines.
const UNANSWERED_PROSPECTS: &str = "SELECT id FROM persons p \
    WHERE p.source = 'prospect' AND p.created_at < $1 AND p.erased_at IS NULL \
    AND p.restricted_at IS NULL \
    AND NOT EXISTS (SELECT 1 FROM consent_records c WHERE c.person_id = p.id AND c.granted) \
    AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.person_id = p.id) \
    AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id) \
    ORDER BY id LIMIT $2";

/// Erases the persons `select` finds (`$1` the cutoff, `$2` the batch), a batch per
/// transaction; adds what legal holds kept to `held`.
fn erase_persons(
    conn: &mut Conn,
    select: &str,
    cutoff: DateTime<Utc>,
    (batch, duty): (i64, u32),
    held: &mut BTreeMap<&'static str, Held>,
    mut progress: impl FnMut(i64),
) -> AppResult<i64> {
    let mut total = 0;
    loop {
        let started = std::time::Instant::now();
        let done = conn.transaction(|conn| {
            let expired: Vec<Expired> = diesel::sql_query(select)
                .bind::<Timestamptz, _>(cutoff)
                .bind::<BigInt, _>(batch)
                .load(conn)
                .map_err(AppError::internal)?;
            // One statement per table for the whole batch.
            let ids: Vec<PersonId> = expired.iter().map(|p| PersonId(p.id)).collect();
            if !ids.is_empty() {
                for o in erase::erase_many(conn, &ids)? {
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
        progress(total);
        if done < batch {
            return Ok(total);
        }
        pause(started, duty);
    }
}

/// Pauses after a batch that took since `started`, so that the sweep keeps the database
/// busy `duty` percent of the time.
fn pause(started: std::time::Instant, duty: u32) {
    if duty >= 100 {
        return;
    }
    let busy = started.elapsed();
    std::thread::sleep(busy * (100 - duty.max(1)) / duty.max(1));
}

/// Accounts, platform admins excepted, without a login since `$1` and not warned yet.
const TO_WARN: &str = "SELECT u.id, coalesce((SELECT p.preferred_language FROM memberships m \
    JOIN persons p ON p.id = m.person_id WHERE m.user_account_id = u.id LIMIT 1), 'en') AS language \
    FROM user_accounts u WHERE u.erased_at IS NULL AND u.disabled_at IS NULL \
    AND u.inactivity_warned_at IS NULL AND coalesce(u.last_login_at, u.created_at) < $1 \
    AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_account_id = u.id AND m.role = 'platform_admin') \
    ORDER BY u.id LIMIT $2";

/// Accounts warned before `$1` that have not logged in since.
const TO_CLOSE: &str = "SELECT u.id, 'en' AS language FROM user_accounts u \
    WHERE u.erased_at IS NULL AND u.inactivity_warned_at < $1 \
    AND (u.last_login_at IS NULL OR u.last_login_at < u.inactivity_warned_at) \
    AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_account_id = u.id AND m.role = 'platform_admin') \
    ORDER BY u.id LIMIT $2";

#[derive(QueryableByName)]
struct Account {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    language: String,
}

/// The message kind warning an inactive account.
pub const INACTIVITY_KIND: &str = "account_inactive";

fn warn_inactive(
    conn: &mut Conn,
    idle_since: DateTime<Utc>,
    _warned_before: DateTime<Utc>,
    batch: i64,
    settings: &PrivacySettings,
) -> AppResult<i64> {
    let mut total = 0;
    loop {
        let n = conn.transaction(|conn| {
            let accounts: Vec<Account> = diesel::sql_query(TO_WARN)
                .bind::<Timestamptz, _>(idle_since)
                .bind::<BigInt, _>(batch)
                .load(conn)
                .map_err(AppError::internal)?;
            let now = Utc::now();
            let close_on = (now + chrono::Duration::days(settings.inactivity_warning_days))
                .date_naive()
                .to_string();
            let rows: Vec<rdv_db::models::NewOutboxMessage> = accounts
                .iter()
                .map(|a| rdv_db::models::NewOutboxMessage {
                    organization_id: None,
                    event_id: None,
                    person_id: None,
                    user_account_id: Some(UserAccountId(a.id)),
                    channel: rdv_domain::Channel::Email,
                    template: INACTIVITY_KIND.to_owned(),
                    data: serde_json::json!({
                        "language": a.language,
                        "close_on": close_on,
                        "months": settings.inactivity_months,
                    }),
                    idempotency_key: format!("{INACTIVITY_KIND}:{}:{}", a.id, now.date_naive()),
                    not_before: now,
                    max_attempts: crate::notify::MAX_ATTEMPTS,
                    legal_basis: rdv_domain::LegalBasis::LegitimateInterest,
                    retention_until: rdv_domain::RetentionPolicy::EventData.deadline(now),
                    source: rdv_domain::DataSource::System,
                    campaign_id: None,
                    solicitation: false,
                })
                .collect();
            rdv_db::queries::outbox::enqueue_many(conn, &rows)?;
            let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
            diesel::sql_query(
                "UPDATE user_accounts SET inactivity_warned_at = now() WHERE id = ANY($1)",
            )
            .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
            .execute(conn)
            .map_err(AppError::internal)?;
            Ok::<_, AppError>(accounts.len() as i64)
        })?;
        total += n;
        if n < batch {
            return Ok(total);
        }
    }
}

/// Closes and erases the accounts warned before `warned_before` that did not log in since:
/// the login goes (memberships, and with them the sessions); the persons the accounts spoke
/// for keep their own deadlines.
fn close_inactive(conn: &mut Conn, warned_before: DateTime<Utc>, batch: i64) -> AppResult<i64> {
    let accounts = rdv_privacy::registry::table("user_accounts")
        .ok_or_else(|| AppError::internal("user_accounts is not registered"))?;
    let rdv_privacy::Erasure::Anonymise(cols) = accounts.erasure else {
        return Err(AppError::internal("user_accounts are not anonymised"));
    };
    let set = cols
        .iter()
        .map(|(c, e)| format!("{c} = {e}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut total = 0;
    loop {
        let n = conn.transaction(|conn| {
            let found: Vec<Account> = diesel::sql_query(TO_CLOSE)
                .bind::<Timestamptz, _>(warned_before)
                .bind::<BigInt, _>(batch)
                .load(conn)
                .map_err(AppError::internal)?;
            let ids: Vec<i64> = found.iter().map(|a| a.id).collect();
            // The account's messages lose their address and content; queued ones are cancelled.
            diesel::sql_query(
                "UPDATE outbox_messages SET data = '{}'::jsonb, recipient = NULL, \
                 provider_reply = NULL, \
                 status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END \
                 WHERE user_account_id = ANY($1)",
            )
            .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
            .execute(conn)
            .map_err(AppError::internal)?;
            diesel::sql_query("DELETE FROM memberships WHERE user_account_id = ANY($1)")
                .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
                .execute(conn)
                .map_err(AppError::internal)?;
            diesel::sql_query(format!(
                "UPDATE user_accounts t SET {set}, erased_at = now() WHERE t.id = ANY($1)"
            ))
            .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
            .execute(conn)
            .map_err(AppError::internal)?;
            if !ids.is_empty() {
                tracing::info!(
                    accounts.closed = ids.len(),
                    "inactive accounts closed and erased"
                );
            }
            Ok::<_, AppError>(ids.len() as i64)
        })?;
        total += n;
        if n < batch {
            return Ok(total);
        }
    }
}
