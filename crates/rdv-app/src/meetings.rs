//! Meeting rules and meeting requests: who may meet whom, when requests may be made, how they
//! become meetings, and every change of a request's status with its history.

use crate::audit::{self, Audit};
use crate::paging::{self, Listed};
use crate::{Actor, AppError, AppResult, Check};
use chrono::{DateTime, Utc};
use rdv_db::models::{MeetingRequest, MeetingSettings, NewMeetingRequest, Registration};
use rdv_db::queries::events;
use rdv_db::queries::meetings::{self as rows, Party, RequestFilter};
use rdv_db::Conn;
use rdv_domain::{
    Acceptance, DataSource, EventId, LegalBasis, MeetingRequestId, OrganizationId, ParticipantType,
    Priority, RegistrationId, RegistrationStatus, RequestStatus, RetentionPolicy,
};
use rdv_notify::Kind;
use rdv_search::MeetingRules;
use std::collections::{BTreeMap, HashMap};

/// The longest message a request may carry, and the longest reason.
pub const MAX_MESSAGE: usize = 1000;
pub const MAX_REASON: usize = 500;
/// The most pairs of types a rule may list: every ordered pair of the five types.
pub const MAX_PAIRS: usize = 25;
/// The bounds of a participant's request allowance.
pub const ALLOWANCE: (i32, i32) = (1, 1000);

/// An event's meeting rules as the organizer writes them.
#[derive(Debug, Clone)]
pub struct SettingsInput {
    /// Pairs of participant types that may meet, in either order; empty: anyone.
    pub allowed_pairs: Vec<(String, String)>,
    pub acceptance: String,
    pub requests_open_at: Option<DateTime<Utc>>,
    pub requests_close_at: Option<DateTime<Utc>>,
    pub max_requests_per_participant: i32,
    /// Participant type → quota.
    pub default_quotas: BTreeMap<String, i32>,
}

/// The rules an event without its own follow: buyers meet suppliers, the recipient accepts,
/// requests always open, 30 per sender, no default quota.
fn default_settings(event: EventId, org: OrganizationId) -> MeetingSettings {
    MeetingSettings {
        event_id: event,
        organization_id: org,
        allowed_pairs: vec![pair_key(ParticipantType::Buyer, ParticipantType::Supplier)],
        acceptance: Acceptance::Mutual,
        requests_open_at: None,
        requests_close_at: None,
        max_requests_per_participant: 30,
        default_quotas: serde_json::json!({}),
    }
}

fn pair_key(a: ParticipantType, b: ParticipantType) -> String {
    let (x, y) = if a.as_str() <= b.as_str() {
        (a, b)
    } else {
        (b, a)
    };
    format!("{x}:{y}")
}

