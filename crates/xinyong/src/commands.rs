//! What each command does.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use chrono::NaiveDate;
use crypto::KeyRing;
use domain::clock::{Clock, FixedClock, SystemClock};
use domain::ids;
use domain::money::Fen;
use domain::publicity::{MarketFacts, PenaltyFacts};
use ingest::{ImportOptions, ImportSummary, Importer};
use rulebook::Rulebook;
use serde_json::json;
use store::{Channel, Store};

use crate::cli::*;

pub struct Ctx {
    pub global: Global,
    pub rules: Rulebook,
    pub clock: Arc<dyn Clock>,
}

impl Ctx {
    fn store(&self) -> Result<Store> {
        Store::open(&self.global.db).with_context(|| format!("打开数据库 {}", self.global.db))
    }
    /// The store for a command that only reads: a path typed wrong is said to be wrong, not
    /// made into an empty store that answers "0 subjects".
    fn existing_store(&self) -> Result<Store> {
        self.refuse_missing("或先导入数据（import）")?;
        self.store()
    }
    /// A location typed wrong (a file or a PostgreSQL schema that holds no platform) is said to
    /// be wrong before anything is opened there.
    fn refuse_missing(&self, hint: &str) -> Result<()> {
        let Ok(location) = store::Location::parse(&self.global.db) else {
            return Ok(()); // said by the open that follows
        };
        if !location
            .holds_platform()
            .with_context(|| format!("连接数据库 {}", location.display()))?
        {
            bail!("数据库{}不存在：请检查 --db，{hint}", location.display());
        }
        Ok(())
    }
    /// The platform store, its audit chain keyed from the key file (the command line appends to
    /// the same chain as the server).
    /// A path typed wrong is said to be wrong: not made into an empty platform whose trail
    /// "verifies" with 0 entries, or that takes new accounts and tokens nobody will use.
    fn platform(&self) -> Result<Store> {
        self.refuse_missing("新平台先运行 migrate、serve 或 import 创建数据库")?;
        let platform = Store::open_platform(&self.global.db)
            .with_context(|| format!("打开平台数据库（{}）", self.global.db))?;
        platform.set_audit_key(self.keys()?.audit_chain_key())?;
        Ok(platform)
    }
    /// Who runs the command, for the audit trail: the OS account, never `$USER`.
    fn operator(&self) -> String {
        crate::operator::os_operator()
    }
    /// Leaves an audit entry for a command-line write.
    fn audit(
        &self,
        action: &str,
        object: Option<String>,
        outcome: &str,
        detail: Option<String>,
    ) -> Result<()> {
        self.audit_as(None, action, object, outcome, detail)
    }
    /// The same for a command given `--actor`: the name is recorded beside the OS account.
    fn audit_as(
        &self,
        claimed: Option<&str>,
        action: &str,
        object: Option<String>,
        outcome: &str,
        detail: Option<String>,
    ) -> Result<()> {
        let platform = self.platform()?;
        platform.audit_append(
            &[Self::entry_as(claimed, action, object, outcome, detail)],
            self.clock.now(),
        )?;
        Ok(())
    }
    /// The entry of a command, for a write that carries it in its own transaction.
    fn entry(action: &str, object: Option<String>, detail: Option<String>) -> store::NewAuditEntry {
        Self::entry_as(None, action, object, "ok", detail)
    }
    fn entry_as(
        claimed: Option<&str>,
        action: &str,
        object: Option<String>,
        outcome: &str,
        detail: Option<String>,
    ) -> store::NewAuditEntry {
        store::NewAuditEntry {
            at: None,
            actor: crate::operator::audit_actor(claimed),
            role: "operator".into(),
            unit: None,
            action: action.into(),
            object,
            outcome: outcome.into(),
            request_id: None,
            client: Some("local".into()),
            detail,
        }
    }
    fn keys(&self) -> Result<KeyRing> {
        self.keys_for(&self.global.db)
    }
    /// The key file for the store at `db`: created for a store that holds nothing yet, never for
    /// one that holds data — a new key would leave its sealed ID numbers unreadable, its
    /// persons unfindable and its audit checkpoints unverifiable (a mistyped `--keys` path).
    fn keys_for(&self, db: &str) -> Result<KeyRing> {
        let path = &self.global.keys;
        if !path.exists() && store_holds_data(db) {
            bail!(
                "密钥文件 {} 不存在，而数据库 {db} 中已有数据（身份证号密文、按身份证号的查找和审计签名都依赖原密钥）。请用 --keys（或 XINYONG_KEYS）指向原密钥文件，不要另建新密钥。",
                path.display()
            );
        }
        let keys = KeyRing::open_or_create(path)
            .with_context(|| format!("密钥文件 {}", path.display()))?;
        // Another platform's key file is refused before anything is written with it (sealed
        // with it, ID numbers could not be read; audit entries could not be verified).
        let platform_exists = match store::Location::parse(db) {
            Ok(store::Location::Sqlite(p)) => store::platform_path(&p).exists(),
            _ => true,
        };
        if platform_exists
            && Store::open_platform(db)?.audit_key_matches(&keys.audit_chain_key())? == Some(false)
        {
            bail!("{}（{}）", store::KEY_NOT_THE_PLATFORMS, path.display());
        }
        Ok(keys)
    }
}

/// Whether the store at `db` already holds subjects or audit entries (an SQLite file that does
/// not exist, or a schema not migrated yet, holds nothing).
fn store_holds_data(db: &str) -> bool {
    if !db.starts_with("postgres://") && !db.starts_with("postgresql://") && !Path::new(db).exists()
    {
        return false;
    }
    let any = |s: Result<Store, store::StoreError>, sql: &str| {
        s.ok()
            .and_then(|s| s.read(|c| c.query_one(sql, &[])).ok())
            .is_some_and(|r| r.is_some())
    };
    any(Store::open(db), "SELECT 1 FROM subjects LIMIT 1")
        || any(Store::open_platform(db), "SELECT 1 FROM audit_log LIMIT 1")
}

/// The clock: real time, or the instant in `XINYONG_NOW` (RFC 3339) for scripted runs.
fn clock() -> Result<Arc<dyn Clock>> {
    match std::env::var("XINYONG_NOW") {
        Ok(s) => {
            let t = chrono::DateTime::parse_from_rfc3339(&s)
                .with_context(|| format!("XINYONG_NOW={s} 不是RFC 3339时间"))?;
            Ok(Arc::new(FixedClock::at(t.with_timezone(&chrono::Utc))))
        }
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}

pub fn parse_day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| anyhow!("“{s}”不是YYYY-MM-DD格式的日期"))
}

pub fn run(cli: Cli) -> Result<()> {
    let rules = Rulebook::from_env_or(cli.global.rules.as_deref()).context("载入规则数据")?;
    let ctx = Ctx {
        global: cli.global,
        rules,
        clock: clock()?,
    };
    match cli.command {
        Command::Demo(a) => demo(&ctx, a),
        Command::Ids {
            command: IdsCommand::Validate,
        } => ids_validate(&ctx),
        Command::Import(a) => import(&ctx, a),
        Command::Rejects { submission, out } => {
            // The rows go back in the unit's own layout with a reason column, as a workbook: a
            // name ending .csv would hold XLSX bytes no one could open as CSV.
            if !out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
            {
                bail!(
                    "退回数据以XLSX工作簿写出（保留报送单位原表格式并附退回原因列）：请将 --out 的文件名以 .xlsx 结尾（如 退回_{submission}.xlsx）"
                );
            }
            let store = ctx.existing_store()?;
            let n = ingest::rejects::write_rejected_xlsx(&store, &ctx.keys()?, submission, &out)?;
            // The rows as received, unsealed: a sensitive read, in the trail as through the API.
            ctx.audit(
                "submission.export_rejections",
                Some(format!("submission:{submission}")),
                "ok",
                Some(format!("rows={n}")),
            )?;
            println!(
                "已写出报送批次{submission}的{n}条退回数据：{}",
                out.display()
            );
            Ok(())
        }
        Command::Submissions {
            source,
            limit,
            json,
        } => submissions(&ctx, source, limit, json),
        Command::Withdraw(a) => withdraw(&ctx, a),
        Command::Subject {
            code,
            as_of,
            public,
        } => subject(&ctx, &code, as_of, public),
        Command::Check { code, matter } => check_cmd(&ctx, &code, &matter),
        Command::Stats { json } => stats(&ctx, json),
        Command::Quality(a) => quality(&ctx, a),
        Command::Rules { command } => rules_cmd(&ctx, command),
        Command::Gen(a) => gen_cmd(&ctx, a),
        Command::Serve(a) => {
            let db = ctx.global.db.clone();
            serve(&ctx, &db, &a, None)
        }
        Command::Accounts { command } => accounts_cmd(&ctx, command),
        Command::Tokens { command } => tokens_cmd(&ctx, command),
        Command::Audit { command } => audit_cmd(&ctx, command),
        Command::Migrate => {
            let store = ctx.store()?;
            println!(
                "数据库 {}（{}）结构版本 {}",
                store.location().display(),
                store.backend().as_str(),
                store.schema_version()?
            );
            // Records stored before they kept their decision's key (migration 0009) get it.
            let classes: Vec<(String, Vec<String>)> = ctx
                .rules
                .monitoring
                .classes
                .iter()
                .filter_map(|c| ctx.rules.catalog.class_by_code(c))
                .filter(|c| !c.key.is_empty())
                .map(|c| (c.code.clone(), c.key.clone()))
                .collect();
            let n = store.backfill_decision_keys(&classes)?;
            if n > 0 {
                println!(
                    "已为{n}条此前入库的记录补记或更新决定文书号键（用于识别主体代码更正和文书号写法不同的同一决定）"
                );
                ctx.audit(
                    "records.decision_keys",
                    None,
                    "ok",
                    Some(format!("backfilled={n}")),
                )?;
            }
            Ok(())
        }
    }
}

