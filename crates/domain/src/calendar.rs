//! Working days (工作日) with statutory holidays and make-up working days (调休), per year as data
//! (`data/calendar.toml`), and calendar-month arithmetic for periods (民法典 Arts. 201–203).

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
struct CalendarFile {
    #[serde(rename = "year")]
    years: Vec<YearFile>,
    statutory: Option<StatutoryFile>,
}

/// The holidays fixed by date in the 放假办法 (元旦, 劳动节, 国庆节), counted in a year whose
/// notice is not loaded yet: the notice only adds to them (lunar holidays, 调休).
#[derive(Debug, Clone, Deserialize)]
struct StatutoryFile {
    basis: String,
    /// MM-DD
    fixed: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct YearFile {
    year: i32,
    basis: String,
    holidays: Vec<String>,
    workdays: Vec<String>,
    /// The year's statutory days worked out before its notice is out: days off counted, but
    /// dates computed with it still carry the warning (the notice adds 调休 and may move days).
    #[serde(default)]
    provisional: bool,
}

/// One year's notice: its legal basis, days off and make-up working days.
#[derive(Debug, Clone)]
pub struct YearNotice {
    pub basis: String,
    holidays: HashSet<NaiveDate>,
    workdays: HashSet<NaiveDate>,
    pub provisional: bool,
}

#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearNotice>,
    /// (month, day) of the fixed-date statutory holidays, and their basis.
    fixed: Vec<(u32, u32)>,
    pub fixed_basis: Option<String>,
}

/// A date computed on a calendar, with the years that had no notice loaded (counted on weekends
/// and the statutory days known before the notice alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub date: NaiveDate,
    pub years_without_notice: Vec<i32>,
}

impl Counted {
    pub fn warning(&self) -> Option<String> {
        (!self.years_without_notice.is_empty()).then(|| {
            let years: Vec<String> = self
                .years_without_notice
                .iter()
                .map(i32::to_string)
                .collect();
            format!(
                "警告：{}年的国务院节假日安排通知尚未载入，仅按周末和元旦、劳动节、国庆节等固定日期的法定节日计算（春节、清明节、端午节、中秋节等农历节日和调休均未计入），结果可能不准确",
                years.join("、")
            )
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("calendar year {year}: bad date or range “{value}”")]
    BadDate { year: i32, value: String },
}

fn parse_days(year: i32, items: &[String]) -> Result<HashSet<NaiveDate>, CalendarError> {
    let mut out = HashSet::new();
    let bad = |v: &str| CalendarError::BadDate {
        year,
        value: v.to_string(),
    };
    for item in items {
        let (a, b) = item.split_once("..").unwrap_or((item, item));
        let from = NaiveDate::parse_from_str(a.trim(), "%Y-%m-%d").map_err(|_| bad(item))?;
        let to = NaiveDate::parse_from_str(b.trim(), "%Y-%m-%d").map_err(|_| bad(item))?;
        if to < from || (to - from).num_days() > 40 {
            return Err(bad(item));
        }
        let mut d = from;
        while d <= to {
            out.insert(d);
            d = d.succ_opt().ok_or_else(|| bad(item))?;
        }
    }
    Ok(out)
}

impl WorkCalendar {
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let file: CalendarFile = toml::from_str(text)?;
        let mut years = BTreeMap::new();
        for y in file.years {
            years.insert(
                y.year,
                YearNotice {
                    basis: y.basis,
                    holidays: parse_days(y.year, &y.holidays)?,
                    workdays: parse_days(y.year, &y.workdays)?,
                    provisional: y.provisional,
                },
            );
        }
        let mut fixed = Vec::new();
        let mut fixed_basis = None;
        if let Some(st) = file.statutory {
            for md in &st.fixed {
                // Checked against a leap year, so that any real month and day passes.
                let d =
                    NaiveDate::parse_from_str(&format!("2000-{md}"), "%Y-%m-%d").map_err(|_| {
                        CalendarError::BadDate {
                            year: 0,
                            value: md.clone(),
                        }
                    })?;
                fixed.push((d.month(), d.day()));
            }
            fixed_basis = Some(st.basis);
        }
        Ok(WorkCalendar {
            years,
            fixed,
            fixed_basis,
        })
    }

    /// Whether the year's notice is loaded (a provisional year is not: its 调休 are unknown).
    pub fn has_year(&self, year: i32) -> bool {
        self.years.get(&year).is_some_and(|n| !n.provisional)
    }

    pub fn notice(&self, year: i32) -> Option<&YearNotice> {
        self.years.get(&year)
    }

    /// Whether `d` is a working day; the flag says whether its year's notice was loaded.
    pub fn is_workday(&self, d: NaiveDate) -> (bool, bool) {
        let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
        let fixed = self.fixed.contains(&(d.month(), d.day()));
        match self.years.get(&d.year()) {
            Some(n) if n.provisional => (!weekend && !fixed && !n.holidays.contains(&d), false),
            Some(n) if n.workdays.contains(&d) => (true, true),
            Some(n) if n.holidays.contains(&d) => (false, true),
            Some(_) => (!weekend, true),
            None => (!weekend && !fixed, false),
        }
    }

    /// The N-th working day after `d` (d itself not counted). N = 0 gives `d`.
    pub fn add_workdays(&self, d: NaiveDate, n: u32) -> Counted {
        let mut missing = Vec::new();
        let mut date = d;
        let mut left = n;
        while left > 0 {
            date = date + Days::new(1);
            let (work, known) = self.is_workday(date);
            if !known && !missing.contains(&date.year()) {
                missing.push(date.year());
            }
            if work {
                left -= 1;
            }
        }
        Counted {
            date,
            years_without_notice: missing,
        }
    }

    /// Working days strictly after `from` up to and including `to` (0 when `to <= from`).
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> (u32, Vec<i32>) {
        let mut missing = Vec::new();
        let mut count = 0;
        let mut d = from;
        while d < to {
            d = d + Days::new(1);
            let (work, known) = self.is_workday(d);
            if !known && !missing.contains(&d.year()) {
                missing.push(d.year());
            }
            if work {
                count += 1;
            }
        }
        (count, missing)
    }

    /// A deadline for an act falling on a non-working day moves to the next working day.
    pub fn next_workday_on_or_after(&self, d: NaiveDate) -> NaiveDate {
        let mut date = d;
        while !self.is_workday(date).0 {
            date = date + Days::new(1);
        }
        date
    }
}

/// "N months from D": the day of the month N months later with D's number, or that month's last
/// day when it has no such day. Publicity windows are not moved by holidays.
pub fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    // chrono clamps to the last day of the month, which is the rule.
    d.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn cal() -> WorkCalendar {
        WorkCalendar::parse(include_str!("../../../data/calendar.toml")).unwrap()
    }

