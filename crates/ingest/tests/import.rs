//! Ingestion end to end, on SQLite and PostgreSQL alike.

use std::collections::BTreeSet;
use std::path::Path;

use domain::clock::Clock;
use ingest::{ImportOptions, ImportSummary, Importer};
use rulebook::Rulebook;
use store::{Channel, Store};
use synth::{GenOptions, Manifest, OutFormat};
use testkit::{clock_on, day, stores};

fn opts(unit: &str, class: &str) -> ImportOptions {
    ImportOptions {
        unit: unit.into(),
        class: class.into(),
        actor: "test".into(),
        channel: Channel::File,
    }
}

fn import(
    store: &Store,
    rules: &Rulebook,
    keys: &crypto::KeyRing,
    clock: &dyn Clock,
    path: &Path,
    unit: &str,
    class: &str,
) -> ImportSummary {
    Importer {
        store,
        rules,
        keys,
        clock,
    }
    .import_path(path, &opts(unit, class), &|_| {})
    .unwrap_or_else(|e| panic!("import {}: {e}", path.display()))
}

/// A 行政处罚 file of the 生态环境局, imported on 2026-05-08.
fn import_on_may_8(
    store: &Store,
    rules: &Rulebook,
    keys: &crypto::KeyRing,
    path: &Path,
) -> ImportSummary {
    import(
        store,
        rules,
        keys,
        &clock_on("2026-05-08"),
        path,
        "盐城市生态环境局",
        "行政处罚",
    )
}

fn rejected_rows(store: &Store, submission: i64) -> BTreeSet<u64> {
    store
        .rejections(submission)
        .unwrap()
        .iter()
        .map(|r| r.row_no as u64)
        .collect()
}

fn small_city(dir: &Path, format: OutFormat, only: Option<&str>) -> (Rulebook, Manifest) {
    let rules = Rulebook::builtin().unwrap();
    let mut o = GenOptions::small(11, day("2026-11-20"));
    o.orgs = 300;
    o.persons = 80;
    o.licences = 300;
    o.penalties = 400;
    o.lists = 30;
    o.commitments = 40;
    o.contracts = 20;
    o.honours = 10;
    o.dirty = 0.05;
    o.format = format;
    o.only = only.map(str::to_string);
    let m = synth::generate(&rules, dir, &o).unwrap();
    (rules, m)
}

#[test]
fn every_dirty_row_is_rejected_with_a_reason_and_no_row_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, m) = small_city(dir.path(), OutFormat::Csv, None);
    let clock = clock_on("2026-11-20");
    let mut files = m.files.clone();
    files.sort_by_key(|f| f.class != "登记注册基本信息");
    let kinds: BTreeSet<&str> = files
        .iter()
        .flat_map(|f| f.dirty_by_kind.keys().map(String::as_str))
        .collect();
    for k in [
        "bad_checksum",
        "missing_required",
        "bad_date",
        "duplicate",
        "bad_amount",
        "bad_enum",
    ] {
        assert!(
            kinds.contains(k),
            "the generated city should contain {k} rows"
        );
    }
    for ts in stores() {
        let keys = testkit::keys();
        let (mut read, mut acc, mut rej) = (0, 0, 0);
        for f in &files {
            let s = import(
                &ts.store,
                &rules,
                &keys,
                &clock,
                &dir.path().join(&f.file),
                &f.unit,
                &f.class,
            );
            assert_eq!(s.rows_read, f.rows, "{} {}", ts.name, f.file);
            assert_eq!(
                s.accepted + s.rejected,
                s.rows_read,
                "{} {}",
                ts.name,
                f.file
            );
            let id = s.submission_id.expect("committed");
            let got = rejected_rows(&ts.store, id);
            let want: BTreeSet<u64> = f.dirty_rows.iter().map(|d| d.row_no).collect();
            assert_eq!(
                got, want,
                "{}: rejected rows of {} differ from its dirty rows",
                ts.name, f.file
            );
            for r in ts.store.rejections(id).unwrap() {
                assert!(!r.problems.is_empty() && r.problems.iter().all(|p| !p.reason.is_empty()));
            }
            read += s.rows_read;
            acc += s.accepted;
            rej += s.rejected;
        }
        assert_eq!(read, acc + rej);
        let stats = ts.store.stats().unwrap();
        assert_eq!(
            stats.records as u64, acc,
            "{}: every accepted row is one current record",
            ts.name
        );
        // Most records link to a registered subject; a few orgs were left unregistered on purpose.
        let q = ts.store.quality_by_unit(None).unwrap();
        let linked: u64 = q.iter().map(|u| u.counts.linked).sum();
        assert!(
            linked * 100 > acc * 85 && linked < acc,
            "{}: linked {linked} of {acc}",
            ts.name
        );
    }
}

#[test]
fn formats_encodings_and_header_styles_all_import() {
    let rules = Rulebook::builtin().unwrap();
    let clock = clock_on("2026-11-20");
    for (format, rows) in [
        (OutFormat::CsvGb18030, 400),
        (OutFormat::Xlsx, 400),
        (OutFormat::Json, 400),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (_, m) = small_city(dir.path(), format, Some("行政处罚"));
        let f = &m.files[0];
        assert_eq!(f.rows, rows);
        let ts = testkit::sqlite();
        let keys = testkit::keys();
        let s = import(
            &ts.store,
            &rules,
            &keys,
            &clock,
            &dir.path().join(&f.file),
            &f.unit,
            &f.class,
        );
        assert_eq!(s.rows_read, f.rows, "{format:?}");
        assert_eq!(s.rejected, f.dirty, "{format:?}");
        let expected_format = match format {
            OutFormat::CsvGb18030 => "csv-gb18030",
            OutFormat::Xlsx => "xlsx",
            _ => "json",
        };
        assert_eq!(s.format, expected_format);
    }
}

const HEADER: &str = "行政相对人名称,行政相对人类别,统一社会信用代码,法定代表人,行政处罚决定书文号,违法行为类型,违法事实,处罚依据,处罚类别,处罚内容,罚款金额（万元）,处罚决定日期,处罚有效期,处罚机关,处罚机关统一社会信用代码,数据来源单位,数据来源单位统一社会信用代码";

fn penalty_row(name: &str, code: &str, no: &str, fine: &str, date: &str) -> String {
    let unit = "盐城市生态环境局";
    let unit_code = "11320900001401484X";
    format!(
        "{name},法人及非法人组织,{code},张三,{no},超标排放,经查超标排放大气污染物,《中华人民共和国大气污染防治法》第九十九条,罚款,处罚款{fine}万元,{fine},{date},2029-01-01,{unit},{unit_code},{unit},{unit_code}"
    )
}

fn unit_code(rules: &Rulebook, name: &str) -> String {
    rules.units.find(name).unwrap().uscc.clone()
}

/// A penalty on 盐城市恒泰化工有限公司 decided on 2026-05-06 (0.3 万元), by `unit`.
fn hengtai_penalty(rules: &Rulebook, no: &str, unit: &str) -> String {
    penalty_row(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        no,
        "0.3",
        "2026-05-06",
    )
    .replace("11320900001401484X", &unit_code(rules, unit))
}

/// [`hengtai_penalty`] as a JSON record keyed by the Chinese headers.
fn penalty_json(
    rules: &Rulebook,
    no: &str,
    unit: &str,
) -> serde_json::Map<String, serde_json::Value> {
    HEADER
        .split(',')
        .zip(hengtai_penalty(rules, no, unit).split(','))
        .map(|(h, v)| (h.to_string(), serde_json::Value::String(v.to_string())))
        .collect()
}

fn write(dir: &Path, name: &str, rows: &[String]) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut text = String::from(HEADER);
    for r in rows {
        text.push('\n');
        text.push_str(r);
    }
    text.push('\n');
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn same_file_twice_changes_nothing_and_a_correction_is_a_new_version() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市生态环境局";
    let uc = unit_code(&rules, unit);
    let fix = |r: String| r.replace("11320900001401484X", &uc);
    let dir = tempfile::tempdir().unwrap();
    let a = fix(penalty_row(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕1号",
        "0.2",
        "2026-06-01",
    ));
    let b = fix(penalty_row(
        "建湖县鑫达建材有限公司",
        "91320925MA1N8K2T86",
        "盐环罚〔2026〕2号",
        "1.5",
        "2026-06-02",
    ));
    for ts in stores() {
        let keys = testkit::keys();
        let clock1 = clock_on("2026-06-03");
        // The second code above has a wrong check character on purpose; use a valid one.
        let b_ok = b.replace(
            "91320925MA1N8K2T86",
            &synth::make_uscc(&mut synth::Rng::new(5), "91", "320925"),
        );
        let f1 = write(dir.path(), "v1.csv", &[a.clone(), b_ok.clone()]);
        let s1 = import(&ts.store, &rules, &keys, &clock1, &f1, unit, "行政处罚");
        assert_eq!(
            (s1.accepted, s1.created, s1.rejected),
            (2, 2, 0),
            "{}",
            ts.name
        );
        let before = ts.store.stats().unwrap();
        let again = import(&ts.store, &rules, &keys, &clock1, &f1, unit, "行政处罚");
        assert_eq!(again.duplicate_of, s1.submission_id, "{}", ts.name);
        assert_eq!(again.submission_id, None);
        let after = ts.store.stats().unwrap();
        assert_eq!(
            (before.records, before.versions, before.submissions),
            (after.records, after.versions, after.submissions)
        );

        // The same rows in another file (other bytes) are unchanged; a changed fine is a correction.
        let clock2 = clock_on("2026-06-10");
        let a2 = a.replace(",0.2,", ",0.25,");
        let f2 = write(dir.path(), "v2.csv", &[b_ok.clone(), a2]);
        let s2 = import(&ts.store, &rules, &keys, &clock2, &f2, unit, "行政处罚");
        assert_eq!(
            (s2.unchanged, s2.corrected, s2.created, s2.rejected),
            (1, 1, 0, 0),
            "{}",
            ts.name
        );

        let file = views::credit_file(
            &ts.store,
            &rules,
            "91320900MA1MB4X50R",
            day("2026-06-10"),
            views::Audience::Full,
        )
        .unwrap()
        .unwrap();
        let cf = file.classes.iter().find(|c| c.code == "CF").unwrap();
        let rec = &cf.records[0];
        assert_eq!(rec.versions.len(), 2, "{}", ts.name);
        assert_eq!(rec.versions[1].change, "corrected");
        let fine = rec.items.iter().find(|i| &*i.code == "CF_NR_FK").unwrap();
        assert_eq!(fine.value, "2500.00", "万元 kept exactly, shown in 元");
        assert_eq!(&*fine.name, "罚款金额（元）");
        // As the file stood before the correction.
        let old = views::credit_file(
            &ts.store,
            &rules,
            "91320900MA1MB4X50R",
            day("2026-06-05"),
            views::Audience::Full,
        )
        .unwrap()
        .unwrap();
        let old_rec = &old.classes.iter().find(|c| c.code == "CF").unwrap().records[0];
        assert_eq!(old_rec.versions.len(), 1);
        assert_eq!(
            old_rec
                .items
                .iter()
                .find(|i| &*i.code == "CF_NR_FK")
                .unwrap()
                .value,
            "2000.00"
        );
        // The window was computed under the 2026 rules and stored with the rule version.
        assert_eq!(rec.regime.as_deref(), Some("2026"));
        assert_eq!(rec.repairable_from, Some(day("2026-09-02")));
        assert_eq!(rec.public_ends, Some(day("2027-06-01")));
        assert_eq!(rec.rule_version.as_deref(), Some("2026.1/2026"));
    }
}

#[test]
fn another_unit_cannot_overwrite_a_record_and_withdrawal_leaves_history() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕9号", env);
    let f = write(dir.path(), "a.csv", std::slice::from_ref(&row));
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        let s = import(&ts.store, &rules, &keys, &clock, &f, env, "行政处罚");
        assert_eq!(s.accepted, 1);
        // The same record (same decision number and subject) with other content, from another unit.
        let other = write(dir.path(), "b.csv", &[row.replace("0.3", "0.4")]);
        let s2 = import(
            &ts.store,
            &rules,
            &keys,
            &clock,
            &other,
            "盐城市应急管理局",
            "行政处罚",
        );
        assert_eq!(s2.rejected, 1, "{}", ts.name);
        let r = &ts.store.rejections(s2.submission_id.unwrap()).unwrap()[0];
        assert!(
            r.problems[0].reason.contains("盐城市生态环境局"),
            "{}",
            r.problems[0].reason
        );

        let sub = s.submission_id.unwrap();
        let w = store::Withdrawal {
            unit: "盐城市应急管理局",
            actor: "x",
            reason: "误报",
            at: clock.now(),
        };
        // Only the reporting unit may withdraw; to another unit the submission is not there
        // (answered as a missing one, without naming who reported it).
        match ts.store.withdraw_submission(sub, &w) {
            // Concealed: answered as the missing one is, and marked for the trail.
            Err(store::StoreError::Concealed(m)) => {
                assert!(!m.contains("盐城市生态环境局"), "{m}");
                let missing = ts.store.withdraw_submission(sub + 1000, &w);
                assert!(
                    matches!(&missing, Err(store::StoreError::NotFound(n)) if *n == m.replace(&sub.to_string(), &(sub + 1000).to_string())),
                    "{missing:?} vs {m}"
                );
            }
            other => panic!("{other:?}"),
        }
        let later = clock_on("2026-05-20");
        let w = store::Withdrawal {
            unit: env,
            actor: "李四",
            reason: "决定已撤销",
            at: later.now(),
        };
        assert_eq!(ts.store.withdraw_submission(sub, &w).unwrap().withdrawn, 1);
        let file = views::credit_file(
            &ts.store,
            &rules,
            "91320900MA1MB4X50R",
            day("2026-05-20"),
            views::Audience::Full,
        )
        .unwrap()
        .unwrap();
        let rec = &file.classes[0].records[0];
        assert_eq!(rec.status, domain::record::RecordStatus::Withdrawn);
        assert_eq!(rec.versions.len(), 2);
        assert_eq!(rec.versions[1].reason.as_deref(), Some("决定已撤销"));
        assert_eq!(rec.versions[1].actor, "李四");
        let public = views::credit_file(
            &ts.store,
            &rules,
            "91320900MA1MB4X50R",
            day("2026-05-20"),
            views::Audience::Public,
        )
        .unwrap()
        .unwrap();
        assert!(
            public.classes.is_empty(),
            "a withdrawn record leaves every public view"
        );
        let before = views::credit_file(
            &ts.store,
            &rules,
            "91320900MA1MB4X50R",
            day("2026-05-10"),
            views::Audience::Public,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            before.classes[0].records[0].status,
            domain::record::RecordStatus::Public
        );
        assert_eq!(ts.store.stats().unwrap().records, 0);
        // The old file sent again (a system re-sending all it holds) leaves it withdrawn, and
        // the unit is told so.
        let again = import(&ts.store, &rules, &keys, &later, &f, env, "行政处罚");
        assert_eq!(
            (again.corrected, again.unchanged),
            (0, 1),
            "{}: {again:?}",
            ts.name
        );
        assert!(
            again
                .notices
                .iter()
                .any(|n| n.contains("不恢复公示") && n.contains("撤回有误，恢复")),
            "{}: {:?}",
            ts.name,
            again.notices
        );
        assert_eq!(ts.store.stats().unwrap().records, 0, "{}", ts.name);
        // Sent with a correction, it comes back, and the unit is told so (and the batch keeps
        // the notice).
        let fixed = write(dir.path(), "fixed.csv", &[row.replace("0.3", "0.35")]);
        let again = import(&ts.store, &rules, &keys, &later, &fixed, env, "行政处罚");
        assert_eq!(again.corrected, 1, "{}: {again:?}", ts.name);
        assert!(
            again
                .notices
                .iter()
                .any(|n| n.contains("1条此前已撤回的记录")),
            "{}: {:?}",
            ts.name,
            again.notices
        );
    }
}

/// The same bytes sent again (a nightly export, a retry after a timeout) are answered as a
/// repeat of the earlier batch, and still told that records withdrawn since stay withdrawn.
#[test]
fn a_byte_identical_resend_is_told_its_withdrawn_records_stay_withdrawn() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let f = write(
        dir.path(),
        "a.csv",
        &[
            hengtai_penalty(&rules, "盐环罚〔2026〕61号", env),
            hengtai_penalty(&rules, "盐环罚〔2026〕62号", env),
        ],
    );
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        let first = import(&ts.store, &rules, &keys, &clock, &f, env, "行政处罚");
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let w = store::Withdrawal {
            unit: env,
            actor: "李四",
            reason: "决定已撤销",
            at: clock.now(),
        };
        ts.store.withdraw_record(&records[0].record_id, &w).unwrap();
        let again = import(&ts.store, &rules, &keys, &clock, &f, env, "行政处罚");
        assert_eq!(
            again.duplicate_of, first.submission_id,
            "{}: {again:?}",
            ts.name
        );
        assert!(
            again
                .notices
                .iter()
                .any(|n| n.contains("本批次有1条记录此前已撤回") && n.contains("仍为撤回状态")),
            "{}: {:?}",
            ts.name,
            again.notices
        );
    }
}

#[test]
fn versions_cannot_be_changed_behind_the_platform() {
    for ts in stores() {
        let rules = Rulebook::builtin().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let env = "盐城市生态环境局";
        let row = hengtai_penalty(&rules, "盐环罚〔2026〕3号", env);
        let f = write(dir.path(), "a.csv", &[row]);
        import(
            &ts.store,
            &rules,
            &testkit::keys(),
            &clock_on("2026-05-08"),
            &f,
            env,
            "行政处罚",
        );
        let upd = ts
            .store
            .write(|c| c.execute("UPDATE record_versions SET payload = '{}'", &[]));
        assert!(upd.is_err(), "{}: update must be refused", ts.name);
        let del = ts
            .store
            .write(|c| c.execute("DELETE FROM record_versions", &[]));
        assert!(del.is_err(), "{}: delete must be refused", ts.name);
        assert_eq!(ts.store.stats().unwrap().versions, Some(1));
    }
}

#[test]
fn rejected_rows_go_back_in_the_units_own_layout() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let uc = unit_code(&rules, env);
    let good = penalty_row(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕5号",
        "0.3",
        "2026-05-06",
    )
    .replace("11320900001401484X", &uc);
    let bad_code = penalty_row(
        "盐城市某某公司",
        "91320900MA1MB4X50T",
        "盐环罚〔2026〕6号",
        "0.3",
        "2026-05-06",
    )
    .replace("11320900001401484X", &uc);
    let bad_money = penalty_row(
        "盐城市某某公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕7号",
        "三千",
        "2026-05-06",
    )
    .replace("11320900001401484X", &uc);
    let row = |no: &str| {
        penalty_row(
            "盐城市某某公司",
            "91320900MA1MB4X50R",
            no,
            "0.3",
            "2026-05-06",
        )
        .replace("11320900001401484X", &uc)
    };
    // A stray comma: one cell more than the header, the unit's own remark in it.
    let too_wide = format!("{},单位备注ABC", row("盐环罚〔2026〕8号"));
    // A cell longer than an Excel cell can hold.
    let too_long = row("盐环罚〔2026〕9号").replace("经查超标排放大气污染物", &"x".repeat(40_000));
    let f = write(
        dir.path(),
        "a.csv",
        &[good, bad_code, bad_money, too_wide, too_long],
    );
    let ts = testkit::sqlite();
    let keys = testkit::keys();
    let s = import(
        &ts.store,
        &rules,
        &keys,
        &clock_on("2026-05-08"),
        &f,
        env,
        "行政处罚",
    );
    assert_eq!((s.accepted, s.rejected), (1, 4));
    let out = dir.path().join("退回.xlsx");
    let n = ingest::rejects::write_rejected_xlsx(&ts.store, &keys, s.submission_id.unwrap(), &out)
        .unwrap();
    assert_eq!(n, 4);
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let header: Vec<&str> = HEADER.split(',').collect();
    assert_eq!(&rows[0][..header.len()], header.as_slice());
    assert_eq!(rows[0][header.len()], "退回原因");
    assert_eq!(rows[1][2], "91320900MA1MB4X50T", "cells as received");
    assert!(
        rows[1][header.len()].contains("【统一社会信用代码】")
            && rows[1][header.len()].contains("校验码")
    );
    assert!(
        rows[2][header.len()].contains("【罚款金额（万元）】"),
        "{}",
        rows[2][header.len()]
    );
    assert_eq!(rows[2][header.len() + 1], "4");
    assert_eq!(rows[3][header.len() + 2], "单位备注ABC");
    assert!(rows[4][6].ends_with("以下省略）") && rows[4][6].chars().count() == 32_767);
    // The unit's columns are text (number format "@"), cells and columns alike: a code
    // retyped there stays as typed.
    let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut part = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name(name).unwrap(), &mut s).unwrap();
        s
    };
    let styles = part("xl/styles.xml");
    let sheet = part("xl/worksheets/sheet1.xml");
    assert!(styles.contains("formatCode=\"@\""), "{styles}");
    assert!(
        sheet.contains("<cols>") && sheet.contains("style="),
        "{sheet}"
    );
}

