//! Accounts and API tokens, as the credit office manages them — the same rules for the console,
//! the API and the command line.

use auth::Role;
use chrono::{DateTime, Utc};
use crypto::KeyRing;
use rulebook::Rulebook;
use store::{NewAccount, NewAuditEntry, NewToken, Store};

use crate::error::ApiError;

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    // 3–32 letters, digits, `_`, `.` or `-`.
    /// 用户名：3–32位字母、数字或 `_`、`.`、`-`。
    pub username: String,
    pub display_name: String,
    pub role: Role,
    // The unit's full name (信息员、审核员、认定单位、核查部门).
    /// 所属单位全称（须在信源单位名录中）；信息员、审核员、认定单位经办人、核查部门经办人账号必填。
    pub unit: Option<String>,
    // The subject's 统一社会信用代码 or 公民身份号码 (信用主体).
    /// 信用主体账号填主体的统一社会信用代码或公民身份号码；金融机构账号填本机构的统一社会信用代码（必填）。
    pub subject: Option<String>,
    // Initial password; generated when absent. Either way it must be changed at first login.
    /// 初始密码；不填则自动生成。无论哪种方式，首次登录时都须修改。
    pub password: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedAccount {
    pub account_id: i64,
    pub username: String,
    // Shown once.
    /// 初始密码，仅显示一次。
    pub initial_password: String,
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub name: String,
    pub role: Role,
    pub unit: Option<String>,
    pub subject: Option<String>,
    // Days until it expires (1–365).
    /// 有效天数（1–365）。
    pub days: Option<u32>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token_id: i64,
    // Shown once; the platform keeps only its SM3 digest.
    /// 令牌，仅显示一次；平台只保存其 SM3 摘要。
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A password that meets the policy: 16 characters, letters and digits.
pub fn generated_password() -> Result<String, ApiError> {
    // Drawn again in the rare case the draw breaks the policy (four equal digits, a run).
    loop {
        let p = draw_password()?;
        if auth::check_password_policy("", &p).is_ok() {
            return Ok(p);
        }
    }
}

fn draw_password() -> Result<String, ApiError> {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghjkmnpqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    let r = crypto::random_bytes::<16>().map_err(ApiError::internal)?;
    // An upper-case and a lower-case letter first, then any: the policy's three classes.
    let mut s: String = r[..12]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = match i {
                0 => UPPER,
                1 => LOWER,
                _ => LETTERS,
            };
            set[*b as usize % set.len()] as char
        })
        .collect();
    s.extend(
        r[12..]
            .iter()
            .map(|b| DIGITS[*b as usize % DIGITS.len()] as char),
    );
    Ok(s)
}

fn scope(
    rules: &Rulebook,
    keys: &KeyRing,
    role: Role,
    unit: Option<&str>,
    subject: Option<&str>,
    today: chrono::NaiveDate,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let unit = match unit.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Some(
            rules
                .units
                .find(u)
                .ok_or_else(|| ApiError::Unprocessable(format!("单位“{u}”不在信源单位名录中")))?
                .name
                .clone(),
        ),
        None => None,
    };
    if role.needs_unit() && unit.is_none() {
        return Err(ApiError::Unprocessable(format!(
            "{}必须指定所属单位",
            role.label()
        )));
    }
    let subject_key = match subject.map(str::trim).filter(|s| !s.is_empty()) {
        // A financial institution's accounts and tokens carry its own code: the subjects'
        // authorisations (信易贷授权查询) name it so.
        Some(code) if role == Role::Financial => Some(
            domain::ids::Uscc::parse(code, &rules.ids)
                .map_err(|e| {
                    ApiError::Unprocessable(format!("金融机构的统一社会信用代码无效：{e}"))
                })?
                .0
                .as_str()
                .to_string(),
        ),
        Some(code) => Some(views::subject_key(code, rules, keys, today)?),
        None => None,
    };
    // A system's token (运维监控, 共享交换系统) acts for no unit and no subject.
    if role.token_only() && (unit.is_some() || subject_key.is_some()) {
        return Err(ApiError::Unprocessable(format!(
            "{}的令牌不属于任何单位或主体：请不要指定所属单位或主体代码",
            role.label()
        )));
    }
    // An institution is no source unit: a unit would bring that unit's check exceptions into
    // the institution's checks.
    if role == Role::Financial && unit.is_some() {
        return Err(ApiError::Unprocessable(
            "金融机构账号和令牌不属于任何信源单位：请不要指定所属单位".into(),
        ));
    }
    // Without its code an institution could never be authorised (信易贷授权查询 names it) nor
    // find its own checks and alerts.
    if role == Role::Financial && subject_key.is_none() {
        return Err(ApiError::Unprocessable(
            "金融机构账号和令牌必须指定本机构的统一社会信用代码".into(),
        ));
    }
    if role.needs_subject() && subject_key.is_none() {
        return Err(ApiError::Unprocessable(
            "信用主体账号必须指定统一社会信用代码或公民身份号码".into(),
        ));
    }
    // A field that does not apply to the role is refused, not stored (a reporter carrying a
    // bank's code was shown with it in the account list).
    if subject_key.is_some() && !role.needs_subject() && role != Role::Financial {
        return Err(ApiError::Unprocessable(format!(
            "{}不代表任何信用主体：请不要填写主体代码",
            role.label()
        )));
    }
    if unit.is_some() && role.needs_subject() {
        return Err(ApiError::Unprocessable(
            "信用主体账号不属于任何信源单位：请不要指定所属单位".into(),
        ));
    }
    // The auditor audits every unit and acts for none (the list showed an auditor "of" a bureau).
    if unit.is_some() && role == Role::Auditor {
        return Err(ApiError::Unprocessable(
            "安全审计员不属于任何信源单位：请不要指定所属单位".into(),
        ));
    }
    Ok((unit, subject_key))
}

