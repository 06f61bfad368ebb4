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
    /// Classes the unit may report (empty: no upload form).
    pub upload_classes: Vec<ClassOption>,
    pub links: Vec<NavItem>,
}

#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub row_no: i64,
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
    pub on_time: u64,
    pub rejected_rows: Vec<RejectedRow>,
    pub more_rejected: bool,
    pub can_withdraw: bool,
}

#[derive(Template)]
#[template(path = "console/password.html")]
pub struct Password {
    pub frame: Frame,
    pub forced: bool,
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
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
pub struct Accounts {
    pub frame: Frame,
    pub accounts: Vec<AccountRow>,
    pub roles: Vec<ClassOption>,
    pub units: Vec<String>,
    pub created: Option<(String, String)>,
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
    pub object: String,
    pub outcome: String,
    pub request_id: String,
    pub client: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
pub struct Audit {
    pub frame: Frame,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub rows: Vec<AuditRow>,
    pub verification: Option<String>,
    pub next_before: Option<i64>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
pub struct ApiDocs {}
