//! The baselines the benchmark measures the solver against: the "quick schedule" greedy, the
//! plain time-indexed MIP, and the weight upper bound. Behind the `baselines` feature: the
//! solver does not use them.

use std::time::Instant;

use crate::bound;
use crate::model::Instance;
use crate::search;
use crate::state::{state_from_slots, Prep, State};
use crate::validate::{Plan, Rules};

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
