//! Prize money: amounts with their currency, and Tote dividends (kept as text).

use super::value::{bad, decimal_text, missing, text, ValueError};

/// A currency Paddock stores prize money in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    GBP,
    EUR,
}

impl Currency {
    /// ISO 4217 code, as stored in `prize_currency`.
    pub fn code(self) -> &'static str {
        match self {
            Currency::GBP => "GBP",
            Currency::EUR => "EUR",
        }
    }

    /// The currency an amount without a symbol is in: euros in Ireland, pounds elsewhere.
    pub fn for_region(region: &str) -> Currency {
        if region.trim().eq_ignore_ascii_case("ire") {
            Currency::EUR
        } else {
            Currency::GBP
        }
    }
}

/// An amount of money with its currency: an exact decimal, never a binary float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Money {
    /// Normalised (`"4193.50"` → `4193.5`), so equal amounts compare and store equal.
    pub amount: rust_decimal::Decimal,
    pub currency: Currency,
}

/// Money: `"2871.46"` (in `default`), `"£5,327"`, `"€6150"`, `"EUR 6150"`.
pub fn money(s: &str, default: Currency) -> Result<Option<Money>, ValueError> {
    let Some(t) = missing(s) else { return Ok(None) };
    let mut currency = default;
    let mut body = t;
    for (marks, c) in [
        (&["£", "GBP"][..], Currency::GBP),
        (&["€", "EUR"][..], Currency::EUR),
    ] {
        for m in marks {
            if let Some(rest) = body.strip_prefix(m) {
                body = rest;
                currency = c;
            } else if let Some(rest) = body.strip_suffix(m) {
                body = rest;
                currency = c;
            }
        }
    }
    let digits: String = body
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    // The same shape check as every decimal, then an exact parse.
    let exact = decimal_text(&digits)
        .and_then(|_| digits.parse::<rust_decimal::Decimal>().ok())
        .filter(|amount| !amount.is_sign_negative());
    match exact {
        Some(amount) => Ok(Some(Money {
            amount: amount.normalize(),
            currency,
        })),
        None => bad("an amount of money", s),
    }
}

/// Tote dividends (`"£2.10 £1.40"`) are several amounts in one string: they stay text.
pub fn tote(s: &str) -> Option<String> {
    text(s)
}
