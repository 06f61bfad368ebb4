//! 双公示 monitoring end to end: timeliness by the working-day calendar with 调休, the bulletin
//! equal to a recount from the records, warnings, on SQLite and PostgreSQL alike.

use std::io::Cursor;

use calamine::{Reader, Xlsx};
use domain::clock::Clock;
use ingest::{ImportOptions, Importer};
use rulebook::Rulebook;
use store::{Channel, SelfReport, Store};
use testkit::{clock_on, day, stores};
use views::monitoring::{month_report, month_report_recount, warnings};

const UNIT: &str = "盐城市生态环境局";

fn penalty_csv(rules: &Rulebook, rows: &[(&str, &str)]) -> String {
    // (decision no, decision date)
    let unit_code = &rules.units.find(UNIT).expect("unit").uscc;
    let mut s = String::from(
        "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_FRDB,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n",
    );
    for (no, decided) in rows {
        s.push_str(&format!(
            "盐城市恒泰化工有限公司,法人及非法人组织,91320900MA1MB4X50R,张三,{no},超标排放,经查超标排放大气污染物,《中华人民共和国大气污染防治法》第九十九条,罚款,处罚款0.5万元,0.5,{decided},2029-06-01,{UNIT},{unit_code},{UNIT},{unit_code}\n"
        ));
    }
    s
}

fn import_csv(
    store: &Store,
    rules: &Rulebook,
    keys: &crypto::KeyRing,
    clock: &dyn Clock,
    csv: &str,
) -> ingest::ImportSummary {
    Importer {
        store,
        rules,
        keys,
        clock,
    }
    .import_reader(
        Some("p.csv".into()),
        ingest::Format::Csv,
        csv.as_bytes(),
        &ImportOptions {
            unit: UNIT.into(),
            class: "行政处罚".into(),
            actor: "test".into(),
            channel: Channel::File,
        },
        &|_| {},
    )
    .expect("import")
}

#[test]
fn timeliness_counts_holidays_and_make_up_working_days() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    // 2026-09-30 is the last working day before the National Day holiday (10-01 to 10-07);
    // Saturday 10-10 is a make-up working day. Seven working days: 10-08, 10-09, 10-10, 10-12,
    // 10-13, 10-14, 10-15. Counting weekdays alone would give 10-16; ignoring the holiday, 10-12.
    assert_eq!(
        rules.calendar.add_workdays(day("2026-09-30"), 7).date,
        day("2026-10-15")
    );
    for ts in stores() {
        let store = Store::open(&ts.spec).unwrap();
        let on_time = import_csv(
            &store,
            &rules,
            &keys,
            &clock_on("2026-10-15"),
            &penalty_csv(&rules, &[("盐环罚〔2026〕901号", "2026-09-30")]),
        );
        assert_eq!(on_time.accepted, 1, "{:?}", on_time);
        let late = import_csv(
            &store,
            &rules,
            &keys,
            &clock_on("2026-10-16"),
            &penalty_csv(&rules, &[("盐环罚〔2026〕902号", "2026-09-30")]),
        );
        assert_eq!(late.accepted, 1);
        // A bad row with a September decision date counts as reported but not accepted.
        let bad = penalty_csv(&rules, &[("盐环罚〔2026〕903号", "2026-09-29")])
            .replace("91320900MA1MB4X50R", "91320900MA1MB4X50X");
        let r = import_csv(&store, &rules, &keys, &clock_on("2026-10-16"), &bad);
        assert_eq!(r.rejected, 1);

        let report = month_report(&store, &rules, "2026-09").unwrap();
        let line = report
            .units
            .iter()
            .find(|u| u.unit == UNIT && u.class_code == "CF")
            .expect("line");
        assert_eq!(line.figures.reported, 3);
        assert_eq!(line.figures.accepted, 2);
        assert_eq!(
            line.figures.on_time, 1,
            "received 10-15 is on time, 10-16 is late"
        );
        assert_eq!(line.figures.timeliness_rate(), Some(0.5));
        assert!(line.figures.produced.is_none() && line.figures.below(1.0));

        let late_rows = store
            .month_records(UNIT, "CF", "2026-09", "late", 10)
            .unwrap();
        assert_eq!(late_rows.len(), 1);
        assert!(
            late_rows[0].0.payload.contains("902号"),
            "{}",
            late_rows[0].0.payload
        );
        let rejected = store.month_rejections(UNIT, "CF", "2026-09", 10).unwrap();
        assert_eq!(rejected.len(), 1);
        assert!(
            rejected[0]
                .1
                .problems
                .iter()
                .any(|p| p.reason.contains("校验")),
            "{:?}",
            rejected[0].1.problems
        );

        // The month's rollup equals the recount from the versions and rejections.
        let recount = month_report_recount(&store, &rules, "2026-09").unwrap();
        assert_eq!(
            report
                .units
                .iter()
                .map(|u| (&u.unit, &u.class_code, &u.figures, u.rejected))
                .collect::<Vec<_>>(),
            recount
                .units
                .iter()
                .map(|u| (&u.unit, &u.class_code, &u.figures, u.rejected))
                .collect::<Vec<_>>()
        );
        // Nothing counted for October: every unit's line is empty.
        let october = month_report(&store, &rules, "2026-10").unwrap();
        assert!(!october.units.is_empty());
        assert_eq!((october.total.reported, october.total.produced), (0, None));
    }
}

