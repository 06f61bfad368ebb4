//! Readers for the formats source units send. Rows come out as cells of text aligned with the
//! header row; the bytes read are hashed (SM3) and cut into chunks, so the submission is kept
//! exactly as received.

use std::collections::HashMap;
use std::io::{self, BufReader, Read};
use std::path::Path;

use chrono::NaiveDate;
use serde_json::Value;

use crate::IngestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
    /// JSON Lines: one record object per line.
    JsonLines,
}

impl Format {
    /// By file extension; CSV when unknown and the content is text.
    pub fn from_path(path: &Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("xlsx") | Some("xlsm") => Format::Xlsx,
            Some("json") => Format::Json,
            Some("jsonl") | Some("ndjson") => Format::JsonLines,
            _ => Format::Csv,
        }
    }
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" | "text/csv" => Some(Format::Csv),
            "xlsx" | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
                Some(Format::Xlsx)
            }
            "json" | "application/json" => Some(Format::Json),
            "jsonl" | "ndjson" | "application/x-ndjson" | "application/jsonl" => {
                Some(Format::JsonLines)
            }
            _ => None,
        }
    }
}

/// One data row: its number as the source unit sees it (spreadsheet row; JSON array position)
/// and its cells aligned with the header, or a problem reading it.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub row_no: u64,
    pub cells: Vec<String>,
    pub read_error: Option<String>,
    /// Columns whose JSON value was an object or a list (its JSON text is the cell): refused
    /// for a data item, passed over for a key outside the catalog.
    pub nested: Vec<usize>,
    /// Columns whose XLSX cell was a number of more than 15 digits: Excel keeps 15 significant
    /// digits, so an ID number or a code typed into a number cell has lost its last digits.
    pub imprecise: Vec<usize>,
}

/// Marks, inside the XLSX reader, a cell read from a number too long for Excel to hold exactly
/// (taken off before the row leaves the reader, its column noted in `RawRow::imprecise`).
const IMPRECISE: char = '\u{E000}';

/// Columns a submission may have (the catalog's classes have a few dozen items): more is not a
/// department's table, and each new JSON key would otherwise widen every later row.
pub const MAX_COLUMNS: usize = 256;

/// A cell longer than this (the catalog's longest item allows 5,000 characters) is kept cut to
/// this length and its row rejected: one huge cell must not be copied again and again through
/// validation, sealing and the rejected-rows workbook.
pub const MAX_CELL_BYTES: usize = 64 << 10;

/// Cuts cells over [`MAX_CELL_BYTES`] (at a character boundary) and says so in the row's
/// problem; the rest of the row is kept as read.
pub fn cap_cells(raw: &mut RawRow) {
    let mut cut = Vec::new();
    for (i, c) in raw.cells.iter_mut().enumerate() {
        if c.len() > MAX_CELL_BYTES {
            let len = c.len();
            let mut end = MAX_CELL_BYTES;
            while !c.is_char_boundary(end) {
                end -= 1;
            }
            c.truncate(end);
            c.push_str("…（以下省略）");
            cut.push(format!("第{}列（{}字节）", i + 1, len));
        }
    }
    if !cut.is_empty() && raw.read_error.is_none() {
        raw.read_error = Some(format!(
            "单元格内容过长：{}，每格不能超过{}KiB",
            cut.join("、"),
            MAX_CELL_BYTES >> 10
        ));
    }
}

/// What is wrong with a JSON text, in Chinese, with where.
pub fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("第{}行第{}列", e.line(), e.column());
    match e.classify() {
        Category::Eof if e.line() <= 1 && e.column() == 0 => "内容为空".into(),
        Category::Eof => format!("内容在{at}提前结束（JSON不完整）"),
        Category::Syntax => format!("{at}不是有效的JSON语法"),
        Category::Data => {
            format!("{at}的数据类型不符合要求（应为记录对象组成的数组，各字段的值为文本或数字）")
        }
        // The reader's own error (the body cut off, too large, idle too long) says what happened.
        Category::Io => format!("文件未能完整读取：{e}"),
    }
}

/// Bytes of a text file read before its encoding is judged.
const SAMPLE: usize = 64 << 10;

/// Chunk size of the kept copy.
pub const CHUNK: usize = 4 << 20;

/// Wraps the input: every byte read is hashed and collected into chunks handed to `sink`.
pub struct Tee<R, F: FnMut(Vec<u8>)> {
    inner: R,
    hash: crypto::Sm3Stream,
    buf: Vec<u8>,
    size: u64,
    sink: F,
}

impl<R: Read, F: FnMut(Vec<u8>)> Tee<R, F> {
    pub fn new(inner: R, sink: F) -> Self {
        Tee {
            inner,
            hash: crypto::Sm3Stream::new(),
            buf: Vec::with_capacity(CHUNK),
            size: 0,
            sink,
        }
    }
    /// Reads whatever is left (so the digest covers the whole input), flushes the last chunk and
    /// returns (SM3 hex, size).
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        if !self.buf.is_empty() {
            (self.sink)(std::mem::take(&mut self.buf));
        }
        Ok((hex::encode(self.hash.finish()), self.size))
    }
}

impl<R: Read, F: FnMut(Vec<u8>)> Read for Tee<R, F> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.hash.update(&out[..n]);
        self.size += n as u64;
        let mut rest = &out[..n];
        while !rest.is_empty() {
            let take = rest.len().min(CHUNK - self.buf.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == CHUNK {
                (self.sink)(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
            }
        }
        Ok(n)
    }
}

/// What a file read as CSV is when it is no text at all (a PDF, a Word or old Excel file, an
/// image, an archive): said so, rather than "empty, no header".
fn not_text(sample: &[u8]) -> Option<&'static str> {
    const KNOWN: [(&[u8], &str); 7] = [
        (b"%PDF", "PDF文件"),
        (b"\xD0\xCF\x11\xE0", "旧版Office文件（.xls或.doc）"),
        (
            b"PK\x03\x04",
            "压缩格式文件（如.xlsx、.docx、.zip；XLSX请以.xlsx文件名或相应的Content-Type报送）",
        ),
        (b"\x89PNG", "图片"),
        (b"\xFF\xD8\xFF", "图片"),
        (b"Rar!", "压缩包"),
        (b"7z\xBC\xAF", "压缩包"),
    ];
    if let Some((_, kind)) = KNOWN.iter().find(|(magic, _)| sample.starts_with(magic)) {
        return Some(kind);
    }
    // Text has no NUL bytes (UTF-16, which has, is told apart before).
    sample[..sample.len().min(4096)]
        .contains(&0)
        .then_some("二进制文件")
}

/// Whether the text is UTF-16 (Excel's "Unicode text"): its byte-order mark, or a NUL in every
/// other byte of its start, which no CSV in UTF-8 or GB18030 has.
fn utf16(sample: &[u8]) -> bool {
    if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let head = &sample[..sample.len().min(512)];
    head.len() >= 8 && head.iter().filter(|b| **b == 0).count() * 3 >= head.len()
}

/// Whether the bytes are UTF-8 (a character cut at the end of the sample is allowed). A UTF-8
/// file with a stray row in another encoding is still UTF-8: its Chinese text decodes, and the
/// bad row is reported on its own. GB18030 Chinese almost never forms valid UTF-8 sequences, so
/// valid non-ASCII characters outnumbering invalid sequences tenfold decide it.
fn looks_utf8(sample: &[u8]) -> bool {
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) if e.error_len().is_none() && sample.len() - e.valid_up_to() < 4 => true,
        Err(_) => {
            let (mut valid, mut invalid) = (0usize, 0usize);
            for chunk in sample.utf8_chunks() {
                valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
                invalid += usize::from(!chunk.invalid().is_empty());
            }
            valid > 10 * invalid
        }
    }
}

/// Whether a row of a GB18030 file is UTF-8 text instead: valid UTF-8 with at least four
/// characters from U+2E80 on (CJK and full-width forms, three bytes each in UTF-8). GB18030
/// text misread as UTF-8 mostly lands below U+0800 (a lead byte C2–DF and a trail byte 80–BF
/// make a two-byte form: 郑隆 reads as U+05A3 U+00A1); it forms a three-byte one rarely, four of
/// them in a row of valid UTF-8 next to never.
fn is_utf8_text(row: &[u8]) -> bool {
    std::str::from_utf8(row).is_ok_and(|s| s.chars().filter(|c| *c >= '\u{2E80}').count() >= 4)
}

/// Leading rows with at most one cell filled are a title above the header (盐城市…行政处罚信息),
/// not the header; so are rows of a few cells that each give a value after a colon (填报单位：…,
/// 填报日期：…, 单位：万元) — a header names columns, it does not fill them in. Up to this many
/// are passed over.
const MAX_TITLE_ROWS: usize = 5;

fn is_title_row(cells: &[String]) -> bool {
    let filled: Vec<&str> = cells
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    filled.len() <= 1
        || (filled.len() <= 4 && filled.iter().all(|c| fills_in(c) || titles_a_table(c)))
}

/// A line above the table that says its amounts are in 元 (金额单位：元): the platform's amount
/// items are in 万元, so every amount would be read ten thousand times too large.
fn states_yuan(cells: &[String]) -> bool {
    cells.iter().any(|c| {
        let c: String = c.chars().filter(|ch| !ch.is_whitespace()).collect();
        c.match_indices("单位").any(|(at, w)| {
            let rest = c[at + w.len()..].trim_start_matches(['：', ':', '为', '是']);
            rest.starts_with('元') || rest.starts_with("人民币元")
        })
    })
}

/// What a unit is told of a file whose title says its amounts are in 元.
const AMOUNTS_IN_YUAN: &str = "表格上方注明金额单位为元，而平台的金额项（如罚款金额、没收金额）按万元报送：请将金额换算为万元（如30000元填3）、删去或改正该说明后重新报送，以免金额被放大一万倍公示";

