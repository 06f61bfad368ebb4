//! Joint reward and punishment (联合奖惩) as data: the matters (事项) a department checks a subject
//! for, the measures (措施) a list entry carries for a matter, and the evaluation of a check —
//! which measures apply to a subject, through its own entries or its legal representative's,
//! and the verdict they add up to. The measure book is parsed from `data/measures.toml`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
    pub effect: Effect,
    // Who implements it.
    /// 实施单位。
    pub body: String,
    pub basis: String,
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
        let b: MeasureBook = toml::from_str(text).map_err(|e| e.to_string())?;
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

    pub fn matter(&self, code_or_name: &str) -> Option<&Matter> {
        self.matters
            .iter()
            .find(|m| m.code == code_or_name || m.name == code_or_name)
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
    /// Whether a hit of this kind (whose entry, which list) triggers the measure.
    pub fn triggered_by(&self, h: &Hit<'_>) -> bool {
        let lists = match h.via {
            Via::Subject => &self.targets,
            Via::LegalRep => &self.legal_rep_targets,
            Via::RepresentedOrg => &self.represented_targets,
        };
        lists.iter().any(|t| t == h.class_code)
    }
}

pub fn evaluate(book: &MeasureBook, matter: &str, hits: &[Hit<'_>]) -> Evaluation {
    let mut applied = Vec::new();
    for (i, m) in book.measures.iter().enumerate() {
        if !m.matters.iter().any(|x| x == matter) {
            continue;
        }
        let by: Vec<usize> = hits
            .iter()
            .enumerate()
            .filter(|(_, h)| m.triggered_by(h))
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
            .any(|m| !m.effect.is_incentive() && m.triggered_by(h))
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
            }],
        );
        assert_eq!(red.verdict, Verdict::Incentive);
        let red_and_serious = [
            Hit {
                class_code: "HMD",
                via: Via::Subject,
            },
            Hit {
                class_code: "YZSX",
                via: Via::Subject,
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
                    via: Via::Subject
                }]
            )
            .verdict,
            Verdict::Clear
        );
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
