//! Seeded generators of synthetic events (large fairs for the benchmark, tiny ones for tests)
//! and of the re-planning scenario that follows a published plan.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{Instance, Participant, PreviousMeeting, Request, Slot};
use crate::validate::Plan;

/// Shape of a synthetic fair.
#[derive(Clone, Debug)]
pub struct FairShape {
    pub buyers: usize,
    pub suppliers: usize,
    pub requests: usize,
    pub days: u32,
    pub slots_per_session: usize,
    pub tables: u32,
    /// Share of participant-slot cells that are forbidden.
    pub forbidden: f64,
    /// Share of suppliers who receive at their own stand.
    pub stands: f64,
}

impl FairShape {
    /// The benchmark's event: 2,000 participants, 20,000 requests, 24 slots over 2 days with
    /// morning and afternoon sessions, 150 shared tables, 10% forbidden cells.
    pub fn large() -> Self {
        Self {
            buyers: 1000,
            suppliers: 1000,
            requests: 20_000,
            days: 2,
            slots_per_session: 6,
            tables: 150,
            forbidden: 0.10,
            stands: 0.2,
        }
    }
}

/// A fair: buyers `0..buyers`, then suppliers. Supplier popularity is skewed; weights are 1
/// (one-sided), 3 (mutual) or 10 (organizer-forced); a fifth of requests are limited to one
/// day; quotas come from packages.
pub fn fair(shape: &FairShape, seed: u64) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut slots = Vec::new();
    for d in 0..shape.days {
        for half in 0..2 {
            for _ in 0..shape.slots_per_session {
                slots.push(Slot {
                    day: d,
                    session: d * 2 + half,
                    tables: shape.tables,
                });
            }
        }
    }
    let ns = slots.len();
    let np = shape.buyers + shape.suppliers;
    let mut participants = Vec::with_capacity(np);
    for i in 0..np {
        let buyer = i < shape.buyers;
        let forbidden = (0..ns).filter(|_| rng.gen_bool(shape.forbidden)).collect();
        let packages: &[Option<u32>] = if buyer {
            &[Some(8), Some(12), Some(16), None]
        } else {
            &[Some(12), Some(16), None]
        };
        participants.push(Participant {
            name: format!("{} {}", if buyer { "buyer" } else { "supplier" }, i),
            own_stand: !buyer && rng.gen_bool(shape.stands),
            max_meetings: packages[rng.gen_range(0..packages.len())],
            forbidden,
        });
    }
    // Supplier popularity ~ 1 / (rank + 20).
    let cum: Vec<f64> = (0..shape.suppliers)
        .scan(0.0, |acc, k| {
            *acc += 1.0 / (k as f64 + 20.0);
            Some(*acc)
        })
        .collect();
    let total = cum.last().copied().unwrap_or(1.0);
    let mut seen = std::collections::HashSet::new();
    let mut requests = Vec::with_capacity(shape.requests);
    let mut guard = 0;
    while requests.len() < shape.requests && guard < shape.requests * 50 {
        guard += 1;
        let b = rng.gen_range(0..shape.buyers);
        let x = rng.gen::<f64>() * total;
        let k = cum.partition_point(|&c| c < x).min(shape.suppliers - 1);
        let s = shape.buyers + k;
        if !seen.insert((b, s)) {
            continue;
        }
        let roll: f64 = rng.gen();
        let weight = if roll < 0.05 {
            10
        } else if roll < 0.35 {
            3
        } else {
            1
        };
        let sessions = if rng.gen_bool(0.2) && shape.days > 1 {
            let d = rng.gen_range(0..shape.days);
            Some(vec![d * 2, d * 2 + 1])
        } else {
            None
        };
        let (a, bb) = if rng.gen_bool(0.5) { (b, s) } else { (s, b) };
        requests.push(Request {
            a,
            b: bb,
            weight,
            sessions,
            fixed: None,
            after: Vec::new(),
        });
    }
    Instance {
        participants,
        slots,
        requests,
        previous: Vec::new(),
    }
}

