//! rdv-planner decides who meets whom, when and at which table, for B2B meeting events.
//!
//! Pure library: parsers take `&str`, the solver takes an [`Instance`] and returns a
//! [`Solution`] that the independent [`validate`] function can check. No I/O.

// Index loops over parallel arrays (requests, participants, slots) read better than zips.
#![allow(clippy::needless_range_loop)]

#[cfg(feature = "baselines")]
mod baselines;
mod bound;
mod dzn;
mod model;
mod report;
mod sat;
mod sat_search;
mod search;
mod state;
pub mod synth;
mod validate;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[cfg(feature = "baselines")]
pub use baselines::{greedy_first_free, plain_time_indexed_mip, weight_upper_bound};
pub use dzn::parse_dzn;
pub use model::{InputError, Instance, Participant, PreviousMeeting, Request, Slot, MAX_SLOTS};
pub use report::{number_tables, Progress, Reason, Solution, SolveError, Status, Unscheduled};
pub use validate::{uses_table, validate, Objectives, Plan, Rules, Validation};

use state::Prep;
use worker::Worker;

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
    solve_until(inst, opts, &AtomicBool::new(false), observer)
}

/// [`solve`], stopped early when `stop` is raised: the search ends within about a second and
/// the best plan found so far is returned (without the weight bound when it was not known yet).
pub fn solve_until(
    inst: &Instance,
    opts: &SolveOptions,
    stop: &AtomicBool,
    observer: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Solution, SolveError> {
    let start = Instant::now();
    let rules = opts.rules;
    // Fields are public, so an instance may not have gone through `Instance::new`.
    inst.check()?;
    let p = Prep::new(inst, rules.breaks_per_day);
    if rules.must_schedule_all {
        report::check_must_feasible(inst, &p)?;
    }
    let workers = Worker::new(inst, &p, opts, start, stop, observer);
    // The second worker proves bounds in "must" mode with the exact solvers; otherwise it
    // anneals from its own start, except on large instances: there the second core computes
    // the weight bound (HiGHS, the aggregated LP) while the first anneals, so that the bound
    // gets the whole time limit rather than what the search leaves.
    let proves = rules.must_schedule_all && opts.use_mip;
    let two = !workers.big || proves;
    let bound_aside = !two && !rules.must_schedule_all && opts.use_mip;
    let (a, b, aside) = std::thread::scope(|scope| {
        let second = two.then(|| scope.spawn(|| workers.run(opts.seed.wrapping_add(1), proves)));
        let lp = bound_aside.then(|| {
            scope.spawn(|| {
                let limit = opts.time_limit.as_secs_f64().max(1.0);
                let b = bound::weight_model(&p, bound::WeightModel::Aggregated, limit).bound;
                workers.set_weight_bound(b);
                b
            })
        });
        let first = workers.run(opts.seed, false);
        (
            first,
            second.and_then(|h| h.join().ok()),
            lp.and_then(|h| h.join().ok()),
        )
    });
    let mut iterations = a.iterations;
    let mut best = a.best;
    if let Some(b) = b {
        iterations += b.iterations;
        if b.cost < a.cost {
            best = b.best;
        }
    }
    let mut bound = workers.into_bound();
    if let Some(b) = aside {
        bound = b;
    } else if !rules.must_schedule_all && opts.use_mip {
        bound = None;
        if !stop.load(Ordering::Relaxed) {
            let left = (start + opts.time_limit)
                .saturating_duration_since(Instant::now())
                .as_secs_f64()
                .max(1.0);
            bound = bound::weight_model(&p, bound::WeightModel::Aggregated, left).bound;
        }
    }
    if let Some(d) = rules.fairness {
        if !rules.must_schedule_all {
            worker::enforce_fairness(&p, &mut best, d);
        }
        if best.spread() > d {
            return Err(SolveError::NotFound {
                unscheduled: p.nr - best.scheduled,
            });
        }
    }
    report::finish(inst, &p, &best, rules, bound, start, opts.seed, iterations)
}
