//! Statistics of repair and objections for the credit office: per unit and month of submission,
//! applications, approvals (or objections upheld), rejections, average and longest handling time
//! in working days (submission to decision on the working-day calendar, less the days the case
//! waited for the subject's material), steps taken late, and items open past their deadline today.
//! A case ended by its record's withdrawal (`ended`) is counted apart: nobody decided it, so it
//! is neither decided nor in the handling days; approved + rejected + cancelled + ended + open
//! add up to the applications.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::calendar::WorkCalendar;
use serde::Serialize;
use store::CaseStatRow;

#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CaseStats {
    /// 申请月份 YYYY-MM.
    pub month: String,
    pub unit: String,
    /// repair 或 objection.
    pub kind: String,
    pub applications: u64,
    // Repairs approved; objections upheld (corrected or withdrawn).
    /// 准予信用修复的件数；异议成立（已更正或撤销记录）的件数。
    pub approved: u64,
    // Repairs rejected; objections maintained.
    /// 不予信用修复的件数；异议不成立（维持原记录）的件数。
    pub rejected: u64,
    pub cancelled: u64,
    // Ended because the source unit withdrew the record while the case was open.
    /// 记录撤回终结：办理中信息提供单位撤回了所涉记录，申请随之终结的件数（不计入已办结和办理工作日）。
    pub ended: u64,
    pub open: u64,
    pub decided: u64,
    // Average working days from submission to decision, over decided cases (two decimals).
    /// 已办结案件从申请到作出决定的平均工作日数（保留两位小数）。
    pub avg_days: String,
    pub max_days: u32,
    // Steps taken after their deadline.
    /// 超过期限办理的环节数。
    pub late_steps: u64,
    // Open items past their deadline today.
    /// 截至今日已超过期限的未办结事项数。
    pub overdue_now: u64,
}

/// Groups the rows by month, unit and kind.
pub fn compute(rows: &[CaseStatRow], cal: &WorkCalendar, today: NaiveDate) -> Vec<CaseStats> {
    let mut groups: BTreeMap<(String, String, String), (CaseStats, u64)> = BTreeMap::new();
    for r in rows {
        let month = r.opened_on.format("%Y-%m").to_string();
        let (s, total_days) = groups
            .entry((month.clone(), r.unit.clone(), r.kind.clone()))
            .or_insert_with(|| {
                (
                    CaseStats {
                        month,
                        unit: r.unit.clone(),
                        kind: r.kind.clone(),
                        ..Default::default()
                    },
                    0,
                )
            });
        s.applications += 1;
        s.late_steps += r.late_steps.max(0) as u64;
        let outcome = r.outcome.as_deref().unwrap_or(r.state.as_str());
        let approved = matches!(
            (r.kind.as_str(), outcome),
            ("repair", "approved") | ("objection", "corrected" | "record_withdrawn")
        );
        let rejected = matches!(
            (r.kind.as_str(), outcome),
            ("repair", "rejected") | ("objection", "maintained")
        );
        if approved {
            s.approved += 1;
        }
        if rejected {
            s.rejected += 1;
        }
        if r.state == "cancelled" {
            s.cancelled += 1;
        }
        if r.state == "ended" {
            // Its decided_on is the withdrawal's day, not a decision of the unit handling it.
            s.ended += 1;
        } else if let Some(d) = r.decided_on {
            s.decided += 1;
            let (all, _) = cal.workdays_between(r.opened_on, d);
            let n = all.saturating_sub(u32::try_from(r.waiting_days).unwrap_or(0));
            *total_days += n as u64;
            s.max_days = s.max_days.max(n);
        } else if r.state != "cancelled" {
            s.open += 1;
            if r.deadline.is_some_and(|d| d < today) {
                s.overdue_now += 1;
            }
        }
    }
    groups
        .into_values()
        .map(|(mut s, total)| {
            if s.decided > 0 {
                let hundredths = (total * 100 * 2 + s.decided) / (2 * s.decided);
                s.avg_days = format!("{}.{:02}", hundredths / 100, hundredths % 100);
            } else {
                s.avg_days = "-".into();
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, outcome: Option<&str>, decided: Option<&str>) -> CaseStatRow {
        CaseStatRow {
            kind: "repair".into(),
            unit: "U".into(),
            state: state.into(),
            outcome: outcome.map(str::to_string),
            opened_on: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
            decided_on: decided.map(|d| d.parse().unwrap()),
            deadline: None,
            late_steps: 0,
            waiting_days: 0,
        }
    }

    #[test]
    fn ended_cases_are_counted_apart_and_the_columns_add_up() {
        let cal = WorkCalendar::default();
        let rows = [
            // Decided in one working day.
            row("approved", Some("approved"), Some("2026-07-02")),
            row("rejected", Some("rejected"), Some("2026-07-02")),
            row("cancelled", None, None),
            row("submitted", None, None),
            // Ended by the withdrawal a month later: not a decision taking 22 working days.
            row("ended", Some("ended"), Some("2026-07-31")),
        ];
        let s = compute(&rows, &cal, NaiveDate::from_ymd_opt(2026, 8, 1).unwrap());
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(
            (
                s.applications,
                s.approved,
                s.rejected,
                s.cancelled,
                s.ended,
                s.open
            ),
            (5, 1, 1, 1, 1, 1)
        );
        assert_eq!(
            s.approved + s.rejected + s.cancelled + s.ended + s.open,
            s.applications
        );
        assert_eq!(s.decided, 2);
        assert_eq!((s.avg_days.as_str(), s.max_days), ("1.00", 1));
    }
}
