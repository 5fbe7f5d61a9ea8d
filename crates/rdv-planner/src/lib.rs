//! rdv-planner decides who meets whom, when and at which table, for B2B meeting events.
//!
//! Pure library: parsers take `&str`, the solver takes an [`Instance`] and returns a
//! [`Solution`] that the independent [`validate`] function can check. No I/O.

// Index loops over parallel arrays (requests, participants, slots) read better than zips.
#![allow(clippy::needless_range_loop)]

mod bound;
mod dzn;
mod model;
mod search;
mod state;
pub mod synth;
mod validate;

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use dzn::parse_dzn;
pub use model::{InputError, Instance, Participant, PreviousMeeting, Request, Slot, MAX_SLOTS};
pub use validate::{uses_table, validate, Objectives, Plan, Rules, Validation};

use search::{AnnealParams, CostModel};
use state::{Prep, State, UNSCHEDULED};

/// How to solve.
#[derive(Clone, Debug)]
pub struct SolveOptions {
    pub rules: Rules,
    pub seed: u64,
    pub time_limit: Duration,
    /// Local-search iterations; with a seed, the result is then reproducible.
    pub iteration_limit: Option<u64>,
    /// Use HiGHS for the bound (and for the exact repair of small instances).
    pub use_mip: bool,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            rules: Rules {
                must_schedule_all: false,
                fairness: None,
                breaks_per_day: true,
            },
            seed: 1,
            time_limit: Duration::from_secs(30),
            iteration_limit: None,
            use_mip: true,
        }
    }
}

/// Progress report for long runs; the caller decides where it goes.
#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    pub phase: &'static str,
    pub elapsed_s: f64,
    /// Penalised cost of the best schedule (lower is better).
    pub cost: i64,
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
    #[error("infeasible: {0}")]
    Infeasible(String),
    #[error("no complete schedule found within the limits ({unscheduled} requests left)")]
    NotFound { unscheduled: usize },
}

