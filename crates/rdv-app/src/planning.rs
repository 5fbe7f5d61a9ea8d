//! Planning runs: an organizer starts one, a worker claims its job, builds the planner's
//! instance from the database, solves it and stores the draft plan; the organizer edits the
//! draft by hand and publishes it, which makes it the participants' agendas.

use crate::audit::{self, Audit};
use crate::meetings::{self, default_quota};
use crate::{jobs, Actor, AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use diesel::Connection;
use rdv_db::models::{
    AgendaChangeRow, Job, Meeting, NewPlanRun, PlanMeeting, PlanRun, PlanUnscheduled,
};
use rdv_db::queries::meetings as request_rows;
use rdv_db::queries::plans::{self, RunResult};
use rdv_db::queries::{events, jobs as job_rows};
use rdv_db::Conn;
use rdv_domain::{
    AgendaChange, EventId, MeetingRequestId, MeetingStatus, OrganizationId, PlanRunId, PlanStatus,
    RegistrationId, RequestStatus, SlotId, TableId,
};
use rdv_planner::{Instance, Participant, PreviousMeeting, Request, Rules, Slot, SolveOptions};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

/// The job kind of a planning run.
pub const RUN_JOB: &str = "plan.run";
/// The longest time limit a run may ask for, in seconds, and the default.
pub const MAX_SECONDS: i64 = 600;
pub const DEFAULT_SECONDS: i64 = 20;
/// The largest fairness cap (spread of breaks between participants).
pub const MAX_FAIRNESS: i64 = 100;

/// A run's options as the organizer gives them.
#[derive(Debug, Clone, Default)]
pub struct OptionsInput {
    pub time_limit_seconds: Option<i64>,
    pub seed: Option<i64>,
    pub fairness: Option<i64>,
    pub breaks_per_day: Option<bool>,
}

/// A run's options, as stored with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanOptions {
    pub time_limit_seconds: u64,
    pub seed: u64,
    pub fairness: Option<u32>,
    pub breaks_per_day: bool,
}

impl OptionsInput {
    fn check(self) -> AppResult<PlanOptions> {
        let mut c = crate::Check::new();
        let secs = self.time_limit_seconds.unwrap_or(DEFAULT_SECONDS);
        if !(1..=MAX_SECONDS).contains(&secs) {
            c.add(
                "time_limit_seconds",
                format!("must be between 1 and {MAX_SECONDS}"),
            );
        }
        let seed = self.seed.unwrap_or(1);
        if seed < 0 {
            c.add("seed", "must not be negative");
        }
        if self
            .fairness
            .is_some_and(|f| !(0..=MAX_FAIRNESS).contains(&f))
        {
            c.add("fairness", format!("must be between 0 and {MAX_FAIRNESS}"));
        }
        c.finish()?;
        Ok(PlanOptions {
            time_limit_seconds: secs.unsigned_abs(),
            seed: seed.unsigned_abs(),
            fairness: self.fairness.map(|f| f.unsigned_abs() as u32),
            breaks_per_day: self.breaks_per_day.unwrap_or(true),
        })
    }
}

/// A live run whose job ended without ending the run (its worker died on the last attempt,
/// or the job was pruned) is failed: a run is never left running for ever.
fn reconcile(conn: &mut Conn, event: EventId) -> AppResult<()> {
    let Some(run) = plans::live_run(conn, event)? else {
        return Ok(());
    };
    let Some(job) = run.job_id else { return Ok(()) };
    let dead = match job_rows::get(conn, job) {
        Ok(j) => (j.state == "dead" || j.state == "done").then(|| j.last_error.unwrap_or_default()),
        Err(rdv_db::DbError::NotFound) => Some("its job is gone".to_owned()),
        Err(e) => return Err(e.into()),
    };
    if let Some(why) = dead {
        plans::end(
            conn,
            run.id,
            PlanStatus::Failed,
            Some(&format!("the worker running it stopped: {why}")),
        )?;
    }
    Ok(())
}

/// Starts a planning run of the event: queued now, solved by a worker. 409 when a run of the
/// event is queued or running, or when the event has no slot or no table.
pub fn start(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    input: OptionsInput,
) -> AppResult<PlanRun> {
    let org = actor.admin_org()?;
    let options = input.check()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    if events::slots(conn, event)?.is_empty() {
        return Err(AppError::conflict(
            "the event has no meeting slots yet: add its days first",
        ));
    }
    if events::tables(conn, event)?.is_empty() {
        return Err(AppError::conflict(
            "the event has no tables yet: set them first",
        ));
    }
    reconcile(conn, event)?;
    let run = plans::create_run(
        conn,
        &NewPlanRun {
            organization_id: org,
            event_id: event,
            options: serde_json::to_value(&options).map_err(AppError::internal)?,
            requested_by: Some(actor.user),
        },
    )?;
    // One retry after a worker dies mid-run; then the run fails.
    let job = jobs::enqueue(
        conn,
        RUN_JOB,
        serde_json::json!({"run": run.id}),
        Utc::now(),
        2,
    )?;
    plans::set_job(conn, run.id, job)?;
    Ok(plans::get_run(conn, org, run.id)?)
}

