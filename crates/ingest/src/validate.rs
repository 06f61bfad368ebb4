//! Validation of one row against its catalog class. Every problem names the data item (code and
//! the header the source unit used) and says why in Chinese; a row with any problem is rejected
//! whole. A valid row becomes a [`PreparedRow`]: subject identified, sensitive values sealed,
//! publicity window and timeliness computed by the rule book.

use chrono::{Datelike, NaiveDate};
use crypto::KeyRing;
use domain::catalog::{CatalogClass, ItemType, PublicityKind, Requirement, Role};
use domain::ids::{
    ResidentId, Suspicion, Uscc, mask_adult_ids_in, mask_id_number, mask_personal_in,
};
use domain::money::Fen;
use domain::publicity::{MarketFacts, PenaltyFacts, Severity};
use domain::record::SubjectKind;
use domain::units::SourceUnit;
use rulebook::Rulebook;
use serde_json::{Map, Value};
use store::{PreparedRow, Problem, Registration, SubjectRef};

use crate::mapping::HeaderMap;
use crate::source::{RawRow, parse_date};

/// A parsed item value.
#[derive(Debug, Clone)]
enum Typed {
    Text(String),
    Date(NaiveDate),
    Money(Fen),
    Uscc(Uscc, Option<Suspicion>),
    Resident(ResidentId, Option<Suspicion>),
    OtherId(String),
    Year(i32),
}

impl Typed {
    /// The canonical text kept in the record (amounts in 元).
    fn canonical(&self) -> String {
        match self {
            Typed::Text(s) | Typed::OtherId(s) => s.clone(),
            Typed::Date(d) => d.format("%Y-%m-%d").to_string(),
            Typed::Money(f) => f.to_string(),
            Typed::Uscc(u, _) => u.as_str().to_string(),
            Typed::Resident(r, _) => r.as_str().to_string(),
            Typed::Year(y) => y.to_string(),
        }
    }
    fn text(&self) -> Option<&str> {
        match self {
            Typed::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Validates the rows of one submission.
pub struct Validator<'a> {
    rules: &'a Rulebook,
    class: &'a CatalogClass,
    unit: &'a SourceUnit,
    keys: &'a KeyRing,
    map: HeaderMap,
    today: NaiveDate,
    /// Years a row's reporting deadline ran into with no holiday notice loaded: its on-time
    /// verdict counted Monday to Friday, which the import must say.
    unsure_years: std::cell::RefCell<std::collections::BTreeSet<i32>>,
    /// Rows accepted whose fine matches none of the amounts their 处罚内容 states (a fine per
    /// day, 按日连续处罚, states the day's: not refused, but the unit is asked to look).
    amount_doubts: std::cell::RefCell<(u64, Vec<u64>)>,
    /// Rows accepted with another thing the unit should look at (a 警告 reported 严重, a
    /// 文书号 of another year than the decision): by what, how many and which rows.
    row_doubts: std::cell::RefCell<std::collections::BTreeMap<&'static str, (u64, Vec<u64>)>>,
}

/// What a row doubt tells the unit, after "N行".
const WARNING_SEVERE: &str = "的处罚类别仅为警告或通报批评，失信严重程度却报为“严重”（已入库，按严重公示；警告、通报批评通常属轻微情形，请核对失信严重程度）";
const PUBLICITY_END_SET: &str = "填写的公示截止期与平台按公示期限规则计算的不同（已入库；公示截止期以平台计算为准，公开的是计算结果，可在该主体信用档案的记录中查看）";
const YEAR_MISMATCH: &str =
    "的文书号年份与处罚决定日期的年份不同（已入库；请核对决定日期或文书号是否填错）";

/// The amounts a 处罚内容 states as fines: those in the clause after each 罚款 (处罚款3500元,
/// 并处罚款人民币1.5万元), not a confiscation's or a loss's stated beside it.
fn fines_stated(text: &str) -> Vec<Fen> {
    text.match_indices("罚款")
        .flat_map(|(at, w)| {
            let rest = &text[at + w.len()..];
            let clause = rest
                .find(['，', '；', '。', ';', '、'])
                .map_or(rest, |end| &rest[..end]);
            Fen::stated_in(clause)
        })
        .collect()
}

/// Why an amount item of 万元 (`item`) holds what the decision's words state in 元 (`what`: the
/// word before the amount, 罚款): it is ten thousand times one of the `stated` amounts and
/// none of them itself (1.5万元 stated, 15000 filled in: 1.5亿元 published).
fn written_in_yuan(item: &str, what: &str, stated: &[Fen], f: &Fen) -> Option<String> {
    if stated.contains(f) {
        return None;
    }
    let a = stated
        .iter()
        .find(|a| a.0 > 0 && a.0.checked_mul(10_000) == Some(f.0))?;
    Some(format!(
        "{item}以万元填报：处罚内容写明{what}{}元，本项应填{}（万元），现填的{}万元是其一万倍",
        a.yuan().normalize(),
        a.wan().normalize(),
        f.wan().normalize()
    ))
}

/// 十, 百 or 千: how many times one amount is another.
fn times_label(times: i64) -> &'static str {
    match times {
        10 => "十",
        100 => "百",
        _ => "千",
    }
}

/// Whether a decision fines per day (按日连续处罚): its total is a multiple of what it states.
fn per_day(text: &str) -> bool {
    ["按日", "每日", "连续处罚"]
        .iter()
        .any(|w| text.contains(w))
}

/// The year a 文书号 gives in brackets (〔2026〕, （2026）, [2026]…), if it gives one.
fn bracketed_year(no: &str) -> Option<i32> {
    let chars: Vec<char> = no.chars().map(domain::text::fold_doc_char).collect();
    chars.windows(6).find_map(|w| {
        (matches!(w[0], '〔' | '(')
            && matches!(w[5], '〕' | ')')
            && w[1..5].iter().all(char::is_ascii_digit))
        .then(|| w[1..5].iter().collect::<String>().parse().ok())
        .flatten()
    })
}

/// How many rows an amount notice names before it only counts them.
const DOUBTS_NAMED: usize = 20;

const WS: &[char] = &[' ', '\t', '\u{3000}', '\u{a0}', '\r', '\n'];

/// Free text as the public may see it: resident ID numbers and mobile numbers in it masked, and
/// the row's own never-public numbers (`secrets`: value and masked form) wherever they are
/// written again.
fn hide<'t>(text: &'t str, secrets: &[(String, String)]) -> std::borrow::Cow<'t, str> {
    own_numbers_hidden_in(mask_personal_in(text), secrets)
}

/// `text` with the row's own never-public numbers (`secrets`: each with its masked form)
/// masked where they were written, and nothing else changed.
fn own_numbers_hidden<'t>(
    text: &'t str,
    secrets: &[(String, String)],
) -> std::borrow::Cow<'t, str> {
    own_numbers_hidden_in(std::borrow::Cow::Borrowed(text), secrets)
}

