//! Views derived from the store, the same for the command line, the API and the portal.
//!
//! [`credit_file`] assembles a subject's credit file (信用档案) as it stood on a day: identity, then
//! its records grouped by catalog class, each with its status on that day (public, expired,
//! repaired, withdrawn, not published; under objection) and its version history. What an
//! [`Audience`] may see is decided here, once.

pub mod bulletin;
pub mod monitoring;
pub mod portal;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use chrono::{NaiveDate, NaiveTime, TimeZone};
use crypto::KeyRing;
use domain::catalog::{CatalogClass, DataItem, ItemType, SharingScope};
use domain::clock::beijing;
use domain::ids::{ResidentId, Uscc, normalize};
use domain::record::{ChangeKind, RecordStatus, StatusFacts, SubjectKind, status_on};
use rulebook::Rulebook;
use serde::Serialize;
use store::{Store, StoreError, StoredRecord, Subject};

/// Who is looking: the public sees only public records with ID numbers masked; a financial
/// institution the subject authorised (信易贷) the records in force that may be shared with it;
/// the others see the whole file (their role decides whether they may ask at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Public,
    /// Records in force (public, or shared on conditions) of classes that may be shared — not
    /// those withdrawn, repaired, expired, off their list or never published — and no unit's
    /// working history (batch, row, reasons).
    Authorised,
    Full,
}

