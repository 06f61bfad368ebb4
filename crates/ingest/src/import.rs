//! The import pipeline. A reader thread parses and validates rows and seals the bytes as received;
//! the calling thread writes them through one store transaction. Memory is bounded by the batch
//! size and the channel depth, not by the file. The same bytes from the same unit for the same
//! class, already committed, change nothing: the transaction is rolled back and the earlier
//! submission named.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use crypto::KeyRing;
use domain::catalog::CatalogClass;
use domain::clock::Clock;
use domain::record::ChangeKind;
use domain::units::SourceUnit;
use rulebook::Rulebook;
use serde::Serialize;
use store::{Channel, NewSubmission, PreparedRow, Problem, Rejection, RowOutcome, Store};

use crate::IngestError;
use crate::mapping::map_headers;
use crate::source::{Format, RawRow, Tee, read_rows, seal_chunk};
use crate::validate::Validator;

/// Rows per batch handed to the store.
pub const BATCH_ROWS: usize = 10_000;
/// …or fewer, once their cells hold this many bytes: ten thousand rows of 60 KB cells held 600 MB
/// before they were written.
pub const BATCH_BYTES: usize = 16 << 20;

pub struct Importer<'a> {
    pub store: &'a Store,
    pub rules: &'a Rulebook,
    pub keys: &'a KeyRing,
    pub clock: &'a dyn Clock,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The source unit, by name as the shipped data lists it (or short name, or USCC).
    pub unit: String,
    /// The catalog class, by Chinese name (or code).
    pub class: String,
    pub actor: String,
    pub channel: Channel,
}

