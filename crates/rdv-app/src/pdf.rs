//! Printable agendas (PDF, A4), written with `printpdf`: per participant the event, the
//! participant, and a table of meetings with day, times, place and counterpart, then their
//! unavailable slots. One document may hold many participants (the organizer's bulk print),
//! each starting on a new page. The standard Helvetica fonts need nothing embedded or
//! downloaded; they cover the Latin-1 letters (French included), other characters print as
//! `?`. Pure: no I/O.

use crate::agenda::Agenda;
use printpdf::{
    BuiltinFont, IndirectFontRef, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference,
};
use rdv_domain::MeetingStatus;

const WIDTH: f32 = 210.0;
const HEIGHT: f32 = 297.0;
const MARGIN: f32 = 15.0;
const LINE: f32 = 6.0;

/// What Helvetica's WinAnsi encoding can print: Latin-1 letters stay, others become `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            let ok = (c as u32) < 0x80 && !c.is_control()
                || ('\u{A0}'..='\u{FF}').contains(&c)
                || matches!(c, '€' | '’' | '‘' | '“' | '”' | '–' | '—' | '…' | 'œ' | 'Œ');
            if ok {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Cuts `s` to `max` characters, with an ellipsis when it was longer.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

struct Writer {
    doc: PdfDocumentReference,
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    y: f32,
    first: bool,
}

impl Writer {
    fn page(&mut self) {
        if self.first {
            self.first = false;
        } else {
            let (page, layer) = self.doc.add_page(Mm(WIDTH), Mm(HEIGHT), "agenda");
            self.layer = self.doc.get_page(page).get_layer(layer);
        }
        self.y = HEIGHT - MARGIN;
    }

    fn text(&self, s: &str, size: f32, x: f32, bold: bool) {
        let font = if bold { &self.bold } else { &self.regular };
        self.layer
            .use_text(printable(s), size, Mm(x), Mm(self.y), font);
    }

    fn down(&mut self, by: f32) {
        self.y -= by;
    }

    fn room_for(&mut self, lines: f32, header: &dyn Fn(&mut Writer)) {
        if self.y - lines * LINE < MARGIN {
            self.page();
            header(self);
        }
    }
}

fn table_header(w: &mut Writer) {
    w.text("Day", 9.0, MARGIN, true);
    w.text("Time", 9.0, MARGIN + 24.0, true);
    w.text("Place", 9.0, MARGIN + 50.0, true);
    w.text("Meeting with", 9.0, MARGIN + 85.0, true);
    w.down(LINE);
}

/// Renders the agendas, one participant after the other.
pub fn render(agendas: &[Agenda], title: &str) -> Result<Vec<u8>, String> {
    let (doc, page, layer) = PdfDocument::new(printable(title), Mm(WIDTH), Mm(HEIGHT), "agenda");
    let regular = doc
        .add_builtin_font(BuiltinFont::Helvetica)
        .map_err(|e| e.to_string())?;
    let bold = doc
        .add_builtin_font(BuiltinFont::HelveticaBold)
        .map_err(|e| e.to_string())?;
    let layer = doc.get_page(page).get_layer(layer);
    let mut w = Writer {
        doc,
        layer,
        regular,
        bold,
        y: HEIGHT - MARGIN,
        first: true,
    };
    if agendas.is_empty() {
        w.page();
        w.text(title, 16.0, MARGIN, true);
        w.down(LINE * 2.0);
        w.text(
            "No participant has a published agenda yet.",
            10.0,
            MARGIN,
            false,
        );
    }
    for a in agendas {
        w.page();
        let ev = &a.event;
        w.text(&fit(&ev.name, 70), 16.0, MARGIN, true);
        w.down(LINE * 1.2);
        let venue = ev.venue.as_deref().unwrap_or("");
        let when = if ev.starts_on == ev.ends_on {
            ev.starts_on.format("%d/%m/%Y").to_string()
        } else {
            format!(
                "{} to {}",
                ev.starts_on.format("%d/%m/%Y"),
                ev.ends_on.format("%d/%m/%Y")
            )
        };
        w.text(&fit(&format!("{when}  {venue}"), 100), 10.0, MARGIN, false);
        w.down(LINE * 1.6);
        let me = &a.me;
        let mut who = format!("{} {}", me.first_name, me.last_name);
        if let Some(c) = &me.company {
            who.push_str(&format!(", {c}"));
        }
        w.text(&fit(&who, 70), 13.0, MARGIN, true);
        w.down(LINE);
        let version = a.version.map_or_else(
            || "not published yet".to_owned(),
            |v| format!("agenda version {v}"),
        );
        w.text(
            &format!(
                "{} meetings, {version}, times in {}",
                a.meetings.len(),
                ev.time_zone
            ),
            9.0,
            MARGIN,
            false,
        );
        w.down(LINE * 1.6);
        table_header(&mut w);
        for m in &a.meetings {
            w.room_for(1.0, &table_header);
            let day = m.span.local_start.get(..10).unwrap_or("");
            let times = format!(
                "{}-{}",
                m.span.local_start.get(11..16).unwrap_or(""),
                m.span.local_end.get(11..16).unwrap_or("")
            );
            let c = &m.counterpart;
            let mut with = format!("{} {}", c.first_name, c.last_name);
            if let Some(co) = &c.company {
                with.push_str(&format!(" ({co})"));
            }
            if m.status == MeetingStatus::Cancelled {
                with.push_str(" - cancelled");
            }
            w.text(day, 9.0, MARGIN, false);
            w.text(&times, 9.0, MARGIN + 24.0, false);
            w.text(&fit(&m.place, 18), 9.0, MARGIN + 50.0, false);
            w.text(&fit(&with, 55), 9.0, MARGIN + 85.0, false);
            w.down(LINE);
        }
        if !a.unavailable.is_empty() {
            w.room_for(3.0, &|_| {});
            w.down(LINE);
            w.text("Unavailable", 10.0, MARGIN, true);
            w.down(LINE);
            for s in &a.unavailable {
                w.room_for(1.0, &|_| {});
                w.text(
                    &format!(
                        "{} {}-{}",
                        s.local_start.get(..10).unwrap_or(""),
                        s.local_start.get(11..16).unwrap_or(""),
                        s.local_end.get(11..16).unwrap_or("")
                    ),
                    9.0,
                    MARGIN,
                    false,
                );
                w.down(LINE);
            }
        }
    }
    w.doc.save_to_bytes().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_outside_latin_1_prints_as_question_marks() {
        assert_eq!(printable("Zoë Æther – Ünal"), "Zoë Æther – Ünal");
        assert_eq!(printable("Łukasz 李"), "?ukasz ?");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
