//! Repair eligibility across the three regimes, the three severities, the one-year minimum of
//! work safety / fire / special equipment, and market-regulation records; deadlines across 调休.
//! The windows come from the shipped publicity rules, the clocks from the shipped workflow rules.

use chrono::NaiveDate;
use domain::calendar::WorkCalendar;
use domain::publicity::{MarketFacts, PenaltyFacts, PublicityRules, Severity};
use domain::workflow::{
    CaseKind, CaseState, ConditionStatus, ExitFacts, RepairFacts, WorkflowRules, eligibility,
};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn publicity() -> PublicityRules {
    PublicityRules::parse(include_str!("../../../data/publicity.toml")).unwrap()
}
fn calendar() -> WorkCalendar {
    WorkCalendar::parse(include_str!("../../../data/calendar.toml")).unwrap()
}
fn workflows() -> WorkflowRules {
    WorkflowRules::parse(include_str!("../../../data/workflows.toml")).unwrap()
}

/// (case, decided, categories, severity, domains, market, day before, first day)
type Row = (
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<Severity>,
    &'static [&'static str],
    bool,
    Option<&'static str>,
);

#[test]
fn minimum_period_by_regime_severity_and_domain() {
    let rules = publicity();
    // The first day a subject may apply (None: no minimum period).
    let table: &[Row] = &[
        (
            "2019 一般",
            "2022-01-10",
            &["罚款"],
            None,
            &[],
            false,
            Some("2022-04-11"),
        ),
        (
            "2019 严重",
            "2022-01-10",
            &["吊销许可证件"],
            None,
            &[],
            false,
            Some("2022-07-11"),
        ),
        ("2019 轻微", "2022-01-10", &["警告"], None, &[], false, None),
        (
            "58号令 一般",
            "2024-08-31",
            &["罚款"],
            None,
            &[],
            false,
            Some("2024-12-01"),
        ),
        (
            "58号令 严重",
            "2024-08-31",
            &["责令停产停业"],
            None,
            &[],
            false,
            Some("2024-12-01"),
        ),
        (
            "58号令 轻微",
            "2024-08-31",
            &["通报批评"],
            None,
            &[],
            false,
            None,
        ),
        (
            "58号令 安全生产",
            "2024-08-31",
            &["罚款"],
            None,
            &["安全生产"],
            false,
            Some("2025-09-01"),
        ),
        (
            "58号令 消防",
            "2024-08-31",
            &["罚款"],
            None,
            &["消防"],
            false,
            Some("2025-09-01"),
        ),
        (
            "58号令 特种设备",
            "2024-08-31",
            &["罚款"],
            None,
            &["特种设备"],
            false,
            Some("2025-09-01"),
        ),
        (
            "2026 一般",
            "2026-04-01",
            &["罚款"],
            None,
            &[],
            false,
            Some("2026-07-02"),
        ),
        (
            "2026 严重",
            "2026-05-31",
            &["罚款", "吊销许可证件"],
            None,
            &[],
            false,
            Some("2027-06-01"),
        ),
        (
            "2026 报送严重",
            "2026-05-31",
            &["罚款"],
            Some(Severity::Serious),
            &[],
            false,
            Some("2027-06-01"),
        ),
        ("2026 轻微", "2026-05-31", &["警告"], None, &[], false, None),
        (
            "市场监管 罚款",
            "2026-05-31",
            &["罚款"],
            None,
            &[],
            true,
            None,
        ),
    ];
    for (name, decided, cats, severity, domains, market, first) in table {
        let cats: Vec<String> = cats.iter().map(|s| s.to_string()).collect();
        let domains: Vec<String> = domains.iter().map(|s| s.to_string()).collect();
        let w = rules
            .window(&PenaltyFacts {
                decided: d(decided),
                categories: &cats,
                severity: *severity,
                domains: &domains,
                market: market.then_some(MarketFacts {
                    published: d(decided),
                    fine: None,
                    natural_person: false,
                }),
            })
            .unwrap();
        let facts = |today: NaiveDate| {
            eligibility(
                &rules,
                &RepairFacts {
                    is_penalty: true,
                    change: "created",
                    regime: Some(&w.regime),
                    severity: Some(w.severity),
                    published: w.published,
                    repairable_from: w.repairable_from,
                    public_ends: w.ends,
                    categories: &cats,
                    commitment_signed: true,
                    performed: Some(true),
                    on_serious_list: false,
                    list_exit: None,
                },
                today,
            )
        };
        match first {
            Some(first) => {
                let first = d(first);
                let before = facts(first.pred_opt().unwrap());
                assert!(!before.may_apply(), "{name}: the day before {first}");
                let missing = before.missing().join("；");
                assert!(
                    missing.contains(&format!("自{first}起方可申请")),
                    "{name}: {missing}"
                );
                let on = facts(first);
                assert!(
                    on.may_apply() && on.may_approve(),
                    "{name}: {:?}",
                    on.missing()
                );
            }
            None => {
                // No minimum: the day of the decision will do.
                let e = facts(d(decided));
                assert!(e.may_approve(), "{name}: {:?}", e.missing());
                // A record that is not published is not said to be on show.
                let state = &e.conditions[0].detail;
                assert_eq!(state.contains("正在公示"), w.published, "{name}: {state}");
            }
        }
    }
}

