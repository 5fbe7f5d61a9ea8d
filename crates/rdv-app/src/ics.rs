//! A participant's agenda as an iCalendar feed (RFC 5545), written with the `ics` crate: times
//! in the event's time zone with its VTIMEZONE, one VEVENT per meeting under a UID that never
//! changes, SEQUENCE raised at each change and STATUS:CANCELLED for a cancelled meeting, so
//! that calendar clients update their copy rather than add one. Pure: no I/O.

use crate::agenda::Agenda;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use ics::components::Property;
use ics::parameters;
use ics::properties::{
    Description, DtEnd, DtStart, Location, Method, Sequence, Status, Summary, TzName,
};
use ics::{escape_text, Daylight, Event, ICalendar, Standard, TimeZone as VTimeZone};
use rdv_domain::MeetingStatus;

const LOCAL: &str = "%Y%m%dT%H%M%S";

fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// `+HHMM` or `-HHMM`.
fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

/// A change of the zone's UTC offset: when (UTC), from, to, its abbreviation, and whether
/// daylight saving time starts.
struct Transition {
    at: DateTime<Utc>,
    from: i32,
    to: i32,
    name: String,
    daylight: bool,
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> (i32, String, bool) {
    let o = tz.offset_from_utc_datetime(&t.naive_utc());
    let secs = o.fix().local_minus_utc();
    let daylight = !o.dst_offset().is_zero();
    (secs, o.abbreviation().unwrap_or("").to_owned(), daylight)
}

/// The zone's offset changes from January of `first` to December of `last`, found hour by
/// hour and then to the minute.
fn transitions(tz: Tz, first: i32, last: i32) -> Vec<Transition> {
    let (Some(start), Some(end)) = (
        NaiveDate::from_ymd_opt(first, 1, 1),
        NaiveDate::from_ymd_opt(last + 1, 1, 1),
    ) else {
        return Vec::new();
    };
    let mut t = Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default());
    let end = Utc.from_utc_datetime(&end.and_hms_opt(0, 0, 0).unwrap_or_default());
    let mut out = Vec::new();
    let mut before = offset_at(tz, t);
    while t < end {
        let next = t + Duration::hours(1);
        let after = offset_at(tz, next);
        if after.0 != before.0 || after.2 != before.2 {
            // The change lies in (t, next]: find its minute.
            let mut at = t;
            while offset_at(tz, at).0 == before.0 && offset_at(tz, at).2 == before.2 && at < next {
                at += Duration::minutes(1);
            }
            out.push(Transition {
                at,
                from: before.0,
                to: after.0,
                name: after.1.clone(),
                daylight: after.2,
            });
            before = after;
        }
        t = next;
    }
    out
}

/// The VTIMEZONE of `tz` over the years `first..=last`: a part for the offset in force on 1
/// January of `first`, then one STANDARD or DAYLIGHT part per offset change.
fn vtimezone(tz: Tz, first: i32, last: i32) -> VTimeZone<'static> {
    let start = Utc.from_utc_datetime(
        &NaiveDate::from_ymd_opt(first, 1, 1)
            .unwrap_or_default()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
    );
    let (secs, name, daylight) = offset_at(tz, start);
    let initial = Transition {
        at: start,
        from: secs,
        to: secs,
        name,
        daylight,
    };
    let mut zone: Option<VTimeZone<'static>> = None;
    for c in std::iter::once(initial).chain(transitions(tz, first, last)) {
        // DTSTART is the local time of the change, in the offset in force before it.
        let local = (c.at + Duration::seconds(i64::from(c.from)))
            .format(LOCAL)
            .to_string();
        let (from, to) = (offset_text(c.from), offset_text(c.to));
        if c.daylight {
            let mut part = Daylight::new(local, from, to);
            if !c.name.is_empty() {
                part.push(TzName::new(c.name.clone()));
            }
            match zone.as_mut() {
                Some(z) => z.add_daylight(part),
                None => zone = Some(VTimeZone::daylight(tz.name().to_owned(), part)),
            }
        } else {
            let mut part = Standard::new(local, from, to);
            if !c.name.is_empty() {
                part.push(TzName::new(c.name.clone()));
            }
            match zone.as_mut() {
                Some(z) => z.add_standard(part),
                None => zone = Some(VTimeZone::standard(tz.name().to_owned(), part)),
            }
        }
    }
    zone.unwrap_or_else(|| {
        VTimeZone::standard(
            tz.name().to_owned(),
            Standard::new("19700101T000000", "+0000", "+0000"),
        )
    })
}

