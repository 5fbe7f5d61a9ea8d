//! The solver's compiled view of an instance (bitmask calendars) and a mutable schedule with
//! incremental bookkeeping of tables, quotas, breaks and the fairness spread.

use crate::model::Instance;
use crate::validate::{uses_table, Plan, Rules};

pub(crate) const NONE: u32 = u32::MAX;
pub(crate) const UNSCHEDULED: u8 = u8::MAX;

/// Read-only data of an instance, indexed by dense integers.
pub(crate) struct Prep {
    pub ns: usize,
    pub np: usize,
    pub nr: usize,
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    pub weight: Vec<u64>,
    /// Slots allowed for the request: sessions, both participants' availability, fixed slot.
    pub allowed: Vec<Mask>,
    pub table: Vec<bool>,
    pub preds: Vec<Vec<u32>>,
    pub succs: Vec<Vec<u32>>,
    pub quota: Vec<u32>,
    pub tables: Vec<u32>,
    /// Masks of the segments breaks are counted in (days, or the whole sequence).
    pub segments: Vec<Mask>,
    pub by_part: Vec<Vec<u32>>,
    pub has_prec: bool,
}

impl Prep {
    pub fn new(inst: &Instance, breaks_per_day: bool) -> Self {
        let ns = inst.slots.len();
        let np = inst.participants.len();
        let nr = inst.requests.len();
        let forb: Vec<Mask> = inst
            .participants
            .iter()
            .map(|p| p.forbidden.iter().fold(0, |m, &s| m | slot_bit(s)))
            .collect();
        let mut allowed = Vec::with_capacity(nr);
        let mut preds = vec![Vec::new(); nr];
        let mut succs = vec![Vec::new(); nr];
        let mut by_part = vec![Vec::new(); np];
        for (r, q) in inst.requests.iter().enumerate() {
            let mut m: Mask = 0;
            for (s, slot) in inst.slots.iter().enumerate() {
                if q.sessions
                    .as_ref()
                    .is_none_or(|ss| ss.contains(&slot.session))
                {
                    m |= 1 << s;
                }
            }
            m &= !forb[q.a] & !forb[q.b];
            if let Some(f) = q.fixed {
                m &= 1 << f;
            }
            allowed.push(m);
            for &o in &q.after {
                preds[r].push(o as u32);
                succs[o].push(r as u32);
            }
            by_part[q.a].push(r as u32);
            by_part[q.b].push(r as u32);
        }
        let segments = if breaks_per_day {
            inst.day_masks()
        } else {
            vec![full_mask(ns)]
        };
        Self {
            ns,
            np,
            nr,
            a: inst.requests.iter().map(|q| q.a as u32).collect(),
            b: inst.requests.iter().map(|q| q.b as u32).collect(),
            weight: inst.requests.iter().map(|q| u64::from(q.weight)).collect(),
            allowed,
            table: (0..nr).map(|r| uses_table(inst, r)).collect(),
            has_prec: preds.iter().any(|p| !p.is_empty()),
            preds,
            succs,
            quota: inst
                .participants
                .iter()
                .map(|p| p.max_meetings.unwrap_or(u32::MAX))
                .collect(),
            tables: inst.slots.iter().map(|s| s.tables).collect(),
            segments,
            by_part,
        }
    }

    /// Idle slots strictly inside the span of meetings, per segment.
    #[inline]
    pub fn idle_of(&self, mask: Mask) -> u32 {
        let mut total = 0;
        for &seg in &self.segments {
            let m = mask & seg;
            if m != 0 {
                let span = Mask::BITS - m.leading_zeros() - m.trailing_zeros();
                total += span - m.count_ones();
            }
        }
        total
    }

    #[inline]
    pub fn breaks_of(&self, mask: Mask) -> u32 {
        let mut total = 0;
        for &seg in &self.segments {
            let m = mask & seg;
            if m != 0 {
                let runs = (m & !(m << 1)).count_ones();
                total += runs - 1;
            }
        }
        total
    }
}

pub(crate) fn full_mask(ns: usize) -> Mask {
    if ns >= Mask::BITS as usize {
        Mask::MAX
    } else {
        (1 << ns) - 1
    }
}

/// A set of slots, one bit per slot: a participant's calendar, a request's allowed slots, a
/// day. Two machine words, so an event may have up to 128 slots (`MAX_SLOTS`).
pub(crate) type Mask = u128;

/// The set holding slot `t` alone.
#[inline]
pub(crate) fn slot_bit(t: usize) -> Mask {
    1 << t
}

