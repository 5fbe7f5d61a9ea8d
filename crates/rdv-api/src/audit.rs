//! Audit rows: the application layer writes them; the handlers call it with their caller.

pub use rdv_app::audit::{record, Audit, PERSON_FIELDS};
