//! `make bench-search`: builds the tantivy index of 100,000 generated profiles, runs a mix of
//! queries derived from known target profiles, runs the same queries against PostgreSQL
//! full-text search (french configuration, GIN, ts_rank) on the same data, and writes
//! `target/bench/search.json` and `target/bench/search.md`. Every figure is measured here.

// A benchmark is a tool run by hand: failing loudly on a broken set-up is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/generator.rs"]
mod generator;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use generator::{BenchQuery, Generated, Kind};
use rdv_domain::RegistrationId;
use rdv_search::{
    Audience, FacetName, IndexOptions, Page, QueryText, Scope, SearchIndex, SearchRequest,
    SectorPath,
};

const SEED: u64 = 20_261_123;
const DEFAULT_DOCS: usize = 100_000;
const QUERIES: usize = 420;
const BENCH_DB: &str = "rdv_bench_search";
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The viewer: a participant id that no generated profile has.
const VIEWER: RegistrationId = RegistrationId(0);
/// Each query's latency is the median of this many runs, on both engines: the machine is
/// shared, and one preempted run should not pass for the query's cost.
const RUNS: usize = 5;

fn median_ms(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let meta = e.metadata().unwrap();
                    if meta.is_dir() {
                        dir_bytes(&e.path())
                    } else {
                        meta.len()
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The process's peak resident set size, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Run {
    latencies_ms: Vec<f64>,
    /// Per query: whether the target was in the top 10.
    found: Vec<bool>,
}

impl Run {
    fn p(&self, kinds: &[Kind], queries: &[BenchQuery], p: f64) -> f64 {
        let mut v: Vec<f64> = self
            .latencies_ms
            .iter()
            .zip(queries)
            .filter(|(_, q)| kinds.contains(&q.kind))
            .map(|(l, _)| *l)
            .collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, p)
    }

    fn recall(&self, kinds: &[Kind], queries: &[BenchQuery]) -> f64 {
        let hits: Vec<bool> = self
            .found
            .iter()
            .zip(queries)
            .filter(|(_, q)| kinds.contains(&q.kind))
            .map(|(f, _)| *f)
            .collect();
        hits.iter().filter(|f| **f).count() as f64 / hits.len().max(1) as f64
    }
}

fn request(q: &BenchQuery, profiles: &[Generated]) -> SearchRequest {
    let target = &profiles[q.target];
    let p = &target.profile;
    let scope = Scope {
        organization_id: p.organization_id,
        event_id: p.event_id,
    };
    let mut r = SearchRequest::new(scope, Audience::Participant { me: VIEWER });
    // A finished word ends with a space; the word being typed does not.
    let text = if q.prefix {
        q.text.clone()
    } else {
        format!("{} ", q.text)
    };
    r.text = Some(QueryText::parse(&text).unwrap());
    r.page = Page::new(0, 10).unwrap();
    if q.faceted {
        r.filters.countries = p.country.into_iter().collect();
        r.filters.sectors = vec![SectorPath::parse(&target.top_sector).unwrap()];
        r.facets = vec![
            FacetName::ParticipantType,
            FacetName::Country,
            FacetName::Sector,
        ];
    }
    r
}

fn run_tantivy(index: &SearchIndex, queries: &[BenchQuery], profiles: &[Generated]) -> Run {
    let requests: Vec<SearchRequest> = queries.iter().map(|q| request(q, profiles)).collect();
    // Warm the page cache and tantivy's caches once, as a running server would be.
    for r in &requests {
        index.search(r).unwrap();
    }
    let mut latencies_ms = Vec::with_capacity(queries.len());
    let mut found = Vec::with_capacity(queries.len());
    for (q, r) in queries.iter().zip(&requests) {
        let mut runs = Vec::with_capacity(RUNS);
        let mut results = None;
        for _ in 0..RUNS {
            let start = Instant::now();
            results = Some(index.search(r).unwrap());
            runs.push(ms(start.elapsed()));
        }
        latencies_ms.push(median_ms(runs));
        let target = profiles[q.target].profile.registration_id;
        let hits = results.map(|r| r.hits).unwrap_or_default();
        found.push(hits.iter().any(|h| h.registration_id == target));
    }
    Run {
        latencies_ms,
        found,
    }
}

// ---- PostgreSQL ------------------------------------------------------------------------------

