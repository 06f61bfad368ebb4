//! Joint reward and punishment (联合奖惩) as data: the matters (事项) a department checks a subject
//! for, the measures (措施) a list entry — or the subject's own administrative penalty, by its
//! 处罚类别, fine and date (`penalty`) — carries for a matter, and the evaluation of a check —
//! which measures apply to a subject, through its own entries or its legal representative's,
//! and the verdict they add up to. The measure book is parsed from `data/measures.toml`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Fen;

/// What a measure does, strongest first within punishment, then the incentives.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "措施效果：forbid（禁止）、restrict（限制）、review（审慎审核）、supervise（重点监管）为惩戒，由强到弱；green_channel（绿色通道）、favour（优先/加分）、simplify（简化程序）为激励。"
)]
pub enum Effect {
    /// 禁止: the matter may not go ahead for this subject.
    Forbid,
    /// 限制: restricted as the measure says.
    Restrict,
    /// 审慎审核: stricter review, no notify-and-commit shortcut.
    Review,
    /// 重点监管: more frequent inspection, priority supervision.
    Supervise,
    /// 绿色通道: fast lane.
    GreenChannel,
    /// 优先/加分: favoured under equal conditions.
    Favour,
    /// 简化程序: fewer checks, 容缺受理.
    Simplify,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Forbid => "forbid",
            Effect::Restrict => "restrict",
            Effect::Review => "review",
            Effect::Supervise => "supervise",
            Effect::GreenChannel => "green_channel",
            Effect::Favour => "favour",
            Effect::Simplify => "simplify",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Effect::Forbid => "禁止",
            Effect::Restrict => "限制",
            Effect::Review => "审慎审核",
            Effect::Supervise => "重点监管",
            Effect::GreenChannel => "绿色通道",
            Effect::Favour => "优先激励",
            Effect::Simplify => "简化程序",
        }
    }
    pub fn is_incentive(self) -> bool {
        matches!(
            self,
            Effect::GreenChannel | Effect::Favour | Effect::Simplify
        )
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Effect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Effect::Forbid,
            Effect::Restrict,
            Effect::Review,
            Effect::Supervise,
            Effect::GreenChannel,
            Effect::Favour,
            Effect::Simplify,
        ]
        .into_iter()
        .find(|e| e.as_str() == s || e.label() == s)
        .ok_or_else(|| format!("未知的措施效果“{s}”"))
    }
}

/// The overall answer of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "核查的总体结论：clear（未发现限制）、forbid（禁止）、restrict（限制）、review（审慎审核）、supervise（重点监管）、incentive（仅适用守信激励）。"
)]
pub enum Verdict {
    /// No measure applies (无限制).
    Clear,
    /// The strongest punishing effect among the measures that apply.
    Forbid,
    Restrict,
    Review,
    Supervise,
    /// Only incentives apply.
    Incentive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clear => "clear",
            Verdict::Forbid => "forbid",
            Verdict::Restrict => "restrict",
            Verdict::Review => "review",
            Verdict::Supervise => "supervise",
            Verdict::Incentive => "incentive",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Clear => "未发现限制",
            Verdict::Forbid => "禁止",
            Verdict::Restrict => "限制",
            Verdict::Review => "审慎审核",
            Verdict::Supervise => "重点监管",
            Verdict::Incentive => "守信激励",
        }
    }
    pub fn parse(s: &str) -> Option<Verdict> {
        [
            Verdict::Clear,
            Verdict::Forbid,
            Verdict::Restrict,
            Verdict::Review,
            Verdict::Supervise,
            Verdict::Incentive,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A matter a department is about to decide.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[schema(description = "部门办理、须先核查信用的事项。")]
pub struct Matter {
    pub code: String,
    pub name: String,
    // The check also looks across the legal-representative relation: at an organisation's
    // legal representative, and at the organisations a person represents.
    /// 核查是否延伸至法定代表人关系：组织的法定代表人，以及自然人担任法定代表人的组织。
    #[serde(default)]
    pub check_legal_rep: bool,
    // Subjects the matter concerns: organisation, individual_business, natural_person.
    /// 事项适用的主体类型：organisation（法人和非法人组织）、individual_business（个体工商户）、natural_person（自然人）。
    #[serde(default)]
    pub subjects: Vec<String>,
}

/// The type of a measure in the national basic list (three types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "措施类型（全国失信惩戒措施基础清单的三类，另加守信激励）：administrative（减损权益或增加义务的行政性措施）、management（不减损权益的管理性措施）、market（市场主体或行业组织自主采取的措施）、incentive（红名单激励措施）。"
)]
pub enum MeasureKind {
    /// Reduces rights or adds obligations, by public bodies under law.
    Administrative,
    /// Management measures for duty needs that do not reduce rights.
    Management,
    /// By market or industry bodies on their own decision.
    Market,
    /// Incentives for the red list.
    Incentive,
}

