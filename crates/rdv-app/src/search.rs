//! Where the database meets the search index: database rows become search profiles,
//! `rdv search-reindex` rebuilds the index, and the follower applies the `search_outbox`.
//!
//! The follower reads the outbox in (writer's transaction id, entry id) order up to the
//! oldest transaction that may still run (the snapshot's xmin): below it every entry is
//! visible or never will be, so a writer that commits late, after any number of newer
//! entries, is still applied. Entries above the horizon that are already visible are
//! applied at once too and remembered, so that search shows them without waiting.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::audit::{self, Audit};
use crate::{Actor, AppError, AppResult, Check};
use anyhow::Context;
use rdv_db::models::{Event, Person, Registration};
use rdv_db::queries::search_feed::{self, OutboxPosition};
use rdv_db::queries::{events, registrations};
use rdv_db::Conn;
use rdv_domain::vocab::UnknownWord;
use rdv_domain::{CountryCode, EventId, LanguageCode, RegistrationId, RegistrationStatus};
use rdv_search::{
    Audience, Change, FacetName, Filters, IndexOptions, Match, Page, Profile, QueryText, Scope,
    SearchError, SearchIndex, SearchRequest, SearchResults, SectorPath,
};

/// Rows read per database round trip.
const BATCH: i64 = 1000;
/// Pause of the follower when the outbox has nothing new: changes show within a second.
const IDLE: Duration = Duration::from_millis(200);

/// Where this node keeps its search index.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SearchSettings {
    /// Folder of the index (created when absent).
    pub index_dir: PathBuf,
}

pub fn open(index_dir: &Path) -> anyhow::Result<SearchIndex> {
    SearchIndex::open(index_dir, IndexOptions::default())
        .with_context(|| format!("opening the search index in {}", index_dir.display()))
}

/// The search profile of a registration row.
pub fn profile(r: &Registration, p: &Person) -> Option<Profile> {
    let participant_type = r.participant_type;
    let status = r.status;
    let name = format!("{} {}", p.first_name, p.last_name);
    Some(Profile {
        registration_id: r.id,
        organization_id: r.organization_id,
        event_id: r.event_id,
        name: name.trim().to_owned(),
        company: p.company.clone().unwrap_or_default(),
        job_title: p.job_title.clone().unwrap_or_default(),
        company_description: r.company_description.clone().unwrap_or_default(),
        offers: r.offers.clone().unwrap_or_default(),
        needs: r.needs.clone().unwrap_or_default(),
        sectors: r
            .sectors
            .iter()
            .filter_map(|s| SectorPath::parse(s).ok())
            .collect(),
        country: p
            .country
            .as_deref()
            .and_then(|c| CountryCode::parse(c).ok()),
        participant_type,
        languages: r
            .languages
            .iter()
            .filter_map(|l| LanguageCode::parse(l).ok())
            .collect(),
        status,
        profile_visible: r.profile_visible,
        restricted: r.privacy.restricted_at.is_some() || p.privacy.restricted_at.is_some(),
        erased: r.privacy.erased_at.is_some() || p.privacy.erased_at.is_some(),
    })
}

/// Rebuilds the whole index from the database. The horizon is read first: every change of a
/// transaction below it is in the rows read next, and the follower starts from there, so a
/// change made during the rebuild is applied again rather than lost.
#[tracing::instrument(skip_all)]
pub fn reindex(conn: &mut rdv_db::Conn, index: &SearchIndex) -> anyhow::Result<u64> {
    let head = OutboxPosition {
        xid: search_feed::horizon(conn)?,
        id: 0,
    };
    let mut profiles = Vec::new();
    let mut after = RegistrationId(0);
    loop {
        let rows = search_feed::batch_after(conn, after, BATCH)?;
        let Some((last, _)) = rows.last() else { break };
        after = last.id;
        profiles.extend(rows.iter().filter_map(|(r, p)| profile(r, p)));
    }
    Ok(index.rebuild(profiles, Some(&watermark(head)))?)
}

fn watermark(p: OutboxPosition) -> String {
    format!("{}:{}", p.xid, p.id)
}

/// The index's position, `None` when it has none or one of an older format (rebuild then).
fn position(index: &SearchIndex) -> anyhow::Result<Option<OutboxPosition>> {
    Ok(index.watermark()?.and_then(|w| {
        let (xid, id) = w.split_once(':')?;
        Some(OutboxPosition {
            xid: xid.parse().ok()?,
            id: id.parse().ok()?,
        })
    }))
}