/// The rules as the search reads them.
pub fn rules(s: &MeetingSettings) -> MeetingRules {
    MeetingRules {
        pairs: s
            .allowed_pairs
            .iter()
            .filter_map(|p| {
                let (a, b) = p.split_once(':')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect(),
    }
}

/// Whether participants of types `a` and `b` may meet.
pub fn may_meet(s: &MeetingSettings, a: ParticipantType, b: ParticipantType) -> bool {
    s.allowed_pairs.is_empty() || s.allowed_pairs.contains(&pair_key(a, b))
}

/// The default quota of a participant type, if the event sets one.
pub fn default_quota(s: &MeetingSettings, t: ParticipantType) -> Option<u32> {
    s.default_quotas
        .get(t.as_str())
        .and_then(serde_json::Value::as_u64)
        .and_then(|q| u32::try_from(q).ok())
}

/// The event's rules, its own or the defaults.
pub fn effective(
    conn: &mut Conn,
    event: EventId,
    org: OrganizationId,
) -> AppResult<MeetingSettings> {
    Ok(rows::settings(conn, event)?.unwrap_or_else(|| default_settings(event, org)))
}

/// The event's meeting rules: its organizers and its participants read them.
pub fn settings(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<MeetingSettings> {
    let org = match actor.organizer_org() {
        Ok(org) => {
            events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
            org
        }
        Err(_) => my_registration(conn, actor, event)?.organization_id,
    };
    effective(conn, event, org)
}

/// Sets the event's meeting rules; organization admins only.
pub fn put_settings(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    input: SettingsInput,
) -> AppResult<MeetingSettings> {
    let org = actor.admin_org()?;
    let mut c = Check::new();
    if input.allowed_pairs.len() > MAX_PAIRS {
        c.add("allowed_pairs", format!("at most {MAX_PAIRS} pairs"));
    }
    let mut pairs = Vec::new();
    for (i, (a, b)) in input.allowed_pairs.iter().enumerate() {
        let a: Option<ParticipantType> = c.word(&format!("allowed_pairs[{i}][0]"), a);
        let b: Option<ParticipantType> = c.word(&format!("allowed_pairs[{i}][1]"), b);
        if let (Some(a), Some(b)) = (a, b) {
            pairs.push(pair_key(a, b));
        }
    }
    pairs.sort();
    pairs.dedup();
    let acceptance: Option<Acceptance> = c.word("acceptance", &input.acceptance);
    let (least, most) = ALLOWANCE;
    if !(least..=most).contains(&input.max_requests_per_participant) {
        c.add(
            "max_requests_per_participant",
            format!("must be between {least} and {most}"),
        );
    }
    if let (Some(open), Some(close)) = (input.requests_open_at, input.requests_close_at) {
        if close <= open {
            c.add("requests_close_at", "must be after requests_open_at");
        }
    }
    let mut quotas = serde_json::Map::new();
    for (t, q) in &input.default_quotas {
        let ty: Option<ParticipantType> = c.word(&format!("default_quotas.{t}"), t);
        if !(0..=crate::registrations::MAX_QUOTA).contains(q) {
            c.add(
                &format!("default_quotas.{t}"),
                format!("must be between 0 and {}", crate::registrations::MAX_QUOTA),
            );
        } else if let Some(ty) = ty {
            quotas.insert(ty.as_str().to_owned(), (*q).into());
        }
    }
    c.finish()?;
    let Some(acceptance) = acceptance else {
        return Err(AppError::internal("checked fields missing"));
    };
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    Ok(rows::put_settings(
        conn,
        &MeetingSettings {
            event_id: event,
            organization_id: org,
            allowed_pairs: pairs,
            acceptance,
            requests_open_at: input.requests_open_at,
            requests_close_at: input.requests_close_at,
            max_requests_per_participant: input.max_requests_per_participant,
            default_quotas: serde_json::Value::Object(quotas),
        },
    )?)
}

/// The actor's registration to the event: a participant's own.
pub fn my_registration(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Registration> {
    let (_, person) = actor.participant()?;
    rows::registration_of(conn, person, event)?.ok_or_else(|| AppError::not_found("event"))
}

/// A request with both parties, as lists and answers show it.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: MeetingRequest,
    pub requester: Party,
    pub recipient: Party,
}

fn views(
    conn: &mut Conn,
    org: OrganizationId,
    requests: Vec<MeetingRequest>,
) -> AppResult<Vec<RequestView>> {
    let mut ids: Vec<RegistrationId> = requests
        .iter()
        .flat_map(|r| [r.requester_id, r.recipient_id])
        .collect();
    ids.sort();
    ids.dedup();
    let parties: HashMap<RegistrationId, Party> = rows::parties(conn, org, &ids)?
        .into_iter()
        .map(|p| (p.registration_id, p))
        .collect();
    Ok(requests
        .into_iter()
        .filter_map(|request| {
            let requester = parties.get(&request.requester_id)?.clone();
            let recipient = parties.get(&request.recipient_id)?.clone();
            Some(RequestView {
                request,
                requester,
                recipient,
            })
        })
        .collect())
}

fn view(conn: &mut Conn, org: OrganizationId, r: MeetingRequest) -> AppResult<RequestView> {
    views(conn, org, vec![r])?
        .pop()
        .ok_or_else(|| AppError::not_found("meeting request"))
}

/// What a new request says.
#[derive(Debug, Clone)]
pub struct RequestInput {
    /// The sender: given by organizers, the caller's own registration for participants.
    pub from: Option<RegistrationId>,
    pub to: RegistrationId,
    pub priority: Option<String>,
    pub message: Option<String>,
}

/// Asks for a meeting. A validated participant asks another validated participant of the
/// event whom the rules let them meet, within the request window and their allowance; an
/// organizer may ask on behalf of any participant, and their request is accepted at once.
pub fn create(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    input: RequestInput,
) -> AppResult<RequestView> {
    let mut c = Check::new();
    let priority: Option<Priority> =
        c.word("priority", input.priority.as_deref().unwrap_or("should"));
    let message = c.opt_multiline::<MAX_MESSAGE>("message", input.message.as_deref());
    c.finish()?;
    let Some(priority) = priority else {
        return Err(AppError::internal("checked fields missing"));
    };
    let organizer = actor.organizer_org().ok();
    let (org, from) = match organizer {
        Some(org) => {
            events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
            let from = input.from.ok_or_else(|| {
                AppError::field("from", "organizers name the participant who asks")
            })?;
            (org, from)
        }
        None => {
            let mine = my_registration(conn, actor, event)?;
            if mine.status != RegistrationStatus::Validated {
                return Err(AppError::forbidden(
                    "your registration to this event is not validated yet",
                ));
            }
            if input.from.is_some_and(|f| f != mine.id) {
                return Err(AppError::forbidden("participants ask for themselves"));
            }
            (mine.organization_id, mine.id)
        }
    };
    if from == input.to {
        return Err(AppError::field(
            "to",
            "a participant cannot ask to meet themselves",
        ));
    }
    let parties = rows::parties(conn, org, &[from, input.to])?;
    let find = |id: RegistrationId| {
        parties
            .iter()
            .find(|p| p.registration_id == id && p.event_id == event)
            .cloned()
    };
    let sender = find(from).ok_or_else(|| AppError::not_found("participant `from`"))?;
    let recipient = match find(input.to) {
        Some(p) if p.status == RegistrationStatus::Validated || organizer.is_some() => p,
        _ => return Err(AppError::not_found("participant `to`")),
    };
    for p in [&sender, &recipient] {
        if p.status != RegistrationStatus::Validated {
            return Err(AppError::conflict(format!(
                "registration {} is {}, not validated",
                p.registration_id, p.status
            )));
        }
    }
    let settings = effective(conn, event, org)?;
    if !may_meet(
        &settings,
        sender.participant_type,
        recipient.participant_type,
    ) {
        return Err(AppError::conflict_on(
            "to",
            format!(
                "the event's rules do not let a {} meet a {}",
                sender.participant_type, recipient.participant_type
            ),
        ));
    }
    let now = Utc::now();
    if organizer.is_none() {
        if settings.requests_open_at.is_some_and(|t| now < t) {
            return Err(AppError::conflict("meeting requests are not open yet"));
        }
        if settings.requests_close_at.is_some_and(|t| now >= t) {
            return Err(AppError::conflict("meeting requests are closed"));
        }
        // Concurrent requests of one sender count one after the other.
        rows::lock_registration(conn, from)?;
        let sent = rows::live_sent(conn, from)?;
        if sent >= i64::from(settings.max_requests_per_participant) {
            return Err(AppError::conflict(format!(
                "you have sent {sent} requests, the most this event allows"
            )));
        }
    }
    let status = if organizer.is_some() || settings.acceptance == Acceptance::Direct {
        RequestStatus::Accepted
    } else {
        RequestStatus::Pending
    };
    let request = rows::insert(
        conn,
        &NewMeetingRequest {
            organization_id: org,
            event_id: event,
            requester_id: from,
            recipient_id: input.to,
            message,
            priority,
            status,
            created_by: Some(actor.user),
            legal_basis: LegalBasis::Contract,
            retention_until: RetentionPolicy::EventData.deadline(now),
            source: if organizer.is_some() {
                DataSource::Admin
            } else {
                DataSource::Registration
            },
        },
    )?;
    rows::record(conn, request.id, None, status, None, Some(actor.user))?;
    tell(
        conn,
        &request,
        Kind::MeetingRequestReceived,
        &recipient,
        &sender,
        request.message.clone(),
    )?;
    Ok(RequestView {
        request,
        requester: sender,
        recipient,
    })
}

/// What the actor may do to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Organizer,
    Requester,
    Recipient,
}

/// The request as the actor sees it: organizers see their event's requests, participants the
/// requests they sent or received; others find nothing.
fn locate(
    conn: &mut Conn,
    actor: &Actor,
    id: MeetingRequestId,
) -> AppResult<(MeetingRequest, Side)> {
    if let Ok(org) = actor.organizer_org() {
        let r = rows::get_for_update(conn, org, id)
            .map_err(|e| AppError::from_db("meeting request", e))?;
        return Ok((r, Side::Organizer));
    }
    let (org, person) = actor.participant()?;
    let r =
        rows::get_for_update(conn, org, id).map_err(|e| AppError::from_db("meeting request", e))?;
    let mine = rows::registration_of(conn, person, r.event_id)?
        .ok_or_else(|| AppError::not_found("meeting request"))?;
    let side = if r.requester_id == mine.id {
        Side::Requester
    } else if r.recipient_id == mine.id {
        Side::Recipient
    } else {
        return Err(AppError::not_found("meeting request"));
    };
    Ok((r, side))
}

/// One request, with its parties; organizers' reads are audited.
pub fn get(conn: &mut Conn, actor: &Actor, id: MeetingRequestId) -> AppResult<RequestView> {
    let (r, side) = locate(conn, actor, id)?;
    let org = r.organization_id;
    let v = view(conn, org, r)?;
    if side == Side::Organizer {
        audit_read(conn, actor, std::slice::from_ref(&v))?;
    }
    Ok(v)
}

/// The history of a request's status.
pub fn history(
    conn: &mut Conn,
    actor: &Actor,
    id: MeetingRequestId,
) -> AppResult<Vec<rdv_db::models::RequestChange>> {
    let (r, _) = locate(conn, actor, id)?;
    Ok(rows::history(conn, r.id)?)
}

/// Moves a request to `to` (the actor acting as `side`) and tells the other side: the
/// requester hears of an acceptance or a refusal, whoever did not cancel hears of a
/// cancellation (both sides when the organizer cancels).
fn change(
    conn: &mut Conn,
    actor: &Actor,
    r: &MeetingRequest,
    side: Side,
    to: RequestStatus,
    reason: Option<String>,
) -> AppResult<RequestView> {
    let updated = rows::set_status(conn, r, to, reason.as_deref(), Some(actor.user))?;
    let v = view(conn, r.organization_id, updated)?;
    let (requester, recipient) = (&v.requester, &v.recipient);
    match to {
        RequestStatus::Accepted => tell(
            conn,
            &v.request,
            Kind::MeetingRequestAccepted,
            requester,
            recipient,
            None,
        )?,
        RequestStatus::Declined => tell(
            conn,
            &v.request,
            Kind::MeetingRequestDeclined,
            requester,
            recipient,
            reason,
        )?,
        RequestStatus::Cancelled => {
            if side != Side::Requester {
                tell(
                    conn,
                    &v.request,
                    Kind::MeetingRequestCancelled,
                    requester,
                    recipient,
                    reason.clone(),
                )?;
            }
            if side != Side::Recipient {
                tell(
                    conn,
                    &v.request,
                    Kind::MeetingRequestCancelled,
                    recipient,
                    requester,
                    reason,
                )?;
            }
        }
        RequestStatus::Pending => {}
    }
    Ok(v)
}

/// Queues message `kind` about request `r` to `to`, naming `other`.
fn tell(
    conn: &mut Conn,
    r: &MeetingRequest,
    kind: Kind,
    to: &Party,
    other: &Party,
    text: Option<String>,
) -> AppResult<()> {
    let mut data = serde_json::json!({
        "other": {
            "first_name": other.first_name,
            "last_name": other.last_name,
            "company": other.company,
        },
    });
    if let Some(t) = text {
        let field = if kind == Kind::MeetingRequestReceived {
            "message"
        } else {
            "reason"
        };
        data[field] = t.into();
    }
    crate::notify::enqueue_email(
        conn,
        crate::notify::Email {
            organization: r.organization_id,
            event: Some(r.event_id),
            person: to.person_id,
            kind,
            data,
            key: format!("{}:{}:{}", kind.as_str(), r.id, to.registration_id),
        },
    )?;
    Ok(())
}

fn reason(input: Option<&str>) -> AppResult<Option<String>> {
    let mut c = Check::new();
    let r = c.opt_multiline::<MAX_REASON>("reason", input);
    c.finish()?;
    Ok(r)
}

/// Accepts a pending request: its recipient does when the event lets recipients decide
/// (`mutual`), its organizer always.
pub fn accept(conn: &mut Conn, actor: &Actor, id: MeetingRequestId) -> AppResult<RequestView> {
    let (r, side) = locate(conn, actor, id)?;
    if side == Side::Requester {
        return Err(AppError::not_found("meeting request"));
    }
    if r.status != RequestStatus::Pending {
        return Err(AppError::conflict(format!(
            "the request is {}, not pending",
            r.status
        )));
    }
    if side == Side::Recipient {
        let settings = effective(conn, r.event_id, r.organization_id)?;
        if settings.acceptance != Acceptance::Mutual {
            return Err(AppError::forbidden(
                "the organizer decides on this event's requests",
            ));
        }
    }
    change(conn, actor, &r, side, RequestStatus::Accepted, None)
}

/// Declines a request: its recipient while it is pending, its organizer while it is live.
pub fn decline(
    conn: &mut Conn,
    actor: &Actor,
    id: MeetingRequestId,
    why: Option<String>,
) -> AppResult<RequestView> {
    let why = reason(why.as_deref())?;
    let (r, side) = locate(conn, actor, id)?;
    match side {
        Side::Requester => return Err(AppError::not_found("meeting request")),
        Side::Recipient if r.status != RequestStatus::Pending => {
            return Err(AppError::conflict(format!(
                "the request is {}, not pending",
                r.status
            )))
        }
        _ if !r.status.is_live() => {
            return Err(AppError::conflict(format!(
                "the request is {} already",
                r.status
            )))
        }
        _ => {}
    }
    change(conn, actor, &r, side, RequestStatus::Declined, why)
}

/// Cancels a live request: either participant or the organizer may.
pub fn cancel(
    conn: &mut Conn,
    actor: &Actor,
    id: MeetingRequestId,
    why: Option<String>,
) -> AppResult<RequestView> {
    let why = reason(why.as_deref())?;
    let (r, side) = locate(conn, actor, id)?;
    if !r.status.is_live() {
        return Err(AppError::conflict(format!(
            "the request is {} already",
            r.status
        )));
    }
    change(conn, actor, &r, side, RequestStatus::Cancelled, why)
}

/// Which of a participant's requests a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailbox {
    Sent,
    Received,
    All,
}

/// A list query.
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    pub status: Option<String>,
    pub box_: Option<String>,
    /// Organizers: the requests one registration sent or received.
    pub registration: Option<RegistrationId>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// The event's requests: an organizer sees them all (audited), a participant theirs.
pub fn list(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    input: ListInput,
) -> AppResult<Listed<RequestView>> {
    let mut c = Check::new();
    let status: Option<RequestStatus> = input.status.as_deref().and_then(|s| c.word("status", s));
    let which = match input.box_.as_deref() {
        None | Some("all") => Some(Mailbox::All),
        Some("sent") => Some(Mailbox::Sent),
        Some("received") => Some(Mailbox::Received),
        Some(_) => {
            c.add("box", "must be sent, received or all");
            None
        }
    };
    c.finish()?;
    let paging = paging::page(input.page, input.per_page)?;
    let organizer = actor.organizer_org().ok();
    let (org, filter) = match organizer {
        Some(org) => {
            events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
            let mut f = RequestFilter {
                status,
                ..Default::default()
            };
            match which {
                Some(Mailbox::Sent) => f.requester = input.registration,
                Some(Mailbox::Received) => f.recipient = input.registration,
                _ => f.involving = input.registration,
            }
            (org, f)
        }
        None => {
            let mine = my_registration(conn, actor, event)?;
            let mut f = RequestFilter {
                status,
                ..Default::default()
            };
            match which {
                Some(Mailbox::Sent) => f.requester = Some(mine.id),
                Some(Mailbox::Received) => f.recipient = Some(mine.id),
                _ => f.involving = Some(mine.id),
            }
            (mine.organization_id, f)
        }
    };
    let found = rows::list(conn, org, event, &filter, paging.page)?;
    let items = views(conn, org, found.items)?;
    if organizer.is_some() {
        audit_read(conn, actor, &items)?;
    }
    Ok(Listed {
        items,
        total: found.total,
        page: paging.number,
        per_page: paging.per_page,
    })
}

/// An organizer read of requests is a read of the participants' names and messages.
fn audit_read(conn: &mut Conn, actor: &Actor, items: &[RequestView]) -> AppResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let persons = audit::person_ids(
        items
            .iter()
            .flat_map(|v| [v.requester.person_id, v.recipient.person_id]),
    );
    audit::record(
        conn,
        actor,
        Audit {
            action: "meeting_request.read",
            subject_type: "meeting_request",
            subject_ids: items.iter().map(|v| v.request.id.0).collect(),
            person_ids: persons,
            fields: vec!["first_name", "last_name", "company", "message"],
        },
    )
}

