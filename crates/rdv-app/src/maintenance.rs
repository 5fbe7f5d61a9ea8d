//! The platform's periodic upkeep, run as jobs: pruning what throttling, sessions, the search
//! outbox, expired exports and the queue itself no longer need; and the registry of every job
//! kind.

use crate::auth::AuthSettings;
use crate::jobs::{JobSettings, Registry};
use chrono::Duration;
use rdv_db::models::Job;
use rdv_db::queries::{accounts, jobs, search_feed};
use rdv_db::Conn;

pub const PRUNE_SEARCH_OUTBOX: &str = "prune.search_outbox";
pub const PRUNE_LOGIN_THROTTLE: &str = "prune.login_throttle";
pub const PRUNE_SESSIONS: &str = "prune.sessions";
pub const PRUNE_JOBS: &str = "prune.jobs";

/// Every job kind the platform runs today (upkeep, planning runs, exports), with the periodic ones
/// scheduled.
pub fn registry(
    auth: &AuthSettings,
    settings: &JobSettings,
    privacy: &crate::privacy::PrivacySettings,
    shop: &crate::shop::ShopSettings,
    imports: &crate::imports::ImportSettings,
) -> Registry {
    let (check_settings, run_settings) = (imports.clone(), imports.clone());
    let archive_hours = privacy.archive_hours;
    let sweep_settings = privacy.clone();
    let outbox_keep = Duration::hours(settings.search_outbox_keep_hours);
    let throttle_keep = auth.longest_window();
    let done_keep = Duration::hours(settings.done_jobs_keep_hours);
    let dead_keep = Duration::days(settings.dead_jobs_keep_days);
    let lease = Duration::seconds(settings.lease_seconds);
    let registry = Registry::default()
        .handle(PRUNE_SEARCH_OUTBOX, move |conn: &mut Conn, _: &Job| {
            let n = search_feed::prune_outbox(conn, outbox_keep)?;
            tracing::info!(search_outbox.pruned = n, "search outbox pruned");
            Ok(())
        })
        .every(PRUNE_SEARCH_OUTBOX, Duration::hours(1))
        .handle(PRUNE_LOGIN_THROTTLE, move |conn: &mut Conn, _: &Job| {
            let n = accounts::prune_throttle(conn, throttle_keep)?;
            tracing::info!(login_throttle.pruned = n, "login throttle pruned");
            Ok(())
        })
        .every(PRUNE_LOGIN_THROTTLE, Duration::minutes(15))
        .handle(PRUNE_SESSIONS, |conn: &mut Conn, _: &Job| {
            let n = accounts::prune_sessions(conn)?;
            tracing::info!(sessions.pruned = n, "expired sessions pruned");
            Ok(())
        })
        .every(PRUNE_SESSIONS, Duration::hours(6))
        .handle(PRUNE_JOBS, move |conn: &mut Conn, _: &Job| {
            let n = jobs::prune(conn, done_keep, dead_keep)?;
            tracing::info!(jobs.pruned = n, "finished jobs pruned");
            Ok(())
        })
        .every(PRUNE_JOBS, Duration::hours(6))
        .handle(
            crate::planning::RUN_JOB,
            move |conn: &mut Conn, job: &Job| crate::planning::run_job(conn, job, lease),
        )
        .handle(
            crate::exports::BUILD_JOB,
            move |conn: &mut Conn, job: &Job| crate::exports::run_job(conn, job, lease),
        )
        .handle(crate::exports::PRUNE_JOB, |conn: &mut Conn, _: &Job| {
            let n = crate::exports::prune(conn)?;
            tracing::info!(exports.pruned = n, "expired exports deleted");
            Ok(())
        })
        .every(crate::exports::PRUNE_JOB, Duration::hours(1))
        .handle(
            crate::imports::CHECK_JOB,
            move |conn: &mut Conn, job: &Job| {
                crate::imports::run_job(conn, job, lease, &check_settings)
            },
        )
        .handle(
            crate::imports::RUN_JOB,
            move |conn: &mut Conn, job: &Job| {
                crate::imports::run_job(conn, job, lease, &run_settings)
            },
        )
        .handle(crate::imports::PRUNE_JOB, |conn: &mut Conn, _: &Job| {
            let n = crate::imports::prune(conn)?;
            tracing::info!(imports.pruned = n, "expired imports deleted");
            Ok(())
        })
        .every(crate::imports::PRUNE_JOB, Duration::hours(1))
        .handle(crate::notify::REMINDERS_JOB, |conn: &mut Conn, _: &Job| {
            crate::notify::queue_reminders(conn, chrono::Utc::now())?;
            Ok(())
        })
        .every(crate::notify::REMINDERS_JOB, Duration::minutes(15))
        .handle(
            crate::privacy::ARCHIVE_JOB,
            move |conn: &mut Conn, job: &Job| {
                crate::privacy::requests::run_archive_job(conn, job, archive_hours)
            },
        )
        .handle(
            crate::privacy::SWEEP_JOB,
            move |conn: &mut Conn, _: &Job| {
                rdv_db::queries::privacy::prune_archives(conn)?;
                crate::privacy::sweep::run_and_record(conn, &sweep_settings, None, |_, _| {})?;
                Ok(())
            },
        )
        .every(crate::privacy::SWEEP_JOB, Duration::days(1))
        .handle(
            crate::privacy::closure::EXPORT_JOB,
            crate::privacy::closure::run_export_job,
        )
        .handle(
            crate::privacy::closure::PURGE_JOB,
            crate::privacy::closure::run_purge_job,
        );
    crate::shop::register(registry, shop.clone())
}
