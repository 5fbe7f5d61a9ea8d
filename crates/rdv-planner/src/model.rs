//! The planning problem as the solver sees it: participants, slots, requests, and the checks
//! that turn untrusted input (native JSON or `.dzn`) into an [`Instance`].

use serde::{Deserialize, Serialize};

/// At most this many slots: a participant's calendar is a 128-bit set (three days of 15-minute
/// slots from 8:00 to 18:00 take 120).
pub const MAX_SLOTS: usize = 128;

/// A participant of the event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Display name, used in messages only.
    #[serde(default)]
    pub name: String,
    /// Receives at their own stand: their meetings use no shared table.
    #[serde(default)]
    pub own_stand: bool,
    /// Maximum number of meetings (the package's quota); `None` means no limit.
    #[serde(default)]
    pub max_meetings: Option<u32>,
    /// Slots (0-based) the participant cannot use.
    #[serde(default)]
    pub forbidden: Vec<usize>,
}

/// One time slot; slots are given in chronological order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// Day number; breaks do not span days when counted per day.
    #[serde(default)]
    pub day: u32,
    /// Session number (e.g. 0 = day 1 morning, 1 = day 1 afternoon, ...).
    #[serde(default)]
    pub session: u32,
    /// Shared tables available in this slot.
    pub tables: u32,
}

/// A wished meeting between two participants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// First participant (0-based index).
    pub a: usize,
    /// Second participant (0-based index).
    pub b: usize,
    /// Priority; higher is more important (e.g. 1 one-sided, 3 mutual, 10 forced).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Sessions the meeting may take place in; `None` means any.
    #[serde(default)]
    pub sessions: Option<Vec<u32>>,
    /// Slot the meeting must take (locked or already published).
    #[serde(default)]
    pub fixed: Option<usize>,
    /// Requests (0-based) that must take place strictly before this one.
    #[serde(default)]
    pub after: Vec<usize>,
}

fn default_weight() -> u32 {
    1
}

/// A meeting of a previously published plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousMeeting {
    /// The request (0-based).
    pub request: usize,
    /// The slot it had (0-based).
    pub slot: usize,
}

/// A validated planning problem. Build one with [`Instance::new`] or a parser.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Instance {
    pub participants: Vec<Participant>,
    pub slots: Vec<Slot>,
    pub requests: Vec<Request>,
    /// The published plan being revised, if re-planning.
    pub previous: Vec<PreviousMeeting>,
}

/// Why an instance was rejected. Messages name the offending items.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InputError {
    #[error("empty instance: {0}")]
    Empty(&'static str),
    #[error("too many slots: {0} (at most {MAX_SLOTS})")]
    TooManySlots(usize),
    #[error("request {request} names unknown participant {participant}")]
    UnknownParticipant { request: usize, participant: i64 },
    #[error("request {request} pairs participant {participant} with itself")]
    SelfMeeting { request: usize, participant: usize },
    #[error("participant {participant} forbids unknown slot {slot}")]
    UnknownForbiddenSlot { participant: usize, slot: i64 },
    #[error("request {request} is fixed to unknown slot {slot}")]
    UnknownFixedSlot { request: usize, slot: i64 },
    #[error("request {request} is fixed to slot {slot}, forbidden for participant {participant}")]
    FixedSlotForbidden {
        request: usize,
        slot: usize,
        participant: usize,
    },
    #[error("request {request} is fixed to slot {slot}, outside its allowed sessions")]
    FixedSlotOutsideSessions { request: usize, slot: usize },
    #[error("request {request} must follow unknown request {other}")]
    UnknownPrecedence { request: usize, other: i64 },
    #[error("precedences form a cycle through request {0}")]
    PrecedenceCycle(usize),
    #[error("participant {participant} has a negative quota {quota}")]
    NegativeQuota { participant: usize, quota: i64 },
    #[error("request {request} has a negative weight {weight}")]
    NegativeWeight { request: usize, weight: i64 },
    #[error("request {request} allows no session that exists")]
    NoSession { request: usize },
    #[error("previous plan names unknown request {request} or slot {slot}")]
    UnknownPrevious { request: i64, slot: i64 },
    #[error("slots are not in day order at slot {0}")]
    DaysOutOfOrder(usize),
    #[error("invalid json at {path}: {message}")]
    Json { path: String, message: String },
    #[error("invalid dzn: {0}")]
    Dzn(String),
}