/// A cell of the lines above a table: its title (…报送表, …名单), the unit that sends it
/// (…局, …委员会), or the period (2026年12月, 2026年第四季度); no column is named so.
fn titles_a_table(cell: &str) -> bool {
    let c: String = cell.chars().filter(|ch| !ch.is_whitespace()).collect();
    let c = c.trim_end_matches([')', '）']);
    const TITLES: [&str; 8] = ["表", "清单", "名单", "目录", "汇总", "明细", "一览", "台账"];
    const UNITS: [&str; 9] = [
        "局",
        "委员会",
        "办公室",
        "人民政府",
        "人民法院",
        "中心",
        "厅",
        "委",
        "分局",
    ];
    let period = c.contains('年')
        && c.chars().next().is_some_and(|d| d.is_ascii_digit())
        && ["月", "日", "季度", "年度", "半年", "年"]
            .iter()
            .any(|w| c.ends_with(w));
    TITLES.iter().chain(UNITS.iter()).any(|w| c.ends_with(w)) || period
}

/// "填报单位：盐城市生态环境局" gives a value; "罚款金额（单位：万元）" names a column (its colon
/// is inside a note).
fn fills_in(cell: &str) -> bool {
    cell.split_once(['：', ':']).is_some_and(|(label, value)| {
        let open = label.matches(['（', '(']).count();
        let closed = label.matches(['）', ')']).count();
        !value.trim().is_empty() && open == closed
    })
}

/// A row below the data where the table is signed (填报人：张三  联系电话：…  审核人：…): not a
/// record, so not counted as a rejected one.
fn is_signature_row(cells: &[String]) -> bool {
    is_totals_row(cells) || is_signed(cells) || is_note_row(cells) || is_serial_only(cells)
}

/// A note under the table (注：…, 说明：…, 以下空白): no record.
fn is_note_row(cells: &[String]) -> bool {
    let filled: Vec<String> = cells
        .iter()
        .map(|c| {
            c.chars()
                .filter(|ch| !ch.is_whitespace())
                .collect::<String>()
        })
        .filter(|c| !c.is_empty())
        .collect();
    let [first, rest @ ..] = filled.as_slice() else {
        return false;
    };
    let first = first.trim_matches(|c| matches!(c, '(' | ')' | '（' | '）' | '*' | '※'));
    rest.len() <= 1
        && (["以下空白", "以下无数据", "以下无内容", "本页以下空白"].contains(&first)
            || ["注", "说明", "备注", "填表说明", "附注"].iter().any(|w| {
                first
                    .strip_prefix(w)
                    .and_then(|r| {
                        r.trim_start_matches(|c: char| c.is_ascii_digit())
                            .chars()
                            .next()
                    })
                    .is_some_and(|c| matches!(c, '：' | ':' | '、' | '.' | '．'))
            }))
}

/// A numbered line left empty in a form (only its 序号 in the first column): no record.
fn is_serial_only(cells: &[String]) -> bool {
    let mut filled = cells
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.trim().is_empty());
    matches!(
        (filled.next(), filled.next()),
        (Some((0, c)), None) if c.trim().chars().all(|d| d.is_ascii_digit())
    )
}

/// A spreadsheet's totals line (合计, 总计, 小计 in its first columns, sums beside): no record.
fn is_totals_row(cells: &[String]) -> bool {
    cells
        .iter()
        .take(3)
        .map(|c| {
            c.chars()
                .filter(|ch| !ch.is_whitespace() && !matches!(ch, ':' | '：'))
                .collect::<String>()
        })
        .find(|c| !c.is_empty())
        .is_some_and(|c| {
            ["合计", "总计", "小计", "共计", "共"].iter().any(|w| {
                // 合计, or 合计1条 / 合计：12条 / 共计3项 as exported with the count.
                c.strip_prefix(w).is_some_and(|rest| {
                    rest.is_empty()
                        || rest
                            .strip_suffix(['条', '项', '行', '户', '件'])
                            .is_some_and(|n| !n.is_empty() && n.chars().all(|d| d.is_ascii_digit()))
                })
            })
        })
}

/// A line of who filled the sheet in (填报人, 联系电话 …).
fn is_signed(cells: &[String]) -> bool {
    const LABELS: [&str; 9] = [
        "填报人",
        "填表人",
        "制表人",
        "审核人",
        "负责人",
        "联系人",
        "联系电话",
        "填报日期",
        "制表日期",
    ];
    let filled: Vec<&str> = cells
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    !filled.is_empty()
        && filled.len() <= 4
        && filled
            .iter()
            .all(|c| LABELS.iter().any(|l| c.starts_with(l)))
}

/// The encoding of a text file, as the importer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Gb18030,
}

impl TextEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Gb18030 => "gb18030",
        }
    }
}

/// Called with the header cells and the detected encoding (or format) name.
pub type HeaderFn<'a> = dyn FnMut(&[String], &str) -> Result<(), IngestError> + 'a;

/// Streams rows from any supported format, calling `row` for each. `header` is called with the
/// header cells before the first row (for JSON, again whenever the header grows).
pub fn read_rows<R: Read>(
    format: Format,
    input: R,
    header: &mut HeaderFn<'_>,
    row: &mut dyn FnMut(RawRow) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    match format {
        Format::Csv => read_csv(input, header, row),
        Format::Xlsx => read_xlsx(input, header, row),
        Format::Json => read_json(utf8_text(input)?, header, row),
        Format::JsonLines => read_json_lines(utf8_text(input)?, header, row),
    }
}

/// The first 64 KiB of a text file, read whole, and whether it is UTF-8 (a BOM, or valid).
fn sample_of<R: Read>(input: &mut R) -> Result<(Vec<u8>, bool), IngestError> {
    let mut sample = Vec::with_capacity(SAMPLE);
    input
        .take(SAMPLE as u64)
        .read_to_end(&mut sample)
        .map_err(|e| IngestError::Format(format!("文件未能完整读取：{e}")))?;
    let utf8 = sample.starts_with(&[0xEF, 0xBB, 0xBF]) || looks_utf8(&sample);
    Ok((sample, utf8))
}

/// JSON as UTF-8: a file a department's system wrote in GB18030 (GBK) is decoded, judged on its
/// first 64 KiB as CSV is, rather than failing on its first Chinese character.
fn utf8_text<'a, R: Read + 'a>(mut input: R) -> Result<Box<dyn Read + 'a>, IngestError> {
    let (sample, utf8) = sample_of(&mut input)?;
    let input = io::Cursor::new(sample).chain(input);
    Ok(if utf8 {
        Box::new(input)
    } else {
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::GB18030))
                .build(input),
        )
    })
}

fn read_csv<R: Read>(
    input: R,
    header: &mut HeaderFn<'_>,
    row: &mut dyn FnMut(RawRow) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    // The encoding is judged on the first 64 KiB, read whole: a body streamed over HTTP comes a
    // chunk at a time, and its first chunk may hold only an ASCII header.
    let mut input = input;
    let (sample, utf8) = sample_of(&mut input)?;
    if utf16(&sample) {
        return Err(IngestError::Format(
            "文件为UTF-16编码（Excel另存为“Unicode文本”时的编码）：请另存为UTF-8或GB18030编码的CSV后重新报送"
                .into(),
        ));
    }
    if let Some(kind) = not_text(&sample) {
        return Err(IngestError::Format(format!(
            "文件是{kind}，不是CSV、XLSX或JSON：请按报送模板另存为CSV或XLSX后重新报送"
        )));
    }
    let encoding = if utf8 {
        TextEncoding::Utf8
    } else {
        TextEncoding::Gb18030
    };
    let first_line = sample.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let tabs = first_line.iter().filter(|b| **b == b'\t').count();
    let commas = first_line.iter().filter(|b| **b == b',').count();
    let delimiter = if tabs > commas { b'\t' } else { b',' };
    let semicolons = first_line.iter().filter(|b| **b == b';').count();
    let input = BufReader::with_capacity(1 << 20, {
        // A line ends at LF, or at CR alone (Excel for Mac's "CSV (Macintosh)").
        let mut bound = RunBound::new(io::Cursor::new(sample).chain(input), b'\n', MAX_LINE_BYTES);
        bound.also = Some(b'\r');
        bound
    });
    let text: Box<dyn Read> = match encoding {
        TextEncoding::Utf8 => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::UTF_8))
                .bom_override(true)
                .utf8_passthru(true)
                .strip_bom(true)
                .build(input),
        ),
        // Read as bytes and decoded cell by cell below, so that a row in another encoding is
        // seen as such. (GB18030's trail bytes are never a comma, tab, quote or line break, so
        // the CSV reader splits its bytes as it would the decoded text.)
        TextEncoding::Gb18030 => Box::new(input),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(1 << 20)
        .from_reader(text);
    let mut rec = csv::ByteRecord::new();
    let mut headers: Option<Vec<String>> = None;
    // Rows as the unit's spreadsheet numbers them: the reader skips blank lines, so they are
    // counted from where each record starts; a line break inside a quoted cell is one row.
    let mut row_no = 0u64;
    let mut titles = 0;
    loop {
        let before = rdr.position().line();
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                // Lines read for this record: the blank lines skipped before it, its own line,
                // and the line breaks inside its quoted cells.
                let read = rdr.position().line().saturating_sub(before);
                let breaks = rec.iter().flatten().filter(|b| **b == b'\n').count() as u64;
                row_no += 1 + read.saturating_sub(1 + breaks);
            }
            // The input itself failed (a body cut off, or over the size limit): the whole
            // submission fails, nothing of it is kept.
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(IngestError::Format(format!("文件未能完整读取：{e}")));
            }
            Err(e) => {
                // A broken record: report it against the row and go on.
                if headers.is_none() {
                    return Err(IngestError::Format(format!("表头无法读取：{e}")));
                }
                row_no += 1;
                row(RawRow {
                    row_no,
                    cells: Vec::new(),
                    read_error: Some(format!("该行无法解析：{e}")),
                    nested: Vec::new(),
                    imprecise: Vec::new(),
                })?;
                continue;
            }
        }
        // The decoder puts U+FFFD where bytes were not of the file's encoding: such a row is
        // reported, never stored with its text lost. In a GB18030 file, a row written in UTF-8
        // (pasted in from another file) would decode to other, wrong characters without a
        // complaint: it is reported too, its cells kept as UTF-8 so the unit can read them.
        let mut bad_utf8 = false;
        let utf8_row = encoding == TextEncoding::Gb18030 && is_utf8_text(rec.as_slice());
        let mut cells: Vec<String> = rec
            .iter()
            .map(|f| {
                if encoding == TextEncoding::Gb18030 && !utf8_row {
                    return match encoding_rs::GB18030
                        .decode_without_bom_handling_and_without_replacement(f)
                    {
                        Some(s) => s.into_owned(),
                        None => {
                            bad_utf8 = true;
                            encoding_rs::GB18030
                                .decode_without_bom_handling(f)
                                .0
                                .into_owned()
                        }
                    };
                }
                match std::str::from_utf8(f) {
                    Ok(s) => {
                        bad_utf8 |= s.contains('\u{FFFD}');
                        s.to_string()
                    }
                    Err(_) => {
                        bad_utf8 = true;
                        String::from_utf8_lossy(f).into_owned()
                    }
                }
            })
            .collect();
        match &headers {
            None => {
                let h: Vec<String> = cells
                    .iter()
                    .map(|c| c.trim_start_matches('\u{feff}').to_string())
                    .collect();
                if titles < MAX_TITLE_ROWS && is_title_row(&h) {
                    if states_yuan(&h) {
                        return Err(IngestError::Layout(AMOUNTS_IN_YUAN.into()));
                    }
                    titles += 1;
                    continue;
                }
                // A file whose columns are split by semicolons reads as one column: said so,
                // whichever line was taken for the header.
                if let Err(e) = header(&h, encoding.as_str()) {
                    return Err(
                        if h.len() == 1 && semicolons > 0 && semicolons >= commas.max(tabs) {
                            IngestError::Format(SEMICOLONS.into())
                        } else {
                            e
                        },
                    );
                }
                headers = Some(h);
            }
            Some(h) => {
                if cells.iter().all(|c| c.trim().is_empty()) || is_signature_row(&cells) {
                    continue;
                }
                // Empty cells after the last column are a spreadsheet's trailing commas.
                if cells.len() > h.len() && cells[h.len()..].iter().all(|c| c.trim().is_empty()) {
                    cells.truncate(h.len());
                }
                let read_error = if utf8_row {
                    Some(
                        "该行为UTF-8编码，与文件其余各行（GB18030）不一致：请将整个文件统一存为\
                         UTF-8或GB18030后重新报送该行"
                            .to_string(),
                    )
                } else if bad_utf8 {
                    Some("该行含有无法识别的字符（文件编码应为UTF-8或GB18030）".to_string())
                } else if cells.len() != h.len() {
                    Some(format!(
                        "列数与表头不一致：表头{}列，该行{}列",
                        h.len(),
                        cells.len()
                    ))
                } else {
                    None
                };
                row(RawRow {
                    row_no,
                    cells,
                    read_error,
                    nested: Vec::new(),
                    imprecise: Vec::new(),
                })?;
            }
        }
    }
    if headers.is_none() {
        // Lines were read, none a header: say what the file looks like rather than "empty".
        return Err(IngestError::Format(if titles == 0 {
            "文件为空，没有表头".into()
        } else if semicolons > 0 && semicolons >= commas.max(tabs) {
            SEMICOLONS.into()
        } else {
            format!(
                "没有找到表头：文件的{titles}行内容都只有一列，不像表格（报送模板第一行应为列名，如“行政相对人名称”“统一社会信用代码”）；请按报送模板另存为CSV或XLSX后重新报送"
            )
        }));
    }
    Ok(())
}

fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else if f.fract() == 0.0 {
                // What Excel shows of it (15 significant digits, the rest zeros), marked.
                let shown: f64 = format!("{f:.14e}").parse().unwrap_or(*f);
                format!("{IMPRECISE}{shown}")
            } else {
                // As Excel shows it: 15 significant digits, so a formula's 0.1+0.2 reads 0.3,
                // not 0.30000000000000004.
                let shown: f64 = format!("{f:.14e}").parse().unwrap_or(*f);
                format!("{shown}")
            }
        }
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|t| {
                if t.time() == chrono::NaiveTime::MIN {
                    t.date().format("%Y-%m-%d").to_string()
                } else {
                    t.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            })
            .unwrap_or_else(|| dt.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// A header row with group headings, waiting for its sub-headings: its cells, the groups'
/// column spans, its row.
type PendingHeader = (Vec<String>, Vec<(u32, u32)>, u32);

/// The largest a workbook part may expand to: the shared strings and the other parts are held
/// in memory whole when the workbook is opened; a sheet is read cell by cell, but its size still
/// bounds the work. A 1.5 MB file whose shared strings expand to gigabytes is refused before it
/// is opened.
pub const XLSX_PART_MAX: u64 = 256 << 20;
pub const XLSX_SHEET_MAX: u64 = 4 << 30;
/// All parts of a workbook together expand to at most this many times the file (or
/// [`XLSX_TOTAL_FLOOR`]): sheets compress about ten times, blank cells some tens of times; a
/// file that expands a thousand times is made to cost the reader minutes, not to carry rows.
pub const XLSX_RATIO_MAX: u64 = 200;
pub const XLSX_TOTAL_FLOOR: u64 = 64 << 20;

/// What a unit is told of a file whose columns are split by semicolons.
const SEMICOLONS: &str = "没有找到表头：文件各列以分号分隔，平台只识别英文逗号或制表符分隔的CSV；请在Excel中另存为“CSV UTF-8（逗号分隔）”后重新报送";

/// The longest physical line a CSV file may have (a file with no line breaks is not a table,
/// and the reader would hold the whole of it as one row).
pub const MAX_LINE_BYTES: u64 = 16 << 20;
/// The longest run of text between two tags (or tag) in a workbook's XML: far above any cell
/// (Excel's limit is 32,767 characters), far below what would strain memory.
pub const MAX_XML_RUN: u64 = 1 << 20;

/// A reader that fails (`InvalidData`) when more than `max` bytes pass without one of its
/// separators (`sep`, and `also`), so that what a parser holds whole stays bounded.
struct RunBound<R> {
    inner: R,
    sep: u8,
    also: Option<u8>,
    max: u64,
    run: u64,
    limited: bool,
}

impl<R> RunBound<R> {
    fn new(inner: R, sep: u8, max: u64) -> Self {
        RunBound {
            inner,
            sep,
            also: None,
            max,
            run: 0,
            limited: true,
        }
    }
}

impl<R: Read> Read for RunBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.limited {
            return Ok(n);
        }
        let (sep, also) = (self.sep, self.also);
        let is_sep = |b: &u8| *b == sep || Some(*b) == also;
        let got = &buf[..n];
        // Runs wholly inside this chunk are shorter than it; only the one that goes on from the
        // last chunk, and the one left open at its end, need counting — unless the chunk is
        // longer than a run may be, when every run is counted.
        let over = if n as u64 > self.max {
            got.split(is_sep).enumerate().any(|(i, r)| {
                let len = r.len() as u64 + if i == 0 { self.run } else { 0 };
                len > self.max
            })
        } else {
            let first = got.iter().position(is_sep).unwrap_or(n);
            self.run + first as u64 > self.max
        };
        self.run = match got.iter().rposition(is_sep) {
            Some(last) => (n - last - 1) as u64,
            None => self.run + n as u64,
        };
        if over {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "有超过{} MiB的内容没有换行（不是逐行的表格文件，或单元格内容异常）：请按报送模板另存为CSV或XLSX后重新报送",
                    self.max >> 20
                ),
            ));
        }
        Ok(n)
    }
}

/// Expands every part of a workbook into nothing, counting, and refuses the workbook if a part
/// is larger than its limit (`sheet_max` for the worksheets). The sizes a ZIP declares are not
/// trusted: they are what an attacker writes.
pub fn check_xlsx_parts<R: Read + std::io::Seek>(
    mut input: R,
    sheet_max: u64,
) -> Result<(), String> {
    let bad = || {
        "不是有效的XLSX文件（文件已损坏，或不是Excel 2007及以上版本的工作簿；.xls请另存为.xlsx）"
            .to_string()
    };
    let file_len = input
        .seek(std::io::SeekFrom::End(0))
        .and_then(|n| input.rewind().map(|_| n))
        .map_err(|_| bad())?;
    let total_max = file_len
        .saturating_mul(XLSX_RATIO_MAX)
        .max(XLSX_TOTAL_FLOOR);
    let mut total = 0u64;
    let mut z = zip::ZipArchive::new(input).map_err(|_| bad())?;
    for i in 0..z.len() {
        let part = z.by_index(i).map_err(|_| bad())?;
        let name = part.name().map_err(|_| bad())?.to_string();
        let max = if name.starts_with("xl/worksheets/") {
            sheet_max
        } else {
            XLSX_PART_MAX
        };
        // In the XML parts, no run of text between tags (nor a tag) may be longer than a cell
        // can be: the reader holds a run whole, and a few megabytes of zip expand into a
        // gigabyte of one cell or of blanks between two tags.
        // Every part but the known binary ones (pictures, embedded objects): the sheet reader
        // opens whatever part the workbook's relations name, whatever it is called.
        let lower = name.to_ascii_lowercase();
        let binary = lower.starts_with("xl/media/")
            || lower.starts_with("xl/embeddings/")
            || [
                ".bin", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".emf", ".wmf", ".tif", ".tiff",
            ]
            .iter()
            .any(|ext| lower.ends_with(ext));
        // Never more than what is left of the whole workbook's budget.
        let left = total_max.saturating_sub(total);
        let mut bound = RunBound::new(part.take(max.min(left) + 1), b'<', MAX_XML_RUN);
        bound.also = Some(b'>');
        bound.limited = !binary;
        let n = match std::io::copy(&mut bound, &mut std::io::sink()) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(format!(
                    "工作簿的“{name}”部分有一段超过{} MiB的连续内容（Excel单元格最多32767个字符，此文件可能已损坏或被改写）：请检查后重新导出，或另存为CSV后报送",
                    MAX_XML_RUN >> 20
                ));
            }
            Err(_) => return Err(bad()),
        };
        if n > max {
            return Err(format!(
                "工作簿的“{name}”部分解压后超过{} MiB：请删去无关内容、拆分为多个文件，或另存为CSV后报送",
                max >> 20
            ));
        }
        total += n;
        if total > total_max {
            return Err(format!(
                "工作簿解压后的内容超过文件大小的{XLSX_RATIO_MAX}倍（{} MiB），不像正常的表格（可能有大量空白行列，或文件被改写）：请删去多余的空行空列后重新导出，或另存为CSV后报送",
                total_max >> 20
            ));
        }
    }
    Ok(())
}

