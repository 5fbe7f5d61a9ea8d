//! One solve's workers: what the two share (the compiled instance, the cost model, limits,
//! and the cells through which they exchange plans, bounds and the signal to stop) and the
//! phases one worker goes through.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::bound;
use crate::model::Instance;
use crate::report::Progress;
use crate::sat_search::{sat_search, SatLink, SatMode};
use crate::search::{self, AnnealParams, CostModel, Exchange};
use crate::state::{fair_ok, state_from_slots, Prep, State, UNSCHEDULED};
use crate::validate::Rules;
use crate::SolveOptions;

/// Cost of one break in the penalised cost. Breaks weigh more than idle slots: idle slots
/// inside a span are the gradient that leads blocks of meetings to slide until a break closes.
const SCALE: i64 = 8;

/// What the workers of one solve share. [`Worker::run`] is one worker; two run side by side
/// on the same `Worker`.
pub(crate) struct Worker<'a> {
    inst: &'a Instance,
    p: &'a Prep,
    rules: Rules,
    cm: CostModel,
    /// Slot of each request in the previous plan (`UNSCHEDULED` if none).
    prev: Vec<u8>,
    total_weight: u64,
    /// More than 3,000 requests: shorter cooling cycles and no column swaps.
    pub big: bool,
    /// Local-search iterations of each annealing run.
    budget: u64,
    start: Instant,
    deadline: Instant,
    /// The time limit in seconds.
    secs: f64,
    /// "Must" mode with the exact solvers.
    must_mip: bool,
    /// The cost at which annealing stops: the proven bound, `i64::MAX` once a worker met it.
    target: AtomicI64,
    /// The best proven lower bound on breaks.
    bound: Mutex<Option<f64>>,
    /// Raised when a worker reaches the bound: the other stops.
    done: AtomicBool,
    exchange: Exchange,
    /// Sharing plans between workers makes the result depend on timing: not when an iteration
    /// limit asks for reproducibility.
    share: bool,
    observer: Mutex<&'a mut (dyn FnMut(&Progress) + Send)>,
    /// Raised by the caller to stop the search early.
    stop: &'a AtomicBool,
    /// The upper bound on the scheduled weight, once the LP gave it (weight mode).
    weight_bound: Mutex<Option<f64>>,
}

/// What one worker ends with.
pub(crate) struct Outcome {
    pub best: State,
    /// True cost of `best`; `i64::MAX` when it is not fair.
    pub cost: i64,
    pub iterations: u64,
}

impl<'a> Worker<'a> {
    pub fn new(
        inst: &'a Instance,
        p: &'a Prep,
        opts: &SolveOptions,
        start: Instant,
        stop: &'a AtomicBool,
        observer: &'a mut (dyn FnMut(&Progress) + Send),
    ) -> Self {
        let rules = opts.rules;
        let cm = CostModel {
            unscheduled: if rules.must_schedule_all {
                50 * SCALE
            } else {
                1000 * SCALE
            },
            brk: SCALE,
            idle: 1,
            fairness: if rules.must_schedule_all {
                20 * SCALE
            } else {
                2000 * SCALE
            },
            cap: rules.fairness,
            // Re-planning during an event: moving a published meeting costs three and a half
            // units of weight, more than a `should` meeting (3) is worth, so only a meeting
            // worth more than the moves it needs displaces others (rdv's `must`, 9, may move
            // two).
            moved: if inst.previous.is_empty() {
                0
            } else {
                3500 * SCALE
            },
        };
        Self {
            inst,
            p,
            rules,
            cm,
            prev: previous_slots(inst),
            total_weight: p.weight.iter().sum(),
            big: p.nr > 3000,
            budget: opts.iteration_limit.unwrap_or(u64::MAX),
            start,
            deadline: start + opts.time_limit,
            secs: opts.time_limit.as_secs_f64(),
            must_mip: rules.must_schedule_all && opts.use_mip,
            target: AtomicI64::new(if rules.must_schedule_all { 0 } else { i64::MIN }),
            bound: Mutex::new(None),
            done: AtomicBool::new(false),
            exchange: Exchange::new(),
            share: opts.use_mip && opts.iteration_limit.is_none(),
            observer: Mutex::new(observer),
            stop,
            weight_bound: Mutex::new(None),
        }
    }

    /// The best lower bound on breaks the workers proved.
    pub fn into_bound(self) -> Option<f64> {
        self.bound.into_inner().ok().flatten()
    }

