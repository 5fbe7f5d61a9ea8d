//! Campaigns: a message an organizer writes for a segment of an event (participant types,
//! registration statuses, with or without meetings, countries, languages). Before it goes the
//! organizer sees how many will receive it and how many opt-outs exclude, and why; scheduling
//! queues one outbox message per recipient, spread over time by the campaign's rate and by
//! recipient mail domain, so that any number of workers sends it at that pace without
//! coordinating; cancelling cancels what has not gone. Opt-outs are checked again when each
//! message goes.
//!
//! Solicitations: a prospect (source `prospect`, no consent recorded) may receive one message
//! in their life, asking for their consent ([`solicit`]); the outbox refuses a second one.

use crate::audit::{self, Audit};
use crate::notify::{self, Email};
use crate::{Actor, AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use rdv_db::models::{Campaign, NewCampaign};
use rdv_db::queries::campaigns::{self as rows, Member};
use rdv_db::queries::{events, outbox, persons};
use rdv_db::Conn;
use rdv_domain::{
    CampaignId, CampaignStatus, Channel, DataSource, EventId, LegalBasis, MessageStatus,
    ParticipantType, PersonId, RegistrationStatus,
};
use rdv_notify::Kind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Who a campaign is for: every condition given must hold (an empty list does not filter).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    #[serde(default)]
    pub participant_types: Vec<ParticipantType>,
    /// Registration statuses; none given means validated registrations only.
    #[serde(default)]
    pub statuses: Vec<RegistrationStatus>,
    /// With a scheduled meeting (true), without one (false), either (absent).
    #[serde(default)]
    pub with_meetings: Option<bool>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Preferred languages (ISO 639-1).
    #[serde(default)]
    pub languages: Vec<String>,
}

/// The subject and body of one language.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Content {
    pub subject: String,
    pub body: String,
}

/// A campaign's text per language: each recipient gets their preferred language, else
/// English, else French.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fr: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<Content>,
}

impl Texts {
    pub fn for_language(&self, language: &str) -> Option<&Content> {
        match language {
            "fr" => self.fr.as_ref().or(self.en.as_ref()),
            _ => self.en.as_ref().or(self.fr.as_ref()),
        }
    }
}

/// A new campaign as the organizer writes it.
#[derive(Debug, Clone)]
pub struct NewCampaignInput {
    pub name: String,
    pub texts: Texts,
    pub segment: Segment,
    pub per_minute: Option<i32>,
    pub per_domain_per_minute: Option<i32>,
}

/// Default pace: 600 messages a minute in all, 120 a minute to one mail domain.
pub const DEFAULT_PER_MINUTE: i32 = 600;
pub const DEFAULT_PER_DOMAIN_PER_MINUTE: i32 = 120;

/// Why members of the segment will not receive the campaign, and how many.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Audience {
    /// Members of the segment the campaign will be sent to.
    pub recipients: usize,
    /// Members of the segment left out, per reason: `marketing_opt_out`, `restricted`,
    /// `prospect_without_consent`.
    pub excluded: BTreeMap<String, usize>,
}

/// A campaign with its audience (a draft's, computed now) and its messages per state (once
/// scheduled).
#[derive(Debug, Clone)]
pub struct CampaignView {
    pub campaign: Campaign,
    pub texts: Texts,
    pub segment: Segment,
    pub audience: Audience,
    pub messages: BTreeMap<String, i64>,
}

fn check_texts(c: &mut crate::Check, texts: &Texts) {
    if texts.fr.is_none() && texts.en.is_none() {
        c.add(
            "content",
            "give the message in French (fr), English (en) or both",
        );
    }
    for (lang, content) in [("fr", &texts.fr), ("en", &texts.en)] {
        if let Some(content) = content {
            c.text::<200>(&format!("content.{lang}.subject"), &content.subject);
            c.multiline::<20000>(&format!("content.{lang}.body"), &content.body);
        }
    }
}

fn check_segment(c: &mut crate::Check, s: &Segment) {
    for (i, country) in s.countries.iter().enumerate() {
        c.country(&format!("segment.countries.{i}"), Some(country));
    }
    for (i, language) in s.languages.iter().enumerate() {
        c.language(&format!("segment.languages.{i}"), language);
    }
}

