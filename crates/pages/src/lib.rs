//! Server-rendered pages. Each page is a plain struct of what it shows; the server fills it.
//! Templates are in `templates/` and escape everything they print.

pub use askama::Template;

pub use askama::Error;

/// The frame every console page shares: who is logged in, what the menu offers, the CSRF token
/// for its forms.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub title: String,
    pub user: Option<String>,
    pub role_label: String,
    pub unit: Option<String>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub flash: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: String,
    pub label: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "console/login.html")]
pub struct Login {
    pub frame: Frame,
    pub username: String,
    pub next: String,
    /// The login form's own token, the same as its cookie's (login CSRF: another site cannot
    /// log a browser in under an account of its choosing).
    pub login_csrf: String,
}

#[derive(Template)]
#[template(path = "console/message.html")]
pub struct Message {
    pub frame: Frame,
    pub heading: String,
    pub body: String,
    pub link: Option<(String, String)>,
    pub refresh_to: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SubmissionRow {
    pub id: i64,
    pub received: String,
    pub unit: String,
    pub class: String,
    pub file: String,
    pub channel: String,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub intake_rate: String,
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct Figure {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct ClassOption {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "console/home.html")]
pub struct Home {
    pub frame: Frame,
    pub heading: String,
    pub figures: Vec<Figure>,
    pub submissions: Vec<SubmissionRow>,
    /// Where the next page of older batches starts (none: this is the last).
    pub older: Option<i64>,
    /// The office's unit filter (None: not offered; empty: every unit).
    pub unit_filter: Option<String>,
    pub shows_submissions: bool,
    /// Classes the unit may report (empty: no upload form).
    pub upload_classes: Vec<ClassOption>,
    pub links: Vec<NavItem>,
    /// 双公示 warnings: deadlines near, rejection rates high.
    pub warnings: Vec<String>,
    /// 一码多名 findings in which the unit reported a name first: 类型, 代码, 名称, 报送单位.
    pub conflicts: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub row_no: i64,
    /// The row's 文书号 and party as written (personal numbers masked), or empty.
    pub decision_no: String,
    pub subject_name: String,
    pub reasons: String,
}

#[derive(Template)]
#[template(path = "console/submission.html")]
pub struct SubmissionPage {
    pub frame: Frame,
    pub s: SubmissionRow,
    pub digest: String,
    pub format: String,
    pub actor: String,
    pub created: u64,
    pub corrected: u64,
    pub unchanged: u64,
    pub linked: u64,
    /// Rows whose ID number was judged suspect (counted as not linked).
    pub suspect: u64,
    pub on_time: u64,
    pub rejected_rows: Vec<RejectedRow>,
    pub more_rejected: bool,
    /// The rows it wrote (the first 500), and whether there were more.
    pub accepted_rows: Vec<AcceptedEntry>,
    pub more_accepted: bool,
    pub can_withdraw: bool,
    /// Whether the viewer may withdraw the batch's records one by one (its unit's writers).
    pub can_withdraw_records: bool,
    /// What the import told the unit beyond its rows.
    pub notices: Vec<String>,
    /// The file's columns that were passed over, joined with 、 (empty: none).
    pub unknown_columns: String,
}

/// A row a batch wrote, as its page lists it.
#[derive(Debug, Clone)]
pub struct AcceptedEntry {
    pub row_no: i64,
    pub record_id: String,
    pub decision_no: String,
    pub subject: String,
    /// 新增 or 更正.
    pub change: String,
    /// What the record is now: 公示中/现行, 已撤回, 已被批次N更正 ….
    pub now: String,
    /// Whether the unit may withdraw it from here (its current version, not withdrawn).
    pub withdrawable: bool,
    /// Why the row's ID number is suspect (empty: it is not).
    pub id_note: String,
    /// Withdrawn since, and this row's version the last before: its unit may put it back.
    pub restorable: bool,
}

#[derive(Template)]
#[template(path = "console/password.html")]
pub struct Password {
    pub frame: Frame,
    pub forced: bool,
    /// The policy in words (`auth::password_policy_text`) and its minimum length.
    pub policy: String,
    pub min_length: usize,
}

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub role: String,
    pub unit: String,
    pub subject: String,
    pub created: String,
    pub status: String,
    /// When it last logged in (从未登录), and when its password was set (with failures since).
    pub last_login: String,
    pub password_set: String,
    pub disabled: bool,
    /// The office may disable it (not the auditor's: the command line does).
    pub manageable: bool,
    /// The office may reset its password (not a subject's or an admin's).
    pub resettable: bool,
    /// The office may enable it again once disabled (not an admin's: the command line does).
    pub enableable: bool,
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
pub struct Accounts {
    pub frame: Frame,
    pub accounts: Vec<AccountRow>,
    pub roles: Vec<ClassOption>,
    pub units: Vec<String>,
    /// The account, its one-time password, and whether it was made or reset (已创建，初始密码 /
    /// 的密码已重置，临时密码).
    pub created: Option<(String, String, String)>,
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub prefix: String,
    pub name: String,
    pub role: String,
    pub unit: String,
    pub expires: String,
    pub last_used: String,
    pub status: String,
    pub revoked: bool,
    /// The office may revoke it (not the auditor's: the command line does).
    pub manageable: bool,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
pub struct Tokens {
    pub frame: Frame,
    pub tokens: Vec<TokenRow>,
    pub roles: Vec<ClassOption>,
    pub units: Vec<String>,
    pub new_secret: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub unit: String,
    pub action: String,
    pub action_code: String,
    /// As stored (`user:…`, `token:<id>:<name>`): what the search field takes.
    pub actor_code: String,
    pub object: String,
    pub outcome: String,
    pub request_id: String,
    pub client: String,
    /// What the entry says of the operation (the role granted, the step taken, the reason), ID
    /// and mobile numbers in it masked.
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
pub struct Audit {
    pub frame: Frame,
    pub actor: String,
    pub action: String,
    /// The actions the search offers: (code, words).
    pub actions: Vec<(String, String)>,
    pub object: String,
    pub from: String,
    pub to: String,
    pub rows: Vec<AuditRow>,
    pub verification: Option<String>,
    pub next_before: Option<i64>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
pub struct ApiDocs {}

// ----- the public portal 信用中国（江苏盐城） -----

/// What every portal page shares.
#[derive(Debug, Clone, Default)]
pub struct PortalFrame {
    pub title: String,
    /// The menu entry to mark (its href).
    pub active: String,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub href: String,
    pub cells: Vec<String>,
    pub objection: bool,
}

#[derive(Debug, Clone)]
pub struct NewsItem {
    pub href: String,
    pub title: String,
    pub column: String,
    pub date: String,
}

#[derive(Debug, Clone)]
pub struct NewsBlock {
    pub column: String,
    pub href: String,
    pub items: Vec<NewsItem>,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
pub struct PortalHome {
    pub frame: PortalFrame,
    pub figures: Vec<Figure>,
    pub penalties: Vec<Row>,
    pub licences: Vec<Row>,
    pub news: Vec<NewsBlock>,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub href: String,
    pub pieces: Vec<(String, bool)>,
    pub code: String,
    pub kind: String,
    pub division: String,
    pub industry: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "portal/search.html")]
pub struct PortalSearch {
    pub frame: PortalFrame,
    pub q: String,
    pub counties: Vec<Choice>,
    pub kinds: Vec<Choice>,
    pub industries: Vec<Choice>,
    pub hits: Vec<SearchHit>,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Tab {
    pub href: String,
    pub label: String,
    pub count: usize,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct RecordCard {
    pub title: String,
    pub status: String,
    pub objection: bool,
    pub items: Vec<(String, String)>,
    /// Penalties: the date from which it can be repaired and the date publication ends.
    pub repairable_from: String,
    pub ends: String,
    pub penalty: bool,
}

#[derive(Template)]
#[template(path = "portal/subject.html")]
pub struct PortalSubject {
    pub frame: PortalFrame,
    pub name: String,
    pub facts: Vec<(String, String)>,
    pub tabs: Vec<Tab>,
    pub cards: Vec<RecordCard>,
    pub as_of: String,
    pub page: usize,
    pub pages: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/column.html")]
pub struct PortalColumn {
    pub frame: PortalFrame,
    pub heading: String,
    pub intro: String,
    pub path: String,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
    pub units: Vec<Choice>,
    pub counties: Vec<Choice>,
    /// The subject's own division to filter by (empty: not offered).
    pub subject_counties: Vec<Choice>,
    /// The lists of a column of several, to show one of (empty: not offered).
    pub lists: Vec<Choice>,
    /// What the area filter and the date range read: the deciding body's area and the decision
    /// date on a publicity column, the deciding unit's area and the listing date on a list.
    pub area_label: String,
    pub date_label: String,
    pub categories: Vec<Choice>,
    pub from: String,
    pub to: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub page: usize,
    /// How many entries the column holds (共 N 条): the whole column's, or a filtered one's on
    /// its last page; empty where it is not known without counting.
    pub total: String,
    /// A page past the last (an old link, a typed number): the first page's address.
    pub beyond: Option<String>,
    pub csv: Option<String>,
    pub tabs: Vec<Tab>,
}

#[derive(Template)]
#[template(path = "portal/news_list.html")]
pub struct PortalNews {
    pub frame: PortalFrame,
    pub heading: String,
    pub column: String,
    pub q: String,
    pub items: Vec<NewsItem>,
    pub tabs: Vec<Tab>,
    pub page: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/article.html")]
pub struct PortalArticle {
    pub frame: PortalFrame,
    pub title: String,
    pub column: String,
    pub date: String,
    /// The day its text last changed, when after `date`.
    pub edited: Option<String>,
    pub paragraphs: Vec<String>,
    pub attachments: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "portal/opendata.html")]
pub struct PortalOpenData {
    pub frame: PortalFrame,
    pub units: Vec<Choice>,
    pub counties: Vec<Choice>,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "portal/message.html")]
pub struct PortalMessage {
    pub frame: PortalFrame,
    pub heading: String,
    pub body: String,
}

// ----- 双公示 monitoring, bulletin, self-reports, articles (console) -----

#[derive(Debug, Clone)]
pub struct MonitorRow {
    pub cells: Vec<String>,
    /// Drill-down links (label, href).
    pub drill: Vec<(String, String)>,
    pub below: bool,
}

#[derive(Template)]
#[template(path = "console/monitoring.html")]
pub struct Monitoring {
    pub frame: Frame,
    pub month: String,
    pub summary: String,
    pub county_headers: Vec<String>,
    pub counties: Vec<Vec<String>>,
    pub unit_headers: Vec<String>,
    pub units: Vec<MonitorRow>,
    pub below: Vec<Vec<String>>,
    pub warnings: Vec<String>,
    /// The credit office sees the whole city and may produce the bulletin.
    pub city: bool,
    /// Why the month's bulletin cannot be issued yet (shown in place of the button).
    pub not_yet: Option<String>,
    /// The month's bulletins as issued, the latest first.
    pub issued: Vec<IssuedLine>,
}

/// One issued version of a month's bulletin.
#[derive(Debug, Clone)]
pub struct IssuedLine {
    /// A later version replaced it.
    pub superseded: bool,
    pub id: i64,
    pub version: i64,
    pub at: String,
    pub by: String,
    pub reason: String,
    pub summary: String,
    pub sm3: String,
    pub signed_message: String,
    /// Hex of the DER signature.
    pub signature: String,
}

#[derive(Template)]
#[template(path = "console/measures.html")]
pub struct MeasuresPage {
    pub frame: Frame,
    pub version: String,
    pub basis: String,
    /// code, name, subjects, legal-representative relation
    pub matters: Vec<Vec<String>>,
    /// id, name, kind, effect, matters, trigger, body, basis
    pub measures: Vec<Vec<String>>,
    pub accumulation: String,
}

#[derive(Template)]
#[template(path = "console/drill.html")]
pub struct Drill {
    pub frame: Frame,
    pub heading: String,
    pub back: String,
    pub tabs: Vec<NavItem>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub truncated: bool,
}

#[derive(Debug, Clone)]
pub struct BulletinCounty {
    pub name: String,
    pub rows: Vec<Vec<String>>,
}

/// The printable monthly bulletin (its own page, no console menu).
#[derive(Template)]
#[template(path = "console/bulletin.html")]
pub struct Bulletin {
    /// The month's latest issued version, when there is one: what to say above the live
    /// figures, and the issued file's address.
    pub issued: Option<(String, String)>,
    pub title: String,
    pub month: String,
    pub summary: String,
    pub county_headers: Vec<String>,
    pub counties: Vec<Vec<String>>,
    pub unit_headers: Vec<String>,
    pub per_county: Vec<BulletinCounty>,
    pub ranking: Vec<Vec<String>>,
    pub below_heading: String,
    pub below: Vec<Vec<String>>,
    pub rule_version: String,
    pub generated: String,
}

#[derive(Template)]
#[template(path = "console/self_reports.html")]
pub struct SelfReports {
    pub frame: Frame,
    pub month: String,
    pub classes: Vec<ClassOption>,
    /// What the form held when it was refused (empty on a fresh form): the class chosen, the
    /// count and the reason, kept so that a quick resubmit files what the clerk meant.
    pub class: String,
    pub produced: String,
    pub gap_reason: String,
    pub can_file: bool,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ArticleRow {
    pub id: i64,
    pub column: String,
    pub title: String,
    pub status: String,
    pub published_on: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "console/articles.html")]
pub struct Articles {
    pub frame: Frame,
    pub columns: Vec<String>,
    pub rows: Vec<ArticleRow>,
}

#[derive(Template)]
#[template(path = "console/article_edit.html")]
pub struct ArticleEdit {
    pub frame: Frame,
    pub id: i64,
    pub column: String,
    pub columns: Vec<String>,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub published_on: String,
    pub today: String,
    /// (href, file name, size)
    pub attachments: Vec<(String, String, String)>,
}

// ----- joint reward and punishment (console) -----

#[derive(Template)]
#[template(path = "console/checks.html")]
pub struct Checks {
    pub frame: Frame,
    pub matters: Vec<ClassOption>,
    pub code: String,
    pub matter: String,
    /// A financial institution's form: a person only by the key of an authorisation.
    pub financial: bool,
    /// (href, time, subject, matter, verdict, feedback)
    pub rows: Vec<Vec<String>>,
    /// Whose checks the list holds: 本单位 or, for the credit office, 各单位.
    pub whose: String,
    /// Only the checks still to answer.
    pub pending: bool,
    /// The next (earlier) page's address, empty on the last.
    pub earlier: String,
    /// Not the first page.
    pub paged: bool,
}

#[derive(Debug, Clone)]
pub struct MeasureLine {
    pub id: String,
    pub name: String,
    pub effect: String,
    pub basis: String,
    pub body: String,
    pub via: String,
}

#[derive(Template)]
#[template(path = "console/check.html")]
pub struct CheckPage {
    pub frame: Frame,
    pub id: i64,
    pub subject: String,
    pub matter: String,
    /// The business system's 办件编号 (empty: none given).
    pub reference: String,
    pub verdict: String,
    /// CSS class of the verdict banner: clear, incentive, review, forbid.
    pub tone: String,
    pub at: String,
    pub measures: Vec<MeasureLine>,
    /// list, decision no, reason, basis, unit, listed, valid to, rectify by, whose, objection
    pub entries: Vec<Vec<String>>,
    pub suppressed: Vec<String>,
    pub feedback: Option<String>,
    pub can_feedback: bool,
    pub snippet: String,
    /// The entries still on their lists that the check found: (record id, list and 文书号).
    pub entry_choices: Vec<(String, String)>,
    /// Those of them not already set aside by an exception in force for this subject and matter.
    pub except_choices: Vec<(String, String)>,
    /// May mark a hit as a false positive (officers), may act on an entry (deciding units).
    pub can_except: bool,
    pub can_decide: bool,
    /// On a list the matter rewards, but with a record that withholds the reward.
    pub withheld: bool,
}

#[derive(Debug, Clone)]
pub struct AlertLine {
    pub id: i64,
    pub at: String,
    pub unit: String,
    pub subject: String,
    pub event: String,
    pub detail: String,
    pub delivery: String,
    pub failed: bool,
    pub attempts: i64,
    pub last_error: String,
    pub feedback: String,
    pub can_feedback: bool,
}

#[derive(Template)]
#[template(path = "console/alerts.html")]
pub struct Alerts {
    pub frame: Frame,
    pub alerts: Vec<AlertLine>,
}

#[derive(Template)]
#[template(path = "console/batches.html")]
pub struct Batches {
    pub frame: Frame,
    pub matters: Vec<ClassOption>,
    /// (id, time, matter, file, read, valid, invalid, duplicates, checked, hits, incentives,
    /// signed)
    pub rows: Vec<Vec<String>>,
    pub can_sign: bool,
    /// Some batch shown is signed: how to check it is said.
    pub signed: bool,
}

#[derive(Template)]
#[template(path = "console/quality.html")]
pub struct QualityPage {
    pub frame: Frame,
    /// The catalog classes with a time to report, and theirs (行政处罚：7个工作日、…).
    pub timed: String,
    pub units: Vec<Vec<String>>,
    pub one_code: Vec<ConflictRow>,
    pub one_name: Vec<ConflictRow>,
    /// The latest reviews: time, kind, code or name, what it covered, who, why.
    pub reviewed: Vec<Vec<String>>,
    pub truncated: bool,
    pub limit: i64,
}

/// A 重错码 finding on the quality page, with what its review form posts.
#[derive(Debug, Clone)]
pub struct ConflictRow {
    pub cells: Vec<String>,
    pub kind: String,
    pub anchor: String,
}

#[derive(Template)]
#[template(path = "console/joint_stats.html")]
pub struct JointStatsPage {
    pub frame: Frame,
    /// The first day counted (YYYY-MM-DD).
    pub since: String,
    pub summary: Vec<Figure>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub accumulated: Vec<AccumulatedLine>,
    /// The security auditor reads the figures, not whom they name.
    pub names_withheld: bool,
    pub rule: String,
}

/// A subject of the 累计失信 warning: whom (name, code), its key in full and where its file is.
#[derive(Debug, Clone)]
pub struct AccumulatedLine {
    pub subject: String,
    pub key: String,
    pub file: String,
    pub records: i64,
}

// ----- credit repair and objections -----

/// A console message (reminder, result, task, escalation).
#[derive(Debug, Clone)]
pub struct MessageLine {
    pub at: String,
    pub title: String,
    pub body: String,
    pub case_id: Option<i64>,
}

/// A case in a list.
#[derive(Debug, Clone)]
pub struct CaseLine {
    pub id: i64,
    pub kind: String,
    pub record_id: String,
    /// The record as people name it: class and 文书号.
    pub record: String,
    pub subject: String,
    pub unit: String,
    pub state: String,
    pub opened: String,
    pub deadline: String,
    pub step: String,
    pub overdue: bool,
    /// Open, at a unit with no account or token that can work it (the office's list says so).
    pub unattended: bool,
}

/// One of the subject's records on "我的信用记录".
#[derive(Debug, Clone)]
pub struct MyRecordLine {
    pub record_id: String,
    pub class: String,
    pub title: String,
    pub unit: String,
    pub decided_on: String,
    pub repairable_from: String,
    pub public_ends: String,
    pub status: String,
    pub objection: bool,
    pub may_apply: bool,
    pub missing: Vec<String>,
    pub open_repair: Option<i64>,
    pub open_objection: Option<i64>,
    pub in_force: bool,
    /// A penalty (行政处罚): the record repair applies to; other classes are only objected to.
    pub penalty: bool,
    /// An entry of a list the subject may apply to leave early (信用修复：提前移出名单).
    pub list_exit: bool,
    /// How an entry of a list left elsewhere (失信被执行人: at the court) leaves it; or empty.
    pub exit_elsewhere: String,
    /// The record's items: name, value.
    pub items: Vec<(String, String)>,
    /// Its versions: when (Beijing), what changed, why.
    pub history: Vec<(String, String, String)>,
}

/// A measure of 联合奖惩 in force for the subject (我的信用记录).
#[derive(Debug, Clone)]
pub struct MyMeasureLine {
    pub matter: String,
    pub measure: String,
    pub effect: String,
    pub body: String,
    pub basis: String,
    /// The entries behind it, joined.
    pub because: String,
}

#[derive(Template)]
#[template(path = "console/my_records.html")]
pub struct MyRecordsPage {
    pub frame: Frame,
    pub commitment: String,
    pub records: Vec<MyRecordLine>,
    /// The measures in force for the subject, matter by matter.
    pub measures: Vec<MyMeasureLine>,
    pub messages: Vec<MessageLine>,
    pub cases: Vec<CaseLine>,
}

/// A pre-reviewed record on a unit's worklist.
#[derive(Debug, Clone)]
pub struct ReminderLine {
    pub record_id: String,
    /// The record as people name it: class and 文书号.
    pub record: String,
    pub subject: String,
    pub unit: String,
    pub from: String,
    pub missing: String,
}

#[derive(Template)]
#[template(path = "console/cases.html")]
pub struct CasesPage {
    pub frame: Frame,
    pub heading: String,
    pub reminders: Vec<ReminderLine>,
    /// How many reminders there are in all, which of them this page shows (1-based), and where
    /// the pages before and after start (`?reminders_from=`).
    pub reminders_total: i64,
    pub reminders_first: i64,
    pub reminders_last: i64,
    pub reminders_prev: Option<i64>,
    pub reminders_next: Option<i64>,
    pub open: Vec<CaseLine>,
    pub recent: Vec<CaseLine>,
    pub messages: Vec<MessageLine>,
    /// A source unit may open an objection on its own record (主动异议).
    pub can_object: bool,
}

#[derive(Debug, Clone)]
pub struct ConditionLine {
    pub name: String,
    pub status: String,
    pub met: bool,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct EventLine {
    pub at: String,
    pub action: String,
    pub state: String,
    pub actor: String,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct FileLine {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub digest: String,
    pub at: String,
}

/// A form for one action the viewer may take.
#[derive(Debug, Clone)]
pub struct ActionForm {
    pub action: String,
    pub label: String,
    pub needs_reason: bool,
    /// Ask the deciding unit to confirm the penalty was performed: what it confirms (empty: not
    /// asked).
    pub performed: String,
    /// Offer a file field (supplementary material).
    pub files: bool,
}

#[derive(Template)]
#[template(path = "console/case.html")]
pub struct CasePage {
    pub frame: Frame,
    pub case: CaseLine,
    pub kind_code: String,
    pub reason: String,
    pub commitment: String,
    pub record_label: String,
    pub decision: String,
    pub answer_due: String,
    pub performed: String,
    pub conditions: Vec<ConditionLine>,
    pub events: Vec<EventLine>,
    pub files: Vec<FileLine>,
    pub actions: Vec<ActionForm>,
    /// For the credit office: an open case its unit cannot act on (no account to do it).
    pub unattended: Option<String>,
}

#[derive(Template)]
#[template(path = "console/case_stats.html")]
pub struct CaseStatsPage {
    pub frame: Frame,
    pub from: String,
    pub to: String,
    /// month, unit, kind, applications, approved, rejected, cancelled, ended, open, avg, max, late,
    /// overdue
    pub rows: Vec<Vec<String>>,
    pub outbox: String,
}

#[derive(Template)]
#[template(path = "console/contact.html")]
pub struct ContactPage {
    pub frame: Frame,
    pub phone: String,
    pub email: String,
}

/// A 信易贷 authorisation as a row of the console's list.
pub struct AuthorisationRow {
    pub id: i64,
    /// The institution's name where the platform knows it, with its code.
    pub subject: String,
    pub subject_key: String,
    pub institution: String,
    pub purpose: String,
    pub granted_at: String,
    pub until: String,
    pub status: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "console/authorisations.html")]
pub struct AuthorisationsPage {
    pub frame: Frame,
    /// The subject's own page (with the form and the withdraw buttons), an institution's, or
    /// the credit office's and the auditor's (all).
    pub subject: bool,
    pub institution: bool,
    pub default_until: String,
    pub rows: Vec<AuthorisationRow>,
    /// The institutions a subject may authorise: code and name.
    pub institutions: Vec<(String, String)>,
    /// For the subject: who read its file or checked it — when, which institution, what.
    pub reads: Vec<(String, String, String)>,
}

/// A credit file as an officer who may read it whole reads it (信用档案查询), with each record's
/// versions: who changed it, when and why.
#[derive(Template)]
#[template(path = "console/subject_file.html")]
pub struct SubjectFilePage {
    pub frame: Frame,
    /// What was typed in the search box.
    pub code: String,
    /// The file, when one was asked for and found.
    pub file: Option<FileView>,
}

#[derive(Debug, Clone)]
pub struct FileView {
    pub name: String,
    pub code: String,
    pub kind: String,
    pub division: String,
    pub note: String,
    pub classes: Vec<FileClass>,
}

#[derive(Debug, Clone)]
pub struct FileClass {
    pub name: String,
    pub sharing: String,
    pub records: Vec<FileRecord>,
}

#[derive(Debug, Clone)]
pub struct FileRecord {
    pub id: String,
    pub status: String,
    pub unit: String,
    pub decided: String,
    pub ends: String,
    /// 可申请信用修复日期 of a penalty (empty otherwise).
    pub repairable: String,
    pub under_objection: bool,
    pub items: Vec<(String, String)>,
    /// Version, change, when, who, why.
    pub versions: Vec<(String, String, String, String, String)>,
}

/// What an authorised financial institution reads of a subject's file (信易贷): the records in
/// force that may be shared with it.
#[derive(Template)]
#[template(path = "console/authorised_file.html")]
pub struct AuthorisedFile {
    pub frame: Frame,
    pub name: String,
    pub code: String,
    pub kind: String,
    pub as_of: String,
    pub until: String,
    /// Its classes and records (no versions: the units' working history is not the bank's).
    pub classes: Vec<FileClass>,
}

/// 本单位认定名单: a deciding unit's list entries and the actions on them.
#[derive(Template)]
#[template(path = "console/unit_lists.html")]
pub struct UnitLists {
    pub frame: Frame,
    /// The credit office: it picks the unit.
    pub office: bool,
    pub unit: String,
    pub units: Vec<String>,
    pub rows: Vec<UnitListRow>,
    pub limit: i64,
    pub today: String,
}

#[derive(Debug, Clone)]
pub struct UnitListRow {
    pub record_id: String,
    pub list: String,
    pub subject: String,
    pub decision_no: String,
    pub listed_on: String,
    pub ends: String,
    pub rectify_by: String,
    pub status: String,
    pub in_force: bool,
    pub actionable: bool,
    pub rectifiable: bool,
}

#[derive(Template)]
#[template(path = "console/subscriptions.html")]
pub struct Subscriptions {
    pub frame: Frame,
    /// (label, subscriber ref, note, since, the code a row's 取消订阅 sends: an organisation's
    /// USCC; empty for a person, whose ID number the officer types)
    pub rows: Vec<[String; 5]>,
    pub max_codes: usize,
    /// A financial institution's page: its borrowers, organisations only.
    pub financial: bool,
}

/// The credit office's page of the departments' alert receivers (预警推送地址).
#[derive(Template)]
#[template(path = "console/webhooks.html")]
pub struct Webhooks {
    pub frame: Frame,
    /// Unit, address, set by, set at.
    pub rows: Vec<(String, String, String, String)>,
    /// The units that may be chosen (source units by name).
    pub units: Vec<String>,
    /// A receiver just set: unit, address, its secret (shown once).
    pub created: Option<(String, String, String)>,
    /// What a test delivery met.
    pub tested: Option<String>,
}

#[derive(Template)]
#[template(path = "console/exceptions.html")]
pub struct Exceptions {
    pub frame: Frame,
    pub rows: Vec<ExceptionLine>,
}

#[derive(Debug, Clone)]
pub struct ExceptionLine {
    pub id: i64,
    pub subject: String,
    pub matter: String,
    pub entry: String,
    pub reason: String,
    pub by: String,
    pub at: String,
    pub state: String,
    pub can_revoke: bool,
}
