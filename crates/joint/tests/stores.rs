//! Joint reward and punishment on both stores: list entry actions as versions, the check index
//! and engine, recorded checks and feedback, exceptions, alerts from record events (made once,
//! claimed once), batch results sealed and read back.

use chrono::Duration;
use crypto::KeyRing;
use domain::clock::Clock;
use domain::lists::ListAction;
use domain::measures::Verdict;
use domain::record::SubjectKind;
use ingest::{Format, ImportOptions, Importer};
use joint::{Checker, ListIndex};
use rulebook::Rulebook;
use store::{Channel, ListChange, Store};
use testkit::{clock_on, day, stores};

fn uscc(n: u16) -> String {
    let org = format!("MA2Y{n:04}");
    let check = domain::ids::org_code_check(org.as_bytes()).unwrap();
    let body = format!("91320900{org}{check}");
    format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()))
}

fn ric(seq: u16) -> String {
    let body = format!("32090219800101{seq:03}");
    format!("{body}{}", domain::ids::ric_check_char(body.as_bytes()))
}

fn import(
    store: &Store,
    rules: &Rulebook,
    keys: &KeyRing,
    clock: &dyn Clock,
    unit: &str,
    class: &str,
    csv: &str,
) -> ingest::ImportSummary {
    Importer {
        store,
        rules,
        keys,
        clock,
    }
    .import_reader(
        Some("t.csv".into()),
        Format::Csv,
        csv.as_bytes(),
        &ImportOptions {
            unit: unit.into(),
            class: class.into(),
            actor: "test".into(),
            channel: Channel::File,
        },
        &|_| {},
    )
    .unwrap()
}

const UNIT: &str = "盐城市生态环境局";

fn yzsx(name: &str, code: &str, no: &str, valid_to: &str) -> String {
    format!(
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
         {name},法人及非法人组织,{code},严重失信主体名单,{no},拒不履行,《有关规定》,{UNIT},2026-01-10,{valid_to}\n"
    )
}