/// Per participant of the event: live requests sent and received.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub participants: Vec<(RegistrationId, i64, i64)>,
    /// Validated participants who neither sent nor received a live request.
    pub without_requests: Vec<RegistrationId>,
}

/// The organizer's view of how requests spread over the event's participants.
pub fn dashboard(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Dashboard> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let mut counts = rows::counts(conn, event)?;
    let validated = rdv_db::queries::registrations::validated_ids(conn, org, event)?;
    let with: std::collections::HashSet<RegistrationId> = counts.iter().map(|c| c.0).collect();
    let without_requests = validated
        .into_iter()
        .filter(|r| !with.contains(r))
        .collect();
    // Most requested first.
    counts.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    Ok(Dashboard {
        participants: counts,
        without_requests,
    })
}

/// The most slots one participant may mark unavailable at once.
pub const MAX_UNAVAILABLE: usize = 2000;

/// The caller's unavailable slots in the event.
pub fn my_unavailability(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
) -> AppResult<Vec<rdv_domain::SlotId>> {
    let mine = my_registration(conn, actor, event)?;
    Ok(rows::unavailable(conn, mine.id)?)
}

/// Replaces the caller's unavailable slots: 404 when a slot is not one of the event's.
pub fn set_my_unavailability(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    mut slots: Vec<rdv_domain::SlotId>,
) -> AppResult<Vec<rdv_domain::SlotId>> {
    if slots.len() > MAX_UNAVAILABLE {
        return Err(AppError::field(
            "slot_ids",
            format!("at most {MAX_UNAVAILABLE} slots"),
        ));
    }
    let mine = my_registration(conn, actor, event)?;
    let known: std::collections::HashSet<rdv_domain::SlotId> = events::slots(conn, event)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    if let Some(bad) = slots.iter().find(|s| !known.contains(s)) {
        return Err(AppError::not_found(format!("slot {bad} of this event")));
    }
    slots.sort();
    slots.dedup();
    rows::set_unavailable(conn, mine.id, &slots)?;
    Ok(slots)
}

