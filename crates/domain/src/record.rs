//! Subjects, records and their versions: the vocabulary the store and every view share.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::catalog::{PublicityKind, SharingScope};

/// The end date of something that has none (a licence valid 长期): 2099-12-31, as the national
/// 双公示 data standard writes it (domain.md §3.2).
pub const NO_END_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2099, 12, 31) {
    Some(d) => d,
    None => panic!("2099-12-31 is a date"),
};

/// A day as a page shows it: the no-end date as 长期, as units write it and read it.
pub fn day_shown(d: NaiveDate) -> String {
    if d == NO_END_DATE {
        "长期".into()
    } else {
        d.to_string()
    }
}

/// The three kinds of 行政相对人 in 双公示 data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "双公示数据中的行政相对人类别：organisation（法人和非法人组织）、individual_business（个体工商户）、natural_person（自然人）。"
)]
pub enum SubjectKind {
    Organisation,
    IndividualBusiness,
    NaturalPerson,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Organisation => "organisation",
            SubjectKind::IndividualBusiness => "individual_business",
            SubjectKind::NaturalPerson => "natural_person",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SubjectKind::Organisation => "法人及非法人组织",
            SubjectKind::IndividualBusiness => "个体工商户",
            SubjectKind::NaturalPerson => "自然人",
        }
    }
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            "法人及非法人组织" => Some(SubjectKind::Organisation),
            "个体工商户" => Some(SubjectKind::IndividualBusiness),
            "自然人" => Some(SubjectKind::NaturalPerson),
            _ => None,
        }
    }
    pub fn has_uscc(self) -> bool {
        !matches!(self, SubjectKind::NaturalPerson)
    }
}

impl FromStr for SubjectKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "organisation" => Ok(SubjectKind::Organisation),
            "individual_business" => Ok(SubjectKind::IndividualBusiness),
            "natural_person" => Ok(SubjectKind::NaturalPerson),
            other => SubjectKind::from_label(other)
                .ok_or_else(|| format!("unknown subject kind {other}")),
        }
    }
}

/// Why a version exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// First report of the record.
    Created,
    /// A later report with different content supersedes the earlier version.
    Corrected,
    /// The source unit withdrew the record.
    Withdrawn,
    /// A repair ended its publication.
    Repaired,
    /// A list entry ended early on the subject's application (提前移出).
    Exited,
    /// A list entry's decision was revoked (撤销认定).
    Revoked,
    /// A list entry reached the end of its validity and was moved off the list (到期移出).
    Expired,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Corrected => "corrected",
            ChangeKind::Withdrawn => "withdrawn",
            ChangeKind::Repaired => "repaired",
            ChangeKind::Exited => "exited",
            ChangeKind::Revoked => "revoked",
            ChangeKind::Expired => "expired",
        }
    }
    /// A change that ends the record: it leaves every public view, check and export.
    pub fn ends(self) -> bool {
        !matches!(self, ChangeKind::Created | ChangeKind::Corrected)
    }
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Created => "新增",
            ChangeKind::Corrected => "更正",
            ChangeKind::Withdrawn => "撤回",
            ChangeKind::Repaired => "信用修复",
            ChangeKind::Exited => "提前移出名单",
            ChangeKind::Revoked => "撤销认定",
            ChangeKind::Expired => "到期移出名单",
        }
    }
}

impl FromStr for ChangeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "created" => Ok(ChangeKind::Created),
            "corrected" => Ok(ChangeKind::Corrected),
            "withdrawn" => Ok(ChangeKind::Withdrawn),
            "repaired" => Ok(ChangeKind::Repaired),
            "exited" => Ok(ChangeKind::Exited),
            "revoked" => Ok(ChangeKind::Revoked),
            "expired" => Ok(ChangeKind::Expired),
            other => Err(format!("unknown change kind {other}")),
        }
    }
}