/// One run of the actor's organization; a run whose worker died reads as failed.
pub fn get(conn: &mut Conn, actor: &Actor, id: PlanRunId) -> AppResult<PlanRun> {
    let org = actor.organizer_org()?;
    let run = plans::get_run(conn, org, id).map_err(|e| AppError::from_db("plan", e))?;
    if run.status.is_live() {
        reconcile(conn, run.event_id)?;
        return Ok(plans::get_run(conn, org, id)?);
    }
    Ok(run)
}

/// The event's runs, newest first.
pub fn list(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Vec<PlanRun>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    reconcile(conn, event)?;
    Ok(plans::runs_of_event(conn, org, event)?)
}

/// Cancels a run: a queued one at once; a running one ends cancelled, its draft discarded,
/// within about two seconds (the worker sees the request at its next progress report and stops
/// the solver).
pub fn cancel(conn: &mut Conn, actor: &Actor, id: PlanRunId) -> AppResult<PlanRun> {
    let org = actor.admin_org()?;
    let run = plans::get_run(conn, org, id).map_err(|e| AppError::from_db("plan", e))?;
    if !run.status.is_live() {
        return Err(AppError::conflict(format!(
            "the run is {} already",
            run.status
        )));
    }
    Ok(plans::request_cancel(conn, org, id)?)
}

/// The planner's instance built from the database, with the ids behind its indices.
pub struct Built {
    pub instance: Option<Instance>,
    pub requests: Vec<MeetingRequestId>,
    pub slots: Vec<SlotId>,
    pub tables: Vec<TableId>,
    pub calendar_as_of: DateTime<Utc>,
}