/// Writes a draft campaign for the event. Organizers only.
pub fn create(
    conn: &mut Conn,
    actor: &Actor,
    event: EventId,
    input: NewCampaignInput,
) -> AppResult<CampaignView> {
    let org = actor.organizer_org()?;
    let mut c = crate::Check::new();
    let name = c.text::<200>("name", &input.name);
    check_texts(&mut c, &input.texts);
    check_segment(&mut c, &input.segment);
    let per_minute = input.per_minute.unwrap_or(DEFAULT_PER_MINUTE);
    let per_domain = input
        .per_domain_per_minute
        .unwrap_or(DEFAULT_PER_DOMAIN_PER_MINUTE);
    if !(1..=100_000).contains(&per_minute) {
        c.add("per_minute", "between 1 and 100000 messages a minute");
    }
    if !(1..=100_000).contains(&per_domain) {
        c.add(
            "per_domain_per_minute",
            "between 1 and 100000 messages a minute",
        );
    }
    c.finish()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let campaign = rows::create(
        conn,
        &NewCampaign {
            organization_id: org,
            event_id: event,
            name: name.unwrap_or_default(),
            content: serde_json::to_value(&input.texts).map_err(AppError::internal)?,
            segment: serde_json::to_value(&input.segment).map_err(AppError::internal)?,
            per_minute,
            per_domain_per_minute: per_domain,
            created_by: Some(actor.user),
        },
    )?;
    view(conn, campaign)
}

/// A campaign of the caller's organization.
pub fn get(conn: &mut Conn, actor: &Actor, id: CampaignId) -> AppResult<CampaignView> {
    let org = actor.organizer_org()?;
    let campaign = rows::get(conn, org, id).map_err(|e| AppError::from_db("campaign", e))?;
    view(conn, campaign)
}

/// The event's campaigns, newest first.
pub fn list(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<Vec<CampaignView>> {
    let org = actor.organizer_org()?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    rows::of_event(conn, org, event)?
        .into_iter()
        .map(|c| view(conn, c))
        .collect()
}

fn parse(campaign: &Campaign) -> AppResult<(Texts, Segment)> {
    Ok((
        serde_json::from_value(campaign.content.clone()).map_err(AppError::internal)?,
        serde_json::from_value(campaign.segment.clone()).map_err(AppError::internal)?,
    ))
}

fn view(conn: &mut Conn, campaign: Campaign) -> AppResult<CampaignView> {
    let (texts, segment) = parse(&campaign)?;
    let (audience, messages) = if campaign.status == CampaignStatus::Draft {
        let (audience, _) = audience(conn, &campaign, &segment)?;
        (audience, BTreeMap::new())
    } else {
        let counts = rows::message_counts(conn, campaign.id)?
            .into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n))
            .collect();
        (
            Audience {
                recipients: usize::try_from(campaign.queued).unwrap_or(0),
                excluded: BTreeMap::new(),
            },
            counts,
        )
    };
    Ok(CampaignView {
        campaign,
        texts,
        segment,
        audience,
        messages,
    })
}

/// The members of the segment, split into recipients and the excluded with their reasons.
fn audience(
    conn: &mut Conn,
    campaign: &Campaign,
    segment: &Segment,
) -> AppResult<(Audience, Vec<Member>)> {
    let members = rows::members(conn, campaign.organization_id, campaign.event_id)?;
    let statuses = if segment.statuses.is_empty() {
        vec![RegistrationStatus::Validated]
    } else {
        segment.statuses.clone()
    };
    let with_meetings = match segment.with_meetings {
        Some(_) => rows::with_meetings(conn, campaign.event_id)?,
        None => Default::default(),
    };
    let in_segment: Vec<Member> = members
        .into_iter()
        .filter(|m| {
            statuses.contains(&m.status)
                && (segment.participant_types.is_empty()
                    || segment.participant_types.contains(&m.participant_type))
                && segment
                    .with_meetings
                    .is_none_or(|w| with_meetings.contains(&m.registration_id) == w)
                && (segment.countries.is_empty()
                    || m.country
                        .as_ref()
                        .is_some_and(|c| segment.countries.contains(c)))
                && (segment.languages.is_empty()
                    || segment.languages.contains(&m.preferred_language))
        })
        .collect();
    // One message per person, even when they hold several registrations.
    let mut seen = std::collections::HashSet::new();
    let in_segment: Vec<Member> = in_segment
        .into_iter()
        .filter(|m| seen.insert(m.person_id))
        .collect();
    let prospects: Vec<PersonId> = in_segment
        .iter()
        .filter(|m| m.source == DataSource::Prospect)
        .map(|m| m.person_id)
        .collect();
    let consented = rows::consented(conn, &prospects)?;
    let mut out = Audience::default();
    let mut recipients = Vec::new();
    for m in in_segment {
        let reason = if m.restricted {
            Some("restricted")
        } else if m.optout_marketing_email_at.is_some() {
            Some("marketing_opt_out")
        } else if m.source == DataSource::Prospect && !consented.contains(&m.person_id) {
            Some("prospect_without_consent")
        } else {
            None
        };
        match reason {
            Some(r) => *out.excluded.entry(r.to_owned()).or_default() += 1,
            None => recipients.push(m),
        }
    }
    out.recipients = recipients.len();
    Ok((out, recipients))
}