/// Entries applied ahead of the horizon that the follower remembers at most; past that it
/// waits for the horizon instead.
const MAX_EAGER: usize = 100_000;

/// Applies the search outbox to the index.
#[derive(Default)]
pub struct Follower {
    /// Entries above the durable position already applied (committed early).
    eager: BTreeSet<OutboxPosition>,
    /// Entries left behind by the last step because a batch was full.
    pub backlog: bool,
}

impl Follower {
    /// Applies the outbox entries not applied yet; returns how many there were. Rebuilds the
    /// index first when it has no position or the outbox was pruned past it.
    #[tracing::instrument(skip_all)]
    pub fn step(&mut self, conn: &mut rdv_db::Conn, index: &SearchIndex) -> anyhow::Result<usize> {
        let pos = match position(index)? {
            Some(p) if p.xid >= search_feed::pruned_below(conn)? => p,
            _ => {
                let n = reindex(conn, index)?;
                tracing::info!(search.docs = n, "search index rebuilt from the database");
                self.eager.clear();
                return Ok(0);
            }
        };
        // Read the horizon before the entries: every transaction below it has ended.
        let horizon = search_feed::horizon(conn)?;
        let settled = search_feed::settled_after(conn, pos, horizon, BATCH)?;
        let full = settled.len() as i64 == BATCH;
        let mut new_pos = match settled.last() {
            Some((p, _)) => *p,
            None => pos,
        };
        if !full {
            // Everything below the horizon is applied.
            new_pos = new_pos.max(OutboxPosition {
                xid: horizon,
                id: 0,
            });
        }
        let mut fresh: Vec<(OutboxPosition, RegistrationId)> = settled
            .into_iter()
            .filter(|(p, _)| !self.eager.contains(p))
            .collect();
        let mut eager_now = Vec::new();
        if !full && self.eager.len() < MAX_EAGER {
            for (p, r) in search_feed::unsettled(conn, horizon, BATCH)? {
                if !self.eager.contains(&p) {
                    eager_now.push(p);
                    fresh.push((p, r));
                }
            }
        }
        self.backlog = full;
        if fresh.is_empty() && new_pos == pos {
            return Ok(0);
        }
        let mut ids: Vec<RegistrationId> = fresh.iter().map(|(_, id)| *id).collect();
        ids.sort();
        ids.dedup();
        let rows = search_feed::rows(conn, &ids)?;
        let changes: Vec<Change> = ids
            .iter()
            .map(|id| {
                match rows
                    .iter()
                    .find(|(r, _)| r.id == *id)
                    .and_then(|(r, p)| profile(r, p))
                {
                    Some(profile) => Change::Upsert(profile),
                    None => Change::Remove(*id),
                }
            })
            .collect();
        index.apply(changes, Some(&watermark(new_pos)))?;
        self.eager.extend(eager_now);
        self.eager = self.eager.split_off(&new_pos);
        Ok(fresh.len())
    }
}

/// How this node's follower is doing, for `/api/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowerState {
    /// Applied everything it could see on its last pass, recently.
    Ok,
    /// Working through a backlog, or failing and retrying.
    Behind,
    /// Not running, or no pass for too long.
    Stopped,
}

impl FollowerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Behind => "behind",
            Self::Stopped => "stopped",
        }
    }
}

/// Shared between the follower thread and whoever reports health.
#[derive(Debug, Default)]
pub struct FollowerStatus {
    running: AtomicBool,
    /// 0 = ok, 1 = behind (backlog or last pass failed).
    behind: AtomicU8,
    /// Unix milliseconds of the last pass that ended, successfully or not.
    last_pass_ms: AtomicI64,
    /// How many times the follower was restarted after dying.
    pub restarts: AtomicI64,
}

/// A follower that has not finished a pass for this long counts as stopped.
const STALL: Duration = Duration::from_secs(30);

impl FollowerStatus {
    pub fn state(&self) -> FollowerState {
        let now = chrono::Utc::now().timestamp_millis();
        let last = self.last_pass_ms.load(Ordering::Relaxed);
        if !self.running.load(Ordering::Relaxed) || now - last > STALL.as_millis() as i64 {
            FollowerState::Stopped
        } else if self.behind.load(Ordering::Relaxed) != 0 {
            FollowerState::Behind
        } else {
            FollowerState::Ok
        }
    }