/// Renders `agenda` (cancelled meetings included) as an iCalendar document; `host` names the
/// platform in the UIDs, `now` stamps the events.
pub fn render(agenda: &Agenda, tz: Tz, host: &str, now: DateTime<Utc>) -> String {
    let mut cal = ICalendar::new("2.0", "-//rdv//agenda//EN");
    cal.push(Method::new("PUBLISH"));
    cal.push(Property::new(
        "X-WR-CALNAME",
        escape_text(agenda.event.name.clone()),
    ));
    cal.push(Property::new("X-WR-TIMEZONE", tz.name().to_owned()));
    // The zone's rules over the years the meetings span (the event's first year when there
    // is none): a feed's size does not grow with the event's dates.
    let years = agenda.meetings.iter().map(|m| m.span.starts_at.year());
    let first = years.clone().min().unwrap_or(agenda.event.starts_on.year());
    let last = years.max().unwrap_or(first).min(first + 2);
    cal.add_timezone(vtimezone(tz, first, last));
    let stamp = utc_stamp(now);
    for m in &agenda.meetings {
        let mut ev = Event::new(format!("meeting-{}@{host}", m.meeting_id), stamp.clone());
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).format(LOCAL).to_string();
        let mut start = DtStart::new(local(m.span.starts_at));
        start.append(parameters!("TZID" => tz.name()));
        let mut end = DtEnd::new(local(m.span.ends_at));
        end.append(parameters!("TZID" => tz.name()));
        ev.push(start);
        ev.push(end);
        ev.push(Sequence::new(m.sequence.max(0).to_string()));
        ev.push(if m.status == MeetingStatus::Cancelled {
            Status::cancelled()
        } else {
            Status::confirmed()
        });
        let who = &m.counterpart;
        let company = who.company.as_deref().unwrap_or("");
        let summary = if company.is_empty() {
            format!("Meeting: {} {}", who.first_name, who.last_name)
        } else {
            format!("Meeting: {} {} ({company})", who.first_name, who.last_name)
        };
        ev.push(Summary::new(escape_text(summary)));
        let place = match &agenda.event.venue {
            Some(v) => format!("{}, {v}", m.place),
            None => m.place.clone(),
        };
        ev.push(Location::new(escape_text(place)));
        let mut about = format!("{} {}", who.first_name, who.last_name);
        if let Some(j) = &who.job_title {
            about.push_str(&format!(", {j}"));
        }
        if !company.is_empty() {
            about.push_str(&format!(", {company}"));
        }
        ev.push(Description::new(escape_text(format!(
            "{about}\n{}",
            agenda.event.name
        ))));
        cal.add_event(ev);
    }
    cal.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_changes_twice_a_year_at_the_legal_times() {
        let t = transitions(chrono_tz::Europe::Paris, 2027, 2027);
        assert_eq!(t.len(), 2);
        // Summer time starts on the last Sunday of March at 01:00 UTC (02:00 local).
        assert_eq!(utc_stamp(t[0].at), "20270328T010000Z");
        assert!(t[0].daylight);
        assert_eq!(
            (offset_text(t[0].from), offset_text(t[0].to)),
            ("+0100".into(), "+0200".into())
        );
        assert_eq!(utc_stamp(t[1].at), "20271031T010000Z");
        assert!(!t[1].daylight);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape_text("a, b; c\nd"), "a\\, b\\; c\\nd");
    }

    #[test]
    fn the_zone_starts_with_the_offset_in_force_on_the_first_of_january() {
        let z = vtimezone(chrono_tz::Europe::Paris, 2027, 2027).to_string();
        let first = z.find("BEGIN:STANDARD").unwrap();
        assert!(first < z.find("BEGIN:DAYLIGHT").unwrap(), "{z}");
        assert!(z.contains("DTSTART:20270101T010000"), "{z}");
    }

    #[test]
    fn zones_without_changes_have_one_standard_part() {
        let z = vtimezone(chrono_tz::Asia::Tokyo, 2027, 2027).to_string();
        assert!(z.contains("TZID:Asia/Tokyo"), "{z}");
        assert!(z.contains("TZOFFSETTO:+0900"), "{z}");
        assert!(!z.contains("DAYLIGHT"), "{z}");
    }
}