/// A submission about to commit: what the caller's step before commit is told (its audit
/// entry names the submission and its counts).
#[derive(Debug, Clone)]
pub struct Committing {
    pub submission_id: i64,
    pub source_unit: String,
    pub class: String,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// What an import did; `--json` prints it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "一次导入的结果汇总。")]
pub struct ImportSummary {
    pub submission_id: Option<i64>,
    pub duplicate_of: Option<i64>,
    // For a repeat of an earlier batch's bytes: records it would have changed back (corrected
    // or changed since), which it left as they are.
    /// 与此前批次完全相同的重复报送：若入库将被改回原内容（此后已被更正或变更）而本次未改动的记录数；否则为0。
    #[serde(default)]
    pub left_as_corrected: u64,
    pub file: Option<String>,
    pub format: String,
    pub source_unit: String,
    pub class: String,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub unchanged: u64,
    pub created: u64,
    pub corrected: u64,
    pub linked: u64,
    pub suspect: u64,
    pub on_time: u64,
    pub digest: String,
    pub byte_size: u64,
    pub unknown_columns: Vec<String>,
    // What the unit should know about this batch beyond its rows (a verdict counted without
    // the year's holiday notice).
    /// 除各行结果外报送单位需要知道的本批次提示（如某年节假日安排尚未载入时，按时报送的判断待复核）。
    pub notices: Vec<String>,
    pub seconds: f64,
    pub rows_per_second: f64,
    // Peak resident memory of the process so far (Linux), MiB.
    /// 导入过程的内存峰值（MiB）；无法获取时为空。
    pub peak_memory_mib: Option<u64>,
}

/// The process's peak resident set (VmHWM) in MiB, where the OS tells it.
pub fn peak_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

enum Msg {
    Header {
        headers: Vec<String>,
        codes: Vec<Option<String>>,
        unknown: Vec<String>,
        encoding: String,
    },
    Batch {
        /// Valid rows, and beside each its cells as received (for a rejection by the store).
        rows: Vec<PreparedRow>,
        cells: Vec<Vec<String>>,
        rejected: Vec<Rejection>,
        chunks: Vec<Vec<u8>>,
    },
    Done {
        digest: String,
        size: u64,
        chunks: Vec<Vec<u8>>,
        notices: Vec<String>,
    },
}

/// A crash point for the atomicity tests: with `XINYONG_FAILPOINT=<name>` the process says so on
/// stderr and waits there, inside the open transaction, to be killed.
fn failpoint(name: &str) {
    if std::env::var("XINYONG_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("FAILPOINT {name}");
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// Why a correction of an ended record is refused, and what the unit can do instead.
fn ended_reason(change: ChangeKind) -> &'static str {
    match change {
        ChangeKind::Exited => {
            "该名单记录已提前移出名单，不能再更正；重新列入须以新的认定文书（新文书号）报送"
        }
        ChangeKind::Revoked => {
            "该名单记录的认定已撤销，不能再更正；重新列入须以新的认定文书（新文书号）报送"
        }
        ChangeKind::Expired => {
            "该名单记录已到期移出名单，不能再更正；重新列入须以新的认定文书（新文书号）报送"
        }
        _ => "该记录已经信用修复、停止公示，不能再更正；如有疑问请联系信用办",
    }
}

/// Decisions a submission remembers to tell a second writing of one in the same file (about
/// 60 bytes each).
const DECISIONS_KEPT: usize = 2_000_000;

fn seal_cells(keys: &KeyRing, cells: &[String]) -> Result<Vec<u8>, IngestError> {
    let text = serde_json::to_string(cells).unwrap_or_default();
    Ok(keys.encrypt(text.as_bytes())?)
}

impl Importer<'_> {
    pub fn resolve(
        &self,
        opts: &ImportOptions,
    ) -> Result<(&SourceUnit, &CatalogClass), IngestError> {
        let unit = self.rules.units.find(&opts.unit).ok_or_else(|| {
            IngestError::Layout(format!(
                "报送单位“{}”不在信源单位名录中（data/units.toml），请使用单位全称，如“盐城市生态环境局”",
                opts.unit
            ))
        })?;
        let class = self.rules.catalog.class(&opts.class).ok_or_else(|| {
            let names: Vec<&str> = self
                .rules
                .catalog
                .classes
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            IngestError::Layout(format!(
                "信息类“{}”不在目录中，应为：{}",
                opts.class,
                names.join("、")
            ))
        })?;
        if !unit.may_report(class) {
            return Err(IngestError::NotAllowed {
                unit: unit.name.clone(),
                class: class.name.clone(),
            });
        }
        Ok((unit, class))
    }

    pub fn import_path(
        &self,
        path: &Path,
        opts: &ImportOptions,
        progress: &dyn Fn(u64),
    ) -> Result<ImportSummary, IngestError> {
        self.import_path_then(path, opts, progress, &|_| Ok(()))
    }

    /// [`Importer::import_path`] with a step before commit (see [`Importer::import_reader_then`]).
    pub fn import_path_then(
        &self,
        path: &Path,
        opts: &ImportOptions,
        progress: &dyn Fn(u64),
        before_commit: &dyn Fn(&Committing) -> Result<(), String>,
    ) -> Result<ImportSummary, IngestError> {
        let file = std::fs::File::open(path).map_err(|e| IngestError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        self.import_reader_then(
            name,
            Format::from_path(path),
            file,
            opts,
            progress,
            before_commit,
        )
    }

    /// [`Importer::import_reader_then`] with nothing to do before commit.
    pub fn import_reader<R: Read + Send>(
        &self,
        file_name: Option<String>,
        format: Format,
        input: R,
        opts: &ImportOptions,
        progress: &dyn Fn(u64),
    ) -> Result<ImportSummary, IngestError> {
        self.import_reader_then(file_name, format, input, opts, progress, &|_| Ok(()))
    }

    /// Imports one submission; `before_commit` runs once every row is judged and before the
    /// submission commits (not for a repeat, which commits nothing): the service writes the
    /// submission's audit entry there, so that no committed batch stands without its entry —
    /// an entry whose batch then fails to commit is followed by one saying so. Its error rolls
    /// the whole batch back.
    pub fn import_reader_then<R: Read + Send>(
        &self,
        file_name: Option<String>,
        format: Format,
        input: R,
        opts: &ImportOptions,
        progress: &dyn Fn(u64),
        before_commit: &dyn Fn(&Committing) -> Result<(), String>,
    ) -> Result<ImportSummary, IngestError> {
        let started = Instant::now();
        let (unit, class) = self.resolve(opts)?;
        let today = self.clock.today();
        let (tx, rx) = sync_channel::<Result<Msg, IngestError>>(4);
        std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("xy-reader".into())
                .spawn_scoped(scope, move || {
                    let result = self.read_side(format, input, unit, class, today, &tx);
                    if let Err(e) = result {
                        let _ = tx.send(Err(e));
                    }
                })
                .map_err(|_| IngestError::Reader)?;
            let written = self.write_side(
                &rx,
                file_name,
                format,
                unit,
                class,
                opts,
                progress,
                started,
                before_commit,
            );
            drop(rx);
            reader.join().map_err(|_| IngestError::Reader)?;
            written
        })
    }