    fn pass(&self, behind: bool) {
        self.behind.store(u8::from(behind), Ordering::Relaxed);
        self.last_pass_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }
}

/// Follows the outbox until `stop` is set (or forever), rebuilding first when the index is new
/// or was recreated. A lost database connection is re-established; nothing is skipped
/// meanwhile, since the index remembers its position.
pub fn follow(
    database_url: &str,
    index: &SearchIndex,
    status: &FollowerStatus,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut conn = rdv_db::establish(database_url).context("connecting to PostgreSQL")?;
    status.running.store(true, Ordering::Relaxed);
    status.pass(true);
    let mut follower = Follower::default();
    while !stop.load(Ordering::Relaxed) {
        match follower.step(&mut conn, index) {
            Ok(n) => {
                status.pass(follower.backlog);
                if n == 0 {
                    std::thread::sleep(IDLE);
                }
            }
            Err(e) => {
                status.pass(true);
                tracing::error!(error = %format!("{e:#}"), "search outbox follower failed");
                std::thread::sleep(IDLE * 10);
                match rdv_db::establish(database_url) {
                    Ok(fresh) => conn = fresh,
                    Err(e) => tracing::warn!(error = %e, "cannot reconnect to PostgreSQL yet"),
                }
            }
        }
    }
    status.running.store(false, Ordering::Relaxed);
    Ok(())
}

/// Runs the follower on a thread of its own and starts it again when it dies (an error it
/// cannot recover from, or a panic), reporting through the returned status.
pub fn spawn_follower(
    database_url: String,
    index: Arc<SearchIndex>,
) -> std::io::Result<Arc<FollowerStatus>> {
    let status = Arc::new(FollowerStatus::default());
    let shared = status.clone();
    std::thread::Builder::new()
        .name("search-follow".into())
        .spawn(move || {
            let stop = AtomicBool::new(false);
            loop {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    follow(&database_url, &index, &shared, &stop)
                }));
                shared.running.store(false, Ordering::Relaxed);
                match outcome {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => {
                        tracing::error!(error = %format!("{e:#}"), "participant search follower stopped; restarting it")
                    }
                    Err(_) => tracing::error!("participant search follower panicked; restarting it"),
                }
                shared.restarts.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(IDLE * 25);
            }
        })?;
    Ok(status)
}

/// A search as the edge received it: raw values, checked here.
#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    pub q: Option<String>,
    /// Comma-separated lists.
    pub participant_type: Option<String>,
    pub country: Option<String>,
    pub sector: Option<String>,
    pub language: Option<String>,
    pub facets: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
    /// Participants: only those the event's meeting rules let them meet.
    pub may_meet: Option<bool>,
}

/// At most this many values in one comma-separated filter.
pub const MAX_LIST: usize = 20;

fn list<T>(
    check: &mut Check,
    field: &str,
    v: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let Some(v) = v else { return Vec::new() };
    let items: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.len() > MAX_LIST {
        check.add(field, format!("at most {MAX_LIST} values"));
        return Vec::new();
    }
    items
        .into_iter()
        .filter_map(|s| check.0.check(field, parse(s)))
        .collect()
}

fn search_error(e: SearchError) -> AppError {
    match e {
        SearchError::Query(q) => AppError::Invalid {
            message: "the search request is invalid".into(),
            fields: std::collections::BTreeMap::from([(q.field().to_owned(), q.to_string())]),
        },
        SearchError::NotIndexed(_) => AppError::not_found(
            "your profile in the search index (it is added within moments of a change; try again)",
        ),
        other => AppError::internal(other),
    }
}

/// The participant types the event's meeting rules let registration `me` meet (`None`: any).
fn meetable_by(
    conn: &mut Conn,
    ev: &Event,
    me: RegistrationId,
) -> AppResult<Option<Vec<rdv_domain::ParticipantType>>> {
    let settings = crate::meetings::effective(conn, ev.id, ev.organization_id)?;
    let mine = rdv_db::queries::meetings::parties(conn, ev.organization_id, &[me])?;
    let Some(mine) = mine.first() else {
        return Ok(Some(Vec::new()));
    };
    Ok(crate::meetings::rules(&settings).meetable_by(mine.participant_type))
}

