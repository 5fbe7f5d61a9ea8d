//! What an order costs: lines, a voucher's discount, VAT per rate and totals, in integer cents.
//!
//! The rounding rule, applied in this order:
//! 1. a line's gross amount is its quantity times its unit price excluding VAT (exact);
//! 2. a percentage voucher takes the percentage of the order's gross total, rounded half
//!    away from zero to the cent; an amount voucher takes its amount, at most the gross total;
//! 3. the discount is shared among the lines in proportion to their gross amounts, by largest
//!    remainder, so the shares add up to the discount exactly and no line goes below zero;
//! 4. VAT is computed once per VAT category and rate, on the sum of the net amounts of that
//!    rate, rounded half away from zero to the cent (EN 16931 BR-CO-17), never line by line;
//! 5. the total including VAT is the total excluding VAT plus the VAT.

use crate::invoice::{VatBreakdown, VatCategory};
use crate::money::{div_round_half_away, Cents, VatRate};
use serde::{Deserialize, Serialize};

/// The most a line, and an order, may amount to: ten million euros.
pub const MAX_AMOUNT: Cents = 1_000_000_000;
/// The most units of one product in an order.
pub const MAX_QUANTITY: i64 = 1000;

/// A product in an order, at the price of the sale window it was bought in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub product_id: i64,
    pub label: String,
    pub quantity: i64,
    pub unit_price_cents: Cents,
    pub vat_rate: VatRate,
    /// Why a product sold at 0 % is exempt (the article of the law); None otherwise.
    pub exemption: Option<String>,
}

/// A voucher's reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Discount {
    /// Basis points of the gross total: 1500 is 15 %.
    Percent(i64),
    Amount(Cents),
}

/// How VAT applies to the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VatTreatment {
    /// French VAT at each product's rate.
    Standard,
    /// A business buyer in another EU member state with a VAT number: the buyer accounts for
    /// the VAT (article 283-2 of the CGI, article 196 of directive 2006/112/EC).
    ReverseCharge,
}

/// The reverse-charge mention the documents carry.
pub const REVERSE_CHARGE_MENTION: &str =
    "Autoliquidation - article 283-2 du CGI, article 196 de la directive 2006/112/CE";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub product_id: i64,
    pub label: String,
    pub quantity: i64,
    pub unit_price_cents: Cents,
    pub gross_cents: Cents,
    pub discount_cents: Cents,
    pub net_cents: Cents,
    /// The rate applied: the product's, or 0 under reverse charge.
    pub vat_rate: VatRate,
    pub vat_category: VatCategory,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Priced {
    pub lines: Vec<PricedLine>,
    pub vat: Vec<VatBreakdown>,
    pub gross_cents: Cents,
    pub discount_cents: Cents,
    pub total_excl_cents: Cents,
    pub total_vat_cents: Cents,
    pub total_incl_cents: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("an order needs at least one line")]
    Empty,
    #[error("line {line}: the quantity must be between 1 and {MAX_QUANTITY}")]
    Quantity { line: usize },
    #[error("line {line}: the unit price must be between 0 and {MAX_AMOUNT} cents")]
    Price { line: usize },
    #[error("the order's total must be at most {MAX_AMOUNT} cents")]
    Total,
    #[error("a percentage must be between 0.01 % and 100 %")]
    Percent,
    #[error("an amount off must be positive")]
    Amount,
    #[error("line {line}: a product at 0 % VAT needs its exemption mention")]
    Exemption { line: usize },
}