fn cell_text(c: &calamine::Data) -> String {
    match c {
        calamine::Data::Float(f) => format!("{}", *f as i64),
        calamine::Data::Int(i) => i.to_string(),
        other => other.to_string(),
    }
}

#[test]
fn bulletin_equals_a_recount_from_the_records() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let dir = tempfile::tempdir().unwrap();
    let mut o = synth::GenOptions::small(21, day("2026-11-20"));
    o.orgs = 300;
    o.persons = 60;
    o.licences = 600;
    o.penalties = 600;
    o.lists = 10;
    o.commitments = 10;
    o.contracts = 10;
    o.honours = 5;
    o.dirty = 0.05;
    let m = synth::generate(&rules, dir.path(), &o).unwrap();
    let mut files = m.files.clone();
    files.sort_by_key(|f| f.class != "登记注册基本信息");
    for ts in stores() {
        let store = Store::open(&ts.spec).unwrap();
        // Two sending days, so timeliness differs between units and months.
        for (i, f) in files.iter().enumerate() {
            let clock = clock_on(if i % 2 == 0 {
                "2026-11-20"
            } else {
                "2026-06-15"
            });
            Importer {
                store: &store,
                rules: &rules,
                keys: &keys,
                clock: &clock,
            }
            .import_path(
                &dir.path().join(&f.file),
                &ImportOptions {
                    unit: f.unit.clone(),
                    class: f.class.clone(),
                    actor: "test".into(),
                    channel: Channel::File,
                },
                &|_| {},
            )
            .unwrap_or_else(|e| panic!("{}: {e}", f.file));
        }
        // Some units file self-reports for 2026-05, one of them with a gap.
        let may = month_report(&store, &rules, "2026-05").unwrap();
        assert!(
            may.units.len() >= 2,
            "the synthetic city has penalties and licences in 2026-05"
        );
        for (i, u) in may.units.iter().enumerate().take(3) {
            let gap = if i == 0 { 2 } else { 0 };
            store
                .file_self_report(&SelfReport {
                    source_unit: u.unit.clone(),
                    class_code: u.class_code.clone(),
                    month: "2026-05".into(),
                    produced: u.figures.reported + gap,
                    gap_reason: (gap > 0).then(|| "两件涉密决定不予公示".to_string()),
                    filed_by: "test".into(),
                    filed_at: clock_on("2026-06-03").now(),
                })
                .unwrap();
        }
        let mut months_with_data = 0;
        for month in (1..=11).map(|m| format!("2026-{m:02}")) {
            let report = month_report(&store, &rules, &month).unwrap();
            let recount = month_report_recount(&store, &rules, &month).unwrap();
            let key = |r: &views::monitoring::MonthReport| {
                r.units
                    .iter()
                    .map(|u| {
                        (
                            u.unit.clone(),
                            u.class_code.clone(),
                            u.figures.clone(),
                            u.rejected,
                            u.gap_reason.clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(key(&report), key(&recount), "{month}");
            assert_eq!(report.total, recount.total, "{month}");
            // Every unit that may report a monitored class has its line, silent ones too, and
            // a silent unit is below the goal.
            for class in &rules.monitoring.classes {
                let c = rules.catalog.class_by_code(class).unwrap();
                for u in rules
                    .units
                    .units
                    .iter()
                    .filter(|u| !u.is_feed() && u.may_report(c))
                {
                    let line: Vec<_> = report
                        .units
                        .iter()
                        .filter(|l| l.unit == u.name && &l.class_code == class)
                        .collect();
                    assert_eq!(line.len(), 1, "{month} {} {class}", u.name);
                    if line[0].figures.reported == 0 && line[0].figures.produced.is_none() {
                        assert!(report.below().iter().any(|b| b.unit == u.name), "{month}");
                    }
                }
            }
            if report.total.reported == 0 {
                continue;
            }
            months_with_data += 1;
            // The workbook's ranking sheet says what the recount says, line by line.
            let bytes = views::bulletin::workbook(
                &report,
                &format!("{month}通报"),
                "2026-12-01 09:00",
                None,
            )
            .unwrap();
            let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
            let cover = wb.worksheet_range("通报").unwrap();
            assert!(
                cell_text(cover.get((2, 0)).unwrap()).contains("数据截至：2026-12-01 09:00"),
                "{month}"
            );
            let sheet = wb.worksheet_range("单位排名").unwrap();
            // The rate columns (上报率 onwards) are numbers shown as percentages.
            let rate_from = views::bulletin::UNIT_HEADERS
                .iter()
                .position(|h| *h == "上报率")
                .unwrap();
            let rows: Vec<Vec<String>> = sheet
                .rows()
                .skip(1)
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .map(|(i, c)| match c {
                            calamine::Data::Float(f) if i >= rate_from => {
                                format!("{:.2}%", f * 100.0)
                            }
                            other => cell_text(other),
                        })
                        .collect()
                })
                .collect();
            let expected: Vec<Vec<String>> = recount
                .units
                .iter()
                .map(views::bulletin::unit_cells)
                .collect();
            assert_eq!(rows, expected, "{month}");
            // A sheet per county; their lines add up to the ranking.
            let county_lines: usize = report
                .counties
                .iter()
                .map(|c| {
                    wb.worksheet_range(&c.county)
                        .map(|r| r.height() - 1)
                        .unwrap_or(0)
                })
                .sum();
            assert_eq!(county_lines, report.units.len(), "{month}");
        }
        assert!(
            months_with_data >= 6,
            "only {months_with_data} months with data"
        );
        // The unit with a gap is named below the goal with its reason.
        let may = month_report(&store, &rules, "2026-05").unwrap();
        // The bulletin counts units, not unit-and-class lines.
        let units: std::collections::BTreeSet<&str> =
            may.below().iter().map(|u| u.unit.as_str()).collect();
        let heading = may.below_heading();
        assert!(
            heading.starts_with(&format!("未达目标的单位（{}个", units.len())),
            "{heading}"
        );
        if units.len() < may.below().len() {
            assert!(
                heading.contains(&format!("{}项", may.below().len())),
                "{heading}"
            );
        }
        let gap = may
            .below()
            .into_iter()
            .find(|u| u.gap_reason.is_some())
            .expect("unit with a gap");
        assert!(
            views::bulletin::shortfall(gap, may.goal).contains("上报率"),
            "{}",
            views::bulletin::shortfall(gap, may.goal)
        );
    }
}

#[test]
fn warnings_name_units_near_the_deadline_and_with_many_rejections() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let ts = testkit::sqlite();
    let store = Store::open(&ts.spec).unwrap();
    // October's deadline is the 7th working day after 10-31: 11-02 … 11-10.
    let deadline = rules.calendar.add_workdays(day("2026-10-31"), 7).date;
    assert_eq!(deadline, day("2026-11-10"));
    import_csv(
        &store,
        &rules,
        &keys,
        &clock_on("2026-11-05"),
        &penalty_csv(&rules, &[("盐环罚〔2026〕950号", "2026-10-20")]),
    );
    store
        .file_self_report(&SelfReport {
            source_unit: UNIT.into(),
            class_code: "CF".into(),
            month: "2026-10".into(),
            produced: 3,
            gap_reason: Some("两件待送达".into()),
            filed_by: "test".into(),
            filed_at: clock_on("2026-11-05").now(),
        })
        .unwrap();
    // Two working days before the deadline: warned; a week before: not yet.
    let near = warnings(&store, &rules, Some(UNIT), day("2026-11-06")).unwrap();
    assert!(
        near.iter()
            .any(|w| w.message.contains("尚有2件未入库（2件未报送）")
                && w.message.contains("2026-11-10")),
        "{near:?}"
    );
    // The month's last day to report is not every decision's: said so (a decision of the 11th
    // was told it had days left when its own seven had passed).
    assert!(
        near.iter()
            .any(|w| w.message.contains("月末作出的决定报送期限2026-11-10")
                && w.message.contains("自作出之日起7个工作日内报送")),
        "{near:?}"
    );
    // A row sent and rejected (a wrong code) is said apart from the rows never sent.
    let s = import_csv(
        &store,
        &rules,
        &keys,
        &clock_on("2026-11-05"),
        &penalty_csv(&rules, &[("盐环罚〔2026〕951号", "2026-10-21")])
            .replace("91320900MA1MB4X50R", "91320900MA1MB4X50X"),
    );
    assert_eq!(s.rejected, 1, "{s:?}");
    let near = warnings(&store, &rules, Some(UNIT), day("2026-11-06")).unwrap();
    assert!(
        near.iter().any(|w| w
            .message
            .contains("尚有2件未入库（1件未报送，1件已报送但未通过校验，请修正后重报）")),
        "{near:?}"
    );
    let early = warnings(&store, &rules, Some(UNIT), day("2026-11-02")).unwrap();
    assert!(
        !early.iter().any(|w| w.message.contains("未报送")),
        "{early:?}"
    );
    // Past the deadline the gap is still shown, as overdue (11-12 is two working days on).
    let late = warnings(&store, &rules, Some(UNIT), day("2026-11-12")).unwrap();
    assert!(
        late.iter()
            .any(|w| w.message.contains("尚有2件未入库") && w.message.contains("已逾期2个工作日")),
        "{late:?}"
    );
    // Another unit's warning is not this unit's; a unit that filed no self-report for the month
    // is told to, on its own home, and not on the office's.
    let other = warnings(&store, &rules, Some("盐城市应急管理局"), day("2026-11-06")).unwrap();
    assert!(
        other
            .iter()
            .all(|w| w.unit == "盐城市应急管理局" && !w.message.contains("尚有")),
        "{other:?}"
    );
    assert!(
        other
            .iter()
            .any(|w| w.message.contains("尚未填报10月行政处罚的月度自报")),
        "{other:?}"
    );
    let office = warnings(&store, &rules, None, day("2026-11-06")).unwrap();
    assert!(
        !office.iter().any(|w| w.message.contains("尚未填报")),
        "{office:?}"
    );
    // A gap two months back is still shown once past its deadline (December 1st: October's).
    let dec = warnings(&store, &rules, Some(UNIT), day("2026-12-01")).unwrap();
    assert!(
        dec.iter()
            .any(|w| w.message.contains("10月自报") && w.message.contains("已逾期")),
        "{dec:?}"
    );
    // Many rejected rows: the rejection-rate warning (counted from submissions in the last 30 days).
    let bad = penalty_csv(
        &rules,
        &[
            ("盐环罚〔2026〕951号", "2026-10-21"),
            ("盐环罚〔2026〕952号", "2026-10-22"),
        ],
    )
    .replace("91320900MA1MB4X50R", "91320900MA1MB4X50X");
    import_csv(&store, &rules, &keys, &clock_on("2026-11-05"), &bad);
    let w = warnings(&store, &rules, Some(UNIT), day("2026-11-06")).unwrap();
    assert!(w.iter().any(|w| w.message.contains("退回率")), "{w:?}");
    // More accepted than declared: the refused decisions are still told to be corrected, and
    // the declaration is questioned.
    import_csv(
        &store,
        &rules,
        &keys,
        &clock_on("2026-11-05"),
        &penalty_csv(
            &rules,
            &[
                ("盐环罚〔2026〕953号", "2026-10-23"),
                ("盐环罚〔2026〕954号", "2026-10-23"),
                ("盐环罚〔2026〕955号", "2026-10-23"),
            ],
        ),
    );
    let w = warnings(&store, &rules, Some(UNIT), day("2026-11-06")).unwrap();
    assert!(
        w.iter().any(|w| w
            .message
            .contains("尚有2件已报送但未通过校验，请修正后重报")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.message.contains("已入库4件，多于自报作出的3件")),
        "{w:?}"
    );
}