pub fn create_account(
    platform: &Store,
    rules: &Rulebook,
    keys: &KeyRing,
    req: &AccountRequest,
    created_by: &str,
    now: DateTime<Utc>,
    audit: Option<&mut NewAuditEntry>,
) -> Result<CreatedAccount, ApiError> {
    let username = req.username.trim();
    if username.len() < 3
        || username.len() > 32
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(ApiError::Unprocessable(
            "用户名应为3至32位字母、数字或 _ . -".into(),
        ));
    }
    let display = req.display_name.trim();
    if display.is_empty() || display.chars().count() > 50 {
        return Err(ApiError::Unprocessable("姓名不能为空，且不超过50字".into()));
    }
    if req.role == Role::Public {
        return Err(ApiError::Unprocessable("社会公众无需账号".into()));
    }
    if req.role.token_only() {
        return Err(ApiError::Unprocessable(format!(
            "{}是系统而不是人员，不设账号：请为其创建接口令牌（tokens create）",
            req.role.label()
        )));
    }
    let (unit, subject_key) = scope(
        rules,
        keys,
        req.role,
        req.unit.as_deref(),
        req.subject.as_deref(),
        crate::today(now),
    )?;
    let password = match &req.password {
        Some(p) => {
            auth::check_password_policy(username, p)
                .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
            p.clone()
        }
        None => generated_password()?,
    };
    let hash = auth::hash_password(&password).map_err(ApiError::internal)?;
    if platform.account_by_username(username)?.is_some() {
        return Err(ApiError::Conflict(format!("用户名“{username}”已存在")));
    }
    let id = platform.create_account(
        &NewAccount {
            username,
            display_name: display,
            role: req.role.as_str(),
            unit: unit.as_deref(),
            subject_key: subject_key.as_deref(),
            password_hash: &hash,
            must_change: true,
            created_by,
            at: now,
        },
        audit,
    )?;
    Ok(CreatedAccount {
        account_id: id,
        username: username.to_string(),
        initial_password: password,
    })
}