/// Builds the instance of the event: its slots (days and sessions), shared tables, the
/// accepted requests between validated participants with their priorities as weights, the
/// participants' quotas, stands and unavailability, and, once a plan is published, that plan
/// (meetings already past are fixed where they are). `instance` is `None` when no request is
/// accepted.
pub fn build(conn: &mut Conn, event: EventId, org: OrganizationId) -> AppResult<Built> {
    let calendar_as_of = plans::calendar_changed_at(conn, event)?;
    let settings = meetings::effective(conn, event, org)?;
    let slot_rows = events::slots(conn, event)?;
    let table_rows = events::tables(conn, event)?;
    let mut days: Vec<rdv_domain::EventDayId> = Vec::new();
    let mut sessions: Vec<(rdv_domain::EventDayId, String)> = Vec::new();
    let slots: Vec<Slot> = slot_rows
        .iter()
        .map(|s| {
            if !days.contains(&s.event_day_id) {
                days.push(s.event_day_id);
            }
            let key = (s.event_day_id, s.session_label.clone());
            if !sessions.contains(&key) {
                sessions.push(key.clone());
            }
            Slot {
                day: days.iter().position(|d| *d == s.event_day_id).unwrap_or(0) as u32,
                session: sessions.iter().position(|k| *k == key).unwrap_or(0) as u32,
                tables: table_rows.len() as u32,
            }
        })
        .collect();
    let slot_index: HashMap<SlotId, usize> = slot_rows
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i))
        .collect();
    let accepted = request_rows::accepted(conn, event)?;
    let mut ids: Vec<RegistrationId> = accepted
        .iter()
        .flat_map(|r| [r.requester_id, r.recipient_id])
        .collect();
    ids.sort();
    ids.dedup();
    // A person under restriction of processing is not planned.
    let restricted = request_rows::restricted_among(conn, &ids)?;
    let parties: Vec<_> = request_rows::parties(conn, org, &ids)?
        .into_iter()
        .filter(|p| p.status == rdv_domain::RegistrationStatus::Validated)
        .filter(|p| !restricted.contains(&p.registration_id))
        .collect();
    let party_index: HashMap<RegistrationId, usize> = parties
        .iter()
        .enumerate()
        .map(|(i, p)| (p.registration_id, i))
        .collect();
    let mut forbidden: Vec<Vec<usize>> = vec![Vec::new(); parties.len()];
    for (r, s) in request_rows::unavailable_in_event(conn, event)? {
        if let (Some(&p), Some(&s)) = (party_index.get(&r), slot_index.get(&s)) {
            forbidden[p].push(s);
        }
    }
    // A participant who comes on some days only is unavailable on the others.
    let mut present: HashMap<usize, HashSet<rdv_domain::EventDayId>> = HashMap::new();
    for (r, d) in request_rows::presence_in_event(conn, event)? {
        if let Some(&p) = party_index.get(&r) {
            present.entry(p).or_default().insert(d);
        }
    }
    for (p, days) in &present {
        for (i, s) in slot_rows.iter().enumerate() {
            if !days.contains(&s.event_day_id) {
                forbidden[*p].push(i);
            }
        }
        forbidden[*p].sort_unstable();
        forbidden[*p].dedup();
    }
    let participants: Vec<Participant> = parties
        .iter()
        .zip(forbidden)
        .map(|(p, forbidden)| Participant {
            name: format!("{} {}", p.first_name, p.last_name),
            own_stand: p.stand.is_some(),
            max_meetings: p
                .meeting_quota
                .map(|q| q.unsigned_abs())
                .or_else(|| default_quota(&settings, p.participant_type)),
            forbidden,
        })
        .collect();
    let published: HashMap<MeetingRequestId, Meeting> = plans::meetings_of_event(conn, event)?
        .into_iter()
        .filter(|m| m.status == MeetingStatus::Scheduled)
        .map(|m| (m.request_id, m))
        .collect();
    let now = Utc::now();
    let mut requests = Vec::new();
    let mut request_ids = Vec::new();
    let mut previous = Vec::new();
    for r in &accepted {
        let (Some(&a), Some(&b)) = (
            party_index.get(&r.requester_id),
            party_index.get(&r.recipient_id),
        ) else {
            continue;
        };
        let before = published
            .get(&r.id)
            .and_then(|m| slot_index.get(&m.slot_id).copied());
        // A meeting already under way or past stays where it is.
        let fixed = before.filter(|&s| slot_rows[s].starts_at <= now);
        if let Some(s) = before {
            previous.push(PreviousMeeting {
                request: requests.len(),
                slot: s,
            });
        }
        requests.push(Request {
            a,
            b,
            weight: r.priority.weight(),
            sessions: None,
            fixed,
            after: Vec::new(),
        });
        request_ids.push(r.id);
    }
    let instance = if requests.is_empty() {
        None
    } else {
        Some(
            Instance::new(participants, slots, requests, previous)
                .map_err(|e| AppError::conflict(format!("the event cannot be planned: {e}")))?,
        )
    };
    Ok(Built {
        instance,
        requests: request_ids,
        slots: slot_rows.iter().map(|s| s.id).collect(),
        tables: table_rows.iter().map(|t| t.id).collect(),
        calendar_as_of,
    })
}

/// What `GET` on a running run shows: the phase, the best plan's meetings, weight and breaks,
/// the weight bound once known and the gap to it.
fn running_progress(p: &rdv_planner::Progress) -> serde_json::Value {
    // As the planner states it at the end: (⌊bound⌋ - weight) / bound.
    let gap = p
        .bound
        .filter(|b| *b > 0.0)
        .map(|b| ((b.floor() - p.weight as f64) / b).max(0.0));
    serde_json::json!({
        "phase": p.phase,
        "elapsed_s": p.elapsed_s,
        "scheduled": p.scheduled,
        "weight": p.weight,
        "breaks": p.breaks,
        "bound": p.bound,
        "gap": gap,
    })
}

