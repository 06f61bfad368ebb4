//! What the portal and the monitoring pages read: the records public now (双公示 columns, lists,
//! open data), news articles, and the monthly 双公示 figures with the units' self-reports.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::conn::{Row, Val};
use crate::model::record_id;
use crate::{Store, StoreError};

/// Which public records to list.
#[derive(Debug, Clone, Default)]
pub struct PublicQuery {
    pub classes: Vec<String>,
    /// Public on this day.
    pub today: Option<NaiveDate>,
    pub unit: Option<String>,
    /// The deciding (reporting) unit's division.
    pub division: Option<String>,
    /// The subject's own division (a county's companies and people, whoever decided).
    pub subject_division: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// A word the category must contain (罚款, 普通 …).
    pub category: Option<String>,
    pub subject_key: Option<String>,
    /// Continue after this (decided_on, subject_key, record_key), newest first (one direction
    /// throughout, so the (class, date) indexes deliver rows already in order).
    pub after: Option<(NaiveDate, String, Vec<u8>)>,
    /// Leave out subjects with an entry public now in any of these classes (the red list
    /// without those on a serious list).
    pub unless_listed_in: Vec<String>,
    pub offset: i64,
    pub limit: i64,
}

/// A record public now, with its current content.
#[derive(Debug, Clone, Serialize)]
pub struct PublicRecord {
    pub record_id: String,
    pub subject_key: String,
    #[serde(skip)]
    pub record_key: Vec<u8>,
    pub class_code: String,
    pub source_unit: String,
    pub division: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub public_ends: Option<NaiveDate>,
    pub repairable_from: Option<NaiveDate>,
    pub category: Option<String>,
    pub under_objection: bool,
    pub payload: String,
}

