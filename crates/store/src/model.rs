//! What goes into the store and what comes out of it.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use domain::record::{ChangeKind, SubjectKind};
use serde::{Deserialize, Serialize};

/// A record's identity within its subject: SM3 over class, subject and key items, first 16 bytes.
pub type RecordKey = [u8; 16];

/// The public name of a record: `<subject_key>-<hex of the record key>`.
pub fn record_id(subject_key: &str, key: &[u8]) -> String {
    // Written directly: `format!` with `hex::encode` (a char iterator) was 3% of reading a
    // credit file, which makes one id per version row.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(subject_key.len() + 1 + 2 * key.len());
    out.extend_from_slice(subject_key.as_bytes());
    out.push(b'-');
    for b in key {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
    // Only ASCII was appended to a str.
    String::from_utf8(out).unwrap_or_default()
}

/// Splits a record id into subject key and record key.
pub fn parse_record_id(id: &str) -> Option<(String, Vec<u8>)> {
    let (subject, key) = id.rsplit_once('-')?;
    let key = hex::decode(key).ok().filter(|k| k.len() == 16)?;
    (!subject.is_empty()).then(|| (subject.to_string(), key))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    File,
    Api,
    /// Registered by the platform for a case: the credit-repair commitment a subject signs when
    /// it applies, recorded under the unit that handles the case. The subject's word, not the
    /// unit's report: the unit cannot withdraw it.
    Case,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::File => "file",
            Channel::Api => "api",
            Channel::Case => "case",
        }
    }
}

/// A submission as it arrives, before its rows are read.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub source_unit: String,
    pub class_code: String,
    pub channel: Channel,
    pub file_name: Option<String>,
    pub format: String,
    pub headers: Vec<String>,
    /// For each column, the data item it was mapped to (None: not in the catalog, kept raw only).
    pub header_map: Vec<Option<String>>,
    pub actor: String,
    pub received_at: DateTime<Utc>,
    pub rule_version: String,
    /// The provincial platform's feed (回流): a row for a record a unit of the city reported
    /// leaves that record as it stands ([`RowOutcome::KeptLocal`]).
    pub feed: bool,
    /// The feed units' names: a record the feed brought first is handed to the city's unit that
    /// reports the same decision (the city's own record stands over the feed's).
    pub feed_units: Vec<String>,
}

/// The subject a row is about, as the row identifies it.
#[derive(Debug, Clone)]
pub struct SubjectRef {
    /// USCC for organisations and individual businesses; `P` + keyed hash for natural persons.
    pub key: String,
    pub kind: SubjectKind,
    pub name: String,
    pub uscc: Option<String>,
    pub id_type: Option<String>,
    pub id_sealed: Option<Vec<u8>>,
    pub id_masked: Option<String>,
    pub division: Option<String>,
    pub id_suspect: bool,
    pub id_note: Option<String>,
}

/// Registration facts carried by a 登记注册基本信息 row: they make the subject known (linked).
#[derive(Debug, Clone)]
pub struct Registration {
    pub reg_type: Option<String>,
    pub reg_status: Option<String>,
    pub industry: Option<String>,
}

