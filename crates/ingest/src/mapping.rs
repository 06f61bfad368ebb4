//! Header mapping: which data item each column holds, whether the header is a national field code
//! (CF_WSH), its Chinese name (行政处罚决定书文号), an older code (CF_CFMC) or another name
//! departments use. Required items without a column are reported once for the file.

use domain::catalog::{CatalogClass, ItemType, Requirement, fold_name, strip_header_notes};

#[derive(Debug, Clone)]
pub struct HeaderMap {
    /// For each column, the index of the item it holds.
    pub columns: Vec<Option<usize>>,
    /// For each item, the columns that feed it (several for CF_CFLB1 + CF_CFLB2).
    pub item_columns: Vec<Vec<usize>>,
    /// For each item, the header text the source unit used (its own name for the field).
    pub labels: Vec<String>,
    /// Columns not in the catalog: kept in the copy as received, not recorded.
    pub unknown: Vec<String>,
    /// Items required in every row that have no column.
    pub missing_required: Vec<usize>,
    /// Amount items whose column the file gives in another unit (罚款金额（元）), with its header:
    /// said so where the item is missing, rather than that the file has no such column.
    pub other_unit: Vec<(usize, String)>,
}

impl HeaderMap {
    /// The item code of each column, as stored with the submission.
    pub fn codes(&self, class: &CatalogClass) -> Vec<Option<String>> {
        self.columns
            .iter()
            .map(|c| c.map(|i| class.items[i].code.clone()))
            .collect()
    }
}

fn code_tokens(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.len() >= 2 && t.chars().any(|c| c.is_ascii_alphabetic()))
}

/// The item a header names, if any.
pub fn item_for_header(class: &CatalogClass, header: &str) -> Option<usize> {
    item_named(class, header).filter(|&i| !in_another_unit(class, i, header))
}

/// A header that names an amount item in another unit than the item's: `罚款金额(元)`,
/// `CF_NR_FK(元)` read as 万元 would be 10,000 times the amount, so it is not that item.
fn in_another_unit(class: &CatalogClass, i: usize, header: &str) -> bool {
    let f = fold_name(header);
    class.items[i].ty == ItemType::Wan && f.contains('元') && !f.contains("万元")
}

/// The item a header names, whatever unit it gives.
fn item_named(class: &CatalogClass, header: &str) -> Option<usize> {
    let f = fold_name(header.trim_start_matches('\u{feff}'));
    if f.is_empty() {
        return None;
    }
    let by_code = |code: &str| {
        class.items.iter().position(|i| i.code == code).or_else(|| {
            class
                .items
                .iter()
                .position(|i| i.old.iter().any(|o| o == code))
        })
    };
    let by_name = |f: &str| {
        class
            .items
            .iter()
            .position(|i| fold_name(&i.name) == f || i.aka.iter().any(|a| fold_name(a) == f))
    };
    by_code(&f)
        .or_else(|| by_name(&f))
        .or_else(|| {
            // `行政相对人类别(必填)`, `罚款金额(单位:万元)`: the name before the note.
            strip_header_notes(&f).and_then(|s| by_code(s).or_else(|| by_name(s)))
        })
        .or_else(|| code_tokens(&f).find_map(by_code))
}

