//! Batch review (批量审查): a file of up to a million codes for one matter in, a result file out
//! (CSV and XLSX) with one row per input line — verdict, measures, reasons — so that every line
//! is accounted for: invalid codes are reported with why, duplicates point at their first line.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, Utc};
use domain::measures::Verdict;
use domain::record::SubjectKind;
use serde::Serialize;

use crate::check::{CheckError, Checker, subject_of};

pub const MAX_CODES: usize = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("文件超过{MAX_CODES}行，请拆分后分批提交")]
    TooMany,
    #[error("文件中没有代码")]
    Empty,
    #[error("无法读取文件：{0}")]
    Read(String),
    #[error("无法生成结果文件：{0}")]
    Write(String),
    #[error(transparent)]
    Check(#[from] CheckError),
}

/// The codes of a file, with their line numbers (a header line, if any, is skipped). The code
/// column is the first, or the one the header names as a code (a 序号 column before it). A
/// file is taken as XLSX by its content (a ZIP), whatever it was called; CSV in UTF-8 or
/// GB18030 (Excel's own Chinese CSV), read as CSV (a quoted cell may hold a line break).
pub fn read_codes(bytes: &[u8], xlsx: bool) -> Result<Vec<(u64, String)>, BatchError> {
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(BatchError::Read(
            "这是旧版Excel（.xls）文件，请另存为.xlsx或CSV后重新上传".into(),
        ));
    }
    let zip = bytes.starts_with(b"PK\x03\x04");
    if xlsx && !zip {
        return Err(BatchError::Read("不是有效的XLSX文件".into()));
    }
    let mut rows = if zip {
        xlsx_rows(bytes)?
    } else {
        csv_rows(bytes)?
    };
    // Rows with nothing in them at the end are not lines of the file.
    while rows
        .last()
        .is_some_and(|(_, cells)| cells.iter().all(|c| c.is_empty()))
    {
        rows.pop();
    }
    // A header row among the first few (a title may stand above it): a cell that names a code
    // column, and no cell that is itself a code; the code column is the cell that names it
    // best (证件号码 before 证件类型), else the first. Title rows above the header are not lines
    // of codes.
    // The search stops at the first row that holds a code (no header below data). Of the rows
    // above it, a header holds no cell that is data (a line number, a mistyped code: a data line
    // has one, whatever its name column says, 某某编码科技有限公司 say) nor a sentence (a note:
    // 说明：请填写…), and names a code column. The one that names it best is the header
    // (证件号码 before a data line's 身份证), the last of equals (a title stands above it).
    let above: Vec<_> = rows
        .iter()
        .take(MAX_HEADER_ROW)
        .take_while(|(_, cells)| !cells.iter().any(|c| looks_like_code(c)))
        .collect();
    let header = above
        .iter()
        .enumerate()
        .filter(|(_, (_, cells))| !cells.iter().any(|c| data_cell(c) || sentence(c)))
        .filter_map(|(at, (_, cells))| {
            let best = cells.iter().filter_map(|c| header_rank(c)).min()?;
            Some((best, std::cmp::Reverse(at)))
        })
        .min()
        .map(|(_, std::cmp::Reverse(at))| at)
        .map(|at| {
            let column = rows[at]
                .1
                .iter()
                .enumerate()
                .filter_map(|(i, c)| header_rank(c).map(|r| (r, i)))
                .min()
                .map_or(0, |(_, i)| i);
            (at, column)
        });
    // Without a header, the code column is the one where most of the first rows hold a code.
    let guessed = || {
        let mut votes: Vec<usize> = Vec::new();
        for (_, cells) in rows.iter().take(200) {
            for (i, c) in cells.iter().enumerate() {
                if looks_like_code(c) {
                    if votes.len() <= i {
                        votes.resize(i + 1, 0);
                    }
                    votes[i] += 1;
                }
            }
        }
        votes
            .iter()
            .enumerate()
            .max_by_key(|&(i, n)| (*n, std::cmp::Reverse(i)))
            .map_or(0, |(i, _)| i)
    };
    // Other columns the header names as codes outright (统一社会信用代码 beside 身份证号码, a
    // list of organisations and persons): a line whose code column is empty is read from the
    // first of them that holds something. Persons in a column of their own came back 代码为空,
    // unchecked.
    let others: Vec<usize> = header
        .map(|(at, column)| {
            let mut named: Vec<(usize, usize)> = rows[at]
                .1
                .iter()
                .enumerate()
                .filter(|&(i, c)| i != column && !names_someone_else(c))
                .filter_map(|(i, c)| header_rank(c).filter(|&r| r < STRONG_RANKS).map(|r| (r, i)))
                .collect();
            named.sort_unstable();
            named.into_iter().map(|(_, i)| i).collect()
        })
        .unwrap_or_default();
    let (skip, column) = header.map_or_else(|| (0, guessed()), |(at, column)| (at + 1, column));
    let out: Vec<(u64, String)> = rows
        .into_iter()
        .skip(skip)
        .map(|(line, mut cells)| {
            let filled = |i: &usize| cells.get(*i).is_some_and(|c| !placeholder(c));
            let at = if filled(&column) {
                column
            } else {
                others.iter().copied().find(filled).unwrap_or(column)
            };
            let code = if at < cells.len() {
                cells.swap_remove(at)
            } else {
                String::new()
            };
            (line, code)
        })
        .collect();
    if out.is_empty() {
        return Err(BatchError::Empty);
    }
    if out.len() > MAX_CODES {
        return Err(BatchError::TooMany);
    }
    Ok(out)
}