#[test]
fn what_is_missing_is_said_exactly() {
    let rules = publicity();
    let cats = vec!["罚款".to_string()];
    let base = RepairFacts {
        is_penalty: true,
        change: "created",
        regime: Some("2026"),
        severity: Some(Severity::Ordinary),
        published: true,
        repairable_from: Some(d("2026-07-02")),
        public_ends: Some(d("2027-04-01")),
        categories: &cats,
        commitment_signed: false,
        performed: None,
        on_serious_list: false,
        list_exit: None,
    };
    let e = eligibility(&rules, &base, d("2026-08-01"));
    assert!(!e.may_apply());
    assert_eq!(
        e.missing(),
        vec![
            "信用修复承诺：须签署信用修复型承诺（信用承诺类信息，向社会公开）".to_string(),
            "履行行政处罚：待认定单位确认已履行行政处罚决定（含缴纳罚款）、消除不良影响"
                .to_string(),
        ]
    );
    // Signed, performance still to be confirmed: may apply, may not yet be approved.
    let signed = RepairFacts {
        commitment_signed: true,
        ..base.clone()
    };
    let e = eligibility(&rules, &signed, d("2026-08-01"));
    assert!(e.may_apply() && !e.may_approve());
    let refused = RepairFacts {
        performed: Some(false),
        ..signed.clone()
    };
    assert!(!eligibility(&rules, &refused, d("2026-08-01")).may_apply());
    // Ended or expired records are not repaired.
    for (change, ends, why) in [
        ("repaired", "2027-04-01", "已修复"),
        ("withdrawn", "2027-04-01", "已撤回"),
        ("created", "2026-07-31", "公示期满"),
    ] {
        let f = RepairFacts {
            change,
            public_ends: Some(d(ends)),
            ..signed.clone()
        };
        let e = eligibility(&rules, &f, d("2026-08-01"));
        assert!(!e.may_apply());
        assert!(e.missing()[0].contains(why), "{:?}", e.missing());
    }
    // A record of another class (a licence) is not repaired here.
    let list = RepairFacts {
        is_penalty: false,
        ..signed
    };
    assert!(
        eligibility(&rules, &list, d("2026-08-01")).missing()[0]
            .contains("只有行政处罚信息和可申请提前移出的名单信息")
    );
}

