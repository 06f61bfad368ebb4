//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xinyong", version, about = "信用：市县一体化公共信用信息系统")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// The store: an SQLite file path (default) or a postgres:// URL (`?schema=name` to pick a schema).
    #[arg(
        long,
        global = true,
        env = "XINYONG_DB",
        default_value = "xinyong-data/xinyong.db"
    )]
    pub db: String,
    /// The key file (SM4, HMAC-SM3 and SM2 keys), kept outside the store; created when missing.
    #[arg(
        long,
        global = true,
        env = "XINYONG_KEYS",
        default_value = "xinyong-data/xinyong.key"
    )]
    pub keys: PathBuf,
    /// A directory of rule files that replace the shipped ones (catalog.toml, calendar.toml, …).
    #[arg(long, global = true, env = "XINYONG_RULES")]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a small city in the embedded store and show what the platform holds.
    Demo(DemoArgs),
    /// Identifier checks.
    Ids {
        #[command(subcommand)]
        command: IdsCommand,
    },
    /// Import files a source unit sent (CSV in UTF-8 or GB18030, XLSX, JSON).
    Import(ImportArgs),
    /// Write the rejected rows of a submission as XLSX in the unit's own layout.
    Rejects {
        submission: i64,
        #[arg(long)]
        out: PathBuf,
    },
    /// List submissions.
    Submissions {
        #[arg(long)]
        source: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Withdraw a record or a whole submission (source unit only).
    Withdraw(WithdrawArgs),
    /// Print a subject's credit file as JSON.
    Subject {
        /// 统一社会信用代码 or 公民身份号码.
        code: String,
        /// Show the file as it stood at the end of this day (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<String>,
        /// Only what the public may see.
        #[arg(long)]
        public: bool,
    },
    /// Check a subject before a matter (联合奖惩 逢办必查): verdict, measures, entries; recorded.
    Check {
        /// 统一社会信用代码 or 公民身份号码.
        code: String,
        /// Matter code or name (政府采购, ZFCG, …; see `GET /api/v1/matters`).
        #[arg(long)]
        matter: String,
    },
    /// Counts of subjects and of current records per catalog class.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Data quality: 入库率 and 关联率 per source unit or batch; 重错码.
    Quality(QualityArgs),
    /// Ask the rules why a date is what it is.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Write a synthetic city's files (deterministic from a seed).
    Gen(GenArgs),
    /// Create or upgrade the store's schema.
    Migrate,
    /// Run the service: JSON API, console, metrics.
    Serve(ServeArgs),
    /// Accounts for people (the console).
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// API tokens for systems.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Make a new platform in a PostgreSQL schema that holds none yet (without it, a schema
    /// that does not exist — a typo in --db — is refused rather than served empty).
    #[arg(long)]
    pub init: bool,
    /// Requests per minute per API token or logged-in account.
    #[arg(long, default_value_t = 6000)]
    pub rate_per_credential: u32,
    /// Requests per minute per client address when not logged in.
    #[arg(long, default_value_t = 600)]
    pub rate_per_address: u32,
    /// Largest submission, MiB (1 to 1048576: 0 would refuse every push).
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub max_submission_mib: u64,
    /// Mark session cookies Secure (served behind HTTPS). Default: on when --public-url is
    /// https://; `--secure-cookies=false` when staff reach the console over plain HTTP on the
    /// intranet while departments' systems come through an HTTPS proxy.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "true|false")]
    pub secure_cookies: Option<bool>,
    /// The address departments' systems reach this service at, e.g.
    /// https://credit.yancheng.gov.cn (the feedback links in webhook alerts); default: http://
    /// and the listen address.
    #[arg(long, env = "XINYONG_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SM3 fingerprint (hex) of an earlier platform key whose audit checkpoints verification
    /// accepts (after a key change); repeatable.
    #[arg(long = "trusted-audit-key")]
    pub trusted_audit_keys: Vec<String>,
    /// Take the client address from X-Forwarded-For: its last entry, the one the reverse proxy
    /// in front of the service appended (one proxy).
    #[arg(long)]
    pub trust_forwarded: bool,
    /// The SMS/email gateway reminders and decisions are POSTed to (JSON, with Idempotency-Key).
    #[arg(long, env = "XINYONG_SMS_GATEWAY")]
    pub sms_gateway: Option<String>,
    /// Without a gateway, messages are appended to this file (default: beside the store).
    #[arg(long)]
    pub outbox_file: Option<String>,
    /// Answer requests only: leave the scheduled jobs (reminders, escalation, alerts, outbox)
    /// to another instance of the service on the same store.
    #[arg(long)]
    pub no_jobs: bool,
    /// PEM file of the CA (one or more certificates) that issued the HTTPS certificates of
    /// departments' webhook receivers on the government intranet; receivers are then checked
    /// against these certificates only, instead of the public roots.
    #[arg(long, value_name = "PEM")]
    pub webhook_ca: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account; prints its initial password (to be changed at first login).
    Create {
        /// subject, reporter, reviewer, deciding, handling, financial, admin or auditor (or the
        /// Chinese name: 信用主体, 信息员, 审核员, 认定单位经办人, 核查部门经办人, 金融机构,
        /// 信用办管理员, 安全审计员).
        #[arg(long)]
        role: String,
        #[arg(long)]
        unit: Option<String>,
        /// The subject's 统一社会信用代码 or 公民身份号码 (role subject); a financial
        /// institution's own 统一社会信用代码 (role financial: subjects authorise it by it).
        #[arg(long)]
        subject: Option<String>,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: Option<String>,
        /// Mobile number for reminders by SMS (kept SM4-sealed).
        #[arg(long)]
        phone: Option<String>,
        /// Email address for reminders (kept SM4-sealed).
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List accounts, each with its status (正常, 已停用, 已锁定至…).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable an account (any role, the auditor's too): its sessions end, and so do the admin
    /// tokens it made.
    Disable { username: String },
    /// Enable a disabled account again (any role). Its old sessions stay ended.
    Enable { username: String },
    /// Reset an account's password to a generated one, to be changed at next login (for the
    /// accounts the credit office may not reset: subjects', admins', the auditor's); prints it.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; prints it once.
    Create {
        /// subject, reporter, reviewer, deciding, handling, financial, admin or auditor (or the
        /// Chinese name: 信用主体, 信息员, 审核员, 认定单位经办人, 核查部门经办人, 金融机构,
        /// 信用办管理员, 安全审计员); for a system, monitor (运维监控: /metrics) or exchange
        /// (共享交换系统: the sharing feed), with no unit or subject.
        #[arg(long)]
        role: String,
        #[arg(long)]
        unit: Option<String>,
        /// As for accounts: the subject (role subject), the institution's own code (financial).
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, default_value = "system")]
        name: String,
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[arg(long)]
        json: bool,
    },
    /// List the tokens (never their secret): id, name, role, unit, expiry, whether revoked,
    /// last use — the id is what `revoke` takes.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain, check every signed checkpoint and every head noted in the
    /// anchor beside the key file (`<keys>.audit-anchor`), report the first break.
    Verify {
        #[arg(long)]
        json: bool,
        /// SM3 fingerprint (hex) of an earlier platform key whose checkpoints are accepted
        /// (after a key change); repeatable. Any other key is a break.
        #[arg(long = "trusted-key")]
        trusted_keys: Vec<String>,
        /// Entries after the last signed checkpoint older than this many minutes fail the
        /// verification (exit code 3): the service signs every few minutes, so such a tail
        /// means it stopped signing, and the tail could have been rewritten unseen.
        #[arg(long, default_value_t = 30)]
        max_unsigned_minutes: i64,
    },
    /// Sign a checkpoint of the chain now and note its head in the anchor beside the key file —
    /// after verifying the whole chain: nothing is signed over a break anywhere in it.
    Checkpoint {
        /// SM3 fingerprint (hex) of an earlier platform key whose checkpoints are accepted
        /// (after a key change); repeatable.
        #[arg(long = "trusted-key")]
        trusted_keys: Vec<String>,
    },
    /// Print the platform's public key (PEM) for checking checkpoint signatures with OpenSSL.
    PublicKey,
    /// List the signed checkpoints: the exact message signed and the DER signature, in hex.
    Checkpoints,
}