#[test]
fn lists_checks_alerts_and_batches_on_both_stores() {
    let rules = Rulebook::builtin().unwrap();
    let (a, b, gone, p) = (uscc(1), uscc(2), uscc(3), ric(9));
    for ts in stores() {
        let name = ts.name;
        let keys = testkit::keys();
        let clock = clock_on("2026-06-10");
        let store = Store::open(&ts.spec).unwrap();
        let platform = Store::open_platform(&ts.spec).unwrap();
        let dj = format!(
            "DJ_MC,DJ_SHXYM,DJ_ZTLX,DJ_FRDB,DJ_FR_ZJHM,DJ_CLRQ,DJ_DJJG,DJ_DJZT\n\
             甲公司,{a},企业,张三,,2015-05-05,盐城市市场监督管理局,存续\n\
             乙公司,{b},企业,李四,{p},2015-05-05,盐城市市场监督管理局,存续\n"
        );
        assert_eq!(
            import(
                &store,
                &rules,
                &keys,
                &clock,
                "盐城市市场监督管理局",
                "登记注册基本信息",
                &dj
            )
            .accepted,
            2,
            "{name}"
        );
        assert_eq!(
            import(
                &store,
                &rules,
                &keys,
                &clock,
                UNIT,
                "严重失信主体名单",
                &yzsx("甲公司", &a, "信1号", "2029-01-10")
            )
            .accepted,
            1
        );
        // An entry whose validity ends before the check day: moved off by expiry.
        assert_eq!(
            import(
                &store,
                &rules,
                &keys,
                &clock,
                UNIT,
                "严重失信主体名单",
                &yzsx("丙公司", &gone, "信2号", "2026-06-11")
            )
            .accepted,
            1
        );
        let court = format!(
            "SX_XDR_MC,SX_XDR_LB,SX_XDR_ZJLX,SX_XDR_ZJHM,SX_AH,SX_ZXFY,SX_YJWH,SX_YW,SX_LXQK,SX_JTQX,SX_LARQ,SX_FBRQ\n\
             李四,自然人,身份证,{p},（2026）苏0902执1号,盐城市亭湖区人民法院,（2025）苏0902民初1号,给付10万元,全部未履行,拒不履行,2026-01-05,2026-02-01\n"
        );
        assert_eq!(
            import(
                &store,
                &rules,
                &keys,
                &clock,
                "盐城市亭湖区人民法院",
                "司法裁判及执行（失信被执行人）",
                &court
            )
            .accepted,
            1
        );

        let index = ListIndex::build(&store, &platform, &rules).unwrap();
        assert_eq!(index.size(), (3, 3), "{name}");
        let names = |_: &str| -> Option<(String, SubjectKind)> { None };
        let checker = Checker {
            index: &index,
            rules: &rules,
            keys: &keys,
            names: &names,
            unit: None,
        };
        let now = clock.now();
        let today = day("2026-06-10");
        let r = checker.check(&a, "ZFCG", today, now).unwrap();
        assert_eq!(r.verdict, Verdict::Forbid, "{name}");
        let r = checker.check(&b, "ZFCG", today, now).unwrap();
        assert_eq!(
            r.verdict,
            Verdict::Review,
            "{name}: the legal representative is a judgment defaulter"
        );
        assert_eq!(r.entries[0].via, domain::measures::Via::LegalRep);

        // A batch long enough to be split between threads says for every line what a single
        // check says; repeats (a code typed in lower case too) point at the subject's first line.
        let input: Vec<(u64, String)> = (0..20_000u64)
            .map(|i| {
                let code = match i % 8 {
                    0 => a.clone(),
                    1 => b.clone(),
                    2 => format!("BAD{i}"),
                    3 => String::new(),
                    4 => a.to_lowercase(),
                    5 => uscc((i % 500) as u16 + 100),
                    6 => p.clone(),
                    _ => ric((i % 300) as u16 + 100),
                };
                (i + 1, code)
            })
            .collect();
        // A code Excel held as a number is reported for that, not measured as a code.
        let (lost, _) = joint::batch::review(
            &checker,
            &[(1, joint::batch::NUMBER_LOST.to_string())],
            "ZFCG",
            today,
            now,
        )
        .unwrap();
        let note = &lost.line(0).note;
        assert!(
            note.contains("以数值存储") && !note.contains("长度"),
            "{name}: {note}"
        );
        let (review, fig) = joint::batch::review(&checker, &input, "ZFCG", today, now).unwrap();
        assert_eq!(review.len(), input.len(), "{name}");
        assert_eq!(
            (fig.valid + fig.invalid + fig.duplicates) as usize,
            input.len(),
            "{name}"
        );
        let mut first_line: std::collections::HashMap<String, u64> = Default::default();
        let (mut hits, mut invalid, mut incentives, mut checked) = (0, 0, 0, 0);
        for (i, (line, code)) in input.iter().enumerate() {
            let l = review.line(i);
            assert_eq!(l.line, *line, "{name}");
            let (key, verdict) = match checker.check(code, "ZFCG", today, now) {
                Ok(single) => (single.subject.key.clone(), Some(single.verdict)),
                Err(joint::CheckError::NotForKind(..)) => (
                    joint::check::subject_of(code, &rules, &keys, today)
                        .unwrap()
                        .0,
                    None,
                ),
                Err(_) => {
                    invalid += 1;
                    assert_eq!(l.status, "无效", "{name}: line {line}");
                    assert!(l.note.starts_with("代码"), "{name}: {}", l.note);
                    continue;
                }
            };
            assert_eq!(l.verdict, verdict, "{name}: line {line}");
            match first_line.get(&key) {
                None => {
                    first_line.insert(key, *line);
                    assert_eq!(l.status, "有效", "{name}: line {line}");
                    hits += i64::from(
                        verdict.is_some_and(|v| !matches!(v, Verdict::Clear | Verdict::Incentive)),
                    );
                    incentives += i64::from(verdict == Some(Verdict::Incentive));
                    checked += i64::from(verdict.is_some());
                }
                Some(f) => {
                    assert_eq!(l.status, "重复", "{name}: line {line}");
                    assert!(l.note.contains(&format!("第{f}行")), "{name}: {}", l.note);
                }
            }
        }
        assert_eq!(
            (fig.invalid, fig.hits, fig.incentives, fig.checked),
            (invalid, hits, incentives, checked),
            "{name}"
        );
        assert_eq!(fig.valid as usize, first_line.len(), "{name}");
        // Its CSV and the XLSX made from it carry every line.
        let csv = joint::batch::to_csv(&review).unwrap();
        let xlsx = joint::batch::csv_to_xlsx(&csv, "批量审查结果").unwrap();
        let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
        use calamine::Reader;
        let sheet = wb.worksheet_range("审查结果").unwrap();
        assert_eq!(sheet.height(), 2 + input.len(), "{name}");
        let mut rdr = csv::Reader::from_reader(&csv[3..]);
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.unwrap();
            let l = review.line(i);
            assert_eq!(&rec[0], l.line.to_string(), "{name}");
            assert_eq!(&rec[3], l.status, "{name}");
            for (c, want) in rec.iter().enumerate() {
                let got = sheet
                    .get_value((i as u32 + 2, c as u32))
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                assert_eq!(got, want, "{name}: row {i} col {c}");
            }
        }

        // Checks recorded in one transaction, numbered in order; one feedback each.
        // Three hits, one incentive-only check, one clear one.
        let mut rows: Vec<store::CheckRow> = (0..5)
            .map(|_| r.record("officer", Some(UNIT), "query", None))
            .collect();
        assert!(["forbid", "restrict", "review", "supervise"].contains(&rows[0].verdict.as_str()));
        rows[3].verdict = "incentive".into();
        rows[4].verdict = "clear".into();
        let ids = platform.record_checks(&rows).unwrap();
        assert!(ids.windows(2).all(|w| w[1] > w[0]), "{name}: {ids:?}");
        let fb = store::Feedback {
            check_id: ids[0],
            outcome: "applied".into(),
            measures: vec!["CJ-FR-01".into()],
            reason: None,
            actor: "officer".into(),
            unit: Some(UNIT.into()),
            at: now,
        };
        assert!(platform.give_feedback(&fb, None).unwrap().1);
        // The same feedback again (a retry after a timeout) gives back what was stored; other
        // feedback is refused, saying what was recorded.
        let later = store::Feedback {
            at: now + Duration::minutes(5),
            ..fb.clone()
        };
        let (kept, fresh) = platform.give_feedback(&later, None).unwrap();
        assert!(!fresh, "{name}");
        assert_eq!(kept.at, fb.at, "{name}: the first one stays");
        let other = platform.give_feedback(
            &store::Feedback {
                outcome: "not_applicable".into(),
                measures: vec![],
                reason: Some("同名不同主体".into()),
                ..later.clone()
            },
            None,
        );
        match other {
            Err(store::StoreError::Refused(m)) => {
                assert!(
                    m.contains("已采取措施") && m.contains("CJ-FR-01"),
                    "{name}: {m}"
                )
            }
            other => panic!("{name}: {other:?}"),
        }
        // Feedback on the clear check counts as feedback, not toward the rate's numerator.
        platform
            .give_feedback(
                &store::Feedback {
                    check_id: ids[4],
                    outcome: "not_applicable".into(),
                    measures: vec![],
                    reason: Some("未发现适用措施".into()),
                    ..fb.clone()
                },
                None,
            )
            .unwrap();
        let stats = platform.check_stats(now - Duration::days(1)).unwrap();
        assert_eq!(
            (
                stats[0].checks,
                stats[0].hits,
                stats[0].incentives,
                stats[0].feedback,
                stats[0].feedback_due,
                stats[0].applied
            ),
            (5, 3, 1, 2, 1, 1),
            "{name}"
        );

        // Subscriptions, then events: an alert once per unit and event, however often detected.
        platform
            .subscribe(
                UNIT,
                &[
                    (a.clone(), "甲公司".into()),
                    (gone.clone(), "丙公司".into()),
                ],
                None,
                "officer",
                now - Duration::days(1),
                None,
            )
            .unwrap();
        let later = clock_on("2026-06-12");
        let ch = ListChange {
            named_unit: None,
            unit: None,
            actor: "system:expiry",
            reason: "",
            at: later.now(),
            today: day("2026-06-12"),
            rewarding: &[],
        };
        let mut told = Vec::new();
        let n = store
            .expire_due(&index.lists(), &ch, &mut |id| told.push(id))
            .unwrap();
        assert_eq!((n, told.len()), (1, 1), "{name}");
        store
            .list_action(
                &r.entries[0].record_id,
                &index.lists(),
                &ListAction::Rectify {
                    deadline: day("2026-09-01"),
                },
                &ListChange {
                    named_unit: None,
                    unit: Some("盐城市应急管理局"),
                    actor: "x",
                    reason: "x",
                    at: later.now(),
                    today: day("2026-06-12"),
                    rewarding: &[],
                },
            )
            .expect_err("only the deciding unit acts on its entry");
        let a_entry = index.entries(&a)[0].record_id.clone();
        store
            .list_action(
                &a_entry,
                &index.lists(),
                &ListAction::Exit,
                &ListChange {
                    named_unit: None,
                    unit: Some(UNIT),
                    actor: "李科长",
                    reason: "整改到位",
                    at: later.now(),
                    today: day("2026-06-12"),
                    rewarding: &[],
                },
            )
            .unwrap();
        // Only the events read are marked: one that was not (an import's, committed late with
        // a smaller number on PostgreSQL) stays pending.
        let pending = store.pending_events(100).unwrap();
        assert!(pending.len() >= 2, "{name}: {}", pending.len());
        let skipped = pending[0].seq;
        let read: Vec<i64> = pending[1..].iter().map(|e| e.seq).collect();
        store.mark_events_processed(&read).unwrap();
        let left = store.pending_events(100).unwrap();
        assert_eq!(
            left.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![skipped],
            "{name}"
        );
        // Put the rest back for detection.
        store
            .write(|c| {
                c.execute(
                    "UPDATE record_events SET processed = $1",
                    &[store::Val::Bool(false)],
                )
            })
            .unwrap();
        let made = joint::alerts::detect(&store, &platform, &rules, later.now()).unwrap();
        // 甲公司 listed (after subscribing) and exited; 丙公司 listed and expired.
        assert_eq!(made, 4, "{name}");
        assert_eq!(
            joint::alerts::detect(&store, &platform, &rules, later.now()).unwrap(),
            0,
            "{name}"
        );
        let alerts = platform.alerts(Some(UNIT), false, 10).unwrap();
        let mut events: Vec<&str> = alerts.iter().map(|x| x.event.as_str()).collect();
        events.sort();
        assert_eq!(events, ["exited", "exited", "listed", "listed"], "{name}");
        assert!(
            alerts.iter().all(|x| x.delivery == "console"),
            "{name}: no webhook, console only"
        );
        index.refresh(&store, &platform, &rules).unwrap();
        assert_eq!(
            checker
                .check(&a, "ZFCG", day("2026-06-12"), later.now())
                .unwrap()
                .verdict,
            Verdict::Clear,
            "{name}"
        );

        // Claiming due alerts: a second claim within the lease gets nothing.
        platform
            .set_webhook(
                UNIT,
                "http://127.0.0.1:9/none",
                &keys.encrypt(b"s").unwrap(),
                "admin",
                later.now(),
                None,
            )
            .unwrap();
        platform
            .insert_alerts(
                &[store::NewAlert {
                    event_seq: 999_999,
                    unit: UNIT.into(),
                    subject_key: a.clone(),
                    subject_label: "甲公司".into(),
                    event: "listed".into(),
                    record_id: a_entry.clone(),
                    class_code: "YZSX".into(),
                    detail: "d".into(),
                    delivery: "pending".into(),
                }],
                later.now(),
            )
            .unwrap();
        let claimed = platform
            .claim_due_alerts(later.now(), later.now() + Duration::minutes(5), 10, 5)
            .unwrap();
        assert_eq!(claimed.len(), 1, "{name}");
        assert!(
            platform
                .claim_due_alerts(later.now(), later.now() + Duration::minutes(5), 10, 5)
                .unwrap()
                .is_empty(),
            "{name}"
        );
        // An answer to an alert sent again is taken as given; another answer is refused.
        let id = claimed[0].alert_id;
        let answer = |outcome: &str, reason: Option<&str>| {
            platform.alert_feedback(id, outcome, reason, "officer", later.now(), None)
        };
        assert!(answer("applied", Some("已暂停投标资格")).unwrap(), "{name}");
        assert!(
            !answer("applied", Some("已暂停投标资格")).unwrap(),
            "{name}"
        );
        match answer("noted", None) {
            Err(store::StoreError::Refused(m)) => {
                assert!(
                    m.contains("已采取措施") && m.contains("已暂停投标资格"),
                    "{name}: {m}"
                )
            }
            other => panic!("{name}: {other:?}"),
        }
        // A unit with a backlog fills no claim alone: at most `per_unit` of each unit's, the
        // other unit's alert beside them; those not sent are given back, due, attempts unchanged.
        let backlog: Vec<store::NewAlert> = (0..4)
            .map(|i| store::NewAlert {
                event_seq: 999_000 + i,
                unit: if i < 3 {
                    UNIT.into()
                } else {
                    "另一单位".into()
                },
                subject_key: a.clone(),
                subject_label: "甲公司".into(),
                event: "listed".into(),
                record_id: a_entry.clone(),
                class_code: "YZSX".into(),
                detail: "d".into(),
                delivery: "pending".into(),
            })
            .collect();
        platform.insert_alerts(&backlog, later.now()).unwrap();
        let lease = later.now() + Duration::minutes(5);
        let claimed = platform
            .claim_due_alerts(later.now(), lease, 10, 2)
            .unwrap();
        let units: Vec<&str> = claimed.iter().map(|a| a.unit.as_str()).collect();
        assert_eq!(units, [UNIT, UNIT, "另一单位"], "{name}");
        platform
            .release_alerts(&[claimed[0].alert_id], later.now())
            .unwrap();
        let again = platform
            .claim_due_alerts(later.now(), lease, 10, 2)
            .unwrap();
        assert_eq!(
            again
                .iter()
                .map(|a| (a.alert_id, a.attempts))
                .collect::<Vec<_>>(),
            [(claimed[0].alert_id, 0), (claimed[1].alert_id + 1, 0)],
            "{name}"
        );

        // A batch's sealed result reads back as written.
        let mut row = store::BatchRow {
            created_at: now,
            actor: "officer".into(),
            matter: "ZFCG".into(),
            rule_version: "v".into(),
            ..Default::default()
        };
        let data = "行号,代码\n1,x\n".repeat(10_000).into_bytes();
        let sealed = joint::batch::seal(&keys, &data).unwrap();
        platform
            .store_batch(
                &mut row,
                &[("csv", sealed)],
                |id| Some((format!("batch {id}"), b"sig".to_vec())),
                None,
            )
            .unwrap();
        assert_eq!(
            row.signed_message.as_deref(),
            Some(format!("batch {}", row.batch_id).as_str())
        );
        let back = joint::batch::unseal(&keys, &platform.batch_file(row.batch_id, "csv").unwrap())
            .unwrap();
        assert_eq!(back, data, "{name}");
        assert_eq!(
            platform
                .batch(row.batch_id)
                .unwrap()
                .unwrap()
                .signature
                .as_deref(),
            Some(hex::encode(b"sig").as_str())
        );
        // The batch counts in the statistics beside the single checks of its unit and matter:
        // the codes it checked (not the valid ones the matter does not apply to), its hits
        // (incentives apart).
        let mut counted = row.clone();
        counted.unit = Some(UNIT.into());
        counted.valid = 40;
        counted.checked = 36;
        counted.hits = 7;
        counted.incentives = 2;
        platform
            .store_batch(&mut counted, &[], |_| None, None)
            .unwrap();
        let back = platform.batch(counted.batch_id).unwrap().unwrap();
        assert_eq!((back.checked, back.incentives), (36, 2), "{name}");
        let stats = platform.check_stats(now - Duration::days(1)).unwrap();
        let zfcg = stats
            .iter()
            .find(|s| s.unit == UNIT && s.matter == "ZFCG")
            .expect("a line for the batch");
        assert_eq!(
            (zfcg.batch_checked, zfcg.batch_hits, zfcg.batch_incentives),
            (36, 7, 2),
            "{name}"
        );
    }
}

