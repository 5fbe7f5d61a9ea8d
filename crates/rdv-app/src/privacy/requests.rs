//! Rights requests: a participant makes one (self-service), or an organizer records one that
//! came by post, email, phone or in person. Each has a due date (erasure 10 days, the rest a
//! month) and waits in the organization's queue, sorted by due date, until an admin answers.
//! What the person can do alone is done at once: an access or portability archive is built
//! by a worker, an opposition or a consent withdrawal takes effect. Erasure, restriction and
//! rectification wait for an admin, who checks the request before acting on it.

use super::{erase, ARCHIVE_JOB};
use crate::audit::{self, Audit};
use crate::notify::{self, Email};
use crate::paging::{self, Listed};
use crate::{jobs, Actor, AppError, AppResult, Check};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rdv_db::models::{Job, NewRightsRequest, RightsRequest};
use rdv_db::queries::privacy as rows;
use rdv_db::schema::{persons, registrations};
use rdv_db::Conn;
use rdv_domain::{
    DataSource, LegalBasis, OppositionPurpose, OrganizationId, PersonId, RequestChannel,
    RetentionPolicy, RightKind, RightsRequestId, RightsRequestState, Role,
};
use rdv_notify::Kind;

/// A request as typed.
#[derive(Debug, Clone, Default)]
pub struct RequestInput {
    pub kind: String,
    /// Opposition: `marketing_email`, `sms` or `phone_prospecting`; consent withdrawal: the
    /// consent's purpose.
    pub purpose: Option<String>,
    /// What the person wrote (a rectification says what is wrong).
    pub details: Option<String>,
    /// Recorded requests: how it came (`post`, `email`, `phone`, `in_person`).
    pub channel: Option<String>,
    /// Recorded requests: when it was received (today when absent); the due date runs from it.
    pub received_at: Option<DateTime<Utc>>,
}

struct Checked {
    kind: RightKind,
    purpose: Option<String>,
    details: Option<String>,
}

fn check(c: &mut Check, input: &RequestInput) -> Option<Checked> {
    let kind = c.word::<RightKind>("kind", &input.kind);
    let details = input
        .details
        .as_deref()
        .and_then(|d| c.opt_multiline::<4000>("details", Some(d)));
    let purpose = match (kind, input.purpose.as_deref()) {
        (Some(RightKind::Opposition), Some(p)) => c
            .word::<OppositionPurpose>("purpose", p)
            .map(|p| p.as_str().to_owned()),
        (Some(RightKind::ConsentWithdrawal), Some(p)) => {
            if rdv_domain::format::PURPOSE.is_match(p) {
                Some(p.to_owned())
            } else {
                c.add(
                    "purpose",
                    "must be the consent's purpose, a lower-case word",
                );
                None
            }
        }
        (Some(k), None) if k.needs_purpose() => {
            c.add("purpose", "is required for this right");
            None
        }
        (Some(_), Some(_)) => {
            c.add(
                "purpose",
                "only opposition and consent withdrawal name a purpose",
            );
            None
        }
        _ => None,
    };
    Some(Checked {
        kind: kind?,
        purpose,
        details,
    })
}

fn insert(
    conn: &mut Conn,
    org: OrganizationId,
    person: PersonId,
    c: Checked,
    channel: RequestChannel,
    received_at: DateTime<Utc>,
    recorded_by: Option<rdv_domain::UserAccountId>,
) -> AppResult<RightsRequest> {
    let new = NewRightsRequest {
        organization_id: org,
        person_id: person,
        kind: c.kind,
        purpose: c.purpose,
        channel,
        details: c.details,
        received_at,
        due_at: received_at + Duration::days(c.kind.due_days()),
        recorded_by,
        legal_basis: LegalBasis::LegalObligation,
        // The proof that the request was answered is kept five years.
        retention_until: RetentionPolicy::ContractualProof.deadline(received_at),
        source: DataSource::System,
    };
    match rows::insert(conn, &new) {
        Ok(r) => Ok(r),
        Err(rdv_db::DbError::Conflict(_)) => Err(AppError::conflict_on(
            "kind",
            "a request of this kind is already open for this person: it will be answered",
        )),
        Err(e) => Err(e.into()),
    }
}

