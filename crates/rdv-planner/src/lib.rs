//! rdv-planner decides who meets whom, when and at which table, for B2B meeting events.
//!
//! Pure library: parsers take `&str`, the solver takes an [`Instance`] and returns a
//! [`Solution`] that the independent [`validate`] function can check. No I/O.

// Index loops over parallel arrays (requests, participants, slots) read better than zips.
#![allow(clippy::needless_range_loop)]

mod bound;
mod dzn;
mod model;
mod sat;
mod search;
mod state;
pub mod synth;
mod validate;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use dzn::parse_dzn;
pub use model::{InputError, Instance, Participant, PreviousMeeting, Request, Slot, MAX_SLOTS};
pub use validate::{uses_table, validate, Objectives, Plan, Rules, Validation};

use search::{AnnealParams, CostModel};
use state::{state_from_slots, Prep, State, UNSCHEDULED};

/// How to solve.
#[derive(Clone, Debug)]
pub struct SolveOptions {
    pub rules: Rules,
    pub seed: u64,
    pub time_limit: Duration,
    /// Local-search iterations; with a seed, the result is then reproducible.
    pub iteration_limit: Option<u64>,
    /// Use the exact solvers: HiGHS for bounds, and in "must" mode CaDiCaL for fewer breaks
    /// and optimality proofs.
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
    #[error("invalid instance: {0}")]
    Input(#[from] InputError),
    #[error("infeasible: {0}")]
    Infeasible(String),
    #[error("no complete schedule found within the limits ({unscheduled} requests left)")]
    NotFound { unscheduled: usize },
}

/// Solves `inst`. Progress goes to `observer` about once a second.
///
/// Two workers share the machine's two cores. Both anneal from their own greedy start; in
/// "must" mode with `use_mip` both then search with CaDiCaL, the first improving plans, the
/// second proving lower bounds from the bottom up (HiGHS gives the bound instead when the
/// instance is too large to encode). They share their best plans and bounds unless an
/// iteration limit asks for reproducibility, and stop at the bound; the better plan wins.
pub fn solve(
    inst: &Instance,
    opts: &SolveOptions,
    observer: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Solution, SolveError> {
    let start = Instant::now();
    let deadline = start + opts.time_limit;
    let rules = opts.rules;
    // Fields are public, so an instance may not have gone through `Instance::new`.
    inst.check()?;
    let p = Prep::new(inst, rules.breaks_per_day);
    if rules.must_schedule_all {
        check_must_feasible(inst, &p)?;
    }
    let prev = previous_slots(inst);
    let total_weight: u64 = p.weight.iter().sum();
    // Breaks weigh more than idle slots: idle slots inside a span are the gradient that leads
    // blocks of meetings to slide until a break closes.
    let scale = 8;
    let cm = CostModel {
        unscheduled: if rules.must_schedule_all {
            50 * scale
        } else {
            1000 * scale
        },
        brk: scale,
        idle: 1,
        fairness: if rules.must_schedule_all {
            20 * scale
        } else {
            2000 * scale
        },
        cap: rules.fairness,
        moved: if inst.previous.is_empty() {
            0
        } else {
            100 * scale
        },
    };
    let big = p.nr > 3000;
    let budget = opts.iteration_limit.unwrap_or(u64::MAX);
    let secs = opts.time_limit.as_secs_f64();
    let must_mip = rules.must_schedule_all && opts.use_mip;
    // Shared between workers: the target cost (bound) and the bound itself.
    let target = AtomicI64::new(if rules.must_schedule_all { 0 } else { i64::MIN });
    let bound_cell: Mutex<Option<f64>> = Mutex::new(None);
    // Raised when a worker reaches the bound: the other stops.
    let done = AtomicBool::new(false);
    let finish_all = || {
        target.store(i64::MAX, Ordering::Relaxed);
        done.store(true, Ordering::Relaxed);
    };
    // Sharing plans between workers makes the result depend on timing: not when an iteration
    // limit asks for reproducibility.
    let exchange = search::Exchange::new();
    let share = (opts.use_mip && opts.iteration_limit.is_none()).then_some(&exchange);
    let observer = Mutex::new(observer);
    let report = |phase: &'static str, c: i64| {
        let bound = bound_cell.lock().ok().and_then(|g| *g);
        if let Ok(mut o) = observer.lock() {
            o(&Progress {
                phase,
                elapsed_s: start.elapsed().as_secs_f64(),
                cost: c,
                bound,
            });
        }
    };
    let worker = |seed: u64, with_bound: bool| -> (State, i64, u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = State::new(&p);
        // Published meetings first, where they still fit.
        for pm in &inst.previous {
            if s.slot[pm.request] == UNSCHEDULED && s.can_place(&p, pm.request, pm.slot) {
                s.place(&p, pm.request, pm.slot);
            }
        }
        let order = construction_order(&p, rules.must_schedule_all, &mut rng);
        search::construct(&p, &mut s, &order, &mut rng);
        let mut iterations = 0;
        // In "must" mode with exact methods, both workers anneal first (most events have a
        // zero-break plan, which needs nothing more), then search with CaDiCaL: the second
        // worker early, proving lower bounds from the bottom up (or, when the instance is too
        // large to encode, with HiGHS); the first later, improving plans from the top.
        // The SAT encoding knows breaks, not moves: re-planning keeps to annealing.
        let exact = must_mip && share.is_some() && inst.previous.is_empty();
        // The second worker anneals only long enough for a complete plan to start from (and
        // to finish events that have a zero-break plan in easy reach).
        let anneal_end = if with_bound { 0.03 } else { 0.3 };
        if exact {
            let params = AnnealParams {
                iterations: budget / 4,
                deadline: Some(start + Duration::from_secs_f64(secs * anneal_end)),
                target: &target,
                t_start: 3.0,
                t_end: 0.1,
                cycle: 2_000_000,
                column_swaps: !big,
                exchange: share,
            };
            let out = search::anneal(&p, s, &cm, &prev, &params, &mut rng, &mut |_, c| {
                report("anneal", c)
            });
            iterations += out.iterations;
            s = out.best;
            if out.best_cost <= target.load(Ordering::Relaxed) {
                finish_all();
            }
        }
        let mut encoded = false;
        if exact && !done.load(Ordering::Relaxed) {
            // Exact search with CaDiCaL: better plans, and possibly the proof of optimality.
            let mut fetch = |ub: u32| {
                share
                    .and_then(|x| x.better_than(&p, i64::from(ub) * scale))
                    .map(|(_, st)| st)
                    .filter(|st| (st.total_breaks as u32) < ub)
            };
            let mut on_better = |st: &State| {
                let c = search::true_cost(&p, st, &cm, total_weight, &prev);
                if let Some(x) = share {
                    x.offer(c, st);
                }
                report("sat", c);
            };
            let lower = || {
                bound_cell
                    .lock()
                    .ok()
                    .and_then(|g| *g)
                    .map_or(0, |b| b as u32)
            };
            let mut on_lower = |lb: u32| {
                if let Ok(mut g) = bound_cell.lock() {
                    *g = Some(g.map_or(f64::from(lb), |old| old.max(f64::from(lb))));
                }
                target.fetch_max(i64::from(lb) * scale, Ordering::Relaxed);
            };
            let mode = if with_bound {
                SatMode::Prove
            } else {
                SatMode::Improve
            };
            let out = sat_search(
                &p,
                rules,
                s,
                deadline,
                &done,
                &mut rng,
                mode,
                &mut SatLink {
                    fetch: &mut fetch,
                    on_better: &mut on_better,
                    lower: &lower,
                    on_lower: &mut on_lower,
                },
            );
            iterations += out.rounds;
            encoded = out.encoded;
            s = out.best;
            if s.scheduled == p.nr && s.total_breaks <= i64::from(lower()) {
                finish_all();
            }
        }
        if with_bound && !encoded && !done.load(Ordering::Relaxed) {
            // Lower bound from the time-indexed MIP, warm-started with the current plan.
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_secs_f64();
            let inc = (s.scheduled == p.nr).then(|| s.slot.clone());
            let res = bound::breaks_mip(
                &p,
                rules.fairness,
                (left - secs * 0.05).max(0.1),
                inc.as_deref(),
            );
            let b = res.bound.map(|b| (b - 1e-6).ceil().max(0.0) + 0.0);
            if let Some(b) = b {
                if let Ok(mut g) = bound_cell.lock() {
                    *g = Some(g.map_or(b, |old| old.max(b)));
                }
                target.fetch_max(b as i64 * scale, Ordering::Relaxed);
            }
            if let Some(cand) = res.slots.and_then(|sl| state_from_slots(&p, &sl)) {
                let c = search::true_cost(&p, &cand, &cm, total_weight, &prev);
                if c < search::true_cost(&p, &s, &cm, total_weight, &prev) && fair_ok(&cand, rules)
                {
                    s = cand;
                }
            }
            report("bound", search::true_cost(&p, &s, &cm, total_weight, &prev));
        }
        let params = AnnealParams {
            iterations: budget,
            deadline: Some(deadline),
            target: &target,
            t_start: 3.0,
            t_end: 0.1,
            cycle: if big { 2_000_000 } else { 8_000_000 },
            column_swaps: !big,
            exchange: share,
        };
        let out = search::anneal(&p, s, &cm, &prev, &params, &mut rng, &mut |_, c| {
            report("anneal", c)
        });
        if out.best_cost <= target.load(Ordering::Relaxed) {
            // At the bound: nothing left for the other worker to find.
            finish_all();
        }
        let mut best = out.best;
        let mut cost = out.best_cost;
        if cost == i64::MAX {
            // No fair state was met: keep the (possibly unfair) start, repaired below.
            cost = search::true_cost(&p, &best, &cm, total_weight, &prev);
        }
        if !fair_ok(&best, rules) {
            cost = i64::MAX;
            best = best.clone();
        }
        (best, cost, iterations + out.iterations)
    };
    let two = !big || must_mip;
    let (a, b) = std::thread::scope(|scope| {
        let second = two.then(|| scope.spawn(|| worker(opts.seed.wrapping_add(1), must_mip)));
        let first = worker(opts.seed, false);
        (first, second.and_then(|h| h.join().ok()))
    });
    let mut iterations = a.2;
    let mut best = a.0;
    if let Some((s2, c2, it2)) = b {
        iterations += it2;
        if c2 < a.1 {
            best = s2;
        }
    }
    let mut bound = bound_cell.into_inner().ok().flatten();
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

fn fair_ok(s: &State, rules: Rules) -> bool {
    rules.fairness.is_none_or(|d| s.spread() <= d)
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

/// What the SAT search ended with.
pub(crate) struct SatOutcome {
    pub best: State,
    /// Whether the instance was encoded (small enough; a complete start plan when improving;
    /// not already at the proven bound).
    pub encoded: bool,
    pub rounds: u64,
}

/// How a worker uses the SAT solver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SatMode {
    /// From the top: large-neighbourhood rounds and whole-problem attempts, each asking for
    /// fewer breaks than the best plan has.
    Improve,
    /// From the bottom: "at most lb breaks?" on the whole problem, where lb is the best proven
    /// lower bound; every refutation raises lb, a schedule is optimal.
    Prove,
}

/// What a SAT search shares with the other workers.
pub(crate) struct SatLink<'a> {
    /// A plan with fewer breaks than the argument found elsewhere, if any.
    pub fetch: &'a mut dyn FnMut(u32) -> Option<State>,
    /// Called with every better plan this search finds.
    pub on_better: &'a mut dyn FnMut(&State),
    /// The best lower bound proven so far, by any worker.
    pub lower: &'a dyn Fn() -> u32,
    /// Called with every lower bound this search proves.
    pub on_lower: &'a mut dyn FnMut(u32),
}

/// Break minimisation with CaDiCaL ("must" mode). `Improve`: large-neighbourhood rounds (all
/// meetings of a few participants, or of a window of slots, free; the rest held by
/// assumptions; strictly fewer breaks asked) interleaved with short attempts on the whole
/// problem. `Prove`: whole-problem questions from the lower bound up. Learnt clauses carry over
/// from round to round. Stops at the deadline, on `stop`, or when the best plan reaches the
/// shared lower bound.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sat_search(
    p: &Prep,
    rules: Rules,
    start: State,
    deadline: Instant,
    stop: &AtomicBool,
    rng: &mut ChaCha8Rng,
    mode: SatMode,
    link: &mut SatLink<'_>,
) -> SatOutcome {
    use rand::Rng;
    let complete = start.scheduled == p.nr;
    let mut ub = if complete {
        start.total_breaks as u32
    } else {
        u32::MAX
    };
    // Improving needs a complete plan; proving does not, and without one asks up to one break
    // per participant.
    let width = match (complete, mode) {
        (true, _) => ub,
        (false, SatMode::Prove) => p.np as u32,
        (false, SatMode::Improve) => 0,
    };
    let encoded = if width == 0 || ub <= (link.lower)() {
        None
    } else {
        sat::BreakSat::new(p, rules.fairness, width, mode == SatMode::Improve)
    };
    let Some(mut enc) = encoded else {
        if complete && ub == 0 {
            (link.on_lower)(0);
        }
        return SatOutcome {
            best: start,
            encoded: false,
            rounds: 0,
        };
    };
    let mut best = start;
    let mut rounds = 0u64;
    let mut size = 4usize;
    let mut full_budget = 0.2f64;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        let lower = (link.lower)();
        if ub <= lower {
            break;
        }
        rounds += 1;
        if let Some(other) = (link.fetch)(ub).filter(|o| o.scheduled == p.nr) {
            ub = other.total_breaks as u32;
            best = other;
            if ub <= lower {
                break;
            }
        }
        let full = mode == SatMode::Prove || rounds.is_multiple_of(8);
        let k = if mode == SatMode::Prove {
            lower
        } else {
            ub - 1
        };
        if k >= width {
            break;
        }
        let mut fixed = Vec::new();
        // Proving questions run to the deadline.
        let limit = if mode == SatMode::Prove {
            1e6
        } else if full {
            full_budget
        } else {
            let free = lns_free(p, &best, size, rounds, rng);
            fixed.extend((0..p.nr).filter(|&r| !free[r]).map(|r| (r, best.slot[r])));
            0.3
        };
        let until = deadline.min(Instant::now() + Duration::from_secs_f64(limit));
        let t_call = Instant::now();
        let ans = enc.solve(k, &fixed, Some(&best.slot), until, stop);
        tracing::debug!(
            sat.mode = ?mode,
            sat.round = rounds,
            sat.full = full,
            sat.k = k,
            sat.free_size = size,
            sat.fixed = fixed.len(),
            sat.answer = ans.name(),
            sat.duration_ms = t_call.elapsed().as_millis() as u64,
        );
        match ans {
            sat::Answer::Sat(slots) => {
                let Some(s) = state_from_slots(p, &slots) else {
                    break;
                };
                if (s.total_breaks as u32) < ub && fair_ok(&s, rules) {
                    ub = s.total_breaks as u32;
                    best = s;
                    (link.on_better)(&best);
                }
            }
            sat::Answer::Unsat => (link.on_lower)(k + 1),
            sat::Answer::UnsatFixed => size = (size + 1).min(p.np),
            sat::Answer::Unknown if full => full_budget = (full_budget * 1.5).min(5.0),
            sat::Answer::Unknown => size = (size * 3 / 4).max(2),
        }
        if rng.gen_bool(0.02) {
            size = 4;
        }
    }
    SatOutcome {
        best,
        encoded: true,
        rounds,
    }
}