/// A submission that commits after the index has read a later-stamped change (a long import,
/// or one from another process) is still read at the next refresh, not at the hourly rebuild.
#[test]
fn a_submission_committed_late_reaches_the_index() {
    let rules = Rulebook::builtin().unwrap();
    let (early, later) = (uscc(41), uscc(42));
    for ts in stores() {
        let name = ts.name;
        let keys = testkit::keys();
        let clock = clock_on("2026-06-10");
        let store = Store::open(&ts.spec).unwrap();
        let platform = Store::open_platform(&ts.spec).unwrap();
        let index = joint::ListIndex::build(&store, &platform, &rules).unwrap();
        let started = clock.now();
        let list = |who: &str, code: &str, no: &str| {
            let s = import(
                &store,
                &rules,
                &keys,
                &clock,
                UNIT,
                "严重失信主体名单",
                &yzsx(who, code, no, "2029-01-10"),
            );
            assert_eq!(s.accepted, 1, "{name}");
            s
        };
        // A later-stamped entry commits first and is read.
        clock.set(started + Duration::minutes(5));
        list("乙公司", &later, "信41号");
        index.refresh(&store, &platform, &rules).unwrap();
        assert_eq!(index.entries(&later).len(), 1, "{name}");
        // An import stamped when it began, five minutes earlier, commits now.
        clock.set(started);
        let s = list("甲公司", &early, "信42号");
        assert_eq!(
            index.refresh(&store, &platform, &rules).unwrap(),
            1,
            "{name}"
        );
        let got = index.entries(&early);
        assert_eq!(got.len(), 1, "{name}: the late submission's entry");
        assert_eq!(got[0].decision_no, "信42号", "{name}");
        // Read once: the next refresh finds nothing new.
        assert_eq!(
            index.refresh(&store, &platform, &rules).unwrap(),
            0,
            "{name}"
        );
        // Its withdrawal, stamped when it began and committed after later changes were read,
        // ends the entry at the next refresh too.
        let sid = s.submission_id.unwrap();
        let w = store::Withdrawal {
            unit: UNIT,
            actor: "test",
            reason: "错报",
            at: started,
        };
        assert_eq!(
            store.withdraw_submission(sid, &w).unwrap().withdrawn,
            1,
            "{name}"
        );
        index.refresh(&store, &platform, &rules).unwrap();
        assert!(index.entries(&early).is_empty(), "{name}: withdrawn");
        assert_eq!(index.entries(&later).len(), 1, "{name}");
    }
}