#[test]
fn one_code_many_names_is_reported() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let uc = unit_code(&rules, env);
    let a = penalty_row(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕11号",
        "0.3",
        "2026-05-06",
    )
    .replace("11320900001401484X", &uc);
    let b = penalty_row(
        "盐城恒泰化工公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕12号",
        "0.3",
        "2026-05-07",
    )
    .replace("11320900001401484X", &uc);
    // The same name with its brackets in either width is one name.
    let [c, d] = [("(亭湖)", "13"), ("（亭湖） ", "14")].map(|(branch, no)| {
        penalty_row(
            &format!("盐城市恒泰化工有限公司{branch}"),
            "91320900MA1MB4X50R",
            &format!("盐环罚〔2026〕{no}号"),
            "0.3",
            "2026-05-07",
        )
        .replace("11320900001401484X", &uc)
    });
    let f = write(dir.path(), "a.csv", &[a, b, c, d]);
    for ts in stores() {
        import(
            &ts.store,
            &rules,
            &testkit::keys(),
            &clock_on("2026-05-08"),
            &f,
            env,
            "行政处罚",
        );
        let c = ts.store.code_conflicts(10).unwrap();
        let hit = c
            .iter()
            .find(|x| x.kind == "one_code_many_names")
            .expect("conflict found");
        assert_eq!(hit.subject_keys, vec!["91320900MA1MB4X50R".to_string()]);
        assert_eq!(hit.names.len(), 3, "{}: {:?}", ts.name, hit.names);
        assert!(
            hit.names
                .iter()
                .any(|n| n == "盐城市恒泰化工有限公司（亭湖）")
        );
        // One name, several codes: reported for organisations, not for natural persons (two
        // people called 张伟 are two people).
        let now = chrono::Utc::now();
        ts.store
            .write(|c| {
                for (key, kind, name) in [
                    ("91320900MA1MB4X6XX", "organisation", "盐城市恒泰化工有限公司"),
                    ("P0000000000000000000000000000001", "natural_person", "张伟"),
                    ("P0000000000000000000000000000002", "natural_person", "张伟"),
                ] {
                    c.execute(
                        "INSERT INTO subjects (subject_key, kind, name, first_unit, first_seen, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $5)",
                        &[key.into(), kind.into(), name.into(), env.into(), now.into()],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let c = ts.store.code_conflicts(10).unwrap();
        let names: Vec<&str> = c
            .iter()
            .filter(|x| x.kind == "one_name_many_codes")
            .flat_map(|x| x.names.iter().map(String::as_str))
            .collect();
        assert!(
            names.contains(&"盐城市恒泰化工有限公司"),
            "{}: {names:?}",
            ts.name
        );
        assert!(!names.contains(&"张伟"), "{}: {names:?}", ts.name);

        // An officer looks into the one-code finding: it leaves the list, with who and why kept;
        // a name reported since brings it back. A finding that is not there cannot be reviewed.
        let at = chrono::Utc::now();
        let covered = ts
            .store
            .review_code_conflict(
                "one_code_many_names",
                "91320900MA1MB4X50R",
                "user:xinyongban",
                "分支机构名称，已与登记机关核实",
                at,
            )
            .unwrap();
        assert_eq!(covered.len(), 3, "{}: {covered:?}", ts.name);
        let open = |kind: &str| {
            ts.store
                .code_conflicts(10)
                .unwrap()
                .into_iter()
                .filter(|x| x.kind == kind)
                .count()
        };
        assert_eq!(open("one_code_many_names"), 0, "{}", ts.name);
        assert_eq!(open("one_name_many_codes"), 1, "{}", ts.name);
        assert!(
            ts.store
                .review_code_conflict("one_code_many_names", "91320900MA1MB4X6XX", "x", "y", at)
                .is_err()
        );
        let reviews = ts.store.code_conflict_reviews(10).unwrap();
        assert_eq!(reviews[0].reason, "分支机构名称，已与登记机关核实");
        ts.store
            .write(|c| {
                c.execute(
                    "INSERT INTO subject_names (subject_key, name, first_unit, first_seen)
                     VALUES ($1, $2, $3, $4)",
                    &[
                        "91320900MA1MB4X50R".into(),
                        "盐城市恒泰化工有限公司（大丰）".into(),
                        env.into(),
                        at.into(),
                    ],
                )
            })
            .unwrap();
        assert_eq!(open("one_code_many_names"), 1, "{}", ts.name);
    }
}

#[test]
fn a_repaired_record_does_not_come_back_when_its_unit_sends_it_again() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕31号", env);
    let f = write(dir.path(), "a.csv", std::slice::from_ref(&row));
    let changed = write(dir.path(), "b.csv", &[row.replace("0.3", "0.4")]);
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        import(&ts.store, &rules, &keys, &clock, &f, env, "行政处罚");
        let rec = ts
            .store
            .public_records(&store::PublicQuery {
                classes: vec!["CF".into()],
                limit: 5,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(rec.len(), 1, "{}", ts.name);
        let later = clock_on("2026-09-10");
        ts.store
            .repair_record(
                &rec[0].record_id,
                &store::Withdrawal {
                    unit: env,
                    actor: "审核员",
                    reason: "信用修复已核准",
                    at: later.now(),
                },
            )
            .unwrap();
        // The routine monthly resend of the same decision: nothing changes.
        let again = import(&ts.store, &rules, &keys, &later, &f, env, "行政处罚");
        assert_eq!((again.accepted, again.rejected), (1, 0), "{}", ts.name);
        let public = ts
            .store
            .public_records(&store::PublicQuery {
                classes: vec!["CF".into()],
                limit: 5,
                ..Default::default()
            })
            .unwrap();
        assert!(
            public.is_empty(),
            "{}: the repaired penalty came back",
            ts.name
        );
        // A changed version of it is refused with the reason.
        let s = import(&ts.store, &rules, &keys, &later, &changed, env, "行政处罚");
        assert_eq!(s.rejected, 1, "{}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        assert!(
            r.problems[0].reason.contains("信用修复"),
            "{}",
            r.problems[0].reason
        );
        assert_eq!(ts.store.stats().unwrap().records, 0, "{}", ts.name);
    }
}

/// The secondary indexes of the record tables, as SQLite holds them (name and definition).
fn record_indexes(store: &Store) -> Vec<(String, String)> {
    store
        .read(|c| {
            c.query(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                   AND tbl_name IN ('records', 'record_versions') ORDER BY name",
                &[],
            )
        })
        .unwrap()
        .iter()
        .map(|r| (r.text(0).unwrap(), r.text(1).unwrap()))
        .collect()
}

/// Every index entry matches its table row (SQLite's own check), and the record tables read the
/// same through each index as through the table.
fn assert_indexes_whole(store: &Store, what: &str) {
    let check = store
        .read(|c| c.query("PRAGMA integrity_check", &[]))
        .unwrap();
    assert_eq!(check[0].text(0).unwrap(), "ok", "{what}");
    for (index, table) in [
        ("records_unit_date", "records"),
        ("records_class_updated", "records"),
        ("record_versions_by_subject", "record_versions"),
        ("record_versions_by_submission", "record_versions"),
    ] {
        let n = |sql: String| {
            store
                .read(|c| c.query_one(&sql, &[]))
                .unwrap()
                .unwrap()
                .i64(0)
                .unwrap()
        };
        assert_eq!(
            n(format!("SELECT count(*) FROM {table} INDEXED BY {index}")),
            n(format!("SELECT count(*) FROM {table} NOT INDEXED")),
            "{what}: {index}"
        );
    }
}

/// A generated penalty file and what importing it needs, for the large-submission tests.
struct Penalties {
    _dir: tempfile::TempDir,
    rules: Rulebook,
    path: std::path::PathBuf,
    unit: String,
    class: String,
    clock: domain::clock::FixedClock,
    keys: crypto::KeyRing,
}

impl Penalties {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (rules, m) = small_city(dir.path(), OutFormat::Csv, Some("行政处罚"));
        let f = &m.files[0];
        Penalties {
            path: dir.path().join(&f.file),
            unit: f.unit.clone(),
            class: f.class.clone(),
            _dir: dir,
            rules,
            clock: clock_on("2026-11-20"),
            keys: testkit::keys(),
        }
    }

    fn import_into(&self, store: &Store) -> ImportSummary {
        import(
            store,
            &self.rules,
            &self.keys,
            &self.clock,
            &self.path,
            &self.unit,
            &self.class,
        )
    }

    /// Imports the file into a store on the plain path and one on the large path, which must
    /// count the same.
    fn import_plain_and_large(
        &self,
        plain: &Store,
        large: &Store,
    ) -> (ImportSummary, ImportSummary) {
        let (a, b) = (self.import_into(plain), self.import_into(large));
        assert_eq!(
            (a.accepted, a.rejected, a.created, a.linked),
            (b.accepted, b.rejected, b.created, b.linked)
        );
        assert!(b.accepted > 300, "{b:?}");
        (a, b)
    }
}

#[test]
fn a_large_submission_rebuilds_its_indexes_at_commit_and_reads_the_same() {
    let p = Penalties::new();
    let plain = testkit::sqlite();
    let large = testkit::sqlite();
    // Treat every submission to `large` as large: its indexes are set aside after the first batch.
    large.store.defer_indexes_after(1);
    let before = record_indexes(&large.store);
    assert_eq!(before.len(), 11, "{before:?}");
    let (a, b) = p.import_plain_and_large(&plain.store, &large.store);
    assert_eq!(record_indexes(&large.store), before);
    assert_indexes_whole(&large.store, "after a large submission");
    // The same heads and versions, read through the rebuilt indexes.
    let dump = |s: &Store| {
        s.read(|c| {
            c.query(
                "SELECT r.subject_key, hex(r.record_key), r.current_version, r.change, r.decided_on,
                    r.public_ends, r.repairable_from, v.version_no, v.content_hash, v.on_time
                 FROM records r INDEXED BY records_unit_date
                 JOIN record_versions v INDEXED BY record_versions_by_subject
                   ON v.subject_key = r.subject_key AND v.record_key = r.record_key
                 WHERE r.source_unit = $1 AND r.class_code = 'CF'
                 ORDER BY r.subject_key, r.record_key, v.version_no",
                &[p.unit.as_str().into()],
            )
        })
        .unwrap()
        .iter()
        .map(|r| format!("{r:?}"))
        .collect::<Vec<_>>()
    };
    let (da, db) = (dump(&plain.store), dump(&large.store));
    assert_eq!(da.len() as u64, a.accepted);
    assert_eq!(da, db);

    // The same bytes again: the rows are applied, the indexes set aside, then the whole
    // submission is rolled back as a duplicate — and the drop with it.
    let again = p.import_into(&large.store);
    assert_eq!(again.duplicate_of, b.submission_id);
    assert_eq!(record_indexes(&large.store), before);
    assert_indexes_whole(&large.store, "after a rolled-back large submission");
}

/// The deferrable secondary indexes of the record tables, as PostgreSQL holds them.
fn pg_record_indexes(store: &Store) -> Vec<(String, String)> {
    store
        .read(|c| {
            c.query(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
                   AND tablename IN ('records', 'record_versions') ORDER BY indexname",
                &[],
            )
        })
        .unwrap()
        .iter()
        .map(|r| (r.text(0).unwrap(), r.text(1).unwrap()))
        .collect()
}

/// Every B-tree index of the record tables holds exactly the table's rows (amcheck, with
/// `heapallindexed`).
/// The indexes' object ids: a rebuilt index is a new object.
fn pg_index_oids(store: &Store) -> Vec<i64> {
    store
        .read(|c| {
            c.query(
                "SELECT to_regclass(indexname)::oid::bigint FROM pg_indexes
                 WHERE schemaname = current_schema()
                   AND tablename IN ('records', 'record_versions') ORDER BY indexname",
                &[],
            )
        })
        .unwrap()
        .iter()
        .map(|r| r.i64(0).unwrap())
        .collect()
}

/// How many times the record tables were vacuumed (each counts once per VACUUM).
fn pg_vacuums(store: &Store) -> i64 {
    store
        .read(|c| {
            c.query_one(
                "SELECT COALESCE(SUM(vacuum_count), 0)::bigint FROM pg_stat_user_tables
                 WHERE relid IN (to_regclass('records'), to_regclass('record_versions'))",
                &[],
            )
        })
        .unwrap()
        .unwrap()
        .i64(0)
        .unwrap()
}

fn assert_pg_indexes_whole(store: &Store, what: &str) {
    store
        .write(|c| c.batch("CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA public"))
        .unwrap();
    for (name, _) in pg_record_indexes(store) {
        store
            .read(|c| {
                c.query(
                    "SELECT count(*) FROM (SELECT public.bt_index_check(to_regclass($1), true)) x",
                    &[name.as_str().into()],
                )
            })
            .unwrap_or_else(|e| panic!("{what}: index {name}: {e}"));
    }
}

fn pg_dump_records(s: &Store, unit: &str) -> Vec<String> {
    s.read(|c| {
        c.query(
            "SELECT r.subject_key, encode(r.record_key, 'hex'), r.current_version, r.change,
                r.decided_on, r.public_ends, r.repairable_from, v.version_no,
                encode(v.content_hash, 'hex'), v.on_time, v.linked
             FROM records r JOIN record_versions v
               ON v.subject_key = r.subject_key AND v.record_key = r.record_key
             WHERE r.source_unit = $1 AND r.class_code = 'CF'
             ORDER BY r.subject_key, r.record_key, v.version_no",
            &[unit.into()],
        )
    })
    .unwrap()
    .iter()
    .map(|r| format!("{r:?}"))
    .collect()
}

#[test]
fn on_postgres_a_large_submission_sets_its_indexes_aside_and_reads_the_same() {
    let p = Penalties::new();
    let plain = testkit::postgres();
    let large = testkit::postgres();
    large.store.defer_indexes_after(1);
    let before = pg_record_indexes(&large.store);
    assert_eq!(before.len(), 13, "{before:?}"); // two primary keys and the eleven deferrable
    let oids_before = pg_index_oids(&large.store);
    let (a, b) = p.import_plain_and_large(&plain.store, &large.store);
    assert_eq!(pg_record_indexes(&large.store), before);
    // The eleven were set aside and rebuilt (new objects); the primary keys were kept.
    let oids_after = pg_index_oids(&large.store);
    let rebuilt = oids_before
        .iter()
        .zip(&oids_after)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(rebuilt, 11, "{oids_before:?} {oids_after:?}");
    assert_pg_indexes_whole(&large.store, "after a large submission");
    // The bulk load's tables were vacuumed after its commit; the plain import's were not.
    // (Counted, not read off the visibility map: a concurrent test's open transaction keeps
    // VACUUM from marking pages all-visible.)
    assert_eq!(pg_vacuums(&large.store), 2);
    assert_eq!(pg_vacuums(&plain.store), 0);
    let (da, db) = (
        pg_dump_records(&plain.store, &p.unit),
        pg_dump_records(&large.store, &p.unit),
    );
    assert_eq!(da.len() as u64, a.accepted);
    assert_eq!(da, db);

    // The same bytes again: applied with the indexes set aside, then rolled back as a
    // duplicate, and the drop with it.
    let again = p.import_into(&large.store);
    assert_eq!(again.duplicate_of, b.submission_id);
    assert_eq!(pg_record_indexes(&large.store), before);
    assert_eq!(
        pg_index_oids(&large.store),
        oids_after,
        "the drop was rolled back"
    );
    assert_pg_indexes_whole(&large.store, "after a rolled-back large submission");
}

#[test]
fn on_postgres_a_large_submission_keeps_its_indexes_while_a_reader_holds_the_tables() {
    let p = Penalties::new();
    let ts = testkit::postgres();
    ts.store.defer_indexes_after(1);
    let before = pg_record_indexes(&ts.store);
    let oids_before = pg_index_oids(&ts.store);
    // A reader in the middle of a transaction on the heads (as a server's request would be).
    let other = Store::open(&ts.spec).unwrap();
    let mut reader = other.writer().unwrap();
    reader.begin().unwrap();
    reader
        .batch("LOCK TABLE records IN ACCESS SHARE MODE")
        .unwrap();
    let s = p.import_into(&ts.store);
    reader.rollback().unwrap();
    assert!(s.accepted > 300, "{s:?}");
    assert_eq!(s.accepted + s.rejected, s.rows_read);
    assert_eq!(pg_record_indexes(&ts.store), before);
    assert_eq!(pg_index_oids(&ts.store), oids_before, "kept, not rebuilt");
    assert_pg_indexes_whole(&ts.store, "after an import that kept its indexes");
    assert_eq!(pg_dump_records(&ts.store, &p.unit).len() as u64, s.accepted);
}

#[test]
fn another_unit_cannot_correct_a_record_even_when_it_sends_it_twice_in_one_file() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let owner = "盐城市生态环境局";
    let other = "盐城市市场监督管理局";
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕31号", owner);
    let first = write(dir.path(), "a.csv", std::slice::from_ref(&row));
    // The other unit names itself as the deciding and reporting unit: the record is still the
    // owner's (same subject, same decision number).
    let changed = row
        .replace("0.3", "0.4")
        .replace(owner, other)
        .replace(&unit_code(&rules, owner), &unit_code(&rules, other));
    let twice = write(dir.path(), "b.csv", &[changed.clone(), changed]);
    let clock = clock_on("2026-05-08");
    for ts in stores() {
        let a = import(
            &ts.store,
            &rules,
            &testkit::keys(),
            &clock,
            &first,
            owner,
            "行政处罚",
        );
        assert_eq!(a.created, 1, "{}: {a:?}", ts.name);
        let b = import(
            &ts.store,
            &rules,
            &testkit::keys(),
            &clock,
            &twice,
            other,
            "行政处罚",
        );
        assert_eq!((b.accepted, b.rejected), (0, 2), "{}: {b:?}", ts.name);
        let reasons: Vec<String> = ts
            .store
            .rejections(b.submission_id.unwrap())
            .unwrap()
            .iter()
            .map(|r| r.problems[0].reason.clone())
            .collect();
        // Both rows are refused for the same reason on both backends: the record is another
        // unit's, not "a repeat of row 2".
        assert_eq!(reasons.len(), 2, "{}", ts.name);
        for r in &reasons {
            assert!(r.contains("只有原报送单位"), "{}: {r}", ts.name);
        }
    }
}

#[test]
fn a_registration_file_generated_alone_is_rejected_only_where_it_is_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, m) = small_city(dir.path(), OutFormat::Csv, Some("登记注册基本信息"));
    let f = &m.files[0];
    assert!(f.rows > 20, "{f:?}");
    let s = import(
        &testkit::sqlite().store,
        &rules,
        &testkit::keys(),
        &clock_on("2026-11-20"),
        &dir.path().join(&f.file),
        &f.unit,
        &f.class,
    );
    assert_eq!(s.rows_read, f.rows);
    assert_eq!(s.rejected, f.dirty, "{s:?}");
}

