//! Platform security data: accounts, sessions, API tokens and the audit trail. On SQLite they
//! live in a file of their own beside the credit store ([`Store::open_platform`]); on
//! PostgreSQL in the same schema.

use chrono::{DateTime, Utc};
use domain::audit::{
    AuditEntry, GENESIS, SCHEME_HMAC_SM3, SCHEME_SM3, audit_time, chain_hash, chain_hash_keyed,
};
use serde::Serialize;

use crate::conn::{Backend, Row, Val};
use crate::{Store, StoreError};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub account_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub unit: Option<String>,
    pub subject_key: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub must_change: bool,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub disabled_at: Option<DateTime<Utc>>,
    // When the password was last set (by its holder or an administrator).
    /// 密码最近一次设置的时间（本人修改或管理员重置）。
    pub password_changed_at: Option<DateTime<Utc>>,
    // When it last logged in (none since it was made, or since migration 1011).
    /// 最近一次登录的时间（创建后尚未登录为空）。
    pub last_login_at: Option<DateTime<Utc>>,
}

/// What [`Store::login_attempt`] made of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Counted; the password decides.
    Counted,
    /// Counted, and it reached the limit: the account is locked from now on unless the password
    /// proves right.
    Locking,
    /// The account was already locked: nothing counted, the password does not matter.
    Locked,
}

#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub unit: Option<&'a str>,
    pub subject_key: Option<&'a str>,
    pub password_hash: &'a str,
    pub must_change: bool,
    pub created_by: &'a str,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub account_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub token_id: i64,
    pub prefix: String,
    pub name: String,
    pub role: String,
    pub unit: Option<String>,
    pub subject_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub token_hash: &'a [u8],
    pub prefix: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub unit: Option<&'a str>,
    pub subject_key: Option<&'a str>,
    pub created_by: &'a str,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An audit entry before the chain gives it a number.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    pub at: Option<DateTime<Utc>>,
    pub actor: String,
    pub role: String,
    pub unit: Option<String>,
    pub action: String,
    pub object: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub client: Option<String>,
    pub detail: Option<String>,
}

/// A stored entry and its chain fields.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "审计日志中的一条记录。")]
pub struct StoredAudit {
    #[serde(flatten)]
    pub entry: AuditEntryView,
    #[serde(skip)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    pub hash: Vec<u8>,
    /// How `hash` was computed: `domain::audit::SCHEME_SM3` or `SCHEME_HMAC_SM3`.
    #[serde(skip)]
    pub scheme: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub unit: Option<String>,
    pub action: String,
    pub object: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub client: Option<String>,
    pub detail: Option<String>,
}

impl StoredAudit {
    pub fn as_entry(&self) -> AuditEntry {
        let e = &self.entry;
        AuditEntry {
            seq: e.seq,
            at: e.at,
            actor: e.actor.clone(),
            role: e.role.clone(),
            unit: e.unit.clone(),
            action: e.action.clone(),
            object: e.object.clone(),
            outcome: e.outcome.clone(),
            request_id: e.request_id.clone(),
            client: e.client.clone(),
            detail: e.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Checkpoint {
    pub seq_upto: i64,
    pub at: DateTime<Utc>,
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub hash: Vec<u8>,
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub signature: Vec<u8>,
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub public_key: Vec<u8>,
    pub key_fingerprint: String,
}

fn far_future() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

/// What to look for in the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// The object exactly, or a subject's key: then also its records' entries (their ids are
    /// `<subject key>-<record key>`), so that an auditor asking after a subject finds what was
    /// done to its records.
    pub object: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Entries with a sequence number below this (paging backwards).
    pub before: Option<i64>,
    pub limit: i64,
}

const ACCOUNT_COLUMNS: &str = "account_id, username, display_name, role, unit, subject_key,
    password_hash, must_change, failed_logins, locked_until, created_at, created_by, disabled_at,
    password_changed_at, last_login_at";

fn opt_time(r: &Row, i: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
    match r.get(i) {
        Val::Null => Ok(None),
        _ => r.time(i).map(Some),
    }
}

fn account_from(r: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        account_id: r.i64(0)?,
        username: r.text(1)?,
        display_name: r.text(2)?,
        role: r.text(3)?,
        unit: r.opt_text(4)?,
        subject_key: r.opt_text(5)?,
        password_hash: r.text(6)?,
        must_change: r.bool(7)?,
        failed_logins: r.i64(8)?,
        locked_until: opt_time(r, 9)?,
        created_at: r.time(10)?,
        created_by: r.text(11)?,
        disabled_at: opt_time(r, 12)?,
        password_changed_at: opt_time(r, 13)?,
        last_login_at: opt_time(r, 14)?,
    })
}

const TOKEN_COLUMNS: &str = "token_id, prefix, name, role, unit, subject_key, created_at,
    created_by, expires_at, revoked_at, last_used_at";

fn token_from(r: &Row) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        token_id: r.i64(0)?,
        prefix: r.text(1)?,
        name: r.text(2)?,
        role: r.text(3)?,
        unit: r.opt_text(4)?,
        subject_key: r.opt_text(5)?,
        created_at: r.time(6)?,
        created_by: r.text(7)?,
        expires_at: r.time(8)?,
        revoked_at: opt_time(r, 9)?,
        last_used_at: opt_time(r, 10)?,
    })
}

