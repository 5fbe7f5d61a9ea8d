//! Participants' agendas: their published meetings with times in the event's time zone,
//! tables and counterparts, their unavailability, and what each version of the agenda changed.

use crate::audit::{self, Audit};
use crate::meetings::my_registration;
use crate::{Actor, AppError, AppResult};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rdv_db::models::{Event, MeetingSlot};
use rdv_db::queries::meetings::{self as request_rows, Party};
use rdv_db::queries::{events, plans};
use rdv_db::Conn;
use rdv_domain::{
    AgendaChange, EventId, MeetingId, MeetingRequestId, MeetingStatus, OrganizationId,
    RegistrationId, SlotId, TableId,
};
use std::collections::HashMap;

/// A time slot as an agenda shows it.
#[derive(Debug, Clone)]
pub struct Span {
    pub slot_id: SlotId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Local times in the event's time zone, `YYYY-MM-DDTHH:MM`.
    pub local_start: String,
    pub local_end: String,
}

/// One meeting of an agenda.
#[derive(Debug, Clone)]
pub struct Entry {
    pub meeting_id: MeetingId,
    pub request_id: MeetingRequestId,
    pub span: Span,
    /// The table's label, or the stand where one of the two receives.
    pub place: String,
    pub table_id: Option<TableId>,
    pub counterpart: Party,
    pub status: MeetingStatus,
    pub sequence: i32,
}

/// A participant's agenda in the latest published version.
#[derive(Debug, Clone)]
pub struct Agenda {
    pub event: Event,
    pub me: Party,
    pub version: Option<i32>,
    pub meetings: Vec<Entry>,
    pub unavailable: Vec<Span>,
}

/// Where a meeting takes place: its table, else the stand of whichever of the two has one.
fn place(table: Option<&str>, a: &Party, b: &Party) -> String {
    match table {
        Some(label) => label.to_owned(),
        None => a
            .stand
            .as_deref()
            .or(b.stand.as_deref())
            .map_or_else(|| "stand".to_owned(), |s| format!("stand {s}")),
    }
}

fn span(tz: Tz, s: &MeetingSlot) -> Span {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
    Span {
        slot_id: s.id,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        local_start: local(s.starts_at),
        local_end: local(s.ends_at),
    }
}

/// Reads the agenda of `registration`; cancelled meetings are listed with their status when
/// `with_cancelled` (a calendar feed tells clients to drop them).
pub fn of_registration(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
    registration: RegistrationId,
    with_cancelled: bool,
) -> AppResult<Agenda> {
    // Five small indexed queries whatever the event's size: the event, the meetings with
    // their slots and tables, both sides' names, the unavailable slots, the version.
    let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let tz: Tz = ev.time_zone.parse().map_err(AppError::internal)?;
    let rows = plans::agenda_rows(conn, event, registration)?;
    let mut ids: Vec<RegistrationId> = rows
        .iter()
        .map(|r| {
            if r.requester_id == registration {
                r.recipient_id
            } else {
                r.requester_id
            }
        })
        .collect();
    ids.push(registration);
    let parties: HashMap<RegistrationId, Party> = request_rows::parties(conn, org, &ids)?
        .into_iter()
        .map(|p| (p.registration_id, p))
        .collect();
    let me = parties
        .get(&registration)
        .filter(|p| p.event_id == event)
        .cloned()
        .ok_or_else(|| AppError::not_found("participant"))?;
    let mut meetings = Vec::new();
    for (row, other) in rows.into_iter().zip(ids) {
        let m = row.meeting;
        if m.status == MeetingStatus::Cancelled && !with_cancelled {
            continue;
        }
        let Some(counterpart) = parties.get(&other) else {
            continue;
        };
        let place = place(row.table_label.as_deref(), &me, counterpart);
        meetings.push(Entry {
            meeting_id: m.id,
            request_id: m.request_id,
            span: span(tz, &row.slot),
            place,
            table_id: m.table_id,
            counterpart: counterpart.clone(),
            status: m.status,
            sequence: m.sequence,
        });
    }
    meetings.sort_by_key(|e| (e.span.starts_at, e.meeting_id));
    let unavailable: Vec<Span> = plans::unavailable_slots(conn, registration)?
        .iter()
        .map(|s| span(tz, s))
        .collect();
    let version = plans::latest_version(conn, event)?.map(|v| v.version);
    Ok(Agenda {
        event: ev,
        me,
        version,
        meetings,
        unavailable,
    })
}