fn own_numbers_hidden_in<'t>(
    mut shown: std::borrow::Cow<'t, str>,
    secrets: &[(String, String)],
) -> std::borrow::Cow<'t, str> {
    for (secret, masked) in secrets {
        if shown.contains(secret.as_str()) {
            shown = std::borrow::Cow::Owned(shown.replace(secret.as_str(), masked));
        }
    }
    shown
}

impl<'a> Validator<'a> {
    pub fn new(
        rules: &'a Rulebook,
        class: &'a CatalogClass,
        unit: &'a SourceUnit,
        keys: &'a KeyRing,
        map: HeaderMap,
        today: NaiveDate,
    ) -> Self {
        Validator {
            rules,
            class,
            unit,
            keys,
            map,
            today,
            unsure_years: Default::default(),
            amount_doubts: Default::default(),
            row_doubts: Default::default(),
        }
    }

    fn doubt(&self, what: &'static str, row: u64) {
        let mut d = self.row_doubts.borrow_mut();
        let e = d.entry(what).or_default();
        e.0 += 1;
        if e.1.len() < DOUBTS_NAMED {
            e.1.push(row);
        }
    }

    pub fn header_map(&self) -> &HeaderMap {
        &self.map
    }

    /// What the import must tell the unit about the verdicts it could only guess: the years
    /// whose holiday notice is not loaded, in which on-time was counted Monday to Friday.
    pub fn notices(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .unsure_years
            .borrow()
            .iter()
            .map(|y| {
                format!(
                    "{y}年的节假日安排尚未载入规则（calendar.toml），本批涉及{y}年的报送期限按周一至周五（除去法定节日）计算，按时报送的判断待载入后复核"
                )
            })
            .collect();
        for (what, (count, named)) in self.row_doubts.borrow().iter() {
            out.push(format!(
                "{count}行{what}：{}",
                domain::text::rows_named(*count, named)
            ));
        }
        let (count, named) = &*self.amount_doubts.borrow();
        if *count > 0 {
            out.push(format!(
                "{count}行的罚款金额与处罚内容写明的金额都不相同（已入库，请核对；罚款金额以万元为单位）：{}",
                domain::text::rows_named(*count, named)
            ));
        }
        // An amount column headed without its unit (罚款金额, 罚款数额): read as the standard's
        // 万元, which a legacy export in 元 makes 10,000 times the fine — and nothing else
        // says so when the 处罚内容 states no figure. A national code names its unit.
        for (i, item) in self.class.items.iter().enumerate() {
            let label = &self.map.labels[i];
            if item.ty == ItemType::Wan
                && !self.map.item_columns[i].is_empty()
                && !label.is_ascii()
                && !label.contains('万')
                && !label.contains(&item.code)
            {
                out.push(format!(
                    "“{label}”列的表头未写明金额单位，已按国家标准以万元读入（填3500即3500万元，入库为35000000.00元）；如该列是以元为单位的金额，请将表头改为“{}”并换算为万元，或撤回本批次后改正重新报送",
                    item.name
                ));
            }
        }
        out
    }

    /// For the monitored classes (行政许可, 行政处罚): the decision the row reports, by class and
    /// its document number as written (spaces and full-width forms aside) — the same for a row
    /// rejected and for the same decision sent again corrected (the subject's code is often
    /// what was wrong, so it is not part of it). A row without its number is known by all its
    /// cells: the same bad row sent again is one rejected decision, not one more each time.
    pub fn decision_key(&self, raw: &RawRow) -> Option<[u8; 16]> {
        let folded = |v: &str| -> String {
            v.chars()
                .map(domain::text::fold_doc_char)
                .filter(|c| !c.is_whitespace())
                .collect()
        };
        let values = self.decision_values(raw)?;
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        // The same key as the store gives records stored before they kept it
        // (`Store::backfill_decision_keys`).
        if let Some(k) = domain::monitoring::decision_key(&self.class.code, &values) {
            return Some(k);
        }
        let mut h = crypto::Sm3Stream::new();
        h.update(self.class.code.as_bytes());
        h.update(&[1]);
        for c in &raw.cells {
            h.update(&[0]);
            h.update(folded(c).as_bytes());
        }
        h.finish()[..16].try_into().ok()
    }

    /// [`Self::decision_key`] of the same number with its year bracketed the other way, if it
    /// has a bracketed year (monitored classes only).
    pub fn decision_key_otherwise(&self, raw: &RawRow) -> Option<[u8; 16]> {
        let values = self.decision_values(raw)?;
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        domain::monitoring::decision_key_written_otherwise(&self.class.code, &values)
    }

    /// The key a record of this decision was stored under before serials were read without 第
    /// and leading zeros, where that differs (`domain::monitoring::decision_key_as_written`).
    pub fn decision_key_as_written(&self, raw: &RawRow) -> Option<[u8; 16]> {
        let values = self.decision_values(raw)?;
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        domain::monitoring::decision_key_as_written(&self.class.code, &values)
    }

    /// The row's key items (its 文书号) in a monitored class, as written; `None` in another.
    fn decision_values(&self, raw: &RawRow) -> Option<Vec<String>> {
        if self.class.key.is_empty() || !self.rules.monitoring.classes.contains(&self.class.code) {
            return None;
        }
        self.class
            .key
            .iter()
            .map(|k| {
                let i = self.class.index_of(k)?;
                Some(self.value(raw, i).unwrap_or_default())
            })
            .collect()
    }

    /// The decision date of a row, if its cell can be read (for a rejected row's month).
    pub fn decision_date(&self, raw: &RawRow) -> Option<NaiveDate> {
        let i = self.class.index_of_role(Role::DecisionDate)?;
        self.value(raw, i).as_deref().and_then(parse_date)
    }

    fn problem(&self, i: usize, reason: impl Into<String>) -> Problem {
        Problem {
            field: self.class.items[i].code.clone(),
            name: self.map.labels[i].clone(),
            reason: reason.into(),
        }
    }

    fn value(&self, raw: &RawRow, i: usize) -> Option<String> {
        let cols = &self.map.item_columns[i];
        let it = &self.class.items[i];
        let vals: Vec<&str> = cols
            .iter()
            .filter_map(|&c| raw.cells.get(c))
            .map(|s| s.trim_matches(WS))
            .filter(|s| !s.is_empty())
            // "/", "无", "—" in a date, amount, code or list cell is how a table says "does not
            // apply" (罚款金额 of a 警告): blank, not a malformed value. In text it may be meant.
            .filter(|s| it.ty == ItemType::Text || !is_placeholder(s))
            .collect();
        match (vals.len(), it.ty) {
            (0, _) => None,
            (_, ItemType::EnumMulti) => Some(vals.join(";")),
            _ => Some(vals[0].to_string()),
        }
    }

