//! A check (信用核查, 逢办必查): a subject and a matter in, the verdict out, with every measure
//! that applies, its basis, the list entries behind it (the subject's own, or its legal
//! representative's when the matter says so), and the hits an officer's exception suppressed.

use chrono::{DateTime, NaiveDate, Utc};
use crypto::KeyRing;
use domain::ids::{ResidentId, Uscc, mask_id_number, normalize};
use domain::measures::{Effect, Hit, MeasureKind, PenaltyFacts, Verdict, Via, evaluate};
use domain::record::SubjectKind;
use rulebook::Rulebook;
use serde::Serialize;

use crate::index::{Entry, ListIndex};

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("“{0}”不是有效的统一社会信用代码或公民身份号码：{1}")]
    BadCode(String, String),
    #[error("事项“{0}”不在联合奖惩措施清单中")]
    UnknownMatter(String),
    #[error("事项“{0}”不适用于{1}")]
    NotForKind(String, &'static str),
}

/// Who was checked, as the result shows it (a person's ID masked).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "被核查的主体，按核查结果显示（自然人的身份证号码已脱敏）。")]
pub struct SubjectRef {
    pub code: String,
    pub name: String,
    pub kind: SubjectKind,
    // The platform holds records of this subject.
    /// 平台是否有该主体的记录。
    pub known: bool,
    #[serde(skip)]
    pub key: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MatterRef {
    pub code: String,
    pub name: String,
}

/// A measure that applies.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "一项适用的措施。")]
pub struct MeasureHit {
    pub id: String,
    pub name: String,
    pub kind: MeasureKind,
    pub effect: Effect,
    pub effect_label: String,
    pub body: String,
    pub basis: String,
    // What of the basis awaits the credit office's confirmation, if anything.
    /// 依据尚待市信用办核定时的说明；为空表示依据已核定。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis_pending: Option<String>,
    // Whose entry triggered it: the subject's own or its legal representative's.
    /// 由谁的名单记录触发：主体本身、其法定代表人，或其担任法定代表人的组织。
    pub via: Via,
    // Record ids of the entries (or penalties) behind it.
    /// 该措施所依据的名单记录（或行政处罚记录）编号。
    pub entries: Vec<String>,
}

/// A list entry behind a measure, or a penalty (class CF) that triggered one: its 文书号
/// (`decision_no`), 处罚类别 (`category`), decision date and fine.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(
    description = "措施所依据的一条名单记录，或触发措施的一条行政处罚记录（class_code 为 CF：decision_no 为处罚决定书文号，category 为处罚类别，decided_on 为处罚决定日期，fine 为罚款金额）。"
)]
pub struct EntryView {
    pub record_id: String,
    pub class_code: String,
    pub list: String,
    pub category: String,
    pub decision_no: String,
    pub reason: String,
    pub basis: String,
    pub deciding_unit: String,
    pub listed_on: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub rectify_by: Option<NaiveDate>,
    pub under_objection: bool,
    pub via: Via,
    // A penalty's decision date.
    /// 行政处罚的处罚决定日期（名单记录无此项）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<NaiveDate>,
    // A penalty's fine in 元, exact to the fen.
    /// 行政处罚的罚款金额（元，精确到分，如“2000000.00”；无罚款或名单记录无此项）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fine: Option<String>,
    #[serde(skip)]
    pub hash: String,
    #[serde(skip)]
    pub penalty: Option<PenaltyFacts>,
}

/// A hit an exception suppressed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "因例外标记而不计为命中的一条记录。")]
pub struct Suppressed {
    pub record_id: String,
    pub exception_id: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    // The check's number, for feedback (0 when not recorded).
    /// 核查编号，反馈时使用（未记录的核查为0）。
    pub check_id: i64,
    pub checked_at: DateTime<Utc>,
    pub subject: SubjectRef,
    pub matter: MatterRef,
    pub verdict: Verdict,
    pub verdict_label: String,
    pub measures: Vec<MeasureHit>,
    pub entries: Vec<EntryView>,
    pub suppressed: Vec<Suppressed>,
    // Measures version and rule digest the verdict came from.
    /// 得出结论所依据的措施清单版本和规则摘要。
    pub rule_version: String,
    // The calling system's number for the matter, as it gave it.
    /// 业务系统的办件编号（请求中提供 reference 时原样返回，否则为空）。
    pub reference: Option<String>,
    // A retry: this unit checked the same subject for the same matter under the same number
    // before; `check_id` is that check's, and nothing new was recorded.
    /// 为 true 时，本单位此前已以同一办件编号（reference）对同一主体、同一事项核查过且结论和适用措施未变：check_id 为那次核查的编号，本次未另行记录、无需另行反馈。结论或措施已变化的，另行记录为新核查，repeated 为 false。
    pub repeated: bool,
}