/// Prices `items` with an optional voucher under `treatment` (the rule in the module's doc).
/// A voucher valid for one product only (`scope`) reduces that product's lines only: its
/// percentage and its cap are taken on their gross amount.
pub fn price(
    items: &[Item],
    discount: Option<Discount>,
    scope: Option<i64>,
    treatment: VatTreatment,
) -> Result<Priced, PricingError> {
    if items.is_empty() {
        return Err(PricingError::Empty);
    }
    let mut gross = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            return Err(PricingError::Quantity { line: i });
        }
        if !(0..=MAX_AMOUNT).contains(&item.unit_price_cents) {
            return Err(PricingError::Price { line: i });
        }
        if treatment == VatTreatment::Standard
            && item.vat_rate == VatRate::Zero
            && item
                .exemption
                .as_deref()
                .is_none_or(|m| m.trim().is_empty())
        {
            return Err(PricingError::Exemption { line: i });
        }
        gross.push(item.quantity * item.unit_price_cents);
    }
    let gross_total: Cents = gross.iter().sum();
    if gross_total > MAX_AMOUNT {
        return Err(PricingError::Total);
    }
    // The lines the voucher applies to: all, or the one product's.
    let weights: Vec<Cents> = items
        .iter()
        .zip(&gross)
        .map(|(item, g)| match scope {
            Some(p) if p != item.product_id => 0,
            _ => *g,
        })
        .collect();
    let discounted: Cents = weights.iter().sum();
    let discount_total = match discount {
        None => 0,
        Some(Discount::Percent(bp)) => {
            if !(1..=10_000).contains(&bp) {
                return Err(PricingError::Percent);
            }
            div_round_half_away(discounted * bp, 10_000)
        }
        Some(Discount::Amount(cents)) => {
            if cents <= 0 {
                return Err(PricingError::Amount);
            }
            cents.min(discounted)
        }
    };
    let shares = share(discount_total, &weights);

    let mut lines = Vec::with_capacity(items.len());
    for ((item, gross), discount) in items.iter().zip(&gross).zip(&shares) {
        let (vat_rate, vat_category) = match treatment {
            VatTreatment::ReverseCharge => (VatRate::Zero, VatCategory::ReverseCharge),
            VatTreatment::Standard if item.vat_rate == VatRate::Zero => {
                (VatRate::Zero, VatCategory::Exempt)
            }
            VatTreatment::Standard => (item.vat_rate, VatCategory::Standard),
        };
        lines.push(PricedLine {
            product_id: item.product_id,
            label: item.label.clone(),
            quantity: item.quantity,
            unit_price_cents: item.unit_price_cents,
            gross_cents: *gross,
            discount_cents: *discount,
            net_cents: gross - discount,
            vat_rate,
            vat_category,
        });
    }

    // One breakdown per category, rate and exemption reason, in a stable order.
    let mut vat: Vec<VatBreakdown> = Vec::new();
    for (line, item) in lines.iter().zip(items) {
        let reason = match line.vat_category {
            VatCategory::Standard => None,
            VatCategory::ReverseCharge => Some(REVERSE_CHARGE_MENTION.to_string()),
            VatCategory::Exempt => item.exemption.clone(),
        };
        match vat.iter_mut().find(|b| {
            b.category == line.vat_category
                && b.rate == line.vat_rate
                && b.exemption_reason == reason
        }) {
            Some(b) => b.base_cents += line.net_cents,
            None => vat.push(VatBreakdown {
                category: line.vat_category,
                rate: line.vat_rate,
                base_cents: line.net_cents,
                vat_cents: 0,
                exemption_reason: reason,
            }),
        }
    }
    // The highest rate first, as documents list them.
    vat.sort_by(|a, b| {
        b.rate
            .basis_points()
            .cmp(&a.rate.basis_points())
            .then_with(|| a.exemption_reason.cmp(&b.exemption_reason))
    });
    for b in &mut vat {
        b.vat_cents = b.rate.vat_on(b.base_cents);
    }
    let total_excl_cents: Cents = lines.iter().map(|l| l.net_cents).sum();
    let total_vat_cents: Cents = vat.iter().map(|b| b.vat_cents).sum();
    Ok(Priced {
        lines,
        vat,
        gross_cents: gross_total,
        discount_cents: discount_total,
        total_excl_cents,
        total_vat_cents,
        total_incl_cents: total_excl_cents + total_vat_cents,
    })
}

/// Shares `total` among `weights` in proportion, by largest remainder (ties to the earlier
/// line): the shares add up to `total`, and each is at most its weight when `total` is at
/// most the sum of the weights.
pub fn share(total: Cents, weights: &[Cents]) -> Vec<Cents> {
    let sum: Cents = weights.iter().sum();
    if sum == 0 || total == 0 {
        return vec![0; weights.len()];
    }
    // i128: total × weight may exceed i64 for the largest orders.
    let mut shares: Vec<Cents> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = total as i128 * *w as i128;
        shares.push((exact / sum as i128) as Cents);
        remainders.push((exact % sum as i128, i));
    }
    let mut left = total - shares.iter().sum::<Cents>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

