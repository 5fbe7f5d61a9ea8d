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
    let manager = ConnectionManager::<PgConnection>::new(url);
    Pool::builder()
        .max_size(max_size)
        .connection_timeout(std::time::Duration::from_secs(5))
        .build(manager)
        .map_err(|e| DbError::Pool(e.to_string()))
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