/// What a check needs to know about a subject that is not on any list: its name and kind.
pub trait Names {
    fn name_of(&self, key: &str) -> Option<(String, SubjectKind)>;
    /// The names of those of `keys` (natural persons') that the platform holds records of, for
    /// a batch, in one go: a name index of organisations does not hold persons, and a batch
    /// must not ask the store once per line.
    fn persons(&self, _keys: &[&str]) -> std::collections::HashMap<String, String> {
        Default::default()
    }
}

impl<F: Fn(&str) -> Option<(String, SubjectKind)>> Names for F {
    fn name_of(&self, key: &str) -> Option<(String, SubjectKind)> {
        self(key)
    }
}

/// The hits a check's entries make, as the measures book evaluates them.
fn hits_of(entries: &[EntryView]) -> Vec<Hit<'_>> {
    entries
        .iter()
        .map(|e| Hit {
            class_code: &e.class_code,
            via: e.via,
            penalty: e.penalty.as_ref(),
        })
        .collect()
}

pub struct Checker<'a> {
    pub index: &'a ListIndex,
    pub rules: &'a Rulebook,
    pub keys: &'a KeyRing,
    pub names: &'a (dyn Names + Sync),
    /// The unit checking. An exception holds for the checks of the unit that marked it (one
    /// department's false positive must not lift a measure for every other); one the credit
    /// office marked (no unit) holds for all.
    pub unit: Option<&'a str>,
}

/// Whether an exception's entry state is the entry's now: `v<n>-<hash>`; one marked before
/// versions were part of it holds the content hash alone, and holds while that is unchanged.
pub fn same_state(marked: &str, now: &str) -> bool {
    marked == now || (!marked.starts_with('v') && now.ends_with(&format!("-{marked}")))
}

/// The exception that sets aside a hit on record `record_id` as it stands (`hash`), if any.
fn excepted(
    exceptions: &[store::CheckException],
    record_id: &str,
    hash: &str,
) -> Option<Suppressed> {
    exceptions
        .iter()
        .find(|x| x.record_id == record_id && same_state(&x.record_hash, hash))
        .map(|x| Suppressed {
            record_id: record_id.to_string(),
            exception_id: x.exception_id,
            // As every answer shows an officer's words: ID and mobile numbers masked.
            reason: domain::ids::mask_personal_in(&x.reason).into_owned(),
        })
}