const AUDIT_COLUMNS: &str = "seq, at, actor, role, unit, action, object, outcome, request_id, client, detail, prev_hash, hash, scheme";

pub(crate) fn audit_from(r: &Row) -> Result<StoredAudit, StoreError> {
    Ok(StoredAudit {
        entry: AuditEntryView {
            seq: r.i64(0)?,
            at: r.time(1)?,
            actor: r.text(2)?,
            role: r.text(3)?,
            unit: r.opt_text(4)?,
            action: r.text(5)?,
            object: r.opt_text(6)?,
            outcome: r.text(7)?,
            request_id: r.opt_text(8)?,
            client: r.opt_text(9)?,
            detail: r.opt_text(10)?,
        },
        prev_hash: r.bytes(11)?,
        hash: r.bytes(12)?,
        scheme: r.i64(13)?,
    })
}

/// Whether a state change took (one row changed); the entry it carries says `unchanged`
/// when it did not (already disabled, already revoked).
pub(crate) fn changed(rows: u64, entry: Option<&mut NewAuditEntry>) -> bool {
    if rows != 1
        && let Some(e) = entry
    {
        e.outcome = "unchanged".into();
    }
    rows == 1
}

/// An account's mobile number and email address, each SM4-sealed (None: not left).
pub type SealedContact = (Option<Vec<u8>>, Option<Vec<u8>>);

impl Store {
    /// Runs a write with its audit entry in one transaction (`entry` None: a plain write), so
    /// that neither stands without the other: a write whose entry cannot be appended is rolled
    /// back. `f` may complete the entry (the id of what it created).
    pub(crate) fn write_audited<T>(
        &self,
        entry: Option<&mut NewAuditEntry>,
        f: impl FnOnce(&mut dyn crate::conn::Conn, Option<&mut NewAuditEntry>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(entry) = entry else {
            return self.write(|c| f(c, None));
        };
        let key = self.audit_key();
        // This process's group appends chain after a head they cache (`append_in_one_statement`);
        // held meanwhile and forgotten after, so that the next reads the head this one leaves.
        let mut cached = self.chain_head.lock().map_err(|_| StoreError::Poisoned)?;
        let r = self.write(|c| {
            lock_audit(c)?;
            let t = f(c, Some(&mut *entry))?;
            audit_append_locked(c, key.as_ref(), std::slice::from_ref(entry), Utc::now())?;
            Ok(t)
        });
        *cached = None;
        r
    }

    // ----- accounts -----

    /// Creates an account; with `audit`, its entry in the same transaction (object
    /// `account:<id>` when the entry names none).
    pub fn create_account(
        &self,
        a: &NewAccount<'_>,
        audit: Option<&mut NewAuditEntry>,
    ) -> Result<i64, StoreError> {
        self.write_audited(audit, |c, entry| {
            // Names that differ only in case (rv-report1, RV-Report1) are one name to people
            // reading a list or a trail: the second is refused.
            if let Some(r) = c.query_one(
                "SELECT username FROM accounts WHERE lower(username) = lower($1) AND username <> $1",
                &[a.username.into()],
            )? {
                return Err(StoreError::Refused(format!(
                    "用户名“{}”与已有账号“{}”仅大小写不同，容易混淆，请另取用户名",
                    a.username,
                    r.text(0)?
                )));
            }
            let id = c.query_one(
                "INSERT INTO accounts (username, display_name, role, unit, subject_key, password_hash,
                    must_change, created_at, created_by, password_changed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8) RETURNING account_id",
                &[
                    a.username.into(),
                    a.display_name.into(),
                    a.role.into(),
                    a.unit.into(),
                    a.subject_key.into(),
                    a.password_hash.into(),
                    a.must_change.into(),
                    a.at.into(),
                    a.created_by.into(),
                ],
            )?
            .ok_or_else(|| StoreError::Decode("no account id".into()))?
            .i64(0)?;
            // Filed under its id, as its later disable, enable and reset are: one search finds
            // the account's whole history; the name goes in the detail.
            if let Some(e) = entry {
                e.object = Some(format!("account:{id}"));
                let said = e.detail.take().map(|d| format!(" {d}")).unwrap_or_default();
                e.detail = Some(format!("username={}{said}", a.username));
            }
            Ok(id)
        })
    }

    /// Sets (or clears) an account's sealed phone number and email address.
    pub fn set_contact(
        &self,
        id: i64,
        phone_sealed: Option<Vec<u8>>,
        email_sealed: Option<Vec<u8>>,
    ) -> Result<bool, StoreError> {
        self.write(|c| {
            Ok(c.execute(
                "UPDATE accounts SET phone_sealed = $1, email_sealed = $2 WHERE account_id = $3",
                &[phone_sealed.into(), email_sealed.into(), Val::Int(id)],
            )? == 1)
        })
    }

    /// One account's sealed contacts (phone, email).
    pub fn account_contact(&self, id: i64) -> Result<Option<SealedContact>, StoreError> {
        self.read(|c| {
            c.query_one(
                "SELECT phone_sealed, email_sealed FROM accounts WHERE account_id = $1",
                &[Val::Int(id)],
            )?
            .map(|r| Ok((r.opt_bytes(0)?, r.opt_bytes(1)?)))
            .transpose()
        })
    }