/// The visible sheets of a workbook, and those of them that hold data (a cell with text in the
/// first [`MAX_COLUMNS`] columns), read cell by cell. A hidden sheet (a code table) is not the
/// unit's rows; several sheets with data (法人 and 自然人 apart, a page of instructions first)
/// are for the caller to refuse by name rather than read in part. The file import and batch
/// review both choose their sheet by it.
pub fn sheets_with_data<RS: Read + std::io::Seek>(
    wb: &mut calamine::Xlsx<RS>,
) -> Result<(Vec<String>, Vec<String>), String> {
    use calamine::Reader;
    let visible: Vec<String> = wb
        .sheets_metadata()
        .iter()
        .filter(|s| s.visible == calamine::SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();
    let mut with_data = Vec::new();
    for name in &visible {
        let unreadable = |e: calamine::XlsxError| format!("工作表“{name}”无法读取：{e}");
        let mut cells = wb.worksheet_cells_reader(name).map_err(unreadable)?;
        while let Some(cell) = cells.next_cell().map_err(unreadable)? {
            if (cell.get_position().1 as usize) < MAX_COLUMNS
                && !cell_text(&calamine::Data::from(cell.get_value().clone())).is_empty()
            {
                with_data.push(name.clone());
                break;
            }
        }
    }
    Ok((visible, with_data))
}

fn read_xlsx<R: Read>(
    mut input: R,
    header: &mut HeaderFn<'_>,
    row: &mut dyn FnMut(RawRow) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    use calamine::Reader;
    // XLSX is a zip, read from its end: the body goes to a temporary file first (memory does
    // not grow with the file), and the sheet is read cell by cell from it, row after row.
    let mut spool =
        tempfile::tempfile().map_err(|e| IngestError::Format(format!("无法建立临时文件：{e}")))?;
    std::io::copy(&mut input, &mut spool)
        .map_err(|e| IngestError::Format(format!("文件未能完整读取：{e}")))?;
    std::io::Seek::rewind(&mut spool)
        .map_err(|e| IngestError::Format(format!("文件未能完整读取：{e}")))?;
    check_xlsx_parts(std::io::BufReader::new(&mut spool), XLSX_SHEET_MAX)
        .map_err(IngestError::Format)?;
    std::io::Seek::rewind(&mut spool)
        .map_err(|e| IngestError::Format(format!("文件未能完整读取：{e}")))?;
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::BufReader::with_capacity(1 << 16, spool)).map_err(|_| {
            IngestError::Format(
                "不是有效的XLSX文件（文件已损坏，或不是Excel 2007及以上版本的工作簿；.xls请另存为.xlsx）"
                    .into(),
            )
        })?;
    let (visible, mut with_data) = sheets_with_data(&mut wb).map_err(IngestError::Format)?;
    if with_data.len() > 1 {
        return Err(IngestError::Format(format!(
            "工作簿有{}个含数据的工作表（{}），一次只能报送一个工作表：请把数据放在同一个工作表中，或将各工作表分别另存为文件报送（填表说明页可删除或隐藏）",
            with_data.len(),
            with_data.join("、")
        )));
    }
    let name = with_data
        .pop()
        .or_else(|| visible.first().cloned())
        .ok_or_else(|| IngestError::Format("XLSX文件没有可见的工作表".into()))?;
    // Merged cells: Excel shows the top-left cell's value over the whole region, and a unit
    // that merges 处罚机关 over four rows means it for each of them. The rows under a merge get
    // that value (data rows only: a merged title stays one cell).
    let merged = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
    let mut merged_by_row: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, m) in merged.iter().enumerate() {
        // A region taller than any sheet is not a unit's merge; it is not spread.
        if m.end.0.saturating_sub(m.start.0) > 100_000 {
            continue;
        }
        for r in m.start.0..=m.end.0 {
            merged_by_row.entry(r).or_default().push(i);
        }
    }
    let mut merged_value: HashMap<usize, String> = HashMap::new();
    let mut cells = wb
        .worksheet_cells_reader(&name)
        .map_err(|e| IngestError::Format(format!("工作表无法读取：{e}")))?;
    // Rows as the sheet numbers them (from 1); a row's cells by column.
    let mut current: Option<(u32, Vec<(u32, String)>)> = None;
    let mut header_width: Option<usize> = None;
    let mut titles = 0usize;
    // A header row with a group heading merged across columns (行政相对人代码 over 统一社会信用代码,
    // 工商注册号, …), waiting for the row of sub-headings below it: (its cells, the groups'
    // column spans, its row).
    let mut pending: Option<PendingHeader> = None;
    let mut finish_header =
        |mut h: Vec<String>, header_width: &mut Option<usize>| -> Result<(), IngestError> {
            // Trailing empty header cells are formatting, not columns.
            let width = h
                .iter()
                .rposition(|c| !c.trim().is_empty())
                .map_or(0, |p| p + 1);
            h.truncate(width);
            header(&h, "xlsx")?;
            *header_width = Some(width);
            Ok(())
        };
    let mut emit = |r: u32,
                    mut row_cells: Vec<(u32, String)>,
                    header_width: &mut Option<usize>,
                    titles: &mut usize,
                    pending: &mut Option<PendingHeader>,
                    merged_value: &HashMap<usize, String>|
     -> Result<(), IngestError> {
        if let Some((mut h, groups, hr)) = pending.take() {
            let under = |c: u32| groups.iter().any(|&(a, b)| (a..=b).contains(&c));
            let subs: Vec<&(u32, String)> = row_cells
                .iter()
                .filter(|(c, t)| under(*c) && !t.trim().is_empty())
                .collect();
            // Sub-headings fill only the columns under a group (the other headings merged down
            // over them, left blank below, or repeated — a sheet unmerged and filled): a heading
            // merged across columns only to widen it, over a row of data, is no group — that
            // row fills other columns too, and is the first record; nor is a single note under
            // a widened heading (a group heads two columns or more).
            let outside = row_cells.iter().any(|(c, t)| {
                !under(*c)
                    && !t.trim().is_empty()
                    && h.get(*c as usize)
                        .is_none_or(|above| above.trim() != t.trim())
            });
            if r == hr + 1 && subs.len() >= 2 && !outside {
                // The sub-headings name the columns under a group; the headings merged down
                // over both rows name the others.
                for (c, t) in subs {
                    let c = *c as usize;
                    if c >= h.len() {
                        h.resize(c + 1, String::new());
                    }
                    h[c] = t.trim_start_matches(IMPRECISE).to_string();
                }
                return finish_header(h, header_width);
            }
            finish_header(h, header_width)?;
        }
        if header_width.is_some()
            && let Some(regions) = merged_by_row.get(&r)
        {
            for i in regions {
                let (m, Some(v)) = (&merged[*i], merged_value.get(i)) else {
                    continue;
                };
                for c in m.start.1..=m.end.1.min(MAX_COLUMNS as u32) {
                    if !row_cells.iter().any(|(cc, _)| *cc == c) {
                        row_cells.push((c, v.clone()));
                    }
                }
            }
        }
        let width_of =
            |cs: &[(u32, String)]| cs.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
        match *header_width {
            None => {
                let mut h = vec![String::new(); width_of(&row_cells)];
                for (c, t) in row_cells {
                    h[c as usize] = t.trim_start_matches(IMPRECISE).to_string();
                }
                if *titles < MAX_TITLE_ROWS && is_title_row(&h) {
                    if states_yuan(&h) {
                        return Err(IngestError::Layout(AMOUNTS_IN_YUAN.into()));
                    }
                    *titles += 1;
                    return Ok(());
                }
                let groups: Vec<(u32, u32)> = merged
                    .iter()
                    .filter(|m| m.start.0 == r && m.end.0 == r && m.end.1 > m.start.1)
                    .map(|m| (m.start.1, m.end.1))
                    .collect();
                if groups.is_empty() {
                    finish_header(h, header_width)?;
                } else {
                    *pending = Some((h, groups, r));
                }
            }
            Some(width) => {
                // A cell right of the header is the unit's too: kept, and the row refused as
                // CSV refuses a row with more cells than its header.
                let beyond = row_cells
                    .iter()
                    .filter(|(c, t)| *c as usize >= width && !t.trim().is_empty())
                    .map(|(c, _)| *c as usize + 1)
                    .max();
                let mut out = vec![String::new(); beyond.unwrap_or(width).max(width)];
                for (c, t) in row_cells {
                    if (c as usize) < out.len() {
                        out[c as usize] = t;
                    }
                }
                if out.iter().all(|c| c.trim().is_empty()) || is_signature_row(&out) {
                    return Ok(());
                }
                let mut imprecise = Vec::new();
                for (i, c) in out.iter_mut().enumerate() {
                    if let Some(digits) = c.strip_prefix(IMPRECISE) {
                        *c = digits.to_string();
                        imprecise.push(i);
                    }
                }
                row(RawRow {
                    row_no: u64::from(r) + 1,
                    cells: out,
                    read_error: beyond
                        .map(|n| format!("列数与表头不一致：表头{width}列，该行第{n}列有内容")),
                    nested: Vec::new(),
                    imprecise,
                })?;
            }
        }
        Ok(())
    };
    loop {
        let cell = cells
            .next_cell()
            .map_err(|e| IngestError::Format(format!("工作表无法读取：{e}")))?;
        let Some(cell) = cell else { break };
        let (r, c) = cell.get_position();
        let text = cell_text(&calamine::Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        if let Some(regions) = merged_by_row.get(&r) {
            for i in regions {
                if merged[*i].start == (r, c) {
                    merged_value.insert(*i, text.clone());
                }
            }
        }
        match &mut current {
            Some((cr, cs)) if *cr == r => cs.push((c, text)),
            _ => {
                if let Some((cr, cs)) = current.take() {
                    emit(
                        cr,
                        cs,
                        &mut header_width,
                        &mut titles,
                        &mut pending,
                        &merged_value,
                    )?;
                }
                current = Some((r, vec![(c, text)]));
            }
        }
    }
    if let Some((cr, cs)) = current.take() {
        emit(
            cr,
            cs,
            &mut header_width,
            &mut titles,
            &mut pending,
            &merged_value,
        )?;
    }
    if let Some((h, _, _)) = pending.take() {
        finish_header(h, &mut header_width)?;
    }
    if header_width.is_none() {
        return Err(IngestError::Format(if titles == 0 {
            "工作表为空，没有表头（如数据在隐藏的工作表中，请取消隐藏或将数据复制到可见的工作表）"
                .into()
        } else {
            format!(
                "没有找到表头：工作表的{titles}行内容都只有一列，不像表格；请按报送模板在第一行填写列名后重新报送"
            )
        }));
    }
    Ok(())
}

