//! Where the database meets the search index: database rows become search profiles,
//! `rdv search-reindex` rebuilds the index, and the follower applies the `search_outbox`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use rdv_db::models::{Person, Registration};
use rdv_db::queries::search_feed;
use rdv_domain::{CountryCode, LanguageCode, RegistrationId};
use rdv_search::{Change, IndexOptions, Profile, SearchIndex, SectorPath};

/// Rows read per database round trip.
const BATCH: i64 = 1000;
/// Pause of the follower when the outbox has nothing new: changes show within a second.
const IDLE: Duration = Duration::from_millis(200);

#[derive(clap::Args, Debug, Clone)]
pub struct SearchArgs {
    /// Folder of the search index (created when absent).
    #[arg(long, env = "RDV_SEARCH_DIR", default_value = "data/search")]
    pub index_dir: PathBuf,
}

pub fn open(args: &SearchArgs) -> anyhow::Result<SearchIndex> {
    SearchIndex::open(&args.index_dir, IndexOptions::default())
        .with_context(|| format!("opening the search index in {}", args.index_dir.display()))
}

/// The search profile of a registration row. Values the database should never hold (an
/// unknown type or status) make the row unsearchable rather than stop the follower.
pub fn profile(r: &Registration, p: &Person) -> Option<Profile> {
    let participant_type = r.participant_type.parse().ok()?;
    let status = r.status.parse().ok()?;
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
        restricted: r.restricted_at.is_some() || p.restricted_at.is_some(),
        erased: r.erased_at.is_some() || p.erased_at.is_some(),
    })
}

/// Rebuilds the whole index from the database. The outbox head is read first, so that a
/// change made during the rebuild is applied again by the follower rather than lost.
#[tracing::instrument(skip_all)]
pub fn reindex(conn: &mut rdv_db::Conn, index: &SearchIndex) -> anyhow::Result<u64> {
    let head = search_feed::outbox_head(conn)?;
    let mut profiles = Vec::new();
    let mut after = RegistrationId(0);
    loop {
        let rows = search_feed::batch_after(conn, after, BATCH)?;
        let Some((last, _)) = rows.last() else { break };
        after = last.id;
        profiles.extend(rows.iter().filter_map(|(r, p)| profile(r, p)));
    }
    Ok(index.rebuild(profiles, Some(&head.to_string()))?)
}

/// Outbox ids behind the watermark that are read again. Ids are taken when a row is written but
/// become visible when its transaction commits, so a slow transaction can show an id below one
/// already applied; looking back this far (and remembering what was applied) catches it.
const LOOKBACK: i64 = 1000;

/// Applies the search outbox to the index, remembering the recent entries it applied.
#[derive(Default)]
pub struct Follower {
    applied: std::collections::BTreeSet<i64>,
}

impl Follower {
    /// Applies the outbox entries not applied yet; returns how many there were.
    #[tracing::instrument(skip_all)]
    pub fn step(&mut self, conn: &mut rdv_db::Conn, index: &SearchIndex) -> anyhow::Result<usize> {
        let mark = index
            .watermark()?
            .and_then(|w| w.parse::<i64>().ok())
            .unwrap_or(0);
        let entries = search_feed::outbox_after(conn, (mark - LOOKBACK).max(0), BATCH + LOOKBACK)?;
        let fresh: Vec<(i64, RegistrationId)> = entries
            .into_iter()
            .filter(|(id, _)| !self.applied.contains(id))
            .take(BATCH as usize)
            .collect();
        let Some(newest) = fresh.iter().map(|(id, _)| *id).max() else {
            return Ok(0);
        };
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
        let mark = mark.max(newest);
        index.apply(changes, Some(&mark.to_string()))?;
        self.applied.extend(fresh.iter().map(|(id, _)| *id));
        self.applied = self.applied.split_off(&(mark - LOOKBACK));
        Ok(fresh.len())
    }
}