fn ids_validate(ctx: &Ctx) -> Result<()> {
    let today = ctx.clock.today();
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line.context("读取标准输入（输入应为UTF-8编码的文本）")?;
        let input = line.trim_end_matches(['\r', '\n']);
        // One line out for every line in, a blank one too, and a tab in the input shown as a
        // space: the output's columns and lines stay the input's.
        let shown = input.replace('\t', " ");
        if input.trim().is_empty() {
            writeln!(out, "{shown}\tINVALID\t空行，没有标识符")?;
            continue;
        }
        let r = ids::check_any(input, &ctx.rules.ids, today);
        writeln!(out, "{shown}\t{}\t{}", r.verdict, r.reason)?;
    }
    Ok(())
}

fn progress_bar(enabled: bool, label: &str) -> Option<indicatif::ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} 已处理 {human_pos} 行，{per_sec}，用时 {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.set_message(label.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(pb)
}

fn summary_text(s: &ImportSummary) -> String {
    let head = match (s.submission_id, s.duplicate_of) {
        (_, Some(d)) => format!("与报送批次{d}内容完全相同，未作任何更改"),
        (Some(id), None) => format!("报送批次{id}"),
        _ => String::new(),
    };
    format!(
        "{}：{} {}（{}）\n  读取 {} 行：入库 {} 行（新增 {}、更正 {}、未变 {}），退回 {} 行；关联 {} 行，代码存疑 {} 行，按时报送 {} 行；{:.0} 行/秒{}",
        s.file.as_deref().unwrap_or("-"),
        head,
        s.source_unit,
        s.class,
        s.rows_read,
        s.accepted,
        s.created,
        s.corrected,
        s.unchanged,
        s.rejected,
        s.linked,
        s.suspect,
        s.on_time,
        s.rows_per_second,
        if s.unknown_columns.is_empty() {
            String::new()
        } else {
            format!(
                "\n  未识别的列（原样保存，不入库）：{}",
                s.unknown_columns.join("、")
            )
        },
    ) + &s
        .notices
        .iter()
        .map(|n| format!("\n  注意：{n}"))
        .collect::<String>()
}

fn import(ctx: &Ctx, a: ImportArgs) -> Result<()> {
    let store = ctx.store()?;
    let keys = ctx.keys()?;
    let importer = Importer {
        store: &store,
        rules: &ctx.rules,
        keys: &keys,
        clock: ctx.clock.as_ref(),
    };
    let opts = ImportOptions {
        unit: a.source.clone(),
        class: a.class.clone(),
        actor: a.actor.clone().unwrap_or_else(|| ctx.operator()),
        channel: Channel::File,
    };
    importer.resolve(&opts)?;
    // An operator's import on a store no server is using writes each page once (see
    // `store::BulkLoad`); on a store in use it runs beside the others in WAL.
    // A missing file is found before any is imported, not after the first few are stored.
    if let Some(f) = a.files.iter().find(|f| !f.exists() || f.is_dir()) {
        let why = format!("文件不存在或是目录：{}（未导入任何文件）", f.display());
        // --json promises a JSON last line: a script reads why from it too.
        if a.json {
            println!(
                "{}",
                json!({"error": why, "files": [], "rows_read": 0, "accepted": 0, "rejected": 0, "unchanged": 0})
            );
        }
        bail!(why);
    }
    let _bulk = store.bulk_load()?;
    let mut all = Vec::new();
    // A file refused as a whole (its format, its sheets) stores nothing; the others go on, and
    // the summary says which was refused and why.
    let mut failed: Vec<serde_json::Value> = Vec::new();
    for f in &a.files {
        let pb = progress_bar(!a.json, &f.display().to_string());
        // The batch's entry goes in before it commits (see the service's import): no batch
        // stands without it; one that then fails to commit gets a second entry saying so.
        let entry_first = |b: &ingest::Committing| {
            ctx.audit_as(
                a.actor.as_deref(),
                "submission.create",
                Some(format!("submission:{}", b.submission_id)),
                "ok",
                Some(format!(
                    "unit={} class={} file={} rows={} accepted={} rejected={} actor={}",
                    b.source_unit,
                    b.class,
                    f.display(),
                    b.rows_read,
                    b.accepted,
                    b.rejected,
                    opts.actor
                )),
            )
            .map_err(|e| e.to_string())
        };
        let progress = |n| {
            if let Some(pb) = &pb {
                pb.set_position(n);
            }
        };
        let result = importer.import_path_then(f, &opts, &progress, &entry_first);
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
        let summary = match result {
            Ok(s) => s,
            Err(e) => {
                ctx.audit_as(
                    a.actor.as_deref(),
                    "submission.create",
                    None,
                    "failed",
                    Some(format!("unit={} file={} error={e}", a.source, f.display())),
                )?;
                eprintln!("导入 {} 未成功：{e}", f.display());
                failed.push(json!({"file": f.display().to_string(), "error": e.to_string()}));
                continue;
            }
        };
        // A repeat commits nothing and was not entered before: entered now.
        if let Some(earlier) = summary.duplicate_of {
            ctx.audit_as(
                a.actor.as_deref(),
                "submission.create",
                Some(format!("submission:{earlier}")),
                "repeat",
                Some(format!(
                    "unit={} class={} file={} rows={} duplicate_of={earlier} actor={}",
                    summary.source_unit,
                    summary.class,
                    f.display(),
                    summary.rows_read,
                    opts.actor
                )),
            )?;
        }
        if !a.json {
            println!("{}", summary_text(&summary));
            if summary.rejected > 0
                && let Some(id) = summary.submission_id
            {
                println!("  退回数据可导出：xinyong rejects {id} --out 退回_{id}.xlsx");
            }
            // Out before the next file's messages on stderr: redirected together, a summary
            // still in the buffer was cut by them mid-line.
            let _ = std::io::Write::flush(&mut std::io::stdout());
        }
        all.push(summary);
    }
    if a.json {
        let line = if all.len() == 1 && failed.is_empty() {
            serde_json::to_string(&all[0])?
        } else {
            let total = |f: fn(&ImportSummary) -> u64| all.iter().map(f).sum::<u64>();
            serde_json::to_string(&json!({
                "files": all,
                "failed": failed,
                "rows_read": total(|s| s.rows_read),
                "accepted": total(|s| s.accepted),
                "rejected": total(|s| s.rejected),
                "unchanged": total(|s| s.unchanged),
                "created": total(|s| s.created),
                "corrected": total(|s| s.corrected),
            }))?
        };
        println!("{line}");
    }
    if !failed.is_empty() {
        bail!(
            "{}个文件中有{}个未能导入（见上），其余已导入",
            a.files.len(),
            failed.len()
        );
    }
    Ok(())
}

fn submissions(ctx: &Ctx, source: Option<String>, limit: i64, json_out: bool) -> Result<()> {
    let store = ctx.existing_store()?;
    let unit = match &source {
        Some(s) => Some(
            ctx.rules
                .units
                .find(s)
                .ok_or_else(|| anyhow!("报送单位“{s}”不在名录中"))?
                .name
                .clone(),
        ),
        None => None,
    };
    // One more than shown, to say whether there are more.
    let mut subs = store.submissions(unit.as_deref(), limit.saturating_add(1))?;
    let more = subs.len() as i64 > limit;
    subs.truncate(limit.max(0) as usize);
    if json_out {
        println!("{}", serde_json::to_string(&subs)?);
        return Ok(());
    }
    if subs.is_empty() {
        println!("暂无报送批次");
    }
    if more {
        eprintln!("（只列出最近的{limit}个批次；更多请用 --limit）");
    }
    for s in subs {
        let class = ctx
            .rules
            .catalog
            .class_by_code(&s.class_code)
            .map_or(s.class_code.clone(), |c| c.name.clone());
        println!(
            "{}\t{}\t{}\t{}\t{}\t读取{} 入库{} 退回{}\t{}",
            s.submission_id,
            domain::clock::beijing(s.received_at).format("%Y-%m-%d %H:%M"),
            s.source_unit,
            class,
            s.file_name.unwrap_or_default(),
            s.counts.rows_read,
            s.counts.accepted,
            s.counts.rejected,
            if s.status == "withdrawn" {
                "已撤回"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn withdraw(ctx: &Ctx, a: WithdrawArgs) -> Result<()> {
    let store = ctx.store()?;
    // The key file is checked before anything is written.
    ctx.platform()?;
    let unit = ctx
        .rules
        .units
        .find(&a.source)
        .ok_or_else(|| anyhow!("报送单位“{}”不在名录中", a.source))?;
    let reason = a.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        bail!("撤回原因不能为空，且不超过500字");
    }
    let actor = a.actor.clone().unwrap_or_else(|| ctx.operator());
    let w = store::Withdrawal {
        unit: &unit.name,
        actor: &actor,
        reason,
        at: ctx.clock.now(),
    };
    let detail = format!("unit={} actor={actor} reason={reason}", unit.name);
    // The entry goes in before the withdrawal commits (the trail is in the platform store): no
    // withdrawal stands without it; one that then fails gets a second entry saying so.
    let claimed = a.actor.as_deref();
    let first = |action: &str, object: String| {
        let detail = detail.clone();
        let action = action.to_string();
        move || {
            ctx.audit_as(
                claimed,
                &action,
                Some(object.clone()),
                "ok",
                Some(detail.clone()),
            )
            .map_err(|e| {
                // The operator is told why; the store's error says only that it was refused.
                eprintln!("审计记录写入失败：{e:#}");
                store::StoreError::AuditUnwritten(e.to_string())
            })
        }
    };
    let (action, object, done) = match (&a.record, a.submission) {
        (Some(r), _) => (
            "record.withdraw",
            format!("record:{r}"),
            store
                .withdraw_record_then(r, &w, &first("record.withdraw", format!("record:{r}")))
                .map(|()| format!("记录{r}已撤回（原因：{reason}）")),
        ),
        (None, Some(s)) => (
            "submission.withdraw",
            format!("submission:{s}"),
            store
                .withdraw_submission_then(
                    s,
                    &w,
                    &first("submission.withdraw", format!("submission:{s}")),
                )
                .map(|n| {
                let mut m = format!(
                    "报送批次{s}已撤回，{}条记录各增加一个撤回版本（原因：{reason}）",
                    n.withdrawn
                );
                if n.left_corrected_later > 0 {
                    m += &format!(
                        "；另有{}条此后已被批次{}更正，未随本批次撤回（如需撤回，请撤回相应批次或逐条撤回）",
                        n.left_corrected_later,
                        n.batches()
                    );
                }
                m
            }),
        ),
        (None, None) => bail!("请给出 --record 或 --submission"),
    };
    if done.is_err() {
        ctx.audit_as(
            a.actor.as_deref(),
            action,
            Some(object),
            "failed",
            Some(detail),
        )?;
    }
    println!("{}", done?);
    Ok(())
}

fn subject(ctx: &Ctx, code: &str, as_of: Option<String>, public: bool) -> Result<()> {
    let store = ctx.existing_store()?;
    let keys = ctx.keys()?;
    let today = ctx.clock.today();
    let day = match as_of {
        Some(s) => parse_day(&s)?,
        None => today,
    };
    let key = views::subject_key(code, &ctx.rules, &keys, today)?;
    let audience = if public {
        views::Audience::Public
    } else {
        views::Audience::Full
    };
    let file = views::credit_file(&store, &ctx.rules, &key, day, audience)?
        .ok_or_else(|| anyhow!("没有找到信用主体{code}"))?;
    // A whole file (records not public included) is a sensitive read, as through the API.
    if !public {
        ctx.audit(
            "subject.read_full",
            Some(key.clone()),
            "ok",
            Some(format!("as_of={day}")),
        )?;
    }
    println!("{}", serde_json::to_string_pretty(&file)?);
    Ok(())
}

fn check_cmd(ctx: &Ctx, code: &str, matter: &str) -> Result<()> {
    let store = ctx.existing_store()?;
    let platform = ctx.platform()?;
    let keys = ctx.keys()?;
    let index = joint::ListIndex::build(&store, &platform, &ctx.rules)?;
    let names = |key: &str| store.subject(key).ok().flatten().map(|s| (s.name, s.kind));
    let checker = joint::Checker {
        index: &index,
        rules: &ctx.rules,
        keys: &keys,
        names: &names,
        unit: None,
    };
    let now = ctx.clock.now();
    let mut r = checker.check(code, matter, ctx.clock.today(), now)?;
    let actor = crate::operator::audit_actor(None);
    r.check_id = platform
        .record_checks(&[r.record(&actor, None, "query", None)])?
        .first()
        .copied()
        .unwrap_or(0);
    println!("{}", serde_json::to_string_pretty(&r)?);
    Ok(())
}

fn stats(ctx: &Ctx, json_out: bool) -> Result<()> {
    let store = ctx.existing_store()?;
    let s = store.stats()?;
    let class_name = |code: &str| {
        ctx.rules
            .catalog
            .class_by_code(code)
            .map_or(code.to_string(), |c| c.name.clone())
    };
    if json_out {
        let by_class: serde_json::Map<String, serde_json::Value> = s
            .records_by_class
            .iter()
            .map(|c| (class_name(&c.name), json!(c.count)))
            .collect();
        let by_kind: serde_json::Map<String, serde_json::Value> = s
            .subjects_by_kind
            .iter()
            .map(|k| (k.name.clone(), json!(k.count)))
            .collect();
        println!(
            "{}",
            json!({
                "subjects": s.subjects,
                "subjects_by_kind": by_kind,
                "records": s.records,
                "records_by_class": by_class,
                "versions": s.versions,
                "submissions": s.submissions,
            })
        );
    } else {
        println!(
            "信用主体 {} 个；现行记录 {} 条；版本 {} 个；报送批次 {} 个",
            s.subjects,
            s.records,
            s.versions.unwrap_or(0),
            s.submissions.unwrap_or(0)
        );
        for c in &s.records_by_class {
            println!("  {}\t{}", class_name(&c.name), c.count);
        }
    }
    Ok(())
}

fn rate(a: u64, b: u64) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.2}%", a as f64 * 100.0 / b as f64)
    }
}

fn quality(ctx: &Ctx, a: QualityArgs) -> Result<()> {
    let store = ctx.existing_store()?;
    if let Some(QualityCommand::Conflicts { limit, json }) = a.command {
        let c = store.code_conflicts(limit)?;
        if json {
            println!("{}", serde_json::to_string(&c)?);
        } else {
            if c.is_empty() {
                println!("暂无重错码（一码多名、一名多码）");
            }
            for x in c {
                let what = if x.kind == "one_code_many_names" {
                    "一码多名"
                } else {
                    "一名多码"
                };
                println!(
                    "{what}\t{}\t{}\t报送单位：{}",
                    x.subject_keys.join("、"),
                    x.names.join("、"),
                    x.units.join("、")
                );
            }
        }
        return Ok(());
    }
    let rows: Vec<(String, i64, store::Counts)> = if let Some(id) = a.submission {
        let s = store
            .submission(id)?
            .ok_or_else(|| anyhow!("报送批次{id}不存在"))?;
        vec![(format!("批次{id} {}", s.source_unit), 1, s.counts)]
    } else {
        let unit = match &a.source {
            Some(s) => Some(
                ctx.rules
                    .units
                    .find(s)
                    .ok_or_else(|| anyhow!("报送单位“{s}”不在名录中"))?
                    .name
                    .clone(),
            ),
            None => None,
        };
        store
            .quality_by_unit(unit.as_deref())?
            .into_iter()
            .map(|q| (q.source_unit, q.submissions, q.counts))
            .collect()
    };
    if a.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(u, n, c)| {
                json!({
                    "source_unit": u, "submissions": n, "rows_read": c.rows_read, "accepted": c.accepted,
                    "rejected": c.rejected, "linked": c.linked, "suspect": c.suspect, "on_time": c.on_time,
                    "intake_rate": if c.rows_read == 0 { None } else { Some(c.accepted as f64 / c.rows_read as f64) },
                    "link_rate": if c.accepted == 0 { None } else { Some(c.linked as f64 / c.accepted as f64) },
                })
            })
            .collect();
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!("报送单位\t批次\t读取\t入库\t退回\t入库率\t关联\t关联率\t代码存疑");
        for (u, n, c) in rows {
            println!(
                "{u}\t{n}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                c.rows_read,
                c.accepted,
                c.rejected,
                rate(c.accepted, c.rows_read),
                c.linked,
                rate(c.linked, c.accepted),
                c.suspect
            );
        }
    }
    Ok(())
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', '，', ';', '；', '、'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn rules_cmd(ctx: &Ctx, c: RulesCommand) -> Result<()> {
    match c {
        RulesCommand::AddWorkdays { date, n } => {
            let d = parse_day(&date)?;
            // Every deadline of the rules is a few dozen working days; ten years' worth is the
            // most asked for (a huge N walked for minutes past any calendar loaded).
            if n > 2_500 {
                bail!("工作日数{n}过大：最多2500个工作日（约十年）");
            }
            let r = ctx.rules.calendar.add_workdays(d, n);
            if let Some(w) = r.warning() {
                eprintln!("{w}");
            }
            println!("{}", r.date);
            Ok(())
        }
        RulesCommand::PenaltyWindow(a) => {
            let decided = parse_day(&a.decided)?;
            // A window for a day to come is computed (to plan), but said to be one: import
            // refuses a decision dated in the future.
            if decided > ctx.clock.today() {
                eprintln!(
                    "注意：决定日期{decided}晚于今天（{}），导入时此类记录会被退回；以下按该日期试算",
                    ctx.clock.today()
                );
            }
            // The categories as import reads them: the catalog's values (aliases too), any other
            // refused — a misspelt 吊销执照 would otherwise count as 一般.
            let item = ctx
                .rules
                .catalog
                .class_by_code("CF")
                .and_then(|c| c.item_by_role(domain::catalog::Role::PenaltyCategories))
                .ok_or_else(|| anyhow!("目录中没有行政处罚的处罚类别"))?;
            let mut categories = Vec::new();
            for c in split_list(&a.categories) {
                match ctx.rules.catalog.canonical_value(item, &c) {
                    Some(v) => categories.push(v.to_string()),
                    None => bail!(
                        "--categories：“{c}”不在处罚类别取值范围内，应为：{}",
                        ctx.rules.catalog.values(item).join("、")
                    ),
                }
            }
            if categories.is_empty() {
                bail!("--categories 不能为空");
            }
            if a.fine.is_some() && !a.market {
                bail!("--fine 只用于市场监管处罚（与 --market 一起使用）");
            }
            let severity = a
                .severity
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e: String| anyhow!(e))?;
            // A domain is one the rules name, or text their keywords find one in (消防安全); any
            // other is refused rather than dropped without a word, and with it a longer minimum.
            let known = &ctx.rules.publicity.domain_keywords;
            let mut domains = Vec::new();
            for d in a.domain.as_deref().map(split_list).unwrap_or_default() {
                let found = if known.contains_key(&d) {
                    vec![d.clone()]
                } else {
                    ctx.rules.publicity.domains_in([d.as_str()])
                };
                if found.is_empty() {
                    bail!(
                        "--domain：“{d}”不是规则中的领域，应为：{}",
                        known.keys().cloned().collect::<Vec<_>>().join("、")
                    );
                }
                for f in found {
                    if !domains.contains(&f) {
                        domains.push(f);
                    }
                }
            }
            if a.published.is_some() && !a.market {
                bail!("--published 只用于市场监管处罚（与 --market 一起使用）");
            }
            let market = if a.market {
                let Some(published) = a.published.as_deref() else {
                    bail!("--market 需要 --published（公示日期，YYYY-MM-DD）");
                };
                let published = parse_day(published)?;
                if published < decided {
                    bail!("--published {published} 早于处罚决定日期 {decided}");
                }
                // Order 45 counts from the day it was published (第十三条), so a date the
                // operator gives is counted as it is. Import, which knows only the day it
                // received the record, counts from that day or the day it was due to be
                // published, whichever is earlier; a late publication is pointed out.
                let counted = ctx
                    .rules
                    .publicity
                    .market
                    .publish_within_workdays
                    .map(|n| ctx.rules.calendar.add_workdays(decided, n));
                // A due day counted into a year without its holiday notice says so.
                if let Some(w) = counted.as_ref().and_then(|c| c.warning()) {
                    eprintln!("{w}（应公示期限）");
                }
                let due = counted.map(|c| c.date);
                if let Some(d) = due.filter(|d| *d < published) {
                    eprintln!(
                        "注意：公示日期晚于应公示期限{d}（决定后{}个工作日），按实际公示日期{published}计算；导入时平台只知收到日期，按收到日期与应公示期限中较早者计算",
                        ctx.rules
                            .publicity
                            .market
                            .publish_within_workdays
                            .unwrap_or(0)
                    );
                }
                let fine = a
                    .fine
                    .as_deref()
                    .map(Fen::parse_wan)
                    .transpose()
                    .map_err(|e| anyhow!("--fine：{e}"))?;
                Some(MarketFacts {
                    published,
                    fine,
                    natural_person: a.natural_person,
                })
            } else {
                None
            };
            let w = ctx.rules.publicity.window(&PenaltyFacts {
                decided,
                categories: &categories,
                severity,
                domains: &domains,
                market,
            })?;
            println!("{}", serde_json::to_string_pretty(&w)?);
            Ok(())
        }
    }
}

