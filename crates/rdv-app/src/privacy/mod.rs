//! The privacy engine's use cases: rights requests and their answers ([`requests`]), the
//! erasure of a person across every registered table ([`erase`]), the access archive
//! ([`archive`]), the retention sweep ([`sweep`]), and the completeness check of an erasure
//! ([`scan`]), requalification ([`requalify`]) and the end of an organizer's contract
//! ([`closure`]). What each table holds and how it is erased is `rdv_privacy`'s registry; this
//! module runs its statements.

pub mod archive;
pub mod closure;
pub mod erase;
pub mod requalify;
pub mod requests;
pub mod scan;
pub mod sweep;

use serde::Deserialize;

/// The `[privacy]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct PrivacySettings {
    /// Hours an access archive stays downloadable.
    pub archive_hours: i64,
    /// Persons erased, or rows handled, per transaction of the retention sweep: short
    /// transactions keep API requests waiting no longer than one batch.
    pub sweep_batch: i64,
    /// Share of the time the sweep keeps the database busy: after each batch it pauses so
    /// that API requests on the same machine get the rest (100: no pause).
    pub sweep_duty_percent: u32,
    /// Prospects who have not answered (given no consent) this many days after they were
    /// recorded are erased.
    pub prospect_answer_days: i64,
    /// Accounts without a login for this many months are warned...
    pub inactivity_months: u32,
    /// ...then closed and erased this many days after the warning, unless they log in.
    pub inactivity_warning_days: i64,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            archive_hours: 72,
            sweep_batch: 100,
            sweep_duty_percent: 50,
            prospect_answer_days: 180,
            inactivity_months: 12,
            inactivity_warning_days: 30,
        }
    }
}

/// The job that builds an access or portability archive.
pub const ARCHIVE_JOB: &str = "privacy.archive";
/// The daily retention sweep.
pub const SWEEP_JOB: &str = "privacy.sweep";

#[derive(diesel::QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}