/// Where a record stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "记录在指定日期的状态：public（公示中）、shared（共享，不公示）、not_published（不予公示）、expired（已到期）、repaired（已修复）、withdrawn（已撤回）、exited（已移出名单）、revoked（已撤销认定）。"
)]
pub enum RecordStatus {
    /// Shown to the public (公示中).
    Public,
    /// Kept and shared among departments as its class allows, not shown to the public.
    Shared,
    /// A penalty that is not published at all (轻微, warning-only).
    NotPublished,
    /// Past its publicity window or validity.
    Expired,
    Repaired,
    Withdrawn,
    /// Moved off its list (early exit or expiry).
    Exited,
    /// Its listing decision was revoked.
    Revoked,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Public => "public",
            RecordStatus::Shared => "shared",
            RecordStatus::NotPublished => "not_published",
            RecordStatus::Expired => "expired",
            RecordStatus::Repaired => "repaired",
            RecordStatus::Withdrawn => "withdrawn",
            RecordStatus::Exited => "exited",
            RecordStatus::Revoked => "revoked",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            RecordStatus::Public => "公示中",
            RecordStatus::Shared => "共享（不公示）",
            RecordStatus::NotPublished => "不予公示",
            RecordStatus::Expired => "已到期",
            RecordStatus::Repaired => "已修复",
            RecordStatus::Withdrawn => "已撤回",
            RecordStatus::Exited => "已移出名单",
            RecordStatus::Revoked => "已撤销认定",
        }
    }
}

impl fmt::Display for RecordStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The facts of a record version that decide its status on a day.
#[derive(Debug, Clone, Copy)]
pub struct StatusFacts {
    pub change: ChangeKind,
    pub publicity: PublicityKind,
    pub sharing: SharingScope,
    /// For penalties: whether the window publishes it at all.
    pub published: bool,
    /// Publication end (penalties) or validity end (licences, list entries), inclusive.
    pub ends: Option<NaiveDate>,
}

/// The status of a record on `day`: withdrawal and repair first, then the window or validity.
pub fn status_on(f: StatusFacts, day: NaiveDate) -> RecordStatus {
    match f.change {
        ChangeKind::Withdrawn => return RecordStatus::Withdrawn,
        ChangeKind::Repaired => return RecordStatus::Repaired,
        ChangeKind::Exited | ChangeKind::Expired => return RecordStatus::Exited,
        ChangeKind::Revoked => return RecordStatus::Revoked,
        _ => {}
    }
    let past = f.ends.is_some_and(|e| day > e);
    match f.publicity {
        PublicityKind::Penalty | PublicityKind::Licence if !f.published => {
            RecordStatus::NotPublished
        }
        PublicityKind::Penalty | PublicityKind::Licence | PublicityKind::List if past => {
            RecordStatus::Expired
        }
        PublicityKind::Penalty | PublicityKind::Licence | PublicityKind::List => {
            if f.sharing == SharingScope::Public {
                RecordStatus::Public
            } else {
                RecordStatus::Shared
            }
        }
        // A record of a public class its catalog keeps from the public (a tax grade below A)
        // is shared, not public.
        PublicityKind::None => match f.sharing {
            SharingScope::Public if !past && f.published => RecordStatus::Public,
            _ if past => RecordStatus::Expired,
            _ => RecordStatus::Shared,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn penalty_leaves_public_after_its_end_day() {
        let f = StatusFacts {
            change: ChangeKind::Created,
            publicity: PublicityKind::Penalty,
            sharing: SharingScope::Public,
            published: true,
            ends: Some(d("2027-04-01")),
        };
        assert_eq!(status_on(f, d("2027-04-01")), RecordStatus::Public);
        assert_eq!(status_on(f, d("2027-04-02")), RecordStatus::Expired);
        let w = StatusFacts {
            change: ChangeKind::Withdrawn,
            ..f
        };
        assert_eq!(status_on(w, d("2026-05-01")), RecordStatus::Withdrawn);
        let m = StatusFacts {
            published: false,
            ends: None,
            ..f
        };
        assert_eq!(status_on(m, d("2026-05-01")), RecordStatus::NotPublished);
    }
}