fn public_from(r: &Row) -> Result<PublicRecord, StoreError> {
    let subject = r.text(0)?;
    let key = r.bytes(1)?;
    Ok(PublicRecord {
        record_id: record_id(&subject, &key),
        subject_key: subject,
        record_key: key,
        class_code: r.text(2)?,
        source_unit: r.text(3)?,
        division: r.opt_text(4)?,
        decided_on: r.opt_date(5)?,
        public_ends: r.opt_date(6)?,
        repairable_from: r.opt_date(7)?,
        category: r.opt_text(8)?,
        under_objection: r.bool(9)?,
        payload: r.text(10)?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub article_id: i64,
    pub column_name: String,
    pub title: String,
    pub body: String,
    pub published_on: Option<NaiveDate>,
    pub status: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When its text was last changed while published (None: as first published).
    pub edited_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub attachment_id: i64,
    pub article_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub byte_size: i64,
}

const ARTICLE_COLUMNS: &str = "article_id, column_name, title, body, published_on, status, author, created_at, updated_at, edited_at";

fn article_from(r: &Row) -> Result<Article, StoreError> {
    Ok(Article {
        article_id: r.i64(0)?,
        column_name: r.text(1)?,
        title: r.text(2)?,
        body: r.text(3)?,
        published_on: r.opt_date(4)?,
        status: r.text(5)?,
        author: r.text(6)?,
        created_at: r.time(7)?,
        updated_at: r.time(8)?,
        edited_at: r.opt_time(9)?,
    })
}

/// Monthly 双公示 figures of one unit and class.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonthFigures {
    pub source_unit: String,
    pub class_code: String,
    pub accepted: i64,
    pub linked: i64,
    pub on_time: i64,
    pub rejected: i64,
    /// The unit's latest self-report of decisions made, if filed.
    pub produced: Option<i64>,
    pub gap_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SelfReport {
    pub source_unit: String,
    pub class_code: String,
    pub month: String,
    pub produced: i64,
    pub gap_reason: Option<String>,
    pub filed_by: String,
    pub filed_at: DateTime<Utc>,
}

impl Store {
    /// Records public on `q.today`, newest decision first.
    pub fn public_records(&self, q: &PublicQuery) -> Result<Vec<PublicRecord>, StoreError> {
        let mut sql = String::from(
            "SELECT r.subject_key, r.record_key, r.class_code, r.source_unit, r.division, r.decided_on,
                r.public_ends, r.repairable_from, r.category, r.under_objection, v.payload
             FROM records r JOIN record_versions v ON v.subject_key = r.subject_key
                AND v.record_key = r.record_key AND v.version_no = r.current_version
             WHERE r.change IN ('created', 'corrected') AND r.published",
        );
        let mut params: Vec<Val> = Vec::new();
        sql.push_str(&public_where(q, &mut params));
        let lim = p(Val::Int(q.limit.clamp(1, 5000)), &mut params);
        let off = p(Val::Int(q.offset.max(0)), &mut params);
        sql.push_str(&format!(
            " ORDER BY r.decided_on DESC, r.subject_key DESC, r.record_key DESC LIMIT {lim} OFFSET {off}"
        ));
        self.read(|c| c.query(&sql, &params)?.iter().map(public_from).collect())
    }

    /// How many records of these classes are public now (for headline figures).
    pub fn count_public(&self, classes: &[&str], today: NaiveDate) -> Result<i64, StoreError> {
        let list: Vec<String> = (0..classes.len()).map(|i| format!("${}", i + 2)).collect();
        let mut params: Vec<Val> = vec![today.into()];
        params.extend(classes.iter().map(|c| Val::from(*c)));
        self.read(|c| {
            c.query_one(
                &format!(
                    "SELECT COUNT(*) FROM records WHERE change IN ('created', 'corrected') AND published
                     AND (public_ends IS NULL OR public_ends >= $1) AND class_code IN ({})",
                    list.join(", ")
                ),
                &params,
            )?
            .map_or(Ok(0), |r| r.i64(0))
        })
    }

    /// How many records of a class are public now whose subject is on none of `unless` (a red
    /// list's count as its page shows it: a subject on a serious list is left out there).
    pub fn count_public_unless(
        &self,
        class: &str,
        unless: &[&str],
        today: NaiveDate,
    ) -> Result<i64, StoreError> {
        if unless.is_empty() {
            return self.count_public(&[class], today);
        }
        let list: Vec<String> = (0..unless.len()).map(|i| format!("${}", i + 3)).collect();
        let mut params: Vec<Val> = vec![today.into(), class.into()];
        params.extend(unless.iter().map(|c| Val::from(*c)));
        self.read(|c| {
            c.query_one(
                &format!(
                    "SELECT COUNT(*) FROM records r WHERE r.change IN ('created', 'corrected')
                     AND r.published AND (r.public_ends IS NULL OR r.public_ends >= $1)
                     AND r.class_code = $2
                     AND NOT EXISTS (SELECT 1 FROM records o WHERE o.subject_key = r.subject_key
                        AND o.class_code IN ({}) AND o.change IN ('created', 'corrected')
                        AND o.published AND (o.public_ends IS NULL OR o.public_ends >= $1))",
                    list.join(", ")
                ),
                &params,
            )?
            .map_or(Ok(0), |r| r.i64(0))
        })
    }

    // ----- articles -----

    /// Writes a draft; `before_commit` runs in its transaction with the new article's id (the
    /// console writes its audit entry there, as with the other article writes below).
    pub fn create_article(
        &self,
        column: &str,
        title: &str,
        body: &str,
        author: &str,
        at: DateTime<Utc>,
        before_commit: &dyn Fn(i64) -> Result<(), StoreError>,
    ) -> Result<i64, StoreError> {
        self.write(|c| {
            let id = c
                .query_one(
                    "INSERT INTO articles (column_name, title, body, status, author, created_at, updated_at)
                     VALUES ($1, $2, $3, 'draft', $4, $5, $5) RETURNING article_id",
                    &[column.into(), title.into(), body.into(), author.into(), at.into()],
                )?
                .ok_or_else(|| StoreError::Decode("no article id".into()))?
                .i64(0)?;
            before_commit(id)?;
            Ok(id)
        })
    }

    pub fn update_article(
        &self,
        id: i64,
        column: &str,
        title: &str,
        body: &str,
        at: DateTime<Utc>,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE articles SET column_name = $1, title = $2, body = $3, updated_at = $4,
                        edited_at = CASE WHEN status = 'published' THEN $4 ELSE edited_at END
                  WHERE article_id = $5",
                &[
                    column.into(),
                    title.into(),
                    body.into(),
                    at.into(),
                    Val::Int(id),
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("文章{id}不存在")));
            }
            before_commit()
        })
    }

    /// Publishes (with its publication date) or withdraws an article.
    pub fn set_article_status(
        &self,
        id: i64,
        status: &str,
        published_on: Option<NaiveDate>,
        at: DateTime<Utc>,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE articles SET status = $1, published_on = COALESCE($2, published_on), updated_at = $3 WHERE article_id = $4",
                &[status.into(), published_on.into(), at.into(), Val::Int(id)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("文章{id}不存在")));
            }
            before_commit()
        })
    }

    pub fn article(&self, id: i64) -> Result<Option<Article>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {ARTICLE_COLUMNS} FROM articles WHERE article_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| article_from(&r))
            .transpose()
        })
    }

    /// Articles, newest first: published ones on or before `published_by` (the portal) or all.
    pub fn articles(
        &self,
        column: Option<&str>,
        query: Option<&str>,
        published_by: Option<NaiveDate>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Article>, StoreError> {
        // The words as typed: % and _ (and the escape itself) are matched literally.
        let like = query
            .map(|q| {
                let q = q
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{q}%")
            })
            .unwrap_or_default();
        self.read(|c| {
            let (status_filter, params): (&str, Vec<Val>) = match published_by {
                Some(d) => (
                    "status = 'published' AND published_on <= $4",
                    vec![column.unwrap_or("").into(), like.as_str().into(), Val::Int(limit), d.into(), Val::Int(offset)],
                ),
                None => (
                    "$4 = $4",
                    vec![column.unwrap_or("").into(), like.as_str().into(), Val::Int(limit), Val::Int(0), Val::Int(offset)],
                ),
            };
            c.query(
                &format!(
                    "SELECT {ARTICLE_COLUMNS} FROM articles
                     WHERE {status_filter} AND ($1 = '' OR column_name = $1)
                       AND ($2 = '' OR title LIKE $2 ESCAPE '\\' OR body LIKE $2 ESCAPE '\\')
                     ORDER BY COALESCE(published_on, '9999-12-31') DESC, article_id DESC LIMIT $3 OFFSET $5"
                ),
                &params,
            )?
            .iter()
            .map(article_from)
            .collect()
        })
    }

    pub fn add_attachment(
        &self,
        article_id: i64,
        file_name: &str,
        content_type: &str,
        data: &[u8],
        before_commit: &dyn Fn(i64) -> Result<(), StoreError>,
    ) -> Result<i64, StoreError> {
        self.write(|c| {
            let id = c
                .query_one(
                    "INSERT INTO article_attachments (article_id, file_name, content_type, byte_size, data)
                     VALUES ($1, $2, $3, $4, $5) RETURNING attachment_id",
                    &[Val::Int(article_id), file_name.into(), content_type.into(), Val::Int(data.len() as i64), data.into()],
                )?
                .ok_or_else(|| StoreError::Decode("no attachment id".into()))?
                .i64(0)?;
            before_commit(id)?;
            Ok(id)
        })
    }

    /// Removes an attachment of an article (a wrong file uploaded stayed published); whether
    /// there was one. `before_commit` runs in its transaction.
    pub fn remove_attachment(
        &self,
        article_id: i64,
        attachment_id: i64,
        before_commit: &dyn Fn() -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        self.write(|c| {
            let n = c.execute(
                "DELETE FROM article_attachments WHERE article_id = $1 AND attachment_id = $2",
                &[Val::Int(article_id), Val::Int(attachment_id)],
            )?;
            if n == 1 {
                before_commit()?;
            }
            Ok(n == 1)
        })
    }

    pub fn attachments(&self, article_id: i64) -> Result<Vec<Attachment>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT attachment_id, article_id, file_name, content_type, byte_size FROM article_attachments
                 WHERE article_id = $1 ORDER BY attachment_id",
                &[Val::Int(article_id)],
            )?
            .iter()
            .map(|r| {
                Ok(Attachment {
                    attachment_id: r.i64(0)?,
                    article_id: r.i64(1)?,
                    file_name: r.text(2)?,
                    content_type: r.text(3)?,
                    byte_size: r.i64(4)?,
                })
            })
            .collect()
        })
    }

    pub fn attachment_data(
        &self,
        article_id: i64,
        attachment_id: i64,
    ) -> Result<Option<(Attachment, Vec<u8>)>, StoreError> {
        self.read(|c| {
            c.query_one(
                "SELECT attachment_id, article_id, file_name, content_type, byte_size, data FROM article_attachments
                 WHERE article_id = $1 AND attachment_id = $2",
                &[Val::Int(article_id), Val::Int(attachment_id)],
            )?
            .map(|r| {
                Ok((
                    Attachment {
                        attachment_id: r.i64(0)?,
                        article_id: r.i64(1)?,
                        file_name: r.text(2)?,
                        content_type: r.text(3)?,
                        byte_size: r.i64(4)?,
                    },
                    r.bytes(5)?,
                ))
            })
            .transpose()
        })
    }

    // ----- 双公示 monitoring -----

    pub fn file_self_report(&self, r: &SelfReport) -> Result<(), StoreError> {
        self.file_self_report_then(r, &|| Ok(()))
    }

    /// Files a unit's self-report, running `before_commit` in its transaction (the service
    /// writes its audit entry there).
    pub fn file_self_report_then(
        &self,
        r: &SelfReport,
        before_commit: crate::BeforeCommit<'_>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "INSERT INTO self_reports (source_unit, class_code, month, produced, gap_reason, filed_by, filed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    r.source_unit.as_str().into(),
                    r.class_code.as_str().into(),
                    r.month.as_str().into(),
                    Val::Int(r.produced),
                    r.gap_reason.clone().into(),
                    r.filed_by.as_str().into(),
                    r.filed_at.into(),
                ],
            )?;
            before_commit()
        })
    }

    /// The latest self-reports of a month (or of one unit, all months).
    pub fn self_reports(
        &self,
        month: Option<&str>,
        unit: Option<&str>,
    ) -> Result<Vec<SelfReport>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT s.source_unit, s.class_code, s.month, s.produced, s.gap_reason, s.filed_by, s.filed_at
                 FROM self_reports s
                 JOIN (SELECT source_unit, class_code, month, MAX(report_id) AS last FROM self_reports
                       GROUP BY source_unit, class_code, month) m ON m.last = s.report_id
                 WHERE ($1 = '' OR s.month = $1) AND ($2 = '' OR s.source_unit = $2)
                 ORDER BY s.month DESC, s.source_unit, s.class_code",
                &[month.unwrap_or("").into(), unit.unwrap_or("").into()],
            )?
            .iter()
            .map(|r| {
                Ok(SelfReport {
                    source_unit: r.text(0)?,
                    class_code: r.text(1)?,
                    month: r.text(2)?,
                    produced: r.i64(3)?,
                    gap_reason: r.opt_text(4)?,
                    filed_by: r.text(5)?,
                    filed_at: r.time(6)?,
                })
            })
            .collect()
        })
    }

    /// The month's figures per unit and class, from the rollup kept at import, with the
    /// units' latest self-reports.
    pub fn month_figures(
        &self,
        month: &str,
        classes: &[&str],
    ) -> Result<Vec<MonthFigures>, StoreError> {
        let rows = self.read(|c| {
            c.query(
                "SELECT source_unit, class_code, accepted, linked, on_time, rejected FROM publicity_monthly WHERE month = $1",
                &[month.into()],
            )
        })?;
        let mut out: Vec<MonthFigures> = Vec::new();
        for r in rows {
            let class = r.text(1)?;
            if !classes.contains(&class.as_str()) {
                continue;
            }
            out.push(MonthFigures {
                source_unit: r.text(0)?,
                class_code: class,
                accepted: r.i64(2)?,
                linked: r.i64(3)?,
                on_time: r.i64(4)?,
                rejected: r.i64(5)?,
                produced: None,
                gap_reason: None,
            });
        }
        for s in self.self_reports(Some(month), None)? {
            if !classes.contains(&s.class_code.as_str()) {
                continue;
            }
            match out
                .iter_mut()
                .find(|f| f.source_unit == s.source_unit && f.class_code == s.class_code)
            {
                Some(f) => {
                    f.produced = Some(s.produced);
                    f.gap_reason = s.gap_reason;
                }
                None => out.push(MonthFigures {
                    source_unit: s.source_unit,
                    class_code: s.class_code,
                    produced: Some(s.produced),
                    gap_reason: s.gap_reason,
                    ..Default::default()
                }),
            }
        }
        out.sort_by(|a, b| (&a.source_unit, &a.class_code).cmp(&(&b.source_unit, &b.class_code)));
        Ok(out)
    }

    /// The same figures recounted from the versions themselves (first versions by month of
    /// decision, of records not withdrawn) and the rejections: what the rollup must equal.
    pub fn month_figures_recount(
        &self,
        month: &str,
        classes: &[&str],
    ) -> Result<Vec<MonthFigures>, StoreError> {
        let (from, to) = month_bounds(month)?;
        let list: Vec<String> = (0..classes.len()).map(|i| format!("${}", i + 3)).collect();
        let mut params: Vec<Val> = vec![from.into(), to.into()];
        params.extend(classes.iter().map(|c| Val::from(*c)));
        let in_list = list.join(", ");
        // A decision revoked by law and withdrawn for it still counts (`REVOKED_REASON`).
        let revoked = crate::REVOKED_REASON;
        let accepted = self.read(|c| {
            c.query(
                &format!(
                    // Each record once: under its first version's unit and with its 关联, in
                    // the month of its current decision date, with its current timeliness.
                    "SELECT v.source_unit, v.class_code, COUNT(*),
                        CAST(SUM(CASE WHEN v.linked THEN 1 ELSE 0 END) AS BIGINT),
                        CAST(SUM(CASE WHEN vc.on_time THEN 1 ELSE 0 END) AS BIGINT)
                     FROM records r
                     JOIN record_versions v ON v.subject_key = r.subject_key
                       AND v.record_key = r.record_key AND v.version_no = 1
                     JOIN record_versions vc ON vc.subject_key = r.subject_key
                       AND vc.record_key = r.record_key AND vc.version_no = r.current_version
                     WHERE v.change = 'created'
                       AND (r.change <> 'withdrawn' OR vc.reason LIKE '{revoked}%')
                       AND r.decided_on >= $1 AND r.decided_on < $2 AND r.class_code IN ({in_list})
                     GROUP BY v.source_unit, v.class_code"
                ),
                &params,
            )
        })?;
        // Rejected decisions: those without a key as counted, each keyed one while it is open
        // (not accepted since).
        let by_month: Vec<String> = (0..classes.len()).map(|i| format!("${}", i + 2)).collect();
        let by_month = by_month.join(", ");
        let mut keyed: Vec<Val> = vec![month.into()];
        keyed.extend(classes.iter().map(|c| Val::from(*c)));
        let rejected = self.read(|c| {
            c.query(
                &format!(
                    "SELECT source_unit, class_code, CAST(SUM(n) AS BIGINT) FROM (
                        SELECT s.source_unit, s.class_code, COUNT(*) AS n FROM rejections j
                        JOIN submissions s ON s.submission_id = j.submission_id
                        WHERE j.decision_key IS NULL AND j.counted_month = $1
                          AND s.class_code IN ({by_month})
                        GROUP BY s.source_unit, s.class_code
                        UNION ALL
                        SELECT source_unit, class_code, COUNT(*) FROM open_rejections
                        WHERE month = $1 AND class_code IN ({by_month})
                        GROUP BY source_unit, class_code) t
                     GROUP BY source_unit, class_code"
                ),
                &keyed,
            )
        })?;
        let mut out: Vec<MonthFigures> = Vec::new();
        for r in accepted {
            out.push(MonthFigures {
                source_unit: r.text(0)?,
                class_code: r.text(1)?,
                accepted: r.i64(2)?,
                linked: r.i64(3)?,
                on_time: r.i64(4)?,
                ..Default::default()
            });
        }
        for r in rejected {
            let (u, c, n) = (r.text(0)?, r.text(1)?, r.i64(2)?);
            match out
                .iter_mut()
                .find(|f| f.source_unit == u && f.class_code == c)
            {
                Some(f) => f.rejected = n,
                None => out.push(MonthFigures {
                    source_unit: u,
                    class_code: c,
                    rejected: n,
                    ..Default::default()
                }),
            }
        }
        out.sort_by(|a, b| (&a.source_unit, &a.class_code).cmp(&(&b.source_unit, &b.class_code)));
        Ok(out)
    }

    /// Per unit since `since`: rows read and rows rejected (for the rejection-rate warning).
    pub fn rejection_rates(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        self.read(|c| {
            c.query(
                // A batch withdrawn since still counts: its rows were sent and refused.
                "SELECT source_unit, CAST(SUM(rows_read) AS BIGINT), CAST(SUM(rejected) AS BIGINT) FROM submissions
                 WHERE received_at >= $1 GROUP BY source_unit ORDER BY source_unit",
                &[since.into()],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.i64(1)?, r.i64(2)?)))
            .collect()
        })
    }

    /// Records of a unit and month of decision for the drill-down: late, unlinked; each with
    /// when it first reached the platform (its first version: what a late report is judged by).
    pub fn month_records(
        &self,
        unit: &str,
        class: &str,
        month: &str,
        which: &str,
        limit: i64,
    ) -> Result<Vec<(PublicRecord, DateTime<Utc>)>, StoreError> {
        let (from, to) = month_bounds(month)?;
        // The records the month's figures count (`month_figures_recount`), as they read now:
        // under the first version's unit and 关联, in the month of the current decision date,
        // late by the current timeliness; shown as their current version (a corrected fine
        // or date, not the first report's).
        let cond = match which {
            "late" => "AND vc.on_time IS NOT NULL AND NOT vc.on_time",
            "unlinked" => "AND NOT v.linked",
            _ => "",
        };
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT vc.subject_key, vc.record_key, vc.class_code, v.source_unit, r.division, vc.decided_on,
                        vc.public_ends, vc.repairable_from, r.category, r.under_objection, vc.payload,
                        v.recorded_at
                     FROM records r
                     JOIN record_versions v ON v.subject_key = r.subject_key
                       AND v.record_key = r.record_key AND v.version_no = 1
                     JOIN record_versions vc ON vc.subject_key = r.subject_key
                       AND vc.record_key = r.record_key AND vc.version_no = r.current_version
                     WHERE v.change = 'created' AND r.change <> 'withdrawn'
                       AND v.source_unit = $1 AND r.class_code = $2
                       AND r.decided_on >= $3 AND r.decided_on < $4 {cond}
                     ORDER BY r.decided_on, r.subject_key LIMIT $5"
                ),
                &[unit.into(), class.into(), from.into(), to.into(), Val::Int(limit)],
            )?
            .iter()
            .map(|r| Ok((public_from(r)?, r.time(11)?)))
            .collect()
        })
    }
}

