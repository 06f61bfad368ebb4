//! Who may do what.
//!
//! - [`Role`]: the platform's roles (社会公众 … 安全审计员), as data the server checks every
//!   endpoint against;
//! - [`Principal`]: who is calling, with the unit or subject a role is scoped to;
//! - passwords: Argon2id with a 等保 level-3 policy (length, character classes);
//! - secrets: API tokens and session ids are random, shown once, stored as SM3 hashes;
//! - CSRF: a keyed hash of the session id, checked on every form post.

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    serde::Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 社会公众: anyone, not logged in.
    Public,
    /// 信用主体: an enterprise or person acting for its own file.
    Subject,
    /// 信息员: reports its unit's data.
    Reporter,
    /// 审核员: reviews its unit's submissions.
    Reviewer,
    /// 认定单位经办人: lists and delists, decides repairs.
    Deciding,
    /// 核查部门经办人: checks subjects before acting (逢办必查).
    Handling,
    /// 金融机构.
    Financial,
    /// 信用办管理员.
    Admin,
    /// 安全审计员.
    Auditor,
    /// 运维监控: a monitoring system (Prometheus) reading the service's metrics, nothing else;
    /// API tokens only (an admin's or auditor's token in a scraper's configuration would open
    /// the whole platform to whoever reads that file).
    Monitor,
    /// 共享交换系统: the provincial platform's exchange system, which takes the repair decisions
    /// shared with it (the sharing feed) and nothing else; API tokens only.
    Exchange,
}

pub const ALL_ROLES: [Role; 11] = [
    Role::Public,
    Role::Subject,
    Role::Reporter,
    Role::Reviewer,
    Role::Deciding,
    Role::Handling,
    Role::Financial,
    Role::Admin,
    Role::Auditor,
    Role::Monitor,
    Role::Exchange,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Subject => "subject",
            Role::Reporter => "reporter",
            Role::Reviewer => "reviewer",
            Role::Deciding => "deciding",
            Role::Handling => "handling",
            Role::Financial => "financial",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Monitor => "monitor",
            Role::Exchange => "exchange",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Public => "社会公众",
            Role::Subject => "信用主体",
            Role::Reporter => "信息员",
            Role::Reviewer => "审核员",
            Role::Deciding => "认定单位经办人",
            Role::Handling => "核查部门经办人",
            Role::Financial => "金融机构",
            Role::Admin => "信用办管理员",
            Role::Auditor => "安全审计员",
            Role::Monitor => "运维监控",
            Role::Exchange => "共享交换系统",
        }
    }
    /// Roles that act for one source unit.
    pub fn needs_unit(self) -> bool {
        matches!(
            self,
            Role::Reporter | Role::Reviewer | Role::Deciding | Role::Handling
        )
    }
    /// Roles that are systems, not people: API tokens, no console account.
    pub fn token_only(self) -> bool {
        matches!(self, Role::Monitor | Role::Exchange)
    }
    /// Roles that act for one subject.
    pub fn needs_subject(self) -> bool {
        matches!(self, Role::Subject)
    }
    /// People outside the platform's staff: a subject acting for itself, a financial
    /// institution (they are not shown staff's logins).
    pub fn outside_staff(self) -> bool {
        matches!(self, Role::Subject | Role::Financial | Role::Public)
    }
    /// Roles that see a subject's whole file (not only what is public).
    pub fn sees_full_files(self) -> bool {
        matches!(self, Role::Deciding | Role::Handling | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ALL_ROLES
            .iter()
            .copied()
            .find(|r| r.as_str() == s || r.label() == s)
            .ok_or_else(|| {
                format!(
                    "角色“{s}”不存在，应为：{}",
                    ALL_ROLES
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join("、")
                )
            })
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "via", rename_all = "snake_case")]
#[schema(description = "调用方证明身份的方式。")]
pub enum Credential {
    Anonymous,
    Session {
        account_id: i64,
        username: String,
    },
    Token {
        token_id: i64,
        name: String,
    },
    // The operator at the command line.
    /// 平台命令行的操作员。
    Console {
        user: String,
    },
}

/// Who is calling.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "当前调用方。")]
pub struct Principal {
    pub role: Role,
    pub credential: Credential,
    pub display_name: String,
    pub unit: Option<String>,
    pub subject_key: Option<String>,
}

impl Principal {
    pub fn anonymous() -> Self {
        Principal {
            role: Role::Public,
            credential: Credential::Anonymous,
            display_name: "社会公众".into(),
            unit: None,
            subject_key: None,
        }
    }
    /// The account behind a browser session (tokens are systems', not a person's).
    pub fn account_id(&self) -> Option<i64> {
        match &self.credential {
            Credential::Session { account_id, .. } => Some(*account_id),
            _ => None,
        }
    }