    /// The sealed contacts (phone, email) of the enabled accounts acting for a subject, or for a
    /// unit when `subject` is None.
    pub fn contacts(
        &self,
        subject: Option<&str>,
        unit: Option<&str>,
    ) -> Result<Vec<SealedContact>, StoreError> {
        let (sql, key) = match (subject, unit) {
            (Some(s), _) => (
                "SELECT phone_sealed, email_sealed FROM accounts
                 WHERE subject_key = $1 AND disabled_at IS NULL ORDER BY account_id",
                s,
            ),
            (None, Some(u)) => (
                "SELECT phone_sealed, email_sealed FROM accounts
                 WHERE unit = $1 AND disabled_at IS NULL ORDER BY account_id",
                u,
            ),
            (None, None) => return Ok(Vec::new()),
        };
        self.read(|c| {
            c.query(sql, &[key.into()])?
                .iter()
                .map(|r| Ok((r.opt_bytes(0)?, r.opt_bytes(1)?)))
                .collect()
        })
    }

    pub fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = $1"),
                &[username.into()],
            )?
            .map(|r| account_from(&r))
            .transpose()
        })
    }

    pub fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| account_from(&r))
            .transpose()
        })
    }

    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|c| {
            c.query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY account_id"),
                &[],
            )?
            .iter()
            .map(account_from)
            .collect()
        })
    }

    pub fn set_password(
        &self,
        id: i64,
        hash: &str,
        must_change: bool,
        at: DateTime<Utc>,
        audit: Option<&mut NewAuditEntry>,
    ) -> Result<(), StoreError> {
        self.write_audited(audit, |c, _| {
            // The password it replaces is kept (as its hash) for the history check.
            if let Some(old) = c.query_one(
                "SELECT password_hash FROM accounts WHERE account_id = $1",
                &[Val::Int(id)],
            )? {
                c.execute(
                    "INSERT INTO password_history (account_id, password_hash, replaced_at)
                     VALUES ($1, $2, $3)",
                    &[Val::Int(id), old.text(0)?.into(), at.into()],
                )?;
            }
            c.execute(
                "UPDATE accounts SET password_hash = $1, must_change = $2, password_changed_at = $3,
                    failed_logins = 0, locked_until = NULL WHERE account_id = $4",
                &[hash.into(), must_change.into(), at.into(), Val::Int(id)],
            )?;
            // Whoever held a session on the old password holds it no longer (the caller gives
            // the account's own user a new one).
            c.execute(
                "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
                &[at.into(), Val::Int(id)],
            )?;
            Ok(())
        })
    }

    /// The hashes of the passwords the account used before its current one, newest first, at
    /// most `n`.
    pub fn previous_password_hashes(&self, id: i64, n: i64) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT password_hash FROM password_history WHERE account_id = $1
                 ORDER BY replaced_at DESC LIMIT $2",
                &[Val::Int(id), Val::Int(n)],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect()
        })
    }

    /// Takes one login attempt for the account before its password is checked, so that
    /// attempts sent at once cannot all pass a limit read before any of them counted. Counts
    /// nothing while the account is locked ([`LoginAttempt::Locked`]); the attempt that reaches
    /// `limit` locks it until `lock_until` ([`LoginAttempt::Locking`]: it stays locked unless
    /// the password proves right). A successful login resets the count (`login_succeeded`).
    pub fn login_attempt(
        &self,
        id: i64,
        limit: i64,
        now: DateTime<Utc>,
        lock_until: DateTime<Utc>,
    ) -> Result<LoginAttempt, StoreError> {
        // Failures count toward the lock while they come within this of each other: the lock's
        // own length (five typos months apart locked an account).
        let window = lock_until - now;
        self.write(|c| {
            // A lock that has run out starts the count again; so does a pause as long as a
            // lock since the last failure.
            c.execute(
                "UPDATE accounts SET failed_logins = 0, locked_until = NULL
                 WHERE account_id = $1 AND locked_until IS NOT NULL AND locked_until <= $2",
                &[Val::Int(id), now.into()],
            )?;
            c.execute(
                "UPDATE accounts SET failed_logins = 0
                 WHERE account_id = $1 AND locked_until IS NULL AND last_failed_at IS NOT NULL
                   AND last_failed_at <= $2",
                &[Val::Int(id), (now - window).into()],
            )?;
            let n = c.execute(
                "UPDATE accounts SET failed_logins = failed_logins + 1, last_failed_at = $4,
                    locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
                 WHERE account_id = $1 AND locked_until IS NULL",
                &[Val::Int(id), Val::Int(limit), lock_until.into(), now.into()],
            )?;
            if n != 1 {
                return Ok(LoginAttempt::Locked);
            }
            // Locked now means locked by this attempt: the update above took only an unlocked
            // account, in this same transaction.
            let locked = c
                .query_one(
                    "SELECT locked_until FROM accounts WHERE account_id = $1",
                    &[Val::Int(id)],
                )?
                .is_some_and(|r| !matches!(r.get(0), Val::Null));
            Ok(if locked {
                LoginAttempt::Locking
            } else {
                LoginAttempt::Counted
            })
        })
    }

    /// Marks an account's password to be changed at once (it has served its time).
    pub fn require_password_change(&self, id: i64) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE accounts SET must_change = $2 WHERE account_id = $1",
                &[Val::Int(id), Val::Bool(true)],
            )?;
            Ok(())
        })
    }

    /// A login with the right password: the failures reset (as `login_succeeded`), and when
    /// it was kept for the office's review of dormant accounts.
    pub fn logged_in(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $2
                 WHERE account_id = $1",
                &[Val::Int(id), at.into()],
            )?;
            Ok(())
        })
    }

    pub fn login_succeeded(&self, id: i64) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE account_id = $1",
                &[Val::Int(id)],
            )?;
            Ok(())
        })
    }

    /// Disables an account and revokes its sessions and the admin tokens it made. The last
    /// enabled administrator is refused, judged in this transaction with the administrators'
    /// rows locked (PostgreSQL; SQLite's writer is alone): two administrators disabling each
    /// other at once cannot both succeed.
    pub fn disable_account(
        &self,
        id: i64,
        at: DateTime<Utc>,
        audit: Option<&mut NewAuditEntry>,
    ) -> Result<bool, StoreError> {
        self.write_audited(audit, |c, entry| {
            let lock = if c.backend() == crate::conn::Backend::Postgres {
                " FOR UPDATE"
            } else {
                ""
            };
            let admins: Vec<i64> = c
                .query(
                    &format!(
                        "SELECT account_id FROM accounts WHERE role = 'admin' AND disabled_at IS NULL
                         ORDER BY account_id{lock}"
                    ),
                    &[],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect::<Result<_, _>>()?;
            if admins == [id] {
                return Err(StoreError::Refused(
                    "这是最后一个在用的信用办管理员账号，停用后将无人能在控制台管理账号和令牌".into(),
                ));
            }
            let n = c.execute(
                "UPDATE accounts SET disabled_at = $1 WHERE account_id = $2 AND disabled_at IS NULL",
                &[at.into(), Val::Int(id)],
            )?;
            c.execute(
                "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
                &[at.into(), Val::Int(id)],
            )?;
            // The office's own powers do not outlive the person: admin tokens this account made
            // end with it (tokens it made for departments' systems keep working).
            c.execute(
                "UPDATE api_tokens SET revoked_at = $1
                 WHERE role = 'admin' AND revoked_at IS NULL
                   AND created_by = (SELECT 'user:' || username FROM accounts WHERE account_id = $2)",
                &[at.into(), Val::Int(id)],
            )?;
            Ok(changed(n, entry))
        })
    }

    /// Enables a disabled account again. Its sessions and the admin tokens it made stay ended
    /// (any still live is ended now): whoever held them before must log in anew.
    pub fn enable_account(
        &self,
        id: i64,
        at: DateTime<Utc>,
        audit: Option<&mut NewAuditEntry>,
    ) -> Result<bool, StoreError> {
        self.write_audited(audit, |c, entry| {
            let n = c.execute(
                "UPDATE accounts SET disabled_at = NULL
                 WHERE account_id = $1 AND disabled_at IS NOT NULL",
                &[Val::Int(id)],
            )?;
            c.execute(
                "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
                &[at.into(), Val::Int(id)],
            )?;
            Ok(changed(n, entry))
        })
    }

    /// Whether `code` is a financial institution on the platform: one that has a live account or
    /// token of the 金融机构 role under its code (the credit office opened it for 信易贷). A
    /// subject authorises only such an institution, not any organisation's code.
    pub fn financial_institution_known(
        &self,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.read(|c| {
            Ok(c.query_one(
                "SELECT 1 FROM accounts
                 WHERE role = 'financial' AND subject_key = $1 AND disabled_at IS NULL
                 UNION ALL
                 SELECT 1 FROM api_tokens
                 WHERE role = 'financial' AND subject_key = $1 AND revoked_at IS NULL
                   AND expires_at > $2
                 LIMIT 1",
                &[code.into(), now.into()],
            )?
            .is_some())
        })
    }

    /// The financial institutions open for 信易贷 (an account or a live token under their code),
    /// by code, each with the name its account (else its token) was given: what a subject
    /// chooses from, and how the lists name an institution.
    pub fn financial_institutions(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|c| {
            let rows = c.query(
                "SELECT subject_key, display_name, 0 FROM accounts
                 WHERE role = 'financial' AND subject_key IS NOT NULL AND disabled_at IS NULL
                 UNION ALL
                 SELECT subject_key, name, 1 FROM api_tokens
                 WHERE role = 'financial' AND subject_key IS NOT NULL AND revoked_at IS NULL
                   AND expires_at > $1
                 ORDER BY 1, 3",
                &[now.into()],
            )?;
            let mut out: Vec<(String, String)> = Vec::new();
            for r in &rows {
                let code = r.text(0)?;
                if out.last().is_none_or(|(c, _)| *c != code) {
                    out.push((code, r.text(1)?));
                }
            }
            Ok(out)
        })
    }

    // ----- sessions -----

    pub fn create_session(
        &self,
        hash: &[u8],
        account_id: i64,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        client: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "INSERT INTO sessions (session_hash, account_id, created_at, last_seen, expires_at, client)
                 VALUES ($1, $2, $3, $3, $4, $5)",
                &[hash.into(), Val::Int(account_id), at.into(), expires_at.into(), client.into()],
            )?;
            Ok(())
        })
    }

    pub fn session(&self, hash: &[u8]) -> Result<Option<Session>, StoreError> {
        self.read(|c| {
            c.query_one(
                "SELECT account_id, created_at, last_seen, expires_at, revoked_at FROM sessions WHERE session_hash = $1",
                &[hash.into()],
            )?
            .map(|r| {
                Ok(Session {
                    account_id: r.i64(0)?,
                    created_at: r.time(1)?,
                    last_seen: r.time(2)?,
                    expires_at: r.time(3)?,
                    revoked: !matches!(r.get(4), Val::Null),
                })
            })
            .transpose()
        })
    }

    pub fn touch_session(
        &self,
        hash: &[u8],
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE sessions SET last_seen = $1, expires_at = $2 WHERE session_hash = $3 AND revoked_at IS NULL",
                &[at.into(), expires_at.into(), hash.into()],
            )?;
            Ok(())
        })
    }

    pub fn revoke_session(&self, hash: &[u8], at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE sessions SET revoked_at = $1 WHERE session_hash = $2 AND revoked_at IS NULL",
                &[at.into(), hash.into()],
            )?;
            Ok(())
        })
    }

    // ----- API tokens -----

    /// Creates a token; with `audit`, its entry in the same transaction (object `token:<id>`).
    pub fn create_token(
        &self,
        t: &NewToken<'_>,
        audit: Option<&mut NewAuditEntry>,
    ) -> Result<i64, StoreError> {
        self.write_audited(audit, |c, entry| {
            let id = c.query_one(
                "INSERT INTO api_tokens (token_hash, prefix, name, role, unit, subject_key, created_at,
                    created_by, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING token_id",
                &[
                    t.token_hash.into(),
                    t.prefix.into(),
                    t.name.into(),
                    t.role.into(),
                    t.unit.into(),
                    t.subject_key.into(),
                    t.at.into(),
                    t.created_by.into(),
                    t.expires_at.into(),
                ],
            )?
            .ok_or_else(|| StoreError::Decode("no token id".into()))?
            .i64(0)?;
            if let Some(e) = entry {
                e.object = Some(format!("token:{id}"));
            }
            Ok(id)
        })
    }

    pub fn token_by_hash(&self, hash: &[u8]) -> Result<Option<ApiToken>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"),
                &[hash.into()],
            )?
            .map(|r| token_from(&r))
            .transpose()
        })
    }

    pub fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.read(|c| {
            c.query(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY token_id"),
                &[],
            )?
            .iter()
            .map(token_from)
            .collect()
        })
    }

    pub fn revoke_token(
        &self,
        id: i64,
        at: DateTime<Utc>,
        audit: Option<&mut NewAuditEntry>,
    ) -> Result<bool, StoreError> {
        self.write_audited(audit, |c, entry| {
            let n = c.execute(
                "UPDATE api_tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL",
                &[at.into(), Val::Int(id)],
            )?;
            Ok(changed(n, entry))
        })
    }

    pub fn touch_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE api_tokens SET last_used_at = $1 WHERE token_id = $2",
                &[at.into(), Val::Int(id)],
            )?;
            Ok(())
        })
    }

    // ----- audit trail -----

    /// Appends entries to the chain in one transaction; returns their sequence numbers.
    pub fn audit_append(
        &self,
        entries: &[NewAuditEntry],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        if self.backend() == Backend::Postgres {
            return self.append_in_one_statement(entries, now, &AUDIT_INSERT_GUARDED_PG, &[]);
        }
        let key = self.audit_key();
        self.write(|c| audit_append_on(c, key.as_ref(), entries, now))
    }

    /// PostgreSQL: appends a group in a statement of its own — one round trip and one commit,
    /// no table lock — after the head this process last wrote or read. `sql` is
    /// `AUDIT_INSERT_GUARDED_PG`, or that insert after a data-modifying `WITH` (guarded the
    /// same way) whose parameters, `extra`, follow the entries' (the checks the entries name,
    /// written in the same commit). Taking the lock, reading the head, appending and committing
    /// cost four round trips; this costs one. The chain stays whole: when another writer
    /// appended first (another server on the same database, or a locked append here), the
    /// statement fails on the sequence number's key; when the head it was chained after is not
    /// the table's (the table lost entries this process wrote: a restore, a failover), the
    /// guard lets it write nothing. Either way the group is chained again after the head read
    /// anew, and after a few such turns it takes the lock like any other append.
    pub(crate) fn append_in_one_statement(
        &self,
        entries: &[NewAuditEntry],
        now: DateTime<Utc>,
        sql: &str,
        extra: &[Val],
    ) -> Result<Vec<i64>, StoreError> {
        let key = self.audit_key();
        // Held across the statement: this process's writers (audit entries, checks) take turns
        // rather than race each other for the same sequence numbers.
        let mut cached = self.chain_head.lock().map_err(|_| StoreError::Poisoned)?;
        let mut c = self.writer()?;
        // The group chained after `head` and written: its sequence numbers and the head it
        // leaves, or `None` when another writer's entries held it back.
        let attempt = |c: &mut dyn crate::conn::Conn, head: ChainHead| {
            let guard = head_guard(&head);
            let chained = chain_rows(key.as_ref(), head, entries, now)?;
            let mut params = crate::columns_of(chained.rows, AUDIT_PG_COLUMNS);
            params.extend(guard);
            params.extend_from_slice(extra);
            match c.execute(sql, &params) {
                Ok(n) if n as usize == entries.len() => Ok(Some((chained.seqs, chained.head))),
                // The guard held it back (the head is not the one cached), or the key did.
                Ok(_) | Err(StoreError::ChainMoved) => Ok(None),
                Err(e) => Err(e),
            }
        };
        for _ in 0..4 {
            let head = match cached.take() {
                Some(h) => h,
                None => read_head(&mut *c)?,
            };
            if let Some((seqs, head)) = attempt(&mut *c, head)? {
                *cached = Some(head);
                return Ok(seqs);
            }
        }
        c.begin()?;
        let locked = lock_audit(&mut *c)
            .and_then(|()| read_head(&mut *c))
            .and_then(|head| attempt(&mut *c, head))
            .and_then(|done| {
                done.ok_or_else(|| {
                    StoreError::Refused("审计日志链头与读取的不一致，本组审计记录未写入".into())
                })
            });
        match locked {
            Ok((seqs, head)) => {
                c.commit()?;
                *cached = Some(head);
                Ok(seqs)
            }
            Err(e) => {
                let _ = c.rollback();
                Err(e)
            }
        }
    }

    /// Entries with `seq` in `from..` (ascending), at most `limit`: for verification page by page.
    pub fn audit_page(&self, from: i64, limit: i64) -> Result<Vec<StoredAudit>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
                ),
                &[Val::Int(from), Val::Int(limit)],
            )?
            .iter()
            .map(audit_from)
            .collect()
        })
    }

    /// Searches the trail, newest first. An object is found as the entry's object, one of its
    /// records, or the subject its detail names (`subject=<key>`: a check is filed under its
    /// number, and an auditor looks for the company).
    pub fn audit_search(&self, q: &AuditQuery) -> Result<Vec<StoredAudit>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log
                     WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2)
                       AND ($3 = '' OR object = $3 OR object LIKE ($3 || '-%')
                            OR detail LIKE ('subject=' || $3 || ' %'))
                       AND at >= $4 AND at <= $5 AND seq < $6
                     ORDER BY seq DESC LIMIT $7"
                ),
                &[
                    q.actor.clone().unwrap_or_default().into(),
                    q.action.clone().unwrap_or_default().into(),
                    q.object.clone().unwrap_or_default().into(),
                    // Bounds that compare correctly as RFC 3339 text (SQLite) and as timestamps.
                    q.from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH).into(),
                    q.to.unwrap_or_else(far_future).into(),
                    Val::Int(q.before.unwrap_or(i64::MAX)),
                    Val::Int(q.limit.clamp(1, 1000)),
                ],
            )?
            .iter()
            .map(audit_from)
            .collect()
        })
    }

    /// The last entry's number and hash (0 and the genesis when the trail is empty).
    pub fn audit_head(&self) -> Result<(i64, Vec<u8>), StoreError> {
        self.read(|c| {
            match c.query_one(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                &[],
            )? {
                Some(r) => Ok((r.i64(0)?, r.bytes(1)?)),
                None => Ok((0, GENESIS.to_vec())),
            }
        })
    }

    pub fn audit_add_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "INSERT INTO audit_checkpoints (seq_upto, at, hash, signature, public_key, key_fingerprint)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq_upto) DO NOTHING",
                &[
                    Val::Int(cp.seq_upto),
                    cp.at.into(),
                    Val::Bytes(cp.hash.clone()),
                    Val::Bytes(cp.signature.clone()),
                    Val::Bytes(cp.public_key.clone()),
                    cp.key_fingerprint.as_str().into(),
                ],
            )?;
            Ok(())
        })
    }

    pub fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.checkpoints_where("ORDER BY seq_upto")
    }

    /// The latest checkpoint only (one is signed every few minutes: the timer that asks must
    /// not read them all).
    pub fn audit_last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self
            .checkpoints_where("ORDER BY seq_upto DESC LIMIT 1")?
            .pop())
    }

    pub fn audit_checkpoint_count(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            c.query_one("SELECT COUNT(*) FROM audit_checkpoints", &[])?
                .map_or(Ok(0), |r| r.i64(0))
        })
    }

    fn checkpoints_where(&self, tail: &str) -> Result<Vec<Checkpoint>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT seq_upto, at, hash, signature, public_key, key_fingerprint FROM audit_checkpoints {tail}"
                ),
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Checkpoint {
                    seq_upto: r.i64(0)?,
                    at: r.time(1)?,
                    hash: r.bytes(2)?,
                    signature: r.bytes(3)?,
                    public_key: r.bytes(4)?,
                    key_fingerprint: r.text(5)?,
                })
            })
            .collect()
        })
    }
}

