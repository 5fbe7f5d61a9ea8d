//! The SAT neighbourhood search ("must" mode): drives the CaDiCaL encoding of `sat.rs`, either
//! improving plans by large-neighbourhood rounds and whole-problem attempts, or proving lower
//! bounds on breaks from the bottom up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::sat;
use crate::state::{fair_ok, state_from_slots, Prep, State};
use crate::validate::Rules;

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
    use rand::SeedableRng;

    use super::*;
    use crate::synth;
    use crate::validate::validate;

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
