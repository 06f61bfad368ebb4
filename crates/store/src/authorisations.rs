//! 信易贷授权查询: a subject lets a financial institution read its credit file, for a credit
//! decision (授信融资), until a day it chooses, and may withdraw that at any time. Platform data
//! (beside accounts and checks); the institution is known by its own 统一社会信用代码, which its
//! accounts and tokens carry.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::conn::{Row, Val};
use crate::{Store, StoreError};

/// One authorisation, as the subject, the institution and the credit office see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "一项信易贷授权查询（主体、金融机构和信用办看到的内容相同）。")]
pub struct Authorisation {
    pub auth_id: i64,
    // The subject's key (a person's: `P` and a keyed hash, not the ID number): how the
    // institution asks for the file.
    /// 主体标识（自然人为 `P` 加密钥散列值，不是身份证号码）：金融机构凭此查询该主体的信用档案。
    pub subject_key: String,
    // The subject's name and code (a person's ID number masked).
    /// 主体名称和代码（自然人的身份证号码已脱敏）。
    pub subject_label: String,
    // The institution's 统一社会信用代码.
    /// 金融机构的统一社会信用代码。
    pub institution: String,
    pub purpose: String,
    pub granted_by: String,
    pub granted_at: DateTime<Utc>,
    // The last day it holds.
    /// 授权有效的最后一天（YYYY-MM-DD）。
    pub until: NaiveDate,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

impl Authorisation {
    /// Whether it holds on `day`.
    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.revoked_at.is_none() && day <= self.until
    }
}

/// A new authorisation.
pub struct NewAuthorisation<'a> {
    pub subject_key: &'a str,
    pub subject_label: &'a str,
    pub institution: &'a str,
    pub purpose: &'a str,
    pub granted_by: &'a str,
    pub at: DateTime<Utc>,
    pub until: NaiveDate,
}

const COLUMNS: &str = "auth_id, subject_key, subject_label, institution, purpose, granted_by, \
     granted_at, until, revoked_at, revoked_by";

fn from_row(r: &Row) -> Result<Authorisation, StoreError> {
    Ok(Authorisation {
        auth_id: r.i64(0)?,
        subject_key: r.text(1)?,
        subject_label: r.text(2)?,
        institution: r.text(3)?,
        purpose: r.text(4)?,
        granted_by: r.text(5)?,
        granted_at: r.time(6)?,
        until: r
            .opt_date(7)?
            .ok_or_else(|| StoreError::Decode("an authorisation without its end".into()))?,
        revoked_at: r.opt_time(8)?,
        revoked_by: r.opt_text(9)?,
    })
}

impl Store {
    /// Records an authorisation, unless one of the same institution still holds on `today`
    /// (one at a time, so that withdrawing it withdraws it all): `Refused` then. The check and
    /// the insert are one transaction (on PostgreSQL under the table's lock; SQLite has one
    /// writer), so two grants sent at once cannot both pass. With `audit`, its entry in the
    /// same transaction (object `authorisation:<id>`).
    pub fn grant_authorisation(
        &self,
        a: &NewAuthorisation<'_>,
        today: NaiveDate,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<i64, StoreError> {
        self.write_audited(audit, |c, entry| {
            if c.backend() == crate::Backend::Postgres {
                c.batch("LOCK TABLE authorisations IN SHARE ROW EXCLUSIVE MODE")?;
            }
            if let Some(r) = c.query_one(
                "SELECT auth_id, until FROM authorisations WHERE subject_key = $1
                   AND institution = $2 AND revoked_at IS NULL AND until >= $3 LIMIT 1",
                &[a.subject_key.into(), a.institution.into(), today.into()],
            )? {
                return Err(StoreError::Refused(format!(
                    "该金融机构已有有效授权（编号{}，截止{}）：如需变更，请先撤回再重新授权",
                    r.i64(0)?,
                    r.opt_date(1)?.map(|d| d.to_string()).unwrap_or_default()
                )));
            }
            let r = c
                .query_one(
                    "INSERT INTO authorisations (subject_key, subject_label, institution, purpose,
                        granted_by, granted_at, until)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING auth_id",
                    &[
                        a.subject_key.into(),
                        a.subject_label.into(),
                        a.institution.into(),
                        a.purpose.into(),
                        a.granted_by.into(),
                        a.at.into(),
                        a.until.into(),
                    ],
                )?
                .ok_or_else(|| StoreError::Decode("no id returned".into()))?;
            let id = r.i64(0)?;
            if let Some(e) = entry {
                e.object = Some(format!("authorisation:{id}"));
            }
            Ok(id)
        })
    }

    /// Withdraws an authorisation of `subject_key`'s that still holds on `today` (`NotFound`
    /// when there is none); with `audit`, its entry in the same transaction.
    pub fn revoke_authorisation(
        &self,
        id: i64,
        subject_key: &str,
        by: &str,
        at: DateTime<Utc>,
        today: NaiveDate,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<(), StoreError> {
        self.write_audited(audit, |c, _| {
            let n = c.execute(
                "UPDATE authorisations SET revoked_at = $1, revoked_by = $2
                 WHERE auth_id = $3 AND subject_key = $4 AND revoked_at IS NULL AND until >= $5",
                &[
                    at.into(),
                    by.into(),
                    Val::Int(id),
                    subject_key.into(),
                    today.into(),
                ],
            )?;
            if n != 1 {
                return Err(StoreError::NotFound(format!("授权{id}不存在或已撤回")));
            }
            Ok(())
        })
    }

    pub fn authorisation(&self, id: i64) -> Result<Option<Authorisation>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {COLUMNS} FROM authorisations WHERE auth_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| from_row(&r))
            .transpose()
        })
    }

    /// A subject's authorisations, or an institution's, or all (newest first, at most `limit`).
    pub fn authorisations(
        &self,
        subject_key: Option<&str>,
        institution: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Authorisation>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM authorisations
                     WHERE ($1 = '' OR subject_key = $1) AND ($2 = '' OR institution = $2)
                     ORDER BY auth_id DESC LIMIT $3"
                ),
                &[
                    subject_key.unwrap_or_default().into(),
                    institution.unwrap_or_default().into(),
                    Val::Int(limit),
                ],
            )?
            .iter()
            .map(from_row)
            .collect()
        })
    }

    /// Whether `institution` may read `subject_key`'s file on `day` for `purpose`.
    pub fn authorised(
        &self,
        subject_key: &str,
        institution: &str,
        purpose: &str,
        day: NaiveDate,
    ) -> Result<bool, StoreError> {
        self.read(|c| {
            Ok(c.query_one(
                "SELECT 1 FROM authorisations WHERE subject_key = $1 AND institution = $2
                   AND purpose = $3 AND revoked_at IS NULL AND until >= $4 LIMIT 1",
                &[
                    subject_key.into(),
                    institution.into(),
                    purpose.into(),
                    day.into(),
                ],
            )?
            .is_some())
        })
    }
}
