//! Notifications: a message is queued in the transaction of the change that causes it
//! ([`enqueue_email`]) and sent by notification workers ([`Worker`]) that claim batches under a
//! lease, check the person's state at send time (an erased or restricted person gets nothing,
//! an opt-out stops what it covers), render the message in the person's language, and record
//! what the server said. A worker that dies leaves its messages to be sent again once their
//! lease runs out: a message may then arrive twice, under one Message-ID.

use crate::{AppError, AppResult};
use chrono::{Duration, Utc};
use rdv_db::models::{NewOutboxMessage, OutboxMessage};
use rdv_db::queries::{events, organizations, outbox, persons};
use rdv_db::Conn;
use rdv_domain::{
    Channel, DataSource, EventId, LegalBasis, MessageStatus, OrganizationId, PersonId,
    RetentionPolicy,
};
use rdv_notify::{EmailSettings, Kind, Mailer, Outgoing, SendError, Templates};
use serde::Deserialize;
use std::sync::atomic::AtomicBool;

/// The `[notify]` settings: how workers take their batches.
#[derive(Debug, Clone, Deserialize)]
pub struct NotifySettings {
    /// Run a notification worker inside `rdv serve`.
    pub worker_in_serve: bool,
    pub batch_size: i64,
    pub lease_seconds: i64,
    pub idle_millis: u64,
    /// Where people and the SMS gateway reach this platform's API (unsubscribe links,
    /// delivery reports), e.g. `https://rdv.example`.
    pub public_url: String,
}

/// Attempts at a message that fails temporarily: with the backoff (10 s doubling, at most an
/// hour) the last one comes about three and a half hours after the first.
pub const MAX_ATTEMPTS: i32 = 12;

/// An email to queue: message `kind` to `person`, about `event`; `data` is what the template
/// needs beyond the person, organization and event, which are read when the message goes.
/// `key` names the business fact: queuing the same key twice queues one message.
pub struct Email {
    pub organization: OrganizationId,
    pub event: Option<EventId>,
    pub person: PersonId,
    pub kind: Kind,
    pub data: serde_json::Value,
    pub key: String,
}

/// Queues `email` in the caller's transaction; `false` when its key was queued before.
pub fn enqueue_email(conn: &mut Conn, email: Email) -> AppResult<bool> {
    Ok(enqueue_emails(conn, vec![email])? == 1)
}

/// Queues many emails in the caller's transaction; returns how many were new.
pub fn enqueue_emails(conn: &mut Conn, emails: Vec<Email>) -> AppResult<usize> {
    let now = Utc::now();
    let rows = emails
        .into_iter()
        .map(|e| row(e, Channel::Email, now))
        .collect::<Vec<_>>();
    Ok(outbox::enqueue_many(conn, &rows)?)
}

/// Queues SMS in the caller's transaction (`key`s are those of the facts, kept apart from
/// the same facts' emails); returns how many were new. Whether the person has a mobile
/// number, and has not opted out of SMS, is read when the message goes.
pub fn enqueue_sms(conn: &mut Conn, texts: Vec<Email>) -> AppResult<usize> {
    let now = Utc::now();
    let rows = texts
        .into_iter()
        .map(|mut e| {
            e.key = format!("sms:{}", e.key);
            row(e, Channel::Sms, now)
        })
        .collect::<Vec<_>>();
    Ok(outbox::enqueue_many(conn, &rows)?)
}

pub(crate) fn row(
    e: Email,
    channel: Channel,
    not_before: chrono::DateTime<Utc>,
) -> NewOutboxMessage {
    NewOutboxMessage {
        organization_id: Some(e.organization),
        event_id: e.event,
        person_id: Some(e.person),
        user_account_id: None,
        channel,
        template: e.kind.as_str().to_owned(),
        data: e.data,
        idempotency_key: e.key,
        not_before,
        max_attempts: MAX_ATTEMPTS,
        legal_basis: LegalBasis::Contract,
        retention_until: RetentionPolicy::EventData.deadline(Utc::now()),
        source: DataSource::System,
        campaign_id: None,
        solicitation: false,
    }
}

/// "2027-03-16 10:20–10:40", in the event's time zone.
fn when(s: &crate::agenda::Span) -> String {
    format!(
        "{} {}–{}",
        s.local_start.get(..10).unwrap_or_default(),
        s.local_start.get(11..).unwrap_or_default(),
        s.local_end.get(11..).unwrap_or_default()
    )
}

/// "14:20", or "16/03 14:20" for an event of several days.
fn short_time(s: &crate::agenda::Span, with_day: bool) -> String {
    let (date, time) = (
        s.local_start.get(..10).unwrap_or_default(),
        s.local_start.get(11..).unwrap_or_default(),
    );
    match (with_day, date.get(8..10), date.get(5..7)) {
        (true, Some(d), Some(m)) => format!("{d}/{m} {time}"),
        _ => time.to_owned(),
    }
}

/// "Jan Novák (Acme)".
fn with(p: &rdv_db::queries::meetings::Party) -> String {
    match &p.company {
        Some(c) => format!("{} {} ({c})", p.first_name, p.last_name),
        None => format!("{} {}", p.first_name, p.last_name),
    }
}

fn meeting_line(e: &crate::agenda::Entry) -> serde_json::Value {
    serde_json::json!({"when": when(&e.span), "place": e.place, "with": with(&e.counterpart)})
}

/// When reminders go: from this hour (the event's time) the evening before each event day.
pub const REMINDER_HOUR: u32 = 18;
/// The reminder SMS goes this long before the participant's first meeting of the day.
pub const FIRST_MEETING_SMS_MINUTES: i64 = 30;
/// The job kind that queues the reminders that are due.
pub const REMINDERS_JOB: &str = "notify.reminders";