/// Runs the planning job `job`: builds, solves with progress about once a second (extending
/// the job's lease), and stores the draft; a run the organizer cancelled meanwhile ends
/// cancelled without a draft. A run taken over from a dead worker starts again.
pub fn run_job(conn: &mut Conn, job: &Job, lease: Duration) -> anyhow::Result<()> {
    let id = job
        .payload
        .get("run")
        .and_then(serde_json::Value::as_i64)
        .map(PlanRunId)
        .ok_or_else(|| anyhow::anyhow!("job payload names no run"))?;
    let run = plans::get_run_any(conn, id)?;
    if !run.status.is_live() {
        return Ok(());
    }
    if run.cancel_requested {
        plans::end(conn, id, PlanStatus::Cancelled, None)?;
        return Ok(());
    }
    let options: PlanOptions = serde_json::from_value(run.options.clone())?;
    let clock = std::time::Instant::now();
    let built = match build(conn, run.event_id, run.organization_id) {
        Ok(b) => b,
        Err(e) if e.is_callers_mistake() => {
            plans::end(conn, id, PlanStatus::Failed, Some(&e.to_string()))?;
            return Ok(());
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    let total = built.requests.len() as i32;
    let build_s = clock.elapsed().as_secs_f64();
    if !plans::start(conn, id, built.calendar_as_of, total)? {
        // Cancelled while the instance was being built.
        cancel_if_live(conn, id)?;
        return Ok(());
    }
    if job.attempts > 1 {
        tracing::warn!(plan.run = %id, "planning run taken over after its worker stopped");
    }
    let Some(inst) = built.instance.as_ref() else {
        let result = RunResult {
            scheduled: 0,
            weight: 0,
            bound: Some(0.0),
            gap: Some(0.0),
            breaks: 0,
            progress: serde_json::json!({"phase": "done", "elapsed_s": 0.0}),
        };
        if !conn.transaction(|c| plans::finish(c, id, &result, &[], &[]))? {
            cancel_if_live(conn, id)?;
        }
        return Ok(());
    };
    let opts = SolveOptions {
        rules: Rules {
            must_schedule_all: false,
            fairness: options.fairness,
            breaks_per_day: options.breaks_per_day,
        },
        seed: options.seed,
        time_limit: std::time::Duration::from_secs(options.time_limit_seconds),
        iteration_limit: None,
        use_mip: true,
    };
    let worker = job.locked_by.clone().unwrap_or_default();
    // Raised when the organizer cancels: the solver stops within about a second.
    let cancelled = AtomicBool::new(false);
    let mut last_report: Option<std::time::Instant> = None;
    let solved = {
        let conn = &mut *conn;
        let cancelled = &cancelled;
        rdv_planner::solve_until(inst, &opts, cancelled, &mut |p: &rdv_planner::Progress| {
            if last_report.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
                return;
            }
            last_report = Some(std::time::Instant::now());
            if let Ok(true) = plans::progress(conn, id, &running_progress(p)) {
                cancelled.store(true, Ordering::Relaxed);
            }
            let _ = job_rows::extend_lease(conn, job.id, &worker, lease);
        })
    };
    let still = plans::get_run_any(conn, id)?;
    if cancelled.load(Ordering::Relaxed) || still.cancel_requested {
        plans::end(conn, id, PlanStatus::Cancelled, None)?;
        return Ok(());
    }
    let sol = match solved {
        Ok(s) => s,
        Err(e) => {
            plans::end(conn, id, PlanStatus::Failed, Some(&e.to_string()))?;
            return Ok(());
        }
    };
    let tables = if sol.plan.table.is_empty() {
        rdv_planner::number_tables(inst, &sol.plan)
    } else {
        sol.plan.table.clone()
    };
    let mut meetings: Vec<PlanMeeting> = sol
        .plan
        .slot
        .iter()
        .enumerate()
        .filter_map(|(r, s)| {
            let s = (*s)?;
            Some(PlanMeeting {
                run_id: id,
                request_id: built.requests[r],
                slot_id: built.slots[s],
                table_id: tables
                    .get(r)
                    .copied()
                    .flatten()
                    .and_then(|t| built.tables.get(t as usize).copied()),
            })
        })
        .collect();
    keep_published_tables(conn, run.event_id, &mut meetings)?;
    let unscheduled: Vec<PlanUnscheduled> = sol
        .unscheduled
        .iter()
        .map(|u| PlanUnscheduled {
            run_id: id,
            request_id: built.requests[u.request],
            reason: serde_json::to_value(u.reason)
                .ok()
                .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "unscheduled".into()),
        })
        .collect();
    let store_clock = std::time::Instant::now();
    let mut result = RunResult {
        scheduled: sol.objectives.scheduled as i32,
        weight: sol.objectives.scheduled_weight as i64,
        bound: sol.bound,
        gap: sol.gap,
        breaks: sol.objectives.breaks as i32,
        progress: serde_json::json!({
            "phase": "done",
            "elapsed_s": sol.seconds,
            "scheduled": sol.objectives.scheduled,
            "weight": sol.objectives.scheduled_weight,
            "breaks": sol.objectives.breaks,
            "bound": sol.bound,
            "gap": sol.gap,
            "build_s": build_s,
        }),
    };
    if !conn.transaction(|c| plans::finish(c, id, &result, &meetings, &unscheduled))? {
        // Cancelled while the draft was being stored.
        cancel_if_live(conn, id)?;
        return Ok(());
    }
    // How long storing took, for the operator (and the benchmark).
    if let Some(p) = result.progress.as_object_mut() {
        p.insert("store_s".into(), store_clock.elapsed().as_secs_f64().into());
    }
    plans::progress(conn, id, &result.progress)?;
    tracing::info!(plan.run = %id, plan.scheduled = result.scheduled, plan.requests = total, "planning run done");
    Ok(())
}