#[test]
fn a_list_entry_in_force_may_be_left_early_once_the_unit_confirms() {
    let rules = publicity();
    let wf = workflows();
    assert!(wf.list_exit.classes.iter().any(|c| c == "YZSX"));
    // The court's list leaves by the court's procedure, not by an application here.
    assert!(!wf.list_exit.classes.iter().any(|c| c == "SXBZXR"));
    let none = Vec::new();
    let entry = RepairFacts {
        is_penalty: false,
        change: "created",
        regime: None,
        severity: None,
        published: true,
        repairable_from: None,
        public_ends: Some(d("2028-03-01")),
        categories: &none,
        commitment_signed: true,
        performed: None,
        on_serious_list: true,
        list_exit: Some(ExitFacts {
            list: "严重失信主体名单",
            confirm: &wf.list_exit.confirm,
            listed_on: Some(d("2026-03-01")),
            minimum: None,
            decided_here: Ok(()),
        }),
    };
    let today = d("2026-08-01");
    // No minimum period of the platform's: the deciding unit confirms its own rule.
    let e = eligibility(&rules, &entry, today);
    assert!(e.may_apply() && !e.may_approve(), "{:?}", e.missing());
    assert_eq!(e.confirm, wf.list_exit.confirm);
    assert!(
        e.missing()[0].contains("待认定单位确认已纠正失信行为"),
        "{:?}",
        e.missing()
    );
    let confirmed = RepairFacts {
        performed: Some(true),
        ..entry.clone()
    };
    assert!(eligibility(&rules, &confirmed, today).may_approve());
    // A rectification deadline set on the entry keeps it in force.
    let rectified = RepairFacts {
        change: "corrected",
        ..confirmed.clone()
    };
    assert!(eligibility(&rules, &rectified, today).may_approve());
    let unsigned = RepairFacts {
        commitment_signed: false,
        ..confirmed.clone()
    };
    assert!(!eligibility(&rules, &unsigned, today).may_apply());
    let refused = RepairFacts {
        performed: Some(false),
        ..confirmed.clone()
    };
    assert!(!eligibility(&rules, &refused, today).may_apply());
    for (change, ends, why) in [
        ("exited", "2028-03-01", "已提前移出"),
        ("revoked", "2028-03-01", "认定已撤销"),
        ("expired", "2026-07-01", "已届满"),
        ("withdrawn", "2028-03-01", "已撤回"),
        ("created", "2026-07-31", "将到期移出"),
    ] {
        let f = RepairFacts {
            change,
            public_ends: Some(d(ends)),
            ..confirmed.clone()
        };
        let e = eligibility(&rules, &f, today);
        assert!(!e.may_apply(), "{change}");
        assert!(e.missing()[0].contains(why), "{change}: {:?}", e.missing());
    }
    // An entry with no end date stays in force.
    let open_end = RepairFacts {
        public_ends: None,
        ..confirmed.clone()
    };
    assert!(eligibility(&rules, &open_end, today).may_approve());
    fn with<'a>(f: &RepairFacts<'a>, x: ExitFacts<'a>) -> RepairFacts<'a> {
        RepairFacts {
            list_exit: Some(x),
            ..f.clone()
        }
    }
    let base = confirmed.list_exit.clone().unwrap();
    // Listed on a day still to come: not yet.
    let e = eligibility(
        &rules,
        &with(
            &confirmed,
            ExitFacts {
                listed_on: Some(d("2026-09-01")),
                ..base.clone()
            },
        ),
        today,
    );
    assert!(
        !e.may_apply() && e.missing()[0].contains("尚未到来"),
        "{:?}",
        e.missing()
    );
    // Decided elsewhere (the province's feed, a court): applied for there, not here.
    let e = eligibility(
        &rules,
        &with(
            &confirmed,
            ExitFacts {
                decided_here: Err("请向认定单位申请".into()),
                ..base.clone()
            },
        ),
        today,
    );
    assert!(!e.may_apply(), "{:?}", e.missing());
    assert!(e.missing().join("；").contains("请向认定单位申请"));
    // The deciding unit's rule sets a least time on the list: counted from the listing day.
    let year = |listed: &str| {
        eligibility(
            &rules,
            &with(
                &confirmed,
                ExitFacts {
                    listed_on: Some(d(listed)),
                    minimum: Some((12, "总局令第44号")),
                    ..base.clone()
                },
            ),
            today,
        )
    };
    // The listing day not counted: a year from 2025-08-01 is complete at the end of 2026-08-01.
    let e = year("2025-08-01");
    assert!(!e.may_apply(), "{:?}", e.missing());
    assert!(
        e.missing()[0].contains("自2026-08-02起方可申请提前移出"),
        "{:?}",
        e.missing()
    );
    assert!(year("2025-07-31").may_approve());
    // Without its listing day the least time cannot be checked: said, not assumed.
    let e = eligibility(
        &rules,
        &with(
            &confirmed,
            ExitFacts {
                listed_on: None,
                minimum: Some((12, "总局令第44号")),
                ..base
            },
        ),
        today,
    );
    assert!(!e.may_apply() && e.missing()[0].contains("没有列入日期"));
    // The shipped rules name market regulation's year.
    assert_eq!(
        wf.list_exit
            .minimum_for(&["行政机关".to_string(), "市场监管".to_string()], &[])
            .map(|m| m.months),
        Some(12)
    );
    // An entry of that list holds to it whoever reported it; another unit's own list does not.
    let other = ["行政机关".to_string()];
    assert_eq!(
        wf.list_exit
            .minimum_for(&other, &["市场监督管理严重违法失信名单"])
            .map(|m| m.months),
        Some(12)
    );
    assert!(
        wf.list_exit
            .minimum_for(&other, &["环境保护领域严重失信主体"])
            .is_none()
    );
}