fn gen_cmd(ctx: &Ctx, a: GenArgs) -> Result<()> {
    let today = match &a.today {
        Some(s) => parse_day(s)?,
        None => ctx.clock.today(),
    };
    let format = synth::OutFormat::parse(&a.format)
        .ok_or_else(|| anyhow!("--format 应为 csv、gb18030、xlsx 或 json"))?;
    if !(0.0..=1.0).contains(&a.dirty) {
        bail!("--dirty 应在0到1之间");
    }
    let opts = synth::GenOptions {
        seed: a.seed,
        today,
        orgs: a.orgs,
        persons: a.persons,
        licences: a.licences,
        penalties: a.penalties,
        lists: a.lists,
        commitments: a.commitments,
        contracts: a.contracts,
        honours: a.honours,
        dirty: a.dirty,
        format,
        only: a.only.clone(),
        only_unit: a.unit.clone(),
    };
    let m = synth::generate(&ctx.rules, &a.out, &opts)?;
    let rows: u64 = m.files.iter().map(|f| f.rows).sum();
    let dirty: u64 = m.files.iter().map(|f| f.dirty).sum();
    println!(
        "已生成 {} 个文件，共 {rows} 行（其中脏数据 {dirty} 行），{} 个组织、{} 个自然人：{}",
        m.files.len(),
        m.orgs,
        m.persons,
        a.out.display()
    );
    println!("清单：{}", a.out.join("manifest.json").display());
    Ok(())
}