/// A participant exercises a right over their own data. Access, portability, opposition and
/// consent withdrawal take effect at once; the rest waits for an organizer.
pub fn ask(conn: &mut Conn, actor: &Actor, input: RequestInput) -> AppResult<RightsRequest> {
    let (org, person) = actor.participant()?;
    let mut c = Check::new();
    let checked = check(&mut c, &input);
    if input.channel.is_some() {
        c.add("channel", "a participant's own request is self-service");
    }
    if input.received_at.is_some() {
        c.add("received_at", "a participant's own request is received now");
    }
    c.finish()?;
    let checked = checked.ok_or_else(|| AppError::invalid("the request is invalid"))?;
    let request = insert(
        conn,
        org,
        person,
        checked,
        RequestChannel::SelfService,
        Utc::now(),
        Some(actor.user),
    )?;
    audit_request(conn, actor, "privacy_request.create", &request)?;
    match request.kind {
        RightKind::Access
        | RightKind::Portability
        | RightKind::Opposition
        | RightKind::ConsentWithdrawal => answer(conn, actor, request, None),
        _ => Ok(request),
    }
}

/// An organizer records a request received by post, email, phone or in person.
pub fn record(
    conn: &mut Conn,
    actor: &Actor,
    person: PersonId,
    input: RequestInput,
) -> AppResult<RightsRequest> {
    let org = actor.organizer_org()?;
    let mut c = Check::new();
    let checked = check(&mut c, &input);
    let channel = match input.channel.as_deref() {
        Some(ch) => match c.word::<RequestChannel>("channel", ch) {
            Some(RequestChannel::SelfService) => {
                c.add(
                    "channel",
                    "a recorded request came by post, email, phone or in person",
                );
                None
            }
            other => other,
        },
        None => {
            c.add("channel", "is required: how did the request come?");
            None
        }
    };
    let now = Utc::now();
    let received_at = input.received_at.unwrap_or(now);
    if received_at > now + Duration::minutes(5) {
        c.add("received_at", "cannot be in the future");
    }
    if received_at < now - Duration::days(366) {
        c.add("received_at", "cannot be more than a year ago");
    }
    c.finish()?;
    let (Some(checked), Some(channel)) = (checked, channel) else {
        return Err(AppError::invalid("the request is invalid"));
    };
    // An erasure asked of a person erased already is answered at once, saying so.
    let who = erase::identity(conn, org, person)?;
    if who.erased_at.is_some() {
        if checked.kind != RightKind::Erasure {
            return Err(AppError::not_found("person"));
        }
        let request = insert(
            conn,
            org,
            person,
            checked,
            channel,
            received_at,
            Some(actor.user),
        )?;
        let done = rows::set_state(
            conn,
            request.id,
            RightsRequestState::Done,
            Some(actor.user),
            &serde_json::json!({"person_id": person.0, "already_erased": true, "tables": []}),
            Some("the person was erased already"),
        )?;
        audit_request(conn, actor, "privacy_request.process", &done)?;
        return Ok(done);
    }
    // The person must be one the actor may see (restricted ones: admins only).
    let target = rdv_db::queries::persons::get(conn, org, person)
        .map_err(|e| AppError::from_db("person", e))?;
    if target.privacy.restricted_at.is_some() && actor.role != Role::OrgAdmin {
        return Err(AppError::not_found("person"));
    }
    let request = insert(
        conn,
        org,
        person,
        checked,
        channel,
        received_at,
        Some(actor.user),
    )?;
    audit_request(conn, actor, "privacy_request.create", &request)?;
    Ok(request)
}

/// A request in the queue, with whether its due date has passed.
pub struct Queued {
    pub request: RightsRequest,
    pub overdue: bool,
}

impl From<RightsRequest> for Queued {
    fn from(request: RightsRequest) -> Self {
        let overdue = request.state.is_open() && request.due_at < Utc::now();
        Self { request, overdue }
    }
}

/// The organization's requests by due date, open ones only unless `all`. Admins only: the
/// queue names persons under restriction.
pub fn queue(
    conn: &mut Conn,
    actor: &Actor,
    all: bool,
    page: Option<u32>,
    per_page: Option<u32>,
) -> AppResult<Listed<Queued>> {
    let org = actor.admin_org()?;
    let paging = paging::page(page, per_page)?;
    let found = rows::queue(conn, org, all, paging.page)?;
    let persons = audit::person_ids(found.items.iter().map(|r| r.person_id));
    audit::record(
        conn,
        actor,
        Audit {
            action: "privacy_request.list",
            subject_type: "privacy_request",
            subject_ids: found.items.iter().map(|r| r.id.0).collect(),
            person_ids: persons,
            fields: vec!["kind", "details"],
        },
    )?;
    let listed = Listed::new(found, paging);
    Ok(Listed {
        items: listed.items.into_iter().map(Queued::from).collect(),
        total: listed.total,
        page: listed.page,
        per_page: listed.per_page,
    })
}

