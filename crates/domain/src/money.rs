//! Money. The 双公示 standard reports amounts in 万元 (10,000 yuan) as decimals; the platform keeps
//! them exactly as integer fen (分) and shows them in 元. No floating point anywhere.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An exact amount in fen (1 元 = 100 分; 1 万元 = 1,000,000 分).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fen(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("“{0}”不是数字金额（以万元为单位填写，如 0.2 表示2000元）")]
    NotANumber(String),
    #[error("金额不能为负数")]
    Negative,
    #[error("金额“{0}”万元精度超过“分”（最多6位小数）")]
    TooPrecise(String),
    #[error("金额“{0}”超出范围")]
    TooLarge(String),
}

const FEN_PER_WAN: i64 = 1_000_000;

impl Fen {
    /// Converts an exact decimal amount in 万元.
    pub fn from_wan(wan: Decimal) -> Result<Fen, MoneyError> {
        if wan.is_sign_negative() && !wan.is_zero() {
            return Err(MoneyError::Negative);
        }
        let fen = wan
            .checked_mul(Decimal::from(FEN_PER_WAN))
            .ok_or_else(|| MoneyError::TooLarge(wan.to_string()))?;
        if !fen.fract().is_zero() {
            return Err(MoneyError::TooPrecise(wan.normalize().to_string()));
        }
        i64::try_from(fen)
            .map(Fen)
            .map_err(|_| MoneyError::TooLarge(wan.to_string()))
    }

    /// Parses a 万元 figure as departments write it: digits with an optional decimal point,
    /// thousands separators and a trailing “万元” are tolerated.
    pub fn parse_wan(input: &str) -> Result<Fen, MoneyError> {
        let s: String = input
            .trim()
            .trim_end_matches("万元")
            .chars()
            .filter(|c| *c != ',' && *c != '，' && !c.is_whitespace())
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '．' => '.',
                other => other,
            })
            .collect();
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            return Err(MoneyError::NotANumber(input.trim().to_string()));
        }
        let d =
            Decimal::from_str(&s).map_err(|_| MoneyError::NotANumber(input.trim().to_string()))?;
        Fen::from_wan(d)
    }

    pub fn yuan(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
}

impl fmt::Display for Fen {
    /// In 元 with two decimals: 2000.00
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.yuan())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wan_to_fen_exactly() {
        assert_eq!(Fen::parse_wan("0.2"), Ok(Fen(200_000)));
        assert_eq!(Fen::parse_wan("0.2").unwrap().to_string(), "2000.00");
        assert_eq!(
            Fen::parse_wan("1,234.5678").unwrap().to_string(),
            "12345678.00"
        );
        assert_eq!(Fen::parse_wan("0.000001").unwrap().to_string(), "0.01");
        assert_eq!(Fen::parse_wan("3万元"), Ok(Fen(3_000_000)));
        // 0.1 + 0.2 is exact here, unlike f64.
        assert_eq!(
            Fen::parse_wan("0.3").unwrap().0,
            Fen::parse_wan("0.1").unwrap().0 + Fen::parse_wan("0.2").unwrap().0
        );
    }

    #[test]
    fn bad_amounts_say_why() {
        assert!(matches!(
            Fen::parse_wan("0.0000001"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(Fen::parse_wan("-1"), Err(MoneyError::Negative)));
        assert!(matches!(
            Fen::parse_wan("五千"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(Fen::parse_wan(""), Err(MoneyError::NotANumber(_))));
    }
}
