//! The `xinyong` binary as operators use it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_xinyong");
const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/uscc_ric_vectors.tsv"
));

fn xinyong(db: &str, keys: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--db").arg(db).arg("--keys").arg(keys).args(args);
    c.env_remove("XINYONG_NOW").env_remove("XINYONG_FAILPOINT");
    c
}

fn run_ok(mut c: Command) -> String {
    let out = c.output().expect("run xinyong");
    assert!(
        out.status.success(),
        "xinyong failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn last_json(out: &str) -> Value {
    serde_json::from_str(out.lines().last().expect("output")).expect("JSON last line")
}

#[test]
fn ids_validate_agrees_with_every_vector() {
    let dir = tempfile::tempdir().unwrap();
    let vectors: Vec<(&str, &str)> = VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[1], c[2])
        })
        .collect();
    let mut child = xinyong("unused.db", &dir.path().join("k"), &["ids", "validate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for (input, _) in &vectors {
            writeln!(stdin, "{input}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), vectors.len());
    for (line, (input, expected)) in lines.iter().zip(&vectors) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "{line}");
        assert_eq!(cols[0], *input);
        assert_eq!(cols[1], *expected, "{line}");
        if *expected != "VALID" {
            assert!(!cols[2].is_empty(), "{line}: a reason is given");
        }
    }
}

/// One line out for every line in: a blank line says so, a tab in the input does not add a
/// column, and an old 15-digit ID number is named as one.
#[test]
fn ids_validate_keeps_lines_and_columns_and_names_an_old_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = xinyong("unused.db", &dir.path().join("k"), &["ids", "validate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("320902850315123\n\na\tb\n".as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines.iter().all(|l| l.len() == 3), "{text}");
    assert!(lines[0][2].contains("第一代居民身份证号码"), "{text}");
    assert_eq!(lines[1][..2], ["", "INVALID"]);
    assert_eq!(lines[2][0], "a b");
}

#[test]
fn output_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut child = xinyong("unused.db", &dir.path().join("k"), &["ids", "validate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Far more output than a pipe holds, and a reader (like `head -c 100`) that goes away.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for _ in 0..200_000 {
            if writeln!(stdin, "91320902MA1MXXXX0X").is_err() {
                break;
            }
        }
    });
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        out.status.success() || out.status.signal() == Some(13),
        "{:?}: {stderr}",
        out.status
    );
}