/// When each recipient's message is due: the campaign's pace in all (`per_minute`) and per
/// mail domain (`per_domain`), the domains interleaved so that a big one does not hold the
/// others back. Returns the due times in the order of `domains`.
pub fn pace(
    start: DateTime<Utc>,
    domains: &[&str],
    per_minute: i32,
    per_domain: i32,
) -> Vec<DateTime<Utc>> {
    let step = |n: usize, rate: i32| {
        let millis = (n as i64).saturating_mul(60_000) / i64::from(rate.max(1));
        Duration::milliseconds(millis)
    };
    // The rank of each recipient within their domain.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let ranks: Vec<usize> = domains
        .iter()
        .map(|d| {
            let r = seen.entry(d).or_default();
            *r += 1;
            *r - 1
        })
        .collect();
    // Overall order: first of every domain, then second of every domain, ...
    let mut order: Vec<usize> = (0..domains.len()).collect();
    order.sort_by_key(|&i| (ranks[i], i));
    let mut due = vec![start; domains.len()];
    for (position, &i) in order.iter().enumerate() {
        due[i] = start + step(position, per_minute).max(step(ranks[i], per_domain));
    }
    due
}

/// Schedules a draft campaign to go from `send_at` (not in the past): one message per
/// recipient is queued now, each due at its paced time. 422 for an empty audience or a past
/// time; 409 unless the campaign is a draft.
pub fn schedule(
    conn: &mut Conn,
    actor: &Actor,
    id: CampaignId,
    send_at: DateTime<Utc>,
) -> AppResult<CampaignView> {
    let org = actor.organizer_org()?;
    let campaign = rows::lock(conn, org, id).map_err(|e| AppError::from_db("campaign", e))?;
    if campaign.status != CampaignStatus::Draft {
        return Err(AppError::conflict(format!(
            "only a draft can be scheduled; this campaign is {}",
            campaign.status
        )));
    }
    // A minute's grace for the clock of the caller.
    if send_at < Utc::now() - Duration::minutes(1) {
        return Err(AppError::field("send_at", "the time is in the past"));
    }
    let (_, segment) = parse(&campaign)?;
    let (found, recipients) = audience(conn, &campaign, &segment)?;
    if recipients.is_empty() {
        return Err(AppError::invalid(format!(
            "the campaign has no recipient: its segment is empty or everyone in it is excluded ({})",
            found
                .excluded
                .iter()
                .map(|(why, n)| format!("{n} {why}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let domains: Vec<&str> = recipients
        .iter()
        .map(|m| m.email.rsplit('@').next().unwrap_or(""))
        .collect();
    let due = pace(
        send_at,
        &domains,
        campaign.per_minute,
        campaign.per_domain_per_minute,
    );
    let messages: Vec<_> = recipients
        .iter()
        .zip(due)
        .map(|(m, at)| {
            let mut row = notify::row(
                Email {
                    organization: org,
                    event: Some(campaign.event_id),
                    person: m.person_id,
                    kind: Kind::Campaign,
                    data: serde_json::json!({"campaign_id": campaign.id.0}),
                    key: format!("campaign:{}:{}", campaign.id, m.person_id),
                },
                Channel::Email,
                at,
            );
            row.campaign_id = Some(campaign.id);
            // Marketing to participants of the event: the organizer's legitimate interest,
            // which an opt-out ends.
            row.legal_basis = LegalBasis::LegitimateInterest;
            row
        })
        .collect();
    let queued = outbox::enqueue_many(conn, &messages)?;
    let campaign = rows::set_scheduled(
        conn,
        campaign.id,
        send_at,
        i32::try_from(queued).unwrap_or(i32::MAX),
    )?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "campaign.schedule",
            subject_type: "campaign",
            subject_ids: vec![campaign.id.0],
            person_ids: audit::person_ids(recipients.iter().map(|m| m.person_id)),
            fields: vec!["email"],
        },
    )?;
    view(conn, campaign)
}

/// Cancels a campaign: a draft, or a scheduled one's messages not sent yet. 409 when it was
/// cancelled before or every message has gone.
pub fn cancel(conn: &mut Conn, actor: &Actor, id: CampaignId) -> AppResult<CampaignView> {
    let org = actor.organizer_org()?;
    let campaign = rows::lock(conn, org, id).map_err(|e| AppError::from_db("campaign", e))?;
    if campaign.status == CampaignStatus::Cancelled {
        return Err(AppError::conflict("the campaign is already cancelled"));
    }
    if campaign.status == CampaignStatus::Scheduled {
        let waiting = rows::message_counts(conn, id)?
            .into_iter()
            .any(|(s, n)| s == MessageStatus::Queued && n > 0);
        if !waiting {
            return Err(AppError::conflict(
                "every message of the campaign has gone: there is nothing left to cancel",
            ));
        }
    }
    rows::cancel(conn, id)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "campaign.cancel",
            subject_type: "campaign",
            subject_ids: vec![id.0],
            person_ids: Vec::new(),
            fields: Vec::new(),
        },
    )?;
    get(conn, actor, id)
}

/// Asks a prospect (source `prospect`, no consent recorded) for their consent to hear about
/// the event: the one message a prospect may ever receive. 409 when the person is not a
/// prospect, has consented already, objected, or was solicited before.
pub fn solicit(
    conn: &mut Conn,
    actor: &Actor,
    person: PersonId,
    event: EventId,
) -> AppResult<rdv_db::models::OutboxMessage> {
    let org = actor.organizer_org()?;
    let p = persons::get(conn, org, person).map_err(|e| AppError::from_db("person", e))?;
    events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    if p.privacy.source != DataSource::Prospect {
        return Err(AppError::conflict(
            "only a prospect is asked for consent: this person came to the organization otherwise",
        ));
    }
    if p.privacy.restricted_at.is_some() {
        return Err(AppError::conflict("the person's data is restricted"));
    }
    if p.optout_marketing_email_at.is_some() {
        return Err(AppError::conflict(
            "the person objected to prospecting: they may not be solicited",
        ));
    }
    if rows::consented(conn, &[person])?.contains(&person) {
        return Err(AppError::conflict(
            "the person has consented already: there is nothing to ask",
        ));
    }
    let mut row = notify::row(
        Email {
            organization: org,
            event: Some(event),
            person,
            kind: Kind::ConsentRequest,
            data: serde_json::json!({}),
            key: format!("solicitation:{person}"),
        },
        Channel::Email,
        Utc::now(),
    );
    row.solicitation = true;
    row.legal_basis = LegalBasis::LegitimateInterest;
    row.source = DataSource::Prospect;
    let Some(message) = outbox::enqueue_solicitation(conn, &row)? else {
        return Err(AppError::conflict(
            "the prospect was asked for consent before: a prospect receives one solicitation, ever",
        ));
    };
    audit::record(
        conn,
        actor,
        Audit {
            action: "person.solicit",
            subject_type: "person",
            subject_ids: vec![person.0],
            person_ids: vec![person.0],
            fields: vec!["email"],
        },
    )?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_keeps_both_rates_and_interleaves_domains() {
        let t0 = Utc::now();
        let domains = ["big.example"; 6]
            .into_iter()
            .chain(["small.example"; 2])
            .collect::<Vec<_>>();
        // 60 a minute in all (one a second), 30 a minute to one domain (one every 2 s).
        let due = pace(t0, &domains, 60, 30);
        let secs: Vec<i64> = due.iter().map(|d| (*d - t0).num_seconds()).collect();
        // big: ranks 0..5 → at least 0, 2, 4, 6, 8, 10 s; small: ranks 0, 1 → 0, 2 s, but
        // the overall pace puts small's first second in line.
        assert_eq!(secs, vec![0, 2, 4, 6, 8, 10, 1, 3]);
        // Never two messages to one domain closer than its step, never more than the
        // campaign's rate overall.
        let mut all = secs.clone();
        all.sort_unstable();
        assert!(all.windows(2).all(|w| w[1] - w[0] >= 1));
        for d in ["big.example", "small.example"] {
            let mut mine: Vec<i64> = domains
                .iter()
                .zip(&secs)
                .filter(|(x, _)| **x == d)
                .map(|(_, s)| *s)
                .collect();
            mine.sort_unstable();
            assert!(mine.windows(2).all(|w| w[1] - w[0] >= 2), "{d}: {mine:?}");
        }
    }

    #[test]
    fn texts_fall_back_to_the_other_language() {
        let fr_only = Texts {
            fr: Some(Content {
                subject: "Bonjour".into(),
                body: "…".into(),
            }),
            en: None,
        };
        assert_eq!(fr_only.for_language("en").unwrap().subject, "Bonjour");
        assert_eq!(fr_only.for_language("de").unwrap().subject, "Bonjour");
    }
}