/// Builds the demo city in its own store unless it is there already, creates an account for
/// every role, prints them, and starts the service.
fn demo(ctx: &Ctx, a: DemoArgs) -> Result<()> {
    let db_path = Path::new(&a.demo_db);
    let on_postgres = matches!(
        store::Location::parse(&a.demo_db),
        Ok(store::Location::Postgres { .. })
    );
    if on_postgres && a.fresh {
        bail!(
            "PostgreSQL上的演示城市不能用 --fresh 重建（不删除数据库中的数据）：请换一个schema（?schema=…），或先在该库中执行 DROP SCHEMA … CASCADE"
        );
    }
    // On PostgreSQL there is no file to look for: the city is there when the schema holds
    // submissions (built on an earlier start; importing it again on a later day doubles it).
    let mut fresh = a.fresh || (!on_postgres && !db_path.exists());
    if a.fresh {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", a.demo_db));
            let _ =
                std::fs::remove_file(format!("{}{ext}", store::platform_path(db_path).display()));
        }
    }
    let store = Store::open(&a.demo_db).with_context(|| format!("打开演示数据库 {}", a.demo_db))?;
    if on_postgres {
        fresh = store.stats()?.submissions == Some(0);
    }
    let platform = Store::open_platform(&a.demo_db)?;
    let keys = ctx.keys_for(&a.demo_db)?;
    platform.set_audit_key(keys.audit_chain_key())?;
    // A demo trail begun anew where the last one was: that one's anchored heads are not its.
    if fresh && platform.audit_head()?.0 == 0 {
        audit::start_over(&platform, &keys, ctx.clock.now())?;
    }
    if fresh {
        // Beside an SQLite store; under xinyong-data for one on PostgreSQL (not in a directory
        // named after the URL).
        let dir = match store::Location::parse(&a.demo_db) {
            Ok(store::Location::Postgres { .. }) => Path::new("xinyong-data").join("demo-files"),
            _ => db_path
                .parent()
                .unwrap_or(Path::new("."))
                .join("demo-files"),
        };
        let today = ctx.clock.today();
        eprintln!("正在生成演示城市（种子 {}）……", a.seed);
        let m = synth::generate(&ctx.rules, &dir, &synth::GenOptions::small(a.seed, today))?;
        let importer = Importer {
            store: &store,
            rules: &ctx.rules,
            keys: &keys,
            clock: ctx.clock.as_ref(),
        };
        // Registration first, so that later records link to known subjects.
        let mut files = m.files.clone();
        files.sort_by_key(|f| f.class != "登记注册基本信息");
        let (mut read, mut accepted, mut rejected) = (0, 0, 0);
        for f in &files {
            // Each generated batch is on the trail as the operator's import (the demo's trail
            // used to start empty, with 83 batches in the store).
            let entry_first = |b: &ingest::Committing| {
                platform
                    .audit_append(
                        &[Ctx::entry(
                            "submission.create",
                            Some(format!("submission:{}", b.submission_id)),
                            Some(format!(
                                "unit={} class={} file={} rows={} accepted={} rejected={} actor=demo",
                                b.source_unit, b.class, f.file, b.rows_read, b.accepted, b.rejected
                            )),
                        )],
                        ctx.clock.now(),
                    )
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            };
            let s = importer.import_path_then(
                &dir.join(&f.file),
                &ImportOptions {
                    unit: f.unit.clone(),
                    class: f.class.clone(),
                    actor: "demo".into(),
                    channel: Channel::File,
                },
                &|_| {},
                &entry_first,
            )?;
            read += s.rows_read;
            accepted += s.accepted;
            rejected += s.rejected;
        }
        eprintln!(
            "已导入 {} 个文件：读取 {read} 行，入库 {accepted} 行，退回 {rejected} 行",
            files.len()
        );
        demo_self_reports(&store, &ctx.rules, ctx.clock.now())?;
        demo_articles(&store, &platform, ctx.clock.now())?;
    }
    // One account for every role, with a password shown here (demo only).
    let subject = store
        .read(|c| {
            c.query_one(
                // A company whose penalty (by the ecology bureau, whose officer is a demo account)
                // can be repaired today, so that the repair "一件事" can be tried at once.
                "SELECT subject_key FROM records WHERE class_code = 'CF' AND published AND subject_key NOT LIKE 'P%'
                   AND change IN ('created', 'corrected')
                 ORDER BY CASE WHEN source_unit = '盐城市生态环境局' AND repairable_from <= $1
                   AND public_ends >= $1 THEN 0 ELSE 1 END, record_key LIMIT 1",
                &[ctx.clock.today().into()],
            )
        })?
        .map(|r| r.text(0))
        .transpose()?;
    // A company on the serious-dishonesty (or focus) list, so that leaving a list early on
    // application can be tried too: an entry of a unit whose deciding officer is a demo account
    // first, listed longest ago (past a unit's least time on the list).
    let listed = store
        .read(|c| {
            c.query_one(
                "SELECT subject_key, source_unit FROM records WHERE class_code IN ('YZSX', 'ZDGZ')
                   AND subject_key NOT LIKE 'P%' AND change IN ('created', 'corrected')
                   AND (public_ends IS NULL OR public_ends >= $1) AND subject_key <> $2
                 ORDER BY CASE WHEN source_unit IN ('盐城市生态环境局', '盐城市市场监督管理局')
                   THEN 0 ELSE 1 END, class_code = 'YZSX' DESC, decided_on, record_key LIMIT 1",
                &[
                    ctx.clock.today().into(),
                    subject.clone().unwrap_or_default().into(),
                ],
            )
        })?
        .map(|r| Ok::<_, store::StoreError>((r.text(0)?, r.text(1)?)))
        .transpose()?;
    let mut demo_accounts: Vec<(&str, &str, auth::Role, Option<&str>)> = vec![
        ("xinyongban", "信用办管理员", auth::Role::Admin, None),
        ("shenji", "安全审计员", auth::Role::Auditor, None),
        (
            "sthj-report",
            "生态环境局信息员",
            auth::Role::Reporter,
            Some("盐城市生态环境局"),
        ),
        (
            "sthj-review",
            "生态环境局审核员",
            auth::Role::Reviewer,
            Some("盐城市生态环境局"),
        ),
        (
            "sthj-decide",
            "生态环境局认定经办人",
            auth::Role::Deciding,
            Some("盐城市生态环境局"),
        ),
        (
            "scjg-decide",
            "市场监管局认定经办人",
            auth::Role::Deciding,
            Some("盐城市市场监督管理局"),
        ),
        (
            "xzsp-check",
            "行政审批局核查经办人",
            auth::Role::Handling,
            Some("盐城市行政审批局"),
        ),
        ("bank-demo", "演示农村商业银行", auth::Role::Financial, None),
        ("qiye-demo", "企业用户", auth::Role::Subject, None),
    ];
    if listed.is_some() {
        demo_accounts.push(("qiye-list", "名单内企业用户", auth::Role::Subject, None));
    }
    const DEMO_PASSWORD: &str = "Yancheng2026demo";
    /// The demo bank's 统一社会信用代码 (a valid code no generated organisation has).
    const DEMO_BANK: &str = "91320900MA1YCBK02K";
    let now = ctx.clock.now();
    for (username, name, role, unit) in &demo_accounts {
        let hash = auth::hash_password(DEMO_PASSWORD)?;
        // Run again, the demo gives its accounts back the password it prints (one may have
        // been changed or reset since).
        // Each account made or reset is on the trail, as the operator's (the CLI's entries).
        if let Some(account) = platform.account_by_username(username)? {
            let mut entry = Ctx::entry(
                "account.reset_password",
                Some(format!("account:{username}")),
                Some("demo".into()),
            );
            platform.set_password(account.account_id, &hash, false, now, Some(&mut entry))?;
            continue;
        }
        let mut entry = Ctx::entry(
            "account.create",
            Some(format!("account:{username}")),
            Some(format!("role={role} demo")),
        );
        platform.create_account(
            &store::NewAccount {
                username,
                display_name: name,
                role: role.as_str(),
                unit: *unit,
                // The demo bank's accounts carry its own code (信易贷授权查询 names it).
                subject_key: match role {
                    auth::Role::Subject if *username == "qiye-list" => {
                        listed.as_ref().map(|(key, _)| key.as_str())
                    }
                    auth::Role::Subject => subject.as_deref(),
                    auth::Role::Financial => Some(DEMO_BANK),
                    _ => None,
                },
                password_hash: &hash,
                must_change: false,
                created_by: "demo",
                at: now,
            },
            Some(&mut entry),
        )?;
    }
    let token = server::manage::create_token(
        &platform,
        &ctx.rules,
        &keys,
        &server::manage::TokenRequest {
            name: "演示：生态环境局业务系统".into(),
            role: auth::Role::Reporter,
            unit: Some("盐城市生态环境局".into()),
            subject: None,
            days: Some(30),
        },
        "demo",
        now,
        Some(&mut Ctx::entry(
            "token.create",
            None,
            Some("role=reporter demo".into()),
        )),
    )
    .map_err(|e| anyhow!("{e}"))?;
    // The monitoring system's own token (运维监控 has no account: it reads the metrics only).
    let monitor = server::manage::create_token(
        &platform,
        &ctx.rules,
        &keys,
        &server::manage::TokenRequest {
            name: "演示：Prometheus".into(),
            role: auth::Role::Monitor,
            unit: None,
            subject: None,
            days: Some(30),
        },
        "demo",
        now,
        Some(&mut Ctx::entry(
            "token.create",
            None,
            Some("role=monitor demo".into()),
        )),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let s = store.stats()?;
    println!(
        "演示数据库：{}（信用主体 {} 个，现行记录 {} 条，报送批次 {} 个）",
        a.demo_db,
        s.subjects,
        s.records,
        s.submissions.unwrap_or(0)
    );
    println!(
        "在命令行操作演示数据库时，请加 --db {}（例如 xinyong --db {} stats）",
        a.demo_db, a.demo_db
    );
    println!();
    println!(
        "控制台：http://{}/console    接口文档：http://{}/api/v1/docs",
        a.listen, a.listen
    );
    println!("演示账号（密码均为 {DEMO_PASSWORD}）：");
    for (username, _, role, unit) in &demo_accounts {
        println!(
            "  {username:<12} {}{}",
            role.label(),
            unit.map(|u| format!("（{u}）")).unwrap_or_default()
        );
    }
    println!("  社会公众无需登录。");
    println!(
        "信用修复“一件事”：以 qiye-demo 登录 http://{}/console/my/records 在线申请，以 sthj-decide 登录“信用修复工作台”办理。",
        a.listen
    );
    if let Some((_, unit)) = &listed {
        println!(
            "提前移出名单（信用修复）：以 qiye-list 登录 http://{}/console/my/records 在线申请，由认定单位（{unit}）办理。",
            a.listen
        );
    }
    println!(
        "推送接口演示令牌（生态环境局信息员，30天）：{}",
        token.token
    );
    println!(
        "  curl -H 'Authorization: Bearer {}' -H 'Content-Type: text/csv' --data-binary @文件.csv 'http://{}/api/v1/submissions?class=行政处罚'",
        token.token, a.listen
    );
    if let Some(k) = &subject {
        println!("  curl http://{}/api/v1/subjects/{k}", a.listen);
    }
    println!("运维监控令牌（只能读取 /metrics，30天）：{}", monitor.token);
    println!(
        "  curl -H 'Authorization: Bearer {}' http://{}/metrics",
        monitor.token, a.listen
    );
    drop(store);
    drop(platform);
    if a.no_serve {
        return Ok(());
    }
    let args = ServeArgs {
        listen: a.listen.clone(),
        // The demo has just built its store.
        init: true,
        rate_per_credential: 6000,
        rate_per_address: 600,
        max_submission_mib: 2048,
        secure_cookies: None,
        public_url: None,
        trusted_audit_keys: Vec::new(),
        trust_forwarded: false,
        sms_gateway: None,
        outbox_file: None,
        no_jobs: false,
        webhook_ca: None,
    };
    serve(ctx, &a.demo_db, &args, Some(keys))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("正在停止：等待进行中的请求完成……");
}