/// The files departments actually send: a title above the header, notes after column names,
/// full-width codes and dates, a 警告 with 罚款金额 0, trailing commas, a decimal comma; and the
/// same rows as JSON Lines.
#[test]
fn files_as_departments_fill_them_in_import_row_for_row() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市生态环境局";
    let uc = unit_code(&rules, unit);
    let dir = tempfile::tempdir().unwrap();
    let code = |n: u64| synth::make_uscc(&mut synth::Rng::new(n), "91", "320925");
    let row = |name: &str, code: &str, no: &str, fine: &str, date: &str| {
        penalty_row(name, code, no, fine, date).replace("11320900001401484X", &uc)
    };
    let full_width = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                '0'..='9' | 'A'..='Z' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                other => other,
            })
            .collect()
    };
    let rows = [
        // Row 3: the USCC in full-width characters.
        row(
            "盐城市恒泰化工有限公司",
            &full_width("91320900MA1MB4X50R"),
            "盐环罚〔2026〕11号",
            "0.3",
            "2026-06-01",
        ),
        // Row 4: a warning, its fine written as 0.
        row(
            "建湖县甲有限公司",
            &code(1),
            "盐环罚〔2026〕12号",
            "0",
            "2026-06-01",
        )
        .replace(",罚款,处罚款0万元,0,", ",警告,警告,0,"),
        // Row 5: a decimal comma — 0.2 万元 or 2 万元? Refused, not guessed.
        row(
            "建湖县乙有限公司",
            &code(2),
            "盐环罚〔2026〕13号",
            "0,2",
            "2026-06-01",
        )
        .replace("处罚款0,2万元,0,2,", "处罚款0.2万元,\"0,2\","),
        // Row 6: trailing commas after the last column.
        format!(
            "{},,",
            row(
                "建湖县丙有限公司",
                &code(3),
                "盐环罚〔2026〕14号",
                "1.5",
                "2026-06-01"
            )
        ),
        // Row 7: a date in full-width digits with spaces.
        row(
            "建湖县丁有限公司",
            &code(4),
            "盐环罚〔2026〕15号",
            "0.5",
            "２０２６ 年 ６ 月 ２ 日",
        ),
    ];
    let header = HEADER
        .replace("行政相对人类别", "行政相对人类别（必填）")
        .replace("处罚决定日期", "处罚决定日期(YYYY-MM-DD)")
        .replace("罚款金额（万元）", "罚款金额(单位：万元)")
        .replace(
            "统一社会信用代码,法定代表人",
            "ＣＦ＿ＸＤＲ＿ＳＨＸＹＭ,法定代表人",
        );
    let csv = dir.path().join("with-title.csv");
    std::fs::write(
        &csv,
        format!(
            "盐城市生态环境局2026年6月行政处罚信息,,,\n{header}\n{}\n",
            rows.join("\n")
        ),
    )
    .unwrap();
    // The same rows as JSON Lines, keyed by the plain header, with one line that is not JSON.
    let names: Vec<&str> = HEADER.split(',').collect();
    let mut lines: Vec<String> = rows
        .iter()
        .map(|r| {
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(r.as_bytes());
            let rec = rdr.records().next().unwrap().unwrap();
            let obj: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect();
            serde_json::Value::Object(obj).to_string()
        })
        .collect();
    lines.insert(2, "{not json".into());
    let jsonl = dir.path().join("rows.jsonl");
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();

    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-06-03");
        let s = import(&ts.store, &rules, &keys, &clock, &csv, unit, "行政处罚");
        assert_eq!(s.unknown_columns, Vec::<String>::new(), "{}", ts.name);
        assert_eq!(
            (s.rows_read, s.accepted, s.rejected),
            (5, 4, 1),
            "{}",
            ts.name
        );
        let sub = s.submission_id.unwrap();
        // Numbered as the unit sees its sheet: title row 1, header row 2.
        assert_eq!(
            rejected_rows(&ts.store, sub),
            BTreeSet::from([5]),
            "{}",
            ts.name
        );
        let why = ts.store.rejections(sub).unwrap();
        let p = &why[0].problems[0];
        assert_eq!(p.field, "CF_NR_FK", "{}", ts.name);
        assert!(p.reason.contains("逗号"), "{}: {}", ts.name, p.reason);

        let j = import(&ts.store, &rules, &keys, &clock, &jsonl, unit, "行政处罚");
        assert_eq!(j.format, "jsonl", "{}", ts.name);
        assert_eq!((j.rows_read, j.rejected), (6, 2), "{}", ts.name);
        // The four good rows are the CSV's, already stored.
        assert_eq!((j.accepted, j.unchanged), (4, 4), "{}", ts.name);
        assert_eq!(
            rejected_rows(&ts.store, j.submission_id.unwrap()),
            BTreeSet::from([3, 4]),
            "{}",
            ts.name
        );
    }
}

/// 累计失信 counts dishonesty records: published penalties, not a 警告 that is never made public.
#[test]
fn the_accumulation_warning_counts_only_published_records() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市生态环境局";
    let uc = unit_code(&rules, unit);
    let dir = tempfile::tempdir().unwrap();
    let a = synth::make_uscc(&mut synth::Rng::new(21), "91", "320925");
    let b = synth::make_uscc(&mut synth::Rng::new(22), "91", "320925");
    let row = |name: &str, code: &str, n: u32, warning: bool| {
        let r = penalty_row(
            name,
            code,
            &format!("盐环罚〔2026〕{}号", 300 + n),
            "0.5",
            "2026-06-01",
        )
        .replace("11320900001401484X", &uc);
        if warning {
            r.replace(",罚款,处罚款0.5万元,0.5,", ",警告,警告,,")
        } else {
            r
        }
    };
    let rows = vec![
        row("建湖县甲化工有限公司", &a, 1, false),
        row("建湖县甲化工有限公司", &a, 2, false),
        row("建湖县甲化工有限公司", &a, 3, false),
        row("建湖县乙化工有限公司", &b, 4, false),
        row("建湖县乙化工有限公司", &b, 5, false),
        row("建湖县乙化工有限公司", &b, 6, true),
        row("建湖县乙化工有限公司", &b, 7, true),
    ];
    let f = write(dir.path(), "accumulation.csv", &rows);
    for ts in stores() {
        let keys = testkit::keys();
        let s = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-03"),
            &f,
            unit,
            "行政处罚",
        );
        assert_eq!((s.accepted, s.rejected), (7, 0), "{}", ts.name);
        let from = day("2026-01-01");
        let warned = ts.store.accumulated(&["CF"], from, 3, 100).unwrap();
        assert_eq!(warned, (vec![(a.clone(), 3)], 1), "{}", ts.name);
        let at_two = ts.store.accumulated(&["CF"], from, 2, 100).unwrap();
        assert_eq!(
            at_two,
            (vec![(a.clone(), 3), (b.clone(), 2)], 2),
            "{}",
            ts.name
        );
        // Cut to the first: the total still says how many passed the threshold.
        let first = ts.store.accumulated(&["CF"], from, 2, 1).unwrap();
        assert_eq!(first, (vec![(a.clone(), 3)], 2), "{}", ts.name);
    }
}

/// A 罚款 row in a file that has no 罚款金额 column: the reason says the column is missing, not
/// that a cell is empty.
#[test]
fn a_conditional_column_missing_from_the_file_is_named_as_missing() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市生态环境局";
    let uc = unit_code(&rules, unit);
    let dir = tempfile::tempdir().unwrap();
    let drop_fine = |line: &str| {
        let mut cells: Vec<&str> = line.split(',').collect();
        cells.remove(10);
        cells.join(",")
    };
    let row = penalty_row(
        "建湖县某有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕401号",
        "0.5",
        "2026-06-01",
    )
    .replace("11320900001401484X", &uc);
    let p = dir.path().join("no-fine.csv");
    std::fs::write(&p, format!("{}\n{}\n", drop_fine(HEADER), drop_fine(&row))).unwrap();
    assert!(!drop_fine(HEADER).contains("罚款金额"));
    for ts in stores() {
        let keys = testkit::keys();
        let s = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-03"),
            &p,
            unit,
            "行政处罚",
        );
        assert_eq!(s.rejected, 1, "{}", ts.name);
        let why = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0].problems;
        assert!(
            why.iter()
                .any(|p| p.field == "CF_NR_FK" && p.reason.starts_with("文件缺少该数据项的列")),
            "{}: {why:?}",
            ts.name
        );
    }
}

/// SAMR Order 45 counts a market-regulation penalty's window from its publication: a correction
/// months later keeps the first publication, and does not start the period again.
#[test]
fn a_corrected_market_penalty_keeps_its_first_publication() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市市场监督管理局";
    let uc = unit_code(&rules, unit);
    let dir = tempfile::tempdir().unwrap();
    let code = synth::make_uscc(&mut synth::Rng::new(31), "91", "320925");
    let row = |facts: &str| {
        penalty_row(
            "建湖县某商贸有限公司",
            &code,
            "盐市监罚〔2026〕31号",
            "5",
            "2026-05-20",
        )
        .replace("11320900001401484X", &uc)
        .replace("盐城市生态环境局", unit)
        .replace("经查超标排放大气污染物", facts)
    };
    let first = write(dir.path(), "v1.csv", &[row("经查销售不合格产品")]);
    let second = write(
        dir.path(),
        "v2.csv",
        &[row("经查销售不合格产品，货值金额更正")],
    );
    for ts in stores() {
        let keys = testkit::keys();
        let s = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-03"),
            &first,
            unit,
            "行政处罚",
        );
        assert_eq!(s.accepted, 1, "{}", ts.name);
        let head = |what: &str| {
            let h = ts.store.subject_heads(&code, &["CF"]).unwrap();
            assert_eq!(h.len(), 1, "{}: {what}", ts.name);
            (h[0].version, h[0].repairable_from, h[0].public_ends)
        };
        // 5 万元: three years from publication.
        assert_eq!(
            head("first"),
            (1, Some(day("2026-06-03")), Some(day("2029-06-03")))
        );
        let s = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-09-10"),
            &second,
            unit,
            "行政处罚",
        );
        assert_eq!(s.corrected, 1, "{}", ts.name);
        assert_eq!(
            head("corrected"),
            (2, Some(day("2026-06-03")), Some(day("2029-06-03"))),
            "{}",
            ts.name
        );
    }
}

/// A market-regulation penalty reported to the platform long after its decision counts from the
/// day SAMR Order 45 (Art. 9) had it published — 20 working days after the decision — not from
/// the day it arrived: three years on, it is past its window.
#[test]
fn a_late_market_penalty_counts_from_its_due_publication() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市市场监督管理局";
    let uc = unit_code(&rules, unit);
    let dir = tempfile::tempdir().unwrap();
    let code = synth::make_uscc(&mut synth::Rng::new(32), "91", "320925");
    let file = write(
        dir.path(),
        "late.csv",
        &[penalty_row(
            "建湖县某食品有限公司",
            &code,
            "盐市监罚〔2023〕5号",
            "5",
            "2023-01-05",
        )
        .replace("11320900001401484X", &uc)
        .replace("盐城市生态环境局", unit)],
    );
    let due = rules.calendar.add_workdays(day("2023-01-05"), 20).date;
    for ts in stores() {
        let keys = testkit::keys();
        let s = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-03"),
            &file,
            unit,
            "行政处罚",
        );
        assert_eq!(s.accepted, 1, "{}: {s:?}", ts.name);
        let h = ts.store.subject_heads(&code, &["CF"]).unwrap();
        assert_eq!(
            h[0].public_ends,
            due.checked_add_months(chrono::Months::new(36)),
            "{}",
            ts.name
        );
        assert!(h[0].public_ends.unwrap() < day("2026-06-03"), "{}", ts.name);
    }
}

/// A 失信被执行人 who has paid in full is deleted from the list by the court: a row saying so
/// cannot be reported onto the list; the reason names the rule.
#[test]
fn a_debtor_who_paid_in_full_is_not_reported_onto_the_list() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let court = "盐城市亭湖区人民法院";
    let p = dir.path().join("sx.csv");
    let id = "320902198001010028";
    std::fs::write(
        &p,
        format!(
            "SX_XDR_MC,SX_XDR_LB,SX_XDR_ZJLX,SX_XDR_ZJHM,SX_AH,SX_ZXFY,SX_YJWH,SX_YW,SX_LXQK,SX_JTQX,SX_LARQ,SX_FBRQ\n\
             王某,自然人,身份证,{id},（2026）苏0902执100号,{court},（2025）苏0902民初1号,给付货款10万元,全部未履行,有履行能力而拒不履行,2026-01-05,2026-02-01\n\
             李某,自然人,身份证,{id},（2026）苏0902执101号,{court},（2025）苏0902民初2号,给付货款5万元,全部履行,有履行能力而拒不履行,2026-01-06,2026-02-01\n"
        ),
    )
    .unwrap();
    for ts in stores() {
        let s = import(
            &ts.store,
            &rules,
            &testkit::keys(),
            &clock_on("2026-02-03"),
            &p,
            court,
            "司法裁判及执行（失信被执行人）",
        );
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}: {s:?}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        assert_eq!(r.problems[0].field, "SX_LXQK", "{}", ts.name);
        assert!(
            r.problems[0].reason.contains("执行法院应删除其失信信息"),
            "{}: {}",
            ts.name,
            r.problems[0].reason
        );
    }
}

/// A file sent again after a later file corrected its rows changes nothing (the same bytes
/// are a repeat whatever happened since): the correction stands, and the unit is told what
/// the repeat would have changed. A changed file still corrects.
#[test]
fn the_first_file_sent_again_after_a_correction_changes_nothing() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕41号", env);
    let first = write(dir.path(), "a.csv", std::slice::from_ref(&row));
    let changed = write(dir.path(), "b.csv", &[row.replace("0.3", "0.4")]);
    // The first content again, written otherwise (another file name, CRLF): a correction.
    let restored = dir.path().join("c.csv");
    std::fs::write(
        &restored,
        std::fs::read_to_string(&first)
            .unwrap()
            .replace('\n', "\r\n"),
    )
    .unwrap();
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        let a = import(&ts.store, &rules, &keys, &clock, &first, env, "行政处罚");
        let b = import(&ts.store, &rules, &keys, &clock, &changed, env, "行政处罚");
        assert_eq!((a.created, b.corrected), (1, 1), "{}", ts.name);
        let again = import(&ts.store, &rules, &keys, &clock, &first, env, "行政处罚");
        assert_eq!(
            (
                again.duplicate_of,
                again.submission_id,
                again.left_as_corrected
            ),
            (a.submission_id, None, 1),
            "{}: {again:?}",
            ts.name
        );
        let told = again.notices.join("\n");
        assert!(
            told.contains(&format!(
                "本文件与报送批次{}完全相同，未重复入库；其中1条记录此后已被更正",
                a.submission_id.unwrap()
            )),
            "{}: {told}",
            ts.name
        );
        let current = |ts: &testkit::TestStore| {
            let (_, records) = ts
                .store
                .subject_file("91320900MA1MB4X50R", None)
                .unwrap()
                .unwrap();
            let v = records[0].current().unwrap().clone();
            (v.version_no, v.payload)
        };
        let (n, payload) = current(&ts);
        assert_eq!(n, 2, "{}: the correction stands", ts.name);
        assert!(payload.contains("\"4000.00\""), "{}: {payload}", ts.name);
        // Sent as a new file, the first content corrects again, and says whose correction it
        // undid.
        let c = import(&ts.store, &rules, &keys, &clock, &restored, env, "行政处罚");
        assert_eq!(
            (c.corrected, c.duplicate_of),
            (1, None),
            "{}: {c:?}",
            ts.name
        );
        assert!(
            c.notices.join("\n").contains(&format!(
                "第2行：该记录恢复为第1版的内容，撤销了报送批次{}所做的更正（第2版）",
                b.submission_id.unwrap()
            )),
            "{}: {:?}",
            ts.name,
            c.notices
        );
        let (n, payload) = current(&ts);
        assert_eq!(n, 3, "{}", ts.name);
        assert!(payload.contains("\"3000.00\""), "{}: {payload}", ts.name);
    }
}

/// A batch withdrawal leaves the records a later batch corrected (their correction is that
/// batch's) and says so; a batch all of whose records were corrected since withdraws nothing
/// and is refused, naming the later batches, instead of being marked withdrawn.
#[test]
fn withdrawing_a_batch_names_the_records_later_batches_corrected() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let row = |no: &str| hengtai_penalty(&rules, no, env);
    let fixed = |no: &str| {
        row(no)
            .replace(",0.3,", ",0.5,")
            .replace("款0.3万", "款0.5万")
    };
    let first = write(
        dir.path(),
        "a.csv",
        &[row("盐环罚〔2026〕51号"), row("盐环罚〔2026〕52号")],
    );
    let correction = write(dir.path(), "b.csv", &[fixed("盐环罚〔2026〕51号")]);
    let only = write(dir.path(), "c.csv", &[row("盐环罚〔2026〕53号")]);
    let only_fixed = write(dir.path(), "d.csv", &[fixed("盐环罚〔2026〕53号")]);
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        let run = |p: &Path| import(&ts.store, &rules, &keys, &clock, p, env, "行政处罚");
        let a = run(&first);
        assert_eq!(a.created, 2, "{}: {a:?}", ts.name);
        let b = run(&correction);
        assert_eq!(b.corrected, 1, "{}: {b:?}", ts.name);
        let w = store::Withdrawal {
            unit: env,
            actor: "李四",
            reason: "整批报错，撤回",
            at: clock.now(),
        };
        let (a, b) = (a.submission_id.unwrap(), b.submission_id.unwrap());
        let done = ts.store.withdraw_submission(a, &w).unwrap();
        assert_eq!(
            done,
            store::BatchWithdrawal {
                withdrawn: 1,
                left_corrected_later: 1,
                corrected_by: vec![b],
            },
            "{}",
            ts.name
        );

        let c = run(&only).submission_id.unwrap();
        let d = run(&only_fixed);
        assert_eq!(d.corrected, 1, "{}: {d:?}", ts.name);
        let d = d.submission_id.unwrap();
        // Refused twice the same way: the first refusal did not mark the batch withdrawn.
        for _ in 0..2 {
            match ts.store.withdraw_submission(c, &w) {
                Err(store::StoreError::Refused(m)) => assert!(
                    m.contains(&format!("1条已被批次{d}更正")) && m.contains("请撤回相应批次"),
                    "{m}"
                ),
                other => panic!("{}: {other:?}", ts.name),
            }
        }
    }
}

/// Withdrawing a batch that only sent records again unchanged is refused, saying so: it changed
/// nothing, and the records stand on the batch that published them (withdrawing that one
/// The same penalty sent again with its number's year in （） instead of 〔〕 is one decision: the
/// new row stands and the old record is withdrawn saying why (two records published it twice).
#[test]
fn a_decision_resent_with_its_year_in_parentheses_replaces_the_old_record() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let first = write(
        dir.path(),
        "a.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕221号", env)],
    );
    let again = write(
        dir.path(),
        "b.csv",
        &[hengtai_penalty(&rules, "盐环罚（2026）221号", env)],
    );
    // Another decision of the same subject is left alone.
    let other = write(
        dir.path(),
        "c.csv",
        &[hengtai_penalty(&rules, "盐环罚（2026）222号", env)],
    );
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        import(&ts.store, &rules, &keys, &clock, &first, env, "行政处罚");
        let s = import(&ts.store, &rules, &keys, &clock, &again, env, "行政处罚");
        assert_eq!(s.created, 1, "{}: {s:?}", ts.name);
        assert!(
            s.notices
                .iter()
                .any(|n| n.contains("写法不同") && n.contains("原记录已撤回")),
            "{}: {:?}",
            ts.name,
            s.notices
        );
        let s = import(&ts.store, &rules, &keys, &clock, &other, env, "行政处罚");
        assert!(s.notices.is_empty(), "{}: {:?}", ts.name, s.notices);
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let mut now: Vec<(String, domain::record::ChangeKind)> = records
            .iter()
            .map(|r| {
                let v = r.current().unwrap();
                (
                    store::payload_pairs(&v.payload)
                        .into_iter()
                        .find(|(k, _)| k == "CF_WSH")
                        .map(|(_, v)| v)
                        .unwrap_or_default(),
                    v.change,
                )
            })
            .collect();
        now.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            now,
            [
                (
                    "盐环罚〔2026〕221号".to_string(),
                    domain::record::ChangeKind::Withdrawn
                ),
                (
                    "盐环罚（2026）221号".to_string(),
                    domain::record::ChangeKind::Created
                ),
                (
                    "盐环罚（2026）222号".to_string(),
                    domain::record::ChangeKind::Created
                ),
            ],
            "{}",
            ts.name
        );
    }
}

/// A 重错码 finding that came only from rows since withdrawn leaves with them: a code reported
/// once under another company's name, and that batch withdrawn by its unit.
#[test]
fn a_code_conflict_from_a_withdrawn_batch_leaves_with_it() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let first = write(
        dir.path(),
        "a.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕701号", env)],
    );
    let wrong = write(
        dir.path(),
        "b.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕702号", env)
            .replace("盐城市恒泰化工有限公司", "建湖县金瀚家电维修部")],
    );
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        import(&ts.store, &rules, &keys, &clock, &first, env, "行政处罚");
        let s = import(&ts.store, &rules, &keys, &clock, &wrong, env, "行政处罚");
        let found = |ts: &testkit::TestStore| {
            ts.store
                .code_conflicts(10)
                .unwrap()
                .iter()
                .filter(|x| x.names.iter().any(|n| n == "建湖县金瀚家电维修部"))
                .count()
        };
        assert_eq!(found(&ts), 1, "{}", ts.name);
        ts.store
            .withdraw_submission(
                s.submission_id.unwrap(),
                &store::Withdrawal {
                    unit: env,
                    actor: "李四",
                    reason: "主体名称填错，整批撤回",
                    at: clock.now(),
                },
            )
            .unwrap();
        assert_eq!(found(&ts), 0, "{}", ts.name);
    }
}