/// Follows the outbox forever, rebuilding first when the index is new or was recreated.
/// A lost database connection is re-established; nothing is skipped meanwhile, since the
/// index remembers the last outbox id it applied.
pub fn follow(database_url: &str, index: &SearchIndex) -> anyhow::Result<()> {
    use rdv_db::Connection;
    let mut conn = rdv_db::Conn::establish(database_url).context("connecting to PostgreSQL")?;
    if index.needs_rebuild() || index.watermark()?.is_none() {
        let n = reindex(&mut conn, index)?;
        tracing::info!(search.docs = n, "search index built from the database");
    }
    let mut follower = Follower::default();
    loop {
        match follower.step(&mut conn, index) {
            Ok(0) => std::thread::sleep(IDLE),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "search outbox follower failed");
                std::thread::sleep(IDLE * 10);
                match rdv_db::Conn::establish(database_url) {
                    Ok(fresh) => conn = fresh,
                    Err(e) => tracing::warn!(error = %e, "cannot reconnect to PostgreSQL yet"),
                }
            }
        }
    }
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

    #[test]
    fn the_index_follows_the_database_and_survives_a_restart() {
        let db = TestDatabase::new();
        let mut conn = db.connect();
        let hash = rdv_api::auth::hash_password("demo").unwrap();
        rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let args = SearchArgs {
            index_dir: dir.path().to_owned(),
        };
        let index = open(&args).unwrap();
        assert!(index.needs_rebuild());
        let n = reindex(&mut conn, &index).unwrap();
        let (count,): (i64,) = diesel::sql_query("SELECT count(*) AS count FROM registrations")
            .get_result::<CountRow>(&mut conn)
            .map(|c| (c.count,))
            .unwrap();
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

        // An entry that shows up late, below the watermark, is still applied: a slow
        // transaction takes id X, a quicker one X + 1 and commits first.
        let (late, late_person) = search_feed::batch_after(&mut conn, registration.id, 1)
            .unwrap()
            .remove(0);
        let x = diesel::sql_query(
            "SELECT nextval(pg_get_serial_sequence('search_outbox', 'id')) AS count",
        )
        .get_result::<CountRow>(&mut conn)
        .unwrap()
        .count;
        diesel::sql_query("INSERT INTO search_outbox (registration_id, event_id) VALUES ($1, $2)")
            .bind::<diesel::sql_types::BigInt, _>(registration.id.0)
            .bind::<diesel::sql_types::BigInt, _>(registration.event_id.0)
            .execute(&mut conn)
            .unwrap();
        assert_eq!(follower.step(&mut conn, &index).unwrap(), 1);
        diesel::sql_query("ALTER TABLE persons DISABLE TRIGGER USER")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("UPDATE persons SET company = 'Zyxwvut Late' WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(late_person.id.0)
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query(
            "INSERT INTO search_outbox (id, registration_id, event_id) VALUES ($1, $2, $3)",
        )
        .bind::<diesel::sql_types::BigInt, _>(x)
        .bind::<diesel::sql_types::BigInt, _>(late.id.0)
        .bind::<diesel::sql_types::BigInt, _>(late.event_id.0)
        .execute(&mut conn)
        .unwrap();
        assert_eq!(follower.step(&mut conn, &index).unwrap(), 1);
        assert!(organizer_search(&index, scope, "zyxwvut ").contains(&late.id));

        // After a restart the index resumes from its watermark and stays consistent.
        drop(index);
        let index = open(&args).unwrap();
        assert!(!index.needs_rebuild());
        let mut follower = Follower::default();
        follower.step(&mut conn, &index).unwrap();
        assert_eq!(follower.step(&mut conn, &index).unwrap(), 0);
        assert_eq!(index.len() as i64, count - 1);
        assert!(!index.contains(registration.id).unwrap());
    }

    #[derive(QueryableByName)]
    struct CountRow {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
}
