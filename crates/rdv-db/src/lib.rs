//! rdv's PostgreSQL layer: the diesel schema, row types, queries, the connection pool and the
//! migrations embedded in the binary. Queries take `&mut PgConnection` so that a caller can
//! compose several of them in one transaction.

pub mod models;
pub mod queries;
pub mod schema;
pub mod seed;
#[cfg(feature = "testing")]
pub mod testing;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use diesel::Connection;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PooledConn = PooledConnection<ConnectionManager<PgConnection>>;
pub type Conn = PgConnection;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the row; names the constraint.
    #[error("already exists ({0})")]
    Conflict(String),
    /// A check or foreign-key constraint refused the row.
    #[error("rejected by the database: {0}")]
    Rejected(String),
    #[error("connection pool: {0}")]
    Pool(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(DieselError),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::Conflict(info.constraint_name().unwrap_or("unique").to_owned())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::CheckViolation | DatabaseErrorKind::ForeignKeyViolation,
                info,
            ) => DbError::Rejected(info.constraint_name().unwrap_or(info.message()).to_owned()),
            other => DbError::Query(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        DbError::Pool(e.to_string())
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// A pool of at most `max_size` connections; fails fast when the server is unreachable.
pub fn connect_pool(url: &str, max_size: u32) -> DbResult<PgPool> {
    let manager = ConnectionManager::<PgConnection>::new(libpq_url(url));
    Pool::builder()
        .max_size(max_size)
        .connection_timeout(std::time::Duration::from_secs(5))
        .build(manager)
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// One connection to `url` (see [`libpq_url`]).
pub fn establish(url: &str) -> diesel::ConnectionResult<PgConnection> {
    PgConnection::establish(&libpq_url(url))
}

/// The URL handed to libpq: `url` itself, except that a connection to this machine (a
/// loopback address or a Unix socket) that does not choose its `sslmode` gets
/// `sslmode=disable`. TLS protects nothing on the loopback and costs a handshake per
/// connection; worse, libpq's OpenSSL state is torn down by the C library's exit handlers
/// while pool threads may still be connecting or closing, which aborts a process on its way
/// out ("double free or corruption"). A URL that names a `sslmode`, or another host, is left
/// alone; so is a key=value connection string.
pub fn libpq_url(url: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return Cow::Borrowed(url);
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let params = || query.into_iter().flat_map(|q| q.split('&'));
    if params().any(|p| p.starts_with("sslmode=")) {
        return Cow::Borrowed(url);
    }
    let authority = before_query.split('/').next().unwrap_or("");
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let socket_param = params()
        .filter_map(|p| p.strip_prefix("host="))
        .any(|h| h.starts_with('/') || h.starts_with("%2F") || h.starts_with("%2f"));
    let local = hosts.split(',').all(|h| {
        let host = match h.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => h.split(':').next().unwrap_or(""),
        };
        host.is_empty()
            || host.eq_ignore_ascii_case("localhost")
            || host == "::1"
            || host.starts_with("127.")
            || host.starts_with("%2F")
            || host.starts_with("%2f")
    });
    let other_host_param = params()
        .filter_map(|p| p.strip_prefix("host="))
        .any(|h| !(h.starts_with('/') || h.starts_with("%2F") || h.starts_with("%2f")));
    if !(local || socket_param) || other_host_param {
        return Cow::Borrowed(url);
    }
    let sep = if query.is_some_and(|q| !q.is_empty()) {
        "&"
    } else if query.is_some() {
        ""
    } else {
        "?"
    };
    Cow::Owned(format!("{url}{sep}sslmode=disable"))
}

/// Applies the pending migrations; returns the versions applied now.
pub fn run_migrations(conn: &mut PgConnection) -> DbResult<Vec<String>> {
    // Two nodes starting at once must not race on the schema.
    diesel::sql_query("SELECT pg_advisory_lock(7206001)").execute(conn)?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|v| v.iter().map(|m| m.to_string()).collect())
        .map_err(|e| DbError::Migration(e.to_string()));
    diesel::sql_query("SELECT pg_advisory_unlock(7206001)").execute(conn)?;
    result
}

use diesel::RunQueryDsl;

#[cfg(test)]
mod tests {
    use super::libpq_url;

    #[test]
    fn local_connections_skip_tls_unless_the_url_chooses() {
        let cases = [
            (
                "postgres://u:p@127.0.0.1:5432/rdv",
                "postgres://u:p@127.0.0.1:5432/rdv?sslmode=disable",
            ),
            (
                "postgresql://localhost/rdv?application_name=x",
                "postgresql://localhost/rdv?application_name=x&sslmode=disable",
            ),
            (
                "postgres://[::1]:5433/rdv?",
                "postgres://[::1]:5433/rdv?sslmode=disable",
            ),
            ("postgres:///rdv", "postgres:///rdv?sslmode=disable"),
            (
                "postgres://u@%2Fvar%2Frun%2Fpostgresql/rdv",
                "postgres://u@%2Fvar%2Frun%2Fpostgresql/rdv?sslmode=disable",
            ),
            (
                "postgres://u@/rdv?host=/tmp",
                "postgres://u@/rdv?host=/tmp&sslmode=disable",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(libpq_url(url), expected, "{url}");
        }
        for untouched in [
            "postgres://u@127.0.0.1/rdv?sslmode=require",
            "postgres://u@db.example.com/rdv",
            "postgres://u@127.0.0.1,db.example.com/rdv",
            "postgres://u@localhost/rdv?host=db.example.com",
            "host=127.0.0.1 dbname=rdv",
        ] {
            assert_eq!(libpq_url(untouched), untouched);
        }
    }
}