/// Rows taken but worth a second look are named in the batch's notices: a 警告 alone reported
/// 严重 (published three years as reported), a 文书号 of another year than its decision.
#[test]
fn a_warning_reported_serious_and_a_number_of_another_year_are_named() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let uc = unit_code(&rules, env);
    let header = "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_FRDB,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_SXYZCD,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM";
    let row = |no: &str, cats: &str, content: &str, fine: &str, date: &str, severity: &str| {
        format!(
            "盐城市恒泰化工有限公司,法人及非法人组织,91320900MA1MB4X50R,张三,{no},超标排放,经查超标排放大气污染物,《中华人民共和国大气污染防治法》第九十九条,{cats},{content},{fine},{date},2029-01-01,{severity},{env},{uc},{env},{uc}"
        )
    };
    let f = dir.path().join("d.csv");
    std::fs::write(
        &f,
        format!(
            "{header}\n{}\n{}\n{}\n",
            row(
                "盐环罚〔2026〕801号",
                "警告",
                "警告",
                "",
                "2026-05-06",
                "严重"
            ),
            row(
                "盐环罚〔2026〕802号",
                "罚款",
                "处罚款0.3万元",
                "0.3",
                "2025-06-10",
                "一般"
            ),
            row(
                "盐环罚〔2026〕803号",
                "罚款",
                "处罚款0.3万元",
                "0.3",
                "2026-05-06",
                "严重"
            ),
        ),
    )
    .unwrap();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &testkit::keys(), &f);
        assert_eq!((s.accepted, s.rejected), (3, 0), "{}: {s:?}", ts.name);
        let told = s.notices.join("\n");
        assert!(
            told.contains("1行的处罚类别仅为警告或通报批评，失信严重程度却报为“严重”")
                && told.contains("：第2行"),
            "{}: {told}",
            ts.name
        );
        assert!(
            told.contains("1行的文书号年份与处罚决定日期的年份不同") && told.contains("：第3行"),
            "{}: {told}",
            ts.name
        );
        assert!(!told.contains("第4行"), "{}: {told}", ts.name);
    }
}

/// A batch whose every row was rejected published nothing: withdrawing it is refused, saying it
/// needs no withdrawal (it used to be marked withdrawn with 0 records).
#[test]
fn withdrawing_a_wholly_rejected_batch_is_refused() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    // The company's code with its check character changed: every row rejected.
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕44号", env)
        .replace("91320900MA1MB4X50R", "91320900MA1MB4X50X");
    let file = write(dir.path(), "bad.csv", &[row]);
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        let s = import(&ts.store, &rules, &keys, &clock, &file, env, "行政处罚");
        assert_eq!((s.accepted, s.rejected), (0, 1), "{}: {s:?}", ts.name);
        let w = store::Withdrawal {
            unit: env,
            actor: "李四",
            reason: "整批报错，撤回",
            at: clock.now(),
        };
        match ts.store.withdraw_submission(s.submission_id.unwrap(), &w) {
            Err(store::StoreError::Refused(m)) => {
                assert!(m.contains("1行均已退回") && m.contains("无需撤回"), "{m}")
            }
            other => panic!("{}: {other:?}", ts.name),
        }
        let sub = ts
            .store
            .submission(s.submission_id.unwrap())
            .unwrap()
            .unwrap();
        assert_ne!(sub.status, "withdrawn", "{}", ts.name);
    }
}

/// withdraws them).
#[test]
fn withdrawing_a_batch_of_unchanged_rows_is_refused_and_the_first_withdraws_them() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕43号", env);
    let first = write(dir.path(), "a.csv", std::slice::from_ref(&row));
    let again = dir.path().join("b.csv");
    std::fs::write(
        &again,
        std::fs::read_to_string(&first)
            .unwrap()
            .replace('\n', "\r\n"),
    )
    .unwrap();
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        import(&ts.store, &rules, &keys, &clock, &first, env, "行政处罚");
        let s = import(&ts.store, &rules, &keys, &clock, &again, env, "行政处罚");
        assert_eq!(
            (s.unchanged, s.duplicate_of),
            (1, None),
            "{}: {s:?}",
            ts.name
        );
        let w = store::Withdrawal {
            unit: env,
            actor: "李四",
            reason: "整批报错，撤回",
            at: clock.now(),
        };
        match ts.store.withdraw_submission(s.submission_id.unwrap(), &w) {
            Err(store::StoreError::Refused(m)) => {
                assert!(m.contains("原样重报") && m.contains("撤回原批次"), "{m}")
            }
            other => panic!("{}: {other:?}", ts.name),
        }
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        assert_eq!(
            records[0].current().unwrap().change,
            domain::record::ChangeKind::Created,
            "{}",
            ts.name
        );
        let first_id = s.submission_id.unwrap() - 1;
        assert_eq!(
            ts.store
                .withdraw_submission(first_id, &w)
                .unwrap()
                .withdrawn,
            1,
            "{}",
            ts.name
        );
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let v = records[0].current().unwrap();
        assert_eq!(
            v.change,
            domain::record::ChangeKind::Withdrawn,
            "{}",
            ts.name
        );
        // Sent again as it was, the record stays withdrawn; that batch withdrew nothing and
        // is not marked withdrawn (it answered 200 with 0 and said 已撤回).
        let third = dir.path().join("c.csv");
        std::fs::write(
            &third,
            format!("{}\n", std::fs::read_to_string(&first).unwrap()),
        )
        .unwrap();
        let s = import(&ts.store, &rules, &keys, &clock, &third, env, "行政处罚");
        let sid = s
            .submission_id
            .unwrap_or_else(|| panic!("{}: {s:?}", ts.name));
        match ts.store.withdraw_submission(sid, &w) {
            Err(store::StoreError::Refused(m)) => {
                assert!(m.contains("已撤回") && m.contains("无需撤回"), "{m}")
            }
            other => panic!("{}: {other:?}", ts.name),
        }
    }
}

/// A cell far longer than any catalog item is cut and its row rejected, saying which column and
/// how long; a file with more columns than any department's table is refused whole.
#[test]
fn a_huge_cell_is_cut_and_its_row_rejected_and_too_many_columns_refuse_the_file() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕44号", env);
    let huge = row.replace("经查超标排放大气污染物", &"超".repeat(100_000));
    let ok = hengtai_penalty(&rules, "盐环罚〔2026〕45号", env);
    let f = write(dir.path(), "a.csv", &[huge, ok]);
    let keys = testkit::keys();
    let clock = clock_on("2026-05-08");
    for ts in stores() {
        let s = import(&ts.store, &rules, &keys, &clock, &f, env, "行政处罚");
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}: {s:?}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        assert!(
            r.problems[0]
                .reason
                .contains("单元格内容过长：第7列（300000字节）"),
            "{}: {:?}",
            ts.name,
            r.problems
        );
        let cells: Vec<String> =
            serde_json::from_slice(&keys.decrypt(&r.raw_sealed).unwrap()).unwrap();
        assert!(cells[6].len() < 70 << 10 && cells[6].ends_with("（以下省略）"));
    }
    // JSON records each bringing a new key: refused once past the limit, nothing kept.
    let mut body = String::from("[");
    for i in 0..300 {
        body.push_str(&format!(
            "{{\"CF_WSH\":\"盐环罚〔2026〕{i}号\",\"X{i}\":\"1\"}},"
        ));
    }
    body.pop();
    body.push(']');
    let ts = testkit::sqlite();
    let err = Importer {
        store: &ts.store,
        rules: &rules,
        keys: &keys,
        clock: &clock,
    }
    .import_reader(
        Some("wide.json".into()),
        ingest::Format::Json,
        body.as_bytes(),
        &opts(env, "行政处罚"),
        &|_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("列（字段）过多"), "{err}");
    assert_eq!(ts.store.stats().unwrap().subjects, 0);
}

/// JSON from a Windows editor (with a byte-order mark) is read like CSV; broken JSON is named in
/// Chinese with where.
#[test]
fn json_with_a_byte_order_mark_is_read_and_broken_json_is_explained() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let clock = clock_on("2026-05-08");
    let ts = testkit::sqlite();
    let importer = Importer {
        store: &ts.store,
        rules: &rules,
        keys: &keys,
        clock: &clock,
    };
    let run = |body: &[u8]| {
        importer.import_reader(
            Some("x.json".into()),
            ingest::Format::Json,
            body,
            &opts("盐城市生态环境局", "行政处罚"),
            &|_| {},
        )
    };
    let s = run(b"\xEF\xBB\xBF[{\"CF_WSH\":\"1\"}]").unwrap();
    assert_eq!(s.rows_read, 1);
    for (body, said) in [
        (&b""[..], "内容为空"),
        (&b"[{\"CF_WSH\":\"1\"}"[..], "提前结束"),
        (
            &b"[{\"CF_WSH\" \"1\"}]"[..],
            "第1行第12列不是有效的JSON语法",
        ),
        (&b"42"[..], "数据类型不符合要求"),
    ] {
        let e = run(body).unwrap_err().to_string();
        assert!(e.contains(said), "{e}");
        assert!(!e.contains("expected"), "{e}");
    }
}

/// The same file sent twice at once (a source system retrying after a timeout): one submission
/// takes the rows, the other is its repeat — on PostgreSQL too, where the two run side by side.
#[test]
fn the_same_file_twice_at_once_is_one_submission_and_its_repeat() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let rows: Vec<String> = (0..3000)
        .map(|i| hengtai_penalty(&rules, &format!("盐环罚〔2026〕{}号", 5000 + i), env))
        .collect();
    let f = write(dir.path(), "a.csv", &rows);
    for ts in stores() {
        let results: Vec<ImportSummary> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (spec, f, rules) = (&ts.spec, &f, &rules);
                    s.spawn(move || {
                        let store = Store::open(spec).unwrap();
                        import(
                            &store,
                            rules,
                            &testkit::keys(),
                            &clock_on("2026-05-08"),
                            f,
                            env,
                            "行政处罚",
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let created: u64 = results.iter().map(|r| r.created).sum();
        let repeats = results.iter().filter(|r| r.duplicate_of.is_some()).count();
        assert_eq!((created, repeats), (3000, 1), "{}: {results:?}", ts.name);
    }
}

/// An item given in two columns (its code and its Chinese name) with two different values is
/// rejected, naming both; the same value twice is fine.
#[test]
fn an_item_in_two_columns_with_two_values_is_rejected() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let p = dir.path().join("two.csv");
    let a = hengtai_penalty(&rules, "盐环罚〔2026〕61号", env);
    let b = hengtai_penalty(&rules, "盐环罚〔2026〕62号", env);
    std::fs::write(&p, format!("{HEADER},罚款金额（万元）\n{a},0.3\n{b},7.7\n")).unwrap();
    for ts in stores() {
        let s = import(
            &ts.store,
            &rules,
            &testkit::keys(),
            &clock_on("2026-05-08"),
            &p,
            env,
            "行政处罚",
        );
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}: {s:?}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        assert_eq!(r.row_no, 3, "{}", ts.name);
        assert!(
            r.problems
                .iter()
                .any(|p| p.field == "CF_NR_FK" && p.reason.contains("取值不一致（“0.3”、“7.7”）")),
            "{}: {:?}",
            ts.name,
            r.problems
        );
    }
}

/// An XLSX row with a cell right of the header is refused, as CSV refuses a row with more cells
/// than its header, and the cell is kept for the rejected-rows workbook.
#[test]
fn an_xlsx_cell_right_of_the_header_is_refused_not_dropped() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let header: Vec<&str> = HEADER.split(',').collect();
    for (r, row) in [
        hengtai_penalty(&rules, "盐环罚〔2026〕71号", env),
        hengtai_penalty(&rules, "盐环罚〔2026〕72号", env),
    ]
    .iter()
    .enumerate()
    {
        for (c, v) in row.split(',').enumerate() {
            ws.write_string(r as u32 + 1, c as u16, v).unwrap();
        }
    }
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(2, header.len() as u16 + 2, "备注：另有附件")
        .unwrap();
    let p = dir.path().join("a.xlsx");
    wb.save(&p).unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}: {s:?}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        assert_eq!(r.row_no, 3, "{}", ts.name);
        assert!(
            r.problems[0].reason.contains("列数与表头不一致"),
            "{:?}",
            r.problems
        );
        let cells: Vec<String> =
            serde_json::from_slice(&keys.decrypt(&r.raw_sealed).unwrap()).unwrap();
        assert_eq!(cells.last().map(String::as_str), Some("备注：另有附件"));
    }
}

/// A workbook's rows are read from its one visible sheet with data: a hidden code table before
/// it is passed over; two sheets with data (法人 and 自然人 apart) refuse the file by name and
/// store nothing, rather than read one and drop the other.
#[test]
fn an_xlsx_is_read_from_its_one_sheet_with_data_and_two_are_refused() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let header: Vec<&str> = HEADER.split(',').collect();
    let book = |second: Option<&str>, hide_first: bool| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let codes = wb.add_worksheet().set_name("代码表").unwrap();
        codes.write_string(0, 0, "处罚类别").unwrap();
        codes.write_string(1, 0, "罚款").unwrap();
        codes.set_hidden(hide_first);
        for (name, no) in [("法人及非法人组织", "盐环罚〔2026〕81号")]
            .into_iter()
            .chain(second.map(|n| (n, "盐环罚〔2026〕82号")))
        {
            let ws = wb.add_worksheet().set_name(name).unwrap();
            for (c, h) in header.iter().enumerate() {
                ws.write_string(0, c as u16, *h).unwrap();
            }
            for (c, v) in hengtai_penalty(&rules, no, env).split(',').enumerate() {
                ws.write_string(1, c as u16, v).unwrap();
            }
            ws.set_active(true);
        }
        let p = dir
            .path()
            .join(format!("{}-{hide_first}.xlsx", second.is_some()));
        wb.save(&p).unwrap();
        p
    };
    let keys = testkit::keys();
    for ts in stores() {
        let one = book(None, true);
        let s = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-05-08"),
            &one,
            env,
            "行政处罚",
        );
        assert_eq!((s.rows_read, s.accepted), (1, 1), "{}: {s:?}", ts.name);
        for p in [book(Some("自然人"), true), book(None, false)] {
            let e = Importer {
                store: &ts.store,
                rules: &rules,
                keys: &keys,
                clock: &clock_on("2026-05-08"),
            }
            .import_path(&p, &opts(env, "行政处罚"), &|_| {})
            .unwrap_err()
            .to_string();
            assert!(e.contains("个含数据的工作表"), "{}: {e}", ts.name);
        }
        assert_eq!(
            ts.store.submissions(None, 10).unwrap().len(),
            1,
            "{}",
            ts.name
        );
    }
}

/// One decision whose number is typed with full-width forms or spaces in a later file is the
/// same record, corrected — not a second penalty in the credit file.
#[test]
fn a_decision_number_typed_differently_is_the_same_record() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let a = write(
        dir.path(),
        "a.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕81号", env)],
    );
    let b = write(
        dir.path(),
        "b.csv",
        &[hengtai_penalty(&rules, "盐环罚〔２０２６〕 ８１号", env).replace("0.3", "0.4")],
    );
    let keys = testkit::keys();
    for ts in stores() {
        let clock = clock_on("2026-05-08");
        let s = import(&ts.store, &rules, &keys, &clock, &a, env, "行政处罚");
        assert_eq!(s.created, 1, "{}", ts.name);
        let s = import(&ts.store, &rules, &keys, &clock, &b, env, "行政处罚");
        assert_eq!((s.created, s.corrected), (0, 1), "{}: {s:?}", ts.name);
    }
}

/// What tables write for "does not apply" and "no end" is read as meant: a 警告's 罚款金额 "/"
/// is blank, a licence valid 长期 (or to 9999-12-31) ends 2099-12-31 as the national standard
/// writes it — not rejected as a malformed amount or date.
#[test]
fn placeholders_and_open_ended_licences_are_read_as_meant() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let unit = "盐城市生态环境局";
    let code = unit_code(&rules, unit);
    let warning = hengtai_penalty(&rules, "盐环罚〔2026〕981号", unit)
        .replace(",罚款,处罚款0.3万元,0.3,", ",警告,给予警告,/,");
    assert!(warning.contains(",/,"));
    let licences: String = ["长期", "9999-12-31", "永久", "9999/12/31"]
        .iter()
        .enumerate()
        .map(|(i, end)| {
            format!(
                "盐城市某某化工有限公司,法人及非法人组织,91320900MA1MB4X50R,张三,排污许可证,盐环许〔2026〕9{i}号,普通,准予排污许可,2026-05-06,2026-05-06,{end},{unit},{code},有效,{unit},{code},A-{i}\n"
            )
        })
        .collect();
    let head = "XK_XDR_MC,XK_XDR_LB,XK_XDR_SHXYM,XK_FRDB,XK_XKWS,XK_WSH,XK_XKLB,XK_NR,XK_JDRQ,XK_YXQZ,XK_YXQZI,XK_XKJG,XK_XKJGDM,XK_ZT,XK_LYDW,XK_LYDWDM,内部编号\n";
    for ts in stores() {
        let clock = clock_on("2026-05-08");
        let importer = Importer {
            store: &ts.store,
            rules: &rules,
            keys: &keys,
            clock: &clock,
        };
        let send = |text: String, class: &str| {
            importer
                .import_reader(
                    None,
                    ingest::Format::Csv,
                    text.as_bytes(),
                    &opts(unit, class),
                    &|_| {},
                )
                .unwrap()
        };
        let s = send(format!("{HEADER}\n{warning}\n"), "行政处罚");
        assert_eq!((s.accepted, s.rejected), (1, 0), "{}: {s:?}", ts.name);
        let s = send(format!("{head}{licences}"), "行政许可");
        assert_eq!((s.accepted, s.rejected), (4, 0), "{}: {s:?}", ts.name);
        // Wordings systems export for one value each (企业, 普通许可, 正常) are read as it; an
        // end left blank is told how "no end" is written; the totals line with its count is
        // the sheet's, no record.
        let s = send(
            format!(
                "{head}盐城市某某化工有限公司,企业,91320900MA1MB4X50R,张三,排污许可证,盐环许〔2026〕95号,普通许可,准予排污许可,2026-05-06,2026-05-06,2031-05-05,{unit},{code},正常,{unit},{code},B-1
                 盐城市某某化工有限公司,法人及非法人组织,91320900MA1MB4X50R,张三,排污许可证,盐环许〔2026〕96号,普通,准予排污许可,2026-05-06,2026-05-06,/,{unit},{code},有效,{unit},{code},B-2
                 合计：2条,,,,,,,,,,,,,,,,
"
            ),
            "行政许可",
        );
        assert_eq!(
            (s.rows_read, s.accepted, s.rejected),
            (2, 1, 1),
            "{}: {s:?}",
            ts.name
        );
        let why = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0].problems[0];
        assert!(
            why.reason.contains("长期") && why.reason.contains("2099-12-31"),
            "{}: {why:?}",
            ts.name
        );
        // A list entry's end is not "no end": the rules bound how long one stays listed.
        let listed = send(
            format!(
                "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
                 盐城市某某化工有限公司,法人及非法人组织,91320900MA1MB4X50R,名单,盐环信〔2026〕9号,拒不履行,《社会信用体系建设有关规定》,{unit},2026-05-06,长期\n"
            ),
            "严重失信主体名单",
        );
        assert_eq!(
            (listed.accepted, listed.rejected),
            (0, 1),
            "{}: {listed:?}",
            ts.name
        );
        let why =
            &ts.store.rejections(listed.submission_id.unwrap()).unwrap()[0].problems[0].reason;
        assert!(why.contains("具体的截止日期"), "{}: {why}", ts.name);
        // The column that is no catalog item is passed over, and the submission says so later.
        let stored = ts
            .store
            .submission(s.submission_id.unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(stored.unknown_columns, ["内部编号"], "{}", ts.name);
        // An honour may be held for good too.
        let s = send(
            format!(
                "RY_XDR_MC,RY_XDR_LB,RY_XDR_SHXYM,RY_MC,RY_WSH,RY_SYDW,RY_SYRQ,RY_YXQZ\n\
                 盐城市某某化工有限公司,法人及非法人组织,91320900MA1MB4X50R,江苏省文明单位,苏文明〔2026〕3号,{unit},2026-05-06,长期\n"
            ),
            "诚实守信相关荣誉",
        );
        assert_eq!((s.accepted, s.rejected), (1, 0), "{}: {s:?}", ts.name);
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let ends = records
            .iter()
            .filter(|r| {
                r.current()
                    .unwrap()
                    .payload
                    .contains("\"XK_YXQZI\":\"2099-12-31\"")
            })
            .count();
        assert_eq!(ends, 4, "{}", ts.name);
    }
}