/// A small random instance for tests: every field exercised, always valid input.
pub fn tiny(seed: u64, np: usize, ns: usize, nr: usize) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let slots = (0..ns)
        .map(|s| Slot {
            day: u32::from(s >= ns.div_ceil(2) && rng.gen_bool(0.5)),
            session: (s * 2 / ns.max(1)) as u32,
            tables: rng.gen_range(1..=3),
        })
        .collect::<Vec<_>>();
    // Days must be non-decreasing.
    let mut slots = slots;
    let mut d = 0;
    for s in &mut slots {
        d = d.max(s.day);
        s.day = d;
    }
    let participants = (0..np)
        .map(|i| Participant {
            name: format!("p{i}"),
            own_stand: rng.gen_bool(0.2),
            max_meetings: if rng.gen_bool(0.3) {
                Some(rng.gen_range(0..4))
            } else {
                None
            },
            forbidden: (0..ns).filter(|_| rng.gen_bool(0.15)).collect(),
        })
        .collect::<Vec<Participant>>();
    let mut requests: Vec<Request> = Vec::new();
    for r in 0..nr {
        let a = rng.gen_range(0..np);
        let mut b = rng.gen_range(0..np - 1);
        if b >= a {
            b += 1;
        }
        let after = if r > 0 && rng.gen_bool(0.1) {
            vec![rng.gen_range(0..r)]
        } else {
            vec![]
        };
        let sessions = if rng.gen_bool(0.2) {
            Some(vec![slots[rng.gen_range(0..ns)].session])
        } else {
            None
        };
        let fixed = if rng.gen_bool(0.05) {
            let s = rng.gen_range(0..ns);
            let ok = !participants[a].forbidden.contains(&s)
                && !participants[b].forbidden.contains(&s)
                && sessions
                    .as_ref()
                    .is_none_or(|ss: &Vec<u32>| ss.contains(&slots[s].session));
            ok.then_some(s)
        } else {
            None
        };
        requests.push(Request {
            a,
            b,
            weight: rng.gen_range(1..4),
            sessions,
            fixed,
            after,
        });
    }
    Instance {
        participants,
        slots,
        requests,
        previous: Vec::new(),
    }
}

/// The re-planning scenario: `cancel` of the participants leave (every slot becomes forbidden
/// for them), `added` new requests arrive among the others, and the plan becomes the previous
/// plan. Returns the new instance and which participants are touched (cancelled, or in a new
/// request).
pub fn replan_scenario(
    inst: &Instance,
    plan: &Plan,
    cancel: f64,
    added: usize,
    seed: u64,
) -> (Instance, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let np = inst.participants.len();
    let ns = inst.slots.len();
    let mut out = inst.clone();
    let mut touched = vec![false; np];
    let mut cancelled = vec![false; np];
    for p in 0..np {
        if rng.gen_bool(cancel) {
            cancelled[p] = true;
            touched[p] = true;
            out.participants[p].forbidden = (0..ns).collect();
        }
    }
    let mut seen: std::collections::HashSet<(usize, usize)> = inst
        .requests
        .iter()
        .map(|q| (q.a.min(q.b), q.a.max(q.b)))
        .collect();
    let mut n = 0;
    let mut guard = 0;
    while n < added && guard < added * 100 {
        guard += 1;
        let a = rng.gen_range(0..np);
        let b = rng.gen_range(0..np);
        if a == b || cancelled[a] || cancelled[b] || !seen.insert((a.min(b), a.max(b))) {
            continue;
        }
        touched[a] = true;
        touched[b] = true;
        out.requests.push(Request {
            a,
            b,
            weight: if rng.gen_bool(0.3) { 3 } else { 1 },
            sessions: None,
            fixed: None,
            after: Vec::new(),
        });
        n += 1;
    }
    out.previous = plan
        .slot
        .iter()
        .enumerate()
        .filter_map(|(r, s)| {
            let q = &inst.requests[r];
            let s = (*s)?;
            (!cancelled[q.a] && !cancelled[q.b]).then_some(PreviousMeeting {
                request: r,
                slot: s,
            })
        })
        .collect();
    (out, touched)
}
