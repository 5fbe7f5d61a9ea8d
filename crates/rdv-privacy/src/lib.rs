//! The privacy engine's pure core. [`registry`] says, for every table that holds personal
//! data, how a person's rows are found, exported and erased, and why they are kept;
//! [`record`] renders the record of processing activities from it; [`scan`] looks for a
//! person's name, email and numbers in a database dump, index files or logs. No I/O: the
//! application layer runs the registry's statements and feeds the scan.

pub mod record;
pub mod registry;
pub mod scan;

pub use registry::{Erasure, Retention, Table, REGISTRY};
