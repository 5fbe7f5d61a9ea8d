//! Primal side: a greedy constructor and a simulated-annealing local search over complete or
//! partial schedules. Moves relocate a meeting (ejecting and re-placing what blocks it), insert
//! an unscheduled request, or swap two whole slot columns.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use crate::state::{slot_bit, state_from_slots, Mask, Prep, State, NONE, UNSCHEDULED};

/// The best fair plan found so far by any worker, so that each can continue from the other's
/// progress.
pub(crate) struct Exchange {
    /// True cost of the plan in `slots` (`i64::MAX` while empty).
    key: AtomicI64,
    slots: Mutex<Vec<u8>>,
}

impl Exchange {
    pub fn new() -> Self {
        Self {
            key: AtomicI64::new(i64::MAX),
            slots: Mutex::new(Vec::new()),
        }
    }

    /// Keeps `s` if it is better than what is held; `key` is its true cost.
    pub fn offer(&self, key: i64, s: &State) {
        if key >= self.key.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(mut g) = self.slots.lock() {
            if key < self.key.load(Ordering::Relaxed) {
                g.clone_from(&s.slot);
                self.key.store(key, Ordering::Relaxed);
            }
        }
    }

    /// The held plan and its cost, if it costs less than `key`.
    pub fn better_than(&self, p: &Prep, key: i64) -> Option<(i64, State)> {
        if self.key.load(Ordering::Relaxed) >= key {
            return None;
        }
        let g = self.slots.lock().ok()?;
        let k = self.key.load(Ordering::Relaxed);
        state_from_slots(p, &g).map(|s| (k, s))
    }
}

/// Weights of the penalised cost the annealer minimises.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CostModel {
    /// Cost of leaving one unit of weight unscheduled.
    pub unscheduled: i64,
    /// Cost of one break.
    pub brk: i64,
    /// Cost of one idle slot inside a participant's span: a gradient towards fewer breaks.
    pub idle: i64,
    /// Cost per break of spread above the fairness cap.
    pub fairness: i64,
    pub cap: Option<u32>,
    /// Previous slot per request (`UNSCHEDULED` if none) and the cost of moving it.
    pub moved: i64,
}

/// The objective without the idle-slot guidance term: what "best" means.
pub(crate) fn true_cost(
    p: &Prep,
    s: &State,
    cm: &CostModel,
    total_weight: u64,
    prev: &[u8],
) -> i64 {
    cost(p, s, cm, total_weight, prev) - cm.idle * s.total_idle
}

pub(crate) fn cost(p: &Prep, s: &State, cm: &CostModel, total_weight: u64, prev: &[u8]) -> i64 {
    let mut c = cm.unscheduled * (total_weight - s.weight) as i64
        + cm.brk * s.total_breaks
        + cm.idle * s.total_idle;
    if let Some(d) = cm.cap {
        c += cm.fairness * i64::from(s.spread().saturating_sub(d));
    }
    if cm.moved != 0 {
        c += cm.moved * moved_count(s, prev) as i64;
    }
    let _ = p;
    c
}

fn moved_count(s: &State, prev: &[u8]) -> usize {
    prev.iter()
        .zip(&s.slot)
        .filter(|(&p, &x)| p != UNSCHEDULED && p != x)
        .count()
}

/// Greedy: requests in `order`, each in the feasible slot adding the fewest breaks.
pub(crate) fn construct(p: &Prep, s: &mut State, order: &[usize], rng: &mut ChaCha8Rng) {
    for &r in order {
        if s.slot[r] != UNSCHEDULED {
            continue;
        }
        if let Some(t) = best_slot(p, s, r, rng) {
            s.place(p, r, t);
        }
    }
}

/// The feasible slot that adds the fewest breaks to both participants; ties broken at random.
pub(crate) fn best_slot(p: &Prep, s: &State, r: usize, rng: &mut ChaCha8Rng) -> Option<usize> {
    let (a, b) = (p.a[r] as usize, p.b[r] as usize);
    let mut best: Option<(i64, u32, usize)> = None;
    let mut m = p.allowed[r] & !(s.busy[a] | s.busy[b]);
    while m != 0 {
        let t = m.trailing_zeros() as usize;
        m &= m - 1;
        if !s.can_place(p, r, t) {
            continue;
        }
        let bit = slot_bit(t);
        let d = i64::from(p.breaks_of(s.busy[a] | bit)) - i64::from(s.breaks[a])
            + i64::from(p.breaks_of(s.busy[b] | bit))
            - i64::from(s.breaks[b]);
        let tie: u32 = rng.gen();
        if best.is_none_or(|(bd, bt, _)| (d, tie) < (bd, bt)) {
            best = Some((d, tie, t));
        }
    }
    best.map(|(_, _, t)| t)
}