/// Appends entries to the chain inside the caller's transaction (checks record their entry in
/// the same transaction as the check).
pub(crate) fn audit_append_on(
    c: &mut dyn crate::conn::Conn,
    key: Option<&[u8; 32]>,
    entries: &[NewAuditEntry],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    lock_audit(c)?;
    audit_append_locked(c, key, entries, now)
}

/// On PostgreSQL, takes the chain's turn: one chain across replicas, appenders take turns
/// until they commit. A transaction that appends later may take it first, so that the lock
/// travels with its `BEGIN` (one round trip fewer).
pub(crate) fn lock_audit(c: &mut dyn crate::conn::Conn) -> Result<(), StoreError> {
    if c.backend() == Backend::Postgres {
        c.batch("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")?;
    }
    Ok(())
}

/// Appends entries after `lock_audit` in the same transaction.
pub(crate) fn audit_append_locked(
    c: &mut dyn crate::conn::Conn,
    key: Option<&[u8; 32]>,
    entries: &[NewAuditEntry],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let head = match c.query_one(AUDIT_HEAD, &[])? {
        Some(r) => chain_head(&r, 0)?,
        None => None,
    };
    audit_append_after(c, key, head, entries, now)
}

/// The chain's last entry (sequence number, hash and scheme); `None` for an empty chain.
pub(crate) type ChainHead = Option<(i64, Vec<u8>, i64)>;

