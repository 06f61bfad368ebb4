//! Batch review (批量审查): a file of up to a million codes for one matter in, a result file out
//! (CSV and XLSX) with one row per input line — verdict, measures, reasons — so that every line
//! is accounted for: invalid codes are reported with why, duplicates point at their first line.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, Utc};
use domain::measures::Verdict;
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

/// The codes of a file, with their line numbers (a header line, if any, is skipped).
pub fn read_codes(bytes: &[u8], xlsx: bool) -> Result<Vec<(u64, String)>, BatchError> {
    let mut out = Vec::new();
    if xlsx {
        let mut wb: Xlsx<_> =
            Xlsx::new(Cursor::new(bytes)).map_err(|e| BatchError::Read(e.to_string()))?;
        let name = wb.sheet_names().first().cloned().ok_or(BatchError::Empty)?;
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| BatchError::Read(e.to_string()))?;
        let start = range.start().map_or(0, |(r, _)| r as u64);
        for (i, row) in range.rows().enumerate() {
            let cell = match row.first() {
                Some(Data::String(s)) => s.trim().to_string(),
                Some(Data::Float(f)) => format!("{f:.0}"),
                Some(Data::Int(n)) => n.to_string(),
                Some(Data::Empty) | None => String::new(),
                Some(other) => other.to_string(),
            };
            out.push((start + i as u64 + 1, cell));
            if out.len() > MAX_CODES + 1 {
                return Err(BatchError::TooMany);
            }
        }
    } else {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_start_matches('\u{feff}');
        for (i, line) in text.lines().enumerate() {
            let first = line
                .split([',', '\t'])
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_string();
            out.push((i as u64 + 1, first));
            if out.len() > MAX_CODES + 1 {
                return Err(BatchError::TooMany);
            }
        }
        // A trailing empty line is not a line of the file.
        while out.last().is_some_and(|(_, c)| c.is_empty()) {
            out.pop();
        }
    }
    // A header: a first cell with no digit in it (统一社会信用代码, 代码, code …).
    if out
        .first()
        .is_some_and(|(_, c)| !c.is_empty() && !c.bytes().any(|b| b.is_ascii_digit()))
    {
        out.remove(0);
    }
    if out.is_empty() {
        return Err(BatchError::Empty);
    }
    if out.len() > MAX_CODES {
        return Err(BatchError::TooMany);
    }
    Ok(out)
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
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchFigures {
    pub rows_read: i64,
    pub valid: i64,
    pub invalid: i64,
    pub duplicates: i64,
    pub hits: i64,
}