/// A rejected decision counts once however often the bad row is sent, and stops counting once
/// the unit sends it corrected and it is accepted (合规率 can reach 100%); a row whose date
/// cannot be read counts in the month it was received. The rollup equals the recount throughout.
#[test]
fn a_rejected_decision_counts_once_and_not_once_it_is_accepted() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let clock = clock_on("2026-10-16");
    let line = |no: &str, date: &str| -> String {
        penalty_csv(&rules, &[(no, date)])
            .lines()
            .nth(1)
            .unwrap()
            .to_string()
    };
    let header = penalty_csv(&rules, &[]);
    let bad = line("盐环罚〔2026〕912号", "2026-09-29")
        .replace("91320900MA1MB4X50R", "91320900MA1MB4X50X");
    for ts in stores() {
        let store = Store::open(&ts.spec).unwrap();
        let figures = |month: &str| {
            let report = month_report(&store, &rules, month).unwrap();
            let recount = month_report_recount(&store, &rules, month).unwrap();
            let of = |r: &views::monitoring::MonthReport| {
                r.units
                    .iter()
                    .find(|u| u.unit == UNIT && u.class_code == "CF")
                    .map(|u| (u.figures.reported, u.figures.accepted, u.rejected))
            };
            assert_eq!(of(&report), of(&recount), "{}: {month}", ts.name);
            of(&report)
        };
        let first = format!(
            "{header}{}\n{bad}\n",
            line("盐环罚〔2026〕911号", "2026-09-29")
        );
        let s = import_csv(&store, &rules, &keys, &clock, &first);
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}", ts.name);
        assert_eq!(figures("2026-09"), Some((2, 1, 1)), "{}", ts.name);
        // The same bad row again, with a row whose date cannot be read.
        let again = format!(
            "{header}{bad}\n{}\n",
            line("盐环罚〔2026〕913号", "2026-02-30")
        );
        let s = import_csv(&store, &rules, &keys, &clock, &again);
        assert_eq!(s.rejected, 2, "{}", ts.name);
        assert_eq!(figures("2026-09"), Some((2, 1, 1)), "{}", ts.name);
        assert_eq!(figures("2026-10"), Some((1, 0, 1)), "{}", ts.name);
        // Corrected and accepted: the decision is in, nothing of September stays rejected.
        let fixed = format!("{header}{}\n", line("盐环罚〔2026〕912号", "2026-09-29"));
        let s = import_csv(&store, &rules, &keys, &clock, &fixed);
        assert_eq!(s.created, 1, "{}", ts.name);
        let sept = figures("2026-09");
        assert_eq!(sept, Some((2, 2, 0)), "{}", ts.name);
        let report = month_report(&store, &rules, "2026-09").unwrap();
        let unit = report
            .units
            .iter()
            .find(|u| u.unit == UNIT && u.class_code == "CF")
            .unwrap();
        assert_eq!(unit.figures.compliance_rate(), Some(1.0), "{}", ts.name);
        // The old bad row in a later full export: the decision stands, so it is not one more
        // reported and rejected decision, and the drill-down does not list it.
        let s = import_csv(&store, &rules, &keys, &clock, &format!("{header}{bad}\n"));
        assert_eq!(s.rejected, 1, "{}", ts.name);
        assert_eq!(figures("2026-09"), Some((2, 2, 0)), "{}", ts.name);
        // Nor written with its year in other brackets.
        let other = bad.replace("〔2026〕912号", "（2026）912号");
        assert_ne!(other, bad);
        let s = import_csv(&store, &rules, &keys, &clock, &format!("{header}{other}\n"));
        assert_eq!(s.rejected, 1, "{}", ts.name);
        assert_eq!(figures("2026-09"), Some((2, 2, 0)), "{}", ts.name);
        // A bad row and its fix further down the same file: the decision is in.
        let both = format!(
            "{header}{}\n{}\n",
            line("盐环罚〔2026〕914号", "2026-09-27")
                .replace("91320900MA1MB4X50R", "91320900MA1MB4X50X"),
            line("盐环罚〔2026〕914号", "2026-09-27")
        );
        let s = import_csv(&store, &rules, &keys, &clock, &both);
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}", ts.name);
        assert_eq!(figures("2026-09"), Some((3, 3, 0)), "{}", ts.name);
        // The drill-down lists what the figures count, and nothing else.
        assert!(
            store
                .month_rejections(UNIT, "CF", "2026-09", 100)
                .unwrap()
                .is_empty(),
            "{}",
            ts.name
        );
        assert_eq!(
            store
                .month_rejections(UNIT, "CF", "2026-10", 100)
                .unwrap()
                .len(),
            1,
            "{}",
            ts.name
        );
        // A date in the future is refused, and counts in the month received.
        let future = format!("{header}{}\n", line("盐环罚〔2026〕915号", "2062-11-02"));
        let s = import_csv(&store, &rules, &keys, &clock, &future);
        assert_eq!(s.rejected, 1, "{}", ts.name);
        assert_eq!(figures("2026-10"), Some((2, 0, 2)), "{}", ts.name);
        assert_eq!(figures("2062-11"), Some((0, 0, 0)), "{}", ts.name);
        // A row without its document number, sent twice (in two files), is one rejected
        // decision.
        let (r0, a0, j0) = figures("2026-09").unwrap();
        let numberless = format!("{header}{}\n", line("", "2026-09-30"));
        for file in [numberless.clone(), numberless.replace('\n', "\r\n")] {
            let s = import_csv(&store, &rules, &keys, &clock, &file);
            assert_eq!((s.rejected, s.duplicate_of), (1, None), "{}", ts.name);
        }
        assert_eq!(
            figures("2026-09"),
            Some((r0 + 1, a0, j0 + 1)),
            "{}",
            ts.name
        );
    }
}