/// One request: an admin of its organization, or the participant it is about.
pub fn get(conn: &mut Conn, actor: &Actor, id: RightsRequestId) -> AppResult<Queued> {
    let request = visible(conn, actor, id)?;
    Ok(request.into())
}

/// The participant's own requests, newest first.
pub fn mine(conn: &mut Conn, actor: &Actor) -> AppResult<Vec<Queued>> {
    let (org, person) = actor.participant()?;
    Ok(rows::of_person(conn, org, person)?
        .into_iter()
        .map(Queued::from)
        .collect())
}

fn visible(conn: &mut Conn, actor: &Actor, id: RightsRequestId) -> AppResult<RightsRequest> {
    match actor.role {
        Role::Participant => {
            let (org, person) = actor.participant()?;
            let r =
                rows::get(conn, org, id).map_err(|e| AppError::from_db("privacy request", e))?;
            if r.person_id != person {
                return Err(AppError::not_found("privacy request"));
            }
            Ok(r)
        }
        _ => {
            let org = actor.admin_org()?;
            rows::get(conn, org, id).map_err(|e| AppError::from_db("privacy request", e))
        }
    }
}

/// An admin answers an open request: does what it asks and ends it.
pub fn process(
    conn: &mut Conn,
    actor: &Actor,
    id: RightsRequestId,
    note: Option<String>,
) -> AppResult<RightsRequest> {
    let org = actor.admin_org()?;
    let mut c = Check::new();
    let note = note.and_then(|n| c.opt_multiline::<4000>("note", Some(&n)));
    c.finish()?;
    let request = rows::get(conn, org, id).map_err(|e| AppError::from_db("privacy request", e))?;
    if !request.state.is_open() {
        return Err(AppError::conflict(format!(
            "the request is {} already",
            request.state
        )));
    }
    if request.state == RightsRequestState::InProgress {
        return Err(AppError::conflict(
            "the request is being answered: its archive is being built",
        ));
    }
    answer(conn, actor, request, note)
}

/// An admin turns a request down, saying why (e.g. the identity could not be checked).
pub fn reject(
    conn: &mut Conn,
    actor: &Actor,
    id: RightsRequestId,
    reason: String,
) -> AppResult<RightsRequest> {
    let org = actor.admin_org()?;
    let mut c = Check::new();
    let reason = c.multiline::<4000>("reason", &reason);
    c.finish()?;
    let reason = reason.ok_or_else(|| AppError::field("reason", "is required"))?;
    let request = rows::get(conn, org, id).map_err(|e| AppError::from_db("privacy request", e))?;
    if !request.state.is_open() {
        return Err(AppError::conflict(format!(
            "the request is {} already",
            request.state
        )));
    }
    let done = rows::set_state(
        conn,
        id,
        RightsRequestState::Rejected,
        Some(actor.user),
        &serde_json::json!({"rejected": reason}),
        Some(&reason),
    )?;
    audit_request(conn, actor, "privacy_request.reject", &done)?;
    Ok(done)
}