/// A validated row, ready to be written.
#[derive(Debug, Clone)]
pub struct PreparedRow {
    pub row_no: u64,
    pub record_key: RecordKey,
    pub content_hash: [u8; 16],
    pub subject: SubjectRef,
    pub legal_rep_key: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub published: bool,
    pub repairable_from: Option<NaiveDate>,
    pub public_ends: Option<NaiveDate>,
    /// Set when the window counts from publication (SAMR Order 45): the day the row was taken as
    /// published (its import's). A record already public keeps its first publication: the
    /// store moves a correction's window back to it (`SubmissionWriter::apply`).
    pub published_on: Option<NaiveDate>,
    pub severity: Option<String>,
    pub regime: Option<String>,
    pub rule_version: Option<String>,
    /// Whether the row came within the class's reporting period (双公示: 7 working days) of its
    /// decision, judged on the day of this import; for a correction the store judges it again
    /// from the record's first receipt against `on_time_until`.
    pub on_time: Option<bool>,
    /// The last day a report of this decision is on time.
    pub on_time_until: Option<NaiveDate>,
    /// JSON object of item code → value, with sensitive values masked.
    pub payload: String,
    /// SM4-GCM of the JSON object of sensitive item values.
    pub sealed: Option<Vec<u8>>,
    pub registration: Option<Registration>,
    /// What the 双公示 columns filter by: 处罚类别, 许可类别, 名单类型.
    pub category: Option<String>,
    /// For the monitored classes (行政许可, 行政处罚): the decision, by class and document number
    /// (SM3, stored as hex), so that a rejected decision sent again and accepted stops counting
    /// as rejected.
    pub decision_key: Option<[u8; 16]>,
    /// The key of the same decision with its number's year bracketed the other way
    /// (`domain::monitoring::decision_key_written_otherwise`): finds the record the unit
    /// reported as 〔2026〕 when it now writes （2026）.
    pub decision_key_otherwise: Option<[u8; 16]>,
    /// The key a record of the same decision had before serials were read without 第 and
    /// leading zeros (`domain::monitoring::decision_key_as_written`), where that differs: finds
    /// such a record until `xinyong migrate` keys it anew.
    pub decision_key_as_written: Option<[u8; 16]>,
}

/// What writing a row did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Created,
    Corrected,
    Unchanged,
    /// The same record with the same content appeared earlier in this submission.
    Duplicate {
        first_row: u64,
    },
    /// The same record with different content appeared earlier in this submission.
    Conflict {
        first_row: u64,
    },
    /// The record was reported by another source unit, which alone may correct it.
    NotOwner {
        owner: String,
    },
    /// The record ended — repaired, or a list entry exited, revoked or expired: a later
    /// correction from the source unit cannot revive it (a new listing needs a new decision).
    Ended(domain::record::ChangeKind),
    /// A feed row for a record a unit of the city reported: the city's record stands, the row
    /// is taken as received and changes nothing.
    KeptLocal {
        owner: String,
    },
    /// A new record about a natural person under a name the platform has never held for that
    /// ID number: a mistyped number would put it on someone else's file, in public.
    NameMismatch,
    /// The row puts back content an objection found wrong: the record was corrected when the
    /// unit upheld the objection (case `case_id`), and the row says what it said before — a
    /// routine export of the case system that never took the correction in. The correction
    /// stands; the unit is told.
    Overruled {
        case_id: i64,
    },
}

impl RowOutcome {
    pub fn is_accepted(&self) -> bool {
        matches!(
            self,
            RowOutcome::Created
                | RowOutcome::Corrected
                | RowOutcome::Unchanged
                | RowOutcome::KeptLocal { .. }
        )
    }
}