#[derive(Debug, Subcommand)]
pub enum IdsCommand {
    /// Read identifiers, one per line, on stdin; print `input<TAB>VERDICT<TAB>reason`.
    Validate,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The source unit, by its full name (e.g. 盐城市生态环境局).
    #[arg(long)]
    pub source: String,
    /// The catalog class, by its Chinese name (e.g. 行政处罚).
    #[arg(long)]
    pub class: String,
    /// Who is importing, recorded with every version (default: the operating system account
    /// running the command). The audit trail records the OS account either way, this name
    /// beside it.
    #[arg(long)]
    pub actor: Option<String>,
    /// Print a JSON summary as the last line, and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["record", "submission"])))]
pub struct WithdrawArgs {
    #[arg(long)]
    pub source: String,
    /// One record (its id), or with --submission a whole batch: one of the two.
    #[arg(long, conflicts_with = "submission")]
    pub record: Option<String>,
    #[arg(long)]
    pub submission: Option<i64>,
    #[arg(long)]
    pub reason: String,
    /// Who withdraws, recorded with the withdrawal (default: the operating system account
    /// running the command, not $USER). The audit trail records the OS account either way,
    /// this name beside it.
    #[arg(long)]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct QualityArgs {
    #[command(subcommand)]
    pub command: Option<QualityCommand>,
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long)]
    pub submission: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum QualityCommand {
    /// 重错码: one code with several names, one name with several codes.
    Conflicts {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The date N working days after DATE (DATE itself not counted).
    AddWorkdays { date: String, n: u32 },
    /// The publicity window of a penalty, as JSON.
    PenaltyWindow(WindowArgs),
}

#[derive(Debug, Args)]
pub struct WindowArgs {
    /// 处罚决定日期
    #[arg(long)]
    pub decided: String,
    /// 处罚类别, comma-separated (罚款,没收违法所得)
    #[arg(long)]
    pub categories: String,
    /// 轻微, 一般 or 严重; defaults from the categories when absent
    #[arg(long)]
    pub severity: Option<String>,
    /// 领域: 安全生产, 消防, 特种设备 (comma-separated)
    #[arg(long)]
    pub domain: Option<String>,
    /// A market-regulation penalty (SAMR Order 45): counted from --published
    #[arg(long, requires = "published")]
    pub market: bool,
    /// 公示日期 (market regulation)
    #[arg(long)]
    pub published: Option<String>,
    /// Fine in 万元 (market regulation: a small fine alone is published 3 months)
    #[arg(long)]
    pub fine: Option<String>,
    /// The subject is a natural person (small-fine threshold)
    #[arg(long)]
    pub natural_person: bool,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    #[arg(long, default_value = "xinyong-data/gen")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The day the files are sent (default: today, Beijing time).
    #[arg(long)]
    pub today: Option<String>,
    #[arg(long, default_value_t = 3000)]
    pub orgs: usize,
    #[arg(long, default_value_t = 600)]
    pub persons: usize,
    #[arg(long, default_value_t = 3000)]
    pub licences: usize,
    #[arg(long, default_value_t = 2000)]
    pub penalties: usize,
    #[arg(long, default_value_t = 120)]
    pub lists: usize,
    #[arg(long, default_value_t = 400)]
    pub commitments: usize,
    #[arg(long, default_value_t = 200)]
    pub contracts: usize,
    #[arg(long, default_value_t = 80)]
    pub honours: usize,
    /// Share of dirty rows (0–1).
    #[arg(long, default_value_t = 0.02)]
    pub dirty: f64,
    /// csv, gb18030, xlsx or json
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Only this class, in one file (e.g. 行政处罚)
    #[arg(long)]
    pub only: Option<String>,
    /// The unit of --only
    #[arg(long)]
    pub unit: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo store lives.
    #[arg(long, default_value = "xinyong-data/demo.db")]
    pub demo_db: String,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Build the city and the accounts, print them, and do not start the service.
    #[arg(long)]
    pub no_serve: bool,
    /// Rebuild the demo city even if the store exists.
    #[arg(long)]
    pub fresh: bool,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}