/// Does what the request asks, as `actor`.
fn answer(
    conn: &mut Conn,
    actor: &Actor,
    request: RightsRequest,
    note: Option<String>,
) -> AppResult<RightsRequest> {
    let (org, person, id) = (request.organization_id, request.person_id, request.id);
    let end = |conn: &mut Conn, outcome: serde_json::Value| {
        rows::set_state(
            conn,
            id,
            RightsRequestState::Done,
            Some(actor.user),
            &outcome,
            note.as_deref(),
        )
    };
    let done = match request.kind {
        RightKind::Access | RightKind::Portability => {
            let job = jobs::enqueue(
                conn,
                ARCHIVE_JOB,
                serde_json::json!({"request": id.0}),
                Utc::now(),
                3,
            )?;
            rows::set_job(conn, id, job)?;
            rows::set_state(
                conn,
                id,
                RightsRequestState::InProgress,
                Some(actor.user),
                &serde_json::json!({}),
                note.as_deref(),
            )?
        }
        RightKind::Erasure => {
            let who = erase::identity(conn, org, person)?;
            let report = erase::erase(conn, org, person)?;
            if !report.already_erased {
                let terms = who.terms();
                rows::set_scan_digest(
                    conn,
                    id,
                    &serde_json::to_value(&terms).map_err(AppError::internal)?,
                )?;
                // The last message goes to the address the person had; the worker forgets
                // it once the message has gone.
                notify::enqueue_email(
                    conn,
                    Email {
                        organization: org,
                        event: None,
                        person,
                        kind: Kind::ErasureDone,
                        data: serde_json::json!({
                            "to": who.email,
                            "first_name": who.first_name,
                            "language": who.preferred_language,
                        }),
                        key: format!("erasure_done:{id}"),
                    },
                )?;
            }
            end(
                conn,
                serde_json::to_value(&report).map_err(AppError::internal)?,
            )?
        }
        RightKind::Restriction => {
            let n = set_restricted(conn, org, person, true)?;
            end(conn, serde_json::json!({"restricted_records": n}))?
        }
        RightKind::Opposition => {
            let purpose = request.purpose.as_deref().unwrap_or_default();
            let column = match purpose.parse::<OppositionPurpose>() {
                Ok(OppositionPurpose::MarketingEmail) => "optout_marketing_email_at",
                Ok(OppositionPurpose::Sms) => "optout_sms_at",
                Ok(OppositionPurpose::PhoneProspecting) => "optout_phone_prospecting_at",
                Err(_) => return Err(AppError::internal("opposition without a purpose")),
            };
            diesel::sql_query(format!(
                "UPDATE persons SET {column} = coalesce({column}, now()), updated_at = now() \
                 WHERE id = $1 AND organization_id = $2"
            ))
            .bind::<diesel::sql_types::BigInt, _>(person.0)
            .bind::<diesel::sql_types::BigInt, _>(org.0)
            .execute(conn)
            .map_err(AppError::internal)?;
            end(conn, serde_json::json!({"opted_out": purpose}))?
        }
        RightKind::ConsentWithdrawal => {
            let purpose = request.purpose.clone().unwrap_or_default();
            let method = match request.channel {
                RequestChannel::SelfService => "web_form",
                RequestChannel::Post => "paper",
                RequestChannel::Email => "email",
                RequestChannel::Phone | RequestChannel::InPerson => "api",
            };
            rdv_db::queries::campaigns::record_consent(
                conn,
                org,
                person,
                &purpose,
                "withdrawal",
                false,
                method,
                actor.client_address.as_deref(),
                RetentionPolicy::ContractualProof.deadline(Utc::now()),
            )?;
            end(conn, serde_json::json!({"withdrawn": purpose}))?
        }
        // The organizer rectifies the data (PATCH /api/persons/{id}), then ends the request.
        RightKind::Rectification => end(conn, serde_json::json!({"rectified": true}))?,
    };
    audit_request(conn, actor, "privacy_request.process", &done)?;
    Ok(done)
}

