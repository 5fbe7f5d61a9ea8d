//! End-to-end tests: the API bound on port 0, spoken to over real HTTP, with a PostgreSQL
//! database of its own per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod auth;
mod calendar;
mod campaigns;
mod docs_page;
mod imports;
mod meetings;
mod notify;
mod openapi;
mod privacy;
mod rights;
mod rules;
mod search;
mod security;
mod shop;
mod tenancy;
mod validation;