/// A withdrawn record no longer counts as reported and accepted; reported again, it counts once
/// more — in the rollup and in the recount alike.
#[test]
fn a_withdrawn_record_leaves_the_figures_and_comes_back_when_reported_again() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let clock = clock_on("2026-10-16");
    let two = penalty_csv(
        &rules,
        &[
            ("盐环罚〔2026〕921号", "2026-09-28"),
            ("盐环罚〔2026〕922号", "2026-09-28"),
        ],
    );
    for ts in stores() {
        let store = Store::open(&ts.spec).unwrap();
        let figures = || {
            let report = month_report(&store, &rules, "2026-09").unwrap();
            let recount = month_report_recount(&store, &rules, "2026-09").unwrap();
            let of = |r: &views::monitoring::MonthReport| {
                r.units
                    .iter()
                    .find(|u| u.unit == UNIT && u.class_code == "CF")
                    .map(|u| (u.figures.reported, u.figures.accepted))
            };
            assert_eq!(of(&report), of(&recount), "{}", ts.name);
            of(&report)
        };
        let s = import_csv(&store, &rules, &keys, &clock, &two);
        assert_eq!(s.created, 2, "{}", ts.name);
        assert_eq!(figures(), Some((2, 2)), "{}", ts.name);
        let (_, records) = store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let w = store::Withdrawal {
            unit: UNIT,
            actor: "李四",
            reason: "决定已撤销",
            at: clock.now(),
        };
        store.withdraw_record(&records[0].record_id, &w).unwrap();
        assert_eq!(figures(), Some((1, 1)), "{}", ts.name);
        // The same file again (CRLF, so not taken for the same bytes) — a system re-sending all
        // it holds: the withdrawn one stays withdrawn, and the unit is told.
        let s = import_csv(&store, &rules, &keys, &clock, &two.replace('\n', "\r\n"));
        assert_eq!((s.corrected, s.unchanged), (0, 2), "{}: {s:?}", ts.name);
        assert!(
            s.notices
                .iter()
                .any(|n| n.contains("1条记录此前已撤回") && n.contains("不恢复公示")),
            "{}: {:?}",
            ts.name,
            s.notices
        );
        assert_eq!(figures(), Some((1, 1)), "{}", ts.name);
        assert!(
            store
                .record_head(&records[0].record_id)
                .unwrap()
                .is_some_and(|h| h.change == "withdrawn"),
            "{}",
            ts.name
        );
        // Sent with a correction, it comes back.
        let corrected = penalty_csv(
            &rules,
            &[
                ("盐环罚〔2026〕921号", "2026-09-29"),
                ("盐环罚〔2026〕922号", "2026-09-29"),
            ],
        );
        let s = import_csv(&store, &rules, &keys, &clock, &corrected);
        assert_eq!(s.corrected, 2, "{}: {s:?}", ts.name);
        assert_eq!(figures(), Some((2, 2)), "{}", ts.name);
    }
}

