//! 双公示 monitoring rules (rules.md): the four rates and when a unit is warned, as data
//! (`data/monitoring.toml`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct MonitoringRules {
    pub version: String,
    pub basis: String,
    /// The monitored catalog classes (行政许可, 行政处罚).
    pub classes: Vec<String>,
    /// The goal of 上报率, 合规率 and 及时率.
    pub goal: f64,
    pub warnings: WarningRules,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WarningRules {
    pub lead_working_days: u32,
    pub rejection_rate: f64,
    pub window_days: i64,
}

impl MonitoringRules {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

/// The month's figures of one unit (or of a county, summed) and its rates.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Figures {
    /// Decisions made, from the unit's self-report (None: not filed).
    pub produced: Option<i64>,
    pub reported: i64,
    /// Reported by the units that filed a self-report: the numerator of 上报率, so that a
    /// county's or the city's rate compares like with like (the reports of units that filed
    /// nothing do not fill the gap of those that did).
    pub reported_declared: i64,
    pub accepted: i64,
    pub linked: i64,
    pub on_time: i64,
    /// Lines summed (a unit's class for a month), and of them those without a self-report: a
    /// county ranks by its 上报率 taken down by the share of its lines that filed none (a county
    /// whose units mostly filed nothing ranked first on the one that did).
    pub lines: i64,
    pub undeclared: i64,
}