/// The chain's last entry, to be read after `lock_audit` (every group of entries reads it: only
/// what the next entry needs).
pub(crate) const AUDIT_HEAD: &str =
    "SELECT seq, hash, scheme FROM audit_log ORDER BY seq DESC LIMIT 1";

/// The chain's last keyed entry (its key is checked against it before it is recorded).
pub(crate) const LAST_KEYED: &str = "SELECT seq, at, actor, role, unit, action, object, outcome,
    request_id, client, detail, prev_hash, hash, scheme FROM audit_log WHERE scheme = 2
    ORDER BY seq DESC LIMIT 1";

/// The chain's head from a row whose columns from `from` are those of [`AUDIT_HEAD`].
pub(crate) fn chain_head(r: &Row, from: usize) -> Result<ChainHead, StoreError> {
    if *r.get(from) == Val::Null {
        return Ok(None);
    }
    Ok(Some((r.i64(from)?, r.bytes(from + 1)?, r.i64(from + 2)?)))
}

/// The types of `AUDIT_COLUMNS` on PostgreSQL, for a group appended by `unnest`.
#[rustfmt::skip]
const AUDIT_PG_TYPES: [&str; 14] = [
    "bigint", "timestamptz", "text", "text", "text", "text", "text",
    "text", "text", "text", "text", "bytea", "bytea", "integer",
];

