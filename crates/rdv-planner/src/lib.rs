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

use std::sync::atomic::{AtomicI64, Ordering};
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
    #[error("invalid instance: {0}")]
    Input(#[from] InputError),
    #[error("infeasible: {0}")]
    Infeasible(String),
    #[error("no complete schedule found within the limits ({unscheduled} requests left)")]
    NotFound { unscheduled: usize },
}

/// Solves `inst`. Progress goes to `observer` about once a second.
///
/// Two workers share the machine's two cores: one anneals from the greedy start; the other
/// first asks HiGHS for a lower bound (in "must" mode), then anneals from its own start with
/// another seed. Both stop at the bound; the better plan wins.
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
        if with_bound {
            // Anneal briefly first: most events have a zero-break plan, which needs no MIP.
            let params = AnnealParams {
                iterations: budget / 4,
                deadline: Some(start + Duration::from_secs_f64(secs * 0.15)),
                target: &target,
                t_start: 3.0,
                t_end: 0.1,
                cycle: 2_000_000,
                column_swaps: !big,
            };
            let out = search::anneal(&p, s, &cm, &prev, &params, &mut rng, &mut |_, c| {
                report("anneal", c)
            });
            iterations += out.iterations;
            s = out.best;
            if out.best_cost <= target.load(Ordering::Relaxed) {
                target.store(i64::MAX, Ordering::Relaxed);
            }
        }
        if with_bound && target.load(Ordering::Relaxed) != i64::MAX {
            // Lower bound from the time-indexed MIP, warm-started with the current plan.
            let inc = (s.scheduled == p.nr).then(|| s.slot.clone());
            let res = bound::breaks_mip(
                &p,
                &p.allowed,
                rules.fairness,
                secs * 0.3,
                inc.as_deref(),
                None,
            );
            let b = res.bound.map(|b| (b - 1e-6).ceil().max(0.0) + 0.0);
            if let Some(b) = b {
                if let Ok(mut g) = bound_cell.lock() {
                    *g = Some(b);
                }
                target.fetch_max(b as i64 * scale, Ordering::Relaxed);
            }
            if let Some(cand) = res.slots.and_then(|sl| state_from_slots(&p, &sl)) {
                let c = search::true_cost(&p, &cand, &cm, total_weight, &prev);
                if c < search::true_cost(&p, &s, &cm, total_weight, &prev) {
                    s = cand;
                }
            }
            report("bound", search::true_cost(&p, &s, &cm, total_weight, &prev));
            let (improved, rounds) =
                lns(&p, &mut s, &cm, &prev, rules, secs * 0.1, &target, &mut rng);
            iterations += rounds;
            if improved {
                report("lns", search::true_cost(&p, &s, &cm, total_weight, &prev));
            }
        }
        let params = AnnealParams {
            iterations: budget,
            deadline: Some(deadline),
            target: &target,
            t_start: 3.0,
            t_end: 0.1,
            cycle: if big { 2_000_000 } else { 8_000_000 },
            column_swaps: !big,
        };
        let out = search::anneal(&p, s, &cm, &prev, &params, &mut rng, &mut |_, c| {
            report("anneal", c)
        });
        if out.best_cost <= target.load(Ordering::Relaxed) {
            // At the bound: nothing left for the other worker to find.
            target.store(i64::MAX, Ordering::Relaxed);
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

/// Large-neighbourhood search: free a window of slots or the meetings of a participant with
/// breaks and some partners, keep the rest fixed, and let HiGHS re-optimise exactly.
/// Neighbourhoods grow while sub-problems are solved to optimality and shrink on time-outs.
#[allow(clippy::too_many_arguments)]
fn lns(
    p: &Prep,
    s: &mut State,
    cm: &CostModel,
    prev: &[u8],
    rules: Rules,
    seconds: f64,
    target: &AtomicI64,
    rng: &mut ChaCha8Rng,
) -> (bool, u64) {
    let total_weight: u64 = p.weight.iter().sum();
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut best_cost = search::true_cost(p, s, cm, total_weight, prev);
    let mut improved = false;
    let mut size = 2usize;
    let mut round = 0u64;
    while s.scheduled == p.nr
        && best_cost > target.load(Ordering::Relaxed)
        && Instant::now() + Duration::from_millis(200) < end
    {
        round += 1;
        let allowed = neighbourhood(p, s, round, size, rng);
        let left = end.saturating_duration_since(Instant::now()).as_secs_f64();
        let res = bound::breaks_mip(
            p,
            &allowed,
            rules.fairness,
            left.min(1.5),
            Some(&s.slot),
            None,
        );
        tracing::debug!(lns.round = round, lns.size = size, lns.objective = ?res.objective);
        if res.optimal {
            size = (size + 1).min(p.np);
        } else {
            size = (size * 3 / 4).max(2);
        }
        if let Some(cand) = res.slots.and_then(|sl| state_from_slots(p, &sl)) {
            let c = search::true_cost(p, &cand, cm, total_weight, prev);
            if c <= best_cost && fair_ok(&cand, rules) {
                improved |= c < best_cost;
                *s = cand;
                best_cost = c;
            }
        }
    }
    (improved, round)
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
        let w = (size + 1).clamp(2, p.ns);
        let t0 = rng.gen_range(0..=p.ns - w.min(p.ns));
        let win = (state::full_mask(w) << t0) & state::full_mask(p.ns);
        for r in 0..p.nr {
            if allowed[r] & win != 0 {
                allowed[r] = p.allowed[r] & win;
            }
        }
    } else {
        // A participant with breaks, and `size` of their partners: all their meetings are
        // free, so whole blocks of meetings can shift past a forbidden stretch.
        let with_breaks: Vec<usize> = (0..p.np).filter(|&x| s.breaks[x] > 0).collect();
        if with_breaks.is_empty() {
            return allowed;
        }
        let x = with_breaks[rng.gen_range(0..with_breaks.len())];
        let mut chosen = vec![x];
        let mut partners: Vec<usize> = p.by_part[x]
            .iter()
            .map(|&r| (p.a[r as usize] + p.b[r as usize]) as usize - x)
            .collect();
        partners.shuffle(rng);
        chosen.extend(partners.into_iter().take(size));
        for &y in &chosen {
            for &r in &p.by_part[y] {
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
