//! 双公示 monitoring: per source unit and per county, for a month of decisions, what was produced
//! (the units' self-reports), reported, accepted, linked and on time, the four rates, rankings,
//! the units below the goal, and the warnings a unit sees on its console home.

use chrono::{Datelike, NaiveDate};
use domain::monitoring::Figures;
use rulebook::Rulebook;
use serde::Serialize;
use store::{Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct UnitLine {
    pub unit: String,
    pub division: String,
    pub county: String,
    pub class_code: String,
    pub class_name: String,
    pub figures: Figures,
    pub rejected: i64,
    pub gap_reason: Option<String>,
    pub rank: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountyLine {
    pub division: String,
    pub county: String,
    pub figures: Figures,
    pub units: usize,
    pub rank: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthReport {
    pub month: String,
    pub units: Vec<UnitLine>,
    pub counties: Vec<CountyLine>,
    pub total: Figures,
    pub goal: f64,
    pub rule_version: String,
}

impl MonthReport {
    /// Units below the goal on 上报率, 合规率 or 及时率 (or without a self-report).
    pub fn below(&self) -> Vec<&UnitLine> {
        self.units
            .iter()
            .filter(|u| u.figures.below(self.goal))
            .collect()
    }

    /// How many units fall short on at least one class (a unit short on both licences and
    /// penalties is one unit, two lines of `below`), said as the bulletin heads its list.
    pub fn below_heading(&self) -> String {
        let below = self.below();
        let units: std::collections::BTreeSet<&str> =
            below.iter().map(|u| u.unit.as_str()).collect();
        if units.len() == below.len() {
            format!("未达目标的单位（{}个）", units.len())
        } else {
            format!("未达目标的单位（{}个，{}项）", units.len(), below.len())
        }
    }
}

pub fn county_name(rules: &Rulebook, division: &str) -> String {
    if division == rules.divisions.city {
        return "市级部门".into();
    }
    rules
        .divisions
        .get(division)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| division.to_string())
}

fn lines(rules: &Rulebook, figures: Vec<store::MonthFigures>) -> Vec<UnitLine> {
    figures
        .into_iter()
        .map(|f| {
            let division = rules
                .units
                .find(&f.source_unit)
                .map(|u| u.division.clone())
                .unwrap_or_default();
            UnitLine {
                county: county_name(rules, &division),
                division,
                class_name: rules
                    .catalog
                    .class_by_code(&f.class_code)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| f.class_code.clone()),
                class_code: f.class_code,
                figures: Figures::of_unit(
                    f.produced,
                    f.accepted + f.rejected,
                    f.accepted,
                    f.linked,
                    f.on_time,
                ),
                rejected: f.rejected,
                gap_reason: f.gap_reason,
                unit: f.source_unit,
                rank: 0,
            }
        })
        .collect()
}

/// Ranks of scores in descending order, equal scores sharing a rank (1, 2, 2, 4): a signed
/// bulletin must not set two units with the same figures apart by their names.
fn tied_ranks(scores: impl Iterator<Item = f64>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let mut last: Option<f64> = None;
    for (i, s) in scores.enumerate() {
        let rank = match (last, out.last()) {
            (Some(l), Some(&r)) if (l - s).abs() < 1e-9 => r,
            _ => i + 1,
        };
        out.push(rank);
        last = Some(s);
    }
    out
}

fn report(rules: &Rulebook, month: &str, mut units: Vec<UnitLine>) -> MonthReport {
    let mut counties: Vec<CountyLine> = Vec::new();
    let mut total = Figures::default();
    for u in &units {
        total.add(&u.figures);
        match counties.iter_mut().find(|c| c.division == u.division) {
            Some(c) => c.figures.add(&u.figures),
            None => counties.push(CountyLine {
                division: u.division.clone(),
                county: u.county.clone(),
                figures: u.figures.clone(),
                units: 0,
                rank: 0,
            }),
        }
    }
    // Units, not lines: a unit has a line per monitored class (许可 and 处罚).
    for c in &mut counties {
        c.units = units
            .iter()
            .filter(|u| u.division == c.division)
            .map(|u| u.unit.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    }
    units.sort_by(|a, b| {
        b.figures
            .score()
            .total_cmp(&a.figures.score())
            .then(a.unit.cmp(&b.unit))
            .then(a.class_code.cmp(&b.class_code))
    });
    let ranks = tied_ranks(units.iter().map(|u| u.figures.score()));
    for (u, r) in units.iter_mut().zip(ranks) {
        u.rank = r;
    }
    counties.sort_by(|a, b| {
        b.figures
            .score()
            .total_cmp(&a.figures.score())
            .then(a.division.cmp(&b.division))
    });
    let ranks = tied_ranks(counties.iter().map(|c| c.figures.score()));
    for (c, r) in counties.iter_mut().zip(ranks) {
        c.rank = r;
    }
    MonthReport {
        month: month.to_string(),
        units,
        counties,
        total,
        goal: rules.monitoring.goal,
        rule_version: format!("{}/{}", rules.monitoring.version, rules.digest),
    }
}

/// A line for every unit that may report a monitored class and has none for the month: a unit
/// that neither reported nor filed a self-report is below the goal, not out of the report.
fn with_silent_units(rules: &Rulebook, classes: &[&str], figures: &mut Vec<store::MonthFigures>) {
    for class in classes {
        let Some(c) = rules.catalog.class_by_code(class) else {
            continue;
        };
        for u in rules
            .units
            .units
            .iter()
            .filter(|u| !u.is_feed() && u.may_report(c))
        {
            if !figures
                .iter()
                .any(|f| f.source_unit == u.name && f.class_code == *class)
            {
                figures.push(store::MonthFigures {
                    source_unit: u.name.clone(),
                    class_code: class.to_string(),
                    ..Default::default()
                });
            }
        }
    }
}

/// The month's report from the figures kept at import.
pub fn month_report(
    store: &Store,
    rules: &Rulebook,
    month: &str,
) -> Result<MonthReport, StoreError> {
    let classes: Vec<&str> = rules
        .monitoring
        .classes
        .iter()
        .map(String::as_str)
        .collect();
    let mut figures = store.month_figures(month, &classes)?;
    with_silent_units(rules, &classes, &mut figures);
    Ok(report(rules, month, lines(rules, figures)))
}

/// The same report recounted from the records themselves (for checking the bulletin).
pub fn month_report_recount(
    store: &Store,
    rules: &Rulebook,
    month: &str,
) -> Result<MonthReport, StoreError> {
    let classes: Vec<&str> = rules
        .monitoring
        .classes
        .iter()
        .map(String::as_str)
        .collect();
    let mut figures = store.month_figures_recount(month, &classes)?;
    for s in store.self_reports(Some(month), None)? {
        if !classes.contains(&s.class_code.as_str()) {
            continue;
        }
        match figures
            .iter_mut()
            .find(|f| f.source_unit == s.source_unit && f.class_code == s.class_code)
        {
            Some(f) => {
                f.produced = Some(s.produced);
                f.gap_reason = s.gap_reason;
            }
            None => figures.push(store::MonthFigures {
                source_unit: s.source_unit,
                class_code: s.class_code,
                produced: Some(s.produced),
                gap_reason: s.gap_reason,
                ..Default::default()
            }),
        }
    }
    with_silent_units(rules, &classes, &mut figures);
    figures.sort_by(|a, b| (&a.source_unit, &a.class_code).cmp(&(&b.source_unit, &b.class_code)));
    Ok(report(rules, month, lines(rules, figures)))
}

/// A warning on a console home.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub unit: String,
    pub message: String,
}

fn last_day(month: &str) -> Option<NaiveDate> {
    let (_, next) = store::month_bounds(month).ok()?;
    next.pred_opt()
}

/// The last day to report a month's decisions: the monitored classes' longest time to report,
/// in working days after the month's end (None for a string that is no month).
pub fn report_deadline(rules: &Rulebook, month: &str) -> Option<NaiveDate> {
    let end = last_day(month)?;
    Some(rules.calendar.add_workdays(end, report_days(rules)).date)
}

/// The monitored classes' longest time to report a decision, in working days after it.
fn report_days(rules: &Rulebook) -> u32 {
    rules
        .monitoring
        .classes
        .iter()
        .filter_map(|c| rules.catalog.class_by_code(c)?.report_working_days)
        .max()
        .unwrap_or(7)
}

/// Warnings for one unit (or every unit): declared decisions not all reported near or past the
/// 7-working-day deadline after the month's end, and a rejection rate above the threshold.
pub fn warnings(
    store: &Store,
    rules: &Rulebook,
    unit: Option<&str>,
    today: NaiveDate,
) -> Result<Vec<Warning>, StoreError> {
    let w = &rules.monitoring.warnings;
    let mut out = Vec::new();
    // This month and the two before it: a gap past its deadline stays on the home page until
    // it is filled (or the month is three behind, when the bulletin has long named it).
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let back = |d: NaiveDate| {
        d.pred_opt()
            .and_then(|p| NaiveDate::from_ymd_opt(p.year(), p.month(), 1))
            .unwrap_or(d)
    };
    let prev = back(first);
    let month_of = domain::monitoring::month_key;
    let months = [month_of(back(prev)), month_of(prev), month_of(first)];
    for month in months {
        let (Some(end), Some(deadline)) = (last_day(&month), report_deadline(rules, &month)) else {
            continue;
        };
        let (left, _) = rules.calendar.workdays_between(today, deadline);
        if today <= deadline && left > w.lead_working_days {
            continue;
        }
        // Past the deadline the gap stays on the home page, said to be overdue.
        let when = if today > deadline {
            match rules.calendar.workdays_between(deadline, today).0 {
                0 => format!("报送期限{deadline}，已逾期"),
                late => format!("报送期限{deadline}，已逾期{late}个工作日"),
            }
        } else {
            // The month's last day to report is that of a decision made on its last day: each
            // decision has its own, and those made earlier may be past theirs already.
            format!(
                "月末作出的决定报送期限{deadline}（还剩{left}个工作日）；每件决定须自作出之日起{}个工作日内报送，较早作出的决定可能已逾期",
                report_days(rules)
            )
        };
        for l in month_report(store, rules, &month)?.units {
            if unit.is_some_and(|u| u != l.unit) {
                continue;
            }
            // A unit that has not filed the month's self-report is told so on its own home
            // (the bulletin names it below the goal); the office's home lists the gaps only.
            if unit.is_some() && l.figures.produced.is_none() && today > end {
                out.push(Warning {
                    unit: l.unit.clone(),
                    message: format!(
                        "{}尚未填报{}月{}的月度自报（作出决定数），{when}",
                        l.unit,
                        &month[5..],
                        l.class_name
                    ),
                });
            }
            if let Some(p) = l.figures.produced
                && p > l.figures.accepted
            {
                out.push(Warning {
                    unit: l.unit.clone(),
                    message: {
                        // What is missing: rows never sent, and rows sent but rejected (to be
                        // corrected and sent again), said apart.
                        let f = &l.figures;
                        let unsent = (p - f.reported).max(0);
                        let rejected = (f.reported - f.accepted).max(0).min(p - f.accepted);
                        let mut why = Vec::new();
                        if unsent > 0 {
                            why.push(format!("{unsent}件未报送"));
                        }
                        if rejected > 0 {
                            why.push(format!("{rejected}件已报送但未通过校验，请修正后重报"));
                        }
                        format!(
                            "{}{}月自报作出{}{}件，已入库{}件，尚有{}件未入库（{}），{when}",
                            l.unit,
                            &month[5..],
                            l.class_name,
                            p,
                            f.accepted,
                            p - f.accepted,
                            why.join("，"),
                        )
                    },
                });
            } else if l.figures.reported > l.figures.accepted {
                // Every declared decision is in, or none was declared, yet some sent were
                // refused and not sent again: still to correct (this hid once the unit had
                // reported more than it declared).
                let f = &l.figures;
                out.push(Warning {
                    unit: l.unit.clone(),
                    message: format!(
                        "{}{}月{}尚有{}件已报送但未通过校验，请修正后重报，{when}",
                        l.unit,
                        &month[5..],
                        l.class_name,
                        f.reported - f.accepted
                    ),
                });
            }
            // More reported than declared: the declaration is what 上报率 divides by.
            if let Some(p) = l.figures.produced
                && l.figures.accepted > p
            {
                out.push(Warning {
                    unit: l.unit.clone(),
                    message: format!(
                        "{}{}月{}已入库{}件，多于自报作出的{}件：请核对月度自报数（上报率按自报数计）",
                        l.unit,
                        &month[5..],
                        l.class_name,
                        l.figures.accepted,
                        p
                    ),
                });
            }
        }
    }
    // The window ends today (Beijing); its start as an instant.
    let since = (today - chrono::Duration::days(w.window_days))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc() - chrono::Duration::hours(8))
        .unwrap_or_default();
    for q in store.rejection_rates(since)? {
        if unit.is_some_and(|u| u != q.0) || q.1 == 0 {
            continue;
        }
        let rate = q.2 as f64 / q.1 as f64;
        if rate > w.rejection_rate {
            out.push(Warning {
                unit: q.0.clone(),
                message: format!(
                    "{}近{}天报送{}行，退回{}行，退回率{:.2}%，超过{:.0}%",
                    q.0,
                    w.window_days,
                    q.1,
                    q.2,
                    rate * 100.0,
                    w.rejection_rate * 100.0
                ),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(unit: &str, division: &str, class: &str) -> UnitLine {
        UnitLine {
            unit: unit.into(),
            division: division.into(),
            county: division.into(),
            class_code: class.into(),
            class_name: class.into(),
            figures: Figures::default(),
            rejected: 0,
            gap_reason: None,
            rank: 0,
        }
    }

    /// A unit that declared none made ranks with those that reported all, above one that
    /// declared nothing; equal figures share a rank whatever the units' names.
    #[test]
    fn a_declared_zero_ranks_full_and_ties_share_a_rank() {
        let rules = Rulebook::builtin().unwrap();
        let with = |unit: &str, f: Figures| UnitLine {
            figures: f,
            ..line(unit, "320981", "XK")
        };
        let report = report(
            &rules,
            "2026-11",
            vec![
                with("阜宁县行政审批局", Figures::of_unit(None, 0, 0, 0, 0)),
                with(
                    "东台市住房和城乡建设局",
                    Figures::of_unit(Some(0), 0, 0, 0, 0),
                ),
                with("东台市人民政府", Figures::of_unit(None, 0, 0, 0, 0)),
                with("东台市交通运输局", Figures::of_unit(Some(2), 2, 2, 2, 2)),
            ],
        );
        let rank = |u: &str| report.units.iter().find(|l| l.unit == u).unwrap().rank;
        assert_eq!(rank("东台市住房和城乡建设局"), 1);
        assert_eq!(rank("东台市交通运输局"), 1);
        assert_eq!(rank("东台市人民政府"), 3);
        assert_eq!(rank("阜宁县行政审批局"), 3);
        assert_eq!(tied_ranks([0.9, 0.5, 0.5, 0.1].into_iter()), [1, 2, 2, 4]);
    }

    #[test]
    fn a_county_counts_its_units_not_their_lines() {
        let rules = Rulebook::builtin().unwrap();
        let lines = vec![
            line("东台市市场监督管理局", "320981", "XK"),
            line("东台市市场监督管理局", "320981", "CF"),
            line("东台市生态环境局", "320981", "CF"),
            line("盐城市生态环境局", "320900", "XK"),
            line("盐城市生态环境局", "320900", "CF"),
        ];
        let r = report(&rules, "2026-11", lines);
        let units = |d: &str| r.counties.iter().find(|c| c.division == d).unwrap().units;
        assert_eq!(units("320981"), 2);
        assert_eq!(units("320900"), 1);
    }
}