/// A JSON number as the sender wrote it (serde_json keeps the literal), an exponent written out
/// exactly: Java's Double.toString and Jackson write 0.0005 as 5.0E-4.
fn number_text(literal: &str) -> String {
    let Some((mantissa, exp)) = literal.split_once(['e', 'E']) else {
        return literal.to_string();
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return literal.to_string();
    };
    if exp.abs() > 40 {
        return literal.to_string();
    }
    let (sign, m) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    let digits = format!("{int}{frac}");
    // Where the decimal point falls in `digits`.
    let point = int.len() as i32 + exp;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    format!("{sign}{text}")
}

fn json_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => number_text(&n.to_string()),
        Value::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        other => other.to_string(),
    }
}

/// The records of a JSON or JSON Lines file as rows. The header is every key seen so far,
/// given again when a record brings a new key (records may leave out empty fields); an element
/// or line that is not a record is rejected on its own, after a header (empty if none yet).
struct Records<'a> {
    header: &'a mut HeaderFn<'a>,
    row: &'a mut dyn FnMut(RawRow) -> Result<(), IngestError>,
    format: &'static str,
    keys: Vec<String>,
    headed: bool,
}

impl Records<'_> {
    fn record(
        &mut self,
        row_no: u64,
        obj: &serde_json::Map<String, Value>,
    ) -> Result<(), IngestError> {
        let before = self.keys.len();
        for k in obj.keys() {
            if !self.keys.contains(k) {
                self.keys.push(k.clone());
            }
        }
        if !self.headed || self.keys.len() != before {
            (self.header)(&self.keys, self.format)?;
            self.headed = true;
        }
        let cells = self
            .keys
            .iter()
            .map(|k| obj.get(k).map(json_text).unwrap_or_default())
            .collect();
        let nested = self
            .keys
            .iter()
            .enumerate()
            // true/false is no name, code or amount either: it was published as 是/否.
            .filter(|(_, k)| {
                obj.get(*k)
                    .is_some_and(|v| v.is_object() || v.is_array() || v.is_boolean())
            })
            .map(|(i, _)| i)
            .collect();
        (self.row)(RawRow {
            row_no,
            cells,
            read_error: None,
            nested,
            imprecise: Vec::new(),
        })
    }

    fn reject(&mut self, row_no: u64, cell: String, why: String) -> Result<(), IngestError> {
        if !self.headed {
            (self.header)(&[], self.format)?;
            self.headed = true;
        }
        (self.row)(RawRow {
            row_no,
            cells: vec![cell],
            read_error: Some(why),
            nested: Vec::new(),
            imprecise: Vec::new(),
        })
    }
}

/// A JSON array of objects (or `{"records": [...]}`, and the wrappers systems put around it:
/// `{"data": {"list": [...]}}`), streamed element by element.
fn read_json<R: Read>(
    input: R,
    header: &mut HeaderFn<'_>,
    row: &mut dyn FnMut(RawRow) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    struct State<'a> {
        records: Records<'a>,
        n: u64,
        error: Option<IngestError>,
    }

    struct Elements<'s, 'a>(&'s mut State<'a>);

    impl<'de> Visitor<'de> for Elements<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(v) = seq.next_element::<Value>()? {
                self.0.n += 1;
                let n = self.0.n;
                let result = match v {
                    Value::Object(o) => self.0.records.record(n, &o),
                    other => {
                        self.0
                            .records
                            .reject(n, other.to_string(), "该条记录不是JSON对象".into())
                    }
                };
                if let Err(e) = result {
                    self.0.error = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut found = false;
            while let Some(k) = map.next_key::<String>()? {
                if !found && matches!(k.as_str(), "records" | "data" | "list" | "rows" | "items") {
                    map.next_value_seed(ElementsSeed(&mut *self.0))?;
                    found = true;
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            if !found {
                return Err(serde::de::Error::custom(
                    "JSON对象中没有记录数组（应为数组，或放在 records、data、list、rows、items 之下）",
                ));
            }
            Ok(())
        }
    }

    struct ElementsSeed<'s, 'a>(&'s mut State<'a>);
    impl<'de> DeserializeSeed<'de> for ElementsSeed<'_, '_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            // An array, or one more wrapper around it ({"data": {"list": [...]}}).
            d.deserialize_any(Elements(self.0))
        }
    }

    let mut state = State {
        records: Records {
            header,
            row,
            format: "json",
            keys: Vec::new(),
            headed: false,
        },
        n: 0,
        error: None,
    };
    // A UTF-8 byte-order mark (as Windows editors write) is passed over, as for CSV.
    let mut input = BufReader::with_capacity(1 << 20, input);
    {
        use std::io::BufRead;
        let head = input
            .fill_buf()
            .map_err(|e| IngestError::Format(format!("文件未能完整读取：{e}")))?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            input.consume(3);
        }
    }
    let mut de = serde_json::Deserializer::from_reader(input);
    let result = de.deserialize_any(Elements(&mut state));
    if let Some(e) = state.error {
        return Err(e);
    }
    result.map_err(|e| IngestError::Format(format!("JSON无法解析：{}", json_error(&e))))?;
    if !state.records.headed {
        (state.records.header)(&[], "json")?;
    }
    Ok(())
}

/// JSON Lines: one record object per line, numbered by its line, read as `read_json` reads an
/// array's elements.
fn read_json_lines<R: Read>(
    input: R,
    header: &mut HeaderFn<'_>,
    row: &mut dyn FnMut(RawRow) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    use std::io::BufRead;
    let mut input = BufReader::with_capacity(1 << 20, input);
    let mut records = Records {
        header,
        row,
        format: "jsonl",
        keys: Vec::new(),
        headed: false,
    };
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| IngestError::Format(format!("文件未能完整读取：{e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let Ok(text) = std::str::from_utf8(&line) else {
            records.reject(
                line_no,
                String::new(),
                "该行含有无法识别的字符（JSON Lines 应为UTF-8编码）".into(),
            )?;
            continue;
        };
        let text = text.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(obj)) if !obj.is_empty() => records.record(line_no, &obj)?,
            Ok(Value::Object(_)) => {
                records.reject(line_no, "{}".into(), "该行没有任何字段".into())?
            }
            Ok(other) => records.reject(line_no, other.to_string(), "该行不是JSON对象".into())?,
            Err(e) => records.reject(
                line_no,
                text.chars().take(200).collect(),
                format!("该行不是有效的JSON：{}", json_error(&e)),
            )?,
        }
    }
    if !records.headed {
        return Err(IngestError::Format("文件为空，没有任何记录".into()));
    }
    Ok(())
}

/// Dates as departments write them: 2026-05-01, 2026/5/1, 20260501, 2026年5月1日 (or 号, with
/// spaces, in full-width digits), 2026.05.01, with an optional time after a space or T.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let folded = domain::text::fold_widths(s.trim());
    let written: String;
    let s = if folded.contains('年') {
        // 2026 年 1 月 5 日 10:00: the spaces are the writer's, the time follows 日 or 号.
        let end = folded
            .find(['日', '号'])
            .map_or(folded.len(), |i| i + '日'.len_utf8());
        written = folded[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        written.as_str()
    } else {
        folded.as_str()
    };
    // A time after the date is dropped, but only when it is one: 2026-11-30 99:99 is not a date.
    // A time with its offset (Z, +0000: a system that writes UTC) is an instant: its day is
    // the day in Beijing (2026-03-04T16:00:00Z is 5 March there).
    let (s, time) = s.split_once(['T', ' ']).unwrap_or((s, ""));
    let offset = match time.trim() {
        "" => None,
        t => Some(time_offset(t)?),
    };
    let day = day_of(s)?;
    match offset.flatten() {
        None => Some(day),
        Some((at, east)) => {
            let beijing = chrono::NaiveDateTime::new(day, at)
                + chrono::Duration::seconds(i64::from(8 * 3600 - east));
            Some(beijing.date())
        }
    }
}

/// The date part of [`parse_date`].
fn day_of(s: &str) -> Option<NaiveDate> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    let norm: String = s
        .chars()
        .map(|c| match c {
            '年' | '月' | '/' | '.' => '-',
            '日' | '号' => ' ',
            other => other,
        })
        .collect();
    let parts: Vec<&str> = norm.trim().split('-').collect();
    if parts.len() != 3 {
        return None;
    }
    let y: i32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let d: u32 = parts[2].trim().parse().ok()?;
    if !(1900..=2200).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// A time of day as written after a date — 10:00, 10:00:00, 10:00:00.000 — and its offset east
/// of UTC in seconds when it has one (Z, +08:00, +0800, -05): None when it is no time; Some(None)
/// for a time without an offset (Beijing's, as written).
fn time_offset(t: &str) -> Option<Option<(chrono::NaiveTime, i32)>> {
    // Java's ZonedDateTime writes its zone's name after the offset: 00:00+08:00[Asia/Shanghai].
    let t = match t.strip_suffix(']').and_then(|x| x.rsplit_once('[')) {
        Some((x, _)) => x,
        None => t,
    };
    let (t, east) = if let Some(t) = t.strip_suffix(['Z', 'z']) {
        (t, Some(0))
    } else {
        match t.rfind(['+', '-']) {
            Some(i) if i > 0 => {
                let sign = if t.as_bytes()[i] == b'-' { -1 } else { 1 };
                // +8, +08, +0800, +08:00, +8:00, +08:00:00.
                let written = &t[i + 1..];
                let parts: Vec<&str> = if written.contains(':') {
                    written.split(':').collect()
                } else if written.len() == 4 {
                    vec![&written[..2], &written[2..]]
                } else {
                    vec![written]
                };
                if parts.is_empty()
                    || parts.len() > 3
                    || parts.iter().any(|p| {
                        p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit())
                    })
                {
                    return None;
                }
                let h: i32 = parts[0].parse().ok()?;
                let m: i32 = parts.get(1).map_or(Ok(0), |p| p.parse()).ok()?;
                if h > 14 || m > 59 {
                    return None;
                }
                (t[..i].trim_end(), Some(sign * (h * 3600 + m * 60)))
            }
            _ => (t, None),
        }
    };
    let at = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveTime::parse_from_str(t, f).ok())?;
    Some(east.map(|e| (at, e)))
}