impl MeasureKind {
    /// As the national basic list names its three types (and the incentives beside them).
    pub fn label(self) -> &'static str {
        match self {
            MeasureKind::Administrative => "减损权益或增加义务的措施",
            MeasureKind::Management => "管理性措施",
            MeasureKind::Market => "市场性、行业性措施",
            MeasureKind::Incentive => "守信激励措施",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Measure {
    pub id: String,
    pub name: String,
    pub kind: MeasureKind,
    // Matter codes it applies to.
    /// 适用的事项代码。
    pub matters: Vec<String>,
    // List classes whose entries on the subject itself trigger it.
    /// 主体本身在这些名单类别中有记录时适用该措施。
    #[serde(default)]
    pub targets: Vec<String>,
    // List classes whose entries on the subject's legal representative trigger it.
    /// 主体的法定代表人在这些名单类别中有记录时适用该措施。
    #[serde(default)]
    pub legal_rep_targets: Vec<String>,
    // List classes whose entries on an organisation the subject (a person) represents as its
    // legal representative trigger it.
    /// 主体（自然人）担任法定代表人的组织在这些名单类别中有记录时适用该措施。
    #[serde(default)]
    pub represented_targets: Vec<String>,
    // Triggered also by the subject's own administrative penalties (行政处罚) that meet this.
    /// 主体本身受到的、符合该条件的行政处罚也触发该措施。
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<PenaltyTrigger>,
    pub effect: Effect,
    // Who implements it.
    /// 实施单位。
    pub body: String,
    pub basis: String,
    // Set while the basis awaits the credit office's confirmation (recalled, not checked
    // against the list's text): what is to be confirmed. Shown beside the basis wherever the
    // measure is, so that an officer does not rely on it unawares.
    /// 依据尚待市信用办核定时的说明（核定后删除）；有此项时，各处显示依据时一并注明“依据待核定”。
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis_pending: Option<String>,
}

impl Measure {
    /// The basis as shown to officers: with its note while it awaits confirmation.
    pub fn basis_shown(&self) -> String {
        match &self.basis_pending {
            Some(note) => format!("{}（依据待市信用办核定：{note}）", self.basis),
            None => self.basis.clone(),
        }
    }
}

/// Which of the subject's own administrative penalties trigger a measure: one decided within
/// `within_years` before the check's day that carries one of `categories` (处罚类别, as the
/// catalog's enumeration names them) or a fine of at least `fine_at_least` 元.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "触发措施的行政处罚条件：核查之日前若干年内作出、处罚类别属于所列类别之一，或罚款金额不低于所列金额（元）。"
)]
pub struct PenaltyTrigger {
    // Years before the check's day, counted from the decision date.
    /// 自处罚决定日期起算的年数（核查之日前）。
    pub within_years: u32,
    // 处罚类别 that trigger it.
    /// 触发措施的处罚类别。
    #[serde(default)]
    pub categories: Vec<String>,
    // A fine at least this large (元, an exact decimal) triggers it.
    /// 罚款金额达到该数额（元，精确到分）即触发措施。
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_at_least: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    fine_fen: Option<Fen>,
}

/// A penalty as the evaluation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyFacts {
    pub decided_on: NaiveDate,
    pub categories: Vec<String>,
    pub fine: Option<Fen>,
}

impl PenaltyTrigger {
    /// The fine threshold, exact.
    pub fn fine_threshold(&self) -> Option<Fen> {
        self.fine_fen
    }

