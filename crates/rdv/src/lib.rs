//! What the rdv binary composes from the other crates, kept in a library so that the
//! end-to-end tests can use it too: the settings, one section per crate.

pub mod settings;