/// Seals raw bytes for keeping: LZ4 then SM4-GCM, with a one-byte codec tag.
pub fn seal_chunk(keys: &crypto::KeyRing, raw: &[u8]) -> Result<Vec<u8>, IngestError> {
    let packed = lz4_flex::compress_prepend_size(raw);
    let mut out = vec![1u8];
    out.extend(keys.encrypt(&packed)?);
    Ok(out)
}

pub fn open_chunk(keys: &crypto::KeyRing, sealed: &[u8]) -> Result<Vec<u8>, IngestError> {
    match sealed.split_first() {
        Some((1, rest)) => {
            let packed = keys.decrypt(rest)?;
            lz4_flex::decompress_size_prepended(&packed)
                .map_err(|e| IngestError::Format(format!("保存的原件已损坏：{e}")))
        }
        _ => Err(IngestError::Format("保存的原件格式未知".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_in_exponent_form_is_written_out_exactly() {
        for (lit, text) in [
            ("5.0E-4", "0.00050"),
            ("1.5e3", "1500"),
            ("-2.5e-1", "-0.25"),
            ("12e0", "12"),
            ("0.000001", "0.000001"),
            ("123456789012.3456789", "123456789012.3456789"),
            ("1.2345e2", "123.45"),
        ] {
            assert_eq!(number_text(lit), text, "{lit}");
        }
    }

    /// A part is measured by what it expands to, against its limit.
    #[test]
    fn a_workbook_part_larger_than_its_limit_is_refused() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for r in 0..200u32 {
            ws.write_string(r, 0, format!("91320900MA1MB4X50R 第{r}行"))
                .unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        assert!(check_xlsx_parts(std::io::Cursor::new(&bytes), 1 << 30).is_ok());
        let e = check_xlsx_parts(std::io::Cursor::new(&bytes), 1024).unwrap_err();
        assert!(
            e.contains("xl/worksheets/sheet1.xml") && e.contains("另存为CSV"),
            "{e}"
        );
        let e = check_xlsx_parts(std::io::Cursor::new(b"PK\x03\x04 no zip"), 1 << 30).unwrap_err();
        assert!(e.contains("不是有效的XLSX文件"), "{e}");
    }

    /// A few megabytes of zip that expand to one huge run between two tags (one cell of a
    /// gigabyte, or blanks) are refused before the reader holds the run; runs of any real
    /// sheet pass.
    #[test]
    fn a_workbook_with_a_run_longer_than_any_cell_is_refused() {
        use std::io::Write;
        let zipped = |run: usize| {
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let opts = zip::write::SimpleFileOptions::default();
            z.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
            z.write_all(b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>")
                .unwrap();
            z.write_all(&vec![b' '; run]).unwrap();
            z.write_all(b"</t></is></c></row></sheetData></worksheet>")
                .unwrap();
            // A picture's bytes are not XML: not measured so.
            z.start_file("xl/media/image1.png", opts).unwrap();
            z.write_all(&vec![b'x'; 3 << 20]).unwrap();
            z.finish().unwrap().into_inner()
        };
        assert!(check_xlsx_parts(std::io::Cursor::new(zipped(100_000)), 1 << 30).is_ok());
        let big = zipped(3 << 20);
        assert!(big.len() < 100_000, "{}", big.len());
        let e = check_xlsx_parts(std::io::Cursor::new(big), 1 << 30).unwrap_err();
        assert!(
            e.contains("xl/worksheets/sheet1.xml") && e.contains("连续内容"),
            "{e}"
        );
        // Under another name (the relations may point anywhere): the same.
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        z.start_file(
            "xl/worksheets/sheet1.XML",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(&vec![b' '; 3 << 20]).unwrap();
        let renamed = z.finish().unwrap().into_inner();
        let e = check_xlsx_parts(std::io::Cursor::new(renamed), 1 << 30).unwrap_err();
        assert!(e.contains("sheet1.XML") && e.contains("连续内容"), "{e}");
    }

    /// Sheets each under their limit that together expand far beyond the file (a bomb of many
    /// parts) are refused once the whole workbook's budget is spent.
    #[test]
    fn a_workbook_expanding_far_beyond_its_size_is_refused() {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        let chunk = b"<x/>".repeat(1 << 16);
        for sheet in 1..=5 {
            z.start_file(format!("xl/worksheets/sheet{sheet}.xml"), opts)
                .unwrap();
            for _ in 0..64 {
                z.write_all(&chunk).unwrap();
            }
        }
        let bomb = z.finish().unwrap().into_inner();
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let e = check_xlsx_parts(std::io::Cursor::new(bomb), 1 << 30).unwrap_err();
        assert!(e.contains("超过文件大小的200倍"), "{e}");
    }

    /// Lines ended by CR alone (Excel for Mac's "CSV (Macintosh)") are lines: a long file of
    /// them is read, not refused as one line over the bound.
    #[test]
    fn a_file_of_lines_ended_by_cr_alone_is_read_whole() {
        let mut text = String::from("行政相对人名称,罚款金额\r");
        while text.len() < (17 << 20) {
            text.push_str("某公司,1.5\r");
        }
        let mut n = 0u64;
        read_rows(
            Format::Csv,
            text.as_bytes(),
            &mut |_, _| Ok(()),
            &mut |_| {
                n += 1;
                Ok(())
            },
        )
        .unwrap();
        assert!(n > 1_000_000, "{n}");
    }

    /// The bound counts a run across the chunks a reader gives, and within a chunk longer than
    /// the bound; a separator starts the count again.
    #[test]
    fn a_run_is_bounded_across_and_within_chunks() {
        struct Chunks(Vec<Vec<u8>>);
        impl Read for Chunks {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Ok(0);
                }
                let c = self.0.remove(0);
                buf[..c.len()].copy_from_slice(&c);
                Ok(c.len())
            }
        }
        let read = |chunks: Vec<Vec<u8>>| {
            let mut r = RunBound::new(Chunks(chunks), b'\n', 10);
            let mut buf = [0u8; 64];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
        };
        assert!(read(vec![b"aaaa".to_vec(), b"aaaaaa\nbb".to_vec()]).is_ok());
        assert!(read(vec![b"aaaa".to_vec(), b"aaaaaaa\nbb".to_vec()]).is_err());
        assert!(read(vec![b"aaaaaaaa".to_vec(), b"aaaa".to_vec()]).is_err());
        assert!(read(vec![b"a\naaaaaaaaaaaaaaaaaaa\nb".to_vec()]).is_err());
        assert!(read(vec![b"aaaaaaaaa\naaaaaaaaaa\naaaaaaaaaa\n".to_vec()]).is_ok());
        let e = read(vec![vec![b'a'; 11]]).unwrap_err();
        assert!(e.to_string().contains("没有换行"), "{e}");
    }

    fn rows_of(format: Format, bytes: &[u8]) -> (Vec<String>, String, Vec<RawRow>) {
        rows_from(format, bytes)
    }

    fn rows_from(format: Format, input: impl Read) -> (Vec<String>, String, Vec<RawRow>) {
        let mut h = Vec::new();
        let mut enc = String::new();
        let mut rows = Vec::new();
        read_rows(
            format,
            input,
            &mut |hd, e| {
                h = hd.to_vec();
                enc = e.to_string();
                Ok(())
            },
            &mut |r| {
                rows.push(r);
                Ok(())
            },
        )
        .unwrap();
        (h, enc, rows)
    }

    /// A totals line under the rows is the sheet's, not a record: passed over as a signature
    /// line is.
    #[test]
    fn a_totals_line_is_no_record() {
        let text = "行政相对人名称,罚款金额\n某公司,1.5\n合 计,1.5\n总计：,\n";
        let (_, _, rows) = rows_of(Format::Csv, text.as_bytes());
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(!is_totals_row(&["某合计公司".into(), "1".into()]));
    }

    /// Notes under a table, 以下空白, 共N条 and a numbered line left empty are no records;
    /// a company whose name starts with 说明 or 共 is.
    #[test]
    fn notes_and_empty_numbered_lines_are_no_records() {
        let text = "序号,行政相对人名称,罚款金额\n1,某公司,1.5\n2,,\n,以下空白,\n\
                    注：罚款金额以万元为单位。,,\n说明1：本表每周报送,,\n共1条,,\n\
                    3,说明书印刷厂,2\n4,共享单车公司,3\n";
        let (_, _, rows) = rows_of(Format::Csv, text.as_bytes());
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(!is_note_row(&["注册资本".into(), "".into()]));
        assert!(!is_serial_only(&["".into(), "5".into()]));
    }

    /// A file with lines but no header is told what it looks like, not called empty.
    #[test]
    fn a_file_without_a_header_is_told_why() {
        let refused = |text: &str| {
            read_rows(
                Format::Csv,
                text.as_bytes(),
                &mut |_, _| Ok(()),
                &mut |_| Ok(()),
            )
            .unwrap_err()
            .to_string()
        };
        let e = refused(
            "行政相对人名称;统一社会信用代码;处罚决定书文号\n某公司;91320900MA1MB4X50R;盐环罚〔2026〕1号\n",
        );
        assert!(e.contains("分号"), "{e}");
        let long: String = std::iter::once("行政相对人名称;统一社会信用代码\n".to_string())
            .chain((0..10).map(|i| format!("某公司{i};91320900MA1MB4X50R\n")))
            .collect();
        // Past the title rows a line is taken for the header; the catalog refuses it (as the
        // importer's header mapping would), and the unit is told of the semicolons instead.
        let e = read_rows(
            Format::Csv,
            long.as_bytes(),
            &mut |_, _| Err(IngestError::Format("表头没有一列是本类别的数据项".into())),
            &mut |_| Ok(()),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("分号"), "{e}");
        let e = refused("报送说明\n本文件为2026年11月数据\n");
        assert!(e.contains("没有找到表头") && e.contains("2行"), "{e}");
        assert!(refused("").contains("文件为空"));
    }

    #[test]
    fn csv_utf8_with_bom_and_gb18030() {
        let text = "\u{feff}行政相对人名称,CF_WSH\n盐城市建湖某某有限公司,盐市监罚〔2026〕1号\n\n";
        let (h, enc, rows) = rows_of(Format::Csv, text.as_bytes());
        assert_eq!(h, vec!["行政相对人名称", "CF_WSH"]);
        assert_eq!(enc, "utf-8");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].row_no, 2);
        assert_eq!(rows[0].cells[0], "盐城市建湖某某有限公司");
        let (gb, _, _) = encoding_rs::GB18030.encode(&text[3..]);
        let (h, enc, rows) = rows_of(Format::Csv, &gb);
        assert_eq!(enc, "gb18030");
        assert_eq!(h[0], "行政相对人名称");
        assert_eq!(rows[0].cells[1], "盐市监罚〔2026〕1号");
    }

    #[test]
    fn a_utf16_file_is_refused_saying_so() {
        // With its byte-order mark (as Excel writes it), or without one under a header of
        // national codes (a NUL in every other byte).
        for (bom, text) in [
            (
                true,
                "行政相对人名称,CF_WSH\r\n盐城市建湖某某有限公司,盐市监罚〔2026〕1号\r\n",
            ),
            (
                false,
                "CF_XDR_MC,CF_XDR_SHXYM,CF_WSH\r\n某公司,91320900MA1MB4X50R,1号\r\n",
            ),
        ] {
            let mut bytes: Vec<u8> = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
            bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            let e = read_rows(Format::Csv, &bytes[..], &mut |_, _| Ok(()), &mut |_| Ok(()))
                .unwrap_err()
                .to_string();
            assert!(e.contains("UTF-16"), "{bom}: {e}");
        }
    }

    #[test]
    fn a_file_that_is_no_text_is_named_for_what_it_is() {
        for (bytes, says) in [
            (&b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj"[..], "PDF"),
            (&b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"[..], ".xls"),
            (&b"\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR"[..], "图片"),
            (&b"CF_XDR_MC,CF_WSH\n\x00\x01\x02\x03"[..], "二进制"),
        ] {
            let e = read_rows(Format::Csv, bytes, &mut |_, _| Ok(()), &mut |_| Ok(()))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says) && e.contains("不是CSV"), "{says}: {e}");
        }
    }

    /// Gives its bytes a few at a time, as a body streamed over HTTP does.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn gb18030_behind_an_ascii_first_chunk_is_still_gb18030() {
        let text = "CF_XDR_MC,CF_WSH\n盐城市建湖某某有限公司,盐市监罚〔2026〕1号\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let (_, enc, rows) = rows_from(Format::Csv, Trickle(&gb, 7));
        assert_eq!(enc, "gb18030");
        assert_eq!(rows[0].cells[0], "盐城市建湖某某有限公司");
    }

    #[test]
    fn one_stray_gbk_row_does_not_turn_a_utf8_file_to_gb18030() {
        let mut bytes = "名称,文号\n".as_bytes().to_vec();
        for i in 0..20 {
            bytes.extend(format!("盐城市第{i}有限公司,盐市监罚〔2026〕{i}号\n").as_bytes());
        }
        let (gb, _, _) = encoding_rs::GB18030.encode("建湖县某公司,盐市监罚〔2026〕99号\n");
        bytes.extend(gb.iter());
        let (h, enc, rows) = rows_of(Format::Csv, &bytes);
        assert_eq!((enc.as_str(), h[0].as_str()), ("utf-8", "名称"));
        assert_eq!(rows.len(), 21, "{:?}", rows.last());
        assert!(rows[..20].iter().all(|r| r.read_error.is_none()));
        assert!(
            rows[20]
                .read_error
                .as_ref()
                .is_some_and(|e| e.contains("无法识别的字符")),
            "{:?}",
            rows[20]
        );
    }

    #[test]
    fn a_utf8_row_in_a_gb18030_file_is_reported_with_its_text_readable() {
        let mut text = String::from("名称,文号\n");
        for i in 0..20 {
            text.push_str(&format!("盐城市第{i}有限公司,盐市监罚〔2026〕{i}号\n"));
        }
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        let mut bytes = bytes.into_owned();
        bytes.extend("建湖县某公司,盐市监罚〔2026〕99号\n".as_bytes());
        let (gb_tail, _, _) = encoding_rs::GB18030.encode("阜宁县某公司,盐市监罚〔2026〕100号\n");
        bytes.extend(gb_tail.iter());
        let (h, enc, rows) = rows_of(Format::Csv, &bytes);
        assert_eq!((enc.as_str(), h[0].as_str()), ("gb18030", "名称"));
        assert_eq!(rows.len(), 22);
        assert!(rows[..20].iter().all(|r| r.read_error.is_none()));
        assert_eq!(rows[3].cells[0], "盐城市第3有限公司");
        let odd = &rows[20];
        assert!(
            odd.read_error.as_ref().is_some_and(|e| e.contains("UTF-8")),
            "{odd:?}"
        );
        assert_eq!(odd.cells[0], "建湖县某公司");
        // The rows after it are GB18030 again.
        assert!(rows[21].read_error.is_none());
        assert_eq!(rows[21].cells[1], "盐市监罚〔2026〕100号");
        // GB18030 bytes that happen to be valid UTF-8 (郑隆 is D6 A3 C2 A1: U+05A3 U+00A1) stay
        // GB18030.
        let (gb, _, _) = encoding_rs::GB18030.encode("名称,文号\n郑隆郑隆,1\n");
        assert!(std::str::from_utf8(&gb[gb.len() - 11..]).is_ok());
        let (_, _, rows) = rows_of(Format::Csv, &gb);
        assert!(rows[0].read_error.is_none(), "{:?}", rows[0]);
        assert_eq!(rows[0].cells[0], "郑隆郑隆");
    }

    #[test]
    fn a_title_above_the_header_is_passed_over_and_rows_keep_their_numbers() {
        let text = "盐城市生态环境局行政处罚信息\n,,\na,b,c\n1,2,3\n4,5,6,,\n7,8,9,x\n";
        let (h, _, rows) = rows_of(Format::Csv, text.as_bytes());
        assert_eq!(h, vec!["a", "b", "c"]);
        assert_eq!(
            rows.iter().map(|r| r.row_no).collect::<Vec<_>>(),
            vec![4, 5, 6]
        );
        // Trailing empty cells are dropped; a filled one past the header is still an error.
        assert!(rows[1].read_error.is_none());
        assert_eq!(rows[1].cells, vec!["4", "5", "6"]);
        assert!(rows[2].read_error.as_ref().unwrap().contains("列数"));
    }

    #[test]
    fn xlsx_title_row_and_formula_floats_as_excel_shows_them() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "盐城市生态环境局行政处罚信息")
            .unwrap();
        ws.write_string(1, 0, "CF_WSH").unwrap();
        ws.write_string(1, 1, "CF_NR_FK").unwrap();
        ws.write_string(2, 0, "盐环罚〔2026〕1号").unwrap();
        ws.write_number(2, 1, 0.1 + 0.2).unwrap();
        ws.write_number(3, 1, 1234.5678).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let (h, _, rows) = rows_of(Format::Xlsx, &bytes);
        assert_eq!(h, vec!["CF_WSH", "CF_NR_FK"]);
        assert_eq!((rows[0].row_no, rows[0].cells[1].as_str()), (3, "0.3"));
        assert_eq!(
            (rows[1].row_no, rows[1].cells[1].as_str()),
            (4, "1234.5678")
        );
    }

    /// A two-row header as units draw it: a group heading merged across the columns under it,
    /// the other headings merged down over both rows. The sub-headings name their columns, and
    /// the row under them is the first record (not the headings copied down as data).
    #[test]
    fn a_group_heading_over_sub_headings_is_one_header() {
        // The other headings merged down over both rows, only in the first, or repeated in the
        // second (a sheet unmerged and filled): the same header.
        for layout in ["merged down", "blank below", "repeated"] {
            group_heading_case(layout);
        }
    }

    fn group_heading_case(layout: &str) {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let f = rust_xlsxwriter::Format::new();
        ws.merge_range(0, 0, 0, 4, "盐城市生态环境局行政处罚信息", &f)
            .unwrap();
        for (c, h) in [
            (0, "行政相对人名称"),
            (1, "行政相对人类别"),
            (4, "行政处罚决定书文号"),
        ] {
            match layout {
                "merged down" => {
                    ws.merge_range(1, c, 2, c, h, &f).unwrap();
                }
                "repeated" => {
                    ws.write_string(1, c, h).unwrap();
                    ws.write_string(2, c, h).unwrap();
                }
                _ => {
                    ws.write_string(1, c, h).unwrap();
                }
            }
        }
        ws.merge_range(1, 2, 1, 3, "行政相对人代码", &f).unwrap();
        ws.write_string(2, 2, "统一社会信用代码").unwrap();
        ws.write_string(2, 3, "工商注册号").unwrap();
        for (c, v) in [
            "某公司",
            "法人及非法人组织",
            "91320900MA1MB4X50R",
            "",
            "盐环罚〔2026〕1号",
        ]
        .iter()
        .enumerate()
        {
            if !v.is_empty() {
                ws.write_string(3, c as u16, *v).unwrap();
            }
        }
        let bytes = wb.save_to_buffer().unwrap();
        let (h, _, rows) = rows_of(Format::Xlsx, &bytes);
        assert_eq!(
            h,
            vec![
                "行政相对人名称",
                "行政相对人类别",
                "统一社会信用代码",
                "工商注册号",
                "行政处罚决定书文号"
            ]
        );
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (rows[0].row_no, rows[0].cells[2].as_str()),
            (4, "91320900MA1MB4X50R")
        );
    }

    /// A heading merged across two columns only to widen it, over rows of data, is no group
    /// heading: the row under it is the first record, not sub-headings; so is a row with one
    /// note under it.
    #[test]
    fn a_heading_merged_wide_over_data_is_one_row_of_headers() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let f = rust_xlsxwriter::Format::new();
        ws.write_string(0, 0, "CF_WSH").unwrap();
        ws.merge_range(0, 1, 0, 2, "BZ", &f).unwrap();
        ws.write_string(1, 1, "以下数据截至2026年11月30日").unwrap();
        ws.write_string(2, 0, "盐环罚〔2026〕1号").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let (h, _, rows) = rows_of(Format::Xlsx, &bytes);
        assert_eq!(h, vec!["CF_WSH", "BZ"]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        wide_heading_over_data();
    }

    fn wide_heading_over_data() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let f = rust_xlsxwriter::Format::new();
        ws.write_string(0, 0, "CF_WSH").unwrap();
        ws.merge_range(0, 1, 0, 2, "BZ", &f).unwrap();
        for (r, (no, bz)) in [("盐环罚〔2026〕1号", "无"), ("盐环罚〔2026〕2号", "有")]
            .iter()
            .enumerate()
        {
            ws.write_string(r as u32 + 1, 0, *no).unwrap();
            ws.write_string(r as u32 + 1, 1, *bz).unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        let (h, _, rows) = rows_of(Format::Xlsx, &bytes);
        assert_eq!(h, vec!["CF_WSH", "BZ"]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(
            (rows[0].row_no, rows[0].cells[0].as_str()),
            (2, "盐环罚〔2026〕1号")
        );
    }

    /// What units put above and below a table — the unit and date filled in, the amounts'
    /// unit, the signature line — is neither the header nor a record.
    #[test]
    fn fill_in_lines_above_the_header_and_the_signature_below_are_passed_over() {
        let csv = "盐城市生态环境局行政处罚信息表\n\
                   填报单位（盖章）：盐城市生态环境局,,填报日期：2026年12月5日,单位：万元\n\
                   CF_WSH,罚款金额（单位：万元）,CF_JDRQ,CF_CFJG\n\
                   盐环罚〔2026〕1号,0.5,2026-12-01,盐城市生态环境局\n\
                   填报人：张三,,联系电话：0515-88888888,\n";
        let (h, _, rows) = rows_of(Format::Csv, csv.as_bytes());
        assert_eq!(h[0], "CF_WSH");
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!((rows[0].row_no, rows[0].cells[1].as_str()), (4, "0.5"));
        // A header whose notes hold a colon is a header.
        assert!(!is_title_row(&[
            "罚款金额（单位：万元）".to_string(),
            "处罚机关".to_string()
        ]));
        assert!(is_title_row(&[
            "填报单位：盐城市生态环境局".to_string(),
            "单位：万元".to_string()
        ]));
        // A title with the unit of its amounts beside it; the unit and the period.
        assert!(is_title_row(&[
            "盐城市生态环境局行政处罚信息报送表".to_string(),
            String::new(),
            "金额单位：万元".to_string()
        ]));
        assert!(is_title_row(&[
            "盐城市生态环境局".to_string(),
            "2026年12月".to_string()
        ]));
        assert!(!is_title_row(&[
            "行政相对人名称".to_string(),
            "统一社会信用代码".to_string()
        ]));
        // A title that says the amounts are in 元: the file is refused, saying why.
        assert!(states_yuan(&["金额单位：元".to_string()]));
        assert!(states_yuan(&["（单位: 元）".to_string()]));
        assert!(!states_yuan(&["金额单位：万元".to_string()]));
        let e = read_rows(
            Format::Csv,
            "盐城市生态环境局行政处罚信息报送表,,金额单位：元\n行政相对人名称,罚款金额\n某公司,30000\n"
                .as_bytes(),
            &mut |_, _| Ok(()),
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("换算为万元"), "{e}");
    }

    #[test]
    fn a_json_array_starting_with_a_non_object_rejects_that_element_alone() {
        let (h, _, rows) = rows_of(Format::Json, br#"[1, {"a":"x"}]"#);
        assert_eq!(h, vec!["a"]);
        assert!(rows[0].read_error.is_some());
        assert_eq!(
            (rows[1].row_no, rows[1].cells.clone()),
            (2, vec!["x".to_string()])
        );
    }

    #[test]
    fn a_record_with_an_object_or_a_list_for_a_value_is_rejected_naming_the_field() {
        let (_, _, rows) = rows_of(
            Format::Json,
            r#"[{"CF_XDR_MC":{"名称":"乙公司"},"CF_CFLB":["罚款","警告"],"CF_FRDB":true},{"CF_XDR_MC":"甲公司"}]"#
                .as_bytes(),
        );
        // Marked for the validator, which knows which keys are data items.
        assert_eq!(rows[0].nested, vec![0, 1, 2]);
        assert!(rows[1].nested.is_empty());
        assert_eq!(rows[1].cells[0], "甲公司");
    }

    #[test]
    fn json_lines_number_rows_by_line_and_reject_a_bad_line_alone() {
        let text = "{\"a\":\"1\"}\n\n[1]\n{\"a\":2,\"b\":\"x\"}\n{oops\n{}\n";
        let (h, _, rows) = rows_of(Format::JsonLines, text.as_bytes());
        assert_eq!(h, vec!["a", "b"]);
        let got: Vec<(u64, bool)> = rows
            .iter()
            .map(|r| (r.row_no, r.read_error.is_none()))
            .collect();
        assert_eq!(
            got,
            vec![(1, true), (3, false), (4, true), (5, false), (6, false)]
        );
        assert_eq!(rows[2].cells, vec!["2", "x"]);
        assert_eq!(Format::from_path(Path::new("x.JSONL")), Format::JsonLines);
    }

    #[test]
    fn csv_rows_are_numbered_as_the_sheet_numbers_them() {
        let text = "\na,b\n1,2\n\n\n3,4\n\"5\nstill 5\",6\n7,8\n";
        let (_, _, rows) = rows_of(Format::Csv, text.as_bytes());
        let got: Vec<(u64, &str)> = rows
            .iter()
            .map(|r| (r.row_no, r.cells[0].as_str()))
            .collect();
        // A cell with a line break is one row of the sheet.
        assert_eq!(got, vec![(3, "1"), (6, "3"), (7, "5\nstill 5"), (8, "7")]);
    }

    /// Gives `good` and then fails, as a body cut off (or over its limit) does.
    struct Broken<'a>(&'a [u8]);
    impl Read for Broken<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("connection closed"));
            }
            let n = self.0.len().min(out.len()).min(4096);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_csv_body_that_fails_midway_fails_the_whole_file() {
        let mut text = String::from("a,b\n");
        while text.len() < 200_000 {
            text.push_str("1,2\n");
        }
        let mut rows = 0;
        let r = read_rows(
            Format::Csv,
            Broken(text.as_bytes()),
            &mut |_, _| Ok(()),
            &mut |_| {
                rows += 1;
                Ok(())
            },
        );
        let e = r.expect_err("a broken input is not a short file");
        assert!(e.to_string().contains("未能完整读取"), "{e}");
        assert!(
            rows > 0,
            "the rows before the break were read, and will be rolled back"
        );
    }

    #[test]
    fn csv_short_row_is_reported_not_dropped() {
        let (_, _, rows) = rows_of(Format::Csv, b"a,b,c\n1,2\n4,5,6\n");
        assert_eq!(rows.len(), 2);
        assert!(rows[0].read_error.as_ref().unwrap().contains("列数"));
        assert!(rows[1].read_error.is_none());
    }

    #[test]
    fn json_array_and_records_object() {
        let (h, _, rows) = rows_of(
            Format::Json,
            br#"[{"CF_WSH":"x","CF_NR_FK":0.2},{"CF_WSH":"y"}]"#,
        );
        assert_eq!(h, vec!["CF_WSH", "CF_NR_FK"]);
        assert_eq!(rows[0].cells, vec!["x", "0.2"]);
        assert_eq!(rows[1].cells, vec!["y", ""]);
        let (h, _, rows) = rows_of(
            Format::Json,
            br#"{"source":"s","records":[{"a":1},{"a":2,"b":3}]}"#,
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(h, vec!["a", "b"]);
        assert_eq!(rows[0].cells, vec!["1"]);
        assert_eq!(rows[1].cells, vec!["2", "3"]);
        // As systems' interfaces answer: the records one wrapper deeper.
        let (h, _, rows) = rows_of(
            Format::Json,
            br#"{"code":0,"msg":"ok","data":{"total":2,"list":[{"a":1},{"a":2}]}}"#,
        );
        assert_eq!((h, rows.len()), (vec!["a".to_string()], 2));
    }

    #[test]
    fn dates_in_the_forms_departments_use() {
        let d = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        for s in [
            "2026-05-01",
            "2026/5/1",
            "20260501",
            "2026年5月1日",
            "2026.05.01",
            "2026-05-01 10:00:00",
            "２０２６年５月１日",
            "2026 年 5 月 1 日",
            "2026年5月1号",
            "2026年5月1日 10:00",
            "２０２６－０５－０１",
            "2026-05-01T10:00:00.000+08:00",
            "2026-05-01T02:00:00Z",
            "2026-05-01 10:00",
            // An instant a system wrote in UTC (Jackson's default), or another zone: its day in
            // Beijing.
            "2026-04-30T16:00:00Z",
            "2026-04-30T16:00:00.000+0000",
            "2026-04-30T23:30:00+07:30",
            "2026-04-30 11:00:00-05:00",
            "2026-05-01T23:59:59+08:00",
            "2026-05-01T00:00+08:00[Asia/Shanghai]",
            "2026-05-01T10:00:00+8:00",
            "2026-05-01T10:00:00+08:00:00",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(
            parse_date("2026-05-01T16:00:00Z"),
            NaiveDate::from_ymd_opt(2026, 5, 2)
        );
        for s in [
            "2026-02-30",
            "01/05/2026",
            "明天",
            "2026-13-01",
            "2026-05-01 99:99",
            "2026-05-01 上午",
            "2026-05-01T10:00:00+99:00",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn tee_keeps_every_byte() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 10)).map(|i| (i % 251) as u8).collect();
        let mut chunks = Vec::new();
        let mut t = Tee::new(&data[..], |c| chunks.push(c));
        let mut first = [0u8; 100];
        t.read_exact(&mut first).unwrap();
        let (digest, size) = t.finish().unwrap();
        assert_eq!(size as usize, data.len());
        assert_eq!(digest, crypto::sm3_hex(&data));
        assert_eq!(chunks.concat(), data);
    }
}