/// Checks every line; equal codes are checked once and the repeats point at the first line.
pub fn review(
    checker: &Checker<'_>,
    codes: &[(u64, String)],
    matter: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(Vec<ResultLine>, BatchFigures), BatchError> {
    let m = checker
        .rules
        .measures
        .matter(matter)
        .ok_or_else(|| CheckError::UnknownMatter(matter.to_string()))?;
    let mut first: HashMap<String, usize> = HashMap::with_capacity(codes.len());
    let mut lines: Vec<ResultLine> = Vec::with_capacity(codes.len());
    let mut fig = BatchFigures {
        rows_read: codes.len() as i64,
        ..Default::default()
    };
    for (line, code) in codes {
        if code.is_empty() {
            fig.invalid += 1;
            lines.push(ResultLine {
                line: *line,
                code: "".into(),
                name: "".into(),
                status: "无效",
                verdict: None,
                measures: "".into(),
                entries: "".into(),
                note: "代码为空".into(),
            });
            continue;
        }
        let resolved = subject_of(code, checker.rules, checker.keys, today);
        let (key, shown, kind) = match resolved {
            Ok(x) => x,
            Err(e) => {
                fig.invalid += 1;
                let (shown, why) = match &e {
                    CheckError::BadCode(s, w) => (s.clone(), w.clone()),
                    other => (code.clone(), other.to_string()),
                };
                lines.push(ResultLine {
                    line: *line,
                    code: shown.into(),
                    name: "".into(),
                    status: "无效",
                    verdict: None,
                    measures: "".into(),
                    entries: "".into(),
                    note: format!("代码无效：{why}"),
                });
                continue;
            }
        };
        if let Some(&i) = first.get(&key) {
            fig.duplicates += 1;
            let f = &lines[i];
            let mut l = f.clone();
            l.line = *line;
            l.status = "重复";
            l.note = format!("与第{}行是同一主体，结论同该行", f.line);
            lines.push(l);
            continue;
        }
        fig.valid += 1;
        if !m.subjects.is_empty() && !m.subjects.iter().any(|s| s == kind.as_str()) {
            first.insert(key, lines.len());
            lines.push(ResultLine {
                line: *line,
                code: shown.into(),
                name: "".into(),
                status: "有效",
                verdict: None,
                measures: "".into(),
                entries: "".into(),
                note: format!("事项“{}”不适用于{}", m.name, kind.label()),
            });
            continue;
        }
        let r = checker.check_key(&key, &shown, kind, &m.code, today, now);
        if r.verdict != Verdict::Clear {
            fig.hits += 1;
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
        first.insert(key, lines.len());
        lines.push(ResultLine {
            line: *line,
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
                        "{}{}{}",
                        e.list,
                        if e.decision_no.is_empty() {
                            String::new()
                        } else {
                            format!(" {}", e.decision_no)
                        },
                        if e.via == domain::measures::Via::LegalRep {
                            "（法定代表人）"
                        } else {
                            ""
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("；")
                .into(),
            note: note.join("；"),
        });
    }
    Ok((lines, fig))
}

pub const HEADERS: [&str; 8] = [
    "行号",
    "代码",
    "主体名称",
    "代码校验",
    "核查结论",
    "适用措施",
    "所涉名单",
    "说明",
];

fn write_line<W: std::io::Write>(w: &mut csv::Writer<W>, l: &ResultLine) -> csv::Result<()> {
    let n = l.line.to_string();
    let verdict = l.verdict.map_or("—", |v| v.label());
    w.write_record([
        n.as_str(),
        &l.code,
        &l.name,
        l.status,
        verdict,
        &l.measures,
        &l.entries,
        &l.note,
    ])
}

/// The result as CSV (UTF-8 with a BOM, so that Excel opens it right). This is the file the
/// batch keeps, digests and (for the credit office) signs; the XLSX is rendered from it.
pub fn to_csv(lines: &[ResultLine]) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::with_capacity(lines.len() * 64);
    out.extend_from_slice("\u{feff}".as_bytes());
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADERS)
        .map_err(|e| BatchError::Write(e.to_string()))?;
    for l in lines {
        write_line(&mut w, l).map_err(|e| BatchError::Write(e.to_string()))?;
    }
    w.into_inner().map_err(|e| BatchError::Write(e.to_string()))
}

/// The kept CSV result as XLSX, a title row above the header (rows written as they go, so
/// memory holds one row at a time besides the two files).
pub fn csv_to_xlsx(csv_bytes: &[u8], title: &str) -> Result<Vec<u8>, BatchError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| BatchError::Write(e.to_string());
    let body = csv_bytes
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(csv_bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let mut wb = Workbook::new();
    // The fastest deflate level: a result of a million rows saves in about half the time of the
    // default level (measured: 3 s instead of 5.5 s), for a file of 71 MiB instead of 49 MiB.
    wb.set_zip_compression_level(1);
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet_with_constant_memory().map_err(err)?;
    ws.set_name("审查结果").map_err(err)?;
    ws.write_string_with_format(0, 0, title, &bold)
        .map_err(err)?;
    let headers = rdr
        .headers()
        .map_err(|e| BatchError::Read(e.to_string()))?
        .clone();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, h, &bold)
            .map_err(err)?;
    }
    let mut rec = csv::StringRecord::new();
    let mut row = 2u32;
    while rdr
        .read_record(&mut rec)
        .map_err(|e| BatchError::Read(e.to_string()))?
    {
        for (c, v) in rec.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            match (c, v.parse::<f64>()) {
                (0, Ok(n)) => ws.write_number(row, 0, n).map_err(err)?,
                _ => ws.write_string(row, c as u16, v).map_err(err)?,
            };
        }
        row += 1;
    }
    wb.save_to_buffer().map_err(err)
}

const SEAL_CHUNK: usize = 4 << 20;

/// Seals a file for the store: 4 MiB chunks, each LZ4-compressed and then SM4-encrypted, the
/// chunks shared between two threads (a result file can run to hundreds of MB).
pub fn seal(keys: &crypto::KeyRing, data: &[u8]) -> Result<Vec<Vec<u8>>, crypto::CryptoError> {
    let chunks: Vec<&[u8]> = data.chunks(SEAL_CHUNK).collect();
    let one = |c: &[u8]| keys.encrypt(&lz4_flex::compress_prepend_size(c));
    let half = chunks.len().div_ceil(2);
    let (a, b) = chunks.split_at(half);
    let (ra, rb) = std::thread::scope(|s| {
        let t = s.spawn(|| b.iter().map(|c| one(c)).collect::<Result<Vec<_>, _>>());
        let ra = a.iter().map(|c| one(c)).collect::<Result<Vec<_>, _>>();
        (ra, t.join())
    });
    let mut out = ra?;
    out.extend(rb.map_err(|_| crypto::CryptoError::Decrypt)??);
    Ok(out)
}

/// Opens sealed chunks.
pub fn unseal(keys: &crypto::KeyRing, chunks: &[Vec<u8>]) -> Result<Vec<u8>, crypto::CryptoError> {
    let mut out = Vec::new();
    for c in chunks {
        let packed = keys.decrypt(c)?;
        out.extend(
            lz4_flex::decompress_size_prepended(&packed)
                .map_err(|_| crypto::CryptoError::Decrypt)?,
        );
    }
    Ok(out)
}