impl Instance {
    /// Checks every reference and value, so the solver never meets a bad index.
    pub fn new(
        participants: Vec<Participant>,
        slots: Vec<Slot>,
        requests: Vec<Request>,
        previous: Vec<PreviousMeeting>,
    ) -> Result<Self, InputError> {
        if participants.is_empty() {
            return Err(InputError::Empty("no participants"));
        }
        if slots.is_empty() {
            return Err(InputError::Empty("no slots"));
        }
        if slots.len() > MAX_SLOTS {
            return Err(InputError::TooManySlots(slots.len()));
        }
        for (i, w) in slots.windows(2).enumerate() {
            if w[1].day < w[0].day {
                return Err(InputError::DaysOutOfOrder(i + 1));
            }
        }
        let np = participants.len();
        let ns = slots.len();
        for (p, part) in participants.iter().enumerate() {
            if let Some(&s) = part.forbidden.iter().find(|&&s| s >= ns) {
                return Err(InputError::UnknownForbiddenSlot {
                    participant: p,
                    slot: s as i64,
                });
            }
        }
        for (r, req) in requests.iter().enumerate() {
            for x in [req.a, req.b] {
                if x >= np {
                    return Err(InputError::UnknownParticipant {
                        request: r,
                        participant: x as i64,
                    });
                }
            }
            if req.a == req.b {
                return Err(InputError::SelfMeeting {
                    request: r,
                    participant: req.a,
                });
            }
            if let Some(ss) = &req.sessions {
                if !slots.iter().any(|s| ss.contains(&s.session)) {
                    return Err(InputError::NoSession { request: r });
                }
            }
            if let Some(f) = req.fixed {
                if f >= ns {
                    return Err(InputError::UnknownFixedSlot {
                        request: r,
                        slot: f as i64,
                    });
                }
                for x in [req.a, req.b] {
                    if participants[x].forbidden.contains(&f) {
                        return Err(InputError::FixedSlotForbidden {
                            request: r,
                            slot: f,
                            participant: x,
                        });
                    }
                }
                if let Some(ss) = &req.sessions {
                    if !ss.contains(&slots[f].session) {
                        return Err(InputError::FixedSlotOutsideSessions {
                            request: r,
                            slot: f,
                        });
                    }
                }
            }
            if let Some(&o) = req.after.iter().find(|&&o| o >= requests.len() || o == r) {
                return Err(InputError::UnknownPrecedence {
                    request: r,
                    other: o as i64,
                });
            }
        }
        check_acyclic(&requests)?;
        for pm in &previous {
            if pm.request >= requests.len() || pm.slot >= ns {
                return Err(InputError::UnknownPrevious {
                    request: pm.request as i64,
                    slot: pm.slot as i64,
                });
            }
        }
        Ok(Self {
            participants,
            slots,
            requests,
            previous,
        })
    }

    /// Re-checks an instance built field by field rather than through [`Instance::new`].
    pub fn check(&self) -> Result<(), InputError> {
        Instance::new(
            self.participants.clone(),
            self.slots.clone(),
            self.requests.clone(),
            self.previous.clone(),
        )
        .map(|_| ())
    }

    /// Parses the native JSON format (see the crate README).
    pub fn from_json(text: &str) -> Result<Self, InputError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: RawInstance = match RawInstance::deserialize(de) {
            Ok(r) => r,
            Err(e) => {
                return Err(InputError::Json {
                    path: format!("line {} column {}", e.line(), e.column()),
                    message: e.to_string(),
                })
            }
        };
        raw.into_instance()
    }

    /// The native JSON form of this instance.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Index of the slot's position within its day's segment, for break counting per day.
    pub fn day_masks(&self) -> Vec<u128> {
        let mut out: Vec<u128> = Vec::new();
        let mut cur_day = None;
        for (s, slot) in self.slots.iter().enumerate() {
            if cur_day != Some(slot.day) {
                out.push(0);
                cur_day = Some(slot.day);
            }
            if let Some(m) = out.last_mut() {
                *m |= 1u128 << s;
            }
        }
        out
    }
}

