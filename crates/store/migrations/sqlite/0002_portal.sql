-- The portal and 双公示 monitoring (SQLite). Paired with postgres/0002_portal.sql.

-- The category a record is filtered by in the 双公示 columns (处罚类别, 许可类别, 名单类型).
ALTER TABLE records ADD COLUMN category TEXT;
CREATE INDEX records_class_date ON records (class_code, decided_on);
CREATE INDEX records_unit_date ON records (source_unit, class_code, decided_on);
CREATE INDEX records_division_date ON records (division, class_code, decided_on);

-- The decision date of a rejected row, when it could be read: monitoring counts it in its month.
ALTER TABLE rejections ADD COLUMN decided_on TEXT;

-- Records first accepted, per unit, class and month of decision; kept as imports commit.
CREATE TABLE publicity_monthly (
    source_unit  TEXT NOT NULL,
    class_code   TEXT NOT NULL,
    month        TEXT NOT NULL,
    accepted     INTEGER NOT NULL DEFAULT 0,
    linked       INTEGER NOT NULL DEFAULT 0,
    on_time      INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source_unit, class_code, month)
);

-- A unit's monthly self-report of decisions made (the 应报数), with the reason for any gap.
-- Filing again corrects it; every filing is kept.
CREATE TABLE self_reports (
    report_id    INTEGER PRIMARY KEY,
    source_unit  TEXT NOT NULL,
    class_code   TEXT NOT NULL,
    month        TEXT NOT NULL,
    produced     INTEGER NOT NULL CHECK (produced >= 0),
    gap_reason   TEXT,
    filed_by     TEXT NOT NULL,
    filed_at     TEXT NOT NULL
);
CREATE INDEX self_reports_key ON self_reports (source_unit, class_code, month, report_id);

-- News and policies (信用动态, 政策法规, 通知公告).
CREATE TABLE articles (
    article_id    INTEGER PRIMARY KEY,
    column_name   TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    published_on  TEXT,
    status        TEXT NOT NULL CHECK (status IN ('draft', 'published', 'withdrawn')),
    author        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX articles_published ON articles (status, published_on);

CREATE TABLE article_attachments (
    attachment_id INTEGER PRIMARY KEY,
    article_id    INTEGER NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    byte_size     INTEGER NOT NULL,
    data          BLOB NOT NULL
);
CREATE INDEX article_attachments_article ON article_attachments (article_id);
