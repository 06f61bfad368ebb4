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
    #[error("金额“{0}”元精度超过“分”（最多2位小数）")]
    TooPreciseYuan(String),
    #[error("金额“{0}”超出范围")]
    TooLarge(String),
    #[error("金额“{0}”中的逗号不是千分位分隔（小数点请用“.”，如 0.2 表示2000元）")]
    BadSeparator(String),
    #[error("金额“{0}”的数字之间有空格，无法确定数值（小数点请用“.”，如 0.2 表示2000元）")]
    SpaceInside(String),
    /// A figure in 元 in a column of 万元: said with the figure to write.
    #[error("本项以万元为单位填写，“{0}”应填为{1}")]
    InYuan(String, String),
}

/// Whether the commas of an amount separate its whole part into groups of three digits
/// (`1,234.5`, `-12,345`), and none stands in its decimals. A first group that starts with 0
/// (`0,500`) is a decimal comma, not a grouping.
fn grouped_in_thousands(s: &str) -> bool {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole = whole.strip_prefix('-').unwrap_or(whole);
    let mut groups = whole.split(',');
    let first_ok = groups.next().is_some_and(|g| {
        (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()) && !g.starts_with('0')
    });
    first_ok
        && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
        && !frac.contains(',')
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
    /// full-width forms, thousands separators and a trailing “万元” are tolerated. A comma that
    /// does not separate groups of three digits is refused, not dropped: `0,2` written with a
    /// decimal comma would otherwise be read as 2 万元, ten times the fine.
    pub fn parse_wan(input: &str) -> Result<Fen, MoneyError> {
        // A space between figures (`0 2`, a decimal point lost) is not dropped: 0 2 read as 2
        // 万元 is ten times the fine.
        // 5000元 in a column of 万元: the figure to write is told (it read as not a number).
        // 人民币5万元, ￥5万元, 5万元整: the currency's name and 整 say nothing of the figure.
        let t = input.trim();
        let t = ["人民币", "￥", "¥"]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .unwrap_or(t)
            .trim();
        let t = t.strip_suffix('整').unwrap_or(t).trim();
        if let Some(yuan) = t.strip_suffix('元').filter(|y| !y.ends_with('万'))
            && let Ok(d) = Decimal::from_str(&yuan.trim().replace(',', ""))
            && let Some(wan) = d.checked_div(Decimal::from(10_000))
        {
            return Err(MoneyError::InYuan(
                t.to_string(),
                wan.normalize().to_string(),
            ));
        }
        // 0.5万 (the 元 left off) is the same figure.
        let bare = t.trim_end_matches("万元").trim_end_matches('万').trim();
        if bare.chars().any(|c| c.is_whitespace() || c == '\u{3000}') {
            return Err(MoneyError::SpaceInside(input.trim().to_string()));
        }
        let folded: String = bare
            .chars()
            .map(crate::text::fold_width)
            .map(|c| if c == '，' { ',' } else { c })
            .filter(|c| !c.is_whitespace())
            .collect();
        if folded.contains(',') && !grouped_in_thousands(&folded) {
            return Err(MoneyError::BadSeparator(input.trim().to_string()));
        }
        let s: String = folded.chars().filter(|c| *c != ',').collect();
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

    /// The amounts a text states in 元 or 万元 (`罚款5000元`, `处罚款1.5万元`, `罚款人民币
    /// 2,000元`), exactly; others (`5000余元`, words) are not read.
    pub fn stated_in(text: &str) -> Vec<Fen> {
        let folded: Vec<char> = text.chars().map(crate::text::fold_width).collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < folded.len() {
            if !folded[i].is_ascii_digit()
                || (i > 0 && (folded[i - 1].is_ascii_digit() || folded[i - 1] == '.'))
            {
                i += 1;
                continue;
            }
            let start = i;
            while i < folded.len()
                && (folded[i].is_ascii_digit() || folded[i] == '.' || folded[i] == ',')
            {
                i += 1;
            }
            let number: String = folded[start..i].iter().collect();
            let number = number.trim_end_matches(['.', ',']);
            let unit_wan = folded.get(i) == Some(&'万') && folded.get(i + 1) == Some(&'元');
            let unit_yuan = folded.get(i) == Some(&'元');
            if !(unit_wan || unit_yuan) || (number.contains(',') && !grouped_in_thousands(number)) {
                continue;
            }
            let Ok(d) = Decimal::from_str(&number.replace(',', "")) else {
                continue;
            };
            let fen = if unit_wan {
                Fen::from_wan(d).ok()
            } else {
                d.checked_mul(Decimal::from(100))
                    .filter(|f| f.fract().is_zero())
                    .and_then(|f| i64::try_from(f).ok())
                    .map(Fen)
            };
            out.extend(fen);
        }
        out.extend(stated_in_words(&folded));
        out
    }

    /// Parses an exact amount in 元 as the store keeps it (`2000000.00`) or as the measure
    /// book writes a threshold (`2000000`): no more than two decimals, never a float.
    pub fn parse_yuan(input: &str) -> Result<Fen, MoneyError> {
        let s = input.trim();
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            return Err(MoneyError::NotANumber(s.to_string()));
        }
        let d = Decimal::from_str(s).map_err(|_| MoneyError::NotANumber(s.to_string()))?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::Negative);
        }
        let fen = d
            .checked_mul(Decimal::from(100))
            .ok_or_else(|| MoneyError::TooLarge(s.to_string()))?;
        if !fen.fract().is_zero() {
            return Err(MoneyError::TooPreciseYuan(s.to_string()));
        }
        i64::try_from(fen)
            .map(Fen)
            .map_err(|_| MoneyError::TooLarge(s.to_string()))
    }

    pub fn yuan(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// In 万元, as the 双公示 standard reports it.
    pub fn wan(self) -> Decimal {
        Decimal::new(self.0, 2) / Decimal::from(10_000)
    }
}