/// Requests freed in one LNS round: all meetings of a participant with breaks and of
/// `size - 1` people close to them, or every meeting in a window of slots.
fn lns_free(p: &Prep, s: &State, size: usize, round: u64, rng: &mut ChaCha8Rng) -> Vec<bool> {
    use rand::Rng;
    let mut free = vec![false; p.nr];
    if round.is_multiple_of(3) {
        let w = (size + 2).min(p.ns);
        let t0 = rng.gen_range(0..=p.ns - w);
        for r in 0..p.nr {
            let t = s.slot[r] as usize;
            if t >= t0 && t < t0 + w {
                free[r] = true;
            }
        }
        return free;
    }
    let with_breaks: Vec<usize> = (0..p.np).filter(|&x| s.breaks[x] > 0).collect();
    if with_breaks.is_empty() {
        return free;
    }
    let mut chosen = vec![with_breaks[rng.gen_range(0..with_breaks.len())]];
    let mut i = 0;
    while chosen.len() < size && i < chosen.len() {
        let x = chosen[i];
        let mut partners: Vec<usize> = p.by_part[x]
            .iter()
            .map(|&r| (p.a[r as usize] + p.b[r as usize]) as usize - x)
            .filter(|y| !chosen.contains(y))
            .collect();
        partners.shuffle(rng);
        let take = (size - chosen.len()).min(partners.len()).min(3);
        chosen.extend(partners.into_iter().take(take));
        i += 1;
    }
    for &x in &chosen {
        for &r in &p.by_part[x] {
            free[r as usize] = true;
        }
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fewest breaks of a complete fair plan, and the plan with the most, by enumeration.
    fn extremes(p: &Prep, rules: Rules) -> Option<(i64, State)> {
        let mut idx = vec![0usize; p.nr];
        let mut best: Option<i64> = None;
        let mut worst: Option<State> = None;
        loop {
            let slots: Vec<u8> = idx.iter().map(|&i| i as u8).collect();
            if let Some(s) = state_from_slots(p, &slots) {
                if s.scheduled == p.nr && fair_ok(&s, rules) {
                    best = Some(best.map_or(s.total_breaks, |b| b.min(s.total_breaks)));
                    if worst
                        .as_ref()
                        .is_none_or(|w| s.total_breaks > w.total_breaks)
                    {
                        worst = Some(s);
                    }
                }
            }
            let mut k = 0;
            loop {
                if k == p.nr {
                    return best.zip(worst);
                }
                idx[k] += 1;
                if idx[k] < p.ns {
                    break;
                }
                idx[k] = 0;
                k += 1;
            }
        }
    }

    #[test]
    fn sat_search_reaches_and_proves_the_optimum_in_both_modes() {
        let mut compared = 0;
        let mut improved = 0;
        for seed in 0..60 {
            let inst = synth::tiny(seed, 5, 6, 6);
            for (fairness, per_day) in [(Some(1), false), (None, true)] {
                let rules = Rules {
                    must_schedule_all: true,
                    fairness,
                    breaks_per_day: per_day,
                };
                let p = Prep::new(&inst, per_day);
                let Some((opt, worst)) = extremes(&p, rules) else {
                    continue;
                };
                let from = worst.total_breaks;
                // Proving also starts from nothing: it needs no plan.
                let starts = [
                    (SatMode::Improve, worst.clone()),
                    (SatMode::Prove, worst.clone()),
                    (SatMode::Prove, State::new(&p)),
                ];
                for (mode, from_plan) in starts {
                    let stop = AtomicBool::new(false);
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    let proven = std::cell::Cell::new(0u32);
                    let out = sat_search(
                        &p,
                        rules,
                        from_plan,
                        Instant::now() + Duration::from_secs(60),
                        &stop,
                        &mut rng,
                        mode,
                        &mut SatLink {
                            fetch: &mut |_| None,
                            on_better: &mut |_| {},
                            lower: &|| proven.get(),
                            on_lower: &mut |lb| proven.set(proven.get().max(lb)),
                        },
                    );
                    let tag = format!("seed {seed} {rules:?} {mode:?}");
                    assert_eq!(out.best.total_breaks, opt, "{tag}");
                    assert_eq!(proven.get(), opt as u32, "{tag}");
                    let v = validate(&inst, &out.best.to_plan(), &rules);
                    assert!(v.is_valid(), "{tag}: {:?}", v.violations);
                    assert_eq!(v.objectives.breaks as i64, opt);
                }
                compared += 1;
                improved += usize::from(from > opt);
            }
        }
        assert!(compared >= 20, "only {compared} instances compared");
        assert!(
            improved >= 5,
            "only {improved} instances started above the optimum"
        );
    }
}