/// A code as typed, made into the subject's store key and how to show it.
pub fn subject_of(
    code: &str,
    rules: &Rulebook,
    keys: &KeyRing,
    today: NaiveDate,
) -> Result<(String, String, SubjectKind), CheckError> {
    let n = normalize(code);
    // A person's key (P and 31 hex digits) as the credit file and 信易贷授权 give it: a check by
    // it names no ID number.
    let t = code.trim();
    if t.len() == 32
        && t.starts_with('P')
        && t[1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Ok((t.to_string(), t.to_string(), SubjectKind::NaturalPerson));
    }
    // A valid resident ID is a person, even when it also passes the USCC's checks as a suspect
    // code (about one Jiangsu ID in 31 would: 32… is a USCC category pair too), as
    // `ids::check_any` decides.
    let as_person = ResidentId::parse(&n, &rules.ids, today);
    if let Ok((id, _)) = &as_person {
        return Ok((
            keys.person_key("身份证", id.as_str()),
            mask_id_number(id.as_str()),
            SubjectKind::NaturalPerson,
        ));
    }
    let as_uscc = Uscc::parse(&n, &rules.ids);
    // An ID number with a typo that passes the USCC's checks (about one in 31 passes its check
    // character; some pass wholly) is still an ID number: a listed person's number mistyped was
    // checked as an unknown organisation, 未发现限制. Read as a USCC, its 3rd to 8th digits (the
    // registering authority's division) make no division code; read as an ID number, its 7th
    // to 14th make a birth date or its first six a division code. A real USCC's 3rd to 8th
    // digits are a division, whatever its first six happen to spell (51 + 320118 reads 513201,
    // 马尔康市).
    if as_uscc.is_ok() {
        let b = n.as_bytes();
        let id_shaped = b.len() == 18
            && b[..17].iter().all(u8::is_ascii_digit)
            && (b[17] == b'X' || b[17].is_ascii_digit());
        let division = |c: &str| rules.ids.areas.spans(c).is_some();
        let born = |s: &str| {
            matches!(&s[..2], "18" | "19" | "20")
                && NaiveDate::parse_from_str(s, "%Y%m%d").is_ok_and(|d| d <= today)
        };
        if id_shaped && !division(&n[2..8]) && (born(&n[6..14]) || division(&n[..6])) {
            let id = domain::ids::check_resident_id(&n, &rules.ids, today);
            return Err(CheckError::BadCode(mask_id_number(&n), id.reason));
        }
    }
    if let Ok((u, _)) = &as_uscc {
        let kind = if u.as_str().starts_with("92") {
            SubjectKind::IndividualBusiness
        } else {
            SubjectKind::Organisation
        };
        return Ok((u.as_str().to_string(), u.as_str().to_string(), kind));
    }
    // Say why as the USCC when it looks like one (letters, or not 18 long), else as an ID number.
    let why = match (as_uscc, as_person) {
        (Err(u), _) if n.chars().any(|c| c.is_ascii_alphabetic() && c != 'X') || n.len() != 18 => {
            u.to_string()
        }
        (_, Err(p)) => p.to_string(),
        (Err(u), _) => u.to_string(),
        _ => String::new(),
    };
    // A mistyped ID number is still someone's: any run of digits (an X last) as long as the
    // old 15-digit number or longer is shown masked, in the result file and the check alike.
    let digits = n.strip_suffix(['X', 'x']).unwrap_or(&n);
    let shown = if (15..=19).contains(&n.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        mask_id_number(&n)
    } else {
        domain::text::echo(code)
    };
    Err(CheckError::BadCode(shown, why))
}