impl Store {
    /// Rows of a unit rejected for a month, for the drill-down: (submission, row) — the rows the
    /// month's figures count: those without a decision key counted in the month, and every row
    /// of a decision still open (not accepted since) in the month.
    pub fn month_rejections(
        &self,
        unit: &str,
        class: &str,
        month: &str,
        limit: i64,
    ) -> Result<Vec<(i64, crate::StoredRejection, Option<String>)>, StoreError> {
        month_bounds(month)?;
        self.read(|c| {
            c.query(
                "SELECT j.submission_id, j.row_no, j.problems, j.raw_sealed, j.decision_key
                 FROM rejections j
                 JOIN submissions s ON s.submission_id = j.submission_id
                 WHERE s.source_unit = $1 AND s.class_code = $2
                   AND ((j.decision_key IS NULL AND j.counted_month = $3)
                     OR EXISTS (SELECT 1 FROM open_rejections o
                                WHERE o.source_unit = $1 AND o.class_code = $2
                                  AND o.decision_key = j.decision_key AND o.month = $3))
                 ORDER BY j.submission_id, j.row_no LIMIT $4",
                &[unit.into(), class.into(), month.into(), Val::Int(limit)],
            )?
            .iter()
            .map(|r| {
                Ok((
                    r.i64(0)?,
                    crate::StoredRejection {
                        row_no: r.i64(1)?,
                        problems: serde_json::from_str(&r.text(2)?)
                            .map_err(|e| StoreError::Decode(e.to_string()))?,
                        raw_sealed: r.bytes(3)?,
                    },
                    r.opt_text(4)?,
                ))
            })
            .collect()
        })
    }
}