    /// Whether the penalty meets the trigger's categories or fine, whenever it was decided.
    pub fn qualifies(&self, p: &PenaltyFacts) -> bool {
        p.categories.iter().any(|c| self.categories.contains(c))
            || matches!((p.fine, self.fine_fen), (Some(f), Some(t)) if f >= t)
    }

    /// Whether the penalty triggers the measure on `day`. The years count from the decision
    /// (政府采购法 第二十二条: 参加采购活动前三年内), not from the end of its publicity: a
    /// penalty whose publicity window has closed is still a 重大违法记录 within them. The day
    /// three years back counts as within.
    pub fn applies(&self, p: &PenaltyFacts, day: NaiveDate) -> bool {
        let from = day
            .checked_sub_months(chrono::Months::new(self.within_years.saturating_mul(12)))
            .unwrap_or(NaiveDate::MIN);
        p.decided_on >= from && p.decided_on <= day && self.qualifies(p)
    }
}

/// The 累计失信 warning: a subject with at least `threshold` dishonesty records in `years`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AccumulationRule {
    pub threshold: usize,
    pub years: u32,
    pub classes: Vec<String>,
    pub basis: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MeasureBook {
    pub version: String,
    pub basis: String,
    #[serde(rename = "matter")]
    pub matters: Vec<Matter>,
    #[serde(rename = "measure")]
    pub measures: Vec<Measure>,
    pub accumulation: AccumulationRule,
}

impl MeasureBook {
    /// Parses and checks the book: every measure names known matters, list classes among
    /// `list_classes`, and a basis.
    pub fn parse(text: &str, list_classes: &[&str]) -> Result<Self, String> {
        let mut b: MeasureBook = toml::from_str(text).map_err(|e| e.to_string())?;
        for m in &mut b.measures {
            if let Some(p) = &mut m.penalty {
                if p.within_years == 0 {
                    return Err(format!("措施{}的行政处罚年限须至少一年", m.id));
                }
                p.fine_fen = match &p.fine_at_least {
                    Some(f) => Some(
                        Fen::parse_yuan(f).map_err(|e| format!("措施{}的罚款金额：{e}", m.id))?,
                    ),
                    None => None,
                };
                if p.categories.is_empty() && p.fine_fen.is_none() {
                    return Err(format!("措施{}的行政处罚条件没有处罚类别或罚款金额", m.id));
                }
            }
        }
        let mut seen = BTreeSet::new();
        for m in &b.matters {
            if !seen.insert(m.code.as_str()) {
                return Err(format!("事项代码{}重复", m.code));
            }
        }
        let mut ids = BTreeSet::new();
        for m in &b.measures {
            if !ids.insert(m.id.as_str()) {
                return Err(format!("措施编号{}重复", m.id));
            }
            if m.basis.trim().is_empty() {
                return Err(format!("措施{}没有依据", m.id));
            }
            if m.matters.is_empty()
                || m.targets.is_empty()
                    && m.legal_rep_targets.is_empty()
                    && m.represented_targets.is_empty()
                    && m.penalty.is_none()
            {
                return Err(format!("措施{}没有适用事项或对象名单", m.id));
            }
            if let Some(x) = m.matters.iter().find(|x| !seen.contains(x.as_str())) {
                return Err(format!("措施{}的事项{x}不存在", m.id));
            }
            if let Some(x) = m
                .targets
                .iter()
                .chain(&m.legal_rep_targets)
                .chain(&m.represented_targets)
                .find(|x| !list_classes.contains(&x.as_str()))
            {
                return Err(format!("措施{}的名单{x}不是名单类信息", m.id));
            }
            if (m.kind == MeasureKind::Incentive) != m.effect.is_incentive() {
                return Err(format!("措施{}的类型与效果不一致", m.id));
            }
        }
        Ok(b)
    }

    /// Checks the penalty triggers' categories against the catalog's 处罚类别 enumeration: a
    /// misspelt category would silently never match.
    pub fn check_penalty_categories(&self, known: &[String]) -> Result<(), String> {
        for m in &self.measures {
            if let Some(p) = &m.penalty
                && let Some(c) = p.categories.iter().find(|c| !known.contains(c))
            {
                return Err(format!("措施{}的处罚类别“{c}”不在处罚类别代码表中", m.id));
            }
        }
        Ok(())
    }

