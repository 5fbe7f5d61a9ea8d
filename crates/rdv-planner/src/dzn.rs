//! Reader for the MiniZinc data files of the JAIR B2B benchmark (`*.dzn`): integers, `[| .. |]`
//! matrices and arrays of sets, turned into an [`Instance`] with 0-based indices.

use std::collections::HashMap;

use crate::model::{InputError, Instance, Participant, Request, Slot};

/// Parses a benchmark `.dzn` file. Meeting `m` (1-based row of `requested`) becomes request
/// `m - 1`; slots `1..=nMorningSlots` are session 0 (morning), the rest session 1.
pub fn parse_dzn(text: &str) -> Result<Instance, InputError> {
    let mut items: HashMap<String, String> = HashMap::new();
    let cleaned: String = text
        .lines()
        .map(|l| l.split('%').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    for stmt in cleaned.split(';') {
        let stmt = stmt.trim();
        if stmt.is_empty() {
            continue;
        }
        let Some((name, value)) = stmt.split_once('=') else {
            return Err(InputError::Dzn(format!(
                "statement without '=': {}",
                short(stmt)
            )));
        };
        items.insert(name.trim().to_string(), value.trim().to_string());
    }
    let int = |name: &str| -> Result<i64, InputError> {
        let v = items
            .get(name)
            .ok_or_else(|| InputError::Dzn(format!("missing {name}")))?;
        v.parse::<i64>()
            .map_err(|_| InputError::Dzn(format!("{name} is not an integer: {v}")))
    };
    let n_business = int("nBusiness")?;
    let n_meetings = int("nMeetings")?;
    let n_tables = int("nTables")?;
    let n_slots = int("nTotalSlots")?;
    let n_morning = int("nMorningSlots")?;
    if n_business <= 0 || n_slots <= 0 {
        return Err(InputError::Empty(
            "nBusiness and nTotalSlots must be positive",
        ));
    }
    if n_tables < 0 || n_morning < 0 || n_meetings < 0 {
        return Err(InputError::Dzn(
            "negative nTables, nMorningSlots or nMeetings".into(),
        ));
    }
    let requested = ints(items.get("requested").map(String::as_str).unwrap_or(""))?;
    if requested.len() % 3 != 0 || requested.len() / 3 != n_meetings as usize {
        return Err(InputError::Dzn(format!(
            "requested has {} numbers, expected 3 x nMeetings = {}",
            requested.len(),
            3 * n_meetings
        )));
    }
    let slots: Vec<Slot> = (0..n_slots)
        .map(|s| Slot {
            day: 0,
            session: u32::from(s >= n_morning),
            tables: n_tables as u32,
        })
        .collect();
    let forbidden = match items.get("forbidden") {
        Some(v) => sets(v)?,
        None => vec![Vec::new(); n_business as usize],
    };
    if forbidden.len() != n_business as usize {
        return Err(InputError::Dzn(format!(
            "forbidden has {} sets, expected nBusiness = {n_business}",
            forbidden.len()
        )));
    }
    let mut participants = Vec::with_capacity(n_business as usize);
    for (p, set) in forbidden.iter().enumerate() {
        let mut fs = Vec::new();
        for &s in set.iter().filter(|&&s| s != 0) {
            if s < 1 || s > n_slots {
                return Err(InputError::UnknownForbiddenSlot {
                    participant: p,
                    slot: s - 1,
                });
            }
            fs.push((s - 1) as usize);
        }
        participants.push(Participant {
            name: format!("business {}", p + 1),
            own_stand: false,
            max_meetings: None,
            forbidden: fs,
        });
    }
    let fixed = match items.get("fixed") {
        Some(v) => ints(v)?,
        None => vec![0; n_meetings as usize],
    };
    let precedences = match items.get("precedences") {
        Some(v) => sets(v)?,
        None => vec![Vec::new(); n_meetings as usize],
    };
    if fixed.len() != n_meetings as usize || precedences.len() != n_meetings as usize {
        return Err(InputError::Dzn(
            "fixed and precedences need one entry per meeting".into(),
        ));
    }
    let mut requests = Vec::with_capacity(n_meetings as usize);
    for (m, row) in requested.chunks(3).enumerate() {
        let conv = |x: i64| -> Result<usize, InputError> {
            if x < 1 || x > n_business {
                Err(InputError::UnknownParticipant {
                    request: m,
                    participant: x - 1,
                })
            } else {
                Ok((x - 1) as usize)
            }
        };
        let sessions = match row[2] {
            1 => Some(vec![0]),
            2 => Some(vec![1]),
            3 => None,
            other => {
                return Err(InputError::Dzn(format!(
                    "meeting {} has session code {other} (expected 1, 2 or 3)",
                    m + 1
                )))
            }
        };
        let fixed_slot = match fixed[m] {
            0 => None,
            f if f >= 1 && f <= n_slots => Some((f - 1) as usize),
            f => {
                return Err(InputError::UnknownFixedSlot {
                    request: m,
                    slot: f - 1,
                })
            }
        };
        let mut after = Vec::new();
        for &o in precedences[m].iter().filter(|&&o| o != 0) {
            if o < 1 || o > n_meetings {
                return Err(InputError::UnknownPrecedence {
                    request: m,
                    other: o - 1,
                });
            }
            after.push((o - 1) as usize);
        }
        requests.push(Request {
            a: conv(row[0])?,
            b: conv(row[1])?,
            weight: 1,
            sessions,
            fixed: fixed_slot,
            after,
        });
    }
    Instance::new(participants, slots, requests, Vec::new())
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

/// All integers of an array or matrix literal, in order.
fn ints(v: &str) -> Result<Vec<i64>, InputError> {
    let mut out = Vec::new();
    for tok in v
        .split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .filter(|t| !t.is_empty())
    {
        out.push(
            tok.parse()
                .map_err(|_| InputError::Dzn(format!("bad integer {tok}")))?,
        );
    }
    Ok(out)
}

/// An array of set literals `[{1,2},{},{0}]`; ranges `a..b` are expanded.
fn sets(v: &str) -> Result<Vec<Vec<i64>>, InputError> {
    let mut out = Vec::new();
    let mut rest = v;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            return Err(InputError::Dzn("unclosed set".into()));
        };
        let body = &rest[start + 1..start + end];
        let mut set = Vec::new();
        for part in body.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((lo, hi)) = part.split_once("..") {
                let lo: i64 = lo
                    .trim()
                    .parse()
                    .map_err(|_| InputError::Dzn(format!("bad {part}")))?;
                let hi: i64 = hi
                    .trim()
                    .parse()
                    .map_err(|_| InputError::Dzn(format!("bad {part}")))?;
                set.extend(lo..=hi);
            } else {
                set.push(
                    part.parse()
                        .map_err(|_| InputError::Dzn(format!("bad set item {part}")))?,
                );
            }
        }
        out.push(set);
        rest = &rest[start + end + 1..];
    }
    Ok(out)
}
