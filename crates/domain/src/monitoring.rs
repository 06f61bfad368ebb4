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
}

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
        }
    }
    /// 上报率 = reported / produced, over the units that filed a self-report.
    pub fn reporting_rate(&self) -> Option<f64> {
        self.produced
            .and_then(|p| ratio(self.reported_declared, p))
            .map(|r| r.min(1.0))
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
    }
    /// The mean of the rates there are, for ranking; a unit that filed no self-report scores 0
    /// on 上报率 (it must not rank above those that did).
    pub fn score(&self) -> f64 {
        let rates: Vec<f64> = [
            if self.produced.is_none() {
                Some(0.0)
            } else {
                self.reporting_rate()
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
        let low = |r: Option<f64>| r.is_some_and(|x| x + 1e-9 < goal);
        self.produced.is_none()
            || low(self.reporting_rate())
            || low(self.compliance_rate())
            || low(self.timeliness_rate())
    }
}

/// A decision's key for 双公示 monitoring and for telling one decision filed under two subjects:
/// SM3 of the class code and each key item's value (the 文书号) as written, full-width forms
/// and the year's brackets folded (`text::fold_doc_char`) and spaces dropped, cut to 16 bytes; `None` when a value is empty (the importer then
/// keys the row by all its cells).
pub fn decision_key(class_code: &str, values: &[&str]) -> Option<[u8; 16]> {
    use sm3::{Digest, Sm3};
    let mut h = Sm3::new();
    h.update(class_code.as_bytes());
    for v in values {
        let folded: String = v
            .chars()
            .map(crate::text::fold_doc_char)
            .filter(|c| !c.is_whitespace())
            .collect();
        if folded.is_empty() {
            return None;
        }
        h.update([0]);
        h.update(folded.as_bytes());
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