fn database_url(base: &str, db: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (base, String::new()),
    };
    let head = head.rsplit_once('/').map(|(h, _)| h).unwrap_or(head);
    format!("{head}/{db}{query}")
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn pg_load(conn: &mut PgConnection, profiles: &[Generated]) {
    conn.batch_execute(
        "CREATE TABLE profiles (
            id BIGINT PRIMARY KEY,
            organization_id BIGINT NOT NULL,
            event_id BIGINT NOT NULL,
            listed BOOLEAN NOT NULL,
            participant_type TEXT NOT NULL,
            country TEXT,
            sectors TEXT[] NOT NULL,
            languages TEXT[] NOT NULL,
            name TEXT NOT NULL,
            company TEXT NOT NULL,
            job_title TEXT NOT NULL,
            company_description TEXT NOT NULL,
            offers TEXT NOT NULL,
            needs TEXT NOT NULL,
            tsv TSVECTOR GENERATED ALWAYS AS (
                setweight(to_tsvector('french', name || ' ' || company), 'A')
                || setweight(to_tsvector('french', offers || ' ' || needs || ' ' || job_title), 'B')
                || setweight(to_tsvector('french', company_description), 'C')
            ) STORED
        );",
    )
    .unwrap();
    // The same privacy rule as the index: restricted and erased rows are not searchable.
    let rows: Vec<&Generated> = profiles
        .iter()
        .filter(|g| g.profile.is_indexable())
        .collect();
    for chunk in rows.chunks(1000) {
        let mut sql = String::from(
            "INSERT INTO profiles (id, organization_id, event_id, listed, participant_type, \
             country, sectors, languages, name, company, job_title, company_description, \
             offers, needs) VALUES ",
        );
        for (i, g) in chunk.iter().enumerate() {
            let p = &g.profile;
            // Sectors with their ancestors, so that `industry` finds `industry/machining`.
            let mut sectors: Vec<String> = Vec::new();
            for s in &p.sectors {
                let mut acc = String::new();
                for seg in s.as_str().split('/') {
                    if !acc.is_empty() {
                        acc.push('/');
                    }
                    acc.push_str(seg);
                    if !sectors.contains(&acc) {
                        sectors.push(acc.clone());
                    }
                }
            }
            let array = |items: Vec<String>| {
                format!(
                    "ARRAY[{}]::text[]",
                    items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(",")
                )
            };
            if i > 0 {
                sql.push(',');
            }
            write!(
                sql,
                "({},{},{},{},{},{},{},{},{},{},{},{},{},{})",
                p.registration_id.0,
                p.organization_id.0,
                p.event_id.0,
                p.is_listed(),
                quote(p.participant_type.as_str()),
                p.country
                    .map(|c| quote(c.as_str()))
                    .unwrap_or_else(|| "NULL".into()),
                array(sectors),
                array(p.languages.iter().map(|l| l.as_str().to_owned()).collect()),
                quote(&p.name),
                quote(&p.company),
                quote(&p.job_title),
                quote(&p.company_description),
                quote(&p.offers),
                quote(&p.needs),
            )
            .unwrap();
        }
        conn.batch_execute(&sql).unwrap();
    }
    conn.batch_execute(
        "CREATE INDEX profiles_tsv ON profiles USING GIN (tsv);
         CREATE INDEX profiles_event ON profiles (event_id, organization_id);
         ANALYZE profiles;",
    )
    .unwrap();
}

