//! Repair and objections on both stores: reminders once per record, applications refused with
//! exactly what is missing, routing to the deciding unit, approval ending the record in the same
//! transaction, sharing by job, objections labelling and unlabelling the record; runners that die
//! holding jobs or outbox rows lose nothing and send nothing twice, and two runners at once do each
//! job once.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use crypto::KeyRing;
use domain::clock::{Clock, FixedClock};
use domain::workflow::{Action, Side};
use ingest::{Format, ImportOptions, Importer};
use rulebook::Rulebook;
use store::{CaseFilter, Channel, OutboxMessage, Store};
use testkit::{clock_on, stores};
use workflows::scheduler::{Delivery, Scheduler, Sender};
use workflows::{Actor, CaseError, Casework, Upload};

const UNIT: &str = "盐城市生态环境局";
const OTHER: &str = "盐城市应急管理局";

fn uscc(n: u16) -> String {
    let org = format!("MA3X{n:04}");
    let check = domain::ids::org_code_check(org.as_bytes()).unwrap();
    let body = format!("91320900{org}{check}");
    format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()))
}

fn penalties(rules: &Rulebook, rows: &[(&str, &str, &str, &str)]) -> String {
    // (name, code, decision no, decision date)
    let unit_code = rules.units.find(UNIT).unwrap().uscc.clone();
    let mut s = String::from(
        "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_FRDB,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n",
    );
    for (name, code, no, day) in rows {
        s.push_str(&format!(
            "{name},法人及非法人组织,{code},张三,{no},超标排放,经查超标排放大气污染物,《中华人民共和国大气污染防治法》第九十九条,罚款,处罚款0.5万元,0.5,{day},2029-06-01,{UNIT},{unit_code},{UNIT},{unit_code}\n"
        ));
    }
    s
}