/// Queues the reminders due at `now`: for each event day that is tomorrow in its event's time
/// zone, once it is past [`REMINDER_HOUR`] there, one email to each participant with a meeting
/// that day, and an SMS due [`FIRST_MEETING_SMS_MINUTES`] before their first meeting to those
/// with a mobile number who accept SMS. Run every quarter of an hour by the job workers; a
/// reminder is queued once.
pub fn queue_reminders(conn: &mut Conn, now: chrono::DateTime<Utc>) -> AppResult<usize> {
    use chrono::Timelike;
    let today = now.date_naive();
    let days = rdv_db::queries::plans::days_between(conn, today, today + Duration::days(2))?;
    let mut emails = Vec::new();
    let mut texts = Vec::new();
    for (day, org, zone) in days {
        let Ok(tz) = zone.parse::<chrono_tz::Tz>() else {
            continue;
        };
        let local = now.with_timezone(&tz);
        if local.date_naive().succ_opt() != Some(day.day) || local.hour() < REMINDER_HOUR {
            continue;
        }
        let firsts: std::collections::HashMap<_, _> =
            rdv_db::queries::plans::meeting_on_day(conn, day.event_id, day.id)?
                .into_iter()
                .collect();
        let regs: Vec<_> = firsts.keys().copied().collect();
        // A participant whose registration was refused or cancelled since is not expected.
        let coming: Vec<_> = rdv_db::queries::meetings::parties(conn, org, &regs)?
            .into_iter()
            .filter(|p| p.status == rdv_domain::RegistrationStatus::Validated)
            .collect();
        // And an SMS before the first meeting of the day, to those an SMS reaches.
        let persons: Vec<_> = coming.iter().map(|p| p.person_id).collect();
        let reachable: std::collections::HashSet<_> =
            persons::reachable_by_sms(conn, org, &persons)?
                .into_iter()
                .collect();
        let reminder = |p: &rdv_db::queries::meetings::Party| Email {
            organization: org,
            event: Some(day.event_id),
            person: p.person_id,
            kind: Kind::Reminder,
            data: serde_json::json!({
                "registration_id": p.registration_id.0,
                "date": day.day.to_string(),
            }),
            key: format!("reminder:{}:{}", day.id, p.registration_id),
        };
        for p in coming.iter().filter(|p| reachable.contains(&p.person_id)) {
            let Some(first) = firsts.get(&p.registration_id) else {
                continue;
            };
            let mut text = reminder(p);
            text.key = format!("sms:{}", text.key);
            texts.push(row(
                text,
                Channel::Sms,
                *first - Duration::minutes(FIRST_MEETING_SMS_MINUTES),
            ));
        }
        emails.extend(coming.iter().map(reminder));
    }
    let queued = enqueue_emails(conn, emails)? + outbox::enqueue_many(conn, &texts)?;
    if queued > 0 {
        tracing::info!(notify.reminders = queued, "reminders queued");
    }
    Ok(queued)
}

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub cancelled: usize,
}

/// A notification worker: any number may run, on any machines.
pub struct Worker {
    name: String,
    templates: Templates,
    mailer: Mailer,
    gateway: rdv_notify::Gateway,
    settings: NotifySettings,
    /// The domain of the calendar UIDs in attached agendas.
    uid_domain: String,
    /// Signs unsubscribe links and delivery-report URLs.
    secret: String,
    /// Messages of a batch sent at once (the SMTP pool's size).
    concurrency: usize,
}

/// What one batch reads once: organization names and events, by id.
#[derive(Default)]
struct BatchCache {
    organizations: std::collections::HashMap<OrganizationId, String>,
    events: std::collections::HashMap<EventId, serde_json::Value>,
}

/// What a message needs to go.
enum Prepared {
    Email {
        to: String,
        name: String,
        content: rdv_notify::Rendered,
        attachment: Option<rdv_notify::Attachment>,
        /// The one-click unsubscribe URL of a marketing message.
        unsubscribe: Option<String>,
    },
    Sms {
        to: String,
        text: String,
    },
}

/// How one message ended in this attempt.
enum Outcome {
    Sent {
        to: String,
        message_id: String,
        reply: String,
    },
    Retry(String),
    Failed(String),
    Cancelled(String),
}