    fn item_value<'v>(&self, values: &'v [Option<String>], role: Role) -> Option<&'v str> {
        self.class
            .index_of_role(role)
            .and_then(|i| values[i].as_deref())
    }

    pub fn validate(&self, raw: &RawRow) -> Result<PreparedRow, Vec<Problem>> {
        if let Some(e) = &raw.read_error {
            return Err(vec![Problem {
                field: String::new(),
                name: "整行".into(),
                reason: e.clone(),
            }]);
        }
        let items = &self.class.items;
        let mut problems: Vec<Problem> = self
            .map
            .missing_required
            .iter()
            .map(|&i| self.problem(i, "文件缺少该必填数据项的列"))
            .collect();
        let mut values: Vec<Option<String>> =
            (0..items.len()).map(|i| self.value(raw, i)).collect();
        // A data item is text or a number: a JSON object or list in its place is not guessed at
        // (its JSON text would be published as, say, the subject's name).
        let mut nested = Vec::new();
        for (i, v) in values.iter_mut().enumerate() {
            if self.map.item_columns[i]
                .iter()
                .any(|c| raw.nested.contains(c))
            {
                *v = None;
                nested.push(i);
                problems.push(self.problem(i, "值是JSON对象、数组或true/false，应为文本或数字"));
            }
        }
        // A number cell of more than 15 digits in a workbook: Excel has already turned its last
        // digits into zeros, so its check digit fails — and the check digit is not the fault. The
        // row is refused on what the clerk must do (the number retyped from the original, in a
        // text cell), not on a check digit they might "correct" into someone else's number.
        for (i, v) in values.iter_mut().enumerate() {
            if !nested.contains(&i)
                && self.map.item_columns[i]
                    .iter()
                    .any(|c| raw.imprecise.contains(c))
                && let Some(shown) = v.take()
            {
                nested.push(i);
                problems.push(self.problem(
                    i,
                    format!(
                        "该单元格在Excel中是数字格式，超过15位的数字末几位已被Excel改为0（读到“{shown}”）：请将该列设为“文本”格式，按原件重新录入"
                    ),
                ));
            }
        }
        // An item in two columns (its code and its Chinese name, say) with two different values:
        // which one the unit meant is not ours to guess.
        for (i, it) in items.iter().enumerate() {
            if self.map.item_columns[i].len() < 2 || it.ty == ItemType::EnumMulti {
                continue;
            }
            let mut seen: Vec<&str> = Vec::new();
            for v in self.map.item_columns[i]
                .iter()
                .filter_map(|&c| raw.cells.get(c))
                .map(|s| s.trim_matches(WS))
                .filter(|s| !s.is_empty())
            {
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            if seen.len() > 1 {
                problems.push(self.problem(
                    i,
                    format!(
                        "该数据项在文件中有{}列，取值不一致（{}），请只保留一列",
                        self.map.item_columns[i].len(),
                        seen.iter()
                            .map(|v| format!("“{}”", v.chars().take(40).collect::<String>()))
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ));
            }
        }
        let catalog = &self.rules.catalog;

        // The subject kind decides which identity items are required.
        let kind = match self.class.index_of_role(Role::SubjectKind) {
            Some(i) => {
                match values[i].as_deref() {
                    None => None,
                    Some(v) => match catalog
                        .canonical_value(&items[i], v)
                        .and_then(SubjectKind::from_label)
                    {
                        Some(k) => Some(k),
                        None => {
                            problems.push(self.problem(
                            i,
                            format!("“{v}”不是有效的类别，应为：法人及非法人组织、自然人、个体工商户"),
                        ));
                            None
                        }
                    },
                }
            }
            None => Some(self.kind_from_code(values.as_slice())),
        };
        if let Some(k) = kind
            && !self.class.subject_kinds.is_empty()
            && !self.class.subject_kinds.iter().any(|s| s == k.label())
            && let Some(i) = self.class.index_of_role(Role::SubjectKind)
        {
            problems.push(self.problem(i, format!("本信息类不收录“{}”", k.label())));
        }

        let mut typed: Vec<Option<Typed>> = vec![None; items.len()];
        let kind_item = self.class.index_of_role(Role::SubjectKind);
        for (i, it) in items.iter().enumerate() {
            let v = values[i].as_deref();
            if Some(i) == kind_item && v.is_some() {
                // Checked above; keep its canonical value.
                if let Some(k) = kind {
                    typed[i] = Some(Typed::Text(k.label().to_string()));
                }
                continue;
            }
            let required = match it.required {
                Requirement::Always => true,
                Requirement::Optional => false,
                Requirement::Organisation => kind.is_some_and(SubjectKind::has_uscc),
                Requirement::NaturalPerson => kind == Some(SubjectKind::NaturalPerson),
                Requirement::When => {
                    let cond = it.when_item.as_deref().and_then(|c| self.class.index_of(c));
                    cond.and_then(|c| values[c].as_deref()).is_some_and(|cv| {
                        cv.split([';', '；', ',', '，', '、', '|']).any(|part| {
                            it.when_any.iter().any(|w| {
                                part.trim() == w
                                    || catalog.canonical_value(&items[cond.unwrap_or(0)], part)
                                        == Some(w.as_str())
                            })
                        })
                    })
                }
            };
            let Some(v) = v else {
                // A person's ID type left blank beside a resident ID number: 身份证 (the number
                // says which document it is).
                if it.role == Some(Role::SubjectIdType)
                    && kind == Some(SubjectKind::NaturalPerson)
                    && let Some(n) = self.class.index_of_role(Role::SubjectIdNumber)
                    && values[n]
                        .as_deref()
                        .is_some_and(|x| ResidentId::parse(x, &self.rules.ids, self.today).is_ok())
                {
                    typed[i] = Some(Typed::Text("身份证".into()));
                    continue;
                }
                if required && !self.map.missing_required.contains(&i) && !nested.contains(&i) {
                    let why = match it.required {
                        Requirement::Organisation => {
                            "法人及非法人组织、个体工商户必须填写".to_string()
                        }
                        Requirement::NaturalPerson => "自然人必须填写".to_string(),
                        Requirement::When => format!(
                            "{}为“{}”时必须填写",
                            it.when_item
                                .as_deref()
                                .and_then(|c| self.class.item(c))
                                .map_or("", |x| x.name.as_str()),
                            // Either value, not both together.
                            it.when_any.join("”或“")
                        ),
                        // An end date left blank (or "/") where the licence has no end: the
                        // unit is told how to write "no end", which is accepted.
                        _ if it.open_end => {
                            "必填，不能为空；长期有效的请填写“长期”或2099-12-31".to_string()
                        }
                        _ => "必填，不能为空".to_string(),
                    };
                    // Required in this row and not a column of the file at all: say so, or the
                    // unit looks for an empty cell it does not have.
                    let why = if let Some((_, h)) =
                        self.map.other_unit.iter().find(|(item, _)| *item == i)
                    {
                        format!(
                            "文件的“{h}”列不是以万元为单位，本项须以万元填报（如5000元填0.5）：请换算为万元、列名改为“{}”后重新报送",
                            it.name
                        )
                    } else if self.map.item_columns[i].is_empty() {
                        format!("文件缺少该数据项的列（{why}）")
                    } else {
                        why
                    };
                    problems.push(self.problem(i, why));
                }
                continue;
            };
            match self.parse_item(i, v, &values) {
                Ok(t) => typed[i] = Some(t),
                Err(reason) => problems.push(self.problem(i, reason)),
            }
        }

        // 谁产生、谁提供、谁负责: a unit reports as itself, and a 双公示 decision of another unit
        // of the platform is that unit's to report (its window, its repairs, its numbers).
        // The provincial feed brings everyone's.
        if !self.unit.is_feed() {
            let monitored = self.rules.monitoring.classes.contains(&self.class.code);
            for (role, deciding) in [
                (Role::SourceUnit, false),
                (Role::SourceUnitUscc, false),
                (Role::DecidingUnit, true),
                (Role::DecidingUnitUscc, true),
            ] {
                if deciding && !monitored {
                    continue;
                }
                let Some(i) = self.class.index_of_role(role) else {
                    continue;
                };
                let Some(t) = &typed[i] else { continue };
                let written = t.canonical();
                if let Some(other) = self.rules.units.find(&written)
                    && other.name != self.unit.name
                {
                    let whose = if written == other.name {
                        format!("“{written}”是另一报送单位")
                    } else {
                        format!("“{written}”是另一报送单位（{}）", other.name)
                    };
                    problems.push(self.problem(
                        i,
                        format!(
                            "{whose}，与报送单位“{}”不一致：只能报送本单位作出的决定，该单位的决定由其自行报送",
                            self.unit.name
                        ),
                    ));
                }
            }
            // A unit with a company's code (the penalised company's, copied into the wrong
            // column): the record would publish a company as the 处罚机关 or the source of the
            // data. (A code merely unlike the one units.toml holds is not refused: the shipped
            // codes are placeholders until the credit office fills in the real ones.)
            for (name_role, code_role) in [
                (Role::SourceUnit, Role::SourceUnitUscc),
                (Role::DecidingUnit, Role::DecidingUnitUscc),
            ] {
                let Some(ci) = self.class.index_of_role(code_role) else {
                    continue;
                };
                let Some(code) = typed[ci].as_ref().map(Typed::canonical) else {
                    continue;
                };
                let named_self = self
                    .class
                    .index_of_role(name_role)
                    .and_then(|ni| typed[ni].as_ref())
                    .and_then(|t| self.rules.units.find(&t.canonical()))
                    .is_some_and(|u| u.name == self.unit.name);
                if code.starts_with('9') {
                    problems.push(self.problem(
                        ci,
                        format!(
                            "“{code}”是企业、个体工商户或农民专业合作社的统一社会信用代码，不是行政机关或授权组织的代码：请填写{}的代码",
                            if named_self { self.unit.name.as_str() } else { "该单位" }
                        ),
                    ));
                }
            }
        }
        // The row's fine matches none of the amounts its 处罚内容 states (told, not refused).
        let mut amount_doubt = false;
        for check in &self.class.checks {
            if let Some(order) = check.strip_prefix("date_order:") {
                let Some((a, b)) = order.split_once("<=") else {
                    continue;
                };
                let (Some(ia), Some(ib)) = (self.class.index_of(a), self.class.index_of(b)) else {
                    continue;
                };
                if let (Some(Typed::Date(da)), Some(Typed::Date(db))) = (&typed[ia], &typed[ib])
                    && da > db
                {
                    problems.push(self.problem(ib, format!("{db}早于{}{da}", self.map.labels[ia])));
                }
            } else if check == "subject_identity"
                && let Some(k) = kind
                && let Some(i) = self.class.index_of_role(Role::SubjectUscc)
                && let Some(Typed::Uscc(u, _)) = &typed[i]
            {
                // The code's registration category says which kind of subject holds it
                // (GB 32100: 92 is an individual business).
                let individual = u.as_str().starts_with("92");
                let clash = match k {
                    SubjectKind::IndividualBusiness => !individual,
                    SubjectKind::Organisation => individual,
                    SubjectKind::NaturalPerson => false,
                };
                if clash {
                    problems.push(self.problem(
                        i,
                        format!(
                            "代码{}登记为{}，与主体类别“{}”不符",
                            u.as_str(),
                            if individual {
                                "个体工商户（92开头）"
                            } else {
                                "非个体工商户（非92开头）"
                            },
                            k.label()
                        ),
                    ));
                }
            } else if check == "penalty_amounts"
                && let Some(i) = self.class.index_of_role(Role::Fine)
                && let Some(Typed::Money(f)) = &typed[i]
                && f.0 == 0
                && self
                    .class
                    .index_of_role(Role::PenaltyCategories)
                    .is_some_and(|c| {
                        // Only a fine must be above zero: a 警告 with 罚款金额 0 is how many units
                        // fill the column in.
                        typed[c]
                            .as_ref()
                            .and_then(Typed::text)
                            .is_some_and(|t| t.split(';').any(|k| k == "罚款"))
                    })
            {
                problems.push(self.problem(i, "处罚类别含罚款时，罚款金额应大于0"));
            } else if check == "penalty_amounts"
                && let Some(i) = self.class.index_of_role(Role::Fine)
                && let Some(Typed::Money(f)) = &typed[i]
                && let Some(c) = self.class.index_of_role(Role::PenaltyContent)
                && let Some(text) = typed[c].as_ref().and_then(Typed::text)
            {
                // The fine written in 元 into a column of 万元 is ten thousand times the fine
                // (1.5万元 stated, 15000 filled in: 1.5亿元 published). Caught where the
                // decision's own words state it and none of them equals the column.
                let stated = domain::money::Fen::stated_in(text);
                let fines = fines_stated(text);
                // Not refused unless it is one of the slips below: a fine per day (按日连续处罚)
                // states the day's amount, not the total. Judged against the fines the text
                // states where it states any (a confiscation beside them is no fine).
                let against = if fines.is_empty() { &stated } else { &fines };
                amount_doubt = !against.is_empty() && !against.contains(f);
                if let Some(why) = written_in_yuan("罚款金额", "罚款", &stated, f) {
                    problems.push(self.problem(i, why));
                } else if !fines.is_empty() && !fines.contains(f) && stated.contains(f) && f.0 > 0 {
                    // Another amount of the decision in the fine's column: 没收违法所得5000元，
                    // 并处罚款500元 published as a 5000元 fine.
                    problems.push(self.problem(
                        i,
                        format!(
                            "处罚内容写明罚款{}元，本项填的{}元是处罚内容中的其他金额（如没收违法所得），应填罚款数额{}（万元）",
                            fines[0].yuan().normalize(),
                            f.yuan().normalize(),
                            fines[0].wan().normalize()
                        ),
                    ));
                } else if !stated.contains(f)
                    && let Some((a, times, larger)) = fines.iter().find_map(|a| {
                        [10_i64, 100, 1000].into_iter().find_map(|k| {
                            if f.0 > 0 && f.0.checked_mul(k) == Some(a.0) {
                                Some((*a, k, false))
                            } else if a.0 > 0 && !per_day(text) && a.0.checked_mul(k) == Some(f.0) {
                                Some((*a, k, true))
                            } else {
                                None
                            }
                        })
                    })
                {
                    // A fine the decision states after 罚款, filled in a tenth (a hundredth, a
                    // thousandth) as large — a decimal point slipped (0.035 for 3500元): published
                    // as the smaller fine, which under SAMR Order 45 can shorten the window — or
                    // ten times as large (5 for 5000元), which can cross a measure's threshold
                    // (政府采购 is forbidden from 200万元). Only a fine per day may add up to more
                    // than the text states.
                    let how = if larger {
                        format!("是其{}倍", times_label(times))
                    } else {
                        format!("只有其{}分之一", times_label(times))
                    };
                    problems.push(self.problem(
                        i,
                        format!(
                            "罚款金额以万元填报：处罚内容写明罚款{}元，本项应填{}（万元），现填的{}万元{how}，请核对小数点",
                            a.yuan().normalize(),
                            a.wan().normalize(),
                            f.wan().normalize()
                        ),
                    ));
                }
            }
            if check == "penalty_amounts"
                && let Some(i) = self.class.index_of_role(Role::Confiscation)
                && let Some(Typed::Money(f)) = &typed[i]
                && f.0 > 0
                && let Some(c) = self.class.index_of_role(Role::PenaltyContent)
                && let Some(text) = typed[c].as_ref().and_then(Typed::text)
            {
                // The confiscated amount written in 元 into its column of 万元: 没收违法所得
                // 12345元 published as 1.2345亿元.
                let stated = domain::money::Fen::stated_in(text);
                if let Some(why) = written_in_yuan("没收金额", "", &stated, f) {
                    problems.push(self.problem(i, why));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // From here the row is valid: build what the store keeps.
        let kind = kind.unwrap_or(SubjectKind::Organisation);
        let mut row = self.prepare(raw, kind, &typed).map_err(|p| vec![p])?;
        // Counted once the row is sure to be stored (the notice says 已入库).
        let text_of = |role: Role| {
            self.class
                .index_of_role(role)
                .and_then(|i| typed[i].as_ref())
                .and_then(Typed::text)
        };
        if let (Some(cats), Some("严重")) =
            (text_of(Role::PenaltyCategories), text_of(Role::Severity))
            && cats
                .split(';')
                .all(|k| matches!(k.trim(), "警告" | "通报批评"))
        {
            self.doubt(WARNING_SEVERE, raw.row_no);
        }
        if let (Some(no), Some(Typed::Date(decided))) = (
            text_of(Role::DecisionNo),
            self.class
                .index_of_role(Role::DecisionDate)
                .and_then(|i| typed[i].as_ref()),
        ) && let Some(year) = bracketed_year(no)
            && year != decided.year()
        {
            self.doubt(YEAR_MISMATCH, raw.row_no);
        }
        if amount_doubt {
            let mut d = self.amount_doubts.borrow_mut();
            d.0 += 1;
            if d.1.len() < DOUBTS_NAMED {
                d.1.push(raw.row_no);
            }
        }
        row.decision_key = self.decision_key(raw);
        row.decision_key_otherwise = self.decision_key_otherwise(raw);
        row.decision_key_as_written = self.decision_key_as_written(raw);
        Ok(row)
    }

    /// Subject kind when the class has no kind item: from the USCC category (92 = 个体工商户).
    fn kind_from_code(&self, values: &[Option<String>]) -> SubjectKind {
        self.item_value(values, Role::SubjectUscc)
            .map(domain::ids::normalize)
            .and_then(|c| {
                // `get` because a malformed code may start with a multi-byte character.
                let prefix = c.get(..2)?;
                self.rules
                    .ids
                    .categories
                    .get(prefix)
                    .map(|p| p.kind.clone())
            })
            .and_then(|k| SubjectKind::from_label(&k))
            .unwrap_or(SubjectKind::Organisation)
    }

    fn parse_item(&self, i: usize, v: &str, values: &[Option<String>]) -> Result<Typed, String> {
        let it = &self.class.items[i];
        let catalog = &self.rules.catalog;
        match it.ty {
            ItemType::Text => {
                let n = v.chars().count();
                match it.max_len {
                    Some(max) if n > max => Err(format!("长度{n}字，超过上限{max}字")),
                    // A document number's full-width digits and letters are the same number
                    // (its record is found by them already): kept as ASCII, so that the same
                    // decision typed either way is unchanged, not a correction.
                    _ if it.role == Some(Role::DecisionNo) => Ok(Typed::Text(
                        v.chars()
                            .map(|c| match c {
                                '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                                    domain::text::fold_width(c)
                                }
                                other => other,
                            })
                            .collect(),
                    )),
                    _ => Ok(Typed::Text(v.to_string())),
                }
            }
            ItemType::Date => {
                // A licence without an end: the national standard writes 2099-12-31
                // (domain.md §3.2); units write 长期, 永久 or 9999-12-31.
                if it.open_end && open_ended(v) {
                    return Ok(Typed::Date(domain::record::NO_END_DATE));
                }
                // On a list "no end" is not an answer: an entry's end is bounded by the rules,
                // and the standard's 2099-12-31 written out means the same.
                if !it.open_end
                    && it.role == Some(Role::ValidTo)
                    && self.class.list_type.is_some()
                    && (open_ended(v) || parse_date(v) == Some(domain::record::NO_END_DATE))
                {
                    return Err(format!(
                        "“{v}”表示长期有效，本项须填写具体的截止日期（YYYY-MM-DD），按认定文书确定的期限填写；文书未定期限的，本项留空"
                    ));
                }
                if !it.open_end
                    && open_ended(v)
                    && (it.role == Some(Role::ValidTo) || it.name.contains("有效期"))
                {
                    return Err(format!(
                        "“{v}”不是日期：本项须填写具体日期（YYYY-MM-DD，如2026-05-01）；长期有效的，按国家标准填2099-12-31"
                    ));
                }
                let d = parse_date(v).ok_or_else(|| match excel_serial(v) {
                    Some(d) => format!(
                        "“{v}”是Excel的日期序列号（对应{d}），不是日期：请将该列设为“日期”格式，或填写为YYYY-MM-DD，如{d}"
                    ),
                    None if shaped_as_date(v) => format!(
                        "“{v}”不是日历上存在的日期（如该月没有这一天）：请核对月、日"
                    ),
                    None => format!("“{v}”不是有效日期，应为YYYY-MM-DD格式，如2026-05-01"),
                })?;
                if it.not_future && d > self.today {
                    return Err(format!("{d}晚于报送当日{}", self.today));
                }
                if let Some(f) = it.not_before.as_ref().filter(|f| d < f.date) {
                    return Err(format!("{d}{}，请核对", f.basis));
                }
                Ok(Typed::Date(d))
            }
            ItemType::Wan => Fen::parse_wan(v)
                .map(Typed::Money)
                .map_err(|e| e.to_string()),
            ItemType::Enum => {
                let c = catalog.canonical_value(it, v).ok_or_else(|| {
                    format!(
                        "“{v}”不在取值范围内，应为：{}",
                        catalog.values(it).join("、")
                    )
                })?;
                match it.refused.iter().find(|r| r.value == c) {
                    Some(r) => Err(format!("“{c}”：{}", r.reason)),
                    None => Ok(Typed::Text(c.to_string())),
                }
            }
            ItemType::EnumMulti => {
                let mut out: Vec<&str> = Vec::new();
                for part in v
                    .split([';', '；', ',', '，', '、', '|'])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                {
                    let c = catalog.canonical_value(it, part).ok_or_else(|| {
                        format!(
                            "“{part}”不在取值范围内，应为：{}",
                            catalog.values(it).join("、")
                        )
                    })?;
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
                Ok(Typed::Text(out.join(";")))
            }
            ItemType::Uscc if scientific(v) => Err(scientific_reason(v)),
            ItemType::IdNumber if scientific(v) => Err(scientific_reason(v)),
            ItemType::Uscc => Uscc::parse(v, &self.rules.ids)
                .map(|(u, s)| Typed::Uscc(u, s))
                .map_err(|e| format!("统一社会信用代码{e}")),
            ItemType::IdNumber => {
                let type_role = match it.role {
                    Some(Role::LegalRepIdNumber) => Role::LegalRepIdType,
                    _ => Role::SubjectIdType,
                };
                let id_type = self
                    .class
                    .index_of_role(type_role)
                    .and_then(|t| values[t].as_deref())
                    .map(|t| {
                        self.class
                            .index_of_role(type_role)
                            .and_then(|ti| catalog.canonical_value(&self.class.items[ti], t))
                            .unwrap_or(t)
                    })
                    .unwrap_or("身份证");
                if id_type == "身份证" {
                    ResidentId::parse(v, &self.rules.ids, self.today)
                        .map(|(r, s)| Typed::Resident(r, s))
                        .map_err(|e| format!("公民身份号码{e}"))
                } else if v.chars().count() > 50 {
                    Err("证件号码超过50字".into())
                } else {
                    Ok(Typed::OtherId(domain::ids::normalize(v)))
                }
            }
            ItemType::Year => match v.parse::<i32>() {
                Ok(y) if (1949..=self.today.year()).contains(&y) => Ok(Typed::Year(y)),
                _ => Err(format!("“{v}”不是有效年度")),
            },
        }
    }

    fn prepare(
        &self,
        raw: &RawRow,
        kind: SubjectKind,
        typed: &[Option<Typed>],
    ) -> Result<PreparedRow, Problem> {
        let class = self.class;
        let items = &class.items;
        let role = |r: Role| class.index_of_role(r).and_then(|i| typed[i].as_ref());
        // The row's own numbers that are never public (证件号码 of any kind, a passport's too):
        // written again into its free text, they are masked there as well.
        let secrets: Vec<(String, String)> = items
            .iter()
            .zip(typed)
            .filter(|(it, _)| !it.public)
            .filter_map(|(_, t)| t.as_ref().map(Typed::canonical))
            .filter(|v| v.chars().count() >= 6)
            .map(|v| {
                let m = mask_id_number(&v);
                (v, m)
            })
            .collect();
        // An ID number written into a person's name (张三（3209…）) is masked there too.
        let name = domain::text::subject_name(&hide(
            role(Role::SubjectName)
                .and_then(Typed::text)
                .unwrap_or_default(),
            &secrets,
        ));

        // Identify the subject.
        let mut note: Option<String> = None;
        let subject = if kind == SubjectKind::NaturalPerson {
            let id_type = role(Role::SubjectIdType)
                .and_then(Typed::text)
                .unwrap_or("身份证")
                .to_string();
            let (id, suspicion, area) = match role(Role::SubjectIdNumber) {
                Some(Typed::Resident(r, s)) => (
                    r.as_str().to_string(),
                    s.clone(),
                    Some(r.area().to_string()),
                ),
                Some(Typed::OtherId(s)) => (s.clone(), None, None),
                _ => {
                    let i = class.index_of_role(Role::SubjectIdNumber).unwrap_or(0);
                    return Err(self.problem(i, "自然人必须提供证件号码"));
                }
            };
            if let Some(s) = &suspicion {
                note = Some(s.to_string());
            }
            SubjectRef {
                key: self.keys.person_key(&id_type, &id),
                kind,
                name: name.clone(),
                uscc: None,
                id_type: Some(id_type),
                id_sealed: Some(self.keys.encrypt(id.as_bytes()).map_err(|e| Problem {
                    field: String::new(),
                    name: "整行".into(),
                    reason: format!("加密失败：{e}"),
                })?),
                id_masked: Some(mask_id_number(&id)),
                division: area,
                id_suspect: suspicion.is_some(),
                id_note: note.clone(),
            }
        } else {
            let Some(Typed::Uscc(code, suspicion)) = role(Role::SubjectUscc) else {
                let i = class.index_of_role(Role::SubjectUscc).unwrap_or(0);
                return Err(self.problem(i, "法人及非法人组织、个体工商户必须提供统一社会信用代码"));
            };
            SubjectRef {
                key: code.as_str().to_string(),
                kind,
                name: name.clone(),
                uscc: Some(code.as_str().to_string()),
                id_type: None,
                id_sealed: None,
                id_masked: None,
                division: Some(code.division().to_string()),
                id_suspect: suspicion.is_some(),
                id_note: suspicion.as_ref().map(ToString::to_string),
            }
        };

        // Payload (masked) and sealed sensitive values; content hash over the plain values.
        let decided = match role(Role::DecisionDate) {
            Some(Typed::Date(d)) => Some(*d),
            _ => None,
        };
        let mut payload = Map::new();
        let mut sealed = Map::new();
        let mut hasher = crypto::Sm3Stream::new();
        for (i, it) in items.iter().enumerate() {
            let Some(t) = &typed[i] else { continue };
            let plain = t.canonical();
            hasher.update(it.code.as_bytes());
            hasher.update(&[0x1f]);
            hasher.update(plain.as_bytes());
            hasher.update(&[0x1e]);
            if it.public {
                // A resident ID number written into free text (a note naming an applicant's
                // agent) is masked as an ID field is; the text as written is kept sealed.
                // A document number is not searched for ID-shaped numbers (320902202403150001
                // numbers a decision by area and date), but the row's own ID numbers are masked
                // wherever they were written, a 文号 too (a party's number typed into it).
                let free_text = it.ty == ItemType::Text && it.role != Some(Role::DecisionNo);
                let shown = if free_text {
                    hide(&plain, &secrets)
                } else if it.role == Some(Role::DecisionNo) {
                    // And an adult's ID number typed into it, whoever's (a 文号 numbered by
                    // the decision's own date is left: see `mask_adult_ids_in`).
                    match (own_numbers_hidden(&plain, &secrets), decided) {
                        (shown, Some(on)) => match mask_adult_ids_in(&shown, on) {
                            std::borrow::Cow::Owned(m) => std::borrow::Cow::Owned(m),
                            std::borrow::Cow::Borrowed(_) => shown,
                        },
                        (shown, None) => shown,
                    }
                } else {
                    std::borrow::Cow::Borrowed(plain.as_str())
                };
                match shown {
                    std::borrow::Cow::Borrowed(_) => {
                        payload.insert(it.code.clone(), Value::String(plain));
                    }
                    std::borrow::Cow::Owned(masked) => {
                        payload.insert(it.code.clone(), Value::String(masked));
                        sealed.insert(it.code.clone(), Value::String(plain));
                    }
                }
            } else {
                payload.insert(it.code.clone(), Value::String(mask_id_number(&plain)));
                sealed.insert(it.code.clone(), Value::String(plain));
            }
        }
        let content_hash: [u8; 16] = hasher.finish()[..16].try_into().unwrap_or_default();
        let mut key_hasher = crypto::Sm3Stream::new();
        key_hasher.update(class.code.as_bytes());
        key_hasher.update(&[0]);
        key_hasher.update(subject.key.as_bytes());
        for k in &class.key {
            key_hasher.update(&[0]);
            if let Some(t) = class.index_of(k).and_then(|i| typed[i].as_ref()) {
                // The same decision number typed with full-width forms, spaces or its year in
                // other brackets is the same record (as the decision key for monitoring reads it).
                let folded: String = t
                    .canonical()
                    .chars()
                    .map(domain::text::fold_doc_char)
                    .filter(|c| !c.is_whitespace())
                    .collect();
                key_hasher.update(folded.as_bytes());
            }
        }
        let record_key: [u8; 16] = key_hasher.finish()[..16].try_into().unwrap_or_default();
        let sealed = if sealed.is_empty() {
            None
        } else {
            let text = Value::Object(sealed).to_string();
            Some(self.keys.encrypt(text.as_bytes()).map_err(|e| Problem {
                field: String::new(),
                name: "整行".into(),
                reason: format!("加密失败：{e}"),
            })?)
        };

        let decided_on = match role(Role::DecisionDate) {
            Some(Typed::Date(d)) => Some(*d),
            _ => None,
        };
        let valid_to = match role(Role::ValidTo) {
            Some(Typed::Date(d)) => Some(*d),
            _ => None,
        };
        let legal_rep_key = match role(Role::LegalRepIdNumber) {
            Some(Typed::Resident(r, _)) => Some(self.keys.person_key("身份证", r.as_str())),
            _ => None,
        };

        let mut row = PreparedRow {
            row_no: raw.row_no,
            record_key,
            content_hash,
            subject,
            legal_rep_key,
            decided_on,
            published: true,
            repairable_from: None,
            public_ends: valid_to,
            published_on: None,
            severity: None,
            regime: None,
            rule_version: None,
            on_time: None,
            on_time_until: None,
            payload: Value::Object(payload).to_string(),
            sealed,
            registration: None,
            category: role(Role::PenaltyCategories)
                .or_else(|| role(Role::Category))
                .and_then(Typed::text)
                .map(str::to_string),
            decision_key: None,
            decision_key_otherwise: None,
            decision_key_as_written: None,
        };

        // A class of which only some values are published (纳税信用: grade A): the others are
        // kept and shared, not shown to the public.
        if let Some(p) = &class.public_only
            && let Some(i) = class.index_of(&p.item)
            && !typed[i]
                .as_ref()
                .is_some_and(|t| p.values.iter().any(|v| *v == t.canonical()))
        {
            row.published = false;
        }
        // A licence its unit reports as 无效 (withdrawn, revoked, cancelled) is published no
        // longer: 许可撤回或撤销的不再公示.
        if class.publicity == PublicityKind::Licence
            && role(Role::Status).and_then(Typed::text) == Some("无效")
        {
            row.published = false;
        }
        if class.publicity == PublicityKind::Penalty {
            let decided = decided_on.ok_or_else(|| {
                self.problem(
                    class.index_of_role(Role::DecisionDate).unwrap_or(0),
                    "处罚决定日期必填",
                )
            })?;
            let categories: Vec<String> = role(Role::PenaltyCategories)
                .and_then(Typed::text)
                .map(|s| s.split(';').map(str::to_string).collect())
                .unwrap_or_default();
            let severity = role(Role::Severity)
                .and_then(Typed::text)
                .and_then(|s| s.parse::<Severity>().ok());
            let texts: Vec<&str> = [Role::LegalBasis]
                .iter()
                .filter_map(|r| role(*r).and_then(Typed::text))
                .chain(["CF_WFXW", "CF_SY"].iter().filter_map(|c| {
                    class
                        .index_of(c)
                        .and_then(|i| typed[i].as_ref())
                        .and_then(Typed::text)
                }))
                .collect();
            let mut domains = self.unit.domains.clone();
            for d in self.rules.publicity.domains_in(texts.iter().copied()) {
                if !domains.contains(&d) {
                    domains.push(d);
                }
            }
            let fine = match role(Role::Fine) {
                Some(Typed::Money(f)) => Some(*f),
                _ => None,
            };
            let facts = PenaltyFacts {
                decided,
                categories: &categories,
                severity,
                domains: &domains,
                market: self.unit.is_market_regulation().then_some(MarketFacts {
                    // Published when it reached the platform, or by the day the order says it
                    // was to be published, whichever is earlier (a late report does not start
                    // three years anew).
                    published: match self.rules.publicity.market.publish_within_workdays {
                        Some(n) => self
                            .today
                            .min(self.rules.calendar.add_workdays(decided, n).date),
                        None => self.today,
                    },
                    fine,
                    natural_person: kind == SubjectKind::NaturalPerson,
                }),
            };
            let w = self.rules.publicity.window(&facts).map_err(|e| {
                self.problem(
                    class.index_of_role(Role::DecisionDate).unwrap_or(0),
                    e.to_string(),
                )
            })?;
            row.published = w.published;
            row.repairable_from = w.repairable_from;
            row.public_ends = w.ends;
            // The end of publicity is the platform's to compute (domain.md §3.2): a 公示截止期
            // the unit filled in that says otherwise is shown as computed, so the public never
            // sees two ends. (The file as received keeps what the unit wrote.)
            if let (Some(ends), Some(i)) = (w.ends, class.index_of_role(Role::PublicityEnd))
                && matches!(&typed[i], Some(Typed::Date(d)) if *d != ends)
                && let Ok(Value::Object(mut p)) = serde_json::from_str::<Value>(&row.payload)
            {
                p.insert(
                    class.items[i].code.clone(),
                    Value::String(ends.format("%Y-%m-%d").to_string()),
                );
                row.payload = Value::Object(p).to_string();
                self.doubt(PUBLICITY_END_SET, raw.row_no);
            }
            row.published_on = facts
                .market
                .as_ref()
                .filter(|_| w.published)
                .map(|m| m.published);
            row.severity = Some(w.severity.as_str().to_string());
            row.regime = Some(w.regime);
            row.rule_version = Some(w.rule_version);
        }
        if let (Some(n), Some(d)) = (class.report_working_days, decided_on) {
            let deadline = self.rules.calendar.add_workdays(d, n);
            row.on_time = Some(self.today <= deadline.date);
            row.on_time_until = Some(deadline.date);
            if !deadline.years_without_notice.is_empty() {
                self.unsure_years
                    .borrow_mut()
                    .extend(deadline.years_without_notice.iter().copied());
            }
            if row.rule_version.is_none() {
                row.rule_version = Some(self.rules.digest.clone());
            }
        }
        if class.index_of_role(Role::RegistrationType).is_some() {
            let text = |r: Role| role(r).and_then(Typed::text).map(str::to_string);
            row.registration = Some(Registration {
                reg_type: text(Role::RegistrationType),
                reg_status: text(Role::RegistrationStatus),
                industry: text(Role::Industry),
            });
        }
        Ok(row)
    }
}

/// What a table writes in a cell that does not apply.
fn is_placeholder(v: &str) -> bool {
    matches!(
        domain::text::fold_widths(v).as_str(),
        "/" | "\\"
            | "-"
            | "--"
            | "—"
            | "——"
            | "－"
            | "无"
            | "空"
            | "暂无"
            | "不适用"
            | "N/A"
            | "n/a"
            | "NA"
    )
}

/// Whether a value is written as a date is (year, month, day as the forms `parse_date` reads),
/// whatever its numbers: 2026-02-30 is told it is no day, not that its format is wrong.
fn shaped_as_date(v: &str) -> bool {
    let folded: String = domain::text::fold_widths(v.trim())
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let parts: Vec<&str> = folded
        .trim_end_matches(['日', '号'])
        .split(['-', '/', '.', '年', '月'])
        .collect();
    let digits =
        |p: &str, lens: &[usize]| lens.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [y, m, d] => digits(y, &[4]) && digits(m, &[1, 2]) && digits(d, &[1, 2]),
        [whole] => digits(whole, &[8]),
        _ => false,
    }
}

/// An end date that means "no end": 长期, 永久, or a date in the year 9999.
fn open_ended(v: &str) -> bool {
    let t = domain::text::fold_widths(v.trim());
    matches!(
        t.as_str(),
        "长期" | "长期有效" | "永久" | "永久有效" | "无期限" | "无固定期限" | "长久"
    ) || (t.starts_with("9999") && parse_date(&t.replacen("9999", "2099", 1)).is_some())
}

/// A number in scientific notation (3.20902E+17): what Excel shows, and saves to CSV, for a
/// long number in a cell of the "General" format — its last digits already lost.
fn scientific(v: &str) -> bool {
    let v = v.trim();
    let Some((mantissa, exp)) = v.split_once(['E', 'e']) else {
        return false;
    };
    // Not a code that merely holds an E (a USCC may): Excel's form is short, with a decimal
    // point or a signed exponent.
    if v.len() >= 18 || !(mantissa.contains('.') || exp.starts_with('+')) {
        return false;
    }
    let exp = exp.strip_prefix('+').unwrap_or(exp);
    !mantissa.is_empty()
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().any(|c| c.is_ascii_digit())
        && !exp.is_empty()
        && exp.chars().all(|c| c.is_ascii_digit())
}

fn scientific_reason(v: &str) -> String {
    format!(
        "“{v}”是科学计数法：Excel把号码当成数字，末几位已经丢失，无法还原；请将该列设为“文本”格式，按原件重新录入完整号码"
    )
}

/// The day an Excel date serial number stands for (46336 is 2026-11-10), when `v` is one in
/// the years the platform's records fall in (1949 to 2100): a date cell formatted as a number.
fn excel_serial(v: &str) -> Option<chrono::NaiveDate> {
    let v = v.trim();
    let whole = v.strip_suffix(".0").unwrap_or(v);
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 5 {
        return None;
    }
    let n: i64 = whole.parse().ok()?;
    // 1949-10-01 is 18172; 2100-12-31 is 73415.
    if !(18172..=73415).contains(&n) {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_signed(chrono::Duration::days(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excel_serial_and_a_number_in_scientific_notation_are_named() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert_eq!(excel_serial("46336"), day("2026-11-10"));
        assert_eq!(excel_serial("46086.0"), day("2026-03-05"));
        for not in ["123", "2026", "99999", "4633a", "46336.5", ""] {
            assert_eq!(excel_serial(not), None, "{not}");
        }
        for sci in ["3.20902E+17", "9.13209E17", "3E+17"] {
            assert!(scientific(sci), "{sci}");
        }
        for not in [
            "91320900MA1MB4X50R",
            "913209001234E56789",
            "1e18",
            "E+17",
            "3.2E",
            "320902198503151234",
        ] {
            assert!(!scientific(not), "{not}");
        }
    }
}

#[cfg(test)]
mod date_shape_tests {
    use super::shaped_as_date;

    /// A date written in a form the importer reads, whose day does not exist, is told so.
    #[test]
    fn a_well_written_day_that_does_not_exist_is_told_apart() {
        for v in [
            "2026-02-30",
            "2026/13/01",
            "2026年2月30日",
            "20260230",
            "２０２６-０２-３０",
        ] {
            assert!(shaped_as_date(v), "{v}");
        }
        for v in ["2026-5", "二〇二六年", "30/02/2026", "abc", "2026-02-30-01"] {
            assert!(!shaped_as_date(v), "{v}");
        }
    }
}
