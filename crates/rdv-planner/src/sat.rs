//! Exact break minimisation in "must" mode with a SAT solver (CaDiCaL through rustsat): the
//! whole problem as CNF, asked "is there a schedule with at most k breaks?" for decreasing k.
//! A satisfiable answer is a better plan; an unsatisfiable one proves the bound.
//!
//! Encoding (one boolean per request and allowed slot):
//! - every request takes exactly one of its allowed slots;
//! - `busy[p][t]` is the disjunction of p's requests in slot t, at most one of which is true;
//! - at most `tables[t]` table meetings per slot (sequential counter);
//! - precedences as clauses "r in t implies o in some slot before t";
//! - implied constraints that strengthen propagation: busy slots within each set of slots a
//!   participant's requests may take; with breaks counted over the whole sequence, "no
//!   break" means one interval, chosen among those that fit; for the proving solver, at most
//!   twice the tables' participants busy per slot;
//! - a break of p starts at slot i of a segment when p is busy at i-1, idle at i and busy
//!   later in the segment (`later[i]`, a suffix disjunction); both directions are encoded so
//!   that per-participant counts are exact, which the fairness cap needs;
//! - fairness: every participant's count lies in `[low, low + d]` for a unary `low`;
//! - the total is a sequential counter over all break literals, bounded through assumptions,
//!   so one solver instance answers every k and keeps what it learnt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rustsat::solvers::{ControlSignal, PhaseLit, Solve, SolveIncremental, SolverResult, Terminate};
use rustsat::types::{Cl, Lit, TernaryVal};
use rustsat_cadical::{CaDiCaL, Config};

use crate::state::{slot_bit, Mask, Prep};

/// Above this many request-slot booleans the encoding is not attempted.
pub(crate) const MAX_CELLS: usize = 60_000;

pub(crate) enum Answer {
    /// A schedule (slot per request) within the asked number of breaks.
    Sat(Vec<u8>),
    /// No schedule has that few breaks: the asked number plus one is a lower bound.
    Unsat,
    /// No such schedule keeps the given requests in place.
    UnsatFixed,
    /// Stopped by the deadline or the stop flag.
    Unknown,
}

impl Answer {
    pub fn name(&self) -> &'static str {
        match self {
            Answer::Sat(_) => "sat",
            Answer::Unsat => "unsat",
            Answer::UnsatFixed => "unsat_with_fixed",
            Answer::Unknown => "unknown",
        }
    }
}

pub(crate) struct BreakSat<'t> {
    solver: CaDiCaL<'t, 't>,
    next: u32,
    /// Per request, its (slot, literal) pairs.
    x: Vec<Vec<(u8, Lit)>>,
    /// `total[k]`: at least k+1 breaks in all.
    total: Vec<Lit>,
    failed: bool,
}

