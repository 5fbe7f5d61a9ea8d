//! The job queue's workers: every long or periodic piece of work runs here, on any number of
//! processes and machines. A job is enqueued in the caller's transaction (it exists only if
//! that transaction commits), claimed with `FOR UPDATE SKIP LOCKED` under a lease, retried
//! with exponential backoff when it fails, and left dead with its last error when its
//! attempts are used up. A worker that dies mid-job loses its lease; another takes the job
//! over. Periodic jobs (pruning, later the retention sweep) are enqueued by whichever worker
//! notices they are due, at most one queued at a time.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use rdv_db::models::Job;
use rdv_db::queries::jobs::{self, NewJob};
use rdv_db::Conn;
use rdv_domain::JobId;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The `[jobs]` settings section.
#[derive(Debug, Clone, Deserialize)]
pub struct JobSettings {
    /// Run a worker inside `rdv serve` (in addition to any `rdv worker`).
    pub worker_in_serve: bool,
    /// How long a claimed job stays this worker's before another may take it over.
    pub lease_seconds: i64,
    /// Pause when no job is due.
    pub idle_millis: u64,
    /// Default attempts before a job is dead.
    pub max_attempts: i32,
    /// Search outbox entries kept for nodes that were away (older ones make them rebuild).
    pub search_outbox_keep_hours: i64,
    /// Finished jobs kept for inspection.
    pub done_jobs_keep_hours: i64,
    pub dead_jobs_keep_days: i64,
}

/// One kind of job and what running it does.
pub trait JobHandler: Send + Sync {
    /// Runs the job; an error makes the queue retry it later (or bury it as dead).
    fn run(&self, conn: &mut Conn, job: &Job) -> anyhow::Result<()>;
}

impl<F> JobHandler for F
where
    F: Fn(&mut Conn, &Job) -> anyhow::Result<()> + Send + Sync,
{
    fn run(&self, conn: &mut Conn, job: &Job) -> anyhow::Result<()> {
        self(conn, job)
    }
}

/// A job enqueued again and again: `kind` runs `every` after its last success.
#[derive(Debug, Clone, Copy)]
pub struct Periodic {
    pub kind: &'static str,
    pub every: Duration,
}

/// The kinds a worker runs, and the periodic ones it keeps scheduled.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Arc<dyn JobHandler>>,
    periodic: Vec<Periodic>,
}

impl Registry {
    pub fn handle(mut self, kind: &'static str, handler: impl JobHandler + 'static) -> Self {
        self.handlers.insert(kind, Arc::new(handler));
        self
    }

    pub fn every(mut self, kind: &'static str, every: Duration) -> Self {
        self.periodic.push(Periodic { kind, every });
        self
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }
}

/// Enqueues a job in the caller's transaction.
pub fn enqueue(
    conn: &mut Conn,
    kind: &str,
    payload: serde_json::Value,
    run_at: DateTime<Utc>,
    max_attempts: i32,
) -> AppResult<JobId> {
    jobs::enqueue(
        conn,
        &NewJob {
            kind,
            payload,
            run_at,
            max_attempts,
            unique_key: None,
        },
    )?
    .ok_or_else(|| AppError::internal("job not enqueued"))
}

/// The wait before attempt `attempts + 1`: 10 s doubled at each failure, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 20) - 1;
    Duration::seconds((10i64 << exp).min(3600))
}

/// What one pass of a worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    Idle,
    Done(JobId),
    /// Failed; left `queued` for a retry or `dead`.
    Failed {
        job: JobId,
        state: String,
    },
    /// The lease was lost before the outcome could be recorded (another worker took over).
    LostLease(JobId),
}

/// A worker: claims due jobs of its registry's kinds and runs them one at a time.
pub struct Worker {
    pub name: String,
    registry: Registry,
    settings: JobSettings,
}

impl Worker {
    pub fn new(name: impl Into<String>, registry: Registry, settings: JobSettings) -> Self {
        Self {
            name: name.into(),
            registry,
            settings,
        }
    }