#[derive(QueryableByName)]
#[allow(dead_code)]
struct PgHit {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
#[allow(dead_code)]
struct PgFacet {
    #[diesel(sql_type = Nullable<Text>)]
    participant_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    country: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The query as tsquery: every word required, the word being typed as a prefix.
fn tsquery(q: &BenchQuery) -> String {
    let words: Vec<&str> = q
        .text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = words.join(" & ");
    if q.prefix {
        out.push_str(":*");
    }
    out
}

const PG_FILTER: &str =
    "tsv @@ to_tsquery('french', $1) AND organization_id = $2 AND event_id = $3 \
    AND listed AND id <> $4 AND ($5::text IS NULL OR country = $5) \
    AND ($6::text IS NULL OR $6 = ANY(sectors))";

fn pg_search(conn: &mut PgConnection, q: &BenchQuery, profiles: &[Generated]) -> Vec<i64> {
    let target = &profiles[q.target];
    let p = &target.profile;
    let country = q
        .faceted
        .then(|| p.country.map(|c| c.as_str().to_owned()))
        .flatten();
    let sector = q.faceted.then(|| target.top_sector.clone());
    let sql = format!(
        "SELECT id, count(*) OVER () AS total FROM profiles WHERE {PG_FILTER} \
         ORDER BY ts_rank(tsv, to_tsquery('french', $1)) DESC LIMIT 10"
    );
    let hits: Vec<PgHit> = diesel::sql_query(sql)
        .bind::<Text, _>(tsquery(q))
        .bind::<BigInt, _>(p.organization_id.0)
        .bind::<BigInt, _>(p.event_id.0)
        .bind::<BigInt, _>(VIEWER.0)
        .bind::<Nullable<Text>, _>(country.clone())
        .bind::<Nullable<Text>, _>(sector.clone())
        .load(conn)
        .unwrap();
    if q.faceted {
        // Facet counts, as the index computes them for these queries.
        let sql = format!(
            "SELECT participant_type, country, count(*) AS n FROM profiles WHERE {PG_FILTER} \
             GROUP BY GROUPING SETS ((participant_type), (country))"
        );
        let _facets: Vec<PgFacet> = diesel::sql_query(sql)
            .bind::<Text, _>(tsquery(q))
            .bind::<BigInt, _>(p.organization_id.0)
            .bind::<BigInt, _>(p.event_id.0)
            .bind::<BigInt, _>(VIEWER.0)
            .bind::<Nullable<Text>, _>(country)
            .bind::<Nullable<Text>, _>(sector)
            .load(conn)
            .unwrap();
    }
    hits.into_iter().map(|h| h.id).collect()
}

fn run_pg(conn: &mut PgConnection, queries: &[BenchQuery], profiles: &[Generated]) -> Run {
    for q in queries {
        pg_search(conn, q, profiles);
    }
    let mut latencies_ms = Vec::with_capacity(queries.len());
    let mut found = Vec::with_capacity(queries.len());
    for q in queries {
        let mut runs = Vec::with_capacity(RUNS);
        let mut ids = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            ids = pg_search(conn, q, profiles);
            runs.push(ms(start.elapsed()));
        }
        latencies_ms.push(median_ms(runs));
        found.push(ids.contains(&profiles[q.target].profile.registration_id.0));
    }
    Run {
        latencies_ms,
        found,
    }
}

fn main() {
    let docs: usize = std::env::var("RDV_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_DOCS);
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir).unwrap();

    let start = Instant::now();
    let profiles = generator::profiles(SEED, docs);
    let queries = generator::queries(SEED + 1, &profiles, QUERIES);
    eprintln!(
        "generated {docs} profiles and {} queries in {:.1} s",
        queries.len(),
        start.elapsed().as_secs_f64()
    );

    // ---- tantivy ----
    let index_dir = out_dir.join("search-index");
    let _ = std::fs::remove_dir_all(&index_dir);
    let options = IndexOptions {
        writer_threads: 2,
        writer_memory_bytes: 256 << 20,
    };
    let index = SearchIndex::open(&index_dir, options).unwrap();
    let start = Instant::now();
    let indexed = index
        .rebuild(profiles.iter().map(|g| g.profile.clone()), None)
        .unwrap();
    let build_seconds = start.elapsed().as_secs_f64();
    let index_mib = dir_bytes(&index_dir) as f64 / (1 << 20) as f64;
    eprintln!("indexed {indexed} profiles in {build_seconds:.1} s, {index_mib:.1} MiB on disk");
    let tantivy = run_tantivy(&index, &queries, &profiles);
    let peak_rss = peak_rss_mib();
    drop(index);
    let _ = std::fs::remove_dir_all(&index_dir);

    // ---- PostgreSQL ----
    let base_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let mut admin = PgConnection::establish(&base_url).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {BENCH_DB}"))
        .unwrap();
    let mut conn = PgConnection::establish(&database_url(&base_url, BENCH_DB)).unwrap();
    let start = Instant::now();
    pg_load(&mut conn, &profiles);
    let pg_load_seconds = start.elapsed().as_secs_f64();
    eprintln!("loaded PostgreSQL in {pg_load_seconds:.1} s");
    let pg = run_pg(&mut conn, &queries, &profiles);
    drop(conn);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        .unwrap();

    // ---- report ----
    let all = [
        Kind::SingleWord,
        Kind::SeveralWords,
        Kind::OneTypo,
        Kind::TwoTypos,
        Kind::Faceted,
        Kind::Prefix,
    ];
    let typos = [Kind::OneTypo, Kind::TwoTypos];
    let p50 = tantivy.p(&all, &queries, 50.0);
    let p99 = tantivy.p(&all, &queries, 99.0);
    let pg_p50 = pg.p(&all, &queries, 50.0);
    let pg_p99 = pg.p(&all, &queries, 99.0);
    let typo_recall = tantivy.recall(&typos, &queries);
    let pg_typo_recall = pg.recall(&typos, &queries);
    let per_kind: Vec<serde_json::Value> = all
        .iter()
        .map(|k| {
            serde_json::json!({
                "kind": k.as_str(),
                "queries": queries.iter().filter(|q| q.kind == *k).count(),
                "p50_ms": tantivy.p(&[*k], &queries, 50.0),
                "p99_ms": tantivy.p(&[*k], &queries, 99.0),
                "pg_p50_ms": pg.p(&[*k], &queries, 50.0),
                "pg_p99_ms": pg.p(&[*k], &queries, 99.0),
                "recall_at_10": tantivy.recall(&[*k], &queries),
                "pg_recall_at_10": pg.recall(&[*k], &queries),
            })
        })
        .collect();
    let targets = serde_json::json!({
        "build_within_60_s": build_seconds <= 60.0,
        "p99_at_most_10_ms": p99 <= 10.0,
        "p99_5x_lower_than_postgres": p99 * 5.0 <= pg_p99,
        "typo_recall_at_least_0_9": typo_recall >= 0.9,
        "memory_at_most_1_gib": peak_rss <= 1024.0,
    });
    let report = serde_json::json!({
        "docs": docs,
        "indexed_docs": indexed,
        "queries": queries.len(),
        "runs_per_query": RUNS,
        "build_seconds": build_seconds,
        "p50_ms": p50,
        "p99_ms": p99,
        "pg_p50_ms": pg_p50,
        "pg_p99_ms": pg_p99,
        "typo_recall_at_10": typo_recall,
        "pg_typo_recall_at_10": pg_typo_recall,
        "index_mib": index_mib,
        "peak_rss_mib": peak_rss,
        "pg_load_seconds": pg_load_seconds,
        "per_kind": per_kind,
        "targets": targets,
    });
    std::fs::write(
        out_dir.join("search.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();

    let mut md = String::new();
    writeln!(
        md,
        "# Participant search: tantivy vs PostgreSQL full-text search\n"
    )
    .unwrap();
    writeln!(md, "{docs} generated profiles ({indexed} indexable), {} queries, single-threaded, warm caches; each query's latency is the median of {RUNS} runs.\n", queries.len()).unwrap();
    writeln!(
        md,
        "| measure | tantivy | PostgreSQL | target |\n|---|---|---|---|"
    )
    .unwrap();
    writeln!(
        md,
        "| build / load | {build_seconds:.1} s | {pg_load_seconds:.1} s | ≤ 60 s |"
    )
    .unwrap();
    writeln!(md, "| p50 | {p50:.2} ms | {pg_p50:.2} ms | |").unwrap();
    writeln!(
        md,
        "| p99 | {p99:.2} ms | {pg_p99:.2} ms | ≤ 10 ms and 5× lower than PostgreSQL |"
    )
    .unwrap();
    writeln!(
        md,
        "| typo recall@10 | {typo_recall:.3} | {pg_typo_recall:.3} | ≥ 0.9 |"
    )
    .unwrap();
    writeln!(md, "| index size | {index_mib:.1} MiB | | |").unwrap();
    writeln!(
        md,
        "| peak RSS (bench process) | {peak_rss:.0} MiB | | ≤ 1 GiB |\n"
    )
    .unwrap();
    writeln!(md, "| kind | queries | p50 ms | p99 ms | pg p50 ms | pg p99 ms | recall@10 | pg recall@10 |\n|---|---|---|---|---|---|---|---|").unwrap();
    for k in &per_kind {
        writeln!(
            md,
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} |",
            k["kind"].as_str().unwrap_or(""),
            k["queries"],
            k["p50_ms"].as_f64().unwrap_or(f64::NAN),
            k["p99_ms"].as_f64().unwrap_or(f64::NAN),
            k["pg_p50_ms"].as_f64().unwrap_or(f64::NAN),
            k["pg_p99_ms"].as_f64().unwrap_or(f64::NAN),
            k["recall_at_10"].as_f64().unwrap_or(f64::NAN),
            k["pg_recall_at_10"].as_f64().unwrap_or(f64::NAN),
        )
        .unwrap();
    }
    std::fs::write(out_dir.join("search.md"), &md).unwrap();
    println!("{md}");
    println!(
        "{}",
        serde_json::to_string_pretty(&report["targets"]).unwrap()
    );
}
