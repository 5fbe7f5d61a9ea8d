//! Liveness and database reachability.

use crate::AppState;
use actix_web::{get, web, HttpResponse};
use diesel::RunQueryDsl;
use rdv_app::search::FollowerState;
use serde::Serialize;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// "ok"; "degraded" when this node's search follower is stopped; "unavailable" when the
    /// database is not reachable.
    pub status: String,
    pub database: String,
    /// This node's search follower: "ok", "behind" (catching up or retrying) or "stopped";
    /// absent on a node that keeps no search index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
}

/// The service and its database are up (503 with the reason when the database is not).
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, body = Health, example = json!({"status": "ok", "database": "ok", "search": "ok"})),
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
    let search = state.follower.as_ref().map(|f| f.state());
    let search_out = search.map(|s| s.as_str().to_owned());
    match probe {
        Ok(Ok(())) => HttpResponse::Ok().json(Health {
            status: if search == Some(FollowerState::Stopped) {
                "degraded".into()
            } else {
                "ok".into()
            },
            database: "ok".into(),
            search: search_out,
        }),
        Ok(Err(reason)) => HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable".into(),
            database: reason,
            search: search_out,
        }),
        Err(_) => HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable".into(),
            database: "unreachable".into(),
            search: search_out,
        }),
    }
}