/// The unit's penalty file imported as of `day`.
fn import(store: &Store, rules: &Rulebook, keys: &KeyRing, day: &str, csv: &str) {
    let clock = FixedClock::at(at(day));
    Importer {
        store,
        rules,
        keys,
        clock: &clock,
    }
    .import_reader(
        None,
        Format::Csv,
        csv.as_bytes(),
        &ImportOptions {
            unit: UNIT.into(),
            class: "行政处罚".into(),
            actor: "test".into(),
            channel: Channel::File,
        },
        &|_| {},
    )
    .unwrap();
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Sender for Recorder {
    fn send(&self, m: &OutboxMessage) -> Result<Delivery, String> {
        self.0.lock().unwrap().push(m.dedupe.clone());
        Ok(Delivery::Sent)
    }
}

impl Recorder {
    fn sent(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn subject(code: &str) -> Actor {
    Actor {
        id: format!("account:{code}"),
        side: Side::Subject,
        unit: None,
        subject_key: Some(code.into()),
        repairs: true,
    }
}

fn unit(name: &str) -> Actor {
    Actor {
        id: format!("account:officer@{name}"),
        side: Side::Unit,
        unit: Some(name.into()),
        subject_key: None,
        repairs: true,
    }
}

fn pdf() -> Upload {
    Upload {
        name: "缴款凭证.pdf".into(),
        bytes: b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec(),
    }
}

fn at(day: &str) -> chrono::DateTime<chrono::Utc> {
    clock_on(day).now()
}

fn refused(r: Result<impl std::fmt::Debug, CaseError>) -> String {
    match r {
        Err(CaseError::Refused(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn repair_and_objection_on_both_stores() {
    let rules = Rulebook::builtin().unwrap();
    let (a, b) = (uscc(1), uscc(2));
    for ts in stores() {
        let name = ts.name;
        let keys = KeyRing::generate().unwrap();
        let store = Store::open(&ts.spec).unwrap();
        import(
            &store,
            &rules,
            &keys,
            "2026-06-10",
            &penalties(
                &rules,
                &[
                    ("甲环保公司", &a, "盐环罚〔2026〕101号", "2026-04-01"),
                    ("乙化工公司", &b, "盐环罚〔2026〕102号", "2026-06-01"),
                ],
            ),
        );
        let subs = store.submissions(None, 10).unwrap();
        let rej = store.rejections(subs[0].submission_id).unwrap();
        assert!(
            rej.is_empty(),
            "{name}: {:?}",
            rej.iter().map(|r| &r.problems).collect::<Vec<_>>()
        );
        let work = Casework {
            store: &store,
            rules: &rules,
            keys: &keys,
        };
        let heads = store.subject_heads(&a, &["CF"]).unwrap();
        let rec_a = heads[0].record_id.clone();
        assert_eq!(heads[0].repairable_from, Some(testkit::day("2026-07-02")));
        let rec_b = store.subject_heads(&b, &["CF"]).unwrap()[0]
            .record_id
            .clone();
        let sender = Recorder::default();
        let sched = Scheduler {
            work: Casework {
                store: &store,
                rules: &rules,
                keys: &keys,
            },
            sender: &sender,
            worker: "runner-1",
            trail: &|_| {},
        };

        // The day before the minimum period ends: no reminder, and an application is refused
        // with the date.
        let r = sched.tick(at("2026-07-01")).unwrap();
        assert_eq!(r.reminders, 0, "{name}");
        let m = refused(work.apply_repair(
            &subject(&a),
            &rec_a,
            true,
            "已缴纳罚款",
            &[pdf()],
            at("2026-07-01"),
        ));
        assert!(m.contains("自2026-07-02起方可申请"), "{name}: {m}");

        // The day it ends: one reminder, one SMS, a console message, an item for the unit.
        let r = sched.tick(at("2026-07-02")).unwrap();
        assert_eq!((r.reminders, r.sent), (1, 1), "{name}: {r:?}");
        let r = sched.tick(at("2026-07-02") + Duration::hours(2)).unwrap();
        assert_eq!((r.reminders, r.sent), (0, 0), "{name}: the same day again");
        assert_eq!(sender.sent(), vec![format!("remind:{rec_a}:sms")], "{name}");
        let msgs = store.messages("subject", &a, 10).unwrap();
        assert!(
            msgs.iter()
                .any(|m| m.body.contains("2026-07-02起可申请信用修复")),
            "{name}"
        );
        let items = store
            .reminders(Some(UNIT), testkit::day("2026-07-02"), 10)
            .unwrap();
        assert_eq!(items.len(), 1, "{name}");
        assert!(items[0].pre_review.contains("信用修复承诺"), "{name}");

        // Applications: the commitment is required; only one's own record; evidence by content.
        let m = refused(work.apply_repair(&subject(&a), &rec_a, false, "", &[], at("2026-07-03")));
        assert!(m.contains("信用修复承诺"), "{name}: {m}");
        // Another subject's record is not there for it (as a missing one).
        assert!(matches!(
            work.apply_repair(&subject(&b), &rec_a, true, "", &[], at("2026-07-03")),
            Err(CaseError::Concealed(_))
        ));
        let bad = Upload {
            name: "a.pdf".into(),
            bytes: b"MZ not a pdf".to_vec(),
        };
        assert!(matches!(
            work.apply_repair(&subject(&a), &rec_a, true, "", &[bad], at("2026-07-03")),
            Err(CaseError::Invalid(m)) if m.contains("不是PDF")
        ));
        let id = work
            .apply_repair(
                &subject(&a),
                &rec_a,
                true,
                "已缴纳罚款并完成整改",
                &[pdf()],
                at("2026-07-03"),
            )
            .unwrap();
        let again =
            refused(work.apply_repair(&subject(&a), &rec_a, true, "", &[], at("2026-07-03")));
        assert!(again.contains("请勿重复提交"), "{name}: {again}");
        // The commitment is public, as a 信用承诺 record of type 信用修复型 received by the unit.
        let cn = store.subject_heads(&a, &["CN"]).unwrap();
        assert_eq!(cn.len(), 1, "{name}");
        assert!(
            cn[0].payload.contains("信用修复型") && cn[0].source_unit == UNIT,
            "{name}"
        );
        // Routed to the deciding unit, with a deadline two working days on.
        let case = store.case(id).unwrap().unwrap();
        assert_eq!(case.unit, UNIT);
        assert_eq!(case.deadline, Some(testkit::day("2026-07-07")), "{name}");
        assert_eq!(store.case_files(id).unwrap().len(), 1);
        // The worklist item is gone once applied for.
        assert!(
            store
                .reminders(Some(UNIT), testkit::day("2026-07-02"), 10)
                .unwrap()
                .is_empty()
        );

        // Files added one call at a time count against the case's limit too.
        let max = rules.workflows.evidence.max_files;
        for _ in 1..max {
            work.add_files(&subject(&a), id, &[pdf()], at("2026-07-03"))
                .unwrap();
        }
        assert!(matches!(
            work.add_files(&subject(&a), id, &[pdf()], at("2026-07-03")),
            Err(CaseError::Invalid(m)) if m.contains(&format!("已有{max}个"))
        ));
        assert_eq!(store.case_files(id).unwrap().len(), max, "{name}");
        // The store counts again where it adds them: an upload that passed the count above
        // while another was being added (sent at once) is refused there.
        let late = store::NewFile {
            name: "late.pdf".into(),
            media_type: "application/pdf".into(),
            byte_size: 1,
            digest: "00".into(),
            sealed: vec![0],
        };
        assert!(matches!(
            store.add_case_files(id, &[late], "subject", at("2026-07-03"), max),
            Err(store::StoreError::Refused(m)) if m.contains(&format!("已有{max}个"))
        ));
        assert_eq!(store.case_files(id).unwrap().len(), max, "{name}");
        // Returned for a clearer file, the subject can still send the replacement.
        work.act(
            &unit(UNIT),
            id,
            Action::Return,
            "缴款凭证模糊，请重新上传",
            None,
            at("2026-07-03"),
        )
        .unwrap();
        work.act_with_files(
            &subject(&a),
            id,
            Action::Supplement,
            "",
            None,
            &[pdf()],
            at("2026-07-03") + Duration::hours(1),
        )
        .unwrap();
        assert_eq!(store.case_files(id).unwrap().len(), max + 1, "{name}");
        // The unit may accept or return it but not withdraw the subject's application; the
        // subject may withdraw it; the credit office may neither decide nor withdraw it.
        let office = Actor {
            id: "account:office".into(),
            side: Side::Office,
            unit: None,
            subject_key: None,
            repairs: true,
        };
        assert!(
            work.view(&subject(&a), id, at("2026-07-03"))
                .unwrap()
                .pre_review
                .is_some(),
            "{name}"
        );
        let can = |who: &Actor| work.view(who, id, at("2026-07-03")).unwrap().actions;
        assert_eq!(can(&unit(UNIT)), ["accept", "return"], "{name}");
        assert_eq!(can(&subject(&a)), ["cancel"], "{name}");
        assert!(can(&office).is_empty(), "{name}: {:?}", can(&office));
        assert!(
            refused(work.act(&office, id, Action::Accept, "", None, at("2026-07-03")))
                .contains("只能由"),
            "{name}"
        );
        // Another unit does not see it; the subject cannot decide it.
        assert!(matches!(
            work.act(&unit(OTHER), id, Action::Accept, "", None, at("2026-07-03")),
            Err(CaseError::Concealed(_))
        ));
        assert!(
            refused(work.act(&subject(&a), id, Action::Accept, "", None, at("2026-07-03")))
                .contains("只能由")
        );
        work.act(&unit(UNIT), id, Action::Accept, "", None, at("2026-07-06"))
            .unwrap();
        // Approval needs the performance confirmed.
        let m = refused(work.act(&unit(UNIT), id, Action::Approve, "", None, at("2026-07-07")));
        assert!(m.contains("履行行政处罚"), "{name}: {m}");
        let done = work
            .act(
                &unit(UNIT),
                id,
                Action::Approve,
                "已履行",
                Some(true),
                at("2026-07-07"),
            )
            .unwrap();
        assert_eq!(done.state, "approved");
        assert_eq!(done.late_steps, 0);
        // While open the pre-review was shown; a granted case shows none (the record, repaired
        // now, would read as a condition not met).
        let closed = work.view(&subject(&a), id, at("2026-07-07")).unwrap();
        assert!(closed.pre_review.is_none(), "{name}");
        // The record ended in the same transaction: repaired, out of every public view.
        let head = store.record_head(&rec_a).unwrap().unwrap();
        assert_eq!(head.change, "repaired", "{name}");
        let public = store
            .public_records(&store::PublicQuery {
                classes: vec!["CF".into()],
                today: Some(testkit::day("2026-07-07")),
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        assert!(public.iter().any(|r| r.subject_key == b), "{name}");
        assert!(public.iter().all(|r| r.subject_key != a), "{name}");
        // The share job runs on the next pass.
        sched.tick(at("2026-07-07") + Duration::minutes(1)).unwrap();
        assert_eq!(store.case(id).unwrap().unwrap().state, "shared", "{name}");
        let feed = store.sharing_feed_after(0, 10).unwrap();
        assert_eq!(feed.len(), 1);
        assert!(
            feed[0].payload.contains("\"outcome\":\"approved\""),
            "{name}: {}",
            feed[0].payload
        );
        // Events: submit, return and supplement, accept, approve, share — each with actor and
        // time.
        let ev: Vec<String> = store
            .case_events(id)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            ev,
            [
                "submit",
                "return",
                "supplement",
                "accept",
                "approve",
                "share"
            ],
            "{name}"
        );

        // Objection: the record is labelled at once, forwarded by job, answered with reasons.
        let oid = work
            .object(
                &subject(&b),
                &rec_b,
                "处罚对象错误：我公司不是该处罚的当事人",
                &[],
                at("2026-07-08"),
            )
            .unwrap();
        assert!(
            store.record_head(&rec_b).unwrap().unwrap().under_objection,
            "{name}"
        );
        // The file read in one go (one query on PostgreSQL) says what the separate reads say.
        let (subj, recs) = store.subject_file(&b, None).unwrap().unwrap();
        assert_eq!(
            format!(
                "{:?}",
                (
                    store.subject(&b).unwrap().unwrap(),
                    store.subject_records(&b, None).unwrap()
                )
            ),
            format!("{:?}", (subj, &recs)),
            "{name}"
        );
        assert!(
            recs.iter()
                .any(|r| r.record_id == rec_b && r.under_objection),
            "{name}: {recs:?}"
        );
        let (_, recs_a) = store.subject_file(&a, None).unwrap().unwrap();
        assert!(
            recs_a.iter().any(|r| r.record_id == rec_a)
                && recs_a.iter().all(|r| !r.under_objection),
            "{name}: {recs_a:?}"
        );
        let before = store
            .subject_file(&b, Some(at("2026-01-01")))
            .unwrap()
            .unwrap();
        assert!(
            before.1.is_empty(),
            "{name}: no records before the first import"
        );
        assert!(
            store
                .subject_file("no-such-subject", None)
                .unwrap()
                .is_none(),
            "{name}"
        );
        sched.tick(at("2026-07-08") + Duration::minutes(1)).unwrap();
        let o = store.case(oid).unwrap().unwrap();
        assert_eq!(o.state, "forwarded", "{name}");
        assert_eq!(o.answer_due, Some(testkit::day("2026-07-29")), "{name}");
        assert!(
            refused(work.act(
                &unit(UNIT),
                oid,
                Action::Maintain,
                "",
                None,
                at("2026-07-09")
            ))
            .contains("须说明理由")
        );
        // "Corrected" needs a corrected version first.
        assert!(
            refused(work.act(
                &unit(UNIT),
                oid,
                Action::Correct,
                "已更正",
                None,
                at("2026-07-09")
            ))
            .contains("请先通过报送")
        );
        // More material asked and given: the verification clock restarts, but never past the day
        // the subject must have its answer (15 working days from 07-08: 07-29).
        work.act(
            &unit(UNIT),
            oid,
            Action::RequestMaterials,
            "请提供营业执照",
            None,
            at("2026-07-09"),
        )
        .unwrap();
        assert!(matches!(
            work.add_files(&unit(UNIT), oid, &[pdf()], at("2026-07-10")),
            Err(CaseError::Forbidden(_))
        ));
        let k = work
            .act_with_files(
                &subject(&b),
                oid,
                Action::Supplement,
                "",
                None,
                &[pdf()],
                at("2026-07-20"),
            )
            .unwrap();
        assert_eq!(
            (k.state.as_str(), k.deadline),
            ("forwarded", Some(testkit::day("2026-07-29"))),
            "{name}"
        );
        assert_eq!(store.case_files(oid).unwrap().len(), 1, "{name}");
        work.act(
            &unit(UNIT),
            oid,
            Action::Maintain,
            "经核实，处罚对象无误",
            None,
            at("2026-07-21"),
        )
        .unwrap();
        assert!(
            !store.record_head(&rec_b).unwrap().unwrap().under_objection,
            "{name}"
        );
        assert!(
            store
                .messages("subject", &b, 10)
                .unwrap()
                .iter()
                .any(|m| m.body.contains("维持原记录")),
            "{name}"
        );

        // A runner that dies holding the day's jobs loses nothing: after its lease another takes
        // them, and the reminder is made once.
        let now = at("2026-09-02");
        sched.enqueue_periodic(now).unwrap();
        let held = store
            .claim_jobs("runner-dead", now, now + Duration::minutes(5), 50)
            .unwrap();
        assert!(held.iter().any(|j| j.kind == "repair.scan"), "{name}");
        let r = sched.tick(now + Duration::minutes(1)).unwrap();
        assert_eq!(r.reminders, 0, "{name}: still leased");
        let r = sched.tick(now + Duration::minutes(6)).unwrap();
        assert_eq!(r.reminders, 1, "{name}: taken over");
        // A runner that dies holding outbox rows: sent once, after the lease.
        let oid2 = work
            .object(
                &subject(&b),
                &rec_b,
                "再次异议：罚款金额有误",
                &[],
                now + Duration::minutes(7),
            )
            .unwrap();
        sched.tick(now + Duration::minutes(8)).unwrap();
        work.act(
            &unit(UNIT),
            oid2,
            Action::Maintain,
            "金额无误",
            None,
            now + Duration::minutes(9),
        )
        .unwrap();
        let dead = store
            .claim_outbox(
                "runner-dead",
                now + Duration::minutes(10),
                now + Duration::minutes(15),
                100,
            )
            .unwrap();
        // The answer by SMS and by e-mail.
        assert_eq!(dead.len(), 2, "{name}");
        assert!(
            dead.iter().any(|m| m.channel == "email"),
            "{name}: {dead:?}"
        );
        assert_eq!(sched.tick(now + Duration::minutes(11)).unwrap().sent, 0);
        assert_eq!(sched.tick(now + Duration::minutes(16)).unwrap().sent, 2);
        // The dead runner, back, cannot record a send it no longer holds.
        assert!(
            !store
                .outbox_result(
                    dead[0].outbox_id,
                    "runner-dead",
                    None,
                    None,
                    now + Duration::minutes(17)
                )
                .unwrap()
        );
        let sent = sender.sent();
        let mut unique = sent.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), sent.len(), "{name}: sent twice: {sent:?}");
        assert!(sent.contains(&format!("remind:{rec_b}:sms")), "{name}");

        // Overdue and statistics.
        let stats = workflows::stats::compute(
            &store
                .case_stat_rows(testkit::day("2026-07-01"), testkit::day("2026-09-30"))
                .unwrap(),
            &rules.calendar,
            testkit::day("2026-09-30"),
        );
        let repair = stats.iter().find(|s| s.kind == "repair").unwrap();
        assert_eq!(
            (repair.applications, repair.approved, repair.max_days),
            (1, 1, 2),
            "{name}"
        );
        // The objection of 07-08 was answered on 07-21 after waiting 7 working days (07-09 to
        // 07-20) for the subject's material: 9 working days, 2 of them handling.
        let july = stats
            .iter()
            .find(|s| s.kind == "objection" && s.month == "2026-07")
            .unwrap();
        assert_eq!(july.max_days, 2, "{name}");
        let obj: u64 = stats
            .iter()
            .filter(|s| s.kind == "objection")
            .map(|s| s.rejected)
            .sum();
        assert_eq!(obj, 2, "{name}");
        assert!(
            store
                .cases(&CaseFilter {
                    open: true,
                    overdue_on: Some(testkit::day("2026-09-30")),
                    ..Default::default()
                })
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn two_runners_do_each_job_once() {
    let rules = Rulebook::builtin().unwrap();
    for ts in stores() {
        let name = ts.name;
        let keys = Arc::new(KeyRing::generate().unwrap());
        let store = Arc::new(Store::open(&ts.spec).unwrap());
        let codes: Vec<String> = (10..40).map(uscc).collect();
        let rows: Vec<(String, String, String)> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    format!("丙{i}公司"),
                    c.clone(),
                    format!("盐环罚〔2026〕{}号", 200 + i),
                )
            })
            .collect();
        let refs: Vec<(&str, &str, &str, &str)> = rows
            .iter()
            .map(|(n, c, no)| (n.as_str(), c.as_str(), no.as_str(), "2026-04-01"))
            .collect();
        import(
            &store,
            &rules,
            &keys,
            "2026-06-10",
            &penalties(&rules, &refs),
        );
        let sender = Arc::new(Recorder::default());
        let now = at("2026-07-02");
        let made: usize = std::thread::scope(|s| {
            let handles: Vec<_> = ["r1", "r2"]
                .into_iter()
                .map(|w| {
                    let (store, keys, sender, rules) = (&store, &keys, &sender, &rules);
                    s.spawn(move || {
                        let sched = Scheduler {
                            work: Casework { store, rules, keys },
                            sender: sender.as_ref(),
                            worker: w,
                            trail: &|_| {},
                        };
                        let mut n = 0;
                        for i in 0..3 {
                            n += sched.tick(now + Duration::seconds(i)).unwrap().reminders;
                        }
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(made, 30, "{name}");
        let sent = sender.sent();
        let mut unique = sent.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((sent.len(), unique.len()), (30, 30), "{name}");
    }
}

#[test]
fn escalation_overdue_lateness_and_a_units_own_objection() {
    let rules = Rulebook::builtin().unwrap();
    let c = uscc(50);
    for ts in stores() {
        let name = ts.name;
        let keys = KeyRing::generate().unwrap();
        let store = Store::open(&ts.spec).unwrap();
        let import = |csv: String, day: &str| import(&store, &rules, &keys, day, &csv);
        import(
            penalties(
                &rules,
                &[("戊公司", &c, "盐环罚〔2026〕401号", "2026-04-01")],
            ),
            "2026-06-10",
        );
        let rec = store.subject_heads(&c, &["CF"]).unwrap()[0]
            .record_id
            .clone();
        let work = Casework {
            store: &store,
            rules: &rules,
            keys: &keys,
        };
        let sender = Recorder::default();
        let told = std::sync::Mutex::new(Vec::new());
        let note = |s: &workflows::scheduler::PlatformStep| {
            told.lock()
                .unwrap()
                .push(format!("{} {} {}", s.action, s.object, s.detail))
        };
        let sched = Scheduler {
            work: Casework {
                store: &store,
                rules: &rules,
                keys: &keys,
            },
            sender: &sender,
            worker: "runner-1",
            trail: &note,
        };
        // Thursday 2026-07-02: accept by Monday 07-06.
        let id = work
            .apply_repair(&subject(&c), &rec, true, "已缴纳", &[], at("2026-07-02"))
            .unwrap();
        assert_eq!(
            store.case(id).unwrap().unwrap().deadline,
            Some(testkit::day("2026-07-06"))
        );
        assert_eq!(sched.tick(at("2026-07-02")).unwrap().escalated, 0, "{name}");
        // Friday, one working day before: near its deadline, the credit office is told once.
        assert_eq!(sched.tick(at("2026-07-03")).unwrap().escalated, 1, "{name}");
        assert_eq!(
            sched
                .tick(at("2026-07-03") + Duration::hours(1))
                .unwrap()
                .escalated,
            0,
            "{name}"
        );
        // Tuesday: overdue, told again; listed as overdue for the unit.
        assert_eq!(sched.tick(at("2026-07-07")).unwrap().escalated, 1, "{name}");
        // Each escalation reached the trail as it committed, with its stage.
        let escalations: Vec<String> = told
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.starts_with("case.escalate"))
            .cloned()
            .collect();
        assert_eq!(
            escalations,
            [
                format!("case.escalate case:{id} stage=1"),
                format!("case.escalate case:{id} stage=2")
            ],
            "{name}"
        );
        let office = store.messages("office", "office", 10).unwrap();
        assert_eq!(office.len(), 2, "{name}");
        assert!(
            office[0].title.contains("逾期") && office[1].title.contains("临期"),
            "{name}"
        );
        let overdue = store
            .cases(&CaseFilter {
                unit: Some(UNIT.into()),
                open: true,
                overdue_on: Some(testkit::day("2026-07-07")),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(overdue.len(), 1, "{name}");
        // Accepted late: counted; the next step's clock starts afresh.
        let k = work
            .act(
                &unit(UNIT),
                id,
                Action::Accept,
                "",
                Some(true),
                at("2026-07-07"),
            )
            .unwrap();
        assert_eq!((k.late_steps, k.escalated), (1, 0), "{name}");
        assert_eq!(k.deadline, Some(testkit::day("2026-07-14")), "{name}");
        // The subject withdraws its application.
        let k = work
            .act(&subject(&c), id, Action::Cancel, "", None, at("2026-07-08"))
            .unwrap();
        assert_eq!(k.state, "cancelled");

        // 主动异议: only the unit that reported the record (to another the record is not
        // there); it starts at verification.
        assert!(matches!(
            work.object(
                &unit(OTHER),
                &rec,
                "本单位发现数据有误",
                &[],
                at("2026-07-08")
            ),
            Err(CaseError::Concealed(_))
        ));
        let oid = work
            .object(&unit(UNIT), &rec, "处罚金额录入有误", &[], at("2026-07-08"))
            .unwrap();
        let o = store.case(oid).unwrap().unwrap();
        assert_eq!(
            (o.state.as_str(), o.opened_side.as_str()),
            ("forwarded", "unit")
        );
        assert!(store.record_head(&rec).unwrap().unwrap().under_objection);
        // Corrected once the unit has sent the corrected row (a new version).
        import(
            penalties(
                &rules,
                &[("戊公司", &c, "盐环罚〔2026〕401号", "2026-04-01")],
            )
            .replace("处罚款0.5万元,0.5", "处罚款0.3万元,0.3"),
            "2026-07-09",
        );
        let k = work
            .act(
                &unit(UNIT),
                oid,
                Action::Correct,
                "金额已更正为0.3万元",
                None,
                at("2026-07-09"),
            )
            .unwrap();
        assert_eq!(k.state, "corrected", "{name}");
        let head = store.record_head(&rec).unwrap().unwrap();
        assert!(!head.under_objection && head.version == 2, "{name}");
    }
}

#[test]
fn the_reminder_scan_pages_through_many_due_records_once_each() {
    let rules = Rulebook::builtin().unwrap();
    for ts in stores() {
        let name = ts.name;
        let keys = KeyRing::generate().unwrap();
        let store = Store::open(&ts.spec).unwrap();
        // More than two pages of 500, many on the same repairable-from day, so that the scan's
        // cursor must break ties by subject and record.
        let days = ["2026-03-02", "2026-03-03", "2026-04-01"];
        let rows: Vec<(String, String, String, &str)> = (0..1203u16)
            .map(|i| {
                (
                    format!("丁{i}公司"),
                    uscc(100 + i),
                    format!("盐环罚〔2026〕{}号", 1000 + i),
                    days[(i % 3) as usize],
                )
            })
            .collect();
        let refs: Vec<(&str, &str, &str, &str)> = rows
            .iter()
            .map(|(n, c, no, d)| (n.as_str(), c.as_str(), no.as_str(), *d))
            .collect();
        import(
            &store,
            &rules,
            &keys,
            "2026-06-10",
            &penalties(&rules, &refs),
        );
        let sender = Recorder::default();
        let sched = Scheduler {
            work: Casework {
                store: &store,
                rules: &rules,
                keys: &keys,
            },
            sender: &sender,
            worker: "w",
            trail: &|_| {},
        };
        let now = at("2026-07-02");
        let first = sched.tick(now).unwrap().reminders;
        assert_eq!(first, 1203, "{name}");
        let again = sched.tick(now + Duration::days(1)).unwrap().reminders;
        assert_eq!(again, 0, "{name}");
        let reminders = store
            .read(|c| c.query_one("SELECT COUNT(*) FROM reminders", &[]))
            .unwrap()
            .unwrap()
            .i64(0)
            .unwrap();
        assert_eq!(reminders, 1203, "{name}");
    }
}

/// 处罚机关 written as the unit's short name, its USCC or with spaces: the repair is the unit's,
/// by the name its officers and messages are routed by.
#[test]
fn the_deciding_unit_is_named_as_the_unit_names_itself() {
    let rules = Rulebook::builtin().unwrap();
    let unit = rules.units.find(UNIT).unwrap().clone();
    let spaced: String = UNIT.chars().flat_map(|c| [c, ' ']).collect();
    let ts = testkit::sqlite();
    let keys = KeyRing::generate().unwrap();
    let store = Store::open(&ts.spec).unwrap();
    let work = Casework {
        store: &store,
        rules: &rules,
        keys: &keys,
    };
    for (n, written) in [unit.short.clone(), unit.uscc.clone(), spaced]
        .into_iter()
        .enumerate()
    {
        let code = uscc(60 + n as u16);
        let csv = penalties(
            &rules,
            &[("丙公司", &code, "盐环罚〔2026〕601号", "2026-04-01")],
        );
        // The 处罚机关 column only (CF_CFJG comes before its USCC, CF_CFJGDM).
        let csv = csv.replacen(&format!(",{UNIT},"), &format!(",{written},"), 1);
        import(&store, &rules, &keys, "2026-06-10", &csv);
        let heads = store.subject_heads(&code, &["CF"]).unwrap();
        assert_eq!(heads.len(), 1, "{written}");
        assert_eq!(work.deciding_unit(&heads[0]), UNIT, "{written}");
    }
}

/// A deadline counted into a year whose holiday notice is not loaded carries a warning in the
/// case's history, not a silent date.
#[test]
fn a_deadline_past_the_loaded_calendar_is_marked_as_unconfirmed() {
    let rules = Rulebook::builtin().unwrap();
    let ts = testkit::sqlite();
    let keys = KeyRing::generate().unwrap();
    let store = Store::open(&ts.spec).unwrap();
    let work = Casework {
        store: &store,
        rules: &rules,
        keys: &keys,
    };
    let (early, late) = (uscc(71), uscc(72));
    let csv = penalties(
        &rules,
        &[
            ("丁公司", &early, "盐环罚〔2026〕701号", "2026-06-01"),
            ("戊公司", &late, "盐环罚〔2026〕702号", "2026-06-01"),
        ],
    );
    import(&store, &rules, &keys, "2026-06-10", &csv);
    let note_of = |code: &str, day: &str| {
        let rec = store.subject_heads(code, &["CF"]).unwrap()[0]
            .record_id
            .clone();
        let id = work
            .object(&subject(code), &rec, "处罚对象有误", &[], at(day))
            .unwrap();
        store.case_events(id).unwrap()[0]
            .note
            .clone()
            .unwrap_or_default()
    };
    assert!(!note_of(&early, "2026-07-01").contains("尚未载入"));
    let n = note_of(&late, "2026-12-30");
    assert!(n.contains("2027年的国务院节假日安排通知尚未载入"), "{n}");
    // Where the deadline is shown (messages, the console's case lists), it says so too.
    let shown = workflows::deadline_text(&rules.calendar, Some(testkit::day("2027-01-04")));
    assert!(
        shown.starts_with("2027-01-04（2027年节假日安排通知尚未载入"),
        "{shown}"
    );
    assert_eq!(
        workflows::deadline_text(&rules.calendar, Some(testkit::day("2026-12-31"))),
        "2026-12-31"
    );
}

/// A record withdrawn by its unit while a repair and an objection on it are open ends both, in
/// the withdrawal's transaction, with a message to the subject and the 异议处理中 label gone; and
/// an objection is not "corrected" by a repair of the record (only a corrected version is).
#[test]
fn a_withdrawal_ends_open_cases_and_a_repair_is_no_correction() {
    let rules = Rulebook::builtin().unwrap();
    let (a, c) = (uscc(11), uscc(13));
    for ts in stores() {
        let name = ts.name;
        let keys = KeyRing::generate().unwrap();
        let store = Store::open(&ts.spec).unwrap();
        import(
            &store,
            &rules,
            &keys,
            "2026-06-10",
            &penalties(
                &rules,
                &[
                    ("甲环保公司", &a, "盐环罚〔2026〕201号", "2026-04-01"),
                    ("丙化工公司", &c, "盐环罚〔2026〕203号", "2026-04-01"),
                ],
            ),
        );
        let work = Casework {
            store: &store,
            rules: &rules,
            keys: &keys,
        };
        let sender = Recorder::default();
        let sched = Scheduler {
            work: Casework {
                store: &store,
                rules: &rules,
                keys: &keys,
            },
            sender: &sender,
            worker: "runner-1",
            trail: &|_| {},
        };
        let rec = |code: &str| {
            store.subject_heads(code, &["CF"]).unwrap()[0]
                .record_id
                .clone()
        };
        let (rec_a, rec_c) = (rec(&a), rec(&c));

        // a objects, then has the same record repaired: "corrected" stays refused.
        let oid = work
            .object(&subject(&a), &rec_a, "罚款金额有误", &[], at("2026-07-06"))
            .unwrap();
        sched.tick(at("2026-07-06") + Duration::minutes(1)).unwrap();
        let rid = work
            .apply_repair(
                &subject(&a),
                &rec_a,
                true,
                "已缴纳罚款",
                &[pdf()],
                at("2026-07-06"),
            )
            .unwrap();
        work.act(
            &unit(UNIT),
            rid,
            Action::Accept,
            "",
            Some(true),
            at("2026-07-07"),
        )
        .unwrap();
        work.act(
            &unit(UNIT),
            rid,
            Action::Approve,
            "",
            None,
            at("2026-07-07"),
        )
        .unwrap();
        assert_eq!(
            store.record_head(&rec_a).unwrap().unwrap().change,
            "repaired"
        );
        let m = refused(work.act(
            &unit(UNIT),
            oid,
            Action::Correct,
            "已更正",
            None,
            at("2026-07-08"),
        ));
        assert!(m.contains("请先通过报送"), "{name}: {m}");

        // c applies for repair and objects; its unit withdraws the record.
        let rid = work
            .apply_repair(
                &subject(&c),
                &rec_c,
                true,
                "已缴纳罚款",
                &[pdf()],
                at("2026-07-06"),
            )
            .unwrap();
        let oid = work
            .object(&subject(&c), &rec_c, "处罚对象错误", &[], at("2026-07-06"))
            .unwrap();
        assert!(store.record_head(&rec_c).unwrap().unwrap().under_objection);
        store
            .withdraw_record(
                &rec_c,
                &store::Withdrawal {
                    unit: UNIT,
                    actor: "account:reporter",
                    reason: "处罚决定已被复议撤销",
                    at: at("2026-07-07"),
                },
            )
            .unwrap();
        for id in [rid, oid] {
            let k = store.case(id).unwrap().unwrap();
            assert_eq!(k.state, "ended", "{name}: case {id}");
            assert_eq!(k.deadline, None, "{name}");
            assert!(
                work.view(&unit(UNIT), id, at("2026-07-07"))
                    .unwrap()
                    .actions
                    .is_empty()
            );
        }
        assert!(
            !store.record_head(&rec_c).unwrap().unwrap().under_objection,
            "{name}"
        );
        // The repair ended without a repair: the commitment it signed lapses (it stayed public
        // as 履约中).
        assert_eq!(
            store.subject_heads(&c, &["CN"]).unwrap()[0].change,
            "created",
            "{name}"
        );
        let sender = Recorder::default();
        Scheduler {
            work: Casework {
                store: &store,
                rules: &rules,
                keys: &keys,
            },
            sender: &sender,
            worker: "runner-1",
            trail: &|_| {},
        }
        .tick(at("2026-07-07"))
        .unwrap();
        assert_eq!(
            store.subject_heads(&c, &["CN"]).unwrap()[0].change,
            "withdrawn",
            "{name}"
        );
        // The ended cases are counted apart, not as decided in the days up to the withdrawal.
        let stats = workflows::stats::compute(
            &store
                .case_stat_rows(testkit::day("2026-07-01"), testkit::day("2026-07-31"))
                .unwrap(),
            &rules.calendar,
            testkit::day("2026-07-31"),
        );
        let row = |kind: &str| stats.iter().find(|s| s.kind == kind).unwrap();
        let (repair, objection) = (row("repair"), row("objection"));
        assert_eq!(
            (
                repair.applications,
                repair.approved,
                repair.ended,
                repair.decided
            ),
            (2, 1, 1, 1),
            "{name}: {repair:?}"
        );
        assert_eq!(repair.max_days, 1, "{name}: {repair:?}");
        assert_eq!(
            (
                objection.applications,
                objection.ended,
                objection.open,
                objection.decided
            ),
            (2, 1, 1, 0),
            "{name}: {objection:?}"
        );
        assert_eq!(objection.avg_days, "-", "{name}");
        for s in [repair, objection] {
            assert_eq!(
                s.approved + s.rejected + s.cancelled + s.ended + s.open,
                s.applications,
                "{name}: {s:?}"
            );
        }
        let msgs = store.messages("subject", &c, 20).unwrap();
        for what in ["信用修复申请已终结", "异议申请已终结"] {
            assert!(
                msgs.iter()
                    .any(|m| m.title == what && m.body.contains("处罚决定已被复议撤销")),
                "{name}: {what}: {:?}",
                msgs.iter().map(|m| &m.title).collect::<Vec<_>>()
            );
        }
    }
}

/// A repair refused (or withdrawn by its applicant) ends the public commitment signed with it:
/// the platform's job withdraws it, once, saying why; an approved one keeps its commitment.
#[test]
fn a_refused_application_ends_its_commitment() {
    let rules = Rulebook::builtin().unwrap();
    let (a, b) = (uscc(1), uscc(2));
    for ts in stores() {
        let name = ts.name;
        let keys = KeyRing::generate().unwrap();
        let store = Store::open(&ts.spec).unwrap();
        import(
            &store,
            &rules,
            &keys,
            "2026-06-10",
            &penalties(
                &rules,
                &[
                    ("甲环保公司", &a, "盐环罚〔2026〕201号", "2026-04-01"),
                    ("乙化工公司", &b, "盐环罚〔2026〕202号", "2026-04-01"),
                ],
            ),
        );
        let work = Casework {
            store: &store,
            rules: &rules,
            keys: &keys,
        };
        let sender = Recorder::default();
        let told = Mutex::new(Vec::new());
        let sched = Scheduler {
            work: Casework {
                store: &store,
                rules: &rules,
                keys: &keys,
            },
            sender: &sender,
            worker: "runner-1",
            trail: &|s| told.lock().unwrap().push(s.action.to_string()),
        };
        let rec = |code: &str| {
            store.subject_heads(code, &["CF"]).unwrap()[0]
                .record_id
                .clone()
        };
        let commitment = |code: &str| {
            store.subject_heads(code, &["CN"]).unwrap()[0]
                .change
                .clone()
        };
        let day = at("2026-07-03");
        let refused_id = work
            .apply_repair(&subject(&a), &rec(&a), true, "已缴纳罚款", &[pdf()], day)
            .unwrap();
        let withdrawn_id = work
            .apply_repair(&subject(&b), &rec(&b), true, "已缴纳罚款", &[pdf()], day)
            .unwrap();
        assert_eq!(commitment(&a), "created", "{name}");
        work.act(&unit(UNIT), refused_id, Action::Accept, "", None, day)
            .unwrap();
        work.act(
            &unit(UNIT),
            refused_id,
            Action::Reject,
            "未完成整改。",
            Some(true),
            day,
        )
        .unwrap();
        work.act(
            &subject(&b),
            withdrawn_id,
            Action::Cancel,
            "暂不申请",
            None,
            day,
        )
        .unwrap();
        sched.tick(day).unwrap();
        assert_eq!(commitment(&a), "withdrawn", "{name}");
        assert_eq!(commitment(&b), "withdrawn", "{name}");
        // Once: a second pass finds nothing more to do.
        sched.tick(day + Duration::hours(1)).unwrap();
        let lapsed = told
            .lock()
            .unwrap()
            .iter()
            .filter(|a| *a == "commitment.lapse")
            .count();
        assert_eq!(lapsed, 2, "{name}");
        // The refusal quotes the officer's words ended once.
        let msgs = store.messages("subject", &a, 10).unwrap();
        assert!(
            msgs.iter()
                .any(|m| m.body.contains("理由：未完成整改。") && !m.body.contains("。。")),
            "{name}: {msgs:?}"
        );
        // Applying again the same day signs a commitment of its own, public, under a new
        // number the case names (the same day's number again changed nothing: the application
        // went on without a commitment in force).
        let again = work
            .apply_repair(&subject(&b), &rec(&b), true, "已缴纳罚款", &[pdf()], day)
            .unwrap();
        let heads = store.subject_heads(&b, &["CN"]).unwrap();
        let live: Vec<_> = heads.iter().filter(|h| h.change == "created").collect();
        assert_eq!((heads.len(), live.len()), (2, 1), "{name}: {heads:?}");
        let case = store.case(again).unwrap().unwrap();
        let number = store::payload_items(&live[0].payload)
            .into_iter()
            .find(|(k, _)| k.as_ref() == "CN_BH")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        assert!(
            case.commitment
                .as_deref()
                .is_some_and(|c| c.contains(&number)),
            "{name}: {:?} / {number}",
            case.commitment
        );
        // The subject objects to its own commitment: the unit may not withdraw it so (a repair
        // granted on it would stand on none).
        let oid = work
            .object(&subject(&b), &live[0].record_id, "承诺填写有误", &[], day)
            .unwrap();
        sched.tick(day + Duration::minutes(90)).unwrap();
        let m = refused(work.act(
            &unit(UNIT),
            oid,
            Action::WithdrawRecord,
            "异议成立",
            None,
            day + Duration::minutes(91),
        ));
        assert!(m.contains("不能通过异议撤销"), "{name}: {m}");
        // An application with no evidence at all is taken, and the officer is told to check.
        let bare = work
            .apply_repair(&subject(&a), &rec(&a), true, "已缴纳罚款", &[], day)
            .unwrap();
        let v = work.view(&unit(UNIT), bare, day).unwrap();
        let pre = v.pre_review.expect("an open repair is pre-reviewed");
        assert!(
            pre.conditions
                .iter()
                .any(|c| c.name == "证明材料"
                    && c.status == domain::workflow::ConditionStatus::Pending),
            "{name}: {pre:?}"
        );
        let with = work
            .view(&unit(UNIT), again, day)
            .unwrap()
            .pre_review
            .unwrap();
        assert!(
            with.conditions.iter().all(|c| c.name != "证明材料"),
            "{name}: {with:?}"
        );
        // Withdrawn too, it is that commitment that lapses.
        work.act(&subject(&b), again, Action::Cancel, "暂不申请", None, day)
            .unwrap();
        sched.tick(day + Duration::hours(2)).unwrap();
        assert!(
            store
                .subject_heads(&b, &["CN"])
                .unwrap()
                .iter()
                .all(|h| h.change == "withdrawn"),
            "{name}"
        );
        // The objection to that commitment ended with it, told as the platform's step.
        let told = store.messages("subject", &b, 50).unwrap();
        assert!(
            told.iter().any(|m| m
                .body
                .contains(&format!("（编号{oid}）所涉记录已由平台撤回"))),
            "{name}: {told:?}"
        );
    }
}

/// A case's message is sent before the reminders queued ahead of it: a scan's thousands of
/// reminders must not hold an applicant's answer back.
#[test]
fn case_messages_go_out_before_queued_reminders() {
    for ts in stores() {
        let store = Store::open(&ts.spec).unwrap();
        let now = at("2026-07-03");
        store
            .write(|c| {
                for (i, dedupe) in ["remind:a:sms", "remind:b:sms", "case:7:3:sms"]
                    .iter()
                    .enumerate()
                {
                    c.execute(
                        "INSERT INTO outbox (channel, recipient, title, body, dedupe, next_attempt, created_at)
                         VALUES ('sms', $1, 't', 'b', $2, $3, $3)",
                        &[
                            format!("subject:s{i}").as_str().into(),
                            (*dedupe).into(),
                            now.into(),
                        ],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let first = store
            .claim_outbox("runner-1", now, now + Duration::minutes(5), 1)
            .unwrap();
        assert_eq!(first[0].dedupe, "case:7:3:sms", "{}", ts.name);
        let next = store
            .claim_outbox("runner-1", now, now + Duration::minutes(5), 5)
            .unwrap();
        let order: Vec<&str> = next.iter().map(|m| m.dedupe.as_str()).collect();
        assert_eq!(order, ["remind:a:sms", "remind:b:sms"], "{}", ts.name);
    }
}

/// A market-regulation penalty's early end is barred by a later violation of the same kind
/// (SAMR Order 45 第十四条): the subject's other penalty of the same 违法行为类型 decided since
/// is named in the officer's pre-check; one decided before is not.
#[test]
fn a_later_violation_of_the_same_kind_is_named_for_a_market_repair() {
    let rules = Rulebook::builtin().unwrap();
    let scjg = "盐城市市场监督管理局";
    let code = uscc(21);
    for ts in stores() {
        let name = ts.name;
        let keys = KeyRing::generate().unwrap();
        let store = Store::open(&ts.spec).unwrap();
        let csv = penalties(
            &rules,
            &[
                ("丙商贸公司", &code, "盐市监罚〔2026〕300号", "2026-04-20"),
                ("丙商贸公司", &code, "盐市监罚〔2026〕301号", "2026-05-01"),
                ("丙商贸公司", &code, "盐市监罚〔2026〕302号", "2026-05-10"),
            ],
        )
        .replace(UNIT, scjg)
        .replace(
            &rules.units.find(UNIT).unwrap().uscc,
            &rules.units.find(scjg).unwrap().uscc,
        );
        let clock = FixedClock::at(at("2026-06-10"));
        let s = Importer {
            store: &store,
            rules: &rules,
            keys: &keys,
            clock: &clock,
        }
        .import_reader(
            None,
            Format::Csv,
            csv.as_bytes(),
            &ImportOptions {
                unit: scjg.into(),
                class: "行政处罚".into(),
                actor: "test".into(),
                channel: Channel::File,
            },
            &|_| {},
        )
        .unwrap();
        assert_eq!(s.accepted, 3, "{name}: {s:?}");
        let heads = store.subject_heads(&code, &["CF"]).unwrap();
        let of = |no: &str| {
            heads
                .iter()
                .find(|h| h.payload.contains(no))
                .unwrap()
                .record_id
                .clone()
        };
        let work = Casework {
            store: &store,
            rules: &rules,
            keys: &keys,
        };
        let day = at("2026-07-03");
        let id = work
            .apply_repair(
                &subject(&code),
                &of("301号"),
                true,
                "已缴纳罚款",
                &[pdf()],
                day,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let pre = work.view(&unit(scjg), id, day).unwrap().pre_review.unwrap();
        let same = pre
            .conditions
            .iter()
            .find(|c| c.name == "同类违法行为")
            .unwrap_or_else(|| panic!("{name}: {pre:?}"));
        assert!(
            same.detail.contains("盐市监罚〔2026〕302号") && !same.detail.contains("300号"),
            "{name}: {}",
            same.detail
        );
    }
}
