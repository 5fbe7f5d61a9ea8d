//! The independent checker: every hard constraint of a plan, and the objectives recomputed from
//! scratch with plain loops (no bitmasks, no solver state), so a solver bug cannot hide here.

use serde::Serialize;

use crate::model::Instance;

/// Where each request takes place. Index = request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Slot of each request, `None` when unscheduled.
    pub slot: Vec<Option<usize>>,
    /// Shared table of each request (0-based); `None` at a stand or when unscheduled. Empty when
    /// tables have not been numbered.
    pub table: Vec<Option<u32>>,
}

/// How breaks are counted and what is mandatory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// Every request must be scheduled.
    pub must_schedule_all: bool,
    /// Maximum difference of breaks between two participants.
    pub fairness: Option<u32>,
    /// Count breaks within each day (real events) instead of over the whole sequence.
    pub breaks_per_day: bool,
}

/// The objective values of a plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Objectives {
    pub scheduled: usize,
    pub scheduled_weight: u64,
    /// Meetings of the previous plan that moved or disappeared.
    pub moved: usize,
    pub breaks: u64,
    /// Largest minus smallest number of breaks over participants.
    pub break_spread: u32,
    pub table_changes: u64,
    pub breaks_per_participant: Vec<u32>,
    pub meetings_per_participant: Vec<u32>,
}

/// The verdict of [`validate`].
#[derive(Clone, Debug, Serialize)]
pub struct Validation {
    pub violations: Vec<String>,
    pub objectives: Objectives,
}

impl Validation {
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Whether the request uses a shared table (neither side receives at a stand).
pub fn uses_table(inst: &Instance, r: usize) -> bool {
    let q = &inst.requests[r];
    !inst.participants[q.a].own_stand && !inst.participants[q.b].own_stand
}

/// Checks every hard constraint and recomputes the objectives.
pub fn validate(inst: &Instance, plan: &Plan, rules: &Rules) -> Validation {
    let mut v = Vec::new();
    let np = inst.participants.len();
    let ns = inst.slots.len();
    let nr = inst.requests.len();
    if plan.slot.len() != nr {
        v.push(format!(
            "plan has {} entries for {nr} requests",
            plan.slot.len()
        ));
        return Validation {
            violations: v,
            objectives: Objectives::default(),
        };
    }
    let check_tables = !plan.table.is_empty();
    if check_tables && plan.table.len() != nr {
        v.push(format!(
            "plan has {} table entries for {nr} requests",
            plan.table.len()
        ));
        return Validation {
            violations: v,
            objectives: Objectives::default(),
        };
    }
    let mut at: Vec<Vec<Option<usize>>> = vec![vec![None; ns]; np];
    let mut tables_used = vec![0u32; ns];
    let mut table_owner: Vec<Vec<Option<usize>>> = inst
        .slots
        .iter()
        .map(|s| vec![None; s.tables as usize])
        .collect();
    let mut meetings = vec![0u32; np];
    let mut obj = Objectives::default();
    for (r, req) in inst.requests.iter().enumerate() {
        let Some(s) = plan.slot[r] else {
            if rules.must_schedule_all {
                v.push(format!("request {r} is not scheduled"));
            }
            if check_tables && plan.table[r].is_some() {
                v.push(format!("unscheduled request {r} has a table"));
            }
            continue;
        };
        if s >= ns {
            v.push(format!("request {r} is in unknown slot {s}"));
            continue;
        }
        obj.scheduled += 1;
        obj.scheduled_weight += u64::from(req.weight);
        for p in [req.a, req.b] {
            if let Some(other) = at[p][s] {
                v.push(format!(
                    "participant {p} has requests {other} and {r} in slot {s}"
                ));
            }
            at[p][s] = Some(r);
            meetings[p] += 1;
            if inst.participants[p].forbidden.contains(&s) {
                v.push(format!(
                    "request {r} is in slot {s}, forbidden for participant {p}"
                ));
            }
        }
        if let Some(ss) = &req.sessions {
            if !ss.contains(&inst.slots[s].session) {
                v.push(format!("request {r} is in slot {s}, outside its sessions"));
            }
        }
        if let Some(f) = req.fixed {
            if f != s {
                v.push(format!(
                    "request {r} is fixed to slot {f} but placed in {s}"
                ));
            }
        }
        for &o in &req.after {
            if let Some(so) = plan.slot[o] {
                if so >= s {
                    v.push(format!(
                        "request {o} (slot {so}) must precede request {r} (slot {s})"
                    ));
                }
            }
        }
        let table = uses_table(inst, r);
        if table {
            tables_used[s] += 1;
        }
        if check_tables {
            match (table, plan.table[r]) {
                (true, Some(t)) => match table_owner[s].get_mut(t as usize) {
                    Some(slot @ None) => *slot = Some(r),
                    Some(Some(o)) => {
                        v.push(format!("requests {o} and {r} share table {t} in slot {s}"))
                    }
                    None => v.push(format!("request {r} has unknown table {t} in slot {s}")),
                },
                (true, None) => v.push(format!("request {r} has no table")),
                (false, Some(t)) => v.push(format!("request {r} at a stand has table {t}")),
                (false, None) => {}
            }
        }
    }
    for (s, &u) in tables_used.iter().enumerate() {
        if u > inst.slots[s].tables {
            v.push(format!(
                "slot {s} uses {u} tables of {}",
                inst.slots[s].tables
            ));
        }
    }
    for (p, &m) in meetings.iter().enumerate() {
        if let Some(q) = inst.participants[p].max_meetings {
            if m > q {
                v.push(format!("participant {p} has {m} meetings, quota {q}"));
            }
        }
    }
    // Breaks: idle runs strictly between two meetings, optionally reset at day boundaries.
    let mut breaks = vec![0u32; np];
    let mut changes = 0u64;
    for p in 0..np {
        let mut last: Option<usize> = None;
        let mut last_place: Option<(bool, u32, usize)> = None;
        for s in 0..ns {
            let Some(r) = at[p][s] else { continue };
            if let Some(l) = last {
                let same_day = inst.slots[l].day == inst.slots[s].day;
                if s > l + 1 && (same_day || !rules.breaks_per_day) {
                    breaks[p] += 1;
                }
            }
            // A place is a stand (of its holder) or a table number.
            let req = &inst.requests[r];
            let place = if uses_table(inst, r) {
                (
                    false,
                    plan.table.get(r).copied().flatten().unwrap_or(u32::MAX),
                    0,
                )
            } else {
                let host = if inst.participants[req.a].own_stand {
                    req.a
                } else {
                    req.b
                };
                (true, 0, host)
            };
            if let (Some(lp), Some(l)) = (last_place, last) {
                if lp != place && inst.slots[l].day == inst.slots[s].day {
                    changes += 1;
                }
            }
            last_place = Some(place);
            last = Some(s);
        }
    }
    let max_b = breaks.iter().copied().max().unwrap_or(0);
    let min_b = breaks.iter().copied().min().unwrap_or(0);
    obj.break_spread = max_b - min_b;
    if let Some(d) = rules.fairness {
        if obj.break_spread > d {
            v.push(format!(
                "breaks range from {min_b} to {max_b}, more than fairness {d}"
            ));
        }
    }
    obj.breaks = breaks.iter().map(|&b| u64::from(b)).sum();
    obj.moved = inst
        .previous
        .iter()
        .filter(|pm| plan.slot[pm.request] != Some(pm.slot))
        .count();
    obj.table_changes = if check_tables { changes } else { 0 };
    obj.breaks_per_participant = breaks;
    obj.meetings_per_participant = meetings;
    Validation {
        violations: v,
        objectives: obj,
    }
}
