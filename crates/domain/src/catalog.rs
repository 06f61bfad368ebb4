//! The public credit information catalog (公共信用信息目录): information classes, their data items
//! (national field codes and Chinese names, types, requirements, enumerations), sharing scope,
//! update frequency and who may report them. Loaded from `data/catalog.toml`.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SharingScope {
    #[serde(rename = "公开")]
    Public,
    #[serde(rename = "有条件共享")]
    Conditional,
    #[serde(rename = "不予共享")]
    NotShared,
}

impl SharingScope {
    pub fn as_str(self) -> &'static str {
        match self {
            SharingScope::Public => "公开",
            SharingScope::Conditional => "有条件共享",
            SharingScope::NotShared => "不予共享",
        }
    }
}

/// How a class is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicityKind {
    /// 行政处罚: window by regime (publicity rules).
    Penalty,
    /// 行政许可: public while the record stands.
    Licence,
    /// List entries: public from listing to exit.
    List,
    /// Not published by itself; shown in the subject's file as its sharing scope allows.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListType {
    Red,
    Serious,
    Focus,
}

impl ListType {
    pub fn as_str(self) -> &'static str {
        match self {
            ListType::Red => "red",
            ListType::Serious => "serious",
            ListType::Focus => "focus",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    Text,
    Date,
    /// An amount in 万元, kept as exact fen.
    Wan,
    Enum,
    EnumMulti,
    Uscc,
    /// An ID number whose kind is given by the matching 证件类型 item.
    IdNumber,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Always,
    Optional,
    /// Required for 法人及非法人组织 and 个体工商户.
    Organisation,
    /// Required for 自然人.
    NaturalPerson,
    /// Required when `when_item` holds any of `when_any`.
    When,
}

/// What the platform uses an item for, whatever its code in a given class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SubjectName,
    SubjectKind,
    SubjectUscc,
    SubjectIdType,
    SubjectIdNumber,
    LegalRep,
    LegalRepIdType,
    LegalRepIdNumber,
    DecisionNo,
    DecisionDate,
    DecidingUnit,
    DecidingUnitUscc,
    SourceUnit,
    SourceUnitUscc,
    LegalBasis,
    PenaltyCategories,
    /// 许可类别, 名单类型: what the 双公示 and list columns filter by.
    Category,
    Fine,
    /// 处罚内容: the decision's words, which state the fine in 元 or 万元.
    PenaltyContent,
    Confiscation,
    Severity,
    ValidFrom,
    ValidTo,
    /// 公示截止期: reported by some units, but the platform's computed window is what holds.
    PublicityEnd,
    Status,
    RegistrationType,
    RegistrationStatus,
    Industry,
    CommitmentType,
    Performance,
    Grade,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataItem {
    pub code: String,
    pub name: String,
    /// The label readers are shown where the name alone misleads (处罚有效期 beside the
    /// platform's 公示截止日期 read as a second end of publicity); the name otherwise.
    pub shown: Option<String>,
    #[serde(rename = "type")]
    pub ty: ItemType,
    pub required: Requirement,
    pub when_item: Option<String>,
    #[serde(default)]
    pub when_any: Vec<String>,
    pub role: Option<Role>,
    /// Name of a shared enumeration in `[enums]`.
    #[serde(rename = "enum")]
    pub enum_name: Option<String>,
    /// Values of an enumeration local to this item.
    #[serde(default)]
    pub values: Vec<String>,
    pub max_len: Option<usize>,
    #[serde(default)]
    pub not_future: bool,
    /// A date that may be "no end" (a licence valid 长期): 长期, 永久 and 9999-12-31 are read as
    /// the standard's 2099-12-31. Not a list entry's end, which the rules bound.
    #[serde(default)]
    pub open_end: bool,
    /// The earliest date a date item may hold, with the law that says why; a date item without
    /// one takes the catalog's `earliest_date` (filled in when the catalog is loaded).
    pub not_before: Option<DateFloor>,
    #[serde(default = "yes")]
    pub public: bool,
    /// Codes of the older (pre-2019) code set that map to this item.
    #[serde(default)]
    pub old: Vec<String>,
    /// Other header texts departments use for this item.
    #[serde(default)]
    pub aka: Vec<String>,
    #[serde(default)]
    pub local: bool,
    /// Values of the enumeration that are valid but cannot be reported as a record of this
    /// class, each with the rule that says why (a 失信被执行人 who has paid in full is deleted
    /// from the list, not reported onto it).
    #[serde(default)]
    pub refused: Vec<RefusedValue>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicOnly {
    pub item: String,
    pub values: Vec<String>,
    pub basis: String,
}

/// A lower bound for dates: a blank cell that a spreadsheet read as 1900-01-01, or a year typed
/// wrong, is not a date the record can hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateFloor {
    pub date: chrono::NaiveDate,
    /// Why no date before it is plausible, told to the source unit.
    pub basis: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusedValue {
    pub value: String,
    /// The reason given to the source unit, with its legal basis.
    pub reason: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogClass {
    pub name: String,
    pub code: String,
    pub category: u32,
    pub sharing: SharingScope,
    pub update: String,
    pub report_working_days: Option<u32>,
    pub publicity: PublicityKind,
    pub list_type: Option<ListType>,
    /// Unit tags (units.toml) allowed to report this class.
    pub sources: Vec<String>,
    /// Items that, with the subject, identify a record across submissions.
    pub key: Vec<String>,
    #[serde(default)]
    pub checks: Vec<String>,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub aka: Vec<String>,
    /// Subject kinds this class may hold; empty means all three.
    #[serde(default)]
    pub subject_kinds: Vec<String>,
    /// For a public class of which only some records are published (纳税信用: the A-level list):
    /// the item and its values that are, and why; the others are kept, not shown to the public.
    pub public_only: Option<PublicOnly>,
    #[serde(rename = "item")]
    pub items: Vec<DataItem>,
    #[serde(skip)]
    roles: HashMap<Role, usize>,
}

impl CatalogClass {
    pub fn item_by_role(&self, role: Role) -> Option<&DataItem> {
        self.roles.get(&role).map(|&i| &self.items[i])
    }
    pub fn index_of_role(&self, role: Role) -> Option<usize> {
        self.roles.get(&role).copied()
    }
    pub fn item(&self, code: &str) -> Option<&DataItem> {
        self.items.iter().find(|i| i.code == code)
    }
    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.items.iter().position(|i| i.code == code)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    pub no: u32,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub version: String,
    pub effective_from: String,
    pub basis: String,
    /// The earliest date any date item may hold unless the item names its own.
    pub earliest_date: DateFloor,
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
    pub enums: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub enum_aliases: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(rename = "class")]
    pub classes: Vec<CatalogClass>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("catalog class {class}: {problem}")]
    Invalid { class: String, problem: String },
}

/// Folds full-width parentheses and spaces so that 守信激励(红)名单 finds 守信激励（红）名单.
pub fn fold_name(s: &str) -> String {
    s.chars()
        .map(crate::text::fold_width)
        .filter(|c| !c.is_whitespace() && *c != '*')
        .map(|c| match c {
            '【' => '[',
            '】' => ']',
            other => other,
        })
        .collect::<String>()
        .to_uppercase()
}

/// A folded header without the notes departments add after a column's name: `(必填)`,
/// `(YYYY-MM-DD)`, `[单位：万元]`; `None` when there is no such note or nothing is left.
pub fn strip_header_notes(folded: &str) -> Option<&str> {
    let mut s = folded;
    while let Some(open) = s
        .strip_suffix(')')
        .and_then(|r| r.rfind('('))
        .or_else(|| s.strip_suffix(']').and_then(|r| r.rfind('[')))
    {
        s = &s[..open];
    }
    (s.len() < folded.len() && !s.is_empty()).then_some(s)
}

impl Catalog {
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let mut cat: Catalog = toml::from_str(text)?;
        cat.validate()?;
        Ok(cat)
    }