/// PostgreSQL: a group of entries in one statement whatever its size (one array per column,
/// parameters `$1`–`$14`).
pub(crate) static AUDIT_INSERT_PG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) SELECT * FROM unnest({})",
        crate::unnest_params(&AUDIT_PG_TYPES)
    )
});

/// The entries' columns, one array each (`AUDIT_INSERT_PG`'s parameters).
const AUDIT_PG_COLUMNS: usize = AUDIT_PG_TYPES.len();

/// Whether the chain's head is the entry a group was chained after: `$15` its sequence number
/// (0: an empty chain) and `$16` its hash, as this statement's snapshot sees them. A process's
/// cached head can be ahead of the table (a restore, a failover to a replica that had not
/// received the last entries) or another writer's; the key on the sequence number catches a
/// head that is behind, this the others.
pub(crate) const AUDIT_HEAD_GUARD: &str =
    "(CASE WHEN $15::bigint = 0 THEN NOT EXISTS (SELECT 1 FROM audit_log)
    ELSE EXISTS (SELECT 1 FROM audit_log WHERE seq = $15::bigint AND hash = $16::bytea) END)";

/// `AUDIT_INSERT_PG` that writes nothing unless the head is the one the group was chained
/// after (`AUDIT_HEAD_GUARD`), for appends without the lock.
pub(crate) static AUDIT_INSERT_GUARDED_PG: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{} WHERE {AUDIT_HEAD_GUARD}", *AUDIT_INSERT_PG));