impl fmt::Display for Fen {
    /// In 元 with two decimals: 2000.00
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.yuan())
    }
}

/// Amounts a text states in Chinese numerals before 元, as decisions write them in words
/// (罚款人民币伍万元整, 罚款二十万元, 叁仟伍佰元): in 元. A run with no figure in it (万元
/// after digits: read above), or followed by anything but 元 (一万余元), is not read.
fn stated_in_words(text: &[char]) -> Vec<Fen> {
    const NUMERALS: &str = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟";
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if !NUMERALS.contains(text[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && NUMERALS.contains(text[i]) {
            i += 1;
        }
        if text.get(i) != Some(&'元') || (start > 0 && text[start - 1].is_ascii_digit()) {
            continue;
        }
        if let Some(yuan) = chinese_number(&text[start..i]) {
            out.extend(
                yuan.checked_mul(100)
                    .and_then(|f| i64::try_from(f).ok())
                    .map(Fen),
            );
        }
    }
    out
}

/// A number written in Chinese numerals (伍万, 二十, 壹佰零伍, 一亿两千万), or `None` if it has
/// no figure or does not read as one.
fn chinese_number(run: &[char]) -> Option<u64> {
    let figure = |c: char| {
        "零一二三四五六七八九"
            .find(c)
            .or_else(|| "〇壹贰叁肆伍陆柒捌玖".find(c))
    };
    let (mut total, mut section, mut digit): (u64, u64, Option<u64>) = (0, 0, None);
    let mut any = false;
    for &c in run {
        // Byte offsets of three-byte characters: the figure is the offset over three.
        if let Some(at) = figure(c) {
            digit = Some((at / 3) as u64);
            any = true;
            continue;
        }
        if c == '两' {
            digit = Some(2);
            any = true;
            continue;
        }
        let unit = match c {
            '十' | '拾' => 10,
            '百' | '佰' => 100,
            '千' | '仟' => 1000,
            '万' => {
                total = total.checked_add(
                    section
                        .checked_add(digit.unwrap_or(0))?
                        .checked_mul(10_000)?,
                )?;
                section = 0;
                digit = None;
                continue;
            }
            '亿' => {
                total = total
                    .checked_add(section)?
                    .checked_add(digit.unwrap_or(0))?
                    .checked_mul(100_000_000)?;
                section = 0;
                digit = None;
                continue;
            }
            _ => return None,
        };
        // 十 alone is ten (二十, 十五); 百 and 千 need their figure.
        let d = match digit {
            Some(d) => d,
            None if unit == 10 => 1,
            None => return None,
        };
        any = true;
        section = section.checked_add(d.checked_mul(unit)?)?;
        digit = None;
    }
    let n = total
        .checked_add(section)?
        .checked_add(digit.unwrap_or(0))?;
    (any && n > 0).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_stated_in_words() {
        let yuan = |t: &str| {
            Fen::stated_in(t)
                .into_iter()
                .map(|f| f.yuan().normalize().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(yuan("罚款人民币伍万元整"), ["50000"]);
        assert_eq!(yuan("处罚款二十万元"), ["200000"]);
        assert_eq!(
            yuan("罚款叁仟伍佰元，没收违法所得壹佰零伍元"),
            ["3500", "105"]
        );
        assert_eq!(yuan("罚款两千元"), ["2000"]);
        assert_eq!(yuan("罚款一亿两千万元"), ["120000000"]);
        assert_eq!(yuan("罚款拾万元"), ["100000"]);
        // Digits and words together: each read once.
        assert_eq!(yuan("罚款5万元（伍万元）"), ["50000", "50000"]);
        // Not amounts: 一万余元, a year, a figure alone.
        assert!(yuan("罚款一万余元").is_empty());
        assert!(yuan("二〇二六年").is_empty());
        assert!(yuan("万元").is_empty());
    }

    /// The currency's name before the figure and 整 after it are read past.
    #[test]
    fn currency_words_around_a_figure_are_read_past() {
        for t in [
            "人民币5万元",
            "￥5万元",
            "¥5",
            "5万元整",
            "人民币5万元整",
            "５万元",
        ] {
            assert_eq!(
                Fen::parse_wan(t).map(|f| f.yuan().normalize().to_string()),
                Ok("50000".to_string()),
                "{t}"
            );
        }
        assert!(matches!(
            Fen::parse_wan("人民币5000元"),
            Err(MoneyError::InYuan(..))
        ));
        assert!(Fen::parse_wan("5.5万元（已缴纳）").is_err());
    }

    #[test]
    fn a_space_between_figures_is_refused() {
        assert_eq!(
            Fen::parse_wan("0 2"),
            Err(MoneyError::SpaceInside("0 2".into()))
        );
        assert!(Fen::parse_wan("0\t2").is_err());
        assert_eq!(Fen::parse_wan(" 0.2 "), Ok(Fen(200_000)));
        assert_eq!(Fen::parse_wan("0.2 万元"), Ok(Fen(200_000)));
        assert_eq!(Fen::parse_wan("0.5万"), Ok(Fen(500_000)));
        assert_eq!(
            Fen::parse_wan("5000元"),
            Err(MoneyError::InYuan("5000元".into(), "0.5".into()))
        );
    }

    #[test]
    fn yuan_exactly() {
        assert_eq!(Fen::parse_yuan("2000000.00"), Ok(Fen(200_000_000)));
        assert_eq!(Fen::parse_yuan("1999999.99"), Ok(Fen(199_999_999)));
        assert_eq!(Fen::parse_yuan("2000000"), Ok(Fen(200_000_000)));
        assert!(Fen::parse_yuan("1.001").is_err());
        assert!(Fen::parse_yuan("1e6").is_err());
        assert!(Fen::parse_yuan("-1").is_err());
    }

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

    #[test]
    fn a_decimal_comma_is_refused_not_read_as_a_thousands_separator() {
        // Dropped, the comma would make 0.2 万元 (2,000 元) into 2 万元 (20,000 元).
        for bad in [
            "0,2", "0，2", "0,500", "00,500", "1,23", "12,3456", "1,234,5", "1.234,5", ",123",
        ] {
            assert!(
                matches!(Fen::parse_wan(bad), Err(MoneyError::BadSeparator(_))),
                "{bad}"
            );
        }
        assert_eq!(Fen::parse_wan("1,234"), Ok(Fen(1_234_000_000)));
        assert_eq!(Fen::parse_wan("12，345.5"), Ok(Fen(12_345_500_000)));
        assert_eq!(Fen::parse_wan("１，２３４．５"), Ok(Fen(1_234_500_000)));
        assert_eq!(Fen::parse_wan("０.２万元"), Ok(Fen(200_000)));
    }
}

#[cfg(test)]
mod stated_tests {
    use super::Fen;

    #[test]
    fn amounts_stated_in_a_decision_are_read_exactly() {
        let fen = |t: &str| Fen::stated_in(t).iter().map(|f| f.0).collect::<Vec<_>>();
        assert_eq!(fen("处罚款1.50348万元"), [1_503_480]);
        assert_eq!(
            fen("罚款人民币2,000元，没收违法所得300.5元"),
            [200_000, 30_050]
        );
        assert_eq!(fen("罚款５０００元"), [500_000]);
        // Not amounts: no unit, a decimal comma, a date. (A number in words is read:
        // `amounts_stated_in_words`.)
        assert!(fen("罚款5000余元，2026年5月2日").is_empty());
        assert!(fen("罚款0,5万元").is_empty());
        assert_eq!(fen("罚款伍仟元"), [500_000]);
        assert_eq!(Fen(1_503_480).wan().normalize().to_string(), "1.50348");
    }
}