/// Puts the person and their registrations under restriction, or lifts it; returns how many
/// records changed.
fn set_restricted(
    conn: &mut Conn,
    org: OrganizationId,
    person: PersonId,
    on: bool,
) -> AppResult<usize> {
    let at = on.then(Utc::now);
    let p = diesel::update(
        persons::table
            .filter(persons::id.eq(person))
            .filter(persons::organization_id.eq(org))
            .filter(persons::erased_at.is_null()),
    )
    .set((
        persons::restricted_at.eq(at),
        persons::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .map_err(AppError::internal)?;
    if p == 0 {
        return Err(AppError::not_found("person"));
    }
    let r = diesel::update(
        registrations::table
            .filter(registrations::person_id.eq(person))
            .filter(registrations::organization_id.eq(org)),
    )
    .set((
        registrations::restricted_at.eq(at),
        registrations::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .map_err(AppError::internal)?;
    // Every other record of the person that carries the privacy columns is restricted too,
    // so that the retention sweep keeps it (the audit log, append-only, keeps everything
    // until its own deadline).
    let mut others = 0;
    for t in rdv_privacy::REGISTRY {
        if matches!(
            t.name,
            "persons"
                | "registrations"
                | "audit_log"
                | "memberships"
                | "agenda_feeds"
                | "meeting_request_history"
        ) {
            continue;
        }
        others += diesel::sql_query(format!(
            "UPDATE {} t SET restricted_at = $2 WHERE ({})",
            t.name, t.rows
        ))
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(vec![person.0])
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(at)
        .execute(conn)
        .map_err(|e| AppError::internal(format!("restricting {}: {e}", t.name)))?;
    }
    Ok(p + r + others)
}

/// Lifts a person's restriction: organization admins only, the only change a restricted
/// record accepts. Ends any open restriction request of the person.
pub fn lift_restriction(conn: &mut Conn, actor: &Actor, person: PersonId) -> AppResult<usize> {
    let org = match actor.admin_org() {
        Ok(org) => org,
        Err(_) if actor.role == Role::OrgStaff => {
            return Err(AppError::forbidden(
                "only the organization's admins lift a restriction",
            ))
        }
        Err(e) => return Err(e),
    };
    let current = rdv_db::queries::persons::get(conn, org, person)
        .map_err(|e| AppError::from_db("person", e))?;
    if current.privacy.restricted_at.is_none() {
        return Err(AppError::conflict(
            "the person's processing is not restricted",
        ));
    }
    let n = set_restricted(conn, org, person, false)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "person.restriction_lift",
            subject_type: "person",
            subject_ids: vec![person.0],
            person_ids: vec![person.0],
            fields: vec!["restricted_at"],
        },
    )?;
    Ok(n)
}

/// The archive of an access or portability request: to the participant who asked for it, or
/// to an admin of the organization when an organizer recorded it. Audited.
pub fn download(conn: &mut Conn, actor: &Actor, id: RightsRequestId) -> AppResult<Vec<u8>> {
    let request = visible(conn, actor, id)?;
    if actor.role != Role::Participant && request.channel == RequestChannel::SelfService {
        // The participant downloads their own archive; staff have no reason to.
        return Err(AppError::forbidden(
            "the person downloads the archive of their own request",
        ));
    }
    if !matches!(request.kind, RightKind::Access | RightKind::Portability) {
        return Err(AppError::not_found("archive"));
    }
    match request.archive_expires_at {
        None => {
            return Err(AppError::conflict(
                "the archive is not ready yet: see the request's state",
            ))
        }
        Some(at) if at <= Utc::now() => {
            return Err(AppError::conflict(format!(
                "the archive expired at {}: ask again",
                at.format("%Y-%m-%d %H:%M UTC")
            )))
        }
        Some(_) => {}
    }
    let bytes = rows::archive(conn, request.organization_id, id)?
        .ok_or_else(|| AppError::conflict("the archive expired: ask again"))?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "privacy_request.archive_download",
            subject_type: "privacy_request",
            subject_ids: vec![id.0],
            person_ids: vec![request.person_id.0],
            fields: vec!["*"],
        },
    )?;
    Ok(bytes)
}

fn audit_request(conn: &mut Conn, actor: &Actor, action: &str, r: &RightsRequest) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        Audit {
            action,
            subject_type: "privacy_request",
            subject_ids: vec![r.id.0],
            person_ids: vec![r.person_id.0],
            fields: vec![r.kind.as_str()],
        },
    )
}

/// Builds the archive the job names, stores it, ends the request and tells the person.
pub fn run_archive_job(conn: &mut Conn, job: &Job, hours: i64) -> anyhow::Result<()> {
    let id = job
        .payload
        .get("request")
        .and_then(serde_json::Value::as_i64)
        .map(RightsRequestId)
        .ok_or_else(|| anyhow::anyhow!("job payload names no request"))?;
    let request = match rows::get_any(conn, id) {
        Ok(r) => r,
        Err(rdv_db::DbError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if request.state != RightsRequestState::InProgress {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let built = conn.transaction(|conn| {
        let (bytes, records) =
            super::archive::build(conn, request.organization_id, request.person_id)?;
        let expires = Utc::now() + Duration::hours(hours);
        rows::store_archive(
            conn,
            id,
            &bytes,
            expires,
            &serde_json::json!({"records": records, "bytes": bytes.len(), "expires_at": expires}),
        )?;
        notify::enqueue_email(
            conn,
            Email {
                organization: request.organization_id,
                event: None,
                person: request.person_id,
                kind: Kind::PrivacyArchiveReady,
                data: serde_json::json!({"hours": hours}),
                key: format!("privacy_archive_ready:{id}"),
            },
        )?;
        tracing::info!(
            privacy_request.id = %id,
            archive.records = records,
            archive.bytes = bytes.len(),
            archive.duration_ms = started.elapsed().as_millis() as u64,
            "access archive built"
        );
        Ok::<_, AppError>(())
    });
    match built {
        Ok(()) => Ok(()),
        // Rejected or answered meanwhile: nothing to store.
        Err(AppError::NotFound(_)) => Ok(()),
        Err(e) if job.attempts >= job.max_attempts => {
            // The last attempt: the request ends, saying why, so that it can be asked again.
            rows::set_state(
                conn,
                id,
                RightsRequestState::Rejected,
                None,
                &serde_json::json!({"failed": "the archive could not be built"}),
                Some("the archive could not be built: ask again, or contact the organizer"),
            )?;
            Err(anyhow::anyhow!("{e}"))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}