    /// The actor as the audit trail names it.
    pub fn actor(&self) -> String {
        match &self.credential {
            Credential::Anonymous => "anonymous".into(),
            Credential::Session { username, .. } => format!("user:{username}"),
            Credential::Token { token_id, name } => format!("token:{token_id}:{name}"),
            Credential::Console { user } => format!("cli:{user}"),
        }
    }
    pub fn is_authenticated(&self) -> bool {
        !matches!(self.credential, Credential::Anonymous)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("密码至少{0}位")]
    TooShort(usize),
    #[error("密码须包含大写字母、小写字母、数字、符号中的至少三类")]
    TooSimple,
    #[error("密码不能含连续4个相同字符或6个以上连续的数字、字母（如123456、abcdef）")]
    TooRegular,
    #[error("密码不能包含用户名")]
    ContainsUsername,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
}

pub const MIN_PASSWORD: usize = 10;

/// The policy as the password form states it, from the very messages its refusals give (a
/// label written apart would drift from the check).
pub fn password_policy_text() -> String {
    [
        AuthError::TooShort(MIN_PASSWORD),
        AuthError::TooSimple,
        AuthError::TooRegular,
        AuthError::ContainsUsername,
    ]
    .iter()
    .map(|e| {
        let m = e.to_string();
        m.strip_prefix("密码").map(str::to_string).unwrap_or(m)
    })
    .collect::<Vec<_>>()
    .join("，")
}

/// The password policy (等保 level 3: length and complexity).
pub fn check_password_policy(username: &str, password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AuthError::TooShort(MIN_PASSWORD));
    }
    // Three of the four classes (a Chinese character counts with the symbols).
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|&&x| x).count() < 3 {
        return Err(AuthError::TooSimple);
    }
    // No long run of one character, nor of a keyboard or alphabet sequence (aaaa, 123456).
    let c: Vec<u32> = password
        .chars()
        .map(|c| c.to_ascii_lowercase() as u32)
        .collect();
    let same = c.windows(4).any(|w| w.iter().all(|&x| x == w[0]));
    let step = |d: i64| {
        c.windows(6).any(|w| {
            w.windows(2).all(|p| p[1] as i64 - p[0] as i64 == d)
                && w.iter()
                    .all(|&x| char::from_u32(x).is_some_and(|ch| ch.is_ascii_alphanumeric()))
        })
    };
    if same || step(1) || step(-1) {
        return Err(AuthError::TooRegular);
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(AuthError::ContainsUsername);
    }
    Ok(())
}

/// Argon2id (default parameters of the argon2 crate: m=19 MiB, t=2, p=1), PHC string.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = crypto::random_bytes::<16>()?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h: PasswordHash| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh secret: `xy_` and 40 hex characters (160 bits). Shown once; only its hash is kept.
pub fn new_secret(prefix: &str) -> Result<String, AuthError> {
    Ok(format!(
        "{prefix}_{}",
        hex::encode(crypto::random_bytes::<20>()?)
    ))
}

/// What is stored for a secret.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    crypto::sm3(secret.as_bytes()).to_vec()
}

/// The CSRF token of a session: a keyed hash of its id, so it needs no storage.
pub fn csrf_token(keys: &crypto::KeyRing, session_secret: &str) -> String {
    hex::encode(&keys.keyed_hash(format!("csrf:{session_secret}").as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_by_code_and_label() {
        for r in ALL_ROLES {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(r.label().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn password_policy_and_hashing() {
        assert!(matches!(
            check_password_policy("zhang", "short1"),
            Err(AuthError::TooShort(_))
        ));
        assert!(matches!(
            check_password_policy("zhang", "onlyletterss"),
            Err(AuthError::TooSimple)
        ));
        assert!(matches!(
            check_password_policy("zhang", "aaaaaaaaa1"),
            Err(AuthError::TooSimple)
        ));
        for regular in ["Xaaaa2026b!", "Pw123456xyz", "Abcdefg2026"] {
            assert!(
                matches!(
                    check_password_policy("zhang", regular),
                    Err(AuthError::TooRegular)
                ),
                "{regular}"
            );
        }
        check_password_policy("zhang", "盐城信用2026abc").unwrap();
        assert!(matches!(
            check_password_policy("zhang", "Zhang-2026-x"),
            Err(AuthError::ContainsUsername)
        ));
        check_password_policy("zhang", "Yancheng2026!").unwrap();
        let h = hash_password("Yancheng2026!").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Yancheng2026!", &h));
        assert!(!verify_password("Yancheng2026?", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_secret("xy").unwrap();
        let b = new_secret("xy").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }
}