/// Gives each meeting that stays in its published slot its published table when that table is
/// free, and the others the tables left: re-planning then moves nobody to another table
/// without need.
fn keep_published_tables(
    conn: &mut Conn,
    event: EventId,
    meetings: &mut [PlanMeeting],
) -> AppResult<()> {
    let published: HashMap<MeetingRequestId, (SlotId, TableId)> =
        plans::meetings_of_event(conn, event)?
            .into_iter()
            .filter(|m| m.status == MeetingStatus::Scheduled)
            .filter_map(|m| Some((m.request_id, (m.slot_id, m.table_id?))))
            .collect();
    if published.is_empty() {
        return Ok(());
    }
    let mut by_slot: BTreeMap<SlotId, Vec<usize>> = BTreeMap::new();
    for (i, m) in meetings.iter().enumerate() {
        if m.table_id.is_some() {
            by_slot.entry(m.slot_id).or_default().push(i);
        }
    }
    for (slot, idx) in by_slot {
        let mut taken: HashSet<TableId> = HashSet::new();
        let mut keeps = vec![false; idx.len()];
        for (k, &i) in idx.iter().enumerate() {
            if let Some(&(s, t)) = published.get(&meetings[i].request_id) {
                if s == slot && taken.insert(t) {
                    meetings[i].table_id = Some(t);
                    keeps[k] = true;
                }
            }
        }
        let mut pool: Vec<TableId> = idx
            .iter()
            .filter_map(|&i| meetings[i].table_id)
            .filter(|t| !taken.contains(t))
            .collect();
        pool.sort();
        pool.dedup();
        for (k, &i) in idx.iter().enumerate() {
            if keeps[k] {
                continue;
            }
            let own = meetings[i].table_id.filter(|t| !taken.contains(t));
            let t = own.or_else(|| pool.iter().copied().find(|t| !taken.contains(t)));
            if let Some(t) = t {
                taken.insert(t);
                meetings[i].table_id = Some(t);
            }
        }
    }
    Ok(())
}

/// Ends a run whose cancellation was asked, unless it has ended otherwise meanwhile.
fn cancel_if_live(conn: &mut Conn, id: PlanRunId) -> anyhow::Result<()> {
    if plans::get_run_any(conn, id)?.status.is_live() {
        plans::end(conn, id, PlanStatus::Cancelled, None)?;
    }
    Ok(())
}

/// A draft plan with the requests it left out.
pub struct Draft {
    pub run: PlanRun,
    pub meetings: Vec<PlanMeeting>,
    pub unscheduled: Vec<PlanUnscheduled>,
}

pub fn draft(conn: &mut Conn, actor: &Actor, id: PlanRunId) -> AppResult<Draft> {
    let run = get(conn, actor, id)?;
    Ok(Draft {
        meetings: plans::plan_of(conn, id)?,
        unscheduled: plans::unscheduled_of(conn, id)?,
        run,
    })
}

fn editable(conn: &mut Conn, actor: &Actor, id: PlanRunId) -> AppResult<PlanRun> {
    let org = actor.admin_org()?;
    let run = plans::get_run(conn, org, id).map_err(|e| AppError::from_db("plan", e))?;
    if run.status != PlanStatus::Done {
        return Err(AppError::conflict(format!(
            "only a finished run's draft can be edited; this one is {}",
            run.status
        )));
    }
    Ok(run)
}