    /// A name unique among the workers of the platform: host, process, and a label.
    pub fn default_name(label: &str) -> String {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into());
        format!("{host}:{}:{label}", std::process::id())
    }

    /// Enqueues the periodic jobs that are due and not queued yet; buries jobs whose last
    /// attempt's worker died.
    pub fn housekeeping(&self, conn: &mut Conn) -> AppResult<()> {
        let buried = jobs::bury_exhausted(conn)?;
        if buried > 0 {
            tracing::warn!(
                jobs.buried = buried,
                "jobs dead after their last worker stopped"
            );
        }
        for p in &self.registry.periodic {
            let run_at = jobs::last_done(conn, p.kind)?.map_or_else(Utc::now, |t| t + p.every);
            jobs::enqueue(
                conn,
                &NewJob {
                    kind: p.kind,
                    payload: serde_json::json!({}),
                    run_at,
                    max_attempts: self.settings.max_attempts,
                    unique_key: Some(p.kind),
                },
            )?;
        }
        Ok(())
    }

    /// Claims and runs at most one due job.
    pub fn run_once(&self, conn: &mut Conn) -> AppResult<Ran> {
        let kinds = self.registry.kinds();
        let lease = Duration::seconds(self.settings.lease_seconds);
        let Some(job) = jobs::claim(conn, &self.name, &kinds, lease)? else {
            return Ok(Ran::Idle);
        };
        self.execute(conn, job)
    }

    /// Claims and runs the job `id` if it is due and no other worker holds it (the command
    /// line runs the job it queued, unless a worker took it first).
    pub fn run_job(&self, conn: &mut Conn, id: JobId) -> AppResult<Ran> {
        let lease = Duration::seconds(self.settings.lease_seconds);
        let Some(job) = jobs::claim_id(conn, &self.name, id, lease)? else {
            return Ok(Ran::Idle);
        };
        self.execute(conn, job)
    }

    fn execute(&self, conn: &mut Conn, job: Job) -> AppResult<Ran> {
        let Some(handler) = self.registry.handlers.get(job.kind.as_str()).cloned() else {
            return Err(AppError::internal(format!(
                "no handler for job kind {}",
                job.kind
            )));
        };
        let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind, job.attempt = job.attempts);
        let _entered = span.enter();
        let started = std::time::Instant::now();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.run(conn, &job)));
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("{e:#}")),
            Err(_) => Some("the job panicked".to_owned()),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        match error {
            None => {
                if jobs::complete(conn, job.id, &self.name)? {
                    tracing::info!(job.duration_ms = duration_ms, "job done");
                    Ok(Ran::Done(job.id))
                } else {
                    tracing::warn!("job finished after its lease was taken over");
                    Ok(Ran::LostLease(job.id))
                }
            }
            Some(error) => {
                let retry_at = Utc::now() + backoff(job.attempts);
                match jobs::fail(conn, job.id, &self.name, &error, retry_at)? {
                    Some(state) => {
                        tracing::warn!(job.duration_ms = duration_ms, job.state = %state, error = %error, "job failed");
                        Ok(Ran::Failed { job: job.id, state })
                    }
                    None => Ok(Ran::LostLease(job.id)),
                }
            }
        }
    }

    /// Runs jobs until `stop` is set, reconnecting when the database goes away.
    pub fn run(&self, database_url: &str, stop: &AtomicBool) {
        let idle = std::time::Duration::from_millis(self.settings.idle_millis);
        let mut last_housekeeping: Option<std::time::Instant> = None;
        tracing::info!(worker = %self.name, kinds = ?self.registry.kinds(), "job worker started");
        work_loop("job worker", database_url, stop, idle, |c| {
            if last_housekeeping.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(10)) {
                if let Err(e) = self.housekeeping(c) {
                    tracing::error!(error = %e, "job housekeeping failed");
                }
                last_housekeeping = Some(std::time::Instant::now());
            }
            Ok(!matches!(self.run_once(c)?, Ran::Idle))
        });
    }
}

