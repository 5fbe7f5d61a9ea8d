//! The job queue: enqueue inside the caller's transaction, claim with `FOR UPDATE SKIP LOCKED`
//! under a lease, finish, retry later, or bury as dead with the last error. Any number of
//! workers on any number of machines may claim at once.

use crate::models::Job;
use crate::schema::jobs;
use crate::{Conn, DbResult};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rdv_domain::JobId;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    /// At most one queued or running job holds a given key.
    pub unique_key: Option<&'a str>,
}

/// Enqueues a job; with a `unique_key` already held by a queued or running job, nothing is
/// added and `None` comes back.
pub fn enqueue(conn: &mut Conn, job: &NewJob<'_>) -> DbResult<Option<JobId>> {
    Ok(diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(job.kind),
            jobs::payload.eq(&job.payload),
            jobs::run_at.eq(job.run_at),
            jobs::max_attempts.eq(job.max_attempts),
            jobs::unique_key.eq(job.unique_key),
        ))
        .on_conflict_do_nothing()
        .returning(jobs::id)
        .get_result(conn)
        .optional()?)
}

/// Claims the next due job among `kinds` for `worker` until `lease` runs out: a queued job
/// whose time has come, or a running one whose lease expired (its worker died). Skips rows
/// other workers hold, so claims never wait on each other.
pub fn claim(
    conn: &mut Conn,
    worker: &str,
    kinds: &[&str],
    lease: Duration,
) -> DbResult<Option<Job>> {
    let now = Utc::now();
    conn.transaction(|conn| {
        let due: Option<JobId> = jobs::table
            .filter(jobs::kind.eq_any(kinds))
            .filter(
                jobs::state
                    .eq("queued")
                    .and(jobs::run_at.le(now))
                    .or(jobs::state.eq("running").and(jobs::locked_until.lt(now))),
            )
            .order(jobs::run_at)
            .select(jobs::id)
            .limit(1)
            .for_update()
            .skip_locked()
            .first(conn)
            .optional()?;
        let Some(id) = due else { return Ok(None) };
        take(conn, id, worker, now + lease).map(Some)
    })
}

/// Marks the job `id`, locked by the caller's transaction, running for `worker` until
/// `until`, and counts the attempt.
fn take(conn: &mut Conn, id: JobId, worker: &str, until: DateTime<Utc>) -> DbResult<Job> {
    Ok(diesel::update(jobs::table.find(id))
        .set((
            jobs::state.eq("running"),
            jobs::attempts.eq(jobs::attempts + 1),
            jobs::locked_by.eq(worker),
            jobs::locked_until.eq(until),
        ))
        .returning(Job::as_returning())
        .get_result(conn)?)
}

/// Claims the job `id` if it is due (or its lease ran out) and no worker holds it.
pub fn claim_id(
    conn: &mut Conn,
    worker: &str,
    id: JobId,
    lease: Duration,
) -> DbResult<Option<Job>> {
    let now = Utc::now();
    conn.transaction(|conn| {
        let due: Option<JobId> = jobs::table
            .filter(jobs::id.eq(id))
            .filter(
                jobs::state
                    .eq("queued")
                    .and(jobs::run_at.le(now))
                    .or(jobs::state.eq("running").and(jobs::locked_until.lt(now))),
            )
            .select(jobs::id)
            .for_update()
            .skip_locked()
            .first(conn)
            .optional()?;
        let Some(id) = due else { return Ok(None) };
        take(conn, id, worker, now + lease).map(Some)
    })
}

/// Extends the lease of a job this worker still holds; `false` when it lost it.
pub fn extend_lease(conn: &mut Conn, id: JobId, worker: &str, lease: Duration) -> DbResult<bool> {
    Ok(diesel::update(jobs::table.find(id))
        .filter(jobs::state.eq("running"))
        .filter(jobs::locked_by.eq(worker))
        .set(jobs::locked_until.eq(Utc::now() + lease))
        .execute(conn)?
        > 0)
}

/// Marks a job this worker holds as done; `false` when it had lost the lease meanwhile.
pub fn complete(conn: &mut Conn, id: JobId, worker: &str) -> DbResult<bool> {
    Ok(diesel::update(jobs::table.find(id))
        .filter(jobs::state.eq("running"))
        .filter(jobs::locked_by.eq(worker))
        .set((
            jobs::state.eq("done"),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
            jobs::finished_at.eq(Utc::now()),
            jobs::last_error.eq(None::<String>),
        ))
        .execute(conn)?
        > 0)
}

/// Records a failure: queued again at `retry_at`, or dead when the attempts are used up.
/// Returns the state the job is left in (`queued` or `dead`), `None` when the lease was lost.
pub fn fail(
    conn: &mut Conn,
    id: JobId,
    worker: &str,
    error: &str,
    retry_at: DateTime<Utc>,
) -> DbResult<Option<String>> {
    let error: String = error.chars().take(2000).collect();
    Ok(diesel::sql_query(
        "UPDATE jobs SET \
           state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
           run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE $3 END, \
           finished_at = CASE WHEN attempts >= max_attempts THEN now() END, \
           locked_by = NULL, locked_until = NULL, last_error = $4 \
         WHERE id = $1 AND state = 'running' AND locked_by = $2 \
         RETURNING state",
    )
    .bind::<diesel::sql_types::BigInt, _>(id.0)
    .bind::<diesel::sql_types::Text, _>(worker)
    .bind::<diesel::sql_types::Timestamptz, _>(retry_at)
    .bind::<diesel::sql_types::Text, _>(&error)
    .get_result::<StateRow>(conn)
    .optional()?
    .map(|r| r.state))
}

/// Buries the running jobs whose lease expired after their last allowed attempt: a job that
/// kills its worker every time ends dead instead of being claimed forever.
pub fn bury_exhausted(conn: &mut Conn) -> DbResult<usize> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::state.eq("running"))
            .filter(jobs::locked_until.lt(Utc::now()))
            .filter(jobs::attempts.ge(jobs::max_attempts)),
    )
    .set((
        jobs::state.eq("dead"),
        jobs::locked_by.eq(None::<String>),
        jobs::locked_until.eq(None::<DateTime<Utc>>),
        jobs::finished_at.eq(Utc::now()),
        jobs::last_error.eq("the worker stopped during the last attempt (lease expired)"),
    ))
    .execute(conn)?)
}

/// When a job of `kind` last finished successfully.
pub fn last_done(conn: &mut Conn, kind: &str) -> DbResult<Option<DateTime<Utc>>> {
    Ok(jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::state.eq("done"))
        .select(diesel::dsl::max(jobs::finished_at))
        .first(conn)?)
}

pub fn get(conn: &mut Conn, id: JobId) -> DbResult<Job> {
    Ok(jobs::table.find(id).select(Job::as_select()).first(conn)?)
}

/// Counts of jobs per state, for health and the command line.
pub fn counts(conn: &mut Conn) -> DbResult<Vec<(String, i64)>> {
    Ok(jobs::table
        .group_by(jobs::state)
        .select((jobs::state, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Forgets finished jobs older than `keep` (done) or `keep_dead` (dead).
pub fn prune(conn: &mut Conn, keep: Duration, keep_dead: Duration) -> DbResult<usize> {
    let now = Utc::now();
    Ok(diesel::delete(
        jobs::table.filter(
            jobs::state
                .eq("done")
                .and(jobs::finished_at.lt(now - keep))
                .or(jobs::state
                    .eq("dead")
                    .and(jobs::finished_at.lt(now - keep_dead))),
        ),
    )
    .execute(conn)?)
}

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
}