/// Who is searching in this event: an organizer of its organization, or one of its validated
/// participants. Anyone else finds no such event.
pub fn audience(conn: &mut Conn, actor: &Actor, event: EventId) -> AppResult<(Event, Audience)> {
    if let Ok(org) = actor.organizer_org() {
        let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
        return Ok((ev, Audience::Organizer));
    }
    let (org, person) = actor.participant()?;
    let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
    let mine = registrations::of_person(conn, person)?
        .into_iter()
        .find(|r| r.event_id == event)
        .ok_or_else(|| AppError::not_found("event"))?;
    if mine.status != RegistrationStatus::Validated {
        return Err(AppError::forbidden(
            "your registration to this event is not validated yet",
        ));
    }
    Ok((ev, Audience::Participant { me: mine.id }))
}

/// Searches an event's participants by text, with filters, facet counts and highlights, as the
/// actor may see them. An organizer's search is a staff read of personal data: its audit row
/// is written in the caller's transaction, and without it nothing is shown.
pub fn search_event(
    conn: &mut Conn,
    actor: &Actor,
    index: &SearchIndex,
    event: EventId,
    input: SearchInput,
) -> AppResult<SearchResults> {
    let mut check = Check::new();
    let text = match input.q.as_deref() {
        // Blank text is no text: everyone the filters let through.
        Some(t) if !t.trim().is_empty() => check.0.check("q", QueryText::parse(t)),
        _ => None,
    };
    let filters = Filters {
        participant_types: list(
            &mut check,
            "participant_type",
            input.participant_type.as_deref(),
            |s| s.parse().map_err(|e: UnknownWord| e.to_string()),
        ),
        countries: list(&mut check, "country", input.country.as_deref(), |s| {
            CountryCode::parse(s).map_err(|e| e.to_string())
        }),
        sectors: list(&mut check, "sector", input.sector.as_deref(), |s| {
            SectorPath::parse_filter(s).map_err(|e| e.to_string())
        }),
        languages: list(&mut check, "language", input.language.as_deref(), |s| {
            LanguageCode::parse(s).map_err(|e| e.to_string())
        }),
        meetable_types: None,
    };
    let facets: Vec<FacetName> = list(&mut check, "facets", input.facets.as_deref(), |s| {
        s.parse::<FacetName>().map_err(|e| e.to_string())
    });
    let page = check.0.check(
        "limit",
        Page::new(input.offset.unwrap_or(0), input.limit.unwrap_or(20)),
    );
    check.finish()?;
    let (ev, aud) = audience(conn, actor, event)?;
    let mut filters = filters;
    if let (Audience::Participant { me }, Some(true)) = (aud, input.may_meet) {
        filters.meetable_types = meetable_by(conn, &ev, me)?;
    }
    let mut request = SearchRequest::new(
        Scope {
            organization_id: ev.organization_id,
            event_id: ev.id,
        },
        aud,
    );
    request.text = text;
    request.filters = filters;
    request.facets = facets;
    if let Some(p) = page {
        request.page = p;
    }
    let results = index.search(&request).map_err(search_error)?;
    if matches!(aud, Audience::Organizer) && !results.hits.is_empty() {
        let ids: Vec<RegistrationId> = results.hits.iter().map(|h| h.registration_id).collect();
        let persons = registrations::person_ids(conn, ev.organization_id, &ids)?;
        audit::record(
            conn,
            actor,
            Audit {
                action: "registration.search",
                subject_type: "registration",
                subject_ids: ids.iter().map(|i| i.0).collect(),
                person_ids: persons,
                fields: vec![
                    "first_name",
                    "last_name",
                    "company",
                    "job_title",
                    "country",
                    "offers",
                    "needs",
                    "company_description",
                ],
            },
        )?;
    }
    Ok(results)
}