/// First feasible slot in time order: the "quick schedule" baseline.
#[cfg(feature = "baselines")]
pub(crate) fn first_free(p: &Prep, s: &mut State, order: &[usize]) {
    for &r in order {
        let mut m = p.allowed[r];
        while m != 0 {
            let t = m.trailing_zeros() as usize;
            m &= m - 1;
            if s.can_place(p, r, t) {
                s.place(p, r, t);
                break;
            }
        }
    }
}

/// Limits and knobs of one annealing run.
pub(crate) struct AnnealParams<'a> {
    pub iterations: u64,
    pub deadline: Option<std::time::Instant>,
    /// Stop as soon as the cost reaches this value (a proven lower bound, possibly raised by
    /// another worker while this one runs).
    pub target: &'a std::sync::atomic::AtomicI64,
    pub t_start: f64,
    pub t_end: f64,
    /// Iterations of one cooling cycle; each cycle restarts from the best state.
    pub cycle: u64,
    pub column_swaps: bool,
    /// Where workers share their best plans (only when reproducibility is not asked for).
    pub exchange: Option<&'a Exchange>,
}

pub(crate) struct AnnealOutcome {
    pub best: State,
    pub best_cost: i64,
    pub iterations: u64,
}

/// Simulated annealing from `start`. Deterministic for a given seed and iteration budget
/// unless a deadline cuts it short.
#[allow(clippy::too_many_arguments)]
pub(crate) fn anneal(
    p: &Prep,
    start: State,
    cm: &CostModel,
    prev: &[u8],
    params: &AnnealParams,
    rng: &mut ChaCha8Rng,
    progress: &mut dyn FnMut(&State, i64),
) -> AnnealOutcome {
    let total_weight: u64 = p.weight.iter().sum();
    let mut cur = start;
    let key = |s: &State| {
        let c = cost(p, s, cm, total_weight, prev);
        (c - cm.idle * s.total_idle, c)
    };
    let mut cur_key = key(&cur);
    let fair = |s: &State| cm.cap.is_none_or(|d| s.spread() <= d);
    let mut best = cur.clone();
    // An unfair start is replaced by the first fair state, whatever its cost.
    let mut best_key = if fair(&cur) {
        cur_key
    } else {
        (i64::MAX, i64::MAX)
    };
    let mut undo: Vec<(usize, u8)> = Vec::with_capacity(64);
    let mut unsched: Vec<usize> = Vec::new();
    let mut chain: (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    let mut it = 0u64;
    let big = p.nr > 3000;
    let mut last_save = 0u64;
    let mut pending_best = false;
    let mut last_report = std::time::Instant::now();
    let mut target = params.target.load(std::sync::atomic::Ordering::Relaxed);
    let mut published = i64::MAX;
    while p.nr > 0 && it < params.iterations && best_key.0 > target {
        if it.is_multiple_of(1024) {
            if let Some(d) = params.deadline {
                if std::time::Instant::now() >= d {
                    break;
                }
            }
            target = params.target.load(std::sync::atomic::Ordering::Relaxed);
            if let Some(x) = params.exchange {
                if best_key.0 < published {
                    x.offer(best_key.0, &best);
                    published = best_key.0;
                }
                if let Some((k, s)) = x.better_than(p, best_key.0) {
                    cur = s;
                    cur_key = key(&cur);
                    debug_assert_eq!(cur_key.0, k);
                    best = cur.clone();
                    best_key = cur_key;
                    published = k;
                    pending_best = false;
                }
            }
            if last_report.elapsed().as_secs_f64() >= 1.0 {
                progress(&best, best_key.0);
                last_report = std::time::Instant::now();
            }
            unsched.clear();
            unsched.extend((0..p.nr).filter(|&r| cur.slot[r] == UNSCHEDULED && p.allowed[r] != 0));
        }
        let phase = (it % params.cycle) as f64 / params.cycle as f64;
        if it > 0 && it.is_multiple_of(params.cycle) {
            if pending_best && fair(&cur) && cur_key < best_key {
                best = cur.clone();
                best_key = cur_key;
                pending_best = false;
            }
            cur = best.clone();
            cur_key = best_key;
        }
        let temp = params.t_start * (params.t_end / params.t_start).powf(phase);
        it += 1;
        undo.clear();
        let choice: u32 = rng.gen_range(0..100);
        let ok = if choice < 15 && !unsched.is_empty() {
            let r = unsched[rng.gen_range(0..unsched.len())];
            if cur.slot[r] != UNSCHEDULED {
                false
            } else {
                let t = random_bit(p.allowed[r], rng);
                kick(p, &mut cur, r, t, &mut undo, rng)
            }
        } else if choice < 18 && params.column_swaps {
            let s1 = rng.gen_range(0..p.ns);
            let s2 = rng.gen_range(0..p.ns);
            s1 != s2 && swap_columns(p, &mut cur, s1, s2, &mut undo)
        } else {
            let r = pick_meeting(p, &cur, rng);
            match r {
                Some(r) => {
                    let t = pick_target(p, &cur, r, rng);
                    t != cur.slot[r] as usize
                        && if choice < 60 {
                            kempe(p, &mut cur, r, t, &mut undo, &mut chain, rng)
                        } else {
                            kick(p, &mut cur, r, t, &mut undo, rng)
                        }
                }
                None => false,
            }
        };
        if !ok {
            revert(p, &mut cur, &undo);
            continue;
        }
        let new_key = key(&cur);
        let delta = new_key.1 - cur_key.1;
        if delta <= 0 || rng.gen::<f64>() < (-(delta as f64) / temp).exp() {
            cur_key = new_key;
            if cur_key < best_key && fair(&cur) {
                if !big || it - last_save > 20_000 {
                    best = cur.clone();
                    best_key = cur_key;
                    last_save = it;
                    pending_best = false;
                } else {
                    pending_best = true;
                }
            }
        } else {
            revert(p, &mut cur, &undo);
        }
        if pending_best && it - last_save > 20_000 && cur_key < best_key && fair(&cur) {
            best = cur.clone();
            best_key = cur_key;
            last_save = it;
            pending_best = false;
        }
    }
    if cur_key < best_key && fair(&cur) {
        best = cur;
        best_key = cur_key;
    }
    if let Some(x) = params.exchange {
        if best_key.0 < i64::MAX {
            x.offer(best_key.0, &best);
        }
    }
    AnnealOutcome {
        best,
        best_cost: best_key.0,
        iterations: it,
    }
}

fn random_bit(mask: Mask, rng: &mut ChaCha8Rng) -> usize {
    let n = mask.count_ones();
    if n == 0 {
        return 0;
    }
    let mut k = rng.gen_range(0..n);
    let mut m = mask;
    loop {
        let t = m.trailing_zeros();
        if k == 0 {
            return t as usize;
        }
        k -= 1;
        m &= m - 1;
    }
}

/// Half the time a meeting of a participant with breaks, otherwise any scheduled meeting.
fn pick_meeting(p: &Prep, s: &State, rng: &mut ChaCha8Rng) -> Option<usize> {
    if rng.gen_bool(0.5) {
        for _ in 0..8 {
            let x = rng.gen_range(0..p.np);
            if s.breaks[x] > 0 {
                let k = s.busy[x];
                let t = random_bit(k, rng);
                let r = s.occ[x * p.ns + t];
                if r != NONE {
                    return Some(r as usize);
                }
            }
        }
    }
    for _ in 0..16 {
        let r = rng.gen_range(0..p.nr);
        if s.slot[r] != UNSCHEDULED {
            return Some(r);
        }
    }
    None
}

/// A slot in a gap of one of the two participants, or any allowed slot.
fn pick_target(p: &Prep, s: &State, r: usize, rng: &mut ChaCha8Rng) -> usize {
    let x = if rng.gen_bool(0.5) { p.a[r] } else { p.b[r] } as usize;
    let busy = s.busy[x];
    if busy != 0 && rng.gen_bool(0.6) {
        let lo = busy.trailing_zeros();
        let top = Mask::BITS - 1;
        let hi = top - busy.leading_zeros();
        // Idle slots inside the span, and the two slots just outside it.
        let span = if hi >= lo {
            ((Mask::MAX >> (top - hi)) >> lo) << lo
        } else {
            0
        };
        let mut cand =
            (span & !busy) | (slot_bit(lo as usize) >> 1) | slot_bit((hi + 1).min(top) as usize);
        cand &= p.allowed[r];
        if cand != 0 {
            return random_bit(cand, rng);
        }
    }
    random_bit(p.allowed[r], rng)
}

/// Moves request `r` to slot `t`, ejecting the meetings of its participants in `t` (and one
/// table user when tables run out); each ejected meeting goes to `r`'s old slot if it fits,
/// else to a random feasible slot, else stays unscheduled. Records changes in `undo`.
fn kick(
    p: &Prep,
    s: &mut State,
    r: usize,
    t: usize,
    undo: &mut Vec<(usize, u8)>,
    rng: &mut ChaCha8Rng,
) -> bool {
    if p.allowed[r] & slot_bit(t) == 0 {
        return false;
    }
    let old = s.slot[r];
    undo.push((r, old));
    if old != UNSCHEDULED {
        s.unplace(p, r);
    }
    let (a, b) = (p.a[r] as usize, p.b[r] as usize);
    let mut ejected = [NONE; 8];
    let mut ne = 0;
    let mut eject = |s: &mut State, o: u32, undo: &mut Vec<(usize, u8)>, ne: &mut usize| -> bool {
        if o == NONE || ejected[..*ne].contains(&o) {
            return true;
        }
        if *ne == ejected.len() {
            return false;
        }
        ejected[*ne] = o;
        *ne += 1;
        undo.push((o as usize, s.slot[o as usize]));
        s.unplace(p, o as usize);
        true
    };
    for x in [a, b] {
        let o = s.occ[x * p.ns + t];
        eject(s, o, undo, &mut ne);
    }
    // A participant at quota gives up one of their other meetings.
    for x in [a, b] {
        if s.count[x] >= p.quota[x] {
            if p.quota[x] == 0 {
                return false;
            }
            let k = random_bit(s.busy[x], rng);
            let o = s.occ[x * p.ns + k];
            if !eject(s, o, undo, &mut ne) {
                return false;
            }
        }
    }
    if p.has_prec {
        for i in 0..p.preds[r].len() {
            let o = p.preds[r][i];
            let so = s.slot[o as usize];
            if so != UNSCHEDULED && so as usize >= t && !eject(s, o, undo, &mut ne) {
                return false;
            }
        }
        for i in 0..p.succs[r].len() {
            let o = p.succs[r][i];
            let so = s.slot[o as usize];
            if so != UNSCHEDULED && so as usize <= t && !eject(s, o, undo, &mut ne) {
                return false;
            }
        }
    }
    if p.table[r] && s.used[t] >= p.tables[t] {
        // Eject one table user of slot t: found through a random participant scan.
        let mut found = NONE;
        let start = rng.gen_range(0..p.np);
        for i in 0..p.np {
            let x = (start + i) % p.np;
            let o = s.occ[x * p.ns + t];
            if o != NONE && p.table[o as usize] {
                found = o;
                break;
            }
        }
        if found == NONE || !eject(s, found, undo, &mut ne) {
            return false;
        }
    }
    if !s.can_place(p, r, t) {
        return false;
    }
    s.place(p, r, t);
    for &o in &ejected[..ne] {
        let o = o as usize;
        if old != UNSCHEDULED && s.can_place(p, o, old as usize) {
            s.place(p, o, old as usize);
            continue;
        }
        let free = p.allowed[o] & !(s.busy[p.a[o] as usize] | s.busy[p.b[o] as usize]);
        if free != 0 {
            let u = random_bit(free, rng);
            if s.can_place(p, o, u) {
                s.place(p, o, u);
            }
        }
    }
    true
}

/// Kempe-chain move: `r` goes from its slot `s0` to `t`; the meetings of its participants in
/// `t` go to `s0`, the meetings of theirs in `s0` go to `t`, and so on until closed. Participant
/// conflicts cannot arise; tables, allowed slots and precedences are checked on placement.
fn kempe(
    p: &Prep,
    s: &mut State,
    r: usize,
    t: usize,
    undo: &mut Vec<(usize, u8)>,
    chain: &mut (Vec<u32>, Vec<u32>),
    rng: &mut ChaCha8Rng,
) -> bool {
    const MAX_CHAIN: usize = 48;
    let s0 = s.slot[r];
    if s0 == UNSCHEDULED || s0 as usize == t {
        return false;
    }
    let s0 = s0 as usize;
    let (to_t, to_s) = chain;
    to_t.clear();
    to_s.clear();
    to_t.push(r as u32);
    let (mut i, mut j) = (0, 0);
    let mut extensions = 0;
    loop {
        while i < to_t.len() || j < to_s.len() {
            if i < to_t.len() {
                let m = to_t[i] as usize;
                i += 1;
                if p.allowed[m] & slot_bit(t) == 0 {
                    return false;
                }
                for x in [p.a[m], p.b[m]] {
                    let o = s.occ[x as usize * p.ns + t];
                    if o != NONE && !to_s.contains(&o) {
                        to_s.push(o);
                    }
                }
            } else {
                let m = to_s[j] as usize;
                j += 1;
                if p.allowed[m] & slot_bit(s0) == 0 {
                    return false;
                }
                for x in [p.a[m], p.b[m]] {
                    let o = s.occ[x as usize * p.ns + s0];
                    if o != NONE && !to_t.contains(&o) {
                        to_t.push(o);
                    }
                }
            }
            if to_t.len() + to_s.len() > MAX_CHAIN {
                return false;
            }
        }
        // Tables: when the chain overfills one slot, a table meeting of that slot joins the
        // chain in the other direction (a second chain), up to a few times.
        let tt = to_t.iter().filter(|&&m| p.table[m as usize]).count() as i64;
        let ts = to_s.iter().filter(|&&m| p.table[m as usize]).count() as i64;
        let over_t = i64::from(s.used[t]) + tt - ts > i64::from(p.tables[t]);
        let over_s = i64::from(s.used[s0]) + ts - tt > i64::from(p.tables[s0]);
        if !over_t && !over_s {
            break;
        }
        extensions += 1;
        if extensions > 3 {
            return false;
        }
        let (slot, into, other) = if over_t {
            (t, &mut *to_s, &*to_t)
        } else {
            (s0, &mut *to_t, &*to_s)
        };
        let start = rng.gen_range(0..p.np);
        let mut found = NONE;
        for k in 0..p.np {
            let x = (start + k) % p.np;
            let o = s.occ[x * p.ns + slot];
            if o != NONE && p.table[o as usize] && !into.contains(&o) && !other.contains(&o) {
                found = o;
                break;
            }
        }
        if found == NONE {
            return false;
        }
        into.push(found);
    }
    for &m in to_t.iter().chain(to_s.iter()) {
        undo.push((m as usize, s.slot[m as usize]));
        s.unplace(p, m as usize);
    }
    for &m in to_t.iter() {
        if !s.can_place(p, m as usize, t) {
            return false;
        }
        s.place(p, m as usize, t);
    }
    for &m in to_s.iter() {
        if !s.can_place(p, m as usize, s0) {
            return false;
        }
        s.place(p, m as usize, s0);
    }
    true
}

/// Exchanges the contents of slots `s1` and `s2` when every meeting is allowed in the other.
fn swap_columns(
    p: &Prep,
    s: &mut State,
    s1: usize,
    s2: usize,
    undo: &mut Vec<(usize, u8)>,
) -> bool {
    let mut moved = Vec::new();
    for r in 0..p.nr {
        let x = s.slot[r] as usize;
        if x == s1 || x == s2 {
            let to = if x == s1 { s2 } else { s1 };
            if p.allowed[r] & slot_bit(to) == 0 {
                return false;
            }
            moved.push((r, to));
        }
    }
    if moved.is_empty() {
        return false;
    }
    for &(r, _) in &moved {
        undo.push((r, s.slot[r]));
        s.unplace(p, r);
    }
    for &(r, to) in &moved {
        if !s.can_place(p, r, to) {
            return false;
        }
        s.place(p, r, to);
    }
    true
}

/// Restores the slots recorded in `undo`.
pub(crate) fn revert(p: &Prep, s: &mut State, undo: &[(usize, u8)]) {
    for &(r, _) in undo {
        if s.slot[r] != UNSCHEDULED {
            s.unplace(p, r);
        }
    }
    // Requests placed by the move but not recorded (ejected ones re-placed elsewhere) are
    // in undo too, since every ejection is recorded before placement.
    for &(r, old) in undo.iter().rev() {
        if old != UNSCHEDULED && s.slot[r] == UNSCHEDULED {
            s.place(p, r, old as usize);
        }
    }
}
