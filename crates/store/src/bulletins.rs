//! The monthly 双公示 bulletin (月通报) as issued: the credit office issues a month's bulletin and
//! the platform keeps the workbook byte for byte, with its SM3 and SM2 signature, so that what
//! the units were sent can be shown later whatever the figures have become since (a late report,
//! a withdrawal, a correction all move them). A month issued again is a new version with its
//! reason; nothing issued is changed or deleted (triggers on both backends). Platform data.

use chrono::{DateTime, Utc};

use crate::conn::{Row, Val};
use crate::{Store, StoreError};

/// A bulletin as issued (without its workbook: `bulletin_workbook`).
#[derive(Debug, Clone)]
pub struct IssuedBulletin {
    pub bulletin_id: i64,
    pub month: String,
    pub version: i64,
    pub issued_at: DateTime<Utc>,
    pub issued_by: String,
    /// Why a month was issued again (none for its first version).
    pub reason: Option<String>,
    /// The summary line as issued.
    pub summary: String,
    pub rule_version: String,
    /// SM3 of the workbook, hex.
    pub sm3: String,
    /// What the platform signed (for `openssl dgst -sm3 -verify`).
    pub signed_message: String,
    /// SM2 signature (DER) of `signed_message`.
    pub signature: Vec<u8>,
}

/// A bulletin to issue.
pub struct NewBulletin<'a> {
    pub month: &'a str,
    pub issued_at: DateTime<Utc>,
    pub issued_by: &'a str,
    pub reason: Option<&'a str>,
    pub summary: &'a str,
    pub rule_version: &'a str,
    pub workbook: &'a [u8],
    /// SM3 of the workbook, hex.
    pub sm3: &'a str,
}

const COLUMNS: &str = "bulletin_id, month, version, issued_at, issued_by, reason, summary, \
    rule_version, sm3, signed_message, signature";

fn bulletin_from(r: &Row) -> Result<IssuedBulletin, StoreError> {
    Ok(IssuedBulletin {
        bulletin_id: r.i64(0)?,
        month: r.text(1)?,
        version: r.i64(2)?,
        issued_at: r.time(3)?,
        issued_by: r.text(4)?,
        reason: r.opt_text(5)?,
        summary: r.text(6)?,
        rule_version: r.text(7)?,
        sm3: r.text(8)?,
        signed_message: r.text(9)?,
        signature: r.bytes(10)?,
    })
}

impl Store {
    /// Issues a month's bulletin as its next version. `sign` is given the version and returns
    /// the signed message and its signature. A month already issued needs a reason (a corrected
    /// bulletin says why); two issued at once cannot take the same version (the second is refused).
    /// With `audit`, its entry in the same transaction (naming the bulletin, its version and SM3).
    pub fn issue_bulletin(
        &self,
        b: &NewBulletin<'_>,
        sign: impl FnOnce(i64) -> (String, Vec<u8>),
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<IssuedBulletin, StoreError> {
        self.write_audited(audit, |c, entry| {
            let last = c
                .query_one(
                    "SELECT version, issued_at FROM bulletins WHERE month = $1
                     ORDER BY version DESC LIMIT 1",
                    &[b.month.into()],
                )?
                .map(|r| Ok::<_, StoreError>((r.i64(0)?, r.time(1)?)))
                .transpose()?;
            if let Some((v, at)) = last
                && b.reason.is_none()
            {
                return Err(StoreError::Refused(format!(
                    "{}月通报已于{}印发（第{v}版）；再次印发须填写更正理由",
                    b.month,
                    domain::clock::beijing(at).format("%Y-%m-%d %H:%M")
                )));
            }
            let version = last.map_or(1, |(v, _)| v + 1);
            let (message, signature) = sign(version);
            let row = c
                .query_one(
                    &format!(
                        "INSERT INTO bulletins (month, version, issued_at, issued_by, reason,
                            summary, rule_version, workbook, sm3, signed_message, signature)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                         RETURNING {COLUMNS}"
                    ),
                    &[
                        b.month.into(),
                        Val::Int(version),
                        b.issued_at.into(),
                        b.issued_by.into(),
                        b.reason.map(str::to_string).into(),
                        b.summary.into(),
                        b.rule_version.into(),
                        Val::Bytes(b.workbook.to_vec()),
                        b.sm3.into(),
                        message.into(),
                        Val::Bytes(signature),
                    ],
                )?
                .ok_or_else(|| StoreError::Decode("no bulletin id".into()))?;
            let issued = bulletin_from(&row)?;
            if let Some(e) = entry {
                e.object = Some(format!("bulletin:{}", issued.bulletin_id));
                e.detail = Some(format!(
                    "month={} version={} sm3={}",
                    issued.month, issued.version, issued.sm3
                ));
            }
            Ok(issued)
        })
    }

    /// A month's issued bulletins, the latest version first.
    pub fn bulletins(&self, month: &str) -> Result<Vec<IssuedBulletin>, StoreError> {
        self.read(|c| {
            c.query(
                &format!("SELECT {COLUMNS} FROM bulletins WHERE month = $1 ORDER BY version DESC"),
                &[month.into()],
            )?
            .iter()
            .map(bulletin_from)
            .collect()
        })
    }

    /// One issued bulletin and its workbook as issued.
    pub fn bulletin_workbook(
        &self,
        id: i64,
    ) -> Result<Option<(IssuedBulletin, Vec<u8>)>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {COLUMNS}, workbook FROM bulletins WHERE bulletin_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| Ok((bulletin_from(&r)?, r.bytes(11)?)))
            .transpose()
        })
    }
}
