//! The monthly 双公示 bulletin (月通报) as a workbook: a summary, a table per county, the unit
//! ranking and the units below the goal, all from one [`MonthReport`].

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::monitoring::{MonthReport, UnitLine};

/// A rate as the bulletin prints it: `100.00%`, or `—` when there is nothing to divide by.
pub fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "—".to_string(), |x| format!("{:.2}%", x * 100.0))
}

pub const UNIT_HEADERS: [&str; 13] = [
    "排名",
    "县（市、区）",
    "报送单位",
    "信息类",
    "自报作出",
    "报送",
    "入库",
    "关联",
    "按时",
    "上报率",
    "合规率",
    "及时率",
    "关联率",
];

/// One unit line as the bulletin's cells.
pub fn unit_cells(u: &UnitLine) -> Vec<String> {
    let f = &u.figures;
    vec![
        u.rank.to_string(),
        u.county.clone(),
        u.unit.clone(),
        u.class_name.clone(),
        f.produced
            .map_or_else(|| "未自报".into(), |p| p.to_string()),
        f.reported.to_string(),
        f.accepted.to_string(),
        f.linked.to_string(),
        f.on_time.to_string(),
        pct(f.reporting_rate()),
        pct(f.compliance_rate()),
        pct(f.timeliness_rate()),
        pct(f.link_rate()),
    ]
}

/// Why a unit is below the goal, in the bulletin's words.
pub fn shortfall(u: &UnitLine, goal: f64) -> String {
    shortfall_with(u, goal, true)
}

/// [`shortfall`], naming a missing self-report only when one is due (the month has ended).
pub fn shortfall_with(u: &UnitLine, goal: f64, declared_due: bool) -> String {
    let f = &u.figures;
    let mut out = Vec::new();
    if declared_due && f.produced.is_none() {
        out.push("未报送月度自报".to_string());
    }
    let low = |r: Option<f64>| r.is_some_and(|x| x + 1e-9 < goal);
    if low(f.reporting_rate()) {
        out.push(format!("上报率{}", pct(f.reporting_rate())));
    }
    if low(f.compliance_rate()) {
        out.push(format!("合规率{}", pct(f.compliance_rate())));
    }
    if low(f.timeliness_rate()) {
        out.push(format!("及时率{}", pct(f.timeliness_rate())));
    }
    if let Some(r) = &u.gap_reason {
        out.push(format!("单位说明：{r}"));
    }
    out.join("；")
}

fn cell(ws: &mut Worksheet, row: u32, col: u16, v: &str) -> Result<(), XlsxError> {
    // Counts stay numbers so the office can sum them, rates numbers shown as printed (97.25%)
    // so that they can be checked by formula; names stay text.
    if let Some(rate) = v.strip_suffix('%').and_then(fraction_of_percent) {
        let percent = Format::new().set_num_format("0.00%");
        return ws
            .write_number_with_format(row, col, rate, &percent)
            .map(|_| ());
    }
    match v.parse::<i64>() {
        Ok(n) if !v.starts_with('0') || v == "0" => ws.write_number(row, col, n as f64).map(|_| ()),
        _ => ws.write_string(row, col, v).map(|_| ()),
    }
}

/// `88.46` (a percentage as printed) as the fraction 0.8846, read from its digits with the
/// point moved (dividing the float by 100 left 0.8845999999999999 in the cell).
fn fraction_of_percent(n: &str) -> Option<f64> {
    let d: rust_decimal::Decimal = n.parse().ok()?;
    (d / rust_decimal::Decimal::from(100))
        .to_string()
        .parse()
        .ok()
}

fn table(
    ws: &mut Worksheet,
    top: u32,
    headers: &[&str],
    rows: &[Vec<String>],
    bold: &Format,
) -> Result<u32, XlsxError> {
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(top, c as u16, *h, bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            cell(ws, top + 1 + i as u32, c as u16, v)?;
        }
    }
    Ok(top + 1 + rows.len() as u32)
}

/// The sheet names Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(s: &str) -> String {
    s.chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect()
}