/// The service's address as departments reach it: given, or the listen address.
fn public_url(a: &ServeArgs) -> Result<String> {
    let url = match &a.public_url {
        Some(u) => u.trim().trim_end_matches('/').to_string(),
        None => format!("http://{}", a.listen),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len()
    {
        anyhow::bail!("对外地址应以 http:// 或 https:// 开头：{url}");
    }
    Ok(url)
}

/// The intranet CA for HTTPS webhook receivers, read at start: a file that is not there or holds
/// no certificate stops the service here, not at the first alert.
fn webhook_ca(a: &ServeArgs) -> Result<Option<joint::alerts::WebhookCa>> {
    let Some(path) = &a.webhook_ca else {
        return Ok(None);
    };
    let pem = std::fs::read(path)
        .with_context(|| format!("无法读取预警推送CA证书文件 {}", path.display()))?;
    let ca = joint::alerts::WebhookCa::from_pem(&pem)
        .map_err(|e| anyhow::anyhow!("预警推送CA证书文件 {}：{e}", path.display()))?;
    eprintln!(
        "预警推送的HTTPS接收地址按 {} 中的{}个CA证书校验",
        path.display(),
        ca.len()
    );
    Ok(Some(ca))
}

/// Session cookies are Secure as asked, else when the service is reached over HTTPS (a session
/// cookie sent once over plain HTTP could be read on the way).
fn secure_cookies(a: &ServeArgs) -> Result<bool> {
    Ok(match a.secure_cookies {
        Some(asked) => asked,
        None => public_url(a)?.starts_with("https://"),
    })
}

fn serve(ctx: &Ctx, db: &str, a: &ServeArgs, keys: Option<KeyRing>) -> Result<()> {
    // A PostgreSQL schema holding no platform is a mistyped --db far more often than a new
    // city: served empty, every check would answer "nothing on record" while /readyz said ready.
    // (An SQLite file is the embedded default: its first start makes it.)
    if !a.init
        && let Ok(location @ store::Location::Postgres { .. }) = store::Location::parse(db)
        && !location
            .holds_platform()
            .with_context(|| format!("连接数据库 {}", location.display()))?
    {
        bail!(
            "数据库{}中还没有平台（模式不存在或为空）：请检查 --db；新建平台请加 --init，或先运行 xinyong migrate",
            location.display()
        );
    }
    let store = Arc::new(Store::open(db).with_context(|| format!("打开数据库 {db}"))?);
    let platform = Arc::new(Store::open_platform(db)?);
    let keys = Arc::new(match keys {
        Some(k) => k,
        None => ctx.keys_for(db)?,
    });
    // Another platform's key file: the service does not start.
    platform.set_audit_key(keys.audit_chain_key())?;
    let config = server::Config {
        rate_per_credential: a.rate_per_credential,
        rate_per_address: a.rate_per_address,
        max_submission_bytes: a.max_submission_mib << 20,
        secure_cookies: secure_cookies(a)?,
        trust_forwarded: a.trust_forwarded,
        outbox: match (&a.sms_gateway, &a.outbox_file) {
            (Some(url), _) => server::OutboxTarget::Gateway(url.clone()),
            (None, Some(f)) => server::OutboxTarget::File(f.into()),
            (None, None) => server::OutboxTarget::File(match store.location() {
                store::Location::Sqlite(p) => p.with_extension("outbox.jsonl"),
                _ => Path::new("xinyong-data").join("outbox.jsonl"),
            }),
        },
        run_jobs: !a.no_jobs,
        trusted_audit_keys: a.trusted_audit_keys.clone(),
        public_url: public_url(a)?,
        webhook_ca: webhook_ca(a)?,
        ..server::Config::default()
    };
    if a.secure_cookies.is_none() && config.secure_cookies {
        eprintln!(
            "对外地址为 https://，会话 Cookie 设为 Secure：控制台须经 HTTPS 登录（内网以 HTTP 访问控制台时加 --secure-cookies=false）"
        );
    }
    if a.public_url.is_none() {
        eprintln!(
            "未配置对外地址（--public-url），预警推送中的反馈链接为 {}；部门系统不能访问该地址时请设置",
            config.public_url
        );
    }
    match &config.outbox {
        server::OutboxTarget::Gateway(u) => eprintln!("短信/邮件网关：{u}"),
        server::OutboxTarget::File(f) => {
            eprintln!(
                "未配置短信/邮件网关（--sms-gateway），外发消息写入 {}",
                f.display()
            )
        }
    }
    // Built before the runtime starts: on PostgreSQL the store's blocking client may not be
    // driven from inside an async runtime (it panics), and building the indexes reads it.
    let state = server::AppState::new(
        store,
        platform,
        Arc::new(ctx.rules.clone()),
        keys,
        ctx.clock.clone(),
        config,
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("监听 {}", a.listen))?;
        eprintln!(
            "信用平台服务已启动：http://{}/console （接口 http://{}/api/v1/docs），Ctrl-C 停止",
            a.listen, a.listen
        );
        server::serve(state, listener, shutdown_signal()).await?;
        eprintln!("已停止。");
        Ok(())
    });
    // Dropping the runtime would wait for every blocking task still running (a download whose
    // reader went away mid-stream): the service has stopped and checkpointed, so the process
    // leaves them after a short grace.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    served
}