    /// The penalty triggers of all measures: what the check index keeps penalties for.
    pub fn penalty_triggers(&self) -> Vec<&PenaltyTrigger> {
        self.measures
            .iter()
            .filter_map(|m| m.penalty.as_ref())
            .collect()
    }

    /// A matter by its code, in any letter case (zfcg as ZFCG, as list classes are read), or
    /// by its name.
    pub fn matter(&self, code_or_name: &str) -> Option<&Matter> {
        let c = code_or_name.trim();
        self.matters
            .iter()
            .find(|m| m.code.eq_ignore_ascii_case(c) || m.name == c)
    }

    pub fn measure(&self, id: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.id == id)
    }

    /// Every list class some measure targets.
    pub fn list_classes(&self) -> BTreeSet<&str> {
        self.measures
            .iter()
            .flat_map(|m| {
                m.targets
                    .iter()
                    .chain(&m.legal_rep_targets)
                    .chain(&m.represented_targets)
            })
            .map(String::as_str)
            .collect()
    }
}

/// Whose entry triggered a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "触发措施的名单记录属于谁：subject（主体本身）、legal_rep（法定代表人）、represented_org（主体担任法定代表人的组织）。"
)]
pub enum Via {
    Subject,
    LegalRep,
    /// An organisation the subject (a person) represents as its legal representative.
    RepresentedOrg,
}

impl Via {
    /// Whose entry, as the console and result files say it.
    pub fn label(self) -> &'static str {
        match self {
            Via::Subject => "本主体",
            Via::LegalRep => "法定代表人",
            Via::RepresentedOrg => "所任法定代表人的组织",
        }
    }
}

/// A list entry in force, as the evaluation needs it.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub class_code: &'a str,
    pub via: Via,
    /// The subject's own penalty (class CF), when the hit is one: it triggers measures by their
    /// penalty condition, not by list.
    pub penalty: Option<&'a PenaltyFacts>,
}

/// A measure that applies, and the hits (indexes into the input) behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub measure: usize,
    pub hits: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub applied: Vec<Applied>,
}

/// Which measures of `matter` the hits trigger, and the verdict: the strongest punishing effect,
/// else incentives if any apply, else clear. Incentives are for the trustworthy only: a subject
/// with a hit on a dishonesty list (one that some punishing measure targets — 严重失信,
/// 重点关注, 失信被执行人) gets no red-list favour in any matter, even where that list carries
/// no measure of the matter's own.
impl Measure {
    /// Whether a hit of this kind (whose entry, which list; or the subject's penalty, on `day`)
    /// triggers the measure.
    pub fn triggered_by(&self, h: &Hit<'_>, day: NaiveDate) -> bool {
        if let Some(p) = h.penalty {
            return h.via == Via::Subject
                && self.penalty.as_ref().is_some_and(|t| t.applies(p, day));
        }
        let lists = match h.via {
            Via::Subject => &self.targets,
            Via::LegalRep => &self.legal_rep_targets,
            Via::RepresentedOrg => &self.represented_targets,
        };
        lists.iter().any(|t| t == h.class_code)
    }
}