/// The loop of every kind of worker, until `stop` is set: a connection, re-established when
/// the database goes away, and one pass after another. A pass answers whether it found work
/// (when not, the worker waits `idle`); one that fails drops the connection and waits longer.
pub fn work_loop(
    what: &str,
    database_url: &str,
    stop: &AtomicBool,
    idle: std::time::Duration,
    mut pass: impl FnMut(&mut Conn) -> AppResult<bool>,
) {
    let mut conn: Option<Conn> = None;
    while !stop.load(Ordering::Relaxed) {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match rdv_db::establish(database_url) {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, "{what} cannot reach PostgreSQL yet");
                    std::thread::sleep(idle * 10);
                    continue;
                }
            },
        };
        match pass(c) {
            Ok(false) => std::thread::sleep(idle),
            Ok(true) => {}
            Err(e) => {
                tracing::error!(error = %e, "{what} failed; reconnecting");
                conn = None;
                std::thread::sleep(idle * 10);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;
    use rdv_db::testing::TestDatabase;
    use rdv_db::Connection;
    use std::sync::atomic::AtomicUsize;

    fn settings() -> JobSettings {
        JobSettings {
            worker_in_serve: false,
            lease_seconds: 60,
            idle_millis: 10,
            max_attempts: 3,
            search_outbox_keep_hours: 24,
            done_jobs_keep_hours: 24,
            dead_jobs_keep_days: 30,
        }
    }

    #[test]
    fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
        let db = TestDatabase::new();
        let mut conn = db.connect();
        let _ = conn.transaction::<(), AppError, _>(|conn| {
            enqueue(conn, "test.noop", serde_json::json!({}), Utc::now(), 3)?;
            Err(AppError::invalid("the caller changes its mind"))
        });
        let worker = Worker::new(
            "w",
            Registry::default().handle("test.noop", |_: &mut Conn, _: &Job| Ok(())),
            settings(),
        );
        assert_eq!(worker.run_once(&mut conn).unwrap(), Ran::Idle);
    }

    #[test]
    fn failures_are_retried_with_backoff_then_the_job_is_dead_with_its_last_error() {
        let db = TestDatabase::new();
        let mut conn = db.connect();
        let id = enqueue(
            &mut conn,
            "test.fail",
            serde_json::json!({"n": 1}),
            Utc::now(),
            2,
        )
        .unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let worker = Worker::new(
            "w",
            Registry::default().handle("test.fail", move |_: &mut Conn, job: &Job| {
                seen.fetch_add(1, Ordering::SeqCst);
                anyhow::bail!("attempt {} refused", job.attempts)
            }),
            settings(),
        );
        assert_eq!(
            worker.run_once(&mut conn).unwrap(),
            Ran::Failed {
                job: id,
                state: "queued".into()
            }
        );
        let job = jobs::get(&mut conn, id).unwrap();
        assert!(
            job.run_at > Utc::now() + Duration::seconds(5),
            "retried later, not at once"
        );
        assert_eq!(job.last_error.as_deref(), Some("attempt 1 refused"));
        // Not due yet: nothing to claim.
        assert_eq!(worker.run_once(&mut conn).unwrap(), Ran::Idle);
        diesel::sql_query("UPDATE jobs SET run_at = now()")
            .execute(&mut conn)
            .unwrap();
        assert_eq!(
            worker.run_once(&mut conn).unwrap(),
            Ran::Failed {
                job: id,
                state: "dead".into()
            }
        );
        let job = jobs::get(&mut conn, id).unwrap();
        assert_eq!(job.state, "dead");
        assert_eq!(job.last_error.as_deref(), Some("attempt 2 refused"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(worker.run_once(&mut conn).unwrap(), Ran::Idle);
    }

    #[test]
    fn a_dead_workers_job_is_taken_over_after_its_lease_and_buried_after_the_last_attempt() {
        let db = TestDatabase::new();
        let mut conn = db.connect();
        let id = enqueue(&mut conn, "test.slow", serde_json::json!({}), Utc::now(), 2).unwrap();
        // A worker claims it and dies: its lease runs out.
        let claimed = jobs::claim(
            &mut conn,
            "dead-worker",
            &["test.slow"],
            Duration::seconds(60),
        )
        .unwrap()
        .unwrap();
        assert_eq!(claimed.id, id);
        let worker = Worker::new(
            "alive",
            Registry::default().handle("test.slow", |_: &mut Conn, _: &Job| Ok(())),
            settings(),
        );
        assert_eq!(
            worker.run_once(&mut conn).unwrap(),
            Ran::Idle,
            "leased to another"
        );
        diesel::sql_query("UPDATE jobs SET locked_until = now() - interval '1 second'")
            .execute(&mut conn)
            .unwrap();
        assert_eq!(worker.run_once(&mut conn).unwrap(), Ran::Done(id));
        // The first worker comes back: it cannot record anything for a job it lost.
        assert!(!jobs::complete(&mut conn, id, "dead-worker").unwrap());

        // A job whose last allowed attempt dies with its worker ends dead, not claimed forever.
        let id = enqueue(&mut conn, "test.slow", serde_json::json!({}), Utc::now(), 1).unwrap();
        jobs::claim(
            &mut conn,
            "dead-worker",
            &["test.slow"],
            Duration::seconds(60),
        )
        .unwrap()
        .unwrap();
        diesel::sql_query(
            "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE state = 'running'",
        )
        .execute(&mut conn)
        .unwrap();
        worker.housekeeping(&mut conn).unwrap();
        let job = jobs::get(&mut conn, id).unwrap();
        assert_eq!(job.state, "dead");
        assert!(job.last_error.unwrap().contains("lease expired"));
    }

    #[test]
    fn concurrent_workers_never_run_one_job_twice() {
        let db = TestDatabase::new();
        let mut conn = db.connect();
        for i in 0..40 {
            enqueue(
                &mut conn,
                "test.count",
                serde_json::json!({ "i": i }),
                Utc::now(),
                3,
            )
            .unwrap();
        }
        let runs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..4)
            .map(|w| {
                let runs = runs.clone();
                let mut conn = db.connect();
                std::thread::spawn(move || {
                    let worker = Worker::new(
                        format!("w{w}"),
                        Registry::default().handle("test.count", move |_: &mut Conn, job: &Job| {
                            runs.lock().unwrap().push(job.id);
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            Ok(())
                        }),
                        settings(),
                    );
                    while worker.run_once(&mut conn).unwrap() != Ran::Idle {}
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 40);
        runs.sort();
        runs.dedup();
        assert_eq!(runs.len(), 40, "a job ran twice");
    }

    #[test]
    fn a_periodic_job_is_queued_once_and_again_after_it_ran() {
        let db = TestDatabase::new();
        let mut conn = db.connect();
        let worker = Worker::new(
            "w",
            Registry::default()
                .handle("test.tick", |_: &mut Conn, _: &Job| Ok(()))
                .every("test.tick", Duration::hours(1)),
            settings(),
        );
        worker.housekeeping(&mut conn).unwrap();
        worker.housekeeping(&mut conn).unwrap();
        assert!(matches!(worker.run_once(&mut conn).unwrap(), Ran::Done(_)));
        assert_eq!(worker.run_once(&mut conn).unwrap(), Ran::Idle);
        worker.housekeeping(&mut conn).unwrap();
        // The next one waits an hour after the last success.
        assert_eq!(worker.run_once(&mut conn).unwrap(), Ran::Idle);
        let counts = jobs::counts(&mut conn).unwrap();
        assert!(counts.contains(&("queued".to_owned(), 1)), "{counts:?}");
        assert!(counts.contains(&("done".to_owned(), 1)), "{counts:?}");
    }
}