impl Audience {
    /// Whether this audience is shown a record of this status in a class shared this way.
    fn sees(self, status: RecordStatus, sharing: SharingScope) -> bool {
        match self {
            Audience::Full => true,
            Audience::Authorised => {
                matches!(status, RecordStatus::Public | RecordStatus::Shared)
                    && sharing != SharingScope::NotShared
            }
            Audience::Public => status == RecordStatus::Public && sharing == SharingScope::Public,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("“{0}”不是有效的统一社会信用代码或公民身份号码")]
    BadCode(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a caller named a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedBy {
    Key,
    ResidentId,
    Uscc,
}

/// How a caller names a subject: a USCC, a resident ID number, or a store key.
pub fn subject_key(
    code: &str,
    rules: &Rulebook,
    keys: &KeyRing,
    today: NaiveDate,
) -> Result<String, ViewError> {
    subject_key_named(code, rules, keys, today).map(|(key, _)| key)
}

/// `subject_key`, and how the code named the subject. The public may not name a person by a
/// resident ID number: with the masked number and the store key shown on the portal, answering
/// such lookups would let anyone try the eight hidden birth-date digits until the full number is
/// found.
pub fn subject_key_named(
    code: &str,
    rules: &Rulebook,
    keys: &KeyRing,
    today: NaiveDate,
) -> Result<(String, NamedBy), ViewError> {
    let n = normalize(code);
    if n.len() == 32 && n.starts_with('P') {
        return Ok((format!("P{}", n[1..].to_lowercase()), NamedBy::Key));
    }
    if let Ok((id, _)) = ResidentId::parse(&n, &rules.ids, today) {
        return Ok((keys.person_key("身份证", id.as_str()), NamedBy::ResidentId));
    }
    if let Ok((u, _)) = Uscc::parse(&n, &rules.ids) {
        return Ok((u.as_str().to_string(), NamedBy::Uscc));
    }
    // Not repeated whole when it looks like a person's number (a mistyped check digit is still
    // someone's number): masked as the portal masks one.
    let digits: String = n.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let person_shaped =
        matches!(digits.len(), 15 | 18) && digits.bytes().take(17).all(|b| b.is_ascii_digit());
    if person_shaped {
        return Err(ViewError::BadCode(domain::ids::mask_id_number(&digits)));
    }
    Err(ViewError::BadCode(
        domain::ids::mask_personal_in(&domain::text::echo(code)).into_owned(),
    ))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Identity {
    pub key: String,
    pub kind: SubjectKind,
    pub kind_label: &'static str,
    pub name: String,
    pub uscc: Option<String>,
    pub id_masked: Option<String>,
    pub division: Option<String>,
    pub division_name: Option<String>,
    pub registered: bool,
    pub reg_type: Option<String>,
    pub reg_status: Option<String>,
    pub industry: Option<String>,
    pub id_suspect: bool,
    pub id_note: Option<String>,
}

/// One data item of a record. Code and label are the catalog's, shared by every record of a
/// file (a credit file holds some 20,000 items; counting references to shared labels was 4% of
/// building one, so the catalog's labels are interned once for the process instead).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "记录的一个数据项：代码和名称取自数据目录。")]
pub struct Item {
    #[schema(value_type = String)]
    pub code: Cow<'static, str>,
    #[schema(value_type = String)]
    pub name: Cow<'static, str>,
    pub value: String,
    /// Several values joined by `;` as the national format keeps them (处罚类别): shown to
    /// people joined by 、.
    #[serde(skip)]
    pub several: bool,
}

impl Item {
    /// The value as a page shows it (the no-end date as 长期, as the lists show it).
    pub fn shown(&self) -> Cow<'_, str> {
        if self.several && self.value.contains(';') {
            Cow::Owned(self.value.replace(';', "、"))
        } else if NaiveDate::parse_from_str(&self.value, "%Y-%m-%d")
            .is_ok_and(|d| d == domain::record::NO_END_DATE)
        {
            Cow::Borrowed("长期")
        } else {
            Cow::Borrowed(&self.value)
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version_no: i64,
    pub change: &'static str,
    pub change_label: &'static str,
    pub reason: Option<String>,
    pub actor: String,
    // Beijing time as people read it; the exact instant is in the audit trail.
    /// 记录时间，北京时间（UTC+8），格式 YYYY-MM-DD HH:MM:SS。
    pub recorded_at: String,
    pub submission_id: Option<i64>,
    pub row_no: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordView {
    pub record_id: String,
    pub status: RecordStatus,
    pub status_label: &'static str,
    pub under_objection: bool,
    pub source_unit: String,
    pub decided_on: Option<NaiveDate>,
    pub repairable_from: Option<NaiveDate>,
    pub public_ends: Option<NaiveDate>,
    pub severity: Option<String>,
    /// 计算公示期所依据的规则（内部代码）；社会公众查询时为空。
    pub regime: Option<String>,
    /// 计算时的规则版本；社会公众查询时为空。
    pub rule_version: Option<String>,
    /// 报送是否及时（双公示监测）；社会公众查询时为空。
    pub on_time: Option<bool>,
    pub items: Vec<Item>,
    pub versions: Vec<VersionView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClassView {
    pub code: String,
    pub name: String,
    pub sharing: &'static str,
    pub records: Vec<RecordView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreditFile {
    pub subject: Identity,
    pub as_of: NaiveDate,
    pub classes: Vec<ClassView>,
}

/// Item label as shown: amounts are kept and shown in 元.
pub fn item_label(item: &DataItem) -> Cow<'_, str> {
    if let Some(shown) = &item.shown {
        Cow::Borrowed(shown)
    } else if item.ty == ItemType::Wan {
        Cow::Owned(item.name.replace("（万元）", "（元）"))
    } else {
        Cow::Borrowed(&item.name)
    }
}

fn identity(s: &Subject, rules: &Rulebook) -> Identity {
    let division_name = s.division.as_deref().and_then(|d| {
        rules
            .divisions
            .get(d)
            .map(|x| x.name.clone())
            .or_else(|| rules.ids.areas.latest_name(d).map(str::to_string))
    });
    Identity {
        key: s.key.clone(),
        kind: s.kind,
        kind_label: s.kind.label(),
        // A name stored before names were masked at import: an ID number in it is not shown.
        name: domain::ids::mask_ids_in(&s.name).into_owned(),
        uscc: s.uscc.clone(),
        id_masked: s.id_masked.clone(),
        division: s.division.clone(),
        division_name,
        registered: s.registered,
        reg_type: s.reg_type.clone(),
        reg_status: s.reg_status.clone(),
        industry: s.industry.clone(),
        id_suspect: s.id_suspect,
        id_note: s.id_note.clone(),
    }
}

/// The status of a stored record's latest version on `day`.
pub fn record_status(
    r: &StoredRecord,
    class: &CatalogClass,
    day: NaiveDate,
) -> Option<RecordStatus> {
    let v = r.current()?;
    // A class of which only some values are public (纳税信用: grade A) is judged on the record's
    // value as well as on what was stored at import: records stored before the rule came in.
    let published = v.published
        && class.public_only.as_ref().is_none_or(|p| {
            store::payload_items(&v.payload)
                .iter()
                .any(|(code, value)| *code == p.item && p.values.iter().any(|x| x == value))
        });
    Some(status_on(
        StatusFacts {
            change: v.change,
            publicity: class.publicity,
            sharing: class.sharing,
            published,
            ends: v.public_ends,
        },
        day,
    ))
}

/// Item code → (code, label), looked up for every item of every record in a file: a fast hash
/// (the codes come from the catalog, not from a caller).
type Labels<'a> = HashMap<&'a str, (&'static str, &'static str), foldhash::fast::FixedState>;

/// The catalog's item codes and labels for the life of the process. Only catalog strings come
/// here (a few hundred, however many rulebooks are loaded), never a payload's unknown codes, so
/// what is kept is bounded. Every file asks for its classes' labels: each thread remembers the
/// ones it has seen, so the shared table (and its lock) is consulted only the first time.
fn interned(s: &str) -> &'static str {
    thread_local! {
        static SEEN: std::cell::RefCell<HashSet<&'static str>> = Default::default();
    }
    if let Some(k) = SEEN.with_borrow(|seen| seen.get(s).copied()) {
        return k;
    }
    static TABLE: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let k = {
        let mut table = TABLE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match table.get(s) {
            Some(k) => *k,
            None => {
                let k: &'static str = Box::leak(s.to_owned().into_boxed_str());
                table.insert(k);
                k
            }
        }
    };
    SEEN.with_borrow_mut(|seen| seen.insert(k));
    k
}

/// `YYYY-MM-DD HH:MM:SS` in Beijing time, written directly: chrono's `format` parses its pattern
/// on every call, 4% of building a file with a thousand versions.
fn beijing_text(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let t = beijing(t);
    let mut out = String::with_capacity(19);
    let two = |out: &mut String, n: u32| {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    };
    let year = t.year();
    if (0..=9999).contains(&year) {
        let y = year as u32;
        two(&mut out, y / 100);
        two(&mut out, y % 100);
    } else {
        return t.format("%Y-%m-%d %H:%M:%S").to_string();
    }
    for (sep, n) in [
        ('-', t.month()),
        ('-', t.day()),
        (' ', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        out.push(sep);
        two(&mut out, n);
    }
    out
}

fn record_view(
    r: &StoredRecord,
    class: &CatalogClass,
    labels: &Labels<'_>,
    day: NaiveDate,
) -> Option<RecordView> {
    let v = r.current()?;
    let status = record_status(r, class, day)?;
    let several = class
        .index_of_role(domain::catalog::Role::PenaltyCategories)
        .map(|i| class.items[i].code.as_str());
    let items = store::payload_items_on(&v.payload, v.decided_on)
        .into_iter()
        .map(|(code, value)| {
            let is_several = several == Some(code.as_ref());
            let (code, name) = match labels.get(code.as_ref()) {
                Some(&(c, n)) => (Cow::Borrowed(c), Cow::Borrowed(n)),
                None => (Cow::Owned(code.to_string()), Cow::Owned(code.into_owned())),
            };
            Item {
                code,
                name,
                value: value.into_owned(),
                several: is_several,
            }
        })
        .collect();
    Some(RecordView {
        record_id: r.record_id.clone(),
        status,
        status_label: status.label(),
        under_objection: r.under_objection,
        source_unit: r.source_unit.clone(),
        decided_on: v.decided_on,
        repairable_from: v.repairable_from,
        public_ends: v.public_ends,
        severity: v.severity.clone(),
        regime: v.regime.clone(),
        rule_version: v.rule_version.clone(),
        on_time: v.on_time,
        items,
        versions: r
            .versions
            .iter()
            .map(|x| VersionView {
                version_no: x.version_no,
                change: x.change.as_str(),
                // A rectification is stored as a correction: named for what it is.
                change_label: if x.change == ChangeKind::Corrected
                    && x.submission_id.is_none()
                    && x.reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with(domain::lists::RECTIFY_REASON))
                {
                    "限期整改"
                } else if x.change == ChangeKind::Corrected
                    && x.submission_id.is_none()
                    && x.reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with(store::RESTORE_REASON))
                {
                    "撤回后恢复"
                } else {
                    x.change.label()
                },
                // Free text staff typed: ID and mobile numbers in it masked for every reader
                // (the audit trail keeps them masked too).
                reason: x
                    .reason
                    .as_deref()
                    .map(|r| domain::ids::mask_personal_in(r).into_owned()),
                actor: x.actor.clone(),
                recorded_at: beijing_text(x.recorded_at),
                submission_id: x.submission_id,
                row_no: x.row_no,
            })
            .collect(),
    })
}

/// A full file for someone outside the platform's staff (the subject itself, a bank it
/// authorised): who made each version is named by the unit that reported the record, not by
/// a login or token of its staff (nor of the subject's own people, for a commitment it signed).
/// (The reasons staff typed have ID and mobile numbers masked for every reader.)
pub fn staff_names_hidden(file: &mut CreditFile) {
    for class in &mut file.classes {
        for r in &mut class.records {
            for v in &mut r.versions {
                v.actor = r.source_unit.clone();
            }
        }
    }
}

/// The instant a file "as of" a day ends: the end of that day in Beijing.
pub fn end_of_day(as_of: NaiveDate) -> Option<chrono::DateTime<chrono::Utc>> {
    beijing(chrono::Utc::now())
        .timezone()
        .from_local_datetime(
            &as_of.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default()),
        )
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The credit file of the subject with store key `key` as it stood at the end of `as_of`
/// (Beijing time), as `audience` may see it; None when the store does not know the subject.
pub fn credit_file(
    store: &Store,
    rules: &Rulebook,
    key: &str,
    as_of: NaiveDate,
    audience: Audience,
) -> Result<Option<CreditFile>, ViewError> {
    let Some((subject, records)) = store.subject_file(key, end_of_day(as_of))? else {
        return Ok(None);
    };
    Ok(Some(file_of(&subject, &records, rules, as_of, audience)))
}

/// [`credit_file`] from what the store gave for `end_of_day(as_of)` (for a caller that read it
/// itself, such as the service reading PostgreSQL without blocking).
pub fn file_of(
    subject: &Subject,
    records: &[StoredRecord],
    rules: &Rulebook,
    as_of: NaiveDate,
    audience: Audience,
) -> CreditFile {
    let mut classes: Vec<ClassView> = Vec::new();
    // On a serious list now: its red entries are suspended (domain::lists::RED_SUSPENDED_BY) —
    // not shown to the public, marked so for the others.
    let suspended = records.iter().any(|r| {
        domain::lists::RED_SUSPENDED_BY.contains(&r.class_code.as_str())
            && rules
                .catalog
                .class_by_code(&r.class_code)
                .and_then(|class| record_status(r, class, as_of))
                == Some(RecordStatus::Public)
    });
    for class in &rules.catalog.classes {
        if !records.iter().any(|r| r.class_code == class.code) {
            continue;
        }
        let labels: Labels<'_> = class
            .items
            .iter()
            .map(|i| {
                (
                    i.code.as_str(),
                    (interned(&i.code), interned(&item_label(i))),
                )
            })
            .collect();
        // Newest decision first. The records are put in order before their views are built:
        // sorting the views themselves moved ~300-byte values around, 1% of building a file.
        let mut shown: Vec<(Option<NaiveDate>, &StoredRecord)> = records
            .iter()
            .filter(|r| r.class_code == class.code)
            .filter_map(|r| Some((r.current()?.decided_on, r)))
            .collect();
        shown.sort_unstable_by(|(da, a), (db, b)| db.cmp(da).then(a.record_id.cmp(&b.record_id)));
        let mut views: Vec<RecordView> = shown
            .into_iter()
            .filter_map(|(_, r)| record_view(r, class, &labels, as_of))
            .filter(|v| audience.sees(v.status, class.sharing))
            .filter(|_| {
                !(suspended
                    && audience == Audience::Public
                    && class.code == domain::lists::RED_LIST)
            })
            .map(|mut v| {
                if suspended
                    && class.code == domain::lists::RED_LIST
                    && v.status == RecordStatus::Public
                {
                    v.status_label = "暂停激励（同时列入严重失信主体名单）";
                }
                v
            })
            .collect();
        if views.is_empty() {
            continue;
        }
        if audience == Audience::Public {
            // Items the catalog marks never public (证件号码) are left out, masked or not: the
            // open data leaves them out too.
            let hidden: Vec<&str> = class
                .items
                .iter()
                .filter(|i| !i.public)
                .map(|i| i.code.as_str())
                .collect();
            for v in &mut views {
                v.items.retain(|it| !hidden.contains(&it.code.as_ref()));
                // How the platform computed the window (the regime's id, the rule version kept
                // for review) and whether the unit reported on time are the office's records,
                // not what is published: the dates they gave are.
                v.regime = None;
                v.rule_version = None;
                v.on_time = None;
            }
        }
        if audience != Audience::Full {
            for v in &mut views {
                // Who, why and from which row of which batch are the units' business: a reason
                // is free text staff typed (a withdrawal's may name the person it was about).
                for x in &mut v.versions {
                    x.actor = String::new();
                    x.reason = None;
                    x.submission_id = None;
                    x.row_no = None;
                }
            }
        }
        classes.push(ClassView {
            code: class.code.clone(),
            name: class.name.clone(),
            sharing: class.sharing.as_str(),
            records: views,
        });
    }
    let mut subject = identity(subject, rules);
    if audience == Audience::Public {
        // A note on the ID number can name the birth year ("…在1990年未启用"): not for the public.
        subject.id_note = None;
        subject.id_suspect = false;
        // A person's division is the ID number's place of issue (often a name no longer in
        // use), not where they are: not shown to the public.
        if subject.kind == SubjectKind::NaturalPerson {
            subject.division = None;
            subject.division_name = None;
        }
    }
    CreditFile {
        subject,
        as_of,
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn times_read_as_chrono_writes_them_in_beijing() {
        for s in [
            "2026-12-04T16:00:00Z",
            "2026-12-31T15:59:59Z",
            "2026-12-31T16:00:00Z",
            "2000-02-28T23:30:05Z",
            "0999-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
        ] {
            let t: DateTime<Utc> = s.parse().unwrap();
            assert_eq!(
                beijing_text(t),
                beijing(t).format("%Y-%m-%d %H:%M:%S").to_string(),
                "{s}"
            );
        }
    }

    #[test]
    fn interned_labels_are_one_copy_each() {
        let a = interned(&String::from("CF_XDR_MC"));
        let b = interned(&String::from("CF_XDR_MC"));
        assert_eq!(a, "CF_XDR_MC");
        assert!(std::ptr::eq(a, b));
        assert!(!std::ptr::eq(a, interned("CF_XK_WSH")));
        // Another thread, with nothing remembered yet, gets the same copy.
        let there = std::thread::spawn(|| interned("CF_XDR_MC")).join().unwrap();
        assert!(std::ptr::eq(there, a));
    }
}