fn accounts_cmd(ctx: &Ctx, c: AccountsCommand) -> Result<()> {
    let platform = ctx.platform()?;
    match c {
        AccountsCommand::Create {
            role,
            unit,
            subject,
            username,
            name,
            phone,
            email,
            json,
        } => {
            let role: auth::Role = role.parse().map_err(|e: String| anyhow!(e))?;
            // The contact is checked before the account is made: a refused number used to leave
            // an account behind whose first password nobody saw.
            server::manage::contact_checked(phone.as_deref(), email.as_deref())
                .map_err(|e| anyhow!("{e}"))?;
            let req = server::manage::AccountRequest {
                display_name: name.unwrap_or_else(|| username.clone()),
                username,
                role,
                unit,
                subject,
                password: None,
            };
            // The entry goes with the account, in its transaction.
            let mut entry = Ctx::entry(
                "account.create",
                Some(format!("account:{}", req.username)),
                Some(format!("role={role}")),
            );
            let created = server::manage::create_account(
                &platform,
                &ctx.rules,
                &ctx.keys()?,
                &req,
                &format!("cli:{}", ctx.operator()),
                ctx.clock.now(),
                Some(&mut entry),
            )
            .map_err(|e| anyhow!("{e}"))?;
            if phone.is_some() || email.is_some() {
                server::manage::set_contact(
                    &platform,
                    &ctx.keys()?,
                    created.account_id,
                    phone.as_deref(),
                    email.as_deref(),
                )
                .map_err(|e| anyhow!("{e}"))?;
            }
            if json {
                println!("{}", serde_json::to_string(&created)?);
            } else {
                println!(
                    "账号 {}（{}）已创建，初始密码：{}（首次登录须修改）",
                    created.username,
                    role.label(),
                    created.initial_password
                );
            }
            Ok(())
        }
        AccountsCommand::ResetPassword { username } => {
            let a = platform
                .account_by_username(&username)?
                .ok_or_else(|| anyhow!("账号“{username}”不存在"))?;
            let mut entry = Ctx::entry(
                "account.reset_password",
                Some(format!("account:{}", a.account_id)),
                Some(format!("username={username}")),
            );
            let password = server::manage::set_generated_password(
                &platform,
                a.account_id,
                ctx.clock.now(),
                Some(&mut entry),
            )
            .map_err(|e| anyhow!(e.to_string()))?;
            println!("已重置{username}的密码（首次登录须修改）：{password}");
            Ok(())
        }
        AccountsCommand::List { json } => {
            let list = platform.accounts()?;
            let now = ctx.clock.now();
            if json {
                let rows = list
                    .iter()
                    .map(|a| {
                        let mut v = serde_json::to_value(a)?;
                        v["status"] = account_status(a, now).into();
                        Ok(v)
                    })
                    .collect::<Result<Vec<_>>>()?;
                println!("{}", serde_json::to_string(&rows)?);
            } else {
                for a in &list {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        a.account_id,
                        a.username,
                        a.display_name,
                        a.role,
                        a.unit.as_deref().unwrap_or_default(),
                        account_status(a, now)
                    );
                }
            }
            Ok(())
        }
        AccountsCommand::Disable { username } => {
            let a = platform
                .account_by_username(&username)?
                .ok_or_else(|| anyhow!("账号“{username}”不存在"))?;
            let mut entry = Ctx::entry(
                "account.disable",
                Some(format!("account:{}", a.account_id)),
                Some(format!("username={username} role={}", a.role)),
            );
            let done = platform.disable_account(a.account_id, ctx.clock.now(), Some(&mut entry))?;
            if !done {
                bail!("账号“{username}”已是停用状态");
            }
            println!("账号{username}已停用，其会话和它创建的管理员令牌均已失效");
            Ok(())
        }
        AccountsCommand::Enable { username } => {
            let a = platform
                .account_by_username(&username)?
                .ok_or_else(|| anyhow!("账号“{username}”不存在"))?;
            let mut entry = Ctx::entry(
                "account.enable",
                Some(format!("account:{}", a.account_id)),
                Some(format!("username={username} role={}", a.role)),
            );
            let done = platform.enable_account(a.account_id, ctx.clock.now(), Some(&mut entry))?;
            if !done {
                bail!("账号“{username}”未停用，无需启用");
            }
            println!("账号{username}已启用（原有会话不恢复，须重新登录）");
            Ok(())
        }
    }
}

