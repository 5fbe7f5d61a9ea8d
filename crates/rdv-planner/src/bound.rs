//! Dual side and exact sub-problems, with good_lp and HiGHS: the time-indexed MIP on breaks
//! (whole problem for the lower bound, or restricted to a neighbourhood for LNS), and LP upper
//! bounds on the scheduled weight.

use good_lp::{
    highs, variable, Expression, IntoAffineExpression, ProblemVariables, SolverModel, Variable,
};
use highs::HighsModelStatus;

use crate::state::{slot_bit, Mask, Prep};

/// What a time-limited HiGHS run produced.
#[derive(Clone, Debug, Default)]
pub(crate) struct MipResult {
    /// Slot per request of the best solution found, if any.
    pub slots: Option<Vec<u8>>,
    pub objective: Option<f64>,
    /// Proven bound on the objective (lower when minimising, upper when maximising).
    pub bound: Option<f64>,
    #[allow(dead_code)] // kept for diagnostics and tests
    pub optimal: bool,
}

fn configure(model: &mut highs::Model, time_limit: f64) {
    model.make_quiet();
    model.set_option("time_limit", time_limit.max(0.01));
    model.set_option("threads", 1);
    model.set_option("mip_rel_gap", 0.0);
}

fn status_optimal(s: HighsModelStatus) -> bool {
    matches!(s, HighsModelStatus::Optimal)
}