/// A schedule under construction. Hard constraints other than "must schedule all" and fairness
/// always hold: placement goes through [`State::can_place`].
#[derive(Clone)]
pub(crate) struct State {
    pub slot: Vec<u8>,
    pub busy: Vec<Mask>,
    /// Request held by participant p in slot s, at `p * ns + s`.
    pub occ: Vec<u32>,
    pub used: Vec<u32>,
    pub count: Vec<u32>,
    pub breaks: Vec<u32>,
    pub hist: Vec<u32>,
    pub total_breaks: i64,
    pub idle: Vec<u32>,
    pub total_idle: i64,
    pub weight: u64,
    pub scheduled: usize,
}

impl State {
    pub fn new(p: &Prep) -> Self {
        let mut hist = vec![0u32; p.ns + 1];
        hist[0] = p.np as u32;
        Self {
            slot: vec![UNSCHEDULED; p.nr],
            busy: vec![0; p.np],
            occ: vec![NONE; p.np * p.ns],
            used: vec![0; p.ns],
            count: vec![0; p.np],
            breaks: vec![0; p.np],
            hist,
            total_breaks: 0,
            idle: vec![0; p.np],
            total_idle: 0,
            weight: 0,
            scheduled: 0,
        }
    }

    /// Whether unscheduled request `r` fits in slot `t` now.
    #[inline]
    pub fn can_place(&self, p: &Prep, r: usize, t: usize) -> bool {
        let (a, b) = (p.a[r] as usize, p.b[r] as usize);
        let bit = slot_bit(t);
        p.allowed[r] & bit != 0
            && (self.busy[a] | self.busy[b]) & bit == 0
            && (!p.table[r] || self.used[t] < p.tables[t])
            && self.count[a] < p.quota[a]
            && self.count[b] < p.quota[b]
            && (!p.has_prec || self.prec_ok(p, r, t))
    }

    pub fn prec_ok(&self, p: &Prep, r: usize, t: usize) -> bool {
        p.preds[r].iter().all(|&o| {
            let s = self.slot[o as usize];
            s == UNSCHEDULED || (s as usize) < t
        }) && p.succs[r].iter().all(|&o| {
            let s = self.slot[o as usize];
            s == UNSCHEDULED || (s as usize) > t
        })
    }

    #[inline]
    fn set_breaks(&mut self, p: &Prep, x: usize) {
        let ni = p.idle_of(self.busy[x]);
        self.total_idle += i64::from(ni) - i64::from(self.idle[x]);
        self.idle[x] = ni;
        let nb = p.breaks_of(self.busy[x]);
        let ob = self.breaks[x];
        if nb != ob {
            self.hist[ob as usize] -= 1;
            self.hist[nb as usize] += 1;
            self.total_breaks += i64::from(nb) - i64::from(ob);
            self.breaks[x] = nb;
        }
    }

    pub fn place(&mut self, p: &Prep, r: usize, t: usize) {
        let (a, b) = (p.a[r] as usize, p.b[r] as usize);
        let bit = slot_bit(t);
        self.slot[r] = t as u8;
        for x in [a, b] {
            self.busy[x] |= bit;
            self.occ[x * p.ns + t] = r as u32;
            self.count[x] += 1;
            self.set_breaks(p, x);
        }
        if p.table[r] {
            self.used[t] += 1;
        }
        self.weight += p.weight[r];
        self.scheduled += 1;
    }

    pub fn unplace(&mut self, p: &Prep, r: usize) {
        let t = self.slot[r] as usize;
        debug_assert!(t != UNSCHEDULED as usize);
        let (a, b) = (p.a[r] as usize, p.b[r] as usize);
        let bit = slot_bit(t);
        self.slot[r] = UNSCHEDULED;
        for x in [a, b] {
            self.busy[x] &= !bit;
            self.occ[x * p.ns + t] = NONE;
            self.count[x] -= 1;
            self.set_breaks(p, x);
        }
        if p.table[r] {
            self.used[t] -= 1;
        }
        self.weight -= p.weight[r];
        self.scheduled -= 1;
    }

    /// Largest minus smallest break count over participants.
    #[inline]
    pub fn spread(&self) -> u32 {
        let hi = self.hist.iter().rposition(|&c| c > 0).unwrap_or(0);
        let lo = self.hist.iter().position(|&c| c > 0).unwrap_or(0);
        (hi - lo) as u32
    }

    pub fn to_plan(&self) -> Plan {
        Plan {
            slot: self
                .slot
                .iter()
                .map(|&s| {
                    if s == UNSCHEDULED {
                        None
                    } else {
                        Some(s as usize)
                    }
                })
                .collect(),
            table: Vec::new(),
        }
    }
}

/// Whether `s` keeps the spread of breaks within the fairness cap of `rules`.
pub(crate) fn fair_ok(s: &State, rules: Rules) -> bool {
    rules.fairness.is_none_or(|d| s.spread() <= d)
}

/// A state holding exactly these slots, if they satisfy the hard constraints.
pub(crate) fn state_from_slots(p: &Prep, slots: &[u8]) -> Option<State> {
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
