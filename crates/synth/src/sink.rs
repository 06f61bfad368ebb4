//! Writers for the generated files, in the formats departments send: CSV (UTF-8 or GB18030),
//! XLSX and JSON.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::SynthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Csv,
    CsvGb18030,
    Xlsx,
    Json,
}

impl OutFormat {
    pub fn parse(s: &str) -> Option<OutFormat> {
        match s {
            "csv" | "csv-utf8" => Some(OutFormat::Csv),
            "gb18030" | "csv-gb18030" => Some(OutFormat::CsvGb18030),
            "xlsx" => Some(OutFormat::Xlsx),
            "json" => Some(OutFormat::Json),
            _ => None,
        }
    }
    pub fn ext(self) -> &'static str {
        match self {
            OutFormat::Csv | OutFormat::CsvGb18030 => "csv",
            OutFormat::Xlsx => "xlsx",
            OutFormat::Json => "json",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            OutFormat::Csv => "csv",
            OutFormat::CsvGb18030 => "csv-gb18030",
            OutFormat::Xlsx => "xlsx",
            OutFormat::Json => "json",
        }
    }
}

pub trait Sink {
    fn row(&mut self, cells: &[String]) -> Result<(), SynthError>;
    fn finish(self: Box<Self>) -> Result<(), SynthError>;
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SynthError + '_ {
    move |e| SynthError::Io(format!("{}: {e}", path.display()))
}

struct CsvSink {
    w: csv::Writer<BufWriter<File>>,
}

impl Sink for CsvSink {
    fn row(&mut self, cells: &[String]) -> Result<(), SynthError> {
        self.w
            .write_record(cells)
            .map_err(|e| SynthError::Io(e.to_string()))
    }
    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        self.w.flush().map_err(|e| SynthError::Io(e.to_string()))
    }
}

/// Transcodes UTF-8 written to it into GB18030, as many department systems still export.
struct Gb18030<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Write for Gb18030<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = std::str::from_utf8(&self.pending[..valid]).unwrap_or_default();
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        self.inner.write_all(&bytes)?;
        self.pending.drain(..valid);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct GbSink {
    w: csv::Writer<Gb18030<BufWriter<File>>>,
}

impl Sink for GbSink {
    fn row(&mut self, cells: &[String]) -> Result<(), SynthError> {
        self.w
            .write_record(cells)
            .map_err(|e| SynthError::Io(e.to_string()))
    }
    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        self.w.flush().map_err(|e| SynthError::Io(e.to_string()))
    }
}

struct XlsxSink {
    wb: rust_xlsxwriter::Workbook,
    row: u32,
    path: std::path::PathBuf,
}

fn xe(e: rust_xlsxwriter::XlsxError) -> SynthError {
    SynthError::Io(e.to_string())
}

impl Sink for XlsxSink {
    fn row(&mut self, cells: &[String]) -> Result<(), SynthError> {
        if self.row >= 1_048_575 {
            return Err(SynthError::Io("XLSX holds at most 1,048,576 rows".into()));
        }
        let ws = self.wb.worksheet_from_index(0).map_err(xe)?;
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(self.row, c as u16, v).map_err(xe)?;
        }
        self.row += 1;
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        let path = self.path.clone();
        self.wb.save(&path).map_err(xe)
    }
}

struct JsonSink {
    out: BufWriter<File>,
    headers: Vec<String>,
    first: bool,
}

impl Sink for JsonSink {
    fn row(&mut self, cells: &[String]) -> Result<(), SynthError> {
        let mut obj = serde_json::Map::new();
        for (h, v) in self.headers.iter().zip(cells) {
            if !v.is_empty() {
                obj.insert(h.clone(), serde_json::Value::String(v.clone()));
            }
        }
        let sep = if self.first { "\n" } else { ",\n" };
        self.first = false;
        write!(self.out, "{sep}{}", serde_json::Value::Object(obj))
            .map_err(|e| SynthError::Io(e.to_string()))
    }
    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        self.out
            .write_all(b"\n]\n")
            .map_err(|e| SynthError::Io(e.to_string()))?;
        self.out.flush().map_err(|e| SynthError::Io(e.to_string()))
    }
}

pub fn open(
    path: &Path,
    format: OutFormat,
    headers: &[String],
) -> Result<Box<dyn Sink>, SynthError> {
    let file = || File::create(path).map_err(io(path));
    Ok(match format {
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file()?));
            w.write_record(headers)
                .map_err(|e| SynthError::Io(e.to_string()))?;
            Box::new(CsvSink { w })
        }
        OutFormat::CsvGb18030 => {
            let mut s = GbSink {
                w: csv::Writer::from_writer(Gb18030 {
                    inner: BufWriter::with_capacity(1 << 20, file()?),
                    pending: Vec::new(),
                }),
            };
            s.row(headers)?;
            Box::new(s)
        }
        OutFormat::Xlsx => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet_with_constant_memory().map_err(xe)?;
            for (c, h) in headers.iter().enumerate() {
                ws.write_string(0, c as u16, h).map_err(xe)?;
            }
            Box::new(XlsxSink {
                wb,
                row: 1,
                path: path.to_path_buf(),
            })
        }
        OutFormat::Json => {
            let mut out = BufWriter::with_capacity(1 << 20, file()?);
            out.write_all(b"[").map_err(io(path))?;
            Box::new(JsonSink {
                out,
                headers: headers.to_vec(),
                first: true,
            })
        }
    })
}