/// How many parameters `AUDIT_INSERT_GUARDED_PG` takes; a statement that writes more after
/// them numbers its own from here.
pub(crate) const AUDIT_PG_PARAMS: usize = AUDIT_PG_COLUMNS + 2;

/// `AUDIT_HEAD_GUARD`'s parameters for a head.
fn head_guard(head: &ChainHead) -> [Val; 2] {
    match head {
        Some((seq, hash, _)) => [Val::Int(*seq), Val::Bytes(hash.clone())],
        None => [Val::Int(0), Val::Bytes(Vec::new())],
    }
}

/// The chain's last entry as committed.
fn read_head(c: &mut dyn crate::conn::Conn) -> Result<ChainHead, StoreError> {
    match c.query_one(AUDIT_HEAD, &[])? {
        Some(r) => chain_head(&r, 0),
        None => Ok(None),
    }
}

/// A group of entries chained after a head: their sequence numbers, their column values (row
/// by row, `AUDIT_PG_TYPES` wide) and the head they leave.
pub(crate) struct Chained {
    pub seqs: Vec<i64>,
    pub rows: Vec<Val>,
    pub head: ChainHead,
}

/// Chains `entries` after `head` (computes every entry's hash; writes nothing).
/// An audit field as the trail keeps it: control characters (a NUL, which PostgreSQL refuses
/// in text, failed the whole group of entries with it — and, the audit failing closed, the
/// requests of others) shown as `\u{..}`, and cut at `max` characters — what a caller typed (a
/// login name) is kept, but not megabytes of it for ever.
pub fn bounded(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    for (n, c) in s.chars().enumerate() {
        if n == max {
            out.push_str("…（已截断）");
            break;
        }
        // Bidi controls too: U+202E before "nabgnoynix" showed a stranger's failed login as
        // user:xinyongban on the audit page.
        if c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn chain_rows(
    key: Option<&[u8; 32]>,
    head: ChainHead,
    entries: &[NewAuditEntry],
    now: DateTime<Utc>,
) -> Result<Chained, StoreError> {
    // A keyed chain stays keyed: without the key nothing is appended (verification refuses
    // an unkeyed entry after a keyed one, as it must, since that is how a rewrite without the
    // key would look). Which key is checked when it is set (`Store::set_audit_key`); a head
    // that does not hold together is for `audit verify` to report, not a reason to stop
    // auditing.
    if key.is_none() && head.as_ref().is_some_and(|h| h.2 != SCHEME_SM3) {
        return Err(StoreError::Refused(
            "审计日志已用平台密钥（HMAC-SM3）链接：写入审计日志需要平台的密钥文件（--keys）".into(),
        ));
    }
    if entries.is_empty() {
        return Ok(Chained {
            seqs: Vec::new(),
            rows: Vec::new(),
            head,
        });
    }
    let (mut seq, mut prev) = head.map_or_else(|| (0, GENESIS.to_vec()), |h| (h.0, h.1));
    let scheme = if key.is_some() {
        SCHEME_HMAC_SM3
    } else {
        SCHEME_SM3
    };
    let mut out = Vec::with_capacity(entries.len());
    // Many rows per statement (the hashes chain row to row as before).
    let mut rows: Vec<Val> = Vec::with_capacity(entries.len() * AUDIT_PG_TYPES.len());
    for n in entries {
        seq += 1;
        let e = AuditEntry {
            seq,
            at: audit_time(n.at.unwrap_or(now)),
            actor: bounded(&n.actor, 200),
            role: bounded(&n.role, 50),
            unit: n.unit.as_deref().map(|u| bounded(u, 200)),
            action: bounded(&n.action, 100),
            object: n.object.as_deref().map(|o| bounded(o, 500)),
            outcome: bounded(&n.outcome, 100),
            request_id: n.request_id.as_deref().map(|r| bounded(r, 100)),
            client: n.client.as_deref().map(|c| bounded(c, 100)),
            detail: n.detail.as_deref().map(|d| bounded(d, 2000)),
        };
        let hash = match key {
            Some(k) => chain_hash_keyed(k, &prev, &e),
            None => chain_hash(&prev, &e),
        };
        rows.extend([
            Val::Int(seq),
            e.at.into(),
            e.actor.into(),
            e.role.into(),
            e.unit.into(),
            e.action.into(),
            e.object.into(),
            e.outcome.into(),
            e.request_id.into(),
            e.client.into(),
            e.detail.into(),
            Val::Bytes(prev.clone()),
            Val::Bytes(hash.to_vec()),
            Val::Int(scheme),
        ]);
        prev = hash.to_vec();
        out.push(seq);
    }
    Ok(Chained {
        seqs: out,
        rows,
        head: Some((seq, prev, scheme)),
    })
}

/// Appends entries after `head` (the chain's last entry, `None` for an empty chain), read under
/// `lock_audit` in this transaction.
pub(crate) fn audit_append_after(
    c: &mut dyn crate::conn::Conn,
    key: Option<&[u8; 32]>,
    head: ChainHead,
    entries: &[NewAuditEntry],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let Chained {
        seqs: out, rows, ..
    } = chain_rows(key, head, entries, now)?;
    if entries.is_empty() {
        return Ok(out);
    }
    if c.backend() == Backend::Postgres {
        c.execute(
            &AUDIT_INSERT_PG,
            &crate::columns_of(rows, AUDIT_PG_TYPES.len()),
        )?;
        return Ok(out);
    }
    const W: usize = AUDIT_PG_TYPES.len();
    let mut at = 0;
    for n in crate::multi_row_pieces(entries.len()) {
        let values: Vec<String> = (0..n)
            .map(|i| {
                let cols: Vec<String> = (1..=W).map(|j| format!("${}", i * W + j)).collect();
                format!("({})", cols.join(", "))
            })
            .collect();
        c.execute(
            &format!(
                "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES {}",
                values.join(", ")
            ),
            &rows[at * W..(at + n) * W],
        )?;
        at += n;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// What a caller typed is kept as it reads: control and bidi characters escaped, so that a
    /// name reversed on screen cannot pass for another.
    #[test]
    fn an_audit_field_shows_bidi_controls_escaped() {
        let kept = super::bounded("\u{202e}nabgnoynix\u{0}", 64);
        assert_eq!(kept, "\\u{202e}nabgnoynix\\u{0}");
        assert_eq!(super::bounded("盐城市", 2), "盐城…（已截断）");
    }
}