#[test]
fn market_regulation_records() {
    let rules = publicity();
    let fine = vec!["罚款".to_string()];
    let revoke = vec!["罚款".to_string(), "吊销许可证件".to_string()];
    let f = |cats: &Vec<String>, serious_list: bool| {
        eligibility(
            &rules,
            &RepairFacts {
                is_penalty: true,
                change: "created",
                regime: Some("samr45"),
                severity: Some(Severity::Ordinary),
                published: true,
                repairable_from: None,
                public_ends: Some(d("2029-05-31")),
                categories: cats,
                commitment_signed: true,
                performed: Some(true),
                on_serious_list: serious_list,
                list_exit: None,
            },
            d("2026-06-01"),
        )
    };
    let ok = f(&fine, false);
    assert!(ok.may_approve());
    // Order 45 第十四条 bars an early end while on the 经营异常名录, which the platform does not
    // hold: the deciding unit confirms it with the performance.
    assert!(ok.confirm.contains("经营异常名录"), "{}", ok.confirm);
    assert!(
        ok.conditions
            .iter()
            .any(|c| c.name == "履行行政处罚" && c.detail.contains("未列入经营异常名录"))
    );
    let barred = f(&revoke, false);
    assert!(!barred.may_apply());
    assert!(barred.missing().join("").contains("吊销许可证件"));
    let listed = f(&fine, true);
    assert!(!listed.may_apply());
    assert!(
        listed
            .conditions
            .iter()
            .any(|c| c.name == "严重失信主体名单" && c.status == ConditionStatus::Missing)
    );
}

#[test]
fn deadlines_count_working_days_across_tiaoxiu() {
    let cal = calendar();
    let w = workflows();
    // Wednesday 2026-09-30, before the National Day week (10-01..10-07 off, 10-10 worked).
    let day = d("2026-09-30");
    let due = |k, s, on| w.deadline(&cal, k, s, on).unwrap().due;
    assert_eq!(
        due(CaseKind::Repair, CaseState::Submitted, day),
        d("2026-10-09")
    );
    assert_eq!(
        due(CaseKind::Repair, CaseState::UnderReview, d("2026-10-09")),
        d("2026-10-15")
    );
    assert_eq!(
        due(CaseKind::Repair, CaseState::Approved, d("2026-10-09")),
        d("2026-10-13")
    );
    assert_eq!(
        due(CaseKind::Objection, CaseState::Submitted, day),
        d("2026-10-09")
    );
    assert_eq!(w.answer_due(&cal, day), d("2026-10-27"));
    // Friday 2026-02-13, before the Spring Festival (02-14 worked, 02-15..02-23 off, 02-28 worked).
    let day = d("2026-02-13");
    assert_eq!(
        due(CaseKind::Repair, CaseState::Submitted, day),
        d("2026-02-24")
    );
    assert_eq!(
        due(CaseKind::Objection, CaseState::Forwarded, d("2026-02-24")),
        d("2026-03-09")
    );
    // The subject's turn has no deadline on the platform's side.
    assert!(
        w.deadline(&cal, CaseKind::Repair, CaseState::Returned, day)
            .is_none()
    );
    assert!(
        w.deadline(&cal, CaseKind::Repair, CaseState::Shared, day)
            .is_none()
    );
    // Escalation: on the last working day before the deadline, and after it.
    assert!(!w.escalate(&cal, d("2026-10-09"), d("2026-09-30")));
    assert!(w.escalate(&cal, d("2026-10-09"), d("2026-10-08")));
    assert!(w.escalate(&cal, d("2026-10-09"), d("2026-10-12")));
}