/// A code cell Excel stored as a number: 15 digits or more have lost their last digits (and an
/// ID number's X), so the cell says so instead of standing for a code it is not.
/// Rows searched for a header (a title and a note may stand above it).
const MAX_HEADER_ROW: usize = 5;

/// Columns of a sheet read (the code column may stand well to the right).
const MAX_COLUMNS: usize = 256;

/// A cell that is an 18-character code of the two kinds (letters and digits, digits in front):
/// a data row, never a header.
fn looks_like_code(cell: &str) -> bool {
    let n = domain::ids::normalize(cell);
    n.len() == 18
        && n.bytes().all(|b| b.is_ascii_alphanumeric())
        && n.as_bytes()[0].is_ascii_digit()
}

pub const NUMBER_LOST: &str = "以数值存储，精度已丢失（请将该列设为文本后重新导出）";

/// Largest a batch file's sheet may expand to: a million codes take some 100 MiB of sheet XML.
const BATCH_SHEET_MAX: u64 = 1 << 30;

fn xlsx_rows(bytes: &[u8]) -> Result<Vec<(u64, Vec<String>)>, BatchError> {
    ingest::source::check_xlsx_parts(Cursor::new(bytes), BATCH_SHEET_MAX)
        .map_err(BatchError::Read)?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|_| BatchError::Read("不是有效的XLSX文件（可另存为.xlsx或CSV后重试）".into()))?;
    // The visible sheet that holds data (hidden sheets are not the list), read cell by cell,
    // never as a range: a range spans from the first cell to the last, and a 1.6 KB file with
    // one cell at A1 and one at XFD1048576 asked for 17 billion of them. Several such sheets are
    // refused by name rather than read in part.
    let (_, mut with_data) = ingest::source::sheets_with_data(&mut wb).map_err(BatchError::Read)?;
    if with_data.len() > 1 {
        return Err(BatchError::Read(format!(
            "工作簿有{}个含数据的工作表（{}），请只保留代码所在的一个，或另存为CSV",
            with_data.len(),
            with_data.join("、")
        )));
    }
    let name = with_data.pop().ok_or(BatchError::Empty)?;
    let mut cells = wb
        .worksheet_cells_reader(&name)
        .map_err(|_| BatchError::Read(format!("工作表“{name}”无法读取")))?;
    // The cells by row, as the sheet numbers them (a row out of the sheet's order finds its
    // place); then rows from the first that holds a cell, a row with no cell between two that
    // have one being an empty line of the list (its result says so).
    let mut by_row: std::collections::BTreeMap<u32, Vec<(usize, String)>> = Default::default();
    let mut cells_kept = 0usize;
    while let Some(c) = cells
        .next_cell()
        .map_err(|_| BatchError::Read(format!("工作表“{name}”无法读取")))?
    {
        let (r, col) = c.get_position();
        let col = col as usize;
        let text = match Data::from(c.get_value().clone()) {
            Data::String(s) => s.trim().to_string(),
            Data::Float(f) if f.abs() >= 1e14 => NUMBER_LOST.to_string(),
            Data::Float(f) => format!("{f:.0}"),
            Data::Int(n) => n.to_string(),
            Data::Empty => continue,
            other => other.to_string(),
        };
        if col >= MAX_COLUMNS || text.is_empty() {
            continue;
        }
        cells_kept += 1;
        if by_row.len() > MAX_CODES + 1 {
            return Err(BatchError::TooMany);
        }
        if cells_kept > MAX_CELLS {
            return Err(BatchError::Read(format!(
                "文件有效单元格超过{MAX_CELLS}个：请只保留代码所在的列（及名称等少数几列），或另存为CSV"
            )));
        }
        by_row.entry(r).or_default().push((col, text));
    }
    let (Some(&first), Some(&last)) = (by_row.keys().next(), by_row.keys().next_back()) else {
        return Ok(Vec::new());
    };
    if (last - first) as usize > MAX_CODES + 1 {
        return Err(BatchError::TooMany);
    }
    // A row is as wide as its last cell: the width of all rows together is bounded too (one
    // cell in column IV of every row would make each row 256 cells).
    let width: usize = by_row
        .values()
        .map(|cs| cs.iter().map(|(c, _)| c + 1).max().unwrap_or(0))
        .sum();
    if width > MAX_LAID_OUT {
        return Err(BatchError::Read(
            "文件过宽：请只保留代码所在的列（及名称等少数几列），或另存为CSV".into(),
        ));
    }
    let mut out: Vec<(u64, Vec<String>)> = Vec::with_capacity((last - first) as usize + 1);
    for r in first..=last {
        let mut row = Vec::new();
        if let Some(cs) = by_row.remove(&r) {
            for (col, text) in cs {
                if row.len() <= col {
                    row.resize(col + 1, String::new());
                }
                row[col] = text;
            }
        }
        out.push((u64::from(r) + 1, row));
    }
    Ok(out)
}