/// A decision date corrected by its unit moves the record to the corrected month, and its
/// timeliness is judged again from the day it was first received: the correction itself is not
/// a late report. The bulletin still equals the recount.
#[test]
fn a_corrected_decision_date_moves_the_record_and_keeps_its_first_receipt() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let store = Store::open(&ts.spec).unwrap();
        let figures = |month: &str| {
            let report = month_report(&store, &rules, month).unwrap();
            let recount = month_report_recount(&store, &rules, month).unwrap();
            let of = |r: &views::monitoring::MonthReport| {
                r.units
                    .iter()
                    .find(|u| u.unit == UNIT && u.class_code == "CF")
                    .map(|u| (u.figures.accepted, u.figures.on_time))
            };
            assert_eq!(of(&report), of(&recount), "{} {month}", ts.name);
            of(&report).unwrap_or_default()
        };
        // Reported on 10-15 with the month mistyped (01 for 10): late for January.
        let s = import_csv(
            &store,
            &rules,
            &keys,
            &clock_on("2026-10-15"),
            &penalty_csv(&rules, &[("盐环罚〔2026〕931号", "2026-01-13")]),
        );
        assert_eq!((s.created, s.on_time), (1, 0), "{}", ts.name);
        assert_eq!(figures("2026-01"), (1, 0), "{}", ts.name);
        assert_eq!(figures("2026-10"), (0, 0), "{}", ts.name);
        // Corrected on 11-20: a decision of 10-13, received on 10-15, within its 7 working days.
        let s = import_csv(
            &store,
            &rules,
            &keys,
            &clock_on("2026-11-20"),
            &penalty_csv(&rules, &[("盐环罚〔2026〕931号", "2026-10-13")]),
        );
        assert_eq!((s.corrected, s.on_time), (1, 1), "{}: {s:?}", ts.name);
        assert_eq!(figures("2026-01"), (0, 0), "{}", ts.name);
        assert_eq!(figures("2026-10"), (1, 1), "{}", ts.name);
        let file = views::credit_file(
            &store,
            &rules,
            "91320900MA1MB4X50R",
            day("2026-11-20"),
            views::Audience::Full,
        )
        .unwrap()
        .unwrap();
        let rec = &file
            .classes
            .iter()
            .find(|c| c.code == "CF")
            .unwrap()
            .records[0];
        assert_eq!(rec.on_time, Some(true), "{}", ts.name);
        // Withdrawn, it leaves October; reported again (as corrected), it comes back there.
        let w = store::Withdrawal {
            unit: UNIT,
            actor: "李四",
            reason: "决定已撤销",
            at: clock_on("2026-11-21").now(),
        };
        store.withdraw_record(&rec.record_id, &w).unwrap();
        assert_eq!(figures("2026-10"), (0, 0), "{}", ts.name);
        let s = import_csv(
            &store,
            &rules,
            &keys,
            &clock_on("2026-11-22"),
            // Reported again with a correction (sent as it was, it would stay withdrawn).
            &penalty_csv(&rules, &[("盐环罚〔2026〕931号", "2026-10-14")]),
        );
        assert_eq!(s.corrected, 1, "{}: {s:?}", ts.name);
        assert_eq!(figures("2026-10"), (1, 1), "{}", ts.name);
        assert_eq!(figures("2026-01"), (0, 0), "{}", ts.name);
    }
}