    /// One worker: a greedy start, then annealing; in "must" mode with exact methods, the SAT
    /// search in between, improving plans from the top or, when `proves`, proving lower bounds
    /// from the bottom up (with HiGHS when the instance is too large to encode).
    pub fn run(&self, seed: u64, proves: bool) -> Outcome {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = self.construct(&mut rng);
        let mut iterations = 0;
        // In "must" mode with exact methods, both workers anneal first (most events have a
        // zero-break plan, which needs nothing more), then search with CaDiCaL: the proving
        // worker early, the improving one later.
        // The SAT encoding knows breaks, not moves: re-planning keeps to annealing.
        let exact = self.must_mip && self.share && self.inst.previous.is_empty();
        if exact {
            let out = self.first_anneal(s, proves, &mut rng);
            iterations += out.iterations;
            s = out.best;
        }
        let mut encoded = false;
        if exact && !self.done.load(Ordering::Relaxed) {
            // Exact search with CaDiCaL: better plans, and possibly the proof of optimality.
            let out = self.sat(s, proves, &mut rng);
            iterations += out.rounds;
            encoded = out.encoded;
            s = out.best;
            if s.scheduled == self.p.nr && s.total_breaks <= i64::from(self.lower()) {
                self.finish_all();
            }
        }
        if proves && !encoded && !self.done.load(Ordering::Relaxed) {
            s = self.mip_bound(s);
        }
        self.last_anneal(s, iterations, &mut rng)
    }

    /// Published meetings first, where they still fit; then the greedy construction.
    fn construct(&self, rng: &mut ChaCha8Rng) -> State {
        let p = self.p;
        let mut s = State::new(p);
        for pm in &self.inst.previous {
            if s.slot[pm.request] == UNSCHEDULED && s.can_place(p, pm.request, pm.slot) {
                s.place(p, pm.request, pm.slot);
            }
        }
        let order = construction_order(p, self.rules.must_schedule_all, rng);
        search::construct(p, &mut s, &order, rng);
        s
    }

    /// Annealing before the exact search. The proving worker anneals only long enough for a
    /// complete plan to start from (and to finish events that have a zero-break plan in easy
    /// reach).
    fn first_anneal(&self, s: State, proves: bool, rng: &mut ChaCha8Rng) -> search::AnnealOutcome {
        let anneal_end = if proves { 0.03 } else { 0.3 };
        let params = AnnealParams {
            iterations: self.budget / 4,
            deadline: Some(self.start + Duration::from_secs_f64(self.secs * anneal_end)),
            target: &self.target,
            t_start: 3.0,
            t_end: 0.1,
            cycle: 2_000_000,
            column_swaps: !self.big,
            exchange: self.exchange(),
        };
        let out = search::anneal(
            self.p,
            s,
            &self.cm,
            &self.prev,
            &params,
            rng,
            &mut |st, c| self.report("anneal", st, c),
        );
        if out.best_cost <= self.target.load(Ordering::Relaxed) {
            self.finish_all();
        }
        out
    }

    /// The SAT search, linked to the other worker through the exchange and the bound.
    fn sat(&self, s: State, proves: bool, rng: &mut ChaCha8Rng) -> crate::sat_search::SatOutcome {
        let p = self.p;
        let share = self.exchange();
        let mut fetch = |ub: u32| {
            share
                .and_then(|x| x.better_than(p, i64::from(ub) * SCALE))
                .map(|(_, st)| st)
                .filter(|st| (st.total_breaks as u32) < ub)
        };
        let mut on_better = |st: &State| {
            let c = self.true_cost(st);
            if let Some(x) = share {
                x.offer(c, st);
            }
            self.report("sat", st, c);
        };
        let lower = || self.lower();
        let mut on_lower = |lb: u32| self.raise_bound(f64::from(lb));
        let mode = if proves {
            SatMode::Prove
        } else {
            SatMode::Improve
        };
        sat_search(
            p,
            self.rules,
            s,
            self.deadline,
            &self.done,
            rng,
            mode,
            &mut SatLink {
                fetch: &mut fetch,
                on_better: &mut on_better,
                lower: &lower,
                on_lower: &mut on_lower,
            },
        )
    }

    /// Lower bound from the time-indexed MIP, warm-started with the current plan; keeps the
    /// MIP's plan when it is better.
    fn mip_bound(&self, mut s: State) -> State {
        let p = self.p;
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
        let inc = (s.scheduled == p.nr).then(|| s.slot.clone());
        let res = bound::breaks_mip(
            p,
            self.rules.fairness,
            (left - self.secs * 0.05).max(0.1),
            inc.as_deref(),
        );
        // `+ 0.0` turns -0.0 into 0.0.
        if let Some(b) = res.bound.map(|b| (b - 1e-6).ceil().max(0.0) + 0.0) {
            self.raise_bound(b);
        }
        if let Some(cand) = res.slots.and_then(|sl| state_from_slots(p, &sl)) {
            if self.true_cost(&cand) < self.true_cost(&s) && fair_ok(&cand, self.rules) {
                s = cand;
            }
        }
        self.report("bound", &s, self.true_cost(&s));
        s
    }

