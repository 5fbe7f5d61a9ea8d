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

/// Applies the outbox entries after the index's watermark; returns how many were read.
#[tracing::instrument(skip_all)]
pub fn follow_once(conn: &mut rdv_db::Conn, index: &SearchIndex) -> anyhow::Result<usize> {
    let after = index
        .watermark()?
        .and_then(|w| w.parse::<i64>().ok())
        .unwrap_or(0);
    let entries = search_feed::outbox_after(conn, after, BATCH)?;
    let Some(&(last, _)) = entries.last() else {
        return Ok(0);
    };
    let mut ids: Vec<RegistrationId> = entries.iter().map(|(_, id)| *id).collect();
    ids.sort();
    ids.dedup();
    let rows = search_feed::rows(conn, &ids)?;
    let mut changes: Vec<Change> = Vec::with_capacity(ids.len());
    for id in &ids {
        match rows
            .iter()
            .find(|(r, _)| r.id == *id)
            .and_then(|(r, p)| profile(r, p))
        {
            Some(profile) => changes.push(Change::Upsert(profile)),
            None => changes.push(Change::Remove(*id)),
        }
    }
    index.apply(changes, Some(&last.to_string()))?;
    Ok(entries.len())
}

/// Follows the outbox forever, rebuilding first when the index is new or was recreated.
pub fn follow(conn: &mut rdv_db::Conn, index: &SearchIndex) -> anyhow::Result<()> {
    if index.needs_rebuild() || index.watermark()?.is_none() {
        let n = reindex(conn, index)?;
        tracing::info!(search.docs = n, "search index built from the database");
    }
    loop {
        match follow_once(conn, index) {
            Ok(0) => std::thread::sleep(IDLE),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "search outbox follower failed");
                std::thread::sleep(IDLE * 10);
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
        diesel::sql_query("UPDATE registrations SET erased_at = now() WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(registration.id.0)
            .execute(&mut conn)
            .unwrap();
        assert!(follow_once(&mut conn, &index).unwrap() > 0);
        assert!(!organizer_search(&index, scope, &format!("{company} ")).contains(&registration.id));
        assert_eq!(follow_once(&mut conn, &index).unwrap(), 0);

        // After a restart the index resumes from its watermark and stays consistent.
        drop(index);
        let index = open(&args).unwrap();
        assert!(!index.needs_rebuild());
        assert_eq!(follow_once(&mut conn, &index).unwrap(), 0);
        assert_eq!(index.len() as i64, count - 1);
        assert!(!index.contains(registration.id).unwrap());
    }

    #[derive(QueryableByName)]
    struct CountRow {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
}
