//! Rejected rows back to the source unit: an XLSX in its own layout (its headers, its column
//! order, its cell texts) with the reason and the original row number appended, so that it can
//! fix the rows and send the file again.

use std::path::Path;

use crypto::KeyRing;
use rust_xlsxwriter::{Format, Workbook};
use store::{Store, StoredRejection};

use crate::IngestError;

/// The reasons of a rejected row in one cell: “【header】reason；…”.
pub fn reason_text(r: &StoredRejection) -> String {
    r.problems
        .iter()
        .map(|p| {
            if p.field.is_empty() {
                p.reason.clone()
            } else {
                format!("【{}】{}", p.name, p.reason)
            }
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// A cell as Excel can hold it (at most 32,767 characters): a longer one is cut, and says so.
fn fit(v: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 32_767;
    if v.chars().count() <= MAX {
        return v.into();
    }
    const NOTE: &str = "…（超出Excel单元格32767字上限，以下省略）";
    let keep: String = v.chars().take(MAX - NOTE.chars().count()).collect();
    format!("{keep}{NOTE}").into()
}

/// Writes the rejected rows of a submission; returns how many.
pub fn write_rejected_xlsx(
    store: &Store,
    keys: &KeyRing,
    submission_id: i64,
    path: &Path,
) -> Result<usize, IngestError> {
    let sub = store
        .submission(submission_id)?
        .ok_or_else(|| IngestError::Layout(format!("报送批次{submission_id}不存在")))?;
    let xlsx = |e: rust_xlsxwriter::XlsxError| IngestError::Xlsx(e.to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet_with_constant_memory().map_err(xlsx)?;
    ws.set_name("退回数据").map_err(xlsx)?;
    let bold = Format::new().set_bold();
    let width = sub.headers.len();
    // The unit's columns as text: a code or an ID number retyped in the sheet stays as typed
    // (in a "General" cell Excel turns its 18 digits into 3.20902E+17 and loses the last three).
    let text = Format::new().set_num_format("@");
    if width > 0 {
        ws.set_column_range_format(0, width as u16 - 1, &text)
            .map_err(xlsx)?;
    }
    for (c, h) in sub.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)
            .map_err(xlsx)?;
    }
    ws.write_string_with_format(0, width as u16, "退回原因", &bold)
        .map_err(xlsx)?;
    ws.write_string_with_format(0, width as u16 + 1, "原行号", &bold)
        .map_err(xlsx)?;
    ws.write_string_with_format(0, width as u16 + 2, "表头以外的单元格", &bold)
        .map_err(xlsx)?;
    // A page of rejections at a time: memory does not grow with their number.
    const PAGE: i64 = 5_000;
    let (mut written, mut after) = (0usize, 0i64);
    loop {
        let page = store.rejections_after(submission_id, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.row_no;
        for r in &page {
            written += 1;
            write_row(ws, written as u32, width, keys, r, &text)?;
        }
    }
    wb.save(path).map_err(xlsx)?;
    Ok(written)
}

fn write_row(
    ws: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    width: usize,
    keys: &KeyRing,
    r: &StoredRejection,
    text: &Format,
) -> Result<(), IngestError> {
    let xlsx = |e: rust_xlsxwriter::XlsxError| IngestError::Xlsx(e.to_string());
    {
        let cells: Vec<String> = serde_json::from_slice(&keys.decrypt(&r.raw_sealed)?)
            .map_err(|e| IngestError::Format(e.to_string()))?;
        for (c, v) in cells.iter().enumerate().take(width) {
            ws.write_string_with_format(row, c as u16, fit(v), text)
                .map_err(xlsx)?;
        }
        // Cells past the header (a stray comma, or a line rejected before any header) are the
        // unit's too: kept, not cut off.
        if cells.len() > width {
            let extra = cells[width..].join(",");
            ws.write_string(row, width as u16 + 2, fit(&extra))
                .map_err(xlsx)?;
        }
        ws.write_string(row, width as u16, reason_text(r))
            .map_err(xlsx)?;
        ws.write_number(row, width as u16 + 1, r.row_no as f64)
            .map_err(xlsx)?;
    }
    Ok(())
}