/// A single list action (an early exit) stamped before a change the index has already read,
/// and committed after it (it waited for the store's writer), reaches the index at the next
/// refresh, not at the hourly rebuild.
#[test]
fn a_list_action_committed_late_reaches_the_index() {
    let rules = Rulebook::builtin().unwrap();
    let (first, other) = (uscc(43), uscc(44));
    for ts in stores() {
        let name = ts.name;
        let keys = testkit::keys();
        // The index reads back by the wall clock: stamps near it, as in service.
        let now = chrono::Utc::now();
        let clock = clock_on("2026-06-10");
        clock.set(now - Duration::seconds(60));
        let store = Store::open(&ts.spec).unwrap();
        let platform = Store::open_platform(&ts.spec).unwrap();
        let list = |who: &str, code: &str, no: &str| {
            let s = import(
                &store,
                &rules,
                &keys,
                &clock,
                UNIT,
                "严重失信主体名单",
                &yzsx(who, code, no, "2029-01-10"),
            );
            assert_eq!(s.accepted, 1, "{name}");
        };
        list("甲公司", &first, "信43号");
        let index = joint::ListIndex::build(&store, &platform, &rules).unwrap();
        let entry = index.entries(&first)[0].record_id.clone();
        // A later-stamped change commits first and is read.
        clock.set(now - Duration::seconds(10));
        list("乙公司", &other, "信44号");
        index.refresh(&store, &platform, &rules).unwrap();
        assert_eq!(index.entries(&other).len(), 1, "{name}");
        // The exit, stamped twenty seconds before that change, commits now.
        store
            .list_action(
                &entry,
                &index.lists(),
                &ListAction::Exit,
                &ListChange {
                    named_unit: None,
                    unit: Some(UNIT),
                    actor: "李科长",
                    reason: "整改到位",
                    at: now - Duration::seconds(30),
                    today: now.date_naive(),
                    rewarding: &[],
                },
            )
            .unwrap();
        index.refresh(&store, &platform, &rules).unwrap();
        assert!(
            index.entries(&first).is_empty(),
            "{name}: the late exit ends the entry"
        );
        assert_eq!(index.entries(&other).len(), 1, "{name}");
        // An objection's label changes the head alone (no version), stamped before the newest
        // change read: read back too.
        clock.set(now - Duration::seconds(5));
        list("丙公司", &uscc(45), "信45号");
        index.refresh(&store, &platform, &rules).unwrap();
        store
            .write(|c| {
                c.execute(
                    "UPDATE records SET under_objection = $1, updated_at = $2 WHERE subject_key = $3",
                    &[
                        store::Val::Bool(true),
                        (now - Duration::seconds(7)).into(),
                        other.as_str().into(),
                    ],
                )
            })
            .unwrap();
        index.refresh(&store, &platform, &rules).unwrap();
        assert!(
            index.entries(&other)[0].under_objection,
            "{name}: the late label reaches the index"
        );
    }
}