/// Solves `inst`. Progress goes to `observer` about once a second.
pub fn solve(
    inst: &Instance,
    opts: &SolveOptions,
    observer: &mut dyn FnMut(&Progress),
) -> Result<Solution, SolveError> {
    let start = Instant::now();
    let deadline = start + opts.time_limit;
    let rules = opts.rules;
    let p = Prep::new(inst, rules.breaks_per_day);
    if rules.must_schedule_all {
        check_must_feasible(inst, &p)?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let prev = previous_slots(inst);
    let mut s = State::new(&p);
    // Published meetings first, where they still fit.
    for pm in &inst.previous {
        if s.slot[pm.request] == UNSCHEDULED && s.can_place(&p, pm.request, pm.slot) {
            s.place(&p, pm.request, pm.slot);
        }
    }
    let order = construction_order(&p, rules.must_schedule_all, &mut rng);
    search::construct(&p, &mut s, &order, &mut rng);
    let total_weight: u64 = p.weight.iter().sum();
    let cm = CostModel {
        unscheduled: if rules.must_schedule_all { 50 } else { 1000 },
        brk: 1,
        fairness: if rules.must_schedule_all { 20 } else { 2000 },
        cap: rules.fairness,
        moved: if inst.previous.is_empty() { 0 } else { 100 },
    };
    let big = p.nr > 3000;
    let mut iterations = 0;
    let mut bound: Option<f64> = None;
    let mut report = |phase: &'static str, c: i64, bound: Option<f64>| {
        observer(&Progress {
            phase,
            elapsed_s: start.elapsed().as_secs_f64(),
            cost: c,
            bound,
        });
    };
    let budget = opts.iteration_limit.unwrap_or(u64::MAX);
    let secs = opts.time_limit.as_secs_f64();
    let mut params = AnnealParams {
        iterations: if rules.must_schedule_all && opts.use_mip {
            budget / 2
        } else {
            budget
        },
        deadline: Some(if rules.must_schedule_all && opts.use_mip {
            start + Duration::from_secs_f64(secs * 0.5)
        } else {
            deadline
        }),
        target: if rules.must_schedule_all { 0 } else { i64::MIN },
        t_start: 1.0,
        t_end: 0.05,
        cycle: if big { 2_000_000 } else { 4_000_000 },
        column_swaps: !big,
    };
    let out = search::anneal(&p, s, &cm, &prev, &params, &mut rng, &mut |_, c| {
        report("anneal", c, None)
    });
    iterations += out.iterations;
    let mut best = out.best;
    let mut best_cost = out.best_cost;
    if best_cost == i64::MAX {
        // No fair state was met: fall back to the (possibly unfair) start, repaired below.
        best_cost = search::cost(&p, &best, &cm, total_weight, &prev);
    }
    if rules.must_schedule_all && opts.use_mip && best_cost > 0 {
        // Lower bound (and perhaps a better schedule) from the time-indexed MIP, warm-started.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
        let inc = (best.scheduled == p.nr).then(|| best.slot.clone());
        let res = bound::breaks_mip(&p, &p.allowed, rules.fairness, left * 0.4, inc.as_deref());
        bound = res.bound.map(|b| (b - 1e-6).ceil().max(0.0));
        if let Some(slots) = res.slots {
            if let Some(cand) = state_from_slots(&p, &slots) {
                let c = search::cost(&p, &cand, &cm, total_weight, &prev);
                if c < best_cost {
                    best = cand;
                    best_cost = c;
                }
            }
        }
        report("bound", best_cost, bound);
        let target = bound.map_or(0, |b| b as i64);
        // Large-neighbourhood search: free a window of slots or the meetings of a few
        // participants, keep the rest fixed, and let HiGHS re-optimise exactly.
        let mut round = 0u64;
        // Neighbourhood size grows while sub-problems are solved to optimality without gain,
        // and shrinks when they time out.
        let mut size = 4usize;
        let lns_end = Instant::now() + Duration::from_secs_f64(secs * 0.1);
        while best_cost > target && Instant::now() + Duration::from_millis(200) < lns_end {
            round += 1;
            let allowed = neighbourhood(&p, &best, round, size, &mut rng);
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_secs_f64();
            let res = bound::breaks_mip(
                &p,
                &allowed,
                rules.fairness,
                left.min(1.5),
                Some(&best.slot),
            );
            tracing::debug!(lns.round = round, lns.size = size, lns.objective = ?res.objective, lns.optimal = res.optimal);
            if res.optimal {
                size = (size + 1).min(p.np);
            } else {
                size = (size * 3 / 4).max(2);
            }
            if let Some(slots) = res.slots {
                if let Some(cand) = state_from_slots(&p, &slots) {
                    let c = search::cost(&p, &cand, &cm, total_weight, &prev);
                    if c <= best_cost && cand.spread() <= rules.fairness.unwrap_or(u32::MAX) {
                        if c < best_cost {
                            report("lns", c, bound);
                        }
                        best = cand;
                        best_cost = c;
                    }
                }
            }
        }
        // The rest of the time goes back to annealing, stopping at the bound.
        params.target = target;
        params.iterations = budget.saturating_sub(iterations);
        params.deadline = Some(deadline);
        if best_cost > params.target {
            let out = search::anneal(
                &p,
                best.clone(),
                &cm,
                &prev,
                &params,
                &mut rng,
                &mut |_, c| report("anneal", c, bound),
            );
            iterations += out.iterations;
            if out.best_cost < best_cost {
                best = out.best;
            }
        }
    }
    if !rules.must_schedule_all && opts.use_mip {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            .max(1.0);
        bound = bound::weight_model(&p, bound::WeightModel::Aggregated, left).bound;
    }
    if let Some(d) = rules.fairness {
        if !rules.must_schedule_all {
            enforce_fairness(&p, &mut best, d);
        }
        if best.spread() > d {
            return Err(SolveError::NotFound {
                unscheduled: p.nr - best.scheduled,
            });
        }
    }
    finish(inst, &p, &best, rules, bound, start, opts.seed, iterations)
}

/// Drops meetings of the participants with most breaks until the spread is within `d`; the
/// empty plan is fair, so this ends.
fn enforce_fairness(p: &Prep, s: &mut State, d: u32) {
    while s.spread() > d {
        let Some(x) = (0..p.np).max_by_key(|&x| s.breaks[x]) else {
            return;
        };
        let mut best: Option<(u32, usize)> = None;
        let mut m = s.busy[x];
        while m != 0 {
            let t = m.trailing_zeros() as usize;
            m &= m - 1;
            let after = p.breaks_of(s.busy[x] & !(1u64 << t));
            if best.is_none_or(|(b, _)| after < b) {
                best = Some((after, t));
            }
        }
        let Some((_, t)) = best else { return };
        let r = s.occ[x * p.ns + t] as usize;
        s.unplace(p, r);
    }
}

