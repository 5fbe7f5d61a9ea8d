//! The shop's use cases: the seller's invoice mentions ([`seller`]), registration forms and
//! their submissions ([`forms`]), the catalogue and vouchers ([`catalogue`]), orders with
//! their held stock ([`orders`]), payments by card through the provider, by bank transfer or
//! on site, webhooks and refunds ([`payments`]), and invoices, credit notes and accounting
//! exports ([`invoices`]). Prices, VAT, forms and documents are `rdv_shop`'s, without I/O;
//! this module stores, sends and schedules.

pub mod catalogue;
pub mod forms;
pub mod invoices;
pub mod orders;
pub mod payments;
pub mod seller;

use crate::jobs::Registry;
use chrono::Duration;
use rdv_db::Conn;
use secrecy::SecretString;
use serde::Deserialize;

/// The `[shop]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct ShopSettings {
    /// Minutes an order awaiting payment holds its units; then they go back on sale.
    pub hold_minutes: i64,
    /// The card provider's API (the simulator of scripts/paysim.sh in development and tests).
    pub card_api_url: String,
    pub card_api_key: SecretString,
    /// The secret the provider signs its webhook calls with.
    pub card_webhook_secret: SecretString,
    /// How far a webhook's timestamp may be from the clock, in seconds.
    pub webhook_tolerance_seconds: i64,
    /// Where the provider and the buyer's browser reach the API (webhook, return pages).
    pub public_url: String,
    pub timeout_seconds: u64,
}

impl Default for ShopSettings {
    fn default() -> Self {
        Self {
            hold_minutes: 30,
            card_api_url: "http://127.0.0.1:12111".into(),
            card_api_key: SecretString::from("sk_test_rdv_local"),
            card_webhook_secret: SecretString::from("whsec_rdv_local_simulator_secret"),
            webhook_tolerance_seconds: 300,
            public_url: "http://127.0.0.1:8080".into(),
            timeout_seconds: 10,
        }
    }
}

/// The job that cancels orders whose hold ran out and gives their units back.
pub const EXPIRE_JOB: &str = "shop.expire_holds";
/// The job that gives back a card payment made after its order was cancelled, when the
/// order's units have been sold since.
pub const REFUND_LATE_JOB: &str = "shop.refund_late_payment";

/// The shop's jobs, for the workers' registry.
pub fn register(registry: Registry, settings: ShopSettings) -> Registry {
    registry
        .handle(EXPIRE_JOB, |conn: &mut Conn, _: &rdv_db::models::Job| {
            let n = orders::expire_holds(conn, chrono::Utc::now())?;
            if n > 0 {
                tracing::info!(orders.expired = n, "expired orders cancelled");
            }
            Ok(())
        })
        .every(EXPIRE_JOB, Duration::minutes(1))
        .handle(
            REFUND_LATE_JOB,
            move |conn: &mut Conn, job: &rdv_db::models::Job| {
                payments::refund_late_payment(conn, &settings, job)
            },
        )
}