/// The most cells a batch file may hold (a million codes with a name and a number beside each
/// are three million), and the most its rows may lay out, blanks to the left of their last cell
/// included (a million rows nine columns wide are nine million).
const MAX_CELLS: usize = 8_000_000;
const MAX_LAID_OUT: usize = 16_000_000;

fn csv_rows(bytes: &[u8]) -> Result<Vec<(u64, Vec<String>)>, BatchError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Text in neither encoding, or with NUL bytes, is no list of codes (a picture, an archive):
    // refused as such, not read as lines of invalid codes.
    let not_text = || {
        BatchError::Read(
            "文件不是CSV文本（UTF-8或GB18030编码）也不是XLSX工作簿：请上传代码清单".into(),
        )
    };
    if bytes.contains(&0) {
        return Err(not_text());
    }
    let text: Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(t) => t.into(),
        Err(_) => match encoding_rs::GB18030.decode(bytes) {
            (_, _, true) => return Err(not_text()),
            (t, _, false) => t,
        },
    };
    // Line ends of every kind, the classic Mac's lone CR included.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    Ok(match split_rows(&text, true) {
        Some(rows) => rows,
        // A quote opened and never closed would swallow the rest of the file: read it again
        // with quotes as plain characters, so that every line stays a line.
        None => split_rows(&text, false).unwrap_or_default(),
    })
}

