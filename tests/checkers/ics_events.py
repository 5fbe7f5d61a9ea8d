"""Reads an iCalendar document on stdin with the `icalendar` package (an independent parser)
and prints, as JSON, its time zones and its events: UID, local start and end with their time
zone, SEQUENCE, STATUS and SUMMARY. Used by the API tests."""

import json
import sys

import icalendar


def text(value):
    raw = value.to_ical()
    return raw.decode() if isinstance(raw, bytes) else str(raw)


cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
out = {"timezones": [], "events": [], "method": str(cal.get("METHOD", ""))}
for tz in cal.walk("VTIMEZONE"):
    out["timezones"].append(
        {
            "tzid": str(tz["TZID"]),
            "parts": [
                {"kind": p.name, "from": text(p["TZOFFSETFROM"]), "to": text(p["TZOFFSETTO"])}
                for p in tz.subcomponents
            ],
        }
    )
for ev in cal.walk("VEVENT"):
    start = ev["DTSTART"]
    end = ev["DTEND"]
    out["events"].append(
        {
            "uid": str(ev["UID"]),
            "start": start.dt.strftime("%Y-%m-%dT%H:%M"),
            "end": end.dt.strftime("%Y-%m-%dT%H:%M"),
            "tzid": start.params.get("TZID"),
            "utc_offset_seconds": int(start.dt.utcoffset().total_seconds()),
            "sequence": int(ev.get("SEQUENCE", 0)),
            "status": str(ev.get("STATUS", "")),
            "summary": str(ev.get("SUMMARY", "")),
            "description": str(ev.get("DESCRIPTION", "")),
        }
    )
json.dump(out, sys.stdout)
