//! What the solver tells its caller: the solution with a reason for every unscheduled request
//! and the gap to the bound, progress reports, and why no plan could be produced.

use std::time::Instant;

use serde::Serialize;

use crate::model::{InputError, Instance};
use crate::state::{Prep, State, UNSCHEDULED};
use crate::validate::{uses_table, validate, Objectives, Plan, Rules};

/// Progress report for long runs; the caller decides where it goes.
#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    pub phase: &'static str,
    pub elapsed_s: f64,
    /// Penalised cost of the best schedule (lower is better).
    pub cost: i64,
    /// The best schedule's meetings, their total weight and its breaks.
    pub scheduled: usize,
    pub weight: u64,
    pub breaks: u64,
    /// In "must" mode, the best lower bound on breaks proven so far; otherwise the upper bound
    /// on the scheduled weight, once it is known.
    pub bound: Option<f64>,
}

/// Why a request is not in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Reason {
    /// The two participants share no allowed slot.
    NoCommonFreeSlot,
    /// This participant's quota is used up.
    QuotaReached { participant: usize },
    /// Common free slots exist but their shared tables are all taken.
    TableShortage,
    /// Every common allowed slot is taken by another meeting of one of them (or an order).
    ParticipantsBusy,
}

#[derive(Clone, Debug, Serialize)]
pub struct Unscheduled {
    pub request: usize,
    #[serde(flatten)]
    pub reason: Reason,
}

/// Whether the bound proves the plan optimal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Optimal,
    Feasible,
}

/// The solver's answer.
#[derive(Clone, Debug, Serialize)]
pub struct Solution {
    pub plan: Plan,
    pub unscheduled: Vec<Unscheduled>,
    pub objectives: Objectives,
    /// In "must" mode a lower bound on breaks; otherwise an upper bound on scheduled weight.
    pub bound: Option<f64>,
    /// Relative distance between the plan and the bound; 0 certifies optimality.
    pub gap: Option<f64>,
    pub status: Status,
    pub seconds: f64,
    pub seed: u64,
    pub iterations: u64,
}

/// Why no plan could be produced.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SolveError {
    #[error("invalid instance: {0}")]
    Input(#[from] InputError),
    #[error("infeasible: {0}")]
    Infeasible(String),
    #[error("no complete schedule found within the limits ({unscheduled} requests left)")]
    NotFound { unscheduled: usize },
}

/// Rejects "must" instances that no plan can satisfy, naming the culprit.
pub(crate) fn check_must_feasible(inst: &Instance, p: &Prep) -> Result<(), SolveError> {
    let none: Vec<usize> = (0..p.nr).filter(|&r| p.allowed[r] == 0).collect();
    if !none.is_empty() {
        return Err(SolveError::Infeasible(format!(
            "requests {} have no common allowed slot",
            list(&none)
        )));
    }
    for q in 0..p.np {
        let reqs = &p.by_part[q];
        let free = reqs
            .iter()
            .fold(0, |m, &r| m | p.allowed[r as usize])
            .count_ones() as usize;
        let cap = free.min(p.quota[q] as usize);
        if reqs.len() > cap {
            return Err(SolveError::Infeasible(format!(
                "participant {q} ({}) has {} requests but room for {cap}",
                inst.participants[q].name,
                reqs.len()
            )));
        }
    }
    let table_reqs = p.table.iter().filter(|&&t| t).count();
    let tables: u32 = p.tables.iter().sum();
    if table_reqs > tables as usize {
        return Err(SolveError::Infeasible(format!(
            "{table_reqs} requests need a shared table but the event has {tables} table-slots"
        )));
    }
    Ok(())
}

fn list(xs: &[usize]) -> String {
    let mut s: Vec<String> = xs.iter().take(10).map(ToString::to_string).collect();
    if xs.len() > 10 {
        s.push(format!("and {} more", xs.len() - 10));
    }
    s.join(", ")
}