    fn validate(&mut self) -> Result<(), CatalogError> {
        let enums = self.enums.clone();
        let floor = self.earliest_date.clone();
        let categories: Vec<u32> = self.categories.iter().map(|c| c.no).collect();
        for class in &mut self.classes {
            for item in &mut class.items {
                if item.ty == ItemType::Date {
                    item.not_before.get_or_insert_with(|| floor.clone());
                }
            }
            let bad = |problem: String| CatalogError::Invalid {
                class: class.name.clone(),
                problem,
            };
            if !categories.contains(&class.category) {
                return Err(bad(format!("unknown category {}", class.category)));
            }
            for k in &class.key {
                if !class.items.iter().any(|i| &i.code == k) {
                    return Err(bad(format!("key item {k} is not an item")));
                }
            }
            if let Some(p) = &class.public_only
                && !class.items.iter().any(|i| i.code == p.item)
            {
                return Err(bad(format!("public_only item {} is not an item", p.item)));
            }
            let mut roles = HashMap::new();
            for (i, item) in class.items.iter().enumerate() {
                if let Some(r) = item.role
                    && roles.insert(r, i).is_some()
                {
                    return Err(bad(format!("role {r:?} given twice")));
                }
                if item.ty != ItemType::Date && item.not_before.is_some() {
                    return Err(bad(format!(
                        "{}: not_before on an item that is no date",
                        item.code
                    )));
                }
                if matches!(item.ty, ItemType::Enum | ItemType::EnumMulti) {
                    match &item.enum_name {
                        Some(n) if !enums.contains_key(n) => {
                            return Err(bad(format!("{}: unknown enum {n}", item.code)));
                        }
                        None if item.values.is_empty() => {
                            return Err(bad(format!("{}: enumeration without values", item.code)));
                        }
                        _ => {}
                    }
                }
                if item.required == Requirement::When
                    && (item.when_item.is_none() || item.when_any.is_empty())
                {
                    return Err(bad(format!(
                        "{}: required=when needs when_item and when_any",
                        item.code
                    )));
                }
            }
            if !roles.contains_key(&Role::SubjectName) {
                return Err(bad("no subject_name item".into()));
            }
            // A check the importer does not know would be skipped without a word.
            for check in &class.checks {
                let known = match check.strip_prefix("date_order:") {
                    Some(order) => order.split_once("<=").is_some_and(|(a, b)| {
                        [a, b]
                            .iter()
                            .all(|c| class.items.iter().any(|i| i.code == *c))
                    }),
                    None => matches!(check.as_str(), "subject_identity" | "penalty_amounts"),
                };
                if !known {
                    return Err(bad(format!("unknown check {check}")));
                }
            }
            class.roles = roles;
        }
        Ok(())
    }