/// An account's status as the console shows it.
fn account_status(a: &store::Account, now: chrono::DateTime<chrono::Utc>) -> String {
    match (a.disabled_at, a.locked_until) {
        (Some(_), _) => "已停用".into(),
        (None, Some(t)) if t > now => format!(
            "已锁定至{}",
            domain::clock::beijing(t).format("%Y-%m-%d %H:%M")
        ),
        _ => "正常".into(),
    }
}

fn tokens_cmd(ctx: &Ctx, c: TokensCommand) -> Result<()> {
    let platform = ctx.platform()?;
    match c {
        TokensCommand::Create {
            role,
            unit,
            subject,
            name,
            days,
            json,
        } => {
            let role: auth::Role = role.parse().map_err(|e: String| anyhow!(e))?;
            let req = server::manage::TokenRequest {
                name,
                role,
                unit,
                subject,
                days: Some(days),
            };
            // As the console's entry says it: whose token it is (a subject's named by its code,
            // a person's ID number masked), not the role alone.
            let mut entry = Ctx::entry(
                "token.create",
                None,
                Some(format!(
                    "name={} role={role} unit={} subject={} days={days}",
                    req.name,
                    req.unit.as_deref().unwrap_or("-"),
                    req.subject
                        .as_deref()
                        .map_or("-".into(), domain::ids::mask_personal_in),
                )),
            );
            let t = server::manage::create_token(
                &platform,
                &ctx.rules,
                &ctx.keys()?,
                &req,
                &format!("cli:{}", ctx.operator()),
                ctx.clock.now(),
                Some(&mut entry),
            )
            .map_err(|e| anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string(&t)?);
            } else {
                println!("{}", t.token);
                eprintln!(
                    "令牌 {}（{}）有效期至 {}；只显示这一次。",
                    t.token_id,
                    role.label(),
                    t.expires_at.format("%Y-%m-%d")
                );
            }
            Ok(())
        }
        TokensCommand::List { json } => {
            let now = ctx.clock.now();
            let day = |t: chrono::DateTime<chrono::Utc>| {
                domain::clock::beijing(t).format("%Y-%m-%d").to_string()
            };
            let rows: Vec<serde_json::Value> = platform
                .tokens()?
                .iter()
                .map(|t| {
                    let status = if t.revoked_at.is_some() {
                        "已吊销"
                    } else if t.expires_at <= now {
                        "已过期"
                    } else {
                        "有效"
                    };
                    json!({
                        "id": t.token_id, "name": t.name, "role": t.role,
                        "role_label": t.role.parse::<auth::Role>().map(|r| r.label()).unwrap_or("未知"),
                        "unit": t.unit, "subject": t.subject_key, "prefix": t.prefix,
                        "created": day(t.created_at), "created_by": t.created_by,
                        "expires": day(t.expires_at), "status": status,
                        "last_used": t.last_used_at.map(day),
                    })
                })
                .collect();
            if json {
                println!("{}", serde_json::to_string(&rows)?);
            } else if rows.is_empty() {
                println!("暂无接口令牌");
            } else {
                println!("编号\t名称\t角色\t所属单位或主体\t有效期至\t状态\t最近使用");
                for r in &rows {
                    let s = |k: &str| r[k].as_str().unwrap_or("—").to_string();
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        r["id"],
                        s("name"),
                        s("role_label"),
                        r["unit"].as_str().or(r["subject"].as_str()).unwrap_or("—"),
                        s("expires"),
                        s("status"),
                        s("last_used")
                    );
                }
            }
            // Who looked at the list of credentials is on the trail, as the console's list is.
            ctx.audit(
                "token.list",
                None,
                "ok",
                Some(format!("count={}", rows.len())),
            )?;
            Ok(())
        }
        TokensCommand::Revoke { id } => {
            let mut entry = Ctx::entry("token.revoke", Some(format!("token:{id}")), None);
            let ok = platform.revoke_token(id, ctx.clock.now(), Some(&mut entry))?;
            if !ok {
                bail!("令牌{id}不存在或已吊销");
            }
            println!("令牌{id}已吊销");
            Ok(())
        }
    }
}