/// A licence the unit reports again as 无效 (revoked) leaves the public views: 许可撤回或撤销的不再
/// 公示. Officers still see it, not published.
#[test]
fn a_licence_reported_invalid_is_published_no_longer() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let unit = "盐城市生态环境局";
    let unit_code = &rules.units.find(unit).unwrap().uscc;
    let licence = |state: &str| {
        format!(
            "XK_XDR_MC,XK_XDR_LB,XK_XDR_SHXYM,XK_FRDB,XK_XKWS,XK_WSH,XK_XKLB,XK_NR,XK_JDRQ,XK_YXQZ,XK_YXQZI,XK_XKJG,XK_XKJGDM,XK_ZT,XK_LYDW,XK_LYDWDM\n\
             盐城市某某化工有限公司,法人及非法人组织,91320900MA1MB4X50R,张三,排污许可证,盐环许〔2026〕1号,普通,准予排污许可,2026-05-06,2026-05-06,2031-05-05,{unit},{unit_code},{state},{unit},{unit_code}\n"
        )
    };
    for ts in stores() {
        let clock = clock_on("2026-05-08");
        let importer = Importer {
            store: &ts.store,
            rules: &rules,
            keys: &keys,
            clock: &clock,
        };
        let send = |text: String| {
            importer
                .import_reader(
                    None,
                    ingest::Format::Csv,
                    text.as_bytes(),
                    &opts(unit, "行政许可"),
                    &|_| {},
                )
                .unwrap()
        };
        let s = send(licence("有效"));
        assert_eq!(s.accepted, 1, "{}: {s:?}", ts.name);
        let public = |day: &str| {
            views::credit_file(
                &ts.store,
                &rules,
                "91320900MA1MB4X50R",
                testkit::day(day),
                views::Audience::Public,
            )
            .unwrap()
            .unwrap()
        };
        assert_eq!(public("2026-05-08").classes.len(), 1, "{}", ts.name);
        clock.set(clock.now() + chrono::Duration::days(30));
        let s = send(licence("无效"));
        assert_eq!(s.corrected, 1, "{}: {s:?}", ts.name);
        assert!(public("2026-06-08").classes.is_empty(), "{}", ts.name);
        let full = views::credit_file(
            &ts.store,
            &rules,
            "91320900MA1MB4X50R",
            testkit::day("2026-06-08"),
            views::Audience::Full,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            full.classes[0].records[0].status,
            domain::record::RecordStatus::NotPublished,
            "{}",
            ts.name
        );
    }
}

/// The subject's kind and its code's registration category agree (the catalog's
/// subject_identity check): an 个体工商户 with an enterprise's code, or an enterprise with a 92
/// code, is rejected naming the code.
#[test]
fn a_subject_kind_that_its_code_contradicts_is_rejected() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let code92 = {
        let org = "MA1MB4X5";
        let body = format!(
            "92320900{org}{}",
            domain::ids::org_code_check(org.as_bytes()).unwrap()
        );
        format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()))
    };
    let row = |name: &str, kind: &str, code: &str, no: &str| {
        hengtai_penalty(&rules, no, env)
            .replace("盐城市恒泰化工有限公司", name)
            .replace("法人及非法人组织", kind)
            .replace("91320900MA1MB4X50R", code)
    };
    let p = write(
        dir.path(),
        "k.csv",
        &[
            row(
                "张记小吃",
                "个体工商户",
                "91320900MA1MB4X50R",
                "盐环罚〔2026〕91号",
            ),
            row(
                "盐城市恒泰化工有限公司",
                "法人及非法人组织",
                &code92,
                "盐环罚〔2026〕92号",
            ),
            row("张记小吃", "个体工商户", &code92, "盐环罚〔2026〕93号"),
        ],
    );
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (1, 2), "{}: {s:?}", ts.name);
        let reasons: Vec<String> = ts
            .store
            .rejections(s.submission_id.unwrap())
            .unwrap()
            .iter()
            .map(|r| r.problems[0].reason.clone())
            .collect();
        assert!(
            reasons[0].contains("非个体工商户") && reasons[0].contains("个体工商户”不符"),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("个体工商户（92开头）"), "{reasons:?}");
    }
}

/// A 公示截止期 the unit filled in that contradicts the platform's window is kept as computed
/// in what is shown, so the public never sees two ends.
#[test]
fn a_publicity_end_the_unit_wrote_is_shown_as_computed() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let p = dir.path().join("g.csv");
    std::fs::write(
        &p,
        format!(
            "{HEADER},公示截止期\n{},2020-01-01\n",
            hengtai_penalty(&rules, "盐环罚〔2026〕95号", env)
        ),
    )
    .unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!(s.accepted, 1, "{}: {s:?}", ts.name);
        // The unit is told its date was not the one published.
        assert!(
            s.notices
                .iter()
                .any(|n| n.contains("公示截止期与平台按公示期限规则计算的不同")),
            "{}: {:?}",
            ts.name,
            s.notices
        );
        let heads = ts
            .store
            .subject_heads("91320900MA1MB4X50R", &["CF"])
            .unwrap();
        let ends = heads[0].public_ends.expect("a published penalty ends");
        assert!(ends > testkit::day("2026-05-06"), "{ends}");
        assert!(
            heads[0]
                .payload
                .contains(&format!("\"CF_GSJZQ\":\"{ends}\"")),
            "{}",
            heads[0].payload
        );
        assert!(
            !heads[0].payload.contains("2020-01-01"),
            "{}",
            heads[0].payload
        );
    }
}

/// Cells a unit merged over several rows (处罚机关, 处罚决定日期 for a day's decisions) hold the
/// merged value for each row, as Excel shows it, instead of rejecting the rows as empty.
#[test]
fn merged_cells_in_an_xlsx_hold_their_value_for_every_row() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let header: Vec<&str> = HEADER.split(',').collect();
    let merged_cols: Vec<usize> = ["处罚决定日期", "处罚机关"]
        .iter()
        .map(|h| header.iter().position(|x| x == h).unwrap())
        .collect();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let rows: Vec<Vec<String>> = (0..3)
        .map(|i| {
            hengtai_penalty(&rules, &format!("盐环罚〔2026〕9{i}1号"), env)
                .split(',')
                .map(str::to_string)
                .collect()
        })
        .collect();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !merged_cols.contains(&c) {
                ws.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
    let f = rust_xlsxwriter::Format::new();
    for &c in &merged_cols {
        ws.merge_range(1, c as u16, 3, c as u16, &rows[0][c], &f)
            .unwrap();
    }
    let p = dir.path().join("m.xlsx");
    wb.save(&p).unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (3, 0), "{}: {s:?}", ts.name);
    }
}

/// A unit that corrects the name on its record corrects the subject's name too, where no
/// registration names the subject (the portal showed the mistyped one for ever); the old name is
/// kept for 重错码. A registered subject keeps its registered name.
#[test]
fn a_corrected_name_renames_a_subject_no_registration_names() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let uc = unit_code(&rules, env);
    let row = |name: &str| {
        penalty_row(
            name,
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕77号",
            "0.3",
            "2026-05-06",
        )
        .replace("11320900001401484X", &uc)
    };
    let typo = write(dir.path(), "a.csv", &[row("盐城市恒泰化工有线公司")]);
    let fixed = write(dir.path(), "b.csv", &[row("盐城市恒泰化工有限公司")]);
    let keys = testkit::keys();
    for ts in stores() {
        import_on_may_8(&ts.store, &rules, &keys, &typo);
        let s = import_on_may_8(&ts.store, &rules, &keys, &fixed);
        assert_eq!(s.corrected, 1, "{}: {s:?}", ts.name);
        let (subject, _) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        assert_eq!(subject.name, "盐城市恒泰化工有限公司", "{}", ts.name);
        let c = ts.store.code_conflicts(10).unwrap();
        assert!(
            c.iter()
                .any(|x| x.names.iter().any(|n| n == "盐城市恒泰化工有线公司")),
            "{}: the old name is kept: {c:?}",
            ts.name
        );
        // The same unit's other record under another spelling, and corrections of its amount,
        // rename nothing: no record's name changed.
        let spelled = |fine: &str| {
            penalty_row(
                "盐城市恒泰化工公司",
                "91320900MA1MB4X50R",
                "盐环罚〔2026〕78号",
                fine,
                "2026-05-06",
            )
            .replace("11320900001401484X", &uc)
        };
        for (file, fine) in [("e.csv", "0.3"), ("f.csv", "0.4")] {
            let f = write(dir.path(), file, &[spelled(fine)]);
            assert_eq!(
                import_on_may_8(&ts.store, &rules, &keys, &f).accepted,
                1,
                "{}",
                ts.name
            );
        }
        let (subject, _) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        assert_eq!(subject.name, "盐城市恒泰化工有限公司", "{}", ts.name);
        // Another unit's spelling, and its correction of an amount, rename nothing: the
        // subject carries the first unit's name.
        let other = "盐城市应急管理局";
        let theirs = |fine: &str| {
            penalty_row(
                "盐城市恒泰化工有限责任公司",
                "91320900MA1MB4X50R",
                "盐应急罚〔2026〕5号",
                fine,
                "2026-05-06",
            )
            .replace("11320900001401484X", &unit_code(&rules, other))
            .replace("盐城市生态环境局", other)
        };
        let clock = clock_on("2026-05-08");
        for (file, fine) in [("c.csv", "0.3"), ("d.csv", "0.4")] {
            let f = write(dir.path(), file, &[theirs(fine)]);
            let s = import(&ts.store, &rules, &keys, &clock, &f, other, "行政处罚");
            assert_eq!(s.accepted, 1, "{}: {s:?}", ts.name);
        }
        let (subject, _) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        assert_eq!(subject.name, "盐城市恒泰化工有限公司", "{}", ts.name);
    }
}

/// The same decision sent again from a case system that writes its serial with 第 and zeros
/// (盐环罚〔2026〕第0231号 for 盐环罚〔2026〕231号) replaces the record instead of publishing
/// the penalty twice; a record keyed as written before (a store from before the serial was
/// read plainly) is keyed anew by `migrate` and then found the same way.
#[test]
fn a_decision_resent_with_di_and_zeros_in_its_serial_replaces_the_old_record() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let file = |name: &str, no: &str| write(dir.path(), name, &[hengtai_penalty(&rules, no, env)]);
    let plain = file("a.csv", "盐环罚〔2026〕231号");
    let padded = file("b.csv", "盐环罚〔2026〕第0231号");
    let old = file("c.csv", "盐环罚〔2026〕第0232号");
    let new = file("d.csv", "盐环罚〔2026〕232号");
    let other = file("e.csv", "盐环罚〔2026〕2310号");
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-05-08");
        let in_force = || -> Vec<String> {
            let (_, records) = ts
                .store
                .subject_file("91320900MA1MB4X50R", None)
                .unwrap()
                .unwrap();
            records
                .iter()
                .filter_map(|r| r.current().filter(|v| !v.change.ends()))
                .map(|v| v.payload.clone())
                .collect()
        };
        import(&ts.store, &rules, &keys, &clock, &plain, env, "行政处罚");
        let s = import(&ts.store, &rules, &keys, &clock, &padded, env, "行政处罚");
        assert_eq!(s.created, 1, "{}: {s:?}", ts.name);
        assert!(
            s.notices
                .iter()
                .any(|n| n.contains("写法不同") && n.contains("原记录已撤回")),
            "{}: {:?}",
            ts.name,
            s.notices
        );
        let live = in_force();
        assert_eq!(live.len(), 1, "{}: {live:?}", ts.name);
        assert!(live[0].contains("第0231号"), "{}: {live:?}", ts.name);
        // Another serial is another decision.
        let s = import(&ts.store, &rules, &keys, &clock, &other, env, "行政处罚");
        assert!(s.notices.is_empty(), "{}: {:?}", ts.name, s.notices);
        assert_eq!(in_force().len(), 2, "{}", ts.name);

        // A record stored under the key of its number as written.
        import(&ts.store, &rules, &keys, &clock, &old, env, "行政处罚");
        let as_written =
            domain::monitoring::decision_key_as_written("CF", &["盐环罚〔2026〕第0232号"]).unwrap();
        let canonical =
            domain::monitoring::decision_key("CF", &["盐环罚〔2026〕第0232号"]).unwrap();
        let set = |from: [u8; 16], to: [u8; 16]| {
            ts.store
                .write(|c| {
                    c.execute(
                        "UPDATE records SET decision_key = $1 WHERE decision_key = $2",
                        &[
                            store::Val::Bytes(to.to_vec()),
                            store::Val::Bytes(from.to_vec()),
                        ],
                    )
                })
                .unwrap()
        };
        assert_eq!(set(canonical, as_written), 1, "{}", ts.name);
        let classes = vec![("CF".to_string(), vec!["CF_WSH".to_string()])];
        assert_eq!(
            ts.store.backfill_decision_keys(&classes).unwrap(),
            1,
            "{}",
            ts.name
        );
        assert_eq!(ts.store.backfill_decision_keys(&classes).unwrap(), 0);
        let s = import(&ts.store, &rules, &keys, &clock, &new, env, "行政处罚");
        assert_eq!(s.created, 1, "{}: {s:?}", ts.name);
        let live = in_force();
        assert_eq!(live.len(), 3, "{}: {live:?}", ts.name);
        assert!(
            !live.iter().any(|p| p.contains("第0232号")),
            "{}: {live:?}",
            ts.name
        );
    }
}

/// One file writing the same decision of one company twice, the second time with 第 and a
/// zero (both went in: two records of one penalty): the second row is refused, naming the first.
#[test]
fn one_file_writing_a_decision_twice_otherwise_keeps_one() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let f = write(
        dir.path(),
        "a.csv",
        &[
            hengtai_penalty(&rules, "盐环罚〔2026〕9231号", env),
            hengtai_penalty(&rules, "盐环罚〔2026〕第09231号", env),
            hengtai_penalty(&rules, "盐环罚〔2026〕9232号", env),
            // The year in round brackets: the same decision again.
            hengtai_penalty(&rules, "盐环罚（2026）9232号", env),
        ],
    );
    for ts in stores() {
        let keys = testkit::keys();
        let s = import_on_may_8(&ts.store, &rules, &keys, &f);
        assert_eq!((s.created, s.rejected), (2, 2), "{}: {s:?}", ts.name);
        let rejected = ts.store.rejections(s.submission_id.unwrap()).unwrap();
        for (r, first) in rejected.iter().zip([2, 4]) {
            assert!(
                r.problems[0]
                    .reason
                    .contains(&format!("与第{first}行是同一主体的同一决定")),
                "{}: {:?}",
                ts.name,
                r.problems
            );
        }
        assert_eq!(
            rejected.iter().map(|r| r.row_no).collect::<Vec<_>>(),
            [3, 5],
            "{}",
            ts.name
        );
    }
}

/// The same decision sent again with its year in other brackets (盐环罚[2026]… for
/// 盐环罚〔2026〕…) corrects the record instead of publishing a second penalty.
#[test]
fn a_decision_number_in_other_brackets_is_the_same_decision() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let first = write(
        dir.path(),
        "a.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕1203号", env)],
    );
    let again = write(
        dir.path(),
        "b.csv",
        &[hengtai_penalty(&rules, "盐环罚[2026]1203号", env).replace("0.3", "0.5")],
    );
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &first);
        assert_eq!(s.created, 1, "{}: {s:?}", ts.name);
        let s = import_on_may_8(&ts.store, &rules, &keys, &again);
        assert_eq!((s.created, s.corrected), (0, 1), "{}: {s:?}", ts.name);
        assert_eq!(ts.store.stats().unwrap().records, 1, "{}", ts.name);
    }
}

/// A business system that exports 〔2026〕 again after a clerk re-keyed the decision as （2026）
/// brings the first writing back and withdraws the second: the penalty stays on the file once,
/// under the writing sent last (both were withdrawn, and the penalty was on no file).
#[test]
fn the_first_bracket_writing_sent_again_comes_back() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let first = write(
        dir.path(),
        "a.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕1207号", env)],
    );
    let rekeyed = write(
        dir.path(),
        "b.csv",
        &[hengtai_penalty(&rules, "盐环罚（2026）1207号", env)],
    );
    // The first file again, not byte for byte (a repeat of the batch would change nothing).
    let exported = dir.path().join("c.csv");
    std::fs::write(
        &exported,
        format!("{}\n", std::fs::read_to_string(&first).unwrap()),
    )
    .unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let in_force = |no: &str| -> Vec<String> {
            let (_, records) = ts
                .store
                .subject_file("91320900MA1MB4X50R", None)
                .unwrap()
                .unwrap();
            records
                .iter()
                .filter(|r| {
                    r.current()
                        .is_some_and(|v| !v.change.ends() && v.payload.contains(no))
                })
                .map(|r| r.record_id.clone())
                .collect()
        };
        let s = import_on_may_8(&ts.store, &rules, &keys, &first);
        assert_eq!(s.created, 1, "{}: {s:?}", ts.name);
        let s = import_on_may_8(&ts.store, &rules, &keys, &rekeyed);
        assert_eq!(s.created, 1, "{}: {s:?}", ts.name);
        assert_eq!(in_force("〔2026〕1207号").len(), 0, "{}", ts.name);
        let s = import_on_may_8(&ts.store, &rules, &keys, &exported);
        assert_eq!((s.created, s.corrected), (0, 1), "{}: {s:?}", ts.name);
        assert_eq!(in_force("〔2026〕1207号").len(), 1, "{}: {s:?}", ts.name);
        assert_eq!(in_force("（2026）1207号").len(), 0, "{}: {s:?}", ts.name);
        assert_eq!(ts.store.stats().unwrap().records, 1, "{}", ts.name);
        // And back again: the writing sent last is the one in force.
        let again = dir.path().join("d.csv");
        std::fs::write(
            &again,
            format!("{}\n", std::fs::read_to_string(&rekeyed).unwrap()),
        )
        .unwrap();
        let s = import_on_may_8(&ts.store, &rules, &keys, &again);
        assert_eq!(s.corrected, 1, "{}: {s:?}", ts.name);
        assert_eq!(in_force("（2026）1207号").len(), 1, "{}: {s:?}", ts.name);
        assert_eq!(in_force("〔2026〕1207号").len(), 0, "{}: {s:?}", ts.name);
    }
}

/// No 处罚机关 or 数据来源单位 carries a company's code: the penalised company's code copied into
/// the wrong column published the company as the source of its own penalty. Another organ's code
/// is not refused for being unlike the one units.toml holds (those are placeholders until the
/// credit office fills in the real ones).
#[test]
fn a_unit_column_with_a_company_code_is_refused() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let code = unit_code(&rules, env);
    let row = |no: &str| hengtai_penalty(&rules, no, env);
    // The 处罚机关's code (the 15th column) is the company's; the 数据来源单位's (the last) a
    // made-up organ's.
    let swap = |line: String, col: usize, to: &str| {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        assert_eq!(cells[col], code);
        cells[col] = to.to_string();
        cells.join(",")
    };
    let company = swap(row("盐环罚〔2026〕991号"), 14, "91320900MA1MB4X50R");
    // A valid organ's code that is not the unit's: one digit changed, the check char made anew.
    let mut first17 = code.as_bytes()[..17].to_vec();
    first17[12] = if first17[12] == b'9' { b'8' } else { b'9' };
    let organ = format!(
        "{}{}",
        String::from_utf8(first17.clone()).unwrap(),
        domain::ids::uscc_check_char(&first17)
    );
    let other = swap(row("盐环罚〔2026〕992号"), 16, &organ);
    let f = write(
        dir.path(),
        "u.csv",
        &[company, other, row("盐环罚〔2026〕993号")],
    );
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &f);
        assert_eq!((s.accepted, s.rejected), (2, 1), "{}: {s:?}", ts.name);
        let r = ts.store.rejections(s.submission_id.unwrap()).unwrap();
        assert!(
            r[0].problems.iter().any(|p| p.reason.contains("企业")),
            "{}: {:?}",
            ts.name,
            r[0].problems
        );
    }
}