impl<'t> BreakSat<'t> {
    /// Encodes the instance for questions "at most k breaks" with k < `width`. `None` when the
    /// instance is too large for the encoding or the solver ran out of memory. `for_plans`
    /// tunes CaDiCaL for satisfiable questions (finding plans), otherwise for a mix of both
    /// (the default configuration, measured three times faster on refutations).
    pub fn new(p: &Prep, fairness: Option<u32>, width: u32, for_plans: bool) -> Option<Self> {
        let cells: usize = p.allowed.iter().map(|m| m.count_ones() as usize).sum();
        if cells > MAX_CELLS || p.nr == 0 {
            return None;
        }
        let mut e = BreakSat {
            solver: CaDiCaL::default(),
            next: 0,
            x: Vec::with_capacity(p.nr),
            total: Vec::new(),
            failed: false,
        };
        // Auxiliary variables start false (no break, no count).
        let cfg = if for_plans {
            Config::Sat
        } else {
            Config::Default
        };
        if e.solver.set_configuration(cfg).is_err() || e.solver.set_option("phase", 0).is_err() {
            return None;
        }

        let f = e.lit();
        e.clause(&[!f]);

        // Request placement: exactly one allowed slot.
        for r in 0..p.nr {
            let mut row = Vec::new();
            let mut m = p.allowed[r];
            while m != 0 {
                let t = m.trailing_zeros() as u8;
                m &= m - 1;
                row.push((t, e.lit()));
            }
            let lits: Vec<Lit> = row.iter().map(|&(_, l)| l).collect();
            e.clause(&lits);
            e.at_most_one(&lits);
            e.x.push(row);
        }
        let lit_of = |e: &BreakSat, r: usize, t: usize| -> Option<Lit> {
            e.x[r]
                .iter()
                .find(|&&(s, _)| s as usize == t)
                .map(|&(_, l)| l)
        };

        // Participants: one meeting per slot, and the busy literal.
        let mut busy = vec![f; p.np * p.ns];
        for q in 0..p.np {
            for t in 0..p.ns {
                let lits: Vec<Lit> = p.by_part[q]
                    .iter()
                    .filter_map(|&r| lit_of(&e, r as usize, t))
                    .collect();
                busy[q * p.ns + t] = match lits.len() {
                    0 => f,
                    1 => lits[0],
                    _ => {
                        e.at_most_one(&lits);
                        let u = e.lit();
                        let mut c = vec![!u];
                        c.extend_from_slice(&lits);
                        e.clause(&c);
                        for &l in &lits {
                            e.clause(&[!l, u]);
                        }
                        u
                    }
                };
            }
        }

        // Redundant: each participant is busy in exactly as many slots as they have requests.
        for q in 0..p.np {
            let n = p.by_part[q].len();
            let lits: Vec<Lit> = (0..p.ns)
                .map(|t| busy[q * p.ns + t])
                .filter(|&l| l != f)
                .collect();
            if n >= 2 && lits.len() > n {
                e.at_most_k(&lits, n);
                let idle: Vec<Lit> = lits.iter().map(|&l| !l).collect();
                e.at_most_k(&idle, lits.len() - n);
            }
        }

        // Implied, for propagation (measured: refutations and plans several times faster):
        // - for each set of slots one of p's requests may take, p is busy there at least as
        //   often as the requests confined to it, and at most as often as those that may use it
        //   (e.g. morning-only and afternoon-only meetings).
        // - for the proving solver only, when every meeting takes a shared table: at most twice
        //   the tables' participants are busy in a slot (measured: up to forty times faster on
        //   four hard instances, but fifteen times slower on a tight-table refutation, which
        //   the improving solver then provides).
        for q in 0..p.np {
            let mine = &p.by_part[q];
            let mut masks: Vec<Mask> = mine.iter().map(|&r| p.allowed[r as usize]).collect();
            masks.sort_unstable();
            masks.dedup();
            for &m in &masks {
                let lits: Vec<Lit> = (0..p.ns)
                    .filter(|&t| m & slot_bit(t) != 0)
                    .map(|t| busy[q * p.ns + t])
                    .filter(|&l| l != f)
                    .collect();
                let inside = mine
                    .iter()
                    .filter(|&&r| p.allowed[r as usize] & !m == 0)
                    .count();
                let touching = mine
                    .iter()
                    .filter(|&&r| p.allowed[r as usize] & m != 0)
                    .count();
                if touching < lits.len() {
                    e.at_most_k(&lits, touching);
                }
                if inside > 0 && inside < lits.len() {
                    let idle: Vec<Lit> = lits.iter().map(|&l| !l).collect();
                    e.at_most_k(&idle, lits.len() - inside);
                }
            }
        }

        if !for_plans && p.table.iter().all(|&t| t) {
            for t in 0..p.ns {
                let lits: Vec<Lit> = (0..p.np)
                    .map(|q| busy[q * p.ns + t])
                    .filter(|&l| l != f)
                    .collect();
                let cap = 2 * p.tables[t] as usize;
                if lits.len() > cap {
                    e.at_most_k(&lits, cap);
                }
            }
        }

        // Shared tables.
        for t in 0..p.ns {
            let lits: Vec<Lit> = (0..p.nr)
                .filter(|&r| p.table[r])
                .filter_map(|r| lit_of(&e, r, t))
                .collect();
            if lits.len() > p.tables[t] as usize {
                e.at_most_k(&lits, p.tables[t] as usize);
            }
        }

        // Precedences: o strictly before r.
        for r in 0..p.nr {
            for &o in &p.preds[r] {
                for &(t, l) in &e.x[r].clone() {
                    let mut c = vec![!l];
                    c.extend(
                        e.x[o as usize]
                            .iter()
                            .filter(|&&(s, _)| s < t)
                            .map(|&(_, m)| m),
                    );
                    e.clause(&c);
                }
            }
        }

        // Breaks, per participant and segment.
        let mut all_breaks = Vec::new();
        let mut counts: Vec<Option<Vec<Lit>>> = vec![None; p.np];
        let low_max = if p.by_part.iter().any(|v| v.len() < 2) {
            0
        } else {
            width as usize / p.np
        };
        let per_width = fairness.map(|d| low_max + d as usize + 1);
        for q in 0..p.np {
            if p.by_part[q].len() < 2 {
                continue;
            }
            let mut mine = Vec::new();
            for &seg in &p.segments {
                let slots: Vec<usize> = (0..p.ns).filter(|&t| seg & slot_bit(t) != 0).collect();
                let u: Vec<Lit> = slots.iter().map(|&t| busy[q * p.ns + t]).collect();
                let n = u.len();
                if n < 3 {
                    continue;
                }
                // later[i]: busy at some slot after i in the segment.
                let mut later = vec![f; n];
                for i in (0..n - 1).rev() {
                    let (a, b) = (u[i + 1], later[i + 1]);
                    later[i] = if b == f {
                        a
                    } else if a == f {
                        b
                    } else {
                        let v = e.lit();
                        e.clause(&[!v, a, b]);
                        e.clause(&[!a, v]);
                        e.clause(&[!b, v]);
                        v
                    };
                }
                for i in 1..n - 1 {
                    if u[i - 1] == f || later[i] == f {
                        continue;
                    }
                    let z = e.lit();
                    e.clause(&[!u[i - 1], u[i], !later[i], z]);
                    e.clause(&[!z, u[i - 1]]);
                    e.clause(&[!z, !u[i]]);
                    e.clause(&[!z, later[i]]);
                    mine.push(z);
                }
            }
            if p.segments.len() == 1 {
                // Implied: without breaks, p's meetings fill one interval of n slots. Choosing
                // the interval is a strong decision for the solver, and when none fits, p has
                // a break (measured: plans and refutations two to six times faster).
                let n = p.by_part[q].len();
                let mut c = mine.clone();
                for s0 in 0..=p.ns.saturating_sub(n) {
                    if (s0..s0 + n).any(|t| busy[q * p.ns + t] == f) {
                        continue;
                    }
                    let st = e.lit();
                    for t in 0..p.ns {
                        let b = busy[q * p.ns + t];
                        if t >= s0 && t < s0 + n {
                            e.clause(&[!st, b]);
                        } else if b != f {
                            e.clause(&[!st, !b]);
                        }
                    }
                    c.push(st);
                }
                e.clause(&c);
            }
            if let Some(w) = per_width {
                counts[q] = Some(e.exact_counter(&mine, w));
            }
            all_breaks.extend(mine);
        }

        // Fairness: low <= count[q] <= low + d, with low in unary.
        if let Some(d) = fairness {
            let d = d as usize;
            let low: Vec<Lit> = (0..low_max).map(|_| e.lit()).collect();
            for k in 1..low.len() {
                e.clause(&[!low[k], low[k - 1]]);
            }
            for q in 0..p.np {
                // ge[j]: at least j+1 breaks; participants without a counter have none.
                let ge = counts[q].clone().unwrap_or_default();
                let at_least = |j: usize| ge.get(j.wrapping_sub(1)).copied().unwrap_or(f);
                for k in 1..=low.len() {
                    let c = at_least(k);
                    e.clause(&[!low[k - 1], c]);
                }
                for k in 0..=low.len() {
                    let over = at_least(k + d + 1);
                    if over == f {
                        continue;
                    }
                    match low.get(k) {
                        Some(&l) => e.clause(&[!over, l]),
                        None => e.clause(&[!over]),
                    }
                }
            }
        }

        e.total = e.upper_counter(&all_breaks, width as usize);
        // Pad so that every asked bound has an output (an empty counter: no break possible).
        while e.total.len() < width as usize {
            e.total.push(f);
        }
        (!e.failed).then_some(e)
    }