/// Time-indexed MIP minimising total breaks with every request scheduled, under the fairness
/// cap, warm-started with `incumbent` when given.
pub(crate) fn breaks_mip(
    p: &Prep,
    fairness: Option<u32>,
    time_limit: f64,
    incumbent: Option<&[u8]>,
) -> MipResult {
    let mut vars = ProblemVariables::new();
    // Warm-start values, pushed in the order columns are created.
    let mut warm: Vec<f64> = Vec::new();
    let inc_busy: Vec<Mask> = match incumbent {
        Some(inc) => (0..p.np)
            .map(|q| {
                p.by_part[q].iter().fold(0, |m: Mask, &r| {
                    let t = inc[r as usize];
                    if t == crate::state::UNSCHEDULED {
                        m
                    } else {
                        m | slot_bit(t as usize)
                    }
                })
            })
            .collect(),
        None => vec![0; p.np],
    };
    // x[r] = list of (slot, var)
    let mut x: Vec<Vec<(usize, Variable)>> = Vec::with_capacity(p.nr);
    for &m in &p.allowed {
        let mut v = Vec::new();
        let mut mm = m;
        while mm != 0 {
            let t = mm.trailing_zeros() as usize;
            mm &= mm - 1;
            v.push((t, vars.add(variable().binary())));
            warm.push(f64::from(u8::from(
                incumbent.is_some_and(|inc| inc[x.len()] as usize == t),
            )));
        }
        x.push(v);
    }
    // y[p][t] as expressions.
    let mut y: Vec<Vec<Expression>> = vec![vec![Expression::default(); p.ns]; p.np];
    let mut tab: Vec<Expression> = vec![Expression::default(); p.ns];
    for r in 0..p.nr {
        for &(t, v) in &x[r] {
            y[p.a[r] as usize][t] += v;
            y[p.b[r] as usize][t] += v;
            if p.table[r] {
                tab[t] += v;
            }
        }
    }
    let mut constraints = Vec::new();
    let mut objective = Expression::default();
    let inc_breaks: Vec<u32> = inc_busy.iter().map(|&m| p.breaks_of(m)).collect();
    let bmax = vars.add(variable().min(0));
    warm.push(f64::from(inc_breaks.iter().copied().max().unwrap_or(0)));
    let bmin = vars.add(variable().min(0));
    warm.push(f64::from(inc_breaks.iter().copied().min().unwrap_or(0)));
    let mut part_breaks: Vec<Expression> = Vec::with_capacity(p.np);
    // Break variables per participant with at least two meetings.
    type Cols = Vec<Option<Variable>>;
    let mut fz: Vec<(Cols, Cols)> = Vec::new();
    for q in 0..p.np {
        let mut bq = Expression::default();
        let mut fv = vec![None; p.ns];
        let mut zv = vec![None; p.ns];
        if p.by_part[q].len() >= 2 {
            for &seg in &p.segments {
                let slots: Vec<usize> = (0..p.ns).filter(|&t| seg & (1 << t) != 0).collect();
                for &t in &slots {
                    fv[t] = Some(vars.add(variable().min(0).max(1)));
                    let later = inc_busy[q] & seg & !(slot_bit(t) - 1);
                    warm.push(f64::from(u8::from(later != 0)));
                }
                for w in slots.windows(3) {
                    let z = vars.add(variable().min(0));
                    let m = inc_busy[q];
                    let later = m & seg & !(slot_bit(w[2]) - 1);
                    let starts = m & (1 << w[0]) != 0 && m & (1 << w[1]) == 0 && later != 0;
                    warm.push(f64::from(u8::from(starts)));
                    zv[w[1]] = Some(z);
                    bq += z;
                }
            }
        }
        objective += bq.clone();
        part_breaks.push(bq);
        fz.push((fv, zv));
    }
    let mut problem = vars.minimise(objective).using(highs);
    for r in 0..p.nr {
        let e: Expression = x[r].iter().map(|&(_, v)| v).sum();
        if x[r].is_empty() {
            // Nothing allowed: infeasible in must mode; report no solution.
            return MipResult::default();
        }
        constraints.push(e.eq(1));
    }
    for q in 0..p.np {
        for t in 0..p.ns {
            if (&y[q][t]).linear_coefficients().count() >= 2 {
                constraints.push(y[q][t].clone().leq(1));
            }
        }
        if p.quota[q] != u32::MAX {
            let e: Expression = y[q].iter().cloned().sum();
            constraints.push(e.leq(p.quota[q] as f64));
        }
    }
    for t in 0..p.ns {
        constraints.push(tab[t].clone().leq(p.tables[t] as f64));
    }
    for r in 0..p.nr {
        for &o in &p.preds[r] {
            let mut e = Expression::default();
            for &(t, v) in &x[r] {
                e.add_mul(t as f64, v);
            }
            for &(t, v) in &x[o as usize] {
                e.add_mul(-(t as f64), v);
            }
            constraints.push(e.geq(1));
        }
    }
    for q in 0..p.np {
        let (fv, zv) = &fz[q];
        for t in 0..p.ns {
            let Some(f) = fv[t] else { continue };
            constraints.push((y[q][t].clone() - f).leq(0));
            if let Some(fn_) = fv.get(t + 1).copied().flatten() {
                constraints.push((Expression::from(fn_) - f).leq(0));
            }
            if let Some(z) = zv[t] {
                // z >= y[t-1] - y[t] + f[t+1] - 1
                if let Some(fnext) = fv[t + 1] {
                    let e = y[q][t - 1].clone() - y[q][t].clone() + fnext - z;
                    constraints.push(e.leq(1));
                }
            }
        }
        if let Some(d) = fairness {
            let _ = d;
            constraints.push((part_breaks[q].clone() - bmax).leq(0));
            constraints.push((part_breaks[q].clone() - bmin).geq(0));
        }
    }
    if let Some(d) = fairness {
        constraints.push((Expression::from(bmax) - bmin).leq(d as f64));
    }
    for c in constraints {
        problem.add_constraint(c);
    }
    let mut model = match problem.try_into_inner() {
        Ok(m) => m,
        Err(_) => return MipResult::default(),
    };
    configure(&mut model, time_limit);
    if incumbent.is_some() && warm.len() == model.num_cols() {
        let _ = model.try_set_solution(Some(&warm), None, None, None);
    }
    let Ok(solved) = model.try_solve() else {
        return MipResult::default();
    };
    let status = solved.status();
    let has_sol = solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible;
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|b| b.is_finite());
    let mut out = MipResult {
        bound,
        optimal: status_optimal(status),
        ..Default::default()
    };
    if status == HighsModelStatus::Infeasible {
        out.bound = Some(f64::INFINITY);
        return out;
    }
    if has_sol {
        let sol = solved.get_solution();
        let cols = sol.columns();
        let mut slots = vec![0u8; p.nr];
        let mut k = 0;
        for r in 0..p.nr {
            let mut bestv = -1.0;
            for &(t, _) in &x[r] {
                if cols[k] > bestv {
                    bestv = cols[k];
                    slots[r] = t as u8;
                }
                k += 1;
            }
        }
        out.slots = Some(slots);
        out.objective = Some(solved.objective_value());
    }
    out
}

