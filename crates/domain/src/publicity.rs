//! Publicity windows of administrative penalties (rules.md): which regime applies, the severity,
//! whether the record is published, the date from which it can be repaired and the date its
//! publication ends. The periods are data (`data/publicity.toml`); every window records the rule
//! version that produced it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::add_months;
use crate::money::Fen;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    #[serde(rename = "轻微")]
    Minor,
    #[serde(rename = "一般")]
    Ordinary,
    #[serde(rename = "严重")]
    Serious,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "轻微",
            Severity::Ordinary => "一般",
            Severity::Serious => "严重",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "轻微" | "minor" => Ok(Severity::Minor),
            "一般" | "ordinary" => Ok(Severity::Ordinary),
            "严重" | "serious" => Ok(Severity::Serious),
            other => Err(format!("失信严重程度“{other}”应为 轻微、一般 或 严重")),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct PublicityFile {
    version: String,
    severity_defaults: SeverityDefaults,
    #[serde(default)]
    domain_keywords: BTreeMap<String, Vec<String>>,
    #[serde(rename = "regime")]
    regimes: Vec<Regime>,
    market: MarketRegime,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeverityDefaults {
    pub basis: String,
    pub minor: Vec<String>,
    pub ordinary: Vec<String>,
    pub serious: Vec<String>,
    pub unlisted: Severity,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Period {
    #[serde(default = "yes")]
    pub published: bool,
    #[serde(default)]
    pub min_months: u32,
    #[serde(default)]
    pub max_months: u32,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct Regime {
    pub id: String,
    pub name: String,
    pub basis: String,
    pub decided_from: Option<NaiveDate>,
    pub decided_until: Option<NaiveDate>,
    pub minor: Period,
    pub ordinary: Period,
    pub serious: Period,
    #[serde(default)]
    pub domain_min_months: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MarketRegime {
    pub id: String,
    pub name: String,
    pub basis: String,
    pub not_published_alone: Vec<String>,
    pub short_alone: Vec<String>,
    pub short_months: u32,
    pub long_months: u32,
    pub small_fine_wan: BTreeMap<String, Decimal>,
    pub no_early_end: Vec<String>,
    /// Working days after the decision by which it is published (Art. 9); a later report
    /// counts from then.
    #[serde(default)]
    pub publish_within_workdays: Option<u32>,
}

/// The publicity rules in force, loaded from data.
#[derive(Debug, Clone)]
pub struct PublicityRules {
    pub version: String,
    pub severity_defaults: SeverityDefaults,
    pub domain_keywords: BTreeMap<String, Vec<String>>,
    pub regimes: Vec<Regime>,
    pub market: MarketRegime,
}

/// What a penalty record says that decides its window.
#[derive(Debug, Clone)]
pub struct PenaltyFacts<'a> {
    pub decided: NaiveDate,
    pub categories: &'a [String],
    pub severity: Option<Severity>,
    /// Domains of the penalty (安全生产, 消防, 特种设备) from the unit and the legal basis.
    pub domains: &'a [String],
    /// Set when the source unit is a market-regulation department (SAMR Order 45).
    pub market: Option<MarketFacts>,
}

#[derive(Debug, Clone, Copy)]
pub struct MarketFacts {
    pub published: NaiveDate,
    pub fine: Option<Fen>,
    pub natural_person: bool,
}

/// The computed window, with the rule that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub regime: String,
    pub regime_name: String,
    pub basis: String,
    pub rule_version: String,
    pub severity: Severity,
    /// Whether the severity was reported by the source unit or defaulted from the categories.
    pub severity_reported: bool,
    pub published: bool,
    pub min_end: Option<NaiveDate>,
    pub repairable_from: Option<NaiveDate>,
    pub ends: Option<NaiveDate>,
    pub note: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PublicityError {
    #[error("publicity rules: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("处罚决定日期{0}没有适用的公示规则")]
    NoRegime(NaiveDate),
}

impl PublicityRules {
    pub fn parse(text: &str) -> Result<Self, PublicityError> {
        let f: PublicityFile = toml::from_str(text)?;
        Ok(PublicityRules {
            version: f.version,
            severity_defaults: f.severity_defaults,
            domain_keywords: f.domain_keywords,
            regimes: f.regimes,
            market: f.market,
        })
    }

    /// The most severe default among the categories (rules.md).
    pub fn default_severity(&self, categories: &[String]) -> Severity {
        let d = &self.severity_defaults;
        categories
            .iter()
            .map(|c| {
                if d.serious.contains(c) {
                    Severity::Serious
                } else if d.ordinary.contains(c) {
                    Severity::Ordinary
                } else if d.minor.contains(c) {
                    Severity::Minor
                } else {
                    d.unlisted
                }
            })
            .max()
            .unwrap_or(d.unlisted)
    }

    /// Domains named by keywords in the given texts (legal basis, violation, facts).
    pub fn domains_in<'a>(&self, texts: impl IntoIterator<Item = &'a str> + Clone) -> Vec<String> {
        self.domain_keywords
            .iter()
            .filter(|(_, words)| {
                texts
                    .clone()
                    .into_iter()
                    .any(|t| words.iter().any(|w| t.contains(w.as_str())))
            })
            .map(|(d, _)| d.clone())
            .collect()
    }

    pub fn regime_for(&self, decided: NaiveDate) -> Option<&Regime> {
        self.regimes.iter().find(|r| {
            r.decided_from.is_none_or(|f| decided >= f)
                && r.decided_until.is_none_or(|u| decided <= u)
        })
    }

    pub fn window(&self, facts: &PenaltyFacts<'_>) -> Result<Window, PublicityError> {
        let severity_reported = facts.severity.is_some();
        let severity = facts
            .severity
            .unwrap_or_else(|| self.default_severity(facts.categories));
        if let Some(m) = facts.market {
            return Ok(self.market_window(facts, m, severity, severity_reported));
        }
        let regime = self
            .regime_for(facts.decided)
            .ok_or(PublicityError::NoRegime(facts.decided))?;
        let period = match severity {
            Severity::Minor => &regime.minor,
            Severity::Ordinary => &regime.ordinary,
            Severity::Serious => &regime.serious,
        };
        let base = Window {
            regime: regime.id.clone(),
            regime_name: regime.name.clone(),
            basis: regime.basis.clone(),
            rule_version: format!("{}/{}", self.version, regime.id),
            severity,
            severity_reported,
            published: period.published,
            min_end: None,
            repairable_from: None,
            ends: None,
            note: String::new(),
        };
        if !period.published {
            return Ok(Window {
                note: "轻微失信信息原则上不予公示，履行完毕即可申请修复".into(),
                ..base
            });
        }
        let domain_min = facts
            .domains
            .iter()
            .filter_map(|d| regime.domain_min_months.get(d).map(|m| (d, *m)))
            .max_by_key(|(_, m)| *m);
        let (min_months, note) = match domain_min {
            Some((d, m)) if m > period.min_months => (m, format!("{d}领域最短公示期{m}个月")),
            _ => (period.min_months, String::new()),
        };
        let min_end = add_months(facts.decided, min_months);
        Ok(Window {
            min_end: Some(min_end),
            repairable_from: min_end.checked_add_days(Days::new(1)),
            ends: Some(add_months(facts.decided, period.max_months)),
            note,
            ..base
        })
    }

    fn market_window(
        &self,
        facts: &PenaltyFacts<'_>,
        m: MarketFacts,
        severity: Severity,
        severity_reported: bool,
    ) -> Window {
        let r = &self.market;
        let cats = facts.categories;
        let base = Window {
            regime: r.id.clone(),
            regime_name: r.name.clone(),
            basis: r.basis.clone(),
            rule_version: format!("{}/{}", self.version, r.id),
            severity,
            severity_reported,
            published: true,
            min_end: None,
            repairable_from: None,
            ends: None,
            note: String::new(),
        };
        if !cats.is_empty() && cats.iter().all(|c| r.not_published_alone.contains(c)) {
            return Window {
                published: false,
                note: "仅警告的行政处罚不予公示".into(),
                ..base
            };
        }
        let threshold_key = if m.natural_person {
            "natural_person"
        } else {
            "organisation"
        };
        // A fine whose amount is not known is not known to be small: the long period applies.
        let small_fine = match (m.fine, r.small_fine_wan.get(threshold_key)) {
            (Some(fine), Some(limit)) => Fen::from_wan(*limit).is_ok_and(|l| fine <= l),
            _ => false,
        };
        let short = cats.iter().all(|c| {
            r.not_published_alone.contains(c)
                || (r.short_alone.contains(c) && (c != "罚款" || small_fine))
        });
        let months = if short { r.short_months } else { r.long_months };
        let no_early = cats.iter().find(|c| r.no_early_end.contains(c));
        Window {
            ends: Some(add_months(m.published, months)),
            repairable_from: if no_early.is_some() {
                None
            } else {
                Some(m.published)
            },
            note: match no_early {
                Some(c) => format!("含“{c}”的处罚不得提前停止公示"),
                None => "无最短公示期；履行完毕、消除影响且无同类违法的可申请提前停止公示".into(),
            },
            ..base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PublicityRules {
        PublicityRules::parse(include_str!("../../../data/publicity.toml")).unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn cats(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }
    fn window(decided: &str, c: &[&str], sev: Option<Severity>, domains: &[&str]) -> Window {
        let c = cats(c);
        let dm = cats(domains);
        rules()
            .window(&PenaltyFacts {
                decided: d(decided),
                categories: &c,
                severity: sev,
                domains: &dm,
                market: None,
            })
            .unwrap()
    }

    #[test]
    fn regimes_by_decision_date() {
        let w = window("2023-04-30", &["罚款"], None, &[]);
        assert_eq!(
            (w.regime.as_str(), w.severity),
            ("2019", Severity::Ordinary)
        );
        assert_eq!(w.repairable_from, Some(d("2023-07-31")));
        assert_eq!(w.ends, Some(d("2024-04-30")));
        let w = window("2023-05-01", &["罚款"], None, &[]);
        assert_eq!(w.regime, "order58");
        assert_eq!(w.ends, Some(d("2026-05-01")));
        let w = window("2026-04-01", &["罚款"], None, &[]);
        assert_eq!(w.regime, "2026");
        assert_eq!(w.min_end, Some(d("2026-07-01")));
        assert_eq!(w.repairable_from, Some(d("2026-07-02")));
        assert_eq!(w.ends, Some(d("2027-04-01")));
        assert_eq!(w.rule_version, "2026.1/2026");
    }

    #[test]
    fn serious_and_minor() {
        let w = window("2026-05-31", &["罚款", "吊销许可证件"], None, &[]);
        assert_eq!(w.severity, Severity::Serious);
        assert_eq!(w.repairable_from, Some(d("2027-06-01")));
        assert_eq!(w.ends, Some(d("2029-05-31")));
        let w = window("2026-05-31", &["警告"], None, &[]);
        assert_eq!(w.severity, Severity::Minor);
        assert!(!w.published);
        assert_eq!(w.ends, None);
        // The reported severity wins over the default.
        let w = window("2022-01-10", &["罚款"], Some(Severity::Serious), &[]);
        assert!(w.severity_reported);
        assert_eq!(w.repairable_from, Some(d("2022-07-11")));
        assert_eq!(w.ends, Some(d("2025-01-10")));
    }

    #[test]
    fn order58_work_safety_minimum_is_a_year() {
        let w = window("2024-08-31", &["罚款"], None, &["安全生产"]);
        assert_eq!(w.min_end, Some(d("2025-08-31")));
        assert_eq!(w.repairable_from, Some(d("2025-09-01")));
        assert_eq!(w.ends, Some(d("2027-08-31")));
        // Not under the 2026 rules.
        let w = window("2026-08-31", &["罚款"], None, &["安全生产"]);
        assert_eq!(w.min_end, Some(d("2026-11-30")));
    }

    #[test]
    fn market_regulation_counts_from_publication() {
        let r = rules();
        let run = |c: &[&str], fine_fen: Option<i64>| {
            let c = cats(c);
            r.window(&PenaltyFacts {
                decided: d("2026-05-10"),
                categories: &c,
                severity: None,
                domains: &[],
                market: Some(MarketFacts {
                    published: d("2026-05-20"),
                    fine: fine_fen.map(Fen),
                    natural_person: false,
                }),
            })
            .unwrap()
        };
        assert!(!run(&["警告"], None).published);
        let w = run(&["罚款"], Some(200_000));
        assert_eq!(
            (w.regime.as_str(), w.ends),
            ("samr45", Some(d("2026-08-20")))
        );
        assert_eq!(w.repairable_from, Some(d("2026-05-20")));
        let w = run(&["罚款"], Some(5_000_000));
        assert_eq!(w.ends, Some(d("2029-05-20")));
        let w = run(&["吊销许可证件"], None);
        assert_eq!(w.repairable_from, None);
        assert_eq!(w.ends, Some(d("2029-05-20")));
        // A fine of unknown amount is not known to be small.
        assert_eq!(run(&["罚款"], None).ends, Some(d("2029-05-20")));
        assert_eq!(run(&["通报批评"], None).ends, Some(d("2026-08-20")));
    }

    #[test]
    fn domains_from_keywords() {
        let r = rules();
        let d = r.domains_in(["《中华人民共和国安全生产法》第九十九条", "x"]);
        assert_eq!(d, vec!["安全生产".to_string()]);
        // Regulations under the laws are cited as often as the laws.
        for basis in [
            "《建设工程安全生产管理条例》第六十二条",
            "《安全生产许可证条例》第十九条",
        ] {
            assert_eq!(
                r.domains_in([basis]),
                vec!["安全生产".to_string()],
                "{basis}"
            );
        }
        assert_eq!(
            r.domains_in(["《江苏省消防条例》第七十条"]),
            vec!["消防".to_string()]
        );
    }
}
