//! The seller's mentions on the organization's invoices: legal name, address, SIREN, SIRET,
//! VAT number, payment terms and late-payment penalty. The shop sells nothing before they
//! are complete, so every invoice carries the mentions the law requires.

use crate::actor::Actor;
use crate::audit::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use rdv_db::models::{Seller, SellerChange};
use rdv_db::queries::shop;
use rdv_db::Conn;
use rdv_domain::OrganizationId;
use rdv_shop::invoice::Party;
use rdv_shop::vat_number::{check_siren_or_siret, VatNumber};

/// The billing details as typed.
#[derive(Debug, Clone, Default)]
pub struct SellerInput {
    pub legal_name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub siren: String,
    pub siret: Option<String>,
    pub vat_number: Option<String>,
    pub legal_mentions: Option<String>,
    pub payment_days: Option<i32>,
    pub late_penalty: Option<String>,
}

pub fn get(conn: &mut Conn, actor: &Actor) -> AppResult<Seller> {
    let org = actor.organizer_org()?;
    Ok(shop::seller(conn, org)?)
}

/// Sets the organization's billing details (organization admins).
pub fn set(conn: &mut Conn, actor: &Actor, input: SellerInput) -> AppResult<Seller> {
    let org = actor.admin_org()?;
    let b = input;
    let mut c = Check::new();
    let legal_name = c.text::<200>("legal_name", &b.legal_name);
    let address_line1 = c.text::<200>("address_line1", &b.address_line1);
    let address_line2 = c.opt_text::<200>("address_line2", b.address_line2.as_deref());
    let postal_code = c.text::<20>("postal_code", &b.postal_code);
    let city = c.text::<100>("city", &b.city);
    let country = c.country("country", Some(&b.country));
    let siren = c.check("siren", check_siren_or_siret(&b.siren, 9));
    let siret = match b.siret.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => c.check("siret", check_siren_or_siret(s, 14)),
    };
    if let (Some(siren), Some(siret)) = (&siren, &siret) {
        if !siret.starts_with(siren.as_str()) {
            c.add("siret", "must start with the SIREN");
        }
    }
    let vat_number = match b
        .vat_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(v) => c
            .check("vat_number", VatNumber::parse(v))
            .map(|v| v.as_str().to_owned()),
    };
    let legal_mentions = c.opt_text::<500>("legal_mentions", b.legal_mentions.as_deref());
    let payment_days = b.payment_days.unwrap_or(30);
    if !(0..=60).contains(&payment_days) {
        // Article L441-10 of the Code de commerce: at most 60 days.
        c.add("payment_days", "must be between 0 and 60 days");
    }
    let late_penalty = c.opt_text::<200>("late_penalty", b.late_penalty.as_deref());
    c.finish()?;
    let change = SellerChange {
        legal_name,
        address_line1,
        address_line2,
        postal_code,
        city,
        country,
        siren,
        siret,
        vat_number,
        legal_mentions,
        payment_days,
        late_penalty: late_penalty
            .unwrap_or_else(|| "trois fois le taux d'intérêt légal".to_owned()),
    };
    let seller = shop::update_seller(conn, org, &change)?;
    audit::record(
        conn,
        actor,
        Audit {
            action: "organization.billing",
            subject_type: "organization",
            subject_ids: vec![org.0],
            person_ids: vec![],
            fields: vec![],
        },
    )?;
    Ok(seller)
}

/// The seller as invoices name it, or a conflict naming what is missing.
pub(crate) fn party(conn: &mut Conn, org: OrganizationId) -> AppResult<(Seller, Party)> {
    let s = shop::seller(conn, org)?;
    let missing = || {
        AppError::conflict(
            "the organization's billing details are incomplete: set them with PUT /api/organization/billing first",
        )
    };
    let party = Party {
        name: s.legal_name.clone().ok_or_else(missing)?,
        address_line1: s.address_line1.clone().ok_or_else(missing)?,
        address_line2: s.address_line2.clone(),
        postal_code: s.postal_code.clone().ok_or_else(missing)?,
        city: s.city.clone().ok_or_else(missing)?,
        country: s.country.clone().ok_or_else(missing)?,
        siren: Some(s.siren.clone().ok_or_else(missing)?),
        siret: s.siret.clone(),
        vat_number: s.vat_number.clone(),
        email: None,
        legal_mentions: s.legal_mentions.clone(),
    };
    Ok((s, party))
}
