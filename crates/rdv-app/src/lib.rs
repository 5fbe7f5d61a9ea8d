//! rdv's application layer: the use cases that the HTTP API, the command line and the workers
//! share. A use case takes a connection (the caller's transaction) and an [`Actor`], applies
//! the business rules, writes its audit rows, and returns an [`AppError`] that says whether the
//! caller made a mistake or something failed inside. Nothing here knows HTTP.

pub mod actor;
pub mod agenda;
pub mod audit;
pub mod campaigns;
pub mod error;
pub mod events;
pub mod exports;
pub mod fields;
pub mod ics;
pub mod imports;
pub mod me;
pub mod meetings;
pub mod notify;
pub mod organizations;
pub mod paging;
pub mod passwords;
pub mod pdf;
pub mod persons;
pub mod planning;
pub mod privacy;
pub mod registrations;
mod restriction;
pub mod shop;

pub use actor::Actor;
pub use error::{AppError, AppResult};
pub use fields::{Check, FieldErrors};
pub mod auth;
pub mod jobs;
pub mod maintenance;
pub mod search;