    /// Is there a schedule with at most `k` breaks that keeps every `(r, t)` of `fixed` (request
    /// r in slot t)? `hint` (slot per request) sets the solver's preferred phases. Stops at `deadline` or when `stop` is raised.
    pub fn solve(
        &mut self,
        k: u32,
        fixed: &[(usize, u8)],
        hint: Option<&[u8]>,
        deadline: Instant,
        stop: &'t AtomicBool,
    ) -> Answer {
        if let Some(h) = hint {
            for (r, row) in self.x.iter().enumerate() {
                for &(t, l) in row {
                    let lit = if h[r] == t { l } else { !l };
                    if self.solver.phase_lit(lit).is_err() {
                        return Answer::Unknown;
                    }
                }
            }
        }
        self.solver.attach_terminator(move || {
            if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
                ControlSignal::Terminate
            } else {
                ControlSignal::Continue
            }
        });
        let bound = self.total.get(k as usize).map(|&l| !l);
        let mut assumps: Vec<Lit> = bound.into_iter().collect();
        for &(r, t) in fixed {
            if let Some(&(_, l)) = self.x[r].iter().find(|&&(s, _)| s == t) {
                assumps.push(l);
            }
        }
        let res = self.solver.solve_assumps(&assumps);
        self.solver.detach_terminator();
        match res {
            Ok(SolverResult::Sat) => {
                let mut slots = Vec::with_capacity(self.x.len());
                for row in &self.x {
                    let t = row
                        .iter()
                        .find(|&&(_, l)| matches!(self.solver.lit_val(l), Ok(TernaryVal::True)));
                    match t {
                        Some(&(t, _)) => slots.push(t),
                        None => return Answer::Unknown,
                    }
                }
                Answer::Sat(slots)
            }
            Ok(SolverResult::Unsat) if fixed.is_empty() => Answer::Unsat,
            Ok(SolverResult::Unsat) => {
                // The failed assumptions tell whether the placements mattered.
                match self.solver.core() {
                    Ok(core) if core.iter().all(|l| Some(!*l) == bound || Some(*l) == bound) => {
                        Answer::Unsat
                    }
                    _ => Answer::UnsatFixed,
                }
            }
            _ => Answer::Unknown,
        }
    }

    fn lit(&mut self) -> Lit {
        let l = Lit::positive(self.next);
        self.next += 1;
        l
    }

    fn clause(&mut self, lits: &[Lit]) {
        if self.solver.add_clause_ref(Cl::new(lits)).is_err() {
            self.failed = true;
        }
    }

    fn at_most_one(&mut self, lits: &[Lit]) {
        if lits.len() <= 6 {
            for i in 0..lits.len() {
                for j in i + 1..lits.len() {
                    self.clause(&[!lits[i], !lits[j]]);
                }
            }
        } else {
            self.at_most_k(lits, 1);
        }
    }

    /// Sinz's sequential counter: at most `k` of `lits`.
    fn at_most_k(&mut self, lits: &[Lit], k: usize) {
        if k == 0 {
            for &l in lits {
                self.clause(&[!l]);
            }
            return;
        }
        let out = self.upper_counter(lits, k + 1);
        if let Some(&over) = out.get(k) {
            self.clause(&[!over]);
        }
    }

    /// Totalizer outputs `o[j]` implied by "at least j+1 of `lits`" for j < `width` (one
    /// direction: the outputs may only be forced up, which suffices for upper bounds).
    fn upper_counter(&mut self, lits: &[Lit], width: usize) -> Vec<Lit> {
        match lits.len() {
            0 => Vec::new(),
            1 => vec![lits[0]],
            n => {
                let (l, r) = lits.split_at(n / 2);
                let a = self.upper_counter(l, width);
                let b = self.upper_counter(r, width);
                let w = (a.len() + b.len()).min(width);
                let out: Vec<Lit> = (0..w).map(|_| self.lit()).collect();
                for i in 0..=a.len() {
                    for j in 0..=b.len() {
                        let k = i + j;
                        if k == 0 || k > w {
                            continue;
                        }
                        let mut c = Vec::with_capacity(3);
                        if i > 0 {
                            c.push(!a[i - 1]);
                        }
                        if j > 0 {
                            c.push(!b[j - 1]);
                        }
                        c.push(out[k - 1]);
                        self.clause(&c);
                    }
                }
                out
            }
        }
    }

    /// Outputs equivalent to "at least j+1 of `lits`" for j < `width`.
    fn exact_counter(&mut self, lits: &[Lit], width: usize) -> Vec<Lit> {
        let mut prev: Vec<Lit> = Vec::new();
        for &b in lits {
            let w = (prev.len() + 1).min(width);
            let cur: Vec<Lit> = (0..w).map(|_| self.lit()).collect();
            for j in 0..w {
                let keep = prev.get(j).copied();
                // Up: kept from before, or b on top of j earlier ones.
                if let Some(k) = keep {
                    self.clause(&[!k, cur[j]]);
                }
                if j == 0 {
                    self.clause(&[!b, cur[0]]);
                } else {
                    self.clause(&[!b, !prev[j - 1], cur[j]]);
                }
                // Down: cur[j] needs keep or b, and keep or j earlier ones.
                match keep {
                    Some(k) => {
                        self.clause(&[!cur[j], k, b]);
                        if j > 0 {
                            self.clause(&[!cur[j], k, prev[j - 1]]);
                        }
                    }
                    None => {
                        self.clause(&[!cur[j], b]);
                        if j > 0 {
                            self.clause(&[!cur[j], prev[j - 1]]);
                        }
                    }
                }
            }
            prev = cur;
        }
        prev
    }
}