/// A code typed into a number cell (Excel shows 1.13209E+17 and keeps 15 digits) is refused on
/// what the clerk must do — retype it from the original into a text cell — not on a check digit
/// they might "correct" into another unit's or person's number.
#[test]
fn a_code_stored_as_a_number_in_excel_is_refused_for_what_it_is() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let code = unit_code(&rules, env);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let header: Vec<&str> = HEADER.split(',').collect();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, no) in ["盐环罚〔2026〕971号", "盐环罚〔2026〕972号"]
        .iter()
        .enumerate()
    {
        let row = hengtai_penalty(&rules, no, env);
        for (c, v) in row.split(',').enumerate() {
            let r = r as u32 + 1;
            // The first row's 处罚机关统一社会信用代码 as a number; the second's as text.
            if r == 1 && header[c] == "处罚机关统一社会信用代码" {
                ws.write_number(r, c as u16, v.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                ws.write_string(r, c as u16, v).unwrap();
            }
        }
    }
    let p = dir.path().join("n.xlsx");
    wb.save(&p).unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}: {s:?}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        let reasons: Vec<&str> = r.problems.iter().map(|p| p.reason.as_str()).collect();
        assert!(
            reasons.len() == 1
                && reasons[0].contains("数字格式")
                && reasons[0].contains("文本")
                && !reasons[0].contains("校验码"),
            "{}: {reasons:?}",
            ts.name
        );
    }
}

/// A fine column headed without its unit (罚款金额) is read as the standard's 万元, and the batch
/// says so: a legacy export in 元 published 3500 as 35,000,000 元 with no word to the unit.
#[test]
fn a_fine_column_without_its_unit_is_named_in_the_notices() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let p = dir.path().join("n.csv");
    std::fs::write(
        &p,
        format!(
            "{}\n{}\n",
            HEADER.replace("罚款金额（万元）", "罚款金额"),
            hengtai_penalty(&rules, "盐环罚〔2026〕98号", env)
        ),
    )
    .unwrap();
    let labelled = write(
        dir.path(),
        "l.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕99号", env)],
    );
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!(s.accepted, 1, "{}: {s:?}", ts.name);
        assert!(
            s.notices
                .iter()
                .any(|n| n.contains("“罚款金额”列的表头未写明金额单位")),
            "{}: {:?}",
            ts.name,
            s.notices
        );
        let s = import_on_may_8(&ts.store, &rules, &keys, &labelled);
        assert!(
            !s.notices.iter().any(|n| n.contains("未写明金额单位")),
            "{}: {:?}",
            ts.name,
            s.notices
        );
    }
}

/// A fine column headed in 元 is not read as 万元 (10,000 times the amount); the rows that need
/// it say that the column is in the wrong unit, not that the file has no such column.
#[test]
fn a_fine_column_in_yuan_is_named_in_the_reason() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let p = dir.path().join("y.csv");
    std::fs::write(
        &p,
        format!(
            "{}\n{}\n",
            HEADER.replace("罚款金额（万元）", "罚款金额（元）"),
            hengtai_penalty(&rules, "盐环罚〔2026〕97号", env).replace(",0.3,", ",3000,")
        ),
    )
    .unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (0, 1), "{}: {s:?}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        let why: Vec<&str> = r.problems.iter().map(|p| p.reason.as_str()).collect();
        assert!(
            why.iter()
                .any(|w| w.contains("“罚款金额（元）”列不是以万元为单位")),
            "{why:?}"
        );
    }
}

/// A JSON record with an object or a list for a data item is rejected naming the item; one for
/// a key outside the catalog (a sending system's metadata) is passed over like any unknown key.
#[test]
fn nested_json_values_are_refused_for_data_items_only() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let record = |no: &str, extra: serde_json::Value| {
        let mut m = penalty_json(&rules, no, env);
        if let serde_json::Value::Object(e) = extra {
            m.extend(e);
        }
        serde_json::Value::Object(m)
    };
    let records = serde_json::json!([
        record(
            "盐环罚〔2026〕98号",
            serde_json::json!({"_ext": {"system": "执法平台"}})
        ),
        record(
            "盐环罚〔2026〕99号",
            serde_json::json!({"行政相对人名称": {"名称": "乙公司"}})
        ),
        // A legal representative named true was published as 是.
        record(
            "盐环罚〔2026〕97号",
            serde_json::json!({"法定代表人": true})
        ),
    ]);
    let p = dir.path().join("n.json");
    std::fs::write(&p, records.to_string()).unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (1, 2), "{}: {s:?}", ts.name);
        for r in &ts.store.rejections(s.submission_id.unwrap()).unwrap() {
            assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
            assert!(
                r.problems[0].reason.contains("JSON对象、数组或true/false"),
                "{:?}",
                r.problems
            );
        }
    }
    // A name with a character from the private-use area (GB18030 造字 AAA1 is U+E000) is text.
    let p = write(
        dir.path(),
        "pua.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕100号", env).replace("张三", "\u{E000}华")],
    );
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!(s.accepted, 1, "{}: {s:?}", ts.name);
    }
}

/// JSON that a department's system wrote in GB18030 (GBK) is decoded as CSV is, not refused
/// with a syntax error at its first Chinese character.
#[test]
fn json_in_gb18030_is_decoded() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let header: Vec<&str> = HEADER.split(',').collect();
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕101号", env);
    let record: serde_json::Map<String, serde_json::Value> = header
        .iter()
        .zip(row.split(','))
        .map(|(h, v)| (h.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let text = serde_json::Value::Array(vec![serde_json::Value::Object(record)]).to_string();
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file is not UTF-8"
    );
    let p = dir.path().join("gbk.json");
    std::fs::write(&p, &bytes).unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (1, 0), "{}: {s:?}", ts.name);
        let heads = ts
            .store
            .subject_heads("91320900MA1MB4X50R", &["CF"])
            .unwrap();
        assert!(
            heads[0].payload.contains("盐城市恒泰化工有限公司"),
            "{}",
            heads[0].payload
        );
    }
}

/// A decision dated before the law it was taken under (a blank cell a spreadsheet read as
/// 1900-01-01, a year typed wrong) is rejected naming the law; the first day it held is taken.
#[test]
fn a_penalty_dated_before_the_penalty_law_is_rejected() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let row = |no: &str, date: &str| hengtai_penalty(&rules, no, env).replace("2026-05-06", date);
    let p = write(
        dir.path(),
        "old.csv",
        &[
            row("盐环罚〔1900〕1号", "1900-01-01"),
            row("盐环罚〔1996〕2号", "1996-09-30"),
            row("盐环罚〔1996〕3号", "1996-10-01"),
        ],
    );
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (1, 2), "{}: {s:?}", ts.name);
        for r in ts.store.rejections(s.submission_id.unwrap()).unwrap() {
            let p = &r.problems[0];
            assert_eq!(p.field, "CF_JDRQ", "{r:?}");
            assert!(
                p.reason
                    .contains("早于《中华人民共和国行政处罚法》施行之日"),
                "{r:?}"
            );
        }
    }
}

/// A batch withdrawn leaves the unit's intake figures (its rows were counted as 入库 though
/// the unit took them back) and is counted apart; it keeps its rejection warning: withdrawing
/// is not a way to clear a unit's refusals.
#[test]
fn a_withdrawn_batch_is_counted_apart_in_the_units_quality() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let good = hengtai_penalty(&rules, "盐环罚〔2026〕61号", env);
    let bad =
        hengtai_penalty(&rules, "盐环罚〔2026〕62号", env).replace("2026-05-06", "2026-13-01");
    let f = write(dir.path(), "q.csv", &[good, bad]);
    for ts in stores() {
        let clock = clock_on("2026-05-08");
        let s = import(
            &ts.store,
            &rules,
            &testkit::keys(),
            &clock,
            &f,
            env,
            "行政处罚",
        );
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}", ts.name);
        let w = store::Withdrawal {
            unit: env,
            actor: "李四",
            reason: "整批撤回",
            at: clock.now(),
        };
        ts.store
            .withdraw_submission(s.submission_id.unwrap(), &w)
            .unwrap();
        let q = ts.store.quality_by_unit(Some(env)).unwrap();
        assert_eq!(q.len(), 1, "{}", ts.name);
        assert_eq!(
            (
                q[0].submissions,
                q[0].counts.rows_read,
                q[0].counts.accepted,
                q[0].withdrawn_submissions
            ),
            (0, 0, 0, 1),
            "{}",
            ts.name
        );
        let since = clock.now() - chrono::Duration::days(30);
        let rates = ts.store.rejection_rates(since).unwrap();
        assert!(
            rates.contains(&(env.to_string(), 2, 1)),
            "{}: {rates:?}",
            ts.name
        );
    }
}

/// A decision whose reporting deadline runs into a year with no holiday notice loaded gets an
/// on-time verdict counted Monday to Friday, and the import says so (rules.md: a warning, never
/// a silent guess); a batch within the loaded years says nothing.
#[test]
fn an_on_time_verdict_without_the_years_holidays_is_said_to_be_provisional() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let late_dec =
        hengtai_penalty(&rules, "盐环罚〔2026〕991号", env).replace("2026-05-06", "2026-12-28");
    let f = write(dir.path(), "dec.csv", &[late_dec]);
    let may = write(
        dir.path(),
        "may.csv",
        &[hengtai_penalty(&rules, "盐环罚〔2026〕992号", env)],
    );
    let ts = testkit::sqlite();
    let keys = testkit::keys();
    let s = import(
        &ts.store,
        &rules,
        &keys,
        &clock_on("2027-01-07"),
        &f,
        env,
        "行政处罚",
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    assert!(
        s.notices
            .iter()
            .any(|n| n.contains("2027年的节假日安排尚未载入")),
        "{s:?}"
    );
    let s = import(
        &ts.store,
        &rules,
        &keys,
        &clock_on("2026-05-08"),
        &may,
        env,
        "行政处罚",
    );
    assert!(s.notices.is_empty(), "{s:?}");
}

/// A fine written in 元 into the 万元 column is ten thousand times the fine: where the
/// decision's words state the amount, the row is rejected on the column with the figure to
/// write; the same figure in 万元 is taken.
#[test]
fn a_fine_filled_in_yuan_instead_of_wan_is_rejected() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let wrong = hengtai_penalty(&rules, "盐环罚〔2026〕601号", env)
        .replace("处罚款0.3万元,0.3", "处罚款1.50348万元,15034.8");
    let right = hengtai_penalty(&rules, "盐环罚〔2026〕602号", env)
        .replace("处罚款0.3万元,0.3", "处罚款15034.8元,1.50348");
    // The decision states it in words (伍万元整), as many do.
    let in_words = hengtai_penalty(&rules, "盐环罚〔2026〕603号", env)
        .replace("处罚款0.3万元,0.3", "罚款人民币伍万元整,50000");
    // A space where the decimal point was: not read as 2 万元.
    let spaced = hengtai_penalty(&rules, "盐环罚〔2026〕604号", env)
        .replace("处罚款0.3万元,0.3", "处罚款0.2万元,0 2");
    // A decimal point slipped: 3500元 stated, 0.035 (350元) filled in — refused; a fine the
    // decision does not state beside a confiscation ten times it is no slip — taken.
    let tenth = hengtai_penalty(&rules, "盐环罚〔2026〕605号", env)
        .replace("处罚款0.3万元,0.3", "责令改正，并处罚款3500元,0.035");
    let beside = hengtai_penalty(&rules, "盐环罚〔2026〕606号", env)
        .replace("处罚款0.3万元,0.3", "没收违法所得5000元，并处罚款,0.05");
    // The confiscation's amount in the fine's column, the fine stated beside it: refused.
    let confiscated = hengtai_penalty(&rules, "盐环罚〔2026〕607号", env)
        .replace("处罚款0.3万元,0.3", "没收违法所得5000元，并处罚款500元,0.5");
    // The slip the other way: 5000元 stated, 5 (50000元) filled in — refused; a fine per day
    // adds up to more than the day's amount it states — taken.
    let tenfold = hengtai_penalty(&rules, "盐环罚〔2026〕608号", env)
        .replace("处罚款0.3万元,0.3", "责令改正，并处罚款5000元,5");
    let per_day = hengtai_penalty(&rules, "盐环罚〔2026〕609号", env)
        .replace("处罚款0.3万元,0.3", "按日连续处罚，每日罚款1万元,10");
    let p = write(
        dir.path(),
        "fk.csv",
        &[
            wrong,
            right,
            in_words,
            spaced,
            tenth,
            beside,
            confiscated,
            tenfold,
            per_day,
        ],
    );
    // A confiscation written in 元 into its column of 万元.
    let wfff = dir.path().join("wfff.csv");
    std::fs::write(
        &wfff,
        format!(
            "{HEADER},没收违法所得、没收非法财物的金额（万元）\n{},12345\n{},1.2345\n",
            hengtai_penalty(&rules, "盐环罚〔2026〕610号", env).replace(
                "罚款,处罚款0.3万元,0.3",
                "罚款;没收违法所得,没收违法所得12345元，并处罚款3万元,3"
            ),
            hengtai_penalty(&rules, "盐环罚〔2026〕611号", env).replace(
                "罚款,处罚款0.3万元,0.3",
                "罚款;没收违法所得,没收违法所得12345元，并处罚款3万元,3"
            ),
        ),
    )
    .unwrap();
    for ts in stores() {
        let keys = testkit::keys();
        let s = import_on_may_8(&ts.store, &rules, &keys, &wfff);
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}: {s:?}", ts.name);
        let r = ts.store.rejections(s.submission_id.unwrap()).unwrap();
        assert_eq!(r[0].problems[0].field, "CF_NR_WFFF", "{}", ts.name);
        assert!(
            r[0].problems[0]
                .reason
                .contains("处罚内容写明12345元，本项应填1.2345（万元）"),
            "{}: {:?}",
            ts.name,
            r[0].problems
        );
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (3, 6), "{}: {s:?}", ts.name);
        let rejected = ts.store.rejections(s.submission_id.unwrap()).unwrap();
        let reason = |row: i64| {
            let r = rejected.iter().find(|r| r.row_no == row).unwrap();
            assert_eq!(r.problems[0].field, "CF_NR_FK", "{}", ts.name);
            r.problems[0].reason.clone()
        };
        for (row, said) in [
            (2, "本项应填1.50348（万元）"),
            (4, "处罚内容写明罚款50000元，本项应填5（万元）"),
            (5, "数字之间有空格"),
            (6, "本项应填0.35（万元），现填的0.035万元只有其十分之一"),
            (
                8,
                "本项填的5000元是处罚内容中的其他金额（如没收违法所得），应填罚款数额0.05（万元）",
            ),
            (9, "本项应填0.5（万元），现填的5万元是其十倍"),
        ] {
            assert!(reason(row).contains(said), "{}: {}", ts.name, reason(row));
        }
    }
}

/// An ID number is a person's key, and a mistyped one is someone else's: a new record under a
/// name other than the one on file for the number is rejected on the name, so that it is not
/// published on that person's file; the same name, or a correction of a record already filed
/// under the number, is taken.
#[test]
fn a_persons_new_record_under_another_name_is_rejected() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let uc = unit_code(&rules, env);
    let id = "320902198607226595";
    let row = |name: &str, no: &str, fine: &str| {
        format!(
            "{name},自然人,身份证,{id},{no},露天焚烧,当事人露天焚烧垃圾,《中华人民共和国大气污染防治法》第一百一十九条,罚款,处罚款{fine}万元,{fine},2026-05-02,2027-05-02,{env},{uc},{env},{uc}\n"
        )
    };
    let header = "CF_XDR_MC,CF_XDR_LB,CF_XDR_ZJLX,CF_XDR_ZJHM,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n";
    let first = dir.path().join("a.csv");
    // The person's first record; in the same file, a second under another name.
    std::fs::write(
        &first,
        format!(
            "{header}{}{}",
            row("覃成", "盐环罚〔2026〕501号", "0.05"),
            row("王小测", "盐环罚〔2026〕502号", "0.05")
        ),
    )
    .unwrap();
    let later = dir.path().join("b.csv");
    std::fs::write(
        &later,
        format!(
            "{header}{}{}{}",
            // Another new record under another name: rejected.
            row("王小测", "盐环罚〔2026〕503号", "0.05"),
            // Under the name on file: taken.
            row("覃成", "盐环罚〔2026〕504号", "0.05"),
            // A correction of the first record that writes the name otherwise: taken.
            row("覃 成", "盐环罚〔2026〕501号", "0.06"),
        ),
    )
    .unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let a = import_on_may_8(&ts.store, &rules, &keys, &first);
        assert_eq!((a.accepted, a.rejected), (1, 1), "{}: {a:?}", ts.name);
        let b = import_on_may_8(&ts.store, &rules, &keys, &later);
        assert_eq!((b.accepted, b.rejected), (2, 1), "{}: {b:?}", ts.name);
        for s in [&a, &b] {
            let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
            assert_eq!(r.problems[0].field, "CF_XDR_MC", "{}", ts.name);
            let why = &r.problems[0].reason;
            assert!(
                why.contains("王小测") && why.contains("不一致"),
                "{}: {why}",
                ts.name
            );
            // The name on file is not told (any unit could learn it by sending numbers).
            assert!(!why.contains('覃'), "{}: {why}", ts.name);
        }
        let (subject, records) = ts
            .store
            .subject_file(&keys.person_key("身份证", id), None)
            .unwrap()
            .expect("the person's file");
        assert_eq!(subject.name, "覃成", "{}", ts.name);
        assert_eq!(records.len(), 2, "{}", ts.name);
        assert!(
            records
                .iter()
                .all(|r| !r.current().unwrap().payload.contains("王小测")),
            "{}",
            ts.name
        );
        // A name changed at law: the unit corrects its record under the new name, and new
        // records under it are taken — in the same file as the correction too, before it or
        // after. A name written with another middle dot is the same name.
        let changed = dir.path().join(format!("c-{}.csv", ts.name));
        std::fs::write(
            &changed,
            format!(
                "{header}{}{}{}",
                row("覃晓成", "盐环罚〔2026〕505号", "0.05"),
                row("覃晓成", "盐环罚〔2026〕501号", "0.07"),
                row("覃 晓成", "盐环罚〔2026〕506号", "0.05"),
            ),
        )
        .unwrap();
        let c = import_on_may_8(&ts.store, &rules, &keys, &changed);
        assert_eq!(
            (c.corrected, c.accepted, c.rejected),
            (1, 3, 0),
            "{}: {c:?}",
            ts.name
        );
        let other = dir.path().join(format!("d-{}.csv", ts.name));
        let dotted = |name: &str, no: &str| row(name, no, "0.05").replace(id, "320902199001011236");
        std::fs::write(
            &other,
            format!(
                "{header}{}{}",
                dotted("阿依古丽·买买提", "盐环罚〔2026〕507号"),
                dotted("阿依古丽•买买提", "盐环罚〔2026〕508号"),
            ),
        )
        .unwrap();
        let e = import_on_may_8(&ts.store, &rules, &keys, &other);
        assert_eq!((e.accepted, e.rejected), (2, 0), "{}: {e:?}", ts.name);
    }
}

/// A person's own ID number written again into the free text (a passport's too, which no shape
/// finds), or into the name, is masked there as in the ID field; the text as written is kept
/// sealed.
#[test]
fn a_persons_own_number_is_masked_in_the_free_text_and_the_name() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let uc = unit_code(&rules, env);
    let id17 = "32098119850315128";
    let id = format!("{id17}{}", domain::ids::ric_check_char(id17.as_bytes()));
    let p = dir.path().join("pp.csv");
    std::fs::write(
        &p,
        format!(
            "CF_XDR_MC,CF_XDR_LB,CF_XDR_ZJLX,CF_XDR_ZJHM,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n\
             Tom Lee（E12345678）,自然人,护照,E12345678,盐环罚〔2026〕401号,露天焚烧,当事人（护照号E12345678）露天焚烧垃圾,《中华人民共和国大气污染防治法》第一百一十九条,罚款,处罚款0.05万元,0.05,2026-05-02,2027-05-02,{env},{uc},{env},{uc}\n\
             李四,自然人,身份证,{id},盐环罚〔2026〕{id}号,露天焚烧,当事人露天焚烧垃圾,《中华人民共和国大气污染防治法》第一百一十九条,罚款,处罚款0.05万元,0.05,2026-05-02,2027-05-02,{env},{uc},{env},{uc}\n"
        ),
    )
    .unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!(s.accepted, 2, "{}: {s:?}", ts.name);
        // A party's own ID number typed into the 文号 is masked there too (the document
        // number is not otherwise searched for ID-shaped numbers).
        let (_, theirs) = ts
            .store
            .subject_file(&keys.person_key("身份证", &id), None)
            .unwrap()
            .expect("the resident's file");
        let v = theirs[0].current().unwrap();
        assert!(!v.payload.contains(&id), "{}: {}", ts.name, v.payload);
        assert!(
            v.payload.contains(&format!(
                "盐环罚〔2026〕{}号",
                domain::ids::mask_id_number(&id)
            )),
            "{}",
            v.payload
        );
        let (subject, records) = ts
            .store
            .subject_file(&keys.person_key("护照号", "E12345678"), None)
            .unwrap()
            .expect("the person's file");
        assert!(!subject.name.contains("E12345678"), "{}", subject.name);
        let v = records[0].current().unwrap();
        assert!(
            !v.payload.contains("E12345678"),
            "{}: {}",
            ts.name,
            v.payload
        );
        assert!(
            v.payload.contains("当事人（护照号E1*****78）"),
            "{}",
            v.payload
        );
    }
}

