//! Meeting slots of one event day, generated from the day's hours, the slot length and breaks.
//! Times are local to the event; the caller attaches the event's time zone.

use chrono::{Duration, NaiveTime, Timelike};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("ends at {end} which is not after its start {start}")]
    EndsBeforeStart { start: NaiveTime, end: NaiveTime },
    #[error("slot length must be between 5 and 240 minutes (got {0})")]
    SlotLength(i64),
    #[error("break {start}-{end} is outside the day's hours")]
    BreakOutsideDay { start: NaiveTime, end: NaiveTime },
    #[error("breaks {0} and {1} overlap")]
    BreaksOverlap(String, String),
    #[error("no slot of {0} minutes fits in the day")]
    NoSlot(i64),
}

/// A half-open time range `[start, end)` within one day; `end` after `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    start: NaiveTime,
    end: NaiveTime,
}

impl TimeRange {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, SlotError> {
        if end <= start {
            return Err(SlotError::EndsBeforeStart { start, end });
        }
        Ok(Self { start, end })
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }

    fn overlaps(&self, other: &TimeRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    fn label(&self) -> String {
        format!(
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// A day's opening hours, slot length and breaks (lunch, coffee), all local times.
#[derive(Debug, Clone)]
pub struct DayPlan {
    pub hours: TimeRange,
    pub slot_minutes: i64,
    pub breaks: Vec<TimeRange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneratedSlot {
    pub starts: NaiveTime,
    pub ends: NaiveTime,
    /// "morning", "afternoon" or "evening": runs of slots between breaks form sessions, named
    /// after the start of their first slot.
    pub session_label: &'static str,
}

fn session_label(t: NaiveTime) -> &'static str {
    match t.hour() {
        0..=11 => "morning",
        12..=17 => "afternoon",
        _ => "evening",
    }
}

/// The slots of a day, in order. Slots never overlap a break; after a break the next slot
/// starts when the break ends.
pub fn generate_slots(plan: &DayPlan) -> Result<Vec<GeneratedSlot>, SlotError> {
    if !(5..=240).contains(&plan.slot_minutes) {
        return Err(SlotError::SlotLength(plan.slot_minutes));
    }
    let mut breaks = plan.breaks.clone();
    breaks.sort_by_key(|b| b.start);
    for b in &breaks {
        if b.start < plan.hours.start || b.end > plan.hours.end {
            return Err(SlotError::BreakOutsideDay {
                start: b.start,
                end: b.end,
            });
        }
    }
    for pair in breaks.windows(2) {
        if pair[0].overlaps(&pair[1]) {
            return Err(SlotError::BreaksOverlap(pair[0].label(), pair[1].label()));
        }
    }
    let len = Duration::minutes(plan.slot_minutes);
    let mut slots = Vec::new();
    let mut t = plan.hours.start;
    let mut label = session_label(t);
    let mut next_break = breaks.iter().peekable();
    loop {
        let (end, wrapped) = t.overflowing_add_signed(len);
        if wrapped != 0 || end > plan.hours.end {
            break;
        }
        let slot = TimeRange { start: t, end };
        match next_break.peek() {
            Some(b) if slot.overlaps(b) => {
                t = b.end;
                label = session_label(t);
                next_break.next();
            }
            Some(b) if b.end <= slot.start => {
                next_break.next();
            }
            _ => {
                slots.push(GeneratedSlot {
                    starts: t,
                    ends: end,
                    session_label: label,
                });
                t = end;
            }
        }
    }
    if slots.is_empty() {
        return Err(SlotError::NoSlot(plan.slot_minutes));
    }
    Ok(slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn a_fair_day_with_lunch() {
        let plan = DayPlan {
            hours: TimeRange::new(t(9, 0), t(18, 0)).unwrap(),
            slot_minutes: 20,
            breaks: vec![TimeRange::new(t(12, 30), t(14, 0)).unwrap()],
        };
        let slots = generate_slots(&plan).unwrap();
        // 09:00-12:30 holds 10 slots, 14:00-18:00 holds 12.
        assert_eq!(slots.len(), 22);
        assert_eq!(slots[9].ends, t(12, 20));
        assert_eq!(slots[10].starts, t(14, 0));
        assert_eq!(slots[9].session_label, "morning");
        assert_eq!(slots[10].session_label, "afternoon");
        assert!(slots.windows(2).all(|w| w[0].ends <= w[1].starts));
    }

    #[test]
    fn a_coffee_break_keeps_the_morning_label_and_shifts_slots() {
        let plan = DayPlan {
            hours: TimeRange::new(t(9, 0), t(11, 0)).unwrap(),
            slot_minutes: 30,
            breaks: vec![TimeRange::new(t(9, 45), t(10, 0)).unwrap()],
        };
        let starts: Vec<_> = generate_slots(&plan)
            .unwrap()
            .iter()
            .map(|s| s.starts)
            .collect();
        assert_eq!(starts, vec![t(9, 0), t(10, 0), t(10, 30)]);
    }

    #[test]
    fn bad_plans_are_rejected() {
        assert!(matches!(
            TimeRange::new(t(10, 0), t(9, 0)),
            Err(SlotError::EndsBeforeStart { .. })
        ));
        let day = TimeRange::new(t(9, 0), t(10, 0)).unwrap();
        let plan = |slot_minutes, breaks| DayPlan {
            hours: day,
            slot_minutes,
            breaks,
        };
        assert_eq!(
            generate_slots(&plan(3, vec![])),
            Err(SlotError::SlotLength(3))
        );
        assert_eq!(
            generate_slots(&plan(90, vec![])),
            Err(SlotError::NoSlot(90))
        );
        let late = TimeRange::new(t(9, 50), t(10, 30)).unwrap();
        assert!(matches!(
            generate_slots(&plan(20, vec![late])),
            Err(SlotError::BreakOutsideDay { .. })
        ));
        let a = TimeRange::new(t(9, 10), t(9, 30)).unwrap();
        let b = TimeRange::new(t(9, 20), t(9, 40)).unwrap();
        assert!(matches!(
            generate_slots(&plan(10, vec![a, b])),
            Err(SlotError::BreaksOverlap(..))
        ));
    }
}