/// `2026-10` → (2026-10-01, 2026-11-01).
pub fn month_bounds(month: &str) -> Result<(NaiveDate, NaiveDate), StoreError> {
    // Exactly YYYY-MM: the parser alone takes "2026-1" and "+2026-12", which name the same
    // month as another string (a bulletin's versions and rollups are kept by the string).
    let b = month.as_bytes();
    let shaped = b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit());
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| shaped)
        .ok_or_else(|| StoreError::Refused(format!("“{month}”不是YYYY-MM格式的月份")))?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| StoreError::Refused(format!("月份{month}超出范围")))?;
    Ok((first, next))
}

/// A parameter's placeholder, its value pushed.
fn p(v: Val, params: &mut Vec<Val>) -> String {
    params.push(v);
    format!("${}", params.len())
}

/// The conditions of a public query on the record heads `r` (after the record is public).
fn public_where(q: &PublicQuery, params: &mut Vec<Val>) -> String {
    let mut sql = String::new();
    if !q.classes.is_empty() {
        let list: Vec<String> = q
            .classes
            .iter()
            .map(|c| p(c.as_str().into(), params))
            .collect();
        sql.push_str(&format!(" AND r.class_code IN ({})", list.join(", ")));
    }
    if let Some(t) = q.today {
        let x = p(t.into(), params);
        sql.push_str(&format!(
            " AND (r.public_ends IS NULL OR r.public_ends >= {x})"
        ));
    }
    if let Some(u) = &q.unit {
        let x = p(u.as_str().into(), params);
        sql.push_str(&format!(" AND r.source_unit = {x}"));
    }
    if let Some(d) = &q.division {
        let x = p(d.as_str().into(), params);
        sql.push_str(&format!(" AND r.division = {x}"));
    }
    if let Some(d) = &q.subject_division {
        // By the subject master's primary key: a probe per row read.
        let x = p(d.as_str().into(), params);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM subjects sd WHERE sd.subject_key = r.subject_key
                AND sd.division = {x})"
        ));
    }
    if let Some(f) = q.from {
        let x = p(f.into(), params);
        sql.push_str(&format!(" AND r.decided_on >= {x}"));
    }
    if let Some(t) = q.to {
        let x = p(t.into(), params);
        sql.push_str(&format!(" AND r.decided_on <= {x}"));
    }
    if let Some(c) = &q.category {
        // The word as typed: % and _ in it match themselves, not anything.
        let word = c
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let x = p(format!("%{word}%").into(), params);
        sql.push_str(&format!(" AND r.category LIKE {x} ESCAPE '\\'"));
    }
    if let Some(s) = &q.subject_key {
        let x = p(s.as_str().into(), params);
        sql.push_str(&format!(" AND r.subject_key = {x}"));
    }
    if !q.unless_listed_in.is_empty() {
        let list: Vec<String> = q
            .unless_listed_in
            .iter()
            .map(|c| p(c.as_str().into(), params))
            .collect();
        let still = match q.today {
            Some(t) => {
                let x = p(t.into(), params);
                format!(" AND (o.public_ends IS NULL OR o.public_ends >= {x})")
            }
            None => String::new(),
        };
        // By the record heads' primary key (subject first): a probe per row shown.
        sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM records o WHERE o.subject_key = r.subject_key
            AND o.class_code IN ({}) AND o.change IN ('created', 'corrected')
            AND o.published{still})",
            list.join(", ")
        ));
    }
    if let Some((d, s, k)) = &q.after {
        let (a, b, c) = (
            p((*d).into(), params),
            p(s.as_str().into(), params),
            p(k.clone().into(), params),
        );
        sql.push_str(&format!(
        " AND (r.decided_on < {a} OR (r.decided_on = {a} AND (r.subject_key < {b} OR (r.subject_key = {b} AND r.record_key < {c}))))"
        ));
    }
    sql
}