/// The participants whose offers answer the actor's needs and the reverse, ranked, each with
/// the words that matched; for validated participants of the event.
pub fn matches_for_me(
    conn: &mut Conn,
    actor: &Actor,
    index: &SearchIndex,
    event: EventId,
    limit: Option<usize>,
) -> AppResult<Vec<Match>> {
    actor.participant()?;
    let limit = limit.unwrap_or(20);
    if !(1..=rdv_search::MAX_LIMIT).contains(&limit) {
        return Err(AppError::field(
            "limit",
            format!("must be between 1 and {}", rdv_search::MAX_LIMIT),
        ));
    }
    let (ev, aud) = audience(conn, actor, event)?;
    let Audience::Participant { me } = aud else {
        return Err(AppError::forbidden("this endpoint is for participants"));
    };
    let scope = Scope {
        organization_id: ev.organization_id,
        event_id: ev.id,
    };
    // A match one may not meet is no use: the event's rules narrow them.
    let filters = Filters {
        meetable_types: meetable_by(conn, &ev, me)?,
        ..Filters::default()
    };
    index
        .matches_for(&scope, me, &filters, limit)
        .map_err(search_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::prelude::*;
    use rdv_db::testing::TestDatabase;
    use rdv_search::{Audience, QueryText, Scope, SearchRequest};

    fn organizer_search(index: &SearchIndex, scope: Scope, text: &str) -> Vec<RegistrationId> {
        let mut r = SearchRequest::new(scope, Audience::Organizer);
        r.text = Some(QueryText::parse(text).unwrap());
        index
            .search(&r)
            .unwrap()
            .hits
            .iter()
            .map(|h| h.registration_id)
            .collect()
    }

    /// A database holding the demo event. Nobody logs in here, so the accounts need no real
    /// password hash.
    fn seeded() -> (TestDatabase, rdv_db::Conn) {
        let db = TestDatabase::new();
        let mut conn = db.connect();
        rdv_db::seed::seed_demo(&mut conn, "no login in these tests").unwrap();
        (db, conn)
    }

    fn exec(conn: &mut rdv_db::Conn, sql: &str) {
        diesel::sql_query(sql).execute(conn).unwrap();
    }

    #[test]
    fn the_index_follows_the_database_and_survives_a_restart() {
        let (_db, mut conn) = seeded();
        let dir = tempfile::tempdir().unwrap();
        let index = open(dir.path()).unwrap();
        assert!(index.needs_rebuild());
        let n = reindex(&mut conn, &index).unwrap();
        let count = diesel::sql_query("SELECT count(*) AS count FROM registrations")
            .get_result::<CountRow>(&mut conn)
            .unwrap()
            .count;
        assert_eq!(n as i64, count);

        // Pick one registration and its person's last name and company.
        let (registration, person) = search_feed::batch_after(&mut conn, RegistrationId(0), 1)
            .unwrap()
            .remove(0);
        let scope = Scope {
            organization_id: registration.organization_id,
            event_id: registration.event_id,
        };
        let company = person.company.clone().unwrap();
        assert!(organizer_search(&index, scope, &format!("{company} ")).contains(&registration.id));

        // Erase the registration: after the follower's pass its company finds nothing.
        let mut follower = Follower::default();
        follower.step(&mut conn, &index).unwrap();
        assert_eq!(follower.step(&mut conn, &index).unwrap(), 0);
        diesel::sql_query("UPDATE registrations SET erased_at = now() WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(registration.id.0)
            .execute(&mut conn)
            .unwrap();
        assert_eq!(follower.step(&mut conn, &index).unwrap(), 1);
        assert!(!organizer_search(&index, scope, &format!("{company} ")).contains(&registration.id));
        assert_eq!(follower.step(&mut conn, &index).unwrap(), 0);

        // After a restart the index resumes from its position and stays consistent.
        drop(index);
        let index = open(dir.path()).unwrap();
        assert!(!index.needs_rebuild());
        let mut follower = Follower::default();
        follower.step(&mut conn, &index).unwrap();
        assert_eq!(follower.step(&mut conn, &index).unwrap(), 0);
        assert_eq!(index.len() as i64, count - 1);
        assert!(!index.contains(registration.id).unwrap());
    }

    /// A transaction that commits after thousands of newer outbox entries were written,
    /// committed and applied is still applied: whatever the commit order, nothing is missed.
    #[test]
    fn a_writer_committing_after_thousands_of_newer_entries_is_not_missed() {
        let (db, mut conn) = seeded();
        let dir = tempfile::tempdir().unwrap();
        let index = open(dir.path()).unwrap();
        reindex(&mut conn, &index).unwrap();
        let mut follower = Follower::default();
        follower.step(&mut conn, &index).unwrap();

        let rows = search_feed::batch_after(&mut conn, RegistrationId(0), 2).unwrap();
        let (slow_reg, slow_person) = &rows[0];
        let (quick_reg, quick_person) = &rows[1];
        let scope = Scope {
            organization_id: slow_reg.organization_id,
            event_id: slow_reg.event_id,
        };

        // The slow writer starts first, so its transaction id is the lower one.
        let mut slow = db.connect();
        exec(&mut slow, "BEGIN");
        diesel::sql_query("UPDATE persons SET company = 'Qwertzslow Late' WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(slow_person.id.0)
            .execute(&mut slow)
            .unwrap();

        // Meanwhile 1,500 newer entries are written and committed, in 30 transactions.
        for _ in 0..30 {
            exec(
                &mut conn,
                "INSERT INTO search_outbox (registration_id, event_id) \
                 SELECT id, event_id FROM registrations ORDER BY id LIMIT 50",
            );
        }
        diesel::sql_query("UPDATE persons SET company = 'Asdfquick Early' WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(quick_person.id.0)
            .execute(&mut conn)
            .unwrap();
        // The follower applies what is committed, without waiting for the slow writer.
        while follower.step(&mut conn, &index).unwrap() > 0 {}
        assert!(organizer_search(&index, scope, "asdfquick ").contains(&quick_reg.id));
        assert!(organizer_search(&index, scope, "qwertzslow ").is_empty());

        // The slow writer commits last; its entry lies below everything applied so far.
        exec(&mut slow, "COMMIT");
        while follower.step(&mut conn, &index).unwrap() > 0 {}
        assert!(organizer_search(&index, scope, "qwertzslow ").contains(&slow_reg.id));

        // A follower started afresh from the stored position agrees.
        let mut restarted = Follower::default();
        while restarted.step(&mut conn, &index).unwrap() > 0 {}
        assert!(organizer_search(&index, scope, "qwertzslow ").contains(&slow_reg.id));
        assert!(organizer_search(&index, scope, "asdfquick ").contains(&quick_reg.id));
    }

    /// Pruning the outbox past an index's position makes that index rebuild rather than miss
    /// the pruned changes.
    #[test]
    fn an_index_left_behind_by_pruning_rebuilds() {
        let (_db, mut conn) = seeded();
        let dir = tempfile::tempdir().unwrap();
        let index = open(dir.path()).unwrap();
        reindex(&mut conn, &index).unwrap();
        let (reg, person) = search_feed::batch_after(&mut conn, RegistrationId(0), 1)
            .unwrap()
            .remove(0);
        let scope = Scope {
            organization_id: reg.organization_id,
            event_id: reg.event_id,
        };
        diesel::sql_query("UPDATE persons SET company = 'Prunedzz' WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(person.id.0)
            .execute(&mut conn)
            .unwrap();
        // Other tests' transactions may hold the horizon back for a moment.
        let mut pruned = 0;
        for _ in 0..100 {
            pruned = search_feed::prune_outbox(&mut conn, chrono::Duration::seconds(-60)).unwrap();
            if pruned > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(pruned > 0);
        let mut follower = Follower::default();
        follower.step(&mut conn, &index).unwrap();
        assert!(organizer_search(&index, scope, "prunedzz ").contains(&reg.id));
    }

    /// A follower that cannot reach its database reports stopped, is started again, and
    /// reports ok once the database is back.
    #[test]
    fn a_dead_follower_is_restarted_and_recovers() {
        let (db, _conn) = seeded();
        let refuse = |allow: bool| {
            diesel::sql_query(format!(
                "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allow}",
                db.name
            ))
            .execute(&mut db.connect_admin())
            .unwrap();
        };
        refuse(false);
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(open(dir.path()).unwrap());
        let status = spawn_follower(db.url.clone(), index.clone()).unwrap();
        let wait_for = |what: &dyn Fn() -> bool| {
            let started = std::time::Instant::now();
            while !what() {
                assert!(started.elapsed() < Duration::from_secs(30), "timed out");
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        wait_for(&|| status.restarts.load(Ordering::Relaxed) >= 1);
        assert_eq!(status.state(), FollowerState::Stopped);
        refuse(true);
        wait_for(&|| status.state() == FollowerState::Ok);
        assert!(
            !index.is_empty(),
            "the index was built once the database answered"
        );
    }

    #[derive(QueryableByName)]
    struct CountRow {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
}