/// Puts a request's meeting of a draft in `slot` (at `table`, or the first free table), after
/// checking every hard constraint: 409 names the one it would break.
pub fn put_meeting(
    conn: &mut Conn,
    actor: &Actor,
    id: PlanRunId,
    request: MeetingRequestId,
    slot: SlotId,
    table: Option<TableId>,
) -> AppResult<PlanMeeting> {
    let run = editable(conn, actor, id)?;
    let r = request_rows::get(conn, run.organization_id, request)
        .ok()
        .filter(|r| r.event_id == run.event_id)
        .ok_or_else(|| AppError::not_found("meeting request"))?;
    if r.status != RequestStatus::Accepted {
        return Err(AppError::conflict_on(
            "request",
            format!("the request is {}, not accepted", r.status),
        ));
    }
    let slots = events::slots(conn, run.event_id)?;
    let Some(slot_day) = slots.iter().find(|s| s.id == slot).map(|s| s.event_day_id) else {
        return Err(AppError::not_found("slot"));
    };
    let tables = events::tables(conn, run.event_id)?;
    if table.is_some_and(|t| !tables.iter().any(|x| x.id == t)) {
        return Err(AppError::not_found("table"));
    }
    let parties =
        request_rows::parties(conn, run.organization_id, &[r.requester_id, r.recipient_id])?;
    let settings = meetings::effective(conn, run.event_id, run.organization_id)?;
    let plan = plans::plan_of(conn, id)?;
    let others: Vec<&PlanMeeting> = plan.iter().filter(|m| m.request_id != request).collect();
    let other_ids: Vec<MeetingRequestId> = others.iter().map(|m| m.request_id).collect();
    let mut parties_of: HashMap<MeetingRequestId, (RegistrationId, RegistrationId)> =
        HashMap::new();
    for o in rdv_db::queries::meetings::pairs(conn, &other_ids)? {
        parties_of.insert(o.0, (o.1, o.2));
    }
    let stand = parties.iter().any(|p| p.stand.is_some());
    for p in &parties {
        let name = format!("{} {}", p.first_name, p.last_name);
        if request_rows::unavailable(conn, p.registration_id)?.contains(&slot) {
            return Err(AppError::conflict_on(
                "slot_id",
                format!("{name} is unavailable in that slot"),
            ));
        }
        let days = request_rows::presence(conn, p.registration_id)?;
        if !days.is_empty() && !days.contains(&slot_day) {
            return Err(AppError::conflict_on(
                "slot_id",
                format!("{name} is not at the event on that slot's day"),
            ));
        }
        let mine: Vec<&&PlanMeeting> = others
            .iter()
            .filter(|m| {
                parties_of
                    .get(&m.request_id)
                    .is_some_and(|(a, b)| *a == p.registration_id || *b == p.registration_id)
            })
            .collect();
        if let Some(clash) = mine.iter().find(|m| m.slot_id == slot) {
            return Err(AppError::conflict_on(
                "slot_id",
                format!(
                    "{name} has another meeting in that slot (request {})",
                    clash.request_id
                ),
            ));
        }
        let quota = p
            .meeting_quota
            .map(|q| q.unsigned_abs())
            .or_else(|| default_quota(&settings, p.participant_type));
        if quota.is_some_and(|q| mine.len() as u32 >= q) {
            return Err(AppError::conflict_on(
                "request",
                format!("{name} has reached their quota of meetings"),
            ));
        }
    }
    let table = if stand {
        None
    } else {
        let taken: HashSet<TableId> = others
            .iter()
            .filter(|m| m.slot_id == slot)
            .filter_map(|m| m.table_id)
            .collect();
        match table {
            Some(t) if taken.contains(&t) => {
                return Err(AppError::conflict_on(
                    "table_id",
                    "that table is taken in that slot",
                ))
            }
            Some(t) => Some(t),
            None => Some(
                tables
                    .iter()
                    .map(|t| t.id)
                    .find(|t| !taken.contains(t))
                    .ok_or_else(|| {
                        AppError::conflict_on("slot_id", "every table is taken in that slot")
                    })?,
            ),
        }
    };
    let m = PlanMeeting {
        run_id: id,
        request_id: request,
        slot_id: slot,
        table_id: table,
    };
    plans::put_plan_meeting(conn, &m)?;
    Ok(m)
}

/// Takes a request's meeting out of a draft.
pub fn remove_meeting(
    conn: &mut Conn,
    actor: &Actor,
    id: PlanRunId,
    request: MeetingRequestId,
) -> AppResult<()> {
    editable(conn, actor, id)?;
    if !plans::remove_plan_meeting(conn, id, request)? {
        return Err(AppError::not_found("meeting in this plan"));
    }
    Ok(())
}

/// What a publication did.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub version: i32,
    pub added: usize,
    pub moved: usize,
    pub cancelled: usize,
    /// Participants whose agenda changed.
    pub participants: usize,
}

/// One change a draft would make to the published meetings.
#[derive(Debug, Clone)]
pub struct Step {
    pub request: MeetingRequestId,
    pub change: AgendaChange,
    /// The published meeting it changes (none for a new one).
    pub before: Option<Meeting>,
    /// Where the meeting goes (none when it is cancelled).
    pub after: Option<PlanMeeting>,
}