/// The caller's own agenda.
pub fn mine(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Agenda> {
    let reg = my_registration(conn, actor, event)?;
    of_registration(conn, reg.organization_id, event, reg.id, false)
}

/// Any participant's agenda, for the event's organizers; audited.
pub fn of_participant(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    registration: RegistrationId,
) -> AppResult<Agenda> {
    let org = actor.organizer_org()?;
    let agenda = of_registration(conn, org, event, registration, false)?;
    let persons = audit::person_ids(
        agenda
            .meetings
            .iter()
            .map(|e| e.counterpart.person_id)
            .chain([agenda.me.person_id]),
    );
    audit::record(
        conn,
        actor,
        Audit {
            action: "agenda.read",
            subject_type: "registration",
            subject_ids: vec![registration.0],
            person_ids: persons,
            fields: vec!["first_name", "last_name", "company", "job_title"],
        },
    )?;
    Ok(agenda)
}

/// One change a version made to a participant's agenda.
#[derive(Debug, Clone)]
pub struct ChangeView {
    pub registration_id: RegistrationId,
    pub meeting_id: MeetingId,
    pub change: AgendaChange,
    pub before: Option<Span>,
    pub after: Option<Span>,
    pub old_table_id: Option<TableId>,
    pub new_table_id: Option<TableId>,
}

pub(crate) fn changes_view(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
    version: i32,
    registration: Option<RegistrationId>,
) -> AppResult<Vec<ChangeView>> {
    let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let tz: Tz = ev.time_zone.parse().map_err(AppError::internal)?;
    let v =
        plans::version(conn, event, version).map_err(|e| AppError::from_db("agenda version", e))?;
    let slots: HashMap<SlotId, MeetingSlot> = events::slots(conn, event)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let at = |s: Option<SlotId>| s.and_then(|s| slots.get(&s)).map(|s| span(tz, s));
    Ok(plans::changes_of(conn, v.id, registration)?
        .into_iter()
        .map(|c| ChangeView {
            registration_id: c.registration_id,
            meeting_id: c.meeting_id,
            change: c.change,
            before: at(c.old_slot_id),
            after: at(c.new_slot_id),
            old_table_id: c.old_table_id,
            new_table_id: c.new_table_id,
        })
        .collect())
}

/// What version `version` changed, for every participant; organizers only.
pub fn changes(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    version: i32,
) -> AppResult<Vec<ChangeView>> {
    let org = actor.organizer_org()?;
    changes_view(conn, org, event, version, None)
}

/// What version `version` changed in the caller's own agenda.
pub fn my_changes(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    version: i32,
) -> AppResult<Vec<ChangeView>> {
    let reg = my_registration(conn, actor, event)?;
    changes_view(conn, reg.organization_id, event, version, Some(reg.id))
}

/// The shape of a feed token: what `auth::new_secret_token` makes.
pub fn is_feed_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Gives the caller a new secret feed URL for their agenda (the token is shown once and only
/// its hash kept); an earlier token stops working.
pub fn new_feed(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<String> {
    let reg = my_registration(conn, actor, event)?;
    let token = crate::auth::new_secret_token();
    plans::set_feed(conn, reg.id, &crate::auth::sha256_hex(&token))?;
    Ok(token)
}

/// Revokes the caller's feed token; 404 when there is none.
pub fn revoke_feed(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<()> {
    let reg = my_registration(conn, actor, event)?;
    if !plans::revoke_feed(conn, reg.id)? {
        return Err(AppError::not_found("agenda feed"));
    }
    Ok(())
}

/// The agenda behind a feed token, as iCalendar; 404 for an unknown or revoked token.
pub fn feed(conn: &mut Conn, token: &str, host: &str) -> AppResult<String> {
    let not_found = || AppError::not_found("agenda feed");
    if !is_feed_token(token) {
        return Err(not_found());
    }
    let reg = plans::feed_owner(conn, &crate::auth::sha256_hex(token))?.ok_or_else(not_found)?;
    let (org, event) = request_rows::registration_scope(conn, reg)?.ok_or_else(not_found)?;
    let agenda = of_registration(conn, org, event, reg, true)?;
    let tz: Tz = agenda.event.time_zone.parse().map_err(AppError::internal)?;
    Ok(crate::ics::render(&agenda, tz, host, Utc::now()))
}

/// A published meeting as the organizer's per-slot and per-table views show it.
#[derive(Debug, Clone)]
pub struct MeetingView {
    pub meeting_id: MeetingId,
    pub request_id: MeetingRequestId,
    pub span: Span,
    pub table_id: Option<TableId>,
    pub place: String,
    pub requester: Party,
    pub recipient: Party,
    pub sequence: i32,
}

/// The event's scheduled meetings, by time then table, optionally in one slot or at one
/// table; organizers only, audited.
pub fn meetings(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    slot: Option<SlotId>,
    table: Option<TableId>,
) -> AppResult<Vec<MeetingView>> {
    let org = actor.organizer_org()?;
    let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let tz: Tz = ev.time_zone.parse().map_err(AppError::internal)?;
    let slots: HashMap<SlotId, MeetingSlot> = events::slots(conn, event)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let tables: HashMap<TableId, (i32, String)> = events::tables(conn, event)?
        .into_iter()
        .map(|t| (t.id, (t.number, t.label)))
        .collect();
    let rows: Vec<_> = plans::meetings_of_event(conn, event)?
        .into_iter()
        .filter(|m| m.status == MeetingStatus::Scheduled)
        .filter(|m| slot.is_none_or(|s| m.slot_id == s))
        .filter(|m| table.is_none_or(|t| m.table_id == Some(t)))
        .collect();
    let ids: Vec<MeetingRequestId> = rows.iter().map(|m| m.request_id).collect();
    let pairs: HashMap<MeetingRequestId, (RegistrationId, RegistrationId)> =
        request_rows::pairs(conn, &ids)?
            .into_iter()
            .map(|(r, a, b)| (r, (a, b)))
            .collect();
    let mut regs: Vec<RegistrationId> = pairs.values().flat_map(|(a, b)| [*a, *b]).collect();
    regs.sort();
    regs.dedup();
    let parties: HashMap<RegistrationId, Party> = request_rows::parties(conn, org, &regs)?
        .into_iter()
        .map(|p| (p.registration_id, p))
        .collect();
    let mut out = Vec::new();
    for m in rows {
        let Some((a, b)) = pairs.get(&m.request_id) else {
            continue;
        };
        let (Some(s), Some(pa), Some(pb)) = (slots.get(&m.slot_id), parties.get(a), parties.get(b))
        else {
            continue;
        };
        let label = m
            .table_id
            .and_then(|t| tables.get(&t))
            .map(|(_, l)| l.as_str());
        let place = place(label, pa, pb);
        out.push(MeetingView {
            meeting_id: m.id,
            request_id: m.request_id,
            span: span(tz, s),
            table_id: m.table_id,
            place,
            requester: pa.clone(),
            recipient: pb.clone(),
            sequence: m.sequence,
        });
    }
    out.sort_by_key(|v| {
        (
            v.span.starts_at,
            v.table_id
                .and_then(|t| tables.get(&t))
                .map_or(i32::MAX, |t| t.0),
            v.meeting_id,
        )
    });
    if !out.is_empty() {
        let persons = audit::person_ids(
            out.iter()
                .flat_map(|v| [v.requester.person_id, v.recipient.person_id]),
        );
        audit::record(
            conn,
            actor,
            Audit {
                action: "meeting.read",
                subject_type: "meeting",
                subject_ids: out.iter().map(|v| v.meeting_id.0).collect(),
                person_ids: persons,
                fields: vec!["first_name", "last_name", "company", "job_title"],
            },
        )?;
    }
    Ok(out)
}

fn pdf_of(agendas: &[Agenda], title: &str) -> AppResult<Vec<u8>> {
    crate::pdf::render(agendas, title).map_err(AppError::internal)
}

/// The caller's agenda as a printable PDF.
pub fn my_pdf(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Vec<u8>> {
    let a = mine(conn, actor, event)?;
    let title = format!("{} - agenda", a.event.name);
    pdf_of(&[a], &title)
}

/// A participant's agenda as a PDF, for the event's organizers; audited.
pub fn participant_pdf(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    registration: RegistrationId,
) -> AppResult<Vec<u8>> {
    let a = of_participant(conn, actor, event, registration)?;
    let title = format!("{} - agenda", a.event.name);
    pdf_of(&[a], &title)
}

/// Every validated participant's agenda in one PDF, one after the other, with the persons it
/// names (for the audit of each download); `progress` hears (done, total) every hundred
/// agendas. Run by the export worker (see [`crate::exports`]), never inside a request.
pub fn all_pdf(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
    progress: &mut dyn FnMut(&mut Conn, usize, usize),
) -> AppResult<(Vec<u8>, Vec<i64>)> {
    let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let ids = rdv_db::queries::registrations::validated_ids(conn, org, event)?;
    let mut agendas = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if i % 100 == 0 {
            progress(conn, i, ids.len());
        }
        agendas.push(of_registration(conn, org, event, *id, false)?);
    }
    progress(conn, ids.len(), ids.len());
    let persons = audit::person_ids(agendas.iter().flat_map(|a| {
        a.meetings
            .iter()
            .map(|m| m.counterpart.person_id)
            .chain([a.me.person_id])
    }));
    let bytes = pdf_of(&agendas, &format!("{} - agendas", ev.name))?;
    Ok((bytes, persons))
}