/// A mistyped ID number (17 digits, the old 15, one digit too many) is refused and shown masked:
/// the result file of a batch keeps what it shows.
#[test]
fn mistyped_id_numbers_are_shown_masked() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    for code in [
        "32092519941005852",
        "320925941005852",
        "3209251994100585231",
        "3209251994100585",
    ] {
        let e = joint::check::subject_of(code, &rules, &keys, today).unwrap_err();
        let joint::check::CheckError::BadCode(shown, _) = &e else {
            panic!("{code}: {e}");
        };
        assert!(shown.contains('*'), "{code}: {shown}");
        assert!(!e.to_string().contains(&code[2..14]), "{code}: {e}");
    }
}

/// Codes that are not codes, including ones whose 17th byte falls inside a Chinese or
/// accented character, are refused with a reason instead of crashing the check.
#[test]
fn malformed_codes_are_refused_with_a_reason() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    for code in [
        "úQoilé\u{c3}'°\u{9c}4¯",
        "1234567890123456中",
        "1234567890123456é",
        "中国91320900MA1",
        "",
        "9132090",
    ] {
        match joint::check::subject_of(code, &rules, &keys, today) {
            Err(e) => assert!(e.to_string().contains("不是有效的"), "{code}: {e}"),
            Ok(_) => panic!("{code:?} was accepted"),
        }
    }
}