pub fn evaluate(book: &MeasureBook, matter: &str, hits: &[Hit<'_>], day: NaiveDate) -> Evaluation {
    let mut applied = Vec::new();
    for (i, m) in book.measures.iter().enumerate() {
        if !m.matters.iter().any(|x| x == matter) {
            continue;
        }
        let by: Vec<usize> = hits
            .iter()
            .enumerate()
            .filter(|(_, h)| m.triggered_by(h, day))
            .map(|(j, _)| j)
            .collect();
        if !by.is_empty() {
            applied.push(Applied {
                measure: i,
                hits: by,
            });
        }
    }
    let punish = applied
        .iter()
        .map(|a| book.measures[a.measure].effect)
        .filter(|e| !e.is_incentive())
        .min();
    let dishonest = hits.iter().any(|h| {
        book.measures
            .iter()
            .any(|m| !m.effect.is_incentive() && m.triggered_by(h, day))
    });
    if punish.is_some() || dishonest {
        applied.retain(|a| !book.measures[a.measure].effect.is_incentive());
    }
    let verdict = match punish {
        Some(Effect::Forbid) => Verdict::Forbid,
        Some(Effect::Restrict) => Verdict::Restrict,
        Some(Effect::Review) => Verdict::Review,
        Some(_) => Verdict::Supervise,
        None if !applied.is_empty() => Verdict::Incentive,
        None => Verdict::Clear,
    };
    Evaluation { verdict, applied }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluate(b: &MeasureBook, matter: &str, hits: &[Hit<'_>]) -> Evaluation {
        super::evaluate(
            b,
            matter,
            hits,
            NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        )
    }

    const LISTS: &[&str] = &["YZSX", "HMD", "ZDGZ", "SXBZXR"];

    fn book() -> MeasureBook {
        MeasureBook::parse(
            r#"
version = "t"
basis = "t"
[accumulation]
threshold = 3
years = 2
classes = ["CF"]
basis = "t"
[[matter]]
code = "ZFCG"
name = "政府采购"
check_legal_rep = true
[[matter]]
code = "PYPX"
name = "评优评先"
[[measure]]
id = "P1"
name = "限制参加政府采购"
kind = "administrative"
matters = ["ZFCG"]
targets = ["YZSX", "SXBZXR"]
effect = "forbid"
body = "采购人"
basis = "政府采购法第二十二条"
[[measure]]
id = "P2"
name = "法定代表人失信，审慎审核"
kind = "management"
matters = ["ZFCG"]
legal_rep_targets = ["SXBZXR"]
effect = "review"
body = "采购人"
basis = "b"
[[measure]]
id = "R1"
name = "评优评先优先"
kind = "incentive"
matters = ["PYPX", "ZFCG"]
targets = ["HMD"]
effect = "favour"
body = "评选单位"
basis = "b"
"#,
            LISTS,
        )
        .unwrap()
    }

    #[test]
    fn verdicts_follow_the_strongest_effect() {
        let b = book();
        let none = evaluate(&b, "ZFCG", &[]);
        assert_eq!(none.verdict, Verdict::Clear);
        let own = evaluate(
            &b,
            "ZFCG",
            &[Hit {
                class_code: "YZSX",
                via: Via::Subject,
                penalty: None,
            }],
        );
        assert_eq!(own.verdict, Verdict::Forbid);
        assert_eq!(
            own.applied,
            vec![Applied {
                measure: 0,
                hits: vec![0]
            }]
        );
        // The legal representative on the court's list: stricter review of the organisation.
        let rep = evaluate(
            &b,
            "ZFCG",
            &[Hit {
                class_code: "SXBZXR",
                via: Via::LegalRep,
                penalty: None,
            }],
        );
        assert_eq!(rep.verdict, Verdict::Review);
        assert_eq!(b.measures[rep.applied[0].measure].id, "P2");
        // A person on the serious list does not trigger the organisation's own-entry measure.
        let rep2 = evaluate(
            &b,
            "ZFCG",
            &[Hit {
                class_code: "YZSX",
                via: Via::LegalRep,
                penalty: None,
            }],
        );
        assert_eq!(rep2.verdict, Verdict::Clear);
        // Red list alone: incentive; red list and serious list: punished, incentive dropped.
        let red = evaluate(
            &b,
            "PYPX",
            &[Hit {
                class_code: "HMD",
                via: Via::Subject,
                penalty: None,
            }],
        );
        assert_eq!(red.verdict, Verdict::Incentive);
        let red_and_serious = [
            Hit {
                class_code: "HMD",
                via: Via::Subject,
                penalty: None,
            },
            Hit {
                class_code: "YZSX",
                via: Via::Subject,
                penalty: None,
            },
        ];
        let both = evaluate(&b, "ZFCG", &red_and_serious);
        assert_eq!(both.verdict, Verdict::Forbid);
        assert!(
            both.applied
                .iter()
                .all(|a| b.measures[a.measure].id != "R1")
        );
        // On the red list and a dishonesty list, in a matter where only the red list has a
        // measure: no favour, and nothing else applies either.
        let no_favour = evaluate(&b, "PYPX", &red_and_serious);
        assert_eq!(no_favour.verdict, Verdict::Clear);
        assert!(no_favour.applied.is_empty());
        // Another matter: nothing applies.
        assert_eq!(
            evaluate(
                &b,
                "PYPX",
                &[Hit {
                    class_code: "YZSX",
                    via: Via::Subject,
                    penalty: None,
                }]
            )
            .verdict,
            Verdict::Clear
        );
    }

    #[test]
    fn a_penalty_triggers_within_its_years_by_category_or_fine() {
        let text = r#"
version = "t"
basis = "t"
[accumulation]
threshold = 3
years = 2
classes = ["CF"]
basis = "t"
[[matter]]
code = "ZFCG"
name = "政府采购"
[[matter]]
code = "XZXK"
name = "行政许可"
[[measure]]
id = "P1"
name = "重大违法记录"
kind = "administrative"
matters = ["ZFCG"]
penalty = { within_years = 3, categories = ["责令停产停业"], fine_at_least = "2000000" }
effect = "forbid"
body = "采购人"
basis = "政府采购法第二十二条"
"#;
        let b = MeasureBook::parse(text, LISTS).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let hit = |p: &PenaltyFacts, matter: &str, d: NaiveDate| {
            super::evaluate(
                &b,
                matter,
                &[Hit {
                    class_code: "CF",
                    via: Via::Subject,
                    penalty: Some(p),
                }],
                d,
            )
            .verdict
        };
        let stop = |decided_on| PenaltyFacts {
            decided_on,
            categories: vec!["责令停产停业".into()],
            fine: None,
        };
        let three_back = NaiveDate::from_ymd_opt(2023, 6, 1).unwrap();
        assert_eq!(hit(&stop(three_back), "ZFCG", day), Verdict::Forbid);
        assert_eq!(
            hit(&stop(three_back.pred_opt().unwrap()), "ZFCG", day),
            Verdict::Clear
        );
        assert_eq!(hit(&stop(three_back), "XZXK", day), Verdict::Clear);
        let fine = |fen| PenaltyFacts {
            decided_on: three_back,
            categories: vec!["罚款".into()],
            fine: Some(Fen(fen)),
        };
        assert_eq!(hit(&fine(200_000_000), "ZFCG", day), Verdict::Forbid);
        assert_eq!(hit(&fine(199_999_999), "ZFCG", day), Verdict::Clear);
        // A misspelt category is refused against the catalog's enumeration.
        let bad = text.replace("责令停产停业", "责令停业");
        let known = vec!["罚款".to_string(), "责令停产停业".to_string()];
        assert!(
            MeasureBook::parse(&bad, LISTS)
                .unwrap()
                .check_penalty_categories(&known)
                .is_err()
        );
        let float = text.replace("\"2000000\"", "\"2000000.001\"");
        assert!(MeasureBook::parse(&float, LISTS).is_err());
    }

    #[test]
    fn a_book_with_a_bad_measure_is_refused() {
        let text = r#"
version = "t"
basis = "t"
[accumulation]
threshold = 3
years = 2
classes = ["CF"]
basis = "t"
[[matter]]
code = "ZFCG"
name = "政府采购"
[[measure]]
id = "P1"
name = "x"
kind = "administrative"
matters = ["ZFCG"]
targets = ["CF"]
effect = "forbid"
body = "b"
basis = "b"
"#;
        assert!(
            MeasureBook::parse(text, LISTS)
                .unwrap_err()
                .contains("不是名单类信息")
        );
        let no_basis = text
            .replace("targets = [\"CF\"]", "targets = [\"YZSX\"]")
            .replace("basis = \"b\"", "basis = \"\"");
        assert!(
            MeasureBook::parse(&no_basis, LISTS)
                .unwrap_err()
                .contains("没有依据")
        );
        let bad_matter = text
            .replace("targets = [\"CF\"]", "targets = [\"YZSX\"]")
            .replace("matters = [\"ZFCG\"]", "matters = [\"XX\"]");
        assert!(
            MeasureBook::parse(&bad_matter, LISTS)
                .unwrap_err()
                .contains("事项XX不存在")
        );
    }
}