/// Which weight bound to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WeightModel {
    /// No time index: per-participant capacity and per-session-set tables. Small and fast.
    Aggregated,
    /// LP relaxation of the time-indexed model.
    #[cfg(feature = "baselines")]
    TimeIndexedLp,
    /// The time-indexed model with binary variables (the plain-MIP baseline).
    #[cfg(feature = "baselines")]
    TimeIndexedMip,
}

/// Upper bound (LP) or solution (MIP) of the maximum scheduled weight.
pub(crate) fn weight_model(p: &Prep, kind: WeightModel, time_limit: f64) -> MipResult {
    match kind {
        WeightModel::Aggregated => aggregated_lp(p, time_limit),
        #[cfg(feature = "baselines")]
        WeightModel::TimeIndexedLp => time_indexed(p, false, time_limit),
        #[cfg(feature = "baselines")]
        WeightModel::TimeIndexedMip => time_indexed(p, true, time_limit),
    }
}

fn aggregated_lp(p: &Prep, time_limit: f64) -> MipResult {
    let mut vars = ProblemVariables::new();
    let xs: Vec<Option<Variable>> = (0..p.nr)
        .map(|r| (p.allowed[r] != 0).then(|| vars.add(variable().min(0).max(1))))
        .collect();
    let objective: Expression = (0..p.nr)
        .filter_map(|r| xs[r].map(|v| v * p.weight[r] as f64))
        .sum();
    // Slot sets: the distinct allowed masks, their pairwise unions and the full sequence.
    let mut sets: Vec<Mask> = Vec::new();
    for r in 0..p.nr {
        if p.allowed[r] != 0 && !sets.contains(&p.allowed[r]) && sets.len() < 64 {
            sets.push(p.allowed[r]);
        }
    }
    let base = sets.clone();
    for (i, &m) in base.iter().enumerate() {
        for &n in &base[i + 1..] {
            if !sets.contains(&(m | n)) && sets.len() < 256 {
                sets.push(m | n);
            }
        }
    }
    let full = crate::state::full_mask(p.ns);
    if !sets.contains(&full) {
        sets.push(full);
    }
    let mut problem = vars.maximise(objective).using(highs);
    for &set in &sets {
        let cap: u32 = (0..p.ns)
            .filter(|&t| set & (1 << t) != 0)
            .map(|t| p.tables[t])
            .sum();
        let e: Expression = (0..p.nr)
            .filter(|&r| p.table[r] && p.allowed[r] & !set == 0)
            .filter_map(|r| xs[r])
            .sum();
        problem.add_constraint(e.leq(cap as f64));
    }
    for q in 0..p.np {
        let reqs = &p.by_part[q];
        let free = reqs.iter().fold(0, |m: Mask, &r| m | p.allowed[r as usize]);
        let e: Expression = reqs.iter().filter_map(|&r| xs[r as usize]).sum();
        let cap = (free.count_ones()).min(p.quota[q]);
        problem.add_constraint(e.leq(cap as f64));
        let mut local: Vec<Mask> = reqs.iter().map(|&r| p.allowed[r as usize]).collect();
        local.sort_unstable();
        local.dedup();
        for &set in &local {
            let e: Expression = reqs
                .iter()
                .filter(|&&r| p.allowed[r as usize] & !set == 0)
                .filter_map(|&r| xs[r as usize])
                .sum();
            problem.add_constraint(e.leq(set.count_ones().min(p.quota[q]) as f64));
        }
    }
    solve_max(problem, time_limit, false, |_| None)
}