pub fn create_token(
    platform: &Store,
    rules: &Rulebook,
    keys: &KeyRing,
    req: &TokenRequest,
    created_by: &str,
    now: DateTime<Utc>,
    audit: Option<&mut NewAuditEntry>,
) -> Result<CreatedToken, ApiError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::Unprocessable(
            "令牌名称不能为空，且不超过100字".into(),
        ));
    }
    if req.role == Role::Public {
        return Err(ApiError::Unprocessable("社会公众无需令牌".into()));
    }
    let days = req.days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(ApiError::Unprocessable("有效天数应为1至365".into()));
    }
    let (unit, subject_key) = scope(
        rules,
        keys,
        req.role,
        req.unit.as_deref(),
        req.subject.as_deref(),
        crate::today(now),
    )?;
    let secret = auth::new_secret("xy").map_err(ApiError::internal)?;
    let expires_at = now + chrono::Duration::days(days as i64);
    let id = platform.create_token(
        &NewToken {
            token_hash: &auth::secret_hash(&secret),
            prefix: &secret[..9],
            name,
            role: req.role.as_str(),
            unit: unit.as_deref(),
            subject_key: subject_key.as_deref(),
            created_by,
            at: now,
            expires_at,
        },
        audit,
    )?;
    Ok(CreatedToken {
        token_id: id,
        token: secret,
        expires_at,
    })
}

/// The credit office creates an account (from the API or the console), its entry carried into
/// the account's transaction: not one the office may not create (`office_may_create`).
pub fn office_creates_account(
    s: &crate::Shared,
    req: &AccountRequest,
    actor: &str,
    audit: &mut NewAuditEntry,
) -> Result<CreatedAccount, ApiError> {
    office_may_create(req.role)?;
    create_account(
        &s.platform,
        &s.rules,
        &s.keys,
        req,
        actor,
        s.clock.now(),
        Some(audit),
    )
}

/// The credit office creates an API token, as [`office_creates_account`] an account.
pub fn office_creates_token(
    s: &crate::Shared,
    req: &TokenRequest,
    actor: &str,
    audit: &mut NewAuditEntry,
) -> Result<CreatedToken, ApiError> {
    office_may_create(req.role)?;
    create_token(
        &s.platform,
        &s.rules,
        &s.keys,
        req,
        actor,
        s.clock.now(),
        Some(audit),
    )
}

/// 三权分立: the credit office administers accounts and tokens, but not the security auditor's.
/// Those the system operator makes at the server's command line (`xinyong accounts create
/// --role auditor`), so that the office cannot make, reset or impersonate the trail's reader.
/// Revokes an API token for the credit office (not the security auditor's: 三权分立), and drops
/// the cached credentials so that it stops working at once. Whether it was still live.
pub fn revoke_token_of_office(
    platform: &Store,
    cache: &crate::context::TokenCache,
    id: i64,
    at: DateTime<Utc>,
    audit: Option<&mut NewAuditEntry>,
) -> Result<bool, ApiError> {
    let t = platform
        .tokens()?
        .into_iter()
        .find(|t| t.token_id == id)
        .ok_or_else(|| ApiError::NotFound(format!("令牌{id}不存在")))?;
    if let Ok(role) = t.role.parse::<Role>() {
        office_may_manage(role)?;
    }
    let live = platform.revoke_token(id, at, audit)?;
    cache.clear();
    Ok(live)
}

/// What the credit office may create: not the auditor's credentials, and not a subject's or an
/// admin's either — the office would hold a password or token that acts as an enterprise (signs
/// its repair commitment) or as a colleague. Those are made on the server's command line.
pub fn office_may_create(role: Role) -> Result<(), ApiError> {
    office_may_manage(role)?;
    if matches!(role, Role::Subject | Role::Admin) {
        return Err(ApiError::NotYours(format!(
            "{}的账号和令牌不能由市信用办创建（创建者会持有其密码或令牌，可冒用其身份）：由系统管理员在服务器命令行 accounts create / tokens create 创建，核验身份后交付",
            role.label()
        )));
    }
    Ok(())
}

pub fn office_may_manage(role: Role) -> Result<(), ApiError> {
    if role == Role::Auditor {
        return Err(ApiError::NotYours(
            "安全审计员的账号和令牌由系统管理员在服务器命令行管理，市信用办不能创建、重置或停用"
                .into(),
        ));
    }
    Ok(())
}

/// `office_may_manage` for an existing account.
fn office_may_manage_account(platform: &Store, id: i64) -> Result<(), ApiError> {
    let a = platform
        .account(id)?
        .ok_or_else(|| ApiError::NotFound(format!("账号{id}不存在")))?;
    office_may_manage(a.role.parse().unwrap_or(Role::Public))
}