#[test]
fn rules_answer_why_a_date_is_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k");
    let out = run_ok(xinyong(
        "x.db",
        &k,
        &["rules", "add-workdays", "2026-09-30", "7"],
    ));
    assert_eq!(out.trim(), "2026-10-15");
    let out = run_ok(xinyong(
        "x.db",
        &k,
        &["rules", "add-workdays", "2026-02-13", "2"],
    ));
    assert_eq!(out.trim(), "2026-02-24");
    // A negative count is said to be one, not an unknown option.
    let out = xinyong("x.db", &k, &["rules", "add-workdays", "2026-09-30", "-1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("数值不能为负数：-1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A decision day to come is computed, and said to be one import would refuse.
    let mut future = xinyong(
        "x.db",
        &k,
        &[
            "rules",
            "penalty-window",
            "--decided",
            "2026-12-01",
            "--categories",
            "罚款",
        ],
    );
    future.env("XINYONG_NOW", "2026-11-02T02:00:00Z");
    let out = future.output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("晚于今天（2026-11-02）"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let w: Value = serde_json::from_str(&run_ok(xinyong(
        "x.db",
        &k,
        &[
            "rules",
            "penalty-window",
            "--decided",
            "2024-03-15",
            "--categories",
            "罚款",
            "--domain",
            "安全生产",
        ],
    )))
    .unwrap();
    assert_eq!(w["regime"], "order58");
    assert_eq!(w["severity"], "一般");
    assert_eq!(w["published"], true);
    assert_eq!(w["repairable_from"], "2025-03-16");
    assert_eq!(w["ends"], "2027-03-15");
    let w: Value = serde_json::from_str(&run_ok(xinyong(
        "x.db",
        &k,
        &[
            "rules",
            "penalty-window",
            "--decided",
            "2026-05-01",
            "--categories",
            "警告",
            "--severity",
            "轻微",
        ],
    )))
    .unwrap();
    assert_eq!(w["published"], false);
    assert_eq!(w["ends"], Value::Null);
    assert_eq!(w["repairable_from"], Value::Null);
    let w: Value = serde_json::from_str(&run_ok(xinyong(
        "x.db",
        &k,
        &[
            "rules",
            "penalty-window",
            "--decided",
            "2026-05-01",
            "--categories",
            "罚款",
            "--market",
            "--published",
            "2026-05-12",
            "--fine",
            "0.1",
        ],
    )))
    .unwrap();
    assert_eq!(w["regime"], "samr45");
    assert_eq!(w["ends"], "2026-08-12");
    let bad = xinyong("x.db", &k, &["rules", "add-workdays", "2026-13-01", "1"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("不是YYYY-MM-DD格式"));
    // A domain named as a decision would name it (消防安全) counts; one the rules do not know,
    // a publication before the decision, or --published without --market are refused.
    let w: Value = serde_json::from_str(&run_ok(xinyong(
        "x.db",
        &k,
        &[
            "rules",
            "penalty-window",
            "--decided",
            "2024-05-01",
            "--categories",
            "罚款",
            "--domain",
            "消防安全",
        ],
    )))
    .unwrap();
    assert_eq!(w["repairable_from"], "2025-05-02", "{w}");
    // A market-regulation penalty published late counts from the day it was published (Order
    // 45 第十三条), with a note that it was due 20 working days after the decision (import, which
    // knows only the day of receipt, counts from the earlier of the two).
    let late: Value = serde_json::from_str(&run_ok(xinyong(
        "x.db",
        &k,
        &[
            "rules",
            "penalty-window",
            "--decided",
            "2026-04-01",
            "--categories",
            "罚款",
            "--market",
            "--published",
            "2026-05-30",
            "--fine",
            "1",
        ],
    )))
    .unwrap();
    assert_eq!(late["ends"], "2029-05-30", "{late}");
    let noted = xinyong(
        "x.db",
        &k,
        &[
            "rules",
            "penalty-window",
            "--decided",
            "2026-04-01",
            "--categories",
            "罚款",
            "--market",
            "--published",
            "2026-05-30",
        ],
    )
    .output()
    .unwrap();
    assert!(
        String::from_utf8_lossy(&noted.stderr).contains("晚于应公示期限2026-04-30"),
        "{}",
        String::from_utf8_lossy(&noted.stderr)
    );
    // A command line clap cannot read is refused in Chinese.
    for (args, says) in [
        (
            vec!["rules", "add-workdays", "2026-01-02", "abc"],
            "参数 <N> 的值“abc”无效",
        ),
        (vec!["nosuch"], "没有这个命令：nosuch"),
        (
            vec![
                "rules",
                "penalty-window",
                "--decided",
                "2026-01-01",
                "--categories",
                "罚款",
                "--market",
            ],
            "缺少必需的参数",
        ),
    ] {
        let out = xinyong("x.db", &k, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A read on a store path typed wrong says so and makes nothing.
    let typo = dir.path().join("typo").join("xinyng.db");
    let out = xinyong(typo.to_str().unwrap(), &k, &["stats", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("不存在"));
    assert!(!typo.exists() && !typo.parent().unwrap().exists());
    // So does the audit trail's verification (it said "complete: 0 entries"), and a token
    // is not minted into a new empty platform.
    for args in [
        &["audit", "verify"][..],
        &["tokens", "create", "--role", "admin", "--name", "x"][..],
    ] {
        let out = xinyong(typo.to_str().unwrap(), &k, args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("不存在"),
            "{args:?}"
        );
        assert!(!typo.parent().unwrap().exists(), "{args:?}");
    }
    // On PostgreSQL, a schema typed wrong: refused, and no schema made.
    let schema = format!("xy_typo_{}", std::process::id());
    let typo_pg = format!("{}?schema={schema}", testkit::pg_url());
    for args in [
        &["stats", "--json"][..],
        &["audit", "verify"][..],
        &["tokens", "create", "--role", "admin", "--name", "x"][..],
    ] {
        let out = xinyong(&typo_pg, &k, args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("不存在") && err.contains(&schema),
            "{args:?}: {err}"
        );
    }
    let mut pg = postgres::Client::connect(&testkit::pg_url(), postgres::NoTls).unwrap();
    let made = pg
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .unwrap();
    assert!(made.is_none(), "schema {schema} was created");
    // A schema named in capitals is the folded one PostgreSQL made: found again once migrated.
    let mixed = format!("Xy_Case_{}", std::process::id());
    let mixed_pg = format!("{}?schema={mixed}", testkit::pg_url());
    run_ok(xinyong(&mixed_pg, &k, &["migrate"]));
    let stats = run_ok(xinyong(&mixed_pg, &k, &["stats", "--json"]));
    assert_eq!(last_json(&stats)["subjects"], 0, "{stats}");
    pg.batch_execute(&format!("DROP SCHEMA {} CASCADE", mixed.to_lowercase()))
        .unwrap();
    // A category misspelt is refused, not counted as 一般.
    let out = xinyong(
        "x.db",
        &k,
        &[
            "rules",
            "penalty-window",
            "--decided",
            "2026-04-01",
            "--categories",
            "吊销执照",
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("不在处罚类别取值范围内"));
    let huge = xinyong(
        "x.db",
        &k,
        &["rules", "add-workdays", "2026-01-05", "100000"],
    )
    .output()
    .unwrap();
    assert!(String::from_utf8_lossy(&huge.stderr).contains("过大"));
    for (args, says) in [
        (vec!["--domain", "环境保护"], "不是规则中的领域"),
        (
            vec!["--market", "--published", "2024-04-01"],
            "早于处罚决定日期",
        ),
        (vec!["--published", "2024-05-12"], "只用于市场监管处罚"),
        (vec!["--fine", "1"], "只用于市场监管处罚"),
    ] {
        let mut a = vec![
            "rules",
            "penalty-window",
            "--decided",
            "2024-05-01",
            "--categories",
            "罚款",
        ];
        a.extend(args);
        let out = xinyong("x.db", &k, &a).output().unwrap();
        assert!(!out.status.success(), "{a:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{a:?}: {err}");
    }
}

fn gen_penalties(dir: &Path, n: usize, dirty: f64) -> (std::path::PathBuf, Value) {
    let out = dir.join("gen");
    run_ok(xinyong(
        "x.db",
        &dir.join("k"),
        &[
            "gen",
            "--out",
            out.to_str().unwrap(),
            "--seed",
            "9",
            "--today",
            "2026-11-20",
            "--orgs",
            "2000",
            "--penalties",
            &n.to_string(),
            "--dirty",
            &dirty.to_string(),
            "--only",
            "行政处罚",
        ],
    ));
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let f = m["files"][0].clone();
    (out.join(f["file"].as_str().unwrap()), f)
}

#[test]
fn import_subject_stats_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let (file, entry) = gen_penalties(dir.path(), 3000, 0.02);
    let unit = entry["unit"].as_str().unwrap();
    for ts in testkit::stores() {
        let k = testkit::key_file(dir.path());
        let s = last_json(&run_ok(xinyong(
            &ts.spec,
            &k,
            &[
                "import",
                "--source",
                unit,
                "--class",
                "行政处罚",
                "--json",
                file.to_str().unwrap(),
            ],
        )));
        let rows = entry["rows"].as_u64().unwrap();
        assert_eq!(s["rows_read"].as_u64(), Some(rows), "{}", ts.name);
        assert_eq!(
            s["rejected"].as_u64(),
            entry["dirty"].as_u64(),
            "{}",
            ts.name
        );
        assert_eq!(
            s["accepted"].as_u64().unwrap() + s["rejected"].as_u64().unwrap(),
            rows
        );
        assert_eq!(s["unchanged"].as_u64(), Some(0));
        let stats: Value =
            serde_json::from_str(&run_ok(xinyong(&ts.spec, &k, &["stats", "--json"]))).unwrap();
        assert_eq!(
            stats["records_by_class"]["行政处罚"], s["accepted"],
            "{}",
            ts.name
        );
        // A subject's file through the command line.
        let some: String = ts
            .store
            .read(|c| c.query_one("SELECT subject_key FROM records WHERE subject_key NOT LIKE 'P%' ORDER BY record_key LIMIT 1", &[]))
            .unwrap()
            .unwrap()
            .text(0)
            .unwrap();
        let file: Value =
            serde_json::from_str(&run_ok(xinyong(&ts.spec, &k, &["subject", &some]))).unwrap();
        assert_eq!(file["subject"]["uscc"], some.as_str());
        let rec = &file["classes"][0]["records"][0];
        assert!(rec["status"].is_string() && rec["versions"].as_array().unwrap().len() == 1);
        let missing = xinyong(&ts.spec, &k, &["subject", "91320900MA1MB4X50R"])
            .output()
            .unwrap();
        assert!(!missing.status.success());
        assert!(String::from_utf8_lossy(&missing.stderr).contains("没有找到"));
        // A key file that is not there, for a store that holds data: refused, not made anew.
        let lost = dir.path().join(format!("lost-{}.key", ts.name));
        let out = xinyong(&ts.spec, &lost, &["subject", &some])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", ts.name);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("不要另建新密钥"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!lost.exists(), "{}", ts.name);
        // Withdrawing the batch: a reason is required; the withdrawal is audited.
        let sub = s["submission_id"].as_i64().unwrap().to_string();
        let blank = xinyong(
            &ts.spec,
            &k,
            &[
                "withdraw",
                "--source",
                unit,
                "--submission",
                &sub,
                "--reason",
                "  ",
            ],
        )
        .output()
        .unwrap();
        assert!(!blank.status.success());
        assert!(String::from_utf8_lossy(&blank.stderr).contains("撤回原因不能为空"));
        let out = run_ok(xinyong(
            &ts.spec,
            &k,
            &[
                "withdraw",
                "--source",
                unit,
                "--submission",
                &sub,
                "--reason",
                "整批误报",
            ],
        ));
        assert!(out.contains(&format!("{}条记录", s["accepted"])), "{out}");
        let trail = store::Store::open_platform(&ts.spec)
            .unwrap()
            .audit_search(&store::AuditQuery {
                action: Some("submission.withdraw".into()),
                limit: 5,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(trail.len(), 1, "{}", ts.name);
        assert_eq!(
            trail[0].entry.object.as_deref(),
            Some(format!("submission:{sub}").as_str())
        );
    }
}

#[test]
fn a_killed_import_leaves_nothing_and_the_rerun_leaves_one_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (file, entry) = gen_penalties(dir.path(), 25_000, 0.02);
    let unit = entry["unit"].as_str().unwrap();
    for ts in testkit::stores() {
        let k = testkit::key_file(dir.path());
        // The import is the store's only user, as an operator's would be.
        ts.store.close_idle();
        let mut child = xinyong(
            &ts.spec,
            &k,
            &[
                "import",
                "--source",
                unit,
                "--class",
                "行政处罚",
                "--json",
                file.to_str().unwrap(),
            ],
        )
        .env("XINYONG_FAILPOINT", "import-after-batch")
        // A 1 MiB page cache: the batch spills into the database file before the kill, so on
        // SQLite (a bulk import, rollback journal) the next opener has a hot journal to undo.
        .env("XINYONG_SQLITE_CACHE_MIB", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
        // Wait until the first batch is written inside the open transaction, then SIGKILL.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "import ended before the failpoint"
            );
            if line.starts_with("FAILPOINT") {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if ts.name == "sqlite" {
            let journal = std::path::PathBuf::from(format!("{}-journal", ts.spec));
            assert!(
                journal.exists() && std::fs::metadata(&journal).unwrap().len() > 0,
                "the killed import left its rollback journal"
            );
        }
        let stats: Value =
            serde_json::from_str(&run_ok(xinyong(&ts.spec, &k, &["stats", "--json"]))).unwrap();
        assert_eq!(
            stats["records"], 0,
            "{}: nothing of the killed batch remains",
            ts.name
        );
        assert_eq!(stats["submissions"], 0, "{}", ts.name);
        let s = last_json(&run_ok(xinyong(
            &ts.spec,
            &k,
            &[
                "import",
                "--source",
                unit,
                "--class",
                "行政处罚",
                "--json",
                file.to_str().unwrap(),
            ],
        )));
        let accepted = entry["rows"].as_u64().unwrap() - entry["dirty"].as_u64().unwrap();
        assert_eq!(s["accepted"].as_u64(), Some(accepted));
        let stats: Value =
            serde_json::from_str(&run_ok(xinyong(&ts.spec, &k, &["stats", "--json"]))).unwrap();
        assert_eq!(
            stats["records"].as_u64(),
            Some(accepted),
            "{}: exactly one copy of every row",
            ts.name
        );
        assert_eq!(stats["versions"].as_u64(), Some(accepted));
    }
}

#[test]
fn gen_is_deterministic_from_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k");
    let run = |out: &str| {
        let p = dir.path().join(out);
        run_ok(xinyong(
            "x.db",
            &k,
            &[
                "gen",
                "--out",
                p.to_str().unwrap(),
                "--seed",
                "42",
                "--today",
                "2026-11-01",
                "--orgs",
                "200",
                "--penalties",
                "300",
                "--licences",
                "100",
            ],
        ));
        p
    };
    let (a, b) = (run("a"), run("b"));
    let mut names: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.len() > 20);
    for n in names {
        assert_eq!(
            std::fs::read(a.join(&n)).unwrap(),
            std::fs::read(b.join(&n)).unwrap(),
            "{n:?}"
        );
    }
}

#[test]
fn the_audit_trail_verifies_its_checkpoints_check_with_openssl_and_a_changed_row_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let (file, entry) = gen_penalties(dir.path(), 200, 0.0);
    let unit = entry["unit"].as_str().unwrap();
    let db = dir.path().join("a.db");
    let db = db.to_str().unwrap();
    let k = testkit::key_file(dir.path());
    for _ in 0..2 {
        run_ok(xinyong(
            db,
            &k,
            &[
                "import",
                "--source",
                unit,
                "--class",
                "行政处罚",
                "--json",
                file.to_str().unwrap(),
            ],
        ));
    }
    // Before any checkpoint the entries hold together but are not sealed: said, and a failure
    // once they have waited longer than allowed.
    let out = xinyong(db, &k, &["audit", "verify"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("最后2条") && text.contains("尚无签名检查点覆盖"),
        "{text}"
    );
    let out = xinyong(db, &k, &["audit", "verify", "--max-unsigned-minutes", "0"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    // It opens with what is wrong, not "完整"; the JSON says so too.
    assert!(text.starts_with("审计日志不完整：末尾2条"), "{text}");
    let out = xinyong(
        db,
        &k,
        &["audit", "verify", "--max-unsigned-minutes", "0", "--json"],
    )
    .output()
    .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], false, "{v}");
    assert!(
        v["problem"].as_str().is_some_and(|p| p.contains("未签署")),
        "{v}"
    );
    run_ok(xinyong(db, &k, &["audit", "checkpoint"]));
    let ok = run_ok(xinyong(db, &k, &["audit", "verify", "--json"]));
    let v: Value = serde_json::from_str(ok.trim()).unwrap();
    assert!(v["first_break"].is_null());
    assert_eq!(v["complete"], true, "{v}");
    assert_eq!(v["entries"], 2);
    assert_eq!(v["unsigned_entries"], 0);
    // The checkpoint's SM2 signature checks with stock OpenSSL 3 (distinguishing ID given).
    let pem = run_ok(xinyong(db, &k, &["audit", "public-key"]));
    let cps: Value =
        serde_json::from_str(&run_ok(xinyong(db, &k, &["audit", "checkpoints"]))).unwrap();
    let cp = &cps[0];
    let message = cp["message"].as_str().unwrap();
    let sig = hex::decode(cp["signature_der"].as_str().unwrap()).unwrap();
    if let Err(e) = testkit::openssl_sm2_verifies(pem.as_bytes(), message.as_bytes(), &sig) {
        panic!("openssl: {e}");
    }
    let changed = message.replace("|2|", "|3|");
    assert!(
        testkit::openssl_sm2_verifies(pem.as_bytes(), changed.as_bytes(), &sig).is_err(),
        "a changed message fails"
    );
    // Behind the platform's back: lift the trigger, change entry 1, put the trigger back.
    let platform = store::platform_path(std::path::Path::new(db));
    let c = rusqlite::Connection::open(&platform).unwrap();
    c.execute_batch(
        "DROP TRIGGER audit_log_immutable_u;
         UPDATE audit_log SET actor = 'cli:mallory' WHERE seq = 1;
         CREATE TRIGGER audit_log_immutable_u BEFORE UPDATE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'audit entries are never changed'); END;",
    )
    .unwrap();
    let out = xinyong(db, &k, &["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("第1条"), "{text}");
    // Entry 1 is below the checkpoint, which checks only what came after it: the command
    // verifies the whole chain and signs nothing over the break.
    let before = platform_checkpoints(&c);
    let out = xinyong(db, &k, &["audit", "checkpoint"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("拒绝签署检查点：第1条"), "{err}");
    assert_eq!(platform_checkpoints(&c), before);
}

fn platform_checkpoints(c: &rusqlite::Connection) -> i64 {
    c.query_row("SELECT COUNT(*) FROM audit_checkpoints", [], |r| r.get(0))
        .unwrap()
}

/// Whoever can write the store but has not the key file drops the guards, recomputes the whole
/// trail with plain SM3 from entry 1 and deletes the checkpoints and the record of the key: the
/// store then agrees with itself. `audit verify` finds it by the anchor beside the key file, and
/// `audit checkpoint` does not sign it; on both backends.
#[test]
fn a_trail_rewritten_unkeyed_with_its_checkpoints_deleted_is_found_by_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let (file, entry) = gen_penalties(dir.path(), 20, 0.0);
    let unit = entry["unit"].as_str().unwrap();
    let k = testkit::key_file(dir.path());
    let sqlite = dir.path().join("a.db").display().to_string();
    let pg = testkit::postgres();
    for db in [sqlite.as_str(), pg.spec.as_str()] {
        for _ in 0..2 {
            run_ok(xinyong(
                db,
                &k,
                &[
                    "import",
                    "--source",
                    unit,
                    "--class",
                    "行政处罚",
                    file.to_str().unwrap(),
                ],
            ));
        }
        let out = run_ok(xinyong(db, &k, &["audit", "verify"]));
        assert!(out.contains("本库尚未签署检查点"), "{out}");
        run_ok(xinyong(db, &k, &["audit", "checkpoint"]));
        let out = run_ok(xinyong(db, &k, &["audit", "verify"]));
        assert!(out.contains("与库外锚点相符：1个锚点，至第2条"), "{out}");

        let platform = store::Store::open_platform(db).unwrap();
        let bytes = |b: &[u8]| match platform.backend() {
            store::Backend::Sqlite => format!("X'{}'", hex::encode(b)),
            store::Backend::Postgres => format!("'\\x{}'::bytea", hex::encode(b)),
        };
        let mut sql = match platform.backend() {
            store::Backend::Sqlite => "DROP TRIGGER audit_log_immutable_u; DROP TRIGGER audit_checkpoints_immutable_d;".to_string(),
            store::Backend::Postgres => "DROP TRIGGER audit_log_immutable ON audit_log; DROP TRIGGER audit_checkpoints_immutable ON audit_checkpoints;".to_string(),
        };
        let mut prev = domain::audit::GENESIS.to_vec();
        for e in platform.audit_page(1, 100).unwrap() {
            let h = domain::audit::chain_hash(&prev, &e.as_entry());
            sql.push_str(&format!(
                "UPDATE audit_log SET prev_hash = {}, hash = {}, scheme = 1 WHERE seq = {};",
                bytes(&prev),
                bytes(&h),
                e.entry.seq
            ));
            prev = h.to_vec();
        }
        sql.push_str("DELETE FROM audit_checkpoints; DELETE FROM audit_key");
        platform.write(|c| c.batch(&sql)).unwrap();

        let out = xinyong(db, &k, &["audit", "verify"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{db}: {text}");
        assert!(
            text.contains("发现断点：第2条") && text.contains("库外锚点"),
            "{db}: {text}"
        );
        let out = xinyong(db, &k, &["audit", "checkpoint"]).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("拒绝签署检查点：第2条"), "{db}: {err}");
    }
}

/// `xinyong serve` starts, migrates and answers `/readyz` on both backends (on PostgreSQL the
/// blocking store client must not be driven from inside the async runtime). A PostgreSQL schema
/// with no platform yet (a mistyped --db, say) is refused unless told to make one (--init).
#[test]
fn serve_is_ready_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    for ts in testkit::stores() {
        let k = testkit::key_file(dir.path());
        let pg = ts.spec.starts_with("postgres");
        if pg {
            // The test's own schema holds a platform already (testkit made it): a name typed
            // wrong does not.
            let typo = format!("{}typo", ts.spec);
            let out = xinyong(&typo, &k, &["serve", "--listen", "127.0.0.1:0"])
                .output()
                .unwrap();
            assert!(!out.status.success());
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("还没有平台") && err.contains("--init"),
                "{err}"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--listen", listen.as_str()];
        if pg {
            args.push("--init");
        }
        let mut child = xinyong(&ts.spec, &k, &args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = None;
        for _ in 0..150 {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                use std::io::Read;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("serve exited on {} ({status}): {err}", ts.spec);
            }
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut body = String::new();
                let _ = s.read_to_string(&mut body);
                ready = Some(body);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        let body = ready.unwrap_or_else(|| panic!("serve did not listen on {}", ts.spec));
        assert!(body.starts_with("HTTP/1.1 200"), "{}: {body}", ts.spec);
        assert!(body.contains("\"ready\""), "{}: {body}", ts.spec);
    }
}

/// An address departments could not follow is refused at start, in Chinese.
#[test]
fn serve_refuses_a_public_url_that_is_not_http() {
    let dir = tempfile::tempdir().unwrap();
    let k = testkit::key_file(dir.path());
    let db = dir.path().join("x.db");
    let out = xinyong(
        db.to_str().unwrap(),
        &k,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "credit.yancheng.example",
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("对外地址应以 http:// 或 https:// 开头"),
        "{err}"
    );
}

/// A webhook CA file that is missing or holds no certificate stops the service at start, in
/// Chinese, naming the file (not at the first alert to an HTTPS receiver).
#[test]
fn serve_refuses_a_webhook_ca_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let k = testkit::key_file(dir.path());
    let db = dir.path().join("x.db");
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "这不是证书\n").unwrap();
    for (file, says) in [
        (not_pem.clone(), "中没有证书"),
        (dir.path().join("missing.pem"), "无法读取预警推送CA证书文件"),
    ] {
        let out = xinyong(
            db.to_str().unwrap(),
            &k,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--webhook-ca",
                file.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(says) && err.contains(file.to_str().unwrap()),
            "{err}"
        );
    }
}

/// Starts `xinyong serve` and waits until it answers; the child is killed (SIGKILL) by the caller.
fn start_serve(spec: &str, keys: &Path, now: &str, extra: &[&str]) -> std::process::Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", &listen];
    args.extend_from_slice(extra);
    let mut child = xinyong(spec, keys, &args)
        .env("XINYONG_NOW", now)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..300 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "serve exited early on {spec}"
        );
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("serve did not listen on {spec}");
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..300 {
        if ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// Reminders pending in the outbox survive a killed server: the next one sends each exactly
/// once, and a further restart sends nothing again.
#[test]
fn a_killed_server_loses_no_reminder_and_a_restart_sends_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rulebook::Rulebook::builtin().unwrap();
    let unit_code = rules.units.find("盐城市生态环境局").unwrap().uscc.clone();
    let mut csv = String::from(
        "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_FRDB,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n",
    );
    let mut codes = Vec::new();
    for n in 0..3u16 {
        let org = format!("MA4Y{n:04}");
        let body = format!(
            "91320900{org}{}",
            domain::ids::org_code_check(org.as_bytes()).unwrap()
        );
        let code = format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()));
        codes.push(code.clone());
        csv.push_str(&format!(
            "丁{n}公司,法人及非法人组织,{code},张三,盐环罚〔2026〕{}号,超标排放,超标排放,《中华人民共和国大气污染防治法》第九十九条,罚款,处罚款0.5万元,0.5,2026-06-01,2029-06-01,盐城市生态环境局,{unit_code},盐城市生态环境局,{unit_code}\n",
            300 + n
        ));
    }
    let file = dir.path().join("penalties.csv");
    std::fs::write(&file, csv).unwrap();
    for ts in testkit::stores() {
        let k = testkit::key_file(dir.path());
        // Each company has an account with a mobile number.
        for (n, code) in codes.iter().enumerate() {
            run_ok(xinyong(
                &ts.spec,
                &k,
                &[
                    "accounts",
                    "create",
                    "--role",
                    "subject",
                    "--subject",
                    code,
                    "--username",
                    &format!("ding{n}"),
                    "--phone",
                    &format!("1380000000{n}"),
                ],
            ));
        }
        let mut import = xinyong(
            &ts.spec,
            &k,
            &[
                "import",
                "--source",
                "盐城市生态环境局",
                "--class",
                "行政处罚",
                "--json",
                file.to_str().unwrap(),
            ],
        );
        import.env("XINYONG_NOW", "2026-06-10T04:00:00Z");
        let out = run_ok(import);
        assert_eq!(last_json(&out)["accepted"], 3, "{out}");
        let store = store::Store::open(&ts.spec).unwrap();
        let pending = |s: &store::Store| {
            s.outbox_counts()
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == "pending")
                .map_or(0, |(_, n)| n)
        };
        // 1. The day the penalties become repairable, with a gateway that does not answer: the
        //    reminders are made and wait in the outbox; the server is killed.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let gateway = format!("http://127.0.0.1:{closed}/sms");
        let mut first = start_serve(
            &ts.spec,
            &k,
            "2026-09-02T02:00:00Z",
            &["--sms-gateway", &gateway],
        );
        wait_for("three reminders pending", || pending(&store) == 3);
        first.kill().unwrap();
        first.wait().unwrap();
        // 2. A restart after the retry time: each is sent once.
        let spool = dir.path().join(format!("outbox-{}.jsonl", ts.name));
        let lines = || {
            std::fs::read_to_string(&spool)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let mut second = start_serve(
            &ts.spec,
            &k,
            "2026-09-02T02:10:00Z",
            &["--outbox-file", spool.to_str().unwrap()],
        );
        wait_for("three messages sent", || lines().len() >= 3);
        wait_for("the outbox empty", || pending(&store) == 0);
        second.kill().unwrap();
        second.wait().unwrap();
        // 3. Another restart, later the same day: nothing is sent again.
        let mut third = start_serve(
            &ts.spec,
            &k,
            "2026-09-02T06:00:00Z",
            &["--outbox-file", spool.to_str().unwrap()],
        );
        std::thread::sleep(std::time::Duration::from_millis(1500));
        third.kill().unwrap();
        third.wait().unwrap();
        let sent = lines();
        let mut keys: Vec<String> = sent
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["dedupe"].to_string())
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!((sent.len(), keys.len()), (3, 3), "{}: {sent:?}", ts.name);
        assert!(sent.iter().all(|l| l.contains("可申请信用修复")));
        // To the numbers the companies' accounts left (sealed in the store, opened to send).
        for n in 0..3 {
            assert!(
                sent.iter()
                    .any(|l| l.contains(&format!("\"1380000000{n}\""))),
                "{sent:?}"
            );
        }
    }
}

/// Several files in one import: a missing one stops it before any is stored; a file refused as
/// a whole (not a workbook) is named in the JSON summary beside those imported, and the command
/// fails so that a script sees it.
#[test]
fn an_import_of_several_files_says_which_were_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (file, entry) = gen_penalties(dir.path(), 50, 0.0);
    let unit = entry["unit"].as_str().unwrap();
    let k = testkit::key_file(dir.path());
    let db = dir.path().join("s.db").display().to_string();
    let bad = dir.path().join("坏.xlsx");
    std::fs::write(&bad, b"not a workbook").unwrap();
    let args = |files: &[&str]| {
        let mut v = vec!["import", "--source", unit, "--class", "行政处罚", "--json"];
        v.extend(files);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let f = file.to_str().unwrap();
    let missing = dir.path().join("无.csv").display().to_string();
    let a = args(&[f, &missing]);
    let out = xinyong(&db, &k, &a.iter().map(String::as_str).collect::<Vec<_>>())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("未导入任何文件"));
    let a = args(&[bad.to_str().unwrap(), f]);
    let out = xinyong(&db, &k, &a.iter().map(String::as_str).collect::<Vec<_>>())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let s = last_json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(s["accepted"].as_u64(), entry["rows"].as_u64(), "{s}");
    assert_eq!(s["files"].as_array().map(Vec::len), Some(1), "{s}");
    assert!(
        s["failed"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("坏.xlsx"),
        "{s}"
    );
    assert!(
        s["failed"][0]["error"].as_str().unwrap().contains("XLSX"),
        "{s}"
    );
}

/// Reading a whole credit file and exporting the rows as received are sensitive reads from the
/// command line too: both leave an audit entry, as through the API; the public file does not.
#[test]
fn sensitive_reads_from_the_command_line_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (file, entry) = gen_penalties(dir.path(), 50, 0.2);
    let unit = entry["unit"].as_str().unwrap();
    let db = dir.path().join("a.db");
    let db = db.to_str().unwrap();
    let k = testkit::key_file(dir.path());
    let s: Value = serde_json::from_str(
        run_ok(xinyong(
            db,
            &k,
            &[
                "import",
                "--source",
                unit,
                "--class",
                "行政处罚",
                "--json",
                file.to_str().unwrap(),
            ],
        ))
        .lines()
        .last()
        .unwrap(),
    )
    .unwrap();
    let id = s["submission_id"].as_i64().unwrap().to_string();
    // A workbook only: a .csv name is refused before anything is written.
    let csv = dir.path().join("rej.csv");
    let refused = xinyong(db, &k, &["rejects", &id, "--out", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success() && !csv.exists());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(".xlsx 结尾"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let out = dir.path().join("rej.xlsx");
    run_ok(xinyong(
        db,
        &k,
        &["rejects", &id, "--out", out.to_str().unwrap()],
    ));
    let text = std::fs::read_to_string(&file).unwrap();
    let code = text
        .split([',', '\n'])
        .find(|c| c.len() == 18 && c.starts_with("91"))
        .unwrap()
        .to_string();
    run_ok(xinyong(db, &k, &["subject", &code, "--public"]));
    run_ok(xinyong(db, &k, &["subject", &code]));
    let platform = store::Store::open_platform(db).unwrap();
    let actions: Vec<String> = platform
        .audit_page(1, 100)
        .unwrap()
        .iter()
        .map(|e| e.entry.action.clone())
        .collect();
    assert!(
        actions.iter().any(|a| a == "submission.export_rejections"),
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "subject.read_full").count(),
        1,
        "{actions:?}"
    );
}

/// Another platform's key file (a mistyped --keys) is refused before anything is written with
/// it: an import under it neither commits nor leaves an audit entry, and the trail still
/// verifies with the platform's own key.
#[test]
fn another_platforms_key_file_is_refused_before_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (file, entry) = gen_penalties(dir.path(), 20, 0.0);
    let unit = entry["unit"].as_str().unwrap();
    let db = dir.path().join("p.db");
    let db = db.to_str().unwrap();
    let own = testkit::key_file(dir.path());
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = testkit::key_file(&other_dir);
    let import = |keys: &Path| {
        xinyong(
            db,
            keys,
            &[
                "import",
                "--source",
                unit,
                "--class",
                "行政处罚",
                "--json",
                file.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap()
    };
    assert!(import(&own).status.success());
    let out = import(&other);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("不是平台的"), "{err}");
    let subs: Value =
        serde_json::from_str(&run_ok(xinyong(db, &own, &["submissions", "--json"]))).unwrap();
    assert_eq!(subs.as_array().map(Vec::len), Some(1), "{subs}");
    let verified = run_ok(xinyong(db, &own, &["audit", "verify"]));
    assert!(verified.contains("完整"), "{verified}");
    // The same on a new platform that holds nothing yet but has its key recorded.
    let fresh = dir.path().join("fresh.db");
    let fresh = fresh.to_str().unwrap();
    run_ok(xinyong(fresh, &own, &["migrate"]));
    run_ok(xinyong(fresh, &own, &["audit", "verify"]));
    let out = xinyong(
        fresh,
        &other,
        &[
            "import",
            "--source",
            unit,
            "--class",
            "行政处罚",
            file.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stats: Value =
        serde_json::from_str(&run_ok(xinyong(fresh, &own, &["stats", "--json"]))).unwrap();
    assert_eq!(stats["subjects"], 0, "{stats}");
}

/// The audit trail names the operating system account that ran a command, not `$USER` (which
/// the caller sets to anything); a name given by `--actor` stands beside it.
#[test]
fn the_cli_audit_actor_is_the_os_account_not_user() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let db = db.to_str().unwrap();
    let k = testkit::key_file(dir.path());
    run_ok(xinyong(db, &k, &["migrate"]));
    let mut c = xinyong(
        db,
        &k,
        &["tokens", "create", "--role", "monitor", "--name", "x"],
    );
    c.env("USER", "spoofed").env_remove("SUDO_USER");
    run_ok(c);
    let (file, entry) = gen_penalties(dir.path(), 5, 0.0);
    let mut c = xinyong(
        db,
        &k,
        &[
            "import",
            "--source",
            entry["unit"].as_str().unwrap(),
            "--class",
            "行政处罚",
            "--actor",
            "李四",
            file.to_str().unwrap(),
        ],
    );
    c.env("USER", "spoofed").env_remove("SUDO_USER");
    run_ok(c);
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap());
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let me = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == uid.to_string())
        .map(|f| f[0].to_string())
        .unwrap_or_else(|| format!("uid:{uid}"));
    let platform = store::Store::open_platform(db).unwrap();
    let entries = platform.audit_page(1, 100).unwrap();
    let actor = |action: &str| {
        entries
            .iter()
            .find(|e| e.entry.action == action)
            .map(|e| e.entry.actor.clone())
            .unwrap_or_else(|| panic!("no {action} entry"))
    };
    let token = actor("token.create");
    assert!(!token.contains("spoofed"), "{token}");
    assert!(token.starts_with(&format!("cli:{me}")), "{token}");
    let import = actor("submission.create");
    assert!(import.starts_with(&format!("cli:{me}")), "{import}");
    assert!(import.ends_with(" as 李四"), "{import}");
}

/// Every role's account is disabled and enabled again on the command line; the list says
/// which are disabled or locked; enabling revives no session the disabling ended.
#[test]
fn accounts_are_disabled_and_enabled_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let db = db.to_str().unwrap();
    let k = testkit::key_file(dir.path());
    run_ok(xinyong(db, &k, &["migrate"]));
    // Refused before anything is made: a mobile number that is none, an auditor of a unit.
    for (extra, said) in [
        (["--phone", "123"], "手机号码应为以1开头的11位数字"),
        (
            ["--unit", "盐城市生态环境局"],
            "安全审计员不属于任何信源单位",
        ),
    ] {
        let mut args = vec![
            "accounts",
            "create",
            "--role",
            "auditor",
            "--username",
            "shenji",
        ];
        args.extend(extra);
        let out = xinyong(db, &k, &args).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(said), "{err}");
    }
    run_ok(xinyong(
        db,
        &k,
        &[
            "accounts",
            "create",
            "--role",
            "auditor",
            "--username",
            "shenji",
        ],
    ));
    let list = |json: bool| {
        let mut args = vec!["accounts", "list"];
        if json {
            args.push("--json");
        }
        run_ok(xinyong(db, &k, &args))
    };
    assert!(list(false).contains("正常"), "{}", list(false));
    // A session of the account, to see that it ends with the disabling and stays ended.
    let platform = store::Store::open_platform(db).unwrap();
    let id = platform
        .account_by_username("shenji")
        .unwrap()
        .unwrap()
        .account_id;
    let now = chrono::Utc::now();
    platform
        .create_session(b"s1", id, now, now + chrono::Duration::hours(1), None)
        .unwrap();
    run_ok(xinyong(db, &k, &["accounts", "disable", "shenji"]));
    assert!(list(false).contains("已停用"), "{}", list(false));
    let j: Value = serde_json::from_str(list(true).trim()).unwrap();
    assert_eq!(j[0]["status"], "已停用", "{j}");
    // Again: said, not an error hidden.
    let out = xinyong(db, &k, &["accounts", "disable", "shenji"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    run_ok(xinyong(db, &k, &["accounts", "enable", "shenji"]));
    assert!(list(false).contains("正常"), "{}", list(false));
    let a = platform.account_by_username("shenji").unwrap().unwrap();
    assert!(a.disabled_at.is_none());
    assert!(platform.session(b"s1").unwrap().unwrap().revoked);
    // Five wrong passwords lock it: the list says until when.
    let until = now + chrono::Duration::minutes(15);
    platform.login_attempt(id, 1, now, until).unwrap();
    assert!(list(false).contains("已锁定至"), "{}", list(false));
    let actions: Vec<(String, String)> = platform
        .audit_page(1, 100)
        .unwrap()
        .iter()
        .map(|e| (e.entry.action.clone(), e.entry.outcome.clone()))
        .collect();
    for a in ["account.disable", "account.enable"] {
        assert!(
            actions.iter().any(|(x, o)| x == a && o == "ok"),
            "{actions:?}"
        );
    }
    let out = xinyong(db, &k, &["accounts", "enable", "nobody"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// The demo on PostgreSQL builds its city once: started again (on a later day, when every file
/// would be new), it serves the city it has instead of importing a second one beside it; and it
/// does not pretend to rebuild one with --fresh.
#[test]
fn the_demo_on_postgres_builds_its_city_once() {
    let dir = tempfile::tempdir().unwrap();
    let k = testkit::key_file(dir.path());
    let pg = testkit::postgres();
    let demo = |now: &str, extra: &[&str]| {
        let mut c = xinyong(&pg.spec, &k, &["demo", "--demo-db", &pg.spec, "--no-serve"]);
        c.args(extra)
            .env("XINYONG_NOW", now)
            .current_dir(dir.path());
        c
    };
    let submissions = || {
        let out = run_ok(xinyong(&pg.spec, &k, &["stats", "--json"]));
        last_json(&out)["submissions"].as_i64().unwrap()
    };
    run_ok(demo("2026-11-02T02:00:00Z", &[]));
    let first = submissions();
    assert!(first > 50, "{first}");
    // The portal's news columns carry a few published articles, marked as the demo's.
    let published = || {
        store::Store::open(&pg.spec)
            .unwrap()
            .articles(None, None, Some(testkit::day("2026-11-30")), 0, 100)
            .unwrap()
    };
    let news = published();
    assert_eq!(news.len(), 4, "{news:?}");
    assert!(
        news.iter()
            .all(|a| a.title.starts_with("【演示】") && a.status == "published")
    );
    // Every batch and article it made is on the trail, and the trail verifies.
    let trail = store::Store::open_platform(&pg.spec)
        .unwrap()
        .audit_page(1, 1000)
        .unwrap();
    let count = |action: &str| trail.iter().filter(|e| e.entry.action == action).count();
    assert_eq!(count("submission.create") as i64, first, "{trail:?}");
    assert_eq!((count("article.create"), count("article.publish")), (4, 4));
    assert_eq!((count("account.create"), count("token.create")), (10, 2));
    run_ok(xinyong(&pg.spec, &k, &["audit", "checkpoint"]));
    run_ok(xinyong(&pg.spec, &k, &["audit", "verify"]));
    let again = run_ok(demo("2026-11-09T02:00:00Z", &[]));
    assert!(!again.contains("已导入"), "{again}");
    assert_eq!(submissions(), first);
    assert_eq!(published().len(), 4, "built once");
    let out = demo("2026-11-09T02:00:00Z", &["--fresh"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DROP SCHEMA"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(submissions(), first);
}

/// `import --json` ends with a JSON line even when it imports nothing: a missing file is said
/// there too, and the command fails.
#[test]
fn import_json_says_why_nothing_was_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let db = db.to_str().unwrap();
    let k = testkit::key_file(dir.path());
    let out = xinyong(
        db,
        &k,
        &[
            "import",
            "--source",
            "盐城市生态环境局",
            "--class",
            "行政处罚",
            "--json",
            "no-such-file.csv",
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = last_json(&stdout);
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("no-such-file.csv") && e.contains("未导入任何文件")),
        "{v}"
    );
    assert_eq!(v["accepted"], 0, "{v}");
}

/// `tokens list` shows the tokens an operator may revoke (never their secret), each with its
/// status; the listing is on the trail.
#[test]
fn tokens_are_listed_with_their_status() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let db = db.to_str().unwrap();
    let k = testkit::key_file(dir.path());
    run_ok(xinyong(db, &k, &["migrate"]));
    let made = run_ok(xinyong(
        db,
        &k,
        &[
            "tokens",
            "create",
            "--role",
            "monitor",
            "--name",
            "普罗米修斯",
            "--json",
        ],
    ));
    let secret = last_json(&made)["token"].as_str().unwrap().to_string();
    let list = || last_json(&run_ok(xinyong(db, &k, &["tokens", "list", "--json"])));
    let v = list();
    assert_eq!(v[0]["name"], "普罗米修斯", "{v}");
    assert_eq!(v[0]["status"], "有效", "{v}");
    assert!(!v.to_string().contains(&secret), "{v}");
    let id = v[0]["id"].as_i64().unwrap().to_string();
    run_ok(xinyong(db, &k, &["tokens", "revoke", &id]));
    assert_eq!(list()[0]["status"], "已吊销");
    let text = run_ok(xinyong(db, &k, &["tokens", "list"]));
    assert!(
        text.contains("普罗米修斯") && text.contains("已吊销"),
        "{text}"
    );
    let trail = store::Store::open_platform(db)
        .unwrap()
        .audit_page(1, 100)
        .unwrap();
    assert!(trail.iter().any(|e| e.entry.action == "token.list"));
}