    /// A header that cannot carry the class is refused with the whole file, before anything is
    /// stored: no column of the class at all (the class mistyped: every row would be rejected
    /// and count against the unit's figures), or — in a table, whose header is the same for
    /// every row — a required item's column missing. Names the class the columns do fit, if
    /// another fits them better. Only tables: JSON records name their keys one by one (the
    /// first record's keys say nothing of the next), so each record reports its own missing
    /// items.
    fn refuse_header(
        &self,
        format: Format,
        class: &CatalogClass,
        headers: &[String],
        map: &crate::mapping::HeaderMap,
    ) -> Result<(), IngestError> {
        let tabular = matches!(format, Format::Csv | Format::Xlsx);
        if headers.iter().all(|h| h.trim().is_empty()) {
            return Ok(());
        }
        let mapped = |m: &crate::mapping::HeaderMap| m.columns.iter().flatten().count();
        let here = mapped(map);
        // JSON records name their keys one by one (called with all the keys read, at the end):
        // only "none of the class's items" refuses them; a missing one is its record's problem.
        if here > 0 && (!tabular || map.missing_required.is_empty()) {
            return Ok(());
        }
        // Another class is named only if it takes most of the columns: one column that happens
        // to share a name (名称, 日期) says nothing of what the file is.
        let columns = headers.iter().filter(|h| !h.trim().is_empty()).count();
        let better = self
            .rules
            .catalog
            .classes
            .iter()
            .filter(|c| c.code != class.code)
            .map(|c| (c, mapped(&map_headers(c, headers))))
            .filter(|(_, n)| *n > here && *n * 2 > columns)
            .max_by_key(|(_, n)| *n)
            .map(|(c, _)| {
                format!(
                    "表头的列与“{}”（信息类代码{}）的数据项相符，请确认报送的信息类；",
                    c.name, c.code
                )
            })
            .unwrap_or_default();
        // A title or an unmerged group row the reader took for the header maps to nothing too.
        let above = if here == 0 && tabular {
            "如表头不在第一行（上方有标题行或未合并的分组行），请删除表头上方的行后重新报送；"
        } else {
            ""
        };
        let what = if here == 0 && !tabular {
            format!("记录的字段中没有一个是“{}”的数据项", class.name)
        } else if here == 0 {
            format!("表头没有一列是“{}”的数据项", class.name)
        } else {
            let names: Vec<&str> = map
                .missing_required
                .iter()
                .filter_map(|&i| class.items.get(i).map(|it| it.name.as_str()))
                .collect();
            format!("表头缺少“{}”的必填数据项：{}", class.name, names.join("、"))
        };
        Err(IngestError::Layout(format!(
            "{what}，整个文件未导入；{better}{above}{}",
            if tabular {
                "请按目录的数据项名称或代码补全表头后重新报送"
            } else {
                "请以目录的数据项代码（如CF_WSH）或名称作为字段名后重新报送"
            }
        )))
    }