/// The credit office disables an account: its sessions and the admin tokens it made end with
/// it (and no cached copy of those tokens outlives that). Not the auditor's.
pub fn disable_account(
    state: &crate::Shared,
    id: i64,
    by: &auth::Principal,
    audit: Option<&mut NewAuditEntry>,
) -> Result<bool, ApiError> {
    office_may_manage_account(&state.platform, id)?;
    // An administrator does not lock itself out mid-task: not the account in use (its session
    // would end), nor — through an admin token — the account that made the token (the token
    // ends with it). The last enabled administrator is the store's to refuse, in the disabling's
    // own transaction.
    if matches!(&by.credential, auth::Credential::Session { account_id, .. } if *account_id == id) {
        return Err(ApiError::Conflict(
            "不能停用自己正在使用的账号；如需停用，请由其他管理员操作".into(),
        ));
    }
    if let auth::Credential::Token { token_id, .. } = &by.credential
        && let Some(target) = state.platform.account(id)?
        && state.platform.tokens()?.iter().any(|t| {
            t.token_id == *token_id
                && t.role == Role::Admin.as_str()
                && t.created_by == format!("user:{}", target.username)
        })
    {
        return Err(ApiError::Conflict(
            "不能停用签发当前令牌的账号（该账号签发的管理员令牌将随之失效）；如需停用，请由其他管理员操作"
                .into(),
        ));
    }
    let done = state
        .platform
        .disable_account(id, state.clock.now(), audit)?;
    state.tokens.clear();
    Ok(done)
}

/// The credit office enables a disabled account again, by the same rules as disabling (not the
/// auditor's). Its old sessions stay ended, and so do the admin tokens it made.
pub fn enable_account(
    state: &crate::Shared,
    id: i64,
    audit: Option<&mut NewAuditEntry>,
) -> Result<bool, ApiError> {
    office_may_manage_account(&state.platform, id)?;
    // An office admin's account stopped (by the operator after an incident, or by a colleague)
    // is not restarted from the web by another admin: on the server's command line only.
    let role = state
        .platform
        .account(id)?
        .map(|a| a.role.parse().unwrap_or(Role::Public))
        .unwrap_or(Role::Public);
    if role == Role::Admin {
        return Err(ApiError::NotYours(
            "市信用办管理员账号停用后，只能由系统管理员在服务器命令行 accounts enable 启用".into(),
        ));
    }
    Ok(state
        .platform
        .enable_account(id, state.clock.now(), audit)?)
}

/// The credit office resets a password to a generated one that must be changed at next login:
/// a unit's staff's, not the auditor's, and not a subject's or another office admin's — the
/// office would be given the password of an enterprise that signs repair commitments, or of a
/// colleague, and could act as them; those are reset on the server's command line
/// (`accounts reset-password`), after the person's identity is checked.
/// Whether the office may reset this role's password (not a subject's or an admin's: whoever
/// resets it learns it).
pub fn office_may_reset(role: Role) -> bool {
    !matches!(role, Role::Subject | Role::Admin) && office_may_manage(role).is_ok()
}

pub fn reset_password(
    platform: &Store,
    id: i64,
    now: DateTime<Utc>,
    audit: Option<&mut NewAuditEntry>,
) -> Result<String, ApiError> {
    office_may_manage_account(platform, id)?;
    let role = platform
        .account(id)?
        .map(|a| a.role.parse().unwrap_or(Role::Public))
        .unwrap_or(Role::Public);
    if !office_may_reset(role) {
        return Err(ApiError::NotYours(
            "信用主体和市信用办管理员账号的密码不能由市信用办重置（重置者会得到其密码，可冒用其身份）：请本人修改密码；忘记密码的，核验身份后由系统管理员在服务器命令行 accounts reset-password 重置".into(),
        ));
    }
    set_generated_password(platform, id, now, audit)
}

/// Sets a generated password that must be changed at next login, and gives it.
pub fn set_generated_password(
    platform: &Store,
    id: i64,
    now: DateTime<Utc>,
    audit: Option<&mut NewAuditEntry>,
) -> Result<String, ApiError> {
    let password = generated_password()?;
    let hash = auth::hash_password(&password).map_err(ApiError::internal)?;
    platform.set_password(id, &hash, true, now, audit)?;
    Ok(password)
}

