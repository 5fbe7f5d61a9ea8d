//! Per-test databases: each test gets its own database, cloned from a template that holds the
//! migrated schema, so tests run in parallel with nothing shared. The template is named after
//! the migrations' content and built once, under an advisory lock, by whichever test process
//! gets there first.

// A test harness: a panic is how it reports that the test database cannot be made.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::{run_migrations, Conn};
use diesel::prelude::*;
use rand::Rng;

const TEMPLATE_PREFIX: &str = "rdv_tpl_";
const TEST_PREFIX: &str = "rdv_test_";

/// The server to create test databases on: `RDV_TEST_DATABASE_URL`, else `DATABASE_URL`, else
/// the local server `make test` starts.
pub fn server_url() -> String {
    std::env::var("RDV_TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..authority_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `url` with the application role rdv_app (see scripts/db.sh) in place of its user.
pub fn as_app_role(url: &str) -> String {
    let password = std::env::var("RDV_APP_DB_PASSWORD").unwrap_or_else(|_| "rdv_app".into());
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://rdv_app:{password}@{host}")
}

/// A database that exists for the lifetime of this value and is dropped with it.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDatabase {
    /// The URL the application uses: the role rdv_app.
    pub fn app_url(&self) -> String {
        as_app_role(&self.url)
    }

    pub fn new() -> Self {
        let admin_url = with_database(&server_url(), "postgres");
        let template = format!("{TEMPLATE_PREFIX}{}", env!("RDV_MIGRATIONS_HASH"));
        let mut admin = crate::establish(&admin_url).unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL at {admin_url}: {e} (run the tests with `make test`)")
        });
        ensure_template(&mut admin, &admin_url, &template);
        let name = format!(
            "{TEST_PREFIX}{}_{:08x}",
            std::process::id(),
            rand::thread_rng().gen::<u32>()
        );
        diesel::sql_query(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .execute(&mut admin)
        .expect("create test database");
        let url = with_database(&server_url(), &name);
        Self {
            name,
            url,
            admin_url,
        }
    }

    pub fn connect(&self) -> Conn {
        crate::establish(&self.url).expect("connect to test database")
    }

    /// A connection to the server's maintenance database, to act on this database as a whole.
    pub fn connect_admin(&self) -> Conn {
        crate::establish(&self.admin_url).expect("connect to the maintenance database")
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = crate::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

fn ensure_template(admin: &mut Conn, admin_url: &str, template: &str) {
    let ready = |admin: &mut Conn| {
        diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate) AS exists",
        )
        .bind::<diesel::sql_types::Text, _>(template)
        .get_result::<Exists>(admin)
        .map(|r| r.exists)
        .unwrap_or(false)
    };
    if ready(admin) {
        return;
    }
    diesel::sql_query("SELECT pg_advisory_lock(7206002)")
        .execute(admin)
        .expect("lock template creation");
    if !ready(admin) {
        // A half-built template from an interrupted run is rebuilt from scratch.
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{template}\" WITH (FORCE)"
        ))
        .execute(admin)
        .expect("drop stale template");
        diesel::sql_query(format!("CREATE DATABASE \"{template}\""))
            .execute(admin)
            .expect("create template");
        {
            let mut conn =
                crate::establish(&with_database(admin_url, template)).expect("connect to template");
            run_migrations(&mut conn).expect("migrate template");
        }
        diesel::sql_query(format!(
            "ALTER DATABASE \"{template}\" WITH IS_TEMPLATE true"
        ))
        .execute(admin)
        .expect("mark template");
    }
    diesel::sql_query("SELECT pg_advisory_unlock(7206002)")
        .execute(admin)
        .expect("unlock template creation");
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced_keeping_credentials_and_options() {
        assert_eq!(
            with_database("postgres://u:p@h:5433/rdv?sslmode=disable", "x"),
            "postgres://u:p@h:5433/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
