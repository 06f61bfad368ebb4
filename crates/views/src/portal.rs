//! Rows of the portal's columns (双公示, lists, open data), built from the records public now.

use std::collections::HashMap;

use domain::catalog::{CatalogClass, Role};
use rulebook::Rulebook;
use serde::Serialize;
use store::{PublicRecord, payload_pairs_on};

/// One line of a 双公示 or list column.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnRow {
    pub record_id: String,
    pub subject_key: String,
    pub subject_name: String,
    /// USCC, or the masked ID number of a person.
    pub subject_code: String,
    pub class_name: String,
    pub decision_no: String,
    pub category: String,
    pub content: String,
    pub basis: String,
    pub unit: String,
    pub division_name: String,
    pub decided_on: String,
    pub repairable_from: String,
    pub ends: String,
    pub under_objection: bool,
}

fn role_value(class: &CatalogClass, items: &HashMap<String, String>, role: Role) -> String {
    class
        .item_by_role(role)
        .and_then(|i| items.get(&i.code))
        .cloned()
        .unwrap_or_default()
}

fn content_of(class: &CatalogClass, items: &HashMap<String, String>) -> String {
    for code in [
        "CF_NR", "XK_NR", "MD_LRYY", "SX_JTQX", "QZ_NR", "CN_NR", "RY_MC", "HT_MC",
    ] {
        if class.item(code).is_some()
            && let Some(v) = items.get(code)
        {
            return v.clone();
        }
    }
    String::new()
}

pub fn column_rows(rules: &Rulebook, records: &[PublicRecord]) -> Vec<ColumnRow> {
    records
        .iter()
        .filter_map(|r| {
            let class = rules.catalog.class_by_code(&r.class_code)?;
            let items: HashMap<String, String> = payload_pairs_on(&r.payload, r.decided_on)
                .into_iter()
                .collect();
            let code = {
                let uscc = role_value(class, &items, Role::SubjectUscc);
                // A person is shown by the masked ID number, never the whole of it.
                if uscc.is_empty() {
                    let id = role_value(class, &items, Role::SubjectIdNumber);
                    if id.is_empty() {
                        id
                    } else {
                        domain::ids::mask_id_number(&id)
                    }
                } else {
                    uscc
                }
            };
            Some(ColumnRow {
                record_id: r.record_id.clone(),
                subject_key: r.subject_key.clone(),
                subject_name: role_value(class, &items, Role::SubjectName),
                subject_code: code,
                class_name: class.name.clone(),
                decision_no: role_value(class, &items, Role::DecisionNo),
                // A class with no 类别 item (失信被执行人) is its own type on the list pages.
                category: match &r.category {
                    Some(c) if !c.is_empty() => c.replace(';', "、"),
                    _ if class.index_of_role(Role::Category).is_none()
                        && class.index_of_role(Role::PenaltyCategories).is_none() =>
                    {
                        class.name.clone()
                    }
                    _ => String::new(),
                },
                content: {
                    // The fine in 元 beside the decision's words, which often state it in 万元
                    // as the source wrote them (the platform stores it converted, exactly).
                    // The confiscated amount likewise.
                    let words = content_of(class, &items);
                    let amounts: Vec<String> =
                        [(Role::Fine, "罚款金额"), (Role::Confiscation, "没收金额")]
                            .into_iter()
                            .filter_map(|(role, label)| {
                                let v = role_value(class, &items, role);
                                (!v.is_empty()).then(|| format!("{label}{v}元"))
                            })
                            .collect();
                    if amounts.is_empty() {
                        words
                    } else {
                        format!("{words}（{}）", amounts.join("；"))
                    }
                },
                // A court's list gives the number of the judgment it enforces, not a rule: named
                // as what it is under the lists' 认定依据 heading.
                basis: match class.item_by_role(Role::LegalBasis) {
                    Some(i) if i.name.ends_with("文号") => {
                        let v = role_value(class, &items, Role::LegalBasis);
                        if v.is_empty() {
                            v
                        } else {
                            format!("{}：{v}", i.name)
                        }
                    }
                    _ => role_value(class, &items, Role::LegalBasis),
                },
                unit: role_value(class, &items, Role::DecidingUnit),
                division_name: r
                    .division
                    .as_deref()
                    .and_then(|d| rules.divisions.get(d))
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                decided_on: r.decided_on.map(|d| d.to_string()).unwrap_or_default(),
                repairable_from: r.repairable_from.map(|d| d.to_string()).unwrap_or_default(),
                ends: r
                    .public_ends
                    .map(domain::record::day_shown)
                    .unwrap_or_default(),
                under_objection: r.under_objection,
            })
        })
        .collect()
}

/// The public items of a class, in catalog order, for open data: code, header.
pub fn open_columns(class: &CatalogClass) -> Vec<(String, String)> {
    class
        .items
        .iter()
        .filter(|i| i.public)
        .map(|i| (i.code.clone(), crate::item_label(i).into_owned()))
        .collect()
}

/// The public values of a record, aligned with [`open_columns`].
pub fn open_values(
    columns: &[(String, String)],
    payload: &str,
    decided_on: Option<chrono::NaiveDate>,
) -> Vec<String> {
    let items: HashMap<String, String> =
        payload_pairs_on(payload, decided_on).into_iter().collect();
    columns
        .iter()
        .map(|(c, _)| items.get(c).cloned().unwrap_or_default())
        .collect()
}