/// A resident ID that also passes the USCC's checks (as a suspect code — about one Jiangsu ID in
/// 31 does) is a person: checked against persons' matters, shown masked.
#[test]
fn an_id_number_that_also_passes_as_a_uscc_is_a_person() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let both = (0..2000u32)
        .map(|seq| {
            let body = format!("32090219800101{:03}", seq % 1000);
            let body = if seq >= 1000 {
                body.replace("19800101", "19910315")
            } else {
                body
            };
            format!("{body}{}", domain::ids::ric_check_char(body.as_bytes()))
        })
        .find(|id| domain::ids::Uscc::parse(id, &rules.ids).is_ok())
        .expect("an ID number that passes as a USCC");
    let (key, shown, kind) = joint::check::subject_of(&both, &rules, &keys, today).unwrap();
    assert_eq!(kind, domain::record::SubjectKind::NaturalPerson, "{both}");
    assert!(key.starts_with('P') && shown.contains('*'), "{key} {shown}");
}

const CF_HEADER: &str = "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_FRDB,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_NR_ZKDX,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM";

/// A penalty row of 盐城市生态环境局: `categories` as 处罚类别 (`;` between them), the fine in
/// 万元 (empty: none).
fn cf_row(
    rules: &Rulebook,
    name: &str,
    code: &str,
    no: &str,
    categories: &str,
    fine_wan: &str,
    date: &str,
) -> String {
    let uc = &rules.units.find(UNIT).unwrap().uscc;
    format!(
        "{name},法人及非法人组织,{code},张三,{no},超标排放,经查超标排放大气污染物,《中华人民共和国大气污染防治法》第九十九条,{categories},依法处罚,{fine_wan},排污许可证 盐环许〔2020〕1号,{date},2029-12-31,{UNIT},{uc},{UNIT},{uc}\n"
    )
}