/// A unit reports as itself: a row naming another unit of the platform as its 数据来源单位 or,
/// for 双公示, as the deciding body is rejected naming that field (one unit could otherwise take
/// another's decision numbers, and its window would follow the wrong rules).
#[test]
fn a_row_in_another_units_name_is_rejected() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let market = "盐城市市场监督管理局";
    let theirs = hengtai_penalty(&rules, "盐环罚〔2026〕93号", env);
    // Only the deciding body the other unit's (the submitter names itself as the source).
    let (env_at, market_at) = (
        format!("{env},{}", unit_code(&rules, env)),
        format!("{market},{}", unit_code(&rules, market)),
    );
    let last = theirs.rfind(&env_at).unwrap();
    let decided_elsewhere = format!(
        "{}{market_at}{}",
        &theirs[..last],
        &theirs[last + env_at.len()..]
    )
    .replace("盐环罚〔2026〕93号", "盐环罚〔2026〕94号");
    let f = write(dir.path(), "x.csv", &[theirs, decided_elsewhere]);
    for ts in stores() {
        let s = import(
            &ts.store,
            &rules,
            &testkit::keys(),
            &clock_on("2026-05-08"),
            &f,
            market,
            "行政处罚",
        );
        assert_eq!((s.accepted, s.rejected), (0, 2), "{}: {s:?}", ts.name);
        let rej = ts.store.rejections(s.submission_id.unwrap()).unwrap();
        let fields: Vec<Vec<&str>> = rej
            .iter()
            .map(|r| {
                let mut f: Vec<&str> = r.problems.iter().map(|p| p.field.as_str()).collect();
                f.sort();
                f
            })
            .collect();
        assert_eq!(
            fields[0],
            ["CF_CFJG", "CF_CFJGDM", "CF_SJLY", "CF_SJLYDM"].to_vec(),
            "{rej:?}"
        );
        assert_eq!(fields[1], ["CF_CFJG", "CF_CFJGDM"].to_vec(), "{rej:?}");
        let why: Vec<&str> = rej[0].problems.iter().map(|p| p.reason.as_str()).collect();
        assert!(why.contains(&"“盐城市生态环境局”是另一报送单位，与报送单位“盐城市市场监督管理局”不一致：只能报送本单位作出的决定，该单位的决定由其自行报送"), "{why:?}");
        assert!(
            why.iter()
                .any(|w| w.contains("是另一报送单位（盐城市生态环境局）")),
            "{why:?}"
        );
    }
}

/// A JSON number is read as the sender wrote it, not through floating point: 0.000001 万元 is
/// one fen exactly, and a number finer than a fen is refused as written.
#[test]
fn json_numbers_are_read_as_written() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let m = penalty_json(&rules, "盐环罚〔2026〕95号", env);
    let text = |fine: &str, no: &str| {
        let mut m = m.clone();
        m.insert(
            "罚款金额（万元）".into(),
            serde_json::Value::String("@".into()),
        );
        m.insert(
            "行政处罚决定书文号".into(),
            serde_json::Value::String(no.into()),
        );
        serde_json::Value::Object(m)
            .to_string()
            .replace("\"@\"", fine)
    };
    let p = dir.path().join("num.json");
    std::fs::write(
        &p,
        format!(
            "[{},{}]",
            text("0.000001", "盐环罚〔2026〕95号"),
            text("123456789012.3456789", "盐环罚〔2026〕96号")
        ),
    )
    .unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!((s.accepted, s.rejected), (1, 1), "{}: {s:?}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        assert!(
            r.problems[0].reason.contains("123456789012.3456789"),
            "{:?}",
            r.problems
        );
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let v = records[0].current().unwrap();
        assert!(v.payload.contains("\"0.01\""), "{}: {}", ts.name, v.payload);
    }
}

/// Only the A-level taxpayers are published; a lower grade is kept and shared, not shown to the
/// public (the catalog's public_only, with its basis).
#[test]
fn only_the_a_grade_of_tax_credit_is_public() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let unit = "国家税务总局盐城市税务局";
    let p = dir.path().join("ns.csv");
    std::fs::write(
        &p,
        "NS_NSRMC,NS_SHXYM,NS_PJND,NS_XYJB,NS_PJRQ,NS_PDJG\n\
         盐城市恒泰化工有限公司,91320900MA1MB4X50R,2025,C,2026-04-20,国家税务总局盐城市税务局\n\
         盐城市某某有限公司,91320925MA1N8K2T8X,2025,A,2026-04-20,国家税务总局盐城市税务局\n",
    )
    .unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-05-08"),
            &p,
            unit,
            "纳税信用等级",
        );
        assert_eq!(
            s.accepted,
            2,
            "{}: {:?}",
            ts.name,
            ts.store.rejections(s.submission_id.unwrap()).unwrap()
        );
        let shown = |code: &str| {
            let f = views::credit_file(
                &ts.store,
                &rules,
                code,
                testkit::day("2026-05-08"),
                views::Audience::Public,
            )
            .unwrap()
            .unwrap();
            f.classes.iter().any(|c| c.code == "NSXY")
        };
        assert!(!shown("91320900MA1MB4X50R"), "{}: grade C shown", ts.name);
        assert!(shown("91320925MA1N8K2T8X"), "{}: grade A hidden", ts.name);
        let full = views::credit_file(
            &ts.store,
            &rules,
            "91320900MA1MB4X50R",
            testkit::day("2026-05-08"),
            views::Audience::Full,
        )
        .unwrap()
        .unwrap();
        assert!(full.classes.iter().any(|c| c.code == "NSXY"), "{}", ts.name);
    }
    // A grade stored before the rule came in (published at import) is not shown either.
    let mut before = rules.clone();
    for c in &mut before.catalog.classes {
        c.public_only = None;
    }
    let ts = testkit::sqlite();
    let s = import(
        &ts.store,
        &before,
        &keys,
        &clock_on("2026-05-08"),
        &p,
        unit,
        "纳税信用等级",
    );
    assert_eq!(s.accepted, 2, "{s:?}");
    let f = views::credit_file(
        &ts.store,
        &rules,
        "91320900MA1MB4X50R",
        testkit::day("2026-05-08"),
        views::Audience::Public,
    )
    .unwrap()
    .unwrap();
    assert!(
        !f.classes.iter().any(|c| c.code == "NSXY"),
        "grade C stored before the rule shown"
    );
}

/// A decision numbered by area, date and serial (320902202403150001) is a document number, not
/// someone's ID number: kept as written, while a mistyped ID named as one in the facts is masked.
#[test]
fn a_document_number_shaped_like_an_id_is_kept() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let mut no = String::from("32090220240315000");
    // A last character that does not check, so only a label could make it an ID number.
    let good = domain::ids::ric_check_char(no.as_bytes());
    no.push(if good == '1' { '2' } else { '1' });
    let mistyped = "320902198503151230";
    let row = hengtai_penalty(&rules, &no, env).replace(
        "经查超标排放大气污染物",
        &format!("经查超标排放，现场负责人李四（身份证号{mistyped}）"),
    );
    let p = write(dir.path(), "wsh.csv", &[row]);
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &p);
        assert_eq!(s.accepted, 1, "{}: {s:?}", ts.name);
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let v = records[0].current().unwrap();
        assert!(v.payload.contains(&no), "{}: {}", ts.name, v.payload);
        assert!(!v.payload.contains(mistyped), "{}: {}", ts.name, v.payload);
    }
}

/// The store's list of document-number items (not masked as ID numbers when read) is the
/// catalog's decision_no items, no more and no fewer.
#[test]
fn the_document_numbers_the_store_leaves_unmasked_are_the_catalogs() {
    let rules = Rulebook::builtin().unwrap();
    let mut from_catalog: Vec<&str> = rules
        .catalog
        .classes
        .iter()
        .filter_map(|c| c.item_by_role(domain::catalog::Role::DecisionNo))
        .map(|i| i.code.as_str())
        .collect();
    from_catalog.sort();
    from_catalog.dedup();
    let mut listed = store::DOCUMENT_NUMBERS.to_vec();
    listed.sort();
    assert_eq!(listed, from_catalog);
}

/// The store's list of checked codes (not searched for ID or mobile numbers when read) is the
/// catalog's USCC items, no more and no fewer: a text item listed there would be shown
/// unmasked.
#[test]
fn the_codes_the_store_leaves_unmasked_are_the_catalogs_uscc_items() {
    let rules = Rulebook::builtin().unwrap();
    let mut from_catalog: Vec<&str> = rules
        .catalog
        .classes
        .iter()
        .flat_map(|c| &c.items)
        .filter(|i| i.ty == domain::catalog::ItemType::Uscc)
        .map(|i| i.code.as_str())
        .collect();
    from_catalog.sort();
    from_catalog.dedup();
    let mut listed = store::CHECKED_CODES.to_vec();
    listed.sort();
    assert_eq!(listed, from_catalog);
}

/// A decision reported on time under a wrong code and corrected after its deadline was reported
/// on time: the record under the right code says so in a version of its own, and the 双公示
/// figures (the rollup and the recount from the records) count it on time. A second party of
/// the same decision reported late (another name, not a correction) stays late.
#[test]
fn a_code_correction_keeps_the_timeliness_of_the_first_report() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市生态环境局";
    let uc = unit_code(&rules, unit);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = synth::Rng::new(12);
    let wrong = synth::make_uscc(&mut rng, "91", "320902");
    let other = synth::make_uscc(&mut rng, "91", "320903");
    let right = "91320900MA1MB4X50R";
    let row = |name: &str, code: &str, no: &str| {
        penalty_row(name, code, no, "0.3", "2026-06-01").replace("11320900001401484X", &uc)
    };
    let hengtai = "盐城市恒泰化工有限公司";
    let first = write(
        dir.path(),
        "first.csv",
        &[row(hengtai, &wrong, "盐环罚〔2026〕40号")],
    );
    let late = write(
        dir.path(),
        "late.csv",
        &[
            row(hengtai, right, "盐环罚〔2026〕40号"),
            row("盐城市鑫达建材有限公司", &other, "盐环罚〔2026〕40号"),
        ],
    );
    for ts in stores() {
        let keys = testkit::keys();
        // On time (the deadline of a decision of 2026-06-01 is 2026-06-10), then corrected late.
        let s1 = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-03"),
            &first,
            unit,
            "行政处罚",
        );
        assert_eq!(s1.created, 1, "{}", ts.name);
        let s2 = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-20"),
            &late,
            unit,
            "行政处罚",
        );
        assert_eq!(s2.created, 2, "{}: {:?}", ts.name, s2.notices);
        let versions = |code: &str| {
            views::credit_file(
                &ts.store,
                &rules,
                code,
                day("2026-06-20"),
                views::Audience::Full,
            )
            .unwrap()
            .unwrap()
            .classes
            .iter()
            .filter(|c| c.code == "CF")
            .flat_map(|c| c.records.clone())
            .flat_map(|r| r.versions)
            .collect::<Vec<_>>()
        };
        let corrected = versions(right);
        let last = corrected.last().unwrap();
        assert_eq!(
            (corrected.len(), last.change),
            (2, "corrected"),
            "{}",
            ts.name
        );
        assert!(
            last.reason.as_deref().unwrap_or("").contains("按时"),
            "{}: {:?}",
            ts.name,
            last.reason
        );
        assert_eq!(
            versions(&other).len(),
            1,
            "{}: the other party is untouched",
            ts.name
        );
        let mine = |f: Vec<store::MonthFigures>| {
            f.into_iter()
                .find(|f| f.source_unit == unit)
                .map(|f| (f.accepted, f.on_time))
        };
        let rollup = mine(ts.store.month_figures("2026-06", &["CF"]).unwrap());
        // The withdrawn record no longer counts; the corrected one on time, the other late.
        assert_eq!(rollup, Some((2, 1)), "{}", ts.name);
        assert_eq!(
            mine(ts.store.month_figures_recount("2026-06", &["CF"]).unwrap()),
            rollup,
            "{}: the recount agrees",
            ts.name
        );
    }
}

/// A unit that filed a penalty under another company's code and sends the same decision again
/// under the right one: the record on the wrong company's file is withdrawn, saying why. A
/// second party of the same decision under another name is only pointed out to the unit, and
/// two parties sent in one file are both kept.
#[test]
fn a_decision_sent_again_under_the_right_code_leaves_the_wrong_subjects_file() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市生态环境局";
    let uc = unit_code(&rules, unit);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = synth::Rng::new(11);
    let wrong = synth::make_uscc(&mut rng, "91", "320902");
    let other = synth::make_uscc(&mut rng, "91", "320903");
    let third = synth::make_uscc(&mut rng, "91", "320904");
    let right = "91320900MA1MB4X50R";
    let row = |name: &str, code: &str, no: &str| {
        penalty_row(name, code, no, "0.3", "2026-06-01").replace("11320900001401484X", &uc)
    };
    let hengtai = "盐城市恒泰化工有限公司";
    let first = write(
        dir.path(),
        "first.csv",
        &[
            row(hengtai, &wrong, "盐环罚〔2026〕30号"),
            row("盐城市鑫达建材有限公司", &other, "盐环罚〔2026〕31号"),
            // Two parties of one decision in one file: both stand.
            row("盐城市甲乙贸易有限公司", &third, "盐环罚〔2026〕32号"),
            row(hengtai, right, "盐环罚〔2026〕32号"),
        ],
    );
    let second = write(
        dir.path(),
        "second.csv",
        &[
            row(hengtai, right, "盐环罚〔2026〕30号"),
            row("盐城市丙丁物流有限公司", right, "盐环罚〔2026〕31号"),
        ],
    );
    for ts in stores() {
        let keys = testkit::keys();
        let s1 = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-03"),
            &first,
            unit,
            "行政处罚",
        );
        assert_eq!(
            (s1.created, s1.rejected),
            (4, 0),
            "{}: {:?}",
            ts.name,
            s1.notices
        );
        assert!(s1.notices.is_empty(), "{}: {:?}", ts.name, s1.notices);
        // Records stored before they kept their decision (migration 0009) get it from
        // `migrate` (the same key as the importer's), or when their unit sends them again.
        let forget = || {
            ts.store
                .write(|c| c.execute("UPDATE records SET decision_key = NULL", &[]))
                .unwrap()
        };
        let keyed = |s: &store::Store| -> Vec<Vec<u8>> {
            s.read(|c| {
                c.query(
                    "SELECT decision_key FROM records ORDER BY subject_key, record_key",
                    &[],
                )
            })
            .unwrap()
            .iter()
            .map(|r| r.bytes(0).unwrap_or_default())
            .collect()
        };
        let before = keyed(&ts.store);
        assert_eq!(forget(), 4, "{}", ts.name);
        let classes = vec![("CF".to_string(), vec!["CF_WSH".to_string()])];
        assert_eq!(ts.store.backfill_decision_keys(&classes).unwrap(), 4);
        assert_eq!(keyed(&ts.store), before, "{}", ts.name);
        forget();
        let resent = dir.path().join("first-crlf.csv");
        std::fs::write(
            &resent,
            std::fs::read_to_string(&first)
                .unwrap()
                .replace('\n', "\r\n"),
        )
        .unwrap();
        let s1b = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-04"),
            &resent,
            unit,
            "行政处罚",
        );
        assert_eq!(s1b.unchanged, 4, "{}: {s1b:?}", ts.name);
        let s2 = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-10"),
            &second,
            unit,
            "行政处罚",
        );
        assert_eq!((s2.created, s2.rejected), (2, 0), "{}", ts.name);
        let file = |code: &str, audience| {
            views::credit_file(&ts.store, &rules, code, day("2026-06-10"), audience)
                .unwrap()
                .unwrap()
        };
        let penalties = |f: &views::CreditFile| {
            f.classes
                .iter()
                .filter(|c| c.code == "CF")
                .flat_map(|c| c.records.clone())
                .collect::<Vec<_>>()
        };
        // The wrong company's record ended with a withdrawn version that says why.
        let wrong_file = file(&wrong, views::Audience::Full);
        let ended = penalties(&wrong_file);
        assert_eq!(ended.len(), 1, "{}", ts.name);
        let last = ended[0].versions.last().unwrap();
        assert_eq!(last.change, "withdrawn", "{}", ts.name);
        assert!(
            last.reason
                .as_deref()
                .unwrap_or("")
                .contains("主体代码更正"),
            "{}: {:?}",
            ts.name,
            last.reason
        );
        assert!(
            penalties(&file(&wrong, views::Audience::Public)).is_empty(),
            "{}: the public no longer sees it",
            ts.name
        );
        assert!(
            s2.notices
                .iter()
                .any(|n| n.contains("原记录已撤回") && n.contains(&ended[0].record_id)),
            "{}: {:?}",
            ts.name,
            s2.notices
        );
        // Another name under the same number: told, not withdrawn.
        let kept = penalties(&file(&other, views::Audience::Full));
        assert_eq!(
            kept[0].versions.last().unwrap().change,
            "created",
            "{}",
            ts.name
        );
        assert!(
            s2.notices
                .iter()
                .any(|n| n.contains("名称不同") && n.contains(&kept[0].record_id)),
            "{}: {:?}",
            ts.name,
            s2.notices
        );
        // ... and the submission keeps them: its page tells the unit later, not only the reply.
        let stored = ts
            .store
            .submission(s2.submission_id.unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(stored.notices, s2.notices, "{}", ts.name);
        // Both parties filed in one file stand; the right company has three penalties.
        let third_file = penalties(&file(&third, views::Audience::Full));
        assert_eq!(
            third_file[0].versions.last().unwrap().change,
            "created",
            "{}",
            ts.name
        );
        assert_eq!(
            penalties(&file(right, views::Audience::Full)).len(),
            3,
            "{}",
            ts.name
        );
        // The last file again is a repeat: it changes nothing, and what it pointed out is not
        // said again (the record it superseded stays withdrawn).
        let again = import(
            &ts.store,
            &rules,
            &keys,
            &clock_on("2026-06-11"),
            &second,
            unit,
            "行政处罚",
        );
        assert_eq!(
            again.duplicate_of, s2.submission_id,
            "{}: {again:?}",
            ts.name
        );
        assert!(again.notices.is_empty(), "{}: {:?}", ts.name, again.notices);
        let third_file = penalties(&file(&third, views::Audience::Full));
        assert_eq!(
            third_file[0].versions.last().unwrap().change,
            "created",
            "{}",
            ts.name
        );
    }
}

fn ric(seq: u16) -> String {
    let body = format!("32090219800101{seq:03}");
    format!("{body}{}", domain::ids::ric_check_char(body.as_bytes()))
}

/// A penalty of a registered company under its registered name brings no notice of names.
fn s1_notices_clean(
    store: &Store,
    rules: &Rulebook,
    keys: &crypto::KeyRing,
    dir: &tempfile::TempDir,
    code: &str,
    unit: &str,
    uc: &str,
) -> bool {
    let f = write(
        dir.path(),
        "third.csv",
        &[penalty_row(
            "盐城市利海建筑有限公司",
            code,
            "盐环罚〔2026〕42号",
            "0.3",
            "2026-06-01",
        )
        .replace("11320900001401484X", uc)],
    );
    let s = import(
        store,
        rules,
        keys,
        &clock_on("2026-06-10"),
        &f,
        unit,
        "行政处罚",
    );
    s.accepted == 1 && !s.notices.iter().any(|n| n.contains("登记名称不同"))
}