/// The most days of presence one list may name.
pub const MAX_PRESENCE_DAYS: usize = 60;

/// The days the caller comes on (empty: every day of the event).
pub fn my_presence(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
) -> AppResult<Vec<rdv_domain::EventDayId>> {
    let mine = my_registration(conn, actor, event)?;
    Ok(rows::presence(conn, mine.id)?)
}

/// Replaces the days the caller comes on; the planner keeps their meetings within them.
pub fn set_my_presence(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    days: Vec<rdv_domain::EventDayId>,
) -> AppResult<Vec<rdv_domain::EventDayId>> {
    let mine = my_registration(conn, actor, event)?;
    store_presence(conn, event, mine.id, days)
}

/// A registration's days of presence, for the event's organizers.
pub fn presence_of(
    conn: &mut Conn,
    actor: &Actor,
    registration: RegistrationId,
) -> AppResult<Vec<rdv_domain::EventDayId>> {
    let org = actor.organizer_org()?;
    rdv_db::queries::registrations::get(conn, org, registration)
        .map_err(|e| AppError::from_db("registration", e))?;
    Ok(rows::presence(conn, registration)?)
}

/// Replaces a registration's days of presence, for the event's organizers (a participant who
/// told them by phone or email).
pub fn set_presence_of(
    conn: &mut Conn,
    actor: &Actor,
    registration: RegistrationId,
    days: Vec<rdv_domain::EventDayId>,
) -> AppResult<Vec<rdv_domain::EventDayId>> {
    let org = actor.organizer_org()?;
    let (reg, _) = rdv_db::queries::registrations::get(conn, org, registration)
        .map_err(|e| AppError::from_db("registration", e))?;
    store_presence(conn, reg.event_id, registration, days)
}

/// Checks that every day is one of the event's (404 otherwise) and stores the list.
fn store_presence(
    conn: &mut Conn,
    event: EventId,
    registration: RegistrationId,
    mut days: Vec<rdv_domain::EventDayId>,
) -> AppResult<Vec<rdv_domain::EventDayId>> {
    if days.len() > MAX_PRESENCE_DAYS {
        return Err(AppError::field(
            "day_ids",
            format!("at most {MAX_PRESENCE_DAYS} days"),
        ));
    }
    let known: std::collections::HashSet<rdv_domain::EventDayId> = events::days(conn, event)?
        .into_iter()
        .map(|d| d.id)
        .collect();
    if let Some(bad) = days.iter().find(|d| !known.contains(d)) {
        return Err(AppError::not_found(format!("day {bad} of this event")));
    }
    days.sort();
    days.dedup();
    rows::set_presence(conn, registration, &days)?;
    Ok(days)
}