pub fn map_headers(class: &CatalogClass, headers: &[String]) -> HeaderMap {
    let mut columns = Vec::with_capacity(headers.len());
    let mut item_columns = vec![Vec::new(); class.items.len()];
    let mut labels: Vec<String> = class.items.iter().map(|i| i.name.clone()).collect();
    let mut unknown = Vec::new();
    let mut other_unit = Vec::new();
    for (col, h) in headers.iter().enumerate() {
        match item_for_header(class, h) {
            Some(i) => {
                if item_columns[i].is_empty() {
                    let written = h.trim().trim_start_matches('\u{feff}');
                    // The unit's own header, so that it finds the column; a code alone (MD_YXQZ)
                    // with the item's Chinese name before it, so that the reason reads.
                    labels[i] = if written.is_ascii() {
                        format!("{}（{written}）", class.items[i].name)
                    } else {
                        written.to_string()
                    };
                }
                item_columns[i].push(col);
                columns.push(Some(i));
            }
            None => {
                if !h.trim().is_empty() {
                    unknown.push(h.clone());
                }
                if let Some(i) = item_named(class, h).filter(|&i| in_another_unit(class, i, h)) {
                    other_unit.push((i, h.trim().to_string()));
                }
                columns.push(None);
            }
        }
    }
    let missing_required = class
        .items
        .iter()
        .enumerate()
        .filter(|(i, it)| it.required == Requirement::Always && item_columns[*i].is_empty())
        .map(|(i, _)| i)
        .collect();
    HeaderMap {
        columns,
        item_columns,
        labels,
        unknown,
        missing_required,
        other_unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rulebook::Rulebook;

    #[test]
    fn codes_names_and_old_codes_map_to_the_same_items() {
        let r = Rulebook::builtin().unwrap();
        let cf = r.catalog.class("行政处罚").unwrap();
        let idx = |code: &str| cf.index_of(code).unwrap();
        assert_eq!(item_for_header(cf, "CF_WSH"), Some(idx("CF_WSH")));
        assert_eq!(item_for_header(cf, "cf_wsh"), Some(idx("CF_WSH")));
        assert_eq!(
            item_for_header(cf, "行政处罚决定书文号"),
            Some(idx("CF_WSH"))
        );
        assert_eq!(
            item_for_header(cf, "*行政处罚决定书文号"),
            Some(idx("CF_WSH"))
        );
        assert_eq!(
            item_for_header(cf, "罚款金额（万元）"),
            Some(idx("CF_NR_FK"))
        );
        assert_eq!(item_for_header(cf, "罚款金额(万元)"), Some(idx("CF_NR_FK")));
        assert_eq!(item_for_header(cf, "CF_CFMC"), Some(idx("CF_WFXW")));
        assert_eq!(item_for_header(cf, "CF_XZJG"), Some(idx("CF_CFJG")));
        assert_eq!(
            item_for_header(cf, "处罚机关(CF_CFJG)"),
            Some(idx("CF_CFJG"))
        );
        assert_eq!(item_for_header(cf, "无关列"), None);
        let m = map_headers(cf, &["CF_CFLB1".into(), "CF_CFLB2".into(), "x".into()]);
        assert_eq!(m.item_columns[idx("CF_CFLB")], vec![0, 1]);
        assert_eq!(m.unknown, vec!["x".to_string()]);
        assert!(m.missing_required.contains(&idx("CF_WSH")));
    }

    #[test]
    fn notes_after_a_name_and_full_width_codes_do_not_hide_the_column() {
        let r = Rulebook::builtin().unwrap();
        let cf = r.catalog.class("行政处罚").unwrap();
        let idx = |code: &str| cf.index_of(code).unwrap();
        for (header, code) in [
            ("行政相对人类别（必填）", "CF_XDR_LB"),
            ("处罚决定日期(YYYY-MM-DD)", "CF_JDRQ"),
            ("罚款金额(单位：万元)", "CF_NR_FK"),
            ("罚款金额【万元】（选填）", "CF_NR_FK"),
            ("ＣＦ＿ＷＳＨ", "CF_WSH"),
            ("ｃｆ＿ｗｓｈ（必填）", "CF_WSH"),
            // As units' own tables name them.
            ("处罚决定书文号", "CF_WSH"),
            ("身份证号码", "CF_XDR_ZJHM"),
            ("处罚类型", "CF_CFLB"),
            ("罚款（万元）", "CF_NR_FK"),
        ] {
            assert_eq!(item_for_header(cf, header), Some(idx(code)), "{header}");
        }
        assert_eq!(item_for_header(cf, "（必填）"), None);
        // A reason names the column as the unit headed it, a bare code with its Chinese name.
        let m = map_headers(cf, &["CF_WSH".into(), "处罚类别".into()]);
        assert_eq!(m.labels[idx("CF_WSH")], "行政处罚决定书文号（CF_WSH）");
        assert_eq!(m.labels[idx("CF_CFLB")], "处罚类别");
        // A note naming another unit is not the 万元 item (5000 元 read as 万元 is 10,000 times
        // the fine).
        assert_eq!(item_for_header(cf, "罚款金额（元）"), None);
        assert_eq!(item_for_header(cf, "罚款金额(单位：元)"), None);
        assert_eq!(item_for_header(cf, "CF_NR_FK(元)"), None);
        assert_eq!(item_for_header(cf, "罚款金额(元) CF_NR_FK"), None);
        assert_eq!(item_for_header(cf, "CF_NR_FK(万元)"), Some(idx("CF_NR_FK")));
        assert_eq!(item_for_header(cf, "无关列（选填）"), None);
    }
}