    fn read_side<R: Read>(
        &self,
        format: Format,
        input: R,
        unit: &SourceUnit,
        class: &CatalogClass,
        today: chrono::NaiveDate,
        tx: &SyncSender<Result<Msg, IngestError>>,
    ) -> Result<(), IngestError> {
        let closed = || IngestError::Layout("导入已中止".into());
        let raw_chunks: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let sink = raw_chunks.clone();
        let mut tee = Tee::new(input, move |c| sink.borrow_mut().push(c));
        let validator: RefCell<Option<Validator>> = RefCell::new(None);
        let mut rows: Vec<PreparedRow> = Vec::with_capacity(BATCH_ROWS);
        let mut cells: Vec<Vec<String>> = Vec::with_capacity(BATCH_ROWS);
        let mut batch_bytes = 0usize;
        let mut rejected: Vec<Rejection> = Vec::new();
        let seal_all = |chunks: &Rc<RefCell<Vec<Vec<u8>>>>| -> Result<Vec<Vec<u8>>, IngestError> {
            chunks
                .borrow_mut()
                .drain(..)
                .map(|c| seal_chunk(self.keys, &c))
                .collect()
        };
        let tabular = matches!(format, Format::Csv | Format::Xlsx);
        let last_headers: RefCell<Vec<String>> = RefCell::default();
        read_rows(
            format,
            &mut tee,
            &mut |headers, encoding| {
                if headers.len() > crate::source::MAX_COLUMNS {
                    return Err(IngestError::Layout(format!(
                        "列（字段）过多：{}个，最多{}个；请只报送目录规定的数据项",
                        headers.len(),
                        crate::source::MAX_COLUMNS
                    )));
                }
                let map = map_headers(class, headers);
                if validator.borrow().is_none() && tabular {
                    self.refuse_header(format, class, headers, &map)?;
                }
                *last_headers.borrow_mut() = headers.to_vec();
                tx.send(Ok(Msg::Header {
                    headers: headers.to_vec(),
                    codes: map.codes(class),
                    unknown: map.unknown.clone(),
                    encoding: encoding.to_string(),
                }))
                .map_err(|_| closed())?;
                *validator.borrow_mut() = Some(Validator::new(
                    self.rules, class, unit, self.keys, map, today,
                ));
                Ok(())
            },
            &mut |mut raw: RawRow| {
                crate::source::cap_cells(&mut raw);
                batch_bytes += raw.cells.iter().map(String::len).sum::<usize>();
                let v = validator.borrow();
                let v = v
                    .as_ref()
                    .ok_or_else(|| IngestError::Format("缺少表头".into()))?;
                match v.validate(&raw) {
                    Ok(p) => {
                        rows.push(p);
                        cells.push(raw.cells);
                    }
                    Err(problems) => rejected.push(Rejection {
                        row_no: raw.row_no,
                        decided_on: v.decision_date(&raw),
                        problems,
                        raw_sealed: seal_cells(self.keys, &raw.cells)?,
                        decision_key: v.decision_key(&raw),
                        decision_key_otherwise: v.decision_key_otherwise(&raw),
                        refused_decision: true,
                    }),
                }
                if rows.len() + rejected.len() >= BATCH_ROWS || batch_bytes >= BATCH_BYTES {
                    batch_bytes = 0;
                    tx.send(Ok(Msg::Batch {
                        rows: std::mem::replace(&mut rows, Vec::with_capacity(BATCH_ROWS)),
                        cells: std::mem::replace(&mut cells, Vec::with_capacity(BATCH_ROWS)),
                        rejected: std::mem::take(&mut rejected),
                        chunks: seal_all(&raw_chunks)?,
                    }))
                    .map_err(|_| closed())?;
                }
                Ok(())
            },
        )?;
        // JSON: judged on every key its records brought (nothing is committed before Done).
        if !tabular {
            let headers = last_headers.borrow();
            self.refuse_header(format, class, &headers, &map_headers(class, &headers))?;
        }
        tx.send(Ok(Msg::Batch {
            rows,
            cells,
            rejected,
            chunks: seal_all(&raw_chunks)?,
        }))
        .map_err(|_| closed())?;
        let (digest, size) = tee
            .finish()
            .map_err(|e| IngestError::Format(e.to_string()))?;
        let notices = validator
            .borrow()
            .as_ref()
            .map(Validator::notices)
            .unwrap_or_default();
        tx.send(Ok(Msg::Done {
            digest,
            size,
            chunks: seal_all(&raw_chunks)?,
            notices,
        }))
        .map_err(|_| closed())?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn write_side(
        &self,
        rx: &Receiver<Result<Msg, IngestError>>,
        file_name: Option<String>,
        format: Format,
        unit: &SourceUnit,
        class: &CatalogClass,
        opts: &ImportOptions,
        progress: &dyn Fn(u64),
        started: Instant,
        before_commit: &dyn Fn(&Committing) -> Result<(), String>,
    ) -> Result<ImportSummary, IngestError> {
        let key_label: Vec<&str> = class
            .key
            .iter()
            .filter_map(|k| class.item(k).map(|i| i.name.as_str()))
            .collect();
        let key_label = if key_label.is_empty() {
            "同一主体".to_string()
        } else {
            format!("{}、同一主体", key_label.join("、"))
        };
        let mut writer: Option<store::SubmissionWriter<'_>> = None;
        // The decisions this submission reported, per subject: a second row writing the same
        // decision's number otherwise (〔2026〕9231号 and 〔2026〕第09231号) is the same
        // decision twice, not a second penalty (both went in, one record each). Bounded: past
        // it, later rows are not compared (the store still tells a decision filed before).
        let mut decisions: std::collections::HashMap<(String, [u8; 16]), (store::RecordKey, u64)> =
            std::collections::HashMap::new();
        let mut unknown = Vec::new();
        let mut format_name = match format {
            Format::Csv => "csv".to_string(),
            Format::Xlsx => "xlsx".to_string(),
            Format::Json => "json".to_string(),
            Format::JsonLines => "jsonl".to_string(),
        };
        let mut done = 0u64;
        loop {
            let msg = rx.recv().map_err(|_| IngestError::Reader)??;
            match msg {
                Msg::Header {
                    headers,
                    codes,
                    unknown: u,
                    encoding,
                } => {
                    if format == Format::Csv {
                        format_name = format!("csv-{encoding}");
                    }
                    unknown = u;
                    if let Some(w) = writer.as_mut() {
                        // JSON records brought new keys.
                        w.set_headers(&headers, &codes)?;
                        continue;
                    }
                    writer = Some(
                        self.store.begin_submission(
                            &NewSubmission {
                                source_unit: unit.name.clone(),
                                class_code: class.code.clone(),
                                channel: opts.channel,
                                file_name: file_name.clone(),
                                format: format_name.clone(),
                                headers,
                                header_map: codes,
                                actor: opts.actor.clone(),
                                received_at: self.clock.now(),
                                rule_version: self.rules.digest.clone(),
                                feed: unit.is_feed(),
                                feed_units: self
                                    .rules
                                    .units
                                    .units
                                    .iter()
                                    .filter(|u| u.is_feed())
                                    .map(|u| u.name.clone())
                                    .collect(),
                            },
                            Some(unit.division.as_str()),
                        )?,
                    );
                    // Subscribers hear of list entries and of serious penalties (触发式).
                    if let Some(w) = writer.as_mut() {
                        if class.publicity == domain::catalog::PublicityKind::List {
                            w.watch(false);
                        } else if class.publicity == domain::catalog::PublicityKind::Penalty {
                            w.watch(true);
                        }
                    }
                }
                Msg::Batch {
                    rows,
                    cells,
                    mut rejected,
                    chunks,
                } => {
                    let (mut kept, mut kept_cells) = (
                        Vec::with_capacity(rows.len()),
                        Vec::with_capacity(cells.len()),
                    );
                    for (p, c) in rows.into_iter().zip(cells) {
                        // The year bracketed the other way (（2026） for 〔2026〕) is the key
                        // the first row's writing has.
                        let otherwise = p.decision_key_otherwise.and_then(|k| {
                            decisions
                                .get(&(p.subject.key.clone(), k))
                                .filter(|(record, _)| *record != p.record_key)
                                .map(|&(_, row)| row)
                        });
                        let first = otherwise.or_else(|| {
                            p.decision_key.and_then(|k| {
                                let key = (p.subject.key.clone(), k);
                                match decisions.get(&key) {
                                    Some(&(record, row)) if record != p.record_key => Some(row),
                                    Some(_) => None,
                                    None => {
                                        if decisions.len() < DECISIONS_KEPT {
                                            decisions.insert(key, (p.record_key, p.row_no));
                                        }
                                        None
                                    }
                                }
                            })
                        });
                        match first {
                            Some(row) => rejected.push(Rejection {
                                row_no: p.row_no,
                                decided_on: p.decided_on,
                                problems: vec![Problem {
                                    field: String::new(),
                                    name: "整行".into(),
                                    reason: format!(
                                        "与第{row}行是同一主体的同一决定（文书号仅写法不同：年份括号、“第”字或序号前补零），请只保留一行"
                                    ),
                                }],
                                raw_sealed: seal_cells(self.keys, &c)?,
                                decision_key: p.decision_key,
                                decision_key_otherwise: p.decision_key_otherwise,
                                // The decision is in, by the first row.
                                refused_decision: false,
                            }),
                            None => {
                                kept.push(p);
                                kept_cells.push(c);
                            }
                        }
                    }
                    let (rows, cells) = (kept, kept_cells);
                    let w = writer
                        .as_mut()
                        .ok_or_else(|| IngestError::Format("缺少表头".into()))?;
                    for c in &chunks {
                        w.add_chunk(c)?;
                    }
                    let outcomes = w.apply(&rows)?;
                    for ((p, cells), o) in rows.iter().zip(&cells).zip(outcomes) {
                        // A repeat of a row taken from this file: its decision is in.
                        // (An overruled row's decision is in force, corrected.)
                        let refused_decision = !matches!(
                            o,
                            RowOutcome::Duplicate { .. }
                                | RowOutcome::Conflict { .. }
                                | RowOutcome::Overruled { .. }
                        );
                        let misnamed = matches!(o, RowOutcome::NameMismatch);
                        let reason = match o {
                            RowOutcome::Duplicate { first_row } => {
                                format!("与第{first_row}行重复（{key_label}，内容相同）")
                            }
                            RowOutcome::Conflict { first_row } => format!(
                                "与第{first_row}行是同一条记录（{key_label}）但内容不同，请核对后只保留一行"
                            ),
                            RowOutcome::NotOwner { owner } => {
                                format!("该记录已由{owner}报送，只有原报送单位可以更正或撤回")
                            }
                            RowOutcome::Ended(change) => ended_reason(change).to_string(),
                            RowOutcome::Overruled { case_id } => format!(
                                "该记录已在第{case_id}号异议中核实更正（异议成立），本行是更正前的内容，未予采用，现行记录仍为更正后的内容；请在业务系统中同步更正该案件的数据。如确需再次变更，请报送与更正前不同的内容并联系市信用办"
                            ),
                            // The name on file is not told: any unit could learn it by
                            // sending numbers.
                            RowOutcome::NameMismatch => format!(
                                "“{}”与平台登记的该证件号码持有人姓名不一致：证件号码有误会把记录公示在他人名下，请核对证件号码和姓名后重新报送（姓名确已依法变更的，由已报送该人记录的单位以新姓名更正该记录后，即可按新姓名报送）",
                                p.subject.name
                            ),
                            _ => continue,
                        };
                        // The name's item, for a name that does not go with the number.
                        let (field, name) = match misnamed {
                            true => class
                                .item_by_role(domain::catalog::Role::SubjectName)
                                .map(|i| (i.code.clone(), i.name.clone()))
                                .unwrap_or_else(|| (String::new(), "整行".into())),
                            false => (String::new(), "整行".into()),
                        };
                        rejected.push(Rejection {
                            row_no: p.row_no,
                            decided_on: p.decided_on,
                            problems: vec![Problem {
                                field,
                                name,
                                reason,
                            }],
                            raw_sealed: seal_cells(self.keys, cells)?,
                            decision_key: p.decision_key,
                            decision_key_otherwise: p.decision_key_otherwise,
                            refused_decision,
                        });
                    }
                    w.reject(&rejected)?;
                    done += (rows.len() + rejected.len()) as u64;
                    progress(w.counts().rows_read.max(done));
                    failpoint("import-after-batch");
                }
                Msg::Done {
                    digest,
                    size,
                    chunks,
                    notices,
                } => {
                    let mut w =
                        writer.ok_or_else(|| IngestError::Format("文件为空，没有表头".into()))?;
                    for c in &chunks {
                        w.add_chunk(c)?;
                    }
                    // Decisions filed under another subject are judged now that every row is
                    // in (a withdrawal there is a change: the submission is no repeat).
                    w.settle_superseded()?;
                    w.note_reverted_corrections()?;
                    let counts = w.counts();
                    // A file of no rows reports nothing: kept, it would stand in the unit's
                    // batches and figures as a submission (rolled back as `w` drops).
                    if counts.rows_read == 0 {
                        return Err(IngestError::Layout(
                            "没有数据行（文件只有表头，或JSON数组为空），整个文件未导入；请附上要报送的记录后重新报送"
                                .into(),
                        ));
                    }
                    // The same bytes again change nothing, whatever happened since: an old
                    // file sent again (a retry, a system's re-export) used to undo the
                    // corrections later batches made. What it would have changed is said.
                    let same = w.find_same_submission(&digest, &unit.name, &class.code)?;
                    let mut notices = notices;
                    let (submission_id, duplicate_of) = match same {
                        Some(earlier) => {
                            // Records of the earlier batch withdrawn since stay withdrawn: a
                            // nightly re-export or a retry is told so too (the earlier batch's
                            // own notes are on its page, and not said again).
                            notices.extend(w.still_withdrawn_notice());
                            let differ = counts.corrected + counts.created;
                            if differ > 0 {
                                notices.push(format!(
                                    "本文件与报送批次{earlier}完全相同，未重复入库；其中{differ}条记录此后已被更正或变更，本次重报不会恢复原内容；如确需恢复，请修改后重新报送"
                                ));
                            }
                            drop(w); // rolls back: the same bytes again change nothing
                            (None, Some(earlier))
                        }
                        None => {
                            notices.extend(w.notices());
                            w.keep_notes(&notices, &unknown);
                            before_commit(&Committing {
                                submission_id: w.submission_id,
                                source_unit: unit.name.clone(),
                                class: class.name.clone(),
                                rows_read: counts.rows_read,
                                accepted: counts.accepted,
                                rejected: counts.rejected,
                            })
                            .map_err(IngestError::BeforeCommit)?;
                            (Some(w.commit(&digest, size)?.0), None)
                        }
                    };
                    let seconds = started.elapsed().as_secs_f64();
                    return Ok(ImportSummary {
                        submission_id,
                        duplicate_of,
                        left_as_corrected: if duplicate_of.is_some() {
                            counts.corrected + counts.created
                        } else {
                            0
                        },
                        file: file_name,
                        format: format_name,
                        source_unit: unit.name.clone(),
                        class: class.name.clone(),
                        rows_read: counts.rows_read,
                        accepted: counts.accepted,
                        rejected: counts.rejected,
                        unchanged: if duplicate_of.is_some() {
                            counts.accepted
                        } else {
                            counts.unchanged
                        },
                        created: if duplicate_of.is_some() {
                            0
                        } else {
                            counts.created
                        },
                        corrected: if duplicate_of.is_some() {
                            0
                        } else {
                            counts.corrected
                        },
                        linked: counts.linked,
                        suspect: counts.suspect,
                        on_time: counts.on_time,
                        digest,
                        byte_size: size,
                        unknown_columns: unknown,
                        notices,
                        seconds,
                        rows_per_second: counts.rows_read as f64 / seconds.max(1e-9),
                        peak_memory_mib: peak_memory_mib(),
                    });
                }
            }
        }
    }
}