    /// Before its notice is out, a year is counted on its statutory days: 2027-01-01 is 元旦, not
    /// a working day, and a date reached through it carries the warning (the notice may add 调休).
    #[test]
    fn a_year_without_its_notice_counts_statutory_days_and_warns() {
        let c = cal();
        assert!(!c.has_year(2027));
        let from_dec_31 = c.add_workdays(d("2026-12-31"), 1);
        assert_eq!(from_dec_31.date, d("2027-01-04"));
        assert!(from_dec_31.warning().is_some());
        // 春节 2027: 除夕 02-05 (Friday) to 初三 02-08 (Monday) off.
        assert_eq!(c.add_workdays(d("2027-02-04"), 1).date, d("2027-02-09"));
        // A year with no table at all: the fixed dates alone (2031-10-01 is a Wednesday).
        assert_eq!(c.add_workdays(d("2031-09-30"), 1).date, d("2031-10-06"));
        assert!(!c.is_workday(d("2031-05-02")).0);
        assert!(c.add_workdays(d("2031-09-30"), 1).warning().is_some());
        // A deadline on New Year's Day moves to the next working day.
        assert_eq!(c.next_workday_on_or_after(d("2027-01-01")), d("2027-01-04"));
    }

    #[test]
    fn national_day_week_with_make_up_days() {
        let c = cal();
        // 2026-09-30 is a Wednesday; 10-01..10-07 off; 10-10 (Saturday) is a make-up working day.
        assert_eq!(c.add_workdays(d("2026-09-30"), 1).date, d("2026-10-08"));
        assert_eq!(c.add_workdays(d("2026-09-30"), 3).date, d("2026-10-10"));
        assert_eq!(c.add_workdays(d("2026-09-30"), 7).date, d("2026-10-15"));
        assert!(c.add_workdays(d("2026-09-30"), 7).warning().is_none());
    }

    #[test]
    fn spring_festival_2026() {
        let c = cal();
        // 2026-02-13 is a Friday; 02-14 (Saturday) is a make-up day; 02-15..02-23 off.
        assert_eq!(c.add_workdays(d("2026-02-13"), 1).date, d("2026-02-14"));
        assert_eq!(c.add_workdays(d("2026-02-13"), 2).date, d("2026-02-24"));
        assert_eq!(c.add_workdays(d("2026-02-13"), 5).date, d("2026-02-27"));
        assert_eq!(c.add_workdays(d("2026-02-13"), 6).date, d("2026-02-28"));
    }

    #[test]
    fn year_without_notice_warns() {
        let c = cal();
        let r = c.add_workdays(d("2027-03-01"), 5);
        assert_eq!(r.date, d("2027-03-08"));
        assert_eq!(r.years_without_notice, vec![2027]);
        assert!(r.warning().unwrap().contains("2027"));
    }

    #[test]
    fn months_clamp_to_month_end() {
        assert_eq!(add_months(d("2026-01-31"), 1), d("2026-02-28"));
        assert_eq!(add_months(d("2024-02-29"), 12), d("2025-02-28"));
        assert_eq!(add_months(d("2026-04-15"), 3), d("2026-07-15"));
        assert_eq!(add_months(d("2025-08-31"), 36), d("2028-08-31"));
    }

    #[test]
    fn workdays_between_counts_after_start() {
        let c = cal();
        assert_eq!(c.workdays_between(d("2026-09-30"), d("2026-10-09")).0, 2);
        assert_eq!(c.workdays_between(d("2026-09-30"), d("2026-09-30")).0, 0);
    }
}