/// The changes from the published meetings `current` to the draft `plan` (whose requests are
/// all still accepted): new meetings, moved ones (another slot or table), and published ones
/// the draft leaves out. Pure.
pub fn steps(plan: &[PlanMeeting], current: &[Meeting]) -> Vec<Step> {
    let by_request: HashMap<MeetingRequestId, &Meeting> =
        current.iter().map(|m| (m.request_id, m)).collect();
    let in_plan: HashSet<MeetingRequestId> = plan.iter().map(|m| m.request_id).collect();
    let mut out = Vec::new();
    for m in plan {
        let before = by_request.get(&m.request_id).copied();
        let change = match before {
            None => AgendaChange::Added,
            Some(b) if b.status == MeetingStatus::Cancelled => AgendaChange::Added,
            Some(b) if b.slot_id != m.slot_id || b.table_id != m.table_id => AgendaChange::Moved,
            Some(_) => continue,
        };
        out.push(Step {
            request: m.request_id,
            change,
            before: before.cloned(),
            after: Some(*m),
        });
    }
    for b in current {
        if b.status == MeetingStatus::Scheduled && !in_plan.contains(&b.request_id) {
            out.push(Step {
                request: b.request_id,
                change: AgendaChange::Cancelled,
                before: Some(b.clone()),
                after: None,
            });
        }
    }
    out
}

/// Request → (requester, recipient).
type Pairs = HashMap<MeetingRequestId, (RegistrationId, RegistrationId)>;

/// A finished run's draft, checked for publication: 409 while a run of the event is queued or
/// running, or when the event's slots or tables changed after the run read them. Answers the
/// run, the draft's meetings whose requests are still accepted, the published meetings and the
/// pairs of every request concerned.
fn publishable(
    conn: &mut Conn,
    org: OrganizationId,
    id: PlanRunId,
) -> AppResult<(PlanRun, Vec<PlanMeeting>, Vec<Meeting>, Pairs)> {
    let run = plans::get_run(conn, org, id).map_err(|e| AppError::from_db("plan", e))?;
    if run.status != PlanStatus::Done {
        return Err(AppError::conflict(format!(
            "only a finished run can be published; this one is {}",
            run.status
        )));
    }
    reconcile(conn, run.event_id)?;
    if plans::live_run(conn, run.event_id)?.is_some() {
        return Err(AppError::conflict(
            "a planning run of this event is queued or running: wait for it or cancel it",
        ));
    }
    let changed_at = plans::calendar_changed_at(conn, run.event_id)?;
    if run.calendar_as_of.is_none_or(|t| t < changed_at) {
        return Err(AppError::conflict(
            "the event's slots or tables changed after this plan was made: plan again",
        ));
    }
    let accepted: HashSet<MeetingRequestId> = request_rows::accepted(conn, run.event_id)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let plan: Vec<PlanMeeting> = plans::plan_of(conn, id)?
        .into_iter()
        .filter(|m| accepted.contains(&m.request_id))
        .collect();
    let current = plans::meetings_of_event(conn, run.event_id)?;
    let ids: Vec<MeetingRequestId> = plan
        .iter()
        .map(|m| m.request_id)
        .chain(current.iter().map(|m| m.request_id))
        .collect();
    let pairs = request_rows::pairs(conn, &ids)?
        .into_iter()
        .map(|(r, a, b)| (r, (a, b)))
        .collect();
    Ok((run, plan, current, pairs))
}

/// A change a publication would make to one participant's agenda.
#[derive(Debug, Clone)]
pub struct PreviewChange {
    pub registration_id: RegistrationId,
    pub request_id: MeetingRequestId,
    pub change: AgendaChange,
    pub old_slot_id: Option<SlotId>,
    pub new_slot_id: Option<SlotId>,
    pub old_table_id: Option<TableId>,
    pub new_table_id: Option<TableId>,
}

fn per_participant(
    steps: &[Step],
    pairs: &HashMap<MeetingRequestId, (RegistrationId, RegistrationId)>,
) -> Vec<PreviewChange> {
    let mut out = Vec::new();
    for s in steps {
        let Some(&(a, b)) = pairs.get(&s.request) else {
            continue;
        };
        for who in [a, b] {
            out.push(PreviewChange {
                registration_id: who,
                request_id: s.request,
                change: s.change,
                old_slot_id: s
                    .before
                    .as_ref()
                    .filter(|m| m.status == MeetingStatus::Scheduled)
                    .map(|m| m.slot_id),
                new_slot_id: s.after.map(|m| m.slot_id),
                old_table_id: s
                    .before
                    .as_ref()
                    .filter(|m| m.status == MeetingStatus::Scheduled)
                    .and_then(|m| m.table_id),
                new_table_id: s.after.and_then(|m| m.table_id),
            });
        }
    }
    out.sort_by_key(|c| (c.registration_id, c.request_id));
    out
}

