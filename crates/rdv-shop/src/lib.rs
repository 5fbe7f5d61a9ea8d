//! The shop's pure core: what a registration form asks and accepts, what an order costs
//! (prices, vouchers, VAT in integer cents), how payment webhooks are signed, and the
//! documents an order produces (invoices and credit notes as CII XML, PDF and Factur-X,
//! accounting exports). No I/O: rdv-app stores, sends and schedules.

pub mod form;
pub mod money;

pub use money::{Cents, VatRate};
pub mod accounting;
pub mod invoice;
pub mod pricing;
pub mod vat_number;
pub mod webhook;