    /// Every class's code, in the catalog's order.
    pub fn codes(&self) -> Vec<&str> {
        self.classes.iter().map(|c| c.code.as_str()).collect()
    }

    /// Finds a class by its Chinese name, code or another name it is known by.
    pub fn class(&self, name: &str) -> Option<&CatalogClass> {
        let f = fold_name(name);
        self.classes.iter().find(|c| {
            fold_name(&c.name) == f
                || c.code.eq_ignore_ascii_case(name.trim())
                || c.aka.iter().any(|a| fold_name(a) == f)
        })
    }

    pub fn class_by_code(&self, code: &str) -> Option<&CatalogClass> {
        self.classes.iter().find(|c| c.code == code)
    }

    /// The allowed values of an enumerated item.
    pub fn values<'a>(&'a self, item: &'a DataItem) -> &'a [String] {
        match &item.enum_name {
            Some(n) => self.enums.get(n).map(Vec::as_slice).unwrap_or(&[]),
            None => &item.values,
        }
    }

    /// The canonical value of an enumerated item for what a department wrote, if any.
    pub fn canonical_value<'a>(&'a self, item: &'a DataItem, raw: &str) -> Option<&'a str> {
        let raw = raw.trim();
        let values = self.values(item);
        if let Some(v) = values.iter().find(|v| v.as_str() == raw) {
            return Some(v);
        }
        let folded = fold_name(raw);
        if let Some(v) = values.iter().find(|v| fold_name(v) == folded) {
            return Some(v);
        }
        let aliases = item
            .enum_name
            .as_ref()
            .and_then(|n| self.enum_aliases.get(n))?;
        let target = aliases.get(raw).or_else(|| aliases.get(&folded))?;
        values.iter().find(|v| *v == target).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        Catalog::parse(include_str!("../../../data/catalog.toml")).unwrap()
    }

    #[test]
    fn classes_the_platform_needs_are_there() {
        let c = cat();
        for name in [
            "登记注册基本信息",
            "行政许可",
            "行政处罚",
            "行政强制",
            "严重失信主体名单",
            "守信激励(红)名单",
            "重点关注名单",
            "信用承诺及履约",
            "合同履行",
            "失信被执行人",
            "纳税信用等级",
            "诚实守信相关荣誉",
        ] {
            assert!(c.class(name).is_some(), "{name}");
        }
        assert_eq!(c.categories.len(), 13);
        let cf = c.class("行政处罚").unwrap();
        assert_eq!(cf.item_by_role(Role::DecisionDate).unwrap().code, "CF_JDRQ");
        assert_eq!(cf.sharing, SharingScope::Public);
        assert!(cf.item("CF_SXYZCD").is_some());
    }

    #[test]
    fn enumerations_accept_aliases() {
        let c = cat();
        let cf = c.class("行政处罚").unwrap();
        let lb = cf.item("CF_XDR_LB").unwrap();
        assert_eq!(
            c.canonical_value(lb, "法人及其他组织"),
            Some("法人及非法人组织")
        );
        assert_eq!(c.canonical_value(lb, "3"), Some("个体工商户"));
        assert_eq!(c.canonical_value(lb, "外星人"), None);
    }

    #[test]
    fn every_date_item_has_a_floor_and_only_date_items_may_name_one() {
        let c = cat();
        let founding = chrono::NaiveDate::from_ymd_opt(1949, 10, 1).unwrap();
        for class in &c.classes {
            for it in class.items.iter().filter(|i| i.ty == ItemType::Date) {
                let f = it.not_before.as_ref().expect(&it.code);
                assert!(f.date >= founding && !f.basis.is_empty(), "{}", it.code);
            }
        }
        let cf = c.class("行政处罚").unwrap();
        let jd = cf.item("CF_JDRQ").unwrap().not_before.as_ref().unwrap();
        assert_eq!(jd.date.to_string(), "1996-10-01");
        let text = include_str!("../../../data/catalog.toml").replacen(
            "max_len = 200\n",
            "max_len = 200\nnot_before = { date = \"2000-01-01\", basis = \"x\" }\n",
            1,
        );
        let e = Catalog::parse(&text).expect_err("refused");
        assert!(
            e.to_string()
                .contains("not_before on an item that is no date"),
            "{e}"
        );
    }
}