/// One problem of a rejected row: the data item and why, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "被退回行的一个问题：涉及的数据项及原因（中文）。")]
pub struct Problem {
    // Item code, or empty for a row-level problem.
    /// 数据项代码；整行的问题为空。
    pub field: String,
    // The item as people read it: a file's own header text; for JSON (keyed by code) the
    // catalog's name with the code. Match a problem to a column by `field`, not by this.
    /// 数据项的中文说明：文件报送时为该列的表头文字；JSON报送时为目录中的名称（附代码）。程序按 field 对应数据项，不要按本字段匹配。
    pub name: String,
    /// 退回原因（中文）。
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Rejection {
    pub row_no: u64,
    /// The row's decision date, when it could be read (monitoring counts the row in its month).
    pub decided_on: Option<NaiveDate>,
    pub problems: Vec<Problem>,
    /// SM4-GCM of the JSON array of the row's cells as received.
    pub raw_sealed: Vec<u8>,
    /// The decision the row reports, for 双公示 monitoring: see [`PreparedRow::decision_key`].
    pub decision_key: Option<[u8; 16]>,
    /// The same decision's key with its year bracketed the other way, if it has one.
    pub decision_key_otherwise: Option<[u8; 16]>,
    /// Whether the row stands for a decision that is not in (false for a row repeating one
    /// taken from the same file: that decision was accepted).
    pub refused_decision: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    /// 读取的数据行数（= 入库 + 退回）。
    pub rows_read: u64,
    /// 入库行数（新增、更正与未变化之和）。
    pub accepted: u64,
    /// 退回行数（每行附字段与原因）。
    pub rejected: u64,
    /// 与已入库内容相同、未产生新版本的行数。
    pub unchanged: u64,
    /// 新增记录数。
    pub created: u64,
    /// 更正（产生新版本）的记录数。
    pub corrected: u64,
    /// 关联到平台已有信用主体的行数（关联率的分子）。
    pub linked: u64,
    /// 代码存疑但已入库的行数：逐行见批次详情 accepted_rows 的 id_suspect、id_note。
    pub suspect: u64,
    /// 在规定期限内报送的行数（及时率的分子，仅双公示类）。
    pub on_time: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Submission {
    pub submission_id: i64,
    pub source_unit: String,
    pub class_code: String,
    // file, api, or case: a commitment a subject signed in its credit-repair application,
    // registered by the platform under the handling unit.
    /// 报送渠道：file（文件）、api（接口推送）、case（信用主体在信用修复申请中签署的承诺，由平台登记在受理单位名下）。
    pub channel: String,
    pub file_name: Option<String>,
    pub format: String,
    pub digest: String,
    pub byte_size: i64,
    pub headers: Vec<String>,
    pub header_map: Vec<Option<String>>,
    pub actor: String,
    pub received_at: DateTime<Utc>,
    pub rule_version: String,
    pub counts: Counts,
    pub status: String,
    pub status_reason: Option<String>,
    // What the import told the unit beyond the rows (kept since migration 10).
    /// 导入时给报送单位的批次提示（如同一文书号此前报送在另一主体名下）。
    pub notices: Vec<String>,
    // Columns of the file that are not catalog items and were passed over.
    /// 文件中未识别、未导入的列。
    pub unknown_columns: Vec<String>,
}

/// A row of a submission that wrote a version of a record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "报送中写入了记录新版本的一行。")]
pub struct AcceptedRow {
    // The row as the source numbers it: a CSV/XLSX line (the header is line 1, so the first
    // record is 2), a JSON record's place in its list (from 1).
    /// 行号：CSV/XLSX为文件中的行号（表头为第1行，第一条数据为第2行）；JSON为记录在数组中的序号（从1起）。
    pub row_no: i64,
    pub record_id: String,
    // `created` or `corrected`.
    /// 变更类型：created（新增）或 corrected（更正）。
    pub change: String,
    // Accepted, but its party's code is doubtful (a valid check character with a wrong inner
    // one, a number not yet in use on its date): the unit checks it against the original.
    /// 是否存疑：代码校验位正确但内部有误（如主体标识码校验位不符）等，已入库但请报送单位核对原件。
    #[serde(default)]
    pub id_suspect: bool,
    /// 存疑原因（不存疑时为空）。
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_note: Option<String>,
}

/// A row a submission wrote, with its content and what became of its record since: the batch
/// page lists them, each withdrawable on its own.
#[derive(Debug, Clone)]
pub struct SubmissionEntry {
    pub row: AcceptedRow,
    /// The version's payload (masked as stored) and decision date.
    pub payload: String,
    pub decided_on: Option<NaiveDate>,
    /// The record's current change (`withdrawn`, `repaired`, …) and whether this row's version
    /// is still the current one (not corrected by a later batch or action).
    pub now: String,
    pub current: bool,
    /// This row's version is the last before the record's current one (what a withdrawal
    /// ended, when the record is withdrawn).
    pub latest_before_end: bool,
    /// This row's version was withdrawn and then put back as it was (the record's current
    /// version is the restoration).
    pub restored: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredRejection {
    pub row_no: i64,
    pub problems: Vec<Problem>,
    #[serde(skip)]
    pub raw_sealed: Vec<u8>,
}

/// A subject's identity as the store holds it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Subject {
    pub key: String,
    pub kind: SubjectKind,
    pub name: String,
    pub uscc: Option<String>,
    pub id_type: Option<String>,
    pub id_masked: Option<String>,
    #[serde(skip)]
    pub id_sealed: Option<Vec<u8>>,
    pub division: Option<String>,
    pub id_suspect: bool,
    pub id_note: Option<String>,
    pub registered: bool,
    pub reg_type: Option<String>,
    pub reg_status: Option<String>,
    pub industry: Option<String>,
    pub first_seen: DateTime<Utc>,
}

/// One version of a record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Version {
    pub version_no: i64,
    pub change: ChangeKind,
    pub reason: Option<String>,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
    pub submission_id: Option<i64>,
    pub row_no: Option<i64>,
    pub decided_on: Option<NaiveDate>,
    pub published: bool,
    pub repairable_from: Option<NaiveDate>,
    pub public_ends: Option<NaiveDate>,
    pub severity: Option<String>,
    pub regime: Option<String>,
    pub rule_version: Option<String>,
    pub on_time: Option<bool>,
    pub linked: bool,
    pub id_suspect: bool,
    /// The JSON object of item code → value (sensitive values masked), as stored.
    pub payload: String,
    /// Sealed sensitive values; read only where an authorised caller unmasks them.
    #[serde(skip)]
    pub sealed: Option<Vec<u8>>,
}

/// Decodes a payload object into (code, value) pairs without building a JSON tree.
pub fn payload_pairs(payload: &str) -> Vec<(String, String)> {
    payload_pairs_on(payload, None)
}

/// [`payload_pairs`] of a record decided on `decided_on` (see [`payload_items_on`]).
pub fn payload_pairs_on(payload: &str, decided_on: Option<NaiveDate>) -> Vec<(String, String)> {
    payload_items_on(payload, decided_on)
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The same pairs borrowed from the payload where no escape had to be undone (item codes
/// always; most values): a credit file of a thousand records then allocates no code strings.
pub fn payload_items(payload: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    payload_items_on(payload, None)
}

/// [`payload_items`] of a record decided on `decided_on`: a document number is masked as the
/// importer masks it now (an adult's ID number written into it: `mask_adult_ids_in`), for
/// records stored before it did. Without the date, judged as of today — a 文号 numbered by its
/// decision's own date is shown whole for fourteen years after it.
pub fn payload_items_on(
    payload: &str,
    decided_on: Option<NaiveDate>,
) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    use serde::de::{Deserializer, MapAccess, Visitor};
    struct Pairs(NaiveDate);
    impl<'de> Visitor<'de> for Pairs {
        type Value = Vec<(Cow<'de, str>, Cow<'de, str>)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of strings")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(m.size_hint().unwrap_or(24));
            while let Some((k, v)) = m.next_entry::<Borrowed<'de>, Borrowed<'de>>()? {
                // Records stored before free text was masked at import are masked on the way
                // out (a resident ID number or a mobile number in a note is never shown); a
                // document number is not free text (320902202403150006 numbers a decision by
                // area and date), nor is a code the importer checked as a USCC. The digits are
                // counted first: most values hold too few to be looked up at all.
                let key = k.0.as_ref();
                let v = if !domain::ids::may_hold_a_number(&v.0)
                    || (CHECKED_CODES.contains(&key) && !domain::ids::shaped_as_resident_id(&v.0))
                {
                    v.0
                } else if DOCUMENT_NUMBERS.contains(&key) {
                    match domain::ids::mask_adult_ids_in(&v.0, self.0) {
                        Cow::Borrowed(_) => v.0,
                        Cow::Owned(masked) => Cow::Owned(masked),
                    }
                } else {
                    match domain::ids::mask_personal_in(&v.0) {
                        Cow::Borrowed(_) => v.0,
                        Cow::Owned(masked) => Cow::Owned(masked),
                    }
                };
                out.push((k.0, v));
            }
            Ok(out)
        }
    }
    let on = decided_on.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let mut de = serde_json::Deserializer::from_str(payload);
    de.deserialize_map(Pairs(on)).unwrap_or_default()
}

/// The items that number a document (the catalog's `decision_no` items, a test holds them to
/// it): never masked as ID numbers when read.
pub const DOCUMENT_NUMBERS: [&str; 9] = [
    "CF_WSH", "XK_WSH", "QZ_WSH", "MD_WSH", "CN_BH", "HT_BH", "SX_AH", "NS_PJND", "RY_WSH",
];

/// The items the importer accepts only as a valid unified social credit code (the catalog's
/// `uscc` items, a test holds them to it): a subject's or a unit's code, so not searched for ID
/// or mobile numbers when read — unless the value is shaped as a resident ID number too (18
/// digits with a valid ID check character: a resident's number typed into the column can pass
/// the USCC check one time in 31), which is masked as ever. Every penalty names three codes
/// (the party's, the deciding unit's, the reporting unit's), each with enough digits to be
/// searched: a tenth of the officer's credit file request went there.
pub const CHECKED_CODES: [&str; 14] = [
    "CF_XDR_SHXYM",
    "CF_CFJGDM",
    "CF_SJLYDM",
    "XK_XDR_SHXYM",
    "XK_XKJGDM",
    "XK_LYDWDM",
    "DJ_SHXYM",
    "QZ_XDR_SHXYM",
    "MD_XDR_SHXYM",
    "CN_XDR_SHXYM",
    "HT_XDR_SHXYM",
    "SX_XDR_SHXYM",
    "NS_SHXYM",
    "RY_XDR_SHXYM",
];

/// A string that borrows from the input when it can (`Cow<str>` on its own always copies).
struct Borrowed<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Borrowed<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Borrowed<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Borrowed(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Borrowed(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Borrowed(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A record with every version up to the day asked for (oldest first).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredRecord {
    pub record_id: String,
    pub class_code: String,
    pub source_unit: String,
    pub under_objection: bool,
    pub versions: Vec<Version>,
}

impl StoredRecord {
    pub fn current(&self) -> Option<&Version> {
        self.versions.last()
    }
}

/// Counts per catalog class and in total (`xinyong stats`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "按目录类别和合计的数据量统计。")]
pub struct Stats {
    pub subjects: i64,
    pub subjects_by_kind: Vec<NamedCount>,
    // For the public: the records public now of the classes published whole; for staff, every
    // current record.
    /// 现行记录数：社会公众查询时为当前公示中的公开类记录数；工作人员查询时为全部现行记录数。
    pub records: i64,
    pub records_by_class: Vec<NamedCount>,
    // The platform's own counts: for staff only (absent for the public).
    /// 记录版本总数（仅工作人员可见，社会公众查询时不返回）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<i64>,
    /// 报送批次总数（仅工作人员可见，社会公众查询时不返回）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submissions: Option<i64>,
}

/// A count under a name (a class code, a subject kind).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "某一名称（目录类别代码、主体类型等）下的数量。")]
pub struct NamedCount {
    pub name: String,
    pub count: i64,
}

/// Quality figures of one source unit (or batch): 入库率 and 关联率 come from these.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "一个报送单位（或一个批次）的数据质量数字，入库率和关联率由此计算。")]
pub struct UnitQuality {
    pub source_unit: String,
    /// 报送批次（不含已撤回的批次）。
    pub submissions: i64,
    /// 不含已撤回批次的各项数字。
    pub counts: Counts,
    /// 已整批撤回的批次数（其数字不计入上列各项）。
    pub withdrawn_submissions: i64,
}

/// A 重错码 finding.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CodeConflict {
    /// `one_code_many_names` or `one_name_many_codes`.
    pub kind: String,
    pub subject_keys: Vec<String>,
    pub names: Vec<String>,
    pub units: Vec<String>,
}

/// An officer's review of a 重错码 finding.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictReview {
    pub kind: String,
    /// The code (one code, many names) or the name (one name, many codes).
    pub anchor: String,
    /// The names, or codes, the review covered.
    pub members: Vec<String>,
    pub actor: String,
    pub reviewed_at: DateTime<Utc>,
    pub reason: String,
}

#[cfg(test)]
mod payload_tests {
    use super::*;

    #[test]
    fn record_ids_are_subject_dash_lowercase_hex_and_parse_back() {
        let key: Vec<u8> = (0u8..16)
            .map(|i| i.wrapping_mul(37).wrapping_add(9))
            .collect();
        let id = record_id("91320902MAWYHMJXXJ", &key);
        assert_eq!(id, format!("91320902MAWYHMJXXJ-{}", hex::encode(&key)));
        assert_eq!(
            parse_record_id(&id),
            Some(("91320902MAWYHMJXXJ".to_string(), key))
        );
    }

    #[test]
    fn items_borrow_what_needs_no_unescaping() {
        let p = r#"{"CF_XDR_MC":"盐城市某公司","CF_SY":"经查，\"当事人\"\n违法","CF_NR_FK":"86726.00"}"#;
        let items = payload_items(p);
        let got: Vec<(&str, &str)> = items
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        assert_eq!(
            got,
            [
                ("CF_XDR_MC", "盐城市某公司"),
                ("CF_SY", "经查，\"当事人\"\n违法"),
                ("CF_NR_FK", "86726.00")
            ]
        );
        assert!(matches!(items[0].0, Cow::Borrowed(_)) && matches!(items[0].1, Cow::Borrowed(_)));
        assert!(
            matches!(items[1].1, Cow::Owned(_)),
            "an escaped value is unescaped into its own string"
        );
        let owned = payload_pairs(p);
        assert_eq!(owned.len(), 3);
        assert_eq!(owned[1].1, "经查，\"当事人\"\n违法");
        assert!(payload_items("not json").is_empty());
    }
}

#[cfg(test)]
mod masking_tests {
    use super::{payload_items, payload_items_on};

    /// A payload stored before free text was masked at import still shows no ID number.
    #[test]
    fn payload_items_mask_id_numbers_stored_unmasked() {
        let id = "320902198503151234";
        let id = format!(
            "{}{}",
            &id[..17],
            domain::ids::ric_check_char(&id.as_bytes()[..17])
        );
        // An adult's ID number typed into a document number, stored before the importer
        // masked it, is masked on the way out as the importer masks it now.
        let payload =
            format!(r#"{{"BZ":"代理人李华（身份证号{id}）","CF_WSH":"盐环罚〔2026〕{id}号"}}"#);
        let items = payload_items(&payload);
        assert_eq!(
            items[0].1,
            format!("代理人李华（身份证号{}）", domain::ids::mask_id_number(&id))
        );
        let masked = format!("盐环罚〔2026〕{}号", domain::ids::mask_id_number(&id));
        assert_eq!(items[1].1, masked);
        let on = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(payload_items_on(&payload, on(2026, 6, 5))[1].1, masked);
        // A document number shaped like an ID number by its area, the decision's own date and
        // a serial is left as written.
        let own = "320902202403150006";
        let own = format!(
            "{}{}",
            &own[..17],
            domain::ids::ric_check_char(&own.as_bytes()[..17])
        );
        let payload = format!(r#"{{"CF_WSH":"{own}"}}"#);
        assert_eq!(payload_items_on(&payload, on(2024, 3, 15))[0].1, own);
        assert_eq!(payload_items(&payload)[0].1, own);
        // A checked code column is not searched, unless its value is shaped as an ID number
        // (one that passed the USCC check by chance is still not shown).
        let payload = format!(r#"{{"CF_CFJGDM":"113209000014018501","CF_XDR_SHXYM":"{id}"}}"#);
        let items = payload_items(&payload);
        assert_eq!(items[0].1, "113209000014018501");
        assert_eq!(items[1].1, domain::ids::mask_id_number(&id));
    }
}