/// Builds the answer from the best state: tables numbered, objectives recomputed by the
/// validator, a reason for every unscheduled request, and the gap to the bound.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    inst: &Instance,
    p: &Prep,
    s: &State,
    rules: Rules,
    bound: Option<f64>,
    start: Instant,
    seed: u64,
    iterations: u64,
) -> Result<Solution, SolveError> {
    let mut plan = s.to_plan();
    if rules.must_schedule_all && s.scheduled < p.nr {
        return Err(SolveError::NotFound {
            unscheduled: p.nr - s.scheduled,
        });
    }
    plan.table = number_tables(inst, &plan);
    let val = validate(inst, &plan, &rules);
    let objectives = val.objectives;
    let unscheduled = (0..p.nr)
        .filter(|&r| s.slot[r] == UNSCHEDULED)
        .map(|r| Unscheduled {
            request: r,
            reason: reason(p, s, r),
        })
        .collect();
    let (gap, status) = match bound {
        Some(b) if rules.must_schedule_all => {
            let v = objectives.breaks as f64;
            let gap = if v <= 0.0 {
                0.0
            } else {
                ((v - b.ceil()) / v).max(0.0)
            };
            (
                Some(gap),
                if gap == 0.0 {
                    Status::Optimal
                } else {
                    Status::Feasible
                },
            )
        }
        Some(b) => {
            let v = objectives.scheduled_weight as f64;
            let gap = if b <= 0.0 {
                0.0
            } else {
                ((b.floor() - v) / b).max(0.0)
            };
            (Some(gap), Status::Feasible)
        }
        None if rules.must_schedule_all && objectives.breaks == 0 => (Some(0.0), Status::Optimal),
        None => (None, Status::Feasible),
    };
    let bound = match bound {
        None if rules.must_schedule_all && objectives.breaks == 0 => Some(0.0),
        b => b,
    };
    Ok(Solution {
        plan,
        unscheduled,
        objectives,
        bound,
        gap,
        status,
        seconds: start.elapsed().as_secs_f64(),
        seed,
        iterations,
    })
}

fn reason(p: &Prep, s: &State, r: usize) -> Reason {
    let (a, b) = (p.a[r] as usize, p.b[r] as usize);
    if p.allowed[r] == 0 {
        return Reason::NoCommonFreeSlot;
    }
    for x in [a, b] {
        if s.count[x] >= p.quota[x] {
            return Reason::QuotaReached { participant: x };
        }
    }
    let free = p.allowed[r] & !(s.busy[a] | s.busy[b]);
    if free != 0
        && p.table[r]
        && (0..p.ns).all(|t| free & (1 << t) == 0 || s.used[t] >= p.tables[t])
    {
        return Reason::TableShortage;
    }
    Reason::ParticipantsBusy
}

/// Numbers shared tables slot by slot, keeping each participant at the table of their previous
/// meeting when it is free, so that people change tables as rarely as possible.
pub fn number_tables(inst: &Instance, plan: &Plan) -> Vec<Option<u32>> {
    let ns = inst.slots.len();
    let mut by_slot: Vec<Vec<usize>> = vec![Vec::new(); ns];
    for (r, s) in plan.slot.iter().enumerate() {
        if let Some(s) = *s {
            if uses_table(inst, r) {
                by_slot[s].push(r);
            }
        }
    }
    let mut table = vec![None; inst.requests.len()];
    let mut last: Vec<Option<(u32, u32)>> = vec![None; inst.participants.len()];
    for (s, reqs) in by_slot.iter().enumerate() {
        let n = inst.slots[s].tables;
        let mut taken = vec![false; n as usize];
        let mut rest = Vec::new();
        for &r in reqs {
            let q = &inst.requests[r];
            let day = inst.slots[s].day;
            let want = [q.a, q.b]
                .iter()
                .filter_map(|&x| last[x].filter(|&(d, _)| d == day).map(|(_, t)| t))
                .find(|&t| t < n && !taken[t as usize]);
            match want {
                Some(t) => {
                    taken[t as usize] = true;
                    table[r] = Some(t);
                }
                None => rest.push(r),
            }
        }
        let mut free = (0..n).filter(|&t| !taken[t as usize]);
        for r in rest {
            table[r] = free.next();
        }
        for &r in reqs {
            if let Some(t) = table[r] {
                let q = &inst.requests[r];
                last[q.a] = Some((inst.slots[s].day, t));
                last[q.b] = Some((inst.slots[s].day, t));
            }
        }
    }
    table
}
