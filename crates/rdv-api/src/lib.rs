//! rdv's HTTP API: actix-web handlers grouped by resource, the error table, authentication and
//! the OpenAPI document generated from the handlers. API nodes keep no state of their own:
//! everything shared lives in PostgreSQL.

pub mod auth;
pub mod error;
pub mod extract;
pub mod observe;
pub mod openapi;
pub mod routes;
pub mod schema;
pub mod settings;

use actix_web::{web, App, HttpServer};
use error::ApiError;
use rdv_app::auth::AuthSettings;
use rdv_db::{Conn, DbError, PgPool};
pub use settings::ServerSettings;

/// What every handler shares: the pool, the token keys and the settings.
pub struct AppState {
    pub pool: PgPool,
    pub keys: auth::TokenKeys,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    /// This node's participant search index, when it keeps one.
    pub search: Option<std::sync::Arc<rdv_search::SearchIndex>>,
    /// How the thread keeping that index in step with the database is doing.
    pub follower: Option<std::sync::Arc<rdv_app::search::FollowerStatus>>,
    /// The `[privacy]` settings, for the sweep's dry run.
    pub privacy: rdv_app::privacy::PrivacySettings,
    /// The `[shop]` settings: holds, the card provider, webhooks.
    pub shop: rdv_app::shop::ShopSettings,
    /// The `[imports]` settings: the largest file, the most rows.
    pub imports: rdv_app::imports::ImportSettings,
}

impl AppState {
    pub fn new(pool: PgPool, server: ServerSettings, auth: AuthSettings) -> Self {
        Self {
            keys: auth::TokenKeys::new(&auth),
            pool,
            server,
            auth,
            search: None,
            follower: None,
            privacy: rdv_app::privacy::PrivacySettings::default(),
            shop: rdv_app::shop::ShopSettings::default(),
            imports: rdv_app::imports::ImportSettings::default(),
        }
    }

    /// Uses the platform's `[imports]` settings rather than the defaults.
    pub fn with_imports(mut self, imports: rdv_app::imports::ImportSettings) -> Self {
        self.imports = imports;
        self
    }

    /// Uses the platform's `[shop]` settings rather than the defaults.
    pub fn with_shop(mut self, shop: rdv_app::shop::ShopSettings) -> Self {
        self.shop = shop;
        self
    }

    /// Uses the platform's `[privacy]` settings rather than the defaults.
    pub fn with_privacy(mut self, privacy: rdv_app::privacy::PrivacySettings) -> Self {
        self.privacy = privacy;
        self
    }

    /// Serves participant search from `index`, kept in step with the database by the follower
    /// whose `status` is given.
    pub fn with_search(
        mut self,
        index: std::sync::Arc<rdv_search::SearchIndex>,
        status: Option<std::sync::Arc<rdv_app::search::FollowerStatus>>,
    ) -> Self {
        self.search = Some(index);
        self.follower = status;
        self
    }

    /// Runs an application use case on a pooled connection, off the async threads, inside one
    /// transaction: a request changes everything it asked for or nothing.
    pub async fn app_tx<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> rdv_app::AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let result = web::block(move || {
            use rdv_db::Connection;
            let mut pooled = pool.get().map_err(DbError::from)?;
            let conn: &mut Conn = &mut pooled;
            conn.transaction(f)
        })
        .await?;
        Ok(result?)
    }

    /// Runs `f` on a pooled connection without an enclosing transaction, for use cases that
    /// commit part of their work even when they fail (a counted login attempt, a revoked
    /// session after a replayed refresh token).
    pub async fn app_conn<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> rdv_app::AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let result = web::block(move || {
            let mut pooled = pool.get().map_err(DbError::from)?;
            f(&mut pooled)
        })
        .await?;
        Ok(result?)
    }
}

/// Registers every route and extractor configuration.
pub fn configure(cfg: &mut web::ServiceConfig) {
    extract::configure_extractors(cfg);
    routes::configure(cfg);
}

/// Serves the API on an already bound listener until the process is stopped.
pub async fn serve(
    listener: std::net::TcpListener,
    state: web::Data<AppState>,
) -> std::io::Result<()> {
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(security_headers())
            .wrap(actix_web::middleware::from_fn(observe::request_span))
            .configure(configure)
    })
    .listen(listener)?
    .run()
    .await
}

/// Headers every answer carries: no content sniffing, no framing, no referrer, and a content
/// security policy that lets a JSON answer load nothing (the docs page sets its own).
fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
}