/// Allowed slots for one LNS round: requests outside the neighbourhood keep their slot.
fn neighbourhood(p: &Prep, s: &State, round: u64, size: usize, rng: &mut ChaCha8Rng) -> Vec<u64> {
    use rand::Rng;
    let mut allowed: Vec<u64> = (0..p.nr)
        .map(|r| {
            if s.slot[r] == UNSCHEDULED {
                p.allowed[r]
            } else {
                1u64 << s.slot[r]
            }
        })
        .collect();
    if round.is_multiple_of(2) {
        // A window of consecutive slots: its meetings may permute within it.
        let w = (size / 2).clamp(2, p.ns);
        let t0 = rng.gen_range(0..=p.ns - w.min(p.ns));
        let win = (state::full_mask(w) << t0) & state::full_mask(p.ns);
        for r in 0..p.nr {
            if allowed[r] & win != 0 {
                allowed[r] = p.allowed[r] & win;
            }
        }
    } else {
        // Participants with breaks and some of their partners: all their meetings are free.
        let mut chosen = Vec::new();
        for _ in 0..200 {
            let x = rng.gen_range(0..p.np);
            if s.breaks[x] > 0 || rng.gen_bool(0.1) {
                chosen.push(x);
            }
            if chosen.len() >= size {
                break;
            }
        }
        for &x in &chosen {
            for &r in &p.by_part[x] {
                allowed[r as usize] = p.allowed[r as usize];
            }
        }
    }
    allowed
}

/// A state holding exactly these slots, if they satisfy the hard constraints.
fn state_from_slots(p: &Prep, slots: &[u8]) -> Option<State> {
    let mut s = State::new(p);
    let mut order: Vec<usize> = (0..p.nr).collect();
    order.sort_by_key(|&r| slots[r]);
    for r in order {
        let t = slots[r];
        if t != UNSCHEDULED {
            if !s.can_place(p, r, t as usize) {
                return None;
            }
            s.place(p, r, t as usize);
        }
    }
    Some(s)
}

#[allow(clippy::too_many_arguments)]
fn finish(
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

fn previous_slots(inst: &Instance) -> Vec<u8> {
    let mut prev = vec![UNSCHEDULED; inst.requests.len()];
    for pm in &inst.previous {
        prev[pm.request] = pm.slot as u8;
    }
    prev
}

/// Hardest first: fixed meetings, then heavy ones (weighted mode), then those with the fewest
/// slots and the busiest participants.
fn construction_order(p: &Prep, must: bool, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.nr).collect();
    order.shuffle(rng);
    let load: Vec<usize> = p.by_part.iter().map(Vec::len).collect();
    order.sort_by_key(|&r| {
        let fixed = p.allowed[r].count_ones() <= 1;
        let w = if must { 0 } else { u64::MAX - p.weight[r] };
        let busy = load[p.a[r] as usize] + load[p.b[r] as usize];
        (!fixed, w, p.allowed[r].count_ones(), usize::MAX - busy)
    });
    order
}

fn check_must_feasible(inst: &Instance, p: &Prep) -> Result<(), SolveError> {
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
            .fold(0u64, |m, &r| m | p.allowed[r as usize])
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

/// An upper bound on the scheduled weight: the smaller of the aggregated LP (no time index)
/// and the time-indexed LP relaxation when HiGHS solves it within `time_limit` seconds.
pub fn weight_upper_bound(inst: &Instance, rules: &Rules, time_limit: f64) -> Option<f64> {
    let p = Prep::new(inst, rules.breaks_per_day);
    let start = Instant::now();
    let agg = bound::weight_model(&p, bound::WeightModel::Aggregated, time_limit).bound;
    let left = time_limit - start.elapsed().as_secs_f64();
    let ti = if left > 1.0 {
        bound::weight_model(&p, bound::WeightModel::TimeIndexedLp, left).bound
    } else {
        None
    };
    match (agg, ti) {
        (Some(a), Some(t)) => Some(a.min(t)),
        (a, t) => a.or(t),
    }
}

/// The "quick schedule" baseline: requests in input order, each in its first free slot.
pub fn greedy_first_free(inst: &Instance) -> Plan {
    let p = Prep::new(inst, true);
    let mut s = State::new(&p);
    let order: Vec<usize> = (0..p.nr).collect();
    search::first_free(&p, &mut s, &order);
    s.to_plan()
}

/// The plain time-indexed MIP (maximise scheduled weight) in HiGHS under a time limit: the
/// baseline the local search is measured against. `None` when HiGHS found no solution.
pub fn plain_time_indexed_mip(inst: &Instance, time_limit: f64) -> Option<Plan> {
    let p = Prep::new(inst, true);
    let res = bound::weight_model(&p, bound::WeightModel::TimeIndexedMip, time_limit);
    let slots = res.slots?;
    let s = state_from_slots(&p, &slots)?;
    Some(s.to_plan())
}