/// The part of `amount` (cents including VAT, such as a refund) that belongs to each VAT
/// breakdown of `priced`: the bases and VAT a credit note for `amount` carries. A refund of
/// the whole order gives back the order's own breakdown.
pub fn credit_breakdown(priced_vat: &[VatBreakdown], amount: Cents) -> Vec<VatBreakdown> {
    let incl: Vec<Cents> = priced_vat
        .iter()
        .map(|b| b.base_cents + b.vat_cents)
        .collect();
    let total: Cents = incl.iter().sum();
    if amount >= total {
        return priced_vat.to_vec();
    }
    let shares = share(amount, &incl);
    priced_vat
        .iter()
        .zip(shares)
        .filter(|(_, s)| *s > 0)
        .map(|(b, part_incl)| {
            // The base is what, with its VAT, makes up this part: base = part / (1 + rate).
            let base = div_round_half_away(part_incl * 10_000, 10_000 + b.rate.basis_points());
            VatBreakdown {
                category: b.category,
                rate: b.rate,
                base_cents: base,
                vat_cents: part_incl - base,
                exemption_reason: b.exemption_reason.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(id: i64, quantity: i64, unit: Cents, rate: VatRate) -> Item {
        Item {
            product_id: id,
            label: format!("product {id}"),
            quantity,
            unit_price_cents: unit,
            vat_rate: rate,
            exemption: (rate == VatRate::Zero).then(|| "Exonération, article 261 du CGI".into()),
        }
    }

    #[test]
    fn vat_is_computed_per_rate_on_the_sum_not_per_line() {
        // Three lines of 0.63 € at 20 %: per line 0.126 → 0.13 each (0.39); on the sum 1.89 € →
        // 0.378 → 0.38. The rule takes the sum.
        let items = [
            item(1, 1, 63, VatRate::Standard),
            item(2, 1, 63, VatRate::Standard),
            item(3, 1, 63, VatRate::Standard),
        ];
        let p = price(&items, None, None, VatTreatment::Standard).unwrap();
        assert_eq!(p.total_excl_cents, 189);
        assert_eq!(p.total_vat_cents, 38);
        assert_eq!(p.total_incl_cents, 227);
        assert_eq!(p.vat.len(), 1);
    }

    #[test]
    fn a_package_with_options_at_two_rates() {
        // A supplier package at 1,200 € (20 %) and two lunches at 25.50 € (10 %).
        let items = [
            item(1, 1, 120_000, VatRate::Standard),
            item(2, 2, 2_550, VatRate::Intermediate),
        ];
        let p = price(&items, None, None, VatTreatment::Standard).unwrap();
        assert_eq!(p.total_excl_cents, 125_100);
        assert_eq!(p.vat[0].rate, VatRate::Standard);
        assert_eq!(p.vat[0].vat_cents, 24_000);
        assert_eq!(p.vat[1].vat_cents, 510);
        assert_eq!(p.total_incl_cents, 149_610);
    }

    #[test]
    fn a_percentage_voucher_is_shared_exactly() {
        // 15 % of 1,251.00 € is 187.65 €, shared 180.00 € / 7.65 €.
        let items = [
            item(1, 1, 120_000, VatRate::Standard),
            item(2, 2, 2_550, VatRate::Intermediate),
        ];
        let p = price(
            &items,
            Some(Discount::Percent(1500)),
            None,
            VatTreatment::Standard,
        )
        .unwrap();
        assert_eq!(p.discount_cents, 18_765);
        assert_eq!(p.lines[0].discount_cents, 18_000);
        assert_eq!(p.lines[1].discount_cents, 765);
        assert_eq!(p.total_excl_cents, 125_100 - 18_765);
        // VAT on the discounted bases: 1,020.00 € × 20 % and 43.35 € × 10 % (4.335 → 4.34).
        assert_eq!(p.vat[0].vat_cents, 20_400);
        assert_eq!(p.vat[1].vat_cents, 434);
    }

    #[test]
    fn a_voucher_for_one_product_reduces_that_product_only() {
        // 50 % off a 50.00 € workshop, in an order with a 1,000.00 € package: 25.00 € off.
        let items = [
            item(1, 1, 100_000, VatRate::Standard),
            item(2, 1, 5_000, VatRate::Standard),
        ];
        let p = price(
            &items,
            Some(Discount::Percent(5000)),
            Some(2),
            VatTreatment::Standard,
        )
        .unwrap();
        assert_eq!(p.discount_cents, 2_500);
        assert_eq!(p.lines[0].discount_cents, 0);
        assert_eq!(p.lines[1].discount_cents, 2_500);
        // An amount is capped at that product's gross.
        let p = price(
            &items,
            Some(Discount::Amount(9_000)),
            Some(2),
            VatTreatment::Standard,
        )
        .unwrap();
        assert_eq!(p.discount_cents, 5_000);
        assert_eq!(p.lines[0].net_cents, 100_000);
    }

    #[test]
    fn an_amount_voucher_never_makes_an_order_negative() {
        let items = [item(1, 1, 5_000, VatRate::Standard)];
        let p = price(
            &items,
            Some(Discount::Amount(9_999)),
            None,
            VatTreatment::Standard,
        )
        .unwrap();
        assert_eq!(p.discount_cents, 5_000);
        assert_eq!(p.total_incl_cents, 0);
    }

    #[test]
    fn reverse_charge_puts_every_line_at_zero_with_the_mention() {
        let items = [
            item(1, 1, 120_000, VatRate::Standard),
            item(2, 1, 2_550, VatRate::Intermediate),
        ];
        let p = price(&items, None, None, VatTreatment::ReverseCharge).unwrap();
        assert_eq!(p.total_vat_cents, 0);
        assert_eq!(p.vat.len(), 1);
        assert_eq!(p.vat[0].category, VatCategory::ReverseCharge);
        assert_eq!(
            p.vat[0].exemption_reason.as_deref(),
            Some(REVERSE_CHARGE_MENTION)
        );
    }

    #[test]
    fn bad_orders_are_refused() {
        assert_eq!(
            price(&[], None, None, VatTreatment::Standard),
            Err(PricingError::Empty)
        );
        let zero = [item(1, 0, 100, VatRate::Standard)];
        assert_eq!(
            price(&zero, None, None, VatTreatment::Standard),
            Err(PricingError::Quantity { line: 0 })
        );
        let neg = [item(1, 1, -1, VatRate::Standard)];
        assert_eq!(
            price(&neg, None, None, VatTreatment::Standard),
            Err(PricingError::Price { line: 0 })
        );
        let huge = [item(1, 1000, MAX_AMOUNT, VatRate::Standard)];
        assert_eq!(
            price(&huge, None, None, VatTreatment::Standard),
            Err(PricingError::Total)
        );
        let mut exempt = item(1, 1, 100, VatRate::Zero);
        exempt.exemption = None;
        assert_eq!(
            price(&[exempt], None, None, VatTreatment::Standard),
            Err(PricingError::Exemption { line: 0 })
        );
        let one = [item(1, 1, 100, VatRate::Standard)];
        assert_eq!(
            price(
                &one,
                Some(Discount::Percent(10_001)),
                None,
                VatTreatment::Standard
            ),
            Err(PricingError::Percent)
        );
        assert_eq!(
            price(
                &one,
                Some(Discount::Amount(0)),
                None,
                VatTreatment::Standard
            ),
            Err(PricingError::Amount)
        );
    }

    #[test]
    fn a_partial_credit_splits_across_rates_and_adds_up() {
        let items = [
            item(1, 1, 120_000, VatRate::Standard),
            item(2, 2, 2_550, VatRate::Intermediate),
        ];
        let p = price(&items, None, None, VatTreatment::Standard).unwrap();
        let whole = credit_breakdown(&p.vat, p.total_incl_cents);
        assert_eq!(whole, p.vat);
        let part = credit_breakdown(&p.vat, 10_000);
        let sum: Cents = part.iter().map(|b| b.base_cents + b.vat_cents).sum();
        assert_eq!(sum, 10_000);
        for b in &part {
            assert!((b.vat_cents - b.rate.vat_on(b.base_cents)).abs() <= 1);
        }
    }

    proptest! {
        #[test]
        fn totals_always_add_up(
            lines in proptest::collection::vec((1i64..20, 0i64..500_000, 0usize..5), 1..8),
            percent in proptest::option::of(1i64..=10_000),
            amount in proptest::option::of(1i64..5_000_000),
        ) {
            let items: Vec<Item> = lines
                .iter()
                .enumerate()
                .map(|(i, (q, u, r))| item(i as i64, *q, *u, VatRate::ALL[*r]))
                .collect();
            let discount = percent.map(Discount::Percent).or(amount.map(Discount::Amount));
            let p = price(&items, discount, None, VatTreatment::Standard).unwrap();
            let nets: Cents = p.lines.iter().map(|l| l.net_cents).sum();
            prop_assert_eq!(nets, p.total_excl_cents);
            prop_assert_eq!(p.gross_cents - p.discount_cents, p.total_excl_cents);
            prop_assert!(p.lines.iter().all(|l| l.net_cents >= 0 && l.discount_cents >= 0));
            let bases: Cents = p.vat.iter().map(|b| b.base_cents).sum();
            prop_assert_eq!(bases, p.total_excl_cents);
            for b in &p.vat {
                prop_assert_eq!(b.vat_cents, b.rate.vat_on(b.base_cents));
            }
            prop_assert_eq!(p.total_incl_cents, p.total_excl_cents + p.total_vat_cents);
        }

        #[test]
        fn shares_add_up_and_stay_within_weights(
            weights in proptest::collection::vec(0i64..1_000_000, 1..10),
            fraction in 0u32..=100,
        ) {
            let sum: Cents = weights.iter().sum();
            let total = sum * fraction as i64 / 100;
            let s = share(total, &weights);
            prop_assert_eq!(s.iter().sum::<Cents>(), total);
            for (x, w) in s.iter().zip(&weights) {
                prop_assert!(*x >= 0 && x <= w);
            }
        }
    }
}