/// What is not a correction of the code is only pointed out: the old code registered under the
/// row's name (the new code is the slip), and persons, whose names prove nothing (重名).
#[test]
fn a_decision_under_another_code_is_not_taken_for_a_correction_when_it_may_not_be_one() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市生态环境局";
    let uc = unit_code(&rules, unit);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = synth::Rng::new(12);
    let (lihai, fengyuan) = (
        synth::make_uscc(&mut rng, "91", "320902"),
        synth::make_uscc(&mut rng, "91", "320903"),
    );
    let (x, y) = (
        synth::make_uscc(&mut rng, "91", "320904"),
        synth::make_uscc(&mut rng, "91", "320905"),
    );
    let reg = dir.path().join("dj.csv");
    std::fs::write(
        &reg,
        format!(
            "DJ_MC,DJ_SHXYM,DJ_ZTLX,DJ_FRDB,DJ_FR_ZJHM,DJ_CLRQ,DJ_DJJG,DJ_DJZT\n\
             盐城市利海建筑有限公司,{lihai},企业,张三,,2015-05-05,盐城市市场监督管理局,存续\n\
             盐城市丰远机械有限公司,{fengyuan},企业,李四,,2015-05-05,盐城市市场监督管理局,存续\n"
        ),
    )
    .unwrap();
    let row = |name: &str, code: &str, no: &str| {
        penalty_row(name, code, no, "0.3", "2026-06-01").replace("11320900001401484X", &uc)
    };
    let persons = |name: &str, id: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "CF_XDR_MC,CF_XDR_LB,CF_XDR_ZJLX,CF_XDR_ZJHM,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n\
                 龚伟宁,自然人,身份证,{id},盐环罚〔2026〕41号,露天焚烧,经查露天焚烧垃圾,《中华人民共和国大气污染防治法》第一百一十九条,罚款,处罚款0.05万元,0.05,2026-06-01,2027-06-01,{unit},{uc},{unit},{uc}\n"
            ),
        )
        .unwrap();
        p
    };
    let (p1, p2) = (ric(31), ric(32));
    let (first_p, second_p) = (persons("p1.csv", &p1), persons("p2.csv", &p2));
    let first = write(
        dir.path(),
        "first.csv",
        &[row("盐城市利海建筑有限公司", &lihai, "盐环罚〔2026〕40号")],
    );
    // A copy-paste slip: 利海's name under 丰远's code.
    let second = write(
        dir.path(),
        "second.csv",
        &[row(
            "盐城市利海建筑有限公司",
            &fengyuan,
            "盐环罚〔2026〕40号",
        )],
    );
    for ts in stores() {
        let keys = testkit::keys();
        let clock = clock_on("2026-06-03");
        let r = import(
            &ts.store,
            &rules,
            &keys,
            &clock,
            &reg,
            "盐城市市场监督管理局",
            "登记注册基本信息",
        );
        assert_eq!(r.accepted, 2, "{}: {r:?}", ts.name);
        let later = clock_on("2026-06-10");
        for (a, b) in [(&first, &second), (&first_p, &second_p)] {
            let s1 = import(&ts.store, &rules, &keys, &clock, a, unit, "行政处罚");
            assert_eq!(s1.created, 1, "{}: {s1:?}", ts.name);
            let s2 = import(&ts.store, &rules, &keys, &later, b, unit, "行政处罚");
            assert_eq!(s2.created, 1, "{}: {s2:?}", ts.name);
            assert!(
                s2.notices.iter().any(|n| n.contains("未作处理")),
                "{}: {:?}",
                ts.name,
                s2.notices
            );
            // 利海's name under 丰远's registered code is told as such (the record went to
            // 丰远's file); a person's name proves nothing and is not.
            let misnamed = s2
                .notices
                .iter()
                .any(|n| n.contains("1行所填名称与其统一社会信用代码的登记名称不同"));
            assert_eq!(misnamed, b == &second, "{}: {:?}", ts.name, s2.notices);
            assert_eq!(s2.notices.len(), 1 + usize::from(misnamed), "{}", ts.name);
        }
        let changes = |code: &str| -> Vec<&'static str> {
            let key = views::subject_key(code, &rules, &keys, day("2026-06-10")).unwrap();
            views::credit_file(
                &ts.store,
                &rules,
                &key,
                day("2026-06-10"),
                views::Audience::Full,
            )
            .unwrap()
            .unwrap()
            .classes
            .iter()
            .filter(|c| c.code == "CF")
            .flat_map(|c| c.records.iter().map(|r| r.versions.last().unwrap().change))
            .collect()
        };
        assert_eq!(changes(&lihai), ["created"], "{}", ts.name);
        assert_eq!(changes(&p1), ["created"], "{}", ts.name);
        assert_eq!(changes(&p2), ["created"], "{}", ts.name);
        // The registered name: nothing to tell.
        assert!(
            s1_notices_clean(&ts.store, &rules, &keys, &dir, &lihai, unit, &uc),
            "{}",
            ts.name
        );
        // A row the store refuses (the record under the new code is another unit's) ends
        // nothing.
        let emergency = "盐城市应急管理局";
        let theirs = write(
            dir.path(),
            "theirs.csv",
            &[row("盐城市丙丁物流有限公司", &y, "盐环罚〔2026〕50号")
                .replace(&uc, &unit_code(&rules, emergency))
                .replace(unit, emergency)],
        );
        let r = import(
            &ts.store,
            &rules,
            &keys,
            &clock,
            &theirs,
            emergency,
            "行政处罚",
        );
        assert_eq!(r.created, 1, "{}: {r:?}", ts.name);
        let mine = write(
            dir.path(),
            "mine.csv",
            &[row("盐城市甲乙贸易有限公司", &x, "盐环罚〔2026〕50号")],
        );
        assert_eq!(
            import(&ts.store, &rules, &keys, &clock, &mine, unit, "行政处罚").created,
            1
        );
        let refused = write(
            dir.path(),
            "refused.csv",
            &[row("盐城市甲乙贸易有限公司", &y, "盐环罚〔2026〕50号")],
        );
        let r = import(&ts.store, &rules, &keys, &later, &refused, unit, "行政处罚");
        assert_eq!((r.rejected, r.notices.len()), (1, 0), "{}: {r:?}", ts.name);
        assert_eq!(changes(&x), ["created"], "{}", ts.name);
    }
}

/// A file whose header cannot carry the class is refused whole, before anything is stored: the
/// class mistyped (its required items not among the columns — the class they fit is named), or
/// a required item's column missing from a table. Every row used to be rejected and counted
/// against the unit's figures.
#[test]
fn a_header_that_cannot_carry_the_class_refuses_the_file() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let row = hengtai_penalty(&rules, "盐环罚〔2026〕71号", env);
    let f = write(dir.path(), "cf.csv", std::slice::from_ref(&row));
    let text = std::fs::read_to_string(&f).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    // The 决定书文号 column left out of the header and of the row.
    let cols: Vec<&str> = header.split(',').collect();
    let at = cols.iter().position(|c| c.contains("决定书文号")).unwrap();
    let drop = |line: &str| {
        let mut v: Vec<&str> = line.split(',').collect();
        v.remove(at);
        v.join(",")
    };
    let short = dir.path().join("short.csv");
    std::fs::write(&short, format!("{}\n{}", drop(header), drop(body))).unwrap();
    for ts in stores() {
        let keys = testkit::keys();
        let run = |path: &Path, class: &str| {
            Importer {
                store: &ts.store,
                rules: &rules,
                keys: &keys,
                clock: &clock_on("2026-05-08"),
            }
            .import_path(path, &opts(env, class), &|_| {})
        };
        match run(&f, "行政许可") {
            Err(ingest::IngestError::Layout(m)) => assert!(
                m.contains("缺少“行政许可”的必填数据项")
                    && m.contains("“行政处罚”（信息类代码CF）")
                    && m.contains("整个文件未导入"),
                "{}: {m}",
                ts.name
            ),
            other => panic!("{}: {other:?}", ts.name),
        }
        // A header and no rows: nothing to report, nothing kept.
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, format!("{header}\n")).unwrap();
        match run(&empty, "行政处罚") {
            Err(ingest::IngestError::Layout(m)) => {
                assert!(m.contains("没有数据行"), "{}: {m}", ts.name)
            }
            other => panic!("{}: {other:?}", ts.name),
        }
        // One column that shares a name with another class's item names no other class.
        let two = dir.path().join("two.csv");
        std::fs::write(&two, "名称,日期\n某公司,2026-05-01\n").unwrap();
        match run(&two, "行政处罚") {
            Err(ingest::IngestError::Layout(m)) => {
                assert!(m.contains("整个文件未导入"), "{}: {m}", ts.name);
                assert!(!m.contains("相符"), "{}: {m}", ts.name);
            }
            other => panic!("{}: {other:?}", ts.name),
        }
        match run(&short, "行政处罚") {
            Err(ingest::IngestError::Layout(m)) => {
                assert!(m.contains("缺少“行政处罚”的必填数据项"), "{}: {m}", ts.name);
                assert!(m.contains("决定书文号"), "{}: {m}", ts.name);
            }
            other => panic!("{}: {other:?}", ts.name),
        }
        assert!(
            ts.store.submissions(None, 10).unwrap().is_empty(),
            "{}: nothing stored",
            ts.name
        );
        assert_eq!(run(&f, "行政处罚").unwrap().accepted, 1, "{}", ts.name);
    }
}

/// A table whose header row maps to nothing is refused with a hint that the header may sit
/// below a title or group row; JSON is never refused on its keys (the first record's keys say
/// nothing of the next): each record reports its own missing items.
#[test]
fn a_header_of_nothing_hints_at_rows_above_and_json_is_judged_by_record() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let table = dir.path().join("titled.csv");
    std::fs::write(&table, "甲,乙,丙\n1,2,3\n").unwrap();
    let json = dir.path().join("mixed.json");
    std::fs::write(&json, r#"[{"foo":"bar"},{"CF_WSH":"x"}]"#).unwrap();
    let lines = dir.path().join("mixed.jsonl");
    std::fs::write(&lines, "{\"foo\":\"bar\"}\n{\"CF_WSH\":\"x\"}\n").unwrap();
    for ts in stores() {
        let keys = testkit::keys();
        let run = |path: &Path| {
            Importer {
                store: &ts.store,
                rules: &rules,
                keys: &keys,
                clock: &clock_on("2026-05-08"),
            }
            .import_path(path, &opts(env, "行政处罚"), &|_| {})
        };
        match run(&table) {
            Err(ingest::IngestError::Layout(m)) => assert!(
                m.contains("表头没有一列")
                    && m.contains("如表头不在第一行（上方有标题行或未合并的分组行），请删除表头上方的行后重新报送"),
                "{}: {m}",
                ts.name
            ),
            other => panic!("{}: {other:?}", ts.name),
        }
        for f in [&json, &lines] {
            let s = run(f).unwrap_or_else(|e| panic!("{}: {}: {e}", ts.name, f.display()));
            assert_eq!((s.rows_read, s.rejected), (2, 2), "{}: {s:?}", ts.name);
        }
        // JSON none of whose keys is an item of the class (the class mistyped) is refused whole,
        // judged on the keys of all its records, and nothing is stored.
        let before = ts.store.submissions(None, 100).unwrap().len();
        let wrong = dir.path().join("wrong.json");
        std::fs::write(&wrong, r#"[{"foo":"bar"},{"baz":"x"}]"#).unwrap();
        match run(&wrong) {
            Err(ingest::IngestError::Layout(m)) => {
                assert!(
                    m.contains("记录的字段中没有一个是“行政处罚”的数据项")
                        && !m.contains("表头不在第一行"),
                    "{}: {m}",
                    ts.name
                )
            }
            other => panic!("{}: {other:?}", ts.name),
        }
        assert_eq!(
            ts.store.submissions(None, 100).unwrap().len(),
            before,
            "{}",
            ts.name
        );
    }
}

/// A fine that matches none of the amounts its 处罚内容 states is accepted (a fine per day states
/// the day's amount) and the unit is told which rows to look at; one that matches is not named.
#[test]
fn a_fine_unlike_the_amounts_its_decision_states_is_named_in_the_notices() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let uc = unit_code(&rules, env);
    let row = |no: &str, fine: &str| {
        hengtai_penalty(&rules, no, env)
            .replace(",0.3,", &format!(",{fine},"))
            .replace("11320900001401484X", &uc)
    };
    let f = write(
        dir.path(),
        "fines.csv",
        &[
            hengtai_penalty(&rules, "盐环罚〔2026〕81号", env),
            row("盐环罚〔2026〕82号", "5"),
        ],
    );
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &testkit::keys(), &f);
        assert_eq!((s.accepted, s.rejected), (2, 0), "{}: {s:?}", ts.name);
        let told: Vec<&String> = s
            .notices
            .iter()
            .filter(|n| n.contains("罚款金额"))
            .collect();
        assert_eq!(told.len(), 1, "{}: {:?}", ts.name, s.notices);
        assert!(
            told[0].starts_with("1行") && told[0].contains("第3行"),
            "{}: {}",
            ts.name,
            told[0]
        );
    }
}

/// Migration 13 moves the credit-repair commitments registered before channel 'case' existed
/// (pushed under the platform's name for them) to it, and the unit then cannot withdraw them;
/// a batch of the same class the unit itself sent stays its own.
#[test]
fn earlier_repair_commitments_move_to_the_case_channel() {
    let rules = Rulebook::builtin().unwrap();
    let unit = "盐城市生态环境局";
    let row = |no: &str| {
        format!(
            "CN_XDR_MC,CN_XDR_LB,CN_XDR_SHXYM,CN_BH,CN_LX,CN_SX,CN_NR,CN_RQ,CN_SLDW,CN_LYZT\n\
             盐城市恒泰化工有限公司,法人及非法人组织,91320900MA1MB4X50R,{no},信用修复型,申请信用修复,本主体郑重承诺……,2026-05-06,{unit},履约中\n"
        )
    };
    for ts in stores() {
        let keys = testkit::keys();
        let push = |name: &str, csv: String| {
            Importer {
                store: &ts.store,
                rules: &rules,
                keys: &keys,
                clock: &clock_on("2026-05-08"),
            }
            .import_reader(
                Some(name.into()),
                ingest::Format::Csv,
                csv.as_bytes(),
                &ImportOptions {
                    unit: unit.into(),
                    class: "信用承诺".into(),
                    actor: "test".into(),
                    channel: store::Channel::Api,
                },
                &|_| {},
            )
            .unwrap()
        };
        let signed = push("信用修复承诺", row("XYXF-2026-0001"));
        let own = push("承诺.csv", row("XYXF-2026-0002"));
        assert_eq!((signed.accepted, own.accepted), (1, 1), "{}", ts.name);
        // As a store migrated before 13 had them: then migration 13 again.
        ts.store
            .write(|c| c.execute("DELETE FROM schema_migrations WHERE version = 13", &[]))
            .unwrap();
        ts.store.migrate().unwrap();
        let channel = |id: Option<i64>| ts.store.submission(id.unwrap()).unwrap().unwrap().channel;
        assert_eq!(channel(signed.submission_id), "case", "{}", ts.name);
        assert_eq!(channel(own.submission_id), "api", "{}", ts.name);
        let w = store::Withdrawal {
            unit,
            actor: "test",
            reason: "误报",
            at: clock_on("2026-05-09").now(),
        };
        let e = ts
            .store
            .withdraw_submission(signed.submission_id.unwrap(), &w)
            .unwrap_err()
            .to_string();
        assert!(e.contains("信用修复承诺"), "{}: {e}", ts.name);
        assert!(
            ts.store
                .withdraw_submission(own.submission_id.unwrap(), &w)
                .is_ok(),
            "{}",
            ts.name
        );
    }
}

/// A resident ID number typed as a 文号 (someone's, not the party's) is masked in what is
/// published; a 文号 numbered by area, the decision's date and a serial is kept as written.
#[test]
fn an_adults_id_number_in_a_document_number_is_masked() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let someone17 = "32098119900101123";
    let someone = format!(
        "{someone17}{}",
        domain::ids::ric_check_char(someone17.as_bytes())
    );
    let dated17 = "32090220260506000";
    let dated = format!(
        "{dated17}{}",
        domain::ids::ric_check_char(dated17.as_bytes())
    );
    let f = write(
        dir.path(),
        "wsh.csv",
        &[
            hengtai_penalty(&rules, &someone, env),
            hengtai_penalty(&rules, &dated, env),
        ],
    );
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &testkit::keys(), &f);
        assert_eq!(s.accepted, 2, "{}: {s:?}", ts.name);
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let payloads: Vec<&str> = records
            .iter()
            .map(|r| r.current().unwrap().payload.as_str())
            .collect();
        assert!(
            payloads.iter().all(|p| !p.contains(&someone))
                && payloads
                    .iter()
                    .any(|p| p.contains(&domain::ids::mask_id_number(&someone))),
            "{}: {payloads:?}",
            ts.name
        );
        assert!(
            payloads.iter().any(|p| p.contains(&dated)),
            "{}: {payloads:?}",
            ts.name
        );
    }
}

/// A document number typed with full-width digits is the same number as with ASCII digits: kept
/// as ASCII, so the same decision sent either way is unchanged, not a correction each time.
#[test]
fn a_document_number_in_full_width_digits_is_the_same_decision() {
    let rules = Rulebook::builtin().unwrap();
    let keys = testkit::keys();
    let unit = "盐城市生态环境局";
    for ts in stores() {
        let clock = clock_on("2026-05-08");
        let importer = Importer {
            store: &ts.store,
            rules: &rules,
            keys: &keys,
            clock: &clock,
        };
        let send = |no: &str| {
            let row = hengtai_penalty(&rules, no, unit);
            importer
                .import_reader(
                    None,
                    ingest::Format::Csv,
                    format!("{HEADER}\n{row}\n").as_bytes(),
                    &opts(unit, "行政处罚"),
                    &|_| {},
                )
                .unwrap()
        };
        let s = send("盐环罚〔２０２６〕７７号");
        assert_eq!((s.created, s.rejected), (1, 0), "{}: {s:?}", ts.name);
        let s = send("盐环罚〔2026〕77号");
        assert_eq!(
            (s.created, s.corrected, s.unchanged),
            (0, 0, 1),
            "{}: {s:?}",
            ts.name
        );
        let (_, records) = ts
            .store
            .subject_file("91320900MA1MB4X50R", None)
            .unwrap()
            .unwrap();
        let payload = &records[0].current().unwrap().payload;
        assert!(
            payload.contains("盐环罚〔2026〕77号"),
            "{}: {payload}",
            ts.name
        );
    }
}

/// A person's 证件类型 left blank beside a resident ID number is 身份证 (the number says which
/// document it is), and 身份证件 is 身份证; left blank beside a number that is no resident ID,
/// it is still asked for.
#[test]
fn a_blank_id_type_beside_a_resident_id_is_a_resident_id() {
    let rules = Rulebook::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = "盐城市生态环境局";
    let uc = unit_code(&rules, env);
    let row = |id_type: &str, id: &str, no: &str| {
        format!(
            "覃成,自然人,{id_type},{id},{no},露天焚烧,当事人露天焚烧垃圾,《中华人民共和国大气污染防治法》第一百一十九条,罚款,处罚款0.05万元,0.05,2026-05-02,2027-05-02,{env},{uc},{env},{uc}\n"
        )
    };
    let header = "CF_XDR_MC,CF_XDR_LB,CF_XDR_ZJLX,CF_XDR_ZJHM,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n";
    let f = dir.path().join("p.csv");
    std::fs::write(
        &f,
        format!(
            "{header}{}{}{}",
            row("", "320902198607226595", "盐环罚〔2026〕701号"),
            row("身份证件", "320902198607226595", "盐环罚〔2026〕702号"),
            row("", "E12345678", "盐环罚〔2026〕703号"),
        ),
    )
    .unwrap();
    let keys = testkit::keys();
    for ts in stores() {
        let s = import_on_may_8(&ts.store, &rules, &keys, &f);
        assert_eq!((s.accepted, s.rejected), (2, 1), "{}: {s:?}", ts.name);
        let r = &ts.store.rejections(s.submission_id.unwrap()).unwrap()[0];
        assert_eq!(
            (r.row_no, r.problems[0].field.as_str()),
            (4, "CF_XDR_ZJLX"),
            "{}: {:?}",
            ts.name,
            r.problems
        );
        let (_, records) = ts
            .store
            .subject_file(&keys.person_key("身份证", "320902198607226595"), None)
            .unwrap()
            .expect("the person's file");
        assert_eq!(records.len(), 2, "{}", ts.name);
    }
}