impl Worker {
    pub fn new(
        name: impl Into<String>,
        email: &EmailSettings,
        sms: &rdv_notify::SmsSettings,
        settings: NotifySettings,
        secret: &str,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            name: name.into(),
            templates: Templates::new()?,
            mailer: Mailer::new(email)?,
            gateway: rdv_notify::Gateway::new(sms)?,
            settings,
            uid_domain: email.message_id_domain.clone(),
            secret: secret.to_owned(),
            concurrency: usize::try_from(email.pool_size).unwrap_or(1).max(1),
        })
    }

    /// Claims one batch and sends it.
    pub fn run_once(&self, conn: &mut Conn) -> AppResult<Batch> {
        let lease = Duration::seconds(self.settings.lease_seconds);
        let claimed = outbox::claim(conn, &self.name, self.settings.batch_size, lease)?;
        let mut batch = Batch {
            claimed: claimed.len(),
            ..Batch::default()
        };
        if claimed.is_empty() {
            return Ok(batch);
        }
        // Read and render every message of the batch (the database's part), then send them
        // over as many connections as the SMTP pool holds (an SMTP exchange waits on the
        // server at every step: one connection at a time would leave the worker idle), then
        // record the outcomes. The lease is extended while the sends take long, so that no
        // other worker sends these messages again.
        let mut cache = BatchCache::default();
        let ready: Vec<Result<Prepared, Outcome>> = claimed
            .iter()
            .map(|m| match self.prepare(conn, m, &mut cache) {
                Ok(r) => r,
                // The database failed us: try again later.
                Err(e) => Err(Outcome::Retry(e.to_string())),
            })
            .collect();
        let outcomes = self.send_all(conn, &claimed, ready, lease)?;
        // One transaction records the batch: one commit rather than one per message.
        diesel::Connection::transaction(conn, |conn| {
            for (m, outcome) in claimed.iter().zip(outcomes) {
                let recorded = match &outcome {
                    Outcome::Sent {
                        to,
                        message_id,
                        reply,
                    } => {
                        batch.sent += 1;
                        outbox::sent(conn, m.id, &self.name, to, message_id, reply, m.channel)?
                    }
                    Outcome::Retry(e) if m.attempts < m.max_attempts => {
                        batch.retried += 1;
                        let at = Utc::now() + crate::jobs::backoff(m.attempts);
                        outbox::retry_later(conn, m.id, &self.name, e, at)?
                    }
                    Outcome::Retry(e) => {
                        batch.failed += 1;
                        let why = format!("gave up after {} attempts: {e}", m.attempts);
                        outbox::end(conn, m.id, &self.name, MessageStatus::Failed, &why)?
                    }
                    Outcome::Failed(e) => {
                        batch.failed += 1;
                        outbox::end(conn, m.id, &self.name, MessageStatus::Failed, e)?
                    }
                    Outcome::Cancelled(why) => {
                        batch.cancelled += 1;
                        outbox::end(conn, m.id, &self.name, MessageStatus::Cancelled, why)?
                    }
                };
                if !recorded {
                    tracing::warn!(message.id = %m.id, "message outcome not recorded: its lease was taken over");
                } else if m.template == Kind::ErasureDone.as_str()
                    && !matches!(outcome, Outcome::Retry(_) if m.attempts < m.max_attempts)
                {
                    // The erased person's address was kept only to send this message.
                    outbox::forget_recipient(conn, m.id)?;
                }
            }
            Ok::<_, AppError>(())
        })?;
        if batch.claimed > 0 {
            tracing::info!(
                notify.claimed = batch.claimed,
                notify.sent = batch.sent,
                notify.retried = batch.retried,
                notify.failed = batch.failed,
                notify.cancelled = batch.cancelled,
                "notification batch"
            );
        }
        Ok(batch)
    }

    /// Sends the prepared messages of a batch over `concurrency` connections, extending the
    /// batch's lease every third of it until the last is done; the outcomes in order.
    fn send_all(
        &self,
        conn: &mut Conn,
        claimed: &[OutboxMessage],
        ready: Vec<Result<Prepared, Outcome>>,
        lease: Duration,
    ) -> AppResult<Vec<Outcome>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        let n = ready.len();
        let slots: Vec<Mutex<Option<Result<Prepared, Outcome>>>> =
            ready.into_iter().map(|r| Mutex::new(Some(r))).collect();
        let results: Vec<Mutex<Option<Outcome>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let (next, done) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let threads = self.concurrency.clamp(1, n.max(1));
        let mut extended = std::time::Instant::now();
        let every = (lease / 3).to_std().unwrap_or_default();
        let mut lease_error = None;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let taken = slots[i].lock().map(|mut s| s.take()).unwrap_or(None);
                    let outcome = match taken {
                        Some(Ok(p)) => self.send_one(&claimed[i], p),
                        Some(Err(o)) => o,
                        None => Outcome::Retry("the message was lost inside the worker".into()),
                    };
                    if let Ok(mut r) = results[i].lock() {
                        *r = Some(outcome);
                    }
                    done.fetch_add(1, Ordering::Release);
                });
            }
            while done.load(Ordering::Acquire) < n {
                std::thread::sleep(std::time::Duration::from_millis(5));
                if extended.elapsed() > every && lease_error.is_none() {
                    let ids: Vec<_> = claimed.iter().map(|m| m.id).collect();
                    if let Err(e) = outbox::extend_lease(conn, &ids, &self.name, lease) {
                        lease_error = Some(e);
                    }
                    extended = std::time::Instant::now();
                }
            }
        });
        if let Some(e) = lease_error {
            return Err(e.into());
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| Outcome::Retry("no outcome recorded".into()))
            })
            .collect())
    }

    fn send_one(&self, m: &OutboxMessage, ready: Prepared) -> Outcome {
        let sent = match ready {
            Prepared::Email {
                to,
                name,
                content,
                attachment,
                unsubscribe,
            } => {
                let out = Outgoing {
                    to_address: &to,
                    to_name: &name,
                    idempotency_key: &m.idempotency_key,
                    content: &content,
                    attachment: attachment.as_ref(),
                    unsubscribe: unsubscribe.as_deref(),
                };
                self.mailer.send(&out).map(|d| (to, d.message_id, d.reply))
            }
            Prepared::Sms { to, text } => {
                let token = sign(&self.secret, DLR_LABEL, &[m.id.0]);
                let dlr = format!(
                    "{}/api/sms/dlr/{token}?type=%d",
                    self.settings.public_url.trim_end_matches('/')
                );
                let id = rdv_notify::email::message_id(&m.idempotency_key, &self.uid_domain);
                self.gateway
                    .send(&to, &text, &dlr)
                    .map(|a| (to, id, a.reply))
            }
        };
        match sent {
            Ok((to, message_id, reply)) => Outcome::Sent {
                to,
                message_id,
                reply,
            },
            Err(SendError::Permanent(e)) => Outcome::Failed(e),
            Err(SendError::Temporary(e)) => Outcome::Retry(e),
        }
    }

    /// The address, name and rendered message, or why the message must not go.
    fn prepare(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
        cache: &mut BatchCache,
    ) -> AppResult<Result<Prepared, Outcome>> {
        if let Some(account) = m.user_account_id {
            return self.prepare_account(conn, m, account);
        }
        let (Some(org_id), Some(person_id)) = (m.organization_id, m.person_id) else {
            return Ok(Err(Outcome::Failed(
                "the message names no recipient".into(),
            )));
        };
        if m.template == Kind::ErasureDone.as_str() {
            return self.prepare_erasure_notice(conn, m, org_id, cache);
        }
        let person = match persons::get(conn, org_id, person_id) {
            Ok(p) => p,
            Err(rdv_db::DbError::NotFound) => {
                return Ok(Err(Outcome::Cancelled(
                    "the person's data is erased".into(),
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if person.privacy.restricted_at.is_some() {
            return Ok(Err(Outcome::Cancelled(
                "the person's data is restricted".into(),
            )));
        }
        let Some(kind) = Kind::parse(&m.template) else {
            return Ok(Err(Outcome::Failed(format!(
                "no template for message kind `{}`",
                m.template
            ))));
        };
        if kind.is_marketing() && person.optout_marketing_email_at.is_some() {
            return Ok(Err(Outcome::Cancelled(
                "the person opted out of marketing email".into(),
            )));
        }
        if m.channel == Channel::Sms {
            if person.optout_sms_at.is_some() {
                return Ok(Err(Outcome::Cancelled(
                    "the person opted out of SMS".into(),
                )));
            }
            let Some(mobile) = person.mobile_phone.clone() else {
                return Ok(Err(Outcome::Cancelled(
                    "the person has no mobile number".into(),
                )));
            };
            return Ok(self
                .sms_text(conn, m, kind, &person.preferred_language)?
                .map(|text| Prepared::Sms { to: mobile, text }));
        }
        let org_name = match cache.organizations.get(&org_id) {
            Some(name) => name.clone(),
            None => {
                let name = organizations::get(conn, org_id)?.name;
                cache.organizations.insert(org_id, name.clone());
                name
            }
        };
        let mut data = match &m.data {
            serde_json::Value::Object(o) => o.clone(),
            _ => serde_json::Map::new(),
        };
        data.insert("organization".into(), org_name.into());
        data.insert(
            "person".into(),
            serde_json::json!({"first_name": person.first_name, "last_name": person.last_name}),
        );
        if let Some(event) = m.event_id {
            let ev = match cache.events.get(&event) {
                Some(ev) => ev.clone(),
                None => {
                    let ev = events::get(conn, org_id, event)
                        .map_err(|e| AppError::from_db("event", e))?;
                    let ev =
                        serde_json::json!({"name": ev.name, "starts_on": ev.starts_on.to_string()});
                    cache.events.insert(event, ev.clone());
                    ev
                }
            };
            data.insert("event".into(), ev);
        }
        let mut attachment = None;
        match kind {
            Kind::Campaign => {
                let Some(campaign) = m.campaign_id else {
                    return Ok(Err(Outcome::Failed(
                        "a campaign message names no campaign".into(),
                    )));
                };
                let campaign = rdv_db::queries::campaigns::by_id(conn, campaign)?;
                if campaign.status == rdv_domain::CampaignStatus::Cancelled {
                    return Ok(Err(Outcome::Cancelled("the campaign was cancelled".into())));
                }
                if person.privacy.source == DataSource::Prospect
                    && !rdv_db::queries::campaigns::consented(conn, &[person.id])?
                        .contains(&person.id)
                {
                    return Ok(Err(Outcome::Cancelled(
                        "a prospect who has not consented gets no campaign".into(),
                    )));
                }
                let texts: crate::campaigns::Texts =
                    serde_json::from_value(campaign.content).map_err(AppError::internal)?;
                let Some(content) = texts.for_language(&person.preferred_language) else {
                    return Ok(Err(Outcome::Failed("the campaign has no text".into())));
                };
                let paragraphs: Vec<&str> = content
                    .body
                    .split("\n\n")
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect();
                data.insert(
                    "campaign".into(),
                    serde_json::json!({
                        "subject": content.subject,
                        "body": content.body,
                        "paragraphs": paragraphs,
                    }),
                );
            }
            Kind::Requalification => {
                data.insert(
                    "link".into(),
                    format!(
                        "{}/api/requalify/{}",
                        self.settings.public_url.trim_end_matches('/'),
                        requalify_token(
                            &self.secret,
                            org_id,
                            person_id,
                            Utc::now().timestamp() + 30 * 86_400
                        )
                    )
                    .into(),
                );
            }
            Kind::ConsentRequest => {
                data.insert(
                    "consent_url".into(),
                    format!(
                        "{}/api/consent/{}",
                        self.settings.public_url.trim_end_matches('/'),
                        consent_token(&self.secret, org_id, person_id)
                    )
                    .into(),
                );
            }
            _ => {}
        }
        if kind == Kind::Reminder {
            if let Err(outcome) = self.reminder(conn, m, &mut data)? {
                return Ok(Err(outcome));
            }
        }
        if kind.carries_agenda() {
            match self.agenda(conn, m, &mut data)? {
                Ok(a) => attachment = Some(a),
                Err(outcome) => return Ok(Err(outcome)),
            }
        }
        let content = match self
            .templates
            .render(kind.as_str(), &person.preferred_language, &data)
        {
            Ok(c) => c,
            Err(e) => return Ok(Err(Outcome::Failed(e.to_string()))),
        };
        let name = format!("{} {}", person.first_name, person.last_name);
        let unsubscribe = kind.is_marketing().then(|| {
            format!(
                "{}/api/unsubscribe/{}",
                self.settings.public_url.trim_end_matches('/'),
                unsubscribe_token(&self.secret, org_id, person_id)
            )
        });
        Ok(Ok(Prepared::Email {
            to: person.email,
            name,
            content,
            attachment,
            unsubscribe,
        }))
    }

    /// The last message to an erased person: to the address captured at erasure (the
    /// person's row no longer holds it), which the worker forgets once the message has gone.
    fn prepare_erasure_notice(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
        org_id: OrganizationId,
        cache: &mut BatchCache,
    ) -> AppResult<Result<Prepared, Outcome>> {
        let text = |key: &str| {
            m.data
                .get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (to, first_name, language) = (text("to"), text("first_name"), text("language"));
        if to.is_empty() {
            return Ok(Err(Outcome::Cancelled(
                "the erased person's address is gone".into(),
            )));
        }
        let org_name = match cache.organizations.get(&org_id) {
            Some(name) => name.clone(),
            None => {
                let name = organizations::get(conn, org_id)?.name;
                cache.organizations.insert(org_id, name.clone());
                name
            }
        };
        let data = serde_json::json!({
            "organization": org_name,
            "person": {"first_name": first_name},
        });
        let content = match self.templates.render(m.template.as_str(), &language, &data) {
            Ok(c) => c,
            Err(e) => return Ok(Err(Outcome::Failed(e.to_string()))),
        };
        Ok(Ok(Prepared::Email {
            to,
            name: first_name,
            content,
            attachment: None,
            unsubscribe: None,
        }))
    }

    /// A message to an account (a password reset): its address, and the link made now.
    fn prepare_account(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
        account: rdv_domain::UserAccountId,
    ) -> AppResult<Result<Prepared, Outcome>> {
        let account = match rdv_db::queries::accounts::get(conn, account) {
            Ok(a) if a.disabled_at.is_none() && a.erased_at.is_none() => a,
            Ok(_) | Err(rdv_db::DbError::NotFound) => {
                return Ok(Err(Outcome::Cancelled(
                    "the account is disabled or gone".into(),
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if m.template == crate::privacy::sweep::INACTIVITY_KIND {
            let language = m
                .data
                .get("language")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("en");
            let mut data = m.data.clone();
            if let serde_json::Value::Object(o) = &mut data {
                o.insert(
                    "link".into(),
                    self.settings.public_url.trim_end_matches('/').into(),
                );
            }
            let content = match self.templates.render(m.template.as_str(), language, &data) {
                Ok(c) => c,
                Err(e) => return Ok(Err(Outcome::Failed(e.to_string()))),
            };
            return Ok(Ok(Prepared::Email {
                name: String::new(),
                to: account.email,
                content,
                attachment: None,
                unsubscribe: None,
            }));
        }
        if m.template != crate::passwords::KIND {
            return Ok(Err(Outcome::Failed(format!(
                "message kind `{}` does not go to accounts",
                m.template
            ))));
        }
        let Some(expires) = m.data.get("expires").and_then(serde_json::Value::as_i64) else {
            return Ok(Err(Outcome::Failed(
                "a password reset names no expiry".into(),
            )));
        };
        if expires < Utc::now().timestamp() {
            return Ok(Err(Outcome::Cancelled(
                "the reset link expired before it could be sent".into(),
            )));
        }
        let language = m
            .data
            .get("language")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("en");
        let token =
            crate::passwords::token(&self.secret, account.id, expires, &account.password_hash);
        let data = serde_json::json!({
            "link": format!(
                "{}/api/auth/password-reset/{token}",
                self.settings.public_url.trim_end_matches('/')
            ),
            "minutes": crate::passwords::VALID_MINUTES,
        });
        let content = match self.templates.render(m.template.as_str(), language, &data) {
            Ok(c) => c,
            Err(e) => return Ok(Err(Outcome::Failed(e.to_string()))),
        };
        Ok(Ok(Prepared::Email {
            name: String::new(),
            to: account.email,
            content,
            attachment: None,
            unsubscribe: None,
        }))
    }

    /// The SMS text of message `kind`: what changed in the agenda, shortened to the parts
    /// allowed, at a word boundary.
    fn sms_text(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
        kind: Kind,
        language: &str,
    ) -> AppResult<Result<String, Outcome>> {
        if kind == Kind::Reminder {
            return self.first_meeting_text(conn, m, language);
        }
        if kind != Kind::AgendaChanged {
            return Ok(Err(Outcome::Failed(format!(
                "message kind `{}` has no SMS text",
                kind.as_str()
            ))));
        }
        let (agenda, changes) = match self.agenda_and_changes(conn, m)? {
            Ok(found) => found,
            Err(outcome) => return Ok(Err(outcome)),
        };
        let several_days = agenda.event.ends_on != agenda.event.starts_on;
        let labels: std::collections::HashMap<rdv_domain::TableId, String> =
            events::tables(conn, agenda.event.id)?
                .into_iter()
                .map(|t| (t.id, t.label))
                .collect();
        let by_meeting: std::collections::HashMap<rdv_domain::MeetingId, &crate::agenda::Entry> =
            agenda.meetings.iter().map(|e| (e.meeting_id, e)).collect();
        let changes: Vec<serde_json::Value> = changes
            .iter()
            .filter_map(|c| {
                let e = by_meeting.get(&c.meeting_id)?;
                let before_place = c
                    .old_table_id
                    .and_then(|t| labels.get(&t).cloned())
                    .unwrap_or_else(|| e.place.clone());
                Some(serde_json::json!({
                    "change": c.change.as_str(),
                    "when": c.after.as_ref().map(|s| short_time(s, several_days)),
                    "before": c.before.as_ref().map(|s| short_time(s, several_days)),
                    "before_place": before_place,
                    "place": e.place,
                    "with": e.counterpart.company.clone().unwrap_or_else(|| {
                        format!("{} {}", e.counterpart.first_name, e.counterpart.last_name)
                    }),
                }))
            })
            .collect();
        if changes.is_empty() {
            return Ok(Err(Outcome::Cancelled(
                "nothing in the participant's agenda changed".into(),
            )));
        }
        let data = serde_json::json!({"event": {"name": agenda.event.name}, "changes": changes});
        match self.templates.render_sms(kind.as_str(), language, &data) {
            Ok(text) => Ok(Ok(rdv_notify::sms::shorten(
                &text,
                self.gateway.max_parts(),
            ))),
            Err(e) => Ok(Err(Outcome::Failed(e.to_string()))),
        }
    }

    /// The reminder SMS: the participant's first meeting of the day, read now.
    fn first_meeting_text(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
        language: &str,
    ) -> AppResult<Result<String, Outcome>> {
        let (agenda, date) = match self.day_agenda(conn, m)? {
            Ok(found) => found,
            Err(outcome) => return Ok(Err(outcome)),
        };
        let date = date.as_str();
        let Some(first) = agenda
            .meetings
            .iter()
            .filter(|e| e.span.local_start.starts_with(date))
            .min_by(|a, b| a.span.starts_at.cmp(&b.span.starts_at))
        else {
            return Ok(Err(Outcome::Cancelled("no meeting left that day".into())));
        };
        if first.span.starts_at < Utc::now() {
            return Ok(Err(Outcome::Cancelled(
                "the first meeting of the day has begun".into(),
            )));
        }
        let data = serde_json::json!({
            "event": {"name": agenda.event.name},
            "when": short_time(&first.span, false),
            "place": first.place,
            "with": first.counterpart.company.clone().unwrap_or_else(|| {
                format!("{} {}", first.counterpart.first_name, first.counterpart.last_name)
            }),
        });
        match self
            .templates
            .render_sms(Kind::Reminder.as_str(), language, &data)
        {
            Ok(text) => Ok(Ok(rdv_notify::sms::shorten(
                &text,
                self.gateway.max_parts(),
            ))),
            Err(e) => Ok(Err(Outcome::Failed(e.to_string()))),
        }
    }

    /// The agenda of the registration the message names, read now (with cancelled meetings
    /// when `cancelled`), with the organization and event; or why the message must not go.
    #[allow(clippy::type_complexity)]
    fn registration_agenda(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
        cancelled: bool,
    ) -> AppResult<Result<(crate::agenda::Agenda, OrganizationId, EventId), Outcome>> {
        let (Some(org), Some(event), Some(reg)) = (
            m.organization_id,
            m.event_id,
            m.data
                .get("registration_id")
                .and_then(serde_json::Value::as_i64),
        ) else {
            return Ok(Err(Outcome::Failed(
                "the message names no organization, event or registration".into(),
            )));
        };
        let reg = rdv_domain::RegistrationId(reg);
        match crate::agenda::of_registration(conn, org, event, reg, cancelled) {
            Ok(a) => Ok(Ok((a, org, event))),
            Err(e) if e.is_callers_mistake() => Ok(Err(Outcome::Cancelled(format!(
                "the participant's agenda is gone: {e}"
            )))),
            Err(e) => Err(e),
        }
    }

    /// The participant's agenda, read now, and what the message's version changed in it.
    #[allow(clippy::type_complexity)]
    fn agenda_and_changes(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
    ) -> AppResult<Result<(crate::agenda::Agenda, Vec<crate::agenda::ChangeView>), Outcome>> {
        let Some(version) = m
            .data
            .get("version")
            .and_then(serde_json::Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
        else {
            return Ok(Err(Outcome::Failed(
                "an agenda message names no version".into(),
            )));
        };
        let (agenda, org, event) = match self.registration_agenda(conn, m, true)? {
            Ok(found) => found,
            Err(outcome) => return Ok(Err(outcome)),
        };
        let reg = agenda.me.registration_id;
        let changes = crate::agenda::changes_view(conn, org, event, version, Some(reg))?;
        Ok(Ok((agenda, changes)))
    }

    /// For the reminders: the participant's agenda, read now, and the day (`YYYY-MM-DD`) the
    /// message is about.
    fn day_agenda(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
    ) -> AppResult<Result<(crate::agenda::Agenda, String), Outcome>> {
        let Some(date) = m.data.get("date").and_then(serde_json::Value::as_str) else {
            return Ok(Err(Outcome::Failed("a reminder names no date".into())));
        };
        Ok(self
            .registration_agenda(conn, m, false)?
            .map(|(agenda, _, _)| (agenda, date.to_owned())))
    }

    /// For a reminder: the person's meetings of the day, read now; none left cancels it.
    fn reminder(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
        data: &mut serde_json::Map<String, serde_json::Value>,
    ) -> AppResult<Result<(), Outcome>> {
        let (agenda, date) = match self.day_agenda(conn, m)? {
            Ok(found) => found,
            Err(outcome) => return Ok(Err(outcome)),
        };
        let date = date.as_str();
        let meetings: Vec<serde_json::Value> = agenda
            .meetings
            .iter()
            .filter(|e| e.span.local_start.starts_with(date))
            .map(meeting_line)
            .collect();
        if meetings.is_empty() {
            return Ok(Err(Outcome::Cancelled("no meeting left that day".into())));
        }
        data.insert("meetings".into(), meetings.into());
        Ok(Ok(()))
    }

    /// For the agenda messages: the person's meetings and what the version changed, read now
    /// (a later version may have changed them again), into `data`; the agenda as iCalendar.
    fn agenda(
        &self,
        conn: &mut Conn,
        m: &OutboxMessage,
        data: &mut serde_json::Map<String, serde_json::Value>,
    ) -> AppResult<Result<rdv_notify::Attachment, Outcome>> {
        let (agenda, changes) = match self.agenda_and_changes(conn, m)? {
            Ok(found) => found,
            Err(outcome) => return Ok(Err(outcome)),
        };
        let meetings: Vec<serde_json::Value> = agenda
            .meetings
            .iter()
            .filter(|e| e.status == rdv_domain::MeetingStatus::Scheduled)
            .map(meeting_line)
            .collect();
        let by_meeting: std::collections::HashMap<rdv_domain::MeetingId, &crate::agenda::Entry> =
            agenda.meetings.iter().map(|e| (e.meeting_id, e)).collect();
        let changes: Vec<serde_json::Value> = changes
            .iter()
            .filter_map(|c| {
                let e = by_meeting.get(&c.meeting_id)?;
                Some(serde_json::json!({
                    "change": c.change.as_str(),
                    "when": c.after.as_ref().map(when),
                    "before": c.before.as_ref().map(when),
                    "place": e.place,
                    "with": with(&e.counterpart),
                }))
            })
            .collect();
        data.insert("meetings".into(), meetings.into());
        data.insert("changes".into(), changes.into());
        let tz: chrono_tz::Tz = agenda.event.time_zone.parse().map_err(AppError::internal)?;
        let ics = crate::ics::render(&agenda, tz, &self.uid_domain, Utc::now());
        Ok(Ok(rdv_notify::Attachment {
            file_name: "agenda.ics".into(),
            content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
            body: ics.into_bytes(),
        }))
    }

    /// Sends batches until `stop` is set, reconnecting when the database goes away.
    pub fn run(&self, database_url: &str, stop: &AtomicBool) {
        let idle = std::time::Duration::from_millis(self.settings.idle_millis);
        tracing::info!(worker = %self.name, "notification worker started");
        crate::jobs::work_loop("notification worker", database_url, stop, idle, |c| {
            Ok(self.run_once(c)?.claimed > 0)
        });
    }
}

/// The event's messages, newest first (only those in `status` when given), for its organizers:
/// who was sent what, what failed and why. Audited as a read of the recipients' addresses.
pub fn messages(
    conn: &mut Conn,
    actor: &crate::Actor,
    event: EventId,
    status: Option<&str>,
    page: Option<u32>,
    per_page: Option<u32>,
) -> AppResult<crate::paging::Listed<OutboxMessage>> {
    let org = actor.organizer_org()?;
    let mut c = crate::Check::new();
    let status: Option<MessageStatus> = status.and_then(|s| c.word("status", s));
    c.finish()?;
    let paging = crate::paging::page(page, per_page)?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let found = outbox::of_event(conn, org, event, status, paging.page)?;
    if !found.items.is_empty() {
        crate::audit::record(
            conn,
            actor,
            crate::audit::Audit {
                action: "message.read",
                subject_type: "message",
                subject_ids: found.items.iter().map(|m| m.id.0).collect(),
                person_ids: crate::audit::person_ids(
                    found.items.iter().filter_map(|m| m.person_id),
                ),
                fields: vec!["email"],
            },
        )?;
    }
    Ok(crate::paging::Listed::new(found, paging))
}

/// Queues a failed message again, with a fresh set of attempts; 409 unless it failed.
pub fn retry(
    conn: &mut Conn,
    actor: &crate::Actor,
    id: rdv_domain::OutboxMessageId,
) -> AppResult<OutboxMessage> {
    let org = actor.organizer_org()?;
    let m = outbox::get(conn, org, id).map_err(|e| AppError::from_db("message", e))?;
    if !outbox::requeue(conn, org, id)? {
        return Err(AppError::conflict(format!(
            "only a failed message can be retried; this one is {}",
            m.status
        )));
    }
    Ok(outbox::get(conn, org, id)?)
}

/// What a signed token is for: a token made for one purpose never verifies for another.
const UNSUBSCRIBE_LABEL: &[u8] = b"rdv unsubscribe v1:";
const DLR_LABEL: &[u8] = b"rdv sms delivery report v1:";
const CONSENT_LABEL: &[u8] = b"rdv consent request v1:";

/// A token naming `ids`, signed with HMAC-SHA256 under a key derived from the platform's
/// secret and separated by `label` from the secret's other uses: the ids, then the first 16
/// bytes of the tag, URL-safe base64 without padding.
fn sign(secret: &str, label: &[u8], ids: &[i64]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut raw: Vec<u8> = ids.iter().flat_map(|i| i.to_be_bytes()).collect();
    let tag = mac(secret, label, &raw).finalize().into_bytes();
    raw.extend_from_slice(&tag[..16]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The `n` ids a token made by [`sign`] with `label` names, when it verifies.
fn verify(secret: &str, label: &[u8], token: &str, n: usize) -> Option<Vec<i64>> {
    use base64::Engine;
    use hmac::Mac;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    if raw.len() != 8 * n + 16 {
        return None;
    }
    let (ids, tag) = raw.split_at(8 * n);
    mac(secret, label, ids).verify_truncated_left(tag).ok()?;
    ids.chunks(8)
        .map(|b| <[u8; 8]>::try_from(b).ok().map(i64::from_be_bytes))
        .collect()
}

fn mac(secret: &str, label: &[u8], ids: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::digest::KeyInit;
    use hmac::Mac;
    use sha2::Digest;
    // The key is the secret's SHA-256, zero-padded to the block: what HMAC does with any key
    // shorter than a block, through the constructor that cannot fail.
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(&sha2::Sha256::digest(secret.as_bytes()));
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&key.into());
    mac.update(label);
    mac.update(ids);
    mac
}

/// One-click unsubscribe (RFC 8058): the token of a person's unsubscribe link. It names the
/// organization and the person and is signed (HMAC-SHA256, keyed with the platform's secret):
/// nobody can make one for another person. 43 URL-safe characters.
pub fn unsubscribe_token(secret: &str, org: OrganizationId, person: PersonId) -> String {
    sign(secret, UNSUBSCRIBE_LABEL, &[org.0, person.0])
}

/// The token of the consent link a prospect's solicitation carries (see [`unsubscribe_token`]).
pub fn consent_token(secret: &str, org: OrganizationId, person: PersonId) -> String {
    sign(secret, CONSENT_LABEL, &[org.0, person.0])
}

/// The token of a requalification link: the person, and when the link stops working.
pub fn requalify_token(
    secret: &str,
    org: OrganizationId,
    person: PersonId,
    expires: i64,
) -> String {
    sign(secret, REQUALIFY_LABEL, &[org.0, person.0, expires])
}

/// The organization and person a requalification link names, while it works.
pub fn requalify_subject(secret: &str, token: &str) -> Option<(OrganizationId, PersonId)> {
    let [org, person, expires] =
        <[i64; 3]>::try_from(verify(secret, REQUALIFY_LABEL, token, 3)?).ok()?;
    (expires > Utc::now().timestamp()).then_some((OrganizationId(org), PersonId(person)))
}

const REQUALIFY_LABEL: &[u8] = b"rdv requalification v1:";

/// The purpose and text version a consent link records.
pub const CONSENT_PURPOSE: &str = "marketing_email";
pub const CONSENT_TEXT_VERSION: &str = "consent_request.v1";
/// What the person agreed to under [`CONSENT_TEXT_VERSION`], word for word as the consent
/// page asks it: the access archive shows it with the consent.
pub const CONSENT_TEXT: &str = "Do you agree to receive information about this event by \
    email? You can withdraw at any time with the unsubscribe link of every message.";

/// The text a consent record's version stands for, when the platform wrote it.
pub fn consent_text(version: &str) -> Option<&'static str> {
    match version {
        CONSENT_TEXT_VERSION => Some(CONSENT_TEXT),
        "withdrawal" => Some("The person withdrew their consent to this purpose."),
        _ => None,
    }
}

/// Who a consent link names, when it verifies: (organization, person, first name, whether
/// they have consented already). 404 otherwise.
pub fn consent_subject(
    conn: &mut Conn,
    secret: &str,
    token: &str,
) -> AppResult<(OrganizationId, PersonId, String, bool)> {
    let not_found = || AppError::not_found("consent link");
    let Some([org, person]) =
        verify(secret, CONSENT_LABEL, token, 2).and_then(|ids| <[i64; 2]>::try_from(ids).ok())
    else {
        return Err(not_found());
    };
    let (org, person) = (OrganizationId(org), PersonId(person));
    let p = persons::get(conn, org, person).map_err(|_| not_found())?;
    if p.privacy.restricted_at.is_some() {
        return Err(not_found());
    }
    let given = rdv_db::queries::campaigns::consented(conn, &[person])?.contains(&person);
    Ok((org, person, p.first_name, given))
}

/// Records the consent of the person a solicitation's link names (once: a second click
/// changes nothing) and lifts nothing else: an earlier objection stays until the person
/// withdraws it themselves. Audited.
pub fn give_consent(
    conn: &mut Conn,
    secret: &str,
    token: &str,
    client_address: Option<&str>,
) -> AppResult<()> {
    let (org, person, _, given) = consent_subject(conn, secret, token)?;
    if given {
        return Ok(());
    }
    rdv_db::queries::campaigns::record_consent(
        conn,
        org,
        person,
        CONSENT_PURPOSE,
        CONSENT_TEXT_VERSION,
        true,
        "email",
        client_address,
        RetentionPolicy::ContractualProof.deadline(Utc::now()),
    )?;
    crate::audit::record_as(
        conn,
        Some(org),
        None,
        client_address.map(str::to_owned),
        crate::audit::Audit {
            action: "person.consent",
            subject_type: "person",
            subject_ids: vec![person.0],
            person_ids: vec![person.0],
            fields: vec!["consent"],
        },
    )?;
    Ok(())
}

/// Records the marketing opt-out of the person a one-click unsubscribe link names (keeping
/// the date of an earlier objection) and audits it. A token that does not verify, or names a
/// person who is gone, is not found: nothing tells a guesser which part was wrong.
pub fn unsubscribe(conn: &mut Conn, secret: &str, token: &str) -> AppResult<()> {
    let not_found = || AppError::not_found("unsubscribe link");
    let Some([org, person]) =
        verify(secret, UNSUBSCRIBE_LABEL, token, 2).and_then(|ids| <[i64; 2]>::try_from(ids).ok())
    else {
        return Err(not_found());
    };
    let (org, person) = (OrganizationId(org), PersonId(person));
    let current = persons::get(conn, org, person).map_err(|_| not_found())?;
    if current.optout_marketing_email_at.is_none() {
        persons::update(
            conn,
            org,
            person,
            &rdv_db::models::PersonChanges {
                optout_marketing_email_at: Some(Some(Utc::now())),
                ..Default::default()
            },
        )?;
    }
    crate::audit::record_as(
        conn,
        Some(org),
        None,
        None,
        crate::audit::Audit {
            action: "person.unsubscribe",
            subject_type: "person",
            subject_ids: vec![person.0],
            person_ids: vec![person.0],
            fields: vec!["optout_marketing_email_at"],
        },
    )?;
    Ok(())
}

/// Records what the network reported about an SMS: Kannel calls the delivery-report URL the
/// worker gave it, with the report's type (1 delivered, 2 not delivered, 4 queued at the SMSC,
/// 8 accepted and 16 rejected by the SMSC). A final report is never replaced by an
/// intermediate one that arrives late; a message the network could not deliver is failed, so
/// that its organizers see it and may retry it. 404 when the token does not verify.
pub fn record_delivery(
    conn: &mut Conn,
    secret: &str,
    token: &str,
    dlr_type: &str,
) -> AppResult<rdv_domain::DeliveryStatus> {
    use rdv_domain::DeliveryStatus as D;
    let Some([id]) =
        verify(secret, DLR_LABEL, token, 1).and_then(|ids| <[i64; 1]>::try_from(ids).ok())
    else {
        return Err(AppError::not_found("delivery report"));
    };
    let status = match dlr_type.trim().parse::<u8>().unwrap_or(0) {
        1 => D::Delivered,
        2 => D::Undelivered,
        4 => D::QueuedAtSmsc,
        8 => D::AcceptedBySmsc,
        16 => D::RejectedBySmsc,
        _ => {
            return Err(AppError::field(
                "type",
                "a delivery-report type is 1, 2, 4, 8 or 16",
            ))
        }
    };
    let id = rdv_domain::OutboxMessageId(id);
    if !outbox::record_delivery(conn, id, status)? {
        return Err(AppError::not_found("delivery report"));
    }
    Ok(status)
}