/// Whose agendas publishing the run would change, and how; nothing is written.
pub fn preview(conn: &mut Conn, actor: &Actor, id: PlanRunId) -> AppResult<Vec<PreviewChange>> {
    let org = actor.admin_org()?;
    let (_, plan, current, pairs) = publishable(conn, org, id)?;
    Ok(per_participant(&steps(&plan, &current), &pairs))
}

/// Publishes a finished run's draft: the participants' agendas become this plan. Meetings keep
/// their id when they move (their sequence rises), meetings left out are cancelled, and each
/// participant whose agenda changed gets the list of what changed, in the same transaction.
/// 409 while a run of the event is queued or running, or when the event's slots or tables
/// changed after the run read them.
pub fn publish(conn: &mut Conn, actor: &Actor, id: PlanRunId) -> AppResult<Published> {
    let org = actor.admin_org()?;
    let (run, plan, current, pairs) = publishable(conn, org, id)?;
    let steps = steps(&plan, &current);
    let version = plans::latest_version(conn, run.event_id)?.map_or(1, |v| v.version + 1);
    let v = plans::insert_version(conn, run.event_id, version, id, Some(actor.user))?;
    let mut meeting_of: HashMap<MeetingRequestId, rdv_domain::MeetingId> = HashMap::new();
    let mut counts = (0, 0, 0);
    for s in &steps {
        let m = match (&s.before, &s.after) {
            (None, Some(after)) => plans::insert_meeting(conn, run.event_id, after, version)?,
            (Some(before), Some(after)) => plans::change_meeting(
                conn,
                before.id,
                after.slot_id,
                after.table_id,
                MeetingStatus::Scheduled,
                version,
            )?,
            (Some(before), None) => plans::change_meeting(
                conn,
                before.id,
                before.slot_id,
                before.table_id,
                MeetingStatus::Cancelled,
                version,
            )?,
            (None, None) => continue,
        };
        meeting_of.insert(s.request, m.id);
        match s.change {
            AgendaChange::Added => counts.0 += 1,
            AgendaChange::Moved => counts.1 += 1,
            AgendaChange::Cancelled => counts.2 += 1,
        }
    }
    let changes: Vec<AgendaChangeRow> = per_participant(&steps, &pairs)
        .into_iter()
        .filter_map(|c| {
            Some(AgendaChangeRow {
                version_id: v.id,
                registration_id: c.registration_id,
                meeting_id: *meeting_of.get(&c.request_id)?,
                change: c.change,
                old_slot_id: c.old_slot_id,
                new_slot_id: c.new_slot_id,
                old_table_id: c.old_table_id,
                new_table_id: c.new_table_id,
            })
        })
        .collect();
    let participants: HashSet<RegistrationId> = changes.iter().map(|c| c.registration_id).collect();
    plans::insert_changes(conn, &changes)?;
    // Every participant whose agenda changed hears of it, with the agenda attached: the
    // first version as "published", later ones as "changed".
    let kind = if version == 1 {
        rdv_notify::Kind::AgendaPublished
    } else {
        rdv_notify::Kind::AgendaChanged
    };
    let ids: Vec<RegistrationId> = participants.iter().copied().collect();
    let parties = request_rows::parties(conn, org, &ids)?;
    let notice = |p: &rdv_db::queries::meetings::Party| crate::notify::Email {
        organization: org,
        event: Some(run.event_id),
        person: p.person_id,
        kind,
        data: serde_json::json!({"registration_id": p.registration_id.0, "version": version}),
        key: format!(
            "{}:{}:{}:{}",
            kind.as_str(),
            run.event_id,
            version,
            p.registration_id
        ),
    };
    // During the event, a change must reach people who are not reading their mail: a later
    // version also goes by SMS to those who have a mobile number and accept SMS.
    if version > 1 {
        let persons: Vec<_> = parties.iter().map(|p| p.person_id).collect();
        let reachable: HashSet<_> =
            rdv_db::queries::persons::reachable_by_sms(conn, org, &persons)?
                .into_iter()
                .collect();
        let texts = parties
            .iter()
            .filter(|p| reachable.contains(&p.person_id))
            .map(notice)
            .collect();
        crate::notify::enqueue_sms(conn, texts)?;
    }
    let emails = parties.iter().map(notice).collect();
    crate::notify::enqueue_emails(conn, emails)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "plan.publish",
            subject_type: "plan_run",
            subject_ids: vec![id.0],
            person_ids: Vec::new(),
            fields: Vec::new(),
        },
    )?;
    Ok(Published {
        version,
        added: counts.0,
        moved: counts.1,
        cancelled: counts.2,
        participants: participants.len(),
    })
}