/// 政府采购: a supplier's own 重大违法记录 (责令停产停业, 吊销许可证件, or a fine of 200万元 or
/// more) within three years of the check forbids it (CJ-ZFCG-02), shown with its 文书号, decision
/// date, 处罚类别 and fine; older, smaller, withdrawn or excepted penalties do not, nor does the
/// penalty weigh in a matter without such a measure.
#[test]
fn serious_penalties_forbid_government_procurement_on_both_stores() {
    let rules = Rulebook::builtin().unwrap();
    let (stop2, stop3, stop3x, big, small, gone, repaired) = (
        uscc(41),
        uscc(42),
        uscc(43),
        uscc(44),
        uscc(45),
        uscc(46),
        uscc(47),
    );
    let csv = [
        CF_HEADER.to_string() + "\n",
        cf_row(
            &rules,
            "停产甲公司",
            &stop2,
            "盐环罚〔2024〕1号",
            "罚款;责令停产停业",
            "5",
            "2024-06-10",
        ),
        cf_row(
            &rules,
            "停产乙公司",
            &stop3,
            "盐环罚〔2023〕2号",
            "责令停产停业",
            "",
            "2023-06-10",
        ),
        cf_row(
            &rules,
            "停产丙公司",
            &stop3x,
            "盐环罚〔2023〕3号",
            "责令停产停业",
            "",
            "2023-06-09",
        ),
        cf_row(
            &rules,
            "罚款丁公司",
            &big,
            "盐环罚〔2025〕4号",
            "罚款",
            "200",
            "2025-03-01",
        ),
        cf_row(
            &rules,
            "罚款戊公司",
            &small,
            "盐环罚〔2025〕5号",
            "罚款",
            "199.999999",
            "2025-03-01",
        ),
        cf_row(
            &rules,
            "撤回己公司",
            &gone,
            "盐环罚〔2025〕6号",
            "吊销许可证件",
            "",
            "2025-03-01",
        ),
        cf_row(
            &rules,
            "修复庚公司",
            &repaired,
            "盐环罚〔2025〕7号",
            "责令停产停业",
            "",
            "2025-03-01",
        ),
    ]
    .concat();
    for ts in stores() {
        let name = ts.name;
        let keys = testkit::keys();
        let clock = clock_on("2026-06-10");
        let store = Store::open(&ts.spec).unwrap();
        let platform = Store::open_platform(&ts.spec).unwrap();
        let s = import(&store, &rules, &keys, &clock, UNIT, "行政处罚", &csv);
        assert_eq!(s.accepted, 7, "{name}: {s:?}");
        // The newest penalty one no measure is triggered by: the build passes over it, and its
        // cursor past it, so that the next refresh reads nothing again.
        clock.set(clock.now() + Duration::seconds(1));
        let warning = [
            CF_HEADER.to_string() + "\n",
            cf_row(
                &rules,
                "警告辛公司",
                &uscc(48),
                "盐环罚〔2026〕8号",
                "警告",
                "",
                "2026-05-01",
            ),
        ]
        .concat();
        assert_eq!(
            import(&store, &rules, &keys, &clock, UNIT, "行政处罚", &warning).accepted,
            1,
            "{name}"
        );
        let index = ListIndex::build(&store, &platform, &rules).unwrap();
        assert_eq!(
            index.refresh(&store, &platform, &rules).unwrap(),
            0,
            "{name}"
        );
        let names = |_: &str| -> Option<(String, SubjectKind)> { None };
        let checker = Checker {
            index: &index,
            rules: &rules,
            keys: &keys,
            names: &names,
            unit: None,
        };
        let (today, now) = (day("2026-06-10"), clock.now());
        let verdict = |code: &str, matter: &str| checker.check(code, matter, today, now).unwrap();

        let r = verdict(&stop2, "ZFCG");
        assert_eq!(r.verdict, Verdict::Forbid, "{name}");
        assert_eq!(r.measures.len(), 1, "{name}");
        assert_eq!(r.measures[0].id, "CJ-ZFCG-02", "{name}");
        assert_eq!(r.subject.name, "停产甲公司", "{name}");
        assert_eq!(r.entries.len(), 1, "{name}");
        let e = &r.entries[0];
        assert_eq!(r.measures[0].entries, vec![e.record_id.clone()], "{name}");
        assert_eq!(
            (
                e.class_code.as_str(),
                e.decision_no.as_str(),
                e.decided_on,
                e.category.as_str(),
                e.fine.as_deref()
            ),
            (
                "CF",
                "盐环罚〔2024〕1号",
                Some(day("2024-06-10")),
                "罚款、责令停产停业",
                Some("50000.00")
            ),
            "{name}"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["entries"][0]["fine"], "50000.00", "{name}");
        assert_eq!(json["entries"][0]["decided_on"], "2024-06-10", "{name}");
        // A batch's result row names it as the check does.
        let (review, _) =
            joint::batch::review(&checker, &[(1, stop2.clone())], "ZFCG", today, now).unwrap();
        let line = review.line(0);
        assert_eq!(line.verdict, Some(Verdict::Forbid), "{name}");
        assert!(
            line.entries.contains("盐环罚〔2024〕1号")
                && line.entries.contains("处罚决定日期：2024-06-10")
                && line.entries.contains("罚款金额：50000.00元"),
            "{name}: {}",
            line.entries
        );
        // Not a procurement matter: the penalty weighs nothing and is not shown.
        let x = verdict(&stop2, "XZXK");
        assert_eq!(x.verdict, Verdict::Clear, "{name}");
        assert!(x.entries.is_empty() && x.measures.is_empty(), "{name}");

        // Three years back to the day counts; a day more does not.
        assert_eq!(verdict(&stop3, "ZFCG").verdict, Verdict::Forbid, "{name}");
        let old = verdict(&stop3x, "ZFCG");
        assert_eq!(old.verdict, Verdict::Clear, "{name}");
        assert!(old.entries.is_empty(), "{name}");

        // 2,000,000.00 元 is a 较大数额罚款; 1,999,999.99 元 is not.
        let r = verdict(&big, "ZFCG");
        assert_eq!(r.verdict, Verdict::Forbid, "{name}");
        assert_eq!(r.entries[0].fine.as_deref(), Some("2000000.00"), "{name}");
        let r = verdict(&small, "ZFCG");
        assert_eq!(r.verdict, Verdict::Clear, "{name}");
        assert!(r.entries.is_empty(), "{name}");

        // A withdrawn penalty is no 重大违法记录: gone at the next refresh.
        let r = verdict(&gone, "ZFCG");
        assert_eq!(r.verdict, Verdict::Forbid, "{name}");
        store
            .withdraw_record(
                &r.entries[0].record_id,
                &store::Withdrawal {
                    unit: UNIT,
                    actor: "test",
                    reason: "决定已撤销",
                    // Later than the import (the test clock stands still).
                    at: clock.now() + Duration::seconds(1),
                },
            )
            .unwrap();
        index.refresh(&store, &platform, &rules).unwrap();
        let r = verdict(&gone, "ZFCG");
        assert_eq!(r.verdict, Verdict::Clear, "{name}");
        assert!(r.entries.is_empty(), "{name}");
        // So is a repaired one.
        let r = verdict(&repaired, "ZFCG");
        assert_eq!(r.verdict, Verdict::Forbid, "{name}");
        store
            .repair_record(
                &r.entries[0].record_id,
                &store::Withdrawal {
                    unit: UNIT,
                    actor: "test",
                    reason: "信用修复",
                    at: clock.now() + Duration::seconds(2),
                },
            )
            .unwrap();
        index.refresh(&store, &platform, &rules).unwrap();
        assert_eq!(verdict(&repaired, "ZFCG").verdict, Verdict::Clear, "{name}");
        // The hourly rebuild agrees.
        index.rebuild(&store, &platform, &rules).unwrap();
        assert_eq!(verdict(&gone, "ZFCG").verdict, Verdict::Clear, "{name}");
        assert_eq!(verdict(&stop2, "ZFCG").verdict, Verdict::Forbid, "{name}");

        // An exception (a false positive) suppresses the penalty by its record id, as it does a
        // list entry.
        let hit = verdict(&big, "ZFCG").entries[0].clone();
        platform
            .create_exception(
                &store::CheckException {
                    exception_id: 0,
                    subject_key: big.clone(),
                    matter: "ZFCG".into(),
                    record_id: hit.record_id.clone(),
                    record_hash: hit.hash.clone(),
                    reason: "同名不同主体".into(),
                    actor: "test".into(),
                    unit: None,
                    created_at: clock.now(),
                    revoked_at: None,
                    revoked_by: None,
                    revoke_reason: None,
                    in_effect: true,
                },
                None,
            )
            .unwrap();
        index.refresh(&store, &platform, &rules).unwrap();
        let r = verdict(&big, "ZFCG");
        assert_eq!(r.verdict, Verdict::Clear, "{name}");
        assert_eq!(r.suppressed.len(), 1, "{name}");
        assert_eq!(r.suppressed[0].record_id, hit.record_id, "{name}");

        // Corrected out of qualifying — to a 警告, or to a decision date long past — a held
        // penalty leaves at the next refresh.
        clock.set(clock.now() + Duration::seconds(3));
        let corrections = [
            CF_HEADER.to_string() + "\n",
            cf_row(
                &rules,
                "停产乙公司",
                &stop3,
                "盐环罚〔2023〕2号",
                "警告",
                "",
                "2023-06-10",
            ),
            cf_row(
                &rules,
                "停产甲公司",
                &stop2,
                "盐环罚〔2024〕1号",
                "罚款;责令停产停业",
                "5",
                "2020-06-10",
            ),
        ]
        .concat();
        let s = import(
            &store,
            &rules,
            &keys,
            &clock,
            UNIT,
            "行政处罚",
            &corrections,
        );
        assert_eq!(s.corrected, 2, "{name}: {s:?}");
        index.refresh(&store, &platform, &rules).unwrap();
        assert_eq!(verdict(&stop3, "ZFCG").verdict, Verdict::Clear, "{name}");
        assert_eq!(verdict(&stop2, "ZFCG").verdict, Verdict::Clear, "{name}");
    }
}