/// A mobile number and e-mail address as they will be kept, or why not: checked before an
/// account is made with them (the command line made the account, then refused its number).
/// A mobile number is 11 digits starting with 1; an address has one `@` and a dot after it.
pub fn contact_checked<'a>(
    phone: Option<&str>,
    email: Option<&'a str>,
) -> Result<(Option<String>, Option<&'a str>), ApiError> {
    let phone: Option<String> = phone.map(|p| {
        p.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect()
    });
    let email = email.map(str::trim);
    if let Some(p) = phone.as_deref() {
        let mobile = p.len() == 11 && p.starts_with('1') && p.bytes().all(|b| b.is_ascii_digit());
        if !p.is_empty() && !mobile {
            return Err(ApiError::Unprocessable(
                "手机号码应为以1开头的11位数字".into(),
            ));
        }
    }
    if let Some(e) = email.filter(|e| !e.is_empty()) {
        let ok = e.len() <= 100
            && !e.chars().any(char::is_whitespace)
            && e.split_once('@')
                .is_some_and(|(u, d)| !u.is_empty() && !d.contains('@') && d.contains('.'));
        if !ok {
            return Err(ApiError::Unprocessable("电子邮箱地址格式不正确".into()));
        }
    }
    Ok((phone, email))
}

/// Checks ([`contact_checked`]) and seals an account's mobile number and email address: `None`
/// keeps what is there, an empty string clears it.
pub fn set_contact(
    platform: &Store,
    keys: &KeyRing,
    account_id: i64,
    phone: Option<&str>,
    email: Option<&str>,
) -> Result<(), ApiError> {
    let (phone, email) = contact_checked(phone, email)?;
    let (old_phone, old_email) = platform
        .account_contact(account_id)?
        .ok_or_else(|| ApiError::NotFound(format!("账号{account_id}不存在")))?;
    let seal = |new: Option<&str>, old: Option<Vec<u8>>| -> Result<Option<Vec<u8>>, ApiError> {
        match new {
            None => Ok(old),
            Some("") => Ok(None),
            Some(s) => keys
                .encrypt(s.as_bytes())
                .map(Some)
                .map_err(ApiError::internal),
        }
    };
    platform.set_contact(
        account_id,
        seal(phone.as_deref(), old_phone)?,
        seal(email, old_email)?,
    )?;
    Ok(())
}

/// Turns an outbox recipient (`subject:<key>`) into the mobile numbers (SMS) or addresses (email)
/// that the accounts acting for it left, and hands each to the configured sender. Without any, the
/// message is kept as unaddressed (it is on the subject's console either way).
pub struct ContactSender {
    pub inner: std::sync::Arc<dyn workflows::scheduler::Sender>,
    pub platform: std::sync::Arc<Store>,
    pub keys: std::sync::Arc<KeyRing>,
}

impl workflows::scheduler::Sender for ContactSender {
    fn send(&self, m: &store::OutboxMessage) -> Result<workflows::scheduler::Delivery, String> {
        use workflows::scheduler::Delivery;
        let (subject, unit) = match m.recipient.split_once(':') {
            Some(("subject", k)) => (Some(k), None),
            Some(("unit", u)) => (None, Some(u)),
            // Already an address.
            _ => return self.inner.send(m),
        };
        let mut to: Vec<String> = self
            .platform
            .contacts(subject, unit)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|(phone, email)| if m.channel == "email" { email } else { phone })
            .filter_map(|sealed| self.keys.decrypt(&sealed).ok())
            .filter_map(|b| String::from_utf8(b).ok())
            .collect();
        to.sort();
        to.dedup();
        if to.is_empty() {
            return Ok(Delivery::NoAddress(if m.channel == "email" {
                "未登记电子邮箱".into()
            } else {
                "未登记手机号码".into()
            }));
        }
        for (i, address) in to.iter().enumerate() {
            let mut one = m.clone();
            one.recipient = address.clone();
            if to.len() > 1 {
                one.dedupe = format!("{}#{i}", m.dedupe);
            }
            self.inner.send(&one)?;
        }
        Ok(Delivery::Sent)
    }
}

#[cfg(test)]
mod tests {
    /// Every generated password meets the policy users are held to.
    #[test]
    fn generated_passwords_meet_the_policy() {
        for _ in 0..2000 {
            let p = super::generated_password().unwrap();
            assert!(auth::check_password_policy("", &p).is_ok(), "{p}");
            assert_eq!(p.len(), 16);
        }
    }
}