#[cfg(feature = "baselines")]
fn time_indexed(p: &Prep, integer: bool, time_limit: f64) -> MipResult {
    let mut vars = ProblemVariables::new();
    let mut x: Vec<Vec<(usize, Variable)>> = Vec::with_capacity(p.nr);
    for r in 0..p.nr {
        let mut v = Vec::new();
        let mut m = p.allowed[r];
        while m != 0 {
            let t = m.trailing_zeros() as usize;
            m &= m - 1;
            let def = if integer {
                variable().binary()
            } else {
                variable().min(0).max(1)
            };
            v.push((t, vars.add(def)));
        }
        x.push(v);
    }
    let mut objective = Expression::with_capacity(x.iter().map(Vec::len).sum());
    let mut y: Vec<Vec<Expression>> = vec![vec![Expression::default(); p.ns]; p.np];
    let mut tab: Vec<Expression> = vec![Expression::default(); p.ns];
    let mut rows = Vec::new();
    for r in 0..p.nr {
        let mut e = Expression::default();
        for &(t, v) in &x[r] {
            objective.add_mul(p.weight[r] as f64, v);
            e += v;
            y[p.a[r] as usize][t] += v;
            y[p.b[r] as usize][t] += v;
            if p.table[r] {
                tab[t] += v;
            }
        }
        if !x[r].is_empty() {
            rows.push(e.leq(1));
        }
    }
    let mut problem = vars.maximise(objective).using(highs);
    for c in rows {
        problem.add_constraint(c);
    }
    for (q, yq) in y.into_iter().enumerate() {
        let mut all = Expression::default();
        for e in yq {
            if (&e).linear_coefficients().count() >= 2 {
                all += e.clone();
                problem.add_constraint(e.leq(1));
            } else {
                all += e;
            }
        }
        if p.quota[q] != u32::MAX {
            problem.add_constraint(all.leq(p.quota[q] as f64));
        }
    }
    for (t, e) in tab.into_iter().enumerate() {
        problem.add_constraint(e.leq(p.tables[t] as f64));
    }
    let x2 = x.clone();
    solve_max(problem, time_limit, integer, move |cols: &[f64]| {
        let mut slots = vec![crate::state::UNSCHEDULED; p.nr];
        let mut k = 0;
        for (r, xr) in x2.iter().enumerate() {
            for &(t, _) in xr {
                if cols[k] > 0.5 {
                    slots[r] = t as u8;
                }
                k += 1;
            }
        }
        Some(slots)
    })
}

fn solve_max(
    problem: good_lp::solvers::highs::HighsProblem,
    time_limit: f64,
    integer: bool,
    decode: impl Fn(&[f64]) -> Option<Vec<u8>>,
) -> MipResult {
    let mut model = match problem.try_into_inner() {
        Ok(m) => m,
        Err(_) => return MipResult::default(),
    };
    configure(&mut model, time_limit);
    let Ok(solved) = model.try_solve() else {
        return MipResult::default();
    };
    let status = solved.status();
    let optimal = status_optimal(status);
    let has_sol = solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible;
    let mip_bound = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|b| b.is_finite());
    let mut out = MipResult {
        optimal,
        ..Default::default()
    };
    if has_sol {
        out.objective = Some(solved.objective_value());
        out.slots = decode(solved.get_solution().columns());
    }
    // An LP's optimum is its bound; a MIP reports its dual bound.
    out.bound = if integer {
        mip_bound
    } else if optimal {
        out.objective
    } else {
        None
    };
    out
}
