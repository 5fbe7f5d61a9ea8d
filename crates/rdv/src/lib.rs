//! What the rdv binary composes from the capability crates, kept in a library so that the
//! end-to-end tests can use it too.

pub mod search;
