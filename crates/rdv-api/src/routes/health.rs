//! Liveness and database reachability.

use crate::AppState;
use actix_web::{get, web, HttpResponse};
use diesel::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// "ok", or "unavailable" with the reason.
    pub status: String,
    pub database: String,
}

/// The service and its database are up (503 with the reason when the database is not).
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, body = Health, example = json!({"status": "ok", "database": "ok"})),
        (status = 503, body = Health),
    )
)]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let probe = web::block(move || -> Result<(), String> {
        let mut conn = pool.get().map_err(|e| {
            tracing::warn!(health.error = %e, "cannot connect to the database");
            "unreachable".to_owned()
        })?;
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .map_err(|e| {
                tracing::warn!(health.error = %e, "database query failed");
                "query failed".to_owned()
            })?;
        Ok(())
    })
    .await;
    match probe {
        Ok(Ok(())) => HttpResponse::Ok().json(Health {
            status: "ok".into(),
            database: "ok".into(),
        }),
        Ok(Err(reason)) => HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable".into(),
            database: reason,
        }),
        Err(e) => HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable".into(),
            database: e.to_string(),
        }),
    }
}