/// A list entry its deciding unit gave a rectification deadline (a version of no batch) is still
/// the batch's that reported it: withdrawing that batch withdraws the entry, and checks stop
/// meeting it.
#[test]
fn a_batch_withdrawal_takes_its_entries_that_list_actions_changed() {
    let rules = Rulebook::builtin().unwrap();
    let code = uscc(47);
    for ts in stores() {
        let name = ts.name;
        let keys = testkit::keys();
        let clock = clock_on("2026-06-10");
        let store = Store::open(&ts.spec).unwrap();
        let platform = Store::open_platform(&ts.spec).unwrap();
        let s = import(
            &store,
            &rules,
            &keys,
            &clock,
            UNIT,
            "严重失信主体名单",
            &yzsx("甲公司", &code, "信47号", "2029-01-10"),
        );
        assert_eq!(s.accepted, 1, "{name}");
        let index = joint::ListIndex::build(&store, &platform, &rules).unwrap();
        let entry = index.entries(&code)[0].record_id.clone();
        store
            .list_action(
                &entry,
                &index.lists(),
                &ListAction::Rectify {
                    deadline: day("2026-09-01"),
                },
                &ListChange {
                    named_unit: None,
                    unit: Some(UNIT),
                    actor: "李科长",
                    reason: "约谈并责令限期整改",
                    at: clock.now(),
                    today: day("2026-06-10"),
                    rewarding: &[],
                },
            )
            .unwrap();
        let w = store::Withdrawal {
            unit: UNIT,
            actor: "test",
            reason: "整批错报",
            at: clock.now(),
        };
        let done = store
            .withdraw_submission(s.submission_id.unwrap(), &w)
            .unwrap();
        assert_eq!(
            (done.withdrawn, done.left_corrected_later),
            (1, 0),
            "{name}: {done:?}"
        );
        assert_eq!(
            store.record_head(&entry).unwrap().unwrap().change,
            "withdrawn",
            "{name}"
        );
    }
}