fn audit_cmd(ctx: &Ctx, c: AuditCommand) -> Result<()> {
    // The public key needs only the key file.
    if let AuditCommand::PublicKey = c {
        let keys = KeyRing::open(&ctx.global.keys)
            .with_context(|| format!("密钥文件 {}", ctx.global.keys.display()))?;
        print!("{}", keys.public_key_pem());
        eprintln!("公钥指纹（SM3）：{}", keys.public_key_fingerprint());
        return Ok(());
    }
    let platform = ctx.platform()?;
    let keys = ctx.keys()?;
    match c {
        AuditCommand::Verify {
            json,
            trusted_keys,
            max_unsigned_minutes,
        } => {
            let v = audit::verify(&platform, &keys, &trusted_keys)?;
            let stale = v
                .unsigned_since
                .filter(|t| ctx.clock.now() - *t > chrono::Duration::minutes(max_unsigned_minutes));
            // What is wrong, if anything, said the same in both outputs (exit 2 a break, 3 a
            // tail left unsigned too long): a run that fails never opens with "完整".
            let problem = match (&v.first_break, stale) {
                (Some(b), _) => Some(format!("发现断点：第{}条：{}", b.seq, b.reason)),
                (None, Some(_)) => Some(format!(
                    "审计日志不完整：末尾{}条超过{max_unsigned_minutes}分钟未签署检查点（可用 audit checkpoint 立即签署）",
                    v.unsigned_entries
                )),
                (None, None) => None,
            };
            if json {
                let mut out = serde_json::to_value(&v)?;
                if let Some(o) = out.as_object_mut() {
                    o.insert("complete".into(), json!(problem.is_none()));
                    o.insert("problem".into(), json!(problem));
                }
                println!("{out}");
            } else if v.first_break.is_some() {
                println!("{}", problem.as_deref().unwrap_or_default());
            } else {
                match &problem {
                    Some(p) => println!(
                        "{p}。链本身无断点：{}条，{}个签名检查点均有效。",
                        v.entries, v.checkpoints
                    ),
                    None => println!(
                        "审计日志完整：{}条，{}个签名检查点均有效。",
                        v.entries, v.checkpoints
                    ),
                }
                match &v.anchor_warning {
                    Some(w) => println!("{w}"),
                    None => println!(
                        "与库外锚点相符：{}个锚点，至第{}条。",
                        v.anchors, v.anchored_upto
                    ),
                }
                if let Some(since) = v.unsigned_since {
                    println!(
                        "其中最后{}条（自{}起）尚无签名检查点覆盖：不持有平台密钥者改写能被发现，但末尾被删除的条目只有签名检查点才能发现{}",
                        v.unsigned_entries,
                        domain::clock::beijing(since).format("%Y-%m-%d %H:%M:%S"),
                        if stale.is_some() {
                            format!("；已超过{max_unsigned_minutes}分钟未签署")
                        } else {
                            String::new()
                        }
                    );
                }
            }
            if !v.ok() {
                std::process::exit(2);
            }
            if stale.is_some() {
                std::process::exit(3);
            }
            Ok(())
        }
        AuditCommand::Checkpoint { trusted_keys } => {
            // A checkpoint checks only the entries since the last one: a row changed below it
            // would be signed over. The whole chain first.
            if let Some(b) = audit::verify(&platform, &keys, &trusted_keys)?.first_break {
                bail!(
                    "拒绝签署检查点：第{}条：{}（审计日志链有断裂，请先运行 audit verify 查明原因）",
                    b.seq,
                    b.reason
                );
            }
            match audit::checkpoint(&platform, &keys, ctx.clock.now())? {
                Some(cp) => println!(
                    "已签署检查点：第{}条，SM3 {}",
                    cp.seq_upto,
                    hex_str(&cp.hash)
                ),
                None => println!("没有新的日志需要签署。"),
            }
            Ok(())
        }
        AuditCommand::Checkpoints => {
            let list: Vec<serde_json::Value> = platform
                .audit_checkpoints()?
                .iter()
                .map(|c| {
                    json!({
                        "seq_upto": c.seq_upto,
                        "at": c.at,
                        "hash": hex_str(&c.hash),
                        "message": String::from_utf8_lossy(&domain::audit::checkpoint_message(c.seq_upto, &c.hash, c.at)),
                        "signature_der": hex_str(&c.signature),
                        "key_fingerprint": c.key_fingerprint,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
            Ok(())
        }
        AuditCommand::PublicKey => Ok(()),
    }
}

fn hex_str(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A few published articles for the portal's news columns, marked as the demo's own (the home
/// page's three boxes were empty). Each is on the trail as made and published by the operator
/// who ran the demo, like one written in the console.
fn demo_articles(
    store: &Store,
    platform: &Store,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let today = domain::clock::beijing(now).date_naive();
    let articles = [
        (
            "信用动态",
            "【演示】市县一体化公共信用信息平台试运行",
            "市县一体化公共信用信息平台进入试运行。各信息提供单位可通过文件报送或系统接口推送归集行政许可、行政处罚等信用信息，平台逐行校验并说明退回原因。\n社会公众可在本网站查询企业信用信息和双公示信息，核查部门可在办理业务时开展信用核查。\n（本文为演示数据。）",
        ),
        (
            "信用动态",
            "【演示】信用修复“一件事”网上办理",
            "行政处罚信息最短公示期满后，信用主体可登录平台在线申请信用修复，签署信用修复承诺并上传证明材料，由作出处罚决定的部门在线受理和决定。\n办理结果即时反映在信用门户和联合奖惩核查中。\n（本文为演示数据。）",
        ),
        (
            "政策法规",
            "【演示】双公示信息报送时限说明",
            "行政许可和行政处罚决定应自作出之日起7个工作日内报送平台。报送期限按工作日计算，遇法定节假日顺延。\n平台按月统计各单位的上报率、合规率、及时率和关联率，形成双公示监测通报。\n（本文为演示数据。）",
        ),
        (
            "通知公告",
            "【演示】关于做好信用信息异议处理工作的通知",
            "信用主体认为平台公示的信息有误的，可在线提出异议。平台在2个工作日内转送信息提供单位核实，信息提供单位应在10个工作日内核实处理，平台自提出之日起15个工作日内答复。\n（本文为演示数据。）",
        ),
    ];
    let entry = |action: &str, id: i64, detail: String| {
        platform
            .audit_append(
                &[Ctx::entry(
                    action,
                    Some(format!("article:{id}")),
                    Some(detail),
                )],
                now,
            )
            .map(|_| ())
    };
    for (column, title, body) in articles {
        let id =
            store.create_article(column, title, body, "cli:演示数据生成", now, &|id| {
                entry("article.create", id, "演示数据".into())
            })?;
        store.set_article_status(id, "published", Some(today), now, &|| {
            entry("article.publish", id, format!("published_on={today}"))
        })?;
    }
    Ok(())
}

/// The demo's units file last month's self-reports (月度自报) of the decisions they made, so that
/// the bulletin's 上报率 has figures: most as many as they reported, every fifth a few more,
/// with the reason a unit gives.
fn demo_self_reports(
    store: &Store,
    rules: &Rulebook,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let month = domain::monitoring::previous_month(domain::clock::beijing(now).date_naive());
    let classes: Vec<&str> = rules
        .monitoring
        .classes
        .iter()
        .map(String::as_str)
        .collect();
    for (i, f) in store
        .month_figures(&month, &classes)?
        .into_iter()
        .enumerate()
    {
        let reported = f.accepted + f.rejected;
        let short = if i % 5 == 4 { 2 } else { 0 };
        store.file_self_report(&store::SelfReport {
            source_unit: f.source_unit,
            class_code: f.class_code,
            month: month.clone(),
            produced: reported + short,
            gap_reason: (short > 0).then(|| "两件决定尚未送达当事人，下月报送".to_string()),
            filed_by: "cli:演示数据生成".into(),
            filed_at: now,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn serve_args(args: &[&str]) -> crate::cli::ServeArgs {
        let cli = Cli::try_parse_from(["xinyong", "serve"].iter().chain(args)).expect("parses");
        match cli.command {
            Command::Serve(a) => a,
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn an_https_public_address_makes_session_cookies_secure() {
        let plain = serve_args(&["--public-url", "http://10.1.2.3:8080"]);
        assert!(!super::secure_cookies(&plain).unwrap());
        let https = serve_args(&["--public-url", "https://credit.yancheng.gov.cn/"]);
        assert!(super::secure_cookies(&https).unwrap());
        let asked = serve_args(&["--secure-cookies"]);
        assert!(super::secure_cookies(&asked).unwrap());
        // Staff on plain HTTP behind an HTTPS address for systems: turned off on purpose.
        let off = serve_args(&[
            "--public-url",
            "https://credit.yancheng.gov.cn",
            "--secure-cookies=false",
        ]);
        assert!(!super::secure_cookies(&off).unwrap());
    }
}