pub fn county_cells(r: &MonthReport) -> Vec<Vec<String>> {
    r.counties
        .iter()
        .map(|c| {
            let f = &c.figures;
            vec![
                c.rank.to_string(),
                c.county.clone(),
                c.units.to_string(),
                f.produced
                    .map_or_else(|| "未自报".into(), |p| p.to_string()),
                f.undeclared.to_string(),
                f.reported.to_string(),
                f.accepted.to_string(),
                f.linked.to_string(),
                f.on_time.to_string(),
                pct(f.reporting_rate()),
                pct(f.compliance_rate()),
                pct(f.timeliness_rate()),
                pct(f.link_rate()),
            ]
        })
        .collect()
}

pub const COUNTY_HEADERS: [&str; 13] = [
    "排名",
    "县（市、区）",
    "单位数",
    "自报作出",
    "未自报事项",
    "报送",
    "入库",
    "关联",
    "按时",
    "上报率",
    "合规率",
    "及时率",
    "关联率",
];

/// The bulletin workbook's bytes.
/// The month's 通报 workbook; `as_of` (the time the figures were read, Beijing) is printed in
/// it, for the figures move when a unit sends, corrects or withdraws records later.
///
/// `issue`: for a version being issued, the line that says which (version, time, by whom, and
/// for a correction why and which version it replaces), written under the title, so that the
/// file says what it is wherever it is forwarded.
pub fn workbook(
    r: &MonthReport,
    title: &str,
    as_of: &str,
    issue: Option<&str>,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let head = Format::new().set_bold().set_font_size(14);
    {
        let ws = wb.add_worksheet();
        ws.set_name("通报")?;
        ws.write_string_with_format(0, 0, title, &head)?;
        let t = &r.total;
        ws.write_string(1, 0, format!(
            "全市合计：自报作出{}件，报送{}件（其中计入上报率的{}件：已自报单位报送的，每个单位至多计其自报数），入库{}件，关联{}件，按时{}件；上报率{}，合规率{}，及时率{}，关联率{}。目标：上报率、合规率、及时率均为{}。",
            t.produced.unwrap_or(0), t.reported, t.reported_declared, t.accepted, t.linked, t.on_time,
            pct(t.reporting_rate()), pct(t.compliance_rate()), pct(t.timeliness_rate()), pct(t.link_rate()),
            pct(Some(r.goal)),
        ))?;
        ws.write_string(
            2,
            0,
            format!(
                "数据截至：{as_of}（北京时间）；规则版本：{}。{}",
                r.rule_version,
                domain::monitoring::RANKING_METHOD
            ),
        )?;
        if let Some(line) = issue {
            ws.write_string_with_format(3, 0, line, &bold)?;
        }
        ws.write_string_with_format(4, 0, "县（市、区）排名（含市级部门）", &bold)?;
        let next = table(ws, 5, &COUNTY_HEADERS, &county_cells(r), &bold)?;
        let below = r.below();
        ws.write_string_with_format(next + 1, 0, r.below_heading(), &bold)?;
        let rows: Vec<Vec<String>> = below
            .iter()
            .map(|u| {
                vec![
                    u.county.clone(),
                    u.unit.clone(),
                    u.class_name.clone(),
                    shortfall(u, r.goal),
                ]
            })
            .collect();
        table(
            ws,
            next + 2,
            &["县（市、区）", "报送单位", "信息类", "差距"],
            &rows,
            &bold,
        )?;
        ws.set_column_width(1, 28)?;
        ws.set_column_width(2, 28)?;
        ws.set_column_width(3, 40)?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("单位排名")?;
        let rows: Vec<Vec<String>> = r.units.iter().map(unit_cells).collect();
        table(ws, 0, &UNIT_HEADERS, &rows, &bold)?;
        ws.set_column_width(2, 32)?;
    }
    for c in &r.counties {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&c.county))?;
        let rows: Vec<Vec<String>> = r
            .units
            .iter()
            .filter(|u| u.division == c.division)
            .map(unit_cells)
            .collect();
        table(ws, 0, &UNIT_HEADERS, &rows, &bold)?;
        ws.set_column_width(2, 32)?;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod percent_tests {
    #[test]
    fn a_printed_percentage_is_the_fraction_its_digits_say() {
        assert_eq!(super::fraction_of_percent("88.46"), Some(0.8846));
        assert_ne!(
            88.46 / 100.0,
            0.8846,
            "why the digits are moved, not divided"
        );
        assert_eq!(super::fraction_of_percent("100.00"), Some(1.0));
        assert_eq!(super::fraction_of_percent("—"), None);
    }
}