fn check_acyclic(requests: &[Request]) -> Result<(), InputError> {
    // Kahn's algorithm over "after" edges.
    let n = requests.len();
    let mut indeg = vec![0usize; n];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (r, req) in requests.iter().enumerate() {
        for &o in &req.after {
            succ[o].push(r);
            indeg[r] += 1;
        }
    }
    let mut stack: Vec<usize> = (0..n).filter(|&r| indeg[r] == 0).collect();
    let mut seen = 0;
    while let Some(r) = stack.pop() {
        seen += 1;
        for &s in &succ[r] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                stack.push(s);
            }
        }
    }
    if seen < n {
        let r = (0..n).find(|&r| indeg[r] > 0).unwrap_or(0);
        return Err(InputError::PrecedenceCycle(r));
    }
    Ok(())
}

// Signed integers on the wire so that a negative quota is reported as such, not as a
// generic type error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    participants: Vec<RawParticipant>,
    slots: Vec<Slot>,
    #[serde(default)]
    requests: Vec<RawRequest>,
    #[serde(default)]
    previous: Vec<RawPrevious>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParticipant {
    #[serde(default)]
    name: String,
    #[serde(default)]
    own_stand: bool,
    #[serde(default)]
    max_meetings: Option<i64>,
    #[serde(default)]
    forbidden: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    a: i64,
    b: i64,
    #[serde(default = "default_weight_i")]
    weight: i64,
    #[serde(default)]
    sessions: Option<Vec<u32>>,
    #[serde(default)]
    fixed: Option<i64>,
    #[serde(default)]
    after: Vec<i64>,
}

fn default_weight_i() -> i64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrevious {
    request: i64,
    slot: i64,
}

impl RawInstance {
    fn into_instance(self) -> Result<Instance, InputError> {
        let ns = self.slots.len() as i64;
        let np = self.participants.len() as i64;
        let nr = self.requests.len() as i64;
        let mut participants = Vec::with_capacity(self.participants.len());
        for (p, rp) in self.participants.into_iter().enumerate() {
            let max_meetings = match rp.max_meetings {
                Some(q) if q < 0 => {
                    return Err(InputError::NegativeQuota {
                        participant: p,
                        quota: q,
                    })
                }
                Some(q) => Some(u32::try_from(q).unwrap_or(u32::MAX)),
                None => None,
            };
            let mut forbidden = Vec::with_capacity(rp.forbidden.len());
            for s in rp.forbidden {
                if s < 0 || s >= ns {
                    return Err(InputError::UnknownForbiddenSlot {
                        participant: p,
                        slot: s,
                    });
                }
                forbidden.push(s as usize);
            }
            participants.push(Participant {
                name: rp.name,
                own_stand: rp.own_stand,
                max_meetings,
                forbidden,
            });
        }
        let mut requests = Vec::with_capacity(self.requests.len());
        for (r, rr) in self.requests.into_iter().enumerate() {
            for x in [rr.a, rr.b] {
                if x < 0 || x >= np {
                    return Err(InputError::UnknownParticipant {
                        request: r,
                        participant: x,
                    });
                }
            }
            if rr.weight < 0 {
                return Err(InputError::NegativeWeight {
                    request: r,
                    weight: rr.weight,
                });
            }
            let fixed = match rr.fixed {
                Some(f) if f < 0 || f >= ns => {
                    return Err(InputError::UnknownFixedSlot {
                        request: r,
                        slot: f,
                    })
                }
                Some(f) => Some(f as usize),
                None => None,
            };
            let mut after = Vec::with_capacity(rr.after.len());
            for o in rr.after {
                if o < 0 || o >= nr {
                    return Err(InputError::UnknownPrecedence {
                        request: r,
                        other: o,
                    });
                }
                after.push(o as usize);
            }
            requests.push(Request {
                a: rr.a as usize,
                b: rr.b as usize,
                weight: u32::try_from(rr.weight).unwrap_or(u32::MAX),
                sessions: rr.sessions,
                fixed,
                after,
            });
        }
        let mut previous = Vec::with_capacity(self.previous.len());
        for pm in self.previous {
            if pm.request < 0 || pm.request >= nr || pm.slot < 0 || pm.slot >= ns {
                return Err(InputError::UnknownPrevious {
                    request: pm.request,
                    slot: pm.slot,
                });
            }
            previous.push(PreviousMeeting {
                request: pm.request as usize,
                slot: pm.slot as usize,
            });
        }
        Instance::new(participants, self.slots, requests, previous)
    }
}