    /// Annealing to the deadline (or the iteration budget, or the bound).
    fn last_anneal(&self, s: State, iterations: u64, rng: &mut ChaCha8Rng) -> Outcome {
        let params = AnnealParams {
            iterations: self.budget,
            deadline: Some(self.deadline),
            target: &self.target,
            t_start: 3.0,
            t_end: 0.1,
            cycle: if self.big { 2_000_000 } else { 8_000_000 },
            column_swaps: !self.big,
            exchange: self.exchange(),
        };
        let out = search::anneal(
            self.p,
            s,
            &self.cm,
            &self.prev,
            &params,
            rng,
            &mut |st, c| self.report("anneal", st, c),
        );
        if out.best_cost <= self.target.load(Ordering::Relaxed) {
            // At the bound: nothing left for the other worker to find.
            self.finish_all();
        }
        let mut cost = out.best_cost;
        if cost == i64::MAX {
            // No fair state was met: keep the (possibly unfair) start, repaired by the caller.
            cost = self.true_cost(&out.best);
        }
        if !fair_ok(&out.best, self.rules) {
            cost = i64::MAX;
        }
        Outcome {
            best: out.best,
            cost,
            iterations: iterations + out.iterations,
        }
    }

    fn exchange(&self) -> Option<&Exchange> {
        self.share.then_some(&self.exchange)
    }

    fn true_cost(&self, s: &State) -> i64 {
        search::true_cost(self.p, s, &self.cm, self.total_weight, &self.prev)
    }

    /// Tells the observer where the search stands; a raised stop flag ends the search here
    /// (annealing and the SAT search stop at their next check, keeping their best plan).
    fn report(&self, phase: &'static str, best: &State, cost: i64) {
        let bound = if self.rules.must_schedule_all {
            self.bound.lock().ok().and_then(|g| *g)
        } else {
            self.weight_bound.lock().ok().and_then(|g| *g)
        };
        if let Ok(mut o) = self.observer.lock() {
            o(&Progress {
                phase,
                elapsed_s: self.start.elapsed().as_secs_f64(),
                cost,
                scheduled: best.scheduled,
                weight: best.weight,
                breaks: best.total_breaks.max(0) as u64,
                bound,
            });
        }
        // The observer may have raised it.
        if self.stop.load(Ordering::Relaxed) {
            self.finish_all();
        }
    }

    /// Records the upper bound on the scheduled weight (weight mode).
    pub fn set_weight_bound(&self, b: Option<f64>) {
        if let Ok(mut g) = self.weight_bound.lock() {
            *g = b;
        }
    }

    /// The best lower bound on breaks proven so far, by either worker.
    fn lower(&self) -> u32 {
        self.bound
            .lock()
            .ok()
            .and_then(|g| *g)
            .map_or(0, |b| b as u32)
    }

    fn raise_bound(&self, b: f64) {
        if let Ok(mut g) = self.bound.lock() {
            *g = Some(g.map_or(b, |old| old.max(b)));
        }
        self.target.fetch_max(b as i64 * SCALE, Ordering::Relaxed);
    }

    /// A worker reached the bound: everyone stops.
    fn finish_all(&self) {
        self.target.store(i64::MAX, Ordering::Relaxed);
        self.done.store(true, Ordering::Relaxed);
    }
}

/// Drops meetings of the participants with most breaks until the spread is within `d`; the
/// empty plan is fair, so this ends.
pub(crate) fn enforce_fairness(p: &Prep, s: &mut State, d: u32) {
    while s.spread() > d {
        let Some(x) = (0..p.np).max_by_key(|&x| s.breaks[x]) else {
            return;
        };
        let mut best: Option<(u32, usize)> = None;
        let mut m = s.busy[x];
        while m != 0 {
            let t = m.trailing_zeros() as usize;
            m &= m - 1;
            let after = p.breaks_of(s.busy[x] & !crate::state::slot_bit(t));
            if best.is_none_or(|(b, _)| after < b) {
                best = Some((after, t));
            }
        }
        let Some((_, t)) = best else { return };
        let r = s.occ[x * p.ns + t] as usize;
        s.unplace(p, r);
    }
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