/// Rows as a spreadsheet shows them, numbered from 1: a line break ends a row unless it is
/// inside a quoted cell; cells are split at commas and tabs outside quotes. `None` when a quote
/// is left open at the end.
fn split_rows(text: &str, quotes: bool) -> Option<Vec<(u64, Vec<String>)>> {
    let mut rows = Vec::new();
    let (mut cells, mut cell) = (Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    // Read without quoting, a stray quote is not part of a code.
    let tidy = |c: String| {
        let t = c.trim();
        if quotes { t } else { t.trim_matches('"') }.to_string()
    };
    let end_row =
        |cells: &mut Vec<String>, cell: &mut String, rows: &mut Vec<(u64, Vec<String>)>| {
            cells.push(tidy(std::mem::take(cell)));
            let n = rows.len() as u64 + 1;
            rows.push((n, std::mem::take(cells)));
        };
    while let Some(c) = chars.next() {
        match c {
            '"' if quotes && quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            // A quote opens a quoted cell only at its start (RFC 4180); inside a cell it is a
            // character (`="9132…"`, Excel's text formula, is then read whole).
            '"' if quotes && quoted => quoted = false,
            '"' if quotes && cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            '\n' if !quoted => end_row(&mut cells, &mut cell, &mut rows),
            ',' | '\t' if !quoted => cells.push(tidy(std::mem::take(&mut cell))),
            other => cell.push(other),
        }
        if rows.len() > MAX_CODES + 1 {
            break;
        }
    }
    if quoted {
        return None;
    }
    if !cell.is_empty() || !cells.is_empty() {
        end_row(&mut cells, &mut cell, &mut rows);
    }
    Some(rows)
}

/// How well a header cell names a code column (lower is better), if it does: no digit, and
/// one of 统一社会信用代码, 证件号码, 身份证号, 纳税人识别号, 主体标识码, code, USCC … in it.
/// A cell that is data, not a column's name: a number (a line number), or one holding a run of
/// six digits or more (a code, mistyped or not). 2026年营业收入 and 代码（18位） are names.
fn data_cell(cell: &str) -> bool {
    let c = cell.trim();
    let number = !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let mut run = 0;
    let long_run = c.bytes().any(|b| {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        run >= 6
    });
    number || long_run
}

/// A cell that is a sentence, not a column's name: a note's punctuation, or longer than a name.
fn sentence(cell: &str) -> bool {
    let c = cell.trim();
    c.chars().count() > 30 || c.contains(['：', ':', '，', '。', '；', ';', '！', '？'])
}

/// A cell that says there is no code (无, 暂无, /, -, —): empty, as forms fill it.
fn placeholder(cell: &str) -> bool {
    matches!(
        cell.trim(),
        "" | "无"
            | "暂无"
            | "空"
            | "/"
            | "／"
            | "-"
            | "－"
            | "—"
            | "——"
            | "\\"
            | "N/A"
            | "n/a"
            | "NA"
    )
}

/// A header naming someone other than the applicant (法定代表人身份证号码, 联系人证件号码): its
/// numbers are not the line's subject, and a line with no code of its own is not read from it
/// (a company without its code was checked as its representative).
fn names_someone_else(cell: &str) -> bool {
    [
        "法定代表人",
        "法人代表",
        "负责人",
        "联系人",
        "代理人",
        "经办人",
        "经营者",
        "投资人",
        "股东",
        "担保人",
        "代表人",
    ]
    .iter()
    .any(|w| cell.contains(w))
}

/// The header words that name a code column outright (统一社会信用代码, 证件号码, 身份证号…):
/// the first of [`header_rank`]'s list.
const STRONG_RANKS: usize = 5;

fn header_rank(cell: &str) -> Option<usize> {
    // A note after the name — 统一社会信用代码（18位） — is not part of it.
    let cell = cell.split(['（', '(']).next().unwrap_or(cell).trim();
    if cell.is_empty() || cell.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let upper = cell.to_uppercase();
    [
        "信用代码",
        "SHXYM",
        "证件号码",
        "身份证号",
        "ZJHM",
        "识别号",
        "号码",
        "代码",
        "USCC",
        "CODE",
        "标识",
        "编码",
        "证件",
        "身份证",
        "ID",
    ]
    .iter()
    .position(|w| upper.contains(w))
}

/// What the platform signs for a kept batch result: the batch, its matter and time, and the SM3
/// of the CSV result, so that a signature names one batch's result and no other. The batch's
/// `signed_message` gives it exactly, for checking with OpenSSL.
pub fn signed_message(
    batch_id: i64,
    matter: &str,
    created_at: DateTime<Utc>,
    digest: &str,
) -> String {
    format!(
        "信用（盐城）批量审查结果\n批次：{batch_id}\n事项：{matter}\n时间：{}\n结果文件SM3：{digest}\n",
        domain::clock::beijing(created_at).format("%Y-%m-%d %H:%M:%S")
    )
}

/// One line of the result.
#[derive(Debug, Clone, Serialize)]
pub struct ResultLine {
    pub line: u64,
    /// The code as given (an ID number masked).
    pub code: Arc<str>,
    pub name: Arc<str>,
    /// 有效, 无效, 重复.
    pub status: &'static str,
    pub verdict: Option<Verdict>,
    /// Shared with the repeats of the same subject (a million-line file is mostly repeats).
    pub measures: Arc<str>,
    pub entries: Arc<str>,
    pub note: String,
    /// The measures' ids (CJ-…), `;` between: what a program reads (the names are for people).
    pub measure_ids: Arc<str>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchFigures {
    pub rows_read: i64,
    pub valid: i64,
    pub invalid: i64,
    pub duplicates: i64,
    /// Codes checked: valid, and of a kind the matter applies to.
    pub checked: i64,
    /// Codes with a punishing, restricting or reviewing verdict.
    pub hits: i64,
    /// Codes with an incentive.
    pub incentives: i64,
}

/// A line that is not a code.
fn invalid(line: u64, code: Arc<str>, note: String) -> Box<ResultLine> {
    Box::new(ResultLine {
        line,
        code,
        name: "".into(),
        status: "无效",
        verdict: None,
        measures: "".into(),
        entries: "".into(),
        note,
        measure_ids: "".into(),
    })
}

/// What became of a line: its own result (a line that is not a code), the index of its subject
/// among those checked (the subject's first line), or a repeat of that subject.
enum Slot {
    Done(Box<ResultLine>),
    First(usize),
    Repeat(usize),
}

/// A reviewed file: one entry per input line, the distinct subjects' results shared by their
/// repeats (a million-line file is mostly repeats; its lines are made as they are written).
pub struct Review {
    rows: Vec<(u64, Slot)>,
    checked: Vec<ResultLine>,
}

impl Review {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The result of the `i`th input line.
    pub fn line(&self, i: usize) -> Cow<'_, ResultLine> {
        let (line, slot) = &self.rows[i];
        match slot {
            Slot::Done(l) => Cow::Borrowed(l),
            Slot::First(c) => Cow::Borrowed(&self.checked[*c]),
            Slot::Repeat(c) => {
                let f = &self.checked[*c];
                Cow::Owned(ResultLine {
                    line: *line,
                    code: f.code.clone(),
                    name: f.name.clone(),
                    status: "重复",
                    verdict: f.verdict,
                    measures: f.measures.clone(),
                    entries: f.entries.clone(),
                    note: format!("与第{}行是同一主体，结论同该行", f.line),
                    measure_ids: f.measure_ids.clone(),
                })
            }
        }
    }
}

/// Checks every line; equal codes are checked once and the repeats point at the first line.
/// Codes are resolved and distinct subjects checked on all cores; the repeats are found in
/// between, in file order, so the first line of a subject is always the one checked.
pub fn review(
    checker: &Checker<'_>,
    codes: &[(u64, String)],
    matter: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(Review, BatchFigures), BatchError> {
    let m = checker
        .rules
        .measures
        .matter(matter)
        .ok_or_else(|| CheckError::UnknownMatter(matter.to_string()))?;
    let resolved = crate::par::map(codes, |(line, code)| {
        if code.is_empty() {
            return Err(invalid(*line, "".into(), "代码为空".into()));
        }
        // A cell Excel held as a number: what it lost is the fault, not the length of this note.
        if code == NUMBER_LOST {
            return Err(invalid(
                *line,
                "".into(),
                format!("代码{NUMBER_LOST}：请按原件重新录入该行代码"),
            ));
        }
        subject_of(code, checker.rules, checker.keys, today).map_err(|e| {
            let (shown, why) = match &e {
                CheckError::BadCode(s, w) => (s.clone(), w.clone()),
                other => (code.clone(), other.to_string()),
            };
            invalid(*line, shown.into(), format!("代码无效：{why}"))
        })
    });
    let mut fig = BatchFigures {
        rows_read: codes.len() as i64,
        ..Default::default()
    };
    let mut first: HashMap<&str, usize, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(codes.len(), Default::default());
    let mut distinct: Vec<(u64, &str, &str, SubjectKind)> = Vec::new();
    let mut slots: Vec<Slot> = Vec::with_capacity(codes.len());
    for ((line, _), r) in codes.iter().zip(&resolved) {
        match r {
            Err(l) => {
                fig.invalid += 1;
                slots.push(Slot::Done(l.clone()));
            }
            Ok((key, shown, kind)) => match first.get(key.as_str()) {
                Some(&i) => {
                    fig.duplicates += 1;
                    slots.push(Slot::Repeat(i));
                }
                None => {
                    fig.valid += 1;
                    first.insert(key, distinct.len());
                    slots.push(Slot::First(distinct.len()));
                    distinct.push((*line, key, shown, *kind));
                }
            },
        }
    }
    drop(first);
    let persons: Vec<&str> = distinct
        .iter()
        .filter(|d| d.3 == SubjectKind::NaturalPerson)
        .map(|d| d.1)
        .collect();
    let persons = checker.names.persons(&persons);
    let checked = crate::par::map(&distinct, |&(line, key, shown, kind)| {
        if !m.subjects.is_empty() && !m.subjects.iter().any(|s| s == kind.as_str()) {
            return ResultLine {
                line,
                code: shown.into(),
                name: "".into(),
                status: "有效",
                verdict: None,
                measures: "".into(),
                entries: "".into(),
                note: format!("事项“{}”不适用于{}", m.name, kind.label()),
                measure_ids: "".into(),
            };
        }
        let mut r = checker.check_key(key, shown, kind, &m.code, today, now);
        if let (false, Some(name)) = (r.subject.known, persons.get(key)) {
            r.subject.known = true;
            r.subject.name.clone_from(name);
        }
        let mut note = Vec::new();
        if !r.subject.known {
            note.push("平台未归集到该主体的信息".to_string());
        }
        if r.entries.iter().any(|e| e.under_objection) {
            note.push("所涉名单信息异议处理中".to_string());
        }
        if !r.suppressed.is_empty() {
            note.push(format!("{}条命中已按例外处理", r.suppressed.len()));
        }
        ResultLine {
            line,
            code: r.subject.code.as_str().into(),
            name: r.subject.name.as_str().into(),
            status: "有效",
            verdict: Some(r.verdict),
            measures: r
                .measures
                .iter()
                .map(|x| format!("{}（{}）", x.name, x.effect_label))
                .collect::<Vec<_>>()
                .join("；")
                .into(),
            entries: r
                .entries
                .iter()
                .map(|e| {
                    format!(
                        "{}{}{}{}",
                        e.list,
                        if e.decision_no.is_empty() {
                            String::new()
                        } else {
                            format!(" {}", e.decision_no)
                        },
                        e.penalty
                            .as_ref()
                            .map(|p| format!("（{}）", crate::index::penalty_basis(p)))
                            .unwrap_or_default(),
                        if e.via == domain::measures::Via::Subject {
                            String::new()
                        } else {
                            format!("（{}）", e.via.label())
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("；")
                .into(),
            note: note.join("；"),
            measure_ids: r
                .measures
                .iter()
                .map(|x| x.id.as_str())
                .collect::<Vec<_>>()
                .join(";")
                .into(),
        }
    });
    // As single checks count them: incentives apart from punishments, and a code the matter
    // does not apply to (no verdict) not checked.
    let count = |f: &dyn Fn(Verdict) -> bool| {
        checked.iter().filter(|l| l.verdict.is_some_and(f)).count() as i64
    };
    fig.checked = count(&|_| true);
    fig.hits = count(&|v| !matches!(v, Verdict::Clear | Verdict::Incentive));
    fig.incentives = count(&|v| v == Verdict::Incentive);
    let rows = codes.iter().map(|(line, _)| *line).zip(slots).collect();
    Ok((Review { rows, checked }, fig))
}

/// The result's columns; the last two for programs: the verdict's code (clear, forbid,
/// restrict, review, supervise, incentive; empty for a line not checked) and the measures' ids.
pub const HEADERS: [&str; 10] = [
    "行号",
    "代码",
    "主体名称",
    "代码校验",
    "核查结论",
    "适用措施",
    "所涉名单",
    "说明",
    "结论代码",
    "措施编号",
];

/// A cell as given, made inert for a spreadsheet: text that begins like a formula (`=`, `+`,
/// `-`, `@`) gets a leading apostrophe, so that opening the result does not run it.
fn inert(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

fn write_line<W: std::io::Write>(w: &mut csv::Writer<W>, l: &ResultLine) -> csv::Result<()> {
    let n = l.line.to_string();
    let verdict = l.verdict.map_or("—", |v| v.label());
    w.write_record([
        n.as_str(),
        &inert(&l.code),
        &l.name,
        l.status,
        verdict,
        &l.measures,
        &l.entries,
        &l.note,
        l.verdict.map_or("", |v| v.as_str()),
        &l.measure_ids,
    ])
}

/// The result as CSV (UTF-8 with a BOM, so that Excel opens it right). This is the file the
/// batch keeps, digests and (for the credit office) signs; the XLSX is rendered from it.
pub fn to_csv(review: &Review) -> Result<Vec<u8>, BatchError> {
    let mut head = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    head.write_record(HEADERS)
        .map_err(|e| BatchError::Write(e.to_string()))?;
    let mut out = head
        .into_inner()
        .map_err(|e| BatchError::Write(e.to_string()))?;
    // Parts of the file written on all cores, then joined in order.
    const PART: usize = 64 * 1024;
    let parts: Vec<std::ops::Range<usize>> = (0..review.len())
        .step_by(PART)
        .map(|a| a..(a + PART).min(review.len()))
        .collect();
    let bodies = crate::par::map(&parts, |part| {
        let mut w = csv::Writer::from_writer(Vec::with_capacity(part.len() * 96));
        for i in part.clone() {
            write_line(&mut w, &review.line(i)).map_err(|e| BatchError::Write(e.to_string()))?;
        }
        w.into_inner().map_err(|e| BatchError::Write(e.to_string()))
    });
    out.reserve(bodies.iter().map(|b| b.as_ref().map_or(0, Vec::len)).sum());
    for b in bodies {
        out.extend_from_slice(&b?);
    }
    Ok(out)
}

/// The kept CSV result as XLSX, a title row above the header (read and written a round of
/// rows at a time, so memory holds the two files and one round).
pub fn csv_to_xlsx(csv_bytes: &[u8], title: &str) -> Result<Vec<u8>, BatchError> {
    use crate::xlsx::{Cell, Sheet, XlsxError};
    let body = csv_bytes
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(csv_bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let headers = rdr
        .headers()
        .map_err(|e| BatchError::Read(e.to_string()))?
        .clone();
    let headers: Vec<&str> = headers.iter().collect();
    crate::xlsx::write(
        &Sheet {
            name: "审查结果",
            title,
            headers: &headers,
            widths: &[8.0, 22.0, 36.0, 10.0, 12.0, 48.0, 40.0, 40.0, 10.0, 24.0],
        },
        |buf: &mut Vec<csv::StringRecord>, max| {
            for _ in 0..max {
                let mut rec = csv::StringRecord::new();
                if !rdr
                    .read_record(&mut rec)
                    .map_err(|e| XlsxError::Read(e.to_string()))?
                {
                    break;
                }
                buf.push(rec);
            }
            Ok(())
        },
        |rec| {
            rec.iter()
                .enumerate()
                .map(|(c, v)| match (c, v.parse::<u64>()) {
                    (0, Ok(n)) => Cell::Number(n),
                    _ => Cell::Text(v),
                })
                .collect()
        },
        crate::par::threads(),
    )
    .map_err(|e| BatchError::Write(e.to_string()))
}

const SEAL_CHUNK: usize = 4 << 20;

/// Seals a file for the store: 4 MiB chunks, each LZ4-compressed and then SM4-encrypted on
/// all cores (a result file can run to hundreds of MB).
pub fn seal(keys: &crypto::KeyRing, data: &[u8]) -> Result<Vec<Vec<u8>>, crypto::CryptoError> {
    let chunks: Vec<&[u8]> = data.chunks(SEAL_CHUNK).collect();
    crate::par::map(&chunks, |c| {
        keys.encrypt(&lz4_flex::compress_prepend_size(c))
    })
    .into_iter()
    .collect()
}

/// Opens sealed chunks (on all cores: each chunk is decrypted and decompressed on its own).
pub fn unseal(keys: &crypto::KeyRing, chunks: &[Vec<u8>]) -> Result<Vec<u8>, crypto::CryptoError> {
    let opened = crate::par::map(chunks, |c| {
        lz4_flex::decompress_size_prepended(&keys.decrypt(c)?)
            .map_err(|_| crypto::CryptoError::Decrypt)
    });
    let mut out = Vec::with_capacity(opened.iter().map(|o| o.as_ref().map_or(0, Vec::len)).sum());
    for o in opened {
        out.extend_from_slice(&o?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{NUMBER_LOST, inert, read_codes};

    #[test]
    fn a_file_that_is_no_text_is_refused_not_read_as_lines() {
        // A picture's bytes: NUL bytes, and sequences GB18030 has no character for.
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x80";
        let e = read_codes(png, false).unwrap_err().to_string();
        assert!(e.contains("不是CSV文本"), "{e}");
        let odd = b"91320900MA1MB4X50R\n\xff\xff\xff\n";
        assert!(read_codes(odd, false).is_err());
    }

    #[test]
    fn files_as_units_save_them_keep_every_line() {
        // Excel's Chinese CSV is GB18030; a 序号 column comes first; a quoted address holds a
        // line break (one row of the sheet, as Excel shows it); a blank line keeps its number.
        let text = "序号,纳税人识别号,地址\n1,91320900MA1MB4X50R,\"盐城市\n某路1号\"\n\n2,91320900MA1MB4X50T,x\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let lines = read_codes(&gb, false).unwrap();
        assert_eq!(
            lines,
            vec![
                (2, "91320900MA1MB4X50R".to_string()),
                (3, String::new()),
                (4, "91320900MA1MB4X50T".to_string()),
            ]
        );
    }

    #[test]
    fn an_xlsx_is_known_by_its_content_and_a_code_stored_as_a_number_says_so() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "身份证号").unwrap();
        ws.write_number(1, 0, 320902198503151234.0).unwrap();
        ws.write_string(2, 0, "91320900MA1MB4X50R").unwrap();
        ws.write_string(9, 0, " ").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        // Sent without a name or type that says XLSX.
        let lines = read_codes(&bytes, false).unwrap();
        assert_eq!(
            lines,
            vec![
                (2, NUMBER_LOST.to_string()),
                (3, "91320900MA1MB4X50R".to_string())
            ],
            "trailing blank rows are not lines"
        );
        assert!(read_codes(b"not a zip", true).is_err());
    }

    /// A cell at the sheet's far corner is not a reason to allocate the rectangle up to it: the
    /// sheet is read cell by cell (a range from A1 to XFD1048576 took the machine's memory).
    #[test]
    fn a_far_corner_cell_does_not_span_the_sheet() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "91320900MA1MB4X50R").unwrap();
        ws.write_string(1_048_575, 16_383, "x").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        assert!(bytes.len() < 10_000);
        assert_eq!(
            read_codes(&bytes, true).unwrap(),
            vec![(1, "91320900MA1MB4X50R".to_string())]
        );
    }

    /// Rows out of the sheet's order keep their lines; a sheet whose rows are widened by a cell
    /// far right is refused as too wide, not laid out in memory.
    #[test]
    fn rows_out_of_order_keep_their_lines_and_a_wide_sheet_is_refused() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "统一社会信用代码").unwrap();
        ws.write_string(1, 0, "91320900MA1MB4X50R").unwrap();
        ws.write_string(2, 0, "91320925MA1N8K2T8X").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        // The sheet's rows written in reverse order, as some exporters do.
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..z.len() {
            let mut f = z.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut text).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                let t = String::from_utf8(text).unwrap();
                let (head, rest) = t.split_once("<sheetData>").unwrap();
                let (data, tail) = rest.split_once("</sheetData>").unwrap();
                let mut rows: Vec<String> = data
                    .split("</row>")
                    .filter(|r| !r.is_empty())
                    .map(|r| format!("{r}</row>"))
                    .collect();
                rows.reverse();
                text = format!("{head}<sheetData>{}</sheetData>{tail}", rows.concat()).into_bytes();
            }
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut out, &text).unwrap();
        }
        let reversed = out.finish().unwrap().into_inner();
        assert_eq!(
            read_codes(&reversed, true).unwrap(),
            vec![
                (2, "91320900MA1MB4X50R".to_string()),
                (3, "91320925MA1N8K2T8X".to_string())
            ]
        );
        // 70,000 rows, each with one cell in column IV: eighteen million cells laid out.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for r in 0..70_000u32 {
            ws.write_string(r, 255, "x").unwrap();
        }
        let wide = wb.save_to_buffer().unwrap();
        let e = read_codes(&wide, true).unwrap_err();
        assert!(e.to_string().contains("文件过宽"), "{e}");
    }

    #[test]
    fn templates_as_offices_make_them_are_read_at_their_code_column() {
        // A title row, then a header whose code column carries a note, and a column named with
        // a year; lines keep the numbers the sheet shows.
        let text = "2026年度评优评先候选单位名单\n序号,企业名称,统一社会信用代码（18位）,2026年营业收入\n1,甲公司,91320900MA1MB4X50R,100\n";
        assert_eq!(
            read_codes(text.as_bytes(), false).unwrap(),
            vec![(3, "91320900MA1MB4X50R".to_string())]
        );
        // A first line with a mistyped code beside a type column is data, not a header: no line
        // is dropped; a one-cell title naming codes is not a header either.
        let text = "身份证,320981199601014567\n身份证,32098119950315123\n";
        assert_eq!(
            read_codes(text.as_bytes(), false).unwrap(),
            vec![
                (1, "320981199601014567".to_string()),
                (2, "32098119950315123".to_string())
            ]
        );
        let text = "拟评优单位统一社会信用代码清单\n序号,单位名称,统一社会信用代码\n1,甲,91320900MA1MB4X50R\n";
        assert_eq!(
            read_codes(text.as_bytes(), false).unwrap(),
            vec![(3, "91320900MA1MB4X50R".to_string())]
        );
        // Excel's text formula is read whole, for the code to be taken out of it.
        let lines = read_codes(b"=\"91320900MA1MB4X50R\"\n", false).unwrap();
        assert_eq!(lines, vec![(1, "=\"91320900MA1MB4X50R\"".to_string())]);
        assert_eq!(domain::ids::normalize(&lines[0].1), "91320900MA1MB4X50R");
        // Line ends of the classic Mac.
        let lines = read_codes(b"91320900MA1MB4X50R\r91320900MA1MB4X50T\r", false).unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        // The old binary Excel format is refused with what to do.
        let e = read_codes(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest", false).unwrap_err();
        assert!(e.to_string().contains("另存为.xlsx或CSV"), "{e}");
        // XLSX: the code column at column T; a hidden sheet is not read.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let old = wb.add_worksheet().set_name("old").unwrap();
        old.write_string(0, 0, "91320900MA1MB4X50T").unwrap();
        old.set_hidden(true);
        let ws = wb.add_worksheet().set_name("当前").unwrap();
        ws.write_string(0, 19, "统一社会信用代码").unwrap();
        ws.write_string(1, 19, "91320900MA1MB4X50R").unwrap();
        ws.set_active(true);
        let bytes = wb.save_to_buffer().unwrap();
        assert_eq!(
            read_codes(&bytes, true).unwrap(),
            vec![(2, "91320900MA1MB4X50R".to_string())]
        );
        // Two sheets with data: refused, naming them, rather than read in part.
        let mut wb = rust_xlsxwriter::Workbook::new();
        for (name, code) in [
            ("第一批", "91320900MA1MB4X50R"),
            ("第二批", "91320900MA1MB4X50T"),
        ] {
            let ws = wb.add_worksheet().set_name(name).unwrap();
            ws.write_string(0, 0, code).unwrap();
        }
        let e = read_codes(&wb.save_to_buffer().unwrap(), true).unwrap_err();
        assert!(e.to_string().contains("第一批、第二批"), "{e}");
    }

    #[test]
    fn a_first_row_with_a_code_in_it_is_not_a_header_and_lines_are_never_swallowed() {
        // No header: a type column named like a header word must not make the row one.
        let lines = read_codes(
            "320902198503151234,身份证,张三\n91320900MA1MB4X50R,x,y\n".as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(lines[0], (1, "320902198503151234".to_string()));
        // 证件号码 is the code column, not 证件类型.
        let lines = read_codes(
            "证件类型,证件号码\n身份证,320902198503151234\n".as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(lines, vec![(2, "320902198503151234".to_string())]);
        // An unclosed quote does not swallow the lines after it; every line keeps its number.
        let lines = read_codes(
            "\"91320900MA1MB4X50R\n91320900MA1MB4X50T\r\n\r\nx\ty".as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(
            lines,
            vec![
                (1, "91320900MA1MB4X50R".to_string()),
                (2, "91320900MA1MB4X50T".to_string()),
                (3, String::new()),
                (4, "x".to_string()),
            ]
        );
        // A last row with other cells filled is a line (its code is empty), not dropped.
        let lines = read_codes("91320900MA1MB4X50R,a\n,某公司\n\n".as_bytes(), false).unwrap();
        assert_eq!(lines.len(), 2);
        // A first line whose code is mistyped (16 digits) but whose type column says 身份证 is a
        // line, not the header; the header above it still names the column.
        let lines = read_codes(
            "姓名,证件类型,证件号码\n张三,身份证,3209251994100585\n李四,身份证,320902198503151234\n"
                .as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(
            lines,
            vec![
                (2, "3209251994100585".to_string()),
                (3, "320902198503151234".to_string())
            ]
        );
        // A first line with its code empty and a company name holding 编码: a line.
        let lines = read_codes(
            "序号,企业名称,统一社会信用代码\n1,盐城市智能编码科技有限公司,\n2,乙公司,91320900MA1MB4X50R\n"
                .as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(
            lines,
            vec![(2, String::new()), (3, "91320900MA1MB4X50R".to_string())]
        );
        // A data line with no digits under a header: the header names the column better.
        let lines = read_codes(
            "姓名,证件号码\n张三,身份证\n李四,320902198503151234\n".as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        // A note naming codes above a header that names its code column less well.
        let lines = read_codes(
            "说明：请填写统一社会信用代码或身份证号码\n企业名称,证件号码\n乙公司,91320900MA1MB4X50R\n"
                .as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(lines, vec![(3, "91320900MA1MB4X50R".to_string())]);
        // A note in two cells above a one-column header.
        let lines = read_codes(
            "说明：,请填写统一社会信用代码\n统一社会信用代码\n91320900MA1MB4X50R\n".as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(lines, vec![(3, "91320900MA1MB4X50R".to_string())]);
        // A title naming codes above the header.
        let lines = read_codes(
            "企业信用代码核查表\n企业名称,统一社会信用代码\n乙公司,91320900MA1MB4X50R\n".as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(lines, vec![(3, "91320900MA1MB4X50R".to_string())]);
    }

    #[test]
    fn a_cell_that_looks_like_a_formula_is_written_inert() {
        assert_eq!(inert("=1+2"), "'=1+2");
        assert_eq!(inert("-2+3"), "'-2+3");
        assert_eq!(inert("91320900MA1MB4X50R"), "91320900MA1MB4X50R");
    }

    #[test]
    fn a_header_is_passed_over_but_a_first_line_that_is_not_one_is_kept() {
        let with_header =
            read_codes("统一社会信用代码\n91320900MA1MB4X50R\n".as_bytes(), false).unwrap();
        assert_eq!(with_header, vec![(2, "91320900MA1MB4X50R".to_string())]);
        let code_header = read_codes(b"code,name\n91320900MA1MB4X50R,x\n", false).unwrap();
        assert_eq!(code_header.len(), 1);
        // No header: a first line without digits is a code to report as invalid, not dropped.
        for first in ["N/A", "无"] {
            let lines =
                read_codes(format!("{first}\n91320900MA1MB4X50R\n").as_bytes(), false).unwrap();
            assert_eq!(lines[0], (1, first.to_string()));
            assert_eq!(lines.len(), 2);
        }
    }
}