impl Checker<'_> {
    /// An entry as the check shows it: a list entry with its listing dates, a penalty with its
    /// decision date, 处罚类别 and fine.
    fn view(&self, e: &Entry, via: Via) -> EntryView {
        let p = e.penalty.as_ref();
        let listed = |d: Option<NaiveDate>| d.filter(|_| p.is_none());
        EntryView {
            record_id: e.record_id.clone(),
            class_code: e.class_code.clone(),
            list: self
                .rules
                .catalog
                .class_by_code(&e.class_code)
                .map_or(e.class_code.clone(), |c| c.name.clone()),
            category: p.map_or(e.category.clone(), |p| p.categories.join("、")),
            decision_no: e.decision_no.clone(),
            reason: e.reason.clone(),
            basis: e.basis.clone(),
            deciding_unit: e.deciding_unit.clone(),
            listed_on: listed(e.listed_on),
            valid_to: listed(e.valid_to),
            // A deadline that falls on a day off runs to the next working day (民法典 第二百零三条),
            // as the overdue job and the deciding unit's 限期整改 count it.
            rectify_by: listed(
                e.rectify_by
                    .map(|d| self.rules.calendar.next_workday_on_or_after(d)),
            ),
            under_objection: e.under_objection,
            via,
            decided_on: p.map(|p| p.decided_on),
            fine: p.and_then(|p| p.fine.map(|f| f.to_string())),
            hash: e.hash.clone(),
            penalty: p.cloned(),
        }
    }

    pub fn check(
        &self,
        code: &str,
        matter: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<CheckResult, CheckError> {
        let book = &self.rules.measures;
        let m = book
            .matter(matter.trim())
            .ok_or_else(|| CheckError::UnknownMatter(matter.trim().to_string()))?;
        let (key, shown, kind) = subject_of(code, self.rules, self.keys, today)?;
        if !m.subjects.is_empty() && !m.subjects.iter().any(|s| s == kind.as_str()) {
            return Err(CheckError::NotForKind(m.name.clone(), kind.label()));
        }
        Ok(self.check_key(&key, &shown, kind, m.code.as_str(), today, now))
    }

    /// The check proper, for a subject already resolved (batch review calls this directly).
    pub fn check_key(
        &self,
        key: &str,
        shown: &str,
        kind: SubjectKind,
        matter: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> CheckResult {
        let book = &self.rules.measures;
        let m = book.matter(matter);
        let own = self.index.entries(key);
        let rep = match m {
            Some(m) if m.check_legal_rep && kind != SubjectKind::NaturalPerson => self
                .index
                .listed_rep(key)
                .map(|p| self.index.entries(&p))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let represented: Vec<_> = match m {
            Some(m) if m.check_legal_rep && kind == SubjectKind::NaturalPerson => {
                self.index.represented_entries(key)
            }
            _ => Vec::new(),
        };
        let mut exceptions = self.index.exceptions(key, matter);
        exceptions.retain(|x| x.unit.is_none() || x.unit.as_deref() == self.unit);
        let mut entries = Vec::new();
        let mut suppressed = Vec::new();
        for (e, via) in own
            .iter()
            .map(|e| (e, Via::Subject))
            .chain(rep.iter().map(|e| (e, Via::LegalRep)))
            .chain(represented.iter().map(|e| (e, Via::RepresentedOrg)))
        {
            if !e.in_force(today) {
                continue;
            }
            if let Some(x) = excepted(&exceptions, &e.record_id, &e.hash) {
                suppressed.push(x);
                continue;
            }
            entries.push(self.view(e, via));
        }
        // The subject's own penalties that trigger a measure of this matter on `today` (a
        // penalty no measure of the matter is triggered by is not this check's business).
        // One lookup; the matter's triggers only for the few subjects with such penalties.
        let penalties = self.index.penalties(key);
        if !penalties.is_empty() {
            let triggers: Vec<_> = book
                .measures
                .iter()
                .filter(|x| x.matters.iter().any(|c| c == matter))
                .filter_map(|x| x.penalty.as_ref())
                .collect();
            for e in &penalties {
                let Some(p) = &e.penalty else { continue };
                if !triggers.iter().any(|t| t.applies(p, today)) {
                    continue;
                }
                if let Some(x) = excepted(&exceptions, &e.record_id, &e.hash) {
                    suppressed.push(x);
                    continue;
                }
                entries.push(self.view(e, Via::Subject));
            }
        }
        let eval_of = |entries: &[EntryView]| evaluate(book, matter, &hits_of(entries), today);
        let mut eval = eval_of(&entries);
        // Incentives are for the trustworthy only: a penalty that any punishing measure of the
        // book is triggered by (a licence revoked, production stopped) withholds them, whatever
        // the matter, and is shown as the reason (a red-list subject with a fresh 吊销 was given
        // the green channel because no measure of 行政许可 punishes the penalty itself).
        let incentive = eval
            .applied
            .iter()
            .any(|a| book.measures[a.measure].effect.is_incentive());
        if incentive {
            let shown: Vec<String> = entries.iter().map(|e| e.record_id.clone()).collect();
            let punishing: Vec<_> = book
                .measures
                .iter()
                .filter(|x| !x.effect.is_incentive())
                .filter_map(|x| x.penalty.as_ref())
                .collect();
            let before = entries.len();
            for e in &penalties {
                let Some(p) = &e.penalty else { continue };
                if shown.contains(&e.record_id) || !punishing.iter().any(|t| t.applies(p, today)) {
                    continue;
                }
                if let Some(x) = excepted(&exceptions, &e.record_id, &e.hash) {
                    suppressed.push(x);
                    continue;
                }
                entries.push(self.view(e, Via::Subject));
            }
            if entries.len() > before {
                eval = eval_of(&entries);
            }
        }
        let hits = hits_of(&entries);
        let measures: Vec<MeasureHit> = eval
            .applied
            .iter()
            .map(|a| {
                let x = &book.measures[a.measure];
                MeasureHit {
                    id: x.id.clone(),
                    name: x.name.clone(),
                    kind: x.kind,
                    effect: x.effect,
                    effect_label: x.effect.label().to_string(),
                    body: x.body.clone(),
                    basis: x.basis.clone(),
                    basis_pending: x.basis_pending.clone(),
                    via: hits[a.hits[0]].via,
                    entries: a
                        .hits
                        .iter()
                        .map(|&i| entries[i].record_id.clone())
                        .collect(),
                }
            })
            .collect();
        // Entries that no applied measure used (an incentive dropped under punishment, a list
        // with no measure for this matter) are still shown: the officer sees the whole picture.
        // A person the lists reach only through an organisation they represent is one the
        // platform holds records of: named as the organisation's entry names its legal
        // representative (unless that entry names someone else by ID number).
        let around = match m {
            _ if kind != SubjectKind::NaturalPerson => Vec::new(),
            Some(m) if m.check_legal_rep => represented.clone(),
            _ => self.index.represented_entries(key),
        };
        let rep_name = around
            .iter()
            .filter(|e| e.named_rep.as_deref().is_none_or(|r| r == key))
            .map(|e| e.rep_name.clone())
            .find(|n| !n.is_empty());
        let name = own
            .first()
            .map(|e| e.subject_name.clone())
            .filter(|n| !n.is_empty())
            .or(rep_name)
            .or_else(|| self.names.name_of(key).map(|(n, _)| n))
            .or_else(|| {
                penalties
                    .first()
                    .map(|e| e.subject_name.clone())
                    .filter(|n| !n.is_empty())
            });
        // Entries of its own, its legal representative's or an organisation's it represents,
        // and its penalties, are records the platform holds of it, name or not.
        let known = name.is_some()
            || !own.is_empty()
            || !rep.is_empty()
            || !around.is_empty()
            || !penalties.is_empty();
        CheckResult {
            check_id: 0,
            checked_at: now,
            subject: SubjectRef {
                code: shown.to_string(),
                known,
                name: name.unwrap_or_default(),
                kind,
                key: key.to_string(),
            },
            matter: MatterRef {
                code: matter.to_string(),
                name: m.map_or(matter.to_string(), |m| m.name.clone()),
            },
            verdict: eval.verdict,
            verdict_label: eval.verdict.label().to_string(),
            measures,
            entries,
            suppressed,
            rule_version: format!("{}/{}", book.version, self.rules.digest),
            reference: None,
            repeated: false,
        }
    }
}

impl CheckResult {
    /// The label the check is recorded under: name and code (a person's ID masked).
    pub fn label(&self) -> String {
        if self.subject.name.is_empty() {
            // Said where the verdict is shown (the snippet, the console): "nothing found" of a
            // subject the platform has no record of is no clearance. Beside a verdict that
            // found something it would contradict it.
            if self.subject.known || self.verdict != Verdict::Clear {
                self.subject.code.clone()
            } else {
                format!("{}（平台未归集到该主体的信息）", self.subject.code)
            }
        } else {
            format!("{}（{}）", self.subject.name, self.subject.code)
        }
    }

    /// The row the check is recorded as.
    pub fn record(
        &self,
        actor: &str,
        unit: Option<&str>,
        channel: &str,
        batch_id: Option<i64>,
    ) -> store::CheckRow {
        store::CheckRow {
            check_id: 0,
            checked_at: self.checked_at,
            actor: actor.to_string(),
            unit: unit.map(str::to_string),
            channel: channel.to_string(),
            batch_id,
            subject_key: self.subject.key.clone(),
            subject_label: self.label(),
            matter: self.matter.code.clone(),
            verdict: self.verdict.as_str().to_string(),
            measures: self.measures.iter().map(|m| m.id.clone()).collect(),
            entries: self.entries.iter().map(|e| e.record_id.clone()).collect(),
            suppressed: self
                .suppressed
                .iter()
                .map(|s| s.record_id.clone())
                .collect(),
            rule_version: self.rule_version.clone(),
            reference: None,
        }
    }
}

#[cfg(test)]
mod state_tests {
    use super::same_state;

    #[test]
    fn an_exception_holds_for_the_entry_state_it_was_marked_on() {
        assert!(same_state("v2-abcd", "v2-abcd"));
        assert!(!same_state("v2-abcd", "v3-abcd"));
        // Marked before versions were part of the state: the content hash alone.
        assert!(same_state("abcd", "v2-abcd"));
        assert!(!same_state("abcd", "v2-abce"));
    }
}