/// How the bulletin ranks, said in it (from [`Figures::score`]).
pub const RANKING_METHOD: &str = "排名方法：按上报率、合规率、及时率、关联率四项的平均值从高到低排序；未填报月度自报的事项，上报率按0计；自报本月未作出决定（0件）的，上报率按100%计（各县（市、区）的上报率按其未自报事项所占比例折减后计入排名）；平均值相同的名次并列。";

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl Figures {
    /// One unit's figures for a month.
    pub fn of_unit(
        produced: Option<i64>,
        reported: i64,
        accepted: i64,
        linked: i64,
        on_time: i64,
    ) -> Figures {
        Figures {
            produced,
            reported,
            // Capped at what it declared: one unit's surplus must not fill another's gap in a
            // county's or the city's 上报率.
            reported_declared: produced.map_or(0, |p| reported.min(p)),
            accepted,
            linked,
            on_time,
            lines: 1,
            undeclared: i64::from(produced.is_none()),
        }
    }
    /// 上报率 = reported / produced, over the units that filed a self-report; 100% where they
    /// declared none made (nothing owed is all reported).
    pub fn reporting_rate(&self) -> Option<f64> {
        match self.produced {
            // Not for a sum over lines some of which filed nothing: its 100% would hide them.
            Some(0) if self.undeclared == 0 => Some(1.0),
            Some(0) => None,
            p => p
                .and_then(|p| ratio(self.reported_declared, p))
                .map(|r| r.min(1.0)),
        }
    }
    /// 合规率 = accepted / reported.
    pub fn compliance_rate(&self) -> Option<f64> {
        ratio(self.accepted, self.reported)
    }
    /// 及时率 = on time / accepted.
    pub fn timeliness_rate(&self) -> Option<f64> {
        ratio(self.on_time, self.accepted)
    }
    /// 关联率 = linked / accepted.
    pub fn link_rate(&self) -> Option<f64> {
        ratio(self.linked, self.accepted)
    }
    pub fn add(&mut self, o: &Figures) {
        self.produced = match (self.produced, o.produced) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.reported += o.reported;
        self.reported_declared += o.reported_declared;
        self.accepted += o.accepted;
        self.linked += o.linked;
        self.on_time += o.on_time;
        self.lines += o.lines;
        self.undeclared += o.undeclared;
    }
    /// The mean of the rates there are, for ranking; a unit that filed no self-report scores 0
    /// on 上报率 (it must not rank above those that did), and a county's 上报率 counts in the
    /// share of its lines that filed one ([`RANKING_METHOD`]).
    pub fn score(&self) -> f64 {
        let declared_share = if self.lines > 0 {
            (self.lines - self.undeclared) as f64 / self.lines as f64
        } else {
            1.0
        };
        let rates: Vec<f64> = [
            if self.produced.is_none() {
                Some(0.0)
            } else {
                self.reporting_rate().map(|r| r * declared_share)
            },
            self.compliance_rate(),
            self.timeliness_rate(),
            self.link_rate(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if rates.is_empty() {
            0.0
        } else {
            rates.iter().sum::<f64>() / rates.len() as f64
        }
    }
    /// Below the goal on 上报率, 合规率 or 及时率 (a missing self-report counts as below).
    pub fn below(&self, goal: f64) -> bool {
        self.below_with(goal, true)
    }
    /// [`Figures::below`], counting a missing self-report only when one is due (a month not
    /// ended cannot be declared yet).
    pub fn below_with(&self, goal: f64, declared_due: bool) -> bool {
        let low = |r: Option<f64>| r.is_some_and(|x| x + 1e-9 < goal);
        (declared_due && self.produced.is_none())
            || low(self.reporting_rate())
            || low(self.compliance_rate())
            || low(self.timeliness_rate())
    }
}

/// A decision's key for 双公示 monitoring and for telling one decision filed under two subjects:
/// SM3 of the class code and each key item's value (the 文书号) as written, full-width forms
/// and the year's brackets folded (`text::fold_doc_char`), spaces dropped, and the serial
/// after a bracketed year without 第 and leading zeros (盐环罚〔2026〕第0910号 is
/// 盐环罚〔2026〕910号: case systems pad or prefix the serial, clerks do not), cut to 16 bytes;
/// `None` when a value is empty (the importer then keys the row by all its cells).
pub fn decision_key(class_code: &str, values: &[&str]) -> Option<[u8; 16]> {
    let canonical: Vec<String> = values
        .iter()
        .map(|v| serial_plain(&doc_folded(v)))
        .collect();
    key_of(class_code, &canonical)
}

/// The key a decision had before its serial was read without 第 and leading zeros
/// ([`decision_key`]), when that differs: finds a record stored so until `xinyong migrate`
/// keys it anew (`Store::backfill_decision_keys`).
pub fn decision_key_as_written(class_code: &str, values: &[&str]) -> Option<[u8; 16]> {
    let folded: Vec<String> = values.iter().map(|v| doc_folded(v)).collect();
    let canonical: Vec<String> = folded.iter().map(|v| serial_plain(v)).collect();
    if canonical == folded {
        return None;
    }
    key_of(class_code, &folded)
}

/// The key the same decision would have if its number's year were bracketed the other way —
/// 盐环罚（2026）221号 for 盐环罚〔2026〕221号 and back — or `None` when its number has no
/// bracketed year. Parentheses are not folded into the key itself (records keyed before keep
/// their keys, and every court's 案号 is written （2026）…); this second key lets an import
/// find the record a unit reported with the other brackets, instead of publishing the decision
/// twice.
pub fn decision_key_written_otherwise(class_code: &str, values: &[&str]) -> Option<[u8; 16]> {
    let folded: Vec<String> = values
        .iter()
        .map(|v| serial_plain(&doc_folded(v)))
        .collect();
    let swapped: Vec<String> = folded.iter().map(|v| swap_year_brackets(v)).collect();
    if swapped == folded {
        return None;
    }
    key_of(class_code, &swapped)
}

fn doc_folded(v: &str) -> String {
    v.chars()
        .map(crate::text::fold_doc_char)
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// `v` (folded by `doc_folded`) with the serial after each bracketed year — 〔2026〕 or (2026)
/// — written without a 第 before it and without leading zeros (one digit kept).
fn serial_plain(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::with_capacity(v.len());
    let mut i = 0;
    while i < chars.len() {
        out.push(chars[i]);
        let year_closed = i >= 5
            && matches!(chars[i], '〕' | ')')
            && matches!(chars[i - 5], '〔' | '(')
            && chars[i - 4..i].iter().all(char::is_ascii_digit);
        i += 1;
        if year_closed {
            if chars.get(i) == Some(&'第') {
                i += 1;
            }
            while chars.get(i) == Some(&'0') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
        }
    }
    out
}

/// `(2026)` ⇄ `〔2026〕` wherever four digits are so enclosed (after `fold_doc_char`, full-width
/// parentheses are ASCII).
fn swap_year_brackets(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::with_capacity(v.len());
    let mut i = 0;
    while i < chars.len() {
        let close = match chars[i] {
            '(' => Some((')', '〔', '〕')),
            '〔' => Some(('〕', '(', ')')),
            _ => None,
        };
        if let Some((end, open_as, close_as)) = close
            && i + 5 < chars.len()
            && chars[i + 1..i + 5].iter().all(char::is_ascii_digit)
            && chars[i + 5] == end
        {
            out.push(open_as);
            out.extend(&chars[i + 1..i + 5]);
            out.push(close_as);
            i += 6;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn key_of(class_code: &str, folded: &[String]) -> Option<[u8; 16]> {
    use sm3::{Digest, Sm3};
    let mut h = Sm3::new();
    h.update(class_code.as_bytes());
    for v in folded {
        if v.is_empty() {
            return None;
        }
        h.update([0]);
        h.update(v.as_bytes());
    }
    let out: [u8; 32] = h.finalize().into();
    out[..16].try_into().ok()
}

/// A month as the 双公示 figures key it: `YYYY-MM`.
pub fn month_key(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

/// The month before the one `today` falls in: the month units are reporting now, and the one a
/// bulletin is made for.
pub fn previous_month(today: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    month_key(
        today
            .with_day(1)
            .and_then(|d| d.pred_opt())
            .unwrap_or(today),
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_number_with_its_year_bracketed_otherwise_has_the_other_key() {
        let k = |v: &str| super::decision_key("CF", &[v]);
        let other = |v: &str| super::decision_key_written_otherwise("CF", &[v]);
        assert_eq!(other("盐环罚（2026）221号"), k("盐环罚〔2026〕221号"));
        assert_eq!(other("盐环罚(2026)221号"), k("盐环罚[2026]221号"));
        assert_eq!(other("盐环罚〔2026〕221号"), k("盐环罚（2026）221号"));
        // Keys themselves still tell the two apart; no year, no second key.
        assert_ne!(k("盐环罚（2026）221号"), k("盐环罚〔2026〕221号"));
        assert_eq!(other("盐环罚221号"), None);
        assert_eq!(other("盐环罚（202）221号"), None);
        assert_eq!(other("（2026）"), k("〔2026〕"));
    }

    #[test]
    fn a_serial_with_di_or_leading_zeros_is_the_same_decision() {
        let k = |v: &str| super::decision_key("CF", &[v]);
        let other = |v: &str| super::decision_key_written_otherwise("CF", &[v]);
        let written = |v: &str| super::decision_key_as_written("CF", &[v]);
        for same in [
            "盐环罚〔2026〕第0910号",
            "盐环罚〔2026〕00910号",
            "盐环罚[2026]第910号",
            "盐环罚〔２０２６〕０９１０号",
        ] {
            assert_eq!(k(same), k("盐环罚〔2026〕910号"), "{same}");
        }
        assert_eq!(other("盐环罚（2026）第0910号"), k("盐环罚〔2026〕910号"));
        // Another serial, a zero that is the serial, zeros not after a year: not folded.
        assert_ne!(k("盐环罚〔2026〕0911号"), k("盐环罚〔2026〕910号"));
        assert_eq!(k("盐环罚〔2026〕0号"), k("盐环罚〔2026〕00号"));
        assert_ne!(k("盐环罚0910号"), k("盐环罚910号"));
        assert_ne!(k("盐环罚〔2026〕9100号"), k("盐环罚〔2026〕910号"));
        // The key a record stored before had, only where it differs.
        assert_eq!(written("盐环罚〔2026〕910号"), None);
        assert_ne!(written("盐环罚〔2026〕第910号"), k("盐环罚〔2026〕第910号"));
        assert!(written("盐环罚〔2026〕第910号").is_some());
    }

    #[test]
    fn the_month_reported_now_is_the_one_before() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(super::previous_month(d("2026-01-05")), "2025-12");
        assert_eq!(super::previous_month(d("2026-03-31")), "2026-02");
        assert_eq!(super::month_key(d("2026-07-01")), "2026-07");
    }
    use super::*;

    #[test]
    fn rates_follow_the_rules() {
        let f = Figures::of_unit(Some(10), 8, 6, 5, 3);
        assert_eq!(f.reporting_rate(), Some(0.8));
        assert_eq!(f.compliance_rate(), Some(0.75));
        assert_eq!(f.timeliness_rate(), Some(0.5));
        assert!((f.link_rate().unwrap() - 5.0 / 6.0).abs() < 1e-12);
        assert!(f.below(1.0));
        let perfect = Figures::of_unit(Some(4), 4, 4, 4, 4);
        assert!(!perfect.below(1.0));
        let unfiled = Figures::of_unit(None, 4, 4, 4, 4);
        assert!(unfiled.below(1.0));
        // A unit that filed nothing ranks below one that filed and reported most of it.
        assert!(unfiled.score() < Figures::of_unit(Some(5), 4, 4, 4, 4).score());
        // More reported than declared is 100%, not more.
        let over = Figures::of_unit(Some(3), 4, 4, 4, 4);
        assert_eq!(over.reporting_rate(), Some(1.0));
        // A county whose lines mostly filed nothing ranks below one whose lines all filed and
        // fell a little short.
        let mut silent = Figures::default();
        silent.add(&Figures::of_unit(Some(4), 4, 4, 4, 4));
        for _ in 0..5 {
            silent.add(&Figures::of_unit(None, 4, 4, 4, 4));
        }
        assert_eq!(silent.reporting_rate(), Some(1.0));
        assert_eq!((silent.lines, silent.undeclared), (6, 5));
        let mut honest = Figures::default();
        for _ in 0..6 {
            honest.add(&Figures::of_unit(Some(5), 4, 4, 4, 4));
        }
        assert!(silent.score() < honest.score());
        // A county: what the unit that filed nothing reported does not count toward the 上报率
        // of the one that did.
        let mut county = Figures::default();
        county.add(&Figures::of_unit(Some(44), 44, 44, 44, 44));
        county.add(&Figures::of_unit(None, 500, 500, 500, 500));
        county.add(&Figures::of_unit(Some(10), 5, 5, 5, 5));
        assert_eq!(county.produced, Some(54));
        assert_eq!(county.reported, 549);
        assert_eq!(county.reporting_rate(), Some(49.0 / 54.0));
        // Nor does a unit's surplus: 25 of 20 declared and 47 of 50 are 67 of 70, not 100%.
        let mut unit = Figures::default();
        unit.add(&Figures::of_unit(Some(20), 25, 25, 25, 25));
        unit.add(&Figures::of_unit(Some(50), 47, 47, 47, 47));
        assert_eq!(unit.reporting_rate(), Some(67.0 / 70.0));
    }
}
